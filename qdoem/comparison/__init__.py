"""The gradient-based baselines that DO-EM is compared with (issue 5), and their timed loops.

Every method trains the same Hamiltonian family, the QRBM / CQ-LVM of
:meth:`qdoem.theory.HamiltonianFamily.qrbm`:

    H(theta) = - a.v - sum_j c_j(v) n_j - sum_j Gamma_j X_j,   c(v) = b + W^T v,

i.e. visible Z fields ``a``, hidden Z fields ``b``, visible-hidden ZZ couplings ``W`` (written with
occupations n = (I - Z)/2) and hidden X fields ``Gamma``. Visible qubits come first.

Modules
-------
amin_bound : Amin et al.'s bound-based (bQRBM) gradient with an exact-diagonalisation
             negative phase.
full_qbm   : exact log-likelihood gradient of the full 2^n x 2^n density matrix.
metrics    : KL(data || model) and a training history record.
training   : the timed loops: gradient ascent for every gradient method, and DO-EM.
shots      : exact against shot-based DO-EM through simulator backends, side by side
             (``qdoem compare``; torch models and the trainer, not the numpy QRBM above).

The shared maths comes from :mod:`qdoem.theory`: the numpy QRBM with DO-EM's closed-form E-step
and concave M-step (:mod:`qdoem.theory.qrbm`), the dense family, the bit order; the data from
:mod:`qdoem.data.synthetic` (Amin et al.'s Bernoulli mixture).
"""

from qdoem.comparison.metrics import TrainHistory, kl_to_data

__all__ = ["TrainHistory", "kl_to_data"]
