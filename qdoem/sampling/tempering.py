"""Parallel tempering for persistent chains (Desjardins, Courville, Bengio, Vincent & Delalleau
2010), exact at every Gamma.

**Replicas.** Inverse temperatures ``1 = beta_1 > beta_2 > ... > beta_R > 0``. Replica ``k`` is
the model with *every* parameter scaled by ``beta_k`` (``W``, ``a``, ``b`` and ``Gamma``):
``rho_beta = exp(-beta H) / Tr exp(-beta H)``, and ``beta H`` is the Hamiltonian of the model
with parameters ``beta theta`` because ``H`` is linear in ``theta``. It is AIS's intermediate
model without a base rate (:meth:`~qdoem.models.LayeredModel.tempered`, ``base_bias=None``,
one home for both), kept in the training model's precision. For {0,1} visible units its
visible marginal is

    log p*_beta(v) = beta a.v + sum_j [beta c_j(v)/2 + log 2cosh D_j(beta)],
    D_j(beta) = sqrt(beta^2 c_j(v)^2/4 + beta^2 Gamma_j^2),

with ``c(v) = b + W^T v`` (MATH-NOTES, "QRBM", at parameters ``beta theta``); at Gamma = 0 the
sum is ``softplus(beta c_j)``, the tempered RBM. Gaussian visible units keep their own term
``-(v - mu)^2 / 2 sigma^2`` at every beta (as in AIS) and the hidden layer and couplings are
scaled: any family works for tempering as long as replica 1 is the model and the swap ratio
uses each replica's own marginal. In every case the hidden field of replica ``k`` is
``beta_k c(v)``: the fields of one visible state at two temperatures differ by the ratio of
the betas, so a swap costs no matrix product.

**Moves.** The state of replica ``k`` is its visible vector ``v_k``: every kernel of
:mod:`qdoem.sampling.kernels` on a one-hidden-layer model draws the hidden layer afresh from
``P_beta(h | v)`` (the Z-basis measurement of ``rho_L(v)``) before reading it, so one sweep is
a kernel on ``v`` that leaves ``p_beta(v)`` invariant (the ``"exact"`` kernel for every Gamma).
One PT step is

1. ``n_sweeps`` sweeps of the kernel on every replica, each on its own tempered model: the
   product ``pi(v_1, ..., v_R) = prod_k p_{beta_k}(v_k)`` is invariant;
2. swap proposals between neighbours, the pairs ``(1, 2), (3, 4), ...`` at even steps and
   ``(2, 3), (4, 5), ...`` at odd steps (the deterministic even-odd scheme, whose
   non-reversible alternation moves states along the ladder faster than random pair choices,
   Okabe et al. 2001, Syed et al. 2022): replicas ``i`` and ``j = i + 1`` exchange their
   states with probability

       min(1, p*_i(v_j) p*_j(v_i) / (p*_i(v_i) p*_j(v_j))),

   the Metropolis rule for the proposal ``(v_i, v_j) -> (v_j, v_i)`` (symmetric, an
   involution) on ``pi``; the normalisers cancel, so the unnormalised closed-form marginals
   suffice. Each swap is reversible with respect to ``pi``, so every step (sweeps, then the
   swaps of its parity) keeps ``pi`` invariant and the beta = 1 replica's law is the model's
   ``p(v)``. The step counter that sets the parity is part of the state (checkpointed).

The negative phase is read from replica 1 (beta = 1) as for plain persistent chains; the hotter
replicas, whose landscapes are flatter, move between modes and hand their states down by swaps.
The hidden values travel with their visible vector in a swap; the next sweep redraws them.

Deep models (DBM, QiDBM) are refused: their visible marginal is not closed form.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor

from qdoem.errors import check_int
from qdoem.sampling.ais import log_trace_out
from qdoem.sampling.kernels import check_sampler, sweep
from qdoem.sampling.state import ChainState

__all__ = ["LADDERS", "ParallelTempering", "temperature_ladder"]

#: Spacings of :func:`temperature_ladder`.
LADDERS = ("geometric", "linear")


def temperature_ladder(
    n_replicas: int, beta_min: float, spacing: str = "geometric"
) -> tuple[float, ...]:
    """Inverse temperatures ``1 = beta_1 > ... > beta_R = beta_min``.

    ``"geometric"``: ``beta_k = beta_min^((k - 1)/(R - 1))`` (equal ratios, the usual choice:
    the swap rate between neighbours depends on their ratio when the energy's spread scales
    with temperature); ``"linear"``: ``beta_k = 1 - (1 - beta_min)(k - 1)/(R - 1)``. One
    replica: ``(1.0,)``.
    """
    check_int("pt_replicas", n_replicas, 1)
    if (
        isinstance(beta_min, bool)
        or not isinstance(beta_min, int | float)
        or not math.isfinite(beta_min)
        or not 0.0 < beta_min < 1.0
    ):
        raise ValueError(f"pt_beta_min must be a number in (0, 1), got {beta_min!r}")
    if spacing not in LADDERS:
        raise ValueError(f"pt_ladder must be one of {LADDERS}, got {spacing!r}")
    if n_replicas == 1:
        return (1.0,)
    steps = [k / (n_replicas - 1) for k in range(n_replicas)]
    if spacing == "geometric":
        return tuple(float(beta_min**t) for t in steps)
    return tuple(1.0 - (1.0 - float(beta_min)) * t for t in steps)


def _check_betas(betas: Sequence[float]) -> tuple[float, ...]:
    values = tuple(betas)
    ok = (
        len(values) >= 1
        and all(
            not isinstance(b, bool) and isinstance(b, int | float) and math.isfinite(b)
            for b in values
        )
        and values[0] == 1.0
        and all(b > 0 for b in values)
        and all(a > b for a, b in zip(values, values[1:], strict=False))
    )
    if not ok:
        raise ValueError(
            f"betas must start at 1 and decrease strictly, staying > 0, got {list(values)!r}"
        )
    return tuple(float(b) for b in values)


class ParallelTempering:
    """Persistent chains at a ladder of inverse temperatures, with neighbour swaps.

    Maths in the module docstring. Replica 1 (``beta = 1``) is the chain whose state gives the
    negative phase; :meth:`advance` makes one PT step on every replica.

    Parameters
    ----------
    betas : sequence of float
        ``1 = beta_1 > ... > beta_R > 0`` (e.g. :func:`temperature_ladder`).
    sampler : str
        Kernel run on every replica (:data:`qdoem.sampling.SAMPLERS`); ``"exact"`` leaves each
        tempered law invariant at every Gamma, ``"plain"`` only at Gamma = 0.

    Attributes
    ----------
    states_ : list of ChainState or None
        The replicas' chains, hottest last (None before :meth:`start`).
    steps_ : int
        PT steps made (its parity picks the swap pairs).
    swap_accepted_, swap_proposed_ : Tensor, list of int
        Accepted and proposed swaps per neighbour pair since the last :meth:`take_rates`.
    mh_accepted_, mh_proposed_ : list
        MH decisions of the replicas ``2..R`` since the last :meth:`take_rates` (replica 1's
        are left in its :class:`ChainState` for the caller, as for plain chains).
    """

    def __init__(self, betas: Sequence[float], sampler: str = "exact") -> None:
        self.betas = _check_betas(betas)
        self.sampler = check_sampler(sampler)
        self.reset()

    @property
    def n_replicas(self) -> int:
        return len(self.betas)

    def reset(self) -> None:
        """Back to the constructed state: no replicas (the next :meth:`advance` needs
        :meth:`start`), no steps, no counts."""
        self.states_: list[ChainState] | None = None
        self.steps_ = 0
        self._reset_counts()

    def _reset_counts(self) -> None:
        n = self.n_replicas
        self.swap_accepted_: Tensor | None = None
        self.swap_proposed_ = [0] * (n - 1)
        self.mh_accepted_: list[Tensor | None] = [None] * (n - 1)
        self.mh_proposed_ = [0] * (n - 1)

    # ------------------------------------------------------------------ chains
    def start(self, state: ChainState) -> None:
        """Replica 1 is ``state`` itself; the others start at copies of its values."""
        others = [
            ChainState([None if v is None else v.clone() for v in state.values])
            for _ in self.betas[1:]
        ]
        self.states_ = [state, *others]
        self.steps_ = 0

    def replicas(self, model) -> list:
        """The tempered models: ``model`` itself, then ``model.tempered(beta_k)`` (same
        precision and device)."""
        return [model] + [model.tempered(b, keep_precision=True) for b in self.betas[1:]]

    def advance(self, model, estimator, generator: torch.Generator, n_sweeps: int = 1):
        """One PT step: ``n_sweeps`` sweeps on every replica, then the neighbour swaps.

        Returns replica 1's :class:`ChainState` (its cached hidden field is the one at its
        current visible values, for the negative phase).
        """
        if self.states_ is None:
            raise ValueError("ParallelTempering.start must be called before advance")
        if not model.has_closed_form_marginal():
            raise ValueError(
                f"parallel tempering swaps on the closed-form visible marginal, which needs one "
                f"hidden layer; {type(model).__name__} has {len(model.layers) - 1}"
            )
        models = self.replicas(model)
        for k, (m, state) in enumerate(zip(models, self.states_, strict=True)):
            state.forget_caches()  # the parameters changed since the last step
            for _ in range(n_sweeps):
                sweep(m, state, self.sampler, estimator, generator)
            if k > 0 and state.mh_proposed:
                n = state.mh_accepted
                old = self.mh_accepted_[k - 1]
                self.mh_accepted_[k - 1] = n if old is None else old + n
                self.mh_proposed_[k - 1] += state.mh_proposed
                state.mh_accepted, state.mh_proposed = None, 0
        self.swap(models, generator, self.steps_ % 2)
        self.steps_ += 1
        return self.states_[0]

    def swap(self, models: list, generator: torch.Generator, parity: int) -> None:
        """Swap proposals for the neighbour pairs ``(i, i + 1)`` with ``i = parity mod 2``
        (0-based), on the replicas' current values.

        ``models`` are :meth:`replicas`. Leaves each replica's hidden field at its new visible
        values in its cache and nothing else.
        """
        states = self.states_
        betas = self.betas
        # Replica k's field at its own values is beta_k c(v_k); kept through the swaps.
        fields = [state.field(m, 1) for m, state in zip(models, states, strict=True)]
        for state in states:
            state.forget_caches()
        counts = [None] * (len(betas) - 1)
        for i in range(parity % 2, len(betas) - 1, 2):
            j = i + 1
            log_alpha = self.swap_log_ratio(models, i, states[i], states[j], fields)
            u = torch.rand(log_alpha.shape, generator=generator, device=log_alpha.device)
            accept = u.log_().to(log_alpha.dtype) < log_alpha
            counts[i] = accept.sum()
            self.swap_proposed_[i] += accept.numel()
            mask = accept[:, None]
            vi, vj = states[i].values, states[j].values
            for layer in range(len(vi)):
                if vi[layer] is None or vj[layer] is None:
                    continue
                a, b = vi[layer], vj[layer]
                vi[layer], vj[layer] = torch.where(mask, b, a), torch.where(mask, a, b)
            fi, fj = fields[i], fields[j]
            fields[i] = torch.where(mask, fj * (betas[i] / betas[j]), fi)
            fields[j] = torch.where(mask, fi * (betas[j] / betas[i]), fj)
        if len(betas) > 1:
            zero = torch.zeros((), dtype=torch.long, device=fields[0].device)
            step = torch.stack([zero if n is None else n for n in counts])
            old = self.swap_accepted_
            self.swap_accepted_ = step if old is None else old + step
        for state, field in zip(states, fields, strict=True):
            state.fields[1] = field

    def swap_log_ratio(
        self, models: list, i: int, state_i: ChainState, state_j: ChainState, fields: list
    ) -> Tensor:
        """``log [p*_i(v_j) p*_j(v_i) / (p*_i(v_i) p*_j(v_j))]`` per row, ``j = i + 1``.

        ``fields[k]`` is replica ``k``'s hidden field at its own values, ``beta_k c(v_k)``;
        the field of replica ``i``'s model at ``v_j`` is ``(beta_i / beta_j)`` times it.
        """
        j = i + 1
        bi, bj = self.betas[i], self.betas[j]
        vi, vj = state_i.values[0], state_j.values[0]
        fi, fj = fields[i], fields[j]

        def log_p(k: int, v: Tensor, field: Tensor) -> Tensor:
            return log_trace_out(models[k], [v, None], (1,), fields={1: field})

        cross = log_p(i, vj, fj * (bi / bj)) + log_p(j, vi, fi * (bj / bi))
        return cross - log_p(i, vi, fi) - log_p(j, vj, fj)

    # ------------------------------------------------------------------ metrics, checkpoints
    def take_rates(self) -> dict[str, list[float | None]]:
        """Swap acceptance per neighbour pair and MH acceptance of replicas ``2..R`` since the
        last call (None where nothing was proposed); the counts restart."""
        swaps = []
        if self.swap_accepted_ is not None:
            acc = self.swap_accepted_.tolist()
            swaps = [a / n if n else None for a, n in zip(acc, self.swap_proposed_, strict=True)]
        mh = [
            float(a) / n if n else None
            for a, n in zip(self.mh_accepted_, self.mh_proposed_, strict=True)
        ]
        out = {"pt_swap_rates": swaps}
        if any(self.mh_proposed_):
            out["pt_accept_rates"] = mh
        self._reset_counts()
        return out

    def state_dict(self) -> dict[str, Any]:
        """Betas, the values of replicas ``2..R`` (replica 1 is the caller's chain) and the
        running counts."""
        states = self.states_ or []
        return {
            "betas": list(self.betas),
            "sampler": self.sampler,
            "steps": self.steps_,
            "replicas": [[None if v is None else v.cpu() for v in s.values] for s in states[1:]],
            "swap_accepted": None if self.swap_accepted_ is None else self.swap_accepted_.cpu(),
            "swap_proposed": list(self.swap_proposed_),
            "mh_accepted": [None if a is None else a.cpu() for a in self.mh_accepted_],
            "mh_proposed": list(self.mh_proposed_),
        }

    def load_state_dict(self, state: dict[str, Any], first: ChainState | None, device, dtype):
        """Restore from :meth:`state_dict`, with ``first`` as replica 1's chain."""
        betas = tuple(float(b) for b in state["betas"])
        if betas != self.betas:
            raise ValueError(
                f"the checkpoint's temperature ladder {list(betas)} differs from the "
                f"configured one {list(self.betas)}"
            )
        replicas = state["replicas"]
        if first is None or not replicas:
            self.states_ = None
        else:
            if len(replicas) != self.n_replicas - 1:
                raise ValueError(
                    f"the checkpoint holds {len(replicas) + 1} replicas, expected {self.n_replicas}"
                )
            self.states_ = [first] + [
                ChainState([None if v is None else v.to(device, dtype) for v in values])
                for values in replicas
            ]
        self.steps_ = int(state["steps"])
        self._reset_counts()
        accepted = state["swap_accepted"]
        self.swap_accepted_ = None if accepted is None else accepted.to(device)
        self.swap_proposed_ = list(state["swap_proposed"])
        self.mh_accepted_ = [None if a is None else a.to(device) for a in state["mh_accepted"]]
        self.mh_proposed_ = list(state["mh_proposed"])
