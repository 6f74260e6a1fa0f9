"""Post-install self-test: run a tiny model shipped in the package.

    python -c "import tflite_cffi.postinstall_check as c; print(c.passed())"
    python -m tflite_cffi selftest

``data/selftest.tflite`` (688 bytes) is one FULLY_CONNECTED op,
``y = x @ WEIGHTS.T + BIAS`` on a float32 ``x`` of shape (1, 4), written with
the project's single-op model builder (tests/opgen; see
tests/test_api.py::test_selftest_model_is_reproducible). The check compares
the library's result with the same product computed here in numpy.
"""

from __future__ import annotations

import os
from typing import List, Tuple

import numpy as np

__all__ = ["MODEL_PATH", "WEIGHTS", "BIAS", "run", "passed"]

MODEL_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "selftest.tflite")
WEIGHTS = np.array([[1.0, -2.0, 0.5, 3.0],
                    [0.25, 1.0, -1.0, 2.0],
                    [-3.0, 0.0, 2.0, 1.0]], dtype=np.float32)
BIAS = np.array([0.5, -1.0, 2.0], dtype=np.float32)
_INPUTS = [
    np.array([[1.0, 2.0, 3.0, 4.0]], dtype=np.float32),
    np.array([[-0.5, 0.25, 8.0, -2.0]], dtype=np.float32),
    np.zeros((1, 4), dtype=np.float32),
]
_TOLERANCE = 1e-4


def expected(x: np.ndarray) -> np.ndarray:
    """The model's output for `x`, computed in float64 with numpy."""
    return x.astype(np.float64) @ WEIGHTS.T.astype(np.float64) + BIAS.astype(np.float64)


def run() -> Tuple[bool, List[str]]:
    """Runs the self-test; returns (passed, report lines). Never raises for a
    failed check: the reason is in the report."""
    lines: List[str] = []
    try:
        from . import _lib
        from .interpreter import Interpreter

        lib = _lib.get_lib()
        lines.append("library: %s" % _lib.library_path())
        lines.append("TensorFlow Lite C API: %s" % _lib.to_str(lib.TfLiteVersion()))
        with Interpreter(model_path=MODEL_PATH, num_threads=1) as interpreter:
            interpreter.allocate_tensors()
            inp = interpreter.get_input_details()[0]["index"]
            out = interpreter.get_output_details()[0]["index"]
            ok = True
            for x in _INPUTS:
                interpreter.set_tensor(inp, x)
                interpreter.invoke()
                got = interpreter.get_tensor(out)
                want = expected(x)
                good = got.shape == want.shape and bool(
                    np.allclose(got, want, rtol=_TOLERANCE, atol=_TOLERANCE))
                ok = ok and good
                lines.append("x=%s -> %s (expected %s) %s"
                             % (x.ravel().tolist(), got.ravel().tolist(),
                                want.ravel().tolist(), "ok" if good else "MISMATCH"))
            runner = interpreter.get_signature_runner()
            got = runner(x=_INPUTS[0])["y"]
            good = bool(np.allclose(got, expected(_INPUTS[0]), rtol=_TOLERANCE, atol=_TOLERANCE))
            ok = ok and good
            lines.append("signature runner: %s" % ("ok" if good else "MISMATCH"))
        return ok, lines
    except Exception as exc:  # noqa: BLE001 - report any failure as "not passed"
        lines.append("error: %s: %s" % (type(exc).__name__, exc))
        return False, lines


def passed() -> bool:
    """True when the installed library runs the embedded model correctly."""
    return run()[0]


if __name__ == "__main__":  # pragma: no cover
    ok, report = run()
    print("\n".join(report))
    print("PASSED" if ok else "FAILED")
    raise SystemExit(0 if ok else 1)
