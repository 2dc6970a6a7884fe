"""``qdoem train --snapshot-every`` and ``qdoem evaluate --fid`` / ``--fid-curve`` on real
binarized MNIST (a tiny model and a tiny domain classifier)."""

import json
import urllib.error

import pytest
import torch

from qdoem.cli import main
from qdoem.metrics import INCEPTION_WEIGHTS_FILE
from qdoem.training import RunDir


@pytest.fixture(scope="module")
def mnist_run(tmp_path_factory):
    from tests.conftest import SHARED_DATA

    if not (SHARED_DATA / "MNIST" / "raw").is_dir():
        pytest.skip(f"real datasets not found at {SHARED_DATA}")
    run = tmp_path_factory.mktemp("fid_cli") / "run"
    args = ["train", "--model", "qrbm", "--dataset", "binarized_mnist", "--data-root",
            str(SHARED_DATA), "--limit", "300", "--n-hidden", "16", "--epochs", "3",
            "--snapshot-every", "2", "--run-dir", str(run), "--no-progress"]  # fmt: skip
    assert main(args) == 0
    return run


FID = ["--fid-samples", "100", "--fid-steps", "5", "--fid-classifier-limit", "500", "--limit",
       "500"]  # fmt: skip


def test_snapshots_every_n_epochs_and_the_last(mnist_run):
    run = RunDir(mnist_run)
    assert [e for e, _ in run.snapshot_files()] == [2, 3]
    from qdoem.experiment import load_run, load_snapshot

    model, epoch = load_snapshot(run.snapshot(3))
    final, _ = load_run(mnist_run)
    assert epoch == 3
    for name, value in final.parameters().items():
        torch.testing.assert_close(model.parameters()[name], value)


def test_evaluate_fid_and_curve(mnist_run, tmp_path, capsys):
    cache = tmp_path / "cache"
    args = ["evaluate", str(mnist_run), "--fid", "domain", "--fid-only", "--fid-curve",
            "--fid-cache", str(cache), *FID]  # fmt: skip
    assert main(args) == 0
    result = json.loads((mnist_run / "fid_test.json").read_text())
    assert result["extractor"] == "domain-cnn:binarized_mnist" and result["value"] > 0
    assert (result["n_samples"], result["n_reference"], result["steps"]) == (100, 500, 5)
    assert 0 < result["extractor_info"]["test_accuracy"] <= 1
    assert result["extractor_info"]["spec"]["limit"] == 500
    # real training images at the same sample size: nearer the test set than a 3-epoch model
    assert 0 < result["data_floor"] < result["value"]
    curve = json.loads((mnist_run / "fid_curve_test.json").read_text())
    assert [p["epoch"] for p in curve["points"]] == [2, 3]
    assert curve["points"][-1]["fid"] == pytest.approx(result["value"])  # same model, seed
    for name in ("fid_curve_test.png", "fid_samples_test.png"):
        assert (mnist_run / name).read_bytes()[:4] == b"\x89PNG"
    out = capsys.readouterr().out
    assert "NOT the Inception FID" in out and "epoch 2: FID" in out and "data floor: FID" in out
    assert not (mnist_run / "eval_test.json").exists()  # --fid-only


def test_fid_errors_are_one_line(mnist_run, tmp_path, monkeypatch, capsys):
    assert main(["evaluate", str(mnist_run), "--fid-curve"]) == 2
    assert "need --fid" in capsys.readouterr().err
    before = torch.hub.get_dir()
    torch.hub.set_dir(str(tmp_path / "hub"))

    def offline(*args, **kwargs):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(torch.hub, "download_url_to_file", offline)
    try:
        assert main(["evaluate", str(mnist_run), "--fid", "inception", "--fid-only"]) == 2
    finally:
        torch.hub.set_dir(before)
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and INCEPTION_WEIGHTS_FILE in err
    assert str(tmp_path / "hub" / "checkpoints") in err
