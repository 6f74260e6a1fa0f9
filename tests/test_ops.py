"""Per-op differential tests: our interpreter against the official TFLite runtime.

Every op case of tests/opgen/cases.py has golden files in tests/data/ops/
(written by tests/opgen/make_goldens.py with the official runtime): a
single-op .tflite model and an .npz of its inputs and the official outputs.

test_op[<OP>-<case>-s<k>]      float/int/bool goldens: the ops the engine must
                               have; an unsupported op FAILS (never skips), and
                               the test id starts with the op name.
test_op_int8[<OP>-<case>-s<k>] int8 quantised goldens, a later issue
                               (deselect with -k "not int8"). Run with the
                               golden's OpResolverType (BUILTIN_REF: the
                               builtin kernels' fixed-point numerics).
test_op_xnnpack[...]           the 8-bit convolutions and ADD under the
                               default resolver against the official runtime
                               with its XNNPACK delegate (float requantization,
                               one-step sums): exact.
test_op_oracle[...]            (marker `oracle`, needs ai_edge_litert) the same
                               models rebuilt in memory with two more input
                               seeds, compared with the official runtime live.
test_goldens_up_to_date        (marker `oracle`) cases.py and tests/data/ops agree.

Tolerance: float outputs must satisfy |ours - ref| <= tol * max(1, max|ref|)
elementwise, with tol from the case (default 1e-5, in the .npz); integer and
bool outputs must match exactly, except in the int8 cases, where quantised
integer outputs may be off by `lsb` (1); dtypes and shapes must match.

A subset (about 20 goldens, marker `qemu`) is what emulated-ARM sessions run.

Implementation under test: tflite_cffi.Interpreter; environment variable
TFLITE_CFFI_TEST_IMPL switches it, e.g. TFLITE_CFFI_TEST_IMPL=ai_edge_litert
(official runtime, default resolver) or ai_edge_litert:BUILTIN_REF.
"""

import functools
import json
import os
import sys

import numpy as np
import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "data", "ops")
if HERE not in sys.path:  # `opgen` lives next to this file
    sys.path.insert(0, HERE)

from opgen import gen  # noqa: E402  (numpy only; the model builder loads lazily)

IMPL_ENV = "TFLITE_CFFI_TEST_IMPL"
DEFAULT_TOL = 1e-5
ORACLE_SEEDS = (1, 2)

QEMU, ORACLE = pytest.mark.qemu, pytest.mark.oracle  # registered in conftest.py


def _index():
    with open(os.path.join(DATA, "INDEX.json")) as f:
        return json.load(f)["goldens"]


INDEX = _index()


def _test_id(entry):
    return "%s-s%d" % (entry["case"], entry["shape_variant"])


def _params(entries, marks=(), qemu=True):
    out = []
    for e in entries:
        m = list(marks) + ([QEMU] if qemu and e["qemu"] else [])
        out.append(pytest.param(e, id=_test_id(e), marks=m))
    return out


FLOAT_ENTRIES = [e for e in INDEX if not e["quant"]]
QUANT_ENTRIES = [e for e in INDEX if e["quant"]]
XNNPACK_ENTRIES = [e for e in INDEX if e.get("xnnpack")]


# ------------------------------------------------------------ implementation
_IMPL_ERROR = []


def _impl():
    """(interpreter factory, official resolver name or None) under test.  An
    import failure fails every test (not skips), reported once per test."""
    if _IMPL_ERROR:  # do not retry a failed (slow) library load for each test
        raise ImportError("implementation under test unavailable: %s" % _IMPL_ERROR[0])
    try:
        return _load_impl()
    except Exception as e:
        _IMPL_ERROR.append("%s: %s" % (type(e).__name__, e))
        raise


