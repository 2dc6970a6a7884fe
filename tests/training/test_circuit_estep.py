"""The circuit E-step seam: backend statistics agree with the closed form and train the model."""

from __future__ import annotations

import torch

from backends import get_backend
from qdoem.models import QRBM
from qdoem.training.circuit_estep import BackendEStep


def _model():
    torch.manual_seed(0)
    model = QRBM(6, 3, gamma_init=0.7, weight_scale=0.5, seed=3)
    return model


def test_exact_backend_reproduces_closed_form():
    model = _model()
    v = (torch.rand(8, 6, generator=torch.Generator().manual_seed(1)) < 0.5).float()
    closed = model.latent_statistics(v)
    model.latent_backend = BackendEStep(get_backend("exact"), shots=None)
    via_backend = model.latent_statistics(v)
    assert torch.allclose(via_backend["n"], closed["n"], atol=1e-6)
    assert torch.allclose(via_backend["x"], closed["x"], atol=1e-6)
    assert model.latent_backend.calls_ == 1 and model.latent_backend.units_ == 24


def test_aer_shots_within_standard_errors():
    model = _model()
    v = (torch.rand(10, 6, generator=torch.Generator().manual_seed(2)) < 0.5).float()
    closed = model.latent_statistics(v)
    model.latent_backend = BackendEStep("aer", shots=4000, seed=5)
    est = model.latent_statistics(v)
    # <n> has std error <= 0.5/sqrt(4000) ~ 0.008, <X> twice that: 5 sigma bounds.
    assert (est["n"] - closed["n"]).abs().max() < 0.04
    assert (est["x"] - closed["x"]).abs().max() < 0.08
    assert not torch.equal(est["n"], closed["n"])  # it really sampled


def test_training_through_the_seam_lowers_nll():
    from qdoem.data import load_dataset

    # Shot-noisy statistics (ideal Bernoulli shots of the exact backend) still train.
    data = load_dataset("bars_and_stripes", rows=3, cols=3).data.float().repeat(4, 1)  # 56 rows
    model = QRBM(9, 6, seed=0, learning_rate=0.5, batch_size=8, n_epochs=30, weight_scale=0.1)
    model.latent_backend = BackendEStep("exact", shots=200, seed=1)
    before = -model.log_prob(data, method="exact").mean()
    model.fit(data)
    after = -model.log_prob(data, method="exact").mean()
    assert after < before - 1.0
    assert model.latent_backend.calls_ == 2 * 7 * 30  # data E-step + CD-1 negative phase


def test_bad_backend():
    import pytest

    with pytest.raises(ValueError, match="backend must be"):
        BackendEStep(object())
    with pytest.raises(ValueError, match="shots must be a positive integer"):
        BackendEStep("exact", shots=0)
