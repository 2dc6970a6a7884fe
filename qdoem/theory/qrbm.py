"""The QRBM in numpy: parameters, closed forms, exact enumeration, and DO-EM's E- and M-steps.

The numpy reference of :class:`qdoem.models.QRBM` (float64, small models), shared by the exact
comparisons of :mod:`qdoem.comparison`. The parameter vector ``theta = (a, b, W row-major,
Gamma)`` is the term order of :meth:`qdoem.theory.HamiltonianFamily.qrbm` and of
``QRBM.theta()``: ``QRBMParams.from_vector(model.theta(), n_visible, n_hidden)`` converts a torch
model, and ``HamiltonianFamily.qrbm(m, k).hamiltonian(p.to_vector())`` is its dense ``H``.

Maths
-----
H = -a.v - sum_j c_j(v) n_j - sum_j Gamma_j X_j with c(v) = b + W^T v. Given v the hidden qubits
are independent, with D_j = sqrt(c_j^2/4 + Gamma_j^2) and

    log Tr_L exp(-H_L(v)) = a.v + sum_j [c_j/2 + log 2cosh D_j]      (= log p*(v))
    <n_j>_v = (1 + (c_j / (2 D_j)) tanh D_j) / 2,   <X_j>_v = (Gamma_j / D_j) tanh D_j.

The log-potential H' = -H is linear in theta = (a, b, W, Gamma) with derivatives
(v, n, v n^T, X); their expectations are the "sufficient statistics" used by every method.
log Z = logsumexp_v log p*(v) is exact by enumeration over the 2^n_visible visible states.

DO-EM on it: the E-step (Petz recovery = quantum Bayes rule) gives
``s_eta = sum_v q(v) (v, <n>_v, v <n>_v^T, <X>_v)`` at theta_old; the M-step maximises the concave
``Q(theta) = theta . s_eta - log Z(theta)``, whose gradient is ``s_eta - E_model[dH'/dtheta]``.
With one gradient step, ``grad Q(theta_old) = grad L(theta_old)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize

from qdoem.theory.bits import basis_states
from qdoem.theory.latent_unit import (
    gap,
    log_2cosh,
    tanh_over,
    unit_expectations,
    unit_log_partition,
)

#: Visible states enumerated per chunk; 2^18 rows x 24 columns x 8 bytes is ~50 MB.
DEFAULT_CHUNK = 2**18


@dataclass
class QRBMParams:
    """Parameters theta = (a, b, W, gamma) of the QRBM Hamiltonian.

    Attributes
    ----------
    a : (n_visible,) visible Z fields (on occupations n = (I - Z)/2).
    b : (n_hidden,) hidden Z fields.
    W : (n_visible, n_hidden) visible-hidden couplings.
    gamma : (n_hidden,) hidden transverse (X) fields.
    """

    a: np.ndarray
    b: np.ndarray
    W: np.ndarray
    gamma: np.ndarray

    def __post_init__(self) -> None:
        self.a = np.asarray(self.a, dtype=np.float64)
        self.b = np.asarray(self.b, dtype=np.float64)
        self.W = np.asarray(self.W, dtype=np.float64)
        self.gamma = np.asarray(self.gamma, dtype=np.float64)
        if self.a.ndim != 1 or self.b.ndim != 1 or self.gamma.ndim != 1:
            raise ValueError("a, b and gamma must be 1-D arrays")
        if self.W.shape != (self.a.size, self.b.size):
            raise ValueError(
                f"W must have shape (n_visible, n_hidden) = {(self.a.size, self.b.size)}, "
                f"got {self.W.shape}"
            )
        if self.gamma.shape != self.b.shape:
            raise ValueError(f"gamma must have shape {self.b.shape}, got {self.gamma.shape}")
        for name in ("a", "b", "W", "gamma"):
            if not np.all(np.isfinite(getattr(self, name))):
                raise ValueError(f"{name} contains non-finite values")

    @property
    def n_visible(self) -> int:
        return self.a.size

    @property
    def n_hidden(self) -> int:
        return self.b.size

    @property
    def size(self) -> int:
        """Number of real parameters."""
        return self.a.size + self.b.size + self.W.size + self.gamma.size

    def to_vector(self) -> np.ndarray:
        """theta as one vector, ordered (a, b, W row-major, gamma)."""
        return np.concatenate([self.a, self.b, self.W.ravel(), self.gamma])

    @classmethod
    def from_vector(cls, x: np.ndarray, n_visible: int, n_hidden: int) -> QRBMParams:
        """Inverse of :meth:`to_vector`."""
        x = np.asarray(x, dtype=np.float64)
        m, k = n_visible, n_hidden
        if x.shape != (m + k + m * k + k,):
            n = m + k + m * k + k
            raise ValueError(f"parameter vector must have length {n}, got shape {x.shape}")
        return cls(x[:m], x[m : m + k], x[m + k : m + k + m * k].reshape(m, k), x[m + k + m * k :])

    def copy(self) -> QRBMParams:
        return QRBMParams(self.a.copy(), self.b.copy(), self.W.copy(), self.gamma.copy())


def init_params(
    n_visible: int, n_hidden: int, seed: int = 0, w_scale: float = 0.1, gamma0: float = 0.5
) -> QRBMParams:
    """Shared initialisation: W ~ N(0, w_scale^2), a = b = 0, gamma = gamma0.

    gamma0 must be non-zero: Gamma = 0 is a stationary point of every method's Gamma update
    (<X_j>_v = 0 there), so training would never switch the transverse field on.
    """
    if n_visible < 1 or n_hidden < 1:
        raise ValueError(f"need n_visible, n_hidden >= 1, got {n_visible}, {n_hidden}")
    rng = np.random.default_rng(seed)
    return QRBMParams(
        np.zeros(n_visible),
        np.zeros(n_hidden),
        w_scale * rng.standard_normal((n_visible, n_hidden)),
        np.full(n_hidden, float(gamma0)),
    )


def check_visible(v: np.ndarray, n_visible: int, name: str = "v") -> np.ndarray:
    """Return ``v`` as a float64 (K, n_visible) 0/1 array, or raise ValueError."""
    v = np.asarray(v)
    if v.ndim != 2 or v.shape[1] != n_visible:
        raise ValueError(f"{name} must have shape (K, {n_visible}), got {v.shape}")
    if not np.isin(v, (0, 1)).all():
        raise ValueError(f"{name} must contain only 0 and 1")
    return v.astype(np.float64)


def check_weights(q: np.ndarray, k: int) -> np.ndarray:
    """Return ``q`` as float64 probability weights of length k, or raise ValueError."""
    q = np.asarray(q, dtype=np.float64)
    if q.shape != (k,):
        raise ValueError(f"weights must have shape ({k},), got {q.shape}")
    if np.any(q < 0) or not np.isfinite(q).all() or not np.isclose(q.sum(), 1.0):
        raise ValueError("weights must be finite, non-negative and sum to 1")
    return q


def hidden_moments(v: np.ndarray, p: QRBMParams) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Closed forms per visible row: (log p*(v), <n_j>_v, <X_j>_v).

    log p*(v) = a.v + sum_j [c_j/2 + log 2cosh D_j] is the unnormalised log marginal.
    """
    c = p.b + v @ p.W
    n_mean, x_mean = unit_expectations(c, p.gamma)
    return v @ p.a + np.sum(unit_log_partition(c, p.gamma), axis=1), n_mean, x_mean


