"""Exact density-operator core of DO-EM (numpy/scipy, complex128)."""

from qdoem.theory.bits import basis_states, state_index
from qdoem.theory.doem import (
    TrainingTrace,
    classical_data_state,
    do_em,
    gradient_ascent,
    log_likelihood_gradient,
    m_step,
    satisfies_condition_s,
)
from qdoem.theory.hamiltonian import HamiltonianFamily, pauli_label, pauli_matrix
from qdoem.theory.states import (
    conditional_amplitude_operator,
    gibbs_state,
    log_likelihood,
    log_partition,
    partial_trace,
    petz_recovery,
    qelbo,
    relative_entropy,
    von_neumann_entropy,
)

__all__ = [
    "HamiltonianFamily",
    "basis_states",
    "TrainingTrace",
    "classical_data_state",
    "conditional_amplitude_operator",
    "do_em",
    "gibbs_state",
    "gradient_ascent",
    "log_likelihood",
    "log_likelihood_gradient",
    "log_partition",
    "m_step",
    "partial_trace",
    "pauli_label",
    "pauli_matrix",
    "petz_recovery",
    "qelbo",
    "relative_entropy",
    "satisfies_condition_s",
    "state_index",
    "von_neumann_entropy",
]
