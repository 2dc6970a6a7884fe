"""Baseline (a): Amin et al.'s bound-based training (bQRBM), PRX 8, 021050 (2018), Sec. III-IV.

Maths
-----
Amin et al. replace the intractable log-likelihood by the Golden-Thompson bound
-L <= -L~ = -sum_v q(v) log( Tr exp(-H_v) / Tr exp(-H) ), where H_v = <v|H|v> is the clamped
Hamiltonian (visible qubits pinned to v by an infinite penalty). Its gradient is

    dL~/dtheta = sum_v q(v) <dH'/dtheta>_{H_v} - <dH'/dtheta>_rho,

a positive phase (clamped averages) minus a negative phase (full-model averages). In the bQRBM
the transverse fields sit on the hidden qubits only, hidden qubits are uncoupled, and the positive
phase is closed form (Amin et al., Eqs. for the restricted QBM): <n_j>_v and <X_j>_v as in
MATH-NOTES. The negative phase is computed, as in their small-size experiments, from the full
2^n x 2^n Hamiltonian by exact diagonalisation (their large-size runs use QMC sampling instead;
that is not reproduced here).

For the QRBM family H is block diagonal in v, H_v is exactly the block H_L(v), and the bound is
tight: L~ = L and its gradient is the exact likelihood gradient. The methods therefore differ in
cost, not in the update.
"""

from __future__ import annotations

import numpy as np
from scipy.linalg import eigh

from qdoem.comparison.full_qbm import hamiltonian
from qdoem.theory.bits import basis_states, state_index
from qdoem.theory.qrbm import (
    QRBMParams,
    check_visible,
    check_weights,
    log_unnormalised_marginal,
    statistics,
)


def negative_phase(p: QRBMParams) -> tuple[float, np.ndarray]:
    """(log Z, <dH'/dtheta>_rho) from exact diagonalisation of the dense 2^n Hamiltonian."""
    m, k = p.n_visible, p.n_hidden
    lam, u = eigh(hamiltonian(p), overwrite_a=True, check_finite=False)
    w = np.exp(-(lam - lam[0]))
    z = w.sum()
    w /= z
    bits = basis_states(m + k)
    bv, bh = bits[:, :m], bits[:, m:]
    diag = (u * u) @ w  # <s|rho|s>
    idx = np.arange(2 ** (m + k))
    # Tr(rho X_j) = sum_k w_k sum_s U[s,k] U[s ^ flip_j, k]
    x = [np.einsum("sk,sk->k", u, u[idx ^ (1 << (k - 1 - j))]) @ w for j in range(k)]
    stats = np.concatenate([diag @ bv, diag @ bh, (bv.T @ (diag[:, None] * bh)).ravel(), x])
    return float(np.log(z) - lam[0]), stats


def bound_gradient(v: np.ndarray, q: np.ndarray, p: QRBMParams) -> np.ndarray:
    """Gradient of Amin et al.'s bound L~: closed-form positive phase minus exact negative phase."""
    v = check_visible(v, p.n_visible)
    q = check_weights(q, v.shape[0])
    return statistics(v, q, p) - negative_phase(p)[1]


def bound_value_and_gradient(
    v: np.ndarray, q: np.ndarray, p: QRBMParams
) -> tuple[float, np.ndarray]:
    """(L~, dL~/dtheta) with one exact diagonalisation (the negative phase), for L-BFGS.

    The positive phase is closed form, as in Amin et al.'s restricted QBM: the clamped
    log Tr exp(-H_v) of uncoupled hidden qubits is log p*(v) (:func:`clamped_log_partition` is
    its dense check).
    """
    v = check_visible(v, p.n_visible)
    q = check_weights(q, v.shape[0])
    log_z, model = negative_phase(p)
    return float(q @ log_unnormalised_marginal(v, p) - log_z), statistics(v, q, p) - model


def clamped_log_partition(v: np.ndarray, p: QRBMParams) -> np.ndarray:
    """log Tr exp(-H_v) for each row of ``v``, by diagonalising the clamped 2^n_hidden block.

    Generic (it reads the block out of the dense H), so it checks the closed forms in tests.
    """
    v = check_visible(v, p.n_visible)
    k = p.n_hidden
    h = hamiltonian(p)
    rows = state_index(v)
    out = np.empty(len(rows))
    for r, vi in enumerate(rows):
        block = h[vi * 2**k : (vi + 1) * 2**k, vi * 2**k : (vi + 1) * 2**k]
        lam = np.linalg.eigvalsh(block)
        out[r] = -lam[0] + np.log(np.exp(-(lam - lam[0])).sum())
    return out


def bound_value(v: np.ndarray, q: np.ndarray, p: QRBMParams) -> float:
    """Amin et al.'s lower bound on the average log-likelihood, L~ = sum q log Tr e^-H_v - log Z."""
    v = check_visible(v, p.n_visible)
    q = check_weights(q, v.shape[0])
    return float(q @ clamped_log_partition(v, p) - negative_phase(p)[0])
