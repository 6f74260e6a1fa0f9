"""TFLite_Detection_PostProcess, the custom op that ends SSD-style detectors.

Single-op models are built with tests/opgen (op "CUSTOM", FlexBuffers options from the ``flatbuffers`` package)
and run on tflite-cffi, then compared

* with the official runtime (ai-edge-litert, ``oracle`` marker; one thread, because its regular NMS merges the
  per-class results of several threads in scheduling order): exactly for counts, classes, scores and order,
  within 1e-6 for box corners;
* with ``reference()`` below, an independent numpy implementation, on every Python (ai-edge-litert exists for
  x86_64 CPython 3.10+ only). It breaks score ties by a stable ranking, which is what the official kernel
  does except in the per-anchor class ranking of fast NMS with more than one class per detection (a heap
  partial sort): those cases use tie-free scores there.

Rows the official kernel leaves unwritten (after the detections of fast NMS, beyond max_detections in
regular NMS) hold stale arena bytes in its outputs: they are not compared, and must be zero in ours.

Malformed options, shapes and types must raise with a message, never crash.
"""

from __future__ import annotations

import numpy as np
import pytest

flexbuffers = pytest.importorskip("flatbuffers.flexbuffers")
tflite_cffi = pytest.importorskip("tflite_cffi")

from opgen.builder import OpSpec, QuantSpec, TensorSpec, build_graph  # noqa: E402

OP = "TFLite_Detection_PostProcess"
ORACLE = pytest.mark.oracle

BASE = dict(max_detections=10, max_classes_per_detection=1, detections_per_class=100, use_regular_nms=False,
            nms_score_threshold=0.3, nms_iou_threshold=0.6, num_classes=4,
            y_scale=10.0, x_scale=10.0, h_scale=5.0, w_scale=5.0)


def options_bytes(opts, doubles=()):
    """The options map; keys in ``doubles`` are written as 64-bit floats (the ``flatbuffers`` package
    cannot pick a width for a double out of the float32 range by itself)."""
    if not isinstance(opts, dict) or not doubles:
        return bytes(flexbuffers.Dumps(opts))
    fbb = flexbuffers.Builder()
    with fbb.Map():
        for key, value in opts.items():
            if key in doubles:
                fbb.Float(key, float(value), 8)
            else:
                fbb.Key(key)
                fbb.Add(value)
    return bytes(fbb.Finish())


# ------------------------------------------------------------------------------------------------ models


def make_model(n, columns, opts=None, *, raw_options=None, anchors=None, box_len=4, btype="float32",
               stype="float32", atype="float32", bq=None, sq=None, aq=None, rows=None, out_dtype="float32",
               version=1, box_shape=None, score_shape=None, anchor_shape=None, n_outputs=4):
    """A one-op model: inputs box encodings and class predictions, constant anchors."""
    opts = dict(BASE if opts is None else opts)
    if rows is None:
        rows = max(1, int(opts.get("max_detections", 1)) * int(opts.get("max_classes_per_detection", 1)))
    if anchors is None:
        anchors = np.tile(np.array([[0.5, 0.5, 0.2, 0.2]], np.float32), (n, 1))
    tensors = [
        TensorSpec(box_shape or [1, n, box_len], btype, quant=bq, name="boxes"),
        TensorSpec(score_shape or [1, n, columns], stype, quant=sq, name="scores"),
        TensorSpec(anchor_shape or list(anchors.shape), atype, np.asarray(anchors), quant=aq, name="anchors"),
        TensorSpec([1, rows, 4], out_dtype, name="detection_boxes"),
        TensorSpec([1, rows], "float32", name="detection_classes"),
        TensorSpec([1, rows], "float32", name="detection_scores"),
        TensorSpec([1], "float32", name="num_detections"),
    ][: 3 + n_outputs]
    custom = options_bytes(opts) if raw_options is None else raw_options
    outs = list(range(3, 3 + n_outputs))
    op = OpSpec("CUSTOM", [0, 1, 2], outs, version=version, custom_code=OP, custom_options=custom)
    return build_graph(tensors, [op], [0, 1], outs)


def run(interpreter_cls, model, boxes, scores, **kwargs):
    it = interpreter_cls(model_content=model, **kwargs)
    it.allocate_tensors()
    ins = it.get_input_details()
    it.set_tensor(ins[0]["index"], boxes)
    it.set_tensor(ins[1]["index"], scores)
    it.invoke()
    return [it.get_tensor(d["index"]).copy() for d in it.get_output_details()]


