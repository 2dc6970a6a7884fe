"""QGRBM and GRBM: Gaussian visible units against dense and numerical oracles.

- The unnormalised density ``log p*(v)`` against ``-(v - mu)^2 / (2 sigma^2) + log Tr exp(-H_L(v))``
  with ``H_L(v)`` built as a dense matrix of the hidden qubits and exponentiated by scipy.
- The E-step statistics against autograd of ``log p*(v)`` (Feynman-Hellmann: the derivative of
  ``log Tr exp(-H)`` is the Gibbs expectation of ``d(-H)``), which checks the mean and variance
  terms of the Gaussian layer.
- In one and two visible dimensions, ``log Z`` by numerical integration of the closed form, AIS
  against it, and the exact samplers' histograms (``exact``, ``twin-mh``) against the density
  (chi-square), at Gamma = 0 and Gamma = 1; the uncorrected ("plain") chain fails the same
  test at Gamma != 0.
- GRBM equals QGRBM with Gamma fixed at 0 bit for bit, and a small model trained on a 2-D
  Gaussian mixture improves its AIS log-likelihood.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy import integrate, stats
from scipy.linalg import expm

from qdoem.models import GRBM, QGRBM, build_model
from qdoem.sampling import ais_log_partition, raise_log_prob

X = np.array([[0.0, 1.0], [1.0, 0.0]])
N = np.diag([0.0, 1.0])


def make(n_visible, n_hidden, gamma, *, seed=0, scale=0.8, **kw):
    model = QGRBM(
        n_visible, n_hidden, gamma_init=gamma, seed=seed, dtype=torch.float64, weight_scale=scale
    )
    rng = np.random.default_rng(seed)
    p = model.parameters()
    p["visible_mu"].copy_(torch.from_numpy(rng.normal(scale=0.5, size=n_visible)))
    p["visible_log_var"].copy_(torch.from_numpy(rng.normal(scale=0.3, size=n_visible)))
    p["hidden_bias"].copy_(torch.from_numpy(rng.normal(scale=0.5, size=n_hidden)))
    if gamma:
        p["hidden_gamma"].copy_(torch.from_numpy(gamma * rng.uniform(0.5, 1.5, size=n_hidden)))
    return model


def dense_log_density(model, v: np.ndarray) -> float:
    """``-(v - mu)^2 / (2 sigma^2) + log Tr exp(c(v) . n + Gamma . X)`` from matrices."""
    p = {k: t.detach().numpy() for k, t in model.parameters().items()}
    var = np.exp(p["visible_log_var"])
    c = p["hidden_bias"] + p["weights"].T @ (v / var)
    gamma = p.get("hidden_gamma", np.zeros_like(c))
    h = len(c)
    minus_h = np.zeros((2**h, 2**h))
    for j in range(h):
        ops = [np.eye(2)] * h
        ops[j] = c[j] * N + gamma[j] * X
        term = ops[0]
        for op in ops[1:]:
            term = np.kron(term, op)
        minus_h += term
    return float(-((v - p["visible_mu"]) ** 2 / (2 * var)).sum() + np.log(np.trace(expm(minus_h))))


def log_density(model, v: np.ndarray) -> np.ndarray:
    return model.unnormalized_log_prob(torch.as_tensor(v, dtype=torch.float64)).numpy()


def shifted_density(model):
    """``(f, shift)``: ``f(*v) = exp(log p*(v) - shift)`` for quadrature, ``shift = log p*(mu)``."""
    shift = float(log_density(model, model.visible_mean.numpy()[None, :])[0])

    def f(*v):
        return math.exp(float(log_density(model, np.array([v]))[0]) - shift)

    return f, shift


def numerical_log_z(model) -> float:
    """``log int exp(log p*(v)) dv`` by quadrature over +-12 standard deviations."""
    mu = model.visible_mean.numpy()
    sd = np.sqrt(model.visible_var.numpy())
    lo, hi = mu - 12 * sd - 5, mu + 12 * sd + 5  # the coupling shifts modes by at most |W| / var
    f, shift = shifted_density(model)
    if model.n_visible == 1:
        value, _ = integrate.quad(f, lo[0], hi[0], epsabs=1e-12, epsrel=1e-10, limit=200)
    else:
        value, _ = integrate.dblquad(
            lambda y, x: f(x, y), lo[0], hi[0], lo[1], hi[1], epsabs=1e-10, epsrel=1e-8
        )
    return shift + math.log(value)


@pytest.mark.parametrize("gamma", [0.0, 1.0])
def test_unnormalised_density_matches_dense_hamiltonian(gamma):
    model = make(3, 3, gamma)
    v = np.random.default_rng(1).normal(size=(6, 3)) * 1.5
    ours = log_density(model, v)
    dense = [dense_log_density(model, row) for row in v]
    np.testing.assert_allclose(ours, dense, rtol=0, atol=1e-10)


@pytest.mark.parametrize("gamma", [0.0, 1.0])
def test_e_step_statistics_are_the_gradient_of_the_log_density(gamma):
    """``d log p*(v) / d theta`` by autograd equals the E-step's sufficient statistics, for W,
    b, Gamma and the Gaussian layer's ``mu`` and ``log_var``."""
    model = make(3, 4, gamma)
    v = torch.from_numpy(np.random.default_rng(2).normal(size=(5, 3)))
    params = model.parameters()
    for t in params.values():
        t.requires_grad_(True)
    model.unnormalized_log_prob(v).mean().backward()
    expected = {k: t.grad.clone() for k, t in params.items()}
    for t in params.values():
        t.requires_grad_(False)
    with torch.no_grad():
        pos, _ = model.positive_phase(v, start_chain=False)
        ours = model.sufficient_statistics(pos)
    assert set(ours) == set(model.trainable())
    for name in model.trainable():
        torch.testing.assert_close(ours[name], expected[name], rtol=0, atol=1e-10, msg=name)


