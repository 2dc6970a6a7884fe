"""QRBM/RBM surface: gradients, sampling, fit, save/load, the estimator seam, bad input."""

import pytest
import torch

from qdoem.models import QRBM, RBM, build_model
from qdoem.theory import basis_states, state_index
from qdoem.training import TrainConfig, Trainer


def all_states(n):
    return torch.from_numpy(basis_states(n))


def small_model(**kw):
    model = QRBM(6, 3, dtype=torch.float64, seed=7, weight_scale=0.8, gamma_init=0.6, **kw)
    model.hidden_bias.copy_(torch.tensor([0.3, -0.5, 0.1], dtype=torch.float64))
    model.visible_bias.copy_(torch.linspace(-0.5, 0.5, 6, dtype=torch.float64))
    return model


def test_parameter_attributes():
    model = QRBM(5, 4)
    assert model.weights.shape == (5, 4) and model.visible_bias.shape == (5,)
    assert model.hidden_bias.shape == (4,) and model.gamma.shape == (4,)
    assert all(isinstance(t, torch.Tensor) for t in model.parameters().values())
    assert RBM(5, 4).gamma.abs().sum() == 0 and "hidden_gamma" not in RBM(5, 4).trainable()


def test_do_em_gradient_equals_likelihood_gradient():
    """data-minus-model statistics (exact model expectation) == d/dtheta mean log p(data)."""
    model = small_model()
    data = torch.tensor(
        [[1, 0, 1, 0, 1, 1], [0, 0, 1, 1, 0, 0], [1, 1, 1, 0, 0, 0]], dtype=torch.float64
    )
    vs = all_states(6)
    p = model.log_prob(vs).exp()
    pos = model.sufficient_statistics(model.positive_phase(data)[0])
    lat = model.e_step(vs)[0]
    neg = {
        "weights": vs.T @ (p[:, None] * lat["mean"]),
        "visible_bias": p @ vs,
        "hidden_bias": p @ lat["mean"],
        "hidden_gamma": p @ lat["x"],
    }
    h = 1e-6
    for name, tensor in model.parameters().items():
        grad = pos[name] - neg[name]
        numeric = torch.zeros_like(tensor)
        for idx in range(tensor.numel()):
            flat = tensor.view(-1)
            old = float(flat[idx])
            flat[idx] = old + h
            up = float(model.log_prob(data).mean())
            flat[idx] = old - h
            down = float(model.log_prob(data).mean())
            flat[idx] = old
            numeric.view(-1)[idx] = (up - down) / (2 * h)
        torch.testing.assert_close(grad, numeric, rtol=1e-5, atol=1e-7, msg=name)


def test_sample_is_binary_and_seeded():
    model = small_model()
    a = model.sample(10, steps=5, seed=1)
    b = model.sample(10, steps=5, seed=1)
    assert a.shape == (10, 6) and torch.equal(a, b)
    assert bool(((a == 0) | (a == 1)).all())
    init = torch.ones(10, 6)
    assert torch.equal(model.sample(10, steps=0, init=init), init.double())


def test_block_gibbs_targets_marginal_for_rbm():
    """For Gamma = 0 the block-Gibbs chain samples p(v): compare frequencies with exact."""
    model = RBM(4, 3, dtype=torch.float64, seed=2, weight_scale=1.0)
    x = model.sample(4000, steps=30, seed=3)
    idx = torch.from_numpy(state_index(x))
    freq = torch.bincount(idx, minlength=16).double() / 4000
    exact = model.log_prob(all_states(4)).exp()
    assert float((freq - exact).abs().max()) < 0.03


def test_fit_is_deterministic_and_partial_fit_accumulates():
    data = (torch.rand(40, 6, generator=torch.Generator().manual_seed(0)) < 0.5).double()
    a = QRBM(6, 3, dtype=torch.float64, n_epochs=3, batch_size=10, seed=5).fit(data)
    b = QRBM(6, 3, dtype=torch.float64, n_epochs=3, batch_size=10, seed=5).fit(data)
    assert torch.equal(a.weights, b.weights) and torch.equal(a.gamma, b.gamma)
    assert a.n_iter_ == 3 and len(a.history_) == 3
    c = QRBM(6, 3, dtype=torch.float64, n_epochs=3, batch_size=10, seed=5)
    for _ in range(3):
        c.partial_fit(data)
    assert torch.equal(a.weights, c.weights)
    assert c.transform(data).shape == (40, 3)
    assert c.score_samples(data).shape == (40,)


