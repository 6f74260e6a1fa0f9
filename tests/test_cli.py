"""``python -m tflite_cffi``: --version, info, run, bench, selftest."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

tflite_cffi = pytest.importorskip("tflite_cffi")
from tflite_cffi import __main__ as cli  # noqa: E402
from tflite_cffi import _lib  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
MODELS = Path(os.environ.get("TFLITE_CFFI_MODELS") or REPO.parent / "shared" / "models")
SELFTEST = Path(tflite_cffi.__file__).resolve().parent / "data" / "selftest.tflite"

try:
    _lib.get_lib()
    LIB_ERROR = None
except OSError as _exc:
    LIB_ERROR = str(_exc)
needs_lib = pytest.mark.skipif(LIB_ERROR is not None, reason="native library: %s" % LIB_ERROR)


def run_cli(*argv):
    out = io.StringIO()
    code = cli.main(list(argv), out=out)
    return code, out.getvalue()


def zoo(name):
    path = MODELS / name
    if not path.is_file():
        pytest.skip("model zoo not found at %s" % MODELS)
    return str(path)


def test_module_entry_point_version():
    env = dict(os.environ)
    pkg_parent = str(Path(tflite_cffi.__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (pkg_parent, env.get("PYTHONPATH")) if p)
    proc = subprocess.run([sys.executable, "-m", "tflite_cffi", "--version"],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, env=env, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("tflite-cffi %s" % tflite_cffi.__version__)
    proc = subprocess.run([sys.executable, "-m", "tflite_cffi"], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, universal_newlines=True, env=env, timeout=60)
    assert proc.returncode == 2 and "info" in proc.stderr


@pytest.mark.qemu
@needs_lib
def test_selftest_command():
    code, out = run_cli("selftest")
    assert code == 0, out
    assert "PASSED" in out


@needs_lib
def test_info_lists_io_and_operators():
    code, out = run_cli("info", str(SELFTEST))
    assert code == 0, out
    assert "FULLY_CONNECTED" in out and "supported" in out
    assert "inputs:" in out and "[1, 4]" in out and "x" in out
    assert "signature 'serving_default'" in out


@needs_lib
def test_info_zoo_model_shows_quantization_and_signature():
    code, out = run_cli("info", zoo("mobilenet_v1_025_128_int8.tflite"))
    assert "CONV_2D" in out and "DEPTHWISE_CONV_2D" in out
    assert "quant scale=" in out
    assert code in (0, 1)        # 1 only while some op is unsupported (listed)
    if code == 1:
        assert "unsupported:" in out


@needs_lib
def test_info_reports_unsupported_operator(tmp_path):
    pytest.importorskip("flatbuffers")
    pytest.importorskip("tflite")
    from opgen.builder import OpSpec, TensorSpec, build_graph
    path = tmp_path / "future_add.tflite"
    path.write_bytes(build_graph([TensorSpec((1, 4), name="a"), TensorSpec((1, 4), name="b")],
                                 [OpSpec("ADD", [0, 0], [1], {}, version=99)], [0], [1]))
    code, out = run_cli("info", str(path))
    assert code == 1
    assert "ADD" in out and "v99" in out and "NOT SUPPORTED" in out


@needs_lib
def test_run_random_and_given_inputs(tmp_path):
    code, out = run_cli("run", str(SELFTEST))
    assert code == 0, out
    assert "inputs: random" in out and "y: float32 [1, 3]" in out
    x = tmp_path / "x.npy"
    np.save(str(x), np.array([[1, 2, 3, 4]], np.float32))
    code, out = run_cli("run", str(SELFTEST), "--input", str(x), "--save", str(tmp_path / "o"))
    assert code == 0, out
    np.testing.assert_allclose(np.load(str(tmp_path / "o" / "output_0.npy")), [[11, 6.25, 9]])
    assert "top-5 of row 0: 0 (11)" in out


@needs_lib
def test_run_user_errors(tmp_path, capsys):
    code, _ = run_cli("run", str(tmp_path / "missing.tflite"))
    assert code == 1
    assert "no such file" in capsys.readouterr().err
    x = tmp_path / "x.npy"
    np.save(str(x), np.zeros((1, 4), np.float32))
    code, _ = run_cli("run", str(SELFTEST), "--input", str(x), "--input", str(x))
    assert code == 1
    assert "1 input" in capsys.readouterr().err
    np.save(str(x), np.zeros((1, 4), np.complex64))
    code, _ = run_cli("run", str(SELFTEST), "--input", str(x))
    assert code == 1


@needs_lib
def test_bench_prints_latency_and_progress(capsys):
    code, out = run_cli("bench", str(SELFTEST), "--runs", "20", "--warmup", "2", "--threads", "1")
    assert code == 0, out
    for word in ("mean", "median", "p90", "p99"):
        assert word in out
    err = capsys.readouterr().err
    assert "[" in err and "20/20" in err
    code, out = run_cli("bench", str(SELFTEST), "--runs", "3", "--warmup", "0", "--quiet")
    assert code == 0
    assert capsys.readouterr().err == ""
    code, out = run_cli("bench", str(SELFTEST), "--runs", "3", "--warmup", "0", "--quiet", "--pause-ms", "2")
    assert code == 0 and "2 ms pause before each" in out
    capsys.readouterr()
    code, out = run_cli("bench", str(SELFTEST), "--pause-ms", "-1")
    assert code == 1 and "--pause-ms must be >= 0" in capsys.readouterr().err


def test_bench_argument_errors(capsys):
    with pytest.raises(SystemExit) as info:
        run_cli("bench", str(SELFTEST), "--threads", "0")
    assert info.value.code == 2
    assert "--threads" in capsys.readouterr().err


def test_latency_stats():
    stats = cli.latency_stats([0.001, 0.002, 0.003, 0.004])
    assert stats["mean"] == pytest.approx(2.5)
    assert stats["median"] == pytest.approx(2.5)
    assert stats["min"] == pytest.approx(1.0) and stats["max"] == pytest.approx(4.0)
    assert stats["p90"] <= stats["p99"] <= stats["max"]
