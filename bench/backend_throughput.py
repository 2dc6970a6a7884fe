"""Throughput of estimating (<n>, <X>) for one mini-batch: Aer packed vs one circuit per unit.

A QRBM E-step needs <n_j>_v and <X_j>_v for every (data point, hidden unit) pair. This times
one backend call for a mini-batch of 100 data points x 64 hidden units (6400 units) with
1000 shots each (Z- and X-basis circuits), on Aer statevector with ``k`` units packed per
circuit, and the closed form for reference.

On a shared machine the load changes by the minute, so every path is timed once per round,
rounds interleave the paths, and each ratio is the median over rounds of the ratio *within*
a round (both timings under about the same load).

Run: ``python bench/backend_throughput.py`` (options: ``--batch``, ``--hidden``,
``--shots``, ``--packed``, ``--rounds``).
"""

from __future__ import annotations

import argparse
import platform
import time

import numpy as np


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=100, help="data points (default 100)")
    parser.add_argument("--hidden", type=int, default=64, help="hidden units (default 64)")
    parser.add_argument("--shots", type=int, default=1000, help="shots per unit (default 1000)")
    parser.add_argument(
        "--packed", type=int, nargs="+", default=[2, 4, 8], help="units per packed circuit"
    )
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (default 3)")
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
        f"Z and X bases; {args.rounds} interleaved rounds"
    )
    print(
        f"python {platform.python_version()}, qiskit {qiskit.__version__}, "
        f"qiskit-aer {qiskit_aer.__version__}, {platform.processor() or platform.machine()}"
    )

    exact_shots = get_backend("exact", seed=0)
    paths = {
        "closed form (numpy)": lambda: gibbs_expectations(c, gamma),
        "exact backend, Bernoulli shots": lambda: exact_shots.estimate(c, gamma, shots=args.shots),
    }
    per_unit_label = "aer, one circuit per unit (k=1)"
    per_unit = get_backend("aer", seed=0, units_per_circuit=1)
    paths[per_unit_label] = lambda: per_unit.estimate(c, gamma, shots=args.shots)
    for k in args.packed:
        packed = get_backend("aer", seed=0, units_per_circuit=k)
        paths[f"aer, packed k={k} ({2 * k} qubits)"] = lambda b=packed: b.estimate(
            c, gamma, shots=args.shots
        )
    for fn in paths.values():  # warm-up: imports, simulator start-up, transpiled-circuit cache
        fn()
    times = {label: [] for label in paths}
    for _ in range(args.rounds):
        for label, fn in paths.items():
            # The closed form takes ~0.1 ms: time 100 calls to get above timer noise.
            reps = 100 if label.startswith("closed") else 1
            times[label].append(timed(lambda f=fn, r=reps: [f() for _ in range(r)]) / reps)
    t = {label: np.array(v) for label, v in times.items()}
    closed, base = t["closed form (numpy)"], t[per_unit_label]

    print(
        f"\n{'path':<34} {'median s':>9} {'min s':>8} {'max s':>8} {'units/s':>9} "
        f"{'vs per-unit':>12} {'vs closed':>10}"
    )
    for label, v in t.items():
        print(
            f"{label:<34} {np.median(v):>9.4f} {v.min():>8.4f} {v.max():>8.4f} "
            f"{units / np.median(v):>9.0f} {np.median(base / v):>11.2f}x "
            f"{np.median(v / closed):>9.0f}x"
        )
    print(
        "\n'vs per-unit': speed-up over one circuit per unit; 'vs closed': slowdown relative "
        "to the closed form. Both are medians over rounds of within-round ratios."
    )


if __name__ == "__main__":
    main()
