"""One-off check: the experiment-2 quick models' bound with log Z by AIS from the uniform base
(base_bias=None) instead of the training log-odds, 1000 temperatures, 100 chains x 2 runs."""

import json
import sys

import torch

sys.path.insert(0, "bench")
import quality_compare as qc  # noqa: E402

from qdoem.experiment import load_run_dataset, load_snapshot  # noqa: E402
from qdoem.metrics import likelihood_report  # noqa: E402
from qdoem.training import RunDir  # noqa: E402

torch.set_num_threads(1)
for name in sys.argv[1:]:
    run = f"runs/exp2bound_quick/{name}"
    model = load_snapshot(RunDir(run).snapshot_files()[-1][1])[0]
    test = load_run_dataset(json.load(open(f"{run}/config.json")), "test").data
    seed = int(name[-1])
    r = likelihood_report(model, test, method="bound", n_chains=100, n_betas=1000, seed=seed)
    print(
        name,
        f"uniform-base bound {r.bound:.2f} log Z {r.log_z:.2f} +/- {r.log_z_stderr:.2f}",
        f"runs {[round(x, 2) for x in r.log_z_runs]} ESS {r.ess_fraction:.2f}",
        f"floor {qc.log_z_floor(model, test):.2f} flags {list(r.flags)}",
        flush=True,
    )
