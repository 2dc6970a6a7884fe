"""The exact chain's fused MH weight and the terms it keeps between sweeps.

The hot path (:func:`qdoem.layers.qubit.chain_terms` and ``log_diagonal_ratio``) is checked
against MATH-NOTES' closed form of the Z-basis diagonal,
``<z|exp(c n + Gamma X)|z> = e^{c/2} (cosh D +- (c/2) sinh(D)/D)``, evaluated here in 50-digit
arithmetic (``mpmath``), and that closed form against the dense Gibbs state of
:mod:`qdoem.theory`. The kernel keeps each quantum layer's terms with its fields across sweeps;
several sweeps of many chains are compared with the matching power of the exact transition
matrix, and the kept terms with those recomputed from the kept fields.
"""

from __future__ import annotations

import mpmath
import numpy as np
import pytest
import torch

from qdoem.layers import qubit
from qdoem.models import QGRBM
from qdoem.sampling import ChainState, sweep
from qdoem.sampling.transition import transition_matrix
from qdoem.theory import gibbs_state, state_index
from qdoem.theory.states import log_partition as dense_log_partition

from .test_stationarity import FAMILIES, _chi_square_pvalue, _start

mpmath.mp.dps = 50
X = np.array([[0.0, 1.0], [1.0, 0.0]])
N = np.diag([0.0, 1.0])


def _diagonal(c: float, gamma: float, z: int) -> mpmath.mpf:
    """``<z|exp(c n + Gamma X)|z>`` (MATH-NOTES, "QRBM"), 50 digits."""
    c, g = mpmath.mpf(c), mpmath.mpf(gamma)
    d = mpmath.sqrt(c * c / 4 + g * g)
    sinhc = mpmath.sinh(d) / d if d != 0 else mpmath.mpf(1)
    return mpmath.exp(c / 2) * (mpmath.cosh(d) + (2 * z - 1) * (c / 2) * sinhc)


def _fields(rng, shape, scale):
    c = rng.normal(scale=scale, size=shape)
    c.flat[:3] = [0.0, 1e-9, -80.0]  # the field's zero, a tiny one, a huge one
    return c


def test_closed_form_diagonal_is_the_dense_gibbs_state():
    for c, g in [(0.3, 0.5), (-2.0, 1.5), (4.0, 0.01), (0.0, 2.0), (-6.0, 0.0)]:
        h = -(c * N + g * X)
        rho = gibbs_state(h)
        z = float(mpmath.log(_diagonal(c, g, 0) + _diagonal(c, g, 1)))
        assert z == pytest.approx(dense_log_partition(h), abs=1e-12)
        for k in (0, 1):
            assert float(_diagonal(c, g, k) / mpmath.exp(z)) == pytest.approx(rho[k, k], abs=1e-12)