def ours(model, boxes, scores):
    return run(tflite_cffi.Interpreter, model, boxes, scores)


def official(model, boxes, scores):
    from ai_edge_litert.interpreter import Interpreter
    return run(Interpreter, model, boxes, scores, num_threads=1)


# ------------------------------------------------------------------------------------------------ inputs


def random_anchors(rng, n):
    yx = rng.uniform(0.1, 0.9, size=(n, 2))
    hw = rng.uniform(0.05, 0.4, size=(n, 2))
    return np.concatenate([yx, hw], axis=1).astype(np.float32)


def random_boxes(rng, n, box_len=4):
    b = rng.normal(0.0, 1.0, size=(1, n, box_len))
    b[..., 2:4] *= 0.5
    return b.astype(np.float32)


def random_scores(rng, n, columns, kind):
    if kind == "uniform":
        return rng.uniform(0.0, 1.0, size=(1, n, columns)).astype(np.float32)
    if kind == "ties":  # a few levels: ties everywhere, across anchors and classes
        return rng.choice(np.array([0.2, 0.45, 0.7, 0.9], np.float32), size=(1, n, columns))
    if kind == "below":  # nothing reaches the 0.3 threshold
        return rng.uniform(0.0, 0.29, size=(1, n, columns)).astype(np.float32)
    raise ValueError(kind)


# ------------------------------------------------------------------------------------------------ reference


def decode(boxes, anchors, opts):
    """Corners (ymin, xmin, ymax, xmax): centres and half sizes in float64 rounded to float32."""
    e = boxes[0, :, :4].astype(np.float64)
    a = anchors.astype(np.float64)
    yc = (e[:, 0] / opts["y_scale"] * a[:, 2] + a[:, 0]).astype(np.float32)
    xc = (e[:, 1] / opts["x_scale"] * a[:, 3] + a[:, 1]).astype(np.float32)
    hh = (0.5 * np.exp(e[:, 2] / opts["h_scale"]) * a[:, 2]).astype(np.float32)
    hw = (0.5 * np.exp(e[:, 3] / opts["w_scale"]) * a[:, 3]).astype(np.float32)
    return np.stack([yc - hh, xc - hw, yc + hh, xc + hw], axis=1)


def iou(a, b):
    f = np.float32
    area_a = f(a[2] - a[0]) * f(a[3] - a[1])
    area_b = f(b[2] - b[0]) * f(b[3] - b[1])
    if area_a <= 0 or area_b <= 0:
        return f(0)
    h = max(f(min(a[2], b[2]) - max(a[0], b[0])), f(0))
    w = max(f(min(a[3], b[3]) - max(a[1], b[1])), f(0))
    inter = f(h * w)
    return f(inter / f(f(area_a + area_b) - inter))


def nms(corners, score, limit, opts):
    """Anchor indices kept by one NMS pass, in selection order."""
    cand = [i for i in range(len(score)) if score[i] >= np.float32(opts["nms_score_threshold"])]
    cand.sort(key=lambda i: (-float(score[i]), i))
    kept = []
    for i in cand:
        if len(kept) >= limit:
            break
        if all(iou(corners[k], corners[i]) <= np.float32(opts["nms_iou_threshold"]) for k in kept):
            kept.append(i)
    return kept


def reference(boxes, scores, anchors, opts):
    """(boxes, classes, scores, count, valid rows) of the op, from numpy."""
    corners = decode(boxes, anchors, opts)
    nc = opts["num_classes"]
    s = scores[0, :, scores.shape[2] - nc:]
    max_det, mcpd = opts["max_detections"], opts["max_classes_per_detection"]
    rows = max_det * mcpd
    ob, oc, os_ = np.zeros((rows, 4), np.float32), np.zeros(rows, np.float32), np.zeros(rows, np.float32)
    valid = []
    if opts.get("use_regular_nms", False):
        per_class = min(opts.get("detections_per_class", 100), max_det)
        found = []  # (score, class, rank within the class, anchor)
        for c in range(nc):
            for rank, a in enumerate(nms(corners, s[:, c], per_class, opts)):
                found.append((float(s[a, c]), c, rank, a))
        # by score; a tie keeps the earlier class first, then the class's own NMS order
        found.sort(key=lambda t: (-t[0], t[1], t[2]))
        found = found[:max_det]
        for r, (score, c, _, a) in enumerate(found):
            ob[r], oc[r], os_[r] = corners[a], c, score
        valid = list(range(max_det))  # the official kernel writes zeros up to max_detections
        return ob, oc, os_, len(found), valid
    k = min(mcpd, nc)
    ranking = np.argsort(-s, axis=1, kind="stable")[:, :k]  # ties: lower class first
    kept = nms(corners, s[np.arange(len(s)), ranking[:, 0]], max_det, opts)
    for i, a in enumerate(kept):
        for j in range(k):
            r = i * mcpd + j
            ob[r], oc[r], os_[r] = corners[a], ranking[a, j], s[a, ranking[a, j]]
            valid.append(r)
    return ob, oc, os_, len(kept), valid


