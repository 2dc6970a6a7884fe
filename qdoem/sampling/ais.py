"""Annealed importance sampling: ``log Z`` forward (AIS) and ``log p(v)`` in reverse (RAISE).

The tempered family interpolates from an independent base-rate model to the model,

    log p*_beta(v) = (1 - beta) a0.v + log p*(v; beta theta),

where ``log p*(v; theta)`` is the closed-form unnormalised log marginal (for a QRBM,
``a.v + sum_j [c_j/2 + log 2cosh D_j]``; scaling the Hamiltonian by beta scales every field).
At beta = 0 it is the product of ``Bernoulli(sigmoid(a0))`` visible units and free hidden units
(``log Tr exp(0) = log 2`` each); at beta = 1 it is the model. Gaussian visible units (GRBM,
QGRBM) keep their own term at every beta, ``-(v - mu)^2 / (2 sigma^2)``, and the hidden layer
and couplings are scaled: the base model is ``N(mu, sigma^2)`` times free hidden units. Each
intermediate distribution is left invariant by the chosen kernel of
:mod:`qdoem.sampling.kernels` run on the tempered model, so at Gamma != 0 only the exact kernels
are valid (``"plain"`` is refused).

**AIS** (Salakhutdinov & Murray 2008): chains start from the base model and are annealed up;
``log Z = log Z_0 + log mean_m w_m`` with
``log w = sum_k [log p*_{beta_k}(v_{k-1}) - log p*_{beta_{k-1}}(v_{k-1})]``. ``E[w] = Z / Z_0``,
so by Jensen ``E[log Z_hat] <= log Z``: too few temperatures *underestimate* ``log Z`` and make
the log-likelihood ``log p*(v) - log Z_hat`` look better than it is (optimistic).

**RAISE** (Burda, Grosse & Salakhutdinov 2015): a chain starts *at a data point* ``v`` and is
annealed down, ``v_K = v``, ``v_{k-1} ~ T_k(. | v_k)``, with weight

    log p_hat(v) = log p*(v) - log Z_0 + sum_{k=1..K} [log p*_{beta_{k-1}}(v_{k-1})
                                                      - log p*_{beta_k}(v_{k-1})].

When each ``T_k`` is reversible with respect to ``p_{beta_k}``, ``E[p_hat(v)] = p_ann(v)``, the
law of the forward annealing chain's end point (the AIS proposal, which approaches ``p`` as
the schedule refines). So ``E[log p_hat(v)] <= log p_ann(v)``: a stochastic lower bound, and in
practice a conservative estimate of ``log p(v)``. The kernels here sweep the hidden layer from
its conditional and then update the visible units given it (Gibbs, or an MH step whose target
given the hidden values is the visible conditional), which is reversible on the visible
marginal; the sequential ``"heat-bath"`` sweep is not, and is refused.

AIS and RAISE together bracket the log-likelihood; :mod:`qdoem.metrics.likelihood` runs both
with diagnostics.

**Deep models (DBM, QiDBM; Salakhutdinov & Hinton 2009).** With several hidden layers ``p*(v)``
is not closed form, but the partial trace over a set ``S`` of pairwise non-neighbouring layers
is: given the Z-basis values ``x_U`` of the other layers, every unit of ``S`` is a one-unit Gibbs
state, so

    log p*(x_U) = log <x_U| Tr_S exp(-H) |x_U>
                = sum_{k in U} b_k.x_k + sum_{couplings inside U} x_l^T W_l x_{l+1}
                  + sum_{k in S} sum_units log Tr exp(c_k n + Gamma_k X)

(:func:`log_trace_out`), with ``c_k`` the field of ``x_U`` on layer ``k`` (the layer's closed
form: ``c/2 + log 2cosh D`` for a qubit, ``softplus(c)`` for a classical unit). Every quantum
layer with ``Gamma != 0`` must be in ``S`` (its state is not diagonal; ``x_U`` are Z-basis values of
classical layers only). AIS then anneals ``p*_beta(x_U)`` exactly as above, with ``x_U`` in place
of ``v`` (:func:`ais_summed_layers` picks ``S``: for two hidden layers, ``{v, h2}`` summed and
``h1`` annealed as in S&H, or ``h1`` traced and ``(v, h2)`` annealed when ``h1`` is quantum). The
transition at ``beta_k`` draws ``x_S`` from its exact conditional given ``x_U`` (the Z-basis
measurement of a quantum layer), runs one sweep of the kernel on all layers (which leaves the
Z-basis diagonal ``<x|rho_beta|x>`` invariant, whose ``U``-marginal is ``p_beta(x_U)``), and
keeps ``x_U``: it leaves ``p_beta(x_U)`` invariant. The base model and ``log Z_0`` are those of
the one-hidden-layer case.

**Reverse AIS for ``log Z`` (BDMC, Grosse, Ghahramani & Adams 2015)**
(:func:`reverse_ais_log_partition`): chains start from samples of the model ``p_1(x_U)`` and
are annealed *down* to the base, ``log w_rev = sum_k [log p*_{beta_{k-1}}(x_k) -
log p*_{beta_k}(x_k)]``, each step the time reversal of the forward transition. With exact start
samples ``E[w_rev] = Z_0 / Z``, so ``log Z_0 - log mean w_rev`` overestimates ``log Z`` in
expectation (Jensen) and ``P(log Z_rev < log Z - t) <= exp(-t)`` (Markov): a stochastic UPPER
bound, against the forward estimate's stochastic lower bound. The forward transition is a fresh
exact draw of ``x_S`` given ``x_U`` followed by single-layer updates ``U_1 ... U_m`` (Gibbs
draws, or MH moves reversible on their layer's conditional), each reversible with respect to the
Z-basis diagonal; its reversal on ``p_beta(x_U)`` is the same draw of ``x_S`` followed by
``U_m ... U_1`` (:func:`_reverse_transition`).

**What the reverse chains' starts guarantee.** The upper-bound property holds for start
states drawn *exactly* from ``p_1(x_U)``; on real models no exact sampler exists, and with
approximate starts ``q`` the reverse estimate is ``log Z_0 - log E_q[w_rev]``, which may lie
above or below ``log Z``: started inside one mode ``A`` it estimates roughly the mass of that
mode, ``log Z + log p(A) <= log Z``, and started at states the model gives little mass (data
rows under a model that does not generate data) it can overestimate by any amount. Two
starts are offered: chains started at data rows after ``burn_in`` sweeps (cheap, stuck in the
mode nearest the data), and :func:`tempered_states`, parallel tempering along the AIS path
itself, whose hottest replica (``beta = 0``, the independent base) is drawn exactly at every
step and whose swaps carry states from it down to ``beta = 1``. Its ``beta = 1`` replica is
an ergodic Markov chain with stationary law ``p_1(x_U)``: its states tend to exact samples as
the run lengthens, which no finite run guarantees (a first-order transition along the path,
where the swap rates collapse, can still hold every chain in one mode). So the reverse
estimate from tempered starts is an upper bound of ``log Z`` only in that limit; read it with
the swap rates that :class:`TemperedStates` reports.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from qdoem.errors import check_int
from qdoem.sampling.kernels import EXACT_SAMPLERS, check_sampler, sweep
from qdoem.sampling.state import ChainState

__all__ = [
    "AISResult",
    "RAISEResult",
    "TemperedStates",
    "tempered_states",
    "ais_log_partition",
    "reverse_ais_log_partition",
    "ais_summed_layers",
    "log_trace_out",
    "traceable_layers",
    "default_betas",
    "raise_log_prob",
    "DEFAULT_N_BETAS",
    "DEFAULT_N_CHAINS",
    "DEFAULT_BURN_IN",
    "REVERSIBLE_SAMPLERS",
    "REVERSE_AIS_SAMPLERS",
]

#: Defaults for every AIS caller (models, CLI, reports). 1000 temperatures were 20-32 nats
#: optimistic on PCD-trained MNIST RBMs (issue 9); 10000 is Salakhutdinov & Murray's choice.
DEFAULT_N_BETAS = 10000
DEFAULT_N_CHAINS = 100

#: Kernels whose sweep is reversible on the visible marginal (RAISE needs reversibility; it
#: anneals one-hidden-layer models only). ``path-gibbs`` there is v -> f ~ p(f | v) -> v' ~
#: p(v' | f), a two-block data-augmentation chain: p(v) K(v, v') = int p(f) p(v | f) p(v' | f) df
#: is symmetric in v and v'.
REVERSIBLE_SAMPLERS = ("exact", "twin-mh", "plain", "path-gibbs")
#: Kernels made of single-layer updates, whose time reversal :func:`reverse_ais_log_partition`
#: runs (the twin move is a block move on all classical layers at once).
REVERSE_AIS_SAMPLERS = ("exact", "plain")
#: Sweeps of the model's own chain (at beta = 1) before the reverse annealing starts.
DEFAULT_BURN_IN = 1000


@dataclass(frozen=True)
class AISResult:
    """An AIS estimate of ``log Z``.

    Attributes
    ----------
    log_z : float
        ``log Z_0 + log mean(w)``.
    stderr : float
        Standard error of ``log_z`` by the delta method, ``std(w) / (sqrt(M) mean(w))``.
    log_weights : Tensor
        The ``M`` importance log-weights (``log w`` above, without ``log Z_0``).
    log_z0 : float
        ``log Z`` of the base model.
    direction : {"forward", "reverse"}
        ``"reverse"``: :func:`reverse_ais_log_partition`, whose ``log_weights`` are the reverse
        log-weights ``log w_rev`` and ``log_z = log_z0 - log mean(w_rev)`` (an overestimate in
        expectation when the chains start from exact samples).
    """

    log_z: float
    stderr: float
    log_weights: Tensor
    log_z0: float = 0.0
    direction: str = "forward"

    @classmethod
    def from_log_weights(cls, log_weights: Tensor, log_z0: float) -> AISResult:
        """The estimate from importance log-weights (e.g. several runs' weights, pooled)."""
        m = float(log_weights.max())
        w = torch.exp(log_weights - m)
        mean = float(w.mean())
        stderr = float(w.std()) / (math.sqrt(w.numel()) * mean)
        return cls(log_z0 + m + math.log(mean), stderr, log_weights, log_z0)

    @classmethod
    def from_reverse_log_weights(cls, log_weights: Tensor, log_z0: float) -> AISResult:
        """The reverse estimate ``log Z_0 - log mean(w_rev)``, its delta-method error."""
        ratio = cls.from_log_weights(log_weights, -log_z0)  # estimates -log Z
        return cls(-ratio.log_z, ratio.stderr, log_weights, log_z0, "reverse")

    @property
    def ess(self) -> float:
        """Effective sample size of the weights, ``(sum w)^2 / sum w^2``, between 1 and ``M``."""
        return effective_sample_size(self.log_weights)


@dataclass(frozen=True)
class RAISEResult:
    """RAISE estimates of ``log p(v)``, one per data row.

    Attributes
    ----------
    log_prob : Tensor
        ``log p_hat(v)`` for each row (float64).
    n_betas : int
    """

    log_prob: Tensor
    n_betas: int


def effective_sample_size(log_weights: Tensor) -> float:
    """``(sum w)^2 / sum w^2`` of importance weights given as logs."""
    lw = log_weights.double()
    return float(torch.exp(2 * torch.logsumexp(lw, 0) - torch.logsumexp(2 * lw, 0)))


def default_betas(n_betas: int) -> Tensor:
    """S&M-style schedule: denser near beta = 1, where the distribution changes fastest.

    Below 5 temperatures the three segments cannot all have a point, and the schedule is
    uniform on [0, 1] (it must start at 0, where ``log Z_0`` is known).
    """
    check_int("n_betas", n_betas, 2)
    if n_betas < 5:  # int(0.2 n) = 0: the first segment, holding beta = 0, would be empty
        return torch.linspace(0.0, 1.0, n_betas, dtype=torch.float64)
    a = int(0.2 * n_betas)
    b = int(0.3 * n_betas)
    c = n_betas - a - b
    return torch.cat(
        [
            torch.linspace(0.0, 0.5, a + 1, dtype=torch.float64)[:-1],
            torch.linspace(0.5, 0.9, b + 1, dtype=torch.float64)[:-1],
            torch.linspace(0.9, 1.0, c, dtype=torch.float64),
        ]
    )


def _active_quantum_layers(model) -> set[int]:
    """Layers whose transverse fields are not all zero (their state is not diagonal)."""
    return {
        k
        for k, layer in enumerate(model.layers)
        if not layer.acts_classically(model.layer_params(k))
    }


def traceable_layers(model, *, include_visible: bool = True) -> tuple[int, ...]:
    """A set of pairwise non-neighbouring layers, holding every layer with ``Gamma != 0``, to
    trace out in closed form (:func:`log_trace_out`).

    Of the even layers (the visible layer among them only if ``include_visible``) and the odd
    layers, the non-empty sets that hold every such quantum layer, the one with the most units
    (ties: the even layers); if neither holds them all, the quantum layers themselves. A QiDBM
    whose Gamma is 0 chooses as its classical twin does.
    """
    quantum = _active_quantum_layers(model)
    first = 0 if include_visible else 1
    layers = range(first, len(model.layers))
    parity = ({k for k in layers if k % 2 == p} for p in (0, 1))
    options = [chosen for chosen in parity if chosen and quantum <= chosen] or [quantum]
    best = max(options, key=lambda chosen: sum(model.layers[k].size for k in chosen))
    return tuple(sorted(best))


def ais_summed_layers(model) -> tuple[int, ...]:
    """Layers that AIS sums (traces) out in closed form; it anneals the others.

    One hidden layer: the hidden layer (AIS over the visible marginal ``p*(v)``, which RAISE
    shares). Deeper models: :func:`traceable_layers` with the visible layer allowed, i.e. the
    smallest annealed state: for a classical 784-500-1000 DBM ``{v, h2}`` summed and ``h1``
    annealed, as Salakhutdinov & Hinton 2009; for a QiDBM with quantum ``h1``, ``h1`` traced
    and ``(v, h2)`` annealed.
    """
    if len(model.layers) == 2:
        return (1,)
    return traceable_layers(model)


def log_trace_out(
    model, values: list[Tensor | None], summed, fields: dict[int, Tensor] | None = None
) -> Tensor:
    """``log <x_U| Tr_S exp(-H) |x_U>`` per row: layers ``S = summed`` traced out in closed form.

    ``values[k]`` are Z-basis values (or, for the mean-field bound of
    :mod:`qdoem.metrics.dbm_likelihood`, means) of the layers ``U`` not in ``summed``; entries
    of ``summed`` are ignored. ``summed`` must hold no two neighbours and every layer with
    ``Gamma != 0``. Maths (module docstring): the diagonal terms of ``-H`` inside ``U`` plus,
    per unit of ``S``, ``log Tr exp(c n + Gamma X)`` at the field of its neighbours. For a model
    with one hidden layer and ``summed = (1,)`` it is ``unnormalized_log_prob(v)``.
    ``fields``: the fields of (some of) the summed layers at ``values``, when the caller has
    them (computed here otherwise).
    """
    summed = set(summed)
    kept = [k for k in range(len(model.layers)) if k not in summed]
    values = [None if k in summed else values[k] for k in range(len(model.layers))]
    out = sum(model.layers[k].log_potential(values[k], model.layer_params(k)) for k in kept)
    for c in model.couplings:
        if c.lower not in summed and c.lower + 1 not in summed:
            out = out + model._coupling_term(c.lower, values)
    for k in sorted(summed):
        field = fields[k] if fields is not None and k in fields else model.field(k, values)
        out = out + model.layers[k].log_partition(field, model.layer_params(k)).sum(-1)
    return out


def _check_summed(model, summed) -> tuple[int, ...]:
    """``summed`` checked: distinct layer indices, no two neighbours, every quantum layer with
    ``Gamma != 0`` among them, at least one layer left to anneal."""
    n = len(model.layers)
    bad = [k for k in summed if isinstance(k, bool) or not isinstance(k, int) or not 0 <= k < n]
    chosen = set(summed)
    if bad or not chosen or len(chosen) == n:
        raise ValueError(f"summed must be layer indices in 0..{n - 1}, not all, got {summed!r}")
    if any(k + 1 in chosen for k in chosen):
        raise ValueError(f"summed must hold no two neighbouring layers, got {sorted(chosen)}")
    missing = sorted(_active_quantum_layers(model) - chosen)
    if missing:
        raise ValueError(
            f"summed {sorted(chosen)} leaves quantum layers {missing} (Gamma != 0) to the "
            f"annealed state, whose values must be classical: add them to summed"
        )
    if n == 2 and chosen != {1}:
        raise ValueError("with one hidden layer AIS anneals the visible marginal: summed=(1,)")
    return tuple(sorted(chosen))


def _annealing_setup(model, base_bias, sampler, reversible=False):
    """Checked ``(float64 model, a0, log Z_0)`` for annealing ``model`` with ``sampler``."""
    check_sampler(sampler)
    if reversible and not model.has_closed_form_marginal():
        raise NotImplementedError(
            f"RAISE anneals the visible marginal, which needs one hidden layer (closed-form "
            f"p*(v)); {type(model).__name__} has {len(model.layers) - 1}: use "
            f"log_prob(method='exact') on small models, or the variational bound "
            f"(qdoem.metrics.dbm_log_likelihood_bound)"
        )
    if sampler not in EXACT_SAMPLERS and model.has_transverse_field():
        raise ValueError(
            f"annealing needs transitions that leave each tempered law invariant; sampler "
            f"{sampler!r} is biased at Gamma != 0 (use one of {EXACT_SAMPLERS})"
        )
    if reversible and sampler not in REVERSIBLE_SAMPLERS:
        raise ValueError(
            f"RAISE needs a kernel that is reversible on the visible marginal; sampler "
            f"{sampler!r} is not (use one of {REVERSIBLE_SAMPLERS})"
        )
    n = model.n_visible
    a0 = None if base_bias is None else base_bias.double().cpu()
    if a0 is not None and a0.shape != (n,):
        raise ValueError(f"base_bias must have shape ({n},), got {tuple(a0.shape)}")
    visible = model.layers[0]
    params = {k: t.detach().double().cpu() for k, t in model.layer_params(0).items()}
    log_z0 = visible.base_log_partition(params, a0) + sum(
        layer.zero_field_log_partition() for layer in model.layers[1:]
    )
    return model.to_float64(), a0, log_z0


def _transition(tempered, values: list, summed, sampler: str, estimator, gen) -> list:
    """One sweep of ``sampler`` on the tempered model from the annealed layers' values (the
    summed layers' entries are None); returns the annealed layers' new values (the rest None).

    The summed layers are first drawn from their exact conditional given the others (one
    ``"plain"`` sweep with the others clamped: each summed layer has only annealed neighbours,
    none of them quantum with Gamma != 0, so that is its exact conditional) unless the sweep
    draws them before reading them: the exact and plain sweeps draw the odd layers first, the
    twin move (at Gamma != 0; else it is the plain sweep) every quantum layer.
    """
    n = len(tempered.layers)
    kept = [k for k in range(n) if k not in summed]
    if sampler == "twin-mh" and tempered.has_transverse_field():  # else the plain sweep
        fill = any(not tempered.layers[k].quantum for k in summed)
    else:
        fill = set(summed) != set(range(1, n, 2))
    state = ChainState(list(values))
    if fill:
        sweep(tempered, state, "plain", estimator, gen, clamped=kept)
    sweep(tempered, state, sampler, estimator, gen)
    return [state.values[k] if k in kept else None for k in range(n)]


def ais_log_partition(
    model,
    *,
    n_chains: int = DEFAULT_N_CHAINS,
    n_betas: int = DEFAULT_N_BETAS,
    base_bias: Tensor | None = None,
    generator: torch.Generator | None = None,
    sampler: str = "exact",
    summed: tuple[int, ...] | None = None,
) -> AISResult:
    """Annealed importance sampling estimate of ``log Z`` with its standard error.

    Parameters
    ----------
    model : LayeredModel
        {0,1} visible units with one hidden layer (AIS over the closed-form visible marginal),
        or several (DBM, QiDBM: AIS over the layers not in ``summed``, the others traced out
        in closed form; see the module docstring).
    n_chains : int
        Number of independent AIS runs ``M``.
    n_betas : int
        Number of inverse temperatures, including 0 and 1. Sharp models (PCD-trained, or
        trained long) need many: 1000 underestimated ``log Z`` of PCD-trained MNIST RBMs by
        20-32 nats; check with :func:`qdoem.metrics.likelihood_report`.
    base_bias : Tensor, optional
        Visible biases ``a0`` of the base-rate model (e.g. data log-odds). Zeros if omitted.
    generator : torch.Generator, optional
        Random source (CPU), for reproducibility.
    sampler : str
        Transition kernel (:data:`qdoem.sampling.kernels.SAMPLERS`); ``"plain"`` only for
        classical models, where it is exact.
    summed : tuple of int, optional
        Layers traced out in closed form (default :func:`ais_summed_layers`): no two
        neighbours, every layer with ``Gamma != 0`` among them.

    Returns
    -------
    AISResult
    """
    from qdoem.estimators import ClosedFormEstimator

    check_int("n_chains", n_chains, 2)
    reference, a0, log_z0 = _annealing_setup(model, base_bias, sampler)
    summed = _check_summed(reference, ais_summed_layers(reference) if summed is None else summed)
    gen = generator if generator is not None else torch.Generator().manual_seed(0)
    estimator = ClosedFormEstimator()
    betas = default_betas(n_betas).tolist()
    # x_U at beta_0 = 0: the base model, visible Bernoulli(sigmoid(a0)), hidden units free.
    previous = reference.tempered(betas[0], a0)
    values: list[Tensor | None] = [None] * len(reference.layers)
    for k, layer in enumerate(reference.layers):
        if k in summed:
            continue
        if k == 0:
            values[0] = layer.base_sample(n_chains, reference.layer_params(0), a0, gen)
        else:
            free = previous.layer_params(k)[layer.offset].expand(n_chains, layer.size)
            values[k] = layer.sample(previous.conditional(k, free), gen)
    log_w = torch.zeros(n_chains, dtype=torch.float64)
    for k in range(1, len(betas)):
        current = reference.tempered(betas[k], a0)
        log_w += log_trace_out(current, values, summed) - log_trace_out(previous, values, summed)
        if k < len(betas) - 1:
            values = _transition(current, values, summed, sampler, estimator, gen)
        previous = current
    return AISResult.from_log_weights(log_w, log_z0)


def _reverse_transition(tempered, values: list, summed, sampler: str, estimator, gen) -> list:
    """The time reversal of :func:`_transition` with respect to ``p_beta(x_U)``.

    :func:`_transition` is ``x_S ~ p(x_S | x_U)`` (exact), then the single-layer updates
    ``U_1 ... U_m`` of one sweep (``sweep_order``), each reversible with respect to the Z-basis
    diagonal of the tempered model, and keeps ``x_U``. Its reversal on the ``x_U``-marginal is
    the same exact draw of ``x_S``, then ``U_m ... U_1`` (the adjoint of a product of
    self-adjoint kernels is the product in reverse order); updates of summed layers after the
    last update of an annealed layer are dropped (their values are discarded).
    """
    n = len(tempered.layers)
    kept = [k for k in range(n) if k not in summed]
    state = ChainState(list(values))
    sweep(tempered, state, "plain", estimator, gen, clamped=kept)
    order = list(reversed(tempered.sweep_order))
    while order and order[-1] in summed:
        order.pop()
    for k in order:
        sweep(tempered, state, sampler, estimator, gen, clamped=[j for j in range(n) if j != k])
    return [state.values[k] if k in kept else None for k in range(n)]


def reverse_ais_log_partition(
    model,
    start: Tensor | None = None,
    *,
    n_chains: int = DEFAULT_N_CHAINS,
    n_betas: int = DEFAULT_N_BETAS,
    burn_in: int = DEFAULT_BURN_IN,
    base_bias: Tensor | None = None,
    generator: torch.Generator | None = None,
    sampler: str = "exact",
    summed: tuple[int, ...] | None = None,
) -> AISResult:
    """Reverse AIS (BDMC) estimate of ``log Z``: annealed from model samples down to the base.

    The chains start at visible rows drawn from ``start`` (with replacement; uniform noise if
    omitted), run ``burn_in`` sweeps of the model's own exact chain at ``beta = 1``
    (:meth:`~qdoem.models.base.LayeredModel.chain_state`, then :func:`qdoem.sampling.sweep`),
    and are then annealed down through the temperatures of :func:`ais_log_partition`, each step
    the time reversal of its forward transition (module docstring):

        log Z_rev = log Z_0 - log mean_m w_rev,m,
        log w_rev = sum_{k=K..1} [log p*_{beta_{k-1}}(x_k) - log p*_{beta_k}(x_k)].

    **A bound only when the start samples are exact.** If the chains at ``beta = 1`` are exact
    samples of ``p(x_U)``, ``E[w_rev] = Z_0 / Z``, so ``E[log Z_rev] >= log Z`` and
    ``P(log Z_rev < log Z - t) <= exp(-t)``: a stochastic upper bound (Grosse et al. 2015).
    Samples from a finite chain started at data are approximate: then ``log Z_rev`` is a
    *diagnostic*, not a bound. A reverse estimate far above the forward one says the forward
    chains missed mass that the reverse chains found; one far below says the start samples are
    not from the model (the chains did not mix).

    Parameters
    ----------
    model : LayeredModel
        As for :func:`ais_log_partition` ({0,1} visible units; any number of hidden layers).
    start : Tensor or TemperedStates, optional
        ``(n, n_visible)`` visible rows the chains start from (e.g. test data), or the
        ``beta = 1`` states of :func:`tempered_states` (one chain per row, ``n_chains`` of
        them, annealed layers ``summed``; see the module docstring for what either start
        guarantees).
    n_chains : int
        Number of reverse chains ``M``.
    n_betas, base_bias, generator, summed :
        As for :func:`ais_log_partition`.
    burn_in : int
        Sweeps at ``beta = 1`` before annealing (``>= 0``); from :class:`TemperedStates`,
        transitions of :func:`ais_log_partition` at ``beta = 1``.
    sampler : {"exact", "plain"}
        Kernel (:data:`REVERSE_AIS_SAMPLERS`); ``"plain"`` only for classical models.

    Returns
    -------
    AISResult
        With ``direction="reverse"``.
    """
    from qdoem.estimators import ClosedFormEstimator

    check_int("n_chains", n_chains, 2)
    check_int("burn_in", burn_in)
    if sampler not in REVERSE_AIS_SAMPLERS:
        raise ValueError(
            f"reverse AIS runs the reversal of single-layer updates; sampler {sampler!r} is "
            f"not one (use one of {REVERSE_AIS_SAMPLERS})"
        )
    reference, a0, log_z0 = _annealing_setup(model, base_bias, sampler)
    if not reference.layers[0].binary:
        raise ValueError("reverse AIS needs {0,1} visible units")
    summed = _check_summed(reference, ais_summed_layers(reference) if summed is None else summed)
    gen = generator if generator is not None else torch.Generator().manual_seed(0)
    estimator = ClosedFormEstimator()
    betas = default_betas(n_betas).tolist()
    current = reference.tempered(betas[-1], a0)
    if isinstance(start, TemperedStates):  # the beta = 1 replica's states, one chain each
        if tuple(start.summed) != summed:
            raise ValueError(
                f"start holds the states of layers outside {list(start.summed)}, but this "
                f"annealing traces out {list(summed)}"
            )
        values = [None if v is None else v.double().cpu().clone() for v in start.values]
        rows = next(v.shape[0] for v in values if v is not None)
        if rows != n_chains:
            raise ValueError(f"start (TemperedStates) holds {rows} chains, n_chains is {n_chains}")
        for _ in range(burn_in):
            values = _transition(current, values, summed, sampler, estimator, gen)
    else:
        if start is None:
            v = reference.layers[0].noise(n_chains, gen, "cpu", torch.float64)
        else:
            rows = model._as_input(start, "start").double().cpu()
            if rows.shape[0] == 0:
                raise ValueError("start must have at least one row")
            v = rows[torch.randint(rows.shape[0], (n_chains,), generator=gen)]
        state = current.chain_state(v, gen)
        for _ in range(burn_in):
            sweep(current, state, sampler, estimator, gen)
        values = [None if k in summed else state.values[k] for k in range(len(reference.layers))]
    log_w = torch.zeros(n_chains, dtype=torch.float64)
    for k in range(len(betas) - 1, 0, -1):
        lower = reference.tempered(betas[k - 1], a0)
        log_w += log_trace_out(lower, values, summed) - log_trace_out(current, values, summed)
        if k > 1:  # x_{k-2} ~ T~_{k-1}(. | x_{k-1}); none at beta_0 (the weights end there)
            values = _reverse_transition(lower, values, summed, sampler, estimator, gen)
        current = lower
    return AISResult.from_reverse_log_weights(log_w, log_z0)


@dataclass(frozen=True)
class TemperedStates:
    """States of the annealed layers at ``beta = 1`` after parallel tempering along the AIS
    path (:func:`tempered_states`).

    Attributes
    ----------
    values : list of Tensor or None
        Per layer, the ``beta = 1`` replica's values (``(n_chains, size)``, float64), None for
        the layers in ``summed``.
    summed : tuple of int
        Layers traced out in closed form (the others were tempered).
    betas : tuple of float
        The ladder, ``0 = beta_R < ... < beta_1 = 1``, from the base up.
    swap_rates : tuple of float
        Accepted fraction of the swaps proposed between each pair of neighbours (base first).
    n_steps : int
        Tempering steps run.
    base_bias : Tensor or None
        The base's visible log-odds (None: uniform).
    """

    values: list
    summed: tuple[int, ...]
    betas: tuple[float, ...]
    swap_rates: tuple[float, ...]
    n_steps: int
    base_bias: Tensor | None = None

    @property
    def min_swap_rate(self) -> float:
        """The lowest swap rate along the ladder (near 0: a transition the swaps do not cross,
        and the ``beta = 1`` states may hold one mode)."""
        return min(self.swap_rates) if self.swap_rates else 1.0


def tempered_states(
    model,
    *,
    n_chains: int = DEFAULT_N_CHAINS,
    n_replicas: int = 100,
    n_steps: int = 1000,
    beta_min: float = 1e-3,
    base_bias: Tensor | None = None,
    generator: torch.Generator | None = None,
    sampler: str = "exact",
    summed: tuple[int, ...] | None = None,
) -> TemperedStates:
    """Approximate samples of ``p_1(x_U)`` by parallel tempering along the AIS path.

    Replicas at ``beta = 0`` (the base) and the geometric ladder ``beta_min ... 1``
    (:func:`qdoem.sampling.tempering.temperature_ladder`, ``n_replicas - 1`` of them) of the
    family ``p*_beta(x_U)`` that :func:`ais_log_partition` anneals, ``n_chains`` independent
    ladders side by side. Geometric spacing keeps the hot end fine: on a 784-200-200 MNIST DBM
    (30 epochs) the AIS schedule ``default_betas(20)`` left the two hottest pairs swapping 0 %
    of the time, while ``0`` plus 39 geometric betas from ``1e-3`` gave every pair >= 6 %.
    Every replica starts from an exact draw of the base. One
    step: the ``beta = 0`` replica is redrawn exactly from the base; every other replica makes
    one transition of :func:`ais_log_partition` at its beta (which leaves ``p_beta(x_U)``
    invariant); then the neighbours ``(i, i + 1)`` of one parity (alternating, even-odd scheme
    as :mod:`qdoem.sampling.tempering`) swap their states with probability

        min(1, p*_i(x_j) p*_j(x_i) / (p*_i(x_i) p*_j(x_j))),

    ``log p*_beta`` from :func:`log_trace_out`, normalisers cancelling. Each move keeps the
    product ``prod_k p_{beta_k}`` invariant, so the ``beta = 1`` replica is a Markov chain with
    stationary law ``p_1(x_U)``: exact only in the limit of many steps (module docstring).

    Parameters
    ----------
    model : LayeredModel
        As for :func:`ais_log_partition` (several hidden layers: the deep models).
    n_chains : int
        Independent ladders (the states returned, one per ladder).
    n_replicas : int
        Temperatures on each ladder, including 0 and 1 (``>= 3``).
    n_steps : int
        Tempering steps (``>= 1``).
    beta_min : float
        The smallest non-zero beta, in ``(0, 1)``.
    base_bias, generator, sampler, summed :
        As for :func:`ais_log_partition`.
    """
    from qdoem.estimators import ClosedFormEstimator

    check_int("n_chains", n_chains, 2)
    from qdoem.sampling.tempering import temperature_ladder

    check_int("n_replicas", n_replicas, 3)
    check_int("n_steps", n_steps, 1)
    reference, a0, _ = _annealing_setup(model, base_bias, sampler)
    summed = _check_summed(reference, ais_summed_layers(reference) if summed is None else summed)
    gen = generator if generator is not None else torch.Generator().manual_seed(0)
    estimator = ClosedFormEstimator()
    betas = [0.0, *reversed(temperature_ladder(n_replicas - 1, beta_min, "geometric"))]
    models = [reference.tempered(b, a0) for b in betas]
    n_layers = len(reference.layers)

    def base_draw() -> list:
        values: list[Tensor | None] = [None] * n_layers
        for k, layer in enumerate(reference.layers):
            if k in summed:
                continue
            if k == 0:
                values[0] = layer.base_sample(n_chains, reference.layer_params(0), a0, gen)
            else:  # free hidden units at beta = 0 (the one-unit Gibbs state at zero field)
                free = models[0].layer_params(k)[layer.offset].expand(n_chains, layer.size)
                values[k] = layer.sample(models[0].conditional(k, free), gen)
        return values

    states = [base_draw() for _ in betas]
    accepted = [0] * (len(betas) - 1)
    proposed = [0] * (len(betas) - 1)
    for step in range(n_steps):
        states[0] = base_draw()
        for r in range(1, len(betas)):
            states[r] = _transition(models[r], states[r], summed, sampler, estimator, gen)
        for i in range(step % 2, len(betas) - 1, 2):
            j = i + 1
            cross = log_trace_out(models[i], states[j], summed) + log_trace_out(
                models[j], states[i], summed
            )
            own = log_trace_out(models[i], states[i], summed) + log_trace_out(
                models[j], states[j], summed
            )
            u = torch.rand(n_chains, generator=gen, dtype=torch.float64)
            accept = u.log() < cross - own
            accepted[i] += int(accept.sum())
            proposed[i] += n_chains
            mask = accept[:, None]
            for k in range(n_layers):
                if states[i][k] is None:
                    continue
                a, b = states[i][k], states[j][k]
                states[i][k], states[j][k] = torch.where(mask, b, a), torch.where(mask, a, b)
    rates = tuple(a / n if n else float("nan") for a, n in zip(accepted, proposed, strict=True))
    return TemperedStates(states[-1], summed, tuple(betas), rates, n_steps, a0)


def raise_log_prob(
    model,
    data: Tensor,
    *,
    n_betas: int = DEFAULT_N_BETAS,
    base_bias: Tensor | None = None,
    generator: torch.Generator | None = None,
    sampler: str = "exact",
) -> RAISEResult:
    """Reverse AIS (RAISE) estimates of ``log p(v)`` for each row of ``data``: conservative.

    One reverse annealing chain starts at each row (see the module docstring for the estimator
    and why it is a stochastic lower bound). All rows run as one batch of chains.

    Parameters
    ----------
    model : LayeredModel
        One hidden layer and {0,1} visible units.
    data : Tensor
        ``(n, n_visible)`` {0,1} rows.
    n_betas, base_bias, generator, sampler :
        As for :func:`ais_log_partition`; ``sampler`` must be reversible
        (:data:`REVERSIBLE_SAMPLERS`).
    """
    from qdoem.estimators import ClosedFormEstimator

    reference, a0, log_z0 = _annealing_setup(model, base_bias, sampler, reversible=True)
    v = model._as_input(data, "data").double().cpu()
    gen = generator if generator is not None else torch.Generator().manual_seed(0)
    estimator = ClosedFormEstimator()
    betas = default_betas(n_betas).tolist()
    current = reference.tempered(betas[-1], a0)
    log_p = current.unnormalized_log_prob(v) - log_z0
    for k in range(len(betas) - 1, 0, -1):
        v = _transition(current, [v, None], (1,), sampler, estimator, gen)[0]  # ~ T_k(. | v_k)
        lower = reference.tempered(betas[k - 1], a0)
        log_p += lower.unnormalized_log_prob(v) - current.unnormalized_log_prob(v)
        current = lower
    return RAISEResult(log_prob=log_p, n_betas=len(betas))