@functools.lru_cache(maxsize=None)
def _load_impl():
    spec = os.environ.get(IMPL_ENV, "tflite_cffi") or "tflite_cffi"
    name, _, resolver = spec.partition(":")
    if name == "tflite_cffi":
        from tflite_cffi import Interpreter
        return Interpreter, None
    if name == "ai_edge_litert":
        from ai_edge_litert.interpreter import Interpreter, OpResolverType
        resolver = resolver or "AUTO"
        kind = getattr(OpResolverType, resolver)
        return functools.partial(Interpreter, experimental_op_resolver_type=kind), resolver
    if name == "tflite_runtime":
        from tflite_runtime.interpreter import Interpreter
        return Interpreter, "AUTO"
    raise ValueError("%s=%r: expected tflite_cffi, ai_edge_litert[:RESOLVER] or "
                     "tflite_runtime" % (IMPL_ENV, spec))


def _run_ours(entry, model, inputs, resolver_type=None):
    """Outputs of the implementation under test; tflite-cffi runs with the OpResolverType named
    resolver_type (default: the golden's resolver), whose numerics it follows."""
    factory, resolver = _impl()
    if resolver is not None:
        crashes = set(entry["avoid"])
        if resolver in crashes or (resolver in ("AUTO", "BUILTIN") and
                                   crashes & {"AUTO", "BUILTIN"}):
            pytest.skip("the official runtime crashes on this case with %s" % resolver)
        return gen.run(factory(model_content=model), inputs)
    from tflite_cffi.interpreter import OpResolverType
    kind = OpResolverType[resolver_type or entry["resolver"]]
    return gen.run(factory(model_content=model, experimental_op_resolver_type=kind), inputs)


def assert_outputs_match(ours, ref, tol, lsb=0, what=""):
    """The comparison rule stated in the module docstring."""
    assert len(ours) == len(ref), "%s: %d outputs, expected %d" % (what, len(ours), len(ref))
    for i, (a, r) in enumerate(zip(ours, ref)):
        a, r = np.asarray(a), np.asarray(r)
        where = "%s output %d" % (what, i)
        assert a.dtype == r.dtype, "%s: dtype %s, expected %s" % (where, a.dtype, r.dtype)
        assert a.shape == r.shape, "%s: shape %s, expected %s" % (where, a.shape, r.shape)
        if r.size == 0:
            continue
        if r.dtype.kind in "fc":
            atol = tol * max(1.0, float(np.max(np.abs(r))))
            err = np.abs(a.astype(np.float64) - r.astype(np.float64))
            bad = (err > atol) | (np.isnan(a) != np.isnan(r))
        elif lsb and r.dtype.kind in "iu":
            err = None
            bad = np.abs(a.astype(np.int64) - r.astype(np.int64)) > lsb
        else:
            err = None
            bad = a != r
        if np.any(bad):
            idx = tuple(int(j) for j in np.argwhere(bad)[0])
            msg = "%s: %d of %d elements differ; first at %s: got %r, expected %r" % (
                where, int(np.count_nonzero(bad)), r.size, idx, a[idx], r[idx])
            if err is not None:
                msg += "; max |err| %.3g > atol %.3g (tol %g)" % (
                    float(np.nanmax(err)), atol, tol)
            raise AssertionError(msg)


def _golden(entry):
    with open(os.path.join(DATA, entry["id"] + ".tflite"), "rb") as f:
        model = f.read()
    with np.load(os.path.join(DATA, entry["id"] + ".npz")) as z:
        inputs = [z["input_%d" % i] for i in range(sum(k.startswith("input_") for k in z.files))]
        outputs = [z["output_%d" % i] for i in range(sum(k.startswith("output_") for k in z.files))]
        tol = float(z["tol"]) if "tol" in z.files else DEFAULT_TOL
        lsb = int(z["lsb"]) if "lsb" in z.files else 0
    return model, inputs, outputs, tol, lsb


def _check_golden(entry):
    model, inputs, expected, tol, lsb = _golden(entry)
    ours = _run_ours(entry, model, inputs)
    assert_outputs_match(ours, expected, tol, lsb, _test_id(entry))


