"""Closed forms for the 1-qubit Gibbs state of a latent unit, and the circuit angles.

Maths
-----
For ``H = -c n - Gamma X`` with ``n = |1><1| = (I - Z)/2`` the eigenvalues are
``-c/2 -/+ D`` with ``D = sqrt(c^2/4 + Gamma^2)``, so

- ``<n> = (1 + (c / 2D) tanh D) / 2`` and ``<X> = (Gamma / D) tanh D``;
- the Gibbs state has Bloch vector ``tanh(D) * (Gamma/D, 0, -c/(2D))``.

The purification circuit prepares ``sqrt(p0)|0> + sqrt(p1)|1>`` on the ancilla with
``RY(alpha)``, where ``p0 / p1 = exp(2D)`` gives ``alpha = 2 arctan(exp(-D))``; a CNOT copies
it onto the system qubit; ``RY(theta)`` with ``theta = atan2(2 Gamma, -c)`` then rotates the
computational basis onto the eigenbasis (``RY(theta)|0>`` is the ground state).
"""

from __future__ import annotations

import numpy as np

from qdoem.theory.latent_unit import gap, unit_expectations


def as_parameter_batch(c: object, gamma: object) -> tuple[np.ndarray, np.ndarray]:
    """Return ``c`` and ``gamma`` as float arrays broadcast to a common batch shape.

    Raises
    ------
    ValueError
        If either is not real and finite, or the shapes do not broadcast.
    """
    arrays = []
    for name, value in (("c", c), ("gamma", gamma)):
        arr = np.asarray(value)
        if (
            arr.dtype == object
            or np.iscomplexobj(arr)
            or not (np.issubdtype(arr.dtype, np.number) or np.issubdtype(arr.dtype, np.bool_))
        ):
            raise ValueError(f"{name} must be a real numeric array, got dtype {arr.dtype}")
        arr = arr.astype(np.float64)
        if not np.all(np.isfinite(arr)):
            bad = int(np.count_nonzero(~np.isfinite(arr)))
            raise ValueError(f"{name} has {bad} non-finite (NaN or inf) entries")
        arrays.append(arr)
    try:
        c_arr, g_arr = np.broadcast_arrays(*arrays)
    except ValueError:
        raise ValueError(
            f"c and gamma shapes do not broadcast: {arrays[0].shape} vs {arrays[1].shape}"
        ) from None
    return np.array(c_arr), np.array(g_arr)


def gibbs_expectations(c: object, gamma: object) -> tuple[np.ndarray, np.ndarray]:
    """Exact ``(<n>, <X>)`` in the Gibbs state of ``H = -c n - Gamma X``.

    Maths: ``<n> = 1/2 + (c/4) tanh(D)/D`` and ``<X> = Gamma tanh(D)/D``,
    ``D = sqrt(c^2/4 + Gamma^2)``; both are smooth at ``D = 0``.

    Parameters
    ----------
    c, gamma : array_like
        Longitudinal and transverse fields, broadcast to one batch shape.

    Returns
    -------
    n, x : ndarray
        Arrays of the batch shape.
    """
    return unit_expectations(*as_parameter_batch(c, gamma))


def gibbs_density_matrix(c: float, gamma: float) -> np.ndarray:
    """The 2x2 Gibbs state ``exp(-H)/Z`` of one unit, from its Bloch vector.

    Maths: ``rho = (I + <X> X + <Z> Z) / 2`` with ``<Z> = 1 - 2<n>`` (``<Y> = 0``).
    """
    n, x = gibbs_expectations(c, gamma)
    if n.shape != ():
        raise ValueError(f"gibbs_density_matrix takes scalars, got shape {n.shape}")
    z = 1.0 - 2.0 * float(n)
    return 0.5 * np.array([[1.0 + z, float(x)], [float(x), 1.0 - z]], dtype=np.complex128)


def unit_angles(c: object, gamma: object) -> tuple[np.ndarray, np.ndarray]:
    """Circuit angles ``(alpha, theta)`` that prepare the Gibbs state of each unit.

    Maths: ``alpha = 2 arctan(exp(-D))`` puts weights ``(p0, p1) = (e^D, e^-D) / 2cosh D``
    on the ancilla; ``theta = atan2(2 Gamma, -c)`` maps ``|0>`` onto the ground state of
    ``H`` (Bloch vector ``(Gamma, 0, -c/2) / D``). At ``D = 0`` any ``theta`` is right.

    Returns
    -------
    alpha, theta : ndarray
        Arrays of the broadcast batch shape of ``c`` and ``gamma``.
    """
    c_arr, g_arr = as_parameter_batch(c, gamma)
    return 2.0 * np.arctan(np.exp(-gap(c_arr, g_arr))), np.arctan2(2.0 * g_arr, -c_arr)
