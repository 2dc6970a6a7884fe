"""Exact purification circuit of a coupled latent block (latent qubits that interact).

Maths
-----
Diagonalise ``H = U diag(E) U^dagger`` classically and let ``p_k = exp(-E_k) / Z``. Then

1. ``StatePreparation`` puts ``sum_k sqrt(p_k) |k>`` on the ancilla register;
2. a CNOT per qubit copies it onto the system register: ``sum_k sqrt(p_k) |k>_anc |k>_sys``;
3. the unitary ``U`` on the system register maps ``|k>`` to the ``k``-th eigenvector.

Tracing out the ancillas leaves ``sum_k p_k U|k><k|U^dagger = exp(-H)/Z``.

Qubit order: ``hamiltonian`` is written in tensor-product (kron) order with latent qubit 0
the leftmost factor, as in MATH-NOTES. Qiskit indexes basis states little-endian (qubit 0
least significant), so the gates are applied to the registers reversed; system qubit ``i``
of the circuit is then latent qubit ``i``.
"""

from __future__ import annotations

import numpy as np
from qiskit import QuantumCircuit, QuantumRegister
from qiskit.circuit.library import StatePreparation, UnitaryGate

from circuits.unit import measure_system

# Beyond this the classical diagonalisation (and the 2^m-dimensional unitary) stops being
# cheap; DO-EM latent blocks of interest are ~5 qubits.
MAX_BLOCK_QUBITS = 8


def check_hamiltonian(hamiltonian: object) -> tuple[np.ndarray, int]:
    """Return ``hamiltonian`` as a Hermitian complex matrix and its number of qubits.

    Raises
    ------
    ValueError
        If it is not a finite, Hermitian ``2^m x 2^m`` matrix with ``1 <= m <= 8``.
    """
    h = np.asarray(hamiltonian)
    if h.dtype == object or not np.issubdtype(h.dtype, np.number):
        raise ValueError(f"hamiltonian must be a numeric matrix, got dtype {h.dtype}")
    if h.ndim != 2 or h.shape[0] != h.shape[1]:
        raise ValueError(f"hamiltonian must be a square matrix, got shape {h.shape}")
    m = int(round(np.log2(h.shape[0]))) if h.shape[0] > 0 else 0
    if m < 1 or 2**m != h.shape[0] or m > MAX_BLOCK_QUBITS:
        raise ValueError(
            f"hamiltonian must be 2^m x 2^m with 1 <= m <= {MAX_BLOCK_QUBITS}, got {h.shape}"
        )
    h = h.astype(np.complex128)
    if not np.all(np.isfinite(h)):
        raise ValueError("hamiltonian has non-finite (NaN or inf) entries")
    dev = float(np.max(np.abs(h - h.conj().T)))
    if dev > 1e-10 * max(1.0, float(np.max(np.abs(h)))):
        raise ValueError(f"hamiltonian is not Hermitian: max |H - H^dagger| = {dev:.3g}")
    return (h + h.conj().T) / 2, m


def gibbs_eigendecomposition(hamiltonian: object) -> tuple[np.ndarray, np.ndarray]:
    """Boltzmann weights ``p`` and eigenvectors ``U`` (columns) of ``exp(-H)/Z``.

    Maths: ``p_k = exp(-(E_k - E_min)) / sum_l exp(-(E_l - E_min))``; shifting by
    ``E_min`` avoids overflow and cancels in the ratio.
    """
    h, _ = check_hamiltonian(hamiltonian)
    energies, vectors = np.linalg.eigh(h)
    weights = np.exp(-(energies - energies[0]))
    return weights / weights.sum(), vectors


def gibbs_state(hamiltonian: object) -> np.ndarray:
    """The Gibbs state ``exp(-H) / Tr exp(-H)`` by diagonalisation."""
    p, u = gibbs_eigendecomposition(hamiltonian)
    return (u * p) @ u.conj().T


def coupled_block_circuit(hamiltonian: object, basis: str | None = None) -> QuantumCircuit:
    """Purification circuit of ``exp(-H)/Z`` for an ``m``-qubit latent block.

    Parameters
    ----------
    hamiltonian : array_like, shape (2^m, 2^m)
        The block's conditional Hamiltonian ``H_L(v)``, kron order (latent qubit 0 leftmost).
    basis : {"z", "x", None}
        Measure every system qubit in that basis into register ``meas`` (clbit ``i`` is
        latent qubit ``i``), or leave unmeasured.

    Returns
    -------
    QuantumCircuit
        Registers ``sys`` (qubits ``0..m-1``) and ``anc`` (``m..2m-1``).
    """
    if basis not in ("z", "x", None):
        raise ValueError(f"basis must be 'z', 'x' or None, got {basis!r}")
    p, u = gibbs_eigendecomposition(hamiltonian)
    m = int(round(np.log2(p.size)))
    sys_reg, anc_reg = QuantumRegister(m, "sys"), QuantumRegister(m, "anc")
    qc = QuantumCircuit(sys_reg, anc_reg, name=f"gibbs_block_{m}")
    amplitudes = np.sqrt(p)
    qc.append(StatePreparation(amplitudes / np.linalg.norm(amplitudes)), list(anc_reg)[::-1])
    for i in range(m):
        qc.cx(anc_reg[i], sys_reg[i])
    qc.append(UnitaryGate(u, check_input=False), list(sys_reg)[::-1])
    measure_system(qc, sys_reg, basis)
    qc.metadata = {"block_qubits": m, "basis": basis}
    return qc
