"""Readout-error mitigation of the latent units' shot estimates, with mthree (M3).

Maths: each measured qubit ``q`` flips a 0 to a 1 with probability ``P(1|0)`` and a 1 to a 0 with
``P(0|1)``, so the measured probability of a 1 is ``p_meas = A_q p`` with the assignment matrix
``A_q = [[P(0|0), P(0|1)], [P(1|0), P(1|1)]]``; mitigation inverts it. The latent units are
independent and each unit is one measured bit, so its marginal is corrected on its own system
qubit: ``p = (p_meas - P(1|0)) / (1 - P(1|0) - P(0|1))``, what M3's correction of the tensored
calibration gives for one bit. Its standard error is the binomial one of ``p_meas`` divided by
``|1 - P(1|0) - P(0|1)|`` (the inverse is linear). The corrected value is a quasi-probability:
it may leave ``[0, 1]`` by shot noise.

mthree runs the calibration circuits on the device (``independent`` calibrations on a simulator,
``balanced`` ones on hardware, in the given Batch or Session) and applies the correction
(:meth:`mthree.M3Mitigation.apply_correction`). Only the estimates ``<n>`` and ``<X>`` are
mitigated; Z-basis samples stay the raw shots (a quasi-probability has no samples).
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["MITIGATIONS", "ReadoutMitigator"]

INSTALL_HINT = 'pip install "qdoem[ibm]"'
#: Names accepted by ``IBMBackend(mitigation=...)``.
MITIGATIONS = ("mthree",)


def _mthree() -> Any:
    try:
        import mthree
    except ImportError:
        raise ImportError(
            f"readout mitigation needs mthree; install it with: {INSTALL_HINT}"
        ) from None
    return mthree


class ReadoutMitigator:
    """M3 readout calibration of some physical qubits and the correction of unit marginals.

    Parameters
    ----------
    backend : qiskit BackendV2
        The device (or fake device) the calibration circuits run on.
    shots : int
        Shots per calibration circuit.
    local : bool
        Whether ``backend`` is simulated here (independent calibrations, seeded).
    seed : int, optional
        Simulator seed of the calibration circuits (local only).
    mode : Batch or Session, optional
        Runtime mode of the calibration jobs on a real device.

    Attributes
    ----------
    qubits_ : list of int
        Calibrated physical qubits.
    cal_timestamp_ : str or None
        When the calibration ran (mthree's record).
    """

    def __init__(
        self,
        backend: Any,
        shots: int = 10000,
        *,
        local: bool = True,
        seed: int | None = None,
        mode: Any = None,
    ) -> None:
        self.backend = backend
        self.shots = int(shots)
        self.local = local
        self.seed = seed
        self.mode = mode
        self.qubits_: list[int] = []
        self.cal_timestamp_: str | None = None
        self._m3: Any = None

    @property
    def calibrated(self) -> bool:
        return self._m3 is not None

    def calibrate(self, qubits: list[int]) -> None:
        """Run the calibration circuits of ``qubits`` (once per mitigator)."""
        mthree = _mthree()
        m3 = mthree.M3Mitigation(self.backend)
        options = getattr(self.backend, "options", None)
        restore = None
        if self.local and self.seed is not None and hasattr(self.backend, "set_options"):
            restore = getattr(options, "seed_simulator", None)
            self.backend.set_options(seed_simulator=self.seed)  # reproducible calibration
        try:
            m3.cals_from_system(
                qubits=list(qubits),
                shots=self.shots,
                method="independent" if self.local else "balanced",
                async_cal=False,
                runtime_mode=None if self.local else self.mode,
            )
        finally:
            if self.local and self.seed is not None and hasattr(self.backend, "set_options"):
                self.backend.set_options(seed_simulator=restore)
        self._m3 = m3
        self.qubits_ = sorted(int(q) for q in qubits)
        self.cal_timestamp_ = m3.cal_timestamp

    def matrices(self) -> dict[int, list[list[float]]]:
        """Assignment matrix ``A_q`` of each calibrated qubit (columns: prepared 0, 1)."""
        cals = self._m3.single_qubit_cals
        return {q: np.asarray(cals[q], dtype=float).round(6).tolist() for q in self.qubits_}

    def correct(
        self, ones: np.ndarray, shots: int, qubits: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Mitigated probability of a 1 and its standard error, per unit.

        Parameters
        ----------
        ones : int array (U,)
            Ones out of ``shots`` of each unit.
        qubits : int array (U,)
            The physical qubit that measured each unit.
        """
        from backends.base import binomial_estimate

        ones = np.asarray(ones, dtype=np.int64)
        counts = [{"0": int(shots - k), "1": int(k)} for k in ones]
        quasis = self._m3.apply_correction(counts, [[int(q)] for q in qubits])
        p = np.array([q.get("1", 0.0) for q in quasis], dtype=float)
        _, raw_err = binomial_estimate(ones, shots)
        cals = self._m3.single_qubit_cals
        contrast = np.array([abs(cals[q][0, 0] + cals[q][1, 1] - 1.0) for q in qubits])
        return p, raw_err / np.maximum(contrast, 1e-6)

    def describe(self) -> dict[str, Any]:
        """Method, calibration shots and time, and the assignment matrices (JSON values)."""
        mthree = _mthree()
        return {
            "library": f"mthree {mthree.__version__}",
            "method": "independent" if self.local else "balanced",
            "calibration_shots": self.shots,
            "calibrated": self.calibrated,
            "cal_timestamp": self.cal_timestamp_,
            "assignment_matrices": {str(q): m for q, m in self.matrices().items()}
            if self.calibrated
            else {},
        }
