"""Synthetic binary benchmarks: Bernoulli mixture (Amin et al. 2018), Bars-and-Stripes,
parity and cardinality. Each loader returns a float tensor of {0,1} rows.

Amin et al.'s Bernoulli mixture (PRX 8, 021050 (2018), Sec. V): M modes s^k in {0,1}^N are drawn
uniformly at random. A sample picks a mode k uniformly and keeps each bit of s^k with probability
p (flips it with probability 1 - p), so

    P(v) = (1/M) sum_k p^(N - d(v, s^k)) (1 - p)^d(v, s^k),

with d the Hamming distance. Amin et al. use M = 8 and p = 0.9. :class:`BernoulliMixture` is the
distribution (numpy, exact ``P(v)``, used by the DO-EM vs gradient-QBM comparison);
:func:`bernoulli_mixture` draws a data set from it.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from qdoem.theory.bits import basis_states

__all__ = [
    "BernoulliMixture",
    "bars_and_stripes",
    "bernoulli_mixture",
    "cardinality",
    "empirical_distribution",
    "parity",
]


def _all_bits(n: int) -> Tensor:
    return torch.from_numpy(basis_states(n, dtype=np.float32))


def bernoulli_mixture(
    n_samples: int,
    n_visible: int,
    *,
    n_modes: int = 8,
    p: float = 0.9,
    seed: int = 0,
    split: str = "train",
) -> Tensor:
    """``n_samples`` rows drawn from ``BernoulliMixture(n_visible, n_modes, p, seed)``.

    The modes depend on ``seed`` (and the sizes) only, so data sets with different ``p`` and
    both splits share them; the train draws use the stream ``seed + 1``, the test draws an
    independent one (``SeedSequence((seed + 1, 1))``).
    """
    for name, value in (("n_samples", n_samples), ("n_visible", n_visible), ("n_modes", n_modes)):
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    mixture = BernoulliMixture(n_visible, n_modes=n_modes, p=p, seed=seed)
    draws = seed + 1 if split == "train" else (seed + 1, 1)
    return torch.from_numpy(mixture.sample(n_samples, seed=draws)).float()


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


@dataclass(frozen=True)
class BernoulliMixture:
    """Mixture of ``n_modes`` product Bernoulli distributions around random binary modes.

    Parameters
    ----------
    n_visible : int
        Number of bits N.
    n_modes : int
        Number of modes M (Amin et al.: 8).
    p : float
        Probability that a bit equals its mode's bit (Amin et al.: 0.9).
    seed : int
        Seed for the modes.
    """

    n_visible: int
    n_modes: int = 8
    p: float = 0.9
    seed: int = 0

    def __post_init__(self) -> None:
        if not isinstance(self.n_visible, int | np.integer) or self.n_visible < 1:
            raise ValueError(f"n_visible must be a positive integer, got {self.n_visible!r}")
        if not isinstance(self.n_modes, int | np.integer) or self.n_modes < 1:
            raise ValueError(f"n_modes must be a positive integer, got {self.n_modes!r}")
        if not 0.0 <= self.p <= 1.0:
            raise ValueError(f"p must be in [0, 1], got {self.p!r}")

    @property
    def modes(self) -> np.ndarray:
        """The (n_modes, n_visible) array of mode bit strings (0/1 as float64)."""
        rng = np.random.default_rng(self.seed)
        return rng.integers(0, 2, size=(self.n_modes, self.n_visible)).astype(np.float64)

    def sample(self, n_samples: int, seed: int = 1) -> np.ndarray:
        """Draw ``n_samples`` bit vectors, shape (n_samples, n_visible), float64 0/1."""
        if not isinstance(n_samples, int | np.integer) or n_samples < 1:
            raise ValueError(f"n_samples must be a positive integer, got {n_samples!r}")
        rng = np.random.default_rng(seed)
        k = rng.integers(0, self.n_modes, size=n_samples)
        flips = rng.random((n_samples, self.n_visible)) >= self.p
        return np.abs(self.modes[k] - flips)

    def probabilities(self, v: np.ndarray) -> np.ndarray:
        """Exact P(v) for rows of ``v`` (shape (..., n_visible))."""
        v = np.asarray(v, dtype=np.float64)
        if v.shape[-1] != self.n_visible:
            raise ValueError(f"v must have {self.n_visible} columns, got shape {v.shape}")
        modes = self.modes
        # Hamming distance to each mode, |v - mu| = v + mu - 2 v.mu for bits (no (.., M, n) copy)
        d = v.sum(-1)[..., None] + modes.sum(-1) - 2.0 * (v @ modes.T)
        n = self.n_visible
        return np.mean(self.p ** (n - d) * (1.0 - self.p) ** d, axis=-1)


def empirical_distribution(samples: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Support and weights of the empirical distribution of binary ``samples``.

    Returns
    -------
    support : (K, n) float64 array of distinct rows, in increasing binary order.
    weights : (K,) float64 array of frequencies, summing to 1.
    """
    samples = np.asarray(samples)
    if samples.ndim != 2 or samples.shape[0] == 0:
        raise ValueError(f"samples must be a non-empty 2-D array, got shape {samples.shape}")
    if not np.isin(samples, (0, 1)).all():
        raise ValueError("samples must contain only 0 and 1")
    support, counts = np.unique(samples.astype(np.float64), axis=0, return_counts=True)
    return support, counts / counts.sum()
