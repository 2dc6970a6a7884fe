"""Optional dependencies load lazily and fail with their install command; no import cycles."""

from __future__ import annotations

import subprocess
import sys

import pytest


def _fresh(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)


def test_closed_form_work_imports_neither_qiskit_nor_pennylane():
    code = """
import sys, torch
import qdoem, qdoem.models, qdoem.training, qdoem.sampling, qdoem.estimators, qdoem.experiment
from qdoem.models import QRBM
from qdoem.data import bars_and_stripes
from backends import get_backend
model = QRBM(9, 4, n_epochs=1, batch_size=7).fit(bars_and_stripes(3))
model.sample(4, steps=2)
get_backend("exact").execute([0.5], [0.3], 10)
heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("qiskit", "qiskit_aer", "pennylane"))
print(heavy)
"""
    out = _fresh(code)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_cli_help_does_not_import_torch():
    code = """
import sys
from qdoem.cli import main
try:
    main(["--help"])
except SystemExit:
    pass
print("torch" in sys.modules)
"""
    out = _fresh(code)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().endswith("False")


@pytest.mark.parametrize(
    "name,missing,hint",
    [
        ("aer", "qiskit_aer", "pip install qiskit-aer"),
        ("pennylane:default.qubit", "pennylane", "pip install pennylane"),
        ("ibm:fake_manila", "qiskit_ibm_runtime", 'pip install "qdoem[ibm]"'),
    ],
)
def test_missing_optional_package_names_its_install_command(name, missing, hint):
    code = f"""
import sys
sys.modules[{missing!r}] = None  # as if it were not installed
from backends import get_backend
try:
    get_backend({name!r})
except ImportError as err:
    print(err)
"""
    out = _fresh(code)
    assert out.returncode == 0, out.stderr
    assert hint in out.stdout


def test_training_never_imports_models():
    out = _fresh("import sys, qdoem.training; print('qdoem.models' in sys.modules)")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"
