"""Ablation of the q1 training-speed claim (issue 14): which factor buys what.

Every method trains the same QRBM / CQ-LVM Hamiltonian family (see :mod:`bench.q1_speed.run`)
on Amin et al.'s Bernoulli mixture from the same initialisations. The methods cross three
factors:

- **gradient oracle**: *dense* (Amin et al.'s bound gradient, negative phase by exact
  diagonalisation of the 2^n Hamiltonian; or the exact full-QBM gradient through the 2^n x 2^n
  density matrix) or *closed form* (enumeration of the 2^n_visible visible states with the
  one-qubit closed forms). All three give the same gradient on this family (to ~1e-12,
  ``tests/comparison/test_gradients.py``), so they differ in cost only;
- **optimiser**: fixed-step gradient ascent (GA) or L-BFGS (scipy, with its line search) on the
  log-likelihood;
- **EM**: DO-EM (closed-form E-step; M-step = one gradient step, or L-BFGS on the concave Q with
  at most ``--inner-iters`` iterations per E-step).

One *evaluation* is one computation of the expensive part: one dense diagonalisation (dense
oracles) or one enumeration of log Z and the model statistics (closed form, and every Q
evaluation in DO-EM's M-step). DO-EM's evaluations are counted from the M-step's ``nfev``.

**Targets** do not depend on any time cap. Per data seed the *best achievable* KL is
``KL* = min over the init seeds of a long closed-form L-BFGS run`` (``--ref-maxiter`` iterations,
gtol 1e-10, ftol 1e-15, from each run's own initialisation). Per run with starting KL0 the
targets are ``KL* + f (KL0 - KL*)`` for f in ``--fractions`` (default 50%, 10%, 1%). A run stops
when it reaches the tightest target, or at ``--max-evals`` evaluations or ``--run-seconds``
training seconds: those caps only decide whether a target counts as *not reached* (censored).

Timing covers the updates only (KL is evaluated outside the clock, after each update; for L-BFGS
after each iteration, for DO-EM after each E-step, so their evaluations-to-target are counted at
those points). BLAS is single-threaded.

Usage:  python -m bench.q1_speed.ablation [--sizes 6 8 10] [--data-seeds 0 1 2] [--repeats 5]
                                          [--run-seconds 5] [--lr-sweep 0.3 1 3 10]
                                          [--doem-visible 20 24] [--doem-esteps 6]
(the bracketed values are the defaults, except ``--doem-visible``: none by default; commands
with their measured wall times in ``bench/q1_speed/README.md``).
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import platform  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
from scipy.optimize import minimize  # noqa: E402

from qdoem.comparison.amin_bound import bound_gradient, bound_value_and_gradient  # noqa: E402
from qdoem.comparison.full_qbm import exact_gradient  # noqa: E402
from qdoem.comparison.full_qbm import (  # noqa: E402
    log_likelihood_and_gradient as dense_value_and_gradient,
)
from qdoem.comparison.metrics import kl_from_distribution, kl_to_data  # noqa: E402
from qdoem.data.synthetic import BernoulliMixture, empirical_distribution  # noqa: E402
from qdoem.io import atomic_write_text  # noqa: E402
from qdoem.theory.qrbm import (  # noqa: E402
    QRBMParams,
    check_visible,
    check_weights,
    e_step,
    init_params,
    log_likelihood_and_gradient,
    log_likelihood_gradient,
    log_partition,
    m_step_result,
    one_step_gradient,
    q_function,
)

FRACTIONS = (0.5, 0.1, 0.01)


def method_table(inner_iters: list[int]) -> dict[str, dict]:
    """The ablation's methods: name -> (oracle, optimiser, factor it isolates)."""
    table = {
        "Amin bound, GA": dict(oracle="amin", opt="ga"),
        "Full QBM, GA": dict(oracle="full", opt="ga"),
        "Amin bound, L-BFGS": dict(oracle="amin", opt="lbfgs"),
        "Full QBM, L-BFGS": dict(oracle="full", opt="lbfgs"),
        "closed form, GA": dict(oracle="closed", opt="ga"),
        "closed form, L-BFGS": dict(oracle="closed", opt="lbfgs"),
        "DO-EM 1-step": dict(oracle="closed", opt="doem1"),
    }
    for it in inner_iters:
        table[f"DO-EM L-BFGS M-step ({it} it)"] = dict(oracle="closed", opt="doem", inner=it)
    return table


