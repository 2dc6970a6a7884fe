"""Evaluation: log-likelihood estimates with brackets and diagnostics."""

from qdoem.metrics.likelihood import MIN_ESS_FRACTION, LikelihoodReport, likelihood_report

__all__ = ["LikelihoodReport", "MIN_ESS_FRACTION", "likelihood_report"]
