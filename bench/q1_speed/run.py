"""Benchmark: DO-EM vs gradient-based QBM training on Amin et al.'s Bernoulli mixture (issue 5).

Every method trains the QRBM / CQ-LVM Hamiltonian family
    H = -a.v - sum_j (b_j + sum_i W_ij v_i) n_j - sum_j Gamma_j X_j
(visible Z fields, hidden Z fields, visible-hidden ZZ couplings, hidden X fields; n = (I - Z)/2),
from the same initialisation, on the same empirical data set, with the same seeds:

- DO-EM          closed-form E-step, exact concave M-step (L-BFGS, exact log Z over 2^n_visible)
- DO-EM 1-step   one M-step gradient step per E-step (= exact likelihood gradient, closed form)
- Amin bQRBM     Amin et al.'s bound gradient; negative phase by exact diagonalisation (2^n)
- Full QBM       exact log-likelihood gradient from the full 2^n x 2^n density matrix

Timing covers the updates only (the per-epoch KL evaluation is identical for every method and is
excluded). BLAS runs single-threaded so that the shared machine does not distort the timings.
Peak memory is measured in a separate one-epoch run under tracemalloc (numpy allocations included).

Usage:  python -m bench.q1_speed [--sizes 8 10 12] [--visible-stretch 20 24] [--quick]

The speed-up ratios printed here mix three factors (the cost of the dense vs closed-form
gradient, the optimiser, and EM itself); ``python -m bench.q1_speed.ablation`` separates them
(issue 14).
"""

from __future__ import annotations

import os

# Single-threaded BLAS for every method, set before numpy loads (oversubscription on a shared
# 2-core machine made a 1024 x 1024 eigh 30x slower).
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import resource  # noqa: E402
import time  # noqa: E402
import tracemalloc  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from qdoem.comparison.amin_bound import bound_gradient  # noqa: E402
from qdoem.comparison.full_qbm import exact_gradient, memory_estimate_bytes  # noqa: E402
from qdoem.comparison.metrics import TrainHistory  # noqa: E402
from qdoem.comparison.training import (  # noqa: E402
    gradient_ascent,  # noqa: E402
    train_doem,
    train_doem_one_step,
)
from qdoem.data.synthetic import BernoulliMixture, empirical_distribution  # noqa: E402
from qdoem.theory.qrbm import init_params  # noqa: E402

GIB = 2.0**30
METHODS = ("DO-EM", "DO-EM 1-step", "Amin bQRBM", "Full QBM")
BASELINES = ("Amin bQRBM", "Full QBM")


def split(n_total: int) -> tuple[int, int]:
    """Visible/hidden split for a total qubit count: n_hidden = n // 2, n_visible = n - n_hidden."""
    n_hidden = n_total // 2
    return n_total - n_hidden, n_hidden