# ------------------------------------------------------------------------------------------------ checks


def check(got, want, valid, what=""):
    """got: our 4 outputs; want: (boxes, classes, scores, count) rows; valid: the rows to compare."""
    gb, gc, gs, gn = got[0][0], got[1][0], got[2][0], got[3]
    wb, wc, ws, wn = want
    assert gn.shape == (1,) and int(gn[0]) == int(wn), what
    valid = np.asarray(valid, dtype=np.int64)
    np.testing.assert_array_equal(gc[valid], np.asarray(wc)[valid], err_msg="classes " + what)
    np.testing.assert_array_equal(gs[valid], np.asarray(ws)[valid], err_msg="scores " + what)
    np.testing.assert_allclose(gb[valid], np.asarray(wb)[valid], rtol=0, atol=1e-6, err_msg="boxes " + what)
    rest = np.setdiff1d(np.arange(len(gc)), valid)
    assert not gb[rest].any() and not gc[rest].any() and not gs[rest].any(), "padding must be zero " + what


def valid_rows(opts, count):
    max_det, mcpd = opts["max_detections"], opts["max_classes_per_detection"]
    if opts.get("use_regular_nms", False):
        return list(range(max_det))
    k = min(mcpd, opts["num_classes"])
    return [i * mcpd + j for i in range(count) for j in range(k)]


# ------------------------------------------------------------------------------------------------ cases

# (name, option overrides, anchors, score columns = num_classes + background?, box_len)
CASES = [
    ("fast_ssd", dict(), 60, True, 4),
    ("fast_3_classes_each", dict(max_classes_per_detection=3, num_classes=5), 40, False, 4),
    ("fast_more_than_classes", dict(max_classes_per_detection=6, num_classes=3, max_detections=4), 30, True, 4),
    ("fast_keypoints", dict(nms_iou_threshold=0.3, max_detections=25), 80, True, 10),
    ("fast_iou_1", dict(nms_iou_threshold=1.0, nms_score_threshold=0.0, max_detections=7), 20, False, 4),
    ("regular", dict(use_regular_nms=True, detections_per_class=4, max_detections=8), 50, True, 4),
    ("regular_default_per_class", dict(use_regular_nms=True, num_classes=7, max_detections=5,
                                       nms_iou_threshold=0.45), 60, True, 4),
    ("regular_2_per_detection", dict(use_regular_nms=True, max_classes_per_detection=2, detections_per_class=3,
                                     max_detections=6), 40, False, 4),
    ("regular_many", dict(use_regular_nms=True, num_classes=12, detections_per_class=30, max_detections=40,
                          nms_score_threshold=0.1), 120, True, 6),
]
SCORE_KINDS = ["uniform", "ties", "below"]


def case_inputs(case, kind, seed):
    name, over, n, background, box_len = case
    opts = dict(BASE, **over)
    rng = np.random.default_rng(seed)
    columns = opts["num_classes"] + (1 if background else 0)
    anchors = random_anchors(rng, n)
    boxes = random_boxes(rng, n, box_len)
    scores = random_scores(rng, n, columns, kind)
    return opts, anchors, boxes, scores, box_len


def tie_ranked_by_heap(opts, kind):
    """Fast NMS with several classes per anchor ranks tied classes by a heap sort (see the module docstring)."""
    return (kind == "ties" and not opts["use_regular_nms"]
            and min(opts["max_classes_per_detection"], opts["num_classes"]) > 1)


