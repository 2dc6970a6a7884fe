"""Property-based tests of the 1-qubit closed forms at extreme fields: |c| up to 1e4, Gamma
from exactly 0 through 1e-300 to 1e3. Identities against the 2x2 spectrum hold everywhere."""

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from qdoem.layers.qubit import (
    entropy,
    log_diagonal,
    log_partition,
    occupation,
    occupation_and_transverse,
    occupation_and_transverse_fast,
    transverse,
)

SETTINGS = settings(max_examples=300, deadline=None, derandomize=True)
fields = st.floats(-1e4, 1e4, allow_nan=False)
gammas = st.one_of(
    st.just(0.0),
    st.floats(1e-300, 1e-6),
    st.floats(1e-6, 1e3),
)


def t(x: float) -> torch.Tensor:
    return torch.tensor([x], dtype=torch.float64)


def spectrum(c: float, gamma: float) -> tuple[float, float]:
    """``c/2 +- D``: the eigenvalues of ``c n + Gamma X``, ``D = sqrt(c^2/4 + Gamma^2)``."""
    d = math.hypot(c / 2, gamma)
    return c / 2 + d, c / 2 - d


@SETTINGS
@given(fields, gammas)
def test_log_partition_is_the_log_sum_of_the_spectrum(c, gamma):
    hi, lo = spectrum(c, gamma)
    want = np.logaddexp(hi, lo)
    got = float(log_partition(t(c), t(gamma)))
    assert math.isfinite(got) and got == pytest.approx(want, rel=1e-12, abs=1e-12)


@SETTINGS
@given(fields, gammas)
def test_expectations_are_in_range_and_continuous_at_gamma_zero(c, gamma):
    n, x = (float(a) for a in occupation_and_transverse(t(c), t(gamma)))
    assert 0.0 <= n <= 1.0 and 0.0 <= x <= 1.0
    assert (n, x) == (float(occupation(t(c), t(gamma))), float(transverse(t(c), t(gamma))))
    # |d<n>/dGamma| <= 1/2 (a Kubo-Mori covariance of n and X): close to the classical unit
    sigmoid = 1.0 / (1.0 + math.exp(-c)) if c > -700 else 0.0
    assert abs(n - sigmoid) <= 0.5 * gamma + 1e-15
    fast_n, fast_x = (float(a) for a in occupation_and_transverse_fast(t(c), t(gamma)))
    assert abs(fast_n - n) <= 1e-13 and abs(fast_x - x) <= 1e-13


@SETTINGS
@given(fields, gammas)
def test_entropy_is_the_binary_entropy_of_the_ground_weight(c, gamma):
    hi, lo = spectrum(c, gamma)
    p = 1.0 / (1.0 + math.exp(-(hi - lo))) if hi - lo < 700 else 1.0  # weight of hi
    want = -(p * math.log(p) if p > 0 else 0.0) - ((1 - p) * math.log1p(-p) if p < 1 else 0.0)
    got = float(entropy(t(c), t(gamma)))
    assert -1e-12 <= got <= math.log(2) + 1e-12
    assert got == pytest.approx(want, abs=1e-9)


@SETTINGS
@given(fields, gammas)
def test_diagonal_elements_sum_to_the_partition_function(c, gamma):
    zero = float(log_diagonal(t(c), t(gamma), t(0.0)))
    one = float(log_diagonal(t(c), t(gamma), t(1.0))) + c  # log <1|exp(c n + Gamma X)|1>
    log_z = float(log_partition(t(c), t(gamma)))
    assert math.isfinite(zero) and math.isfinite(one)
    assert np.logaddexp(zero, one) == pytest.approx(log_z, rel=1e-12, abs=1e-12)
    assert max(zero, one) <= log_z + 1e-12
    if gamma == 0.0:
        assert zero == 0.0 and one == c
