"""Log-likelihood estimates that can be trusted: an AIS/RAISE bracket with diagnostics.

AIS (:func:`qdoem.sampling.ais_log_partition`) underestimates ``log Z`` in expectation, so the
log-likelihood it gives is *optimistic*; with too few temperatures on a sharp model it can be
tens of nats too good while printing a standard error below 1 (issue 9: 1000 temperatures on
PCD-trained MNIST RBMs). RAISE (:func:`qdoem.sampling.raise_log_prob`, Burda et al. 2015)
anneals down from the test points themselves and is usually *conservative*. The report runs both and
says when they do not agree:

- ``ais``: mean ``log p*(v) - log Z_hat`` over the whole split, ``log Z_hat`` pooled over
  ``n_runs`` independent AIS runs (each ``n_chains`` chains, its own seed).
- ``raise_estimate``: ``ais - gap``, where ``gap`` is the mean of AIS minus RAISE over a random
  subset of ``raise_points`` rows (paired on the same rows, so the subset adds little noise).
- ``flags``: why the numbers should not be trusted, empty when they can be:
  AIS and RAISE differ by more than ``tolerance`` nats, in either direction; the independent
  runs' ``log Z`` spread exceeds ``tolerance`` or their own error bars; the AIS weights are
  dominated by a few chains (effective sample size below ``MIN_ESS_FRACTION`` of the chains).

What each bound guarantees: AIS is optimistic in expectation for every model (Jensen on
``log Z_hat``). RAISE is a stochastic lower bound on ``log p_ann``, the law of the annealing
chain's end point, which tends to ``p`` as the schedule refines; ``p_ann`` is blurred towards
the base-rate model, so RAISE is usually below ``log p`` (Burda et al.), but on a poorly fitted
model ``p_ann`` can fit the data better than ``p`` does, and RAISE lands *above* the truth (seen
here on a PCD-trained 20 x 10 RBM: 0.9 nats above the exact value at 1000 temperatures, 0.3
at 10000). Hence disagreement in either direction is flagged, and the bracket reported is
``[lower, upper]``, the two estimates in order.

Models with several hidden layers (DBM, QiDBM) have no closed-form ``p*(v)`` to anneal or to
reverse-anneal; for them the report is the variational lower bound of Salakhutdinov & Hinton
(2009) with ``log Z`` by AIS over the deep model (:mod:`qdoem.metrics.dbm_likelihood`), with
the same AIS diagnostics (:func:`pooled_ais`).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING

import torch
from torch import Tensor

from qdoem.errors import check_int
from qdoem.models.base import EXACT_MAX_VISIBLE
from qdoem.sampling.ais import (
    DEFAULT_N_BETAS,
    DEFAULT_N_CHAINS,
    AISResult,
    ais_log_partition,
    raise_log_prob,
)
from qdoem.seeding import derive_seed, seeded_generator

if TYPE_CHECKING:
    from qdoem.metrics.dbm_likelihood import BoundReport

__all__ = ["LikelihoodReport", "MIN_ESS_FRACTION", "likelihood_report", "pooled_ais"]

#: Below this effective fraction of the AIS chains, the weights are flagged as degenerate.
MIN_ESS_FRACTION = 0.1
#: The ``method`` values of :func:`likelihood_report`.
METHODS = ("auto", "exact", "ais", "bound")
_AIS, _RAISE, _SUBSET = 0, 1, 2  # seed streams


@dataclass(frozen=True)
class LikelihoodReport:
    """Mean log-likelihood of a data split with its bracket and diagnostics (nats per sample).

    Attributes
    ----------
    method : str
        ``"exact"`` (enumeration; every bound equals the value) or ``"ais"``.
    n : int
        Rows evaluated.
    ais, raise_estimate : float
        AIS (optimistic) and RAISE (AIS minus the paired AIS-RAISE gap) mean log-likelihood.
    data_stderr : float
        Standard error of the mean over the rows (sampling of the split).
    log_z, log_z_stderr : float
        Pooled AIS ``log Z`` and its standard error.
    log_z_runs : tuple of float
        ``log Z`` of each independent AIS run.
    ess_fraction : float
        Effective sample size of the pooled AIS weights over the number of chains.
    raise_n : int
        Rows given a RAISE chain.
    gap, gap_stderr : float
        Mean AIS minus RAISE log-likelihood on those rows, and its standard error.
    settings : dict
        ``n_chains``, ``n_betas``, ``n_runs``, ``sampler``, ``seed``, ``tolerance``.
    flags : tuple of str
        Reasons not to trust the estimate; empty when it can be trusted.
    """

    method: str
    n: int
    ais: float
    raise_estimate: float
    data_stderr: float
    log_z: float
    log_z_stderr: float = 0.0
    log_z_runs: tuple[float, ...] = ()
    ess_fraction: float = 1.0
    raise_n: int = 0
    gap: float = 0.0
    gap_stderr: float = 0.0
    settings: dict = field(default_factory=dict)
    flags: tuple[str, ...] = ()

    @property
    def lower(self) -> float:
        """The smaller of the two estimates."""
        return min(self.ais, self.raise_estimate)

    @property
    def upper(self) -> float:
        """The larger of the two estimates."""
        return max(self.ais, self.raise_estimate)

    @property
    def trustworthy(self) -> bool:
        """True when no diagnostic fired."""
        return not self.flags

    def to_dict(self) -> dict:
        return {
            **asdict(self),
            "lower": self.lower,
            "upper": self.upper,
            "trustworthy": self.trustworthy,
        }

    def summary(self) -> str:
        """One paragraph for a terminal or a report."""
        if self.method == "exact":
            return (
                f"mean log-likelihood {self.ais:.3f} nats (exact) over {self.n} samples "
                f"(+/- {self.data_stderr:.3f} over samples); log Z = {self.log_z:.4f}"
            )
        s = self.settings
        text = (
            f"mean log-likelihood in [{self.lower:.2f}, {self.upper:.2f}] nats over "
            f"{self.n} samples: AIS (optimistic) {self.ais:.2f} +/- {self.log_z_stderr:.2f}, "
            f"RAISE {self.raise_estimate:.2f} (AIS - RAISE {self.gap:.2f} +/- "
            f"{self.gap_stderr:.2f} on {self.raise_n} samples); log Z runs "
            f"{', '.join(f'{z:.2f}' for z in self.log_z_runs)}; ESS "
            f"{self.ess_fraction:.0%} of {s.get('n_runs', 1) * s.get('n_chains', 0)} chains; "
            f"{s.get('n_betas')} temperatures, sampler {s.get('sampler')!r}; "
            f"+/- {self.data_stderr:.2f} over samples."
        )
        if self.flags:
            return text + "\nNOT TRUSTWORTHY: " + "; ".join(self.flags)
        return text + f"\nTrusted: AIS and RAISE agree within {s.get('tolerance')} nats."


def likelihood_report(
    model,
    data: Tensor,
    *,
    method: str = "auto",
    n_chains: int = DEFAULT_N_CHAINS,
    n_betas: int = DEFAULT_N_BETAS,
    n_runs: int = 2,
    raise_points: int = 500,
    raise_betas: int | None = None,
    base_bias: Tensor | None = None,
    base: str | None = None,
    reverse_chains: int | None = None,
    sampler: str = "exact",
    seed: int = 0,
    tolerance: float = 1.0,
) -> LikelihoodReport | BoundReport:
    """Mean log-likelihood of ``data`` under ``model``, bracketed by AIS and RAISE (one hidden
    layer), or its variational lower bound (deeper models).

    Parameters
    ----------
    model : LayeredModel
        {0,1} visible units (Gaussian ones with one hidden layer).
    data : Tensor
        ``(n, n_visible)`` rows.
    method : {"auto", "exact", "ais", "bound"}
        ``"exact"``: enumeration (``n_visible`` plus the enumerated hidden units at most 24).
        ``"ais"``: AIS and RAISE over the visible marginal (one hidden layer). ``"bound"``:
        the mean-field lower bound with ``log Z`` by AIS
        (:func:`~qdoem.metrics.dbm_likelihood.dbm_log_likelihood_bound`; returns its
        :class:`~qdoem.metrics.dbm_likelihood.BoundReport`, with no RAISE options).
        ``"auto"``: exact where it fits, else ``"ais"`` for one hidden layer and ``"bound"``
        for more.
    n_chains, n_betas : int
        AIS chains per run and temperatures (:func:`~qdoem.sampling.ais_log_partition`).
    n_runs : int
        Independent AIS runs (seeds); their spread is a diagnostic, their weights are pooled.
    raise_points : int
        Rows (a seeded random subset) that get a RAISE chain; 0 skips RAISE and flags it.
    raise_betas : int, optional
        Temperatures of the RAISE chains (default ``n_betas``).
    base_bias : Tensor, optional
        Base-rate visible log-odds, usually the training data's.
    base : {"both", "data", "uniform"}, optional
        ``"bound"`` only: the AIS base(s) of the deep model's ``log Z``
        (:data:`~qdoem.metrics.dbm_likelihood.BASES`; default
        :data:`~qdoem.metrics.dbm_likelihood.DEFAULT_BASE`, both with the larger kept).
    reverse_chains : int, optional
        ``"bound"`` only: reverse AIS chains checking ``log Z`` (default ``n_chains``; 0: none).
    sampler : str
        Transition kernel; exact at every Gamma by default.
    seed : int
        All random draws derive from it.
    tolerance : float
        Nats of disagreement (AIS vs RAISE, run to run) above which the report is flagged.
    """
    from qdoem.metrics.dbm_likelihood import BASES, DEFAULT_BASE

    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if base is not None and base not in BASES:
        raise ValueError(f"base must be one of {BASES}, got {base!r}")
    check_ais_options(n_runs, tolerance)
    check_int("raise_points", raise_points)
    deep = not model.has_closed_form_marginal()
    if method == "auto":
        small = model.n_visible + model._enumerated_bits() <= EXACT_MAX_VISIBLE
        method = "exact" if small else "bound" if deep else "ais"
    if method == "bound" or (method == "ais" and deep):
        if method == "ais":
            raise ValueError(
                f"method 'ais' brackets log p(v) with AIS and RAISE over the closed-form visible "
                f"marginal (one hidden layer); {type(model).__name__} has "
                f"{len(model.layers) - 1} hidden layers: use method='bound' (the variational "
                f"lower bound) or 'exact' on small models"
            )
        from qdoem.metrics.dbm_likelihood import dbm_log_likelihood_bound

        return dbm_log_likelihood_bound(
            model,
            data,
            n_chains=n_chains,
            n_betas=n_betas,
            n_runs=n_runs,
            base_bias=base_bias,
            base=DEFAULT_BASE if base is None else base,
            reverse_chains=reverse_chains,
            sampler=sampler,
            seed=seed,
            tolerance=tolerance,
        )
    v = model._as_input(data, "data").double().cpu()
    if v.shape[0] == 0:
        raise ValueError("data must have at least one row")
    unnormalized = model.to_float64().unnormalized_log_prob(v)
    n = v.shape[0]
    data_stderr = float(unnormalized.std()) / math.sqrt(n) if n > 1 else 0.0
    if method == "exact":
        log_z = model.exact_log_partition()
        mean = float(unnormalized.mean()) - log_z
        return LikelihoodReport("exact", n, mean, mean, data_stderr, log_z)

    options = {"n_betas": n_betas, "base_bias": base_bias, "sampler": sampler}
    pooled, runs, ais_flags = pooled_ais(
        model, n_runs=n_runs, n_chains=n_chains, seed=seed, tolerance=tolerance, **options
    )
    log_z, log_z_stderr = pooled.log_z, pooled.stderr
    ess_fraction = pooled.ess / pooled.log_weights.numel()
    ais_rows = unnormalized - log_z
    ais = float(ais_rows.mean())

    flags = []
    raise_n, gap, gap_stderr = min(raise_points, n), 0.0, 0.0
    if raise_n:
        order = torch.randperm(n, generator=seeded_generator(derive_seed(seed, _SUBSET)))
        rows = order[:raise_n]
        options["n_betas"] = raise_betas or n_betas
        res = raise_log_prob(
            model, v[rows], generator=seeded_generator(derive_seed(seed, _RAISE)), **options
        )
        d = ais_rows[rows] - res.log_prob
        gap = float(d.mean())
        gap_stderr = float(d.std()) / math.sqrt(raise_n) if raise_n > 1 else math.inf
        if abs(gap) > tolerance:
            flags.append(
                f"AIS and RAISE differ by {gap:.2f} +/- {gap_stderr:.2f} nats (|gap| > "
                f"{tolerance}): the annealing is too short for this model (raise n_betas)"
            )
    else:
        flags.append("no RAISE chains (raise_points=0): nothing to check AIS against")
    flags += ais_flags
    zs = [r.log_z for r in runs]
    settings = {
        "n_chains": n_chains,
        "n_betas": n_betas,
        "raise_betas": raise_betas or n_betas,
        "n_runs": n_runs,
        "sampler": sampler,
        "seed": seed,
        "tolerance": tolerance,
    }
    return LikelihoodReport(
        "ais",
        n,
        ais,
        ais - gap,
        data_stderr,
        log_z,
        log_z_stderr,
        tuple(zs),
        ess_fraction,
        raise_n,
        gap,
        gap_stderr,
        settings,
        tuple(flags),
    )


def check_ais_options(n_runs: int, tolerance: float) -> None:
    """Raise ``ValueError`` naming the option unless ``n_runs >= 1`` and ``tolerance > 0``."""
    if isinstance(n_runs, bool) or not isinstance(n_runs, int) or n_runs < 1:
        raise ValueError(f"n_runs must be an int >= 1, got {n_runs!r}")
    if isinstance(tolerance, bool) or not (isinstance(tolerance, int | float) and tolerance > 0):
        raise ValueError(f"tolerance must be a positive number, got {tolerance!r}")


def pooled_ais(
    model, *, n_runs: int, n_chains: int, seed: int, tolerance: float, **options
) -> tuple[AISResult, list[AISResult], list[str]]:
    """``n_runs`` independent AIS runs of ``log Z`` (seeds derived from ``seed``), their
    weights pooled, and the flags they raise: run-to-run spread above ``tolerance`` nats,
    standard errors that understate it, effective sample size below ``MIN_ESS_FRACTION``.
    ``options`` go to :func:`~qdoem.sampling.ais_log_partition`."""
    runs = [
        ais_log_partition(
            model,
            n_chains=n_chains,
            generator=seeded_generator(derive_seed(seed, _AIS, r)),
            **options,
        )
        for r in range(n_runs)
    ]
    pooled = AISResult.from_log_weights(torch.cat([r.log_weights for r in runs]), runs[0].log_z0)
    ess_fraction = pooled.ess / pooled.log_weights.numel()
    flags = []
    zs = [r.log_z for r in runs]
    spread = max(zs) - min(zs)
    if spread > tolerance:
        flags.append(f"independent AIS runs spread over {spread:.2f} nats (> {tolerance})")
    elif len(runs) > 1 and spread > 0.1 and spread > 4 * max(r.stderr for r in runs):
        flags.append(
            f"AIS standard errors ({max(r.stderr for r in runs):.3f}) understate the run-to-run "
            f"spread ({spread:.2f} nats)"
        )
    if ess_fraction < MIN_ESS_FRACTION:
        flags.append(
            f"AIS weights are dominated by few chains: effective sample size "
            f"{ess_fraction:.1%} of {pooled.log_weights.numel()} (< {MIN_ESS_FRACTION:.0%})"
        )
    return pooled, runs, flags
