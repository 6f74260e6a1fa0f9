"""MediaPipe's own models that use MediaPipe's custom ops, when they are available locally.

The models are not downloaded by the test suite: `python tools/fetch_mediapipe_models.py` puts them
(about 3 MB, extracted from a 36 MB wheel) in $TFLITE_CFFI_MEDIAPIPE_MODELS or
~/.cache/tflite-cffi/mediapipe; without them these tests skip and say so.

test_selfie_segmentation_oracle   (oracle) selfie segmentation (Convolution2DTransposeBias): the
                                  whole model against the official runtime, whose XNNPACK delegate
                                  runs the op, on random images (probabilities within 1e-5,
                                  logits within 2e-4 relative).
test_face_landmark_custom_ops     face landmarks with attention (Landmarks2TransformMatrix,
                                  TransformTensorBilinear, TransformLandmarks; the official runtime
                                  cannot run it): every custom op node's outputs, read with all
                                  intermediates preserved, against the numpy definitions in
                                  test_mediapipe_ops.py applied to that node's actual inputs.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

import test_mediapipe_ops as mp

tflite_cffi = pytest.importorskip("tflite_cffi")


def _models_dir() -> Path:
    env = os.environ.get("TFLITE_CFFI_MEDIAPIPE_MODELS")
    return Path(env) if env else Path.home() / ".cache" / "tflite-cffi" / "mediapipe"


def _model(name: str) -> Path:
    path = _models_dir() / name
    if not path.is_file():
        pytest.skip("%s not found: run `python tools/fetch_mediapipe_models.py` to fetch MediaPipe's "
                    "models (about 3 MB kept, 36 MB downloaded)" % path)
    return path


def _inputs(interp, seed):
    rng = np.random.default_rng(seed)
    return [rng.random(d["shape"], dtype=np.float32) for d in interp.get_input_details()]


def _run(interp, xs):
    interp.allocate_tensors()
    for d, x in zip(interp.get_input_details(), xs):
        interp.set_tensor(d["index"], x)
    interp.invoke()
    return [interp.get_tensor(d["index"]) for d in interp.get_output_details()]


@pytest.mark.oracle
@pytest.mark.parametrize("name", ["selfie_segmentation.tflite", "selfie_segmentation_landscape.tflite"])
def test_selfie_segmentation_oracle(oracle, name):
    path = str(_model(name))
    for seed in (0, 1):
        ours = tflite_cffi.Interpreter(model_path=path)
        xs = _inputs(ours, seed)
        mine = _run(ours, xs)
        theirs = _run(oracle.Interpreter(model_path=path), xs)
        for a, b in zip(mine, theirs):
            assert a.shape == b.shape
            assert np.max(np.abs(a - b)) <= 1e-5  # a probability map
            # On random images the probabilities are tiny (logits -15 .. -70): compare the logits,
            # within float32 rounding through the whole network.
            la, lb = _logit(a), _logit(b)
            assert np.all(np.abs(la - lb) <= 2e-4 * np.maximum(1.0, np.abs(lb))), \
                np.max(np.abs(la - lb))


def _logit(p):
    p = np.clip(p.astype(np.float64), 1e-30, 1 - 1e-12)
    return np.log(p) - np.log1p(-p)


def _custom_nodes(path):
    """[(name, version, input indices, output indices, options bytes)] of the model's custom ops."""
    schema = pytest.importorskip("tflite")
    m = schema.Model.GetRootAsModel(path.read_bytes(), 0)
    sg = m.Subgraphs(0)
    nodes = []
    for j in range(sg.OperatorsLength()):
        op = sg.Operators(j)
        code = m.OperatorCodes(op.OpcodeIndex())
        if not code.CustomCode():
            continue
        opts = op.CustomOptionsAsNumpy().tobytes() if op.CustomOptionsLength() else b""
        nodes.append((code.CustomCode().decode(), code.Version(), list(op.InputsAsNumpy()),
                      list(op.OutputsAsNumpy()), opts))
    return nodes


def test_face_landmark_custom_ops():
    path = _model("face_landmark_with_attention.tflite")
    flex = pytest.importorskip("flatbuffers.flexbuffers")
    nodes = _custom_nodes(path)
    assert sorted({(n[0], n[1]) for n in nodes}) == [
        ("Landmarks2TransformMatrix", 2), ("TransformLandmarks", 2), ("TransformTensorBilinear", 2)]
    for seed in (0, 1):
        interp = tflite_cffi.Interpreter(model_path=str(path), experimental_preserve_all_tensors=True)
        outs = _run(interp, _inputs(interp, seed))
        assert all(np.isfinite(o).all() for o in outs)
        for name, _version, ins, (out,), raw in nodes:
            got = interp.get_tensor(out)
            args = [interp.get_tensor(i) for i in ins]
            opts = flex.Loads(raw) if raw else {}
            if name == "Landmarks2TransformMatrix":
                ref = mp.ref_landmarks_to_matrix(
                    args[0], opts["subset_idxs"], opts["left_rotation_idx"], opts["right_rotation_idx"],
                    opts["target_rotation_radians"], opts["output_height"], opts["output_width"],
                    opts["scale_x"], opts["scale_y"])
                mp._close(got, ref, tol=5e-6, what=name)
            elif name == "TransformTensorBilinear":
                ref = mp.ref_transform_tensor_bilinear(args[0], args[1], opts["output_height"],
                                                       opts["output_width"], align_corners=True)
                mp._close(got, ref, tol=2e-6, what=name)
            else:
                ref = mp.ref_transform_landmarks(args[0], args[1], args[0].shape[-1])
                mp._close(got, ref, what=name)
