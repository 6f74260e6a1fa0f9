"""``Interpreter``: a drop-in for ``tflite_runtime.interpreter.Interpreter``.

Same constructor, methods, detail dictionaries and exception types as the
official runtime (``tflite_runtime`` / ``ai_edge_litert``), running on
tflite-cffi's own engine through its C API::

    from tflite_cffi.interpreter import Interpreter   # was: tflite_runtime.interpreter

    interpreter = Interpreter(model_path="mobilenet.tflite", num_threads=2)
    interpreter.allocate_tensors()
    inp = interpreter.get_input_details()[0]
    interpreter.set_tensor(inp["index"], image)
    interpreter.invoke()                               # releases the GIL
    scores = interpreter.get_tensor(interpreter.get_output_details()[0]["index"])

Differences: delegates are not supported (``load_delegate`` and
``experimental_delegates`` raise ValueError); every ``OpResolverType`` runs the
same engine, and picks the numerics of the official runtime's choice (see
``OpResolverType``); ``close()`` and ``with Interpreter(...) as it:`` free the native
memory at once; a live ``SignatureRunner`` does not block ``allocate_tensors``.

Custom ops: ``custom_op_registerers=`` (C functions registering operators, as
``InterpreterWithCustomOps`` takes them; here on ``Interpreter`` too) and
``custom_ops=`` (Python functions as kernels), see ``tflite_cffi.custom_ops``.
"""

# Annotations evaluated at definition time are quoted: `from __future__ import annotations` costs an import (0.1 ms)

import enum
import functools
import operator
import os
import sys
import _thread
import weakref
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from . import _lib
from ._lib import InterpreterError, ffi

if TYPE_CHECKING:
    from .custom_ops import CustomOp
else:
    def __getattr__(name: str) -> Any:
        # custom_ops is imported on first use of CustomOp: running a model does not need it
        if name == "CustomOp":
            from .custom_ops import CustomOp
            return CustomOp
        raise AttributeError("module %r has no attribute %r" % (__name__, name))

__all__ = ["Interpreter", "InterpreterWithCustomOps", "SignatureRunner", "OpResolverType", "CustomOp",
           "load_delegate"]


class OpResolverType(enum.Enum):
    """Op resolver choice of the official runtime. tflite-cffi has one set of
    kernels, so every value runs the same engine, with the official choice's
    numerics for 8-bit convolutions (CONV_2D, DEPTHWISE_CONV_2D, TRANSPOSE_CONV)
    and ADD:

    - AUTO, BUILTIN (the official runtime then applies its XNNPACK delegate):
      outputs requantized in float32 and sums in one integer step, as XNNPACK
      does; the fastest.
    - BUILTIN_REF, BUILTIN_WITHOUT_DEFAULT_DELEGATES (no XNNPACK there): with
      TensorFlow Lite's fixed-point multipliers, bit for bit the builtin
      kernels' outputs.

    The two differ by at most one quantization step, in few outputs."""

    AUTO = 0
    BUILTIN = 1
    BUILTIN_REF = 2
    BUILTIN_WITHOUT_DEFAULT_DELEGATES = 3


class CallbackState:
    """What the callbacks of one interpreter share: the exceptions they caught (raised again by the
    interpreter call that ran them) and whether one is running (no re-entrant calls)."""

    def __init__(self) -> None:
        self.errors: List[BaseException] = []
        self.depth = 0

    def take_error(self) -> "Optional[BaseException]":
        errors, self.errors = self.errors, []
        return errors[0] if errors else None


# The resolvers under which the official runtime runs its builtin kernels, not XNNPACK.
_FIXED_POINT_RESOLVERS = ("BUILTIN_REF", "BUILTIN_WITHOUT_DEFAULT_DELEGATES")


def _serialized(method: "Callable[..., Any]") -> "Callable[..., Any]":
    """Runs the method under the interpreter's lock: calls from several threads take turns (the C calls
    release the GIL, so without it one thread could reallocate tensors under another's invoke())."""
    @functools.wraps(method)
    def locked(self: Any, *args: Any, **kwargs: Any) -> Any:
        with self._lock:
            return method(self, *args, **kwargs)
    return locked


def load_delegate(library: Any, options: "Optional[Dict[str, Any]]" = None) -> Any:
    """Delegates are not supported by tflite-cffi: always raises ValueError."""
    raise ValueError(
        "Failed to load delegate from %s: delegates (Edge TPU, GPU, NNAPI, XNNPACK "
        "plugins...) are not supported by tflite-cffi, which runs every model on its "
        "own CPU kernels; create the Interpreter without experimental_delegates"
        % (library,))


# TfLiteType -> (numpy scalar type, TensorFlow Lite's type name)
_TYPES: "Dict[int, Any]" = {
    1: (np.float32, "FLOAT32"),
    2: (np.int32, "INT32"),
    3: (np.uint8, "UINT8"),
    4: (np.int64, "INT64"),
    5: (np.bytes_, "STRING"),
    6: (np.bool_, "BOOL"),
    7: (np.int16, "INT16"),
    8: (np.complex64, "COMPLEX64"),
    9: (np.int8, "INT8"),
    10: (np.float16, "FLOAT16"),
    11: (np.float64, "FLOAT64"),
    12: (np.complex128, "COMPLEX128"),
    13: (np.uint64, "UINT64"),
    14: (np.object_, "RESOURCE"),
    15: (np.object_, "VARIANT"),
    16: (np.uint32, "UINT32"),
    17: (np.uint16, "UINT16"),
    18: (np.int8, "INT4"),
}
_NOT_ARRAY_TYPES = (5, 14, 15, 18)  # no plain numpy buffer for these
_kTfLiteString = 5

_UNSAFE_MESSAGE = (
    "There is at least 1 reference to internal data in the interpreter in the form "
    "of a numpy array or slice (made by the function that tensor() returned). "
    "Drop those arrays (del them) before calling allocate_tensors(), invoke() or "
    "resize_tensor_input(), and hold only the function returned by tensor().")


def _dtype_name(dtype: np.dtype) -> str:
    # built here, for error messages only, not at import
    names = {np.dtype(t).str: name for k, (t, name) in _TYPES.items() if k not in _NOT_ARRAY_TYPES}
    return names.get(dtype.str, str(dtype).upper())


def _as_index(value: Any, what: str) -> int:
    try:
        return operator.index(value)
    except TypeError:
        raise TypeError("%s must be an int, got %r" % (what, value)) from None


class _Native:
    """Owns the C interpreter, its model and the model's bytes.

    Numpy views made by ``Interpreter.tensor()`` keep a reference to this
    object, so the native memory outlives them even after ``close()``.
    """

    def __init__(self, lib: Any, interpreter: Any, model: Any, keepalive: Any) -> None:
        self.lib = lib
        self.interpreter = interpreter          # cdata with ffi.gc
        self.model = model                      # cdata with ffi.gc
        self.keepalive = keepalive              # model bytes (TfLiteModelCreate reads in place)
        self.views: "weakref.WeakSet[_ViewBase]" = weakref.WeakSet()
        self.runners: "weakref.WeakSet[_RunnerHandle]" = weakref.WeakSet()
        self.released = False

    def live_views(self) -> bool:
        if not self.views:
            return False
        import gc         # here, not at import: only needed while views are held
        gc.collect()      # a view kept only by a reference cycle is not "held"
        return bool(self.views)

    def release(self) -> None:
        if self.released:
            return
        self.released = True
        for runner in list(self.runners):
            runner.release()
        ffi.release(self.interpreter)
        ffi.release(self.model)
        self.keepalive = None


