"""The QELBO from shots (:func:`qdoem.metrics.estimate_qelbo`) against the dense oracle.

Through the ``exact`` backend without shots the estimate is the exact QELBO (to 1e-8); with
shots (``exact`` ideal Bernoulli shot noise for the many-seed checks, Aer for the circuits)
it lands within a few of its standard errors, and the entropy's shot-bias correction removes
the plug-in bias it documents.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from backends import get_backend
from qdoem.cli import main
from qdoem.layers import GaussianLayer
from qdoem.layers.qubit import bloch_entropy, bloch_entropy_shot_terms, entropy
from qdoem.metrics import DENSE_MAX_QUBITS, dense_qelbo, estimate_qelbo
from qdoem.models import QGRBM, QRBM, QiDBM

DATA = np.array([[1, 0, 1, 1], [0, 0, 1, 0], [1, 1, 1, 0], [0, 1, 0, 1], [1, 0, 1, 1]])
DBM_DATA = DATA[:, :3]


def randomised(model, seed, scale=0.8):
    model.load_theta(np.random.default_rng(seed).normal(scale=scale, size=model.theta().size))
    return model


def qrbm(seed):
    return randomised(QRBM(4, 3, dtype=torch.float64, seed=seed), seed)


def qidbm(seed):
    return randomised(QiDBM(3, [2, 2], quantum_layers=[1], dtype=torch.float64, seed=seed), seed)


CASES = {"qrbm": (qrbm, DATA), "qidbm": (qidbm, DBM_DATA)}


@pytest.mark.parametrize("name", CASES)
@pytest.mark.parametrize("at_old", [True, False])
def test_exact_backend_without_shots_is_the_dense_qelbo(name, at_old):
    build, data = CASES[name]
    old = build(0)
    model = old if at_old else build(5)
    rows = torch.from_numpy(data).double()
    est = estimate_qelbo(model, rows, "exact", None, reference=old)
    exact = dense_qelbo(model, rows, old)
    assert est.value == pytest.approx(exact, abs=1e-8)
    assert est.stderr == 0.0 and est.entropy_bias_correction == 0.0 and est.calls == 1
    assert est.value == pytest.approx(est.energy + est.entropy - est.log_z, abs=1e-12)
    if at_old:  # the QELBO at theta_old is the log-likelihood
        assert est.value == pytest.approx(float(model.log_prob(rows).mean()), abs=1e-8)
    else:
        assert est.value < float(model.log_prob(rows).mean())


def test_one_backend_call_per_batch_and_quantum_layer():
    rows = torch.from_numpy(np.tile(DATA, (5, 1))).double()  # 25 rows
    est = estimate_qelbo(qrbm(0), rows, "exact", 100, batch_size=10)
    assert est.calls == 3 and est.n == 25


@pytest.mark.parametrize("at_old", [True, False])
def test_aer_shots_land_within_four_standard_errors(at_old):
    old = qrbm(0)
    model = old if at_old else qrbm(5)
    rows = torch.from_numpy(DATA).double()
    exact = dense_qelbo(model, rows, old)
    est = estimate_qelbo(model, rows, "aer", 4000, seed=11, reference=old)
    assert est.backend == "aer" and est.shots == 4000 and est.log_z_method == "exact"
    assert 0 < est.stderr < 0.05
    assert abs(est.value - exact) < 4 * est.stderr


@pytest.mark.parametrize("at_old", [True, False])
def test_z_scores_over_seeds_are_calibrated_and_the_bias_correction_matters(at_old):
    """40 seeds of ideal shot noise (300 shots): z = (estimate - exact) / stderr is centred,
    with spread at most about 1 (at theta_old the error is second order and the plug-in
    variance is conservative); without the entropy correction the theta_old estimate sits
    about 2.5 standard errors low."""
    old = qrbm(0)
    model = old if at_old else qrbm(5)
    rows = torch.from_numpy(DATA).double()
    exact, log_z = dense_qelbo(model, rows, old), model.exact_log_partition()

    def z_scores(bias_correction):
        out = []
        for seed in range(40):
            est = estimate_qelbo(
                model,
                rows,
                "exact",
                300,
                seed=seed,
                reference=old,
                log_z=log_z,
                bias_correction=bias_correction,
            )
            out.append((est.value - exact) / est.stderr)
        return np.array(out)

    z = z_scores(True)
    assert abs(z.mean()) < 0.5 and 0.4 < z.std() < 1.3 and np.abs(z).max() < 4.5
    if at_old:
        assert z_scores(False).mean() < -1.5


def test_bloch_entropy_at_exact_statistics_is_the_closed_form_and_its_gradient_the_field():
    c = torch.tensor([-3.0, -0.4, 0.0, 0.7, 2.5, 0.3], dtype=torch.float64)
    gamma = torch.tensor([0.5, 1.0, 0.8, 0.0, 2.0, 0.05], dtype=torch.float64)
    stats = QRBM(1, 6, dtype=torch.float64).layers[1].statistics(c, {"gamma": gamma})
    n, x = stats["mean"], stats["x"]
    torch.testing.assert_close(bloch_entropy(n, x), entropy(c, gamma), atol=1e-13, rtol=0)
    zero = torch.zeros_like(c)
    bias, grad_n, grad_x = bloch_entropy_shot_terms(n, x, zero, zero)
    assert torch.equal(bias, zero)
    torch.testing.assert_close(grad_n, -c, atol=1e-9, rtol=0)  # dS/d<n> = -c
    torch.testing.assert_close(grad_x, -gamma, atol=1e-9, rtol=0)  # dS/d<X> = -Gamma


@pytest.mark.parametrize("shots", [32, 200])
def test_bias_correction_reduces_the_plug_in_entropy_bias(shots):
    """Many repeats at low shots of units resolved by the shots (N (1 - |r|) >> 1): the
    plug-in entropy is biased low by O(1/N); the corrected one is within a third of that."""
    c = np.array([0.3, 1.0, -2.0, 0.0, -0.5])
    gamma = np.array([0.5, 1.0, 0.7, 0.05, 1.2])
    repeats = 4000
    res = get_backend("exact", seed=3).execute(
        np.tile(c, (repeats, 1)), np.tile(gamma, (repeats, 1)), shots
    )
    n, x = torch.from_numpy(res.n), torch.from_numpy(res.x)
    var_n, var_x = torch.from_numpy(res.n_stderr**2), torch.from_numpy(res.x_stderr**2)
    true = entropy(torch.from_numpy(c), torch.from_numpy(gamma))
    plug_in = bloch_entropy(n, x)
    bias = bloch_entropy_shot_terms(n, x, var_n, var_x)[0]
    plug_in_bias = plug_in.mean(0) - true
    corrected_bias = (plug_in - bias).mean(0) - true
    assert bool((plug_in_bias < -0.2 / shots).all())
    assert bool((corrected_bias.abs() < plug_in_bias.abs() / 3).all()), (
        plug_in_bias,
        corrected_bias,
    )


def test_qgrbm_qelbo_from_shots():
    """Gaussian visible units: no dense oracle (continuous v), so against the model's exact
    QELBO with the same log Z; at theta_old it is the mean log density."""

    def build(seed):
        model = QGRBM(3, 3, dtype=torch.float64, seed=seed)
        gen = torch.Generator().manual_seed(seed)
        for tensor in model.parameters().values():
            tensor.copy_(0.6 * torch.randn(tensor.shape, generator=gen, dtype=torch.float64))
        return model

    old, new = build(0), build(1)
    rows = torch.from_numpy(np.random.default_rng(0).normal(size=(6, 3)))
    log_z = 2.5  # any value: both sides use it
    exact = estimate_qelbo(new, rows, "exact", None, reference=old, log_z=log_z)
    assert exact.value == pytest.approx(new.qelbo(rows, old, log_z=log_z), abs=1e-10)
    at_old = estimate_qelbo(old, rows, "exact", None, log_z=log_z)
    ll = float(old.log_prob(rows, log_z=log_z).mean())
    assert at_old.value == pytest.approx(ll, abs=1e-10)
    assert exact.value < float(new.log_prob(rows, log_z=log_z).mean())
    shot = estimate_qelbo(new, rows, "aer", 4000, seed=2, reference=old, log_z=log_z)
    assert 0 < shot.stderr and abs(shot.value - exact.value) < 4 * shot.stderr
    # log Z by AIS when not given: its error enters the standard error
    ais = estimate_qelbo(old, rows, None, n_chains=64, n_betas=200)
    assert ais.log_z_method == "ais" and ais.stderr == pytest.approx(ais.log_z_stderr)


def test_gaussian_energy_term_is_consistent_with_its_entropy():
    layer = GaussianLayer(3, "visible")
    gen = torch.Generator().manual_seed(0)
    params = {k: torch.randn(3, generator=gen, dtype=torch.float64) for k in ("mu", "log_var")}
    field = torch.randn(4, 3, generator=gen, dtype=torch.float64)
    stats = layer.statistics(field, params)
    gap = layer.log_partition(field, params) - layer.expected_log_potential(field, params, stats)
    torch.testing.assert_close(gap, layer.entropy(field, params), atol=1e-12, rtol=0)


def test_bad_inputs_and_the_dense_size_limit():
    model = qrbm(0)
    rows = torch.from_numpy(DATA).double()
    with pytest.raises(ValueError, match="shots must be a positive integer"):
        estimate_qelbo(model, rows, "exact", 0)
    with pytest.raises(ValueError, match="unknown backend 'nope'"):
        estimate_qelbo(model, rows, "nope", 10)
    with pytest.raises(ValueError, match="batch_size"):
        estimate_qelbo(model, rows, "exact", 10, batch_size=0)
    with pytest.raises(ValueError, match="reference must be a model of the same type"):
        estimate_qelbo(model, rows, reference=QRBM(4, 2, dtype=torch.float64))
    big = QRBM(8, 3, dtype=torch.float64)
    with pytest.raises(ValueError, match=f"at most {DENSE_MAX_QUBITS} units"):
        dense_qelbo(big, torch.zeros(1, 8))


def train_small_run(tmp_path):
    """A QRBM on 2 x 2 bars and stripes with 3 hidden units: 7 units, the dense oracle's size."""
    config = tmp_path / "c.toml"
    config.write_text(
        'model = "qrbm"\ndataset = "bars_and_stripes"\ndataset_options = { rows = 2 }\n'
        "n_hidden = 3\nepochs = 1\nbatch_size = 3\nseed = 2\n"
    )
    run = tmp_path / "run"
    assert main(["train", "--config", str(config), "--run-dir", str(run), "--no-progress"]) == 0
    return run


