"""Closed forms for one hidden qubit: classical limit, derivatives, numerics."""

import numpy as np
import pytest
import scipy.linalg
import torch

from qdoem.layers import qubit

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


# ---------------------------------------------------------------- the few-kernel hot path
def _grid(dtype):
    cs = torch.cat(
        [
            torch.linspace(-50, 50, 2001, dtype=torch.float64),
            torch.tensor([0.0, 1e-30, -1e-30, 1e-8, -1e-8, 1e-3, -1e-3], dtype=torch.float64),
        ]
    )
    gs = torch.cat(
        [
            torch.linspace(0, 10, 201, dtype=torch.float64),
            torch.tensor([1e-30, 1e-8, 1e-4, -0.3, -4.0], dtype=torch.float64),
        ]
    )
    c, g = torch.meshgrid(cs, gs, indexing="ij")
    return c.to(dtype), g.to(dtype)


@pytest.mark.parametrize("dtype,atol", [(torch.float32, 1e-6), (torch.float64, 1e-12)])
def test_fast_closed_form_matches_careful_one(dtype, atol):
    """Absolute agreement with the careful form (in float64 on the same rounded inputs) on
    c in [-50, 50], Gamma in [0, 10] (and a few negative Gamma), exact zeros included."""
    c, g = _grid(dtype)
    n, x = qubit.occupation_and_transverse_fast(c, g)
    assert n.dtype == x.dtype == dtype and n.shape == x.shape == c.shape
    ref_n, ref_x = qubit.occupation_and_transverse(c.double(), g.double())
    assert float((n.double() - ref_n).abs().max()) < atol
    assert float((x.double() - ref_x).abs().max()) < atol
    assert bool(((n >= 0) & (n <= 1)).all()) and bool((x.abs() <= 1).all())


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_fast_closed_form_limits(dtype):
    z = torch.zeros(3, dtype=dtype)
    n, x = qubit.occupation_and_transverse_fast(z, z)
    assert torch.equal(n, torch.full_like(z, 0.5)) and torch.equal(x, z)
    # Gamma = 0: sigmoid(c) to an ulp of 1 and <X> exactly 0.
    n, x = qubit.occupation_and_transverse_fast(C.to(dtype), torch.zeros_like(C, dtype=dtype))
    torch.testing.assert_close(
        n, torch.sigmoid(C.to(dtype)), rtol=0, atol=4 * torch.finfo(dtype).eps
    )
    assert bool((x == 0).all())


def test_fast_closed_form_finite_at_extremes_and_broadcasts():
    c = torch.tensor([-1e6, -80.0, -1e-8, 0.0, 1e-8, 80.0, 1e6], dtype=torch.float32)
    for g in (0.0, 1e-30, 1e-4, 50.0, 1e6):
        n, x = qubit.occupation_and_transverse_fast(c, torch.full_like(c, g))
        assert bool(torch.isfinite(n).all() & torch.isfinite(x).all())
        assert bool(((n >= 0) & (n <= 1)).all()) and bool((x.abs() <= 1).all())
    # (batch, n_hidden) fields with a per-unit Gamma, as in training
    gen = torch.Generator().manual_seed(1)
    cb = 4 * torch.randn(7, 5, generator=gen, dtype=torch.float64)
    gb = torch.tensor([0.0, 0.2, 1.0, 3.0, -0.5], dtype=torch.float64)
    n, x = qubit.occupation_and_transverse_fast(cb, gb)
    ref_n, ref_x = qubit.occupation_and_transverse(cb, gb.expand_as(cb))
    torch.testing.assert_close(n, ref_n, rtol=0, atol=1e-14)
    torch.testing.assert_close(x, ref_x, rtol=0, atol=1e-14)