class _ViewBase:
    """Base object of the numpy arrays returned by tensor()'s function."""

    __slots__ = ("__array_interface__", "_native", "__weakref__")

    def __init__(self, interface: "Dict[str, Any]", native: _Native) -> None:
        self.__array_interface__ = interface
        self._native = native


class _RunnerHandle:
    """A TfLiteSignatureRunner*; freed before its interpreter."""

    __slots__ = ("ptr", "__weakref__")

    def __init__(self, ptr: Any) -> None:
        self.ptr = ptr

    def release(self) -> None:
        if self.ptr is not None:
            ffi.release(self.ptr)
            self.ptr = None


def _delete_interpreter(lib: Any, model: Any, keepalive: Any) -> "Callable[[Any], None]":
    """ffi.gc destructor of an interpreter. Its closure holds the model (cdata
    with its own ffi.gc) and the model's bytes, so both outlive the interpreter
    whatever order the garbage collector picks."""
    owned = (model, keepalive)

    def delete(ptr: Any) -> None:
        lib.TfLiteInterpreterDelete(ptr)
        assert owned is not None

    return delete


def _delete_runner(lib: Any, interpreter: Any) -> "Callable[[Any], None]":
    """ffi.gc destructor of a signature runner; holds its interpreter alive."""
    def delete(ptr: Any) -> None:
        lib.TfLiteSignatureRunnerDelete(ptr)
        assert interpreter is not None

    return delete


