"""Datasets for CQ-LVM training: images (MNIST family, CelebA 32x32) and synthetic benchmarks.

Use :func:`load_dataset` with a name from :data:`DATASETS`. Every loader returns a
:class:`Dataset`: a float tensor ``data`` of shape ``(n_samples, n_visible)`` plus the image shape
(for sample grids), so a model's ``n_visible`` is ``dataset.data.shape[1]``.

Real-valued images (``mnist``, ``fashion_mnist``, ``celeba32``) can be standardised for
Gaussian-visible models, per pixel or per channel, with statistics of the train split
(``load_dataset(..., standardize="pixel")``); :meth:`Dataset.to_images` maps rows back to pixels.

The image root defaults to ``$QDOEM_DATA`` or ``./data``; it holds the torchvision layout
(``MNIST/raw``, ``FashionMNIST/raw``, ``celeba/img_align_celeba``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import torch
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
from qdoem.data.vision import (
    STD_FLOOR,
    binarize,
    from_bits,
    standardization_stats,
    to_bits,
)
from qdoem.errors import DataError, check_int
from qdoem.seeding import derive_seed

__all__ = [
    "BernoulliMixture",
    "DATASETS",
    "STD_FLOOR",
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
    "standardization_stats",
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
    standardize : str or None
        ``"pixel"`` or ``"channel"`` when ``data`` is standardised pixels
        ``(pixels - mean) / std``, else None.
    mean, std : Tensor or None
        float32 ``(n_visible,)`` statistics of the standardisation (of the train split, also
        for the other splits; per-channel values repeated over the channel's pixels), else None.
    """

    name: str
    data: Tensor
    image_shape: tuple[int, ...] | None
    binary: bool
    pixel_bits: int = 1
    standardize: str | None = None
    mean: Tensor | None = None
    std: Tensor | None = None

    def to_images(self, rows: Tensor) -> Tensor:
        """Rows of this dataset's encoding (data or model samples) as pixel values in [0, 1],
        one row per image, to draw with :attr:`image_shape`: 8-bit rows decoded, standardised
        rows mapped back as ``rows * std + mean`` clamped to [0, 1], other rows unchanged."""
        if self.pixel_bits == 8:
            return from_bits(rows)
        if self.mean is None or self.std is None:
            return rows
        std = self.std.to(rows.device, rows.dtype)
        return (rows * std + self.mean.to(rows.device, rows.dtype)).clamp(0.0, 1.0)


def default_root() -> str:
    """``$QDOEM_DATA`` if set, else ``./data``."""
    return os.environ.get("QDOEM_DATA", "data")


def _split_seed(binarize_seed: int | None, seed: int, split: str) -> int:
    """The seed of a split's stochastic binarisation: ``binarize_seed`` (the dataset option) or
    else the run's ``seed`` for the train split, and one derived from it and the split's name
    for the others, so that no test image shares its noise with the training image of the same
    index. A fixed ``binarize_seed`` keeps the data the same across a study of seeds."""
    if binarize_seed is not None:
        check_int("binarize_seed", binarize_seed)
        seed = binarize_seed
    if split == "train":
        return seed
    return derive_seed(seed, int.from_bytes(split.encode(), "little"))


def _mnist_like(base: str, mode: str | None):
    def load(
        root,
        split,
        download,
        limit,
        seed,
        binarize_mode=None,
        threshold=0.5,
        binarize_seed=None,
        **_,
    ):
        x = vision.load_idx_images(base, root, split, download)
        if limit is not None:
            x = x[:limit]
        if mode == "bits":
            return to_bits(x), (28, 28), True
        grey = x.reshape(x.shape[0], -1).float() / 255.0
        how = binarize_mode or mode
        if how is None:
            return grey, (28, 28), False
        return (
            binarize(grey, how, threshold=threshold, seed=_split_seed(binarize_seed, seed, split)),
            (28, 28),
            True,
        )

    return load


def _celeba(
    root, split, download, limit, seed, binarize_mode=None, threshold=0.5, binarize_seed=None, **_
):
    x = vision.load_celeba32(root, split, download, limit).reshape(-1, 3 * 32 * 32)
    if binarize_mode is None:
        return x, (3, 32, 32), False
    return (
        binarize(
            x, binarize_mode, threshold=threshold, seed=_split_seed(binarize_seed, seed, split)
        ),
        (3, 32, 32),
        True,
    )


