"""Linear Hamiltonian families ``H(theta) = sum_r theta_r H_r`` built from Pauli terms.

Qubit order
-----------
Qubit ``0`` is the first (most significant) tensor factor, and visible qubits come
first. A Pauli label is read left to right in that order: ``"ZIX"`` is
``Z (x) I (x) X`` with ``Z`` on qubit 0. This is also what
``qiskit.quantum_info.SparsePauliOp("ZIX").to_matrix()`` returns, so Qiskit labels can
be handed in unchanged; note that in Qiskit's own (little-endian) numbering our qubit
``k`` is Qiskit qubit ``n - 1 - k``.

Sign convention: ``H = -sum b_i Z_i - sum w_ij Z_i Z_j - sum Gamma_i X_i``, so the term
that goes with parameter ``b_i`` is ``-Z_i`` and ``rho = exp(-H)/Z``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import scipy.sparse as sp

from qdoem.theory.bits import basis_states
from qdoem.theory.validation import check_hermitian

_PAULI = {
    "I": sp.identity(2, dtype=np.complex128, format="csr"),
    "X": sp.csr_matrix(np.array([[0, 1], [1, 0]], dtype=np.complex128)),
    "Y": sp.csr_matrix(np.array([[0, -1j], [1j, 0]], dtype=np.complex128)),
    "Z": sp.csr_matrix(np.array([[1, 0], [0, -1]], dtype=np.complex128)),
}


def pauli_matrix(label: str) -> sp.csr_matrix:
    """Sparse matrix of a Pauli string such as ``"ZIX"`` (first character = qubit 0)."""
    label = label.upper()
    if not label or any(ch not in _PAULI for ch in label):
        raise ValueError(f"Pauli label must be a non-empty string over I, X, Y, Z; got {label!r}")
    out = _PAULI[label[0]]
    for ch in label[1:]:
        out = sp.kron(out, _PAULI[ch], format="csr")
    return out


def pauli_label(n_qubits: int, ops: dict[int, str]) -> str:
    """Label with ``ops[q]`` on qubit ``q`` and identities elsewhere, e.g. ``{0: "Z", 2: "X"}``."""
    chars = ["I"] * n_qubits
    for q, p in ops.items():
        if not 0 <= q < n_qubits:
            raise ValueError(f"qubit {q} is out of range for {n_qubits} qubits")
        chars[q] = p
    return "".join(chars)


def _to_sparse(term: object, index: int) -> sp.csr_matrix:
    if isinstance(term, str):
        return pauli_matrix(term)
    if hasattr(term, "to_matrix") and hasattr(term, "num_qubits"):  # SparsePauliOp, Pauli
        return sp.csr_matrix(term.to_matrix(sparse=True), dtype=np.complex128)
    if sp.issparse(term):
        mat = sp.csr_matrix(term, dtype=np.complex128)
        check_hermitian(
            mat.toarray() if mat.shape[0] <= 1024 else mat[:1, :1].toarray(), f"term {index}"
        )
        return mat
    return sp.csr_matrix(check_hermitian(term, f"term {index}"))


#: Largest family whose dense ``H`` is built (2^14 x 2^14 complex128 is 4 GiB).
MAX_DENSE_QUBITS = 14


def default_coupling_names(n_couplings: int) -> list[str]:
    """``["weights"]`` for one coupling, else ``"weights_1"``, ``"weights_2"``, ..."""
    if n_couplings == 1:
        return ["weights"]
    return [f"weights_{i + 1}" for i in range(n_couplings)]


class HamiltonianFamily:
    """A linear family ``H(theta) = sum_r theta_r H_r`` on ``n_qubits`` qubits.

    Parameters
    ----------
    terms : sequence
        Each ``H_r`` as a Pauli label (``"ZZI"``), a ``SparsePauliOp`` or ``Pauli``, or a
        Hermitian matrix (dense or scipy.sparse) of size ``2**n_qubits``.
    names : sequence of str, optional
        One name per term, for reports. Defaults to ``"theta_r"``.

    Notes
    -----
    The terms are stored sparse; a Pauli string has one non-zero per row, so families
    on 12 qubits cost a few MB rather than ``16 * 4**12`` bytes per term.
    """

    def __init__(self, terms: Sequence[object], names: Sequence[str] | None = None):
        if len(terms) == 0:
            raise ValueError("a Hamiltonian family needs at least one term")
        self.terms = [_to_sparse(t, r) for r, t in enumerate(terms)]
        dim = self.terms[0].shape[0]
        for r, t in enumerate(self.terms):
            if t.shape != (dim, dim):
                raise ValueError(f"term {r} has shape {t.shape}, but term 0 has {(dim, dim)}")
        n_qubits = int(round(np.log2(dim)))
        if 2**n_qubits != dim:
            raise ValueError(f"terms are {dim}x{dim}, not a qubit dimension (power of 2)")
        self.dim = dim
        self.n_qubits = n_qubits
        self.names = list(names) if names is not None else [f"theta_{r}" for r in range(len(terms))]
        if len(self.names) != len(self.terms):
            raise ValueError(f"got {len(self.names)} names for {len(self.terms)} terms")

    def __len__(self) -> int:
        return len(self.terms)

    def __repr__(self) -> str:
        return f"HamiltonianFamily(n_qubits={self.n_qubits}, n_terms={len(self)})"

    def check_theta(self, theta: Iterable[float]) -> np.ndarray:
        """``theta`` as a finite float vector of the family's length."""
        th = np.asarray(theta, dtype=float).reshape(-1)
        if th.shape != (len(self),):
            raise ValueError(f"theta must have {len(self)} entries, got {th.size}")
        if not np.all(np.isfinite(th)):
            raise ValueError("theta has non-finite entries")
        return th

    def hamiltonian(self, theta: Iterable[float]) -> np.ndarray:
        """Dense ``H(theta)`` (complex128; refused above :data:`MAX_DENSE_QUBITS` qubits)."""
        if self.n_qubits > MAX_DENSE_QUBITS:
            gib = 16 * 4.0**self.n_qubits / 2**30
            raise ValueError(
                f"a dense H on {self.n_qubits} qubits would take {gib:.0f} GiB; the dense oracle "
                f"is for at most {MAX_DENSE_QUBITS} qubits"
            )
        th = self.check_theta(theta)
        h = sp.csr_matrix((self.dim, self.dim), dtype=np.complex128)
        for t, term in zip(th, self.terms, strict=True):
            h = h + t * term
        return h.toarray()

    def expectations(self, rho: np.ndarray) -> np.ndarray:
        """``Tr(rho H_r)`` for every term, as a real vector."""
        return np.array([np.real(term.multiply(rho.T).sum()) for term in self.terms])

    def is_cq(self, n_visible: int) -> bool:
        """Whether every term is block-diagonal in the computational basis of the visible qubits.

        That is the CQ-LVM structure ``H = sum_v |v><v| (x) H_L(v)``: no X or Y on a
        visible qubit.
        """
        if not 0 <= n_visible <= self.n_qubits:
            raise ValueError(f"n_visible={n_visible} is outside 0..{self.n_qubits}")
        d_latent = 2 ** (self.n_qubits - n_visible)
        for term in self.terms:
            coo = term.tocoo()
            off = (coo.row // d_latent) != (coo.col // d_latent)
            if np.any(np.abs(coo.data[off]) > 1e-12):
                return False
        return True

    @classmethod
    def transverse_ising(
        cls,
        n_qubits: int,
        couplings: Iterable[tuple[int, int]] = (),
        x_qubits: Iterable[int] = (),
        z_qubits: Iterable[int] | None = None,
    ) -> HamiltonianFamily:
        """``H = -sum b_i Z_i - sum w_ij Z_i Z_j - sum Gamma_k X_k``.

        Parameters are ordered ``b`` (one per ``z_qubits``, default all), then ``w``
        (one per coupling), then ``Gamma`` (one per ``x_qubits``).
        """
        z_qubits = range(n_qubits) if z_qubits is None else z_qubits
        terms, names = [], []
        for i in z_qubits:
            terms.append(-pauli_matrix(pauli_label(n_qubits, {i: "Z"})))
            names.append(f"b_{i}")
        for i, j in couplings:
            if i == j:
                raise ValueError(f"coupling ({i}, {j}) joins a qubit to itself")
            terms.append(-pauli_matrix(pauli_label(n_qubits, {i: "Z", j: "Z"})))
            names.append(f"w_{i}_{j}")
        for k in x_qubits:
            terms.append(-pauli_matrix(pauli_label(n_qubits, {k: "X"})))
            names.append(f"Gamma_{k}")
        return cls(terms, names)

    @classmethod
    def layered(
        cls,
        sizes: Sequence[int],
        quantum: Iterable[int] = (),
        layer_names: Sequence[str] | None = None,
        coupling_names: Sequence[str] | None = None,
    ) -> HamiltonianFamily:
        """A chain of {0,1} layers coupled neighbour to neighbour, in the occupation convention.

        ``H = -sum_k b_k . n_k - sum_l n_l^T W_l n_{l+1} - sum_{k in quantum} Gamma_k . X_k`` with
        ``n = |1><1| = (I - Z)/2`` on every qubit; the layers' qubits follow each other, layer 0
        (visible) first. This is the Hamiltonian of :class:`qdoem.models.LayeredModel`.

        Terms are ordered: every layer's biases (layer by layer), every coupling's weights
        (row-major, bottom coupling first), every quantum layer's transverse fields. Names are
        ``"{layer}_bias[i]"``, ``"{coupling}[i,j]"`` and ``"{layer}_gamma[j]"``.

        Parameters
        ----------
        sizes : sequence of int
            Units per layer.
        quantum : iterable of int
            Indices of the layers that carry transverse fields.
        layer_names, coupling_names : sequences of str, optional
            Defaults ``"layer0", ...`` and ``"weights"`` (one coupling) or ``"weights_1", ...``.
        """
        sizes = [int(s) for s in sizes]
        if len(sizes) < 1 or any(s < 1 for s in sizes):
            raise ValueError(f"sizes must be positive, got {sizes}")
        quantum = sorted(set(quantum))
        if any(not 0 <= k < len(sizes) for k in quantum):
            raise ValueError(f"quantum layers {quantum} out of range for {len(sizes)} layers")
        layer_names = list(layer_names or [f"layer{k}" for k in range(len(sizes))])
        n_couplings = len(sizes) - 1
        coupling_names = list(coupling_names or default_coupling_names(n_couplings))
        n = sum(sizes)
        starts = np.concatenate([[0], np.cumsum(sizes)])
        bits = basis_states(n)  # one column per qubit, qubit 0 first

        def occupation(*qubits: int) -> sp.csr_matrix:
            return sp.diags(np.prod(bits[:, list(qubits)], axis=1), format="csr").astype(
                np.complex128
            )

        terms, names = [], []
        for k, size in enumerate(sizes):
            for i in range(size):
                terms.append(-occupation(starts[k] + i))
                names.append(f"{layer_names[k]}_bias[{i}]")
        for lo in range(n_couplings):
            for i in range(sizes[lo]):
                for j in range(sizes[lo + 1]):
                    terms.append(-occupation(starts[lo] + i, starts[lo + 1] + j))
                    names.append(f"{coupling_names[lo]}[{i},{j}]")
        for k in quantum:
            for j in range(sizes[k]):
                terms.append(-pauli_matrix(pauli_label(n, {int(starts[k]) + j: "X"})))
                names.append(f"{layer_names[k]}_gamma[{j}]")
        return cls(terms, names)

    @classmethod
    def qrbm(cls, n_visible: int, n_latent: int, transverse: bool = True) -> HamiltonianFamily:
        """The QRBM family ``H = -a.v - b.h - v^T W h - Gamma.X``, in the occupation convention.

        Parameters are ordered ``(a, b, W row-major, Gamma)``, the order of
        :meth:`qdoem.models.QRBM.theta`; with ``transverse=False`` it is the classical RBM
        family (all terms diagonal). See :meth:`layered`.
        """
        return cls.layered(
            (n_visible, n_latent),
            quantum=[1] if transverse else [],
            layer_names=("visible", "hidden"),
            coupling_names=("weights",),
        )
