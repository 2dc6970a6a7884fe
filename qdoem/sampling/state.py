"""The state of a batch of Markov chains over the layers of a CQ-LVM."""

from __future__ import annotations

from torch import Tensor

from qdoem.layers.base import Stats

__all__ = ["ChainState"]


class ChainState:
    """Z-basis values of every layer for a batch of chains, with cached fields and statistics.

    ``values[k]`` is the ``(batch, size_k)`` configuration of layer ``k`` (None while a layer has
    not been sampled yet; a kernel samples it before anything reads it). The field of layer ``k``
    and its conditional statistics depend only on its neighbours, so they are cached in
    ``fields[k]`` and ``stats[k]`` until layer ``k - 1`` or ``k + 1`` changes, and so are the
    exact chain's MH terms of a quantum layer, ``terms[k]`` (``Layer.chain_terms`` of
    ``fields[k]``). Kernels that change a layer go through :meth:`set_value`, which drops exactly
    those caches.

    Attributes
    ----------
    mh_accepted : Tensor or None
        Number of accepted Metropolis-Hastings proposals so far (a tensor, summed on the
        device without a synchronisation per step).
    mh_proposed : int
        Number of proposals made.
    """

    def __init__(self, values: list[Tensor | None]) -> None:
        self.values: list[Tensor | None] = list(values)
        self.fields: dict[int, Tensor] = {}
        self.stats: dict[int, Stats] = {}
        self.terms: dict[int, tuple[Tensor, ...]] = {}
        self.twin_log_weight: Tensor | None = None
        self.mh_accepted: Tensor | None = None
        self.mh_proposed = 0

    def field(self, model, k: int) -> Tensor:
        """The field of layer ``k`` at the current values (cached)."""
        if k not in self.fields:
            self.fields[k] = model.field(k, self.values)
        return self.fields[k]

    def statistics(self, model, k: int, estimator=None, *, with_sample: bool = False) -> Stats:
        """Conditional statistics of layer ``k`` at the current values (cached).

        They replace layer ``k``'s MH terms, which are dropped (a later MH move recomputes them
        from the field): at a chain's end the statistics are what is kept, not both.
        """
        if k not in self.stats:
            self.stats[k] = model.conditional(
                k, self.field(model, k), estimator, with_sample=with_sample
            )
            self.terms.pop(k, None)
        return self.stats[k]

    def set_value(self, k: int, x: Tensor) -> None:
        """Replace the values of layer ``k``; the caches of its neighbours become stale."""
        self.values[k] = x
        for j in (k - 1, k + 1):
            self.fields.pop(j, None)
            self.stats.pop(j, None)
            self.terms.pop(j, None)
        self.twin_log_weight = None

    def forget_caches(self) -> None:
        """Drop every cached field and statistic (after the model's parameters changed)."""
        self.fields.clear()
        self.stats.clear()
        self.terms.clear()
        self.twin_log_weight = None

    def count_mh(self, accepted: Tensor) -> None:
        """Record one batch of Metropolis-Hastings decisions (``accepted`` is boolean)."""
        n = accepted.sum()
        self.mh_accepted = n if self.mh_accepted is None else self.mh_accepted + n
        self.mh_proposed += accepted.numel()
