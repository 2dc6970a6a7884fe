"""Variational Gibbs preparation: a thermofield-double ansatz trained by free-energy minimisation.

Maths
-----
For any state ``rho``, the free energy ``F(rho) = Tr(rho H) - S(rho)`` satisfies
``F(rho) = -log Z + S(rho || exp(-H)/Z) >= -log Z``, with equality only at the Gibbs state.
So minimising ``F`` over a family of states drives it to the Gibbs state, and
``F - (-log Z)`` is the relative entropy left.

The ansatz mirrors the exact purification (:mod:`circuits.coupled`), thermofield-double
style: a real-amplitude circuit ``A(phi)`` on the ancillas gives the Boltzmann weights
(``|<k|A|0>|^2``), CNOTs copy them onto the system, and a real-amplitude circuit ``B(psi)``
on the system turns the computational basis into the eigenbasis. Both use ``RY`` layers
and CNOT ladders, so the ansatz reaches real density matrices only: Hamiltonians made of
``Z``, ``ZZ`` and ``X`` terms (the CQ-LVM case) have real Gibbs states.

This module trains on the exact reduced state (classical simulation), not with
shot-based primitives: it is the reference a device-side optimiser would be checked against.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from qiskit import QuantumCircuit, QuantumRegister
from qiskit.circuit import ParameterVector
from qiskit.quantum_info import DensityMatrix, Statevector, partial_trace, state_fidelity
from scipy.optimize import minimize

from circuits.coupled import check_hamiltonian, gibbs_state


def _real_amplitudes(
    qc: QuantumCircuit, qubits: list, params: ParameterVector, layers: int
) -> None:
    """``layers`` rounds of ``RY`` on every qubit then a CNOT ladder, and a final ``RY`` round."""
    m = len(qubits)
    for layer in range(layers + 1):
        for i, q in enumerate(qubits):
            qc.ry(params[layer * m + i], q)
        if layer < layers:
            for i in range(m - 1):
                qc.cx(qubits[i], qubits[i + 1])


def tfd_ansatz(num_qubits: int, layers: int = 2) -> QuantumCircuit:
    """Thermofield-double ansatz on ``num_qubits`` system qubits plus as many ancillas.

    Parameters ``phi`` (ancilla weights) and ``psi`` (system eigenbasis), each
    ``num_qubits * (layers + 1)`` long. Registers ``sys`` (qubits ``0..m-1``) and ``anc``,
    as in :func:`circuits.coupled.coupled_block_circuit`.
    """
    if isinstance(num_qubits, bool) or not isinstance(num_qubits, int) or num_qubits < 1:
        raise ValueError(f"num_qubits must be a positive integer, got {num_qubits!r}")
    if isinstance(layers, bool) or not isinstance(layers, int) or layers < 0:
        raise ValueError(f"layers must be a non-negative integer, got {layers!r}")
    m = num_qubits
    sys_reg, anc_reg = QuantumRegister(m, "sys"), QuantumRegister(m, "anc")
    qc = QuantumCircuit(sys_reg, anc_reg, name=f"tfd_ansatz_{m}")
    n_params = m * (layers + 1)
    _real_amplitudes(qc, list(anc_reg), ParameterVector("phi", n_params), layers)
    for i in range(m):
        qc.cx(anc_reg[i], sys_reg[i])
    _real_amplitudes(qc, list(sys_reg), ParameterVector("psi", n_params), layers)
    return qc


def system_state(circuit: QuantumCircuit, values: np.ndarray | None = None) -> np.ndarray:
    """Reduced state of the ``sys`` register in kron order (system qubit 0 leftmost).

    Qiskit's matrices are little-endian; ``reverse_qargs`` turns them into the kron order
    of the Hamiltonian.
    """
    bound = circuit if values is None else circuit.assign_parameters(values)
    m = bound.num_qubits // 2
    rho = partial_trace(Statevector(bound), list(range(m, 2 * m)))
    return DensityMatrix(rho).reverse_qargs().data


def free_energy(rho: np.ndarray, hamiltonian: np.ndarray) -> float:
    """``F = Tr(rho H) - S(rho)`` with the von Neumann entropy in nats."""
    p = np.clip(np.linalg.eigvalsh(rho), 0.0, None)
    p = p[p > 1e-15]
    return float(np.trace(rho @ hamiltonian).real + np.sum(p * np.log(p)))


@dataclass(frozen=True)
class VariationalGibbsResult:
    """Outcome of :func:`variational_gibbs`.

    Attributes
    ----------
    circuit : QuantumCircuit
        The ansatz with the optimal parameters bound.
    values : ndarray
        Optimal parameter values, in ``ansatz.parameters`` order.
    free_energy : float
        ``F`` of the prepared state.
    exact_free_energy : float
        ``-log Z``, the minimum.
    fidelity : float
        Uhlmann fidelity (squared convention) to ``exp(-H)/Z``.
    """

    circuit: QuantumCircuit
    values: np.ndarray
    free_energy: float
    exact_free_energy: float
    fidelity: float


def variational_gibbs(
    hamiltonian: object, layers: int = 2, restarts: int = 3, seed: int | None = None
) -> VariationalGibbsResult:
    """Train the thermofield-double ansatz by minimising the free energy (L-BFGS-B).

    Parameters
    ----------
    hamiltonian : array_like, shape (2^m, 2^m)
        Real symmetric Hamiltonian of the latent block, kron order.
    layers : int
        CNOT layers in each half of the ansatz.
    restarts : int
        Random initialisations; the lowest free energy wins (the landscape is not convex).
    seed : int, optional
        Seeds the initialisations.
    """
    h, m = check_hamiltonian(hamiltonian)
    if np.max(np.abs(h.imag)) > 1e-12:
        raise ValueError("variational_gibbs needs a real Hamiltonian (the ansatz is real)")
    if isinstance(restarts, bool) or not isinstance(restarts, int) or restarts < 1:
        raise ValueError(f"restarts must be a positive integer, got {restarts!r}")
    ansatz = tfd_ansatz(m, layers)
    rng = np.random.default_rng(seed)

    def objective(values: np.ndarray) -> float:
        return free_energy(system_state(ansatz, values), h)

    best = None
    for _ in range(restarts):
        start = rng.uniform(-np.pi, np.pi, ansatz.num_parameters)
        res = minimize(objective, start, method="L-BFGS-B")
        if best is None or res.fun < best.fun:
            best = res
    energies = np.linalg.eigvalsh(h)
    # -log Z with the same E_min shift as the weights.
    exact = float(energies[0] - np.log(np.sum(np.exp(-(energies - energies[0])))))
    rho = system_state(ansatz, best.x)
    return VariationalGibbsResult(
        circuit=ansatz.assign_parameters(best.x),
        values=best.x,
        free_energy=float(best.fun),
        exact_free_energy=exact,
        fidelity=float(
            state_fidelity(DensityMatrix(rho), DensityMatrix(gibbs_state(h)), validate=False)
        ),
    )
