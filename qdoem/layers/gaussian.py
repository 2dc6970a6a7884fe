"""Gaussian visible units (the QGRBM/GRBM of Liao et al. 2022).

A Gaussian unit contributes ``(v - mu)^2 / (2 sigma^2)`` to the Hamiltonian and feeds
``v / sigma^2`` into its couplings, ``sigma^2 = exp(log_var)``. Given the input ``u`` from its
neighbours (``u = W h`` for a visible layer under a hidden one), the field is ``f = mu + u`` and the
conditional law is ``N(f, sigma^2)``:

- ``log int exp(-(v - mu)^2/(2 sigma^2) + v u / sigma^2) dv``
  ``= log sqrt(2 pi sigma^2) + (f^2 - mu^2) / (2 sigma^2)``            (:meth:`log_partition`)
- ``E[v] = f``, ``Var[v] = sigma^2``; differential entropy ``log sqrt(2 pi e sigma^2)``.

The unit is classical (no X term), so ``log_diagonal`` is 0 and the layer's samples enter the
exact chains as proposals (MATH-NOTES, "QGRBM").
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from qdoem.layers.base import Layer, Params, Stats

__all__ = ["GaussianLayer"]

_LOG_2PI = math.log(2.0 * math.pi)


class GaussianLayer(Layer):
    """Real-valued units with means ``mu`` and log-variances ``log_var``."""

    binary = False
    offset = "mu"

    def initial_parameters(self) -> dict[str, float]:
        return {"mu": 0.0, "log_var": 0.0}

    def log_partition(self, field: Tensor, params: Params) -> Tensor:
        mu, log_var = params["mu"], params["log_var"]
        return 0.5 * (_LOG_2PI + log_var) + (field * field - mu * mu) * (0.5 * torch.exp(-log_var))

    def statistics(self, field: Tensor, params: Params) -> Stats:
        return {"mean": field, "var": torch.exp(params["log_var"]).expand_as(field)}

    def sample(self, stats: Stats, generator: torch.Generator) -> Tensor:
        mean = stats["mean"]
        noise = torch.randn(mean.shape, generator=generator, device=mean.device, dtype=mean.dtype)
        return noise.mul_(stats["var"].sqrt()).add_(mean)

    def entropy(self, field: Tensor, params: Params) -> Tensor:
        return (0.5 * (_LOG_2PI + 1.0 + params["log_var"])).expand_as(field)

    def expected_log_potential(self, field: Tensor, params: Params, stats: Stats) -> Tensor:
        raise NotImplementedError("the QELBO energy term of Gaussian units is not implemented")

    def coupling_value(self, x: Tensor, params: Params) -> Tensor:
        return x * torch.exp(-params["log_var"])

    def log_potential(self, x: Tensor, params: Params) -> Tensor:
        """``-sum_i (x_i - mu_i)^2 / (2 sigma_i^2)`` per row."""
        d = x - params["mu"]
        return -(d * d * (0.5 * torch.exp(-params["log_var"]))).sum(-1)

    def parameter_statistics(self, stats: Stats, params: Params) -> dict[str, Tensor]:
        raise NotImplementedError(
            "training Gaussian units (mu, log_var) belongs to the QGRBM/GRBM models, not built yet"
        )

    def check_values(self, x: Tensor, name: str) -> None:
        if x.ndim != 2 or x.shape[1] != self.size:
            raise ValueError(
                f"{name} must have shape (n_samples, {self.size}), got {tuple(x.shape)}"
            )
        if x.numel() and not bool(torch.isfinite(x).all()):
            raise ValueError(f"{name} contains NaN or inf values")

    def init_from_data(self, data: Tensor, params: Params) -> None:
        """``mu`` and ``log_var`` from the data's per-unit mean and variance, in place."""
        x = data.to(torch.float64)
        params["mu"].copy_(x.mean(0).to(params["mu"]))
        var = x.var(0, unbiased=False).clamp_min(1e-6) if x.shape[0] > 1 else torch.ones_like(x[0])
        params["log_var"].copy_(var.log().to(params["log_var"]))

    def zero_field_log_partition(self) -> float:
        raise NotImplementedError("AIS from a base-rate model needs binary visible units")
