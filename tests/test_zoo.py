"""Every model of the zoo (../shared/models) against its reference outputs, and against the official runtime.

Tolerances, per output:
- float outputs: max |ours - ref| <= max(1e-5 * range(ref), 10 * dev), where dev is how far the official
  runtime's own builtin kernels deviate from the reference (meta.json `dev_vs_builtin_no_xnnpack`);
- quantized outputs: at most the recorded deviation in LSB (`max_abs_lsb`, usually 0 or 1);
- integer outputs such as ARG_MAX (`mismatches`): exact.
The run prints a table of the worst deviation per model.

Against the official runtime's builtin kernels (no XNNPACK) on random inputs, both sides with
OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES (the builtin kernels' fixed-point numerics), quantized
outputs must be bit-exact; float outputs as above.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import tflite_cffi
from tflite_cffi.interpreter import OpResolverType

MODELS_DIR_HINT = Path(__file__).resolve().parents[2] / "shared" / "models"

# Small models that every emulated ARM target runs (marked qemu).
QEMU_FAMILIES = {"mlp_64", "kws_conv1d", "mobilenet_v1_025_128", "ops_coverage", "text_lstm_while",
                 "text_gru_unrolled", "ops_dynamic_shape", "text_lstm_fused", "unet_small_128"}

_RESULTS: list[tuple[str, str, str, str]] = []


def _manifest_models() -> list[dict]:
    import os

    root = Path(os.environ.get("TFLITE_CFFI_MODELS", MODELS_DIR_HINT))
    try:
        return json.loads((root / "manifest.json").read_text())["models"]
    except OSError:
        return []


def _params() -> list:
    params = []
    for m in _manifest_models():
        marks = []
        if m["family"] in QEMU_FAMILIES:
            marks.append(pytest.mark.qemu)
        params.append(pytest.param(m, id=m["file"][: -len(".tflite")], marks=marks))
    return params


@pytest.fixture(scope="module", autouse=True)
def _print_table(request):
    yield
    if not _RESULTS:
        return
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is None:
        return
    reporter.write_line("")
    reporter.write_line(f"{'model':<36} {'variant':<9} {'worst deviation / allowed':<34} result")
    for row in sorted(_RESULTS):
        reporter.write_line(f"{row[0]:<36} {row[1]:<9} {row[2]:<34} {row[3]}")


def _tolerance(ref: np.ndarray, dev: dict) -> tuple[str, float]:
    """(kind, allowed deviation) for one output from its meta.json deviation record."""
    if "max_abs_lsb" in dev:
        return "lsb", float(dev["max_abs_lsb"])
    if "mismatches" in dev:
        return "exact", 0.0
    rng = float(ref.max() - ref.min()) if ref.size else 0.0
    return "abs", max(1e-5 * rng, 10.0 * float(dev.get("max_abs", 0.0)))


def _deviation(ours: np.ndarray, ref: np.ndarray) -> float:
    if ours.dtype == np.bool_:
        return float(np.count_nonzero(ours != ref))
    return float(np.max(np.abs(ours.astype(np.float64) - ref.astype(np.float64)))) if ref.size else 0.0


def _run(interp_cls, model_path: Path, inputs: list[np.ndarray], **kwargs) -> list[np.ndarray]:
    interp = interp_cls(model_path=str(model_path), **kwargs)
    details = interp.get_input_details()
    for d, x in zip(details, inputs):
        if list(d["shape"]) != list(x.shape):
            interp.resize_tensor_input(d["index"], list(x.shape))
    interp.allocate_tensors()
    for d, x in zip(interp.get_input_details(), inputs):
        interp.set_tensor(d["index"], x)
    interp.invoke()
    return [interp.get_tensor(d["index"]).copy() for d in interp.get_output_details()]


@pytest.mark.parametrize("model", _params())
def test_reference_outputs(model, models_dir, load_refs):
    stem = model["file"][: -len(".tflite")]
    inputs, refs, meta = load_refs(stem)
    devs = model["reference"]["dev_vs_builtin_no_xnnpack"]
    try:
        outs = _run(tflite_cffi.Interpreter, models_dir / model["file"], inputs)
    except Exception as e:
        _RESULTS.append((model["family"], model["variant"], f"error: {type(e).__name__}"[:34], "FAIL"))
        raise
    assert len(outs) == len(refs)
    worst, ok = "", True
    for i, (ours, ref, dev) in enumerate(zip(outs, refs, devs)):
        assert ours.shape == ref.shape, f"output {i}: shape {ours.shape} != reference {ref.shape}"
        assert ours.dtype == ref.dtype, f"output {i}: dtype {ours.dtype} != reference {ref.dtype}"
        kind, allowed = _tolerance(ref, dev)
        got = _deviation(ours, ref)
        worst += f"{got:.3g}/{allowed:.3g} " if kind != "exact" else f"{got:g}/0 "
        ok = ok and got <= allowed
    _RESULTS.append((model["family"], model["variant"], worst.strip(), "ok" if ok else "FAIL"))
    for i, (ours, ref, dev) in enumerate(zip(outs, refs, devs)):
        kind, allowed = _tolerance(ref, dev)
        got = _deviation(ours, ref)
        assert got <= allowed, f"{stem} output {i}: deviation {got} > allowed {allowed} ({kind})"


def _random_inputs(model: dict, seed: int, shapes=None) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    xs = []
    for k, spec in enumerate(model["inputs"]):
        shape = shapes[k] if shapes else spec["shape"]
        dtype = np.dtype(spec["dtype"])
        gen = model["input_gen"][k]
        if dtype.kind == "f":
            xs.append(rng.uniform(gen.get("lo", -1.0), gen.get("hi", 1.0), size=shape).astype(dtype))
        elif gen["kind"] == "randint" and dtype == np.dtype(gen["dtype"]):
            xs.append(rng.integers(gen["lo"], gen["hi"], size=shape).astype(dtype))
        else:
            info = np.iinfo(dtype)
            xs.append(rng.integers(info.min, info.max, size=shape, endpoint=True).astype(dtype))
    return xs


def _oracle_params() -> list:
    params = []
    for m in _manifest_models():
        params.append(pytest.param(m, id=m["file"][: -len(".tflite")]))
    return params


@pytest.mark.oracle
@pytest.mark.parametrize("model", _oracle_params())
def test_against_official_runtime(model, models_dir, oracle):
    """Random inputs (fixed seeds) through ours and through ai-edge-litert's builtin kernels, both
    with the resolver that selects the builtin kernels' numerics (fixed-point requantization)."""
    path = models_dir / model["file"]
    devs = model["reference"]["dev_vs_builtin_no_xnnpack"]
    shape_sets = [None]
    sig = model["inputs"][0]["shape_signature"]
    if -1 in sig:  # dynamic dims: try several sizes
        shape_sets = [[[d if d != -1 else n for d in sig]] for n in (1, 3, 7)]
    for seed in (1, 2, 3):
        for shapes in shape_sets:
            xs = _random_inputs(model, seed, shapes)
            theirs = _run(
                oracle.Interpreter, path, xs,
                experimental_op_resolver_type=oracle.OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES,
            )
            ours = _run(tflite_cffi.Interpreter, path, xs,
                        experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
            for i, (a, b, dev) in enumerate(zip(ours, theirs, devs)):
                assert a.shape == b.shape and a.dtype == b.dtype
                kind, allowed = _tolerance(b, dev)
                if kind == "lsb":   # integer kernels: the same integer arithmetic, so the same bits
                    allowed = 0.0
                got = _deviation(a, b)
                assert got <= allowed, f"seed {seed} shapes {shapes} output {i}: {got} > {allowed}"
