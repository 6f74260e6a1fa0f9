"""Write small .tflite flatbuffers (schema version 3) from a Python description.

The table layouts come from the builder functions generated into the ``tflite``
PyPI package; what this module adds is the model assembly (buffers, tensors,
quantisation, operator codes, one subgraph, a ``serving_default`` signature)
and the data-driven options writer (see ``options.py``).
"""

import importlib
from dataclasses import dataclass, field
from typing import Any, List, Optional, Sequence, Union

import flatbuffers
import numpy as np
from tflite.ActivationFunctionType import ActivationFunctionType
from tflite.BuiltinOperator import BuiltinOperator
from tflite.BuiltinOptions import BuiltinOptions
from tflite.MirrorPadMode import MirrorPadMode
from tflite.Padding import Padding
from tflite.TensorType import TensorType

from .options import ACT, BOOL, FLOAT, INT, INTS, MIRROR, OPTIONS, PADDING, TTYPE

SCHEMA_VERSION = 3
FILE_IDENTIFIER = b"TFL3"
# Operator codes above this are stored in ``builtin_code`` only; the int8
# ``deprecated_builtin_code`` then holds this placeholder.
PLACEHOLDER_FOR_GREATER_OP_CODES = 127
DATA_ALIGNMENT = 16

# numpy dtype name <-> TensorType name
_DTYPE_TO_TTYPE = {
    "float32": "FLOAT32", "float16": "FLOAT16", "float64": "FLOAT64",
    "int8": "INT8", "uint8": "UINT8", "int16": "INT16", "uint16": "UINT16",
    "int32": "INT32", "uint32": "UINT32", "int64": "INT64", "uint64": "UINT64",
    "bool": "BOOL", "complex64": "COMPLEX64",
}
_TTYPE_TO_DTYPE = {v: k for k, v in _DTYPE_TO_TTYPE.items()}


@dataclass
class QuantSpec:
    """Affine quantisation: real = scale * (q - zero_point).

    Scalars mean per-tensor; sequences mean per-channel along
    ``quantized_dimension``.
    """
    scale: Union[float, Sequence[float]]
    zero_point: Union[int, Sequence[int]] = 0
    quantized_dimension: int = 0

    def scales(self):
        return [float(s) for s in np.atleast_1d(np.asarray(self.scale, np.float64))]

    def zero_points(self):
        zp = [int(z) for z in np.atleast_1d(np.asarray(self.zero_point, np.int64))]
        if len(zp) == 1 and len(self.scales()) > 1:
            zp = zp * len(self.scales())
        return zp


@dataclass
class TensorSpec:
    """A tensor of the graph. ``data`` set -> constant (stored in a buffer)."""
    shape: Sequence[int]
    dtype: Any = "float32"
    data: Optional[np.ndarray] = None
    quant: Optional[QuantSpec] = None
    name: Optional[str] = None
    variable: bool = False  # a variable tensor (e.g. an LSTM state)
    shape_signature: Optional[Sequence[int]] = None  # -1 for dims known only at run time

    @property
    def np_dtype(self):
        return np.dtype(self.dtype)

    @property
    def is_const(self):
        return self.data is not None


@dataclass
class OpSpec:
    """One operator node: tensor indices into the graph's tensor list (-1 = absent)."""
    op: str
    inputs: List[int]
    outputs: List[int]
    options: dict = field(default_factory=dict)
    version: int = 1
    intermediates: List[int] = field(default_factory=list)  # operator intermediates
    custom_code: Optional[str] = None        # op "CUSTOM": the custom op's name
    custom_options: Optional[bytes] = None   # op "CUSTOM": its raw options bytes

    @property
    def code_key(self):
        if self.op == "CUSTOM" and not self.custom_code:
            raise ValueError("a CUSTOM op needs custom_code (the custom op's name)")
        return (self.op, int(self.version), self.custom_code if self.op == "CUSTOM" else None)


def tensor_type(dtype):
    """TensorType enum value of a numpy dtype (or a TensorType name)."""
    if isinstance(dtype, str) and dtype.upper() in _TTYPE_TO_DTYPE:
        return getattr(TensorType, dtype.upper())
    name = np.dtype(dtype).name
    if name not in _DTYPE_TO_TTYPE:
        raise ValueError("no TensorType for dtype %r" % (dtype,))
    return getattr(TensorType, _DTYPE_TO_TTYPE[name])


