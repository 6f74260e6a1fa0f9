"""Nox sessions for tflite-cffi: build each target's wheel once, then test it INSTALLED, never the source tree.

    nox -l                              # list sessions (the default ones are marked *)
    nox                                 # what CI runs (.ci/run): lint, oldest + newest host Python, armhf
    nox -s test-3.12 -- -k conv -x      # arguments after -- replace the default pytest selection
    nox -t qemu                         # every ARM session (QEMU user emulation)
    nox -s build-aarch64                # rebuild one target's wheel unconditionally

Wheels come from ``invoke cross --target T`` (tasks.py) into ``dist/<T>/``. Test sessions rebuild a wheel only
when one of the files it is made from is newer than the wheel.

Host sessions install the x86_64 wheel with pip into a fresh venv. ARM sessions never run pip under QEMU: the
wheel is unzipped into ``.nox/<session>/site`` and put on PYTHONPATH of a Debian sysroot's python3
(tools/sysroot.py), run by ``qemu-<arch>-static -L <sysroot>``. In both cases pytest runs from ``tests/`` with
``--import-mode=importlib`` and ``TFLITE_CFFI_EXPECT_INSTALLED=1`` (tests/conftest.py stops the run if the
source package is imported), and a run that executes no test fails.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import nox

nox.needs_version = ">=2024.4.15"

ROOT = Path(__file__).resolve().parent
TESTS = ROOT / "tests"
DIST = ROOT / "dist"
NOX_DIR = ROOT / ".nox"
MODELS = Path(os.environ.get("TFLITE_CFFI_MODELS") or ROOT.parent / "shared" / "models")


def _load_tool(name: str):
    """Import tools/NAME.py as a module (tools/ is not a package)."""
    spec = importlib.util.spec_from_file_location(name, ROOT / "tools" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


sysroot = _load_tool("sysroot")

# Test-only requirements of the host sessions (the wheel brings its own: cffi, numpy).
TEST_REQUIREMENTS = [
    "pytest",
    "numpy",
    "flatbuffers",
    "tflite",  # the .tflite schema as Python classes: schema tests and tests/opgen
    'ai-edge-litert; platform_machine == "x86_64" and python_version >= "3.10"',  # oracle (official runtime)
    'tflite-micro; platform_machine == "x86_64" and python_version >= "3.10"',  # reference of tflite_cffi.runtime
]
LINT_REQUIREMENTS = ["ruff", "cffi"]

# Pytest options every session uses; posargs replace only DEFAULT_PYTEST_ARGS / QEMU_PYTEST_ARGS.
PYTEST_FIXED = ["--import-mode=importlib", "-p", "no:cacheprovider"]
DEFAULT_PYTEST_ARGS = ["-ra", "."]
QEMU_PYTEST_ARGS = ["-ra", "-m", "qemu", "."]

# Files a wheel is made from: a change in any of them (as git sees them) rebuilds the wheels.
WHEEL_INPUTS = ["CMakeLists.txt", "cmake", "csrc", "toolchains", "tflite_cffi", "tools/gen_ffi.py",
                "tasks.py", "invoke.yaml", "pyproject.toml", "setup.py", "setup.cfg", "MANIFEST.in"]

# ARM test targets: wheel target[-CPU variant] -> (Debian architecture of its sysroot, QEMU -cpu).
# cortex-a72 rather than QEMU's default "max" for aarch64: numpy 2 imports in 5 s instead of 33 s.
# aarch64-a76: the same wheel on the Raspberry Pi 5's core, which has the dot product (the A72 has
# not): the int8 GEMM's sdot kernels.
QEMU_TARGETS = {
    "armhf": ("armhf", "cortex-a7"),
    "aarch64": ("arm64", "cortex-a72"),
    "aarch64-a76": ("arm64", "cortex-a76"),
}
RELEASES = list(sysroot.RELEASES)  # bullseye, bookworm, trixie
NEWEST_PYTHON = "3.13"  # upper bound when pyproject.toml only has requires-python
RPI0_RELEASE = "bookworm"  # Debian's armhf python3 needs ARMv7: the rpi0 wheel is run functionally here
RPI0_CPU = "arm1176"  # the Raspberry Pi Zero / 1 core, for the static self-test
# Real models the static self-test runs under -cpu arm1176 against the zoo's references.
RPI0_SELFTEST_MODELS = ["mlp_64_float32", "kws_conv1d_float32", "mobilenet_v1_025_128_float32"]


def _host_pythons() -> list[str]:
    """Host Python versions: pyproject.toml's "Python :: 3.X" classifiers, else requires-python up to 3.13."""
    pyproject_file = ROOT / "pyproject.toml"
    if not pyproject_file.exists():
        print("noxfile: pyproject.toml not found; assuming Python 3.8-3.13", file=sys.stderr)
        return ["3.8", "3.9", "3.10", "3.11", "3.12", "3.13"]
    pyproject = nox.project.load_toml(pyproject_file)
    classifiers = pyproject.get("project", {}).get("classifiers", [])
    if any(c.startswith("Programming Language :: Python :: 3.") for c in classifiers):
        return nox.project.python_versions(pyproject)
    return nox.project.python_versions(pyproject, max_version=NEWEST_PYTHON)


