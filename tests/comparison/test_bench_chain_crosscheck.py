"""bench/chain_crosscheck.py on a small trained QRBM: four legs, and both exact kernels agree."""

import json
import subprocess
import sys
from pathlib import Path

from tests.comparison.conftest import train_small_qrbm

REPO = Path(__file__).resolve().parents[2]


def test_crosscheck_runs_four_legs_that_agree_on_a_small_model(tmp_path):
    run = train_small_qrbm(tmp_path / "run", gamma_init=1.0)
    out = tmp_path / "cross.json"
    cmd = [sys.executable, "bench/chain_crosscheck.py", "--run", str(run), "--chains", "2000"]
    cmd += ["--sweeps", "40", "--every", "20", "--out", str(out)]
    res = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    result = json.loads(out.read_text())
    legs = result["legs"]
    assert list(legs) == ["exact from noise", "path-gibbs from noise",
                          "path-gibbs from exact's end", "exact from path-gibbs's end"]  # fmt: skip
    assert all(len(recs) == 2 and recs[-1]["sweep"] == 40 for recs in legs.values())
    # A 16-pixel model mixes in 40 sweeps: every leg ends at the same mean v (4 standard errors
    # of 2000 chains' mean of 16 {0,1} pixels, at most 0.5 / sqrt(2000 * 16)).
    ends = [recs[-1]["layer_means"][0] for recs in legs.values()]
    assert max(ends) - min(ends) < 8 * 0.5 / (2000 * 16) ** 0.5, ends
    assert "| path-gibbs from exact's end |" in res.stdout


def test_crosscheck_refuses_bad_settings(tmp_path):
    cmd = [sys.executable, "bench/chain_crosscheck.py", "--run", str(tmp_path), "--chains", "0"]
    res = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert res.returncode != 0 and "--chains" in res.stderr
    res = subprocess.run([sys.executable, "bench/chain_crosscheck.py", "--run", str(tmp_path)],
                         cwd=REPO, capture_output=True, text=True, timeout=300)  # fmt: skip
    assert res.returncode == 2 and "--run" in res.stderr and "Traceback" not in res.stderr
