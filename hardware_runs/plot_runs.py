"""Overlay one metric of several recorded run directories, labelled by their backend.

Usage: ``python hardware_runs/plot_runs.py --metric train_nll --out curves.png RUN_DIR ...``
Each run directory is one written by ``qdoem train`` or ``qdoem submit``: its ``metrics.jsonl``
gives the curve, its ``backend.json`` the label (backend name, kind, mitigation). It also prints
a Markdown table of the runs: the last epoch's metric and ``gamma_mean``, and from
``backend.json`` the backend calls, jobs and wall time summed over the run's invocations.
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


def table(runs: list[Path], metric: str) -> str:
    """A Markdown table of the runs (see the module notes)."""
    lines = [
        f"| run | backend | kind | mitigation | epochs | {metric} | gamma_mean | backend calls "
        "| jobs | wall time (s) |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for run in runs:
        record = json.loads((run / "backend.json").read_text())
        last = json.loads((run / "metrics.jsonl").read_text().splitlines()[-1])
        calls = record["invocations"]
        mitigation = (record.get("mitigation") or {}).get("name", "none")
        lines.append(
            f"| `{run.name}/` | {record['name']} | {record['kind']} | {mitigation} | "
            f"{last['epoch']} | {last.get(metric, float('nan')):.4f} | "
            f"{last.get('gamma_mean', float('nan')):.4f} | "
            f"{sum(c['backend_calls'] for c in calls)} | "
            f"{sum(len(c['job_ids']) for c in calls)} | "
            f"{sum(c['wall_time_s'] for c in calls):.1f} |"
        )
    return "\n".join(lines)


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
    print(table(args.runs, args.metric))


if __name__ == "__main__":
    main()
