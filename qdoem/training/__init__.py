"""The DO-EM trainer shared by all CQ-LVMs, its settings, optimiser and run directory.

This package never imports :mod:`qdoem.models`: a model is anything that implements
:class:`CQLVM` (every :class:`qdoem.models.LayeredModel` does).

Names load on first use (PEP 562), so that a light submodule such as
:mod:`qdoem.training.recipes` (read by ``qdoem train --help``) does not import torch.
"""

from __future__ import annotations

import importlib
from typing import Any

# public name -> submodule that defines it
_HOMES = {
    "RECIPES": "recipes",
    "recipe": "recipes",
    "TrainConfig": "config",
    "SGD": "optim",
    "scheduled_lr": "optim",
    "RunDir": "rundir",
    "save_learning_curves": "rundir",
    "save_sample_grid": "rundir",
    "CQLVM": "trainer",
    "Trainer": "trainer",
    "stop_on_signals": "trainer",
}

__all__ = sorted(_HOMES)


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_HOMES[name]}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_HOMES))
