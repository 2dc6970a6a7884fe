"""``qdoem train --backend``: the E-step through Gibbs-state circuits, resumable bit for bit."""

import json

import pytest
import torch

from qdoem.cli import main

COMMON = [
    "--dataset", "bars_and_stripes", "--n-hidden", "3", "--batch-size", "7", "--lr", "0.1",
    "--seed", "4", "--epochs", "3", "--backend", "aer", "--shots", "100", "--no-progress",
]  # fmt: skip


def params(run_dir):
    return torch.load(run_dir / "checkpoint.pt", weights_only=True)["model"]["parameters"]


@pytest.mark.parametrize("backend", ["aer", "pennylane:default.mixed"])
def test_backend_run_resumes_to_identical_parameters(tmp_path, backend):
    full, part = tmp_path / "full", tmp_path / "part"
    args = [backend if a == "aer" else a for a in COMMON]
    assert main(["train", "--run-dir", str(full), *args]) == 0
    assert main(["train", "--run-dir", str(part), "--stop-after", "1", *args]) == 0
    assert main(["train", "--run-dir", str(part), "--resume", "--no-progress"]) == 0
    config = json.loads((full / "config.json").read_text())
    assert config["backend"] == backend and config["shots"] == 100
    a, b = params(full), params(part)
    for name in a:
        assert torch.equal(a[name], b[name]), name


def test_backend_shots_change_the_run(tmp_path):
    # The shots really drive training: another seed of the shot stream gives other parameters.
    closed, circuit = tmp_path / "closed", tmp_path / "circuit"
    no_backend = [a for a in COMMON if a not in ("--backend", "aer", "--shots", "100")]
    assert main(["train", "--run-dir", str(closed), *no_backend]) == 0
    assert main(["train", "--run-dir", str(circuit), *COMMON]) == 0
    a, b = params(closed), params(circuit)
    assert not torch.equal(a["weights"], b["weights"])
    assert torch.allclose(a["weights"], b["weights"], atol=0.1)  # but close: same expectations


def test_backend_errors_are_clear(tmp_path, capsys):
    run = str(tmp_path / "r")
    assert main(["train", "--run-dir", run, *COMMON[:-5], "--backend", "nope"]) == 2
    assert "nope" in capsys.readouterr().err
    assert main(["train", "--run-dir", run, "--model", "rbm", "--backend", "aer"]) == 2
    assert "RBM has no circuit E-step" in capsys.readouterr().err
    assert main(["train", "--run-dir", run, "--backend", "aer", "--shots", "0"]) == 2
    assert "shots must be a positive integer" in capsys.readouterr().err
