"""The shared DO-EM trainer: learning, determinism, checkpoint/resume, config checks."""

import json

import pytest
import torch

from qdoem.data import bars_and_stripes
from qdoem.experiment import resolve_config
from qdoem.models import QRBM, RBM
from qdoem.training import SGD, TrainConfig, Trainer, scheduled_lr


def bas_data():
    return bars_and_stripes(3).double()


@pytest.mark.parametrize("cls,kw", [(QRBM, {"gamma_init": 0.5}), (RBM, {})])
@pytest.mark.parametrize("persistent", [False, True])
def test_training_loss_falls_on_bars_and_stripes(cls, kw, persistent):
    data = bas_data().repeat(8, 1)  # 112 rows
    model = cls(9, 16, dtype=torch.float64, seed=0, weight_scale=0.1, **kw)
    init_nll = -float(model.log_prob(bas_data()).mean())
    cfg = TrainConfig(
        epochs=60,
        batch_size=14,
        learning_rate=0.1,
        momentum=0.5,
        cd_k=1,
        persistent=persistent,
        seed=0,
    )
    history = Trainer(model, cfg).fit(data)
    first, last = history[0]["train_nll"], history[-1]["train_nll"]
    assert last < first - 1.0 and last < init_nll - 1.0, (init_nll, first, last)


def _trainer(tmp_path, name, persistent=False, epochs=4):
    model = QRBM(9, 6, dtype=torch.float64, seed=1, weight_scale=0.1)
    cfg = TrainConfig(
        epochs=epochs,
        batch_size=5,
        learning_rate=0.1,
        momentum=0.9,
        lr_schedule="cosine",
        persistent=persistent,
        seed=3,
    )
    return Trainer(model, cfg, run_dir=tmp_path / name)


@pytest.mark.parametrize("persistent", [False, True])
def test_interrupted_and_resumed_equals_uninterrupted(tmp_path, persistent):
    data = bas_data()
    full = _trainer(tmp_path, "full", persistent)
    full.fit(data)

    part = _trainer(tmp_path, "part", persistent)
    part.fit(data, stop_after=2)
    assert part.epoch == 2
    # a fresh process: new model and trainer, state only from the checkpoint on disk
    resumed = _trainer(tmp_path, "part", persistent)
    resumed.load_state_dict(torch.load(resumed.run.checkpoint, weights_only=True))
    resumed.fit(data)

    for name, t in full.model.parameters().items():
        assert torch.equal(t, resumed.model.parameters()[name]), name
    assert [r["epoch"] for r in resumed.history] == [1, 2, 3, 4]
    lines = (tmp_path / "part" / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(x)["epoch"] for x in lines] == [1, 2, 3, 4]
    assert not [p for p in (tmp_path / "part").iterdir() if p.name.startswith(".tmp")]


def test_trainer_rejects_non_models_and_bad_data():
    with pytest.raises(ValueError, match="CQLVM"):
        Trainer(object(), TrainConfig())
    trainer = Trainer(RBM(4, 2), TrainConfig(epochs=1))
    with pytest.raises(ValueError, match=r"shape \(n_samples, 4\)"):
        trainer.fit(torch.zeros(3, 5))
    with pytest.raises(ValueError, match="empty"):
        trainer.fit(torch.zeros(0, 4))


@pytest.mark.parametrize(
    "kw,match",
    [
        ({"epochs": 0}, "epochs"),
        ({"cd_k": -1}, "cd_k"),
        ({"learning_rate": 0.0}, "learning_rate"),
        ({"lr_schedule": "step"}, "lr_schedule"),
    ],
)
def test_bad_train_config(kw, match):
    with pytest.raises(ValueError, match=match):
        TrainConfig(**kw)


