"""Cross-check against the exact density-operator core (qdoem.theory, exported from qdoem)."""

import numpy as np
import pytest

qdoem = pytest.importorskip("qdoem")
if not hasattr(qdoem, "petz_recovery"):
    pytest.skip("qdoem exact core not available", allow_module_level=True)

from qdoem.comparison.full_qbm import hamiltonian, operator_traces  # noqa: E402
from qdoem.comparison.metrics import kl_to_data  # noqa: E402
from qdoem.theory import basis_states as visible_states  # noqa: E402
from qdoem.theory import state_index  # noqa: E402
from qdoem.theory.qrbm import (  # noqa: E402
    e_step,  # noqa: E402
    hidden_moments,
    log_partition,
)


def _data_state(v, q):
    idx = state_index(v)
    eta_v = np.zeros((2 ** v.shape[1],) * 2)
    eta_v[idx, idx] = q
    return eta_v


def test_marginal_is_partial_trace_of_gibbs_state(problem):
    _, _, p = problem
    rho = qdoem.gibbs_state(hamiltonian(p))
    rho_v = qdoem.partial_trace(rho, [2] * 5, keep=[0, 1, 2])
    expected = np.exp(hidden_moments(visible_states(3), p)[0] - log_partition(p))
    np.testing.assert_allclose(np.diag(rho_v).real, expected, atol=1e-12)


def test_closed_form_e_step_is_petz_recovery(problem):
    """s_eta = Tr(eta dH'/dtheta) with eta the Petz recovery of eta_V (the DO-EM E-step)."""
    v, q, p = problem
    rho = qdoem.gibbs_state(hamiltonian(p))
    eta = qdoem.petz_recovery(rho, _data_state(v, q), [8, 4])
    np.testing.assert_allclose(e_step(v, q, p), operator_traces(eta.real, 3, 2), atol=1e-10)


def test_kl_is_minus_log_likelihood_minus_entropy(problem):
    v, q, p = problem
    rho_v = qdoem.partial_trace(qdoem.gibbs_state(hamiltonian(p)), [2] * 5, keep=[0, 1, 2])
    eta_v = _data_state(v, q)
    assert kl_to_data(v, q, p) == pytest.approx(qdoem.relative_entropy(eta_v, rho_v), rel=1e-9)
