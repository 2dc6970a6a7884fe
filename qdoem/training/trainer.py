"""One DO-EM trainer for every CQ-LVM.

Each step is one E-step and one M-step gradient step:

1. Positive phase (E-step on the data state): ``latent = model.latent_statistics(v_data)``,
   the conditional latent Gibbs state ``rho_L(v)`` (the Petz recovery of ``eta_V``).
2. Negative phase: CD-k chains started at the data, or PCD chains, alternating Z-basis latent
   samples and visible samples; model statistics are taken in closed form at the chain ends.
3. M-step: ``grad = model.gradient(...)``, the model's sufficient statistics on the data
   minus on the chain ends, then momentum SGD ascent.

The trainer knows nothing about a model's internals (see :mod:`qdoem.training.protocol`).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, fields
from typing import Any

import torch
from torch import Tensor

from qdoem.training.optim import SCHEDULES, SGD, scheduled_lr
from qdoem.training.protocol import CQLVM
from qdoem.training.rundir import RunDir, atomic_torch_save

__all__ = ["TrainConfig", "Trainer"]


@dataclass
class TrainConfig:
    """Optimisation settings. ``track_nll`` logs the exact training NLL when ``n_visible`` is
    at most that value (enumeration is cheap there); 0 disables it."""

    epochs: int = 10
    batch_size: int = 100
    learning_rate: float = 0.05
    momentum: float = 0.5
    weight_decay: float = 1e-4
    lr_schedule: str = "constant"
    lr_final_ratio: float = 0.1
    cd_k: int = 1
    persistent: bool = False
    seed: int = 0
    init_visible_from_data: bool = True
    track_nll: int = 16

    def __post_init__(self) -> None:
        for name in ("epochs", "batch_size", "cd_k"):
            val = getattr(self, name)
            if not isinstance(val, int) or isinstance(val, bool) or val < 1:
                raise ValueError(f"{name} must be a positive int, got {val!r}")
        if not self.learning_rate > 0:
            raise ValueError(f"learning_rate must be > 0, got {self.learning_rate}")
        if self.lr_schedule not in SCHEDULES:
            raise ValueError(f"lr_schedule must be one of {SCHEDULES}, got {self.lr_schedule!r}")

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TrainConfig:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class Trainer:
    """Owns the DO-EM loop, RNG state, optimiser, chains, checkpoints and metrics.

    Parameters
    ----------
    model : CQLVM
        The model; its parameter tensors are updated in place.
    config : TrainConfig
    run_dir : str or Path, optional
        Where to write metrics and checkpoints (nothing is written if omitted).
    """

    def __init__(self, model: CQLVM, config: TrainConfig, run_dir=None) -> None:
        if not isinstance(model, CQLVM):
            raise ValueError(f"{type(model).__name__} does not implement the CQLVM protocol")
        self.model = model
        self.config = config
        self.run = RunDir(run_dir) if run_dir is not None else None
        # Two generators: data order on the CPU, Gibbs samples on the model's device.
        self.data_generator = torch.Generator().manual_seed(config.seed)
        self.generator = torch.Generator(device=model.device).manual_seed(config.seed + 1)
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
        self.chains: Tensor | None = None

    # ------------------------------------------------------------------ one step
    def _negative_phase(self, v_data: Tensor, latent_data: dict[str, Tensor]):
        """Run the chains; return ``(v_model, latent_model, first reconstruction probs)``."""
        model, gen = self.model, self.generator
        if self.config.persistent:
            if self.chains is None:
                # batch_size chains started at data; a short final batch does not reset them
                # (the gradient normalises data and model terms separately).
                rows = torch.arange(self.config.batch_size, device=v_data.device) % v_data.shape[0]
                self.chains = v_data[rows].clone()
            latent = model.latent_statistics(self.chains)
        else:
            latent = latent_data
        recon = None
        for _ in range(self.config.cd_k):
            h = model.sample_latent(latent, gen)
            probs, v = model.sample_visible(h, gen)
            recon = probs if recon is None else recon
            latent = model.latent_statistics(v)
        if self.config.persistent:
            self.chains = v
        return v, latent, recon

    def train_step(self, v_data: Tensor, lr: float) -> dict[str, float]:
        """One E-step + M-step on a minibatch. Returns the reconstruction error."""
        model = self.model
        latent_data = model.latent_statistics(v_data)
        v_model, latent_model, recon = self._negative_phase(v_data, latent_data)
        self.optimizer.step(model.gradient(v_data, latent_data, v_model, latent_model), lr)
        self.step += 1
        # Reconstruction of the *data* batch (the first down-pass): free, and a useful signal.
        if self.config.persistent:
            return {}
        return {"recon_error": float(torch.sub(v_data, recon).pow_(2).mean())}

    # ------------------------------------------------------------------ epochs
    def train_epoch(self, data: Tensor, progress=None) -> dict[str, Any]:
        """One pass over ``data`` in a seeded random order; appends and returns metrics."""
        cfg = self.config
        if self.epoch == 0 and self.step == 0 and cfg.init_visible_from_data:
            self.model.init_from_data(data)
        data = data.to(device=self.model.device, dtype=self.model.dtype)
        lr = scheduled_lr(
            cfg.learning_rate, self.epoch, cfg.epochs, cfg.lr_schedule, cfg.lr_final_ratio
        )
        order = torch.randperm(data.shape[0], generator=self.data_generator).to(data.device)
        start = time.perf_counter()
        recon_sum, n_batches = 0.0, 0
        for lo in range(0, data.shape[0], cfg.batch_size):
            # index_select: the same rows as data[order[...]], ~3x faster on the CPU.
            m = self.train_step(torch.index_select(data, 0, order[lo : lo + cfg.batch_size]), lr)
            recon_sum += m.get("recon_error", 0.0)
            n_batches += 1
            if progress is not None:
                progress.update(1)
                live = {"recon": f"{recon_sum / n_batches:.4f}"} if m else {}
                progress.set_postfix(epoch=self.epoch + 1, **live)
        self.epoch += 1
        record: dict[str, Any] = {
            "epoch": self.epoch,
            "step": self.step,
            "lr": lr,
            "time_s": time.perf_counter() - start,
        }
        if not cfg.persistent:
            record["recon_error"] = recon_sum / max(n_batches, 1)
        gamma = self.model.parameters().get("gamma")
        if gamma is not None:
            record["gamma_mean"] = float(gamma.abs().mean())
        if 0 < self.model.n_visible <= cfg.track_nll and hasattr(self.model, "log_prob"):
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
            Stop after this many epochs in this call, as an interrupted job would.
        on_epoch : callable, optional
            Called as ``on_epoch(trainer, record)`` after each epoch (and its checkpoint).
        """
        if data.ndim != 2 or data.shape[1] != self.model.n_visible:
            raise ValueError(
                f"data must have shape (n_samples, {self.model.n_visible}), got {tuple(data.shape)}"
            )
        if data.shape[0] == 0:
            raise ValueError("data is empty")
        cfg = self.config
        per_epoch = -(-data.shape[0] // cfg.batch_size)
        bar = None
        if progress:
            from tqdm import tqdm

            bar = tqdm(
                total=cfg.epochs * per_epoch,
                initial=self.epoch * per_epoch,
                unit="batch",
                dynamic_ncols=True,
            )
        if self.run is not None:
            self.run.create()
            # Metrics must match the state being continued (drops lines past the checkpoint).
            self.run.write_metrics(self.history)
        done = 0
        try:
            while self.epoch < cfg.epochs and (stop_after is None or done < stop_after):
                record = self.train_epoch(data, bar)
                done += 1
                if self.run is not None:
                    self.run.append_metrics(record)
                    self.save_checkpoint()
                if on_epoch is not None:
                    on_epoch(self, record)
        finally:
            if bar is not None:
                bar.close()
        return self.history

    # ------------------------------------------------------------------ checkpoints
    def state_dict(self) -> dict[str, Any]:
        return {
            "model": self.model.state_dict(),
            "config": self.config.to_dict(),
            "optimizer": self.optimizer.state_dict(),
            "epoch": self.epoch,
            "step": self.step,
            "history": list(self.history),
            "chains": None if self.chains is None else self.chains.cpu(),
            "data_rng": self.data_generator.get_state(),
            "rng": self.generator.get_state(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.epoch = int(state["epoch"])
        self.step = int(state["step"])
        self.history = list(state["history"])
        chains = state["chains"]
        self.chains = None if chains is None else chains.to(self.model.device, self.model.dtype)
        self.data_generator.set_state(state["data_rng"])
        self.generator.set_state(state["rng"])

    def save_checkpoint(self) -> None:
        """Atomically write ``checkpoint.pt`` in the run directory."""
        if self.run is None:
            raise ValueError("this trainer has no run directory")
        atomic_torch_save(self.state_dict(), self.run.checkpoint)
