"""Custom operators for ``Interpreter``: from C (``custom_op_registerers``) and from Python (``custom_ops``).

A Python function as the kernel of a custom op::

    import numpy as np
    import tflite_cffi

    def my_op(x, y):                       # numpy arrays in (copies), numpy array(s) out
        return np.maximum(x, y) * 2

    it = tflite_cffi.Interpreter(model_path="m.tflite", custom_ops={"MyOp": my_op})

Declare a parameter named ``options`` to receive the node's ``custom_options`` bytes. Output shapes
come from the model when they are static there (dims of -1 in the output's shape signature make the
output dynamic: its shape is then what the function returns), or from ``shape_fn``, given as
``CustomOp("MyOp", my_op, shape_fn=lambda shapes: [shapes[0]])``: a list of input shapes in, a list of
output shapes out, called at every ``allocate_tensors()`` so the outputs are planned in the arena.

It runs on TensorFlow Lite's operator C API (``TfLiteOperatorCreate``, ``TfLiteOpaque*``) through cffi
callbacks, which take the GIL back while ``invoke()`` runs without it. An exception raised by the
function (or a returned array of the wrong dtype or shape: ValueError) is raised again by ``invoke()``
(or ``allocate_tensors()``), with a note naming the op and node. docs/CUSTOM_OPS.md has the details.
"""

from __future__ import annotations

import ctypes
import inspect
import os
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from . import _lib
from ._lib import ffi
from .interpreter import CallbackState  # defined there: every interpreter has one, custom ops or not

__all__ = ["CustomOp"]

_kTfLiteBuiltinCustom = 32
_kTfLiteDynamic = 4
_REGISTERER_TYPE = "TfLiteStatus(*)(TfLiteInterpreterOptions*)"
_CALLBACK_TYPE = "TfLiteStatus(TfLiteOpaqueContext*, TfLiteOpaqueNode*)"


class CustomOp:
    """A Python implementation of an operator, by the op's name in the model.

    Args:
      name: the custom op's name (the model's ``custom_code``), or a builtin op's name ("ADD") to
        replace this library's kernel for it.
      fn: ``fn(*inputs) -> array or tuple of arrays``; gets ``options=<bytes>`` (the node's
        custom_options) when it has a parameter named ``options`` or ``**kwargs``. Absent optional
        inputs are passed as None.
      shape_fn: optional ``shape_fn(input_shapes) -> output_shapes`` (lists of tuples; one shape may be
        returned bare for a single output), called at ``allocate_tensors()``.
      version: the op version to serve; None serves every version the model uses.
    """

    def __init__(self, name: str, fn: Callable[..., Any], shape_fn: Optional[Callable[..., Any]] = None,
                 version: Optional[int] = None) -> None:
        if not isinstance(name, str) or not name:
            raise ValueError("CustomOp: name must be a non-empty str (the op's name in the model), got %r"
                             % (name,))
        if not callable(fn):
            raise TypeError("CustomOp %r: fn must be callable, got %r" % (name, fn))
        if shape_fn is not None and not callable(shape_fn):
            raise TypeError("CustomOp %r: shape_fn must be callable or None, got %r" % (name, shape_fn))
        if version is not None and (not isinstance(version, int) or isinstance(version, bool) or version < 1):
            raise ValueError("CustomOp %r: version must be an int >= 1 or None, got %r" % (name, version))
        self.name = name
        self.fn = fn
        self.shape_fn = shape_fn
        self.version = version
        self.wants_options = _accepts_options(fn)

    def __repr__(self) -> str:
        return "CustomOp(%r, %r%s)" % (self.name, self.fn,
                                       ", shape_fn=%r" % (self.shape_fn,) if self.shape_fn else "")


def _accepts_options(fn: Callable[..., Any]) -> bool:
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(p.name == "options" or p.kind == inspect.Parameter.VAR_KEYWORD for p in params)


def normalize_custom_ops(custom_ops: Any) -> List[CustomOp]:
    """``{name: fn or CustomOp}`` or an iterable of CustomOp -> list of CustomOp."""
    if custom_ops is None:
        return []
    ops: List[CustomOp] = []
    if isinstance(custom_ops, dict):
        for name, value in custom_ops.items():
            if isinstance(value, CustomOp):
                if value.name != name:
                    raise ValueError("custom_ops: key %r names a CustomOp for %r" % (name, value.name))
                ops.append(value)
            else:
                ops.append(CustomOp(name, value))
    elif isinstance(custom_ops, CustomOp):
        ops.append(custom_ops)
    else:
        try:
            items = list(custom_ops)
        except TypeError:
            raise TypeError("custom_ops must be a dict {name: function} or a list of CustomOp, got %r"
                            % (custom_ops,)) from None
        for value in items:
            if not isinstance(value, CustomOp):
                raise TypeError("custom_ops: %r is not a CustomOp (use a dict {name: function} for plain "
                                "functions)" % (value,))
            ops.append(value)
    return ops


