"""``qdoem evaluate``: mean log-likelihood of a trained run (exact, an AIS/RAISE bracket, or
for deep models its variational lower bound), and its FID (``--fid``; per snapshot with
``--fid-curve``)."""

from __future__ import annotations

import argparse

from qdoem.cli import add_threads_option

HELP = (
    "log-likelihood (exact, AIS/RAISE, or the DBM lower bound), QELBO from shots and FID of a "
    "trained run"
)


def register(subparsers: argparse._SubParsersAction) -> None:
    from qdoem.metrics.dbm_likelihood import BASES, DEFAULT_BASE
    from qdoem.metrics.likelihood import METHODS
    from qdoem.sampling.ais import DEFAULT_N_BETAS, DEFAULT_N_CHAINS

    p = subparsers.add_parser(
        "evaluate",
        help=HELP,
        description="Mean log p(v) over a data split: exact enumeration when n_visible <= 24, "
        "else a bracket of AIS (optimistic, Salakhutdinov & Murray 2008) and RAISE (reverse "
        "annealing from the data, Burda et al. 2015) with diagnostics (spread of independent "
        "AIS runs, effective sample size). The result is flagged NOT TRUSTWORTHY when they "
        "disagree by more than --tolerance nats. DBM and QiDBM (several hidden layers): the "
        "variational LOWER BOUND of Salakhutdinov & Hinton 2009 (mean field, quantum layers "
        "traced out in closed form) with log Z by AIS over the deep model (--method bound, the "
        "default for them where exact enumeration does not fit).",
    )
    p.add_argument("run_dir", help="run directory written by qdoem train")
    p.add_argument("--split", default="test", help="data split (default test)")
    p.add_argument("--method", choices=list(METHODS), default="auto")
    p.add_argument("--n-chains", type=int, default=DEFAULT_N_CHAINS, help="AIS chains per run")
    p.add_argument(
        "--n-betas", type=int, default=DEFAULT_N_BETAS, help="AIS and RAISE temperatures"
    )
    p.add_argument("--n-runs", type=int, default=2, help="independent AIS runs (seeds)")
    p.add_argument(
        "--raise-points",
        type=int,
        default=100,
        help="samples given a RAISE chain (0: none); --method bound: reverse AIS chains "
        "started at samples, checking log Z",
    )
    p.add_argument(
        "--base",
        choices=list(BASES),
        default=None,
        help=f"--method bound: AIS base of log Z, the training log-odds, uniform, or both "
        f"keeping the larger (default {DEFAULT_BASE})",
    )
    p.add_argument("--tolerance", type=float, default=1.0, help="nats of allowed disagreement")
    p.add_argument("--limit", type=int, default=None, help="evaluate the first N samples only")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--sampler",
        default="exact",
        help="AIS transition kernel: exact (default), twin-mh, path-gibbs, heat-bath (no "
        "RAISE); plain only "
        "for classical models",
    )
    add_qelbo_options(p)
    add_fid_options(p)
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

    from qdoem.experiment import load_run, load_run_dataset
    from qdoem.io import atomic_write_text
    from qdoem.layers import data_log_odds
    from qdoem.metrics import likelihood_report

    model, config = load_run(args.run_dir)
    if args.fid is not None or args.fid_only or args.fid_curve:
        run_fid(args, model, config)
        if args.fid_only:
            return 0
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
        base_bias = data_log_odds(train)
    report = likelihood_report(
        model,
        data,
        method=args.method,
        n_chains=args.n_chains,
        n_betas=args.n_betas,
        n_runs=args.n_runs,
        raise_points=args.raise_points,
        base_bias=base_bias,
        base=args.base,
        reverse_chains=args.raise_points,
        sampler=args.sampler,
        seed=args.seed,
        tolerance=args.tolerance,
    )
    if report.method == "bound":  # a lower bound, never written as the log-likelihood
        keys = ("n_chains", "n_betas", "n_runs", "sampler", "seed", "tolerance", "base")
        keys += ("reverse_chains", "burn_in")
        result = {
            "split": args.split,
            "mean_log_likelihood_lower_bound": report.bound,
            "ais_settings": {k: report.settings[k] for k in keys if k in report.settings},
            **report.to_dict(),
        }
    else:
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


