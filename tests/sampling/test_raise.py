"""RAISE and AIS against exact annealing laws, and the likelihood report's diagnostics."""

import numpy as np
import pytest
import torch

from qdoem.data.synthetic import BernoulliMixture
from qdoem.metrics import likelihood_report
from qdoem.models import QRBM, RBM
from qdoem.sampling import ais_log_partition, default_betas, raise_log_prob
from qdoem.sampling.transition import transition_matrix
from qdoem.theory.bits import basis_states


def _tiny_qrbm(seed=0, gamma=0.8):
    model = QRBM(3, 2, seed=seed, weight_scale=1.5, gamma_init=gamma)
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, t in model.parameters().items():
            if "gamma" not in name:
                t.copy_(torch.randn(t.shape, generator=g) * 1.5)
    return model


def _visible_transition(model, sampler):
    """One sweep's visible-to-visible matrix (each sweep redraws the hidden layer from v)."""
    t, layers = transition_matrix(model, sampler)
    n_v = model.n_visible
    n_rest = t.shape[0] // 2**n_v
    if len(layers) == 1:
        return t
    # state index = v * 2^(rest bits) + rest: rows with rest = 0, columns summed over rest
    return t[::n_rest].reshape(2**n_v, 2**n_v, n_rest).sum(-1)


@pytest.mark.parametrize("sampler", ["exact", "twin-mh"])
def test_raise_weights_average_to_the_annealing_law(sampler):
    """E[p_hat(v)] = p_ann(v) = (p_0 T_1 ... T_K)(v): RAISE is unbiased for p_ann."""
    model = _tiny_qrbm()
    a0 = torch.tensor([0.3, -0.5, 0.1], dtype=torch.float64)
    betas = default_betas(5).tolist()
    states = basis_states(3)
    reference = model.to_float64()
    base = np.exp(states @ a0.numpy())
    p_ann = base / base.sum()
    for b in betas[1:]:
        p_ann = p_ann @ _visible_transition(reference.tempered(b, a0), sampler)
    reps = 40000
    data = torch.from_numpy(np.repeat(states, reps, axis=0))
    res = raise_log_prob(
        model,
        data,
        n_betas=5,
        base_bias=a0,
        sampler=sampler,
        generator=torch.Generator().manual_seed(1),
    )
    w = torch.exp(res.log_prob).reshape(8, reps).numpy()
    mean, se = w.mean(1), w.std(1) / np.sqrt(reps)
    assert np.all(np.abs(mean - p_ann) < 5 * se + 1e-12), (mean, p_ann, se)
    # and p_ann is not p with 5 temperatures: the test sees the difference
    assert np.abs(p_ann - np.exp(model.log_prob(torch.from_numpy(states)).numpy())).max() > 1e-3


def test_ais_weights_average_to_z_over_z0():
    model = _tiny_qrbm(seed=2)
    a0 = torch.zeros(3, dtype=torch.float64)
    res = ais_log_partition(
        model, n_chains=60000, n_betas=5, base_bias=a0, generator=torch.Generator().manual_seed(3)
    )
    w = torch.exp(res.log_weights)
    ratio = np.exp(model.exact_log_partition() - res.log_z0)
    assert abs(float(w.mean()) - ratio) < 5 * float(w.std()) / np.sqrt(w.numel())


def test_raise_refuses_non_reversible_and_biased_kernels():
    model = _tiny_qrbm()
    data = torch.zeros(2, 3)
    with pytest.raises(ValueError, match="reversible"):
        raise_log_prob(model, data, n_betas=3, sampler="heat-bath")
    with pytest.raises(ValueError, match="biased at Gamma"):
        raise_log_prob(model, data, n_betas=3, sampler="plain")


@pytest.fixture(scope="module")
def sharp_rbm():
    """An RBM trained by PCD on a sharp 4-mode mixture: AIS at 10 temperatures goes wrong."""
    mixture = BernoulliMixture(20, n_modes=4, p=0.97, seed=3)
    train = torch.tensor(mixture.sample(2000, seed=1))
    test = torch.tensor(mixture.sample(500, seed=2))
    model = RBM(20, 10, n_epochs=60, learning_rate=0.1, batch_size=50, persistent=True, seed=0)
    model.fit(train)
    p = train.mean(0).clamp(1e-3, 1 - 1e-3)
    return model, test, torch.log(p / (1 - p))


def test_report_flags_ais_that_went_wrong(sharp_rbm):
    model, test, base = sharp_rbm
    exact = likelihood_report(model, test)
    assert exact.method == "exact" and exact.trustworthy
    low = likelihood_report(
        model, test, method="ais", n_chains=50, n_betas=10, raise_points=200, base_bias=base
    )
    assert not low.trustworthy
    assert any("RAISE" in f for f in low.flags)
    assert "NOT TRUSTWORTHY" in low.summary()


def test_report_trusts_and_brackets_a_converged_estimate(sharp_rbm):
    model, test, base = sharp_rbm
    exact = likelihood_report(model, test).ais
    good = likelihood_report(
        model, test, method="ais", n_chains=50, n_betas=3000, raise_points=200, base_bias=base
    )
    assert good.trustworthy, good.flags
    assert good.lower - 0.3 < exact < good.upper + 0.3
    assert good.to_dict()["trustworthy"] is True
    assert len(good.log_z_runs) == 2 and 0 < good.ess_fraction <= 1


def test_report_checks_its_options(sharp_rbm):
    model, test, _ = sharp_rbm
    with pytest.raises(ValueError, match="n_runs"):
        likelihood_report(model, test, method="ais", n_runs=0)
    with pytest.raises(ValueError, match="method"):
        likelihood_report(model, test, method="magic")
    with pytest.raises(ValueError, match="tolerance"):
        likelihood_report(model, test, tolerance=-1)
    flagged = likelihood_report(model, test[:5], method="ais", n_betas=20, raise_points=0)
    assert any("no RAISE" in f for f in flagged.flags)


def test_path_gibbs_sweep_is_reversible_on_the_visible_marginal():
    """RAISE may run path-gibbs: from exact draws of p(v), one sweep's pair counts N(v, v') are
    symmetric (detailed balance), checked by a chi-square over the unordered pairs."""
    from scipy import stats

    from qdoem.estimators import ClosedFormEstimator
    from qdoem.sampling import kernels

    model = _tiny_qrbm(gamma=1.5).to_float64()
    states = torch.from_numpy(basis_states(3))
    p = torch.exp(model.log_prob(states))
    gen = torch.Generator().manual_seed(4)
    n = 200000
    v = states[torch.multinomial(p, n, replacement=True, generator=gen)]
    state = model.chain_state(v.clone(), gen)
    kernels.sweep(model, state, "path-gibbs", ClosedFormEstimator(), gen)
    index = lambda x: (x * torch.tensor([4.0, 2.0, 1.0], dtype=x.dtype)).sum(-1).long()  # noqa: E731
    counts = torch.zeros(8, 8)
    counts.index_put_((index(v), index(state.values[0])), torch.ones(n), accumulate=True)
    upper = [(i, j) for i in range(8) for j in range(i + 1, 8) if counts[i, j] + counts[j, i] > 0]
    a = np.array([float(counts[i, j]) for i, j in upper])
    b = np.array([float(counts[j, i]) for i, j in upper])
    chi2 = float(((a - b) ** 2 / (a + b)).sum())  # McNemar-Bowker symmetry statistic
    assert stats.chi2.sf(chi2, len(upper)) > 1e-4, chi2
    assert (a + b).sum() > n / 10  # the sweep moves: the test has pairs to compare
