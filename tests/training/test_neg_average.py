"""Negative statistics averaged over sweeps (``neg_average_from``, Liao et al.'s GRBM training).

- On a tiny RBM, one trainer step's update equals ``lr * (data term - mean over sweeps j..K-1 of
  the model term)``, the model terms computed by hand (numpy) from the same chain replayed with
  the step's generator; the average differs from the last sweep's estimate, and averaging the
  last sweep only gives the default estimate.
- A QGRBM at Gamma != 0 trains with it through the same trainer (every model does).
- Bad values are refused naming the field and the value.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from qdoem.errors import ConfigError
from qdoem.estimators import ClosedFormEstimator
from qdoem.models import QGRBM, RBM
from qdoem.sampling import sweep
from qdoem.seeding import HOST, derive_seed, seeded_generator
from qdoem.training import TrainConfig, Trainer

K = 5
LR = 0.5


def _model():
    return RBM(3, 2, seed=4, weight_scale=1.0, dtype=torch.float64)


def _config(neg_average_from):
    return TrainConfig(
        epochs=1,
        batch_size=6,
        learning_rate=LR,
        momentum=0.0,
        weight_decay=0.0,
        cd_k=K,
        chain_init="noise",
        neg_average_from=neg_average_from,
        init_visible_from_data=False,
        seed=7,
    )


def _data():
    return torch.tensor(
        [[1, 0, 1], [0, 0, 1], [1, 1, 1], [0, 1, 0], [1, 0, 0], [1, 1, 0]], dtype=torch.float64
    )


def _update(neg_average_from):
    model = _model()
    before = {k: t.clone() for k, t in model.parameters().items()}
    Trainer(model, _config(neg_average_from)).train_step(_data(), LR, 0.0)
    return {k: (t - before[k]).numpy() / LR for k, t in model.parameters().items()}


def _replayed_chain():
    """The visible values after each of the step's K sweeps (epoch 0, step 0): the trainer's
    generator, the noise start and the same kernel."""
    model = _model()
    gen = seeded_generator(derive_seed(7, 0, 0, HOST))
    state = model.chain_state(model.layers[0].noise(6, gen, "cpu", torch.float64), gen)
    visits = []
    for _ in range(K):
        sweep(model, state, "exact", ClosedFormEstimator(), gen)
        visits.append(state.values[0].numpy().copy())
    return visits


def _by_hand(v, params):
    """Sufficient statistics of an RBM phase with the hidden layer Rao-Blackwellised."""
    w, b = params["weights"].numpy(), params["hidden_bias"].numpy()
    n = 1.0 / (1.0 + np.exp(-(b + v @ w)))
    return {"weights": v.T @ n / len(v), "visible_bias": v.mean(0), "hidden_bias": n.mean(0)}


@pytest.mark.parametrize("first", [0, 2])
def test_update_is_the_data_term_minus_the_sweep_average(first):
    params = _model().parameters()
    data = _by_hand(_data().numpy(), params)
    sweeps = [_by_hand(v, params) for v in _replayed_chain()[first:]]
    for name, update in _update(first).items():
        model_term = np.mean([s[name] for s in sweeps], axis=0)
        np.testing.assert_allclose(update, data[name] - model_term, rtol=0, atol=1e-12)
    # The default reads the last sweep only; the average is a different estimate.
    last = _by_hand(_replayed_chain()[-1], params)
    default = _update(None)
    for name, update in default.items():
        np.testing.assert_allclose(update, data[name] - last[name], rtol=0, atol=1e-12)
    assert max(np.abs(_update(first)[n] - default[n]).max() for n in default) > 1e-3


def test_averaging_the_last_sweep_only_is_the_default():
    for name, value in _update(K - 1).items():
        np.testing.assert_allclose(value, _update(None)[name], rtol=0, atol=1e-12)


def test_quantum_model_trains_with_averaged_statistics():
    data = torch.randn(64, 3, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    model = QGRBM(
        3,
        4,
        gamma_init=1.0,
        seed=0,
        dtype=torch.float64,
        cd_k=6,
        neg_average_from=2,
        chain_init="noise",
        batch_size=16,
        n_epochs=2,
        momentum=0.0,
        sampler="gibbs-langevin",
    ).fit(data)
    assert len(model.history_) == 2 and 0.0 < model.history_[-1]["accept_rate"] <= 1.0
    assert all(torch.isfinite(t).all() for t in model.parameters().values())


@pytest.mark.parametrize(
    ("value", "match"),
    [
        (5, r"neg_average_from must be None or an int in \[0, cd_k\) = \[0, 5\).*got 5"),
        (-1, r"neg_average_from must be None or an int in \[0, cd_k\).*got -1"),
        (1.5, r"neg_average_from must be None or an int.*got 1.5"),
        (True, r"neg_average_from must be None or an int.*got True"),
    ],
)
def test_bad_values_are_refused(value, match):
    with pytest.raises(ConfigError, match=match):
        TrainConfig(cd_k=5, neg_average_from=value)


def test_refused_for_the_unbiased_scheme():
    with pytest.raises(ConfigError, match="neg_average_from applies to scheme 'mean-field'"):
        TrainConfig(cd_k=5, neg_average_from=0, scheme="unbiased")
