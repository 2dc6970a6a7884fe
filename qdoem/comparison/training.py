"""The timed training loops of the comparison: gradient ascent for every gradient method, and
DO-EM (closed-form E-step, L-BFGS M-step, or one gradient step per E-step) on the same QRBM.

Only the updates are timed. The per-epoch KL (exact enumeration, identical for every method) is
evaluated outside the clock so that it does not blur the comparison. The maths of each update
lives elsewhere: DO-EM's in :mod:`qdoem.theory.qrbm`, the baselines' in
:mod:`qdoem.comparison.amin_bound` and :mod:`qdoem.comparison.full_qbm`.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from qdoem.comparison.metrics import TrainHistory, kl_to_data
from qdoem.theory.qrbm import (
    QRBMParams,
    check_visible,
    check_weights,
    e_step,
    m_step,
    one_step_gradient,
)

#: A gradient oracle: params -> d/dtheta sum_v q(v) log p(v) (or a surrogate), ordered like theta.
GradientFn = Callable[[QRBMParams], np.ndarray]


def check_schedule(epochs: int, time_cap: float | None) -> None:
    """Raise ValueError on a bad epoch count or time cap."""
    if not isinstance(epochs, int | np.integer) or epochs < 0:
        raise ValueError(f"epochs must be a non-negative integer, got {epochs!r}")
    if time_cap is not None and not time_cap > 0:
        raise ValueError(f"time_cap must be positive seconds or None, got {time_cap!r}")


def timed_training(
    method: str,
    update: Callable[[QRBMParams], QRBMParams],
    v: np.ndarray,
    q: np.ndarray,
    p0: QRBMParams,
    epochs: int,
    time_cap: float | None = None,
) -> tuple[QRBMParams, TrainHistory]:
    """``p <- update(p)`` for ``epochs`` epochs; only the updates are timed.

    Stops early (and says so in ``history.stopped``) once the training time exceeds ``time_cap``.
    """
    check_schedule(epochs, time_cap)
    p = p0.copy()
    hist = TrainHistory(method)
    hist.record(kl_to_data(v, q, p), 0.0)
    elapsed = 0.0
    for _ in range(epochs):
        t0 = time.perf_counter()
        p = update(p)
        elapsed += time.perf_counter() - t0
        hist.record(kl_to_data(v, q, p), elapsed)
        if time_cap is not None and elapsed > time_cap:
            hist.stopped = f"time cap {time_cap:g} s reached after {hist.epochs} epochs"
            break
    return p, hist


def gradient_ascent(
    method: str,
    grad_fn: GradientFn,
    v: np.ndarray,
    q: np.ndarray,
    p0: QRBMParams,
    lr: float,
    epochs: int,
    time_cap: float | None = None,
) -> tuple[QRBMParams, TrainHistory]:
    """theta <- theta + lr * grad_fn(theta) for ``epochs`` full-batch steps (timed)."""
    check_schedule(epochs, time_cap)
    if not lr > 0:
        raise ValueError(f"lr must be positive, got {lr!r}")

    def step(p: QRBMParams) -> QRBMParams:
        return QRBMParams.from_vector(p.to_vector() + lr * grad_fn(p), p.n_visible, p.n_hidden)

    return timed_training(method, step, v, q, p0, epochs, time_cap)


def train_doem(
    v: np.ndarray,
    q: np.ndarray,
    p0: QRBMParams,
    epochs: int,
    inner_iters: int = 10,
    time_cap: float | None = None,
) -> tuple[QRBMParams, TrainHistory]:
    """DO-EM: ``epochs`` rounds of (closed-form E-step, L-BFGS M-step). One epoch = one E-step.

    ``v`` and ``q`` are checked once here, not at every E-step.
    """
    v = check_visible(v, p0.n_visible)
    q = check_weights(q, v.shape[0])
    return timed_training(
        "DO-EM",
        lambda p: m_step(e_step(v, q, p, check_input=False), p, inner_iters),
        v,
        q,
        p0,
        epochs,
        time_cap,
    )


def train_doem_one_step(
    v: np.ndarray,
    q: np.ndarray,
    p0: QRBMParams,
    lr: float,
    epochs: int,
    time_cap: float | None = None,
) -> tuple[QRBMParams, TrainHistory]:
    """DO-EM with one M-step gradient step of size ``lr`` per E-step.

    ``v`` and ``q`` are checked once here, not at every E-step, so its iterates and its cost
    per step are those of :func:`gradient_ascent` with the closed-form likelihood gradient.
    """
    v = check_visible(v, p0.n_visible)
    q = check_weights(q, v.shape[0])
    return gradient_ascent(
        "DO-EM 1-step",
        lambda p: one_step_gradient(v, q, p, check_input=False),
        v,
        q,
        p0,
        lr,
        epochs,
        time_cap,
    )
