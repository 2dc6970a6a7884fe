"""Experiments 1-3 of issue 13: QRBM vs RBM, QiDBM vs DBM (binarized MNIST), QGRBM vs GRBM.

Every variant of :data:`VARIANTS` (the RBM; the QRBM trained with the exact Z-basis
MH-within-Gibbs negative phase; the QRBM trained with the paper's plain, uncorrected chain) is
trained with the same recipe, sizes, data and seed (the quantum models add only Gamma),
through :func:`qdoem.experiment.train`, with a model snapshot every ``--snapshot-every``
epochs. For each (variant, seed):

* FID of ``--fid-samples`` samples (``--fid-steps`` sweeps of the ``--fid-sampler`` chain,
  ``exact`` by default, from noise,
  :func:`qdoem.cli.evaluate.model_fid`, the sampler of ``qdoem sample``) against the test
  split, with the feature map of ``--fid`` (``auto``: Inception when its weights are in the
  torch hub cache, else the domain CNN, said so in the report);
* an FID curve over the snapshots (``--curve-samples`` samples each);
* the test log-likelihood bracket of :func:`qdoem.metrics.likelihood_report` (AIS and
  RAISE, exact kernel, base rate = training log-odds); for the DBM/QiDBM its variational
  lower bound instead (below);
* a sample grid.

Each row is saved to ``OUT/rows/<variant>_s<seed>.json`` when done, so runs can be split over
processes (``--seeds 0`` in one, ``--seeds 1`` in another) and resumed; every call rewrites
``OUT/report.md``, ``report.json`` and ``fid_curves.png`` from all rows with the same
settings. The relative FID change of each quantum variant against the RBM is taken per seed
(same seed, same data order) and summarised by its mean and spread over seeds.

``--experiment qidbm-dbm`` (experiment 2) trains the DBM and the QiDBM of
``configs/dbm_mnist.toml`` and ``configs/qidbm_mnist.toml`` (the authors' unbiased-DBM recipe;
the QiDBM adds only Gamma on its first hidden layer) with ``--n-hidden`` units in each of the
two hidden layers. Its likelihood is Salakhutdinov & Hinton's variational LOWER BOUND
(:func:`qdoem.metrics.likelihood_report` with ``method="bound"``, i.e.
:func:`qdoem.metrics.dbm_log_likelihood_bound`, as ``qdoem evaluate --method bound``):
``mean_v [B(v) - log Z_hat]`` on the first ``--test-limit`` test images, ``B(v) <= log p*(v)``
the mean-field bound (the quantum layer traced out in closed form) and ``log Z`` by AIS over
the deep model with the bench's ``--n-chains`` x 2 runs and ``--n-betas`` temperatures from the
training log-odds base and from the uniform base, the larger kept (``base="both"``), exact
kernel, checked by reverse AIS (from test images, or from parallel-tempering states with
``--reverse-start tempering``, the default). It is a lower bound up to the AIS error of
``log Z``; RAISE does not apply (a DBM has no closed-form ``p*(v)`` to reverse-anneal), so
``--raise-points`` is refused there. AIS can underestimate ``log Z`` with all its runs agreeing
(chains held in the wrong mode along the path): the report carries
:func:`qdoem.metrics.dbm_likelihood.log_z_floor`, a rigorous lower bound of ``log Z``, and is
flagged NOT TRUSTED when the AIS ``log Z`` lies more
than 3 standard errors below it (measured on the DBM of the quick run from the training
log-odds base: 46-49 nats below). The report gives the per-seed difference of the bounds,
quantum minus classical, and its spread over seeds. Rows written before the bound was wired in
have no likelihood: ``--report-only`` still renders them, as "not measured".
Variants: ``dbm``, ``qidbm`` (Gamma on h1) and ``qidbm-h2`` (Gamma on h2, the other
interleaving). ``--learning-rate``/``--momentum`` override the config files' recipe for every
variant alike; ``--reverse-start tempering`` starts the reverse check of ``log Z`` at
parallel-tempering states instead of test rows (:func:`qdoem.sampling.ais.tempered_states`);
``--fid-local-mode`` adds the final FID of the DBM baseline's image sampler (local mode from
noise, one sweep); ``--train-only`` trains every row's model and stops, so that training and
evaluation can be split over processes with the same flags.

``--experiment qgrbm-grbm`` (experiment 3) trains the GRBM and the QGRBM of
``configs/grbm_fashion_mnist_reduced.toml`` and ``configs/qgrbm_fashion_mnist_reduced.toml``
(Liao et al.'s recipe: Fashion-MNIST standardised per channel, negative chains from N(0, 1) noise
with ``--cd-k`` sweeps, SGD with a cosine schedule, gradient-norm clipping; the QGRBM adds only
Gamma) with ``--n-hidden`` units. Samples are mapped back to pixels before the FID; the test
log-likelihood is AIS/RAISE with the Gaussian base N(mu, sigma^2) (no base rate), in nats of
the standardised pixels.

Usage::

    python bench/quality_compare.py --epochs 20 --seeds 0 1      # -> results/qrbm_vs_rbm_mnist
    python bench/quality_compare.py --experiment qidbm-dbm --epochs 20 --seeds 0 1
    # results/qidbm_vs_dbm_mnist_learning: its README has the exact flags
    python bench/quality_compare.py --experiment qgrbm-grbm --epochs 20 --seeds 0 1
    python bench/quality_compare.py --quick --out /tmp/q         # smoke run (a minute or two)
    python bench/quality_compare.py --report-only                # rebuild the report
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(REPO))

#: Variant -> config overrides (the quantum ones add only Gamma and the negative-phase chain).
VARIANTS = {
    "rbm": {"model": "rbm"},
    "qrbm": {"model": "qrbm", "sampler": "exact", "learn_gamma": True},
    "qrbm-plain": {"model": "qrbm", "sampler": "plain", "learn_gamma": True},
}
#: Experiment 2: variant -> its config file (same recipe; the QiDBM adds only Gamma).
DBM_VARIANTS = {
    "dbm": {"config": "configs/dbm_mnist.toml"},
    "qidbm": {"config": "configs/qidbm_mnist.toml"},
    "qidbm-h2": {"config": "configs/qidbm_mnist.toml", "quantum_layers": [2]},
}
#: Experiment 3: variant -> its config file (Liao et al.'s recipe; the QGRBM adds only Gamma).
GRBM_VARIANTS = {
    "grbm": {"config": "configs/grbm_fashion_mnist_reduced.toml"},
    "qgrbm": {"config": "configs/qgrbm_fashion_mnist_reduced.toml"},
}
#: Experiment -> its variants, the classical reference of the relative FID change, defaults,
#: and what its images are (titles, report text).
EXPERIMENTS = {
    "qrbm-rbm": {
        "variants": VARIANTS,
        "classical": "rbm",
        "out": "results/qrbm_vs_rbm_mnist",
        "n_hidden": 500,
        "likelihood": "ais",
        "data": "binarized MNIST",
    },
    "qidbm-dbm": {
        "variants": DBM_VARIANTS,
        "classical": "dbm",
        "out": "results/qidbm_vs_dbm_mnist",
        "n_hidden": 784,
        "likelihood": "bound",
        "data": "binarized MNIST",
    },
    "qgrbm-grbm": {
        "variants": GRBM_VARIANTS,
        "classical": "grbm",
        "out": "results/qgrbm_vs_grbm_fashion",
        "n_hidden": 1024,
        "likelihood": "ais",
        "data": "Fashion-MNIST",
    },
}
#: The paper's FIDs on binarized MNIST, 2 x 784 hidden (Inception FID; not comparable here).
PAPER_FID = {"qidbm": 14.77, "dbm": 42.61}
#: Salakhutdinov & Murray (2008), Table 2: 500 hidden units, binarized MNIST test set, AIS.
LITERATURE = {"CD-1": -125.53, "CD-3": -105.50, "CD-25": -86.34}


#: ``--quick``: a smoke run of a minute or two (flags given beside it override these).
QUICK = {
    "limit": 1000,
    "n_hidden": 64,
    "epochs": 2,
    "snapshot_every": 1,
    "fid_samples": 200,
    "fid_steps": 20,
    "curve_samples": 100,
    "test_limit": 200,
    "n_chains": 10,
    "n_betas": 100,
    "raise_points": 10,
    "classifier_limit": 2000,
    "pt_replicas": 10,
    "pt_steps": 20,
}


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--experiment", choices=list(EXPERIMENTS), default="qrbm-rbm")
    p.add_argument("--recipe", default=None, help="qrbm-rbm only (default pcd)")
    p.add_argument(
        "--variants", nargs="+", default=None, choices=[*VARIANTS, *DBM_VARIANTS, *GRBM_VARIANTS],
        help="default: all of the experiment's",
    )  # fmt: skip
    p.add_argument("--seeds", nargs="+", type=int, default=[0, 1])
    p.add_argument("--data-root", default=str(REPO.parent / "shared" / "data"))
    p.add_argument("--epochs", type=int, default=None, help="override the recipe's epochs")
    p.add_argument("--n-hidden", type=int, default=None, help="per hidden layer (500/784/1024)")
    p.add_argument("--batch-size", type=int, default=None, help="the config files' by default")
    p.add_argument("--cd-k", type=int, default=None, help="qgrbm-grbm only (config's: 100)")
    p.add_argument("--gamma-init", type=float, default=0.5)
    p.add_argument(
        "--learning-rate", type=float, default=None,
        help="qidbm-dbm only: override the config files' (same for every variant)",
    )  # fmt: skip
    p.add_argument("--momentum", type=float, default=None, help="qidbm-dbm only (as above)")
    p.add_argument("--limit", type=int, default=None, help="first N training images")
    p.add_argument("--snapshot-every", type=int, default=5)
    p.add_argument("--fid", choices=["auto", "inception", "domain"], default="auto")
    p.add_argument("--fid-samples", type=int, default=10000)
    p.add_argument("--fid-steps", type=int, default=1000, help="sampler sweeps from noise")
    p.add_argument(
        "--fid-local-mode", action="store_true",
        help="qidbm-dbm: also the final FID of the DBM baseline's image sampler (local mode "
        "from noise, then one sweep; not a sample of p(v))",
    )  # fmt: skip
    p.add_argument(
        "--fid-sampler", default="exact",
        help="chain of the FID samples and curve (an exact one: exact, path-gibbs, twin-mh, "
        "...; at Gamma = 0 all are the same block Gibbs); recorded with the rows when not exact",
    )  # fmt: skip
    p.add_argument("--curve-samples", type=int, default=2000, help="FID samples per snapshot")
    p.add_argument("--test-limit", type=int, default=None, help="first N test images (AIS)")
    p.add_argument("--n-chains", type=int, default=100, help="AIS chains per run")
    p.add_argument("--n-betas", type=int, default=10000, help="AIS/RAISE temperatures")
    p.add_argument(
        "--raise-points", type=int, default=100,
        help="test images given RAISE (not for qidbm-dbm: RAISE does not apply to the bound)",
    )  # fmt: skip
    p.add_argument(
        "--reverse-start", choices=["data", "tempering"], default="tempering",
        help="qidbm-dbm: where the reverse-AIS check of log Z starts (data rows, or parallel "
        "tempering along the uniform base's path)",
    )  # fmt: skip
    p.add_argument("--pt-replicas", type=int, default=40, help="with --reverse-start tempering")
    p.add_argument("--pt-steps", type=int, default=300, help="with --reverse-start tempering")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--runs", type=Path, default=Path("runs/quality_compare"))
    p.add_argument("--out", type=Path, default=None, help="default: the experiment's")
    p.add_argument("--fid-cache", default=None, help="domain classifier cache folder")
    p.add_argument("--classifier-limit", type=int, default=None, help="(smoke runs only)")
    p.add_argument("--report-only", action="store_true", help="rebuild the report from rows")
    p.add_argument(
        "--train-only", action="store_true",
        help="train (or resume) every row's model and stop: no FID, likelihood or report",
    )  # fmt: skip
    p.add_argument(
        "--quick",
        action="store_true",
        help="smoke run: 1000 images, 64 hidden, 2 epochs, 200 FID samples, 100 betas",
    )
    argv = sys.argv[1:] if argv is None else list(argv)
    if "--quick" in argv:  # the smoke scale as defaults: flags given still win
        p.set_defaults(**QUICK)
    args = p.parse_args(argv)
    args.argv = argv
    exp = EXPERIMENTS[args.experiment]
    if args.experiment == "qrbm-rbm":
        if args.batch_size is not None:
            p.error("--batch-size is for the config-file experiments (qrbm-rbm: the recipe's)")
        args.recipe = args.recipe or "pcd"
    elif args.recipe is not None:
        p.error(f"--recipe is for --experiment qrbm-rbm ({args.experiment}: the config files')")
    if args.experiment == "qidbm-dbm" and any(a.startswith("--raise") for a in argv):
        p.error(
            "--raise-points is not for --experiment qidbm-dbm: RAISE does not apply to the DBM "
            "variational bound (no closed-form p*(v) to reverse-anneal)"
        )
    if args.experiment != "qidbm-dbm" and (args.learning_rate, args.momentum) != (None, None):
        p.error(f"--learning-rate/--momentum are for --experiment qidbm-dbm ({args.experiment}: "
                "the recipe's)")  # fmt: skip
    if args.cd_k is not None and args.experiment != "qgrbm-grbm":
        p.error(f"--cd-k is for --experiment qgrbm-grbm ({args.experiment}: the recipe's)")
    args.variants = args.variants or list(exp["variants"])
    wrong = [v for v in args.variants if v not in exp["variants"]]
    if wrong:
        p.error(
            f"--variants {wrong} not in --experiment {args.experiment}: {list(exp['variants'])}"
        )
    from qdoem.sampling.kernels import EXACT_SAMPLERS

    if args.fid_sampler not in EXACT_SAMPLERS:
        p.error(f"--fid-sampler must be one of {sorted(EXACT_SAMPLERS)}, got {args.fid_sampler!r}")
    args.out = args.out or Path(exp["out"])
    args.n_hidden = args.n_hidden or exp["n_hidden"]
    return args


def settings(args) -> dict:
    """What makes rows comparable (a row with other settings is not reported beside them).

    The FID's chain is recorded only when it is not ``exact`` (rows written before it was an
    option still match)."""
    sampler = getattr(args, "fid_sampler", "exact")
    return _settings(args) | ({"fid_sampler": sampler} if sampler != "exact" else {})


def _settings(args) -> dict:
    if args.experiment == "qidbm-dbm":
        keys = ("experiment", "epochs", "n_hidden", "batch_size", "gamma_init", "limit")
        keys += ("snapshot_every", "fid", "fid_samples", "fid_steps", "curve_samples")
        from qdoem.metrics.dbm_likelihood import DEFAULT_BASE

        bound = {k: getattr(args, k) for k in ("test_limit", "n_chains", "n_betas")}
        # Recipe overrides, recorded only when given (rows written before them still match).
        recipe = {k: getattr(args, k, None) for k in ("learning_rate", "momentum")}
        bound |= {k: v for k, v in recipe.items() if v is not None}
        if getattr(args, "fid_local_mode", False):
            bound["fid_local_mode"] = True
        if getattr(args, "reverse_start", "data") != "data":  # recorded when not data
            bound |= {k: getattr(args, k) for k in ("reverse_start", "pt_replicas", "pt_steps")}
        # The AIS base is recorded so that rows from the data base alone (before "both") are
        # recomputed rather than reported beside rows from the new default.
        return (
            {k: getattr(args, k) for k in (*keys, "classifier_limit")}
            | bound
            | {"log_z_base": DEFAULT_BASE}
        )
    keys = ("recipe", "epochs", "n_hidden", "gamma_init", "limit", "snapshot_every", "fid")
    if args.experiment == "qgrbm-grbm":
        keys = ("experiment", "epochs", "n_hidden", "batch_size", "cd_k", "gamma_init", "limit")
        keys += ("snapshot_every", "fid")
    keys += ("fid_samples", "fid_steps", "curve_samples", "test_limit", "n_chains", "n_betas")
    keys += ("raise_points", "classifier_limit")
    return {k: getattr(args, k) for k in keys}


#: Experiment 2's likelihood settings, added to its settings when the bound was wired in.
DBM_BOUND_KEYS = ("test_limit", "n_chains", "n_betas", "log_z_base")
#: ... and those of its reverse check, recorded when it does not start at data rows.
DBM_BOUND_KEYS += ("reverse_start", "pt_replicas", "pt_steps")


def matches(saved: dict | None, args, *, fid_only: bool = False) -> bool:
    """Whether settings saved with a row (or the data floor) belong to this call's report.

    Equal settings match. For experiment 2, settings without :data:`DBM_BOUND_KEYS` (a row
    written before the DBM bound was wired into this bench) match on the rest: the row is
    reported with its likelihood "not measured". ``fid_only``: compare without the likelihood
    settings at all (the data floor does not depend on them).
    """
    now = settings(args)
    if saved == now:
        return True
    if args.experiment != "qidbm-dbm" or not isinstance(saved, dict):
        return False
    if not fid_only and any(k in saved for k in DBM_BOUND_KEYS):
        return False

    def strip(d: dict) -> dict:
        return {k: v for k, v in d.items() if k not in DBM_BOUND_KEYS}

    return strip(saved) == strip(now)


def row_config(args, variant: str, seed: int) -> dict:
    """The training config of one (variant, seed): the same for all variants but Gamma."""
    from qdoem.experiment import resolve_config

    common = {"data_root": args.data_root, "limit": args.limit, "epochs": args.epochs}
    common["seed"] = seed
    if args.experiment != "qgrbm-grbm":  # {0,1} pixels: gather-sums (Gaussian: dense)
        common["visible_matmul"] = "sparse"
    if args.experiment == "qrbm-rbm":
        run_dir = args.runs / f"{variant}_{args.recipe}_s{seed}"
        overrides = {**VARIANTS[variant], "recipe": args.recipe, "dataset": "binarized_mnist"}
        overrides |= {"n_hidden": args.n_hidden, "gamma_init": args.gamma_init}
        return resolve_config(None, {**overrides, **common, "run_dir": str(run_dir)})
    run_dir = args.runs / f"{variant}_s{seed}"
    exp = EXPERIMENTS[args.experiment]
    overrides = {"hidden_sizes": [args.n_hidden] * 2, "batch_size": args.batch_size}
    if args.experiment == "qidbm-dbm":  # the same recipe overrides for every variant
        overrides |= {"learning_rate": args.learning_rate, "momentum": args.momentum}
        extra = {k: v for k, v in exp["variants"][variant].items() if k != "config"}
        overrides |= extra  # qidbm-h2: the quantum layer is h2
    if args.experiment == "qgrbm-grbm":
        overrides = {"n_hidden": args.n_hidden, "batch_size": args.batch_size, "cd_k": args.cd_k}
    if variant != exp["classical"]:
        overrides["gamma_init"] = args.gamma_init
    path = REPO / exp["variants"][variant]["config"]
    return resolve_config(path, {**overrides, **common, "run_dir": str(run_dir)})


def run_row(args, variant: str, seed: int) -> dict:
    from qdoem.cli.evaluate import model_fid
    from qdoem.experiment import load_run_dataset, load_snapshot, train
    from qdoem.layers import data_log_odds
    from qdoem.metrics import likelihood_report
    from qdoem.training import RunDir, save_sample_grid

    config = row_config(args, variant, seed)
    run_dir = Path(config["run_dir"])
    start = time.perf_counter()
    resume = RunDir(run_dir).has_checkpoint()
    trainer = train(config, resume=resume, progress=False, snapshot_every=args.snapshot_every)
    train_s = time.perf_counter() - start
    model, history = trainer.model, trainer.history

    start = time.perf_counter()
    setup = shared_fid_setup(args, config)
    final_mean = config["grid_conditional_mean"]  # Liao et al.'s final GRBM image, if set
    result, images = model_fid(
        model,
        setup,
        n_samples=args.fid_samples,
        steps=args.fid_steps,
        seed=seed,
        sampler=args.fid_sampler,
        conditional_mean=final_mean,
    )
    shape = setup[2].image_shape
    save_sample_grid(images[:64], args.out / f"samples_{variant}_s{seed}.png", shape)
    local = None
    if getattr(args, "fid_local_mode", False):  # the DBM baseline's image sampler
        local, local_images = model_fid(
            model, setup, n_samples=args.fid_samples, steps=1, seed=seed, local=True
        )
        name = f"samples_local_{variant}_s{seed}.png"
        save_sample_grid(local_images[:64], args.out / name, shape)
        local = local.to_dict()
    curve = []
    for epoch, path in RunDir(run_dir).snapshot_files():
        snap, _ = load_snapshot(path)
        value = model_fid(snap, setup, n_samples=args.curve_samples, steps=args.fid_steps,
                          seed=seed, sampler=args.fid_sampler,
                          conditional_mean=final_mean)[0]  # fmt: skip
        curve.append({"epoch": epoch, "fid": value.value})
    fid_s = time.perf_counter() - start

    start = time.perf_counter()
    train_data = load_run_dataset(config).data
    test = load_run_dataset(config, split="test").data[: args.test_limit]
    # {0,1} visible: AIS from the training base rate; Gaussian: from N(mu, sigma^2) itself
    base_bias = data_log_odds(train_data) if model.layers[0].binary else None
    if EXPERIMENTS[args.experiment]["likelihood"] == "bound":  # DBM/QiDBM: no RAISE
        from qdoem.metrics import dbm_log_likelihood_bound

        report = dbm_log_likelihood_bound(
            model,
            test,
            n_chains=args.n_chains,
            n_betas=args.n_betas,
            base_bias=base_bias,
            seed=seed,
            reverse_start=args.reverse_start,
            pt_replicas=args.pt_replicas,
            pt_steps=args.pt_steps,
        )
    else:  # AIS/RAISE bracket: one hidden layer
        report = likelihood_report(
            model,
            test,
            n_chains=args.n_chains,
            n_betas=args.n_betas,
            raise_points=args.raise_points,
            base_bias=base_bias,
            seed=seed,
        )
    lk = report.to_dict()
    ll_s = time.perf_counter() - start
    last = history[-1] if history else {}
    extra = {}
    if args.experiment != "qrbm-rbm":  # the config-file experiments: what was trained
        extra = {"experiment": args.experiment, "batch_size": config["batch_size"]}
        if args.experiment == "qidbm-dbm":
            extra["hidden_sizes"] = config["hidden_sizes"]
        else:
            extra |= {"n_hidden": config["n_hidden"], "cd_k": config["cd_k"]}
    return {
        "variant": variant,
        "seed": seed,
        "settings": settings(args),
        "epochs": trainer.epoch,
        "n_train": int(train_data.shape[0]),
        "gamma_mean": last.get("gamma_mean"),
        "accept_rate": last.get("accept_rate"),
        "fid": result.to_dict(),
        "fid_local_mode": local,
        "fid_curve": curve,
        "likelihood": lk,
        **extra,
        "train_s_this_call": train_s,
        "train_s_epochs": sum(r.get("time_s", 0.0) for r in history),
        "fid_s": fid_s,
        "likelihood_s": ll_s,
        "threads": args.threads,
        "device": f"cpu ({platform.processor() or platform.machine()})",
    }


_SETUPS: dict[tuple, tuple] = {}


def shared_fid_setup(args, config: dict) -> tuple:
    """:func:`qdoem.cli.evaluate.fid_setup` for the run's data, computed once per process: the
    variants share their data, so the feature map and the test reference's features are the
    same for every row."""
    from qdoem.cli.evaluate import fid_setup

    key = (config["dataset"], json.dumps(config["dataset_options"], sort_keys=True))
    key += (str(config["data_root"]), args.fid, str(args.fid_cache), args.classifier_limit)
    if key not in _SETUPS:
        classifier = {"limit": args.classifier_limit}
        _SETUPS[key] = fid_setup(config, args.fid, cache_dir=args.fid_cache, classifier=classifier)
    return _SETUPS[key]


def data_floor(args) -> dict:
    """The FID of ``--fid-samples`` training images (the first ones, as the models see them,
    mapped back to pixels) against the test reference: what a perfect model scores at this
    sample size and feature map. Cached in ``OUT/floor.json`` for the settings."""
    from qdoem.cli.evaluate import data_floor as data_floor_fid
    from qdoem.io import atomic_write_text

    path = args.out / "floor.json"
    if path.is_file():
        saved = json.loads(path.read_text())
        if matches(saved.get("settings"), args, fid_only=True):
            return saved
    # The classical model's data (binarized MNIST; Fashion-MNIST standardised per channel).
    config = row_config(args, EXPERIMENTS[args.experiment]["classical"], args.seeds[0])
    result = data_floor_fid(config, shared_fid_setup(args, config), args.fid_samples)
    floor = {"settings": settings(args), "fid": result.to_dict()}
    atomic_write_text(path, json.dumps(floor, indent=2) + "\n")
    return floor


def load_rows(args) -> list[dict]:
    rows = []
    for path in sorted((args.out / "rows").glob("*.json")):
        row = json.loads(path.read_text())
        if matches(row.get("settings"), args):
            rows.append(row)
    return rows


def summarise(rows: list[dict], experiment: str = "qrbm-rbm") -> dict:
    """Per variant: mean and spread of FID and AIS (or the DBM bound) over seeds; per quantum
    variant: the per-seed relative FID change against the classical model of the same seed
    and, for the DBM bound, the per-seed difference of the bounds (quantum minus classical)."""
    order = list(EXPERIMENTS[experiment]["variants"])
    by = {}
    for r in rows:
        by.setdefault(r["variant"], {})[r["seed"]] = r
    out = {"variants": {}, "relative_fid_change": {}}
    for variant, seeds in sorted(by.items(), key=lambda kv: order.index(kv[0])):
        fids = [seeds[s]["fid"]["value"] for s in sorted(seeds)]
        lks = [seeds[s]["likelihood"] for s in sorted(seeds) if seeds[s]["likelihood"]]
        ais = [lk["ais"] for lk in lks if lk["method"] != "bound"]
        rai = [lk["raise_estimate"] for lk in lks if lk["method"] != "bound"]
        out["variants"][variant] = {
            "seeds": sorted(seeds),
            "fid": _stats(fids),
            "ais": _stats(ais),
            "raise": _stats([x for x in rai if x is not None]),
        }
        if experiment == "qidbm-dbm":  # the variational lower bound (rows that have it)
            bounds = [lk["lower_bound"] for lk in lks if lk["method"] == "bound"]
            out["variants"][variant]["lower_bound"] = _stats(bounds)
    name = EXPERIMENTS[experiment]["classical"]
    classical = by.get(name, {})
    for variant, seeds in by.items():
        if variant == name:
            continue
        common = sorted(set(seeds) & set(classical))
        changes = [
            (seeds[s]["fid"]["value"] - classical[s]["fid"]["value"]) / classical[s]["fid"]["value"]
            for s in common
        ]
        out["relative_fid_change"][variant] = {"seeds": common, **_stats(changes)}
        local = [s for s in common if seeds[s].get("fid_local_mode")]
        local = [s for s in local if classical[s].get("fid_local_mode")]
        if local:  # the same for the DBM baseline's local-mode image sampler
            changes = [
                seeds[s]["fid_local_mode"]["value"] / classical[s]["fid_local_mode"]["value"] - 1
                for s in local
            ]
            out.setdefault("relative_fid_local_mode_change", {})[variant] = {
                "seeds": local,
                **_stats(changes),
            }
        if experiment == "qidbm-dbm":  # B_q - B_classical per seed, where both were measured
            both = [s for s in common if _bound(seeds[s]) is not None]
            both = [s for s in both if _bound(classical[s]) is not None]
            diffs = [_bound(seeds[s]) - _bound(classical[s]) for s in both]
            untrusted = [
                f"{r['variant']} s{s}"
                for s in both
                for r in (classical[s], seeds[s])
                if not r["likelihood"]["trustworthy"]
            ]
            out.setdefault("lower_bound_difference", {})[variant] = {
                "seeds": both,
                **_stats(diffs),
                "untrusted_rows": untrusted,
            }
    return out


def _bound(row: dict) -> float | None:
    """The row's DBM variational lower bound (nats), None where it was not measured."""
    lk = row.get("likelihood")
    return lk["lower_bound"] if lk and lk.get("method") == "bound" else None


