"""The backend estimator: circuit statistics agree with the closed form and train the model."""

from __future__ import annotations

import pytest
import torch

from backends import get_backend
from qdoem.estimators import BackendEstimator
from qdoem.models import QRBM


def _model():
    return QRBM(6, 3, gamma_init=0.7, weight_scale=0.5, seed=3)


def test_exact_backend_reproduces_closed_form():
    model = _model()
    v = (torch.rand(8, 6, generator=torch.Generator().manual_seed(1)) < 0.5).float()
    closed = model.e_step(v)[0]
    estimator = BackendEstimator(get_backend("exact"), shots=None)
    via_backend = model.e_step(v, estimator)[0]
    assert torch.allclose(via_backend["mean"], closed["mean"], atol=1e-6)
    assert torch.allclose(via_backend["x"], closed["x"], atol=1e-6)
    assert estimator.calls_ == 1 and estimator.units_ == 24


def test_aer_shots_within_standard_errors():
    model = _model()
    v = (torch.rand(10, 6, generator=torch.Generator().manual_seed(2)) < 0.5).float()
    closed = model.e_step(v)[0]
    est = model.e_step(v, BackendEstimator("aer", shots=4000, seed=5))[0]
    # <n> has std error <= 0.5/sqrt(4000) ~ 0.008, <X> twice that: 5 sigma bounds.
    assert (est["mean"] - closed["mean"]).abs().max() < 0.04
    assert (est["x"] - closed["x"]).abs().max() < 0.08
    assert not torch.equal(est["mean"], closed["mean"])  # it really sampled


def test_training_through_a_backend_lowers_nll():
    from qdoem.data import load_dataset

    # Shot-noisy statistics (ideal Bernoulli shots of the exact backend) still train. Over
    # 60 epochs the NLL fell by 1.9 to 2.3 nats for seeds 0-4 (30 epochs: 0.6 to 1.2).
    data = load_dataset("bars_and_stripes", rows=3, cols=3).data.float().repeat(4, 1)  # 56 rows
    model = QRBM(
        9, 6, seed=0, learning_rate=0.5, batch_size=8, n_epochs=60, weight_scale=0.1,
        backend="exact", shots=200,
    )  # fmt: skip
    before = -model.log_prob(data, method="exact").mean()
    model.fit(data)
    after = -model.log_prob(data, method="exact").mean()
    assert after < before - 1.0
    # One call per step for the data E-step (its shots also start the chain) and one for the
    # statistics at the end of the CD-1 chain.
    assert model.estimator_.calls_ == 2 * 7 * 60


def test_bad_backend():
    with pytest.raises(ValueError, match="backend must be"):
        BackendEstimator(object())
    with pytest.raises(ValueError, match="shots must be a positive integer"):
        BackendEstimator("exact", shots=0)
