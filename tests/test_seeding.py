"""Seeds derived from keys: deterministic, distinct per key tuple, validated."""

import pytest

from qdoem.seeding import derive_seed, seeded_generator


def test_derived_seeds_are_deterministic_and_distinct():
    seeds = {derive_seed(s, e, k, c) for s in range(3) for e in range(5) for k in range(20)
             for c in range(3)}  # fmt: skip
    assert len(seeds) == 3 * 5 * 20 * 3
    assert derive_seed(1, 2, 3) == derive_seed(1, 2, 3) < 2**63
    assert derive_seed(1, 2) != derive_seed(2, 1)
    a = seeded_generator(derive_seed(0, 1)).initial_seed()
    assert a == derive_seed(0, 1)


@pytest.mark.parametrize("keys", [(-1,), (1.5,), (True,), (2**64,)])
def test_bad_keys(keys):
    with pytest.raises(ValueError, match="seed keys"):
        derive_seed(*keys)
