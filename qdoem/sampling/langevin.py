"""Gibbs-Langevin sweeps for Gaussian visible units (Liao et al. 2022), exact at every Gamma.

Model: one hidden layer ``h`` over Gaussian visible units ``v`` (a GRBM or QGRBM). The Z-basis
diagonal of ``rho`` is a classical joint ``P(v, h) = <v, h|rho|v, h>`` whose v-marginal is
``p(v)`` (MATH-NOTES, "QRBM" and "QGRBM"), with

    log P(v | h) = log N(v; mu + W h, sigma^2) + w(v, h) + const,
    w(v, h) = sum_j log_diagonal(c_j(v), Gamma_j, h_j),   c(v) = b + W^T (v / sigma^2)

(:func:`qdoem.layers.qubit.log_diagonal`; ``w = 0`` at Gamma = 0, where ``P(v | h)`` is the
GRBM's Gaussian). One sweep:

1. ``h`` from its exact conditional ``P(h | v)``: the Z-basis measurement of ``rho_L(v)``
   (a circuit shot when the estimator is a backend);
2. ``langevin_steps`` (K) Metropolis-adjusted Langevin (MALA) moves of ``v`` on
   ``pi(v) = P(v | h)``: ``v' = v + eta_k grad log pi(v) + sqrt(2 eta_k) xi``, accepted with

       min(1, pi(v') q(v | v') / (pi(v) q(v' | v))),
       q(y | x) = N(y; x + eta_k grad log pi(x), 2 eta_k),

   where ``grad log pi(v) = (mu + W h - v) / sigma^2 + W (dw/dc) / sigma^2``
   (:func:`qdoem.layers.qubit.log_diagonal_field_grad`) and ``w``'s change is
   :func:`~qdoem.layers.qubit.log_diagonal_ratio` (the exact chain's MH weight, with its
   :class:`~qdoem.layers.qubit.ChainTerms` kept between moves).

Exactness: each MALA move leaves ``P(v | h)`` invariant (Metropolis-Hastings with any
proposal; the step size ``eta_k`` depends on ``k`` and the parameters only), so both halves
leave the joint ``P(v, h)`` invariant, hence ``p(v)``, at every Gamma. At Gamma = 0 it is a
GRBM kernel (Gibbs for ``h``, MALA on the Gaussian ``v | h``) and a QGRBM with Gamma fixed at
0 samples draw for draw like the GRBM.

Step sizes as Liao et al.: cosine-annealed over the K moves,
``eta_k = eta (1 + cos(pi k / K)) / 2``, ``eta = langevin_eta * mean(sigma^2)``. Differences
from their code (github.com/aditvishnu/GRBM, ``Gibbs_Langevin_sampling_vh``): their K moves are
unadjusted and one MH test on the joint ``(v, h)`` follows them (skipped in their configs,
``Langevin_adjust_step = CD_step``), and their energy gradient is divided by the batch size
while the noise is not; here every move is adjusted against ``P(v | h)`` and the drift is the
gradient itself, so that the chain is exact for any ``langevin_eta``.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from qdoem.sampling.kernels import _accept, _active_quantum_neighbours, _gibbs_update, _keep
from qdoem.sampling.state import ChainState

__all__ = ["check_langevin_model", "gibbs_langevin", "langevin_step_sizes"]


def check_langevin_model(model) -> None:
    """Raise ``ValueError`` unless ``model`` has one hidden layer over Gaussian visible units
    and Langevin settings (``langevin_steps``, ``langevin_eta``: a GRBM or QGRBM)."""
    layers = model.layers
    if (
        len(layers) != 2
        or layers[0].binary
        or not hasattr(model, "langevin_steps")
        or not hasattr(model, "langevin_eta")
    ):
        raise ValueError(
            f"sampler 'gibbs-langevin' needs Gaussian visible units under one hidden layer "
            f"(GRBM, QGRBM), got {type(model).__name__} with layers {list(layers)}"
        )


def langevin_step_sizes(eta: float, steps: int) -> list[float]:
    """``eta (1 + cos(pi k / K)) / 2`` for ``k = 0, ..., K - 1`` (Liao et al.'s annealing)."""
    return [eta * 0.5 * (1.0 + math.cos(math.pi * k / steps)) for k in range(steps)]


def gibbs_langevin(model, state: ChainState, estimator, generator, clamped: frozenset[int]) -> None:
    """One Gibbs-Langevin sweep of every chain of ``state``, in place (module docstring)."""
    check_langevin_model(model)
    if 1 not in clamped:
        _gibbs_update(model, state, 1, estimator, generator)
    if 0 in clamped:
        return
    visible = model.layer_params(0)
    inv_var = torch.exp(-visible["log_var"])
    eta = model.langevin_eta * float(torch.exp(visible["log_var"]).mean())
    quantum = bool(_active_quantum_neighbours(model, 0))
    hidden, h_params, h = model.layers[1], model.layer_params(1), state.values[1]
    mean = state.field(model, 0)  # mu + W h: the Gaussian part's mean given h
    v = state.values[0]
    c = terms = None
    if quantum:
        c = state.field(model, 1)
        terms = state.terms.get(1)
        if terms is None:
            terms = hidden.chain_terms(c, h_params)
    grad = _grad_log_target(model, v, mean, inv_var, c, h, terms)
    for step in langevin_step_sizes(eta, model.langevin_steps):
        noise = torch.randn(v.shape, generator=generator, device=v.device, dtype=v.dtype)
        proposal = torch.addcmul(v, grad, v.new_full((), step)).add_(
            noise, alpha=math.sqrt(2 * step)
        )
        log_alpha = _gauss_log_ratio(proposal, v, mean, inv_var)
        c_new = new_terms = None
        if quantum:
            c_new = model.field(1, [proposal, h])
            ratio, new_terms = hidden.log_diagonal_ratio(c, c_new, h_params, h, terms)
            log_alpha += ratio
        grad_new = _grad_log_target(model, proposal, mean, inv_var, c_new, h, new_terms)
        # log q(v | v') - log q(v' | v), q(y | x) = N(y; x + eta grad(x), 2 eta).
        back = (v - proposal - step * grad_new).square_().sum(-1)
        forth = (proposal - v - step * grad).square_().sum(-1)
        log_alpha += (forth - back) / (4.0 * step)
        accepted = _accept(log_alpha, state, generator)
        v = _keep(accepted, proposal, v)
        grad = _keep(accepted, grad_new, grad)
        if quantum:
            c = _keep(accepted, c_new, c)
            terms = type(terms)(
                *(_keep(accepted, n, o) for n, o in zip(new_terms, terms, strict=True))
            )
    state.set_value(0, v)
    if quantum:  # the hidden layer's field and MH terms at the final v, for its next draw
        state.fields[1] = c
        state.terms[1] = terms


def _gauss_log_ratio(new: Tensor, old: Tensor, mean: Tensor, inv_var: Tensor) -> Tensor:
    """``log N(new; mean, sigma^2) - log N(old; mean, sigma^2)`` per row."""
    d_new, d_old = new - mean, old - mean
    return ((d_old * d_old - d_new * d_new) * inv_var).sum(-1).mul_(0.5)


def _grad_log_target(model, v, mean, inv_var, c, h, terms) -> Tensor:
    """``grad_v log P(v | h) = (mean - v) / sigma^2 + W (dw/dc) / sigma^2`` (the second term
    only when the hidden layer's ``c`` is given: a quantum layer with Gamma != 0)."""
    grad = (mean - v).mul_(inv_var)
    if c is not None:
        dw = model.layers[1].log_diagonal_field_grad(c, model.layer_params(1), h, terms)
        zero = torch.zeros((), dtype=v.dtype, device=v.device)
        # W dw through the coupling's own product (mixed precision as configured), from 0.
        grad = model.couplings[0].down(model.weights_between(0), dw, zero).mul_(inv_var).add_(grad)
    return grad