@pytest.mark.parametrize("kind", SCORE_KINDS)
@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_float_reference(case, kind):
    for seed in range(3):
        opts, anchors, boxes, scores, box_len = case_inputs(case, kind, seed)
        if tie_ranked_by_heap(opts, kind):
            scores = random_scores(np.random.default_rng(seed + 100), boxes.shape[1], scores.shape[2], "uniform")
        model = make_model(boxes.shape[1], scores.shape[2], opts, anchors=anchors, box_len=box_len)
        got = ours(model, boxes, scores)
        wb, wc, ws, wn, valid = reference(boxes, scores, anchors, opts)
        if kind == "below" and opts["nms_score_threshold"] >= 0.29:
            assert wn == 0
        check(got, (wb, wc, ws, wn), valid, "%s seed %d" % (case[0], seed))


@ORACLE
@pytest.mark.parametrize("kind", SCORE_KINDS)
@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_float_oracle(case, kind, oracle):
    for seed in range(4):
        opts, anchors, boxes, scores, box_len = case_inputs(case, kind, seed)
        model = make_model(boxes.shape[1], scores.shape[2], opts, anchors=anchors, box_len=box_len)
        got, want = ours(model, boxes, scores), official(model, boxes, scores)
        n = int(want[3][0])
        check(got, (want[0][0], want[1][0], want[2][0], n), valid_rows(opts, n), "%s seed %d" % (case[0], seed))


def quantize(x, scale, zero_point, dtype):
    info = np.iinfo(dtype)
    return np.clip(np.round(x / scale) + zero_point, info.min, info.max).astype(dtype)


def quant_inputs(case, kind, seed):
    """uint8 boxes, scores and anchors (heavily tied scores, as real quantized detectors have)."""
    opts, anchors, boxes, scores, box_len = case_inputs(case, kind, seed)
    bq, sq, aq = QuantSpec(0.05, 128), QuantSpec(1.0 / 256, 0), QuantSpec(1.0 / 255, 0)
    qb = quantize(boxes, 0.05, 128, np.uint8)
    qs = quantize(scores, 1.0 / 256, 0, np.uint8)
    qa = quantize(anchors, 1.0 / 255, 0, np.uint8)
    return opts, qa, qb, qs, box_len, (bq, sq, aq)


def dequant(q, spec):
    return ((q.astype(np.int32) - spec.zero_point).astype(np.float32) * np.float32(spec.scale)).astype(np.float32)


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_uint8_reference(case):
    for seed in range(3):
        opts, qa, qb, qs, box_len, (bq, sq, aq) = quant_inputs(case, "uniform", seed)
        if tie_ranked_by_heap(opts, "ties"):  # quantized scores tie: keep to the unambiguous ranking
            opts = dict(opts, max_classes_per_detection=1)
        model = make_model(qb.shape[1], qs.shape[2], opts, anchors=qa, box_len=box_len, btype="uint8",
                           stype="uint8", atype="uint8", bq=bq, sq=sq, aq=aq)
        got = ours(model, qb, qs)
        wb, wc, ws, wn, valid = reference(dequant(qb, bq), dequant(qs, sq), dequant(qa, aq), opts)
        check(got, (wb, wc, ws, wn), valid, "%s seed %d" % (case[0], seed))


@ORACLE
@pytest.mark.parametrize("kind", ["uniform", "below"])
@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_uint8_oracle(case, kind, oracle):
    for seed in range(4):
        opts, qa, qb, qs, box_len, (bq, sq, aq) = quant_inputs(case, kind, seed)
        model = make_model(qb.shape[1], qs.shape[2], opts, anchors=qa, box_len=box_len, btype="uint8",
                           stype="uint8", atype="uint8", bq=bq, sq=sq, aq=aq)
        got, want = ours(model, qb, qs), official(model, qb, qs)
        n = int(want[3][0])
        check(got, (want[0][0], want[1][0], want[2][0], n), valid_rows(opts, n), "%s seed %d" % (case[0], seed))


@ORACLE
def test_uint8_scores_float_boxes_oracle(oracle):
    """Mixed: float32 box encodings and anchors, uint8 class predictions."""
    case = CASES[1]
    for seed in range(4):
        opts, anchors, boxes, scores, box_len = case_inputs(case, "uniform", seed)
        sq = QuantSpec(1.0 / 256, 3)
        qs = quantize(scores, 1.0 / 256, 3, np.uint8)
        model = make_model(boxes.shape[1], qs.shape[2], opts, anchors=anchors, stype="uint8", sq=sq)
        got, want = ours(model, boxes, qs), official(model, boxes, qs)
        n = int(want[3][0])
        check(got, (want[0][0], want[1][0], want[2][0], n), valid_rows(opts, n), "seed %d" % seed)


