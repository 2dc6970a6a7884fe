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


def test_dbm_speed_quick(tmp_path):
    """bench/dbm_speed.py --quick (issue 10): every ratio and rate is measured and finite.

    One torch thread: on a shared 2-core machine two threads can be ~50x slower.
    """
    cmd = [sys.executable, "bench/dbm_speed.py", "--quick", "--threads", "1"]
    cmd += ["--out", str(tmp_path)]
    res = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    report = json.loads((tmp_path / "report.json").read_text())
    assert set(report["models"]) == {"DBM", "QiDBM h1", "QiDBM h2"}
    assert set(report["ratios"]) == {"QiDBM h1", "QiDBM h2"}
    for ratios in report["ratios"].values():
        for key in ("epoch_time", "peak_memory", "sampler_time", "fixed_work_time"):
            assert 0 < ratios[key]["value"] < float("inf"), (key, ratios[key])
    for m in report["models"].values():
        assert len(m["train"]["wall_s"]) == report["settings"]["repeats"]
        assert m["train"]["same_work_every_repeat"]
        assert m["train_fixed_work"]["scheme"] == "mean-field"
        assert len(m["train_fixed_work"]["wall_s"]) == report["settings"]["repeats"]
        assert 0 < m["train"]["flops"]["executed"] <= m["train"]["flops"]["dense_equivalent"]
        assert 0 < m["train"]["gflops_executed"] < float("inf")
        assert 0 < m["sampler"]["median_chain_sweeps_per_s"] < float("inf")
        assert m["memory"]["peak_delta_bytes"] > 0
    assert 0 < report["matmul_peak_gflops"] < float("inf")
    assert report["threads"] == 1
    assert "<= 1.10" in (tmp_path / "report.md").read_text()


def test_default_run_is_the_readme_command():
    """`python -m bench.q1_speed` runs 8, 10 and 12 qubits and nothing else (the large sizes,
    with repeats, are the ablation's --doem-visible runs; issue 14)."""
    from bench.q1_speed.run import parse_args

    assert parse_args([]).sizes == [8, 10, 12]
    assert parse_args([]).visible_stretch == []
    assert parse_args(["--quick"]).sizes == [6, 8]
    assert parse_args(["--quick", "--sizes", "4"]).sizes == [4]
    assert parse_args(["--sizes", "8", "--visible-stretch", "20"]).visible_stretch == [20]
