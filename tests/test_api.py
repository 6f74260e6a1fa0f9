"""The Python API: tflite_cffi.Interpreter against the official runtime.

Most tests run twice, on ``tflite_cffi.Interpreter`` and, where
``ai_edge_litert`` imports, on the official ``Interpreter``: the same code must
pass on both (that is what "drop-in" means). Tests of tflite-cffi's additions
(close(), context manager, load_delegate, leak check...) run on ours only.
"""

from __future__ import annotations

import gc
import os
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

tflite_cffi = pytest.importorskip("tflite_cffi")
from tflite_cffi import _lib  # noqa: E402
from tflite_cffi import interpreter as cffi_interpreter  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
MODELS = Path(os.environ.get("TFLITE_CFFI_MODELS") or REPO.parent / "shared" / "models")
ZOO = sorted(p.name for p in MODELS.glob("*.tflite")) if MODELS.is_dir() else []
SELFTEST = Path(cffi_interpreter.__file__).resolve().parent / "data" / "selftest.tflite"


def _library_error():
    try:
        _lib.get_lib()
        return None
    except OSError as exc:
        return str(exc)


LIB_ERROR = _library_error()
needs_lib = pytest.mark.skipif(LIB_ERROR is not None, reason="native library: %s" % LIB_ERROR)


def _official():
    try:
        from ai_edge_litert import interpreter as official
    except Exception:  # noqa: BLE001 - any import failure means "not here"
        return None
    return official


@pytest.fixture(params=["tflite_cffi", "official"])
def rt(request):
    """The interpreter module under test: tflite_cffi.interpreter or ai_edge_litert.interpreter."""
    if request.param == "official":
        official = _official()
        if official is None:
            pytest.skip("ai-edge-litert (the official runtime) is not installed here")
        return official
    if LIB_ERROR is not None:
        pytest.skip("native library: %s" % LIB_ERROR)
    return cffi_interpreter


def model(name: str) -> str:
    path = MODELS / name
    if not path.is_file():
        pytest.skip("model zoo not found at %s (set TFLITE_CFFI_MODELS)" % MODELS)
    return str(path)


def ref(stem: str, what: str) -> np.ndarray:
    path = MODELS / "refs" / stem / what
    if not path.is_file():
        pytest.skip("no reference %s" % path)
    return np.load(str(path))


def is_ours(rt) -> bool:
    return rt is cffi_interpreter


# ------------------------------------------------------------------------ detail dictionaries

def assert_details_equal(ours: dict, theirs: dict, where: str = "") -> None:
    assert sorted(ours) == sorted(theirs), where
    for key in ("name", "index"):
        assert ours[key] == theirs[key] and type(ours[key]) is type(theirs[key]), (where, key)
    for key in ("shape", "shape_signature"):
        assert ours[key].dtype == theirs[key].dtype == np.int32, (where, key)
        assert ours[key].tolist() == theirs[key].tolist(), (where, key, ours[key], theirs[key])
    assert ours["dtype"] is theirs["dtype"], (where, ours["dtype"], theirs["dtype"])
    q, tq = ours["quantization"], theirs["quantization"]
    assert type(q) is tuple and [type(v) for v in q] == [type(v) for v in tq], where
    assert q == tq, (where, q, tq)
    qp, tqp = ours["quantization_parameters"], theirs["quantization_parameters"]
    assert sorted(qp) == sorted(tqp), where
    for key in ("scales", "zero_points"):
        assert qp[key].dtype == tqp[key].dtype, (where, key)
        np.testing.assert_array_equal(qp[key], tqp[key], err_msg="%s %s" % (where, key))
    for key in set(qp) - {"scales", "zero_points"}:
        assert qp[key] == tqp[key] and type(qp[key]) is type(tqp[key]), (where, key)
    assert ours["sparsity_parameters"] == theirs["sparsity_parameters"], where


