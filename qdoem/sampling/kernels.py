"""Markov-chain kernels over the layers of a CQ-LVM; each call is one sweep.

============  ===============================================================================
``"exact"``   Z-basis MH-within-Gibbs (MATH-NOTES): each quantum layer is measured in the Z basis
              (its exact conditional; a circuit shot when the estimator is a backend), each
              classical layer next to a quantum one is proposed from its classical conditional and
              accepted with ``min(1, exp(w(x') - w(x)))``, ``w = sum_j log_diagonal`` of the
              neighbouring quantum units. Leaves the Z-basis diagonal ``<x|rho|x>`` invariant,
              hence the visible marginal ``p(v)``, for every Gamma. QPU-native. The default.
``"plain"``   The same sweep without the MH test: exact only at Gamma = 0. The uncorrected chain
              of the paper, kept for comparison (its stationary law is not ``p(v)`` at Gamma != 0).
``"twin-mh"`` MH-corrected classical proposal: the Gamma = 0 twin's block Gibbs move on the
              classical layers, accepted with the ratio of ``p / p_twin`` (closed form). Exact.
              Needs every sampled classical layer to have only quantum neighbours (a QRBM).
``"heat-bath"`` Sequential heat bath over the visible units on the closed-form visible marginal
              (one hidden layer, {0,1} visible units). Exact; cost grows with ``n_visible``.
``"gibbs-langevin"`` Gaussian visible units (GRBM, QGRBM): the hidden layer's Z-basis draw,
              then ``langevin_steps`` MALA moves of ``v`` on ``P(v | h)`` of the Z-basis joint
              (Liao et al.'s Gibbs-Langevin, each move MH-adjusted). Exact
              (:mod:`qdoem.sampling.langevin`).
``"path-gibbs"`` Block Gibbs on the imaginary-time path-integral joint: each quantum unit's
              occupation fraction ``f`` from its exact conditional
              (:func:`~qdoem.layers.qubit.sample_occupation`), every classical layer from its
              classical conditional given ``f``. Exact at every Gamma, no MH test, the cost of
              a block-Gibbs sweep; any model (QRBM, QiDBM, QGRBM). A classical simulation: the
              draws of ``f`` use the closed form, not ``estimator``. See :func:`_path_gibbs`.
============  ===============================================================================

Sweep order: the odd layers, then the even layers (for a QRBM: hidden, then visible; the
``"path-gibbs"`` sweep draws the quantum layers first). At
``Gamma = 0`` every kernel is the classical block-Gibbs sweep, draw for draw, so a ``Gamma = 0``
model samples exactly like its classical twin.

Kernels take the model, a :class:`~qdoem.sampling.state.ChainState`, an estimator (where the
quantum layers' statistics and Z-basis samples come from, see :mod:`qdoem.estimators`), a torch
generator for the classical draws and MH tests, and the set of clamped layers (never updated).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

import torch
from torch import Tensor

from qdoem.layers.bernoulli import bernoulli_sample
from qdoem.sampling import fused
from qdoem.sampling.state import ChainState

__all__ = ["EXACT_SAMPLERS", "SAMPLERS", "check_sampler", "sweep"]


def sweep(
    model,
    state: ChainState,
    sampler: str,
    estimator,
    generator: torch.Generator,
    clamped: Iterable[int] = (),
) -> None:
    """Advance every chain of ``state`` by one sweep of the kernel ``sampler``, in place.

    A model built with ``compile=True`` sweeps with the fused kernels of
    :mod:`qdoem.sampling.fused` (the same draws from ``generator``, equal up to rounding).
    """
    kernel = SAMPLERS[check_sampler(sampler)]
    if getattr(model, "compile", False):
        with fused.enabled():
            kernel(model, state, estimator, generator, frozenset(clamped))
    else:
        kernel(model, state, estimator, generator, frozenset(clamped))


def check_sampler(sampler: str) -> str:
    """Return ``sampler`` if it names a kernel, else raise ``ValueError`` listing them."""
    if sampler not in SAMPLERS:
        raise ValueError(f"sampler must be one of {sorted(SAMPLERS)}, got {sampler!r}")
    return sampler


# ---------------------------------------------------------------------- layer updates
def _gibbs_update(model, state: ChainState, k: int, estimator, generator) -> None:
    """Draw layer ``k`` from its conditional: a Z-basis measurement for a quantum layer."""
    layer = model.layers[k]
    if layer.quantum:
        field = state.field(model, k)
        stats = state.stats.get(k)
        terms = state.terms.get(k)
        if stats is None and terms is not None and getattr(estimator, "closed_form", False):
            stats = layer.terms_statistics(terms)  # <n> kept by the last MH move
        x = estimator.sample(layer, field, model.layer_params(k), stats, generator)
    else:
        x = layer.sample(state.statistics(model, k), generator)
    state.set_value(k, x)


def _active_quantum_neighbours(model, k: int) -> list[int]:
    """Neighbours of layer ``k`` whose transverse fields are not all zero."""
    return [
        q
        for q in (k - 1, k + 1)
        if 0 <= q < len(model.layers)
        and model.layers[q].quantum
        and not model.layers[q].acts_classically(model.layer_params(q))
    ]


def _accept(log_alpha: Tensor, state: ChainState, generator) -> Tensor:
    """Metropolis-Hastings decisions ``log u < log_alpha``, as a ``(batch, 1)`` column of 0/1."""
    u = torch.rand(log_alpha.shape, generator=generator, device=log_alpha.device)
    accepted = u.log_().to(log_alpha.dtype) < log_alpha
    state.count_mh(accepted)
    return accepted.to(log_alpha.dtype)[:, None]


def _keep(accepted: Tensor, new: Tensor, old: Tensor) -> Tensor:
    """Rows of ``new`` where ``accepted`` is 1, of ``old`` where it is 0, exactly; written over
    ``new``, which must be a fresh tensor of the move (a proposal, its fields or terms).

    ``torch.lerp`` evaluates ``end - (end - start) (1 - w)`` for ``w >= 1/2`` (ATen's Lerp.h), so
    weights 0 and 1 return ``start`` and ``end`` bit for bit (finite values), 4x faster than
    ``torch.where`` with a broadcast mask on the CPU. ``accepted`` is a ``(batch, 1)`` column;
    it is reshaped for tensors of other ranks (a per-row ``(batch,)`` term).
    """
    w = accepted.reshape(accepted.shape[:1] + (1,) * (new.ndim - 1)).to(new.dtype)
    return torch.lerp(old, new, w, out=new)


#: Elements per block of rows of an MH move's proposal terms (256 KiB float32 per temporary).
_MOVE_BLOCK = 65536


#: The same for the compiled move (:mod:`qdoem.sampling.fused`): it holds three block-sized
#: tensors (the proposal's field and outcome probabilities), the eager one about five (with
#: ``chain_terms``' and ``log_diagonal_ratio``'s scratch buffers), so blocks twice as large hold
#: about as much; larger blocks make the field's matmul more efficient (measured in
#: ``results/grbm_speed/NOTES.md``).
_FUSED_MOVE_BLOCK = 2 * _MOVE_BLOCK


def _block_rows(widths: list[int], block: int = _MOVE_BLOCK) -> int:
    """Rows per block of an MH move: about ``_MOVE_BLOCK`` elements of the widest neighbour, and
    a multiple of 64 elements of every neighbour. Torch's CPU elementwise loops run whole
    vectors and then a scalar tail, whose values can differ in the last bit (sigmoid); with
    blocks of whole 64-element groups every element is computed by the same path as in one
    pass over the batch (on one thread, where the block is the loop), so the bits agree."""
    align = 1
    for w in widths:
        align = math.lcm(align, 64 // math.gcd(max(1, w), 64))
    rows = block // max(1, *widths)
    return max(align, rows - rows % align)


def _rows(terms: tuple[Tensor, ...] | None, b: slice) -> tuple[Tensor, ...] | None:
    """Rows ``b`` of each tensor of a layer's chain terms (None stays None)."""
    return None if terms is None else type(terms)(*(t[b] for t in terms))


def _mh_update(
    model, state: ChainState, k: int, estimator, generator, neighbours: list[int]
) -> None:
    """Propose classical layer ``k`` from its classical conditional; accept with the change of
    ``sum_j log_diagonal`` of its quantum neighbours, whose Z-basis values stay fixed.

    Each neighbour's :meth:`~qdoem.layers.base.Layer.chain_terms` (its outcome probabilities and
    log-partition) are kept with its field in ``state.terms``, so a move computes them only at
    the proposal; the next Z-basis draw of a quantum neighbour reads ``<n>`` from them.

    Memory: the move works in blocks of rows (each row's move is independent): per block, the
    proposal's fields, its terms, the MH weights and the decisions, then the kept rows written
    in place over the cached fields and terms. So a move holds one field and one set of terms
    per neighbour, as the chain does between moves, not two, and no field-sized temporary; the
    neighbours' cached statistics, stale after the move whatever its outcome, are dropped
    before it. Same bits as the whole-batch move: every per-row quantity is computed row by
    row (blocks of whole 64-element groups, :func:`_block_rows`), and a block's field is the
    same product on its rows (on the CPU's BLAS checked equal to the whole-batch product by
    ``tests/models/test_peak_memory_layout.py``). The uniforms of the MH tests are drawn for
    the whole batch first, from the stream position of one draw after the weights.

    Inside a compiled sweep (``compile=True``, :mod:`qdoem.sampling.fused`) each block runs two
    compiled loops per neighbour (the proposal's terms with its MH weight; the kept rows), in
    blocks of ``_FUSED_MOVE_BLOCK`` elements; the same draws, equal to rounding.
    """
    layer = model.layers[k]
    old = state.values[k]
    proposal = layer.sample(state.statistics(model, k), generator)
    values = list(state.values)
    values[k] = proposal
    batch = old.shape[0]
    # The MH tests' uniforms (drawn now: nothing below uses the generator).
    log_u = torch.rand((batch,), generator=generator, device=old.device).log_()
    moves = []
    for q in neighbours:
        # The neighbour's cached statistics are stale after the move whatever its outcome
        # (set_value drops them below): not held through it.
        state.stats.pop(q, None)
        moves.append((q, state.field(model, q), state.terms.get(q)))
    accepted = torch.empty(batch, dtype=torch.bool, device=old.device)
    widths = [c_old.shape[-1] for _, c_old, _ in moves]
    rows = _block_rows(widths, _FUSED_MOVE_BLOCK if fused.active() else _MOVE_BLOCK)
    kept: dict[int, tuple[Tensor, ...] | None] = {q: old_terms for q, _, old_terms in moves}
    if fused.active():
        _fused_blocks(model, state, moves, values, log_u, accepted, kept, rows)
    else:
        _eager_blocks(model, state, moves, values, log_u, accepted, kept, rows)
    state.count_mh(accepted)
    # Layer k's own cached statistics (the proposal law) stay valid: its neighbours are unchanged.
    if fused.active():
        fused.keep_rows(~accepted, (old,), (proposal,))  # over the proposal, as _keep
        state.set_value(k, proposal)
    else:
        state.set_value(k, _keep(accepted.to(proposal.dtype)[:, None], proposal, old))
    for q, c_kept, _ in moves:
        state.fields[q] = c_kept
        if kept[q] is not None:
            state.terms[q] = kept[q]


def _mh_blocks(model, state, moves, values, log_u, accepted, rows):
    """The row blocks of :func:`_mh_update`: per block, each neighbour's proposal field and
    chain terms with its MH weight (the compiled kernels of :mod:`qdoem.sampling.fused` inside
    a compiled sweep), the decisions written into ``accepted``. Yields ``(rows, acc, block)``
    with ``block`` a list of ``(q, c_old, c_new, old_terms_rows, new_terms_rows)``; the caller
    keeps the accepted rows; ``block`` is emptied before the next one is computed."""
    compiled = fused.active()
    for i in range(0, log_u.shape[0], rows):
        b = slice(i, i + rows)
        values_b = [None if x is None else x[b] for x in values]
        log_alpha = None
        block = []
        for q, c_old, old_terms in moves:
            quantum, params = model.layers[q], model.layer_params(q)
            old_b = _rows(old_terms, b)
            c_new = model.field(q, values_b)
            z = state.values[q][b]
            if compiled:
                if old_b is None:
                    old_b = fused.chain_terms(c_old[b], params["gamma"])
                term, new_b = fused.move_terms(c_old[b], c_new, params["gamma"], z, old_b)
            else:
                if old_b is None:
                    old_b = quantum.chain_terms(c_old[b], params)
                term, new_b = quantum.log_diagonal_ratio(c_old[b], c_new, params, z, old_b)
            log_alpha = term if log_alpha is None else log_alpha + term
            block.append((q, c_old, c_new, old_b, new_b))
        acc_b = log_u[b].to(log_alpha.dtype) < log_alpha
        accepted[b] = acc_b
        yield b, acc_b, block
        block.clear()  # the caller's name for it too: freed before the next block is built


def _eager_blocks(model, state, moves, values, log_u, accepted, kept, rows) -> None:
    """The blocks of :func:`_mh_update`, eager: weights, decisions, kept rows."""
    batch = log_u.shape[0]
    for b, acc_b, block in _mh_blocks(model, state, moves, values, log_u, accepted, rows):
        for q, c_old, c_new, old_b, new_b in block:
            w = acc_b.to(c_new.dtype)[:, None]
            c_old[b] = _keep(w, c_new, c_old[b])  # the kept field, over the cached one
            if new_b is None or old_b is None:
                continue
            if kept[q] is None:  # the old terms were not cached: full buffers for the kept ones
                kept[q] = type(new_b)(*(t.new_empty((batch, *t.shape[1:])) for t in new_b))
            for out, o, n in zip(kept[q], old_b, new_b, strict=True):
                out[b] = _keep(w, n, o)  # over n, then into the kept rows (o's own when cached)
        del block


def _fused_blocks(model, state, moves, values, log_u, accepted, kept, rows) -> None:
    """The blocks of :func:`_mh_update` with the compiled kernels of :mod:`qdoem.sampling.fused`
    (quantum neighbours): per neighbour one fused loop for the proposal's chain terms and its
    MH weight, then one for the kept rows of its field and terms, written in place."""
    batch = log_u.shape[0]
    for b, acc_b, block in _mh_blocks(model, state, moves, values, log_u, accepted, rows):
        for (q, c_old, c_new, old_b, new_b), (_, _, old_terms) in zip(block, moves, strict=True):
            if old_terms is not None:  # in place over the cached field and terms
                fused.keep_rows(acc_b, (c_new, *new_b), (c_old[b], *old_b))
                continue
            if kept[q] is None:  # the old terms were not cached: full buffers for the kept ones
                kept[q] = type(new_b)(*(t.new_empty((batch, *t.shape[1:])) for t in new_b))
            fused.keep_rows(acc_b, (c_new,), (c_old[b],), new_b, old_b, _rows(kept[q], b))
        del block


# ---------------------------------------------------------------------- kernels
def _plain(model, state: ChainState, estimator, generator, clamped: frozenset[int]) -> None:
    for k in model.sweep_order:
        if k not in clamped:
            _gibbs_update(model, state, k, estimator, generator)


def _exact(model, state: ChainState, estimator, generator, clamped: frozenset[int]) -> None:
    for k in model.sweep_order:
        if k in clamped:
            continue
        neighbours = [] if model.layers[k].quantum else _active_quantum_neighbours(model, k)
        if neighbours and state.values[k] is not None:
            _mh_update(model, state, k, estimator, generator, neighbours)
        else:
            _gibbs_update(model, state, k, estimator, generator)


def check_twin_structure(model, classical: Iterable[int]) -> None:
    """Raise ``ValueError`` unless every layer in ``classical`` has only quantum neighbours.

    The twin's block move draws the quantum layers, then every classical layer given them; that
    is a Gibbs move of the classical layers' joint only if they are independent given the
    quantum layers.
    """
    layers = model.layers
    for k in classical:
        if any(0 <= j < len(layers) and not layers[j].quantum for j in (k - 1, k + 1)):
            raise ValueError(
                f"sampler 'twin-mh' needs every sampled classical layer to have only quantum "
                f"neighbours (layer {layers[k].name!r} does not); use sampler='exact'"
            )


def _twin_weight(model, state: ChainState, quantum: list[int], fields=None) -> Tensor:
    """``sum over quantum units of log Z_unit - log Z_twin`` at the classical values."""
    total = None
    for q in quantum:
        field = state.field(model, q) if fields is None else fields[q]
        w = model.layers[q].twin_log_weight(field, model.layer_params(q))
        total = w if total is None else total + w
    return total


def _twin_mh(model, state: ChainState, estimator, generator, clamped: frozenset[int]) -> None:
    layers = model.layers
    quantum = [q for q in model.sweep_order if layers[q].quantum]
    if not any(not layers[q].acts_classically(model.layer_params(q)) for q in quantum):
        return _plain(model, state, estimator, generator, clamped)  # classical: exact already
    classical = [k for k in model.sweep_order if not layers[k].quantum and k not in clamped]
    check_twin_structure(model, classical)
    old_weight = state.twin_log_weight
    if old_weight is None:
        old_weight = _twin_weight(model, state, quantum)
    old_fields = {q: state.field(model, q) for q in quantum}
    old_values = {k: state.values[k] for k in classical}
    # The twin's block move: quantum layers drawn as classical units, then every classical layer.
    for q in quantum:
        twin = layers[q].twin_statistics(old_fields[q], model.layer_params(q))
        state.set_value(q, layers[q].sample(twin, generator))
    for k in classical:  # independent given the quantum layers
        state.set_value(k, layers[k].sample(state.statistics(model, k), generator))
    new_fields = {q: model.field(q, state.values) for q in quantum}
    new_weight = _twin_weight(model, state, quantum, new_fields)
    accepted = _accept(new_weight - old_weight, state, generator)
    for k in classical:
        state.set_value(k, _keep(accepted, state.values[k], old_values[k]))
    for q in quantum:
        state.fields[q] = _keep(accepted, new_fields[q], old_fields[q])
        state.stats.pop(q, None)
    state.twin_log_weight = _keep(accepted[:, 0], new_weight, old_weight)


def _path_gibbs(model, state: ChainState, estimator, generator, clamped: frozenset[int]) -> None:
    """One sweep of block Gibbs on the path-integral joint (``"path-gibbs"``).

    Maths (:func:`~qdoem.layers.qubit.sample_occupation`): the Gibbs state of a CQ-LVM is the
    marginal of the classical joint

        ``P(x, f) ∝ exp(-H_classical(x)) prod_j e^{c_j(x) f_j} mu_{Gamma_j}(df_j)``

    over the classical layers ``x`` and the imaginary-time occupation fraction ``f_j`` of every
    quantum unit, ``c_j(x)`` its field (linear in the neighbouring classical layers). Its
    conditionals are exact and cheap: ``f | x`` is independent per unit (the tilted measure
    ``e^{c f} mu_Gamma(df)``, ``E[f] = <n>``), and a classical layer given its neighbours is its
    ordinary conditional with the quantum neighbours' values replaced by ``f`` (the field
    ``b + W f`` is linear in them). The sweep draws every quantum layer's ``f`` (independent
    given the classical layers: quantum layers are never adjacent), then the classical layers
    in :attr:`~qdoem.models.LayeredModel.sweep_order`, each from its conditional: a Gibbs sweep
    of ``P(x, f)``, never rejecting. Quantum layers first, whatever their place in the sweep
    order, so that no classical update ever reads a quantum layer's value from before the
    sweep: on the classical layers the sweep is a Markov kernel of its own, whose stationary law
    is the model's marginal (the visible ``p(v)`` included).

    At the end every quantum layer's ``f`` is replaced by a Z-basis outcome ``z ~ Bernoulli(f)``
    (one uniform per unit): the Z-basis diagonal ``<x, z|rho|x, z>`` is the marginal of
    ``P(x, f) prod_j Bernoulli(z_j; f_j)``, so between sweeps the chain's values are those of
    the other kernels, a draw of ``<x, z|rho|x, z>`` at stationarity (what the negative phase,
    AIS, the unbiased scheme's coupled MH step and every other kernel read). ``set_value``
    drops the neighbours' fields and statistics computed from ``f``.

    When every quantum layer acts classically (Gamma = 0) this is the ``"plain"`` sweep, draw
    for draw. A quantum layer with Gamma != 0 cannot be clamped next to a free layer (its
    neighbours would be drawn given a Z-basis value, the biased plain move). With mixed-precision
    matmuls (``matmul_dtype``) ``f`` enters the fields rounded to that dtype, unlike {0,1}
    values: the chain is then exact only to that rounding.
    """
    layers = model.layers
    active = [
        q
        for q in model.sweep_order
        if layers[q].quantum and not layers[q].acts_classically(model.layer_params(q))
    ]
    if not active:
        return _plain(model, state, estimator, generator, clamped)  # classical: exact already
    for q in active:
        if q in clamped and any(0 <= j < len(layers) and j not in clamped for j in (q - 1, q + 1)):
            raise ValueError(
                f"sampler 'path-gibbs' cannot hold quantum layer {layers[q].name!r} (Gamma != 0) "
                f"clamped while a neighbour is sampled; use sampler='exact'"
            )
    drawn = []
    for q in model.sweep_order:  # every quantum layer first, from the classical values
        if layers[q].quantum and q not in clamped:
            f = layers[q].occupation_sample(state.field(model, q), model.layer_params(q), generator)
            state.set_value(q, f)
            drawn.append(q)
    for k in model.sweep_order:
        if not layers[k].quantum and k not in clamped:
            _gibbs_update(model, state, k, estimator, generator)
    for q in drawn:
        if q in active:  # f is 0 or 1 already where Gamma = 0
            state.set_value(q, bernoulli_sample(state.values[q], generator))


def _heat_bath(model, state: ChainState, estimator, generator, clamped: frozenset[int]) -> None:
    layers = model.layers
    if len(layers) != 2 or not layers[0].binary:
        raise ValueError("sampler 'heat-bath' needs one hidden layer and {0,1} visible units")
    if 0 in clamped:
        return
    hidden, params = layers[1], model.layer_params(1)
    w = model.weights_between(0)
    bias = model.layer_params(0)["bias"]
    v = state.values[0].clone()
    c = state.field(model, 1).clone()
    for i in range(v.shape[1]):
        c_off = c - v[:, i : i + 1] * w[i]
        logit = bias[i] + (
            hidden.log_partition(c_off + w[i], params) - hidden.log_partition(c_off, params)
        ).sum(-1)
        u = torch.rand(v.shape[0], generator=generator, device=v.device, dtype=v.dtype)
        v[:, i] = (u < torch.sigmoid(logit)).to(v.dtype)
        c = c_off + v[:, i : i + 1] * w[i]
    state.set_value(0, v)


def _gibbs_langevin(model, state: ChainState, estimator, generator, clamped) -> None:
    from qdoem.sampling.langevin import gibbs_langevin  # it builds on this module's updates

    gibbs_langevin(model, state, estimator, generator, clamped)


SAMPLERS: dict[str, Callable[..., None]] = {
    "exact": _exact,
    "plain": _plain,
    "twin-mh": _twin_mh,
    "heat-bath": _heat_bath,
    "gibbs-langevin": _gibbs_langevin,
    "path-gibbs": _path_gibbs,
}
#: The kernels whose stationary law is the model's, for every Gamma.
EXACT_SAMPLERS = ("exact", "twin-mh", "heat-bath", "gibbs-langevin", "path-gibbs")
