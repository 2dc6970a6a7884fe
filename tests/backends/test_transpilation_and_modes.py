"""Injected pass managers and IBM execution modes."""

from __future__ import annotations

import numpy as np
import pytest
from qiskit.transpiler import generate_preset_pass_manager

from backends.aer import AerBackend
from circuits.gibbs import gibbs_expectations


def test_aer_runs_the_injected_pass_manager():
    basis = ["rz", "sx", "x", "cx"]
    pm = generate_preset_pass_manager(optimization_level=1, basis_gates=basis, seed_transpiler=1)
    backend = AerBackend("density_matrix", pass_manager=pm, units_per_circuit=2, seed=1)
    ops = set(backend.circuit("x").count_ops())
    assert ops <= set(basis) | {"measure", "barrier"}
    c, gamma = np.array([1.5, -0.5, 2.0]), np.array([0.3, -1.2, 0.0])
    n_true, x_true = gibbs_expectations(c, gamma)
    res = backend.estimate(c, gamma)
    np.testing.assert_allclose(res.n, n_true, atol=1e-10)
    np.testing.assert_allclose(res.x, x_true, atol=1e-10)
    shots = backend.estimate(c, gamma, shots=4000)
    assert np.all(np.abs(shots.x - x_true) < 4 * shots.x_stderr)


@pytest.mark.parametrize("mode_name", ["Batch", "Session"])
def test_ibm_backend_accepts_session_and_batch_modes(mode_name):
    runtime = pytest.importorskip("qiskit_ibm_runtime")
    from qiskit_aer import AerSimulator

    from backends.ibm import IBMBackend

    simulator = AerSimulator()
    with getattr(runtime, mode_name)(backend=simulator) as mode:
        backend = IBMBackend(simulator, mode=mode, units_per_circuit=3, seed=3)
        c, gamma = np.array([0.5, -2.0, 1.0, 3.0]), np.array([1.0, 0.2, -0.4, 0.0])
        res = backend.estimate(c, gamma, shots=3000)
    n_true, x_true = gibbs_expectations(c, gamma)
    assert np.all(np.abs(res.n - n_true) < 4 * res.n_stderr)
    assert np.all(np.abs(res.x - x_true) < 4 * res.x_stderr)
