"""Write tests/data/ops/<case_id>.tflite + .npz for every op case.

    python tests/opgen/make_goldens.py            # all cases, cross-checks
    python tests/opgen/make_goldens.py -k CONV    # only ids containing CONV

Each .npz holds input_<i> (in subgraph input order), output_<i> (the official
runtime's outputs, reference kernels = OpResolverType.BUILTIN_REF), tol and lsb.
The 8-bit convolutions and ADD (XNNPACK_OPS with int8 / uint8 outputs) also
hold xnnpack_output_<i>: the official runtime's outputs with its default
XNNPACK delegate (OpResolverType.BUILTIN), whose arithmetic (the convolutions'
float requantization, ADD's one-step sum) tflite-cffi follows by default;
INDEX.json marks them "xnnpack": true.
INDEX.json lists the goldens with their op and pytest marks.  The outputs are
cross-checked against the official optimised kernels (with and without the
default XNNPACK delegate); divergences beyond the case tolerance are reported.
Output is deterministic: running it twice gives identical files.
"""

import argparse
import io
import json
import os
import sys
import zipfile

if __package__ in (None, ""):  # run as a script: make `opgen` importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    from opgen import gen  # noqa: E402
else:
    from . import gen

import numpy as np  # noqa: E402

DEFAULT_OUT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                           "data", "ops")
CROSS_RESOLVERS = ["BUILTIN_REF", "BUILTIN_WITHOUT_DEFAULT_DELEGATES", "BUILTIN"]
XNNPACK_OPS = ("CONV_2D", "DEPTHWISE_CONV_2D", "TRANSPOSE_CONV", "ADD")
XNNPACK_RESOLVER = "BUILTIN"
_EPOCH = (1980, 1, 1, 0, 0, 0)


def write_npz(path, arrays):
    """np.savez without timestamps: byte-for-byte reproducible."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        for name in sorted(arrays):
            npy = io.BytesIO()
            np.lib.format.write_array(npy, np.asarray(arrays[name]), version=(1, 0),
                                      allow_pickle=False)
            info = zipfile.ZipInfo(name + ".npy", date_time=_EPOCH)
            info.external_attr = 0o644 << 16
            zf.writestr(info, npy.getvalue())
    _write_if_changed(path, buf.getvalue())


def _write_if_changed(path, data):
    if os.path.exists(path):
        with open(path, "rb") as f:
            if f.read() == data:
                return
    with open(path, "wb") as f:
        f.write(data)


def error_ratio(ours, ref, tol, lsb=0):
    """max |ours - ref| / (tol * max(1, max|ref|)) for floats; for integers
    max |ours - ref| / lsb (inf if lsb is 0); inf on a shape/dtype mismatch."""
    if ours.shape != ref.shape or ours.dtype != ref.dtype:
        return float("inf")
    if ref.dtype.kind != "f":
        if ref.size == 0 or np.array_equal(ours, ref):
            return 0.0
        if ref.dtype == np.bool_ or not lsb:
            return float("inf")
        return float(np.max(np.abs(ours.astype(np.int64) - ref))) / lsb
    if ref.size == 0:
        return 0.0
    atol = tol * max(1.0, float(np.max(np.abs(ref))))
    return float(np.max(np.abs(ours.astype(np.float64) - ref))) / atol


def has_xnnpack_outputs(op, quant, outs):
    """Whether a golden also holds the XNNPACK delegate's outputs: an 8-bit convolution or ADD."""
    return bool(quant) and op in XNNPACK_OPS and all(y.dtype in (np.int8, np.uint8) for y in outs)


def _litert_version():
    try:
        from importlib.metadata import version
        return version("ai-edge-litert")
    except Exception:
        return "?"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=DEFAULT_OUT)
    ap.add_argument("-k", dest="only", default=None, help="only case ids containing this")
    ap.add_argument("--no-cross", action="store_true", help="skip the cross-resolver check")
    args = ap.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)

    index, failures, odd = [], [], []
    for case, quant in gen.all_cases():
        for k in range(case.shapes):
            cid = gen.case_id(case, k)
            if args.only and args.only.lower() not in cid:
                continue
            try:
                inst = gen.Instance(case, k, 0)
                outs = inst.finalize()
            except Exception as e:  # report all, write none of the failed ones
                failures.append((cid, "%s: %s" % (type(e).__name__, str(e).strip()[:300])))
                continue
            if not args.no_cross:
                for resolver in CROSS_RESOLVERS:
                    if resolver == inst.resolver or resolver in case.avoid:
                        continue
                    try:
                        other = gen.run_official(inst.model, inst.inputs, resolver)
                    except Exception as e:
                        msg = str(e).strip().splitlines()[0][:120]
                        odd.append((cid, resolver, "rejects: %s" % msg))
                        continue
                    r = max(error_ratio(o, g, case.tol, case.lsb) for o, g in zip(other, outs))
                    if r > 1.0:
                        odd.append((cid, resolver, "error %.3g x tol" % r))
            _write_if_changed(os.path.join(args.out, cid + ".tflite"), inst.model)
            arrays = {"tol": np.float64(case.tol), "lsb": np.int64(case.lsb)}
            for i, x in enumerate(inst.inputs):
                arrays["input_%d" % i] = x
            for i, y in enumerate(outs):
                arrays["output_%d" % i] = y
            xnnpack = has_xnnpack_outputs(case.op, quant, outs)
            if xnnpack:
                for i, y in enumerate(gen.run_official(inst.model, inst.inputs, XNNPACK_RESOLVER)):
                    arrays["xnnpack_output_%d" % i] = y
            write_npz(os.path.join(args.out, cid + ".npz"), arrays)
            entry = {"id": cid, "op": case.op, "case": case.name, "shape_variant": k,
                     "tol": case.tol, "lsb": case.lsb, "quant": quant, "resolver": inst.resolver,
                     "avoid": list(case.avoid), "qemu": bool(case.qemu and k == 0)}
            if xnnpack:
                entry["xnnpack"] = True
            index.append(entry)

    if args.only is None:
        keep = set()
        for e in index:
            keep.update([e["id"] + ".tflite", e["id"] + ".npz"])
        for fn in sorted(os.listdir(args.out)):
            if fn.endswith((".tflite", ".npz")) and fn not in keep:
                os.remove(os.path.join(args.out, fn))
        about = ("op goldens written by tests/opgen/make_goldens.py; outputs from "
                 "ai_edge_litert %s with the OpResolverType in 'resolver'" % _litert_version())
        lines = ['{"about": %s,' % json.dumps(about), ' "goldens": [']
        lines += ["  %s%s" % (json.dumps(e, sort_keys=True), "," if i + 1 < len(index) else "")
                  for i, e in enumerate(index)]
        lines.append(" ]}")
        _write_if_changed(os.path.join(args.out, "INDEX.json"),
                          ("\n".join(lines) + "\n").encode())

    total = sum(os.path.getsize(os.path.join(args.out, f)) for f in os.listdir(args.out))
    print("%d goldens, %d failed, %.2f MB in %s" % (len(index), len(failures), total / 1e6,
                                                   args.out))
    for cid, msg in failures:
        print("FAILED %s: %s" % (cid, msg))
    for cid, resolver, msg in odd:
        print("CROSS  %s [%s]: %s" % (cid, resolver, msg))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
