"""Shared small problems for the comparison tests."""

import numpy as np
import pytest

from qdoem.data.synthetic import BernoulliMixture, empirical_distribution
from qdoem.theory.qrbm import QRBMParams


@pytest.fixture
def problem():
    """3 visible + 2 hidden qubits, generic parameters (all non-zero), empirical data."""
    rng = np.random.default_rng(7)
    p = QRBMParams(
        rng.normal(size=3), rng.normal(size=2), 0.8 * rng.normal(size=(3, 2)), np.array([0.6, -1.1])
    )
    v, q = empirical_distribution(BernoulliMixture(3, n_modes=2, seed=2).sample(40))
    return v, q, p


def train_small_qrbm(run_dir, gamma_init: float):
    """A QRBM with 6 hidden qubits trained 2 epochs on bars-and-stripes into ``run_dir`` (the
    chain benches' smoke tests read its checkpoint)."""
    from qdoem.experiment import resolve_config, train

    config = resolve_config(
        None,
        {"model": "qrbm", "dataset": "bars_and_stripes", "n_hidden": 6, "epochs": 2,
         "batch_size": 8, "gamma_init": gamma_init, "weight_scale": 1.0, "run_dir": str(run_dir),
         "seed": 0},
    )  # fmt: skip
    train(config, progress=False)
    return run_dir
