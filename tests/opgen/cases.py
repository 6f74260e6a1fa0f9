"""The op cases, as data.  numpy-free, flatbuffers-free: importable anywhere.

A ``Case`` is one op configuration: op name, op version, inputs, options,
tolerance.  Shapes are written with symbolic dims (``"B"``, ``"H*2"``) that
are drawn per shape variant from ``dims`` (``(lo, hi)`` inclusive range,
``[choices]``, or an expression of earlier dims); ``shapes`` says how many
variants (1-3) the case gets.  See gen.py for the seeding.

Inputs (helpers below):
  X(shape..., gen=...)   runtime input (a subgraph input), random data
  W(shape..., gen=...)   constant with random data (weights, bias)
  K(value, dtype)        constant with literal data; strings are dim expressions
  XV(value, dtype)       runtime input with literal data
  None                   absent optional input (operator input index -1)
Data generators: "normal" / ("normal", scale), ("uniform", lo, hi), "pos"
(0.25..4), "nonzero" (|x| in 0.5..2), "intf" (small integer-valued floats),
("int", lo, hi) (integers in [lo, hi)), "bool", "qint" (full integer range).

``out`` lists the output dtypes (default: one output of the dtype of the first
runtime input); output shapes are inferred by the official runtime.
``tol``: float outputs must satisfy |ours - ref| <= tol * max(1, max|ref|);
integer and bool outputs must match exactly (int8 cases: within ``lsb``).
"""

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

DEFAULT_TOL = 1e-5


class E(object):
    """A dim expression used as an option value, e.g. {"num": E("C")}."""

    def __init__(self, expr):
        self.expr = expr

    def __repr__(self):
        return "E(%r)" % self.expr


@dataclass
class Q(object):
    """Quantisation of a tensor.  scale: float, or ("rand", lo, hi, n) for n
    drawn per-channel scales along ``axis``."""
    scale: Any
    zero_point: Any = 0
    axis: int = 0


@dataclass
class In(object):
    shape: Any = None
    dtype: str = "float32"
    gen: Any = "normal"
    const: bool = False
    value: Any = None
    quant: Optional[Q] = None


def X(*shape, **kw):
    return In(shape=list(shape), **kw)


def W(*shape, **kw):
    return In(shape=list(shape), const=True, **kw)


def K(value, dtype="int32", shape=None, quant=None):
    return In(shape=shape, dtype=dtype, const=True, value=value, quant=quant)


def XV(value, dtype="float32", shape=None):
    return In(shape=shape, dtype=dtype, value=value)


@dataclass
class Case(object):
    op: str
    desc: str
    inputs: List[Any]
    options: Dict[str, Any] = field(default_factory=dict)
    version: int = 1
    dims: Dict[str, Any] = field(default_factory=dict)
    shapes: int = 2
    out: Optional[List[str]] = None
    out_quant: Optional[List[Any]] = None
    tol: float = DEFAULT_TOL
    # integer outputs may differ from the reference by up to `lsb` (int8 cases: 1;
    # the official optimised and reference int8 kernels round differently)
    lsb: int = 0
    qemu: bool = False  # run under emulated ARM too (variant 0 only)
    # official resolvers that crash on this case: never run it there
    avoid: List[str] = field(default_factory=list)

    @property
    def name(self):
        return "%s-%s" % (self.op, self.desc)

    def output_dtypes(self):
        if self.out is not None:
            return list(self.out)
        for spec in self.inputs:
            if spec is not None and not spec.const:
                return [spec.dtype]
        raise ValueError("%s: give `out` (no runtime input)" % self.name)

    def output_quants(self):
        n = len(self.output_dtypes())
        return list(self.out_quant) if self.out_quant is not None else [None] * n


ACTS = ["NONE", "RELU", "RELU6", "RELU_N1_TO_1"]
D4 = {"B": (1, 2), "H": (1, 6), "W": (1, 6), "C": (1, 5)}
D3 = {"A": (1, 4), "B": (1, 5), "C": (1, 6)}
NHWC = ("B", "H", "W", "C")

CASES = []


def case(*args, **kw):
    c = Case(*args, **kw)
    CASES.append(c)
    return c


# ---------------------------------------------------------------- binary
def _binary_family(op, rhs_gen="normal", lhs_gen="normal"):
    f = lambda *s: X(*s, gen=lhs_gen)
    g = lambda *s: X(*s, gen=rhs_gen)
    # every fused activation, each with a different broadcasting pattern
    case(op, "same_NONE", [f(*NHWC), g(*NHWC)], {"fused_activation_function": "NONE"},
         dims=D4, shapes=3)
    case(op, "bcast_last_RELU", [f(*NHWC), g("C")], {"fused_activation_function": "RELU"},
         dims=D4, qemu=(op == "ADD"))
    case(op, "bcast_both_RELU6", [f("B", 1, "W", "C"), g(1, "H", 1, "C")],
         {"fused_activation_function": "RELU6"}, dims=D4, qemu=(op == "MUL"))
    case(op, "scalar_const_RELU_N1_TO_1",
         [f(*NHWC), W(gen=rhs_gen)], {"fused_activation_function": "RELU_N1_TO_1"}, dims=D4)
    case(op, "bcast_lhs_1d", [f("C"), g("A", "B", "C")], dims=D3)
    case(op, "const_rhs_rank2", [f("A", "C"), W(1, "C", gen=rhs_gen)], dims=D3, shapes=1)
    case(op, "bcast_5d", [f("A", 1, "B", 1, "C"), g(1, 2, 1, 3, "C")],
         dims={"A": (1, 2), "B": (1, 3), "C": (1, 3)}, shapes=1)


_binary_family("ADD")
_binary_family("SUB")
_binary_family("MUL")
_binary_family("DIV", rhs_gen="nonzero")
case("DIV", "bcast_scalar_input", [X(*NHWC), X(gen="nonzero")], dims=D4, shapes=1)
case("SUB", "rank1", [X("C"), X("C")], dims={"C": (1, 17)})
for _op in ["ADD", "SUB", "MUL"]:
    case(_op, "int32_bcast", [X("A", "B", "C", dtype="int32", gen=("int", -50, 50)),
                              X("C", dtype="int32", gen=("int", -50, 50))], dims=D3)

for _op in ["MAXIMUM", "MINIMUM"]:
    case(_op, "same_ties", [X("A", "B", "C", gen="intf"), X("A", "B", "C", gen="intf")], dims=D3)
    case(_op, "bcast", [X(*NHWC), X(1, "H", 1, "C")], dims=D4)
    case(_op, "const_scalar", [X("A", "B"), K(0.25, "float32")], dims=D3, shapes=1)
    case(_op, "int32", [X("A", "B", dtype="int32", gen=("int", -9, 9)),
                        X("B", dtype="int32", gen=("int", -9, 9))], dims=D3, shapes=1)
case("SQUARED_DIFFERENCE", "same", [X(*NHWC), X(*NHWC)], dims=D4)
case("SQUARED_DIFFERENCE", "bcast", [X("A", 1, "C"), X("B", 1)], dims=D3)
case("POW", "same", [X("A", "B", "C", gen="pos"), X("A", "B", "C", gen=("uniform", -2, 2))],
     dims=D3)
case("POW", "bcast_const_exp", [X(*NHWC, gen="pos"), W("C", gen=("uniform", -2, 3))], dims=D4)
case("POW", "int32", [X("A", "B", dtype="int32", gen=("int", -4, 5)),
                      X("A", "B", dtype="int32", gen=("int", 0, 4))], dims=D3, shapes=1)

# ----------------------------------------------------------------- unary
_UNARY = [
    ("ABS", "normal"), ("EXP", "normal"), ("LOG", "pos"), ("NEG", "normal"),
    ("SQRT", "pos"), ("RSQRT", "pos"), ("SQUARE", "normal"),
    ("FLOOR", ("normal", 3)), ("CEIL", ("normal", 3)), ("TANH", ("normal", 2)),
    ("LOGISTIC", ("normal", 3)), ("RELU", ("normal", 3)), ("RELU6", ("normal", 5)),
    ("RELU_N1_TO_1", ("normal", 2)), ("HARD_SWISH", ("normal", 4)),
]
for _op, _gen in _UNARY:
    case(_op, "4d", [X(*NHWC, gen=_gen)], dims=D4, qemu=_op in ("LOGISTIC", "TANH"))
    case(_op, "1d", [X("N", gen=_gen)], dims={"N": (1, 40)}, shapes=1)
case("ABS", "int32", [X("A", "B", dtype="int32", gen=("int", -100, 100))], dims=D3, shapes=1)
case("NEG", "int32", [X("A", "B", dtype="int32", gen=("int", -100, 100))], dims=D3, shapes=1)
case("LEAKY_RELU", "alpha_0.2", [X(*NHWC, gen=("normal", 2))], {"alpha": 0.2}, dims=D4)
case("LEAKY_RELU", "alpha_1.5", [X("A", "B", gen=("normal", 2))], {"alpha": 1.5}, dims=D3,
     shapes=1)
case("PRELU", "alpha_hwc", [X(*NHWC), W(1, 1, "C", gen=("normal", 0.5))], dims=D4)
case("PRELU", "alpha_c", [X(*NHWC), W("C", gen=("normal", 0.5))], dims=D4)
case("PRELU", "alpha_full", [X("A", "B", "C"), W("A", "B", "C", gen=("normal", 0.5))],
     dims=D3, shapes=1)
case("GELU", "exact", [X(*NHWC, gen=("normal", 3))], {"approximate": False}, dims=D4)
case("GELU", "approximate", [X(*NHWC, gen=("normal", 3))], {"approximate": True}, dims=D4)

# --------------------------------------------------------- normalisation
case("SOFTMAX", "2d_beta1", [X("B", "C", gen=("normal", 3))], {"beta": 1.0},
     dims={"B": (1, 4), "C": (1, 20)}, qemu=True)
case("SOFTMAX", "4d_beta0.5", [X(*NHWC, gen=("normal", 3))], {"beta": 0.5}, dims=D4)
case("SOFTMAX", "3d_beta2", [X("A", "B", "C", gen=("normal", 3))], {"beta": 2.0}, dims=D3,
     shapes=1)
case("LOG_SOFTMAX", "2d", [X("B", "C", gen=("normal", 3))], dims={"B": (1, 4), "C": (1, 20)})
case("LOG_SOFTMAX", "4d", [X(*NHWC, gen=("normal", 3))], dims=D4)
case("L2_NORMALIZATION", "2d", [X("B", "C")], dims={"B": (1, 4), "C": (1, 20)})
case("L2_NORMALIZATION", "4d", [X(*NHWC)], dims=D4)

# ------------------------------------------------ comparison and logical
for _op in ["EQUAL", "NOT_EQUAL", "GREATER", "GREATER_EQUAL", "LESS", "LESS_EQUAL"]:
    case(_op, "same", [X("A", "B", "C", gen="intf"), X("A", "B", "C", gen="intf")],
         dims=D3, out=["bool"], qemu=(_op == "GREATER"))
    case(_op, "bcast", [X(*NHWC, gen="intf"), X(1, "W", 1, gen="intf")], dims=D4, out=["bool"])
    case(_op, "int32", [X("A", "B", dtype="int32", gen=("int", -3, 4)),
                        X("B", dtype="int32", gen=("int", -3, 4))],
         dims=D3, out=["bool"], shapes=1)
for _op in ["LOGICAL_AND", "LOGICAL_OR"]:
    case(_op, "same", [X("A", "B", "C", dtype="bool", gen="bool"),
                       X("A", "B", "C", dtype="bool", gen="bool")], dims=D3)
    case(_op, "bcast", [X("A", "B", "C", dtype="bool", gen="bool"),
                        X("A", 1, "C", dtype="bool", gen="bool")], dims=D3)
case("LOGICAL_NOT", "3d", [X("A", "B", "C", dtype="bool", gen="bool")], dims=D3)
case("SELECT", "same", [X("A", "B", "C", dtype="bool", gen="bool"), X("A", "B", "C"),
                        X("A", "B", "C")], dims=D3, out=["float32"])
case("SELECT", "cond_rank1", [X("A", dtype="bool", gen="bool"), X("A", "B", "C"),
                              X("A", "B", "C")], dims=D3, out=["float32"])
case("SELECT", "int32", [X("A", "B", dtype="bool", gen="bool"),
                         X("A", "B", dtype="int32", gen=("int", -9, 9)),
                         X("A", "B", dtype="int32", gen=("int", -9, 9))],
     dims=D3, out=["int32"], shapes=1)
case("SELECT_V2", "same", [X("A", "B", "C", dtype="bool", gen="bool"), X("A", "B", "C"),
                           X("A", "B", "C")], dims=D3, out=["float32"])
case("SELECT_V2", "bcast_cond", [X(1, "B", 1, dtype="bool", gen="bool"), X("A", "B", "C"),
                                 X("A", "B", "C")], dims=D3, out=["float32"], qemu=True)
case("SELECT_V2", "bcast_all", [X("A", 1, 1, dtype="bool", gen="bool"), X(1, "B", "C"),
                                X("C")], dims=D3, out=["float32"])
case("SELECT_V2", "scalar_values", [X("A", "B", dtype="bool", gen="bool"), W(), W()],
     dims=D3, out=["float32"], shapes=1)

_CASTS = [("float32", "int32", ("normal", 5)), ("int32", "float32", ("int", -1000, 1000)),
          ("float32", "bool", "intf"), ("bool", "float32", "bool"),
          ("int32", "bool", ("int", -2, 3)), ("bool", "int32", "bool"),
          ("int32", "int64", ("int", -1000, 1000)), ("int64", "float32", ("int", -1000, 1000))]
for _src, _dst, _gen in _CASTS:
    case("CAST", "%s_to_%s" % (_src, _dst), [X("A", "B", "C", dtype=_src, gen=_gen)],
         {"in_data_type": _src, "out_data_type": _dst}, dims=D3, out=[_dst],
         qemu=(_src, _dst) == ("float32", "int32"))

# ------------------------------------------------------------ convolution
def _conv(desc, kh, kwid, opts, bias=True, hw_min=1, **kw):
    dims = {"B": (1, 2), "H": (hw_min, hw_min + 5), "W": (hw_min, hw_min + 5),
            "C": (1, 4), "O": (1, 5)}
    ins = [X(*NHWC), W("O", kh, kwid, "C", gen=("normal", 0.5))]
    if bias:
        ins.append(W("O", gen=("normal", 0.5)))
    case("CONV_2D", desc, ins, opts, dims=dims, **kw)


_conv("1x1_valid_bias", 1, 1, {"padding": "VALID", "stride_w": 1, "stride_h": 1})
_conv("3x3_same_relu", 3, 3, {"padding": "SAME", "stride_w": 1, "stride_h": 1,
                              "fused_activation_function": "RELU"}, shapes=3)
# CONV_2D without bias: the official float kernel requires one (2 inputs fail
# Prepare with "has_bias was not true", -1 fails as a missing tensor).
_conv("3x3_valid", 3, 3, {"padding": "VALID", "stride_w": 1, "stride_h": 1}, hw_min=3)
_conv("3x3_same_s2_relu6", 3, 3, {"padding": "SAME", "stride_w": 2, "stride_h": 2,
                                  "fused_activation_function": "RELU6"}, qemu=True)
