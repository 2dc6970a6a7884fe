"""The benchmark script runs end to end on a tiny size and writes its table, JSON and plot."""

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_bench_quick_runs(tmp_path):
    cmd = [
        sys.executable,
        "-m",
        "bench.q1_speed",
        "--quick",
        "--sizes",
        "4",
        "--no-memory",
        "--out",
        str(tmp_path),
    ]
    res = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert "2 visible + 2 hidden" in res.stdout
    assert "speed-up of DO-EM" in res.stdout
    assert (tmp_path / "q1_speed.png").stat().st_size > 0
    data = json.loads((tmp_path / "results.json").read_text())
    methods = data["results"][0]["methods"]
    assert set(methods) == {"DO-EM", "DO-EM 1-step", "Amin bQRBM", "Full QBM"}
    # Same initialisation and data: every method starts from the same KL.
    assert len({m["kl"][0] for m in methods.values()}) == 1


def test_bench_skips_dense_baselines_above_memory_cap(tmp_path):
    cmd = [
        sys.executable,
        "-m",
        "bench.q1_speed",
        "--quick",
        "--sizes",
        "6",
        "--no-memory",
        "--mem-cap-gib",
        "1e-6",
        "--out",
        str(tmp_path),
    ]
    res = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert "Full QBM      skipped: dense 2^6 x 2^6" in res.stdout
