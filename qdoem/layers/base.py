"""The layer contract: the conditional Gibbs state of one layer given the field of its neighbours.

In a CQ-LVM made of layers ``x_0`` (visible), ``x_1``, ... with couplings only between
neighbouring layers and no coupling inside a layer, the Hamiltonian restricted to one layer,
given the Z-basis values of its neighbours, is a sum of one-unit terms. Each layer type knows the
closed forms of its one-unit Gibbs state as a function of the *field* ``c``: the layer's own offset
parameter plus the input from its neighbours (``c = b + W^T x_below + W x_above``).

A layer is stateless apart from its shape and options: parameters are passed in as a dict of
tensors keyed by their local names (``"bias"``, ``"gamma"``, ...), so the same layer serves the
model, its tempered copies for AIS and its float64 twin.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from typing import ClassVar

import torch
from torch import Tensor

__all__ = ["Layer", "Params", "Stats"]

#: Parameters of one layer, by local name.
Params = dict[str, Tensor]
#: Conditional statistics of one layer: ``"mean"`` (the expected Z-basis value, ``<n>`` for
#: {0,1} units) and, for quantum layers, ``"x"`` (``<X>``); estimators may add more.
Stats = dict[str, Tensor]


def data_log_odds(data: Tensor, floor: float = 1e-3) -> Tensor:
    """Per-unit log-odds ``log(p / (1 - p))`` of the mean ``p`` of {0,1} data, in float64, with
    ``p`` clamped to ``[floor, 1 - floor]``: the visible offsets of Hinton's practical guide,
    and the base-rate model that AIS anneals from (Salakhutdinov & Murray 2008)."""
    p = data.to(torch.float64).mean(0).clamp(floor, 1 - floor)
    return torch.log(p / (1 - p))


class Layer(ABC):
    """``size`` units of one kind, named ``name`` inside a model.

    Parameters
    ----------
    size : int
        Number of units.
    name : str
        The layer's name in its model; its parameters are called ``f"{name}_{local}"`` there.
    """

    #: Whether the units carry a transverse field (X terms): their state is not diagonal.
    quantum: ClassVar[bool] = False
    #: Whether Z-basis values are {0, 1} (occupations ``n = (I - Z)/2``).
    binary: ClassVar[bool] = True
    #: The local parameter that fields are measured from (the neighbours' input is added to it).
    offset: ClassVar[str] = "bias"
    #: Whether :meth:`parameter_statistics` reads the layer's field (``stats["field"]``), as
    #: Gaussian units do: their variance also scales their couplings.
    needs_field: ClassVar[bool] = False
    #: Statistics that enter the DO-EM gradient only through their batch mean (a
    #: :meth:`parameter_statistics` row of their own that reads no parameter, and no coupling):
    #: a phase may hold them reduced to that mean (``LayeredModel.reduce_phase``).
    mean_only_statistics: ClassVar[tuple[str, ...]] = ()

    def __init__(self, size: int, name: str) -> None:
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            raise ValueError(f"{name}: size must be a positive int, got {size!r}")
        if not name.isidentifier():
            raise ValueError(f"layer name must be an identifier, got {name!r}")
        self.size = size
        self.name = name

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.size}, name={self.name!r})"

    # ------------------------------------------------------------------ parameters
    def initial_parameters(self) -> dict[str, float]:
        """Local parameter names and the constant every unit starts at."""
        return {"bias": 0.0}

    def trainable(self) -> tuple[str, ...]:
        """Local names of the parameters DO-EM updates."""
        return tuple(self.initial_parameters())

    # ------------------------------------------------------------------ one-unit closed forms
    @abstractmethod
    def log_partition(self, field: Tensor, params: Params) -> Tensor:
        """``log Tr exp(-H_unit)`` per unit, shaped like ``field``."""

    @abstractmethod
    def statistics(self, field: Tensor, params: Params) -> Stats:
        """Conditional expectations per unit (``"mean"``, and ``"x"`` for quantum layers)."""

    @abstractmethod
    def sample(self, stats: Stats, generator: torch.Generator) -> Tensor:
        """Z-basis values drawn from the conditional state described by ``stats``."""

    @abstractmethod
    def entropy(self, field: Tensor, params: Params) -> Tensor:
        """Von Neumann (or differential) entropy of each unit's conditional state, nats."""

    def expected_log_potential(self, field: Tensor, params: Params, stats: Stats) -> Tensor:
        """``<c n + Gamma X>`` per unit under the state ``stats`` (the QELBO energy term)."""
        return field * stats["mean"]

    def log_diagonal(self, field: Tensor, params: Params, z: Tensor) -> Tensor:
        """``log <z|exp(-H_unit)|z> - c z`` per unit: the quantum correction of the Z-basis joint.

        For a classical unit ``<z|exp(c n)|z> = e^{c z}`` and this is 0. The exact chains of
        :mod:`qdoem.sampling` use it as the Metropolis-Hastings weight of a classical neighbour.
        """
        return torch.zeros_like(field)

    def chain_terms(self, field: Tensor, params: Params) -> tuple[Tensor, ...] | None:
        """Per-state terms that the exact chain keeps with the layer's field for its next MH
        move (a tuple of tensors, rows first), or None when there is nothing worth keeping (the
        default; quantum layers keep their outcome probabilities, ``qubit.ChainTerms``)."""
        return None

    def terms_statistics(self, terms: tuple[Tensor, ...]) -> Stats:
        """``{"mean": ...}`` from :meth:`chain_terms` (enough for :meth:`sample`); only layers
        whose :meth:`chain_terms` are not None implement it."""
        raise NotImplementedError(f"{type(self).__name__} keeps no chain terms")

    def log_diagonal_ratio(
        self,
        old: Tensor,
        new: Tensor,
        params: Params,
        z: Tensor,
        old_terms: tuple[Tensor, ...] | None = None,
    ) -> tuple[Tensor, tuple[Tensor, ...] | None]:
        """``sum_j [log_diagonal(new) - log_diagonal(old)]`` per row, and the
        :meth:`chain_terms` of the fields ``new`` (``old_terms`` are those of ``old``, when
        kept: a layer reuses them instead of recomputing)."""
        ratio = (self.log_diagonal(new, params, z) - self.log_diagonal(old, params, z)).sum(-1)
        return ratio, self.chain_terms(new, params)

    def acts_classically(self, params: Params) -> bool:
        """Whether the layer's state is diagonal for these parameters (no X term at work)."""
        return not self.quantum

    def twin_statistics(self, field: Tensor, params: Params) -> Stats:
        """Statistics of the classical twin (the same layer at ``Gamma = 0``)."""
        return self.statistics(field, params)

    def twin_log_weight(self, field: Tensor, params: Params) -> Tensor:
        """``log Tr exp(-H_unit)`` minus that of the classical twin, summed over the units per
        row (0 if classical)."""
        return field.new_zeros(field.shape[:-1])

    def coupling_value(self, x: Tensor, params: Params) -> Tensor:
        """What the layer feeds into a coupling: ``x`` itself for {0,1} units."""
        return x

    def log_potential(self, x: Tensor, params: Params) -> Tensor:
        """The layer's own terms of ``-H`` at Z-basis values ``x``, summed per row: ``b . x``."""
        return x @ params["bias"]

    def parameter_statistics(self, stats: Stats, params: Params) -> dict[str, Tensor]:
        """Per-row ``d(-H)/d(local parameter)`` expectations under ``stats``.

        Their batch mean on the data minus on the model is the DO-EM ascent direction:
        ``d/db = <n>`` here, and ``d/dGamma = <X>`` for quantum layers.
        """
        return {"bias": stats["mean"]}

    # ------------------------------------------------------------------ data
    def check_values(self, x: Tensor, name: str) -> None:
        """Raise ``ValueError`` (naming ``name``) if ``x`` is not a batch of this layer's values."""
        if x.ndim != 2 or x.shape[1] != self.size:
            raise ValueError(
                f"{name} must have shape (n_samples, {self.size}), got {tuple(x.shape)}"
            )
        if x.numel() and not bool(((x == 0) | (x == 1)).all()):
            raise ValueError(f"{name} must contain only 0 and 1 (binary {self.name} units)")

    def init_from_data(self, data: Tensor, params: Params) -> None:
        """Set the offset to the data log-odds (Hinton's practical guide), in place."""
        params["bias"].copy_(data_log_odds(data).to(params["bias"]))

    def noise(self, n: int, generator: torch.Generator, device, dtype) -> Tensor:
        """``n`` rows of noise to start chains from: uniform {0,1} values."""
        shape = (n, self.size)
        return (torch.rand(shape, generator=generator, device=device) < 0.5).to(dtype)

    def zero_field_log_partition(self) -> float:
        """``log Tr exp(0)`` over the whole layer: ``size * log 2`` for two-level units."""
        return self.size * math.log(2.0)

    # ------------------------------------------------------------------ AIS base (visible layer)
    # AIS anneals from a base model in which the visible layer is independent of the rest:
    # ``log p*_beta(v) = (1 - beta) base.v + log p*(v; beta theta)`` for {0,1} units (a
    # base-rate model with log-odds ``base``).
    def tempered_parameters(self, params: Params, beta: float, base: Tensor | None) -> Params:
        """The visible layer's parameters at inverse temperature ``beta``:
        ``beta b + (1 - beta) base``."""
        base = torch.zeros_like(params["bias"]) if base is None else base.to(params["bias"])
        return {"bias": beta * params["bias"] + (1.0 - beta) * base}

    def base_log_partition(self, params: Params, base: Tensor | None) -> float:
        """``log sum_v exp(base.v)`` of the base model's visible layer."""
        if base is None:
            return self.size * math.log(2.0)
        return float(torch.nn.functional.softplus(base.double()).sum())

    def base_sample(
        self, n: int, params: Params, base: Tensor | None, generator: torch.Generator
    ) -> Tensor:
        """``n`` draws of the base model's visible layer (float64, CPU)."""
        p = torch.full((self.size,), 0.5, dtype=torch.float64) if base is None else base.sigmoid()
        return (torch.rand((n, self.size), generator=generator, dtype=torch.float64) < p).double()

    # ------------------------------------------------------------------ path-integral chain
    def occupation_sample(
        self, field: Tensor, params: Params, generator: torch.Generator
    ) -> Tensor:
        """Imaginary-time occupation fractions of the units given ``field``: the ``"path-gibbs"``
        chain's draw of a quantum layer (``qubit.sample_occupation``); classical layers have
        no paths and are drawn with :meth:`sample`."""
        raise NotImplementedError(
            f"{type(self).__name__} {self.name!r} has no imaginary-time paths: occupation "
            f"fractions are drawn for quantum layers only"
        )
