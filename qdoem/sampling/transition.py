"""Exact transition matrices of the kernels, for tiny models with {0,1} units (a test oracle).

A kernel's stationarity can be checked exactly on a model small enough to enumerate: build the
matrix ``T[i, j] = P(x_j after one sweep | x_i)`` and compare ``pi T`` with ``pi``, where ``pi`` is
the Z-basis diagonal ``<x|rho|x>`` of the dense Gibbs state (:mod:`qdoem.theory`). The matrices
are assembled from the same model and layer functions that the kernels of
:mod:`qdoem.sampling.kernels` draw from (conditional statistics, ``log_diagonal``,
``twin_log_weight``, ``log_partition``), in float64; a separate empirical test ties the kernels'
random draws to these matrices.

Configurations are numbered by :func:`qdoem.theory.bits.state_index` over the concatenated
layers of the state (the visible layer first).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from qdoem.sampling.kernels import check_sampler, check_twin_structure
from qdoem.theory.bits import basis_states, state_index

__all__ = ["state_layers", "transition_matrix"]

MAX_STATE_BITS = 14
#: The kernels with a transition matrix here ("path-gibbs" draws a continuous f: its tests check
#: the law one sweep keeps instead, tests/sampling/test_path_gibbs.py).
MATRIX_SAMPLERS = ("exact", "plain", "gibbs-langevin", "twin-mh", "heat-bath")


def state_layers(model, sampler: str) -> tuple[int, ...]:
    """The layers whose values make up a chain's state for ``sampler``.

    All layers for ``"exact"``, ``"plain"`` and ``"gibbs-langevin"`` (whose Gaussian units
    have no transition matrix); the classical layers for ``"twin-mh"`` (the
    quantum ones are summed out in closed form; a model without quantum layers is sampled by
    plain block Gibbs); the visible layer for ``"heat-bath"``.
    """
    check_sampler(sampler)
    if sampler not in MATRIX_SAMPLERS:
        raise ValueError(
            f"transition matrices are built for the samplers {MATRIX_SAMPLERS}, not {sampler!r} "
            "(its state is not a finite set of Z-basis values)"
        )
    no_quantum = not any(layer.quantum for layer in model.layers)
    if sampler in ("exact", "plain", "gibbs-langevin") or (sampler == "twin-mh" and no_quantum):
        return tuple(range(len(model.layers)))
    if sampler == "twin-mh":
        return tuple(k for k, layer in enumerate(model.layers) if not layer.quantum)
    return (0,)


def _configs(model, layers: tuple[int, ...]) -> tuple[np.ndarray, list[Tensor]]:
    sizes = [model.layers[k].size for k in layers]
    n_bits = sum(sizes)
    if n_bits > MAX_STATE_BITS:
        raise ValueError(f"transition matrices need at most {MAX_STATE_BITS} state bits")
    bits = basis_states(n_bits)
    parts = np.split(bits, np.cumsum(sizes)[:-1], axis=1)
    return bits, [torch.from_numpy(p) for p in parts]


def _prob(mean: Tensor, y: Tensor) -> Tensor:
    """``prod_j mean_j^y_j (1 - mean_j)^(1 - y_j)`` along the last axis."""
    return torch.where(y > 0.5, mean, 1.0 - mean).prod(-1)


def _index(parts: list[Tensor]) -> np.ndarray:
    return state_index(torch.cat(parts, dim=-1).numpy())


def transition_matrix(model, sampler: str) -> tuple[np.ndarray, tuple[int, ...]]:
    """Exact one-sweep transition matrix of ``sampler`` on a tiny binary model.

    Returns
    -------
    T : ndarray, shape ``(2^n, 2^n)``
        Row-stochastic matrix over the configurations of the state layers.
    layers : tuple of int
        The state layers (see :func:`state_layers`), in the order their bits are numbered.
    """
    layers = state_layers(model, sampler)
    if any(not layer.binary for layer in model.layers):
        raise ValueError("transition matrices need {0,1} units in every layer")
    m = model.to_float64()
    if len(layers) == len(model.layers):  # exact, plain, or twin-mh on a classical model
        return _gibbs_matrix(m, sampler == "exact"), layers
    if sampler == "twin-mh":
        return _twin_matrix(m, layers), layers
    return _heat_bath_matrix(m), layers


def _gibbs_matrix(model, corrected: bool) -> np.ndarray:
    all_layers = tuple(range(len(model.layers)))
    _, parts = _configs(model, all_layers)
    n_states = parts[0].shape[0]
    total = np.eye(n_states)
    for k in model.sweep_order:
        layer = model.layers[k]
        params = model.layer_params(k)
        ys = torch.from_numpy(basis_states(layer.size))
        step = np.zeros((n_states, n_states))
        stats = layer.statistics(model.field(k, parts), params)
        neighbours = []
        if corrected and not layer.quantum:
            neighbours = [
                q for q in (k - 1, k + 1) if 0 <= q < len(model.layers) and model.layers[q].quantum
            ]
        old_log_w = _diag_weight(model, parts, neighbours)
        for y in ys:
            new_parts = list(parts)
            new_parts[k] = y.expand(n_states, -1)
            q = _prob(stats["mean"], y).numpy()
            if neighbours:
                alpha = np.minimum(
                    1.0, np.exp(_diag_weight(model, new_parts, neighbours) - old_log_w)
                )
            else:
                alpha = np.ones(n_states)
            target = _index(new_parts)
            np.add.at(step, (np.arange(n_states), target), q * alpha)
            step[np.arange(n_states), np.arange(n_states)] += q * (1.0 - alpha)
        total = total @ step
    return total


def _diag_weight(model, parts: list[Tensor], quantum: list[int]) -> np.ndarray:
    """``sum over the quantum units of log_diagonal`` at the configurations ``parts``."""
    total = np.zeros(parts[0].shape[0])
    for q in quantum:
        field = model.field(q, parts)
        total += (
            model.layers[q].log_diagonal(field, model.layer_params(q), parts[q]).sum(-1).numpy()
        )
    return total


def _twin_matrix(model, classical: tuple[int, ...]) -> np.ndarray:
    check_twin_structure(model, classical)
    layers = model.layers
    quantum = [k for k, layer in enumerate(layers) if layer.quantum]
    _, c_parts = _configs(model, classical)
    n_states = c_parts[0].shape[0]
    _, q_parts = _configs(model, tuple(quantum)) if quantum else (None, [])
    n_twin = q_parts[0].shape[0] if quantum else 1

    def full(cp: list[Tensor], qp: list[Tensor]) -> list[Tensor]:
        values: list[Tensor | None] = [None] * len(layers)
        for k, p in zip(classical, cp, strict=True):
            values[k] = p
        for k, p in zip(quantum, qp, strict=True):
            values[k] = p
        return values

    def weight(cp: list[Tensor]) -> np.ndarray:
        values = full(cp, [torch.zeros(cp[0].shape[0], layers[q].size) for q in quantum])
        total = np.zeros(cp[0].shape[0])
        for q in quantum:
            field = model.field(q, values)
            total += layers[q].twin_log_weight(field, model.layer_params(q)).numpy()
        return total

    old_w = weight(c_parts)
    step = np.zeros((n_states, n_states))
    rows = np.arange(n_states)
    for t in range(n_twin):
        zq = [p[t].expand(n_states, -1) for p in q_parts]
        values = full(c_parts, zq)
        p_twin = np.ones(n_states)
        for q, z in zip(quantum, zq, strict=True):
            twin = layers[q].twin_statistics(model.field(q, values), model.layer_params(q))
            p_twin *= _prob(twin["mean"], z).numpy()
        props = [
            layers[k].statistics(model.field(k, values), model.layer_params(k))["mean"]
            for k in classical
        ]
        for y in range(n_states):
            yp = [p[y].expand(n_states, -1) for p in c_parts]
            q_prop = np.ones(n_states)
            for mean, yk in zip(props, yp, strict=True):
                q_prop *= _prob(mean, yk).numpy()
            alpha = np.minimum(1.0, np.exp(weight(yp) - old_w))
            step[rows, y] += p_twin * q_prop * alpha
            step[rows, rows] += p_twin * q_prop * (1.0 - alpha)
    return step


def _heat_bath_matrix(model) -> np.ndarray:
    layers = model.layers
    if len(layers) != 2:
        raise ValueError("sampler 'heat-bath' needs one hidden layer")
    _, (v,) = _configs(model, (0,))
    n_states = v.shape[0]
    hidden, params = layers[1], model.layer_params(1)
    w = model.weights_between(0)
    bias = model.layer_params(0)["bias"]
    total = np.eye(n_states)
    rows = np.arange(n_states)
    for i in range(v.shape[1]):
        c = model.field(1, [v, None])
        c_off = c - v[:, i : i + 1] * w[i]
        logit = bias[i] + (
            hidden.log_partition(c_off + w[i], params) - hidden.log_partition(c_off, params)
        ).sum(-1)
        p1 = torch.sigmoid(logit).numpy()
        step = np.zeros((n_states, n_states))
        for b, prob in ((1.0, p1), (0.0, 1.0 - p1)):
            target = v.clone()
            target[:, i] = b
            np.add.at(step, (rows, _index([target])), prob)
        total = total @ step
    return total
