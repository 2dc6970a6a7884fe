"""``qdoem backends``: listing, checks against the closed form, clear errors."""

from __future__ import annotations

import sys

import pytest

from backends import available_backends
from qdoem.cli import main


def test_list_names_every_backend(capsys):
    assert main(["backends", "list"]) == 0
    out = capsys.readouterr().out
    for name in available_backends():
        assert name in out.split()


@pytest.mark.parametrize(
    ("argv", "verdict"),
    [
        (["backends", "check", "aer-density"], "max |error|"),
        (["backends", "check", "aer", "--shots", "2000", "--units", "3"], "max |z|"),
        (["backends", "check", "pennylane:default.mixed", "--units", "3"], "max |error|"),
    ],
)
def test_check_passes_on_ideal_backends(argv, verdict, capsys):
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert verdict in out and "PASS" in out


def test_check_flags_a_noisy_backend_as_biased(capsys):
    pytest.importorskip("qiskit_ibm_runtime")
    rc = main(["backends", "check", "aer-noisy:manila", "--shots", "20000", "--units", "4"])
    assert rc == 1
    assert "FAIL" in capsys.readouterr().out


def test_unknown_backend_is_a_user_error(capsys):
    assert main(["backends", "check", "nope"]) == 2
    assert "unknown backend 'nope'" in capsys.readouterr().err


def test_missing_optional_dependency_prints_install_hint(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "qiskit_ibm_runtime", None)  # import now fails
    assert main(["backends", "check", "ibm:fake_manila", "--shots", "10"]) == 2
    assert 'pip install "qdoem[ibm]"' in capsys.readouterr().err
