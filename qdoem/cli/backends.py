"""``qdoem backends``: list the quantum backends, or check one against the closed form.

Examples
--------
``qdoem backends list``
``qdoem backends check aer --shots 2000``
``qdoem backends check aer-density``           (exact mode: no shots)
``qdoem backends check ibm:fake_manila --shots 4000``
``qdoem backends check ibm:fake_sherbrooke --shots 8000 --units 40 --mitigation mthree``

The check reports the bias of the estimates against the closed form in units of their own
standard errors, ``z = (estimate - exact) / stderr``: on an ideal backend ``z`` is standard
normal (mean 0, RMS 1); readout and gate noise show up as a mean and an RMS far from those.
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
    check.add_argument(
        "--units-per-circuit",
        type=int,
        default=None,
        help="units packed per circuit (default: the backend's; on IBM devices the number of "
        "good qubit pairs in the calibration data)",
    )
    check.add_argument(
        "--mitigation",
        choices=["none", "mthree"],
        default="none",
        help="ibm:<device> only: readout-error mitigation of the estimates (default none)",
    )
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
    from qdoem.errors import ConfigError

    if args.units < 1:
        raise ValueError(f"--units must be positive, got {args.units}")
    options = {}
    if args.units_per_circuit is not None:
        options["units_per_circuit"] = args.units_per_circuit
    if args.mitigation != "none":
        if not args.name.startswith("ibm:"):
            raise ConfigError(f"--mitigation applies to ibm:<device> backends, not {args.name!r}")
        options["mitigation"] = args.mitigation
    try:
        backend = get_backend(args.name, seed=args.seed, **options)
    except ImportError as err:  # optional dependency: the message carries the install hint
        print(f"qdoem backends: error: {err}", file=sys.stderr)
        return 2
    rng = np.random.default_rng(args.seed)
    c, gamma = rng.uniform(-4, 4, args.units), rng.uniform(-2, 2, args.units)
    res = backend.estimate(c, gamma, shots=args.shots)
    n_true, x_true = gibbs_expectations(c, gamma)
    mitigated = f", readout mitigation {args.mitigation}" if args.mitigation != "none" else ""
    print(f"backend {backend.name} ({backend.kind}), shots {args.shots or 'exact'}{mitigated}")
    if hasattr(backend, "unit_qubits"):
        used = sorted({u["system"] for u in backend.unit_qubits()})
        print(f"{backend.units_per_circuit} units per circuit; measured qubits {used}")
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
        z_n, z_x = (res.n - n_true) / res.n_stderr, (res.x - x_true) / res.x_stderr
        z = np.concatenate([z_n, z_x])
        ok = bool(np.max(np.abs(z)) < 4)
        for what, zs in (("<n>", z_n), ("<X>", z_x)):
            print(
                f"bias of {what} in standard errors: mean {np.mean(zs):+.2f}, RMS "
                f"{np.sqrt(np.mean(zs**2)):.2f} (ideal: 0, 1)"
            )
        print(
            f"max |z| = {np.max(np.abs(z)):.2f} standard errors (pass if < 4): "
            f"{'PASS' if ok else 'FAIL (biased: noise, or a bug)'}"
        )
    return 0 if ok else 1
