"""Custom operators: C operators from a shared library built here (custom_op_registerers), the same ops
written in Python (custom_ops / CustomOp), builtin overrides, outputs shaped only at invoke, the errors of
each path, and a C program registering an operator with TfLiteInterpreterOptionsAddOperator.

The reference for every number is numpy; the C library (tests/c/custom_op.c) is compiled by the wheels'
toolchain (zig from PyPI, ``python -m ziglang cc``) when it is importable, else by the system's cc."""

from __future__ import annotations

import ctypes
import shutil
import struct
import subprocess
import sys
import threading
from pathlib import Path
from typing import List

import numpy as np
import pytest
pytest.importorskip("flatbuffers", reason="the test models are built with the flatbuffers and tflite "
                    "Python packages (not in the ARM sysroots)")
pytest.importorskip("tflite", reason="the test models are built with the tflite schema package")
from opgen.builder import OpSpec, TensorSpec, build_graph  # noqa: E402

import tflite_cffi
from tflite_cffi import CustomOp, Interpreter, InterpreterWithCustomOps

C_DIR = Path(__file__).resolve().parent / "c"
SCALE, SHIFT = 1.5, -0.25


# ---------------------------------------------------------------------------------------- building C


def _compiler() -> List[str]:
    try:
        import ziglang  # noqa: F401

        return [sys.executable, "-m", "ziglang", "cc"]
    except ImportError:
        pass
    for cc in ("cc", "gcc", "clang"):
        path = shutil.which(cc)
        if path:
            return [path]
    pytest.skip("no C compiler: neither the ziglang package nor cc/gcc/clang on PATH")


def _compile(source: Path, out: Path, shared: bool) -> Path:
    lib = Path(tflite_cffi.get_library())
    cmd = _compiler() + [
        "-std=c99", "-O2", "-ffp-contract=off", "-Wall", "-Werror", str(source),
        f"-I{tflite_cffi.get_include()}", str(lib), f"-Wl,-rpath,{lib.parent}", "-o", str(out)]
    if shared:
        cmd[len(_compiler()):len(_compiler())] = ["-shared", "-fPIC"]
    run = subprocess.run(cmd, capture_output=True, text=True)
    assert run.returncode == 0, "compiling %s failed:\n%s\n%s" % (source.name, " ".join(cmd), run.stderr)
    return out


@pytest.fixture(scope="module")
def oplib(tmp_path_factory) -> Path:
    """tests/c/custom_op.c as a shared library, loaded into the process's global symbols."""
    tflite_cffi._lib.get_lib()   # our library first, so the ops library binds to this copy
    path = _compile(C_DIR / "custom_op.c", tmp_path_factory.mktemp("ops") / "libtfc_test_ops.so", shared=True)
    ctypes.CDLL(str(path), mode=ctypes.RTLD_GLOBAL)
    return path


def _free_count(oplib: Path) -> int:
    return int(ctypes.CDLL(str(oplib)).TfcFreeCount())


# ------------------------------------------------------------------------------------------ models


def scale_shift_model(options: bytes = struct.pack("<ff", SCALE, SHIFT), name: str = "TfcScaleShift",
                      shape=(2, 3)) -> bytes:
    """x -> CUSTOM name(x) -> t;  y = t * x (builtin MUL after the custom node)."""
    tensors = [TensorSpec(list(shape), name="x"), TensorSpec(list(shape), name="t"),
               TensorSpec(list(shape), name="y")]
    ops = [OpSpec("CUSTOM", [0], [1], custom_code=name, custom_options=options),
           OpSpec("MUL", [1, 0], [2])]
    return build_graph(tensors, ops, [0], [2])


def add_model() -> bytes:
    tensors = [TensorSpec([4], name="a"), TensorSpec([4], name="b"), TensorSpec([4], name="y")]
    return build_graph(tensors, [OpSpec("ADD", [0, 1], [2])], [0, 1], [2])


def positive_model(name: str) -> bytes:
    """x[8] -> CUSTOM name (elements > 0, length known at invoke) -> p[-1];  y = p * p (MUL)."""
    tensors = [TensorSpec([8], name="x"), TensorSpec([1], name="p", shape_signature=[-1]),
               TensorSpec([1], name="y", shape_signature=[-1])]
    ops = [OpSpec("CUSTOM", [0], [1], custom_code=name), OpSpec("MUL", [1, 1], [2])]
    return build_graph(tensors, ops, [0], [2])


def one_custom_model(name: str, in_dtype="float32", out_dtype="float32", out_shape=(2, 3), options=None,
                     num_outputs=1) -> bytes:
    tensors = [TensorSpec([2, 3], in_dtype, name="x")]
    tensors += [TensorSpec(list(out_shape), out_dtype, name="y%d" % i) for i in range(num_outputs)]
    outs = list(range(1, 1 + num_outputs))
    return build_graph(tensors, [OpSpec("CUSTOM", [0], outs, custom_code=name, custom_options=options)],
                       [0], outs)


