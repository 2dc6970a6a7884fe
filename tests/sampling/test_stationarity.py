"""Every sampler on every model family: exact stationarity, checked against the dense oracle.

For a tiny model, :func:`qdoem.sampling.transition.transition_matrix` builds the one-sweep
transition matrix ``T`` of a kernel from the same conditional statistics and MH weights the
kernel draws with. The target ``pi`` is independent of all of that: the Z-basis diagonal
``<x|rho|x>`` of ``rho = exp(-H)/Z`` built from the exported ``HamiltonianFamily`` with dense
linear algebra (summed over the layers that are not part of the chain's state). An exact
kernel has ``pi T = pi``. The plain block-Gibbs chain must fail this at Gamma != 0 and pass at
Gamma = 0 (MATH-NOTES).

A second test ties the matrices to the kernels' actual random draws: one sweep of many chains
from a fixed start, histogrammed and compared with the matrix row by a chi-square test.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import stats

from qdoem.models import DBM, QRBM, RBM, LayeredModel, QiDBM
from qdoem.sampling import ChainState, sweep
from qdoem.sampling.transition import state_layers, transition_matrix
from qdoem.theory import basis_states, gibbs_state, state_index

GAMMAS = [0.0, 0.5, 1.0, 2.0]


def _randomise(model: LayeredModel, gamma: float, seed: int) -> LayeredModel:
    """Generic parameters of order 1 (weights, biases), every transverse field at ``gamma``."""
    rng = np.random.default_rng(seed)
    model.load_theta(rng.normal(scale=0.9, size=model.theta().size))
    for g in model.transverse_fields().values():
        g.fill_(gamma)
    return model


def qrbm(gamma: float) -> LayeredModel:
    return _randomise(QRBM(4, 3, dtype=torch.float64, gamma_init=gamma), gamma, 0)


def rbm(gamma: float) -> LayeredModel:
    return _randomise(RBM(4, 3, dtype=torch.float64), gamma, 1)


def qidbm_quantum_h1(gamma: float) -> LayeredModel:
    """v (classical) - h1 (qubits) - h2 (classical): the quantum layer between two classical."""
    return _randomise(
        QiDBM(2, [2, 2], quantum_layers=[1], gamma_init=gamma, dtype=torch.float64), gamma, 2
    )


def qidbm_quantum_h2(gamma: float) -> LayeredModel:
    """v - h1 (both classical) - h2 (qubits): a classical layer between classical and quantum."""
    return _randomise(
        QiDBM(2, [2, 2], quantum_layers=[2], gamma_init=gamma, dtype=torch.float64), gamma, 3
    )


def dbm(gamma: float) -> LayeredModel:
    return _randomise(DBM(2, [2, 2], dtype=torch.float64), gamma, 4)


FAMILIES = {
    "qrbm": qrbm,
    "rbm": rbm,
    "qidbm-h1": qidbm_quantum_h1,
    "qidbm-h2": qidbm_quantum_h2,
    "dbm": dbm,
}
#: Samplers that do not apply to a family (and must refuse it clearly).
NOT_APPLICABLE = {
    ("qidbm-h1", "heat-bath"): "heat-bath",
    ("qidbm-h2", "heat-bath"): "heat-bath",
    ("qidbm-h2", "twin-mh"): "only quantum",
    ("dbm", "heat-bath"): "heat-bath",
}
SAMPLERS = ["exact", "plain", "twin-mh", "heat-bath"]


def oracle(model: LayeredModel, layers: tuple[int, ...]) -> np.ndarray:
    """``<x|rho|x>`` from the dense Gibbs state, summed over the layers not in ``layers``."""
    family = model.hamiltonian_family()
    diag = np.real(np.diag(gibbs_state(family.hamiltonian(model.theta()))))
    sizes = model.layer_sizes
    axes = np.split(np.arange(sum(sizes)), np.cumsum(sizes)[:-1])
    drop = tuple(int(a) for k, ax in enumerate(axes) if k not in layers for a in ax)
    joint = diag.reshape((2,) * sum(sizes))
    return joint.sum(axis=drop).ravel() if drop else joint.ravel()


def cases():
    for family in FAMILIES:
        for sampler in SAMPLERS:
            for gamma in GAMMAS if family not in ("rbm", "dbm") else [0.0]:
                yield pytest.param(family, sampler, gamma, id=f"{family}-{sampler}-g{gamma}")


@pytest.mark.parametrize("family,sampler,gamma", list(cases()))
def test_stationary_law_is_the_models(family, sampler, gamma):
    model = FAMILIES[family](gamma)
    if (family, sampler) in NOT_APPLICABLE:
        with pytest.raises(ValueError, match=NOT_APPLICABLE[family, sampler]):
            transition_matrix(model, sampler)
        return
    t, layers = transition_matrix(model, sampler)
    np.testing.assert_allclose(t.sum(1), 1.0, atol=1e-12)
    assert np.all(t >= -1e-15)
    pi = oracle(model, layers)
    residual = np.abs(pi @ t - pi).sum()
    if sampler != "plain" or gamma == 0.0:
        assert residual < 1e-12, residual
    else:
        # The uncorrected chain does not leave the model's law invariant at Gamma != 0.
        assert residual > 1e-4, residual


@pytest.mark.parametrize("family", ["qrbm", "qidbm-h1", "qidbm-h2"])
@pytest.mark.parametrize("gamma", [0.5, 1.0, 2.0])
def test_plain_chain_converges_to_a_wrong_visible_law(family, gamma):
    """The plain chain's own stationary law differs from p(v) (MATH-NOTES: TV 0.003-0.02 on a
    4+3 QRBM; here 1e-4 to 1e-2 depending on the model), the exact chain's is p(v) to rounding."""
    model = FAMILIES[family](gamma)
    tv = {}
    for sampler in ("plain", "exact"):
        t, layers = transition_matrix(model, sampler)
        w, vecs = np.linalg.eig(t.T)
        pi = np.real(vecs[:, np.argmin(np.abs(w - 1.0))])
        pi /= pi.sum()
        sizes = [model.layer_sizes[k] for k in layers]
        p_v = pi.reshape(2 ** sizes[0], -1).sum(1)
        tv[sampler] = 0.5 * np.abs(p_v - oracle(model, (0,))).sum()
    assert tv["exact"] < 1e-12
    assert tv["plain"] > 1e-5, tv