_conv("3x3_valid_s2", 3, 3, {"padding": "VALID", "stride_w": 2, "stride_h": 2}, hw_min=3)
_conv("3x3_same_dil2", 3, 3, {"padding": "SAME", "stride_w": 1, "stride_h": 1,
                              "dilation_w_factor": 2, "dilation_h_factor": 2})
_conv("3x3_valid_dil2", 3, 3, {"padding": "VALID", "stride_w": 1, "stride_h": 1,
                               "dilation_w_factor": 2, "dilation_h_factor": 2}, hw_min=5)
_conv("5x3_same_sw2_n1to1", 5, 3, {"padding": "SAME", "stride_w": 2, "stride_h": 1,
                                   "fused_activation_function": "RELU_N1_TO_1"})
# Vertical dilation only: each filter row one run in the input (the row-run table)
_conv("3x3_same_dilh2_relu", 3, 3, {"padding": "SAME", "stride_w": 1, "stride_h": 1,
                                    "dilation_w_factor": 1, "dilation_h_factor": 2,
                                    "fused_activation_function": "RELU"}, hw_min=5)
_conv("3x3_valid_sh2_dilh2", 3, 3, {"padding": "VALID", "stride_w": 1, "stride_h": 2,
                                    "dilation_w_factor": 1, "dilation_h_factor": 2}, hw_min=5)
_conv("2x2_valid_sh2_dilw2", 2, 2, {"padding": "VALID", "stride_w": 1, "stride_h": 2,
                                    "dilation_w_factor": 2, "dilation_h_factor": 1}, hw_min=3)
# one output pixel of a 1x1 filter (a classifier on a 1x1 image)
case("CONV_2D", "1x1_one_pixel_s2", [X(1, "H", "H", "C"), W("O", 1, 1, "C", gen=("normal", 0.5)),
                                     W("O", gen=("normal", 0.5))],
     {"padding": "VALID", "stride_w": 2, "stride_h": 2}, dims={"H": [2], "C": [57], "O": (5, 21)},
     shapes=1)


def _dw(desc, m, kh, kwid, opts, bias=True, hw_min=1, c=(1, 5), **kw):
    dims = {"B": (1, 2), "H": (hw_min, hw_min + 5), "W": (hw_min, hw_min + 5), "C": c}
    # no bias = 2 inputs (an absent -1 bias is rejected by the official runtime)
    ins = [X(*NHWC), W(1, kh, kwid, "C*%d" % m, gen=("normal", 0.5))]
    if bias:
        ins.append(W("C*%d" % m, gen=("normal", 0.5)))
    opts = dict(opts, depth_multiplier=m)
    case("DEPTHWISE_CONV_2D", desc, ins, opts, dims=dims, **kw)


_dw("m1_3x3_same_relu6", 1, 3, 3, {"padding": "SAME", "stride_w": 1, "stride_h": 1,
                                   "fused_activation_function": "RELU6"}, shapes=3)
_dw("m2_3x3_valid", 2, 3, 3, {"padding": "VALID", "stride_w": 1, "stride_h": 1}, hw_min=3,
    qemu=True)
_dw("m1_3x3_same_s2", 1, 3, 3, {"padding": "SAME", "stride_w": 2, "stride_h": 2})
# the official optimised depthwise kernel segfaults without a bias; ref is fine
_dw("m2_3x3_same_s2_nobias", 2, 3, 3, {"padding": "SAME", "stride_w": 2, "stride_h": 2},
    bias=False, avoid=["BUILTIN_WITHOUT_DEFAULT_DELEGATES", "BUILTIN", "AUTO"])
_dw("m1_3x3_same_dil2", 1, 3, 3, {"padding": "SAME", "stride_w": 1, "stride_h": 1,
                                  "dilation_w_factor": 2, "dilation_h_factor": 2}, version=2)
_dw("m3_2x2_valid_s2_relu", 3, 2, 2, {"padding": "VALID", "stride_w": 2, "stride_h": 2,
                                      "fused_activation_function": "RELU"}, hw_min=2)
# Whole 8-channel tiles (in fours, then one by one, then a partial one) on the general path:
# a 1xK filter along the row (keyword-spotting models), 5x5 with a stride, dilated 3x3 (edge
# pixels whose first valid tap is not the filter's first), and 9x9 (more taps than a pixel's
# tap list holds).
_dw("m1_1x3_same_wide", 1, 1, 3, {"padding": "SAME", "stride_w": 1, "stride_h": 1,
                                  "fused_activation_function": "RELU"}, hw_min=4, c=(30, 44))
_dw("m1_5x5_valid_s2_wide", 1, 5, 5, {"padding": "VALID", "stride_w": 2, "stride_h": 2}, hw_min=5,
    c=(8, 20))
_dw("m1_3x3_same_dil2_wide", 1, 3, 3, {"padding": "SAME", "stride_w": 1, "stride_h": 1,
                                       "dilation_w_factor": 2, "dilation_h_factor": 2}, version=2,
    c=(9, 40))
_dw("m1_9x9_same_wide", 1, 9, 9, {"padding": "SAME", "stride_w": 1, "stride_h": 1}, hw_min=3,
    c=(8, 17))


def _tconv(desc, kh, kwid, stride, padding, bias=True, **kw):
    if padding == "SAME":
        oh, ow = "H*%d" % stride, "W*%d" % stride
    else:
        oh, ow = "(H-1)*%d+%d" % (stride, kh), "(W-1)*%d+%d" % (stride, kwid)
    dims = {"B": (1, 2), "H": (1, 4), "W": (1, 4), "C": (1, 4), "O": (1, 4)}
    ins = [K(["B", oh, ow, "O"]), W("O", kh, kwid, "C", gen=("normal", 0.5)), X(*NHWC)]
    if bias:
        ins.append(W("O", gen=("normal", 0.5)))
    opts = {"padding": padding, "stride_w": stride, "stride_h": stride}
    case("TRANSPOSE_CONV", desc, ins, opts, dims=dims, version=3 if bias else 1, **kw)


_tconv("3x3_same_s2_bias", 3, 3, 2, "SAME", qemu=True)
_tconv("3x3_valid_s2_bias", 3, 3, 2, "VALID")
_tconv("2x2_valid_s2_nobias", 2, 2, 2, "VALID", bias=False)
_tconv("3x3_same_s1_bias", 3, 3, 1, "SAME")
_tconv("4x4_same_s2_nobias", 4, 4, 2, "SAME", bias=False)

_FC = {"B": (1, 3), "T": (1, 4), "I": (1, 12), "O": (1, 8)}
case("FULLY_CONNECTED", "2d_bias_relu", [X("B", "I"), W("O", "I", gen=("normal", 0.5)),
                                         W("O")], {"fused_activation_function": "RELU"},
     dims=_FC, shapes=3, qemu=True)
case("FULLY_CONNECTED", "2d_nobias", [X("B", "I"), W("O", "I", gen=("normal", 0.5)), None],
     dims=_FC)
case("FULLY_CONNECTED", "3d_flatten", [X("B", "T", "I"), W("O", "I", gen=("normal", 0.5)),
                                       W("O")], {"keep_num_dims": False}, dims=_FC)
case("FULLY_CONNECTED", "3d_keep_dims", [X("B", "T", "I"), W("O", "I", gen=("normal", 0.5)),
                                         W("O")], {"keep_num_dims": True}, dims=_FC, version=5)
case("FULLY_CONNECTED", "4d_to_2d_relu6", [X("B", "T", 2, "I"),
                                           W("O", "T*2*I", gen=("normal", 0.5)), W("O")],
     {"fused_activation_function": "RELU6"}, dims=_FC)
case("FULLY_CONNECTED", "runtime_weights", [X("B", "I"), X("O", "I"), None], dims=_FC,
     shapes=1)
# A batch of one with 1 MiB of weights or more takes dot products with the
# weights as stored (gemm::DotRows): K = 1065 = 33 * 32 + 8 + 1 reaches every
# step of its loops (250 x 1065 floats: 1.07 MB)
case("FULLY_CONNECTED", "batch1_dot_relu6", [X(1, "I"), W("O", "I", gen=("normal", 0.05)), W("O")],
     {"fused_activation_function": "RELU6"}, dims={"I": [1065], "O": [250]}, shapes=1, qemu=True)
case("FULLY_CONNECTED", "batch1_runtime_weights", [X(1, "I"), X("O", "I"), None],
     dims={"I": [57], "O": (5, 9)}, shapes=1)

_BMM = {"B": (1, 3), "M": (1, 5), "K": (1, 6), "N": (1, 5), "C": (1, 3)}
case("BATCH_MATMUL", "3d", [X("B", "M", "K"), X("B", "K", "N")], dims=_BMM, qemu=True)
case("BATCH_MATMUL", "adj_x", [X("B", "K", "M"), X("B", "K", "N")], {"adj_x": True},
     dims=_BMM)
case("BATCH_MATMUL", "adj_y", [X("B", "M", "K"), X("B", "N", "K")], {"adj_y": True},
     dims=_BMM)
case("BATCH_MATMUL", "adj_xy", [X("B", "K", "M"), X("B", "N", "K")],
     {"adj_x": True, "adj_y": True}, dims=_BMM, shapes=1)
case("BATCH_MATMUL", "bcast_batch", [X("B", 1, "M", "K"), X(1, "C", "K", "N")], dims=_BMM)
case("BATCH_MATMUL", "bcast_rank", [X("B", "M", "K"), X("K", "N")], dims=_BMM)
case("BATCH_MATMUL", "const_rhs", [X("B", "M", "K"), W("K", "N", gen=("normal", 0.5))],
     dims=_BMM)

for _op in ["AVERAGE_POOL_2D", "MAX_POOL_2D"]:
    _P = {"B": (1, 2), "H": (2, 7), "W": (2, 7), "C": (1, 4)}
    case(_op, "2x2_valid_s2", [X(*NHWC)], {"padding": "VALID", "stride_w": 2, "stride_h": 2,
                                           "filter_width": 2, "filter_height": 2},
         dims=_P, qemu=(_op == "AVERAGE_POOL_2D"))
    case(_op, "3x3_same_s1", [X(*NHWC)], {"padding": "SAME", "stride_w": 1, "stride_h": 1,
                                          "filter_width": 3, "filter_height": 3}, dims=_P)
    case(_op, "3x3_same_s2_relu6", [X(*NHWC, gen=("normal", 4))],
         {"padding": "SAME", "stride_w": 2, "stride_h": 2, "filter_width": 3,
          "filter_height": 3, "fused_activation_function": "RELU6"}, dims=_P)
    case(_op, "3x2_valid_sw2", [X(*NHWC)], {"padding": "VALID", "stride_w": 2, "stride_h": 1,
                                            "filter_width": 2, "filter_height": 3},
         dims=dict(_P, H=(3, 7)))
    case(_op, "global_valid", [X(*NHWC)], {"padding": "VALID", "stride_w": 1, "stride_h": 1,
                                           "filter_width": E("W"), "filter_height": E("H")},
         dims=_P, shapes=1)

# ------------------------------------------------------------- reductions
for _op in ["MEAN", "SUM", "REDUCE_MAX", "REDUCE_MIN", "REDUCE_PROD"]:
    _g = ("uniform", 0.6, 1.5) if _op == "REDUCE_PROD" else "normal"
    case(_op, "hw_keep", [X(*NHWC, gen=_g), K([1, 2])], {"keep_dims": True}, dims=D4,
         qemu=(_op == "MEAN"))
    case(_op, "last_neg", [X("A", "B", "C", gen=_g), K([-1])], {"keep_dims": False}, dims=D3)
    case(_op, "axes_0_2", [X("A", "B", "C", gen=_g), K([0, 2])], {"keep_dims": False},
         dims=D3)
    case(_op, "scalar_axis", [X("A", "B", "C", gen=_g), K(1)], {"keep_dims": True}, dims=D3,
         shapes=1)
    case(_op, "all_axes", [X("A", "B", gen=_g), K([0, 1])], {"keep_dims": False}, dims=D3,
         shapes=1)
case("SUM", "int32", [X("A", "B", "C", dtype="int32", gen=("int", -50, 50)), K([1])],
     {"keep_dims": False}, dims=D3, shapes=1)
case("REDUCE_MAX", "int32", [X("A", "B", "C", dtype="int32", gen=("int", -50, 50)), K([0, 2])],
     {"keep_dims": True}, dims=D3, shapes=1)

for _op in ["ARG_MAX", "ARG_MIN"]:
    case(_op, "last_i32", [X("A", "B", "C"), K([2])], {"output_type": "INT32"}, dims=D3,
         out=["int32"])
    case(_op, "axis0_i64", [X("A", "B", "C"), K(0)], {"output_type": "INT64"}, dims=D3,
         out=["int64"])
    case(_op, "neg_axis_4d", [X(*NHWC), K([-3])], {"output_type": "INT32"}, dims=D4,
         out=["int32"])
    case(_op, "int32_input", [X("A", "B", dtype="int32", gen=("int", -1000, 1000)), K([1])],
         {"output_type": "INT32"}, dims=D3, out=["int32"], shapes=1)

# ---------------------------------------------------------- data movement
case("RESHAPE", "const_shape", [X(*NHWC), K(["B", -1])], dims=D4, qemu=True)
case("RESHAPE", "new_shape_option", [X("A", "B", "C")], {"new_shape": [E("A*B"), E("C")]},
     dims=D3)
case("RESHAPE", "shape_and_option", [X("A", "B", "C"), K(["C", "A", "B"])],
     {"new_shape": [E("C"), E("A"), E("B")]}, dims=D3, shapes=1)
case("RESHAPE", "runtime_shape", [X("A", "B", "C"), XV(["C*B", "A"], "int32")], dims=D3,
     shapes=1)
case("RESHAPE", "to_scalar", [X(1, 1), K([], shape=[0])], dims={}, shapes=1)
case("SQUEEZE", "dims_1", [X("A", 1, "C")], {"squeeze_dims": [1]}, dims=D3)
case("SQUEEZE", "all_ones", [X(1, "B", 1, "C", 1)], dims={"B": (2, 4), "C": (2, 4)})
case("SQUEEZE", "neg_dim", [X("A", "B", 1)], {"squeeze_dims": [-1]}, dims=D3, shapes=1)
case("EXPAND_DIMS", "axis0", [X("A", "B"), K(0)], dims=D3)
case("EXPAND_DIMS", "axis_neg1", [X("A", "B"), K([-1])], dims=D3)
case("EXPAND_DIMS", "axis1_int32", [X("A", "B", dtype="int32", gen="int"), K([1])], dims=D3,
     shapes=1)
case("CONCATENATION", "axis3_3in", [X("B", "H", "W", "C"), X("B", "H", "W", "D"),
                                    X("B", "H", "W", 1)], {"axis": 3},
     dims=dict(D4, D=(1, 4)), qemu=True)
