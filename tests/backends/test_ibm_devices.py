"""IBM devices as a new user meets them: wide fake devices, calibration-based layouts, readout
mitigation, account errors and provenance.

Oracle: the closed forms of MATH-NOTES (checked against ``expm`` in tests/circuits), and the
fake devices' own calibration data (``backend.target``).
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from circuits.gibbs import gibbs_expectations
from qdoem.errors import BackendError

pytest.importorskip("qiskit_ibm_runtime")

from backends.ibm import IBMBackend, fake_backend  # noqa: E402
from circuits.layout import GOOD_FACTOR, unit_pairs  # noqa: E402


def _readout(device):
    return {q: device.target["measure"][(q,)].error for q in range(device.num_qubits)}


def z_scores(res, c, gamma):
    n_true, x_true = gibbs_expectations(c, gamma)
    return np.concatenate([(res.n - n_true) / res.n_stderr, (res.x - x_true) / res.x_stderr])


@pytest.fixture(scope="module")
def sherbrooke():
    return fake_backend("sherbrooke")


def test_layout_avoids_the_worst_readout_qubits(sherbrooke):
    readout = _readout(sherbrooke)
    worst = sorted(readout, key=readout.get)[-5:]  # 50%, 34%, 26%, ... readout error
    assert readout[worst[-1]] > 0.25
    pairs = unit_pairs(sherbrooke)
    systems = [s for _, s in pairs]
    used = [q for pair in pairs for q in pair]
    assert len(used) == len(set(used)), "a qubit is used twice"
    assert not set(systems) & set(worst)
    limit = GOOD_FACTOR * np.median(list(readout.values()))
    assert max(readout[s] for s in systems) <= limit
    edges = {tuple(sorted(e)) for e in sherbrooke.coupling_map.get_edges()}
    assert all(tuple(sorted(p)) in edges for p in pairs), "ancilla and system not coupled"
    # The backend runs the circuits on exactly these qubits, in this order.
    backend = IBMBackend(sherbrooke, seed=0)
    assert backend.units_per_circuit == len(pairs) <= 50
    assert backend.measured_qubits("z") == systems == backend.measured_qubits("x")
    assert [(u["ancilla"], u["system"]) for u in backend.unit_qubits()] == pairs
    # Asking for fewer units takes the best pairs; asking for too many says how many exist.
    assert unit_pairs(sherbrooke, 4) == pairs[:4]
    with pytest.raises(ValueError, match="disjoint coupled qubit pairs"):
        IBMBackend(sherbrooke, units_per_circuit=100)


def test_split_simulation_equals_the_joint_circuit(monkeypatch):
    # The same packed ISA circuits on fake Manila, simulated jointly (the runtime sampler, local
    # testing mode) and unit by unit: the same noisy distribution, within 4 combined errors.
    import backends.ibm

    c = np.array([-6.0, 6.0, 1.0, -0.5, 2.5, -3.0])
    gamma = np.array([0.0, 0.0, 1.5, -1.0, 0.3, 2.0])
    joint = IBMBackend("fake_manila", seed=3)
    monkeypatch.setattr(backends.ibm, "LOCAL_JOINT_QUBITS", 0)
    split = IBMBackend("fake_manila", seed=3)
    assert not joint.split and split.split
    assert split.measured_qubits() == joint.measured_qubits()
    a, b = joint.estimate(c, gamma, shots=8000), split.estimate(c, gamma, shots=8000)
    assert np.all(np.abs(a.n - b.n) < 4 * np.hypot(a.n_stderr, b.n_stderr))
    assert np.all(np.abs(a.x - b.x) < 4 * np.hypot(a.x_stderr, b.x_stderr))
    samples = split.sample(c, gamma, shots=50)
    assert samples.shape == (50, 6) and set(np.unique(samples)) <= {0, 1}


def test_wide_fake_device_fits_in_memory_and_meets_its_error_bars(sherbrooke):
    # 40 units packed on 80 of the 127 qubits: a joint simulation needs 2^80 amplitudes.
    backend = IBMBackend(sherbrooke, seed=7, mitigation="mthree", calibration_shots=4000)
    assert backend.units_per_circuit >= 30 and backend.split
    rng = np.random.default_rng(0)
    c, gamma = rng.uniform(-4, 4, (2, 20)), rng.uniform(-2, 2, (2, 20))
    res = backend.estimate(c, gamma, shots=4000)
    assert res.n.shape == (2, 20) and np.all(res.n_stderr > 0)
    z = z_scores(res, c, gamma)
    assert np.max(np.abs(z)) < 4, f"z-scores {np.round(z, 2)}"


@pytest.mark.slow
def test_mitigation_reduces_readout_bias(sherbrooke):
    # Polarised units, Gamma = 0: <n> is 0.0025 or 0.9975, so readout flips dominate the error.
    c, gamma = np.tile([-6.0, 6.0], 20), np.zeros(40)
    raw = IBMBackend(sherbrooke, seed=1).estimate(c, gamma, shots=4000)
    mitigated = IBMBackend(sherbrooke, seed=1, mitigation="mthree", calibration_shots=4000)
    fixed = mitigated.estimate(c, gamma, shots=4000)
    z_raw, z_fixed = z_scores(raw, c, gamma), z_scores(fixed, c, gamma)
    rms = [float(np.sqrt(np.mean(z**2))) for z in (z_raw, z_fixed)]
    assert rms[0] > 4 and rms[1] < rms[0] / 2, rms
    record = mitigated.describe()["mitigation"]
    assert record["calibrated"] and len(record["assignment_matrices"]) == 40


def test_real_device_without_an_account_is_a_clear_error(tmp_path, monkeypatch):
    for name in ("QISKIT_IBM_TOKEN", "QISKIT_IBM_INSTANCE", "QISKIT_IBM_CHANNEL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))  # no saved account
    with pytest.raises(BackendError, match="no account could be loaded.*ibm:fake_manila"):
        IBMBackend("ibm_brisbane")


def test_describe_records_device_layout_calibration_and_versions():
    backend = IBMBackend("fake_manila", seed=0)
    backend.sample([1.0, -1.0, 0.5], [0.5, 0.0, 1.0], shots=10)
    backend.estimate([1.0, -1.0, 0.5], [0.5, 0.0, 1.0], shots=10)  # Z and X bases: one job
    record = json.loads(json.dumps(backend.describe()))  # plain JSON values
    assert record["name"] == "ibm:fake_manila" and record["device"] == "fake_manila"
    assert record["kind"] == "fake device (noise model, local)"
    assert record["versions"]["qiskit"] and record["versions"]["qiskit-ibm-runtime"]
    systems = [u["system"] for u in record["layout"]]
    assert set(map(str, systems)) <= set(record["calibration"]["qubits"])
    assert record["calibration"]["last_update"]
    assert len(record["job_ids"]) == 2  # one job per call, whatever its rows and bases
    assert record["mitigation"] is None and record["mode"] == "job"


def test_mitigated_estimates_leave_only_the_gate_noise():
    # Oracle: the same ISA circuits on the same physical qubits as an exact noisy density
    # matrix (Aer), where readout errors do not act. Readout mitigation must bring the shot
    # estimates there, within their error bars; without it they are far off. The runtime's
    # local testing mode simulates other readout errors than the fake device's own run, so
    # this also checks that the calibration runs where the estimates run.
    from backends.aer import AerBackend
    from circuits.transpile import default_pass_manager, unit_layout

    rng = np.random.default_rng(0)
    c, gamma = rng.uniform(-4, 4, 40), rng.uniform(-2, 2, 40)
    raw = IBMBackend("fake_manila", seed=0)
    mitigated = IBMBackend("fake_manila", seed=0, mitigation="mthree")
    pm = default_pass_manager(raw.backend, initial_layout=unit_layout(raw.pairs), seed=0)
    reference = AerBackend("density_matrix", fake_backend=raw.backend, pass_manager=pm, seed=0)
    assert reference.units_per_circuit == raw.units_per_circuit == 2
    ref = reference.estimate(c, gamma)
    z = {}
    for name, backend in (("raw", raw), ("mitigated", mitigated)):
        res = backend.estimate(c, gamma, shots=8000)
        z[name] = np.concatenate([(res.n - ref.n) / res.n_stderr, (res.x - ref.x) / res.x_stderr])
    assert np.max(np.abs(z["mitigated"])) < 4, np.round(z["mitigated"], 2)
    assert np.sqrt(np.mean(z["raw"] ** 2)) > 2 * np.sqrt(np.mean(z["mitigated"] ** 2))


@pytest.mark.parametrize(
    ("option", "match"),
    [
        ({"mitigation": "zne"}, "mitigation must be None or one of"),
        ({"layout": "best"}, "layout must be one of"),
        ({"job_timeout_s": 0}, "job_timeout_s must be > 0"),
        ({"units_per_circuit": 0}, "units_per_circuit must be a positive integer"),
        ({"calibration_shots": -5}, "shots must be a positive integer"),
    ],
)
def test_bad_options_are_named(option, match):
    with pytest.raises(ValueError, match=match):
        IBMBackend("fake_manila", **option)