def _gradient(oracle: str, v, q):
    fn = {"amin": bound_gradient, "full": exact_gradient, "closed": log_likelihood_gradient}
    return lambda p: fn[oracle](v, q, p)


def _value_and_gradient(oracle: str, v, q):
    fn = {
        "amin": bound_value_and_gradient,
        "full": dense_value_and_gradient,
        "closed": log_likelihood_and_gradient,
    }
    return lambda p: fn[oracle](v, q, p)


class Run:
    """One training run: KL, cumulative evaluations, E-steps and training seconds per record."""

    def __init__(self, v, q, p0: QRBMParams, stop_kl: float, max_evals: int, max_seconds: float):
        self.v, self.q, self.p0 = v, q, p0
        self.stop_kl, self.max_evals, self.max_seconds = stop_kl, max_evals, max_seconds
        self.kl, self.evals, self.esteps, self.seconds = [], [], [], []
        self.stopped = ""
        self.record(p0, 0, 0, 0.0)

    def record(self, p: QRBMParams, evals: int, esteps: int, seconds: float) -> bool:
        """Store the state after an update; True when the run should stop."""
        kl = kl_to_data(self.v, self.q, p)
        self.kl.append(kl)
        self.evals.append(int(evals))
        self.esteps.append(int(esteps))
        self.seconds.append(float(seconds))
        if not np.isfinite(kl):
            self.stopped = "diverged: non-finite KL"
        elif kl <= self.stop_kl:
            self.stopped = "reached the tightest target"
        elif evals >= self.max_evals:
            self.stopped = f"evaluation cap {self.max_evals}"
        elif seconds >= self.max_seconds:
            self.stopped = f"time cap {self.max_seconds:g} s"
        return bool(self.stopped)

    def first(self, target: float) -> dict | None:
        for i, kl in enumerate(self.kl):
            if kl <= target:
                return dict(evals=self.evals[i], esteps=self.esteps[i], seconds=self.seconds[i])
        return None


def _step_loop(run: Run, update, evals_per_update) -> None:
    """p <- update(p) until the run stops; ``update`` returns (p, evaluations it used)."""
    p, evals, esteps, elapsed = run.p0.copy(), 0, 0, 0.0
    while True:
        t0 = time.perf_counter()
        try:
            p, used = update(p)
        except (ValueError, FloatingPointError) as err:  # non-finite parameters
            run.stopped = f"diverged: {err}"
            return
        elapsed += time.perf_counter() - t0
        evals += used
        esteps += evals_per_update
        if run.record(p, evals, esteps, elapsed):
            return


def _ga_update(grad, lr):
    def update(p):
        x = p.to_vector() + lr * grad(p)
        return QRBMParams.from_vector(x, p.n_visible, p.n_hidden), 1

    return update


def _lbfgs(run: Run, fg) -> None:
    """scipy L-BFGS-B on -L; KL recorded after every iteration outside the clock."""
    m, k = run.p0.n_visible, run.p0.n_hidden
    state = dict(evals=0, cb=0.0, t0=time.perf_counter())

    def fun(x):
        state["evals"] += 1
        val, grad = fg(QRBMParams.from_vector(x, m, k))
        return -val, -grad

    def callback(intermediate_result):
        t_in = time.perf_counter()
        elapsed = t_in - state["t0"] - state["cb"]
        p = QRBMParams.from_vector(intermediate_result.x, m, k)
        stop = run.record(p, state["evals"], 0, elapsed)
        state["cb"] += time.perf_counter() - t_in
        if stop:
            raise StopIteration

    opts = dict(maxiter=10**6, maxfun=10**7, gtol=1e-12, ftol=1e-16)
    res = minimize(
        fun, run.p0.to_vector(), jac=True, method="L-BFGS-B", callback=callback, options=opts
    )
    if not run.stopped:
        run.stopped = f"L-BFGS stopped: {res.message}"


