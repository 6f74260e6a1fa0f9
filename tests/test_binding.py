"""The cffi binding: generated cdef vs the header, library lookup errors, version check.

These tests import ``tflite_cffi`` wherever it comes from (the installed wheel
under nox/CI, the source tree with PYTHONPATH in the dev loop) and compare it
with the header and generator of this checkout.
"""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
GEN_FFI = REPO / "tools" / "gen_ffi.py"
HEADER = REPO / "csrc" / "include" / "tflite_cffi" / "c_api.h"

tflite_cffi = pytest.importorskip("tflite_cffi")
from tflite_cffi import _ffi, _lib  # noqa: E402


def _have_c_compiler() -> bool:
    if any(shutil.which(c) for c in ("cc", "gcc", "clang")):
        return True
    try:
        import importlib.util
        return importlib.util.find_spec("ziglang") is not None
    except (ImportError, ValueError):
        return False


needs_cc = pytest.mark.skipif(not _have_c_compiler(),
                              reason="no C compiler (cc/gcc/clang/ziglang) to preprocess the header")
needs_sources = pytest.mark.skipif(not (GEN_FFI.is_file() and HEADER.is_file()),
                                   reason="tools/gen_ffi.py or the header is not in this checkout")


def _run(args, env=None, **kw):
    return subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, env=env, timeout=120, **kw)


def _library_loads() -> bool:
    try:
        _lib.get_lib()
        return True
    except OSError:
        return False


needs_lib = pytest.mark.skipif(not _library_loads(), reason="the native library is not built")


# ------------------------------------------------------------------------ generated binding


@needs_cc
@needs_sources
def test_cdef_matches_header():
    """tools/gen_ffi.py --check: the imported _ffi.py was generated from this header."""
    proc = _run([sys.executable, str(GEN_FFI), "--header", str(HEADER), "--check", _ffi.__file__])
    assert proc.returncode == 0, (
        "the binding in %s drifted from %s; rebuild (invoke dev) or regenerate with "
        "tools/gen_ffi.py --out\n%s%s" % (_ffi.__file__, HEADER, proc.stdout, proc.stderr))


@needs_cc
@needs_sources
def test_check_reports_drift(tmp_path):
    """--check exits 1 with a diff when header and module differ."""
    header = tmp_path / "c_api.h"
    text = HEADER.read_text()
    assert "TfLiteCffiVersion(void);" in text
    header.write_text(text.replace("TfLiteCffiVersion(void);",
                                   "TfLiteCffiVersion(void);\nint TfLiteCffiDriftProbe(int x);"))
    proc = _run([sys.executable, str(GEN_FFI), "--header", str(header), "--check", _ffi.__file__])
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "TfLiteCffiDriftProbe" in proc.stdout


@needs_cc
@needs_sources
def test_generation_is_deterministic_and_loadable(tmp_path):
    outs = []
    for name in ("a", "b"):
        out = tmp_path / name / "_ffi.py"
        proc = _run([sys.executable, str(GEN_FFI), "--header", str(HEADER), "--out", str(out)])
        assert proc.returncode == 0, proc.stderr
        outs.append(out.read_bytes())
    assert outs[0] == outs[1]
    # The module imports on its own and declares the API.
    code = ("import importlib.util, sys\n"
            "spec = importlib.util.spec_from_file_location('gen_ffi_probe', %r)\n"
            "m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)\n"
            "print(m.TFLITE_CFFI_VERSION)\n"
            "print(m.ffi.typeof('TfLiteInterpreter *'))\n" % str(tmp_path / "a" / "_ffi.py"))
    proc = _run([sys.executable, "-c", code])
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split()[0] == _ffi.TFLITE_CFFI_VERSION


def test_generated_module_metadata():
    assert isinstance(_ffi.TFLITE_CFFI_VERSION, str) and _ffi.TFLITE_CFFI_VERSION.count(".") >= 2
    assert "TfLiteInterpreterCreate" in _ffi.CDEF
    import hashlib
    assert hashlib.sha256(_ffi.CDEF.encode()).hexdigest() == _ffi.CDEF_SHA256
    assert tflite_cffi.__version__ == _ffi.TFLITE_CFFI_VERSION


def test_gen_ffi_without_working_compiler_names_what_it_tried(tmp_path):
    env = dict(os.environ, PATH=str(tmp_path), CC="")
    code = ("import sys, importlib.util; sys.modules['ziglang'] = None\n"
            "import runpy; sys.argv = ['gen_ffi.py', '--header', %r, '--cc', 'no-such-cc',"
            " '--out', %r]\n"
            "runpy.run_path(%r, run_name='__main__')\n"
            % (str(HEADER), str(tmp_path / "_ffi.py"), str(GEN_FFI)))
    proc = _run([sys.executable, "-c", code], env=env)
    if proc.returncode == 0:
        pytest.skip("a preprocessor was still found")
    assert proc.returncode == 2
    assert "no-such-cc" in proc.stderr


# ------------------------------------------------------------------------ library lookup

def _load_in_subprocess(prelude: str, env_update=None):
    env = dict(os.environ)
    env.pop(_lib.ENV_VAR, None)
    env.update(env_update or {})
    pkg_parent = str(Path(tflite_cffi.__file__).resolve().parent.parent)
    code = textwrap.dedent("""
        import sys
        sys.path.insert(0, %r)
        import tflite_cffi._lib as L
        %s
        try:
            L.get_lib()
        except OSError as exc:
            print(type(exc).__name__)
            print(exc)
            sys.exit(3)
        print("loaded", L.library_path())
    """) % (pkg_parent, prelude)
    return _run([sys.executable, "-c", code], env=env)


