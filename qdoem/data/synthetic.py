"""Synthetic binary benchmarks: Bernoulli mixture (Amin et al. 2018), Bars-and-Stripes,
parity and cardinality. Each returns a float tensor of {0,1} rows."""

from __future__ import annotations

import itertools

import torch
from torch import Tensor

__all__ = ["bernoulli_mixture", "bars_and_stripes", "parity", "cardinality"]


def _all_bits(n: int) -> Tensor:
    k = torch.arange(2**n)
    return ((k[:, None] >> torch.arange(n - 1, -1, -1)) & 1).float()


def bernoulli_mixture(
    n_samples: int, n_visible: int, *, n_modes: int = 8, p: float = 0.9, seed: int = 0
) -> Tensor:
    """Amin et al.'s mixture: M random binary modes ``s^k``; a sample picks a mode uniformly and
    copies each of its bits with probability ``p`` (flips it otherwise).

    Maths: ``P(v) = (1/M) sum_k p^{N - d_k} (1 - p)^{d_k}``, ``d_k`` the Hamming distance
    between v and ``s^k``.
    """
    if n_samples < 1 or n_visible < 1 or n_modes < 1:
        raise ValueError("n_samples, n_visible and n_modes must be positive")
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"p must be in [0, 1], got {p}")
    gen = torch.Generator().manual_seed(seed)
    modes = (torch.rand(n_modes, n_visible, generator=gen) < 0.5).float()
    pick = torch.randint(n_modes, (n_samples,), generator=gen)
    flip = (torch.rand(n_samples, n_visible, generator=gen) >= p).float()
    return (modes[pick] + flip) % 2


def bars_and_stripes(rows: int = 3, cols: int | None = None) -> Tensor:
    """All distinct ``rows x cols`` Bars-and-Stripes images, flattened row-major.

    Stripes: each row all-on or all-off; bars: each column likewise. There are
    ``2^rows + 2^cols - 2`` distinct patterns (empty and full are both).
    """
    cols = rows if cols is None else cols
    if rows < 1 or cols < 1:
        raise ValueError(f"rows and cols must be positive, got {rows}, {cols}")
    stripes = _all_bits(rows)[:, :, None].expand(-1, rows, cols)
    bars = _all_bits(cols)[:, None, :].expand(-1, rows, cols)
    images = torch.cat([stripes, bars]).reshape(-1, rows * cols)
    return torch.unique(images, dim=0)


def parity(n_bits: int, *, odd: bool = False) -> Tensor:
    """All strings of ``n_bits`` with even (or odd) parity: ``2^(n_bits - 1)`` rows."""
    if n_bits < 1:
        raise ValueError(f"n_bits must be positive, got {n_bits}")
    bits = _all_bits(n_bits)
    return bits[bits.sum(1) % 2 == int(odd)]


def cardinality(n_bits: int, k: int | list[int] | None = None) -> Tensor:
    """All strings of ``n_bits`` whose Hamming weight is ``k`` (an int or list; default n/2)."""
    if n_bits < 1:
        raise ValueError(f"n_bits must be positive, got {n_bits}")
    ks = [n_bits // 2] if k is None else ([k] if isinstance(k, int) else list(k))
    if any(not 0 <= kk <= n_bits for kk in ks):
        raise ValueError(f"cardinality k must be in [0, {n_bits}], got {ks}")
    rows = []
    for kk in sorted(set(ks)):
        for ones in itertools.combinations(range(n_bits), kk):
            row = torch.zeros(n_bits)
            row[list(ones)] = 1.0
            rows.append(row)
    return torch.stack(rows)
