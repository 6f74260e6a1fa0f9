"""Builtin-options tables of the ops opgen can emit, as data.

``OPTIONS[op] = (table, {field: kind})`` where ``table`` is the name of the
options table in the .tflite schema (and of the union member in
``BuiltinOptions``) and ``field`` is the snake_case schema field name.  Ops
that carry no options table at all map to ``None``.  The builder turns a field
name into the generated ``tflite.<table>`` builder function
(``<table>Add<CamelName>``), so slot ids and scalar widths come from the
generated code and are not repeated here.

Kinds say how a Python value is converted before it is written:
  ``act``     ActivationFunctionType name ("NONE", "RELU", "RELU6", ...)
  ``padding`` Padding name ("SAME", "VALID")
  ``mirror``  MirrorPadMode name ("REFLECT", "SYMMETRIC")
  ``ttype``   TensorType name or numpy dtype ("INT32", np.int64, ...)
  ``int`` / ``float`` / ``bool``  scalars
  ``ints``    vector of int32
"""

ACT, PADDING, MIRROR, TTYPE = "act", "padding", "mirror", "ttype"
INT, FLOAT, BOOL, INTS = "int", "float", "bool", "ints"

_FAF = {"fused_activation_function": ACT}
_POOL = {"padding": PADDING, "stride_w": INT, "stride_h": INT,
         "filter_width": INT, "filter_height": INT,
         "fused_activation_function": ACT}
_REDUCER = ("ReducerOptions", {"keep_dims": BOOL})

