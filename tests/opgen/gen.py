"""Turn op cases (cases.py) into concrete models, inputs and reference outputs.

A case has symbolic dimensions (``dims``) drawn per shape variant ``k`` from a
generator seeded by (crc32(case name), k); tensor data is drawn from a second
generator seeded by (crc32(case name), k, 1000 + data_seed).  The golden files
use data_seed 0; the live oracle test uses data seeds 1 and 2 on the same
shapes.

Output shapes are not written in the cases: a first build carries scalar
placeholder output shapes, the official runtime infers the real shapes, and
the final model is rebuilt with them.
"""

import zlib

import numpy as np

from . import cases as _cases

# The official runtime's kernels used for the goldens: the reference kernels
# (tflite::ops::builtin::BuiltinRefOpResolver), no delegates.  Where those lack
# the op or op version (e.g. CEIL, STRIDED_SLICE > v4), the optimised builtin
# kernels without delegates.  INDEX.json records which one made each golden.
GOLDEN_RESOLVER = "BUILTIN_REF"
FALLBACK_RESOLVER = "BUILTIN_WITHOUT_DEFAULT_DELEGATES"


def _crc(s):
    return zlib.crc32(s.encode("utf-8"))


def evaluate(expr, env):
    """Evaluate a dimension expression ("H*2", "C//2", 3) against drawn dims."""
    if isinstance(expr, _cases.E):
        expr = expr.expr
    if isinstance(expr, str):
        return eval(expr, {"__builtins__": {}, "min": min, "max": max}, dict(env))
    return expr


def _resolve(value, env):
    if isinstance(value, (list, tuple)):
        return [_resolve(v, env) for v in value]
    return evaluate(value, env)


def _resolve_options(value, env):
    """Options: only E(...) markers are expressions (other strings are enum names)."""
    if isinstance(value, (list, tuple)):
        return [_resolve_options(v, env) for v in value]
    return evaluate(value, env) if isinstance(value, _cases.E) else value


def draw_dims(case, k):
    rng = np.random.default_rng([_crc(case.name), k])
    env = {}
    for name, spec in case.dims.items():
        if isinstance(spec, tuple):
            lo, hi = spec
            env[name] = int(rng.integers(evaluate(lo, env), evaluate(hi, env) + 1))
        elif isinstance(spec, list):
            env[name] = spec[int(rng.integers(0, len(spec)))]
        else:
            env[name] = int(evaluate(spec, env))
    return env


def _draw(gen, shape, dtype, rng, env):
    dtype = np.dtype(dtype)
    if isinstance(gen, str):
        gen = (gen,)
    kind, args = gen[0], [evaluate(a, env) for a in gen[1:]]
    if kind == "normal":
        scale = args[0] if args else 1.0
        x = rng.standard_normal(shape) * scale
    elif kind == "uniform":
        x = rng.uniform(args[0], args[1], shape)
    elif kind == "pos":  # strictly positive, for LOG / SQRT / RSQRT / POW bases
        x = rng.uniform(0.25, 4.0, shape)
    elif kind == "nonzero":  # |x| in [0.5, 2], for divisors
        x = rng.uniform(0.5, 2.0, shape) * rng.choice([-1.0, 1.0], shape)
    elif kind == "intf":  # small integers (as float): ties and equal elements
        x = rng.integers(-3, 4, shape).astype(np.float64)
    elif kind == "int":  # integers in [lo, hi)
        lo, hi = (args + [None, None])[:2] if args else (-10, 10)
        x = rng.integers(lo, hi, shape)
    elif kind == "bool":
        x = rng.random(shape) < 0.5
    elif kind == "perm":  # a permutation of range(n), n = the 1-D shape
        x = rng.permutation(shape[0])
    elif kind == "special":  # floats with NaN, infinities and values beyond int32 among normal ones
        x = rng.standard_normal(shape) * (args[0] if args else 1.0)
        picks = np.array([np.nan, np.inf, -np.inf, 3e9, -3e9, 2.5e9, -2.2e9, 1e30, -1e30])
        mask = rng.random(shape) < 0.25
        x = np.where(mask, picks[rng.integers(0, len(picks), shape)], x)
    elif kind == "qint":  # full range of the (integer) dtype
        info = np.iinfo(dtype)
        x = rng.integers(int(info.min), int(info.max) + 1, shape)
    else:
        raise ValueError("unknown data generator %r" % (gen,))
    return np.asarray(x).astype(dtype)


