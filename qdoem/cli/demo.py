"""``qdoem demo``: the main job on an embedded default.

1. The exact oracle: DO-EM with full density matrices on a small QRBM (4 visible qubits,
   2 latent qubits with transverse fields) on 2x2 Bars-and-Stripes, next to exact gradient
   ascent on the same likelihood from the same start.
2. A QRBM on 3x3 Bars-and-Stripes trained by DO-EM (CD-1) three ways from one seed and
   initialisation: the classical RBM (Gamma = 0), the QRBM with its E-step in closed form,
   and the QRBM with its E-step estimated from measurement shots of Gibbs-state preparation
   circuits on a simulator backend (default: Aer). Exact negative log-likelihoods, side by side.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

# 2x2 Bars-and-Stripes, pixels read row by row: blank, full, two bars, two stripes.
BARS_AND_STRIPES_2X2 = np.array(
    [[0, 0, 0, 0], [1, 1, 1, 1], [1, 0, 1, 0], [0, 1, 0, 1], [1, 1, 0, 0], [0, 0, 1, 1]]
)


HELP = "exact DO-EM on a built-in example, then a QRBM trained exactly and on a simulator"


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "demo",
        help=HELP,
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--iterations", type=int, default=30, help="exact DO-EM iterations (30)")
    p.add_argument("--latent", type=int, default=2, help="latent qubits of the exact part (2)")
    p.add_argument("--seed", type=int, default=0, help="seed of every initialisation (0)")
    p.add_argument("--lr", type=float, default=0.5, help="gradient-ascent step size (0.5)")
    p.add_argument("--epochs", type=int, default=45, help="QRBM epochs; 0 skips part 2 (45)")
    p.add_argument("--hidden", type=int, default=6, help="QRBM hidden qubits (6)")
    p.add_argument("--backend", default="aer", help="circuit backend of part 2 (aer)")
    p.add_argument("--shots", type=int, default=1000, help="shots per unit and basis (1000)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.iterations < 1:
        raise ValueError(f"--iterations must be at least 1, got {args.iterations}")
    if not 1 <= args.latent <= 6:
        raise ValueError(f"--latent must be between 1 and 6 for the exact demo, got {args.latent}")
    if args.epochs < 0 or args.hidden < 1 or args.shots < 1:
        raise ValueError("--epochs must be >= 0, and --hidden and --shots at least 1")
    exact_density_matrix_part(args)
    if args.epochs:
        print()
        side_by_side_part(args)
    return 0


def exact_density_matrix_part(args: argparse.Namespace) -> None:
    from qdoem.theory import HamiltonianFamily, classical_data_state, do_em, gradient_ascent

    n_visible = BARS_AND_STRIPES_2X2.shape[1]
    family = HamiltonianFamily.qrbm(n_visible, args.latent)
    eta_v = classical_data_state(BARS_AND_STRIPES_2X2)
    theta0 = np.random.default_rng(args.seed).normal(scale=0.1, size=len(family))
    em = do_em(family, eta_v, n_visible, theta0, n_iter=args.iterations)
    ga = gradient_ascent(
        family, eta_v, n_visible, theta0, n_iter=args.iterations, learning_rate=args.lr
    )
    optimum = -np.log(len(BARS_AND_STRIPES_2X2))  # L of the empirical distribution itself
    print(
        f"[1] Exact DO-EM. QRBM: {n_visible} visible + {args.latent} latent qubits "
        f"({len(family)} parameters), data: 2x2 Bars-and-Stripes, full density matrices"
    )
    print(f"Condition S (CQ-LVM): {em.condition_s}; best possible L = {optimum:.6f}")
    print(f"{'iter':>4}  {'DO-EM L':>12}  {'QELBO':>12}  {'grad-ascent L':>14}")
    for t in range(args.iterations + 1):
        print(
            f"{t:>4}  {em.log_likelihood[t]:>12.6f}  {em.qelbo[t]:>12.6f}  "
            f"{ga.log_likelihood[t]:>14.6f}"
        )
    gammas = em.theta[[i for i, n in enumerate(family.names) if "_gamma[" in n]]
    print(f"learned transverse fields Gamma: {np.array2string(gammas, precision=4)}")


def side_by_side_part(args: argparse.Namespace) -> None:
    import torch

    from qdoem.data import load_dataset
    from qdoem.models import QRBM, RBM

    data = load_dataset("bars_and_stripes", rows=3, cols=3).data.float().repeat(4, 1)
    common = dict(seed=args.seed, learning_rate=0.5, batch_size=8, weight_scale=0.1)
    circuit = f"QRBM {args.backend} {args.shots} shots"
    runs = {
        "RBM": RBM(9, args.hidden, **common),
        "QRBM closed form": QRBM(9, args.hidden, **common),
        circuit: QRBM(9, args.hidden, backend=args.backend, shots=args.shots, **common),
    }
    print(
        f"[2] DO-EM (CD-1) on 3x3 Bars-and-Stripes ({len(data)} rows, 14 patterns), 9 visible + "
        f"{args.hidden} hidden; exact NLL in nats (best possible {np.log(14):.4f})"
    )
    names = list(runs)
    print(f"{'epoch':>5}  " + "  ".join(f"{n:>26}" for n in names))
    seconds = dict.fromkeys(names, 0.0)

    def nll_row(epoch: int) -> None:
        nlls = [float(-m.log_prob(data, method="exact").mean()) for m in runs.values()]
        print(f"{epoch:>5}  " + "  ".join(f"{x:>26.4f}" for x in nlls))

    nll_row(0)
    for epoch in range(1, args.epochs + 1):
        for name, model in runs.items():
            start = time.perf_counter()
            model.partial_fit(data)
            seconds[name] += time.perf_counter() - start
        if epoch % 5 == 0 or epoch == args.epochs:
            nll_row(epoch)
    times = "  ".join(f"{seconds[n]:>25.2f}s" for n in names)
    print(f"{'time':>5}  {times}")
    model = runs[circuit]
    estimator = model.estimator_
    accept = model.history_[-1].get("accept_rate", float("nan"))
    print(
        f"{estimator.calls_} backend calls, {estimator.units_} latent units x {args.shots} shots "
        f"x 2 bases; final |Gamma| mean (circuit run): {float(torch.abs(model.gamma).mean()):.3f}; "
        f"exact-chain acceptance {accept:.2f}"
    )