PYTHONS = _host_pythons()


def _expose_pyenv_pythons(versions: list[str]) -> None:
    """Make pyenv's interpreters findable as python3.X (pyenv's shims only serve the active version).

    Symlinks go to .nox/.pythons/, prepended to PATH, so nothing else from pyenv's bin dirs leaks in.
    A version found neither there nor on PATH gets a hint on how to install it (nox then fails its session).
    """
    pyenv_root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    link_dir = NOX_DIR / ".pythons"
    for v in versions:
        exe = f"python{v}"
        found = sorted(pyenv_root.glob(f"versions/{v}.*/bin/{exe}"),
                       key=lambda p: [int(x) if x.isdigit() else -1 for x in p.parts[-3].split(".")])
        if not found:
            if shutil.which(exe) is None:
                print(f"noxfile: {exe} not found: `pyenv install {v}` or install your distribution's "
                      f"{exe}; test-{v} fails until then", file=sys.stderr)
            continue
        link_dir.mkdir(parents=True, exist_ok=True)
        link = link_dir / exe
        if not link.is_symlink() or os.readlink(link) != str(found[-1]):
            link.unlink(missing_ok=True)
            link.symlink_to(found[-1])
    if link_dir.is_dir():
        os.environ["PATH"] = f"{link_dir}{os.pathsep}{os.environ.get('PATH', '')}"


_expose_pyenv_pythons(PYTHONS)

nox.options.error_on_missing_interpreters = True  # a missing Python fails, never skips
# test-aarch64-a76-bookworm: the only run of the aarch64 dot product kernels (a Raspberry Pi 5's core).
nox.options.sessions = ["lint", f"test-{PYTHONS[0]}", f"test-{PYTHONS[-1]}", "test-armhf-bookworm",
                        "test-aarch64-a76-bookworm"]


# ------------------------------------------------------------------------------------------ wheels


def _wheel_inputs() -> list[Path]:
    """The wheel's input files that exist: tracked or untracked but not git-ignored (build products are)."""
    existing = [p for p in WHEEL_INPUTS if (ROOT / p).exists()]
    try:
        out = subprocess.run(["git", "ls-files", "-z", "-co", "--exclude-standard", "--", *existing],
                             cwd=ROOT, capture_output=True, check=True).stdout
        return [ROOT / f for f in out.decode().split("\0") if f and (ROOT / f).is_file()]
    except (OSError, subprocess.CalledProcessError):
        return [p for e in existing for p in ([ROOT / e] if (ROOT / e).is_file() else (ROOT / e).rglob("*"))
                if p.is_file() and "__pycache__" not in p.parts]


