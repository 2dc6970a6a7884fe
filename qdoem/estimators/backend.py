"""Quantum-layer statistics and Z-basis samples from circuits on a backend of :mod:`backends`.

Per call the host sends the fields ``c`` (computed from the classical neighbours) and the
transverse fields ``Gamma`` of every (chain, unit) pair to ``Backend.execute`` and gets back
``<n>``, ``<X>`` with their standard errors and, when asked, the Z-basis shots themselves. The
shots are what the exact chain measures (:mod:`qdoem.sampling.kernels`), not draws from the
estimated ``<n>``.

A call that fails (a job error, time-out or cancellation: any exception but ``ValueError`` and
``TypeError``, which mean bad input) is retried ``retries`` times after ``backoff_s``, twice
that, four times that, ... seconds, with the backend's random stream put back first, so a
retried call returns what the call would have returned had it not failed; then it raises
:class:`~qdoem.errors.BackendError`.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable

import numpy as np
import torch
from torch import Tensor

from qdoem.errors import BackendError, check_int
from qdoem.layers.base import Layer, Params, Stats
from qdoem.seeding import ESTIMATOR, derive_seed

__all__ = ["BackendEstimator"]


class BackendEstimator:
    """Estimates a quantum layer's ``<n>``, ``<X>`` and Z-basis samples on a circuit backend.

    Parameters
    ----------
    backend : backends.Backend or str
        The backend, or its name for :func:`backends.get_backend` (``"aer"``,
        ``"ibm:fake_manila"``, ...).
    shots : int or None
        Shots per unit and basis for the statistics; None asks the backend for exact
        expectations (samples then take one shot each).
    seed : int
        :meth:`start_step` reseeds the backend from ``(seed, epoch, step)``.
    retries : int
        Attempts after a failed call before :class:`~qdoem.errors.BackendError` (default 3).
    backoff_s : float
        Wait before the first retry, doubled before each next one (default 2 s).
    sleep : callable
        How to wait (``time.sleep``).

    Attributes
    ----------
    calls_ : int
        Backend calls made so far (a call retried after failures counts once).
    retries_ : int
        Failed attempts that were retried so far.
    units_ : int
        Latent units sent so far, one per (chain, qubit) pair and call.
    seconds_ : float
        Wall time spent in backend calls so far (retries and their waits included).

    Notes
    -----
    The backend's answers are its estimates: ``"mean"`` is clipped to ``[0, 1]``, and
    ``"mean_stderr"``/``"x_stderr"`` carry the binomial standard errors.
    """

    def __init__(
        self,
        backend: object,
        shots: int | None = 1000,
        seed: int = 0,
        *,
        retries: int = 3,
        backoff_s: float = 2.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if isinstance(backend, str):
            from backends import get_backend

            backend = get_backend(backend, seed=seed)
        if not hasattr(backend, "execute"):
            raise ValueError(f"backend must be a backends.Backend or a name, got {backend!r}")
        from backends.base import check_shots

        self.backend = backend
        self.shots = check_shots(shots)
        check_int("retries", retries)
        if not backoff_s >= 0:
            raise ValueError(f"backoff_s must be >= 0, got {backoff_s!r}")
        self.seed = seed
        self.retries = retries
        self.backoff_s = float(backoff_s)
        self.sleep = sleep
        self.calls_ = 0
        self.retries_ = 0
        self.units_ = 0
        self.seconds_ = 0.0
        self._step_hooks: list[Callable[[], None]] = []

    @property
    def name(self) -> str:
        return getattr(self.backend, "name", type(self.backend).__name__)

    def add_step_hook(self, hook: Callable[[], None]) -> None:
        """Call ``hook()`` at every :meth:`start_step`, before any job of the step (``qdoem
        submit`` saves a checkpoint there, so a failed job resumes at its step)."""
        self._step_hooks.append(hook)

    def start_step(self, epoch: int, step: int) -> None:
        """Run the step hooks, then tie the backend's random stream to ``(seed, epoch, step)``."""
        for hook in self._step_hooks:
            hook()
        if hasattr(self.backend, "reseed"):
            self.backend.reseed(derive_seed(self.seed, epoch, step, ESTIMATOR))

    def _execute(self, field: Tensor, params: Params, shots, **kw):
        c = field.detach().to("cpu", torch.float64).numpy()
        gamma = np.broadcast_to(params["gamma"].detach().to("cpu", torch.float64).numpy(), c.shape)
        start = time.perf_counter()
        result = self._execute_with_retries(c, gamma, shots, **kw)
        self.seconds_ += time.perf_counter() - start
        self.calls_ += 1
        self.units_ += c.size
        return result

    def _execute_with_retries(self, c: np.ndarray, gamma: np.ndarray, shots, **kw):
        stream = getattr(self.backend, "stream_state", None)
        state = stream() if stream is not None else None
        for attempt in range(self.retries + 1):
            try:
                return self.backend.execute(c, gamma, shots, **kw)
            except (ValueError, TypeError):
                raise  # bad input: the same call fails again
            except Exception as err:
                what = f"backend {self.name!r} call {self.calls_ + 1}"
                if attempt == self.retries:
                    raise BackendError(
                        f"{what} failed {attempt + 1} times; last error: "
                        f"{type(err).__name__}: {err}"
                    ) from err
                delay = self.backoff_s * 2**attempt
                warnings.warn(
                    f"{what} failed ({type(err).__name__}: {err}); retry {attempt + 1} of "
                    f"{self.retries} in {delay:g} s",
                    RuntimeWarning,
                    stacklevel=2,
                )
                self.retries_ += 1
                self.sleep(delay)
                if state is not None:
                    self.backend.set_stream_state(state)

    def statistics(
        self, layer: Layer, field: Tensor, params: Params, with_sample: bool = False
    ) -> Stats:
        _check_quantum(layer)
        shots = self.shots
        if with_sample and shots is None:
            with_sample = False  # exact expectations carry no shots; sample() will take one
        res = self._execute(field, params, shots, return_samples=with_sample)

        def as_tensor(a):
            return torch.as_tensor(np.asarray(a), dtype=field.dtype, device=field.device)

        # Shot estimates can land exactly on 0 or 1; the samplers only need [0, 1].
        stats = {
            "mean": as_tensor(np.clip(res.n, 0.0, 1.0)),
            "x": as_tensor(res.x),
            "mean_stderr": as_tensor(res.n_stderr),
            "x_stderr": as_tensor(res.x_stderr),
        }
        if with_sample:
            stats["z"] = as_tensor(res.samples[0])
        return stats

    def sample(
        self,
        layer: Layer,
        field: Tensor,
        params: Params,
        stats: Stats | None,
        generator: torch.Generator | None = None,
    ) -> Tensor:
        """A Z-basis shot of every unit, from the backend (its own stream; ``generator`` unused).

        With ``shots=None`` the backend gives exact expectations and no shots: the sample is
        then drawn on the host from the exact ``<n>`` with ``generator``, as the closed form
        does (the same distribution as one shot).
        """
        _check_quantum(layer)
        if stats is not None and "z" in stats:
            return stats.pop("z")  # a shot from the call that made ``stats``: use it once
        if self.shots is None and generator is not None:
            if stats is None:
                stats = self.statistics(layer, field, params)
            return layer.sample(stats, generator)
        res = self._execute(field, params, 1, observables=(), return_samples=True)
        return torch.as_tensor(res.samples[0], dtype=field.dtype, device=field.device)


def _check_quantum(layer: Layer) -> None:
    if not layer.quantum:
        raise ValueError(f"layer {layer.name!r} is classical; it has no circuit to run")