def log_unnormalised_marginal(v: np.ndarray, p: QRBMParams) -> np.ndarray:
    """log p*(v) = log <v| Tr_L exp(-H) |v> for each row of ``v``."""
    return hidden_moments(v, p)[0]


def statistics(v: np.ndarray, weights: np.ndarray, p: QRBMParams) -> np.ndarray:
    """Weighted conditional expectations of dH'/dtheta, as a vector ordered like theta.

    sum_r w_r (v_r, <n>_{v_r}, v_r <n>_{v_r}^T, <X>_{v_r}).
    """
    _, n_mean, x_mean = hidden_moments(v, p)
    wn = weights[:, None] * n_mean
    return np.concatenate([weights @ v, wn.sum(0), (v.T @ wn).ravel(), weights @ x_mean])


def log_partition(p: QRBMParams, chunk: int = DEFAULT_CHUNK) -> float:
    """Exact log Z = logsumexp over all 2^n_visible states of log p*(v), in chunks."""
    return model_statistics(p, chunk, with_stats=False)[0]


def model_statistics(
    p: QRBMParams, chunk: int = DEFAULT_CHUNK, with_stats: bool = True
) -> tuple[float, np.ndarray | None]:
    """Exact (log Z, E_model[dH'/dtheta]) by streaming enumeration of the visible states.

    The visible string is split into a high prefix and the last ``log2(chunk)`` low bits. The
    low-bit parts of a.v and W^T v are computed once; each chunk (one prefix) only adds the
    prefix's constant, so no bit arrays are rebuilt. A running maximum keeps the exponentials
    finite: the accumulators hold sums scaled by exp(-m) and are rescaled whenever a chunk raises
    m. Memory is O(chunk * n), so 2^24 visible states work.
    """
    if chunk < 1:
        raise ValueError(f"chunk must be positive, got {chunk}")
    n_low = min(p.n_visible, max(int(np.log2(chunk)), 0))
    n_high = p.n_visible - n_low
    v_low = basis_states(n_low)
    c_low = v_low @ p.W[n_high:]
    a_low = v_low @ p.a[n_high:]
    m = -np.inf
    z = 0.0
    acc = np.zeros(p.size) if with_stats else None
    for v_high in basis_states(n_high):
        c = c_low + (p.b + v_high @ p.W[:n_high])
        d = gap(c, p.gamma)
        log_pstar = a_low + v_high @ p.a[:n_high] + np.sum(0.5 * c + log_2cosh(d), axis=1)
        m_new = max(m, float(log_pstar.max()))
        scale = np.exp(m - m_new)
        w = np.exp(log_pstar - m_new)
        z = z * scale + w.sum()
        if with_stats:
            t = tanh_over(d)
            wn = w[:, None] * (0.5 * (1.0 + 0.5 * c * t))
            wn_sum = wn.sum(0)
            w_sum = w.sum()
            part = np.concatenate(
                [
                    v_high * w_sum,
                    w @ v_low,
                    wn_sum,
                    np.outer(v_high, wn_sum).ravel(),
                    (v_low.T @ wn).ravel(),
                    w @ (p.gamma * t),
                ]
            )
            acc = acc * scale + part
        m = m_new
    log_z = m + np.log(z)
    return log_z, (acc / z if with_stats else None)