# --------------------------------------------------------------------------- FID


def add_fid_options(p: argparse.ArgumentParser) -> None:
    from qdoem.sampling import SAMPLERS

    g = p.add_argument_group(
        "FID",
        "Frechet distance of model samples to the split's images. inception: the paper's "
        "protocol (pytorch-fid, InceptionV3 pool3; weights from the torch hub cache, an error "
        "naming the file when they are absent and cannot be downloaded); domain: the "
        "features of a small CNN qdoem trains on the training split (offline, cached with a "
        "checksum, MNIST/Fashion-MNIST family; NOT comparable with Inception FIDs); auto: "
        "inception when its weights can be had, else domain, and the report says so",
    )
    g.add_argument("--fid", choices=["auto", "inception", "domain"], default=None)
    g.add_argument(
        "--fid-samples", type=int, default=10000, help="samples drawn (10000 as the paper)"
    )
    g.add_argument("--fid-steps", type=int, default=None, help="chain sweeps (1000)")
    g.add_argument("--fid-sampler", choices=sorted(SAMPLERS), default="exact")
    g.add_argument(
        "--fid-local-mode", action="store_true", help="sample as qdoem sample --local-mode"
    )
    g.add_argument(
        "--fid-conditional-mean",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="final image = visible conditional mean (qdoem sample --conditional-mean); "
        "default: the run's grid_conditional_mean",
    )
    g.add_argument(
        "--fid-curve",
        action="store_true",
        help="FID of every snapshot in RUN_DIR/snapshots (qdoem train --snapshot-every N): "
        "fid_curve_SPLIT.json and .png",
    )
    g.add_argument("--fid-only", action="store_true", help="skip the log-likelihood")
    g.add_argument(
        "--fid-classifier-limit",
        type=int,
        default=None,
        metavar="N",
        help="train the domain classifier on the first N training images only (quicker, "
        "less accurate; its test accuracy is reported)",
    )
    g.add_argument("--fid-cache", default=None, help="domain classifier cache ($QDOEM_FID_CACHE)")


def fid_setup(
    config: dict,
    kind: str,
    *,
    split: str = "test",
    limit: int | None = None,
    cache_dir=None,
    classifier: dict | None = None,
):
    """``(extractor, fallback, dataset, reference)`` for the FID of a run: the feature map
    (:func:`qdoem.metrics.get_extractor`), the split's dataset (all of it, whatever the
    run's ``limit``; the first ``limit`` images if given) and the features of its images.
    ``classifier``: options of :class:`qdoem.metrics.DomainClassifier`."""
    from qdoem.experiment import load_run_dataset
    from qdoem.metrics import get_extractor

    dataset = load_run_dataset(config, split=split, limit=limit)
    if dataset.image_shape is None:
        raise ValueError(f"FID needs images; dataset {config['dataset']!r} has none")
    extractor, fallback = get_extractor(
        kind,
        config["dataset"],
        dataset.image_shape,
        dataset_options=config["dataset_options"],
        root=config["data_root"],
        cache_dir=cache_dir,
        device=config.get("device") or "cpu",
        **(classifier or {}),
    )
    return extractor, fallback, dataset, extractor.features(dataset.to_images(dataset.data))


def model_fid(
    model,
    setup,
    *,
    n_samples: int,
    steps=None,
    seed=0,
    sampler="exact",
    local=False,
    conditional_mean=False,
):
    """``(FIDResult, samples as images)``: ``n_samples`` samples drawn as ``qdoem sample``
    draws them (:func:`qdoem.cli.sample.draw_samples`) against the reference of ``setup``
    (:func:`fid_setup`)."""
    from qdoem.cli.sample import draw_samples
    from qdoem.metrics import fid_score

    extractor, fallback, dataset, reference = setup
    if n_samples < 2:
        raise ValueError(f"--fid-samples must be >= 2, got {n_samples}")
    samples = draw_samples(
        model,
        n_samples,
        steps=steps,
        seed=seed,
        sampler=sampler,
        local_mode=local,
        conditional_mean=conditional_mean,
    )
    images = dataset.to_images(samples.cpu())
    return fid_score(images, reference, extractor, fallback), images


