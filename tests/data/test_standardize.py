"""Standardisation for Gaussian-visible models: train statistics, every split, the inverse."""

from pathlib import Path

import pytest
import torch

from qdoem.data import STD_FLOOR, load_dataset, standardization_stats

SHARED = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
has_mnist = (SHARED / "MNIST" / "raw" / "train-images-idx3-ubyte").is_file()
has_fashion = all(
    (SHARED / "FashionMNIST" / "raw" / f).is_file()
    for f in ("train-images-idx3-ubyte", "t10k-images-idx3-ubyte")
)


def manual_stats(x: torch.Tensor, floor: float = STD_FLOOR):
    x = x.double()
    return x.mean(0), x.std(0, correction=0).clamp_min(floor)


def test_train_split_is_standardised_per_pixel(celeba_root):
    raw = load_dataset("celeba32", root=celeba_root).data
    d = load_dataset("celeba32", root=celeba_root, standardize="pixel")
    assert d.standardize == "pixel" and not d.binary and d.pixel_bits == 1
    assert d.data.shape == raw.shape == (9, 3072) and d.data.dtype == torch.float32
    assert d.mean.shape == d.std.shape == (3072,) and d.image_shape == (3, 32, 32)
    mean, std = manual_stats(raw)
    torch.testing.assert_close(d.mean.double(), mean, rtol=0, atol=1e-6)
    torch.testing.assert_close(d.std.double(), std, rtol=1e-5, atol=0)
    above = std > STD_FLOOR
    assert int(above.sum()) > 3000
    assert float(d.data.double().mean(0).abs().max()) < 1e-5
    z_std = d.data.double().std(0, correction=0)
    torch.testing.assert_close(z_std[above], torch.ones_like(z_std[above]), rtol=1e-4, atol=0)
    # The inverse, before and after clamping (the data are in [0, 1]).
    torch.testing.assert_close(d.data * d.std + d.mean, raw, rtol=0, atol=1e-5)
    torch.testing.assert_close(d.to_images(d.data), raw, rtol=0, atol=1e-5)


def test_other_splits_use_train_statistics(celeba_root):
    train_raw = load_dataset("celeba32", root=celeba_root, split="train").data
    test_raw = load_dataset("celeba32", root=celeba_root, split="test").data
    mean, std = manual_stats(train_raw)
    test = load_dataset("celeba32", root=celeba_root, split="test", standardize="pixel")
    torch.testing.assert_close(
        test.data.double(), (test_raw.double() - mean) / std, rtol=1e-5, atol=1e-4
    )
    own_mean, _ = manual_stats(test_raw)
    assert not torch.allclose(test.mean.double(), own_mean, atol=1e-3)  # not its own
    torch.testing.assert_close(test.to_images(test.data), test_raw, rtol=0, atol=1e-5)
    train = load_dataset("celeba32", root=celeba_root, standardize="pixel")
    assert torch.equal(test.mean, train.mean) and torch.equal(test.std, train.std)
    # Passing the train statistics gives the same rows without reading the train split.
    again = load_dataset(
        "celeba32",
        root=celeba_root,
        split="test",
        standardize="pixel",
        stats=(train.mean, train.std),
    )
    assert torch.equal(again.data, test.data)
    for split in ("valid", "all"):
        other = load_dataset("celeba32", root=celeba_root, split=split, standardize="pixel")
        assert torch.equal(other.mean, train.mean)


def test_limit_keeps_full_train_statistics(celeba_root):
    full = load_dataset("celeba32", root=celeba_root, standardize="pixel")
    few = load_dataset("celeba32", root=celeba_root, standardize="pixel", limit=4)
    assert few.data.shape == (4, 3072)
    assert torch.equal(few.mean, full.mean) and torch.equal(few.std, full.std)
    torch.testing.assert_close(few.data, full.data[:4], rtol=0, atol=0)
    test = load_dataset("celeba32", root=celeba_root, split="test", standardize="pixel", limit=1)
    assert test.data.shape == (1, 3072) and torch.equal(test.mean, full.mean)


def test_per_channel(celeba_root):
    raw = load_dataset("celeba32", root=celeba_root).data
    d = load_dataset("celeba32", root=celeba_root, standardize="channel")
    assert d.standardize == "channel" and d.mean.shape == d.std.shape == (3072,)
    per_channel = raw.double().reshape(9, 3, 1024)
    for c in range(3):
        block = slice(c * 1024, (c + 1) * 1024)
        values = per_channel[:, c]
        assert torch.equal(d.mean[block], d.mean[block][:1].expand(1024))
        assert torch.equal(d.std[block], d.std[block][:1].expand(1024))
        torch.testing.assert_close(float(d.mean[block][0]), float(values.mean()), rtol=0, atol=1e-6)
        torch.testing.assert_close(
            float(d.std[block][0]), float(values.std(correction=0)), rtol=1e-5, atol=0
        )
        z = d.data[:, block].double()
        assert abs(float(z.mean())) < 1e-5 and abs(float(z.std(correction=0)) - 1) < 1e-4
    assert len(set(d.mean.tolist())) == 3
    torch.testing.assert_close(d.to_images(d.data), raw, rtol=0, atol=1e-5)