def train(spec: dict, v, q, p0, stop_kl, max_evals, max_seconds, lr) -> Run:
    """Run one method until the tightest target or a cap.

    ``v`` and ``q`` are checked once here; DO-EM's E-steps then skip the checks
    (``check_input=False``), as the closed-form gradient does, so that DO-EM 1-step and
    closed-form GA differ in nothing but the name (same iterates, same work per step).
    """
    v = check_visible(v, p0.n_visible)
    q = check_weights(q, len(v))
    run = Run(v, q, p0, stop_kl, max_evals, max_seconds)
    opt = spec["opt"]
    if opt == "ga":
        _step_loop(run, _ga_update(_gradient(spec["oracle"], v, q), lr), 0)
    elif opt == "lbfgs":
        _lbfgs(run, _value_and_gradient(spec["oracle"], v, q))
    elif opt == "doem1":
        _step_loop(run, _ga_update(lambda p: one_step_gradient(v, q, p, check_input=False), lr), 1)
    elif opt == "doem":

        def update(p):
            p_new, res = m_step_result(e_step(v, q, p, check_input=False), p, spec["inner"])
            return p_new, int(res.nfev)

        _step_loop(run, update, 1)
    elif opt == "doem-ga":
        # DO-EM with a fixed-step M-step: `inner` gradient steps of size lr on the concave Q.
        def update(p):
            s_eta = e_step(v, q, p, check_input=False)
            x = p.to_vector()
            for _ in range(spec["inner"]):
                x = x + lr * q_function(x, s_eta, p.n_visible, p.n_hidden)[1]
            return QRBMParams.from_vector(x, p.n_visible, p.n_hidden), spec["inner"]

        _step_loop(run, update, 1)
    else:
        raise ValueError(f"unknown optimiser {opt!r}")
    return run


def reference_kl(v, q, p0: QRBMParams, maxiter: int) -> float:
    """Final KL of a long closed-form L-BFGS run from ``p0`` (defines the best achievable)."""
    m, k = p0.n_visible, p0.n_hidden

    def fun(x):
        val, grad = log_likelihood_and_gradient(v, q, QRBMParams.from_vector(x, m, k))
        return -val, -grad

    opts = dict(maxiter=maxiter, maxfun=10 * maxiter, gtol=1e-10, ftol=1e-15)
    res = minimize(fun, p0.to_vector(), jac=True, method="L-BFGS-B", options=opts)
    return kl_to_data(v, q, QRBMParams.from_vector(res.x, m, k))


def split(n_total: int) -> tuple[int, int]:
    n_hidden = n_total // 2
    return n_total - n_hidden, n_hidden


def problem(n_visible: int, data_seed: int, args):
    mix = BernoulliMixture(n_visible, n_modes=args.modes, p=args.p, seed=data_seed)
    v, q = empirical_distribution(mix.sample(args.n_samples, seed=1000 + data_seed))
    return mix, v, q


def run_size(n_total: int, args, methods: dict) -> dict:
    m, k = split(n_total)
    out = dict(
        n_total=n_total, n_visible=m, n_hidden=k, seeds=[], runs={name: [] for name in methods}
    )
    print(f"\n=== {n_total} qubits: {m} visible + {k} hidden ===", flush=True)
    for ds in args.data_seeds:
        _, v, q = problem(m, ds, args)
        inits = [init_params(m, k, seed=100 * ds + r) for r in range(args.repeats)]
        refs = [reference_kl(v, q, p0, args.ref_maxiter) for p0 in inits]
        kl_star = min(refs)
        out["seeds"].append(dict(data_seed=ds, support=len(q), kl_star=kl_star, ref_kls=refs))
        print(f"  data seed {ds}: {len(q)} distinct rows, KL* = {kl_star:.3e}", flush=True)
        for r, p0 in enumerate(inits):
            kl0 = kl_to_data(v, q, p0)
            targets = {f: kl_star + f * (kl0 - kl_star) for f in args.fractions}
            stop = min(targets.values())
            for name, spec in methods.items():
                run = train(spec, v, q, p0, stop, args.max_evals, args.run_seconds, args.lr)
                hits = {str(f): run.first(t) for f, t in targets.items()}
                n_upd = max(len(run.kl) - 1, 1)
                out["runs"][name].append(
                    dict(
                        data_seed=ds,
                        repeat=r,
                        kl0=kl0,
                        final_kl=run.kl[-1],
                        evals=run.evals[-1],
                        seconds=run.seconds[-1],
                        s_per_eval=run.seconds[-1] / max(run.evals[-1], 1),
                        updates=n_upd,
                        stopped=run.stopped,
                        hits=hits,
                        kl_increases=int(np.sum(np.diff(run.kl) > 1e-12)),
                    )
                )
        print(f"    done data seed {ds}", flush=True)
    return out


