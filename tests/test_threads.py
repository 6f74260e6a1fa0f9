"""Threads and lifetimes: many interpreters in many threads, one interpreter shared by threads, and
create/invoke/delete cycles that must not leak."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from pathlib import Path

import numpy as np
import pytest

import tflite_cffi

SELFTEST = Path(tflite_cffi.__file__).parent / "data" / "selftest.tflite"


def _run_once(model: bytes, x: np.ndarray, threads: int = 1) -> np.ndarray:
    it = tflite_cffi.Interpreter(model_content=model, num_threads=threads)
    it.allocate_tensors()
    it.set_tensor(it.get_input_details()[0]["index"], x)
    it.invoke()
    out = it.get_tensor(it.get_output_details()[0]["index"])
    it.close()
    return out


def _inputs(model: bytes, n: int) -> list[np.ndarray]:
    it = tflite_cffi.Interpreter(model_content=model)
    d = it.get_input_details()[0]
    rng = np.random.default_rng(7)
    return [rng.uniform(-1, 1, size=d["shape"]).astype(d["dtype"]) for _ in range(n)]


@pytest.fixture(scope="module")
def mlp(models_dir) -> bytes:
    return (models_dir / "mlp_64_float32.tflite").read_bytes()


def _in_threads(n: int, target) -> list[BaseException]:
    errors: list[BaseException] = []

    def run(k: int) -> None:
        try:
            target(k)
        except BaseException as e:  # noqa: BLE001 - collected and re-raised by the test
            errors.append(e)

    threads = [threading.Thread(target=run, args=(k,)) for k in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors


def test_many_interpreters_in_many_threads(mlp):
    xs = _inputs(mlp, 8)
    expected = [_run_once(mlp, x) for x in xs]

    def work(k: int) -> None:
        it = tflite_cffi.Interpreter(model_content=mlp, num_threads=1 + k % 2)
        it.allocate_tensors()
        for r in range(30):
            i = (k + r) % len(xs)
            it.set_tensor(it.get_input_details()[0]["index"], xs[i])
            it.invoke()
            np.testing.assert_array_equal(it.get_tensor(it.get_output_details()[0]["index"]), expected[i])
        it.close()

    errors = _in_threads(8, work)
    assert not errors, errors[0]


def test_one_interpreter_shared_by_threads(mlp):
    """Calls from two threads take turns: every output is the result of one of the inputs, none is torn,
    and reallocating in one thread while the other invokes is safe (an exception at worst)."""
    xs = _inputs(mlp, 2)
    expected = [_run_once(mlp, x) for x in xs]
    it = tflite_cffi.Interpreter(model_content=mlp, num_threads=2)
    it.allocate_tensors()
    inp, out = it.get_input_details()[0]["index"], it.get_output_details()[0]["index"]

    def work(k: int) -> None:
        for r in range(200):
            it.set_tensor(inp, xs[k])
            it.invoke()
            y = it.get_tensor(out)
            assert any(np.array_equal(y, e) for e in expected), "an output that no input gives"
            if r % 50 == 49:
                it.allocate_tensors()

    errors = _in_threads(2, work)
    assert not errors, errors[0]
    it.close()


def test_use_after_close_from_another_thread(mlp):
    it = tflite_cffi.Interpreter(model_content=mlp)
    it.allocate_tensors()
    errors = _in_threads(1, lambda k: it.close())
    assert not errors
    with pytest.raises(ValueError):
        it.invoke()


# Integer results must not depend on how the work is split over the pool: the int8 zoo models (1x1,
# 3x3 and strided convolutions, depthwise, fully connected at batch 1, a 1x1 convolution on one pixel
# split by its channels, transpose convolution, residual adds) on their reference inputs, and the op
# goldens made big enough to be split ("_threaded" cases), at 2 and 3 threads, bit for bit.
INT8_ZOO = ["mobilenet_v1_100_224_int8", "mobilenet_v2_100_224_int8", "yolo_mnv1_025_224_int8",
            "unet_small_128_int8", "mlp_64_int8", "kws_conv1d_int8", "text_gru_unrolled_int8"]
OPS = Path(__file__).resolve().parent / "data" / "ops"


def _outputs(model: bytes, inputs: list[np.ndarray], threads: int) -> list[np.ndarray]:
    it = tflite_cffi.Interpreter(model_content=model, num_threads=threads)
    it.allocate_tensors()
    for d, x in zip(it.get_input_details(), inputs):
        it.set_tensor(d["index"], x)
    it.invoke()
    outs = [it.get_tensor(d["index"]) for d in it.get_output_details()]
    it.close()
    return outs


def _same_at_more_threads(model: bytes, inputs: list[np.ndarray], expected: list[np.ndarray],
                          what: str) -> None:
    for threads in (2, 3):
        got = _outputs(model, inputs, threads)
        assert len(got) == len(expected)
        for i, (a, e) in enumerate(zip(got, expected)):
            np.testing.assert_array_equal(a, e, err_msg=f"{what}, output {i}, {threads} threads")


@pytest.mark.parametrize("name", INT8_ZOO)
def test_int8_zoo_results_do_not_depend_on_the_thread_count(models_dir, name):
    model = (models_dir / f"{name}.tflite").read_bytes()
    refs = models_dir / "refs" / name
    inputs = [np.load(p) for p in sorted(refs.glob("input_*.npy"), key=lambda p: int(p.stem[6:]))]
    _same_at_more_threads(model, inputs, _outputs(model, inputs, 1), name)


def _threaded_goldens() -> list[str]:
    with open(OPS / "INDEX.json") as f:
        return [e["id"] for e in json.load(f)["goldens"] if e["case"].endswith("_threaded")]


@pytest.mark.parametrize("golden", _threaded_goldens())
def test_big_op_goldens_at_more_threads(golden):
    model = (OPS / f"{golden}.tflite").read_bytes()
    with np.load(OPS / f"{golden}.npz") as z:
        inputs = [z[f"input_{i}"] for i in range(sum(k.startswith("input_") for k in z.files))]
        # our default numerics are the XNNPACK delegate's where the golden holds its outputs
        key = "xnnpack_output_" if any(k.startswith("xnnpack_output_") for k in z.files) else "output_"
        expected = [z[f"{key}{i}"] for i in range(sum(k.startswith(key) for k in z.files))]
    _same_at_more_threads(model, inputs, expected, golden)


# Threads that run out of chunks take the others' (ThreadPool): which thread runs which chunk then
# depends on timing, the chunks themselves only on the thread count. A Python thread spinning beside the
# invokes (they release the GIL) takes a core for a while, so the pool's threads finish their own runs at
# different times and take chunks from each other. Pauses between invokes let the workers fall asleep,
# so the first jobs of the next invoke run without the workers that wake late (left out of a job once
# its chunks are all taken). Float results (whose rounding depends on the chunk bounds) and int8 results
# must stay bit for bit those of a quiet run at the same thread count.
@pytest.mark.parametrize("disturbance", ["spinning_thread", "pauses"])
@pytest.mark.parametrize("name", ["mobilenet_v1_025_128_float32", "mobilenet_v1_025_128_int8",
                                  "unet_small_128_float32"])
def test_results_do_not_depend_on_timing(models_dir, name, disturbance):
    model = (models_dir / f"{name}.tflite").read_bytes()
    inputs = [np.load(p) for p in sorted((models_dir / "refs" / name).glob("input_*.npy"),
                                         key=lambda p: int(p.stem[6:]))]
    it = tflite_cffi.Interpreter(model_content=model, num_threads=3)
    it.allocate_tensors()
    for d, x in zip(it.get_input_details(), inputs):
        it.set_tensor(d["index"], x)
    it.invoke()
    quiet = [it.get_tensor(d["index"]) for d in it.get_output_details()]
    stop = threading.Event()

    def spin() -> None:
        while not stop.is_set():
            pass

    busy = threading.Thread(target=spin)
    if disturbance == "spinning_thread":
        busy.start()
    try:
        for _ in range(20):
            if disturbance == "pauses":
                time.sleep(0.005)
            it.invoke()
            for d, e in zip(it.get_output_details(), quiet):
                np.testing.assert_array_equal(it.get_tensor(d["index"]), e, err_msg=name)
    finally:
        stop.set()
        if busy.is_alive():
            busy.join()
        it.close()


def _rss_kib() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs /proc")
@pytest.mark.skipif("libasan" in os.environ.get("LD_PRELOAD", ""),
                    reason="under AddressSanitizer RSS includes its quarantine of freed memory; LeakSanitizer "
                           "checks leaks in `invoke fuzz`")
def test_create_invoke_delete_cycles_keep_rss_flat():
    """10,000 create / allocate / invoke / delete cycles: RSS after them within 4 MiB of RSS after the
    first 1,000 (a leak of even 400 bytes per cycle would show)."""
    model = SELFTEST.read_bytes()
    x = _inputs(model, 1)[0]

    def cycles(n: int) -> None:
        for _ in range(n):
            it = tflite_cffi.Interpreter(model_content=model)
            it.allocate_tensors()
            it.set_tensor(it.get_input_details()[0]["index"], x)
            it.invoke()
            it.get_tensor(it.get_output_details()[0]["index"])
            del it

    cycles(1000)
    before = _rss_kib()
    cycles(9000)
    grown = _rss_kib() - before
    assert grown < 4096, f"RSS grew by {grown} KiB over 9,000 create/invoke/delete cycles"


# 4 MB of int8 weights: at num_threads=1 on a machine with a second CPU, allocate_tensors() hands their
# packing to a helper thread (WeightPacker) and the first invoke waits for it layer by layer; with as
# many threads as CPUs they are packed inside allocate_tensors().
PACKED = "mobilenet_v1_100_224_int8"


def _packed_case(models_dir, load_refs):
    inputs, refs, _ = load_refs(PACKED)
    return str(models_dir / f"{PACKED}.tflite"), inputs[0], refs[0]


def test_weights_packed_on_a_helper_thread_give_the_same_outputs(models_dir, load_refs):
    path, x, ref = _packed_case(models_dir, load_refs)
    outs = []
    for threads in (1, max(2, os.cpu_count() or 1)):
        it = tflite_cffi.Interpreter(model_path=path, num_threads=threads)
        it.allocate_tensors()
        it.set_tensor(it.get_input_details()[0]["index"], x)
        it.invoke()
        outs.append(it.get_tensor(it.get_output_details()[0]["index"]).copy())
        it.close()
    np.testing.assert_array_equal(outs[0], outs[1])
    assert np.max(np.abs(outs[0].astype(np.int32) - ref.astype(np.int32))) <= 1


def test_interpreter_dropped_or_allocated_again_while_its_weights_are_packed(models_dir, load_refs):
    """Right after allocate_tensors() the helper may still be packing: closing the interpreter, or
    allocating again (every allocation prepares every layer anew), waits for it; nothing reads or
    frees what it writes meanwhile (the sanitizer session runs this too)."""
    path, x, ref = _packed_case(models_dir, load_refs)
    for _ in range(3):
        it = tflite_cffi.Interpreter(model_path=path, num_threads=1)
        it.allocate_tensors()
        it.close()
    it = tflite_cffi.Interpreter(model_path=path, num_threads=1)
    index = it.get_input_details()[0]["index"]
    it.allocate_tensors()
    it.allocate_tensors()
    it.set_tensor(index, x)
    it.invoke()
    out = it.get_tensor(it.get_output_details()[0]["index"]).copy()
    assert np.max(np.abs(out.astype(np.int32) - ref.astype(np.int32))) <= 1
    it.allocate_tensors()
    it.set_tensor(index, x)
    it.invoke()
    np.testing.assert_array_equal(it.get_tensor(it.get_output_details()[0]["index"]), out)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork()")
def test_fork_right_after_allocate_tensors(models_dir, load_refs):
    """A child forked while the helper may still be packing (a multiprocessing worker of an interpreter
    allocated before the fork) gets the weights packed, and no helper to wait for."""
    path, x, ref = _packed_case(models_dir, load_refs)
    it = tflite_cffi.Interpreter(model_path=path, num_threads=1)
    index = it.get_input_details()[0]["index"]
    it.allocate_tensors()
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: invoke, send the output, leave without running the parent's atexit work
        status = 1
        signal.alarm(60)  # a child waiting for a helper it does not have ends instead of hanging the test
        try:
            it.set_tensor(index, x)
            it.invoke()
            os.write(write, it.get_tensor(it.get_output_details()[0]["index"]).tobytes())
            status = 0
        finally:
            os._exit(status)
    os.close(write)
    got = b""
    while chunk := os.read(read, 1 << 16):
        got += chunk
    os.close(read)
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, f"child wait status {status}"
    it.set_tensor(index, x)
    it.invoke()
    out = it.get_tensor(it.get_output_details()[0]["index"])
    assert np.frombuffer(got, dtype=out.dtype).reshape(out.shape).tolist() == out.tolist()
    assert np.max(np.abs(out.astype(np.int32) - ref.astype(np.int32))) <= 1
