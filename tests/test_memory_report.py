"""The memory report: TfLiteCffiInterpreterGetAllocations / Interpreter.get_allocations().

Checked against what the engine really does, not against the report itself: every arena
tensor's data pointer is the arena's start plus its reported offset; blocks alive at the
same time never share bytes; lifetimes equal the first and last use computed here from
the model's graph (with the ``tflite`` schema package); the arena total equals
TfLiteCffiInterpreterGetArenaBytes; and the heap the process really gained while the
interpreter was made (glibc's mallinfo2) matches head + tail.
"""

from __future__ import annotations

import ctypes
import io
import os
import re
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

tflite_cffi = pytest.importorskip("tflite_cffi")
from tflite_cffi import _lib  # noqa: E402
from tflite_cffi._lib import ffi  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
MODELS = Path(os.environ.get("TFLITE_CFFI_MODELS") or REPO.parent / "shared" / "models")

# Single- and multi-subgraph models, float, quantized, fp16 (folded weights), recurrent (variables).
REPORT_MODELS = ["mlp_64_int8", "kws_conv1d_int8", "mlp_64_fp16", "text_lstm_fused_float32",
                 "text_lstm_fused_int8", "text_lstm_while_float32", "mobilenet_v1_025_128_int8"]


def _model(stem: str) -> Path:
    path = MODELS / (stem + ".tflite")
    if not path.is_file():
        pytest.skip("model zoo not found (%s)" % path)
    return path


def _interpreter(stem: str, **kwargs) -> tflite_cffi.Interpreter:
    it = tflite_cffi.Interpreter(model_path=str(_model(stem)), **kwargs)
    it.allocate_tensors()
    return it


def _c_report(it):
    lib, handle = _lib.get_lib(), it._handle()
    summary = ffi.new("TfLiteCffiAllocationSummary*")
    assert lib.TfLiteCffiInterpreterGetAllocationSummary(handle, summary) == 0
    entries = ffi.new("TfLiteCffiAllocation[]", summary.count)
    assert lib.TfLiteCffiInterpreterGetAllocations(handle, entries, summary.count) == summary.count
    fields = ("kind", "subgraph", "tensor", "node", "first_node", "last_node", "offset", "bytes")
    return summary, [SimpleNamespace(**{f: int(getattr(e, f)) for f in fields}) for e in entries]


def _tensor_ptr(it, subgraph: int, index: int):
    lib = _lib.get_lib()
    if subgraph == 0:
        return lib.TfLiteInterpreterGetTensor(it._handle(), index)
    return lib.TfLiteCffiInterpreterGetSubgraphTensor(it._handle(), subgraph, index)


def _graph_lifetimes(path: Path):
    """{subgraph: {tensor: (first, last)}} of every non-constant tensor, from the model file alone:
    first and last node that reads or writes it; graph inputs from 0 and graph inputs and outputs
    until the node count (kept until the next invoke)."""
    schema = pytest.importorskip("tflite")
    model = schema.Model.GetRootAsModel(path.read_bytes(), 0)
    result = {}
    for s in range(model.SubgraphsLength()):
        g = model.Subgraphs(s)
        n = g.OperatorsLength()
        life = {}

        def touch(t, step, life=life):
            if t < 0:
                return
            first, last = life.get(t, (step, step))
            life[t] = (min(first, step), max(last, step))

        for i in range(n):
            op = g.Operators(i)
            for t in list(op.InputsAsNumpy() if op.InputsLength() else []) + \
                    list(op.OutputsAsNumpy() if op.OutputsLength() else []) + \
                    list(op.IntermediatesAsNumpy() if op.IntermediatesLength() else []):
                touch(int(t), i)
        for t in (g.InputsAsNumpy() if g.InputsLength() else []):
            touch(int(t), 0)
            touch(int(t), n)
        for t in (g.OutputsAsNumpy() if g.OutputsLength() else []):
            touch(int(t), n)
        constant = set()
        for t in range(g.TensorsLength()):
            tensor = g.Tensors(t)
            buf = model.Buffers(tensor.Buffer())
            if (buf is not None and buf.DataLength() > 0) or tensor.IsVariable():
                constant.add(t)
        result[s] = {t: v for t, v in life.items() if t not in constant}
    return result