def _median_spread(xs: list[float]) -> tuple[float, float, float]:
    # Not reached = +inf; a finite stand-in keeps the quantile interpolation free of inf - inf.
    big = 1e300
    a = np.minimum(np.asarray(xs, dtype=float), big)
    out = (np.median(a), np.quantile(a, 0.25), np.quantile(a, 0.75))
    return tuple(math.inf if x >= big else float(x) for x in out)


def summarise_size(res: dict, fractions) -> list[str]:
    """Markdown table: per method and target, median [IQR] evaluations and seconds, reached n/N.

    Medians are over every run (data seeds x repeats); a run that did not reach a target counts
    as +inf, so a median shows as "n.r." when half or more did not reach it.
    """
    lines = [
        f"### {res['n_total']} qubits ({res['n_visible']} visible + {res['n_hidden']} hidden)",
        "",
        "KL* per data seed: "
        + ", ".join(f"{s['data_seed']}: {s['kl_star']:.3e}" for s in res["seeds"]),
        "",
    ]
    head = "| method | s/eval (median) |"
    rule = "| --- | --- |"
    for f in fractions:
        head += f" evals to {f:.0%} | seconds to {f:.0%} | reached |"
        rule += " --- | --- | --- |"
    lines += [head, rule]
    for name, runs in res["runs"].items():
        row = f"| {name} | {np.median([r['s_per_eval'] for r in runs]):.2e} |"
        for f in fractions:
            hits = [r["hits"][str(f)] for r in runs]
            ok = [h for h in hits if h is not None]
            ev = [h["evals"] if h else math.inf for h in hits]
            sec = [h["seconds"] if h else math.inf for h in hits]
            if len(ok) * 2 > len(hits):
                me, lo, hi = _median_spread(ev)
                ms, slo, shi = _median_spread(sec)
                row += f" {me:.0f} [{lo:.0f}, {_fmt(hi, '.0f')}] |"
                row += f" {ms:.3g} [{slo:.3g}, {_fmt(shi, '.3g')}] |"
            else:
                row += " n.r. | n.r. |"
            row += f" {len(ok)}/{len(hits)} |"
        lines.append(row)
    return lines


def _fmt(x: float, spec: str) -> str:
    return "n.r." if not math.isfinite(x) else format(x, spec)


def ratios(res: dict, fraction: float) -> list[str]:
    """Median ratios of seconds-to-target between method pairs that differ in one factor."""
    pairs = [
        ("Full QBM, GA", "closed form, GA", "gradient oracle (dense full QBM -> closed form), GA"),
        ("Amin bound, GA", "closed form, GA", "gradient oracle (dense Amin -> closed form), GA"),
        ("Full QBM, L-BFGS", "closed form, L-BFGS", "gradient oracle (full QBM -> closed), L-BFGS"),
        ("closed form, GA", "closed form, L-BFGS", "optimiser (GA -> L-BFGS), closed form"),
        ("closed form, GA", "DO-EM 1-step", "EM with a 1-step M-step vs GA (same iterates)"),
    ]
    doem = [n for n in res["runs"] if n.startswith("DO-EM L-BFGS")]
    pairs += [("closed form, L-BFGS", n, f"EM: L-BFGS on L -> {n}") for n in doem]
    pairs += [("closed form, GA", n, f"EM + optimiser: closed-form GA -> {n}") for n in doem]
    lines = []
    for slow, fast, what in pairs:
        if slow not in res["runs"] or fast not in res["runs"]:
            continue
        rs, re_ = [], []
        for a, b in zip(res["runs"][slow], res["runs"][fast], strict=True):
            ha, hb = a["hits"][str(fraction)], b["hits"][str(fraction)]
            if ha and hb and hb["seconds"] > 0:
                rs.append(ha["seconds"] / hb["seconds"])
                re_.append(ha["evals"] / max(hb["evals"], 1))
        n = len(res["runs"][slow])
        if rs:
            lines.append(
                f"| {what} | {slow} / {fast} | {np.median(rs):.3g} "
                f"[{np.min(rs):.3g}, {np.max(rs):.3g}] | {np.median(re_):.3g} | {len(rs)}/{n} |"
            )
        else:
            lines.append(f"| {what} | {slow} / {fast} | n.r. | n.r. | 0/{n} |")
    return lines


