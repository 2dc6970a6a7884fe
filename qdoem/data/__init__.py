"""Datasets for CQ-LVM training: images (MNIST family, CelebA 32x32) and synthetic benchmarks.

Use :func:`load_dataset` with a name from :data:`DATASETS`. Every loader returns a
:class:`Dataset`: a float tensor ``data`` of shape ``(n_samples, n_visible)`` plus the image shape
(for sample grids), so a model's ``n_visible`` is ``dataset.data.shape[1]``.

The image root defaults to ``$QDOEM_DATA`` or ``./data``; it holds the torchvision layout
(``MNIST/raw``, ``FashionMNIST/raw``, ``celeba``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from torch import Tensor

from qdoem.data import synthetic, vision
from qdoem.data.synthetic import (
    BernoulliMixture,
    bars_and_stripes,
    bernoulli_mixture,
    cardinality,
    empirical_distribution,
    parity,
)
from qdoem.data.vision import binarize, from_bits, to_bits

__all__ = [
    "BernoulliMixture",
    "DATASETS",
    "Dataset",
    "default_root",
    "load_dataset",
    "bars_and_stripes",
    "bernoulli_mixture",
    "cardinality",
    "empirical_distribution",
    "parity",
    "binarize",
    "from_bits",
    "to_bits",
]


@dataclass(frozen=True)
class Dataset:
    """A flattened dataset.

    Attributes
    ----------
    name : str
    data : Tensor
        ``(n_samples, n_visible)`` floats, {0,1} for binary datasets.
    image_shape : tuple of int or None
        How to draw one row (``(28, 28)``, ``(3, 32, 32)``...), None for bit strings.
    binary : bool
        Whether ``data`` is {0,1}.
    pixel_bits : int
        Bits per pixel: 8 for the 8-bit encodings (each grey level as its 8 bits, most
        significant first, :func:`to_bits`), else 1.
    """

    name: str
    data: Tensor
    image_shape: tuple[int, ...] | None
    binary: bool
    pixel_bits: int = 1

    def to_images(self, rows: Tensor) -> Tensor:
        """Rows of this dataset's encoding (data or model samples) as pixel values in [0, 1],
        one row per image, to draw with :attr:`image_shape`."""
        return from_bits(rows) if self.pixel_bits == 8 else rows


def default_root() -> str:
    """``$QDOEM_DATA`` if set, else ``./data``."""
    return os.environ.get("QDOEM_DATA", "data")


def _mnist_like(base: str, mode: str | None):
    def load(root, split, download, limit, seed, binarize_mode=None, threshold=0.5, **_):
        x = vision.load_idx_images(base, root, split, download)
        if limit is not None:
            x = x[:limit]
        if mode == "bits":
            return to_bits(x), (28, 28), True
        grey = x.reshape(x.shape[0], -1).float() / 255.0
        how = binarize_mode or mode
        if how is None:
            return grey, (28, 28), False
        return binarize(grey, how, threshold=threshold, seed=seed), (28, 28), True

    return load


def _celeba(root, split, download, limit, seed, binarize_mode=None, threshold=0.5, **_):
    x = vision.load_celeba32(root, split, download, limit).reshape(-1, 3 * 32 * 32)
    if binarize_mode is None:
        return x, (3, 32, 32), False
    return binarize(x, binarize_mode, threshold=threshold, seed=seed), (3, 32, 32), True


def _synthetic(fn, shape_fn=None):
    def load(root, split, download, limit, seed, **kw):
        x = fn(seed=seed, **kw) if fn is bernoulli_mixture else fn(**kw)
        if limit is not None:
            x = x[:limit]
        return x, (shape_fn(kw) if shape_fn else None), True

    return load


def _bas_shape(kw: dict[str, Any]) -> tuple[int, int]:
    rows = kw.get("rows", 3)
    return (rows, kw.get("cols") or rows)


_LOADERS = {
    "mnist": _mnist_like("mnist", None),
    "binarized_mnist": _mnist_like("mnist", "threshold"),
    "mnist8bit": _mnist_like("mnist", "bits"),
    "fashion_mnist": _mnist_like("fashion_mnist", None),
    "binarized_fashion_mnist": _mnist_like("fashion_mnist", "threshold"),
    "celeba32": _celeba,
    "bernoulli_mixture": _synthetic(bernoulli_mixture),
    "bars_and_stripes": _synthetic(bars_and_stripes, _bas_shape),
    "parity": _synthetic(parity),
    "cardinality": _synthetic(cardinality),
}
DATASETS: tuple[str, ...] = tuple(_LOADERS)
#: Datasets whose rows hold each pixel as 8 bits (:func:`to_bits`).
_EIGHT_BIT = frozenset({"mnist8bit"})

_DEFAULTS: dict[str, dict[str, Any]] = {
    "bernoulli_mixture": {"n_samples": 1000, "n_visible": 20},
    "parity": {"n_bits": 8},
    "cardinality": {"n_bits": 8},
}


def load_dataset(
    name: str,
    *,
    root: str | os.PathLike | None = None,
    split: str = "train",
    download: bool = False,
    limit: int | None = None,
    seed: int = 0,
    **options: Any,
) -> Dataset:
    """Load a dataset by name.

    Parameters
    ----------
    name : str
        One of :data:`DATASETS`.
    root : path, optional
        Folder with the torchvision layout (default :func:`default_root`).
    split : str
        ``"train"`` or ``"test"`` (CelebA also ``"valid"``/``"all"``). Synthetic sets ignore it.
    download : bool
        Let torchvision download missing files.
    limit : int, optional
        Keep the first ``limit`` samples.
    seed : int
        Seed for stochastic binarisation and the Bernoulli mixture.
    **options
        Loader options, e.g. ``binarize_mode="stochastic"``, ``threshold``, ``rows``/``cols``
        (Bars-and-Stripes), ``n_bits``/``k``, ``n_samples``/``n_visible``/``n_modes``/``p``.

    Raises
    ------
    ValueError
        Unknown name or bad option.
    FileNotFoundError
        Image files missing; the message names the folder to fill.
    """
    key = name.lower().replace("-", "_")
    if key not in _LOADERS:
        raise ValueError(f"unknown dataset {name!r}; choose one of {', '.join(DATASETS)}")
    if limit is not None and limit < 1:
        raise ValueError(f"limit must be positive, got {limit}")
    root = default_root() if root is None else root
    kw = {**_DEFAULTS.get(key, {}), **options}
    try:
        data, shape, is_binary = _LOADERS[key](root, split, download, limit, seed, **kw)
    except TypeError as err:  # an option the loader does not take
        raise ValueError(f"bad options for dataset {name!r}: {err}") from err
    bits = 8 if key in _EIGHT_BIT else 1
    return Dataset(
        name=key, data=data.contiguous(), image_shape=shape, binary=is_binary, pixel_bits=bits
    )


__all__ += ["synthetic", "vision"]
