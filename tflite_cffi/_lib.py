"""Find, load and check the native library; turn status codes into exceptions.

The library is looked up once, on first use:

1. ``$TFLITE_CFFI_LIBRARY`` when set: a path to ``libtflite_cffi.so`` or to any
   library with TensorFlow Lite's C API (an official ``libtensorflowlite_c.so``
   works for the core; the ``TfLiteCffi*`` extensions are then missing and
   the features built on them degrade, see :func:`has`);
2. otherwise the copy inside this package, next to this file;
3. otherwise the system's (``ctypes.util.find_library("tflite_cffi")``).

When nothing loads, ONE ``OSError`` lists every place tried and why each
failed (not found, wrong architecture, not a TensorFlow Lite library...).
"""

# Annotations evaluated at definition time are quoted: `from __future__ import annotations` costs an import (0.1 ms)

import os
import sys
import _thread
from typing import Any, Dict, Iterator, Optional, Tuple, Type

try:
    from ._ffi import TFLITE_CFFI_VERSION, ffi
except ImportError as _exc:  # pragma: no cover - only in a source tree never built
    raise ImportError(
        "tflite_cffi._ffi is missing: the package was not built. Build it with "
        "`invoke dev` (or cmake + ninja, then copy build/dev/_ffi.py and "
        "libtflite_cffi.so into tflite_cffi/), or install the wheel.") from _exc

__all__ = [
    "ENV_VAR", "TFLITE_CFFI_VERSION", "ffi", "get_lib", "has", "library_path",
    "TfLiteCffiError", "InterpreterError", "UnsupportedOpsError", "DelegateError",
    "CancelledError", "LibraryVersionError", "STATUS_NAMES", "check_status",
    "last_create_error", "interpreter_error", "to_str",
]

ENV_VAR = "TFLITE_CFFI_LIBRARY"
_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))

if sys.platform == "darwin":  # pragma: no cover - not built for macOS yet
    _PACKAGED_NAMES = ("libtflite_cffi.dylib", "libtflite_cffi.so")
elif sys.platform == "win32":  # pragma: no cover
    _PACKAGED_NAMES = ("tflite_cffi.dll", "libtflite_cffi.dll")
else:
    _PACKAGED_NAMES = ("libtflite_cffi.so",)


# --------------------------------------------------------------------------
# Exceptions
# --------------------------------------------------------------------------

class TfLiteCffiError(Exception):
    """Base of the errors raised from a failed library call.

    ``status`` is the TfLiteStatus value (an int) or None.
    """

    status: "Optional[int]" = None

    def __init__(self, message: str, status: "Optional[int]" = None) -> None:
        super().__init__(message)
        self.status = status


class InterpreterError(TfLiteCffiError, RuntimeError):
    """A call on an interpreter failed (allocate, invoke, resize...).

    A RuntimeError, as the official runtime raises in these cases.
    """


class UnsupportedOpsError(InterpreterError):
    """The model uses an operator (or operator version) this library lacks."""


class DelegateError(InterpreterError):
    """A delegate failed (delegates are not supported by tflite-cffi)."""


class CancelledError(InterpreterError):
    """The invocation was cancelled."""


class LibraryVersionError(OSError):
    """The library and the generated binding come from different headers."""


# TfLiteStatus values (TensorFlow Lite's).
STATUS_NAMES: "Dict[int, str]" = {
    0: "kTfLiteOk",
    1: "kTfLiteError",
    2: "kTfLiteDelegateError",
    3: "kTfLiteApplicationError",
    4: "kTfLiteDelegateDataNotFound",
    5: "kTfLiteDelegateDataWriteError",
    6: "kTfLiteDelegateDataReadError",
    7: "kTfLiteUnresolvedOps",
    8: "kTfLiteCancelled",
    9: "kTfLiteOutputShapeNotKnown",
}

_STATUS_EXCEPTIONS: "Dict[int, Type[TfLiteCffiError]]" = {
    1: InterpreterError,
    2: DelegateError,
    3: InterpreterError,
    4: DelegateError,
    5: DelegateError,
    6: DelegateError,
    7: UnsupportedOpsError,
    8: CancelledError,
    9: InterpreterError,
}


# --------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------

_lock = _thread.allocate_lock()
_lib: Any = None
_lib_path: "Optional[str]" = None
_has_cache: "Dict[str, bool]" = {}


def _candidates() -> "Iterator[Tuple[str, str]]":
    """(description, path or name for dlopen) in the order they are tried; the system search (ldconfig,
    slow) only runs when the packaged library did not load."""
    env = os.environ.get(ENV_VAR)
    if env:
        yield ("$%s" % ENV_VAR, env)
        return
    for name in _PACKAGED_NAMES:
        yield ("packaged", os.path.join(_PACKAGE_DIR, name))
    import ctypes.util

    system = ctypes.util.find_library("tflite_cffi")
    if system:
        yield ("system", system)
    else:
        yield ("system", "libtflite_cffi (ctypes.util.find_library found nothing)")


