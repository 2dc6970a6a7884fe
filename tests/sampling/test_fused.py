"""The opt-in compiled sweeps (``compile=True``, :mod:`qdoem.sampling.fused`).

- The option: refused at construction, naming it and what is missing, when torch.compile cannot
  build kernels (the availability probe is monkeypatched for that error path only); plumbed
  through TrainConfig, the run config and the CLI.
- Compiled against eager: the same random draws (uniforms and normals stay eager), so the same
  values wherever no decision falls within rounding of its threshold; fields, kept terms and
  Gaussian values equal to float64 rounding. A new batch size does not recompile.
- Exactness of the compiled chain, against the dense oracle: chains started from the model's
  own Z-basis law ``pi = <x|rho|x>`` must still follow ``pi`` after one compiled sweep
  (chi-square), on a QRBM and a QiDBM at Gamma != 0, and the compiled sweep draws from the
  transition matrix of the exact kernel. The same test rejects the plain (biased) chain.

Every compiled model here is float64: the kernels compile once for the module (about 10-20 s).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from qdoem.errors import ConfigError
from qdoem.estimators import ClosedFormEstimator
from qdoem.models import QGRBM, QRBM, QiDBM
from qdoem.sampling import ChainState, fused, sweep
from qdoem.sampling.transition import state_layers, transition_matrix
from qdoem.theory import basis_states, state_index
from qdoem.training import TrainConfig
from tests.sampling.test_stationarity import _chi_square_pvalue, _randomise, oracle

pytestmark = pytest.mark.skipif(
    fused.unavailable_reason("cpu") is not None, reason="torch.compile cannot build CPU kernels"
)


# ---------------------------------------------------------------------- the option
def test_compile_refused_without_a_compiler(monkeypatch):
    monkeypatch.setattr(fused, "_cpp_compiler", lambda: None)
    with pytest.raises(ConfigError, match=r"compile=True needs a C\+\+ compiler.*leave compile"):
        QRBM(4, 3, compile=True)
    QRBM(4, 3)  # the default (eager) needs nothing


def test_unsupported_device_is_named():
    reason = fused.unavailable_reason("mps")
    assert reason is not None and "'mps'" in reason


def test_compile_option_values_are_checked():
    with pytest.raises(ValueError, match="compile must be True or False"):
        QRBM(4, 3, compile="yes")
    with pytest.raises(ConfigError, match="compile must be true or false"):
        TrainConfig(compile=1)
    assert QRBM(4, 3).compile is False
    assert QRBM(4, 3, compile=True).train_config().compile is True


def test_compile_reaches_the_model_from_a_run_config():
    from qdoem.cli import build_parser
    from qdoem.experiment import build_run_model, resolve_config

    config = resolve_config(None, {"model": "qrbm", "n_hidden": 3, "compile": True})
    assert build_run_model(config, 4).compile is True
    assert build_run_model(resolve_config(None, {"model": "qrbm"}), 4).compile is False
    args = build_parser().parse_args(["train", "--compile"])
    assert args.compile is True


# ---------------------------------------------------------------------- compiled vs eager
def _qrbm(gamma: float, compile: bool):
    return _randomise(QRBM(5, 4, dtype=torch.float64, gamma_init=gamma, compile=compile), gamma, 7)


def _qidbm(gamma: float, compile: bool, quantum=(1,)):
    model = QiDBM(
        5, [4, 3], quantum_layers=list(quantum), gamma_init=gamma, dtype=torch.float64,
        compile=compile,
    )  # fmt: skip
    return _randomise(model, gamma, 8)


def _qgrbm(gamma: float, compile: bool):
    """Order-1 weights, biases and means, log-variances in [-0.5, 0.5], Gamma = ``gamma``."""
    model = QGRBM(3, 4, dtype=torch.float64, gamma_init=gamma, compile=compile)
    gen = torch.Generator().manual_seed(9)
    for name, p in sorted(model.parameters().items()):
        if name.endswith("gamma"):
            continue
        scale = 0.5 if name.endswith("log_var") else 0.9
        p.copy_(scale * (2 * torch.rand(p.shape, generator=gen, dtype=p.dtype) - 1))
    return model


def _run(model, v: torch.Tensor, sweeps: int, seed: int = 0) -> ChainState:
    gen = torch.Generator().manual_seed(seed)
    state = model.chain_state(v.clone(), gen)
    for _ in range(sweeps):
        sweep(model, state, "exact", ClosedFormEstimator(), gen)
    return state


@pytest.mark.parametrize(
    "make", [_qrbm, _qidbm, lambda g, c: _qidbm(g, c, (2,))], ids=["qrbm", "qidbm-h1", "qidbm-h2"]
)
def test_compiled_chain_repeats_the_eager_chain(make):
    """Same draws, same decisions: equal values and acceptance counts; the kept fields and
    terms agree to float64 rounding. 20011 chains: the moves run in blocks of 16384 rows (the
    last one shorter), with and without kept terms (the first move of a chain has none)."""
    eager, compiled = make(1.0, False), make(1.0, True)
    v = (torch.rand(20011, 5, generator=torch.Generator().manual_seed(1)) < 0.5).double()
    a, b = _run(eager, v, 12), _run(compiled, v, 12)
    assert 0 < int(a.mh_accepted) < a.mh_proposed  # MH moves that did accept and reject
    assert int(a.mh_accepted) == int(b.mh_accepted) and a.mh_proposed == b.mh_proposed
    for x, y in zip(a.values, b.values, strict=True):
        assert torch.equal(x, y)
    assert a.fields.keys() == b.fields.keys() and a.terms.keys() == b.terms.keys()
    for k in a.fields:
        torch.testing.assert_close(a.fields[k], b.fields[k], rtol=1e-13, atol=1e-13)
    for k in a.terms:
        for s, t in zip(a.terms[k], b.terms[k], strict=True):
            torch.testing.assert_close(s, t, rtol=1e-12, atol=1e-13)


def test_compiled_gaussian_chain_agrees_with_the_eager_one():
    """QGRBM: the same normals, ``mean + sqrt(var) noise`` fused (an FMA's rounding)."""
    eager, compiled = _qgrbm(1.0, False), _qgrbm(1.0, True)
    v = torch.randn(150, 3, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    a, b = _run(eager, v, 8), _run(compiled, v, 8)
    assert int(a.mh_accepted) == int(b.mh_accepted)
    torch.testing.assert_close(a.values[0], b.values[0], rtol=1e-12, atol=1e-12)
    assert torch.equal(a.values[1], b.values[1])


def test_new_batch_sizes_do_not_recompile():
    """``dynamic=True``: after the first compile, other batch sizes (the last, shorter batch of
    an epoch) reuse the kernels."""
    import torch._dynamo

    model = _qidbm(0.7, True)
    _run(model, torch.ones(40, 5, dtype=torch.float64), 2)
    with torch._dynamo.config.patch(error_on_recompile=True):
        for n in (37, 61, 129):
            _run(model, torch.zeros(n, 5, dtype=torch.float64), 2)


# ---------------------------------------------------------------------- exactness (oracle)
def _pi_states(model, n: int, seed: int) -> tuple[list[torch.Tensor], np.ndarray, tuple]:
    """``n`` chain states drawn from the oracle's ``pi = <x|rho|x>`` over the chain's layers."""
    layers = state_layers(model, "exact")
    pi = oracle(model, layers)
    idx = np.random.default_rng(seed).choice(pi.size, size=n, p=pi / pi.sum())
    sizes = [model.layer_sizes[k] for k in layers]
    bits = basis_states(sum(sizes))[idx]
    parts = np.split(bits, np.cumsum(sizes)[:-1], axis=1)
    return [torch.as_tensor(p, dtype=torch.float64) for p in parts], pi, layers


def _one_sweep_counts(model, values, layers, sampler: str, seed: int) -> np.ndarray:
    state = ChainState([v.clone() for v in values])
    sweep(model, state, sampler, ClosedFormEstimator(), torch.Generator().manual_seed(seed))
    bits = torch.cat([state.values[k] for k in layers], dim=1).numpy()
    return np.bincount(state_index(bits), minlength=2 ** bits.shape[1])


def _tiny_qrbm(gamma: float, compile: bool = True):
    return _randomise(QRBM(4, 3, dtype=torch.float64, gamma_init=gamma, compile=compile), gamma, 0)


def _tiny_qidbm(gamma: float, compile: bool = True):
    model = QiDBM(
        2, [2, 2], quantum_layers=[1], gamma_init=gamma, dtype=torch.float64, compile=compile
    )
    return _randomise(model, gamma, 2)


@pytest.mark.parametrize("make", [_tiny_qrbm, _tiny_qidbm], ids=["qrbm", "qidbm-h1"])
@pytest.mark.parametrize("gamma", [1.0, 2.0])
def test_compiled_exact_chain_leaves_the_oracle_law_invariant(make, gamma):
    model = make(gamma)
    n = 100_000
    values, pi, layers = _pi_states(model, n, seed=11)
    counts = _one_sweep_counts(model, values, layers, "exact", seed=12)
    assert _chi_square_pvalue(counts, n * pi) > 1e-4


def test_the_invariance_test_rejects_the_plain_chain():
    """Power check of the test above: the uncorrected chain, biased at Gamma != 0, fails it."""
    model = _tiny_qrbm(2.0)
    n = 100_000
    values, pi, layers = _pi_states(model, n, seed=11)
    counts = _one_sweep_counts(model, values, layers, "plain", seed=12)
    assert _chi_square_pvalue(counts, n * pi) < 1e-6


@pytest.mark.parametrize("make", [_tiny_qrbm, _tiny_qidbm], ids=["qrbm", "qidbm-h1"])
def test_compiled_sweep_draws_from_the_exact_transition_matrix(make):
    model = make(1.0)
    t, layers = transition_matrix(model, "exact")  # the eager closed forms
    bits = basis_states(sum(model.layer_sizes))[37]
    parts = np.split(bits, np.cumsum(model.layer_sizes)[:-1])
    n = 20_000
    values = [torch.as_tensor(p, dtype=torch.float64).expand(n, -1) for p in parts]
    counts = _one_sweep_counts(model, values, layers, "exact", seed=3)
    row = t[state_index(bits[None, :])[0]]
    assert _chi_square_pvalue(counts, n * row) > 1e-4
