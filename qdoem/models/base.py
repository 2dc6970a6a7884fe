"""CQ-LVMs made of layers and couplings: the energy model behind every qdoem model.

A model is a chain of layers ``x_0`` (visible), ``x_1``, ..., ``x_L`` with a coupling matrix
``W_l`` between ``x_l`` and ``x_{l+1}``:

    H = sum_k H_k(x_k) - sum_l s(x_l)^T W_l s(x_{l+1}) - sum_{quantum k} Gamma_k . X_k,

with each layer's one-unit terms ``H_k`` (``-b . n`` for {0,1} units, ``(v - mu)^2 / 2 sigma^2``
for Gaussian ones), its coupling value ``s`` (``x``, or ``v / sigma^2``), and transverse fields
only on *quantum* layers, which are never the visible layer and never neighbours. Then ``H`` is
block-diagonal in the Z basis of the classical layers (a CQ-LVM: Condition S holds and DO-EM
never decreases the likelihood), and each layer's state given its neighbours is a product of
one-unit Gibbs states in closed form (:mod:`qdoem.layers`), with the field

    c_k = offset_k + W_{k-1}^T s(x_{k-1}) + W_k s(x_{k+1}).

DO-EM on a CQ-LVM: the E-step (Petz recovery of the data state) is the conditional Gibbs state of
the latent layers given the data (:meth:`LayeredModel.positive_phase`); the M-step gradient is
"data minus model" of the sufficient statistics (:meth:`LayeredModel.gradient`), the model term
from Markov chains (:mod:`qdoem.sampling`). With one gradient step per E-step this is the
likelihood gradient (MATH-NOTES).

Concrete models (:mod:`qdoem.models.rbm`) are short subclasses that choose the layers; they
register under ``model_name`` in :data:`MODELS`, the one list the CLI and configs read.
"""

from __future__ import annotations

import copy
import inspect
import math
import os
from typing import Any, ClassVar, NamedTuple

import numpy as np
import torch
from torch import Tensor

from qdoem.errors import check_int
from qdoem.io import atomic_torch_save
from qdoem.layers.base import Layer, Params, Stats
from qdoem.models.coupling import Coupling
from qdoem.sampling import ChainState, ais_log_partition, check_sampler, fused, sweep
from qdoem.sampling.ais import DEFAULT_N_BETAS, DEFAULT_N_CHAINS
from qdoem.sampling.mean_field import mean_field
from qdoem.seeding import HOST, derive_seed, seeded_generator
from qdoem.theory.bits import basis_states
from qdoem.theory.hamiltonian import default_coupling_names
from qdoem.training import TrainConfig, Trainer

__all__ = [
    "EXACT_MAX_VISIBLE",
    "LayeredModel",
    "MODELS",
    "QELBORows",
    "build_model",
    "check_sizes",
    "model_from_state",
]

#: Largest visible layer whose likelihood is computed by enumerating ``2^n_visible`` states.
EXACT_MAX_VISIBLE = 24
#: Visible states per chunk of an exact enumeration.
_CHUNK = 1 << 16
#: Mean-field sweeps of the positive phase of models with several hidden layers.
MEAN_FIELD_ITERATIONS = 10
#: Version of the state-dict layout (1: qdoem 0.1, parameter ``gamma`` of QRBM/RBM).
STATE_FORMAT = 2

#: Model classes by registry name; filled by subclasses that set ``model_name``.
MODELS: dict[str, type[LayeredModel]] = {}

_DTYPES = {"float32": torch.float32, "float64": torch.float64}
_MATMUL_DTYPES = {**_DTYPES, "bfloat16": torch.bfloat16, "float16": torch.float16}
VISIBLE_MATMULS = ("dense", "sparse")
WEIGHT_INITS = ("normal", "orthogonal")


class QELBORows(NamedTuple):
    """Per-row QELBO terms (:meth:`LayeredModel.qelbo_rows`), each a float64 ``(B,)`` tensor.

    ``energy`` (``<-H(v; theta)>``) and ``entropy`` (``S(rho_L(v; theta_ref))``, shot bias
    removed when estimated), their shot variances ``energy_var`` and ``entropy_var``, the
    variance ``var`` of their sum (they share the shots, so ``var`` is not the sum), and
    ``bias``, the correction added to the plug-in entropy (0 for exact statistics).
    """

    energy: Tensor
    entropy: Tensor
    energy_var: Tensor
    entropy_var: Tensor
    var: Tensor
    bias: Tensor


def _as_dtype(value: Any, table: dict[str, torch.dtype], field: str) -> torch.dtype:
    if isinstance(value, str):
        value = table.get(value.removeprefix("torch."), value)
    if value not in table.values():
        raise ValueError(f"{field} must be one of {sorted(table)}, got {value!r}")
    return value


def _dtype_name(dtype: torch.dtype | None) -> str | None:
    return None if dtype is None else str(dtype).removeprefix("torch.")


#: Elements per block of rows in the per-row sums of :meth:`LayeredModel.log_diagonal_joint`
#: (256 KiB float32 per temporary).
_ROW_BLOCK = 65536


