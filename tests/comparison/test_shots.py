"""Exact against shot-based DO-EM (:mod:`qdoem.comparison.shots`): as shots grow, the shot-based
runs converge to the exact one; the comparison's diagnostics leave training untouched."""

import numpy as np
import pytest
import torch

from qdoem.comparison.shots import RunSpec, ShotComparison, default_runs, gradient_error
from qdoem.data import bars_and_stripes
from qdoem.errors import ConfigError
from qdoem.estimators import BackendEstimator
from qdoem.models import QRBM
from qdoem.training import TrainConfig, Trainer

DATA = bars_and_stripes(2).float().repeat(2, 1)  # 12 rows, 4 visible
TINY = {"n_hidden": 2, "batch_size": 4, "learning_rate": 0.5}
MODEL = {"gamma_init": 1.0, "weight_scale": 0.5}


def _compare(runs, epochs, seeds=(0,)):
    return ShotComparison(runs, epochs=epochs, seeds=seeds, model_options=MODEL, **TINY).fit(DATA)


def _curves(result):
    return np.array([s["nll"] for s in result["seeds"]])


def test_shot_runs_converge_to_exact_as_shots_grow():
    """The ``exact`` backend at N shots draws its chain's Z shots with the same uniforms for
    every N (common random numbers: the first row of its Bernoulli uniforms), so runs at
    different shot budgets differ only through the shot noise of the statistics: against a
    run at 100000 shots, the NLL curves at 10000 shots stay much closer than at 100, and the
    gradient error falls about as 1/sqrt(shots)."""
    runs = [RunSpec("exact", 100000), RunSpec("exact", 100), RunSpec("exact", 10000)]
    c = _compare(runs, epochs=6, seeds=(0, 1))
    ref, few, many = c.results_
    gap = {n: np.abs(_curves(r) - _curves(ref)).mean() for n, r in ((100, few), (10000, many))}
    assert gap[10000] < 0.3 * gap[100]
    assert gap[10000] < 0.01
    rel = {
        n: np.mean([s["grad_rel_err"] for s in r["seeds"]]) for n, r in ((100, few), (1e4, many))
    }
    assert rel[1e4] < 0.3 * rel[100]
    summary = {row["label"]: row for row in c.summary()}
    assert (
        summary["exact 10000 shots"]["grad_cos_last"] > summary["exact 100 shots"]["grad_cos_last"]
    )


def test_aer_gradient_error_shrinks_with_shots_and_qelbo_has_an_error_bar():
    c = _compare([RunSpec(None), RunSpec("aer", 100), RunSpec("aer", 10000)], epochs=2)
    rows = {row["label"]: row for row in c.summary()}
    few, many = rows["aer 100 shots"], rows["aer 10000 shots"]
    assert many["grad_rel_err_mean"] < 0.3 * few["grad_rel_err_mean"]
    assert rows["exact (closed form)"]["grad_rel_err_last"] == 0.0
    # QELBO at theta_old = theta is L: the shot estimate is within 4 standard errors of it.
    for row in (few, many):
        assert row["qelbo_stderr"] > 0
        assert abs(row["qelbo_minus_l"]) < 4 * row["qelbo_stderr"] + 1e-9
    assert rows["exact (closed form)"]["qelbo_stderr"] == 0.0


def test_runs_are_the_trainers_runs_and_diagnostics_do_not_disturb_them():
    """Each run trains exactly as a plain Trainer with the same settings (the gradient and
    QELBO diagnostics use their own estimators and streams), and counts only training calls:
    CD-1 from the data makes 2 backend calls per step."""
    c = _compare([RunSpec(None), RunSpec("aer", 50)], epochs=2)
    for result, backend in zip(c.results_, (None, "aer"), strict=True):
        model = QRBM(4, 2, seed=0, **MODEL)
        config = TrainConfig(
            epochs=2, batch_size=4, learning_rate=0.5, backend=backend, shots=50, seed=0
        )
        trainer = Trainer(model, config)
        trainer.fit(DATA)
        nll = [-float(model.log_prob(DATA, method="exact").mean())]
        assert result["seeds"][0]["nll"][-1] == pytest.approx(nll[0], abs=1e-12)
        assert result["seeds"][0]["calls"] == ([0, 0, 0] if backend is None else [0, 6, 12])


