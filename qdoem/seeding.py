"""Random streams derived from keys: every random draw of a run is a pure function of its seed.

A training step ``s`` of epoch ``e`` draws from generators seeded by ``derive_seed(seed, e, s,
stream)``, so a run resumed from a checkpoint draws exactly what the uninterrupted run drew,
with no generator state to save (backends included: they are reseeded the same way).
"""

from __future__ import annotations

import hashlib
import struct

import numpy as np
import torch

__all__ = ["derive_seed", "seeded_generator"]

#: Stream keys, so that different consumers of one step never share draws (``PRETRAIN``: the
#: greedy pre-training stages of deep models, :mod:`qdoem.training.pretrain`).
HOST, ESTIMATOR, DATA_ORDER, PRETRAIN = 0, 1, 2, 3


def derive_seed(*keys: int) -> int:
    """A 63-bit seed from non-negative integer keys: the first 8 bytes of their BLAKE2b hash.

    Distinct key tuples give independent-looking seeds (a cryptographic hash), in about a
    microsecond (this runs on every training step).
    """
    for k in keys:
        if isinstance(k, bool) or not isinstance(k, int | np.integer) or not 0 <= k < 2**64:
            raise ValueError(f"seed keys must be integers in [0, 2^64), got {keys!r}")
    digest = hashlib.blake2b(struct.pack(f"<{len(keys)}Q", *keys), digest_size=8).digest()
    return int.from_bytes(digest, "little") >> 1


def seeded_generator(seed: int, device: str | torch.device = "cpu") -> torch.Generator:
    """A torch generator on ``device`` seeded with ``seed``."""
    return torch.Generator(device=device).manual_seed(seed)
