"""Parallel tempering (qdoem.sampling.tempering): exact stationarity against the dense oracle.

The target of PT with replicas at ``beta_1 = 1 > ... > beta_R`` is the product
``pi = prod_k p_{beta_k}(v_k)``, each factor taken here from the *dense* Gibbs state of the
tempered model (``exp(-beta H)`` by matrix exponential, summed over the hidden qubits), not from
the code's closed forms. Two checks:

1. Exact: one PT step's transition on the joint visible state of three replicas (4096 states
   for a 4+3 QRBM) is assembled from the per-replica one-sweep kernels (the transition
   matrices of :mod:`qdoem.sampling.transition`, marginalised to ``v``) and the swap moves with
   the code's own acceptance ``swap_log_ratio``; ``pi P = pi`` must hold to rounding for both
   parities. A swap rule that is wrong (one-sided ratio, the betas the wrong way round, fields
   not rescaled) breaks this by orders of magnitude more than rounding: the test of that is
   below, with the rule replaced.
2. Empirical: many chains started from ``pi`` and advanced by the code's random draws
   (:meth:`ParallelTempering.advance`) must still follow ``pi``, per replica and jointly for
   neighbouring pairs, by chi-square tests.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import stats

from qdoem.estimators import ClosedFormEstimator
from qdoem.models import QRBM, RBM
from qdoem.sampling import ChainState
from qdoem.sampling.tempering import ParallelTempering, temperature_ladder
from qdoem.sampling.transition import transition_matrix
from qdoem.theory import gibbs_state, state_index

BETAS = (1.0, 0.6, 0.3)


def _qrbm(gamma: float, seed: int = 0, scale: float = 1.2):
    """A 4+3 QRBM with order-1 parameters (sharp enough that the replicas' laws differ)."""
    model = QRBM(4, 3, dtype=torch.float64, gamma_init=gamma)
    rng = np.random.default_rng(seed)
    model.load_theta(rng.normal(scale=scale, size=model.theta().size))
    for g in model.transverse_fields().values():
        g.fill_(gamma)
    return model


def _dense_marginal(model, beta: float) -> np.ndarray:
    """``p_beta(v)`` from the dense state ``exp(-beta H) / Z`` (visible bits first)."""
    family = model.hamiltonian_family()
    diag = np.real(np.diag(gibbs_state(beta * family.hamiltonian(model.theta()))))
    n_v, n_h = model.layer_sizes
    return diag.reshape(2**n_v, 2**n_h).sum(1)


def _visible_kernel(tempered) -> np.ndarray:
    """The one-sweep kernel on ``v`` (the sweep redraws ``h`` from ``v`` first)."""
    t, _ = transition_matrix(tempered, "exact")
    n_v, n_h = tempered.layer_sizes
    t = t.reshape(2**n_v, 2**n_h, 2**n_v, 2**n_h)
    rows = t.sum(3)  # (v, h, v')
    assert np.allclose(rows, rows[:, :1, :], atol=1e-14)  # independent of the old h
    return rows[:, 0, :]


def _joint_visible_states(n_v: int, n_rep: int) -> list[torch.Tensor]:
    """All joint states, replica 0 the most significant: one ``(16^R, n_v)`` tensor per
    replica."""
    bits = torch.tensor(
        [[(i >> (n_v - 1 - b)) & 1 for b in range(n_v)] for i in range(2**n_v)],
        dtype=torch.float64,
    )
    idx = np.indices((2**n_v,) * n_rep).reshape(n_rep, -1)
    return [bits[torch.from_numpy(idx[k])] for k in range(n_rep)]


def _pt_step_residual(model, betas, parity: int, log_ratio=None) -> float:
    """``|pi P - pi|_1`` for one PT step (sweeps on every replica, then the swaps of
    ``parity``), ``pi`` from the dense oracle and the swaps from the code's acceptance."""
    n_v = model.layer_sizes[0]
    n_rep = len(betas)
    pt = ParallelTempering(betas)
    models = pt.replicas(model)
    pis = [_dense_marginal(model, b) for b in betas]
    pi = pis[0]
    for p in pis[1:]:
        pi = np.multiply.outer(pi, p)
    # Sweeps: the product of the replicas' kernels, applied axis by axis.
    out = pi
    for k, m in enumerate(models):
        out = np.moveaxis(np.tensordot(out, _visible_kernel(m), axes=([k], [0])), -1, k)
    # Swaps of this parity, with the code's acceptance at every joint state.
    values = _joint_visible_states(n_v, n_rep)
    states = [ChainState([v, None]) for v in values]
    fields = [st.field(m, 1) for st, m in zip(states, models, strict=True)]
    flat = out.reshape(-1)
    shape = (2**n_v,) * n_rep
    for i in range(parity, n_rep - 1, 2):
        ratio = (log_ratio or pt.swap_log_ratio)(models, i, states[i], states[i + 1], fields)
        alpha = np.minimum(1.0, np.exp(ratio.numpy()))
        idx = np.indices(shape).reshape(n_rep, -1)
        swapped = idx.copy()
        swapped[[i, i + 1]] = idx[[i + 1, i]]
        target = np.ravel_multi_index(tuple(swapped), shape)
        new = flat * (1.0 - alpha)
        np.add.at(new, target, flat * alpha)
        flat = new
    return float(np.abs(flat - pi.reshape(-1)).sum())


@pytest.mark.parametrize("gamma", [0.5, 1.0])
@pytest.mark.parametrize("parity", [0, 1])
def test_pt_step_leaves_the_product_of_tempered_laws_invariant(gamma, parity):
    model = _qrbm(gamma)
    assert _pt_step_residual(model, BETAS, parity) < 1e-12


def _one_sided(pt):
    """A wrong rule: replica i's ratio only, ``p*_i(v_j) / p*_i(v_i)``."""

    from qdoem.sampling.ais import log_trace_out

    def ratio(models, i, si, sj, fields):
        b = pt.betas

        def log_p(k, v, f):
            return log_trace_out(models[k], [v, None], (1,), fields={1: f})

        return log_p(i, sj.values[0], fields[i + 1] * (b[i] / b[i + 1])) - log_p(
            i, si.values[0], fields[i]
        )

    return ratio


def _reversed_betas(pt):
    """A wrong rule: the correct form with the two replicas' models exchanged."""

    def ratio(models, i, si, sj, fields):
        return -pt.swap_log_ratio(models, i, si, sj, fields)

    return ratio


def _unscaled_fields(pt):
    """A wrong rule: the cross terms use the other replica's field without rescaling."""
    from qdoem.sampling.ais import log_trace_out

    def ratio(models, i, si, sj, fields):
        def log_p(k, v, f):
            return log_trace_out(models[k], [v, None], (1,), fields={1: f})

        vi, vj = si.values[0], sj.values[0]
        cross = log_p(i, vj, fields[i + 1]) + log_p(i + 1, vi, fields[i])
        return cross - log_p(i, vi, fields[i]) - log_p(i + 1, vj, fields[i + 1])

    return ratio


@pytest.mark.parametrize("wrong", [_one_sided, _reversed_betas, _unscaled_fields])
def test_the_oracle_detects_a_wrong_swap_rule(wrong):
    """The check above has power: each wrong rule leaves a residual far above rounding."""
    model = _qrbm(1.0)
    pt = ParallelTempering(BETAS)
    residual = _pt_step_residual(model, BETAS, 0, log_ratio=wrong(pt))
    assert residual > 1e-3, residual


def _chi_square_pvalue(observed: np.ndarray, expected: np.ndarray) -> float:
    small = expected < 5
    obs = np.append(observed[~small], observed[small].sum())
    exp = np.append(expected[~small], expected[small].sum())
    keep = exp > 0
    return float(stats.chisquare(obs[keep], exp[keep] * obs.sum() / exp[keep].sum()).pvalue)


def _draw(p: np.ndarray, n: int, n_v: int, rng) -> torch.Tensor:
    idx = rng.choice(p.size, size=n, p=p / p.sum())
    bits = (idx[:, None] >> np.arange(n_v - 1, -1, -1)) & 1
    return torch.from_numpy(bits.astype(np.float64))


@pytest.mark.parametrize("gamma", [0.5, 1.0])
def test_pt_chains_started_at_the_target_stay_there(gamma):
    """The code's random PT steps, from ``pi``: every replica's law and the joint law of
    neighbours stay the dense oracle's (chi-square); the beta = 1 replica's is ``p(v)``."""
    model = _qrbm(gamma)
    n, n_v = 100_000, 4
    rng = np.random.default_rng(1)
    pis = [_dense_marginal(model, b) for b in BETAS]
    pt = ParallelTempering(BETAS)
    pt.start(ChainState([_draw(pis[0], n, n_v, rng), None]))
    for k in range(1, len(BETAS)):
        pt.states_[k].values[0] = _draw(pis[k], n, n_v, rng)
    gen = torch.Generator().manual_seed(2)
    for _ in range(3):  # both parities
        pt.advance(model, ClosedFormEstimator(), gen)
    idx = [state_index(s.values[0].numpy()) for s in pt.states_]
    for k, p in enumerate(pis):
        assert _chi_square_pvalue(np.bincount(idx[k], minlength=16), n * p) > 1e-4, k
    for k in range(len(BETAS) - 1):
        joint = np.bincount(idx[k] * 16 + idx[k + 1], minlength=256)
        assert _chi_square_pvalue(joint, n * np.outer(pis[k], pis[k + 1]).ravel()) > 1e-4, k
    rates = pt.take_rates()["pt_swap_rates"]
    assert all(0.05 < r < 0.99 for r in rates), rates  # swaps happen, and are refused too
    # The cached hidden field of each replica is the one at its (swapped) visible values.
    for m, state in zip(pt.replicas(model), pt.states_, strict=True):
        expected = m.field(1, [state.values[0], None])
        torch.testing.assert_close(state.fields[1], expected, rtol=1e-12, atol=1e-12)


def test_always_swapping_would_be_detected_by_the_chi_square():
    """Power of the empirical test: exchanging replicas 1 and 2 outright moves replica 1's law
    to ``p_0.6``, which the chi-square rejects at this sample size."""
    model = _qrbm(1.0)
    n, n_v = 100_000, 4
    rng = np.random.default_rng(3)
    p1, p2 = _dense_marginal(model, 1.0), _dense_marginal(model, 0.6)
    swapped = state_index(_draw(p2, n, n_v, rng).numpy())
    assert _chi_square_pvalue(np.bincount(swapped, minlength=16), n * p1) < 1e-10


def test_tempered_replica_keeps_precision_and_scales_every_parameter():
    model = QRBM(6, 4, gamma_init=0.7, visible_matmul="sparse", seed=0, weight_scale=0.5)
    hot = model.tempered(0.5, keep_precision=True)
    assert hot.dtype == torch.float32 and hot.visible_matmul == "sparse"
    assert hot.couplings[0].sparse
    for name, t in model.parameters().items():
        torch.testing.assert_close(hot.parameters()[name], 0.5 * t)
    exact = model.tempered(0.5)
    assert exact.dtype == torch.float64
    for name, t in exact.parameters().items():
        torch.testing.assert_close(hot.parameters()[name].double(), t)
    # The replica's marginal is that of exp(-beta H): the dense oracle at beta.
    small = _qrbm(0.8)
    v = _joint_visible_states(4, 1)[0]
    log_p = small.tempered(0.6, keep_precision=True).unnormalized_log_prob(v).numpy()
    p = np.exp(log_p - log_p.max())
    np.testing.assert_allclose(p / p.sum(), _dense_marginal(small, 0.6), atol=1e-12)


def test_ladders_and_bad_values():
    assert temperature_ladder(1, 0.5) == (1.0,)
    geo = temperature_ladder(3, 0.25)
    assert geo == pytest.approx((1.0, 0.5, 0.25))
    assert temperature_ladder(3, 0.5, "linear") == pytest.approx((1.0, 0.75, 0.5))
    for args, match in [
        ((0, 0.5), "pt_replicas"),
        ((2.0, 0.5), "pt_replicas"),
        ((3, 1.0), "pt_beta_min"),
        ((3, 0.0), "pt_beta_min"),
        ((3, float("nan")), "pt_beta_min"),
        ((3, 0.5, "cubic"), "pt_ladder"),
    ]:
        with pytest.raises(ValueError, match=match):
            temperature_ladder(*args)
    for betas in [(0.9, 0.5), (1.0, 1.0), (1.0, 0.5, 0.7), (1.0, -0.1), ()]:
        with pytest.raises(ValueError, match="betas must start at 1"):
            ParallelTempering(betas)
    with pytest.raises(ValueError, match="sampler"):
        ParallelTempering((1.0, 0.5), sampler="gibbs")
    pt = ParallelTempering((1.0, 0.5))
    with pytest.raises(ValueError, match="start"):
        pt.advance(RBM(4, 2), ClosedFormEstimator(), torch.Generator())


@pytest.mark.parametrize("family", ["qrbm", "rbm", "qgrbm", "grbm"])
def test_swap_ratio_equals_the_tempered_models_own_marginals(family):
    """The swap ratio's shortcut (one visible state's hidden field at another beta is the
    field times the ratio of the betas) against each tempered model's ``unnormalized_log_prob``,
    for {0,1} and Gaussian visible units (whose own term is not tempered)."""
    from qdoem.models import GRBM, QGRBM

    cls = {"qrbm": QRBM, "rbm": RBM, "qgrbm": QGRBM, "grbm": GRBM}[family]
    extra = {"gamma_init": 0.9} if family.startswith("q") else {}
    model = cls(5, 3, dtype=torch.float64, seed=2, weight_scale=0.7, **extra)
    with torch.no_grad():
        for name, t in model.parameters().items():
            if name.endswith("bias") or name.endswith("mu"):
                t.normal_(generator=torch.Generator().manual_seed(5))
    gen = torch.Generator().manual_seed(4)
    v = [model.layers[0].noise(64, gen, "cpu", torch.float64) for _ in BETAS]
    pt = ParallelTempering(BETAS)
    models = pt.replicas(model)
    states = [ChainState([x, None]) for x in v]
    fields = [s.field(m, 1) for s, m in zip(states, models, strict=True)]
    for i in range(len(BETAS) - 1):
        got = pt.swap_log_ratio(models, i, states[i], states[i + 1], fields)
        lp = [m.unnormalized_log_prob for m in models]
        expected = lp[i](v[i + 1]) + lp[i + 1](v[i]) - lp[i](v[i]) - lp[i + 1](v[i + 1])
        torch.testing.assert_close(got, expected, rtol=1e-10, atol=1e-9)
        assert got.abs().max() > 0.1  # not trivially zero


def test_gaussian_models_train_with_tempering():
    from qdoem.models import QGRBM
    from qdoem.training import TrainConfig, Trainer

    model = QGRBM(4, 3, dtype=torch.float64, seed=0, weight_scale=0.3)
    data = torch.randn(30, 4, generator=torch.Generator().manual_seed(0))
    cfg = TrainConfig(epochs=2, batch_size=10, persistent=True, pt_replicas=3, pt_beta_min=0.5)
    history = Trainer(model, cfg).fit(data)
    assert len(history[-1]["pt_swap_rates"]) == 2
    assert all(torch.isfinite(t).all() for t in model.parameters().values())
