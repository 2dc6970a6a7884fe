"""CQ-LVM models trained with DO-EM: the QRBM and its classical twin, the RBM."""

from __future__ import annotations

from typing import Any

import torch

from qdoem.models.rbm import QRBM, RBM

__all__ = ["QRBM", "RBM", "MODELS", "build_model", "model_from_state"]

MODELS: dict[str, type[QRBM]] = {"qrbm": QRBM, "rbm": RBM}


def build_model(name: str, n_visible: int, n_hidden: int, **options: Any) -> QRBM:
    """Construct a model by registry name (``"qrbm"`` or ``"rbm"``)."""
    key = name.lower()
    if key not in MODELS:
        raise ValueError(f"unknown model {name!r}; choose one of {sorted(MODELS)}")
    return MODELS[key](n_visible, n_hidden, **options)


def model_from_state(state: dict[str, Any], device: str | None = None) -> QRBM:
    """Rebuild a model from :meth:`QRBM.state_dict` output."""
    hyper = dict(state["hyperparameters"])
    for key in ("dtype", "matmul_dtype"):
        if isinstance(hyper.get(key), str):
            hyper[key] = getattr(torch, hyper[key])
    if device is not None:
        hyper["device"] = device
    model = build_model(state["model"], hyper.pop("n_visible"), hyper.pop("n_hidden"), **hyper)
    model.load_state_dict(state)
    return model
