"""Closed forms of the QRBM against dense matrix exponentials."""

import numpy as np
import pytest
from scipy.linalg import expm

from qdoem.comparison.amin_bound import clamped_log_partition, negative_phase
from qdoem.comparison.full_qbm import hamiltonian, log_likelihood, operator_traces
from qdoem.comparison.metrics import kl_to_data
from qdoem.theory import basis_states as visible_states
from qdoem.theory.qrbm import (
    QRBMParams,
    hidden_moments,
    log_partition,
    model_statistics,
)

from .oracle import expm_log_likelihood, expm_marginal


def test_marginal_matches_partial_trace_of_expm(problem):
    _, _, p = problem
    v = visible_states(p.n_visible)
    log_pstar = hidden_moments(v, p)[0]
    np.testing.assert_allclose(np.exp(log_pstar - log_partition(p)), expm_marginal(p), rtol=1e-10)


def test_clamped_blocks_match_closed_form(problem):
    _, _, p = problem
    v = visible_states(p.n_visible)
    np.testing.assert_allclose(clamped_log_partition(v, p), hidden_moments(v, p)[0], rtol=1e-12)


def test_hidden_moments_are_derivatives_of_log_marginal(problem):
    """<n_j>_v = d log p*(v)/db_j and <X_j>_v = d log p*(v)/dGamma_j (central differences)."""
    _, _, p = problem
    v = visible_states(p.n_visible)
    _, n_mean, x_mean = hidden_moments(v, p)
    h = 1e-6
    for j in range(p.n_hidden):
        for field, expected in (("b", n_mean), ("gamma", x_mean)):
            up, dn = p.copy(), p.copy()
            getattr(up, field)[j] += h
            getattr(dn, field)[j] -= h
            fd = (hidden_moments(v, up)[0] - hidden_moments(v, dn)[0]) / (2 * h)
            np.testing.assert_allclose(fd, expected[:, j], atol=1e-8)


def test_classical_limit_is_rbm(problem):
    _, _, p = problem
    p.gamma[:] = 0.0
    v = visible_states(p.n_visible)
    log_pstar, n_mean, x_mean = hidden_moments(v, p)
    c = p.b + v @ p.W
    np.testing.assert_allclose(log_pstar, v @ p.a + np.logaddexp(0, c).sum(1), rtol=1e-12)
    np.testing.assert_allclose(n_mean, 1 / (1 + np.exp(-c)), rtol=1e-12)
    np.testing.assert_array_equal(x_mean, 0.0)


@pytest.mark.parametrize("chunk", [1, 2, 4, 8, 1 << 20])
def test_model_statistics_match_expm_for_any_chunk(problem, chunk):
    _, _, p = problem
    e = expm(-hamiltonian(p))
    rho = e / np.trace(e)
    log_z, stats = model_statistics(p, chunk=chunk)
    assert log_z == pytest.approx(np.log(np.trace(e)), rel=1e-12)
    np.testing.assert_allclose(stats, operator_traces(rho, p.n_visible, p.n_hidden), atol=1e-12)


def test_negative_phase_matches_expm(problem):
    _, _, p = problem
    e = expm(-hamiltonian(p))
    log_z, stats = negative_phase(p)
    assert log_z == pytest.approx(np.log(np.trace(e)), rel=1e-12)
    np.testing.assert_allclose(stats, operator_traces(e / np.trace(e), 3, 2), atol=1e-12)


def test_kl_agrees_across_methods(problem):
    v, q, p = problem
    entropy = -q @ np.log(q)
    kl = kl_to_data(v, q, p)
    assert kl == pytest.approx(-entropy - expm_log_likelihood(v, q, p), rel=1e-10)
    assert kl == pytest.approx(-entropy - log_likelihood(v, q, p), rel=1e-10)
    assert kl > 0


def test_kl_is_zero_for_a_model_equal_to_the_data():
    """A model with all weights on one visible state (a -> large) against a point mass."""
    p = QRBMParams(np.array([40.0, -40.0]), np.zeros(1), np.zeros((2, 1)), np.array([0.3]))
    assert kl_to_data(np.array([[1.0, 0.0]]), np.array([1.0]), p) == pytest.approx(0, abs=1e-12)
