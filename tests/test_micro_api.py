"""tflite_cffi.runtime: tflite_micro's Python ``runtime`` API on tflite-cffi's engine.

A script written for tflite_micro must run with only its import changed. Where the
``tflite-micro`` package installs (x86_64 wheels), the same script runs on both and the
outputs, detail dictionaries and errors are compared directly; recurrent state and
numbers are also checked against the official TensorFlow Lite runtime.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
import pytest

tflite_cffi = pytest.importorskip("tflite_cffi")
from tflite_cffi import runtime  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
MODELS = Path(os.environ.get("TFLITE_CFFI_MODELS") or REPO.parent / "shared" / "models")

# Models tflite_micro runs too (its kernels), with integer outputs bit-exact to TensorFlow Lite's.
EXACT = ["mlp_64_int8", "kws_conv1d_int8", "kws_conv1d_uint8io", "ops_dynamic_shape_int8"]
FLOAT = ["mlp_64_float32", "kws_conv1d_float32"]


def _model(stem: str) -> str:
    path = MODELS / (stem + ".tflite")
    if not path.is_file():
        pytest.skip("model zoo not found (%s)" % path)
    return str(path)


def _micro():
    try:
        from tflite_micro import runtime as micro
    except Exception:  # noqa: BLE001 - any import failure means "not here"
        return None
    return micro


_skip_without_micro = pytest.mark.skipif(_micro() is None, reason="tflite-micro (the reference) is not installed")


def needs_micro(test):
    """A comparison with tflite-micro: skipped where it is not installed, marked ``oracle`` (a reference runtime,
    left out of the sanitizer sessions, where it is not instrumented and aborts)."""
    return pytest.mark.oracle(_skip_without_micro(test))

# A script as written for tflite_micro; the tests run it with the import changed.
SCRIPT = '''
from tflite_micro import runtime
import numpy as np

def run(model_path, seed):
    interpreter = runtime.Interpreter.from_file(model_path)
    details = interpreter.get_input_details(0)
    rng = np.random.default_rng(seed)
    dtype = details["dtype"]
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        x = rng.integers(max(info.min, -128), min(info.max, 127), size=details["shape"]).astype(dtype)
    else:
        x = rng.standard_normal(details["shape"]).astype(dtype)
    interpreter.set_input(x, 0)
    interpreter.invoke()
    first = interpreter.get_output(0)
    interpreter.reset()
    interpreter.set_input(x, 0)
    interpreter.invoke()
    again = interpreter.get_output(0)
    out = interpreter.get_output_details(0)
    return first, again, details, out
'''


def _run_script(module_name: str, stem: str, seed: int = 0):
    source = SCRIPT.replace("from tflite_micro import runtime", "from %s import runtime" % module_name)
    namespace: dict = {}
    exec(compile(source, "<tflite_micro script>", "exec"), namespace)  # noqa: S102
    return namespace["run"](_model(stem), seed)


def _same_details(a, b):
    assert set(a) == set(b)
    assert a["dtype"] == b["dtype"]
    np.testing.assert_array_equal(a["shape"], b["shape"])
    assert a["shape"].dtype == b["shape"].dtype
    qa, qb = a["quantization_parameters"], b["quantization_parameters"]
    assert set(qa) == set(qb)
    for key in ("scales", "zero_points"):
        assert qa[key].dtype == qb[key].dtype
        np.testing.assert_array_equal(qa[key], qb[key])
    assert qa["quantized_dimension"] == qb["quantized_dimension"]


@pytest.mark.parametrize("stem", EXACT + FLOAT)
def test_script_runs_with_only_the_import_changed(stem):
    first, again, details, out = _run_script("tflite_cffi", stem)
    np.testing.assert_array_equal(first, again)
    assert first.dtype == out["dtype"] and list(first.shape) == list(out["shape"])
    assert set(details) == {"dtype", "shape", "quantization_parameters"}


@needs_micro
@pytest.mark.parametrize("stem", EXACT + FLOAT)
def test_same_results_as_tflite_micro(stem):
    ours = _run_script("tflite_cffi", stem, seed=3)
    ref = _run_script("tflite_micro", stem, seed=3)
    if stem in EXACT:
        np.testing.assert_array_equal(ours[0], ref[0])
    else:
        np.testing.assert_allclose(ours[0], ref[0], rtol=1e-5, atol=1e-6)
    assert ours[0].dtype == ref[0].dtype and ours[0].shape == ref[0].shape
    _same_details(ours[2], ref[2])
    _same_details(ours[3], ref[3])


def _errors(module, path):
    """(exception type, message) of each misuse, on one module."""
    it = module.Interpreter.from_file(path)
    d = it.get_input_details(0)
    good = np.zeros(d["shape"], d["dtype"])
    cases = {
        "dtype": lambda: it.set_input(good.astype(np.float32), 0),
        "list": lambda: it.set_input(np.zeros(d["shape"]).tolist(), 0),
        "shape": lambda: it.set_input(np.zeros([1, 3], d["dtype"]), 0),
        "rank": lambda: it.set_input(np.zeros([3], d["dtype"]), 0),
        "input index": lambda: it.set_input(good, 5),
        "negative index": lambda: it.set_input(good, -1),
        "no data": lambda: it.set_input(None, 0),
        "float index": lambda: it.set_input(good, 0.0),
        "output index": lambda: it.get_output(3),
        "input details index": lambda: it.get_input_details(3),
        "output details index": lambda: it.get_output_details(-2),
        "GetTensor": lambda: it.GetTensor(0, 0),
        "no file": lambda: module.Interpreter.from_file(path + ".missing"),
        "no model": lambda: module.Interpreter.from_bytes(None),
        "registerers": lambda: module.Interpreter.from_file(path, custom_op_registerers="x"),
    }
    result = {}
    for name, call in cases.items():
        try:
            call()
            result[name] = (None, "")
        except Exception as exc:  # noqa: BLE001 - the exception is what is compared
            result[name] = (type(exc), str(exc))
    return result


def test_errors():
    errors = _errors(runtime, _model("mlp_64_int8"))
    expected = {
        "dtype": (ValueError, "Cannot set tensor: Got value of type FLOAT32 but expected type INT8 for input 0"),
        "list": (ValueError, "Cannot set tensor: Got value of type FLOAT64 but expected type INT8 for input 0"),
        "shape": (ValueError, "Cannot set tensor: Dimension mismatch. Got 3 but expected 64 for dimension 1 "
                              "of input 0"),
        "rank": (ValueError, "Cannot set tensor: Dimension mismatch. Got 1 but expected 2 for input 0"),
        "input index": (IndexError, "Tensor is out of bound, please check tensor index."),
        "negative index": (ValueError, "Index must be a non-negative integer"),
        "no data": (ValueError, "Input data must not be None"),
        "float index": (TypeError, ""),
        "output index": (IndexError, "Tensor is out of bound, please check tensor index."),
        "input details index": (IndexError, "Tensor is out of bound, please check tensor index."),
        "output details index": (ValueError, "Index must be a non-negative integer"),
        "GetTensor": (RuntimeError, ""),
        "no file": (ValueError, "Invalid model file path"),
        "no model": (ValueError, "Model must not be None"),
        "registerers": (ValueError, "Custom ops registerers must be a list of strings"),
    }
    for name, (kind, start) in expected.items():
        got_kind, message = errors[name]
        assert got_kind is kind, (name, got_kind, message)
        assert message.startswith(start), (name, message)


@needs_micro
def test_errors_match_tflite_micro():
    path = _model("mlp_64_int8")
    ours, ref = _errors(runtime, path), _errors(_micro(), path)
    assert set(ours) == set(ref)
    for name in ours:
        assert ours[name][0] is ref[name][0], (name, ours[name], ref[name])
        # tflite_micro's message, then (ours) the details it lacks
        if ref[name][0] in (ValueError, IndexError):
            assert ours[name][1].startswith(ref[name][1].split(", name:")[0]), (name, ours[name], ref[name])


def _lstm_inputs(it, count):
    d = it.get_input_details(0)
    rng = np.random.default_rng(7)
    return [rng.integers(1, 40, size=d["shape"]).astype(d["dtype"]) for _ in range(count)]


@pytest.mark.parametrize("stem", ["text_lstm_fused_float32", "text_lstm_fused_int8"])
def test_reset_restores_recurrent_state(stem, oracle):
    it = runtime.Interpreter.from_file(_model(stem))
    variables = [p["tensor"] for p in it.get_allocations()["persistent"] if p["kind"] == "variable"]
    assert len(variables) == 2
    initial = [it.interpreter.get_tensor(v) for v in variables]
    xs = _lstm_inputs(it, 3)
    outputs = []
    for x in xs:
        it.set_input(x, 0)
        it.invoke()
        outputs.append(it.get_output(0))
    assert any(not np.array_equal(a, b) for a, b in zip(initial, (it.interpreter.get_tensor(v) for v in variables)))
    it.reset()
    for v, start in zip(variables, initial):
        np.testing.assert_array_equal(it.interpreter.get_tensor(v), start)
    it.set_input(xs[0], 0)
    it.invoke()
    np.testing.assert_array_equal(it.get_output(0), outputs[0])
    # The state carried from invoke to invoke is TensorFlow Lite's (the official runtime's outputs).
    ref = oracle.Interpreter(model_path=_model(stem),
                             experimental_op_resolver_type=oracle.OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
    ref.allocate_tensors()
    for x, ours in zip(xs, outputs):
        ref.set_tensor(ref.get_input_details()[0]["index"], x)
        ref.invoke()
        expected = ref.get_tensor(ref.get_output_details()[0]["index"])
        if expected.dtype == np.float32:
            np.testing.assert_allclose(ours, expected, rtol=1e-5, atol=1e-6)
        else:
            np.testing.assert_array_equal(ours, expected)
    if stem.endswith("float32"):
        assert not np.array_equal(outputs[0], outputs[1]), "the state does change the output"


def test_arena_size_caps_the_arena(capsys):
    path = _model("kws_conv1d_int8")
    it = runtime.Interpreter.from_file(path)
    head = it.get_allocations()["head"]
    with pytest.raises(RuntimeError, match="needs an arena of %d bytes" % head):
        runtime.Interpreter.from_file(path, arena_size=head - 1)
    fits = runtime.Interpreter.from_bytes(Path(path).read_bytes(), arena_size=head)
    assert fits.get_allocations()["head"] == head
    for bad in (0, -5, 1.5, "1k"):
        with pytest.raises(ValueError, match="arena_size"):
            runtime.Interpreter.from_file(path, arena_size=bad)
    fits.print_allocations()
    err = capsys.readouterr().err
    total = int(re.search(r"Arena allocation total (\d+) bytes", err).group(1))
    report = fits.get_allocations()
    assert total == report["head"] + report["tail"]


def test_interpreter_config_and_get_tensor():
    path = _model("mlp_64_int8")
    assert [m.name for m in runtime.InterpreterConfig] == ["kAllocationRecording", "kPreserveAllTensors"]
    assert [m.value for m in runtime.InterpreterConfig] == [0, 1]
    for keyword in ("intrepreter_config", "interpreter_config"):
        it = runtime.Interpreter.from_file(path, **{keyword: runtime.InterpreterConfig.kPreserveAllTensors})
        d = it.get_input_details(0)
        x = np.arange(64, dtype=np.int8).reshape(d["shape"])
        it.set_input(x, 0)
        it.invoke()
        got = it.GetTensor(0, 0)
        assert set(got) == {"dtype", "shape", "tensor_data"}
        np.testing.assert_array_equal(got["tensor_data"], x)
        # an intermediate stays readable: the first layer's output feeds the next one
        inner = [t for t in it.interpreter.get_tensor_details() if t["name"].endswith("Relu")][0]
        assert it.GetTensor(inner["index"], 0)["tensor_data"].shape == tuple(inner["shape"])
        with pytest.raises(IndexError):
            it.GetTensor(10_000, 0)
    with pytest.raises(ValueError, match="InterpreterConfig"):
        runtime.Interpreter.from_file(path, intrepreter_config=1)


def test_unsupported_model_and_registerers():
    with pytest.raises(RuntimeError, match="not a valid .tflite|TFL3"):
        runtime.Interpreter.from_bytes(b"not a model at all, just bytes" * 4)
    path = _model("mlp_64_int8")
    with pytest.raises(RuntimeError, match="TfcNoSuchRegisterer"):
        runtime.Interpreter.from_file(path, custom_op_registerers=["TfcNoSuchRegisterer"])
    assert runtime.Interpreter.from_file(path, custom_op_registerers=[]).invoke() == 0


@needs_micro
def test_module_surface_matches_tflite_micro():
    micro = _micro()
    public = {n for n in dir(micro.Interpreter) if not n.startswith("_")}
    assert public <= {n for n in dir(runtime.Interpreter) if not n.startswith("_")}
    assert [(m.name, m.value) for m in micro.InterpreterConfig] == \
        [(m.name, m.value) for m in runtime.InterpreterConfig]