def test_schedules_and_sgd():
    assert scheduled_lr(1.0, 0, 5, "linear", 0.1) == pytest.approx(1.0)
    assert scheduled_lr(1.0, 4, 5, "linear", 0.1) == pytest.approx(0.1)
    assert scheduled_lr(1.0, 4, 5, "cosine", 0.1) == pytest.approx(0.1)
    assert scheduled_lr(1.0, 2, 5, "cosine", 0.0) == pytest.approx(0.5)
    p = {"w": torch.ones(2)}
    opt = SGD(p, ["w"], ["w"], momentum=0.5, weight_decay=0.1)
    opt.step({"w": torch.zeros(2)}, lr=1.0)  # decay only: w -= 0.1 w
    torch.testing.assert_close(p["w"], torch.full((2,), 0.9))
    opt.step({"w": torch.zeros(2)}, lr=1.0)  # vel = 0.5 * -0.1 - 0.09
    torch.testing.assert_close(p["w"], torch.full((2,), 0.9 - 0.14))


def test_resolve_config_errors(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('model = "qrbm"\nnot_a_key = 1\n')
    with pytest.raises(ValueError, match="not_a_key"):
        resolve_config(bad)
    bad.write_text("model = [unclosed")
    with pytest.raises(ValueError, match="not valid TOML"):
        resolve_config(bad)
    with pytest.raises(FileNotFoundError):
        resolve_config(tmp_path / "missing.toml")
    with pytest.raises(ValueError, match="model must be"):
        resolve_config(None, {"model": "vae"})
    good = tmp_path / "good.toml"
    good.write_text('model = "rbm"\nn_hidden = 7\nepochs = 3\n')
    cfg = resolve_config(good, {"epochs": 5})
    assert (cfg["model"], cfg["n_hidden"], cfg["epochs"]) == ("rbm", 7, 5)


def test_pcd_chains_persist_across_a_short_final_batch():
    data = bars_and_stripes(3)  # 14 rows, batch 4 -> last batch has 2
    trainer = Trainer(RBM(9, 4, seed=0), TrainConfig(epochs=2, batch_size=4, persistent=True))
    trainer.train_epoch(data)
    assert trainer.chains.values[0].shape == (4, 9)
    trainer.train_step(data[:2], lr=0.1)
    assert trainer.chains.values[0].shape == (4, 9)


def test_metrics_log_the_mh_acceptance_rate():
    data = bas_data()
    history = {}
    for name, model, sampler in (
        ("qrbm-exact", QRBM(9, 4, gamma_init=1.0, weight_scale=0.5), "exact"),
        ("qrbm-plain", QRBM(9, 4, gamma_init=1.0, weight_scale=0.5), "plain"),
        ("rbm-exact", RBM(9, 4, weight_scale=0.5), "exact"),
    ):
        cfg = TrainConfig(epochs=2, batch_size=7, sampler=sampler)
        history[name] = Trainer(model, cfg).fit(data)
    rates = [r["accept_rate"] for r in history["qrbm-exact"]]
    assert all(0.0 < r <= 1.0 for r in rates) and min(rates) < 1.0
    # No MH test is made by the plain chain, nor at Gamma = 0 (every proposal is exact there).
    assert "accept_rate" not in history["qrbm-plain"][0]
    assert "accept_rate" not in history["rbm-exact"][0]


def test_sampler_choice_changes_training_and_is_validated():
    """Every step draws from streams seeded by (seed, epoch, step), so an exact-chain step in
    which every proposal is accepted is draw for draw the plain step; rejections make them
    differ (strong weights and Gamma here)."""
    data = bas_data()
    runs, history = {}, {}
    for sampler in ("exact", "plain", "twin-mh"):
        model = QRBM(9, 4, dtype=torch.float64, gamma_init=2.0, weight_scale=2.0, seed=1)
        history[sampler] = Trainer(model, TrainConfig(epochs=2, batch_size=7, sampler=sampler)).fit(
            data
        )
        runs[sampler] = model.weights.clone()
    assert history["exact"][-1]["accept_rate"] < 1.0
    assert not torch.equal(runs["exact"], runs["plain"])
    assert not torch.equal(runs["exact"], runs["twin-mh"])
    with pytest.raises(ValueError, match="sampler must be one of"):
        TrainConfig(sampler="gibbs")
    with pytest.raises(ValueError, match="does not measure the quantum layers"):
        Trainer(QRBM(9, 4), TrainConfig(sampler="twin-mh", backend="exact"))
