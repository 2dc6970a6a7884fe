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
