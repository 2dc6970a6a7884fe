"""Experiments: a resolved config -> dataset, model, trainer, run directory; and back again.

The CLI (``qdoem train/sample/evaluate``) is a thin layer over these functions, so runs can be
scripted from Python the same way.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

import torch

from qdoem.data import Dataset, load_dataset
from qdoem.models import MODELS, build_model, model_from_state
from qdoem.training.rundir import RunDir, save_learning_curves, save_sample_grid
from qdoem.training.trainer import TrainConfig, Trainer

__all__ = ["DEFAULTS", "resolve_config", "train", "load_run", "load_run_dataset"]

# Training settings the models also take as constructor arguments (for fit / partial_fit).
_MODEL_TRAIN_KEYS = (
    "learning_rate", "momentum", "weight_decay", "lr_schedule", "lr_final_ratio",
    "batch_size", "cd_k", "persistent",
)  # fmt: skip
DEFAULTS: dict[str, Any] = {
    "model": "qrbm",
    "n_hidden": 16,
    "dataset": "bars_and_stripes",
    "dataset_options": {},
    "data_root": None,
    "download": False,
    "limit": None,
    "gamma_init": 0.5,
    "learn_gamma": True,
    "weight_scale": 0.01,
    "device": "cpu",
    "dtype": "float32",
    "matmul_dtype": None,
    # "sparse": gather-sums instead of matmuls for products with {0,1} visible vectors.
    "visible_matmul": "dense",
    "run_dir": None,
    # E-step on a circuit backend (see ``backends.get_backend``); None is the closed form.
    "backend": None,
    "shots": 1000,
    "grid_samples": 64,
    "grid_steps": 1000,
    **TrainConfig().to_dict(),
}


def resolve_config(
    path: str | os.PathLike | None = None, overrides: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Defaults, then the TOML file (if any), then non-None ``overrides``; validated.

    Raises
    ------
    ValueError
        Unknown keys, unknown model, or bad values.
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
        unknown = sorted(set(loaded) - set(DEFAULTS))
        if unknown:
            raise ValueError(f"unknown keys in {path}: {', '.join(unknown)}")
        config.update(loaded)
    config.update({k: v for k, v in (overrides or {}).items() if v is not None})
    if config["model"] not in MODELS:
        raise ValueError(f"model must be one of {sorted(MODELS)}, got {config['model']!r}")
    if config["matmul_dtype"] not in (None, "float32", "float64", "bfloat16"):
        raise ValueError(
            f"matmul_dtype must be float32, float64 or bfloat16, got {config['matmul_dtype']!r}"
        )
    if config["visible_matmul"] not in ("dense", "sparse"):
        raise ValueError(
            f"visible_matmul must be 'dense' or 'sparse', got {config['visible_matmul']!r}"
        )
    if config["visible_matmul"] == "sparse" and config["matmul_dtype"] not in (
        None,
        config["dtype"],
    ):
        raise ValueError("visible_matmul 'sparse' cannot be combined with matmul_dtype")
    if config["dtype"] not in ("float32", "float64"):
        raise ValueError(f"dtype must be 'float32' or 'float64', got {config['dtype']!r}")
    if config["device"].startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"device {config['device']!r} requested but CUDA is not available")
    if config["backend"] is not None:
        if config["model"] == "rbm":
            raise ValueError("backend applies to quantum models; the RBM has no circuit E-step")
        from backends import get_backend

        get_backend(config["backend"])  # fail now, with the install hint, not mid-run
        if isinstance(config["shots"], bool) or not isinstance(config["shots"], int):
            raise ValueError(f"shots must be a positive integer, got {config['shots']!r}")
        if config["shots"] < 1:
            raise ValueError(f"shots must be a positive integer, got {config['shots']!r}")
    if config["run_dir"] is None:
        config["run_dir"] = f"runs/{config['model']}_{config['dataset']}_s{config['seed']}"
    TrainConfig.from_dict(config)  # validates the optimisation settings
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


def _build_model(config: dict[str, Any], n_visible: int):
    opts = {
        "weight_scale": config["weight_scale"],
        "seed": config["seed"],
        "device": config["device"],
        "dtype": getattr(torch, config["dtype"]),
        **{k: config[k] for k in _MODEL_TRAIN_KEYS},
        "n_epochs": config["epochs"],
        "matmul_dtype": getattr(torch, config["matmul_dtype"]) if config["matmul_dtype"] else None,
        # Run configs written before this key existed trained dense.
        "visible_matmul": config.get("visible_matmul", "dense"),
    }
    if config["model"] != "rbm":
        opts.update(gamma_init=config["gamma_init"], learn_gamma=config["learn_gamma"])
    return build_model(config["model"], n_visible, config["n_hidden"], **opts)


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
        saved = run.read_config()
        saved["epochs"] = max(saved["epochs"], config.get("epochs") or 0)
        config = saved
    elif run.checkpoint.is_file():
        raise ValueError(
            f"run directory {run.path} already has a checkpoint; use --resume or another --run-dir"
        )
    dataset = load_run_dataset(config)
    if not dataset.binary:
        raise ValueError(f"dataset {config['dataset']!r} is not binary; use a binarized variant")
    model = _build_model(config, dataset.data.shape[1])
    estep = None
    if config.get("backend"):
        from qdoem.training.circuit_estep import BackendEStep

        estep = BackendEStep(config["backend"], shots=config["shots"], seed=config["seed"])
        model.latent_backend = estep
    trainer = Trainer(model, TrainConfig.from_dict(config), run_dir=run.path)
    run.create()
    run.write_config(config)
    if resume:
        trainer.load_state_dict(torch.load(run.checkpoint, map_location="cpu", weights_only=True))
        trainer.config = TrainConfig.from_dict(config)
    else:
        # An epoch-0 checkpoint: a run interrupted during its first epoch can still resume.
        trainer.save_checkpoint()
    on_epoch = None
    if estep is not None:
        # Tie the shots of every epoch, fresh or resumed, to (seed, epoch).
        estep.start_epoch(trainer.epoch)
        on_epoch = lambda trainer, record: estep.start_epoch(trainer.epoch)  # noqa: E731
    trainer.fit(dataset.data, progress=progress, stop_after=stop_after, on_epoch=on_epoch)
    if trainer.history:
        save_learning_curves(trainer.history, run.curves_png)
    # The picture of the trained model uses its exact conditionals; shots are for training.
    model.latent_backend = None
    samples = model.sample(
        config["grid_samples"], n_steps=config["grid_steps"], seed=config["seed"]
    )
    save_sample_grid(samples, run.samples_png, dataset.image_shape)
    return trainer


def load_run(run_dir: str | os.PathLike, device: str | None = None):
    """``(model, config)`` from a run directory's checkpoint and config."""
    run = RunDir(run_dir)
    config = run.read_config()
    if not run.checkpoint.is_file():
        raise FileNotFoundError(f"no checkpoint.pt in {run.path}")
    state = torch.load(run.checkpoint, map_location="cpu", weights_only=True)
    return model_from_state(state["model"], device), config
