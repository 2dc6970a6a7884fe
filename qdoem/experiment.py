"""Experiments: a resolved config -> dataset, model, trainer, run directory; and back again.

The CLI (``qdoem train/sample/evaluate``) is a thin layer over these functions, so runs can be
scripted from Python the same way. A config is one flat dict: run settings (dataset, run
directory, ...), the model's constructor arguments (read from the model class, see
:data:`qdoem.models.MODELS`) and the :class:`~qdoem.training.TrainConfig` fields.
"""

from __future__ import annotations

import difflib
import math
import os
import tomllib
from pathlib import Path
from typing import Any

import torch

from qdoem.data import Dataset, load_dataset
from qdoem.errors import BackendError, CheckpointError, ConfigError
from qdoem.models import MODELS, LayeredModel, build_model, model_from_state
from qdoem.training import (
    RunDir,
    TrainConfig,
    Trainer,
    recipe,
    save_learning_curves,
    save_sample_grid,
    stop_on_signals,
)

__all__ = [
    "DEFAULTS",
    "build_run_model",
    "check_config",
    "load_config_file",
    "load_run",
    "load_run_dataset",
    "load_snapshot",
    "resolve_config",
    "train",
]

DEFAULTS: dict[str, Any] = {
    "model": "qrbm",
    "n_hidden": 16,
    # Deep models (qidbm, dbm): hidden widths bottom first, and which hidden layers are quantum.
    "hidden_sizes": [16, 16],
    "quantum_layers": [1],
    "dataset": "bars_and_stripes",
    "dataset_options": {},
    "data_root": None,
    "download": False,
    "limit": None,
    "gamma_init": 0.5,
    "learn_gamma": True,
    # Gaussian visible units (grbm, qgrbm): the "gibbs-langevin" sampler's MALA moves per sweep
    # and largest step size (units of the mean visible variance).
    "langevin_steps": 10,
    "langevin_eta": 0.1,
    "weight_scale": 0.01,
    "weight_init": "normal",
    "device": "cpu",
    "dtype": "float32",
    "matmul_dtype": None,
    # "sparse": gather-sums instead of matmuls for products with {0,1} visible vectors.
    "visible_matmul": "dense",
    "run_dir": None,
    # A named recipe (qdoem.training.RECIPES) under the TOML file's and the flags' own keys.
    "recipe": None,
    "grid_samples": 64,
    "grid_steps": 1000,
    # The grid's (and FID's) final image: the visible conditional mean given a last hidden draw
    # (Liao et al.'s GRBM images) instead of the chains' last values.
    "grid_conditional_mean": False,
    # sampler, backend (None: closed form), shots, ...: the training settings.
    **TrainConfig().to_dict(),
    # Constructor options of the backend (units_per_circuit, mitigation, layout, ...).
    "backend_options": {},
}


#: Keys whose value may be None (not set), beside those whose default is None.
_NULLABLE = {key for key, value in DEFAULTS.items() if value is None} | {"shots"}
#: The type of each key whose default is None.
_TYPES: dict[str, type] = {
    "data_root": str,
    "limit": int,
    "matmul_dtype": str,
    "run_dir": str,
    "recipe": str,
    "backend": str,
    "initial_momentum": float,
    "clip_norm": float,
    "neg_average_from": int,
    "pretrain_learning_rate": float,
}
#: Flag names users write as keys, for the "did you mean" of an unknown key.
_ALIASES = {"lr": "learning_rate", "n_epochs": "epochs", "pcd": "persistent"}


