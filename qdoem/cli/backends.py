"""``qdoem backends``: list the quantum backends, or check one against the closed form.

Examples
--------
``qdoem backends list``
``qdoem backends check aer --shots 2000``
``qdoem backends check aer-density``           (exact mode: no shots)
``qdoem backends check ibm:fake_manila --shots 4000``
"""

from __future__ import annotations

import argparse
import sys

HELP = "list quantum backends, or check one against the closed form"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "backends",
        help=HELP,
        description="List the quantum backends, or run a quick check estimate of <n> and <X> "
        "for random latent units and compare it with the closed form.",
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION")
    actions.add_parser("list", help="list backend names")
    check = actions.add_parser("check", help="estimate <n>, <X> and compare with the closed form")
    check.add_argument("name", help="backend name, e.g. aer, pennylane:default.mixed")
    check.add_argument("--shots", type=int, default=None, help="shots per unit (default: exact)")
    check.add_argument("--units", type=int, default=6, help="random units to check (default 6)")
    check.add_argument("--seed", type=int, default=0, help="seed for fields and shots")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from backends import available_backends

    if args.action == "check":
        return _check(args)
    for name, description in available_backends().items():
        print(f"{name:<22} {description}")
    return 0


def _check(args: argparse.Namespace) -> int:
    import numpy as np

    from backends import get_backend
    from circuits.gibbs import gibbs_expectations

    if args.units < 1:
        raise ValueError(f"--units must be positive, got {args.units}")
    try:
        backend = get_backend(args.name, seed=args.seed)
    except ImportError as err:  # optional dependency: the message carries the install hint
        print(f"qdoem backends: error: {err}", file=sys.stderr)
        return 2
    rng = np.random.default_rng(args.seed)
    c, gamma = rng.uniform(-4, 4, args.units), rng.uniform(-2, 2, args.units)
    res = backend.estimate(c, gamma, shots=args.shots)
    n_true, x_true = gibbs_expectations(c, gamma)
    print(f"backend {backend.name}, shots {args.shots or 'exact'}")
    header = ("c", "gamma", "<n>", "+-", "exact", "<X>", "+-", "exact")
    print(" ".join(f"{h:>9}" for h in header))
    columns = (c, gamma, res.n, res.n_stderr, n_true, res.x, res.x_stderr, x_true)
    for row in zip(*columns, strict=True):
        print(" ".join(f"{v:>9.5f}" for v in row))
    if args.shots is None:
        err = float(max(np.max(np.abs(res.n - n_true)), np.max(np.abs(res.x - x_true))))
        ok = err < 1e-10
        print(f"max |error| = {err:.2e} (pass if < 1e-10): {'PASS' if ok else 'FAIL'}")
    else:
        z = np.concatenate([(res.n - n_true) / res.n_stderr, (res.x - x_true) / res.x_stderr])
        ok = bool(np.max(np.abs(z)) < 4)
        print(
            f"max |z| = {np.max(np.abs(z)):.2f} standard errors (pass if < 4): "
            f"{'PASS' if ok else 'FAIL (biased: noise, or a bug)'}"
        )
    return 0 if ok else 1
