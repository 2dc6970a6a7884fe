"""bench/unbiased_rb_check.py: the h2-quantum QiDBM at Gamma ~ 0 steps like a DBM that
Rao-Blackwellises h2, the h1-quantum one like the DBM (the diagnosis in
results/qidbm_vs_dbm_mnist_learning/README.md). A change of the Rao-Blackwellised layers
that makes the h2 variant step like the DBM should replace the last assertion."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DATA = REPO.parent / "shared" / "data"


@pytest.mark.skipif(not (DATA / "MNIST" / "raw").is_dir(), reason="MNIST not in ../shared/data")
def test_rb_check_separates_the_rao_blackwellised_layer(tmp_path):
    out = tmp_path / "rb.json"
    cmd = [sys.executable, "bench/unbiased_rb_check.py", "--data-root", str(DATA)]
    cmd += ["--limit", "1000", "--hidden", "64", "--out", str(out)]
    res = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr
    rows = json.loads(out.read_text())
    assert len(rows) == 5 and "| dbm rb={h2} |" in res.stdout

    def distance(a: str, b: str) -> float:  # over the parameters' means
        return sum(abs(rows[a][k][1] - rows[b][k][1]) for k in rows[a])

    assert distance("qidbm-h1 Gamma~0", "dbm") < distance("qidbm-h1 Gamma~0", "dbm rb={h2}")
    assert distance("qidbm-h2 Gamma~0", "dbm rb={h2}") < distance("qidbm-h2 Gamma~0", "dbm")
