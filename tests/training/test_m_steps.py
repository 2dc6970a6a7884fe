"""``m_steps``: one E-step of a mini-batch serves several M-step gradient steps."""

import json

import pytest

from qdoem.cli import main
from qdoem.data import load_dataset
from qdoem.errors import ConfigError
from qdoem.estimators import BackendEstimator
from qdoem.models import QRBM, QiDBM
from qdoem.training import TrainConfig, Trainer

DATA = load_dataset("bars_and_stripes", rows=3, cols=3).data.float()


def _trainer(model, m_steps, shots=None, **options):
    config = TrainConfig(
        epochs=1, batch_size=7, learning_rate=0.1, m_steps=m_steps, seed=3, **options
    )
    return Trainer(model, config, estimator=BackendEstimator("exact", shots=shots, seed=3))


class _Spy:
    """Counts a model's E-steps and gradient steps, and keeps each gradient's data term."""

    def __init__(self, model):
        self.e_steps, self.pos = 0, []
        positive, gradient = model.positive_phase, model.gradient

        def counted_positive(*args, **kw):
            self.e_steps += 1
            return positive(*args, **kw)

        def counted_gradient(pos, neg):
            self.pos.append(pos)
            return gradient(pos, neg)

        model.positive_phase, model.gradient = counted_positive, counted_gradient


@pytest.mark.parametrize("persistent", [False, True])
def test_one_e_step_serves_m_gradient_steps(persistent):
    model = QRBM(9, 4, seed=1)
    spy = _Spy(model)
    trainer = _trainer(model, 3, persistent=persistent)
    trainer.train_step(DATA[:7], 0.1)
    assert spy.e_steps == 1 and len(spy.pos) == 3
    assert spy.pos[0] is spy.pos[1] is spy.pos[2]  # the data term is theta_old's
    assert trainer.step == 1  # steps count E-steps (mini-batches)


def test_backend_calls_one_e_step_per_batch():
    """CD-1 from the data with shots: 2 calls per step at m_steps=1 (the E-step, one of whose
    Z shots starts the chain, and the model term); each further M-step restarts the chain at
    the data under the new theta (one call for its hidden shot and statistics) and reads the
    model term (one call)."""
    calls = {}
    for m in (1, 3):
        trainer = _trainer(QRBM(9, 4, seed=1), m, shots=100)
        trainer.train_step(DATA[:7], 0.1)
        calls[m] = trainer.estimator.calls_
    assert calls == {1: 2, 3: 2 + 2 * 2}


def test_m_steps_move_parameters_further_than_one():
    moved = {}
    for m in (1, 4):
        model = QRBM(9, 4, seed=1)
        before = model.weights.clone()
        _trainer(model, m).train_step(DATA[:7], 0.1)
        moved[m] = float((model.weights - before).norm())
    assert moved[4] > 2 * moved[1] > 0


def test_unbiased_scheme_keeps_the_data_estimate():
    model = QiDBM(9, [4, 4], quantum_layers=[1], seed=0)
    spy = _Spy(model)
    trainer = _trainer(model, 2, scheme="unbiased", cd_k=1)
    trainer.train_step(DATA[:7], 0.1)
    assert len(spy.pos) == 2 and spy.pos[0] is spy.pos[1]
    assert trainer._coupling["estimates"] == 3  # one data estimate, two model estimates


def test_m_steps_must_be_a_positive_int():
    with pytest.raises(ConfigError, match="m_steps"):
        TrainConfig(m_steps=0)
    with pytest.raises(ConfigError, match="m_steps"):
        TrainConfig(m_steps=1.5)


def test_train_cli_passes_every_flag(tmp_path):
    """--m-steps, --clip-norm and --chain-init reach the run's config (all flags do)."""
    run = tmp_path / "run"
    args = ["train", "--dataset", "bars_and_stripes", "--n-hidden", "3", "--epochs", "1"]
    args += ["--m-steps", "2", "--clip-norm", "5", "--chain-init", "noise", "--no-progress"]
    assert main([*args, "--run-dir", str(run)]) == 0
    cfg = json.loads((run / "config.json").read_text())
    assert (cfg["m_steps"], cfg["clip_norm"], cfg["chain_init"]) == (2, 5.0, "noise")


def test_every_train_flag_has_a_config_key():
    from qdoem.cli.train import _flag_keys
    from qdoem.experiment import DEFAULTS

    unknown = [k for k in _flag_keys() if k not in DEFAULTS]
    assert not unknown


def test_more_m_steps_learn_more_per_e_step():
    """At an equal number of E-steps (the backend calls that carry the data), three M-steps
    per E-step reach a lower exact NLL than one on 3x3 Bars-and-Stripes (measured here:
    about 5.2 against 5.9 nats after 20 epochs, from 6.25)."""
    data = DATA.repeat(4, 1)
    nll = {}
    for m in (1, 3):
        model = QRBM(9, 6, seed=0, weight_scale=0.1)
        config = TrainConfig(epochs=20, batch_size=8, learning_rate=0.5, m_steps=m, seed=0)
        Trainer(model, config).fit(data)
        nll[m] = float(-model.log_prob(data, method="exact").mean())
    assert nll[3] < nll[1] - 0.3
    assert nll[1] < 6.1
