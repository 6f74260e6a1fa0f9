"""The benchmark suite: tflite-cffi beside the official runtime (ai-edge-litert, XNNPACK), in one run.

    python tools/bench.py [--out build/bench] [--runs 30] [--threads 1,2] [--models a,b] [--official-wheel W]

`nox -s bench` runs it with the x86_64 wheel installed. For every zoo model of SUITE (float32 and int8) and
every thread count: median and p90 of `--runs` alternating invokes after a warm-up (tflite_cffi.benchmark),
on the model's reference input, and whether the outputs still match the official runtime's within the
zoo's tolerance. The MobileNets again at the highest thread count with every invoke PACE_S after the
previous one (a camera loop: the pools' threads asleep at each invoke), and each runtime alone in fresh
processes (ISOLATED_MODELS at every thread count: no second runtime's pool in the process). Then cold
start (import + load + allocate + first invoke, each in a fresh process; numpy is imported before the
clock starts, as both runtimes need it; timed again with numpy's BLAS pool at one thread, QUIET_BLAS) and
peak RSS of those processes, and the sizes of the release wheels and of the installed packages. Writes
bench.json, bench.md and bench.png into --out, and states the ratio ours/official for each row.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
MODELS = Path(os.environ.get("TFLITE_CFFI_MODELS") or ROOT.parent / "shared" / "models")

# The issue's models first, then the small ones.
SUITE = ["mobilenet_v1_100_224", "mobilenet_v2_100_224", "yolo_mnv1_025_224", "unet_small_128",
         "mobilenet_v1_025_128", "kws_conv1d", "mlp_64", "text_gru_unrolled", "text_lstm_fused"]
VARIANTS = ["float32", "int8"]
COLD_MODELS = ["mobilenet_v1_100_224_float32", "mobilenet_v1_100_224_int8", "mobilenet_v2_100_224_float32"]
# Paced rows: invokes PACE_S apart (a camera loop), so every invoke starts with the pools' threads asleep.
PACED_MODELS = ["mobilenet_v1_100_224_float32", "mobilenet_v1_100_224_int8", "mobilenet_v2_100_224_float32",
                "mobilenet_v2_100_224_int8"]
PACE_S = 0.01
# Isolated rows: the MobileNets again, each runtime alone in fresh processes (ISOLATED_PAIRS pairs,
# alternating ours / official, the rows taken in turn), the median over processes of each process's
# median. The main table measures both runtimes in one process, one process per row; on a shared host a
# slow spell lasts seconds and can take a whole row (seen at 2 threads: 1.98 or 2.16-2.30 ms per
# process for the same model), so these rows spread each row over several moments.
ISOLATED_MODELS = PACED_MODELS
ISOLATED_PAIRS = 7

# The cold start again with this environment: numpy's import starts OpenBLAS's worker threads (one on 2
# cores), which spin for about 100 ms before they sleep, so the clock (started just after `import numpy`)
# runs with one core taken. Both runtimes are timed that way (as users start them) and, as a second
# figure, with the pool at one thread: the part of the cold start that is the runtimes' own.
QUIET_BLAS = {"OPENBLAS_NUM_THREADS": "1"}

# Run in a fresh process: cold start and peak RSS of one runtime on one model.
COLD_SCRIPT = r"""
import json, resource, sys, time
import numpy as np
runtime, model = sys.argv[1], sys.argv[2]
t0 = time.perf_counter()
where = None
if runtime == "baseline":
    cold = None
else:
    if runtime == "ours":
        from tflite_cffi import Interpreter
        import tflite_cffi
        where = tflite_cffi.__file__
    else:
        from ai_edge_litert.interpreter import Interpreter
    it = Interpreter(model_path=model, num_threads=1)
    it.allocate_tensors()
    for d in it.get_input_details():
        it.set_tensor(d["index"], np.zeros(d["shape"], d["dtype"]))
    it.invoke()
    cold = (time.perf_counter() - t0) * 1e3
    for _ in range(5):
        it.invoke()
# VmHWM: this process's own peak (ru_maxrss would include the parent's, inherited across fork + exec)
hwm = [int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:")]
peak = hwm[0] if hwm else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"cold_ms": cold, "peak_rss_kb": peak, "where": where}))
"""


# Run in a fresh process: the median invoke time (ms) of one runtime alone, on the model's reference inputs.
ISOLATED_SCRIPT = r"""
import json, pathlib, statistics, sys, time
import numpy as np
runtime, model, threads, runs, warmup, refs = sys.argv[1:7]
if runtime == "ours":
    from tflite_cffi import Interpreter
    import tflite_cffi
    where = tflite_cffi.__file__
