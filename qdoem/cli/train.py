"""``qdoem train``: train a model with DO-EM from a TOML config and/or flags."""

from __future__ import annotations

import argparse

from qdoem.cli import add_threads_option

# flag dest -> config key (None values are "not given" and leave the config alone)
_FLAGS: list[tuple[str, dict]] = [
    ("--model", {"help": "model family, see qdoem.models.MODELS (default qrbm)"}),
    ("--n-hidden", {"type": int, "help": "number of hidden units (one hidden layer)"}),
    (
        "--hidden-sizes",
        {"type": int, "nargs": "+", "help": "deep models: hidden widths, bottom first"},
    ),
    (
        "--quantum-layers",
        {
            "type": int,
            "nargs": "+",
            "help": "QiDBM: quantum hidden layers (1 = h1), never adjacent",
        },
    ),
    (
        "--scheme",
        {
            "help": "mean-field (Salakhutdinov & Hinton; CD/PCD chains) or unbiased (Taniguchi "
            "et al. 2023: local mode, Gibbs step, coupled MH)",
        },
    ),
    ("--dataset", {"help": "dataset name (see qdoem.data.DATASETS)"}),
    ("--data-root", {"help": "folder with MNIST/raw etc. (default $QDOEM_DATA or ./data)"}),
    ("--limit", {"type": int, "help": "use only the first N training samples"}),
    (
        "--recipe",
        {"help": "named training settings, see qdoem.training.RECIPES (cd1, pcd); flags override"},
    ),
    ("--epochs", {"type": int}),
    ("--batch-size", {"type": int}),
    ("--lr", {"type": float, "dest": "learning_rate", "help": "learning rate"}),
    ("--momentum", {"type": float}),
    ("--weight-decay", {"type": float}),
    ("--lr-schedule", {"help": "constant, linear, cosine or inverse-sqrt"}),
    ("--lr-decay", {"type": float, "help": "inverse-sqrt: lr / sqrt(1 + lr_decay * step)"}),
    ("--cd-k", {"type": int, "help": "sweeps of the negative-phase chains per step"}),
    (
        "--chain-init",
        {
            "help": "where negative-phase chains start: data (CD-k) or noise (Liao et al.'s "
            "modified CD for GRBMs)",
        },
    ),
    ("--clip-norm", {"type": float, "help": "clip each step's gradient to this L2 norm"}),
    (
        "--m-steps",
        {
            "type": int,
            "help": "M-step gradient steps per E-step of a mini-batch (the data term is kept, "
            "the model term recomputed); saves backend calls on the E-step",
        },
    ),
    (
        "--sampler",
        {
            "help": "negative-phase chain: exact (Z-basis MH-within-Gibbs, the default), plain "
            "(the uncorrected chain, biased at Gamma != 0), twin-mh, heat-bath",
        },
    ),
    ("--gamma-init", {"type": float, "help": "initial transverse field (QRBM)"}),
    ("--seed", {"type": int}),
    ("--device", {"help": "cpu, cuda, cuda:0 ..."}),
    ("--dtype", {"choices": ["float32", "float64"]}),
    (
        "--matmul-dtype",
        {"choices": ["float32", "float64", "bfloat16"], "help": "mixed-precision matmuls"},
    ),
    (
        "--visible-matmul",
        {
            "choices": ["dense", "sparse"],
            "help": "products with {0,1} visible vectors: matmul (dense, default) or "
            "gather-sums (sparse; faster on sparse data such as binarized MNIST)",
        },
    ),
    ("--run-dir", {"help": "run directory (default runs/<model>_<dataset>_s<seed>)"}),
    (
        "--backend",
        {
            "help": "quantum statistics and samples from circuits on a backend: aer, "
            "aer-noisy:manila, ibm:<device>, ..."
        },
    ),
    ("--shots", {"type": int, "help": "shots per latent unit and basis with --backend (1000)"}),
]


HELP = "train a model with DO-EM"


def _flag_keys() -> list[str]:
    """The config key of each flag in ``_FLAGS`` (its argparse ``dest``)."""
    return [kw.get("dest", flag.removeprefix("--").replace("-", "_")) for flag, kw in _FLAGS]


