"""The ``ibm:<backend>`` backends: qiskit-ibm-runtime primitives, real devices or fake ones.

- ``ibm:fake_manila`` (any ``fake_*`` name, or a fake backend object) runs offline in
  qiskit-ibm-runtime's local testing mode, which simulates the fake device with Aer.
- Any other name is looked up through ``QiskitRuntimeService()``, which reads the saved
  account (``QiskitRuntimeService.save_account``) or the ``QISKIT_IBM_*`` environment. This
  module never reads, logs or stores a token itself.

The circuits are transpiled to the device's ISA through an injected pass manager (default:
the preset one for the device). qiskit-ibm-runtime >= 0.50 deprecates ``SamplerV2`` in
favour of the client-side ``executor_sampler.Sampler``; it is used when present.
Shots only: a device has no exact expectations.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from backends.base import Backend
from circuits.transpile import default_pass_manager, transpile_for
from circuits.unit import packed_gibbs_circuit, parameter_values, unpack_bits

INSTALL_HINT = 'pip install "qdoem[ibm]"'


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
        Units packed per circuit; default and cap: half the device's qubits, at most 50.
    pass_manager : qiskit PassManager, optional
        Injected transpilation; default: the preset pass manager for the device.
    seed : int, optional
        Seeds transpilation and, on fake devices, the simulator.
    """

    supports_exact = False

    def __init__(
        self,
        backend: Any,
        *,
        mode: Any = None,
        units_per_circuit: int | None = None,
        pass_manager: Any = None,
        seed: int | None = None,
    ) -> None:
        super().__init__(seed)
        runtime = _runtime()
        if isinstance(backend, str):
            if backend.lower().startswith("fake"):
                backend = fake_backend(backend)
            else:
                backend = runtime.QiskitRuntimeService().backend(backend)
        self.backend = backend
        # Fake devices and Aer simulators run in the runtime's local testing mode.
        self.local = not isinstance(backend, runtime.IBMBackend)
        self.mode = backend if mode is None else mode
        cap = max(1, min(50, backend.num_qubits // 2))
        k = cap if units_per_circuit is None else units_per_circuit
        if isinstance(k, bool) or not isinstance(k, int | np.integer) or not 1 <= k <= cap:
            raise ValueError(f"units_per_circuit must be an integer in [1, {cap}], got {k!r}")
        self.units_per_circuit = int(k)
        self.pass_manager = pass_manager or default_pass_manager(backend, seed=seed)
        self._circuits: dict[str, Any] = {}
        self.name = f"ibm:{backend.name}"

    def circuit(self, basis: str) -> Any:
        """The ISA (transpiled, cached) packed circuit for ``basis``."""
        if basis not in self._circuits:
            self._circuits[basis] = transpile_for(
                packed_gibbs_circuit(self.units_per_circuit, basis), pass_manager=self.pass_manager
            )
        return self._circuits[basis]

    def _measure(
        self, c: np.ndarray, gamma: np.ndarray, shots: int, bases: tuple[str, ...]
    ) -> dict[str, np.ndarray]:
        sampler = _sampler_class()(mode=self.mode)
        if self.local:
            sampler.options.simulator.seed_simulator = self._next_seed()
        pubs = [(self.circuit(b), parameter_values(self.circuit(b), c, gamma)) for b in bases]
        results = sampler.run(pubs, shots=shots).result()
        return {
            basis: unpack_bits(res.data.meas.to_bool_array(order="little"), c.size)
            for basis, res in zip(bases, results, strict=True)
        }
