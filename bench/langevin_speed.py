"""Seconds per sweep of the Gibbs and Gibbs-Langevin kernels, GRBM and QGRBM, side by side.

Models from ``configs/{grbm,qgrbm}_fashion_mnist_reduced.toml`` (784 visible x ``--hidden``,
Liao et al.'s initialisation; QGRBM at Gamma = ``gamma_init`` 0.5), optionally loaded from a
run's checkpoint (``--run-dir``, for acceptance rates of a trained model). Rows: each model with
``sampler="exact"`` (block Gibbs at Gamma = 0, MH-within-Gibbs at Gamma != 0: Liao et al.'s
"Gibbs") and ``sampler="gibbs-langevin"`` (``--langevin-steps`` MALA moves of ``v`` per sweep,
:mod:`qdoem.sampling.langevin`). ``--batch`` chains from N(0, 1) noise, as the training's
negative phase; two untimed warm-up sweeps, then ``--sweeps`` timed sweeps, per repeat, the
rows interleaved in an order rotated each repeat. Reported: wall and process CPU seconds per
sweep (median over repeats [min, max]), the ratio to the same model's Gibbs row, and the MH
acceptance rate of the timed sweeps (Langevin moves for gibbs-langevin; the visible MH step of
the exact chain at Gamma != 0).

Usage::

    OMP_NUM_THREADS=1 nice python bench/langevin_speed.py --threads 1 --out results/langevin_speed
    python bench/langevin_speed.py --hidden 64 --batch 64 --sweeps 3 --repeats 1   # smoke
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import torch

CONFIGS = Path(__file__).resolve().parents[1] / "configs"
ROWS = [
    ("GRBM", "grbm", "exact"),
    ("GRBM", "grbm", "gibbs-langevin"),
    ("QGRBM", "qgrbm", "exact"),
    ("QGRBM", "qgrbm", "gibbs-langevin"),
]


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--hidden", type=int, default=1024)
    p.add_argument("--batch", type=int, default=512, help="chains (the training batch)")
    p.add_argument("--sweeps", type=int, default=10, help="timed sweeps per repeat")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--langevin-steps", type=int, default=10)
    p.add_argument("--langevin-eta", type=float, default=0.1)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--device", default="cpu")
    p.add_argument("--run-dir", type=Path, nargs=2, default=None, metavar=("GRBM", "QGRBM"),
                   help="trained runs whose checkpoints give the parameters")  # fmt: skip
    p.add_argument("--out", type=Path, default=None, help="write report.json and report.md here")
    return p.parse_args(argv)


def build(args, name: str, sampler: str):
    from qdoem.experiment import build_run_model, load_run, resolve_config

    if args.run_dir is not None:
        run = args.run_dir[0] if name == "grbm" else args.run_dir[1]
        model, _ = load_run(run, args.device)
        return _with_sampler(model, args)
    config = resolve_config(
        CONFIGS / f"{name}_fashion_mnist_reduced.toml",
        {
            "n_hidden": args.hidden,
            "sampler": sampler,
            "langevin_steps": args.langevin_steps,
            "langevin_eta": args.langevin_eta,
            "device": args.device,
            "run_dir": "/nonexistent/unused",
        },
    )
    return build_run_model(config, 784)


def _with_sampler(model, args):
    """The loaded model rebuilt with this run's Langevin settings (constructor arguments)."""
    from qdoem.models import model_from_state

    state = model.state_dict()
    state["hyperparameters"].update(
        langevin_steps=args.langevin_steps, langevin_eta=args.langevin_eta
    )
    return model_from_state(state, args.device)


def time_row(model, sampler: str, args, seed: int) -> dict:
    from qdoem.estimators import ClosedFormEstimator
    from qdoem.sampling import sweep

    gen = torch.Generator(device=args.device).manual_seed(seed)
    v = model.layers[0].noise(args.batch, gen, model.device, model.dtype)
    state = model.chain_state(v, gen)
    est = ClosedFormEstimator()
    for _ in range(2):
        sweep(model, state, sampler, est, gen)
    state.mh_accepted, state.mh_proposed = None, 0
    sync = torch.cuda.synchronize if args.device.startswith("cuda") else (lambda: None)
    sync()
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(args.sweeps):
        sweep(model, state, sampler, est, gen)
    sync()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    accepted = float(state.mh_accepted) if state.mh_proposed else None
    return {
        "wall_per_sweep": wall / args.sweeps,
        "cpu_per_sweep": cpu / args.sweeps,
        "accept_rate": None if accepted is None else accepted / state.mh_proposed,
    }


def main(argv=None) -> int:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    models = {}
    for _, name, sampler in ROWS:
        if name not in models:
            models[name] = build(args, name, sampler)
    results: dict[str, list[dict]] = {f"{label} {s}": [] for label, _, s in ROWS}
    for r in range(args.repeats):
        order = ROWS[r % len(ROWS) :] + ROWS[: r % len(ROWS)]
        for label, name, sampler in order:
            results[f"{label} {sampler}"].append(time_row(models[name], sampler, args, seed=r))
    rows = []
    for label, _, sampler in ROWS:
        runs = results[f"{label} {sampler}"]
        walls = [x["wall_per_sweep"] for x in runs]
        cpus = [x["cpu_per_sweep"] for x in runs]
        rates = [x["accept_rate"] for x in runs if x["accept_rate"] is not None]
        rows.append(
            {
                "model": label,
                "sampler": sampler,
                "wall_s": statistics.median(walls),
                "wall_min": min(walls),
                "wall_max": max(walls),
                "cpu_s": statistics.median(cpus),
                "accept_rate": statistics.mean(rates) if rates else None,
            }
        )
    for row in rows:
        base = next(x for x in rows if x["model"] == row["model"] and x["sampler"] == "exact")
        row["ratio_to_gibbs"] = row["wall_s"] / base["wall_s"]
    settings = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()}
    if args.run_dir is not None:
        settings["run_dir"] = [str(p) for p in args.run_dir]
    report = {
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "settings": settings,
        "torch": torch.__version__,
        "machine": platform.processor() or platform.machine(),
        "device": torch.cuda.get_device_name() if args.device.startswith("cuda") else "cpu",
        "rows": rows,
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }
    lines = [
        f"Seconds per sweep, {args.batch} chains, 784 x {args.hidden}, K = "
        f"{args.langevin_steps}, langevin_eta {args.langevin_eta}, {args.threads} thread(s), "
        f"{report['device']}; median of {args.repeats} repeats of {args.sweeps} sweeps; load "
        f"average at the end {report['load_average']} (wall > CPU: cores shared with other "
        f"processes; CPU seconds are then the steadier measure).",
        "",
        "| model | sampler | wall s/sweep [min, max] | CPU s/sweep | vs Gibbs | MH accept |",
        "|---|---|---|---|---|---|",
    ]
    for x in rows:
        rate = "-" if x["accept_rate"] is None else f"{x['accept_rate']:.3f}"
        lines.append(
            f"| {x['model']} | {x['sampler']} | {x['wall_s']:.4f} [{x['wall_min']:.4f}, "
            f"{x['wall_max']:.4f}] | {x['cpu_s']:.4f} | {x['ratio_to_gibbs']:.2f} | {rate} |"
        )
    lines += ["", f"Command: `{report['command']}`"]
    text = "\n".join(lines)
    print(text)
    if args.out is not None:
        from qdoem.io import atomic_write_text

        args.out.mkdir(parents=True, exist_ok=True)
        atomic_write_text(args.out / "report.json", json.dumps(report, indent=2) + "\n")
        atomic_write_text(args.out / "report.md", text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
