"""Run directory: resolved config, metrics (JSON lines), atomic checkpoints, PNG figures.

Layout::

    run_dir/
        config.json      resolved configuration (everything needed to rebuild the run)
        metrics.jsonl    one JSON object per epoch
        checkpoint.pt    latest model + trainer state (written atomically)
        samples.png      grid of model samples
        curves.png       learning curves
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from qdoem.io import atomic_write, atomic_write_text

__all__ = ["RunDir", "save_sample_grid", "save_learning_curves"]


class RunDir:
    """Paths and writers for one training run."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)

    config = property(lambda self: self.path / "config.json")
    metrics = property(lambda self: self.path / "metrics.jsonl")
    checkpoint = property(lambda self: self.path / "checkpoint.pt")
    samples_png = property(lambda self: self.path / "samples.png")
    curves_png = property(lambda self: self.path / "curves.png")

    def create(self) -> None:
        self.path.mkdir(parents=True, exist_ok=True)

    def write_config(self, config: dict[str, Any]) -> None:
        atomic_write_text(self.config, json.dumps(config, indent=2, sort_keys=True) + "\n")

    def read_config(self) -> dict[str, Any]:
        if not self.config.is_file():
            raise FileNotFoundError(f"{self.path} is not a run directory (no config.json)")
        return json.loads(self.config.read_text())

    def write_metrics(self, history: Iterable[dict[str, Any]]) -> None:
        """Rewrite the whole metrics file (atomic), e.g. to match a checkpoint on resume."""
        atomic_write_text(self.metrics, "".join(json.dumps(r) + "\n" for r in history))

    def append_metrics(self, record: dict[str, Any]) -> None:
        with open(self.metrics, "a") as fh:
            fh.write(json.dumps(record) + "\n")


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