def cost_lines(res: dict, fractions) -> list[str]:
    """Cost per evaluation of the dense oracles over the closed form, and DO-EM's E-steps.

    The dense and closed-form gradients are equal on this family, so with the same optimiser
    they take the same steps (equal evaluations to every target wherever both ran); the ratio
    of seconds per evaluation is then the whole time ratio, also where the dense runs hit the
    time cap before a target.
    """
    runs = res["runs"]
    lines = []
    pairs = [
        (f"{dense}, {opt}", f"closed form, {opt}")
        for opt in ("GA", "L-BFGS")
        for dense in ("Amin bound", "Full QBM")
    ]
    # Same iterates, same oracle: the ratio is the cost of anything DO-EM adds per step.
    pairs.append(("DO-EM 1-step", "closed form, GA"))
    for slow, fast in pairs:
        d, closed = runs.get(slow), runs.get(fast)
        if not d or not closed:
            continue
        r = [a["s_per_eval"] / b["s_per_eval"] for a, b in zip(d, closed, strict=True)]
        same = all(
            a["hits"][str(f)]["evals"] == b["hits"][str(f)]["evals"]
            for a, b in zip(d, closed, strict=True)
            for f in fractions
            if a["hits"][str(f)] and b["hits"][str(f)]
        )
        lines.append(
            f"| {slow} / {fast} | {np.median(r):.3g} "
            f"[{np.min(r):.3g}, {np.max(r):.3g}] | {'yes' if same else 'no'} |"
        )
    if lines:
        lines = [
            "Seconds per evaluation, dense over closed form, and DO-EM 1-step over closed-form "
            "GA (median [min, max] over runs, each run's whole training time over its "
            "evaluations; 'same evals' = equal evaluations to every target both reached):",
            "",
            "| pair | s/eval ratio | same evals |",
            "| --- | --- | --- |",
            *lines,
            "",
        ]
    doem = [n for n in runs if n.startswith("DO-EM")]
    lines += ["DO-EM E-steps to each target (median [IQR]; runs that reached it):", ""]
    lines += ["| method | " + " | ".join(f"E-steps to {f:.0%}" for f in fractions) + " |"]
    lines += ["| --- |" + " --- |" * len(fractions)]
    for name in doem:
        cells = []
        for f in fractions:
            hits = [r["hits"][str(f)] for r in runs[name]]
            es = [h["esteps"] for h in hits if h]
            if es:
                me, lo, hi = _median_spread(es)
                cells.append(f"{me:.0f} [{lo:.0f}, {hi:.0f}] ({len(es)}/{len(hits)})")
            else:
                cells.append(f"n.r. (0/{len(hits)})")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return lines + [""]


def lr_sweep(args) -> dict:
    """Robustness to the step size, at one size: GA vs DO-EM with fixed-step or L-BFGS M-steps."""
    m, k = split(args.lr_size)
    rows = []
    for ds in args.data_seeds:
        _, v, q = problem(m, ds, args)
        inits = [init_params(m, k, seed=100 * ds + r) for r in range(args.repeats)]
        kl_star = min(reference_kl(v, q, p0, args.ref_maxiter) for p0 in inits)
        for r, p0 in enumerate(inits):
            kl0 = kl_to_data(v, q, p0)
            targets = {f: kl_star + f * (kl0 - kl_star) for f in args.fractions}
            stop = min(targets.values())
            specs = [
                ("closed form, GA", dict(opt="ga", oracle="closed"), lr) for lr in args.lr_sweep
            ]
            specs += [
                (
                    f"DO-EM, {args.lr_inner} fixed steps on Q",
                    dict(opt="doem-ga", inner=args.lr_inner),
                    lr,
                )
                for lr in args.lr_sweep
            ]
            specs += [
                ("closed form, L-BFGS", dict(opt="lbfgs", oracle="closed"), None),
                (
                    f"DO-EM L-BFGS M-step ({args.inner_iters[-1]} it)",
                    dict(opt="doem", inner=args.inner_iters[-1]),
                    None,
                ),
            ]
            for name, spec, lr in specs:
                run = train(spec, v, q, p0, stop, args.lr_max_evals, args.run_seconds, lr or 1.0)
                rows.append(
                    dict(
                        method=name,
                        lr=lr,
                        data_seed=ds,
                        repeat=r,
                        kl0=kl0,
                        kl_star=kl_star,
                        final_kl=run.kl[-1],
                        final_gap=(run.kl[-1] - kl_star) / (kl0 - kl_star),
                        evals=run.evals[-1],
                        stopped=run.stopped,
                        hits={str(f): run.first(t) for f, t in targets.items()},
                        kl_increases=int(np.sum(np.diff(run.kl) > 1e-12)),
                    )
                )
        print(f"  lr sweep: done data seed {ds}", flush=True)
    return dict(n_visible=m, n_hidden=k, rows=rows)


