"""Do two exact chains agree on a trained model? Start each from noise and from the other's end.

Two kernels with the same stationary law (``exact`` and ``path-gibbs`` on a QRBM/QiDBM) must
end in the same region whatever their start. Four legs of ``--chains`` chains each:

1. ``A`` from noise, ``--sweeps`` sweeps;  2. ``B`` from noise;
3. ``B`` from leg 1's end;                  4. ``A`` from leg 2's end.

Every ``--every`` sweeps each leg records the mean of every layer's values and the mean of
``log pi`` (:meth:`~qdoem.models.LayeredModel.log_diagonal_joint`, the Z-basis diagonal of
``exp(-H)``, unnormalised). Reading: if leg 3 moves to leg 2's values and leg 4 stays there,
``A`` from noise had not reached the model's mass in ``--sweeps`` sweeps (and its samples, and
any FID of them, are not the model's); if each leg goes back to its own kernel's values, the
kernels disagree, and one of them is wrong.

    OMP_NUM_THREADS=1 python bench/chain_crosscheck.py --run runs/exp2_784/qidbm_s1 \\
        --samplers exact path-gibbs --chains 200 --sweeps 1500 --out results/.../cross.json
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch


def run_leg(model, sampler: str, values, sweeps: int, every: int, seed: int) -> tuple[list, list]:
    """``sweeps`` sweeps of ``sampler`` from ``values``: (records, end values)."""
    from qdoem.estimators import ClosedFormEstimator
    from qdoem.sampling.kernels import sweep
    from qdoem.sampling.state import ChainState

    generator = torch.Generator(device=model.device).manual_seed(seed)
    state = ChainState([v.clone() for v in values])
    estimator = ClosedFormEstimator()
    records = []
    for s in range(1, sweeps + 1):
        sweep(model, state, sampler, estimator, generator, frozenset())
        if s % every == 0 or s == sweeps:
            vals = list(state.values)
            log_pi = float(model.log_diagonal_joint(vals).mean())
            records.append({"sweep": s, "layer_means": [float(v.mean()) for v in vals],
                            "log_pi": log_pi})  # fmt: skip
            state.forget_caches()
    return records, list(state.values)


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--run", required=True, help="a run directory (its checkpoint)")
    p.add_argument("--samplers", nargs=2, default=["exact", "path-gibbs"], metavar=("A", "B"))
    p.add_argument("--chains", type=int, default=200)
    p.add_argument("--sweeps", type=int, default=1500)
    p.add_argument("--every", type=int, default=100)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", type=Path)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)

    from qdoem.errors import check_int
    from qdoem.experiment import load_run
    from qdoem.sampling.kernels import check_sampler

    try:
        for name in ("chains", "sweeps", "every"):
            check_int(f"--{name}", getattr(args, name), 1)
        a, b = (check_sampler(s) for s in args.samplers)
    except ValueError as err:
        p.error(str(err))
    try:
        model, _ = load_run(args.run)
    except (OSError, ValueError) as err:  # no run there, or an unreadable checkpoint
        p.error(f"--run {args.run}: {err}")
    generator = torch.Generator(device=model.device).manual_seed(args.seed)
    noise = [
        layer.noise(args.chains, generator, model.device, model.dtype) for layer in model.layers
    ]
    legs = {}
    start = time.process_time()
    legs[f"{a} from noise"], end_a = run_leg(model, a, noise, args.sweeps, args.every, 1)
    legs[f"{b} from noise"], end_b = run_leg(model, b, noise, args.sweeps, args.every, 2)
    legs[f"{b} from {a}'s end"], _ = run_leg(model, b, end_a, args.sweeps, args.every, 3)
    legs[f"{a} from {b}'s end"], _ = run_leg(model, a, end_b, args.sweeps, args.every, 4)
    result = {"run": str(args.run), "samplers": [a, b], "chains": args.chains,
              "sweeps": args.sweeps, "seed": args.seed, "cpu_s": time.process_time() - start,
              "legs": legs}  # fmt: skip
    print(f"| leg | mean v at sweep {args.every} | mean v at the end | log pi at sweep "
          f"{args.every} | log pi at the end |")  # fmt: skip
    print("|---|---|---|---|---|")
    for name, recs in legs.items():
        first, last = recs[0], recs[-1]
        print(f"| {name} | {first['layer_means'][0]:.4f} | {last['layer_means'][0]:.4f} | "
              f"{first['log_pi']:.1f} | {last['log_pi']:.1f} |")  # fmt: skip
    if args.out is not None:
        from qdoem.io import atomic_write_text

        args.out.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(args.out, json.dumps(result, indent=1) + "\n")
    return result


if __name__ == "__main__":
    main()
