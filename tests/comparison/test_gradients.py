"""Every method's gradient is the exact log-likelihood gradient for the QRBM family."""

import numpy as np
import pytest

from qdoem.comparison.amin_bound import bound_gradient, bound_value
from qdoem.comparison.full_qbm import exact_gradient, log_likelihood
from qdoem.theory.qrbm import log_likelihood_gradient, one_step_gradient

from .oracle import expm_log_likelihood, finite_difference_gradient


def test_full_qbm_gradient_equals_finite_difference(problem):
    v, q, p = problem
    fd = finite_difference_gradient(v, q, p)
    np.testing.assert_allclose(exact_gradient(v, q, p), fd, atol=1e-7)


def test_full_qbm_gradient_equals_closed_form(problem):
    v, q, p = problem
    closed = log_likelihood_gradient(v, q, p)
    np.testing.assert_allclose(exact_gradient(v, q, p), closed, atol=1e-12)


def test_full_qbm_gradient_with_degenerate_spectrum(problem):
    """Gamma = 0 and W = 0 give exactly degenerate eigenvalues (the divided-difference limit)."""
    v, q, p = problem
    p.gamma[:] = 0.0
    p.W[:] = 0.0
    closed = log_likelihood_gradient(v, q, p)
    np.testing.assert_allclose(exact_gradient(v, q, p), closed, atol=1e-12)


def test_amin_bound_is_tight_and_its_gradient_exact(problem):
    """Without visible transverse fields the clamped H_v is the exact block: bound = likelihood."""
    v, q, p = problem
    assert bound_value(v, q, p) == pytest.approx(expm_log_likelihood(v, q, p), rel=1e-10)
    closed = log_likelihood_gradient(v, q, p)
    np.testing.assert_allclose(bound_gradient(v, q, p), closed, atol=1e-12)


def test_doem_one_step_gradient_is_likelihood_gradient(problem):
    v, q, p = problem
    np.testing.assert_allclose(one_step_gradient(v, q, p), exact_gradient(v, q, p), atol=1e-12)


def test_full_log_likelihood_matches_expm(problem):
    v, q, p = problem
    assert log_likelihood(v, q, p) == pytest.approx(expm_log_likelihood(v, q, p), rel=1e-10)
