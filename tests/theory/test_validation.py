"""Bad input raises a ValueError subclass that names the failed property and its size."""

from __future__ import annotations

import numpy as np
import pytest

from qdoem import (
    InvalidDensityOperatorError,
    InvalidDimensionsError,
    partial_trace,
    petz_recovery,
    qelbo,
    relative_entropy,
    von_neumann_entropy,
)

GOOD = np.eye(4) / 4


@pytest.mark.parametrize(
    ("rho", "message"),
    [
        (np.array([[0.5, 0.1], [0.0, 0.5]]), "not Hermitian: max |A - A^dagger| = 0.1"),
        (np.diag([1.5, -0.5]), "not positive semidefinite: smallest eigenvalue -0.5"),
        (np.eye(2), "unit trace: Tr = 2"),
        (np.array([[np.nan, 0], [0, 1]]), "1 non-finite"),
        (np.ones((2, 3)) / 3, "square matrix, got shape (2, 3)"),
        (np.ones(4) / 4, "square matrix, got shape (4,)"),
        (np.array([["a", "b"], ["c", "d"]]), "numeric array"),
    ],
)
def test_density_operator_checks(rho, message):
    with pytest.raises(InvalidDensityOperatorError) as err:
        von_neumann_entropy(rho)
    assert message in str(err.value)
    assert isinstance(err.value, ValueError)


def test_dims_must_multiply_to_size():
    with pytest.raises(
        InvalidDimensionsError, match=r"\[2, 3\] multiply to 6, but the operator is 4x4"
    ):
        partial_trace(GOOD, [2, 3], [0])
    with pytest.raises(InvalidDimensionsError, match="positive integers"):
        partial_trace(GOOD, [4, 1.5], [0])
    with pytest.raises(InvalidDimensionsError, match="distinct subsystems"):
        partial_trace(GOOD, [2, 2], [0, 0])
    with pytest.raises(InvalidDimensionsError, match="distinct subsystems"):
        partial_trace(GOOD, [2, 2], [2])


def test_petz_argument_shapes():
    with pytest.raises(InvalidDimensionsError, match="omega must be 2x2"):
        petz_recovery(GOOD, np.eye(4) / 4, (2, 2))
    with pytest.raises(InvalidDimensionsError, match=r"dims must be \(d_A, d_B\)"):
        petz_recovery(GOOD, np.eye(2) / 2, (2, 2, 1))
    with pytest.raises(InvalidDimensionsError):
        qelbo(GOOD, np.eye(2) / 2, (2, 2))
    with pytest.raises(InvalidDimensionsError, match=r"omega is \(2, 2\) but rho is \(4, 4\)"):
        relative_entropy(np.eye(2) / 2, GOOD)


def test_tolerance_is_documented_and_applied():
    # Rounding-level deviations pass; a deviation above ATOL = 1e-8 fails.
    tiny = GOOD + 1e-10 * np.diag([1, -1, 0, 0])
    assert von_neumann_entropy(tiny) == pytest.approx(np.log(4))
    with pytest.raises(InvalidDensityOperatorError, match="unit trace"):
        von_neumann_entropy(GOOD * (1 + 1e-6))
