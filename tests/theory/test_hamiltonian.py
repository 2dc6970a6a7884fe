from __future__ import annotations

import numpy as np
import pytest
from qiskit.quantum_info import SparsePauliOp

from qdoem import HamiltonianFamily, pauli_label, pauli_matrix

X = np.array([[0, 1], [1, 0]])
Z = np.diag([1, -1])
I2 = np.eye(2)


def test_pauli_labels_read_in_tensor_order():
    assert np.allclose(pauli_matrix("ZIX").toarray(), np.kron(np.kron(Z, I2), X))
    assert pauli_label(3, {0: "Z", 2: "X"}) == "ZIX"


def test_sparse_pauli_op_interoperates():
    op = SparsePauliOp(["ZIX", "XXI"], coeffs=[0.5, -1.0])
    fam = HamiltonianFamily([op, "IIZ"])
    expected = 0.5 * np.kron(np.kron(Z, I2), X) - np.kron(np.kron(X, X), I2)
    h = fam.hamiltonian([2.0, 3.0])
    assert np.allclose(h, 2.0 * expected + 3.0 * np.kron(np.kron(I2, I2), Z))


def test_transverse_ising_signs():
    fam = HamiltonianFamily.transverse_ising(2, couplings=[(0, 1)], x_qubits=[1])
    assert fam.names == ["b_0", "b_1", "w_0_1", "Gamma_1"]
    b0, b1, w, g = 0.3, -0.2, 0.7, 0.5
    expected = -(b0 * np.kron(Z, I2) + b1 * np.kron(I2, Z) + w * np.kron(Z, Z) + g * np.kron(I2, X))
    assert np.allclose(fam.hamiltonian([b0, b1, w, g]), expected)


def test_cq_detection():
    fam = HamiltonianFamily.qrbm(2, 2)
    assert fam.is_cq(2)
    assert not fam.is_cq(3)  # an X term now sits on a "visible" qubit
    assert HamiltonianFamily(["YZ"]).is_cq(1) is False
    assert HamiltonianFamily(["ZY"]).is_cq(1) is True


def test_expectations_match_trace(rng):
    fam = HamiltonianFamily.qrbm(2, 1)
    g = rng.normal(size=(8, 8)) + 1j * rng.normal(size=(8, 8))
    rho = g @ g.conj().T
    expected = [np.trace(rho @ t.toarray()).real for t in fam.terms]
    assert np.allclose(fam.expectations(rho), expected)


def test_bad_families():
    with pytest.raises(ValueError, match="at least one term"):
        HamiltonianFamily([])
    with pytest.raises(ValueError, match="term 1 has shape"):
        HamiltonianFamily(["ZZ", "Z"])
    with pytest.raises(ValueError, match="Pauli label"):
        HamiltonianFamily(["ZQ"])
    with pytest.raises(ValueError, match="not Hermitian"):
        HamiltonianFamily([np.array([[0, 1], [0, 0]])])
    with pytest.raises(ValueError, match="theta must have 2 entries"):
        HamiltonianFamily(["Z", "X"]).hamiltonian([1.0])


def test_layered_family_is_the_occupation_hamiltonian():
    """H = -b.n - n^T W n - Gamma.X with n = (I - Z)/2, built term by term from matrices."""
    n1 = np.diag([0.0, 1.0])
    fam = HamiltonianFamily.layered((1, 2), quantum=[1], layer_names=["v", "h"])
    assert fam.names == [
        "v_bias[0]", "h_bias[0]", "h_bias[1]", "weights[0,0]", "weights[0,1]",
        "h_gamma[0]", "h_gamma[1]",
    ]  # fmt: skip
    theta = np.array([0.3, -0.2, 0.5, 0.7, -1.1, 0.4, 0.9])

    def k(*ops):
        out = np.eye(1)
        for op in ops:
            out = np.kron(out, op)
        return out

    expected = -(
        0.3 * k(n1, I2, I2)
        - 0.2 * k(I2, n1, I2)
        + 0.5 * k(I2, I2, n1)
        + 0.7 * k(n1, n1, I2)
        - 1.1 * k(n1, I2, n1)
        + 0.4 * k(I2, X, I2)
        + 0.9 * k(I2, I2, X)
    )
    np.testing.assert_allclose(fam.hamiltonian(theta), expected)
    assert fam.is_cq(1) and not fam.is_cq(2)
    deep = HamiltonianFamily.layered((2, 1, 2), quantum=[1])
    assert deep.names[-1] == "layer1_gamma[0]" and "weights_2[0,1]" in deep.names


def test_dense_hamiltonian_is_refused_beyond_the_oracle_size():
    fam = HamiltonianFamily.qrbm(10, 5)  # 15 qubits: sparse terms are fine
    with pytest.raises(ValueError, match="GiB"):
        fam.hamiltonian(np.zeros(len(fam)))
