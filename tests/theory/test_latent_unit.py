"""Closed forms of one latent qubit against the 2x2 matrix exponential and the torch twin."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg as sla

from qdoem.theory.latent_unit import unit_expectations, unit_log_partition

N = np.diag([0.0, 1.0])
X = np.array([[0.0, 1.0], [1.0, 0.0]])
GRID = [(c, g) for c in (-30.0, -3.0, -0.4, 0.0, 1e-9, 0.7, 5.0) for g in (0.0, 1e-8, 0.3, 2.0)]


@pytest.mark.parametrize(("c", "gamma"), GRID)
def test_against_matrix_exponential(c, gamma):
    e = sla.expm(c * N + gamma * X)  # exp(-H), H = -c n - Gamma X
    rho = e / np.trace(e)
    n, x = unit_expectations(c, gamma)
    assert n == pytest.approx(np.trace(rho @ N), abs=1e-12)
    assert x == pytest.approx(np.trace(rho @ X), abs=1e-12)
    assert unit_log_partition(c, gamma) == pytest.approx(np.log(np.trace(e)), abs=1e-12)


def test_classical_limit_and_broadcasting():
    c = np.linspace(-20, 20, 41)
    n, x = unit_expectations(c[:, None], np.zeros(3))
    assert n.shape == (41, 3)
    assert np.allclose(n, 1 / (1 + np.exp(-c))[:, None], atol=1e-15)
    assert np.all(x == 0)
    assert np.allclose(unit_log_partition(c, 0.0), np.logaddexp(0.0, c), atol=1e-13)


def test_agrees_with_torch_twin():
    torch = pytest.importorskip("torch")
    from qdoem.layers import qubit

    rng = np.random.default_rng(0)
    c, g = rng.normal(scale=8, size=500), rng.normal(scale=3, size=500)
    g[:50] = 0.0
    n, x = unit_expectations(c, g)
    n_t, x_t = qubit.occupation_and_transverse(torch.from_numpy(c), torch.from_numpy(g))
    assert np.allclose(n_t.numpy(), n, atol=1e-12)
    assert np.allclose(x_t.numpy(), x, atol=1e-12)
    lp_t = qubit.log_partition(torch.from_numpy(c), torch.from_numpy(g)).numpy()
    assert np.allclose(lp_t, unit_log_partition(c, g), atol=1e-12)
