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


def now() -> str:
    """The time now, UTC, to the second (ISO 8601)."""
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")


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


def run_record(
    estimator: Any, previous: dict[str, Any] | None = None, **invocation: Any
) -> dict[str, Any]:
    """The provenance of a run's estimator, as plain JSON values.

    Parameters
    ----------
    estimator : ClosedFormEstimator or BackendEstimator
        What the trainer used for the quantum statistics.
    previous : dict, optional
        The record of the run's earlier invocations (``backend.json`` before a resume): its
        ``invocations`` are kept and this one appended.
    **invocation
        About this invocation (``started``, ``wall_time_s``, ``outcome``, ``resumed_from``).

    Returns
    -------
    dict
        The backend's :meth:`~backends.base.Backend.describe` (``kind`` ``"closed form"`` when
        there is no backend), ``shots``, and ``invocations``: one entry per ``qdoem train`` /
        ``qdoem submit`` call with its backend calls, retried calls, units sent and job ids.
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
    job_ids = record.pop("job_ids", [])
    this = {
        **invocation,
        "backend_calls": getattr(estimator, "calls_", 0),
        "retried_calls": getattr(estimator, "retries_", 0),
        "units_sent": getattr(estimator, "units_", 0),
        "job_ids": job_ids,
        "written_at": now(),
    }
    earlier = list((previous or {}).get("invocations", []))
    record.update(shots=shots, invocations=[*earlier, this])
    return record
