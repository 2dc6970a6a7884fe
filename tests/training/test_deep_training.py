"""QiDBM and DBM through the one trainer: both schemes learn, resume bit for bit, and the CLI
runs every shipped configuration."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from qdoem.cli import main
from qdoem.data import bars_and_stripes, load_dataset
from qdoem.experiment import build_run_model, resolve_config
from qdoem.models import DBM, QiDBM
from qdoem.training import TrainConfig, Trainer

CONFIGS = sorted(Path(__file__).resolve().parents[2].joinpath("configs").glob("*dbm*.toml"))


def bas():
    return bars_and_stripes(2).double()  # 6 patterns of 4 pixels


def deep(cls, **kw):
    return cls(4, [6, 4], dtype=torch.float64, seed=0, weight_scale=0.1, **kw)


@pytest.mark.parametrize("scheme", ["mean-field", "unbiased"])
@pytest.mark.parametrize(("cls", "kw"), [(DBM, {}), (QiDBM, {"quantum_layers": [1]})])
def test_deep_models_learn_with_both_schemes(cls, kw, scheme):
    """Exact held-out log-likelihood before and after a short run on a 16-pixel mixture.

    At 16 visible units the uniform MH proposal is essentially never accepted near a local
    mode, so the unbiased scheme's correction does not fire (meeting time 1): the regime of
    MNIST-sized models. (On 4-pixel models it fires often and its heavy tail makes SGD
    unstable; see :mod:`qdoem.sampling.unbiased`.)
    """
    data = load_dataset("bernoulli_mixture", n_visible=16, n_samples=600, seed=0).data.double()
    model = cls(16, [12, 6], dtype=torch.float64, seed=0, weight_scale=0.1, **kw)
    before = -float(model.log_prob(data[:200]).mean())
    cfg = TrainConfig(epochs=15, batch_size=30, learning_rate=0.1, momentum=0.5, scheme=scheme)
    history = Trainer(model, cfg).fit(data)
    after = -float(model.log_prob(data[:200]).mean())
    assert after < before - 0.5, (before, after)
    if scheme == "unbiased":
        record = history[-1]
        assert record["coupling_steps"] >= 1 and record["coupling_truncated"] == 0
        assert record["mode_sweeps"] >= 1


def _trainer(tmp_path, name):
    model = QiDBM(4, [5, 3], quantum_layers=[2], dtype=torch.float64, seed=1, weight_scale=0.2)
    cfg = TrainConfig(
        epochs=4,
        batch_size=4,
        learning_rate=0.05,
        lr_schedule="inverse-sqrt",
        lr_decay=0.1,
        scheme="unbiased",
        persistent=True,
        seed=5,
    )
    return Trainer(model, cfg, run_dir=tmp_path / name)


def test_unbiased_persistent_run_resumes_bit_for_bit(tmp_path):
    data = bas()
    full = _trainer(tmp_path, "full")
    full.fit(data)
    part = _trainer(tmp_path, "part")
    part.fit(data, stop_after=2)
    resumed = _trainer(tmp_path, "part")
    resumed.load_state_dict(torch.load(resumed.run.checkpoint, weights_only=True))
    resumed.fit(data)
    for name, t in full.model.parameters().items():
        assert torch.equal(t, resumed.model.parameters()[name]), name
    lrs = [r["lr"] for r in full.history]
    assert lrs[0] == 0.05 and all(a > b for a, b in zip(lrs, lrs[1:], strict=False))


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.stem)
def test_every_shipped_config_resolves_and_its_quick_scale_builds(path):
    full = resolve_config(path)
    quick = resolve_config(path, quick=True)
    assert full["model"] in ("qidbm", "dbm") and full["scheme"] == "unbiased"
    assert quick["epochs"] < full["epochs"] and quick["run_dir"] != full["run_dir"]
    model = build_run_model(quick, 784)
    assert model.layer_sizes[1:] == tuple(quick["hidden_sizes"])
    assert type(model).__name__.lower() == quick["model"]


def test_quick_needs_a_quick_table(tmp_path):
    bare = tmp_path / "bare.toml"
    bare.write_text('model = "dbm"\n')
    with pytest.raises(ValueError, match=r"no \[quick\] table"):
        resolve_config(bare, quick=True)
    bad = tmp_path / "bad.toml"
    bad.write_text('model = "dbm"\n[quick]\nepoch = 3\n')
    with pytest.raises(ValueError, match="quick.epoch"):
        resolve_config(bad)


def test_cli_trains_a_qidbm_and_refuses_adjacent_quantum_layers(tmp_path, capsys):
    run = tmp_path / "run"
    common = ["--dataset", "bars_and_stripes", "--batch-size", "7", "--no-progress"]
    args = ["--model", "qidbm", "--hidden-sizes", "5", "4", "--quantum-layers", "2"]
    args += ["--scheme", "unbiased", "--epochs", "2", "--run-dir", str(run), *common]
    assert main(["train", *args]) == 0
    saved = json.loads((run / "config.json").read_text())
    assert saved["hidden_sizes"] == [5, 4] and saved["quantum_layers"] == [2]
    assert (run / "samples.png").is_file()
    bad = ["--model", "qidbm", "--hidden-sizes", "5", "4", "--quantum-layers", "1", "2"]
    assert main(["train", *bad, "--run-dir", str(tmp_path / "bad"), *common]) == 2
    assert "neighbours h1 and h2" in capsys.readouterr().err


def test_local_mode_samples_from_the_cli_and_the_model(tmp_path):
    run = tmp_path / "run"
    args = ["--model", "dbm", "--hidden-sizes", "5", "4", "--epochs", "1", "--run-dir", str(run)]
    assert main(["train", *args, "--dataset", "bars_and_stripes", "--no-progress"]) == 0
    out = tmp_path / "modes.pt"
    assert main(["sample", str(run), "--local-mode", "-n", "7", "-o", str(out)]) == 0
    samples = torch.load(out, weights_only=True)
    assert samples.shape == (7, 9) and bool(((samples == 0) | (samples == 1)).all())
    model = DBM(9, [5, 4], seed=3, weight_scale=1.0)
    modes, after = model.sample_local_modes(20, steps=0)
    assert torch.equal(modes, after)
    modes2, after = model.sample_local_modes(20, steps=3)
    assert torch.equal(modes, modes2) and not torch.equal(modes, after)


@pytest.mark.parametrize("scheme", ["mean-field", "unbiased"])
def test_qidbm_takes_its_quantum_statistics_from_a_circuit_backend(scheme):
    """A real Aer simulation answers the quantum layer's statistics and Z-basis samples."""
    data = bas().float().repeat(2, 1)
    model = QiDBM(
        4,
        [3, 2],
        quantum_layers=[1],
        backend="aer",
        shots=200,
        n_epochs=1,
        batch_size=6,
        scheme=scheme,
    ).fit(data)
    record = model.history_[-1]
    assert record["backend_calls"] > 0
    assert all(bool(torch.isfinite(t).all()) for t in model.parameters().values())