OPTIONS = {
    # k-lstm
    "UNIDIRECTIONAL_SEQUENCE_LSTM": ("UnidirectionalSequenceLSTMOptions", {
        "fused_activation_function": ACT, "cell_clip": FLOAT, "proj_clip": FLOAT,
        "time_major": BOOL, "asymmetric_quantize_inputs": BOOL}),
    # elementwise binary
    "ADD": ("AddOptions", dict(_FAF, pot_scale_int16=BOOL)),
    "SUB": ("SubOptions", dict(_FAF, pot_scale_int16=BOOL)),
    "MUL": ("MulOptions", dict(_FAF)),
    "DIV": ("DivOptions", dict(_FAF)),
    "MAXIMUM": ("MaximumMinimumOptions", {}),
    "MINIMUM": ("MaximumMinimumOptions", {}),
    "SQUARED_DIFFERENCE": ("SquaredDifferenceOptions", {}),
    "POW": ("PowOptions", {}),
    "FLOOR_DIV": ("FloorDivOptions", {}),
    "FLOOR_MOD": ("FloorModOptions", {}),
    # elementwise unary
    "ABS": ("AbsOptions", {}),
    "EXP": ("ExpOptions", {}),
    "LOG": None,
    "CUSTOM": None,  # custom ops carry raw custom_options bytes instead (OpSpec.custom_options)
    "NEG": ("NegOptions", {}),
    "SQRT": None,
    "RSQRT": None,
    "SQUARE": ("SquareOptions", {}),
    "FLOOR": None,
    "CEIL": None,
    "TANH": None,
    "LOGISTIC": None,
    "RELU": None,
    "RELU6": None,
    "RELU_N1_TO_1": None,
    "RELU_0_TO_1": None,
    "ELU": None,
    "LEAKY_RELU": ("LeakyReluOptions", {"alpha": FLOAT}),
    "PRELU": None,
    "HARD_SWISH": ("HardSwishOptions", {}),
    "GELU": ("GeluOptions", {"approximate": BOOL}),
    "QUANTIZE": ("QuantizeOptions", {}),
    "DEQUANTIZE": ("DequantizeOptions", {}),
    # normalisation
    "SOFTMAX": ("SoftmaxOptions", {"beta": FLOAT}),
    "LOG_SOFTMAX": ("LogSoftmaxOptions", {}),
    "L2_NORMALIZATION": ("L2NormOptions", dict(_FAF)),
    # comparison / logical / select
    "EQUAL": ("EqualOptions", {}),
    "NOT_EQUAL": ("NotEqualOptions", {}),
    "GREATER": ("GreaterOptions", {}),
    "GREATER_EQUAL": ("GreaterEqualOptions", {}),
    "LESS": ("LessOptions", {}),
    "LESS_EQUAL": ("LessEqualOptions", {}),
    "LOGICAL_AND": ("LogicalAndOptions", {}),
    "LOGICAL_OR": ("LogicalOrOptions", {}),
    "LOGICAL_NOT": ("LogicalNotOptions", {}),
    "SELECT": ("SelectOptions", {}),
    "SELECT_V2": ("SelectV2Options", {}),
    "CAST": ("CastOptions", {"in_data_type": TTYPE, "out_data_type": TTYPE}),
    # convolution / matmul / pooling
    "CONV_2D": ("Conv2DOptions", {
        "padding": PADDING, "stride_w": INT, "stride_h": INT,
        "fused_activation_function": ACT,
        "dilation_w_factor": INT, "dilation_h_factor": INT,
        "quantized_bias_type": TTYPE}),
    "DEPTHWISE_CONV_2D": ("DepthwiseConv2DOptions", {
        "padding": PADDING, "stride_w": INT, "stride_h": INT,
        "depth_multiplier": INT, "fused_activation_function": ACT,
        "dilation_w_factor": INT, "dilation_h_factor": INT}),
    "TRANSPOSE_CONV": ("TransposeConvOptions", {
        "padding": PADDING, "stride_w": INT, "stride_h": INT,
        "fused_activation_function": ACT, "quantized_bias_type": TTYPE}),
    "FULLY_CONNECTED": ("FullyConnectedOptions", {
        "fused_activation_function": ACT, "keep_num_dims": BOOL,
        "asymmetric_quantize_inputs": BOOL, "quantized_bias_type": TTYPE}),
    "BATCH_MATMUL": ("BatchMatMulOptions", {
        "adj_x": BOOL, "adj_y": BOOL, "asymmetric_quantize_inputs": BOOL}),
    "AVERAGE_POOL_2D": ("Pool2DOptions", dict(_POOL)),
    "MAX_POOL_2D": ("Pool2DOptions", dict(_POOL)),
    # reductions
    "MEAN": _REDUCER,
    "SUM": _REDUCER,
    "REDUCE_MAX": _REDUCER,
    "REDUCE_MIN": _REDUCER,
    "REDUCE_PROD": _REDUCER,
    "ARG_MAX": ("ArgMaxOptions", {"output_type": TTYPE}),
    "ARG_MIN": ("ArgMinOptions", {"output_type": TTYPE}),
    # shape manipulation
    "RESHAPE": ("ReshapeOptions", {"new_shape": INTS}),
    "SQUEEZE": ("SqueezeOptions", {"squeeze_dims": INTS}),
    "EXPAND_DIMS": ("ExpandDimsOptions", {}),
    "CONCATENATION": ("ConcatenationOptions", dict(_FAF, axis=INT)),
    "PACK": ("PackOptions", {"values_count": INT, "axis": INT}),
    "UNPACK": ("UnpackOptions", {"num": INT, "axis": INT}),
    "SPLIT": ("SplitOptions", {"num_splits": INT}),
    "SPLIT_V": ("SplitVOptions", {"num_splits": INT}),
    "SLICE": ("SliceOptions", {}),
    "STRIDED_SLICE": ("StridedSliceOptions", {
        "begin_mask": INT, "end_mask": INT, "ellipsis_mask": INT,
        "new_axis_mask": INT, "shrink_axis_mask": INT, "offset": BOOL}),
    "GATHER": ("GatherOptions", {"axis": INT, "batch_dims": INT}),
    "GATHER_ND": ("GatherNdOptions", {}),
    "TRANSPOSE": ("TransposeOptions", {}),
    "TILE": ("TileOptions", {}),
    "PAD": ("PadOptions", {}),
    "PADV2": ("PadV2Options", {}),
    "MIRROR_PAD": ("MirrorPadOptions", {"mode": MIRROR}),
    "BROADCAST_TO": ("BroadcastToOptions", {}),
    "DEPTH_TO_SPACE": ("DepthToSpaceOptions", {"block_size": INT}),
    "SPACE_TO_DEPTH": ("SpaceToDepthOptions", {"block_size": INT}),
    "RESIZE_BILINEAR": ("ResizeBilinearOptions", {
        "align_corners": BOOL, "half_pixel_centers": BOOL}),
    "RESIZE_NEAREST_NEIGHBOR": ("ResizeNearestNeighborOptions", {
        "align_corners": BOOL, "half_pixel_centers": BOOL}),
    # generators
    "ZEROS_LIKE": ("ZerosLikeOptions", {}),
    "FILL": ("FillOptions", {}),
    "RANGE": ("RangeOptions", {}),
    "SHAPE": ("ShapeOptions", {"out_type": TTYPE}),
}
