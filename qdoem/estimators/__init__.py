"""Where a quantum layer's statistics and Z-basis samples come from.

An estimator answers three calls for one quantum layer at a time (``field`` is the layer's
``(batch, size)`` field, ``params`` its parameters):

- ``statistics(layer, field, params, with_sample=False)``: ``{"mean": <n>, "x": <X>}``, plus,
  with ``with_sample``, one pending Z-basis sample ``"z"`` from the same measurements;
- ``sample(layer, field, params, stats, generator)``: Z-basis values of every unit (the pending
  ``"z"`` of ``stats`` when there is one, so a step that needs statistics and a sample makes one
  call); the closed form draws from ``generator``, the caller's step stream;
- ``start_step(epoch, step)``: reseed its own random stream (a backend's) from
  ``(seed, epoch, step)``, so that a resumed run draws exactly what the uninterrupted run drew.

:class:`ClosedFormEstimator` (the default) uses the 1-qubit closed forms;
:class:`BackendEstimator` runs Gibbs-state preparation circuits on a backend of
:mod:`backends`, one call per layer per step. Classical layers never go through an estimator.
Chosen by configuration (``TrainConfig.backend``), never by mutating a model.
"""

from qdoem.estimators.backend import BackendEstimator
from qdoem.estimators.closed_form import ClosedFormEstimator, make_estimator

__all__ = ["BackendEstimator", "ClosedFormEstimator", "make_estimator"]