@needs_lib
@pytest.mark.oracle
@pytest.mark.parametrize("name", ZOO or ["<no zoo>"])
def test_details_match_official(name, oracle):
    path = model(name)
    ours = tflite_cffi.Interpreter(model_path=path)
    theirs = oracle.Interpreter(model_path=path)
    assert ours.num_subgraphs() == theirs.num_subgraphs()
    assert ours.get_signature_list() == theirs.get_signature_list()
    assert list(ours.get_signature_list()) == list(theirs.get_signature_list())

    def compare(stage):
        for kind in ("get_input_details", "get_output_details"):
            a, b = getattr(ours, kind)(), getattr(theirs, kind)()
            assert len(a) == len(b)
            for x, y in zip(a, b):
                assert_details_equal(x, y, "%s %s %s" % (stage, kind, x["name"]))
        a = {d["index"]: d for d in ours.get_tensor_details()}
        b = {d["index"]: d for d in theirs.get_tensor_details()}
        if stage == "before allocate_tensors":
            assert sorted(a) == sorted(b)
        else:   # the official runtime adds unnamed scratch tensors when it allocates
            assert set(a) <= set(b)
        for index in sorted(a):
            assert_details_equal(a[index], b[index], "%s tensor %d" % (stage, index))
        for key in ours.get_signature_list():
            ra, rb = ours.get_signature_runner(key), theirs.get_signature_runner(key)
            for kind in ("get_input_details", "get_output_details"):
                da, db = getattr(ra, kind)(), getattr(rb, kind)()
                assert list(da) == list(db)
                for sig_name in da:
                    assert_details_equal(da[sig_name], db[sig_name],
                                         "%s signature %s %s" % (stage, key, sig_name))
            del ra, rb

    compare("before allocate_tensors")
    ours.allocate_tensors()
    theirs.allocate_tensors()
    compare("after allocate_tensors")
    if ours.num_subgraphs() > 1 and _lib.has("TfLiteCffiInterpreterGetSubgraphTensorCount"):
        for sg in range(1, ours.num_subgraphs()):
            a = {d["index"]: d for d in ours.get_tensor_details(sg)}
            b = {d["index"]: d for d in theirs.get_tensor_details(sg)}
            assert set(a) <= set(b)
            for index in sorted(a):
                assert_details_equal(a[index], b[index], "subgraph %d tensor %d" % (sg, index))
    ours.close()


def test_detail_types(rt):
    it = rt.Interpreter(model_path=model("mobilenet_v1_025_128_int8.tflite"))
    d = it.get_input_details()[0]
    assert isinstance(d["name"], str) and type(d["index"]) is int
    assert d["shape"].dtype == np.int32 and d["shape_signature"].dtype == np.int32
    assert d["dtype"] is np.int8
    scale, zero_point = d["quantization"]
    assert type(scale) is float and type(zero_point) is int and scale > 0
    qp = d["quantization_parameters"]
    assert qp["scales"].dtype == np.float32 and qp["zero_points"].dtype == np.int32
    assert type(qp["quantized_dimension"]) is int
    assert d["sparsity_parameters"] == {}
    per_channel = [t for t in it.get_tensor_details()
                   if len(t["quantization_parameters"]["scales"]) > 1]
    assert per_channel, "the int8 mobilenet has per-channel weights"
    for t in per_channel:
        assert t["quantization"] == (0.0, 0)     # the legacy pair is per-tensor only
        assert len(t["quantization_parameters"]["zero_points"]) == \
            len(t["quantization_parameters"]["scales"])


# ------------------------------------------------------------------------ misuse -> exceptions

@pytest.fixture
def mobilenet(rt):
    return rt.Interpreter(model_path=model("mobilenet_v1_025_128_float32.tflite"))


X128 = np.zeros((1, 128, 128, 3), np.float32)


def test_invoke_before_allocate_is_runtime_error(mobilenet):
    with pytest.raises(RuntimeError):
        mobilenet.invoke()


def test_get_tensor_before_allocate_is_value_error(mobilenet):
    index = mobilenet.get_input_details()[0]["index"]
    with pytest.raises(ValueError, match="allocate_tensors"):
        mobilenet.get_tensor(index)
    with pytest.raises(ValueError):
        mobilenet.tensor(index)()
    with pytest.raises(ValueError, match="allocate_tensors"):
        mobilenet.set_tensor(index, X128)


