"""Quantum latent units as circuits: Gibbs-state preparation and its closed forms.

- :mod:`circuits.gibbs`: closed forms of the 1-qubit Gibbs state and the circuit angles.
- :mod:`circuits.unit`: the purification circuit of one unit, packed ``k`` to a circuit.
- :mod:`circuits.coupled`: exact purification of an interacting latent block.
- :mod:`circuits.variational`: a thermofield-double ansatz trained by free-energy minimisation.
- :mod:`circuits.pennylane_ops`: the same circuits as PennyLane operations.
- :mod:`circuits.transpile`: transpilation through an injected pass manager.
"""

from circuits.coupled import coupled_block_circuit, gibbs_eigendecomposition, gibbs_state
from circuits.gibbs import gibbs_density_matrix, gibbs_expectations, unit_angles
from circuits.transpile import default_pass_manager, transpile_for
from circuits.unit import (
    gibbs_unit_circuit,
    packed_gibbs_circuit,
    parameter_values,
    unpack_bits,
)

__all__ = [
    "coupled_block_circuit",
    "default_pass_manager",
    "gibbs_density_matrix",
    "gibbs_eigendecomposition",
    "gibbs_expectations",
    "gibbs_state",
    "gibbs_unit_circuit",
    "packed_gibbs_circuit",
    "parameter_values",
    "transpile_for",
    "unit_angles",
    "unpack_bits",
]
