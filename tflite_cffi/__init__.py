"""tflite-cffi: a TensorFlow Lite interpreter in one shared library, bound with cffi.

``tflite_cffi.Interpreter`` is a drop-in for ``tflite_runtime.interpreter.Interpreter``::

    import tflite_cffi
    interpreter = tflite_cffi.Interpreter(model_path="model.tflite")

or, for scripts written for the official runtime, change only the import::

    from tflite_cffi.interpreter import Interpreter

The native library is loaded on first use (``$TFLITE_CFFI_LIBRARY`` or the copy
in this package). ``python -m tflite_cffi --help`` lists the command line tools.

Custom ops (docs/CUSTOM_OPS.md): ``Interpreter(..., custom_ops={"MyOp": fn})`` runs a
Python function as an op's kernel; ``custom_op_registerers=["RegisterMyOps"]`` runs C
operators from your own shared library, compiled against ``get_include()`` and linked
with ``get_library()``.
"""

import os as _os
import typing as _typing

from ._lib import (
    TFLITE_CFFI_VERSION as __version__,
    CancelledError,
    DelegateError,
    InterpreterError,
    LibraryVersionError,
    TfLiteCffiError,
    UnsupportedOpsError,
)
from .interpreter import (
    Interpreter,
    InterpreterWithCustomOps,
    OpResolverType,
    SignatureRunner,
    load_delegate,
)

if _typing.TYPE_CHECKING:
    from .custom_ops import CustomOp
else:
    def __getattr__(name: str) -> object:
        # custom_ops is imported on first use: running a model does not need it
        if name in ("CustomOp", "custom_ops"):
            from .custom_ops import CustomOp   # also sets this package's attribute custom_ops
            return CustomOp if name == "CustomOp" else globals()["custom_ops"]
        raise AttributeError("module %r has no attribute %r" % (__name__, name))

    def __dir__() -> list:
        return sorted(set(globals()) | {"CustomOp", "custom_ops"})

__all__ = [
    "Interpreter",
    "InterpreterWithCustomOps",
    "CustomOp",
    "get_include",
    "get_library",
    "SignatureRunner",
    "OpResolverType",
    "load_delegate",
    "TfLiteCffiError",
    "InterpreterError",
    "UnsupportedOpsError",
    "DelegateError",
    "CancelledError",
    "LibraryVersionError",
    "__version__",
]


def get_include() -> str:
    """The directory holding ``tflite_cffi/c_api.h`` (compile custom ops with ``-I`` it)."""
    return _os.path.join(_os.path.dirname(_os.path.abspath(__file__)), "include")


def get_library() -> str:
    """Path of the native library in use; link custom op libraries against it."""
    from ._lib import library_path

    return _os.path.abspath(library_path()) if _os.sep in library_path() else library_path()
