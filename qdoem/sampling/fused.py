"""Opt-in fused kernels (``torch.compile``) for the elementwise pieces of the chains' sweeps.

A model built with ``compile=True`` runs every sweep of its chains (:func:`qdoem.sampling.sweep`)
inside :func:`enabled`; there the hot elementwise pieces go through ``torch.compile``d
functions, which inductor fuses into one loop each instead of eager torch's one pass per
operation:

- the exact chain's MH move (:func:`move_terms`): the proposal's
  :func:`~qdoem.layers.qubit.chain_terms` and the per-unit MH weight
  :func:`~qdoem.layers.qubit.log_diagonal_ratio_units`, summed per row (about 30 eager passes
  over ``(rows, units)``, one fused loop);
- the kept rows of an MH move (:func:`keep_rows`: fields and terms, the accepted rows of the
  proposal's, the others of the old state's, in place);
- the draws' elementwise part (:func:`bernoulli`, :func:`gaussian`): the comparison
  ``u < p`` of a {0,1} draw, ``mean + sqrt(var) noise`` of a Gaussian one, for classical and
  quantum layers alike (so a classical model is compiled the same way as its quantum twin).

What is *not* compiled: the matmuls (the fields), and the random draws themselves. The uniform
and normal numbers are drawn eagerly from the chain's ``torch.Generator`` (inductor cannot take a
generator, and its own RNG is another stream), in the same order and number as the eager chain,
so a seed gives the same draws either way. The maths is the eager functions' own (compiled, not
rewritten); fused code rounds differently (other evaluation order, FMA contraction), so a
compiled chain agrees with the eager one to float rounding, not bit for bit: an MH decision or
a ``u < p`` comparison within rounding of its threshold can go the other way. The compiled chain
is a chain of its own, exact in the same sense (its MH weights are a fixed function of the
state, the kept terms are the very values the weight used); ``tests/sampling/test_fused.py``
tests its stationarity against the dense oracle.

Shapes are dynamic (``dynamic=True``): one compiled kernel serves every batch and block size
(the last, shorter batch of an epoch does not recompile); a new dtype or device compiles once
more. The first call of each kernel compiles it (20-30 s of wall time for a model's first
step on the 2-core test machine with a cold cache, mostly in inductor's worker processes;
inductor's disk cache keeps the kernels across processes). Needs a C++ compiler on the CPU
(inductor's C++ backend) and Triton on CUDA: :func:`check_available` says what is missing, at
model construction. Tested on the CPU only (no GPU here).
"""

from __future__ import annotations

import contextlib
import contextvars
import importlib.util
import os
import shutil
from collections.abc import Iterator

import torch
from torch import Tensor

__all__ = [
    "active",
    "bernoulli",
    "chain_terms",
    "check_available",
    "enabled",
    "gaussian",
    "keep_rows",
    "move_terms",
    "unavailable_reason",
]

_ACTIVE: contextvars.ContextVar[bool] = contextvars.ContextVar("qdoem_fused", default=False)


def active() -> bool:
    """Whether the calling code runs inside :func:`enabled` (a compiled sweep)."""
    return _ACTIVE.get()


@contextlib.contextmanager
def enabled(flag: bool = True) -> Iterator[None]:
    """Run the enclosed code with the fused kernels (``flag``) or eagerly."""
    token = _ACTIVE.set(bool(flag))
    try:
        yield
    finally:
        _ACTIVE.reset(token)


# ---------------------------------------------------------------------- availability
def _cpp_compiler() -> str | None:
    """The C++ compiler inductor would use ($CXX, else the first of its defaults found)."""
    cxx = os.environ.get("CXX")
    if cxx:
        return shutil.which(cxx)
    for name in ("g++", "clang++", "c++"):
        found = shutil.which(name)
        if found:
            return found
    return None


def unavailable_reason(device: str | torch.device = "cpu") -> str | None:
    """None when ``torch.compile`` can build the fused kernels for ``device``, else what is
    missing (one sentence).

    Torch does not fall back to eager by itself: without a compiler the first compiled call
    raises (inductor's ``InductorError``), hence this check before any training.
    """
    kind = torch.device(device).type
    if kind == "cpu":
        if _cpp_compiler() is None:
            return (
                "a C++ compiler (g++ or clang++, or $CXX) on the PATH, which torch.compile's "
                "inductor needs to build CPU kernels"
            )
        return None
    if kind == "cuda":
        if importlib.util.find_spec("triton") is None:
            return "Triton (pip install triton), which torch.compile's inductor needs on CUDA"
        return None
    return f"support for device type {kind!r} (torch.compile kernels are built for cpu and cuda)"


def check_available(device: str | torch.device = "cpu", option: str = "compile") -> None:
    """Raise :class:`~qdoem.errors.ConfigError` naming ``option`` when the fused kernels
    cannot be built for ``device``."""
    reason = unavailable_reason(device)
    if reason is not None:
        from qdoem.errors import ConfigError

        raise ConfigError(
            f"{option}=True needs {reason}; it is missing on device {str(device)!r}. "
            f"Install it, or leave {option} False (the eager kernels, the default)"
        )