case("CONCATENATION", "axis0", [X("A", "C"), X("B", "C")], {"axis": 0}, dims=D3)
# A fused activation on CONCATENATION is rejected by the official runtime
# (its Prepare requires NONE), so no case has one.
case("CONCATENATION", "axis_neg1", [X("A", "B", "C"), X("A", "B", 2)],
     {"axis": -1, "fused_activation_function": "NONE"}, dims=D3)
case("CONCATENATION", "axis1_const", [X("A", "B"), W("A", 3)], {"axis": 1}, dims=D3)
case("CONCATENATION", "int32_axis1", [X("A", "B", dtype="int32", gen="int"),
                                      X("A", "C", dtype="int32", gen="int")], {"axis": 1},
     dims=D3, shapes=1)
case("PACK", "axis0_3in", [X("A", "B"), X("A", "B"), X("A", "B")],
     {"values_count": 3, "axis": 0}, dims=D3)
case("PACK", "axis_last", [X("A", "B"), X("A", "B")], {"values_count": 2, "axis": 2},
     dims=D3)
case("PACK", "axis_neg2", [X("A", "B", "C"), X("A", "B", "C")],
     {"values_count": 2, "axis": -2}, dims=D3, shapes=1)
case("UNPACK", "axis0", [X("A", "B", "C")], {"num": 3, "axis": 0},
     dims={"A": 3, "B": (1, 4), "C": (1, 4)}, out=["float32"] * 3)
case("UNPACK", "axis1", [X("A", "B", "C")], {"num": 2, "axis": 1},
     dims={"A": (1, 3), "B": 2, "C": (1, 4)}, out=["float32"] * 2)
case("UNPACK", "axis_neg1", [X("A", "B", 4)], {"num": 4, "axis": -1}, dims=D3,
     out=["float32"] * 4, shapes=1)
case("SPLIT", "axis_last_2", [K(3), X("B", "H", "W", "C2")], {"num_splits": 2},
     dims=dict(D4, C2="C*2"), out=["float32"] * 2)
case("SPLIT", "axis0_3", [K(0), X("A3", "B")], {"num_splits": 3},
     dims=dict(D3, A3="A*3"), out=["float32"] * 3)
case("SPLIT", "axis_neg2_2", [K(-2), X("A", "B2", "C")], {"num_splits": 2},
     dims=dict(D3, B2="B*2"), out=["float32"] * 2, shapes=1)
case("SPLIT_V", "3way_inferred", [X("A", "N", "C"), K([1, "N-3", -1]), K(1)],
     {"num_splits": 3}, dims=dict(D3, N=(4, 8)), out=["float32"] * 3)
case("SPLIT_V", "2way_last", [X("A", "N"), K([2, "N-2"]), K(-1)], {"num_splits": 2},
     dims=dict(D3, N=(3, 8)), out=["float32"] * 2)
case("SLICE", "4d", [X(*NHWC), K([0, "H//2", "W//3", 0]), K(["B", "H-H//2", 1, "C"])],
     dims=D4)
case("SLICE", "size_minus1", [X("A", "B", "C"), K([0, "B//2", 1]), K([-1, -1, "C-1"])],
     dims=dict(D3, C=(2, 6)))
case("SLICE", "int32_2d", [X("A", "B", dtype="int32", gen="int"), K(["A//2", 0]),
                           K([1, "B"])], dims=D3, shapes=1)

_SS = {"A": (2, 5), "B": (2, 6), "C": (3, 6)}
def _ss(desc, begin, end, strides, opts=None, x=("A", "B", "C"), **kw):
    opts = dict({"begin_mask": 0, "end_mask": 0, "ellipsis_mask": 0,
                 "new_axis_mask": 0, "shrink_axis_mask": 0}, **(opts or {}))
    case("STRIDED_SLICE", desc, [X(*x), K(begin), K(end), K(strides)], opts,
         dims=kw.pop("dims", _SS), **kw)


_ss("basic", [0, 1, 1], ["A", "B", "C-1"], [1, 1, 1], qemu=True)
_ss("stride2", [0, 0, 1], ["A", "B", "C"], [2, 1, 2])
_ss("neg_stride", [-1, 0, -1], [0, "B", 0], [-1, 1, -2], {"end_mask": 1 | 4})
_ss("neg_stride_full", [0, 0, 0], [0, 0, 0], [-1, -1, -1], {"begin_mask": 7, "end_mask": 7})
_ss("masks", [1, 1, 1], [0, 0, "C-1"], [1, 1, 1], {"begin_mask": 2, "end_mask": 3})
_ss("shrink", [1, 0, 2], [2, 0, 3], [1, 1, 1], {"end_mask": 2, "shrink_axis_mask": 5})
_ss("ellipsis", [0, 1], [0, "C"], [1, 2], {"ellipsis_mask": 1}, x=("A", "B", "W", "C"),
    dims=dict(_SS, W=(1, 3)), version=2)
_ss("new_axis", [0, 0, 1], [0, 0, "C"], [1, 1, 1], {"new_axis_mask": 1, "begin_mask": 2,
                                                      "end_mask": 2})
_ss("neg_begin_end", [-2, 0, -3], [-1, "B", -1], [1, 1, 1])
_ss("offset", [0, 1, 0], [1, 1, 2], [1, 1, 1], {"offset": True}, version=8, shapes=1)
# Contiguous runs copied as rows (dm::CopyRows): 1 to 112 bytes, the rows also walked backwards.
_ss("rows", [0, 0, 2], ["A", "B", "C"], [1, 1, 1], dims=dict(_SS, B=(3, 9), C=(6, 30)))
_ss("rows_reversed", [0, -1, 0], ["A", 0, "C"], [1, -1, 1], {"end_mask": 2}, dims=dict(_SS, C=(1, 5)))

_G = {"A": (1, 5), "B": (1, 5), "C": (1, 4), "K": (1, 5)}
case("GATHER", "axis0", [X("A", "B"), X("K", dtype="int32", gen=("int", 0, "A"))],
     {"axis": 0}, dims=_G, qemu=True)
case("GATHER", "axis1_2d_idx", [X("A", "B", "C"), X("K", 2, dtype="int32", gen=("int", 0, "B"))],
     {"axis": 1}, dims=_G)
case("GATHER", "axis_neg1_const_idx", [X("A", "B", "C"), W("K", dtype="int32", gen=("int", 0, "C"))],
     {"axis": -1}, dims=_G)
case("GATHER", "batch_dims1", [X("A", "B", "C"), X("A", "K", dtype="int32", gen=("int", 0, "B"))],
     {"axis": 1, "batch_dims": 1}, dims=_G, version=5)
case("GATHER", "int64_idx", [X("A", "B"), X("K", dtype="int64", gen=("int", 0, "A"))],
     {"axis": 0}, dims=_G, shapes=1)
case("GATHER", "int32_params", [X("A", "B", dtype="int32", gen="int"),
                                X("K", dtype="int32", gen=("int", 0, "A"))],
     {"axis": 0}, dims=_G, shapes=1)
case("GATHER_ND", "idx_pairs", [X("A", "B", "C"), X("K", 2, dtype="int32", gen=("int", 0, "min(A,B)"))],
     dims=_G)
case("GATHER_ND", "idx_single", [X("A", "B"), W("K", 1, dtype="int32", gen=("int", 0, "A"))],
     dims=_G)
case("GATHER_ND", "idx_full", [X("A", "B", "C"), X(2, "K", 3, dtype="int32", gen=("int", 0, "min(A,B,C)"))],
     dims=_G, shapes=1)
case("TRANSPOSE", "nhwc_to_nchw", [X(*NHWC), K([0, 3, 1, 2])], dims=D4, qemu=True)
case("TRANSPOSE", "3d_perm", [X("A", "B", "C"), K([2, 0, 1])], dims=D3)
case("TRANSPOSE", "2d", [X("A", "B"), K([1, 0])], dims=D3)
case("TRANSPOSE", "5d", [X("A", "B", 2, "C", 1), K([4, 2, 0, 3, 1])],
     dims={"A": (1, 3), "B": (1, 3), "C": (1, 3)}, version=4, shapes=1)
case("TRANSPOSE", "int32_3d", [X("A", "B", "C", dtype="int32", gen="int"), K([1, 2, 0])],
     dims=D3, shapes=1)
case("TILE", "3d", [X("A", "B", "C"), K([1, 2, 3])], dims=D3)
case("TILE", "4d", [X(*NHWC), K([2, 1, 2, 1])], dims=dict(D4, H=(1, 3), W=(1, 3)))
case("TILE", "int32_2d", [X("A", "B", dtype="int32", gen="int"), K([3, 2])], dims=D3, shapes=1)
case("PAD", "4d_hw", [X(*NHWC), K([[0, 0], [1, 2], [2, 1], [0, 0]])], dims=D4, qemu=True)
case("PAD", "2d", [X("A", "B"), K([[1, 0], [0, 3]])], dims=D3)
case("PAD", "3d_all", [X("A", "B", "C"), K([[1, 1], [2, 0], [0, 2]])], dims=D3, shapes=1)
case("PADV2", "4d_const_value", [X(*NHWC), K([[0, 0], [1, 1], [0, 2], [1, 0]]),
                                 K(0.5, "float32")], dims=D4)
case("PADV2", "2d_value_1elem", [X("A", "B"), K([[2, 1], [1, 2]]), K([-1.5], "float32")],
     dims=D3)
for _mode, _lo in [("REFLECT", 3), ("SYMMETRIC", 2)]:
    case("MIRROR_PAD", _mode.lower() + "_4d",
         [X(*NHWC), K([[0, 0], [2, 1], [1, 2], [0, 0]])], {"mode": _mode},
         dims=dict(D4, H=(_lo, 6), W=(_lo, 6)))
    case("MIRROR_PAD", _mode.lower() + "_2d", [X("A", "B"), K([[1, 0], [1, 1]])],
         {"mode": _mode}, dims={"A": (2, 5), "B": (2, 5)})
# BROADCAST_TO: the official runtime registers versions 2 and 3 only
case("BROADCAST_TO", "3d_to_4d", [X(1, "W", 1), K(["B", "H", "W", "C"])], dims=D4, version=2)
case("BROADCAST_TO", "1d_to_3d", [X("C"), K(["A", "B", "C"])], dims=D3, version=2)
case("BROADCAST_TO", "int32", [X("A", 1, dtype="int32", gen="int"), K(["A", "B"])], dims=D3,
     shapes=1, version=2)
case("DEPTH_TO_SPACE", "block2", [X("B", "H", "W", "C4")], {"block_size": 2},
     dims=dict(D4, C4="C*4"))
case("DEPTH_TO_SPACE", "block3", [X("B", "H", "W", "C9")], {"block_size": 3},
     dims=dict(D4, C=(1, 2), C9="C*9"), shapes=1)
case("SPACE_TO_DEPTH", "block2", [X("B", "H2", "W2", "C")], {"block_size": 2},
     dims=dict(D4, H2="H*2", W2="W*2"))
case("SPACE_TO_DEPTH", "block3", [X("B", "H3", "W3", "C")], {"block_size": 3},
     dims=dict(D4, H=(1, 2), W=(1, 3), H3="H*3", W3="W*3"), shapes=1)

_R = {"B": (1, 2), "H": (1, 5), "W": (1, 5), "C": (1, 3), "OH": (1, 9), "OW": (1, 9)}
for _op in ["RESIZE_BILINEAR", "RESIZE_NEAREST_NEIGHBOR"]:
    case(_op, "default", [X(*NHWC), K(["OH", "OW"])], dims=_R, qemu=(_op == "RESIZE_BILINEAR"))
    case(_op, "align_corners", [X(*NHWC), K(["OH", "OW"])], {"align_corners": True}, dims=_R)
    case(_op, "half_pixel", [X(*NHWC), K(["OH", "OW"])], {"half_pixel_centers": True},
         dims=_R, version=3)
    case(_op, "upscale2x_half_pixel", [X(*NHWC), K(["H*2", "W*2"])],
         {"half_pixel_centers": True}, dims=_R, version=3)
    case(_op, "downscale_align", [X("B", "H", "W", "C"), K(["(H+1)//2", "(W+1)//2"])],
         {"align_corners": True}, dims=dict(_R, H=(3, 8), W=(3, 8)))

# ------------------------------------------------------------- generators
case("ZEROS_LIKE", "float", [X(*NHWC)], dims=D4)
case("ZEROS_LIKE", "int32", [X("A", "B", dtype="int32", gen="int")], dims=D3, shapes=1)
case("FILL", "const_dims_float", [K(["A", "B", "C"]), X()], dims=D3)
case("FILL", "int32_value", [K(["A", "B"]), X(dtype="int32", gen="int")], dims=D3, shapes=1)
case("FILL", "runtime_dims", [XV(["A", "B"], "int32"), X()], dims=D3, shapes=1,
     out=["float32"])
case("RANGE", "float_inputs", [XV(0.5), XV(7.25), XV(0.75)], shapes=1)
case("RANGE", "int32_inputs", [XV(2, "int32"), XV(17, "int32"), XV(3, "int32")], shapes=1)
case("RANGE", "int32_neg_delta", [XV(10, "int32"), XV(-3, "int32"), XV(-2, "int32")], shapes=1)
case("RANGE", "const_float", [K(-1.0, "float32"), K(2.0, "float32"), K(0.25, "float32")],
     out=["float32"], shapes=1)
case("SHAPE", "int32", [X(*NHWC)], {"out_type": "INT32"}, dims=D4, out=["int32"])
case("SHAPE", "int64", [X("A", "B", "C")], {"out_type": "INT64"}, dims=D3, out=["int64"],
     shapes=1)


# ------------------------------------------------------------- int8 (later)
# Quantised int8 cases, for a later issue (test_op_int8, marker `quant`).
# Weights are symmetric (zero point 0) with per-channel scales; biases are
# int32 with scale = input scale x filter scale.
QUANT_CASES = []


def qcase(*args, **kw):
    kw.setdefault("lsb", 1)
    c = Case(*args, **kw)
    QUANT_CASES.append(c)
    return c


def XQ(*shape, **kw):  # int8 runtime input, full range
    return X(*shape, dtype="int8", gen="qint", **kw)


def WQ(*shape, **kw):  # int8 constant, symmetric range
    return W(*shape, dtype="int8", gen=("int", -127, 128), **kw)


def _bias(n):
    return W(n, dtype="int32", gen=("int", -2000, 2000), quant=Q(("product", 0, 1), 0))


_QIN = Q(0.05, -3)
_CONVD = {"B": (1, 2), "H": (3, 7), "W": (3, 7), "C": (1, 4), "O": (1, 5)}
qcase("CONV_2D", "int8_per_channel_same_relu6",
      [XQ(*NHWC, quant=_QIN), WQ("O", 3, 3, "C", quant=Q(("rand", 0.0005, 0.002, "O"), 0, 0)),
       _bias("O")],
      {"padding": "SAME", "stride_w": 1, "stride_h": 1, "fused_activation_function": "RELU6"},
      version=3, dims=_CONVD, out=["int8"], out_quant=[Q(6.0 / 255, -128)])