def test_fixed_gamma_stays_fixed():
    data = (torch.rand(30, 6, generator=torch.Generator().manual_seed(0)) < 0.5).double()
    model = QRBM(6, 3, gamma_init=0.3, learn_gamma=False, n_epochs=2, batch_size=10).fit(data)
    assert torch.equal(model.gamma, torch.full((3,), 0.3))
    learned = QRBM(6, 3, gamma_init=0.3, n_epochs=2, batch_size=10).fit(data)
    assert not torch.equal(learned.gamma, torch.full((3,), 0.3))


def test_save_load_roundtrip(tmp_path):
    model = small_model()
    path = tmp_path / "m.pt"
    model.save(path)
    loaded = QRBM.load(path)
    assert type(loaded) is QRBM and loaded.dtype == torch.float64
    for name, t in model.parameters().items():
        assert torch.equal(t, loaded.parameters()[name])
    assert [p.name for p in tmp_path.iterdir()] == ["m.pt"]  # no temp file left behind
    rbm = RBM(4, 2)
    rbm.save(path)
    assert type(RBM.load(path)) is RBM


def test_estimator_seam():
    """An estimator replacing the closed-form E-step is what training uses (injected into the
    trainer, never set on the model); the model's own transform stays closed form."""
    from qdoem.estimators import ClosedFormEstimator

    model = small_model()
    calls = []

    class Counting(ClosedFormEstimator):
        closed_form = False  # statistics come from "elsewhere": never reused by the samplers

        def statistics(self, layer, field, params, with_sample=False):
            calls.append(field.shape[0])
            return super().statistics(layer, field, params, with_sample)

    expected = model.transform(torch.ones(2, 6))
    trainer = Trainer(model, TrainConfig(batch_size=4), estimator=Counting())
    torch.testing.assert_close(model.transform(torch.ones(2, 6)), expected)
    trainer.train_epoch(torch.ones(4, 6))
    assert len(calls) >= 2