def _newest_wheel(target: str) -> Path | None:
    wheels = sorted((DIST / target).glob("*.whl"), key=lambda p: p.stat().st_mtime)
    return wheels[-1] if wheels else None


def _build(session: nox.Session, target: str) -> Path:
    """Run ``invoke cross --target TARGET`` and return the wheel it put into dist/<target>/."""
    if not (ROOT / "tasks.py").exists():
        session.error("tasks.py is missing: the wheels are built by `invoke cross --target T` (tasks.py)")
    started = time.time()
    session.run(sys.executable, "-m", "invoke", "cross", "--target", target, external=True)
    wheel = _newest_wheel(target)
    if wheel is None or wheel.stat().st_mtime < started - 1:
        session.error(f"`invoke cross --target {target}` made no new wheel in {DIST / target}/")
    return wheel


def _wheel(session: nox.Session, target: str) -> Path:
    """The newest wheel in dist/<target>/, built first if missing or older than any of its input files.

    Whoever built it (this noxfile, `invoke cross`, a teammate) does not matter; the file times do.
    """
    wheel = _newest_wheel(target)
    if wheel is not None:
        changed = [p for p in _wheel_inputs() if p.stat().st_mtime > wheel.stat().st_mtime]
        if not changed:
            session.log(f"wheel is current: {wheel.relative_to(ROOT)}")
            return wheel
        session.log(f"{wheel.name} is older than {len(changed)} of its sources "
                    f"(e.g. {changed[0].relative_to(ROOT)}): rebuilding")
    else:
        session.log(f"no wheel in dist/{target}/ yet: building it")
    return _build(session, target)


def _unpack_wheel(wheel: Path, site: Path) -> Path:
    """Unzip WHEEL into an empty SITE directory as pip would lay it out (purelib/platlib data merged)."""
    shutil.rmtree(site, ignore_errors=True)
    site.mkdir(parents=True)
    with zipfile.ZipFile(wheel) as zf:
        zf.extractall(site)
    for data in site.glob("*.data"):
        for scheme in ("purelib", "platlib"):
            if (data / scheme).is_dir():
                shutil.copytree(data / scheme, site, dirs_exist_ok=True)
        shutil.rmtree(data)
    return site


def _pytest_env(target: str) -> dict[str, str]:
    return {
        "TFLITE_CFFI_EXPECT_INSTALLED": "1",
        "TFLITE_CFFI_MODELS": str(MODELS),
        "TFLITE_CFFI_TARGET": target,
        "PYTHONDONTWRITEBYTECODE": "1",  # keep the source tree free of __pycache__ from test runs
    }


def _session_dir(session: nox.Session) -> Path:
    """The session's private work dir, .nox/<session name>/ (the venv's dir for venv sessions)."""
    name = "".join(c if c.isalnum() or c in "-_." else "_" for c in session.name)
    return NOX_DIR / name


# -------------------------------------------------------------------------------------- sessions


for _target in ("x86_64", "aarch64", "armhf", "rpi0"):

    def build(session: nox.Session, target: str = _target) -> None:
        _build(session, target)

    build.__doc__ = f"Build and repair the {_target} wheel into dist/{_target}/ (invoke cross --target {_target})."
    nox.session(name=f"build-{_target}", python=False, tags=["build"])(build)


@nox.session(python=PYTHONS, venv_backend="venv", tags=["host"])
def test(session: nox.Session) -> None:
    """Install the x86_64 wheel with pip into this Python's venv and run the whole test suite against it."""
    wheel = _wheel(session, "x86_64")
    session.install(str(wheel), *TEST_REQUIREMENTS)
    session.install("--force-reinstall", "--no-deps", str(wheel))  # same version rebuilt: take this one
    with session.chdir(TESTS):
        session.run("pytest", *PYTEST_FIXED, *(session.posargs or DEFAULT_PYTEST_ARGS),
                    env=_pytest_env("x86_64"))


