"""The Gibbs-Langevin kernel (:mod:`qdoem.sampling.langevin`) against closed forms.

- The drift's field-gradient ``d log_diagonal / dc`` against central differences of
  :func:`qdoem.layers.qubit.log_diagonal`.
- Stationarity in one and two visible dimensions at Gamma = 0 and Gamma = 1: the histogram of
  long chains against the closed-form density (chi-square, cells integrated numerically), for a
  small and a large step size (every move is MH-adjusted, so both are exact); an unadjusted
  Langevin chain with the large step fails the same test, so the test can fail.
- GRBM and QGRBM with Gamma fixed at 0 train and sample bit for bit alike with the new options.
- Bad settings give errors naming the field and the value.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy import integrate, stats

from qdoem.layers.qubit import log_diagonal, log_diagonal_field_grad
from qdoem.models import GRBM, QGRBM, RBM
from qdoem.sampling import EXACT_SAMPLERS, SAMPLERS
from qdoem.sampling.langevin import langevin_step_sizes
from tests.models.test_grbm import log_density, make, shifted_density


def test_field_gradient_matches_central_differences():
    c = torch.linspace(-30.0, 30.0, 601, dtype=torch.float64)[:, None].expand(601, 4).clone()
    gamma = torch.tensor([0.0, 1e-3, 0.7, 3.0], dtype=torch.float64)
    h = 1e-6
    for z_value in (0.0, 1.0):
        z = torch.full_like(c, z_value)
        numeric = (log_diagonal(c + h, gamma, z) - log_diagonal(c - h, gamma, z)) / (2 * h)
        ours = log_diagonal_field_grad(c, gamma, z)
        torch.testing.assert_close(ours, numeric, rtol=0, atol=1e-7)
    assert (
        float(log_diagonal_field_grad(c, torch.zeros(4, dtype=torch.float64), z).abs().max())
        < 1e-14
    )


def test_cosine_step_sizes():
    assert langevin_step_sizes(2.0, 4) == pytest.approx(
        [2.0, 1.0 + math.cos(math.pi / 4), 1.0, 1.0 - math.cos(math.pi / 4)]
    )


def test_registered_as_an_exact_sampler():
    assert "gibbs-langevin" in SAMPLERS and "gibbs-langevin" in EXACT_SAMPLERS


def _unadjusted(model, n, steps, seed):
    """Gibbs with K unadjusted Langevin moves of v (Liao et al.'s moves without the MH test), at
    Gamma = 0: biased for a large step. The test's negative control."""
    gen = torch.Generator().manual_seed(seed)
    p = model.parameters()
    var = torch.exp(p["visible_log_var"])
    eta = model.langevin_eta * float(var.mean())
    v = torch.randn(n, model.n_visible, generator=gen, dtype=torch.float64)
    for _ in range(steps):
        c = p["hidden_bias"] + (v / var) @ p["weights"]
        h = (torch.rand(c.shape, generator=gen, dtype=torch.float64) < torch.sigmoid(c)).double()
        mean = p["visible_mu"] + h @ p["weights"].T
        for step in langevin_step_sizes(eta, model.langevin_steps):
            noise = torch.randn(v.shape, generator=gen, dtype=torch.float64)
            v = v + step * (mean - v) / var + math.sqrt(2 * step) * noise
    return v


def _cells(x: np.ndarray, per_axis: int) -> list[np.ndarray]:
    edges = []
    for d in range(x.shape[1]):
        e = np.quantile(x[:, d], np.linspace(0, 1, per_axis + 1))
        e[0], e[-1] = -np.inf, np.inf
        edges.append(e)
    return edges


def _chi_square_pvalue(model, x: np.ndarray) -> float:
    """Chi-square of the sample ``x`` (rows) against the model's density, on quantile cells:
    20 in one dimension (cell masses by quadrature), 6 x 6 in two (a fine grid)."""
    n = x.shape[0]
    f, shift = shifted_density(model)
    if model.n_visible == 1:
        (edges,) = _cells(x, 20)
        mass = np.array(
            [
                integrate.quad(f, a, b, limit=200)[0]
                for a, b in zip(edges[:-1], edges[1:], strict=True)
            ]
        )
        observed = np.histogram(x[:, 0], edges)[0]
    else:
        edges = _cells(x, 6)
        mu = model.visible_mean.numpy()
        sd = np.sqrt(model.visible_var.numpy())
        axes = [np.linspace(mu[d] - 12 * sd[d] - 5, mu[d] + 12 * sd[d] + 5, 1201) for d in (0, 1)]
        gx, gy = np.meshgrid(*axes, indexing="ij")
        points = np.stack([gx.ravel(), gy.ravel()], 1)
        density = np.exp(log_density(model, points) - shift)
        ix = np.searchsorted(edges[0], points[:, 0]) - 1
        iy = np.searchsorted(edges[1], points[:, 1]) - 1
        mass = np.bincount(ix * 6 + iy, weights=density, minlength=36)
        observed = np.histogram2d(x[:, 0], x[:, 1], edges)[0].ravel()
    expected = n * mass / mass.sum()
    return float(stats.chisquare(observed, expected).pvalue)


def _configured(n_visible, gamma, eta, seed=0):
    model = make(n_visible, 3, gamma, scale=1.0, seed=seed)
    return QGRBM(
        n_visible,
        3,
        gamma_init=gamma,
        seed=seed,
        dtype=torch.float64,
        langevin_steps=10,
        langevin_eta=eta,
    ), model


@pytest.mark.parametrize("n_visible", [1, 2])
@pytest.mark.parametrize("gamma", [0.0, 1.0])
@pytest.mark.parametrize("eta", [0.1, 2.0])
def test_gibbs_langevin_histogram_matches_the_density(n_visible, gamma, eta):
    model, reference = _configured(n_visible, gamma, eta)
    model.load_state_dict(reference.state_dict())
    x = model.sample(10000, sampler="gibbs-langevin", steps=100, seed=1).numpy()
    assert _chi_square_pvalue(model, x) > 1e-3


def test_unadjusted_langevin_fails_the_same_test():
    """Without the MH test a step of 2 sigma^2 overshoots (the chain is not even stable for
    ``eta > 2 sigma^2``): the histogram test rejects it."""
    model, reference = _configured(1, 0.0, 2.0)
    model.load_state_dict(reference.state_dict())
    x = _unadjusted(model, 10000, 100, seed=1).numpy()
    assert np.isfinite(x).all()
    assert _chi_square_pvalue(model, x) < 1e-6


def test_moves_are_accepted_at_a_moderate_rate():
    model, reference = _configured(2, 1.0, 0.1)
    model.load_state_dict(reference.state_dict())
    from qdoem.estimators import ClosedFormEstimator
    from qdoem.sampling import ChainState, sweep

    gen = torch.Generator().manual_seed(0)
    state = ChainState([torch.randn(500, 2, generator=gen, dtype=torch.float64), None])
    for _ in range(5):
        sweep(model, state, "gibbs-langevin", ClosedFormEstimator(), gen)
    assert state.mh_proposed == 5 * 10 * 500
    assert 0.5 < float(state.mh_accepted) / state.mh_proposed < 1.0


def test_grbm_equals_qgrbm_at_gamma_zero_with_langevin_and_averaging():
    data = torch.randn(200, 4, generator=torch.Generator().manual_seed(0)) * 0.7 + 0.2
    common = dict(
        seed=3,
        n_epochs=2,
        batch_size=50,
        cd_k=4,
        neg_average_from=1,
        sampler="gibbs-langevin",
        langevin_steps=3,
        langevin_eta=0.5,
        chain_init="noise",
        clip_norm=1.0,
        learning_rate=0.05,
        momentum=0.0,
    )
    grbm = GRBM(4, 5, **common).fit(data)
    qgrbm = QGRBM(4, 5, gamma_init=0.0, learn_gamma=False, **common).fit(data)
    for name, value in grbm.parameters().items():
        assert torch.equal(value, qgrbm.parameters()[name]), name
    assert grbm.history_[-1]["accept_rate"] == qgrbm.history_[-1]["accept_rate"]
    options = dict(steps=5, sampler="gibbs-langevin")
    assert torch.equal(grbm.sample(10, **options), qgrbm.sample(10, **options))
    mean_g = grbm.sample(10, conditional_mean=True, **options)
    assert torch.equal(mean_g, qgrbm.sample(10, conditional_mean=True, **options))


def test_bad_settings_name_the_field_and_value():
    with pytest.raises(ValueError, match="langevin_steps must be a positive int, got 0"):
        GRBM(3, 2, langevin_steps=0)
    with pytest.raises(ValueError, match="langevin_steps must be a positive int, got 2.5"):
        QGRBM(3, 2, langevin_steps=2.5)
    with pytest.raises(ValueError, match="langevin_eta must be a finite number > 0, got -1"):
        GRBM(3, 2, langevin_eta=-1)
    with pytest.raises(ValueError, match="langevin_eta must be a finite number > 0, got nan"):
        GRBM(3, 2, langevin_eta=float("nan"))
    with pytest.raises(ValueError, match="sampler 'gibbs-langevin' needs Gaussian visible units"):
        RBM(3, 2).sample(4, sampler="gibbs-langevin", steps=1)
    with pytest.raises(ValueError, match="sampler must be one of"):
        GRBM(3, 2, sampler="langevin")