class Interpreter:
    """Interpreter interface for running TensorFlow Lite models (tflite-cffi engine).

    Args:
      model_path: path of a ``.tflite`` file (str or os.PathLike).
      model_content: the model's bytes (bytes or any buffer; mutable buffers are copied).
      experimental_delegates: must be empty: delegates are not supported.
      num_threads: threads for the kernels (>= 1); None lets the library choose. When they leave a
        CPU of the process idle, ``allocate_tensors()`` of a model with 1 MB of weights or more packs
        them on one more thread, which ends during the first ``invoke()``.
      experimental_op_resolver_type: any ``OpResolverType``; all run the same kernels, BUILTIN_REF and
        BUILTIN_WITHOUT_DEFAULT_DELEGATES with the builtin kernels' fixed-point numerics for 8-bit
        convolutions and ADD, AUTO and BUILTIN with XNNPACK's (see ``OpResolverType``).
      experimental_preserve_all_tensors: keep every intermediate tensor readable
        after ``invoke()`` (no memory sharing between them).
      experimental_disable_delegate_clustering,
      experimental_default_delegate_latest_features: accepted and ignored.
      experimental_arena_limit: (tflite-cffi) refuse, at allocate_tensors(), an arena of
        more than this many bytes (None or 0: no limit).
      custom_op_registerers: C functions registering custom operators, each a str naming
        an exported ``TfLiteStatus Name(TfLiteInterpreterOptions*)`` in the process (load
        its library with ``ctypes.CDLL(path, mode=ctypes.RTLD_GLOBAL)`` first) or
        ``"path/to/lib.so:Name"``, or a Python callable taking the options' address (int).
        They get the interpreter options, not a C++ op resolver (docs/CUSTOM_OPS.md).
      custom_ops: (tflite-cffi) Python kernels: ``{op_name: function}`` or a list of
        ``CustomOp`` (see ``tflite_cffi.custom_ops``).

    Raises:
      ValueError: the model cannot be read or uses operators this library lacks,
        or an argument is invalid.
      OSError: the native library cannot be loaded.
    """

    def __init__(self,
                 model_path: "Optional[Any]" = None,
                 model_content: "Optional[Any]" = None,
                 experimental_delegates: "Optional[Sequence[Any]]" = None,
                 num_threads: "Optional[int]" = None,
                 experimental_op_resolver_type: Any = OpResolverType.AUTO,
                 experimental_preserve_all_tensors: bool = False,
                 experimental_disable_delegate_clustering: bool = False,
                 experimental_default_delegate_latest_features: bool = False,
                 custom_op_registerers: "Optional[Sequence[Any]]" = None,
                 custom_ops: Any = None,
                 **experimental_options: Any) -> None:
        self._lock = _thread.RLock()
        self._native: Optional[_Native] = None
        self._signature_runners: Dict[str, _RunnerHandle] = {}
        self._signature_cache: Optional[Dict[str, Dict[str, Dict[str, int]]]] = None   # see _signature_defs
        self._callbacks = CallbackState()
        if custom_op_registerers is None:   # set by InterpreterWithCustomOps, as in the official runtime
            custom_op_registerers = getattr(self, "_custom_op_registerers", None)
        registerers = list(custom_op_registerers or [])
        python_ops: List[Any] = []
        if custom_ops is not None:
            from .custom_ops import normalize_custom_ops
            python_ops = normalize_custom_ops(custom_ops)
        unknown = sorted(k for k in experimental_options if not k.startswith("experimental_"))
        if unknown:
            raise TypeError("Interpreter() got unexpected keyword argument(s): %s"
                            % ", ".join(unknown))
        arena_limit = experimental_options.get("experimental_arena_limit")
        if arena_limit is not None and (not isinstance(arena_limit, int) or isinstance(arena_limit, bool)
                                        or arena_limit < 0):
            raise ValueError("experimental_arena_limit must be a number of bytes >= 0 (or None), got %r"
                             % (arena_limit,))
        name = getattr(experimental_op_resolver_type, "name", None)
        if not isinstance(experimental_op_resolver_type, enum.Enum) \
                or name not in OpResolverType.__members__:
            raise ValueError("Unrecognized passed in op resolver type: %r; use a member "
                             "of tflite_cffi.interpreter.OpResolverType"
                             % (experimental_op_resolver_type,))
        if num_threads is not None:
            if not isinstance(num_threads, int) or isinstance(num_threads, bool):
                raise ValueError("type of num_threads should be int, got %s"
                                 % type(num_threads).__name__)
            if num_threads < 1:
                raise ValueError("num_threads should >= 1 (got %d); pass None to let the "
                                 "library choose" % num_threads)
        if experimental_delegates:
            raise ValueError(
                "experimental_delegates: delegates are not supported by tflite-cffi "
                "(it runs every model on its own CPU kernels); create the Interpreter "
                "without them")

        has_path = model_path is not None and model_path != ""
        has_content = model_content is not None and len(memoryview(model_content)) > 0
        if has_path and has_content:
            raise ValueError("Can't both provide `model_path` and `model_content`")
        if not has_path and not has_content:
            raise ValueError("`model_path` or `model_content` must be specified.")

        lib = _lib.get_lib()
        self._lib = lib
        keepalive: Any = None
        if has_path:
            path = os.fspath(model_path)
            model_ptr = lib.TfLiteModelCreateFromFile(os.fsencode(path))
            if model_ptr == ffi.NULL:
                why = _lib.last_create_error() or "not a readable .tflite model"
                if not os.path.exists(path):
                    why = "no such file (%s)" % why
                raise ValueError("Could not open %r: %s" % (os.fsdecode(path), why))
        else:
            data = model_content
            if not isinstance(data, bytes):
                data = bytes(memoryview(data))     # immutable copy: read in place by C
            buf = ffi.from_buffer(data)
            model_ptr = lib.TfLiteModelCreate(buf, len(data))
            if model_ptr == ffi.NULL:
                raise ValueError("Could not create a model from model_content: %s"
                                 % (_lib.last_create_error() or "not a valid .tflite model"))
            keepalive = (data, buf)
        model = ffi.gc(model_ptr, lib.TfLiteModelDelete)
        if not _lib.has("TfLiteCffiInterpreterGetOperator"):
            self._check_operators(model)
        # Registered operators, their callbacks and the libraries they come from live as long as the
        # interpreter (the official library keeps pointers to the operators).
        op_keepalive: List[Any] = [self._callbacks]
        keepalive = (keepalive, op_keepalive)

        options = lib.TfLiteInterpreterOptionsCreate()
        if options == ffi.NULL:
            raise MemoryError("TfLiteInterpreterOptionsCreate failed")
        try:
            if registerers:
                from .custom_ops import run_registerers
                run_registerers(lib, options, registerers, op_keepalive)
            if python_ops:
                from .custom_ops import register_python_ops
                register_python_ops(lib, options, model, python_ops, self._callbacks, op_keepalive)
            if num_threads is not None:
                lib.TfLiteInterpreterOptionsSetNumThreads(options, int(num_threads))
            if experimental_preserve_all_tensors and \
                    _lib.has("TfLiteCffiInterpreterOptionsSetPreserveAllTensors"):
                lib.TfLiteCffiInterpreterOptionsSetPreserveAllTensors(options, True)
            if arena_limit:
                if not _lib.has("TfLiteCffiInterpreterOptionsSetArenaLimit"):
                    raise ValueError("experimental_arena_limit needs the tflite-cffi library (%s lacks it)"
                                     % _lib.library_path())
                lib.TfLiteCffiInterpreterOptionsSetArenaLimit(options, arena_limit)
            if name in _FIXED_POINT_RESOLVERS and \
                    _lib.has("TfLiteCffiInterpreterOptionsSetFixedPointRequantization"):
                lib.TfLiteCffiInterpreterOptionsSetFixedPointRequantization(options, True)
            interp_ptr = lib.TfLiteInterpreterCreate(model, options)
        finally:
            lib.TfLiteInterpreterOptionsDelete(options)
        if interp_ptr == ffi.NULL:
            raise ValueError("Could not create the interpreter: %s"
                             % (_lib.last_create_error() or "unknown error"))
        interp = ffi.gc(interp_ptr, _delete_interpreter(lib, model, keepalive))
        self._native = _Native(lib, interp, model, keepalive)
        if _lib.has("TfLiteCffiInterpreterGetOperator"):
            try:
                self._check_nodes(interp)
            except ValueError:
                self.close()
                raise

    # ------------------------------------------------------------------ helpers

    def _check_operators(self, model: Any) -> None:
        """ValueError naming every operator this library cannot run (as the
        official runtime fails at construction)."""
        lib = self._lib
        if not (_lib.has("TfLiteCffiModelGetOperator")
                and _lib.has("TfLiteCffiModelGetSubgraphCount")):
            return
        missing: List[str] = []
        info = ffi.new("TfLiteCffiOperatorInfo*")
        for sg in range(lib.TfLiteCffiModelGetSubgraphCount(model)):
            for op in range(max(0, lib.TfLiteCffiModelGetOperatorCount(model, sg))):
                if lib.TfLiteCffiModelGetOperator(model, sg, op, info) != 0:
                    continue
                if not info.supported:
                    desc = "%s version %d" % (_lib.to_str(info.name) or
                                              "builtin code %d" % info.builtin_code,
                                              info.version)
                    if desc not in missing:
                        missing.append(desc)
        if missing:
            raise ValueError(
                "The model uses operators that tflite-cffi does not support: %s. "
                "Run `python -m tflite_cffi info MODEL` for the full list; convert the "
                "model with supported ops or report the missing ones."
                % ", ".join(missing))

    def _check_nodes(self, interp: Any) -> None:
        """ValueError naming every operator that has neither a kernel of this library nor a
        registered one, as the official runtime fails at construction."""
        lib = self._lib
        missing: List[str] = []
        info = ffi.new("TfLiteCffiOperatorInfo*")
        get_operator = lib.TfLiteCffiInterpreterGetOperator   # looked up once: a call per node
        for sg in range(lib.TfLiteCffiInterpreterGetSubgraphCount(interp)):
            op = 0
            while get_operator(interp, sg, op, info) == 0:
                op += 1
                if info.supported:
                    continue
                name = _lib.to_str(info.name) or "builtin code %d" % info.builtin_code
                if info.builtin_code == 32:
                    desc = "custom op %r version %d" % (name, info.version)
                else:
                    desc = "%s version %d" % (name, info.version)
                if desc not in missing:
                    missing.append(desc)
        if missing:
            raise ValueError(
                "The model uses operators that tflite-cffi does not support: %s. "
                "Run `python -m tflite_cffi info MODEL` for the full list; register custom ops "
                "(custom_op_registerers=, custom_ops=; docs/CUSTOM_OPS.md), convert the model with "
                "supported ops or report the missing ones." % ", ".join(missing))

    def _check_call(self, status: int, handle: Any, action: str) -> None:
        """check_status, but an exception raised in a Python custom op is raised again as it was."""
        error = self._callbacks.take_error()
        if error is not None and int(status) != 0:
            detail = _lib.interpreter_error(handle)
            if detail and hasattr(error, "add_note"):
                error.add_note("%s: %s" % (action, detail))
            raise error
        _lib.check_status(status, handle, action)

    def _refuse_reentry(self, action: str) -> None:
        if self._callbacks.depth:
            raise RuntimeError("%s was called from inside a custom op of this interpreter; a custom op "
                               "may read tensors but not run, allocate, resize or reset its interpreter"
                               % action)

    def _handle(self) -> Any:
        native = self._native
        if native is None:
            raise ValueError("This Interpreter is closed; create a new one to run the model.")
        return native.interpreter

    def _ensure_safe(self) -> None:
        native = self._native
        if native is not None and native.live_views():
            raise RuntimeError(_UNSAFE_MESSAGE)

    def _is_allocated(self) -> "Optional[bool]":
        if _lib.has("TfLiteCffiInterpreterIsAllocated"):
            return bool(self._lib.TfLiteCffiInterpreterIsAllocated(self._handle()))
        return None

    def _num_subgraphs(self) -> int:
        if _lib.has("TfLiteCffiInterpreterGetSubgraphCount"):
            return int(self._lib.TfLiteCffiInterpreterGetSubgraphCount(self._handle()))
        return 1

    def _num_tensors(self, subgraph_index: int = 0) -> int:
        handle = self._handle()
        if subgraph_index != 0:
            if not _lib.has("TfLiteCffiInterpreterGetSubgraphTensorCount"):
                raise ValueError("subgraph_index %d: this library only gives access to "
                                 "the primary subgraph (0)" % subgraph_index)
            return int(self._lib.TfLiteCffiInterpreterGetSubgraphTensorCount(
                handle, subgraph_index))
        if _lib.has("TfLiteCffiInterpreterGetTensorCount"):
            return int(self._lib.TfLiteCffiInterpreterGetTensorCount(handle))
        # Another C library without our extensions: only what we know exists.
        return max(self._io_indices(True) + self._io_indices(False) + [-1]) + 1

    def _check_subgraph(self, subgraph_index: Any) -> int:
        subgraph_index = _as_index(subgraph_index, "subgraph_index")
        count = self._num_subgraphs()
        if not 0 <= subgraph_index < count:
            raise ValueError("Invalid subgraph index %d: the model has %d subgraph(s), "
                             "indices 0..%d" % (subgraph_index, count, count - 1))
        return subgraph_index

    def _tensor_ptr(self, tensor_index: Any, subgraph_index: Any = 0) -> Any:
        """TfLiteTensor* for an index, ValueError when out of range."""
        subgraph_index = self._check_subgraph(subgraph_index)
        tensor_index = _as_index(tensor_index, "tensor_index")
        count = self._num_tensors(subgraph_index)
        if not 0 <= tensor_index < count:
            raise ValueError("Invalid tensor index %d: subgraph %d has %d tensors, indices "
                             "0..%d (use the 'index' of get_input_details() / "
                             "get_output_details())"
                             % (tensor_index, subgraph_index, count, count - 1))
        if subgraph_index == 0:
            ptr = self._lib.TfLiteInterpreterGetTensor(self._handle(), tensor_index)
        else:
            ptr = self._lib.TfLiteCffiInterpreterGetSubgraphTensor(
                self._handle(), subgraph_index, tensor_index)
        if ptr == ffi.NULL:
            raise ValueError("Invalid tensor index %d in subgraph %d"
                             % (tensor_index, subgraph_index))
        return ptr

    def _io_indices(self, inputs: bool) -> "List[int]":
        lib, handle = self._lib, self._handle()
        if inputs:
            count = lib.TfLiteInterpreterGetInputTensorCount(handle)
            ptr = lib.TfLiteInterpreterInputTensorIndices(handle)
        else:
            count = lib.TfLiteInterpreterGetOutputTensorCount(handle)
            ptr = lib.TfLiteInterpreterOutputTensorIndices(handle)
        if ptr == ffi.NULL:
            return []
        return [int(ptr[i]) for i in range(count)]

    @staticmethod
    def _dims(lib: Any, tensor: Any) -> "Tuple[int, ...]":
        rank = lib.TfLiteTensorNumDims(tensor)
        return tuple([lib.TfLiteTensorDim(tensor, i) for i in range(max(rank, 0))])

    def _tensor_details(self, tensor: Any, index: int) -> "Dict[str, Any]":
        lib = self._lib
        ttype = int(lib.TfLiteTensorType(tensor))
        if ttype not in _TYPES:
            raise ValueError("Could not get tensor details: tensor %d has no type this "
                             "binding knows (TfLiteType %d)" % (index, ttype))
        shape = np.array(self._dims(lib, tensor), dtype=np.int32)
        if _lib.has("TfLiteCffiTensorShapeSignature"):
            capacity = 8
            while True:
                dims = ffi.new("int32_t[]", capacity)
                rank = lib.TfLiteCffiTensorShapeSignature(tensor, dims, capacity)
                if rank <= capacity:
                    break
                capacity = rank
            signature = np.array([dims[i] for i in range(max(rank, 0))], dtype=np.int32)
        else:
            signature = shape.copy()
        if _lib.has("TfLiteCffiTensorQuantizationCount"):
            count = int(lib.TfLiteCffiTensorQuantizationCount(tensor))
            scales = np.zeros(count, dtype=np.float32)
            zero_points = np.zeros(count, dtype=np.int32)
            if count:
                sp = lib.TfLiteCffiTensorQuantizationScales(tensor)
                zp = lib.TfLiteCffiTensorQuantizationZeroPoints(tensor)
                scales[:] = np.frombuffer(ffi.buffer(sp, 4 * count), dtype=np.float32)
                zero_points[:] = np.frombuffer(ffi.buffer(zp, 8 * count), dtype=np.int64)
            qdim = int(lib.TfLiteCffiTensorQuantizedDimension(tensor)) if count else 0
            if count == 1:
                quantization = (float(scales[0]), int(zero_points[0]))
            else:  # the official runtime's legacy pair is empty for per-channel tensors
                quantization = (0.0, 0)
        else:
            params = lib.TfLiteTensorQuantizationParams(tensor)
            quantization = (float(np.float32(params.scale)), int(params.zero_point))
            if quantization == (0.0, 0):
                scales = np.zeros(0, dtype=np.float32)
                zero_points = np.zeros(0, dtype=np.int32)
            else:
                scales = np.array([params.scale], dtype=np.float32)
                zero_points = np.array([params.zero_point], dtype=np.int32)
            qdim = 0
        if _lib.has("TfLiteCffiTensorIndex"):
            index = int(lib.TfLiteCffiTensorIndex(tensor))
        return {
            "name": _lib.to_str(lib.TfLiteTensorName(tensor)),
            "index": int(index),
            "shape": shape,
            "shape_signature": signature,
            "dtype": _TYPES[ttype][0],
            "quantization": quantization,
            "quantization_parameters": {
                "scales": scales,
                "zero_points": zero_points,
                "quantized_dimension": qdim,
                "block_size": 0,
            },
            "sparsity_parameters": {},
        }

    def _get_tensor_details(self, tensor_index: Any, subgraph_index: Any = 0) -> "Dict[str, Any]":
        tensor_index = _as_index(tensor_index, "tensor_index")
        return self._tensor_details(self._tensor_ptr(tensor_index, subgraph_index),
                                    tensor_index)

    @property
    def _signature_defs(self) -> "Dict[str, Dict[str, Dict[str, int]]]":
        """The model's signatures, read on first use rather than by the constructor."""
        defs = self._signature_cache
        if defs is None:
            with self._lock:
                defs = self._signature_cache
                if defs is None:
                    defs = self._signature_cache = self._read_signature_defs()
        return defs

    def _read_signature_defs(self) -> "Dict[str, Dict[str, Dict[str, int]]]":
        """{key: {'inputs': {name: index}, 'outputs': {name: index}}}, names sorted."""
        lib, handle = self._lib, self._handle()
        defs: Dict[str, Dict[str, Dict[str, int]]] = {}
        for i in range(lib.TfLiteInterpreterGetSignatureCount(handle)):
            key = _lib.to_str(lib.TfLiteInterpreterGetSignatureKey(handle, i))
            runner = self._runner(key)
            inputs = {}
            for j in range(lib.TfLiteSignatureRunnerGetInputCount(runner)):
                name = _lib.to_str(lib.TfLiteSignatureRunnerGetInputName(runner, j))
                tensor = lib.TfLiteSignatureRunnerGetInputTensor(runner, name.encode("utf-8"))
                inputs[name] = self._index_of(tensor)
            outputs = {}
            for j in range(lib.TfLiteSignatureRunnerGetOutputCount(runner)):
                name = _lib.to_str(lib.TfLiteSignatureRunnerGetOutputName(runner, j))
                tensor = lib.TfLiteSignatureRunnerGetOutputTensor(runner, name.encode("utf-8"))
                outputs[name] = self._index_of(tensor)
            defs[key] = {"inputs": dict(sorted(inputs.items())),
                         "outputs": dict(sorted(outputs.items()))}
        return defs

    def _index_of(self, tensor: Any) -> int:
        if tensor == ffi.NULL:
            return -1
        if _lib.has("TfLiteCffiTensorIndex"):
            return int(self._lib.TfLiteCffiTensorIndex(tensor))
        handle = self._handle()
        for i in range(self._num_tensors(0)):
            if self._lib.TfLiteInterpreterGetTensor(handle, i) == tensor:
                return i
        return -1

    def _runner(self, key: str) -> Any:
        """The (cached) TfLiteSignatureRunner* of a signature key."""
        handle = self._signature_runners.get(key)
        if handle is not None and handle.ptr is not None:
            return handle.ptr
        native = self._native
        if native is None:
            raise ValueError("This Interpreter is closed; create a new one to run the model.")
        ptr = self._lib.TfLiteInterpreterGetSignatureRunner(native.interpreter,
                                                            key.encode("utf-8"))
        if ptr == ffi.NULL:
            raise ValueError('Invalid signature_key provided: "%s".' % key)
        handle = _RunnerHandle(ffi.gc(ptr, _delete_runner(self._lib, native.interpreter)))
        native.runners.add(handle)
        self._signature_runners[key] = handle
        return handle.ptr

    def _read_tensor(self, tensor: Any, index: int) -> np.ndarray:
        lib = self._lib
        ttype = int(lib.TfLiteTensorType(tensor))
        if ttype not in _TYPES or ttype in _NOT_ARRAY_TYPES:
            raise ValueError("Tensor %d has type %s, which tflite-cffi cannot return as a "
                             "numpy array" % (index, _TYPES.get(ttype, (0, ttype))[1]))
        data = lib.TfLiteTensorData(tensor)
        allocated = self._is_allocated()
        if data == ffi.NULL or (allocated is False and not self._is_constant(tensor)):
            raise ValueError("Tensor data is null. Run allocate_tensors() first (and again "
                             "after resize_tensor_input())")
        out = np.empty(self._dims(lib, tensor), dtype=_TYPES[ttype][0])
        nbytes = lib.TfLiteTensorByteSize(tensor)
        if nbytes != out.nbytes:
            raise ValueError("Tensor %d holds %d bytes but its shape %s and type need %d"
                             % (index, nbytes, out.shape, out.nbytes))
        if nbytes:
            status = lib.TfLiteTensorCopyToBuffer(
                tensor, ffi.from_buffer(out, require_writable=True), nbytes)
            _lib.check_status(status, self._native.interpreter if self._native else None,
                              "Reading tensor %d" % index, ValueError)
        return out

    def _is_constant(self, tensor: Any) -> bool:
        return _lib.has("TfLiteCffiTensorIsConstant") and \
            bool(self._lib.TfLiteCffiTensorIsConstant(tensor))

    def _write_tensor(self, tensor: Any, index: int, value: Any, what: str = "input") -> None:
        lib = self._lib
        ttype = int(lib.TfLiteTensorType(tensor))
        if ttype not in _TYPES or ttype in _NOT_ARRAY_TYPES:
            raise ValueError("Cannot set tensor: %s %d (%s) has type %s, which tflite-cffi "
                             "cannot set from numpy" % (what, index, _lib.to_str(lib.TfLiteTensorName(tensor)),
                                                        _TYPES.get(ttype, (0, ttype))[1]))
        expected = np.dtype(_TYPES[ttype][0])
        value = np.asarray(value)
        if value.dtype != expected:
            raise ValueError(
                "Cannot set tensor: Got value of type %s but expected type %s for %s %d, "
                "name: %s; convert it first, e.g. value.astype(np.%s)"
                % (_dtype_name(value.dtype), _TYPES[ttype][1], what, index,
                   _lib.to_str(lib.TfLiteTensorName(tensor)), expected.name))
        shape = self._dims(lib, tensor)
        if value.shape != shape:   # one tuple comparison on the common path; the details for the message
            if value.ndim != len(shape):
                raise ValueError("Cannot set tensor: Dimension mismatch. Got %d but expected %d "
                                 "for %s %d (expected shape %s, got %s; use "
                                 "resize_tensor_input() to change it)"
                                 % (value.ndim, len(shape), what, index, list(shape),
                                    list(value.shape)))
            for axis, (got, want) in enumerate(zip(value.shape, shape)):
                if got != want:
                    raise ValueError("Cannot set tensor: Dimension mismatch. Got %d but expected "
                                     "%d for dimension %d of %s %d (expected shape %s; use "
                                     "resize_tensor_input() to change it)"
                                     % (got, want, axis, what, index, list(shape)))
        allocated = self._is_allocated()
        if lib.TfLiteTensorData(tensor) == ffi.NULL or allocated is False:
            raise ValueError("Cannot set tensor: Tensor is unallocated. Try calling "
                             "allocate_tensors() first")
        value = np.ascontiguousarray(value)
        nbytes = lib.TfLiteTensorByteSize(tensor)
        if nbytes != value.nbytes:
            raise ValueError("Cannot set tensor: %s %d takes %d bytes, the value has %d"
                             % (what, index, nbytes, value.nbytes))
        if nbytes:
            status = lib.TfLiteTensorCopyFromBuffer(tensor, ffi.from_buffer(value), nbytes)
            _lib.check_status(status, self._handle(), "Cannot set tensor %d" % index,
                              ValueError)

    # ------------------------------------------------------------------ public API

    @_serialized
    def allocate_tensors(self) -> None:
        """Plans memory and prepares the kernels; needed before invoke() and
        after every resize_tensor_input()."""
        self._refuse_reentry("allocate_tensors()")
        self._ensure_safe()
        handle = self._handle()
        self._callbacks.take_error()
        status = self._lib.TfLiteInterpreterAllocateTensors(handle)
        self._check_call(status, handle, "allocate_tensors()")

    def invoke(self) -> None:
        """Runs the model on the inputs set. Releases the GIL while it runs.

        Raises:
          RuntimeError: tensors not allocated, a numpy view from tensor() is
            still held, or a kernel failed.
        """
        # Serialized as _serialized does, written out: this is the call made
        # per frame, and the wrapper and `with` cost more than the C call of a
        # small model.
        lock = self._lock
        lock.acquire()
        try:
            native, callbacks = self._native, self._callbacks
            # The common case, a few attribute reads: the C call itself refuses
            # an interpreter that is not allocated, and a failure is explained
            # below. views.data is the WeakSet's own set (no Python-level
            # __len__); a dead view not yet removed only takes the checked path.
            if native is None or callbacks.depth or native.views.data or callbacks.errors:
                self._invoke_checked()
                return
            status = self._lib.TfLiteInterpreterInvoke(native.interpreter)
            if status != 0 or callbacks.errors:
                self._invoke_failed(status, native.interpreter)
        finally:
            lock.release()

    def _invoke_checked(self) -> None:
        self._refuse_reentry("invoke()")
        self._ensure_safe()
        handle = self._handle()
        self._callbacks.take_error()
        status = self._lib.TfLiteInterpreterInvoke(handle)
        if status != 0 or self._callbacks.errors:
            self._invoke_failed(status, handle)

    def _invoke_failed(self, status: int, handle: Any) -> None:
        if int(status) != 0 and self._is_allocated() is False:
            self._callbacks.take_error()
            raise RuntimeError("Invoke called on model that is not ready: call "
                               "allocate_tensors() first (and again after "
                               "resize_tensor_input())")
        self._check_call(status, handle, "invoke()")

    def get_input_details(self) -> "List[Dict[str, Any]]":
        """Details of each model input: name, index, shape, shape_signature,
        dtype, quantization, quantization_parameters, sparsity_parameters."""
        return [self._get_tensor_details(i, 0) for i in self._io_indices(True)]

    def get_output_details(self) -> "List[Dict[str, Any]]":
        """Details of each model output (same keys as get_input_details())."""
        return [self._get_tensor_details(i, 0) for i in self._io_indices(False)]

    def get_tensor_details(self, subgraph_index: int = 0) -> "List[Dict[str, Any]]":
        """Details of every tensor of a subgraph that has a known type."""
        self._handle()
        subgraph_index = _as_index(subgraph_index, "subgraph_index")
        count = self._num_subgraphs()
        if not 0 <= subgraph_index < count:
            raise ValueError("subgraph_index is out of range: %d for the model, which has "
                             "%d subgraphs." % (subgraph_index, count))
        details = []
        for i in range(self._num_tensors(subgraph_index)):
            try:
                details.append(self._get_tensor_details(i, subgraph_index))
            except ValueError:
                pass
        return details

    @_serialized
    def set_tensor(self, tensor_index: int, value: Any) -> None:
        """Copies `value` (a numpy array of exactly the tensor's dtype and shape)
        into the tensor. Use tensor() to write in place without a copy.

        Raises:
          ValueError: wrong dtype, shape or index, or tensors not allocated.
        """
        tensor_index = _as_index(tensor_index, "tensor_index")
        self._write_tensor(self._tensor_ptr(tensor_index), tensor_index, value)

    @_serialized
    def get_tensor(self, tensor_index: int, subgraph_index: int = 0) -> np.ndarray:
        """A copy of the tensor's value."""
        tensor_index = _as_index(tensor_index, "tensor_index")
        return self._read_tensor(self._tensor_ptr(tensor_index, subgraph_index), tensor_index)

    def tensor(self, tensor_index: int) -> "Callable[[], np.ndarray]":
        """A function returning a numpy array over the tensor's memory (no copy).

        Hold the function, not the array: while such an array (or a slice of
        it) is alive, allocate_tensors(), invoke() and resize_tensor_input()
        raise RuntimeError, as the memory may move.
        """
        def view() -> np.ndarray:
            return self._view(tensor_index)
        return view

    def _view(self, tensor_index: Any) -> np.ndarray:
        tensor_index = _as_index(tensor_index, "tensor_index")
        tensor = self._tensor_ptr(tensor_index)
        lib = self._lib
        ttype = int(lib.TfLiteTensorType(tensor))
        if ttype not in _TYPES or ttype in _NOT_ARRAY_TYPES:
            raise ValueError("Tensor %d has type %s, which has no numpy view"
                             % (tensor_index, _TYPES.get(ttype, (0, ttype))[1]))
        data = lib.TfLiteTensorData(tensor)
        allocated = self._is_allocated()
        if data == ffi.NULL or (allocated is False and not self._is_constant(tensor)):
            raise ValueError("Tensor data is null. Run allocate_tensors() first (and again "
                             "after resize_tensor_input())")
        dtype = np.dtype(_TYPES[ttype][0])
        shape = self._dims(lib, tensor)
        count = 1
        for d in shape:
            count *= d
        if count * dtype.itemsize != lib.TfLiteTensorByteSize(tensor):
            raise ValueError("Tensor %d: byte size does not match its shape" % tensor_index)
        native = self._native
        assert native is not None
        base = _ViewBase({
            "version": 3,
            "shape": shape,
            "typestr": dtype.str,
            "data": (int(ffi.cast("uintptr_t", data)), self._is_constant(tensor)),
        }, native)
        native.views.add(base)
        return np.asarray(base)

    @_serialized
    def resize_tensor_input(self, input_index: int, tensor_size: Any, strict: bool = False) -> None:
        """Changes the shape of an input; call allocate_tensors() afterwards.

        Args:
          input_index: the input's tensor index (the 'index' of get_input_details()).
          tensor_size: the new shape.
          strict: only dims that are -1 in the input's shape_signature may change.

        Raises:
          RuntimeError: not an input, a bad shape, or a strict resize of a fixed dim.
        """
        self._refuse_reentry("resize_tensor_input()")
        self._ensure_safe()
        handle = self._handle()
        input_index = _as_index(input_index, "input_index")
        dims = np.array(tensor_size, dtype=np.int32).reshape(-1)
        inputs = self._io_indices(True)
        if input_index not in inputs:
            raise InterpreterError(
                "resize_tensor_input(): tensor %d is not an input of the model; pass the "
                "'index' of one of get_input_details() (inputs: %s)" % (input_index, inputs),
                1)
        if (dims < 0).any():
            raise InterpreterError("resize_tensor_input(): dimensions must be >= 0, got %s"
                                   % dims.tolist(), 1)
        tensor = self._tensor_ptr(input_index)
        if strict:
            signature = self._tensor_details(tensor, input_index)["shape_signature"]
            if len(signature) != len(dims):
                raise InterpreterError(
                    "resize_tensor_input(strict=True): tensor %d has rank %d, got a shape of "
                    "rank %d" % (input_index, len(signature), len(dims)), 1)
            for axis, (sig, new) in enumerate(zip(signature.tolist(), dims.tolist())):
                if sig != -1 and sig != new:
                    raise InterpreterError(
                        "resize_tensor_input(strict=True): attempting to resize dimension "
                        "%d of tensor %d with value %d to %d; a strict resize only changes "
                        "unknown dimensions (-1 in shape_signature %s). Use strict=False"
                        % (axis, input_index, sig, new, signature.tolist()), 1)
        if self._dims(self._lib, tensor) == tuple(dims.tolist()):
            return   # as the official runtime: same shape, nothing to reallocate
        position = inputs.index(input_index)
        cdims = ffi.new("int[]", dims.tolist())
        status = self._lib.TfLiteInterpreterResizeInputTensor(handle, position, cdims, len(dims))
        _lib.check_status(status, handle, "resize_tensor_input(%d, %s)"
                          % (input_index, dims.tolist()))

    def get_signature_list(self) -> "Dict[str, Dict[str, List[str]]]":
        """{signature_key: {'inputs': [names], 'outputs': [names]}}."""
        self._handle()
        return {key: {"inputs": list(d["inputs"]), "outputs": list(d["outputs"])}
                for key, d in self._signature_defs.items()}

    def _get_full_signature_list(self) -> "Dict[str, Dict[str, Dict[str, int]]]":
        self._handle()
        return {key: {"inputs": dict(d["inputs"]), "outputs": dict(d["outputs"])}
                for key, d in self._signature_defs.items()}

    def get_signature_runner(self, signature_key: "Optional[str]" = None) -> "SignatureRunner":
        """A callable running one SignatureDef by its input/output names.

        `signature_key` may be None when the model has exactly one signature.
        """
        self._handle()
        if signature_key is None:
            if len(self._signature_defs) != 1:
                raise ValueError(
                    "SignatureDef signature_key is None and model has %d Signatures. None "
                    "is only allowed when the model has 1 SignatureDef; pass one of %s"
                    % (len(self._signature_defs), sorted(self._signature_defs)))
            signature_key = next(iter(self._signature_defs))
        return SignatureRunner(interpreter=self, signature_key=signature_key)

    # ------------------------------------------------------------------ memory report

    @_serialized
    def get_allocations(self) -> "Dict[str, Any]":
        """The memory the interpreter holds, as the last allocate_tensors() laid it out.

        Returns a dict:

        * ``head``: bytes of the arena, the one block planned at allocate_tensors() in
          which activation tensors and the kernels' scratch buffers share memory over
          their lifetimes (the whole arena, all subgraphs).
        * ``tail``: bytes held outside it until the next allocate_tensors() or for the
          interpreter's lifetime (see ``persistent``).
        * ``total``: ``head + tail``.
        * ``pooled``: of ``tail``, the bytes of kernel data packed at allocation into the
          weight pool (one memory mapping, on huge pages where the OS offers them) rather
          than into heap blocks.
        * ``alignment``: every arena block starts at, and is rounded up to, a multiple
          of this many bytes.
        * ``planned``: whether ``tensors`` and ``scratch`` describe the current plan
          (False after resize_tensor_input() until the next allocate_tensors()).
        * ``tensors``: one dict per arena tensor: ``name``, ``index``, ``subgraph``,
          ``offset`` (bytes from the arena's start), ``bytes`` and ``lifetime``, the
          (first, last) node that uses it; last == the subgraph's node count means it
          is kept until the next invoke() (inputs and outputs).
        * ``scratch``: one dict per scratch buffer in the arena: ``subgraph``, ``node``,
          ``op``, ``offset``, ``bytes``, ``lifetime``.
        * ``persistent``: one dict per block in the tail: ``kind`` (``"variable"``:
          recurrent state; ``"folded"``: a constant computed at allocation, e.g.
          dequantized fp16 weights; ``"dynamic"``: a tensor sized at run time;
          ``"dynamic_scratch"``: its node's scratch; ``"kernel_data"``: what a node's
          kernel keeps, e.g. packed weights), ``subgraph``, ``tensor`` and ``name``
          (tensors) or ``node`` and ``op`` (the others), ``bytes``.

        The model's own weights, read in place from the model's bytes, are in neither.
        The numbers come from the engine's own bookkeeping: ``head`` is the arena it
        allocated and every tensor's data pointer is the arena's start plus its offset.
        """
        lib, handle = self._lib, self._handle()
        if not (_lib.has("TfLiteCffiInterpreterGetAllocations")
                and _lib.has("TfLiteCffiInterpreterGetAllocationSummary")):
            raise NotImplementedError("get_allocations() needs the tflite-cffi library (%s lacks "
                                      "TfLiteCffiInterpreterGetAllocations)" % _lib.library_path())
        summary = ffi.new("TfLiteCffiAllocationSummary*")
        status = lib.TfLiteCffiInterpreterGetAllocationSummary(handle, summary)
        _lib.check_status(status, handle, "get_allocations()")
        count = int(summary.count)
        entries = ffi.new("TfLiteCffiAllocation[]", max(count, 1))
        count = min(count, int(lib.TfLiteCffiInterpreterGetAllocations(handle, entries, count)))
        kinds = {
            int(lib.kTfLiteCffiAllocVariable): "variable",
            int(lib.kTfLiteCffiAllocFolded): "folded",
            int(lib.kTfLiteCffiAllocDynamicTensor): "dynamic",
            int(lib.kTfLiteCffiAllocDynamicScratch): "dynamic_scratch",
            int(lib.kTfLiteCffiAllocKernelData): "kernel_data",
        }
        arena_tensor = int(lib.kTfLiteCffiAllocArenaTensor)
        arena_scratch = int(lib.kTfLiteCffiAllocArenaScratch)
        tensors: List[Dict[str, Any]] = []
        scratch: List[Dict[str, Any]] = []
        persistent: List[Dict[str, Any]] = []
        for e in entries[0:count]:
            kind, sg = int(e.kind), int(e.subgraph)
            if kind == arena_tensor:
                tensors.append({"name": self._tensor_name(sg, int(e.tensor)), "index": int(e.tensor),
                                "subgraph": sg, "offset": int(e.offset), "bytes": int(e.bytes),
                                "lifetime": (int(e.first_node), int(e.last_node))})
            elif kind == arena_scratch:
                scratch.append({"subgraph": sg, "node": int(e.node), "op": self._op_name(sg, int(e.node)),
                                "offset": int(e.offset), "bytes": int(e.bytes),
                                "lifetime": (int(e.first_node), int(e.last_node))})
            else:
                item: Dict[str, Any] = {"kind": kinds.get(kind, "other"), "subgraph": sg}
                if int(e.tensor) >= 0:
                    item.update(tensor=int(e.tensor), name=self._tensor_name(sg, int(e.tensor)))
                else:
                    item.update(node=int(e.node), op=self._op_name(sg, int(e.node)))
                item["bytes"] = int(e.bytes)
                persistent.append(item)
        head, tail = int(summary.arena_bytes), int(summary.persistent_bytes)
        return {"total": head + tail, "head": head, "tail": tail, "pooled": int(summary.pooled_bytes),
                "alignment": int(summary.arena_alignment), "planned": bool(summary.planned),
                "tensors": tensors, "scratch": scratch, "persistent": persistent}

    def print_allocations(self, file: Any = None, verbose: bool = False) -> None:
        """Prints the memory report of get_allocations(): the arena's total, head and
        tail, one line per kind of block, and with ``verbose`` every block. Writes to
        ``file`` (default: sys.stderr, as tflite_micro's print_allocations does)."""
        report = self.get_allocations()
        out = sys.stderr if file is None else file
        for line in _format_allocations(report, verbose):
            print(line, file=out)

    def _tensor_name(self, subgraph: int, index: int) -> str:
        if subgraph == 0:
            ptr = self._lib.TfLiteInterpreterGetTensor(self._handle(), index)
        else:
            ptr = self._lib.TfLiteCffiInterpreterGetSubgraphTensor(self._handle(), subgraph, index)
        return _lib.to_str(self._lib.TfLiteTensorName(ptr)) if ptr != ffi.NULL else ""

    def _op_name(self, subgraph: int, node: int) -> str:
        native = self._native
        if native is None or node < 0 or not _lib.has("TfLiteCffiModelGetOperator"):
            return ""
        info = ffi.new("TfLiteCffiOperatorInfo*")
        if self._lib.TfLiteCffiModelGetOperator(native.model, subgraph, node, info) != 0:
            return ""
        return _lib.to_str(info.name)

    @_serialized
    def reset_all_variables(self) -> None:
        """Resets every variable tensor (recurrent state) to its initial value."""
        self._refuse_reentry("reset_all_variables()")
        handle = self._handle()
        status = self._lib.TfLiteInterpreterResetVariableTensors(handle)
        _lib.check_status(status, handle, "reset_all_variables()")

    def num_subgraphs(self) -> int:
        """Number of subgraphs in the model."""
        self._handle()
        return self._num_subgraphs()

    @_serialized
    def close(self) -> None:
        """Frees the native interpreter now (also done when garbage-collected).

        Numpy arrays still held from tensor() keep the memory alive until they
        are dropped. Calling any method afterwards raises ValueError.
        """
        native, self._native = self._native, None
        self._signature_runners = {}
        if native is None:
            return
        if native.views:
            import gc
            gc.collect()
        if not native.views:
            native.release()
        else:
            for runner in list(native.runners):
                runner.release()

    def __enter__(self) -> "Interpreter":
        self._handle()
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._native is None else (
            "allocated" if self._is_allocated() else "not allocated")
        return "<tflite_cffi.Interpreter %s>" % state


