"""QiDBM and DBM: {0,1} visible units and several hidden layers, quantum ones interleaved.

Layers ``v, h_1, ..., h_L`` with couplings ``W_l`` between neighbours only. The quantum layers
carry transverse fields; no two are neighbours and the visible layer is classical, so

    H = -a.v - sum_l b_l . h_l - sum_l x_{l-1}^T W_l h_l - sum_{quantum l} Gamma_l . X_l

is block-diagonal in the Z basis of the classical layers (a CQ-LVM: Condition S holds). Given
its neighbours, a quantum unit is a one-qubit Gibbs state with the field

    c = b + W_l^T x_{l-1} + W_{l+1} h_{l+1}

and the QRBM closed forms (MATH-NOTES, "QiDBM"). ``DBM`` is the same model with every layer
classical; a QiDBM whose Gamma is fixed at 0 trains bit for bit like it.

Training: :class:`~qdoem.training.Trainer` with ``scheme="mean-field"`` (Salakhutdinov &
Hinton 2009: mean-field positive phase, CD or persistent chains for the negative phase) or
``scheme="unbiased"`` (Taniguchi et al. 2023: local-mode initialisation, a Gibbs step and a
coupled Metropolis-Hastings correction, :mod:`qdoem.sampling.unbiased`).

Optional greedy layer-wise pre-training (Salakhutdinov & Hinton 2009, Sec. 3.1; 2012, Sec. 4),
``pretrain_epochs`` of the trainer (:mod:`qdoem.training.pretrain`): a stack of one-hidden-layer
models (:class:`~qdoem.models.RBM`, or :class:`~qdoem.models.QRBM` where the upper layer is
quantum, Gamma included), stage ``l`` between ``x_{l-1}`` and ``x_l``. In the DBM a middle layer
hears both neighbours, in a stage only one, so a stage doubles the input a layer will later get
from the other side (:meth:`QiDBM.pretraining_stages`):

- bottom (``v``-``h_1``): two tied copies of ``v``, so ``h_1`` gets ``2 W^T v`` and ``v`` gets
  ``W h_1`` (``W`` kept);
- top (``h_{L-1}``-``h_L``): two tied copies of ``h_L``, so ``h_{L-1}`` gets ``2 W h_L``;
- middle: a plain stage whose weights ``U`` act as ``2 W`` both ways; the DBM takes ``U / 2``;
- one hidden layer: a plain stage, ``W`` kept.

Tied copies are an ordinary energy model (sufficient statistics summed over the copies), so every
kernel and estimator of the one-hidden-layer models applies to them unchanged. The DBM is then
composed so that each layer's conditional is the stages' (its field ``c`` has the same size on
average, ``W^T x_{l-1} + W x_{l+1} ~ 2 W^T x_{l-1}``): a hidden layer's bias is the mean of its
bias as the upper layer of one stage and as the lower layer of the next (equivalently, half of
each stage's energy, Salakhutdinov & Hinton 2009), a quantum layer keeps the Gamma of the stage
where it is the (quantum) upper layer, the visible bias is the bottom stage's.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor

from qdoem.layers import BernoulliLayer, QubitLayer
from qdoem.models.base import LayeredModel, check_sizes
from qdoem.models.rbm import QRBM, RBM
from qdoem.seeding import PRETRAIN, derive_seed, seeded_generator

__all__ = ["DBM", "QiDBM", "TiedQRBM", "TiedRBM"]

#: Rows per block when a stage's data are passed up the stack.
_PROPAGATE_ROWS = 4096


def _hidden_sizes(hidden_sizes: Any) -> tuple[int, ...]:
    if isinstance(hidden_sizes, int | str) or not isinstance(hidden_sizes, Sequence):
        raise ValueError(
            f"hidden_sizes must be a list of layer widths (e.g. [784, 784]), got {hidden_sizes!r}"
        )
    if not hidden_sizes:
        raise ValueError("hidden_sizes must name at least one hidden layer, got []")
    for i, size in enumerate(hidden_sizes, 1):
        check_sizes(**{f"hidden_sizes[{i}]": size})
    return tuple(hidden_sizes)


class _DeepModel(LayeredModel):
    """Shared names of the deep models (hidden layers ``hidden1``, ``hidden2``, ...)."""

    @property
    def hidden_layer_sizes(self) -> tuple[int, ...]:
        return self.layer_sizes[1:]

    def weights(self, layer: int) -> Tensor:
        """``W_l`` between layer ``l - 1`` and hidden layer ``l = layer``, shape
        ``(size_{l-1}, size_l)``."""
        if not 1 <= layer < len(self.layers):
            raise ValueError(f"layer must be in 1..{len(self.layers) - 1}, got {layer!r}")
        return self.weights_between(layer - 1)

    # ------------------------------------------------------------------ greedy pre-training
    def stage_copies(self, stage: int) -> tuple[int, int]:
        """Tied copies ``(lower, upper)`` of greedy stage ``stage`` (0-based: ``x_stage`` and
        ``x_{stage + 1}``): ``(2, 1)`` at the bottom, ``(1, 2)`` at the top, ``(1, 1)`` in the
        middle (weights doubled both ways instead) and for a single hidden layer."""
        n = len(self.layers) - 1
        if not 0 <= stage < n:
            raise ValueError(f"stage must be in 0..{n - 1}, got {stage!r}")
        if n == 1:
            return (1, 1)
        return (2 if stage == 0 else 1, 2 if stage == n - 1 else 1)

    def weight_factor(self, stage: int) -> float:
        """The DBM's ``W`` over the stage's weights: 1/2 for a middle stage (``U = 2 W``)."""
        n = len(self.layers) - 1
        return 0.5 if 0 < stage < n - 1 else 1.0

    def pretraining_stages(self) -> list[LayeredModel]:
        """Fresh models of the greedy stack, bottom first (see the module notes).

        Stage ``l`` is a :class:`TiedQRBM` where ``x_{l+1}`` is quantum (same ``gamma_init`` and
        ``learn_gamma``), else a :class:`TiedRBM`; initialised like this model (``weight_init``,
        ``weight_scale``) from a seed derived from ``(seed, PRETRAIN, l)``; same device and
        dtypes, and the visible products of the bottom stage as this model's
        (``visible_matmul``).
        """
        stages = []
        for k in range(len(self.layers) - 1):
            lower, upper = self.layers[k], self.layers[k + 1]
            options = {
                "copies": self.stage_copies(k),
                "weight_scale": self.weight_scale,
                "weight_init": self.weight_init,
                "seed": derive_seed(self.seed, PRETRAIN, k),
                "device": self.device,
                "dtype": self.dtype,
                "matmul_dtype": self.matmul_dtype,
                "visible_matmul": self.visible_matmul if k == 0 else "dense",
            }
            if upper.quantum:
                options.update(gamma_init=upper.gamma_init, learn_gamma=upper.learn_gamma)
                stages.append(TiedQRBM(lower.size, upper.size, **options))
            else:
                stages.append(TiedRBM(lower.size, upper.size, **options))
        return stages

    def propagate(self, stage: LayeredModel, x: Tensor, seed: int) -> Tensor:
        """The next stage's data: one draw of the stage's upper layer given each row ``x`` of its
        lower layer (all lower copies clamped to ``x``; a Z-basis shot for a quantum layer,
        closed form), in blocks of rows, from a generator seeded by ``seed``."""
        gen = seeded_generator(seed, self.device)
        copies, _ = stage.copies
        out = []
        for lo in range(0, x.shape[0], _PROPAGATE_ROWS):
            rows = x[lo : lo + _PROPAGATE_ROWS].to(device=self.device, dtype=self.dtype)
            inputs = torch.cat([rows] * copies, dim=1) if copies > 1 else rows
            stats = stage.conditional(1, stage.field(1, [inputs, None]))
            draw = stage.layers[1].sample(stats, gen)
            out.append(draw[:, : stage.unit_sizes[1]])
        return torch.cat(out)

    def init_from_stages(self, stages: list[LayeredModel]) -> None:
        """Set every parameter from trained greedy stages (see the module notes), in place.

        ``W_l`` is stage ``l - 1``'s weights (one block of the tied copies) times
        :meth:`weight_factor`; the visible bias is the bottom stage's; a hidden layer's bias
        is the mean of its upper-side bias in the stage below and its lower-side bias in the
        stage above (the top layer has only the first); Gamma of a quantum layer is that of
        the stage below it.
        """
        n = len(self.layers) - 1
        if len(stages) != n:
            raise ValueError(f"need {n} stages, got {len(stages)}")
        params = self._params
        for k, stage in enumerate(stages):
            w = stage.tied_parameters()
            self.weights_between(k).copy_(w["weights"] * self.weight_factor(k))
            lower, upper = self.layers[k], self.layers[k + 1]
            if k == 0:
                params[f"{lower.name}_bias"].copy_(w["visible_bias"])
            if upper.quantum:
                params[f"{upper.name}_gamma"].copy_(w["hidden_gamma"])
            bias = w["hidden_bias"]
            if k + 1 < n:
                bias = (bias + stages[k + 1].tied_parameters()["visible_bias"]) / 2
            params[f"{upper.name}_bias"].copy_(bias)


class QiDBM(_DeepModel):
    """Quantum interleaved deep Boltzmann machine trained with DO-EM.

    Parameters
    ----------
    n_visible : int
        Visible {0,1} units.
    hidden_sizes : sequence of int
        Widths of the hidden layers, bottom first (the paper: ``[784, 784]`` on MNIST).
    quantum_layers : sequence of int
        Which hidden layers are quantum, numbered from 1 (``h_1``) upwards. At least one; no two
        neighbours (a pair of neighbouring quantum layers is no longer a product of one-qubit
        Gibbs states given the rest, and the closed-form E-step is lost).
    gamma_init : float
        Initial transverse field of every quantum unit.
    learn_gamma : bool
        Learn Gamma (from the ``<X>`` statistics) or keep it at ``gamma_init``.
    pretrain_epochs : int
        Epochs of greedy layer-wise pre-training per stage before DO-EM (0: none; see the
        module notes and :mod:`qdoem.training.pretrain`).
    pretrain_learning_rate : float, optional
        Constant learning rate of the pre-training stages (default ``learning_rate``).
    **options
        Shared settings of :class:`~qdoem.models.base.LayeredModel` (``weight_scale``,
        training settings such as ``learning_rate``, ``batch_size``, ``scheme``, ``sampler``,
        ``seed``, ``device``, ``dtype``, ...).

    Examples
    --------
    >>> model = QiDBM(784, [784, 784], quantum_layers=[1], scheme="unbiased")  # doctest: +SKIP
    """

    model_name = "qidbm"
    quantum = True

    def __init__(
        self,
        n_visible: int,
        hidden_sizes: Sequence[int],
        *,
        quantum_layers: Sequence[int] = (1,),
        gamma_init: float = 0.5,
        learn_gamma: bool = True,
        pretrain_epochs: int = 0,
        pretrain_learning_rate: float | None = None,
        **options: Any,
    ) -> None:
        check_sizes(n_visible=n_visible)
        sizes = _hidden_sizes(hidden_sizes)
        quantum = _quantum_layers(quantum_layers, len(sizes))
        self.pretrain_epochs = pretrain_epochs
        self.pretrain_learning_rate = pretrain_learning_rate
        self.hidden_sizes = list(sizes)
        self.quantum_layers = list(quantum)
        self.gamma_init = gamma_init
        self.learn_gamma = learn_gamma
        layers = [BernoulliLayer(n_visible, "visible")]
        for l, size in enumerate(sizes, 1):  # noqa: E741
            name = f"hidden{l}"
            if l in quantum:
                layers.append(
                    QubitLayer(size, name, gamma_init=gamma_init, learn_gamma=learn_gamma)
                )
            else:
                layers.append(BernoulliLayer(size, name))
        super().__init__(layers, **options)

    @classmethod
    def check_settings(cls, settings: dict[str, Any]) -> None:
        sizes = _hidden_sizes(settings["hidden_sizes"])
        _quantum_layers(settings["quantum_layers"], len(sizes))


def _quantum_layers(quantum_layers: Any, n_hidden_layers: int) -> tuple[int, ...]:
    if isinstance(quantum_layers, int | str) or not isinstance(quantum_layers, Sequence):
        raise ValueError(
            f"quantum_layers must be a list of hidden-layer numbers (1 = h1), got "
            f"{quantum_layers!r}"
        )
    quantum = tuple(sorted(set(quantum_layers)))
    if not quantum:
        raise ValueError("quantum_layers is empty: a QiDBM needs a quantum layer (use DBM)")
    for l in quantum:  # noqa: E741
        if isinstance(l, bool) or not isinstance(l, int) or not 1 <= l <= n_hidden_layers:
            raise ValueError(
                f"quantum_layers entries must be hidden-layer numbers in 1..{n_hidden_layers} "
                f"(the visible layer 0 must stay classical), got {list(quantum_layers)}"
            )
    for a, b in zip(quantum, quantum[1:], strict=False):
        if b == a + 1:
            raise ValueError(
                f"quantum_layers {list(quantum_layers)} has neighbours h{a} and h{b}: given the "
                f"rest, two neighbouring quantum layers are not a product of one-qubit Gibbs "
                f"states, so the closed-form E-step and Condition S are lost"
            )
    return quantum


class DBM(_DeepModel):
    """Classical deep Boltzmann machine: the QiDBM with ``Gamma = 0`` everywhere.

    Parameters
    ----------
    n_visible : int
    hidden_sizes : sequence of int
        Widths of the hidden layers, bottom first.
    pretrain_epochs, pretrain_learning_rate, **options
        As for :class:`QiDBM`.
    """

    model_name = "dbm"

    def __init__(
        self,
        n_visible: int,
        hidden_sizes: Sequence[int],
        *,
        pretrain_epochs: int = 0,
        pretrain_learning_rate: float | None = None,
        **options: Any,
    ) -> None:
        self.pretrain_epochs = pretrain_epochs
        self.pretrain_learning_rate = pretrain_learning_rate
        for key in ("quantum_layers", "gamma_init", "learn_gamma"):
            if key in options:
                raise ValueError(f"DBM has no quantum layer; {key} is not accepted (use QiDBM)")
        check_sizes(n_visible=n_visible)
        sizes = _hidden_sizes(hidden_sizes)
        self.hidden_sizes = list(sizes)
        layers = [BernoulliLayer(n_visible, "visible")]
        layers += [BernoulliLayer(size, f"hidden{l}") for l, size in enumerate(sizes, 1)]  # noqa: E741
        super().__init__(layers, **options)


class _TiedCopies:
    """A one-hidden-layer model whose lower and/or upper layer is made of tied copies.

    ``copies = (c_l, c_u)``: the lower layer holds ``c_l`` copies of ``n_lower`` units, the upper
    ``c_u`` copies of ``n_upper``; every copy has the same biases (and Gamma), and every block
    of the ``(c_l n_lower, c_u n_upper)`` coupling is the same ``W``. This is a model of the
    ``c_l n_lower + c_u n_upper`` units with parameters tied, so its log-likelihood gradient in
    a tied parameter is the sum of the untied gradients over the copies (:meth:`gradient`);
    started tied, momentum SGD keeps the copies equal bit for bit.
    """

    model_name = ""  # a pre-training stage, not a registered model

    def __init__(
        self, n_lower: int, n_upper: int, *, copies: tuple[int, int] = (1, 1), **options: Any
    ) -> None:
        check_sizes(n_lower=n_lower, n_upper=n_upper)
        if len(copies) != 2 or any(
            isinstance(c, bool) or not isinstance(c, int) or c < 1 for c in copies
        ):
            raise ValueError(f"copies must be two positive ints (lower, upper), got {copies!r}")
        self.n_lower, self.n_upper = n_lower, n_upper
        self.copies = tuple(copies)
        self.unit_sizes = (n_lower, n_upper)
        super().__init__(n_lower * copies[0], n_upper * copies[1], **options)

    def _init_parameters(self) -> None:
        super()._init_parameters()
        # Every copy starts as the first one (in place: the parameter tensors are kept).
        for name, value in self._tie(self._params, reduce=False).items():
            self._params[name].copy_(value)

    def _tie(self, values: dict[str, Tensor], *, reduce: bool) -> dict[str, Tensor]:
        """Tied values of the entries of ``values`` (parameters or gradients): the sum over the
        copies (``reduce``, a gradient) or the first copy's, repeated over every copy."""
        (cl, cu), (nl, nu) = self.copies, self.unit_sizes
        out = {}
        if (cl, cu) == (1, 1):
            return out
        w = values["weights"].reshape(cl, nl, cu, nu)
        w = w.sum((0, 2)) if reduce else w[0, :, 0, :]
        out["weights"] = w.repeat(cl, cu)
        for layer, c, n in ((self.layers[0], cl, nl), (self.layers[1], cu, nu)):
            if c == 1:
                continue
            for local in layer.initial_parameters():
                name = f"{layer.name}_{local}"
                if name in values:
                    v = values[name].reshape(c, n)
                    out[name] = (v.sum(0) if reduce else v[0]).repeat(c)
        return out

    def gradient(self, pos, neg) -> dict[str, Tensor]:
        """The untied gradient with each tied parameter's entries summed over the copies."""
        grads = super().gradient(pos, neg)
        grads.update(self._tie(grads, reduce=True))
        return grads

    def tied_parameters(self) -> dict[str, Tensor]:
        """The parameters of one copy: ``weights`` ``(n_lower, n_upper)``, ``visible_bias``,
        ``hidden_bias`` and (quantum) ``hidden_gamma``."""
        nl, nu = self.unit_sizes
        out = {"weights": self._params["weights"][:nl, :nu]}
        for layer, n in ((self.layers[0], nl), (self.layers[1], nu)):
            for local in layer.initial_parameters():
                out[f"{layer.name}_{local}"] = self._params[f"{layer.name}_{local}"][:n]
        return out


class TiedQRBM(_TiedCopies, QRBM):
    """A :class:`~qdoem.models.QRBM` with tied copies of its layers (a greedy pre-training
    stage of a QiDBM whose upper layer is quantum; see :class:`_TiedCopies`)."""


class TiedRBM(_TiedCopies, RBM):
    """A :class:`~qdoem.models.RBM` with tied copies of its layers (a greedy pre-training stage;
    see :class:`_TiedCopies`)."""