def test_set_tensor_misuse(mobilenet):
    mobilenet.allocate_tensors()
    index = mobilenet.get_input_details()[0]["index"]
    with pytest.raises(ValueError, match="FLOAT64"):
        mobilenet.set_tensor(index, X128.astype(np.float64))
    with pytest.raises(ValueError):
        mobilenet.set_tensor(index, X128.astype(np.uint8))
    with pytest.raises(ValueError, match="[Dd]imension"):
        mobilenet.set_tensor(index, np.zeros((1, 128, 128, 4), np.float32))
    with pytest.raises(ValueError, match="[Dd]imension"):
        mobilenet.set_tensor(index, np.zeros((128, 128, 3), np.float32))
    with pytest.raises(ValueError):
        mobilenet.set_tensor(index, [[1.0]])
    with pytest.raises(ValueError, match="999"):
        mobilenet.set_tensor(999, X128)
    with pytest.raises(ValueError):
        mobilenet.set_tensor(-1, X128)
    with pytest.raises(TypeError):
        mobilenet.set_tensor("0", X128)
    # Non-contiguous and Fortran-ordered values are copied correctly.
    value = np.random.default_rng(1).standard_normal((1, 128, 128, 6)).astype(np.float32)[..., ::2]
    mobilenet.set_tensor(index, value)
    np.testing.assert_array_equal(mobilenet.get_tensor(index), value)
    mobilenet.set_tensor(index, np.asfortranarray(value))
    np.testing.assert_array_equal(mobilenet.get_tensor(index), value)


def test_get_tensor_misuse(mobilenet):
    mobilenet.allocate_tensors()
    with pytest.raises(ValueError):
        mobilenet.get_tensor(999)
    with pytest.raises(ValueError):
        mobilenet.get_tensor(-1)
    with pytest.raises(ValueError):
        mobilenet.get_tensor(0, 1)
    with pytest.raises(ValueError):
        mobilenet.get_tensor(0, -1)
    with pytest.raises(ValueError):
        mobilenet.tensor(999)()
    with pytest.raises(ValueError):
        mobilenet.get_tensor_details(5)


def test_constructor_misuse(rt, tmp_path):
    path = model("mlp_64_float32.tflite")
    with pytest.raises(ValueError):
        rt.Interpreter()
    with pytest.raises(ValueError):
        rt.Interpreter(model_content=b"")
    with pytest.raises(ValueError):
        rt.Interpreter(model_path=path, model_content=open(path, "rb").read())
    with pytest.raises(ValueError):
        rt.Interpreter(model_path=str(tmp_path / "missing.tflite"))
    with pytest.raises(ValueError):
        rt.Interpreter(model_content=b"garbage!" * 16)
    bad = tmp_path / "bad.tflite"
    bad.write_bytes(b"\0" * 100)
    with pytest.raises(ValueError):
        rt.Interpreter(model_path=str(bad))
    for threads in (0, -1, "2", 1.5):
        with pytest.raises(ValueError):
            rt.Interpreter(model_path=path, num_threads=threads)
    with pytest.raises(ValueError):
        rt.Interpreter(model_path=path, experimental_op_resolver_type=5)
    for resolver in rt.OpResolverType:
        it = rt.Interpreter(model_path=path, experimental_op_resolver_type=resolver,
                            num_threads=1)
        it.allocate_tensors()
        it.invoke()
    rt.Interpreter(model_path=Path(path))                       # os.PathLike
    rt.Interpreter(model_path=path, experimental_preserve_all_tensors=True,
                   experimental_disable_delegate_clustering=True,
                   experimental_default_delegate_latest_features=True)


def test_resize_misuse(mobilenet):
    with pytest.raises(RuntimeError):
        mobilenet.resize_tensor_input(999, [1, 2])
    with pytest.raises(RuntimeError):    # batch is fixed (no -1) in shape_signature
        mobilenet.resize_tensor_input(0, [2, 128, 128, 3], strict=True)
    mobilenet.resize_tensor_input(0, [1, 128, 128, 3], strict=True)   # same shape: fine
    mobilenet.allocate_tensors()
    mobilenet.invoke()


