"""CelebA 32x32 read from a plain folder of image files: pixels, splits, limit, errors."""

import re

import numpy as np
import PIL.Image
import pytest
import torch

from qdoem.data import load_dataset
from qdoem.data.vision import celeba_files
from tests.data.images import write_images


def test_shapes_values_and_default_split(celeba_root):
    every = load_dataset("celeba32", root=celeba_root, split="all")
    assert every.data.shape == (12, 3 * 32 * 32) and every.data.dtype == torch.float32
    assert every.image_shape == (3, 32, 32) and not every.binary
    assert 0.0 <= float(every.data.min()) and float(every.data.max()) <= 1.0
    assert float(every.data.std()) > 0.05  # real content, not a constant
    # No list_eval_partition.txt: 12 * 8 // 10 = 9 train, 12 // 10 = 1 valid, 2 test, in order.
    parts = {
        s: load_dataset("celeba32", root=celeba_root, split=s).data
        for s in ("train", "valid", "test")
    }
    assert [len(parts[s]) for s in ("train", "valid", "test")] == [9, 1, 2]
    torch.testing.assert_close(
        torch.cat([parts["train"], parts["valid"], parts["test"]]), every.data, rtol=0, atol=0
    )
    assert every.to_images(every.data) is every.data


def test_pixels_are_centre_crop_then_resize(celeba_root):
    """Row k is file k (name order) centre-cropped to 140x140 and resized to 32x32 RGB."""
    data = load_dataset("celeba32", root=celeba_root, split="all").data
    files = sorted((celeba_root / "celeba" / "img_align_celeba").iterdir())
    for k in (0, 3, 5):  # a 178x218 RGB jpg, a greyscale png, a 250x300 jpeg
        with PIL.Image.open(files[k]) as img:
            w, h = img.size
            left, top = round((w - 140) / 2), round((h - 140) / 2)
            face = img.convert("RGB").crop((left, top, left + 140, top + 140))
            small = np.asarray(face.resize((32, 32), PIL.Image.BILINEAR), dtype=np.float32)
        want = torch.from_numpy(small / 255.0).permute(2, 0, 1).reshape(-1)
        torch.testing.assert_close(data[k], want, rtol=0, atol=1e-6)
    grey = data[3].reshape(3, 32, 32)
    assert torch.equal(grey[0], grey[1]) and torch.equal(grey[1], grey[2])
    # The 100x120 image is zero-padded to 140x140 before resizing: black borders.
    small = data[4].reshape(3, 32, 32)
    assert float(small[:, :, :2].abs().max()) == 0.0


def test_limit_decodes_only_what_it_keeps(celeba_root, monkeypatch):
    opened = []
    real_open = PIL.Image.open

    def counting_open(fp, *args, **kwargs):
        opened.append(str(fp))
        return real_open(fp, *args, **kwargs)

    monkeypatch.setattr(PIL.Image, "open", counting_open)
    d = load_dataset("celeba32", root=celeba_root, split="train", limit=3)
    assert d.data.shape == (3, 3072) and len(opened) == 3
    full = load_dataset("celeba32", root=celeba_root, split="train")
    torch.testing.assert_close(d.data, full.data[:3], rtol=0, atol=0)
    assert load_dataset("celeba32", root=celeba_root, split="test", limit=50).data.shape[0] == 2


def test_partition_file_is_used_when_present(celeba_root):
    folder = celeba_root / "celeba" / "img_align_celeba"
    names = sorted(p.name for p in folder.iterdir())
    codes = [i % 3 for i in range(len(names))]
    # One extra listed file that is not in the folder, as when only part of CelebA is copied.
    lines = [f"{n} {c}" for n, c in zip(names, codes, strict=True)] + ["999999.jpg 0"]
    (celeba_root / "celeba" / "list_eval_partition.txt").write_text("\n".join(lines) + "\n")
    every = load_dataset("celeba32", root=celeba_root, split="all").data
    for split, code in (("train", 0), ("valid", 1), ("test", 2)):
        got = load_dataset("celeba32", root=celeba_root, split=split).data
        want = every[[i for i, c in enumerate(codes) if c == code]]
        torch.testing.assert_close(got, want, rtol=0, atol=0)
    assert [p.name for p in celeba_files(celeba_root, "valid")] == names[1::3]


def test_files_are_filtered_and_sorted(celeba_root):
    folder = celeba_root / "celeba" / "img_align_celeba"
    (folder / "notes.txt").write_text("not an image")
    (folder / "000000.JPG").write_bytes((folder / "000001.jpg").read_bytes())
    files = celeba_files(celeba_root, "all")
    assert [p.name for p in files] == sorted(p.name for p in files) and len(files) == 13
    assert files[0].name == "000000.JPG"


def test_missing_folder_names_it(tmp_path):
    folder = tmp_path / "celeba" / "img_align_celeba"
    with pytest.raises(FileNotFoundError, match=re.escape(str(folder))):
        load_dataset("celeba32", root=tmp_path)


def test_folder_without_images_names_it(tmp_path):
    folder = tmp_path / "celeba" / "img_align_celeba"
    folder.mkdir(parents=True)
    (folder / "readme.txt").write_text("no images here")
    with pytest.raises(FileNotFoundError, match=re.escape(str(folder))):
        load_dataset("celeba32", root=tmp_path, split="all")


def test_empty_split_names_folder(tmp_path):
    folder = tmp_path / "celeba" / "img_align_celeba"
    write_images(folder, [(60, 60, "RGB", ".png")] * 5)  # 4 train, 0 valid, 1 test
    assert load_dataset("celeba32", root=tmp_path, split="train").data.shape == (4, 3072)
    assert load_dataset("celeba32", root=tmp_path, split="test").data.shape == (1, 3072)
    with pytest.raises(FileNotFoundError, match=re.escape(str(folder))):
        load_dataset("celeba32", root=tmp_path, split="valid")


def test_bad_split(celeba_root):
    with pytest.raises(ValueError, match="split"):
        load_dataset("celeba32", root=celeba_root, split="validation")
