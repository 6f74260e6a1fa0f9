"""Find the first op where tflite-cffi and the official runtime part ways.

    python tools/tensor_diff.py MODEL.tflite [--seed N] [--resolver NAME] [--all]

Runs MODEL through tflite_cffi and ai_edge_litert (the official runtime) on the same random inputs, both
with every intermediate tensor preserved, then walks subgraph 0's ops in execution order and compares each
op's outputs: max |difference| (in LSB for integer tensors) and the number of differing elements. Ops
whose outputs match print one line; the first op that differs is marked. Meant for kernel work: run it
with the dev build (`invoke dev`, then PYTHONPATH=. ) in a Python that has ai-edge-litert installed.

Inputs: floats uniform in [-1, 1); integers over their whole range, unless the zoo manifest beside the
model gives an `input_gen` for that model (token ids and the like).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np


def _input_gens(model: Path) -> list:
    manifest = model.parent / "manifest.json"
    try:
        for m in json.loads(manifest.read_text())["models"]:
            if m["file"] == model.name:
                return m.get("input_gen") or []
    except (OSError, ValueError, KeyError):
        pass
    return []


def _random_inputs(details: list, gens: list, seed: int) -> list:
    rng = np.random.default_rng(seed)
    xs = []
    for k, d in enumerate(details):
        shape, dtype = [int(s) for s in d["shape"]], np.dtype(d["dtype"])
        gen = gens[k] if k < len(gens) else {}
        if dtype.kind == "f":
            xs.append(rng.uniform(gen.get("lo", -1.0), gen.get("hi", 1.0), size=shape).astype(dtype))
        elif gen.get("kind") == "randint" and np.dtype(gen["dtype"]) == dtype:
            xs.append(rng.integers(gen["lo"], gen["hi"], size=shape).astype(dtype))
        elif dtype == np.bool_:
            xs.append(rng.integers(0, 2, size=shape).astype(bool))
        else:
            info = np.iinfo(dtype)
            xs.append(rng.integers(info.min, info.max, size=shape, endpoint=True).astype(dtype))
    return xs


def _run(interp, xs: list) -> None:
    interp.allocate_tensors()
    for d, x in zip(interp.get_input_details(), xs):
        interp.set_tensor(d["index"], x)
    interp.invoke()


def _diff(a: np.ndarray, b: np.ndarray, ftol: float) -> tuple:
    """(max |a - b| as float, number of differing elements); (inf, -1) on shape or dtype mismatch.

    Float elements differ when |a - b| > ftol * max(1, max |b|); integers when not equal."""
    if a.shape != b.shape or a.dtype != b.dtype:
        return float("inf"), -1
    if a.size == 0:
        return 0.0, 0
    if a.dtype == np.bool_:
        n = int(np.count_nonzero(a != b))
        return float(n > 0), n
    a64, b64 = np.atleast_1d(a).astype(np.float64), np.atleast_1d(b).astype(np.float64)
    d = np.abs(a64 - b64)
    both_nan = np.isnan(a64) & np.isnan(b64)
    d[both_nan] = 0.0
    limit = ftol * max(1.0, float(np.nanmax(np.abs(b64)))) if a.dtype.kind == "f" else 0.0
    return float(np.nanmax(d)), int(np.count_nonzero(d > limit))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("model", type=Path)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--resolver", default="BUILTIN_WITHOUT_DEFAULT_DELEGATES",
                   help="official runtime's OpResolverType (default: %(default)s; BUILTIN_REF = reference kernels)")
    p.add_argument("--ftol", type=float, default=1e-4,
                   help="float outputs differ beyond ftol * max(1, max|official|) (default %(default)s)")
    p.add_argument("--all", action="store_true", help="keep printing ops after the first that differs")
    args = p.parse_args(argv)

    import tflite_cffi
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    theirs = Interpreter(model_path=str(args.model), experimental_preserve_all_tensors=True,
                         experimental_op_resolver_type=getattr(OpResolverType, args.resolver))
    ours = tflite_cffi.Interpreter(model_path=str(args.model), experimental_preserve_all_tensors=True)
    xs = _random_inputs(theirs.get_input_details(), _input_gens(args.model), args.seed)
    _run(theirs, xs)
    try:
        _run(ours, xs)
    except Exception as e:  # noqa: BLE001 - report whatever stops our runtime
        print(f"tflite_cffi failed: {type(e).__name__}: {e}")
        return 2
    tensors = {t["index"]: t for t in theirs.get_tensor_details()}
    first = None
    for op in theirs._get_ops_details():
        for out in op["outputs"]:
            if out < 0:
                continue
            t = tensors[out]
            a, b = ours.get_tensor(out), theirs.get_tensor(out)
            worst, count = _diff(a, b, args.ftol)
            dtype = np.dtype(t["dtype"]).name
            unit = "" if np.dtype(t["dtype"]).kind == "f" else " LSB"
            in_types = ",".join(np.dtype(tensors[i]["dtype"]).name if i >= 0 else "-" for i in op["inputs"])
            mark = ""
            if count:  # -1: shape or dtype mismatch
                mark = "   <== first difference" if first is None else "   <=="
                first = first if first is not None else op["index"]
            shape = "x".join(str(s) for s in b.shape)
            print(f"op {op['index']:3d} {op['op_name']:<28} ({in_types}) -> {dtype} {shape:<14} "
                  f"max {worst:.4g}{unit}, {count} differ   {t['name'][:48]}{mark}")
            if a.shape != b.shape or a.dtype != b.dtype:
                print(f"        shape/dtype: ours {a.shape} {a.dtype}, official {b.shape} {b.dtype}")
        if first is not None and not args.all:
            print("(stopped at the first op that differs; --all shows every op)")
            break
    if first is None:
        print("every op output matches")
        return 0
    return 1


if __name__ == "__main__":
    sys.exit(main())
