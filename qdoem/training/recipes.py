"""Named training recipes: the literature's settings for {0,1}-visible RBMs on MNIST-like data.

A recipe is a set of :class:`~qdoem.training.TrainConfig` values (``--recipe NAME`` on the
command line, ``recipe = "NAME"`` in a TOML file; the file's and the flags' own keys override
it). The same recipe trains the classical model and its quantum twin, so that a comparison
changes nothing but Gamma.

``cd1``
    Contrastive divergence with one sweep, as in Hinton's practical guide (2010) and the
    RBMs of Salakhutdinov & Murray (2008): mini-batches of 100, learning rate 0.05 decayed
    linearly, momentum 0.5 for 5 epochs then 0.9, weight decay 2e-4, visible offsets at the
    data's log-odds, weights N(0, 0.01^2). S&M report -125.5 nats for 500 hidden units.
``pcd``
    Persistent contrastive divergence (Tieleman 2008): 100 persistent chains, one sweep per
    step, learning rate 0.05 decayed linearly to 0.005, momentum 0.5, weight decay 1e-4.
    The fantasy particles explore the model's own modes, so the model term is far less
    biased than CD-1's; the decay lets the chains keep up as the model sharpens.
``pcd5``
    ``pcd`` with five sweeps of the persistent chains per step (PCD-k, Tieleman 2008): the
    chains track the sharpening model more closely, at about 2.5 times the CPU of ``pcd``
    per epoch for 784 x 500 (the positive phase and the update are unchanged).
``pcd10``
    ``pcd`` with ten sweeps per step: the best measured here. A 500-hidden RBM on the
    literature's stochastically binarized MNIST scores [-88.51, -88.07] nats, AIS and RAISE
    agreeing (``results/rbm_quality``; ``pcd5`` [-90.93, -90.83], ``cd1`` [-108.43, -107.07]).

All run 100 epochs. Measured results: ``results/rbm_quality_mnist`` (``bench/rbm_quality.py``).
"""

from __future__ import annotations

from typing import Any

__all__ = ["RECIPES", "recipe"]

RECIPES: dict[str, dict[str, Any]] = {
    "cd1": {
        "epochs": 100,
        "batch_size": 100,
        "learning_rate": 0.05,
        "lr_schedule": "linear",
        "lr_final_ratio": 0.02,
        "initial_momentum": 0.5,
        "momentum_warmup": 5,
        "momentum": 0.9,
        "weight_decay": 2e-4,
        "cd_k": 1,
        "persistent": False,
        "init_visible_from_data": True,
    },
    "pcd": {
        "epochs": 100,
        "batch_size": 100,
        "learning_rate": 0.05,
        "lr_schedule": "linear",
        "lr_final_ratio": 0.1,
        "initial_momentum": None,
        "momentum": 0.5,
        "weight_decay": 1e-4,
        "cd_k": 1,
        "persistent": True,
        "init_visible_from_data": True,
    },
}
RECIPES["pcd5"] = {**RECIPES["pcd"], "cd_k": 5}
RECIPES["pcd10"] = {**RECIPES["pcd"], "cd_k": 10}


def recipe(name: str) -> dict[str, Any]:
    """A copy of the settings of recipe ``name``; ``ValueError`` naming the recipes otherwise."""
    if name not in RECIPES:
        raise ValueError(f"recipe must be one of {sorted(RECIPES)}, got {name!r}")
    return dict(RECIPES[name])
