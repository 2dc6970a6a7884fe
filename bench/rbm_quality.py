"""RBM and QRBM on binarized MNIST with one named recipe: bracketed test log-likelihoods.

Issue 9's quality benchmark. Every variant is trained with the same recipe
(:data:`qdoem.training.RECIPES`) and the same seed; the quantum variants add only Gamma:

============== ==============================================================================
``rbm``        the classical RBM
``qrbm``       QRBM, Gamma learned from 0.5, exact (Z-basis MH-within-Gibbs) negative phase
``qrbm-plain`` the same with the paper's uncorrected chain (biased at Gamma != 0)
``qrbm-twin``  the same with the other exact chain, ``twin-mh`` (the RBM twin's block move,
               MH-corrected)
``qrbm-path``  the same with ``path-gibbs`` (exact block Gibbs on the path-integral joint, no
               MH test)
``qrbm-fixed`` QRBM with Gamma fixed at 0.5, exact chain
``qrbm-pt``    ``qrbm`` with parallel tempering of the persistent chains (needs a persistent
               recipe such as ``pcd``): 3 replicas, beta geometric from 1 to 0.7
``rbm-pt``     ``rbm`` with the same parallel tempering
============== ==============================================================================

Each model's test log-likelihood is a :func:`qdoem.metrics.likelihood_report`: AIS (two
independent runs of ``--n-chains`` chains, ``--n-betas`` temperatures, exact kernel, base rate
= training-data log-odds) and RAISE on ``--raise-points`` random test images, with the flags
that say when the two disagree. The report puts them beside the literature's anchors for a
500-hidden RBM (Salakhutdinov & Murray 2008) and saves a sample grid of each model.

Runs go to ``--runs/<variant>_<recipe>[_kK][_stochastic][_sS]`` (``--cd-k``, ``--binarize``,
``--seed`` other than 0; the report's folder takes the same suffix) through
:func:`qdoem.experiment.train` (resumable: rerunning continues an interrupted run, and a
finished run is only evaluated; a run trained separately with ``qdoem train`` and the same
settings can be placed there). The report goes to ``--out`` (``report.md``, ``report.json``,
``samples_<variant>.png``).

Usage::

    python bench/rbm_quality.py --recipe pcd [--variants rbm qrbm] [--epochs 100]
    python bench/rbm_quality.py --quick      # a smoke run: 2000 images, 2 epochs, 100 betas
    python bench/rbm_quality.py --recipe pcd10 --variants rbm --binarize stochastic --seed 1
        # another seed on the same digits (stochastic binarisation: seed 0's, binarize_seed 0)
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

#: Parallel tempering of the ``-pt`` variants (qdoem.sampling.tempering). Three replicas keep a
#: 784x500 training near an hour on a shared 2-core machine (~3x the sweeps of PCD).
PT = {"pt_replicas": 3, "pt_beta_min": 0.7, "pt_ladder": "geometric"}
VARIANTS = {
    "rbm": {"model": "rbm"},
    "qrbm": {"model": "qrbm", "sampler": "exact", "learn_gamma": True},
    "qrbm-plain": {"model": "qrbm", "sampler": "plain", "learn_gamma": True},
    "qrbm-twin": {"model": "qrbm", "sampler": "twin-mh", "learn_gamma": True},
    "qrbm-path": {"model": "qrbm", "sampler": "path-gibbs", "learn_gamma": True},
    "qrbm-fixed": {"model": "qrbm", "sampler": "exact", "learn_gamma": False},
    "qrbm-pt": {"model": "qrbm", "sampler": "exact", "learn_gamma": True, **PT},
    "rbm-pt": {"model": "rbm", **PT},
}
#: Salakhutdinov & Murray (2008), Table 2: 500 hidden units, binarized MNIST test set.
LITERATURE = {"CD-1": -125.53, "CD-3": -105.50, "CD-25": -86.34}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--recipe", default="pcd")
    p.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    p.add_argument("--data-root", default="../shared/data")
    p.add_argument("--epochs", type=int, default=None, help="override the recipe's epochs")
    p.add_argument("--cd-k", type=int, default=None, help="override the recipe's sweeps per step")
    p.add_argument("--n-hidden", type=int, default=500)
    p.add_argument("--gamma-init", type=float, default=0.5)
    p.add_argument("--limit", type=int, default=None, help="first N training images")
    p.add_argument("--test-limit", type=int, default=None, help="first N test images")
    p.add_argument("--n-chains", type=int, default=100, help="AIS chains per run")
    p.add_argument("--n-betas", type=int, default=10000, help="AIS/RAISE temperatures")
    p.add_argument("--raise-points", type=int, default=100, help="test images given RAISE")
    p.add_argument(
        "--binarize",
        choices=("threshold", "stochastic"),
        default="threshold",
        help="binarized MNIST as pixels > 0.5 (qdoem's binarized_mnist) or as one Bernoulli draw "
        "per pixel, the data of the literature's anchors (Salakhutdinov & Murray 2008)",
    )
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--runs", type=Path, default=Path("runs/rbm_quality"))
    p.add_argument("--out", type=Path, default=None, help="default results/rbm_quality_<recipe>")
    p.add_argument("--quick", action="store_true", help="2000 images, 2 epochs, 100 betas")
    args = p.parse_args()
    if args.quick:
        args.limit, args.test_limit, args.epochs = 2000, 500, 2
        args.n_betas, args.n_chains, args.raise_points = 100, 20, 20
    torch.set_num_threads(args.threads)
    suffix = ("" if args.cd_k is None else f"_k{args.cd_k}") + (
        "" if args.binarize == "threshold" else f"_{args.binarize}"
    )
    data_options = {} if args.binarize == "threshold" else {"binarize_mode": args.binarize}
    if args.seed != 0:  # its own runs and report; stochastic digits: seed 0's, a seed study
        suffix += f"_s{args.seed}"
        if data_options:
            data_options["binarize_seed"] = 0
    out = args.out or Path(f"results/rbm_quality_{args.recipe}{suffix}")

    from qdoem.experiment import load_run_dataset, resolve_config, train
    from qdoem.io import atomic_write_text
    from qdoem.layers import data_log_odds
    from qdoem.metrics import likelihood_report
    from qdoem.training import save_sample_grid

    out.mkdir(parents=True, exist_ok=True)
    for name in args.variants:
        run_dir = args.runs / f"{name}_{args.recipe}{suffix}"
        overrides = {
            **VARIANTS[name],
            "recipe": args.recipe,
            "dataset": "binarized_mnist",
            "dataset_options": data_options,
            "data_root": args.data_root,
            "n_hidden": args.n_hidden,
            "gamma_init": args.gamma_init,
            "limit": args.limit,
            "epochs": args.epochs,
            "cd_k": args.cd_k,
            "seed": args.seed,
            "visible_matmul": "sparse",
            "run_dir": str(run_dir),
        }
        config = resolve_config(None, overrides)
        start = time.perf_counter()
        resume = (run_dir / "checkpoint.pt").is_file()
        trainer = train(config, resume=resume, progress=False)
        train_s = time.perf_counter() - start
        model, history = trainer.model, trainer.history
        data_train = load_run_dataset(config).data
        test = load_run_dataset(config, split="test").data[: args.test_limit]
        start = time.perf_counter()
        report = likelihood_report(
            model,
            test,
            n_chains=args.n_chains,
            n_betas=args.n_betas,
            raise_points=args.raise_points,
            base_bias=data_log_odds(data_train),
            seed=args.seed,
        )
        eval_s = time.perf_counter() - start
        samples = model.sample(64, steps=1000, seed=args.seed)
        save_sample_grid(samples, out / f"samples_{name}.png", (28, 28))
        last = history[-1] if history else {}
        row = {
            "variant": name,
            "recipe": args.recipe,
            "epochs": trainer.epoch,
            "gamma_mean": last.get("gamma_mean"),
            "accept_rate": last.get("accept_rate"),
            **{k: last[k] for k in ("pt_swap_rates", "pt_accept_rates") if k in last},
            "median_epoch_s": sorted(r["time_s"] for r in history)[len(history) // 2]
            if history
            else None,
            "train_s_this_call": train_s,
            "eval_s": eval_s,
            "likelihood": report.to_dict(),
        }
        # Re-read the report just before writing: variants run in separate processes at the same
        # time keep each other's rows.
        rows = [r for r in _previous_rows(out, args) if r["variant"] != name] + [row]
        print(f"{name}: {report.summary()}", flush=True)
        _write(out, args, rows, atomic_write_text)


def _previous_rows(out: Path, args) -> list[dict]:
    """Rows of an earlier report with the same settings (variants can be run one at a time)."""
    path = out / "report.json"
    if not path.is_file():
        return []
    previous = json.loads(path.read_text())
    if previous.get("settings") != _settings(args):
        return []
    return previous["rows"]


def _settings(args) -> dict:
    extra = {} if args.binarize == "threshold" else {"binarize": args.binarize}
    if args.cd_k is not None:
        extra["cd_k"] = args.cd_k
    return {
        **extra,
        "recipe": args.recipe,
        "n_hidden": args.n_hidden,
        "gamma_init": args.gamma_init,
        "limit": args.limit,
        "test_limit": args.test_limit,
        "n_chains": args.n_chains,
        "n_betas": args.n_betas,
        "raise_points": args.raise_points,
        "seed": args.seed,
    }


def _write(out: Path, args, rows, atomic_write_text) -> None:
    settings = _settings(args)
    payload = {"settings": settings, "literature": LITERATURE, "rows": rows}
    atomic_write_text(out / "report.json", json.dumps(payload, indent=2) + "\n")
    lines = [
        f"# RBM and QRBM on binarized MNIST, recipe `{args.recipe}`",
        "",
        f"Settings: {json.dumps(settings)}",
        "",
        "| variant | epochs | Gamma (mean abs) | MH accept | AIS (optimistic) | RAISE | "
        "bracket | trusted | flags |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lk = r["likelihood"]
        gamma = "-" if r["gamma_mean"] is None else f"{r['gamma_mean']:.3f}"
        acc = "-" if r["accept_rate"] is None else f"{r['accept_rate']:.2f}"
        lines.append(
            f"| {r['variant']} | {r['epochs']} | {gamma} | {acc} | "
            f"{lk['ais']:.2f} +/- {lk['log_z_stderr']:.2f} | {lk['raise_estimate']:.2f} | "
            f"[{lk['lower']:.2f}, {lk['upper']:.2f}] | {'yes' if lk['trustworthy'] else 'NO'} "
            f"| {'; '.join(lk['flags']).replace('|', chr(92) + '|') or '-'} |"
        )
    tempered = [r for r in rows if "pt_swap_rates" in r]
    if tempered:
        lines += ["", "Parallel tempering, last epoch (neighbour swap rates, beta = 1 first; MH "]
        lines[-1] += "acceptance of the hotter replicas):"
        for r in tempered:
            rates = ", ".join("-" if x is None else f"{x:.2f}" for x in r["pt_swap_rates"])
            hot = r.get("pt_accept_rates")
            hot = "" if not hot else "; MH " + ", ".join(f"{x:.2f}" for x in hot)
            lines.append(f"- {r['variant']}: swaps {rates}{hot}")
    lines += [
        "",
        "Literature, 500 hidden units (Salakhutdinov & Murray 2008, AIS): "
        + ", ".join(f"{k} {v}" for k, v in LITERATURE.items())
        + " nats, on stochastically binarized MNIST (one Bernoulli draw per pixel). "
        + (
            "These rows use that data (`--binarize stochastic`): comparable."
            if args.binarize == "stochastic"
            else "These rows use thresholded digits (pixel > 0.5, `--binarize threshold`): other "
            "data than the anchors', so not directly comparable with them."
        ),
        "",
        "Sample grids: " + ", ".join(f"`samples_{r['variant']}.png`" for r in rows) + ".",
    ]
    atomic_write_text(out / "report.md", "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
