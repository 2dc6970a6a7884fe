"""Image datasets from files on disk: MNIST, Fashion-MNIST, CelebA 32x32, and standardisation.

Images come back flattened, as floats in [0, 1] (grey levels) or {0, 1} after binarisation.
MNIST and Fashion-MNIST are read through torchvision; CelebA straight from a folder of image
files (:func:`celeba_files`). Nothing is downloaded unless asked; a missing dataset raises
``FileNotFoundError`` naming the folder to fill. :func:`standardization_stats` gives the
per-pixel or per-channel mean and std that Gaussian-visible models train on.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
from torch import Tensor

from qdoem.errors import DataError

__all__ = [
    "CELEBA_SPLITS",
    "STD_FLOOR",
    "binarize",
    "celeba_files",
    "from_bits",
    "load_celeba32",
    "load_idx_images",
    "load_idx_labels",
    "standardization_stats",
    "to_bits",
]

_TORCHVISION = {"mnist": "MNIST", "fashion_mnist": "FashionMNIST"}
_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}

#: Floor on the standard deviations of :func:`standardization_stats`, in pixel units ([0, 1]),
#: so constant pixels (the blank borders of MNIST) are divided by it, not by 0.
STD_FLOOR = 1e-3

CELEBA_SPLITS = ("train", "valid", "test", "all")
_CELEBA_CODES = {"train": "0", "valid": "1", "test": "2"}  # list_eval_partition.txt
#: The full aligned CelebA (202599 files): the official partition by index in name order.
_CELEBA_OFFICIAL = {202599: (162770, 19867)}
_IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png"})


def _missing(root: Path, name: str, detail: str) -> FileNotFoundError:
    folder = root / _TORCHVISION.get(name, name) / "raw"
    return FileNotFoundError(
        f"dataset {name!r} not found: fill {folder} with the {detail} files "
        f"(or pass download=True / --download where there is network access)"
    )


def _idx_dataset(name: str, root: str | os.PathLike, split: str, download: bool):
    import torchvision

    if split not in _FILES:
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    cls = getattr(torchvision.datasets, _TORCHVISION[name])
    folder = Path(root) / _TORCHVISION[name] / "raw"
    present = all((folder / f).is_file() for f in _FILES[split])
    try:
        return cls(root=os.fspath(root), train=split == "train", download=download)
    except (RuntimeError, OSError, ValueError) as err:
        if present:  # the files are there but torchvision cannot parse them
            sizes = ", ".join(f"{f} {(folder / f).stat().st_size} bytes" for f in _FILES[split])
            raise DataError(
                f"dataset {name!r} ({split} split): the files in {folder} are there but "
                f"unreadable, probably truncated or corrupt ({sizes}; {err}); replace them"
            ) from err
        raise _missing(Path(root), name, " and ".join(_FILES[split])) from err  # or no network


def load_idx_images(name: str, root: str | os.PathLike, split: str, download: bool) -> Tensor:
    """uint8 images ``(N, 28, 28)`` of MNIST or Fashion-MNIST via torchvision."""
    return _idx_dataset(name, root, split, download).data


def load_idx_labels(name: str, root: str | os.PathLike, split: str, download: bool) -> Tensor:
    """int64 class labels ``(N,)`` of MNIST or Fashion-MNIST, in the order of
    :func:`load_idx_images` (so the first ``limit`` rows of a dataset have the first ``limit``
    labels)."""
    return _idx_dataset(name, root, split, download).targets.long()


def _image_files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    with os.scandir(folder) as entries:
        names = [
            e.name
            for e in entries
            if os.path.splitext(e.name)[1].lower() in _IMAGE_SUFFIXES and e.is_file()
        ]
    return [folder / name for name in sorted(names)]


def celeba_files(root: str | os.PathLike, split: str, download: bool = False) -> list[Path]:
    """The image files of one CelebA split, sorted by file name.

    Parameters
    ----------
    root : path
        Holds ``celeba/img_align_celeba/`` with the images (``.jpg``, ``.jpeg``, ``.png``), as in
        the torchvision layout; the torchvision ``list_*.txt`` files are not needed.
    split : str
        ``"train"``, ``"valid"``, ``"test"`` or ``"all"``. With ``celeba/list_eval_partition.txt``
        present, a split is the folder's files that it lists with code 0 (train), 1 (valid) or
        2 (test), as in torchvision; files it does not list are only in ``"all"``. Without it,
        the sorted files are cut by index: for the full 202599-file CelebA, the official
        ranges (first 162770 train, next 19867 valid, rest test); for any other count ``n``,
        the first ``n * 8 // 10`` train, the next ``n // 10`` valid, the rest test.
    download : bool
        When the folder holds no images, let torchvision download CelebA first.

    Raises
    ------
    FileNotFoundError
        The folder is missing, holds no images, or none of the split; the message names it.
    """
    if split not in CELEBA_SPLITS:
        raise ValueError(f"CelebA split must be train/valid/test/all, got {split!r}")
    folder = Path(root) / "celeba" / "img_align_celeba"
    files = _image_files(folder)
    if not files and download:
        import torchvision

        try:
            torchvision.datasets.CelebA(root=os.fspath(root), split="all", download=True)
        except (RuntimeError, OSError):
            pass  # reported below, naming the folder
        files = _image_files(folder)
    if not files:
        raise FileNotFoundError(
            f"dataset 'celeba32' not found: fill {folder} with the aligned CelebA images "
            f"(.jpg/.png files; or pass download=True where there is network access)"
        )
    if split == "all":
        return files
    partition = folder.parent / "list_eval_partition.txt"
    if partition.is_file():
        code = _CELEBA_CODES[split]
        wanted = set()
        for line in partition.read_text().splitlines():
            fields = line.split()
            if len(fields) == 2 and fields[1] == code:
                wanted.add(fields[0])
        chosen = [f for f in files if f.name in wanted]
        rule = f"as listed in {partition}"
    else:
        n = len(files)
        n_train, n_valid = _CELEBA_OFFICIAL.get(n, (n * 8 // 10, n // 10))
        bounds = {"train": (0, n_train), "valid": (n_train, n_train + n_valid)}
        lo, hi = bounds.get(split, (n_train + n_valid, n))
        chosen = files[lo:hi]
        rule = f"{n_train}/{n_valid}/{n - n_train - n_valid} of the {n} sorted files"
    if not chosen:
        raise FileNotFoundError(
            f"dataset 'celeba32': no {split!r} images in {folder} ({rule}); add images there"
        )
    return chosen


def load_celeba32(root: str | os.PathLike, split: str, download: bool, limit: int | None) -> Tensor:
    """CelebA faces resized to 32x32 RGB, floats ``(N, 3, 32, 32)`` in [0, 1].

    Reads the first ``limit`` files of :func:`celeba_files` (and decodes no others), each
    centre-cropped to 140x140 (smaller images are zero-padded) and resized to 32x32.
    """
    from PIL import Image
    from torchvision.transforms import functional as F

    files = celeba_files(root, split, download)
    if limit is not None:
        files = files[:limit]
    out = torch.empty(len(files), 3, 32, 32)
    for i, path in enumerate(files):
        with Image.open(path) as img:
            # Centre-crop the face region (as is common for CelebA) before downsizing.
            face = F.center_crop(img.convert("RGB"), [140, 140])
            out[i] = F.to_tensor(F.resize(face, [32, 32], antialias=True))
    return out


def standardization_stats(
    x: Tensor,
    mode: str = "pixel",
    image_shape: tuple[int, ...] | None = None,
    *,
    floor: float = STD_FLOOR,
    chunk: int = 4096,
) -> tuple[Tensor, Tensor]:
    """Mean and standard deviation of the columns of ``x`` for standardising it.

    Parameters
    ----------
    x : Tensor
        ``(n_samples, n_visible)`` rows, e.g. pixel values in [0, 1].
    mode : str
        ``"pixel"``: one mean and std per column. ``"channel"``: one per image channel, over
        all samples and that channel's pixels; ``image_shape`` ``(C, H, W)`` has ``C`` channels
        (columns in channel-major order), ``(H, W)`` or None one.
    image_shape : tuple of int, optional
    floor : float
        Lower bound on the std (default :data:`STD_FLOOR`).
    chunk : int
        Rows converted to float64 at a time (the sums are float64).

    Returns
    -------
    mean, std : Tensor
        float32 ``(n_visible,)`` each, per-channel values repeated over the channel's pixels;
        ``std`` is the population std (divisor ``n``), at least ``floor``.
    """
    if mode not in ("pixel", "channel"):
        raise ValueError(f"standardize must be 'pixel' or 'channel', got {mode!r}")
    if x.ndim != 2 or x.shape[0] < 1:
        raise ValueError(f"need (n_samples, n_visible) rows, got shape {tuple(x.shape)}")
    if not floor > 0:
        raise ValueError(f"std floor must be positive, got {floor}")
    n, d = x.shape
    if mode == "pixel":
        channels = d
    else:  # (C, H, W) images have C channels, grey (H, W) images and bit strings one
        channels = image_shape[0] if image_shape is not None and len(image_shape) == 3 else 1
    if d % channels:
        raise ValueError(f"{d} columns do not split into {channels} channels")
    per = d // channels
    count = n * per
    total = torch.zeros(channels, dtype=torch.float64, device=x.device)
    for i in range(0, n, chunk):
        total += x[i : i + chunk].double().reshape(-1, channels, per).sum((0, 2))
    mean = total / count
    squares = torch.zeros_like(total)
    for i in range(0, n, chunk):
        centred = x[i : i + chunk].double().reshape(-1, channels, per) - mean[:, None]
        squares += centred.square().sum((0, 2))
    std = (squares / count).sqrt().clamp_min(floor)
    return mean.float().repeat_interleave(per), std.float().repeat_interleave(per)


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
