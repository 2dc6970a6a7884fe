"""QGRBM and GRBM through the one trainer: Liao et al.'s options (chains from noise, gradient
clipping, cosine schedule) resume bit for bit, the shipped configurations resolve, and the CLI
trains, samples and evaluates a Gaussian model on standardised Fashion-MNIST."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from qdoem.cli import main
from qdoem.experiment import build_run_model, resolve_config
from qdoem.models import QGRBM
from qdoem.training import TrainConfig, Trainer
from qdoem.training.optim import clip_by_norm

CONFIGS = sorted(Path(__file__).resolve().parents[2].joinpath("configs").glob("*grbm*.toml"))
DATA_ROOT = Path(__file__).resolve().parents[3] / "shared" / "data"


def _data():
    gen = torch.Generator().manual_seed(0)
    return torch.randn(60, 5, generator=gen) * 0.8 + torch.linspace(-1, 1, 5)


def _trainer(tmp_path, name, persistent):
    model = QGRBM(5, 4, gamma_init=0.7, seed=2, weight_scale=0.3)
    cfg = TrainConfig(
        epochs=4, batch_size=16, learning_rate=0.05, momentum=0.0, lr_schedule="cosine",
        lr_final_ratio=0.0, cd_k=3, chain_init="noise", persistent=persistent, clip_norm=0.5,
        seed=5,
    )  # fmt: skip
    return Trainer(model, cfg, run_dir=tmp_path / name)


@pytest.mark.parametrize("persistent", [False, True])
def test_noise_started_clipped_run_resumes_bit_for_bit(tmp_path, persistent):
    data = _data()
    full = _trainer(tmp_path, "full", persistent)
    full.fit(data)
    part = _trainer(tmp_path, "part", persistent)
    part.fit(data, stop_after=2)
    resumed = _trainer(tmp_path, "part", persistent)
    resumed.load_state_dict(torch.load(resumed.run.checkpoint, weights_only=True))
    resumed.fit(data)
    for name, t in full.model.parameters().items():
        assert torch.equal(t, resumed.model.parameters()[name]), name
    assert "recon_error" not in full.history[-1]  # no chain starts at the data
    assert 0.0 < full.history[-1]["accept_rate"] < 1.0  # the exact kernel's MH test at work


def test_clip_by_norm_is_torchs_rule():
    gen = torch.Generator().manual_seed(0)
    grads = {"a": torch.randn(3, 4, generator=gen), "b": torch.randn(5, generator=gen)}
    params = [torch.zeros_like(g, requires_grad=True) for g in grads.values()]
    for p, g in zip(params, grads.values(), strict=True):
        p.grad = g.clone()
    torch.nn.utils.clip_grad_norm_(params, 1.0)
    clipped = clip_by_norm(grads, 1.0)
    for p, name in zip(params, grads, strict=True):
        torch.testing.assert_close(clipped[name], p.grad)
    assert clip_by_norm(grads, None) is grads
    assert torch.equal(clip_by_norm(grads, 1e6)["a"], grads["a"])


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.stem)
def test_every_shipped_gaussian_config_resolves_and_its_quick_scale_builds(path):
    full = resolve_config(path)
    quick = resolve_config(path, quick=True)
    assert full["model"] in ("qgrbm", "grbm") and full["chain_init"] == "noise"
    assert full["dataset_options"] == {"standardize": "channel"} and full["clip_norm"] == 10.0
    assert quick["epochs"] < full["epochs"] and quick["run_dir"] != full["run_dir"]
    model = build_run_model(quick, 784)
    assert model.layer_sizes == (784, quick["n_hidden"])
    assert type(model).__name__.lower() == quick["model"]


@pytest.mark.skipif(
    not (DATA_ROOT / "FashionMNIST" / "raw").is_dir(), reason="Fashion-MNIST not in ../shared"
)
def test_cli_trains_samples_and_evaluates_a_qgrbm_on_fashion_mnist(tmp_path, capsys):
    run = tmp_path / "run"
    args = ["--config", "configs/qgrbm_fashion_mnist.toml", "--quick", "--limit", "300"]
    args += ["--epochs", "1", "--cd-k", "5", "--data-root", str(DATA_ROOT)]
    root = Path(__file__).resolve().parents[2]
    args[1] = str(root / args[1])
    assert main(["train", *args, "--run-dir", str(run), "--no-progress"]) == 0
    saved = json.loads((run / "config.json").read_text())
    assert saved["model"] == "qgrbm" and saved["dataset_options"] == {"standardize": "channel"}
    assert (run / "samples.png").is_file()
    out = tmp_path / "samples.pt"
    assert main(["sample", str(run), "-n", "4", "--steps", "3", "-o", str(out)]) == 0
    samples = torch.load(out, weights_only=True)
    assert samples.shape == (4, 784) and bool(torch.isfinite(samples).all())
    capsys.readouterr()
    ev = ["evaluate", str(run), "--limit", "20", "--n-betas", "50", "--n-chains", "10"]
    assert main([*ev, "--raise-points", "10"]) == 0
    result = json.loads((run / "eval_test.json").read_text())
    assert result["method"] == "ais" and torch.isfinite(torch.tensor(result["mean_log_likelihood"]))
