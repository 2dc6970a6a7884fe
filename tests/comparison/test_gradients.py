"""Every method's gradient is the exact log-likelihood gradient for the QRBM family."""

import numpy as np
import pytest

from qdoem.comparison.amin_bound import bound_gradient, bound_value, bound_value_and_gradient
from qdoem.comparison.full_qbm import exact_gradient, log_likelihood
from qdoem.comparison.full_qbm import log_likelihood_and_gradient as full_value_and_gradient
from qdoem.theory.qrbm import (
    QRBMParams,
    log_likelihood_and_gradient,
    log_likelihood_gradient,
    one_step_gradient,
)

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


def test_value_and_gradient_oracles_agree(problem):
    """The L-BFGS oracles of the ablation (issue 14): closed form, dense full QBM and Amin's
    bound give the same (L, dL/dtheta); each value matches its dense or expm reference."""
    v, q, p = problem
    val_c, grad_c = log_likelihood_and_gradient(v, q, p)
    val_f, grad_f = full_value_and_gradient(v, q, p)
    val_a, grad_a = bound_value_and_gradient(v, q, p)
    assert val_c == pytest.approx(expm_log_likelihood(v, q, p), rel=1e-10)
    assert val_f == pytest.approx(log_likelihood(v, q, p), rel=1e-12)
    assert val_a == pytest.approx(bound_value(v, q, p), rel=1e-10)
    assert val_f == pytest.approx(val_c, rel=1e-10)
    np.testing.assert_allclose(grad_c, log_likelihood_gradient(v, q, p), atol=1e-14)
    np.testing.assert_allclose(grad_f, grad_c, atol=1e-12)
    np.testing.assert_allclose(grad_a, grad_c, atol=1e-12)


def test_closed_form_gradient_equals_finite_difference_of_its_value(problem):
    v, q, p = problem
    x0 = p.to_vector()
    grad = log_likelihood_and_gradient(v, q, p)[1]
    eps = 1e-6
    for i in range(x0.size):
        dx = np.zeros_like(x0)
        dx[i] = eps
        f = [
            log_likelihood_and_gradient(v, q, QRBMParams.from_vector(x0 + s * dx, 3, 2))[0]
            for s in (1, -1)
        ]
        assert (f[0] - f[1]) / (2 * eps) == pytest.approx(grad[i], abs=1e-7)
