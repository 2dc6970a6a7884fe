"""Closed forms for one hidden qubit in a transverse field.

Given the visible units, a QRBM hidden qubit has the Hamiltonian
``H_j = -c n - Gamma X`` with ``n = |1><1|``. Its eigenvalues are ``-c/2 -/+ D`` with
``D = sqrt(c^2/4 + Gamma^2)``, hence

- ``log Tr exp(-H_j) = c/2 + log(2 cosh D)``                      (:func:`log_partition`)
- ``<n> = d/dc   = (1 + (c / 2D) tanh D) / 2``                      (:func:`occupation`)
- ``<X> = d/dGamma = (Gamma / D) tanh D``                           (:func:`transverse`)

At ``Gamma = 0`` these are ``softplus(c)``, ``sigmoid(c)`` and ``0``: the classical RBM.

The formulas are rewritten so that no step cancels catastrophically: ``log 2cosh D`` is
``D + log1p(exp(-2D))``, ``tanh D / D`` uses ``expm1``, and ``1 -/+ c/(2D)`` is computed as
``Gamma^2 / (D (D + |c|/2))`` on the small side. ``c = Gamma = 0`` (``D = 0``) is handled
by its limit, ``<n> = 1/2`` and ``<X> = 0``.
"""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["log_partition", "occupation", "transverse", "occupation_and_transverse"]


def _gap(c: Tensor, gamma: Tensor) -> Tensor:
    # hypot avoids overflow of c^2 for large fields.
    return torch.hypot(0.5 * c, gamma)


def log_partition(c: Tensor, gamma: Tensor) -> Tensor:
    """``log Tr exp(c n + Gamma X)`` for each hidden qubit.

    Parameters
    ----------
    c : Tensor
        Longitudinal fields ``b + W^T v``, shape ``(..., n_hidden)``.
    gamma : Tensor
        Transverse fields, broadcastable to ``c``.

    Returns
    -------
    Tensor
        ``c/2 + D + log1p(exp(-2D))``, i.e. ``c/2 + log 2cosh D``. Equals ``softplus(c)`` at
        ``Gamma = 0``.
    """
    d = _gap(c, gamma)
    return 0.5 * c + d + torch.log1p(torch.exp(-2.0 * d))


def occupation(c: Tensor, gamma: Tensor) -> Tensor:
    """Conditional occupation ``<n> = P(hidden qubit measured as 1 | v)``.

    Maths: ``<n> = (1 + r tanh D) / 2`` with ``r = c / 2D``, rewritten as
    ``((1 + r) + (1 - r) e^{-2D}) / (2 (1 + e^{-2D}))`` so every term is non-negative.
    Equals ``sigmoid(c)`` at ``Gamma = 0``.
    """
    return occupation_and_transverse(c, gamma)[0]


def transverse(c: Tensor, gamma: Tensor) -> Tensor:
    """Conditional transverse magnetisation ``<X> = (Gamma / D) tanh D`` (0 at ``Gamma = 0``)."""
    return occupation_and_transverse(c, gamma)[1]


def occupation_and_transverse(c: Tensor, gamma: Tensor) -> tuple[Tensor, Tensor]:
    """``(<n>, <X>)`` together, sharing ``D`` and ``exp(-2D)``.

    Parameters
    ----------
    c : Tensor
        Longitudinal fields, shape ``(..., n_hidden)``.
    gamma : Tensor
        Transverse fields, broadcastable to ``c``.

    Returns
    -------
    tuple of Tensor
        Occupation and transverse expectation, both shaped like ``c``.
    """
    half_c = 0.5 * c
    d = _gap(c, gamma)
    at_zero = d == 0
    d_safe = torch.where(at_zero, torch.ones_like(d), d)
    e = torch.exp(-2.0 * d)
    one_plus_e = 1.0 + e
    # 1 - |r| = Gamma^2 / (D (D + |c|/2)): exact, no cancellation, 1 in the D = 0 limit.
    small = torch.where(at_zero, torch.ones_like(d), gamma * gamma / (d_safe * (d_safe + half_c.abs())))
    big = 2.0 - small
    positive = c >= 0
    one_plus_r = torch.where(positive, big, small)
    one_minus_r = torch.where(positive, small, big)
    n = (one_plus_r + one_minus_r * e) / (2.0 * one_plus_e)
    # tanh(D)/D = -expm1(-2D) / ((1 + e^{-2D}) D); at D = 0 Gamma is 0 so <X> = 0.
    x = gamma * (-torch.expm1(-2.0 * d)) / (one_plus_e * d_safe)
    return n, x