# --------------------------------------------------------------------- tests
@pytest.mark.parametrize("entry", _params(FLOAT_ENTRIES))
def test_op(entry):
    _check_golden(entry)


def _xfail_if_unsupported_quantized(entry, error):
    """Quantized kernels arrive with the zoo issue. Until then an op may refuse a quantized model, naming
    what it lacks (an expected failure); an op that runs must match exactly as any other."""
    if entry.get("quant") or "int8" in _test_id(entry):
        if "not supported yet" in str(error) or "kTfLiteUnresolvedOps" in str(error):
            pytest.xfail("quantized kernel not written yet: %s" % error)


@pytest.mark.parametrize("entry", _params(QUANT_ENTRIES))
def test_op_int8(entry):
    try:
        _check_golden(entry)
    except RuntimeError as e:
        _xfail_if_unsupported_quantized(entry, e)
        raise


@pytest.mark.parametrize("entry", _params(XNNPACK_ENTRIES))
def test_op_xnnpack(entry):
    """By default the 8-bit convolutions requantize in float and ADD sums in one step as the XNNPACK
    delegate does: the official runtime's default outputs, exactly."""
    _, resolver = _impl()
    if resolver not in (None, "AUTO", "BUILTIN"):
        pytest.skip("XNNPACK's numerics; the implementation under test runs %s" % resolver)
    model, inputs, _, _, _ = _golden(entry)
    with np.load(os.path.join(DATA, entry["id"] + ".npz")) as z:
        expected = [z["xnnpack_output_%d" % i] for i in range(sum(k.startswith("xnnpack_output_")
                                                                  for k in z.files))]
    assert expected, "%s: no xnnpack_output_* (run tests/opgen/make_goldens.py)" % entry["id"]
    ours = _run_ours(entry, model, inputs, "AUTO")
    assert_outputs_match(ours, expected, 0.0, 0, _test_id(entry) + " (XNNPACK numerics)")


def _need_builder():
    pytest.importorskip("flatbuffers")
    pytest.importorskip("tflite")


@ORACLE
@pytest.mark.parametrize("entry", _params(INDEX, qemu=False))
def test_op_oracle(entry, oracle):
    _need_builder()
    case = gen.find_case(entry["case"])
    for seed in ORACLE_SEEDS:
        inst = gen.Instance(case, entry["shape_variant"], seed)
        ref = inst.finalize(entry["resolver"])
        try:
            ours = _run_ours(entry, inst.model, inst.inputs)
        except RuntimeError as e:
            _xfail_if_unsupported_quantized(entry, e)
            raise
        assert_outputs_match(ours, ref, case.tol, case.lsb,
                             "%s seed %d" % (_test_id(entry), seed))


@ORACLE
def test_goldens_up_to_date(oracle):
    """tests/data/ops matches cases.py (else: python tests/opgen/make_goldens.py)."""
    _need_builder()
    expected = set()
    stale = []
    for case, _quant in gen.all_cases():
        for k in range(case.shapes):
            expected.add(gen.case_id(case, k))
    have = set(e["id"] for e in INDEX)
    for e in INDEX:
        if e["id"] not in expected:
            stale.append(e["id"] + " (no such case)")
            continue
        inst = gen.Instance(gen.find_case(e["case"]), e["shape_variant"], 0)
        ref = inst.finalize(e["resolver"])
        model, inputs, outputs, tol, lsb = _golden(e)
        same_inputs = len(inputs) == len(inst.inputs) and all(
            a.dtype == b.dtype and np.array_equal(a, b, equal_nan=a.dtype.kind in "fc")  # NaN inputs
            for a, b in zip(inputs, inst.inputs))
        try:
            assert_outputs_match(outputs, ref, tol, lsb)
            same_outputs = True
        except AssertionError:
            same_outputs = False
        if model != inst.model or not same_inputs or not same_outputs:
            stale.append(e["id"])
    stale += sorted(i + " (missing)" for i in expected - have)
    assert not stale, "goldens out of date, run tests/opgen/make_goldens.py: %s" % stale[:20]