# ------------------------------------------------------------------------------------ registerers


def run_registerers(lib: Any, options: Any, registerers: Sequence[Any], keepalive: List[Any]) -> None:
    """Calls each registerer with the options (see Interpreter's custom_op_registerers)."""
    if isinstance(registerers, (str, bytes)) or callable(registerers):
        registerers = [registerers]
    for item in registerers:
        if isinstance(item, (str, bytes, os.PathLike)):
            status = _call_symbol(os.fsdecode(item), options, keepalive)
        elif callable(item):
            status = item(int(ffi.cast("uintptr_t", options)))
            status = 0 if status is None else status
        else:
            raise TypeError("custom_op_registerers: %r is neither a str (a registerer function's name, or "
                            "'path/to/lib.so:Name') nor a callable" % (item,))
        try:
            status = int(status)
        except (TypeError, ValueError):
            raise TypeError("custom op registerer %r returned %r, not a TfLiteStatus" % (item, status)) from None
        if status != 0:
            raise ValueError("custom op registerer %r failed (%s)"
                             % (item, _lib.STATUS_NAMES.get(status, "status %d" % status)))


def _call_symbol(spec: str, options: Any, keepalive: List[Any]) -> int:
    path, sep, symbol = spec.rpartition(":")
    if sep and path:
        try:
            handle = ctypes.CDLL(path, mode=getattr(ctypes, "RTLD_GLOBAL", 0))
        except OSError as exc:
            raise ValueError("custom_op_registerers: cannot load %r for %r: %s" % (path, symbol, exc)) from None
        where = path
    else:
        symbol = spec
        handle = ctypes.CDLL(None)
        where = "the process's global symbols"
    if not symbol.isidentifier():
        raise ValueError("custom_op_registerers: %r is not a C function name" % (symbol,))
    try:
        fn = getattr(handle, symbol)
    except AttributeError:
        raise ValueError(
            "custom_op_registerers: no function %r in %s. Load the library that defines it first with "
            "ctypes.CDLL(path, mode=ctypes.RTLD_GLOBAL), or name it as 'path/to/lib.so:%s'. A registerer is "
            "`TfLiteStatus %s(TfLiteInterpreterOptions* options)` calling TfLiteInterpreterOptionsAddOperator "
            "(docs/CUSTOM_OPS.md)" % (symbol, where, symbol, symbol)) from None
    keepalive.append(handle)  # never unloaded while the interpreter may call into it
    address = ctypes.cast(fn, ctypes.c_void_p).value
    return int(ffi.cast(_REGISTERER_TYPE, address)(options))


# ----------------------------------------------------------------------------------- Python ops


def _type_table() -> Dict[int, Any]:
    from .interpreter import _NOT_ARRAY_TYPES, _TYPES
    return {k: (np.dtype(v[0]), v[1]) for k, v in _TYPES.items() if k not in _NOT_ARRAY_TYPES}


def _model_uses(lib: Any, model: Any, name: str) -> List[Tuple[int, int]]:
    """(builtin code, version) of every node of the model that `name` could serve."""
    if not (_lib.has("TfLiteCffiModelGetOperator") and _lib.has("TfLiteCffiModelGetSubgraphCount")):
        return []
    found: List[Tuple[int, int]] = []
    info = ffi.new("TfLiteCffiOperatorInfo*")
    for sg in range(lib.TfLiteCffiModelGetSubgraphCount(model)):
        for op in range(max(0, lib.TfLiteCffiModelGetOperatorCount(model, sg))):
            if lib.TfLiteCffiModelGetOperator(model, sg, op, info) != 0:
                continue
            if _lib.to_str(info.name) == name:
                key = (int(info.builtin_code), int(info.version))
                if key not in found:
                    found.append(key)
    return found


