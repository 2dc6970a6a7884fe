"""bench/grbm_speed.py --quick runs end to end and writes a complete report."""

import importlib.util
import json
import math
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_grbm_speed_quick(tmp_path):
    """Every model is timed, profiled and measured; every ratio is finite (issue 11).

    One torch thread (two oversubscribe the shared 2-core machine). The data root does not
    exist, so the run uses its random stand-in data: no Fashion-MNIST read, ~20 s.
    """
    out = tmp_path / "out"
    cmd = [sys.executable, "bench/grbm_speed.py", "--quick", "--threads", "1", "--out", str(out)]
    cmd += ["--data-root", str(tmp_path / "no-data")]
    res = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    report = json.loads((out / "report.json").read_text())
    assert set(report["models"]) == {"GRBM", "QGRBM", "QGRBM twin-mh", "QGRBM plain"}
    assert set(report["ratios"]) == {"QGRBM", "QGRBM twin-mh", "QGRBM plain"}
    assert report["threads"] == 1 and report["quick"] and "RANDOM" in report["data"]
    for m in report["models"].values():
        assert len(m["wall_s"]) == report["settings"]["repeats"]
        assert all(0 < t < math.inf for t in m["wall_s"] + m["cpu_s"]), m["wall_s"]
        assert 0 < m["epoch_s"] < math.inf
        assert all(r["step"] == report["settings"]["steps"] for r in m["runs"])
        assert m["memory"]["peak_delta_bytes"] > 0
        assert m["profile"]["matmul_calls"] > 0 and m["profile"]["total_ms"] > 0
    # The exact kernels run their MH test at Gamma != 0; the plain one and the GRBM have none.
    for name in ("QGRBM", "QGRBM twin-mh"):
        assert 0 < report["models"][name]["runs"][0]["accept_rate"] <= 1
    assert "twin weight" in report["models"]["QGRBM twin-mh"]["sweep_ms"]
    assert "accept_rate" not in report["models"]["QGRBM plain"]["runs"][0]
    for r in report["ratios"].values():
        for value in (r["time"]["median"], r["time"]["best"], r["cpu_time"]["median"], r["memory"]):
            assert 0 < value < math.inf, r
    md = (out / "report.md").read_text()
    assert "<= 1.10" in md and "Quick (smoke) run" in md
    # --render-only re-derives the figures from the JSON alone (in process: no second start-up).
    spec = importlib.util.spec_from_file_location("grbm_speed", REPO / "bench" / "grbm_speed.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    bench.main(["--render-only", "--out", str(out)])
    assert "Re-rendered" in (out / "report.md").read_text()
    assert json.loads((out / "report.json").read_text())["ratios"] == report["ratios"]