class InterpreterWithCustomOps(Interpreter):
    """``Interpreter`` taking ``custom_op_registerers`` first, as the official runtime's class of
    this name (``Interpreter`` itself accepts them too)."""

    def __init__(self, custom_op_registerers: "Optional[Sequence[Any]]" = None, **kwargs: Any) -> None:
        self._custom_op_registerers = list(custom_op_registerers or [])
        super().__init__(**kwargs)


_REPORT_PREFIX = "[tflite_cffi]"


def _format_allocations(report: "Dict[str, Any]", verbose: bool) -> "List[str]":
    """The lines print_allocations() prints for a get_allocations() report."""
    p = _REPORT_PREFIX
    lines = [
        "%s Arena allocation total %d bytes" % (p, report["total"]),
        "%s Arena allocation head %d bytes (planned arena: activations and scratch sharing "
        "memory over their lifetimes)" % (p, report["head"]),
        "%s Arena allocation tail %d bytes (persistent: kernel data, variables, folded and "
        "dynamic tensors)" % (p, report["tail"]),
    ]
    align = report["alignment"]

    def rounded(n: int) -> int:
        return (n + align - 1) // align * align

    if not report["planned"]:
        lines.append("%s (not allocated: call allocate_tensors() to plan the arena)" % p)
    for what, blocks in (("Arena tensor data", report["tensors"]),
                         ("Arena scratch buffers", report["scratch"])):
        if blocks:
            requested = sum(b["bytes"] for b in blocks)
            lines.append("%s '%s' requested %d bytes (%d with alignment) for %d blocks, sharing "
                         "memory where their lifetimes do not overlap"
                         % (p, what, requested, sum(rounded(b["bytes"]) for b in blocks),
                            len(blocks)))
    labels = (("kernel_data", "Kernel data (packed weights)"), ("variable", "Variable tensor data"),
              ("folded", "Folded constant data"), ("dynamic", "Dynamic tensor data"),
              ("dynamic_scratch", "Dynamic scratch buffers"), ("other", "Other"))
    for kind, label in labels:
        blocks = [b for b in report["persistent"] if b["kind"] == kind]
        if blocks:
            lines.append("%s '%s' used %d bytes for %d allocations"
                         % (p, label, sum(b["bytes"] for b in blocks), len(blocks)))
            if kind == "kernel_data" and report["pooled"]:
                lines.append("%s (%d bytes of it in the weight pool, on huge pages where the OS "
                             "offers them)" % (p, report["pooled"]))
    if verbose:
        def short(name: str, width: int = 60) -> str:
            return name if len(name) <= width else name[:width - 3] + "..."

        lines.append("%s %10s %10s %5s %11s  %s" % (p, "offset", "bytes", "graph", "nodes", "block"))
        blocks = [("tensor %d '%s'" % (b["index"], short(b["name"])), b) for b in report["tensors"]]
        blocks += [("scratch of node %d %s" % (b["node"], b["op"]), b) for b in report["scratch"]]
        for desc, b in sorted(blocks, key=lambda x: (x[1]["offset"], x[1]["subgraph"])):
            lines.append("%s %10d %10d %5d %5d..%-5d  %s" % (p, b["offset"], b["bytes"], b["subgraph"],
                                                          b["lifetime"][0], b["lifetime"][1], desc))
        for b in report["persistent"]:
            desc = ("tensor %d '%s'" % (b["tensor"], short(b["name"])) if "tensor" in b
                    else "node %d %s" % (b["node"], b["op"]))
            lines.append("%s %10s %10d %5d %11s  %s: %s" % (p, "-", b["bytes"], b["subgraph"], "-",
                                                           b["kind"], desc))
    return lines