def _quant(q, env, rng, earlier=()):
    """cases.Q -> builder.QuantSpec.  Scale forms: a float; ("rand", lo, hi, n)
    for n drawn per-channel scales; ("product", i, j) for the elementwise
    product of the scales of inputs i and j (a bias: input scale x filter scales)."""
    from .builder import QuantSpec
    if q is None:
        return None
    scale = q.scale
    if isinstance(scale, tuple) and scale[0] == "rand":
        _, lo, hi, n = scale
        scale = [float(v) for v in np.round(rng.uniform(lo, hi, int(evaluate(n, env))), 6)]
    elif isinstance(scale, tuple) and scale[0] == "product":
        a, b = (np.asarray(earlier[i].quant.scales(), np.float64) for i in scale[1:])
        scale = [float(v) for v in np.float32(a * b)]
    zp = q.zero_point
    if isinstance(scale, list) and not isinstance(zp, (list, tuple)):
        zp = [zp] * len(scale)
    return QuantSpec(scale, zp, q.axis)


class Instance(object):
    """One concrete model of a case: shape variant k, data seed s."""

    def __init__(self, case, k, data_seed=0):
        from .builder import TensorSpec, build_model
        self.case, self.k, self.data_seed = case, k, data_seed
        self.dims = env = draw_dims(case, k)
        rng = np.random.default_rng([_crc(case.name), k, 1000 + data_seed])
        qrng = np.random.default_rng([_crc(case.name), k, 7])  # quant params: per shape
        self.in_specs, self.inputs = [], []
        for spec in case.inputs:
            if spec is None:
                self.in_specs.append(None)
                continue
            q = _quant(spec.quant, env, qrng, self.in_specs)
            if spec.value is not None:
                data = np.asarray(_resolve(spec.value, env)).astype(spec.dtype)
                shape = data.shape if spec.shape is None else tuple(_resolve(spec.shape, env))
                data = data.reshape(shape)
            else:
                shape = tuple(int(d) for d in _resolve(spec.shape, env))
                data = _draw(spec.gen, shape, spec.dtype, rng, env)
            if spec.const:
                self.in_specs.append(TensorSpec(shape, spec.dtype, data, q))
            else:
                self.in_specs.append(TensorSpec(shape, spec.dtype, None, q))
                self.inputs.append(data)
        self.out_dtypes = case.output_dtypes()
        self.out_quants = [_quant(q, env, qrng) for q in case.output_quants()]
        self.options = {k2: _resolve_options(v, env) for k2, v in case.options.items()}
        self._build = build_model
        self._TensorSpec = TensorSpec
        self.model = self.build([()] * len(self.out_dtypes))

    def build(self, out_shapes):
        outs = [self._TensorSpec(s, d, None, q)
                for s, d, q in zip(out_shapes, self.out_dtypes, self.out_quants)]
        return self._build(self.case.op, self.in_specs, outs, self.options,
                           self.case.version)

    def finalize(self, resolver=None):
        """Rebuild with the output shapes the official runtime infers; returns
        the official outputs of the final model (sets self.resolver)."""
        if resolver is None and GOLDEN_RESOLVER in self.case.avoid:
            # the reference kernels compute this case differently from the
            # optimized builtin ones we match (k-act: softmax, quantize...)
            resolver = FALLBACK_RESOLVER
        if resolver is None:
            try:
                official_interpreter(self.model, GOLDEN_RESOLVER)
                resolver = GOLDEN_RESOLVER
            except ValueError as e:  # op (version) not registered
                if "find op" not in str(e):
                    raise
                resolver = FALLBACK_RESOLVER
        self.resolver = resolver
        first = run_official(self.model, self.inputs, resolver)
        self.model = self.build([o.shape for o in first])
        outs = run_official(self.model, self.inputs, resolver)
        for a, b in zip(first, outs):
            if a.shape != b.shape or not np.array_equal(a, b, equal_nan=True):
                raise AssertionError("%s: outputs changed after fixing output shapes"
                                     % self.case.name)
        return outs


def official_interpreter(model, resolver=GOLDEN_RESOLVER):
    from ai_edge_litert.interpreter import Interpreter, OpResolverType
    return Interpreter(model_content=model,
                       experimental_op_resolver_type=getattr(OpResolverType, resolver))


def run(interpreter, inputs):
    """Drive a tflite_runtime-style interpreter: returns the output arrays."""
    interpreter.allocate_tensors()
    details = interpreter.get_input_details()
    if len(details) != len(inputs):
        raise AssertionError("model has %d inputs, case gives %d" % (len(details), len(inputs)))
    for d, x in zip(details, inputs):
        interpreter.set_tensor(d["index"], x)
    interpreter.invoke()
    return [np.array(interpreter.get_tensor(d["index"]))
            for d in interpreter.get_output_details()]


def run_official(model, inputs, resolver=GOLDEN_RESOLVER):
    return run(official_interpreter(model, resolver), inputs)


def case_id(case, k):
    """File stem of shape variant k: <op lower>-<desc>-s<k>."""
    return "%s-%s-s%d" % (case.op.lower(), case.desc, k)


def all_cases():
    """(case, quant?) for every case, float cases first."""
    return [(c, False) for c in _cases.CASES] + [(c, True) for c in _cases.QUANT_CASES]


def find_case(name):
    for c, _ in all_cases():
        if c.name == name:
            return c
    raise KeyError(name)