qcase("CONV_2D", "int8_per_channel_valid_s2",
      [XQ(*NHWC, quant=_QIN), WQ("O", 3, 3, "C", quant=Q(("rand", 0.002, 0.01, "O"), 0, 0)),
       _bias("O")],
      {"padding": "VALID", "stride_w": 2, "stride_h": 2},
      version=3, dims=_CONVD, out=["int8"], out_quant=[Q(0.15, 5)])
qcase("CONV_2D", "int8_per_tensor_1x1",
      [XQ(*NHWC, quant=_QIN), WQ("O", 1, 1, "C", quant=Q(0.01, 0)), _bias("O")],
      {"padding": "VALID", "stride_w": 1, "stride_h": 1},
      version=3, dims=_CONVD, out=["int8"], out_quant=[Q(0.06, -2)])
qcase("DEPTHWISE_CONV_2D", "int8_per_channel_m1",
      [XQ(*NHWC, quant=_QIN), WQ(1, 3, 3, "C", quant=Q(("rand", 0.005, 0.02, "C"), 0, 3)),
       _bias("C")],
      {"padding": "SAME", "stride_w": 1, "stride_h": 1, "depth_multiplier": 1},
      version=3, dims=_CONVD, out=["int8"], out_quant=[Q(0.12, 0)])
qcase("DEPTHWISE_CONV_2D", "int8_per_channel_m2_s2_relu",
      [XQ(*NHWC, quant=_QIN), WQ(1, 3, 3, "C*2", quant=Q(("rand", 0.005, 0.02, "C*2"), 0, 3)),
       _bias("C*2")],
      {"padding": "SAME", "stride_w": 2, "stride_h": 2, "depth_multiplier": 2,
       "fused_activation_function": "RELU"},
      version=3, dims=_CONVD, out=["int8"], out_quant=[Q(0.1, -128)])
qcase("FULLY_CONNECTED", "int8_per_tensor",
      [XQ("B", "I", quant=_QIN), WQ("O", "I", quant=Q(0.01, 0)), _bias("O")], {},
      version=4, dims=_FC, out=["int8"], out_quant=[Q(0.2, 3)])
qcase("FULLY_CONNECTED", "int8_per_channel_relu",
      [XQ("B", "I", quant=_QIN), WQ("O", "I", quant=Q(("rand", 0.004, 0.012, "O"), 0, 0)),
       _bias("O")], {"fused_activation_function": "RELU"},
      version=4, dims=_FC, out=["int8"], out_quant=[Q(0.06, -128)])
qcase("ADD", "int8_rescale", [XQ(*NHWC, quant=Q(0.05, 5)), XQ(*NHWC, quant=Q(0.03, -10))], {},
      version=2, dims=D4, out=["int8"], out_quant=[Q(0.08, 2)], qemu=True)
# input scale / output scale beyond 2^8: the XNNPACK delegate leaves the op to the optimized builtin
# kernel, whose arithmetic (which we follow) then overflows where the reference kernel's does not
qcase("ADD", "int8_wide_scales", [XQ(*NHWC, quant=Q(0.9, 5)), XQ(*NHWC, quant=Q(0.0005, -10))], {},
      version=2, dims=D4, out=["int8"], out_quant=[Q(0.003, 2)], avoid=["BUILTIN_REF"])
qcase("ADD", "int8_bcast_relu", [XQ(*NHWC, quant=Q(0.05, 5)), XQ("C", quant=Q(0.1, 0))],
      {"fused_activation_function": "RELU"}, version=2, dims=D4, out=["int8"],
      out_quant=[Q(0.12, -128)])
qcase("MUL", "int8_rescale", [XQ(*NHWC, quant=Q(0.05, 5)), XQ(*NHWC, quant=Q(0.03, -10))], {},
      version=2, dims=D4, out=["int8"], out_quant=[Q(0.2, 0)])
qcase("MUL", "int8_bcast", [XQ(*NHWC, quant=Q(0.02, 0)), XQ(1, 1, "W", "C", quant=Q(0.04, 7))],
      {}, version=2, dims=D4, out=["int8"], out_quant=[Q(0.05, -5)])
qcase("QUANTIZE", "float_to_int8", [X(*NHWC, gen=("normal", 2))], {}, version=2, dims=D4,
      out=["int8"], out_quant=[Q(0.03, -7)])
qcase("QUANTIZE", "int8_requantize", [XQ(*NHWC, quant=Q(0.05, 3))], {}, version=2, dims=D4,
      out=["int8"], out_quant=[Q(0.08, -9)])
qcase("DEQUANTIZE", "int8_to_float", [XQ(*NHWC, quant=Q(0.05, 3))], {}, version=2, dims=D4,
      out=["float32"])
qcase("SOFTMAX", "int8", [XQ("B", "C", quant=Q(0.02, 0))], {"beta": 1.0}, version=2,
      dims={"B": (1, 4), "C": (1, 20)}, out=["int8"], out_quant=[Q(1.0 / 256, -128)])
qcase("LOGISTIC", "int8", [XQ(*NHWC, quant=Q(0.05, 0))], {}, version=2, dims=D4,
      out=["int8"], out_quant=[Q(1.0 / 256, -128)])
qcase("TANH", "int8", [XQ(*NHWC, quant=Q(0.015, 4))], {}, version=2, dims=D4,
      out=["int8"], out_quant=[Q(1.0 / 128, 0)])


# ------------------------------------------------------------- k-conv
# Quantized and hybrid CONV_2D / DEPTHWISE_CONV_2D / TRANSPOSE_CONV. Goldens from
# the optimized builtin kernels (the reference hybrid kernels compute differently);
# lsb 0: bit-exact with them.
_KC_NOREF = ["BUILTIN_REF"]
_KCD = {"B": (1, 2), "H": (3, 8), "W": (3, 8), "C": (1, 6), "O": (1, 6)}


def _kc(op, desc, inputs, options, **kw):
    kw.setdefault("lsb", 0)
    kw.setdefault("dims", _KCD)
    kw.setdefault("avoid", _KC_NOREF)
    return qcase(op, desc, inputs, options, **kw)


def _kc_u8(*shape, **kw):
    return X(*shape, dtype="uint8", gen="qint", **kw)


def _kc_i16(*shape, **kw):
    return X(*shape, dtype="int16", gen="qint", **kw)


def _kc_wu8(*shape, **kw):
    return W(*shape, dtype="uint8", gen=("int", 0, 256), **kw)


def _kc_bias(n, dtype="int32", lim=2000):
    return W(n, dtype=dtype, gen=("int", -lim, lim), quant=Q(("product", 0, 1), 0))


def _kc_fbias(n):
    return W(n, gen=("normal", 0.5))


_KC_PC = lambda n, lo=0.002, hi=0.01, axis=0: Q(("rand", lo, hi, n), 0, axis)  # noqa: E731

_kc("CONV_2D", "int8_dil2_same_relu",
    [XQ(*NHWC, quant=Q(0.04, 7)), WQ("O", 3, 3, "C", quant=_KC_PC("O")), _kc_bias("O")],
    {"padding": "SAME", "stride_w": 1, "stride_h": 1, "dilation_w_factor": 2,
     "dilation_h_factor": 2, "fused_activation_function": "RELU"},
    version=3, out=["int8"], out_quant=[Q(0.05, -128)])
_kc("CONV_2D", "int8_5x3_s2_valid_n1to1",
    [XQ(*NHWC, quant=Q(0.03, -5)), WQ("O", 5, 3, "C", quant=_KC_PC("O")), _kc_bias("O")],
    {"padding": "VALID", "stride_w": 2, "stride_h": 1, "fused_activation_function": "RELU_N1_TO_1"},
    version=3, dims=dict(_KCD, H=(5, 9)), out=["int8"], out_quant=[Q(0.01, 3)])
_kc("CONV_2D", "int8_1x1_s2",
    [XQ(*NHWC, quant=Q(0.05, 0)), WQ("O", 1, 1, "C", quant=_KC_PC("O")), _kc_bias("O")],
    {"padding": "SAME", "stride_w": 2, "stride_h": 2}, version=3, out=["int8"],
    out_quant=[Q(0.02, 10)])
_kc("CONV_2D", "uint8_per_tensor_relu6",
    [_kc_u8(*NHWC, quant=Q(0.03, 128)), _kc_wu8("O", 3, 3, "C", quant=Q(0.004, 121)),
     _kc_bias("O")],
    {"padding": "SAME", "stride_w": 1, "stride_h": 1, "fused_activation_function": "RELU6"},
    version=1, out=["uint8"], out_quant=[Q(6.0 / 255, 0)])
_kc("CONV_2D", "int16x8_same",
    [_kc_i16(*NHWC, quant=Q(0.0005, 0)), WQ("O", 3, 3, "C", quant=_KC_PC("O")),
     _kc_bias("O", "int64", 100000)],
    {"padding": "SAME", "stride_w": 1, "stride_h": 1}, version=4, out=["int16"],
    out_quant=[Q(0.002, 0)])
_kc("CONV_2D", "hybrid_per_channel_relu",
    [X(*NHWC), WQ("O", 3, 3, "C", quant=_KC_PC("O")), _kc_fbias("O")],
    {"padding": "SAME", "stride_w": 1, "stride_h": 1, "fused_activation_function": "RELU"},
    version=5, out=["float32"], tol=1e-9)
_kc("CONV_2D", "hybrid_per_channel_s2_valid",
    [X(*NHWC, gen=("normal", 2)), WQ("O", 2, 3, "C", quant=_KC_PC("O")), _kc_fbias("O")],
    {"padding": "VALID", "stride_w": 2, "stride_h": 2}, version=5, out=["float32"], tol=1e-9)
_kc("CONV_2D", "hybrid_per_tensor",
    [X(*NHWC), WQ("O", 3, 3, "C", quant=Q(0.01, 0)), _kc_fbias("O")],
    {"padding": "SAME", "stride_w": 1, "stride_h": 1}, version=2, out=["float32"], tol=1e-9)

_kc("DEPTHWISE_CONV_2D", "int8_m1_dil2",
    [XQ(*NHWC, quant=Q(0.05, -3)), WQ(1, 3, 3, "C", quant=_KC_PC("C", 0.005, 0.02, 3)),
     _kc_bias("C")],
    {"padding": "SAME", "stride_w": 1, "stride_h": 1, "depth_multiplier": 1,
     "dilation_w_factor": 2, "dilation_h_factor": 2},
    version=3, out=["int8"], out_quant=[Q(0.1, 2)])
_kc("DEPTHWISE_CONV_2D", "int8_m3_5x5_valid_relu6",
    [XQ(*NHWC, quant=Q(0.05, 10)), WQ(1, 5, 5, "C*3", quant=_KC_PC("C*3", 0.005, 0.02, 3)),
     _kc_bias("C*3")],
    {"padding": "VALID", "stride_w": 1, "stride_h": 2, "depth_multiplier": 3,
     "fused_activation_function": "RELU6"},
    version=3, dims=dict(_KCD, H=(5, 9), W=(5, 9)), out=["int8"], out_quant=[Q(0.03, -128)])
_kc("DEPTHWISE_CONV_2D", "uint8_m1",
    [_kc_u8(*NHWC, quant=Q(0.04, 120)), _kc_wu8(1, 3, 3, "C", quant=Q(0.01, 130)),
     _kc_bias("C")],
    {"padding": "SAME", "stride_w": 2, "stride_h": 2, "depth_multiplier": 1},
    version=1, out=["uint8"], out_quant=[Q(0.08, 128)])
_kc("DEPTHWISE_CONV_2D", "int16x8_m2",
    [_kc_i16(*NHWC, quant=Q(0.0004, 0)), WQ(1, 3, 3, "C*2", quant=_KC_PC("C*2", 0.005, 0.02, 3)),
     _kc_bias("C*2", "int64", 100000)],
    {"padding": "SAME", "stride_w": 1, "stride_h": 1, "depth_multiplier": 2},
    version=5, out=["int16"], out_quant=[Q(0.001, 0)])
_kc("DEPTHWISE_CONV_2D", "hybrid_m1_relu6",
    [X(*NHWC), WQ(1, 3, 3, "C", quant=_KC_PC("C", 0.005, 0.02, 3)), _kc_fbias("C")],
    {"padding": "SAME", "stride_w": 1, "stride_h": 1, "depth_multiplier": 1,
     "fused_activation_function": "RELU6"},
    version=6, out=["float32"], tol=1e-9)
_kc("DEPTHWISE_CONV_2D", "hybrid_m2_s2",
    [X(*NHWC, gen=("normal", 3)), WQ(1, 3, 3, "C*2", quant=_KC_PC("C*2", 0.005, 0.02, 3)),
     _kc_fbias("C*2")],
    {"padding": "SAME", "stride_w": 2, "stride_h": 2, "depth_multiplier": 2},
    version=6, out=["float32"], tol=1e-9)


# wide channel counts without activation: negative ties reach the output, and
# whole vector blocks of channels (8 or 16) take TFLite's vectorized output stages
_KCW = {"B": (1, 2), "H": (3, 9), "W": (3, 9), "C": (16, 40), "O": (9, 40)}
_kc("DEPTHWISE_CONV_2D", "int8_wide_noact",
    [XQ(*NHWC, quant=Q(0.05, -1)), WQ(1, 3, 3, "C", quant=_KC_PC("C", 0.005, 0.02, 3)),
     _kc_bias("C")],
    {"padding": "SAME", "stride_w": 1, "stride_h": 1, "depth_multiplier": 1},
    version=3, dims=_KCW, out=["int8"], out_quant=[Q(0.04, 0)])
_kc("DEPTHWISE_CONV_2D", "int8_c9to15_noact",
    [XQ(*NHWC, quant=Q(0.05, -1)), WQ(1, 3, 3, "C", quant=_KC_PC("C", 0.005, 0.02, 3)),
     _kc_bias("C")],
    {"padding": "SAME", "stride_w": 1, "stride_h": 1, "depth_multiplier": 1},
    version=3, dims=dict(_KCW, C=(9, 16)), out=["int8"], out_quant=[Q(0.04, 0)])
# 4, 8 and 16 channels at stride 1 over wide rows: the AVX-512 kernel puts
# 32 / C pixels side by side (whole groups, then the rest one by one)
for _c in (4, 8, 16):
    _kc("DEPTHWISE_CONV_2D", "int8_c%d_wide_rows" % _c,
        [XQ(*NHWC, quant=Q(0.05, -4)), WQ(1, 3, 3, "C", quant=_KC_PC("C", 0.005, 0.02, 3)),
         _kc_bias("C")],
        {"padding": "SAME", "stride_w": 1, "stride_h": 1, "depth_multiplier": 1,
         "fused_activation_function": "RELU6"},
        version=3, dims=dict(_KCW, H=(3, 6), W=(17, 45), C=(_c, _c)), out=["int8"],
        out_quant=[Q(0.03, -128)], avoid=_KC_NOREF + ["BUILTIN"])  # XNNPACK rounds its own way
