"""Transpilation of the latent-unit circuits to a target, through an injected pass manager.

The circuits keep their parameters through transpilation, so a circuit is transpiled once
per (width, basis) and then bound to every batch. Parameter values are looked up by
name (:func:`circuits.unit.parameter_values`) because the layout may reorder qubits but
never renames parameters. Measurement results stay in the ``meas`` register in unit order,
whatever physical qubits the layout picks.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from qiskit import ClassicalRegister, QuantumCircuit
from qiskit.transpiler import PassManager, generate_preset_pass_manager


def default_pass_manager(
    backend: Any = None,
    *,
    basis_gates: Sequence[str] | None = None,
    optimization_level: int = 1,
    seed: int | None = None,
    initial_layout: Sequence[int] | None = None,
) -> PassManager:
    """Qiskit's preset pass manager for ``backend`` (or for bare ``basis_gates``).

    Level 1 is enough here: the circuits are a few gates per unit, and higher levels
    mostly spend time on layout search. ``initial_layout`` lists the physical qubit of each
    virtual qubit (e.g. from :func:`circuits.layout.unit_pairs`).
    """
    if backend is None and basis_gates is None:
        raise ValueError("default_pass_manager needs a backend or basis_gates")
    return generate_preset_pass_manager(
        optimization_level=optimization_level,
        backend=backend,
        basis_gates=None if basis_gates is None else list(basis_gates),
        seed_transpiler=seed,
        initial_layout=None if initial_layout is None else list(initial_layout),
    )


def transpile_for(
    circuit: QuantumCircuit,
    backend: Any = None,
    *,
    pass_manager: PassManager | None = None,
    seed: int | None = None,
) -> QuantumCircuit:
    """Transpile ``circuit`` with ``pass_manager`` (default: preset one for ``backend``).

    The circuit's ``metadata`` (units, basis) is kept, so the result still binds with
    :func:`circuits.unit.parameter_values`.
    """
    if pass_manager is None:
        if backend is None:
            raise ValueError("transpile_for needs a backend or a pass_manager")
        pass_manager = default_pass_manager(backend, seed=seed)
    out = pass_manager.run(circuit)
    out.metadata = dict(circuit.metadata or {})
    return out


def unit_layout(pairs: Sequence[tuple[int, int]]) -> list[int]:
    """``initial_layout`` of a packed circuit (:func:`circuits.unit.packed_gibbs_circuit`)
    whose unit ``j`` runs on the physical pair ``pairs[j] = (ancilla, system)``: its virtual
    qubits are ``sys[0..k-1]`` then ``anc[0..k-1]``."""
    return [s for _, s in pairs] + [a for a, _ in pairs]


def independent_parts(circuit: QuantumCircuit) -> list[tuple[QuantumCircuit, int]]:
    """Split a measured circuit into its independent parts, one per measured clbit.

    Two qubits belong to the same part when a multi-qubit instruction joins them. Each part is
    returned as a circuit as wide as ``circuit`` (same physical qubits, so a device noise model
    still applies to the right ones) holding only that part's instructions and a 1-bit register
    ``meas``, with the index of the clbit of ``circuit`` it measures.

    Maths: the packed latent units share no gate, so their joint state is a product and each
    unit's statistics depend on its own qubits only; with gate and readout noise local to the
    qubits they act on (the noise models of fake devices), simulating each part alone gives
    exactly the distribution of its bit in the joint circuit, on ``2`` active qubits instead
    of ``2k``.

    Raises
    ------
    ValueError
        A part measures more than one clbit (the units are not independent).
    """
    parent = list(range(circuit.num_qubits))

    def root(q: int) -> int:
        while parent[q] != q:
            parent[q] = parent[parent[q]]
            q = parent[q]
        return q

    index = {bit: i for i, bit in enumerate(circuit.qubits)}
    for inst in circuit.data:
        qs = [index[q] for q in inst.qubits]
        for q in qs[1:]:
            parent[root(q)] = root(qs[0])
    groups: dict[int, list] = {}
    clbits: dict[int, set] = {}
    for inst in circuit.data:
        if not inst.qubits:
            continue
        r = root(index[inst.qubits[0]])
        groups.setdefault(r, []).append(inst)
        clbits.setdefault(r, set()).update(circuit.find_bit(c).index for c in inst.clbits)
    parts = []
    for r, insts in groups.items():
        if not clbits[r]:
            continue  # nothing measured
        if len(clbits[r]) > 1:
            raise ValueError(f"circuit part on qubit {r} measures clbits {sorted(clbits[r])}")
        (clbit,) = clbits[r]
        meas = ClassicalRegister(1, "meas")
        part = QuantumCircuit(circuit.qubits, meas, name=f"{circuit.name}_part{clbit}")
        for inst in insts:
            part.append(inst.replace(clbits=[meas[0]] * len(inst.clbits)))
        parts.append((part, clbit))
    return sorted(parts, key=lambda p: p[1])