def test_signature_misuse(rt):
    it = rt.Interpreter(model_path=model("mlp_64_float32.tflite"))
    with pytest.raises(ValueError):
        it.get_signature_runner("nope")
    runner = it.get_signature_runner()
    x = np.zeros((1, 64), np.float32)
    with pytest.raises(ValueError):
        runner(wrong_name=x)
    with pytest.raises(ValueError):
        runner()
    with pytest.raises(ValueError):
        runner(features=x.astype(np.float64))


# ------------------------------------------------------------------------ running

@pytest.mark.qemu
def test_invoke_matches_reference(rt):
    stem = "mlp_64_float32"
    it = rt.Interpreter(model_path=model(stem + ".tflite"), num_threads=1)
    it.allocate_tensors()
    assert it.allocate_tensors() is None
    x = ref(stem, "input_0.npy")
    it.set_tensor(it.get_input_details()[0]["index"], x)
    assert it.invoke() is None
    out = it.get_tensor(it.get_output_details()[0]["index"])
    np.testing.assert_allclose(out, ref(stem, "output_0.npy"), rtol=1e-4, atol=1e-5)
    # get_tensor returns a copy
    out[...] = 123
    assert not np.array_equal(it.get_tensor(it.get_output_details()[0]["index"]), out)
    assert it.reset_all_variables() is None


def test_signature_runner(rt):
    stem = "mlp_64_float32"
    it = rt.Interpreter(model_path=model(stem + ".tflite"))
    assert it.get_signature_list() == {
        "serving_default": {"inputs": ["features"], "outputs": ["output_0"]}}
    runner = it.get_signature_runner()
    inputs, outputs = runner.get_input_details(), runner.get_output_details()
    assert list(inputs) == ["features"] and list(outputs) == ["output_0"]
    assert inputs["features"]["index"] == it.get_input_details()[0]["index"]
    x = ref(stem, "input_0.npy")
    result = runner(features=x)
    assert list(result) == ["output_0"]
    np.testing.assert_allclose(result["output_0"], ref(stem, "output_0.npy"),
                               rtol=1e-4, atol=1e-5)
    again = it.get_signature_runner("serving_default")(features=x)
    np.testing.assert_array_equal(again["output_0"], result["output_0"])


def test_resize_dynamic_shape(rt):
    stem = "ops_dynamic_shape_float32"
    it = rt.Interpreter(model_path=model(stem + ".tflite"), num_threads=1)
    d = it.get_input_details()[0]
    assert d["shape_signature"].tolist() == [1, -1, -1]
    x = ref(stem, "input_0.npy")                                   # (1, 8, 16)
    it.resize_tensor_input(d["index"], list(x.shape), strict=True)
    it.allocate_tensors()
    assert it.get_input_details()[0]["shape"].tolist() == list(x.shape)
    it.set_tensor(d["index"], x)
    it.invoke()
    outs = [it.get_tensor(o["index"]) for o in it.get_output_details()]
    for i, out in enumerate(outs):
        np.testing.assert_allclose(out, ref(stem, "output_%d.npy" % i), rtol=1e-5, atol=1e-6)
    # another shape, twice, without strict
    for shape in ([1, 5, 7], [1, 3, 2]):
        y = np.random.default_rng(sum(shape)).standard_normal(shape).astype(np.float32)
        it.resize_tensor_input(d["index"], shape)
        it.allocate_tensors()
        it.set_tensor(d["index"], y)
        it.invoke()
        direct = {o["index"]: it.get_tensor(o["index"]) for o in it.get_output_details()}
        assert sorted(v.shape for v in direct.values()) == sorted([(1, shape[2]), (1, shape[1])])
        runner = it.get_signature_runner()
        result = runner(x=y)
        for name, detail in runner.get_output_details().items():
            np.testing.assert_array_equal(result[name], direct[detail["index"]])
        del runner
    with pytest.raises(RuntimeError):
        it.resize_tensor_input(d["index"], [2, 8, 16], strict=True)
    # the signature runner resizes by itself
    runner = it.get_signature_runner()
    result = runner(x=x)
    for name, detail in runner.get_output_details().items():
        i = [o["index"] for o in it.get_output_details()].index(detail["index"])
        np.testing.assert_allclose(result[name], ref(stem, "output_%d.npy" % i),
                                   rtol=1e-5, atol=1e-6)


