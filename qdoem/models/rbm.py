"""QRBM and RBM: {0,1} visible units, one hidden layer, closed-form quantum hidden units.

Hamiltonian (visible classical, hidden qubits, ``n_j = |1><1|``):

    H(v) = -a.v - sum_j c_j(v) n_j - sum_j Gamma_j X_j,   c(v) = b + W^T v.

It is block-diagonal in v (a CQ-LVM), so the Petz E-step is the conditional Gibbs state of the
hidden qubits, a product of 1-qubit states with closed forms (:mod:`qdoem.models.qubit`):

    log p(v) = a.v + sum_j [c_j/2 + log 2cosh D_j] - log Z,   D_j = sqrt(c_j^2/4 + Gamma_j^2).

``RBM`` is the same model with ``Gamma = 0``, evaluated with ``sigmoid``/``softplus``.
"""

from __future__ import annotations

import math
import os
import tempfile
from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor

from qdoem.models import likelihood, qubit

__all__ = ["QRBM", "RBM", "VISIBLE_MATMULS"]

VISIBLE_MATMULS = ("dense", "sparse")

LatentBackend = Callable[["QRBM", Tensor], dict[str, Tensor]]


def _check_binary(v: Tensor, n_visible: int, name: str = "X") -> None:
    if v.ndim != 2 or v.shape[1] != n_visible:
        raise ValueError(f"{name} must have shape (n_samples, {n_visible}), got {tuple(v.shape)}")
    if v.numel() and not bool(((v == 0) | (v == 1)).all()):
        raise ValueError(f"{name} must contain only 0 and 1 (binary visible units)")