def test_cli_evaluate_qelbo(tmp_path, capsys):
    run = train_small_run(tmp_path)
    base = ["evaluate", str(run), "--split", "train", "--qelbo"]
    capsys.readouterr()
    assert main([*base, "--backend", "exact", "--shots", "exact"]) == 0
    out = capsys.readouterr().out
    assert "QELBO" in out and "entropy" in out and "exact (dense oracle)" in out
    record = json.loads((run / "eval_qelbo_train.json").read_text())
    assert record["value"] == pytest.approx(record["exact_dense"], abs=1e-8)
    assert record["shots"] is None and record["stderr"] == 0.0
    assert main([*base, "--backend", "aer", "--shots", "2000"]) == 0
    record = json.loads((run / "eval_qelbo_train.json").read_text())
    assert record["backend"] == "aer" and record["shots"] == 2000 and record["calls"] == 1
    z = (record["value"] - record["exact_dense"]) / record["stderr"]
    assert math.isfinite(z) and abs(z) < 4


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--qelbo", "--shots", "0"], "argument --shots: must be a positive integer or 'exact'"),
        (["--qelbo", "--shots", "many"], "argument --shots: must be a positive integer"),
        (["--qelbo", "--backend", "nope"], "unknown backend 'nope'"),
        (["--backend", "aer"], "--backend and --shots apply to --qelbo only"),
    ],
)
def test_cli_evaluate_qelbo_errors(tmp_path, capsys, extra, message):
    run = train_small_run(tmp_path)
    capsys.readouterr()
    with pytest.raises(SystemExit) if "argument" in message else _no_raise() as caught:
        code = main(["evaluate", str(run), *extra])
    code = caught.value.code if "argument" in message else code
    assert code == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


class _no_raise:
    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return False
