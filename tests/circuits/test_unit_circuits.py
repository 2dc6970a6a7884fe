"""The single-unit and packed purification circuits against exp(-H)/Z from scipy.linalg.expm."""

from __future__ import annotations

import numpy as np
import pytest
from qiskit import QuantumCircuit
from qiskit.quantum_info import DensityMatrix, Statevector, partial_trace
from qiskit_aer import AerSimulator
from scipy.linalg import expm

from circuits import (
    gibbs_density_matrix,
    gibbs_expectations,
    gibbs_unit_circuit,
    packed_gibbs_circuit,
    parameter_values,
    transpile_for,
    unit_angles,
    unpack_bits,
)

X = np.array([[0, 1], [1, 0]], dtype=complex)
N = np.diag([0.0, 1.0]).astype(complex)
FIELDS = [(0.0, 0.0), (3.0, 0.0), (-3.0, 0.0), (0.0, 1.5), (-2.0, -0.7), (1.3, 2.2), (9.0, 1e-9)]


def expm_gibbs(c: float, gamma: float) -> np.ndarray:
    rho = expm(c * N + gamma * X)  # exp(-H), H = -c n - Gamma X
    return rho / np.trace(rho)


@pytest.mark.parametrize(("c", "gamma"), FIELDS)
def test_closed_forms_match_matrix_exponential(c, gamma):
    rho = expm_gibbs(c, gamma)
    n, x = gibbs_expectations(c, gamma)
    assert float(n) == pytest.approx(rho[1, 1].real, abs=1e-12)
    assert float(x) == pytest.approx(np.trace(rho @ X).real, abs=1e-12)
    np.testing.assert_allclose(gibbs_density_matrix(c, gamma), rho, atol=1e-12)


def test_closed_forms_small_d_limit_is_smooth():
    d = np.array([0.0, 1e-9, 1e-7, 1e-6, 1e-5])
    n, x = gibbs_expectations(0.0, d)
    np.testing.assert_allclose(x, np.tanh(np.maximum(d, 1e-300)) * (d > 0), atol=1e-15)
    np.testing.assert_allclose(n, 0.5)


@pytest.mark.parametrize(("c", "gamma"), FIELDS)
def test_unit_circuit_reduced_state_is_the_gibbs_state(c, gamma):
    qc = gibbs_unit_circuit(basis=None)
    state = Statevector(qc.assign_parameters(parameter_values(qc, c, gamma)[0]))
    rho_sys = partial_trace(state, [1]).data  # trace out the ancilla (qubit 1)
    np.testing.assert_allclose(rho_sys, expm_gibbs(c, gamma), atol=1e-12)


def test_unit_circuit_on_aer_density_matrix():
    c, gamma = -1.7, 0.9
    qc = gibbs_unit_circuit(basis=None)
    qc.save_density_matrix(qubits=[0])
    bound = qc.assign_parameters(parameter_values(qc, c, gamma)[0])
    rho = AerSimulator(method="density_matrix").run(bound).result().data()["density_matrix"]
    np.testing.assert_allclose(np.asarray(rho), expm_gibbs(c, gamma), atol=1e-10)


def test_one_circuit_serves_every_field_by_binding():
    qc = gibbs_unit_circuit("z")
    assert [p.name for p in qc.parameters] == ["alpha[0]", "theta[0]"]
    assert qc.num_qubits == 2 and qc.num_clbits == 1
    values = parameter_values(qc, [0.0, 2.0, -1.0], [1.0, 0.0, 0.5])
    assert values.shape == (3, 2)


def test_packed_circuit_layout_and_parameter_order():
    qc = packed_gibbs_circuit(3, "x")
    assert qc.num_qubits == 6 and qc.num_clbits == 3
    assert qc.metadata == {"units": 3, "basis": "x"}
    # 7 units -> 3 rows of 3, the last padded with c = Gamma = 0.
    c = np.arange(7.0) - 3.0
    gamma = np.linspace(-1.0, 1.0, 7)
    values = parameter_values(qc, c, gamma)
    alpha, theta = unit_angles(c, gamma)
    names = [p.name for p in qc.parameters]
    assert values.shape == (3, 6)
    assert values[1, names.index("alpha[2]")] == alpha[5]
    assert values[2, names.index("theta[0]")] == theta[6]
    assert values[2, names.index("alpha[1]")] == unit_angles(0.0, 0.0)[0]


def test_packed_circuit_every_unit_has_its_gibbs_state():
    c, gamma = np.array([2.0, -1.0, 0.3]), np.array([0.4, 1.1, -2.0])
    qc = packed_gibbs_circuit(3, basis=None)
    state = Statevector(qc.assign_parameters(parameter_values(qc, c, gamma)[0]))
    for j in range(3):
        rho = partial_trace(state, [q for q in range(6) if q != j]).data
        np.testing.assert_allclose(rho, expm_gibbs(c[j], gamma[j]), atol=1e-12)


def test_x_basis_circuit_measures_x():
    c, gamma = 0.4, -1.3
    qc = gibbs_unit_circuit("x").remove_final_measurements(inplace=False)
    state = Statevector(qc.assign_parameters(parameter_values(qc, c, gamma)[0]))
    p1 = state.probabilities([0])[1]
    assert 1 - 2 * p1 == pytest.approx(float(gibbs_expectations(c, gamma)[1]), abs=1e-12)


def test_unpack_bits_little_endian_rows():
    # rows=2, shots=1, k=3: clbit j of row r is unit 3r + j.
    bits = np.array([[[1, 0, 0]], [[0, 1, 1]]], dtype=bool)
    np.testing.assert_array_equal(unpack_bits(bits, 5), [[1, 0, 0, 0, 1]])
    with pytest.raises(ValueError, match="shape"):
        unpack_bits(bits, 7)


def test_transpiled_circuit_to_fake_device_keeps_the_state():
    fake = pytest.importorskip("qiskit_ibm_runtime.fake_provider").FakeManilaV2()
    qc = packed_gibbs_circuit(2, basis=None)
    isa = transpile_for(qc, fake, seed=1)
    assert isa.metadata == qc.metadata
    assert set(isa.count_ops()) <= set(fake.target.operation_names)
    c, gamma = np.array([1.0, -2.0]), np.array([0.5, 0.8])
    values = parameter_values(isa, c, gamma)[0]
    # Undo the layout: compare the two systems' reduced states on their physical qubits.
    state = DensityMatrix(isa.assign_parameters(values))
    layout = isa.layout.final_index_layout()
    for j in range(2):
        keep = layout[j]
        rho = partial_trace(state, [q for q in range(isa.num_qubits) if q != keep]).data
        np.testing.assert_allclose(rho, expm_gibbs(c[j], gamma[j]), atol=1e-10)


def test_bad_input():
    with pytest.raises(ValueError, match="units"):
        packed_gibbs_circuit(0)
    with pytest.raises(ValueError, match="basis"):
        packed_gibbs_circuit(2, "y")
    with pytest.raises(ValueError, match="real"):
        gibbs_expectations(1j, 0.0)
    with pytest.raises(ValueError, match="non-finite"):
        unit_angles([np.inf], [0.0])
    with pytest.raises(ValueError, match="packed_gibbs_circuit"):
        parameter_values(QuantumCircuit(2), 0.0, 0.0)
