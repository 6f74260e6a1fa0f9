"""opgen: build single-op (or few-op) .tflite models for the op tests.

    from opgen import TensorSpec, QuantSpec, build_model
    model = build_model("CONV_2D",
                        inputs=[TensorSpec((1, 8, 8, 3)),
                                TensorSpec((4, 3, 3, 3), data=w),
                                TensorSpec((4,), data=bias)],
                        outputs=[TensorSpec((1, 4, 4, 4))],
                        options={"padding": "SAME", "stride_w": 2, "stride_h": 2,
                                 "fused_activation_function": "RELU6"})

Modules: ``builder`` (flatbuffer writer; needs the ``flatbuffers`` and
``tflite`` packages), ``options`` (options tables as data), ``cases`` (the op
cases, numpy only), ``gen`` (case expansion, golden runs), ``make_goldens``
(writes tests/data/ops).  Importing this package does not import the builder,
so test collection works with numpy alone.
"""


def __getattr__(name):  # lazy: keep `import opgen.cases` free of flatbuffers/tflite
    if name in ("TensorSpec", "QuantSpec", "OpSpec", "build_model", "build_graph"):
        from . import builder
        return getattr(builder, name)
    raise AttributeError(name)


__all__ = ["TensorSpec", "QuantSpec", "OpSpec", "build_model", "build_graph"]