def data_floor(config: dict, setup, n_samples: int):
    """:class:`~qdoem.metrics.FIDResult` of the first ``n_samples`` training images (as the run's
    model sees them, mapped back to pixels) against the reference of ``setup``
    (:func:`fid_setup`): what a perfect model scores at this sample size and feature map (the
    Frechet distance of finite samples is biased upwards, the more so the fewer)."""
    from qdoem.experiment import load_run_dataset
    from qdoem.metrics import fid_score

    extractor, fallback, _, reference = setup
    train = load_run_dataset({**config, "limit": n_samples})
    return fid_score(train.to_images(train.data), reference, extractor, fallback)


def run_fid(args: argparse.Namespace, model, config: dict) -> None:
    """``--fid``: writes ``fid_SPLIT.json`` (with the :func:`data_floor` at the same sample size)
    and ``fid_samples_SPLIT.png`` (the first 64 samples); ``--fid-curve``:
    ``fid_curve_SPLIT.json`` and ``.png`` over the snapshots."""
    import json
    from pathlib import Path

    from qdoem.experiment import load_snapshot
    from qdoem.io import atomic_write_text
    from qdoem.metrics import save_fid_curve
    from qdoem.training import RunDir, save_sample_grid

    if args.fid is None:
        raise ValueError("--fid-only and --fid-curve need --fid auto, inception or domain")
    run = RunDir(args.run_dir)
    setup = fid_setup(
        config,
        args.fid,
        split=args.split,
        limit=args.limit,
        cache_dir=args.fid_cache,
        classifier={"limit": args.fid_classifier_limit},
    )
    options = {
        "n_samples": args.fid_samples,
        "steps": args.fid_steps,
        "seed": args.seed,
        "sampler": args.fid_sampler,
        "local": args.fid_local_mode,
        "conditional_mean": bool(
            config.get("grid_conditional_mean", False)
            if args.fid_conditional_mean is None
            else args.fid_conditional_mean
        ),
    }
    settings = {"split": args.split, **options}
    result, images = model_fid(model, setup, **options)
    floor = data_floor(config, setup, args.fid_samples).value
    save_sample_grid(images[:64], run.path / f"fid_samples_{args.split}.png", setup[2].image_shape)
    out = Path(run.path) / f"fid_{args.split}.json"
    payload = {**settings, **result.to_dict(), "data_floor": floor}
    atomic_write_text(out, json.dumps(payload, indent=2) + "\n")
    print(f"{args.split}: {result.summary()}")
    print(f"data floor: FID {floor:.3f} of {args.fid_samples} training images, same reference")
    if not args.fid_curve:
        return
    snapshots = run.snapshot_files()
    if not snapshots:
        raise FileNotFoundError(
            f"--fid-curve: no snapshots in {run.snapshots} (train with --snapshot-every N)"
        )
    points = []
    for epoch, path in snapshots:
        snap, _ = load_snapshot(path, config.get("device"))
        value = model_fid(snap, setup, **options)[0]
        points.append({"epoch": epoch, "fid": value.value, "snapshot": str(path)})
        print(f"epoch {epoch}: FID {value.value:.3f}", flush=True)
    curve = {**settings, "extractor": result.extractor, "fallback": result.fallback}
    curve["extractor_info"], curve["points"] = result.extractor_info, points
    base = run.path / f"fid_curve_{args.split}"
    atomic_write_text(base.with_suffix(".json"), json.dumps(curve, indent=2) + "\n")
    title = f"{config['model']} on {config['dataset']}: FID ({result.extractor})"
    save_fid_curve(points, base.with_suffix(".png"), title=title)
    print(f"wrote {base}.json and .png ({len(points)} snapshots)")
