"""A backend whose jobs fail on chosen calls: bounded retries with back-off, replayed seeds,
and a run that survives the failures, or stops with its last checkpoint intact."""

from __future__ import annotations

import pytest
import torch

from backends.exact import ExactBackend
from qdoem.data import bars_and_stripes
from qdoem.errors import BackendError
from qdoem.estimators import BackendEstimator
from qdoem.models import QRBM
from qdoem.training import TrainConfig, Trainer


class FailingBackend(ExactBackend):
    """The ``exact`` backend with jobs that fail on chosen calls (1-based), after drawing from
    the random stream as a job that got under way would."""

    name = "failing"

    def __init__(self, fail_on=(), error=TimeoutError, **kw):
        super().__init__(**kw)
        self.fail_on, self.error, self.attempts = set(fail_on), error, 0

    def execute(self, *args, **kw):
        self.attempts += 1
        if self.attempts in self.fail_on:
            self._next_seed()
            raise self.error(f"job {self.attempts} cancelled")
        return super().execute(*args, **kw)


def _estimator(fail_on=(), retries=3, delays=None, error=TimeoutError):
    sleep = (lambda s: None) if delays is None else delays.append
    backend = FailingBackend(fail_on, error)
    return BackendEstimator(backend, shots=30, seed=4, retries=retries, backoff_s=2.0, sleep=sleep)


def _train(estimator, run_dir=None, epochs=3, stop_after=None):
    model = QRBM(9, 4, gamma_init=1.0, weight_scale=0.3, dtype=torch.float64, seed=0)
    config = TrainConfig(epochs=epochs, batch_size=7, learning_rate=0.1, seed=5)
    trainer = Trainer(model, config, run_dir=run_dir, estimator=estimator)
    return trainer


def _params(trainer):
    return {k: v.clone() for k, v in trainer.model.parameters().items()}


def test_failed_calls_are_retried_with_back_off_and_give_the_same_answer():
    layer = QRBM(3, 4).layers[1]
    field = torch.linspace(-2, 2, 8, dtype=torch.float64).reshape(2, 4)
    params = {"gamma": torch.full((4,), 0.7, dtype=torch.float64)}
    good, delays = _estimator(), []
    flaky = _estimator(fail_on={1, 2}, delays=delays)
    for est in (good, flaky):
        est.start_step(0, 0)
    with pytest.warns(RuntimeWarning) as warned:
        got = flaky.statistics(layer, field, params, with_sample=True)
    assert [str(w.message) for w in warned] == [
        "backend 'failing' call 1 failed (TimeoutError: job 1 cancelled); retry 1 of 3 in 2 s",
        "backend 'failing' call 1 failed (TimeoutError: job 2 cancelled); retry 2 of 3 in 4 s",
    ]
    want = good.statistics(layer, field, params, with_sample=True)
    for key in want:
        assert torch.equal(got[key], want[key]), key
    assert delays == [2.0, 4.0] and flaky.retries_ == 2 and flaky.calls_ == 1


def test_training_through_failing_jobs_equals_training_without_them():
    good = _train(_estimator())
    good.fit(bars_and_stripes(3).double())
    flaky = _train(_estimator(fail_on={1, 4, 5, 9}))
    with pytest.warns(RuntimeWarning, match="retry"):
        flaky.fit(bars_and_stripes(3).double())
    assert flaky.estimator.retries_ == 4
    for name, value in _params(good).items():
        assert torch.equal(value, flaky.model.parameters()[name]), name


def test_a_job_that_keeps_failing_stops_the_run_and_its_checkpoint_resumes(tmp_path):
    data = bars_and_stripes(3).double()
    full = _train(_estimator())
    full.fit(data)
    calls_per_epoch = full.estimator.calls_ // 3

    # the second epoch's third call fails on every attempt: 1 + 2 retries
    first_bad = calls_per_epoch + 3
    broken = _train(_estimator(fail_on=range(first_bad, first_bad + 3), retries=2), tmp_path)
    broken.save_checkpoint()
    with pytest.warns(RuntimeWarning), pytest.raises(BackendError) as err:
        broken.fit(data)
    assert f"backend 'failing' call {first_bad} failed 3 times" in str(err.value)
    assert "TimeoutError: job" in str(err.value)

    resumed = _train(_estimator(), tmp_path)
    state, _ = resumed.run.read_checkpoint()
    assert state["epoch"] == 1
    resumed.load_checkpoint(state, "checkpoint.pt")
    resumed.fit(data)
    for name, value in _params(full).items():
        assert torch.equal(value, resumed.model.parameters()[name]), name


def test_bad_input_is_not_retried():
    est = _estimator(fail_on={1}, error=ValueError)
    layer = QRBM(3, 2).layers[1]
    with pytest.raises(ValueError, match="job 1 cancelled"):
        est.statistics(layer, torch.zeros(1, 2), {"gamma": torch.ones(2)})
    assert est.retries_ == 0
    with pytest.raises(ValueError, match="retries must be an int >= 0, got -1"):
        BackendEstimator(FailingBackend(), retries=-1)
