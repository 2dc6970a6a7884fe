"""Image datasets: encodings, the missing-data message, and the real files when present."""

from pathlib import Path

import pytest
import torch

from qdoem.data import binarize, from_bits, load_dataset, to_bits

SHARED = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
has_mnist = (SHARED / "MNIST" / "raw" / "train-images-idx3-ubyte").is_file()
has_fashion = (SHARED / "FashionMNIST" / "raw" / "t10k-images-idx3-ubyte").is_file()


def test_to_bits_roundtrip():
    x = torch.tensor([[[0, 1], [128, 255]]], dtype=torch.uint8)
    bits = to_bits(x)
    assert bits.shape == (1, 32)
    weights = 2 ** torch.arange(7, -1, -1)
    values = (bits.reshape(1, 4, 8) * weights).sum(-1)
    assert values.tolist() == [[0, 1, 128, 255]]
    assert (from_bits(bits) * 255).round().tolist() == [[0, 1, 128, 255]]


def test_binarize():
    x = torch.tensor([[0.2, 0.5, 0.51, 1.0]])
    assert binarize(x).tolist() == [[0, 0, 1, 1]]
    s = binarize(torch.full((1000, 10), 0.3), "stochastic", seed=1)
    assert 0.25 < float(s.mean()) < 0.35 and set(s.unique().tolist()) <= {0.0, 1.0}
    with pytest.raises(ValueError, match="binarize"):
        binarize(x, "otsu")


@pytest.mark.parametrize(
    "name,folder", [("binarized_mnist", "MNIST"), ("fashion_mnist", "FashionMNIST")]
)
def test_missing_dataset_names_folder(tmp_path, name, folder):
    with pytest.raises(FileNotFoundError, match=str(tmp_path / folder / "raw")):
        load_dataset(name, root=tmp_path)


def test_missing_celeba_names_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="celeba"):
        load_dataset("celeba32", root=tmp_path)


@pytest.mark.skipif(not has_mnist, reason="MNIST files not in ../shared/data")
def test_real_mnist_variants():
    grey = load_dataset("mnist", root=SHARED, split="test", limit=100)
    assert grey.data.shape == (100, 784) and not grey.binary
    assert 0.0 <= float(grey.data.min()) and float(grey.data.max()) <= 1.0
    binary = load_dataset("binarized_mnist", root=SHARED, split="test", limit=100)
    assert torch.equal(binary.data, (grey.data > 0.5).float())
    bits = load_dataset("mnist8bit", root=SHARED, split="test", limit=10)
    assert bits.data.shape == (10, 6272)
    back = (bits.data.reshape(10, 784, 8) * 2 ** torch.arange(7, -1, -1)).sum(-1) / 255.0
    torch.testing.assert_close(back, grey.data[:10])
    assert bits.pixel_bits == 8 and bits.image_shape == (28, 28)
    torch.testing.assert_close(bits.to_images(bits.data), grey.data[:10])
    assert binary.to_images(binary.data) is binary.data
    assert load_dataset("binarized_mnist", root=SHARED).data.shape == (60000, 784)


@pytest.mark.skipif(not has_mnist, reason="MNIST files not in ../shared/data")
def test_stochastic_binarization_draws_each_split_its_own_noise():
    # Salakhutdinov & Murray's binarized MNIST: one Bernoulli draw per pixel, fixed by the seed.
    # The train split keeps the seed's draws; the test split must not reuse them row by row.
    def load(split):
        kw = dict(root=SHARED, split=split, limit=200, seed=3)
        binary = load_dataset("binarized_mnist", binarize_mode="stochastic", **kw)
        return binary.data, load_dataset("mnist", **kw).data

    train, train_grey = load("train")
    test, test_grey = load("test")
    assert torch.equal(train, binarize(train_grey, "stochastic", seed=3))
    assert not torch.equal(test, binarize(test_grey, "stochastic", seed=3))
    assert torch.equal(test, load("test")[0])  # reproducible
    # a Bernoulli draw of the grey levels: mean and the pixels that are never on
    assert abs(float(test.mean() - test_grey.mean())) < 0.005
    assert float(test[test_grey == 0].sum()) == 0.0


@pytest.mark.skipif(not has_mnist, reason="MNIST files not in ../shared/data")
def test_binarize_seed_fixes_the_data_across_run_seeds():
    def load(seed, **kw):
        opts = dict(root=SHARED, split="test", limit=50, binarize_mode="stochastic")
        return load_dataset("binarized_mnist", seed=seed, **opts, **kw).data

    assert torch.equal(load(0, binarize_seed=7), load(1, binarize_seed=7))
    assert torch.equal(load(7), load(1, binarize_seed=7))
    assert not torch.equal(load(0), load(1))
    with pytest.raises(ValueError, match="binarize_seed"):
        load(0, binarize_seed=-1)


@pytest.mark.skipif(not has_fashion, reason="Fashion-MNIST files not in ../shared/data")
def test_real_fashion_mnist():
    d = load_dataset("binarized_fashion_mnist", root=SHARED, split="test")
    assert d.data.shape == (10000, 784) and d.binary


def test_truncated_files_are_named_not_missing(tmp_path):
    """Files that are there but cut short: a DataError naming the folder and sizes, not the
    'not found' message."""
    import struct

    from qdoem.errors import DataError

    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    (raw / "train-images-idx3-ubyte").write_bytes(
        struct.pack(">4i", 2051, 60000, 28, 28) + b"\0" * 99
    )
    (raw / "train-labels-idx1-ubyte").write_bytes(struct.pack(">2i", 2049, 60000) + b"\0" * 60000)
    with pytest.raises(DataError, match=r"MNIST/raw are there but unreadable.*115 bytes"):
        load_dataset("mnist", root=tmp_path)


@pytest.mark.parametrize("name", ["mnist", "bars_and_stripes", "celeba32"])
def test_unknown_split_is_refused(tmp_path, name):
    from qdoem.errors import DataError

    with pytest.raises(DataError, match=f"dataset '{name}' has no split 'tset'"):
        load_dataset(name, root=tmp_path, split="tset")
