"""Closed forms for one hidden qubit: classical limit, derivatives, numerics."""

import numpy as np
import pytest
import scipy.linalg
import torch

from qdoem.models import qubit

C = torch.cat(
    [
        torch.linspace(-60, 60, 241, dtype=torch.float64),
        torch.tensor([0.0, 1e-12, -1e-12], dtype=torch.float64),
    ]
)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_gamma_zero_is_classical_rbm(dtype):
    c = C.to(dtype)
    zero = torch.zeros_like(c)
    n, x = qubit.occupation_and_transverse(c, zero)
    tol = {"rtol": 4 * torch.finfo(dtype).eps, "atol": 0.0}
    assert torch.equal(n, torch.sigmoid(c))  # bit for bit
    torch.testing.assert_close(qubit.log_partition(c, zero), torch.logaddexp(c, zero), **tol)
    assert bool((x == 0).all())


def test_origin_limit():
    z = torch.zeros(3, dtype=torch.float64)
    n, x = qubit.occupation_and_transverse(z, z)
    assert torch.equal(n, torch.full_like(z, 0.5)) and torch.equal(x, z)
    torch.testing.assert_close(qubit.log_partition(z, z), torch.full_like(z, np.log(2.0)))


def test_matches_two_by_two_matrix():
    """Against exp(c n + Gamma X) built explicitly."""
    n_op = np.diag([0.0, 1.0])
    x_op = np.array([[0.0, 1.0], [1.0, 0.0]])
    for c, g in [(0.3, 0.7), (-2.0, 0.1), (5.0, -1.5), (-0.01, 3.0), (0.0, 0.2)]:
        m = scipy.linalg.expm(c * n_op + g * x_op)
        z = np.trace(m)
        ct, gt = torch.tensor([c], dtype=torch.float64), torch.tensor([g], dtype=torch.float64)
        n, x = qubit.occupation_and_transverse(ct, gt)
        assert float(qubit.log_partition(ct, gt)) == pytest.approx(np.log(z), rel=1e-12)
        assert float(n) == pytest.approx(np.trace(n_op @ m) / z, rel=1e-10)
        assert float(x) == pytest.approx(np.trace(x_op @ m) / z, rel=1e-10, abs=1e-15)


def test_expectations_are_derivatives_of_log_partition():
    gen = torch.Generator().manual_seed(0)
    c = 6 * torch.randn(200, generator=gen, dtype=torch.float64)
    g = 2 * torch.randn(200, generator=gen, dtype=torch.float64)
    h = 1e-6
    n, x = qubit.occupation_and_transverse(c, g)
    dn = (qubit.log_partition(c + h, g) - qubit.log_partition(c - h, g)) / (2 * h)
    dx = (qubit.log_partition(c, g + h) - qubit.log_partition(c, g - h)) / (2 * h)
    torch.testing.assert_close(n, dn, rtol=1e-6, atol=1e-8)
    torch.testing.assert_close(x, dx, rtol=1e-6, atol=1e-8)


def test_finite_at_extremes_and_tiny_gamma():
    c = torch.tensor([-1e6, -80.0, -1e-8, 0.0, 1e-8, 80.0, 1e6], dtype=torch.float32)
    for g in (0.0, 1e-30, 1e-4, 50.0):
        n, x = qubit.occupation_and_transverse(c, torch.full_like(c, g))
        lp = qubit.log_partition(c, torch.full_like(c, g))
        assert bool(torch.isfinite(n).all() & torch.isfinite(x).all() & torch.isfinite(lp).all())
        assert bool(((n >= 0) & (n <= 1)).all()) and bool((x.abs() <= 1).all())
    # tiny Gamma on a negative field: <n> keeps full relative accuracy (no cancellation)
    n = qubit.occupation(
        torch.tensor([-30.0], dtype=torch.float64), torch.tensor([1e-9], dtype=torch.float64)
    )
    assert float(n) == pytest.approx(
        float(torch.sigmoid(torch.tensor(-30.0, dtype=torch.float64))), rel=1e-6
    )