def _stats(values: list[float]) -> dict:
    if not values:
        return {"values": [], "mean": None, "std": None, "min": None, "max": None}
    return {
        "values": values,
        "mean": statistics.fmean(values),
        "std": statistics.stdev(values) if len(values) > 1 else None,
        "min": min(values),
        "max": max(values),
    }


def write_report(args, rows: list[dict], floor: dict | None = None) -> None:
    from qdoem.io import atomic_write_text
    from qdoem.metrics import save_fid_curve

    s = settings(args)
    dbm, grbm = args.experiment == "qidbm-dbm", args.experiment == "qgrbm-grbm"
    data = EXPERIMENTS[args.experiment]["data"]
    summary = summarise(rows, args.experiment)
    payload = {"settings": s, "literature": LITERATURE, "summary": summary, "rows": rows}
    if dbm:  # the paper's (Inception) FIDs are the reference quoted; the likelihood: a bound
        if not any(_bound(r) is not None for r in rows):  # no AIS settings to claim
            s = {k: v for k, v in s.items() if k not in DBM_BOUND_KEYS}
        payload = {"settings": s, "paper_fid_inception": PAPER_FID, "summary": summary}
        payload |= {"likelihood": DBM_LIKELIHOOD_NOTE, "rows": rows}
    if grbm:  # the likelihood is a density of standardised pixels
        payload = {"settings": s, "likelihood_unit": GRBM_LL_UNIT, "summary": summary}
        payload["rows"] = rows
    payload["data_floor"] = floor
    atomic_write_text(args.out / "report.json", json.dumps(payload, indent=2) + "\n")
    points = [
        {"epoch": p["epoch"], "fid": p["fid"], "label": f"{r['variant']} s{r['seed']}"}
        for r in rows
        for p in r["fid_curve"]
    ]
    extractors = sorted({r["fid"]["extractor"] for r in rows})
    if points:
        title = f"{data}, FID per epoch ({', '.join(extractors)})"
        save_fid_curve(points, args.out / "fid_curves.png", title=title)
    # Training time: the sum of the run's epoch times (all the calls that trained it, e.g. an
    # earlier --train-only call), not only this call's; rows without it: this call's.
    hours = sum(
        r.get("train_s_epochs", r["train_s_this_call"]) + r["fid_s"] + r["likelihood_s"]
        for r in rows
    )
    hours /= 3600
    header = _dbm_header if dbm else _grbm_header if grbm else _rbm_header
    lines = header(args, rows, extractors, hours)
    fallbacks = {r["fid"]["fallback"] for r in rows if r["fid"]["fallback"]}
    domain = [r for r in rows if r["fid"]["extractor"].startswith("domain")]
    if domain:
        info = domain[0]["fid"]["extractor_info"]
        lines += [
            f"**FID here is the domain FID** (features of qdoem's CNN classifier trained on "
            f"{data}, test accuracy {info['test_accuracy']:.4f}, sha256 "
            f"{info['sha256'][:12]}...), not the Inception FID: its values are not comparable "
            f"with the paper's."
            + (" Inception was not used: " + "; ".join(sorted(fallbacks)) if fallbacks else ""),
            "",
        ]
    if floor is not None:
        lines += [
            f"Data floor: {s['fid_samples']} {data} training images against the same "
            f"reference score FID {floor['fid']['value']:.2f} (what a perfect model would "
            f"score at this sample size).",
            "",
        ]
    if dbm:
        lines += _dbm_runs(rows, summary)
    else:
        unit = GRBM_LL_UNIT if grbm else "nats"
        lines += _rbm_runs(rows, summary, list(EXPERIMENTS[args.experiment]["variants"]), unit)
    ref = EXPERIMENTS[args.experiment]["classical"]
    lines += ["", "Relative FID change, quantum against classical, per seed "
              f"(FID_q - FID_{ref}) / FID_{ref}:", ""]  # fmt: skip
    for variant, c in summary["relative_fid_change"].items():
        if c["mean"] is None:
            continue
        per_seed = ", ".join(
            f"s{seed}: {100 * x:+.1f}%" for seed, x in zip(c["seeds"], c["values"], strict=True)
        )
        spread = f", std {100 * c['std']:.1f} points" if c["std"] is not None else ""
        lines.append(f"- {variant}: mean {100 * c['mean']:+.1f}% ({per_seed}{spread})")
    for variant, c in summary.get("relative_fid_local_mode_change", {}).items():
        per_seed = ", ".join(
            f"s{seed}: {100 * x:+.1f}%" for seed, x in zip(c["seeds"], c["values"], strict=True)
        )
        spread = f", std {100 * c['std']:.1f} points" if c["std"] is not None else ""
        lines.append(
            f"- {variant}, local-mode sampler: mean {100 * c['mean']:+.1f}% ({per_seed}{spread})"
        )
    note = (
        "Literature anchor (Salakhutdinov & Murray 2008, 500 hidden units, AIS): "
        + ", ".join(f"{k} {v}" for k, v in LITERATURE.items())
        + " nats. The paper's FIDs (QiDBM/DBM) are Inception FIDs of other models and are "
        "not comparable with these numbers."
    )
    if dbm:
        lines += _dbm_bound_difference(summary)
    lines += ["", _DBM_PAPER_NOTE if dbm else _GRBM_PAPER_NOTE if grbm else note]
    lines += [
        "",
        "Figures: `fid_curves.png` (FID per snapshot epoch, "
        f"{s['curve_samples']} samples each), "
        + ", ".join(f"`samples_{r['variant']}_s{r['seed']}.png`" for r in rows)
        + ".",
    ]
    atomic_write_text(args.out / "report.md", "\n".join(lines) + "\n")