def run(it: Interpreter, *inputs: np.ndarray) -> List[np.ndarray]:
    it.allocate_tensors()
    for d, x in zip(it.get_input_details(), inputs):
        it.set_tensor(d["index"], x)
    it.invoke()
    return [it.get_tensor(d["index"]) for d in it.get_output_details()]


def scale_shift_py(x, options):
    scale, shift = struct.unpack("<ff", options)
    return x * np.float32(scale) + np.float32(shift)


X = np.array([[1.0, -2.0, 0.5], [3.25, 0.0, -7.5]], np.float32)
EXPECTED = (X * np.float32(SCALE) + np.float32(SHIFT)) * X


# ------------------------------------------------------------------------------------------ C ops


def test_c_op_by_symbol_name(oplib):
    it = Interpreter(model_content=scale_shift_model(), custom_op_registerers=["TfcRegisterScaleShift"])
    (y,) = run(it, X)
    np.testing.assert_allclose(y, EXPECTED, rtol=1e-6)


def test_c_op_by_path_and_symbol(oplib):
    it = Interpreter(model_content=scale_shift_model(), custom_op_registerers=[f"{oplib}:TfcRegisterAll"])
    (y,) = run(it, X)
    np.testing.assert_allclose(y, EXPECTED, rtol=1e-6)


def test_c_op_through_the_tflite_micro_api(oplib):
    from tflite_cffi import runtime

    it = runtime.Interpreter.from_bytes(scale_shift_model(), custom_op_registerers=["TfcRegisterScaleShift"])
    it.set_input(X, 0)
    it.invoke()
    np.testing.assert_allclose(it.get_output(0), EXPECTED, rtol=1e-6)


def test_interpreter_with_custom_ops_class(oplib):
    it = InterpreterWithCustomOps(custom_op_registerers=["TfcRegisterScaleShift"],
                                  model_content=scale_shift_model(), num_threads=2)
    (y,) = run(it, X)
    np.testing.assert_allclose(y, EXPECTED, rtol=1e-6)


def test_registerer_callable_gets_options_address(oplib):
    seen = []

    def register(address: int):
        seen.append(address)
        fn = ctypes.CDLL(str(oplib)).TfcRegisterScaleShift
        fn.argtypes = [ctypes.c_void_p]
        return fn(address)

    it = Interpreter(model_content=scale_shift_model(), custom_op_registerers=[register])
    assert len(seen) == 1 and isinstance(seen[0], int) and seen[0]
    (y,) = run(it, X)
    np.testing.assert_allclose(y, EXPECTED, rtol=1e-6)


def test_python_op_gives_the_same_output(oplib):
    c_out = run(Interpreter(model_content=scale_shift_model(), custom_op_registerers=["TfcRegisterScaleShift"]),
                X)[0]
    py_out = run(Interpreter(model_content=scale_shift_model(), custom_ops={"TfcScaleShift": scale_shift_py}),
                 X)[0]
    np.testing.assert_allclose(py_out, EXPECTED, rtol=1e-6)
    np.testing.assert_allclose(py_out, c_out, rtol=1e-6)


def test_builtin_override_c(oplib):
    a = np.array([5.0, 1.0, -2.0, 0.5], np.float32)
    b = np.array([1.0, 4.0, 3.0, 0.25], np.float32)
    np.testing.assert_array_equal(run(Interpreter(model_content=add_model()), a, b)[0], a + b)
    it = Interpreter(model_content=add_model(), custom_op_registerers=["TfcRegisterSubtractAsAdd"])
    np.testing.assert_array_equal(run(it, a, b)[0], a - b)


def test_builtin_override_python():
    a = np.array([5.0, 1.0, -2.0, 0.5], np.float32)
    b = np.array([1.0, 4.0, 3.0, 0.25], np.float32)
    it = Interpreter(model_content=add_model(), custom_ops={"ADD": lambda x, y: x * y})
    np.testing.assert_array_equal(run(it, a, b)[0], a * b)


@pytest.mark.parametrize("impl", ["c", "python"])
def test_output_shaped_at_invoke(oplib, impl):
    if impl == "c":
        it = Interpreter(model_content=positive_model("TfcPositive"), custom_op_registerers=["TfcRegisterPositive"])
    else:
        it = Interpreter(model_content=positive_model("PyPositive"), custom_ops={"PyPositive": lambda x: x[x > 0]})
    it.allocate_tensors()
    out = it.get_output_details()[0]["index"]
    for x in (np.array([1, -1, 2, -2, 3, 0, -5, 0.5], np.float32),
              np.array([-1, -2, -3, -4, -5, -6, -7, -8], np.float32),
              np.array([9, 8, 7, 6, 5, 4, 3, 2], np.float32)):
        it.set_tensor(it.get_input_details()[0]["index"], x)
        it.invoke()
        np.testing.assert_array_equal(it.get_tensor(out), x[x > 0] ** 2)


