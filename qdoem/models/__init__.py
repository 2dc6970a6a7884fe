"""CQ-LVM models trained with DO-EM, built from layers and couplings (:mod:`qdoem.models.base`).

=========  =======================================================================
``qrbm``   :class:`QRBM`: {0,1} visible units, one layer of hidden qubits
``rbm``    :class:`RBM`: the QRBM at Gamma = 0 (classical hidden units)
``qidbm``  :class:`QiDBM`: several hidden layers, quantum ones never neighbours
``dbm``    :class:`DBM`: the QiDBM at Gamma = 0
``qgrbm``  :class:`QGRBM`: Gaussian visible units, one layer of hidden qubits
``grbm``   :class:`GRBM`: the QGRBM at Gamma = 0 (Gaussian-Bernoulli RBM)
=========  =======================================================================

:data:`MODELS` is the one registry of model names: the CLI and run configurations read it.
"""

from __future__ import annotations

from qdoem.models.base import MODELS, LayeredModel, build_model, model_from_state
from qdoem.models.dbm import DBM, QiDBM
from qdoem.models.grbm import GRBM, QGRBM
from qdoem.models.rbm import QRBM, RBM

__all__ = [
    "DBM",
    "GRBM",
    "MODELS",
    "QGRBM",
    "QRBM",
    "QiDBM",
    "RBM",
    "LayeredModel",
    "build_model",
    "model_from_state",
]
