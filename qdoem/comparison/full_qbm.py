"""Baseline (b): exact log-likelihood gradient of the full QBM from its 2^n x 2^n density matrix.

Nothing here uses the block structure of the QRBM: H is built as a dense matrix on all
n = n_visible + n_hidden qubits and diagonalised once per step, H = U diag(lam) U^T.

Maths
-----
L(theta) = Tr(eta_V log rho_V), rho_V = Tr_L exp(-H) / Z. For classical data eta_V is diagonal;
in this family rho_V is diagonal too, so they commute and

    dL = Tr(B dexp(-H)) - d log Z,    B = sum_v q(v) / p*(v) |v><v| (x) I_L,

with p*(v) = <v|Tr_L exp(-H)|v>. The Frechet derivative of exp(-H) (Daleckii-Krein) is
U (F o U^T dH U) U^T with the divided differences F_kl = (e^-lam_k - e^-lam_l)/(lam_k - lam_l)
(F_kk = -e^-lam_k). Hence, with O_k = dH'/dtheta_k = -dH/dtheta_k in {n_i, n_j, n_i n_j, X_j},

    dL/dtheta_k = -Tr(A O_k),   A = U (F o U^T B U + diag(e^-lam / Z)) U^T,

since d log Z/dtheta_k = Tr(rho O_k) and F < 0 makes -Tr(U (F o U^T B U) U^T O_k) the data term.

Cost per step: one dense eigh plus three dense matmuls, O(8^n) time and O(4^n) memory.
"""

from __future__ import annotations

import functools

import numpy as np
from scipy.linalg import eigh

from qdoem.theory.bits import state_index
from qdoem.theory.hamiltonian import HamiltonianFamily
from qdoem.theory.qrbm import QRBMParams, check_visible, check_weights

#: Dense 2^n x 2^n float64 matrices alive at once in :func:`exact_gradient` (U, B~, the divided
#: differences and their temporaries). tracemalloc measured 784 MiB = 6.1 matrices at n = 12.
MATRICES_ALIVE = 6


def memory_estimate_bytes(n_qubits: int) -> int:
    """Rough peak memory of one exact-gradient step on ``n_qubits`` (dense 2^n x 2^n float64)."""
    return MATRICES_ALIVE * 8 * 4**n_qubits


@functools.lru_cache(maxsize=8)
def _family(n_visible: int, n_hidden: int) -> HamiltonianFamily:
    return HamiltonianFamily.qrbm(n_visible, n_hidden)


def hamiltonian(p: QRBMParams) -> np.ndarray:
    """Dense H = -a.v - b.h - v^T W h - sum_j Gamma_j X_j on n_visible + n_hidden qubits.

    The QRBM family of :meth:`qdoem.theory.HamiltonianFamily.qrbm` at ``p.to_vector()`` (real).
    """
    return np.ascontiguousarray(_family(p.n_visible, p.n_hidden).hamiltonian(p.to_vector()).real)


def operator_traces(a: np.ndarray, n_visible: int, n_hidden: int) -> np.ndarray:
    """Tr(A O_k) for O_k = (n_i, n_j, n_i n_j, X_j), ordered like theta.

    The family's terms are ``-O_k``, so this is minus their expectations under ``A``.
    """
    return -_family(n_visible, n_hidden).expectations(a)


def _spectrum(p: QRBMParams):
    lam, u = eigh(hamiltonian(p), overwrite_a=True, check_finite=False)
    # Shift so that exp(-lam) <= 1; every quantity below is invariant under the shift.
    w = np.exp(-(lam - lam[0]))
    return lam, u, w


def log_likelihood(v: np.ndarray, q: np.ndarray, p: QRBMParams) -> float:
    """sum_v q(v) log p(v) with p(v) = <v|Tr_L exp(-H)|v> / Tr exp(-H), by diagonalisation."""
    v = check_visible(v, p.n_visible)
    q = check_weights(q, v.shape[0])
    _, u, w = _spectrum(p)
    return _log_likelihood(q, state_index(v), _pstar(u, w, p), w)


def _pstar(u: np.ndarray, w: np.ndarray, p: QRBMParams) -> np.ndarray:
    """p*(v) = <v|Tr_L exp(-H)|v> for every visible state (shifted like ``w``)."""
    return ((u * u) @ w).reshape(2**p.n_visible, 2**p.n_hidden).sum(1)


def _log_likelihood(q: np.ndarray, rows: np.ndarray, pstar: np.ndarray, w: np.ndarray) -> float:
    """sum_v q(v) [log p*(v) - log Z]; the common shift of p* and Z = sum(w) cancels."""
    return float(q @ (np.log(pstar[rows]) - np.log(w.sum())))


def exact_gradient(v: np.ndarray, q: np.ndarray, p: QRBMParams) -> np.ndarray:
    """dL/dtheta of L = sum_v q(v) log p(v) through the full density matrix (see module notes)."""
    return log_likelihood_and_gradient(v, q, p)[1]


def log_likelihood_and_gradient(
    v: np.ndarray, q: np.ndarray, p: QRBMParams
) -> tuple[float, np.ndarray]:
    """(L, dL/dtheta) from one dense diagonalisation: :func:`log_likelihood` and
    :func:`exact_gradient` share the spectrum (L-BFGS needs both at every evaluation)."""
    v = check_visible(v, p.n_visible)
    q = check_weights(q, v.shape[0])
    m, k = p.n_visible, p.n_hidden
    lam, u, w = _spectrum(p)
    pstar = _pstar(u, w, p)
    rows = state_index(v)
    value = _log_likelihood(q, rows, pstar, w)
    b_vis = np.zeros(2**m)
    np.add.at(b_vis, rows, q)
    b_diag = np.repeat(b_vis / pstar, 2**k)  # B = sum_v q(v)/p*(v) |v><v| (x) I_L
    b_tilde = u.T @ (b_diag[:, None] * u)
    # Divided differences of exp(-x) (shifted); the diagonal limit is -exp(-lam).
    dl = lam[:, None] - lam[None, :]
    close = np.abs(dl) < 1e-9
    dw = w[:, None] - w[None, :]
    f = np.where(close, -0.5 * (w[:, None] + w[None, :]), dw / np.where(close, 1.0, dl))
    del dw
    del dl, close
    inner = f * b_tilde
    del f, b_tilde
    inner[np.diag_indices_from(inner)] += w / w.sum()  # + rho: the -d log Z term
    a = u @ inner @ u.T
    return value, -operator_traces(a, m, k)
