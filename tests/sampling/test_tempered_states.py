"""Parallel tempering along the AIS path (``qdoem.sampling.ais.tempered_states``) and reverse
AIS started from its states, against the dense oracle (exact ``p(x_U)`` and ``log Z`` by
enumeration) on tiny deep models, including a two-mode trap that holds chains started at data.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from qdoem.models import DBM, QiDBM
from qdoem.sampling.ais import (
    TemperedStates,
    ais_summed_layers,
    log_trace_out,
    reverse_ais_log_partition,
    tempered_states,
)
from tests.metrics.test_dbm_likelihood import _trap  # the two-mode trap model


def _exact_marginal(model, summed):
    """Exact ``p(x_U)`` over every Z-basis value of the annealed layers (one annealed layer of
    at most a few units), as ``{tuple(bits): probability}``."""
    kept = [k for k in range(len(model.layers)) if k not in summed]
    assert len(kept) == 1, kept  # the trap DBM anneals h1 alone
    k = kept[0]
    rows = torch.tensor(list(itertools.product((0.0, 1.0), repeat=model.layers[k].size)))
    values = [None] * len(model.layers)
    values[k] = rows.double()
    logp = log_trace_out(model, values, summed)
    p = torch.softmax(logp, 0)
    return k, {tuple(int(x) for x in r): float(q) for r, q in zip(rows, p, strict=True)}


def test_tempered_states_sample_the_exact_marginal_of_a_two_mode_trap():
    """The trap DBM anneals h1 (v, h2 traced). Tempering from the uniform base reaches the
    exact p(h1) (total variation). (Along the path from a base with the pixels off, which leads
    forward AIS into the smaller mode, 1000 steps of 20 replicas left half the chains there,
    with every swap rate above 0.6: a first-order transition on the path, which finite
    tempering does not cross; measured, not asserted.)"""
    model = _trap("dbm")
    summed = ais_summed_layers(model)
    k, exact = _exact_marginal(model, summed)
    states = tempered_states(
        model, n_chains=400, n_replicas=20, n_steps=200, generator=torch.Generator().manual_seed(0)
    )
    assert isinstance(states, TemperedStates) and states.summed == summed
    assert states.values[k].shape == (400, 4) and states.min_swap_rate > 0.05
    counts: dict = {}
    for row in states.values[k].round().int().tolist():
        counts[tuple(row)] = counts.get(tuple(row), 0) + 1
    tv = 0.5 * sum(abs(counts.get(s, 0) / 400 - p) for s, p in exact.items())
    assert tv < 0.1, (tv, sorted(exact.items(), key=lambda kv: -kv[1])[:3], counts)
    # The failure it fixes: h1 mostly on for data-started chains, mostly off under the model.
    p_on = sum(p * sum(s) / 4 for s, p in exact.items())
    assert p_on < 0.1, p_on
    assert float(states.values[k].mean()) < 0.1 + 3 * (0.25 / 1600) ** 0.5


@pytest.mark.parametrize("name", ["dbm", "qidbm"])
def test_reverse_ais_from_tempered_states_recovers_log_z_of_the_trap(name):
    """From the base with the pixels off, forward AIS misses the larger mode by ~6 nats
    (tests/metrics); reverse AIS (uniform base) started at tempered states (uniform base) pins
    log Z within its error, while reverse AIS from chains started in the smaller mode (all
    pixels off, 10 sweeps) lands far from it."""
    from qdoem.sampling import ais_log_partition

    model = _trap(name)
    exact = model.exact_log_partition()
    off = torch.full((10,), -4.0, dtype=torch.float64)
    forward = ais_log_partition(
        model, n_chains=50, n_betas=100, base_bias=off, generator=torch.Generator().manual_seed(1)
    )
    assert forward.log_z < exact - 3  # the failure is real
    states = tempered_states(
        model, n_chains=200, n_replicas=20, n_steps=200, generator=torch.Generator().manual_seed(2)
    )
    rev = reverse_ais_log_partition(
        model, states, n_chains=200, n_betas=100, burn_in=10,
        generator=torch.Generator().manual_seed(3),
    )  # fmt: skip
    assert rev.direction == "reverse"
    assert abs(rev.log_z - exact) < 4 * rev.stderr + 0.1, (rev.log_z, rev.stderr, exact)
    stuck = reverse_ais_log_partition(
        model, torch.zeros(20, 10, dtype=torch.float64), n_chains=200, n_betas=100, burn_in=10,
        generator=torch.Generator().manual_seed(3),
    )  # fmt: skip
    assert abs(stuck.log_z - exact) > 1.0, (stuck.log_z, exact)


@pytest.mark.parametrize("quantum", [1, 2])
def test_reverse_ais_from_tempered_states_on_random_tiny_qidbms(quantum):
    """6 x 5 x 4 QiDBM with strong random couplings: pooled reverse AIS from tempered starts
    within its error of the exact log Z."""
    model = QiDBM(6, [5, 4], quantum_layers=[quantum], dtype=torch.float64, seed=4)
    model.load_theta(np.random.default_rng(4).normal(scale=1.5, size=model.theta().size))
    exact = model.exact_log_partition()
    states = tempered_states(
        model, n_chains=300, n_replicas=10, n_steps=100, generator=torch.Generator().manual_seed(5)
    )
    rev = reverse_ais_log_partition(
        model, states, n_chains=300, n_betas=20, burn_in=0,
        generator=torch.Generator().manual_seed(6),
    )  # fmt: skip
    assert abs(rev.log_z - exact) < 4 * rev.stderr + 0.05, (rev.log_z, rev.stderr, exact)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n_chains": 1}, "n_chains must be an int >= 2"),
        ({"n_replicas": 2}, "n_replicas must be an int >= 3"),
        ({"beta_min": 0.0}, "pt_beta_min must be a number in"),
        ({"n_steps": 0}, "n_steps must be a positive int"),
        ({"n_steps": True}, "n_steps must be a positive int"),
    ],
)
def test_tempered_states_refuse_bad_settings(kwargs, message):
    with pytest.raises(ValueError, match=message):
        tempered_states(DBM(3, [2, 2], seed=0), **kwargs)


def test_reverse_ais_refuses_tempered_states_of_another_annealing():
    model = DBM(6, [5, 4], dtype=torch.float64, seed=4)  # anneals h1; (v, h2) traced
    states = tempered_states(model, n_chains=4, n_replicas=3, n_steps=1)
    with pytest.raises(ValueError, match="holds 4 chains"):
        reverse_ais_log_partition(model, states, n_chains=6, n_betas=5)
    with pytest.raises(ValueError, match="outside"):
        reverse_ais_log_partition(model, states, n_chains=4, n_betas=5, summed=(1,))


@pytest.mark.parametrize("name", ["dbm", "qidbm"])
def test_bound_with_tempered_reverse_starts_on_the_trap(name):
    """``dbm_log_likelihood_bound(reverse_start="tempering")``: the reverse check from tempered
    states agrees with the exact log Z, so it flags the data base that missed the larger mode
    and stays silent once the uniform base's forward estimate is kept."""
    from qdoem.metrics import dbm_log_likelihood_bound

    model = _trap(name)
    exact = model.exact_log_partition()
    data = torch.ones(20, 10, dtype=torch.float64)
    off = torch.full((10,), -4.0, dtype=torch.float64)
    options = {"n_chains": 100, "n_betas": 100, "seed": 1, "base_bias": off, "burn_in": 10}
    options |= {"reverse_start": "tempering", "pt_replicas": 20, "pt_steps": 200}
    stuck = dbm_log_likelihood_bound(model, data, base="data", **options)
    assert stuck.reverse_start == "tempering" and len(stuck.pt_swap_rates) == 19
    assert abs(stuck.log_z_reverse - exact) < 4 * stuck.log_z_reverse_stderr + 0.1
    assert any("reverse AIS log Z is" in f and "parallel tempering" in f for f in stuck.flags)
    both = dbm_log_likelihood_bound(model, data, base="both", **options)
    assert abs(both.log_z - exact) < 4 * both.log_z_stderr + 0.05
    assert not any("reverse AIS" in f for f in both.flags), both.flags
    assert "parallel-tempering states" in both.summary()
    with pytest.raises(ValueError, match="reverse_start must be one of"):
        dbm_log_likelihood_bound(model, data, reverse_start="noise", n_chains=4, n_betas=5)
