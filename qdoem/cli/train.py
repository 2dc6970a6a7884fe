"""``qdoem train``: train a model with DO-EM from a TOML config and/or flags."""

from __future__ import annotations

import argparse

from qdoem.cli import add_threads_option
from qdoem.training.recipes import RECIPES

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
        {
            "help": f"named training settings ({', '.join(RECIPES)}; see "
            "qdoem.training.RECIPES); flags override"
        },
    ),
    ("--epochs", {"type": int}),
    ("--batch-size", {"type": int}),
    ("--lr", {"type": float, "dest": "learning_rate", "help": "learning rate"}),
    ("--momentum", {"type": float}),
    ("--weight-decay", {"type": float}),
    (
        "--lr-schedule",
        {
            "help": "constant, linear, cosine (to lr * lr_final_ratio at the last epoch), "
            "cosine-annealing (torch's CosineAnnealingLR per epoch, T_max = epochs) or "
            "inverse-sqrt"
        },
    ),
    ("--lr-decay", {"type": float, "help": "inverse-sqrt: lr / sqrt(1 + lr_decay * step)"}),
    ("--cd-k", {"type": int, "help": "sweeps of the negative-phase chains per step"}),
    (
        "--neg-average-from",
        {
            "type": int,
            "help": "average the model statistics over sweeps J..cd_k-1 of the chains (0-based; "
            "Liao et al.'s GRBM: 0) instead of reading them at the last sweep",
            "metavar": "J",
        },
    ),
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
            "(the uncorrected chain, biased at Gamma != 0), twin-mh, heat-bath, path-gibbs (exact, "
            "no MH test), gibbs-langevin "
            "(GRBM/QGRBM: MH-adjusted Langevin moves of v)",
        },
    ),
    (
        "--langevin-steps",
        {"type": int, "help": "GRBM/QGRBM, sampler gibbs-langevin: MALA moves of v per sweep"},
    ),
    (
        "--langevin-eta",
        {
            "type": float,
            "help": "GRBM/QGRBM, sampler gibbs-langevin: largest step, times mean(sigma^2)",
        },
    ),
    (
        "--pt-replicas",
        {
            "type": int,
            "help": "with --pcd: parallel tempering with this many replicas (1: none), beta "
            "from 1 down to --pt-beta-min",
        },
    ),
    ("--pt-beta-min", {"type": float, "help": "hottest replica's inverse temperature (0.5)"}),
    ("--pt-ladder", {"help": "spacing of the PT temperatures: geometric (default) or linear"}),
    ("--gamma-init", {"type": float, "help": "initial transverse field (QRBM)"}),
    (
        "--pretrain-epochs",
        {
            "type": int,
            "help": "deep models: epochs of greedy layer-wise pre-training per stage "
            "(Salakhutdinov & Hinton; RBM/QRBM stages) before DO-EM (default 0: none)",
        },
    ),
    (
        "--pretrain-lr",
        {
            "type": float,
            "dest": "pretrain_learning_rate",
            "help": "constant learning rate of the pre-training stages (default: --lr)",
        },
    ),
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
    (
        "--compile",
        {
            "action": "store_true",
            "help": "fused kernels for the chains' elementwise work (torch.compile; needs a C++ "
            "compiler on the CPU); equal to the eager chains up to float rounding",
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
    (
        "--m-step-start",
        {
            "help": "with --m-steps K > 1, CD from the data: where the chains of M-steps 2..K "
            "start: data (the hidden layer drawn afresh at the data, 1 + cd_k backend calls "
            "each) or e-step (the E-step's own Z-basis shot, cd_k calls each)",
        },
    ),
]


HELP = "train a model with DO-EM"


def _flag_keys(names: list[str] | None = None) -> list[str]:
    """The config key of each flag in ``_FLAGS`` (its argparse ``dest``), or of those in
    ``names``."""
    return [
        kw.get("dest", flag.removeprefix("--").replace("-", "_"))
        for flag, kw in _FLAGS
        if names is None or flag in names
    ]


def flag_choices() -> dict[str, list[str] | tuple[str, ...]]:
    """The allowed values of the flags of ``_FLAGS`` that take a name."""
    from qdoem.models import MODELS
    from qdoem.sampling import SAMPLERS
    from qdoem.sampling.tempering import LADDERS
    from qdoem.training.config import CHAIN_INITS, M_STEP_STARTS, SCHEMES
    from qdoem.training.optim import SCHEDULES

    return {
        "--model": sorted(MODELS),
        "--sampler": sorted(SAMPLERS),
        "--scheme": SCHEMES,
        "--lr-schedule": SCHEDULES,
        "--chain-init": CHAIN_INITS,
        "--m-step-start": M_STEP_STARTS,
        "--pt-ladder": LADDERS,
    }


def add_flags(parser: argparse.ArgumentParser, names: list[str] | None = None) -> None:
    """Add the flags of ``_FLAGS`` (those in ``names``, all if None) to ``parser``, default
    None ("not given"), with their choices; ``qdoem compare`` shares them this way."""
    choices = flag_choices()
    for flag, kw in _FLAGS:
        if names is not None and flag not in names:
            continue
        if flag in choices:
            kw = {**kw, "choices": choices[flag]}
        parser.add_argument(flag, default=None, **kw)


def add_persistent_flag(parser: argparse.ArgumentParser) -> None:
    """``--pcd`` / ``--persistent``: persistent CD chains (dest ``pcd``, None when not given)."""
    parser.add_argument(
        "--pcd", "--persistent", action="store_true", default=None, help="persistent CD chains"
    )


def parse_option(pair: str, flag: str) -> tuple[str, object]:
    """``KEY=VALUE`` with VALUE read as a TOML scalar (``2``, ``0.5``, ``true``, ``"text"``);
    a VALUE that is not TOML is taken as a bare string (``mitigation=mthree``).

    Raises
    ------
    ConfigError
        No ``=``, an empty key, or a VALUE that is a TOML array or table.
    """
    import tomllib

    from qdoem.errors import ConfigError

    key, sep, text = pair.partition("=")
    key = key.strip()
    if not sep or not key:
        raise ConfigError(f"{flag} must be KEY=VALUE, got {pair!r}")
    try:
        value = tomllib.loads(f"value = {text.strip()}")["value"]
    except tomllib.TOMLDecodeError:
        value = text.strip()
    if not isinstance(value, bool | int | float | str):
        raise ConfigError(
            f"{flag} {key}: VALUE must be a number, true/false or a string, got {text!r}"
        )
    return key, value


def parse_options(pairs: list[str] | None, flag: str) -> dict[str, object]:
    """Repeated ``KEY=VALUE`` pairs (:func:`parse_option`) as a dict; a key given twice is
    refused."""
    from qdoem.errors import ConfigError

    options: dict[str, object] = {}
    for pair in pairs or []:
        key, value = parse_option(pair, flag)
        if key in options:
            raise ConfigError(f"{flag} {key} given twice ({options[key]!r} and {value!r})")
        options[key] = value
    return options


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "train",
        help=HELP,
        description="Train a model with DO-EM. Flags override the TOML config; keys in the "
        "TOML file use the flag names with underscores (lr is learning_rate).",
    )
    p.add_argument("--config", help="TOML config file")
    add_flags(p)
    p.add_argument(
        "--backend-option",
        action="append",
        default=None,
        metavar="KEY=VALUE",
        help="a constructor option of --backend (repeatable; VALUE is a TOML scalar), e.g. "
        "units_per_circuit=4, mitigation=mthree; over the TOML's [backend_options] key by key",
    )
    add_persistent_flag(p)
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
    from qdoem.experiment import DEFAULTS, load_config_file, resolve_config, train
    from qdoem.training import RunDir

    overrides = {key: getattr(args, key) for key in _flag_keys()}
    overrides["persistent"] = args.pcd
    overrides["download"] = args.download
    overrides["learn_gamma"] = False if args.fixed_gamma else None
    if args.stop_after is not None and args.stop_after < 1:
        raise ValueError(f"--stop-after must be positive, got {args.stop_after}")
    options = parse_options(args.backend_option, "--backend-option")
    loaded = load_config_file(args.config, quick=args.quick) if args.config is not None else {}
    if options and not args.resume:
        # key by key over the TOML's table; check_config checks the merged table's keys
        overrides["backend_options"] = {**loaded.get("backend_options", {}), **options}
    config = resolve_config(args.config, overrides, quick=args.quick)
    if args.allow_changes and not args.resume:
        raise ConfigError("--allow-changes applies to --resume only")
    if args.resume:
        # The run's saved config.json rules: pass on only the settings the user gave.
        given = {**loaded, **{k: v for k, v in overrides.items() if v is not None}}
        if options:
            # Over the TOML's table, else the run's own: a key given with its saved value is
            # no change; any other value is a change that resume refuses like the others.
            base = loaded.get("backend_options")
            if base is None:
                saved = RunDir(config["run_dir"]).read_config()
                base = saved.get("backend_options", DEFAULTS["backend_options"])
            given["backend_options"] = {**base, **options}
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