class LayeredModel:
    """A CQ-LVM: a chain of layers with couplings between neighbours, trained with DO-EM.

    Subclasses build the layers and pass them here; everything else is shared. Hyperparameters
    are constructor arguments (scikit-learn style) and fitted state ends in ``_``.

    Parameters
    ----------
    layers : sequence of Layer
        Visible layer first. The visible layer must be classical and no two neighbouring layers
        may be quantum: otherwise a layer's conditional stops being a product of one-unit Gibbs
        states and the closed-form E-step (and Condition S) are lost.
    coupling_names : sequence of str, optional
        Parameter names of the couplings (default ``"weights"`` for one coupling, else
        ``"weights_1"``, ``"weights_2"``, ... from the bottom).
    weight_scale : float
        Standard deviation of the initial coupling weights (biases start at 0, Gamma at the
        layer's ``gamma_init``).
    weight_init : {"normal", "orthogonal"}
        ``N(0, weight_scale^2)`` entries, or orthogonal matrices (rows or columns orthonormal,
        as the DBM baseline of Taniguchi et al. 2023 initialises).
    learning_rate, momentum, initial_momentum, momentum_warmup, weight_decay, lr_schedule, \
lr_final_ratio, lr_decay, scheme, batch_size, n_epochs, cd_k, neg_average_from, persistent, \
pt_replicas, pt_beta_min, pt_ladder, chain_init, m_steps, clip_norm, sampler, backend, shots :
        Training settings used by :meth:`fit` and :meth:`partial_fit`; see
        :class:`qdoem.training.TrainConfig` (``n_epochs`` is its ``epochs``). ``scheme`` picks how
        the phases are estimated (``"mean-field"`` or ``"unbiased"``). ``sampler`` picks the
        negative-phase chain (``"exact"`` by default; ``"plain"`` is the biased chain kept for
        comparison); ``backend`` (a name or a :class:`backends.Backend`) takes the quantum layers'
        statistics and samples from circuits with ``shots`` shots.
    seed : int
        Seeds initialisation, data order and every random draw.
    device : str
        Torch device ("cpu", "cuda", ...).
    dtype : torch.dtype or str
        Parameter dtype, float32 (the fast path) or float64; likelihoods are in float64.
    matmul_dtype : torch.dtype or str, optional
        Mixed precision for the training matmuls, e.g. bfloat16 (see
        :mod:`qdoem.models.coupling`). Likelihoods ignore it.
    visible_matmul : {"dense", "sparse"}
        ``"sparse"``: gather-sums for products with {0,1} visible vectors, much faster on sparse
        data such as binarized MNIST; needs {0,1} visible units and no ``matmul_dtype``.
    compile : bool
        Opt-in fused kernels for every sweep of :func:`qdoem.sampling.sweep` (training's
        chains, :meth:`sample`, AIS): ``torch.compile`` fuses the elementwise pieces, i.e.
        the exact chain's MH move (the proposal's outcome probabilities and log-partition
        terms, the MH weight ``sum_j log <z_j|e^{c_j' n + Gamma_j X}|z_j> / <z_j|e^{c_j n +
        Gamma_j X}|z_j>``, the kept rows) and the elementwise part of every layer's draw, into
        one loop each (:mod:`qdoem.sampling.fused`). The matmuls and the random draws stay
        eager (the same draws from the same generator). Equal to the eager chain up to float
        rounding, not bit for bit; exact in the same sense (tested against the dense oracle).
        Needs a C++ compiler on the CPU (Triton on CUDA): refused here, with what is missing,
        when there is none. The first sweep compiles the kernels (tens of seconds with a cold
        cache; inductor keeps them on disk).
        Default False: the eager kernels.

    Notes
    -----
    Parameters are created in ``__init__`` because the sizes define a model (an untrained
    model already has a likelihood and can sample).
    """

    model_name: ClassVar[str] = ""
    #: Whether the model carries transverse fields (the CLI refuses circuit backends otherwise).
    quantum: ClassVar[bool] = False
    #: Parameter names of qdoem 0.1 (state format 1) -> this version's (None: dropped).
    V1_NAMES: ClassVar[dict[str, str | None]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.model_name:
            MODELS[cls.model_name] = cls

    def __init__(
        self,
        layers: list[Layer],
        coupling_names: list[str] | None = None,
        *,
        weight_scale: float = 0.01,
        weight_init: str = "normal",
        learning_rate: float = 0.05,
        momentum: float = 0.5,
        initial_momentum: float | None = None,
        momentum_warmup: int = 5,
        weight_decay: float = 1e-4,
        lr_schedule: str = "constant",
        lr_final_ratio: float = 0.1,
        lr_decay: float = 1e-3,
        scheme: str = "mean-field",
        batch_size: int = 100,
        n_epochs: int = 10,
        cd_k: int = 1,
        neg_average_from: int | None = None,
        persistent: bool = False,
        pt_replicas: int = 1,
        pt_beta_min: float = 0.5,
        pt_ladder: str = "geometric",
        chain_init: str = "data",
        m_steps: int = 1,
        clip_norm: float | None = None,
        sampler: str = "exact",
        backend: Any = None,
        shots: int | None = 1000,
        seed: int = 0,
        device: str = "cpu",
        dtype: torch.dtype | str = torch.float32,
        matmul_dtype: torch.dtype | str | None = None,
        visible_matmul: str = "dense",
        compile: bool = False,
    ) -> None:
        self.layers = tuple(layers)
        _check_structure(self.layers)
        if isinstance(weight_scale, bool) or not isinstance(weight_scale, int | float):
            raise ValueError(f"weight_scale must be a number, got {weight_scale!r}")
        if not (math.isfinite(weight_scale) and weight_scale >= 0):
            raise ValueError(f"weight_scale must be finite and >= 0, got {weight_scale}")
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise ValueError(f"seed must be a non-negative int, got {seed!r}")
        dtype = _as_dtype(dtype, _DTYPES, "dtype")
        if matmul_dtype is not None:
            matmul_dtype = _as_dtype(matmul_dtype, _MATMUL_DTYPES, "matmul_dtype")
        if visible_matmul not in VISIBLE_MATMULS:
            raise ValueError(
                f"visible_matmul must be one of {VISIBLE_MATMULS}, got {visible_matmul!r}"
            )
        sparse = visible_matmul == "sparse"
        if sparse and matmul_dtype not in (None, dtype):
            raise ValueError("visible_matmul='sparse' computes in dtype; leave matmul_dtype unset")
        if sparse and not self.layers[0].binary:
            raise ValueError("visible_matmul='sparse' needs {0,1} visible units")
        check_sampler(sampler)
        if not isinstance(compile, bool):
            raise ValueError(f"compile must be True or False, got {compile!r}")
        if compile:
            fused.check_available(device, "compile")
        n_couplings = len(self.layers) - 1
        coupling_names = list(coupling_names or default_coupling_names(n_couplings))
        if len(coupling_names) != n_couplings:
            raise ValueError(f"need {n_couplings} coupling names, got {list(coupling_names)}")
        if weight_init not in WEIGHT_INITS:
            raise ValueError(f"weight_init must be one of {WEIGHT_INITS}, got {weight_init!r}")
        self.weight_scale = float(weight_scale)
        self.weight_init = weight_init
        self.learning_rate = learning_rate
        self.momentum = momentum
        self.initial_momentum = initial_momentum
        self.momentum_warmup = momentum_warmup
        self.weight_decay = weight_decay
        self.lr_schedule = lr_schedule
        self.lr_final_ratio = lr_final_ratio
        self.lr_decay = lr_decay
        self.scheme = scheme
        self.batch_size = batch_size
        self.n_epochs = n_epochs
        self.cd_k = cd_k
        self.neg_average_from = neg_average_from
        self.persistent = persistent
        self.pt_replicas = pt_replicas
        self.pt_beta_min = pt_beta_min
        self.pt_ladder = pt_ladder
        self.chain_init = chain_init
        self.m_steps = m_steps
        self.clip_norm = clip_norm
        self.sampler = sampler
        self.backend = backend
        self.shots = shots
        self.seed = seed
        self.device = device
        self.dtype = dtype
        self.matmul_dtype = matmul_dtype
        self.visible_matmul = visible_matmul
        self.compile = compile
        self.couplings = tuple(
            Coupling(name, lower, dtype, matmul_dtype, sparse=sparse and lower == 0)
            for lower, name in enumerate(coupling_names)
        )
        self._trainer: Trainer | None = None
        self._init_parameters()

    # ------------------------------------------------------------------ parameters
    def _init_parameters(self) -> None:
        gen = torch.Generator().manual_seed(self.seed)
        kw = {"device": self.device, "dtype": self.dtype}
        params: dict[str, Tensor] = {}
        for c in self.couplings:
            shape = (self.layers[c.lower].size, self.layers[c.lower + 1].size)
            w = torch.empty(*shape, dtype=torch.float64)
            if self.weight_init == "orthogonal":
                torch.nn.init.orthogonal_(w, generator=gen)  # scale-free: weight_scale unused
            else:
                w = self.weight_scale * w.normal_(generator=gen)
            params[c.name] = w.to(**kw)
        for layer in self.layers:
            for local, value in layer.initial_parameters().items():
                params[f"{layer.name}_{local}"] = torch.full((layer.size,), value, **kw)
        self._params = params
        self._bind()

    def _bind(self) -> None:
        """Per-layer views of the parameter dict (the same tensors, by local name)."""
        self._layer_params = [
            {local: self._params[f"{layer.name}_{local}"] for local in layer.initial_parameters()}
            for layer in self.layers
        ]
        self._weights = [self._params[c.name] for c in self.couplings]

    def parameters(self) -> dict[str, Tensor]:
        """The parameter tensors by name (the trainer updates them in place)."""
        return self._params

    def layer_params(self, k: int) -> Params:
        """Layer ``k``'s parameters by local name (``"bias"``, ``"gamma"``, ...)."""
        return self._layer_params[k]

    def weights_between(self, lower: int) -> Tensor:
        """The coupling matrix between layers ``lower`` and ``lower + 1``."""
        return self._weights[lower]

    def trainable(self) -> tuple[str, ...]:
        """Names of the parameters DO-EM updates."""
        names = [c.name for c in self.couplings]
        for layer in self.layers:
            names += [f"{layer.name}_{local}" for local in layer.trainable()]
        return tuple(names)

    def decayed(self) -> tuple[str, ...]:
        """Names of the parameters that receive weight decay (the couplings)."""
        return tuple(c.name for c in self.couplings)

    def transverse_fields(self) -> dict[str, Tensor]:
        """The ``gamma`` parameter of every quantum layer, by parameter name."""
        return {
            f"{layer.name}_gamma": self._layer_params[k]["gamma"]
            for k, layer in enumerate(self.layers)
            if layer.quantum
        }

    def has_transverse_field(self) -> bool:
        """Whether some quantum layer has a non-zero Gamma (so the plain chain is biased)."""
        return any(
            not layer.acts_classically(self._layer_params[k]) for k, layer in enumerate(self.layers)
        )

    @property
    def n_visible(self) -> int:
        return self.layers[0].size

    @property
    def layer_sizes(self) -> tuple[int, ...]:
        return tuple(layer.size for layer in self.layers)

    @property
    def sweep_order(self) -> tuple[int, ...]:
        """Odd layers, then even layers: each group is conditionally independent given the other."""
        n = len(self.layers)
        return tuple(range(1, n, 2)) + tuple(range(0, n, 2))

    # ------------------------------------------------------------------ conditionals
    def field(self, k: int, values: list[Tensor | None]) -> Tensor:
        """``c_k = offset_k + W_{k-1}^T s(x_{k-1}) + W_k s(x_{k+1})`` for each row of ``values``."""
        out = self._layer_params[k][self.layers[k].offset]
        fresh = False  # whether ``out`` is a temporary of this call (not the offset parameter)
        for j in (k - 1, k + 1):
            if not 0 <= j < len(self.layers):
                continue
            if values[j] is None:
                raise ValueError(f"layer {self.layers[j].name!r} has no values yet")
            s = self.layers[j].coupling_value(values[j], self._layer_params[j])
            if j < k:
                out = self.couplings[j].up(self._weights[j], s, out)
            else:
                out = self.couplings[k].down(self._weights[k], s, out, inplace=fresh)
            fresh = True
        return out

    def conditional(
        self, k: int, field: Tensor, estimator=None, *, with_sample: bool = False
    ) -> Stats:
        """Statistics of layer ``k``'s conditional state at ``field``.

        Quantum layers ask ``estimator`` (closed form when None); classical layers always use
        their closed forms.
        """
        layer = self.layers[k]
        if layer.quantum and estimator is not None:
            return estimator.statistics(layer, field, self._layer_params[k], with_sample)
        return layer.statistics(field, self._layer_params[k])

    # ------------------------------------------------------------------ DO-EM phases
    def _rao_blackwell_layers(self) -> frozenset[int]:
        """Layers whose conditional means (not samples) enter the model statistics: the quantum
        layers if any, else the odd layers. Never two neighbours."""
        quantum = {k for k, layer in enumerate(self.layers) if layer.quantum}
        return frozenset(quantum or range(1, len(self.layers), 2))

    def chain_state(self, v: Tensor, generator: torch.Generator) -> ChainState:
        """A chain started at visible values ``v``; deeper hidden layers start from samples of
        their mean-field means (a one-hidden-layer chain samples its hidden layer first)."""
        values: list[Tensor | None] = [v] + [None] * (len(self.layers) - 1)
        if len(self.layers) > 2:
            stats = mean_field(self, {0: v}, iterations=MEAN_FIELD_ITERATIONS)
            for k in range(2, len(self.layers)):
                values[k] = self.layers[k].sample({**stats[k]}, generator)
        return ChainState(values)

    def positive_phase(
        self,
        v: Tensor,
        estimator=None,
        generator: torch.Generator | None = None,
        *,
        start_chain: bool = True,
    ) -> tuple[list[Stats], ChainState]:
        """The E-step on a data batch, and a chain started there for the negative phase.

        With one hidden layer this is the Petz E-step itself: the conditional Gibbs state of
        the hidden layer given ``v`` (from ``estimator``, closed form when None, with one
        pending Z-basis sample for the chain unless ``start_chain`` is False, as for persistent
        chains). With more hidden layers it is mean field with the visible layer clamped.

        Returns
        -------
        phase : list of dict
            Per layer, the statistics entering the sufficient statistics (``{"mean": v}`` for
            the visible layer).
        state : ChainState
            Chains at ``v``, with the E-step's statistics cached.
        """
        if len(self.layers) == 2:
            state = ChainState([v, None])
            stats = state.statistics(self, 1, estimator, with_sample=start_chain)
            return [{"mean": v}, stats], state
        if generator is None:
            raise ValueError("models with several hidden layers need a generator here")
        phase = mean_field(self, {0: v}, iterations=MEAN_FIELD_ITERATIONS, estimator=estimator)
        return phase, self.chain_state(v, generator)

    def e_step(self, v: Any, estimator=None) -> list[Stats]:
        """The E-step on visible rows ``v``: statistics of each hidden layer's conditional state.

        For one hidden layer: ``[{"mean": <n_j>_v, "x": <X_j>_v}]`` (``"x"`` for qubits), the
        Petz recovery of the data restricted to the hidden qubits (closed form unless an
        ``estimator`` is given). Deeper models: the mean-field statistics of each hidden layer.
        """
        v = self._as_input(v, "v")
        generator = seeded_generator(derive_seed(self.seed, HOST), self.device)
        return self.positive_phase(v, estimator, generator)[0][1:]

    def negative_phase(self, state: ChainState, estimator=None) -> list[Stats]:
        """Model statistics at the chains' ends: samples, Rao-Blackwellised where possible.

        The layers of :meth:`_rao_blackwell_layers` (a QRBM's hidden layer) contribute their
        conditional statistics given their neighbours' values, the others their values.
        """
        rb = self._rao_blackwell_layers()
        return [
            state.statistics(self, k, estimator) if k in rb else {"mean": state.values[k]}
            for k in range(len(self.layers))
        ]

    def _layer_rows(self, phase: list[Stats]) -> dict[str, Tensor]:
        """Per-row sufficient statistics of the layer parameters (trainable ones)."""
        rows = {}
        means = [stats["mean"] for stats in phase]
        for k, layer in enumerate(self.layers):
            stats = phase[k]
            if layer.needs_field:  # Gaussian units: their variance also scales the couplings
                stats = {**stats, "field": self.field(k, means)}
            stats = layer.parameter_statistics(stats, self._layer_params[k])
            for local in layer.trainable():
                rows[f"{layer.name}_{local}"] = stats[local]
        return rows

    def _coupling_values(self, phase: list[Stats]) -> list[Tensor]:
        return [
            layer.coupling_value(phase[k]["mean"], self._layer_params[k])
            for k, layer in enumerate(self.layers)
        ]

    def sufficient_statistics(
        self, phase: list[Stats], weights: Tensor | None = None
    ) -> dict[str, Tensor]:
        """``E[d/dtheta log Tr_L exp(-H)]`` over the rows of a phase, for each trainable parameter.

        ``weights`` (one per row, summing to 1) default to the batch mean. The DO-EM ascent
        direction is this on the data minus this on the model (:meth:`gradient`).
        """
        s = self._coupling_values(phase)
        batch = s[0].shape[0]
        w = torch.full((batch,), 1.0 / batch, dtype=s[0].dtype, device=s[0].device)
        w = w if weights is None else weights.to(s[0])
        stats = {c.name: s[c.lower].T @ (w[:, None] * s[c.lower + 1]) for c in self.couplings}
        stats.update({name: w @ rows for name, rows in self._layer_rows(phase).items()})
        return stats

    def reduce_phase(self, phase: list[Stats]) -> list[Stats]:
        """``phase`` with each layer's :attr:`~qdoem.layers.base.Layer.mean_only_statistics`
        (a quantum layer's ``<X>``) replaced by its batch mean, kept as one row.

        :meth:`gradient` gives the same result, bit for bit, on the reduced phase (the mean of
        one row is that row): a trainer reduces a phase as soon as it has it, so that the
        per-row tensors are not held through the chain and the gradient step. New dicts; the
        ones given (which may be a chain's caches) are left as they are.
        """
        return [
            {
                key: value.mean(0, keepdim=True) if key in layer.mean_only_statistics else value
                for key, value in stats.items()
            }
            for layer, stats in zip(self.layers, phase, strict=True)
        ]

    def _layer_row_means(self, phase: list[Stats]) -> dict[str, Tensor]:
        """Batch means of :meth:`_layer_rows`, each layer's rows reduced before the next layer's
        are made (fewer per-row tensors alive at once)."""
        means: dict[str, Tensor] = {}
        values = [stats["mean"] for stats in phase]
        for k, layer in enumerate(self.layers):
            stats = phase[k]
            if layer.needs_field:
                stats = {**stats, "field": self.field(k, values)}
            rows = layer.parameter_statistics(stats, self._layer_params[k])
            means.update(
                {f"{layer.name}_{local}": rows[local].mean(0) for local in layer.trainable()}
            )
            del stats, rows
        return means

    def gradient(self, pos: list[Stats], neg: list[Stats]) -> dict[str, Tensor]:
        """DO-EM ascent direction: sufficient statistics on the data minus on the model.

        The coupling terms are fused into one product per coupling
        (:meth:`qdoem.models.coupling.Coupling.gradient`). The phases may be
        :meth:`reduce_phase`'d. Memory: the coupling values are dropped before the layer terms
        are made, and each layer's per-row terms are reduced to their batch means at once.
        """
        s_d, s_m = self._coupling_values(pos), self._coupling_values(neg)
        grads = {
            c.name: c.gradient(s_d[c.lower], s_d[c.lower + 1], s_m[c.lower], s_m[c.lower + 1])
            for c in self.couplings
        }
        del s_d, s_m
        means_d = self._layer_row_means(pos)
        means_m = self._layer_row_means(neg)
        grads.update({name: means_d[name] - means_m[name] for name in means_d})
        return grads

    # ------------------------------------------------------------------ likelihood
    def has_closed_form_marginal(self) -> bool:
        """Whether ``log p*(v)`` is closed form: one hidden layer, summed out unit by unit."""
        return len(self.layers) == 2

    def summed_layers(self) -> tuple[int, ...]:
        """Hidden layers summed out in closed form by the exact marginal; the other hidden
        layers are enumerated.

        Given the Z-basis values of its neighbours, a layer's state is a product of one-unit
        Gibbs states, so ``Tr`` over a set of pairwise non-neighbouring layers is closed form.
        Every quantum layer must be in the set (its state is not diagonal); among the odd and
        the even hidden layers, the set with the most units that qualifies is taken (for one
        hidden layer: that layer, so nothing is enumerated).
        """
        hidden = range(1, len(self.layers))
        quantum = {k for k in hidden if self.layers[k].quantum}
        options = [
            chosen
            for chosen in ({k for k in hidden if k % 2 == p} for p in (1, 0))
            if quantum <= chosen
        ] or [quantum]
        best = max(options, key=lambda chosen: sum(self.layers[k].size for k in chosen))
        return tuple(sorted(best))

    def _enumerated_bits(self) -> int:
        summed = self.summed_layers()
        return sum(layer.size for k, layer in enumerate(self.layers[1:], 1) if k not in summed)

    def _enumerate(self, v: Tensor) -> tuple[list[Tensor], dict[int, Tensor], Tensor]:
        """Every configuration of the enumerated hidden layers next to each row of ``v``.

        Returns ``(values, fields, log_w)``: per layer the ``(B * M, size)`` values (rows
        ``b * M .. b * M + M - 1`` belong to ``v[b]``; the summed layers' entries are None),
        the fields of the summed layers, and ``log_w`` of shape ``(B, M)``: the diagonal terms
        of ``-H`` between the layers that are not summed (``a.v``, biases, couplings). Then

            log <v, h_E| Tr_S exp(-H) |v, h_E> = log_w + sum_{k in S} log_partition(field_k).
        """
        summed = self.summed_layers()
        enumerated = [k for k in range(1, len(self.layers)) if k not in summed]
        bits = self._enumerated_bits()
        if bits > EXACT_MAX_VISIBLE:
            raise ValueError(
                f"exact marginal needs at most {EXACT_MAX_VISIBLE} enumerated hidden units, "
                f"got {bits}"
            )
        b, m = v.shape[0], 2**bits
        values: list[Tensor | None] = [None] * len(self.layers)
        values[0] = v.repeat_interleave(m, 0) if m > 1 else v
        if enumerated:
            configs = torch.from_numpy(basis_states(bits)).to(v)
            sizes = [self.layers[k].size for k in enumerated]
            for k, part in zip(enumerated, configs.split(sizes, dim=1), strict=True):
                values[k] = part.repeat(b, 1)
        log_w = sum(
            self.layers[k].log_potential(values[k], self._layer_params[k]) for k in [0, *enumerated]
        )
        for c in self.couplings:
            if c.lower not in summed and c.lower + 1 not in summed:
                log_w = log_w + self._coupling_term(c.lower, values)
        fields = {k: self.field(k, values) for k in summed}
        return values, fields, log_w.reshape(b, m)

    def _coupling_term(self, lower: int, values: list[Tensor | None]) -> Tensor:
        """``s(x_lower)^T W x_upper`` per row."""
        s = self.layers[lower].coupling_value(values[lower], self._layer_params[lower])
        field = self.couplings[lower].up(self._weights[lower], s, s.new_zeros(()))
        return (field * values[lower + 1]).sum(-1)

    def _summed_log_partition(self, fields: dict[int, Tensor], b: int) -> Tensor:
        """``sum over summed layers and units of log Tr exp(-H_unit)``, shaped ``(b, M)``."""
        total = sum(
            self.layers[k].log_partition(f, self._layer_params[k]).sum(-1)
            for k, f in fields.items()
        )
        return total.reshape(b, -1)

    def unnormalized_log_prob(self, v: Tensor) -> Tensor:
        """``log p*(v) = log Tr_L <v|exp(-H)|v>``, the negative free energy.

        For a QRBM: ``a.v + sum_j [c_j/2 + log 2cosh D_j]``. Deeper models sum the layers of
        :meth:`summed_layers` out in closed form and enumerate the other hidden layers (small
        models only; see :data:`EXACT_MAX_VISIBLE`).
        """
        _, fields, log_w = self._enumerate(v)
        return torch.logsumexp(log_w + self._summed_log_partition(fields, v.shape[0]), dim=1)

    def log_diagonal_joint(self, values: list[Tensor]) -> Tensor:
        """``log <x|exp(-H)|x>`` for Z-basis values ``x`` of every layer, per row.

        The Z-basis diagonal of the Gibbs state is a classical joint law whose marginal on the
        classical layers is the model's; a quantum layer's values are its Z-basis measurement.
        It is the classical ``-E(x)`` (biases and couplings) plus, per quantum unit,
        ``log_diagonal`` (MATH-NOTES: ``log <z|exp(c n + Gamma X)|z> - c z``).
        """
        out = sum(
            layer.log_potential(values[k], self._layer_params[k])
            for k, layer in enumerate(self.layers)
        )
        for c in self.couplings:
            out = out + self._coupling_term(c.lower, values)
        for k, layer in enumerate(self.layers):
            if layer.quantum:
                out = out + self._log_diagonal_rows(k, values)
        return out

    def _log_diagonal_rows(self, k: int, values: list[Tensor]) -> Tensor:
        """``sum_j log_diagonal`` of quantum layer ``k`` per row, over blocks of rows: the
        closed form's dozen full-size temporaries stay small (the sums are per row, so the
        result is the same bit for bit)."""
        layer, params = self.layers[k], self._layer_params[k]
        field, z = self.field(k, values), values[k]
        if field.ndim != 2 or z.shape != field.shape:
            return layer.log_diagonal(field, params, z).sum(-1)
        rows = max(1, _ROW_BLOCK // max(1, field.shape[1]))
        out = field.new_empty(field.shape[0])
        for i in range(0, field.shape[0], rows):
            b = slice(i, i + rows)
            torch.sum(layer.log_diagonal(field[b], params, z[b]), -1, out=out[b])
        return out

    def exact_log_partition(self, chunk: int = _CHUNK) -> float:
        """``log Z`` by summing the exact marginal over all ``2^n_visible`` visible states,
        about ``chunk`` rows (visible states times enumerated hidden states) at a time.

        Raises
        ------
        ValueError
            If ``n_visible`` plus the enumerated hidden units exceed 24 (use AIS instead).
        """
        n = self.n_visible
        if not self.layers[0].binary:
            raise ValueError("exact log Z needs {0,1} visible units")
        bits = n + self._enumerated_bits()
        if bits > EXACT_MAX_VISIBLE:
            raise ValueError(
                f"exact log Z enumerates 2^{bits} states (n_visible {n} plus enumerated hidden "
                f"units); at most 2^{EXACT_MAX_VISIBLE}: use method='ais'"
            )
        check_int("chunk", chunk, 1)
        m = self.to_float64()
        step = max(1, chunk >> self._enumerated_bits())
        parts = []
        for start in range(0, 2**n, step):
            v = torch.from_numpy(basis_states(n, start, min(start + step, 2**n)))
            parts.append(torch.logsumexp(m.unnormalized_log_prob(v), dim=0))
        return float(torch.logsumexp(torch.stack(parts), dim=0))

    def log_partition(
        self,
        method: str = "auto",
        *,
        n_chains: int = DEFAULT_N_CHAINS,
        n_betas: int = DEFAULT_N_BETAS,
        base_bias: Tensor | None = None,
        generator: torch.Generator | None = None,
        sampler: str = "exact",
    ) -> tuple[float, float]:
        """``(log Z, standard error)``; the error is 0 for the exact method.

        ``method``: "exact" (enumeration of at most 2^24 states, {0,1} visible units), "ais"
        (any depth: over the visible marginal with one hidden layer, else over the layers left
        after tracing out non-neighbouring ones in closed form), or "auto" (exact where it
        applies). AIS options: see
        :func:`qdoem.sampling.ais_log_partition` (``sampler`` is its transition kernel).
        """
        if method not in ("auto", "exact", "ais"):
            raise ValueError(f"method must be 'auto', 'exact' or 'ais', got {method!r}")
        if method == "auto":
            small = self.n_visible + self._enumerated_bits() <= EXACT_MAX_VISIBLE
            method = "exact" if small and self.layers[0].binary else "ais"
        if method == "exact":
            return self.exact_log_partition(), 0.0
        res = ais_log_partition(
            self,
            n_chains=n_chains,
            n_betas=n_betas,
            base_bias=base_bias,
            generator=generator,
            sampler=sampler,
        )
        return res.log_z, res.stderr

    def log_prob(
        self, v: Tensor, method: str = "auto", *, log_z: float | None = None, **ais_options: Any
    ) -> Tensor:
        """``log p(v)`` for each row, float64. Exact for small models (2^24 states), else AIS.

        Pass ``log_z`` (e.g. from :meth:`log_partition`, which also returns the AIS standard
        error) to reuse one estimate across calls.
        """
        v = self._as_input(v, "v").double().cpu()
        if log_z is None:
            log_z, _ = self.log_partition(method, **ais_options)
        return self.to_float64().unnormalized_log_prob(v) - log_z

    def _enumerated_phase(
        self, v: Tensor, estimator=None
    ) -> tuple[list[Stats], dict[int, Tensor], Tensor]:
        """The statistics of every enumerated configuration next to each row of ``v`` (summed
        layers: their conditional statistics, quantum ones from ``estimator``, one call per
        layer), the summed layers' fields, and the log weights ``(B, M)`` of those rows."""
        values, fields, log_w = self._enumerate(v)
        phase = [
            self.conditional(k, fields[k], estimator) if k in fields else {"mean": values[k]}
            for k in range(len(self.layers))
        ]
        return phase, fields, log_w + self._summed_log_partition(fields, v.shape[0])

    def qelbo(
        self, data: Tensor, reference: LayeredModel | None = None, log_z: float | None = None
    ):
        """The QELBO of the data at the Petz extension computed with ``reference``'s parameters.

        Maths (MATH-NOTES; CQ-LVM): with ``rho_L(v; theta_ref)`` the conditional latent state of
        the reference,

            QELBO(theta) = E_data[<-H(v; theta)>_{rho_L(v; theta_ref)}]
                           + E_data[S(rho_L(v; theta_ref))] - log Z(theta),

        the M-step objective plus the E-step entropy. It lower-bounds the log-likelihood
        ``L(theta)`` and equals it at ``theta = theta_ref`` (the default, ``reference=None``).
        The per-row terms are :meth:`qelbo_rows`; ``log_z`` defaults to the exact value (for
        shot estimates with error bars see :func:`qdoem.metrics.estimate_qelbo`).
        """
        rows = self.qelbo_rows(data, reference)
        log_z = self.exact_log_partition() if log_z is None else log_z
        return float((rows.energy + rows.entropy).mean()) - log_z

    def qelbo_rows(
        self,
        data: Tensor,
        reference: LayeredModel | None = None,
        estimator=None,
        *,
        bias_correction: bool = True,
    ) -> QELBORows:
        """Per-row energy and entropy terms of :meth:`qelbo`, exact or from an estimator's shots.

        Row ``b`` gets ``<-H(v_b; theta)>`` and ``S(rho_L(v_b; theta_ref))`` at the
        conditional latent state of the reference (``reference=None``: this model). With
        several hidden layers ``rho_L(v)`` is block-diagonal in the enumerated layers: a
        mixture, weights ``P(h_E | v)`` (classical, computed exactly here), of products of
        one-unit states of the summed layers, so its entropy is ``H(P(h_E | v))`` plus the
        mixture of the units' entropies, and its energy the mixture of the energies.

        The quantum units' statistics come from ``estimator`` (closed form when None; one
        backend call per quantum layer for all rows). Estimated statistics (with
        ``"mean_stderr"``) give each unit's entropy from its Bloch vector, minus its shot bias
        when ``bias_correction`` (:meth:`~qdoem.layers.QubitLayer.shot_qelbo_terms`), and
        delta-method shot variances; exact statistics give the closed-form entropy and zero
        variances. Units (and configurations) have independent shots, so a row's variance is
        ``sum_m P(m | v)^2 sum_units var_unit``.
        """
        v = self._as_input(data, "data").double().cpu()
        m = self.to_float64()
        r = m if reference is None else reference.to_float64()
        if r.layer_sizes != m.layer_sizes or type(r) is not type(m):
            raise ValueError("reference must be a model of the same type and sizes")
        b = v.shape[0]
        phase_ref, fields_ref, log_w_ref = r._enumerated_phase(v, estimator)
        p = torch.softmax(log_w_ref, dim=1)
        entropy = -(p * torch.log_softmax(log_w_ref, dim=1)).sum(1)
        _, fields, energy = m._enumerate(v)
        zero = torch.zeros(b, dtype=torch.float64)
        extra = {key: zero for key in ("energy_var", "entropy_var", "var", "bias")}

        def mix(per_unit: Tensor, weights: Tensor) -> Tensor:
            return (weights * per_unit.sum(-1).reshape(b, -1)).sum(1)

        for k, field in fields.items():
            stats, params = phase_ref[k], m.layer_params(k)
            term = m.layers[k].expected_log_potential(field, params, stats)
            energy = energy + term.sum(-1).reshape(b, -1)
            if "mean_stderr" in stats:  # estimated: a quantum layer through a backend
                unit = m.layers[k].shot_qelbo_terms(field, params, stats, bias_correction)
                unit_entropy = unit["entropy"]
                extra = {
                    key: extra[key] + mix(unit[key], p if key == "bias" else p * p) for key in extra
                }
            else:
                unit_entropy = r.layers[k].entropy(fields_ref[k], r.layer_params(k))
            entropy = entropy + mix(unit_entropy, p)
        return QELBORows(energy=(p * energy).sum(1), entropy=entropy, **extra)

    def exact_statistics(self, data: Any = None) -> dict[str, Tensor]:
        """Exact expectations of the sufficient statistics, by enumeration (float64).

        Without ``data``: ``E_model``, over all visible states (the exact negative phase).
        With ``data``: the exact E-step, ``E_data Tr(rho_L(v) dH'/dtheta)`` at the conditional
        latent state of each row (the exact positive phase; for one hidden layer, the closed
        form of :meth:`positive_phase`). The log-likelihood gradient is
        ``exact_statistics(data) - exact_statistics()``.
        """
        m = self.to_float64()
        if data is None:
            n = self.n_visible
            bits = n + self._enumerated_bits()
            if bits > EXACT_MAX_VISIBLE:
                raise ValueError(
                    f"exact model statistics enumerate 2^{bits} states (n_visible {n} plus "
                    f"enumerated hidden units); at most 2^{EXACT_MAX_VISIBLE}"
                )
            v = torch.from_numpy(basis_states(n))
            phase, _, log_w = m._enumerated_phase(v)
            weights = torch.softmax(log_w.flatten(), dim=0)
        else:
            v = self._as_input(data, "data").double().cpu()
            phase, _, log_w = m._enumerated_phase(v)
            weights = (torch.softmax(log_w, dim=1) / v.shape[0]).flatten()
        return m.sufficient_statistics(phase, weights=weights)

    # ------------------------------------------------------------------ copies
    def to_float64(self) -> LayeredModel:
        """A float64 copy on the CPU with dense matmuls (for likelihoods and exact work)."""
        params = {k: t.detach().to("cpu", torch.float64) for k, t in self._params.items()}
        return self._with_parameters(params)

    def tempered(
        self, beta: float, base_bias: Tensor | None = None, *, keep_precision: bool = False
    ) -> LayeredModel:
        """The AIS intermediate at inverse temperature ``beta`` (float64, CPU).

        Every parameter of the hidden layers and couplings is scaled by ``beta``; the visible
        layer's become :meth:`~qdoem.layers.Layer.tempered_parameters` (for {0,1} units the
        offset ``(1 - beta) a0 + beta a``, for Gaussian units unchanged). Its marginal is
        ``p*_beta`` of :mod:`qdoem.sampling.ais`. Without ``base_bias`` and with {0,1} visible
        units it is ``exp(-beta H) / Z_beta``, a replica of parallel tempering
        (:mod:`qdoem.sampling.tempering`), which asks for ``keep_precision``: the copy keeps
        this model's device, dtype and matmul settings instead of float64 on the CPU.
        """
        if keep_precision:
            params = {k: t.detach() * beta for k, t in self._params.items()}
            local = {k: t.detach() for k, t in self._layer_params[0].items()}
            base = None if base_bias is None else base_bias.to(self.device, self.dtype)
        else:
            params = {
                k: t.detach().to("cpu", torch.float64) * beta for k, t in self._params.items()
            }
            local = {
                k: t.detach().to("cpu", torch.float64) for k, t in self._layer_params[0].items()
            }
            base = None if base_bias is None else base_bias.to(torch.float64)
        visible = self.layers[0]
        for key, value in visible.tempered_parameters(local, beta, base).items():
            params[f"{visible.name}_{key}"] = value
        return self._with_parameters(params, keep_precision=keep_precision)

    def _with_parameters(
        self, params: dict[str, Tensor], *, keep_precision: bool = False
    ) -> LayeredModel:
        other = copy.copy(self)
        other.layers = tuple(copy.copy(layer) for layer in self.layers)
        if keep_precision:  # fresh couplings (their low-precision caches are per matrix)
            other.couplings = tuple(
                Coupling(c.name, c.lower, c.dtype, c.matmul_dtype, sparse=c.sparse)
                for c in self.couplings
            )
        else:
            other.couplings = tuple(
                Coupling(c.name, c.lower, torch.float64) for c in self.couplings
            )
            other.device, other.dtype = "cpu", torch.float64
            other.matmul_dtype, other.visible_matmul = None, "dense"
        other._params = params
        other._trainer = None
        other._bind()
        return other

    # ------------------------------------------------------------------ dense oracle
    def hamiltonian_family(self):
        """The model as a :class:`qdoem.theory.HamiltonianFamily` (small sizes only).

        Qubits are the layers' units in order (visible first); terms, in the order of
        :meth:`theta`: ``-n_i`` per bias, ``-n_i n_j`` per coupling weight (row-major) and
        ``-X_j`` per transverse field, with ``n = (I - Z)/2``. Then
        ``family.hamiltonian(model.theta())`` is the model's ``H``, and the dense oracle of
        :mod:`qdoem.theory` (``gibbs_state``, ``petz_recovery``, ``qelbo``, ``do_em``) applies.
        """
        from qdoem.theory.hamiltonian import HamiltonianFamily

        if any(not layer.binary for layer in self.layers):
            raise ValueError("only models with {0,1} units have a qubit Hamiltonian")
        return HamiltonianFamily.layered(
            self.layer_sizes,
            quantum=[k for k, layer in enumerate(self.layers) if layer.quantum],
            layer_names=[layer.name for layer in self.layers],
            coupling_names=[c.name for c in self.couplings],
        )

    def _theta_blocks(self) -> list[str]:
        names = [f"{layer.name}_bias" for layer in self.layers]
        names += [c.name for c in self.couplings]
        names += [f"{layer.name}_gamma" for layer in self.layers if layer.quantum]
        return names

    def theta(self, values: dict[str, Tensor] | None = None) -> np.ndarray:
        """The parameters as one float64 vector, in the term order of :meth:`hamiltonian_family`.

        ``values``: any dict keyed like :meth:`parameters` (sufficient statistics, gradients)
        to flatten in the same order instead.
        """
        values = self._params if values is None else values
        missing = [n for n in self._theta_blocks() if n not in values]
        if missing:
            raise ValueError(f"values has no entries for {missing}")
        return np.concatenate(
            [values[n].detach().cpu().double().ravel().numpy() for n in self._theta_blocks()]
        )

    def load_theta(self, theta: np.ndarray) -> None:
        """Set the parameters from a vector in the order of :meth:`theta` (in place)."""
        theta = np.asarray(theta, dtype=np.float64).ravel()
        sizes = [self._params[n].numel() for n in self._theta_blocks()]
        if theta.size != sum(sizes):
            raise ValueError(f"theta must have {sum(sizes)} entries, got {theta.size}")
        for name, part in zip(
            self._theta_blocks(), np.split(theta, np.cumsum(sizes)[:-1]), strict=True
        ):
            target = self._params[name]
            target.copy_(torch.from_numpy(part).reshape(target.shape).to(target))

    # ------------------------------------------------------------------ sampling
    def sample(
        self,
        n_samples: int,
        *,
        sampler: str = "exact",
        steps: int = 1000,
        init: Tensor | None = None,
        seed: int | None = None,
        conditional_mean: bool = False,
    ) -> Tensor:
        """Draw visible samples by running ``steps`` sweeps of a kernel of :mod:`qdoem.sampling`.

        Parameters
        ----------
        n_samples : int
            Number of chains (rows returned).
        sampler : {"exact", "plain", "twin-mh", "heat-bath", "path-gibbs", "gibbs-langevin"}
            The kernel, as in training. ``"plain"`` is the uncorrected chain: its stationary law
            is not ``p(v)`` at Gamma != 0.
        steps : int
            Sweeps per chain.
        init : Tensor, optional
            Starting visible values ``(n_samples, n_visible)`` (e.g. data); uniform {0,1} noise
            (standard normal for Gaussian units) if omitted.
        seed : int, optional
            Seed of the chains (defaults to the model seed).
        conditional_mean : bool
            Return, instead of the last visible values ``v``, the mean of the visible layer's
            conditional given the first hidden layer drawn once more from its exact conditional
            at ``v`` (a Z-basis measurement): ``mu + W h`` for Gaussian units, the
            probabilities for {0,1} units. Liao et al.'s final GRBM image (``sampling`` in their
            code): a denoised image, not a sample of ``p(v)``. At Gamma != 0 it is the mean of
            the classical conditional ``N(mu + W h, sigma^2)``, which the exact chains use as a
            proposal, not of the Z-basis joint's ``P(v | h)``.
        """
        from qdoem.estimators import ClosedFormEstimator

        if not isinstance(conditional_mean, bool):
            raise ValueError(f"conditional_mean must be True or False, got {conditional_mean!r}")
        gen = self._sampling_generator(n_samples, steps, sampler, seed)
        if init is None:
            v = self.layers[0].noise(n_samples, gen, self.device, self.dtype)
        else:
            v = self._as_input(init, "init")
            if v.shape[0] != n_samples:
                raise ValueError(f"init has {v.shape[0]} rows, expected n_samples={n_samples}")
        estimator = ClosedFormEstimator()
        state = self.chain_state(v, gen)
        for _ in range(steps):
            sweep(self, state, sampler, estimator, gen)
        if not conditional_mean:
            return state.values[0]
        # The first hidden layer from its conditional (a plain sweep with every other layer
        # clamped: its exact Z-basis draw), then the visible layer's conditional mean.
        others = frozenset(k for k in range(len(self.layers)) if k != 1)
        sweep(self, state, "plain", estimator, gen, others)
        return self.conditional(0, state.field(self, 0))["mean"]

    def _sampling_generator(
        self, n_samples: int, steps: int, sampler: str, seed: int | None
    ) -> torch.Generator:
        """Checked sampling arguments; the generator of the chains (seeded by ``seed``, else the
        model's seed)."""
        check_sampler(sampler)
        check_int("n_samples", n_samples, 1)
        if isinstance(steps, bool) or not isinstance(steps, int) or steps < 0:
            raise ValueError(f"steps must be a non-negative int, got {steps!r}")
        seed = self.seed if seed is None else seed
        return seeded_generator(derive_seed(seed, HOST), self.device)

    def sample_local_modes(
        self,
        n_samples: int,
        *,
        steps: int = 1,
        sampler: str = "exact",
        seed: int | None = None,
    ) -> tuple[Tensor, Tensor]:
        """The DBM baseline's image sampler (Taniguchi et al. 2023): every layer from uniform
        noise to a local mode by deterministic block updates
        (:func:`qdoem.sampling.unbiased.local_mode`), then ``steps`` sweeps of ``sampler``.

        Not a sample from ``p(v)``: it favours the modes (sharp images, as used for FID).

        Returns
        -------
        modes, after : Tensor
            Visible values at the local modes, and after the sweeps.
        """
        from qdoem.estimators import ClosedFormEstimator
        from qdoem.sampling.unbiased import local_mode

        gen = self._sampling_generator(n_samples, steps, sampler, seed)
        values = [layer.noise(n_samples, gen, self.device, self.dtype) for layer in self.layers]
        values, _ = local_mode(self, values, gen)
        state = ChainState(values)
        estimator = ClosedFormEstimator()
        for _ in range(steps):
            sweep(self, state, sampler, estimator, gen)
        return values[0], state.values[0]

    # ------------------------------------------------------------------ estimator surface
    @classmethod
    def check_settings(cls, settings: dict[str, Any]) -> None:
        """Check the structural constructor arguments among ``settings`` (a run config) without
        building the model, raising ``ValueError`` as the constructor would. Models whose
        structure has rules beyond sizes (which layers are quantum) override it."""

    @classmethod
    def param_names(cls) -> list[str]:
        """Constructor arguments (scikit-learn's ``get_params`` keys), subclass first."""
        names: list[str] = []
        for klass in cls.__mro__:
            if not issubclass(klass, LayeredModel):
                continue
            for p in inspect.signature(klass.__init__).parameters.values():
                if p.name in ("self", "layers", "coupling_names") or p.kind in (
                    p.VAR_KEYWORD,
                    p.VAR_POSITIONAL,
                ):
                    continue
                if p.name not in names:
                    names.append(p.name)
        return names

    def get_params(self) -> dict[str, Any]:
        """Constructor arguments (scikit-learn style)."""
        return {k: getattr(self, k) for k in self.param_names()}

    def _as_input(self, x: Any, name: str = "X") -> Tensor:
        x = torch.as_tensor(x)
        if x.ndim == 1:
            x = x[None, :]
        self.layers[0].check_values(x, name)
        return x.to(device=self.device, dtype=self.dtype)

    def check_data(self, data: Tensor, name: str = "data") -> None:
        """Raise ``ValueError`` naming ``name`` unless ``data`` is a non-empty visible batch."""
        self.layers[0].check_values(data, name)
        if data.shape[0] == 0:
            raise ValueError(f"{name} is empty")

    def init_from_data(self, data: Tensor) -> None:
        """Initialise the visible layer's offset from the data (e.g. log-odds), in place."""
        self.layers[0].init_from_data(data, self._layer_params[0])

    def train_config(self) -> TrainConfig:
        """The :class:`~qdoem.training.TrainConfig` of this model's training hyperparameters."""
        params = self.get_params()
        params["epochs"] = params.pop("n_epochs")
        if params["backend"] is not None and not isinstance(params["backend"], str):
            params["backend"] = getattr(params["backend"], "name", type(params["backend"]).__name__)
        return TrainConfig.from_dict(params)

    def _make_trainer(self) -> Trainer:
        from qdoem.estimators import make_estimator

        config = self.train_config()
        estimator = make_estimator(self.backend, self.shots, self.seed)
        return Trainer(self, config, estimator=estimator)

    def _fitted(self) -> LayeredModel:
        self.history_ = list(self._trainer.history)
        self.n_iter_ = self._trainer.epoch
        self.estimator_ = self._trainer.estimator
        return self

    def fit(self, X: Any, y: Any = None) -> LayeredModel:
        """Train from a fresh initialisation (scikit-learn semantics) for ``n_epochs``.

        Use :meth:`partial_fit` to continue from the current parameters.
        """
        X = self._as_input(X)
        self._init_parameters()
        self._trainer = self._make_trainer()
        self._trainer.fit(X)
        return self._fitted()

    def partial_fit(self, X: Any, y: Any = None) -> LayeredModel:
        """One DO-EM pass over ``X`` (keeps optimiser and chain state between calls)."""
        X = self._as_input(X)
        if self._trainer is None:
            self._trainer = self._make_trainer()
        self._trainer.train_epoch(X)
        return self._fitted()

    def score_samples(self, X: Any, **options: Any) -> Tensor:
        """``log p(v)`` per sample (exact or AIS, see :meth:`log_prob`)."""
        return self.log_prob(X, **options)

    def transform(self, X: Any) -> Tensor:
        """First hidden layer's means ``<n_j>`` given each row (mean field for deep models)."""
        v = self._as_input(X)
        if len(self.layers) == 2:
            return self.conditional(1, self.field(1, [v, None]))["mean"]
        return mean_field(self, {0: v}, iterations=MEAN_FIELD_ITERATIONS)[1]["mean"]

    def state_dict(self) -> dict[str, Any]:
        params = self.get_params()
        params["dtype"] = _dtype_name(self.dtype)
        params["matmul_dtype"] = _dtype_name(self.matmul_dtype)
        if params["backend"] is not None and not isinstance(params["backend"], str):
            params["backend"] = getattr(params["backend"], "name", None)
        return {
            "model": self.model_name,
            "format": STATE_FORMAT,
            "hyperparameters": params,
            "parameters": {k: v.detach().cpu().clone() for k, v in self._params.items()},
        }

    def upgrade_names(self, values: dict[str, Tensor], state_format: int) -> dict[str, Tensor]:
        """A dict keyed by parameter names of state format ``state_format`` (parameters,
        optimiser velocities), renamed to this version's names (see ``V1_NAMES``)."""
        if state_format >= STATE_FORMAT:
            return values
        renamed = {self.V1_NAMES.get(k, k): v for k, v in values.items()}
        return {k: v for k, v in renamed.items() if k is not None}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Copy saved parameters into this model (shapes and names must match)."""
        if state.get("format", 1) > STATE_FORMAT:
            raise ValueError(
                f"state format {state['format']} was written by a newer qdoem (this one reads "
                f"formats up to {STATE_FORMAT}); upgrade qdoem"
            )
        params = self.upgrade_names(dict(state["parameters"]), state.get("format", 1))
        missing = sorted(set(self._params) - set(params))
        unknown = sorted(set(params) - set(self._params))
        if missing or unknown:
            raise ValueError(
                f"checkpoint does not match {type(self).__name__}: missing {missing}, "
                f"unknown {unknown}"
            )
        for name, value in params.items():
            current = self._params[name]
            if current.shape != value.shape:
                raise ValueError(
                    f"{name}: checkpoint shape {tuple(value.shape)} != {tuple(current.shape)}"
                )
            current.copy_(value.to(current))

    def save(self, path: str | os.PathLike) -> None:
        """Save hyperparameters and parameters (atomic write)."""
        atomic_torch_save(self.state_dict(), path)

    @classmethod
    def load(cls, path: str | os.PathLike, device: str | None = None) -> LayeredModel:
        """Load a model saved with :meth:`save` (any registered model type)."""
        return model_from_state(torch.load(path, map_location="cpu", weights_only=True), device)

    def __repr__(self) -> str:
        sizes = ", ".join(f"{layer.name}={layer.size}" for layer in self.layers)
        return f"{type(self).__name__}({sizes})"


def check_sizes(**sizes: Any) -> None:
    """Raise ``ValueError`` naming the argument unless every size is a positive int."""
    for name, value in sizes.items():
        check_int(name, value, 1)


def _check_structure(layers: tuple[Layer, ...]) -> None:
    if len(layers) < 2:
        raise ValueError(f"a model needs a visible and at least one hidden layer, got {layers}")
    if any(not isinstance(layer, Layer) for layer in layers):
        raise ValueError(f"layers must be qdoem.layers.Layer instances, got {layers}")
    names = [layer.name for layer in layers]
    if len(set(names)) != len(names):
        raise ValueError(f"layer names must be distinct, got {names}")
    if layers[0].quantum:
        raise ValueError(
            "the visible layer must be classical: X terms on visible units break Condition S "
            "(the Petz E-step no longer saturates the QELBO)"
        )
    for k in range(1, len(layers) - 1):
        if layers[k].quantum and layers[k + 1].quantum:
            raise ValueError(
                f"quantum layers {layers[k].name!r} and {layers[k + 1].name!r} are neighbours: "
                f"their conditional is no longer a product of 1-qubit Gibbs states, so the "
                f"closed-form E-step is lost"
            )
    for layer in layers[1:]:
        if not layer.binary:
            raise ValueError(f"hidden layer {layer.name!r} must have {{0,1}} units")


def build_model(name: str, *args: Any, **options: Any) -> LayeredModel:
    """``MODELS[name](*args, **options)``: a registered model by name (see :data:`MODELS`)."""
    key = name.lower()
    if key not in MODELS:
        raise ValueError(f"unknown model {name!r}; choose one of {sorted(MODELS)}")
    return MODELS[key](*args, **options)


def model_from_state(state: dict[str, Any], device: str | None = None) -> LayeredModel:
    """Rebuild a model from :meth:`LayeredModel.state_dict` output (or an older qdoem's)."""
    if state.get("model") not in MODELS:
        raise ValueError(f"unknown model {state.get('model')!r}; choose one of {sorted(MODELS)}")
    cls = MODELS[state["model"]]
    names = cls.param_names()
    hyper = {k: v for k, v in state["hyperparameters"].items() if k in names}
    if device is not None:
        hyper["device"] = device
    model = build_model(state["model"], hyper.pop("n_visible"), **hyper)
    model.load_state_dict(state)
    return model
