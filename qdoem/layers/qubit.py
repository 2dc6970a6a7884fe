"""Quantum units: qubits in a transverse field, the latent layers of QRBMs and QiDBMs.

Given its classical neighbours, a quantum unit has the Hamiltonian ``H = -c n - Gamma X`` with
``n = |1><1| = (I - Z)/2``. Its eigenvalues are ``-c/2 -/+ D`` with ``D = sqrt(c^2/4 + Gamma^2)``,
hence (MATH-NOTES, "QRBM")

- ``log Tr exp(-H) = c/2 + log(2 cosh D)``                          (:func:`log_partition`)
- ``<n> = d/dc   = (1 + (c / 2D) tanh D) / 2``                      (:func:`occupation`)
- ``<X> = d/dGamma = (Gamma / D) tanh D``                           (:func:`transverse`)
- ``<z|exp(-H)|z> = e^{c/2} (cosh D + (2z - 1)(c/2) sinh(D)/D)``    (:func:`log_diagonal`)

At ``Gamma = 0`` these are ``softplus(c)``, ``sigmoid(c)``, ``0`` and ``e^{c z}``: the classical
unit of :mod:`qdoem.layers.bernoulli`.

The formulas are rewritten so that no step cancels catastrophically: ``log 2cosh D`` is
``D + log1p(exp(-2D))`` and ``<n>`` is a sum of non-negative terms (see
:func:`occupation_and_transverse`). ``c = Gamma = 0`` (``D = 0``) gives its limit,
``<n> = 1/2`` and ``<X> = 0``.

:func:`occupation_and_transverse_fast`, :func:`chain_terms` and :func:`log_diagonal_ratio` are the
training hot path: few elementwise kernels, in place, accurate to a few ulps of 1 (of ``|c|`` for
the MH weight). The numpy reference is :mod:`qdoem.theory.latent_unit`; the two are cross-tested.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor

from qdoem.layers.base import Layer, Params, Stats
from qdoem.layers.bernoulli import bernoulli_sample

__all__ = [
    "QubitLayer",
    "ChainTerms",
    "bloch_entropy",
    "chain_terms",
    "bloch_entropy_shot_terms",
    "entropy",
    "log_diagonal",
    "log_diagonal_field_grad",
    "log_diagonal_ratio",
    "log_diagonal_ratio_units",
    "log_partition",
    "occupation",
    "occupation_and_transverse",
    "occupation_and_transverse_fast",
    "sample_occupation",
    "transverse",
    "twin_log_weight",
    "gibbs_statistics",
]


def _gap(c: Tensor, gamma: Tensor) -> Tensor:
    # hypot avoids overflow of c^2 for large fields.
    return torch.hypot(0.5 * c, gamma)


def log_partition(c: Tensor, gamma: Tensor) -> Tensor:
    """``log Tr exp(c n + Gamma X)`` for each hidden qubit.

    Parameters
    ----------
    c : Tensor
        Longitudinal fields ``b + W^T v``, shape ``(..., n_hidden)``.
    gamma : Tensor
        Transverse fields, broadcastable to ``c``.

    Returns
    -------
    Tensor
        ``c/2 + D + log1p(exp(-2D))``, i.e. ``c/2 + log 2cosh D``. Equals ``softplus(c)`` at
        ``Gamma = 0``.
    """
    d = _gap(c, gamma)
    return 0.5 * c + d + torch.log1p(torch.exp(-2.0 * d))


def occupation(c: Tensor, gamma: Tensor) -> Tensor:
    """Conditional occupation ``<n> = P(hidden qubit measured as 1 | v)``.

    Maths: ``<n> = (1 + r tanh D) / 2`` with ``r = c / 2D``, evaluated as a sum of
    non-negative terms (see :func:`occupation_and_transverse`). Equals ``sigmoid(c)``, bit for
    bit, at ``Gamma = 0``.
    """
    return occupation_and_transverse(c, gamma)[0]


def transverse(c: Tensor, gamma: Tensor) -> Tensor:
    """Conditional transverse magnetisation ``<X> = (Gamma / D) tanh D`` (0 at ``Gamma = 0``)."""
    return occupation_and_transverse(c, gamma)[1]


def occupation_and_transverse(c: Tensor, gamma: Tensor) -> tuple[Tensor, Tensor]:
    """``(<n>, <X>)`` together, sharing ``D``; the training hot path.

    Maths: with ``r = c / 2D`` and ``tanh D = 2 sigmoid(2D) - 1``,
    ``<n> = (1 + r tanh D) / 2 = (1 - |r|) / 2 + |r| sigmoid(sign(c) 2D)``, a sum of
    non-negative terms. ``1 - |r| = (Gamma/D) (Gamma / (D + |c|/2))`` is computed without
    cancellation, and ``<X> = (Gamma/D) tanh D`` with ``tanh D = |2 sigmoid(sign(c) 2D) - 1|``.
    At ``Gamma = 0``, ``sign(c) 2D = c`` and ``1 - |r| = 0`` exactly, so ``<n>`` is bit-for-bit
    ``sigmoid(c)``. At ``D = 0`` (so ``Gamma = 0``) this gives ``<n> = 1/2`` and ``<X> = 0``,
    the limits; where ``D^2`` underflows, ``2D`` is floored at ``sqrt(tiny)``, keeping both
    finite and ``<n>`` at 1/2.

    Parameters
    ----------
    c : Tensor
        Longitudinal fields, shape ``(..., n_hidden)``.
    gamma : Tensor
        Transverse fields, broadcastable to ``c``.

    Returns
    -------
    tuple of Tensor
        Occupation and transverse expectation, both shaped like ``c``.
    """
    # Training hot path (twice per minibatch on (batch, n_hidden)): 16 cheap elementwise
    # kernels, in place on fresh temporaries (tanh and hypot are several times slower on CPU).
    # Work with e = 2D = sqrt(c^2 + 4 Gamma^2). Flooring e at sqrt(tiny) only acts where
    # c^2 + 4 Gamma^2 underflows; it keeps 2 Gamma / D in [-2, 2] and <n> at 1/2 there.
    floor = torch.finfo(c.dtype).tiny ** 0.5
    e = torch.addcmul(4.0 * gamma * gamma, c, c).sqrt_().clamp_min_(floor)
    ratio2 = torch.reciprocal(e).mul_(4.0 * gamma)  # 2 Gamma / D
    # 1 - |r| = Gamma^2 / (D (D + |c|/2)) = (2 Gamma / D) * Gamma / (2D + |c|)
    one_minus_r = c.abs().add_(e).reciprocal_().mul_(gamma).mul_(ratio2)
    s = e.copysign_(c).sigmoid_()  # sigmoid(sign(c) 2D); e is consumed here
    t = s - 0.5
    n = torch.addcmul(s, one_minus_r, t, value=-1.0)  # s + (1 - |r|)(1/2 - s)
    # tanh D = |2 sigmoid(sign(c) 2D) - 1|, accurate to an ulp of 1 (absolute), which is
    # what a +-1-valued statistic needs; <X> = (Gamma/D) tanh D = |t| * (2 Gamma / D).
    x = t.abs_().mul_(ratio2)
    return n, x


class ChainTerms(NamedTuple):
    """What the exact chain keeps with a quantum layer's fields ``c`` for its next MH move.

    ``p0 = P(z = 0 | c) = 1 - <n>`` and ``p1 = P(z = 1 | c) = <n>`` per unit, the Z-basis
    outcome probabilities of each unit's Gibbs state, each to its *relative* accuracy (an
    improbable outcome's log-probability enters the MH weight); and per row
    ``log_z_rest = sum_j [log Tr exp(c_j n + Gamma_j X) - max(c_j, 0)]``, the log-partition
    (:func:`log_partition`) less its large part: each unit adds a term in
    ``[0, log 2 + |Gamma_j|]``, so the sum keeps its absolute accuracy. Made by
    :func:`chain_terms`, consumed by :func:`log_diagonal_ratio`.
    """

    p0: Tensor
    p1: Tensor
    log_z_rest: Tensor


def chain_terms(c: Tensor, gamma: Tensor) -> ChainTerms:
    """:class:`ChainTerms` of fields ``c``: the training hot path of the exact chain.

    Maths: with ``e = 2D = sqrt(c^2 + 4 Gamma^2)`` and ``tau = tanh(D) / e``, the probability of
    the outcome against the field (0 if ``c > 0``, 1 if ``c < 0``) is

        ``P_against = (1 - |c| tau) / 2 = sigmoid(-e) + tau (e - |c|) / 2``,

    a sum of non-negative terms with ``e - |c| = 4 Gamma^2 / (e + |c|)`` (no cancellation, so an
    improbable outcome keeps its relative accuracy). The other outcome adds ``|c| tau``:
    ``p0 = P_against + max(-tau c, 0)``, ``p1 = P_against + max(tau c, 0)`` (so
    ``<n> = 1/2 + c tau / 2`` and ``<X> = 2 Gamma tau``). ``log Tr exp(c n + Gamma X) =
    (c + e)/2 - log sigmoid(e) = max(c, 0) + (e - |c|)/2 - log sigmoid(e)``; the sum of
    ``log sigmoid(e)`` (each in ``[-log 2, 0]``) is taken as the log of products of 64 factors
    (each product at least ``2^-64``: one log per 64 units). ``e^2`` is offset by the smallest
    normal number ``tiny``, so that ``c = Gamma = 0`` gives ``p0 = p1 = 1/2`` with no NaN, and
    ``e`` is capped at ``-log(tiny)`` inside the sigmoid: ``P_against >= tiny`` (no subnormal
    numbers, which are slow; an outcome improbable beyond the dtype's range is floored there).
    About 18 elementwise kernels, in place on three temporaries.

    Parameters
    ----------
    c : Tensor
        Longitudinal fields, shape ``(batch, units)``.
    gamma : Tensor
        Transverse fields, broadcastable to ``c`` (typically ``(units,)``).
    """
    tiny = torch.finfo(c.dtype).tiny
    g4 = 4.0 * gamma * gamma
    e2 = torch.addcmul(g4 + tiny, c, c)
    tau = torch.rsqrt(e2)  # 1/e for now
    zero, one = c.new_zeros(()), c.new_ones(())
    ne = torch.addcmul(zero, e2, tau, value=-1.0, out=e2)  # -e = -e^2 / e
    d = torch.abs(c).sub_(ne)
    d = torch.div(g4, d, out=d)  # e - |c| = 4 Gamma^2 / (e + |c|)
    log_z_rest = d.sum(-1).mul_(0.5)  # sum (e - |c|)/2; minus sum log sigmoid(e) below
    s = ne.clamp_min_(math.log(tiny)).sigmoid_()  # sigmoid(-e) >= tiny; -e is consumed here
    tau.addcmul_(s, tau, value=-2.0)  # (1 - 2 sigmoid(-e)) / e = tanh(D) / e
    against = torch.addcmul(s, tau, d, value=0.5, out=d)
    log_z_rest -= _sum_log_unit_half(torch.sub(one, s, out=s))  # sigmoid(e), in [1/2, 1]
    t = torch.mul(tau, c, out=s)  # tau c, signed like c
    p0 = torch.sub(against, torch.clamp(t, max=0.0, out=tau), out=tau)
    p1 = against.add_(t.clamp_min_(0.0))
    return ChainTerms(p0, p1, log_z_rest)


def _sum_log_unit_half(t: Tensor) -> Tensor:
    """``sum log t`` over the last axis for ``t`` in ``[1/2, 1]``: the log of products of 64
    factors (each at least ``2^-64``, far inside every float range), summed. Inside
    ``torch.compile`` (:mod:`qdoem.sampling.fused`) the sum of the logs: in a fused loop a log
    per element costs no extra pass, and a dynamic-width reshape does not lower."""
    if torch.compiler.is_compiling():
        return t.log().sum(-1)
    n = t.shape[-1]
    m = n - n % 64
    out = t[..., :m].unflatten(-1, (-1, 64)).prod(-1).log_().sum(-1)
    if m < n:
        out += t[..., m:].prod(-1).log_()
    return out


def gibbs_statistics(
    c: Tensor, gamma: Tensor, gamma_is_zero: bool | None = None
) -> tuple[Tensor, Tensor]:
    """``(<n>, <X>)`` of each unit's Gibbs state: the closed form the trainer uses (and the
    ``exact`` backend, so that training through it repeats closed-form training bit for bit).

    Hot path (twice per training step): :func:`occupation_and_transverse_fast`, accurate to a
    few ulps of 1; exactly the classical ``sigmoid(c)`` and 0 when every Gamma is 0
    (``gamma_is_zero``, checked here when None).
    """
    if gamma_is_zero is None:
        gamma_is_zero = not bool(gamma.any())
    if gamma_is_zero:
        n = torch.sigmoid(c)
        return n, torch.zeros_like(n)
    return occupation_and_transverse_fast(c, gamma)


def occupation_and_transverse_fast(c: Tensor, gamma: Tensor) -> tuple[Tensor, Tensor]:
    """``(<n>, <X>)`` in few kernels, to absolute accuracy; the training hot path.

    Maths: with ``e = 2D = sqrt(c^2 + 4 Gamma^2)`` and ``a = sigmoid(e) - 1/2 = tanh(D) / 2``,
    ``<n> = 1/2 + c a / e`` and ``<X> = 4 Gamma a / e``. ``1/e`` comes from one ``rsqrt``; ``e``
    is then ``e^2 / e``. ``e^2`` is offset by the smallest normal number so that ``c = Gamma =
    0`` gives ``a = 0``, hence the limits ``<n> = 1/2`` and ``<X> = 0``, with no NaN. Eight
    kernels, three allocations, in place wherever possible (this runs twice per training step).

    Accuracy: ``a`` is computed next to 1/2 and ``<n>`` next to 1/2 + r a with ``|r| <= 1``,
    so errors are a few ulps *of 1* (measured against a long-double reference on
    c in [-50, 50], Gamma in [0, 10], with exact zeros: below 2e-7 for ``<n>`` and 4e-7 for
    ``<X>`` in float32, below 4e-16 and 7e-16 in float64; :func:`occupation_and_transverse`
    is equally accurate in absolute terms). Unlike :func:`occupation_and_transverse`, the
    *relative* accuracy of a tiny ``<n>`` (``c << 0``) is lost, and ``Gamma = 0`` does not
    give ``sigmoid(c)`` bit for bit; both are irrelevant for Bernoulli sampling against a
    uniform draw and for batch-mean statistics. ``<n>`` is clamped to ``[0, 1]``.

    Parameters
    ----------
    c : Tensor
        Longitudinal fields, shape ``(..., n_hidden)``.
    gamma : Tensor
        Transverse fields, broadcastable to ``c`` (typically ``(n_hidden,)``; the per-unit
        work on it is negligible).

    Returns
    -------
    tuple of Tensor
        Occupation and transverse expectation, both shaped like ``c`` (new tensors).
    """
    g4 = 4.0 * gamma
    # Small per-unit vector: 4 Gamma^2 + tiny, so e2 >= tiny (no 0 * inf below).
    e2 = torch.addcmul(torch.mul(g4, gamma).add_(torch.finfo(c.dtype).tiny), c, c)
    q = torch.rsqrt(e2)  # 1/e
    a = e2.mul_(q).sigmoid_().sub_(0.5)  # e, then sigmoid(e) - 1/2 = tanh(D)/2, in place
    return _moments(c, q.mul_(a), g4)


def _moments(c: Tensor, a_over_e: Tensor, g4: Tensor) -> tuple[Tensor, Tensor]:
    """``(<n>, <X>) = (1/2 + c a/e, 4 Gamma a/e)``; consumes ``a_over_e``."""
    n = torch.addcmul(c.new_full((), 0.5), c, a_over_e).clamp_(0.0, 1.0)
    return n, a_over_e.mul_(g4)


def entropy(c: Tensor, gamma: Tensor) -> Tensor:
    """Von Neumann entropy ``S = log Z - c <n> - Gamma <X>`` of each unit's Gibbs state (nats).

    Maths: ``rho = exp(-H)/Z`` gives ``S = -Tr rho log rho = <H> + log Z`` with
    ``<H> = -c <n> - Gamma <X>``. The eigenvalues of ``rho`` are ``sigmoid(+-2D)``, so ``S`` is
    the binary entropy of ``p = sigmoid(2D)``, evaluated as ``p softplus(-2D) + (1 - p)
    softplus(2D)``: no cancellation, so ``S >= 0`` for any field (the difference above loses
    ``|c|`` ulps at large ``|c|``). At ``Gamma = 0`` it is the binary entropy of ``sigmoid(c)``.
    """
    a = 2.0 * _gap(c, gamma)
    p = torch.sigmoid(a)
    return p * F.softplus(-a) + torch.sigmoid(-a) * F.softplus(a)


def _radius_entropy(rho: Tensor) -> Tensor:
    """``f(rho) = h((1 + rho)/2)``, the entropy of a qubit whose Bloch vector has length ``rho``
    (clipped to ``[0, 1]``), nats."""
    rho = rho.clamp(0.0, 1.0)
    p, q = 0.5 * (1.0 + rho), 0.5 * (1.0 - rho)
    return -(torch.special.xlogy(p, p) + torch.special.xlogy(q, q))


def bloch_entropy(n: Tensor, x: Tensor) -> Tensor:
    """Von Neumann entropy (nats) of the qubit state with ``<n> = n`` and ``<X> = x``, ``<Y> = 0``.

    Maths: ``rho = (I + r_z Z + r_x X) / 2`` with the Bloch vector ``r = (1 - 2<n>, <X>)``; its
    eigenvalues are ``(1 +- |r|)/2``, so ``S = h((1 + |r|)/2)`` with ``h`` the binary entropy.
    ``|r|`` is clipped to 1: shot estimates of ``<n>`` and ``<X>`` are independent and can put
    ``r`` outside the Bloch ball, where the plug-in state is taken as pure. At the exact
    statistics of a Gibbs state (``|r| = tanh D``) this equals :func:`entropy`.
    """
    return _radius_entropy(torch.hypot(1.0 - 2.0 * n, x))


def bloch_entropy_shot_terms(
    n: Tensor, x: Tensor, var_n: Tensor, var_x: Tensor
) -> tuple[Tensor, Tensor, Tensor]:
    """Shot bias of :func:`bloch_entropy` and its gradient, at estimated ``<n>``, ``<X>``.

    Parameters
    ----------
    n, x : Tensor
        Estimates of ``<n>`` and ``<X>`` (independent: Z- and X-basis shots of separate runs).
    var_n, var_x : Tensor
        Their variances (binomial: ``<n>(1 - <n>)/N`` and ``(1 - <X>^2)/N`` for ``N`` shots).

    Returns
    -------
    bias : Tensor
        Estimate of ``E[S(r_hat)] - S(r)`` (``<= 0``), to second order in the shot noise.
    grad_n, grad_x : Tensor
        ``dS/d<n>`` and ``dS/d<X>`` at the estimate (for the delta-method variance
        ``grad_n^2 var_n + grad_x^2 var_x``).

    Notes
    -----
    **The bias.** ``S(r) = f(|r|)`` with ``f(rho) = h((1 + rho)/2)``, ``f'(rho) = -artanh(rho)``
    and ``f''(rho) = -1/(1 - rho^2)``. With ``u = r/|r|`` the Hessian is
    ``f'' u u^T + (f'/rho)(I - u u^T)``, negative definite (``S`` is concave), so the plug-in
    entropy of an unbiased noisy ``r_hat`` is biased low. The second-order delta method gives

        E[S(r_hat)] - S(r) ~ 1/2 tr(Hess S . Cov r_hat) = 1/2 f''(rho) s_r + f'(rho) s_t / (2 rho),

    with the radial and tangential variances ``s_r = u^T Cov u`` and
    ``s_t = tr Cov - s_r``, ``Cov = diag(4 var_n, var_x)`` (``r_z = 1 - 2<n>``): an ``O(1/N)``
    bias, e.g. ``-(s_z + s_x)/2`` at ``rho = 0``; for a unit along an axis the radial part is
    ``-1/(2N)`` whatever its purity.

    **The correction** subtracts this bias evaluated at the estimate, which leaves
    ``O(N^{-3/2})`` where the expansion holds, i.e. where the shots resolve the distance to the
    surface of the Bloch ball (``N (1 - |r|) >> 1``). Two guards keep it bounded where they do
    not: the tangential part is taken as ``f(sqrt(rho^2 + s_t)) - f(rho)``, which is
    ``f'(rho) s_t / (2 rho) + O(s_t^2)`` and never below ``-f(rho)``; in the radial part
    ``1 - rho^2`` is floored at ``2 sqrt(s_r)`` (the radial noise), bounding it by
    ``sqrt(s_r)/4``. Measured with ideal shot noise (``exact`` backend, 20000 repeats), for
    units with ``|r|`` up to 0.97: at 32 shots the bias falls from -0.02..-0.04 nats to
    0.000..0.011, at 1000 shots from -0.001..-0.002 to within 4e-4 (two standard errors of
    that measurement). For nearly pure units
    (``N (1 - |r|) < 1``) neither value is reliable: the plug-in bias there can be positive
    (``r_hat`` falls well inside the ball after a rare outcome), and the corrected value is
    too high (by 0.01-0.04 nats per unit at 16-32 shots); use more shots.

    **The gradient** is ``dS/dr = -artanh(rho) u``: ``dS/d<n> = 2 artanh(rho) u_z`` and
    ``dS/d<X> = -artanh(rho) u_x`` (``rho`` kept below the floor above). At the exact
    statistics of ``H = -c n - Gamma X`` these are ``-c`` and ``-Gamma``
    (``S = log Z - c<n> - Gamma<X>``, Legendre duality).
    """
    rz = 1.0 - 2.0 * n
    rho = torch.hypot(rz, x)
    safe = torch.where(rho > 0, rho, torch.ones_like(rho))
    uz = torch.where(rho > 0, rz / safe, torch.ones_like(rho))  # any unit vector at rho = 0
    ux = torch.where(rho > 0, x / safe, torch.zeros_like(rho))
    s_z, s_x = 4.0 * var_n, var_x
    s_r = uz * uz * s_z + ux * ux * s_x
    s_t = ux * ux * s_z + uz * uz * s_x
    one_minus = torch.maximum(1.0 - rho * rho, 2.0 * s_r.sqrt())
    radial = torch.where(s_r > 0, -0.5 * s_r / one_minus, torch.zeros_like(rho))
    r0 = rho.clamp(max=1.0)
    tangential = _radius_entropy(torch.sqrt(r0 * r0 + s_t)) - _radius_entropy(r0)
    # rho pulled inside the floor, and below 1 so that artanh stays finite at exact statistics
    # (where the variances are 0 and the gradient is never weighted).
    top = 1.0 - torch.finfo(n.dtype).eps
    inside = torch.sqrt((1.0 - one_minus).clamp(min=0.0)).clamp(max=top)
    atanh = torch.atanh(torch.minimum(rho, inside))
    return radial + tangential, 2.0 * atanh * uz, -atanh * ux


def log_diagonal(c: Tensor, gamma: Tensor, z: Tensor) -> Tensor:
    """``log <z|exp(c n + Gamma X)|z> - c z`` per unit, for Z-basis outcomes ``z in {0, 1}``.

    This is the quantum part of the Z-basis joint ``P(v, z) = <v, z|rho|v, z>`` of a CQ-LVM:
    ``log P(v, z) = (classical energy terms, z read as classical bits) + sum_j log_diagonal``.
    It is 0 at ``Gamma = 0``.

    Maths: relabelling ``0 <-> 1`` maps ``n`` to ``1 - n``, so with ``s = c (1 - 2z)`` the value
    is ``psi(s) = log <0|exp(s n + Gamma X)|0>``. With ``e = 2D = sqrt(s^2 + 4 Gamma^2)``,
    ``<0|exp(s n + Gamma X)|0> = [(e - s) e^{(e + s)/2} + (e + s) e^{(s - e)/2}] / (2e)``. With
    ``omega = (e - |s|)/e = 4 Gamma^2 / (e (e + |s|))`` and ``delta = (e - |s|)/2``, both free of
    cancellation,

    - ``s <= 0``: ``psi = delta + log1p(-omega/2) + log1p(omega/(2 - omega) e^{-e})``;
    - ``s > 0``: ``psi = logaddexp(log(omega/2) + (e + s)/2, log1p(-omega/2) - delta)``.

    Relative error below 1e-13 against 50-digit arithmetic on ``|c| <= 45``,
    ``1e-6 <= Gamma <= 5`` (the reference for :func:`log_diagonal_ratio`); exactly 0 at
    ``Gamma = 0``.
    """
    s = c * (1.0 - 2.0 * z)
    gamma = gamma.expand_as(s)
    g2 = 4.0 * gamma * gamma
    e = torch.sqrt(s * s + g2)
    big = e + s.abs()
    safe = torch.where(big > 0, big, torch.ones_like(big))
    small = g2 / safe  # e - |s|
    omega = torch.where(
        e > 0, small / torch.where(e > 0, e, torch.ones_like(e)), torch.zeros_like(e)
    )
    delta = 0.5 * small
    keep = torch.log1p(-0.5 * omega)  # log (e + |s|) / (2e)
    against = delta + keep + torch.log1p(omega / (2.0 - omega) * torch.exp(-e))
    along = torch.logaddexp((0.5 * omega).log() + 0.5 * (e + s), keep - delta)
    return torch.where(s > 0, along, against)


def log_diagonal_field_grad(
    c: Tensor, gamma: Tensor, z: Tensor, terms: ChainTerms | None = None
) -> Tensor:
    """``d/dc log_diagonal(c, Gamma, z)`` per unit: the field-gradient of the MH weight ``w``.

    Gives the drift of Langevin moves of Gaussian visible units on ``log P(v | h)`` of the
    Z-basis joint (:mod:`qdoem.sampling.langevin`): ``grad_v w = W (dw/dc) / sigma^2``.

    Maths: :func:`log_diagonal_ratio`'s decomposition ``log_diagonal = log P(z | c) + log Z - c z``
    with ``d log Z / dc = <n> = p1`` and ``P(1 | c) = <n>`` gives

        ``d/dc log_diagonal = p1 - z + (2z - 1) chi / P(z | c)``,

    ``chi = d<n>/dc`` the unit's susceptibility. From ``<n> = 1/2 + c tau / 2`` with
    ``tau = tanh(D) / e`` and ``e = 2D = sqrt(c^2 + 4 Gamma^2)`` (as in :func:`chain_terms`),

        ``chi = [2 Gamma^2 tau + c^2 sigmoid(e) sigmoid(-e)] / e^2``,

    a sum of non-negative terms (``sech^2 D = 4 sigmoid(e) sigmoid(-e)``). At ``Gamma = 0``,
    ``chi = sigmoid(c)(1 - sigmoid(c))`` and the gradient is 0 (up to rounding), as ``w`` is.
    ``P(z | c)`` is taken from ``terms`` (:class:`ChainTerms` of ``c``, computed when None),
    which keep an improbable outcome's relative accuracy. Used as a Langevin drift, whose MH
    test makes the chain exact whatever its rounding.
    """
    terms = chain_terms(c, gamma) if terms is None else terms
    g2 = gamma * gamma
    e2 = torch.addcmul(4.0 * g2 + torch.finfo(c.dtype).tiny, c, c)
    e = e2.sqrt()
    s = torch.sigmoid(-e)
    tau = torch.addcmul(torch.ones_like(s), s, torch.ones_like(s), value=-2.0).div_(e)
    chi = tau.mul_(2.0 * g2).add_(c * c * s * (1.0 - s)).div_(e2)
    p_z = torch.lerp(terms.p0, terms.p1, z)
    return (terms.p1 - z).add_(chi.mul_(2.0 * z - 1.0).div_(p_z))


#: Elements per block of rows in :func:`log_diagonal_ratio`'s scratch buffers (256 KiB float32).
_RATIO_BLOCK = 65536


def log_diagonal_ratio(
    c_old: Tensor,
    c_new: Tensor,
    gamma: Tensor,
    z: Tensor,
    old: ChainTerms | None = None,
    new: ChainTerms | None = None,
) -> Tensor:
    """``sum_j [log_diagonal(c_new, Gamma, z) - log_diagonal(c_old, Gamma, z)]`` per row.

    The Metropolis-Hastings log-weight of a classical move that changes a quantum layer's
    fields from ``c_old`` to ``c_new`` while its Z-basis outcomes ``z`` stay (the exact chain of
    MATH-NOTES). Training hot path: shapes ``(batch, units)`` in, ``(batch,)`` out; pass the
    :func:`chain_terms` of either state when they are at hand (the exact chain keeps them with
    its fields, so that a move computes only the proposal's).

    Maths: ``<z|exp(c n + Gamma X)|z> = Z P(z | c)``, the partition function times the
    probability of the outcome ``z``, so per unit ``log_diagonal = log P(z | c) + log Z - c z``
    with ``log Z - c z = max(c (1 - 2z), 0) + (log Z - max(c, 0))``. Per row:

        ``sum_j [log P(z_j|c_new)/P(z_j|c_old) + max(s_new, 0) - max(s_old, 0)]
        + log_z_rest_new - log_z_rest_old``, with ``s = c (1 - 2z)``;

    ``P(z | c)`` is selected exactly from :class:`ChainTerms` (``lerp(p0, p1, z)``), one log
    serves both states, and the large terms cancel unit by unit (``max(s, 0)`` is ``max(c, 0)
    - z c``, computed as such). Absolute accuracy: a few ulps of ``|c|`` per unit (units with
    ``Gamma = 0`` give 0 up to that rounding).
    """
    old = chain_terms(c_old, gamma) if old is None else old
    new = chain_terms(c_new, gamma) if new is None else new
    # Memory: blocks of rows, so that the two scratch buffers are small (the sums are per row,
    # so the result is the same bit for bit); the move already holds both states' fields and
    # terms, each a full (batch, units) tensor.
    shape = c_old.shape
    blocked = len(shape) == 2 and all(
        t.shape == shape for t in (c_new, z, old.p0, old.p1, new.p0, new.p1)
    )
    rows = max(1, _RATIO_BLOCK // max(1, shape[-1])) if blocked else None
    out = c_old.new_empty(shape[:1]) if blocked else None
    for i in range(0, shape[0], rows) if blocked else (0,):
        b = slice(i, i + rows) if blocked else ...
        ratio = log_diagonal_ratio_units(
            c_old[b], c_new[b], z[b], old.p0[b], old.p1[b], new.p0[b], new.p1[b]
        )
        if not blocked:  # other shapes (broadcast): one block
            return ratio.sum(-1).add_(new.log_z_rest).sub_(old.log_z_rest)
        torch.sum(ratio, -1, out=out[b])
    return out.add_(new.log_z_rest).sub_(old.log_z_rest)


def log_diagonal_ratio_units(
    c_old: Tensor,
    c_new: Tensor,
    z: Tensor,
    old_p0: Tensor,
    old_p1: Tensor,
    new_p0: Tensor,
    new_p1: Tensor,
) -> Tensor:
    """The per-unit terms of :func:`log_diagonal_ratio`, before the row sums and the
    ``log_z_rest`` difference (a new tensor; the inputs are not changed).

    ``log P(z|c_new)/P(z|c_old) + max(c_new, 0) - max(c_old, 0) - z (c_new - c_old)``, with
    ``P(z|c)`` selected exactly by ``lerp(p0, p1, z)`` from the :class:`ChainTerms`. A pure
    elementwise function: the eager move runs it on blocks of rows, and the opt-in compiled
    move (:mod:`qdoem.sampling.fused`) fuses it with :func:`chain_terms`.
    """
    buf = torch.lerp(old_p0, old_p1, z)
    ratio = torch.lerp(new_p0, new_p1, z).div_(buf).log_()
    ratio.add_(torch.clamp(c_new, min=0.0, out=buf))
    ratio.sub_(torch.clamp(c_old, min=0.0, out=buf))
    return ratio.addcmul_(torch.sub(c_new, c_old, out=buf), z, value=-1.0)


def twin_log_weight(c: Tensor, gamma: Tensor) -> Tensor:
    """``sum_j [log Tr exp(c_j n + Gamma_j X) - softplus(c_j)]`` per row: quantum over twin.

    The Metropolis-Hastings weight of the "MH-corrected classical proposal" chain (``twin-mh``):
    the visible marginals of a model and of its ``Gamma = 0`` twin differ by ``exp`` of this.
    Training hot path: shape ``(batch, units)`` in, ``(batch,)`` out.

    Maths: with ``e = 2D = sqrt(c^2 + 4 Gamma^2)``, per unit ``(e - |c|)/2 + softplus(-e) -
    softplus(-|c|) = 2 Gamma^2 / (e + |c|) + log(sigmoid(|c|) / sigmoid(e))``, all terms
    without cancellation. The ratio lies in ``[1/2, 1]`` (``e >= |c|``), so its logs are summed
    as logs of products of 64 factors (one log per 64 units). ``e^2`` is offset by the smallest
    normal number, so that ``c = Gamma = 0`` gives 0, not 0/0; a unit with ``Gamma = 0`` adds
    exactly 0 (``sqrt(c^2) = |c|`` in floating point). About 10 elementwise kernels on three
    temporaries.
    """
    g2 = 2.0 * gamma * gamma
    e = torch.addcmul(2.0 * g2 + torch.finfo(c.dtype).tiny, c, c).sqrt_()
    a = torch.abs(c)
    first = torch.add(e, a)
    out = torch.div(g2, first, out=first).sum(-1)
    ratio = a.sigmoid_().div_(e.sigmoid_())
    return out.add_(_sum_log_unit_half(ratio))


def sample_occupation(c: Tensor, gamma: Tensor, generator: torch.Generator) -> Tensor:
    """Draws of each unit's imaginary-time occupation fraction ``f``: the path-integral
    auxiliary variable of the ``"path-gibbs"`` chain (:mod:`qdoem.sampling.kernels`).

    Maths (continuous imaginary-time path integral of one qubit, MATH-NOTES conventions
    ``H_unit = -c n - Gamma X``). Expanding ``Tr exp(c n + Gamma X)`` over periodic Z-basis paths
    on ``[0, 1)`` whose flips are weighted by ``Gamma``, a path with ``2k`` flips has its gaps
    uniform on the simplex, and the time ``f`` it spends in state 1 is a ``Beta(k, k + 1)`` or
    ``Beta(k + 1, k)`` variable; summing over ``k``,

        ``Tr exp(c n + Gamma X) = int e^{c f} mu_Gamma(df)``,
        ``mu_Gamma = delta_0 + delta_1 + m_Gamma(f) df``,
        ``m_Gamma(f) = sum_k Gamma^{2k} [f(1-f)]^{k-1} / ((k-1)! k!)
                     = |Gamma| I_1(2 |Gamma| sqrt(f(1-f))) / sqrt(f(1-f))``

    (``I_1`` the modified Bessel function; the atoms are the two paths without flips). So a
    unit's law of ``f`` given its field is the tilted measure ``e^{c f} mu_Gamma(df) / Z(c)``,
    with ``E[f] = d log Z / dc = <n>`` (:func:`occupation`). By the time-translation invariance
    of periodic paths, ``<z|exp(c n + Gamma X)|z> = int f^z (1 - f)^{1-z} e^{c f} mu_Gamma(df)``:
    a Z-basis outcome is ``Bernoulli(f)`` given the path. A CQ-LVM's Gibbs state is therefore
    the marginal of the classical joint ``exp(-H_classical(x)) prod_j e^{c_j(x) f_j}
    mu_{Gamma_j}(df_j)``, linear in ``f`` like a classical model in its hidden values, and its
    Z-basis diagonal is the marginal of that joint times ``prod_j Bernoulli(z_j; f_j)``.

    The draw, per unit, from one uniform ``u``:

    - ``p_cont = P(f in (0, 1)) = 1 - cosh(c/2) / cosh D`` (``D = sqrt(c^2/4 + Gamma^2)``),
      evaluated without cancellation as ``(-expm1(-2A)) (-expm1(-2B)) / (1 + exp(-2D))`` with
      ``2A = D + |c|/2`` and ``2B = D - |c|/2 = Gamma^2 / (D + |c|/2)`` (from ``cosh D -
      cosh(c/2) = 2 sinh A sinh B``); exactly 0 at ``Gamma = 0``;
    - ``u < p_cont``: continuous; else an atom, ``f = 1`` if ``u - p_cont < sigmoid(c) (1 -
      p_cont)`` (the atoms weigh 1 and ``e^c``), else ``f = 0``. At ``Gamma = 0`` this is
      ``u < sigmoid(c)``, the classical unit's draw;
    - the continuous units by rejection from the truncated exponential ``e^{c f}`` on ``[0, 1]``
      (inverse CDF from a uniform ``w``: ``g = log1p(w expm1(-|c|)) / (-|c|)`` has density
      ``∝ e^{-|c| g}``, and ``f = g`` for ``c < 0``, ``1 - g`` for ``c > 0``; ``|c|`` floored
      at the dtype's epsilon, where ``e^{c f}`` is flat to rounding), accepted with probability
      ``h(f(1-f)) / h(1/4)``, ``h(s) = I_1(2|Gamma| sqrt s) / sqrt s`` increasing, written with
      the scaled Bessel function so that nothing overflows: with ``x = 2|Gamma| sqrt(f(1-f))
      <= |Gamma|``, ``ratio = [i1e(x)/x] / [i1e(|Gamma|)/|Gamma|] exp(x - |Gamma|)``
      (``i1e(x)/x -> 1/2`` at ``x -> 0``). The acceptance rate is at least ``|Gamma| / (2
      I_1(|Gamma|))`` (0.88 at ``Gamma = 1``, 0.38 at 3, 1.3e-10 at 28: it falls like
      ``|Gamma|^{3/2} e^{-|Gamma|}``, a rate reached when a large ``|c|`` puts the proposals
      near the ends, as on units of Gamma 25-28 of a trained 2 x 784 QiDBM) and known in
      closed form (:func:`_candidates`): each round proposes to every pending unit about as many
      candidates as leave it pending with probability 1/4, and the first accepted one, in
      order, is its draw (plain rejection sampling, in few vectorised rounds). Units whose
      acceptance is below about 2 % (``_ENVELOPE_TRIES``), and units still pending after
      ``_ENVELOPE_AFTER`` rounds, are drawn by :func:`_envelope_draws`, rejection
      from tangents of the (concave) log density: an independent exact sampler of the same
      law, so switching to it after failures keeps every draw exact.

    Every draw comes from ``generator``: a seed fixes the result.

    Parameters
    ----------
    c : Tensor
        Longitudinal fields, shape ``(..., units)``, float32 or float64 (``+-inf`` give the
        atoms 1 and 0; NaN is refused).
    gamma : Tensor
        Transverse fields, broadcastable to ``c``, finite (their sign does not matter).
    generator : torch.Generator
        Source of the uniforms (on ``c``'s device).

    Returns
    -------
    Tensor
        ``f`` in ``[0, 1]``, shaped like ``c``, in its dtype: exactly 0 or 1 on the atoms.
    """
    g = torch.as_tensor(gamma, dtype=c.dtype, device=c.device).abs()
    tiny, eps = torch.finfo(c.dtype).tiny, torch.finfo(c.dtype).eps
    half = 0.5 * c.abs()
    g = g.expand_as(c)
    d = torch.addcmul(g * g, half, half).sqrt_()  # D
    s = d + half  # 2A
    p_cont = torch.expm1(-s).mul_(torch.expm1(-(g * g) / s.clamp_min(tiny)))  # (-.)(-.) = +
    p_cont.div_(torch.exp(-2.0 * d).add_(1.0))
    # p_cont is in [0, 1] (c = +-inf gives 0, the atom at 1 or 0): NaN iff a field or a Gamma
    # is NaN or a Gamma infinite, and then so is the sum.
    if bool(torch.isnan(p_cont.sum())):
        raise ValueError("sample_occupation: the fields c and gamma must not be NaN, nor gamma inf")
    u = torch.rand(c.shape, generator=generator, device=c.device, dtype=c.dtype)
    cont = u < p_cont
    # An atom: f = 1 with probability sigmoid(c) (u - 0 and x * 1 are exact: u < sigmoid(c)
    # bit for bit at Gamma = 0).
    f = (u - p_cont).lt_(torch.sigmoid(c).mul_(1.0 - p_cont)).to(c.dtype)
    pending = cont.reshape(-1).nonzero().squeeze(1)
    if pending.numel() == 0:
        return f
    flat = f.reshape(-1)  # a view: f is a fresh contiguous tensor
    cc, gg = c.reshape(-1)[pending], g.reshape(-1)[pending]
    top = _i1e_over_x(gg)  # h(1/4) up to the common factor 2 Gamma^2 e^{|Gamma|}
    neg = cc.abs().clamp_min_(eps).neg_()  # -|c|: the truncated exponential e^{-|c| g}
    tries = _candidates(cc, gg, top, p_cont.reshape(-1)[pending], neg)
    hard = tries >= _ENVELOPE_TRIES  # low acceptance (large Gamma and field): the envelope
    if bool(hard.any()):  # (chosen from c and Gamma alone: the law of the draws is unchanged)
        flat[pending[hard]] = _envelope_draws(cc[hard], gg[hard], generator)
        easy = (~hard).nonzero().squeeze(1)
        if easy.numel() == 0:
            return f
        pending, cc, gg, top, neg, tries = (t[easy] for t in (pending, cc, gg, top, neg, tries))
    # Per pending unit, rows: -|c|, expm1(-|c|), |Gamma|, top, [c > 0].
    unit = torch.stack([neg, torch.expm1(neg), gg, top, (cc > 0).to(c.dtype)])
    fields = torch.stack([cc, gg])  # the pending units' c and |Gamma|, for _envelope_draws
    del cc, gg, top, neg
    for round_no in range(_MAX_ROUNDS):
        if round_no == _ENVELOPE_AFTER:  # stragglers: a proposal shaped like the target
            flat[pending] = _envelope_draws(fields[0], fields[1], generator)
            return f
        # ``tries[i]`` proposals for pending unit i, in order; the first accepted one is its
        # draw (rejection sampling, several proposals per round).
        n = pending.numel()
        owner = torch.repeat_interleave(torch.arange(n, device=c.device), tries)
        total = owner.numel()
        nb, mb, gb, tb, _ = unit.index_select(1, owner)
        w, u2 = torch.rand((2, total), generator=generator, device=c.device, dtype=c.dtype)
        gap = torch.log1p(w.mul_(mb)).div_(nb).clamp_(0.0, 1.0)  # density ∝ e^{-|c| gap}
        x = _bessel_argument(gap, gb)  # 2 |Gamma| sqrt(f (1 - f))
        ratio = _i1e_over_x(x).div_(tb).mul_(x.sub_(gb).exp_())
        rank = torch.where(u2 < ratio, torch.arange(total, device=c.device), total)
        first = torch.full((n,), total, device=c.device).scatter_reduce_(0, owner, rank, "amin")
        done = first < total
        hit = done.nonzero().squeeze(1)
        pick = gap[first[hit]]
        flat[pending[hit]] = torch.lerp(pick, 1.0 - pick, unit[4, hit])  # f = 1 - gap if c > 0
        rest = (~done).nonzero().squeeze(1)
        if rest.numel() == 0:
            return f
        # The few units left: four times the proposals (a straggler costs little; rounds do).
        pending, unit = pending[rest], unit.index_select(1, rest)
        fields = fields.index_select(1, rest)
        tries = tries[rest].mul_(4).clamp_(max=_MAX_TRIES)
    raise RuntimeError(
        f"sample_occupation: {pending.numel()} units still rejected after {_MAX_ROUNDS} rounds "
        f"(|Gamma| up to {float(unit[2].max()):.3g}: out of the range this sampler serves)"
    )


#: Proposals per pending unit in the first round of :func:`sample_occupation`'s rejection step:
#: enough that a unit is still pending after it with probability about ``_MISS`` (few rounds,
#: each a handful of vectorised passes), at most ``_MAX_TRIES``; four times more each round.
_MISS, _MAX_TRIES = 0.25, 1024
#: Rounds of the exponential proposal after which :func:`sample_occupation` draws the units
#: still pending with :func:`_envelope_draws` (an independent rejection sampler of the same law,
#: so switching after failures keeps the draw exact). A unit gets there with probability about
#: ``_MISS ** _ENVELOPE_AFTER`` unless its acceptance is tiny (large Gamma and field).
_ENVELOPE_AFTER = 4
#: Units whose first round would need this many proposals (acceptance below about 2 %) are
#: drawn by :func:`_envelope_draws` from the start.
_ENVELOPE_TRIES = 64
#: Rounds after which :func:`sample_occupation` gives up (each unit is left pending by a round
#: with probability about ``_MISS``: never reached for a finite Gamma of any practical size).
_MAX_ROUNDS = 10000


def _candidates(c: Tensor, g: Tensor, top: Tensor, p_cont: Tensor, neg: Tensor) -> Tensor:
    """Proposals per round for each continuous unit, from its acceptance probability

        ``P(accept) = int e^{c f} m_Gamma(f) df / (m_Gamma(1/2) int_0^1 e^{c f} df)``

    with ``int e^{c f} m_Gamma(f) df = p_cont Z``, ``Z = e^{c/2} 2cosh D``, ``int_0^1 e^{c f} df
    = e^{max(c, 0)} (-expm1(-|c|)) / |c|`` and ``m_Gamma(1/2) = 2 Gamma^2 top e^{|Gamma|}``
    (``top = i1e(|Gamma|)/|Gamma|``), in logs; ``neg = -|c|``. Only the number of proposals
    depends on it, not the law of the draw: rounding here costs time, never exactness."""
    d = torch.addcmul(g * g, c, c, value=0.25).sqrt_()
    log_acc = (
        p_cont.log()
        + d
        + torch.log1p(torch.exp(-2.0 * d))
        + 0.5 * c
        - c.clamp_min(0.0)
        + (-neg).log()
        - torch.log(-torch.expm1(neg))
        - torch.log(2.0 * g * g * top)
        - g
    )
    acc = torch.exp(log_acc).nan_to_num_(nan=1.0).clamp_(1.0 / _MAX_TRIES, 1.0)
    tries = torch.ceil(math.log(_MISS) / torch.log1p(-acc)).nan_to_num_(nan=1.0, posinf=1.0)
    return tries.clamp_(1, _MAX_TRIES).to(torch.long)


def _i1e_over_x(x: Tensor) -> Tensor:
    """``i1e(x) / x = e^{-x} I_1(x) / x`` for ``x >= 0``, with ``x`` floored at the dtype's
    epsilon: ``(1 - x) / 2 + O(x^2)`` there, so ``1/2`` to rounding at ``x -> 0``."""
    x = x.clamp_min(torch.finfo(x.dtype).eps)
    return torch.special.i1e(x).div_(x)


def _bessel_argument(f: Tensor, g: Tensor) -> Tensor:
    """``x = 2 |Gamma| sqrt(f (1 - f))``, the argument of ``I_1`` in ``m_Gamma(f)`` (``g``:
    ``|Gamma|``); ``f`` and ``1 - f`` are symmetric, so ``gap`` serves for ``f``."""
    return torch.sqrt(f * (1.0 - f)).mul_(2.0 * g)


def _log_density(f: Tensor, c: Tensor, g: Tensor) -> Tensor:
    """``l(f) = c f + log(i1e(x)/x) + x``, ``x = 2 |Gamma| sqrt(f (1 - f))``: the log of the
    continuous part's density ``e^{c f} m_Gamma(f)`` of :func:`sample_occupation` up to a
    constant (``m_Gamma = 2 Gamma^2 I_1(x)/x``)."""
    x = _bessel_argument(f, g)
    return c * f + torch.log(_i1e_over_x(x)) + x


def _log_density_slope(f: Tensor, c: Tensor, g: Tensor) -> Tensor:
    """``l'(f) = c + 2 Gamma^2 (1 - 2f) r(x)``, ``r(x) = I_2(x) / (x I_1(x))``: from
    ``d/dx log(I_1(x)/x) = I_2(x)/I_1(x)`` and ``dx/df = 2 Gamma^2 (1 - 2f) / x``. ``r`` from
    ``I_2 = I_0 - 2 I_1 / x`` (scaled functions), and its series ``1/4 - x^2/96`` for
    ``x < 1e-2`` (error below 1e-9 there; the envelope's margin covers it)."""
    x = _bessel_argument(f, g)
    small = x < 1e-2
    xs = torch.where(small, torch.ones_like(x), x)
    big = (torch.special.i0e(xs) / torch.special.i1e(xs) - 2.0 / xs) / xs
    r = torch.where(small, 0.25 - x * x / 96.0, big)
    return c + 2.0 * g * g * (1.0 - 2.0 * f) * r


def _bisect(fn, lo: Tensor, hi: Tensor, iterations: int = 60) -> Tensor:
    """Per element, the point of ``[lo, hi]`` where the non-increasing ``fn`` changes sign
    from positive to not positive (``hi`` if never, ``lo`` if at once), to ``2^-60``."""
    for _ in range(iterations):
        mid = 0.5 * (lo + hi)
        up = fn(mid) > 0
        lo, hi = torch.where(up, mid, lo), torch.where(up, hi, mid)
    return 0.5 * (lo + hi)


#: Added to the envelope of :func:`_envelope_draws` (nats): covers the rounding of the tangents'
#: slopes, so that the envelope stays above the density; costs a factor 1e-6 of acceptance.
_ENVELOPE_MARGIN = 1e-6


def _envelope_draws(c: Tensor, g: Tensor, generator: torch.Generator) -> Tensor:
    """Exact draws of the continuous part of :func:`sample_occupation` (density ``∝ e^{l(f)}``
    on ``(0, 1)``, :func:`_log_density`) by rejection from a three-piece envelope: for the
    units the exponential proposal rarely serves (its acceptance falls like ``e^{-|Gamma|}``
    when a large field pushes its proposals to the ends of ``[0, 1]``).

    ``l`` is concave on ``(0, 1)`` (``log(I_1(x)/x)`` is concave non-decreasing in ``x^2 = 4
    Gamma^2 f (1 - f)``, itself concave in ``f``; checked numerically in
    ``tests/layers/test_path_integral.py``), so its tangent lines lie above it. The envelope is
    ``l``'s maximum ``M`` (at the mode ``m``, by bisection on ``l'``) between the tangents at
    the points ``t_L < m < t_R`` where ``l = M - 1`` (by bisection; a side where ``l`` does not
    fall that far stays flat to the end), plus :data:`_ENVELOPE_MARGIN`. Each piece is a
    truncated exponential or a uniform, drawn by inverse CDF; a proposal is accepted with
    probability ``exp(l(f) - envelope(f))``. Rounds repeat for the rejected units.

    Float64 inside; returns ``c``'s dtype. Every uniform comes from ``generator``.
    """
    dtype = c.dtype
    c, g = c.to(torch.float64), g.to(torch.float64)
    zero, one = torch.zeros_like(c), torch.ones_like(c)
    mode = _bisect(lambda f: _log_density_slope(f, c, g), zero, one)
    top = _log_density(mode, c, g)
    # Tangent points one nat below the top (or the ends of [0, 1]); slopes there.
    t_left = _bisect(lambda f: top - 1.0 - _log_density(f, c, g), zero, mode)
    t_right = _bisect(lambda f: _log_density(f, c, g) - (top - 1.0), mode, one)
    drop_left = top - _log_density(t_left, c, g)
    drop_right = top - _log_density(t_right, c, g)
    s_left = _log_density_slope(t_left, c, g)
    s_right = -_log_density_slope(t_right, c, g)
    tangent_left = (drop_left > 0.5) & (s_left > 0)  # else flat down to 0
    tangent_right = (drop_right > 0.5) & (s_right > 0)  # else flat up to 1
    s_left = torch.where(tangent_left, s_left, one)
    s_right = torch.where(tangent_right, s_right, one)
    z_left = torch.where(tangent_left, t_left + drop_left / s_left, zero).clamp(0.0, 1.0)
    z_right = torch.where(tangent_right, t_right - drop_right / s_right, one).clamp(0.0, 1.0)
    z_left, z_right = torch.minimum(z_left, mode), torch.maximum(z_right, mode)
    # Masses of the three pieces, relative to e^M: exponential, flat, exponential.
    mass_left = torch.where(tangent_left, -torch.expm1(-s_left * z_left) / s_left, zero)
    mass_right = -torch.expm1(-s_right * (1.0 - z_right)) / s_right
    mass_right = torch.where(tangent_right, mass_right, zero)
    mass_flat = z_right - z_left
    total = mass_left + mass_flat + mass_right
    out = torch.empty_like(c)
    pending = torch.arange(c.numel(), device=c.device)
    for _ in range(_MAX_ROUNDS):
        n = pending.numel()
        u, w, v = torch.rand((3, n), generator=generator, device=c.device, dtype=torch.float64)
        ml, mf = mass_left[pending], mass_flat[pending]
        zl, zr = z_left[pending], z_right[pending]
        sl, sr = s_left[pending], s_right[pending]
        pick = u * total[pending]
        left, right = pick < ml, pick >= ml + mf
        # Inverse CDFs: e^{sl (f - zl)} on [0, zl], e^{-sr (f - zr)} on [zr, 1], flat between.
        f_left = zl + torch.log1p(w * torch.expm1(-sl * zl)) / sl
        f_right = zr - torch.log1p(w * torch.expm1(-sr * (1.0 - zr))) / sr
        f = torch.where(left, f_left, torch.where(right, f_right, zl + w * (zr - zl)))
        f = f.clamp(0.0, 1.0)
        slope_part = torch.where(left, sl * (f - zl), -sr * (f - zr))
        envelope = torch.where(left | right, slope_part, torch.zeros_like(f))
        envelope = envelope + top[pending] + _ENVELOPE_MARGIN
        accept = torch.log(v) < _log_density(f, c[pending], g[pending]) - envelope
        out[pending[accept]] = f[accept]
        pending = pending[~accept]
        if pending.numel() == 0:
            return out.to(dtype)
    raise RuntimeError(f"_envelope_draws: {pending.numel()} units still rejected")


class QubitLayer(Layer):
    """Latent qubits with longitudinal fields ``bias`` and transverse fields ``gamma``.

    Parameters
    ----------
    size, name : see :class:`~qdoem.layers.base.Layer`.
    gamma_init : float
        Initial transverse field of every unit.
    learn_gamma : bool
        Whether DO-EM updates ``gamma`` (from the ``<X>`` statistics).

    Notes
    -----
    When every ``gamma`` is exactly 0 the layer computes with ``sigmoid``/``softplus``, so a
    ``Gamma = 0`` model trains bit for bit like its classical twin. The check is re-done only
    after ``gamma`` changes (its tensor ``_version``), one device sync per update.
    """

    quantum = True
    mean_only_statistics = ("x",)  # d/dGamma = <X>, batch mean only

    def __init__(
        self, size: int, name: str, gamma_init: float = 0.5, learn_gamma: bool = True
    ) -> None:
        super().__init__(size, name)
        if isinstance(gamma_init, bool) or not isinstance(gamma_init, int | float):
            raise ValueError(f"{name}: gamma_init must be a number, got {gamma_init!r}")
        if not math.isfinite(gamma_init):
            raise ValueError(f"{name}: gamma_init must be finite, got {gamma_init}")
        self.gamma_init = float(gamma_init)
        self.learn_gamma = bool(learn_gamma)
        self._zero: tuple[Tensor, int, bool] | None = None

    def initial_parameters(self) -> dict[str, float]:
        return {"bias": 0.0, "gamma": self.gamma_init}

    def trainable(self) -> tuple[str, ...]:
        return ("bias", "gamma") if self.learn_gamma else ("bias",)

    def gamma_is_zero(self, gamma: Tensor) -> bool:
        """Whether every ``gamma`` is 0, cached until ``gamma`` is replaced or updated in place."""
        cached = self._zero
        if cached is None or cached[0] is not gamma or cached[1] != gamma._version:
            cached = (gamma, gamma._version, not bool(gamma.any()))
            self._zero = cached
        return cached[2]

    def log_partition(self, field: Tensor, params: Params) -> Tensor:
        return log_partition(field, params["gamma"])

    def statistics(self, field: Tensor, params: Params) -> Stats:
        gamma = params["gamma"]
        n, x = gibbs_statistics(field, gamma, self.gamma_is_zero(gamma))
        return {"mean": n, "x": x}

    def sample(self, stats: Stats, generator: torch.Generator) -> Tensor:
        # A Z-basis measurement of each qubit: 1 with probability <n>.
        return bernoulli_sample(stats["mean"], generator)

    def entropy(self, field: Tensor, params: Params) -> Tensor:
        return entropy(field, params["gamma"])

    def expected_log_potential(self, field: Tensor, params: Params, stats: Stats) -> Tensor:
        return field * stats["mean"] + params["gamma"] * stats["x"]

    def log_diagonal(self, field: Tensor, params: Params, z: Tensor) -> Tensor:
        return log_diagonal(field, params["gamma"], z)

    def shot_qelbo_terms(
        self, field: Tensor, params: Params, stats: Stats, bias_correction: bool = True
    ) -> dict[str, Tensor]:
        """Per-unit QELBO entropy and shot variances from estimated statistics.

        ``stats`` are estimates (``"mean"``, ``"x"`` and their ``"mean_stderr"``,
        ``"x_stderr"``) of a reference state's ``<n>``, ``<X>``; ``field`` and ``params`` are
        the parameters ``theta`` at which the energy ``<c n + Gamma X>`` is evaluated. Returns

        - ``"entropy"``: :func:`bloch_entropy` of the estimate, minus its shot bias
          (:func:`bloch_entropy_shot_terms`) when ``bias_correction``;
        - ``"bias"``: that correction, ``>= 0`` (0 without ``bias_correction``);
        - ``"energy_var"``, ``"entropy_var"``, ``"var"``: delta-method shot variances of the
          energy ``c<n> + Gamma<X>``, of the entropy, and of their sum, whose gradient is
          ``(c + dS/d<n>, Gamma + dS/d<X>)``: 0 at ``theta = theta_ref`` (Legendre duality),
          where the error is second order. The plug-in gradient is then ``Hess . delta``, and
          the variance it gives, ``tr((Hess Cov)^2)`` in expectation, is twice the variance of
          the second-order term: conservative.
        """
        n, x = stats["mean"], stats["x"]
        var_n, var_x = stats["mean_stderr"].square(), stats["x_stderr"].square()
        gamma = params["gamma"].expand_as(field)
        bias, grad_n, grad_x = bloch_entropy_shot_terms(n, x, var_n, var_x)
        correction = -bias if bias_correction else torch.zeros_like(bias)
        return {
            "entropy": bloch_entropy(n, x) + correction,
            "bias": correction,
            "energy_var": field.square() * var_n + gamma.square() * var_x,
            "entropy_var": grad_n.square() * var_n + grad_x.square() * var_x,
            "var": (field + grad_n).square() * var_n + (gamma + grad_x).square() * var_x,
        }

    def chain_terms(self, field: Tensor, params: Params) -> ChainTerms:
        return chain_terms(field, params["gamma"])

    def terms_statistics(self, terms: ChainTerms) -> Stats:
        return {"mean": terms.p1}

    def log_diagonal_ratio(
        self,
        old: Tensor,
        new: Tensor,
        params: Params,
        z: Tensor,
        old_terms: ChainTerms | None = None,
    ) -> tuple[Tensor, ChainTerms]:
        gamma = params["gamma"]
        new_terms = chain_terms(new, gamma)
        return log_diagonal_ratio(old, new, gamma, z, old_terms, new_terms), new_terms

    def log_diagonal_field_grad(
        self, field: Tensor, params: Params, z: Tensor, terms: ChainTerms | None = None
    ) -> Tensor:
        """``d/dfield log_diagonal`` per unit (:func:`log_diagonal_field_grad`)."""
        return log_diagonal_field_grad(field, params["gamma"], z, terms)

    def acts_classically(self, params: Params) -> bool:
        return self.gamma_is_zero(params["gamma"])

    def twin_statistics(self, field: Tensor, params: Params) -> Stats:
        return {"mean": torch.sigmoid(field)}

    def twin_log_weight(self, field: Tensor, params: Params) -> Tensor:
        return twin_log_weight(field, params["gamma"])

    def parameter_statistics(self, stats: Stats, params: Params) -> dict[str, Tensor]:
        return {"bias": stats["mean"], "gamma": stats["x"]}

    def occupation_sample(
        self, field: Tensor, params: Params, generator: torch.Generator
    ) -> Tensor:
        """Occupation fractions ``f`` of the units' imaginary-time paths given ``field``
        (:func:`sample_occupation`): the ``"path-gibbs"`` chain's draw of this layer."""
        return sample_occupation(field, params["gamma"], generator)