def builtin_code(op):
    if not hasattr(BuiltinOperator, op):
        raise ValueError("unknown builtin operator %r" % (op,))
    return getattr(BuiltinOperator, op)


def _enum(cls, value, what):
    if isinstance(value, int):
        return value
    if not hasattr(cls, str(value)):
        raise ValueError("bad %s value %r" % (what, value))
    return getattr(cls, str(value))


_CONVERT = {
    ACT: lambda v: _enum(ActivationFunctionType, v, "fused_activation_function"),
    PADDING: lambda v: _enum(Padding, v, "padding"),
    MIRROR: lambda v: _enum(MirrorPadMode, v, "mirror pad mode"),
    TTYPE: tensor_type,
    INT: int,
    FLOAT: float,
    BOOL: bool,
}


def _mod(table):
    """The generated module ``tflite.<table>`` (the package re-exports the
    class under the same name, so attribute access would give the class)."""
    return importlib.import_module("tflite." + table)


def _camel(snake):
    return "".join(p[:1].upper() + p[1:] for p in snake.split("_"))


def _end_vector(b, n):
    """EndVector across flatbuffers releases (the count argument was dropped)."""
    if _EV_TAKES_NO_COUNT:
        return b.EndVector()
    return b.EndVector(n)


_EV_TAKES_NO_COUNT = int(str(getattr(flatbuffers, "__version__", "2")).split(".")[0]) >= 2


def _int32_vector(b, values, start_fn=None):
    values = [int(v) for v in values]
    if start_fn is not None:
        start_fn(b, len(values))
    else:
        b.StartVector(4, len(values), 4)
    for v in reversed(values):
        b.PrependInt32(v)
    return _end_vector(b, len(values))


def _write_options(b, op, options):
    """Returns (union type, table offset) of the op's builtin options, or (0, None)."""
    spec = OPTIONS.get(op, "missing")
    if spec == "missing":
        raise ValueError("opgen has no options spec for %s (add it to options.py)" % op)
    options = dict(options or {})
    if spec is None:
        if options:
            raise ValueError("%s takes no options, got %r" % (op, sorted(options)))
        return BuiltinOptions.NONE, None
    table, fields = spec
    unknown = sorted(set(options) - set(fields))
    if unknown:
        raise ValueError("%s: unknown option(s) %r; known: %r" % (op, unknown, sorted(fields)))
    mod = _mod(table)
    # Vectors must be built before the table is started.
    vectors = {}
    for name, value in options.items():
        if fields[name] == INTS:
            start = getattr(mod, "%sStart%sVector" % (table, _camel(name)))
            vectors[name] = _int32_vector(b, value, start)
    getattr(mod, table + "Start")(b)
    for name in sorted(options):  # sorted: deterministic bytes
        kind = fields[name]
        value = vectors[name] if kind == INTS else _CONVERT[kind](options[name])
        getattr(mod, "%sAdd%s" % (table, _camel(name)))(b, value)
    return getattr(BuiltinOptions, table), getattr(mod, table + "End")(b)


def _data_bytes(spec):
    arr = np.asarray(spec.data)
    dt = spec.np_dtype
    if arr.dtype != dt:
        arr = arr.astype(dt)
    if tuple(arr.shape) != tuple(int(d) for d in spec.shape):
        raise ValueError("constant %r: data shape %s != tensor shape %s"
                         % (spec.name, arr.shape, tuple(spec.shape)))
    return np.ascontiguousarray(arr).astype(dt.newbyteorder("<"), copy=False).tobytes()


def _write_buffer(b, data):
    vec = None
    if data:
        b.StartVector(1, len(data), DATA_ALIGNMENT)
        b.head = b.head - len(data)
        b.Bytes[b.head:b.head + len(data)] = data
        vec = _end_vector(b, len(data))
    _mod("Buffer").BufferStart(b)
    if vec is not None:
        _mod("Buffer").BufferAddData(b, vec)
    return _mod("Buffer").BufferEnd(b)


