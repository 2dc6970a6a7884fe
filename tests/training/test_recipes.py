"""Named recipes, their resolution order, and the momentum warm-up."""

import json

import pytest
import torch

from qdoem.cli import main
from qdoem.experiment import resolve_config
from qdoem.models import RBM
from qdoem.training import RECIPES, SGD, TrainConfig, recipe


def test_recipes_are_valid_train_configs():
    for name in RECIPES:
        cfg = TrainConfig.from_dict(recipe(name))
        assert cfg.epochs >= 1
    assert recipe("pcd")["persistent"] and not recipe("cd1")["persistent"]
    with pytest.raises(ValueError, match="recipe must be one of"):
        recipe("magic")


def test_recipe_sits_under_the_file_and_the_flags(tmp_path):
    assert resolve_config(None, {"recipe": "cd1"})["momentum"] == 0.9
    assert resolve_config(None, {"recipe": "cd1", "momentum": 0.7})["momentum"] == 0.7
    toml = tmp_path / "c.toml"
    toml.write_text('recipe = "pcd"\nlearning_rate = 0.01\n')
    config = resolve_config(toml)
    assert config["persistent"] is True and config["learning_rate"] == 0.01
    assert resolve_config(toml, {"recipe": "cd1"})["persistent"] is False
    with pytest.raises(ValueError, match="recipe"):
        resolve_config(None, {"recipe": "nope"})


def test_momentum_warms_up_then_switches():
    cfg = TrainConfig(initial_momentum=0.5, momentum_warmup=2, momentum=0.9)
    assert [cfg.momentum_at(e) for e in range(4)] == [0.5, 0.5, 0.9, 0.9]
    assert TrainConfig(momentum=0.3).momentum_at(0) == 0.3
    for bad in ({"initial_momentum": 1.5}, {"momentum_warmup": -1}, {"momentum_warmup": 1.5}):
        with pytest.raises(ValueError, match=next(iter(bad))):
            TrainConfig(**bad)


def test_sgd_step_momentum_override():
    p = {"w": torch.zeros(2)}
    opt = SGD(p, ["w"], [], momentum=0.0, weight_decay=0.0)
    opt.step({"w": torch.ones(2)}, lr=1.0)
    opt.step({"w": torch.ones(2)}, lr=1.0, momentum=0.5)  # vel = 0.5 * 1 + 1
    torch.testing.assert_close(p["w"], torch.full((2,), 2.5))


def test_the_trainer_uses_and_logs_the_warm_up(tmp_path):
    data = (torch.rand(40, 6, generator=torch.Generator().manual_seed(0)) < 0.5).float()
    model = RBM(6, 3, n_epochs=3, initial_momentum=0.5, momentum_warmup=2, momentum=0.9)
    model.fit(data)
    assert [r["momentum"] for r in model.history_] == [0.5, 0.5, 0.9]
    same = RBM(6, 3, n_epochs=3, momentum=0.9).fit(data)  # warm-up changes the result
    assert not torch.equal(same.weights, model.weights)


def test_cli_recipe_is_recorded(tmp_path):
    run = tmp_path / "r"
    args = ["train", "--recipe", "pcd", "--epochs", "1", "--n-hidden", "3", "--run-dir",
            str(run), "--no-progress"]  # fmt: skip
    assert main(args) == 0
    saved = json.loads((run / "config.json").read_text())
    assert saved["recipe"] == "pcd" and saved["persistent"] is True and saved["epochs"] == 1
