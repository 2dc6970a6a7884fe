"""Experiments: a resolved config -> dataset, model, trainer, run directory; and back again.

The CLI (``qdoem train/sample/evaluate``) is a thin layer over these functions, so runs can be
scripted from Python the same way. A config is one flat dict: run settings (dataset, run
directory, ...), the model's constructor arguments (read from the model class, see
:data:`qdoem.models.MODELS`) and the :class:`~qdoem.training.TrainConfig` fields.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

import torch

from qdoem.data import Dataset, load_dataset
from qdoem.models import MODELS, LayeredModel, build_model, model_from_state
from qdoem.training import (
    RunDir,
    TrainConfig,
    Trainer,
    recipe,
    save_learning_curves,
    save_sample_grid,
)

__all__ = ["DEFAULTS", "build_run_model", "load_run", "load_run_dataset", "resolve_config", "train"]

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
    # sampler, backend (None: closed form), shots, ...: the training settings.
    **TrainConfig().to_dict(),
}


def resolve_config(
    path: str | os.PathLike | None = None,
    overrides: dict[str, Any] | None = None,
    *,
    quick: bool = False,
) -> dict[str, Any]:
    """Defaults, then the named recipe (``recipe`` in the file or the overrides), then the TOML
    file (if any), then its ``[quick]`` table when ``quick``, then non-None ``overrides``;
    validated.

    A paper setting's TOML file holds the full-scale run at top level and, in a ``[quick]``
    table, the keys that shrink it to minutes on two CPU cores (``qdoem train --quick``).

    Raises
    ------
    ValueError
        Unknown keys, unknown model, bad values, or ``quick`` without a ``[quick]`` table.
    FileNotFoundError
        The TOML file does not exist.
    """
    config = dict(DEFAULTS)
    if path is not None:
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"config file {path} not found")
        try:
            loaded = tomllib.loads(path.read_text())
        except tomllib.TOMLDecodeError as err:
            raise ValueError(f"config file {path} is not valid TOML: {err}") from err
        quick_table = loaded.pop("quick", None)
        if quick_table is not None and not isinstance(quick_table, dict):
            raise ValueError(f"quick in {path} must be a table ([quick]), got {quick_table!r}")
        unknown = sorted(set(loaded) - set(DEFAULTS))
        unknown += [f"quick.{k}" for k in sorted(set(quick_table or {}) - set(DEFAULTS))]
        if unknown:
            raise ValueError(f"unknown keys in {path}: {', '.join(unknown)}")
        if quick:
            if quick_table is None:
                raise ValueError(f"--quick: {path} has no [quick] table")
            loaded.update(quick_table)
    else:
        if quick:
            raise ValueError("--quick needs a config file with a [quick] table (see configs/)")
        loaded = {}
    overrides = {k: v for k, v in (overrides or {}).items() if v is not None}
    name = overrides.get("recipe", loaded.get("recipe"))
    if name is not None:
        config.update(recipe(name))
    config.update(loaded)
    config.update(overrides)
    if config["model"] not in MODELS:
        raise ValueError(f"model must be one of {sorted(MODELS)}, got {config['model']!r}")
    if str(config["device"]).startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"device {config['device']!r} requested but CUDA is not available")
    TrainConfig.from_dict(config)  # validates the optimisation settings
    if config["backend"] is not None:
        if not MODELS[config["model"]].quantum:
            raise ValueError(
                f"backend applies to quantum models; the {config['model'].upper()} has no "
                f"circuit E-step"
            )
        from backends import get_backend

        get_backend(config["backend"])  # fail now, with the install hint, not mid-run
    if config["run_dir"] is None:
        config["run_dir"] = f"runs/{config['model']}_{config['dataset']}_s{config['seed']}"
    return config


def load_run_dataset(config: dict[str, Any], split: str = "train") -> Dataset:
    """The dataset a run was trained on (or its other split)."""
    return load_dataset(
        config["dataset"],
        root=config["data_root"],
        split=split,
        download=config["download"],
        limit=config["limit"],
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


def train(
    config: dict[str, Any],
    *,
    resume: bool = False,
    progress: bool = True,
    stop_after: int | None = None,
) -> Trainer:
    """Train (or resume) the run described by ``config``; writes everything to its run dir.

    On resume the saved ``config.json`` is used; only ``config["epochs"]`` (when set and
    larger) extends the run.
    """
    run = RunDir(config["run_dir"])
    if resume:
        if not run.checkpoint.is_file():
            raise FileNotFoundError(f"cannot resume: no checkpoint.pt in {run.path}")
        saved = {**DEFAULTS, **_legacy(run.read_config())}
        saved["epochs"] = max(saved["epochs"], config.get("epochs") or 0)
        config = saved
    elif run.checkpoint.is_file():
        raise ValueError(
            f"run directory {run.path} already has a checkpoint; use --resume or another --run-dir"
        )
    dataset = load_run_dataset(config)
    model = build_run_model(config, dataset.data.shape[1])
    if model.layers[0].binary and not dataset.binary:
        raise ValueError(
            f"dataset {config['dataset']!r} is not binary; use a binarized variant "
            f"(model {config['model']!r} has {{0,1}} visible units)"
        )
    trainer = Trainer(model, TrainConfig.from_dict(config), run_dir=run.path)
    run.create()
    run.write_config(config)
    if resume:
        trainer.load_state_dict(torch.load(run.checkpoint, map_location="cpu", weights_only=True))
    else:
        # An epoch-0 checkpoint: a run interrupted during its first epoch can still resume.
        trainer.save_checkpoint()
    trainer.fit(dataset.data, progress=progress, stop_after=stop_after)
    if trainer.history:
        save_learning_curves(trainer.history, run.curves_png)
    samples = model.sample(config["grid_samples"], steps=config["grid_steps"], seed=config["seed"])
    save_sample_grid(dataset.to_images(samples), run.samples_png, dataset.image_shape)
    return trainer


def load_run(run_dir: str | os.PathLike, device: str | None = None):
    """``(model, config)`` from a run directory's checkpoint and config."""
    run = RunDir(run_dir)
    config = {**DEFAULTS, **_legacy(run.read_config())}
    if not run.checkpoint.is_file():
        raise FileNotFoundError(f"no checkpoint.pt in {run.path}")
    state = torch.load(run.checkpoint, map_location="cpu", weights_only=True)
    return model_from_state(state["model"], device), config


def _legacy(saved: dict[str, Any]) -> dict[str, Any]:
    """A run config written by an older qdoem, with the settings it actually ran."""
    if "sampler" not in saved:  # qdoem 0.1 trained with the uncorrected block-Gibbs chain
        saved = {**saved, "sampler": "plain"}
    return saved