def _write_quant(b, q):
    scales, zps = q.scales(), q.zero_points()
    if len(scales) != len(zps):
        raise ValueError("quant: %d scales vs %d zero points" % (len(scales), len(zps)))
    QP = _mod("QuantizationParameters")
    QP.QuantizationParametersStartScaleVector(b, len(scales))
    for s in reversed(scales):
        b.PrependFloat32(s)
    scale_vec = _end_vector(b, len(scales))
    QP.QuantizationParametersStartZeroPointVector(b, len(zps))
    for z in reversed(zps):
        b.PrependInt64(z)
    zp_vec = _end_vector(b, len(zps))
    QP.QuantizationParametersStart(b)
    QP.QuantizationParametersAddScale(b, scale_vec)
    QP.QuantizationParametersAddZeroPoint(b, zp_vec)
    if q.quantized_dimension:
        QP.QuantizationParametersAddQuantizedDimension(b, int(q.quantized_dimension))
    return QP.QuantizationParametersEnd(b)


def _offset_vector(b, offsets):
    b.StartVector(4, len(offsets), 4)
    for off in reversed(offsets):
        b.PrependUOffsetTRelative(off)
    return _end_vector(b, len(offsets))


def build_graph(tensors, ops, inputs, outputs, signature="serving_default",
                description="opgen"):
    """Serialise a one-subgraph model.

    tensors: list of TensorSpec; ops: list of OpSpec (in execution order);
    inputs / outputs: tensor indices of the subgraph's inputs / outputs.
    Every tensor gets its own buffer (empty for non-constants); buffer 0 is the
    conventional empty sentinel.  Returns the flatbuffer as bytes.
    """
    b = flatbuffers.Builder(1024)
    names = []
    for i, t in enumerate(tensors):
        names.append(t.name or ("const_%d" % i if t.is_const else "t_%d" % i))
    if len(set(names)) != len(names):
        raise ValueError("duplicate tensor names: %r" % names)

    # operator codes, in order of first use
    codes = []
    for o in ops:
        key = o.code_key
        if key not in codes:
            codes.append(key)

    # buffers: 0 = sentinel, then one per tensor
    buffer_offsets = [_write_buffer(b, b"")]
    for t in tensors:
        buffer_offsets.append(_write_buffer(b, _data_bytes(t) if t.is_const else b""))

    # tensors
    tensor_offsets = []
    for i, t in enumerate(tensors):
        name = b.CreateString(names[i])
        shape = _int32_vector(b, t.shape)
        quant = _write_quant(b, t.quant) if t.quant is not None else None
        shape_sig = _int32_vector(b, t.shape_signature) if t.shape_signature is not None else None
        T = _mod("Tensor")
        T.TensorStart(b)
        T.TensorAddShape(b, shape)
        if shape_sig is not None:
            T.TensorAddShapeSignature(b, shape_sig)
        T.TensorAddType(b, tensor_type(t.dtype))
        T.TensorAddBuffer(b, i + 1)
        T.TensorAddName(b, name)
        if quant is not None:
            T.TensorAddQuantization(b, quant)
        if t.variable:
            T.TensorAddIsVariable(b, True)
        tensor_offsets.append(T.TensorEnd(b))

    # operators
    op_offsets = []
    for o in ops:
        opt_type, opt = _write_options(b, o.op, o.options)
        custom = None
        if o.custom_options is not None:
            custom = b.CreateByteVector(bytes(o.custom_options))
        ins = _int32_vector(b, o.inputs)
        outs = _int32_vector(b, o.outputs)
        inter = _int32_vector(b, o.intermediates) if o.intermediates else None
        op_mod = _mod("Operator")
        op_mod.OperatorStart(b)
        op_mod.OperatorAddOpcodeIndex(b, codes.index(o.code_key))
        op_mod.OperatorAddInputs(b, ins)
        op_mod.OperatorAddOutputs(b, outs)
        if inter is not None:
            op_mod.OperatorAddIntermediates(b, inter)
        if opt is not None:
            op_mod.OperatorAddBuiltinOptionsType(b, opt_type)
            op_mod.OperatorAddBuiltinOptions(b, opt)
        if custom is not None:
            op_mod.OperatorAddCustomOptions(b, custom)
        op_offsets.append(op_mod.OperatorEnd(b))

    # subgraph
    SG = _mod("SubGraph")
    sg_tensors = _offset_vector(b, tensor_offsets)
    sg_inputs = _int32_vector(b, inputs)
    sg_outputs = _int32_vector(b, outputs)
    sg_ops = _offset_vector(b, op_offsets)
    sg_name = b.CreateString("main")
    SG.SubGraphStart(b)
    SG.SubGraphAddTensors(b, sg_tensors)
    SG.SubGraphAddInputs(b, sg_inputs)
    SG.SubGraphAddOutputs(b, sg_outputs)
    SG.SubGraphAddOperators(b, sg_ops)
    SG.SubGraphAddName(b, sg_name)
    subgraph = SG.SubGraphEnd(b)

    # operator codes
    code_offsets = []
    for op, version, custom_code in codes:
        code = builtin_code(op)
        custom_name = b.CreateString(custom_code) if custom_code else None
        OC = _mod("OperatorCode")
        OC.OperatorCodeStart(b)
        if custom_name is not None:
            OC.OperatorCodeAddCustomCode(b, custom_name)
        OC.OperatorCodeAddDeprecatedBuiltinCode(b, min(code, PLACEHOLDER_FOR_GREATER_OP_CODES))
        OC.OperatorCodeAddBuiltinCode(b, code)
        OC.OperatorCodeAddVersion(b, version)
        code_offsets.append(OC.OperatorCodeEnd(b))

    # signature
    sig = None
    if signature:
        def tensor_maps(indices):
            maps = []
            for idx in indices:
                n = b.CreateString(names[idx])
                _mod("TensorMap").TensorMapStart(b)
                _mod("TensorMap").TensorMapAddName(b, n)
                _mod("TensorMap").TensorMapAddTensorIndex(b, idx)
                maps.append(_mod("TensorMap").TensorMapEnd(b))
            return _offset_vector(b, maps)
        sig_in = tensor_maps(inputs)
        sig_out = tensor_maps(outputs)
        key = b.CreateString(signature)
        SD = _mod("SignatureDef")
        SD.SignatureDefStart(b)
        SD.SignatureDefAddInputs(b, sig_in)
        SD.SignatureDefAddOutputs(b, sig_out)
        SD.SignatureDefAddSignatureKey(b, key)
        SD.SignatureDefAddSubgraphIndex(b, 0)
        sig = _offset_vector(b, [SD.SignatureDefEnd(b)])

    desc = b.CreateString(description)
    m_codes = _offset_vector(b, code_offsets)
    m_subgraphs = _offset_vector(b, [subgraph])
    m_buffers = _offset_vector(b, buffer_offsets)
    M = _mod("Model")
    M.ModelStart(b)
    M.ModelAddVersion(b, SCHEMA_VERSION)
    M.ModelAddOperatorCodes(b, m_codes)
    M.ModelAddSubgraphs(b, m_subgraphs)
    M.ModelAddDescription(b, desc)
    M.ModelAddBuffers(b, m_buffers)
    if sig is not None:
        M.ModelAddSignatureDefs(b, sig)
    b.Finish(M.ModelEnd(b), file_identifier=FILE_IDENTIFIER)
    return bytes(b.Output())


def build_model(op, inputs, outputs, options=None, version=1, signature="serving_default",
                custom_code=None, custom_options=None):
    """One-op model. ``inputs``: TensorSpec (constant if it has data) or None
    for an absent optional input; ``outputs``: TensorSpec.  Non-constant
    inputs become the subgraph inputs, in order."""
    tensors, in_idx, graph_in = [], [], []
    for i, t in enumerate(inputs):
        if t is None:
            in_idx.append(-1)
            continue
        if t.name is None:
            t = TensorSpec(t.shape, t.dtype, t.data, t.quant,
                           ("const_%d" % i) if t.is_const else ("input_%d" % i))
        in_idx.append(len(tensors))
        if not t.is_const:
            graph_in.append(len(tensors))
        tensors.append(t)
    out_idx = []
    for i, t in enumerate(outputs):
        if t.name is None:
            t = TensorSpec(t.shape, t.dtype, None, t.quant, "output_%d" % i)
        out_idx.append(len(tensors))
        tensors.append(t)
    node = OpSpec(op, in_idx, out_idx, dict(options or {}), version,
                  custom_code=custom_code, custom_options=custom_options)
    return build_graph(tensors, [node], graph_in, out_idx, signature=signature)
