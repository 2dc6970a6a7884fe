"""One DO-EM trainer for every CQ-LVM.

Each step is one E-step and one M-step gradient step:

1. Positive phase (E-step on the data state): ``model.positive_phase(v_data, estimator)``, the
   conditional latent Gibbs state ``rho_L(v)`` (the Petz recovery of ``eta_V``) from the
   estimator (closed form, or circuits on a backend).
2. Negative phase: CD-k chains started at the data (or at noise, ``chain_init="noise"``, Liao
   et al.'s "modified CD"), or persistent chains (PCD), advanced by
   ``cd_k`` sweeps of the configured kernel of :mod:`qdoem.sampling` (``"exact"`` by default);
   ``model.negative_phase`` reads the model statistics at the chains' ends, or after every
   sweep from ``neg_average_from`` on, averaged (Liao et al.'s GRBM training). With
   ``pt_replicas > 1`` the persistent chains are the beta = 1 replicas of parallel tempering
   (:mod:`qdoem.sampling.tempering`): every replica sweeps, neighbours swap.
3. M-step: ``model.gradient(pos, neg)``, the sufficient statistics on the data minus on the
   chains (optionally clipped in norm, ``clip_norm``), then momentum SGD ascent. With one
   gradient step per E-step, ``grad Q = grad L``. With ``m_steps = K`` the E-step's statistics
   serve K gradient steps on ``Q(theta; theta_old)``, steps 2-3 repeated at each new theta
   (CD chains restarted at the data, or at the data with the E-step's own Z-basis shot,
   ``m_step_start="e-step"``: see :class:`~qdoem.training.TrainConfig`).

With ``scheme="unbiased"`` (Taniguchi et al. 2023), steps 1 (for models with several hidden
layers) and 2 are the unbiased estimates of :mod:`qdoem.sampling.unbiased`: chains from noise
(or the persistent chains) to a local mode, ``cd_k`` sweeps, and a coupled MH correction.

With ``pretrain_epochs > 0`` a deep model is first initialised by greedy layer-wise
pre-training (:mod:`qdoem.training.pretrain`), whose progress is part of the checkpoints.

The trainer owns the loop, the optimiser, the chains, checkpoints and metrics, and knows
nothing of a model's layers. Every random draw of step ``s`` of epoch ``e`` comes from streams
seeded by ``(seed, e, s)`` (:mod:`qdoem.seeding`), the estimator's included, so a resumed run
repeats the uninterrupted one bit for bit and a checkpoint holds no generator state.

Faults: a NaN or inf in a gradient or a parameter stops training with
:class:`~qdoem.errors.DivergenceError` before it reaches a checkpoint. :meth:`Trainer.request_stop`
(called by :func:`stop_on_signals` on Ctrl-C or SIGTERM) ends training at the next step
boundary with a checkpoint of that step, mid-epoch included, from which a resumed run goes on
bit for bit.

The likelihood never decreases under *exact* DO-EM on a CQ-LVM (:func:`qdoem.theory.do_em`);
this trainer estimates the model term from Markov chains (CD/PCD), so its steps are stochastic
and carry no such guarantee.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any, Protocol, runtime_checkable

import torch
from torch import Tensor

from qdoem._version import __version__
from qdoem.errors import CheckpointError, DivergenceError, TrainingInterrupted
from qdoem.sampling import ChainState, sweep
from qdoem.sampling.tempering import ParallelTempering
from qdoem.sampling.unbiased import unbiased_statistics
from qdoem.seeding import DATA_ORDER, HOST, derive_seed, seeded_generator
from qdoem.training.config import TrainConfig
from qdoem.training.optim import SGD, clip_by_norm, nonfinite
from qdoem.training.rundir import RunDir

__all__ = ["TrainConfig", "Trainer", "CQLVM", "stop_on_signals"]


@runtime_checkable
class CQLVM(Protocol):
    """What :class:`Trainer` needs from a model (see :class:`qdoem.models.LayeredModel`)."""

    n_visible: int
    device: str
    dtype: torch.dtype
    layers: tuple

    def parameters(self) -> dict[str, Tensor]: ...

    def transverse_fields(self) -> dict[str, Tensor]: ...

    def has_closed_form_marginal(self) -> bool: ...

    def trainable(self) -> tuple[str, ...]: ...

    def decayed(self) -> tuple[str, ...]: ...

    def check_data(self, data: Tensor, name: str = "data") -> None: ...

    def init_from_data(self, data: Tensor) -> None: ...

    def positive_phase(self, v: Tensor, estimator=None, generator=None, *, start_chain=True): ...

    def chain_state(self, v: Tensor, generator: torch.Generator) -> ChainState: ...

    def negative_phase(self, state: ChainState, estimator=None): ...

    def gradient(self, pos, neg) -> dict[str, Tensor]: ...

    def state_dict(self) -> dict[str, Any]: ...

    def load_state_dict(self, state: dict[str, Any]) -> None: ...

    def upgrade_names(self, values: dict[str, Tensor], state_format: int) -> dict[str, Tensor]: ...


class Trainer:
    """Owns the DO-EM loop, optimiser, chains, checkpoints and metrics.

    Parameters
    ----------
    model : CQLVM
        The model; its parameter tensors are updated in place.
    config : TrainConfig
    run_dir : str or Path, optional
        Where to write metrics and checkpoints (nothing is written if omitted).
    estimator : optional
        Where the quantum layers' statistics and samples come from; default built from
        ``config.backend``/``config.shots`` (:func:`qdoem.estimators.make_estimator`). Pass one
        to inject a configured backend (a session, a pass manager).
    """

    def __init__(self, model: CQLVM, config: TrainConfig, run_dir=None, estimator=None):
        from qdoem.estimators import BackendEstimator, make_estimator

        if not isinstance(model, CQLVM):
            raise ValueError(f"{type(model).__name__} does not implement the CQLVM protocol")
        if not isinstance(config, TrainConfig):
            raise ValueError(f"config must be a TrainConfig, got {type(config).__name__}")
        if estimator is None:
            estimator = make_estimator(config.backend, config.shots, config.seed)
        measuring = ("exact", "plain", "gibbs-langevin")
        if isinstance(estimator, BackendEstimator) and config.sampler not in measuring:
            raise ValueError(
                f"sampler {config.sampler!r} does not measure the quantum layers; with a circuit "
                f"backend use 'exact' (Z-basis shots in an exact chain), 'gibbs-langevin' or "
                f"'plain'"
            )
        if config.m_step_start == "e-step" and len(model.layers) != 2:
            raise ValueError(
                "m_step_start 'e-step' needs a model with one hidden layer (its E-step gives the "
                f"Z-basis shot the chains start from); this model has {len(model.layers) - 1}"
            )
        if config.pt_replicas > 1 and not model.has_closed_form_marginal():
            raise ValueError(
                f"pt_replicas {config.pt_replicas}: parallel tempering swaps on the closed-form "
                f"visible marginal, which needs one hidden layer; this model has "
                f"{len(model.layers) - 1}"
            )
        self.model = model
        self.config = config
        #: Parallel tempering of the persistent chains (None: plain PCD or CD).
        self.tempering = (
            ParallelTempering(config.temperatures(), config.sampler)
            if config.pt_replicas > 1
            else None
        )
        self.estimator = estimator
        self.run = RunDir(run_dir) if run_dir is not None else None
        self.optimizer = SGD(
            model.parameters(),
            model.trainable(),
            model.decayed(),
            config.momentum,
            config.weight_decay,
        )
        self.epoch = 0
        self.step = 0
        self.history: list[dict[str, Any]] = []
        self.chains: ChainState | None = None
        self._mh_accepted: Tensor | None = None
        self._mh_proposed = 0
        # Unbiased scheme: sums of meeting times, chains, truncated couplings, mode sweeps,
        # estimates.
        self._coupling = dict.fromkeys(("steps", "chains", "truncated", "sweeps", "estimates"), 0)
        # The epoch in progress: its first step and running sums (None between epochs).
        self._partial: dict[str, Any] | None = None
        self._stop: tuple[int | None] | None = None  # (signum,) once a stop is requested
        # Greedy layer-wise pre-training of a deep model (pretrain_epochs > 0), before epoch 1.
        self.pretraining = None
        if config.pretrain_epochs:
            from qdoem.training.pretrain import GreedyPretraining

            self.pretraining = GreedyPretraining(model, config, estimator)

    def request_stop(self, signum: int | None = None) -> None:
        """End :meth:`fit` at the next step boundary, after a checkpoint of that step
        (:class:`~qdoem.errors.TrainingInterrupted` is raised). Safe to call from a signal
        handler."""
        self._stop = (signum,)
        if self.pretraining is not None and not self.pretraining.done:
            self.pretraining.request_stop(signum)

    # ------------------------------------------------------------------ one step
    def train_step(
        self, v_data: Tensor, lr: float, momentum: float | None = None
    ) -> dict[str, float]:
        """One E-step + M-step on a minibatch. Returns the reconstruction error (CD only)."""
        model, cfg = self.model, self.config
        gen = seeded_generator(derive_seed(cfg.seed, self.epoch, self.step, HOST), model.device)
        self.estimator.start_step(self.epoch, self.step)
        if cfg.scheme == "unbiased":
            self._unbiased_step(v_data, lr, momentum, gen)
            return {}
        from_data = not cfg.persistent and cfg.chain_init == "data"
        pos, state = model.positive_phase(v_data, self.estimator, gen, start_chain=from_data)
        averaged = cfg.neg_average_from is not None
        # Model statistics averaged over sweeps: the data term as sufficient statistics, once.
        pos_stats = model.sufficient_statistics(pos) if averaged else None
        # Memory: per-row statistics the gradient only averages (<X>) are not held through the
        # chain; the reduced phase gives the same gradient (LayeredModel.reduce_phase).
        pos = model.reduce_phase(pos)
        recon = None
        e_step_start = None  # (v_data, h0): h0 the E-step's Z-basis shot, for m_step_start
        for m in range(cfg.m_steps):
            # The E-step's statistics ``pos`` stay fixed (theta_old); the model term is
            # recomputed at the current theta before each M-step gradient step.
            clamped: tuple[int, ...] = ()
            if cfg.persistent:
                if self.chains is None:
                    # batch_size chains; a short final batch does not reset them (the gradient
                    # normalises data and model terms separately).
                    start = self._chain_start(v_data, cfg.batch_size, gen)
                    self.chains = model.chain_state(start, gen)
                state = self.chains
                state.forget_caches()  # the parameters changed since the last step
                if self.tempering is not None and self.tempering.states_ is None:
                    self.tempering.start(state)  # hotter replicas from copies of the chains
            elif m > 0 and e_step_start is not None:
                # At (v_data, h0), h0 ~ P_theta_old(h | v_data): the first sweep is the v half
                # only (MH-within-Gibbs at theta, leaving P_theta invariant), no new shot.
                state, clamped = ChainState(list(e_step_start)), (1,)
            elif m > 0 or not from_data:
                state = model.chain_state(self._chain_start(v_data, v_data.shape[0], gen), gen)
            if self.tempering is not None:  # every replica sweeps cd_k times, then swaps
                state = self.tempering.advance(model, self.estimator, gen, cfg.cd_k)
            neg_sum, n_avg = None, 0
            for k in range(0 if self.tempering is not None else cfg.cd_k):
                sweep(model, state, cfg.sampler, self.estimator, gen, clamped if k == 0 else ())
                if averaged and k >= cfg.neg_average_from:
                    # S(sweep k), summed: the mean over sweeps of E_rows[d(-H)/dtheta] is that
                    # of all the sweeps' rows together (Liao et al. concatenate them).
                    s_k = model.sufficient_statistics(model.negative_phase(state, self.estimator))
                    neg_sum = s_k if neg_sum is None else {n: neg_sum[n].add_(s_k[n]) for n in s_k}
                    n_avg += 1
                    del s_k
                if m == 0 and k == 0 and from_data and 0 in state.stats:
                    recon = state.stats[0]["mean"]  # the first down-pass from the data batch
                if m == 0 and k == 0 and cfg.m_step_start == "e-step" and cfg.m_steps > 1:
                    # The sweep drew the hidden layer first: the E-step's shot (pending in the
                    # E-step's statistics), or on the host from them (closed form).
                    e_step_start = (v_data, state.values[1].clone())
            if averaged:
                grads = {n: pos_stats[n] - neg_sum[n] / n_avg for n in pos_stats}
                del neg_sum
            else:
                neg = model.reduce_phase(model.negative_phase(state, self.estimator))
                grads = model.gradient(pos, neg)
                del neg
            # The chain's cached fields and statistics are not needed past this point (a
            # persistent chain drops them at its next step anyway): not held in the M-step.
            state.forget_caches()
            self._ascend(grads, lr, momentum)
            del grads
            self._count_mh(state)
        self.step += 1
        if recon is None:
            return {}
        return {"recon_error": float(torch.sub(v_data, recon).pow_(2).mean())}

    def _ascend(self, grads: dict[str, Tensor], lr: float, momentum: float | None) -> None:
        """The M-step's SGD step (the gradient clipped to ``clip_norm``), refused when a gradient
        or a new parameter is not finite."""
        trainable = self.optimizer.trainable
        bad, what = nonfinite({name: grads[name] for name in trainable}), "gradient"
        if not bad:
            self.optimizer.step(clip_by_norm(grads, self.config.clip_norm), lr, momentum)
            params = self.model.parameters()
            bad, what = nonfinite({name: params[name] for name in trainable}), "parameter"
        if bad:
            entries = ", ".join(f"{k} ({n} NaN/inf)" for k, n in bad.items())
            kept = f"; {self.run.checkpoint} is kept" if self.run is not None else ""
            raise DivergenceError(
                f"training diverged at epoch {self.epoch + 1}, step {self.step}: non-finite "
                f"{what} {entries} at learning rate {lr:g}; the run stopped before saving it"
                f"{kept}; lower learning_rate and start again"
            )

    def _count_mh(self, state: ChainState) -> None:
        if state.mh_proposed:
            n = state.mh_accepted
            self._mh_accepted = n if self._mh_accepted is None else self._mh_accepted + n
            self._mh_proposed += state.mh_proposed
            state.mh_accepted, state.mh_proposed = None, 0

    def _chain_start(self, v_data: Tensor, n: int, gen: torch.Generator) -> Tensor:
        """Visible values for ``n`` new chains: data rows (cycled) or noise (``chain_init``)."""
        if self.config.chain_init == "noise":
            return self._noise(n, 0, gen)
        rows = torch.arange(n, device=v_data.device) % v_data.shape[0]
        return v_data[rows].clone()

    def _noise(self, n: int, k: int, gen: torch.Generator) -> Tensor:
        model = self.model
        return model.layers[k].noise(n, gen, model.device, model.dtype)

    def _unbiased_step(self, v_data: Tensor, lr: float, momentum, gen: torch.Generator) -> None:
        """One step of the unbiased scheme (see :mod:`qdoem.sampling.unbiased`)."""
        model, cfg = self.model, self.config
        options = {
            "sampler": cfg.sampler,
            "estimator": self.estimator,
            "gibbs_steps": cfg.cd_k,
        }
        data_correction = None
        if len(model.layers) == 2:  # the E-step is closed form: nothing to estimate
            pos, _ = model.positive_phase(v_data, self.estimator, gen, start_chain=False)
            pos = model.reduce_phase(pos)
        else:
            start = [v_data] + [
                self._noise(v_data.shape[0], k, gen) for k in range(1, len(model.layers))
            ]
            data_estimate = unbiased_statistics(
                model, start, gen, clamped=frozenset({0}), **options
            )
            pos = model.reduce_phase(data_estimate.phase)  # <X> not held per row (train_step)
            self._tally(data_estimate)
            data_correction = data_estimate.correction
            del data_estimate  # its chain state and per-row phase are not needed any more
        for _ in range(cfg.m_steps):  # the data term is kept, the model term recomputed
            if cfg.persistent and self.chains is not None:
                start = list(self.chains.values)
            else:
                start = [self._noise(cfg.batch_size, k, gen) for k in range(len(model.layers))]
            neg = unbiased_statistics(model, start, gen, **options)
            if cfg.persistent:
                self.chains = neg.state
            self._tally(neg)
            grads = model.gradient(pos, model.reduce_phase(neg.phase))
            for correction, sign in ((data_correction, 1.0), (neg.correction, -1.0)):
                if correction is not None:
                    for name, value in correction.items():
                        grads[name] = grads[name] + sign * value
            self._ascend(grads, lr, momentum)
            del neg  # not held through the next M-step's chain
        self.step += 1

    def _tally(self, est) -> None:
        """Count an unbiased estimate's MH moves and coupling statistics for the metrics."""
        self._count_mh(est.state)
        tally = self._coupling
        tally["steps"] += int(est.meeting_steps.sum())
        tally["chains"] += est.meeting_steps.numel()
        tally["truncated"] += est.truncated
        tally["sweeps"] += est.mode_sweeps
        tally["estimates"] += 1

    # ------------------------------------------------------------------ epochs
    def train_epoch(self, data: Tensor, progress=None) -> dict[str, Any]:
        """One pass over ``data`` in an order seeded by ``(seed, epoch)``; appends metrics."""
        cfg = self.config
        if data.ndim != 2 or data.shape[1] != self.model.n_visible or data.shape[0] == 0:
            # Values were checked by fit() or the model's input conversion; not redone per epoch.
            self.model.check_data(data)
        if (
            self.epoch == 0
            and self.step == 0
            and cfg.init_visible_from_data
            and self.pretraining is None  # else the bottom stage's visible offsets are kept
        ):
            self.model.init_from_data(data)
        data = data.to(device=self.model.device, dtype=self.model.dtype)
        if self._partial is None:
            self._partial = {"start_step": self.step, "recon_sum": 0.0, "n_recon": 0, "time_s": 0.0}
        part = self._partial  # continued when a checkpoint was written mid-epoch
        first_lr = cfg.lr_at(self.epoch, part["start_step"])
        momentum = cfg.momentum_at(self.epoch)
        order_gen = seeded_generator(derive_seed(cfg.seed, self.epoch, DATA_ORDER))
        order = torch.randperm(data.shape[0], generator=order_gen).to(data.device)
        start = time.perf_counter()
        first = (self.step - part["start_step"]) * cfg.batch_size
        for lo in range(first, data.shape[0], cfg.batch_size):
            if self._stop is not None:
                part["time_s"] += time.perf_counter() - start
                (signum,), self._stop = self._stop, None
                where = f"epoch {self.epoch + 1}, step {self.step}"
                raise TrainingInterrupted(f"training stopped at {where}", signum)
            # index_select: the same rows as data[order[...]], ~3x faster on the CPU.
            batch = torch.index_select(data, 0, order[lo : lo + cfg.batch_size])
            m = self.train_step(batch, cfg.lr_at(self.epoch, self.step), momentum)
            if m:
                part["recon_sum"] += m["recon_error"]
                part["n_recon"] += 1
            if progress is not None:
                progress.update(1)
                n_recon = part["n_recon"]
                live = {"recon": f"{part['recon_sum'] / n_recon:.4f}"} if n_recon else {}
                progress.set_postfix(epoch=self.epoch + 1, **live)
        self.epoch += 1
        self._partial = None
        record: dict[str, Any] = {
            "epoch": self.epoch,
            "step": self.step,
            "lr": first_lr,
            "momentum": momentum,
            "time_s": part["time_s"] + time.perf_counter() - start,
        }
        if part["n_recon"]:
            record["recon_error"] = part["recon_sum"] / part["n_recon"]
        gammas = self.model.transverse_fields()
        if gammas:
            record["gamma_mean"] = float(torch.cat(list(gammas.values())).abs().mean())
        if self._mh_proposed:
            record["accept_rate"] = float(self._mh_accepted) / self._mh_proposed
            self._mh_accepted, self._mh_proposed = None, 0
        if self.tempering is not None:
            record.update(self.tempering.take_rates())
        tally = self._coupling
        if tally["chains"]:
            record["coupling_steps"] = tally["steps"] / tally["chains"]
            record["coupling_truncated"] = tally["truncated"]
            record["mode_sweeps"] = tally["sweeps"] / tally["estimates"]
            self._coupling = dict.fromkeys(tally, 0)
        calls = getattr(self.estimator, "calls_", None)
        if calls is not None:
            record["backend_calls"] = calls
        if (
            0 < self.model.n_visible <= cfg.track_nll
            and self.model.has_closed_form_marginal()
            and self.model.layers[0].binary
        ):
            record["train_nll"] = -float(self.model.log_prob(data.cpu(), method="exact").mean())
        self.history.append(record)
        return record

    def fit(
        self, data: Tensor, *, progress: bool = False, stop_after: int | None = None, on_epoch=None
    ) -> list[dict[str, Any]]:
        """Train until ``config.epochs`` epochs are done (continuing from ``self.epoch``).

        Parameters
        ----------
        data : Tensor
            Training set ``(n_samples, n_visible)``.
        progress : bool
            Show a tqdm bar with live metrics.
        stop_after : int, optional
            Stop after this many epochs in this call, as an interrupted job would (greedy
            pre-training epochs, ``config.pretrain_epochs`` per stage, count too).
        on_epoch : callable, optional
            Called as ``on_epoch(trainer, record)`` after each epoch (and its checkpoint).

        Raises
        ------
        DivergenceError
            A gradient or parameter became NaN or inf (nothing of that step is saved).
        TrainingInterrupted
            :meth:`request_stop` was called; a checkpoint of the last finished step was
            written first (with a run directory).
        """
        self.model.check_data(data)
        cfg = self.config
        per_epoch = -(-data.shape[0] // cfg.batch_size)
        bar = None
        if progress:
            from tqdm import tqdm

            in_epoch = self.step - self._partial["start_step"] if self._partial else 0
            bar = tqdm(
                total=cfg.epochs * per_epoch,
                initial=self.epoch * per_epoch + in_epoch,
                unit="batch",
                dynamic_ncols=True,
            )
        if self.run is not None:
            self.run.create()
            # Metrics must match the state being continued (drops lines past the checkpoint).
            self.run.write_metrics(self.history)
        done = 0
        try:
            if self.pretraining is not None and not self.pretraining.done:
                done += self.pretraining.run(
                    data.to(device=self.model.device, dtype=self.model.dtype),
                    stop_after=stop_after,
                    on_epoch=self._pretraining_epoch,
                )
            while self.epoch < cfg.epochs and (stop_after is None or done < stop_after):
                record = self.train_epoch(data, bar)
                done += 1
                if self.run is not None:
                    self.run.append_metrics(record)
                    self.save_checkpoint()
                if on_epoch is not None:
                    on_epoch(self, record)
        except TrainingInterrupted:
            if self.run is not None:
                self.save_checkpoint()  # a step boundary: resumes exactly
            raise
        finally:
            if bar is not None:
                bar.close()
        return self.history

    def _pretraining_epoch(self) -> None:
        """After each pre-training epoch: a checkpoint (it holds the pre-training's state) and
        ``pretrain.json`` (its records) in the run directory."""
        if self.run is not None:
            import json

            from qdoem.io import atomic_write_text

            self.save_checkpoint()
            records = {"done": self.pretraining.done, "history": self.pretraining.history}
            atomic_write_text(self.run.path / "pretrain.json", json.dumps(records, indent=1))

    # ------------------------------------------------------------------ checkpoints
    def state_dict(self) -> dict[str, Any]:
        chains = None
        if self.chains is not None:
            chains = [None if v is None else v.cpu() for v in self.chains.values]
        partial = None
        if self._partial is not None:  # stopped mid-epoch: the epoch's running sums
            accepted = self._mh_accepted
            partial = {
                **self._partial,
                "mh_accepted": None if accepted is None else accepted.cpu(),
                "mh_proposed": self._mh_proposed,
                "coupling": dict(self._coupling),
            }
        return {
            "model": self.model.state_dict(),
            "config": self.config.to_dict(),
            "optimizer": self.optimizer.state_dict(),
            "epoch": self.epoch,
            "step": self.step,
            "history": list(self.history),
            "chains": chains,
            "partial_epoch": partial,
            "pretraining": None if self.pretraining is None else self.pretraining.state_dict(),
            "tempering": None if self.tempering is None else self.tempering.state_dict(),
            "qdoem_version": __version__,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.model.load_state_dict(state["model"])
        fmt = state["model"].get("format", 1)  # 1: qdoem 0.1, whose names were different
        self.optimizer.load_state_dict(self.model.upgrade_names(dict(state["optimizer"]), fmt))
        self.epoch = int(state["epoch"])
        self.step = int(state["step"])
        self.history = list(state["history"])
        chains = state["chains"]
        if chains is None:
            self.chains = None
        else:
            if isinstance(chains, Tensor):  # qdoem 0.1 kept the visible chains only
                chains = [chains] + [None] * (len(self.model.layers) - 1)
            device, dtype = self.model.device, self.model.dtype
            self.chains = ChainState([None if v is None else v.to(device, dtype) for v in chains])
        if self.pretraining is not None:
            if state.get("pretraining") is not None:
                self.pretraining.load_state_dict(state["pretraining"])
            elif self.epoch or self.step:
                raise ValueError(
                    f"pretrain_epochs {self.config.pretrain_epochs}: this checkpoint is at epoch "
                    f"{self.epoch}, step {self.step} of a run without pre-training, which cannot "
                    f"be added once DO-EM has started"
                )
        if self.tempering is not None:
            saved = state.get("tempering")  # None: a run without PT, whose chains start it
            if saved is None:
                self.tempering.reset()
            else:
                device, dtype = self.model.device, self.model.dtype
                self.tempering.load_state_dict(saved, self.chains, device, dtype)
        partial = state.get("partial_epoch")  # absent before qdoem 0.2: epoch boundaries only
        self._partial, self._mh_accepted, self._mh_proposed = None, None, 0
        if partial is not None:
            partial = dict(partial)
            accepted = partial.pop("mh_accepted")
            self._mh_accepted = None if accepted is None else accepted.to(self.model.device)
            self._mh_proposed = partial.pop("mh_proposed")
            self._coupling = partial.pop("coupling")
            self._partial = partial

    def save_checkpoint(self) -> None:
        """Atomically write ``checkpoint.pt`` in the run directory, keeping the one it
        replaces as ``checkpoint.prev.pt`` (see :meth:`RunDir.write_checkpoint`)."""
        if self.run is None:
            raise ValueError("this trainer has no run directory")
        self.run.write_checkpoint(self.state_dict())

    def load_checkpoint(self, state: dict[str, Any], path) -> None:
        """:meth:`load_state_dict`, with a mismatch reported as a
        :class:`~qdoem.errors.CheckpointError` naming ``path``."""
        try:
            self.load_state_dict(state)
        except (ValueError, KeyError, TypeError, AttributeError) as err:
            raise CheckpointError(
                f"checkpoint {path} does not fit this run ({self.model!r}): {err}"
            ) from err


@contextlib.contextmanager
def stop_on_signals(trainer: Trainer) -> Iterator[None]:
    """While inside, the first Ctrl-C (SIGINT) or SIGTERM asks ``trainer`` to stop at the next
    step boundary (:meth:`Trainer.request_stop`); a second one acts as usual (Ctrl-C raises
    ``KeyboardInterrupt``, SIGTERM ends the process; the last checkpoint is intact either way).
    Does nothing outside the main thread, where signals cannot be handled."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    names = ("SIGINT", "SIGTERM")
    signums = [getattr(signal, n) for n in names if hasattr(signal, n)]
    previous = {s: signal.getsignal(s) for s in signums}

    def handler(signum, frame):
        for s, h in previous.items():  # a second signal gets the usual treatment
            signal.signal(s, h)
        print(
            f"\n{signal.Signals(signum).name}: stopping after this step (again to abort)",
            file=sys.stderr,
        )
        trainer.request_stop(signum)

    for s in signums:
        signal.signal(s, handler)
    try:
        yield
    finally:
        for s, h in previous.items():
            signal.signal(s, h)
