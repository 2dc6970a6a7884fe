"""The E-step on a circuit backend: latent statistics of a whole mini-batch from one call.

A model's ``latent_backend`` seam takes ``f(model, v) -> {"n": <n>, "x": <X>}``.
:class:`BackendEStep` fills it from a :class:`backends.Backend`: it computes the fields
``c(v) = b + W^T v`` on the host, sends ``(c, Gamma)`` for every (data point, hidden unit)
pair to the backend in one ``execute`` call, and hands the estimates back as tensors.
The trainer is unchanged: exact and shot-based training share one loop.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

__all__ = ["BackendEStep"]


class BackendEStep:
    """Latent statistics ``<n_j>_v`` and ``<X_j>_v`` estimated on a circuit backend.

    Parameters
    ----------
    backend : backends.Backend or str
        The backend, or its name for :func:`backends.get_backend` (``"aer"``, ...).
    shots : int or None
        Shots per unit and basis; None asks the backend for exact expectations.
    seed : int, optional
        Seed for a backend built from its name.

    Attributes
    ----------
    calls_, units_ : int
        Backend calls made and latent units estimated so far (one unit = one
        (data point, hidden qubit) pair).

    Examples
    --------
    >>> model.latent_backend = BackendEStep("aer", shots=1000, seed=0)  # doctest: +SKIP
    """

    def __init__(self, backend: object, shots: int | None = 1000, seed: int | None = None):
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

    def start_epoch(self, epoch: int) -> None:
        """Tie the shot stream to ``(seed, epoch)``, so a resumed run draws the same shots."""
        if self.seed is not None and hasattr(self.backend, "reseed"):
            self.backend.reseed(
                int(np.random.SeedSequence([self.seed, epoch]).generate_state(1)[0])
            )

    def __call__(self, model: object, v: Tensor) -> dict[str, Tensor]:
        c = model.hidden_fields(v).detach().to("cpu", torch.float64).numpy()
        gamma = np.broadcast_to(model.gamma.detach().to("cpu", torch.float64).numpy(), c.shape)
        result = self.backend.execute(c, gamma, self.shots)
        self.calls_ += 1
        self.units_ += c.size
        as_tensor = lambda a: torch.as_tensor(a, dtype=model.dtype, device=model.device)  # noqa: E731
        # Shot estimates can land exactly on 0 or 1; the sampler only needs [0, 1].
        return {"n": as_tensor(np.clip(result.n, 0.0, 1.0)), "x": as_tensor(result.x)}
