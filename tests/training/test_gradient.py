"""One trainer step against the exact log-likelihood gradient (enumeration), many chains.

With momentum and weight decay off and lr = 1, a step moves the parameters by exactly the
estimated gradient: sufficient statistics on the data minus on the chains (CD-k started at the
data). With 20000 chains and k = 30 sweeps, the chains' estimate of the model term is close to
the exact expectation, so the step points along the exact gradient of the average
log-likelihood, unless the chain is biased (the plain chain at Gamma != 0).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from qdoem.models import QRBM
from qdoem.training import TrainConfig, Trainer


def step_and_truth(sampler: str, gamma: float):
    rng = np.random.default_rng(0)
    data = torch.from_numpy(rng.integers(0, 2, size=(8, 6))).double().repeat(2500, 1)
    model = QRBM(6, 4, dtype=torch.float64, seed=1, gamma_init=gamma)
    model.load_theta(np.random.default_rng(1).normal(scale=0.7, size=model.theta().size))
    model.gamma.fill_(gamma)
    pos = model.sufficient_statistics(model.positive_phase(data)[0])
    exact = model.exact_statistics()
    truth = model.theta({k: pos[k] - exact[k] for k in pos})
    before = model.theta()
    cfg = TrainConfig(
        epochs=1,
        batch_size=data.shape[0],
        learning_rate=1.0,
        momentum=0.0,
        weight_decay=0.0,
        cd_k=30,
        sampler=sampler,
        init_visible_from_data=False,
        seed=3,
    )
    Trainer(model, cfg).train_step(data, 1.0)
    return model.theta() - before, truth


def cosine(a, b):
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def relative_error(step, truth):
    return float(np.linalg.norm(step - truth) / np.linalg.norm(truth))


@pytest.mark.parametrize("sampler", ["exact", "twin-mh"])
def test_step_follows_the_exact_gradient_at_gamma_1(sampler):
    step, truth = step_and_truth(sampler, 1.0)
    assert cosine(step, truth) > 0.999
    assert relative_error(step, truth) < 0.05  # Monte-Carlo noise of 20000 chains: ~0.02-0.03


def test_plain_chain_step_is_biased_at_gamma_2():
    """The plain chain's error is its bias, well above the exact chain's Monte-Carlo noise."""
    exact = relative_error(*step_and_truth("exact", 2.0))
    plain = relative_error(*step_and_truth("plain", 2.0))
    assert plain > 2 * exact, (plain, exact)
