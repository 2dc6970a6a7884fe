"""Random streams derived from keys: every random draw of a run is a pure function of its seed.

A training step ``s`` of epoch ``e`` draws from generators seeded by ``derive_seed(seed, e, s,
stream)``, so a run resumed from a checkpoint draws exactly what the uninterrupted run drew,
with no generator state to save (backends included: they are reseeded the same way).
"""

from __future__ import annotations

import numpy as np
import torch

__all__ = ["derive_seed", "seeded_generator"]

#: Stream keys, so that different consumers of one step never share draws.
HOST, ESTIMATOR, DATA_ORDER = 0, 1, 2


def derive_seed(*keys: int) -> int:
    """A 63-bit seed from non-negative integer keys (``numpy.random.SeedSequence`` hashing)."""
    for k in keys:
        if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 0:
            raise ValueError(f"seed keys must be non-negative integers, got {keys!r}")
    state = np.random.SeedSequence([int(k) for k in keys]).generate_state(2, dtype=np.uint32)
    return (int(state[0]) << 31) ^ int(state[1])


def seeded_generator(seed: int, device: str | torch.device = "cpu") -> torch.Generator:
    """A torch generator on ``device`` seeded with ``seed``."""
    return torch.Generator(device=device).manual_seed(seed)
