"""Layer kernels against their numpy references and explicit 2x2 matrix exponentials."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.linalg
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from qdoem.layers import BernoulliLayer, GaussianLayer, QubitLayer, qubit
from qdoem.theory.latent_unit import unit_entropy, unit_log_diagonal

F64 = torch.float64
N_OP = np.diag([0.0, 1.0])
X_OP = np.array([[0.0, 1.0], [1.0, 0.0]])


def expm_unit(c: float, g: float) -> np.ndarray:
    return scipy.linalg.expm(c * N_OP + g * X_OP)


@pytest.mark.parametrize(
    "c,g", [(0.3, 0.7), (-2.0, 0.1), (5.0, -1.5), (-0.01, 3.0), (0.0, 0.2), (12.0, 0.05)]
)
def test_log_diagonal_and_entropy_match_the_matrix(c, g):
    m = expm_unit(c, g)
    rho = m / np.trace(m)
    w = np.linalg.eigvalsh(rho)
    for z in (0, 1):
        expected = np.log(m[z, z]) - c * z
        args = [torch.tensor([v], dtype=F64) for v in (c, g, z)]
        # expm is accurate to ~1e-15 |c| in absolute terms: so is this comparison.
        assert float(qubit.log_diagonal(*args)) == pytest.approx(expected, abs=1e-12)
        assert float(unit_log_diagonal(c, g, z) - c * z) == pytest.approx(expected, abs=1e-12)
    entropy = -float(np.sum(w * np.log(w)))
    ct, gt = torch.tensor([c], dtype=F64), torch.tensor([g], dtype=F64)
    assert float(qubit.entropy(ct, gt)) == pytest.approx(entropy, abs=1e-12)
    assert float(unit_entropy(c, g)) == pytest.approx(entropy, abs=1e-12)


def test_log_diagonal_limits_and_classical_case():
    c = torch.linspace(-300, 300, 61, dtype=F64)
    for z in (0.0, 1.0):
        zt = torch.full_like(c, z)
        assert torch.equal(qubit.log_diagonal(c, torch.zeros_like(c), zt), torch.zeros_like(c))
        assert bool(torch.isfinite(qubit.log_diagonal(c, torch.full_like(c, 1e-3), zt)).all())
    zero = torch.zeros(2, dtype=F64)
    assert torch.equal(qubit.log_diagonal(zero, zero, torch.tensor([0.0, 1.0])), zero)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.floats(-40, 40), min_size=6, max_size=6),
    st.lists(st.floats(-40, 40), min_size=6, max_size=6),
    st.lists(st.sampled_from([0.0, 1e-3, 0.05, 0.5, -1.0, 3.0]), min_size=6, max_size=6),
    st.lists(st.sampled_from([0.0, 1.0]), min_size=6, max_size=6),
)
def test_fast_log_ratio_matches_the_careful_form(c_old, c_new, gamma, z):
    """The hot-path MH weight equals the difference of careful log-diagonals: to ~1e-12 in
    float64 and to a few ulps of |c| per unit in float32."""
    a, b, g, zz = (torch.tensor(x, dtype=F64)[None] for x in (c_old, c_new, gamma, z))
    g = g[0]
    truth = (qubit.log_diagonal(b, g, zz) - qubit.log_diagonal(a, g, zz)).sum(-1)
    fast64 = qubit.log_diagonal_ratio(a, b, g, zz)
    assert float((fast64 - truth).abs()) < 1e-11
    fast32 = qubit.log_diagonal_ratio(a.float(), b.float(), g.float(), zz.float())
    assert float((fast32.double() - truth).abs()) < 2e-5 * (
        1 + float(a.abs().sum() + b.abs().sum())
    )


def test_twin_log_weight_is_quantum_minus_classical_log_partition():
    rng = np.random.default_rng(0)
    c = torch.from_numpy(rng.normal(scale=6, size=(4, 300)))
    c[0, :10] = 0.0  # c = 0, with Gamma = 0 below: 0, not 0/0
    c[1, :40] = torch.linspace(30, 60, 40, dtype=F64)  # sigmoid ratios that round to 1
    g = torch.from_numpy(rng.normal(scale=2, size=300))
    g[:30] = 0.0
    per_unit = qubit.log_partition(c, g) - torch.nn.functional.softplus(c, threshold=40.0)
    expected = per_unit.sum(-1)
    torch.testing.assert_close(qubit.twin_log_weight(c, g), expected, rtol=0, atol=1e-11)
    # units at Gamma = 0 add exactly nothing
    assert torch.equal(qubit.twin_log_weight(c[:, :30], g[:30]), torch.zeros(4, dtype=F64))
    # float32: a few ulps of the row sum (about 200 here, ulp 1.5e-5)
    w32 = qubit.twin_log_weight(c.float(), g.float()).double()
    torch.testing.assert_close(w32, expected, rtol=0, atol=1e-4)


def test_bernoulli_layer_is_the_qubit_layer_at_gamma_zero():
    c = torch.linspace(-30, 30, 121, dtype=F64)[None]
    bern, qub = BernoulliLayer(121, "b"), QubitLayer(121, "q", gamma_init=0.0)
    params = {"bias": torch.zeros(121, dtype=F64), "gamma": torch.zeros(121, dtype=F64)}
    assert torch.equal(bern.statistics(c, params)["mean"], qub.statistics(c, params)["mean"])
    torch.testing.assert_close(bern.log_partition(c, params), qub.log_partition(c, params))
    torch.testing.assert_close(bern.entropy(c, params), qub.entropy(c, params))
    assert qub.acts_classically(params) and not bern.quantum


def test_sampling_uses_the_generator_and_the_means():
    layer = QubitLayer(4, "q")
    stats = {"mean": torch.tensor([[0.0, 1.0, 0.25, 0.9]], dtype=F64).repeat(40000, 1)}
    a = layer.sample(stats, torch.Generator().manual_seed(0))
    b = layer.sample(stats, torch.Generator().manual_seed(0))
    assert torch.equal(a, b)
    np.testing.assert_allclose(a.mean(0).numpy(), [0.0, 1.0, 0.25, 0.9], atol=0.01)


def test_gaussian_layer_closed_forms():
    layer = GaussianLayer(3, "v")
    params = {
        "mu": torch.tensor([0.5, -1.0, 2.0], dtype=F64),
        "log_var": torch.tensor([0.0, math.log(0.25), math.log(4.0)], dtype=F64),
    }
    field = torch.tensor([[0.7, -0.2, 1.0]], dtype=F64)  # mu + W h
    # log int exp(-(v - mu)^2 / 2s2 + v (f - mu) / s2) dv, by quadrature.
    v = torch.linspace(-40, 40, 400001, dtype=F64)[:, None]
    mu, s2 = params["mu"], params["log_var"].exp()
    integrand = -((v - mu) ** 2) / (2 * s2) + v * (field - mu) / s2
    numeric = torch.logsumexp(integrand, 0) + math.log(float(v[1] - v[0]))
    torch.testing.assert_close(layer.log_partition(field, params)[0], numeric, rtol=0, atol=1e-8)
    stats = layer.statistics(field.expand(200000, -1), params)
    x = layer.sample(stats, torch.Generator().manual_seed(1))
    torch.testing.assert_close(x.mean(0), field[0], rtol=0, atol=0.02)
    torch.testing.assert_close(x.var(0), s2, rtol=0.02, atol=0)
    torch.testing.assert_close(layer.coupling_value(field, params), field / s2)
    with pytest.raises(ValueError, match="NaN or inf"):
        layer.check_values(torch.tensor([[0.0, float("nan"), 1.0]]), "X")


def test_layer_validation():
    with pytest.raises(ValueError, match="size must be a positive int"):
        BernoulliLayer(0, "v")
    with pytest.raises(ValueError, match="identifier"):
        BernoulliLayer(2, "not a name")
    with pytest.raises(ValueError, match="gamma_init must be finite"):
        QubitLayer(2, "h", gamma_init=math.inf)
    with pytest.raises(ValueError, match="only 0 and 1"):
        BernoulliLayer(2, "v").check_values(torch.tensor([[0.0, 0.5]]), "X")
