"""``qdoem submit`` offline on fake devices: provenance, secrets, failures and resumption."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from qdoem.cli import main
from qdoem.errors import BackendError

pytest.importorskip("qiskit_ibm_runtime")

from backends.ibm import IBMBackend  # noqa: E402
from qdoem.estimators import BackendEstimator  # noqa: E402
from qdoem.experiment import resolve_config, train  # noqa: E402

TOKEN = "SENTINEL-token-5d1f0b7e"
INSTANCE = "crn:v1:bluemix:public:quantum-computing:us-east:a/sentinel-account-31::"
SMALL = {"n_hidden": 2, "batch_size": 7, "learning_rate": 0.2, "epochs": 2, "seed": 3}
SMALL.update(grid_samples=4, grid_steps=2, shots=40, backend="ibm:fake_manila")


def _files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]


def _params(run_dir: Path) -> dict:
    return torch.load(run_dir / "checkpoint.pt", weights_only=True)["model"]["parameters"]


def test_submit_offline_records_provenance_and_never_the_credentials(tmp_path, monkeypatch, capfd):
    monkeypatch.setenv("QISKIT_IBM_TOKEN", TOKEN)
    monkeypatch.setenv("QISKIT_IBM_INSTANCE", INSTANCE)
    config = tmp_path / "run.toml"
    config.write_text("n_hidden = 2\nbatch_size = 7\nseed = 3\ngrid_samples = 4\ngrid_steps = 2\n")
    run = tmp_path / "run"
    args = ["submit", "--config", str(config), "--run-dir", str(run), "--no-progress"]
    args += ["--backend", "ibm:fake_manila", "--shots", "40", "--epochs", "1", "--mode", "session"]
    assert main(args) == 0
    assert (
        main(["submit", "--run-dir", str(run), "--resume", "--epochs", "2", "--no-progress"]) == 0
    )
    record = json.loads((run / "backend.json").read_text())
    assert record["name"] == "ibm:fake_manila" and record["kind"].startswith("fake device")
    assert record["shots"] == 40 and record["mode"] == "batch"  # the resumed call's mode
    assert record["layout"] and record["calibration"]["qubits"]
    first, second = record["invocations"]
    assert first["outcome"] == second["outcome"] == "finished"
    assert second["resumed_from"] == {"epoch": 1, "step": 2}
    assert first["job_ids"] and second["job_ids"]
    assert len(first["job_ids"]) == first["backend_calls"]
    out = capfd.readouterr()
    for data, where in [((out.out + out.err).encode(), "output")] + [
        (p.read_bytes(), str(p)) for p in _files(run)
    ]:
        for secret in (TOKEN, INSTANCE, "sentinel-account-31"):
            assert secret.encode() not in data, f"{secret!r} in {where}"


def test_submit_needs_an_ibm_backend(tmp_path, capfd):
    assert main(["submit", "--run-dir", str(tmp_path / "r"), "--backend", "aer"]) == 2
    assert "qdoem submit needs --backend ibm:<device>" in capfd.readouterr().err


class FailingDevice(IBMBackend):
    """fake Manila whose jobs fail from a chosen call on (a device that goes down)."""

    def __init__(self, *args, fail_from: int, **kw):
        super().__init__(*args, **kw)
        self.fail_from, self.attempts = fail_from, 0

    def _measure(self, *args):
        self.attempts += 1
        if self.attempts >= self.fail_from:
            raise TimeoutError(f"job {self.attempts} timed out (injected)")
        return super()._measure(*args)


def _estimator(backend):
    return BackendEstimator(backend, shots=40, seed=3, retries=2, backoff_s=0.0)


def test_a_failed_submission_resumes_to_the_uninterrupted_result(tmp_path):
    full, broken = tmp_path / "full", tmp_path / "broken"
    config = {**SMALL, "run_dir": str(full)}
    train(
        resolve_config(None, config),
        progress=False,
        estimator=_estimator(IBMBackend("fake_manila", seed=3)),
        checkpoint_each_step=True,
    )
    # Two calls per step, two steps per epoch: call 8 is the second job of the second epoch's
    # second step, which only the checkpoint written before each step can resume.
    failing = FailingDevice("fake_manila", seed=3, fail_from=8)
    with pytest.warns(RuntimeWarning, match="timed out"), pytest.raises(BackendError):
        train(
            resolve_config(None, {**config, "run_dir": str(broken)}),
            progress=False,
            estimator=_estimator(failing),
            checkpoint_each_step=True,
        )
    assert failing.attempts == 10  # the failing call and its 2 retries
    state = torch.load(broken / "checkpoint.pt", weights_only=True)
    assert (state["epoch"], state["step"]) == (1, 3)  # saved before the failed step's jobs
    assert state["partial_epoch"] is not None
    record = json.loads((broken / "backend.json").read_text())
    assert record["invocations"][-1]["outcome"] == "failed: BackendError"
    train(
        {"run_dir": str(broken)},
        resume=True,
        progress=False,
        estimator=_estimator(IBMBackend("fake_manila", seed=3)),
        checkpoint_each_step=True,
    )
    a, b = _params(full), _params(broken)
    for name in a:
        assert torch.equal(a[name], b[name]), name
    history = [json.loads(line) for line in (broken / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in history] == [1, 2]


def test_one_e_step_batch_is_sent_and_compared_with_the_closed_form(tmp_path, capfd):
    run = tmp_path / "estep"
    args = ["submit", "--run-dir", str(run), "--backend", "ibm:fake_manila", "--shots", "4000"]
    assert main([*args, "--e-step", "--mode", "job"]) == 0
    record = json.loads((run / "e_step.json").read_text())
    (layer,) = record["layers"]
    mean = layer["mean"]
    assert len(mean["estimate"]) == 14 and len(mean["estimate"][0]) == 16  # default n_hidden
    # Fake Manila is noisy, but at the initial model (<n> near 1/2) the readout bias is small.
    assert abs(mean["z_mean"]) < 1 and mean["z_rms"] < 2
    assert record["backend"]["invocations"][0]["backend_calls"] == 1
    assert len(record["backend"]["invocations"][0]["job_ids"]) == 1
    assert "e_step.json" in capfd.readouterr().out
    assert not (run / "checkpoint.pt").exists()  # nothing trained
