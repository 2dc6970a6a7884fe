"""Throughput of estimating (<n>, <X>) for one mini-batch: Aer packed vs one circuit per unit.

A QRBM E-step needs <n_j>_v and <X_j>_v for every (data point, hidden unit) pair. This times
one backend call for a mini-batch of 100 data points x 64 hidden units (6400 units) with
1000 shots each (Z- and X-basis circuits), on Aer statevector with ``k`` units packed per
circuit, and the closed form for reference. Ratios are reported within the one run, so
they are comparable even on a busy machine.

Run: ``python bench/backend_throughput.py`` (options: ``--batch``, ``--hidden``,
``--shots``, ``--packed``, ``--repeats``).
"""

from __future__ import annotations

import argparse
import platform
import time

import numpy as np


def best_time(fn, repeats: int) -> float:
    """Fastest of ``repeats`` wall-clock runs (the least disturbed by other load)."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=100, help="data points (default 100)")
    parser.add_argument("--hidden", type=int, default=64, help="hidden units (default 64)")
    parser.add_argument("--shots", type=int, default=1000, help="shots per unit (default 1000)")
    parser.add_argument(
        "--packed", type=int, nargs="+", default=[2, 4, 6, 8], help="units per packed circuit"
    )
    parser.add_argument("--repeats", type=int, default=2, help="best of N runs (default 2)")
    args = parser.parse_args()

    import qiskit
    import qiskit_aer

    from backends import get_backend
    from circuits.gibbs import gibbs_expectations

    rng = np.random.default_rng(0)
    c = rng.normal(0.0, 2.0, (args.batch, args.hidden))
    gamma = rng.normal(0.0, 1.0, args.hidden)
    units = c.size
    print(
        f"mini-batch {args.batch} x {args.hidden} = {units} units, {args.shots} shots, "
        f"Z and X bases; best of {args.repeats}"
    )
    print(
        f"python {platform.python_version()}, qiskit {qiskit.__version__}, "
        f"qiskit-aer {qiskit_aer.__version__}, {platform.processor() or platform.machine()}"
    )

    rows: list[tuple[str, float]] = []
    closed = best_time(lambda: gibbs_expectations(c, gamma), max(args.repeats, 5))
    rows.append(("closed form (numpy)", closed))
    exact_shots = get_backend("exact", seed=0)
    rows.append(
        (
            "exact backend, Bernoulli shots",
            best_time(lambda: exact_shots.estimate(c, gamma, shots=args.shots), args.repeats),
        )
    )
    per_unit = get_backend("aer", seed=0, units_per_circuit=1)
    per_unit_time = best_time(lambda: per_unit.estimate(c, gamma, shots=args.shots), args.repeats)
    rows.append(("aer, one circuit per unit (k=1)", per_unit_time))
    for k in args.packed:
        packed = get_backend("aer", seed=0, units_per_circuit=k)
        rows.append(
            (
                f"aer, packed k={k} ({2 * k} qubits)",
                best_time(lambda b=packed: b.estimate(c, gamma, shots=args.shots), args.repeats),
            )
        )

    print(f"\n{'path':<34} {'seconds':>9} {'units/s':>11} {'vs per-unit':>12} {'vs closed':>11}")
    for label, seconds in rows:
        print(
            f"{label:<34} {seconds:>9.4f} {units / seconds:>11.0f} "
            f"{per_unit_time / seconds:>11.2f}x {seconds / closed:>10.0f}x"
        )
    print(
        "\n'vs per-unit' = speed-up over one circuit per unit; 'vs closed' = slowdown "
        "relative to the closed form."
    )


if __name__ == "__main__":
    main()
