"""Exact against shot-based DO-EM, side by side: the library behind ``qdoem compare``.

One model, one data set and one seed are trained several ways that differ only in where the
quantum layer's statistics and Z-basis samples come from (:mod:`qdoem.estimators`): the closed
form (exact), and circuits on simulator backends at several shot budgets (Aer noiseless, Aer
with a fake IBM device's noise model, PennyLane ``default.mixed``), optionally at several
``m_steps`` values K (one shot-based E-step serving K M-step gradient steps). Every run of one
seed starts from the same initial parameters and visits the data in the same order.

What is measured, per run and seed
----------------------------------
- **NLL per epoch** (epoch 0 is the initialisation): ``-E_data log p(v)`` of the whole
  training set, exact by enumeration when ``n_visible`` is small (2^24 states), else AIS
  (:meth:`~qdoem.models.LayeredModel.log_partition`).
- **Gradient error per epoch.** At the parameters ``theta`` reached at the end of each epoch
  (and at the start),

      g_run(theta)   = S_data^run(theta) - S_model(theta),
      g_exact(theta) = S_data(theta)     - S_model(theta) = grad L(theta),

  where ``S_data(theta) = E_data Tr(rho_L(v; theta) dH'/dtheta)`` is the exact E-step's
  sufficient statistics over the *full* training set
  (:meth:`~qdoem.models.LayeredModel.exact_statistics`), ``S_data^run`` the same quantity with
  the latent statistics ``<n>``, ``<X>`` estimated from that run's backend at its shot budget
  (one fresh call on the full data, its own random stream), and ``S_model`` the exact model
  term by enumeration. ``g_exact`` is the exact log-likelihood gradient (``grad Q = grad L`` at
  ``theta_old = theta``). Reported over all trainable parameters flattened together:

      cosine = <g_run, g_exact> / (|g_run| |g_exact|),
      relative error = |g_run - g_exact| / |g_exact|.

  This isolates what the backend contributes, the E-step's shot noise and (on a noisy device)
  its bias; the CD chain's own noise in the model term is common to every run and excluded.
  Closed-form runs have cosine 1 and relative error 0 by construction. Needs exact model
  statistics (``{0,1}`` visible units, one hidden layer, ``n_visible <= 24``); else None.
- **QELBO at the end**, from shots of that run's backend at its shot budget with its standard
  error (:func:`qdoem.metrics.estimate_qelbo`, at ``theta_old = theta`` where it equals the
  log-likelihood ``L``, so ``L`` is its exact value).
- **Backend calls** (cumulative, :attr:`BackendEstimator.calls_
  <qdoem.estimators.BackendEstimator.calls_>`; training only, the diagnostics use separate
  estimators) and **wall time per epoch** (the training loop only).
- **Calls to a target NLL**: the cumulative backend calls (and epochs) at the end of the first
  epoch (from epoch 1) whose NLL is at most the target (epoch resolution); by default the
  closed-form run's NLL half-way through its epochs.

Shot-based runs and the closed form do not share random draws: the closed form draws its
hidden samples from the trainer's torch stream, a backend its shots from its own (reseeded from
``(seed, epoch, step)``). The ``exact`` backend with ``shots=None`` is the closed form itself
(its chain draws come from the trainer's stream). The ``exact`` backend at ``N`` shots draws
its first Z-basis shot with the same uniforms for every ``N``, so ``exact`` runs at different
shot budgets isolate the effect of shot noise on the statistics (common random numbers).
"""

from __future__ import annotations

import math
import platform
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from backends.provenance import package_versions
from qdoem.errors import ConfigError, check_int
from qdoem.seeding import derive_seed, seeded_generator

__all__ = ["RunSpec", "ShotComparison", "default_runs", "gradient_error", "kind_of_backend"]

# Stream keys of the diagnostics (beside the trainer's HOST, ESTIMATOR, DATA_ORDER).
_GRADIENT_STREAM, _QELBO_STREAM, _NLL_STREAM = 101, 102, 103