# ---------------------------------------------------------------------- the pure pieces
def _move_terms(
    c_old: Tensor,
    c_new: Tensor,
    gamma: Tensor,
    z: Tensor,
    old_p0: Tensor,
    old_p1: Tensor,
    old_log_z_rest: Tensor,
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    from qdoem.layers.qubit import chain_terms, log_diagonal_ratio_units

    new = chain_terms(c_new, gamma)
    units = log_diagonal_ratio_units(c_old, c_new, z, old_p0, old_p1, new.p0, new.p1)
    weight = units.sum(-1).add_(new.log_z_rest).sub_(old_log_z_rest)
    return weight, new.p0, new.p1, new.log_z_rest


def _chain_terms(c: Tensor, gamma: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    from qdoem.layers.qubit import chain_terms

    return tuple(chain_terms(c, gamma))


def _keep_rows(
    accepted: Tensor,
    new: tuple[Tensor, ...],
    old: tuple[Tensor, ...],
    new_out: tuple[Tensor, ...],
    old_out: tuple[Tensor, ...],
    out: tuple[Tensor, ...],
) -> None:
    a = accepted[:, None]
    for n, o in zip(new, old, strict=True):  # in place over old
        o.copy_(torch.where(a if o.ndim == 2 else accepted, n, o))
    for n, o, t in zip(new_out, old_out, out, strict=True):  # into out
        t.copy_(torch.where(a if o.ndim == 2 else accepted, n, o))


def _less(u: Tensor, p: Tensor) -> Tensor:
    return u.lt_(p)


def _gaussian(noise: Tensor, var: Tensor, mean: Tensor) -> Tensor:
    return noise.mul_(var.sqrt()).add_(mean)


_COMPILED: dict[str, object] = {}


def _compiled(name: str, fn):
    """``torch.compile(fn, dynamic=True)``, made once per process."""
    out = _COMPILED.get(name)
    if out is None:
        out = _COMPILED[name] = torch.compile(fn, dynamic=True)
    return out


# ---------------------------------------------------------------------- the compiled calls
def move_terms(
    c_old: Tensor, c_new: Tensor, gamma: Tensor, z: Tensor, old: tuple[Tensor, ...]
) -> tuple[Tensor, tuple[Tensor, Tensor, Tensor]]:
    """The MH log-weight of one quantum neighbour, per row, and the proposal's chain terms.

    Compiled composition of :func:`~qdoem.layers.qubit.chain_terms` (of ``c_new``) and
    :func:`~qdoem.layers.qubit.log_diagonal_ratio_units`: the same value as
    :func:`~qdoem.layers.qubit.log_diagonal_ratio` up to rounding. ``old`` are the
    :class:`~qdoem.layers.qubit.ChainTerms` of ``c_old`` (rows first, like ``c_old``).
    """
    from qdoem.layers.qubit import ChainTerms

    weight, p0, p1, log_z_rest = _compiled("move_terms", _move_terms)(
        c_old, c_new, gamma, z, old[0], old[1], old[2]
    )
    return weight, ChainTerms(p0, p1, log_z_rest)


def chain_terms(c: Tensor, gamma: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """Compiled :func:`~qdoem.layers.qubit.chain_terms` (equal up to rounding)."""
    from qdoem.layers.qubit import ChainTerms

    return ChainTerms(*_compiled("chain_terms", _chain_terms)(c, gamma))


def keep_rows(
    accepted: Tensor,
    new: tuple[Tensor, ...],
    old: tuple[Tensor, ...],
    new_out: tuple[Tensor, ...] = (),
    old_out: tuple[Tensor, ...] = (),
    out: tuple[Tensor, ...] = (),
) -> None:
    """The kept rows of an MH move, in one fused loop: the rows of ``new[i]`` where
    ``accepted`` (a ``(rows,)`` bool) is true, of ``old[i]`` elsewhere, written over
    ``old[i]``; likewise from ``new_out[i]``/``old_out[i]`` into ``out[i]`` (tensors of one or
    two dimensions, rows first). Exact: a selection, no arithmetic.

    No tensor of ``out`` may share memory with another argument (compiled code does not see
    through such aliasing; in-place updates go through ``old``).
    """
    _compiled("keep_rows", _keep_rows)(
        accepted, tuple(new), tuple(old), tuple(new_out), tuple(old_out), tuple(out)
    )


def bernoulli(u: Tensor, p: Tensor) -> Tensor:
    """``u < p`` as 0/1 in ``u``'s dtype, written over ``u`` (uniforms drawn by the caller):
    the same values as eager ``u.lt_(p)`` (a comparison rounds nothing)."""
    return _compiled("bernoulli", _less)(u, p)


def gaussian(noise: Tensor, var: Tensor, mean: Tensor) -> Tensor:
    """``noise * sqrt(var) + mean``, written over ``noise`` (standard normals drawn by the
    caller): a draw of ``N(mean, var)``, equal to the eager passes up to an FMA's rounding."""
    return _compiled("gaussian", _gaussian)(noise, var, mean)
