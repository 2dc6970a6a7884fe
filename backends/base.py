"""The backend contract: a batch of latent-unit fields in, statistics and samples out.

Every backend answers one call, :meth:`Backend.execute`, for a whole batch of units
(for a QRBM mini-batch, ``c`` and ``gamma`` shaped ``(batch, n_hidden)``):

- ``shots=None``: exact expectations ``<n>`` and ``<X>`` (closed form, statevector or density
  matrix), standard errors zero;
- ``shots=N``: each unit is prepared ``N`` times and measured in the Z basis (for ``<n>``
  and samples) and, if asked, the X basis (for ``<X>``).

Maths of the shot estimates: with ``k`` ones out of ``N`` Z-basis shots, ``<n> ~ k/N``;
with ``k`` ones in the X basis, ``<X> ~ 1 - 2k/N``. Standard errors are binomial,
``sqrt(p(1-p)/N)`` (twice that for ``<X>``), evaluated at ``p = (k + 1/2)/(N + 1)`` so that a
unit whose shots all agree does not claim zero error.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from circuits.gibbs import as_parameter_batch

OBSERVABLES = ("n", "x")


@dataclass(frozen=True)
class BatchResult:
    """What :meth:`Backend.execute` returns; every array has the batch shape.

    Attributes
    ----------
    n, x : ndarray or None
        Estimates of ``<n>`` and ``<X>`` (None when not requested).
    n_stderr, x_stderr : ndarray or None
        Their standard errors (zeros for exact results).
    samples : ndarray of uint8, shape (shots, *batch_shape), or None
        Z-basis measurement outcomes of the hidden units (``1`` means ``n = 1``).
    shots : int or None
        Shots per unit, None for exact results.
    """

    n: np.ndarray | None
    x: np.ndarray | None
    n_stderr: np.ndarray | None
    x_stderr: np.ndarray | None
    samples: np.ndarray | None
    shots: int | None


def binomial_estimate(ones: np.ndarray, shots: int) -> tuple[np.ndarray, np.ndarray]:
    """Probability of a 1 and its standard error from ``ones`` out of ``shots``."""
    p_hat = ones / shots
    p_err = (ones + 0.5) / (shots + 1.0)
    return p_hat, np.sqrt(p_err * (1.0 - p_err) / shots)


def check_shots(shots: object, allow_none: bool = True) -> int | None:
    """Return ``shots`` as a positive int (or None), raising ``ValueError`` otherwise."""
    if shots is None and allow_none:
        return None
    if isinstance(shots, bool) or not isinstance(shots, int | np.integer) or shots < 1:
        raise ValueError(
            f"shots must be a positive integer{' or None' * allow_none}, got {shots!r}"
        )
    return int(shots)


class Backend(ABC):
    """Runs Gibbs-state preparation of independent latent units for a whole batch.

    Subclasses implement :meth:`_exact` (if they can compute exact expectations) and
    :meth:`_measure`; the base class validates input, builds statistics and reshapes.

    Parameters
    ----------
    seed : int or None
        Seeds the backend's random stream; each call draws a fresh simulator seed from it,
        so repeated calls differ while a whole run stays reproducible.
    """

    #: Name as accepted by :func:`backends.get_backend`.
    name: str = "backend"
    #: Whether ``shots=None`` (exact expectations) is supported.
    supports_exact: bool = True

    def __init__(self, seed: int | None = None) -> None:
        self._rng = np.random.default_rng(seed)

    def reseed(self, seed: int) -> None:
        """Restart the backend's random stream, e.g. at an epoch boundary of a resumable run."""
        self._rng = np.random.default_rng(seed)

    def stream_state(self) -> dict:
        """The random stream's state, for :meth:`set_stream_state` (e.g. to replay a failed job
        with the same seeds)."""
        return self._rng.bit_generator.state

    def set_stream_state(self, state: dict) -> None:
        """Put the random stream back to a state returned by :meth:`stream_state`."""
        self._rng.bit_generator.state = state

    def _next_seed(self) -> int:
        return int(self._rng.integers(2**31 - 1))

    def execute(
        self,
        c: object,
        gamma: object,
        shots: int | None = None,
        *,
        observables: Sequence[str] = OBSERVABLES,
        return_samples: bool = False,
    ) -> BatchResult:
        """Estimate ``<n>``, ``<X>`` and/or draw Z-basis samples for every unit of a batch.

        Parameters
        ----------
        c, gamma : array_like
            Fields of ``H = -c n - Gamma X`` per unit; broadcast together, their common
            shape is the batch shape.
        shots : int or None
            Shots per unit; None asks for exact expectations.
        observables : sequence of {"n", "x"}
            Which expectations to estimate. ``("n",)`` skips the X-basis circuits.
        return_samples : bool
            Also return the Z-basis outcomes (needs ``shots``); ``<n>`` is then estimated
            from exactly these samples. Without samples, simulators may histogram instead
            of keeping every shot, which is faster.

        Returns
        -------
        BatchResult
        """
        c_arr, g_arr = as_parameter_batch(c, gamma)
        shots = check_shots(shots)
        wanted = tuple(observables)
        unknown = [o for o in wanted if o not in OBSERVABLES]
        if unknown:
            raise ValueError(f"observables must be among {OBSERVABLES}, got {unknown}")
        if return_samples and shots is None:
            raise ValueError("return_samples=True needs shots (a positive integer), got None")
        if shots is None and not self.supports_exact:
            raise ValueError(f"backend {self.name!r} cannot compute exact expectations; pass shots")
        shape = c_arr.shape
        out: dict[str, np.ndarray | None] = dict.fromkeys(
            ("n", "x", "n_stderr", "x_stderr", "samples")
        )
        if c_arr.size == 0:
            empty = np.zeros(shape)
            for o in wanted:
                out[o], out[f"{o}_stderr"] = empty, empty
            if return_samples:
                out["samples"] = np.zeros((shots, *shape), dtype=np.uint8)
            return BatchResult(**out, shots=shots)
        c_flat, g_flat = c_arr.ravel(), g_arr.ravel()
        if shots is None:
            n, x = self._exact(c_flat, g_flat)
            for o, val in (("n", n), ("x", x)):
                if o in wanted:
                    out[o], out[f"{o}_stderr"] = val.reshape(shape), np.zeros(shape)
            return BatchResult(**out, shots=None)
        bases = tuple(
            b for b, o in (("z", "n"), ("x", "x")) if o in wanted or (b == "z" and return_samples)
        )
        if not bases:
            return BatchResult(**out, shots=shots)
        if return_samples:
            bits = self._measure(c_flat, g_flat, shots, bases)
            out["samples"] = bits["z"].reshape(shots, *shape)
            ones = {b: bits[b].sum(axis=0, dtype=np.int64) for b in bases}
        else:
            ones = self._count_ones(c_flat, g_flat, shots, bases)
        if "n" in wanted:
            p, err = self._probability_of_one(ones["z"], shots, "z")
            out["n"], out["n_stderr"] = p.reshape(shape), err.reshape(shape)
        if "x" in wanted:
            p, err = self._probability_of_one(ones["x"], shots, "x")
            out["x"], out["x_stderr"] = (1.0 - 2.0 * p).reshape(shape), 2.0 * err.reshape(shape)
        return BatchResult(**out, shots=shots)

    def _probability_of_one(
        self, ones: np.ndarray, shots: int, basis: str
    ) -> tuple[np.ndarray, np.ndarray]:
        """Estimate of each unit's probability of a 1 in ``basis`` and its standard error
        from ``ones`` out of ``shots`` (binomial; override to mitigate readout errors)."""
        return binomial_estimate(ones, shots)

    def estimate(self, c: object, gamma: object, shots: int | None = None) -> BatchResult:
        """``<n>`` and ``<X>`` with standard errors: ``execute`` without samples."""
        return self.execute(c, gamma, shots)

    def sample(self, c: object, gamma: object, shots: int = 1) -> np.ndarray:
        """Z-basis samples of every unit, shape ``(shots, *batch_shape)``, dtype uint8."""
        shots = check_shots(shots, allow_none=False)
        return self.execute(c, gamma, shots, observables=(), return_samples=True).samples

    def _exact(self, c: np.ndarray, gamma: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Exact ``(<n>, <X>)`` for flat arrays of fields."""
        raise ValueError(f"backend {self.name!r} cannot compute exact expectations; pass shots")

    @abstractmethod
    def _measure(
        self, c: np.ndarray, gamma: np.ndarray, shots: int, bases: tuple[str, ...]
    ) -> dict[str, np.ndarray]:
        """Measure flat arrays of units: ``{basis: bits}`` with bits uint8 ``(shots, U)``."""

    def _count_ones(
        self, c: np.ndarray, gamma: np.ndarray, shots: int, bases: tuple[str, ...]
    ) -> dict[str, np.ndarray]:
        """Number of 1 outcomes per unit, ``{basis: int array (U,)}``.

        Override when counts are cheaper than per-shot bits (simulators that histogram).
        """
        bits = self._measure(c, gamma, shots, bases)
        return {b: bits[b].sum(axis=0, dtype=np.int64) for b in bases}

    @property
    def kind(self) -> str:
        """What runs the circuits: ``"closed form"``, ``"simulator"``, ``"simulator with noise
        model"``, ``"fake device (noise model, local)"`` or ``"QPU"``."""
        noisy = getattr(self, "noise_model", None) is not None
        return "simulator with noise model" if noisy else "simulator"

    def describe(self) -> dict:
        """Provenance of this backend as plain JSON values: name, kind, class, units per
        circuit and the versions of the quantum packages. Backends add what they know (the
        device, the qubit layout, its calibration data, job ids); never credentials."""
        from backends.provenance import package_versions

        return {
            "name": self.name,
            "kind": self.kind,
            "class": f"{type(self).__module__}.{type(self).__qualname__}",
            "units_per_circuit": getattr(self, "units_per_circuit", None),
            "versions": package_versions(),
        }

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r}>"