@pytest.mark.parametrize(
    "make,match",
    [
        (lambda: QRBM(0, 3), "n_visible"),
        (lambda: QRBM(3, 2.5), "n_hidden"),
        (lambda: QRBM(3, 2, gamma_init=float("nan")), "gamma_init"),
        (lambda: RBM(3, 2, gamma_init=0.5), "Gamma fixed"),
        (lambda: QRBM(3, 2, dtype=torch.int32), "dtype"),
        (lambda: build_model("vae", 3, 2), "unknown model"),
        (lambda: QRBM(3, 2, weight_init="xavier"), "weight_init"),
        (lambda: QRBM(3, 2).fit(torch.full((4, 3), 0.5)), "only 0 and 1"),
        (lambda: QRBM(3, 2).transform(torch.zeros(4, 5)), r"shape \(n_samples, 3\)"),
        (lambda: QRBM(3, 2).sample(0), "n_samples"),
        (lambda: QRBM(3, 2, batch_size=0).fit(torch.zeros(4, 3)), "batch_size"),
        (lambda: QRBM(3, 2, momentum=1.5).fit(torch.zeros(4, 3)), "momentum"),
    ],
)
def test_bad_input_raises_clear_value_error(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_fused_gradient_equals_difference_of_sufficient_statistics():
    model = small_model()
    gen = torch.Generator().manual_seed(0)
    vd = (torch.rand(7, 6, generator=gen) < 0.5).double()
    vm = (torch.rand(7, 6, generator=gen) < 0.5).double()
    ld, lm = model.positive_phase(vd)[0], model.positive_phase(vm)[0]
    grad = model.gradient(ld, lm)
    pos, neg = model.sufficient_statistics(ld), model.sufficient_statistics(lm)
    assert set(grad) == set(pos) == {"weights", "visible_bias", "hidden_bias", "hidden_gamma"}
    for k in grad:
        torch.testing.assert_close(grad[k], pos[k] - neg[k], rtol=1e-12, atol=1e-14)


def test_bfloat16_matmuls_track_float32():
    """Mixed precision: same statistics to bf16 accuracy; master weights stay float32."""
    gen = torch.Generator().manual_seed(0)
    v = (torch.rand(50, 20, generator=gen) < 0.3).float()
    ref = QRBM(20, 8, seed=1, weight_scale=0.5)
    low = QRBM(20, 8, seed=1, weight_scale=0.5, matmul_dtype=torch.bfloat16)
    torch.testing.assert_close(low.transform(v), ref.transform(v), rtol=0, atol=2e-2)
    g_ref = ref.gradient(ref.positive_phase(v[:25])[0], ref.positive_phase(v[25:])[0])
    g_low = low.gradient(low.positive_phase(v[:25])[0], low.positive_phase(v[25:])[0])
    scale = float(g_ref["weights"].abs().max())
    assert float((g_low["weights"] - g_ref["weights"]).abs().max()) < 0.05 * scale
    low.partial_fit(v)
    assert low.weights.dtype == torch.float32
    path_state = low.state_dict()
    assert path_state["hyperparameters"]["matmul_dtype"] == "bfloat16"


def test_bfloat16_training_learns_bars_and_stripes():
    from qdoem.data import bars_and_stripes

    data = bars_and_stripes(3).repeat(8, 1)
    model = QRBM(
        9,
        16,
        seed=0,
        weight_scale=0.1,
        learning_rate=0.1,
        batch_size=14,
        n_epochs=60,
        matmul_dtype=torch.bfloat16,
    )
    before = -float(model.log_prob(bars_and_stripes(3)).mean())
    model.fit(data)
    after = -float(model.log_prob(bars_and_stripes(3)).mean())
    assert after < before - 1.0, (before, after)


def test_fit_restarts_from_a_fresh_initialisation():
    data = (torch.rand(30, 6, generator=torch.Generator().manual_seed(0)) < 0.5).double()
    model = QRBM(6, 3, dtype=torch.float64, n_epochs=2, batch_size=10, seed=4)
    first = model.fit(data).weights.clone()
    assert torch.equal(model.fit(data).weights, first)
    assert not torch.equal(model.partial_fit(data).weights, first)


def test_bfloat16_weight_copy_follows_updates_and_reassignment():
    model = QRBM(4, 3, seed=0, weight_scale=0.5, matmul_dtype=torch.bfloat16)
    v = torch.ones(1, 4)
    model.weights.add_(1.0)  # in place
    torch.testing.assert_close(model.field(1, [v, None]), v @ model.weights, rtol=1e-2, atol=1e-2)
    model.weights.zero_()  # in place again
    assert torch.equal(model.field(1, [v, None]), torch.zeros(1, 3))
    model.fit(torch.ones(2, 4))  # fit starts from new parameter tensors
    torch.testing.assert_close(
        model.field(1, [v, None]), model.hidden_bias + v @ model.weights, rtol=1e-2, atol=1e-2
    )


def test_zero_gamma_qrbm_trains_exactly_like_rbm():
    """At Gamma = 0 the QRBM hot path is the RBM's sigmoid, so training is bit-for-bit equal."""
    gen = torch.Generator().manual_seed(4)
    data = (torch.rand(40, 12, generator=gen) < 0.4).float()
    kw = dict(seed=2, weight_scale=0.3, n_epochs=2, batch_size=10)
    q = QRBM(12, 5, gamma_init=0.0, **kw).fit(data)
    r = RBM(12, 5, **kw).fit(data)
    for name in ("weights", "visible_bias", "hidden_bias", "gamma"):
        assert torch.equal(getattr(q, name), getattr(r, name)), name


def test_hot_path_statistics_match_careful_closed_form():
    """latent_statistics (few-kernel form) agrees with the careful closed form, and the
    zero-Gamma check follows in-place updates of gamma."""
    from qdoem.layers import qubit

    model = small_model()
    v = all_states(6).to(torch.float64)
    for gamma in (0.6, 0.0, -1.3):
        model.gamma.fill_(gamma)
        lat = model.e_step(v)[0]
        n, x = qubit.occupation_and_transverse(model.field(1, [v, None]), model.gamma)
        torch.testing.assert_close(lat["mean"], n, rtol=0, atol=1e-14)
        torch.testing.assert_close(lat["x"], x, rtol=0, atol=1e-14)
