"""The ``aer`` backends: packed purification circuits on Qiskit Aer, V2 primitives.

- Shots: one ``AerSimulator.run`` job with the Z- and X-basis packed circuits, each bound to
  ``ceil(U / k)`` rows of parameter values, so a whole mini-batch is one call (counts only,
  or every shot's outcome when samples are asked for).
- Exact (``shots=None``): one ``EstimatorV2`` job computing ``<Z_j>`` and ``<X_j>`` of every
  system qubit (precision 0, i.e. exact on statevector/density_matrix), then
  ``<n> = (1 - <Z>)/2``.
- Noise: with a noise model the circuits are first transpiled to its basis gates (or to the
  fake backend's target), so gate errors act on the gates that run; readout errors act on
  shot results only.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import qiskit_aer  # noqa: F401  (fail at construction, with the install hint, not mid-run)
from qiskit import QuantumCircuit
from qiskit.quantum_info import SparsePauliOp

from backends.base import Backend
from circuits.transpile import default_pass_manager, transpile_for
from circuits.unit import packed_gibbs_circuit, parameter_values, unpack_bits

METHODS = ("statevector", "density_matrix")
# Units per circuit: k=4 was fastest in bench/backend_throughput.py (6400 units x 1000 shots,
# 2 shared CPU cores, medians of 3 rounds: k=1 5.6 s, k=2 2.9 s, k=4 2.4 s, k=8 5.3 s; from
# 14 qubits Aer multithreads each state update, its statevector_parallel_threshold, which
# likely explains k=8). A density matrix on 2k qubits grows as 4^(2k), so it gets fewer.
DEFAULT_UNITS = {"statevector": 4, "density_matrix": 3}
# Memory guards: 2^28 amplitudes are 4 GiB; a 14-qubit density matrix is 4 GiB too.
MAX_QUBITS = {"statevector": 28, "density_matrix": 14}


class AerBackend(Backend):
    """Aer simulation of the packed purification circuits.

    Parameters
    ----------
    method : {"statevector", "density_matrix"}
        Aer simulation method.
    noise_model : qiskit_aer.noise.NoiseModel, optional
        Noise to simulate; circuits are transpiled to its basis gates.
    fake_backend : qiskit BackendV2, optional
        A (fake) device: its noise model (unless ``noise_model`` is given) and its target
        for transpilation. Packing is capped at half its qubits.
    units_per_circuit : int, optional
        Units ``k`` packed per circuit (``2k`` qubits).
    pass_manager : qiskit PassManager, optional
        Injected transpilation; default: the preset pass manager for the target (only
        built when there is one; noiseless Aer runs the circuits as they are).
    seed : int, optional
        Seeds simulator and transpiler.
    """

    def __init__(
        self,
        method: str = "statevector",
        *,
        noise_model: Any = None,
        fake_backend: Any = None,
        units_per_circuit: int | None = None,
        pass_manager: Any = None,
        seed: int | None = None,
    ) -> None:
        super().__init__(seed)
        if method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}, got {method!r}")
        self.method = method
        if fake_backend is not None and noise_model is None:
            from qiskit_aer.noise import NoiseModel

            noise_model = NoiseModel.from_backend(fake_backend)
        self.noise_model = noise_model
        self.fake_backend = fake_backend
        # A noisy statevector run is a stochastic trajectory: no exact expectations.
        self.supports_exact = noise_model is None or method == "density_matrix"
        k = DEFAULT_UNITS[method] if units_per_circuit is None else units_per_circuit
        if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 1:
            raise ValueError(f"units_per_circuit must be a positive integer, got {k!r}")
        if 2 * k > MAX_QUBITS[method]:
            raise ValueError(
                f"units_per_circuit={k} needs {2 * k} qubits; Aer {method} allows at most "
                f"{MAX_QUBITS[method]} here"
            )
        if fake_backend is not None:
            k = min(k, fake_backend.num_qubits // 2)
        self.units_per_circuit = int(k)
        if pass_manager is None and fake_backend is not None:
            pass_manager = default_pass_manager(fake_backend, seed=seed)
        elif pass_manager is None and noise_model is not None:
            pass_manager = default_pass_manager(basis_gates=noise_model.basis_gates, seed=seed)
        self.pass_manager = pass_manager
        self._circuits: dict[str | None, QuantumCircuit] = {}
        noisy = "" if noise_model is None else "-noisy"
        self.name = "aer" + ("-density" if method == "density_matrix" else "") + noisy

    def _backend_options(self) -> dict:
        backend_options: dict[str, Any] = {"method": self.method}
        if self.noise_model is not None:
            backend_options["noise_model"] = self.noise_model
        return backend_options

    def circuit(self, basis: str | None) -> QuantumCircuit:
        """The (transpiled, cached) packed circuit this backend runs for ``basis``."""
        if basis not in self._circuits:
            qc = packed_gibbs_circuit(self.units_per_circuit, basis)
            if self.pass_manager is not None:
                qc = transpile_for(qc, pass_manager=self.pass_manager)
            self._circuits[basis] = qc
        return self._circuits[basis]

    def _exact(self, c: np.ndarray, gamma: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        from qiskit_aer.primitives import EstimatorV2

        qc = self.circuit(None)
        k, n_qubits = self.units_per_circuit, 2 * self.units_per_circuit
        # Unit j's system qubit is virtual qubit j; apply_layout maps it to the physical one.
        observables = [
            SparsePauliOp.from_sparse_list([(p, [j], 1.0)], num_qubits=n_qubits)
            for p in ("Z", "X")
            for j in range(k)
        ]
        if qc.layout is not None:
            observables = [o.apply_layout(qc.layout) for o in observables]
        values = parameter_values(qc, c, gamma)
        estimator = EstimatorV2(
            options={
                "backend_options": self._backend_options(),
                "run_options": {"seed_simulator": self._next_seed()},
                "default_precision": 0.0,
            }
        )
        evs = estimator.run([(qc, observables, values[:, None, :])]).result()[0].data.evs
        z = evs[:, :k].ravel()[: c.size]
        x = evs[:, k:].ravel()[: c.size]
        return (1.0 - z) / 2.0, x

    def _run(self, c: np.ndarray, gamma: np.ndarray, shots: int, bases, memory: bool):
        """One ``AerSimulator.run`` job: the packed circuit of every basis, bound to every row
        of parameter values. Returns the result and the number of rows per basis."""
        from qiskit_aer import AerSimulator

        simulator = AerSimulator(**self._backend_options())
        circuits, binds = [], []
        for basis in bases:
            qc = self.circuit(basis)
            values = parameter_values(qc, c, gamma)
            circuits.append(qc)
            binds.append({p: values[:, i] for i, p in enumerate(qc.parameters)})
        result = simulator.run(
            circuits,
            parameter_binds=binds,
            shots=shots,
            memory=memory,
            seed_simulator=self._next_seed(),
        ).result()
        return result, -(-c.size // self.units_per_circuit)

    def _measure(
        self, c: np.ndarray, gamma: np.ndarray, shots: int, bases: tuple[str, ...]
    ) -> dict[str, np.ndarray]:
        # AerSimulator.run with per-shot memory rather than SamplerV2, whose BitArray
        # bookkeeping cost about 9 ms more per call on the demo's mini-batches
        # (bench/shot_training.py); the shots are the same simulation's.
        result, rows = self._run(c, gamma, shots, bases, memory=True)
        k = self.units_per_circuit
        weights = 1 << np.arange(k)
        out = {}
        for b_index, basis in enumerate(bases):
            bits = np.empty((rows, shots, k), dtype=bool)
            for row in range(rows):
                # Memory entries are hex integers whose bit j is clbit j, i.e. unit j of the row.
                memory = result.results[b_index * rows + row].data.memory
                ints = np.fromiter((int(m, 16) for m in memory), dtype=np.int64, count=shots)
                bits[row] = (ints[:, None] & weights) > 0
            out[basis] = unpack_bits(bits, c.size)
        return out

    def _count_ones(
        self, c: np.ndarray, gamma: np.ndarray, shots: int, bases: tuple[str, ...]
    ) -> dict[str, np.ndarray]:
        # Estimates need only histograms: without per-shot memory Aer returns counts, which
        # is faster (about 4x for one unit per circuit, 640 units x 1000 shots, against
        # SamplerV2's always-kept memory).
        result, rows = self._run(c, gamma, shots, bases, memory=False)
        k = self.units_per_circuit
        weights = 1 << np.arange(k)
        out = {}
        for b_index, basis in enumerate(bases):
            ones = np.zeros((rows, k), dtype=np.int64)
            for row in range(rows):
                # Counts keys are hex integers whose bit j is clbit j, i.e. unit j of the row.
                counts = result.results[b_index * rows + row].data.counts
                for key, count in counts.items():
                    ones[row] += count * ((int(key, 16) & weights) > 0)
            out[basis] = ones.ravel()[: c.size]
        return out
