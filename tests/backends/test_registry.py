"""Choosing backends by name, and failing clearly when a name or a dependency is missing."""

from __future__ import annotations

import sys

import pennylane as qml
import pytest

from backends import Backend, available_backends, get_backend


@pytest.mark.parametrize(
    ("name", "cls", "backend_name"),
    [
        ("exact", "ExactBackend", "exact"),
        ("aer", "AerBackend", "aer"),
        ("aer-density", "AerBackend", "aer-density"),
        ("pennylane:default.mixed", "PennyLaneBackend", "pennylane:default.mixed"),
    ],
)
def test_get_backend_by_name(name, cls, backend_name):
    backend = get_backend(name, seed=1)
    assert isinstance(backend, Backend)
    assert type(backend).__name__ == cls and backend.name == backend_name


def test_get_backend_with_runtime_names():
    pytest.importorskip("qiskit_ibm_runtime")
    noisy = get_backend("aer-noisy:manila")
    assert noisy.name == "aer-noisy:manila" and noisy.noise_model is not None
    assert noisy.units_per_circuit == 2  # Manila has 5 qubits
    assert get_backend("ibm:fake_manila").name == "ibm:fake_manila"
    with pytest.raises(ValueError, match="unknown fake backend"):
        get_backend("aer-noisy:nowhere")


def test_options_reach_the_backend():
    assert get_backend("aer", units_per_circuit=5).units_per_circuit == 5
    with pytest.raises(ValueError, match="units_per_circuit"):
        get_backend("aer", units_per_circuit=0)
    with pytest.raises(ValueError, match="method"):
        from backends.aer import AerBackend

        AerBackend("stabilizer")


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("nope", "unknown backend"),
        ("pennylane", "needs an argument"),
        ("ibm", "needs an argument"),
        ("aer:foo", "takes no ':' argument"),
        ("pennylane:no.such.device", "unknown PennyLane device"),
    ],
)
def test_bad_names(name, message):
    with pytest.raises(ValueError, match=message):
        get_backend(name)


def test_every_listed_pattern_is_buildable_or_documented():
    assert set(available_backends()) == {
        "exact",
        "aer",
        "aer-density",
        "aer-noisy:<fake>",
        "pennylane:<device>",
        "ibm:<backend>",
    }


def test_missing_runtime_gives_install_hint(monkeypatch):
    monkeypatch.setitem(sys.modules, "qiskit_ibm_runtime", None)
    for name in ("ibm:fake_manila", "aer-noisy:manila", "ibm:ibm_brisbane"):
        with pytest.raises(ImportError, match=r'pip install "qdoem\[ibm\]"'):
            get_backend(name)


def test_missing_lightning_gives_install_hint(monkeypatch):
    def no_device(name, *args, **kwargs):
        raise qml.exceptions.DeviceError(f"Device {name} does not exist.")

    monkeypatch.setattr(qml, "device", no_device)
    with pytest.raises(ImportError, match="pip install pennylane-lightning"):
        get_backend("pennylane:lightning.qubit")


def test_pennylane_packing_is_capped_before_it_exhausts_memory():
    with pytest.raises(ValueError, match="at most 10"):
        get_backend("pennylane:default.mixed", units_per_circuit=6)
    assert get_backend("pennylane:default.qubit", units_per_circuit=6).units_per_circuit == 6


def test_aer_packing_is_capped_before_it_exhausts_memory():
    with pytest.raises(ValueError, match="at most 14"):
        get_backend("aer-density", units_per_circuit=8)
