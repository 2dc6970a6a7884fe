"""Input checks for the exact core.

Tolerances
----------
``ATOL = 1e-8`` (absolute) is used for every property unless a caller passes ``atol``:

- Hermiticity: ``max |rho - rho^dagger| <= atol``;
- positivity: smallest eigenvalue ``>= -atol * max(1, ||rho||_2)``;
- unit trace: ``|Tr rho - 1| <= atol`` (checked only where a state must be normalised).

These are loose enough for states produced by floating-point pipelines (matrix
exponentials, products of square roots) and tight enough to reject anything that is
not a density operator by more than rounding.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from qdoem.errors import InvalidDensityOperatorError, InvalidDimensionsError

ATOL = 1e-8


def as_square_matrix(a: object, name: str) -> np.ndarray:
    """Return ``a`` as a complex128 square matrix, or raise naming ``name``."""
    arr = np.asarray(a)
    if arr.dtype == object or not (
        np.issubdtype(arr.dtype, np.number) or np.issubdtype(arr.dtype, np.bool_)
    ):
        raise InvalidDensityOperatorError(f"{name} must be a numeric array, got dtype {arr.dtype}")
    if arr.ndim != 2 or arr.shape[0] != arr.shape[1] or arr.shape[0] == 0:
        raise InvalidDensityOperatorError(
            f"{name} must be a non-empty square matrix, got shape {arr.shape}"
        )
    arr = arr.astype(np.complex128, copy=False)
    if not np.all(np.isfinite(arr)):
        bad = int(np.count_nonzero(~np.isfinite(arr)))
        raise InvalidDensityOperatorError(f"{name} has {bad} non-finite (NaN or inf) entries")
    return arr


def check_hermitian(a: object, name: str, atol: float = ATOL) -> np.ndarray:
    """Return ``a`` as a Hermitian complex128 matrix, or raise with the deviation."""
    arr = as_square_matrix(a, name)
    dev = float(np.max(np.abs(arr - arr.conj().T)))
    if dev > atol:
        raise InvalidDensityOperatorError(
            f"{name} is not Hermitian: max |A - A^dagger| = {dev:.3g} > tolerance {atol:.1g}"
        )
    return (arr + arr.conj().T) / 2


def check_density_operator(
    rho: object, name: str = "rho", atol: float = ATOL, normalised: bool = True
) -> np.ndarray:
    """Validate a density operator: square, finite, Hermitian, PSD and (optionally) unit trace.

    Returns the Hermitian part of ``rho`` as complex128. Raises
    :class:`~qdoem.errors.InvalidDensityOperatorError` naming the failed property and
    its size.
    """
    arr = check_hermitian(rho, name, atol)
    eig_min = float(np.linalg.eigvalsh(arr)[0])
    scale = max(1.0, float(np.linalg.norm(arr, 2)))
    if eig_min < -atol * scale:
        raise InvalidDensityOperatorError(
            f"{name} is not positive semidefinite: smallest eigenvalue {eig_min:.3g} "
            f"< -{atol * scale:.1g}"
        )
    if normalised:
        tr = float(np.trace(arr).real)
        if abs(tr - 1.0) > atol:
            raise InvalidDensityOperatorError(
                f"{name} does not have unit trace: Tr = {tr:.12g} (off by {abs(tr - 1.0):.3g}, "
                f"tolerance {atol:.1g})"
            )
    return arr


def check_dims(dims: Sequence[int], size: int, name: str = "dims") -> tuple[int, ...]:
    """Check that ``dims`` are positive integers whose product is ``size``."""
    try:
        out = tuple(int(d) for d in dims)
    except (TypeError, ValueError):
        raise InvalidDimensionsError(
            f"{name} must be a sequence of integers, got {dims!r}"
        ) from None
    if not out or any(d < 1 or d != float(dd) for d, dd in zip(out, dims, strict=True)):
        raise InvalidDimensionsError(f"{name} must be positive integers, got {list(dims)!r}")
    if int(np.prod(out)) != size:
        raise InvalidDimensionsError(
            f"{name} {list(out)} multiply to {int(np.prod(out))}, but the operator is {size}x{size}"
        )
    return out
