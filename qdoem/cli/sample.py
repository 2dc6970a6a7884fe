"""``qdoem sample``: draw samples from a trained run with a kernel of :mod:`qdoem.sampling`."""

from __future__ import annotations

import argparse

from qdoem.cli import add_threads_option

HELP = "sample from a trained run"


def register(subparsers: argparse._SubParsersAction) -> None:
    from qdoem.sampling import SAMPLERS

    p = subparsers.add_parser(
        "sample",
        help=HELP,
        description="Draw samples from the model in a run directory by Markov chains.",
    )
    p.add_argument("run_dir", help="run directory written by qdoem train")
    p.add_argument("-n", "--n-samples", type=int, default=64)
    p.add_argument(
        "--steps", type=int, default=None, help="sweeps per chain (1000; 1 with --local-mode)"
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--sampler",
        choices=sorted(SAMPLERS),
        default="exact",
        help="exact (default) leaves p(v) invariant for every Gamma; plain is the uncorrected "
        "chain (biased at Gamma != 0); twin-mh, heat-bath and path-gibbs are exact too",
    )
    p.add_argument(
        "--local-mode",
        action="store_true",
        help="the DBM baseline's FID sampler: chains from noise to a local mode, then --steps "
        "sweeps (default 1 with this flag); favours the modes, not a sample of p(v)",
    )
    p.add_argument(
        "--conditional-mean",
        action="store_true",
        help="return the visible conditional mean given a last hidden draw (Liao et al.'s final "
        "GRBM image: mu + W h), not the chains' last visible values",
    )
    p.add_argument("--device", default=None)
    p.add_argument(
        "-o",
        "--out",
        default=None,
        help="output .png (grid) or .pt (tensor); default RUN_DIR/samples_cli.png",
    )
    add_threads_option(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from qdoem.experiment import load_run, load_run_dataset
    from qdoem.io import atomic_torch_save
    from qdoem.training.rundir import save_sample_grid

    if args.n_samples < 1 or (args.steps is not None and args.steps < 0):
        raise ValueError("--n-samples must be >= 1 and --steps >= 0")
    out = Path(args.out) if args.out else Path(args.run_dir) / "samples_cli.png"
    if out.suffix not in (".png", ".pt"):
        raise ValueError(f"--out must end in .png or .pt, got {out}")
    model, config = load_run(args.run_dir, args.device)
    samples = draw_samples(
        model,
        args.n_samples,
        steps=args.steps,
        seed=args.seed,
        sampler=args.sampler,
        local_mode=args.local_mode,
        conditional_mean=args.conditional_mean,
    )
    if out.suffix == ".pt":
        atomic_torch_save(samples.cpu(), out)
    else:
        try:  # the dataset only tells us how to draw one row
            dataset = load_run_dataset(config)
            samples, shape = dataset.to_images(samples), dataset.image_shape
        except (FileNotFoundError, ValueError):
            shape = None
        save_sample_grid(samples, out, shape)
    print(f"wrote {args.n_samples} samples to {out} (mean activation {float(samples.mean()):.4f})")
    return 0


def draw_samples(
    model,
    n: int,
    *,
    steps: int | None = None,
    seed: int = 0,
    sampler: str = "exact",
    local_mode: bool = False,
    conditional_mean: bool = False,
):
    """``n`` samples of ``model`` as ``qdoem sample`` draws them: ``steps`` sweeps (default
    1000) of the ``sampler`` chain from noise, or with ``local_mode`` chains run to a local
    mode first, then ``steps`` sweeps (default 1). ``conditional_mean``: the visible
    conditional mean at the end (:meth:`~qdoem.models.LayeredModel.sample`)."""
    options = {"seed": seed, "sampler": sampler}
    if local_mode:
        if conditional_mean:
            raise ValueError("--conditional-mean applies to chains from noise, not --local-mode")
        _, samples = model.sample_local_modes(n, steps=1 if steps is None else steps, **options)
        return samples
    steps = 1000 if steps is None else steps
    return model.sample(n, steps=steps, conditional_mean=conditional_mean, **options)
