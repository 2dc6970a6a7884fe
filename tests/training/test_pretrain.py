"""Greedy layer-wise pre-training of QiDBM and DBM (Salakhutdinov & Hinton 2009, 2012).

Tiny models (6 visible, 3 + 3 hidden, or three hidden layers) whose exact log-likelihood is
computed by enumeration: the stack's layout (tied copies, doubling, halving), the composition
rule, that a pre-trained initialisation fits a toy dataset better than the random one, resume
in the middle of pre-training bit for bit, and the DBM = QiDBM at Gamma fixed 0 identity with
pre-training on.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from qdoem.errors import CheckpointError, ConfigError, TrainingInterrupted
from qdoem.experiment import resolve_config
from qdoem.models import DBM, QRBM, RBM, QiDBM
from qdoem.models.dbm import TiedQRBM, TiedRBM
from qdoem.training import TrainConfig, Trainer

PROTOTYPES = np.array([[1, 1, 0, 0, 1, 0], [0, 0, 1, 1, 0, 1], [1, 0, 1, 0, 1, 0]])


def toy_data(n=300, noise=0.05, seed=0):
    """Three prototypes of 6 bits with 5% of the bits flipped: entropy about 2.3 nats, against
    log 64 = 4.16 for the uniform law a small random model is close to."""
    rng = np.random.default_rng(seed)
    x = PROTOTYPES[rng.integers(0, len(PROTOTYPES), size=n)]
    x = np.where(rng.random(x.shape) < noise, 1 - x, x)
    return torch.tensor(x, dtype=torch.float64)


MODELS = {
    "dbm": lambda **kw: DBM(6, [3, 3], **kw),
    "qidbm-h1": lambda **kw: QiDBM(6, [3, 3], quantum_layers=[1], **kw),
    "qidbm-h2": lambda **kw: QiDBM(6, [3, 3], quantum_layers=[2], **kw),
    "qidbm-3layers": lambda **kw: QiDBM(6, [3, 2, 3], quantum_layers=[1, 3], **kw),
}


def config(**kw):
    settings = {
        "epochs": 1,
        "batch_size": 20,
        "learning_rate": 0.05,
        "pretrain_learning_rate": 0.1,
        "init_visible_from_data": False,
        "track_nll": 0,
    }
    return TrainConfig(**{**settings, **kw})


def test_stack_layout_doubles_inputs_and_ties_copies():
    model = QiDBM(6, [3, 2, 3], quantum_layers=[1, 3], gamma_init=0.7, seed=3)
    stages = model.pretraining_stages()
    assert [type(s) for s in stages] == [TiedQRBM, TiedRBM, TiedQRBM]
    assert isinstance(stages[0], QRBM) and isinstance(stages[1], RBM)
    # bottom: two copies of v (h1 gets 2 W^T v); middle: plain, halved; top: two copies of h3
    assert [s.copies for s in stages] == [(2, 1), (1, 1), (1, 2)]
    assert [s.layer_sizes for s in stages] == [(12, 3), (3, 2), (2, 6)]
    assert [model.weight_factor(k) for k in range(3)] == [1.0, 0.5, 1.0]
    for s in stages:  # started tied
        w = s.weights.reshape(s.copies[0], s.unit_sizes[0], s.copies[1], s.unit_sizes[1])
        for i in range(s.copies[0]):
            for j in range(s.copies[1]):
                assert torch.equal(w[i, :, j, :], w[0, :, 0, :])
    assert torch.equal(stages[2].gamma, torch.full((6,), 0.7))
    assert DBM(6, [4]).stage_copies(0) == (1, 1)  # one hidden layer: a plain RBM
    # the field a copy-tied stage sends up is the doubled one
    v = toy_data(5).float()
    w = stages[0].tied_parameters()["weights"]
    field = stages[0].field(1, [torch.cat([v, v], 1), None])
    torch.testing.assert_close(field, 2 * v @ w + stages[0].hidden_bias)


@pytest.mark.parametrize("name", MODELS)
def test_pretraining_keeps_ties_and_composes_the_model(name):
    model = MODELS[name](dtype=torch.float64, seed=1)
    trainer = Trainer(model, config(pretrain_epochs=3))
    pre = trainer.pretraining
    stages = pre.stages
    pre.run(toy_data())
    assert pre.done and pre.stage == len(stages)
    assert [r["stage"] for r in pre.history] == [k + 1 for k in range(len(stages)) for _ in "abc"]
    for k, s in enumerate(stages):
        (cl, cu), (nl, nu) = s.copies, s.unit_sizes
        w = s.weights.reshape(cl, nl, cu, nu)
        assert all(torch.equal(w[i, :, j, :], w[0, :, 0, :]) for i in range(cl) for j in range(cu))
        if cu > 1:
            assert torch.equal(s.hidden_bias[:nu], s.hidden_bias[nu:])
            if s.layers[1].quantum:
                assert torch.equal(s.gamma[:nu], s.gamma[nu:])
        if cl > 1:
            assert torch.equal(s.visible_bias[:nl], s.visible_bias[nl:])
        tied = s.tied_parameters()
        assert torch.equal(model.weights(k + 1), tied["weights"] * model.weight_factor(k))
        upper = model.layers[k + 1]
        bias = tied["hidden_bias"]
        if k + 1 < len(stages):
            bias = (bias + stages[k + 1].tied_parameters()["visible_bias"]) / 2
        assert torch.equal(model.parameters()[f"{upper.name}_bias"], bias)
        if upper.quantum:
            assert torch.equal(model.parameters()[f"{upper.name}_gamma"], tied["hidden_gamma"])
    assert torch.equal(
        model.parameters()["visible_bias"], stages[0].tied_parameters()["visible_bias"]
    )


@pytest.mark.parametrize("name", MODELS)
def test_pretrained_initialisation_fits_better_than_the_random_one(name):
    """Exact log-likelihood by enumeration, after pre-training only (no DO-EM step): at least
    1 nat above the random initialisation (about -4.16, near uniform) on data of entropy about
    2.3 nats. A composition that broke the stages (no halving, swapped biases, the wrong copy
    doubled) or stages that did not learn would miss this."""
    data = toy_data()
    random_init = MODELS[name](dtype=torch.float64, seed=1)
    before = float(random_init.log_prob(data, method="exact").mean())
    model = MODELS[name](dtype=torch.float64, seed=1)
    Trainer(model, config(pretrain_epochs=20)).pretraining.run(data)
    after = float(model.log_prob(data, method="exact").mean())
    assert after > before + 1.0, (before, after)


def _run(tmp_path, sub, model, cfg, data, stop_after=None):
    trainer = Trainer(model, cfg, run_dir=tmp_path / sub)
    trainer.fit(data, stop_after=stop_after)
    return trainer


@pytest.mark.parametrize("stop", [2, 4, 7])
def test_resume_mid_pretraining_is_bit_for_bit(tmp_path, stop):
    """Stop after 2 (inside stage 1), 4 (inside stage 2) or 7 epochs (pre-training done and one
    DO-EM epoch), resume from the checkpoint: the uninterrupted run's parameters exactly, and a
    finished pre-training is not run again."""
    data = toy_data()
    cfg = config(epochs=3, pretrain_epochs=3, scheme="unbiased")
    full = _run(tmp_path, "full", MODELS["qidbm-h1"](seed=2), cfg, data)
    _run(tmp_path, "part", MODELS["qidbm-h1"](seed=2), cfg, data, stop_after=stop)
    state = torch.load(tmp_path / "part" / "checkpoint.pt", weights_only=False)
    assert state["pretraining"]["done"] == (stop >= 6)
    resumed = Trainer(MODELS["qidbm-h1"](seed=2), cfg, run_dir=tmp_path / "part")
    resumed.load_checkpoint(state, "checkpoint.pt")
    n_records = len(resumed.pretraining.history)
    resumed.fit(data)
    for name, value in full.model.parameters().items():
        assert torch.equal(value, resumed.model.parameters()[name]), name
    if stop >= 6:
        assert len(resumed.pretraining.history) == n_records == 6
    untimed = [
        [{k: v for k, v in r.items() if k != "time_s"} for r in t.pretraining.history]
        for t in (resumed, full)
    ]
    assert untimed[0] == untimed[1]
    saved = json.loads((tmp_path / "part" / "pretrain.json").read_text())
    assert saved["done"] and len(saved["history"]) == 6


def test_stop_request_mid_stage_checkpoints_and_resumes(tmp_path):
    data = toy_data()
    cfg = config(epochs=1, pretrain_epochs=2, batch_size=50)
    full = _run(tmp_path, "full", MODELS["dbm"](seed=4), cfg, data)
    trainer = Trainer(MODELS["dbm"](seed=4), cfg, run_dir=tmp_path / "part")
    stage_trainer = trainer.pretraining._new_trainer(0)
    trainer.pretraining._trainer = stage_trainer  # so that the stop reaches a running stage
    calls = {"n": 0}
    original = stage_trainer.train_step

    def step_then_stop(*args, **kw):
        out = original(*args, **kw)
        calls["n"] += 1
        if calls["n"] == 3:
            trainer.request_stop()
        return out

    stage_trainer.train_step = step_then_stop
    with pytest.raises(TrainingInterrupted):
        trainer.fit(data)
    state = torch.load(tmp_path / "part" / "checkpoint.pt", weights_only=False)
    assert state["pretraining"]["trainer"]["step"] == 3
    resumed = Trainer(MODELS["dbm"](seed=4), cfg, run_dir=tmp_path / "part")
    resumed.load_checkpoint(state, "checkpoint.pt")
    resumed.fit(data)
    for name, value in full.model.parameters().items():
        assert torch.equal(value, resumed.model.parameters()[name]), name


@pytest.mark.parametrize("scheme", ["mean-field", "unbiased"])
def test_dbm_equals_qidbm_at_fixed_zero_gamma_with_pretraining(scheme):
    data = toy_data()
    cfg = config(epochs=2, pretrain_epochs=3, scheme=scheme, init_visible_from_data=True)
    dbm = DBM(6, [3, 3], seed=5)
    qidbm = QiDBM(6, [3, 3], quantum_layers=[1], gamma_init=0.0, learn_gamma=False, seed=5)
    Trainer(dbm, cfg).fit(data)
    Trainer(qidbm, cfg).fit(data)
    for name, value in dbm.parameters().items():
        assert torch.equal(value, qidbm.parameters()[name]), name
    assert torch.equal(qidbm.parameters()["hidden1_gamma"], torch.zeros(3))


def test_estimator_api_and_bad_settings():
    data = toy_data()
    model = DBM(6, [3, 3], n_epochs=1, batch_size=20, pretrain_epochs=2, seed=0).fit(data)
    assert model.get_params()["pretrain_epochs"] == 2
    assert model._trainer.pretraining.done
    with pytest.raises(ValueError, match="pretrain_epochs applies to deep models"):
        Trainer(RBM(6, 3), config(pretrain_epochs=1))
    with pytest.raises(ConfigError, match="pretrain_epochs must be an int >= 0"):
        config(pretrain_epochs=-1)
    with pytest.raises(ConfigError, match="pretrain_learning_rate must be > 0"):
        config(pretrain_learning_rate=0.0)
    with pytest.raises(ConfigError, match="pretrain_epochs"):
        resolve_config(None, {"model": "dbm", "pretrain_epochs": "3"})
    with pytest.raises(ConfigError, match="applies to deep models"):
        resolve_config(None, {"model": "qrbm", "pretrain_epochs": 3})


def test_cli_pretrains_records_it_and_resumes_without_redoing_it(tmp_path):
    from qdoem.cli import main

    run = tmp_path / "run"
    args = ["train", "--model", "qidbm", "--hidden-sizes", "5", "4", "--quantum-layers", "1"]
    args += ["--dataset", "bars_and_stripes", "--batch-size", "7", "--no-progress"]
    args += ["--pretrain-epochs", "2", "--pretrain-lr", "0.1", "--epochs", "2"]
    assert main([*args, "--run-dir", str(run), "--stop-after", "3"]) == 0
    saved = json.loads((run / "config.json").read_text())
    assert saved["pretrain_epochs"] == 2 and saved["pretrain_learning_rate"] == 0.1
    record = json.loads((run / "pretrain.json").read_text())
    assert not record["done"] and [r["stage"] for r in record["history"]] == [1, 1, 2]
    assert main(["train", "--run-dir", str(run), "--resume", "--no-progress"]) == 0
    record = json.loads((run / "pretrain.json").read_text())
    assert record["done"] and [r["stage"] for r in record["history"]] == [1, 1, 2, 2]
    state = torch.load(run / "checkpoint.pt", weights_only=False)
    assert state["epoch"] == 2 and state["pretraining"]["done"]
    assert state["pretraining"]["stages"] == [] and state["pretraining"]["trainer"] is None


def test_pretraining_is_not_added_to_a_started_run(tmp_path):
    data = toy_data()
    plain = _run(tmp_path, "plain", MODELS["dbm"](seed=0), config(epochs=1), data)
    trainer = Trainer(MODELS["dbm"](seed=0), config(epochs=2, pretrain_epochs=1))
    with pytest.raises(CheckpointError, match="cannot be added once DO-EM has started"):
        trainer.load_checkpoint(plain.state_dict(), "checkpoint.pt")
