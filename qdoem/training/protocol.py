"""The seam between the trainer and a CQ-LVM.

A CQ-LVM is block-diagonal in the visible basis, so DO-EM only needs, for visible states v:

- ``latent_statistics(v)``: the E-step, i.e. expectations in the conditional latent Gibbs state
  ``rho_L(v)``. The closed form by default; a model may delegate it to a backend (a circuit
  estimator) through its ``latent_backend`` attribute.
- ``sufficient_statistics(v, latent)``: batch means of ``d/dtheta log Tr_L exp(-H(v))``;
  ``gradient(v_data, latent_data, v_model, latent_model)`` is this on data minus this on model
  samples (a model may fuse the two, as the QRBM does for its weights).
- ``sample_latent`` / ``sample_visible``: the two halves of a block-Gibbs step, latent samples
  taken in the Z basis.

The trainer owns everything else: the loop, CD-k/PCD chains, optimiser, schedule, checkpoints.
Multi-layer models (QiDBM) and Gaussian-visible models (QGRBM) implement the same methods.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import torch
from torch import Tensor

__all__ = ["CQLVM"]


@runtime_checkable
class CQLVM(Protocol):
    """What :class:`qdoem.training.Trainer` needs from a model."""

    n_visible: int
    device: str
    dtype: torch.dtype

    def parameters(self) -> dict[str, Tensor]: ...

    def trainable(self) -> tuple[str, ...]: ...

    def decayed(self) -> tuple[str, ...]: ...

    def latent_statistics(self, v: Tensor) -> dict[str, Tensor]: ...

    def sufficient_statistics(self, v: Tensor, latent: dict[str, Tensor]) -> dict[str, Tensor]: ...

    def gradient(
        self,
        v_data: Tensor,
        latent_data: dict[str, Tensor],
        v_model: Tensor,
        latent_model: dict[str, Tensor],
    ) -> dict[str, Tensor]: ...

    def sample_latent(self, latent: dict[str, Tensor], generator: torch.Generator) -> Tensor: ...

    def sample_visible(self, h: Tensor, generator: torch.Generator) -> tuple[Tensor, Tensor]: ...

    def unnormalized_log_prob(self, v: Tensor) -> Tensor: ...

    def init_from_data(self, data: Tensor) -> None: ...

    def state_dict(self) -> dict[str, Any]: ...

    def load_state_dict(self, state: dict[str, Any]) -> None: ...
