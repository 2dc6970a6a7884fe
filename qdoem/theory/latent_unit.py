"""Closed forms of one latent qubit in its conditional Gibbs state (numpy, float64).

In a CQ-LVM without latent-latent coupling, a latent qubit given its classical neighbours
has ``H = -c n - Gamma X`` with ``n = |1><1| = (I - Z)/2``. Its eigenvalues are
``-c/2 -/+ D`` with ``D = sqrt(c^2/4 + Gamma^2)``, so

- ``log Tr exp(-H) = c/2 + log 2cosh D``;
- ``<n> = (1 + (c / 2D) tanh D) / 2 = 1/2 + (c/4) tanh(D)/D``  (d/dc of the above);
- ``<X> = (Gamma / D) tanh D = Gamma tanh(D)/D``               (d/dGamma of the above).

At ``Gamma = 0`` these are ``softplus(c)``, ``sigmoid(c)`` and ``0``. This module is the
numpy home of these formulas (circuits, backends and the small-model comparisons use it);
:mod:`qdoem.models.qubit` is the torch twin used in training.
"""

from __future__ import annotations

import numpy as np

# Below this D, tanh(D)/D is replaced by its series 1 - D^2/3 (next term D^4 * 2/15 < 1e-24).
_SMALL_D = 1e-6


def gap(c: np.ndarray, gamma: np.ndarray) -> np.ndarray:
    """``D = sqrt(c^2/4 + Gamma^2)``, without overflow for large fields."""
    return np.hypot(0.5 * np.asarray(c, dtype=float), np.asarray(gamma, dtype=float))


def tanh_over(d: np.ndarray) -> np.ndarray:
    """``tanh(D) / D`` for ``D >= 0``, with its limit 1 at ``D = 0``."""
    d = np.asarray(d, dtype=float)
    safe = np.where(d < _SMALL_D, 1.0, d)
    return np.where(d < _SMALL_D, 1.0 - d**2 / 3.0, np.tanh(safe) / safe)


def log_2cosh(d: np.ndarray) -> np.ndarray:
    """``log(2 cosh D) = |D| + log1p(exp(-2|D|))``, stable for large ``|D|``."""
    ad = np.abs(np.asarray(d, dtype=float))
    return ad + np.log1p(np.exp(-2.0 * ad))


def unit_log_partition(c: np.ndarray, gamma: np.ndarray) -> np.ndarray:
    """``log Tr exp(c n + Gamma X) = c/2 + log 2cosh D`` per unit (broadcasting)."""
    return 0.5 * np.asarray(c, dtype=float) + log_2cosh(gap(c, gamma))


def unit_expectations(c: np.ndarray, gamma: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(<n>, <X>)`` per unit (broadcasting); smooth at ``c = Gamma = 0``."""
    c = np.asarray(c, dtype=float)
    gamma = np.asarray(gamma, dtype=float)
    t = tanh_over(gap(c, gamma))
    return 0.5 + 0.25 * c * t, gamma * t
