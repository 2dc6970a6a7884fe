"""bench/chain_mixing.py on a small trained QRBM: one row per sampler, sane figures."""

import json
import subprocess
import sys
from pathlib import Path

from tests.comparison.conftest import train_small_qrbm

REPO = Path(__file__).resolve().parents[2]


def test_chain_mixing_reports_every_sampler(tmp_path):
    run = train_small_qrbm(tmp_path / "run", gamma_init=2.0)
    out = tmp_path / "mixing.json"
    cmd = [sys.executable, "bench/chain_mixing.py", "--run", str(run), "--chains", "64"]
    cmd += ["--burn-in", "5", "--sweeps", "10", "--samplers", "exact", "twin-mh", "plain"]
    cmd += ["--out", str(out)]
    res = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    rows = {r["sampler"]: r for r in json.loads(out.read_text())["rows"]}
    assert set(rows) == {"exact", "twin-mh", "plain"}
    for name in ("exact", "twin-mh"):  # the MH chains reject some moves at Gamma = 2
        assert 0 < rows[name]["mh_accept"] < 1, rows[name]
    assert rows["plain"]["mh_accept"] is None
    for r in rows.values():
        assert r["mean_squared_jump"] > 0 and r["cpu_ms_per_sweep"] > 0
        assert -1 <= r["lag1_autocorrelation"] <= 1
    assert "| twin-mh |" in res.stdout


def test_chain_mixing_refuses_an_unknown_sampler(tmp_path):
    cmd = [sys.executable, "bench/chain_mixing.py", "--run", str(tmp_path), "--samplers", "nope"]
    res = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert res.returncode != 0 and "sampler must be one of" in res.stderr
