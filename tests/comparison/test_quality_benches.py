"""The likelihood-quality benchmarks: the exact-gradient trainer, and the MNIST bench end to end."""

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from qdoem.models import QRBM, RBM

REPO = Path(__file__).resolve().parents[2]
MNIST = REPO.parent / "shared" / "data" / "MNIST" / "raw"


def _load(name):
    spec = importlib.util.spec_from_file_location(name, REPO / "bench" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_exact_gradient_ascent_raises_the_exact_likelihood():
    bench = _load("qrbm_exact_gradient")
    g = torch.Generator().manual_seed(0)
    modes = torch.tensor([[1, 1, 1, 0, 0, 0], [0, 0, 0, 1, 1, 1]], dtype=torch.float64)
    data = modes[torch.randint(0, 2, (200,), generator=g)]
    data = torch.where(torch.rand(data.shape, generator=g) < 0.05, 1 - data, data)
    for model in (RBM(6, 3, dtype="float64", seed=0), QRBM(6, 3, dtype="float64", seed=0)):
        trace = bench.train_exact(model, data, data, steps=100, lr=0.5, momentum=0.9, every=50)
        lls = [t["train_ll"] for t in trace]
        assert lls[-1] > lls[0] + 0.5, lls


@pytest.mark.skipif(not MNIST.is_dir(), reason="MNIST not found beside the repository")
def test_rbm_quality_bench_quick(tmp_path):
    cmd = [sys.executable, "bench/rbm_quality.py", "--quick", "--recipe", "cd1", "--variants",
           "rbm", "--data-root", str(MNIST.parents[1]), "--runs", str(tmp_path / "runs"),
           "--out", str(tmp_path / "out")]  # fmt: skip
    res = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    (row,) = report["rows"]
    assert row["variant"] == "rbm" and row["epochs"] == 2
    assert row["likelihood"]["lower"] <= row["likelihood"]["upper"] < 0
    assert (tmp_path / "out" / "samples_rbm.png").read_bytes()[:4] == b"\x89PNG"
    assert "Salakhutdinov & Murray" in (tmp_path / "out" / "report.md").read_text()
