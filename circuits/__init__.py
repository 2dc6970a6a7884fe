"""Quantum latent units as circuits: Gibbs-state preparation and its closed forms.

- :mod:`circuits.gibbs`: closed forms of the 1-qubit Gibbs state and the circuit angles (numpy
  only: importing it does not import Qiskit).
- :mod:`circuits.unit`: the purification circuit of one unit, packed ``k`` to a circuit.
- :mod:`circuits.coupled`: exact purification of an interacting latent block.
- :mod:`circuits.variational`: a thermofield-double ansatz trained by free-energy minimisation.
- :mod:`circuits.pennylane_ops`: the same circuits as PennyLane operations.
- :mod:`circuits.transpile`: transpilation through an injected pass manager.

The names below are imported on first use (PEP 562), so ``import circuits`` and the closed
forms stay free of Qiskit and PennyLane.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "coupled_block_circuit": "circuits.coupled",
    "gibbs_eigendecomposition": "circuits.coupled",
    "gibbs_state": "circuits.coupled",
    "gibbs_density_matrix": "circuits.gibbs",
    "gibbs_expectations": "circuits.gibbs",
    "unit_angles": "circuits.gibbs",
    "default_pass_manager": "circuits.transpile",
    "transpile_for": "circuits.transpile",
    "gibbs_unit_circuit": "circuits.unit",
    "packed_gibbs_circuit": "circuits.unit",
    "parameter_values": "circuits.unit",
    "unpack_bits": "circuits.unit",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'circuits' has no attribute {name!r}")
