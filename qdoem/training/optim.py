"""SGD with momentum and weight decay on named tensors, and learning-rate schedules.

DO-EM's M-step ascends ``Q(theta) = Tr(eta H'(theta)) - log Z(theta)``; with one gradient step
per E-step, ``grad Q = grad L`` (the log-likelihood gradient), so plain stochastic gradient
*ascent* is the M-step. Written by hand (not ``torch.optim``) because the gradients are
statistics, not autograd results, and because the state must checkpoint cleanly.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

__all__ = ["SGD", "SCHEDULES", "clip_by_norm", "nonfinite", "scheduled_lr"]

SCHEDULES = ("constant", "linear", "cosine", "cosine-annealing", "inverse-sqrt")


def scheduled_lr(
    base: float,
    epoch: int,
    epochs: int,
    schedule: str,
    final_ratio: float,
    step: int = 0,
    decay: float = 0.0,
) -> float:
    """Learning rate for ``epoch`` (0-based) of ``epochs``, at global step ``step``.

    ``linear`` and ``cosine`` go from ``base`` at epoch 0 to ``base * final_ratio`` at the last;
    ``cosine-annealing`` is torch's ``CosineAnnealingLR(T_max=epochs, eta_min=base *
    final_ratio)`` stepped once per epoch, as Liao et al.'s GRBM baseline: ``final + (base -
    final) (1 + cos(pi epoch / epochs)) / 2``, which reaches ``final`` only after the last epoch;
    ``inverse-sqrt`` is ``base / sqrt(1 + decay * step)`` per step (the DBM baseline of
    Taniguchi et al. 2023, ``decay = 1e-3``). All but ``inverse-sqrt`` change once per epoch.
    """
    if schedule not in SCHEDULES:
        raise ValueError(f"lr_schedule must be one of {SCHEDULES}, got {schedule!r}")
    t = epoch / max(epochs - 1, 1)
    final = base * final_ratio
    if schedule == "constant":
        return base
    if schedule == "inverse-sqrt":
        return base / math.sqrt(1.0 + decay * step)
    if schedule == "linear":
        return base + (final - base) * t
    if schedule == "cosine-annealing":
        return final + 0.5 * (base - final) * (1.0 + math.cos(math.pi * epoch / epochs))
    return final + 0.5 * (base - final) * (1.0 + math.cos(math.pi * t))


def clip_by_norm(grads: dict[str, Tensor], max_norm: float | None) -> dict[str, Tensor]:
    """``grads`` scaled by ``min(1, max_norm / ||grads||)``, the L2 norm over every entry of
    every tensor (``torch.nn.utils.clip_grad_norm_``'s rule); unchanged if ``max_norm`` is None."""
    if max_norm is None:
        return grads
    norm = torch.linalg.vector_norm(
        torch.stack([torch.linalg.vector_norm(g) for g in grads.values()])
    )
    scale = torch.clamp(max_norm / (norm + 1e-6), max=1.0)
    return {name: g * scale for name, g in grads.items()}


def nonfinite(tensors: dict[str, Tensor]) -> dict[str, int]:
    """The number of NaN or inf entries of each tensor that has any (``{}``: all finite).

    One device synchronisation when everything is finite.
    """
    if not tensors:
        return {}
    if bool(torch.stack([torch.isfinite(t).all() for t in tensors.values()]).all()):
        return {}
    counts = {name: int((~torch.isfinite(t)).sum()) for name, t in tensors.items()}
    return {name: n for name, n in counts.items() if n}


class SGD:
    """Momentum SGD ascent: ``vel = m vel + lr (grad - wd theta)``; ``theta += vel``.

    Parameters
    ----------
    params : dict of str to Tensor
        Parameters, updated in place.
    trainable : iterable of str
        Names to update.
    decayed : iterable of str
        Names that receive L2 weight decay.
    momentum, weight_decay : float
    """

    def __init__(self, params, trainable, decayed, momentum: float, weight_decay: float) -> None:
        if not 0.0 <= momentum < 1.0:
            raise ValueError(f"momentum must be in [0, 1), got {momentum}")
        if weight_decay < 0:
            raise ValueError(f"weight_decay must be >= 0, got {weight_decay}")
        self.params = params
        self.trainable = tuple(trainable)
        self.decayed = set(decayed)
        self.momentum = momentum
        self.weight_decay = weight_decay
        self.velocity = {k: torch.zeros_like(params[k]) for k in self.trainable}

    def step(self, grads: dict[str, Tensor], lr: float, momentum: float | None = None) -> None:
        """One ascent step; ``momentum`` overrides the constructor's for this step."""
        momentum = self.momentum if momentum is None else momentum
        for name in self.trainable:
            vel = self.velocity[name]
            vel.mul_(momentum).add_(grads[name], alpha=lr)
            if name in self.decayed and self.weight_decay:
                vel.add_(self.params[name], alpha=-lr * self.weight_decay)
            self.params[name].add_(vel)

    def state_dict(self) -> dict[str, Tensor]:
        return {k: v.detach().cpu().clone() for k, v in self.velocity.items()}

    def load_state_dict(self, state: dict[str, Tensor]) -> None:
        for k, v in state.items():
            self.velocity[k].copy_(v.to(self.velocity[k]))
