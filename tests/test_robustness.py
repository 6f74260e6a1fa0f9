"""Hostile models: thousands of deterministic mutations of real models, run in child processes.

Every mutant (byte flips, 32-bit field edits with boundary values, truncations) is loaded, allocated and
invoked on random inputs of the shapes it declares. Any outcome is fine except the child dying by a
signal (a crash) or hanging: every failure must be a Python exception. The child prints the index of each
mutant before it starts, so the parent knows which one killed it, reports it, and continues after it.

Seeds: the tiny single-op models of tests/data/ops (the flatbuffer structure is most of their bytes, and
together they reach every kernel's Prepare) and a few zoo models (subgraphs, WHILE, LSTM, quantized).
Reproduce one mutant: the failure message names the seed model and the mutation.
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

HERE = Path(__file__).resolve().parent
OPS = HERE / "data" / "ops"
ZOO_SEEDS = ["mlp_64_float32", "text_lstm_while_float32", "text_lstm_fused_float32", "kws_conv1d_float32",
             "ops_coverage_float32", "mlp_64_int8"]
MUTANTS_PER_SEED = 60
PER_MUTANT_TIMEOUT_S = 20.0
BOUNDARY = [0, 1, 2, 3, 4, 7, 8, 0x7F, 0x80, 0xFF, 0x100, 0x7FFF, 0xFFFF, 0x10000, 0x7FFFFFFF, 0x80000000,
            0xFFFFFFFF, 0xFFFFFFFE, 0x40000000, 0x20000000]

# The child: reads mutants from a directory, runs each; prints "start <i>" before and "ok <i>" after.
CHILD = r"""
import os, sys
import numpy as np
import pytest
import tflite_cffi

folder, first = sys.argv[1], int(sys.argv[2])
names = sorted(os.listdir(folder))
rng = np.random.default_rng(0)
for i in range(first, len(names)):
    print("start", i, flush=True)
    with open(os.path.join(folder, names[i]), "rb") as f:
        data = f.read()
    try:
        it = tflite_cffi.Interpreter(model_content=data, num_threads=1 + i % 2,
                                     experimental_arena_limit=1 << 28)
        it.allocate_tensors()
        for d in it.get_input_details():
            shape = [int(s) for s in d["shape"]]
            if int(np.prod(shape, dtype=np.int64)) > (1 << 22):
                raise ValueError("input too large for this test")
            dt = np.dtype(d["dtype"])
            x = rng.integers(-3, 4, size=shape).astype(dt) if dt.kind in "iub" else \
                rng.uniform(-2, 2, size=shape).astype(dt)
            it.set_tensor(d["index"], x)
        it.invoke()
        for d in it.get_output_details():
            it.get_tensor(d["index"])
        it.close()
    except Exception as e:  # every failure must be an exception: that is the point
        if not str(e):
            print("empty-message", i, type(e).__name__, flush=True)
    print("ok", i, flush=True)
