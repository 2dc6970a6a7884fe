"""QGRBM against a GRBM of the same width: training time per step/epoch and peak memory.

Issue 11's benchmark: epoch time and peak memory of the QGRBM against the GRBM of equal width on
Fashion-MNIST, in one run. Target: QGRBM / GRBM at most 1.10 in both. Models are built from
``configs/{grbm,qgrbm}_fashion_mnist_reduced.toml`` (Liao et al.'s settings: chains from noise,
cd_k 100, batch 512, lr 0.01 cosine, clip_norm 10, no momentum; 784 visible x 1024 hidden),
with only ``n_hidden``/``batch_size``/``cd_k``/``sampler``/``seed`` overridable. Rows: ``GRBM``,
``QGRBM`` (``sampler="exact"``, MH-within-Gibbs at Gamma = 0.5), ``QGRBM twin-mh`` (the other
exact chain: the GRBM twin's block move, MH-corrected; the target applies to both) and
``QGRBM plain`` (the uncorrected chain, biased at Gamma != 0: a reference for the cost of
exactness). Structure as ``bench/dbm_speed.py``:

- **Time.** ``Trainer.train_epoch`` on the first ``steps x batch`` images, a fresh model each
  run (construction untimed), after one untimed warm-up step per model; models interleaved in
  an order rotated each repeat. Wall and process CPU seconds per run; per step: median [min,
  max]; epoch = step x 60000 / batch (extrapolated). Ratios vs GRBM: of the median wall times
  [per-repeat range], of the minima (contention only adds time), and of the median CPU times
  (steadier when the cores are time-shared). A run using under 0.9 x threads cores (CPU / wall)
  shared its cores with another process; the report says which.
- **Peak memory.** One subprocess per model (run side by side after the timing; RSS is per
  process) trains ``--mem-steps`` steps: ``VmHWM`` (reset via ``/proc/self/clear_refs``) minus
  ``VmRSS`` just before the model is built, after the imports, the data and one step of the
  same model (a warm-up, freed before the baseline; it compiles with ``compile=True``); glibc's
  mmap threshold fixed so freed tensors leave the RSS.
- **Profile.** ``torch.profiler`` on one more step of each model: self CPU time in matmuls,
  random draws and the rest (elementwise: closed forms, MH weight, ...), and the top ops.
- **Per sweep.** Process CPU time of 20 Gibbs sweeps of each model's training chain, split
  into its pieces (matmuls, draws, the exact chain's terms, MH weight and bookkeeping).
- **``--compile``.** Adds ``GRBM compiled`` and ``QGRBM compiled`` (``compile=True``: the
  fused kernels of :mod:`qdoem.sampling.fused`) to the same interleaved rounds, and drops
  ``QGRBM plain``; ``QGRBM compiled`` is compared with ``GRBM compiled`` (both compiled the same
  way) and the compiled GRBM with the eager one. The warm-up step, which compiles the kernels,
  is untimed; its time is reported separately (first step minus the median step), with
  inductor's cache in a fresh folder so that it is a cold compile. Written to
  ``report_compile.{md,json}`` beside the eager report.

Usage::

    python bench/grbm_speed.py --threads 1              # the issue's measurement (~10 min)
    python bench/grbm_speed.py --quick --out /tmp/q     # smoke: 64 hidden, cd_k 5, seconds
    python bench/grbm_speed.py --render-only            # re-derive results/grbm_speed/report.*
    python bench/grbm_speed.py --threads 1 --memory-only  # peak memory only, into that report
    python bench/grbm_speed.py --threads 1 --compile    # eager and compiled, report_compile.md
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

TARGET = 1.10  # issue 11: QGRBM / GRBM at most this, in epoch time and in peak memory
N_TRAIN = 60000  # Fashion-MNIST training images: one epoch
#: Row name -> (config model, sampler). The target applies to the exact chains ("QGRBM" and
#: "QGRBM twin-mh"); "QGRBM plain" is a reference.
MODELS = {
    "GRBM": ("grbm", "exact"),
    "QGRBM": ("qgrbm", "exact"),
    "QGRBM twin-mh": ("qgrbm", "twin-mh"),
    "QGRBM plain": ("qgrbm", "plain"),
}
#: With --compile: row name -> (config model, sampler, compile).
COMPILE_MODELS = {
    "GRBM": ("grbm", "exact", False),
    "QGRBM": ("qgrbm", "exact", False),
    "GRBM compiled": ("grbm", "exact", True),
    "QGRBM compiled": ("qgrbm", "exact", True),
}
BASE, CONTENDED = "GRBM", 0.9
#: The row each row is compared with (BASE where not named): compiled with compiled.
BASES = {"QGRBM compiled": "GRBM compiled"}
MATMUL = {"aten::addmm", "aten::mm", "aten::bmm", "aten::addmv", "aten::mv"}
CONFIGS = Path(__file__).resolve().parents[1] / "configs"
SIZES = ("hidden", "batch_size", "cd_k", "steps", "repeats", "mem_steps")
FULL, QUICK = (1024, 512, 100, 2, 8, 2), (64, 64, 5, 2, 2, 1)  # SIZES, without / with --quick
RNG = {"aten::uniform_", "aten::normal_", "aten::bernoulli_", "aten::exponential_"}


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data-root", default="../shared/data")
    for key, full, quick in zip(SIZES, FULL, QUICK, strict=True):
        help_ = f"default {full} ({quick} with --quick)"
        p.add_argument(f"--{key.replace('_', '-')}", type=int, default=None, help=help_)
    p.add_argument("--threads", type=int, default=1, help="torch threads (2 oversubscribe here)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, default=None)
    p.add_argument("--quick", action="store_true", help="smoke run: 64 hidden, batch 64, cd_k 5")
    p.add_argument("--render-only", action="store_true", help="re-derive --out/report.json")
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
    for key, value in zip(SIZES, QUICK if args.quick else FULL, strict=True):
        setattr(args, key, value if getattr(args, key) is None else getattr(args, key))
        if getattr(args, key) < 1:
            p.error(f"--{key.replace('_', '-')} must be >= 1")
    if args.out is None:
        args.out = Path("runs/grbm_speed_quick" if args.quick else "results/grbm_speed")
    return args


def configs(args) -> dict[str, dict]:
    """Row name -> resolved run config (the reduced-scale TOML files plus the overrides)."""
    from qdoem.experiment import resolve_config

    over = dict(n_hidden=args.hidden, batch_size=args.batch_size, cd_k=args.cd_k, seed=args.seed)
    rows = (
        COMPILE_MODELS
        if getattr(args, "compile", False)
        else {name: (*spec, False) for name, spec in MODELS.items()}
    )
    return {
        name: resolve_config(
            CONFIGS / f"{model}_fashion_mnist_reduced.toml",
            {**over, "sampler": sampler, **({"compile": True} if compiled else {})},
        )
        for name, (model, sampler, compiled) in rows.items()
    }


def build(cfg: dict, n_visible: int):
    from qdoem.experiment import build_run_model
    from qdoem.training import TrainConfig, Trainer

    model = build_run_model(cfg, n_visible)
    return model, Trainer(model, TrainConfig.from_dict({**cfg, "track_nll": 0}))


def load_data(args) -> tuple[torch.Tensor, str]:
    from qdoem.data import load_dataset

    n = max(args.steps, args.mem_steps) * args.batch_size
    try:
        ds = load_dataset("fashion_mnist", root=args.data_root, standardize="channel", limit=n)
        return ds.data, f"Fashion-MNIST, first {n} training images, standardised per channel"
    except FileNotFoundError as err:
        if not args.quick:
            raise SystemExit(f"Fashion-MNIST not found under {args.data_root!r}: {err}") from err
        data = torch.randn(n, 784, generator=torch.Generator().manual_seed(args.seed))
        return data, f"RANDOM N(0, 1) data, {n} x 784 (no Fashion-MNIST found): NOT Fashion-MNIST"


def timed(cfg: dict, data: torch.Tensor) -> dict:
    model, trainer = build(cfg, data.shape[1])
    cpu0, t0 = time.process_time(), time.perf_counter()
    record = trainer.train_epoch(data)
    return {"wall_s": time.perf_counter() - t0, "cpu_s": time.process_time() - cpu0, **record}


def _kib(field: str) -> int:
    with open("/proc/self/status") as fh:
        return next(int(line.split()[1]) for line in fh if line.startswith(field + ":"))


def memory_child(spec: dict) -> dict:
    """Peak resident memory of ``spec["steps"]`` training steps (in its own process)."""
    import gc

    torch.set_num_threads(spec["threads"])
    data = torch.load(spec["data"], weights_only=True)
    cfg = spec["config"]
    # One-time set-up before the baseline: one step of the same model on the first batch (with
    # compile=True it compiles every kernel at the measured sizes: a kernel traced at other
    # sizes can be guarded on them and compile again inside the measured steps).
    build(cfg, data.shape[1])[1].train_epoch(data[: cfg["batch_size"]])
    gc.collect()
    with open("/proc/self/clear_refs", "w") as fh:
        fh.write("5")  # reset VmHWM (Linux >= 4.0)
    base = _kib("VmRSS") * 1024
    model, trainer = build(cfg, data.shape[1])
    trainer.train_epoch(data[: spec["steps"] * cfg["batch_size"]])
    peak = _kib("VmHWM") * 1024
    params = sum(t.numel() * t.element_size() for t in model.parameters().values())
    return {
        "baseline_bytes": base,
        "peak_bytes": peak,
        "peak_delta_bytes": peak - base,
        "parameter_bytes": params,
    }


def measure_memory(cfgs: dict, args, data: torch.Tensor) -> dict:
    env = {**os.environ, "MALLOC_MMAP_THRESHOLD_": "65536"}  # freed big blocks leave the RSS
    with tempfile.TemporaryDirectory() as tmp:
        torch.save(data[: args.mem_steps * args.batch_size].clone(), Path(tmp) / "data.pt")
        spec = {"steps": args.mem_steps, "threads": args.threads, "data": f"{tmp}/data.pt"}
        procs = {}  # side by side: each peak is its own process's
        for name, cfg in cfgs.items():
            child = json.dumps({**spec, "config": cfg})
            cmd = [sys.executable, str(Path(__file__).resolve()), "--memory-child", child]
            procs[name] = subprocess.Popen(cmd, stdout=-1, stderr=-1, text=True, env=env)
        out = {}
        for name, proc in procs.items():
            stdout, stderr = proc.communicate()
            if proc.returncode != 0:
                raise RuntimeError(f"memory run of {name} failed:\n{stderr}")
            out[name] = json.loads(stdout.strip().splitlines()[-1])
    return out


def profile_step(cfg: dict, data: torch.Tensor) -> dict:
    """Self CPU milliseconds of one training step by category, and the top ops."""
    from torch.profiler import ProfilerActivity, profile

    model, trainer = build(cfg, data.shape[1])
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        trainer.train_epoch(data[: cfg["batch_size"]])
    ops = {e.key: (e.self_cpu_time_total / 1e3, e.count) for e in prof.key_averages()}
    cats = {"matmul": 0.0, "rng": 0.0, "other": 0.0}
    for key, (ms, _) in ops.items():
        cats["matmul" if key in MATMUL else "rng" if key in RNG else "other"] += ms
    top = sorted(ops.items(), key=lambda kv: -kv[1][0])[:10]
    calls = sum(c for k, (_, c) in ops.items() if k in MATMUL)
    top = [{"op": k, "ms": ms, "calls": c} for k, (ms, c) in top]
    return {"ms": cats, "total_ms": sum(cats.values()), "matmul_calls": calls, "top": top}


def sweep_breakdown(cfg: dict, n_sweeps: int = 20) -> dict:
    """Process CPU milliseconds per Gibbs sweep, by piece: ``n_sweeps`` sweeps of the training
    chain (batch rows from noise) at the initial parameters, each piece timed by wrapping it.

    Pieces: ``fields`` (``model.field``: the two matmuls), ``hidden draw`` and ``visible draw``
    (the layers' ``statistics`` + ``sample``), ``chain terms`` and ``MH weight``
    (``qubit.chain_terms`` and ``qubit.log_diagonal_ratio``), ``keep`` and ``accept`` (the
    exact kernel's bookkeeping), ``twin weight`` (``kernels._twin_weight``: the ``twin-mh``
    chain's MH weight); ``other`` is the rest of the sweep's time.
    """
    import qdoem.layers.qubit as qubit
    import qdoem.sampling.kernels as kernels
    from qdoem.estimators import ClosedFormEstimator

    model = build(cfg, 784)[0]
    ms: dict[str, float] = {}

    def timed_call(fn, piece):
        def call(*a, **k):
            t = time.process_time()
            try:
                return fn(*a, **k)
            finally:
                ms[piece] = ms.get(piece, 0.0) + (time.process_time() - t) * 1e3

        return call

    if cfg.get("compile"):
        import qdoem.sampling.fused as fused

        # The compiled sweep's pieces: one fused call for the chain terms and the MH weight
        # ("fused move"), the kept rows ("keep"), chain terms where none are kept. (The eager
        # functions are not wrapped here: the compiled code traces them.)
        patches = [(fused, "move_terms", "fused move"), (fused, "keep_rows", "keep")]
        patches += [(fused, "chain_terms", "chain terms")]
    else:
        patches = [(qubit, "chain_terms", "chain terms")]
        patches += [(qubit, "log_diagonal_ratio", "MH weight")]
        patches += [(kernels, "_keep", "keep"), (kernels, "_accept", "accept")]
        patches += [(kernels, "_twin_weight", "twin weight")]
    saved = [(mod, name, getattr(mod, name)) for mod, name, _ in patches]
    try:
        for mod, name, piece in patches:
            setattr(mod, name, timed_call(getattr(mod, name), piece))
        model.field = timed_call(model.field, "fields")
        for k, layer in enumerate(model.layers):
            piece = "visible draw" if k == 0 else "hidden draw"
            for method in ("statistics", "sample"):
                setattr(layer, method, timed_call(getattr(layer, method), piece))
        gen = torch.Generator().manual_seed(cfg["seed"])
        state = model.chain_state(torch.randn(cfg["batch_size"], 784, generator=gen), gen)
        estimator = ClosedFormEstimator()
        for _ in range(3):
            kernels.sweep(model, state, cfg["sampler"], estimator, gen)
        ms.clear()
        t = time.process_time()
        for _ in range(n_sweeps):
            kernels.sweep(model, state, cfg["sampler"], estimator, gen)
        total = (time.process_time() - t) * 1e3
    finally:
        for mod, name, fn in saved:
            setattr(mod, name, fn)
    out = {piece: v / n_sweeps for piece, v in ms.items()}
    out["other"] = total / n_sweeps - sum(out.values())
    out["total"] = total / n_sweeps
    return out


def run(args) -> None:
    torch.set_num_threads(args.threads)
    cold = args.cold_cache
    cfgs, load0 = configs(args), os.getloadavg()
    data, what = load_data(args)
    train = data[: args.steps * args.batch_size]
    print(
        f"{what}; hidden {args.hidden}, batch {args.batch_size}, cd_k {args.cd_k}, {args.steps}"
        f" steps x {args.repeats} repeats, {torch.get_num_threads()} threads",
        flush=True,
    )
    warmup = {}
    for name, cfg in cfgs.items():  # warm-up, untimed: one step (it compiles, with compile=True)
        w = timed(cfg, train[: args.batch_size])
        warmup[name] = {"wall_s": w["wall_s"], "cpu_s": w["cpu_s"]}
        print(f"warm-up {name}: {w['wall_s']:.2f} s (cpu {w['cpu_s']:.2f})", flush=True)
    runs: dict[str, list] = {name: [] for name in cfgs}
    names = list(cfgs)
    for r in range(args.repeats):
        for name in names[r % len(names) :] + names[: r % len(names)]:
            runs[name].append(timed(cfgs[name], train))
            w, c = runs[name][-1]["wall_s"], runs[name][-1]["cpu_s"]
            print(f"repeat {r + 1} {name:12s} {w:8.2f} s (cpu {c:.2f})", flush=True)
    prof = {name: profile_step(cfg, train) for name, cfg in cfgs.items()}
    breakdown = {name: sweep_breakdown(cfg) for name, cfg in cfgs.items()}
    memory = measure_memory(cfgs, args, data)
    rep = {
        "issue": 11,
        "target": TARGET,
        "command": shlex.join([sys.executable, *sys.argv]),
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "threads": torch.get_num_threads(),
        "loadavg_start": load0,
        "loadavg_end": os.getloadavg(),
        "quick": args.quick,
        "compile": args.compile,
        "cold_cache": cold,
        "warmup": warmup,
        "data": what,
        "settings": {
            k: getattr(args, k)
            for k in ("hidden", "batch_size", "cd_k", "steps", "repeats", "mem_steps", "seed")
        },
        "models": {
            n: {"runs": runs[n], "memory": memory[n], "profile": prof[n], "sweep_ms": breakdown[n]}
            for n in cfgs
        },
    }
    write(derive(rep), args.out, STEM_COMPILE if args.compile else STEM)


def memory_only(args) -> None:
    """Measure the peak memory again and replace it in ``--out/report.json``; the timings,
    profiles and per-sweep figures there are kept (and the report says so)."""
    torch.set_num_threads(args.threads)
    stem = STEM_COMPILE if args.compile else STEM
    rep = json.loads((args.out / f"{stem}.json").read_text())
    keys = ("hidden", "batch_size", "cd_k", "mem_steps", "seed")
    mine = {k: getattr(args, k) for k in keys}
    theirs = {k: rep["settings"][k] for k in keys}
    if mine != theirs:
        raise SystemExit(f"--memory-only: settings {mine} differ from the report's {theirs}")
    load0 = os.getloadavg()
    data, _ = load_data(args)
    memory = measure_memory(configs(args), args, data)
    for name, m in rep["models"].items():
        m["memory"] = memory[name]
    rep["memory_rerun"] = {
        "command": shlex.join([sys.executable, *sys.argv]),
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "loadavg": [load0[0], os.getloadavg()[0]],
    }
    write(derive(rep), args.out, stem)


def ratio(num: list[float], den: list[float]) -> dict:
    """Of the medians, of the minima ("best"), and the range of the per-repeat ratios."""
    per = [a / b for a, b in zip(num, den, strict=True)]
    med = statistics.median(num) / statistics.median(den)
    return {"median": med, "best": min(num) / min(den), "min": min(per), "max": max(per)}


def derive(rep: dict) -> dict:
    s = rep["settings"]
    for m in rep["models"].values():
        wall, cpu = [x["wall_s"] for x in m["runs"]], [x["cpu_s"] for x in m["runs"]]
        step = [w / s["steps"] for w in wall]
        cores = [c / w for c, w in zip(cpu, wall, strict=True)]
        m.update(wall_s=wall, cpu_s=cpu, step_s=step, cores_used=cores)
        m["median_step_s"] = statistics.median(step)
        m["median_cpu_step_s"] = statistics.median(cpu) / s["steps"]
        m["epoch_s"] = m["median_step_s"] * N_TRAIN / s["batch_size"]
        m["contended"] = [c < CONTENDED * rep["threads"] for c in cores]
    rep["ratios"] = {}
    for name, m in rep["models"].items():
        if "warmup" in rep and rep["models"][name]["runs"]:
            w = rep["warmup"][name]
            m["first_step_extra_s"] = w["wall_s"] - m["median_step_s"]
            m["first_step_extra_cpu_s"] = w["cpu_s"] - m["median_cpu_step_s"]
        if name != BASE:
            base_name = BASES.get(name, BASE)
            base = rep["models"][base_name]
            mem = m["memory"]["peak_delta_bytes"] / base["memory"]["peak_delta_bytes"]
            proc = m["memory"]["peak_bytes"] / base["memory"]["peak_bytes"]
            t, c = ratio(m["wall_s"], base["wall_s"]), ratio(m["cpu_s"], base["cpu_s"])
            met = {"time_met": t["median"] <= TARGET, "memory_met": mem <= TARGET}
            rep["ratios"][name] = {
                "base": base_name,
                "time": t,
                "cpu_time": c,
                "memory": mem,
                "process_memory": proc,
                **met,
            }
    return rep


def markdown(rep: dict) -> str:
    s, models, ratios = rep["settings"], rep["models"], rep["ratios"]

    def met(flag: bool) -> str:
        return "met" if flag else "**NOT met**"

    lines = [
        "# QGRBM vs GRBM: training time and peak memory (issue 11)",
        "",
        f"Command: `{rep['command']}`  ",
        f"Date {rep['date']}; torch {rep['torch']}, Python {rep['python']}, {rep['platform']}; "
        f"{rep['cpu_count']} CPUs, torch threads {rep['threads']}; load average "
        f"{rep['loadavg_start'][0]:.2f} at the start, {rep['loadavg_end'][0]:.2f} at the end.",
        "",
        f"784 visible x {s['hidden']} hidden, batch {s['batch_size']}, cd_k {s['cd_k']}, settings "
        f"of `configs/{{grbm,qgrbm}}_fashion_mnist_reduced.toml` (chains from noise, Gamma_init "
        f"0.5), seed {s['seed']}. Data: {rep['data']}.",
    ]
    if "rendered" in rep:
        lines += ["", f"Re-rendered from report.json by `{rep['rendered']}` (nothing re-measured)."]
    if "memory_rerun" in rep:
        mr = rep["memory_rerun"]
        lines += [
            "",
            f"**Peak memory re-measured** on {mr['date']} by `{mr['command']}` (memory only: the "
            f"peak MiB and memory-ratio columns; every time figure below is from the run above).",
        ]
    if rep["quick"]:
        lines += ["", "**Quick (smoke) run: small sizes, not the issue's measurement.**"]
    if rep.get("compile"):
        lines += [
            "",
            "**Compiled mode** (`--compile`): rows `... compiled` are built with `compile=True` "
            "(torch.compile fuses the elementwise pieces of each sweep: the exact chain's MH "
            "move, the kept rows, the draws' compare/affine maps; matmuls and random draws "
            "eager). `QGRBM compiled` is compared with `GRBM compiled`, every other row with "
            "the eager `GRBM` (column `vs`). The compiled rows' warm-up step compiles the "
            "kernels and is not timed; see 'Compile time' below.",
        ]
    lines += [
        "",
        f"Target: QGRBM with an exact chain (`QGRBM`: sampler `exact`, MH-within-Gibbs; `QGRBM "
        f"twin-mh`: the GRBM twin's block move, MH-corrected) / GRBM <= {rep['target']:.2f} in "
        f"epoch time and in peak memory. `QGRBM plain` (uncorrected chain, biased at Gamma != "
        f"0) is a reference.",
        "",
        "## Results",
        "",
        f"{s['steps']} steps per run on a fresh model, {s['repeats']} interleaved repeats after "
        f"a warm-up. Epoch = median step x {N_TRAIN}/{s['batch_size']} (extrapolated). Ratios: "
        f"median wall [per-repeat range] / best (minima) / median CPU time. Memory: peak RSS "
        f"above the pre-model baseline, {s['mem_steps']} steps in a subprocess per model (the "
        f"target's figure); process peak: that process's whole RSS high-water mark (torch "
        f"runtime and {s['mem_steps']} batches of data included, not the full data set).",
        "",
        "| model | s/step median [min, max] | CPU s/step | epoch s | vs | time ratio median "
        "[range] | best | CPU ratio | target (time) | peak MiB | memory ratio | target (memory) "
        "| process peak MiB (ratio) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, m in models.items():
        row = (
            f"| {name} | {m['median_step_s']:.3f} [{min(m['step_s']):.3f}, "
            f"{max(m['step_s']):.3f}] | {m['median_cpu_step_s']:.3f} | {m['epoch_s']:.0f} | "
        )
        mib = m["memory"]["peak_delta_bytes"] / 2**20
        whole = f"{m['memory']['peak_bytes'] / 2**20:.0f}"
        if name in ratios:
            r = ratios[name]
            t, c = r["time"], r["cpu_time"]
            row += (
                f"{r.get('base', BASE)} | "
                f"{t['median']:.3f} [{t['min']:.3f}, {t['max']:.3f}] | {t['best']:.3f} | "
                f"{c['median']:.3f} | {met(r['time_met'])} | {mib:.1f} | {r['memory']:.3f} | "
                f"{met(r['memory_met'])} | {whole} ({r['process_memory']:.3f}) |"
            )
        else:
            row += f"- | 1 (base) | 1 | 1 | - | {mib:.1f} | 1 | - | {whole} (1) |"
        lines.append(row)
    flagged = [
        f"{n} repeat {k + 1} ({c:.2f})"
        for n, m in models.items()
        for k, (c, hit) in enumerate(zip(m["cores_used"], m["contended"], strict=True))
        if hit
    ]
    acc = {n: m["runs"][0].get("accept_rate") for n, m in models.items()}
    lines += [
        "",
        f"Contention check (cores used = CPU / wall; below {CONTENDED * rep['threads']:.1f} "
        f"with {rep['threads']} thread(s) = shared cores): "
        + ("; ".join(flagged) if flagged else "none")
        + ". MH acceptance in training: "
        + ", ".join(f"{n} {a:.3f}" for n, a in acc.items() if a is not None)
        + ".",
        "",
        "## Where the time goes (torch.profiler, one step, self CPU ms)",
        "",
        "| model | matmul (calls) | random draws | other (elementwise) | total | top ops (ms) |",
        "|---|---|---|---|---|---|",
    ]
    for name, m in models.items():
        p = m["profile"]
        top = ", ".join(f"{t['op'][6:]} {t['ms']:.0f}" for t in p["top"][:6])
        lines.append(
            f"| {name} | {p['ms']['matmul']:.0f} ({p['matmul_calls']}) | "
            f"{p['ms']['rng']:.0f} | {p['ms']['other']:.0f} | {p['total_ms']:.0f} | "
            f"{top} |"
        )
    if rep.get("compile") and "warmup" in rep:
        lines += [
            "",
            "## Compile time (the untimed warm-up step, one per model, inductor cache "
            + ("cold" if rep.get("cold_cache") else "as found")
            + ")",
            "",
            "| model | warm-up step s (CPU s) | minus the median step: s (CPU s) |",
            "|---|---|---|",
        ]
        for name, m in models.items():
            w = rep["warmup"][name]
            lines.append(
                f"| {name} | {w['wall_s']:.2f} ({w['cpu_s']:.2f}) | "
                f"{m['first_step_extra_s']:.2f} ({m['first_step_extra_cpu_s']:.2f}) |"
            )
    if all("sweep_ms" in m for m in models.values()):
        pieces = ["fields", "hidden draw", "visible draw", "chain terms", "MH weight"]
        pieces += ["twin weight", "keep"]
        pieces += ["accept", "other"]
        if rep.get("compile"):
            pieces.insert(pieces.index("keep"), "fused move")
        lines += [
            "",
            "## Per Gibbs sweep (process CPU ms; 20 sweeps of the training chain at the "
            "initial parameters, pieces timed by wrapping them)",
            "",
            "| model | total (ratio vs its `vs` row) | " + " | ".join(pieces) + " |",
            "|---|---|" + "---|" * len(pieces),
        ]
        for name, m in models.items():
            b = m["sweep_ms"]
            base = models[BASES.get(name, BASE)]["sweep_ms"]["total"]
            cells = " | ".join(f"{b[p]:.2f}" if p in b else "-" for p in pieces)
            lines.append(f"| {name} | {b['total']:.2f} ({b['total'] / base:.3f}) | {cells} |")
    lines += ["", "Raw timings, memory and profiles are in `report.json`."]
    return "\n".join(lines)


STEM, STEM_COMPILE = "report", "report_compile"


def write(rep: dict, out: Path, stem: str = STEM) -> None:
    from qdoem.io import atomic_write_text

    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / f"{stem}.json", json.dumps(rep, indent=2) + "\n")
    atomic_write_text(out / f"{stem}.md", markdown(rep) + "\n")
    print("\n" + markdown(rep) + f"\n\nwrote {out / stem}.md and {out / stem}.json")


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
        stem = STEM_COMPILE if args.compile else STEM
        rep = json.loads((args.out / f"{stem}.json").read_text())
        rep["rendered"] = shlex.join([sys.executable, *sys.argv])
        write(derive(rep), args.out, stem)
    else:
        run(args)


if __name__ == "__main__":
    main()
