"""The ``exact`` backend: closed forms, no circuits.

Maths: ``<n> = (1 + (c/2D) tanh D)/2`` and ``<X> = (Gamma/D) tanh D`` with
``D = sqrt(c^2/4 + Gamma^2)``. With ``shots`` it draws ideal shot noise: Z-basis bits are
Bernoulli(``<n>``), X-basis bits Bernoulli(``(1 - <X>)/2``), which is exactly what a perfect
device measuring the purification circuit would return. Without shots it computes the
expectations with the trainer's torch closed form
(:func:`qdoem.layers.qubit.gibbs_statistics`), so that training through it repeats closed-form
training bit for bit.
"""

from __future__ import annotations

import numpy as np

from backends.base import Backend
from circuits.gibbs import as_parameter_batch, gibbs_expectations


class ExactBackend(Backend):
    """Closed-form expectations; ideal Bernoulli shot noise when ``shots`` is given."""

    name = "exact"
    kind = "closed form"

    def density_matrices(self, c: object, gamma: object) -> np.ndarray:
        """Gibbs states of every unit, shape ``(*batch_shape, 2, 2)``.

        Maths: ``rho = (I + <X> X + <Z> Z) / 2`` with ``<Z> = 1 - 2<n>``; ``<Y> = 0``.
        """
        c_arr, g_arr = as_parameter_batch(c, gamma)
        n, x = gibbs_expectations(c_arr, g_arr)
        rho = np.empty((*c_arr.shape, 2, 2), dtype=np.complex128)
        rho[..., 0, 0], rho[..., 1, 1] = 1.0 - n, n
        rho[..., 0, 1] = rho[..., 1, 0] = x / 2.0
        return rho

    def _exact(self, c: np.ndarray, gamma: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        # The trainer's own closed form (float64 here): training through this backend with
        # shots=None repeats closed-form training bit for bit (float64 models).
        import torch

        from qdoem.layers.qubit import gibbs_statistics

        n, x = gibbs_statistics(torch.from_numpy(c), torch.from_numpy(gamma))
        return n.numpy(), x.numpy()

    def _measure(
        self, c: np.ndarray, gamma: np.ndarray, shots: int, bases: tuple[str, ...]
    ) -> dict[str, np.ndarray]:
        n, x = gibbs_expectations(c, gamma)
        p_one = {"z": n, "x": (1.0 - x) / 2.0}
        return {b: (self._rng.random((shots, c.size)) < p_one[b]).astype(np.uint8) for b in bases}
