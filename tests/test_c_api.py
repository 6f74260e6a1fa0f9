"""The shared library as a C library: a client written against TensorFlow Lite's C API compiles against our
header (shipped in the wheel) and runs against our library, giving the reference output."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

import tflite_cffi

PKG = Path(tflite_cffi.__file__).resolve().parent
SOURCE = Path(__file__).resolve().parent / "c" / "classify.c"


def _compiler() -> str:
    for cc in ("cc", "gcc", "clang"):
        path = shutil.which(cc)
        if path:
            return path
    pytest.skip("no C compiler on PATH")


@pytest.fixture(scope="module")
def classify(tmp_path_factory) -> Path:
    lib = PKG / "libtflite_cffi.so"
    include = PKG / "include"
    assert lib.is_file(), f"the package ships no library at {lib}"
    assert (include / "tflite_cffi" / "c_api.h").is_file(), "the package ships no C header"
    exe = tmp_path_factory.mktemp("c") / "classify"
    subprocess.run(
        [_compiler(), "-std=c99", "-Wall", "-Werror", str(SOURCE), f"-I{include}", str(lib),
         f"-Wl,-rpath,{PKG}", "-o", str(exe)],
        check=True,
    )
    return exe


@pytest.mark.parametrize("threads", [1, 2])
def test_c_client_matches_reference(classify, tmp_path, models_dir, load_refs, threads):
    stem = "mobilenet_v1_025_128_float32"
    inputs, refs, meta = load_refs(stem)
    (tmp_path / "in.raw").write_bytes(np.ascontiguousarray(inputs[0]).tobytes())
    run = subprocess.run(
        [str(classify), str(models_dir / f"{stem}.tflite"), str(tmp_path / "in.raw"), str(tmp_path / "out.raw"),
         str(threads)],
        capture_output=True, text=True,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.strip().endswith("ok")
    out = np.frombuffer((tmp_path / "out.raw").read_bytes(), dtype=refs[0].dtype).reshape(refs[0].shape)
    allowed = max(1e-5 * float(np.ptp(refs[0])), 10 * meta_dev(models_dir, stem))
    assert float(np.max(np.abs(out - refs[0]))) <= allowed


def meta_dev(models_dir: Path, stem: str) -> float:
    import json

    for m in json.loads((models_dir / "manifest.json").read_text())["models"]:
        if m["file"] == f"{stem}.tflite":
            return float(m["reference"]["dev_vs_builtin_no_xnnpack"][0]["max_abs"])
    raise KeyError(stem)
