"""The command line on faults: divergence, unusable checkpoints, the fallback checkpoint."""

import json

import pytest
import torch

from qdoem.cli import main
from qdoem.errors import CheckpointFallbackWarning
from tests.cli.test_train_cli import FAST, params


def one_error_line(capsys):
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("qdoem ")]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def test_a_diverging_run_exits_2_and_keeps_a_finite_checkpoint(tmp_path, capsys):
    run = tmp_path / "run"
    args = ["train", "--run-dir", str(run), "--epochs", "5", *FAST, "--lr", "1e30"]
    assert main(args) == 2
    line = one_error_line(capsys)
    assert "training diverged at epoch" in line and "learning rate 1e+30" in line
    assert f"{run / 'checkpoint.pt'} is kept" in line
    state = torch.load(run / "checkpoint.pt", weights_only=True)
    assert all(torch.isfinite(t).all() for t in state["model"]["parameters"].values())
    assert main(["sample", str(run), "-n", "2", "--steps", "2", "-o", str(tmp_path / "s.pt")]) == 0


def test_evaluate_and_sample_refuse_non_finite_parameters(tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", "--run-dir", str(run), "--epochs", "1", *FAST]) == 0
    (run / "checkpoint.prev.pt").unlink()
    state = torch.load(run / "checkpoint.pt", weights_only=True)
    state["model"]["parameters"]["hidden_bias"][1] = float("inf")
    torch.save(state, run / "checkpoint.pt")
    capsys.readouterr()
    for command in (["evaluate", str(run)], ["sample", str(run), "-n", "2"]):
        assert main(command) == 2
        line = one_error_line(capsys)
        assert f"{run / 'checkpoint.pt'} has non-finite parameters: hidden_bias (1 NaN/inf)" in line


def test_resume_falls_back_to_the_previous_checkpoint_and_still_ends_exactly(tmp_path, capsys):
    common = ["--epochs", "4", *FAST]
    full, part = tmp_path / "full", tmp_path / "part"
    assert main(["train", "--run-dir", str(full), *common]) == 0
    assert main(["train", "--run-dir", str(part), "--stop-after", "2", *common]) == 0
    newest = part / "checkpoint.pt"
    newest.write_bytes(newest.read_bytes()[: newest.stat().st_size // 2])  # truncated
    with pytest.warns(CheckpointFallbackWarning) as warned:
        assert main(["train", "--run-dir", str(part), "--resume", "--no-progress"]) == 0
    message = str(warned[0].message)
    assert message.startswith(f"checkpoint {newest} is unreadable (truncated or corrupt)")
    assert "using the previous checkpoint" in message and "(epoch 1, step 2)" in message
    assert (part / "checkpoint.unusable.pt").is_file()
    a, b = params(full), params(part)
    assert all(torch.equal(a[k], b[k]) for k in a)
    epochs = [json.loads(x)["epoch"] for x in (part / "metrics.jsonl").read_text().splitlines()]
    assert epochs == [1, 2, 3, 4]


def test_a_checkpoint_of_another_model_or_size_is_refused_by_name(tmp_path, capsys):
    qrbm, rbm, small = tmp_path / "qrbm", tmp_path / "rbm", tmp_path / "small"
    assert main(["train", "--run-dir", str(qrbm), "--epochs", "1", *FAST]) == 0
    assert main(["train", "--run-dir", str(rbm), "--model", "rbm", "--epochs", "1", *FAST]) == 0
    args = ["train", "--run-dir", str(small), "--epochs", "1", *FAST, "--n-hidden", "3"]
    assert main(args) == 0
    for other in (rbm, small):
        for name in ("checkpoint.pt", "checkpoint.prev.pt"):
            (qrbm / name).write_bytes((other / name).read_bytes())
        capsys.readouterr()
        assert main(["train", "--run-dir", str(qrbm), "--resume", "--epochs", "2"]) == 2
        line = one_error_line(capsys)
        assert str(qrbm / "checkpoint.pt") in line
        assert ("holds a 'rbm' model" if other == rbm else "does not fit this run") in line


def test_resume_refuses_changed_settings_unless_allowed_and_records_them(tmp_path, capsys):
    run = tmp_path / "run"
    common = ["--run-dir", str(run), *FAST]
    assert main(["train", *common, "--epochs", "3", "--stop-after", "1"]) == 0
    capsys.readouterr()
    changed = ["--lr", "0.5", "--backend", "exact", "--shots", "50"]
    assert main(["train", *common, "--resume", *changed]) == 2
    line = one_error_line(capsys)
    for change in ("learning_rate 0.1 -> 0.5", "backend None -> 'exact'", "shots 1000 -> 50"):
        assert change in line, line
    assert "--allow-changes" in line and not (run / "changes.jsonl").exists()
    assert main(["train", *common, "--resume", "--stop-after", "1"]) == 0  # the same flags
    assert main(["train", "--run-dir", str(run), "--allow-changes", "--epochs", "3"]) == 2
    assert "--allow-changes applies to --resume only" in one_error_line(capsys)

    assert main(["train", *common, "--resume", "--allow-changes", "--lr", "0.5"]) == 0
    records = [json.loads(x) for x in (run / "changes.jsonl").read_text().splitlines()]
    assert records == [{"epoch": 2, "step": 4, "changed": {"learning_rate": [0.1, 0.5]}}]
    assert json.loads((run / "config.json").read_text())["learning_rate"] == 0.5
    lrs = [json.loads(x)["lr"] for x in (run / "metrics.jsonl").read_text().splitlines()]
    assert lrs == [0.1, 0.1, 0.5]