def register(subparsers: argparse._SubParsersAction) -> None:
    from qdoem.models import MODELS
    from qdoem.sampling import SAMPLERS
    from qdoem.training.config import CHAIN_INITS, SCHEMES
    from qdoem.training.optim import SCHEDULES

    p = subparsers.add_parser(
        "train",
        help=HELP,
        description="Train a model with DO-EM. Flags override the TOML config; keys in the "
        "TOML file use the flag names with underscores (lr is learning_rate).",
    )
    p.add_argument("--config", help="TOML config file")
    choices = {
        "--model": sorted(MODELS),
        "--sampler": sorted(SAMPLERS),
        "--scheme": SCHEMES,
        "--lr-schedule": SCHEDULES,
        "--chain-init": CHAIN_INITS,
    }
    for flag, kw in _FLAGS:
        if flag in choices:
            kw = {**kw, "choices": choices[flag]}
        p.add_argument(flag, default=None, **kw)
    p.add_argument("--pcd", action="store_true", default=None, help="persistent CD chains")
    p.add_argument(
        "--fixed-gamma",
        action="store_true",
        default=None,
        help="keep Gamma at --gamma-init instead of learning it",
    )
    p.add_argument(
        "--download",
        action="store_true",
        default=None,
        help="let torchvision download missing datasets",
    )
    p.add_argument(
        "--quick",
        action="store_true",
        help="apply the config file's [quick] table: the same setting at a scale of minutes",
    )
    p.add_argument(
        "--resume",
        action="store_true",
        help="continue the run in --run-dir with its saved settings; other flags must match "
        "them (a larger --epochs extends the run)",
    )
    p.add_argument(
        "--allow-changes",
        action="store_true",
        help="with --resume: go on with settings that differ from the run's (recorded in "
        "changes.jsonl) instead of refusing them",
    )
    p.add_argument(
        "--stop-after",
        type=int,
        default=None,
        metavar="N",
        help="stop after N epochs in this invocation (resume later with --resume)",
    )
    p.add_argument(
        "--snapshot-every",
        type=int,
        default=None,
        metavar="N",
        help="also save the model every N epochs (and the last) to RUN_DIR/snapshots/"
        "epoch_XXXX.pt, for FID curves (qdoem evaluate --fid-curve)",
    )
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    add_threads_option(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import signal

    from qdoem.errors import ConfigError, TrainingInterrupted
    from qdoem.experiment import load_config_file, resolve_config, train

    overrides = {key: getattr(args, key) for key in _flag_keys()}
    overrides["persistent"] = args.pcd
    overrides["download"] = args.download
    overrides["learn_gamma"] = False if args.fixed_gamma else None
    if args.stop_after is not None and args.stop_after < 1:
        raise ValueError(f"--stop-after must be positive, got {args.stop_after}")
    config = resolve_config(args.config, overrides, quick=args.quick)
    if args.allow_changes and not args.resume:
        raise ConfigError("--allow-changes applies to --resume only")
    if args.resume:
        # The run's saved config.json rules: pass on only the settings the user gave.
        given = {k: v for k, v in overrides.items() if v is not None}
        if args.config is not None:
            given = {**load_config_file(args.config, quick=args.quick), **given}
        config = {**given, "run_dir": config["run_dir"]}
    try:
        trainer = train(
            config,
            resume=args.resume,
            allow_changes=args.allow_changes,
            progress=not args.no_progress,
            stop_after=args.stop_after,
            snapshot_every=args.snapshot_every,
        )
    except KeyboardInterrupt as stop:
        # TrainingInterrupted: a checkpoint of the last step was written. A second Ctrl-C:
        # the last checkpoint written is intact (atomic writes).
        signum = getattr(stop, "signum", None) or signal.SIGINT
        saved = "checkpoint written" if isinstance(stop, TrainingInterrupted) else "stopped"
        print(
            f"\ninterrupted ({stop or 'KeyboardInterrupt'}); {saved}; continue with: "
            f"qdoem train --run-dir {config['run_dir']} --resume"
        )
        return 128 + signum
    last = trainer.history[-1] if trainer.history else {}
    summary = ", ".join(f"{k}={v:.4g}" for k, v in last.items() if isinstance(v, float))
    print(f"run {config['run_dir']}: epoch {trainer.epoch}/{trainer.config.epochs} {summary}")
    return 0
