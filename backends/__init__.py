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

__all__ = [
    "OBSERVABLES",
    "Backend",
    "BatchResult",
    "available_backends",
    "check_backend_options",
    "get_backend",
]

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


#: The class each backend kind builds: ``(module, class)``.
_CLASSES: dict[str, tuple[str, str]] = {
    "exact": ("backends.exact", "ExactBackend"),
    "aer": ("backends.aer", "AerBackend"),
    "aer-density": ("backends.aer", "AerBackend"),
    "aer-noisy": ("backends.aer", "AerBackend"),
    "pennylane": ("backends.pennylane", "PennyLaneBackend"),
    "ibm": ("backends.ibm", "IBMBackend"),
}

#: Constructor arguments that are not options of a config file or ``--backend-option``: the
#: name sets them (``method``, ``fake_backend``, the device), the run sets them (``seed``, from
#: the run's seed; ``mode``, from ``qdoem submit --mode``), or they are Python objects.
_NOT_OPTIONS = frozenset(
    ("self", "method", "device", "backend", "seed", "mode")
    + ("noise_model", "fake_backend", "pass_manager")
)


def backend_option_names(name: str) -> tuple[str, ...]:
    """The options a config (``[backend_options]``) or ``--backend-option`` may set for the
    backend ``name``: its class's constructor keywords, less those in :data:`_NOT_OPTIONS`.

    Raises ``ValueError`` for an unknown backend name (nothing is built; the module of the
    backend's class is imported).
    """
    import inspect

    if not isinstance(name, str):
        raise ValueError(f"backend name must be a string, got {name!r}")
    kind = name.partition(":")[0]
    if kind not in _CLASSES:
        raise ValueError(f"unknown backend {name!r}; known: {', '.join(BACKENDS)}")
    try:
        init = _class(kind).__init__
    except ModuleNotFoundError as err:
        raise _missing_package(name, err) from err
    return tuple(p for p in inspect.signature(init).parameters if p not in _NOT_OPTIONS)


def check_backend_options(name: str, options: dict[str, Any]) -> dict[str, Any]:
    """``options`` if every key is an option of backend ``name``
    (:func:`backend_option_names`); else ``ValueError`` naming the first unknown key and the
    closest valid one. The values are checked by the backend's constructor
    (:func:`get_backend`)."""
    import difflib

    if not isinstance(options, dict):
        raise ValueError(f"backend options must be a table of KEY = VALUE, got {options!r}")
    valid = backend_option_names(name)
    for key in options:
        if key in valid:
            continue
        if key == "seed":
            hint = "the run's seed seeds the backend"
        elif not valid:
            hint = "this backend takes no options"
        else:
            close = difflib.get_close_matches(str(key), valid, 1, cutoff=0.4)
            hint = f"did you mean {close[0]!r}? " if close else ""
            hint += f"valid: {', '.join(valid)}"
        raise ValueError(f"unknown backend option {key!r} ({hint})")
    return options


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
        raise _missing_package(name, err) from err


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
        return _class(kind)(**options)
    if kind in ("aer", "aer-density"):
        method = "statevector" if kind == "aer" else "density_matrix"
        return _class(kind)(method, **options)
    if kind == "aer-noisy":
        fake = importlib.import_module("backends.ibm").fake_backend(arg)
        backend = _class(kind)("density_matrix", fake_backend=fake, **options)
        backend.name = name
        return backend
    if kind == "pennylane":
        return _class(kind)(arg, **options)
    if kind == "ibm":
        return _class(kind)(arg, **options)
    known = ", ".join(BACKENDS)
    raise ValueError(f"unknown backend {name!r}; known: {known}")


def _class(kind: str) -> type:
    module, cls = _CLASSES[kind]
    return getattr(importlib.import_module(module), cls)


def _missing_package(name: str, err: ModuleNotFoundError) -> Exception:
    """The error to raise for ``err``: an ``ImportError`` with the install command when an
    optional package of :data:`INSTALL_HINTS` is missing, else ``err`` itself."""
    package = (err.name or "").split(".")[0]
    if package not in INSTALL_HINTS:
        return err
    return ImportError(
        f"backend {name!r} needs {package}, which is not installed; install it with: "
        f"{INSTALL_HINTS[package]}"
    )
