"""QiDBM and DBM against the dense oracle, and their construction rules.

Tiny models (3 visible, 2 + 2 hidden: 7 qubits) are checked against ``exp(-H)`` built from the
exported :class:`~qdoem.theory.HamiltonianFamily`: the marginal ``p(v)``, the exact E-step (the
Petz recovery of the data state), the QELBO, the likelihood gradient, and exact DO-EM (its
likelihood never decreases) run through the model's own enumeration.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.optimize import minimize

from qdoem.models import DBM, QiDBM, build_model
from qdoem.theory import (
    basis_states,
    classical_data_state,
    log_likelihood,
    log_likelihood_gradient,
    partial_trace,
    petz_recovery,
    qelbo,
)
from tests.models.test_oracle import dense

DATA = np.array([[1, 0, 1], [0, 0, 1], [1, 1, 1], [0, 1, 0], [1, 0, 1]])
LAYOUTS = {
    "qidbm-h1": lambda **kw: QiDBM(3, [2, 2], quantum_layers=[1], **kw),
    "qidbm-h2": lambda **kw: QiDBM(3, [2, 2], quantum_layers=[2], **kw),
    "qidbm-3layers": lambda **kw: QiDBM(3, [2, 2, 2], quantum_layers=[1, 3], **kw),
    "dbm": lambda **kw: DBM(3, [2, 2], **kw),
}


def make(name, seed=0, scale=0.8):
    model = LAYOUTS[name](dtype=torch.float64, seed=seed)
    rng = np.random.default_rng(seed)
    model.load_theta(rng.normal(scale=scale, size=model.theta().size))
    return model


@pytest.mark.parametrize("name", LAYOUTS)
def test_marginal_matches_dense_gibbs_state(name):
    model = make(name)
    _, rho, dims = dense(model)
    p_v = np.real(np.diag(partial_trace(rho, dims, [0])))
    all_v = torch.from_numpy(basis_states(3))
    np.testing.assert_allclose(model.log_prob(all_v, method="exact").exp().numpy(), p_v, atol=1e-12)
    exact = log_likelihood(classical_data_state(DATA), rho, dims)
    assert float(model.log_prob(torch.from_numpy(DATA)).mean()) == pytest.approx(exact, abs=1e-10)


@pytest.mark.parametrize("name", LAYOUTS)
def test_z_basis_diagonal_joint_matches_dense_state(name):
    """``log_diagonal_joint`` is ``log <x|exp(-H)|x>``: the law the exact chains sample."""
    model = make(name)
    family = model.hamiltonian_family()
    from scipy.linalg import expm

    diag = np.real(np.diag(expm(-family.hamiltonian(model.theta()))))
    configs = torch.from_numpy(basis_states(sum(model.layer_sizes)))
    values = list(configs.split(list(model.layer_sizes), dim=1))
    np.testing.assert_allclose(model.log_diagonal_joint(values).numpy(), np.log(diag), atol=1e-10)


@pytest.mark.parametrize("name", LAYOUTS)
def test_exact_e_step_is_the_petz_recovery(name):
    model = make(name)
    family, rho, dims = dense(model)
    eta = petz_recovery(rho, classical_data_state(DATA), dims)
    stats = model.exact_statistics(torch.from_numpy(DATA))
    np.testing.assert_allclose(model.theta(stats), -family.expectations(eta), atol=1e-12)


@pytest.mark.parametrize("name", LAYOUTS)
def test_qelbo_equals_likelihood_at_theta_old_and_bounds_it_elsewhere(name):
    old, new = make(name, seed=0), make(name, seed=5)
    data = torch.from_numpy(DATA).double()
    eta_v = classical_data_state(DATA)
    _, rho_old, dims = dense(old)
    _, rho_new, _ = dense(new)
    eta = petz_recovery(rho_old, eta_v, dims)
    assert old.qelbo(data) == pytest.approx(log_likelihood(eta_v, rho_old, dims), abs=1e-10)
    value = new.qelbo(data, reference=old)
    assert value == pytest.approx(qelbo(eta, rho_new, dims), abs=1e-10)
    assert value < log_likelihood(eta_v, rho_new, dims)


@pytest.mark.parametrize("name", LAYOUTS)
def test_exact_gradient_matches_dense_gradient(name):
    model = make(name)
    family, _, _ = dense(model)
    data = torch.from_numpy(DATA)
    pos, neg = model.exact_statistics(data), model.exact_statistics()
    grad = model.theta({k: pos[k] - neg[k] for k in pos})
    expected = log_likelihood_gradient(
        family, model.theta(), classical_data_state(DATA), model.n_visible
    )
    np.testing.assert_allclose(grad, expected, atol=1e-10)


@pytest.mark.parametrize("name", ["qidbm-h1", "qidbm-h2", "qidbm-3layers"])
def test_exact_do_em_never_decreases_the_likelihood(name):
    """E-step: the exact conditional latent states at theta_old (fixed data term T). M-step:
    maximise the concave Q(theta) = theta . T - log Z(theta) by L-BFGS with the exact gradient
    T - E_model. The QELBO argument (MATH-NOTES) makes L non-decreasing; it is checked here on
    the model's own enumeration, not the dense oracle."""
    model = make(name, seed=3, scale=0.5)
    data = torch.from_numpy(DATA)
    trace = [float(model.log_prob(data).mean())]
    for _ in range(4):
        t = model.theta(model.exact_statistics(data))  # E-step at theta_old

        def q(theta, t=t):
            model.load_theta(theta)
            grad = t - model.theta(model.exact_statistics())
            return -(theta @ t - model.exact_log_partition()), -grad

        res = minimize(q, model.theta(), jac=True, method="L-BFGS-B", options={"maxiter": 20})
        model.load_theta(res.x)
        trace.append(float(model.log_prob(data).mean()))
    assert np.all(np.diff(trace) >= -1e-9), trace
    assert trace[-1] > trace[0] + 0.05  # the test would notice an M-step that does nothing


