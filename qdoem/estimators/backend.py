"""Quantum-layer statistics and Z-basis samples from circuits on a backend of :mod:`backends`.

Per call the host sends the fields ``c`` (computed from the classical neighbours) and the
transverse fields ``Gamma`` of every (chain, unit) pair to ``Backend.execute`` and gets back
``<n>``, ``<X>`` with their standard errors and, when asked, the Z-basis shots themselves. The
shots are what the exact chain measures (:mod:`qdoem.sampling.kernels`), not draws from the
estimated ``<n>``.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

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

    Attributes
    ----------
    calls_ : int
        Backend calls made so far.
    units_ : int
        Latent units sent so far, one per (chain, qubit) pair and call.

    Notes
    -----
    The backend's answers are its estimates: ``"mean"`` is clipped to ``[0, 1]``, and
    ``"mean_stderr"``/``"x_stderr"`` carry the binomial standard errors.
    """

    def __init__(self, backend: object, shots: int | None = 1000, seed: int = 0) -> None:
        if isinstance(backend, str):
            from backends import get_backend

            backend = get_backend(backend, seed=seed)
        if not hasattr(backend, "execute"):
            raise ValueError(f"backend must be a backends.Backend or a name, got {backend!r}")
        from backends.base import check_shots

        self.backend = backend
        self.shots = check_shots(shots)
        self.seed = seed
        self.calls_ = 0
        self.units_ = 0

    @property
    def name(self) -> str:
        return getattr(self.backend, "name", type(self.backend).__name__)

    def start_step(self, epoch: int, step: int) -> None:
        """Tie the backend's random stream to ``(seed, epoch, step)``."""
        if hasattr(self.backend, "reseed"):
            self.backend.reseed(derive_seed(self.seed, epoch, step, ESTIMATOR))

    def _execute(self, field: Tensor, params: Params, shots, **kw):
        c = field.detach().to("cpu", torch.float64).numpy()
        gamma = np.broadcast_to(params["gamma"].detach().to("cpu", torch.float64).numpy(), c.shape)
        result = self.backend.execute(c, gamma, shots, **kw)
        self.calls_ += 1
        self.units_ += c.size
        return result

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
        """A Z-basis shot of every unit (``generator`` is unused: the backend has its stream)."""
        _check_quantum(layer)
        if stats is not None and "z" in stats:
            return stats.pop("z")  # a shot from the call that made ``stats``: use it once
        res = self._execute(field, params, 1, observables=(), return_samples=True)
        return torch.as_tensor(res.samples[0], dtype=field.dtype, device=field.device)


def _check_quantum(layer: Layer) -> None:
    if not layer.quantum:
        raise ValueError(f"layer {layer.name!r} is classical; it has no circuit to run")
