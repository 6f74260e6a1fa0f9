"""MediaPipe's custom ops (built-in kernels found by name): Convolution2DTransposeBias,
MaxPoolingWithArgmax2D, MaxUnpooling2D, TransformLandmarks, TransformTensorBilinear,
Landmarks2TransformMatrix.

Each op runs as a one-op model (tests/opgen/builder.py, op CUSTOM with its custom_code and options
bytes encoded here: raw TfLite*Params structs with struct.pack, FlexBuffers maps with the flatbuffers
package) on several shapes and options, and its outputs are checked against an independent numpy
implementation of the op's definition written below (plain loops, float64 unless the definition
rounds to float32 in between). Where the official runtime runs the op (its default XNNPACK delegate
claims Convolution2DTransposeBias, MaxPoolingWithArgmax2D and MaxUnpooling2D), its outputs are
compared too (marker `oracle`). Malformed options and shapes must raise, never crash.

Tolerance: |ours - ref| <= tol * max(1, max|ref|), tol 1e-5 unless a test says otherwise.
"""

from __future__ import annotations

import math
import struct

import numpy as np
import pytest

pytest.importorskip("flatbuffers", reason="the test models are built with the flatbuffers and tflite "
                    "Python packages (not in the ARM sysroots)")
pytest.importorskip("tflite", reason="the test models are built with the tflite schema package")
from opgen.builder import TensorSpec, build_model  # noqa: E402

tflite_cffi = pytest.importorskip("tflite_cffi")
flexbuffers = pytest.importorskip("flatbuffers.flexbuffers")

ORACLE = pytest.mark.oracle
SAME, VALID = 1, 2  # TfLitePadding
TOL = 1e-5


# ------------------------------------------------------------------------------------------- helpers


def _model(name, inputs, outputs, options, version=1):
    """One CUSTOM op; inputs: arrays (graph inputs) or TensorSpec (e.g. constants)."""
    specs = [x if isinstance(x, TensorSpec) else TensorSpec(list(x.shape), x.dtype) for x in inputs]
    outs = [TensorSpec(list(s), "float32") for s in outputs]
    return build_model("CUSTOM", specs, outs, custom_code=name, custom_options=options,
                       version=version)


def _feeds(inputs):
    return [x for x in inputs if not isinstance(x, TensorSpec)]


def _run(cls, model, feeds):
    it = cls(model_content=model)
    it.allocate_tensors()
    for d, x in zip(it.get_input_details(), feeds):
        it.set_tensor(d["index"], np.ascontiguousarray(x))
    it.invoke()
    return [it.get_tensor(d["index"]).copy() for d in it.get_output_details()]


def _ours(model, feeds):
    return _run(tflite_cffi.Interpreter, model, feeds)


def _theirs(oracle, model, feeds):
    """The official runtime's outputs (default resolver: XNNPACK may claim the custom op), or
    None when it cannot run the op."""
    try:
        return _run(oracle.Interpreter, model, feeds)
    except (RuntimeError, ValueError) as e:
        if "custom op" in str(e) or "Encountered unresolved" in str(e):
            return None
        raise


def _close(ours, ref, tol=TOL, what=""):
    ref = np.asarray(ref)
    assert ours.shape == ref.shape, (what, ours.shape, ref.shape)
    scale = max(1.0, float(np.max(np.abs(ref)))) if ref.size else 1.0
    err = float(np.max(np.abs(ours.astype(np.float64) - ref))) if ref.size else 0.0
    assert err <= tol * scale, "%s: max |diff| %.3g > %.3g" % (what, err, tol * scale)


def _raises(model, feeds, *fragments):
    """Building or running the model fails with an exception naming one of `fragments`."""
    with pytest.raises(Exception) as info:
        _ours(model, feeds)
    msg = str(info.value)
    assert any(f in msg for f in fragments), msg


def _flex(entries):
    """A FlexBuffers map; list values become typed int vectors (as MediaPipe's converter writes)."""
    b = flexbuffers.Builder()
    with b.Map():
        for key, value in entries.items():
            b.Key(key)
            if isinstance(value, (list, tuple)):
                b.TypedVectorFromElements(list(value))
            elif isinstance(value, bool):
                b.Bool(value)
            elif isinstance(value, int):
                b.Int(value)
            elif isinstance(value, float):
                b.Float(value)
            else:
                b.String(value)
    return bytes(b.Finish())


def _rng(seed):
    return np.random.default_rng(seed)


# --------------------------------------------------------------------- Convolution2DTransposeBias


def _conv_t_params(padding, stride_w, stride_h, extra=b""):
    return struct.pack("<3i", padding, stride_w, stride_h) + extra


def ref_conv_transpose_bias(x, w, b, padding, sh, sw):
    n, h, wd, _ = x.shape
    co, kh, kw, _ = w.shape

    def axis(size, k, s):
        total = max(0, k - (size - 1) % s - 1) if padding == SAME else 0
        return s * (size - 1) + k - total, total // 2

    oh, pt = axis(h, kh, sh)
    ow, pl = axis(wd, kw, sw)
    out = np.zeros((n, oh, ow, co)) + b.astype(np.float64)
    x64, w64 = x.astype(np.float64), w.astype(np.float64)
    for iy in range(h):
        for ix in range(wd):
            for ky in range(kh):
                for kx in range(kw):
                    oy, ox = iy * sh - pt + ky, ix * sw - pl + kx
                    if 0 <= oy < oh and 0 <= ox < ow:
                        out[:, oy, ox, :] += x64[:, iy, ix, :] @ w64[:, ky, kx, :].T
    return out


CONV_T_CASES = [
    # (input NHWC, (Cout, KH, KW), padding, stride_h, stride_w)
    ((1, 8, 8, 16), (1, 2, 2), SAME, 2, 2),     # the selfie segmentation head
    ((1, 5, 7, 3), (4, 3, 3), SAME, 2, 2),
    ((2, 4, 6, 5), (3, 3, 2), VALID, 2, 3),
    ((1, 6, 5, 4), (2, 5, 4), SAME, 1, 1),
    ((1, 3, 4, 2), (3, 4, 3), SAME, 3, 2),
    ((1, 1, 1, 8), (6, 3, 3), VALID, 1, 1),
]


def _conv_t_model(case, seed, weights_const=True):
    shape, (co, kh, kw), padding, sh, sw = case
    r = _rng(seed)
    x = r.uniform(-1, 1, shape).astype(np.float32)
    w = r.uniform(-1, 1, (co, kh, kw, shape[3])).astype(np.float32)
    b = r.uniform(-1, 1, (co,)).astype(np.float32)
    ref = ref_conv_transpose_bias(x, w, b, padding, sh, sw)
    ins = [x, TensorSpec(list(w.shape), "float32", w) if weights_const else w,
           TensorSpec([co], "float32", b)]
    model = _model("Convolution2DTransposeBias", ins, [ref.shape], _conv_t_params(padding, sw, sh))
    return model, _feeds(ins), ref