def _rbm_header(args, rows: list[dict], extractors: list[str], hours: float) -> list[str]:
    """Experiment 1's title and scale table."""
    s = settings(args)
    return [
        "# Experiment 1: QRBM against RBM on binarized MNIST (FID and AIS log-likelihood)",
        "",
        "Command (of the call that wrote this report): `python bench/quality_compare.py "
        + " ".join(args.argv)
        + "`",
        "",
        "## Scale run here against the issue's setting",
        "",
        "| | issue / paper setting | run here |",
        "|---|---|---|",
        f"| model | 784 x 500 | 784 x {s['n_hidden']} |",
        f"| training images | 60000 | {rows[0]['n_train'] if rows else '-'} |",
        f"| epochs | the recipe's 100 | {rows[0]['epochs'] if rows else '-'} (recipe "
        f"`{s['recipe']}`, its lr decay spread over these epochs) |",
        f"| FID samples | 10000 against the test set | {s['fid_samples']} after "
        f"{s['fid_steps']} sweeps of the `{args.fid_sampler}` sampler "
        "from noise |",
        f"| FID features | InceptionV3 pool3 | {', '.join(extractors) or '-'} |",
        f"| AIS | - | {s['n_chains']} chains x 2 runs, {s['n_betas']} temperatures, RAISE on "
        f"{s['raise_points']} test images, {s['test_limit'] or 10000} test images |",
        f"| seeds | >= 2 | {sorted({r['seed'] for r in rows})} |",
        f"| device | - | {rows[0]['device'] if rows else '-'}, {args.threads} torch thread(s) "
        f"per process, shared 2-core machine (niced); {hours:.2f} h of process wall-clock "
        "time in all |",
        "",
    ]


