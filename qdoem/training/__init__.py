"""The DO-EM trainer shared by all CQ-LVMs, its model protocol and its run directory."""

from qdoem.training.experiment import load_run, resolve_config, train
from qdoem.training.optim import SGD, scheduled_lr
from qdoem.training.protocol import CQLVM
from qdoem.training.rundir import RunDir, save_learning_curves, save_sample_grid
from qdoem.training.trainer import TrainConfig, Trainer

__all__ = [
    "CQLVM",
    "RunDir",
    "SGD",
    "TrainConfig",
    "Trainer",
    "load_run",
    "resolve_config",
    "train",
    "save_learning_curves",
    "save_sample_grid",
    "scheduled_lr",
]
