"""Faults during training: divergence, interrupts mid-epoch, unusable checkpoints."""

import signal

import pytest
import torch

from qdoem.data import bars_and_stripes
from qdoem.errors import (
    CheckpointError,
    CheckpointFallbackWarning,
    DivergenceError,
    TrainingInterrupted,
)
from qdoem.models import QRBM
from qdoem.training import RunDir, TrainConfig, Trainer, stop_on_signals
from qdoem.training.optim import nonfinite


def _trainer(run_dir, persistent=False, learning_rate=0.1, epochs=3):
    model = QRBM(9, 6, dtype=torch.float64, seed=1, weight_scale=0.1)
    cfg = TrainConfig(
        epochs=epochs,
        batch_size=5,
        learning_rate=learning_rate,
        momentum=0.9,
        persistent=persistent,
        seed=3,
    )
    return Trainer(model, cfg, run_dir=run_dir)


def _same_parameters(a, b):
    pa, pb = a.model.parameters(), b.model.parameters()
    return pa.keys() == pb.keys() and all(torch.equal(pa[k], pb[k]) for k in pa)


def test_nonfinite_counts_bad_entries_by_name():
    assert nonfinite({"a": torch.ones(3), "b": torch.zeros(2)}) == {}
    bad = {"a": torch.tensor([1.0, float("nan"), float("inf")]), "b": torch.zeros(2)}
    assert nonfinite(bad) == {"a": 2}


def test_divergence_stops_training_and_keeps_the_last_good_checkpoint(tmp_path):
    data = bars_and_stripes(3).double()
    trainer = _trainer(tmp_path / "run", learning_rate=1e300, epochs=5)
    trainer.save_checkpoint()
    with pytest.raises(DivergenceError, match=r"diverged at epoch 1, step \d+: non-finite"):
        trainer.fit(data)
    state, path = RunDir(tmp_path / "run").read_checkpoint()  # finite, or it would raise
    assert path.name == "checkpoint.pt" and state["epoch"] == 0
    assert not nonfinite(state["model"]["parameters"])


@pytest.mark.parametrize("persistent", [False, True])
def test_a_signal_mid_epoch_checkpoints_the_step_and_resumes_bit_for_bit(tmp_path, persistent):
    data = bars_and_stripes(3).double()  # 14 rows, batch 5: 3 steps an epoch
    full = _trainer(tmp_path / "full", persistent)
    full.fit(data)

    part = _trainer(tmp_path / "part", persistent)
    step = part.train_step

    def step_then_signal(*args, **kwargs):
        out = step(*args, **kwargs)
        if part.step == 4:  # the second step of epoch 2
            signal.raise_signal(signal.SIGINT)
        return out

    part.train_step = step_then_signal
    before = signal.getsignal(signal.SIGINT)  # SIG_IGN where pytest runs in the background
    with stop_on_signals(part), pytest.raises(TrainingInterrupted) as stop:
        part.fit(data)
    assert stop.value.signum == signal.SIGINT
    assert signal.getsignal(signal.SIGINT) is before  # restored

    resumed = _trainer(tmp_path / "part", persistent)
    state, _ = resumed.run.read_checkpoint()
    assert (state["epoch"], state["step"]) == (1, 4) and state["partial_epoch"] is not None
    resumed.load_checkpoint(state, "checkpoint.pt")
    resumed.fit(data)
    assert _same_parameters(full, resumed)
    drop = ("time_s",)
    assert [{k: v for k, v in r.items() if k not in drop} for r in resumed.history] == [
        {k: v for k, v in r.items() if k not in drop} for r in full.history
    ]


def test_an_unreadable_newest_checkpoint_falls_back_to_the_previous_one(tmp_path):
    data = bars_and_stripes(3).double()
    trainer = _trainer(tmp_path / "run")
    trainer.fit(data, stop_after=2)
    run = trainer.run
    assert torch.load(run.previous_checkpoint, weights_only=True)["epoch"] == 1
    run.checkpoint.write_bytes(run.checkpoint.read_bytes()[:100])  # truncated
    with pytest.warns(CheckpointFallbackWarning, match=r"checkpoint.pt is unreadable .*epoch 1"):
        state, path = run.read_checkpoint()
    assert path == run.previous_checkpoint and state["epoch"] == 1

    run.previous_checkpoint.write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match=r"checkpoint.prev.pt is unreadable"):
        run.read_checkpoint()


def test_checkpoints_with_nan_or_of_another_size_are_refused_by_name(tmp_path):
    data = bars_and_stripes(3).double()
    trainer = _trainer(tmp_path / "run", epochs=1)
    trainer.fit(data)
    state = trainer.state_dict()
    state["model"]["parameters"]["weights"][0, 0] = float("nan")
    bad = tmp_path / "nan.pt"
    torch.save(state, bad)
    from qdoem.training.rundir import read_checkpoint_file

    with pytest.raises(CheckpointError, match=r"nan.pt has non-finite parameters: weights \(1 NaN"):
        read_checkpoint_file(bad)

    other = Trainer(QRBM(9, 4, dtype=torch.float64), trainer.config)
    with pytest.raises(CheckpointError, match=r"ckpt.pt does not fit this run .*weights"):
        other.load_checkpoint(trainer.state_dict(), "ckpt.pt")
    newer = trainer.state_dict()
    newer["model"]["format"] = 99
    with pytest.raises(CheckpointError, match=r"state format 99 was written by a newer qdoem"):
        trainer.load_checkpoint(newer, "ckpt.pt")
    torch.save({"weights": 1}, bad)
    with pytest.raises(CheckpointError, match=r"nan.pt is not a qdoem training checkpoint"):
        read_checkpoint_file(bad)
