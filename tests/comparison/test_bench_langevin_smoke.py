"""bench/langevin_speed.py runs end to end on tiny models and writes a complete report."""

import importlib.util
import json
import math
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_langevin_speed_smoke(tmp_path):
    spec = importlib.util.spec_from_file_location(
        "langevin_speed", REPO / "bench/langevin_speed.py"
    )
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    argv = ["--hidden", "16", "--batch", "8", "--sweeps", "2", "--repeats", "2"]
    assert bench.main([*argv, "--langevin-steps", "3", "--out", str(tmp_path)]) == 0
    report = json.loads((tmp_path / "report.json").read_text())
    rows = {(r["model"], r["sampler"]): r for r in report["rows"]}
    assert set(rows) == {(m, s) for m in ("GRBM", "QGRBM") for s in ("exact", "gibbs-langevin")}
    for (model, sampler), r in rows.items():
        assert 0 < r["wall_min"] <= r["wall_s"] <= r["wall_max"] < math.inf
        assert r["ratio_to_gibbs"] == (1.0 if sampler == "exact" else r["ratio_to_gibbs"])
        has_mh = sampler == "gibbs-langevin" or model == "QGRBM"
        assert (r["accept_rate"] is not None) == has_mh
        if has_mh:
            assert 0.0 < r["accept_rate"] <= 1.0
    assert report["settings"]["langevin_steps"] == 3
    assert (tmp_path / "report.md").read_text().count("\n| ") == 5
