"""No IBM token or instance string reaches the terminal, a run record, a checkpoint or
``hardware_runs/``: qdoem never reads them, and the CLI redacts them from error messages."""

from pathlib import Path

import pytest

from qdoem.cli import main, one_line

pytest.importorskip("qiskit_ibm_runtime")

TOKEN = "SECRET-token-8f3a9c1e"
INSTANCE = "crn:v1:bluemix:public:quantum-computing:us-east:a/secret-account-77::"
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def credentials(monkeypatch):
    monkeypatch.setenv("QISKIT_IBM_TOKEN", TOKEN)
    monkeypatch.setenv("QISKIT_IBM_INSTANCE", INSTANCE)
    monkeypatch.setenv("QISKIT_IBM_CHANNEL", "ibm_quantum_platform")


def _assert_no_secret(data: bytes, where: str) -> None:
    for secret in (TOKEN, INSTANCE, "secret-account-77"):
        assert secret.encode() not in data, f"{secret!r} in {where}"


def test_a_run_on_an_ibm_backend_records_no_credentials(tmp_path, credentials, capfd):
    run = tmp_path / "run"
    config = tmp_path / "run.toml"
    config.write_text("grid_samples = 4\ngrid_steps = 2\n")
    args = ["train", "--config", str(config), "--run-dir", str(run), "--backend", "ibm:fake_manila"]
    args += ["--shots", "20", "--n-hidden", "2", "--batch-size", "14", "--epochs", "1"]
    assert main([*args, "--no-progress"]) == 0
    assert main(["evaluate", str(run), "--split", "train"]) == 0
    out = capfd.readouterr()
    _assert_no_secret((out.out + out.err).encode(), "the output")
    files = [p for p in run.rglob("*") if p.is_file()]
    assert {p.name for p in files} >= {"config.json", "checkpoint.pt", "metrics.jsonl"}
    for path in files:
        _assert_no_secret(path.read_bytes(), str(path))


def test_an_error_from_the_ibm_service_does_not_print_credentials(tmp_path, credentials, capfd):
    # A real device name asks the service for the account: it fails here (no network, a
    # made-up token) and the one-line error must not echo the credentials.
    args = ["train", "--run-dir", str(tmp_path / "r"), "--backend", "ibm:ibm_brisbane"]
    assert main(args) == 2
    err = capfd.readouterr().err
    assert err.startswith("qdoem train: error: backend 'ibm:ibm_brisbane'")
    _assert_no_secret(err.encode(), "the error")
    assert not (tmp_path / "r").exists()
    leaky = ValueError(f"401: token {TOKEN} rejected for {INSTANCE}")
    assert one_line(leaky) == "401: token <QISKIT_IBM_TOKEN> rejected for <QISKIT_IBM_INSTANCE>"


def test_hardware_runs_hold_no_credentials():
    files = [p for p in (REPO / "hardware_runs").rglob("*") if p.is_file()]
    assert files
    for path in files:
        data = path.read_bytes().lower()
        assert b"crn:v1" not in data and b"qiskit_ibm_token" not in data, path
        assert b'"token"' not in data and b"token =" not in data, path
