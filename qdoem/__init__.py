"""qdoem: Density Operator Expectation Maximization for quantum latent variable models.

The top level exports the exact density-operator core (numpy/scipy only). Torch models
live in :mod:`qdoem.models`, data in :mod:`qdoem.data`, training in :mod:`qdoem.training`.
"""

from qdoem._version import __version__
from qdoem.errors import (
    BackendError,
    CheckpointError,
    CheckpointFallbackWarning,
    ConfigError,
    DataError,
    DivergenceError,
    FeatureExtractorError,
    InvalidDensityOperatorError,
    InvalidDimensionsError,
    PetzNotGuaranteedWarning,
    QdoemError,
)
from qdoem.theory import *  # noqa: F403  (the exact core is the public API)
from qdoem.theory import __all__ as _theory_all

__all__ = [
    "__version__",
    "QdoemError",
    "ConfigError",
    "CheckpointError",
    "DataError",
    "CheckpointFallbackWarning",
    "DivergenceError",
    "BackendError",
    "FeatureExtractorError",
    "InvalidDensityOperatorError",
    "InvalidDimensionsError",
    "PetzNotGuaranteedWarning",
    *_theory_all,
]
