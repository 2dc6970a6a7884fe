"""Identities of the exact core on random inputs, to about 1e-9."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg as sla

from qdoem import (
    conditional_amplitude_operator,
    gibbs_state,
    log_likelihood,
    log_partition,
    partial_trace,
    petz_recovery,
    qelbo,
    relative_entropy,
    von_neumann_entropy,
)
from tests.conftest import random_density, random_hermitian

SEEDS = [0, 1, 2, 3, 4]


@pytest.mark.parametrize("seed", SEEDS)
def test_partial_trace_of_products(seed):
    rng = np.random.default_rng(seed)
    a, b, c = random_density(2, rng), random_density(3, rng), random_density(4, rng)
    abc = np.kron(np.kron(a, b), c)
    assert np.allclose(partial_trace(abc, [2, 3, 4], [0]), a, atol=1e-12)
    assert np.allclose(partial_trace(abc, [2, 3, 4], [1]), b, atol=1e-12)
    assert np.allclose(partial_trace(abc, [2, 3, 4], [0, 2]), np.kron(a, c), atol=1e-12)
    # ``keep`` order permutes the factors of the result.
    assert np.allclose(partial_trace(abc, [2, 3, 4], [2, 0]), np.kron(c, a), atol=1e-12)
    assert np.allclose(partial_trace(abc, [2, 3, 4], []), [[1.0]], atol=1e-12)


def test_partial_trace_matches_definition(rng):
    rho = random_density(6, rng)
    by_hand = sum(
        np.kron(np.eye(2), np.eye(3)[k : k + 1]) @ rho @ np.kron(np.eye(2), np.eye(3)[:, k : k + 1])
        for k in range(3)
    )
    assert np.allclose(partial_trace(rho, [2, 3], [0]), by_hand, atol=1e-13)


def _rotated_cq_state(rng, d_a, d_b):
    """rho = (U (x) I) [sum_a p_a |a><a| (x) rho_a] (U (x) I)^dagger: CQ in the basis U."""
    g = rng.normal(size=(d_a, d_a)) + 1j * rng.normal(size=(d_a, d_a))
    u, _ = np.linalg.qr(g)
    p = rng.dirichlet(np.ones(d_a))
    block = sla.block_diag(*[pa * random_density(d_b, rng) for pa in p])
    uu = np.kron(u, np.eye(d_b))
    return uu @ block @ uu.conj().T, u


@pytest.mark.parametrize("seed", SEEDS)
def test_petz_recovers_commuting_marginal(seed):
    # Tr_B R_rho(omega) = omega when omega commutes with rho_A *and* rho is block-diagonal
    # in their common eigenbasis (the CQ structure DO-EM relies on).
    rng = np.random.default_rng(seed)
    rho, u = _rotated_cq_state(rng, 3, 2)
    omega = (u * rng.dirichlet(np.ones(3))) @ u.conj().T
    assert np.allclose(
        omega @ partial_trace(rho, (3, 2), [0]), partial_trace(rho, (3, 2), [0]) @ omega
    )
    recovered = petz_recovery(rho, omega, (3, 2))
    assert np.allclose(partial_trace(recovered, (3, 2), [0]), omega, atol=1e-9)
    assert np.isclose(np.trace(recovered).real, 1.0, atol=1e-10)
    assert np.linalg.eigvalsh(recovered)[0] > -1e-12


def test_commuting_marginal_alone_is_not_enough(rng):
    # Counter-example to the identity with only [omega, rho_A] = 0 assumed: a generic
    # (non-CQ) rho does not give back omega, although the trace is preserved.
    rho = random_density(8, rng)
    rho_a = partial_trace(rho, (2, 4), [0])
    _, u = np.linalg.eigh(rho_a)
    omega = (u * np.array([0.9, 0.1])) @ u.conj().T
    recovered = petz_recovery(rho, omega, (2, 4))
    assert np.isclose(np.trace(recovered).real, 1.0, atol=1e-10)
    assert not np.allclose(partial_trace(recovered, (2, 4), [0]), omega, atol=1e-3)


@pytest.mark.parametrize("seed", SEEDS)
def test_petz_of_own_marginal_is_identity(seed):
    rng = np.random.default_rng(seed)
    for rank in (None, 3):  # full rank and rank-deficient rho
        rho = random_density(8, rng, rank=rank)
        rho_a = partial_trace(rho, (4, 2), [0])
        assert np.allclose(petz_recovery(rho, rho_a, (4, 2)), rho, atol=1e-9)


def test_petz_does_not_recover_non_commuting_marginal(rng):
    # The identity above needs [omega, rho_A] = 0; without it the marginal is generally off.
    rho = random_density(8, rng)
    omega = random_density(2, rng)
    out = partial_trace(petz_recovery(rho, omega, (2, 4)), (2, 4), [0])
    assert not np.allclose(out, omega, atol=1e-6)


@pytest.mark.parametrize("seed", SEEDS)
def test_relative_entropy_monotone_under_partial_trace(seed):
    rng = np.random.default_rng(seed)
    omega, rho = random_density(12, rng), random_density(12, rng)
    d_ab = relative_entropy(omega, rho)
    d_a = relative_entropy(partial_trace(omega, (3, 4), [0]), partial_trace(rho, (3, 4), [0]))
    assert d_ab >= d_a - 1e-12
    assert d_a >= 0


def test_relative_entropy_matches_matrix_log(rng):
    omega, rho = random_density(5, rng), random_density(5, rng)
    expected = np.trace(omega @ (sla.logm(omega) - sla.logm(rho))).real
    assert relative_entropy(omega, rho) == pytest.approx(expected, abs=1e-9)
    assert relative_entropy(rho, rho) == pytest.approx(0.0, abs=1e-12)


def test_relative_entropy_classical_is_kl(rng):
    p, q = rng.dirichlet(np.ones(6)), rng.dirichlet(np.ones(6))
    assert relative_entropy(np.diag(p), np.diag(q)) == pytest.approx(
        float(np.sum(p * np.log(p / q))), abs=1e-12
    )


def test_relative_entropy_rank_deficient(rng):
    # rho supported on span{e0, e1}; omega pure inside that support: finite.
    rho = np.diag([0.25, 0.75, 0.0, 0.0]).astype(complex)
    psi = np.array([np.sqrt(0.5), np.sqrt(0.5), 0, 0], dtype=complex)
    omega = np.outer(psi, psi.conj())
    expected = -(0.5 * np.log(0.25) + 0.5 * np.log(0.75))  # -S(omega)=0 minus <psi|log rho|psi>
    assert relative_entropy(omega, rho) == pytest.approx(expected, abs=1e-12)
    # omega with weight outside supp(rho): +inf.
    leaky = np.diag([0.5, 0.0, 0.5, 0.0]).astype(complex)
    assert relative_entropy(leaky, rho) == float("inf")
    # rho full rank, omega rank-deficient: finite, equals -S(omega) - Tr omega log rho.
    full = random_density(4, rng)
    assert np.isfinite(relative_entropy(omega, full))


def test_von_neumann_entropy_extremes(rng):
    assert von_neumann_entropy(np.eye(8) / 8) == pytest.approx(np.log(8), abs=1e-12)
    psi = rng.normal(size=4) + 1j * rng.normal(size=4)
    psi /= np.linalg.norm(psi)
    assert von_neumann_entropy(np.outer(psi, psi.conj())) == pytest.approx(0.0, abs=1e-12)


def test_gibbs_state_matches_expm(rng):
    h = random_hermitian(6, rng, scale=2.0)
    e = sla.expm(-h)
    assert np.allclose(gibbs_state(h), e / np.trace(e), atol=1e-12)
    assert log_partition(h) == pytest.approx(np.log(np.trace(e).real), abs=1e-10)


def test_gibbs_state_stable_for_large_norm(rng):
    h = random_hermitian(6, rng, scale=1e4)
    rho = gibbs_state(h)
    w, u = np.linalg.eigh(h)
    ground = np.outer(u[:, 0], u[:, 0].conj())  # gap >> 1 at this scale: pure ground state
    assert np.all(np.isfinite(rho))
    assert np.allclose(rho, ground, atol=1e-9)
    assert log_partition(h) == pytest.approx(-w[0], rel=1e-12)


@pytest.mark.parametrize("seed", SEEDS)
def test_qelbo_never_exceeds_likelihood(seed):
    rng = np.random.default_rng(seed)
    rho = gibbs_state(random_hermitian(8, rng))
    eta = random_density(8, rng)  # an arbitrary extension of its own marginal
    eta_a = partial_trace(eta, (2, 4), [0])
    assert qelbo(eta, rho, (2, 4)) <= log_likelihood(eta_a, rho, (2, 4)) + 1e-12


@pytest.mark.parametrize("seed", SEEDS)
def test_qelbo_tight_at_petz_under_condition_s(seed):
    # CQ model: H = sum_v |v><v| (x) H_L(v); classical (diagonal) data.
    rng = np.random.default_rng(seed)
    h = sla.block_diag(*[random_hermitian(4, rng) for _ in range(4)])
    rho = gibbs_state(h)
    eta_v = np.diag(rng.dirichlet(np.ones(4))).astype(complex)
    eta = petz_recovery(rho, eta_v, (4, 4))
    assert qelbo(eta, rho, (4, 4)) == pytest.approx(log_likelihood(eta_v, rho, (4, 4)), abs=1e-9)


def test_qelbo_loose_at_petz_without_condition_s(rng):
    rho = gibbs_state(random_hermitian(8, rng, scale=2.0))
    eta_v = random_density(2, rng)
    eta = petz_recovery(rho, eta_v, (2, 4))
    eta_a = partial_trace(eta, (2, 4), [0])
    assert qelbo(eta, rho, (2, 4)) < log_likelihood(eta_a, rho, (2, 4)) - 1e-6


def test_conditional_amplitude_operator(rng):
    rho = random_density(6, rng)
    rho_a = partial_trace(rho, (2, 3), [0])
    expected = sla.expm(sla.logm(rho) - np.kron(sla.logm(rho_a), np.eye(3)))
    assert np.allclose(conditional_amplitude_operator(rho, (2, 3)), expected, atol=1e-9)
    # For a CQ state it is sum_v |v><v| (x) rho_{B|v}.
    blocks = [random_density(3, rng) for _ in range(2)]
    p = [0.3, 0.7]
    cq = sla.block_diag(*[pv * b for pv, b in zip(p, blocks, strict=True)])
    assert np.allclose(
        conditional_amplitude_operator(cq, (2, 3)), sla.block_diag(*blocks), atol=1e-9
    )
