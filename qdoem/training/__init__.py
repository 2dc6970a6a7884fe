"""The DO-EM trainer shared by all CQ-LVMs, its settings, optimiser and run directory.

This package never imports :mod:`qdoem.models`: a model is anything that implements
:class:`CQLVM` (every :class:`qdoem.models.LayeredModel` does).
"""

from qdoem.training.config import TrainConfig
from qdoem.training.optim import SGD, scheduled_lr
from qdoem.training.recipes import RECIPES, recipe
from qdoem.training.rundir import RunDir, save_learning_curves, save_sample_grid
from qdoem.training.trainer import CQLVM, Trainer, stop_on_signals

__all__ = [
    "RECIPES",
    "RunDir",
    "SGD",
    "TrainConfig",
    "CQLVM",
    "Trainer",
    "save_learning_curves",
    "save_sample_grid",
    "recipe",
    "scheduled_lr",
    "stop_on_signals",
]