class QRBM:
    """Quantum restricted Boltzmann machine trained with DO-EM.

    Parameters
    ----------
    n_visible, n_hidden : int
        Layer sizes.
    gamma_init : float
        Initial transverse field on every hidden qubit.
    learn_gamma : bool
        Learn Gamma from the ``<X>`` statistics (True) or keep it fixed at ``gamma_init``.
    weight_scale : float
        Standard deviation of the initial weights.
    learning_rate, momentum, weight_decay : float
        SGD hyperparameters (weight decay on ``weights`` only).
    lr_schedule : {"constant", "linear", "cosine"}
        Per-epoch decay of the learning rate towards ``learning_rate * lr_final_ratio``.
    batch_size, n_epochs, cd_k : int
        Minibatch size, epochs for :meth:`fit`, Gibbs steps in the negative phase.
    persistent : bool
        PCD (persistent chains) instead of CD-k.
    seed : int
        Seeds initialisation, data order and every Gibbs sample.
    device : str
        Torch device ("cpu", "cuda", ...).
    dtype : torch.dtype
        Parameter dtype (float32 is the fast path; likelihoods are computed in float64).
    matmul_dtype : torch.dtype, optional
        Mixed precision for the training matmuls, e.g. ``torch.bfloat16``: {0,1} visible and
        hidden samples are exact in it, accumulation is in float32, and the master parameters
        and updates stay in ``dtype``. Defaults to ``dtype``. Likelihoods ignore it.
    visible_matmul : {"dense", "sparse"}
        How products with {0,1} visible vectors are computed (:meth:`hidden_fields`, hence
        training, ``transform`` and ``unnormalized_log_prob``): ``"dense"`` (matmul)
        or ``"sparse"``, gather-sums over the rows of ``weights`` (or of the hidden statistics)
        picked by the ones of ``v`` (``embedding_bag``); much faster for sparse data such as
        binarized MNIST (~13% ones). Hidden fields ``b + W^T v`` (data and visible samples) and
        the weight gradient ``v^T <n>`` use it; the visible reconstruction (~50%-dense hidden
        samples) stays dense. Equal to the dense path up to float32 summation order. Requires
        exactly {0,1} inputs (any non-zero counts as 1) and no ``matmul_dtype``.

    Notes
    -----
    Parameters are created in ``__init__`` because the sizes define a model (an untrained
    model already has a likelihood and can sample); state produced by fitting ends in ``_``.
    """

    model_name = "qrbm"

    def __init__(
        self,
        n_visible: int,
        n_hidden: int,
        *,
        gamma_init: float = 0.5,
        learn_gamma: bool = True,
        weight_scale: float = 0.01,
        learning_rate: float = 0.05,
        momentum: float = 0.5,
        weight_decay: float = 1e-4,
        lr_schedule: str = "constant",
        lr_final_ratio: float = 0.1,
        batch_size: int = 100,
        n_epochs: int = 10,
        cd_k: int = 1,
        persistent: bool = False,
        seed: int = 0,
        device: str = "cpu",
        dtype: torch.dtype = torch.float32,
        matmul_dtype: torch.dtype | None = None,
        visible_matmul: str = "dense",
    ) -> None:
        for name, val in (("n_visible", n_visible), ("n_hidden", n_hidden)):
            if not isinstance(val, int) or isinstance(val, bool) or val < 1:
                raise ValueError(f"{name} must be a positive int, got {val!r}")
        if not math.isfinite(gamma_init):
            raise ValueError(f"gamma_init must be finite, got {gamma_init}")
        if weight_scale < 0:
            raise ValueError(f"weight_scale must be >= 0, got {weight_scale}")
        if dtype not in (torch.float32, torch.float64):
            raise ValueError(f"dtype must be torch.float32 or torch.float64, got {dtype}")
        if matmul_dtype not in (None, torch.float32, torch.float64, torch.bfloat16, torch.float16):
            raise ValueError(
                f"matmul_dtype must be a floating torch dtype or None, got {matmul_dtype}"
            )
        if visible_matmul not in VISIBLE_MATMULS:
            raise ValueError(
                f"visible_matmul must be one of {VISIBLE_MATMULS}, got {visible_matmul!r}"
            )
        if visible_matmul == "sparse" and matmul_dtype not in (None, dtype):
            raise ValueError("visible_matmul='sparse' computes in dtype; leave matmul_dtype unset")
        self.n_visible = n_visible
        self.n_hidden = n_hidden
        self.gamma_init = float(gamma_init)
        self.learn_gamma = bool(learn_gamma)
        self.weight_scale = float(weight_scale)
        self.learning_rate = learning_rate
        self.momentum = momentum
        self.weight_decay = weight_decay
        self.lr_schedule = lr_schedule
        self.lr_final_ratio = lr_final_ratio
        self.batch_size = batch_size
        self.n_epochs = n_epochs
        self.cd_k = cd_k
        self.persistent = persistent
        self.seed = seed
        self.device = device
        self.dtype = dtype
        self.matmul_dtype = matmul_dtype
        self.visible_matmul = visible_matmul
        self._sparse = visible_matmul == "sparse"
        self._low_weights: tuple[Tensor, int, Tensor] | None = None
        self._zero_gamma: tuple[Tensor, int, bool] | None = None
        # The E-step seam: None means the closed form; a circuit backend can be set here.
        self.latent_backend: LatentBackend | None = None
        self._trainer = None
        self._init_parameters()

    # ------------------------------------------------------------------ parameters
    def _init_parameters(self) -> None:
        gen = torch.Generator().manual_seed(self.seed)
        w = torch.randn(self.n_visible, self.n_hidden, generator=gen, dtype=torch.float64)
        kw = {"device": self.device, "dtype": self.dtype}
        self.weights = (self.weight_scale * w).to(**kw)
        self.visible_bias = torch.zeros(self.n_visible, **kw)
        self.hidden_bias = torch.zeros(self.n_hidden, **kw)
        self.gamma = torch.full((self.n_hidden,), self._gamma_start(), **kw)

    def _gamma_start(self) -> float:
        return self.gamma_init

    def parameters(self) -> dict[str, Tensor]:
        """The parameter tensors by name (the trainer updates them in place)."""
        return {
            "weights": self.weights,
            "visible_bias": self.visible_bias,
            "hidden_bias": self.hidden_bias,
            "gamma": self.gamma,
        }

    def trainable(self) -> tuple[str, ...]:
        """Names of the parameters DO-EM updates."""
        names = ("weights", "visible_bias", "hidden_bias")
        return names + ("gamma",) if self.learn_gamma else names

    def decayed(self) -> tuple[str, ...]:
        """Names of the parameters that receive weight decay."""
        return ("weights",)

    def get_params(self) -> dict[str, Any]:
        """Constructor arguments (scikit-learn style)."""
        keys = (
            "n_visible n_hidden gamma_init learn_gamma weight_scale learning_rate momentum "
            "weight_decay lr_schedule lr_final_ratio batch_size n_epochs cd_k persistent seed "
            "device dtype matmul_dtype visible_matmul"
        ).split()
        return {k: getattr(self, k) for k in keys}

    def _as_input(self, v: Tensor, name: str = "X") -> Tensor:
        v = torch.as_tensor(v)
        if v.ndim == 1:
            v = v[None, :]
        _check_binary(v, self.n_visible, name)
        return v.to(device=self.device, dtype=self.dtype)

    # ------------------------------------------------------------------ closed forms
    @property
    def _mixed(self) -> bool:
        return self.matmul_dtype is not None and self.matmul_dtype != self.dtype

    def _derived(self, slot: str, t: Tensor, compute: Callable[[Tensor], Any]) -> Any:
        """``compute(t)``, cached in ``slot`` until ``t`` is replaced or updated in place."""
        cached = getattr(self, slot)
        # ``_version`` is bumped by every in-place update of ``t``.
        if cached is None or cached[0] is not t or cached[1] != t._version:
            cached = (t, t._version, compute(t))
            setattr(self, slot, cached)
        return cached[2]

    def _mm_weights(self) -> Tensor:
        """``weights`` in ``matmul_dtype``, recast only after the weights change."""
        return self._derived("_low_weights", self.weights, lambda w: w.to(self.matmul_dtype))

    def hidden_fields(self, v: Tensor) -> Tensor:
        """``c(v) = b + W^T v`` for each row of ``v``."""
        if self._sparse:
            # Row b of the result sums the rows of W where v[b] is 1.
            # nonzero on bool is ~2x faster than on float for scattered ones.
            rows, cols = v.bool().nonzero(as_tuple=True)
            return _bag_sum(self.weights, cols, _bag_offsets(rows, v.shape[0])).add_(
                self.hidden_bias
            )
        if self._mixed:
            c = torch.mm(v.to(self.matmul_dtype), self._mm_weights()).to(self.dtype)
            return c.add_(self.hidden_bias)
        return torch.addmm(self.hidden_bias, v, self.weights)

    def _gamma_is_zero(self) -> bool:
        """Whether every Gamma is 0, re-checked only after ``gamma`` changes (one sync)."""
        return self._derived("_zero_gamma", self.gamma, lambda g: not bool(g.any()))

    def _hidden_closed_form(self, c: Tensor) -> dict[str, Tensor]:
        # Hot path (twice per training step): the few-kernel form, accurate to a few ulps of 1
        # (see qubit.occupation_and_transverse_fast); exactly the classical RBM's sigmoid when
        # all Gamma are 0.
        if self._gamma_is_zero():
            n = torch.sigmoid(c)
            return {"n": n, "x": torch.zeros_like(n)}
        n, x = qubit.occupation_and_transverse_fast(c, self.gamma)
        return {"n": n, "x": x}

    def _hidden_log_partition(self, c: Tensor, gamma: Tensor) -> Tensor:
        return qubit.log_partition(c, gamma)

    def latent_statistics(self, v: Tensor) -> dict[str, Tensor]:
        """E-step: expectations in the conditional hidden Gibbs state ``rho_L(v)``.

        Returns ``{"n": <n_j>_v, "x": <X_j>_v}``, each ``(batch, n_hidden)``. Delegates to
        ``self.latent_backend`` when one is set (e.g. a circuit estimator).
        """
        if self.latent_backend is not None:
            return self.latent_backend(self, v)
        return self._hidden_closed_form(self.hidden_fields(v))

    def sufficient_statistics(self, v: Tensor, latent: dict[str, Tensor]) -> dict[str, Tensor]:
        """Batch means of ``d/dtheta log Tr_L exp(-H(v))`` for each parameter.

        ``weights: v^T <n> / B``, ``visible_bias: mean v``, ``hidden_bias: mean <n>``,
        ``gamma: mean <X>``. The DO-EM gradient is this on data minus this on model samples.
        """
        batch = v.shape[0]
        n = latent["n"]
        stats = {
            "weights": v.T @ n / batch,
            "visible_bias": v.mean(0),
            "hidden_bias": n.mean(0),
        }
        if "gamma" in self.trainable():
            stats["gamma"] = latent["x"].mean(0)
        return stats

    def gradient(
        self,
        v_data: Tensor,
        latent_data: dict[str, Tensor],
        v_model: Tensor,
        latent_model: dict[str, Tensor],
    ) -> dict[str, Tensor]:
        """DO-EM ascent direction: sufficient statistics on data minus on model samples.

        The weight term is one matmul on the stacked batches,
        ``[v_d; v_m]^T [<n>_d / B_d; -<n>_m / B_m]``, so the difference is accumulated before
        any rounding (this matters in mixed precision, where the two terms nearly cancel).
        """
        n_d, n_m = latent_data["n"], latent_model["n"]
        lhs = torch.cat([v_data, v_model]).T
        b_d, b_m = v_data.shape[0], v_model.shape[0]
        # The same values as cat([n_d / B_d, n_m / -B_m]), divided straight into one buffer.
        rhs = n_d.new_empty((b_d + b_m,) + tuple(n_d.shape[1:]))
        torch.div(n_d, b_d, out=rhs[:b_d])
        torch.div(n_m, -b_m, out=rhs[b_d:])
        if self._sparse:
            # Row i of lhs @ rhs sums the rows of rhs where column i of [v_d; v_m] is 1.
            units, samples = lhs.bool().nonzero(as_tuple=True)
            dw = _bag_sum(rhs, samples, _bag_offsets(units, lhs.shape[0]))
        elif self._mixed:
            dw = torch.mm(lhs.to(self.matmul_dtype), rhs.to(self.matmul_dtype)).to(self.dtype)
        else:
            dw = lhs @ rhs
        grads = {
            "weights": dw,
            "visible_bias": v_data.mean(0) - v_model.mean(0),
            "hidden_bias": n_d.mean(0) - n_m.mean(0),
        }
        if "gamma" in self.trainable():
            grads["gamma"] = latent_data["x"].mean(0) - latent_model["x"].mean(0)
        return grads

    def sample_latent(self, latent: dict[str, Tensor], generator: torch.Generator) -> Tensor:
        """Z-basis measurement of each hidden qubit: ``h_j ~ Bernoulli(<n_j>_v)``."""
        n = latent["n"]
        # In-place compare on the uniform draws: the same {0,1} values as (u < n).to(dtype),
        # without the bool temporary and the cast.
        return torch.rand(n.shape, generator=generator, device=n.device, dtype=n.dtype).lt_(n)

    def visible_probabilities(self, h: Tensor) -> Tensor:
        """``P(v_i = 1 | h) = sigmoid(a_i + (W h)_i)`` given Z-basis hidden outcomes."""
        if self._mixed:
            x = torch.mm(h.to(self.matmul_dtype), self._mm_weights().T).to(self.dtype)
            return x.add_(self.visible_bias).sigmoid_()
        return torch.addmm(self.visible_bias, h, self.weights.T).sigmoid_()

    def sample_visible(self, h: Tensor, generator: torch.Generator) -> tuple[Tensor, Tensor]:
        """``(probabilities, sample)`` of the visible layer given hidden outcomes."""
        p = self.visible_probabilities(h)
        s = torch.rand(p.shape, generator=generator, device=p.device, dtype=p.dtype).lt_(p)
        return p, s

    def unnormalized_log_prob(self, v: Tensor) -> Tensor:
        """``log p*(v) = a.v + sum_j [c_j/2 + log 2cosh D_j]`` (negative free energy)."""
        return v @ self.visible_bias + self._hidden_log_partition(
            self.hidden_fields(v), self.gamma
        ).sum(-1)

    # ------------------------------------------------------------------ likelihood
    def _params64(self) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        return tuple(
            p.detach().double().cpu()
            for p in (self.weights, self.visible_bias, self.hidden_bias, self.gamma)
        )

    def tempered_log_prob(self, v: Tensor, beta: float, base_bias: Tensor) -> Tensor:
        """``(1 - beta) a0.v + log p*(v; beta theta)`` in float64 on the CPU (for AIS)."""
        w, a, b, g = self._params64()
        c = torch.addmm(b, v, w)
        return v @ ((1 - beta) * base_bias + beta * a) + self._hidden_log_partition(
            beta * c, beta * g
        ).sum(-1)

    def tempered_transition(
        self,
        v: Tensor,
        beta: float,
        base_bias: Tensor,
        generator: torch.Generator,
        kind: str = "auto",
    ) -> Tensor:
        """One transition leaving ``p_beta`` invariant (float64, CPU).

        ``kind``:

        - ``"block"``: block Gibbs through Z-basis hidden samples followed by a
          Metropolis-Hastings test. The block kernel is reversible for the classical twin
          ``p_cl`` (same a, b, W, Gamma = 0), so the acceptance ratio is
          ``exp(G(v') - G(v))`` with ``G = sum_j [log 2cosh-form - softplus](c_j)``, in closed
          form; at ``Gamma = 0`` every move is accepted and this is exact block Gibbs.
        - ``"heat_bath"``: a sequential heat-bath sweep over the visible units on the
          closed-form marginal (better mixing for large Gamma, O(n_visible) small steps).
        - ``"auto"``: block when ``Gamma = 0`` or ``n_visible > 64``, else heat bath.
        """
        w, a, b, g = self._params64()
        bias = (1 - beta) * base_bias + beta * a
        if kind == "auto":
            kind = "block" if (not bool(g.any()) or self.n_visible > 64) else "heat_bath"
        if kind == "block":
            return _block_mh_step(
                v, w * beta, b * beta, g * beta, bias, self._hidden_log_partition, generator
            )
        if kind == "heat_bath":
            return _heat_bath_sweep(
                v, w * beta, b * beta, g * beta, bias, self._hidden_log_partition, generator
            )
        raise ValueError(f"transition kind must be 'auto', 'block' or 'heat_bath', got {kind!r}")

    def log_partition(
        self,
        method: str = "auto",
        *,
        n_chains: int = 100,
        n_betas: int = 1000,
        base_bias: Tensor | None = None,
        generator: torch.Generator | None = None,
        transition: str = "auto",
    ) -> tuple[float, float]:
        """``(log Z, standard error)``; the error is 0 for the exact method.

        ``method``: "exact" (enumeration, ``n_visible <= 24``), "ais", or "auto". AIS options:
        see :func:`qdoem.models.likelihood.ais_log_partition` and
        :meth:`tempered_transition` (``transition``).
        """
        if method not in ("auto", "exact", "ais"):
            raise ValueError(f"method must be 'auto', 'exact' or 'ais', got {method!r}")
        if method == "auto":
            method = "exact" if self.n_visible <= likelihood.EXACT_MAX_VISIBLE else "ais"
        if method == "exact":
            return likelihood.exact_log_partition(self), 0.0
        res = likelihood.ais_log_partition(
            self,
            n_chains=n_chains,
            n_betas=n_betas,
            base_bias=base_bias,
            generator=generator,
            transition=transition,
        )
        return res.log_z, res.stderr

    def log_prob(
        self, v: Tensor, method: str = "auto", *, log_z: float | None = None, **ais_options: Any
    ) -> Tensor:
        """``log p(v)`` for each row, float64. Exact for ``n_visible <= 24``, else AIS.

        Pass ``log_z`` (e.g. from :meth:`log_partition`, which also returns the AIS standard
        error) to reuse one estimate across calls.
        """
        v = self._as_input(v, "v").double().cpu()
        if log_z is None:
            log_z, _ = self.log_partition(method, **ais_options)
        w, a, b, g = self._params64()
        return v @ a + self._hidden_log_partition(torch.addmm(b, v, w), g).sum(-1) - log_z

    # ------------------------------------------------------------------ sampling
    def gibbs_step(self, v: Tensor, generator: torch.Generator) -> Tensor:
        """v -> Z-basis hidden sample -> v, one block-Gibbs step."""
        h = self.sample_latent(self.latent_statistics(v), generator)
        return self.sample_visible(h, generator)[1]

    def sample(
        self,
        n_samples: int,
        *,
        n_steps: int = 1000,
        init: Tensor | None = None,
        seed: int | None = None,
        method: str = "gibbs",
    ) -> Tensor:
        """Draw ``{0,1}`` visible samples by block Gibbs chains.

        Parameters
        ----------
        n_samples : int
            Number of chains (rows returned).
        n_steps : int
            Gibbs steps per chain.
        init : Tensor, optional
            Starting visible states (e.g. data), shape ``(n_samples, n_visible)``; uniform
            noise if omitted.
        seed : int, optional
            Seed for the chains (defaults to the model seed).
        method : {"gibbs", "mh"}
            ``"gibbs"``: the DO-EM negative-phase chain (Z-basis hidden samples, then v | h).
            For ``Gamma != 0`` its stationary law only approximates p(v). ``"mh"``: the same
            block move with a Metropolis-Hastings test, whose stationary law is exactly p(v)
            (see :meth:`tempered_transition`).
        """
        if method not in ("gibbs", "mh"):
            raise ValueError(f"method must be 'gibbs' or 'mh', got {method!r}")
        if n_samples < 1 or n_steps < 0:
            raise ValueError(f"need n_samples >= 1 and n_steps >= 0, got {n_samples}, {n_steps}")
        gen = torch.Generator(device=self.device).manual_seed(self.seed if seed is None else seed)
        if init is None:
            v = torch.rand(n_samples, self.n_visible, generator=gen, device=self.device) < 0.5
            v = v.to(self.dtype)
        else:
            v = self._as_input(init, "init")
            if v.shape[0] != n_samples:
                raise ValueError(f"init has {v.shape[0]} rows, expected n_samples={n_samples}")
        if method == "mh":
            cpu_gen = torch.Generator().manual_seed(self.seed if seed is None else seed)
            a = self._params64()[1]
            v = v.double().cpu()
            for _ in range(n_steps):
                v = self.tempered_transition(v, 1.0, a, cpu_gen, "block")
            return v.to(device=self.device, dtype=self.dtype)
        for _ in range(n_steps):
            v = self.gibbs_step(v, gen)
        return v

    # ------------------------------------------------------------------ estimator surface
    def init_from_data(self, data: Tensor) -> None:
        """Set visible biases to the data log-odds (Hinton's practical guide)."""
        p = data.to(torch.float64).mean(0).clamp(1e-3, 1 - 1e-3)
        self.visible_bias.copy_(torch.log(p / (1 - p)).to(self.visible_bias))

    def _make_trainer(self):
        from qdoem.training import TrainConfig, Trainer

        cfg = TrainConfig(
            epochs=self.n_epochs,
            batch_size=self.batch_size,
            learning_rate=self.learning_rate,
            momentum=self.momentum,
            weight_decay=self.weight_decay,
            lr_schedule=self.lr_schedule,
            lr_final_ratio=self.lr_final_ratio,
            cd_k=self.cd_k,
            persistent=self.persistent,
            seed=self.seed,
        )
        return Trainer(self, cfg)

    def fit(self, X: Tensor, y: Any = None) -> QRBM:
        """Train from a fresh initialisation (scikit-learn semantics) for ``n_epochs``.

        Use :meth:`partial_fit` to continue from the current parameters.
        """
        X = self._as_input(X)
        self._init_parameters()
        self._trainer = self._make_trainer()
        self._trainer.fit(X)
        self.history_ = list(self._trainer.history)
        self.n_iter_ = self._trainer.epoch
        return self

    def partial_fit(self, X: Tensor, y: Any = None) -> QRBM:
        """One DO-EM pass over ``X`` (keeps optimiser and chain state between calls)."""
        X = self._as_input(X)
        if self._trainer is None:
            self._trainer = self._make_trainer()
        self._trainer.train_epoch(X)
        self.history_ = list(self._trainer.history)
        self.n_iter_ = self._trainer.epoch
        return self

    def score_samples(self, X: Tensor, **options: Any) -> Tensor:
        """``log p(v)`` per sample (exact or AIS, see :meth:`log_prob`)."""
        return self.log_prob(X, **options)

    def transform(self, X: Tensor) -> Tensor:
        """Hidden expectations ``<n_j>_v`` for each row."""
        return self.latent_statistics(self._as_input(X))["n"]

    def state_dict(self) -> dict[str, Any]:
        params = self.get_params()
        params["dtype"] = str(self.dtype).removeprefix("torch.")
        if self.matmul_dtype is not None:
            params["matmul_dtype"] = str(self.matmul_dtype).removeprefix("torch.")
        return {
            "model": self.model_name,
            "hyperparameters": params,
            "parameters": {k: v.detach().cpu().clone() for k, v in self.parameters().items()},
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for name, value in state["parameters"].items():
            current = getattr(self, name)
            if current.shape != value.shape:
                raise ValueError(
                    f"{name}: checkpoint shape {tuple(value.shape)} != {tuple(current.shape)}"
                )
            current.copy_(value.to(current))

    def save(self, path: str | os.PathLike) -> None:
        """Save hyperparameters and parameters (atomic write)."""
        atomic_torch_save(self.state_dict(), path)

    @classmethod
    def load(cls, path: str | os.PathLike, device: str | None = None) -> QRBM:
        """Load a model saved with :meth:`save`."""
        from qdoem.models import model_from_state

        return model_from_state(torch.load(path, map_location="cpu", weights_only=True), device)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(n_visible={self.n_visible}, n_hidden={self.n_hidden})"


class RBM(QRBM):
    """Classical RBM: the QRBM with ``Gamma = 0`` fixed, using ``sigmoid`` and ``softplus``."""

    model_name = "rbm"

    def __init__(self, n_visible: int, n_hidden: int, **kwargs: Any) -> None:
        for key in ("gamma_init", "learn_gamma"):
            if kwargs.get(key):
                raise ValueError(f"RBM has Gamma fixed at 0; {key} is not accepted (use QRBM)")
            kwargs.pop(key, None)
        super().__init__(n_visible, n_hidden, gamma_init=0.0, learn_gamma=False, **kwargs)

    def get_params(self) -> dict[str, Any]:
        params = super().get_params()
        del params["gamma_init"], params["learn_gamma"]
        return params

    # The E-step needs no override: with every Gamma at 0, QRBM's closed form is the sigmoid.

    def _hidden_log_partition(self, c: Tensor, gamma: Tensor) -> Tensor:
        # threshold 40: above it log1p(e^-c) is below float64 resolution, so this is exact.
        return torch.nn.functional.softplus(c, threshold=40.0)


def _bag_offsets(sorted_ids: Tensor, n_bags: int) -> Tensor:
    """Bag boundaries (``n_bags + 1``, last = end) of the non-decreasing ``sorted_ids``."""
    bounds = torch.arange(n_bags + 1, device=sorted_ids.device, dtype=sorted_ids.dtype)
    return torch.searchsorted(sorted_ids, bounds)


def _bag_sum(table: Tensor, index: Tensor, offsets: Tensor) -> Tensor:
    """``out[k] = sum of table[index[offsets[k]:offsets[k + 1]]]`` (a {0,1} matrix times
    ``table``, given the column indices of its ones, row by row)."""
    return torch.nn.functional.embedding_bag(
        index, table, offsets, mode="sum", include_last_offset=True
    )


def _block_mh_step(v, w, b, g, bias, log_partition, generator) -> Tensor:
    """Block-Gibbs proposal of the classical twin, Metropolis-Hastings corrected to the target
    ``bias.v + sum_j F(b + W^T v, g)`` (see :meth:`QRBM.tempered_transition`)."""
    softplus = torch.nn.functional.softplus
    c = torch.addmm(b, v, w)
    h = (torch.rand(c.shape, generator=generator, dtype=v.dtype) < torch.sigmoid(c)).to(v.dtype)
    p = torch.sigmoid(bias + h @ w.T)
    proposal = (torch.rand(p.shape, generator=generator, dtype=v.dtype) < p).to(v.dtype)
    c_new = torch.addmm(b, proposal, w)
    log_alpha = (log_partition(c_new, g) - softplus(c_new, threshold=40.0)).sum(-1) - (
        log_partition(c, g) - softplus(c, threshold=40.0)
    ).sum(-1)
    u = torch.rand(v.shape[0], generator=generator, dtype=v.dtype)
    accept = torch.log(u) < log_alpha
    return torch.where(accept[:, None], proposal, v)


def _heat_bath_sweep(v, w, b, g, bias, log_partition, generator) -> Tensor:
    """Sequential heat-bath update of each visible unit on ``bias.v + sum_j F(b + W^T v, g)``."""
    v = v.clone()
    c = torch.addmm(b, v, w)
    for i in range(v.shape[1]):
        c_off = c - v[:, i : i + 1] * w[i]
        logit = bias[i] + (log_partition(c_off + w[i], g) - log_partition(c_off, g)).sum(-1)
        vi = (torch.rand(v.shape[0], generator=generator, dtype=v.dtype) < torch.sigmoid(logit)).to(
            v.dtype
        )
        v[:, i] = vi
        c = c_off + vi[:, None] * w[i]
    return v


def atomic_torch_save(obj: Any, path: str | os.PathLike) -> None:
    """``torch.save`` to a temporary file in the same folder, then ``os.replace`` it into place.

    A crash mid-write leaves the previous file intact rather than a truncated one.
    """
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=".pt")
    try:
        with os.fdopen(fd, "wb") as fh:
            torch.save(obj, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
