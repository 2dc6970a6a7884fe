"""The ``"path-gibbs"`` kernel: block Gibbs on the imaginary-time path-integral joint.

- Stationarity against the dense oracle: ``N`` chains start at exact draws of the classical
  layers' marginal of ``pi = <x|rho|x>`` (the quantum layers' values set to 1, not drawn: the
  sweep must not read them), one sweep, and the histogram of the whole Z-basis state (classical
  layers and the quantum layers' Bernoulli(f) outcomes) is compared with ``pi`` by chi-square,
  on a QRBM and QiDBMs with quantum h1 or h2 at Gamma = 1 and 2.5, eager and compiled. The
  same test rejects the plain chain at Gamma = 1 (it can fail).
- QGRBM in one dimension: ``model.sample(sampler="path-gibbs")`` against the density by
  quadrature (``tests/models/test_grbm.py``'s histogram test, whose control rejects "plain").
- AIS with the kernel matches the exact ``log Z`` of a QRBM and of QiDBMs.
- At Gamma = 0 the kernel is the plain block-Gibbs sweep, draw for draw; a seed fixes the chain;
  a clamped quantum layer next to a free one is refused; training runs with it.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from qdoem.estimators import ClosedFormEstimator
from qdoem.models import QRBM, QiDBM
from qdoem.sampling import EXACT_SAMPLERS, SAMPLERS, ChainState, ais_log_partition, fused, sweep
from qdoem.theory import basis_states, state_index
from tests.sampling.test_stationarity import FAMILIES, _chi_square_pvalue, _randomise, oracle

N_CHAINS = 100_000


def _stationary_start(model, n: int, seed: int) -> list[torch.Tensor]:
    """``n`` exact draws of ``pi`` over every layer, the quantum layers' values then set to 1."""
    sizes = model.layer_sizes
    pi = oracle(model, tuple(range(len(sizes))))
    rng = np.random.default_rng(seed)
    bits = basis_states(sum(sizes))[rng.choice(pi.size, size=n, p=pi / pi.sum())]
    parts = np.split(bits, np.cumsum(sizes)[:-1], axis=1)
    values = [torch.from_numpy(np.ascontiguousarray(p)).to(model.dtype) for p in parts]
    for k, layer in enumerate(model.layers):
        if layer.quantum:
            values[k] = torch.ones_like(values[k])
    return values


def _one_sweep_pvalue(model, sampler: str, seed: int = 0) -> float:
    values = _stationary_start(model, N_CHAINS, seed)
    state = ChainState(values)
    sweep(model, state, sampler, ClosedFormEstimator(), torch.Generator().manual_seed(seed))
    bits = torch.cat(state.values, dim=1).numpy()
    assert np.all((bits == 0) | (bits == 1))  # Z-basis values between sweeps
    counts = np.bincount(state_index(bits), minlength=2 ** bits.shape[1])
    pi = oracle(model, tuple(range(len(model.layers))))
    return _chi_square_pvalue(counts, N_CHAINS * pi)


@pytest.mark.parametrize("gamma", [1.0, 2.5])
@pytest.mark.parametrize("family", ["qrbm", "qidbm-h1", "qidbm-h2"])
def test_one_sweep_keeps_the_models_z_basis_law(family, gamma):
    model = FAMILIES[family](gamma)
    assert _one_sweep_pvalue(model, "path-gibbs") > 1e-4


@pytest.mark.parametrize("family", ["qrbm", "qidbm-h1", "qidbm-h2"])
def test_the_same_test_rejects_the_plain_chain(family):
    model = FAMILIES[family](1.0)
    assert _one_sweep_pvalue(model, "plain") < 1e-6


@pytest.mark.skipif(
    fused.unavailable_reason("cpu") is not None, reason="torch.compile cannot build CPU kernels"
)
def test_compiled_model_keeps_the_models_z_basis_law():
    """``compile=True`` (the fused draws of :mod:`qdoem.sampling.fused`), QiDBM with quantum h2."""
    model = QiDBM(2, [2, 2], quantum_layers=[2], gamma_init=1.0, dtype=torch.float64, compile=True)
    model = _randomise(model, 1.0, 3)
    assert _one_sweep_pvalue(model, "path-gibbs", seed=1) > 1e-4


@pytest.mark.parametrize("gamma", [0.5, 1.5])
def test_qgrbm_samples_follow_the_density(gamma):
    from tests.models.test_grbm import _chi_square_pvalue as grbm_pvalue
    from tests.models.test_grbm import make

    assert grbm_pvalue(make(1, 3, gamma, scale=1.0), "path-gibbs") > 1e-3