@dataclass(frozen=True)
class RunSpec:
    """One way to train: where the latent statistics come from, and K.

    Attributes
    ----------
    backend : str or None
        A :func:`backends.get_backend` name; None for the closed form (exact).
    shots : int or None
        Shots per unit and basis (None: the backend's exact expectations).
    m_steps : int
        M-step gradient steps per E-step (``TrainConfig.m_steps``).
    """

    backend: str | None = None
    shots: int | None = None
    m_steps: int = 1

    def __post_init__(self) -> None:
        if self.backend is not None and (not isinstance(self.backend, str) or not self.backend):
            raise ConfigError(f"backend must be a backend name or None, got {self.backend!r}")
        if self.shots is not None and (
            isinstance(self.shots, bool) or not isinstance(self.shots, int) or self.shots < 1
        ):
            raise ConfigError(f"shots must be a positive integer or None, got {self.shots!r}")
        if self.backend is None and self.shots is not None:
            raise ConfigError(f"the closed form takes no shots, got shots={self.shots!r}")
        check_int("m_steps", self.m_steps, 1, error=ConfigError)

    @property
    def label(self) -> str:
        if self.backend is None:
            where = "exact (closed form)"
        else:
            shots = "exact expectations" if self.shots is None else f"{self.shots} shots"
            where = f"{self.backend} {shots}"
        return where if self.m_steps == 1 else f"{where}, K={self.m_steps}"

    @property
    def kind(self) -> str:
        return kind_of_backend(self.backend)


def kind_of_backend(name: str | None) -> str:
    """What a backend name runs on, in words (simulators are never called hardware)."""
    if name is None:
        return "closed form, no circuits"
    kind, _, arg = name.partition(":")
    kinds = {
        "exact": "closed forms with ideal Bernoulli shots (no circuits)",
        "aer": "Aer noiseless simulator (statevector)",
        "aer-density": "Aer noiseless simulator (density matrix)",
        "aer-noisy": f"Aer simulator with fake IBM device noise model ({arg})",
        "pennylane": f"PennyLane {arg} simulator",
        "ibm": f"IBM fake device, local simulation ({arg})"
        if arg.startswith("fake_")
        else f"IBM backend {arg}",
    }
    return kinds.get(kind, name)


def default_runs(
    backend: str = "aer",
    shots: tuple[int, ...] = (100, 1000, 10000),
    m_steps: tuple[int, ...] = (1,),
    noisy: str | None = "aer-noisy:manila",
    noisy_shots: int = 1000,
    pennylane: str | None = "pennylane:default.mixed",
    pennylane_shots: int = 1000,
) -> list[RunSpec]:
    """The runs of ``qdoem compare``: the closed form and ``backend`` at each shot budget, for
    each K of ``m_steps``; then ``noisy`` and ``pennylane`` (None: skipped) at the first K."""
    if not m_steps or not shots:
        raise ConfigError(f"need at least one shot budget and one m_steps, got {shots}, {m_steps}")
    runs = []
    for k in m_steps:
        runs.append(RunSpec(None, None, k))
        runs.extend(RunSpec(backend, n, k) for n in shots)
    for name, n in ((noisy, noisy_shots), (pennylane, pennylane_shots)):
        if name is not None:
            runs.append(RunSpec(name, n, m_steps[0]))
    return runs


def gradient_error(model, data: torch.Tensor, estimator=None) -> tuple[float, float] | None:
    """``(cosine, relative error)`` of the data-term-from-``estimator`` gradient against
    ``grad L`` at ``model``'s parameters (see the module notes); None where the exact model
    term cannot be enumerated.

    Maths: ``g_run = S_data^est - S_model``, ``g_exact = S_data - S_model``, both over the full
    ``data``; ``S`` from :meth:`~qdoem.models.LayeredModel.sufficient_statistics`.
    """
    if len(model.layers) != 2 or not model.layers[0].binary:
        return None
    try:
        s_model = model.exact_statistics()
    except ValueError:  # too many visible units to enumerate
        return None
    if estimator is None:  # the closed form: the data term is exact
        return 1.0, 0.0
    m = model.to_float64()
    v = data.to("cpu", torch.float64)
    s_exact = model.exact_statistics(v)
    pos, _ = m.positive_phase(v, estimator, start_chain=False)
    s_run = m.sufficient_statistics(pos)
    names = sorted(s_model)
    g_exact = torch.cat([(s_exact[k] - s_model[k]).flatten() for k in names])
    g_run = torch.cat([(s_run[k] - s_model[k]).flatten() for k in names])
    norm, norm_run = float(g_exact.norm()), float(g_run.norm())
    if norm == 0.0 or norm_run == 0.0:
        return (1.0 if norm == norm_run else 0.0), (0.0 if norm == norm_run else math.inf)
    cosine = min(1.0, max(-1.0, float(g_run @ g_exact) / (norm * norm_run)))
    return cosine, float((g_run - g_exact).norm()) / norm


