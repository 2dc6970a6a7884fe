"""Why the QiDBM with its quantum layer on h2 does not learn under the unbiased scheme.

A diagnosis, not a benchmark. The unbiased scheme's statistic ``g`` Rao-Blackwellises some
layers (their conditional means enter the statistics) and takes the others' values
(:meth:`qdoem.models.LayeredModel._rao_blackwell_layers`): a DBM's odd layers ({h1}); a QiDBM's
quantum layers ({h1}, or {h2} with ``quantum_layers=[2]``). With exact samples any such choice
is unbiased. At the start the scheme uses ("local mode + one sweep", the coupling correction
almost never fires at MNIST size) the choice changes the step.

This trains 784-100-100 models for one epoch of the configs' unbiased recipe (2000 images, batch
100, lr 0.05, momentum 0.9; the recipe of ``results/qidbm_vs_dbm_mnist_learning``) and prints
each parameter's std and mean:

* ``dbm``: the DBM (h1 Rao-Blackwellised);
* ``qidbm-h1 Gamma~0`` / ``qidbm-h2 Gamma~0``: QiDBMs at Gamma = 1e-6, not learned;
* ``dbm rb={h2}`` / ``dbm rb={v,h2}``: the DBM with its Rao-Blackwellised layers overridden (the
  private method replaced on the class, for this diagnosis only).

If the QiDBM-h2 at Gamma ~ 0 steps like the DBM with ``rb={h2}`` and not like the DBM, the
difference is the choice of Rao-Blackwellised layer, not the quantum layer's maths.

    OMP_NUM_THREADS=1 python bench/unbiased_rb_check.py --data-root ../shared/data
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data-root", default=str(REPO.parent / "shared" / "data"))
    p.add_argument("--limit", type=int, default=2000)
    p.add_argument("--hidden", type=int, default=100)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", type=Path, help="also write the figures as JSON here")
    args = p.parse_args()
    torch.set_num_threads(args.threads)

    from qdoem.experiment import resolve_config, train
    from qdoem.models.base import LayeredModel

    original = LayeredModel._rao_blackwell_layers
    gamma0 = {"gamma_init": 1e-6, "learn_gamma": False}
    rows = [
        ("dbm", "dbm", {}, None),
        ("qidbm-h1 Gamma~0", "qidbm", gamma0, None),
        ("qidbm-h2 Gamma~0", "qidbm", {**gamma0, "quantum_layers": [2]}, None),
        ("dbm rb={h2}", "dbm", {}, frozenset({2})),
        ("dbm rb={v,h2}", "dbm", {}, frozenset({0, 2})),
    ]
    common = {"limit": args.limit, "epochs": 1, "hidden_sizes": [args.hidden] * 2}
    common |= {"batch_size": 100, "learning_rate": 0.05, "momentum": 0.9}
    common["data_root"] = args.data_root
    keys = ["weights_1", "weights_2", "visible_bias", "hidden1_bias", "hidden2_bias"]
    results = {}
    print("| model | " + " | ".join(["W1", "W2", "visible bias", "h1 bias", "h2 bias"]) + " |")
    print("|---" * 6 + "|")
    with tempfile.TemporaryDirectory() as tmp:
        for name, config, extra, rb in rows:
            LayeredModel._rao_blackwell_layers = (
                original if rb is None else (lambda self, rb=rb: rb)
            )
            try:
                run = Path(tmp) / name.replace(" ", "_")
                cfg = resolve_config(
                    REPO / f"configs/{config}_mnist.toml", {**common, **extra, "run_dir": str(run)}
                )
                params = train(cfg, progress=False).model.parameters()
            finally:
                LayeredModel._rao_blackwell_layers = original
            results[name] = {k: [float(params[k].std()), float(params[k].mean())] for k in keys}
            cells = [f"{float(params[k].std()):.3f} / {float(params[k].mean()):+.3f}" for k in keys]
            print(f"| {name} | " + " | ".join(cells) + " |", flush=True)
            shutil.rmtree(run, ignore_errors=True)
    print("\ncells: std / mean after one epoch")
    if args.out is not None:
        args.out.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
