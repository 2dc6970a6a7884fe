"""Fault injection: a training subprocess is killed (SIGKILL) at random moments, or stopped
with SIGTERM, again and again; every time it resumes, and the run ends with exactly the
parameters and metrics of an uninterrupted run.

A kill -9 can land anywhere, in the middle of a checkpoint write included: the newest
checkpoint must always be complete (temporary file, fsync, rename), so no fallback is ever
needed. SIGTERM stops at a step boundary with a checkpoint of that step, mid-epoch included.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from qdoem.training import RunDir

REPO = Path(__file__).resolve().parents[2]
EPOCHS = 1500  # 7 steps each; ~10 ms an epoch with its checkpoint
KILLS, TERMS = 12, 3


def _command(run_dir: Path, config: Path, resume: bool) -> list[str]:
    cmd = [sys.executable, "-m", "qdoem", "train", "--run-dir", str(run_dir), "--no-progress"]
    cmd += ["--threads", "1"]
    if resume:
        return [*cmd, "--resume"]
    return [*cmd, "--config", str(config)]


def _start(run_dir: Path, config: Path) -> subprocess.Popen:
    resume = RunDir(run_dir).has_checkpoint()
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    return subprocess.Popen(
        _command(run_dir, config, resume),
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _mtime(path: Path) -> int | None:
    try:
        return path.stat().st_mtime_ns
    except FileNotFoundError:
        return None


def _wait_for_training(proc: subprocess.Popen, checkpoint: Path, timeout: float = 120) -> bool:
    """Wait until ``proc`` writes a new checkpoint (it is training); False if it ended."""
    before, deadline = _mtime(checkpoint), time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        if _mtime(checkpoint) != before:
            return True
        time.sleep(0.01)
    raise AssertionError("the training subprocess wrote no checkpoint")


def _metrics(run_dir: Path) -> list[dict]:
    lines = (run_dir / "metrics.jsonl").read_text().splitlines()
    return [{k: v for k, v in json.loads(x).items() if k != "time_s"} for x in lines]


@pytest.mark.slow
def test_random_kills_and_terms_resume_to_the_uninterrupted_run(tmp_path):
    config = tmp_path / "run.toml"
    config.write_text(
        f'dataset = "bars_and_stripes"\nn_hidden = 6\nbatch_size = 2\nlearning_rate = 0.02\n'
        f"persistent = true\nepochs = {EPOCHS}\nseed = 2\ngrid_samples = 4\ngrid_steps = 2\n"
    )
    full, killed = tmp_path / "full", tmp_path / "killed"
    reference = _start(full, config)
    assert reference.wait(timeout=600) == 0, reference.stderr.read()

    rng = random.Random(15)
    signals = [signal.SIGKILL] * KILLS + [signal.SIGTERM] * TERMS
    rng.shuffle(signals)
    survived, terms_clean, mid_epoch, lost_epochs = 0, 0, 0, []
    for signum in signals:
        proc = _start(killed, config)
        if not _wait_for_training(proc, RunDir(killed).checkpoint):
            break  # finished before the signal: too few epochs for this machine
        time.sleep(rng.uniform(0.0, 0.4))
        done = len(_metrics(killed))
        proc.send_signal(signum)
        rc = proc.wait(timeout=120)
        _, err = proc.communicate()
        # The newest checkpoint is complete after any kill: no fallback is needed.
        state = torch.load(killed / "checkpoint.pt", weights_only=True)
        if signum == signal.SIGKILL:
            assert rc == -signal.SIGKILL, err
            survived += 1
            lost_epochs.append(max(done - state["epoch"], 0))
        else:
            assert rc == 128 + signal.SIGTERM, err
            assert "SIGTERM: stopping after this step" in err
            terms_clean += 1
            mid_epoch += state["partial_epoch"] is not None and state["step"] % 7 != 0
    assert survived == KILLS and terms_clean == TERMS, "the run ended before every signal"

    final = _start(killed, config)
    out, err = final.communicate(timeout=600)
    assert final.returncode == 0, err
    assert "warning" not in err, err  # never fell back to checkpoint.prev.pt
    a = torch.load(full / "checkpoint.pt", weights_only=True)
    b = torch.load(killed / "checkpoint.pt", weights_only=True)
    for name, value in a["model"]["parameters"].items():
        assert torch.equal(value, b["model"]["parameters"][name]), name
    for name, value in a["optimizer"].items():
        assert torch.equal(value, b["optimizer"][name]), name
    assert _metrics(killed) == _metrics(full)
    assert not list(killed.glob(".tmp-*"))
    print(
        f"\nfault injection: {survived} SIGKILLs survived, {terms_clean} SIGTERMs stopped "
        f"cleanly ({mid_epoch} mid-epoch), epochs redone after a kill: {lost_epochs} "
        f"(the one in progress), parameters bit-identical to the uninterrupted run"
    )
