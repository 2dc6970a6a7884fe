"""Purification circuits for independent latent units, one or many per circuit.

Maths
-----
Each unit uses a system qubit ``sys[j]`` and an ancilla ``anc[j]``:
``RY(alpha_j)`` on the ancilla, ``CNOT(anc[j] -> sys[j])``, ``RY(theta_j)`` on the system.
Tracing out the ancilla leaves exactly ``exp(-H_j)/Z_j`` (see :mod:`circuits.gibbs`).

Packing puts ``k`` units on ``2k`` qubits in one circuit. The circuit is parameterised by
``ParameterVector("alpha", k)`` and ``ParameterVector("theta", k)``, so one circuit serves
every ``(c, Gamma)``: :func:`parameter_values` turns a batch of fields into rows of
parameter values, ``k`` units per row, ready for a V2 primitive PUB ``(circuit, values)``.

Bit order: unit ``j`` is measured into clbit ``j`` of the register ``meas``. Qiskit writes
bitstrings with clbit 0 on the right (little-endian), so :func:`unpack_bits` reads the
bits with ``order="little"``.
"""

from __future__ import annotations

import numpy as np
from qiskit import ClassicalRegister, QuantumCircuit, QuantumRegister
from qiskit.circuit import ParameterVector

from circuits.gibbs import as_parameter_batch, unit_angles

BASES = ("z", "x", None)


def _check_basis(basis: str | None) -> None:
    if basis not in BASES:
        raise ValueError(f"basis must be 'z', 'x' or None, got {basis!r}")


def packed_gibbs_circuit(units: int, basis: str | None = "z") -> QuantumCircuit:
    """Circuit preparing ``units`` independent 1-qubit Gibbs states on ``2 * units`` qubits.

    Parameters
    ----------
    units : int
        Number of latent units ``k`` packed in the circuit.
    basis : {"z", "x", None}
        ``"z"`` measures every system qubit (samples of ``n``); ``"x"`` applies ``H`` first
        (``<X> = 1 - 2 P(1)``); ``None`` leaves the circuit unmeasured, for statevector or
        density-matrix simulation.

    Returns
    -------
    QuantumCircuit
        Registers ``sys`` (qubits ``0..k-1``), ``anc`` (qubits ``k..2k-1``) and, if
        measured, ``meas`` with clbit ``j`` holding unit ``j``. ``metadata`` records
        ``units`` and ``basis``.
    """
    if isinstance(units, bool) or not isinstance(units, int | np.integer) or units < 1:
        raise ValueError(f"units must be a positive integer, got {units!r}")
    _check_basis(basis)
    k = int(units)
    sys_reg, anc_reg = QuantumRegister(k, "sys"), QuantumRegister(k, "anc")
    alpha, theta = ParameterVector("alpha", k), ParameterVector("theta", k)
    qc = QuantumCircuit(sys_reg, anc_reg, name=f"gibbs_units_{k}_{basis or 'state'}")
    for j in range(k):
        qc.ry(alpha[j], anc_reg[j])
        qc.cx(anc_reg[j], sys_reg[j])
        qc.ry(theta[j], sys_reg[j])
    measure_system(qc, sys_reg, basis)
    qc.metadata = {"units": k, "basis": basis}
    return qc


def measure_system(qc: QuantumCircuit, sys_reg: QuantumRegister, basis: str | None) -> None:
    """Measure the system register in the Z basis, or in X (a Hadamard first); None: no-op."""
    if basis is None:
        return
    meas = ClassicalRegister(len(sys_reg), "meas")
    qc.add_register(meas)
    if basis == "x":
        qc.h(sys_reg)
    qc.measure(sys_reg, meas)


def gibbs_unit_circuit(basis: str | None = "z") -> QuantumCircuit:
    """The single-unit purification circuit (system qubit 0, ancilla qubit 1).

    Equivalent to ``packed_gibbs_circuit(1, basis)``; bind it with :func:`parameter_values`.
    """
    return packed_gibbs_circuit(1, basis)


def circuit_units(circuit: QuantumCircuit) -> int:
    """Number of packed units of a circuit made by :func:`packed_gibbs_circuit`."""
    units = (circuit.metadata or {}).get("units")
    if not isinstance(units, int):
        raise ValueError("circuit was not made by packed_gibbs_circuit (no 'units' metadata)")
    return units


def parameter_values(circuit: QuantumCircuit, c: object, gamma: object) -> np.ndarray:
    """Rows of parameter values binding a packed circuit to a flat batch of units.

    Maths: each unit's ``(c, Gamma)`` becomes ``(alpha, theta)`` via
    :func:`circuits.gibbs.unit_angles`. The ``U`` units are cut into ``ceil(U / k)`` rows of
    ``k``; the last row is padded with ``c = Gamma = 0`` units, dropped by the unpackers.

    Parameters
    ----------
    circuit : QuantumCircuit
        From :func:`packed_gibbs_circuit` (before or after transpilation).
    c, gamma : array_like
        Fields of the units, broadcast together and flattened in C order.

    Returns
    -------
    ndarray, shape (rows, 2k)
        Columns in the order of ``circuit.parameters``, as the V2 primitives expect.
    """
    k = circuit_units(circuit)
    c_arr, g_arr = as_parameter_batch(c, gamma)
    alpha, theta = unit_angles(c_arr.ravel(), g_arr.ravel())
    rows = -(-alpha.size // k)
    pad = rows * k - alpha.size
    alpha_pad, theta_pad = unit_angles(np.zeros(pad), np.zeros(pad))
    alpha = np.concatenate([alpha, alpha_pad]).reshape(rows, k)
    theta = np.concatenate([theta, theta_pad]).reshape(rows, k)
    # Look columns up by name: a transpiled circuit keeps the names, not necessarily the objects.
    column = {p.name: i for i, p in enumerate(circuit.parameters)}
    values = np.empty((rows, len(column)))
    for j in range(k):
        values[:, column[f"alpha[{j}]"]] = alpha[:, j]
        values[:, column[f"theta[{j}]"]] = theta[:, j]
    return values


def unpack_bits(bits: np.ndarray, n_units: int) -> np.ndarray:
    """Reorder packed measurement bits into ``(shots, n_units)``.

    Parameters
    ----------
    bits : ndarray of bool, shape (rows, shots, k)
        Bit ``j`` of the last axis is clbit ``j`` (``BitArray.to_bool_array("little")``).
    n_units : int
        Number of real (unpadded) units.

    Returns
    -------
    ndarray of uint8, shape (shots, n_units)
        Unit ``i = row * k + j`` in column ``i``.
    """
    bits = np.asarray(bits)
    if bits.ndim != 3 or bits.shape[0] * bits.shape[2] < n_units:
        raise ValueError(
            f"bits must have shape (rows, shots, k) covering {n_units} units, got {bits.shape}"
        )
    rows, shots, k = bits.shape
    return bits.transpose(1, 0, 2).reshape(shots, rows * k)[:, :n_units].astype(np.uint8)
