"""DO-EM: monotone KL, concave M-step, and agreement of the gradient-based trajectories."""

import numpy as np
import pytest

from qdoem.comparison.amin_bound import bound_gradient
from qdoem.comparison.full_qbm import exact_gradient
from qdoem.comparison.training import gradient_ascent, train_doem, train_doem_one_step
from qdoem.data.synthetic import BernoulliMixture, empirical_distribution
from qdoem.theory.qrbm import (
    e_step,
    init_params,
    log_likelihood_gradient,
    m_step,
    one_step_gradient,
    q_function,
)


@pytest.fixture(params=[(4, 3, 0), (5, 2, 1)])
def mixture(request):
    m, k, seed = request.param
    v, q = empirical_distribution(BernoulliMixture(m, seed=seed).sample(500, seed=seed + 1))
    return v, q, init_params(m, k, seed=seed)


def test_doem_kl_is_non_increasing(mixture):
    v, q, p0 = mixture
    _, hist = train_doem(v, q, p0, epochs=15, inner_iters=10)
    kl = np.array(hist.kl)
    assert np.all(np.diff(kl) <= 1e-12), kl
    assert kl[-1] < 0.5 * kl[0]  # and it actually learns


def test_m_step_increases_q_and_converges_to_stationary_point(mixture):
    v, q, p0 = mixture
    s_eta = e_step(v, q, p0)
    x0 = p0.to_vector()
    q0, _ = q_function(x0, s_eta, p0.n_visible, p0.n_hidden)
    p1 = m_step(s_eta, p0, max_iter=500)
    q1, g1 = q_function(p1.to_vector(), s_eta, p0.n_visible, p0.n_hidden)
    assert q1 > q0
    assert np.abs(g1).max() < 1e-4  # concave: a stationary point is the maximiser


def test_q_function_gradient_is_finite_difference(mixture):
    v, q, p0 = mixture
    s_eta = e_step(v, q, p0)
    x = p0.to_vector() + 0.3 * np.random.default_rng(0).normal(size=p0.size)
    _, g = q_function(x, s_eta, p0.n_visible, p0.n_hidden)
    h = 1e-6
    for i in range(0, x.size, 3):
        e = np.zeros_like(x)
        e[i] = h
        fd = (
            q_function(x + e, s_eta, p0.n_visible, p0.n_hidden)[0]
            - q_function(x - e, s_eta, p0.n_visible, p0.n_hidden)[0]
        ) / (2 * h)
        assert fd == pytest.approx(g[i], abs=1e-7)


def test_gradient_methods_follow_the_same_trajectory(mixture):
    """Amin's bound, the full-QBM gradient and DO-EM one-step give the same iterates here."""
    v, q, p0 = mixture
    _, h_one = train_doem_one_step(v, q, p0, lr=1.0, epochs=5)
    _, h_full = gradient_ascent("full", lambda p: exact_gradient(v, q, p), v, q, p0, 1.0, 5)
    _, h_amin = gradient_ascent("amin", lambda p: bound_gradient(v, q, p), v, q, p0, 1.0, 5)
    np.testing.assert_allclose(h_full.kl, h_one.kl, rtol=1e-9)
    np.testing.assert_allclose(h_amin.kl, h_one.kl, rtol=1e-9)


def test_one_step_doem_iterates_are_bit_identical_to_closed_form_gradient_ascent(mixture):
    """DO-EM 1-step checks v and q once, then each E-step is the gradient's data term: the same
    iterates to the last bit as gradient ascent with the closed-form likelihood gradient."""
    v, q, p0 = mixture
    p_em, h_em = train_doem_one_step(v, q, p0, lr=1.0, epochs=25)
    p_ga, h_ga = gradient_ascent(
        "closed", lambda p: log_likelihood_gradient(v, q, p), v, q, p0, 1.0, 25
    )
    assert np.array_equal(p_em.to_vector(), p_ga.to_vector())
    assert h_em.kl == h_ga.kl


def test_e_step_checks_its_inputs_unless_told_they_are_checked(mixture):
    v, q, p0 = mixture
    assert np.array_equal(e_step(v, q, p0, check_input=False), e_step(v, q, p0))
    bad = v.copy()
    bad[0, 0] = 2.0
    with pytest.raises(ValueError, match="only 0 and 1"):
        e_step(bad, q, p0)
    with pytest.raises(ValueError, match="sum to 1"):
        one_step_gradient(v, 2 * q, p0)


def test_one_step_update_is_theta_plus_lr_grad(mixture):
    v, q, p0 = mixture
    p1, _ = train_doem_one_step(v, q, p0, lr=0.5, epochs=1)
    expected = p0.to_vector() + 0.5 * log_likelihood_gradient(v, q, p0)
    np.testing.assert_allclose(p1.to_vector(), expected, rtol=1e-12)


def test_time_cap_stops_training_and_says_so(mixture):
    v, q, p0 = mixture
    _, hist = train_doem(v, q, p0, epochs=1000, time_cap=1e-9)
    assert hist.epochs == 1
    assert "time cap" in hist.stopped