def test_python_shape_fn_plans_outputs_at_allocation():
    calls = []

    def shape_fn(shapes):
        calls.append(shapes)
        (n, k), = shapes
        return [(2 * n, k)]

    op = CustomOp("PyTwice", lambda x: np.concatenate([x, x]), shape_fn=shape_fn)
    model = one_custom_model("PyTwice", out_shape=(4, 3))
    it = Interpreter(model_content=model, custom_ops=[op])
    it.resize_tensor_input(0, [5, 3])
    it.allocate_tensors()
    assert calls == [[(5, 3)]]
    assert it.get_output_details()[0]["shape"].tolist() == [10, 3]
    x = np.arange(15, dtype=np.float32).reshape(5, 3)
    it.set_tensor(0, x)
    it.invoke()
    np.testing.assert_array_equal(it.get_tensor(it.get_output_details()[0]["index"]), np.concatenate([x, x]))


def test_python_op_several_outputs_and_options():
    got = {}

    def split_signs(x, options):
        got["options"] = options
        return np.maximum(x, 0), np.minimum(x, 0)

    it = Interpreter(model_content=one_custom_model("PySplit", options=b"\x01\x02", num_outputs=2),
                     custom_ops={"PySplit": split_signs})
    pos, neg = run(it, X)
    np.testing.assert_array_equal(pos, np.maximum(X, 0))
    np.testing.assert_array_equal(neg, np.minimum(X, 0))
    assert got["options"] == b"\x01\x02"


def test_free_runs_when_the_interpreter_is_deleted(oplib):
    before = _free_count(oplib)
    it = Interpreter(model_content=scale_shift_model(), custom_op_registerers=["TfcRegisterScaleShift"])
    run(it, X)
    assert _free_count(oplib) == before
    it.close()
    assert _free_count(oplib) == before + 1


# ----------------------------------------------------------------------------------------- errors


def test_registerer_not_found():
    with pytest.raises(ValueError, match=r"no function 'TfcNoSuchRegisterer'.*RTLD_GLOBAL"):
        Interpreter(model_content=scale_shift_model(), custom_op_registerers=["TfcNoSuchRegisterer"])
    with pytest.raises(ValueError, match="cannot load"):
        Interpreter(model_content=scale_shift_model(), custom_op_registerers=["/nonexistent/lib.so:Register"])
    with pytest.raises(TypeError, match="neither a str"):
        Interpreter(model_content=scale_shift_model(), custom_op_registerers=[42])


def test_registerer_failure(oplib):
    with pytest.raises(ValueError, match=r"TfcRegisterNothingAndFail.*failed \(kTfLiteError\)"):
        Interpreter(model_content=scale_shift_model(), custom_op_registerers=["TfcRegisterNothingAndFail"])


def test_unregistered_custom_op_fails_at_construction(oplib):
    with pytest.raises(ValueError, match=r"custom op 'TfcScaleShift' version 1"):
        Interpreter(model_content=scale_shift_model())
    with pytest.raises(ValueError, match=r"custom op 'TfcScaleShift'"):   # another op does not help
        Interpreter(model_content=scale_shift_model(), custom_op_registerers=["TfcRegisterPositive"],
                    custom_ops={"Other": lambda x: x})


def test_c_invoke_error_names_op_and_node(oplib):
    it = Interpreter(model_content=one_custom_model("TfcFail"), custom_op_registerers=["TfcRegisterFail"])
    it.allocate_tensors()
    with pytest.raises(RuntimeError, match=r"TfcFail \(node 0\): TfcFail always fails \(1 inputs\)"):
        it.invoke()


def test_c_prepare_error_names_op_and_node(oplib):
    it = Interpreter(model_content=scale_shift_model(options=b"\0\0\0\0"),
                     custom_op_registerers=["TfcRegisterScaleShift"])
    with pytest.raises(RuntimeError, match=r"TfcScaleShift \(node 0\): custom_options must hold 2 float32"):
        it.allocate_tensors()


def test_python_exception_propagates_and_the_interpreter_recovers():
    state = {"fail": True}

    def flaky(x):
        if state["fail"]:
            raise ZeroDivisionError("no luck this time")
        return x + 1

    it = Interpreter(model_content=one_custom_model("PyFlaky"), custom_ops={"PyFlaky": flaky})
    it.allocate_tensors()
    it.set_tensor(0, X)
    with pytest.raises(ZeroDivisionError, match="no luck this time") as info:
        it.invoke()
    if hasattr(info.value, "__notes__"):
        assert any("PyFlaky (node 0)" in note for note in info.value.__notes__)
    state["fail"] = False
    it.invoke()
    np.testing.assert_array_equal(it.get_tensor(1), X + 1)