def _qemu_tests(session: nox.Session, wheel_target: str, arch: str, release: str, cpu: str) -> None:
    try:
        sysroot.ensure_qemu(arch, log=session.log)
        root = sysroot.ensure_sysroot(arch, release, log=session.log)
    except sysroot.SysrootError as e:
        session.error(str(e))
    wheel = _wheel(session, wheel_target)
    site = _unpack_wheel(wheel, _session_dir(session) / "site")
    session.log(f"{wheel.name} unpacked into {site}")
    env = dict(_pytest_env(wheel_target), PYTHONPATH=str(site))
    for var in ("PYTHONHOME", "PYTHONSTARTUP", "PYTHONUSERBASE", "VIRTUAL_ENV"):
        env[var] = None  # the host's must not reach the emulated interpreter
    with session.chdir(TESTS):
        session.run(*sysroot.python_argv(arch, root, cpu), "-m", "pytest", *PYTEST_FIXED,
                    *(session.posargs or QEMU_PYTEST_ARGS), env=env, external=True)


for _target, (_arch, _cpu) in QEMU_TARGETS.items():
    _wheel_target = _target.split("-")[0]  # aarch64-a76: the aarch64 wheel
    for _release in RELEASES:

        def test_qemu(session: nox.Session, target: str = _wheel_target, arch: str = _arch,
                      release: str = _release, cpu: str = _cpu) -> None:
            _qemu_tests(session, target, arch, release, cpu)

        test_qemu.__doc__ = (f"The {_wheel_target} wheel under qemu-{'arm' if _arch == 'armhf' else 'aarch64'}-static "
                             f"-cpu {_cpu} in Debian {_release} ({sysroot.RELEASES[_release].split(': ')[1]}); "
                             "pytest -m qemu.")
        nox.session(name=f"test-{_target}-{_release}", python=False, tags=["qemu", _wheel_target])(test_qemu)


def _readelf_attributes(path: Path) -> dict[str, str]:
    out = subprocess.run(["readelf", "-A", str(path)], capture_output=True, text=True, check=True).stdout
    attrs = {}
    for line in out.splitlines():
        key, sep, value = line.strip().partition(":")
        if sep and key.startswith("Tag_"):
            attrs[key] = value.strip()
    return attrs


def _armv6_problems(path: Path) -> list[str]:
    """What in PATH's ARM build attributes is not plain ARMv6 + VFPv2 (the Raspberry Pi Zero / 1)."""
    a = _readelf_attributes(path)
    problems = []
    arch = a.get("Tag_CPU_arch", "<missing>")
    if not arch.startswith("v6") or "M" in arch:
        problems.append(f"Tag_CPU_arch is {arch}, not v6")
    simd = a.get("Tag_Advanced_SIMD_arch")
    if simd and "NEON" in simd:
        problems.append(f"Tag_Advanced_SIMD_arch is {simd} (NEON does not exist on ARMv6)")
    if "Thumb-2" in a.get("Tag_THUMB_ISA_use", ""):
        problems.append("Tag_THUMB_ISA_use is Thumb-2 (ARMv6 has Thumb-1 only)")
    return problems


def _selftest_runs(session: nox.Session) -> list[list[str]]:
    """tflite_cffi_selftest arguments for each of RPI0_SELFTEST_MODELS: model, inputs, --expect outputs."""
    runs = []
    for stem in RPI0_SELFTEST_MODELS:
        refs = MODELS / "refs" / stem
        try:
            meta = json.loads((refs / "meta.json").read_text())
        except OSError as e:
            session.error(f"reference data for {stem} missing ({e}); set TFLITE_CFFI_MODELS to the model zoo")
        argv = [str(MODELS / meta["model"]), *(str(refs / i["file"]) for i in meta["inputs"]),
                "--expect", *(str(refs / o["file"]) for o in meta["outputs"])]
        lsb = max((d.get("max_abs_lsb", 0) for d in meta.get("dev_vs_builtin_no_xnnpack", [])), default=0)
        runs.append([*argv, "--atol", str(lsb)] if lsb else argv)
    return runs


