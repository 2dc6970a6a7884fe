"""Greedy layer-wise pre-training of deep models (Salakhutdinov & Hinton 2009, 2012).

Before DO-EM, a deep model (QiDBM, DBM) can be initialised from a stack of one-hidden-layer
models trained bottom-up: stage ``l`` is trained by this package's :class:`~qdoem.training.Trainer`
on the data passed up through stages ``0 .. l-1``, then the deep model is composed from the
stages. Which stages, how the input is doubled and how the deep model is composed belong to the
model (:meth:`qdoem.models.QiDBM.pretraining_stages`, ``propagate``, ``init_from_stages``;
MATH-NOTES "QiDBM"): a quantum layer is pre-trained as the hidden layer of a QRBM stage,
Gamma included, with the same kernels and estimators as a QRBM.

Each stage trains ``pretrain_epochs`` epochs with the deep model's settings except: the
``"mean-field"`` scheme (one hidden layer: the closed-form Petz E-step), CD-``cd_k`` chains from
the data, a constant learning rate ``pretrain_learning_rate`` (default ``learning_rate``), no
exact-NLL tracking, and every random draw from streams seeded by ``(seed, PRETRAIN, stage)``
(:mod:`qdoem.seeding`). So pre-training is resumable bit for bit like the rest: its state (the
finished stages' parameters, the stage in progress with its trainer's state, mid-epoch
included) is part of the deep model's checkpoint, and a finished pre-training is never redone.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from torch import Tensor

from qdoem.seeding import PRETRAIN, derive_seed
from qdoem.training.config import TrainConfig

__all__ = ["GreedyPretraining"]

#: Stream key (after ``PRETRAIN, stage``) of the draws that pass a stage's data up.
_PROPAGATE = 1


class GreedyPretraining:
    """The greedy pre-training of one deep model: its stages, their trainers and progress.

    Parameters
    ----------
    model : deep model
        Has ``pretraining_stages()``, ``propagate(stage, x, seed)`` and
        ``init_from_stages(stages)`` (:class:`qdoem.models.QiDBM`, :class:`qdoem.models.DBM`).
    config : TrainConfig
        The deep model's settings (``pretrain_epochs > 0``).
    estimator : optional
        The quantum layers' estimator, shared with the deep model's trainer.
    """

    def __init__(self, model, config: TrainConfig, estimator=None) -> None:
        if not hasattr(model, "pretraining_stages"):
            raise ValueError(
                f"pretrain_epochs applies to deep models (qidbm, dbm); {type(model).__name__} "
                f"has no greedy stack (got pretrain_epochs {config.pretrain_epochs})"
            )
        self.model = model
        self.config = config
        self.estimator = estimator
        self.stages = model.pretraining_stages()
        self.stage = 0  # the stage in progress (len(stages) once done)
        self.done = False
        self.history: list[dict[str, Any]] = []
        self._trainer = None  # the trainer of the stage in progress
        self._stop: tuple[int | None] | None = None

    def stage_config(self, stage: int) -> TrainConfig:
        """The :class:`TrainConfig` of stage ``stage`` (see the module notes)."""
        cfg = self.config
        return replace(
            cfg,
            epochs=cfg.pretrain_epochs,
            learning_rate=cfg.pretrain_learning_rate or cfg.learning_rate,
            lr_schedule="constant",
            scheme="mean-field",
            persistent=False,
            chain_init="data",
            m_steps=1,
            m_step_start="data",
            seed=derive_seed(cfg.seed, PRETRAIN, stage),
            track_nll=0,
            pretrain_epochs=0,
            pretrain_learning_rate=None,
        )

    def request_stop(self, signum: int | None = None) -> None:
        """Stop at the next step boundary of the stage in progress (see
        :meth:`Trainer.request_stop`)."""
        if self._trainer is not None:
            self._trainer.request_stop(signum)
        else:
            self._stop = (signum,)

    def _stage_data(self, data: Tensor, stage: int) -> Tensor:
        """``data`` passed up through the finished stages below ``stage`` (seeded draws)."""
        x = data
        for k in range(stage):
            seed = derive_seed(self.config.seed, PRETRAIN, k, _PROPAGATE)
            x = self.model.propagate(self.stages[k], x, seed)
        return x

    def _new_trainer(self, stage: int):
        from qdoem.training.trainer import Trainer

        return Trainer(self.stages[stage], self.stage_config(stage), estimator=self.estimator)

    def run(self, data: Tensor, *, stop_after: int | None = None, on_epoch=None) -> int:
        """Train the stages from where they are; compose the model when the last is done.

        ``stop_after``: at most this many stage epochs in this call. ``on_epoch()`` is called
        after every stage epoch (and after the model is composed). Returns the epochs run.
        Raises :class:`~qdoem.errors.TrainingInterrupted` after :meth:`request_stop`.
        """
        from qdoem.errors import TrainingInterrupted

        done = 0
        while not self.done and (stop_after is None or done < stop_after):
            if self._stop is not None:
                (signum,), self._stop = self._stop, None
                raise TrainingInterrupted(f"pre-training stopped at stage {self.stage + 1}", signum)
            x = self._stage_data(data, self.stage)
            if self._trainer is None:
                self._trainer = self._new_trainer(self.stage)
            trainer = self._trainer
            copies = self.stages[self.stage].copies[0]
            x = x.repeat(1, copies) if copies > 1 else x  # every lower copy clamped to the data
            while trainer.epoch < trainer.config.epochs and (
                stop_after is None or done < stop_after
            ):
                record = trainer.train_epoch(x)
                self.history.append({"stage": self.stage + 1, **record})
                done += 1
                if trainer.epoch >= trainer.config.epochs:
                    self._finish_stage()
                if on_epoch is not None:
                    on_epoch()
                if self.done or trainer is not self._trainer:
                    break
        return done

    def _finish_stage(self) -> None:
        self.stage += 1
        self._trainer = None
        if self.stage == len(self.stages):
            self.model.init_from_stages(self.stages)
            self.done = True
            self.stages = []  # composed: not kept any more

    # ------------------------------------------------------------------ checkpoints
    def state_dict(self) -> dict[str, Any]:
        return {
            "stage": self.stage,
            "done": self.done,
            "history": list(self.history),
            "stages": [stage.state_dict() for stage in self.stages[: self.stage]],
            "trainer": None if self._trainer is None else self._trainer.state_dict(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.stage = int(state["stage"])
        self.done = bool(state["done"])
        self.history = list(state["history"])
        if self.done:
            self.stages, self._trainer = [], None
            return
        self.stages = self.model.pretraining_stages()
        for stage, saved in zip(self.stages, state["stages"], strict=False):
            stage.load_state_dict(saved)
        self._trainer = None
        if state["trainer"] is not None:
            self._trainer = self._new_trainer(self.stage)
            self._trainer.load_state_dict(state["trainer"])