# 25 taps (an odd tap left over by the AVX-512 tap pairs), stride 2, every
# row inside the image, channel tails past one block of 32
_kc("DEPTHWISE_CONV_2D", "int8_5x5_valid_s2_wide",
    [XQ(*NHWC, quant=Q(0.05, 7)), WQ(1, 5, 5, "C", quant=_KC_PC("C", 0.005, 0.02, 3)),
     _kc_bias("C")],
    {"padding": "VALID", "stride_w": 2, "stride_h": 2, "depth_multiplier": 1,
     "fused_activation_function": "RELU6"},
    version=3, dims=dict(_KCW, H=(5, 12), W=(5, 12), C=(33, 48)), out=["int8"],
    out_quant=[Q(0.03, -128)])
_kc("DEPTHWISE_CONV_2D", "uint8_wide_noact",
    [_kc_u8(*NHWC, quant=Q(0.05, 127)), _kc_wu8(1, 3, 3, "C", quant=Q(0.01, 128)),
     _kc_bias("C")],
    {"padding": "SAME", "stride_w": 1, "stride_h": 1, "depth_multiplier": 1},
    version=1, dims=dict(_KCW, C=(9, 40)), out=["uint8"], out_quant=[Q(0.04, 128)])
_kc("CONV_2D", "uint8_wide_noact",
    [_kc_u8(*NHWC, quant=Q(0.05, 127)), _kc_wu8("O", 1, 1, "C", quant=Q(0.01, 128)),
     _kc_bias("O")],
    {"padding": "SAME", "stride_w": 1, "stride_h": 1}, version=1, dims=_KCW, out=["uint8"],
    out_quant=[Q(0.05, 128)])
_kc("CONV_2D", "int8_wide_noact",
    [XQ(*NHWC, quant=Q(0.05, 2)), WQ("O", 1, 1, "C", quant=_KC_PC("O")), _kc_bias("O")],
    {"padding": "SAME", "stride_w": 1, "stride_h": 1}, version=3, dims=_KCW, out=["int8"],
    out_quant=[Q(0.05, 0)])
# Two 16-channel panels and a masked channel tail (the 8-bit GEMM's 8 x 32
# tiles), K not a multiple of 4, the input zero point in the padding.
_kc("CONV_2D", "int8_2panel_3x3_relu",
    [XQ(*NHWC, quant=Q(0.04, -9)), WQ("O", 3, 3, "C", quant=_KC_PC("O")), _kc_bias("O")],
    {"padding": "SAME", "stride_w": 1, "stride_h": 1, "fused_activation_function": "RELU"},
    version=3, dims=dict(_KCW, C=(3, 13), O=(17, 47)), out=["int8"], out_quant=[Q(0.08, -20)])
# Input channels a multiple of 4: the 8-bit GEMM reads each tap straight from
# the input (tap pointers; the padding pixel holds the zero point), across
# batches, dilation, strides and tile tails.
_kc("CONV_2D", "int8_taps_dil2_same",
    [XQ("B", "H", "W", "C4", quant=Q(0.04, 11)), WQ("O", 3, 3, "C4", quant=_KC_PC("O")),
     _kc_bias("O")],
    {"padding": "SAME", "stride_w": 1, "stride_h": 1, "dilation_w_factor": 2,
     "dilation_h_factor": 2, "fused_activation_function": "RELU6"},
    version=3, dims=dict(_KCW, C=(1, 6), C4="C*4", O=(9, 40)), out=["int8"],
    out_quant=[Q(0.05, -30)])
# Vertical dilation only: each filter row (3 taps, contiguous) one run
_kc("CONV_2D", "int8_rows_dil_h2_same",
    [XQ("B", "H", "W", "C4", quant=Q(0.04, 9)), WQ("O", 3, 3, "C4", quant=_KC_PC("O")),
     _kc_bias("O")],
    {"padding": "SAME", "stride_w": 1, "stride_h": 1, "dilation_w_factor": 1,
     "dilation_h_factor": 2, "fused_activation_function": "RELU"},
    version=3, dims=dict(_KCW, H=(5, 11), W=(4, 12), C=(1, 6), C4="C*4", O=(9, 40)),
    out=["int8"], out_quant=[Q(0.06, -128)], avoid=_KC_NOREF + ["BUILTIN"])  # XNNPACK: own rounding
# Filter rows of at most 16 bytes (KW * Cin, Cin not a multiple of 4): the
# rows of windows inside the image are one 16-byte copy per filter row, as in
# a network's first layer (3x3, stride 2, RGB); the others the general way.
_kc("CONV_2D", "int8_rgb_s2_same_relu6",
    [XQ("B", "H", "W", 3, quant=Q(0.02, -4)), WQ("O", 3, 3, 3, quant=_KC_PC("O")), _kc_bias("O")],
    {"padding": "SAME", "stride_w": 2, "stride_h": 2, "fused_activation_function": "RELU6"},
    version=3, dims=dict(_KCW, H=(6, 20), W=(6, 20), O=(8, 40)), out=["int8"],
    out_quant=[Q(6.0 / 255, -128)], qemu=True)
# ... and an image two pixels wide: the window's last column is past the image
# for every output pixel (SAME adds its one padding column on the right only)
_kc("CONV_2D", "int8_rgb_s2_same_narrow",
    [XQ("B", "H", "W", 3, quant=Q(0.02, 5)), WQ("O", 3, 3, 3, quant=_KC_PC("O")), _kc_bias("O")],
    {"padding": "SAME", "stride_w": 2, "stride_h": 2},
    version=3, dims=dict(_KCW, H=(2, 9), W=2, O=(8, 24)), out=["int8"], out_quant=[Q(0.05, -10)])
_kc("CONV_2D", "int8_short_rows_dil_h2",
    [XQ("B", "H", "W", "C", quant=Q(0.04, 6)), WQ("O", 3, 5, "C", quant=_KC_PC("O")), _kc_bias("O")],
    {"padding": "SAME", "stride_w": 1, "stride_h": 2, "dilation_w_factor": 1,
     "dilation_h_factor": 2},
    version=3, dims=dict(_KCW, H=(5, 14), W=(6, 14), C=(1, 3), O=(9, 40)),
    out=["int8"], out_quant=[Q(0.06, 3)], avoid=_KC_NOREF + ["BUILTIN"])  # XNNPACK: own rounding
# A lone last panel (16 channels, or 33-48) whose runs pair up into octets (3 taps x 16 channels: 48
# bytes per filter row): qconv::Q8TileOctets, U-Net's 16-channel layers.
_kc("CONV_2D", "int8_octets_s1_same_relu",
    [XQ("B", "H", "W", 16, quant=Q(0.04, -6)), WQ("O", 3, 3, 16, quant=_KC_PC("O")), _kc_bias("O")],
    {"padding": "SAME", "stride_w": 1, "stride_h": 1, "fused_activation_function": "RELU"},
    version=3, dims=dict(_KCW, H=(5, 12), W=(5, 12), O=(33, 48)), out=["int8"],
    out_quant=[Q(0.1, -128)], qemu=True)
_kc("CONV_2D", "int8_octets_16ch_s2_valid",
    [XQ("B", "H", "W", 8, quant=Q(0.04, 5)), WQ(16, 3, 3, 8, quant=_KC_PC(16)), _kc_bias(16)],
    {"padding": "VALID", "stride_w": 2, "stride_h": 2},
    version=3, dims=dict(_KCW, H=(7, 15), W=(7, 15)), out=["int8"], out_quant=[Q(0.08, 2)])
_kc("CONV_2D", "int8_taps_5x3_s2_same",
    [XQ("B", "H", "W", "C4", quant=Q(0.03, -7)), WQ("O", 5, 3, "C4", quant=_KC_PC("O")),
     _kc_bias("O")],
    {"padding": "SAME", "stride_w": 2, "stride_h": 2},
    version=3, dims=dict(_KCW, H=(5, 13), W=(5, 13), C=(1, 5), C4="C*4", O=(17, 40)),
    out=["int8"], out_quant=[Q(0.08, 4)])
# Multipliers above 1 on some channels (a left shift in the output stage),
# small inputs and weights so that the outputs are not all saturated. The
# official XNNPACK delegate (BUILTIN) requantizes in float and differs here.
_kc("CONV_2D", "int8_1x1_mult_gt1",
    [X(*NHWC, dtype="int8", gen=("int", -9, 10), quant=Q(0.05, 2)),
     W("O", 1, 1, "C", dtype="int8", gen=("int", -5, 6), quant=_KC_PC("O", 0.0015, 0.012)),
     _kc_bias("O", lim=60)],
    {"padding": "VALID", "stride_w": 1, "stride_h": 1}, version=3,
    dims=dict(_KCW, C=(5, 24), O=(33, 50)), out=["int8"], out_quant=[Q(0.00025, -3)], avoid=_KC_NOREF + ["BUILTIN"],
    qemu=True)
_kc("DEPTHWISE_CONV_2D", "int8_mult_gt1",
    [X(*NHWC, dtype="int8", gen=("int", -9, 10), quant=Q(0.05, 2)),
     W(1, 3, 3, "C", dtype="int8", gen=("int", -5, 6), quant=_KC_PC("C", 0.0015, 0.012, 3)),
     _kc_bias("C", lim=60)],
    {"padding": "SAME", "stride_w": 1, "stride_h": 1, "depth_multiplier": 1},
    version=3, dims=_KCW, out=["int8"], out_quant=[Q(0.00025, -3)], avoid=_KC_NOREF + ["BUILTIN"],
    qemu=True)
_kc("CONV_2D", "int8_2panel_1x1",
    [XQ(*NHWC, quant=Q(0.05, 4)), WQ("O", 1, 1, "C", quant=_KC_PC("O", 0.004, 0.02)),
     _kc_bias("O")],
    {"padding": "VALID", "stride_w": 1, "stride_h": 1}, version=3,
    dims=dict(_KCW, C=(5, 40), O=(33, 70)), out=["int8"], out_quant=[Q(0.1, 3)])


def _kc_tconv(desc, kh, kwid, stride, padding, x, w, bias, out, out_quant, version,
              dims_override=None, **kw):
    if padding == "SAME":
        oh, ow = "H*%d" % stride, "W*%d" % stride
    else:
        oh, ow = "(H-1)*%d+%d" % (stride, kh), "(W-1)*%d+%d" % (stride, kwid)
    dims = {"B": (1, 2), "H": (1, 5), "W": (1, 5), "C": (1, 6), "O": (1, 6)}
    dims.update(dims_override or {})
    ins = [K(["B", oh, ow, "O"]), w, x]
    if bias is not None:
        ins.append(bias)
    opts = {"padding": padding, "stride_w": stride, "stride_h": stride}
    _kc("TRANSPOSE_CONV", desc, ins, opts, dims=dims, version=version, out=out,
        out_quant=out_quant, **kw)


# TRANSPOSE_CONV's inputs: output_shape, weights (input 1), input (input 2): the
# bias scale is the product of inputs 2 and 1.
def _kc_tbias(n, dtype="int32", lim=2000):
    return W(n, dtype=dtype, gen=("int", -lim, lim), quant=Q(("product", 2, 1), 0))


_kc_tconv("int8_3x3_same_s2", 3, 3, 2, "SAME", XQ(*NHWC, quant=Q(0.05, -4)),
          WQ("O", 3, 3, "C", quant=_KC_PC("O")), _kc_tbias("O"), ["int8"], [Q(0.04, 1)], 3)
_kc_tconv("int8_2x2_valid_s2_nobias", 2, 2, 2, "VALID", XQ(*NHWC, quant=Q(0.05, 6)),
          WQ("O", 2, 2, "C", quant=_KC_PC("O")), None, ["int8"], [Q(0.03, -7)], 2, qemu=True)
_kc_tconv("int16x8_3x3_same_s1", 3, 3, 1, "SAME", _kc_i16(*NHWC, quant=Q(0.0005, 0)),
          WQ("O", 3, 3, "C", quant=_KC_PC("O")), _kc_tbias("O", "int64", 100000), ["int16"],
          [Q(0.002, 0)], 3)
_kc_tconv("int8_wide_2x2_s2", 2, 2, 2, "SAME", XQ(*NHWC, quant=Q(0.05, -4)),
          WQ("O", 2, 2, "C", quant=_KC_PC("O")), _kc_tbias("O"), ["int8"], [Q(0.02, 0)], 3,
          dims_override={"C": (8, 20), "O": (9, 30)})

# Cin a multiple of 4: the int8 VNNI kernel splits the output by phase (the
# position modulo the stride); 3x3 stride 2 (phases of 1, 2 and 4 taps), 4x4
# stride 2 VALID (4 taps each), 3x3 stride 1 (one phase of all 9)
_kc_tconv("int8_phases_3x3_same_s2", 3, 3, 2, "SAME", XQ("B", "H", "W", "C4", quant=Q(0.05, 5)),
          WQ("O", 3, 3, "C4", quant=_KC_PC("O")), _kc_tbias("O"), ["int8"], [Q(0.05, -3)], 3,
          dims_override={"H": (2, 7), "W": (3, 9), "C": (1, 5), "C4": "C*4", "O": (9, 40)},
          avoid=_KC_NOREF + ["BUILTIN"])
_kc_tconv("int8_phases_4x4_valid_s2", 4, 4, 2, "VALID", XQ("B", "H", "W", "C4", quant=Q(0.04, -9)),
          WQ("O", 4, 4, "C4", quant=_KC_PC("O")), None, ["int8"], [Q(0.06, 2)], 3,
          dims_override={"H": (1, 6), "W": (2, 7), "C": (1, 4), "C4": "C*4", "O": (5, 34)},
          avoid=_KC_NOREF + ["BUILTIN"])
_kc_tconv("int8_phases_3x3_same_s1", 3, 3, 1, "SAME", XQ("B", "H", "W", "C4", quant=Q(0.05, 0)),
          WQ("O", 3, 3, "C4", quant=_KC_PC("O")), _kc_tbias("O"), ["int8"], [Q(0.08, 4)], 3,
          dims_override={"H": (2, 9), "W": (2, 11), "C": (1, 4), "C4": "C*4", "O": (3, 20)},
          avoid=_KC_NOREF + ["BUILTIN"])

# ------------------------------------------------------------- k-act
# Quantized activations, softmax, unary math, L2 norm, quantize/dequantize.
# Goldens from the optimized builtin kernels (avoid=["BUILTIN_REF"]) where the
# reference kernels compute differently (softmax, log-softmax); lsb 0: we
# match the optimized kernels bit for bit.
_NOREF = ["BUILTIN_REF"]
_DL = {"B": (1, 2), "H": (2, 9), "W": (2, 9), "C": (3, 8)}  # enough elements to hit most table entries


def UQ(*shape, **kw):  # uint8 runtime input, full range
    return X(*shape, dtype="uint8", gen="qint", **kw)


def SQ(*shape, **kw):  # int16 runtime input, full range
    return X(*shape, dtype="int16", gen="qint", **kw)


def acase(op, desc, inputs, options=None, **kw):
    kw.setdefault("lsb", 0)
    kw.setdefault("dims", _DL)
    return qcase(op, desc, inputs, options or {}, **kw)


