"""The same purification circuits as PennyLane operations (no pennylane-qiskit needed).

Call these inside a QNode. Wires follow the Qiskit circuits: system qubit ``j`` on wire
``j`` and its ancilla on wire ``k + j`` (``k`` units, or ``m`` qubits of a block).

Bit order: PennyLane reads wire 0 as the *most* significant bit (kron order), the opposite
of Qiskit. That is MATH-NOTES' order already, so the coupled block needs no reversal here;
``qml.sample(wires=...)`` returns one column per listed wire, so per-unit samples need none
either.

Angles may carry a leading batch axis: PennyLane broadcasts the circuit over it.
"""

from __future__ import annotations

import numpy as np
import pennylane as qml

from circuits.coupled import gibbs_eigendecomposition


def _basis_change(basis: str | None, wires: list[int]) -> list[qml.operation.Operator]:
    if basis not in ("z", "x", None):
        raise ValueError(f"basis must be 'z', 'x' or None, got {basis!r}")
    return [qml.Hadamard(w) for w in wires] if basis == "x" else []


def gibbs_unit_ops(
    alpha: object, theta: object, system: int = 0, ancilla: int = 1, basis: str | None = None
) -> list[qml.operation.Operator]:
    """One unit's purification: ``RY(alpha)`` ancilla, ``CNOT``, ``RY(theta)`` system.

    Angles from :func:`circuits.gibbs.unit_angles`; scalars or 1-d arrays (broadcast).
    ``basis="x"`` appends a Hadamard on the system wire for an X-basis measurement.
    """
    return [
        qml.RY(alpha, wires=ancilla),
        qml.CNOT(wires=[ancilla, system]),
        qml.RY(theta, wires=system),
        *_basis_change(basis, [system]),
    ]


def packed_gibbs_ops(
    alpha: np.ndarray, theta: np.ndarray, basis: str | None = None
) -> list[qml.operation.Operator]:
    """``k`` units on ``2k`` wires; ``alpha``/``theta`` shaped ``(k,)`` or ``(rows, k)``.

    A leading ``rows`` axis is broadcast by PennyLane: one execution per row.
    """
    alpha, theta = np.asarray(alpha), np.asarray(theta)
    if alpha.shape != theta.shape or alpha.ndim not in (1, 2):
        raise ValueError(
            f"alpha and theta must share a shape (k,) or (rows, k), got {alpha.shape}, "
            f"{theta.shape}"
        )
    k = alpha.shape[-1]
    ops: list[qml.operation.Operator] = []
    for j in range(k):
        ops += gibbs_unit_ops(alpha[..., j], theta[..., j], system=j, ancilla=k + j, basis=basis)
    return ops


def coupled_block_ops(
    hamiltonian: object, basis: str | None = None
) -> list[qml.operation.Operator]:
    """Purification of ``exp(-H)/Z`` for an ``m``-qubit block (system wires ``0..m-1``).

    Maths as in :mod:`circuits.coupled`: ``StatePrep(sqrt(p))`` on the ancillas, CNOT copies,
    then the eigenvector unitary ``U`` on the system. ``hamiltonian`` is in kron order, which
    is PennyLane's wire order, so no reversal.
    """
    p, u = gibbs_eigendecomposition(hamiltonian)
    m = int(round(np.log2(p.size)))
    system, ancilla = list(range(m)), list(range(m, 2 * m))
    amplitudes = np.sqrt(p)
    ops: list[qml.operation.Operator] = [
        qml.StatePrep(amplitudes / np.linalg.norm(amplitudes), wires=ancilla)
    ]
    ops += [qml.CNOT(wires=[a, s]) for a, s in zip(ancilla, system, strict=True)]
    ops.append(qml.QubitUnitary(u, wires=system))
    return ops + _basis_change(basis, system)
