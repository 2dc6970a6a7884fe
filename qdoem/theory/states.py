"""Exact density-operator maths: partial traces, entropies, Gibbs states, the Petz map, the QELBO.

All functions work on dense complex128 matrices and validate their inputs (see
:mod:`qdoem.theory.validation` for the tolerances). Subsystem ``0`` is the most
significant tensor factor: ``kron(a, b)`` has ``a`` on subsystem 0.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from qdoem.errors import InvalidDensityOperatorError, InvalidDimensionsError
from qdoem.theory import spectral
from qdoem.theory.validation import (
    as_square_matrix,
    check_density_operator,
    check_dims,
    check_hermitian,
)


def partial_trace(rho: np.ndarray, dims: Sequence[int], keep: Sequence[int]) -> np.ndarray:
    """Trace out every subsystem not in ``keep``.

    Parameters
    ----------
    rho : (d, d) array
        Any operator on the composite space (it need not be a state).
    dims : sequence of int
        Subsystem dimensions; their product must be ``d``.
    keep : sequence of int
        Subsystems to keep, in the order they should appear in the result. An empty
        ``keep`` returns the 1x1 matrix ``[[Tr rho]]``.

    Returns
    -------
    (d_keep, d_keep) complex128 array
        ``Tr_{not keep} rho``, with the kept factors permuted into ``keep``'s order.
    """
    arr = as_square_matrix(rho, "rho")
    dims = check_dims(dims, arr.shape[0])
    n = len(dims)
    keep = list(keep)
    if len(set(keep)) != len(keep) or any(not 0 <= int(k) < n for k in keep):
        raise InvalidDimensionsError(
            f"keep must list distinct subsystems in 0..{n - 1}, got {keep!r}"
        )
    keep = [int(k) for k in keep]
    rows = list(range(n))
    cols = [i if i not in keep else n + i for i in range(n)]  # shared index = traced
    out = [rows[k] for k in keep] + [cols[k] for k in keep]
    reduced = np.einsum(arr.reshape(dims + dims), rows + cols, out)
    d_keep = int(np.prod([dims[k] for k in keep])) if keep else 1
    return reduced.reshape(d_keep, d_keep)


def von_neumann_entropy(rho: np.ndarray) -> float:
    """``S(rho) = -Tr rho log rho`` in nats (0 log 0 = 0)."""
    arr = check_density_operator(rho, "rho")
    return spectral.entropy_of_spectrum(np.linalg.eigvalsh(arr))


def relative_entropy(omega: np.ndarray, rho: np.ndarray) -> float:
    """Umegaki relative entropy ``D(omega || rho) = Tr omega (log omega - log rho)``, natural log.

    Returns ``+inf`` when ``supp(omega)`` is not inside ``supp(rho)``, i.e. when
    ``omega`` puts weight above ``1e-12`` on the kernel of ``rho``. Both arguments may be
    rank-deficient; logarithms are taken on the supports.
    """
    om = check_density_operator(omega, "omega")
    rh = check_density_operator(rho, "rho")
    if om.shape != rh.shape:
        raise InvalidDimensionsError(f"omega is {om.shape} but rho is {rh.shape}")
    w, u = spectral.eigh(rh)
    mask = spectral.support_mask(w)
    kernel = u[:, ~mask]
    leak = float(np.real(np.trace(kernel.conj().T @ om @ kernel))) if kernel.size else 0.0
    if leak > spectral.SUPPORT_TOL:
        return float("inf")
    log_w = np.zeros_like(w)
    log_w[mask] = np.log(w[mask])
    om_in_rho_basis = np.real(np.einsum("ij,ik,kj->j", u.conj(), om, u))  # diag(U^+ om U)
    cross = float(np.sum(om_in_rho_basis * log_w))  # Tr omega log rho
    neg_entropy = -spectral.entropy_of_spectrum(np.linalg.eigvalsh(om))
    return max(neg_entropy - cross, 0.0)


def _gibbs_spectrum(h: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """Eigenvectors, Boltzmann weights and ``log Z`` of ``exp(-H)``, overflow-free."""
    w, u = spectral.eigh(h)
    shifted = np.exp(-(w - w[0]))  # largest weight is exactly 1
    z_shifted = float(np.sum(shifted))
    return u, shifted / z_shifted, float(-w[0] + np.log(z_shifted))


def gibbs_state(h: np.ndarray) -> np.ndarray:
    """``exp(-H) / Tr exp(-H)`` for Hermitian ``H`` (physics convention).

    Computed from the spectrum of ``H`` shifted by its smallest eigenvalue, so it is
    exact in floating point for any norm of ``H``.
    """
    u, p, _ = _gibbs_spectrum(check_hermitian(h, "H"))
    return spectral.apply(u, p)


def log_partition(h: np.ndarray) -> float:
    """``log Tr exp(-H)``, overflow-free."""
    return _gibbs_spectrum(check_hermitian(h, "H"))[2]


def _bipartite(dims: Sequence[int], size: int) -> tuple[int, int]:
    dims = check_dims(dims, size)
    if len(dims) != 2:
        raise InvalidDimensionsError(f"dims must be (d_A, d_B), got {list(dims)!r}")
    return dims


def petz_recovery(rho: np.ndarray, omega: np.ndarray, dims: Sequence[int]) -> np.ndarray:
    """Petz recovery map of ``Tr_B`` with respect to ``rho``, applied to ``omega``.

    ``R_rho(omega) = rho^{1/2} ((rho_A^{-1/2} omega rho_A^{-1/2}) (x) I_B) rho^{1/2}``,
    with ``rho_A = Tr_B rho`` and the inverse square root taken on ``supp(rho_A)``.
    In DO-EM this is the E-step: the extension of the data state ``omega = eta_V``.

    Parameters
    ----------
    rho : (d_A d_B, d_A d_B) density operator (the model).
    omega : (d_A, d_A) density operator (the data state).
    dims : (d_A, d_B).
    """
    rh = check_density_operator(rho, "rho")
    d_a, d_b = _bipartite(dims, rh.shape[0])
    om = check_density_operator(omega, "omega")
    if om.shape != (d_a, d_a):
        raise InvalidDimensionsError(
            f"omega must be {d_a}x{d_a} for dims {list(dims)}, got {om.shape}"
        )
    rho_a_inv_sqrt = spectral.inv_sqrtm_psd(partial_trace(rh, (d_a, d_b), [0]))
    inner = np.kron(rho_a_inv_sqrt @ om @ rho_a_inv_sqrt, np.eye(d_b))
    sqrt_rho = spectral.sqrtm_psd(rh)
    out = sqrt_rho @ inner @ sqrt_rho
    return (out + out.conj().T) / 2


def conditional_amplitude_operator(rho: np.ndarray, dims: Sequence[int]) -> np.ndarray:
    """Cerf-Adami conditional amplitude operator ``exp(log rho - log rho_A (x) I_B)``.

    Defined for full-rank ``rho`` (for a CQ state it is ``sum_v |v><v| (x) rho_B|v``);
    a rank-deficient ``rho`` raises, since ``log rho`` is then unbounded.
    """
    rh = check_density_operator(rho, "rho")
    d_a, d_b = _bipartite(dims, rh.shape[0])
    w = np.linalg.eigvalsh(rh)
    if not np.all(spectral.support_mask(w)):
        raise InvalidDensityOperatorError(
            f"rho must be full rank for the conditional amplitude operator; smallest "
            f"eigenvalue {w[0]:.3g}"
        )
    log_rho_a = spectral.logm_psd(partial_trace(rh, (d_a, d_b), [0]))
    exponent = spectral.logm_psd(rh) - np.kron(log_rho_a, np.eye(d_b))
    w_e, u_e = spectral.eigh(exponent)
    return spectral.apply(u_e, np.exp(w_e))


def qelbo(eta: np.ndarray, rho: np.ndarray, dims: Sequence[int]) -> float:
    """Quantum ELBO ``Tr(eta log rho) + S(eta) - S(Tr_B eta)``.

    Computed as ``-D(eta || rho) - S(eta_A)`` (the same quantity), which is ``-inf``
    when ``supp(eta)`` leaves ``supp(rho)``. For every extension ``eta`` of ``eta_A``,
    ``qelbo(eta, rho) <= Tr(eta_A log rho_A)``: monotonicity of relative entropy.
    """
    et = check_density_operator(eta, "eta")
    d_a, d_b = _bipartite(dims, et.shape[0])
    return -relative_entropy(et, rho) - von_neumann_entropy(partial_trace(et, (d_a, d_b), [0]))


def log_likelihood(eta_a: np.ndarray, rho: np.ndarray, dims: Sequence[int]) -> float:
    """DO-EM's objective ``L = Tr(eta_A log Tr_B rho)`` (``-inf`` off the support)."""
    rh = check_density_operator(rho, "rho")
    d_a, d_b = _bipartite(dims, rh.shape[0])
    et = check_density_operator(eta_a, "eta_V")
    if et.shape != (d_a, d_a):
        raise InvalidDimensionsError(
            f"eta_V must be {d_a}x{d_a} for dims {list(dims)}, got {et.shape}"
        )
    return -relative_entropy(et, partial_trace(rh, (d_a, d_b), [0])) - von_neumann_entropy(et)