@pytest.mark.parametrize("stem", REPORT_MODELS)
def test_report_matches_the_arena(stem):
    it = _interpreter(stem)
    lib = _lib.get_lib()
    summary, entries = _c_report(it)
    assert summary.planned
    assert summary.arena_bytes == lib.TfLiteCffiInterpreterGetArenaBytes(it._handle()) > 0
    align = summary.arena_alignment
    assert align == 64
    base = int(ffi.cast("uintptr_t", summary.arena_base))
    arena = [e for e in entries if e.kind in (lib.kTfLiteCffiAllocArenaTensor, lib.kTfLiteCffiAllocArenaScratch)]
    persistent = [e for e in entries if e.kind not in (lib.kTfLiteCffiAllocArenaTensor,
                                                      lib.kTfLiteCffiAllocArenaScratch)]
    assert summary.persistent_bytes == sum(e.bytes for e in persistent) == \
        lib.TfLiteCffiInterpreterGetPersistentBytes(it._handle())
    # Tensor data really lives at arena start + offset.
    for e in arena:
        assert e.offset % align == 0
        assert e.offset + e.bytes <= summary.arena_bytes
        if e.kind == lib.kTfLiteCffiAllocArenaTensor:
            ptr = _tensor_ptr(it, e.subgraph, e.tensor)
            assert int(ffi.cast("uintptr_t", lib.TfLiteTensorData(ptr))) == base + e.offset
            assert lib.TfLiteTensorByteSize(ptr) == e.bytes
        else:
            assert e.tensor == -1 and e.first_node == e.last_node == e.node
    # The arena ends where the last block (rounded) ends.
    assert summary.arena_bytes == max(e.offset + (e.bytes + align - 1) // align * align for e in arena)
    # Blocks alive at the same time (or of different subgraphs) do not share bytes.
    for i, a in enumerate(arena):
        for b in arena[i + 1:]:
            if not (a.bytes and b.bytes):
                continue
            concurrent = a.subgraph != b.subgraph or not (a.last_node < b.first_node or b.last_node < a.first_node)
            if concurrent:
                assert a.offset + a.bytes <= b.offset or b.offset + b.bytes <= a.offset, (a, b)
    # Lifetimes are the graph's own, computed here from the model file.
    lifetimes = _graph_lifetimes(_model(stem))
    planned = {(e.subgraph, e.tensor): (e.first_node, e.last_node) for e in arena
               if e.kind == lib.kTfLiteCffiAllocArenaTensor}
    for (sg, t), life in planned.items():
        assert lifetimes[sg][t] == life, (sg, t)
    held = {(e.subgraph, e.tensor) for e in persistent if e.tensor >= 0}  # folded, dynamic
    for sg in range(it.num_subgraphs()):
        if any(k[0] == sg for k in planned):  # a prepared subgraph places every non-constant tensor
            assert {t for (s, t) in planned if s == sg} | {t for (s, t) in held if s == sg} == \
                set(lifetimes[sg]) | {t for (s, t) in held if s == sg and t not in lifetimes[sg]}
            assert not {t for (s, t) in planned if s == sg} & {t for (s, t) in held if s == sg}


@pytest.mark.parametrize("stem", REPORT_MODELS)
def test_python_report_and_printout(stem):
    it = _interpreter(stem)
    lib = _lib.get_lib()
    report = it.get_allocations()
    summary, entries = _c_report(it)
    assert report["head"] == lib.TfLiteCffiInterpreterGetArenaBytes(it._handle())
    assert report["tail"] == lib.TfLiteCffiInterpreterGetPersistentBytes(it._handle())
    assert report["total"] == report["head"] + report["tail"]
    assert report["tail"] == sum(p["bytes"] for p in report["persistent"])
    assert len(report["tensors"]) + len(report["scratch"]) + len(report["persistent"]) == len(entries)
    details = {(0, d["index"]): d["name"] for d in it.get_tensor_details()}
    for t in report["tensors"]:
        if t["subgraph"] == 0:
            assert details[(0, t["index"])] == t["name"]
    out = io.StringIO()
    it.print_allocations(file=out)
    text = out.getvalue()
    numbers = {k: int(v) for k, v in re.findall(r"Arena allocation (total|head|tail) (\d+) bytes", text)}
    assert numbers == {"total": report["total"], "head": summary.arena_bytes, "tail": summary.persistent_bytes}
    out = io.StringIO()
    it.print_allocations(file=out, verbose=True)
    assert len(out.getvalue().splitlines()) > len(text.splitlines()) + len(report["tensors"])


def test_variables_folded_and_kernel_data():
    lstm = _interpreter("text_lstm_fused_float32")
    variables = [p for p in lstm.get_allocations()["persistent"] if p["kind"] == "variable"]
    schema = pytest.importorskip("tflite")
    g = schema.Model.GetRootAsModel(_model("text_lstm_fused_float32").read_bytes(), 0).Subgraphs(0)
    expected = {t: int(np.prod(g.Tensors(t).ShapeAsNumpy())) * 4 for t in range(g.TensorsLength())
                if g.Tensors(t).IsVariable()}
    assert {v["tensor"]: v["bytes"] for v in variables} == expected
    fp16 = _interpreter("mlp_64_fp16")
    report = fp16.get_allocations()
    folded = [p for p in report["persistent"] if p["kind"] == "folded"]
    assert folded, "fp16 weights are dequantized once, at allocation"
    for p in folded:  # float32 copies of the fp16 weights
        d = fp16._get_tensor_details(p["tensor"])
        assert p["bytes"] == int(np.prod(d["shape"])) * 4
    # FULLY_CONNECTED float kernels keep their weights packed: at least the weights' bytes.
    fc = {p["node"]: p["bytes"] for p in report["persistent"] if p["kind"] == "kernel_data"}
    assert fc and all(op == "FULLY_CONNECTED" for op in
                      (p["op"] for p in report["persistent"] if p["kind"] == "kernel_data"))
    # one FULLY_CONNECTED per folded weight matrix, each keeping at least that matrix packed
    assert len(fc) == len(folded)
    for kept, weights in zip(sorted(fc.values()), sorted(p["bytes"] for p in folded)):
        assert kept >= weights


def test_large_batch1_weights_are_not_packed():
    """A batch of one reads weights of 1 MiB or more where they are (gemm::DotRows): MobileNet v2's
    1280 -> 1000 classifier keeps no packed copy, its 1x1 convolutions over many pixels do."""
    it = _interpreter("mobilenet_v2_100_224_float32")
    kept = {}
    for p in it.get_allocations()["persistent"]:
        if p["kind"] == "kernel_data":
            kept.setdefault(p["op"], []).append(p["bytes"])
    assert "FULLY_CONNECTED" not in kept
    assert max(kept["CONV_2D"]) >= 320 * 1280 * 4  # the last 1x1 convolution, packed


def _heap_in_use() -> int:
    if "san" in os.environ.get("LD_PRELOAD", ""):
        pytest.skip("a sanitizer's allocator is preloaded: glibc's heap statistics do not see it")
    libc = ctypes.CDLL(None)
    if not hasattr(libc, "mallinfo2"):
        pytest.skip("glibc mallinfo2 is not available")

    class MallInfo2(ctypes.Structure):
        _fields_ = [(name, ctypes.c_size_t) for name in (
            "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
            "fordblks", "keepcost")]

    libc.mallinfo2.restype = MallInfo2
    info = libc.mallinfo2()
    return int(info.uordblks + info.hblkhd)


@pytest.mark.parametrize("stem", ["mobilenet_v1_025_128_float32", "mobilenet_v1_025_128_fp16"])
def test_report_accounts_for_the_heap_really_used(stem):
    """head + tail, less the weight pool (one mapping of its own), is what the process's heap grew
    by while the interpreter was made and allocated (the model file is mapped, not on the heap);
    the rest is bookkeeping (tensor and node records). The pool holds packed weights only."""
    path = str(_model(stem))
    tflite_cffi.Interpreter(model_path=path).allocate_tensors()  # warm up the library and caches
    before = _heap_in_use()
    it = tflite_cffi.Interpreter(model_path=path)
    it.allocate_tensors()
    grown = _heap_in_use() - before
    report = it.get_allocations()
    heap = report["total"] - report["pooled"]
    assert report["total"] > 1_000_000
    assert heap <= grown <= heap * 1.03 + 256 * 1024, (grown, heap, report["pooled"])
    kernel_data = [p["bytes"] for p in report["persistent"] if p["kind"] == "kernel_data"]
    # pooled blocks are kernel data, 64-byte aligned one after the other
    assert report["pooled"] <= sum(kernel_data) + 64 * len(kernel_data)


def test_arena_cap_reports_the_size_needed():
    needed = _interpreter("kws_conv1d_int8").get_allocations()["head"]
    it = tflite_cffi.Interpreter(model_path=str(_model("kws_conv1d_int8")),
                                 experimental_arena_limit=needed - 64)
    with pytest.raises(RuntimeError, match=r"needs an arena of %d bytes, over the limit of %d"
                       % (needed, needed - 64)):
        it.allocate_tensors()
    assert it.get_allocations()["planned"] is False
    exact = _interpreter("kws_conv1d_int8", experimental_arena_limit=needed)
    assert exact.get_allocations()["head"] == needed


def test_report_after_resize_and_reallocation():
    it = _interpreter("mlp_64_float32")
    first = it.get_allocations()
    index = it.get_input_details()[0]["index"]
    it.resize_tensor_input(index, [4, 64])
    stale = it.get_allocations()
    assert stale["planned"] is False and stale["tensors"] == [] and stale["scratch"] == []
    it.allocate_tensors()
    again = it.get_allocations()
    assert again["planned"] and again["head"] > first["head"]
    assert {t["index"]: t["bytes"] for t in again["tensors"]}[index] == 4 * 64 * 4


def test_weight_pool_is_reused_by_each_reallocation():
    """Packed weights of 128 KiB and more share one pool per subgraph, reset at every allocate_tensors():
    reallocating packs into the same bytes (the pool does not grow), and the results do not change."""
    it = _interpreter("mobilenet_v1_025_128_float32")
    report = it.get_allocations()
    kernel_data = [p["bytes"] for p in report["persistent"] if p["kind"] == "kernel_data"]
    pooled_blocks = [b for b in kernel_data if b >= 128 * 1024]
    assert pooled_blocks, "the model has no layer packing into 128 KiB or more"
    if "san" in os.environ.get("LD_PRELOAD", ""):  # AddressSanitizer builds keep every block on the heap
        assert report["pooled"] == 0
    else:
        assert sum(pooled_blocks) <= report["pooled"] <= sum(pooled_blocks) + 64 * len(pooled_blocks)
    d = it.get_input_details()[0]
    x = np.random.default_rng(7).uniform(-1, 1, d["shape"]).astype(np.float32)
    it.set_tensor(d["index"], x)
    it.invoke()
    expected = it.get_tensor(it.get_output_details()[0]["index"])
    for _ in range(3):  # each allocate_tensors() prepares (and packs) again
        it.allocate_tensors()
        assert it.get_allocations()["pooled"] == report["pooled"]
        it.set_tensor(d["index"], x)
        it.invoke()
        np.testing.assert_array_equal(it.get_tensor(it.get_output_details()[0]["index"]), expected)


def test_dynamic_tensors_are_listed():
    pytest.importorskip("tflite")
    from opgen import TensorSpec, build_graph
    from opgen.builder import OpSpec
    tensors = [TensorSpec((4,), name="x"), TensorSpec((2,), "int32", name="shape"),
               TensorSpec((2, 2), name="y"), TensorSpec((2, 2), name="z")]
    ops = [OpSpec("RESHAPE", [0, 1], [2]), OpSpec("ADD", [2, 2], [3], {"fused_activation_function": "NONE"})]
    it = tflite_cffi.Interpreter(model_content=build_graph(tensors, ops, [0, 1], [3]))
    it.allocate_tensors()
    it.set_tensor(0, np.arange(4, dtype=np.float32))
    it.set_tensor(1, np.array([1, 4], np.int32))
    it.invoke()
    assert it.get_tensor(3).shape == (1, 4)
    report = it.get_allocations()
    dynamic = {p["tensor"]: p["bytes"] for p in report["persistent"] if p["kind"] == "dynamic"}
    assert dynamic == {2: 16, 3: 16}
    assert report["tail"] == _lib.get_lib().TfLiteCffiInterpreterGetPersistentBytes(it._handle())
    assert {t["index"] for t in report["tensors"]} == {0, 1}


def test_null_arguments():
    lib = _lib.get_lib()
    assert lib.TfLiteCffiInterpreterGetAllocations(ffi.NULL, ffi.NULL, 0) == -1
    assert lib.TfLiteCffiInterpreterGetAllocationSummary(ffi.NULL, ffi.NULL) != 0
    it = _interpreter("mlp_64_int8")
    assert lib.TfLiteCffiInterpreterGetAllocationSummary(it._handle(), ffi.NULL) != 0
    count = lib.TfLiteCffiInterpreterGetAllocations(it._handle(), ffi.NULL, 0)
    assert count > 0
    one = ffi.new("TfLiteCffiAllocation[]", 1)
    assert lib.TfLiteCffiInterpreterGetAllocations(it._handle(), one, 1) == count


def _resident_pages(path: Path) -> "tuple[int, int]":
    """(pages of the file's mapping in this process's page tables, pages mapped): /proc/self/pagemap's
    present bit, which needs no privilege."""
    spans = []
    for line in open("/proc/self/maps"):
        fields = line.split()
        if len(fields) >= 6 and fields[5] == str(path):
            begin, end = (int(x, 16) for x in fields[0].split("-"))
            spans.append((begin, end))
    assert len(spans) == 1, spans
    page = os.sysconf("SC_PAGE_SIZE")
    begin, end = spans[0]
    with open("/proc/self/pagemap", "rb") as f:
        f.seek(begin // page * 8)
        entries = np.frombuffer(f.read((end - begin) // page * 8), np.uint64)
    return int(np.count_nonzero(entries >> np.uint64(63))), len(entries)


@pytest.mark.skipif(not Path("/proc/self/pagemap").exists(), reason="needs Linux's /proc/self/pagemap")
@pytest.mark.parametrize("stem", ["mobilenet_v1_025_128_int8", "mobilenet_v2_100_224_int8"])
def test_mapped_model_pages_given_back_after_allocation(tmp_path, stem):
    """A model of one subgraph keeps in memory only the pages its invokes read: after allocation the
    tables, the quantization parameters and the weights the kernels packed (with the neighbours
    that reading them faulted in) are given back: 13% and 0.4% of these two models' pages stay, where
    31% and 44% stayed before. Measured right after allocate_tensors() with every thread in the pool, so that the
    weights are packed inline (no helper thread still at work) and nothing has read the model since."""
    path = tmp_path / (stem + ".tflite")  # a mapping of our own: other tests' interpreters map the zoo's file
    path.write_bytes(_model(stem).read_bytes())
    it = tflite_cffi.Interpreter(model_path=str(path), num_threads=len(os.sched_getaffinity(0)))
    loaded, pages = _resident_pages(path)
    it.allocate_tensors()
    resident, _ = _resident_pages(path)
    assert resident < loaded
    assert resident <= 0.2 * pages, "%d of the model's %d pages still resident" % (resident, pages)
    d = it.get_input_details()[0]
    x = np.zeros(d["shape"], d["dtype"])
    it.set_tensor(d["index"], x)
    it.invoke()  # reads what it needs again
    copied = tflite_cffi.Interpreter(model_content=path.read_bytes())
    copied.allocate_tensors()
    copied.set_tensor(d["index"], x)
    copied.invoke()
    out = it.get_output_details()[0]["index"]
    np.testing.assert_array_equal(it.get_tensor(out), copied.get_tensor(out))
