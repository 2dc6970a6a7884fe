"""Coupled latent blocks: exact purification and the variational ansatz, against expm."""

from __future__ import annotations

from functools import reduce

import numpy as np
import pennylane as qml
import pytest
from qiskit import transpile
from qiskit.quantum_info import DensityMatrix, state_fidelity
from qiskit_aer import AerSimulator
from scipy.linalg import expm

from circuits import coupled_block_circuit, gibbs_state
from circuits.pennylane_ops import coupled_block_ops
from circuits.variational import free_energy, system_state, tfd_ansatz, variational_gibbs

I2 = np.eye(2)
X = np.array([[0.0, 1.0], [1.0, 0.0]])
Z = np.diag([1.0, -1.0])
N = np.diag([0.0, 1.0])


def on(op: np.ndarray, i: int, m: int) -> np.ndarray:
    """``op`` on latent qubit ``i`` of ``m`` (kron order: qubit 0 leftmost)."""
    return reduce(np.kron, [op if j == i else I2 for j in range(m)])


def transverse_ising(m: int, seed: int) -> np.ndarray:
    """``H_L(v) = -sum c_i n_i - sum Gamma_i X_i - sum J_ij Z_i Z_j``: a CQ-LVM latent block."""
    rng = np.random.default_rng(seed)
    h = sum(-rng.normal(0, 1.5) * on(N, i, m) - rng.normal(0, 1.0) * on(X, i, m) for i in range(m))
    for i in range(m - 1):
        h = h - rng.normal(0, 1.0) * on(Z, i, m) @ on(Z, i + 1, m)
    return h


def random_hermitian(m: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(2**m, 2**m)) + 1j * rng.normal(size=(2**m, 2**m))
    return (a + a.conj().T) / 2


def expm_gibbs(h: np.ndarray) -> np.ndarray:
    rho = expm(-h)
    return rho / np.trace(rho)


def aer_system_state(h: np.ndarray) -> np.ndarray:
    """Reduced state of the block circuit's system register on Aer density_matrix, kron order."""
    qc = coupled_block_circuit(h)
    m = qc.num_qubits // 2
    qc.save_density_matrix(qubits=list(range(m)))
    sim = AerSimulator(method="density_matrix")
    rho = sim.run(transpile(qc, sim)).result().data()["density_matrix"]
    return DensityMatrix(rho).reverse_qargs().data  # Qiskit little-endian -> kron order


@pytest.mark.parametrize(
    "h",
    [
        transverse_ising(2, 0),
        transverse_ising(3, 1),
        random_hermitian(2, 2),
        random_hermitian(3, 3),
    ],
    ids=["ising2", "ising3", "hermitian2", "hermitian3"],
)
def test_block_circuit_reproduces_the_conditional_state_on_aer(h):
    exact = expm_gibbs(h)
    rho = aer_system_state(h)
    fidelity = state_fidelity(DensityMatrix(rho), DensityMatrix(exact), validate=False)
    assert fidelity > 0.999
    np.testing.assert_allclose(rho, exact, atol=1e-8)


def test_block_circuit_five_qubits():
    h = transverse_ising(5, 4)
    np.testing.assert_allclose(aer_system_state(h), expm_gibbs(h), atol=1e-8)


def test_gibbs_state_by_diagonalisation_matches_expm():
    h = random_hermitian(3, 5) * 4  # large spread: checks the E_min shift
    np.testing.assert_allclose(gibbs_state(h), expm_gibbs(h), atol=1e-12)


def test_block_qubit_order_is_kron_order():
    # Latent qubit 0 strongly occupied, qubit 1 empty: the state is ~|10><10| in kron order.
    h = -8.0 * on(N, 0, 2) + 8.0 * on(N, 1, 2)
    rho = aer_system_state(h)
    assert rho[2, 2].real > 0.999  # index 2 = |10>
    counts = (
        AerSimulator(seed_simulator=1)
        .run(transpile(coupled_block_circuit(h, basis="z"), AerSimulator()), shots=200)
        .result()
        .get_counts()
    )
    assert max(counts, key=counts.get) == "01"  # Qiskit prints clbit 0 (latent qubit 0) last


def test_block_as_pennylane_ops_on_default_mixed():
    h = transverse_ising(3, 6)
    dev = qml.device("default.mixed", wires=6)

    @qml.qnode(dev)
    def block():
        coupled_block_ops(h)
        return qml.density_matrix(wires=[0, 1, 2])

    np.testing.assert_allclose(block(), expm_gibbs(h), atol=1e-10)


def test_bad_hamiltonians():
    with pytest.raises(ValueError, match="Hermitian"):
        coupled_block_circuit(np.array([[0.0, 1.0], [0.0, 0.0]]))
    with pytest.raises(ValueError, match="2\\^m"):
        coupled_block_circuit(np.eye(3))
    with pytest.raises(ValueError, match="non-finite"):
        coupled_block_circuit(np.diag([0.0, np.nan]))
    with pytest.raises(ValueError, match="basis"):
        coupled_block_circuit(np.eye(2), basis="y")


def test_free_energy_is_minimal_at_the_gibbs_state():
    h = transverse_ising(2, 7)
    rho = expm_gibbs(h)
    log_z = np.log(np.trace(expm(-h)).real)
    assert free_energy(rho, h) == pytest.approx(-log_z, abs=1e-10)
    assert free_energy(np.eye(4) / 4, h) > -log_z


def test_ansatz_system_state_is_a_state():
    qc = tfd_ansatz(2, layers=1)
    rho = system_state(qc, np.random.default_rng(0).uniform(-3, 3, qc.num_parameters))
    assert np.trace(rho).real == pytest.approx(1.0)
    assert np.linalg.eigvalsh(rho).min() > -1e-12


def test_variational_gibbs_reaches_fidelity_099_on_two_coupled_qubits():
    h = transverse_ising(2, 0)
    res = variational_gibbs(h, layers=2, restarts=2, seed=0)
    assert res.fidelity > 0.99
    assert res.free_energy >= res.exact_free_energy - 1e-9  # F >= -log Z, always
    # The reported fidelity is recomputed here from the bound circuit, against expm.
    rho = system_state(res.circuit)
    assert state_fidelity(DensityMatrix(rho), DensityMatrix(expm_gibbs(h)), validate=False) > 0.99


def test_block_circuit_matches_the_exact_core_gibbs_state():
    # Cross-check against the lead's exact core where it exists (qdoem.gibbs_state).
    qdoem = pytest.importorskip("qdoem")
    if not hasattr(qdoem, "gibbs_state"):
        pytest.skip("qdoem.gibbs_state not available")
    h = transverse_ising(4, 8)
    exact = qdoem.gibbs_state(h)
    rho = aer_system_state(h)
    assert state_fidelity(DensityMatrix(rho), DensityMatrix(exact), validate=False) > 0.999
    np.testing.assert_allclose(gibbs_state(h), exact, atol=1e-12)
