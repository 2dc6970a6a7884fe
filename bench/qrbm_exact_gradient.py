"""Does Gamma help the model itself? RBM vs QRBM trained with the *exact* likelihood gradient.

Issue 9 asks why the QRBM trails the RBM on MNIST. This bench removes the sampler and the
estimator from the question: on data small enough to enumerate (binarized MNIST pooled to
4 x 4 = 16 pixels), the model term of the gradient is computed exactly
(``model.exact_statistics()``, all 2^16 visible states) and the data term in closed form, so
each step is exact one-step DO-EM, i.e. gradient ascent on the exact log-likelihood (with one
M-step gradient step per E-step, ``grad Q = grad L``). RBM, QRBM with Gamma learned from
``--gamma-init`` and QRBM with Gamma fixed there get the same optimiser (full batch, momentum
SGD, same learning rate, same steps, same initial W and biases) over ``--seeds``; the exact
train and test log-likelihoods are recorded along the way.

The same models are then trained with *sampled* negative phases (PCD-1 with the exact chain,
and the plain chain) for the same number of steps on mini-batches, so the report shows which
ordering survives sampling.

Usage::

    python bench/qrbm_exact_gradient.py --data-root ../shared/data [--steps 2000]
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

import torch


def pooled_mnist(root: str, split: str, limit: int | None) -> torch.Tensor:
    """Binarized MNIST pooled to 4 x 4: a pixel is on when >= 25% of its 7 x 7 block is."""
    from qdoem.data import load_dataset

    x = load_dataset("binarized_mnist", root=root, split=split, limit=limit).data
    x = x.reshape(-1, 1, 28, 28).double()
    pooled = torch.nn.functional.avg_pool2d(x, 7).reshape(-1, 16)
    return (pooled >= 0.25).double()


def variants(gamma_init: float) -> dict[str, dict]:
    return {
        "rbm": {"model": "rbm"},
        "qrbm": {"model": "qrbm", "gamma_init": gamma_init, "learn_gamma": True},
        "qrbm-fixed": {"model": "qrbm", "gamma_init": gamma_init, "learn_gamma": False},
    }


def train_exact(model, train, test, steps, lr, momentum, every):
    """Full-batch ascent on the exact log-likelihood; returns the LL trace."""
    from qdoem.training import SGD

    opt = SGD(model.parameters(), model.trainable(), model.decayed(), momentum, 0.0)
    trace = []
    for step in range(steps + 1):
        if step % every == 0:
            trace.append(
                {
                    "step": step,
                    "train_ll": float(model.log_prob(train, method="exact").mean()),
                    "test_ll": float(model.log_prob(test, method="exact").mean()),
                    "gamma_mean": _gamma(model),
                }
            )
        if step == steps:
            break
        pos, _ = model.positive_phase(train, start_chain=False)
        grads = model.sufficient_statistics(pos)
        neg = model.exact_statistics()
        opt.step({k: grads[k] - neg[k] for k in model.trainable()}, lr)
    return trace


def _gamma(model) -> float | None:
    fields = model.transverse_fields()
    return float(torch.cat(list(fields.values())).abs().mean()) if fields else None


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data-root", default="../shared/data")
    p.add_argument("--limit", type=int, default=10000, help="training images")
    p.add_argument("--n-hidden", type=int, default=8)
    p.add_argument("--gamma-init", type=float, default=0.5)
    p.add_argument("--steps", type=int, default=2000)
    p.add_argument("--lr", type=float, default=0.1)
    p.add_argument("--momentum", type=float, default=0.9)
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--sampled-epochs", type=int, default=20, help="0 skips the sampled runs")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", type=Path, default=Path("results/qrbm_exact_gradient"))
    args = p.parse_args()
    torch.set_num_threads(args.threads)

    from qdoem.io import atomic_write_text
    from qdoem.models import build_model

    train = pooled_mnist(args.data_root, "train", args.limit)
    test = pooled_mnist(args.data_root, "test", None)
    every = max(args.steps // 10, 1)
    rows = []
    for seed in args.seeds:
        for name, spec in variants(args.gamma_init).items():
            opts = {k: v for k, v in spec.items() if k != "model"}
            model = build_model(spec["model"], 16, args.n_hidden, seed=seed, dtype="float64",
                                **opts)  # fmt: skip
            model.init_from_data(train)
            trace = train_exact(model, train, test, args.steps, args.lr, args.momentum, every)
            rows.append({"seed": seed, "variant": name, "gradient": "exact", "trace": trace})
            print(seed, name, "exact", json.dumps(trace[-1]), flush=True)
            for sampler in ("exact", "plain") if args.sampled_epochs else ():
                if spec["model"] == "rbm" and sampler == "plain":
                    continue  # the same chain as "exact" at Gamma = 0
                m = build_model(spec["model"], 16, args.n_hidden, seed=seed, dtype="float64",
                                n_epochs=args.sampled_epochs, learning_rate=args.lr / 2,
                                momentum=0.5, weight_decay=0.0, persistent=True,
                                sampler=sampler, **opts)  # fmt: skip
                m.fit(train)
                end = {
                    "train_ll": float(m.log_prob(train, method="exact").mean()),
                    "test_ll": float(m.log_prob(test, method="exact").mean()),
                    "gamma_mean": _gamma(m),
                }
                rows.append(
                    {"seed": seed, "variant": name, "gradient": f"pcd-{sampler}", "end": end}
                )
                print(seed, name, f"pcd-{sampler}", json.dumps(end), flush=True)
    _write(args, rows, atomic_write_text)


def _write(args, rows, atomic_write_text) -> None:
    args.out.mkdir(parents=True, exist_ok=True)
    settings = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()}
    atomic_write_text(
        args.out / "report.json", json.dumps({"settings": settings, "rows": rows}, indent=2) + "\n"
    )
    table = {}
    for r in rows:
        end = r["trace"][-1] if "trace" in r else r["end"]
        table.setdefault((r["variant"], r["gradient"]), []).append(end)
    lines = [
        "# RBM vs QRBM with the exact gradient and with sampled gradients (16-pixel MNIST)",
        "",
        f"Settings: {json.dumps(settings)}",
        "",
        "| variant | gradient | test LL (median over seeds) | min..max | train LL | Gamma |",
        "|---|---|---|---|---|---|",
    ]
    for (variant, gradient), ends in table.items():
        t = [e["test_ll"] for e in ends]
        g = [e["gamma_mean"] for e in ends if e["gamma_mean"] is not None]
        lines.append(
            f"| {variant} | {gradient} | {statistics.median(t):.4f} | {min(t):.4f}..{max(t):.4f}"
            f" | {statistics.median(e['train_ll'] for e in ends):.4f} | "
            f"{statistics.median(g) if g else 0:.3f} |"
        )
    atomic_write_text(args.out / "report.md", "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
