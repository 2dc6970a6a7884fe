"""KL(data || model) by exact enumeration, and a record of a training run.

Maths
-----
KL(q || p) = sum_{v in supp q} q(v) [log q(v) - log p*(v)] + log Z. Only the data support needs
log p*(v); log Z is the chunked exact enumeration over 2^n_visible states.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from qdoem.theory.bits import basis_states
from qdoem.theory.qrbm import (
    QRBMParams,
    check_visible,
    check_weights,
    log_partition,
    log_unnormalised_marginal,
)


def kl_to_data(v: np.ndarray, q: np.ndarray, p: QRBMParams, log_z: float | None = None) -> float:
    """KL(q || p_model) for data support ``v`` (K, n_visible) with weights ``q``.

    Pass ``log_z`` when it is already known, to skip the enumeration.
    """
    v = check_visible(v, p.n_visible)
    q = check_weights(q, v.shape[0])
    if log_z is None:
        log_z = log_partition(p)
    nz = q > 0
    log_p = log_unnormalised_marginal(v[nz], p) - log_z
    return float(np.sum(q[nz] * (np.log(q[nz]) - log_p)))


def kl_from_distribution(
    probabilities: Callable[[np.ndarray], np.ndarray],
    p: QRBMParams,
    log_z: float | None = None,
    chunk: int = 2**16,
) -> float:
    """KL(P || p_model) for a distribution P given on all 2^n_visible states, by enumeration.

    KL = sum_v P(v) [log P(v) - log p*(v)] + log Z, streamed over chunks of ``chunk`` states
    (the high bits of v fixed per chunk), so 2^24 states need O(chunk * n_visible) memory.
    ``probabilities`` maps an (N, n_visible) 0/1 array to P(v), e.g.
    :meth:`qdoem.data.synthetic.BernoulliMixture.probabilities`.
    """
    m = p.n_visible
    n_low = min(m, max(int(np.log2(chunk)), 0))
    v_low = basis_states(n_low)
    if log_z is None:
        log_z = log_partition(p)
    total, mass = 0.0, 0.0
    for v_high in basis_states(m - n_low):
        v = np.hstack([np.broadcast_to(v_high, (len(v_low), m - n_low)), v_low])
        prob = np.asarray(probabilities(v), dtype=np.float64)
        nz = prob > 0
        total += float(prob[nz] @ (np.log(prob[nz]) - log_unnormalised_marginal(v[nz], p)))
        mass += float(prob.sum())
    if not np.isclose(mass, 1.0, atol=1e-9):
        raise ValueError(f"probabilities must sum to 1 over the 2^{m} states, got {mass!r}")
    return total + log_z


@dataclass
class TrainHistory:
    """KL after each epoch, with the cumulative training wall time (evaluation excluded).

    Entry 0 is the initial model at time 0.
    """

    method: str
    kl: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    stopped: str = ""  # why training stopped early, if it did

    def record(self, kl: float, seconds: float) -> None:
        self.kl.append(float(kl))
        self.seconds.append(float(seconds))

    @property
    def epochs(self) -> int:
        return len(self.kl) - 1

    @property
    def final_kl(self) -> float:
        return self.kl[-1]

    def epoch_to_reach(self, target: float, rtol: float = 1e-9) -> int | None:
        """First epoch with KL <= target (1 + rtol); None if never.

        The tolerance lets methods with identical iterates but different round-off (the
        gradient methods here) count as reaching each other's final KL.
        """
        for e, kl in enumerate(self.kl):
            if kl <= target * (1.0 + rtol) + 1e-15:
                return e
        return None

    def time_to_reach(self, target: float, rtol: float = 1e-9) -> float | None:
        """Training seconds until KL first drops to ``target`` (see epoch_to_reach); or None."""
        e = self.epoch_to_reach(target, rtol)
        return None if e is None else self.seconds[e]
