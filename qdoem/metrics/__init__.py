"""Evaluation: log-likelihood estimates with brackets and diagnostics; the QELBO from shots."""

from qdoem.metrics.likelihood import MIN_ESS_FRACTION, LikelihoodReport, likelihood_report
from qdoem.metrics.qelbo import DENSE_MAX_QUBITS, QELBOEstimate, dense_qelbo, estimate_qelbo

__all__ = [
    "DENSE_MAX_QUBITS",
    "LikelihoodReport",
    "MIN_ESS_FRACTION",
    "QELBOEstimate",
    "dense_qelbo",
    "estimate_qelbo",
    "likelihood_report",
]