@pytest.mark.parametrize("case", CONV_T_CASES, ids=lambda c: "x".join(map(str, c[0])) + "-p%d-s%d%d" % c[2:])
@pytest.mark.parametrize("weights_const", [True, False], ids=["const", "input"])
def test_conv_transpose_bias(case, weights_const):
    model, feeds, ref = _conv_t_model(case, 1, weights_const)
    (out,) = _ours(model, feeds)
    _close(out, ref, what="Convolution2DTransposeBias")


def test_conv_transpose_bias_newer_struct():
    """Trailing fields of newer TfLiteTransposeConvParams (activation, bias type) are ignored."""
    shape, (co, kh, kw), padding, sh, sw = CONV_T_CASES[1]
    r = _rng(3)
    x = r.uniform(-1, 1, shape).astype(np.float32)
    w = r.uniform(-1, 1, (co, kh, kw, shape[3])).astype(np.float32)
    b = r.uniform(-1, 1, (co,)).astype(np.float32)
    ref = ref_conv_transpose_bias(x, w, b, padding, sh, sw)
    ins = [x, TensorSpec(list(w.shape), "float32", w), TensorSpec([co], "float32", b)]
    opts = _conv_t_params(padding, sw, sh, struct.pack("<2i", 1, 0))
    (out,) = _ours(_model("Convolution2DTransposeBias", ins, [ref.shape], opts), [x])
    _close(out, ref)


@ORACLE
@pytest.mark.parametrize("case", CONV_T_CASES, ids=lambda c: "x".join(map(str, c[0])) + "-p%d-s%d%d" % c[2:])
def test_conv_transpose_bias_oracle(oracle, case):
    model, feeds, ref = _conv_t_model(case, 2)
    theirs = _theirs(oracle, model, feeds)
    if theirs is None:
        pytest.skip("the official runtime does not run Convolution2DTransposeBias here")
    (out,) = _ours(model, feeds)
    _close(out, theirs[0], what="vs official runtime")


def _conv_t_bad(opts=None, x_shape=(1, 4, 4, 3), w_shape=(2, 3, 3, 3), b_shape=(2,)):
    x = np.zeros(x_shape, np.float32)
    w = TensorSpec(list(w_shape), "float32", np.ones(w_shape, np.float32))
    b = TensorSpec(list(b_shape), "float32", np.ones(b_shape, np.float32))
    opts = _conv_t_params(SAME, 2, 2) if opts is None else opts
    return _model("Convolution2DTransposeBias", [x, w, b], [(1, 8, 8, 2)], opts), [x]


@pytest.mark.parametrize("opts,fragment", [
    (b"", "12 bytes"),
    (struct.pack("<2i", SAME, 2), "12 bytes"),
    (_conv_t_params(0, 2, 2), "padding"),
    (_conv_t_params(7, 2, 2), "padding"),
    (_conv_t_params(SAME, 0, 2), "strides"),
    (_conv_t_params(SAME, 2, -1), "strides"),
])
def test_conv_transpose_bias_bad_options(opts, fragment):
    model, feeds = _conv_t_bad(opts)
    _raises(model, feeds, fragment)


@pytest.mark.parametrize("kw,fragment", [
    (dict(w_shape=(2, 3, 3, 4)), "input channels"),
    (dict(b_shape=(3,)), "bias"),
    (dict(x_shape=(4, 4, 3)), "rank 4"),
    (dict(w_shape=(2, 3, 3)), "rank 4"),
])
def test_conv_transpose_bias_bad_shapes(kw, fragment):
    model, feeds = _conv_t_bad(**kw)
    _raises(model, feeds, fragment)


# ------------------------------------------------------------------ MaxPoolingWithArgmax2D / MaxUnpooling2D


def _pool_params(padding, stride_w, stride_h, filter_w, filter_h, activation=0, computed=True):
    raw = struct.pack("<6i", padding, stride_w, stride_h, filter_w, filter_h, activation)
    return raw + (struct.pack("<4i", 0, 0, 0, 0) if computed else b"")


