"""tflite_micro's Python ``runtime`` API on tflite-cffi's engine.

A script written for TensorFlow Lite for Microcontrollers' Python package runs by
changing its import::

    from tflite_cffi import runtime        # was: from tflite_micro import runtime

    interpreter = runtime.Interpreter.from_file("kws_int8.tflite", arena_size=64 * 1024)
    details = interpreter.get_input_details(0)
    interpreter.set_input(features.astype(details["dtype"]), 0)
    interpreter.invoke()
    scores = interpreter.get_output(0)
    interpreter.print_allocations()          # total / head / tail of the memory used
    interpreter.reset()                      # back to the initial recurrent state

Same methods, arguments (including the ``intrepreter_config`` keyword as tflite_micro
spells it), detail dictionaries and exception types. The tensors are allocated when the
interpreter is made, as in tflite_micro. Differences (docs/MICRO.md): ``arena_size``
caps the planned arena (the "head") only, and None means no cap rather than ten times
the model's size; ``custom_op_registerers`` go to :class:`tflite_cffi.Interpreter`;
``alt_decompression_memory_size`` is accepted and unused.

Everything runs on :class:`tflite_cffi.interpreter.Interpreter`, reachable as
``interpreter.interpreter`` for the full TensorFlow Lite API.
"""

from __future__ import annotations

import enum
import operator
import os
from typing import Any, Dict, List, Optional

import numpy as np

from . import _lib
from .interpreter import Interpreter as _Interpreter
from .interpreter import OpResolverType as _OpResolverType

__all__ = ["Interpreter", "InterpreterConfig"]


class InterpreterConfig(enum.Enum):
    """How the interpreter keeps tensors (tflite_micro's names and values).

    ``kAllocationRecording`` (the default): intermediate tensors share the arena, so
    only inputs and outputs are readable after invoke(); GetTensor() is refused.
    ``kPreserveAllTensors``: every tensor keeps its own memory and GetTensor() reads
    any of them after invoke().
    """

    kAllocationRecording = 0
    kPreserveAllTensors = 1


_OUT_OF_BOUND = "Tensor is out of bound, please check tensor index."


