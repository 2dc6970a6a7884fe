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
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from torch import Tensor

from qdoem.layers import BernoulliLayer, QubitLayer
from qdoem.models.base import LayeredModel, check_sizes

__all__ = ["DBM", "QiDBM"]


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
        **options: Any,
    ) -> None:
        check_sizes(n_visible=n_visible)
        sizes = _hidden_sizes(hidden_sizes)
        quantum = _quantum_layers(quantum_layers, len(sizes))
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
    **options
        Shared settings, as for :class:`QiDBM`.
    """

    model_name = "dbm"

    def __init__(self, n_visible: int, hidden_sizes: Sequence[int], **options: Any) -> None:
        for key in ("quantum_layers", "gamma_init", "learn_gamma"):
            if key in options:
                raise ValueError(f"DBM has no quantum layer; {key} is not accepted (use QiDBM)")
        check_sizes(n_visible=n_visible)
        sizes = _hidden_sizes(hidden_sizes)
        self.hidden_sizes = list(sizes)
        layers = [BernoulliLayer(n_visible, "visible")]
        layers += [BernoulliLayer(size, f"hidden{l}") for l, size in enumerate(sizes, 1)]  # noqa: E741
        super().__init__(layers, **options)