def register_python_ops(lib: Any, options: Any, model: Any, ops: Sequence[CustomOp], state: CallbackState,
                        keepalive: List[Any]) -> None:
    """Adds one TfLiteOperator per (op, builtin code, version) to the options; callbacks and operators
    go into `keepalive`, which must outlive the interpreter."""
    types = _type_table()
    for op in ops:
        uses = _model_uses(lib, model, op.name)
        if op.version is not None:
            uses = [u for u in uses if u[1] == op.version] or [(_kTfLiteBuiltinCustom, op.version)]
        elif not uses:
            uses = [(_kTfLiteBuiltinCustom, 1)]   # not in the model: harmless
        kernel = _PyKernel(lib, op, state, types)
        prepare = ffi.callback(_CALLBACK_TYPE, kernel.prepare, error=1)
        invoke = ffi.callback(_CALLBACK_TYPE, kernel.invoke, error=1)
        keepalive += [kernel, prepare, invoke]
        for code, version in uses:
            name = op.name.encode("utf-8") if code == _kTfLiteBuiltinCustom else ffi.NULL
            ptr = lib.TfLiteOperatorCreate(code, name, version, ffi.NULL)
            if ptr == ffi.NULL:
                raise MemoryError("TfLiteOperatorCreate failed for custom op %r" % op.name)
            ptr = ffi.gc(ptr, lib.TfLiteOperatorDelete)
            keepalive.append(ptr)
            lib.TfLiteOperatorSetPrepare(ptr, prepare)
            lib.TfLiteOperatorSetInvoke(ptr, invoke)
            lib.TfLiteInterpreterOptionsAddOperator(options, ptr)


