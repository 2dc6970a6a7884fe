"""Backends that run quantum latent units: one contract, several implementations.

Choose one by name with :func:`get_backend`:

============================  ===========================================================
``exact``                     closed forms (ideal Bernoulli shot noise when shots given)
``aer``                       Aer statevector, packed circuits
``aer-density``               Aer density matrix, packed circuits
``aer-noisy:<fake>``          Aer density matrix with a fake IBM device's noise model
                              and target, e.g. ``aer-noisy:manila`` (needs ``qdoem[ibm]``)
``pennylane:<device>``        a PennyLane device, e.g. ``pennylane:default.mixed``,
                              ``pennylane:lightning.qubit``
``ibm:<backend>``             qiskit-ibm-runtime sampler; ``ibm:fake_manila`` runs offline
                              (needs ``qdoem[ibm]``); qubits from calibration data, optional
                              mthree readout mitigation (``mitigation="mthree"``)
============================  ===========================================================

Every backend answers :meth:`Backend.execute(c, gamma, shots, observables=..., return_samples=...)
<backends.base.Backend.execute>` for a whole batch at once; see :mod:`backends.base`.
"""

from __future__ import annotations

import importlib
from typing import Any

from backends.base import OBSERVABLES, Backend, BatchResult

__all__ = ["OBSERVABLES", "Backend", "BatchResult", "available_backends", "get_backend"]

#: Backend names (a ``:`` suffix takes an argument) and what they are.
BACKENDS: dict[str, str] = {
    "exact": "closed forms; shots give ideal Bernoulli noise",
    "aer": "Qiskit Aer statevector, packed circuits",
    "aer-density": "Qiskit Aer density matrix, packed circuits",
    "aer-noisy:<fake>": "Aer density matrix + noise model and target of a fake IBM device",
    "pennylane:<device>": "PennyLane device, e.g. default.mixed, lightning.qubit",
    "ibm:<backend>": "qiskit-ibm-runtime sampler; fake_* devices run offline; "
    "mthree readout mitigation",
}


#: Optional packages the backends import, and how to install each.
INSTALL_HINTS: dict[str, str] = {
    "qiskit": "pip install qiskit",
    "qiskit_aer": "pip install qiskit-aer",
    "pennylane": "pip install pennylane",
    "qiskit_ibm_runtime": 'pip install "qdoem[ibm]"',
}


def available_backends() -> dict[str, str]:
    """Backend name patterns and one-line descriptions."""
    return dict(BACKENDS)


def get_backend(name: str, **options: Any) -> Backend:
    """Build a backend from its name.

    Parameters
    ----------
    name : str
        One of the patterns in :data:`BACKENDS`, e.g. ``"aer"``, ``"aer-noisy:manila"``,
        ``"pennylane:default.mixed"``, ``"ibm:fake_manila"``.
    **options
        Passed to the backend's constructor (``seed``, ``units_per_circuit``,
        ``pass_manager``; for IBM ``mode``, ``layout``, ``mitigation``, ``job_timeout_s``, ...).

    Raises
    ------
    ValueError
        For an unknown name or a missing argument after ``:``.
    ImportError
        When an optional dependency is missing; the message has the install command.
    """
    if not isinstance(name, str):
        raise ValueError(f"backend name must be a string, got {name!r}")
    try:
        return _build(name, options)
    except ModuleNotFoundError as err:  # an optional package the backend needs is missing
        package = (err.name or "").split(".")[0]
        if package not in INSTALL_HINTS:
            raise
        raise ImportError(
            f"backend {name!r} needs {package}, which is not installed; install it with: "
            f"{INSTALL_HINTS[package]}"
        ) from err


def _build(name: str, options: dict[str, Any]) -> Backend:
    kind, _, arg = name.partition(":")
    needs_arg = {"aer-noisy", "pennylane", "ibm"}
    if kind in needs_arg and not arg:
        raise ValueError(
            f"backend {kind!r} needs an argument: {kind}:<...> (see available_backends())"
        )
    if kind not in needs_arg and arg:
        raise ValueError(f"backend {kind!r} takes no ':' argument, got {name!r}")
    if kind == "exact":
        return importlib.import_module("backends.exact").ExactBackend(**options)
    if kind in ("aer", "aer-density"):
        method = "statevector" if kind == "aer" else "density_matrix"
        return importlib.import_module("backends.aer").AerBackend(method, **options)
    if kind == "aer-noisy":
        fake = importlib.import_module("backends.ibm").fake_backend(arg)
        backend = importlib.import_module("backends.aer").AerBackend(
            "density_matrix", fake_backend=fake, **options
        )
        backend.name = name
        return backend
    if kind == "pennylane":
        return importlib.import_module("backends.pennylane").PennyLaneBackend(arg, **options)
    if kind == "ibm":
        return importlib.import_module("backends.ibm").IBMBackend(arg, **options)
    known = ", ".join(BACKENDS)
    raise ValueError(f"unknown backend {name!r}; known: {known}")
