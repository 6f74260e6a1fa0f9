"""Fetch the MediaPipe models that use MediaPipe's custom ops, for tests/test_mediapipe_models.py.

    python tools/fetch_mediapipe_models.py [--dest DIR] [--wheel WHEEL]

The models come from the `mediapipe` wheel on PyPI (version 0.10.21, the last series that ships the
legacy solutions' .tflite files; about 36 MB to download, downloaded with `pip download`). Only the
models below are extracted (about 3 MB together) into DIR, by default
$TFLITE_CFFI_MEDIAPIPE_MODELS or ~/.cache/tflite-cffi/mediapipe. With --wheel, an already
downloaded wheel is used instead of downloading one.

  selfie_segmentation.tflite             Convolution2DTransposeBias           (250 KB)
  selfie_segmentation_landscape.tflite   Convolution2DTransposeBias           (250 KB)
  face_landmark_with_attention.tflite    Landmarks2TransformMatrix v2,        (2.5 MB)
                                         TransformTensorBilinear v2, TransformLandmarks v2

(The hair segmentation model, the one that uses MaxPoolingWithArgmax2D and MaxUnpooling2D, is not in
the wheel.)
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

VERSION = "0.10.21"
MODELS = {
    "mediapipe/modules/selfie_segmentation/selfie_segmentation.tflite",
    "mediapipe/modules/selfie_segmentation/selfie_segmentation_landscape.tflite",
    "mediapipe/modules/face_landmark/face_landmark_with_attention.tflite",
}


def default_dest() -> Path:
    env = os.environ.get("TFLITE_CFFI_MEDIAPIPE_MODELS")
    return Path(env) if env else Path.home() / ".cache" / "tflite-cffi" / "mediapipe"


def download_wheel(into: Path) -> Path:
    cmd = [sys.executable, "-m", "pip", "download", "mediapipe==" + VERSION, "--no-deps",
           "--only-binary=:all:", "--python-version", "3.12", "--platform", "manylinux_2_28_x86_64",
           "-d", str(into)]
    print("+", " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True)
    wheels = sorted(into.glob("mediapipe-*.whl"))
    if not wheels:
        raise SystemExit("pip download produced no mediapipe wheel in %s" % into)
    return wheels[0]


def extract(wheel: Path, dest: Path) -> None:
    dest.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
        missing = MODELS - names
        if missing:
            raise SystemExit("%s lacks %s" % (wheel, ", ".join(sorted(missing))))
        for name in sorted(MODELS):
            target = dest / Path(name).name
            target.write_bytes(z.read(name))
            print("%-45s %9d bytes" % (target, target.stat().st_size))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dest", type=Path, default=None, help="where to put the models")
    ap.add_argument("--wheel", type=Path, default=None, help="use this mediapipe wheel")
    args = ap.parse_args()
    dest = args.dest or default_dest()
    if args.wheel:
        extract(args.wheel, dest)
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        extract(download_wheel(Path(tmp)), dest)
    return 0


if __name__ == "__main__":
    sys.exit(main())
