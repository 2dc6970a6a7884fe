"""The ``ibm:<backend>`` backends: qiskit-ibm-runtime primitives, real devices or fake ones.

- ``ibm:fake_manila`` (any ``fake_*`` name, or a fake backend object) runs offline: narrow
  circuits go through qiskit-ibm-runtime's local testing mode (the runtime sampler, which
  simulates the fake device with Aer); circuits wider than :data:`LOCAL_JOINT_QUBITS` are split
  into their independent units (:func:`circuits.transpile.independent_parts`) and run on the
  fake device's own Aer simulator, so only each unit's two qubits are simulated, with the
  device's noise model on exactly those physical qubits. (A 127-qubit fake device with 50 units
  in one circuit needs 100 simulated qubits: out of memory; and the local runtime sampler
  builds a new noise model for every circuit, about 2 s each.)
- Any other name is looked up through ``QiskitRuntimeService()``, which reads the saved
  account (``QiskitRuntimeService.save_account``) or the ``QISKIT_IBM_*`` environment. This
  module never reads, logs or stores a token or an instance itself; without an account it
  raises :class:`~qdoem.errors.BackendError` saying how to configure one.

Layout: the units' physical qubits come from the device's calibration data
(:func:`circuits.layout.unit_pairs`: readout, two-qubit and single-qubit errors from
``backend.target``), and the default number of units per circuit is the number of good pairs,
so outlying qubits are left out. Readout errors can be mitigated with mthree
(``mitigation="mthree"``, :mod:`backends.mitigation`). :meth:`IBMBackend.describe` records the
layout, the calibration snapshot, the mitigation's calibration and the job ids.

The circuits are transpiled to the device's ISA through an injected pass manager (default:
the preset one for the device, with the calibration layout). qiskit-ibm-runtime >= 0.50
deprecates ``SamplerV2`` in favour of the client-side ``executor_sampler.Sampler``; it is used
when present. Shots only: a device has no exact expectations.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from backends.base import Backend, check_shots
from circuits.layout import MAX_UNITS, calibration_snapshot, unit_pairs
from circuits.transpile import (
    default_pass_manager,
    independent_parts,
    transpile_for,
    unit_layout,
)
from circuits.unit import packed_gibbs_circuit, parameter_values, unpack_bits
from qdoem.errors import BackendError

INSTALL_HINT = 'pip install "qdoem[ibm]"'
#: Local runs simulate a packed circuit as a whole up to this many qubits, else unit by unit.
LOCAL_JOINT_QUBITS = 10
#: How to choose the physical qubits.
LAYOUTS = ("calibration", "transpiler")
ACCOUNT_HINT = (
    "save an IBM Quantum account with QiskitRuntimeService.save_account(...) or set "
    "QISKIT_IBM_TOKEN and QISKIT_IBM_INSTANCE; to run offline use a fake device such as "
    "ibm:fake_manila or ibm:fake_sherbrooke"
)


def _runtime() -> Any:
    try:
        import qiskit_ibm_runtime
    except ImportError:
        raise ImportError(
            f"the IBM backends need qiskit-ibm-runtime; install it with: {INSTALL_HINT}"
        ) from None
    return qiskit_ibm_runtime


def fake_backend(name: str) -> Any:
    """A qiskit-ibm-runtime fake device by name: ``manila``, ``fake_manila`` or ``FakeManilaV2``."""
    fake_provider = _runtime().fake_provider

    def key(s: str) -> str:
        s = s.lower().removeprefix("fake").lstrip("_")
        return s.removesuffix("v2")

    # Match on class names rather than FakeProviderForBackendV2().backend(): the provider
    # instantiates every fake device (slow, and some warn).
    for attr in dir(fake_provider):
        if attr.startswith("Fake") and "Provider" not in attr and key(attr) == key(name):
            return getattr(fake_provider, attr)()
    raise ValueError(
        f"unknown fake backend {name!r}; try e.g. 'manila', 'fake_sherbrooke' or 'FakeManilaV2'"
    )


def device_backend(name: str) -> Any:
    """The IBM Quantum device ``name`` through the saved account (a fake one offline).

    Raises
    ------
    BackendError
        No account is configured, or the service does not answer or has no such device. The
        message never holds the credentials.
    """
    runtime = _runtime()
    if name.lower().startswith("fake"):
        return fake_backend(name)
    try:
        service = runtime.QiskitRuntimeService()
    except Exception as err:  # AccountNotFoundError, InvalidAccountError, a network error
        raise BackendError(
            f"backend 'ibm:{name}' is an IBM Quantum device and no account could be loaded "
            f"({type(err).__name__}); {ACCOUNT_HINT}"
        ) from None
    try:
        return service.backend(name)
    except Exception as err:
        raise BackendError(
            f"IBM Quantum did not give device {name!r} to this account ({type(err).__name__}); "
            f"list yours with QiskitRuntimeService().backends()"
        ) from None


def _sampler_class() -> Any:
    runtime = _runtime()
    try:
        from qiskit_ibm_runtime.executor_sampler import Sampler

        return Sampler
    except ImportError:  # qiskit-ibm-runtime < 0.50
        return runtime.SamplerV2


class IBMBackend(Backend):
    """Sampler runs of the packed circuits on an IBM device (or a fake one, offline).

    Parameters
    ----------
    backend : str or qiskit BackendV2
        Device name (``"ibm_brisbane"``), a fake name (``"fake_manila"``) or a backend object
        (a fake device or an ``AerSimulator`` runs offline in local testing mode).
    mode : Session, Batch or None
        Execution mode passed as ``mode=`` to the sampler; default: the backend (job mode).
    units_per_circuit : int, optional
        Units packed per circuit. Default: the device's good qubit pairs
        (:func:`circuits.layout.unit_pairs`), at most 50; without calibration data, half the
        device's qubits, at most 50.
    layout : {"calibration", "transpiler"}
        Physical qubits from the calibration data (default), or the transpiler's choice.
    mitigation : {None, "mthree"}
        Readout-error mitigation of ``<n>`` and ``<X>`` (:mod:`backends.mitigation`); the
        calibration runs at the first shot call.
    calibration_shots : int
        Shots per mitigation calibration circuit.
    pass_manager : qiskit PassManager, optional
        Injected transpilation; default: the preset pass manager for the device and layout.
    job_timeout_s : float, optional
        On IBM Quantum, how long to wait for a job's result; a job past it is cancelled and
        the call fails (and is retried by :class:`~qdoem.estimators.BackendEstimator`).
        Default: wait as long as it takes.
    seed : int, optional
        Seeds transpilation and, on fake devices, the simulator.

    Attributes
    ----------
    job_ids_ : list of str
        Id of every job run so far (local ones included).
    """

    supports_exact = False

    def __init__(
        self,
        backend: Any,
        *,
        mode: Any = None,
        units_per_circuit: int | None = None,
        layout: str = "calibration",
        mitigation: str | None = None,
        calibration_shots: int = 10000,
        pass_manager: Any = None,
        job_timeout_s: float | None = None,
        seed: int | None = None,
    ) -> None:
        super().__init__(seed)
        self.seed = seed
        runtime = _runtime()
        if layout not in LAYOUTS:
            raise ValueError(f"layout must be one of {LAYOUTS}, got {layout!r}")
        from backends.mitigation import MITIGATIONS

        if mitigation is not None and mitigation not in MITIGATIONS:
            raise ValueError(f"mitigation must be None or one of {MITIGATIONS}, got {mitigation!r}")
        calibration_shots = check_shots(calibration_shots, allow_none=False)
        if isinstance(backend, str):
            backend = device_backend(backend)
        self.backend = backend
        # Fake devices and Aer simulators run in the runtime's local testing mode.
        self.local = not isinstance(backend, runtime.IBMBackend)
        self.mode = backend if mode is None else mode
        k = units_per_circuit
        if k is not None and (isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 1):
            raise ValueError(f"units_per_circuit must be a positive integer, got {k!r}")
        self.pairs = unit_pairs(backend, k) if layout == "calibration" else None
        if self.pairs is not None:
            k = len(self.pairs)
        else:
            cap = max(1, min(MAX_UNITS, backend.num_qubits // 2))
            k = cap if k is None else k
            if k > cap:
                raise ValueError(f"units_per_circuit must be an integer in [1, {cap}], got {k!r}")
        self.units_per_circuit = int(k)
        self.layout = layout
        if pass_manager is None:
            initial = None if self.pairs is None else unit_layout(self.pairs)
            pass_manager = default_pass_manager(backend, seed=seed, initial_layout=initial)
        self.pass_manager = pass_manager
        # Local and too wide to simulate jointly: one unit at a time (see the module notes).
        self.split = self.local and 2 * self.units_per_circuit > LOCAL_JOINT_QUBITS
        if job_timeout_s is not None and not job_timeout_s > 0:
            raise ValueError(f"job_timeout_s must be > 0 or None, got {job_timeout_s!r}")
        self.job_timeout_s = job_timeout_s
        self.mitigation = mitigation
        self.calibration_shots = calibration_shots
        self._mitigator: Any = None
        self._circuits: dict[str, Any] = {}
        self._parts: dict[str, list] = {}
        self.job_ids_: list[str] = []
        self.name = f"ibm:{backend.name}"

    @property
    def kind(self) -> str:
        if not self.local:
            return "QPU"
        if "fake" in type(self.backend).__name__.lower():
            return "fake device (noise model, local)"
        noisy = getattr(self.backend.options, "noise_model", None) is not None
        return "simulator with noise model" if noisy else "simulator"

    def circuit(self, basis: str) -> Any:
        """The ISA (transpiled, cached) packed circuit for ``basis``."""
        if basis not in self._circuits:
            self._circuits[basis] = transpile_for(
                packed_gibbs_circuit(self.units_per_circuit, basis), pass_manager=self.pass_manager
            )
        return self._circuits[basis]

    def measured_qubits(self, basis: str = "z") -> list[int]:
        """Physical qubit measured into clbit ``j`` (unit ``j`` of a row), for each ``j``."""
        qc = self.circuit(basis)
        out = [-1] * self.units_per_circuit
        for inst in qc.data:
            if inst.operation.name == "measure":
                out[qc.find_bit(inst.clbits[0]).index] = qc.find_bit(inst.qubits[0]).index
        return out

    def unit_qubits(self) -> list[dict[str, int]]:
        """The layout used: ``{"unit", "system", "ancilla"}`` physical qubits per packed unit."""
        qc = self.circuit("z")
        if qc.layout is None:
            return [
                {"unit": j, "system": j, "ancilla": self.units_per_circuit + j}
                for j in range(self.units_per_circuit)
            ]
        phys = qc.layout.initial_index_layout(filter_ancillas=True)
        k = self.units_per_circuit
        return [{"unit": j, "system": phys[j], "ancilla": phys[k + j]} for j in range(k)]

    # ------------------------------------------------------------------ running
    def _measure(
        self, c: np.ndarray, gamma: np.ndarray, shots: int, bases: tuple[str, ...]
    ) -> dict[str, np.ndarray]:
        run = self._run_split if self.split else self._run_sampler
        packed = run(c, gamma, shots, bases)
        return {basis: unpack_bits(packed[basis], c.size) for basis in bases}

    def _run_sampler(self, c, gamma, shots, bases) -> dict[str, np.ndarray]:
        """One runtime sampler job, one PUB per basis: bits ``(rows, shots, k)``."""
        sampler = _sampler_class()(mode=self.mode)
        if self.local:
            sampler.options.simulator.seed_simulator = self._next_seed()
        pubs = [(self.circuit(b), parameter_values(self.circuit(b), c, gamma)) for b in bases]
        job = sampler.run(pubs, shots=shots)
        self.job_ids_.append(str(job.job_id()))
        results = self._result(job)
        return {
            basis: res.data.meas.to_bool_array(order="little")
            for basis, res in zip(bases, results, strict=True)
        }

    def _result(self, job: Any) -> Any:
        """The job's result; on IBM Quantum past ``job_timeout_s``, cancel it and raise."""
        if self.local or self.job_timeout_s is None:
            return job.result()
        try:
            return job.result(timeout=self.job_timeout_s)
        except Exception:
            try:
                job.cancel()
            except Exception:  # already finished, failed or cancelled: nothing to stop
                pass
            raise

    def _run_split(self, c, gamma, shots, bases) -> dict[str, np.ndarray]:
        """One local Aer job of every unit's own circuit: bits ``(rows, shots, k)``."""
        k = self.units_per_circuit
        circuits, binds, where = [], [], []
        rows = 0
        for basis in bases:
            qc = self.circuit(basis)
            if basis not in self._parts:
                self._parts[basis] = independent_parts(qc)
            values = parameter_values(qc, c, gamma)
            rows = values.shape[0]
            column = {p.name: i for i, p in enumerate(qc.parameters)}
            for part, clbit in self._parts[basis]:
                if rows == 1 and clbit >= c.size:
                    continue  # a padding unit of the only row: nothing to learn from it
                circuits.append(part)
                binds.append({p: values[:, column[p.name]] for p in part.parameters})
                where.append((basis, clbit))
        job = self.backend.run(
            circuits,
            parameter_binds=binds,
            shots=shots,
            memory=True,
            seed_simulator=self._next_seed(),
        )
        self.job_ids_.append(str(job.job_id()))
        result = job.result()
        out = {basis: np.zeros((rows, shots, k), dtype=bool) for basis in bases}
        for i, (basis, clbit) in enumerate(where):
            for row in range(rows):
                memory = result.get_memory(i * rows + row)
                out[basis][row, :, clbit] = np.char.equal(np.asarray(memory), "1")
        return out

    # ------------------------------------------------------------------ mitigation
    def _probability_of_one(self, ones, shots, basis):
        if self.mitigation is None:
            return super()._probability_of_one(ones, shots, basis)
        mitigator = self.mitigator()
        measured = np.asarray(self.measured_qubits(basis))
        qubits = measured[np.arange(ones.size) % self.units_per_circuit]
        return mitigator.correct(ones, shots, qubits)

    def mitigator(self) -> Any:
        """The readout mitigator, calibrated on the measured qubits at its first use."""
        if self._mitigator is None:
            from backends.mitigation import ReadoutMitigator

            mitigator = ReadoutMitigator(
                self._calibration_system(),
                self.calibration_shots,
                local=self.local,
                seed=self.seed,  # not from the stream: a resumed run draws the same shots
                mode=None if self.mode is self.backend else self.mode,
            )
            mitigator.calibrate(sorted(set(self.measured_qubits("z"))))
            self._mitigator = mitigator
        return self._mitigator

    def _calibration_system(self) -> Any:
        """Where the readout calibration runs: on the simulator that runs the estimates.

        Locally these differ: a fake device's own ``run`` (the split path) uses its properties'
        asymmetric readout errors (fake Manila's qubit 3: P(1|0) = 0.008, P(0|1) = 0.020), while
        the runtime's local testing mode simulates ``AerSimulator.from_backend(device)``, whose
        readout errors are the target's symmetric ones (0.014 both ways). Calibrating on the
        other one would leave a bias of about 2 standard errors at 8000 shots.
        """
        if not self.local or self.split:
            return self.backend
        from qiskit_aer import AerSimulator

        if isinstance(self.backend, AerSimulator):
            return self.backend
        return AerSimulator.from_backend(self.backend)

    # ------------------------------------------------------------------ provenance
    def describe(self) -> dict:
        record = super().describe()
        mode = "job" if self.mode is self.backend else type(self.mode).__name__.lower()
        if self.local:
            execution = (
                "each unit's circuit on the fake device's Aer simulator (local)"
                if self.split
                else "qiskit-ibm-runtime sampler, local testing mode"
            )
        else:
            execution = "qiskit-ibm-runtime sampler on IBM Quantum"
        session = getattr(self.mode, "session_id", None) if mode != "job" else None
        pairs = self.unit_qubits()
        record.update(
            device=self.backend.name,
            device_version=str(getattr(self.backend, "backend_version", "") or "") or None,
            num_qubits=self.backend.num_qubits,
            execution=execution,
            mode=mode,
            session_id=session,
            layout_method=self.layout,
            layout=pairs,
            calibration=calibration_snapshot(
                self.backend, [(p["ancilla"], p["system"]) for p in pairs]
            ),
            mitigation=None
            if self.mitigation is None
            else {"name": self.mitigation, **self.mitigator_record()},
            job_ids=list(self.job_ids_),
        )
        return record

    def mitigator_record(self) -> dict:
        if self._mitigator is None:
            return {"calibrated": False}
        return self._mitigator.describe()
