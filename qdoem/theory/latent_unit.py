"""Closed forms of one latent qubit in its conditional Gibbs state (numpy, float64).

In a CQ-LVM without latent-latent coupling, a latent qubit given its classical neighbours
has ``H = -c n - Gamma X`` with ``n = |1><1| = (I - Z)/2``. Its eigenvalues are
``-c/2 -/+ D`` with ``D = sqrt(c^2/4 + Gamma^2)``, so

- ``log Tr exp(-H) = c/2 + log 2cosh D``;
- ``<n> = (1 + (c / 2D) tanh D) / 2 = 1/2 + (c/4) tanh(D)/D``  (d/dc of the above);
- ``<X> = (Gamma / D) tanh D = Gamma tanh(D)/D``               (d/dGamma of the above);
- ``S = log Tr exp(-H) - c <n> - Gamma <X>``                    (von Neumann entropy);
- ``<z| exp(-H) |z> = e^{c/2} (cosh D + (2z - 1) (c/2) sinh(D)/D)`` for ``z in {0, 1}``, the
  Z-basis diagonal used by the exact Gibbs chains (MATH-NOTES).

At ``Gamma = 0`` these are ``softplus(c)``, ``sigmoid(c)``, ``0``, the binary entropy and
``e^{c z}``. This module is the numpy home of these formulas (circuits, backends and the exact
reference models use it); :mod:`qdoem.layers.qubit` is the torch twin used in training, and the
two are cross-tested.
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


def unit_entropy(c: np.ndarray, gamma: np.ndarray) -> np.ndarray:
    """Von Neumann entropy ``S = log Z - c <n> - Gamma <X>`` of each unit's Gibbs state, nats."""
    c = np.asarray(c, dtype=float)
    gamma = np.asarray(gamma, dtype=float)
    n, x = unit_expectations(c, gamma)
    return unit_log_partition(c, gamma) - c * n - gamma * x


def unit_log_diagonal(c: np.ndarray, gamma: np.ndarray, z: np.ndarray) -> np.ndarray:
    """``log <z| exp(c n + Gamma X) |z>`` for Z-basis outcomes ``z in {0, 1}`` (broadcasting).

    Maths: with ``s = c (1 - 2z)`` (relabelling 0 <-> 1 maps ``n`` to ``1 - n``),
    ``<z|exp(c n + Gamma X)|z> = e^{c z} <0|exp(s n + Gamma X)|0>`` and, with ``e = 2D``,
    ``<0|exp(s n + Gamma X)|0> = e^{s/2} [(e - s) e^{D} + (e + s) e^{-D}] / (2e)``.
    ``e - |s|`` is evaluated as ``4 Gamma^2 / (e + |s|)``, so nothing cancels; at
    ``c = Gamma = 0`` the element is 1.
    """
    c, gamma, z = np.broadcast_arrays(*(np.asarray(a, dtype=float) for a in (c, gamma, z)))
    if not np.all((z == 0) | (z == 1)):
        raise ValueError("z must contain only Z-basis outcomes 0 and 1")
    s = c * (1.0 - 2.0 * z)
    d = gap(s, gamma)
    e = 2.0 * d
    big = e + np.abs(s)  # e + |s| > 0 unless c = Gamma = 0
    safe = np.where(big > 0, big, 1.0)
    small = 4.0 * gamma**2 / safe  # e - |s|
    e_minus_s = np.where(s > 0, small, big)
    e_plus_s = np.where(s > 0, big, small)
    with np.errstate(divide="ignore"):
        log0 = (
            s / 2
            + np.logaddexp(np.log(e_minus_s) + d, np.log(e_plus_s) - d)
            - np.log(np.where(e > 0, 2.0 * e, 1.0))
        )
    return np.where(e > 0, log0, 0.0) + c * z
