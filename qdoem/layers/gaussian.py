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

Learning ``mu`` and ``log_var`` (Liao et al.): with ``u`` the input from the neighbours (the
layer's field minus ``mu``; ``W <n>`` under a hidden layer's statistics),

    d(-H)/d mu      = (v - mu) / sigma^2,
    d(-H)/d log_var = (v - mu)^2 / (2 sigma^2) - v u / sigma^2,

the second term because ``sigma^2`` also scales the coupling ``v / sigma^2``. Both are linear in
the hidden occupations, so Rao-Blackwellised statistics ``<n>`` enter exactly.
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
    needs_field = True

    def initial_parameters(self) -> dict[str, float]:
        return {"mu": 0.0, "log_var": 0.0}

    def log_partition(self, field: Tensor, params: Params) -> Tensor:
        mu, log_var = params["mu"], params["log_var"]
        return 0.5 * (_LOG_2PI + log_var) + (field * field - mu * mu) * (0.5 * torch.exp(-log_var))

    def statistics(self, field: Tensor, params: Params) -> Stats:
        return {"mean": field, "var": torch.exp(params["log_var"]).expand_as(field)}

    def sample(self, stats: Stats, generator: torch.Generator) -> Tensor:
        from qdoem.sampling import fused  # here, not at import: qdoem.sampling imports layers

        mean = stats["mean"]
        noise = torch.randn(mean.shape, generator=generator, device=mean.device, dtype=mean.dtype)
        if fused.active():  # a compiled sweep (compile=True): the same normals, one fused pass
            return fused.gaussian(noise, stats["var"], mean)
        return noise.mul_(stats["var"].sqrt()).add_(mean)

    def entropy(self, field: Tensor, params: Params) -> Tensor:
        return (0.5 * (_LOG_2PI + 1.0 + params["log_var"])).expand_as(field)

    def expected_log_potential(self, field: Tensor, params: Params, stats: Stats) -> Tensor:
        """``E[-(v - mu)^2 / (2 sigma^2) + v u / sigma^2]`` per unit, ``u = field - mu``.

        Maths: under a law with mean ``m`` and variance ``s`` (``stats["var"]``, 0 for values)
        this is ``(-(s + (m - mu)^2) / 2 + m u) / sigma^2``. At the unit's own conditional law
        (``m = field``, ``s = sigma^2``), ``log_partition - expected_log_potential`` is the
        differential entropy, as for every layer.
        """
        mu, inv_var = params["mu"], torch.exp(-params["log_var"])
        m = stats["mean"]
        d = m - mu
        s = stats.get("var", torch.zeros_like(m))
        return (-0.5 * (s + d * d) + m * (field - mu)) * inv_var

    def coupling_value(self, x: Tensor, params: Params) -> Tensor:
        return x * torch.exp(-params["log_var"])

    def log_potential(self, x: Tensor, params: Params) -> Tensor:
        """``-sum_i (x_i - mu_i)^2 / (2 sigma_i^2)`` per row."""
        d = x - params["mu"]
        return -(d * d * (0.5 * torch.exp(-params["log_var"]))).sum(-1)

    def parameter_statistics(self, stats: Stats, params: Params) -> dict[str, Tensor]:
        """Per-row ``d(-H)/d mu`` and ``d(-H)/d log_var`` (module docstring); ``stats`` holds
        the values ``"mean"`` and the layer's ``"field"`` ``mu + u``."""
        mu, inv_var = params["mu"], torch.exp(-params["log_var"])
        v = stats["mean"]
        d = v - mu
        u = stats["field"] - mu
        return {"mu": d * inv_var, "log_var": (0.5 * d * d - v * u) * inv_var}

    def check_values(self, x: Tensor, name: str) -> None:
        if x.ndim != 2 or x.shape[1] != self.size:
            raise ValueError(
                f"{name} must have shape (n_samples, {self.size}), got {tuple(x.shape)}"
            )
        if x.numel() and not bool(torch.isfinite(x).all()):
            raise ValueError(f"{name} contains NaN or inf values")

    def init_from_data(self, data: Tensor, params: Params) -> None:
        """``mu`` from the data's per-unit mean, in place; ``log_var`` keeps its value.

        Setting ``sigma^2`` to the data variance would make near-constant pixels (image borders)
        couple with weight ``1 / sigma^2`` in the thousands; Liao et al. start every unit at
        unit variance (standardised data) and learn it, as here.
        """
        params["mu"].copy_(data.to(torch.float64).mean(0).to(params["mu"]))

    def noise(self, n: int, generator: torch.Generator, device, dtype) -> Tensor:
        """``n`` rows of standard normal noise (the start of Liao et al.'s CD chains)."""
        return torch.randn((n, self.size), generator=generator, device=device, dtype=dtype)

    def zero_field_log_partition(self) -> float:
        raise NotImplementedError("a Gaussian layer's log-partition depends on its variance")

    # AIS: the base model is the layer itself, N(mu, sigma^2), with the rest of the model off
    # (``beta = 0``); its parameters are not tempered.
    def tempered_parameters(self, params: Params, beta: float, base: Tensor | None) -> Params:
        self._no_base(base)
        return {k: t.clone() for k, t in params.items()}

    def base_log_partition(self, params: Params, base: Tensor | None) -> float:
        """``sum_i log sqrt(2 pi sigma_i^2)``."""
        self._no_base(base)
        return float((0.5 * (_LOG_2PI + params["log_var"].double())).sum())

    def base_sample(
        self, n: int, params: Params, base: Tensor | None, generator: torch.Generator
    ) -> Tensor:
        self._no_base(base)
        std = torch.exp(0.5 * params["log_var"].double())
        noise = torch.randn((n, self.size), generator=generator, dtype=torch.float64)
        return noise * std + params["mu"].double()

    def _no_base(self, base: Tensor | None) -> None:
        if base is not None:
            raise ValueError(
                "base_bias applies to {0,1} visible units; AIS for Gaussian units starts from "
                "N(mu, sigma^2) itself (pass base_bias=None)"
            )