def test_to_images_clamps_and_follows_the_rows(celeba_root):
    d = load_dataset("celeba32", root=celeba_root, standardize="pixel")
    wild = torch.tensor([[-1e3] * 3072, [1e3] * 3072], dtype=torch.float64)
    out = d.to_images(wild)
    assert out.dtype == torch.float64 and out.shape == (2, 3072)
    assert torch.equal(out[0], torch.zeros(3072, dtype=torch.float64))
    assert torch.equal(out[1], torch.ones(3072, dtype=torch.float64))


def test_stats_floor_and_modes():
    x = torch.rand(50, 2, 3, 4)
    x[:, 0, 0, 0] = 0.25  # a constant pixel
    rows = x.reshape(50, -1)
    mean, std = standardization_stats(rows, "pixel")
    assert float(std[0]) == pytest.approx(STD_FLOOR) and float(mean[0]) == pytest.approx(0.25)
    assert torch.isfinite((rows - mean) / std).all()
    mean, std = standardization_stats(rows, "pixel", floor=0.5)
    assert float(std.min()) == 0.5
    cmean, cstd = standardization_stats(rows, "channel", (2, 3, 4), chunk=7)
    torch.testing.assert_close(cmean[:12], x[:, 0].mean().expand(12))
    torch.testing.assert_close(cstd[12:], x[:, 1].std(correction=0).expand(12))
    gmean, _ = standardization_stats(rows, "channel", (6, 4))  # no channel axis: one channel
    torch.testing.assert_close(gmean, rows.mean().expand(24))
    with pytest.raises(ValueError, match="standardize"):
        standardization_stats(rows, "global")


def test_std_floor_option(celeba_root):
    d = load_dataset("celeba32", root=celeba_root, standardize="pixel", std_floor=0.3)
    assert float(d.std.min()) == pytest.approx(0.3)
    with pytest.raises(ValueError, match="std_floor"):
        load_dataset("celeba32", root=celeba_root, standardize="pixel", std_floor=0)


@pytest.mark.parametrize(
    "name,options",
    [
        ("binarized_mnist", {}),
        ("binarized_fashion_mnist", {}),
        ("mnist8bit", {}),
        ("bars_and_stripes", {}),
        ("celeba32", {"binarize_mode": "threshold"}),
        ("fashion_mnist", {"binarize_mode": "stochastic"}),
    ],
)
def test_refused_on_binary_data(tmp_path, name, options):
    # Refused before any file is read: tmp_path holds no data.
    with pytest.raises(ValueError, match=rf"standardize.*{name}"):
        load_dataset(name, root=tmp_path, standardize="pixel", **options)


def test_bad_standardize_arguments(celeba_root):
    with pytest.raises(ValueError, match="standardize"):
        load_dataset("celeba32", root=celeba_root, standardize="global")
    with pytest.raises(ValueError, match="stats"):
        load_dataset("celeba32", root=celeba_root, stats=(torch.zeros(3072), torch.ones(3072)))
    with pytest.raises(ValueError, match="stats"):
        load_dataset(
            "celeba32",
            root=celeba_root,
            split="test",
            standardize="pixel",
            stats=(torch.zeros(784), torch.ones(784)),
        )


def test_default_is_unchanged(celeba_root):
    d = load_dataset("celeba32", root=celeba_root)
    assert d.standardize is None and d.mean is None and d.std is None


@pytest.mark.skipif(not has_fashion, reason="Fashion-MNIST files not in ../shared/data")
def test_real_fashion_mnist_standardised():
    train_raw = load_dataset("fashion_mnist", root=SHARED).data
    mean, std = manual_stats(train_raw)
    train = load_dataset("fashion_mnist", root=SHARED, standardize="pixel", limit=500)
    assert train.data.shape == (500, 784) and train.image_shape == (28, 28)
    torch.testing.assert_close(train.mean.double(), mean, rtol=0, atol=1e-6)
    torch.testing.assert_close(train.std.double(), std, rtol=1e-5, atol=0)
    test_raw = load_dataset("fashion_mnist", root=SHARED, split="test", limit=300).data
    test = load_dataset("fashion_mnist", root=SHARED, split="test", standardize="pixel", limit=300)
    torch.testing.assert_close(
        test.data.double(), (test_raw.double() - mean) / std, rtol=1e-5, atol=1e-3
    )
    torch.testing.assert_close(test.to_images(test.data), test_raw, rtol=0, atol=1e-5)
    chan = load_dataset("fashion_mnist", root=SHARED, standardize="channel", limit=10)
    assert len(set(chan.mean.tolist())) == 1
    torch.testing.assert_close(
        float(chan.mean[0]), float(train_raw.double().mean()), rtol=0, atol=1e-6
    )


@pytest.mark.skipif(not has_mnist, reason="MNIST files not in ../shared/data")
def test_real_mnist_constant_pixels_hit_the_floor():
    d = load_dataset("mnist", root=SHARED, standardize="pixel", limit=100)
    assert float(d.std[0]) == pytest.approx(STD_FLOOR)  # the corner pixel is always 0
    assert torch.isfinite(d.data).all() and float(d.data[:, 0].abs().max()) == 0.0