@pytest.mark.parametrize("case", [CASES[0], CASES[1], CASES[5]], ids=["fast", "fast3", "regular"])
def test_int8_same_as_uint8(case):
    """int8 (which the official kernel lacks) reads as the uint8 tensor shifted by 128 in value and zero point."""
    for seed in range(3):
        opts, qa, qb, qs, box_len, (bq, sq, aq) = quant_inputs(case, "uniform", seed)
        u8 = make_model(qb.shape[1], qs.shape[2], opts, anchors=qa, btype="uint8", stype="uint8", atype="uint8",
                        bq=bq, sq=sq, aq=aq)

        def shift(spec):
            return QuantSpec(spec.scale, spec.zero_point - 128)

        def s8(q):
            return (q.astype(np.int16) - 128).astype(np.int8)

        i8 = make_model(qb.shape[1], qs.shape[2], opts, anchors=s8(qa), btype="int8", stype="int8", atype="int8",
                        bq=shift(bq), sq=shift(sq), aq=shift(aq))
        want, got = ours(u8, qb, qs), ours(i8, s8(qb), s8(qs))
        for w, g in zip(want, got):
            np.testing.assert_array_equal(g, w)
        assert int(got[3][0]) > 0


def test_repeated_invoke_clears_previous_detections():
    """A second invoke with fewer detections leaves no rows of the first behind."""
    opts, anchors, boxes, scores, _ = case_inputs(CASES[1], "uniform", 0)
    it = tflite_cffi.Interpreter(model_content=make_model(boxes.shape[1], scores.shape[2], opts, anchors=anchors))
    it.allocate_tensors()
    ins, outs = it.get_input_details(), it.get_output_details()
    it.set_tensor(ins[0]["index"], boxes)
    for s in (scores, scores * np.float32(0.0)):
        it.set_tensor(ins[1]["index"], s)
        it.invoke()
    assert it.get_tensor(outs[3]["index"])[0] == 0
    for o in outs[:3]:
        assert not it.get_tensor(o["index"]).any()


def test_output_shapes_known_before_invoke():
    opts = dict(BASE, max_detections=7, max_classes_per_detection=3)
    it = tflite_cffi.Interpreter(model_content=make_model(20, 5, opts))
    it.allocate_tensors()
    shapes = [tuple(d["shape"]) for d in it.get_output_details()]
    assert shapes == [(1, 21, 4), (1, 21), (1, 21), (1,)]


# ------------------------------------------------------------------------------------------------ errors

ERRORS = (ValueError, RuntimeError)


def fails(model, match, boxes=None, scores=None):
    """Building, allocating or invoking the model raises an error whose message matches."""
    with pytest.raises(ERRORS, match=match):
        it = tflite_cffi.Interpreter(model_content=model)
        it.allocate_tensors()
        ins = it.get_input_details()
        if boxes is not None:
            it.set_tensor(ins[0]["index"], boxes)
            it.set_tensor(ins[1]["index"], scores)
        it.invoke()


GOOD = options_bytes(BASE)


