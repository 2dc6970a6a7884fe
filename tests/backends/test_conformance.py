"""One conformance suite that every backend passes.

Oracle: the closed forms of MATH-NOTES, checked themselves against ``scipy.linalg.expm`` in
tests/circuits. Seeds are fixed, so every run draws the same shots.
"""

from __future__ import annotations

import numpy as np
import pytest

from backends import get_backend
from circuits.gibbs import gibbs_expectations

SEED = 20250722
# Ideal (noise-free) backends by name; "ibm-local-aer" is the IBM runtime sampler in local
# testing mode on a noiseless AerSimulator.
SHOT_BACKENDS = [
    "exact",
    "aer",
    "aer-density",
    "pennylane:default.mixed",
    "pennylane:default.qubit",
    "pennylane:lightning.qubit",
    "ibm-local-aer",
]
EXACT_BACKENDS = [b for b in SHOT_BACKENDS if b != "ibm-local-aer"]  # sampler only
NOISY_BACKENDS = ["aer-noisy:manila", "ibm:fake_manila"]


def make_backend(name: str, **options):
    if name == "ibm-local-aer":
        pytest.importorskip("qiskit_ibm_runtime")
        from qiskit_aer import AerSimulator

        from backends.ibm import IBMBackend

        return IBMBackend(AerSimulator(), units_per_circuit=4, seed=SEED, **options)
    if name.startswith(("ibm:", "aer-noisy:")):
        pytest.importorskip("qiskit_ibm_runtime")
    return get_backend(name, seed=SEED, **options)


def random_fields(shape, seed=0):
    rng = np.random.default_rng(seed)
    return rng.uniform(-4.0, 4.0, size=shape), rng.uniform(-2.0, 2.0, size=shape)


@pytest.mark.parametrize("name", SHOT_BACKENDS)
def test_shot_estimates_within_4_standard_errors(name):
    c, gamma = random_fields((3, 4))
    n_true, x_true = gibbs_expectations(c, gamma)
    res = make_backend(name).execute(c, gamma, shots=4000)
    assert res.n.shape == res.x.shape == res.n_stderr.shape == res.x_stderr.shape == (3, 4)
    assert res.shots == 4000 and res.samples is None
    assert np.all(res.n_stderr > 0) and np.all(res.x_stderr > 0)
    assert np.all(np.abs(res.n - n_true) < 4 * res.n_stderr)
    assert np.all(np.abs(res.x - x_true) < 4 * res.x_stderr)


@pytest.mark.parametrize("name", SHOT_BACKENDS)
def test_samples_shaped_like_batch_and_distributed_as_occupation(name):
    # gamma broadcasts against c, as a model passes per-unit gamma with per-datum c.
    c, _ = random_fields((5, 3), seed=1)
    gamma = np.array([0.5, -1.0, 0.0])
    res = make_backend(name).execute(c, gamma, shots=2000, observables=("n",), return_samples=True)
    assert res.samples.shape == (2000, 5, 3) and res.samples.dtype == np.uint8
    assert set(np.unique(res.samples)) <= {0, 1}
    assert res.x is None
    # The samples are the Z-basis shots behind <n>.
    np.testing.assert_allclose(res.samples.mean(axis=0), res.n)
    n_true, _ = gibbs_expectations(c, gamma)
    assert np.all(np.abs(res.n - n_true) < 4 * res.n_stderr)


@pytest.mark.parametrize("name", EXACT_BACKENDS)
def test_exact_paths_match_closed_form(name):
    c, gamma = random_fields((4, 5), seed=2)
    c[0, 0], gamma[0, 0] = 0.0, 0.0  # D = 0: maximally mixed
    c[0, 1], gamma[0, 1] = 3.0, 0.0  # Gamma = 0: classical, <n> = sigmoid(c)
    n_true, x_true = gibbs_expectations(c, gamma)
    res = make_backend(name).estimate(c, gamma)
    assert res.shots is None
    np.testing.assert_allclose(res.n, n_true, rtol=0, atol=1e-10)
    np.testing.assert_allclose(res.x, x_true, rtol=0, atol=1e-10)
    assert np.all(res.n_stderr == 0) and np.all(res.x_stderr == 0)
    assert res.n[0, 1] == pytest.approx(1 / (1 + np.exp(-3.0)), abs=1e-10)


@pytest.mark.parametrize(
    "name", ["aer", "aer-density", "pennylane:default.mixed", "pennylane:lightning.qubit"]
)
def test_packed_circuits_agree_with_single_ones(name):
    c, gamma = random_fields((7,), seed=3)  # 7 units: packing 3 per circuit leaves padding
    single = make_backend(name, units_per_circuit=1)
    packed = make_backend(name, units_per_circuit=3)
    exact_single, exact_packed = single.estimate(c, gamma), packed.estimate(c, gamma)
    np.testing.assert_allclose(exact_packed.n, exact_single.n, rtol=0, atol=1e-12)
    np.testing.assert_allclose(exact_packed.x, exact_single.x, rtol=0, atol=1e-12)
    a, b = single.estimate(c, gamma, shots=4000), packed.estimate(c, gamma, shots=4000)
    assert np.all(np.abs(a.n - b.n) < 4 * np.hypot(a.n_stderr, b.n_stderr))
    assert np.all(np.abs(a.x - b.x) < 4 * np.hypot(a.x_stderr, b.x_stderr))


