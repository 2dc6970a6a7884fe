"""QRBM closed forms against exp(-H) built over all 3 visible + 2 hidden qubits."""

import functools

import numpy as np
import scipy.linalg
import torch

from qdoem.models import QRBM
from qdoem.theory import basis_states

I2 = np.eye(2)
N1 = np.diag([0.0, 1.0])
X = np.array([[0.0, 1.0], [1.0, 0.0]])


def op(n_qubits, ops):
    """Tensor product with ``ops[k]`` on qubit k (visible qubits first) and I elsewhere."""
    return functools.reduce(np.kron, [ops.get(k, I2) for k in range(n_qubits)])


def full_hamiltonian(model):
    params = {k: t.double().numpy() for k, t in model.parameters().items()}
    w, a, b, g = (params[k] for k in ("weights", "visible_bias", "hidden_bias", "hidden_gamma"))
    m, h = w.shape
    q = m + h
    H = np.zeros((2**q, 2**q))
    for i in range(m):
        H -= a[i] * op(q, {i: N1})
    for j in range(h):
        H -= b[j] * op(q, {m + j: N1}) + g[j] * op(q, {m + j: X})
        for i in range(m):
            H -= w[i, j] * op(q, {i: N1, m + j: N1})
    return H


def projector(v):
    return functools.reduce(np.kron, [np.diag([1.0 - x, x]) for x in v])


def make_model():
    model = QRBM(3, 2, dtype=torch.float64, seed=3, weight_scale=1.0)
    gen = torch.Generator().manual_seed(1)
    model.visible_bias.copy_(torch.randn(3, generator=gen, dtype=torch.float64))
    model.hidden_bias.copy_(torch.randn(2, generator=gen, dtype=torch.float64))
    model.gamma.copy_(torch.tensor([0.8, -1.3], dtype=torch.float64))
    return model


def test_marginal_partition_and_conditionals_match_full_density_matrix():
    model = make_model()
    expm = scipy.linalg.expm(-full_hamiltonian(model))
    z = np.trace(expm)
    rho = expm / z
    log_z, err = model.log_partition("exact")
    assert err == 0.0 and np.isclose(log_z, np.log(z), rtol=1e-12)

    vs = torch.from_numpy(basis_states(3))
    log_p = model.log_prob(vs).numpy()
    latent = model.e_step(vs)[0]
    for k, v in enumerate(vs.numpy()):
        pv = projector(v)
        block = np.kron(pv, np.eye(4))
        p_v = np.trace(block @ rho)
        assert np.isclose(np.exp(log_p[k]), p_v, rtol=1e-10)
        for j in range(2):
            n_j = np.trace(np.kron(pv, op(2, {j: N1})) @ rho) / p_v
            x_j = np.trace(np.kron(pv, op(2, {j: X})) @ rho) / p_v
            assert np.isclose(float(latent["mean"][k, j]), n_j, rtol=1e-10)
            assert np.isclose(float(latent["x"][k, j]), x_j, rtol=1e-10)


def test_visible_marginal_is_diagonal():
    """A CQ-LVM: Tr_L rho is diagonal in the visible basis."""
    model = make_model()
    rho = scipy.linalg.expm(-full_hamiltonian(model))
    rho_v = rho.reshape(8, 4, 8, 4).trace(axis1=1, axis2=3)
    assert np.allclose(rho_v - np.diag(np.diag(rho_v)), 0.0, atol=1e-12)
