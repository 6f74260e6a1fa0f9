"""Command line tools: ``python -m tflite_cffi {info,run,bench,selftest} ...``.

    python -m tflite_cffi --version
    python -m tflite_cffi info model.tflite             # inputs, outputs, ops and support
    python -m tflite_cffi run model.tflite --input x.npy # or random inputs
    python -m tflite_cffi bench model.tflite --runs 100 --threads 2
    python -m tflite_cffi selftest                      # runs the embedded tiny model
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import OrderedDict
from typing import Any, Dict, List, Optional, Sequence, TextIO, Tuple

import numpy as np

from .benchmark import latency_stats, random_input

PROG = "python -m tflite_cffi"


class CliError(Exception):
    """A user error: printed as one line, exit status 1."""


# ------------------------------------------------------------------------------ helpers

def _dtype_name(dtype: Any) -> str:
    return np.dtype(dtype).name


def _fmt_shape(shape: Any) -> str:
    return "[" + ", ".join(str(int(d)) for d in shape) + "]"


def _fmt_quant(details: Dict[str, Any]) -> str:
    qp = details["quantization_parameters"]
    scales, zps = qp["scales"], qp["zero_points"]
    if len(scales) == 0:
        return ""
    if len(scales) == 1:
        return "  quant scale=%.6g zero_point=%d" % (scales[0], zps[0])
    return "  quant per-channel(axis %d, %d scales)" % (qp["quantized_dimension"], len(scales))


def _tensor_line(d: Dict[str, Any]) -> str:
    shape = _fmt_shape(d["shape"])
    sig = _fmt_shape(d["shape_signature"])
    if sig != shape:
        shape += " (signature %s)" % sig
    return "  #%-4d %-8s %-22s %s%s" % (d["index"], _dtype_name(d["dtype"]), shape, d["name"],
                                        _fmt_quant(d))


def _open(model: str, threads: Optional[int] = None, check_ops: bool = True) -> Any:
    """An Interpreter for `model`; with check_ops False it is created even when
    some operators are unsupported (for `info`)."""
    from .interpreter import Interpreter

    if not os.path.isfile(model):
        raise CliError("%s: no such file" % model)
    cls = Interpreter
    if not check_ops:
        class _Lenient(Interpreter):
            def _check_operators(self, model: Any) -> None:
                return None
        cls = _Lenient
    try:
        return cls(model_path=model, num_threads=threads)
    except ValueError as exc:
        raise CliError(str(exc)) from exc


def model_operators(model: str) -> List[Tuple[int, int, str, int, bool]]:
    """[(subgraph, builtin_code, name, version, supported)] of every operator,
    in model order; [] when the library lacks TfLiteCffiModelGetOperator."""
    from . import _lib

    lib = _lib.get_lib()
    if not (_lib.has("TfLiteCffiModelGetOperator") and _lib.has("TfLiteCffiModelGetSubgraphCount")):
        return []
    ffi = _lib.ffi
    ptr = lib.TfLiteModelCreateFromFile(os.fsencode(model))
    if ptr == ffi.NULL:
        raise CliError("%s: %s" % (model, _lib.last_create_error() or "cannot read the model"))
    handle = ffi.gc(ptr, lib.TfLiteModelDelete)
    out = []
    info = ffi.new("TfLiteCffiOperatorInfo*")
    try:
        for sg in range(lib.TfLiteCffiModelGetSubgraphCount(handle)):
            for op in range(max(0, lib.TfLiteCffiModelGetOperatorCount(handle, sg))):
                if lib.TfLiteCffiModelGetOperator(handle, sg, op, info) != 0:
                    out.append((sg, -1, "?", 0, False))
                    continue
                out.append((sg, int(info.builtin_code), _lib.to_str(info.name),
                            int(info.version), bool(info.supported)))
    finally:
        ffi.release(handle)
    return out


def _summary(name: str, arr: np.ndarray) -> str:
    head = "  %s: %s %s" % (name, _dtype_name(arr.dtype), _fmt_shape(arr.shape))
    if arr.size == 0:
        return head + " (empty)"
    if arr.dtype.kind in "fiub":
        a = arr.astype(np.float64)
        head += "  min=%.6g max=%.6g mean=%.6g std=%.6g" % (a.min(), a.max(), a.mean(), a.std())
        flat = arr.reshape(-1)
        if arr.ndim >= 1 and arr.shape[-1] > 1 and arr.size == arr.shape[-1] * \
                int(np.prod(arr.shape[:-1])) and arr.shape[-1] <= 100000:
            last = arr.reshape(-1, arr.shape[-1])[0].astype(np.float64)
            top = np.argsort(-last, kind="stable")[:5]
            head += "\n    top-5 of row 0: %s" % ", ".join(
                "%d (%.4g)" % (i, last[i]) for i in top)
        head += "\n    first values: %s" % np.array2string(
            flat[:8], precision=5, separator=", ")
    return head


class _Progress:
    """A one-line text progress bar on a stream (stderr)."""

    def __init__(self, total: int, label: str, stream: TextIO, enabled: bool = True) -> None:
        self.total, self.label, self.stream, self.enabled = max(total, 1), label, stream, enabled
        self._last = 0.0

    def update(self, done: int, force: bool = False) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if not force and now - self._last < 0.1 and done < self.total:
            return
        self._last = now
        width = 30
        filled = int(width * done / self.total)
        self.stream.write("\r%s [%s%s] %d/%d" % (self.label, "#" * filled, "." * (width - filled),
                                                 done, self.total))
        self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self.stream.write("\n")
            self.stream.flush()


# ------------------------------------------------------------------------------ commands

def cmd_info(args: argparse.Namespace, out: TextIO) -> int:
    model = args.model
    if not os.path.isfile(model):
        raise CliError("%s: no such file" % model)
    ops = model_operators(model)
    print("model: %s (%d bytes)" % (model, os.path.getsize(model)), file=out)
    interpreter = None
    try:
        interpreter = _open(model, check_ops=False)
    except CliError as exc:
        print("interpreter: cannot create one: %s" % exc, file=out)
    if interpreter is not None:
        with interpreter:
            print("subgraphs: %d" % interpreter.num_subgraphs(), file=out)
            sigs = interpreter.get_signature_list()
            for key, sig in sigs.items():
                print("signature %r: inputs %s, outputs %s"
                      % (key, sig["inputs"], sig["outputs"]), file=out)
            print("inputs:", file=out)
            for d in interpreter.get_input_details():
                print(_tensor_line(d), file=out)
            print("outputs:", file=out)
            for d in interpreter.get_output_details():
                print(_tensor_line(d), file=out)
    if not ops:
        print("operators: (this library cannot list them)", file=out)
        return 0
    counts: "OrderedDict[Tuple[str, int, bool], int]" = OrderedDict()
    for _sg, _code, name, version, supported in ops:
        key = (name, version, supported)
        counts[key] = counts.get(key, 0) + 1
    subgraphs = sorted(set(o[0] for o in ops))
    print("operators: %d in %d subgraph(s), %d distinct"
          % (len(ops), len(subgraphs), len(counts)), file=out)
    for (name, version, supported), n in sorted(counts.items()):
        print("  %-32s v%-3d x%-4d %s" % (name, version, n,
                                           "supported" if supported else "NOT SUPPORTED"),
              file=out)
    missing = [k for k in counts if not k[2]]
    if missing:
        print("unsupported: %s" % ", ".join("%s v%d" % (n, v) for n, v, _ in missing), file=out)
        return 1
    print("all operators are supported", file=out)
    return 0


def _set_inputs(interpreter: Any, arrays: Sequence[np.ndarray], paths: Sequence[str]) -> None:
    details = interpreter.get_input_details()
    if len(arrays) != len(details):
        raise CliError("the model has %d input(s) (%s) but %d --input given"
                       % (len(details), ", ".join(d["name"] for d in details), len(arrays)))
    resized = False
    for d, arr in zip(details, arrays):
        if list(arr.shape) != d["shape"].tolist():
            interpreter.resize_tensor_input(d["index"], list(arr.shape))
            resized = True
    if resized:
        interpreter.allocate_tensors()
    for d, arr, path in zip(details, arrays, paths):
        want = np.dtype(d["dtype"])
        if arr.dtype != want:
            if not np.can_cast(arr.dtype, want, casting="same_kind"):
                raise CliError("%s: dtype %s does not fit input %s of type %s"
                               % (path, arr.dtype, d["name"], want))
            arr = arr.astype(want)
        interpreter.set_tensor(d["index"], arr)


def cmd_run(args: argparse.Namespace, out: TextIO) -> int:
    interpreter = _open(args.model, args.threads)
    with interpreter:
        interpreter.allocate_tensors()
        if args.input:
            arrays = []
            for path in args.input:
                try:
                    arrays.append(np.load(path, allow_pickle=False))
                except (OSError, ValueError) as exc:
                    raise CliError("%s: %s" % (path, exc)) from exc
            _set_inputs(interpreter, arrays, args.input)
            print("inputs: %s" % ", ".join(args.input), file=out)
        else:
            rng = np.random.default_rng(args.seed)
            for d in interpreter.get_input_details():
                interpreter.set_tensor(d["index"], random_input(d, rng))
            print("inputs: random (seed %d)" % args.seed, file=out)
        start = time.perf_counter()
        interpreter.invoke()
        elapsed = time.perf_counter() - start
        print("invoke: %.3f ms" % (elapsed * 1e3), file=out)
        print("outputs:", file=out)
        for i, d in enumerate(interpreter.get_output_details()):
            value = interpreter.get_tensor(d["index"])
            print(_summary(d["name"], value), file=out)
            if args.save:
                os.makedirs(args.save, exist_ok=True)
                np.save(os.path.join(args.save, "output_%d.npy" % i), value)
        if args.save:
            print("saved outputs to %s" % args.save, file=out)
    return 0


def cmd_bench(args: argparse.Namespace, out: TextIO) -> int:
    if args.runs < 1:
        raise CliError("--runs must be >= 1")
    if args.warmup < 0:
        raise CliError("--warmup must be >= 0")
    if args.pause_ms < 0:
        raise CliError("--pause-ms must be >= 0")
    if args.compare:
        return _bench_compare(args, out)
    interpreter = _open(args.model, args.threads)
    progress_enabled = not args.quiet
    with interpreter:
        t0 = time.perf_counter()
        interpreter.allocate_tensors()
        alloc_ms = (time.perf_counter() - t0) * 1e3
        rng = np.random.default_rng(args.seed)
        for d in interpreter.get_input_details():
            interpreter.set_tensor(d["index"], random_input(d, rng))
        bar = _Progress(args.warmup, "warmup", sys.stderr, progress_enabled and args.warmup > 0)
        for i in range(args.warmup):
            interpreter.invoke()
            bar.update(i + 1)
        if args.warmup:
            bar.update(args.warmup, force=True)
            bar.close()
        times: List[float] = []
        bar = _Progress(args.runs, "bench ", sys.stderr, progress_enabled)
        invoke = interpreter.invoke
        clock = time.perf_counter
        pause = args.pause_ms / 1e3
        for i in range(args.runs):
            if pause:
                time.sleep(pause)
            start = clock()
            invoke()
            times.append(clock() - start)
            bar.update(i + 1)
        bar.update(args.runs, force=True)
        bar.close()
    stats = latency_stats(times)
    print("model: %s" % args.model, file=out)
    print("threads: %s, warmup: %d, runs: %d%s, allocate_tensors: %.2f ms"
          % (args.threads if args.threads else "default", args.warmup, args.runs, _paced(args), alloc_ms),
          file=out)
    print("latency ms: mean %.3f  median %.3f  p90 %.3f  p99 %.3f  min %.3f  max %.3f"
          % (stats["mean"], stats["median"], stats["p90"], stats["p99"], stats["min"],
             stats["max"]), file=out)
    print("throughput: %.1f inferences/s" % (1e3 / stats["mean"] if stats["mean"] else 0.0),
          file=out)
    return 0


def _paced(args: argparse.Namespace) -> str:
    return ", %g ms pause before each" % args.pause_ms if args.pause_ms else ""


def _bench_compare(args: argparse.Namespace, out: TextIO) -> int:
    from . import benchmark

    official = benchmark.official_interpreter_class()
    if official is None:
        raise CliError("--compare needs the official runtime: pip install ai-edge-litert "
                       "(x86_64, CPython >= 3.10) or tflite-runtime")
    _open(args.model, args.threads).close()   # our clear error for unsupported ops, before timing
    bar = _Progress(args.runs, "bench ", sys.stderr, not args.quiet)
    row = benchmark.compare(args.model, threads=args.threads, runs=args.runs, warmup=args.warmup,
                            seed=args.seed, official=official, progress=lambda i, n: bar.update(i),
                            pause=args.pause_ms / 1e3)
    bar.update(args.runs, force=True)
    bar.close()
    print("model: %s" % args.model, file=out)
    print("threads: %s, warmup: %d, runs: %d%s (alternating invokes)"
          % (args.threads if args.threads else "default", args.warmup, args.runs, _paced(args)), file=out)
    print("%-22s %10s %10s" % ("latency ms", "median", "p90"), file=out)
    for name, key in (("tflite-cffi", "ours"), ("official (%s)" % official.__module__.split(".")[0], "official")):
        print("%-22s %10.3f %10.3f" % (name, row[key]["median"], row[key]["p90"]), file=out)
    print("%-22s %10.2f %10.2f" % ("ratio ours/official", row["ratio_median"], row["ratio_p90"]), file=out)
    print("max output deviation: %.3g" % row["deviation"], file=out)
    return 0


def cmd_selftest(args: argparse.Namespace, out: TextIO) -> int:
    from . import postinstall_check

    ok, lines = postinstall_check.run()
    for line in lines:
        print(line, file=out)
    print("selftest: %s" % ("PASSED" if ok else "FAILED"), file=out)
    return 0 if ok else 1


def version_text() -> str:
    from ._ffi import TFLITE_CFFI_VERSION

    text = "tflite-cffi %s" % TFLITE_CFFI_VERSION
    try:
        from . import _lib

        lib = _lib.get_lib()
        extra = "TensorFlow Lite C API %s" % _lib.to_str(lib.TfLiteVersion())
        if _lib.has("TfLiteCffiVersion"):
            extra = "library %s, %s" % (_lib.to_str(lib.TfLiteCffiVersion()), extra)
        text += " (%s; %s)" % (extra, _lib.library_path())
    except OSError as exc:
        text += " (native library not loadable: %s)" % " ".join(str(exc).split())
    return text


class _VersionAction(argparse.Action):
    def __init__(self, option_strings: Sequence[str], dest: str = argparse.SUPPRESS,
                 default: Any = argparse.SUPPRESS, help: Optional[str] = None) -> None:
        super().__init__(option_strings=option_strings, dest=dest, default=default, nargs=0,
                         help=help)

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: Any, option_string: Optional[str] = None) -> None:
        print(version_text())
        parser.exit(0)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError("%r is not an integer" % text) from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be >= 1, got %d" % value)
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG, description="tflite-cffi: inspect, run and benchmark .tflite models.")
    parser.add_argument("--version", action=_VersionAction,
                        help="print the package and native library versions and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("info", help="inputs, outputs and operators (with support) of a model")
    p.add_argument("model", help=".tflite file")
    p.set_defaults(func=cmd_info)

    p = sub.add_parser("run", help="run a model once and summarize its outputs")
    p.add_argument("model", help=".tflite file")
    p.add_argument("--input", action="append", metavar="X.npy",
                   help="an input array (.npy), once per model input in order; "
                        "random inputs when omitted")
    p.add_argument("--threads", type=_positive_int, default=None, help="kernel threads")
    p.add_argument("--seed", type=int, default=0, help="seed of the random inputs (default 0)")
    p.add_argument("--save", metavar="DIR", help="save the outputs as DIR/output_<i>.npy")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("bench", help="measure invoke() latency")
    p.add_argument("model", help=".tflite file")
    p.add_argument("--runs", type=int, default=50, help="timed invocations (default 50)")
    p.add_argument("--warmup", type=int, default=5, help="untimed invocations first (default 5)")
    p.add_argument("--threads", type=_positive_int, default=None, help="kernel threads")
    p.add_argument("--seed", type=int, default=0, help="seed of the random inputs (default 0)")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar on stderr")
    p.add_argument("--pause-ms", type=float, default=0.0,
                   help="sleep this long before each timed invoke, as a camera loop does (default 0)")
    p.add_argument("--compare", action="store_true",
                   help="also run the official runtime (ai-edge-litert or tflite-runtime), invokes alternating")
    p.set_defaults(func=cmd_bench)

    p = sub.add_parser("selftest", help="run the tiny model shipped in the package")
    p.set_defaults(func=cmd_selftest)
    return parser


def main(argv: Optional[Sequence[str]] = None, out: Optional[TextIO] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return 2
    try:
        return int(args.func(args, out or sys.stdout))
    except CliError as exc:
        print("%s %s: error: %s" % (PROG, args.command, exc), file=sys.stderr)
        return 1
    except (OSError, ValueError, RuntimeError) as exc:
        print("%s %s: error: %s: %s" % (PROG, args.command, type(exc).__name__, exc),
              file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
