"""Unbiased expectations under a CQ-LVM: local-mode start and a coupled Metropolis-Hastings step.

The scheme of Taniguchi et al. (ICML 2023), "End-to-end training of Deep Boltzmann Machines by
unbiased contrastive divergence with local mode initialization", written for any CQ-LVM, with
the estimator of Jacob, O'Leary & Atchade (2020) made explicit.

Target. The Z-basis diagonal ``pi(x) ∝ <x|exp(-H)|x>`` over the values of every layer
(:meth:`LayeredModel.log_diagonal_joint`). Its marginal on the classical layers is the model's,
and a quantum layer's values are its Z-basis measurement, so for a statistic ``g`` of the
classical layers (quantum layers Rao-Blackwellised to their conditional ``<n>``, ``<X>``, as in
:meth:`LayeredModel.negative_phase`), ``E_pi[g]`` is the model expectation DO-EM needs. With the
visible layer clamped at ``v``, the same construction gives the E-step expectation under the
conditional latent state ``rho_L(v)`` (the data term of a deep model, where mean field is only a
bound).

Estimator (lag one, ``k = 0``). Draw ``X_0 ~ pi_0`` and set ``Y_0 = X_0``; draw ``X_1`` from the
MH kernel ``P``; then move ``(X_{t+1}, Y_t)`` with the same proposal and the same uniform until
they meet, ``tau = min{t : X_t = Y_{t-1}}``. Then

    H = g(X_0) + sum_{t=1}^{tau-1} [g(X_t) - g(Y_{t-1})]

has ``E[H] = E_pi[g]`` for any start law ``pi_0`` (telescoping sum; the chains stay together
once met). ``P`` is the independence sampler with uniform proposals on the unclamped layers,
accepted with ``min(1, pi(x') / pi(x))``; sharing the proposal and the uniform is its maximal
coupling.

Start law ``pi_0``: deterministic block updates to a local mode (each layer set to the argmax
of its conditional, ``field >= 0``, in an order drawn per chain, until nothing changes), then
``gibbs_steps`` sweeps of a kernel of :mod:`qdoem.sampling.kernels`. Near a mode the uniform
proposal is almost always rejected, so ``X_1 = X_0`` and ``tau = 1``: the estimator usually
costs one extra energy evaluation. In high dimension the correction therefore almost never
fires, and the gradient is in practice ``g`` at "local mode + one Gibbs step"; unbiasedness
holds through rare, long couplings. ``max_coupling_steps`` caps them; a capped coupling leaves
a bias and is counted (``truncated``).

The other side of that coin, seen in small models: when ``X`` accepts a proposal while ``Y``
sits near a sharp mode, ``Y`` rejects for a long time and every step adds ``g(X_t) - g(mode)``,
so the correction is rare but large (heavy-tailed). On models of a few visible units it fires
often, and SGD on it can diverge where mean field learns; at 16 visible units it no longer
fired (mean meeting time 1.0) and both schemes learned (``tests/training``). Prefer
``scheme="mean-field"`` for very small models. The DBM baseline's code stops at the first
rejection instead, which is cheaper and light-tailed but not unbiased in general.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from qdoem.layers.base import Stats
from qdoem.sampling.kernels import sweep
from qdoem.sampling.state import ChainState

__all__ = [
    "MAX_COUPLING_STEPS",
    "MAX_MODE_SWEEPS",
    "UnbiasedEstimate",
    "local_mode",
    "mh_uniform_step",
    "unbiased_statistics",
]

#: Cap on the deterministic sweeps of the local-mode search (it usually stops within ~10).
MAX_MODE_SWEEPS = 100
#: Cap on the coupled MH steps of one estimate (a capped row leaves a bias; counted).
MAX_COUPLING_STEPS = 1000


def _mode_update(model, values: list[Tensor], k: int, rows: Tensor | None) -> None:
    """Set layer ``k`` (on ``rows``, a boolean mask, or all rows) to the argmax of its
    conditional: 1 where the field is >= 0 (for a qubit, ``<n> >= 1/2``)."""
    new = (model.field(k, values) >= 0).to(values[k].dtype)
    values[k] = new if rows is None else torch.where(rows[:, None], new, values[k])


def local_mode(
    model,
    values: list[Tensor],
    generator: torch.Generator,
    clamped: frozenset[int] = frozenset(),
    max_sweeps: int = MAX_MODE_SWEEPS,
) -> tuple[list[Tensor], int]:
    """Deterministic block coordinate ascent from ``values`` to a local mode.

    Each chain draws once whether its sweeps go odd layers first or even layers first (as in
    the DBM baseline), then repeats its sweep until no unit changes or ``max_sweeps``.

    Returns
    -------
    values : list of Tensor
        The new values of every layer (clamped layers unchanged).
    sweeps : int
        Sweeps made.
    """
    if any(not layer.binary for layer in model.layers):
        raise ValueError("local-mode search needs {0,1} units in every layer")
    values = list(values)
    ref = values[0]
    even_first = torch.rand(ref.shape[0], generator=generator, device=ref.device) < 0.5
    odd_first = ~even_first
    n = len(model.layers)
    even = [k for k in range(0, n, 2) if k not in clamped]
    odd = [k for k in range(1, n, 2) if k not in clamped]
    for sweep_no in range(1, max_sweeps + 1):
        before = [values[k] for k in range(n)]
        for k in even:
            _mode_update(model, values, k, even_first)
        for k in odd:
            _mode_update(model, values, k, None)
        for k in even:
            _mode_update(model, values, k, odd_first)
        if all(torch.equal(a, b) for a, b in zip(before, values, strict=True)):
            return values, sweep_no
    return values, max_sweeps


def mh_uniform_step(
    model,
    values: list[Tensor],
    proposal: list[Tensor | None],
    log_u: Tensor,
    log_pi: Tensor | None = None,
) -> tuple[list[Tensor], Tensor]:
    """One independence-sampler MH step towards ``pi ∝ <x|exp(-H)|x>``.

    ``proposal`` holds uniform {0,1} values for the unclamped layers (None: clamped, kept);
    a row moves where ``log_u < log pi(x') - log pi(x)``. ``log_pi``: ``log pi(values)`` if known.

    Returns ``(new values, log pi(new values))``.
    """
    x_new = [v if p is None else p for v, p in zip(values, proposal, strict=True)]
    if log_pi is None:
        log_pi = model.log_diagonal_joint(values)
    log_pi_new = model.log_diagonal_joint(x_new)
    accepted = log_u < log_pi_new - log_pi
    col = accepted[:, None]
    out = [
        v if p is None else torch.where(col, p, v) for v, p in zip(values, proposal, strict=True)
    ]
    return out, torch.where(accepted, log_pi_new, log_pi)


def _uniform_proposal(
    values: list[Tensor], clamped: frozenset[int], generator: torch.Generator
) -> tuple[list[Tensor | None], Tensor]:
    ref = values[0]
    proposal = [
        None
        if k in clamped
        else (torch.rand(v.shape, generator=generator, device=v.device) < 0.5).to(v.dtype)
        for k, v in enumerate(values)
    ]
    log_u = torch.rand(ref.shape[0], generator=generator, device=ref.device).log_()
    return proposal, log_u.to(ref.dtype)


def _same(a: list[Tensor], b: list[Tensor]) -> Tensor:
    """Rows where every layer of ``a`` equals ``b``."""
    out = torch.ones(a[0].shape[0], dtype=torch.bool, device=a[0].device)
    for x, y in zip(a, b, strict=True):
        out &= (x == y).all(-1)
    return out


@dataclass
class UnbiasedEstimate:
    """The pieces of one unbiased estimate over a batch of ``B`` chains.

    Attributes
    ----------
    phase : list of dict
        Statistics ``g(X_0)`` per layer, one row per chain (weight ``1/B`` each).
    correction : dict of str to Tensor or None
        ``(1/B) sum over rows and t of [S(X_t) - S(Y_{t-1})]`` for the sufficient statistics
        ``S`` of :meth:`LayeredModel.sufficient_statistics`; None when every coupling met at
        ``tau = 1``. The estimate is ``mean over rows of S(phase) + correction``.
    state : ChainState
        The X chains where they stopped (to continue persistent chains from).
    meeting_steps : Tensor
        ``tau`` per chain (the cap for truncated ones).
    truncated : int
        Chains whose coupling hit ``max_coupling_steps`` (their correction is cut short).
    mode_sweeps : int
        Sweeps of the local-mode search.
    """

    phase: list[Stats]
    correction: dict[str, Tensor] | None
    state: ChainState
    meeting_steps: Tensor
    truncated: int
    mode_sweeps: int


def _add(total: dict[str, Tensor] | None, part: dict[str, Tensor]) -> dict[str, Tensor]:
    return part if total is None else {k: total[k] + part[k] for k in total}


def unbiased_statistics(
    model,
    values: list[Tensor],
    generator: torch.Generator,
    *,
    clamped: frozenset[int] = frozenset(),
    sampler: str = "exact",
    estimator=None,
    gibbs_steps: int = 1,
    max_coupling_steps: int = MAX_COUPLING_STEPS,
) -> UnbiasedEstimate:
    """An unbiased estimate of ``E_pi`` of the sufficient statistics (see the module notes).

    Parameters
    ----------
    model : LayeredModel
    values : list of Tensor
        Starting values of every layer (data in the clamped ones); the local-mode search
        starts here (noise, or persistent chains).
    generator : torch.Generator
    clamped : frozenset of int
        Layers held fixed (``{0}`` for the E-step of a data batch).
    sampler : str
        Kernel of the ``gibbs_steps`` sweeps after the local mode (part of ``pi_0``: any
        kernel keeps the estimate unbiased).
    estimator : optional
        Where the quantum layers' statistics and Z-basis samples come from.
    gibbs_steps : int
        Sweeps after the local mode (the baseline uses 1).
    max_coupling_steps : int
        Cap on the coupled MH steps.
    """
    from qdoem.estimators import ClosedFormEstimator

    estimator = ClosedFormEstimator() if estimator is None else estimator
    b = values[0].shape[0]
    values, mode_sweeps = local_mode(model, values, generator, clamped)
    state = ChainState(values)
    for _ in range(gibbs_steps):
        sweep(model, state, sampler, estimator, generator, clamped)
    x0 = list(state.values)
    state.forget_caches()  # memory: the sweeps' fields, statistics and MH terms are done with
    phase = _statistics(model, x0, estimator)
    # X_1 from P; Y_0 = X_0. Rows that did not move have met (tau = 1).
    proposal, log_u = _uniform_proposal(x0, clamped, generator)
    x, log_pi_x = mh_uniform_step(model, x0, proposal, log_u)
    final = list(x)
    meeting = torch.ones(b, dtype=torch.long, device=x0[0].device)
    active = (~_same(x, x0)).nonzero().flatten()
    x = [v[active] for v in x]
    y = [v[active] for v in x0]
    log_pi_x = log_pi_x[active]
    log_pi_y = None
    correction = None
    t = 1
    while active.numel() and t < max_coupling_steps:
        weights = torch.full((active.numel(),), 1.0 / b, dtype=x[0].dtype, device=x[0].device)
        plus = model.sufficient_statistics(_statistics(model, x, estimator), weights)
        minus = model.sufficient_statistics(_statistics(model, y, estimator), weights)
        correction = _add(correction, {k: plus[k] - minus[k] for k in plus})
        proposal, log_u = _uniform_proposal(x, clamped, generator)
        x, log_pi_x = mh_uniform_step(model, x, proposal, log_u, log_pi_x)
        y, log_pi_y = mh_uniform_step(model, y, proposal, log_u, log_pi_y)
        t += 1
        for k in range(len(final)):
            if k not in clamped:
                final[k][active] = x[k]
        meeting[active] = t
        going = ~_same(x, y)
        active = active[going]
        x = [v[going] for v in x]
        y = [v[going] for v in y]
        log_pi_x, log_pi_y = log_pi_x[going], log_pi_y[going]
    out = ChainState(final)  # with the sweeps' MH counts
    out.mh_accepted, out.mh_proposed = state.mh_accepted, state.mh_proposed
    return UnbiasedEstimate(
        phase=phase,
        correction=correction,
        state=out,
        meeting_steps=meeting,
        truncated=int(active.numel()),
        mode_sweeps=mode_sweeps,
    )


def _statistics(model, values: list[Tensor], estimator) -> list[Stats]:
    """``g``: the chains' statistics as in the negative phase (quantum layers Rao-Blackwellised)."""
    return model.negative_phase(ChainState(list(values)), estimator)
