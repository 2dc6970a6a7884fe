"""Slow end-to-end check on real MNIST (run with ``-m slow``; skipped without the files)."""

from pathlib import Path

import pytest
import torch

from qdoem.data import load_dataset
from qdoem.models import QRBM
from qdoem.training import TrainConfig, Trainer

SHARED = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"


@pytest.mark.slow
@pytest.mark.skipif(not (SHARED / "MNIST" / "raw").is_dir(), reason="MNIST not in ../shared/data")
def test_qrbm_on_mnist_learns_and_ais_is_consistent():
    data = load_dataset("binarized_mnist", root=SHARED, limit=2000).data
    test = load_dataset("binarized_mnist", root=SHARED, split="test", limit=500).data
    model = QRBM(784, 50, seed=0, gamma_init=0.5)
    p = data.double().mean(0).clamp(1e-3, 1 - 1e-3)
    base = torch.log(p / (1 - p))
    opts = {"method": "ais", "n_chains": 32, "n_betas": 300, "base_bias": base}
    before = float(model.log_prob(test, **opts).mean())
    Trainer(model, TrainConfig(epochs=5, batch_size=100, learning_rate=0.05, seed=0)).fit(data)
    z1, e1 = model.log_partition(generator=torch.Generator().manual_seed(1), **opts)
    z2, e2 = model.log_partition(generator=torch.Generator().manual_seed(2), **opts)
    assert abs(z1 - z2) < 3 * (e1**2 + e2**2) ** 0.5 + 0.5
    after = float(model.log_prob(test, log_z=z1).mean())
    assert after > before + 20.0, (before, after)