@pytest.mark.parametrize("gamma", [0.0, 1e-4, 0.5, 3.0])
def test_chain_terms_are_the_outcome_probabilities_and_log_partition(gamma):
    """``p0``, ``p1`` to their relative accuracy (improbable outcomes included) and the row sum of
    ``log Z - max(c, 0)``; in float32 too, where ``p`` is floored at the smallest normal."""
    rng = np.random.default_rng(0)
    c = _fields(rng, (4, 40), 12.0)
    g = np.full(40, gamma)
    exact = np.empty((2, 4, 40))
    rest = np.zeros(4)
    for i, j in np.ndindex(c.shape):
        d0, d1 = _diagonal(c[i, j], gamma, 0), _diagonal(c[i, j], gamma, 1)
        exact[:, i, j] = [float(d0 / (d0 + d1)), float(d1 / (d0 + d1))]
        rest[i] += float(mpmath.log(d0 + d1)) - max(c[i, j], 0.0)
    for dtype, rtol, atol in [(torch.float64, 1e-13, 1e-12), (torch.float32, 2e-5, 2e-4)]:
        t = qubit.chain_terms(torch.tensor(c, dtype=dtype), torch.tensor(g, dtype=dtype))
        floor = torch.finfo(dtype).tiny
        for got, want in zip((t.p0, t.p1), exact, strict=True):
            want = np.maximum(want, floor)
            np.testing.assert_allclose(got.double().numpy(), want, rtol=rtol, atol=0)
        np.testing.assert_allclose(t.log_z_rest.double().numpy(), rest, rtol=0, atol=atol)
    # <n> is the closed form of the layer's statistics
    t = qubit.chain_terms(torch.tensor(c), torch.tensor(g))
    n, _ = qubit.occupation_and_transverse(torch.tensor(c), torch.tensor(g))
    torch.testing.assert_close(t.p1, n, rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("units", [6, 300])
def test_fused_mh_weight_equals_the_closed_form(units):
    """``sum_j log <z|e^{c_new n + Gamma X}|z> - c_new z - (same at c_old)`` from the 50-digit
    closed form: to 1e-11 in float64, and in float32 to a few ulps of |c| per unit, the large
    terms cancelling unit by unit (not as a difference of two large sums)."""
    rng = np.random.default_rng(units)
    c_old = _fields(rng, (3, units), 15.0)
    c_new = c_old + rng.normal(scale=2.0, size=c_old.shape)
    c_new[0, :3] = [3.0, -1e-9, -70.0]
    gamma = rng.choice([0.0, 1e-3, 0.05, 0.5, 2.0], size=units)
    z = rng.integers(0, 2, size=c_old.shape).astype(float)
    truth = np.zeros(3)
    for i, j in np.ndindex(c_old.shape):
        new = mpmath.log(_diagonal(c_new[i, j], gamma[j], int(z[i, j]))) - c_new[i, j] * z[i, j]
        old = mpmath.log(_diagonal(c_old[i, j], gamma[j], int(z[i, j]))) - c_old[i, j] * z[i, j]
        truth[i] += float(new - old)
    args = [torch.tensor(a) for a in (c_old, c_new, gamma, z)]
    fused = qubit.log_diagonal_ratio(*args).numpy()
    np.testing.assert_allclose(fused, truth, rtol=0, atol=1e-11)
    # with the terms of both states given (as the chain passes them): the same numbers
    terms = [qubit.chain_terms(a, args[2]) for a in args[:2]]
    given = qubit.log_diagonal_ratio(*args, old=terms[0], new=terms[1]).numpy()
    np.testing.assert_array_equal(given, fused)
    fused32 = qubit.log_diagonal_ratio(*(a.float() for a in args)).double().numpy()
    # rounding of ~|c| per unit, random in sign: sqrt(units) ulps of the typical |c|
    ulp = np.finfo(np.float32).eps * (np.abs(c_old) + np.abs(c_new)).mean()
    np.testing.assert_allclose(fused32, truth, rtol=0, atol=2 * ulp * np.sqrt(units))


def test_kept_terms_are_those_of_the_kept_fields():
    """After sweeps with acceptances and rejections, the kept terms equal the terms recomputed
    from the kept fields bit for bit, and the kept fields are the fields of the kept values."""
    from qdoem.estimators import ClosedFormEstimator

    model = QGRBM(20, 30, gamma_init=1.5)
    for p in model.parameters().values():
        if p.ndim == 2:  # the couplings: strong enough that some moves are rejected
            p.normal_(0.0, 0.6, generator=torch.Generator().manual_seed(1))
    gen = torch.Generator().manual_seed(2)
    state = model.chain_state(torch.randn(64, 20, generator=gen), gen)
    for _ in range(5):
        sweep(model, state, "exact", ClosedFormEstimator(), gen)
        terms = state.terms[1]
        again = qubit.chain_terms(state.fields[1], model.layer_params(1)["gamma"])
        for kept, fresh in zip(terms, again, strict=True):
            assert torch.equal(kept, fresh)
        torch.testing.assert_close(state.fields[1], model.field(1, state.values))
    accepted = float(state.mh_accepted) / state.mh_proposed
    assert 0.05 < accepted < 0.95  # both branches of the keep were taken
    # the chain's end: statistics replace the kept terms (memory)
    state.statistics(model, 1)
    assert 1 not in state.terms


@pytest.mark.parametrize("family", ["qrbm", "qidbm-h1", "qidbm-h2"])
def test_several_sweeps_with_kept_terms_draw_from_the_matrix_power(family):
    """Three sweeps reuse the terms kept by each MH move (the next Z-basis draw reads <n> from
    them, the next move its old-state terms): the histogram follows ``T^3``."""
    from qdoem.estimators import ClosedFormEstimator

    model = FAMILIES[family](1.0)
    t, _ = transition_matrix(model, "exact")
    t3 = t @ t @ t
    n_chains = 20000
    for index in (5, 77):
        start, layers = _start(model, "exact", index)
        row = t3[state_index(np.concatenate([start[k] for k in layers]))]
        values = [torch.as_tensor(s).expand(n_chains, -1).clone() for s in start]
        state = ChainState(values)
        gen = torch.Generator().manual_seed(index)
        for _ in range(3):
            sweep(model, state, "exact", ClosedFormEstimator(), gen)
        assert state.terms  # the kept terms were in use
        bits = torch.cat([state.values[k] for k in layers], dim=1).numpy()
        counts = np.bincount(state_index(bits), minlength=len(row))
        assert _chi_square_pvalue(counts, n_chains * row) > 1e-4