def _find_selftest() -> Path | None:
    candidates = sorted((ROOT / "build").glob("rpi0*/**/tflite_cffi_selftest")) + sorted(
        (DIST / "rpi0").glob("tflite_cffi_selftest"))
    return candidates[0] if candidates else None


@nox.session(name="test-rpi0", python=False, tags=["qemu", "rpi0"])
def test_rpi0(session: nox.Session) -> None:
    """The rpi0 (ARMv6) wheel: readelf -A says v6 and no NEON, self-test under -cpu arm1176, pytest -m qemu.

    Debian's armhf python3 needs ARMv7, so the wheel's Python side is tested in the armhf bookworm sysroot
    (cortex-a7); ARMv6 itself is proven by the static engine self-test run under qemu-arm-static -cpu arm1176.
    """
    if shutil.which("readelf") is None:
        session.error("readelf not found: apt-get install binutils")
    wheel = _wheel(session, "rpi0")
    with tempfile.TemporaryDirectory() as tmp:
        with zipfile.ZipFile(wheel) as zf:
            libs = [n for n in zf.namelist() if ".so" in Path(n).name]
            zf.extractall(tmp, libs)
        if not libs:
            session.error(f"{wheel.name} holds no shared library")
        for name in libs:
            problems = _armv6_problems(Path(tmp) / name)
            if problems:
                session.error(f"{name} in {wheel.name} is not ARMv6-clean: " + "; ".join(problems))
            session.log(f"readelf -A {name}: ARMv6, no NEON")
    selftest = _find_selftest()
    if selftest is None:
        session.error("tflite_cffi_selftest for rpi0 not found (looked in build/rpi0*/ and dist/rpi0/): "
                      "`invoke cross --target rpi0` must also build the static CMake target tflite_cffi_selftest "
                      "(csrc/tools/selftest.cc) with the rpi0 toolchain")
    problems = _armv6_problems(selftest)
    if problems:
        session.error(f"{selftest} is not ARMv6-clean: " + "; ".join(problems))
    qemu = sysroot.ensure_qemu("armhf", log=session.log)
    failed = []
    for argv in _selftest_runs(session):  # every model, then pytest, and only then the verdict
        cmd = [qemu, "-cpu", RPI0_CPU, str(selftest), *argv]
        session.log(" ".join(cmd))
        if subprocess.run(cmd, check=False).returncode != 0:
            failed.append(Path(argv[0]).name)
    _qemu_tests(session, "rpi0", "armhf", RPI0_RELEASE, QEMU_TARGETS["armhf"][1])
    if failed:
        session.error(f"tflite_cffi_selftest under -cpu {RPI0_CPU} failed for: {', '.join(failed)}")


@nox.session(tags=["lint"])
def lint(session: nox.Session) -> None:
    """ruff check, and the cffi binding in the x86_64 wheel is what tools/gen_ffi.py makes from c_api.h now."""
    session.install(*LINT_REQUIREMENTS)
    session.run("ruff", "check", *(session.posargs or ["."]))
    wheel = _wheel(session, "x86_64")
    with tempfile.TemporaryDirectory() as tmp:
        with zipfile.ZipFile(wheel) as zf:
            try:
                zf.extract("tflite_cffi/_ffi.py", tmp)
            except KeyError:
                session.error(f"{wheel.name} has no tflite_cffi/_ffi.py")
        session.run("python", "tools/gen_ffi.py", "--header", "csrc/include/tflite_cffi/c_api.h",
                    "--check", str(Path(tmp) / "tflite_cffi" / "_ffi.py"))