def test_packing_keeps_units_in_place():
    # Units with near-certain outcomes: any mix-up of bit order moves a 1 to a 0's place.
    c = np.array([8.0, -8.0, -8.0, 8.0, 8.0, -8.0, 8.0])
    gamma = np.zeros_like(c)
    samples = make_backend("aer", units_per_circuit=3).sample(c, gamma, shots=50)
    np.testing.assert_array_equal(samples.mean(axis=0).round(), (c > 0).astype(float))


@pytest.mark.parametrize("name", NOISY_BACKENDS)
def test_noisy_backends_report_biased_estimates(name):
    # Strongly polarised units: readout and gate errors pull <n> and <X> towards the middle.
    c = np.array([-6.0, 6.0, -6.0, 6.0])
    gamma = np.array([0.0, 0.0, 3.0, -3.0])
    n_true, x_true = gibbs_expectations(c, gamma)
    res = make_backend(name).estimate(c, gamma, shots=8000)
    assert np.all(np.isfinite(res.n)) and np.all((0 <= res.n) & (res.n <= 1))
    z = np.concatenate([(res.n - n_true) / res.n_stderr, (res.x - x_true) / res.x_stderr])
    assert np.max(np.abs(z)) > 6, f"no measurable bias: z-scores {z}"


def test_noisy_density_matrix_is_biased_without_shots():
    pytest.importorskip("qiskit_ibm_runtime")
    c, gamma = np.array([-6.0, 2.0]), np.array([3.0, -1.0])
    n_true, x_true = gibbs_expectations(c, gamma)
    res = get_backend("aer-noisy:manila", seed=SEED).estimate(c, gamma)
    bias = np.max(np.abs(np.concatenate([res.n - n_true, res.x - x_true])))
    assert bias > 1e-3


@pytest.mark.parametrize("name", SHOT_BACKENDS)
def test_repeated_calls_draw_fresh_shots_but_runs_are_reproducible(name):
    """Resumable runs rest on this: each call's shots follow from the backend's stream, so a
    fresh backend with the same seed, or one reseeded, replays them exactly."""
    c, gamma = random_fields((6,), seed=4)
    a, b = make_backend(name), make_backend(name)
    first, second = a.sample(c, gamma, 100), a.sample(c, gamma, 100)
    assert not np.array_equal(first, second)
    np.testing.assert_array_equal(first, b.sample(c, gamma, 100))
    a.reseed(7), b.reseed(7)
    b.sample(c, gamma, 10)  # b moves on; a reseeded again must replay b's stream from 7
    a.reseed(7)
    again = a.sample(c, gamma, 10)
    b.reseed(7)
    np.testing.assert_array_equal(again, b.sample(c, gamma, 10))


@pytest.mark.parametrize("name", ["exact", "aer"])
def test_bad_input_raises_clear_value_error(name):
    backend = make_backend(name)
    with pytest.raises(ValueError, match="non-finite"):
        backend.estimate([np.nan], [0.0])
    with pytest.raises(ValueError, match="broadcast"):
        backend.estimate(np.zeros(3), np.zeros(2))
    with pytest.raises(ValueError, match="shots"):
        backend.estimate([0.0], [0.0], shots=0)
    with pytest.raises(ValueError, match="return_samples"):
        backend.execute([0.0], [0.0], return_samples=True)
    with pytest.raises(ValueError, match="observables"):
        backend.execute([0.0], [0.0], observables=("y",))


def test_backends_without_exact_mode_say_so():
    backend = make_backend("ibm-local-aer")
    with pytest.raises(ValueError, match="cannot compute exact"):
        backend.estimate([0.0], [0.0])


def test_empty_batch():
    res = make_backend("aer").execute(np.zeros((0, 4)), 0.0, shots=10, return_samples=True)
    assert res.n.shape == (0, 4) and res.samples.shape == (10, 0, 4)


def test_exact_backend_density_matrices_match_expm():
    from scipy.linalg import expm

    c, gamma = random_fields((2, 3), seed=5)
    rho = get_backend("exact").density_matrices(c, gamma)
    assert rho.shape == (2, 3, 2, 2)
    n_op, x_op = np.diag([0.0, 1.0]), np.array([[0.0, 1.0], [1.0, 0.0]])
    for idx in np.ndindex(c.shape):
        expected = expm(c[idx] * n_op + gamma[idx] * x_op)
        np.testing.assert_allclose(rho[idx], expected / np.trace(expected), atol=1e-10)


def test_nothing_requested_is_an_empty_answer():
    res = make_backend("aer").execute([1.0, 2.0], [0.0, 0.5], shots=10, observables=())
    assert res.n is None and res.x is None and res.samples is None