def _chi_square_pvalue(observed: np.ndarray, expected: np.ndarray) -> float:
    """Chi-square goodness of fit, cells with expected count < 5 pooled."""
    small = expected < 5
    obs = np.append(observed[~small], observed[small].sum())
    exp = np.append(expected[~small], expected[small].sum())
    keep = exp > 0
    return float(stats.chisquare(obs[keep], exp[keep] * obs.sum() / exp[keep].sum()).pvalue)


def _one_sweep_histogram(model, sampler, start, n_chains, estimator, seed):
    layers = state_layers(model, sampler)
    values = [
        torch.as_tensor(s, dtype=torch.float64).expand(n_chains, -1).clone()
        if s is not None
        else None
        for s in start
    ]
    state = ChainState(values)
    sweep(model, state, sampler, estimator, torch.Generator().manual_seed(seed))
    bits = torch.cat([state.values[k] for k in layers], dim=1).numpy()
    return np.bincount(state_index(bits), minlength=2 ** bits.shape[1])


def _start(model, sampler, index):
    """A start configuration; layers outside the chain's state are left unset."""
    layers = state_layers(model, sampler)
    bits = basis_states(sum(model.layer_sizes))[index % 2 ** sum(model.layer_sizes)]
    parts = np.split(bits, np.cumsum(model.layer_sizes)[:-1])
    return [parts[k] if k in layers else None for k in range(len(model.layers))], layers


@pytest.mark.parametrize(
    "family,sampler",
    [
        ("qrbm", "exact"),
        ("qrbm", "plain"),
        ("qrbm", "twin-mh"),
        ("qrbm", "heat-bath"),
        ("rbm", "exact"),
        ("qidbm-h1", "exact"),
        ("qidbm-h1", "twin-mh"),
        ("qidbm-h2", "exact"),
    ],
)
def test_kernels_draw_from_their_transition_matrices(family, sampler):
    from qdoem.estimators import ClosedFormEstimator

    model = FAMILIES[family](1.0)
    t, _ = transition_matrix(model, sampler)
    for index in (5, 77):
        start, layers = _start(model, sampler, index)
        row = t[state_index(np.concatenate([start[k] for k in layers]))]
        counts = _one_sweep_histogram(model, sampler, start, 20000, ClosedFormEstimator(), index)
        assert _chi_square_pvalue(counts, 20000 * row) > 1e-4


@pytest.mark.parametrize("backend,n_chains", [("exact", 20000), ("aer", 3000)])
def test_exact_chain_with_backend_shots_draws_from_its_matrix(backend, n_chains):
    """With a circuit backend the hidden samples are the backend's Z-basis shots, and the chain
    is still the exact one."""
    from qdoem.estimators import BackendEstimator

    model = qrbm(1.0)
    t, _ = transition_matrix(model, "exact")
    start, layers = _start(model, "exact", 40)
    row = t[state_index(np.concatenate([start[k] for k in layers]))]
    estimator = BackendEstimator(backend, shots=1, seed=3)
    counts = _one_sweep_histogram(model, "exact", start, n_chains, estimator, 1)
    assert estimator.calls_ == 1  # one call: a Z-basis shot of every chain's hidden qubits
    assert _chi_square_pvalue(counts, n_chains * row) > 1e-4


def test_transition_matrix_refuses_a_kernel_it_cannot_build():
    """path-gibbs draws a continuous occupation fraction: no matrix over Z-basis states (it used
    to fall through to the heat-bath matrix)."""
    with pytest.raises(ValueError, match="not 'path-gibbs'"):
        transition_matrix(FAMILIES["qrbm"](1.0), "path-gibbs")