@pytest.mark.qemu
def test_tensor_view_guard(rt):
    stem = "mlp_64_float32"
    it = rt.Interpreter(model_path=model(stem + ".tflite"), num_threads=1)
    it.allocate_tensors()
    in_index = it.get_input_details()[0]["index"]
    out_index = it.get_output_details()[0]["index"]
    x = ref(stem, "input_0.npy")
    view_fn = it.tensor(in_index)
    view = view_fn()
    assert view.shape == x.shape and view.dtype == x.dtype
    view[...] = x                                # writes go to the tensor
    with pytest.raises(RuntimeError):
        it.invoke()
    with pytest.raises(RuntimeError):
        it.allocate_tensors()
    with pytest.raises(RuntimeError):
        it.resize_tensor_input(in_index, [1, 64])
    part = view[0, :4]                           # a slice keeps the guard up
    del view
    with pytest.raises(RuntimeError):
        it.invoke()
    del part
    it.invoke()                                  # no view alive: fine
    out = it.tensor(out_index)().copy()
    np.testing.assert_allclose(out, ref(stem, "output_0.npy"), rtol=1e-4, atol=1e-5)
    view_fn()[...] = 0                           # a temporary view dies at once
    it.invoke()
    np.testing.assert_array_equal(it.get_tensor(in_index), np.zeros_like(x))


def test_num_subgraphs_and_subgraph_tensors(rt):
    it = rt.Interpreter(model_path=model("text_lstm_while_float32.tflite"))
    assert it.num_subgraphs() == 3
    if is_ours(rt) and not _lib.has("TfLiteCffiInterpreterGetSubgraphTensorCount"):
        pytest.skip("the library lacks TfLiteCffiInterpreterGetSubgraphTensorCount")
    assert len(it.get_tensor_details(1)) > 0
    with pytest.raises(ValueError):
        it.get_tensor_details(3)


# ------------------------------------------------------------------------ tflite-cffi only

@needs_lib
def test_delegates_are_refused():
    with pytest.raises(ValueError, match="not supported"):
        tflite_cffi.load_delegate("libedgetpu.so.1")
    with pytest.raises(ValueError, match="not supported"):
        tflite_cffi.Interpreter(model_path=str(SELFTEST), experimental_delegates=[object()])
    tflite_cffi.Interpreter(model_path=str(SELFTEST), experimental_delegates=[]).close()


@needs_lib
def test_model_content_buffers():
    data = SELFTEST.read_bytes()
    x = np.array([[1, 2, 3, 4]], np.float32)
    for content in (data, bytearray(data), memoryview(data), np.frombuffer(data, np.uint8)):
        it = tflite_cffi.Interpreter(model_content=content)
        if isinstance(content, bytearray):
            content[:] = b"\0" * len(content)     # a mutable buffer was copied
        it.allocate_tensors()
        it.set_tensor(0, x)
        it.invoke()
        np.testing.assert_allclose(it.get_tensor(it.get_output_details()[0]["index"]),
                                   [[11.0, 6.25, 9.0]])


@needs_lib
@pytest.mark.parametrize("name", ["mobilenet_v1_025_128_float32.tflite", "mobilenet_v1_025_128_int8.tflite"])
def test_weights_of_mapped_model_stay_readable(name):
    """Packed weights let the engine drop the mapped pages of the originals; reading them again (get_tensor,
    a second allocation, a second interpreter) must still give the file's bytes."""
    path = model(name)
    mapped = tflite_cffi.Interpreter(model_path=path)
    copied = tflite_cffi.Interpreter(model_content=Path(path).read_bytes())  # caller buffers are never dropped
    rng = np.random.default_rng(7)
    outputs = []
    for it in (mapped, copied):
        it.allocate_tensors()
        d = it.get_input_details()[0]
        x = rng.integers(-128, 128, d["shape"]) if d["dtype"] == np.int8 else rng.standard_normal(d["shape"])
        it.set_tensor(d["index"], x.astype(d["dtype"]))
        it.invoke()
        outputs.append(it.get_tensor(it.get_output_details()[0]["index"]))
        rng = np.random.default_rng(7)
    np.testing.assert_array_equal(outputs[0], outputs[1])
    lib = _lib.get_lib()
    constants = [t["index"] for t in copied.get_tensor_details()
                 if lib.TfLiteCffiTensorIsConstant(copied._tensor_ptr(t["index"]))]
    assert len(constants) > 20
    for i in constants:
        np.testing.assert_array_equal(mapped.get_tensor(i), copied.get_tensor(i))
    mapped.allocate_tensors()  # packs again from the (re-read) originals
    mapped.set_tensor(mapped.get_input_details()[0]["index"], x.astype(d["dtype"]))
    mapped.invoke()
    np.testing.assert_array_equal(mapped.get_tensor(mapped.get_output_details()[0]["index"]), outputs[1])


