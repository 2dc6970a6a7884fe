"""Mean-field (variational) inference over the unclamped layers of a CQ-LVM.

Each unclamped layer's means are set, in sweep order, to its conditional expectations given the
means of its neighbours (a product-state fixed point, as in Salakhutdinov & Hinton's DBM positive
phase). For a quantum layer the "mean" is ``<n>`` of the one-qubit Gibbs state in the mean field,
and ``<X>`` is returned too. With one hidden layer and the visible layer clamped, one iteration is
exact: the conditional Gibbs state, i.e. the DO-EM E-step.
"""

from __future__ import annotations

from torch import Tensor

from qdoem.errors import check_int
from qdoem.layers.base import Stats

__all__ = ["mean_field"]


def mean_field(
    model,
    clamped: dict[int, Tensor],
    *,
    iterations: int = 10,
    init: list[Tensor | None] | None = None,
    estimator=None,
) -> list[Stats]:
    """Mean-field statistics of every layer, the ``clamped`` layers held at their values.

    Parameters
    ----------
    model : LayeredModel
    clamped : dict of int to Tensor
        Layer index -> fixed values (e.g. ``{0: v}``), all with the same batch size.
    iterations : int
        Sweeps over the unclamped layers (odd layers, then even ones).
    init : list, optional
        Starting means per layer (default 1/2 for every unclamped unit).
    estimator : optional
        Where quantum layers' statistics come from (default: closed form).

    Returns
    -------
    list of dict
        Per layer: ``{"mean": ...}`` (the clamped values for clamped layers), plus ``"x"`` for
        quantum layers.
    """
    if not clamped:
        raise ValueError("mean_field needs at least one clamped layer (e.g. {0: data})")
    check_int("iterations", iterations, 1)
    ref = next(iter(clamped.values()))
    means: list[Tensor | None] = []
    for k, layer in enumerate(model.layers):
        if k in clamped:
            means.append(clamped[k])
        elif init is not None and init[k] is not None:
            means.append(init[k])
        else:
            means.append(ref.new_full((ref.shape[0], layer.size), 0.5))
    stats: list[Stats] = [{"mean": m} for m in means]
    for _ in range(iterations):
        for k in model.sweep_order:
            if k in clamped:
                continue
            stats[k] = model.conditional(k, model.field(k, means), estimator)
            means[k] = stats[k]["mean"]
    return stats
