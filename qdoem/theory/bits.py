"""The one home of the bit order: qubit 0 is the first tensor factor and the most significant bit.

A computational basis state of ``n`` qubits (or ``n`` {0,1} units) is numbered by the integer
``k = sum_i b_i 2^(n - 1 - i)``: bit ``b_0`` of qubit 0 is the most significant. This is the row
order of ``np.kron(a_0, a_1, ...)`` and of ``SparsePauliOp(label).to_matrix()`` with the label read
left to right. Every enumeration of states in qdoem (exact likelihoods, data states, dense
Hamiltonians, transition matrices) goes through these two functions.
"""

from __future__ import annotations

import numpy as np

__all__ = ["basis_states", "state_index"]


def basis_states(
    n: int, start: int = 0, stop: int | None = None, dtype: np.dtype = np.float64
) -> np.ndarray:
    """Rows ``b`` in ``{0,1}^n`` for the basis-state indices ``start <= k < stop``.

    Parameters
    ----------
    n : int
        Number of bits (qubits), at most 62.
    start, stop : int
        Index range; ``stop`` defaults to ``2**n``.
    dtype : numpy dtype
        Element type of the result.

    Returns
    -------
    ndarray, shape ``(stop - start, n)``
        Row ``r`` holds the bits of index ``start + r``, qubit 0 (most significant) first.
    """
    if not 0 <= n <= 62:
        raise ValueError(f"n must be between 0 and 62 bits, got {n}")
    stop = 2**n if stop is None else stop
    if not 0 <= start <= stop <= 2**n:
        raise ValueError(f"need 0 <= start <= stop <= 2**{n}, got start={start}, stop={stop}")
    k = np.arange(start, stop, dtype=np.int64)
    shifts = np.arange(n - 1, -1, -1, dtype=np.int64)
    return ((k[:, None] >> shifts) & 1).astype(dtype)


def state_index(bits: np.ndarray) -> np.ndarray:
    """Basis-state index of each row of ``{0,1}`` bits (qubit 0 most significant).

    The inverse of :func:`basis_states`: ``state_index(basis_states(n)) == arange(2**n)``.
    Accepts numpy arrays and torch tensors (anything ``np.asarray`` takes).
    """
    b = np.asarray(bits)
    if b.ndim == 0 or b.shape[-1] > 62:
        raise ValueError(f"bits must have a last axis of at most 62 bits, got shape {b.shape}")
    if not np.all((b == 0) | (b == 1)):
        raise ValueError("bits must contain only 0 and 1")
    weights = 1 << np.arange(b.shape[-1] - 1, -1, -1, dtype=np.int64)
    return b.astype(np.int64) @ weights