def test_dbm_is_qidbm_with_gamma_fixed_at_zero_bit_for_bit():
    data = torch.from_numpy(np.tile(DATA, (8, 1))).float()
    runs = []
    for model in (
        DBM(3, [4, 3], seed=2, n_epochs=3, batch_size=10),
        QiDBM(
            3,
            [4, 3],
            quantum_layers=[1],
            gamma_init=0.0,
            learn_gamma=False,
            seed=2,
            n_epochs=3,
            batch_size=10,
        ),
    ):
        model.fit(data)
        runs.append({k: v.clone() for k, v in model.parameters().items() if "gamma" not in k})
    assert runs[0].keys() == runs[1].keys()
    for k in runs[0]:
        assert torch.equal(runs[0][k], runs[1][k]), k


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"quantum_layers": [1, 2]}, "neighbours h1 and h2"),
        ({"quantum_layers": [0]}, "visible layer 0 must stay classical"),
        ({"quantum_layers": [3]}, r"1\.\.2"),
        ({"quantum_layers": []}, "use DBM"),
        ({"quantum_layers": 1}, "must be a list"),
    ],
)
def test_bad_layouts_are_refused_before_training(kwargs, message):
    with pytest.raises(ValueError, match=message):
        QiDBM(3, [2, 2], **kwargs)


@pytest.mark.parametrize(
    ("sizes", "message"),
    [([], "at least one hidden layer"), ([2, 0], r"hidden_sizes\[2\]"), (4, "list of layer")],
)
def test_bad_hidden_sizes_are_refused(sizes, message):
    with pytest.raises(ValueError, match=message):
        build_model("dbm", 3, sizes)


def test_dbm_refuses_quantum_options():
    with pytest.raises(ValueError, match="use QiDBM"):
        DBM(3, [2, 2], gamma_init=0.5)