else:
    from ai_edge_litert.interpreter import Interpreter
    where = None
it = Interpreter(model_path=model, num_threads=int(threads))
it.allocate_tensors()
for k, d in enumerate(it.get_input_details()):
    ref = pathlib.Path(refs) / f"input_{k}.npy"
    it.set_tensor(d["index"], np.load(ref) if ref.is_file() else np.zeros(d["shape"], d["dtype"]))
for _ in range(int(warmup)):
    it.invoke()
times = []
for _ in range(int(runs)):
    t0 = time.perf_counter()
    it.invoke()
    times.append(time.perf_counter() - t0)
print(json.dumps({"median_ms": statistics.median(times) * 1e3, "where": where}))
"""


def _manifest() -> dict:
    return {m["file"][: -len(".tflite")]: m for m in json.loads((MODELS / "manifest.json").read_text())["models"]}


def _ref_inputs(stem: str) -> list:
    folder = MODELS / "refs" / stem
    return [np.load(p) for p in sorted(folder.glob("input_*.npy"), key=lambda p: int(p.stem.split("_")[1]))]


def _allowed(model: dict, official_outputs: list) -> list:
    """Per output: allowed |ours - official| (the zoo's tolerance: the official runtime's own kernels vs
    XNNPACK, in LSB for quantized outputs, 10x that or 1e-5 of the range for floats)."""
    out = []
    for dev, ref in zip(model["reference"]["dev_vs_builtin_no_xnnpack"], official_outputs):
        if "max_abs_lsb" in dev:
            out.append(float(dev["max_abs_lsb"]))
        elif "mismatches" in dev:
            out.append(0.0)
        else:
            rng = float(ref.max() - ref.min()) if ref.size else 0.0
            out.append(max(1e-5 * rng, 10.0 * float(dev.get("max_abs", 0.0))))
    return out


def _latency_rows(names: list, threads: list, runs: int, warmup: int, log, pause: float = 0.0) -> list:
    from tflite_cffi import benchmark

    manifest = _manifest()
    official = benchmark.official_interpreter_class()
    rows = []
    for stem in names:
        model = manifest.get(stem)
        if model is None:
            log(f"{stem}: not in the zoo, skipped")
            continue
        for t in threads:
            row = {"model": model["family"], "variant": model["variant"], "threads": t}
            try:
                r = benchmark.compare(str(MODELS / model["file"]), threads=t, runs=runs, warmup=warmup,
                                      inputs=_ref_inputs(stem), official=official, pause=pause)
            except Exception as e:  # noqa: BLE001 - an unsupported model is a row, not the end of the run
                row["error"] = f"{type(e).__name__}: {str(e).splitlines()[0][:160]}"
                log(f"{stem} x{t}: {row['error']}")
                rows.append(row)
                continue
            row.update(ours=r["ours"], official=r["official"], ratio_median=r["ratio_median"],
                       ratio_p90=r["ratio_p90"])
            if r["outputs_official"] is not None:
                allowed = _allowed(model, r["outputs_official"])
                devs = [benchmark.deviation([a], [b]) for a, b in zip(r["outputs_ours"], r["outputs_official"])]
                row["deviation"] = max(devs) if devs else 0.0
                row["match"] = all(d <= a for d, a in zip(devs, allowed))
            paced = f" paced {pause * 1e3:g} ms" if pause else ""
            log(f"{stem} x{t}{paced}: ours {r['ours']['median']:.3f} ms, official "
                f"{r['official']['median'] if r['official'] else float('nan'):.3f} ms, "
                f"ratio {row.get('ratio_median') or float('nan'):.2f}, match {row.get('match')}")
            rows.append(row)
    return rows


def _fresh(runtime: str, model: str, script: str = COLD_SCRIPT, extra: list = (), env: dict = None) -> dict:
    # Run outside the checkout: `python -c` puts the working directory first on sys.path, and the
    # repository's own tflite_cffi/ (a dev build, if any) would shadow the installed wheel.
    out = subprocess.run([sys.executable, "-c", script, runtime, model, *extra], capture_output=True,
                         text=True, timeout=300, cwd=str(MODELS), env={**os.environ, **(env or {})})
    if out.returncode != 0:
        raise RuntimeError(out.stderr.strip().splitlines()[-1] if out.stderr.strip() else f"exit {out.returncode}")
    got = json.loads(out.stdout.strip().splitlines()[-1])
    if got["where"] and Path(got["where"]).resolve().parent == ROOT / "tflite_cffi":
        raise RuntimeError(f"the fresh process imported tflite_cffi from the checkout ({got['where']}), "
                           "not the installed wheel")
    return got


def _isolated_rows(names: list, threads: list, runs: int, warmup: int, log) -> list:
    rows = [{"model": stem, "threads": t} for stem in names for t in threads]
    medians = [{"ours": [], "official": []} for _ in rows]
    # Round after round over every row, so that a slow spell of the host (seconds long) costs each row one
    # or two processes rather than all of one row's.
    for _ in range(ISOLATED_PAIRS):
        for row, got in zip(rows, medians):
            path, refs = str(MODELS / f"{row['model']}.tflite"), str(MODELS / "refs" / row["model"])
            for runtime in got:
                try:
                    got[runtime].append(_fresh(runtime, path, ISOLATED_SCRIPT,
                                               [str(row["threads"]), str(runs), str(warmup), refs])["median_ms"])
                except Exception as e:  # noqa: BLE001
                    row["error"] = f"{runtime}: {e}"
    for row, got in zip(rows, medians):
        for runtime, values in got.items():
            if values:
                row[runtime] = {"median_ms": statistics.median(values), "process_medians_ms": values}
        if "ours" in row and "official" in row:
            row["ratio"] = row["ours"]["median_ms"] / row["official"]["median_ms"]
        log(f"isolated {row['model']} x{row['threads']}: "
            f"{json.dumps({k: v for k, v in row.items() if k != 'model'})}")
    return rows


def _cold_rows(names: list, repeat: int, log) -> list:
    rows = []
    baseline = statistics.median(_fresh("baseline", "-")["peak_rss_kb"] for _ in range(3))
    for stem in names:
        path = str(MODELS / f"{stem}.tflite")
        samples = {"ours": [], "official": []}
        quiet = {"ours": [], "official": []}  # the cold start with numpy's BLAS pool at one thread
        error = None
        for _ in range(repeat):   # alternate the two runtimes
            for runtime in samples:
                try:
                    samples[runtime].append(_fresh(runtime, path))
                    quiet[runtime].append(_fresh(runtime, path, env=QUIET_BLAS)["cold_ms"])
                except Exception as e:  # noqa: BLE001
                    error = f"{runtime}: {e}"
        row = {"model": stem, "baseline_rss_kb": baseline}
        if error:
            row["error"] = error
        for runtime, got in samples.items():
            if got:  # quiet[runtime] has a value for every sample whose quiet run did not fail
                row[runtime] = {"cold_ms": statistics.median(s["cold_ms"] for s in got),
                                "peak_rss_kb": statistics.median(s["peak_rss_kb"] for s in got),
                                "cold_ms_quiet_blas": statistics.median(quiet[runtime]) if quiet[runtime] else None}
        if "ours" in row and "official" in row:
            row["ratio_cold"] = row["ours"]["cold_ms"] / row["official"]["cold_ms"]
            if row["ours"]["cold_ms_quiet_blas"] and row["official"]["cold_ms_quiet_blas"]:
                row["ratio_cold_quiet_blas"] = (row["ours"]["cold_ms_quiet_blas"]
                                                / row["official"]["cold_ms_quiet_blas"])
            row["ratio_rss"] = row["ours"]["peak_rss_kb"] / row["official"]["peak_rss_kb"]
            over = [row[r]["peak_rss_kb"] - baseline for r in ("ours", "official")]
            row["ratio_rss_over_baseline"] = over[0] / over[1] if over[1] > 0 else None
        log(f"cold {stem}: {json.dumps({k: v for k, v in row.items() if k != 'model'})}")
        rows.append(row)
    return rows


def _dir_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def _sizes(official_wheel: str) -> dict:
    import tflite_cffi

    sizes = {"wheels": {}, "installed": {}}
    for wheel in sorted((ROOT / "dist").glob("*/*.whl")):
        if "-sanitize-" in wheel.parent.name:  # a developer build (invoke cross --sanitize), not a release wheel
            continue
        sizes["wheels"][f"tflite-cffi {wheel.parent.name}"] = {"file": wheel.name, "bytes": wheel.stat().st_size}
    sizes["installed"]["tflite-cffi"] = _dir_bytes(Path(tflite_cffi.__file__).parent)
    try:
        import ai_edge_litert

        sizes["installed"]["ai-edge-litert"] = _dir_bytes(Path(ai_edge_litert.__file__).parent)
    except ImportError:
        pass
    if official_wheel and Path(official_wheel).is_file():
        with zipfile.ZipFile(official_wheel) as z:
            z.testzip()
        sizes["wheels"]["ai-edge-litert x86_64"] = {"file": Path(official_wheel).name,
                                                    "bytes": Path(official_wheel).stat().st_size}
    return sizes


def _machine() -> dict:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions = {}
    for name in ("tflite_cffi", "ai_edge_litert", "numpy"):
        try:
            mod = __import__(name)
            versions[name] = getattr(mod, "__version__", "?")
        except ImportError:
            versions[name] = None
    return {"cpu": cpu, "cores": os.cpu_count(), "machine": platform.machine(), "python": platform.python_version(),
            "loadavg_at_start": os.getloadavg(), "versions": versions,
            "date": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())}


def _fmt(x, spec=".2f") -> str:
    return "-" if x is None else format(x, spec)


def _latency_table(rows: list) -> list:
    lines = ["| model | variant | threads | ours median | ours p90 | official median | official p90 "
             "| ratio median | ratio p90 | outputs match |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        if "error" in r:
            lines.append(f"| {r['model']} | {r['variant']} | {r['threads']} | error: {r['error']} |||||||")
            continue
        o, t = r["ours"], r["official"] or {}
        lines.append(f"| {r['model']} | {r['variant']} | {r['threads']} | {o['median']:.3f} | {o['p90']:.3f} | "
                     f"{_fmt(t.get('median'), '.3f')} | {_fmt(t.get('p90'), '.3f')} | {_fmt(r['ratio_median'])} | "
                     f"{_fmt(r['ratio_p90'])} | {r.get('match', '-')} |")
    return lines


def write_markdown(result: dict, path: Path) -> None:
    m = result["machine"]
    lines = [f"# tflite-cffi vs ai-edge-litert ({m['date']})", "",
             f"{m['cpu']}, {m['cores']} cores, Python {m['python']}, load average at start "
             f"{', '.join(f'{x:.2f}' for x in m['loadavg_at_start'])}; {result['runs']} invokes of each runtime "
             "per row after warm-up, in the order ours, official, official, ours, ...; official runtime with its "
             "default XNNPACK delegate. Ratio = ours / official (below 1: we are faster).", "",
             "## Latency (ms)", ""]
    lines += _latency_table(result["latency"])
    if result.get("paced"):
        lines += ["", f"## Paced latency (ms): each invoke {result['pace_s'] * 1e3:g} ms after the previous one",
                  "", "As in a camera loop: every invoke starts with the thread pools asleep.", ""]
        lines += _latency_table(result["paced"])
    if result.get("isolated"):
        lines += ["", f"## Isolated processes (ms): each runtime alone, {ISOLATED_PAIRS} fresh processes each", "",
                  "Alternating ours / official processes, the rows taken in turn; the median over processes of "
                  f"each process's median of {result['runs']} invokes. The table above measures both runtimes in "
                  "one process per row, at one moment; these rows spread each row over several.", "",
                  "| model | threads | ours median | official median | ratio | ours per process | "
                  "official per process |", "|---|---|---|---|---|---|---|"]
        for r in result["isolated"]:
            o, t = r.get("ours", {}), r.get("official", {})
            per = (lambda x: " ".join(f"{v:.3f}" for v in sorted(x.get("process_medians_ms", []))) or "-")
            lines.append(f"| {r['model']} | {r['threads']} | {_fmt(o.get('median_ms'), '.3f')} | "
                         f"{_fmt(t.get('median_ms'), '.3f')} | {_fmt(r.get('ratio'))} | {per(o)} | {per(t)} |")
    lines += ["", "## Cold start and memory (fresh process each, median)", "",
              "| model | ours cold ms | official cold ms | ratio | ours peak RSS MiB | official peak RSS MiB | ratio "
              "| ratio above numpy-only baseline |", "|---|---|---|---|---|---|---|---|"]
    for r in result["cold"]:
        o, t = r.get("ours", {}), r.get("official", {})
        mib = (lambda kb: None if kb is None else kb / 1024)
        lines.append(f"| {r['model']} | {_fmt(o.get('cold_ms'), '.1f')} | {_fmt(t.get('cold_ms'), '.1f')} | "
                     f"{_fmt(r.get('ratio_cold'))} | {_fmt(mib(o.get('peak_rss_kb')), '.1f')} | "
                     f"{_fmt(mib(t.get('peak_rss_kb')), '.1f')} | {_fmt(r.get('ratio_rss'))} | "
                     f"{_fmt(r.get('ratio_rss_over_baseline'))} |")
    if result["cold"]:
        lines.append(f"\nnumpy-only Python process: {result['cold'][0]['baseline_rss_kb'] / 1024:.1f} MiB peak RSS.")
        quiet = " ".join(f"{k}={v}" for k, v in QUIET_BLAS.items())
        lines += ["", f"Cold start again with numpy's BLAS pool at one thread (`{quiet}`). Importing "
                  "numpy starts OpenBLAS's worker thread, which spins on one of the cores for about 100 ms; the "
                  "table above is timed as users start, inside that spin. Both runtimes the same way:", "",
                  "| model | ours cold ms | official cold ms | ratio |", "|---|---|---|---|"]
        for r in result["cold"]:
            o, t = r.get("ours", {}), r.get("official", {})
            lines.append(f"| {r['model']} | {_fmt(o.get('cold_ms_quiet_blas'), '.1f')} | "
                         f"{_fmt(t.get('cold_ms_quiet_blas'), '.1f')} | {_fmt(r.get('ratio_cold_quiet_blas'))} |")
    lines += ["", "## Sizes", "", "| what | bytes |", "|---|---|"]
    for name, w in result["sizes"]["wheels"].items():
        lines.append(f"| wheel {name} ({w['file']}) | {w['bytes']:,} |")
    for name, b in result["sizes"]["installed"].items():
        lines.append(f"| installed package {name} | {b:,} |")
    path.write_text("\n".join(lines) + "\n")


def write_chart(result: dict, path: Path) -> bool:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    rows = [r for r in result["latency"] if r.get("ratio_median") is not None]
    labels = list(dict.fromkeys(f"{r['model']}\n{r['variant']}" for r in rows))  # in suite order
    threads = sorted({r["threads"] for r in rows})
    fig, ax = plt.subplots(figsize=(max(6, 1.1 * len(labels)), 4.5))
    width = 0.8 / max(1, len(threads))
    for k, t in enumerate(threads):
        vals = []
        for label in labels:
            match = [r["ratio_median"] for r in rows if f"{r['model']}\n{r['variant']}" == label and r["threads"] == t]
            vals.append(match[0] if match else 0.0)
        ax.bar([i + k * width for i in range(len(labels))], vals, width, label=f"{t} thread{'s' if t > 1 else ''}")
    ax.axhline(1.0, color="black", linewidth=0.8)
    ax.set_xticks([i + width * (len(threads) - 1) / 2 for i in range(len(labels))])
    ax.set_xticklabels(labels, fontsize=7)
    ax.set_ylabel("latency ours / official (median)")
    ax.set_title("tflite-cffi vs ai-edge-litert (XNNPACK): below 1 = faster")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    return True


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, default=ROOT / "build" / "bench")
    p.add_argument("--runs", type=int, default=30)
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--threads", default="1,2")
    p.add_argument("--models", default="", help="comma-separated zoo stems (default: SUITE x float32,int8)")
    p.add_argument("--cold-repeat", type=int, default=5)
    p.add_argument("--official-wheel", default="", help="the official runtime's wheel file, for its size")
    args = p.parse_args(argv)
    if not (MODELS / "manifest.json").is_file():
        sys.exit(f"bench: model zoo not found at {MODELS} (set TFLITE_CFFI_MODELS)")
    log = (lambda msg: print(f"bench: {msg}", flush=True))
    names = [s for s in args.models.split(",") if s] or [f"{m}_{v}" for m in SUITE for v in VARIANTS]
    threads = [int(t) for t in args.threads.split(",") if t]
    result = {"machine": _machine(), "runs": args.runs, "warmup": args.warmup}
    result["latency"] = _latency_rows(names, threads, args.runs, args.warmup, log)
    paced = [s for s in PACED_MODELS if not args.models or s in names]
    result["pace_s"] = PACE_S
    result["paced"] = _latency_rows(paced, [max(threads)], args.runs, args.warmup, log, pause=PACE_S)
    isolated = [s for s in ISOLATED_MODELS if not args.models or s in names]
    result["isolated"] = _isolated_rows(isolated, threads, args.runs, args.warmup, log)
    cold = [s for s in COLD_MODELS if not args.models or s in names]
    result["cold"] = _cold_rows(cold, args.cold_repeat, log)
    result["sizes"] = _sizes(args.official_wheel)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "bench.json").write_text(json.dumps(result, indent=1))
    write_markdown(result, args.out / "bench.md")
    charted = write_chart(result, args.out / "bench.png")
    log(f"wrote {args.out / 'bench.json'}, {args.out / 'bench.md'}"
        + (f", {args.out / 'bench.png'}" if charted else " (no chart: matplotlib is not installed)"))
    print((args.out / "bench.md").read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