@pytest.mark.parametrize("raw, match", [
    (GOOD[: len(GOOD) // 2], "malformed FlexBuffer"),
    (GOOD[:-1], "malformed FlexBuffer"),
    (GOOD[:2], "malformed FlexBuffer"),
    (b"\xff" * 40, "malformed FlexBuffer|root"),
    (options_bytes(5), "root is int"),
    (options_bytes([1, 2, 3]), "root is vector"),
    (b"", "missing"),
])
def test_malformed_flexbuffer(raw, match):
    fails(make_model(10, 5, raw_options=raw), match)


def test_mutated_flexbuffers_never_crash():
    """Every single-byte change and every truncation either runs or raises: verification keeps reads in bounds."""
    model_in = (np.zeros((1, 10, 4), np.float32), np.full((1, 10, 5), 0.5, np.float32))
    variants = [GOOD[:i] for i in range(len(GOOD))]
    for i in range(len(GOOD)):
        for v in (0x00, 0xFF, GOOD[i] ^ 0x80):
            variants.append(GOOD[:i] + bytes([v]) + GOOD[i + 1:])
    for raw in variants:
        try:
            got = ours(make_model(10, 5, raw_options=raw), *model_in)
        except ERRORS as e:
            assert str(e)
        else:
            assert got[3].shape == (1,)


@pytest.mark.parametrize("over, match", [
    (dict(num_classes="four"), "'num_classes' has type string"),
    (dict(max_detections=[10]), "'max_detections' has type vector"),
    (dict(y_scale="10"), "'y_scale' has type string, expected a number"),
    (dict(use_regular_nms="yes"), "'use_regular_nms' has type string, expected a bool"),
    (dict(max_detections=2.5), "'max_detections' = 2.5 is not an integer"),
    (dict(max_detections=2 ** 40), "int32 range"),
    (dict(h_scale=1e300), "'h_scale' = 1e\\+300 is not a finite float32"),
    (dict(nms_iou_threshold=float("nan")), "not a finite float32"),
    (dict(max_detections=0), "max_detections = 0 must be > 0"),
    (dict(max_detections=-3), "max_detections = -3 must be > 0"),
    (dict(max_classes_per_detection=0), "max_classes_per_detection = 0"),
    (dict(max_detections=100000, max_classes_per_detection=100), "output rows"),
    (dict(use_regular_nms=True, detections_per_class=0), "detections_per_class = 0"),
    (dict(num_classes=0), "num_classes = 0"),
    (dict(nms_iou_threshold=0.0), r"nms_iou_threshold = 0 must be in \(0, 1\]"),
    (dict(nms_iou_threshold=1.5), "nms_iou_threshold"),
    (dict(x_scale=0.0), "must be > 0"),
    (dict(w_scale=-1.0), "must be > 0"),
    (dict(num_classes=2), "5 columns; num_classes = 2"),
    (dict(num_classes=6), "5 columns; num_classes = 6"),
])
def test_bad_options(over, match):
    opts = dict(BASE, **over)
    raw = options_bytes(opts, doubles=[k for k, v in over.items() if isinstance(v, float)])
    fails(make_model(10, 5, raw_options=raw, rows=10), match)  # the op sets the output shapes itself


@pytest.mark.parametrize("key", ["max_detections", "max_classes_per_detection", "nms_iou_threshold",
                                 "num_classes", "y_scale", "x_scale", "h_scale", "w_scale"])
def test_missing_required_option(key):
    opts = {k: v for k, v in BASE.items() if k != key}
    fails(make_model(10, 5, raw_options=options_bytes(opts), rows=10), "'%s' is missing" % key)


def test_optional_options_default():
    """detections_per_class (100), use_regular_nms (false) and nms_score_threshold (0) may be absent."""
    opts = {k: v for k, v in BASE.items() if k not in ("detections_per_class", "use_regular_nms",
                                                        "nms_score_threshold")}
    rng = np.random.default_rng(7)
    anchors, boxes = random_anchors(rng, 30), random_boxes(rng, 30)
    scores = random_scores(rng, 30, 5, "uniform")
    got = ours(make_model(30, 5, opts, anchors=anchors), boxes, scores)
    full = dict(opts, detections_per_class=100, use_regular_nms=False, nms_score_threshold=0.0)
    wb, wc, ws, wn, valid = reference(boxes, scores, anchors, full)
    check(got, (wb, wc, ws, wn), valid)


def test_option_encodings():
    """Other encodings the options reader converts give the result of the plain one: integers as exact floats,
    uints, bools or indirect ints; floats as ints, uints, indirect or 64-bit floats; bools as ints; null as
    absent (the default)."""
    fbb = flexbuffers.Builder()
    with fbb.Map():
        fbb.Float("max_detections", 10.0)
        fbb.Bool("max_classes_per_detection", True)
        fbb.Null("detections_per_class")
        fbb.Int("use_regular_nms", 1)
        fbb.Float("nms_score_threshold", 0.3)
        fbb.IndirectFloat("nms_iou_threshold", 0.6)
        fbb.IndirectInt("num_classes", 4)
        fbb.Int("y_scale", 10)
        fbb.UInt("x_scale", 10)
        fbb.Float("h_scale", 5.0, 8)
        fbb.UInt("w_scale", 5)
    rng = np.random.default_rng(12)
    anchors, boxes = random_anchors(rng, 30), random_boxes(rng, 30)
    scores = random_scores(rng, 30, 5, "uniform")
    got = ours(make_model(30, 5, raw_options=bytes(fbb.Finish()), anchors=anchors), boxes, scores)
    plain = dict(BASE, max_classes_per_detection=1, detections_per_class=100, use_regular_nms=True)
    want = reference(boxes, scores, anchors, plain)
    check(got, want[:4], want[4])
    fast = reference(boxes, scores, anchors, dict(plain, use_regular_nms=False))
    assert not np.array_equal(fast[1], want[1])  # the data tells regular from fast NMS (use_regular_nms = 1)


@pytest.mark.parametrize("kwargs, match", [
    (dict(anchor_shape=[10, 3], anchors=np.zeros((10, 3), np.float32)), r"anchors 'anchors' must be \[10, 4\]"),
    (dict(anchors=np.zeros((9, 4), np.float32)), r"anchors 'anchors' must be \[10, 4\]"),
    (dict(box_shape=[10, 4]), r"box encodings 'boxes' must be \[1, num_anchors, >=4\]"),
    (dict(box_shape=[2, 10, 4]), "box encodings"),
    (dict(box_len=3), "box encodings"),
    (dict(score_shape=[1, 9, 5]), r"class predictions 'scores' must be \[1, 10,"),
    (dict(score_shape=[1, 10, 5, 1]), "class predictions"),
    (dict(box_shape=[1, 0, 4], score_shape=[1, 0, 5], anchors=np.zeros((0, 4), np.float32)), "no anchors"),
    (dict(out_dtype="int32"), "has type INT32; this kernel takes FLOAT32"),
    (dict(stype="int16", sq=QuantSpec(0.01, 0)), "type INT16"),
    (dict(stype="uint8"), "quantization parameters"),
    (dict(btype="uint8", bq=QuantSpec(0.0, 0)), "scale 0"),
    (dict(n_outputs=3), "4 outputs"),
])
def test_bad_shapes_and_types(kwargs, match):
    fails(make_model(10, 5, **kwargs), match)


def test_version_2_is_unsupported():
    with pytest.raises(ValueError, match="'TFLite_Detection_PostProcess' version 2"):
        tflite_cffi.Interpreter(model_content=make_model(10, 5, version=2))


def test_inverted_anchor_is_an_error_at_invoke():
    """A negative anchor height decodes to ymin > ymax, which the official kernel rejects too."""
    anchors = np.tile(np.array([[0.5, 0.5, 0.2, 0.2]], np.float32), (10, 1))
    anchors[3, 2] = -0.1
    boxes, scores = np.zeros((1, 10, 4), np.float32), np.full((1, 10, 5), 0.5, np.float32)
    fails(make_model(10, 5, anchors=anchors), "decoded box 3 is inverted", boxes, scores)


@ORACLE
@pytest.mark.parametrize("regular", [False, True], ids=["fast", "regular"])
def test_special_values_oracle(regular, oracle):
    """NaN and infinite scores, zero-area boxes (h or w encodings of -inf) and identical boxes."""
    rng = np.random.default_rng(11)
    n, nc = 40, 4
    opts = dict(BASE, num_classes=nc, max_classes_per_detection=1 if regular else 3, use_regular_nms=regular,
                detections_per_class=6, max_detections=12, nms_score_threshold=0.2)
    anchors = random_anchors(rng, n)
    anchors[5] = anchors[6] = anchors[7]
    boxes = random_boxes(rng, n)
    boxes[0, 5] = boxes[0, 6] = boxes[0, 7]
    boxes[0, 10, 2] = -np.inf
    boxes[0, 11, 3] = -np.inf
    for seed in range(4):
        scores = random_scores(np.random.default_rng(seed), n, nc + 1, "ties")
        scores[0, rng.integers(0, n, 6), rng.integers(0, nc + 1, 6)] = np.nan
        scores[0, rng.integers(0, n, 3), rng.integers(0, nc + 1, 3)] = np.inf
        scores[0, rng.integers(0, n, 3), rng.integers(0, nc + 1, 3)] = -np.inf
        scores[0, 10:12] = 0.95  # the zero-area boxes score high: they never suppress and are never suppressed
        model = make_model(n, nc + 1, opts, anchors=anchors)
        got, want = ours(model, boxes, scores), official(model, boxes, scores)
        count = int(want[3][0])
        check(got, (want[0][0], want[1][0], want[2][0], count), valid_rows(opts, count), "seed %d" % seed)
