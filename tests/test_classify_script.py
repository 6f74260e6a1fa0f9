"""A classic tflite_runtime image-classification script, with only its import
changed to tflite_cffi, prints the official runtime's top-5.

The script below is written the way such scripts usually are (load, allocate,
read input details, scale a float input, set, invoke, squeeze, argsort, top-5).
Its only change is the import line. It reads the zoo's reference input (.npy)
where a real one would decode a JPEG.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parent.parent
MODELS = Path(os.environ.get("TFLITE_CFFI_MODELS") or REPO.parent / "shared" / "models")

CLASSIFY_SCRIPT = '''
import argparse
import time

import numpy as np

from tflite_runtime.interpreter import Interpreter


def main():
    parser = argparse.ArgumentParser(description="classify an image")
    parser.add_argument("-m", "--model_file", required=True, help=".tflite model")
    parser.add_argument("-i", "--image", required=True, help="image as a .npy array (H, W, C)")
    parser.add_argument("--input_mean", default=0.0, type=float)
    parser.add_argument("--input_std", default=1.0, type=float)
    parser.add_argument("--num_threads", default=None, type=int)
    args = parser.parse_args()

    interpreter = Interpreter(model_path=args.model_file, num_threads=args.num_threads)
    interpreter.allocate_tensors()

    input_details = interpreter.get_input_details()
    output_details = interpreter.get_output_details()
    floating_model = input_details[0]["dtype"] == np.float32
    height = input_details[0]["shape"][1]
    width = input_details[0]["shape"][2]

    img = np.load(args.image)
    if img.ndim == 4:
        img = img[0]
    assert img.shape[:2] == (height, width), img.shape
    input_data = np.expand_dims(img, axis=0)
    if floating_model:
        input_data = (np.float32(input_data) - args.input_mean) / args.input_std

    interpreter.set_tensor(input_details[0]["index"], input_data)
    start_time = time.time()
    interpreter.invoke()
    stop_time = time.time()

    output_data = interpreter.get_tensor(output_details[0]["index"])
    results = np.squeeze(output_data)
    top_k = results.argsort()[-5:][::-1]
    for i in top_k:
        if floating_model:
            print("{:08.6f}: {}".format(float(results[i]), i))
        else:
            print("{:08.6f}: {}".format(float(results[i] / 255.0), i))
    print("time: {:.3f}ms".format((stop_time - start_time) * 1000))


if __name__ == "__main__":
    main()
'''

ORIGINAL_IMPORT = "from tflite_runtime.interpreter import Interpreter"


def _run_script(tmp_path: Path, import_line: str, model: Path, image: Path):
    script = tmp_path / "label_image.py"
    assert CLASSIFY_SCRIPT.count(ORIGINAL_IMPORT) == 1
    script.write_text(CLASSIFY_SCRIPT.replace(ORIGINAL_IMPORT, import_line))
    env = dict(os.environ)
    # The test process found tflite_cffi somewhere (wheel or source tree): the script must too.
    import tflite_cffi
    pkg_parent = str(Path(tflite_cffi.__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (pkg_parent, env.get("PYTHONPATH")) if p)
    proc = subprocess.run([sys.executable, str(script), "-m", str(model), "-i", str(image),
                           "--num_threads", "1"],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, env=env, timeout=300, cwd=str(tmp_path))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    rows = [line.split(": ") for line in proc.stdout.splitlines() if not line.startswith("time")]
    return [int(index) for _, index in rows], [float(score) for score, _ in rows]


def _check_top5(top5, reference, tolerance):
    """Our top-5 equals the reference's, allowing swaps only between scores
    closer than `tolerance` (ties at the floating-point level)."""
    expected = list(np.argsort(reference)[-5:][::-1])
    assert len(top5) == 5
    for rank, (ours, theirs) in enumerate(zip(top5, expected)):
        if ours != theirs:
            assert abs(reference[ours] - reference[theirs]) <= tolerance, (
                "rank %d: got class %d (%.6g), the official runtime gives %d (%.6g)"
                % (rank, ours, reference[ours], theirs, reference[theirs]))


@pytest.mark.parametrize("stem", ["mobilenet_v1_025_128_float32", "mobilenet_v2_100_224_float32"])
def test_classify_script_gives_official_top5(tmp_path, stem):
    pytest.importorskip("tflite_cffi")
    from tflite_cffi import _lib
    try:
        _lib.get_lib()
    except OSError as exc:
        pytest.skip("native library: %s" % exc)
    model = MODELS / (stem + ".tflite")
    refs = MODELS / "refs" / stem
    if not model.is_file() or not (refs / "output_0.npy").is_file():
        pytest.skip("model zoo not found at %s (set TFLITE_CFFI_MODELS)" % MODELS)
    reference = np.load(str(refs / "output_0.npy")).reshape(-1).astype(np.float64)
    tolerance = 1e-5 * max(1.0, float(np.abs(reference).max()))

    top5, scores = _run_script(tmp_path, "from tflite_cffi.interpreter import Interpreter",
                               model, refs / "input_0.npy")
    _check_top5(top5, reference, tolerance)
    np.testing.assert_allclose(scores, reference[top5], rtol=1e-4, atol=1e-6)

    try:
        import ai_edge_litert.interpreter  # noqa: F401
    except Exception:  # noqa: BLE001
        return
    official, _ = _run_script(tmp_path, "from ai_edge_litert.interpreter import Interpreter",
                              model, refs / "input_0.npy")
    _check_top5(official, reference, tolerance)      # the script itself is right
    assert [i for i in top5 if i not in official] == [] or \
        all(abs(reference[a] - reference[b]) <= tolerance for a, b in zip(top5, official))
