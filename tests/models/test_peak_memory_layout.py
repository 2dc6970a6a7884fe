"""The memory-saving paths give the same numbers, bit for bit, as the straightforward ones.

``LayeredModel.reduce_phase`` (a quantum layer's ``<X>`` held as its batch mean), the blocked
per-row sums of ``qubit.log_diagonal_ratio`` and of ``LayeredModel.log_diagonal_joint``: each is
compared with the computation it replaces, on sizes spanning several blocks.
"""

from __future__ import annotations

import torch

from qdoem.layers import qubit
from qdoem.models import QGRBM, QiDBM
from qdoem.sampling.state import ChainState


def _phases(model, v, gen):
    pos, _ = model.positive_phase(v, start_chain=False)
    state = ChainState([(torch.rand(v.shape, generator=gen) < 0.5).to(v), None])
    state.set_value(1, (torch.rand(v.shape[0], 40, generator=gen) < 0.5).to(v))
    return pos, model.negative_phase(state)


def test_reduced_phase_gives_the_same_gradient_and_leaves_the_input_alone():
    gen = torch.Generator().manual_seed(0)
    model = QGRBM(30, 40, gamma_init=0.7, seed=0)
    v = torch.randn(64, 30, generator=gen)
    pos, neg = _phases(model, v, gen)
    full = model.gradient(pos, neg)
    x_before = pos[1]["x"].clone()
    reduced_pos, reduced_neg = model.reduce_phase(pos), model.reduce_phase(neg)
    assert reduced_pos[1]["x"].shape == (1, 40)
    assert reduced_pos[1]["mean"] is pos[1]["mean"]  # enters the coupling: kept per row
    assert pos[1]["x"].shape == (64, 40) and torch.equal(pos[1]["x"], x_before)
    reduced = model.gradient(reduced_pos, reduced_neg)
    assert list(reduced) == list(full)
    for name in full:
        assert torch.equal(reduced[name], full[name]), name
    assert float(full["hidden_gamma"].abs().max()) > 0  # the <X> term is really there


def test_blocked_log_diagonal_ratio_matches_the_unblocked_sums():
    gen = torch.Generator().manual_seed(1)
    rows, units = 300, 1000  # 4.6 blocks of qubit._RATIO_BLOCK elements
    assert rows * units > 4 * qubit._RATIO_BLOCK
    c_old, c_new = (torch.randn(rows, units, generator=gen) * 4 for _ in range(2))
    gamma = torch.rand(units, generator=gen)
    z = (torch.rand(rows, units, generator=gen) < 0.5).float()
    old, new = qubit.chain_terms(c_old, gamma), qubit.chain_terms(c_new, gamma)
    # The unblocked sequence of kernels, as before blocking.
    buf = torch.lerp(old.p0, old.p1, z)
    ratio = torch.lerp(new.p0, new.p1, z).div_(buf).log_()
    ratio += c_new.clamp(min=0.0)
    ratio -= c_old.clamp(min=0.0)
    ratio.addcmul_(c_new - c_old, z, value=-1.0)
    expected = ratio.sum(-1).add_(new.log_z_rest).sub_(old.log_z_rest)
    got = qubit.log_diagonal_ratio(c_old, c_new, gamma, z, old, new)
    assert torch.equal(got, expected)
    assert torch.equal(qubit.log_diagonal_ratio(c_old, c_new, gamma, z), expected)


def test_blocked_log_diagonal_joint_matches_the_unblocked_sums():
    gen = torch.Generator().manual_seed(2)
    model = QiDBM(20, [400, 30], quantum_layers=[1], gamma_init=0.6, seed=0)
    b = 500  # 500 x 400 = 3 blocks
    values = [(torch.rand(b, n, generator=gen) < 0.5).float() for n in (20, 400, 30)]
    layer, params = model.layers[1], model.layer_params(1)
    expected = layer.log_diagonal(model.field(1, values), params, values[1]).sum(-1)
    assert torch.equal(model._log_diagonal_rows(1, values), expected)
