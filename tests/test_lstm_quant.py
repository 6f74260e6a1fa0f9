"""UNIDIRECTIONAL_SEQUENCE_LSTM beyond float32, against the official runtime.

Hybrid (float activations and states, int8 weights quantized per tensor, the
input and output state quantized per row at each step) and full-integer
"8x8_16" (int8 activations, int16 cell state, int32 biases, gate scales from
the operator's intermediates) one-op models are built here with every
variant the kernels implement: CIFG, peephole, projection (with and without
bias and clip), layer norm, time-major or batch-major, symmetric or
asymmetric input quantization, several batch rows. Each model is invoked
several times (the states live in variable tensors) and once more after
reset_all_variables; the outputs must match the official runtime's
optimized builtin kernels (BUILTIN_WITHOUT_DEFAULT_DELEGATES) bit for bit,
hybrid float outputs included.

test_lstm_golden runs the models stored in tests/data/lstm (model, inputs and
the official runtime's outputs, written by
`PYTHONPATH=tests python tests/test_lstm_quant.py` where ai_edge_litert and
the `tflite` schema package are installed); test_lstm_oracle rebuilds them
and asks the official runtime live.
"""

import os
import sys
import zlib

import numpy as np
import pytest

import tflite_cffi

LSTM = "UNIDIRECTIONAL_SEQUENCE_LSTM"
GOLDEN_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "lstm")


def _build(cfg, rng):
    """A one-op LSTM model (bytes) for a config dict."""
    from opgen.builder import OpSpec, QuantSpec, TensorSpec, build_graph

    integer = cfg["kind"] == "int8"
    B, T, ni, nc = cfg["B"], cfg["T"], cfg["ni"], cfg["nc"]
    proj = cfg.get("proj", False)
    no = cfg.get("no", nc) if proj else nc
    cifg, peep, ln = cfg.get("cifg", False), cfg.get("peep", False), cfg.get("ln", False)
    tm = cfg.get("time_major", False)
    tensors, inputs = [], [-1] * 24

    def add(spec):
        tensors.append(spec)
        return len(tensors) - 1

    def wq(shape, name):
        w = rng.integers(-127, 128, size=shape).astype(np.int8)
        return TensorSpec(shape, "int8", w, QuantSpec(float(rng.uniform(0.005, 0.02))), name)

    in_shape = [T, B, ni] if tm else [B, T, ni]
    in_scale, in_zp = 0.02, int(rng.integers(-20, 20))
    in_zp = cfg.get("in_zp", in_zp)
    if integer:
        inputs[0] = add(TensorSpec(in_shape, "int8", None, QuantSpec(in_scale, in_zp), "input"))
    else:
        inputs[0] = add(TensorSpec(in_shape, "float32", None, None, "input"))
    for g in range(4):
        if g == 0 and cifg:
            continue
        inputs[1 + g] = add(wq([nc, ni], "wx%d" % g))
        inputs[5 + g] = add(wq([nc, no], "wh%d" % g))
        if integer:
            bias = rng.integers(-20000, 20000, size=[nc]).astype(np.int32)
            inputs[12 + g] = add(TensorSpec([nc], "int32", bias, QuantSpec(1e-6), "b%d" % g))
        else:
            bias = rng.normal(0, 0.5, size=[nc]).astype(np.float32)
            inputs[12 + g] = add(TensorSpec([nc], "float32", bias, None, "b%d" % g))
        if ln:
            if integer:
                c = rng.integers(5000, 20000, size=[nc]).astype(np.int16)
                inputs[20 + g] = add(TensorSpec([nc], "int16", c, QuantSpec(1e-4), "ln%d" % g))
            else:
                c = rng.uniform(0.5, 1.5, size=[nc]).astype(np.float32)
                inputs[20 + g] = add(TensorSpec([nc], "float32", c, None, "ln%d" % g))
    if peep:
        for p in range(3):
            if p == 0 and cifg:
                continue
            if integer:
                w = rng.integers(-20000, 20000, size=[nc]).astype(np.int16)
                inputs[9 + p] = add(TensorSpec([nc], "int16", w, QuantSpec(2e-5), "p%d" % p))
            else:
                inputs[9 + p] = add(wq([nc], "p%d" % p))
    if proj:
        inputs[16] = add(wq([no, nc], "proj"))
        if cfg.get("proj_bias", False):
            if integer:
                pb = rng.integers(-5000, 5000, size=[no]).astype(np.int32)
                inputs[17] = add(TensorSpec([no], "int32", pb, QuantSpec(1e-6), "proj_b"))
            else:
                pb = rng.normal(0, 0.3, size=[no]).astype(np.float32)
                inputs[17] = add(TensorSpec([no], "float32", pb, None, "proj_b"))
    out_scale, out_zp = cfg.get("out_q", (0.008, 3))
    if integer:
        inputs[18] = add(TensorSpec([B, no], "int8", None, QuantSpec(out_scale, out_zp), "h",
                                    variable=True))
        inputs[19] = add(TensorSpec([B, nc], "int16", None, QuantSpec(2.0 ** cfg.get("cell_log2", -11)),
                                    "c", variable=True))
    else:
        inputs[18] = add(TensorSpec([B, no], "float32", None, None, "h", variable=True))
        inputs[19] = add(TensorSpec([B, nc], "float32", None, None, "c", variable=True))
    out_shape = [T, B, no] if tm else [B, T, no]
    if integer:
        out = add(TensorSpec(out_shape, "int8", None, QuantSpec(out_scale, out_zp), "output"))
    else:
        out = add(TensorSpec(out_shape, "float32", None, None, "output"))
    intermediates = []
    if integer:
        for i, (s, z) in enumerate(cfg.get("inter", [(2 ** -12, 0)] * 4 + [cfg.get("hidden_q", (0.008, 3))])):
            intermediates.append(add(TensorSpec([], "int16" if i < 4 else "int8", None,
                                                QuantSpec(s, z), "inter%d" % i)))
    opts = {"fused_activation_function": cfg.get("act", "TANH"), "time_major": tm,
            "cell_clip": cfg.get("cell_clip", 0.0), "proj_clip": cfg.get("proj_clip", 0.0)}
    if cfg.get("asym"):
        opts["asymmetric_quantize_inputs"] = True
    if not ln:
        inputs = inputs[:24]  # layer-norm slots stay absent
    op = OpSpec(LSTM, inputs, [out], opts, version=cfg.get("version", 3 if integer else 2),
                intermediates=intermediates)
    return build_graph(tensors, [op], [inputs[0]], [out])