class _PyKernel:
    """prepare / invoke of one CustomOp (the same object serves every node using it)."""

    def __init__(self, lib: Any, op: CustomOp, state: CallbackState, types: Dict[int, Any]) -> None:
        self.lib = lib
        self.op = op
        self.state = state
        self.types = types

    # Both callbacks catch everything: an exception must never unwind into C. It is kept in the
    # state and reported to the context (the interpreter's error message names op and node).
    def _guard(self, what: str, body: Callable[[Any, Any], int], context: Any, node: Any) -> int:
        self.state.depth += 1
        try:
            return int(body(context, node))
        except BaseException as exc:  # noqa: BLE001 - raised again by the interpreter call
            self.state.errors.append(exc)
            if _lib.has("TfLiteCffiOpaqueContextReportErrorString"):
                text = "%s in the Python %s of custom op %r: %s" % (type(exc).__name__, what, self.op.name, exc)
                self.lib.TfLiteCffiOpaqueContextReportErrorString(context, text.encode("utf-8", "replace"))
            return 1
        finally:
            self.state.depth -= 1

    def prepare(self, context: Any, node: Any) -> int:
        return self._guard("prepare", self._prepare, context, node)

    def invoke(self, context: Any, node: Any) -> int:
        return self._guard("function", self._invoke, context, node)

    def _shape(self, tensor: Any) -> Tuple[int, ...]:
        lib = self.lib
        return tuple(int(lib.TfLiteOpaqueTensorDim(tensor, i))
                     for i in range(max(0, lib.TfLiteOpaqueTensorNumDims(tensor))))

    def _inputs(self, context: Any, node: Any) -> List[Any]:
        return [self.lib.TfLiteOpaqueNodeGetInput(context, node, i)
                for i in range(self.lib.TfLiteOpaqueNodeNumberOfInputs(node))]

    def _outputs(self, context: Any, node: Any) -> List[Any]:
        return [self.lib.TfLiteOpaqueNodeGetOutput(context, node, i)
                for i in range(self.lib.TfLiteOpaqueNodeNumberOfOutputs(node))]

    def _resize(self, context: Any, tensor: Any, shape: Sequence[int]) -> int:
        dims = self.lib.TfLiteIntArrayCreate(len(shape))
        if dims == ffi.NULL:
            raise MemoryError("TfLiteIntArrayCreate(%d) failed" % len(shape))
        for i, d in enumerate(shape):
            dims.data[i] = d
        return int(self.lib.TfLiteOpaqueContextResizeTensor(context, tensor, dims))  # takes `dims`

    def _prepare(self, context: Any, node: Any) -> int:
        lib = self.lib
        outputs = self._outputs(context, node)
        if self.op.shape_fn is None:
            # Static outputs keep the model's shape; unknown dims make the output dynamic.
            for t in outputs:
                rank = ffi.new("int32_t*")
                if t == ffi.NULL or lib.TfLiteOpaqueTensorGetNumDimsSignature(t, rank) != 0:
                    continue
                dim = ffi.new("int32_t*")
                for i in range(rank[0]):
                    if lib.TfLiteOpaqueTensorGetDimSignature(t, i, dim) == 0 and dim[0] < 0:
                        lib.TfLiteOpaqueTensorSetAllocationTypeToDynamic(t)
                        break
            return 0
        shapes = [None if t == ffi.NULL else self._shape(t) for t in self._inputs(context, node)]
        result = self.op.shape_fn(shapes)
        wanted = _as_shapes(result, len(outputs), self.op.name)
        for t, shape in zip(outputs, wanted):
            if t == ffi.NULL:
                continue
            status = self._resize(context, t, shape)
            if status != 0:
                return status   # the library's message says why
        return 0

    def _read(self, index: int, tensor: Any) -> Any:
        lib = self.lib
        ttype = int(lib.TfLiteOpaqueTensorType(tensor))
        if ttype not in self.types:
            raise ValueError("custom op %r: input %d ('%s') has a type Python custom ops do not support "
                             "(TfLiteType %d)" % (self.op.name, index,
                                                  _lib.to_str(lib.TfLiteOpaqueTensorName(tensor)), ttype))
        dtype = self.types[ttype][0]
        shape = self._shape(tensor)
        nbytes = int(lib.TfLiteOpaqueTensorByteSize(tensor))
        data = lib.TfLiteOpaqueTensorData(tensor)
        if nbytes == 0 or data == ffi.NULL:
            return np.zeros(shape, dtype=dtype)
        return np.frombuffer(ffi.buffer(data, nbytes), dtype=dtype).reshape(shape).copy()

    def _invoke(self, context: Any, node: Any) -> int:
        lib = self.lib
        inputs = [None if t == ffi.NULL else self._read(i, t) for i, t in enumerate(self._inputs(context, node))]
        kwargs = {}
        if self.op.wants_options:
            data = ffi.new("const void**")
            size = ffi.new("int*")
            options = b""
            if lib.TfLiteOpaqueNodeGetCustomInitialData(node, data, size) == 0 and size[0] > 0:
                options = bytes(ffi.buffer(ffi.cast("const char*", data[0]), size[0]))
            kwargs["options"] = options
        result = self.op.fn(*inputs, **kwargs)
        outputs = self._outputs(context, node)
        values = list(result) if isinstance(result, (tuple, list)) else [result]
        if len(values) != len(outputs):
            raise ValueError("custom op %r returned %d array(s); the model gives it %d output(s)"
                             % (self.op.name, len(values), len(outputs)))
        for i, (t, value) in enumerate(zip(outputs, values)):
            if t == ffi.NULL:
                continue
            name = _lib.to_str(lib.TfLiteOpaqueTensorName(t))
            ttype = int(lib.TfLiteOpaqueTensorType(t))
            if ttype not in self.types:
                raise ValueError("custom op %r: output %d ('%s') has a type Python custom ops do not support "
                                 "(TfLiteType %d)" % (self.op.name, i, name, ttype))
            dtype, type_name = self.types[ttype]
            value = np.asarray(value)
            if value.dtype != dtype:
                raise ValueError("custom op %r returned %s for output %d ('%s'), which is %s: convert it, "
                                 "e.g. .astype(np.%s)" % (self.op.name, value.dtype, i, name, type_name,
                                                          dtype.name))
            shape = self._shape(t)
            if value.shape != shape:
                if int(lib.TfLiteOpaqueTensorGetAllocationType(t)) != _kTfLiteDynamic:
                    raise ValueError(
                        "custom op %r returned shape %s for output %d ('%s'), which has shape %s; give the "
                        "op a shape_fn (CustomOp(name, fn, shape_fn=...)) when the output shape depends on "
                        "the inputs" % (self.op.name, value.shape, i, name, shape))
                status = self._resize(context, t, value.shape)
                if status != 0:
                    return status
            value = np.ascontiguousarray(value)
            if value.nbytes:
                status = lib.TfLiteOpaqueTensorCopyFromBuffer(t, ffi.from_buffer(value), value.nbytes)
                if status != 0:
                    return int(status)
        return 0


def _as_shapes(result: Any, count: int, name: str) -> List[Tuple[int, ...]]:
    def is_shape(x: Any) -> bool:
        return isinstance(x, (tuple, list, np.ndarray)) and all(
            isinstance(d, (int, np.integer)) and not isinstance(d, bool) for d in x)

    if count == 1 and is_shape(result) and not (len(result) and is_shape(result[0])):
        result = [result]
    if not isinstance(result, (tuple, list)) or len(result) != count or not all(is_shape(s) for s in result):
        raise ValueError("custom op %r: shape_fn must return %d shape(s) (sequences of ints), got %r"
                         % (name, count, result))
    shapes = [tuple(int(d) for d in s) for s in result]
    for s in shapes:
        if any(d < 0 for d in s):
            raise ValueError("custom op %r: shape_fn returned a negative dimension: %r" % (name, s))
    return shapes
