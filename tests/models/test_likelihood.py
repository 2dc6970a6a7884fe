"""Exact log-likelihood by enumeration, and AIS against it."""

import math

import pytest
import torch

from qdoem.models import QRBM, RBM
from qdoem.sampling import ais_log_partition
from qdoem.theory import basis_states, state_index


def all_states(n):
    return torch.from_numpy(basis_states(n))


def random_model(cls, n_visible, n_hidden, seed, scale=0.5, **kw):
    model = cls(n_visible, n_hidden, dtype=torch.float64, seed=seed, weight_scale=scale, **kw)
    gen = torch.Generator().manual_seed(seed + 100)
    model.visible_bias.copy_(0.5 * torch.randn(n_visible, generator=gen, dtype=torch.float64))
    model.hidden_bias.copy_(0.5 * torch.randn(n_hidden, generator=gen, dtype=torch.float64))
    return model


@pytest.mark.parametrize("cls,kw", [(QRBM, {"gamma_init": 1.2}), (RBM, {})])
def test_exact_log_prob_sums_to_one(cls, kw):
    model = random_model(cls, 12, 5, seed=1, scale=1.0, **kw)
    total = torch.logsumexp(model.log_prob(all_states(12)), 0)
    assert abs(float(total)) < 1e-10


def test_exact_log_partition_is_chunk_independent():
    model = random_model(QRBM, 10, 4, seed=2)
    assert model.exact_log_partition(chunk=7) == pytest.approx(
        model.exact_log_partition(), abs=1e-10
    )


def test_qrbm_with_zero_gamma_equals_rbm():
    q = random_model(QRBM, 8, 6, seed=3, gamma_init=0.0)
    r = random_model(RBM, 8, 6, seed=3)
    v = all_states(8)
    torch.testing.assert_close(q.log_prob(v), r.log_prob(v), rtol=0, atol=1e-12)
    torch.testing.assert_close(q.transform(v), r.transform(v), rtol=1e-14, atol=1e-15)


@pytest.mark.parametrize("cls,kw", [(QRBM, {"gamma_init": 0.8}), (RBM, {})])
def test_ais_agrees_with_exact_on_20_visible(cls, kw):
    model = random_model(cls, 20, 8, seed=4, scale=0.6, **kw)
    exact, _ = model.log_partition("exact")
    res = ais_log_partition(
        model, n_chains=64, n_betas=300, generator=torch.Generator().manual_seed(0)
    )
    assert res.stderr > 0
    # AIS error bars: 3 standard errors, plus a small allowance for AIS's downward bias.
    assert abs(res.log_z - exact) < 3 * res.stderr + 0.02, (res.log_z, exact, res.stderr)


def test_ais_used_above_24_visible_and_exact_refused():
    model = random_model(RBM, 30, 4, seed=5, scale=0.1)
    with pytest.raises(ValueError, match=r"2\^30 states .* at most 2\^24"):
        model.log_partition("exact")
    log_z, err = model.log_partition("auto", n_chains=16, n_betas=50)
    assert math.isfinite(log_z) and err >= 0


def test_bad_likelihood_arguments():
    model = random_model(RBM, 5, 2, seed=0)
    with pytest.raises(ValueError, match="method"):
        model.log_partition("magic")
    with pytest.raises(ValueError, match="n_chains"):
        ais_log_partition(model, n_chains=1)
    with pytest.raises(ValueError, match="base_bias"):
        ais_log_partition(model, base_bias=torch.zeros(3))


@pytest.mark.parametrize("sampler", ["exact", "twin-mh", "heat-bath"])
def test_ais_transitions_for_quantum_model(sampler):
    model = random_model(QRBM, 16, 6, seed=6, scale=0.5, gamma_init=0.7)
    exact, _ = model.log_partition("exact")
    log_z, se = model.log_partition(
        "ais",
        n_chains=64,
        n_betas=300,
        sampler=sampler,
        generator=torch.Generator().manual_seed(1),
    )
    assert abs(log_z - exact) < 3 * se + 0.02, (log_z, exact, se)


@pytest.mark.parametrize("sampler", ["exact", "twin-mh"])
def test_mh_sampler_targets_quantum_marginal(sampler):
    """The MH-corrected samplers have p(v) as their stationary law, also for Gamma != 0."""
    model = random_model(QRBM, 4, 3, seed=8, scale=1.5, gamma_init=1.5)
    x = model.sample(4000, steps=40, seed=2, sampler=sampler)
    idx = torch.from_numpy(state_index(x))
    freq = torch.bincount(idx, minlength=16).double() / 4000
    exact = model.log_prob(all_states(4)).exp()
    assert float((freq - exact).abs().max()) < 0.03
