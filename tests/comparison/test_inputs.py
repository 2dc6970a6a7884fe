"""Data generator checks and clear errors on bad input."""

import numpy as np
import pytest

from qdoem.comparison.full_qbm import exact_gradient
from qdoem.comparison.metrics import kl_to_data
from qdoem.comparison.training import train_doem, train_doem_one_step
from qdoem.data.synthetic import BernoulliMixture, empirical_distribution
from qdoem.theory import basis_states as visible_states
from qdoem.theory.qrbm import QRBMParams, init_params, log_partition, m_step


def test_mixture_probabilities_sum_to_one_and_match_samples():
    mix = BernoulliMixture(4, n_modes=8, p=0.9, seed=3)
    probs = mix.probabilities(visible_states(4))
    assert probs.sum() == pytest.approx(1.0, abs=1e-12)
    support, freq = empirical_distribution(mix.sample(40000, seed=5))
    idx = (support @ [8, 4, 2, 1]).astype(int)
    # 40000 samples: standard error <= 0.0025, so 0.015 is a > 5-sigma band.
    np.testing.assert_allclose(freq, probs[idx], atol=0.015)


def test_mixture_modes_have_the_formula_weight():
    mix = BernoulliMixture(6, n_modes=1, p=0.9, seed=0)
    assert mix.probabilities(mix.modes)[0] == pytest.approx(0.9**6)


def test_samples_are_reproducible():
    mix = BernoulliMixture(5)
    np.testing.assert_array_equal(mix.sample(10, seed=4), mix.sample(10, seed=4))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"n_visible": 0}, "n_visible"),
        ({"n_visible": 3, "n_modes": 0}, "n_modes"),
        ({"n_visible": 3, "p": 1.5}, "p must"),
    ],
)
def test_mixture_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        BernoulliMixture(**kwargs)


def test_bad_data_and_parameters():
    p = init_params(3, 2)
    v = np.array([[0.0, 1.0, 1.0]])
    with pytest.raises(ValueError, match="only 0 and 1"):
        empirical_distribution(np.array([[0, 2]]))
    with pytest.raises(ValueError, match="shape"):
        kl_to_data(np.ones((1, 4)), np.ones(1), p)
    with pytest.raises(ValueError, match="sum to 1"):
        kl_to_data(v, np.array([0.5]), p)
    with pytest.raises(ValueError, match="only 0 and 1"):
        exact_gradient(np.array([[0.0, 0.5, 1.0]]), np.ones(1), p)
    with pytest.raises(ValueError, match="W must have shape"):
        QRBMParams(np.zeros(3), np.zeros(2), np.zeros((2, 3)), np.zeros(2))
    with pytest.raises(ValueError, match="non-finite"):
        QRBMParams(np.zeros(3), np.zeros(2), np.full((3, 2), np.nan), np.zeros(2))
    with pytest.raises(ValueError, match="length"):
        QRBMParams.from_vector(np.zeros(5), 3, 2)
    with pytest.raises(ValueError, match="chunk"):
        log_partition(p, chunk=0)
    with pytest.raises(ValueError, match="n_visible, n_hidden"):
        init_params(0, 2)


def test_bad_training_arguments():
    p = init_params(3, 2)
    v, q = np.array([[0.0, 1.0, 1.0]]), np.array([1.0])
    with pytest.raises(ValueError, match="epochs"):
        train_doem(v, q, p, epochs=-1)
    with pytest.raises(ValueError, match="time_cap"):
        train_doem(v, q, p, epochs=1, time_cap=0)
    with pytest.raises(ValueError, match="lr"):
        train_doem_one_step(v, q, p, lr=0.0, epochs=1)
    with pytest.raises(ValueError, match="max_iter"):
        m_step(np.zeros(p.size), p, max_iter=0)


def test_kl_from_distribution_matches_direct_enumeration():
    """KL(mixture || model) streamed in chunks equals the sum over all states at once."""
    from qdoem.comparison.metrics import kl_from_distribution
    from qdoem.theory.qrbm import log_unnormalised_marginal

    mix = BernoulliMixture(6, n_modes=3, p=0.8, seed=1)
    p = init_params(6, 3, seed=2, w_scale=0.7)
    states = visible_states(6)
    probs = mix.probabilities(states)
    direct = probs @ (np.log(probs) - log_unnormalised_marginal(states, p)) + log_partition(p)
    assert kl_from_distribution(mix.probabilities, p, chunk=8) == pytest.approx(direct, rel=1e-12)
    assert direct > 0


def test_kl_from_distribution_refuses_an_unnormalised_distribution():
    from qdoem.comparison.metrics import kl_from_distribution

    p = init_params(3, 2)
    with pytest.raises(ValueError, match="sum to 1"):
        kl_from_distribution(lambda v: np.full(len(v), 0.5), p)
