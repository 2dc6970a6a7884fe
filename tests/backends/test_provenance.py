"""Every run directory records where its quantum statistics came from (``backend.json``)."""

from __future__ import annotations

import json

import pytest

from backends import get_backend
from qdoem.cli import main

COMMON = ["--n-hidden", "2", "--batch-size", "14", "--epochs", "1", "--no-progress"]


@pytest.mark.parametrize(
    ("backend", "kind"),
    [(None, "closed form"), ("aer", "simulator"), ("pennylane:default.mixed", "simulator")],
)
def test_run_directory_records_backend_kind_versions_and_calls(tmp_path, backend, kind):
    run = tmp_path / "run"
    extra = [] if backend is None else ["--backend", backend, "--shots", "30"]
    assert main(["train", "--run-dir", str(run), *COMMON, *extra]) == 0
    record = json.loads((run / "backend.json").read_text())
    assert record["kind"] == kind and record["name"] == (backend or "closed-form")
    assert record["shots"] == (None if backend is None else 30)
    assert record["versions"]["qdoem"] and record["versions"]["torch"]
    (call,) = record["invocations"]
    assert call["outcome"] == "finished" and call["wall_time_s"] >= 0
    assert (call["backend_calls"] > 0) == (backend is not None)
    assert main(["train", "--run-dir", str(run), "--resume", "--epochs", "2", "--no-progress"]) == 0
    record = json.loads((run / "backend.json").read_text())
    assert [c["resumed_from"] for c in record["invocations"]] == [None, {"epoch": 1, "step": 1}]


def test_noisy_simulator_says_so():
    pytest.importorskip("qiskit_ibm_runtime")
    record = get_backend("aer-noisy:manila").describe()
    assert record["kind"] == "simulator with noise model"


def test_backend_options_reach_the_backend_and_are_checked(tmp_path, capfd):
    pytest.importorskip("qiskit_ibm_runtime")
    config = tmp_path / "run.toml"
    config.write_text(
        'backend = "ibm:fake_manila"\nshots = 20\n[backend_options]\nunits_per_circuit = 1\n'
    )
    run = tmp_path / "run"
    assert main(["train", "--config", str(config), "--run-dir", str(run), *COMMON]) == 0
    record = json.loads((run / "backend.json").read_text())
    assert record["units_per_circuit"] == 1 and len(record["layout"]) == 1
    config.write_text('backend = "ibm:fake_manila"\n[backend_options]\nunits = 1\n')
    assert main(["train", "--config", str(config), "--run-dir", str(tmp_path / "r2")]) == 2
    assert "unknown backend option 'units' (did you mean 'units_per_circuit'?" in (
        capfd.readouterr().err
    )
