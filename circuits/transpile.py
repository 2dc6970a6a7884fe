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

from qiskit import QuantumCircuit
from qiskit.transpiler import PassManager, generate_preset_pass_manager


def default_pass_manager(
    backend: Any = None,
    *,
    basis_gates: Sequence[str] | None = None,
    optimization_level: int = 1,
    seed: int | None = None,
) -> PassManager:
    """Qiskit's preset pass manager for ``backend`` (or for bare ``basis_gates``).

    Level 1 is enough here: the circuits are a few gates per unit, and higher levels
    mostly spend time on layout search.
    """
    if backend is None and basis_gates is None:
        raise ValueError("default_pass_manager needs a backend or basis_gates")
    return generate_preset_pass_manager(
        optimization_level=optimization_level,
        backend=backend,
        basis_gates=None if basis_gates is None else list(basis_gates),
        seed_transpiler=seed,
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
