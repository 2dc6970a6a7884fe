"""The QELBO from measurement shots of the latent circuits, with its error bar and its terms.

For a CQ-LVM the Petz E-step of the data under ``theta_old`` is
``eta = sum_v eta_V(v) |v><v| (x) rho_L(v; theta_old)`` (MATH-NOTES), and

    QELBO(theta) = E_data[<-H(v; theta)>_{rho_L(v; theta_old)}]      (energy)
                   + E_data[S(rho_L(v; theta_old))]                   (entropy)
                   - log Z(theta),

equal to the log-likelihood ``L`` at ``theta = theta_old`` and below it elsewhere. When
``rho_L(v)`` is a product of 1-qubit conditional Gibbs states (QRBM, QGRBM; for a QiDBM a
mixture of such products over its enumerated classical layers, with weights computed exactly
on the host), every term comes from each unit's ``<n>`` and ``<X>``:

- **energy**: ``-H`` is linear in ``n`` and ``X`` per unit, so its expectation is the classical
  part plus ``sum_j c_j(v; theta) <n_j> + Gamma_j <X_j>``, ``<n>`` from Z-basis and ``<X>``
  from X-basis shots of the circuits at ``theta_old``: unbiased;
- **entropy**: each unit's von Neumann entropy from its estimated Bloch vector
  ``r = (1 - 2<n>, <X>)``, ``S = h((1 + |r|)/2)``. ``S`` is concave, so the plug-in value is
  biased low by ``~ 1/2 tr(Hess S . Cov r_hat) = O(1/N)``; the estimate subtracts that bias
  (second-order delta method, :func:`qdoem.layers.qubit.bloch_entropy_shot_terms`);
- **log Z**: exact by enumeration when small, AIS otherwise (:meth:`LayeredModel.log_partition`).

Error bars. Shots of different units, rows and bases are independent. ``stderr`` is the
standard error of ``value`` as an estimate of the QELBO *of the rows given*: the delta-method
shot variance (the energy and the entropy share the shots, so their variances are not added:
each unit's gradient is ``(c + dS/d<n>, Gamma + dS/d<X>)``), plus the AIS error of ``log Z``.
At ``theta = theta_old`` that gradient vanishes (``dS/d<n> = -c``: Legendre duality), the
error is second order, and the plug-in variance is conservative by about sqrt(2).
``data_stderr`` is the spread of the per-row estimates over sqrt(rows), plus the ``log Z``
error: the error as an estimate of the population QELBO the rows are drawn from (it includes
the shot noise).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch

from qdoem.errors import check_int

__all__ = ["DENSE_MAX_QUBITS", "QELBOEstimate", "dense_qelbo", "estimate_qelbo"]

#: Largest model (visible plus hidden units) the dense oracle builds ``2^n x 2^n`` matrices for.
DENSE_MAX_QUBITS = 10


@dataclass(frozen=True)
class QELBOEstimate:
    """A QELBO estimate and its terms (nats per row).

    Attributes
    ----------
    value, stderr : float
        ``energy + entropy - log_z`` and its standard error against the exact QELBO of the same
        rows (shots and AIS).
    energy, energy_stderr : float
        ``E_data <-H(v; theta)>`` and its shot standard error.
    entropy, entropy_stderr : float
        ``E_data S(rho_L(v; theta_old))`` (shot bias removed) and its shot standard error.
    entropy_bias_correction : float
        What was added to the plug-in entropy (``>= 0``; 0 for exact statistics).
    log_z, log_z_stderr : float
        ``log Z(theta)`` and its standard error (0 when exact).
    log_z_method : str
        ``"exact"``, ``"ais"`` or ``"given"``.
    data_stderr : float
        Standard error over the rows (and ``log Z``): against the population QELBO.
    n : int
        Rows used.
    backend : str
        Where the statistics came from (``"closed-form"`` or a backend name).
    shots : int or None
        Shots per unit and basis (None: exact expectations).
    calls : int
        Backend calls made.
    """

    value: float
    stderr: float
    energy: float
    energy_stderr: float
    entropy: float
    entropy_stderr: float
    entropy_bias_correction: float
    log_z: float
    log_z_stderr: float
    log_z_method: str
    data_stderr: float
    n: int
    backend: str
    shots: int | None
    calls: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def summary(self) -> str:
        """Several lines: the value with its error bar, then each term."""
        shots = "exact expectations" if self.shots is None else f"{self.shots} shots"
        return "\n".join(
            [
                f"QELBO {self.value:.6f} +- {self.stderr:.6f} (shots and log Z; "
                f"+- {self.data_stderr:.6f} over the {self.n} rows)",
                f"  energy   {self.energy:.6f} +- {self.energy_stderr:.6f}",
                f"  entropy  {self.entropy:.6f} +- {self.entropy_stderr:.6f} "
                f"(shot-bias correction {self.entropy_bias_correction:+.6f})",
                f"  log Z    {self.log_z:.6f} +- {self.log_z_stderr:.6f} ({self.log_z_method})",
                f"  from {self.backend}, {shots}, {self.calls} backend calls",
            ]
        )


def estimate_qelbo(
    model,
    data: Any,
    backend: Any = None,
    shots: int | None = 1000,
    *,
    seed: int = 0,
    estimator: Any = None,
    reference=None,
    log_z: float | None = None,
    log_z_stderr: float = 0.0,
    method: str = "auto",
    bias_correction: bool = True,
    batch_size: int = 1024,
    **ais_options: Any,
) -> QELBOEstimate:
    """Estimate the QELBO of ``data`` at the Petz extension under ``reference`` from shots.

    Parameters
    ----------
    model : LayeredModel
        The model at ``theta`` (a CQ-LVM: QRBM, QGRBM, QiDBM, or a classical twin).
    data : array_like
        Visible rows.
    backend : str, backends.Backend or None
        Where the quantum units' statistics come from (:func:`qdoem.estimators.make_estimator`):
        a backend name (``"aer"``, ``"exact"``, ``"ibm:fake_manila"``, ...) or instance; None
        for the closed form (exact).
    shots : int or None
        Shots per unit and basis on ``backend`` (None: the backend's exact expectations).
    seed : int
        Seeds the backend's random stream.
    estimator : optional
        An estimator to use instead of ``backend``/``shots``/``seed``.
    reference : LayeredModel, optional
        The model at ``theta_old`` (default: ``model``, where the QELBO is ``L``).
    log_z : float, optional
        ``log Z(theta)`` if known (with ``log_z_stderr``); else from
        ``model.log_partition(method, **ais_options)``.
    method : {"auto", "exact", "ais"}
        How to get ``log Z``: enumeration when small (``auto``), else AIS.
    bias_correction : bool
        Remove the entropy's shot bias (default True).
    batch_size : int
        Rows per backend call (one call per batch and quantum layer).
    **ais_options
        For AIS: ``n_chains``, ``n_betas``, ``base_bias``, ``generator``, ``sampler``.

    Returns
    -------
    QELBOEstimate
    """
    from qdoem.estimators import make_estimator

    check_int("batch_size", batch_size, 1)
    if estimator is None:
        estimator = make_estimator(backend, shots=shots, seed=seed)
    v = torch.as_tensor(data)
    model.check_data(v if v.ndim == 2 else v[None, :], "data")
    calls_before = getattr(estimator, "calls_", 0)
    parts = [
        model.qelbo_rows(chunk, reference, estimator, bias_correction=bias_correction)
        for chunk in torch.split(v, batch_size)
    ]
    rows = {key: torch.cat([getattr(p, key) for p in parts]) for key in parts[0]._fields}
    if log_z is None:
        if method not in ("auto", "exact", "ais"):
            raise ValueError(f"method must be 'auto', 'exact' or 'ais', got {method!r}")
        log_z, log_z_stderr = model.log_partition(method, **ais_options)
        log_z_method = "ais" if log_z_stderr > 0 or method == "ais" else "exact"
    else:
        log_z_method = "given"
    n = rows["energy"].shape[0]

    def shot_se(var: torch.Tensor) -> float:
        return math.sqrt(float(var.sum())) / n

    per_row = (rows["energy"] + rows["entropy"]).numpy()
    spread = float(np.std(per_row, ddof=1)) / math.sqrt(n) if n > 1 else math.nan
    return QELBOEstimate(
        value=float(per_row.mean()) - float(log_z),
        stderr=math.hypot(shot_se(rows["var"]), log_z_stderr),
        energy=float(rows["energy"].mean()),
        energy_stderr=shot_se(rows["energy_var"]),
        entropy=float(rows["entropy"].mean()),
        entropy_stderr=shot_se(rows["entropy_var"]),
        entropy_bias_correction=float(rows["bias"].mean()),
        log_z=float(log_z),
        log_z_stderr=float(log_z_stderr),
        log_z_method=log_z_method,
        data_stderr=math.hypot(spread, log_z_stderr),
        n=n,
        backend=getattr(estimator, "name", type(estimator).__name__),
        shots=getattr(estimator, "shots", None),
        calls=getattr(estimator, "calls_", 0) - calls_before,
    )


def dense_qelbo(model, data: Any, reference=None) -> float:
    """The exact QELBO from the dense oracle of :mod:`qdoem.theory` (small models only).

    Builds ``rho(theta_old)`` and ``rho(theta)`` as ``2^n x 2^n`` matrices from
    :meth:`~LayeredModel.hamiltonian_family`, the Petz extension ``eta`` of the data state,
    and returns ``Tr(eta log rho(theta)) + S(eta) - S(eta_V)``
    (:func:`qdoem.theory.qelbo`), the same quantity as :meth:`LayeredModel.qelbo`.

    Raises
    ------
    ValueError
        For models with more than :data:`DENSE_MAX_QUBITS` units, or non-{0,1} units.
    """
    from qdoem.theory import classical_data_state, gibbs_state, petz_recovery, qelbo

    size = sum(model.layer_sizes)
    if size > DENSE_MAX_QUBITS:
        raise ValueError(
            f"the dense oracle needs 2^{size} x 2^{size} matrices; at most {DENSE_MAX_QUBITS} units"
        )
    family = model.hamiltonian_family()
    reference = model if reference is None else reference
    rows = np.asarray(torch.as_tensor(data).double().cpu().numpy())
    rows = rows[None, :] if rows.ndim == 1 else rows
    dims = (2**model.n_visible, 2 ** (size - model.n_visible))
    rho_old = gibbs_state(family.hamiltonian(reference.theta()))
    eta = petz_recovery(rho_old, classical_data_state(rows), dims)
    rho = rho_old if reference is model else gibbs_state(family.hamiltonian(model.theta()))
    return qelbo(eta, rho, dims)
