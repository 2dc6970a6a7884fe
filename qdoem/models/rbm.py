"""QRBM and RBM: {0,1} visible units and one hidden layer.

Hamiltonian (visible classical, hidden qubits, ``n_j = |1><1|``):

    H(v) = -a.v - sum_j c_j(v) n_j - sum_j Gamma_j X_j,   c(v) = b + W^T v.

It is block-diagonal in v (a CQ-LVM), so the Petz E-step is the conditional Gibbs state of the
hidden qubits, a product of 1-qubit states in closed form (:mod:`qdoem.layers.qubit`):

    log p(v) = a.v + sum_j [c_j/2 + log 2cosh D_j] - log Z,   D_j = sqrt(c_j^2/4 + Gamma_j^2).

``RBM`` is the same model with ``Gamma = 0``: classical hidden units, ``sigmoid`` and
``softplus``. A QRBM whose Gamma is 0 trains bit for bit like the RBM.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from qdoem.layers import BernoulliLayer, QubitLayer
from qdoem.models.base import LayeredModel, check_sizes

__all__ = ["QRBM", "RBM"]


class _OneHiddenLayer(LayeredModel):
    """Shared names of the one-hidden-layer models (QRBM, RBM, QGRBM, GRBM)."""

    @property
    def n_hidden(self) -> int:
        return self.layers[1].size

    @property
    def weights(self) -> Tensor:
        """``W``, shape ``(n_visible, n_hidden)``."""
        return self._params["weights"]

    @property
    def hidden_bias(self) -> Tensor:
        return self._params["hidden_bias"]

    @property
    def gamma(self) -> Tensor:
        """Transverse fields ``Gamma`` of the hidden units (identically 0 for the classical
        twin, whose hidden layer has none)."""
        if self.layers[1].quantum:
            return self._params["hidden_gamma"]
        return torch.zeros(self.n_hidden, device=self.device, dtype=self.dtype)


def refuse_gamma_options(options: dict[str, Any], model: str, quantum_model: str) -> None:
    """Raise ``ValueError`` if a classical twin is given the transverse-field options."""
    for key in ("gamma_init", "learn_gamma"):
        if key in options:
            raise ValueError(
                f"{model} has Gamma fixed at 0; {key} is not accepted (use {quantum_model})"
            )


class _BinaryVisible(_OneHiddenLayer):
    """{0,1} visible units: the visible biases ``a``."""

    @property
    def visible_bias(self) -> Tensor:
        return self._params["visible_bias"]


class QRBM(_BinaryVisible):
    """Quantum restricted Boltzmann machine trained with DO-EM.

    Parameters
    ----------
    n_visible, n_hidden : int
        Layer sizes.
    gamma_init : float
        Initial transverse field on every hidden qubit.
    learn_gamma : bool
        Learn Gamma from the ``<X>`` statistics (True) or keep it fixed at ``gamma_init``.
    **options
        Shared settings of :class:`~qdoem.models.base.LayeredModel`: ``weight_scale``,
        training settings (``learning_rate``, ``batch_size``, ``n_epochs``, ``cd_k``,
        ``persistent``, ``sampler``, ``backend``, ``shots``, ...), ``seed``, ``device``,
        ``dtype``, ``matmul_dtype``, ``visible_matmul``.

    Examples
    --------
    >>> model = QRBM(9, 6, n_epochs=30, seed=0).fit(data)  # doctest: +SKIP
    >>> model.score_samples(data)  # exact log p(v) (AIS above 24 visible)  # doctest: +SKIP
    """

    model_name = "qrbm"
    quantum = True
    V1_NAMES = {"gamma": "hidden_gamma"}  # qdoem 0.1 called the transverse fields "gamma"

    def __init__(
        self,
        n_visible: int,
        n_hidden: int,
        *,
        gamma_init: float = 0.5,
        learn_gamma: bool = True,
        **options: Any,
    ) -> None:
        check_sizes(n_visible=n_visible, n_hidden=n_hidden)
        self.gamma_init = gamma_init
        self.learn_gamma = learn_gamma
        layers = [
            BernoulliLayer(n_visible, "visible"),
            QubitLayer(n_hidden, "hidden", gamma_init=gamma_init, learn_gamma=learn_gamma),
        ]
        super().__init__(layers, ["weights"], **options)


class RBM(_BinaryVisible):
    """Classical RBM: the QRBM with ``Gamma = 0``, using ``sigmoid`` and ``softplus``.

    Parameters
    ----------
    n_visible, n_hidden : int
        Layer sizes.
    **options
        Shared settings, as for :class:`QRBM`.
    """

    model_name = "rbm"
    V1_NAMES = {"gamma": None}  # qdoem 0.1 stored the RBM's (zero) transverse fields too

    def __init__(self, n_visible: int, n_hidden: int, **options: Any) -> None:
        refuse_gamma_options(options, "RBM", "QRBM")
        check_sizes(n_visible=n_visible, n_hidden=n_hidden)
        layers = [BernoulliLayer(n_visible, "visible"), BernoulliLayer(n_hidden, "hidden")]
        super().__init__(layers, ["weights"], **options)
