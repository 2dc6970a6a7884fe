"""Exact DO-EM (Algorithm 1) and exact likelihood gradient ascent for small Hamiltonian DO-LVMs.

The model is ``rho(theta) = exp(-H(theta)) / Z(theta)`` with ``H(theta) = sum_r theta_r H_r``
on ``n_visible`` visible qubits (first) and the remaining latent qubits. Everything is
dense linear algebra on ``2**n`` x ``2**n`` matrices, so this is the oracle for up to
about 12 qubits, not the path for large models.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import minimize

from qdoem.errors import InvalidDimensionsError, PetzNotGuaranteedWarning
from qdoem.theory import spectral
from qdoem.theory.bits import state_index
from qdoem.theory.hamiltonian import HamiltonianFamily
from qdoem.theory.states import (
    _gibbs_spectrum,
    log_likelihood,
    partial_trace,
    petz_recovery,
    qelbo,
)
from qdoem.theory.validation import check_density_operator


@dataclass
class TrainingTrace:
    """What a training run returns.

    Attributes
    ----------
    theta : final parameters.
    log_likelihood : ``L(theta_t) = Tr(eta_V log rho_V(theta_t))`` for ``t = 0..n_iter``.
    qelbo : for DO-EM, the QELBO of the Petz extension at ``theta_t`` (same length); it
        equals ``log_likelihood`` when Condition S holds. Empty for gradient ascent.
    thetas : the parameters at every iteration, shape ``(n_iter + 1, n_params)``.
    condition_s : whether the model is a CQ-LVM with classical data, so that the
        likelihood is guaranteed not to decrease under DO-EM.
    extension_error : for DO-EM, the trace norm ``||Tr_L eta_t - eta_V||_1`` of the Petz
        output at every iterate. Zero (to rounding) under Condition S; otherwise the
        Petz output is not an extension of the data, and ``qelbo`` is not a bound on ``L``.
    m_step_iterations : L-BFGS iterations taken by each M-step.
    """

    theta: np.ndarray
    log_likelihood: np.ndarray
    qelbo: np.ndarray
    thetas: np.ndarray
    condition_s: bool
    extension_error: np.ndarray = field(default_factory=lambda: np.array([]))
    m_step_iterations: list[int] = field(default_factory=list)


def _check_problem(
    family: HamiltonianFamily, eta_v: np.ndarray, n_visible: int, theta0: np.ndarray | None
) -> tuple[np.ndarray, tuple[int, int], np.ndarray]:
    if not isinstance(family, HamiltonianFamily):
        raise TypeError(f"family must be a HamiltonianFamily, got {type(family).__name__}")
    if not 1 <= n_visible <= family.n_qubits:
        raise InvalidDimensionsError(
            f"n_visible={n_visible} must be between 1 and the family's {family.n_qubits} qubits"
        )
    dims = (2**n_visible, 2 ** (family.n_qubits - n_visible))
    eta = check_density_operator(eta_v, "eta_V")
    if eta.shape != (dims[0], dims[0]):
        raise InvalidDimensionsError(
            f"eta_V must be {dims[0]}x{dims[0]} for {n_visible} visible qubits, got {eta.shape}"
        )
    theta = np.zeros(len(family)) if theta0 is None else family.check_theta(theta0)
    return eta, dims, theta.copy()


def satisfies_condition_s(family: HamiltonianFamily, eta_v: np.ndarray, n_visible: int) -> bool:
    """CQ-LVM (no X/Y on visible qubits) with classical (diagonal) data ``eta_V``."""
    eta = np.asarray(eta_v)
    classical_data = np.allclose(eta, np.diag(np.diag(eta)), atol=1e-12)
    return classical_data and family.is_cq(n_visible)


def m_step(
    family: HamiltonianFamily, eta: np.ndarray, theta0: np.ndarray, maxiter: int = 100
) -> tuple[np.ndarray, int]:
    """Maximise ``Q(theta) = -Tr(eta H(theta)) - log Z(theta)`` by L-BFGS from ``theta0``.

    ``Q`` is concave for a linear family; its gradient is
    ``dQ/dtheta_r = Tr(H_r rho(theta)) - Tr(H_r eta)``.
    Returns the maximiser found and the number of L-BFGS iterations.
    """
    target = family.expectations(eta)

    def neg_q(theta: np.ndarray) -> tuple[float, np.ndarray]:
        u, p, log_z = _gibbs_spectrum(family.hamiltonian(theta))
        rho = spectral.apply(u, p)
        return float(theta @ target + log_z), target - family.expectations(rho)

    res = minimize(
        neg_q, theta0, jac=True, method="L-BFGS-B", options={"maxiter": maxiter, "gtol": 1e-9}
    )
    # L-BFGS-B only accepts steps that lower the objective, so Q(res.x) >= Q(theta0):
    # the monotonicity argument of DO-EM needs exactly that.
    return res.x, int(res.nit)


def do_em(
    family: HamiltonianFamily,
    eta_v: np.ndarray,
    n_visible: int,
    theta0: np.ndarray | None = None,
    n_iter: int = 50,
    m_step_maxiter: int = 100,
) -> TrainingTrace:
    """Exact DO-EM (Algorithm 1 of Vishnu et al.).

    Each iteration takes

    - **E-step:** ``eta = R_rho(eta_V)``, the Petz recovery of ``eta_V`` through ``Tr_L``;
    - **M-step:** ``theta <- argmax -Tr(eta H(theta)) - log Z(theta)`` (L-BFGS, concave).

    Under Condition S (CQ-LVM, classical data) the QELBO at the Petz extension equals
    ``L(theta)``, so ``L`` never decreases. Otherwise a
    :class:`~qdoem.errors.PetzNotGuaranteedWarning` is issued and the trace reports
    ``condition_s=False`` and ``extension_error`` shows how far the Petz output is from
    extending ``eta_V`` (its QELBO is then no bound on ``L``).

    Parameters
    ----------
    family : the Hamiltonian family ``H(theta) = sum_r theta_r H_r``.
    eta_v : data state on the visible qubits (``2**n_visible`` square).
    n_visible : number of visible qubits (the first ones).
    theta0 : initial parameters (default zeros).
    n_iter : number of E/M iterations.
    m_step_maxiter : L-BFGS iterations per M-step.
    """
    eta_v, dims, theta = _check_problem(family, eta_v, n_visible, theta0)
    condition_s = satisfies_condition_s(family, eta_v, n_visible)
    if not condition_s:
        warnings.warn(
            "Condition S does not hold (visible qubits carry X/Y terms or the data state is "
            "not diagonal): the Petz extension need not saturate the QELBO, and DO-EM's "
            "monotone-likelihood guarantee does not apply.",
            PetzNotGuaranteedWarning,
            stacklevel=2,
        )
    lls, bounds, errors, thetas, its = [], [], [], [theta.copy()], []
    for t in range(n_iter + 1):
        rho = _gibbs(family, theta)
        lls.append(log_likelihood(eta_v, rho, dims))
        eta = petz_recovery(rho, eta_v, dims)
        bounds.append(qelbo(eta, rho, dims))
        marginal_gap = np.linalg.eigvalsh(partial_trace(eta, dims, [0]) - eta_v)
        errors.append(float(np.sum(np.abs(marginal_gap))))
        if t == n_iter:
            break
        theta, nit = m_step(family, eta, theta, m_step_maxiter)
        thetas.append(theta.copy())
        its.append(nit)
    return TrainingTrace(
        theta, np.array(lls), np.array(bounds), np.array(thetas), condition_s, np.array(errors), its
    )


def _gibbs(family: HamiltonianFamily, theta: np.ndarray) -> np.ndarray:
    u, p, _ = _gibbs_spectrum(family.hamiltonian(theta))
    return spectral.apply(u, p)


def log_likelihood_gradient(
    family: HamiltonianFamily, theta: np.ndarray, eta_v: np.ndarray, n_visible: int
) -> np.ndarray:
    """Exact ``dL/dtheta_r`` for ``L = Tr(eta_V log Tr_L rho(theta))``, for any family.

    With ``H = U diag(lambda) U^dagger`` and ``rho_V = V diag(mu) V^dagger``
    (Daleckii-Krein: Frechet derivatives of ``exp`` and ``log`` are entrywise products
    with divided differences ``F`` of ``e^{-x}`` and ``G`` of ``log``):

    ``A = V (G o V^dagger eta_V V) V^dagger``, ``B = U (F o U^dagger (A (x) I) U) U^dagger``,

    ``dL/dtheta_r = Tr(B H_r) / Z + Tr(A rho_V) Tr(rho H_r)``

    (``Z`` and ``F`` shifted by ``lambda_min`` together, so nothing overflows).
    """
    eta_v, dims, theta = _check_problem(family, eta_v, n_visible, theta)
    return _log_likelihood_gradient(family, theta, eta_v, dims)


def _log_likelihood_gradient(
    family: HamiltonianFamily, theta: np.ndarray, eta_v: np.ndarray, dims: tuple[int, int]
) -> np.ndarray:
    """:func:`log_likelihood_gradient` on inputs already checked by :func:`_check_problem`."""
    w, u = spectral.eigh(family.hamiltonian(theta))
    boltz = np.exp(-(w - w[0]))
    z = float(np.sum(boltz))
    rho = spectral.apply(u, boltz / z)
    rho_v = partial_trace(rho, dims, [0])
    mu, v = spectral.eigh(rho_v)
    g = spectral.frechet_weights(mu, np.log, lambda x: 1.0 / x)
    a = v @ (g * (v.conj().T @ eta_v @ v)) @ v.conj().T
    f = spectral.frechet_weights(w, lambda x: np.exp(-(x - w[0])), lambda x: -np.exp(-(x - w[0])))
    b = u @ (f * (u.conj().T @ np.kron(a, np.eye(dims[1])) @ u)) @ u.conj().T
    return family.expectations(b) / z + np.real(np.trace(a @ rho_v)) * family.expectations(rho)


def gradient_ascent(
    family: HamiltonianFamily,
    eta_v: np.ndarray,
    n_visible: int,
    theta0: np.ndarray | None = None,
    n_iter: int = 50,
    learning_rate: float = 0.1,
) -> TrainingTrace:
    """Direct gradient ascent on ``L(theta)``, the gradient-based alternative to DO-EM.

    ``theta <- theta + learning_rate * dL/dtheta`` with the exact gradient of
    :func:`log_likelihood_gradient`. No monotonicity guarantee: a large step can lower ``L``.
    """
    if not learning_rate > 0:
        raise ValueError(f"learning_rate must be positive, got {learning_rate}")
    eta_v, dims, theta = _check_problem(family, eta_v, n_visible, theta0)
    lls, thetas = [], [theta.copy()]
    for t in range(n_iter + 1):
        lls.append(log_likelihood(eta_v, _gibbs(family, theta), dims))
        if t == n_iter:
            break
        # Inputs were checked once above; each step only computes the gradient.
        theta = theta + learning_rate * _log_likelihood_gradient(family, theta, eta_v, dims)
        thetas.append(theta.copy())
    condition_s = satisfies_condition_s(family, eta_v, n_visible)
    return TrainingTrace(theta, np.array(lls), np.array([]), np.array(thetas), condition_s)


def classical_data_state(samples: np.ndarray) -> np.ndarray:
    """``eta_V = (1/N) sum_i |v_i><v_i|`` from an ``(N, m)`` array of {0,1} samples.

    Bit ``v[0]`` is the most significant (visible qubit 0 is the first tensor factor).
    """
    arr = np.asarray(samples)
    if arr.ndim != 2 or arr.shape[0] == 0:
        raise ValueError(f"samples must be a non-empty (N, m) array, got shape {arr.shape}")
    if not np.all((arr == 0) | (arr == 1)):
        raise ValueError("samples must contain only 0 and 1")
    m = arr.shape[1]
    counts = np.bincount(state_index(arr), minlength=2**m).astype(float)
    return np.diag(counts / counts.sum()).astype(np.complex128)
