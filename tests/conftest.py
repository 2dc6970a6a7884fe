"""Shared fixtures: random states and Hamiltonians for the exact-core tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def random_density(d: int, rng: np.random.Generator, rank: int | None = None) -> np.ndarray:
    """Random density operator of dimension ``d`` (Wishart), optionally of given rank."""
    k = d if rank is None else rank
    g = rng.normal(size=(d, k)) + 1j * rng.normal(size=(d, k))
    rho = g @ g.conj().T
    return rho / np.trace(rho).real


def random_hermitian(d: int, rng: np.random.Generator, scale: float = 1.0) -> np.ndarray:
    g = rng.normal(size=(d, d)) + 1j * rng.normal(size=(d, d))
    return scale * (g + g.conj().T) / 2


@pytest.fixture(autouse=True)
def _one_torch_thread():
    """Tests use tiny tensors: one thread avoids thread-pool contention on a busy machine."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)


@pytest.fixture
def shared_data() -> Path:
    """``../shared/data`` with the real MNIST / Fashion-MNIST files; skips when absent."""
    if not (SHARED_DATA / "MNIST" / "raw").is_dir():
        pytest.skip(f"real datasets not found at {SHARED_DATA}")
    return SHARED_DATA


def pytest_collection_modifyitems(config, items):
    """In CI every optional path must run: a missing optional package is an error there, not a
    skip (the IBM fake-device backends need qiskit-ibm-runtime, installed by ``.[dev]``)."""
    import importlib.util
    import os

    if os.environ.get("CI") and importlib.util.find_spec("qiskit_ibm_runtime") is None:
        raise pytest.UsageError(
            "CI=true but qiskit-ibm-runtime is not installed: the IBM fake-device tests would be "
            'skipped. Install the test dependencies with: python -m pip install -e ".[dev]"'
        )