class ShotComparison:
    """Train one model exactly and through backends at several shot budgets, side by side.

    Parameters
    ----------
    runs : list of RunSpec, optional
        Default :func:`default_runs` (closed form; ``aer`` at 100, 1000, 10000 shots;
        ``aer-noisy:manila`` and ``pennylane:default.mixed`` at 1000 shots).
    model : str
        A quantum model of :data:`qdoem.models.MODELS` (``"qrbm"``, ``"qgrbm"``, ...).
    n_hidden : int
        Hidden units (one-hidden-layer models).
    model_options : dict, optional
        More constructor arguments (``gamma_init``, ``weight_scale``, ``hidden_sizes``, ...).
        Default ``weight_scale=0.1`` as in ``qdoem demo``.
    epochs, batch_size, learning_rate : int, int, float
        DO-EM settings shared by every run (the demo's: batch 8, learning rate 0.5).
    seeds : sequence of int
        One training of every run per seed (model initialisation, data order, every draw);
        the table and the plot give mean and spread over seeds.
    target_nll : float, optional
        NLL whose first crossing (after epoch 0) is reported in backend calls; default the
        NLL of the closed-form run at the smallest K after half the epochs (``ceil(epochs /
        2)``; seed mean): where exact training is half-way.
    train_options : dict, optional
        More :class:`~qdoem.training.TrainConfig` fields (``cd_k``, ``persistent``,
        ``momentum``, ...).

    Attributes
    ----------
    results_ : list of dict
        Per run: ``spec`` and ``seeds``, each seed a dict with per-epoch lists ``nll``,
        ``calls``, ``units``, ``time_s``, ``grad_cos``, ``grad_rel_err`` and the end's
        ``qelbo`` (:meth:`QELBOEstimate.to_dict <qdoem.metrics.QELBOEstimate.to_dict>`).
    target_nll_ : float
    nll_method_ : str
        ``"exact"`` or ``"ais"``.
    """

    def __init__(
        self,
        runs: list[RunSpec] | None = None,
        *,
        model: str = "qrbm",
        n_hidden: int = 6,
        model_options: dict[str, Any] | None = None,
        epochs: int = 20,
        batch_size: int = 8,
        learning_rate: float = 0.5,
        seeds: tuple[int, ...] = (0,),
        target_nll: float | None = None,
        train_options: dict[str, Any] | None = None,
    ) -> None:
        from qdoem.models import MODELS

        self.runs = list(default_runs() if runs is None else runs)
        if not self.runs or not all(isinstance(r, RunSpec) for r in self.runs):
            raise ConfigError(f"runs must be a non-empty list of RunSpec, got {runs!r}")
        if len(set(self.runs)) != len(self.runs):
            raise ConfigError("runs must be distinct")
        if model not in MODELS or not MODELS[model].quantum:
            quantum = sorted(k for k, cls in MODELS.items() if cls.quantum)
            raise ConfigError(f"model must be a quantum model, one of {quantum}, got {model!r}")
        seeds = tuple(seeds)
        if not seeds or any(isinstance(s, bool) or not isinstance(s, int) or s < 0 for s in seeds):
            raise ConfigError(f"seeds must be non-negative ints, got {seeds!r}")
        if len(set(seeds)) != len(seeds):
            raise ConfigError(f"seeds must be distinct, got {seeds!r}")
        if target_nll is not None and not (
            isinstance(target_nll, int | float) and math.isfinite(target_nll)
        ):
            raise ConfigError(f"target_nll must be a finite number, got {target_nll!r}")
        self.model = model
        self.n_hidden = n_hidden
        self.model_options = {"weight_scale": 0.1, **(model_options or {})}
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.seeds = seeds
        self.target_nll = target_nll
        self.train_options = dict(train_options or {})
        check_int("n_hidden", n_hidden, 1, error=ConfigError)
        for spec in self.runs:  # every setting checked now, not after the first runs
            self._train_config(spec, seeds[0])

    # ------------------------------------------------------------------ building blocks
    def train_config(self) -> dict[str, Any]:
        """The :class:`~qdoem.training.TrainConfig` fields every run shares (those of a
        :class:`RunSpec` and the seed left out), defaults included."""
        config = self._train_config(self.runs[0], self.seeds[0]).to_dict()
        return {k: v for k, v in config.items() if k not in ("backend", "shots", "m_steps", "seed")}

    def _train_config(self, spec: RunSpec, seed: int):
        from qdoem.training import TrainConfig

        options = {"track_nll": 0, **self.train_options}
        return TrainConfig(
            epochs=self.epochs,
            batch_size=self.batch_size,
            learning_rate=self.learning_rate,
            m_steps=spec.m_steps,
            backend=spec.backend,
            shots=spec.shots,
            seed=seed,
            **options,
        )

    def _build_model(self, n_visible: int, seed: int):
        from qdoem.models import build_model

        options = dict(self.model_options)
        if "hidden_sizes" not in options:
            options["n_hidden"] = self.n_hidden
        return build_model(self.model, n_visible, seed=seed, **options)

    def _nll(self, model, data: torch.Tensor, seed: int, epoch: int) -> float:
        gen = seeded_generator(derive_seed(seed, epoch, _NLL_STREAM))
        return float(-model.log_prob(data, method=self.nll_method_, generator=gen).mean())

    # ------------------------------------------------------------------ training
    def fit(self, data: Any, *, progress: Any = None) -> ShotComparison:
        """Train every run for every seed on ``data`` (rows of visible values).

        ``progress``: a callable ``progress(message)`` told about each run as it starts.
        """
        from backends import get_backend
        from qdoem.models.base import EXACT_MAX_VISIBLE

        data = torch.as_tensor(data)
        if data.ndim != 2 or data.shape[0] == 0:
            raise ValueError(f"data must be a non-empty 2-D array, got shape {tuple(data.shape)}")
        probe = self._build_model(data.shape[1], self.seeds[0])
        probe.check_data(data)
        binary = probe.layers[0].binary
        small = data.shape[1] + probe._enumerated_bits() <= EXACT_MAX_VISIBLE
        self.nll_method_ = "exact" if binary and small else "ais"
        for spec in self.runs:  # a bad name or a missing package fails before any training
            if spec.backend is not None:
                get_backend(spec.backend)
        self.results_ = []
        for spec in self.runs:
            per_seed = []
            for seed in self.seeds:
                if progress is not None:
                    progress(f"{spec.label} ({spec.kind}), seed {seed}")
                per_seed.append(self._fit_one(spec, seed, data))
            self.results_.append({"spec": spec, "seeds": per_seed})
        self.target_nll_ = self._target()
        return self

    def _fit_one(self, spec: RunSpec, seed: int, data: torch.Tensor) -> dict[str, Any]:
        from qdoem.estimators import BackendEstimator
        from qdoem.metrics import estimate_qelbo
        from qdoem.training import Trainer

        model = self._build_model(data.shape[1], seed)
        trainer = Trainer(model, self._train_config(spec, seed))
        backend = getattr(trainer.estimator, "backend", None)
        x = data.to(model.dtype)

        def diagnostic(stream: int, epoch: int):
            if backend is None:
                return None
            # Its own estimator and stream: the run's call count and draws are untouched (the
            # trainer reseeds the shared backend before each of its steps).
            est = BackendEstimator(backend, spec.shots, seed=derive_seed(seed, stream))
            est.start_step(epoch, 0)
            return est

        rec: dict[str, list] = {k: [] for k in ("nll", "calls", "units", "time_s")}
        rec.update(grad_cos=[], grad_rel_err=[])

        def measure(epoch: int, time_s: float) -> None:
            rec["nll"].append(self._nll(model, x, seed, epoch))
            rec["calls"].append(getattr(trainer.estimator, "calls_", 0))
            rec["units"].append(getattr(trainer.estimator, "units_", 0))
            rec["time_s"].append(time_s)
            err = gradient_error(model, x, diagnostic(_GRADIENT_STREAM, epoch))
            rec["grad_cos"].append(None if err is None else err[0])
            rec["grad_rel_err"].append(None if err is None else err[1])

        measure(0, 0.0)
        trainer.fit(x, on_epoch=lambda tr, record: measure(tr.epoch, record["time_s"]))
        qelbo = estimate_qelbo(
            model,
            x,
            estimator=diagnostic(_QELBO_STREAM, self.epochs) if backend is not None else None,
            method=self.nll_method_,
            generator=seeded_generator(derive_seed(seed, self.epochs, _NLL_STREAM)),
        )
        rec["qelbo"] = qelbo.to_dict()
        rec["seed"] = seed
        return rec

    def _target(self) -> float:
        if self.target_nll is not None:
            return float(self.target_nll)
        reference = self.reference(min(r.m_steps for r in self.runs))
        seeds = (reference or self.results_[0])["seeds"]
        return float(np.mean([s["nll"][math.ceil(self.epochs / 2)] for s in seeds]))

    # ------------------------------------------------------------------ summaries
    def reference(self, m_steps: int) -> dict[str, Any] | None:
        """The closed-form run at ``m_steps`` (its result), if there is one."""
        self._check_fitted()
        return next((r for r in self.results_ if r["spec"] == RunSpec(None, None, m_steps)), None)

    def _check_fitted(self) -> None:
        if not hasattr(self, "results_"):
            raise ValueError("this ShotComparison is not fitted yet: call fit(data) first")

    def summary(self) -> list[dict[str, Any]]:
        """One row per run: seed means (and standard deviations over seeds) of what the table
        shows."""
        self._check_fitted()
        rows = []
        for result in self.results_:
            spec, seeds = result["spec"], result["seeds"]
            final = np.array([s["nll"][-1] for s in seeds])
            ref = self.reference(spec.m_steps)
            gap = None
            if ref is not None and ref is not result:
                gap = float(final.mean() - np.mean([s["nll"][-1] for s in ref["seeds"]]))
            reached = [_first_reach(s, self.target_nll_) for s in seeds]
            hits = [r for r in reached if r is not None]
            q = [s["qelbo"] for s in seeds]
            last_rel = [s["grad_rel_err"][-1] for s in seeds]
            rows.append(
                {
                    "label": spec.label,
                    "kind": spec.kind,
                    **asdict(spec),
                    "final_nll": float(final.mean()),
                    "final_nll_sd": _sd(final),
                    "nll_gap_to_exact": gap,
                    "qelbo": float(np.mean([e["value"] for e in q])),
                    # the mean of independent estimates: its standard error
                    "qelbo_stderr": math.sqrt(sum(e["stderr"] ** 2 for e in q)) / len(q),
                    "qelbo_minus_l": float(
                        np.mean([e["value"] + n for e, n in zip(q, final, strict=True)])
                    ),
                    "grad_cos_last": _mean_or_none([s["grad_cos"][-1] for s in seeds]),
                    "grad_rel_err_last": _mean_or_none(last_rel),
                    "grad_rel_err_mean": _mean_or_none(
                        [v for s in seeds for v in s["grad_rel_err"][1:]]
                    ),
                    "backend_calls": float(np.mean([s["calls"][-1] for s in seeds])),
                    "time_per_epoch_s": float(np.mean([np.mean(s["time_s"][1:]) for s in seeds])),
                    "target_reached": f"{len(hits)}/{len(seeds)}",
                    "calls_to_target": float(np.mean([h[1] for h in hits])) if hits else None,
                    "epochs_to_target": float(np.mean([h[0] for h in hits])) if hits else None,
                }
            )
        return rows

    def table(self) -> str:
        """The results as markdown: the summary table, then the gradient error per epoch."""
        rows = self.summary()
        n = len(self.seeds)
        pm = "mean over seeds" if n > 1 else "one seed"
        lines = [
            f"| run | backend | final NLL ({pm}) | NLL - exact | QELBO +- se | QELBO - L "
            f"| grad cos (last) | grad rel. err (last) | backend calls | s / epoch "
            f"| calls to NLL <= {self.target_nll_:.4f} |",
            "|" + "---|" * 11,
        ]
        for r in rows:
            nll = f"{r['final_nll']:.4f}" + (f" +- {r['final_nll_sd']:.4f}" if n > 1 else "")
            reach = _fmt(r["calls_to_target"], "{:.0f}", "not reached")
            if r["backend"] is None:
                reach = _fmt(r["epochs_to_target"], "({:.1f} epochs)", "not reached")
            elif r["calls_to_target"] is not None:
                reach += f" ({r['epochs_to_target']:.1f} epochs)"
            if r["target_reached"] != f"{n}/{n}":
                reach += f", {r['target_reached']} seeds"
            lines.append(
                f"| {r['label']} | {r['kind']} | {nll} | {_fmt(r['nll_gap_to_exact'], '{:+.4f}')} "
                f"| {r['qelbo']:.4f} +- {r['qelbo_stderr']:.4f} | {r['qelbo_minus_l']:+.4f} "
                f"| {_fmt(r['grad_cos_last'], '{:.5f}')} "
                f"| {_fmt(r['grad_rel_err_last'], '{:.4f}')} "
                f"| {r['backend_calls']:.0f} | {r['time_per_epoch_s']:.3f} | {reach} |"
            )
        epochs = range(self.epochs + 1)
        lines += [
            "",
            "Gradient error per epoch (epoch 0: the initialisation), relative error "
            f"|g_run - g_exact| / |g_exact| and cosine, {pm}:",
            "",
            "| run | " + " | ".join(str(e) for e in epochs) + " |",
            "|" + "---|" * (len(epochs) + 1),
        ]
        for result in self.results_:
            seeds = result["seeds"]
            cells = []
            for e in epochs:
                rel = _mean_or_none([s["grad_rel_err"][e] for s in seeds])
                cos = _mean_or_none([s["grad_cos"][e] for s in seeds])
                cells.append("n/a" if rel is None else f"{rel:.3f} / {cos:.4f}")
            lines.append(f"| {result['spec'].label} | " + " | ".join(cells) + " |")
        return "\n".join(lines) + "\n"

    def plot(self, path: str | Path) -> None:
        """Training curves (NLL against epoch and against backend calls; gradient relative
        error against epoch), seed mean with a band of +- one standard deviation, as a PNG."""
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        from qdoem.io import atomic_write

        self._check_fitted()
        fig, axes = plt.subplots(1, 3, figsize=(17, 4.8))
        epochs = np.arange(self.epochs + 1)
        styles = ["-", "--", ":", "-."]
        ks = sorted({r.m_steps for r in self.runs})
        colors = {}
        for result in self.results_:
            spec, seeds = result["spec"], result["seeds"]
            key = (spec.backend, spec.shots)
            color = colors.setdefault(key, f"C{len(colors) % 10}")
            style = styles[ks.index(spec.m_steps) % len(styles)]
            nll = np.array([s["nll"] for s in seeds])
            mean, sd = nll.mean(0), nll.std(0, ddof=1) if len(seeds) > 1 else np.zeros(nll.shape[1])
            kw = {"color": color, "linestyle": style, "label": spec.label}
            width = 2.2 if spec.backend is None else 1.3
            axes[0].plot(epochs, mean, lw=width, **kw)
            axes[0].fill_between(epochs, mean - sd, mean + sd, color=color, alpha=0.15, lw=0)
            if spec.backend is not None:
                calls = np.array([s["calls"] for s in seeds]).mean(0)
                axes[1].plot(calls, mean, lw=width, **kw)
                axes[1].fill_between(calls, mean - sd, mean + sd, color=color, alpha=0.15, lw=0)
                rel = np.array([s["grad_rel_err"] for s in seeds], dtype=float)
                if np.isfinite(rel).all():
                    r_mean = rel.mean(0)
                    r_sd = rel.std(0, ddof=1) if len(seeds) > 1 else np.zeros_like(r_mean)
                    axes[2].plot(epochs, r_mean, lw=width, **kw)
                    low = np.maximum(r_mean - r_sd, r_mean * 0.05)
                    axes[2].fill_between(epochs, low, r_mean + r_sd, color=color, alpha=0.15, lw=0)
        for ax in axes[:2]:
            ax.axhline(self.target_nll_, color="grey", lw=0.8, ls=":")
            ax.set_ylabel("training NLL (nats, " + self.nll_method_ + ")")
        axes[0].set_xlabel("epoch")
        axes[0].set_title("NLL per epoch")
        axes[1].set_xlabel("backend calls (cumulative)")
        axes[1].set_title("NLL against backend calls")
        axes[2].set_xlabel("epoch")
        axes[2].set_yscale("log")
        axes[2].set_ylabel("|g_run - g_exact| / |g_exact|")
        axes[2].set_title("gradient error (data term from shots)")
        band = f"band: +- 1 sd over {len(self.seeds)} seeds" if len(self.seeds) > 1 else "1 seed"
        fig.suptitle(f"{self.model.upper()}: exact against shot-based DO-EM (simulators; {band})")
        axes[0].legend(fontsize=7)
        fig.tight_layout()
        atomic_write(path, lambda fh: fig.savefig(fh, format="png", dpi=100))
        plt.close(fig)

    def record(self, command: str | None = None, dataset: dict | None = None) -> dict[str, Any]:
        """Everything as JSON-ready data: settings, every curve, the summary, versions."""
        self._check_fitted()
        return {
            "command": command,
            "what": "simulators only: " + "; ".join(sorted({r.kind for r in self.runs})),
            "dataset": dataset,
            "settings": {
                "model": self.model,
                "n_hidden": self.n_hidden,
                "model_options": self.model_options,
                "epochs": self.epochs,
                "batch_size": self.batch_size,
                "learning_rate": self.learning_rate,
                "seeds": list(self.seeds),
                "train_options": self.train_options,
                # every training setting the runs share, defaults included
                "train_config": self.train_config(),
                "nll_method": self.nll_method_,
                "target_nll": self.target_nll_,
            },
            "summary": self.summary(),
            "runs": [
                {"spec": asdict(r["spec"]), "label": r["spec"].label, "seeds": r["seeds"]}
                for r in self.results_
            ],
            "versions": {"python": sys.version.split()[0], **package_versions()},
            "machine": f"{platform.processor() or platform.machine()}, torch threads "
            f"{torch.get_num_threads()}",
            "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        }

    def save(
        self, out_dir: str | Path, command: str | None = None, dataset: dict | None = None
    ) -> dict[str, Path]:
        """Write ``compare.md`` (table), ``compare.png`` (curves) and ``compare.json`` (record)
        to ``out_dir``, each atomically. Returns their paths."""
        import json

        from qdoem.io import atomic_write_text

        out = Path(out_dir)
        if out.exists() and not out.is_dir():
            raise ConfigError(f"output folder {str(out)!r} is a file")
        paths = {k: out / f"compare.{k}" for k in ("md", "png", "json")}
        header = [
            f"# {self.model.upper()}: exact against shot-based DO-EM",
            "",
            "Simulators only, no quantum hardware: "
            + "; ".join(sorted({r.kind for r in self.runs}))
            + ".",
            "",
        ]
        if command:
            header += ["Command:", "", f"    {command}", ""]
        atomic_write_text(paths["md"], "\n".join(header) + "\n" + self.table())
        self.plot(paths["png"])
        text = json.dumps(self.record(command, dataset), indent=1, default=_json_default)
        atomic_write_text(paths["json"], text + "\n")
        return paths


def _first_reach(seed: dict[str, Any], target: float) -> tuple[int, int] | None:
    """``(epoch, cumulative calls)`` at the end of the first epoch (from 1: the initialisation
    does not count) whose NLL is at most ``target``."""
    for epoch, (nll, calls) in enumerate(zip(seed["nll"], seed["calls"], strict=True)):
        if epoch > 0 and nll <= target:
            return epoch, calls
    return None


def _sd(values: np.ndarray) -> float:
    return float(np.std(values, ddof=1)) if len(values) > 1 else 0.0


def _mean_or_none(values: list) -> float | None:
    return None if any(v is None for v in values) else float(np.mean(values))


def _fmt(value: float | None, form: str, missing: str = "n/a") -> str:
    return missing if value is None else form.format(value)


def _json_default(value: Any) -> Any:
    if isinstance(value, RunSpec):
        return asdict(value)
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, torch.dtype):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")
