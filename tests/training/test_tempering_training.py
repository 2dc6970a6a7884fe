"""Parallel tempering in the trainer: metrics, checkpoint/resume bit for bit, bad settings."""

from __future__ import annotations

import json
import signal

import pytest
import torch

from qdoem.cli import main
from qdoem.data import bars_and_stripes
from qdoem.errors import CheckpointError, ConfigError, TrainingInterrupted
from qdoem.experiment import resolve_config
from qdoem.models import DBM, QRBM, RBM
from qdoem.training import TrainConfig, Trainer, stop_on_signals

PT = {"persistent": True, "pt_replicas": 3, "pt_beta_min": 0.4}


def _trainer(run_dir, epochs=3, model_cls=QRBM, **kw):
    extra = {"gamma_init": 0.8} if model_cls is QRBM else {}
    model = model_cls(9, 6, dtype=torch.float64, seed=1, weight_scale=0.3, **extra)
    cfg = TrainConfig(
        **{
            "epochs": epochs,
            "batch_size": 5,
            "learning_rate": 0.1,
            "momentum": 0.9,
            "seed": 3,
            **PT,
            **kw,
        }
    )
    return Trainer(model, cfg, run_dir=run_dir)


def _same(a: Trainer, b: Trainer) -> bool:
    pa, pb = a.model.parameters(), b.model.parameters()
    if pa.keys() != pb.keys() or not all(torch.equal(pa[k], pb[k]) for k in pa):
        return False
    sa, sb = a.tempering.states_, b.tempering.states_
    return all(
        torch.equal(x, y)
        for s, t in zip(sa, sb, strict=True)
        for x, y in zip(s.values, t.values, strict=True)
    )


def _history(trainer: Trainer) -> list[dict]:
    return [{k: v for k, v in r.items() if k != "time_s"} for r in trainer.history]