@pytest.mark.parametrize("fn, match", [
    (lambda x: x.astype(np.float64), r"returned float64 for output 0 \('y0'\), which is FLOAT32"),
    (lambda x: x[:1], r"returned shape \(1, 3\) for output 0 \('y0'\), which has shape \(2, 3\)"),
    (lambda x: (x, x), r"returned 2 array\(s\); the model gives it 1 output"),
])
def test_python_wrong_result(fn, match):
    it = Interpreter(model_content=one_custom_model("PyBad"), custom_ops={"PyBad": fn})
    it.allocate_tensors()
    it.set_tensor(0, X)
    with pytest.raises(ValueError, match=match):
        it.invoke()


def test_python_bad_shape_fn():
    op = CustomOp("PyBad", lambda x: x, shape_fn=lambda shapes: "nope")
    it = Interpreter(model_content=one_custom_model("PyBad"), custom_ops=[op])
    with pytest.raises(ValueError, match="shape_fn must return 1 shape"):
        it.allocate_tensors()


def test_custom_op_arguments():
    with pytest.raises(TypeError):
        CustomOp("X", 3)
    with pytest.raises(ValueError):
        CustomOp("", lambda x: x)
    with pytest.raises(TypeError, match="custom_ops"):
        Interpreter(model_content=one_custom_model("X"), custom_ops=5)


def test_no_reentry_from_a_python_op():
    holder = {}

    def reenter(x):
        holder["it"].invoke()
        return x

    it = Interpreter(model_content=one_custom_model("PyReenter"), custom_ops={"PyReenter": reenter})
    holder["it"] = it
    it.allocate_tensors()
    with pytest.raises(RuntimeError, match="called from inside a custom op"):
        it.invoke()


# ----------------------------------------------------------------------------------------- threads


def test_python_ops_from_several_threads():
    """Callbacks take the GIL back while invoke() runs without it; calls on one interpreter take turns
    (RLock), calls on different ones run in parallel: neither may deadlock."""
    model = one_custom_model("PySlow")
    shared = Interpreter(model_content=model, custom_ops={"PySlow": lambda x: x * 2})
    shared.allocate_tensors()
    errors = []

    def worker(k: int) -> None:
        try:
            own = Interpreter(model_content=model, custom_ops={"PySlow": lambda x: x * 2})
            own.allocate_tensors()
            x = X + k
            for _ in range(50):
                for it in (own, shared):
                    with it._lock:   # set + invoke + get as one step on the shared one
                        it.set_tensor(0, x)
                        it.invoke()
                        np.testing.assert_array_equal(it.get_tensor(1), x * 2)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads), "deadlock"
    assert not errors, errors


# -------------------------------------------------------------------------------------- C client


def test_c_client_adds_operator(tmp_path):
    tflite_cffi._lib.get_lib()
    exe = _compile(C_DIR / "custom_op_client.c", tmp_path / "custom_op_client", shared=False)
    tensors = [TensorSpec([6], name="x"), TensorSpec([6], name="y")]
    model = tmp_path / "cube.tflite"
    model.write_bytes(build_graph(tensors, [OpSpec("CUSTOM", [0], [1], custom_code="TfcCube")], [0], [1]))
    result = subprocess.run([str(exe), str(model)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.split("\n")
    assert "ok" in lines and "init 1 free 1" in lines
    out = np.array([float(v) for v in next(x for x in lines if x.startswith("out ")).split()[1:]], np.float32)
    x = np.array([1.0, -2.0, 0.5, 3.0, 0.0, -1.5], np.float32)
    np.testing.assert_array_equal(out, x * x * x)


def test_include_and_library_helpers():
    assert (Path(tflite_cffi.get_include()) / "tflite_cffi" / "c_api.h").is_file()
    assert Path(tflite_cffi.get_library()).is_file()


def test_builtin_operator_enum_matches_the_format():
    """TfLiteBuiltinOperator in c_api.h: TensorFlow Lite's names (kTfLiteBuiltin + the op's words
    capitalized) and the format's values, checked against the `tflite` package's BuiltinOperator."""
    from tflite.BuiltinOperator import BuiltinOperator

    from tflite_cffi._ffi import ffi

    lib = tflite_cffi._lib.get_lib()
    for name, value in vars(BuiltinOperator).items():
        if name.startswith("_"):
            continue
        c_name = "kTfLiteBuiltin" + "".join(w[:1].upper() + w[1:].lower() for w in name.split("_"))
        assert getattr(lib, c_name) == value, c_name
    assert lib.kTfLiteBuiltinCustom == 32 and lib.kTfLiteBuiltinConv2d == 3
    assert ffi.sizeof("TfLiteIntArray") == ffi.sizeof("int")
