"""Synthetic benchmarks: exact counts and structure."""

import math

import pytest
import torch

from qdoem.data import bars_and_stripes, bernoulli_mixture, cardinality, load_dataset, parity


def test_bars_and_stripes_3x3():
    x = bars_and_stripes(3)
    assert x.shape == (2**3 + 2**3 - 2, 9)
    imgs = x.reshape(-1, 3, 3)
    rows_const = (imgs == imgs[:, :, :1]).all(2).all(1)
    cols_const = (imgs == imgs[:, :1, :]).all(2).all(1)
    assert bool((rows_const | cols_const).all())
    assert torch.unique(x, dim=0).shape[0] == x.shape[0]
    assert bars_and_stripes(2, 4).shape == (2**2 + 2**4 - 2, 8)


def test_parity_and_cardinality():
    x = parity(6)
    assert x.shape == (32, 6) and bool((x.sum(1) % 2 == 0).all())
    assert bool((parity(5, odd=True).sum(1) % 2 == 1).all())
    y = cardinality(8, 3)
    assert y.shape == (math.comb(8, 3), 8) and bool((y.sum(1) == 3).all())
    assert cardinality(6, [1, 5]).shape == (12, 6)
    with pytest.raises(ValueError, match="cardinality k"):
        cardinality(4, 5)


def test_bernoulli_mixture():
    exact = bernoulli_mixture(500, 30, n_modes=8, p=1.0, seed=1)
    assert torch.unique(exact, dim=0).shape[0] <= 8
    noisy = bernoulli_mixture(4000, 30, n_modes=8, p=0.9, seed=1)
    modes = torch.unique(exact, dim=0)
    # each noisy row is ~3 flips from its nearest mode; flip rate ~ 0.1
    dist = torch.cdist(noisy, modes, p=1).min(1).values
    assert 0.07 < float(dist.mean()) / 30 < 0.11
    assert torch.equal(noisy, bernoulli_mixture(4000, 30, n_modes=8, p=0.9, seed=1))
    with pytest.raises(ValueError, match="p must be"):
        bernoulli_mixture(10, 5, p=1.5)


def test_load_dataset_synthetic_and_errors():
    d = load_dataset("bars-and-stripes", rows=4)
    assert d.data.shape == (30, 16) and d.image_shape == (4, 4) and d.binary
    assert load_dataset("parity", n_bits=4, limit=3).data.shape == (3, 4)
    with pytest.raises(ValueError, match="unknown dataset"):
        load_dataset("imagenet")
    with pytest.raises(ValueError, match="bad options"):
        load_dataset("parity", colour=True)
    with pytest.raises(ValueError, match="limit"):
        load_dataset("parity", limit=0)


def test_mixture_test_split_is_drawn_apart_from_train():
    train = load_dataset("bernoulli_mixture", seed=3).data
    test = load_dataset("bernoulli_mixture", seed=3, split="test").data
    assert train.shape == test.shape and not torch.equal(train, test)
    # The same mixture: its pixel means agree within sampling error (1000 x 20 draws).
    assert abs(float(train.mean()) - float(test.mean())) < 0.03


def test_enumerated_sets_are_their_own_test_split():
    for name in ("bars_and_stripes", "parity"):
        assert torch.equal(load_dataset(name).data, load_dataset(name, split="test").data)
