"""The unbiased estimator (local mode + coupled MH) against exact enumeration.

Its mean must equal the exact expectation for *any* start law; the start law here is the local
mode itself (no Gibbs step), far from the model's law, so the uncorrected estimate ``g(X_0)`` is
visibly biased and only the coupling's correction can remove the bias.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from qdoem.models import DBM, QiDBM
from qdoem.sampling.unbiased import local_mode, unbiased_statistics

DATA = torch.tensor([[1.0, 0, 1], [0, 1, 1], [1, 1, 0], [0, 0, 1]])


def tiny(kind: str):
    if kind == "dbm":
        model = DBM(3, [2, 2], dtype=torch.float64)
    else:
        q = 1 if kind == "qidbm-h1" else 2
        model = QiDBM(3, [2, 2], quantum_layers=[q], dtype=torch.float64)
    model.load_theta(np.random.default_rng(7).normal(scale=1.2, size=model.theta().size))
    for g in model.transverse_fields().values():
        g.fill_(1.0)
    return model


def _estimates(model, start, clamped, batches, seed):
    """Per-batch estimates of theta-ordered statistics: corrected and uncorrected."""
    gen = torch.Generator().manual_seed(seed)
    corrected, naive = [], []
    for _ in range(batches):
        values = [
            s if k in clamped else (torch.rand(s.shape, generator=gen) < 0.5).double()
            for k, s in enumerate(start)
        ]
        est = unbiased_statistics(model, values, gen, clamped=clamped, gibbs_steps=0)
        base = model.sufficient_statistics(est.phase)
        total = base if est.correction is None else {k: base[k] + est.correction[k] for k in base}
        corrected.append(model.theta(total))
        naive.append(model.theta(base))
        assert est.truncated == 0
    return np.array(corrected), np.array(naive)


def _z(samples, exact):
    mean = samples.mean(0)
    se = samples.std(0, ddof=1) / np.sqrt(len(samples))
    return np.abs(mean - exact) / np.maximum(se, 1e-12)


@pytest.mark.parametrize("kind", ["dbm", "qidbm-h1", "qidbm-h2"])
def test_model_expectations_are_unbiased_from_local_modes(kind):
    model = tiny(kind)
    exact = model.theta(model.exact_statistics())
    start = [torch.zeros(4000, s, dtype=torch.float64) for s in model.layer_sizes]
    corrected, naive = _estimates(model, start, frozenset(), batches=30, seed=1)
    assert _z(corrected, exact).max() < 5.0
    assert _z(naive, exact).max() > 8.0  # the start law alone is far off: the test can fail


@pytest.mark.parametrize("kind", ["dbm", "qidbm-h1"])
def test_e_step_expectations_are_unbiased_with_the_data_clamped(kind):
    model = tiny(kind)
    v = DATA.double().repeat(1000, 1)
    exact = model.theta(model.exact_statistics(v))
    start = [v] + [torch.zeros(v.shape[0], s, dtype=torch.float64) for s in model.layer_sizes[1:]]
    corrected, naive = _estimates(model, start, frozenset({0}), batches=30, seed=2)
    assert _z(corrected, exact).max() < 5.0
    assert _z(naive, exact).max() > 8.0
    # The visible layer is clamped: its statistics are the data's, exactly.
    n = model.n_visible
    np.testing.assert_allclose(corrected[:, :n].mean(0), v.mean(0).numpy(), atol=1e-12)


def test_local_mode_is_a_fixed_point_of_every_layer_update():
    model = tiny("dbm")
    gen = torch.Generator().manual_seed(0)
    values = [(torch.rand(500, s, generator=gen) < 0.5).double() for s in model.layer_sizes]
    modes, sweeps = local_mode(model, values, gen)
    assert sweeps < 100
    for k in range(len(model.layers)):
        argmax = (model.field(k, modes) >= 0).double()
        assert torch.equal(argmax, modes[k])
    # Coordinate ascent never lowers the log-density.
    assert bool((model.log_diagonal_joint(modes) >= model.log_diagonal_joint(values) - 1e-12).all())
