"""Training-speed comparison of DO-EM against gradient-based QBM training (issue 5).

Every method here trains the same Hamiltonian family, the QRBM / CQ-LVM:

    H(theta) = - a.v - sum_j c_j(v) n_j - sum_j Gamma_j X_j,   c(v) = b + W^T v,

i.e. visible Z fields ``a``, hidden Z fields ``b``, visible-hidden ZZ couplings ``W`` (written with
occupations n = (I - Z)/2) and hidden X fields ``Gamma``. Visible qubits come first.

Modules
-------
bernoulli_mixture : Amin et al.'s Bernoulli-mixture data (M modes, flip probability 1 - p).
qrbm              : parameters, closed forms, exact enumeration of log Z and model statistics.
metrics           : KL(data || model) and a training history record.
doem_cqlvm        : DO-EM (closed-form E-step, concave M-step) and its one-gradient-step variant.
amin_bound        : Amin et al.'s bound-based (bQRBM) gradient with an exact-diagonalisation
                    negative phase.
full_qbm          : exact log-likelihood gradient of the full 2^n x 2^n density matrix.
training          : a shared full-batch gradient-ascent loop.
"""

from qdoem.comparison.bernoulli_mixture import BernoulliMixture, empirical_distribution
from qdoem.comparison.metrics import TrainHistory, kl_to_data
from qdoem.comparison.qrbm import QRBMParams, init_params, log_partition

__all__ = [
    "BernoulliMixture",
    "QRBMParams",
    "TrainHistory",
    "empirical_distribution",
    "init_params",
    "kl_to_data",
    "log_partition",
]