@needs_lib
def test_close_and_context_manager():
    with tflite_cffi.Interpreter(model_path=str(SELFTEST)) as it:
        it.allocate_tensors()
        runner = it.get_signature_runner()
        assert set(runner(x=np.ones((1, 4), np.float32))) == {"y"}
    for call in (it.allocate_tensors, it.invoke, it.get_input_details, it.num_subgraphs,
                 lambda: it.get_tensor(0), lambda: runner(x=np.ones((1, 4), np.float32))):
        with pytest.raises(ValueError, match="closed"):
            call()
    it.close()                                   # twice is fine
    assert "closed" in repr(it)


@needs_lib
def test_close_with_live_view_keeps_memory():
    it = tflite_cffi.Interpreter(model_path=str(SELFTEST))
    it.allocate_tensors()
    it.set_tensor(0, np.array([[1, 2, 3, 4]], np.float32))
    view = it.tensor(0)()
    it.close()
    np.testing.assert_array_equal(view, [[1, 2, 3, 4]])   # still valid memory
    del view
    gc.collect()


@needs_lib
def test_unsupported_operator_message_names_it():
    opgen = pytest.importorskip("opgen")
    pytest.importorskip("flatbuffers")
    pytest.importorskip("tflite")
    from opgen.builder import OpSpec, TensorSpec, build_graph
    content = build_graph([TensorSpec((1, 4), name="a"), TensorSpec((1, 4), name="b")],
                          [OpSpec("ADD", [0, 0], [1], {}, version=99)], [0], [1])
    del opgen
    with pytest.raises(ValueError, match="ADD"):
        tflite_cffi.Interpreter(model_content=content)


def _rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@needs_lib
@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="needs /proc (Linux)")
@pytest.mark.skipif("libasan" in os.environ.get("LD_PRELOAD", ""),
                    reason="under AddressSanitizer RSS includes its quarantine of freed memory; LeakSanitizer "
                           "checks leaks in `invoke fuzz`")
def test_no_leak_over_many_cycles():
    content = SELFTEST.read_bytes()
    x = np.array([[1, 2, 3, 4]], np.float32)

    def cycle(n):
        for _ in range(n):
            it = tflite_cffi.Interpreter(model_content=content, num_threads=1)
            it.allocate_tensors()
            it.set_tensor(0, x)
            it.invoke()
            it.get_tensor(3)
            it.close()

    cycle(500)                                   # warm up allocator pools and caches
    gc.collect()
    before = _rss_bytes()
    start = time.perf_counter()
    cycle(10000)
    elapsed = time.perf_counter() - start
    gc.collect()
    growth = _rss_bytes() - before
    assert growth < 4 * 1024 * 1024, "RSS grew by %.1f MB over 10,000 cycles" % (growth / 2**20)
    assert elapsed < 30, "10,000 cycles took %.1f s" % elapsed


def _busy_overlap(intervals_a, intervals_b) -> float:
    """Seconds during which both threads were inside invoke()."""
    total = 0.0
    for a0, a1 in intervals_a:
        for b0, b1 in intervals_b:
            lo, hi = max(a0, b0), min(a1, b1)
            if hi > lo:
                total += hi - lo
    return total