_SMD = {"B": (1, 3), "C": (1, 1001)}
acase("SOFTMAX", "int8_beta_half", [XQ("B", "C", quant=Q(0.1, 3))], {"beta": 0.5}, version=2,
      dims=_SMD, out=["int8"], out_quant=[Q(1.0 / 256, -128)], avoid=_NOREF)
acase("SOFTMAX", "int8_classifier", [XQ("B", "C", quant=Q(0.17, -20))], {"beta": 1.0}, version=2,
      dims=_SMD, out=["int8"], out_quant=[Q(1.0 / 256, -128)], avoid=_NOREF)
acase("SOFTMAX", "uint8", [UQ("B", "C", quant=Q(0.05, 128))], {"beta": 1.0}, version=2,
      dims=_SMD, out=["uint8"], out_quant=[Q(1.0 / 256, 0)], avoid=_NOREF)
acase("SOFTMAX", "int8_to_int16", [XQ("B", "C", quant=Q(0.08, 0))], {"beta": 1.0}, version=3,
      dims=_SMD, out=["int16"], out_quant=[Q(1.0 / 32768, 0)], avoid=_NOREF)
acase("SOFTMAX", "uint8_to_int16", [UQ("B", "C", quant=Q(0.08, 100))], {"beta": 2.0}, version=3,
      dims=_SMD, out=["int16"], out_quant=[Q(1.0 / 32768, 0)], avoid=_NOREF)
acase("SOFTMAX", "int8_rank4", [XQ(*NHWC, quant=Q(0.05, -5))], {"beta": 1.0}, version=2,
      dims=D4, out=["int8"], out_quant=[Q(1.0 / 256, -128)], avoid=_NOREF)
# Every value negative: the row maximum is below zero (the exp table is indexed from 255 - max).
acase("SOFTMAX", "int8_all_negative", [X("B", "C", dtype="int8", gen=("int", -128, -90), quant=Q(0.0157, -1))],
      {"beta": 1.0}, version=2, dims=_SMD, out=["int8"], out_quant=[Q(1.0 / 256, -128)], avoid=_NOREF)
acase("LOG_SOFTMAX", "int8_all_negative", [X("B", "C", dtype="int8", gen=("int", -128, -90), quant=Q(0.1, 2))],
      version=2, dims=_SMD, out=["int8"], out_quant=[Q(16.0 / 256, 127)], avoid=_NOREF)
acase("LOG_SOFTMAX", "int8", [XQ("B", "C", quant=Q(0.1, 2))], version=2, dims=_SMD,
      out=["int8"], out_quant=[Q(16.0 / 256, 127)], avoid=_NOREF)
acase("LOG_SOFTMAX", "uint8", [UQ("B", "C", quant=Q(0.07, 130))], version=2, dims=_SMD,
      out=["uint8"], out_quant=[Q(16.0 / 256, 255)], avoid=_NOREF)

acase("LOGISTIC", "int8_full", [XQ(*NHWC, quant=Q(0.06, -10))], version=2,
      out=["int8"], out_quant=[Q(1.0 / 256, -128)])
acase("LOGISTIC", "uint8", [UQ(*NHWC, quant=Q(0.05, 120))], version=2,
      out=["uint8"], out_quant=[Q(1.0 / 256, 0)])
acase("TANH", "int8_full", [XQ(*NHWC, quant=Q(0.03, 7))], version=2,
      out=["int8"], out_quant=[Q(1.0 / 128, 0)])
acase("TANH", "uint8", [UQ(*NHWC, quant=Q(0.02, 128))], version=2,
      out=["uint8"], out_quant=[Q(1.0 / 128, 128)])
acase("LOGISTIC", "int16_pot", [SQ(*NHWC, quant=Q(1.0 / 4096, 0))], version=3, avoid=_NOREF,
      out=["int16"], out_quant=[Q(1.0 / 32768, 0)])
acase("LOGISTIC", "int16_scaled", [SQ(*NHWC, quant=Q(0.0004, 0))], version=3,
      out=["int16"], out_quant=[Q(1.0 / 32768, 0)])
acase("TANH", "int16_pot", [SQ(*NHWC, quant=Q(1.0 / 4096, 0))], version=3, avoid=_NOREF,
      out=["int16"], out_quant=[Q(1.0 / 32768, 0)])
acase("TANH", "int16_pot2", [SQ(*NHWC, quant=Q(1.0 / 8192, 0))], version=3,
      out=["int16"], out_quant=[Q(1.0 / 32768, 0)])
acase("TANH", "int16_scaled", [SQ(*NHWC, quant=Q(0.0003, 0))], version=3,
      out=["int16"], out_quant=[Q(1.0 / 32768, 0)])
acase("HARD_SWISH", "int8", [XQ(*NHWC, quant=Q(0.04, -20))], version=1,
      out=["int8"], out_quant=[Q(0.03, -90)])
acase("HARD_SWISH", "uint8", [UQ(*NHWC, quant=Q(0.05, 100))], version=1,
      out=["uint8"], out_quant=[Q(0.04, 30)])
acase("HARD_SWISH", "int8_wide", [XQ(*NHWC, quant=Q(0.3, 10))], version=1,
      out=["int8"], out_quant=[Q(0.25, -100)])
acase("LEAKY_RELU", "int8", [XQ(*NHWC, quant=Q(0.05, 3))], {"alpha": 0.2}, version=2,
      out=["int8"], out_quant=[Q(0.04, -60)])
acase("LEAKY_RELU", "uint8", [UQ(*NHWC, quant=Q(0.05, 128))], {"alpha": 0.1}, version=1,
      out=["uint8"], out_quant=[Q(0.03, 20)])
acase("LEAKY_RELU", "int16", [SQ(*NHWC, quant=Q(0.001, 0))], {"alpha": 0.3}, version=2,
      out=["int16"], out_quant=[Q(0.0008, 0)])
acase("RELU", "int8", [XQ(*NHWC, quant=Q(0.05, 3))], version=2,
      out=["int8"], out_quant=[Q(0.03, -128)])
acase("RELU", "uint8", [UQ(*NHWC, quant=Q(0.05, 128))], version=1,
      out=["uint8"], out_quant=[Q(0.04, 0)])
acase("RELU", "int16", [SQ(*NHWC, quant=Q(0.001, 0))], version=3,
      out=["int16"], out_quant=[Q(0.0007, 0)])
acase("RELU6", "int8", [XQ(*NHWC, quant=Q(0.06, -5))], version=2,
      out=["int8"], out_quant=[Q(6.0 / 255, -128)])
acase("RELU6", "uint8", [UQ(*NHWC, quant=Q(0.06, 100))], version=1,
      out=["uint8"], out_quant=[Q(0.02, 0)])
acase("RELU_N1_TO_1", "int8", [XQ(*NHWC, quant=Q(0.02, 0))], version=1,
      out=["int8"], out_quant=[Q(1.0 / 128, 0)])
acase("PRELU", "int8_bcast", [XQ(*NHWC, quant=Q(0.05, 3)),
                              W(1, 1, "C", dtype="int8", gen="qint", quant=Q(0.01, 5))],
      version=1, out=["int8"], out_quant=[Q(0.06, -10)])
acase("PRELU", "uint8_same", [UQ(*NHWC, quant=Q(0.05, 128)),
                              X(*NHWC, dtype="uint8", gen="qint", quant=Q(0.004, 120))],
      version=1, out=["uint8"], out_quant=[Q(0.05, 120)])
acase("ELU", "int8", [XQ(*NHWC, quant=Q(0.04, 10))], version=1,
      out=["int8"], out_quant=[Q(0.03, -60)])
acase("GELU", "int8", [XQ(*NHWC, quant=Q(0.03, -4))], {"approximate": False}, version=2,
      out=["int8"], out_quant=[Q(0.025, -100)])
acase("GELU", "int8_approx", [XQ(*NHWC, quant=Q(0.03, -4))], {"approximate": True}, version=2,
      out=["int8"], out_quant=[Q(0.025, -100)])
acase("GELU", "uint8", [UQ(*NHWC, quant=Q(0.03, 120))], {"approximate": False}, version=2,
      out=["uint8"], out_quant=[Q(0.025, 20)])

acase("ABS", "int8_rescale", [XQ(*NHWC, quant=Q(0.05, 3))], version=2,
      out=["int8"], out_quant=[Q(0.04, -128)])
acase("ABS", "int8_same_scale", [XQ(*NHWC, quant=Q(0.05, 3))], version=2,
      out=["int8"], out_quant=[Q(0.05, -100)])
acase("ABS", "int16", [SQ(*NHWC, quant=Q(0.001, 0))], version=3,
      out=["int16"], out_quant=[Q(0.0012, 0)])
acase("EXP", "int8", [XQ(*NHWC, quant=Q(0.02, 30))], version=2,
      out=["int8"], out_quant=[Q(0.05, -128)])
acase("SQRT", "int8", [XQ(*NHWC, quant=Q(0.05, -128))], version=2,
      out=["int8"], out_quant=[Q(0.02, -128)])
acase("RSQRT", "int8", [XQ(*NHWC, quant=Q(0.05, -128))], version=2,
      out=["int8"], out_quant=[Q(0.01, -128)])
acase("LOG", "int8", [XQ(*NHWC, quant=Q(0.05, -120))], version=2,
      out=["int8"], out_quant=[Q(0.03, 0)])
acase("L2_NORMALIZATION", "int8", [XQ("B", "C", quant=Q(0.05, 3))], version=2,
      dims={"B": (1, 4), "C": (1, 300)}, out=["int8"], out_quant=[Q(1.0 / 128, 0)])
acase("L2_NORMALIZATION", "uint8", [UQ("B", "C", quant=Q(0.05, 128))], version=1,
      dims={"B": (1, 4), "C": (1, 300)}, out=["uint8"], out_quant=[Q(1.0 / 128, 128)])

acase("QUANTIZE", "float_to_uint8", [X(*NHWC, gen=("normal", 2))], version=1,
      out=["uint8"], out_quant=[Q(0.03, 128)], avoid=_NOREF)
acase("QUANTIZE", "float_to_int16", [X(*NHWC, gen=("normal", 2))], version=3,
      out=["int16"], out_quant=[Q(0.0003, 0)], avoid=_NOREF)
acase("QUANTIZE", "float_ties_to_int8", [X(*NHWC, gen=("int", -40, 40))], version=2,
      out=["int8"], out_quant=[Q(2.0, 3)], avoid=_NOREF)
# NaN, infinities and values beyond int32 (x86's conversion of them, as the optimized kernel gives)
# among normal values: the AVX2 loop and the scalar one agree with it.
for _dt, _z in [("int8", -3), ("uint8", 128), ("int16", 0)]:
    acase("QUANTIZE", "float_special_to_" + _dt, [X(*NHWC, gen=("special", 3))], version=2,
          dims={"B": (1, 2), "H": (1, 4), "W": (1, 4), "C": (9, 30)}, out=[_dt],
          out_quant=[Q(0.03 if _dt != "int16" else 0.001, _z)], avoid=_NOREF)
acase("QUANTIZE", "uint8_to_int8", [UQ(*NHWC, quant=Q(0.05, 128))], version=2,
      out=["int8"], out_quant=[Q(0.05, 0)])
acase("QUANTIZE", "int8_to_uint8", [XQ(*NHWC, quant=Q(0.05, 0))], version=2,
      out=["uint8"], out_quant=[Q(0.05, 128)])
acase("QUANTIZE", "uint8_rescale", [UQ(*NHWC, quant=Q(0.05, 120))], version=2,
      out=["uint8"], out_quant=[Q(0.07, 130)])
acase("QUANTIZE", "int16_to_int8", [SQ(*NHWC, quant=Q(0.001, 0))], version=4,
      out=["int8"], out_quant=[Q(0.2, -3)])
acase("QUANTIZE", "int16_to_int16", [SQ(*NHWC, quant=Q(0.001, 0))], version=4,
      out=["int16"], out_quant=[Q(0.0015, 0)])
acase("DEQUANTIZE", "uint8", [UQ(*NHWC, quant=Q(0.05, 128))], version=1, out=["float32"],
      tol=1e-9, avoid=_NOREF)
acase("DEQUANTIZE", "int8_blocks", [XQ(*NHWC, quant=Q(0.037, -9))], version=2, out=["float32"],
      tol=1e-9, avoid=_NOREF)
acase("DEQUANTIZE", "int16", [SQ(*NHWC, quant=Q(0.001, 0))], version=4, out=["float32"],
      tol=1e-9, avoid=_NOREF)
acase("RELU_0_TO_1", "int8", [XQ(*NHWC, quant=Q(0.02, -10))], version=1,
      out=["int8"], out_quant=[Q(1.0 / 256, -128)])
acase("EXP", "int16", [SQ(*NHWC, quant=Q(0.0002, 0))], version=2,
      out=["int16"], out_quant=[Q(0.0003, 0)])
acase("LOG", "int16", [SQ(*NHWC, quant=Q(0.001, 0))], version=2,
      out=["int16"], out_quant=[Q(0.0004, 0)])
acase("RSQRT", "int16", [X(*NHWC, dtype="int16", gen=("int", 0, 32767), quant=Q(0.001, 0))],
      version=3,
      out=["int16"], out_quant=[Q(0.001, 0)])
acase("SQRT", "int16", [X(*NHWC, dtype="int16", gen=("int", 0, 32767), quant=Q(0.001, 0))],
      version=2,
      out=["int16"], out_quant=[Q(0.0005, 0)])
acase("QUANTIZE", "float_to_int8_per_channel", [X(*NHWC, gen=("normal", 2))], version=2,
      out=["int8"], out_quant=[Q(("rand", 0.01, 0.05, "C"), 0, 3)], avoid=_NOREF)


# ------------------------------------------------------------- k-fc
# Quantized FULLY_CONNECTED and BATCH_MATMUL: full-integer (int8, uint8,
# 16x8) and hybrid (float activations x int8 weights). Goldens from the
# optimized builtin kernels (avoid BUILTIN_REF: the reference FC rounds the
# output multiplier differently); lsb 0 and a float tolerance of one part in
# 10^6 for hybrid outputs: we match the official kernels bit for bit.
_FC_NOREF = ["BUILTIN_REF"]
_FCQ = {"B": (1, 4), "T": (1, 3), "I": (1, 70), "O": (1, 40)}


def fcase(op, desc, inputs, options=None, **kw):
    kw.setdefault("lsb", 0)
    kw.setdefault("avoid", _FC_NOREF)
    return qcase(op, desc, inputs, options or {}, **kw)


def _bias64(n):
    return W(n, dtype="int64", gen=("int", -200000, 200000), quant=Q(("product", 0, 1), 0))


def _wq_pc(*shape, n="O", axis=0):  # int8 weights, per-channel symmetric
    return WQ(*shape, quant=Q(("rand", 0.002, 0.02, n), 0, axis))


fcase("FULLY_CONNECTED", "int8_pt_bias", [XQ("B", "I", quant=Q(0.05, -3)),
      WQ("O", "I", quant=Q(0.01, 0)), _bias("O")], version=4, dims=_FCQ, shapes=3,
      out=["int8"], out_quant=[Q(0.2, 3)])
