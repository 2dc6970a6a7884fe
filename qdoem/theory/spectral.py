"""Functions of Hermitian matrices by eigendecomposition.

Everything in the exact core reduces to ``f(A) = U f(Lambda) U^dagger`` for Hermitian
``A = U Lambda U^dagger``. Eigenvalues below ``SUPPORT_TOL * lambda_max`` count as zero:
that threshold defines the *support* used by pseudo-inverses and logarithms.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

# Relative eigenvalue threshold for "in the support". Products of square roots and
# matrix exponentials carry errors of ~1e-16 * ||A||; 1e-12 leaves four orders of margin.
SUPPORT_TOL = 1e-12


def eigh(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Eigendecomposition of the Hermitian part of ``a`` (ascending eigenvalues)."""
    return np.linalg.eigh((a + a.conj().T) / 2)


def apply(u: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Reassemble ``U diag(values) U^dagger``."""
    return (u * values) @ u.conj().T


def support_mask(w: np.ndarray) -> np.ndarray:
    """Eigenvalues that are numerically non-zero (relative to the largest)."""
    scale = max(float(np.max(np.abs(w))), np.finfo(float).tiny)
    return w > SUPPORT_TOL * scale


def psd_function(a: np.ndarray, f: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """``f`` applied to the support of a PSD matrix; zero on its kernel."""
    w, u = eigh(a)
    mask = support_mask(w)
    values = np.zeros_like(w)
    values[mask] = f(w[mask])
    return apply(u, values)


def sqrtm_psd(a: np.ndarray) -> np.ndarray:
    """``A^{1/2}`` of a PSD matrix."""
    return psd_function(a, np.sqrt)


def inv_sqrtm_psd(a: np.ndarray) -> np.ndarray:
    """``A^{-1/2}`` on the support of ``A`` (Moore-Penrose sense), zero on its kernel."""
    return psd_function(a, lambda w: 1.0 / np.sqrt(w))


def logm_psd(a: np.ndarray) -> np.ndarray:
    """``log A`` on the support of ``A``, zero on its kernel."""
    return psd_function(a, np.log)


def entropy_of_spectrum(w: np.ndarray) -> float:
    """``-sum w log w`` over the strictly positive eigenvalues (0 log 0 = 0)."""
    w = w[support_mask(w)]
    return float(-np.sum(w * np.log(w)))


def frechet_weights(w: np.ndarray, f: Callable, df: Callable) -> np.ndarray:
    """Divided differences ``F_ij = (f(w_i) - f(w_j)) / (w_i - w_j)``, ``F_ii = f'(w_i)``.

    The Frechet derivative of ``A -> f(A)`` at ``A = U diag(w) U^dagger`` in direction
    ``E`` is ``U (F o (U^dagger E U)) U^dagger`` (Daleckii-Krein), where ``o`` is the
    entrywise product. Near-degenerate pairs use the derivative to avoid cancellation.
    """
    fw = f(w)
    diff = w[:, None] - w[None, :]
    close = np.abs(diff) <= 1e-10 * max(1.0, float(np.max(np.abs(w))))
    with np.errstate(divide="ignore", invalid="ignore"):
        weights = (fw[:, None] - fw[None, :]) / diff
    mid = (w[:, None] + w[None, :]) / 2
    weights[close] = df(mid[close])
    return weights
