"""``qdoem train`` / ``sample`` / ``evaluate`` on a run directory."""

import json

import pytest
import torch

from qdoem.cli import main

FAST = [
    "--dataset",
    "bars_and_stripes",
    "--n-hidden",
    "6",
    "--batch-size",
    "7",
    "--lr",
    "0.1",
    "--seed",
    "2",
    "--no-progress",
]


def params(run_dir):
    return torch.load(run_dir / "checkpoint.pt", weights_only=True)["model"]["parameters"]


def test_train_writes_run_directory(tmp_path, capsys):
    run = tmp_path / "run"
    config = tmp_path / "c.toml"
    config.write_text('model = "qrbm"\nepochs = 2\ngrid_samples = 4\ngrid_steps = 5\n')
    assert main(["train", "--config", str(config), "--run-dir", str(run), *FAST]) == 0
    for name in ("config.json", "metrics.jsonl", "checkpoint.pt", "samples.png", "curves.png"):
        assert (run / name).is_file(), name
    cfg = json.loads((run / "config.json").read_text())
    assert cfg["model"] == "qrbm" and cfg["epochs"] == 2 and cfg["n_hidden"] == 6
    lines = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in lines] == [1, 2] and "train_nll" in lines[0]
    assert (run / "samples.png").read_bytes()[:4] == b"\x89PNG"
    assert "epoch 2/2" in capsys.readouterr().out

    assert main(["evaluate", str(run), "--split", "train"]) == 0
    result = json.loads((run / "eval_train.json").read_text())
    assert result["method"] == "exact" and result["mean_log_likelihood"] < 0
    assert result["mean_log_likelihood"] == pytest.approx(-lines[-1]["train_nll"], abs=1e-6)
    assert (
        main(["evaluate", str(run), "--method", "ais", "--n-chains", "16", "--n-betas", "50"]) == 0
    )
    result = json.loads((run / "eval_test.json").read_text())
    assert result["log_z_stderr"] > 0 and result["method"] == "ais"
    assert result["lower"] <= result["upper"] and result["raise_n"] > 0
    assert isinstance(result["flags"], list) and len(result["log_z_runs"]) == 2
    assert "mean log-likelihood in [" in capsys.readouterr().out

    out = tmp_path / "s.pt"
    assert main(["sample", str(run), "-n", "5", "--steps", "3", "-o", str(out)]) == 0
    samples = torch.load(out, weights_only=True)
    assert samples.shape == (5, 9) and set(samples.unique().tolist()) <= {0.0, 1.0}


@pytest.mark.parametrize("model", ["qrbm", "rbm"])
def test_interrupted_then_resumed_equals_uninterrupted(tmp_path, model):
    common = ["--model", model, "--epochs", "4", "--lr-schedule", "linear", *FAST]
    full, part = tmp_path / "full", tmp_path / "part"
    assert main(["train", "--run-dir", str(full), *common]) == 0
    assert main(["train", "--run-dir", str(part), "--stop-after", "1", *common]) == 0
    assert json.loads((part / "metrics.jsonl").read_text().splitlines()[-1])["epoch"] == 1
    assert main(["train", "--run-dir", str(part), "--resume", "--no-progress"]) == 0
    a, b = params(full), params(part)
    for name in a:
        assert torch.equal(a[name], b[name]), name
    assert (full / "metrics.jsonl").read_text().count("\n") == 4
    assert (part / "metrics.jsonl").read_text().count("\n") == 4


def test_sparse_visible_matmul_resumes_exactly(tmp_path):
    common = ["--epochs", "3", "--visible-matmul", "sparse", *FAST]
    full, part = tmp_path / "full", tmp_path / "part"
    assert main(["train", "--run-dir", str(full), *common]) == 0
    assert json.loads((full / "config.json").read_text())["visible_matmul"] == "sparse"
    assert main(["train", "--run-dir", str(part), "--stop-after", "1", *common]) == 0
    assert main(["train", "--run-dir", str(part), "--resume", "--no-progress"]) == 0
    a, b = params(full), params(part)
    assert all(torch.equal(a[k], b[k]) for k in a)
    dense = tmp_path / "dense"
    assert main(["train", "--run-dir", str(dense), "--epochs", "3", *FAST]) == 0
    c = params(dense)
    for k in a:
        torch.testing.assert_close(a[k], c[k], rtol=0, atol=1e-5)


def test_user_errors_exit_2(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text("colour = 1\n")
    assert main(["train", "--config", str(bad), "--run-dir", str(tmp_path / "r")]) == 2
    assert "colour" in capsys.readouterr().err
    assert main(["train", "--run-dir", str(tmp_path / "none"), "--resume"]) == 2
    assert "no checkpoint" in capsys.readouterr().err
    assert (
        main(
            [
                "train",
                "--dataset",
                "mnist",
                "--data-root",
                str(tmp_path),
                "--run-dir",
                str(tmp_path / "m"),
                "--no-progress",
            ]
        )
        == 2
    )
    assert str(tmp_path / "MNIST" / "raw") in capsys.readouterr().err
    assert main(["evaluate", str(tmp_path / "nowhere")]) == 2
    run = tmp_path / "ok"
    assert main(["train", "--run-dir", str(run), "--epochs", "1", *FAST]) == 0
    assert main(["train", "--run-dir", str(run), "--epochs", "1", *FAST]) == 2
    assert "already has a checkpoint" in capsys.readouterr().err
    assert main(["sample", str(run), "-o", str(tmp_path / "x.txt")]) == 2
    sparse_bf16 = ["--visible-matmul", "sparse", "--matmul-dtype", "bfloat16"]
    assert main(["train", "--run-dir", str(tmp_path / "sb"), *sparse_bf16, *FAST]) == 2
    assert "visible_matmul" in capsys.readouterr().err


def test_interrupt_during_first_epoch_then_resume(tmp_path, monkeypatch, capsys):
    from qdoem.training.trainer import Trainer

    common = ["--epochs", "3", *FAST]
    full, part = tmp_path / "full", tmp_path / "part"
    assert main(["train", "--run-dir", str(full), *common]) == 0
    original = Trainer.train_epoch

    def interrupted(self, data, progress=None):
        raise KeyboardInterrupt

    monkeypatch.setattr(Trainer, "train_epoch", interrupted)
    assert main(["train", "--run-dir", str(part), *common]) == 130
    assert "--resume" in capsys.readouterr().out
    monkeypatch.setattr(Trainer, "train_epoch", original)
    assert main(["train", "--run-dir", str(part), "--resume", "--no-progress"]) == 0
    a, b = params(full), params(part)
    assert all(torch.equal(a[k], b[k]) for k in a)