fcase("FULLY_CONNECTED", "int8_pc_relu", [XQ("B", "I", quant=Q(0.04, 5)),
      _wq_pc("O", "I"), _bias("O")], {"fused_activation_function": "RELU"},
      version=4, dims=_FCQ, shapes=3, out=["int8"], out_quant=[Q(0.06, -128)])
fcase("FULLY_CONNECTED", "int8_pc_nobias_relu6", [XQ("B", "I", quant=Q(0.03, 0)),
      _wq_pc("O", "I"), None], {"fused_activation_function": "RELU6"},
      version=4, dims=_FCQ, out=["int8"], out_quant=[Q(0.03, -100)])
fcase("FULLY_CONNECTED", "int8_keep_dims", [XQ("B", "T", "I", quant=Q(0.05, 10)),
      _wq_pc("O", "I"), _bias("O")], {"keep_num_dims": True},
      version=5, dims=_FCQ, out=["int8"], out_quant=[Q(0.1, -7)])
fcase("FULLY_CONNECTED", "int8_3d_flatten_n1to1", [XQ("B", "T", "I", quant=Q(0.05, -10)),
      WQ("O", "I", quant=Q(0.004, 0)), _bias("O")], {"fused_activation_function": "RELU_N1_TO_1"},
      version=4, dims=_FCQ, out=["int8"], out_quant=[Q(0.01, 0)])
fcase("FULLY_CONNECTED", "int8_pow2_scales", [XQ("B", "I", quant=Q(0.5, 1)),
      WQ("O", "I", quant=Q(0.25, 0)), _bias("O")], version=4, dims=_FCQ,
      out=["int8"], out_quant=[Q(32.0, -1)])
# The 8-bit GEMM's shapes: one row against 4-panel groups of 16 units and a
# remainder (batch 1), and whole 8-row tiles plus a tail
fcase("FULLY_CONNECTED", "int8_batch1_wide", [XQ("B", "I", quant=Q(0.04, -6)),
      _wq_pc("O", "I"), _bias("O")], {"fused_activation_function": "RELU"},
      version=4, dims=dict(_FCQ, B=(1, 3), I=(30, 90), O=(65, 140)), out=["int8"],
      out_quant=[Q(0.08, -128)])
fcase("FULLY_CONNECTED", "int8_rows_tiles", [XQ("B", "I", quant=Q(0.05, 7)),
      _wq_pc("O", "I"), _bias("O")], version=4,
      dims=dict(_FCQ, B=(9, 21), I=(5, 70), O=(17, 50)), out=["int8"], out_quant=[Q(0.1, -3)],
      avoid=_FC_NOREF + ["BUILTIN"])  # XNNPACK (BUILTIN) requantizes in float
fcase("FULLY_CONNECTED", "uint8", [X("B", "I", dtype="uint8", gen="qint", quant=Q(0.05, 128)),
      W("O", "I", dtype="uint8", gen="qint", quant=Q(0.01, 120)), _bias("O")],
      {"fused_activation_function": "RELU"}, version=1, dims=_FCQ,
      out=["uint8"], out_quant=[Q(0.3, 10)])
fcase("FULLY_CONNECTED", "int16_int64_bias", [X("B", "I", dtype="int16", gen="qint",
      quant=Q(0.001, 0)), _wq_pc("O", "I"), _bias64("O")], version=7, dims=_FCQ,
      out=["int16"], out_quant=[Q(0.004, 0)])
fcase("FULLY_CONNECTED", "int16_int32_bias", [X("B", "I", dtype="int16", gen="qint",
      quant=Q(0.0005, 0)), WQ("O", "I", quant=Q(0.01, 0)), _bias("O")],
      {"fused_activation_function": "RELU"}, version=7, dims=_FCQ,
      out=["int16"], out_quant=[Q(0.006, 0)])
# hybrid: float input, int8 weights
fcase("FULLY_CONNECTED", "hybrid_pc_asym", [X("B", "I"), _wq_pc("O", "I"), None],
      {"asymmetric_quantize_inputs": True}, version=12, dims=_FCQ, shapes=3,
      out=["float32"], tol=1e-6)
fcase("FULLY_CONNECTED", "hybrid_pt_sym_bias_relu", [X("B", "I"),
      WQ("O", "I", quant=Q(0.01, 0)), W("O")], {"fused_activation_function": "RELU"},
      version=12, dims=_FCQ, shapes=3, out=["float32"], tol=1e-6)
fcase("FULLY_CONNECTED", "hybrid_pc_asym_bias_keep", [X("B", "T", "I", gen=("uniform", -0.5, 3)),
      _wq_pc("O", "I"), W("O")], {"asymmetric_quantize_inputs": True, "keep_num_dims": True},
      version=12, dims=_FCQ, out=["float32"], tol=1e-6)
fcase("FULLY_CONNECTED", "hybrid_pt_asym_relu6", [X("B", "I", gen=("uniform", 0, 2)),
      WQ("O", "I", quant=Q(0.003, 0)), W("O")],
      {"asymmetric_quantize_inputs": True, "fused_activation_function": "RELU6"},
      version=12, dims=_FCQ, out=["float32"], tol=1e-6)

_BMMQ = {"B": (1, 3), "M": (1, 6), "K": (1, 40), "N": (1, 7), "C": (1, 3)}
fcase("BATCH_MATMUL", "int8_3d", [XQ("B", "M", "K", quant=Q(0.05, -5)),
      XQ("B", "K", "N", quant=Q(0.03, 7))], version=2, dims=_BMMQ, shapes=3,
      out=["int8"], out_quant=[Q(0.9, 3)])
fcase("BATCH_MATMUL", "int8_adj_x", [XQ("B", "K", "M", quant=Q(0.05, 0)),
      XQ("B", "K", "N", quant=Q(0.02, -128))], {"adj_x": True}, version=2, dims=_BMMQ,
      out=["int8"], out_quant=[Q(0.5, -20)])
fcase("BATCH_MATMUL", "int8_adj_y_pow2", [XQ("B", "M", "K", quant=Q(0.5, 3)),
      XQ("B", "N", "K", quant=Q(0.25, -3))], {"adj_y": True}, version=2, dims=_BMMQ,
      out=["int8"], out_quant=[Q(64.0, 0)])
fcase("BATCH_MATMUL", "int8_adj_xy_bcast", [XQ("B", 1, "K", "M", quant=Q(0.04, 12)),
      XQ(1, "C", "N", "K", quant=Q(0.03, 1))], {"adj_x": True, "adj_y": True}, version=2,
      dims=_BMMQ, out=["int8"], out_quant=[Q(0.7, 0)])
fcase("BATCH_MATMUL", "int8_const_rhs_rank2", [XQ("B", "M", "K", quant=Q(0.05, -128)),
      WQ("K", "N", quant=Q(0.01, 0))], version=2, dims=_BMMQ,
      out=["int8"], out_quant=[Q(0.4, -10)])
fcase("BATCH_MATMUL", "int16", [X("B", "M", "K", dtype="int16", gen="qint", quant=Q(0.001, 0)),
      X("B", "K", "N", dtype="int16", gen="qint", quant=Q(0.002, 0))], version=3, dims=_BMMQ,
      out=["int16"], out_quant=[Q(0.3, 0)])
fcase("BATCH_MATMUL", "hybrid_pt", [X("B", "M", "K"), WQ("K", "N", quant=Q(0.02, 0))],
      version=1, dims=_BMMQ, shapes=3, out=["float32"], tol=1e-6)
fcase("BATCH_MATMUL", "hybrid_pc_asym_adj", [X("B", "K", "M", gen=("uniform", -1, 4)),
      WQ("N", "K", quant=Q(("rand", 0.002, 0.02, "N"), 0, 0))],
      {"adj_x": True, "adj_y": True, "asymmetric_quantize_inputs": True}, version=4,
      dims=_BMMQ, out=["float32"], tol=1e-6)
fcase("BATCH_MATMUL", "hybrid_pc_bcast", [X("B", "C", "M", "K"),
      WQ("K", "N", quant=Q(("rand", 0.002, 0.02, "N"), 0, 1))], version=1,
      dims=_BMMQ, out=["float32"], tol=1e-6)
fcase("FULLY_CONNECTED", "int8_runtime_weights", [XQ("B", "I", quant=Q(0.05, 2)),
      XQ("O", "I", quant=Q(0.01, 0)), None], version=4, dims=_FCQ,
      out=["int8"], out_quant=[Q(0.3, -4)])
fcase("FULLY_CONNECTED", "hybrid_runtime_weights_asym", [X("B", "I"),
      XQ("O", "I", quant=Q(0.01, 0)), None], {"asymmetric_quantize_inputs": True},
      version=12, dims=_FCQ, out=["float32"], tol=1e-6)
fcase("FULLY_CONNECTED", "int16_nobias_int64_type", [X("B", "I", dtype="int16", gen="qint",
      quant=Q(0.001, 0)), _wq_pc("O", "I"), None], {"quantized_bias_type": "INT64"},
      version=11, dims=_FCQ, out=["int16"], out_quant=[Q(0.003, 0)])
fcase("BATCH_MATMUL", "int8_to_int32", [XQ("B", "M", "K", quant=Q(0.05, -5)),
      XQ("B", "K", "N", quant=Q(0.03, 7))], version=2, dims=_BMMQ,
      out=["int32"])
fcase("BATCH_MATMUL", "int16x8", [X("B", "M", "K", dtype="int16", gen="qint", quant=Q(0.001, 0)),
      XQ("B", "K", "N", quant=Q(0.02, 0))], version=3, dims=_BMMQ,
      out=["int16"], out_quant=[Q(0.05, 0)])
fcase("BATCH_MATMUL", "hybrid_runtime_rhs_asym", [X("B", "M", "K"),
      XQ("B", "K", "N", quant=Q(0.02, 0))], {"asymmetric_quantize_inputs": True}, version=4,
      dims=_BMMQ, out=["float32"], tol=1e-6)

# ------------------------------------------- quantized elementwise (k-elem)
# Quantized elementwise, pooling, reduction and data-movement cases. Goldens
# come from the optimized builtin kernels (BUILTIN_WITHOUT_DEFAULT_DELEGATES,
# `avoid` BUILTIN_REF: the reference kernels round differently) and must match
# exactly (lsb 0).
def ecase(*args, **kw):
    kw.setdefault("lsb", 0)
    kw.setdefault("avoid", ["BUILTIN_REF"])
    return qcase(*args, **kw)


def XT(dt, *shape, **kw):  # quantized runtime input of type dt, full range
    return X(*shape, dtype=dt, gen=kw.pop("gen", "qint"), **kw)


_D4E = {"B": (1, 2), "H": (2, 6), "W": (2, 6), "C": (3, 20)}
_U = 128  # uint8 zero point shift
for _dt, _z in [("int8", 0), ("uint8", _U)]:
    # ADD: same shapes (SIMD blocks of 16 and a tail), the fivefold broadcast
    # loops (row and scalar) and a generic broadcast.
    ecase("ADD", _dt + "_same", [XT(_dt, *NHWC, quant=Q(0.05, 5 + _z)),
                                 XT(_dt, *NHWC, quant=Q(0.03, -10 + _z))], {},
          version=2, dims=_D4E, out=[_dt], out_quant=[Q(0.08, 2 + _z)])
    ecase("ADD", _dt + "_bcast_row_relu", [XT(_dt, *NHWC, quant=Q(0.05, 5 + _z)),
                                           XT(_dt, "C", quant=Q(0.1, _z))],
          {"fused_activation_function": "RELU"}, version=2, dims=_D4E, out=[_dt],
          out_quant=[Q(0.12, -100 + _z)])
    ecase("ADD", _dt + "_bcast_scalar", [XT(_dt, 1, quant=Q(0.02, 3 + _z)),
                                         XT(_dt, *NHWC, quant=Q(0.04, -7 + _z))], {},
          version=2, dims=_D4E, out=[_dt], out_quant=[Q(0.05, _z)])
    ecase("ADD", _dt + "_bcast_generic_relu6",
          [XT(_dt, "B", 1, "W", 1, quant=Q(0.05, 5 + _z)), XT(_dt, 1, "H", 1, "C", quant=Q(0.03, _z))],
          {"fused_activation_function": "RELU6"}, version=2, dims=_D4E, out=[_dt],
          out_quant=[Q(6.0 / 255, -128 + _z)])
    ecase("SUB", _dt + "_same", [XT(_dt, *NHWC, quant=Q(0.05, 5 + _z)),
                                 XT(_dt, *NHWC, quant=Q(0.03, -10 + _z))], {},
          version=2, dims=_D4E, out=[_dt], out_quant=[Q(0.08, 2 + _z)])
    ecase("SUB", _dt + "_bcast_relu", [XT(_dt, *NHWC, quant=Q(0.05, 5 + _z)),
                                       XT(_dt, 1, "W", 1, quant=Q(0.1, _z))],
          {"fused_activation_function": "RELU"}, version=2, dims=_D4E, out=[_dt],
          out_quant=[Q(0.12, -100 + _z)])
    ecase("MUL", _dt + "_same", [XT(_dt, *NHWC, quant=Q(0.05, 5 + _z)),
                                 XT(_dt, *NHWC, quant=Q(0.03, -10 + _z))], {},
          version=2, dims=_D4E, out=[_dt], out_quant=[Q(0.2, _z)])
    ecase("MUL", _dt + "_bcast_relu6", [XT(_dt, *NHWC, quant=Q(0.02, _z)),
                                        XT(_dt, 1, 1, "W", "C", quant=Q(0.04, 7 + _z))],
          {"fused_activation_function": "RELU6"}, version=2, dims=_D4E, out=[_dt],
          out_quant=[Q(0.05, -5 + _z)])
    _lo = -128 + _z
    ecase("DIV", _dt + "_pos_divisor", [XT(_dt, *NHWC, quant=Q(0.05, 3 + _z)),
                                        XT(_dt, *NHWC, gen=("int", 4 + _z, 128 + _z),
                                           quant=Q(0.1, 3 + _z))], {},
          version=2, dims=_D4E, out=[_dt], out_quant=[Q(0.5, 3 + _z)])
    ecase("DIV", _dt + "_neg_divisor_bcast", [XT(_dt, *NHWC, quant=Q(0.05, 3 + _z)),
                                              XT(_dt, "C", gen=("int", _lo, 3 + _z),
                                                 quant=Q(0.1, 3 + _z))], {},
          version=2, dims=_D4E, out=[_dt], out_quant=[Q(3.0, 3 + _z)])
    for _op in ["MAXIMUM", "MINIMUM"]:
        ecase(_op, _dt + "_bcast", [XT(_dt, *NHWC, quant=Q(0.05, 5 + _z)),
                                    XT(_dt, "C", quant=Q(0.05, 5 + _z))], {},
              version=2, dims=_D4E, out=[_dt], out_quant=[Q(0.05, 5 + _z)])
    for _op in ["LESS", "GREATER_EQUAL", "EQUAL", "NOT_EQUAL"]:
        ecase(_op, _dt + "_rescale", [XT(_dt, *NHWC, quant=Q(0.05, 3 + _z)),
                                      XT(_dt, "C", quant=Q(0.025, -1 + _z))], {},
              version=2, dims=_D4E, out=["bool"])
