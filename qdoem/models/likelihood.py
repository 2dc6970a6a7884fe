"""Log-likelihood of models with a closed-form visible marginal: exact enumeration and AIS.

Both work on any model that provides the *tempered* unnormalised marginal

    log p*_beta(v) = (1 - beta) a0.v + log p*(v; beta * theta),

where ``log p*(v; theta)`` is the model's closed-form unnormalised log marginal (for a QRBM,
``a.v + sum_j [c_j/2 + log 2cosh D_j]``; scaling the Hamiltonian by beta scales every field),
and a transition ``T_beta`` that leaves ``p_beta`` invariant. At beta = 0 this is the
independent "base-rate" model with visible biases ``a0`` (and a constant ``log 2`` per hidden
qubit, since ``Tr exp(0) = 2``); at beta = 1 it is the model.

AIS follows Salakhutdinov & Murray (2008): ``log Z = log Z_0 + log mean_m w_m`` with
``log w = sum_k [log p*_{beta_k}(v_{k-1}) - log p*_{beta_{k-1}}(v_{k-1})]``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

import torch
from torch import Tensor

__all__ = ["AISResult", "TemperedModel", "ais_log_partition", "exact_log_partition", "all_states"]

EXACT_MAX_VISIBLE = 24


class TemperedModel(Protocol):
    """What AIS and enumeration need from a model."""

    n_visible: int
    n_hidden: int

    def tempered_log_prob(self, v: Tensor, beta: float, base_bias: Tensor) -> Tensor: ...

    def tempered_transition(
        self, v: Tensor, beta: float, base_bias: Tensor, generator: torch.Generator, kind: str
    ) -> Tensor: ...


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


def all_states(n: int, start: int = 0, stop: int | None = None, dtype=torch.float64) -> Tensor:
    """Rows ``v`` in ``{0,1}^n`` for integers ``start <= k < stop``; bit i of k is ``v_i``."""
    stop = 2**n if stop is None else stop
    k = torch.arange(start, stop, dtype=torch.int64)
    return ((k[:, None] >> torch.arange(n, dtype=torch.int64)) & 1).to(dtype)


def exact_log_partition(model: TemperedModel, chunk: int = 1 << 16) -> float:
    """``log Z`` by summing the closed-form marginal over all ``2^n_visible`` visible states.

    Raises
    ------
    ValueError
        If ``n_visible > 24`` (use AIS instead).
    """
    n = model.n_visible
    if n > EXACT_MAX_VISIBLE:
        raise ValueError(
            f"exact log Z needs n_visible <= {EXACT_MAX_VISIBLE}, got {n}; use method='ais'"
        )
    zeros = torch.zeros(n, dtype=torch.float64)
    parts = []
    for start in range(0, 2**n, chunk):
        v = all_states(n, start, min(start + chunk, 2**n))
        parts.append(torch.logsumexp(model.tempered_log_prob(v, 1.0, zeros), dim=0))
    return float(torch.logsumexp(torch.stack(parts), dim=0))


def default_betas(n_betas: int) -> Tensor:
    """S&M-style schedule: denser near beta = 1, where the distribution changes fastest."""
    if n_betas < 2:
        raise ValueError(f"n_betas must be >= 2, got {n_betas}")
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
    model: TemperedModel,
    *,
    n_chains: int = 100,
    n_betas: int = 1000,
    base_bias: Tensor | None = None,
    generator: torch.Generator | None = None,
    transition: str = "auto",
) -> AISResult:
    """Annealed importance sampling estimate of ``log Z`` with its standard error.

    Parameters
    ----------
    model : TemperedModel
        Supplies the tempered marginal and a transition leaving it invariant.
    n_chains : int
        Number of independent AIS runs ``M``.
    n_betas : int
        Number of inverse temperatures, including 0 and 1.
    base_bias : Tensor, optional
        Visible biases ``a0`` of the base-rate model (e.g. data log-odds). Zeros if omitted.
    generator : torch.Generator, optional
        Random source, for reproducibility.
    transition : str
        Passed to the model's ``tempered_transition`` as ``kind``.

    Returns
    -------
    AISResult
    """
    if n_chains < 2:
        raise ValueError(f"n_chains must be >= 2, got {n_chains}")
    n = model.n_visible
    a0 = torch.zeros(n, dtype=torch.float64) if base_bias is None else base_bias.double().cpu()
    if a0.shape != (n,):
        raise ValueError(f"base_bias must have shape ({n},), got {tuple(a0.shape)}")
    gen = generator if generator is not None else torch.Generator().manual_seed(0)
    betas = default_betas(n_betas).tolist()
    v = (torch.rand(n_chains, n, generator=gen, dtype=torch.float64) < torch.sigmoid(a0)).double()
    log_w = torch.zeros(n_chains, dtype=torch.float64)
    for k in range(1, len(betas)):
        log_w += model.tempered_log_prob(v, betas[k], a0) - model.tempered_log_prob(
            v, betas[k - 1], a0
        )
        if k < len(betas) - 1:
            v = model.tempered_transition(v, betas[k], a0, gen, transition)
    log_z0 = float(torch.nn.functional.softplus(a0).sum()) + model.n_hidden * math.log(2.0)
    m = float(log_w.max())
    w = torch.exp(log_w - m)
    mean = float(w.mean())
    stderr = float(w.std()) / (math.sqrt(n_chains) * mean)
    return AISResult(log_z=log_z0 + m + math.log(mean), stderr=stderr, log_weights=log_w)