@nox.session(python=NEWEST_PYTHON, venv_backend="venv", tags=["bench"])
def bench(session: nox.Session) -> None:
    """Benchmark the installed x86_64 wheel beside ai-edge-litert: build/bench/bench.{json,md,png}.

    Arguments after -- go to tools/bench.py (e.g. -- --runs 50 --models mobilenet_v1_100_224_int8).
    Not a default session: run it on a quiet machine; its numbers mean nothing under load.
    """
    wheel = _wheel(session, "x86_64")
    session.install(str(wheel), "numpy", "matplotlib", "ai-edge-litert")
    session.install("--force-reinstall", "--no-deps", str(wheel))
    out = ROOT / "build" / "bench"
    official_wheel = ""
    with tempfile.TemporaryDirectory() as tmp:   # the official wheel itself, for its size
        version = session.run("python", "-c", "import importlib.metadata as m; print(m.version('ai-edge-litert'))",
                              silent=True).strip()
        try:
            session.run("python", "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary", ":all:",
                        "-d", tmp, f"ai-edge-litert=={version}", silent=True)
            official_wheel = str(next(Path(tmp).glob("*.whl")))
        except Exception as e:  # noqa: BLE001 - the size row is optional
            session.warn(f"could not download the ai-edge-litert wheel for its size: {e}")
        session.run("python", str(ROOT / "tools" / "bench.py"), "--out", str(out),
                    "--official-wheel", official_wheel, *session.posargs,
                    env={"TFLITE_CFFI_MODELS": str(MODELS), "PYTHONDONTWRITEBYTECODE": "1"})


def _sanitizer_runtime(name: str) -> str:
    """Path of the host GCC's sanitizer runtime (libasan.so, libtsan.so) for LD_PRELOAD."""
    out = subprocess.run(["gcc", f"-print-file-name=lib{name}.so"], capture_output=True, text=True)
    path = out.stdout.strip()
    if out.returncode != 0 or not os.path.isabs(path):
        raise RuntimeError(f"gcc does not know lib{name}.so: apt-get install gcc (with its sanitizer runtimes)")
    return path


SANITIZE_RUNS = {   # session suffix -> (sanitizers, runtime to preload, default pytest selection)
    # The official runtime is left out: it is not built for the sanitizers and aborts under them.
    "address": ("address,undefined", "asan", ["-ra", "-m", "not oracle", "-k", "not official", "."]),
    "thread": ("thread", "tsan", ["-ra", "test_threads.py", "test_api.py", "test_zoo.py", "-k",
                                  "not oracle and not official"]),
}

for _suffix, (_sanitizers, _runtime, _selection) in SANITIZE_RUNS.items():

    def sanitize(session: nox.Session, sanitizers: str = _sanitizers, runtime: str = _runtime,
                 selection: list = _selection) -> None:
        session.run(sys.executable, "-m", "invoke", "build", "--sanitize", sanitizers, external=True)
        label = "x86_64-sanitize-" + sanitizers.replace(",", "-")
        wheels = sorted((DIST / label).glob("*.whl"))
        if not wheels:
            session.error(f"`invoke build --sanitize {sanitizers}` left no wheel in dist/{label}/")
        session.install(str(wheels[-1]), *TEST_REQUIREMENTS)
        session.install("--force-reinstall", "--no-deps", str(wheels[-1]))
        env = dict(_pytest_env("x86_64"))
        env["LD_PRELOAD"] = _sanitizer_runtime(runtime)
        # Python itself is not built for LeakSanitizer (its arenas look leaked at exit): leaks of the
        # library are checked by `invoke fuzz` (LSan on) instead. UBSan findings stop the run.
        env["ASAN_OPTIONS"] = "detect_leaks=0:abort_on_error=1:allocator_may_return_null=1"
        env["UBSAN_OPTIONS"] = "halt_on_error=1:print_stacktrace=1"
        env["TSAN_OPTIONS"] = "halt_on_error=1:second_deadlock_stack=1"
        with session.chdir(TESTS):
            session.run("pytest", *PYTEST_FIXED, *(session.posargs or selection), env=env)

    sanitize.__doc__ = (f"The test suite against the {_sanitizers} build of the library (host gcc, "
                        f"`invoke build --sanitize {_sanitizers}`), lib{_runtime} preloaded.")
    nox.session(name=f"sanitize-{_suffix}", python=NEWEST_PYTHON, venv_backend="venv",
                tags=["sanitize"])(sanitize)
