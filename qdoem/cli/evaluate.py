"""``qdoem evaluate``: average log-likelihood of a trained run (exact or AIS)."""

from __future__ import annotations

import argparse

HELP = "log-likelihood of a trained run"


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "evaluate",
        help=HELP,
        description="Average log p(v) over a data split: exact enumeration when n_visible <= 24, "
        "else AIS (Salakhutdinov & Murray 2008) with its standard error.",
    )
    p.add_argument("run_dir", help="run directory written by qdoem train")
    p.add_argument("--split", default="test", help="data split (default test)")
    p.add_argument("--method", choices=["auto", "exact", "ais"], default="auto")
    p.add_argument("--n-chains", type=int, default=100, help="AIS runs")
    p.add_argument("--n-betas", type=int, default=1000, help="AIS inverse temperatures")
    p.add_argument("--limit", type=int, default=None, help="evaluate the first N samples only")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--sampler",
        default="exact",
        help="AIS transition kernel: exact (default), twin-mh, heat-bath; plain only for "
        "classical models",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import json
    import math
    from pathlib import Path

    import torch

    from qdoem.experiment import load_run, load_run_dataset
    from qdoem.io import atomic_write_text

    model, config = load_run(args.run_dir)
    data = load_run_dataset(config, split=args.split).data
    if args.limit is not None:
        data = data[: args.limit]
    train = load_run_dataset(config, split="train").data
    p = train.double().mean(0).clamp(1e-3, 1 - 1e-3)
    log_z, stderr = model.log_partition(
        args.method,
        n_chains=args.n_chains,
        n_betas=args.n_betas,
        base_bias=torch.log(p / (1 - p)),
        generator=torch.Generator().manual_seed(args.seed),
        sampler=args.sampler,
    )
    method = "exact" if stderr == 0.0 and (args.method != "ais") else "ais"
    log_p = model.log_prob(data, log_z=log_z)
    mean_ll = float(log_p.mean())
    result = {
        "split": args.split,
        "n": int(data.shape[0]),
        "method": method,
        "log_z": log_z,
        "log_z_stderr": stderr,
        "ais_sampler": args.sampler if method == "ais" else None,
        "mean_log_likelihood": mean_ll,
        "data_stderr": float(log_p.std()) / math.sqrt(max(data.shape[0], 1)),
    }
    atomic_write_text(
        Path(args.run_dir) / f"eval_{args.split}.json", json.dumps(result, indent=2) + "\n"
    )
    err = f" +/- {stderr:.3f} (AIS)" if method == "ais" else " (exact)"
    print(
        f"{args.split}: mean log-likelihood {mean_ll:.4f}{err} over {data.shape[0]} samples; "
        f"log Z = {log_z:.4f}"
    )
    return 0
