"""Side-by-side latency of tflite-cffi and the official runtime on one model.

    from tflite_cffi import benchmark
    row = benchmark.compare("model.tflite", threads=2, runs=30)
    row["ours"]["median"], row["official"]["median"], row["ratio_median"]

Both interpreters are created in this process on the same random inputs; after a warm-up their invokes
alternate (ours, official, ours, ...) so that both see the same machine load, and each invoke is timed
alone. The official runtime is ``ai_edge_litert`` (else ``tflite_runtime``) with its default delegates
(XNNPACK): the bar we measure ourselves against. The outputs of the timed runs are compared as well, and
the row records the largest deviation, so a fast but wrong kernel shows up in the same table.

``python -m tflite_cffi bench MODEL --compare`` prints one such row; ``nox -s bench`` (tools/bench.py)
runs the whole suite and writes JSON, Markdown and a chart.
"""

from __future__ import annotations

import time
from typing import Any, Callable, Dict, List, Optional, Sequence

import numpy as np


def official_interpreter_class() -> Any:
    """The official runtime's Interpreter class, or None when neither ai_edge_litert nor tflite_runtime
    is installed."""
    try:
        from ai_edge_litert.interpreter import Interpreter
        return Interpreter
    except ImportError:
        pass
    try:
        from tflite_runtime.interpreter import Interpreter
        return Interpreter
    except ImportError:
        return None


def latency_stats(times_s: Sequence[float]) -> Dict[str, float]:
    """mean/median/p90/p99/min/max in milliseconds."""
    ms = np.asarray(times_s, dtype=np.float64) * 1e3
    return {
        "mean": float(ms.mean()),
        "median": float(np.median(ms)),
        "p90": float(np.percentile(ms, 90)),
        "p99": float(np.percentile(ms, 99)),
        "min": float(ms.min()),
        "max": float(ms.max()),
    }


def random_input(detail: Dict[str, Any], rng: np.random.Generator) -> np.ndarray:
    """Uniform [-1, 1) for floats, 0/1 for bools, the whole range for 8-bit integers and 0..9 for wider
    ones (token ids and indices must stay small). ValueError for other types."""
    shape = tuple(int(x) for x in detail["shape"])
    dtype = np.dtype(detail["dtype"])
    if dtype.kind == "f":
        return rng.uniform(-1.0, 1.0, size=shape).astype(dtype)
    if dtype.kind == "b":
        return rng.integers(0, 2, size=shape).astype(dtype)
    if dtype.kind in "iu":
        if dtype.itemsize == 1:
            info = np.iinfo(dtype)
            return rng.integers(int(info.min), int(info.max) + 1, size=shape).astype(dtype)
        return rng.integers(0, 10, size=shape).astype(dtype)
    if dtype.kind == "c":
        return (rng.uniform(-1, 1, size=shape) + 1j * rng.uniform(-1, 1, size=shape)).astype(dtype)
    raise ValueError("input %s has type %s: give the inputs explicitly" % (detail["name"], dtype))


def _prepared(cls: Any, model: str, threads: Optional[int], inputs: List[np.ndarray]) -> Any:
    interp = cls(model_path=model, num_threads=threads)
    interp.allocate_tensors()
    for d, x in zip(interp.get_input_details(), inputs):
        interp.set_tensor(d["index"], x)
    return interp


def _outputs(interp: Any) -> List[np.ndarray]:
    return [np.array(interp.get_tensor(d["index"])) for d in interp.get_output_details()]


def deviation(ours: Sequence[np.ndarray], theirs: Sequence[np.ndarray]) -> float:
    """Largest |ours - theirs| over all outputs (integer outputs in LSB); inf on a shape or dtype mismatch."""
    worst = 0.0
    for a, b in zip(ours, theirs):
        if a.shape != b.shape or a.dtype != b.dtype:
            return float("inf")
        if a.size:
            worst = max(worst, float(np.max(np.abs(a.astype(np.float64) - b.astype(np.float64)))))
    return worst


def compare(model: str, threads: Optional[int] = 1, runs: int = 30, warmup: int = 5, seed: int = 0,
            inputs: Optional[List[np.ndarray]] = None, official: Any = None,
            progress: Optional[Callable[[int, int], None]] = None, pause: float = 0.0) -> Dict[str, Any]:
    """Time `runs` alternating invokes of ours and the official runtime (after `warmup` each).

    The order alternates as ours, official, official, ours, ... so that each runtime follows itself as
    often as the other (a thread pool still spinning after its invoke slows whichever runs next). With
    `pause` (seconds), every timed invoke comes that long after the previous one, as in a camera loop:
    the pools' threads have gone to sleep and must be woken.

    Returns {"ours": stats, "official": stats or None, "ratio_median", "ratio_p90", "deviation",
    "outputs_ours", "outputs_official"}; stats as latency_stats() (ms). Without an official runtime
    only ours is measured (ratios None).
    """
    from .interpreter import Interpreter

    if runs < 1 or warmup < 0 or pause < 0:
        raise ValueError("runs must be >= 1, warmup >= 0 and pause >= 0")
    official = official_interpreter_class() if official is None else official
    ours = _prepared(Interpreter, model, threads, [])
    if inputs is None:
        rng = np.random.default_rng(seed)
        inputs = [random_input(d, rng) for d in ours.get_input_details()]
    for d, x in zip(ours.get_input_details(), inputs):
        ours.set_tensor(d["index"], x)
    theirs = _prepared(official, model, threads, inputs) if official else None
    pair = [ours] + ([theirs] if theirs is not None else [])
    for _ in range(warmup):
        for interp in pair:
            interp.invoke()
    times: List[List[float]] = [[] for _ in pair]
    clock = time.perf_counter
    for i in range(runs):
        for k in (range(len(pair)) if i % 2 == 0 else reversed(range(len(pair)))):
            if pause:
                time.sleep(pause)
            start = clock()
            pair[k].invoke()
            times[k].append(clock() - start)
        if progress:
            progress(i + 1, runs)
    row: Dict[str, Any] = {"ours": latency_stats(times[0]), "official": None, "ratio_median": None,
                           "ratio_p90": None, "deviation": None, "outputs_ours": _outputs(ours),
                           "outputs_official": None}
    if theirs is not None:
        row["official"] = latency_stats(times[1])
        row["ratio_median"] = row["ours"]["median"] / row["official"]["median"]
        row["ratio_p90"] = row["ours"]["p90"] / row["official"]["p90"]
        row["outputs_official"] = _outputs(theirs)
        row["deviation"] = deviation(row["outputs_ours"], row["outputs_official"])
    ours.close()
    return row
