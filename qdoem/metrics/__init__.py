"""Evaluation: log-likelihood estimates with brackets and diagnostics (the variational lower
bound for deep models), the QELBO from shots, and FID."""

from qdoem.metrics.dbm_likelihood import (
    BoundReport,
    VariationalBound,
    dbm_log_likelihood_bound,
    variational_bound,
)
from qdoem.metrics.fid import (
    DOMAIN_DATASETS,
    INCEPTION_WEIGHTS_FILE,
    DomainClassifier,
    FIDResult,
    default_cache_dir,
    fid_score,
    frechet_distance,
    get_extractor,
    inception_weights_path,
    save_fid_curve,
)
from qdoem.metrics.likelihood import MIN_ESS_FRACTION, LikelihoodReport, likelihood_report
from qdoem.metrics.qelbo import DENSE_MAX_QUBITS, QELBOEstimate, dense_qelbo, estimate_qelbo

__all__ = [
    "BoundReport",
    "VariationalBound",
    "dbm_log_likelihood_bound",
    "variational_bound",
    "DENSE_MAX_QUBITS",
    "DOMAIN_DATASETS",
    "DomainClassifier",
    "FIDResult",
    "INCEPTION_WEIGHTS_FILE",
    "LikelihoodReport",
    "MIN_ESS_FRACTION",
    "QELBOEstimate",
    "default_cache_dir",
    "dense_qelbo",
    "estimate_qelbo",
    "fid_score",
    "frechet_distance",
    "get_extractor",
    "inception_weights_path",
    "likelihood_report",
    "save_fid_curve",
]