@pytest.mark.parametrize("n_visible", [1, 2])
@pytest.mark.parametrize("gamma", [0.0, 1.0])
def test_ais_matches_numerical_integration(n_visible, gamma):
    model = make(n_visible, 3, gamma, scale=1.0)
    exact = numerical_log_z(model)
    res = ais_log_partition(
        model, n_chains=200, n_betas=300, generator=torch.Generator().manual_seed(0)
    )
    assert abs(res.log_z - exact) < 4 * res.stderr + 0.02, (res.log_z, res.stderr, exact)
    # RAISE on a few points brackets their exact log-likelihood from below (in expectation).
    v = torch.zeros(64, n_visible, dtype=torch.float64)
    r = raise_log_prob(model, v, n_betas=300, generator=torch.Generator().manual_seed(1))
    exact_lp = float(log_density(model, v[:1].numpy())[0]) - exact
    assert float(r.log_prob.mean()) == pytest.approx(exact_lp, abs=0.05)


def _chi_square_pvalue(model, sampler: str, seed: int = 0) -> float:
    """Histogram of ``sampler``'s draws in one dimension against the exact density."""
    n, steps = 10000, 100
    x = model.sample(n, sampler=sampler, steps=steps, seed=seed)[:, 0].numpy()
    edges = np.quantile(x, np.linspace(0, 1, 21))
    edges[0], edges[-1] = -np.inf, np.inf
    f, _ = shifted_density(model)
    mass = [
        integrate.quad(f, a, b, limit=200)[0] for a, b in zip(edges[:-1], edges[1:], strict=True)
    ]
    expected = n * np.array(mass) / sum(mass)
    observed = np.histogram(x, edges)[0]
    return float(stats.chisquare(observed, expected).pvalue)