@pytest.mark.parametrize(
    "model",
    [
        QRBM(6, 3, dtype=torch.float64, gamma_init=1.0, weight_scale=1.0, seed=0),
        QiDBM(3, [3, 2], quantum_layers=[1], gamma_init=1.0, dtype=torch.float64, seed=1),
        QiDBM(3, [2, 3], quantum_layers=[2], gamma_init=1.0, dtype=torch.float64, seed=2),
    ],
    ids=["qrbm", "qidbm-h1", "qidbm-h2"],
)
def test_ais_with_the_kernel_finds_log_z(model):
    _randomise(model, 1.0, 4)
    res = ais_log_partition(
        model, n_chains=200, n_betas=400, sampler="path-gibbs", generator=torch.Generator()
    )
    exact = model.exact_log_partition()
    assert abs(res.log_z - exact) < 4 * res.stderr + 0.02, (res.log_z, res.stderr, exact)


def _run(model, sampler: str, seed: int, sweeps: int = 5) -> list[torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    start = model.layers[0].noise(64, gen, model.device, model.dtype)
    state = model.chain_state(start, gen)
    for _ in range(sweeps):
        sweep(model, state, sampler, ClosedFormEstimator(), gen)
    return state.values


@pytest.mark.parametrize(
    "make",
    [
        lambda: QRBM(7, 5, gamma_init=0.0, weight_scale=1.0, seed=3),
        lambda: QiDBM(5, [4, 3], quantum_layers=[1], gamma_init=0.0, seed=4),
        lambda: QiDBM(5, [4, 3], quantum_layers=[2], gamma_init=0.0, seed=5),
    ],
    ids=["qrbm", "qidbm-h1", "qidbm-h2"],
)
def test_at_gamma_zero_it_is_the_plain_chain_draw_for_draw(make):
    a, b = _run(make(), "path-gibbs", 7), _run(make(), "plain", 7)
    assert all(torch.equal(x, y) for x, y in zip(a, b, strict=True))


def test_a_seed_fixes_the_chain():
    model = _randomise(QiDBM(5, [4, 3], quantum_layers=[1], gamma_init=1.0), 1.0, 6)
    a, b, c = (
        _run(model, "path-gibbs", 1),
        _run(model, "path-gibbs", 1),
        _run(model, "path-gibbs", 2),
    )
    assert all(torch.equal(x, y) for x, y in zip(a, b, strict=True))
    assert not torch.equal(a[0], c[0])


def test_registered_as_an_exact_kernel_and_clamping_a_quantum_layer_is_refused():
    assert "path-gibbs" in SAMPLERS and "path-gibbs" in EXACT_SAMPLERS
    model = _randomise(QRBM(4, 3, gamma_init=1.0), 1.0, 0)
    state = ChainState([torch.zeros(2, 4), torch.ones(2, 3)])
    with pytest.raises(ValueError, match="cannot hold quantum layer 'hidden'.*clamped"):
        sweep(model, state, "path-gibbs", ClosedFormEstimator(), torch.Generator(), {1})
    sweep(model, state, "path-gibbs", ClosedFormEstimator(), torch.Generator(), {0})
    assert torch.equal(state.values[0], torch.zeros(2, 4))  # clamped visible layer kept


@pytest.mark.parametrize(
    "make",
    [
        lambda **kw: QRBM(6, 4, gamma_init=0.5, persistent=True, **kw),
        lambda **kw: QRBM(6, 4, gamma_init=0.5, persistent=True, pt_replicas=3, **kw),
        lambda **kw: QiDBM(6, [4, 3], quantum_layers=[2], gamma_init=0.5, scheme="unbiased", **kw),
    ],
    ids=["qrbm-pcd", "qrbm-tempering", "qidbm-h2-unbiased"],
)
def test_training_runs_with_the_kernel(make):
    rng = np.random.default_rng(0)
    data = torch.from_numpy((rng.random((64, 6)) < 0.3).astype(np.float32))
    model = make(sampler="path-gibbs", n_epochs=2, batch_size=16, seed=0)
    before = {k: t.clone() for k, t in model.parameters().items()}
    model.fit(data)
    after = model.parameters()
    assert all(torch.isfinite(t).all() for t in after.values())
    assert any(not torch.equal(before[k], after[k]) for k in before)
