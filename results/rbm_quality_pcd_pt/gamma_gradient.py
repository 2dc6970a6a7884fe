"""The Gamma gradient <X>_data - <X>_model of a trained QRBM at fixed parameters, with the model
term from chains of several kinds: the run's own persistent chains as checkpointed, long runs of
the exact kernel (from those chains and from data rows), and parallel tempering from data rows.

If the chains' staleness made the gradient positive, equilibrating them would bring it down.

Usage: python results/rbm_quality_pcd_pt/gamma_gradient.py RUN_DIR N_SWEEPS
(one torch thread; <X> is averaged over the hidden units, +/- is the standard error over chains)
"""

import sys
import time

import torch

from qdoem.estimators import ClosedFormEstimator
from qdoem.experiment import load_run, load_run_dataset
from qdoem.layers.qubit import transverse
from qdoem.sampling import ChainState, ParallelTempering, sweep, temperature_ladder


def main() -> None:
    torch.set_num_threads(1)
    run, n_sweeps = sys.argv[1], int(sys.argv[2])
    model, config = load_run(run)
    gamma = model.layer_params(1)["gamma"]
    est = ClosedFormEstimator()

    def x_mean(v):
        c = model.field(1, [v.to(model.dtype), None])
        return transverse(c, gamma).mean(1)

    data = load_run_dataset(config).data.to(model.dtype)
    xd = torch.cat([x_mean(data[i : i + 5000]) for i in range(0, data.shape[0], 5000)])
    print(f"Gamma mean {float(gamma.abs().mean()):.3f}; <X>_data {float(xd.mean()):.5f}")

    def report(name, v, t0):
        x = x_mean(v)
        print(
            f"{name}: <X>_model {float(x.mean()):.5f} +/- {float(x.std() / len(x) ** 0.5):.5f}"
            f"  grad {float(xd.mean() - x.mean()):+.5f}  ({time.perf_counter() - t0:.0f} s)",
            flush=True,
        )

    state = torch.load(f"{run}/checkpoint.pt", weights_only=True)
    v_pcd = state["chains"][0].to(model.dtype)
    report("persistent chains at the checkpoint (100)", v_pcd, time.perf_counter())
    g = torch.Generator().manual_seed(1)
    start = data[torch.randperm(data.shape[0], generator=g)[:400]]
    marks = (n_sweeps // 4, n_sweeps // 2, n_sweeps)
    starts = [
        ("exact kernel from the persistent chains", v_pcd.repeat(4, 1)),
        ("exact kernel from 400 data rows", start),
    ]
    for name, v0 in starts:
        t0 = time.perf_counter()
        chains = ChainState([v0.clone(), None])
        for s in range(n_sweeps):
            chains.forget_caches()
            sweep(model, chains, "exact", est, g)
            if s + 1 in marks:
                report(f"{name}, {s + 1} sweeps", chains.values[0], t0)
        print("   MH acceptance", float(chains.mh_accepted) / chains.mh_proposed, flush=True)
    t0 = time.perf_counter()
    pt = ParallelTempering(temperature_ladder(6, 0.6), "exact")
    pt.start(ChainState([start.clone(), None]))
    for s in range(n_sweeps // 2):
        pt.advance(model, est, g)
        if s + 1 in (n_sweeps // 8, n_sweeps // 4, n_sweeps // 2):
            report(f"PT 6 replicas 1..0.6 from data, {s + 1} steps", pt.states_[0].values[0], t0)
    print("   swap rates", pt.take_rates())


if __name__ == "__main__":
    main()
