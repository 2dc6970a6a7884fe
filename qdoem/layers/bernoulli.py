"""Classical {0,1} units: the Gibbs state of ``-c n`` is the Bernoulli law ``P(1) = sigmoid(c)``.

Maths: ``log Tr exp(c n) = softplus(c)``, ``<n> = sigmoid(c)``, entropy
``softplus(c) - c sigmoid(c)``. These are the ``Gamma = 0`` limits of :mod:`qdoem.layers.qubit`.
"""

from __future__ import annotations

import torch
from torch import Tensor
from torch.nn import functional as F

from qdoem.layers.base import Layer, Params, Stats

__all__ = ["BernoulliLayer", "bernoulli_sample"]

# softplus(c) = c exactly in float64 above this threshold (log1p(e^-40) < 2^-52 * 40).
SOFTPLUS_THRESHOLD = 40.0


def bernoulli_sample(p: Tensor, generator: torch.Generator) -> Tensor:
    """{0,1} draws with ``P(1) = p``, in ``p``'s dtype: ``u < p`` with ``u ~ U[0, 1)``.

    Written as an in-place compare on the uniform draws: the same values as ``(u < p).to(dtype)``
    without the bool temporary and the cast (this is on the training hot path). Inside a
    compiled sweep (``compile=True``, :mod:`qdoem.sampling.fused`) the compare is the compiled
    one, on the same uniforms: the same values.
    """
    from qdoem.sampling import fused  # here, not at import: qdoem.sampling imports the layers

    u = torch.rand(p.shape, generator=generator, device=p.device, dtype=p.dtype)
    return fused.bernoulli(u, p) if fused.active() else u.lt_(p)


class BernoulliLayer(Layer):
    """Classical binary units with biases ``bias``."""

    def log_partition(self, field: Tensor, params: Params) -> Tensor:
        return F.softplus(field, threshold=SOFTPLUS_THRESHOLD)

    def statistics(self, field: Tensor, params: Params) -> Stats:
        return {"mean": torch.sigmoid(field)}

    def sample(self, stats: Stats, generator: torch.Generator) -> Tensor:
        return bernoulli_sample(stats["mean"], generator)

    def entropy(self, field: Tensor, params: Params) -> Tensor:
        return self.log_partition(field, params) - field * torch.sigmoid(field)
