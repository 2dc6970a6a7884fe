"""``qdoem demo``: the main job on an embedded default.

Exact DO-EM on a small QRBM (4 visible qubits, 2 latent qubits with transverse
fields) trained on 2x2 Bars-and-Stripes, printed next to exact gradient ascent on
the same likelihood from the same start.
"""

from __future__ import annotations

import argparse

import numpy as np

# 2x2 Bars-and-Stripes, pixels read row by row: blank, full, two bars, two stripes.
BARS_AND_STRIPES_2X2 = np.array(
    [[0, 0, 0, 0], [1, 1, 1, 1], [1, 0, 1, 0], [0, 1, 0, 1], [1, 1, 0, 0], [0, 0, 1, 1]]
)


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "demo",
        help="run exact DO-EM on a built-in example and print the likelihood trace",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--iterations", type=int, default=30, help="DO-EM iterations (default 30)")
    p.add_argument("--latent", type=int, default=2, help="latent qubits (default 2)")
    p.add_argument("--seed", type=int, default=0, help="seed of the initial parameters")
    p.add_argument("--lr", type=float, default=0.5, help="gradient-ascent step size (default 0.5)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from qdoem.theory import HamiltonianFamily, classical_data_state, do_em, gradient_ascent

    if args.iterations < 1:
        raise ValueError(f"--iterations must be at least 1, got {args.iterations}")
    if not 1 <= args.latent <= 6:
        raise ValueError(f"--latent must be between 1 and 6 for the exact demo, got {args.latent}")
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
        f"QRBM: {n_visible} visible + {args.latent} latent qubits "
        f"({len(family)} parameters), data: 2x2 Bars-and-Stripes, exact density matrices"
    )
    print(f"Condition S (CQ-LVM): {em.condition_s}; best possible L = {optimum:.6f}")
    print(f"{'iter':>4}  {'DO-EM L':>12}  {'QELBO':>12}  {'grad-ascent L':>14}")
    for t in range(args.iterations + 1):
        print(
            f"{t:>4}  {em.log_likelihood[t]:>12.6f}  {em.qelbo[t]:>12.6f}  "
            f"{ga.log_likelihood[t]:>14.6f}"
        )
    gammas = em.theta[[i for i, n in enumerate(family.names) if n.startswith("Gamma")]]
    print(f"learned transverse fields Gamma: {np.array2string(gammas, precision=4)}")
    return 0