@pytest.mark.parametrize("sampler", ["exact", "twin-mh"])
@pytest.mark.parametrize("gamma", [0.0, 1.0])
def test_exact_sampler_histogram_matches_the_density(gamma, sampler):
    model = make(1, 3, gamma, scale=1.0)
    assert _chi_square_pvalue(model, sampler) > 1e-3


def test_plain_chain_is_biased_at_nonzero_gamma():
    """The same histogram test rejects the uncorrected chain: the test can fail."""
    model = make(1, 3, 1.0, scale=1.0)
    assert _chi_square_pvalue(model, "plain") < 1e-6


def test_grbm_equals_qgrbm_with_gamma_fixed_at_zero():
    data = torch.randn(200, 4, generator=torch.Generator().manual_seed(0)) * 0.7 + 0.2
    common = dict(
        seed=3,
        n_epochs=3,
        batch_size=50,
        cd_k=3,
        chain_init="noise",
        clip_norm=1.0,
        learning_rate=0.05,
        momentum=0.0,
    )
    grbm = GRBM(4, 5, **common).fit(data)
    qgrbm = QGRBM(4, 5, gamma_init=0.0, learn_gamma=False, **common).fit(data)
    for name, value in grbm.parameters().items():
        assert torch.equal(value, qgrbm.parameters()[name]), name
    assert torch.equal(grbm.sample(10, steps=5), qgrbm.sample(10, steps=5))


def _mixture(n, seed):
    gen = torch.Generator().manual_seed(seed)
    centres = torch.tensor([[-1.5, -1.0], [1.5, 1.0], [1.0, -1.5]])
    pick = torch.randint(0, 3, (n,), generator=gen)
    return centres[pick] + 0.35 * torch.randn(n, 2, generator=gen)


@pytest.mark.parametrize("name", ["grbm", "qgrbm"])
def test_training_on_a_gaussian_mixture_improves_the_likelihood(name):
    """Liao et al.'s recipe (CD from noise, no momentum, cosine schedule, clipping): the
    likelihood after one epoch (about a single Gaussian's) against after 20, exact by
    quadrature and by AIS."""
    train, test = _mixture(2000, 0), _mixture(1000, 1)
    model = build_model(
        name,
        2,
        8,
        seed=0,
        n_epochs=20,
        batch_size=50,
        cd_k=20,
        chain_init="noise",
        learning_rate=0.05,
        momentum=0.0,
        lr_schedule="cosine",
        lr_final_ratio=0.0,
        weight_scale=1.0,
        clip_norm=10.0,
        dtype="float64",
    )

    def test_ll(log_z):
        return float(model.unnormalized_log_prob(test.double()).mean()) - log_z

    model.partial_fit(train)  # one epoch
    before = test_ll(numerical_log_z(model))
    model.fit(train)  # from scratch, 20 epochs
    after = test_ll(numerical_log_z(model))
    ais = ais_log_partition(
        model, n_chains=100, n_betas=500, generator=torch.Generator().manual_seed(0)
    )
    assert test_ll(ais.log_z) == pytest.approx(after, abs=4 * ais.stderr + 0.05)
    assert after > before + 0.3, (before, after)


def test_construction_errors():
    with pytest.raises(ValueError, match="gamma_init is not accepted"):
        GRBM(3, 2, gamma_init=0.5)
    with pytest.raises(ValueError, match="n_hidden must be a positive int"):
        QGRBM(3, 0)
    with pytest.raises(ValueError, match="sparse.*needs \\{0,1\\} visible"):
        GRBM(3, 2, visible_matmul="sparse")
    with pytest.raises(ValueError, match="NaN"):
        GRBM(2, 2).fit(torch.tensor([[0.0, float("nan")]]))
    with pytest.raises(ValueError, match="base_bias applies to \\{0,1\\} visible units"):
        ais_log_partition(GRBM(2, 2), base_bias=torch.zeros(2))
    with pytest.raises(ValueError, match="chain_init must be one of"):
        GRBM(2, 2, chain_init="zeros").fit(torch.zeros(4, 2))