def summarise_lr(sweep: dict, fractions) -> list[str]:
    f = fractions[1] if len(fractions) > 1 else fractions[0]
    lines = [
        f"### Step-size sweep, {sweep['n_visible']} visible + {sweep['n_hidden']} hidden",
        "",
        f"| method | lr | evals to {f:.0%} (median [IQR]) | reached {f:.0%} | reached "
        f"{fractions[-1]:.0%} | median final gap | runs with a KL increase | diverged |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    keys = []
    for r in sweep["rows"]:
        if (r["method"], r["lr"]) not in keys:
            keys.append((r["method"], r["lr"]))
    for name, lr in keys:
        rs = [r for r in sweep["rows"] if r["method"] == name and r["lr"] == lr]
        hits = [r["hits"][str(f)] for r in rs]
        ev = [h["evals"] if h else math.inf for h in hits]
        ok = sum(h is not None for h in hits)
        ok_last = sum(r["hits"][str(fractions[-1])] is not None for r in rs)
        if ok * 2 > len(rs):
            me, lo, hi = _median_spread(ev)
            cell = f"{me:.0f} [{lo:.0f}, {_fmt(hi, '.0f')}]"
        else:
            cell = "n.r."
        gap = np.median([r["final_gap"] for r in rs])
        div = sum(r["stopped"].startswith("diverged") for r in rs)
        inc = sum(r["kl_increases"] > 0 for r in rs)
        lr_s = "-" if lr is None else f"{lr:g}"
        lines.append(
            f"| {name} | {lr_s} | {cell} | {ok}/{len(rs)} | {ok_last}/{len(rs)} | {gap:.2e} | "
            f"{inc}/{len(rs)} | {div}/{len(rs)} |"
        )
    return lines


def large_doem(n_visible: int, data_seed: int, args) -> dict:
    """DO-EM alone at a large visible size: exact KL to the data and to the mixture per E-step.

    One run: data seed ``data_seed`` (mixture and sample), initialisation seed ``data_seed``.
    """
    k = args.doem_hidden
    mix, v, q = problem(n_visible, data_seed, args)
    v = check_visible(v, n_visible)
    q = check_weights(q, len(v))
    p = init_params(n_visible, k, seed=data_seed)
    it = args.inner_iters[-1]
    rec = dict(
        n_visible=n_visible,
        n_hidden=k,
        data_seed=data_seed,
        support=len(q),
        inner_iters=it,
        esteps=[],
    )

    def measure(p, evals, secs):
        log_z = log_partition(p)
        t0 = time.perf_counter()
        kl_mix = kl_from_distribution(mix.probabilities, p, log_z=log_z)
        row = dict(
            evals=evals,
            seconds=secs,
            kl_data=kl_to_data(v, q, p, log_z=log_z),
            kl_mixture=kl_mix,
            kl_eval_seconds=time.perf_counter() - t0,
        )
        rec["esteps"].append(row)
        print(
            f"  {n_visible}v+{k}h seed {data_seed} E-step {len(rec['esteps']) - 1}: evals "
            f"{evals}, train "
            f"{secs:.1f} s, KL(data) {row['kl_data']:.4f}, KL(mixture) {kl_mix:.4f}",
            flush=True,
        )

    ent = float(-(q @ np.log(q)))
    rec["data_entropy"] = ent
    evals, secs = 0, 0.0
    measure(p, evals, secs)
    for _ in range(args.doem_esteps):
        t0 = time.perf_counter()
        p, res = m_step_result(e_step(v, q, p, check_input=False), p, it)
        secs += time.perf_counter() - t0
        evals += int(res.nfev)
        measure(p, evals, secs)
    return rec


def parse_args(argv=None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(
        prog="python -m bench.q1_speed.ablation", description=__doc__.split("\n")[0]
    )
    ap.add_argument(
        "--sizes", type=int, nargs="*", default=[6, 8, 10], help="total qubits, n//2 hidden"
    )
    ap.add_argument("--data-seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--repeats", type=int, default=5, help="initialisation seeds per data seed")
    ap.add_argument("--fractions", type=float, nargs="+", default=list(FRACTIONS))
    ap.add_argument("--inner-iters", type=int, nargs="+", default=[3, 10], help="DO-EM L-BFGS its")
    ap.add_argument("--lr", type=float, default=1.0, help="step size of GA and DO-EM 1-step")
    ap.add_argument("--max-evals", type=int, default=20000, help="evaluation cap per run")
    ap.add_argument("--run-seconds", type=float, default=5.0, help="training-time cap per run")
    ap.add_argument(
        "--dense-max-size", type=int, default=10, help="largest total size for dense oracles"
    )
    ap.add_argument("--ref-maxiter", type=int, default=5000)
    ap.add_argument("--n-samples", type=int, default=2000)
    ap.add_argument("--modes", type=int, default=8)
    ap.add_argument("--p", type=float, default=0.9)
    ap.add_argument("--lr-sweep", type=float, nargs="*", default=[0.3, 1.0, 3.0, 10.0])
    ap.add_argument("--lr-size", type=int, default=8, help="total qubits of the step-size sweep")
    ap.add_argument(
        "--lr-inner", type=int, default=10, help="fixed Q steps per E-step in the sweep"
    )
    ap.add_argument("--lr-max-evals", type=int, default=5000)
    ap.add_argument(
        "--doem-visible", type=int, nargs="*", default=[], help="DO-EM-only sizes, one run per seed"
    )
    ap.add_argument("--doem-hidden", type=int, default=8)
    ap.add_argument("--doem-esteps", type=int, default=6)
    ap.add_argument("--out", type=Path, default=Path("runs/q1_ablation"))
    args = ap.parse_args(argv)
    for n in args.sizes:
        if n < 2:
            ap.error(f"--sizes: every total qubit count must be >= 2, got {n}")
    if args.repeats < 1:
        ap.error(f"--repeats must be >= 1, got {args.repeats}")
    if any(not 0 < f < 1 for f in args.fractions):
        ap.error(f"--fractions must lie in (0, 1), got {args.fractions}")
    args.fractions = sorted(args.fractions, reverse=True)
    return args


def report(result: dict, args) -> str:
    fr = args.fractions
    lines = [
        "# q1 speed ablation",
        "",
        "Command: `" + result["command"] + "`",
        "",
        f"Machine: {result['machine']}; BLAS threads {os.environ['OPENBLAS_NUM_THREADS']}. "
        f"Runs per cell: {len(args.data_seeds)} data seeds x {args.repeats} initialisations. "
        f"GA and DO-EM 1-step: lr = {args.lr:g}. Caps per run: {args.max_evals} evaluations, "
        f"{args.run_seconds:g} training seconds. Targets: KL* + f (KL0 - KL*), "
        f"f = {', '.join(f'{f:.0%}' for f in fr)}.",
        "",
        "Load average (1, 5, 15 min) on this shared machine: "
        + "; ".join(
            f"{r['stage']}: {', '.join(f'{x:.1f}' for x in r['load'])}"
            for r in result.get("load_average", [])
        )
        + ".",
        "",
    ]
    for res in result["sizes"]:
        lines += summarise_size(res, fr) + [""]
        lines += [
            f"Ratios at the {fr[1] if len(fr) > 1 else fr[0]:.0%} target (median [min, max] of "
            "per-run seconds ratios; evaluations ratio; runs where both reached):",
            "",
            "| factor | pair | seconds ratio | evals ratio | runs |",
            "| --- | --- | --- | --- | --- |",
        ]
        lines += ratios(res, fr[1] if len(fr) > 1 else fr[0]) + [""]
        lines += cost_lines(res, fr)
    if result.get("lr_sweep"):
        lines += summarise_lr(result["lr_sweep"], fr) + [""]
    lines += summarise_large(result.get("large", []))
    if "wall_seconds" in result:
        lines += [f"Wall time of the whole command: {result['wall_seconds']:.0f} s.", ""]
    return "\n".join(lines)


def summarise_large(large: list[dict]) -> list[str]:
    """Per large size: median [min, max] over the runs (data seeds) at every E-step, then each run.

    With 3 runs the bracket is the full range, not an IQR.
    """
    lines = []
    sizes = sorted({(r["n_visible"], r["n_hidden"]) for r in large})
    for m, k in sizes:
        recs = [r for r in large if (r["n_visible"], r["n_hidden"]) == (m, k)]
        n_es = min(len(r["esteps"]) for r in recs)
        seeds = ", ".join(str(r.get("data_seed", 0)) for r in recs)
        ent = ", ".join(f"{r['data_entropy']:.3f}" for r in recs)
        lines += [
            f"### DO-EM alone, {m} visible + {k} hidden (L-BFGS M-step, {recs[0]['inner_iters']} "
            f"it; {len(recs)} run(s), data and init seeds {seeds}; data entropy {ent})",
            "",
            "Median [min, max] over the runs:",
            "",
            "| E-step | evals | train s | KL(data) | KL(mixture) |",
            "| --- | --- | --- | --- | --- |",
        ]
        for i in range(n_es):
            cell = []
            for key, spec in (
                ("evals", ".0f"),
                ("seconds", ".1f"),
                ("kl_data", ".4f"),
                ("kl_mixture", ".4f"),
            ):
                xs = [r["esteps"][i][key] for r in recs]
                cell.append(
                    f"{format(float(np.median(xs)), spec)} "
                    f"[{format(min(xs), spec)}, {format(max(xs), spec)}]"
                )
            lines.append(f"| {i} | " + " | ".join(cell) + " |")
        lines += [
            "",
            "Each run, first and last E-step (KL(mixture), KL(data)), training seconds, "
            "s per evaluation:",
            "",
            "| seed | support | KL(mixture) start -> end | KL(data) start -> end | train s "
            "| evals | s/eval |",
            "| --- | --- | --- | --- | --- | --- | --- |",
        ]
        for r in recs:
            a, b = r["esteps"][0], r["esteps"][-1]
            lines.append(
                f"| {r.get('data_seed', 0)} | {r['support']} | {a['kl_mixture']:.4f} -> "
                f"{b['kl_mixture']:.4f} | {a['kl_data']:.4f} -> {b['kl_data']:.4f} | "
                f"{b['seconds']:.1f} | {b['evals']} | {b['seconds'] / max(b['evals'], 1):.3g} |"
            )
        lines.append("")
    return lines


def report_from_json(path: Path) -> str:
    """Rebuild ``report.md`` from a saved ``ablation.json`` (its own arguments)."""
    result = json.loads(Path(path).read_text())
    return report(result, argparse.Namespace(**result["args"]))


def main(argv=None) -> int:
    args = parse_args(argv)
    t_start = time.perf_counter()
    args.out.mkdir(parents=True, exist_ok=True)
    inner = args.inner_iters
    result = dict(
        command="python -m bench.q1_speed.ablation "
        + " ".join(sys.argv[1:] if argv is None else argv),
        machine=f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
        args={k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        sizes=[],
        large=[],
        load_average=[],
    )
    all_methods = method_table(inner)
    # Warm-up so that first-call costs (imports, caches) hit no timed method.
    _, vw, qw = problem(2, 0, argparse.Namespace(**{**vars(args), "n_samples": 20}))
    for spec in all_methods.values():
        train(spec, vw, qw, init_params(2, 2), -1.0, 3, 1e9, args.lr)

    def load(stage: str) -> None:
        # Other processes share this machine: the load average says how contended timings were.
        result["load_average"].append(dict(stage=stage, load=list(os.getloadavg())))

    def save():
        atomic_write_text(args.out / "ablation.json", json.dumps(result, indent=1))
        atomic_write_text(args.out / "report.md", report(result, args))

    for n in args.sizes:
        methods = {
            k: s
            for k, s in all_methods.items()
            if s["oracle"] == "closed" or n <= args.dense_max_size
        }
        load(f"start {n} qubits")
        result["sizes"].append(run_size(n, args, methods))
        load(f"end {n} qubits")
        save()
    if args.lr_sweep:
        print(f"\n=== step-size sweep at {args.lr_size} qubits ===", flush=True)
        load("start lr sweep")
        result["lr_sweep"] = lr_sweep(args)
        load("end lr sweep")
        save()
    for m in args.doem_visible:
        print(f"\n=== DO-EM alone, {m} visible + {args.doem_hidden} hidden ===", flush=True)
        for ds in args.data_seeds:
            load(f"start DO-EM {m} visible, seed {ds}")
            result["large"].append(large_doem(m, ds, args))
            load(f"end DO-EM {m} visible, seed {ds}")
            save()
    result["wall_seconds"] = time.perf_counter() - t_start
    save()
    print("\n" + report(result, args))
    print(f"wrote {args.out / 'ablation.json'} and {args.out / 'report.md'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
