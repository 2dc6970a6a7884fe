"""Samplers for CQ-LVMs: Markov-chain kernels, mean field, AIS, and exact transition matrices.

Training (:mod:`qdoem.training`), ``model.sample`` and AIS all run the kernels of
:mod:`qdoem.sampling.kernels` (``"exact"``, ``"plain"``, ``"twin-mh"``, ``"heat-bath"``,
``"path-gibbs"``, and ``"gibbs-langevin"`` for Gaussian visible units,
:mod:`qdoem.sampling.langevin`) on a :class:`ChainState`. The plain block-Gibbs chain is
biased at Gamma != 0; the others leave the model's law invariant for every Gamma (MATH-NOTES).
:class:`ParallelTempering` runs them on replicas of the model at several inverse temperatures,
with swaps (persistent chains).
"""

from qdoem.sampling.ais import (
    AISResult,
    RAISEResult,
    ais_log_partition,
    default_betas,
    raise_log_prob,
)
from qdoem.sampling.kernels import EXACT_SAMPLERS, SAMPLERS, check_sampler, sweep
from qdoem.sampling.mean_field import mean_field
from qdoem.sampling.state import ChainState
from qdoem.sampling.tempering import ParallelTempering, temperature_ladder

__all__ = [
    "AISResult",
    "RAISEResult",
    "ChainState",
    "EXACT_SAMPLERS",
    "ParallelTempering",
    "SAMPLERS",
    "ais_log_partition",
    "check_sampler",
    "default_betas",
    "mean_field",
    "raise_log_prob",
    "sweep",
    "temperature_ladder",
]