def test_missing_library_lists_every_place(tmp_path):
    proc = _load_in_subprocess("L._PACKAGE_DIR = %r" % str(tmp_path))
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert proc.stdout.startswith("OSError")
    assert str(tmp_path / "libtflite_cffi.so") in proc.stdout
    assert "no such file" in proc.stdout
    assert "system" in proc.stdout
    assert _lib.ENV_VAR in proc.stdout            # tells what to do


def test_env_var_pointing_nowhere(tmp_path):
    missing = tmp_path / "nope" / "libtensorflowlite_c.so"
    proc = _load_in_subprocess("", {_lib.ENV_VAR: str(missing)})
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert str(missing) in proc.stdout and _lib.ENV_VAR in proc.stdout


def test_env_var_wrong_architecture(tmp_path):
    """A 32-bit ELF (wrong ELF class here) is reported with the loader's reason."""
    if not sys.platform.startswith("linux"):
        pytest.skip("ELF test")
    src = Path(_ffi.__file__).resolve().parent / "libtflite_cffi.so"
    if not src.is_file():
        import ctypes.util
        libc = ctypes.util.find_library("c")
        candidates = [Path(p) for p in ("/lib/x86_64-linux-gnu/libc.so.6", "/usr/lib/libc.so.6")]
        src = next((p for p in candidates if p.is_file()), None)
        if src is None or libc is None:
            pytest.skip("no ELF shared library to copy")
    data = bytearray(src.read_bytes())
    assert data[:4] == b"\x7fELF"
    data[4] = 1 if data[4] == 2 else 2                    # flip ELFCLASS64 <-> ELFCLASS32
    bad = tmp_path / "libtflite_cffi.so"
    bad.write_bytes(bytes(data))
    proc = _load_in_subprocess("", {_lib.ENV_VAR: str(bad)})
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert str(bad) in proc.stdout
    assert "ELF" in proc.stdout or "invalid" in proc.stdout.lower()


def test_env_var_not_a_tflite_library(tmp_path):
    import ctypes.util
    libm = ctypes.util.find_library("m")
    if not libm:
        pytest.skip("no libm")
    proc = _load_in_subprocess("", {_lib.ENV_VAR: libm})
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert "TfLiteInterpreterCreate" in proc.stdout


@needs_lib
def test_version_check_mismatch():
    proc = _load_in_subprocess("L.TFLITE_CFFI_VERSION = '0.0.0-test'",
                               {_lib.ENV_VAR: os.path.abspath(_lib.library_path())})
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert "0.0.0-test" in proc.stdout and _ffi.TFLITE_CFFI_VERSION in proc.stdout


@pytest.mark.qemu
@needs_lib
def test_library_version_matches_binding():
    lib = _lib.get_lib()
    assert _lib.to_str(lib.TfLiteCffiVersion()) == _ffi.TFLITE_CFFI_VERSION
    assert _lib.to_str(lib.TfLiteVersion()).count(".") >= 1
    assert lib.TfLiteSchemaVersion() == 3


def _section_sizes(path: str) -> dict:
    """{section name: size} from an ELF file's section headers."""
    data = Path(path).read_bytes()
    assert data[:4] == b"\x7fELF"
    wide, order = data[4] == 2, "<" if data[5] == 1 else ">"
    shoff, = struct.unpack_from(order + ("Q" if wide else "I"), data, 0x28 if wide else 0x20)
    shentsize, shnum, shstrndx = struct.unpack_from(order + "HHH", data, 0x3A if wide else 0x2E)
    entry = order + ("IIQQQQIIQQ" if wide else "IIIIIIIIII")
    headers = [struct.unpack_from(entry, data, shoff + i * shentsize) for i in range(shnum)]
    names = headers[shstrndx][4]  # sh_offset of the section names
    return {data[names + h[0]:data.index(b"\0", names + h[0])].decode(): h[5] for h in headers}


@pytest.mark.qemu
@needs_lib
def test_loading_the_library_runs_none_of_its_code():
    """Op registrations are constant data (the section tfc_ops), not constructors run at load: those
    were one function per kernel file, spread over the library, and loading it made all of its
    code resident (1.4 MB of the x86_64 build's 1.6 MB). At most the C runtime's own constructor is
    left (GCC's crtbegin.o has one; zig's link has none)."""
    if "san" in os.environ.get("LD_PRELOAD", ""):
        pytest.skip("a sanitizer build registers its own constructors")
    sections = _section_sizes(_lib.library_path())
    pointer = 8 if sys.maxsize > 2**32 else 4
    assert sections.get(".init_array", 0) <= pointer, sections.get(".init_array")
    assert sections.get("tfc_ops", 0) >= 100 * pointer  # every kernel's registration


@needs_lib
def test_env_var_selects_library():
    path = _lib.library_path()
    proc = _load_in_subprocess("", {_lib.ENV_VAR: os.path.abspath(path)})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.strip() == "loaded %s" % os.path.abspath(path)


@needs_lib
def test_last_create_error_is_read_lazily():
    lib = _lib.get_lib()
    ffi = _lib.ffi
    assert lib.TfLiteModelCreate(ffi.from_buffer(b"garbage!" * 8), 64) == ffi.NULL
    message = _lib.last_create_error()
    assert message, "TfLiteCffiLastCreateError() should say why the model was refused"


def test_status_table():
    with pytest.raises(RuntimeError) as info:
        _lib.check_status(1, None, "invoke()")
    assert isinstance(info.value, _lib.InterpreterError)
    assert info.value.status == 1 and "kTfLiteError" in str(info.value)
    with pytest.raises(_lib.UnsupportedOpsError):
        _lib.check_status(7, None, "allocate_tensors()")
    with pytest.raises(ValueError):
        _lib.check_status(1, None, "set_tensor()", ValueError)
    _lib.check_status(0, None, "nothing")
