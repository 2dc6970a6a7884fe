"""How well the exact chains mix on a trained model: MH acceptance, jump size and CPU per sweep.

The samplers in :data:`qdoem.sampling.kernels.EXACT_SAMPLERS` leave the model's marginal
stationary; they differ in cost and in how far a sweep moves. For each ``--samplers`` entry this
runs ``--chains`` chains of the model in ``--run`` from the visible layer's noise (N(0, 1) for
Gaussian units, uniform bits for {0,1} units), ``--burn-in`` sweeps (a training chain's length with
``chain_init = "noise"``), then ``--sweeps`` more, and reports:

- **MH acceptance** over all sweeps (the fraction of proposals kept; 1 with no MH test);
- **mean squared jump** of the visible units per sweep, ``E ||v_{t+1} - v_t||^2`` over chains and
  sweeps (larger moves mix faster at equal cost: a standard efficiency measure for MH chains);
- **lag-1 autocorrelation** of each chain's visible mean ``mean_i v_i``, averaged over chains
  (nearer 0 mixes faster);
- **CPU ms per sweep** (process CPU time, one torch thread by default).

Every sampler starts from the same seed. Usage::

    python bench/chain_mixing.py --run runs/qgrbm_fashion_mnist_reduced
    python bench/chain_mixing.py --run RUN --samplers exact twin-mh --out results/x/mixing.json
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch


def parse(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--run", type=Path, required=True, help="a run directory (its checkpoint)")
    p.add_argument("--samplers", nargs="+", default=["exact", "twin-mh", "path-gibbs"])
    p.add_argument("--chains", type=int, default=512)
    p.add_argument("--burn-in", type=int, default=100)
    p.add_argument("--sweeps", type=int, default=50)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", type=Path, default=None, help="also write the rows as JSON here")
    return p.parse_args(argv)


def measure(model, sampler: str, args) -> dict:
    from qdoem.estimators import ClosedFormEstimator
    from qdoem.sampling import kernels

    gen = torch.Generator().manual_seed(args.seed)
    start = model.layers[0].noise(args.chains, gen, model.device, model.dtype)
    state = model.chain_state(start, gen)
    estimator = ClosedFormEstimator()
    cpu = time.process_time()
    for _ in range(args.burn_in):
        kernels.sweep(model, state, sampler, estimator, gen)
    jumps, means = [], [state.values[0].mean(-1)]
    for _ in range(args.sweeps):
        before = state.values[0].clone()
        kernels.sweep(model, state, sampler, estimator, gen)
        jumps.append(float(((state.values[0] - before) ** 2).sum(-1).mean()))
        means.append(state.values[0].mean(-1))
    cpu = time.process_time() - cpu
    m = torch.stack(means).double()  # (sweeps + 1, chains)
    m = m - m.mean(0)
    lag1 = float(((m[1:] * m[:-1]).sum(0) / (m * m).sum(0).clamp_min(1e-300)).mean())
    accepted = state.mh_accepted
    return {
        "sampler": sampler,
        "mh_accept": None if accepted is None else float(accepted) / max(1, state.mh_proposed),
        "mean_squared_jump": sum(jumps) / len(jumps),
        "lag1_autocorrelation": lag1,
        "cpu_ms_per_sweep": 1e3 * cpu / (args.burn_in + args.sweeps),
    }


def main(argv=None) -> None:
    args = parse(argv)
    torch.set_num_threads(args.threads)
    from qdoem.experiment import load_run
    from qdoem.sampling.kernels import check_sampler

    for sampler in args.samplers:
        check_sampler(sampler)
    model, config = load_run(args.run)
    gammas = [
        float(model.layer_params(k)["gamma"].abs().mean())
        for k, layer in enumerate(model.layers)
        if layer.quantum
    ]
    rows = [measure(model, s, args) for s in args.samplers]
    print(
        f"{args.run}: model {config.get('model')}, layer sizes {model.layer_sizes}, "
        f"mean |Gamma| per quantum layer {[round(g, 4) for g in gammas]}; {args.chains} chains, "
        f"{args.burn_in} burn-in + {args.sweeps} sweeps, seed {args.seed}, {args.threads} thread(s)"
    )
    print("| sampler | MH accept | mean squared jump | lag-1 autocorr. | CPU ms/sweep |")
    print("|---|---|---|---|---|")
    for r in rows:
        acc = "-" if r["mh_accept"] is None else f"{r['mh_accept']:.3f}"
        print(
            f"| {r['sampler']} | {acc} | {r['mean_squared_jump']:.1f} | "
            f"{r['lag1_autocorrelation']:.3f} | {r['cpu_ms_per_sweep']:.1f} |"
        )
    if args.out is not None:
        from qdoem.io import atomic_write_text

        payload = {"run": str(args.run), "gamma_mean_abs": gammas, **vars(args), "rows": rows}
        payload["run"], payload["out"] = str(args.run), str(args.out)
        atomic_write_text(args.out, json.dumps(payload, indent=2, default=str) + "\n")


if __name__ == "__main__":
    main()
