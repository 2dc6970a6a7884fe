"""log Z of experiment 2's DBM/QiDBM by AIS from both bases and by reverse AIS (issue 13).

For each (variant, seed) of ``bench/quality_compare.py --experiment qidbm-dbm`` with the same
flags (the same configs, run folders and checkpoints; a row not trained yet is trained as that
bench trains it), the test-set variational lower bound of
:func:`qdoem.metrics.dbm_log_likelihood_bound` with ``base="both"`` (AIS from the training
log-odds base and from the uniform base, the larger kept) and its reverse-AIS check, next to
:func:`qdoem.metrics.dbm_likelihood.log_z_floor`. The likelihood only: no FID, no report; one
JSON line per row on stdout and in ``--json``. ``--check-betas`` temperatures (the bench's
``--n-betas`` is not used), ``--n-chains`` chains x 2 runs per base (``--base`` to run one).
The reverse check starts where the bench's ``--reverse-start`` says: ``data`` (test rows,
``--burn-in`` exact sweeps) or ``tempering`` (the ``beta = 1`` states of
:func:`qdoem.sampling.ais.tempered_states`, ``--pt-replicas`` x ``--pt-steps``, then
``--burn-in`` transitions; annealed down to the uniform base). ``--forward-only`` skips it;
``--reverse-only`` runs only it.

Usage (the quick run of results/qidbm_vs_dbm_mnist_bound_quick)::

    F="--experiment qidbm-dbm --n-hidden 100 --batch-size 100 --limit 5000 --epochs 3 \\
       --snapshot-every 1 --fid domain --runs runs/exp2bound_quick"
    OMP_NUM_THREADS=1 nice python bench/deep_log_z_check.py $F --seeds 0 --check-betas 1000
    # the reverse check from tempered states (results/qidbm_vs_dbm_mnist_learning/log_z_quick)
    OMP_NUM_THREADS=1 nice python bench/deep_log_z_check.py $F --seeds 0 --variants dbm \
        --reverse-start tempering --pt-replicas 40 --pt-steps 300 --check-betas 10000 \
        --burn-in 10
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import quality_compare as qc  # noqa: E402


def main(argv=None) -> None:
    from qdoem.metrics.dbm_likelihood import BASES, DEFAULT_BASE

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--check-betas", type=int, default=1000, help="AIS temperatures")
    p.add_argument("--burn-in", type=int, default=1000, help="sweeps before reverse AIS")
    p.add_argument("--base", choices=BASES, default=DEFAULT_BASE, help="AIS base")
    p.add_argument("--n-runs", type=int, default=2, help="forward AIS runs per base")
    p.add_argument("--reverse-chains", type=int, default=None, help="default --n-chains")
    p.add_argument(
        "--reverse-only", action="store_true", help="only reverse AIS (no bound, no forward)"
    )
    p.add_argument("--json", type=Path, default=None, help="append the rows here")
    p.add_argument(
        "--forward-only", action="store_true", help="no reverse AIS (forward from the base(s))"
    )
    own, rest = p.parse_known_args(argv)
    args = qc.parse_args(rest)  # --reverse-start, --pt-replicas, --pt-steps: the bench's flags
    torch.set_num_threads(args.threads)
    from qdoem.experiment import load_run_dataset, train
    from qdoem.layers import data_log_odds
    from qdoem.metrics import dbm_log_likelihood_bound
    from qdoem.sampling.ais import reverse_ais_log_partition, tempered_states
    from qdoem.seeding import derive_seed, seeded_generator
    from qdoem.training import RunDir

    for seed in args.seeds:
        for variant in args.variants:
            config = qc.row_config(args, variant, seed)
            resume = RunDir(Path(config["run_dir"])).has_checkpoint()
            trainer = train(
                config, resume=resume, progress=False, snapshot_every=args.snapshot_every
            )
            model = trainer.model
            base_bias = data_log_odds(load_run_dataset(config).data)
            test = load_run_dataset(config, split="test").data[: args.test_limit]
            start = time.perf_counter()
            if own.reverse_only:
                n_rev = own.reverse_chains or args.n_chains
                start_states, result = test, {"reverse_start": args.reverse_start}
                if args.reverse_start == "tempering":  # as dbm_log_likelihood_bound does
                    start_states = tempered_states(
                        model,
                        n_chains=n_rev,
                        n_replicas=args.pt_replicas,
                        n_steps=args.pt_steps,
                        generator=seeded_generator(derive_seed(seed, 5)),
                    )
                    result |= {"pt_swap_rates": list(start_states.swap_rates)}
                    result |= {"pt_replicas": args.pt_replicas, "pt_steps": args.pt_steps}
                    result |= {"pt_seconds": time.perf_counter() - start}
                res = reverse_ais_log_partition(
                    model,
                    start_states,
                    n_chains=n_rev,
                    n_betas=own.check_betas,
                    burn_in=own.burn_in,
                    base_bias=None if args.reverse_start == "tempering" else base_bias,
                    generator=seeded_generator(derive_seed(seed, 4)),
                )
                result |= {"log_z_reverse": res.log_z, "log_z_reverse_stderr": res.stderr}
                result |= {"reverse_ess_fraction": res.ess / res.log_weights.numel()}
                result |= {"n_betas": own.check_betas, "burn_in": own.burn_in}
            else:
                result = dbm_log_likelihood_bound(
                    model,
                    test,
                    n_chains=args.n_chains,
                    n_betas=own.check_betas,
                    n_runs=own.n_runs,
                    base_bias=base_bias,
                    base=own.base,
                    reverse_chains=0 if own.forward_only else own.reverse_chains,
                    burn_in=own.burn_in,
                    reverse_start=args.reverse_start,
                    pt_replicas=args.pt_replicas,
                    pt_steps=args.pt_steps,
                    seed=seed,
                ).to_dict()
            row = {
                "variant": variant,
                "seed": seed,
                "epochs": trainer.epoch,
                "seconds": time.perf_counter() - start,
                "threads": args.threads,
                **result,
            }
            line = json.dumps(row)
            print(line, flush=True)
            if own.json is not None:
                with open(own.json, "a") as f:
                    f.write(line + "\n")


if __name__ == "__main__":
    main()