def test_invoke_releases_the_gil(rt):
    """Two interpreters invoked from two threads run at the same time.

    Measured as overlap of the [start, end] intervals of the invoke() calls in
    the two threads: with the GIL held they would never overlap (the other
    thread could not even read the clock), so a loaded machine or a single
    core does not make this flaky.
    """
    path = model("mobilenet_v1_025_128_float32.tflite")
    x = ref("mobilenet_v1_025_128_float32", "input_0.npy")
    its = []
    for _ in range(2):
        it = rt.Interpreter(model_path=path, num_threads=1)
        it.allocate_tensors()
        it.set_tensor(it.get_input_details()[0]["index"], x)
        it.invoke()
        its.append(it)
    t0 = time.perf_counter()
    its[0].invoke()
    single = time.perf_counter() - t0
    runs = max(3, min(40, int(0.5 / max(single, 1e-4))))
    intervals = [[], []]
    barrier = threading.Barrier(2)

    def work(k):
        barrier.wait()
        for _ in range(runs):
            start = time.perf_counter()
            its[k].invoke()
            intervals[k].append((start, time.perf_counter()))

    threads = [threading.Thread(target=work, args=(k,)) for k in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    busy = min(sum(b - a for a, b in iv) for iv in intervals)
    overlap = _busy_overlap(*intervals)
    assert overlap > 0.25 * busy, (
        "invoke() calls in two threads overlapped %.1f%% of the time: is the GIL released?"
        % (100 * overlap / busy))


# ------------------------------------------------------------------------ package extras

@pytest.mark.qemu
@needs_lib
def test_postinstall_check_passes():
    from tflite_cffi import postinstall_check
    ok, report = postinstall_check.run()
    assert ok, "\n".join(report)
    assert postinstall_check.passed() is True


def test_selftest_model_is_reproducible():
    """data/selftest.tflite is what tests/opgen writes for the documented op."""
    pytest.importorskip("flatbuffers")
    pytest.importorskip("tflite")
    from opgen import TensorSpec, build_model
    from tflite_cffi import postinstall_check as pc
    content = build_model(
        "FULLY_CONNECTED",
        inputs=[TensorSpec((1, 4), name="x"),
                TensorSpec((3, 4), data=pc.WEIGHTS, name="weights"),
                TensorSpec((3,), data=pc.BIAS, name="bias")],
        outputs=[TensorSpec((1, 3), name="y")],
        options={"fused_activation_function": "NONE"})
    assert content == SELFTEST.read_bytes()


def test_exports():
    assert tflite_cffi.Interpreter is cffi_interpreter.Interpreter
    assert {m.name for m in tflite_cffi.OpResolverType} == {
        "AUTO", "BUILTIN", "BUILTIN_REF", "BUILTIN_WITHOUT_DEFAULT_DELEGATES"}
    assert issubclass(tflite_cffi.InterpreterError, RuntimeError)
    assert (Path(tflite_cffi.__file__).parent / "py.typed").is_file()
    assert sys.modules["tflite_cffi.interpreter"].SignatureRunner is tflite_cffi.SignatureRunner


@needs_lib
def test_core_api_only_library(monkeypatch):
    """With a library that has only TensorFlow Lite's C API (no TfLiteCffi*
    extensions, e.g. an official libtensorflowlite_c), the core still works."""
    import re
    from tflite_cffi import _ffi
    normal = tflite_cffi.Interpreter(model_path=str(SELFTEST))
    expected = normal.get_input_details() + normal.get_output_details()
    for name in set(re.findall(r"\b(TfLiteCffi\w+)\s*\(", _ffi.CDEF)):
        monkeypatch.setitem(_lib._has_cache, name, False)
    it = tflite_cffi.Interpreter(model_path=str(SELFTEST))
    assert it.num_subgraphs() == 1
    assert it.get_signature_list() == normal.get_signature_list()
    for got, want in zip(it.get_input_details() + it.get_output_details(), expected):
        assert_details_equal(got, want)
    it.allocate_tensors()
    it.set_tensor(0, np.array([[1, 2, 3, 4]], np.float32))
    it.invoke()
    np.testing.assert_allclose(it.get_tensor(3), [[11.0, 6.25, 9.0]])
    runner = it.get_signature_runner()
    assert runner.get_input_details()["x"]["index"] == 0
    np.testing.assert_allclose(runner(x=np.zeros((1, 4), np.float32))["y"], [[0.5, -1.0, 2.0]])
    with pytest.raises(ValueError):
        it.get_tensor(0, 1)
    it.close()
