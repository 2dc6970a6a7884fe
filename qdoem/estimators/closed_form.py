"""The default estimator: closed-form statistics, Z-basis samples drawn on the host."""

from __future__ import annotations

import torch
from torch import Tensor

from qdoem.layers.base import Layer, Params, Stats

__all__ = ["ClosedFormEstimator", "make_estimator"]


class ClosedFormEstimator:
    """Exact ``<n>``, ``<X>`` of each qubit's Gibbs state; Z-basis samples ``Bernoulli(<n>)``.

    Samples come from the generator of the caller's step (seeded from ``(seed, epoch, step)`` by
    the trainer), the same stream as the classical layers' draws: a quantum layer at Gamma = 0
    then samples exactly like its classical twin, draw for draw.
    """

    name = "closed-form"
    #: Statistics are the model's closed forms: samplers may reuse and blend them.
    closed_form = True

    def start_step(self, epoch: int, step: int) -> None:
        """Nothing to reseed: the closed form draws from the caller's step generator."""

    def statistics(
        self, layer: Layer, field: Tensor, params: Params, with_sample: bool = False
    ) -> Stats:
        return layer.statistics(field, params)

    def sample(
        self,
        layer: Layer,
        field: Tensor,
        params: Params,
        stats: Stats | None,
        generator: torch.Generator,
    ) -> Tensor:
        if stats is None:
            stats = layer.statistics(field, params)
        return layer.sample(stats, generator)


def make_estimator(backend=None, shots: int | None = 1000, seed: int = 0):
    """The estimator a configuration names: closed form, or circuits on ``backend``.

    Parameters
    ----------
    backend : str, backends.Backend or None
        None for the closed form; a backend name (``"aer"``, ``"ibm:fake_manila"``, ...) or a
        :class:`backends.Backend` instance (injected with its own options) for circuits.
    shots : int or None
        Shots per unit and basis on a backend (None: the backend's exact expectations).
    seed : int
        Seed of a backend estimator's random stream.
    """
    from qdoem.estimators.backend import BackendEstimator

    if backend is None:
        return ClosedFormEstimator()
    return BackendEstimator(backend, shots=shots, seed=seed)
