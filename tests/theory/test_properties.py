"""Property-based tests of the exact core: random density operators of random dims, ranks
and spectra (tiny and zero eigenvalues included), Hamiltonians up to norm 1e4, and malformed
input. Every identity holds within tolerance, or a QdoemError says why not."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qdoem import (
    QdoemError,
    gibbs_state,
    log_likelihood,
    log_partition,
    partial_trace,
    petz_recovery,
    qelbo,
    relative_entropy,
    von_neumann_entropy,
)
from qdoem.theory.validation import check_density_operator

SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)
TOL = 1e-7


def _unitary(d: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    q, r = np.linalg.qr(rng.normal(size=(d, d)) + 1j * rng.normal(size=(d, d)))
    return q * (np.diag(r) / np.abs(np.diag(r)))


@st.composite
def states(draw, d: int, full_rank: bool = False):
    """A density operator of dimension ``d``: random eigenbasis, drawn spectrum in which
    eigenvalues may be exactly 0 (rank-deficient) or as small as 1e-14."""
    low = 1e-3 if full_rank else 0.0
    weights = draw(
        st.lists(
            st.one_of(st.floats(low, 1.0), st.sampled_from([low, 1e-14 + low, 1e-9 + low])),
            min_size=d,
            max_size=d,
        )
    )
    if sum(weights) == 0:
        weights[0] = 1.0
    p = np.array(weights) / sum(weights)
    u = _unitary(d, draw(st.integers(0, 2**32 - 1)))
    rho = (u * p) @ u.conj().T
    return (rho + rho.conj().T) / 2


dims = st.tuples(st.integers(1, 4), st.integers(1, 4))


@SETTINGS
@given(st.data(), dims)
def test_partial_trace_entropy_and_relative_entropy_identities(data, d):
    d_a, d_b = d
    rho = data.draw(states(d_a * d_b))
    sigma = data.draw(states(d_a * d_b))
    rho_a = partial_trace(rho, d, [0])
    rho_b = partial_trace(rho, d, [1])
    check_density_operator(rho_a, "rho_A")  # a state again
    assert np.trace(rho_a).real == pytest.approx(1.0, abs=1e-12)
    s, s_a, s_b = von_neumann_entropy(rho), von_neumann_entropy(rho_a), von_neumann_entropy(rho_b)
    assert -TOL <= s <= np.log(d_a * d_b) + TOL
    assert s <= s_a + s_b + TOL  # subadditivity
    assert abs(s_a - s_b) <= s + TOL  # Araki-Lieb
    assert relative_entropy(rho, rho) == pytest.approx(0.0, abs=1e-6)
    d_full = relative_entropy(rho, sigma)
    d_marginal = relative_entropy(rho_a, partial_trace(sigma, d, [0]))
    assert 0.0 <= d_marginal <= d_full + 1e-6  # monotone under Tr_B (inf allowed)


@SETTINGS
@given(st.data(), dims)
def test_product_states_trace_out_and_add_entropies(data, d):
    a = data.draw(states(d[0]))
    b = data.draw(states(d[1]))
    rho = np.kron(a, b)
    np.testing.assert_allclose(partial_trace(rho, d, [0]), a, atol=1e-12)
    np.testing.assert_allclose(partial_trace(rho, d, [1]), b, atol=1e-12)
    total = von_neumann_entropy(a) + von_neumann_entropy(b)
    assert von_neumann_entropy(rho) == pytest.approx(total, abs=1e-7)


@SETTINGS
@given(st.data(), dims)
def test_petz_recovery_is_a_recovery_map(data, d):
    d_a, d_b = d
    rho = data.draw(states(d_a * d_b))
    rho_a = partial_trace(rho, d, [0])
    np.testing.assert_allclose(petz_recovery(rho, rho_a, d), rho, atol=1e-6)  # R(rho_A) = rho
    full = data.draw(states(d_a * d_b, full_rank=True))
    omega = data.draw(states(d_a))
    recovered = petz_recovery(full, omega, d)
    check_density_operator(recovered, "R(omega)", atol=1e-7)  # CPTP: a state
    # data processing through R and back through Tr_B
    d_in = relative_entropy(omega, partial_trace(full, d, [0]))
    d_out = relative_entropy(recovered, full)
    assert relative_entropy(partial_trace(recovered, d, [0]), partial_trace(full, d, [0])) <= (
        d_out + 1e-6
    )
    assert d_out <= d_in + 1e-6
    eta = data.draw(states(d_a * d_b))  # any extension: the QELBO bounds the likelihood
    assert qelbo(eta, full, d) <= log_likelihood(partial_trace(eta, d, [0]), full, d) + 1e-6


@SETTINGS
@given(st.data(), dims)
def test_petz_extension_of_a_cq_model_saturates_the_qelbo(data, d):
    """rho = sum_v p_v |v><v| (x) sigma_v and classical data: Condition S."""
    d_a, d_b = d
    p = np.array(data.draw(st.lists(st.floats(1e-3, 1.0), min_size=d_a, max_size=d_a)))
    p /= p.sum()
    rho = sum(
        np.kron(np.diag(np.eye(d_a)[v]), p[v] * data.draw(states(d_b, full_rank=True)))
        for v in range(d_a)
    )
    q = np.array(data.draw(st.lists(st.floats(0.0, 1.0), min_size=d_a, max_size=d_a))) + 1e-12
    eta_a = np.diag(q / q.sum()).astype(complex)
    eta = petz_recovery(rho, eta_a, d)
    np.testing.assert_allclose(partial_trace(eta, d, [0]), eta_a, atol=1e-9)
    assert qelbo(eta, rho, d) == pytest.approx(log_likelihood(eta_a, rho, d), abs=1e-7)


@SETTINGS
@given(
    st.integers(1, 8),
    st.integers(0, 2**32 - 1),
    st.floats(1e-6, 1e4),
    st.floats(-1e4, 1e4),
)
def test_gibbs_states_of_huge_hamiltonians_are_states(d, seed, scale, shift):
    rng = np.random.default_rng(seed)
    g = rng.normal(size=(d, d)) + 1j * rng.normal(size=(d, d))
    h = scale * (g + g.conj().T) / (2 * np.linalg.norm(g + g.conj().T, 2) + 1e-300)
    rho = gibbs_state(h)
    check_density_operator(rho, "rho")
    assert np.isfinite(log_partition(h))
    np.testing.assert_allclose(gibbs_state(h + shift * np.eye(d)), rho, atol=1e-9)
    assert log_partition(h + shift * np.eye(d)) == pytest.approx(
        log_partition(h) - shift, rel=1e-9, abs=1e-6
    )


def _malformed(kind: str, d: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    rho = np.eye(d, dtype=complex) / d
    if kind == "nan":
        rho[rng.integers(d), rng.integers(d)] = np.nan
    elif kind == "inf":
        rho[0, 0] = np.inf
    elif kind == "non-hermitian":
        rho[0, -1] += 0.3j if d > 1 else 0.3j
    elif kind == "negative":
        rho = np.diag(np.r_[1.5, -0.5, np.zeros(d - 2)]).astype(complex) if d > 1 else -rho
    elif kind == "trace":
        rho = rho * 2.0
    elif kind == "shape":
        rho = np.ones((d, d + 1)) / d
    return rho


@SETTINGS
@given(
    st.sampled_from(["nan", "inf", "non-hermitian", "negative", "trace", "shape"]),
    st.integers(1, 6),
    st.integers(0, 2**32 - 1),
    st.sampled_from(["entropy", "relative", "petz", "partial", "qelbo", "gibbs"]),
)
def test_malformed_input_raises_a_qdoem_error_naming_the_problem(kind, d, seed, function):
    bad = _malformed(kind, d, seed)
    good = np.eye(d, dtype=complex) / d
    calls = {
        "entropy": lambda: von_neumann_entropy(bad),
        "relative": lambda: relative_entropy(good, bad),
        "petz": lambda: petz_recovery(bad, np.eye(1), (1, d)),
        "partial": lambda: partial_trace(bad, (d, 2), [0]),  # dims that do not match
        "qelbo": lambda: qelbo(bad, good, (1, d)),
        "gibbs": lambda: gibbs_state(bad),
    }
    if function == "gibbs" and kind in ("negative", "trace"):
        gibbs_state(bad)  # any Hermitian matrix is a Hamiltonian
        return
    with pytest.raises(QdoemError) as err:
        calls[function]()
    assert str(err.value)  # says why
