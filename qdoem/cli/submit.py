"""``qdoem submit``: train through an IBM backend's runtime jobs, checkpointed before each step.

Examples
--------
``qdoem submit --config run.toml --backend ibm:fake_sherbrooke --shots 1000`` (offline)
``qdoem submit --config run.toml --backend ibm:ibm_brisbane --mode batch`` (an account)
``qdoem submit --run-dir runs/qpu --resume`` (after a failure or an interrupt)
``qdoem submit --run-dir runs/qpu --e-step`` (one E-step batch, next to its closed form)

A fake device (``ibm:fake_*``) runs offline, in qiskit-ibm-runtime's local testing mode; any other
name needs an IBM Quantum account saved with ``QiskitRuntimeService.save_account`` (or the
``QISKIT_IBM_*`` environment): qdoem never reads, prints or stores the token or the instance.
The jobs run in one Batch (default) or Session opened for the command, or each on its own
(``--mode job``). Before each training step's jobs the run state is checkpointed; a job that
fails, times out or is cancelled is retried ``--retries`` times after ``--backoff`` seconds,
doubled each time, and then the command stops with the resume command to run. Every job id
goes to the run's ``backend.json``.

``--e-step`` sends one E-step batch instead: the Petz E-step (hidden ``<n>``, ``<X>`` given the
first ``batch_size`` data rows) of the run's model (its checkpoint when the run directory has
one, else the initial model of the config), written to ``e_step.json`` in the run directory with
the closed form, the z-scores ``(estimate - exact) / stderr`` and the backend's provenance.
"""

from __future__ import annotations

import argparse
import contextlib
import sys

from qdoem.cli import add_threads_option

HELP = "train through an IBM backend's runtime jobs (a fake one offline), resumable"

MODES = ("batch", "session", "job")


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "submit",
        help=HELP,
        description="Train a model with its quantum E-step statistics from runtime jobs on an "
        "IBM backend (ibm:fake_* offline), checkpointed before every step and resumable. "
        "Other settings come from the TOML config, as for qdoem train.",
    )
    p.add_argument("--config", help="TOML config file (as for qdoem train)")
    p.add_argument("--run-dir", help="run directory (default runs/<model>_<dataset>_s<seed>)")
    p.add_argument("--backend", help="ibm:<device>, e.g. ibm:fake_sherbrooke or ibm:ibm_brisbane")
    p.add_argument("--shots", type=int, default=None, help="shots per unit and basis (1000)")
    p.add_argument("--epochs", type=int, default=None, help="epochs (a larger one extends a run)")
    p.add_argument(
        "--units-per-circuit",
        type=int,
        default=None,
        help="units packed per circuit (default: the good qubit pairs of the calibration data)",
    )
    p.add_argument(
        "--mitigation",
        choices=["none", "mthree"],
        default=None,
        help="readout-error mitigation of the estimates (default none)",
    )
    p.add_argument(
        "--mode",
        choices=MODES,
        default="batch",
        help="runtime execution mode: one Batch (default) or Session for the command, or job",
    )
    p.add_argument(
        "--job-timeout",
        type=float,
        default=None,
        metavar="S",
        help="IBM Quantum: cancel a job not done after S seconds, then retry it (default: wait)",
    )
    p.add_argument(
        "--retries", type=int, default=3, help="retries of a failed job before stopping (3)"
    )
    p.add_argument(
        "--backoff", type=float, default=10.0, help="seconds before the first retry, doubled (10)"
    )
    p.add_argument("--resume", action="store_true", help="continue the run in --run-dir")
    p.add_argument(
        "--e-step",
        action="store_true",
        help="send one E-step batch (the first batch_size data rows) instead of training; "
        "writes e_step.json in the run directory",
    )
    p.add_argument(
        "--stop-after", type=int, default=None, metavar="N", help="stop after N epochs this time"
    )
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    add_threads_option(p)
    p.set_defaults(func=run)


def open_mode(device, mode: str):
    """A context manager giving the runtime ``mode=`` for ``device``: a Batch, a Session, or
    the device itself (``"job"``)."""
    if mode == "job":
        return contextlib.nullcontext(device)
    from backends.ibm import _runtime

    runtime = _runtime()
    return (runtime.Batch if mode == "batch" else runtime.Session)(backend=device)