def _synthetic(fn, shape_fn=None):
    def load(root, split, download, limit, seed, **kw):
        # The enumerated sets (Bars-and-Stripes, parity, cardinality) are their target
        # distribution's whole support, uniform: both splits are that set. The mixture draws
        # its test split independently.
        x = fn(seed=seed, split=split, **kw) if fn is bernoulli_mixture else fn(**kw)
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
#: Datasets of grey levels / colours in [0, 1] (unless binarised): those that can be standardised.
_REAL_VALUED = frozenset({"mnist", "fashion_mnist", "celeba32"})

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
    standardize: str | None = None,
    std_floor: float = STD_FLOOR,
    stats: tuple[Tensor, Tensor] | None = None,
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
        ``"train"`` or ``"test"`` (CelebA also ``"valid"``/``"all"``). The Bernoulli mixture
        draws its test rows independently of its train rows (same modes); the enumerated
        synthetic sets (``bars_and_stripes``, ``parity``, ``cardinality``) are the whole support
        of a uniform target, the same rows in both splits.
    download : bool
        Let torchvision download missing files.
    limit : int, optional
        Keep the first ``limit`` samples.
    seed : int
        Seed for stochastic binarisation and the Bernoulli mixture.
    standardize : {None, "pixel", "channel"}
        Return ``(pixels - mean) / std`` with one mean and std per pixel, or per channel (over
        all pixels of that channel; MNIST-like images have one), for real-valued datasets only
        (``mnist``, ``fashion_mnist``, ``celeba32``, not binarised). The statistics are those of
        the full train split of the same dataset (regardless of ``limit`` and ``split``: every
        split uses the train statistics), population std floored at ``std_floor``; computing
        them reads the whole train split (for ``split="train"`` it is read once). They are in
        :attr:`Dataset.mean` / :attr:`Dataset.std`; :meth:`Dataset.to_images` undoes them.
    std_floor : float
        Lower bound on the std (default :data:`STD_FLOOR`, ``1e-3`` in pixel units), so constant
        pixels (MNIST's blank borders) stay finite.
    stats : (Tensor, Tensor), optional
        ``(mean, std)`` to use instead of computing them, e.g. ``(train.mean, train.std)`` of a
        train :class:`Dataset` when loading its test split; needs ``standardize``.
    **options
        Loader options, e.g. ``binarize_mode="stochastic"`` (with ``binarize_seed``: the draw's
        seed, default ``seed``), ``threshold``, ``rows``/``cols``
        (Bars-and-Stripes), ``n_bits``/``k``, ``n_samples``/``n_visible``/``n_modes``/``p``.

    Raises
    ------
    ValueError
        Unknown name or bad option; ``standardize`` on binary or binarised data.
    DataError
        A split the dataset does not have; image files present but truncated or corrupt.
    FileNotFoundError
        Image files missing; the message names the folder to fill. CelebA reads the image
        files in ``<root>/celeba/img_align_celeba`` (its splits:
        :func:`qdoem.data.vision.celeba_files`).
    """
    key = name.lower().replace("-", "_")
    if key not in _LOADERS:
        raise ValueError(f"unknown dataset {name!r}; choose one of {', '.join(DATASETS)}")
    splits = vision.CELEBA_SPLITS if key == "celeba32" else ("train", "test")
    if split not in splits:
        raise DataError(f"dataset {name!r} has no split {split!r}; choose one of {splits}")
    if limit is not None and limit < 1:
        raise ValueError(f"limit must be positive, got {limit}")
    root = default_root() if root is None else root
    kw = {**_DEFAULTS.get(key, {}), **options}
    if standardize is None:
        if stats is not None:
            raise ValueError("stats need standardize='pixel' or 'channel'")
        data, shape, is_binary = _load(name, key, root, split, download, limit, seed, kw)
        bits = 8 if key in _EIGHT_BIT else 1
        return Dataset(
            name=key, data=data.contiguous(), image_shape=shape, binary=is_binary, pixel_bits=bits
        )
    if standardize not in ("pixel", "channel"):
        raise ValueError(f"standardize must be None, 'pixel' or 'channel', got {standardize!r}")
    if key not in _REAL_VALUED or kw.get("binarize_mode") is not None:
        raise ValueError(
            f"standardize={standardize!r} needs real-valued pixels, but dataset {name!r} "
            f"is binary{' (binarize_mode given)' if key in _REAL_VALUED else ''}"
        )
    if not std_floor > 0:
        raise ValueError(f"std_floor must be positive, got {std_floor}")
    if stats is None and split == "train":
        # One read: the full train split gives the statistics, then keep its first ``limit``.
        data, shape, _ = _load(name, key, root, split, download, None, seed, kw)
        mean, std = standardization_stats(data, standardize, shape, floor=std_floor)
        if limit is not None and limit < data.shape[0]:
            data = data[:limit].clone()
    else:
        data, shape, _ = _load(name, key, root, split, download, limit, seed, kw)
        if stats is None:
            train, _, _ = _load(name, key, root, "train", download, None, seed, kw)
            mean, std = standardization_stats(train, standardize, shape, floor=std_floor)
            del train
        else:
            mean, std = (torch.as_tensor(t, dtype=torch.float32).cpu() for t in stats)
            if (
                mean.shape != (data.shape[1],)
                or std.shape != mean.shape
                or not bool((std > 0).all())
            ):
                raise ValueError(
                    f"stats must be (mean, std) of shape ({data.shape[1]},) with std > 0, "
                    f"got shapes {tuple(mean.shape)} and {tuple(std.shape)}"
                )
    data = data.float().contiguous()
    data.sub_(mean).div_(std)
    return Dataset(
        name=key,
        data=data,
        image_shape=shape,
        binary=False,
        standardize=standardize,
        mean=mean,
        std=std,
    )


def _load(name, key, root, split, download, limit, seed, kw):
    try:
        return _LOADERS[key](root, split, download, limit, seed, **kw)
    except TypeError as err:  # an option the loader does not take
        raise ValueError(f"bad options for dataset {name!r}: {err}") from err


__all__ += ["synthetic", "vision"]
