"""Mean field, and AIS with exact kernels (the plain one is refused at Gamma != 0)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from qdoem.layers import BernoulliLayer, QubitLayer
from qdoem.models import QRBM, RBM, LayeredModel
from qdoem.sampling import ais_log_partition, mean_field


def test_mean_field_with_one_hidden_layer_is_the_e_step():
    model = QRBM(5, 3, dtype=torch.float64, gamma_init=0.7, weight_scale=1.0, seed=2)
    v = (torch.rand(6, 5, generator=torch.Generator().manual_seed(0)) < 0.5).double()
    stats = mean_field(model, {0: v}, iterations=1)
    exact = model.e_step(v)[0]
    torch.testing.assert_close(stats[1]["mean"], exact["mean"])
    torch.testing.assert_close(stats[1]["x"], exact["x"])
    assert torch.equal(stats[0]["mean"], v)


def test_mean_field_fixed_point_of_a_deep_model_is_self_consistent():
    layers = [BernoulliLayer(3, "v"), QubitLayer(4, "h1", gamma_init=1.0), BernoulliLayer(2, "h2")]
    model = LayeredModel(layers, dtype=torch.float64, weight_scale=0.5, seed=1)
    v = torch.tensor([[1.0, 0.0, 1.0], [0.0, 0.0, 1.0]], dtype=torch.float64)
    stats = mean_field(model, {0: v}, iterations=50)
    means = [s["mean"] for s in stats]
    for k in (1, 2):
        again = model.conditional(k, model.field(k, means))["mean"]
        torch.testing.assert_close(again, means[k], rtol=0, atol=1e-10)
    with pytest.raises(ValueError, match="clamped"):
        mean_field(model, {})


def test_ais_refuses_the_plain_chain_for_quantum_models_only():
    q = QRBM(8, 3, dtype=torch.float64, gamma_init=1.0, seed=0)
    with pytest.raises(ValueError, match="biased at Gamma != 0"):
        ais_log_partition(q, n_chains=4, n_betas=10, sampler="plain")
    r = RBM(8, 3, dtype=torch.float64, weight_scale=0.5, seed=0)
    res = ais_log_partition(r, n_chains=64, n_betas=200, sampler="plain")
    assert abs(res.log_z - r.exact_log_partition()) < 3 * res.stderr + 0.02


def test_twin_mh_refuses_adjacent_classical_layers():
    from qdoem.estimators import ClosedFormEstimator
    from qdoem.sampling import ChainState, sweep

    layers = [BernoulliLayer(2, "v"), BernoulliLayer(2, "h1"), QubitLayer(2, "h2")]
    model = LayeredModel(layers)
    state = model.chain_state(torch.zeros(3, 2), torch.Generator().manual_seed(0))
    with pytest.raises(ValueError, match="only quantum neighbours"):
        sweep(model, state, "twin-mh", ClosedFormEstimator(), torch.Generator())
    np.testing.assert_equal(state.values[0].numpy(), np.zeros((3, 2)))
    assert isinstance(state, ChainState)
