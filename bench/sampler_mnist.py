"""QRBM on binarized MNIST trained with the plain and with the exact negative-phase chain.

Issue 8's measurement, in one run: a 784 x 500 QRBM with the README's CD-1 settings (batch 100,
lr 0.05, momentum 0.5, weight decay 1e-4, Gamma starting at 0.5 and learned, seed 0), once with
``sampler="plain"`` (the paper's uncorrected chain, biased at Gamma != 0) and once with
``sampler="exact"`` (Z-basis MH-within-Gibbs). The two are trained epoch by epoch in alternation
in one process with one torch thread, so both see the same machine load. Per sampler it reports
the median epoch time, the learned Gamma, the MH acceptance rate, and the AIS test
log-likelihood: two independent AIS runs (different seeds) with the exact kernel, base rate =
training-data log-odds, each with its own standard error.

Checkpoints go to ``--runs`` (resumable: rerunning continues where it stopped); the report to
``--out`` (``report.md`` and ``report.json``).

Usage::

    python bench/sampler_mnist.py --data-root ../shared/data [--epochs 70] [--n-betas 10000]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import torch

SAMPLERS = ("plain", "exact")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data-root", default="../shared/data")
    p.add_argument("--epochs", type=int, default=70)
    p.add_argument("--n-hidden", type=int, default=500)
    p.add_argument("--limit", type=int, default=None, help="first N training images")
    p.add_argument("--n-chains", type=int, default=100, help="AIS chains")
    p.add_argument("--n-betas", type=int, default=10000, help="AIS inverse temperatures")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--runs", type=Path, default=Path("runs/sampler_mnist"))
    p.add_argument("--out", type=Path, default=Path("results/qrbm_sampler_mnist"))
    args = p.parse_args()
    torch.set_num_threads(args.threads)

    from qdoem.data import load_dataset
    from qdoem.layers import data_log_odds
    from qdoem.models import QRBM
    from qdoem.training import TrainConfig, Trainer

    train = load_dataset("binarized_mnist", root=args.data_root, limit=args.limit).data
    test = load_dataset("binarized_mnist", root=args.data_root, split="test").data
    trainers = {}
    for sampler in SAMPLERS:
        model = QRBM(784, args.n_hidden, gamma_init=0.5, seed=0)
        cfg = TrainConfig(
            epochs=args.epochs,
            batch_size=100,
            learning_rate=0.05,
            momentum=0.5,
            weight_decay=1e-4,
            sampler=sampler,
            seed=0,
            track_nll=0,
        )
        trainer = Trainer(model, cfg, run_dir=args.runs / sampler)
        if trainer.run.checkpoint.is_file():
            trainer.load_state_dict(torch.load(trainer.run.checkpoint, weights_only=True))
        trainers[sampler] = trainer
    while any(t.epoch < args.epochs for t in trainers.values()):
        for sampler, trainer in trainers.items():
            if trainer.epoch < args.epochs:
                record = trainer.fit(train, stop_after=1)[-1]
                print(f"{sampler:6s} {json.dumps(record)}", flush=True)

    base = data_log_odds(train)
    report = {"settings": vars(args) | {"runs": str(args.runs), "out": str(args.out)}}
    for sampler, trainer in trainers.items():
        model, history = trainer.model, trainer.history
        ais = []
        for seed in (1, 2):
            start = time.perf_counter()
            log_z, stderr = model.log_partition(
                "ais",
                n_chains=args.n_chains,
                n_betas=args.n_betas,
                base_bias=base,
                generator=torch.Generator().manual_seed(seed),
                sampler="exact",
            )
            ll = float(model.log_prob(test, log_z=log_z).mean())
            ais.append(
                {
                    "seed": seed,
                    "log_z": log_z,
                    "log_z_stderr": stderr,
                    "test_ll": ll,
                    "seconds": time.perf_counter() - start,
                }
            )
            print(f"{sampler:6s} AIS seed {seed}: {ais[-1]}", flush=True)
        gamma = model.gamma.detach().abs()
        report[sampler] = {
            "epoch_time_s_median": statistics.median(r["time_s"] for r in history),
            "epoch_time_s_all": [r["time_s"] for r in history],
            "gamma_mean_abs": float(gamma.mean()),
            "gamma_min_abs": float(gamma.min()),
            "gamma_max_abs": float(gamma.max()),
            "accept_rate_first_last": [
                history[0].get("accept_rate"),
                history[-1].get("accept_rate"),
            ],
            "recon_error_last": history[-1].get("recon_error"),
            "ais": ais,
        }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    (args.out / "report.md").write_text(markdown(report) + "\n")
    print(markdown(report))


def markdown(report: dict) -> str:
    s = report["settings"]
    lines = [
        f"# QRBM on binarized MNIST: plain vs exact negative-phase chain ({s['epochs']} epochs)",
        "",
        f"784 x {s['n_hidden']} QRBM, CD-1, batch 100, lr 0.05, momentum 0.5, weight decay 1e-4, "
        f"Gamma from 0.5 (learned), seed 0, {s['limit'] or 60000} training images, one torch "
        f"thread, the two trained in alternation in one process. AIS: {s['n_chains']} chains x "
        f"{s['n_betas']} betas, exact kernel, base rate = training log-odds, two seeds; test set "
        f"of 10000 images.",
        "",
        "| sampler | epoch s (median) | mean abs Gamma (min-max) "
        "| MH acceptance (first, last epoch) | test LL, AIS seed 1 | test LL, AIS seed 2 |",
        "|---|---|---|---|---|---|",
    ]
    for sampler in SAMPLERS:
        r = report[sampler]
        acc = r["accept_rate_first_last"]
        acc_s = "n/a (no MH test)" if acc[0] is None else f"{acc[0]:.3f}, {acc[1]:.3f}"
        lls = [f"{a['test_ll']:.2f} +/- {a['log_z_stderr']:.2f}" for a in r["ais"]]
        lines.append(
            f"| {sampler} | {r['epoch_time_s_median']:.2f} | {r['gamma_mean_abs']:.3f} "
            f"({r['gamma_min_abs']:.3f}-{r['gamma_max_abs']:.3f}) | {acc_s} | {lls[0]} | {lls[1]} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
