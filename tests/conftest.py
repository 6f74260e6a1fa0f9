"""Shared pytest fixtures and guards for the tflite-cffi test suite.

Fixtures
  ``models_dir``  Path of the model zoo: ``$TFLITE_CFFI_MODELS`` or ``<repo>/../shared/models``; the test is
                  skipped (with the path it looked at) when it is absent.
  ``manifest``    The zoo's parsed ``manifest.json`` (dict).
  ``load_refs``   A function ``load_refs(stem) -> (inputs, outputs, meta)``: the reference input and output
                  arrays (``refs/<stem>/input_*.npy``, ``output_*.npy``, in index order) and ``meta.json``.
  ``oracle``      The ``ai_edge_litert.interpreter`` module (the official runtime), or skip where it is not
                  installed (it exists for x86_64 CPython 3.10+ only). Use it in tests marked ``oracle``.

Markers
  ``qemu``    a test cheap enough for, and meaningful under, QEMU emulation: the ARM sessions run ``-m qemu``.
              Put the real-model reference checks here so every ARM target runs them.
  ``oracle``  compares against the official runtime (``oracle`` fixture).

Guards (for nox and CI, which test the installed wheel, never the source tree)
  * With ``TFLITE_CFFI_EXPECT_INSTALLED=1`` the run stops before collecting if ``tflite_cffi`` cannot be
    imported or is imported from the repository's source package ``<repo>/tflite_cffi/``.
  * A run in which no test was executed (none collected, or all skipped or deselected) fails with exit
    code 5, so a session cannot pass by skipping everything.

``tests/`` itself is put on ``sys.path`` so that helper packages such as ``opgen`` import as top-level
modules under ``--import-mode=importlib``; the repository root is not, so it cannot shadow the wheel.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np
import pytest

TESTS_DIR = Path(__file__).resolve().parent
REPO = TESTS_DIR.parent
SOURCE_PACKAGE = REPO / "tflite_cffi"

if str(TESTS_DIR) not in sys.path:
    sys.path.insert(0, str(TESTS_DIR))


def _models_dir() -> Path:
    env = os.environ.get("TFLITE_CFFI_MODELS")
    return Path(env) if env else REPO.parent / "shared" / "models"


# ------------------------------------------------------------------------------------------- guards


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "qemu: fast test also run under QEMU on every ARM target")
    config.addinivalue_line("markers", "oracle: compares with a reference runtime (ai-edge-litert, tflite-micro)")


def _installed_location() -> str:
    """Import tflite_cffi and return where it came from; stop the run if that is the source tree."""
    try:
        import tflite_cffi
    except Exception as e:  # noqa: BLE001 - any import failure is the message the user needs
        pytest.exit(f"TFLITE_CFFI_EXPECT_INSTALLED=1 but `import tflite_cffi` failed: {e!r}", returncode=4)
    where = Path(tflite_cffi.__file__).resolve()
    source = SOURCE_PACKAGE.resolve()
    if where == source or source in where.parents:
        pytest.exit(
            f"tflite_cffi was imported from the source tree ({where}), not from the installed wheel: "
            "run pytest with --import-mode=importlib from outside the repository root",
            returncode=4,
        )
    return str(where.parent)


def pytest_sessionstart(session: pytest.Session) -> None:
    if os.environ.get("TFLITE_CFFI_EXPECT_INSTALLED") == "1":
        session.config._tflite_cffi_location = _installed_location()


def pytest_report_header(config: pytest.Config) -> list[str]:
    lines = [f"models: {_models_dir()}"]
    loc = getattr(config, "_tflite_cffi_location", None)
    if loc:
        lines.append(f"tflite_cffi (installed): {loc}")
    return lines


_RAN = 0  # tests whose body ran: passed, failed or xfailed (not skipped)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    global _RAN
    if report.when == "call" and (not report.skipped or hasattr(report, "wasxfail")):
        _RAN += 1


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _RAN == 0 and exitstatus in (0, 5) and not session.config.option.collectonly:
        session.exitstatus = 5


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    if _RAN == 0 and not config.option.collectonly:
        terminalreporter.write_line(
            "tflite-cffi: no test was executed (none collected, or all skipped/deselected): failing with exit 5",
            red=True,
        )


# ----------------------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="session")
def models_dir() -> Path:
    path = _models_dir()
    if not (path / "manifest.json").is_file():
        pytest.skip(f"model zoo not found at {path} (set TFLITE_CFFI_MODELS to its directory)")
    return path


@pytest.fixture(scope="session")
def manifest(models_dir: Path) -> dict:
    return json.loads((models_dir / "manifest.json").read_text())


def _sorted_npy(folder: Path, prefix: str) -> list[Path]:
    return sorted(folder.glob(f"{prefix}_*.npy"), key=lambda p: int(p.stem.rsplit("_", 1)[1]))


@pytest.fixture(scope="session")
def load_refs(models_dir: Path):
    """``load_refs("mlp_64_int8") -> (inputs, outputs, meta)``; skips when that model has no references."""

    def load(stem: str) -> tuple[list[np.ndarray], list[np.ndarray], dict]:
        stem = Path(stem).stem  # "mlp_64_int8.tflite" or "mlp_64_int8"
        folder = models_dir / "refs" / stem
        if not (folder / "meta.json").is_file():
            pytest.skip(f"no reference outputs for {stem} in {folder}")
        inputs = [np.load(p) for p in _sorted_npy(folder, "input")]
        outputs = [np.load(p) for p in _sorted_npy(folder, "output")]
        meta = json.loads((folder / "meta.json").read_text())
        return inputs, outputs, meta

    return load


@pytest.fixture(scope="session")
def oracle():
    return pytest.importorskip(
        "ai_edge_litert.interpreter", reason="ai-edge-litert (the official runtime) is not installed here"
    )
