"""Liao et al.'s remaining GRBM options: the per-epoch cosine schedule of torch, sample grids
whose final image is the conditional mean, and the settings' checks in configs and the CLI."""

from __future__ import annotations

import itertools

import pytest
import torch

from qdoem.errors import ConfigError
from qdoem.experiment import resolve_config
from qdoem.models import GRBM, QGRBM
from qdoem.training.optim import scheduled_lr


@pytest.mark.parametrize(("epochs", "final_ratio"), [(7, 0.0), (20, 0.1)])
def test_cosine_annealing_is_torchs_scheduler_stepped_per_epoch(epochs, final_ratio):
    param = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([param], lr=0.01)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, epochs, eta_min=0.01 * final_ratio)
    for epoch in range(epochs):
        ours = [
            scheduled_lr(0.01, epoch, epochs, "cosine-annealing", final_ratio, step=s)
            for s in (0, 99)
        ]
        assert ours == pytest.approx([opt.param_groups[0]["lr"]] * 2, rel=1e-12, abs=1e-15)
        opt.step()
        sched.step()


def _distance(x, points):
    """Each row's largest coordinate difference to its nearest point."""
    return (x[:, None, :] - points[None]).abs().amax(-1).min(1).values


@pytest.mark.parametrize("model_cls", [GRBM, QGRBM])
def test_conditional_mean_is_mu_plus_w_h_for_a_binary_h(model_cls):
    """Every row is ``mu + W h`` for some ``h`` in ``{0,1}^3`` (the last hidden draw), and the
    same chains without the option return continuous values that are not."""
    model = model_cls(4, 3, seed=1, weight_scale=1.0, dtype=torch.float64)
    p = model.parameters()
    corners = torch.tensor(list(itertools.product([0.0, 1.0], repeat=3)), dtype=torch.float64)
    means = p["visible_mu"] + corners @ p["weights"].T  # (8, 4)
    for sampler in ("exact", "gibbs-langevin"):
        x = model.sample(50, steps=3, sampler=sampler, conditional_mean=True)
        assert float(_distance(x, means).max()) < 1e-12
        v = model.sample(50, steps=3, sampler=sampler)
        assert float(_distance(v, means).min()) > 1e-6
    with pytest.raises(ValueError, match="conditional_mean must be True or False, got 1"):
        model.sample(2, steps=1, conditional_mean=1)


def test_config_keys_are_checked(tmp_path):
    run = str(tmp_path / "r")
    config = resolve_config(
        None,
        {
            "model": "qgrbm",
            "sampler": "gibbs-langevin",
            "langevin_steps": 4,
            "langevin_eta": 0.2,
            "neg_average_from": 0,
            "cd_k": 3,
            "lr_schedule": "cosine-annealing",
            "grid_conditional_mean": True,
            "run_dir": run,
        },
    )
    assert config["langevin_steps"] == 4 and config["neg_average_from"] == 0
    with pytest.raises(ConfigError, match="neg_average_from must be None or an int.*got 3"):
        resolve_config(None, {"cd_k": 3, "neg_average_from": 3, "run_dir": run})
    with pytest.raises(ConfigError, match="grid_conditional_mean must be true or false, got 'yes'"):
        resolve_config(None, {"grid_conditional_mean": "yes", "run_dir": run})
    with pytest.raises(ConfigError, match="langevin_eta must be a finite number, got 'big'"):
        resolve_config(None, {"langevin_eta": "big", "run_dir": run})