ecase("SQUARED_DIFFERENCE", "int8_bcast", [XT("int8", *NHWC, quant=Q(0.05, 5)),
                                           XT("int8", "C", quant=Q(0.03, -10))], {},
      version=2, dims=_D4E, out=["int8"], out_quant=[Q(0.3, -128)])
ecase("SQUARED_DIFFERENCE", "int8_same", [XT("int8", *NHWC, quant=Q(0.05, 5)),
                                          XT("int8", *NHWC, quant=Q(0.03, -10))], {},
      version=2, dims=_D4E, out=["int8"], out_quant=[Q(0.3, -128)])
# Big enough (8K elements and more, not a multiple of 16) for the pool to
# split it; tests/test_threads.py runs the "_threaded" cases at 2 and 3 threads.
ecase("ADD", "int8_threaded", [XT("int8", *NHWC, quant=Q(0.05, 5)),
                               XT("int8", *NHWC, quant=Q(0.03, -10))], {},
      version=2, dims={"B": (1, 1), "H": (33, 41), "W": (37, 45), "C": (23, 29)},
      out=["int8"], out_quant=[Q(0.08, 2)],
      avoid=["BUILTIN_REF", "BUILTIN"])  # XNNPACK (BUILTIN) rounds its own way
# int16 (zero points 0): general scales, and power-of-two scales.
ecase("ADD", "int16_general", [XT("int16", *NHWC, quant=Q(0.001, 0)),
                               XT("int16", *NHWC, quant=Q(0.0007, 0))], {},
      version=3, dims=_D4E, out=["int16"], out_quant=[Q(0.002, 0)])
ecase("ADD", "int16_pot", [XT("int16", *NHWC, quant=Q(2 ** -12, 0)),
                           XT("int16", *NHWC, quant=Q(2 ** -10, 0))],
      {"fused_activation_function": "RELU"}, version=3, dims=_D4E, out=["int16"],
      out_quant=[Q(2 ** -10, 0)])
ecase("SUB", "int16_bcast", [XT("int16", *NHWC, quant=Q(0.001, 0)),
                             XT("int16", "C", quant=Q(0.0007, 0))], {"pot_scale_int16": False},
      version=3, dims=_D4E, out=["int16"], out_quant=[Q(0.002, 0)])
ecase("MUL", "int16_bcast", [XT("int16", *NHWC, quant=Q(0.001, 0)),
                             XT("int16", "C", quant=Q(0.0007, 0))], {},
      version=5, dims=_D4E, out=["int16"], out_quant=[Q(0.0004, 0)])
ecase("LESS", "int16_raw", [XT("int16", *NHWC, gen=("int", -5, 5), quant=Q(0.001, 0)),
                            XT("int16", "C", gen=("int", -5, 5), quant=Q(0.001, 0))], {},
      version=3, dims=_D4E, out=["bool"])

# pooling
for _dt, _z, _v in [("int8", 3, 2), ("uint8", 131, 2), ("int16", 0, 3)]:
    for _op in ["MAX_POOL_2D", "AVERAGE_POOL_2D"]:
        ecase(_op, _dt + "_3x3_same_s2_relu6",
              [XT(_dt, *NHWC, quant=Q(0.05, _z))],
              {"padding": "SAME", "stride_w": 2, "stride_h": 2, "filter_width": 3,
               "filter_height": 3, "fused_activation_function": "RELU6"},
              version=_v, dims=_D4E, out=[_dt], out_quant=[Q(0.05, _z)])
        ecase(_op, _dt + "_2x2_valid",
              [XT(_dt, *NHWC, quant=Q(0.05, _z))],
              {"padding": "VALID", "stride_w": 2, "stride_h": 2, "filter_width": 2,
               "filter_height": 2}, version=_v, dims=_D4E, out=[_dt], out_quant=[Q(0.05, _z)])
    if _dt != "int16":  # 8-bit max: 16 channels at a time, windows inside the image, the rest
        _dw = {"B": (1, 2), "H": (8, 14), "W": (8, 14), "C": (17, 40)}
        ecase("MAX_POOL_2D", _dt + "_wide_3x3_same_s1_relu", [XT(_dt, *NHWC, quant=Q(0.05, _z))],
              {"padding": "SAME", "stride_w": 1, "stride_h": 1, "filter_width": 3, "filter_height": 3,
               "fused_activation_function": "RELU"}, version=_v, dims=_dw, out=[_dt],
              out_quant=[Q(0.05, _z)], qemu=True)
        ecase("MAX_POOL_2D", _dt + "_wide_2x3_valid_s2", [XT(_dt, *NHWC, quant=Q(0.05, _z))],
              {"padding": "VALID", "stride_w": 2, "stride_h": 2, "filter_width": 3, "filter_height": 2},
              version=_v, dims=_dw, out=[_dt], out_quant=[Q(0.05, _z)])

# reductions
_DR = {"B": (1, 2), "H": (2, 7), "W": (2, 7), "C": (3, 40)}
for _dt, _z in [("int8", 3), ("uint8", 131), ("int16", 0)]:
    ecase("MEAN", _dt + "_hw_keep", [XT(_dt, *NHWC, quant=Q(0.05, _z)), K([1, 2])],
          {"keep_dims": True}, version=2, dims=_DR, out=[_dt], out_quant=[Q(0.03, _z)])
    ecase("MEAN", _dt + "_hw_drop", [XT(_dt, *NHWC, quant=Q(0.05, _z)), K([1, 2])],
          {"keep_dims": False}, version=2, dims=_DR, out=[_dt], out_quant=[Q(0.05, _z)])
    if _dt != "int16":  # more than 256 pixels: 8-bit sums in 16-bit lanes, 256 rows at a time
        ecase("MEAN", _dt + "_hw_large", [XT(_dt, *NHWC, quant=Q(0.05, _z)), K([1, 2])],
              {"keep_dims": True}, version=2, dims=dict(_DR, H=(17, 25), W=(17, 25), C=(3, 20)),
              out=[_dt], out_quant=[Q(0.03, _z)])
    ecase("MEAN", _dt + "_axis1", [XT(_dt, "B", "H", "C", quant=Q(0.05, _z)), K([1])],
          {"keep_dims": False}, version=2, dims=_DR, out=[_dt],
          out_quant=[Q(0.02, _z - 2 if _dt != "int16" else 0)])
    ecase("SUM", _dt + "_last_keep", [XT(_dt, "B", "H", "C", quant=Q(0.05, _z)), K([2])],
          {"keep_dims": True}, version=2, dims=_DR, out=[_dt],
          out_quant=[Q(0.5, _z - 3 if _dt != "int16" else 0)])
    ecase("SUM", _dt + "_same_params", [XT(_dt, "B", "H", "C", quant=Q(0.05, _z)), K([1])],
          {"keep_dims": False}, version=2, dims=_DR, out=[_dt], out_quant=[Q(0.05, _z)])
    for _op in ["REDUCE_MAX", "REDUCE_MIN"]:
        ecase(_op, _dt + "_axes_0_2", [XT(_dt, "B", "H", "C", quant=Q(0.05, _z)), K([0, 2])],
              {"keep_dims": False}, version=3, dims=_DR, out=[_dt], out_quant=[Q(0.05, _z)])

for _dt, _z in [("int8", 2), ("int16", 0)]:
    ecase("REDUCE_PROD", _dt + "_last", [XT(_dt, "B", "H", 5, gen=("int", -20, 20), quant=Q(0.05, _z)),
                                         K([2])], {"keep_dims": False}, version=2, dims=_DR,
          out=[_dt], out_quant=[Q(0.2, 4 if _dt == "int8" else 0)])
    ecase("REDUCE_PROD", _dt + "_axis0_keep", [XT(_dt, 4, "H", quant=Q(0.05, _z)), K([0])],
          {"keep_dims": True}, version=2, dims=_DR, out=[_dt], out_quant=[Q(0.05, _z)])

for _op, _v in [("SELECT", 2), ("SELECT_V2", 1)]:
    ecase(_op, "int8_other_params", [X("A", "B", dtype="bool", gen="bool"),
                                     XT("int8", "A", "B", quant=Q(0.05, 3)),
                                     XT("int8", "A", "B", quant=Q(0.07, -2))], {},
          version=_v, dims=D3, out=["int8"], out_quant=[Q(0.06, 1)])

# int8 RESIZE_BILINEAR over 16 channels and more: the AVX2 blend 16 channels at a time, the rest one by one
_RW = {"B": (1, 2), "H": (2, 6), "W": (2, 6), "C": (17, 40)}
ecase("RESIZE_BILINEAR", "int8_wide_half_pixel", [XT("int8", "B", "H", "W", "C", quant=Q(0.05, 3)),
                                                  K(["H*2", "W*2"])],
      {"half_pixel_centers": True}, version=3, dims=_RW, out=["int8"], out_quant=[Q(0.05, 3)], qemu=True)
ecase("RESIZE_BILINEAR", "int8_wide_align", [XT("int8", "B", "H", "W", "C", quant=Q(0.05, 3)),
                                             K(["H*2-1", "W+3"])],
      {"align_corners": True}, version=3, dims=_RW, out=["int8"], out_quant=[Q(0.05, 3)])

# concatenation: uint8 inputs with other parameters are requantized
ecase("CONCATENATION", "uint8_requant", [XT("uint8", "A", "B", quant=Q(0.05, 128)),
                                         XT("uint8", "A", "C", quant=Q(0.07, 120))],
      {"axis": 1}, version=1, dims=D3, out=["uint8"], out_quant=[Q(0.06, 130)])
# Channel rows of 17-64 bytes (16-byte moves, the last one overlapping), big enough for the pool to
# split the pixels: a U-Net skip connection; tests/test_threads.py runs it at 2 and 3 threads.
ecase("CONCATENATION", "int8_skip_threaded", [XT("int8", "B", "H", "W", "C", quant=Q(0.05, 3)),
                                              XT("int8", "B", "H", "W", "D", quant=Q(0.05, 3))],
      {"axis": 3}, version=2, dims={"B": (1, 2), "H": (22, 28), "W": (22, 28), "C": (17, 33),
                                    "D": (5, 64)},
      out=["int8"], out_quant=[Q(0.05, 3)])
ecase("CONCATENATION", "int16_other_params", [XT("int16", "A", "B", quant=Q(0.001, 0)),
                                              XT("int16", "A", "C", quant=Q(0.002, 0))],
      {"axis": 1}, version=3, dims=D3, out=["int16"], out_quant=[Q(0.0015, 0)])
ecase("PADV2", "int8_const", [XT("int8", *NHWC, quant=Q(0.05, 3)),
                              K([[0, 0], [1, 1], [0, 2], [1, 0]]),
                              K([-7], "int8", shape=[], quant=Q(0.05, 3))], {},
      version=2, dims=D4, out=["int8"], out_quant=[Q(0.05, 3)])
ecase("PAD", "int8_other_params", [XT("int8", *NHWC, quant=Q(0.05, 3)),
                                   K([[0, 0], [1, 2], [2, 1], [0, 0]])], {},
      version=2, dims=D4, out=["int8"], out_quant=[Q(0.07, -5)])


# data movement: every float case of these ops once more on int8 (input and
# output with the same parameters), and the resizes on uint8 too.
def _quantized_variants():
    import copy
    ops = {"RESHAPE", "SQUEEZE", "EXPAND_DIMS", "CONCATENATION", "PACK", "UNPACK", "SPLIT",
           "SPLIT_V", "SLICE", "STRIDED_SLICE", "GATHER", "GATHER_ND", "TRANSPOSE", "TILE",
           "PAD", "MIRROR_PAD", "BROADCAST_TO", "DEPTH_TO_SPACE", "SPACE_TO_DEPTH",
           "RESIZE_BILINEAR", "RESIZE_NEAREST_NEIGHBOR", "ARG_MAX", "ARG_MIN"}
    keep_version = {"RESHAPE", "SQUEEZE", "EXPAND_DIMS", "BROADCAST_TO"}
    for c in list(CASES):
        if c.op not in ops or not c.inputs or c.inputs[0] is None:
            continue
        if any(s is not None and s.dtype == "float32" and s.value is not None
               for s in c.inputs):
            continue
        if c.inputs[0].dtype != "float32":
            continue
        types = [("int8", 3)]
        if c.op.startswith("RESIZE"):
            types.append(("uint8", 131))
        for dt, z in types:
            ins = []
            for s in c.inputs:
                if s is not None and s.dtype == "float32":
                    s = copy.copy(s)
                    s.dtype, s.gen, s.quant = dt, "qint", Q(0.05, z)
                ins.append(s)
            outs = [dt if o == "float32" else o for o in c.output_dtypes()]
            oq = [Q(0.05, z) if o == dt else None for o in outs]
            ecase(c.op, "%s_%s" % (dt, c.desc), ins, dict(c.options),
                  version=c.version if c.op in keep_version else max(c.version, 2),
                  dims=c.dims, shapes=1, out=outs, out_quant=oq)


_quantized_variants()

# the official x86_64 hybrid kernel's corner cases: int16-lane row sums that
# wrap on long positive rows, the sign quirk of -128 weights (full int8 range)
fcase("FULLY_CONNECTED", "hybrid_long_rows_asym", [X("B", "I", gen=("uniform", 0.5, 2)),
      W("O", "I", dtype="int8", gen=("int", 90, 128), quant=Q(0.001, 0)), None],
      {"asymmetric_quantize_inputs": True}, version=12,
      dims={"B": (1, 3), "I": (4090, 4110), "O": (1, 4)}, out=["float32"], tol=1e-6)
fcase("FULLY_CONNECTED", "hybrid_full_range_weights", [X("B", "I"),
      W("O", "I", dtype="int8", gen="qint", quant=Q(0.01, 0)), W("O")],
      {"asymmetric_quantize_inputs": True}, version=12, dims=_FCQ, shapes=3,
      out=["float32"], tol=1e-6)
fcase("FULLY_CONNECTED", "hybrid_full_range_weights_sym", [X("B", "I"),
      W("O", "I", dtype="int8", gen="qint", quant=Q(0.01, 0)), None], version=12, dims=_FCQ,
      out=["float32"], tol=1e-6)
acase("SOFTMAX", "int16", [SQ("B", "C", quant=Q(0.0005, 0))], {"beta": 1.0}, version=3,
      dims=_SMD, out=["int16"], out_quant=[Q(1.0 / 32768, 0)])
acase("SOFTMAX", "int16_beta", [SQ(*NHWC, quant=Q(0.0002, 0))], {"beta": 2.5}, version=3,
      dims=D4, out=["int16"], out_quant=[Q(1.0 / 32768, 0)])
acase("TANH", "int16_pot_shift1", [SQ(*NHWC, quant=Q(1.0 / 2048, 0))], version=3, avoid=_NOREF,
      out=["int16"], out_quant=[Q(1.0 / 32768, 0)])
