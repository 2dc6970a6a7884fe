"""Couplings between neighbouring layers, and how their matrix products are computed.

A coupling ``W`` (shape ``(size_lower, size_upper)``) contributes ``-s^T W x_upper`` to the
Hamiltonian, ``s`` being the lower layer's coupling value. It feeds the field
``W^T s`` to the upper layer (:meth:`Coupling.up`) and ``W x_upper`` to the lower one
(:meth:`Coupling.down`), and its DO-EM ascent direction is ``E_data[s x^T] - E_model[s x^T]``
(:meth:`Coupling.gradient`).

Three ways to multiply, all equal up to float rounding:

- dense: ``addmm`` in the parameter dtype;
- mixed precision (``matmul_dtype``, e.g. bfloat16): {0,1} samples are exact in it, products
  accumulate in float32, and the master weights stay in the parameter dtype; the low-precision
  copy of ``W`` is cast once per update;
- sparse lower side (``sparse=True``, {0,1} visible data such as binarized MNIST, ~13% ones):
  gather-sums (``embedding_bag``) over the rows of ``W`` picked by the ones; the products with
  ~50%-dense hidden samples stay dense.
"""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["Coupling"]


class Coupling:
    """How the products with one coupling matrix are computed (the matrix itself is a parameter).

    Parameters
    ----------
    name : str
        The parameter's name in the model.
    lower : int
        Index of the lower layer; the upper one is ``lower + 1``.
    dtype : torch.dtype
        Parameter dtype.
    matmul_dtype : torch.dtype, optional
        Mixed-precision matmuls (see the module notes).
    sparse : bool
        Gather-sums for products with the {0,1} lower layer.
    """

    def __init__(
        self,
        name: str,
        lower: int,
        dtype: torch.dtype,
        matmul_dtype: torch.dtype | None = None,
        sparse: bool = False,
    ) -> None:
        self.name = name
        self.lower = lower
        self.dtype = dtype
        self.matmul_dtype = matmul_dtype if matmul_dtype not in (None, dtype) else None
        self.sparse = sparse
        self._low: tuple[Tensor, int, Tensor] | None = None

    def _low_weights(self, w: Tensor) -> Tensor:
        """``w`` in ``matmul_dtype``, recast only after ``w`` is replaced or updated in place."""
        cached = self._low
        # ``_version`` is bumped by every in-place update of ``w``.
        if cached is None or cached[0] is not w or cached[1] != w._version:
            cached = (w, w._version, w.to(self.matmul_dtype))
            self._low = cached
        return cached[2]

    def up(self, w: Tensor, s: Tensor, out: Tensor) -> Tensor:
        """``out + s @ W``: the field the lower layer's values ``s`` send to the upper layer."""
        if self.sparse:
            # Row b of the result sums the rows of W where s[b] is 1.
            # nonzero on bool is ~2x faster than on float for scattered ones.
            rows, cols = s.bool().nonzero(as_tuple=True)
            return _bag_sum(w, cols, _bag_offsets(rows, s.shape[0])).add_(out)
        if self.matmul_dtype is not None:
            c = torch.mm(s.to(self.matmul_dtype), self._low_weights(w)).to(self.dtype)
            return c.add_(out)
        return torch.addmm(out, s, w)

    def down(self, w: Tensor, x: Tensor, out: Tensor, *, inplace: bool = False) -> Tensor:
        """``out + x @ W^T``: the field the upper layer's values ``x`` send to the lower layer.

        ``inplace``: ``out`` is a temporary of the caller, which the dense product accumulates
        into (the same ``gemm`` with ``beta = 1`` as the out-of-place ``addmm``, so the same
        bits, without a second field-sized buffer while it runs).
        """
        if self.matmul_dtype is not None:
            c = torch.mm(x.to(self.matmul_dtype), self._low_weights(w).T).to(self.dtype)
            return c.add_(out)
        if inplace and out.shape == (x.shape[0], w.shape[0]):
            return out.addmm_(x, w.T)
        return torch.addmm(out, x, w.T)

    def gradient(self, s_d: Tensor, x_d: Tensor, s_m: Tensor, x_m: Tensor) -> Tensor:
        """``s_d^T x_d / B_d - s_m^T x_m / B_m`` (data minus model), as one product.

        The weight term is one matmul on the stacked batches,
        ``[s_d; s_m]^T [x_d / B_d; -x_m / B_m]``, so the difference is accumulated before any
        rounding (this matters in mixed precision, where the two terms nearly cancel).
        """
        lhs = torch.cat([s_d, s_m]).T
        b_d, b_m = s_d.shape[0], s_m.shape[0]
        # The same values as cat([x_d / B_d, x_m / -B_m]), divided straight into one buffer.
        rhs = x_d.new_empty((b_d + b_m,) + tuple(x_d.shape[1:]))
        torch.div(x_d, b_d, out=rhs[:b_d])
        torch.div(x_m, -b_m, out=rhs[b_d:])
        if self.sparse:
            # Row i of lhs @ rhs sums the rows of rhs where column i of [s_d; s_m] is 1.
            units, samples = lhs.bool().nonzero(as_tuple=True)
            return _bag_sum(rhs, samples, _bag_offsets(units, lhs.shape[0]))
        if self.matmul_dtype is not None:
            return torch.mm(lhs.to(self.matmul_dtype), rhs.to(self.matmul_dtype)).to(self.dtype)
        return lhs @ rhs


def _bag_offsets(sorted_ids: Tensor, n_bags: int) -> Tensor:
    """Bag boundaries (``n_bags + 1``, last = end) of the non-decreasing ``sorted_ids``."""
    bounds = torch.arange(n_bags + 1, device=sorted_ids.device, dtype=sorted_ids.dtype)
    return torch.searchsorted(sorted_ids, bounds)


def _bag_sum(table: Tensor, index: Tensor, offsets: Tensor) -> Tensor:
    """``out[k] = sum of table[index[offsets[k]:offsets[k + 1]]]`` (a {0,1} matrix times
    ``table``, given the column indices of its ones, row by row)."""
    return torch.nn.functional.embedding_bag(
        index, table, offsets, mode="sum", include_last_offset=True
    )
