"""The ``pennylane:<device>`` backends: the purification circuits as PennyLane QNodes.

One QNode execution covers a whole batch: the ``k`` packed units' angles carry a leading
``rows`` axis that PennyLane broadcasts over. Exact mode returns ``<Z_j>`` and ``<X_j>``
expectations (``<n> = (1 - <Z>)/2``); shot mode sets the shots on the QNode with
``qml.set_shots`` and returns Z- or X-basis samples of the system wires.
"""

from __future__ import annotations

import numpy as np

from backends.base import Backend
from circuits.gibbs import unit_angles

# Memory guards: a density matrix on 10 wires is 16 MiB, a state on 24 wires 256 MiB.
MAX_MIXED_WIRES = 10
MAX_PURE_WIRES = 24

# Install hints for devices that live in separate packages.
_DEVICE_HINTS = {
    "lightning.qubit": "pip install pennylane-lightning",
    "lightning.gpu": "pip install pennylane-lightning-gpu",
    "lightning.kokkos": "pip install pennylane-lightning-kokkos",
}


class PennyLaneBackend(Backend):
    """Runs the packed purification circuits on a PennyLane device.

    Parameters
    ----------
    device : str
        PennyLane device name, e.g. ``"default.mixed"``, ``"default.qubit"``,
        ``"lightning.qubit"``.
    units_per_circuit : int
        Units ``k`` per circuit, on ``2k`` wires.
    seed : int, optional
        Seeds the backend's stream. Each shot call reseeds the device's sampler from it (the
        device holds a numpy ``Generator`` owned by this backend, which PennyLane's ``seed``
        accepts and keeps), so a run reseeded at a step boundary resumes bit for
        bit, as on Aer.
    """

    def __init__(
        self, device: str = "default.mixed", *, units_per_circuit: int = 1, seed: int | None = None
    ) -> None:
        super().__init__(seed)
        import pennylane as qml

        if (
            isinstance(units_per_circuit, bool)
            or not isinstance(units_per_circuit, int | np.integer)
            or units_per_circuit < 1
        ):
            raise ValueError(
                f"units_per_circuit must be a positive integer, got {units_per_circuit!r}"
            )
        self.units_per_circuit = k = int(units_per_circuit)
        # default.mixed stores 4^wires amplitudes: 16 wires is already 64 GiB.
        max_wires = MAX_MIXED_WIRES if device == "default.mixed" else MAX_PURE_WIRES
        if 2 * k > max_wires:
            raise ValueError(
                f"units_per_circuit={k} needs {2 * k} wires; {device} allows at most "
                f"{max_wires} here (units_per_circuit <= {max_wires // 2})"
            )
        # PennyLane keeps a Generator passed as ``seed`` unaltered (numpy's default_rng contract);
        # _measure resets its state from this backend's stream before every sampling call.
        self._device_rng = np.random.default_rng(seed)
        try:
            self.device = qml.device(device, wires=2 * k, seed=self._device_rng)
        except (qml.exceptions.DeviceError, ImportError) as err:
            hint = _DEVICE_HINTS.get(device)
            if hint:  # a known plugin that is not installed
                raise ImportError(
                    f"PennyLane device {device!r} is not installed; install it with: {hint}"
                ) from None
            raise ValueError(f"unknown PennyLane device {device!r} ({err})") from None
        self.name = f"pennylane:{device}"
        system = list(range(k))

        def prepare(alpha: np.ndarray, theta: np.ndarray, basis: str | None) -> None:
            from circuits.pennylane_ops import packed_gibbs_ops

            # Operators created inside a QNode are queued on construction: no qml.apply.
            packed_gibbs_ops(alpha, theta, basis)

        @qml.qnode(self.device)
        def expectations(alpha: np.ndarray, theta: np.ndarray) -> list:
            prepare(alpha, theta, None)
            return [qml.expval(qml.Z(j)) for j in system] + [qml.expval(qml.X(j)) for j in system]

        @qml.qnode(self.device)
        def samples(alpha: np.ndarray, theta: np.ndarray, basis: str) -> object:
            prepare(alpha, theta, basis)
            return qml.sample(wires=system)

        self._expectations, self._samples = expectations, samples

    def _rows(self, c: np.ndarray, gamma: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Angles in rows of ``k`` units, padded with ``c = Gamma = 0`` units."""
        k = self.units_per_circuit
        pad = -c.size % k
        alpha, theta = unit_angles(np.pad(c, (0, pad)), np.pad(gamma, (0, pad)))
        return alpha.reshape(-1, k), theta.reshape(-1, k)

    def _exact(self, c: np.ndarray, gamma: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        alpha, theta = self._rows(c, gamma)
        k = self.units_per_circuit
        evs = np.stack([np.reshape(e, -1) for e in self._expectations(alpha, theta)])
        z = evs[:k].T.ravel()[: c.size]
        x = evs[k:].T.ravel()[: c.size]
        return (1.0 - z) / 2.0, x

    def _measure(
        self, c: np.ndarray, gamma: np.ndarray, shots: int, bases: tuple[str, ...]
    ) -> dict[str, np.ndarray]:
        import pennylane as qml

        from circuits.unit import unpack_bits

        alpha, theta = self._rows(c, gamma)
        self._device_rng.bit_generator.state = np.random.default_rng(
            self._next_seed()
        ).bit_generator.state
        run = qml.set_shots(self._samples, shots=shots)
        out = {}
        for basis in bases:
            bits = np.asarray(run(alpha, theta, basis)).reshape(alpha.shape[0], shots, -1)
            out[basis] = unpack_bits(bits, c.size)
        return out
