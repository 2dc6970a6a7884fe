"""``qdoem evaluate``: mean log-likelihood of a trained run (exact, or an AIS/RAISE bracket)."""

from __future__ import annotations

import argparse

from qdoem.cli import add_threads_option

HELP = "log-likelihood of a trained run"


def register(subparsers: argparse._SubParsersAction) -> None:
    from qdoem.sampling.ais import DEFAULT_N_BETAS, DEFAULT_N_CHAINS

    p = subparsers.add_parser(
        "evaluate",
        help=HELP,
        description="Mean log p(v) over a data split: exact enumeration when n_visible <= 24, "
        "else a bracket of AIS (optimistic, Salakhutdinov & Murray 2008) and RAISE (reverse "
        "annealing from the data, Burda et al. 2015) with diagnostics (spread of independent "
        "AIS runs, effective sample size). The result is flagged NOT TRUSTWORTHY when they "
        "disagree by more than --tolerance nats.",
    )
    p.add_argument("run_dir", help="run directory written by qdoem train")
    p.add_argument("--split", default="test", help="data split (default test)")
    p.add_argument("--method", choices=["auto", "exact", "ais"], default="auto")
    p.add_argument("--n-chains", type=int, default=DEFAULT_N_CHAINS, help="AIS chains per run")
    p.add_argument(
        "--n-betas", type=int, default=DEFAULT_N_BETAS, help="AIS and RAISE temperatures"
    )
    p.add_argument("--n-runs", type=int, default=2, help="independent AIS runs (seeds)")
    p.add_argument(
        "--raise-points", type=int, default=100, help="samples given a RAISE chain (0: none)"
    )
    p.add_argument("--tolerance", type=float, default=1.0, help="nats of allowed disagreement")
    p.add_argument("--limit", type=int, default=None, help="evaluate the first N samples only")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--sampler",
        default="exact",
        help="AIS transition kernel: exact (default), twin-mh, heat-bath (no RAISE); plain only "
        "for classical models",
    )
    add_qelbo_options(p)
    add_threads_option(p)
    p.set_defaults(func=run)


def add_qelbo_options(p: argparse.ArgumentParser) -> None:
    """``--qelbo --backend NAME --shots N``: the QELBO from shots instead of the likelihood."""
    p.add_argument(
        "--qelbo",
        action="store_true",
        help="estimate the QELBO at theta_old = theta (= L) from shots of the latent circuits, "
        "with its standard error and terms, next to the dense oracle's exact value for models "
        "of at most 10 units",
    )
    p.add_argument(
        "--backend",
        default=None,
        help="with --qelbo: where the latent units run (exact, aer, aer-noisy:<device>, "
        "pennylane:<device>, ibm:<name>); default: the closed form",
    )
    p.add_argument(
        "--shots",
        type=_shots,
        default=1000,
        help="with --qelbo --backend: shots per unit and basis, or 'exact' for the backend's "
        "exact expectations (default 1000)",
    )


def _shots(text: str) -> int | None:
    if text.strip().lower() in ("exact", "none"):
        return None
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer or 'exact', got {text!r}")
    return value


def run(args: argparse.Namespace) -> int:
    import json
    from pathlib import Path

    import torch

    from qdoem.experiment import load_run, load_run_dataset
    from qdoem.io import atomic_write_text
    from qdoem.metrics import likelihood_report

    model, config = load_run(args.run_dir)
    data = load_run_dataset(config, split=args.split).data
    if args.limit is not None:
        data = data[: args.limit]
    if args.qelbo:
        return run_qelbo(args, model, data)
    if args.backend is not None:
        raise ValueError("--backend and --shots apply to --qelbo only")
    base_bias = None  # Gaussian visible units: AIS starts from N(mu, sigma^2) itself
    if model.layers[0].binary:
        train = load_run_dataset(config, split="train").data
        p = train.double().mean(0).clamp(1e-3, 1 - 1e-3)
        base_bias = torch.log(p / (1 - p))
    report = likelihood_report(
        model,
        data,
        method=args.method,
        n_chains=args.n_chains,
        n_betas=args.n_betas,
        n_runs=args.n_runs,
        raise_points=args.raise_points,
        base_bias=base_bias,
        sampler=args.sampler,
        seed=args.seed,
        tolerance=args.tolerance,
    )
    result = {
        "split": args.split,
        "mean_log_likelihood": report.ais,
        "ais_sampler": args.sampler if report.method == "ais" else None,
        **report.to_dict(),
    }
    atomic_write_text(
        Path(args.run_dir) / f"eval_{args.split}.json", json.dumps(result, indent=2) + "\n"
    )
    print(f"{args.split}: {report.summary()}")
    return 0


def run_qelbo(args: argparse.Namespace, model, data) -> int:
    """``--qelbo``: print the shot estimate, its terms and the dense oracle's value; write
    ``eval_qelbo_<split>.json`` in the run directory."""
    import json
    from pathlib import Path

    from qdoem.io import atomic_write_text
    from qdoem.metrics import DENSE_MAX_QUBITS, dense_qelbo, estimate_qelbo
    from qdoem.seeding import seeded_generator

    ais = {"n_chains": args.n_chains, "n_betas": args.n_betas, "sampler": args.sampler}
    estimate = estimate_qelbo(
        model,
        data,
        args.backend,
        args.shots,
        seed=args.seed,
        method=args.method,
        generator=seeded_generator(args.seed),
        **ais,
    )
    exact = None
    binary = all(layer.binary for layer in model.layers)
    if binary and sum(model.layer_sizes) <= DENSE_MAX_QUBITS:
        exact = dense_qelbo(model, data)
    result = {"split": args.split, **estimate.to_dict(), "exact_dense": exact}
    atomic_write_text(
        Path(args.run_dir) / f"eval_qelbo_{args.split}.json", json.dumps(result, indent=2) + "\n"
    )
    print(f"{args.split}: {estimate.summary()}")
    if exact is None:
        print(
            f"  exact (dense oracle): not computed (needs {{0,1}} units, at most "
            f"{DENSE_MAX_QUBITS} in all)"
        )
    else:
        z = (estimate.value - exact) / estimate.stderr if estimate.stderr > 0 else 0.0
        print(
            f"  exact (dense oracle) {exact:.6f}; estimate - exact = "
            f"{estimate.value - exact:+.6f} ({z:+.2f} standard errors)"
        )
    return 0