def _run(interp, xs):
    interp.allocate_tensors()
    i = interp.get_input_details()[0]["index"]
    o = interp.get_output_details()[0]["index"]
    outs = []
    for k, x in enumerate(xs):
        if k == len(xs) - 1:
            interp.reset_all_variables()
        interp.set_tensor(i, x)
        interp.invoke()
        outs.append(np.array(interp.get_tensor(o)))
    return outs


HYBRID = [
    dict(kind="hybrid", B=1, T=5, ni=8, nc=8),
    dict(kind="hybrid", B=3, T=4, ni=6, nc=5, time_major=True),
    dict(kind="hybrid", B=2, T=4, ni=6, nc=8, asym=True),
    dict(kind="hybrid", B=2, T=3, ni=5, nc=4, cifg=True, peep=True),
    dict(kind="hybrid", B=2, T=3, ni=5, nc=6, peep=True, asym=True, cell_clip=0.5),
    dict(kind="hybrid", B=2, T=3, ni=5, nc=6, proj=True, no=4, proj_bias=True, proj_clip=0.3),
    dict(kind="hybrid", B=2, T=3, ni=7, nc=6, proj=True, no=3, asym=True, time_major=True),
    dict(kind="hybrid", B=2, T=3, ni=5, nc=6, ln=True, peep=True),
    dict(kind="hybrid", B=1, T=3, ni=5, nc=6, ln=True, cifg=True, asym=True),
    dict(kind="hybrid", B=2, T=3, ni=4, nc=4, act="RELU"),
]
INTEGER = [
    dict(kind="int8", B=1, T=5, ni=8, nc=8),
    dict(kind="int8", B=3, T=4, ni=6, nc=5, time_major=True),
    dict(kind="int8", B=2, T=4, ni=6, nc=8, cifg=True),
    dict(kind="int8", B=2, T=3, ni=5, nc=6, cell_clip=0.3, cell_log2=-12),
    dict(kind="int8", B=2, T=3, ni=5, nc=6, peep=True),
    dict(kind="int8", B=2, T=3, ni=5, nc=6, proj=True, no=4, proj_bias=True, proj_clip=0.4),
    dict(kind="int8", B=2, T=3, ni=5, nc=6, proj=True, no=3),
    dict(kind="int8", B=2, T=3, ni=5, nc=8, cell_log2=-19),
    dict(kind="int8", B=2, T=3, ni=5, nc=8, ln=True,
         inter=[(0.002, 0), (0.0025, 0), (0.003, 0), (0.0021, 0), (0.006, 1)]),
    dict(kind="int8", B=2, T=3, ni=5, nc=8, ln=True, cifg=True, peep=True,
         inter=[(0.002, 0), (0.0025, 0), (0.003, 0), (0.0021, 0), (0.006, 1)]),
    # 16 cells and more: the gates' logistic and tanh 16 at a time (AVX2), the rest one by one
    dict(kind="int8", B=2, T=5, ni=12, nc=37),
    dict(kind="int8", B=1, T=4, ni=8, nc=32, cifg=True, peep=True, cell_log2=-12),
    dict(kind="int8", B=2, T=3, ni=6, nc=19, ln=True, cell_log2=-10,
         inter=[(0.002, 0), (0.0025, 0), (0.003, 0), (0.0021, 0), (0.006, 1)]),
]