def _pool_out(size, f, s, padding):
    out = (size + s - 1) // s if padding == SAME else max(0, (size - f + s) // s)
    pad = max(0, ((out - 1) * s + f - size) // 2)
    return out, pad


def ref_max_pool_argmax(x, padding, sh, sw, fh, fw, act=0):
    n, h, w, c = x.shape
    oh, pt = _pool_out(h, fh, sh, padding)
    ow, pl = _pool_out(w, fw, sw, padding)
    vals = np.zeros((n, oh, ow, c), np.float32)
    idx = np.zeros((n, oh, ow, c), np.float32)
    lowest = np.finfo(np.float32).min
    for oy in range(oh):
        for ox in range(ow):
            best = np.full((n, c), lowest, np.float32)
            arg = np.zeros((n, c), np.int64)
            for ky in range(fh):
                for kx in range(fw):
                    iy, ix = oy * sh - pt + ky, ox * sw - pl + kx
                    if 0 <= iy < h and 0 <= ix < w:
                        v = x[:, iy, ix, :]
                        better = v > best
                        best = np.where(better, v, best)
                        arg = np.where(better, ky * fw + kx, arg)
            lo, hi = {0: (-np.inf, np.inf), 1: (0, np.inf), 2: (-1, 1), 3: (0, 6)}[act]
            vals[:, oy, ox, :] = np.clip(best, lo, hi)
            idx[:, oy, ox, :] = arg.astype(np.float32) + np.float32(0.1)
    return vals, idx


def ref_max_unpool(x, indices, sh, sw, fh, fw):
    n, h, w, c = x.shape
    oh, ow = h * fh, w * fw
    pt = max(0, ((h - 1) * sh + fh - oh) // 2)
    pl = max(0, ((w - 1) * sw + fw - ow) // 2)
    out = np.zeros((n, oh, ow, c), np.float32)
    for b in range(n):
        for y in range(h):
            for xx in range(w):
                for ch in range(c):
                    f = float(indices[b, y, xx, ch])
                    if not math.isfinite(f) or abs(f) >= 2 ** 31:
                        continue
                    t = math.trunc(f)
                    qy = abs(t) // fw * (1 if t >= 0 else -1)  # C division: toward zero
                    qx = t - qy * fw
                    oy, ox = y * sh - pt + qy, xx * sw - pl + qx
                    if 0 <= oy < oh and 0 <= ox < ow:
                        out[b, oy, ox, ch] = x[b, y, xx, ch]
    return out


POOL_CASES = [
    # (input NHWC, padding, stride_h, stride_w, filter_h, filter_w, activation)
    ((1, 8, 8, 4), SAME, 2, 2, 2, 2, 0),   # the hair segmentation encoder's pooling
    ((2, 7, 9, 3), SAME, 2, 2, 3, 3, 0),
    ((1, 9, 6, 5), VALID, 2, 1, 3, 2, 1),
    ((1, 5, 5, 2), SAME, 1, 1, 3, 3, 3),
    ((1, 6, 10, 3), VALID, 3, 2, 3, 4, 2),
]


def _pool_input(shape, seed):
    x = _rng(seed).uniform(-3, 3, shape).astype(np.float32)
    x.flat[::7] = 0.5  # ties: the first maximum in scan order wins
    return x


def _pool_id(c):
    return "x".join(map(str, c[0])) + "-p%d-s%d%d-f%d%d-a%d" % c[1:]


@pytest.mark.parametrize("case", POOL_CASES, ids=_pool_id)
def test_max_pool_argmax(case):
    shape, padding, sh, sw, fh, fw, act = case
    x = _pool_input(shape, 1)
    vals, idx = ref_max_pool_argmax(x, padding, sh, sw, fh, fw, act)
    model = _model("MaxPoolingWithArgmax2D", [x], [vals.shape, idx.shape],
                   _pool_params(padding, sw, sh, fw, fh, act))
    ov, oi = _ours(model, [x])
    np.testing.assert_array_equal(ov, vals)
    np.testing.assert_array_equal(oi, idx)


def test_max_pool_argmax_short_struct():
    """The six int fields suffice (older TfLitePoolParams without computed padding)."""
    shape, padding, sh, sw, fh, fw, act = POOL_CASES[1]
    x = _pool_input(shape, 2)
    vals, idx = ref_max_pool_argmax(x, padding, sh, sw, fh, fw, act)
    model = _model("MaxPoolingWithArgmax2D", [x], [vals.shape, idx.shape],
                   _pool_params(padding, sw, sh, fw, fh, act, computed=False))
    ov, oi = _ours(model, [x])
    np.testing.assert_array_equal(ov, vals)
    np.testing.assert_array_equal(oi, idx)


@pytest.mark.parametrize("case", POOL_CASES, ids=_pool_id)
def test_max_unpool(case):
    shape, _, sh, sw, fh, fw, _ = case
    x = _pool_input(shape, 3)
    _, idx = ref_max_pool_argmax(_pool_input(shape, 4), SAME, sh, sw, fh, fw)
    idx = idx[:, :shape[1], :shape[2], :]
    idx = np.ascontiguousarray(np.broadcast_to(idx, shape) if idx.shape == shape else
                               _rng(5).integers(0, fh * fw, shape).astype(np.float32) + 0.1)
    ref = ref_max_unpool(x, idx, sh, sw, fh, fw)
    model = _model("MaxUnpooling2D", [x, idx], [ref.shape], _pool_params(SAME, sw, sh, fw, fh))
    (out,) = _ours(model, [x, idx])
    np.testing.assert_array_equal(out, ref)


def test_max_unpool_hostile_indices():
    """Indices outside the window, negative, huge, infinite or NaN: skipped or placed exactly as
    the definition says, never written out of bounds."""
    shape = (1, 4, 4, 3)
    x = _rng(6).uniform(-1, 1, shape).astype(np.float32)
    idx = _rng(7).integers(-9, 12, shape).astype(np.float32)
    idx.flat[:6] = [np.nan, np.inf, -np.inf, 3e9, -3e9, 2.0 ** 31 - 128]
    ref = ref_max_unpool(x, idx, 2, 2, 2, 2)
    model = _model("MaxUnpooling2D", [x, idx], [ref.shape], _pool_params(SAME, 2, 2, 2, 2))
    (out,) = _ours(model, [x, idx])
    np.testing.assert_array_equal(out, ref)


def test_pool_then_unpool_roundtrip():
    """Pooling then unpooling (the hair segmentation pattern) puts every maximum back."""
    x = _pool_input((1, 8, 8, 4), 8)
    vals, idx = ref_max_pool_argmax(x, SAME, 2, 2, 2, 2)
    opts = _pool_params(SAME, 2, 2, 2, 2)
    ov, oi = _ours(_model("MaxPoolingWithArgmax2D", [x], [vals.shape, idx.shape], opts), [x])
    (up,) = _ours(_model("MaxUnpooling2D", [ov, oi], [x.shape], opts), [ov, oi])
    np.testing.assert_array_equal(up, ref_max_unpool(vals, idx, 2, 2, 2, 2))
    kept = up != 0
    np.testing.assert_array_equal(up[kept], x[kept])


# What the official runtime's XNNPACK delegate claims: pooling with stride == filter size and no
# fused activation, unpooling with padding VALID (MediaPipe's unpooling ignores the padding field;
# with stride == filter its computed padding is 0 as well). Only windows without leading padding are
# compared: where SAME padding puts padding before the first row / column, XNNPACK numbers the taps
# from the first tap inside the input, MediaPipe's definition (which we follow) from the window's
# corner, so indices (and hence the unpooled positions) differ there.
ORACLE_POOL_CASES = [
    ((1, 8, 8, 4), VALID, 2, 2, 2, 2, 0),
    ((2, 9, 7, 3), SAME, 2, 2, 2, 2, 0),   # partial windows at the bottom / right
    ((1, 6, 10, 5), VALID, 2, 2, 2, 2, 0),
    ((1, 7, 5, 16), SAME, 2, 2, 2, 2, 0),
    ((1, 6, 9, 2), VALID, 3, 3, 3, 3, 0),
    ((1, 9, 12, 3), SAME, 3, 3, 3, 3, 0),
]


def _xnnpack_indices(theirs, fh, fw):
    """The XNNPACK delegate's argmax tensor as MediaPipe's indices: it stores uint32 bit patterns
    (not floats) and numbers the window's taps column by column (kx * filter_h + ky)."""
    t = theirs.view(np.uint32).astype(np.int64)
    return (t % fh) * fw + t // fh


def _mediapipe_to_xnnpack(idx, fh, fw):
    t = np.trunc(idx).astype(np.int64)
    return ((t % fw) * fh + t // fw).astype(np.uint32).view(np.float32)


@ORACLE
@pytest.mark.parametrize("case", ORACLE_POOL_CASES, ids=_pool_id)
def test_max_pool_argmax_oracle(oracle, case):
    shape, padding, sh, sw, fh, fw, act = case
    x = _rng(9).uniform(-3, 3, shape).astype(np.float32)  # no ties: delegates may scan differently
    vals, idx = ref_max_pool_argmax(x, padding, sh, sw, fh, fw, act)
    model = _model("MaxPoolingWithArgmax2D", [x], [vals.shape, idx.shape],
                   _pool_params(padding, sw, sh, fw, fh, act))
    theirs = _theirs(oracle, model, [x])
    if theirs is None:
        pytest.skip("the official runtime does not run MaxPoolingWithArgmax2D here")
    ov, oi = _ours(model, [x])
    np.testing.assert_array_equal(ov, theirs[0])
    np.testing.assert_array_equal(np.trunc(oi).astype(np.int64), _xnnpack_indices(theirs[1], fh, fw))


@ORACLE
@pytest.mark.parametrize("case", ORACLE_POOL_CASES, ids=_pool_id)
def test_max_unpool_oracle(oracle, case):
    """Same values and positions; each runtime gets the indices in its own encoding."""
    shape, _, sh, sw, fh, fw, _ = case
    x = _rng(10).uniform(-1, 1, shape).astype(np.float32)
    idx = _rng(11).integers(0, fh * fw, shape).astype(np.float32) + np.float32(0.1)
    ref = ref_max_unpool(x, idx, sh, sw, fh, fw)
    model = _model("MaxUnpooling2D", [x, idx], [ref.shape], _pool_params(VALID, sw, sh, fw, fh))
    theirs = _theirs(oracle, model, [x, _mediapipe_to_xnnpack(idx, fh, fw)])
    if theirs is None:
        pytest.skip("the official runtime does not run MaxUnpooling2D here")
    (out,) = _ours(model, [x, idx])
    np.testing.assert_array_equal(out, theirs[0])


@ORACLE
@pytest.mark.parametrize("case", ORACLE_POOL_CASES, ids=_pool_id)
def test_pool_unpool_chain_oracle(oracle, case):
    """MaxPoolingWithArgmax2D feeding MaxUnpooling2D (as in the hair segmentation model): the
    chain's output must match the official runtime's whatever each encodes the indices as."""
    from opgen.builder import OpSpec, build_graph

    shape, padding, sh, sw, fh, fw, act = case
    x = _rng(12).uniform(-3, 3, shape).astype(np.float32)
    vals, _ = ref_max_pool_argmax(x, padding, sh, sw, fh, fw, act)
    up = (shape[0], vals.shape[1] * fh, vals.shape[2] * fw, shape[3])
    opts = _pool_params(padding, sw, sh, fw, fh, act)
    unpool_opts = _pool_params(VALID, sw, sh, fw, fh)
    tensors = [TensorSpec(list(shape), "float32", name="x"), TensorSpec(list(vals.shape), name="v"),
               TensorSpec(list(vals.shape), name="i"), TensorSpec(list(up), name="y")]
    ops = [OpSpec("CUSTOM", [0], [1, 2], custom_code="MaxPoolingWithArgmax2D", custom_options=opts),
           OpSpec("CUSTOM", [1, 2], [3], custom_code="MaxUnpooling2D", custom_options=unpool_opts)]
    model = build_graph(tensors, ops, [0], [3])
    theirs = _theirs(oracle, model, [x])
    if theirs is None:
        pytest.skip("the official runtime does not run these ops here")
    (out,) = _ours(model, [x])
    np.testing.assert_array_equal(out, theirs[0])


@pytest.mark.parametrize("opts,fragment", [
    (b"", "24 bytes"),
    (struct.pack("<5i", SAME, 2, 2, 2, 2), "24 bytes"),
    (_pool_params(0, 2, 2, 2, 2), "padding"),
    (_pool_params(3, 2, 2, 2, 2), "padding"),
    (_pool_params(SAME, 0, 2, 2, 2), "strides"),
    (_pool_params(SAME, 2, 2, 0, 2), "filter"),
    (_pool_params(SAME, 2, 2, 2, -5), "filter"),
    (_pool_params(SAME, 2, 2, 2, 2, 4), "activation"),
    (_pool_params(SAME, 2, 2, 2, 2, -1), "activation"),
    (_pool_params(SAME, 2, 2, 1 << 16, 1 << 16), "too large"),
])
def test_max_pool_argmax_bad_options(opts, fragment):
    x = np.zeros((1, 4, 4, 2), np.float32)
    model = _model("MaxPoolingWithArgmax2D", [x], [(1, 2, 2, 2), (1, 2, 2, 2)], opts)
    _raises(model, [x], fragment)


@pytest.mark.parametrize("opts,fragment", [
    (b"\x01\x00", "24 bytes"),
    (_pool_params(9, 2, 2, 2, 2), "padding"),
    (_pool_params(SAME, 2, -2, 2, 2), "strides"),
    (_pool_params(SAME, 2, 2, 0, 0), "filter"),
    (_pool_params(SAME, 2, 2, 1 << 20, 1 << 20), "too large"),
])
def test_max_unpool_bad_options(opts, fragment):
    x = np.zeros((1, 4, 4, 2), np.float32)
    model = _model("MaxUnpooling2D", [x, x], [(1, 8, 8, 2)], opts)
    _raises(model, [x, x], fragment)


def test_pool_bad_shapes():
    x3 = np.zeros((4, 4, 2), np.float32)
    _raises(_model("MaxPoolingWithArgmax2D", [x3], [(2, 2, 2), (2, 2, 2)],
                   _pool_params(SAME, 2, 2, 2, 2)), [x3], "rank 4")
    x = np.zeros((1, 4, 4, 2), np.float32)
    _raises(_model("MaxPoolingWithArgmax2D", [x], [(1, 2, 2, 2)], _pool_params(SAME, 2, 2, 2, 2)),
            [x], "expected 2 outputs")
    other = np.zeros((1, 4, 4, 3), np.float32)
    _raises(_model("MaxUnpooling2D", [x, other], [(1, 8, 8, 2)], _pool_params(SAME, 2, 2, 2, 2)),
            [x, other], "indices must have the input's shape")
    xi = np.zeros((1, 4, 4, 2), np.int32)
    _raises(_model("MaxUnpooling2D", [x, xi], [(1, 8, 8, 2)], _pool_params(SAME, 2, 2, 2, 2)),
            [x, xi], "type")


# --------------------------------------------------------------------------------- TransformLandmarks


def ref_transform_landmarks(lm, m, dims, scale=1.0):
    """lm [..., dims] per batch; m [B or 1, 4, 4]."""
    out = lm.astype(np.float64).copy()
    for b in range(lm.shape[0]):
        mat = m.reshape(-1, 4, 4)[b if m.size > 16 else 0].astype(np.float64)
        flat = out[b].reshape(-1, dims)
        src = lm[b].reshape(-1, dims).astype(np.float64)
        flat[:, 0] = mat[0, 0] * src[:, 0] + mat[0, 1] * src[:, 1] + mat[0, 3] * scale
        flat[:, 1] = mat[1, 0] * src[:, 0] + mat[1, 1] * src[:, 1] + mat[1, 3] * scale
        out[b] = flat.reshape(out[b].shape)
    return out


def _matrix(seed, batches=1):
    r = _rng(seed)
    m = np.tile(np.eye(4, dtype=np.float32), (batches, 1, 1))
    m[:, :2, :2] = r.uniform(-2, 2, (batches, 2, 2))
    m[:, :2, 3] = r.uniform(-5, 5, (batches, 2))
    m[:, 2:, :] += r.uniform(-1, 1, (batches, 2, 4)).astype(np.float32)  # unused rows
    return m.astype(np.float32)


@pytest.mark.parametrize("shape,mat_batches", [
    ((1, 80, 2), 1), ((1, 5, 2), 1), ((1, 71, 3), 1), ((3, 7, 2), 3), ((2, 4, 3), 1)])
def test_transform_landmarks_v2(shape, mat_batches):
    lm = _rng(1).uniform(-50, 50, shape).astype(np.float32)
    m = _matrix(2, mat_batches)
    ref = ref_transform_landmarks(lm, m, shape[-1])
    (out,) = _ours(_model("TransformLandmarks", [lm, m], [shape], None, version=2), [lm, m])
    _close(out, ref)


@pytest.mark.parametrize("shape,dims,scale", [
    ((1, 1, 1, 6), 2, 1.0), ((1, 2, 3, 9), 3, 0.25), ((2, 1, 4, 4), 2, -3.0)])
def test_transform_landmarks_v1(shape, dims, scale):
    lm = _rng(3).uniform(-5, 5, shape).astype(np.float32)
    m = _matrix(4, shape[0] if shape[0] > 1 else 1)
    ref = ref_transform_landmarks(lm, m, dims, scale)
    opts = _flex({"dimensions": dims, "scale": scale})
    (out,) = _ours(_model("TransformLandmarks", [lm, m], [shape], opts, version=1), [lm, m])
    _close(out, ref)


@pytest.mark.parametrize("version,shape,opts,fragment", [
    (2, (1, 5, 4), None, "2 or 3"),
    (2, (1, 5, 1), None, "2 or 3"),
    (2, (5, 2), None, "rank 3"),
    (1, (1, 1, 1, 6), None, "missing"),
    (1, (1, 1, 1, 6), b"\x00\x01\x02\x03", "FlexBuffers"),
    (1, (1, 1, 1, 6), _flex({"scale": 1.0}), "'dimensions' is missing"),
    (1, (1, 1, 1, 6), _flex({"dimensions": 4}), "2 or 3"),
    (1, (1, 1, 1, 6), _flex({"dimensions": "2"}), "not an integer"),
    (1, (1, 1, 1, 6), _flex({"dimensions": 2, "scale": 0.0}), "scale"),
    (1, (1, 1, 1, 7), _flex({"dimensions": 2}), "multiple"),
])
def test_transform_landmarks_bad(version, shape, opts, fragment):
    lm = np.zeros(shape, np.float32)
    m = _matrix(5)
    _raises(_model("TransformLandmarks", [lm, m], [shape], opts, version=version), [lm, m], fragment)


def test_transform_landmarks_bad_matrix():
    lm = np.zeros((2, 5, 2), np.float32)
    m = np.zeros((3, 4, 4), np.float32)
    _raises(_model("TransformLandmarks", [lm, m], [lm.shape], None, version=2), [lm, m], "16 values")


# ---------------------------------------------------------------------------- TransformTensorBilinear


def ref_transform_tensor_bilinear(x, m, oh, ow, align_corners):
    """Follows the definition's rounding: source point in float32, blends in float64 with the
    two row blends rounded to float32."""
    n, h, w, c = x.shape
    out = np.zeros((n, oh, ow, c), np.float32)
    f32 = np.float32
    for b in range(n):
        mat = m.reshape(-1, 4, 4)[b if m.size > 16 else 0]
        r0, r1 = mat[0].copy(), mat[1].copy()
        if align_corners:
            r0[3] = f32(float(r0[3]) + (float(r0[0]) * 0.5 + float(r0[1]) * 0.5 - 0.5))
            r1[3] = f32(float(r1[3]) + (float(r1[0]) * 0.5 + float(r1[1]) * 0.5 - 0.5))
        for oy in range(oh):
            for ox in range(ow):
                sx = f32(f32(f32(r0[0] * f32(ox)) + f32(r0[1] * f32(oy))) + r0[3])
                sy = f32(f32(f32(r1[0] * f32(ox)) + f32(r1[1] * f32(oy))) + r1[3])
                if not (0 <= sx <= w - 1 and 0 <= sy <= h - 1):
                    continue
                x0, y0 = int(math.floor(sx)), int(math.floor(sy))
                fx, fy = float(sx) - x0, float(sy) - y0

                def q(yy, xx, b=b):
                    if 0 <= yy < h and 0 <= xx < w:
                        return x[b, yy, xx, :].astype(np.float64)
                    return np.zeros(c)

                upper = ((1 - fx) * q(y0, x0) + fx * q(y0, x0 + 1)).astype(np.float32)
                lower = ((1 - fx) * q(y0 + 1, x0) + fx * q(y0 + 1, x0 + 1)).astype(np.float32)
                out[b, oy, ox, :] = fy * lower.astype(np.float64) + (1 - fy) * upper.astype(np.float64)
    return out


def _crop_matrix(seed, h, w, oh, ow, batches=1):
    """A rotation + scale + shift mapping output pixels into (and partly out of) the input."""
    r = _rng(seed)
    m = np.tile(np.eye(4, dtype=np.float32), (batches, 1, 1))
    for b in range(batches):
        a = r.uniform(-0.6, 0.6)
        s = r.uniform(0.5, 1.5) * min(h / oh, w / ow)
        m[b, 0, :2] = [s * math.cos(a), -s * math.sin(a)]
        m[b, 1, :2] = [s * math.sin(a), s * math.cos(a)]
        m[b, 0, 3], m[b, 1, 3] = r.uniform(-1, w / 2), r.uniform(-1, h / 2)
    return m


TTB_CASES = [
    # (input NHWC, output (h, w), matrix batches)
    ((1, 48, 48, 32), (16, 16), 1),   # the face landmark model's crops
    ((1, 9, 7, 3), (5, 6), 1),
    ((2, 6, 8, 2), (4, 4), 2),
    ((2, 5, 5, 1), (7, 3), 1),
]


@pytest.mark.parametrize("version", [2, 1])
@pytest.mark.parametrize("case", TTB_CASES, ids=lambda c: "x".join(map(str, c[0])) + "-o%dx%d" % c[1])
def test_transform_tensor_bilinear(case, version):
    shape, (oh, ow), mb = case
    x = _rng(1).uniform(-1, 1, shape).astype(np.float32)
    m = _crop_matrix(2, shape[1], shape[2], oh, ow, mb)
    ref = ref_transform_tensor_bilinear(x, m, oh, ow, align_corners=version == 2)
    if version == 2:
        opts = _flex({"output_height": oh, "output_width": ow})
    else:
        opts = _flex({"mode": "bilinear", "output_size": [oh, ow]})
    out_shape = (shape[0], oh, ow, shape[3])
    (out,) = _ours(_model("TransformTensorBilinear", [x, m], [out_shape], opts, version), [x, m])
    assert np.count_nonzero(out) > 0
    _close(out, ref, tol=2e-6)


def test_transform_tensor_v1_name():
    """Version 1 is also registered under its first name, TransformTensor."""
    x = _rng(3).uniform(-1, 1, (1, 6, 6, 2)).astype(np.float32)
    m = _crop_matrix(4, 6, 6, 4, 4)
    ref = ref_transform_tensor_bilinear(x, m, 4, 4, align_corners=False)
    opts = _flex({"output_size": [4, 4]})
    (out,) = _ours(_model("TransformTensor", [x, m], [(1, 4, 4, 2)], opts, 1), [x, m])
    _close(out, ref, tol=2e-6)


def test_transform_tensor_bilinear_edges():
    """Exact edge coordinates, points just outside, and NaN matrices give zeros, not garbage."""
    x = _rng(5).uniform(1, 2, (1, 4, 5, 2)).astype(np.float32)
    m = np.eye(4, dtype=np.float32)[None]
    # identity (the v2 pixel-centre shift cancels out for it): input pixels are copied, output
    # pixels past the input's last row / column are outside and zero
    opts = _flex({"output_height": 6, "output_width": 7})
    model = _model("TransformTensorBilinear", [x, m], [(1, 6, 7, 2)], opts, 2)
    (out,) = _ours(model, [x, m])
    _close(out, ref_transform_tensor_bilinear(x, m, 6, 7, True))
    np.testing.assert_array_equal(out[0, :4, :5], x[0])
    assert not out[0, 4:].any() and not out[0, :, 5:].any()
    m[0, 0, 0] = np.nan
    (out,) = _ours(model, [x, m])
    assert not out.any()


@pytest.mark.parametrize("version,opts,fragment", [
    (2, None, "missing"),
    (2, b"\xff\xff\xff", "FlexBuffers"),
    (2, _flex({"output_height": 4}), "'output_width' is missing"),
    (2, _flex({"output_height": 4, "output_width": 0}), ">= 1"),
    (2, _flex({"output_height": -4, "output_width": 4}), ">= 1"),
    (2, _flex({"output_height": 4.5, "output_width": 4}), "not an integer"),
    (2, _flex({"output_height": 1 << 20, "output_width": 1 << 20}), "too large"),
    (1, _flex({"output_size": [4]}), "2 values"),
    (1, _flex({"output_size": [4, 4], "mode": "nearest"}), "mode"),
    (1, _flex({"output_height": 4, "output_width": 4}), "'output_size' is missing"),
])
def test_transform_tensor_bilinear_bad_options(version, opts, fragment):
    x = np.zeros((1, 4, 4, 2), np.float32)
    m = _matrix(1)
    model = _model("TransformTensorBilinear", [x, m], [(1, 4, 4, 2)], opts, version)
    _raises(model, [x, m], fragment)


def _flex_writes(**writers):
    """A FlexBuffers map whose values the functions `writers[key](builder)` add (the encodings
    _flex does not produce)."""
    b = flexbuffers.Builder()
    with b.Map():
        for key, write in writers.items():
            b.Key(key)
            write(b)
    return bytes(b.Finish())


def _mixed_vector(b):
    with b.Vector():
        b.UInt(5)
        b.Float(3.0)


# every encoding of the output size (5, 3) that the options reader converts to integers
_SIZE_ENCODINGS = {
    "typed-int": lambda b: b.TypedVectorFromElements([5, 3]),
    "typed-uint": lambda b: b.TypedVectorFromElements([5, 3], element_type=flexbuffers.Type.UINT),
    "typed-float": lambda b: b.TypedVectorFromElements([5.0, 3.0]),
    "fixed": lambda b: b.FixedTypedVectorFromElements([5, 3]),
    "untyped": lambda b: b.VectorFromElements([5, 3]),
    "untyped-mixed": _mixed_vector,
}
_HEIGHT_ENCODINGS = {
    "int": lambda b: b.Int(5),
    "uint": lambda b: b.UInt(5),
    "exact-float": lambda b: b.Float(5.0),
    "indirect-int": lambda b: b.IndirectInt(5),
    "indirect-float": lambda b: b.IndirectFloat(5.0),
}


@pytest.mark.parametrize("version,encoding", [(1, k) for k in _SIZE_ENCODINGS] + [(2, k) for k in _HEIGHT_ENCODINGS])
def test_transform_tensor_bilinear_option_encodings(version, encoding):
    """Integer options in every encoding the reader accepts (int vectors typed, fixed or untyped;
    uint; floats holding an exact integer; indirect values) give the output of the plain ints."""
    x = _rng(8).uniform(-1, 1, (1, 6, 6, 2)).astype(np.float32)
    m = _crop_matrix(9, 6, 6, 5, 3)
    if version == 1:
        opts = _flex_writes(output_size=_SIZE_ENCODINGS[encoding])
    else:
        opts = _flex_writes(output_height=_HEIGHT_ENCODINGS[encoding], output_width=lambda b: b.Int(3))
    (out,) = _ours(_model("TransformTensorBilinear", [x, m], [(1, 4, 4, 2)], opts, version), [x, m])
    _close(out, ref_transform_tensor_bilinear(x, m, 5, 3, align_corners=version == 2), tol=2e-6)


def _untyped(*values):
    def write(b):
        with b.Vector():
            for v in values:
                (b.Float if isinstance(v, float) else b.Int)(v)
    return write


@pytest.mark.parametrize("version,key,write,fragment", [
    (1, "output_size", _untyped(4, 2.5), "'output_size[1]' = 2.5 is not an integer"),
    (1, "output_size", _untyped(4, 1 << 40), "'output_size[1]' = 1099511627776 is out of the int32 range"),
    (1, "output_size", lambda b: b.TypedVectorFromElements(["4", "3"]), "'output_size[0]' has type key"),
    (1, "output_size", lambda b: b.String("4x3"), "'output_size' has type string, expected a vector"),
    (1, "output_size", lambda b: b.Int(4), "'output_size' has type int, expected a vector"),
    (2, "output_height", lambda b: b.Float(1e10), "'output_height' = 10000000000 is out of the int32 range"),
    (2, "output_height", lambda b: b.Float(float("inf")), "'output_height' = inf is not an integer"),
    (2, "output_height", lambda b: b.UInt(1 << 63), "'output_height' = 9223372036854775808 is out of range"),
    (2, "output_height", lambda b: b.TypedVectorFromElements([4]), "'output_height' has type vector, not an integer"),
    (2, "output_height", lambda b: b.Blob(b"\x04"), "'output_height' has type blob"),
])
def test_transform_tensor_bilinear_bad_option_types(version, key, write, fragment):
    """Values the reader cannot convert fail with a message naming the key (and element)."""
    x = np.zeros((1, 4, 4, 2), np.float32)
    m = _matrix(1)
    writers = {key: write}
    if version == 2:
        writers["output_width"] = lambda b: b.Int(4)
    model = _model("TransformTensorBilinear", [x, m], [(1, 4, 4, 2)], _flex_writes(**writers), version)
    _raises(model, [x, m], fragment)


def test_options_map_is_not_a_vector():
    """A map where a vector is expected is refused (not read as the vector of its values)."""
    x = np.zeros((1, 4, 4, 2), np.float32)
    m = _matrix(1)
    b = flexbuffers.Builder()
    with b.Map():
        with b.Map("output_size"):
            b.Int("h", 4)
            b.Int("w", 4)
    model = _model("TransformTensorBilinear", [x, m], [(1, 4, 4, 2)], bytes(b.Finish()), 1)
    _raises(model, [x, m], "'output_size' has type map, expected a vector")


def test_transform_tensor_bilinear_bad_shapes():
    opts = _flex({"output_height": 4, "output_width": 4})
    x3 = np.zeros((4, 4, 2), np.float32)
    m = _matrix(1)
    _raises(_model("TransformTensorBilinear", [x3, m], [(1, 4, 4, 2)], opts, 2), [x3, m], "rank 4")
    x = np.zeros((2, 4, 4, 2), np.float32)
    m3 = np.zeros((3, 4, 4), np.float32)
    _raises(_model("TransformTensorBilinear", [x, m3], [(2, 4, 4, 2)], opts, 2), [x, m3],
            "16 values")


# -------------------------------------------------------------------------- Landmarks2TransformMatrix


def ref_landmarks_to_matrix(lm, subset, left, right, target, oh, ow, scale_x, scale_y):
    """float64 version of the definition (see the kernel's header comment)."""
    out = np.zeros((lm.shape[0], 4, 4))
    for b in range(lm.shape[0]):
        p = lm[b].astype(np.float64)
        rot = target - math.atan2(p[right, 1] - p[left, 1], p[right, 0] - p[left, 0])
        c, s = math.cos(rot), math.sin(rot)
        pts = p[list(subset), :2]
        xr = c * pts[:, 0] - s * pts[:, 1]
        yr = s * pts[:, 0] + c * pts[:, 1]
        w, h = xr.max() - xr.min(), yr.max() - yr.min()
        mx, my = (xr.max() + xr.min()) / 2, (yr.max() + yr.min()) / 2
        cx, cy = math.cos(-rot) * mx - math.sin(-rot) * my, math.sin(-rot) * mx + math.cos(-rot) * my

        def t(dx, dy):
            m = np.eye(4)
            m[0, 3], m[1, 3] = dx, dy
            return m

        r4 = np.eye(4)
        r4[:2, :2] = [[math.cos(-rot), -math.sin(-rot)], [math.sin(-rot), math.cos(-rot)]]
        sc = np.diag([scale_x * w / ow, scale_y * h / oh, 1.0, 1.0])
        out[b] = t(cx, cy) @ r4 @ sc @ t(-ow / 2, -oh / 2)
    return out


L2M_CASES = [
    # (landmarks N, K, subset, left, right, target, out (h, w), scale (x, y))
    (1, 468, [61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291, 185, 40], 61, 291, 0.0, (16, 16),
     (1.5, 1.5)),                                       # like the face model's lips crop
    (1, 10, [0, 3, 5, 7, 9], 2, 8, 0.3, (24, 32), (1.0, 2.0)),
    (2, 12, [1, 2, 3], 0, 11, -1.2, (8, 8), (1.25, 0.75)),   # odd subset count
]


def _face_like(n, k, seed):
    r = _rng(seed)
    lm = np.empty((n, k, 3), np.float32)
    lm[..., :2] = r.uniform(40, 200, (n, k, 2))
    lm[..., 2] = r.uniform(-10, 10, (n, k))
    return lm


def _l2m_opts(subset, left, right, target, oh, ow, sx, sy):
    return _flex({"subset_idxs": subset, "left_rotation_idx": left, "right_rotation_idx": right,
                  "target_rotation_radians": float(target), "output_height": oh, "output_width": ow,
                  "scale_x": float(sx), "scale_y": float(sy)})


@pytest.mark.parametrize("case", L2M_CASES, ids=["face-lips", "small", "batch2-odd"])
def test_landmarks_to_transform_matrix(case):
    n, k, subset, left, right, target, (oh, ow), (sx, sy) = case
    lm = _face_like(n, k, 1)
    ref = ref_landmarks_to_matrix(lm, subset, left, right, target, oh, ow, sx, sy)
    opts = _l2m_opts(subset, left, right, target, oh, ow, sx, sy)
    (out,) = _ours(_model("Landmarks2TransformMatrix", [lm], [(n, 4, 4)], opts, 2), [lm])
    # float32 arithmetic through trigonometry and four matrix products vs float64
    _close(out, ref, tol=5e-6, what="matrix")


def test_landmarks_to_transform_matrix_feeds_bilinear():
    """The face model's chain: the matrix crops a feature map around a landmark subset."""
    lm = _face_like(1, 30, 2) / 5  # landmarks in a 48x48 feature map's coordinates
    opts = _l2m_opts(list(range(10, 20)), 10, 15, 0.0, 16, 16, 1.5, 1.5)
    (m,) = _ours(_model("Landmarks2TransformMatrix", [lm], [(1, 4, 4)], opts, 2), [lm])
    x = _rng(3).uniform(-1, 1, (1, 48, 48, 4)).astype(np.float32)
    tt = _flex({"output_height": 16, "output_width": 16})
    (crop,) = _ours(_model("TransformTensorBilinear", [x, m], [(1, 16, 16, 4)], tt, 2), [x, m])
    _close(crop, ref_transform_tensor_bilinear(x, m, 16, 16, True), tol=2e-6)


_L2M_GOOD = dict(subset=[0, 1, 2], left=0, right=2, target=0.0, oh=8, ow=8, sx=1.0, sy=1.0)


@pytest.mark.parametrize("change,fragment", [
    (dict(subset=[]), "empty"),
    (dict(subset=[0, 5]), "subset_idxs[1]"),
    (dict(subset=[-1, 2]), "subset_idxs[0]"),
    (dict(left=5), "rotation landmark"),
    (dict(right=-1), "rotation landmark"),
    (dict(oh=0), ">= 1"),
    (dict(sx=0.0), "scale"),
    (dict(sy=-1.0), "scale"),
    (dict(target=float("nan")), "finite"),
])
def test_landmarks_to_transform_matrix_bad_options(change, fragment):
    lm = _face_like(1, 5, 4)
    o = dict(_L2M_GOOD, **change)
    opts = _l2m_opts(o["subset"], o["left"], o["right"], o["target"], o["oh"], o["ow"], o["sx"],
                     o["sy"])
    _raises(_model("Landmarks2TransformMatrix", [lm], [(1, 4, 4)], opts, 2), [lm], fragment)


def test_landmarks_to_transform_matrix_bad_inputs():
    lm = _face_like(1, 5, 4)
    missing = _flex({"subset_idxs": [0, 1], "left_rotation_idx": 0})
    _raises(_model("Landmarks2TransformMatrix", [lm], [(1, 4, 4)], missing, 2), [lm], "missing")
    _raises(_model("Landmarks2TransformMatrix", [lm], [(1, 4, 4)], None, 2), [lm], "missing")
    o = _L2M_GOOD
    opts = _l2m_opts(o["subset"], o["left"], o["right"], o["target"], o["oh"], o["ow"], o["sx"], o["sy"])
    lm2 = np.zeros((1, 5, 2), np.float32)
    _raises(_model("Landmarks2TransformMatrix", [lm2], [(1, 4, 4)], opts, 2), [lm2], "[N, K, 3]")
    # version 1 (a different options set) is not implemented: refused when the model is loaded
    _raises(_model("Landmarks2TransformMatrix", [lm], [(1, 4, 4)], opts, 1), [lm],
            "Landmarks2TransformMatrix")


# ------------------------------------------------------------------------------------------ registry


@pytest.mark.parametrize("name,version,supported", [
    ("Convolution2DTransposeBias", 1, True), ("MaxPoolingWithArgmax2D", 1, True),
    ("MaxUnpooling2D", 1, True), ("TransformLandmarks", 1, True), ("TransformLandmarks", 2, True),
    ("TransformTensorBilinear", 1, True), ("TransformTensorBilinear", 2, True),
    ("TransformTensor", 1, True), ("Landmarks2TransformMatrix", 2, True),
    ("Landmarks2TransformMatrix", 1, False), ("MaxUnpooling2D", 2, False)])
def test_op_listing(tmp_path, name, version, supported):
    """`python -m tflite_cffi info` reports these custom ops (by name and version) as supported."""
    from tflite_cffi.__main__ import model_operators

    x = np.zeros((1, 4, 4, 2), np.float32)
    path = tmp_path / "m.tflite"
    path.write_bytes(_model(name, [x], [(1, 4, 4, 2)], None, version))
    ops = model_operators(str(path))
    if not ops:
        pytest.skip("the library has no operator listing")
    assert [(o[2], o[3], o[4]) for o in ops] == [(name, version, supported)]


# ------------------------------------------------------------------------------------ hostile options


def _mutations(good, seed, count=60):
    """Truncations, bit flips and random bytes derived from a valid options buffer."""
    r = _rng(seed)
    out = [good[:k] for k in range(0, len(good), max(1, len(good) // 12))]
    for _ in range(count):
        b = bytearray(good)
        for _ in range(int(r.integers(1, 4))):
            b[int(r.integers(0, len(b)))] = int(r.integers(0, 256))
        out.append(bytes(b))
    out += [bytes(r.integers(0, 256, int(r.integers(1, 64))).astype(np.uint8)) for _ in range(count // 3)]
    return out


def _survives(model, feeds):
    """Either runs or raises; a crash would take the test process down."""
    try:
        _ours(model, feeds)
    except Exception:  # noqa: BLE001  (any clean error is fine)
        pass


def test_hostile_flexbuffer_options():
    lm = _face_like(1, 20, 7)
    l2m = _l2m_opts(list(range(10)), 1, 9, 0.1, 16, 16, 1.5, 1.5)
    for opts in _mutations(l2m, 1):
        _survives(_model("Landmarks2TransformMatrix", [lm], [(1, 4, 4)], opts, 2), [lm])
    x = _rng(2).uniform(-1, 1, (1, 6, 6, 2)).astype(np.float32)
    m = _crop_matrix(3, 6, 6, 4, 4)
    for good, version in [(_flex({"output_height": 4, "output_width": 4}), 2),
                          (_flex({"mode": "bilinear", "output_size": [4, 4]}), 1)]:
        for opts in _mutations(good, 3):
            _survives(_model("TransformTensorBilinear", [x, m], [(1, 4, 4, 2)], opts, version), [x, m])
    lm1 = _rng(4).uniform(-1, 1, (1, 1, 1, 6)).astype(np.float32)
    for opts in _mutations(_flex({"dimensions": 2, "scale": 1.0}), 4):
        _survives(_model("TransformLandmarks", [lm1, _matrix(5)], [(1, 1, 1, 6)], opts, 1),
                  [lm1, _matrix(5)])


def test_hostile_raw_options():
    x = _rng(5).uniform(-1, 1, (1, 5, 5, 2)).astype(np.float32)
    r = _rng(6)
    for _ in range(150):
        opts = struct.pack("<10i", *[int(v) for v in r.choice([-1, 0, 1, 2, 3, 7, 1 << 30, -(1 << 31)], 10)])
        opts = opts[:int(r.integers(0, 41))]
        _survives(_model("MaxPoolingWithArgmax2D", [x], [(1, 3, 3, 2), (1, 3, 3, 2)], opts), [x])
        _survives(_model("MaxUnpooling2D", [x, x], [(1, 10, 10, 2)], opts), [x, x])
        w = TensorSpec([3, 2, 2, 2], "float32", np.ones((3, 2, 2, 2), np.float32))
        b = TensorSpec([3], "float32", np.zeros(3, np.float32))
        _survives(_model("Convolution2DTransposeBias", [x, w, b], [(1, 10, 10, 3)], opts[:16]), [x])