@pytest.mark.parametrize("model_cls", [QRBM, RBM])
def test_metrics_record_swap_rates_and_the_replicas_move(tmp_path, model_cls):
    trainer = _trainer(tmp_path / "run", model_cls=model_cls)
    trainer.fit(bars_and_stripes(3).double())
    lines = [json.loads(x) for x in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    for record in lines:
        rates = record["pt_swap_rates"]
        assert len(rates) == 2 and all(0.0 < r <= 1.0 for r in rates), rates
        if model_cls is QRBM:
            assert len(record["pt_accept_rates"]) == 2 and 0 < record["accept_rate"] <= 1
    assert trainer.tempering.betas == pytest.approx((1.0, 0.4**0.5, 0.4))
    assert trainer.chains is trainer.tempering.states_[0]  # the beta = 1 replica is PCD's chain
    hot = trainer.tempering.states_[2].values[0]
    assert not torch.equal(hot, trainer.chains.values[0])
    saved = torch.load(tmp_path / "run" / "checkpoint.pt", weights_only=True)["tempering"]
    assert len(saved["replicas"]) == 2 and saved["steps"] == trainer.tempering.steps_


def test_resumed_at_an_epoch_boundary_equals_uninterrupted(tmp_path):
    data = bars_and_stripes(3).double()
    full = _trainer(tmp_path / "full", epochs=4)
    full.fit(data)
    part = _trainer(tmp_path / "part", epochs=4)
    part.fit(data, stop_after=1)  # 3 PT steps: the next swaps are the odd pairs
    resumed = _trainer(tmp_path / "part", epochs=4)  # a fresh process: state from disk only
    state, path = resumed.run.read_checkpoint()
    resumed.load_checkpoint(state, path)
    resumed.fit(data)
    assert _same(full, resumed)
    assert _history(resumed) == _history(full)


def test_a_signal_mid_epoch_resumes_bit_for_bit(tmp_path):
    data = bars_and_stripes(3).double()  # 14 rows, batch 5: 3 steps an epoch
    full = _trainer(tmp_path / "full")
    full.fit(data)
    part = _trainer(tmp_path / "part")
    step = part.train_step

    def step_then_signal(*args, **kwargs):
        out = step(*args, **kwargs)
        if part.step == 5:  # mid epoch 2: an odd PT step count, swap counts pending
            signal.raise_signal(signal.SIGINT)
        return out

    part.train_step = step_then_signal
    with stop_on_signals(part), pytest.raises(TrainingInterrupted):
        part.fit(data)
    resumed = _trainer(tmp_path / "part")
    state, path = resumed.run.read_checkpoint()
    assert state["partial_epoch"] is not None and state["tempering"]["steps"] == 5
    resumed.load_checkpoint(state, path)
    resumed.fit(data)
    assert _same(full, resumed)
    assert _history(resumed) == _history(full)


def test_a_pcd_checkpoint_continues_with_tempering_and_a_changed_ladder_is_refused(tmp_path):
    data = bars_and_stripes(3).double()
    pcd = _trainer(tmp_path / "run", epochs=1, pt_replicas=1)
    pcd.fit(data)
    state, path = pcd.run.read_checkpoint()
    assert state["tempering"] is None
    tempered = _trainer(tmp_path / "other", epochs=2)
    tempered.load_checkpoint(state, path)
    tempered.fit(data)  # the replicas start from the PCD chains
    assert tempered.tempering.states_[0] is tempered.chains
    assert "pt_swap_rates" in tempered.history[-1]
    other_ladder = _trainer(tmp_path / "x", epochs=3, pt_beta_min=0.5)
    with pytest.raises(CheckpointError, match="temperature ladder"):
        other_ladder.load_checkpoint(tempered.state_dict(), "checkpoint.pt")


@pytest.mark.parametrize(
    "kw,match",
    [
        ({"pt_replicas": 0}, "pt_replicas must be a positive int, got 0"),
        ({"pt_replicas": 2.5}, "pt_replicas must be a positive int"),
        ({"pt_beta_min": 1.0}, r"pt_beta_min must be a number in \(0, 1\), got 1.0"),
        ({"pt_beta_min": -0.2}, "pt_beta_min"),
        ({"pt_ladder": "cubic"}, "pt_ladder must be one of"),
        ({"persistent": False}, "pt_replicas 3 tempers persistent chains: it needs persistent"),
        ({"scheme": "unbiased"}, "scheme 'mean-field'"),
        ({"neg_average_from": 0}, "neg_average_from must be None with it, got 0"),
    ],
)
def test_bad_tempering_settings_name_the_field(kw, match):
    with pytest.raises(ConfigError, match=match):
        TrainConfig(**{**PT, **kw})


def test_deep_models_are_refused_and_config_files_are_checked(tmp_path):
    with pytest.raises(ValueError, match="needs one hidden layer; this model has 2"):
        Trainer(DBM(4, [3, 2]), TrainConfig(**PT))
    with pytest.raises(ConfigError, match="pt_beta_min"):
        resolve_config(None, {"pt_beta_min": 2.0, "persistent": True, "pt_replicas": 2})
    with pytest.raises(ConfigError, match="pt_replicas must be an integer"):
        resolve_config(None, {"pt_replicas": "3"})


def test_cli_flags_reach_training_and_bad_values_exit_2(tmp_path, capsys):
    run = tmp_path / "run"
    flags = ["train", "--model", "qrbm", "--n-hidden", "3", "--epochs", "1", "--no-progress"]
    flags += ["--run-dir", str(run), "--threads", "1", "--pcd", "--pt-replicas", "2"]
    assert main([*flags, "--pt-beta-min", "0.5", "--pt-ladder", "linear"]) == 0
    config = json.loads((run / "config.json").read_text())
    assert (config["pt_replicas"], config["pt_beta_min"], config["pt_ladder"]) == (2, 0.5, "linear")
    record = json.loads((run / "metrics.jsonl").read_text().splitlines()[0])
    assert len(record["pt_swap_rates"]) == 1
    capsys.readouterr()
    bad = ["train", "--run-dir", str(tmp_path / "bad"), "--pt-replicas", "4", "--no-progress"]
    assert main(bad) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "needs persistent true" in err, err


def test_the_estimator_api_takes_the_tempering_options():
    """``QRBM(..., pt_replicas=3).fit`` trains with tempering (scikit-learn style: the
    hyperparameters in ``__init__`` reach the trainer's config), and bad values are refused."""
    data = bars_and_stripes(3).data
    options = dict(n_epochs=2, batch_size=5, learning_rate=0.1, momentum=0.9, seed=3)
    model = QRBM(9, 6, dtype=torch.float64, weight_scale=0.3, gamma_init=0.8, **options, **PT)
    assert model.get_params()["pt_replicas"] == 3 and model.train_config().pt_beta_min == 0.4
    model.fit(data)
    assert len(model.history_[-1]["pt_swap_rates"]) == 2
    plain = QRBM(
        9, 6, dtype=torch.float64, weight_scale=0.3, gamma_init=0.8, persistent=True, **options
    ).fit(data)
    assert "pt_swap_rates" not in plain.history_[-1]
    assert not torch.equal(model.parameters()["weights"], plain.parameters()["weights"])
    with pytest.raises(ConfigError, match="pt_ladder must be one of"):
        QRBM(9, 6, persistent=True, pt_replicas=3, pt_ladder="cubic").fit(data)
