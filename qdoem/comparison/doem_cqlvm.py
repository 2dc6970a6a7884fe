"""DO-EM on the CQ-LVM (QRBM): closed-form E-step, exact concave M-step.

Maths
-----
E-step (Petz recovery = quantum Bayes rule for a CQ-LVM): eta = sum_v q(v) |v><v| (x) rho_L(v),
rho_L(v) the conditional hidden Gibbs state at theta_old. Since H'(theta) is linear in theta,
Tr(eta H'(theta)) = theta . s_eta, where s_eta = sum_v q(v) (v, <n>_v, v <n>_v^T, <X>_v) at
theta_old (closed form).

M-step: maximise Q(theta) = theta . s_eta - log Z(theta). log Z is convex in theta, so Q is
concave; grad Q = s_eta - E_model[dH'/dtheta]. Both log Z and the model expectation are exact by
enumeration over the 2^n_visible visible states. We run L-BFGS for a few iterations; any increase
of Q over Q(theta_old) increases the likelihood (the QELBO is tight at theta_old).

One-step variant: a single gradient step on Q per E-step. grad Q(theta_old) = grad L(theta_old),
so it is gradient ascent on the likelihood, with O(2^n_visible) instead of O(8^n) cost per step.
"""

from __future__ import annotations

import time

import numpy as np
from scipy.optimize import minimize

from qdoem.comparison.metrics import TrainHistory, kl_to_data
from qdoem.comparison.qrbm import (
    QRBMParams,
    check_visible,
    check_weights,
    model_statistics,
    statistics,
)
from qdoem.comparison.training import check_schedule, gradient_ascent


def e_step(v: np.ndarray, q: np.ndarray, p: QRBMParams) -> np.ndarray:
    """s_eta = Tr(eta dH'/dtheta) for the Petz-recovered eta at ``p`` (closed form)."""
    return statistics(check_visible(v, p.n_visible), check_weights(q, len(v)), p)


def q_function(x: np.ndarray, s_eta: np.ndarray, n_visible: int, n_hidden: int):
    """(Q(theta), grad Q(theta)) for theta given as a vector."""
    p = QRBMParams.from_vector(x, n_visible, n_hidden)
    log_z, model = model_statistics(p)
    return float(x @ s_eta - log_z), s_eta - model


def m_step(s_eta: np.ndarray, p_old: QRBMParams, max_iter: int = 10) -> QRBMParams:
    """Maximise the concave Q from theta_old with at most ``max_iter`` L-BFGS iterations."""
    if not isinstance(max_iter, int | np.integer) or max_iter < 1:
        raise ValueError(f"max_iter must be a positive integer, got {max_iter!r}")
    m, k = p_old.n_visible, p_old.n_hidden

    def neg_q(x):
        val, grad = q_function(x, s_eta, m, k)
        return -val, -grad

    res = minimize(
        neg_q,
        p_old.to_vector(),
        jac=True,
        method="L-BFGS-B",
        options={"maxiter": int(max_iter), "gtol": 1e-10, "ftol": 1e-14},
    )
    # L-BFGS's line search only accepts decreases of -Q, so Q(res.x) >= Q(theta_old).
    return QRBMParams.from_vector(res.x, m, k)


def train_doem(
    v: np.ndarray,
    q: np.ndarray,
    p0: QRBMParams,
    epochs: int,
    inner_iters: int = 10,
    time_cap: float | None = None,
) -> tuple[QRBMParams, TrainHistory]:
    """DO-EM: ``epochs`` rounds of (closed-form E-step, L-BFGS M-step). One epoch = one E-step."""
    check_schedule(epochs, time_cap)
    v = check_visible(v, p0.n_visible)
    q = check_weights(q, v.shape[0])
    p = p0.copy()
    hist = TrainHistory("DO-EM")
    hist.record(kl_to_data(v, q, p), 0.0)
    elapsed = 0.0
    for _ in range(epochs):
        t0 = time.perf_counter()
        p = m_step(e_step(v, q, p), p, inner_iters)
        elapsed += time.perf_counter() - t0
        hist.record(kl_to_data(v, q, p), elapsed)
        if time_cap is not None and elapsed > time_cap:
            hist.stopped = f"time cap {time_cap:g} s reached after {hist.epochs} epochs"
            break
    return p, hist


def one_step_gradient(v: np.ndarray, q: np.ndarray, p: QRBMParams) -> np.ndarray:
    """grad Q at theta_old after an E-step at theta_old: s_eta - E_model (closed form)."""
    return e_step(v, q, p) - model_statistics(p)[1]


def train_doem_one_step(
    v: np.ndarray,
    q: np.ndarray,
    p0: QRBMParams,
    lr: float,
    epochs: int,
    time_cap: float | None = None,
) -> tuple[QRBMParams, TrainHistory]:
    """DO-EM with one M-step gradient step of size ``lr`` per E-step."""
    v = check_visible(v, p0.n_visible)
    q = check_weights(q, v.shape[0])
    return gradient_ascent(
        "DO-EM 1-step", lambda p: one_step_gradient(v, q, p), v, q, p0, lr, epochs, time_cap
    )