def _rbm_runs(rows: list[dict], summary: dict, order: list[str], unit: str) -> list[str]:
    """Experiments 1 and 3: per-run table (FID, AIS/RAISE bracket) and over-seeds table;
    ``order``: the variants' order, ``unit``: of the log-likelihoods."""
    lines = [
        f"## Per run (test log-likelihood in {unit})",
        "",
        "| variant | seed | epochs | Gamma | MH accept | FID | AIS (optimistic) | RAISE | "
        "bracket | trusted |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in sorted(rows, key=lambda r: (order.index(r["variant"]), r["seed"])):
        lk = r["likelihood"]
        gamma = "-" if r["gamma_mean"] is None else f"{r['gamma_mean']:.3f}"
        acc = "-" if r["accept_rate"] is None else f"{r['accept_rate']:.2f}"
        raise_ = "-" if lk["raise_estimate"] is None else f"{lk['raise_estimate']:.2f}"
        lines.append(
            f"| {r['variant']} | {r['seed']} | {r['epochs']} | {gamma} | {acc} | "
            f"{r['fid']['value']:.2f} | {lk['ais']:.2f} +/- {lk['log_z_stderr']:.2f} | {raise_} "
            f"| [{lk['lower']:.2f}, {lk['upper']:.2f}] | "
            f"{'yes' if lk['trustworthy'] else 'NO: ' + '; '.join(lk['flags'])} |"
        )
    lines += ["", "## Over seeds", "", "| variant | FID mean (min, max) | AIS mean (min, max) |"]
    lines += ["|---|---|---|"]
    for variant, v in summary["variants"].items():
        lines.append(f"| {variant} | {_fmt(v['fid'])} | {_fmt(v['ais'])} |")
    return lines


#: What experiment 2's likelihood is (report.json, and the note under report.md).
DBM_LIKELIHOOD_NOTE = (
    "test log-likelihood: variational LOWER BOUND (Salakhutdinov & Hinton 2009, mean field, "
    "the quantum layer traced out in closed form; qdoem.metrics.dbm_log_likelihood_bound, as "
    "qdoem evaluate --method bound) with log Z by AIS over the deep model (exact kernel; from "
    "the training log-odds base and the uniform base, the larger kept, unless a row's settings "
    "name one base; checked by reverse AIS from test images or parallel-tempering states, as "
    "the scale table says): a lower bound up to the AIS "
    "error of log Z, not an estimate of log p(v). RAISE does not apply (no closed-form p*(v) "
    "to reverse-anneal). Rows written before the bound was wired into this bench have none: "
    "'not measured'."
)
_DBM_PAPER_NOTE = (
    "The paper's FIDs on binarized MNIST (2 x 784 hidden, full scale): QiDBM "
    f"{PAPER_FID['qidbm']} against DBM {PAPER_FID['dbm']}, Inception FID: not comparable with "
    "the domain FIDs here. The paper reports no likelihood. The likelihood here is the "
    + DBM_LIKELIHOOD_NOTE.removeprefix("test log-likelihood: ")
)


def _dbm_header(args, rows: list[dict], extractors: list[str], hours: float) -> list[str]:
    """Experiment 2's title and scale table (the paper's setting: configs/dbm_mnist.toml)."""
    s, r0 = settings(args), (rows[0] if rows else {})
    return [
        "# Experiment 2: QiDBM against DBM on binarized MNIST (FID, likelihood lower bound)",
        "",
        "Command (of the call that wrote this report): `python bench/quality_compare.py "
        + " ".join(args.argv)
        + "`",
        "",
        "## Scale run here against the paper's setting",
        "",
        "| | paper / config setting (`configs/dbm_mnist.toml`) | run here |",
        "|---|---|---|",
        f"| model | 784 x 784 x 784 | {' x '.join(map(str, [784, *r0.get('hidden_sizes', [])]))} "
        "(qidbm: Gamma on h1; qidbm-h2: Gamma on h2) |",
        f"| training images | 60000 | {r0.get('n_train', '-')} |",
        f"| batch | 1000 | {r0.get('batch_size', '-')} |",
        f"| epochs (passes over the data) | 16667 (10^6 steps of 1000) | {r0.get('epochs', '-')} |",
        "| recipe | unbiased CD-1, SGD lr 0.01 / sqrt(1 + 1e-3 t), no momentum | "
        + _dbm_recipe(s)
        + " |",
        f"| FID samples | 10000 against the test set | {s['fid_samples']} after "
        f"{s['fid_steps']} sweeps of the `{args.fid_sampler}` sampler "
        "from noise |",
        f"| FID features | InceptionV3 pool3 | {', '.join(extractors) or '-'} |",
        f"| likelihood | - | {_dbm_likelihood_scale(s, rows)} |",
        f"| seeds | >= 2 | {sorted({r['seed'] for r in rows})} |",
        f"| device | - | {r0.get('device', '-')}, {args.threads} torch thread(s) per process, "
        f"shared 2-core machine (niced); {hours:.2f} h of process wall-clock time in all |",
        "",
    ]


GRBM_LL_UNIT = "nats per test image, density of the standardised pixels"
_GRBM_PAPER_NOTE = (
    "The paper reports the QGRBM ahead of a GRBM of equal size on Fashion-MNIST (Inception "
    "FID, 10000 hidden units, 10000 epochs, `configs/qgrbm_fashion_mnist.toml`); its values "
    "are not comparable with the domain FIDs here and are not quoted. The log-likelihoods are "
    "densities of the standardised pixels (x - mean) / std (per-channel training "
    "statistics), as the models see them: AIS from the Gaussian N(mu, sigma^2), RAISE from "
    "the test images."
)


def _grbm_header(args, rows: list[dict], extractors: list[str], hours: float) -> list[str]:
    """Experiment 3's title and scale table (the paper's setting:
    configs/grbm_fashion_mnist.toml)."""
    s, r0 = settings(args), (rows[0] if rows else {})
    return [
        "# Experiment 3: QGRBM against GRBM on Fashion-MNIST (domain FID and AIS log-likelihood)",
        "",
        "Command (of the call that wrote this report): `python bench/quality_compare.py "
        + " ".join(args.argv)
        + "`",
        "",
        "## Scale run here against the paper's setting",
        "",
        "| | paper / config setting (`configs/grbm_fashion_mnist.toml`) | run here |",
        "|---|---|---|",
        f"| model | 784 x 10000 | 784 x {r0.get('n_hidden', '-')} (QGRBM: Gamma from "
        f"{s['gamma_init']}, learned) |",
        f"| training images | 60000 | {r0.get('n_train', '-')} |",
        f"| batch | 512 | {r0.get('batch_size', '-')} |",
        f"| epochs | 10000 | {r0.get('epochs', '-')} (cosine schedule over these) |",
        f"| negative phase | 100 sweeps from N(0, 1) noise | {r0.get('cd_k', '-')} sweeps from "
        "noise (exact MH-within-Gibbs at Gamma != 0) |",
        "| recipe | SGD lr 0.01 cosine to 0, clip 10, no momentum | the same |",
        f"| FID samples | 10000 against the test set | {s['fid_samples']} after "
        f"{s['fid_steps']} sweeps of the `{args.fid_sampler}` sampler "
        "from noise, mapped back to pixels |",
        f"| FID features | InceptionV3 pool3 | {', '.join(extractors) or '-'} |",
        f"| likelihood | - | AIS {s['n_chains']} chains x 2 runs, {s['n_betas']} temperatures; "
        f"RAISE on {s['raise_points']} test images; {s['test_limit'] or 10000} test images |",
        f"| seeds | >= 2 | {sorted({r['seed'] for r in rows})} |",
        f"| device | - | {r0.get('device', '-')}, {args.threads} torch thread(s) per process, "
        f"shared 2-core machine (niced); {hours:.2f} h of process wall-clock time in all |",
        "",
    ]


def _dbm_recipe(s: dict) -> str:
    """Experiment 2's recipe as run: the config files' unless overridden (the same for all)."""
    if s.get("learning_rate") is None and s.get("momentum") is None:
        return "the same"
    lr = s.get("learning_rate") or 0.01
    return (
        f"the same scheme and decay with lr {lr} and momentum {s.get('momentum') or 0.0} "
        "(overridden for every variant alike)"
    )


def _dbm_likelihood_scale(s: dict, rows: list[dict]) -> str:
    """Experiment 2's likelihood line of the scale table."""
    measured = [r for r in rows if _bound(r) is not None]
    parts = []
    if measured:
        lk = measured[0]["likelihood"]
        ls = lk["settings"]
        start = (
            f"{ls.get('reverse_chains')} parallel-tempering states ({ls.get('pt_replicas')} "
            f"replicas x {ls.get('pt_steps')} steps along the uniform base's path)"
            if ls.get("reverse_start") == "tempering"
            else f"{ls.get('reverse_chains') or 'no'} test images"
        )
        parts.append(
            f"variational LOWER BOUND (mean field) on {lk['n']} test images; log Z by AIS "
            f"{s['n_chains']} chains x {lk['settings'].get('n_runs', 2)} runs, {s['n_betas']} "
            f"temperatures, base {lk['settings'].get('base', 'data')!r} (data: training "
            f"log-odds; both: data and uniform, the larger kept); reverse AIS from "
            f"{start} after {ls.get('burn_in', '-')} exact sweeps (RAISE does not apply)"
        )
    if len(measured) < len(rows):
        parts.append(
            f"not measured for {len(rows) - len(measured)} row(s) written before the bound "
            "was wired into this bench"
        )
    return "; ".join(parts) or "-"


def _dbm_runs(rows: list[dict], summary: dict) -> list[str]:
    """Experiment 2's per-run and over-seeds tables (FID, likelihood lower bound)."""
    order = list(DBM_VARIANTS)
    lines = [
        "## Per run (test log-likelihood LOWER BOUND in nats, log Z by AIS)",
        "",
        "| variant | seed | epochs | Gamma | MH accept | FID | lower bound +/- s.e. (data) | "
        "log Z +/- s.e. (AIS) | trusted | train s |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in sorted(rows, key=lambda r: (order.index(r["variant"]), r["seed"])):
        gamma = "-" if r["gamma_mean"] is None else f"{r['gamma_mean']:.3f}"
        acc = "-" if r["accept_rate"] is None else f"{r['accept_rate']:.2f}"
        lk = r["likelihood"] if _bound(r) is not None else None
        if lk is None:
            bound = log_z = trusted = "not measured"
        else:
            bound = f">= {lk['lower_bound']:.2f} +/- {lk['data_stderr']:.2f}"
            log_z = f"{lk['log_z']:.2f} +/- {lk['log_z_stderr']:.2f}"
            bases = lk.get("log_z_bases") or {}
            if len(bases) > 1 or lk.get("log_z_reverse") is not None:  # the checks of log Z
                log_z += f" ({lk['base']} base kept; " + ", ".join(
                    f"{b} {v['log_z']:.2f}" for b, v in bases.items()
                )
                if lk.get("log_z_reverse") is not None:
                    log_z += f"; reverse {lk['log_z_reverse']:.2f}"
                log_z += f"; floor {lk['log_z_floor']:.2f})"
            trusted = "yes" if lk["trustworthy"] else "NO: " + "; ".join(lk["flags"])
        fid = f"{r['fid']['value']:.2f}"
        if r.get("fid_local_mode"):
            fid += f" (local mode: {r['fid_local_mode']['value']:.2f})"
        lines.append(
            f"| {r['variant']} | {r['seed']} | {r['epochs']} | {gamma} | {acc} | "
            f"{fid} | {bound} | {log_z} | {trusted} | "
            f"{r['train_s_epochs']:.0f} |"
        )
    lines += ["", "## Over seeds", "", "| variant | FID mean (min, max) | "
              "lower bound mean (min, max) |", "|---|---|---|"]  # fmt: skip
    for variant, v in summary["variants"].items():
        bound = _fmt(v["lower_bound"]) if v["lower_bound"]["mean"] is not None else "not measured"
        lines.append(f"| {variant} | {_fmt(v['fid'])} | {bound} |")
    return lines


def _dbm_bound_difference(summary: dict) -> list[str]:
    """Experiment 2: the per-seed difference of the likelihood lower bounds."""
    lines = [
        "",
        "Difference of the test log-likelihood lower bounds, quantum minus classical, per seed "
        "(B_q - B_dbm, nats; each bound carries its own AIS error of log Z):",
        "",
    ]
    for variant, c in summary.get("lower_bound_difference", {}).items():
        if c["mean"] is None:
            lines.append(f"- {variant}: not measured (no seed has the bound for both models)")
            continue
        per_seed = ", ".join(
            f"s{seed}: {x:+.2f}" for seed, x in zip(c["seeds"], c["values"], strict=True)
        )
        spread = f", std {c['std']:.2f} nats" if c["std"] is not None else ""
        lines.append(f"- {variant}: mean {c['mean']:+.2f} nats ({per_seed}{spread})")
        if c.get("untrusted_rows"):
            lines[-1] += (
                f". NOT TRUSTED: the bounds of {', '.join(c['untrusted_rows'])} are flagged "
                "(per-run table), so this difference is not a measurement of the models"
            )
    return lines


def _fmt(st: dict) -> str:
    if st["mean"] is None:
        return "-"
    return f"{st['mean']:.2f} ({st['min']:.2f}, {st['max']:.2f})"


def main(argv=None) -> None:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    from qdoem.io import atomic_write_text

    (args.out / "rows").mkdir(parents=True, exist_ok=True)
    if args.train_only:
        from qdoem.experiment import train
        from qdoem.training import RunDir

        for seed in args.seeds:
            for variant in args.variants:
                config = row_config(args, variant, seed)
                resume = RunDir(Path(config["run_dir"])).has_checkpoint()
                start = time.perf_counter()
                trainer = train(
                    config, resume=resume, progress=False, snapshot_every=args.snapshot_every
                )
                print(
                    f"{variant} s{seed}: trained to epoch {trainer.epoch} in "
                    f"{time.perf_counter() - start:.0f} s",
                    flush=True,
                )
        return
    if not args.report_only:
        for seed in args.seeds:
            for variant in args.variants:
                path = args.out / "rows" / f"{variant}_s{seed}.json"
                if path.is_file() and json.loads(path.read_text()).get("settings") == settings(
                    args
                ):
                    continue  # done with these settings
                row = run_row(args, variant, seed)
                atomic_write_text(path, json.dumps(row, indent=2) + "\n")
                lk = row["likelihood"]
                print(
                    f"{variant} s{seed}: FID {row['fid']['value']:.2f} "
                    f"({row['fid']['extractor']})"
                    + (
                        f", log-likelihood LOWER BOUND {lk['lower_bound']:.2f}"
                        if lk["method"] == "bound"
                        else f", AIS {lk['ais']:.2f}"
                    ),
                    flush=True,
                )
                write_report(args, load_rows(args))
    write_report(args, load_rows(args), data_floor(args))


if __name__ == "__main__":
    main()