print("done", flush=True)
"""


def _seed_models(models_dir: Path | None) -> list[tuple[str, bytes]]:
    seeds = []
    ops = sorted(OPS.glob("*.tflite"))
    for p in ops[:: max(1, len(ops) // 90)]:   # ~90 op models spread over every op
        seeds.append((p.name, p.read_bytes()))
    if models_dir is not None:
        for stem in ZOO_SEEDS:
            p = models_dir / f"{stem}.tflite"
            if p.is_file() and p.stat().st_size < 2_000_000:
                seeds.append((p.name, p.read_bytes()))
    return seeds


class _Fields:
    """Byte positions of the scalar fields that steer the engine (found by walking the flatbuffer with the
    schema's field ids): tensor shapes, types and buffer indices, operator inputs/outputs and opcode
    indices, subgraph inputs/outputs, quantization scales/zero points, and every field of the op
    options. Writing boundary values there keeps the flatbuffer valid and tests the semantic checks."""

    def __init__(self, data: bytes):
        from flatbuffers.table import Table

        self.slots: list[tuple[int, int]] = []   # (position, width in bytes)
        buf = bytearray(data)
        try:
            root = Table(buf, int.from_bytes(buf[0:4], "little"))
            self._model(root)
        except Exception:  # noqa: BLE001 - a seed we cannot walk just gets no field mutations
            pass

    def _vec(self, tab, field_id: int, width: int) -> None:
        o = tab.Offset(4 + 2 * field_id)
        if o:
            start, n = tab.Vector(o), tab.VectorLen(o)
            self.slots += [(start + i * width, width) for i in range(min(n, 64))]

    def _scalar(self, tab, field_id: int, width: int) -> None:
        o = tab.Offset(4 + 2 * field_id)
        if o:
            self.slots.append((tab.Pos + o, width))

    def _tables(self, tab, field_id: int):
        from flatbuffers.table import Table

        o = tab.Offset(4 + 2 * field_id)
        if not o:
            return []
        start, n = tab.Vector(o), tab.VectorLen(o)
        return [Table(tab.Bytes, tab.Indirect(start + 4 * i)) for i in range(min(n, 256))]

    def _table(self, tab, field_id: int):
        from flatbuffers.table import Table

        o = tab.Offset(4 + 2 * field_id)
        return Table(tab.Bytes, tab.Indirect(tab.Pos + o)) if o else None

    def _all_fields(self, tab) -> None:   # every present field of a table, as 4-byte slots
        vtable = tab.Pos - int.from_bytes(tab.Bytes[tab.Pos:tab.Pos + 4], "little", signed=True)
        vsize = int.from_bytes(tab.Bytes[vtable:vtable + 2], "little")
        for k in range(4, vsize, 2):
            o = int.from_bytes(tab.Bytes[vtable + k:vtable + k + 2], "little")
            if o:
                self.slots.append((tab.Pos + o, 1))

    def _model(self, model) -> None:
        for code in self._tables(model, 1):          # operator_codes
            self._all_fields(code)
        for sg in self._tables(model, 2):            # subgraphs
            self._vec(sg, 1, 4)
            self._vec(sg, 2, 4)
            for t in self._tables(sg, 0):            # tensors
                self._vec(t, 0, 4)                   # shape
                self._scalar(t, 1, 1)                # type
                self._scalar(t, 2, 4)                # buffer
                self._vec(t, 7, 4)                   # shape_signature
                q = self._table(t, 4)
                if q is not None:
                    self._vec(q, 2, 4)               # scale
                    self._vec(q, 3, 8)               # zero_point
                    self._scalar(q, 6, 4)            # quantized_dimension
            for op in self._tables(sg, 3):           # operators
                self._scalar(op, 0, 4)               # opcode_index
                self._vec(op, 1, 4)
                self._vec(op, 2, 4)
                opts = self._table(op, 4)            # builtin_options
                if opts is not None:
                    self._all_fields(opts)


def _mutate(data: bytes, rng: np.random.Generator, fields: "_Fields") -> tuple[bytes, str]:
    """One mutation of `data` and its description."""
    buf = bytearray(data)
    kind = int(rng.integers(0, 10))
    if kind >= 5 and fields.slots:   # a schema field := boundary value (valid flatbuffer, hostile content)
        pos, width = fields.slots[int(rng.integers(0, len(fields.slots)))]
        v = int(rng.choice(BOUNDARY)) if rng.random() < 0.5 else int(rng.integers(-2, 10))
        if rng.random() < 0.3:
            v = -v
        if rng.random() < 0.2 and width == 4:   # scales: also non-finite / negative / tiny floats
            v = int(np.array([np.nan, np.inf, -1.0, 0.0, 1e-38, 1e38], np.float32)[int(rng.integers(0, 6))]
                    .view(np.uint32))
        buf[pos:pos + width] = (v & ((1 << (8 * width)) - 1)).to_bytes(width, "little")
        return bytes(buf), f"field at {pos} ({width} bytes) := {v:#x}"
    # Structure lives in the first bytes and around the vtables; bias the offsets towards the start.
    limit = len(buf) if rng.random() < 0.3 else min(len(buf), 4096)
    if kind <= 1:        # flip 1..4 random bytes
        offs = [int(rng.integers(0, limit)) for _ in range(int(rng.integers(1, 5)))]
        for o in offs:
            buf[o] ^= int(rng.integers(1, 256))
        return bytes(buf), f"flip bytes at {offs}"
    if kind <= 3:        # overwrite an aligned 32-bit word with a boundary value
        o = int(rng.integers(0, max(1, limit // 4))) * 4
        v = int(rng.choice(BOUNDARY))
        buf[o:o + 4] = v.to_bytes(4, "little")
        return bytes(buf), f"word at {o} := {v:#x}"
    if kind == 4:        # truncate
        n = int(rng.integers(0, len(buf)))
        return bytes(buf[:n]), f"truncate to {n} bytes"
    o = int(rng.integers(0, limit))  # zero a run of bytes
    n = int(rng.integers(1, 33))
    buf[o:o + n] = bytes(min(n, len(buf) - o))
    return bytes(buf), f"zero {n} bytes at {o}"


def _run_children(folder: Path, count: int) -> tuple[list[tuple[int, str]], list[int]]:
    """Runs the child over every mutant; returns (crashes and hangs as (index, how), indices whose
    exception had an empty message). A mutant that runs longer than PER_MUTANT_TIMEOUT_S is a hang."""
    crashes, empty = [], []
    first = 0
    while first < count:
        proc = subprocess.Popen([sys.executable, "-c", CHILD, str(folder), str(first)], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE)
        current, done, hung, pending = None, False, False, b""
        while True:
            ready, _, _ = select.select([proc.stdout], [], [], PER_MUTANT_TIMEOUT_S)
            if not ready:
                hung = True
                proc.kill()
                break
            chunk = os.read(proc.stdout.fileno(), 65536)
            if not chunk:
                break
            pending += chunk
            *lines, pending = pending.split(b"\n")
            for line in lines:
                word, _, rest = line.decode().partition(" ")
                if word == "start":
                    current = int(rest)
                elif word == "ok":
                    current = None
                elif word == "empty-message":
                    empty.append(int(rest.split()[0]))
                elif word == "done":
                    done = True
        err = proc.stderr.read().decode(errors="replace")
        proc.wait()
        if done:
            break
        if current is None:   # died between mutants: report and stop rather than loop
            crashes.append((first, f"child exited {proc.returncode} outside a mutant: {err[-500:]}"))
            break
        if hung:
            how = f"hang (> {PER_MUTANT_TIMEOUT_S:.0f} s)"
        elif proc.returncode < 0:
            how = f"signal {-proc.returncode}"
        else:
            how = f"exit status {proc.returncode}"
        crashes.append((current, f"{how}; stderr tail: {err.strip()[-300:]}"))
        first = current + 1
    return crashes, empty


def test_mutated_models_never_crash(tmp_path):
    models_dir = Path(os.environ.get("TFLITE_CFFI_MODELS", HERE.parents[1] / "shared" / "models"))
    seeds = _seed_models(models_dir if (models_dir / "manifest.json").is_file() else None)
    assert len(seeds) >= 50, "too few seed models found"
    rng = np.random.default_rng(20261123)
    folder = tmp_path / "mutants"
    folder.mkdir()
    index = []
    for name, data in seeds:
        fields = _Fields(data)
        for _ in range(MUTANTS_PER_SEED):
            mutant, how = _mutate(data, rng, fields)
            (folder / f"{len(index):06d}.tflite").write_bytes(mutant)
            index.append(f"{name}: {how}")
    crashes, empty = _run_children(folder, len(index))
    report = [f"mutant {i} ({index[i]}): {how}" for i, how in crashes]
    (tmp_path / "index.json").write_text(json.dumps(index))
    assert not report, f"{len(report)} of {len(index)} mutants crashed the process:\n" + "\n".join(report[:20])
    assert not empty, "exceptions without a message: " + ", ".join(index[i] for i in empty[:10])


FUZZ_FINDINGS = HERE / "data" / "fuzz"


def test_fuzz_findings_never_crash(tmp_path):
    """tests/data/fuzz: inputs the fuzzer (`invoke fuzz`) once found a bug with, kept as regressions, and the
    custom op models (MediaPipe's, TFLite_Detection_PostProcess) it starts from (seed-*); under the sanitizer
    sessions (nox -s sanitize-address) any undefined behaviour they reach stops the child too."""
    files = sorted(FUZZ_FINDINGS.glob("*.tflite"))
    assert files, "no fuzz findings in %s" % FUZZ_FINDINGS
    folder = tmp_path / "findings"
    folder.mkdir()
    for i, f in enumerate(files):
        (folder / f"{i:06d}.tflite").write_bytes(f.read_bytes())
    crashes, _ = _run_children(folder, len(files))
    assert not crashes, "\n".join(f"{files[i].name}: {how}" for i, how in crashes)


@pytest.mark.parametrize("op", ["conv", "depthwise", "transpose_conv"])
def test_16x8_scale_ratio_beyond_the_output_stage_is_refused(op):
    """A 16x8 convolution whose scale ratio is 2^14 or more (a fuzzing mutant of a depthwise golden, and
    the same built for CONV_2D / TRANSPOSE_CONV) gets a clear error at allocation, not undefined shifts."""
    import tflite_cffi

    it = tflite_cffi.Interpreter(model_path=str(FUZZ_FINDINGS / f"{op}_16x8_scale_ratio.tflite"))
    with pytest.raises(tflite_cffi.InterpreterError, match="16x8: input scale x filter scale"):
        it.allocate_tensors()


@pytest.mark.parametrize("padding", ["VALID", "SAME"])
def test_transpose_conv_with_a_huge_stride(padding):
    """TRANSPOSE_CONV takes its output size from output_shape, so a stride may be far larger than the image:
    a fuzzing mutant's 1040187394 times a column overflowed an int (UBSan stopped on it; fuzz finding
    transpose_conv_int8_huge_stride). Only the first input pixel then reaches the output; the result is
    checked against the definition."""
    pytest.importorskip("flatbuffers")
    import tflite_cffi
    from opgen.builder import TensorSpec, build_model

    rng = np.random.default_rng(7)
    stride, kh, kw, cin, cout = 1 << 30, 3, 2, 2, 3
    x = rng.standard_normal((1, 3, 4, cin)).astype(np.float32)
    w = rng.standard_normal((cout, kh, kw, cin)).astype(np.float32)
    out_h, out_w = 4, 5
    model = build_model("TRANSPOSE_CONV",
                        [TensorSpec([4], "int32", np.array([1, out_h, out_w, cout], np.int32)),
                         TensorSpec(list(w.shape), "float32", w), TensorSpec(list(x.shape), "float32")],
                        [TensorSpec([1, out_h, out_w, cout], "float32")],
                        {"padding": padding, "stride_w": stride, "stride_h": stride})
    it = tflite_cffi.Interpreter(model_content=model)
    it.allocate_tensors()
    it.set_tensor(it.get_input_details()[0]["index"], x)
    it.invoke()
    got = it.get_tensor(it.get_output_details()[0]["index"])
    # SAME pads as the forward convolution of the output would: total = max((ceil(out / stride) - 1) *
    # stride + k - out, 0), the first half before
    def pad(out, k):
        return max((-(-out // stride) - 1) * stride + k - out, 0) // 2 if padding == "SAME" else 0

    pad_t, pad_l = pad(out_h, kh), pad(out_w, kw)
    want = np.zeros((1, out_h, out_w, cout), np.float32)
    for iy in range(x.shape[1]):
        for ix in range(x.shape[2]):
            for ky in range(kh):
                for kx in range(kw):
                    oy, ox = iy * stride + ky - pad_t, ix * stride + kx - pad_l
                    if 0 <= oy < out_h and 0 <= ox < out_w:
                        want[0, oy, ox] += w[:, ky, kx, :] @ x[0, iy, ix]
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def test_a_variable_tensor_over_the_arena_limit_fails_fast():
    """A variable tensor (kept outside the arena, zeroed when the interpreter is made) bigger than the arena
    limit fails at once with the limit's message: a fuzzing mutant of an LSTM model made one 8.5 GB, and
    zeroing it took 21 s before allocation refused it; now making the interpreter refuses it."""
    pytest.importorskip("flatbuffers")
    import tflite_cffi
    from opgen.builder import TensorSpec, build_model

    state = TensorSpec([1 << 16, 1 << 15], "float32", variable=True, name="state")   # 8 GB
    model = build_model("ADD", [state, TensorSpec([1 << 16, 1 << 15], "float32")],
                        [TensorSpec([1 << 16, 1 << 15], "float32")])
    with pytest.raises(ValueError, match="tensor 'state' needs 8589934592 bytes, over the arena limit"):
        tflite_cffi.Interpreter(model_content=model, experimental_arena_limit=1 << 28)