class Interpreter:
    """A model ready to run, with tflite_micro's ``runtime.Interpreter`` methods.

    Args:
      model_data: the model's bytes (bytes, bytearray or any buffer).
      custom_op_registerers: a list of strings, passed on to
        ``tflite_cffi.Interpreter(custom_op_registerers=...)``.
      arena_size: most bytes the planned arena (activations and scratch) may take;
        allocation fails with a RuntimeError giving the size needed when the model
        needs more. None: no limit.
      intrepreter_config: an :class:`InterpreterConfig` (``interpreter_config`` is
        accepted as well).
      alt_decompression_memory_size: accepted for compatibility; unused.

    Raises:
      ValueError: bad arguments (as tflite_micro: no model, registerers not a list of
        strings).
      RuntimeError: the model cannot be loaded, uses operators this library lacks, or
        does not fit in ``arena_size``.
    """

    def __init__(self,
                 model_data: Any,
                 custom_op_registerers: Any,
                 arena_size: Optional[int],
                 intrepreter_config: InterpreterConfig = InterpreterConfig.kAllocationRecording,
                 alt_decompression_memory_size: int = 0,
                 interpreter_config: Optional[InterpreterConfig] = None) -> None:
        if model_data is None:
            raise ValueError("Model must not be None")
        if not isinstance(custom_op_registerers, list) or \
                not all(isinstance(s, str) for s in custom_op_registerers):
            raise ValueError("Custom ops registerers must be a list of strings")
        if interpreter_config is not None:
            intrepreter_config = interpreter_config
        if not isinstance(intrepreter_config, InterpreterConfig):
            raise ValueError("intrepreter_config must be a member of InterpreterConfig, got %r"
                             % (intrepreter_config,))
        if arena_size is not None and (not isinstance(arena_size, int) or isinstance(arena_size, bool)
                                       or arena_size <= 0):
            raise ValueError("arena_size must be a number of bytes > 0, or None for no limit; got %r"
                             % (arena_size,))
        if not isinstance(alt_decompression_memory_size, int) or alt_decompression_memory_size < 0:
            raise ValueError("alt_decompression_memory_size must be an int >= 0, got %r"
                             % (alt_decompression_memory_size,))
        self._config = intrepreter_config
        self._arena_size = arena_size
        options: Dict[str, Any] = {
            "experimental_preserve_all_tensors":
                intrepreter_config is InterpreterConfig.kPreserveAllTensors,
            # tflite_micro runs TensorFlow Lite's reference numerics: fixed-point requantization
            "experimental_op_resolver_type": _OpResolverType.BUILTIN_REF,
        }
        if arena_size is not None:
            options["experimental_arena_limit"] = arena_size
        if custom_op_registerers:
            options["custom_op_registerers"] = list(custom_op_registerers)
        try:
            self._interpreter = _Interpreter(model_content=model_data, **options)
        except ValueError as exc:  # unreadable model, unsupported ops: tflite_micro fails at allocation
            raise _lib.InterpreterError("TFLM-compatible interpreter could not be created: %s"
                                        % exc) from exc
        self._interpreter.allocate_tensors()
        self._inputs = [d["index"] for d in self._interpreter.get_input_details()]
        self._outputs = [d["index"] for d in self._interpreter.get_output_details()]

    @classmethod
    def from_file(cls,
                  model_path: Any,
                  custom_op_registerers: Optional[List[str]] = None,
                  arena_size: Optional[int] = None,
                  intrepreter_config: InterpreterConfig = InterpreterConfig.kAllocationRecording,
                  alt_decompression_memory_size: int = 0,
                  interpreter_config: Optional[InterpreterConfig] = None) -> "Interpreter":
        """An interpreter for the .tflite file at `model_path` (ValueError when there is
        no such file)."""
        if custom_op_registerers is None:
            custom_op_registerers = []
        if model_path is None or not os.path.isfile(model_path):
            raise ValueError("Invalid model file path")
        with open(model_path, "rb") as f:
            model_data = f.read()
        return cls(model_data, custom_op_registerers, arena_size, intrepreter_config,
                   alt_decompression_memory_size, interpreter_config)

    @classmethod
    def from_bytes(cls,
                   model_data: Any,
                   custom_op_registerers: Optional[List[str]] = None,
                   arena_size: Optional[int] = None,
                   intrepreter_config: InterpreterConfig = InterpreterConfig.kAllocationRecording,
                   alt_decompression_memory_size: int = 0,
                   interpreter_config: Optional[InterpreterConfig] = None) -> "Interpreter":
        """An interpreter for a model given as bytes."""
        if custom_op_registerers is None:
            custom_op_registerers = []
        return cls(model_data, custom_op_registerers, arena_size, intrepreter_config,
                   alt_decompression_memory_size, interpreter_config)

    # ------------------------------------------------------------------ helpers

    @property
    def interpreter(self) -> _Interpreter:
        """The tflite_cffi.Interpreter underneath (the full TensorFlow Lite API)."""
        return self._interpreter

    @staticmethod
    def _position(index: Any, count: int) -> int:
        if index is None:
            raise ValueError("Index must be a non-negative integer")
        try:
            index = operator.index(index)
        except TypeError:
            raise TypeError("index must be an int, got %r" % (index,)) from None
        if index < 0:
            raise ValueError("Index must be a non-negative integer")
        if index >= count:
            raise IndexError("%s (index %d, the model has %d)" % (_OUT_OF_BOUND, index, count))
        return index

    def _details(self, tensor_index: int) -> Dict[str, Any]:
        d = self._interpreter._get_tensor_details(tensor_index)
        q = d["quantization_parameters"]
        return {
            "dtype": d["dtype"],
            "shape": d["shape"],
            "quantization_parameters": {
                "scales": q["scales"],
                "zero_points": q["zero_points"],
                "quantized_dimension": q["quantized_dimension"],
            },
        }

    # ------------------------------------------------------------------ tflite_micro's API

    def set_input(self, input_data: Any, index: int) -> None:
        """Copies `input_data` (exactly the input's dtype and shape) into input `index`.

        Raises:
          ValueError: no data, a negative index, wrong dtype or shape.
          IndexError: no such input.
        """
        if input_data is None:
            raise ValueError("Input data must not be None")
        position = self._position(index, len(self._inputs))
        it = self._interpreter
        tensor_index = self._inputs[position]
        with it._lock:
            it._write_tensor(it._tensor_ptr(tensor_index), position, np.asarray(input_data))

    def invoke(self) -> int:
        """Runs the model; returns 0 (RuntimeError when a kernel fails)."""
        self._interpreter.invoke()
        return 0

    def get_output(self, index: int) -> np.ndarray:
        """A copy of output `index` after the last invoke()."""
        position = self._position(index, len(self._outputs))
        return self._interpreter.get_tensor(self._outputs[position])

    def get_input_details(self, index: int) -> Dict[str, Any]:
        """{'dtype', 'shape', 'quantization_parameters': {'scales', 'zero_points',
        'quantized_dimension'}} of input `index`."""
        return self._details(self._inputs[self._position(index, len(self._inputs))])

    def get_output_details(self, index: int) -> Dict[str, Any]:
        """The same for output `index`."""
        return self._details(self._outputs[self._position(index, len(self._outputs))])

    def reset(self) -> int:
        """Puts the model's state back to what it was after creation: every variable
        tensor (recurrent state) gets its initial value. Returns 0."""
        self._interpreter.reset_all_variables()
        return 0

    def print_allocations(self) -> None:
        """Prints the memory report (total, head, tail and one line per kind of block)
        to stderr; see tflite_cffi.Interpreter.print_allocations."""
        self._interpreter.print_allocations()

    def get_allocations(self) -> Dict[str, Any]:
        """The memory report as a dict (tflite_cffi.Interpreter.get_allocations)."""
        return self._interpreter.get_allocations()

    def GetTensor(self, tensor_index: int, subgraph_index: int) -> Dict[str, Any]:  # noqa: N802
        """{'dtype', 'shape', 'tensor_data'} of any tensor; only with
        InterpreterConfig.kPreserveAllTensors (RuntimeError otherwise), as tflite_micro."""
        if self._config is not InterpreterConfig.kPreserveAllTensors:
            raise RuntimeError("GetTensor() needs an interpreter made with intrepreter_config="
                               "InterpreterConfig.kPreserveAllTensors: with kAllocationRecording "
                               "intermediate tensors share memory and hold no valid data after "
                               "invoke()")
        it = self._interpreter
        try:
            details = it._get_tensor_details(tensor_index, subgraph_index)
            data = it.get_tensor(tensor_index, subgraph_index)
        except ValueError as exc:
            raise IndexError("%s (%s)" % (_OUT_OF_BOUND, exc)) from None
        return {"dtype": details["dtype"], "shape": details["shape"], "tensor_data": data}
