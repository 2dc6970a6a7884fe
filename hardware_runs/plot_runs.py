"""Overlay one metric of several recorded run directories, labelled by their backend.

Usage: ``python hardware_runs/plot_runs.py --metric train_nll --out curves.png RUN_DIR ...``
Each run directory is one written by ``qdoem train`` or ``qdoem submit``: its ``metrics.jsonl``
gives the curve, its ``backend.json`` the label (backend name, kind, mitigation).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def label(run: Path) -> str:
    record = json.loads((run / "backend.json").read_text())
    text = f"{run.name}: {record['name']} ({record['kind']}"
    if record.get("mitigation"):
        text += f", {record['mitigation']['name']} mitigation"
    return text + ")"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", type=Path)
    parser.add_argument("--metric", default="train_nll")
    parser.add_argument("--out", type=Path, default=Path("curves.png"))
    args = parser.parse_args()

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from qdoem.io import atomic_write

    fig, ax = plt.subplots(figsize=(7, 4))
    for run in args.runs:
        rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
        epochs = [r["epoch"] for r in rows if args.metric in r]
        ax.plot(epochs, [r[args.metric] for r in rows if args.metric in r], label=label(run))
    ax.set_xlabel("epoch")
    ax.set_ylabel(args.metric)
    ax.legend(fontsize=7)
    atomic_write(args.out, lambda fh: fig.savefig(fh, format="png", dpi=100, bbox_inches="tight"))


if __name__ == "__main__":
    main()
