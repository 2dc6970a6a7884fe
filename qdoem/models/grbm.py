"""QGRBM and GRBM: Gaussian visible units and one hidden layer (Liao et al. 2022 for the GRBM).

Hamiltonian (visible classical and real-valued, hidden qubits, ``sigma^2 = exp(log_var)``):

    H(v) = sum_i (v_i - mu_i)^2 / (2 sigma_i^2) - sum_j c_j(v) n_j - sum_j Gamma_j X_j,
    c(v) = b + W^T (v / sigma^2).

It is block-diagonal in ``v`` (a CQ-LVM), so the E-step is the conditional Gibbs state of the
hidden qubits, the QRBM closed forms at the field ``c(v)``, and the unnormalised density is

    log p*(v) = -sum_i (v_i - mu_i)^2 / (2 sigma_i^2) + sum_j [c_j/2 + log 2cosh D_j],
    D_j = sqrt(c_j^2/4 + Gamma_j^2).

Given the hidden Z-basis values ``h``, ``v ~ N(mu + W h, sigma^2)`` is the GRBM's conditional; at
Gamma != 0 the exact chains use it as the proposal of the MH-within-Gibbs step (MATH-NOTES,
"QGRBM"). ``GRBM`` is the same model with ``Gamma = 0``; a QGRBM whose Gamma is fixed at 0 trains
bit for bit like it. The mean ``mu`` and log-variance ``log_var`` are learned as in Liao et al.
(:mod:`qdoem.layers.gaussian`).

Training as in Liao et al.: standardised data (``dataset_options = {standardize = "channel"}``),
negative chains started from noise (``chain_init="noise"``, their "modified CD") with ``cd_k``
sweeps whose statistics are averaged from sweep ``neg_average_from`` on (their ``CD_burnin``),
SGD without momentum, torch's per-epoch cosine schedule (``lr_schedule="cosine-annealing"``)
and gradient-norm clipping (``clip_norm``); sample grids end at the conditional mean
``mu + W h`` (``sample(conditional_mean=True)``); see ``configs/grbm_fashion_mnist.toml``.
Their Gibbs-Langevin transitions are ``sampler="gibbs-langevin"`` (``langevin_steps`` MALA moves
of ``v`` on ``P(v | h)`` of the Z-basis joint, exact at every Gamma:
:mod:`qdoem.sampling.langevin`).
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor

from qdoem.errors import check_int
from qdoem.layers import BernoulliLayer, GaussianLayer, QubitLayer
from qdoem.models.base import check_sizes
from qdoem.models.rbm import _OneHiddenLayer, refuse_gamma_options

__all__ = ["GRBM", "QGRBM"]


class _GaussianVisible(_OneHiddenLayer):
    """Gaussian visible units: their means and variances, and the Langevin settings of the
    ``"gibbs-langevin"`` sampler (:mod:`qdoem.sampling.langevin`)."""

    def __init__(
        self,
        layers: list,
        coupling_names: list[str],
        *,
        langevin_steps: int = 10,
        langevin_eta: float = 0.1,
        **options: Any,
    ) -> None:
        check_int("langevin_steps", langevin_steps, 1)
        if (
            isinstance(langevin_eta, bool)
            or not isinstance(langevin_eta, int | float)
            or not math.isfinite(langevin_eta)
            or langevin_eta <= 0
        ):
            raise ValueError(f"langevin_eta must be a finite number > 0, got {langevin_eta!r}")
        self.langevin_steps = langevin_steps
        self.langevin_eta = float(langevin_eta)
        super().__init__(layers, coupling_names, **options)

    @property
    def visible_mean(self) -> Tensor:
        """``mu``."""
        return self._params["visible_mu"]

    @property
    def visible_var(self) -> Tensor:
        """``sigma^2 = exp(log_var)``."""
        return torch.exp(self._params["visible_log_var"])


class QGRBM(_GaussianVisible):
    """Quantum Gaussian-Bernoulli RBM trained with DO-EM.

    Parameters
    ----------
    n_visible, n_hidden : int
        Layer sizes.
    gamma_init : float
        Initial transverse field on every hidden qubit.
    learn_gamma : bool
        Learn Gamma from the ``<X>`` statistics (True) or keep it fixed at ``gamma_init``.
    langevin_steps : int
        MALA moves of ``v`` per sweep of the ``"gibbs-langevin"`` sampler (Liao et al.: 10).
    langevin_eta : float
        Its largest step size, in units of the mean visible variance: ``eta = langevin_eta *
        mean(sigma^2)``, cosine-annealed over the moves (:mod:`qdoem.sampling.langevin`).
    **options
        Shared settings of :class:`~qdoem.models.base.LayeredModel` (``weight_scale``, training
        settings such as ``learning_rate``, ``chain_init``, ``clip_norm``, ``cd_k``, ``sampler``,
        ``seed``, ``device``, ``dtype``, ...).

    Examples
    --------
    >>> model = QGRBM(784, 1024, chain_init="noise", cd_k=100).fit(data)  # doctest: +SKIP
    >>> model.score_samples(data)  # log p(v) by AIS  # doctest: +SKIP
    """

    model_name = "qgrbm"
    quantum = True

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
            GaussianLayer(n_visible, "visible"),
            QubitLayer(n_hidden, "hidden", gamma_init=gamma_init, learn_gamma=learn_gamma),
        ]
        super().__init__(layers, ["weights"], **options)


class GRBM(_GaussianVisible):
    """Gaussian-Bernoulli RBM: the QGRBM with ``Gamma = 0``.

    Parameters
    ----------
    n_visible, n_hidden : int
        Layer sizes.
    **options
        Shared settings, as for :class:`QGRBM`.
    """

    model_name = "grbm"

    def __init__(self, n_visible: int, n_hidden: int, **options: Any) -> None:
        refuse_gamma_options(options, "GRBM", "QGRBM")
        check_sizes(n_visible=n_visible, n_hidden=n_hidden)
        layers = [GaussianLayer(n_visible, "visible"), BernoulliLayer(n_hidden, "hidden")]
        super().__init__(layers, ["weights"], **options)