def run(args: argparse.Namespace) -> int:
    from backends.ibm import IBMBackend, device_backend
    from qdoem.errors import BackendError, ConfigError
    from qdoem.estimators import BackendEstimator
    from qdoem.experiment import DEFAULTS, load_config_file, resolve_config, train
    from qdoem.training import RunDir

    if args.retries < 0 or args.backoff < 0:
        raise ConfigError(
            f"--retries and --backoff must be >= 0, got {args.retries}, {args.backoff}"
        )
    overrides = {"backend": args.backend, "shots": args.shots, "epochs": args.epochs}
    options = {}
    if args.units_per_circuit is not None:
        options["units_per_circuit"] = args.units_per_circuit
    if args.job_timeout is not None:
        options["job_timeout_s"] = args.job_timeout
    if args.mitigation is not None:
        options["mitigation"] = None if args.mitigation == "none" else args.mitigation
    if args.resume:
        if args.run_dir is None:
            raise ConfigError("--resume needs --run-dir")
        saved = {**DEFAULTS, **RunDir(args.run_dir).read_config()}
        given = {k: v for k, v in overrides.items() if v is not None}
        if args.config is not None:
            given = {**load_config_file(args.config), **given}
        if options:
            given["backend_options"] = {**saved["backend_options"], **options}
        settings = {**saved, **given}
        config = {**given, "run_dir": args.run_dir}
    else:
        overrides["run_dir"] = args.run_dir
        config = resolve_config(args.config, overrides)
        config["backend_options"] = {**config["backend_options"], **options}
        settings = config
    name = settings["backend"]
    if not isinstance(name, str) or not name.startswith("ibm:"):
        raise ConfigError(f"qdoem submit needs --backend ibm:<device>, got backend {name!r}")
    run_dir = settings["run_dir"] if not args.resume else args.run_dir
    device = device_backend(name.partition(":")[2])
    try:
        with open_mode(device, args.mode) as mode:
            backend = IBMBackend(
                device, mode=mode, seed=settings["seed"], **settings["backend_options"]
            )
            estimator = BackendEstimator(
                backend,
                shots=settings["shots"],
                seed=settings["seed"],
                retries=args.retries,
                backoff_s=args.backoff,
            )
            if args.e_step:
                return _e_step(settings, run_dir, estimator)
            trainer = train(
                config,
                resume=args.resume,
                progress=not args.no_progress,
                stop_after=args.stop_after,
                estimator=estimator,
                checkpoint_each_step=True,
            )
    except BackendError as err:
        from qdoem.cli import one_line

        print(
            f"qdoem submit: error: {one_line(err)}; the run is saved at the start of the failed "
            f"step: continue with: qdoem submit --run-dir {run_dir} --resume",
            file=sys.stderr,
        )
        return 2
    except KeyboardInterrupt:
        print(f"\ninterrupted; continue with: qdoem submit --run-dir {run_dir} --resume")
        return 130
    last = trainer.history[-1] if trainer.history else {}
    summary = ", ".join(f"{k}={v:.4g}" for k, v in last.items() if isinstance(v, float))
    print(
        f"run {run_dir}: epoch {trainer.epoch}/{trainer.config.epochs} on {backend.name} "
        f"({backend.kind}, {len(backend.job_ids_)} jobs) {summary}"
    )
    return 0


def _e_step(config: dict, run_dir: str, estimator) -> int:
    """One E-step batch on the backend, next to the closed form: ``e_step.json``."""
    import json
    import time

    import numpy as np
    import torch

    from backends.provenance import now, run_record
    from qdoem.experiment import build_run_model, load_run, load_run_dataset
    from qdoem.io import atomic_write_text
    from qdoem.training import RunDir

    run = RunDir(run_dir)
    dataset = load_run_dataset(config)
    if run.has_checkpoint():
        model, _ = load_run(run_dir)
        source = "checkpoint"
    else:
        model = build_run_model(config, dataset.data.shape[1])
        model.init_from_data(dataset.data)
        source = "initial model"
    v = dataset.data[: config["batch_size"]].to(model.device, model.dtype)
    start = time.perf_counter()
    shots = model.e_step(v, estimator)
    wall = time.perf_counter() - start
    exact = model.e_step(v)
    layers = []
    for k, (est, ref) in enumerate(zip(shots, exact, strict=True), start=1):
        entry = {"layer": k}
        for key, err in (("mean", "mean_stderr"), ("x", "x_stderr")):
            if key not in est or err not in est:
                continue
            a, b, e = (
                torch.as_tensor(t).double().cpu().numpy() for t in (est[key], ref[key], est[err])
            )
            z = (a - b) / np.maximum(e, 1e-12)
            entry[key] = {
                "estimate": a.round(6).tolist(),
                "stderr": e.round(6).tolist(),
                "exact": b.round(6).tolist(),
                "z_mean": round(float(z.mean()), 3),
                "z_rms": round(float(np.sqrt((z**2).mean())), 3),
                "z_max_abs": round(float(np.abs(z).max()), 3),
            }
        layers.append(entry)
    record = {
        "what": f"one E-step batch: the first {v.shape[0]} data rows, {source}",
        "layers": layers,
        "backend": run_record(estimator, started=now(), wall_time_s=round(wall, 3)),
    }
    run.create()
    atomic_write_text(run.path / "e_step.json", json.dumps(record, indent=2) + "\n")
    summary = "; ".join(
        f"layer {e['layer']} {key}: z mean {e[key]['z_mean']:+.2f}, RMS {e[key]['z_rms']:.2f}"
        for e in layers
        for key in ("mean", "x")
        if key in e
    )
    print(f"{run.path / 'e_step.json'}: {estimator.calls_} backend call(s); {summary}")
    return 0
