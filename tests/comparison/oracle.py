"""Independent oracles: dense scipy.linalg.expm (no eigh, no closed forms)."""

import numpy as np
from scipy.linalg import expm

from qdoem.comparison.full_qbm import hamiltonian
from qdoem.theory import state_index
from qdoem.theory.qrbm import QRBMParams


def expm_marginal(p: QRBMParams) -> np.ndarray:
    """p(v) for every visible state, as the diagonal of Tr_L exp(-H) / Tr exp(-H)."""
    e = expm(-hamiltonian(p))
    d = np.diag(e).reshape(2**p.n_visible, 2**p.n_hidden).sum(1)
    return d / np.trace(e)


def expm_log_likelihood(v: np.ndarray, q: np.ndarray, p: QRBMParams) -> float:
    idx = state_index(v)
    return float(q @ np.log(expm_marginal(p)[idx]))


def finite_difference_gradient(v, q, p: QRBMParams, h: float = 1e-5) -> np.ndarray:
    """Central differences of the expm log-likelihood in every parameter."""
    x = p.to_vector()
    g = np.empty_like(x)
    for i in range(x.size):
        e = np.zeros_like(x)
        e[i] = h
        up = QRBMParams.from_vector(x + e, p.n_visible, p.n_hidden)
        dn = QRBMParams.from_vector(x - e, p.n_visible, p.n_hidden)
        g[i] = (expm_log_likelihood(v, q, up) - expm_log_likelihood(v, q, dn)) / (2 * h)
    return g
