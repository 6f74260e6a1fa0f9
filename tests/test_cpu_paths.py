"""The lower x86 code paths, on a machine that has the higher ones.

The x86_64 wheel picks its kernels at run time (baseline SSE2, AVX2 + FMA, AVX-512, AVX-512 VNNI or
AVX-VNNI for the int8 GEMM). A test run only exercises the best the machine has, so this runs the op goldens and
the zoo references again in a fresh process with ``TFLITE_CFFI_MAX_ISA`` capping what the library
uses: every path must give the same (golden) results, int8 ones bit for bit.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent

pytestmark = pytest.mark.skipif(platform.machine() not in ("x86_64", "AMD64"),
                                reason="the run-time ISA choice exists on x86_64 only")


# avx2vnni: the 256-bit int8 GEMM of CPUs with AVX-VNNI and no AVX-512; where the CPU lacks AVX-VNNI but
# has AVX-512 VNNI, the same kernels through its AVX-512 VL encoding (cpu::AvxVnniIsEvex).
@pytest.mark.parametrize("cap", ["baseline", "avx2", "avx2vnni"])
def test_lower_isa_paths_match_the_goldens(cap):
    env = dict(os.environ, TFLITE_CFFI_MAX_ISA=cap)
    # from tests/, as nox runs pytest: `python -m pytest` puts the working directory on sys.path
    cmd = [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider",
           "--import-mode=importlib", str(TESTS / "test_ops.py"), str(TESTS / "test_zoo.py")]
    proc = subprocess.run(cmd, env=env, cwd=str(TESTS), stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, universal_newlines=True, timeout=900)
    tail = "\n".join(proc.stdout.splitlines()[-30:])
    assert proc.returncode == 0, "with TFLITE_CFFI_MAX_ISA=%s:\n%s" % (cap, tail)
    assert " passed" in tail, tail