def load_config_file(path: str | os.PathLike, *, quick: bool = False) -> dict[str, Any]:
    """The settings of a TOML config file (its ``[quick]`` table applied when ``quick``).

    Raises
    ------
    ConfigError
        Invalid TOML, unknown keys (naming the closest known one), values of the wrong type,
        or ``quick`` without a ``[quick]`` table.
    FileNotFoundError
        The file does not exist.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"config file {path} not found")
    try:
        loaded = tomllib.loads(path.read_text())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise ConfigError(f"config file {path} is not valid TOML: {err}") from err
    quick_table = loaded.pop("quick", None)
    if quick_table is not None and not isinstance(quick_table, dict):
        raise ConfigError(f"quick in {path} must be a table ([quick]), got {quick_table!r}")
    _check_keys(loaded, f" in {path}")
    _check_keys(quick_table or {}, f" in {path}", prefix="quick.")
    if quick:
        if quick_table is None:
            raise ConfigError(f"--quick: {path} has no [quick] table")
        loaded.update(quick_table)
    return _checked_types(loaded, f" in {path}")


def resolve_config(
    path: str | os.PathLike | None = None,
    overrides: dict[str, Any] | None = None,
    *,
    quick: bool = False,
) -> dict[str, Any]:
    """Defaults, then the named recipe (``recipe`` in the file or the overrides), then the TOML
    file (if any), then its ``[quick]`` table when ``quick``, then non-None ``overrides``;
    validated by :func:`check_config`.

    A paper setting's TOML file holds the full-scale run at top level and, in a ``[quick]``
    table, the keys that shrink it to minutes on two CPU cores (``qdoem train --quick``).

    Raises
    ------
    ConfigError
        Unknown keys, unknown model, values of the wrong type or out of range, or ``quick``
        without a ``[quick]`` table.
    FileNotFoundError
        The TOML file does not exist.
    """
    config = dict(DEFAULTS)
    if path is not None:
        loaded = load_config_file(path, quick=quick)
    elif quick:
        raise ConfigError("--quick needs a config file with a [quick] table (see configs/)")
    else:
        loaded = {}
    overrides = {k: v for k, v in (overrides or {}).items() if v is not None}
    _check_keys(overrides, "")
    name = overrides.get("recipe", loaded.get("recipe"))
    if name is not None:
        try:
            config.update(recipe(name))
        except ValueError as err:
            raise ConfigError(str(err)) from err
    config.update(loaded)
    config.update(overrides)
    if config["run_dir"] is None:
        config["run_dir"] = f"runs/{config['model']}_{config['dataset']}_s{config['seed']}"
    return check_config(config)


def check_config(config: dict[str, Any]) -> dict[str, Any]:
    """``config`` with its types and values checked (ints given for floats become floats).

    Checks every key's type (a string is never taken for a boolean), sizes, the model name,
    the device, the training settings (:class:`~qdoem.training.TrainConfig`), the backend name
    and that the run directory is not a file. Nothing is built or loaded.

    Raises
    ------
    ConfigError
        Naming the key and the value.
    """
    _check_keys(config, "")
    config = _checked_types(config, "")
    if config["model"] not in MODELS:
        raise ConfigError(f"model must be one of {sorted(MODELS)}, got {config['model']!r}")
    for key in ("n_hidden", "limit", "grid_samples"):
        if config[key] is not None and config[key] < 1:
            raise ConfigError(f"{key} must be >= 1, got {config[key]!r}")
    if config["grid_steps"] < 0:
        raise ConfigError(f"grid_steps must be >= 0, got {config['grid_steps']!r}")
    for key in ("hidden_sizes", "quantum_layers"):
        if not config[key] or min(config[key]) < 1:
            raise ConfigError(f"{key} must be a non-empty list of ints >= 1, got {config[key]!r}")
    try:
        MODELS[config["model"]].check_settings(config)  # e.g. neighbouring quantum layers
    except ValueError as err:
        raise ConfigError(str(err)) from err
    if config["pretrain_epochs"] and not hasattr(MODELS[config["model"]], "pretraining_stages"):
        raise ConfigError(
            f"pretrain_epochs applies to deep models (qidbm, dbm), got model "
            f"{config['model']!r} with pretrain_epochs {config['pretrain_epochs']!r}"
        )
    if config["weight_scale"] < 0:
        raise ConfigError(f"weight_scale must be >= 0, got {config['weight_scale']!r}")
    _check_device(config["device"])
    TrainConfig.from_dict(config)  # validates the optimisation settings
    if config["backend"] is not None:
        if not MODELS[config["model"]].quantum:
            raise ConfigError(
                f"backend applies to quantum models; the {config['model'].upper()} has no "
                f"circuit E-step (got backend {config['backend']!r})"
            )
        from backends import check_backend_options, get_backend

        try:
            # fail now, with the install hint, not mid-run; the options' keys first (the same
            # check for the TOML's [backend_options] and qdoem train --backend-option)
            if config["backend_options"]:
                check_backend_options(config["backend"], config["backend_options"])
            get_backend(config["backend"], **config["backend_options"])
        except (ImportError, BackendError):  # BackendError: no account; its message says so
            raise
        except Exception as err:  # a bad name, or an account or service that does not answer
            raise ConfigError(
                f"backend {config['backend']!r}: {type(err).__name__}: {err}"
                if not isinstance(err, ValueError)
                else f"backend {config['backend']!r}: {err}"
            ) from err
    elif config["backend_options"]:
        raise ConfigError(
            f"backend_options {config['backend_options']!r} need a backend (backend = ...)"
        )
    run_dir = Path(config["run_dir"] or ".")
    existing = next(p for p in (run_dir, *run_dir.parents) if p.exists())  # "." exists
    if not existing.is_dir():
        raise ConfigError(f"run_dir {str(run_dir)!r}: {existing} is a file, not a directory")
    return config


def _check_keys(values: dict[str, Any], where: str, prefix: str = "") -> None:
    unknown = sorted(set(values) - set(DEFAULTS))
    if not unknown:
        return
    hints = []
    for key in unknown:
        close = _ALIASES.get(key) or next(iter(difflib.get_close_matches(key, DEFAULTS, 1)), None)
        hints.append(f"'{prefix}{key}'" + (f" (did you mean '{prefix}{close}'?)" if close else ""))
    raise ConfigError(f"unknown key{'s' * (len(unknown) > 1)}{where}: {', '.join(hints)}")


def _checked_types(values: dict[str, Any], where: str) -> dict[str, Any]:
    """``values`` with each one's type checked against its key's (ints taken as floats)."""
    out = dict(values)
    for key, value in values.items():
        kind = _TYPES.get(key, type(DEFAULTS[key]))
        if value is None and key in _NULLABLE:
            continue
        if kind is str and isinstance(value, os.PathLike) and key in ("run_dir", "data_root"):
            out[key] = os.fspath(value)
            continue
        if kind is list:
            ok = isinstance(value, list | tuple) and all(_is_int(v) for v in value)
            expected = "a list of integers"
            if ok:
                out[key] = [int(v) for v in value]
        elif kind is float:
            ok = _is_number(value) and math.isfinite(value)
            expected = "a finite number"
            if ok:
                out[key] = float(value)
        elif kind is int:
            ok, expected = _is_int(value), "an integer"
        elif kind is bool:
            ok, expected = isinstance(value, bool), "true or false"
        else:
            ok, expected = isinstance(value, kind), f"a {kind.__name__}"
        if not ok:
            raise ConfigError(
                f"{key}{where} must be {expected}, got {value!r} ({type(value).__name__})"
            )
    return out


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _check_device(device: str) -> None:
    try:
        parsed = torch.device(device)
    except (RuntimeError, TypeError) as err:
        raise ConfigError(
            f"device must be a torch device such as 'cpu', 'cuda' or 'cuda:0', got {device!r}"
        ) from err
    if parsed.type == "cuda":
        if not torch.cuda.is_available():
            raise ConfigError(f"device {device!r} requested but CUDA is not available")
        if parsed.index is not None and parsed.index >= torch.cuda.device_count():
            raise ConfigError(
                f"device {device!r}: only {torch.cuda.device_count()} CUDA device(s) visible"
            )
    elif parsed.type == "mps" and not torch.backends.mps.is_available():
        raise ConfigError(f"device {device!r} requested but MPS is not available")
    elif parsed.type not in ("cpu", "cuda", "mps"):
        raise ConfigError(f"device must be cpu, cuda[:N] or mps, got {device!r}")


_RUN_LIMIT = object()


def load_run_dataset(
    config: dict[str, Any], split: str = "train", *, limit: Any = _RUN_LIMIT
) -> Dataset:
    """The dataset a run was trained on (its first ``limit`` rows), or another split in full
    (the run's ``limit`` chose its training rows); ``limit`` given here (an int or None)
    overrides both."""
    if limit is _RUN_LIMIT:
        limit = config["limit"] if split == "train" else None
    return load_dataset(
        config["dataset"],
        root=config["data_root"],
        split=split,
        download=config["download"],
        limit=limit,
        seed=config["seed"],
        **config["dataset_options"],
    )


def build_run_model(config: dict[str, Any], n_visible: int) -> LayeredModel:
    """The model a config describes: every constructor argument of the model class that the
    config names (``n_epochs`` is the config's ``epochs``)."""
    cls = MODELS[config["model"]]
    options = {k: config[k] for k in cls.param_names() if k in config and k != "n_visible"}
    options["n_epochs"] = config["epochs"]
    # Run configs written before this key existed trained dense.
    options.setdefault("visible_matmul", "dense")
    return build_model(config["model"], n_visible, **options)


#: Settings that say where things are, not what the run computes: a resume may change them.
_LOCATION_KEYS = ("run_dir", "data_root", "download")


def train(
    config: dict[str, Any],
    *,
    resume: bool = False,
    allow_changes: bool = False,
    progress: bool = True,
    stop_after: int | None = None,
    estimator=None,
    checkpoint_each_step: bool = False,
    snapshot_every: int | None = None,
) -> Trainer:
    """Train (or resume) the run described by ``config``; writes everything to its run dir.

    On resume the saved ``config.json`` rules: ``config`` holds ``run_dir`` and the settings
    the user gave. ``epochs``, when larger, extends the run, and ``data_root`` and
    ``download`` may change; any other setting that differs from the saved one is refused with
    a :class:`~qdoem.errors.ConfigError` listing the changes, unless ``allow_changes``, when
    the run goes on with them and they are appended to the run's ``changes.jsonl`` (with the
    epoch and step they start at). The newest usable checkpoint is loaded (``checkpoint.prev.pt``
    when ``checkpoint.pt`` is unreadable, with a warning).

    The first Ctrl-C or SIGTERM stops training at the next step boundary after writing a
    checkpoint of it (:func:`~qdoem.training.trainer.stop_on_signals`), then raises
    :class:`~qdoem.errors.TrainingInterrupted`.

    ``estimator`` injects the quantum statistics' estimator (``qdoem submit`` passes one on a
    device opened in a Batch or Session); by default it is built from ``backend``,
    ``backend_options`` and ``shots``. With ``checkpoint_each_step`` (a circuit backend only) a
    checkpoint is written before every step's jobs, so a job that keeps failing leaves a run that
    resumes at its step. ``backend.json`` records the provenance of the statistics
    (:func:`backends.provenance.run_record`), rewritten after every epoch and when the call ends,
    however it ends.

    ``snapshot_every`` (N): after every N-th epoch and the last, the model is also saved to
    ``snapshots/epoch_XXXX.pt`` (:meth:`~qdoem.training.RunDir.write_snapshot`), for FID
    curves (``qdoem evaluate --fid-curve``).
    """
    if snapshot_every is not None and snapshot_every < 1:
        raise ConfigError(f"snapshot_every must be >= 1, got {snapshot_every!r}")
    run = RunDir(config["run_dir"])
    if resume:
        if not run.has_checkpoint():
            raise FileNotFoundError(f"cannot resume: no checkpoint.pt in {run.path}")
        saved = {**DEFAULTS, **_legacy(run.read_config())}
        given = {k: v for k, v in config.items() if v is not None and k != "epochs"}
        changes = {k: [saved.get(k), v] for k, v in given.items() if v != saved.get(k)}
        changed = {k: c for k, c in changes.items() if k not in _LOCATION_KEYS}
        if changed and not allow_changes:
            listed = ", ".join(f"{k} {old!r} -> {new!r}" for k, (old, new) in changed.items())
            raise ConfigError(
                f"--resume: settings differ from {run.config}: {listed}; drop them, or pass "
                f"--allow-changes to go on with them (recorded in changes.jsonl)"
            )
        epochs = max(saved["epochs"], config.get("epochs") or 0)
        config = check_config({**saved, **given, "epochs": epochs})
    elif run.has_checkpoint():
        raise ConfigError(
            f"run directory {run.path} already has a checkpoint; use --resume or another --run-dir"
        )
    dataset = load_run_dataset(config)
    model = build_run_model(config, dataset.data.shape[1])
    if model.layers[0].binary and not dataset.binary:
        raise ValueError(
            f"dataset {config['dataset']!r} is not binary; use a binarized variant "
            f"(model {config['model']!r} has {{0,1}} visible units)"
        )
    if estimator is None and config["backend"] is not None:
        from backends import get_backend
        from qdoem.estimators import make_estimator

        backend = get_backend(config["backend"], seed=config["seed"], **config["backend_options"])
        estimator = make_estimator(backend, config["shots"], config["seed"])
    trainer = Trainer(model, TrainConfig.from_dict(config), run_dir=run.path, estimator=estimator)
    if checkpoint_each_step:
        if not hasattr(trainer.estimator, "add_step_hook"):
            raise ConfigError("checkpoint_each_step needs a circuit backend (backend = ...)")
        trainer.estimator.add_step_hook(trainer.save_checkpoint)
    run.create()
    if resume:
        run.remove_temporaries()
        state, path = run.read_checkpoint()
        _check_checkpoint_model(state, config, path)
        trainer.load_checkpoint(state, path)
        if path != run.checkpoint and run.checkpoint.exists():
            # Keep the unusable newest one for inspection; the next save starts afresh.
            os.replace(run.checkpoint, run.path / "checkpoint.unusable.pt")
        if changed:
            run.append_change({"epoch": trainer.epoch, "step": trainer.step, "changed": changed})
    run.write_config(config)
    if not resume:
        # An epoch-0 checkpoint: a run interrupted during its first epoch can still resume.
        trainer.save_checkpoint()
    record_backend = _provenance_writer(run, trainer, resume, config["backend_options"])
    record_backend("running")

    def on_epoch(trainer: Trainer, record: dict[str, Any]) -> None:
        record_backend("running")
        if snapshot_every is not None and (
            trainer.epoch % snapshot_every == 0 or trainer.epoch == trainer.config.epochs
        ):
            run.write_snapshot(trainer.epoch, trainer.step, trainer.model.state_dict())

    outcome = "stopped"
    try:
        with stop_on_signals(trainer):
            trainer.fit(dataset.data, progress=progress, stop_after=stop_after, on_epoch=on_epoch)
        outcome = "finished" if trainer.epoch >= trainer.config.epochs else "stopped"
    except KeyboardInterrupt:  # TrainingInterrupted included: a checkpoint was written
        outcome = "interrupted"
        raise
    except BaseException as err:
        outcome = f"failed: {type(err).__name__}"
        raise
    finally:
        record_backend(outcome)
    if trainer.history:
        save_learning_curves(trainer.history, run.curves_png)
    samples = model.sample(
        config["grid_samples"],
        steps=config["grid_steps"],
        seed=config["seed"],
        conditional_mean=config["grid_conditional_mean"],
    )
    save_sample_grid(dataset.to_images(samples), run.samples_png, dataset.image_shape)
    return trainer


def _provenance_writer(run: RunDir, trainer: Trainer, resume: bool, backend_options: dict):
    """A function ``write(outcome)`` that (re)writes the run's ``backend.json`` for this call
    (its invocation records the ``backend_options`` it ran with)."""
    import time

    from backends.provenance import now, run_record

    previous = run.read_backend() if resume else None
    started, start = now(), time.perf_counter()
    resumed_from = {"epoch": trainer.epoch, "step": trainer.step} if resume else None

    def write(outcome: str) -> None:
        run.write_backend(
            run_record(
                trainer.estimator,
                previous,
                started=started,
                resumed_from=resumed_from,
                backend_options=dict(backend_options),
                wall_time_s=round(time.perf_counter() - start, 3),
                outcome=outcome,
                epoch=trainer.epoch,
                step=trainer.step,
                torch_threads=torch.get_num_threads(),
                load_average=[round(x, 2) for x in os.getloadavg()]
                if hasattr(os, "getloadavg")
                else None,
            )
        )

    return write


def load_run(run_dir: str | os.PathLike, device: str | None = None):
    """``(model, config)`` from a run directory's checkpoint and config."""
    run = RunDir(run_dir)
    config = {**DEFAULTS, **_legacy(run.read_config())}
    state, path = run.read_checkpoint()  # refuses non-finite parameters
    _check_checkpoint_model(state, config, path)
    try:
        return model_from_state(state["model"], device), config
    except (ValueError, KeyError, TypeError) as err:
        raise CheckpointError(f"checkpoint {path} cannot be loaded: {err}") from err


def load_snapshot(path: str | os.PathLike, device: str | None = None) -> tuple[LayeredModel, int]:
    """``(model, epoch)`` from a snapshot file (``snapshots/epoch_XXXX.pt`` of a run)."""
    from qdoem.training.rundir import read_snapshot

    state = read_snapshot(path)
    try:
        return model_from_state(state["model"], device), int(state["epoch"])
    except (ValueError, KeyError, TypeError) as err:
        raise CheckpointError(f"snapshot {path} cannot be loaded: {err}") from err


def _check_checkpoint_model(state: dict[str, Any], config: dict[str, Any], path: Path) -> None:
    saved = state["model"].get("model")
    if saved != config["model"]:
        raise CheckpointError(
            f"checkpoint {path} holds a {saved!r} model, but the run's config.json says "
            f"model {config['model']!r}"
        )


def _legacy(saved: dict[str, Any]) -> dict[str, Any]:
    """A run config written by an older qdoem, with the settings it actually ran."""
    if "sampler" not in saved:  # qdoem 0.1 trained with the uncorrected block-Gibbs chain
        saved = {**saved, "sampler": "plain"}
    return saved
