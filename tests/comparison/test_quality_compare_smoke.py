"""Experiment 1's command (bench/quality_compare.py) end to end at a toy scale."""

import importlib.util
import json
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DATA = REPO.parent / "shared" / "data"


def _bench():
    spec = importlib.util.spec_from_file_location(
        "quality_compare", REPO / "bench" / "quality_compare.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.skipif(not (DATA / "MNIST" / "raw").is_dir(), reason="MNIST not found")
def test_quality_compare_quick(tmp_path):
    bench = _bench()
    out = tmp_path / "out"
    common = ["--quick", "--data-root", str(DATA), "--runs", str(tmp_path / "runs"), "--out",
              str(out), "--fid", "domain", "--fid-cache", str(tmp_path / "cache"), "--limit",
              "300", "--n-hidden", "16", "--fid-samples", "100", "--curve-samples", "50",
              "--classifier-limit", "500", "--test-limit", "100"]  # fmt: skip
    bench.main([*common, "--variants", "rbm", "qrbm", "--seeds", "0"])
    bench.main([*common, "--variants", "rbm", "qrbm", "--seeds", "1"])  # another process
    report = json.loads((out / "report.json").read_text())
    rows = {(r["variant"], r["seed"]) for r in report["rows"]}
    assert rows == {("rbm", 0), ("qrbm", 0), ("rbm", 1), ("qrbm", 1)}
    for r in report["rows"]:
        assert r["fid"]["extractor"] == "domain-cnn:binarized_mnist" and r["fid"]["value"] > 0
        assert [p["epoch"] for p in r["fid_curve"]] == [1, 2]
        assert r["likelihood"]["lower"] <= r["likelihood"]["upper"] < 0
    change = report["summary"]["relative_fid_change"]["qrbm"]
    by = {(r["variant"], r["seed"]): r["fid"]["value"] for r in report["rows"]}
    expected = [(by["qrbm", s] - by["rbm", s]) / by["rbm", s] for s in (0, 1)]
    assert change["seeds"] == [0, 1] and change["values"] == pytest.approx(expected)
    assert 0 <= report["data_floor"]["fid"]["value"] < min(by.values())
    text = (out / "report.md").read_text()
    assert "domain FID" in text and "784 x 16" in text and "Salakhutdinov & Murray" in text
    for name in ("fid_curves.png", "samples_rbm_s0.png", "samples_qrbm_s1.png"):
        assert (out / name).read_bytes()[:4] == b"\x89PNG"
    # Rows with these settings are reused, not trained again.
    before = (out / "rows" / "rbm_s0.json").stat().st_mtime_ns
    bench.main([*common, "--variants", "rbm", "--seeds", "0"])
    assert (out / "rows" / "rbm_s0.json").stat().st_mtime_ns == before
