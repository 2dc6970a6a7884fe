"""The imaginary-time path-integral measure of a qubit and its sampler (``sample_occupation``).

- The maths of ``qubit.sample_occupation``'s docstring, by quadrature against matrix
  exponentials: ``int e^{c f} mu_Gamma(df) = Tr exp(c n + Gamma X)`` and
  ``int f^z (1 - f)^{1-z} e^{c f} mu_Gamma(df) = <z|exp(c n + Gamma X)|z>``.
- The sampler's law, float32 and float64, for fields from -30 to 30 and Gamma from 0 to 3:
  the mean of 200k draws against the closed-form ``<n>`` (5 standard errors), the atoms
  ``P(f = 0) = 1/Z`` and ``P(f = 1) = e^c/Z`` (5 standard errors), and the whole law (atoms and
  20 bins of the continuous part, with masses by quadrature of the density) by a chi-square test.
- At Gamma = 0 the draw is the classical unit's ``u < sigmoid(c)``, bit for bit; a seed fixes
  the draws; bad input and classical layers are refused.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy import integrate, special, stats
from scipy.linalg import expm

from qdoem.layers import BernoulliLayer, QubitLayer
from qdoem.layers.bernoulli import bernoulli_sample
from qdoem.layers.qubit import log_partition, occupation, sample_occupation

X = np.array([[0.0, 1.0], [1.0, 0.0]])
N = np.diag([0.0, 1.0])
DRAWS = 200_000


def _density(c: float, gamma: float, log_z: float):
    """The continuous part of the tilted path measure, ``e^{c f} m_Gamma(f) / Z``."""
    g = abs(gamma)

    def f(x: float) -> float:
        s = math.sqrt(x * (1.0 - x))
        m = g * special.i1(2 * g * s) / s if s > 0 else g * g  # the limit at the ends
        return math.exp(c * x - log_z) * m

    return f


@pytest.mark.parametrize("c,gamma", [(0.7, 1.3), (-2.0, 0.4), (3.0, 2.5), (0.0, -1.0)])
def test_path_measure_gives_the_qubits_trace_and_diagonal(c, gamma):
    dense = expm(c * N + gamma * X)
    f = _density(c, gamma, 0.0)
    cont0 = integrate.quad(lambda x: (1 - x) * f(x), 0, 1, epsabs=0, epsrel=1e-12)[0]
    cont1 = integrate.quad(lambda x: x * f(x), 0, 1, epsabs=0, epsrel=1e-12)[0]
    assert 1.0 + cont0 == pytest.approx(dense[0, 0], rel=1e-10)
    assert math.exp(c) + cont1 == pytest.approx(dense[1, 1], rel=1e-10)
    z = float(
        log_partition(
            torch.tensor(c, dtype=torch.float64), torch.tensor(gamma, dtype=torch.float64)
        )
    )
    assert math.log(1.0 + math.exp(c) + cont0 + cont1) == pytest.approx(z, rel=1e-10)


CASES = [(0.0, 0.0), (1.3, 0.0), (0.5, 1.0), (-2.0, 0.7), (30.0, 1.0), (-30.0, 1.0)]
CASES += [(0.0, 3.0), (4.0, 3.0), (-1.0, -2.0)]


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("c,gamma", CASES)
def test_occupation_draws_follow_the_tilted_path_measure(c, gamma, dtype):
    cc = torch.full((DRAWS // 100, 100), c, dtype=dtype)
    f = sample_occupation(
        cc, torch.full((100,), gamma, dtype=dtype), torch.Generator().manual_seed(3)
    )
    assert f.shape == cc.shape and f.dtype == dtype
    f = f.double().ravel().numpy()
    assert np.all((f >= 0) & (f <= 1))
    c64, g64 = torch.tensor(c, dtype=torch.float64), torch.tensor(gamma, dtype=torch.float64)
    log_z = float(log_partition(c64, g64))
    mean = float(occupation(c64, g64))
    assert abs(f.mean() - mean) < 5 * max(f.std(), 1e-12) / math.sqrt(DRAWS)
    p0, p1 = math.exp(-log_z), math.exp(c - log_z)
    for observed, p in ((np.mean(f == 0.0), p0), (np.mean(f == 1.0), p1)):
        assert abs(observed - p) <= 5 * math.sqrt(p * (1 - p) / DRAWS) + 1e-12, (observed, p)
    if gamma == 0.0:
        assert np.all((f == 0.0) | (f == 1.0))
        return
    # The continuous part: 20 bins between quantiles of the truncated exponential e^{c f}.
    q = np.linspace(0.0, 1.0, 21)
    edges = q if abs(c) < 1e-12 else np.log1p(q * np.expm1(c)) / c
    edges[0], edges[-1] = 0.0, 1.0
    dens = _density(c, gamma, log_z)
    mass = np.array(
        [
            integrate.quad(dens, a, b, epsabs=0, epsrel=1e-10)[0]
            for a, b in zip(edges[:-1], edges[1:], strict=True)
        ]
    )
    assert mass.sum() + p0 + p1 == pytest.approx(1.0, abs=1e-9)
    inside = f[(f > 0.0) & (f < 1.0)]
    observed = np.concatenate(
        [[np.sum(f == 0.0), np.sum(f == 1.0)], np.histogram(inside, edges)[0]]
    )
    expected = DRAWS * np.concatenate([[p0, p1], mass])
    keep = expected >= 5  # cells with fewer expected draws (a far atom) pooled
    obs = np.append(observed[keep], observed[~keep].sum())
    exp = np.append(expected[keep], expected[~keep].sum())
    obs, exp = obs[exp > 0], exp[exp > 0]
    assert stats.chisquare(obs, exp * obs.sum() / exp.sum()).pvalue > 1e-4


def test_at_gamma_zero_the_draw_is_the_classical_units():
    c = torch.linspace(-8, 8, 4000, dtype=torch.float32).reshape(40, 100)
    f = sample_occupation(c, torch.zeros(100), torch.Generator().manual_seed(5))
    z = bernoulli_sample(torch.sigmoid(c), torch.Generator().manual_seed(5))
    assert torch.equal(f, z)


def test_occupation_draws_are_fixed_by_the_seed():
    c = torch.randn(64, 50, generator=torch.Generator().manual_seed(0), dtype=torch.float64) * 3
    gamma = torch.linspace(0.0, 2.5, 50, dtype=torch.float64)
    a = sample_occupation(c, gamma, torch.Generator().manual_seed(11))
    b = sample_occupation(c, gamma, torch.Generator().manual_seed(11))
    other = sample_occupation(c, gamma, torch.Generator().manual_seed(12))
    assert torch.equal(a, b) and not torch.equal(a, other)
    layer = QubitLayer(50, "h")
    drawn = layer.occupation_sample(c, {"gamma": gamma}, torch.Generator().manual_seed(11))
    assert torch.equal(drawn, a)


def test_infinite_fields_are_the_atoms_and_bad_input_is_refused():
    gen = torch.Generator().manual_seed(0)
    f = sample_occupation(torch.tensor([[math.inf, -math.inf]] * 3), torch.ones(2), gen)
    assert torch.equal(f, torch.tensor([[1.0, 0.0]] * 3))
    for c, gamma in (([0.0, math.nan], [1.0, 1.0]), ([0.0, 0.0], [1.0, math.inf])):
        with pytest.raises(ValueError, match="c and gamma must not be NaN, nor gamma inf"):
            sample_occupation(torch.tensor([c]), torch.tensor(gamma), gen)
    with pytest.raises(NotImplementedError, match="BernoulliLayer 'v' has no imaginary-time"):
        BernoulliLayer(3, "v").occupation_sample(torch.zeros(1, 3), {"bias": torch.zeros(3)}, gen)


# Large Gamma with large fields: the exponential proposal's acceptance falls like e^{-|Gamma|}
# (units of Gamma 25-28 of a trained 2 x 784 QiDBM exhausted it); the stragglers are drawn by
# the tangent-envelope sampler ``_envelope_draws``.
ENVELOPE_CASES = [(50.0, 28.0), (-50.0, 28.0), (0.0, 28.0), (200.0, 3.0), (-5.0, 100.0)]
ENVELOPE_CASES += [(0.5, 1.0), (30.0, 1.0), (0.0, 0.05), (-300.0, 40.0)]


def _log_density_np(c: float, gamma: float):
    g = abs(gamma)

    def log_f(x):
        s = np.sqrt(x * (1.0 - x))
        arg = 2 * g * s
        safe = np.where(arg > 0, arg, 1.0)
        ratio = np.where(arg > 0, special.i1e(safe) / safe, 0.5)
        return c * x + np.log(ratio) + arg

    return log_f


@pytest.mark.parametrize("c,gamma", ENVELOPE_CASES)
def test_the_log_density_is_concave(c, gamma):
    """The premise of the envelope: ``l(f) = c f + log(I_1(x)/x)``, ``x = 2 Gamma sqrt(f(1-f))``,
    is concave on (0, 1) (second differences on a fine grid, to rounding)."""
    x = np.linspace(1e-6, 1 - 1e-6, 100_001)
    second = np.diff(_log_density_np(c, gamma)(x), 2)
    assert second.max() <= 1e-9, second.max()


@pytest.mark.parametrize("c,gamma", ENVELOPE_CASES)
def test_envelope_draws_follow_the_continuous_part(c, gamma):
    from qdoem.layers.qubit import _envelope_draws, _log_density, _log_density_slope

    n = 100_000
    cc, gg = (
        torch.full((n,), c, dtype=torch.float64),
        torch.full((n,), abs(gamma), dtype=torch.float64),
    )
    f = _envelope_draws(cc, gg, torch.Generator().manual_seed(5)).numpy()
    assert np.all((f >= 0) & (f <= 1))
    # The torch log density and slope agree with scipy and with finite differences.
    grid = torch.linspace(0.01, 0.99, 99, dtype=torch.float64)
    cg, gg9 = torch.full_like(grid, c), torch.full_like(grid, abs(gamma))
    log_f = _log_density_np(c, gamma)
    assert np.allclose(
        _log_density(grid, cg, gg9).numpy(), log_f(grid.numpy()), rtol=1e-12, atol=1e-9
    )
    h = 1e-6
    fd = (log_f(grid.numpy() + h) - log_f(grid.numpy() - h)) / (2 * h)
    slope = _log_density_slope(grid, cg, gg9).numpy()
    assert np.allclose(slope, fd, rtol=1e-5, atol=1e-4 * (1 + abs(c) + gamma**2))
    # Chi-square on 20 bins between quantiles of independent draws, masses by quadrature.
    ref = _envelope_draws(cc[:20_000], gg[:20_000], torch.Generator().manual_seed(6)).numpy()
    edges = np.unique(np.quantile(ref, np.linspace(0, 1, 21)))
    edges[0], edges[-1] = 0.0, 1.0
    top = max(log_f(np.linspace(1e-9, 1 - 1e-9, 200_001)))
    dens = lambda x: math.exp(float(log_f(np.array(x))) - top)  # noqa: E731
    mass = np.array(
        [
            integrate.quad(dens, a, b, epsabs=0, epsrel=1e-10, limit=200)[0]
            for a, b in zip(edges[:-1], edges[1:], strict=True)
        ]
    )
    observed = np.histogram(f, edges)[0]
    assert stats.chisquare(observed, n * mass / mass.sum()).pvalue > 1e-4


def test_large_gamma_in_a_large_field_is_drawn_exactly():
    """Units the exponential proposal cannot serve (it raised here before the envelope): the
    mean of the draws is the closed-form ``<n>``, and the atoms' masses hold."""
    c = torch.tensor([50.0, -50.0, 80.0], dtype=torch.float64)
    gamma = torch.tensor([28.0, 28.0, 25.0], dtype=torch.float64)
    n = 50_000
    f = sample_occupation(c.expand(n, 3), gamma, torch.Generator().manual_seed(7)).numpy()
    for j in range(3):
        mean = float(occupation(c[j], gamma[j]))
        col = f[:, j]
        assert abs(col.mean() - mean) < 5 * col.std() / math.sqrt(n), (j, col.mean(), mean)
        log_z = float(log_partition(c[j], gamma[j]))
        p1 = math.exp(float(c[j]) - log_z)
        assert abs(np.mean(col == 1.0) - p1) <= 5 * math.sqrt(p1 * (1 - p1) / n) + 1e-12
