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


def _whole_batch_mh_update(model, state, k, generator, neighbours):
    """The exact chain's MH move on the whole batch at once (the code the blocked move of
    ``kernels._mh_update`` replaced): every neighbour's proposal terms in full, then one draw
    of the uniforms, then the selections."""
    from qdoem.sampling.kernels import _accept, _keep

    layer = model.layers[k]
    old = state.values[k]
    proposal = layer.sample(state.statistics(model, k), generator)
    values = list(state.values)
    values[k] = proposal
    log_alpha, moves = None, {}
    for q in neighbours:
        quantum, params = model.layers[q], model.layer_params(q)
        c_old = state.field(model, q)
        old_terms = state.terms.get(q)
        if old_terms is None:
            old_terms = quantum.chain_terms(c_old, params)
        c_new = model.field(q, values)
        term, new_terms = quantum.log_diagonal_ratio(
            c_old, c_new, params, state.values[q], old_terms
        )
        log_alpha = term if log_alpha is None else log_alpha + term
        moves[q] = (c_old, c_new, old_terms, new_terms)
    accepted = _accept(log_alpha, state, generator)
    state.set_value(k, _keep(accepted, proposal, old))
    for q, (c_old, c_new, old_terms, new_terms) in moves.items():
        state.fields[q] = _keep(accepted, c_new, c_old)
        state.terms[q] = type(new_terms)(
            *(_keep(accepted, n, o) for n, o in zip(new_terms, old_terms, strict=True))
        )


def test_blocked_mh_move_matches_the_whole_batch_move():
    """``kernels._mh_update`` makes the proposal's terms, weights and decisions in blocks of
    rows (kept terms written in place): on a QiDBM whose middle classical layer has two quantum
    neighbours, with a batch spanning several blocks, five sweeps give the same values, fields,
    kept terms, acceptance counts and generator state as the whole-batch move, bit for bit."""
    from qdoem.estimators import ClosedFormEstimator
    from qdoem.sampling import kernels

    estimator = ClosedFormEstimator()
    model = QiDBM(50, [300, 40, 250], quantum_layers=[1, 3], gamma_init=0.9, seed=0)
    for name, p in model.parameters().items():  # couplings strong enough to reject some moves
        if name.startswith("weights"):
            p.mul_(40.0)
    batch = 700  # 3.2 blocks of kernels._MOVE_BLOCK elements at width 300
    assert batch * 300 > 3 * kernels._MOVE_BLOCK
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the claim is per loop: a whole-batch pass is one loop on one thread
    try:
        _compare_moves(model, batch, estimator, kernels)
    finally:
        torch.set_num_threads(threads)


def _compare_moves(model, batch, estimator, kernels):
    states, gens = [], []
    for _ in range(2):
        g = torch.Generator().manual_seed(5)
        v = (torch.rand(batch, 50, generator=g) < 0.5).float()
        states.append(model.chain_state(v, g))
        gens.append(g)
    for _ in range(5):
        for k in model.sweep_order:
            neighbours = kernels._active_quantum_neighbours(model, k)
            for state, g, blocked in zip(states, gens, (True, False), strict=True):
                if model.layers[k].quantum or not neighbours:
                    kernels._gibbs_update(model, state, k, estimator, g)
                elif blocked:
                    kernels._mh_update(model, state, k, estimator, g, neighbours)
                else:
                    _whole_batch_mh_update(model, state, k, g, neighbours)
    a, b = states
    assert 0 < int(a.mh_accepted) < a.mh_proposed  # some moves were refused
    assert torch.equal(a.mh_accepted, b.mh_accepted) and a.mh_proposed == b.mh_proposed
    for x, y in zip(a.values, b.values, strict=True):
        assert torch.equal(x, y)
    assert sorted(a.fields) == sorted(b.fields) and sorted(a.terms) == sorted(b.terms)
    for q in a.fields:
        assert torch.equal(a.fields[q], b.fields[q])
    for q in a.terms:
        for x, y in zip(a.terms[q], b.terms[q], strict=True):
            assert torch.equal(x, y)
    assert torch.equal(gens[0].get_state(), gens[1].get_state())
