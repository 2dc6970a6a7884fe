"""Run directory: resolved config, metrics (JSON lines), atomic checkpoints, PNG figures.

Layout::

    run_dir/
        config.json      resolved configuration (everything needed to rebuild the run)
        backend.json     provenance of the quantum statistics: backend name and kind, package
                         versions, shots, qubit layout, calibration snapshot, job ids, calls
        metrics.jsonl    one JSON object per epoch
        checkpoint.pt    latest model + trainer state (written atomically)
        checkpoint.prev.pt   the checkpoint before it (the fallback when the newest is unreadable)
        changes.jsonl    settings changed on resume (--allow-changes), one JSON object each
        samples.png      grid of model samples
        curves.png       learning curves
        snapshots/epoch_XXXX.pt   the model every N epochs (``qdoem train --snapshot-every N``)
"""

from __future__ import annotations

import json
import math
import os
import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from qdoem.errors import CheckpointError, CheckpointFallbackWarning
from qdoem.io import atomic_torch_save, atomic_write, atomic_write_text
from qdoem.training.optim import nonfinite

__all__ = [
    "RunDir",
    "read_checkpoint_file",
    "read_snapshot",
    "save_sample_grid",
    "save_learning_curves",
]


class RunDir:
    """Paths and writers for one training run."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)

    config = property(lambda self: self.path / "config.json")
    metrics = property(lambda self: self.path / "metrics.jsonl")
    changes = property(lambda self: self.path / "changes.jsonl")
    backend = property(lambda self: self.path / "backend.json")
    checkpoint = property(lambda self: self.path / "checkpoint.pt")
    previous_checkpoint = property(lambda self: self.path / "checkpoint.prev.pt")
    samples_png = property(lambda self: self.path / "samples.png")
    curves_png = property(lambda self: self.path / "curves.png")
    snapshots = property(lambda self: self.path / "snapshots")

    def snapshot(self, epoch: int) -> Path:
        """The path of the model snapshot taken after ``epoch``."""
        return self.snapshots / f"epoch_{epoch:04d}.pt"

    def snapshot_files(self) -> list[tuple[int, Path]]:
        """``(epoch, path)`` of every snapshot, by epoch."""
        found = []
        for path in self.snapshots.glob("epoch_*.pt"):
            digits = path.stem.removeprefix("epoch_")
            if digits.isdigit():
                found.append((int(digits), path))
        return sorted(found)

    def write_snapshot(self, epoch: int, step: int, model_state: dict[str, Any]) -> Path:
        """Save a model state (``model.state_dict()``) as the snapshot of ``epoch``,
        atomically; a snapshot loads like a checkpoint's model (:func:`read_snapshot`)."""
        path = self.snapshot(epoch)
        atomic_torch_save({"model": model_state, "epoch": epoch, "step": step}, path)
        return path

    def create(self) -> None:
        self.path.mkdir(parents=True, exist_ok=True)

    def write_config(self, config: dict[str, Any]) -> None:
        atomic_write_text(self.config, json.dumps(config, indent=2, sort_keys=True) + "\n")

    def read_config(self) -> dict[str, Any]:
        if not self.config.is_file():
            raise FileNotFoundError(f"{self.path} is not a run directory (no config.json)")
        try:
            config = json.loads(self.config.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise CheckpointError(f"run config {self.config} is corrupt: {err}") from err
        if not isinstance(config, dict):
            raise CheckpointError(f"run config {self.config} is not a JSON object")
        return config

    def write_backend(self, record: dict[str, Any]) -> None:
        """Write the provenance record ``backend.json`` (:func:`backends.provenance.run_record`)."""
        atomic_write_text(self.backend, json.dumps(record, indent=2, sort_keys=True) + "\n")

    def read_backend(self) -> dict[str, Any] | None:
        """The provenance record, or None when there is none (or it is unreadable)."""
        try:
            record = json.loads(self.backend.read_text())
        except (OSError, json.JSONDecodeError, UnicodeDecodeError):
            return None
        return record if isinstance(record, dict) else None

    def remove_temporaries(self) -> None:
        """Delete the temporary files of writes that were killed (``.tmp-*``)."""
        for tmp in self.path.glob(".tmp-*"):
            tmp.unlink(missing_ok=True)

    def has_checkpoint(self) -> bool:
        return self.checkpoint.is_file() or self.previous_checkpoint.is_file()

    def write_checkpoint(self, state: dict[str, Any]) -> None:
        """Write ``state`` to ``checkpoint.pt`` atomically; the file it replaces becomes
        ``checkpoint.prev.pt``. A kill at any moment leaves both complete."""
        atomic_torch_save(state, self.checkpoint, previous=self.previous_checkpoint)

    def read_checkpoint(self) -> tuple[dict[str, Any], Path]:
        """The newest usable checkpoint and its path.

        When ``checkpoint.pt`` is missing, unreadable (truncated, corrupt) or holds non-finite
        parameters, ``checkpoint.prev.pt`` is used instead, with a
        :class:`~qdoem.errors.CheckpointFallbackWarning` saying why.

        Raises
        ------
        FileNotFoundError
            Neither file exists.
        CheckpointError
            Neither is usable; the message names the file and the reason.
        """
        if not self.has_checkpoint():
            raise FileNotFoundError(f"no checkpoint.pt in {self.path}")
        try:
            return read_checkpoint_file(self.checkpoint), self.checkpoint
        except (CheckpointError, FileNotFoundError) as err:
            if not self.previous_checkpoint.is_file():
                raise
            reason = err
        state = read_checkpoint_file(self.previous_checkpoint)
        warnings.warn(
            f"{reason}; using the previous checkpoint {self.previous_checkpoint} "
            f"(epoch {state['epoch']}, step {state['step']})",
            CheckpointFallbackWarning,
            stacklevel=2,
        )
        return state, self.previous_checkpoint

    def write_metrics(self, history: Iterable[dict[str, Any]]) -> None:
        """Rewrite the whole metrics file (atomic), e.g. to match a checkpoint on resume."""
        atomic_write_text(self.metrics, "".join(json.dumps(r) + "\n" for r in history))

    def append_metrics(self, record: dict[str, Any]) -> None:
        with open(self.metrics, "a") as fh:
            fh.write(json.dumps(record) + "\n")

    def append_change(self, record: dict[str, Any]) -> None:
        """Record settings changed on resume: ``{"epoch", "step", "changed": {key: [old,
        new]}}``."""
        with open(self.changes, "a") as fh:
            fh.write(json.dumps(record) + "\n")


#: What a training checkpoint holds (:meth:`qdoem.training.Trainer.state_dict`).
CHECKPOINT_KEYS = ("model", "config", "optimizer", "epoch", "step", "history", "chains")


def read_checkpoint_file(path: str | os.PathLike) -> dict[str, Any]:
    """A training checkpoint, loaded on the CPU and checked: readable, a qdoem checkpoint,
    finite parameters.

    Raises
    ------
    FileNotFoundError
        No file at ``path``.
    CheckpointError
        Naming ``path`` and what is wrong with it.
    """
    import torch

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint {path}")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises RuntimeError, EOFError, UnpicklingError, ...
        detail = (str(err).splitlines() or [""])[0].split(". ")[0]  # torch's first sentence
        raise CheckpointError(
            f"checkpoint {path} is unreadable (truncated or corrupt): "
            f"{type(err).__name__}: {detail}"
        ) from err
    missing = [k for k in CHECKPOINT_KEYS if not isinstance(state, dict) or k not in state]
    if missing:
        raise CheckpointError(f"{path} is not a qdoem training checkpoint (no {missing})")
    params = state["model"].get("parameters") if isinstance(state["model"], dict) else None
    if not isinstance(params, dict):
        raise CheckpointError(f"{path} is not a qdoem training checkpoint (no model parameters)")
    bad = nonfinite(params)
    if bad:
        entries = ", ".join(f"{k} ({n} NaN/inf)" for k, n in bad.items())
        raise CheckpointError(f"checkpoint {path} has non-finite parameters: {entries}")
    return state


def read_snapshot(path: str | os.PathLike) -> dict[str, Any]:
    """A snapshot written by :meth:`RunDir.write_snapshot`, loaded on the CPU and checked.

    Raises
    ------
    CheckpointError
        Unreadable, not a snapshot, or non-finite parameters; naming ``path``.
    """
    import torch

    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:
        raise CheckpointError(f"snapshot {path} is unreadable: {type(err).__name__}") from err
    params = state.get("model", {}).get("parameters") if isinstance(state, dict) else None
    if not isinstance(params, dict) or "epoch" not in state:
        raise CheckpointError(f"{path} is not a qdoem snapshot (no model parameters or epoch)")
    bad = nonfinite(params)
    if bad:
        raise CheckpointError(f"snapshot {path} has non-finite parameters: {sorted(bad)}")
    return state


def _save_figure(fig, path: str | os.PathLike) -> None:
    atomic_write(path, lambda fh: fig.savefig(fh, format="png", dpi=100, bbox_inches="tight"))


def save_sample_grid(
    samples, path: str | os.PathLike, image_shape: tuple[int, ...] | None = None
) -> None:
    """Save {0,1} (or [0,1]) samples as a PNG grid; rows of bits when there is no image shape."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    x = samples.detach().float().cpu().numpy()
    n, d = x.shape
    if image_shape is None or math.prod(image_shape) != d:
        side = int(math.isqrt(d))
        image_shape = (side, side) if side * side == d else (1, d)
    imgs = x.reshape(n, *image_shape)
    if imgs.ndim == 4:  # (N, C, H, W) -> (N, H, W, C)
        imgs = imgs.transpose(0, 2, 3, 1)
    else:
        imgs = imgs[..., None]
    # Tile into one array with a 1-pixel gap: one imshow is much faster than a subplot each.
    cols = int(math.ceil(math.sqrt(n)))
    rows = int(math.ceil(n / cols))
    h, w, ch = imgs.shape[1:]
    canvas = np.full((rows * (h + 1) + 1, cols * (w + 1) + 1, ch), 0.5, dtype=np.float32)
    for k in range(n):
        r, c = divmod(k, cols)
        canvas[1 + r * (h + 1) : 1 + r * (h + 1) + h, 1 + c * (w + 1) : 1 + c * (w + 1) + w] = imgs[
            k
        ]
    fig = plt.figure(figsize=(max(2.0, cols * w / 14), max(2.0, rows * h / 14)))
    ax = fig.add_axes((0, 0, 1, 1))
    ax.axis("off")
    ax.imshow(
        canvas[..., 0] if ch == 1 else canvas,
        cmap="gray",
        vmin=0,
        vmax=1,
        interpolation="nearest",
        aspect="auto",
    )
    _save_figure(fig, path)
    plt.close(fig)


def save_learning_curves(history: list[dict[str, Any]], path: str | os.PathLike) -> None:
    """One panel per numeric metric against epoch."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    skip = {"epoch", "step", "time_s", "momentum"}
    keys = [
        k
        for k in (history[0] if history else {})
        if k not in skip and isinstance(history[0][k], (int, float))
    ]
    fig, axes = plt.subplots(
        1, max(len(keys), 1), figsize=(4 * max(len(keys), 1), 3), squeeze=False
    )
    epochs = [r["epoch"] for r in history]
    for ax, key in zip(axes.flat, keys, strict=False):
        ax.plot(epochs, [r.get(key, float("nan")) for r in history], marker=".")
        ax.set_xlabel("epoch")
        ax.set_title(key)
    _save_figure(fig, path)
    plt.close(fig)