def _id(cfg):
    return "-".join("%s=%s" % (k, v) for k, v in cfg.items() if k not in ("inter",))


def _name(cfg):
    return "%s-%d" % (cfg["kind"], (HYBRID + INTEGER).index(cfg))


def _make(cfg):
    """(model bytes, the inputs of the invokes) for a config, deterministic."""
    rng = np.random.default_rng(zlib.crc32(_id(cfg).encode()))
    model = _build(cfg, rng)
    in_shape = [cfg["T"], cfg["B"], cfg["ni"]] if cfg.get("time_major") else [cfg["B"], cfg["T"], cfg["ni"]]
    if cfg["kind"] == "int8":
        xs = [rng.integers(-128, 128, size=in_shape).astype(np.int8) for _ in range(3)]
    else:
        xs = [rng.normal(0, 1, size=in_shape).astype(np.float32) for _ in range(3)]
        xs[1][..., 0, :] = 0.0  # an all-zero row and step
    xs.append(xs[0])  # after reset_all_variables: as the first invoke
    return model, xs


def _official(oracle, model):
    return oracle.Interpreter(
        model_content=model,
        experimental_op_resolver_type=oracle.OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)


def _compare(cfg, ref, got):
    for k, (r, g) in enumerate(zip(ref, got)):
        np.testing.assert_array_equal(g, r, err_msg="invoke %d" % k)
    np.testing.assert_array_equal(got[-1], got[0])


@pytest.mark.parametrize("cfg", HYBRID + INTEGER, ids=_name)
def test_lstm_golden(cfg):
    path = os.path.join(GOLDEN_DIR, _name(cfg) + ".npz")
    if not os.path.exists(path):
        pytest.skip("no golden %s" % path)
    data = np.load(path)
    n = int(data["n"])
    xs = [data["x%d" % k] for k in range(n)]
    ref = [data["y%d" % k] for k in range(n)]
    got = _run(tflite_cffi.Interpreter(model_content=data["model"].tobytes()), xs)
    _compare(cfg, ref, got)


@pytest.mark.oracle
@pytest.mark.parametrize("cfg", HYBRID + INTEGER, ids=_name)
def test_lstm_oracle(cfg, oracle):
    pytest.importorskip("tflite", reason="the `tflite` schema package builds the models")
    model, xs = _make(cfg)
    ref = _run(_official(oracle, model), xs)
    got = _run(tflite_cffi.Interpreter(model_content=model), xs)
    _compare(cfg, ref, got)


def _write_goldens():
    from ai_edge_litert import interpreter as oracle

    os.makedirs(GOLDEN_DIR, exist_ok=True)
    for cfg in HYBRID + INTEGER:
        model, xs = _make(cfg)
        ref = _run(_official(oracle, model), xs)
        arrays = {"model": np.frombuffer(model, np.uint8), "n": np.array(len(xs))}
        for k, (x, y) in enumerate(zip(xs, ref)):
            arrays["x%d" % k] = x
            arrays["y%d" % k] = y
        np.savez_compressed(os.path.join(GOLDEN_DIR, _name(cfg) + ".npz"), **arrays)
        print(_name(cfg), _id(cfg))


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    _write_goldens()
