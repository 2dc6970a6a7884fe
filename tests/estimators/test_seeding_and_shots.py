"""Estimators: chosen by configuration, seeded from (seed, epoch, step), shots in the chain."""

from __future__ import annotations

import numpy as np
import torch

from backends import get_backend
from qdoem.data import bars_and_stripes
from qdoem.estimators import BackendEstimator, ClosedFormEstimator, make_estimator
from qdoem.models import QRBM
from qdoem.training import TrainConfig, Trainer


class Recording:
    """A backend that records what it is asked, delegating to the ideal-shot ``exact`` one."""

    name = "recording"

    def __init__(self, seed=0):
        self.inner = get_backend("exact", seed=seed)
        self.calls = []

    def reseed(self, seed):
        self.inner.reseed(seed)

    def execute(self, c, gamma, shots, **kw):
        result = self.inner.execute(c, gamma, shots, **kw)
        self.calls.append((np.array(c), shots, kw, result))
        return result


def test_make_estimator_follows_the_configuration():
    assert isinstance(make_estimator(None), ClosedFormEstimator)
    est = make_estimator("exact", shots=10, seed=4)
    assert isinstance(est, BackendEstimator) and est.shots == 10 and est.seed == 4
    injected = Recording()
    assert make_estimator(injected).backend is injected


def test_negative_phase_hidden_samples_are_the_backends_shots():
    """The exact chain measures the hidden layer on the backend: the Z-basis values it uses are
    the shots the backend returned for the data batch, not draws from estimated <n>."""
    backend = Recording(seed=1)
    model = QRBM(9, 4, gamma_init=1.0, weight_scale=0.5, dtype=torch.float64)
    estimator = BackendEstimator(backend, shots=50, seed=2)
    trainer = Trainer(model, TrainConfig(epochs=1, batch_size=14), estimator=estimator)
    data = bars_and_stripes(3).double()
    seen = {}
    original = estimator.sample

    def spy(layer, field, params, stats, generator=None):
        z = original(layer, field, params, stats, generator)
        seen["z"] = z.clone()
        return z

    estimator.sample = spy
    trainer.train_step(data, 0.1)
    first = backend.calls[0]
    assert first[1] == 50 and first[2]["return_samples"]
    assert torch.equal(seen["z"], torch.as_tensor(first[3].samples[0], dtype=torch.float64))
    assert len(backend.calls) == 2  # data E-step (with its shots), statistics at the chain end


def test_backend_runs_resume_bit_for_bit_without_saved_generator_state():
    data = bars_and_stripes(3).double()

    def run(epochs_first, resume_from=None):
        model = QRBM(9, 4, gamma_init=0.8, weight_scale=0.3, dtype=torch.float64, seed=5)
        cfg = TrainConfig(epochs=3, batch_size=7, backend="exact", shots=30, seed=5)
        trainer = Trainer(model, cfg)
        if resume_from is not None:
            trainer.load_state_dict(resume_from)
        trainer.fit(data, stop_after=epochs_first)
        return trainer

    full = run(None)
    part = run(1)
    state = part.state_dict()
    assert "rng" not in state and "data_rng" not in state  # nothing to save: streams are derived
    resumed = run(None, resume_from=state)
    for name, t in full.model.parameters().items():
        assert torch.equal(t, resumed.model.parameters()[name]), name
    assert full.estimator.calls_ == 2 * 2 * 3  # 2 batches x 2 calls x 3 epochs


def test_step_streams_differ_between_steps_and_repeat_for_the_same_step():
    est = BackendEstimator("exact", shots=20, seed=9)
    c, g = np.zeros((4, 3)), np.full((4, 3), 0.5)

    def draw(epoch, step):
        est.start_step(epoch, step)
        return est.backend.execute(c, g, 20, return_samples=True).samples

    assert np.array_equal(draw(0, 1), draw(0, 1))
    assert not np.array_equal(draw(0, 1), draw(0, 2))
    assert not np.array_equal(draw(0, 1), draw(1, 1))


def test_persistent_chains_take_one_shot_call_and_one_statistics_call_per_step():
    backend = Recording(seed=1)
    model = QRBM(9, 4, gamma_init=1.0, weight_scale=0.5, dtype=torch.float64)
    estimator = BackendEstimator(backend, shots=20, seed=2)
    cfg = TrainConfig(epochs=1, batch_size=14, persistent=True)
    Trainer(model, cfg, estimator=estimator).train_step(bars_and_stripes(3).double(), 0.1)
    data_call, shot_call, end_call = backend.calls
    assert not data_call[2]["return_samples"]  # the data E-step: statistics only
    assert shot_call[1] == 1 and shot_call[2]["return_samples"]  # the chains' Z-basis shots
    assert not end_call[2]["return_samples"]
