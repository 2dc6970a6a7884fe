"""Training settings of the DO-EM trainer."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import Any

from qdoem.errors import ConfigError, check_int
from qdoem.sampling.kernels import SAMPLERS
from qdoem.sampling.tempering import temperature_ladder
from qdoem.training.optim import SCHEDULES, scheduled_lr

__all__ = ["CHAIN_INITS", "M_STEP_STARTS", "SCHEMES", "TrainConfig"]

#: Estimators of the two phases (see ``TrainConfig.scheme``).
SCHEMES = ("mean-field", "unbiased")
#: Where the negative-phase chains start (see ``TrainConfig.chain_init``).
CHAIN_INITS = ("data", "noise")
#: Where the chains of M-steps 2..K of an E-step start (see ``TrainConfig.m_step_start``).
M_STEP_STARTS = ("data", "e-step")


def _number(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ConfigError(f"{name} must be a finite number, got {value!r}")
    return float(value)


@dataclass
class TrainConfig:
    """Optimisation and sampling settings of :class:`~qdoem.training.Trainer`.

    Attributes
    ----------
    epochs, batch_size : int
        Passes over the data and mini-batch size.
    learning_rate, momentum, weight_decay : float
        Momentum SGD ascent; weight decay on the couplings only.
    initial_momentum : float or None
        Momentum for the first ``momentum_warmup`` epochs, then ``momentum`` (Hinton's practical
        guide: 0.5 for 5 epochs, then 0.9). None: ``momentum`` throughout.
    momentum_warmup : int
        Epochs at ``initial_momentum``.
    lr_schedule, lr_final_ratio, lr_decay :
        ``"constant"``; ``"linear"`` or ``"cosine"`` decay towards ``lr * lr_final_ratio``;
        ``"cosine-annealing"``: torch's ``CosineAnnealingLR(T_max=epochs)`` per epoch (Liao et al.);
        ``"inverse-sqrt"``: ``lr / sqrt(1 + lr_decay * step)`` per mini-batch step.
    scheme : str
        How the two phases are estimated. ``"mean-field"``: the E-step of the data batch
        (closed form for one hidden layer; mean field, Salakhutdinov & Hinton 2009, for deeper
        models) and CD-k or persistent chains for the model term. ``"unbiased"``: Taniguchi et
        al. 2023, local-mode search, ``cd_k`` sweeps and a coupled MH correction
        (:mod:`qdoem.sampling.unbiased`) for the model term, and for the data term of deep
        models (started from noise in the hidden layers, the data clamped); the model chains
        start from noise, or from the persistent chains when ``persistent``.
    cd_k : int
        Sweeps of the negative-phase chains per step (after the local mode, for ``"unbiased"``).
    neg_average_from : int or None
        None (default): the model statistics are read at the chains' last sweep. An int ``j``
        in ``[0, cd_k)``: they are averaged over sweeps ``j, ..., cd_k - 1`` (0-based; sweep
        ``j`` ends after ``j + 1`` sweeps), ``j`` being the burn-in, as Liao et al. average
        their GRBM's negative samples over all ``CD_step`` sweeps after ``CD_burnin`` (0 in
        their configs). Every kernel leaves the model's law invariant, so once the chain has
        mixed each sweep's statistics, and their average, estimate ``E_model``; before that
        the average is as biased as CD, differently. ``"mean-field"`` scheme only.
    persistent : bool
        Persistent chains (PCD) instead of chains restarted at the data (CD-k).
    chain_init : {"data", "noise"}
        Where the negative-phase chains of the ``"mean-field"`` scheme start: at the data batch
        (CD-k, Hinton), or at noise (uniform {0,1}, standard normal for Gaussian units): Liao et
        al.'s "modified CD" for GRBMs, which avoids CD's bias towards the data. With
        ``persistent``, where the chains start the first time.
    m_steps : int
        M-step gradient steps per E-step (default 1). The E-step statistics of a mini-batch
        (the data term of ``grad Q(theta; theta_old)``, which does not move with ``theta``
        because ``H`` is linear in the parameters' sufficient statistics) serve ``m_steps``
        ascent steps; the model term is recomputed before each. With shots from a backend this
        spreads one E-step's circuit calls over several parameter updates. ``m_steps = 1`` is
        the usual stochastic gradient of ``L`` (``grad Q = grad L`` at ``theta = theta_old``).
    m_step_start : {"data", "e-step"}
        Where the negative-phase chains of M-steps 2..K start (CD from the data only; M-step 1
        always starts at the data with the E-step's shot). Write ``P_theta(v, h) = <v, h|
        rho(theta)|v, h>`` for the Z-basis diagonal of the model, ``T_theta`` for one sweep of
        the chain of MATH-NOTES (h: a Z-basis shot of ``rho_L(v; theta)``; then v: the
        MH-within-Gibbs update given h), and ``T_theta^v`` for its v half (the MH update
        alone). Both leave ``P_theta`` invariant, from *any* state. ``"data"`` (default): the
        chain starts at ``(v_data, h)`` with ``h ~ P_theta(h | v_data)`` drawn afresh at the
        current ``theta``, then ``T_theta^v T_theta^(cd_k - 1)`` (that is, ``T_theta^cd_k``
        from ``v_data``), then the model statistics at the end: ``1 + cd_k`` backend calls
        (the ``h`` at the data, ``cd_k - 1`` later ``h`` draws, the statistics).
        ``"e-step"``: ``h = h0``, the E-step's own Z-basis shot of the data batch, a draw of
        ``P_theta_old(h | v_data)``, then the same ``T_theta^v T_theta^(cd_k - 1)`` and
        statistics: ``cd_k`` calls (one per M-step at CD-1, against two). Every transition is
        still the exact kernel at the current ``theta``; only CD's starting law differs,
        ``delta(v_data) x P_theta_old(h | v_data)`` instead of ``delta(v_data) x P_theta(h |
        v_data)``, which agree at ``theta = theta_old`` (M-step 1 is the same either way) and
        differ by the change of ``P(h | v_data)`` over at most K - 1 steps. CD-k is biased
        whatever its start, and its bias vanishes as ``cd_k`` grows for either start (the
        kernel is ergodic with stationary law ``P_theta``); starting a chain at a state drawn
        under earlier parameters is what persistent CD does at every step (Tieleman 2008).
        Either way the model term is a CD-k estimate, not the exact gradient; ``"e-step"`` is
        as valid a CD-k variant as ``"data"``.
        Needs a model with one hidden layer (where the E-step is the Petz E-step and gives
        the shot), CD chains from the data (``chain_init="data"``, not ``persistent``),
        ``scheme="mean-field"`` and a sampler that draws the hidden layer by its Z-basis
        measurement (``"exact"``, ``"plain"``).
    clip_norm : float or None
        Rescale each step's gradient (all parameters together) to at most this L2 norm, as
        Liao et al. do (10); None: no clipping.
    sampler : str
        Negative-phase kernel (:data:`qdoem.sampling.SAMPLERS`): ``"exact"`` (Z-basis
        MH-within-Gibbs, the default), ``"plain"`` (the uncorrected chain of the paper, biased
        at Gamma != 0, for comparison), ``"twin-mh"``, ``"heat-bath"``, ``"path-gibbs"`` (block
        Gibbs on the imaginary-time path-integral joint: exact, no MH test).
    backend : str or None
        Circuit backend for the quantum layers' statistics and Z-basis samples
        (:func:`backends.get_backend` names); None is the closed form.
    shots : int or None
        Shots per unit and basis on ``backend``.
    pt_replicas : int
        Parallel tempering for the persistent chains (Desjardins et al. 2010,
        :mod:`qdoem.sampling.tempering`): replicas at ``pt_replicas`` inverse temperatures
        from 1 down to ``pt_beta_min`` (spacing ``pt_ladder``, ``"geometric"`` or
        ``"linear"``), each the model with every parameter times beta, swapped between
        neighbours by the Metropolis rule on the closed-form visible marginals; the negative
        phase comes from the beta = 1 replica. 1 (default): plain persistent chains. Needs
        ``persistent``, ``scheme="mean-field"`` and one hidden layer; costs about
        ``pt_replicas`` times the sweeps.
    pt_beta_min, pt_ladder :
        The hottest replica's inverse temperature, in (0, 1), and the ladder's spacing.
    seed : int
        Every random draw of step ``s`` of epoch ``e`` comes from streams seeded by
        ``(seed, e, s)``: resumed runs repeat uninterrupted ones bit for bit.
    init_visible_from_data : bool
        Set the visible offsets from the data (log-odds) before the first step.
    track_nll : int
        Log the exact training NLL every epoch when ``n_visible`` is at most this (0: never).
    pretrain_epochs : int
        Deep models: epochs of greedy layer-wise pre-training per stage before DO-EM
        (Salakhutdinov & Hinton 2009; :mod:`qdoem.training.pretrain`); 0 (default): none, the
        model starts from its random initialisation.
    pretrain_learning_rate : float or None
        Constant learning rate of the pre-training stages (None: ``learning_rate``).
    compile : bool
        Opt-in fused kernels (``torch.compile``) for the elementwise pieces of every sweep: the
        exact chain's MH move (outcome probabilities, MH weight, kept rows) and each layer's
        draw; matmuls and random draws stay eager (:mod:`qdoem.sampling.fused`). The model's
        constructor argument of that name; equal to the eager chain up to float rounding.
        Needs a C++ compiler (CPU) or Triton (CUDA). Default False (eager).
    """

    epochs: int = 10
    batch_size: int = 100
    learning_rate: float = 0.05
    momentum: float = 0.5
    initial_momentum: float | None = None
    momentum_warmup: int = 5
    weight_decay: float = 1e-4
    lr_schedule: str = "constant"
    lr_final_ratio: float = 0.1
    lr_decay: float = 1e-3
    scheme: str = "mean-field"
    cd_k: int = 1
    neg_average_from: int | None = None
    persistent: bool = False
    chain_init: str = "data"
    m_steps: int = 1
    m_step_start: str = "data"
    clip_norm: float | None = None
    sampler: str = "exact"
    backend: str | None = None
    shots: int | None = 1000
    pt_replicas: int = 1
    pt_beta_min: float = 0.5
    pt_ladder: str = "geometric"
    seed: int = 0
    init_visible_from_data: bool = True
    track_nll: int = 16
    pretrain_epochs: int = 0
    pretrain_learning_rate: float | None = None
    compile: bool = False

    def __post_init__(self) -> None:
        for name in ("epochs", "batch_size", "cd_k", "m_steps"):
            check_int(name, getattr(self, name), 1, error=ConfigError)
        if not _number("learning_rate", self.learning_rate) > 0:
            raise ConfigError(f"learning_rate must be > 0, got {self.learning_rate}")
        if not 0.0 <= _number("momentum", self.momentum) < 1.0:
            raise ConfigError(f"momentum must be in [0, 1), got {self.momentum}")
        if self.initial_momentum is not None and not (
            0.0 <= _number("initial_momentum", self.initial_momentum) < 1.0
        ):
            raise ConfigError(f"initial_momentum must be in [0, 1), got {self.initial_momentum}")
        check_int("momentum_warmup", self.momentum_warmup, error=ConfigError)
        if _number("weight_decay", self.weight_decay) < 0:
            raise ConfigError(f"weight_decay must be >= 0, got {self.weight_decay}")
        _number("lr_final_ratio", self.lr_final_ratio)
        if _number("lr_decay", self.lr_decay) < 0:
            raise ConfigError(f"lr_decay must be >= 0, got {self.lr_decay}")
        if self.neg_average_from is not None:
            j = self.neg_average_from
            if isinstance(j, bool) or not isinstance(j, int) or not 0 <= j < self.cd_k:
                raise ConfigError(
                    f"neg_average_from must be None or an int in [0, cd_k) = [0, {self.cd_k}) "
                    f"(the first sweep averaged), got {j!r}"
                )
            if self.scheme != "mean-field":
                raise ConfigError(
                    f"neg_average_from applies to scheme 'mean-field' (CD/PCD chains), got "
                    f"scheme {self.scheme!r} with neg_average_from {j!r}"
                )
        if self.chain_init not in CHAIN_INITS:
            raise ConfigError(f"chain_init must be one of {CHAIN_INITS}, got {self.chain_init!r}")
        if self.m_step_start not in M_STEP_STARTS:
            raise ConfigError(
                f"m_step_start must be one of {M_STEP_STARTS}, got {self.m_step_start!r}"
            )
        if self.m_step_start == "e-step" and (
            self.persistent
            or self.chain_init != "data"
            or self.scheme != "mean-field"
            or self.sampler not in ("exact", "plain")
        ):
            raise ConfigError(
                "m_step_start 'e-step' restarts CD chains from the data with the E-step's shot; "
                "it needs persistent false, chain_init 'data', scheme 'mean-field' and sampler "
                f"'exact' or 'plain', got persistent {self.persistent!r}, chain_init "
                f"{self.chain_init!r}, scheme {self.scheme!r}, sampler {self.sampler!r}"
            )
        try:
            temperature_ladder(self.pt_replicas, self.pt_beta_min, self.pt_ladder)
        except ValueError as err:
            raise ConfigError(str(err)) from err
        if self.pt_replicas > 1 and (not self.persistent or self.scheme != "mean-field"):
            raise ConfigError(
                f"pt_replicas {self.pt_replicas} tempers persistent chains: it needs persistent "
                f"true and scheme 'mean-field', got persistent {self.persistent!r}, scheme "
                f"{self.scheme!r}"
            )
        if self.pt_replicas > 1 and self.neg_average_from is not None:
            raise ConfigError(
                f"pt_replicas {self.pt_replicas} reads the beta = 1 replicas once per step: "
                f"neg_average_from must be None with it, got {self.neg_average_from!r}"
            )
        if self.clip_norm is not None and not _number("clip_norm", self.clip_norm) > 0:
            raise ConfigError(f"clip_norm must be > 0 or None, got {self.clip_norm}")
        if self.scheme not in SCHEMES:
            raise ConfigError(f"scheme must be one of {SCHEMES}, got {self.scheme!r}")
        if self.lr_schedule not in SCHEDULES:
            raise ConfigError(f"lr_schedule must be one of {SCHEDULES}, got {self.lr_schedule!r}")
        if self.sampler not in SAMPLERS:
            raise ConfigError(f"sampler must be one of {sorted(SAMPLERS)}, got {self.sampler!r}")
        if self.backend is not None and not isinstance(self.backend, str):
            raise ConfigError(f"backend must be a backend name or None, got {self.backend!r}")
        if self.shots is not None and (
            isinstance(self.shots, bool) or not isinstance(self.shots, int) or self.shots < 1
        ):
            raise ConfigError(f"shots must be a positive integer or None, got {self.shots!r}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise ConfigError(f"seed must be a non-negative int, got {self.seed!r}")
        for name in ("persistent", "init_visible_from_data", "compile"):
            if not isinstance(getattr(self, name), bool):
                raise ConfigError(f"{name} must be true or false, got {getattr(self, name)!r}")
        if isinstance(self.track_nll, bool) or not isinstance(self.track_nll, int):
            raise ConfigError(f"track_nll must be an int, got {self.track_nll!r}")
        check_int("pretrain_epochs", self.pretrain_epochs, error=ConfigError)
        if self.pretrain_learning_rate is not None and not (
            _number("pretrain_learning_rate", self.pretrain_learning_rate) > 0
        ):
            raise ConfigError(
                f"pretrain_learning_rate must be > 0 or None, got {self.pretrain_learning_rate}"
            )

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TrainConfig:
        """The settings among ``d``'s keys (other keys are ignored)."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})

    def momentum_at(self, epoch: int) -> float:
        """The momentum of ``epoch`` (0-based)."""
        if self.initial_momentum is not None and epoch < self.momentum_warmup:
            return float(self.initial_momentum)
        return float(self.momentum)

    def lr_at(self, epoch: int, step: int) -> float:
        """The learning rate of global step ``step`` in ``epoch`` (0-based)."""
        return scheduled_lr(
            self.learning_rate,
            epoch,
            self.epochs,
            self.lr_schedule,
            self.lr_final_ratio,
            step,
            self.lr_decay,
        )

    def temperatures(self) -> tuple[float, ...]:
        """The inverse temperatures of the persistent chains' replicas (``(1.0,)``: no PT)."""
        return temperature_ladder(self.pt_replicas, self.pt_beta_min, self.pt_ladder)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
