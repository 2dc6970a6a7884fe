"""Annealed importance sampling (AIS) of ``log Z`` for models with a closed-form visible marginal.

The tempered family interpolates from an independent base-rate model to the model,

    log p*_beta(v) = (1 - beta) a0.v + log p*(v; beta theta),

where ``log p*(v; theta)`` is the closed-form unnormalised log marginal (for a QRBM,
``a.v + sum_j [c_j/2 + log 2cosh D_j]``; scaling the Hamiltonian by beta scales every field).
At beta = 0 it is the product of ``Bernoulli(sigmoid(a0))`` visible units and free hidden units
(``log Tr exp(0) = log 2`` each); at beta = 1 it is the model. Each intermediate distribution is
left invariant by the chosen kernel of :mod:`qdoem.sampling.kernels` run on the tempered model,
so at Gamma != 0 only the exact kernels are valid (``"plain"`` is refused).

AIS follows Salakhutdinov & Murray (2008): ``log Z = log Z_0 + log mean_m w_m`` with
``log w = sum_k [log p*_{beta_k}(v_{k-1}) - log p*_{beta_{k-1}}(v_{k-1})]``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from qdoem.sampling.kernels import EXACT_SAMPLERS, check_sampler, sweep
from qdoem.sampling.state import ChainState

__all__ = ["AISResult", "ais_log_partition", "default_betas"]


@dataclass(frozen=True)
class AISResult:
    """An AIS estimate of ``log Z``.

    Attributes
    ----------
    log_z : float
        ``log Z_0 + log mean(w)``.
    stderr : float
        Standard error of ``log_z`` by the delta method, ``std(w) / (sqrt(M) mean(w))``.
    log_weights : Tensor
        The ``M`` importance log-weights.
    """

    log_z: float
    stderr: float
    log_weights: Tensor


def default_betas(n_betas: int) -> Tensor:
    """S&M-style schedule: denser near beta = 1, where the distribution changes fastest."""
    if isinstance(n_betas, bool) or not isinstance(n_betas, int) or n_betas < 2:
        raise ValueError(f"n_betas must be an int >= 2, got {n_betas!r}")
    a = int(0.2 * n_betas)
    b = int(0.3 * n_betas)
    c = n_betas - a - b
    return torch.cat(
        [
            torch.linspace(0.0, 0.5, a + 1, dtype=torch.float64)[:-1],
            torch.linspace(0.5, 0.9, b + 1, dtype=torch.float64)[:-1],
            torch.linspace(0.9, 1.0, c, dtype=torch.float64),
        ]
    )


def ais_log_partition(
    model,
    *,
    n_chains: int = 100,
    n_betas: int = 1000,
    base_bias: Tensor | None = None,
    generator: torch.Generator | None = None,
    sampler: str = "exact",
) -> AISResult:
    """Annealed importance sampling estimate of ``log Z`` with its standard error.

    Parameters
    ----------
    model : LayeredModel
        A model with one hidden layer and {0,1} visible units (closed-form visible marginal).
    n_chains : int
        Number of independent AIS runs ``M``.
    n_betas : int
        Number of inverse temperatures, including 0 and 1.
    base_bias : Tensor, optional
        Visible biases ``a0`` of the base-rate model (e.g. data log-odds). Zeros if omitted.
    generator : torch.Generator, optional
        Random source (CPU), for reproducibility.
    sampler : str
        Transition kernel (:data:`qdoem.sampling.kernels.SAMPLERS`); ``"plain"`` only for
        classical models, where it is exact.

    Returns
    -------
    AISResult
    """
    from qdoem.estimators import ClosedFormEstimator

    if isinstance(n_chains, bool) or not isinstance(n_chains, int) or n_chains < 2:
        raise ValueError(f"n_chains must be an int >= 2, got {n_chains!r}")
    check_sampler(sampler)
    if sampler not in EXACT_SAMPLERS and model.has_transverse_field():
        raise ValueError(
            f"AIS needs transitions that leave each tempered law invariant; sampler {sampler!r} "
            f"is biased at Gamma != 0 (use one of {EXACT_SAMPLERS})"
        )
    n = model.n_visible
    a0 = torch.zeros(n, dtype=torch.float64) if base_bias is None else base_bias.double().cpu()
    if a0.shape != (n,):
        raise ValueError(f"base_bias must have shape ({n},), got {tuple(a0.shape)}")
    gen = generator if generator is not None else torch.Generator().manual_seed(0)
    estimator = ClosedFormEstimator()
    reference = model.to_float64()
    betas = default_betas(n_betas).tolist()
    v = (torch.rand(n_chains, n, generator=gen, dtype=torch.float64) < torch.sigmoid(a0)).double()
    log_w = torch.zeros(n_chains, dtype=torch.float64)
    previous = reference.tempered(betas[0], a0)
    for k in range(1, len(betas)):
        current = reference.tempered(betas[k], a0)
        log_w += current.unnormalized_log_prob(v) - previous.unnormalized_log_prob(v)
        if k < len(betas) - 1:
            state = ChainState([v] + [None] * (len(model.layers) - 1))
            sweep(current, state, sampler, estimator, gen)
            v = state.values[0]
        previous = current
    log_z0 = float(torch.nn.functional.softplus(a0).sum()) + sum(
        layer.zero_field_log_partition() for layer in model.layers[1:]
    )
    m = float(log_w.max())
    w = torch.exp(log_w - m)
    mean = float(w.mean())
    stderr = float(w.std()) / (math.sqrt(n_chains) * mean)
    return AISResult(log_z=log_z0 + m + math.log(mean), stderr=stderr, log_weights=log_w)