def parse_args(argv=None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(
        prog="python -m bench.q1_speed", description=__doc__.split("\n")[0]
    )
    ap.add_argument(
        "--sizes",
        type=int,
        nargs="*",
        default=None,
        help="total qubit counts; split n_hidden = n//2 (default 8 10 12; 6 8 with --quick)",
    )
    ap.add_argument(
        "--visible-stretch",
        type=int,
        nargs="*",
        default=[],
        help="extra DO-EM runs with this many visible qubits and --stretch-hidden hidden "
        "(default none; the ablation's --doem-visible runs them with repeats)",
    )
    ap.add_argument("--stretch-hidden", type=int, default=8)
    ap.add_argument("--quick", action="store_true", help="tiny sizes and budgets (smoke test)")
    ap.add_argument("--epochs-grad", type=int, default=300, help="epochs of the gradient methods")
    ap.add_argument("--epochs-doem", type=int, default=100, help="DO-EM epochs (E-steps)")
    ap.add_argument("--inner-iters", type=int, default=10, help="L-BFGS iterations per M-step")
    ap.add_argument("--lr", type=float, default=1.0, help="learning rate of every gradient method")
    ap.add_argument("--time-cap", type=float, default=60.0, help="training seconds per method")
    ap.add_argument(
        "--mem-cap-gib",
        type=float,
        default=4.0,
        help="skip dense 2^n baselines whose estimated peak exceeds this",
    )
    ap.add_argument("--n-samples", type=int, default=2000)
    ap.add_argument("--modes", type=int, default=8)
    ap.add_argument("--p", type=float, default=0.9)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-memory", action="store_true", help="skip the tracemalloc runs")
    ap.add_argument("--out", type=Path, default=Path("runs/q1_speed"))
    args = ap.parse_args(argv)
    if args.sizes is None:
        args.sizes = [6, 8] if args.quick else [8, 10, 12]
    if args.quick:
        args.epochs_grad, args.epochs_doem, args.time_cap = 30, 10, 20.0
    for n in args.sizes:
        if n < 2:
            raise SystemExit(f"--sizes: every total qubit count must be >= 2, got {n}")
    return args


def run_method(name, v, q, p0, args, epochs_scale=1.0, time_cap=None):
    """Train one method; returns its TrainHistory."""
    cap = args.time_cap if time_cap is None else time_cap
    eg = max(1, int(args.epochs_grad * epochs_scale))
    if name == "DO-EM":
        ed = max(1, int(args.epochs_doem * epochs_scale))
        inner = args.inner_iters if epochs_scale >= 1 else min(args.inner_iters, 2)
        return train_doem(v, q, p0, ed, inner, cap)[1]
    if name == "DO-EM 1-step":
        return train_doem_one_step(v, q, p0, args.lr, eg, cap)[1]
    grad = bound_gradient if name == "Amin bQRBM" else exact_gradient
    _, hist = gradient_ascent(name, lambda p: grad(v, q, p), v, q, p0, args.lr, eg, cap)
    return hist


def peak_memory(name, v, q, p0, args) -> float:
    """Peak traced bytes of a one-epoch run (tracemalloc; numpy registers its buffers)."""
    tracemalloc.start()
    tracemalloc.reset_peak()
    run_method(name, v, q, p0, args, epochs_scale=1e-9, time_cap=1e9)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def run_size(n_visible: int, n_hidden: int, args) -> dict:
    n = n_visible + n_hidden
    mix = BernoulliMixture(n_visible, n_modes=args.modes, p=args.p, seed=args.seed)
    v, q = empirical_distribution(mix.sample(args.n_samples, seed=args.seed + 1))
    p0 = init_params(n_visible, n_hidden, seed=args.seed)
    out = {
        "n_visible": n_visible,
        "n_hidden": n_hidden,
        "n_total": n,
        "support": len(q),
        "methods": {},
    }
    print(
        f"\n=== {n} qubits: {n_visible} visible + {n_hidden} hidden; "
        f"{args.n_samples} samples, {len(q)} distinct ===",
        flush=True,
    )
    for name in METHODS:
        rec = {}
        if name in BASELINES:
            need = memory_estimate_bytes(n)
            if need > args.mem_cap_gib * GIB:
                rec["skipped"] = (
                    f"dense 2^{n} x 2^{n} float64 needs ~{need / GIB:.3g} GiB "
                    f"> cap {args.mem_cap_gib:g} GiB"
                )
                print(f"  {name:13s} skipped: {rec['skipped']}", flush=True)
                out["methods"][name] = rec
                continue
        t0 = time.perf_counter()
        hist = run_method(name, v, q, p0, args)
        rec.update(
            kl=hist.kl,
            seconds=hist.seconds,
            stopped=hist.stopped,
            wall_incl_eval=time.perf_counter() - t0,
        )
        if not args.no_memory:
            rec["peak_mem_bytes"] = peak_memory(name, v, q, p0, args)
        print(
            f"  {name:13s} epochs {hist.epochs:4d}  train {hist.seconds[-1]:9.3f} s  "
            f"final KL {hist.final_kl:.5f}  {hist.stopped}",
            flush=True,
        )
        out["methods"][name] = rec
    return out


def _hist(rec: dict, name: str) -> TrainHistory:
    return TrainHistory(name, list(rec["kl"]), list(rec["seconds"]), rec.get("stopped", ""))


def summarise(res: dict) -> list[str]:
    """Table lines for one size: per method, plus speed ratios at each baseline's final KL."""
    ran = {k: _hist(r, k) for k, r in res["methods"].items() if "kl" in r}
    target = max(h.final_kl for h in ran.values())
    lines = [
        f"{res['n_total']} qubits ({res['n_visible']} visible + {res['n_hidden']} hidden); "
        f"common KL target = max final KL = {target:.5f}",
        f"  {'method':13s} {'epochs':>6s} {'train s':>10s} {'s/epoch':>10s} {'final KL':>9s} "
        f"{'t->target':>10s} {'ep->tgt':>7s} {'peak MiB':>9s}",
    ]
    for name in METHODS:
        rec = res["methods"][name]
        if name not in ran:
            lines.append(f"  {name:13s} skipped: {rec['skipped']}")
            continue
        h = ran[name]
        t = h.time_to_reach(target)
        mem = rec.get("peak_mem_bytes")
        lines.append(
            f"  {name:13s} {h.epochs:6d} {h.seconds[-1]:10.3f} "
            f"{h.seconds[-1] / max(h.epochs, 1):10.4f} "
            f"{h.final_kl:9.5f} {t if t is not None else float('nan'):10.4f} "
            f"{h.epoch_to_reach(target)!s:>7s} {mem / 2**20 if mem else float('nan'):9.2f}"
        )
    for base in BASELINES:
        if base not in ran:
            continue
        b = ran[base]
        kl_b = b.final_kl
        t_b = b.time_to_reach(kl_b)
        for fast in ("DO-EM", "DO-EM 1-step"):
            t_f = ran[fast].time_to_reach(kl_b)
            if t_f is None:
                lines.append(f"  {fast} never reached {base}'s final KL {kl_b:.5f}")
            else:
                ratio = t_b / t_f if t_f > 0 else float("inf")
                lines.append(
                    f"  speed-up of {fast:12s} over {base:10s} at its final KL "
                    f"{kl_b:.5f}: {t_b:.3f} s / {t_f:.4f} s = {ratio:,.1f}x"
                )
    lines.append(
        "  (these ratios mix the gradient's cost (dense vs closed form), the optimiser and EM;"
        " python -m bench.q1_speed.ablation separates them)"
    )
    return lines


def plot(results: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(results), 2, figsize=(11, 3.2 * len(results)), squeeze=False)
    for row, res in zip(axes, results, strict=True):
        for name, rec in res["methods"].items():
            if "kl" not in rec:
                continue
            kl = np.asarray(rec["kl"])
            row[0].plot(np.arange(len(kl)), kl, label=name)
            # Entry 0 is at t = 0; drop it on the log-time axis.
            row[1].plot(np.asarray(rec["seconds"])[1:], kl[1:], label=name)
        title = f"{res['n_total']} qubits ({res['n_visible']}v + {res['n_hidden']}h)"
        row[0].set(
            xlabel="epoch", ylabel="KL(data || model)", title=title, xscale="symlog", yscale="log"
        )
        row[1].set(
            xlabel="training wall time [s]",
            ylabel="KL(data || model)",
            title=title,
            xscale="log",
            yscale="log",
        )
        row[0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main(argv=None) -> int:
    args = parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    configs = [split(n) for n in args.sizes]
    configs += [(m, args.stretch_hidden) for m in args.visible_stretch]
    print(
        "Hamiltonian family (all methods): QRBM / CQ-LVM, H = -a.v - sum_j (b + W^T v)_j n_j "
        "- sum_j Gamma_j X_j"
    )
    print(
        f"Split: n_hidden = n_total // 2 for --sizes; {args.stretch_hidden} hidden for the "
        f"visible stretch runs. Data: Bernoulli mixture, {args.modes} modes, p = {args.p}, "
        f"{args.n_samples} samples, seed {args.seed}. lr = {args.lr} (all gradient methods), "
        f"DO-EM L-BFGS iters per M-step = {args.inner_iters}, time cap {args.time_cap:g} s, "
        f"dense-baseline memory cap {args.mem_cap_gib:g} GiB, BLAS threads = "
        f"{os.environ['OPENBLAS_NUM_THREADS']}."
    )
    # Warm-up on a tiny problem so first-call costs (lazy imports, caches) hit no timed method.
    warm = argparse.Namespace(**{**vars(args), "epochs_grad": 2, "epochs_doem": 2})
    vw, qw = empirical_distribution(BernoulliMixture(2, seed=0).sample(20))
    for name in METHODS:
        run_method(name, vw, qw, init_params(2, 2), warm)
    results = []
    for m, k in configs:
        results.append(run_size(m, k, args))
        (args.out / "results.json").write_text(
            json.dumps({"args": {k: str(v) for k, v in vars(args).items()}, "results": results})
        )
    print("\n" + "\n".join(line for res in results for line in summarise(res) + [""]))
    print(f"process peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**10:.0f} MiB")
    plot(results, args.out / "q1_speed.png")
    print(f"wrote {args.out / 'results.json'} and {args.out / 'q1_speed.png'}")
    return 0
