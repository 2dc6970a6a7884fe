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
    add_threads_option(p)
    p.set_defaults(func=run)


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
