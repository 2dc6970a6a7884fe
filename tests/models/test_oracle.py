"""Every model against the dense oracle of :mod:`qdoem.theory`, through its exported family.

``model.hamiltonian_family()`` and ``model.theta()`` give ``H`` as a dense matrix; the exact
density-operator maths (Gibbs state, Petz recovery, QELBO, exact DO-EM and its gradient) then
checks what the model computes in closed form: the log-likelihood, the E-step statistics, the
QELBO, the likelihood gradient, and layer conditionals of deeper models.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from qdoem.layers import BernoulliLayer, QubitLayer
from qdoem.models import QRBM, RBM, LayeredModel
from qdoem.theory import (
    HamiltonianFamily,
    basis_states,
    classical_data_state,
    do_em,
    gibbs_state,
    log_likelihood,
    log_likelihood_gradient,
    partial_trace,
    petz_recovery,
    qelbo,
)

DATA = np.array([[1, 0, 1, 1], [0, 0, 1, 0], [1, 1, 1, 0], [0, 1, 0, 1], [1, 0, 1, 1]])


def make(cls, seed, **kw):
    model = cls(4, 3, dtype=torch.float64, seed=seed, **kw)
    rng = np.random.default_rng(seed)
    model.load_theta(rng.normal(scale=0.8, size=model.theta().size))
    return model


MODELS = {
    "qrbm": lambda seed=0: make(QRBM, seed),
    "rbm": lambda seed=0: make(RBM, seed),
}


def dense(model):
    family = model.hamiltonian_family()
    rho = gibbs_state(family.hamiltonian(model.theta()))
    dims = (2**model.n_visible, 2 ** (sum(model.layer_sizes) - model.n_visible))
    return family, rho, dims


@pytest.mark.parametrize("name", MODELS)
def test_log_likelihood_matches_dense_gibbs_state(name):
    model = MODELS[name]()
    _, rho, dims = dense(model)
    data = torch.from_numpy(DATA).double()
    exact = log_likelihood(classical_data_state(DATA), rho, dims)
    assert float(model.log_prob(data).mean()) == pytest.approx(exact, abs=1e-10)
    p_v = np.real(np.diag(partial_trace(rho, dims, [0])))
    all_v = torch.from_numpy(basis_states(model.n_visible))
    np.testing.assert_allclose(model.log_prob(all_v).exp().numpy(), p_v, atol=1e-12)


@pytest.mark.parametrize("name", MODELS)
def test_e_step_statistics_are_the_petz_recovery(name):
    """The positive phase is Tr(eta dH'/dtheta) at the Petz extension eta of the data state."""
    model = MODELS[name]()
    family, rho, dims = dense(model)
    eta = petz_recovery(rho, classical_data_state(DATA), dims)
    pos = model.positive_phase(torch.from_numpy(DATA).double())[0]
    stats = model.sufficient_statistics(pos)
    if "hidden_gamma" not in stats:  # the RBM has no transverse terms
        assert not any("gamma" in n for n in family.names)
    # The family's terms are -n, -n n and -X: their expectations are minus the statistics.
    np.testing.assert_allclose(model.theta(stats), -family.expectations(eta), atol=1e-12)


@pytest.mark.parametrize("name", MODELS)
def test_qelbo_at_theta_old_is_the_likelihood_and_a_bound_elsewhere(name):
    old, new = MODELS[name](seed=0), MODELS[name](seed=5)
    data = torch.from_numpy(DATA).double()
    eta_v = classical_data_state(DATA)
    _, rho_old, dims = dense(old)
    _, rho_new, _ = dense(new)
    eta = petz_recovery(rho_old, eta_v, dims)
    ll_old = log_likelihood(eta_v, rho_old, dims)
    assert old.qelbo(data) == pytest.approx(ll_old, abs=1e-10)
    assert old.qelbo(data) == pytest.approx(qelbo(eta, rho_old, dims), abs=1e-10)
    # At other parameters: the dense QELBO of the same Petz extension, below L(theta_new).
    value = new.qelbo(data, reference=old)
    assert value == pytest.approx(qelbo(eta, rho_new, dims), abs=1e-10)
    assert value < log_likelihood(eta_v, rho_new, dims)


@pytest.mark.parametrize("name", MODELS)
def test_exact_gradient_and_do_em_through_the_family(name):
    model = MODELS[name]()
    family, _, _ = dense(model)
    data = torch.from_numpy(DATA).double()
    eta_v = classical_data_state(DATA)
    pos = model.sufficient_statistics(model.positive_phase(data)[0])
    exact = model.exact_statistics()
    grad = model.theta({k: pos[k] - exact[k] for k in pos})
    expected = log_likelihood_gradient(family, model.theta(), eta_v, model.n_visible)
    np.testing.assert_allclose(grad, expected, atol=1e-10)
    # Exact DO-EM on the family, loaded back into the model: the same likelihoods.
    trace = do_em(family, eta_v, model.n_visible, model.theta(), n_iter=4)
    assert np.all(np.diff(trace.log_likelihood) >= -1e-10)
    model.load_theta(trace.theta)
    assert float(model.log_prob(data).mean()) == pytest.approx(trace.log_likelihood[-1], abs=1e-9)


def test_qrbm_family_is_the_theory_qrbm_family():
    model = MODELS["qrbm"]()
    ours, theirs = model.hamiltonian_family(), HamiltonianFamily.qrbm(4, 3)
    assert ours.names == theirs.names
    np.testing.assert_allclose(ours.hamiltonian(model.theta()), theirs.hamiltonian(model.theta()))
    assert ours.is_cq(4) and not ours.is_cq(5)
    rbm = MODELS["rbm"]()
    assert rbm.hamiltonian_family().names == HamiltonianFamily.qrbm(4, 3, transverse=False).names


@pytest.mark.parametrize("quantum", [1, 2])
def test_deep_model_conditionals_match_dense_state(quantum):
    """Given the classical layers' values, a quantum layer of a 3-layer model is a product of
    1-qubit Gibbs states; its closed-form <n> and <X> equal the dense ones."""
    sizes = (2, 2, 2)
    layers = [
        QubitLayer(s, f"layer{k}") if k == quantum else BernoulliLayer(s, f"layer{k}")
        for k, s in enumerate(sizes)
    ]
    model = LayeredModel(layers, dtype=torch.float64)
    model.load_theta(np.random.default_rng(4).normal(size=model.theta().size))
    family = model.hamiltonian_family()
    rho = gibbs_state(family.hamiltonian(model.theta()))
    x_op = np.array([[0.0, 1.0], [1.0, 0.0]])
    configs = basis_states(6)
    classical = [k for k in range(3) if k != quantum]
    for cfg in configs[::5]:
        parts = np.split(cfg, 3)
        values = [torch.from_numpy(p)[None] for p in parts]
        stats = model.conditional(quantum, model.field(quantum, values))
        # Project the classical layers on their values, keep the quantum layer's block.
        projector = [np.diag([1.0 - b, b]) for b in cfg]
        for j in range(2):
            for op, key in ((np.diag([0.0, 1.0]), "mean"), (x_op, "x")):
                factors = [
                    projector[2 * k + i] if k in classical else np.eye(2)
                    for k in range(3)
                    for i in range(2)
                ]
                block = factors.copy()
                block[2 * quantum + j] = op
                num = np.trace(_kron(block) @ rho).real
                den = np.trace(_kron(factors) @ rho).real
                assert float(stats[key][0, j]) == pytest.approx(num / den, abs=1e-10)


def _kron(mats):
    out = np.array([[1.0]])
    for m in mats:
        out = np.kron(out, m)
    return out


def test_models_refuse_structures_that_break_condition_s():
    with pytest.raises(ValueError, match="visible layer must be classical"):
        LayeredModel([QubitLayer(2, "v"), BernoulliLayer(2, "h")])
    with pytest.raises(ValueError, match="neighbours"):
        LayeredModel([BernoulliLayer(2, "v"), QubitLayer(2, "h1"), QubitLayer(2, "h2")])


def test_torch_qrbm_and_the_numpy_reference_agree():
    """The numpy reference (:mod:`qdoem.theory.qrbm`) reads the same parameter vector."""
    from qdoem.theory import qrbm as ref

    model = MODELS["qrbm"]()
    p = ref.QRBMParams.from_vector(model.theta(), model.n_visible, model.n_hidden)
    log_z, model_stats = ref.model_statistics(p)
    assert model.exact_log_partition() == pytest.approx(log_z, abs=1e-12)
    np.testing.assert_allclose(model.theta(model.exact_statistics()), model_stats, atol=1e-12)
    v, q = np.unique(DATA, axis=0, return_counts=True)
    q = q / q.sum()
    data = torch.from_numpy(DATA).double()
    pos = model.sufficient_statistics(model.positive_phase(data)[0])
    np.testing.assert_allclose(model.theta(pos), ref.e_step(v.astype(float), q, p), atol=1e-12)