def _symbol_present(lib: Any, name: str) -> bool:
    try:
        getattr(lib, name)
    except (AttributeError, NotImplementedError, ffi.error):
        return False
    return True


def _try_load(path: str) -> Any:
    """dlopen `path` and check that it is a TensorFlow Lite C library; raises OSError."""
    if os.sep in path and not os.path.exists(path):
        raise OSError("no such file")
    # RTLD_NODELETE: never unmap the library, even when cffi drops its handle at interpreter exit;
    # exit handlers and worker threads of the library may still point into it then.
    lib = ffi.dlopen(path, ffi.RTLD_NOW | ffi.RTLD_LOCAL | ffi.RTLD_NODELETE)
    if not _symbol_present(lib, "TfLiteInterpreterCreate"):
        raise OSError("loaded, but it does not export TensorFlow Lite's C API "
                      "(no TfLiteInterpreterCreate)")
    return lib


def _check_version(lib: Any, path: str) -> None:
    if not _symbol_present(lib, "TfLiteCffiVersion"):
        return  # another library with TensorFlow Lite's C API: no extensions
    version = to_str(lib.TfLiteCffiVersion())
    if version != TFLITE_CFFI_VERSION:
        raise LibraryVersionError(
            "%s is tflite-cffi %s but the Python binding (tflite_cffi/_ffi.py) was "
            "generated from the header of version %s; rebuild both together "
            "(`invoke dev`) or reinstall the package" % (path, version, TFLITE_CFFI_VERSION))


def get_lib() -> Any:
    """The loaded library (cffi lib object); loads it on the first call."""
    global _lib, _lib_path
    if _lib is not None:
        return _lib
    with _lock:
        if _lib is not None:
            return _lib
        failures = []
        for label, path in _candidates():
            if label == "system" and path.startswith("libtflite_cffi ("):
                failures.append("  %s: %s" % (label, path))
                continue
            try:
                lib = _try_load(path)
            except OSError as exc:
                failures.append("  %s %s: %s" % (label, path, _one_line(exc)))
                continue
            _check_version(lib, path)
            _has_cache.clear()
            _lib_path = path
            _lib = lib
            return lib
        hint = ("set %s to the library's path, or build it (`invoke dev`) / install a wheel"
                % ENV_VAR) if not os.environ.get(ENV_VAR) else (
                "fix or unset %s (it must name a libtflite_cffi or libtensorflowlite_c "
                "shared library for this machine, %s)" % (ENV_VAR, _machine()))
        raise OSError("cannot load the tflite-cffi native library; tried:\n%s\n%s"
                      % ("\n".join(failures), hint))


def library_path() -> str:
    """Path (or name) of the loaded library."""
    get_lib()
    assert _lib_path is not None
    return _lib_path


def has(name: str) -> bool:
    """True when the loaded library exports the function `name`.

    Our library exports everything in the header; another one (an official
    libtensorflowlite_c via $TFLITE_CFFI_LIBRARY) lacks the TfLiteCffi* ones.
    """
    try:
        return _has_cache[name]
    except KeyError:
        pass
    present = _symbol_present(get_lib(), name)
    _has_cache[name] = present
    return present


def _machine() -> str:
    import platform
    return "%s %s" % (platform.system(), platform.machine())


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


# --------------------------------------------------------------------------
# Errors from calls
# --------------------------------------------------------------------------

def to_str(cstr: Any) -> str:
    """A `const char*` from the library as str ('' for NULL)."""
    if cstr == ffi.NULL:
        return ""
    return ffi.string(cstr).decode("utf-8", "replace")


def last_create_error() -> str:
    """Why the last Create on this thread failed ('' if unknown)."""
    if not has("TfLiteCffiLastCreateError"):
        return ""
    return to_str(get_lib().TfLiteCffiLastCreateError())


def interpreter_error(interpreter: Any) -> str:
    """The message of the last failed call on `interpreter` ('' if unknown)."""
    if interpreter is None or not has("TfLiteCffiInterpreterLastError"):
        return ""
    return to_str(get_lib().TfLiteCffiInterpreterLastError(interpreter))


def check_status(status: int, interpreter: Any, action: str,
                 exc_type: "Optional[Type[Exception]]" = None, hint: str = "") -> None:
    """Raise the exception for `status` (nothing for kTfLiteOk).

    The message is read from the interpreter only now, on failure.
    `exc_type` overrides the table (e.g. ValueError for a failed copy into
    a tensor, as the official runtime raises).
    """
    status = int(status)
    if status == 0:
        return
    detail = interpreter_error(interpreter)
    name = STATUS_NAMES.get(status, "status %d" % status)
    message = "%s failed (%s)" % (action, name)
    if detail:
        message += ": " + detail
    if hint:
        message += ". " + hint
    cls = exc_type or _STATUS_EXCEPTIONS.get(status, InterpreterError)
    if issubclass(cls, TfLiteCffiError):
        raise cls(message, status)
    raise cls(message)
