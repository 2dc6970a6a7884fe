"""``qdoem compare`` takes the training flags of ``qdoem train`` (``--cd-k``, ``--pcd`` /
``--persistent``, ``--m-step-start``, ...) and passes them to every run; ``qdoem train
--m-step-start e-step`` resumes bit for bit."""

from __future__ import annotations

import json
import shlex

import pytest
import torch

from qdoem.cli import main
from qdoem.data import bars_and_stripes
from qdoem.models import QRBM
from qdoem.training import TrainConfig, Trainer

TINY = ["--dataset-option", "rows=2", "--repeat", "2", "--n-hidden", "2", "--batch-size", "6"]
TINY += ["--epochs", "2", "--quiet", "--threads", "1", "--noisy", "none", "--pennylane", "none"]
TINY += ["--backend", "exact", "--shots", "30"]


def test_compare_passes_training_flags_to_every_run_and_records_them(tmp_path):
    out = tmp_path / "cmp"
    flags = ["--cd-k", "2", "--persistent", "--momentum", "0.2", "--sampler", "plain"]
    flags += ["--weight-decay", "0", "--fixed-gamma", "--gamma-init", "0.7"]
    assert main(["compare", "--out", str(out), *TINY, *flags]) == 0
    record = json.loads((out / "compare.json").read_text())
    settings = record["settings"]
    assert settings["train_options"] == {
        "cd_k": 2, "persistent": True, "momentum": 0.2, "sampler": "plain", "weight_decay": 0.0,
    }  # fmt: skip
    config = settings["train_config"]
    assert config["cd_k"] == 2 and config["persistent"] and config["chain_init"] == "data"
    assert config["m_step_start"] == "data" and config["scheme"] == "mean-field"
    assert settings["model_options"]["learn_gamma"] is False
    command = shlex.split(record["command"])
    for flag in ("--cd-k", "--pcd", "--momentum", "--sampler", "--fixed-gamma"):
        assert flag in command, flag
    # The closed-form run is exactly a Trainer with these settings: they reached training.
    data = bars_and_stripes(2).float().repeat(2, 1)
    model = QRBM(4, 2, seed=0, weight_scale=0.1, gamma_init=0.7, learn_gamma=False)
    train = TrainConfig(
        epochs=2, batch_size=6, learning_rate=0.5, cd_k=2, persistent=True, momentum=0.2,
        sampler="plain", weight_decay=0.0, seed=0, track_nll=0,
    )  # fmt: skip
    Trainer(model, train).fit(data)
    nll = -float(model.log_prob(data, method="exact").mean())
    assert record["runs"][0]["seeds"][0]["nll"][-1] == pytest.approx(nll, abs=1e-12)
    assert float(model.parameters()["hidden_gamma"].mean()) == pytest.approx(0.7)


def test_compare_m_step_start_saves_one_call_per_further_m_step(tmp_path):
    calls = {}
    for start in ("data", "e-step"):
        out = tmp_path / start
        args = ["compare", "--out", str(out), *TINY, "--m-steps", "3", "--m-step-start", start]
        assert main(args) == 0
        record = json.loads((out / "compare.json").read_text())
        assert record["settings"]["train_config"]["m_step_start"] == start
        calls[start] = record["runs"][1]["seeds"][0]["calls"][-1]
    steps = 2 * 2  # 2 epochs of 12 rows at batch 6
    assert calls == {"data": steps * (2 + 2 * 2), "e-step": steps * (2 + 2)}


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--cd-k", "0"], "cd_k must be a positive int"),
        (["--m-step-start", "e-step", "--pcd"], "m_step_start 'e-step'"),
        (["--momentum", "1.5"], "momentum must be in [0, 1)"),
    ],
)
def test_bad_training_flags_are_one_line_errors(tmp_path, capsys, extra, message):
    assert main(["compare", "--out", str(tmp_path / "o"), *TINY, *extra]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("qdoem compare: error:") and message in err and "\n" not in err
    assert not (tmp_path / "o").exists()


def test_train_m_step_start_e_step_on_aer_resumes_bit_for_bit(tmp_path, capsys):
    common = ["--n-hidden", "3", "--batch-size", "7", "--lr", "0.1", "--seed", "4"]
    common += ["--epochs", "2", "--backend", "aer", "--shots", "50", "--no-progress"]
    common += ["--m-steps", "2", "--m-step-start", "e-step"]
    full, part = tmp_path / "full", tmp_path / "part"
    assert main(["train", "--run-dir", str(full), *common]) == 0
    assert main(["train", "--run-dir", str(part), "--stop-after", "1", *common]) == 0
    resume = ["train", "--run-dir", str(part), "--resume", "--no-progress"]
    assert main([*resume, "--m-step-start", "data"]) == 2
    assert "m_step_start 'e-step' -> 'data'" in capsys.readouterr().err
    assert main(resume) == 0
    config = json.loads((full / "config.json").read_text())
    assert config["m_step_start"] == "e-step"
    # 14 rows at batch 7: 2 steps per epoch, 3 calls each (E-step, M-step 1, M-step 2)
    record = json.loads((full / "backend.json").read_text())
    assert record["invocations"][0]["backend_calls"] == 2 * 2 * 3
    a, b = (torch.load(r / "checkpoint.pt", weights_only=True)["model"] for r in (full, part))
    for name in a["parameters"]:
        assert torch.equal(a["parameters"][name], b["parameters"][name]), name
