"""The console script: --help, --version, the demo, and clean errors."""

from __future__ import annotations

import subprocess
import sys

import pytest

from qdoem import __version__
from qdoem.cli import main


def test_help_lists_commands(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert "DO-EM" in out and "demo" in out


def test_version(capsys):
    with pytest.raises(SystemExit):
        main(["--version"])
    assert capsys.readouterr().out.strip() == f"qdoem {__version__}"


def test_console_script_installed():
    # The entry point a user types, not only the Python function behind it.
    out = subprocess.run([sys.executable, "-m", "qdoem", "--help"], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "usage: qdoem" in out.stdout


def test_demo_prints_monotone_trace(capsys):
    assert main(["demo", "--iterations", "4", "--epochs", "0"]) == 0
    out = capsys.readouterr().out
    rows = [line.split() for line in out.splitlines() if line.strip() and line.split()[0].isdigit()]
    assert [int(r[0]) for r in rows] == list(range(5))
    doem_l = [float(r[1]) for r in rows]
    qelbo = [float(r[2]) for r in rows]
    assert all(b >= a - 1e-9 for a, b in zip(doem_l, doem_l[1:], strict=False))
    assert doem_l[-1] > doem_l[0]
    assert qelbo == pytest.approx(doem_l, abs=1e-6)
    assert "Condition S (CQ-LVM): True" in out


def test_demo_side_by_side_on_aer(capsys):
    assert main(["demo", "--iterations", "1", "--epochs", "2", "--shots", "200"]) == 0
    out = capsys.readouterr().out
    assert "QRBM aer 200 shots" in out
    part2 = out[out.index("[2]") :]
    rows = [
        line.split() for line in part2.splitlines() if line.split() and line.split()[0].isdigit()
    ]
    assert [r[0] for r in rows[:2]] == ["0", "2"]
    nll = [[float(x) for x in r[1:4]] for r in rows[:2]]
    # Same seed and initialisation: all three columns start at the same likelihood.
    assert nll[0][0] == pytest.approx(nll[0][1], abs=1e-3) == pytest.approx(nll[0][2], abs=1e-3)
    assert "28 backend calls" in part2  # 2 epochs x 7 batches x (data E-step + CD-1 step)


def test_demo_bad_input_is_one_clear_line(capsys):
    assert main(["demo", "--iterations", "0"]) == 2
    err = capsys.readouterr().err
    assert "--iterations must be at least 1" in err
    assert "Traceback" not in err


def test_threads_option_sets_torch_threads(tmp_path, capsys):
    import torch

    from tests.cli.test_train_cli import FAST

    run = tmp_path / "run"
    assert main(["train", "--run-dir", str(run), "--epochs", "1", "--threads", "2", *FAST]) == 0
    assert torch.get_num_threads() == 2
    out = tmp_path / "s.pt"
    assert (
        main(["sample", str(run), "-n", "2", "--steps", "1", "-o", str(out), "--threads", "3"]) == 0
    )
    assert torch.get_num_threads() == 3
    with pytest.raises(SystemExit):
        main(["evaluate", str(run), "--threads", "0"])
    assert "--threads: must be a positive integer, got '0'" in capsys.readouterr().err
