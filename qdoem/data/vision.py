"""Image datasets from torchvision files on disk: MNIST, Fashion-MNIST, CelebA 32x32.

Images come back flattened, as floats in [0, 1] (grey levels) or {0, 1} after binarisation.
Nothing is downloaded unless asked; a missing dataset raises ``FileNotFoundError`` naming the
folder to fill.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
from torch import Tensor

__all__ = ["load_idx_images", "binarize", "to_bits"]

_TORCHVISION = {"mnist": "MNIST", "fashion_mnist": "FashionMNIST"}
_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


def _missing(root: Path, name: str, detail: str) -> FileNotFoundError:
    folder = root / _TORCHVISION.get(name, name) / "raw"
    return FileNotFoundError(
        f"dataset {name!r} not found: fill {folder} with the {detail} files "
        f"(or pass download=True / --download where there is network access)"
    )


def load_idx_images(name: str, root: str | os.PathLike, split: str, download: bool) -> Tensor:
    """uint8 images ``(N, 28, 28)`` of MNIST or Fashion-MNIST via torchvision."""
    import torchvision

    if split not in _FILES:
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    cls = getattr(torchvision.datasets, _TORCHVISION[name])
    try:
        ds = cls(root=os.fspath(root), train=split == "train", download=download)
    except (RuntimeError, OSError) as err:  # torchvision: "Dataset not found", or no network
        raise _missing(Path(root), name, " and ".join(_FILES[split])) from err
    return ds.data


def load_celeba32(root: str | os.PathLike, split: str, download: bool, limit: int | None) -> Tensor:
    """CelebA aligned faces resized to 32x32 RGB, floats ``(N, 3, 32, 32)`` in [0, 1]."""
    import torchvision
    from torchvision.transforms import functional as F

    if split not in ("train", "valid", "test", "all"):
        raise ValueError(f"CelebA split must be train/valid/test/all, got {split!r}")
    try:
        ds = torchvision.datasets.CelebA(root=os.fspath(root), split=split, download=download)
    except (RuntimeError, OSError) as err:
        folder = Path(root) / "celeba"
        raise FileNotFoundError(
            f"dataset 'celeba32' not found: fill {folder} with img_align_celeba/ and the "
            f"list_*.txt files (or pass download=True where there is network access)"
        ) from err
    n = len(ds) if limit is None else min(limit, len(ds))
    out = torch.empty(n, 3, 32, 32)
    for i in range(n):
        img = ds[i][0]
        # Centre-crop the face region (as is common for CelebA) before downsizing.
        img = F.center_crop(img, [140, 140])
        out[i] = F.to_tensor(F.resize(img, [32, 32], antialias=True))
    return out


def binarize(
    x: Tensor, mode: str = "threshold", *, threshold: float = 0.5, seed: int = 0
) -> Tensor:
    """{0,1} images from grey levels in [0, 1]: ``x > threshold``, or ``Bernoulli(x)``."""
    if mode == "threshold":
        return (x > threshold).float()
    if mode == "stochastic":
        gen = torch.Generator().manual_seed(seed)
        return (torch.rand(x.shape, generator=gen) < x).float()
    raise ValueError(f"binarize must be 'threshold' or 'stochastic', got {mode!r}")


def to_bits(images_uint8: Tensor) -> Tensor:
    """8-bit encoding: each uint8 pixel becomes its 8 bits, most significant first.

    ``(N, 28, 28)`` MNIST gives ``(N, 784 * 8) = (N, 6272)`` bits.
    """
    x = images_uint8.reshape(images_uint8.shape[0], -1).to(torch.int64)
    shifts = torch.arange(7, -1, -1)
    return ((x[:, :, None] >> shifts) & 1).reshape(x.shape[0], -1).float()


def from_bits(bits: Tensor) -> Tensor:
    """The inverse of :func:`to_bits`, as grey levels in [0, 1]: ``(N, 8 P)`` bits (most
    significant first) to ``(N, P)`` values ``sum_k 2^(7-k) b_k / 255``."""
    if bits.shape[-1] % 8:
        raise ValueError(f"8-bit data must have a multiple of 8 columns, got {bits.shape[-1]}")
    weights = 2.0 ** torch.arange(7, -1, -1, dtype=torch.float32, device=bits.device)
    return (bits.float().reshape(bits.shape[0], -1, 8) * weights).sum(-1) / 255.0