class SignatureRunner:
    """Runs one SignatureDef of a model by names: ``runner(x=array)`` returns
    ``{output_name: array}``. Made by ``Interpreter.get_signature_runner()``."""

    def __init__(self, interpreter: "Optional[Interpreter]" = None,
                 signature_key: "Optional[str]" = None) -> None:
        if interpreter is None:
            raise ValueError("None interpreter provided.")
        if not signature_key:
            raise ValueError("None signature_key provided.")
        self._interpreter = interpreter
        self._signature_key = signature_key
        defs = interpreter._get_full_signature_list()
        if signature_key not in defs:
            raise ValueError('Invalid signature_key provided: "%s"; the model has %s'
                             % (signature_key, sorted(defs)))
        self._inputs = defs[signature_key]["inputs"]
        self._outputs = defs[signature_key]["outputs"]
        self._allocated_once = False

    def _ptr(self) -> Any:
        return self._interpreter._runner(self._signature_key)

    def __call__(self, **kwargs: Any) -> "Dict[str, np.ndarray]":
        """Runs the signature on the named inputs; returns the named outputs (copies)."""
        with self._interpreter._lock:
            return self._call(kwargs)

    def _call(self, kwargs: "Dict[str, Any]") -> "Dict[str, np.ndarray]":
        it = self._interpreter
        ptr = self._ptr()
        lib = it._lib
        if len(kwargs) != len(self._inputs):
            raise ValueError("Invalid number of inputs provided for running a SignatureDef, "
                             "expected %d vs provided %d (inputs: %s)"
                             % (len(self._inputs), len(kwargs), list(self._inputs)))
        values = {}
        for name, value in kwargs.items():
            if name not in self._inputs:
                raise ValueError("Invalid Input name (%s) for SignatureDef; expected %s"
                                 % (name, list(self._inputs)))
            values[name] = np.asarray(value)
        it._refuse_reentry("A SignatureRunner call")
        it._ensure_safe()
        handle = it._handle()
        resized = False
        for name, value in values.items():
            tensor = lib.TfLiteSignatureRunnerGetInputTensor(ptr, name.encode("utf-8"))
            if tensor == ffi.NULL:
                raise ValueError("Invalid Input name (%s) for SignatureDef" % name)
            if value.shape != it._dims(lib, tensor):
                dims = ffi.new("int[]", [int(d) for d in value.shape])
                status = lib.TfLiteSignatureRunnerResizeInputTensor(
                    ptr, name.encode("utf-8"), dims, value.ndim)
                _lib.check_status(status, handle, "Resizing signature input %r to %s"
                                  % (name, list(value.shape)))
                resized = True
        if resized or not self._allocated_once or it._is_allocated() is False:
            it._callbacks.take_error()
            status = lib.TfLiteSignatureRunnerAllocateTensors(ptr)
            it._check_call(status, handle, "Allocating signature %r" % self._signature_key)
            self._allocated_once = True
        for name, value in values.items():
            tensor = lib.TfLiteSignatureRunnerGetInputTensor(ptr, name.encode("utf-8"))
            it._write_tensor(tensor, self._inputs[name], value)
        it._callbacks.take_error()
        status = lib.TfLiteSignatureRunnerInvoke(ptr)
        it._check_call(status, handle, "Running signature %r" % self._signature_key)
        result = {}
        for name, index in self._outputs.items():
            tensor = lib.TfLiteSignatureRunnerGetOutputTensor(ptr, name.encode("utf-8"))
            result[name] = it._read_tensor(tensor, index)
        return result

    def get_input_details(self) -> "Dict[str, Dict[str, Any]]":
        """{input name: details dict} (the keys of Interpreter.get_input_details())."""
        it = self._interpreter
        ptr = self._ptr()
        return {name: it._tensor_details(
                    it._lib.TfLiteSignatureRunnerGetInputTensor(ptr, name.encode("utf-8")),
                    index)
                for name, index in self._inputs.items()}

    def get_output_details(self) -> "Dict[str, Dict[str, Any]]":
        """{output name: details dict}."""
        it = self._interpreter
        ptr = self._ptr()
        return {name: it._tensor_details(
                    it._lib.TfLiteSignatureRunnerGetOutputTensor(ptr, name.encode("utf-8")),
                    index)
                for name, index in self._outputs.items()}
