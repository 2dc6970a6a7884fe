"""Exact DO-EM: monotonicity under Condition S, reduction to classical EM, honest flags."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from qdoem import (
    HamiltonianFamily,
    PetzNotGuaranteedWarning,
    classical_data_state,
    do_em,
    gibbs_state,
    gradient_ascent,
    log_likelihood,
    log_likelihood_gradient,
    m_step,
    partial_trace,
    petz_recovery,
)


def random_cq_lvm(rng, n_visible=3, n_latent=2):
    """Z fields everywhere, random ZZ couplings (latent-latent included), X on latent only."""
    n = n_visible + n_latent
    pairs = [p for p in itertools.combinations(range(n), 2) if rng.random() < 0.6]
    return HamiltonianFamily.transverse_ising(n, pairs, x_qubits=range(n_visible, n))


def random_data(rng, n_visible, n_samples=12):
    return classical_data_state(rng.integers(0, 2, size=(n_samples, n_visible)))


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_doem_never_decreases_likelihood_on_cq_lvms(seed):
    rng = np.random.default_rng(seed)
    fam = random_cq_lvm(rng)
    eta_v = random_data(rng, 3)
    theta0 = rng.normal(scale=0.5, size=len(fam))
    trace = do_em(fam, eta_v, 3, theta0, n_iter=50, m_step_maxiter=30)
    assert trace.condition_s
    assert len(trace.log_likelihood) == 51
    assert np.all(np.diff(trace.log_likelihood) >= -1e-10)
    assert trace.log_likelihood[-1] > trace.log_likelihood[0] + 1e-3  # it actually learned
    # Condition S: the Petz extension saturates the QELBO at every iterate.
    assert np.allclose(trace.qelbo, trace.log_likelihood, atol=1e-9)
    assert np.all(trace.extension_error < 1e-9)


def _bits(index, n):
    return np.array([(index >> (n - 1 - k)) & 1 for k in range(n)])


def test_classical_model_reduces_to_classical_em(rng):
    # Fully diagonal RBM family: the Petz E-step must be the Bayes posterior.
    n_v, n_h = 3, 2
    fam = HamiltonianFamily.qrbm(n_v, n_h, transverse=False)
    theta = rng.normal(size=len(fam))
    eta_v = random_data(rng, n_v)
    b, w = theta[: n_v + n_h], theta[n_v + n_h :].reshape(n_v, n_h)

    def energy(v, h):  # H = -b.n - v^T W h on occupations n = bits, computed directly
        return -(b @ np.concatenate([v, h])) - v @ w @ h

    eta = petz_recovery(gibbs_state(fam.hamiltonian(theta)), eta_v, (2**n_v, 2**n_h))
    assert np.allclose(eta, np.diag(np.diag(eta)), atol=1e-12)  # stays classical
    p_v = np.diag(eta_v).real
    for iv in range(2**n_v):
        v = _bits(iv, n_v)
        weights = np.array([np.exp(-energy(v, _bits(ih, n_h))) for ih in range(2**n_h)])
        posterior = weights / weights.sum()  # Bayes' rule
        block = np.diag(eta).real[iv * 2**n_h : (iv + 1) * 2**n_h]
        assert np.allclose(block, p_v[iv] * posterior, atol=1e-12)
    # M-step of an exponential family is moment matching: <H_r>_model = <H_r>_eta.
    new_theta, _ = m_step(fam, eta, theta, maxiter=500)
    rho_new = gibbs_state(fam.hamiltonian(new_theta))
    assert np.allclose(fam.expectations(rho_new), fam.expectations(eta), atol=1e-5)


def test_non_cq_model_is_flagged(rng):
    # X on a visible qubit breaks Condition S: warn, report, and show the QELBO gap.
    # (Qubit 0 must couple to the latent qubit directly: with couplings (0,1),(1,2) alone,
    # H splits into commuting parts, a quantum Markov chain, and Petz recovery is exact.)
    fam = HamiltonianFamily.transverse_ising(3, [(0, 1), (0, 2), (1, 2)], x_qubits=[0, 2])
    eta_v = random_data(rng, 2)
    with pytest.warns(PetzNotGuaranteedWarning, match="Condition S does not hold"):
        trace = do_em(fam, eta_v, 2, rng.normal(size=len(fam)), n_iter=3)
    assert trace.condition_s is False
    # The Petz output is not an extension of eta_V, so its "QELBO" is no bound on L.
    assert trace.extension_error[0] > 1e-4
    assert abs(trace.log_likelihood[0] - trace.qelbo[0]) > 1e-4


@pytest.mark.parametrize("x_qubits", [[3, 4], [0, 4]], ids=["cq", "non-cq"])
def test_exact_gradient_matches_finite_difference(rng, x_qubits):
    fam = HamiltonianFamily.transverse_ising(5, [(0, 3), (1, 4), (2, 3), (3, 4)], x_qubits)
    eta_v = random_data(rng, 3)
    theta = rng.normal(scale=0.7, size=len(fam))
    dims = (8, 4)

    def lik(t):
        return log_likelihood(eta_v, gibbs_state(fam.hamiltonian(t)), dims)

    eps = 1e-6
    fd = np.array(
        [(lik(theta + eps * e) - lik(theta - eps * e)) / (2 * eps) for e in np.eye(len(fam))]
    )
    assert np.allclose(log_likelihood_gradient(fam, theta, eta_v, 3), fd, atol=1e-7)


def test_gradient_ascent_increases_likelihood_with_small_steps(rng):
    fam = random_cq_lvm(rng)
    eta_v = random_data(rng, 3)
    trace = gradient_ascent(fam, eta_v, 3, np.zeros(len(fam)), n_iter=15, learning_rate=0.05)
    assert np.all(np.diff(trace.log_likelihood) > 0)
    assert trace.qelbo.size == 0


def test_gradient_ascent_checks_once_and_steps_with_the_checked_gradient(rng):
    """The loop skips the per-step checks: its iterates are bit-identical to stepping with the
    public, checking ``log_likelihood_gradient``."""
    fam = random_cq_lvm(rng)
    eta_v = random_data(rng, 3)
    theta0 = rng.normal(scale=0.1, size=len(fam))
    trace = gradient_ascent(fam, eta_v, 3, theta0, n_iter=6, learning_rate=0.1)
    theta = theta0.copy()
    for t in range(6):
        theta = theta + 0.1 * log_likelihood_gradient(fam, theta, eta_v, 3)
        assert np.array_equal(trace.thetas[t + 1], theta)
    with pytest.raises(ValueError, match="eta_V must be 8x8"):
        log_likelihood_gradient(fam, theta, np.eye(4) / 4, 3)


def test_doem_fixed_point_is_stationary(rng):
    # At a DO-EM fixed point the likelihood gradient vanishes (grad Q = grad L at theta_old).
    fam = HamiltonianFamily.qrbm(2, 1)
    eta_v = random_data(rng, 2, n_samples=40)
    trace = do_em(fam, eta_v, 2, rng.normal(scale=0.1, size=len(fam)), n_iter=200)
    assert np.abs(log_likelihood_gradient(fam, trace.theta, eta_v, 2)).max() < 1e-3


def test_bad_arguments(rng):
    fam = HamiltonianFamily.qrbm(2, 1)
    with pytest.raises(ValueError, match="eta_V must be 4x4"):
        do_em(fam, np.eye(8) / 8, 2)
    with pytest.raises(ValueError, match="n_visible=4"):
        do_em(fam, np.eye(4) / 4, 4)
    with pytest.raises(ValueError, match="theta must have"):
        do_em(fam, np.eye(4) / 4, 2, theta0=[0.0])
    with pytest.raises(ValueError, match="learning_rate"):
        gradient_ascent(fam, np.eye(4) / 4, 2, learning_rate=0)
    with pytest.raises(ValueError, match="only 0 and 1"):
        classical_data_state(np.array([[0, 2]]))


def test_classical_data_state_bit_order():
    eta = classical_data_state(np.array([[1, 0, 0], [1, 0, 0], [0, 0, 1]]))
    assert eta[0b100, 0b100] == pytest.approx(2 / 3)
    assert eta[0b001, 0b001] == pytest.approx(1 / 3)
    assert np.isclose(partial_trace(eta, (2, 4), [0])[1, 1], 2 / 3)
