"""Layers of a CQ-LVM: one layer's conditional Gibbs state given the field of its neighbours.

==================  ============================================================================
:class:`BernoulliLayer`  classical {0,1} units: ``sigmoid``, ``softplus``
:class:`QubitLayer`      qubits in a transverse field: the 1-qubit closed forms of MATH-NOTES
:class:`GaussianLayer`   real-valued units: ``N(mu + W h, sigma^2)``
==================  ============================================================================

Each gives its log-partition, its conditional expectations, Z-basis samples, its entropy and the
Z-basis diagonal elements that the exact chains of :mod:`qdoem.sampling` use as MH weights.
"""

from qdoem.layers.base import Layer, Params, Stats, data_log_odds
from qdoem.layers.bernoulli import BernoulliLayer
from qdoem.layers.gaussian import GaussianLayer
from qdoem.layers.qubit import QubitLayer

__all__ = [
    "BernoulliLayer",
    "GaussianLayer",
    "Layer",
    "Params",
    "QubitLayer",
    "Stats",
    "data_log_odds",
]
