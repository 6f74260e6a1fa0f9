"""tflite-cffi: a TensorFlow Lite interpreter in one shared library, bound with cffi.

``tflite_cffi.Interpreter`` is a drop-in for ``tflite_runtime.interpreter.Interpreter``::

    import tflite_cffi
    interpreter = tflite_cffi.Interpreter(model_path="model.tflite")

or, for scripts written for the official runtime, change only the import::

    from tflite_cffi.interpreter import Interpreter

The native library is loaded on first use (``$TFLITE_CFFI_LIBRARY`` or the copy
in this package). ``python -m tflite_cffi --help`` lists the command line tools.
"""

from ._lib import (
    TFLITE_CFFI_VERSION as __version__,
    CancelledError,
    DelegateError,
    InterpreterError,
    LibraryVersionError,
    TfLiteCffiError,
    UnsupportedOpsError,
)
from .interpreter import Interpreter, OpResolverType, SignatureRunner, load_delegate

__all__ = [
    "Interpreter",
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