def test_exact_backend_without_shots_repeats_the_closed_form_run():
    """With ``shots=None`` the ``exact`` backend computes the trainer's closed form and the
    chain's Z draws come from the trainer's stream: the same run as the closed form (float32
    here, so to rounding; float64 runs are bit-identical, see
    tests/estimators/test_training_through_backends.py)."""
    c = _compare([RunSpec(None), RunSpec("exact", None)], epochs=2)
    closed, backend = (_curves(r)[0] for r in c.results_)
    assert np.allclose(closed, backend, atol=1e-5)
    assert max(max(s["grad_rel_err"]) for s in c.results_[1]["seeds"]) < 1e-6


def test_gradient_error_definition():
    model = QRBM(4, 2, seed=3, **MODEL)
    assert gradient_error(model, DATA) == (1.0, 0.0)
    cos, rel = gradient_error(model, DATA, BackendEstimator("exact", shots=30, seed=1))
    assert 0.5 < cos < 1.0 and 0.0 < rel < 1.0
    # the error is in the data term only: recompute it by hand
    est = BackendEstimator("exact", shots=30, seed=1)
    m = model.to_float64()
    pos, _ = m.positive_phase(DATA.double(), est, start_chain=False)
    s_run, s_data = m.sufficient_statistics(pos), m.exact_statistics(DATA)
    s_model = model.exact_statistics()
    diff = torch.cat([(s_run[k] - s_data[k]).flatten() for k in sorted(s_model)])
    grad = torch.cat([(s_data[k] - s_model[k]).flatten() for k in sorted(s_model)])
    assert rel == pytest.approx(float(diff.norm() / grad.norm()), rel=1e-12)


def test_calls_to_target_and_default_target():
    c = _compare([RunSpec(None), RunSpec("exact", 20)], epochs=4)
    ref = c.results_[0]["seeds"][0]["nll"]
    assert c.target_nll_ == pytest.approx(ref[2])  # half-way through 4 epochs
    row = c.summary()[1]
    nll, calls = c.results_[1]["seeds"][0]["nll"], c.results_[1]["seeds"][0]["calls"]
    hit = next((e for e in range(1, 5) if nll[e] <= c.target_nll_), None)
    assert row["calls_to_target"] == (None if hit is None else calls[hit])


def test_default_runs_and_bad_settings():
    runs = default_runs(m_steps=(1, 2))
    labels = [r.label for r in runs]
    assert labels[:4] == [
        "exact (closed form)",
        "aer 100 shots",
        "aer 1000 shots",
        "aer 10000 shots",
    ]
    assert "aer 1000 shots, K=2" in labels and "aer-noisy:manila 1000 shots" in labels
    assert "hardware" not in " ".join(r.kind for r in runs).lower()
    with pytest.raises(ConfigError, match="shots"):
        RunSpec("aer", 0)
    with pytest.raises(ConfigError, match="closed form takes no shots"):
        RunSpec(None, 100)
    with pytest.raises(ConfigError, match="m_steps"):
        RunSpec("aer", 10, 0)
    with pytest.raises(ConfigError, match="quantum model"):
        ShotComparison(model="rbm")
    with pytest.raises(ConfigError, match="seeds"):
        ShotComparison(seeds=())
    with pytest.raises(ConfigError, match="learning_rate"):
        ShotComparison(learning_rate=-1.0)
    with pytest.raises(ValueError, match="unknown backend 'nope'"):
        ShotComparison([RunSpec("nope", 10)], **TINY, epochs=1).fit(DATA)
    with pytest.raises(ValueError, match="not fitted"):
        ShotComparison().table()
