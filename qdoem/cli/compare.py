"""``qdoem compare``: one model trained exactly and through simulator backends, side by side.

The same model, data and seed are trained with the closed-form E-step (exact) and with the
latent statistics from circuits: ``--backend`` (default Aer, noiseless) at each of ``--shots``,
for each K of ``--m-steps``; a noisy Aer backend with a fake IBM device's noise model
(``--noisy``); and PennyLane's mixed-state device (``--pennylane``). Writes to ``--out``:
``compare.md`` (table: final NLL, QELBO from shots with its standard error, gradient error
against exact per epoch, backend calls, wall time per epoch, backend calls to a target NLL),
``compare.png`` (training curves with bands over ``--seeds``) and ``compare.json`` (every
curve, the command, the versions). Definitions: :mod:`qdoem.comparison.shots`.

Default: the demo's QRBM (9 visible x 6 hidden) on 3x3 Bars-and-Stripes repeated 4 times,
batch 8, learning rate 0.5, 20 epochs, one seed (about five minutes on two CPU cores). The
training flags of ``qdoem train`` below (``--cd-k``, ``--pcd``/``--persistent``, ``--sampler``,
``--momentum``, ...) apply to every run; not given, they keep the trainer's defaults (CD-1 from
the data, exact sampler, momentum 0.5, weight decay 1e-4), which ``compare.json`` records.
"""

from __future__ import annotations

import argparse
import shlex
import sys

from qdoem.cli import _positive_int, add_threads_option
from qdoem.cli.train import _flag_keys, add_flags, add_persistent_flag, parse_options

HELP = "train exactly and through simulator backends at several shot budgets, side by side"

#: Flags of ``qdoem train`` that ``qdoem compare`` passes to every run's training settings.
TRAIN_FLAGS = [
    "--cd-k",
    "--chain-init",
    "--sampler",
    "--scheme",
    "--momentum",
    "--weight-decay",
    "--lr-schedule",
    "--lr-decay",
    "--clip-norm",
    "--m-step-start",
]


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "compare",
        help=HELP,
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--out", default="compare", help="output folder (default ./compare)")
    p.add_argument("--model", default="qrbm", help="quantum model family (default qrbm)")
    p.add_argument("--n-hidden", type=_positive_int, default=6, help="hidden units (6)")
    p.add_argument(
        "--gamma-init", type=float, default=None, help="initial transverse field (model's)"
    )
    p.add_argument(
        "--weight-scale", type=float, default=0.1, help="initial weights' std (0.1, as the demo)"
    )
    p.add_argument("--dataset", default="bars_and_stripes", help="dataset (bars_and_stripes)")
    p.add_argument(
        "--dataset-option",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="dataset option, e.g. rows=3 (repeatable; VALUE is a TOML scalar; "
        "bars_and_stripes defaults to 3x3)",
    )
    p.add_argument("--data-root", default=None, help="folder of image datasets")
    p.add_argument("--limit", type=_positive_int, default=None, help="first N rows only")
    p.add_argument(
        "--repeat", type=_positive_int, default=4, help="repeat the rows N times (4, as the demo)"
    )
    p.add_argument("--epochs", type=_positive_int, default=20, help="epochs (20)")
    p.add_argument("--batch-size", type=_positive_int, default=8, help="mini-batch size (8)")
    p.add_argument("--lr", type=float, default=0.5, help="learning rate (0.5)")
    p.add_argument(
        "--backend", default="aer", help="backend of the shot-budget runs (aer; see qdoem backends)"
    )
    p.add_argument(
        "--shots",
        type=_positive_int,
        nargs="+",
        default=[100, 1000, 10000],
        help="shot budgets per unit and basis on --backend (100 1000 10000)",
    )
    p.add_argument(
        "--m-steps",
        type=_positive_int,
        nargs="+",
        default=[1],
        help="M-step gradient steps per E-step, K; every --backend budget and the closed form "
        "run at each K (1); --noisy and --pennylane at the first",
    )
    training = p.add_argument_group(
        "training settings of every run (as for qdoem train; default: the trainer's)"
    )
    add_flags(training, TRAIN_FLAGS)
    add_persistent_flag(training)
    training.add_argument(
        "--fixed-gamma",
        action="store_true",
        default=None,
        help="keep Gamma at --gamma-init instead of learning it",
    )
    p.add_argument(
        "--noisy",
        default="aer-noisy:manila",
        help="noisy simulator backend ('none' to skip; default aer-noisy:manila)",
    )
    p.add_argument("--noisy-shots", type=_positive_int, default=1000, help="its shots (1000)")
    p.add_argument(
        "--pennylane",
        default="pennylane:default.mixed",
        help="PennyLane backend ('none' to skip; default pennylane:default.mixed)",
    )
    p.add_argument("--pennylane-shots", type=_positive_int, default=1000, help="its shots (1000)")
    p.add_argument(
        "--seeds", type=_positive_int, default=1, help="seeds (--seed, --seed + 1, ...) for bands"
    )
    p.add_argument("--seed", type=int, default=0, help="first seed (0)")
    p.add_argument(
        "--target-nll",
        type=float,
        default=None,
        help="NLL whose first crossing (from epoch 1) is reported in backend calls (default: "
        "the exact run's NLL after half the epochs)",
    )
    p.add_argument("--quiet", action="store_true", help="do not print each run as it starts")
    add_threads_option(p)
    p.set_defaults(func=run)


