"""The benchmark script runs end to end on a tiny size and writes its table, JSON and plot."""

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def run_bench(out, *args: str) -> subprocess.CompletedProcess:
    """``python -m bench.q1_speed --quick --no-memory --out OUT ARGS``; asserts it succeeded."""
    cmd = [sys.executable, "-m", "bench.q1_speed", "--quick", "--no-memory", "--out", str(out)]
    res = subprocess.run([*cmd, *args], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    return res


def test_bench_quick_runs(tmp_path):
    res = run_bench(tmp_path, "--sizes", "4")
    assert "2 visible + 2 hidden" in res.stdout
    assert "speed-up of DO-EM" in res.stdout
    assert (tmp_path / "q1_speed.png").stat().st_size > 0
    data = json.loads((tmp_path / "results.json").read_text())
    methods = data["results"][0]["methods"]
    assert set(methods) == {"DO-EM", "DO-EM 1-step", "Amin bQRBM", "Full QBM"}
    # Same initialisation and data: every method starts from the same KL.
    assert len({m["kl"][0] for m in methods.values()}) == 1


def test_bench_skips_dense_baselines_above_memory_cap(tmp_path):
    res = run_bench(tmp_path, "--sizes", "6", "--mem-cap-gib", "1e-6")
    assert "Full QBM      skipped: dense 2^6 x 2^6" in res.stdout
