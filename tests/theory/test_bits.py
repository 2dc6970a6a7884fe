"""The one bit order: qubit 0 is the most significant bit of a basis-state index."""

import numpy as np
import pytest

from qdoem.theory import basis_states, classical_data_state, state_index


def test_basis_states_are_msb_first_and_invert_state_index():
    bits = basis_states(3)
    assert bits.tolist()[:3] == [[0, 0, 0], [0, 0, 1], [0, 1, 0]]
    assert bits[4].tolist() == [1, 0, 0]
    np.testing.assert_array_equal(state_index(bits), np.arange(8))
    np.testing.assert_array_equal(basis_states(5, 7, 11), basis_states(5)[7:11])


def test_order_matches_kron_and_the_data_state():
    # |1 0 0> is row 4 of kron(e1, e0, e0), and the data state puts its weight there.
    e = np.eye(2)
    assert np.argmax(np.kron(np.kron(e[1], e[0]), e[0])) == state_index([1, 0, 0]) == 4
    eta = classical_data_state(np.array([[1, 0, 0]]))
    assert eta[4, 4] == pytest.approx(1.0)


def test_bad_bits():
    with pytest.raises(ValueError, match="only 0 and 1"):
        state_index([0, 2])
    with pytest.raises(ValueError, match="start <= stop"):
        basis_states(3, 5, 2)