def train_options(args: argparse.Namespace) -> dict:
    """The :class:`~qdoem.training.TrainConfig` fields given by the ``TRAIN_FLAGS`` and
    ``--pcd``."""
    keys = _flag_keys(TRAIN_FLAGS)
    options = {key: getattr(args, key) for key in keys if getattr(args, key) is not None}
    if args.pcd:
        options["persistent"] = True
    return options


def _command(args: argparse.Namespace) -> str:
    """The command line that repeats this comparison, every option spelled out."""
    words = ["python", "-m", "qdoem", "compare"]
    skip = {"func", "command", "debug", "quiet"}
    for key, value in vars(args).items():
        if key in skip or value is None or value is False or value == []:
            continue
        flag = "--" + key.replace("_", "-")
        if value is True:
            words.append(flag)
        elif isinstance(value, list):
            if key == "dataset_option":
                for item in value:
                    words += [flag, item]
            else:
                words += [flag, *map(str, value)]
        else:
            words += [flag, str(value)]
    return shlex.join(words)


def _optional(name: str | None) -> str | None:
    return None if name is None or name.strip().lower() in ("none", "") else name


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from qdoem.comparison.shots import ShotComparison, default_runs
    from qdoem.data import load_dataset

    if args.seed < 0:
        raise ValueError(f"--seed must be >= 0, got {args.seed}")
    if Path(args.out).exists() and not Path(args.out).is_dir():
        raise ValueError(f"--out {args.out!r} is a file, not a folder")
    runs = default_runs(
        args.backend,
        tuple(args.shots),
        tuple(args.m_steps),
        _optional(args.noisy),
        args.noisy_shots,
        _optional(args.pennylane),
        args.pennylane_shots,
    )
    model_options = {"weight_scale": args.weight_scale}
    if args.gamma_init is not None:
        model_options["gamma_init"] = args.gamma_init
    if args.fixed_gamma:
        model_options["learn_gamma"] = False
    comparison = ShotComparison(
        runs,
        model=args.model,
        n_hidden=args.n_hidden,
        model_options=model_options,
        epochs=args.epochs,
        batch_size=args.batch_size,
        learning_rate=args.lr,
        seeds=tuple(range(args.seed, args.seed + args.seeds)),
        target_nll=args.target_nll,
        train_options=train_options(args),
    )
    options = parse_options(args.dataset_option, "--dataset-option")
    dataset = load_dataset(
        args.dataset, root=args.data_root, limit=args.limit, seed=args.seed, **options
    )
    data = dataset.data.float().repeat(args.repeat, 1)
    described = {
        "name": args.dataset,
        "options": options,
        "limit": args.limit,
        "repeat": args.repeat,
        "rows": int(data.shape[0]),
        "n_visible": int(data.shape[1]),
    }

    def progress(message: str) -> None:
        if not args.quiet:
            print(f"training {message}", file=sys.stderr, flush=True)

    comparison.fit(data, progress=progress)
    command = _command(args)
    paths = comparison.save(args.out, command=command, dataset=described)
    print(comparison.table())
    print("wrote " + ", ".join(str(p) for p in paths.values()))
    return 0
