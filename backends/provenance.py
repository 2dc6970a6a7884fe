"""Provenance of a run's quantum statistics: what ran the circuits, with which software.

:func:`run_record` is what a training run directory keeps in ``backend.json`` (next to
``config.json``) and what ``hardware_runs/`` records hold: the backend's own
:meth:`~backends.base.Backend.describe` (name, kind, qubit layout, calibration snapshot, job
ids), the shots, the number of backend calls and retries, and the package versions. Nothing in
it comes from an account: no token, no instance string, no URL.
"""

from __future__ import annotations

import datetime
from importlib import metadata
from typing import Any

__all__ = ["PACKAGES", "package_versions", "run_record"]

#: Distributions whose versions a record names (absent ones are recorded as None).
PACKAGES = (
    "qdoem",
    "qiskit",
    "qiskit-aer",
    "qiskit-ibm-runtime",
    "pennylane",
    "mthree",
    "torch",
    "numpy",
)


def package_versions() -> dict[str, str | None]:
    """Installed version of each of :data:`PACKAGES` (None when not installed)."""
    versions: dict[str, str | None] = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def run_record(estimator: Any, **extra: Any) -> dict[str, Any]:
    """The provenance of a run's estimator, as plain JSON values.

    Parameters
    ----------
    estimator : ClosedFormEstimator or BackendEstimator
        What the trainer used for the quantum statistics.
    **extra
        Added as they are (e.g. ``wall_time_s``, ``mode``).
    """
    backend = getattr(estimator, "backend", None)
    if backend is None:
        record: dict[str, Any] = {
            "name": "closed-form",
            "kind": "closed form",
            "versions": package_versions(),
        }
        shots = None
    else:
        record = backend.describe()
        shots = estimator.shots
    record.update(
        shots=shots,
        backend_calls=getattr(estimator, "calls_", 0),
        retried_calls=getattr(estimator, "retries_", 0),
        units_sent=getattr(estimator, "units_", 0),
        written_at=datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
    )
    record.update(extra)
    return record