def log_likelihood_and_gradient(
    v: np.ndarray, q: np.ndarray, p: QRBMParams
) -> tuple[float, np.ndarray]:
    """Closed-form (L, dL/dtheta) of L = sum_v q(v) log p(v), from one enumeration of log Z.

    L = sum_v q(v) log p*(v) - log Z; dL/dtheta = data statistics minus model statistics.
    """
    log_z, model = model_statistics(p)
    return float(q @ log_unnormalised_marginal(v, p) - log_z), statistics(v, q, p) - model


def log_likelihood_gradient(v: np.ndarray, q: np.ndarray, p: QRBMParams) -> np.ndarray:
    """Closed-form gradient of sum_v q(v) log p(v): data statistics minus model statistics."""
    return statistics(v, q, p) - model_statistics(p)[1]


# --------------------------------------------------------------------------- DO-EM
def e_step(v: np.ndarray, q: np.ndarray, p: QRBMParams, check_input: bool = True) -> np.ndarray:
    """s_eta = Tr(eta dH'/dtheta) for the Petz-recovered eta at ``p`` (closed form).

    ``check_input=False`` skips the checks of ``v`` and ``q`` (:func:`check_visible`,
    :func:`check_weights`): for training loops that checked them once at entry and pass the
    checked arrays, so that the E-step costs the same as the gradient's data term.
    """
    if check_input:
        v = check_visible(v, p.n_visible)
        q = check_weights(q, len(v))
    return statistics(v, q, p)


def q_function(x: np.ndarray, s_eta: np.ndarray, n_visible: int, n_hidden: int):
    """(Q(theta), grad Q(theta)) for theta given as a vector."""
    p = QRBMParams.from_vector(x, n_visible, n_hidden)
    log_z, model = model_statistics(p)
    return float(x @ s_eta - log_z), s_eta - model


def m_step(s_eta: np.ndarray, p_old: QRBMParams, max_iter: int = 10) -> QRBMParams:
    """Maximise the concave Q from theta_old with at most ``max_iter`` L-BFGS iterations."""
    return m_step_result(s_eta, p_old, max_iter)[0]


def m_step_result(s_eta: np.ndarray, p_old: QRBMParams, max_iter: int = 10):
    """:func:`m_step` and scipy's ``OptimizeResult`` (``nfev``: evaluations of Q, each one
    enumeration of log Z; ``nit``: L-BFGS iterations)."""
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
    return QRBMParams.from_vector(res.x, m, k), res


def one_step_gradient(
    v: np.ndarray, q: np.ndarray, p: QRBMParams, check_input: bool = True
) -> np.ndarray:
    """grad Q at theta_old after an E-step at theta_old: s_eta - E_model (closed form).

    ``check_input`` as in :func:`e_step`.
    """
    return e_step(v, q, p, check_input) - model_statistics(p)[1]
