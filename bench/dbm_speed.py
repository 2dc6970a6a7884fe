"""QiDBM against a DBM of the same width: training time, peak memory, Gibbs-sampler throughput.

Issue 10's benchmark: epoch time and peak memory of the QiDBM against the DBM of the same width
on binarized MNIST (784 visible, 2 x 784 hidden, the DBM baseline's batch of 1000). Target: at
most 1.10 in both ("the same resources as a DBM"). Also the samples per second of the Gibbs
sampler and the achieved GFLOP/s against this machine's float32 matmul peak, measured here.

Models, all with the settings of ``configs/dbm_mnist.toml`` / ``configs/qidbm_mnist.toml``
(SGD without momentum, lr 0.01 decayed as ``1/sqrt(1 + 1e-3 t)``, orthogonal weights, zero
biases, no visible log-odds initialisation, ``visible_matmul="sparse"``, ``scheme="unbiased"``
with ``cd_k=1``, exact sampler), seed 0:

============ ==================================================================================
``DBM``      the classical DBM
``QiDBM h1`` QiDBM, the first hidden layer quantum (Gamma from 0.5, learned)
``QiDBM h2`` QiDBM, the second hidden layer quantum
============ ==================================================================================

Measurements, in one run:

- **Training time.** ``Trainer.train_epoch`` on the first ``--steps * --batch-size`` images
  (``--steps`` mini-batch steps), a freshly initialised model each time, so every repeat does
  the same work (the step count, local-mode sweeps and coupling lengths are seeded; the report
  checks they agree). The models are interleaved, in an order rotated each repeat, for
  ``--repeats`` rounds, so machine noise hits all alike. Per model: median seconds per step,
  and the per-epoch figure as 60 x that (one epoch = 60 steps of 1000 images; an
  extrapolation from the timed steps, which start at the initialisation). Ratio QiDBM/DBM: of
  the medians, with the min and max of the per-repeat ratios, and of the minima ("best":
  contention only adds time). A CPU run whose process CPU time is below 0.9 x threads x wall
  time shared its cores with another process; the report lists such runs.
- **Fixed work.** The unbiased scheme's local-mode search sweeps until nothing changes, so its
  step does a different amount of work per model and its time ratio mixes cost with work. The
  same timing is repeated with ``--fixed-work-scheme`` (default ``mean-field``: a fixed number
  of mean-field iterations and ``cd_k`` Gibbs sweeps; the matmuls differ only where an MH move
  recomputes a quantum layer's field), in the same interleaved rounds: its ratio is the cost
  of the quantum layer at (nearly) equal work.
  ``--fixed-work-scheme none`` skips it.
- **Peak memory.** One subprocess per model (so peaks do not mix) trains ``--mem-steps``
  steps. CPU: the peak resident set size (``VmHWM``) above the resident size just before the
  model is built, after the imports, the data load and one step of the same model (one-time
  library set-up, and the compile with ``compile=True``; freed before the baseline; the
  high-water mark is reset there via ``/proc/self/clear_refs``; without it, ``ru_maxrss``
  minus the same baseline). glibc's mmap threshold is fixed in the child
  (``MALLOC_MMAP_THRESHOLD_``) so that freed tensors go back to the OS and the resident size
  follows the live tensors. CUDA: ``torch.cuda.max_memory_allocated``
  above the allocation before the model is built. The delta includes the parameters.
- **Gibbs sampler.** ``model.sample(--sample-chains, sampler=--sampler, steps=--sample-steps)``
  (MH-within-Gibbs, exact at Gamma != 0) from the initialisation; chain-sweeps per second =
  chains x sweeps / seconds (one chain-sweep updates every layer of one chain once). Interleaved
  with the training repeats.
- **FLOPs.** Counted by ``torch.utils.flop_counter.FlopCounterMode`` around one untimed run of
  exactly the timed work (which is also the warm-up): every ``mm``/``addmm``/``bmm`` at
  2 FLOPs per multiply-add, including the local-mode sweeps, the Gibbs sweep, the MH energies
  and the coupled-MH corrections, whatever their number. The ``embedding_bag`` gather-sums of
  ``visible_matmul="sparse"`` (products with {0,1} visible vectors) are added by a formula
  registered here: *executed* FLOPs count one add per gathered element (nnz x width), the
  *dense-equivalent* count is the dense matmul it replaces (2 x bags x rows x width). Not
  counted: elementwise work (sigmoids, comparisons, random draws, ``where``), ``nonzero``.
  Achieved GFLOP/s = FLOPs / median time, beside the matmul peak: the best of ``--peak-reps``
  ``torch.mm`` of two ``--peak-n`` squared float32 matrices on the same device and threads,
  measured before and after the timed loop.

``--compile`` adds ``DBM compiled``, ``QiDBM h1 compiled`` and ``QiDBM h2 compiled``
(``compile=True``: the fused kernels of :mod:`qdoem.sampling.fused`) to the same interleaved
rounds; the compiled QiDBMs are compared with ``DBM compiled`` (both compiled the same way), the
compiled DBM with the eager one. Each compiled model first runs one untimed, uncounted step,
which compiles the kernels (inductor's cache in a fresh folder: a cold compile); its time is
reported separately. Output: ``report_compile.{md,json}`` beside the eager report.

Threads are set explicitly (``--threads``, default 2): oversubscribed threads slowed epochs by
up to 90x on the shared 2-core machine.

Output: a table on stdout, ``report.md`` and ``report.json`` (atomic writes; settings, command
line, versions, every raw timing) in ``--out`` (default ``results/dbm_speed``; with ``--quick``,
``runs/dbm_speed_quick``, so a smoke run never overwrites the committed results).

Usage::

    python bench/dbm_speed.py --data-root ../shared/data --steps 10 --repeats 3 --threads 2
    python bench/dbm_speed.py --scheme mean-field --out results/dbm_speed_mean_field
    python bench/dbm_speed.py --quick        # smoke run: 2 x 64 hidden, batch 100, seconds
    python bench/dbm_speed.py --device cuda  # on a GPU machine
    python bench/dbm_speed.py --render-only --out results/dbm_speed  # re-derive, no measuring
    python bench/dbm_speed.py --data-root ../shared/data --threads 1 --mem-steps 2 --memory-only
    python bench/dbm_speed.py --threads 1 --compile --scheme mean-field --fixed-work-scheme none
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import platform
import resource
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

#: Issue 10: QiDBM / DBM at most this, in epoch time and in peak memory.
TARGET = 1.10
#: One epoch of binarized MNIST at the baseline's batch: 60000 / 1000 steps.
MNIST_TRAIN = 60000
#: The models compared: name -> (class name, extra constructor options).
MODELS = {
    "DBM": ("DBM", {}),
    "QiDBM h1": ("QiDBM", {"quantum_layers": [1], "gamma_init": 0.5}),
    "QiDBM h2": ("QiDBM", {"quantum_layers": [2], "gamma_init": 0.5}),
}
BASE = "DBM"
#: With --compile: the same models built with compile=True, compared with "DBM compiled".
COMPILED = {f"{name} compiled": (c, {**kw, "compile": True}) for name, (c, kw) in MODELS.items()}
BASES = {name: f"{BASE} compiled" for name in COMPILED if name != f"{BASE} compiled"}
ROWS = {**MODELS, **COMPILED}
STEM, STEM_COMPILE = "report", "report_compile"
#: A CPU run whose process CPU time is below this x threads x wall time shared its cores.
CONTENDED = 0.9
#: Fraction of ones of the random stand-in data (binarized MNIST has ~13%).
RANDOM_DENSITY = 0.13


# ---------------------------------------------------------------------------- arguments
def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data-root", default="../shared/data")
    p.add_argument("--hidden", type=int, nargs="+", default=None, help="default 784 784")
    p.add_argument("--batch-size", type=int, default=None, help="default 1000")
    p.add_argument("--steps", type=int, default=None, help="timed mini-batch steps (default 10)")
    p.add_argument("--repeats", type=int, default=None, help="interleaved rounds (default 3)")
    p.add_argument("--mem-steps", type=int, default=None, help="steps per memory run (3)")
    p.add_argument("--scheme", default="unbiased", choices=["unbiased", "mean-field"])
    p.add_argument(
        "--fixed-work-scheme",
        default="mean-field",
        choices=["mean-field", "unbiased", "none"],
        help="also time training with this scheme (equal work per model); none: skip",
    )
    p.add_argument("--cd-k", type=int, default=1)
    p.add_argument("--persistent", action="store_true", help="persistent chains")
    p.add_argument("--sampler", default="exact", help="negative-phase and sampler kernel")
    p.add_argument("--sample-chains", type=int, default=None, help="default the batch size")
    p.add_argument("--sample-steps", type=int, default=None, help="sweeps (default 20)")
    p.add_argument("--peak-n", type=int, default=2048, help="matmul size of the peak")
    p.add_argument("--peak-reps", type=int, default=10)
    p.add_argument("--threads", type=int, default=2, help="torch intra-op threads")
    p.add_argument("--device", default="cpu")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, default=None)
    p.add_argument(
        "--quick",
        action="store_true",
        help="smoke run: 2 x 64 hidden, batch 100, 3 steps, 1 repeat; random data if no MNIST",
    )
    p.add_argument(
        "--render-only",
        action="store_true",
        help="measure nothing: recompute the derived figures of --out/report.json, rewrite both",
    )
    p.add_argument(
        "--memory-only",
        action="store_true",
        help="measure peak memory only and replace it in --out/report.json (timings kept)",
    )
    p.add_argument(
        "--compile",
        action="store_true",
        help="also the compiled models (compile=True), side by side; report_compile.{md,json}",
    )
    p.add_argument("--memory-child", default=None, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    quick = args.quick
    defaults = {
        "hidden": [64, 64] if quick else [784, 784],
        "batch_size": 100 if quick else 1000,
        "steps": 3 if quick else 10,
        "repeats": 1 if quick else 3,
        "mem_steps": 2 if quick else 3,
        "sample_steps": 5 if quick else 20,
        "out": Path("runs/dbm_speed_quick" if quick else "results/dbm_speed"),
    }
    for key, value in defaults.items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    if quick:
        args.peak_reps = min(args.peak_reps, 5)
    if args.sample_chains is None:
        args.sample_chains = args.batch_size
    for name in ("batch_size", "steps", "repeats", "mem_steps", "sample_chains", "sample_steps"):
        if getattr(args, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be >= 1")
    return args


def model_options(args) -> dict:
    """Constructor options shared by every model (the baseline's, from configs/dbm_mnist.toml)."""
    return {
        "scheme": args.scheme,
        "cd_k": args.cd_k,
        "persistent": args.persistent,
        "sampler": args.sampler,
        "batch_size": args.batch_size,
        "learning_rate": 0.01,
        "lr_schedule": "inverse-sqrt",
        "lr_decay": 1e-3,
        "momentum": 0.0,
        "weight_decay": 0.0,
        "weight_init": "orthogonal",
        "visible_matmul": "sparse",
        "seed": args.seed,
        "device": args.device,
        "dtype": "float32",
    }


# ---------------------------------------------------------------------------- helpers
def sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def build(name: str, n_visible: int, hidden: list[int], options: dict):
    """A freshly initialised model and its trainer (the model's settings, no log-odds init)."""
    import dataclasses

    from qdoem import models
    from qdoem.training import Trainer

    cls_name, extra = ROWS[name]
    model = getattr(models, cls_name)(n_visible, list(hidden), **extra, **options)
    config = dataclasses.replace(model.train_config(), init_visible_from_data=False, track_nll=0)
    return model, Trainer(model, config)


def matmul_peak(device: str, n: int, reps: int) -> float:
    """Best GFLOP/s of an ``n x n`` float32 ``torch.mm`` on ``device``."""
    a = torch.randn(n, n, device=device)
    b = torch.randn(n, n, device=device)
    a @ b  # warm-up
    best = math.inf
    for _ in range(reps):
        sync(device)
        t = time.perf_counter()
        a @ b
        sync(device)
        best = min(best, time.perf_counter() - t)
    return 2 * n**3 / best / 1e9


class FlopCount:
    """``FlopCounterMode`` plus the ``embedding_bag`` gather-sums of the sparse visible products.

    Use as a context manager; then ``executed`` (dense matmuls + one add per gathered element),
    ``dense_equivalent`` (the gather-sums counted as the dense matmuls they replace) and
    ``by_op`` (executed FLOPs per aten op).
    """

    def __init__(self) -> None:
        from torch.utils.flop_counter import FlopCounterMode

        self._bag_dense = 0
        self._bag_executed = 0

        def bag_flops(weight, indices, *args, out_val=None, **kwargs):
            n_bags = out_val[0].shape[0]
            executed = indices.numel() * weight.shape[1]
            self._bag_executed += executed
            self._bag_dense += 2 * n_bags * weight.shape[0] * weight.shape[1]
            return executed

        bag_flops._get_raw = True  # the formula gets tensors (nnz), not shapes
        ops = torch.ops.aten
        mapping = {ops._embedding_bag_forward_only: bag_flops, ops._embedding_bag: bag_flops}
        self._mode = FlopCounterMode(display=False, custom_mapping=mapping)

    def __enter__(self):
        self._mode.__enter__()
        return self

    def __exit__(self, *exc):
        return self._mode.__exit__(*exc)

    @property
    def executed(self) -> int:
        return int(self._mode.get_total_flops())

    @property
    def dense_equivalent(self) -> int:
        return self.executed - self._bag_executed + self._bag_dense

    @property
    def by_op(self) -> dict[str, int]:
        return {str(k): int(v) for k, v in self._mode.get_flop_counts().get("Global", {}).items()}


def work_signature(record: dict) -> dict:
    """The seeded, work-determining fields of an epoch record (equal for equal work)."""
    keys = ("step", "mode_sweeps", "coupling_steps", "coupling_truncated", "accept_rate")
    return {k: record[k] for k in keys if k in record}


def load_data(args) -> tuple[torch.Tensor, str]:
    """The first ``steps * batch`` training images, and a description for the report."""
    from qdoem.data import load_dataset

    n = max(args.steps, args.mem_steps) * args.batch_size
    try:
        data = load_dataset("binarized_mnist", root=args.data_root, limit=n).data
        what = f"binarized MNIST (first {data.shape[0]} training images, {args.data_root})"
    except FileNotFoundError as err:
        if not args.quick:
            raise SystemExit(
                f"binarized MNIST not found under --data-root {args.data_root!r}: {err}\n"
                "The full-scale benchmark needs it (--quick falls back to random data)."
            ) from err
        g = torch.Generator().manual_seed(args.seed)
        data = (torch.rand(n, 784, generator=g) < RANDOM_DENSITY).float()
        what = (
            f"RANDOM {{0,1}} data with {RANDOM_DENSITY:.0%} ones, {n} x 784 (binarized MNIST "
            f"not found under {args.data_root!r}): NOT MNIST"
        )
    if data.shape[0] < n:
        raise SystemExit(f"need {n} images for the timed steps, the data set has {data.shape[0]}")
    return data[:n].contiguous(), what


# ---------------------------------------------------------------------------- memory child
def _status_kib(field: str) -> int | None:
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def _reset_peak_rss() -> bool:
    """Reset the resident high-water mark (Linux >= 4.0); False if not possible."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return _status_kib("VmHWM") is not None
    except OSError:
        return False


def memory_child(spec: dict) -> dict:
    """Peak memory of one model's training (runs in its own process)."""
    import gc

    torch.set_num_threads(spec["threads"])
    device = spec["device"]
    data = torch.load(spec["data"], weights_only=True).to(device)
    # One-time costs before the baseline (lazy imports, thread pools, BLAS initialisation; with
    # compile=True every kernel's compile, at the measured sizes: a kernel traced at other sizes
    # can be guarded on them and compile again inside the measured steps): one step of the same
    # model on the first batch, freed before the baseline.
    warm, warm_trainer = build(spec["name"], data.shape[1], spec["hidden"], spec["options"])
    warm_trainer.train_epoch(data[: spec["options"]["batch_size"]])
    del warm, warm_trainer
    gc.collect()
    out: dict = {"model": spec["name"], "device": device, "steps": spec["steps"]}
    if device.startswith("cuda"):
        sync(device)
        torch.cuda.reset_peak_memory_stats(device)
        base = torch.cuda.memory_allocated(device)
        out["method"] = "torch.cuda.max_memory_allocated - memory_allocated before the model"
    else:
        hwm = _reset_peak_rss()
        base_kib = _status_kib("VmRSS") if hwm else resource.getrusage(resource.RUSAGE_SELF)[2]
        base = base_kib * 1024
        out["method"] = (
            "VmHWM after a reset via /proc/self/clear_refs - VmRSS before the model"
            if hwm
            else "ru_maxrss - ru_maxrss before the model (high-water mark not resettable)"
        )
    model, trainer = build(spec["name"], data.shape[1], spec["hidden"], spec["options"])
    record = trainer.train_epoch(data[: spec["steps"] * spec["options"]["batch_size"]])
    sync(device)
    if device.startswith("cuda"):
        peak = torch.cuda.max_memory_allocated(device)
    elif hwm:
        peak = _status_kib("VmHWM") * 1024
    else:
        peak = resource.getrusage(resource.RUSAGE_SELF)[2] * 1024
    params = sum(t.numel() * t.element_size() for t in model.parameters().values())
    out.update(
        baseline_bytes=base,
        peak_bytes=peak,
        peak_delta_bytes=peak - base,
        parameter_bytes=params,
        record=record,
    )
    return out


def measure_memory(name: str, args, options: dict, data_file: Path) -> dict:
    spec = {
        "name": name,
        "hidden": args.hidden,
        "options": options,
        "steps": args.mem_steps,
        "threads": args.threads,
        "device": args.device,
        "data": str(data_file),
    }
    env = dict(os.environ)
    # Fixed threshold (also turns off glibc's dynamic one): large blocks are mmapped and go
    # back to the OS when freed, so the resident size follows the live tensors.
    env["MALLOC_MMAP_THRESHOLD_"] = "65536"
    cmd = [sys.executable, str(Path(__file__).resolve()), "--memory-child", json.dumps(spec)]
    res = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if res.returncode != 0:
        raise RuntimeError(f"memory run of {name} failed:\n{res.stderr}")
    return json.loads(res.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------------------- timing
def time_training(name: str, args, options: dict, data: torch.Tensor) -> dict:
    """One timed run of ``--steps`` steps on a fresh model (construction not timed)."""
    model, trainer = build(name, data.shape[1], args.hidden, options)
    sync(args.device)
    cpu0, t0 = time.process_time(), time.perf_counter()
    record = trainer.train_epoch(data)
    sync(args.device)
    wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    return {"wall_s": wall, "cpu_s": cpu, "record": record}


def time_sampler(model, args) -> dict:
    sync(args.device)
    cpu0, t0 = time.process_time(), time.perf_counter()
    model.sample(args.sample_chains, sampler=args.sampler, steps=args.sample_steps, seed=0)
    sync(args.device)
    return {"wall_s": time.perf_counter() - t0, "cpu_s": time.process_time() - cpu0}


def ratio_summary(num: list[float], den: list[float]) -> dict:
    """Ratio of the medians, ratio of the minima, and the range of the per-repeat ratios."""
    per = [a / b for a, b in zip(num, den, strict=True)]
    value = statistics.median(num) / statistics.median(den)
    best = min(num) / min(den)
    return {"value": value, "best": best, "per_repeat": per, "min": min(per), "max": max(per)}


def cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def run(args) -> dict:

    torch.set_num_threads(args.threads)
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        raise SystemExit("--device cuda: torch sees no CUDA device")
    options = model_options(args)
    loadavg_start = os.getloadavg()
    data, data_what = load_data(args)
    train_data = data[: args.steps * args.batch_size].to(args.device)
    n_visible = data.shape[1]
    print(
        f"{n_visible} visible, hidden {args.hidden}, batch {args.batch_size}, scheme "
        f"{args.scheme}, cd_k {args.cd_k}, sampler {args.sampler}, {args.steps} steps x "
        f"{args.repeats} repeats, device {args.device}, torch threads {torch.get_num_threads()}"
        f"\ndata: {data_what}",
        flush=True,
    )
    names = list(ROWS if args.compile else MODELS)
    cold = args.cold_cache
    compile_runs = {}
    for name in names:  # compiled models: one untimed step first, which compiles the kernels
        if ROWS[name][1].get("compile"):
            first = time_training(name, args, options, train_data[: args.batch_size])
            compile_runs[name] = {"wall_s": first["wall_s"], "cpu_s": first["cpu_s"]}
            print(f"first step {name}: {first['wall_s']:.2f} s (cpu {first['cpu_s']:.2f})")
    peaks = [matmul_peak(args.device, args.peak_n, args.peak_reps)]
    fixed = args.fixed_work_scheme not in ("none", args.scheme)
    fixed_options = {**options, "scheme": args.fixed_work_scheme}

    def counted(name: str, opts: dict) -> dict:
        counter = FlopCount()
        with counter:
            warm = time_training(name, args, opts, train_data)
        return {
            "executed": counter.executed,
            "dense_equivalent": counter.dense_equivalent,
            "by_op": counter.by_op,
            "record": warm["record"],
        }

    # Warm-up = the counted run: exactly the timed work, under the FLOP counter.
    flops, flops_fixed, samplers, sample_flops = {}, {}, {}, {}
    for name in names:
        flops[name] = counted(name, options)
        if fixed:
            flops_fixed[name] = counted(name, fixed_options)
        samplers[name] = build(name, n_visible, args.hidden, options)[0]
        counter = FlopCount()
        with counter:
            time_sampler(samplers[name], args)
        sample_flops[name] = {
            "executed": counter.executed,
            "dense_equivalent": counter.dense_equivalent,
        }
        print(
            f"counted {name}: {flops[name]['executed'] / 1e9:.2f} GFLOP per training run, "
            f"{counter.executed / 1e9:.2f} GFLOP per sampler run (warm-up)",
            flush=True,
        )

    train_runs: dict[str, list[dict]] = {n: [] for n in names}
    fixed_runs: dict[str, list[dict]] = {n: [] for n in names}
    sample_runs: dict[str, list[dict]] = {n: [] for n in names}
    for r in range(args.repeats):
        order = names[r % len(names) :] + names[: r % len(names)]  # rotated each round
        for name in order:
            run_ = time_training(name, args, options, train_data)
            train_runs[name].append(run_)
            sample_runs[name].append(time_sampler(samplers[name], args))
            line = (
                f"repeat {r + 1}/{args.repeats} {name:9s} train {run_['wall_s']:8.3f} s "
                f"(cpu {run_['cpu_s']:.2f} s)  sampler {sample_runs[name][-1]['wall_s']:7.3f} s"
            )
            if fixed:
                fixed_runs[name].append(time_training(name, args, fixed_options, train_data))
                w, c = fixed_runs[name][-1]["wall_s"], fixed_runs[name][-1]["cpu_s"]
                line += f"  {args.fixed_work_scheme} {w:8.3f} s (cpu {c:.2f} s)"
            print(line, flush=True)
    peaks.append(matmul_peak(args.device, args.peak_n, args.peak_reps))
    peak = max(peaks)

    memory = {}
    with tempfile.TemporaryDirectory() as tmp:
        data_file = Path(tmp) / "data.pt"
        torch.save(data[: args.mem_steps * args.batch_size].clone(), data_file)
        for name in names:
            memory[name] = measure_memory(name, args, options, data_file)
            print(f"memory {name}: {memory[name]['peak_delta_bytes'] / 2**20:.1f} MiB", flush=True)
    loadavg_end = os.getloadavg()

    models = {
        name: {
            "train": {
                "wall_s": [x["wall_s"] for x in train_runs[name]],
                "cpu_s": [x["cpu_s"] for x in train_runs[name]],
                "records": [x["record"] for x in train_runs[name]],
                "flops": flops[name],
            },
            "sampler": {
                "wall_s": [x["wall_s"] for x in sample_runs[name]],
                "cpu_s": [x["cpu_s"] for x in sample_runs[name]],
                "flops": sample_flops[name],
            },
            "memory": memory[name],
        }
        for name in names
    }
    if fixed:
        for name in names:
            models[name]["train_fixed_work"] = {
                "scheme": args.fixed_work_scheme,
                "wall_s": [x["wall_s"] for x in fixed_runs[name]],
                "cpu_s": [x["cpu_s"] for x in fixed_runs[name]],
                "records": [x["record"] for x in fixed_runs[name]],
                "flops": flops_fixed[name],
            }
    report = {
        "issue": 10,
        "target": TARGET,
        "command": shlex.join([sys.executable, *sys.argv]),
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu": cpu_name(),
        "cpu_count": os.cpu_count(),
        "threads": torch.get_num_threads(),
        "omp_num_threads_env": os.environ.get("OMP_NUM_THREADS"),
        "device": args.device,
        "device_name": torch.cuda.get_device_name(args.device)
        if args.device.startswith("cuda")
        else cpu_name(),
        "loadavg_start": loadavg_start,
        "loadavg_end": loadavg_end,
        "quick": args.quick,
        "compile": args.compile,
        "cold_cache": cold,
        "first_step": compile_runs,
        "settings": {
            "data": data_what,
            "n_visible": n_visible,
            "hidden": args.hidden,
            "batch_size": args.batch_size,
            "steps": args.steps,
            "repeats": args.repeats,
            "mem_steps": args.mem_steps,
            "sample_chains": args.sample_chains,
            "sample_steps": args.sample_steps,
            "peak_matmul": f"{args.peak_n}^3 float32 torch.mm, best of {args.peak_reps}",
            "model_options": options,
            "models": {k: {"class": c, **kw} for k, (c, kw) in ROWS.items() if k in names},
        },
        "matmul_peak_gflops": peak,
        "matmul_peak_gflops_runs": peaks,
        "models": models,
    }
    write(derive(report), args.out, STEM_COMPILE if args.compile else STEM)
    return report


def write(report: dict, out: Path, stem: str = STEM) -> None:
    from qdoem.io import atomic_write_text

    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / f"{stem}.json", json.dumps(report, indent=2) + "\n")
    md = markdown(report)
    atomic_write_text(out / f"{stem}.md", md + "\n")
    print("\n" + md)
    print(f"\nwrote {out / stem}.md and {out / stem}.json")


def derive(rep: dict) -> dict:
    """Fill in every figure derived from the raw timings, counts and peaks (in place)."""
    s = rep["settings"]
    steps, per_epoch = s["steps"], MNIST_TRAIN // s["batch_size"]
    on_cpu = rep["device"] == "cpu"
    for m in rep["models"].values():
        t, sm = m["train"], m["sampler"]
        trains = [t] + ([m["train_fixed_work"]] if "train_fixed_work" in m else [])
        for part in trains:
            walls = part["wall_s"]
            med, best = statistics.median(walls), min(walls)
            sig = work_signature(part["flops"]["record"])
            part.update(
                median_wall_s=med,
                best_wall_s=best,
                median_step_s=med / steps,
                best_step_s=best / steps,
                epoch_s_extrapolated=med / steps * per_epoch,
                epoch_s_extrapolated_best=best / steps * per_epoch,
                same_work_every_repeat=all(work_signature(r) == sig for r in part["records"]),
                gflops_executed=part["flops"]["executed"] / med / 1e9,
                gflops_executed_best=part["flops"]["executed"] / best / 1e9,
                gflops_dense_equivalent=part["flops"]["dense_equivalent"] / med / 1e9,
                gflops_dense_equivalent_best=part["flops"]["dense_equivalent"] / best / 1e9,
            )
        for part in (*trains, sm):
            if on_cpu and "cpu_s" in part:
                cores = [c / w for c, w in zip(part["cpu_s"], part["wall_s"], strict=True)]
                part["cores_used"] = cores
                part["contended"] = [c < CONTENDED * rep["threads"] for c in cores]
        sps = [s["sample_chains"] * s["sample_steps"] / w for w in sm["wall_s"]]
        sm.update(
            chain_sweeps_per_s=sps,
            median_chain_sweeps_per_s=statistics.median(sps),
            best_chain_sweeps_per_s=max(sps),
            gflops_executed=sm["flops"]["executed"] / statistics.median(sm["wall_s"]) / 1e9,
            gflops_executed_best=sm["flops"]["executed"] / min(sm["wall_s"]) / 1e9,
        )
    ratios = {}
    for name, m in rep["models"].items():
        if name == BASE:
            continue
        base = rep["models"][BASES.get(name, BASE)]
        time_ratio = ratio_summary(m["train"]["wall_s"], base["train"]["wall_s"])
        den = base["memory"]["peak_delta_bytes"]
        mem_ratio = m["memory"]["peak_delta_bytes"] / den if den > 0 else math.nan
        ratios[name] = {
            "base": BASES.get(name, BASE),
            "epoch_time": {
                **time_ratio,
                "met": time_ratio["value"] <= TARGET,
                "met_best": time_ratio["best"] <= TARGET,
                "cpu": ratio_summary(m["train"]["cpu_s"], base["train"]["cpu_s"]),
            },
            "peak_memory": {"value": mem_ratio, "met": mem_ratio <= TARGET},
            # Seconds per chain-sweep, QiDBM / DBM (reported; the issue sets no target here).
            "sampler_time": ratio_summary(m["sampler"]["wall_s"], base["sampler"]["wall_s"]),
            "work": m["train"]["flops"]["executed"] / base["train"]["flops"]["executed"],
        }
        if "train_fixed_work" in m and "train_fixed_work" in base:
            mf, bf = m["train_fixed_work"], base["train_fixed_work"]
            fixed = ratio_summary(mf["wall_s"], bf["wall_s"])
            ratios[name]["fixed_work_time"] = {
                **fixed,
                "met": fixed["value"] <= TARGET,
                "met_best": fixed["best"] <= TARGET,
                "cpu": ratio_summary(mf["cpu_s"], bf["cpu_s"]),
                "work": mf["flops"]["executed"] / bf["flops"]["executed"],
            }
    rep["ratios"] = ratios
    return rep


# ---------------------------------------------------------------------------- report
def markdown(rep: dict) -> str:
    s = rep["settings"]
    peak = rep["matmul_peak_gflops"]
    models, ratios = rep["models"], rep["ratios"]
    opts = s["model_options"]
    steps_per_epoch = MNIST_TRAIN // s["batch_size"]
    mib = 2.0**20

    def met(flag: bool) -> str:
        return "met" if flag else "NOT met"

    lines = [
        "# QiDBM vs DBM: training time, peak memory, Gibbs-sampler throughput (issue 10)",
        "",
        f"Command: `{rep['command']}`  ",
        f"Date {rep['date']}; torch {rep['torch']}, Python {rep['python']}; device "
        f"`{rep['device']}` ({rep['device_name']}, {rep['cpu_count']} CPUs); torch threads "
        f"{rep['threads']} (OMP_NUM_THREADS {rep['omp_num_threads_env'] or 'unset'}); load "
        f"average {rep['loadavg_start'][0]:.2f} at the start, {rep['loadavg_end'][0]:.2f} at "
        f"the end.",
    ]
    if "memory_rerun" in rep:
        mr = rep["memory_rerun"]
        lines += [
            "",
            f"**Peak memory re-measured** on {mr['date']} by `{mr['command']}` (memory only: the "
            f"peak MiB and memory-ratio columns; every time and FLOP figure is from the run "
            f"above).",
        ]
    if "rendered" in rep:
        lines += [
            "",
            f"Rendered again on {rep['rendered']['date']} by `{rep['rendered']['command']}`: "
            f"the derived figures are recomputed from the raw measurements above; nothing was "
            f"measured again.",
        ]
    lines += [
        "",
        f"{s['n_visible']} visible x hidden {s['hidden']}, batch {s['batch_size']}, scheme "
        f"`{opts['scheme']}` (cd_k {opts['cd_k']}, sampler `{opts['sampler']}`), float32, "
        f"sparse visible products, the DBM baseline's settings (configs/dbm_mnist.toml), seed "
        f"{opts['seed']}. Data: {s['data']}.",
    ]
    if rep["quick"]:
        lines += ["", "**Quick (smoke) run: small sizes, not the issue's measurement.**"]
    if rep.get("compile"):
        lines += [
            "",
            "**Compiled mode** (`--compile`): rows `... compiled` are built with "
            "`compile=True` (torch.compile fuses the elementwise pieces of each sweep: the "
            "exact chain's MH move, the kept rows, the draws' compare; matmuls and random draws "
            "eager). **Every ratio of `QiDBM h1 compiled` and `QiDBM h2 compiled` is against "
            "`DBM compiled`** (both compiled the same way), that of `DBM compiled` against the "
            "eager `DBM`; the eager rows are against the eager `DBM`, as before. The compiled "
            "models' first step (which compiles) is not timed: see 'Compile time' below.",
        ]
    lines += [
        "",
        f"Target (issue 10): QiDBM / DBM <= {rep['target']:.2f} in epoch time and in peak memory.",
        "",
        "## Training time and peak memory",
        "",
        f"{s['steps']} steps per run on a fresh model, {s['repeats']} interleaved repeats "
        f"(order rotated). Epoch = {steps_per_epoch} x the median step time (extrapolated "
        f"from the timed steps, which start at the initialisation). Time ratio: of the median "
        f"times, [range of the per-repeat ratios]; best: of the minimum times (contention only "
        f"adds time, so on a shared machine the minimum is the steadier estimate). Memory: "
        f"{s['mem_steps']} steps in a separate process per model, peak above the pre-model "
        f"baseline.",
        "",
        "| model | s/step median [min, max] | epoch s (extrap.) | time ratio vs DBM, median "
        "[per-repeat range] | target | time ratio, best | target | CPU-time ratio, median "
        "(best) | peak MiB | memory ratio | target |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, m in models.items():
        t, mem = m["train"], m["memory"]
        st = [w / s["steps"] for w in t["wall_s"]]
        row = (
            f"| {name} | {t['median_step_s']:.3f} [{min(st):.3f}, {max(st):.3f}] | "
            f"{t['epoch_s_extrapolated']:.1f} | "
        )
        if name in ratios:
            et, pm = ratios[name]["epoch_time"], ratios[name]["peak_memory"]
            cpu = et.get("cpu")
            cpu = "-" if cpu is None else f"{cpu['value']:.3f} ({cpu['best']:.3f})"
            row += (
                f"{et['value']:.3f} [{et['min']:.3f}, {et['max']:.3f}] | {met(et['met'])} | "
                f"{et['best']:.3f} | {met(et['met_best'])} | {cpu} | "
                f"{mem['peak_delta_bytes'] / mib:.1f} | {pm['value']:.3f} | {met(pm['met'])} |"
            )
        else:
            row += (
                f"1 (base) | - | 1 (base) | - | 1 (base) | {mem['peak_delta_bytes'] / mib:.1f} "
                f"| 1 | - |"
            )
        lines.append(row)
    lines += [
        "",
        "The models do not do the same work per step: the local-mode search of the unbiased "
        "scheme sweeps until nothing changes, and how many sweeps that takes depends on the "
        "model (GFLOP/step and local-mode sweeps below). A time ratio is the work ratio times "
        "the inverse ratio of the rates (GFLOP/s). Work ratio (counted FLOPs) vs DBM: "
        + ", ".join(f"{n} {r['work']:.3f}" for n, r in ratios.items())
        + ".",
    ]
    if all("train_fixed_work" in m for m in models.values()):
        scheme = next(iter(models.values()))["train_fixed_work"]["scheme"]
        lines += [
            "",
            f"### Fixed work: scheme `{scheme}`",
            "",
            f"The same timing (same runs, interleaved with the rows above) with scheme "
            f"`{scheme}` (cd_k {opts['cd_k']}, sampler `{opts['sampler']}`): a fixed number of "
            f"mean-field iterations and Gibbs sweeps per step, no data-dependent loop: the "
            f"matmul work differs only where an MH move recomputes a quantum layer's field "
            f"(work ratio: counted FLOPs), so the time ratio is the cost of the quantum layer "
            f"at (nearly) equal work. CPU-time ratio: of the median process CPU times (steadier "
            f"when the cores are shared).",
            "",
            "| model | s/step median [min, max] | time ratio vs DBM, median [per-repeat range] "
            "| target | time ratio, best | target | CPU-time ratio, median (best) | work ratio |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for name, m in models.items():
            tf = m["train_fixed_work"]
            st = [w / s["steps"] for w in tf["wall_s"]]
            row = f"| {name} | {tf['median_step_s']:.3f} [{min(st):.3f}, {max(st):.3f}] | "
            if name in ratios and "fixed_work_time" in ratios[name]:
                fw = ratios[name]["fixed_work_time"]
                row += (
                    f"{fw['value']:.3f} [{fw['min']:.3f}, {fw['max']:.3f}] | {met(fw['met'])} | "
                    f"{fw['best']:.3f} | {met(fw['met_best'])} | {fw['cpu']['value']:.3f} "
                    f"({fw['cpu']['best']:.3f}) | {fw['work']:.3f} |"
                )
            else:
                row += "1 (base) | - | 1 (base) | - | 1 (base) | 1 |"
            lines.append(row)
    if rep["device"] == "cpu" and all("contended" in m["train"] for m in models.values()):
        flagged = []
        for name, m in models.items():
            parts = [(m["train"], "training"), (m["sampler"], "sampler")]
            if "train_fixed_work" in m:
                parts.append((m["train_fixed_work"], "fixed-work training"))
            for part, label in parts:
                for k, (c, hit) in enumerate(
                    zip(part.get("cores_used", []), part.get("contended", []), strict=True)
                ):
                    if hit:
                        flagged.append(f"{name} {label} repeat {k + 1} ({c:.2f})")
        lines += [
            "",
            f"Contention check: cores used = process CPU time / wall time; with "
            f"{rep['threads']} threads a run below {CONTENDED * rep['threads']:.1f} shared its "
            f"cores with another process. Flagged: "
            + ("; ".join(flagged) if flagged else "none")
            + ".",
        ]
    lines += [
        "",
        "## Gibbs sampler and FLOPs",
        "",
        f"Sampler: `model.sample({s['sample_chains']}, sampler='{opts['sampler']}', "
        f"steps={s['sample_steps']})` from the initialisation; chain-sweeps/s = chains x "
        f"sweeps / s, median (best) over the repeats. Matmul peak: {s['peak_matmul']}, best of "
        f"the runs before and after the timed loop: **{peak:.1f} GFLOP/s**. FLOPs counted with "
        f"`FlopCounterMode` on a run of exactly the timed work (matmuls, 2 per multiply-add; "
        f"sparse gather-sums one add per element; elementwise work not counted); "
        f"dense-equivalent counts the gather-sums as the dense matmuls they replace. GFLOP/s "
        f"at the median (best) time; % of the matmul peak at the median.",
        "",
        "| model | chain-sweeps/s | sampler time ratio vs DBM, median (best) | sampler GFLOP/s "
        "(% peak) | train GFLOP/step | train GFLOP/s (% peak) | dense-equiv. GFLOP/s | "
        "local-mode sweeps | MH accept |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, m in models.items():
        t, sm = m["train"], m["sampler"]
        rec = t["flops"]["record"]
        if name in ratios:
            sr = ratios[name]["sampler_time"]
            ratio = f"{sr['value']:.3f} ({sr['best']:.3f})"
        else:
            ratio = "1 (base)"
        sweeps, acc = rec.get("mode_sweeps"), rec.get("accept_rate")
        lines.append(
            f"| {name} | {sm['median_chain_sweeps_per_s']:.0f} "
            f"({sm['best_chain_sweeps_per_s']:.0f}) | {ratio} | "
            f"{sm['gflops_executed']:.1f} ({sm['gflops_executed_best']:.1f}) "
            f"({sm['gflops_executed'] / peak:.0%}) | "
            f"{t['flops']['executed'] / s['steps'] / 1e9:.2f} | "
            f"{t['gflops_executed']:.1f} ({t['gflops_executed_best']:.1f}) "
            f"({t['gflops_executed'] / peak:.0%}) | "
            f"{t['gflops_dense_equivalent']:.1f} ({t['gflops_dense_equivalent_best']:.1f}) | "
            f"{'-' if sweeps is None else f'{sweeps:.1f}'} | "
            f"{'-' if acc is None else f'{acc:.3f}'} |"
        )
    same = all(m["train"]["same_work_every_repeat"] for m in models.values())
    lines += [
        "",
        "Local-mode sweeps: mean per unbiased estimate over the timed steps; MH accept: the "
        "exact sampler's acceptance rate in training (no MH test at Gamma = 0).",
        f"Every repeat did the same seeded work as the counted run (steps, local-mode sweeps, "
        f"couplings): {'yes' if same else 'NO (the FLOP counts are approximate)'}.",
        "",
        "Raw timings (wall and process CPU seconds per run, sampler seconds) are in "
        "`report.json`. The models are interleaved so that machine noise hits all alike; the "
        "per-repeat ratio range shows its size.",
    ]
    if rep.get("first_step"):
        lines += [
            "",
            "## Compile time (the untimed first step of each compiled model, inductor cache "
            + ("cold" if rep.get("cold_cache") else "as found")
            + ")",
            "",
            "Inductor compiles in worker processes: the wall time holds the compile, the "
            "process CPU time mostly not.",
            "",
            "| model | first step s (CPU s) | minus the median step: s (CPU s) |",
            "|---|---|---|",
        ]
        for name, w in rep["first_step"].items():
            t = models[name]["train"]
            cpu_step = statistics.median(t["cpu_s"]) / s["steps"]
            lines.append(
                f"| {name} | {w['wall_s']:.2f} ({w['cpu_s']:.2f}) | "
                f"{w['wall_s'] - t['median_step_s']:.2f} ({w['cpu_s'] - cpu_step:.2f}) |"
            )
    return "\n".join(lines)


def memory_only(args) -> None:
    """Measure the peak memory again and replace it in ``--out/report.json``; the timings and
    FLOP counts there are kept (and the report says so)."""
    torch.set_num_threads(args.threads)
    out = args.out
    stem = STEM_COMPILE if args.compile else STEM
    rep = json.loads((out / f"{stem}.json").read_text())
    s = rep["settings"]
    mine = {"hidden": args.hidden, "batch_size": args.batch_size, "mem_steps": args.mem_steps}
    mine["model_options"] = model_options(args)
    theirs = {k: s[k] for k in ("hidden", "batch_size", "mem_steps", "model_options")}
    if mine != theirs:
        raise SystemExit(f"--memory-only: settings {mine} differ from the report's {theirs}")
    load0 = os.getloadavg()
    data, _ = load_data(args)
    with tempfile.TemporaryDirectory() as tmp:
        data_file = Path(tmp) / "data.pt"
        torch.save(data[: args.mem_steps * args.batch_size].clone(), data_file)
        for name in rep["models"]:
            mem = measure_memory(name, args, mine["model_options"], data_file)
            rep["models"][name]["memory"] = mem
            print(f"memory {name}: {mem['peak_delta_bytes'] / 2**20:.1f} MiB", flush=True)
    rep["memory_rerun"] = {
        "command": shlex.join([sys.executable, *sys.argv]),
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "loadavg": [load0[0], os.getloadavg()[0]],
    }
    write(derive(rep), out, stem)


def render_only(out: Path, stem: str = STEM) -> None:
    """Recompute the derived figures of ``out/<stem>.json`` and rewrite both reports."""
    rep = json.loads((out / f"{stem}.json").read_text())
    rep["rendered"] = {
        "command": shlex.join([sys.executable, *sys.argv]),
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
    }
    write(derive(rep), out, stem)


def main(argv=None) -> None:
    args = parse_args(argv)
    # A fresh inductor cache for a --compile run, so that the compile time it reports is a cold
    # compile's; set first (importing the data loaders sets torch's default folder).
    args.cold_cache = False
    if args.compile and args.memory_child is None and not args.render_only:
        if "TORCHINDUCTOR_CACHE_DIR" not in os.environ:
            os.environ["TORCHINDUCTOR_CACHE_DIR"] = tempfile.mkdtemp(prefix="qdoem_inductor_")
            args.cold_cache = True
    if args.memory_child is not None:
        print(json.dumps(memory_child(json.loads(args.memory_child))))
    elif args.memory_only:
        memory_only(args)
    elif args.render_only:
        render_only(args.out, STEM_COMPILE if args.compile else STEM)
    else:
        run(args)


if __name__ == "__main__":
    main()
