#!/usr/bin/env python3
"""Build Debian ARM sysroots for testing wheels under QEMU user emulation, without chroot or root tricks.

A sysroot is a directory holding the target's Debian ``python3`` with numpy, cffi and pytest, enough for
``qemu-arm-static -L ROOT ROOT/usr/bin/python3`` to run the test suite against an unpacked wheel.

How it works (no chroot, no maintainer scripts, nothing installed on the host):

1. apt runs with a private configuration: the target architecture, a sources.list for the release on the
   host's own Debian mirror, private lists/cache directories and an EMPTY dpkg status file, so that
   ``apt-get install --download-only`` resolves every dependency of the wanted packages.
2. Each downloaded ``.deb`` is unpacked with ``dpkg-deb --fsys-tarfile X | tar -x``.
3. The few things maintainer scripts or debootstrap would have done are done by hand: the merged-/usr
   symlinks (``bin``, ``sbin``, ``lib`` -> ``usr/...``), absolute symlinks made relative (the host kernel
   resolves them, so they must not point outside the sysroot), and the ``libblas.so.3`` /
   ``liblapack.so.3`` links that update-alternatives would create.

Sysroots are cached in ``~/.cache/tflite-cffi/sysroots/<arch>-<release>/`` with a stamp holding a hash of
the recipe (package list + ``SCRIPT_VERSION``); a changed recipe rebuilds. A build goes to a temporary
directory renamed into place at the end, under a lock, so concurrent callers never see half a sysroot.

Command line::

    python tools/sysroot.py --arch armhf --release bookworm          # prints the sysroot's path
    python tools/sysroot.py --arch arm64 --release trixie --check    # and runs python3 in it under QEMU

Library use (noxfile.py)::

    from tools.sysroot import ensure_sysroot, python_argv
    root = ensure_sysroot("armhf", "bookworm")
    subprocess.run([*python_argv("armhf", root, cpu="cortex-a7"), "-c", "import numpy"])
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

# Bump when the way a sysroot is made changes: every cached sysroot is then rebuilt.
SCRIPT_VERSION = 4

# What the tests need inside the target. apt adds the dependencies.
PACKAGES = ("python3", "python3-numpy", "python3-cffi", "python3-pytest", "libstdc++6")

# Debian architecture -> (multiarch triplet, qemu binary, default -cpu for tests)
ARCHES = {
    "armhf": ("arm-linux-gnueabihf", "qemu-arm-static", "cortex-a7"),
    "arm64": ("aarch64-linux-gnu", "qemu-aarch64-static", "cortex-a72"),
}
ARCH_ALIASES = {"aarch64": "arm64", "arm": "armhf", "armv7": "armhf", "armv7l": "armhf"}

# Releases known to work here (buster is no longer on the mirror). Value: what the sysroot gives.
RELEASES = {
    "bullseye": "Debian 11: Python 3.9, glibc 2.31, numpy 1.19",
    "bookworm": "Debian 12: Python 3.11, glibc 2.36, numpy 1.24",
    "trixie": "Debian 13: Python 3.13, glibc 2.41, numpy 2.2",
}

DEFAULT_MIRROR = "http://deb.debian.org/debian"
KEYRING = Path("/usr/share/keyrings/debian-archive-keyring.gpg")

# Files nobody needs in a test sysroot; leaving them out saves a third of the disk and time.
TAR_EXCLUDES = ("./usr/share/doc/*", "./usr/share/man/*", "./usr/share/locale/*", "./usr/share/info/*")

Log = Callable[[str], None]


def _stderr(msg: str) -> None:
    print(f"[sysroot] {msg}", file=sys.stderr, flush=True)


class SysrootError(RuntimeError):
    """A sysroot could not be made; the message says why and what to do."""


def normalize_arch(arch: str) -> str:
    arch = ARCH_ALIASES.get(arch, arch)
    if arch not in ARCHES:
        raise SysrootError(f"unknown architecture {arch!r}; choose one of {sorted(ARCHES)} (or aarch64)")
    return arch


def check_release(release: str) -> str:
    if release not in RELEASES:
        raise SysrootError(f"unknown Debian release {release!r}; choose one of {sorted(RELEASES)}")
    return release


def cache_dir() -> Path:
    """``$TFLITE_CFFI_CACHE`` or ``$XDG_CACHE_HOME/tflite-cffi`` or ``~/.cache/tflite-cffi``."""
    if os.environ.get("TFLITE_CFFI_CACHE"):
        return Path(os.environ["TFLITE_CFFI_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "tflite-cffi"


def sysroot_path(arch: str, release: str) -> Path:
    return cache_dir() / "sysroots" / f"{normalize_arch(arch)}-{check_release(release)}"


def host_mirror() -> str:
    """The Debian mirror the host's apt already uses (first ``.../debian`` URI found), else deb.debian.org."""
    candidates: list[str] = []
    etc = Path("/etc/apt")
    files = [etc / "sources.list"] + sorted((etc / "sources.list.d").glob("*"))
    for f in files:
        try:
            text = f.read_text(errors="replace")
        except OSError:
            continue
        for line in text.splitlines():
            line = line.split("#", 1)[0].strip()
            if f.suffix == ".sources" and line.startswith("URIs:"):
                candidates += line.split()[1:]
            elif line.startswith("deb "):
                # deb [options] URI suite components
                parts = re.sub(r"\[[^]]*\]", " ", line).split()
                if len(parts) >= 2:
                    candidates.append(parts[1])
    for uri in candidates:
        if re.match(r"^https?://[^/]+/debian/?$", uri):
            return uri.rstrip("/")
    return DEFAULT_MIRROR


def recipe(arch: str, release: str) -> dict:
    """Everything that decides the sysroot's content (the mirror does not: all mirrors are equal)."""
    return {
        "script_version": SCRIPT_VERSION,
        "arch": normalize_arch(arch),
        "release": check_release(release),
        "packages": sorted(PACKAGES),
        "excludes": list(TAR_EXCLUDES),
    }


def recipe_hash(arch: str, release: str) -> str:
    blob = json.dumps(recipe(arch, release), sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def _read_stamp(root: Path) -> dict | None:
    try:
        return json.loads((root / ".tflite-cffi-sysroot.json").read_text())
    except (OSError, ValueError):
        return None


def is_current(arch: str, release: str) -> bool:
    stamp = _read_stamp(sysroot_path(arch, release))
    return bool(stamp) and stamp.get("recipe_hash") == recipe_hash(arch, release)


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _run(cmd: list[str], log: Log, **kw) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, check=False, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kw)
    if proc.returncode != 0:
        tail = "\n".join(proc.stdout.splitlines()[-30:])
        raise SysrootError(f"command failed ({proc.returncode}): {' '.join(cmd)}\n{tail}")
    return proc


# ---------------------------------------------------------------------------------------------- apt


def _apt_env(arch: str, release: str, log: Log) -> dict:
    """Write the private apt configuration for (arch, release) and return an environment using it."""
    state = cache_dir() / "apt" / f"{arch}-{release}"
    for sub in ("lists/partial", "archives/partial", "etc/sources.list.d", "etc/preferences.d",
                "etc/trusted.gpg.d", "etc/apt.conf.d", "log"):
        (state / sub).mkdir(parents=True, exist_ok=True)
    status = state / "status"
    status.write_text("")  # empty: apt resolves every dependency from scratch
    if not KEYRING.exists():
        raise SysrootError(f"{KEYRING} is missing: apt-get install debian-archive-keyring")
    mirror = host_mirror()
    (state / "etc" / "sources.list").write_text(
        f"deb [arch={arch} signed-by={KEYRING}] {mirror} {release} main\n"
    )
    conf = f"""\
APT::Architecture "{arch}";
APT::Architectures {{ "{arch}"; }};
APT::Install-Recommends "false";
APT::Install-Suggests "false";
APT::Sandbox::User "root";
Acquire::Languages "none";
Acquire::PDiffs "false";
Acquire::Retries "3";
Dir::State "{state}";
Dir::State::lists "{state}/lists/";
Dir::State::status "{status}";
Dir::Cache "{state}";
Dir::Cache::archives "{state}/archives/";
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
Dir::Etc::SourceList "{state}/etc/sources.list";
Dir::Etc::SourceParts "{state}/etc/sources.list.d";
Dir::Etc::Preferences "{state}/etc/preferences";
Dir::Etc::PreferencesParts "{state}/etc/preferences.d";
Dir::Etc::TrustedParts "{state}/etc/trusted.gpg.d";
Dir::Log "{state}/log";
"""
    (state / "apt.conf").write_text(conf)
    env = dict(os.environ, APT_CONFIG=str(state / "apt.conf"), DEBIAN_FRONTEND="noninteractive", LC_ALL="C")
    env["_TFLITE_CFFI_APT_STATE"] = str(state)
    log(f"apt: {arch} {release} from {mirror} (private state in {state})")
    return env


def _apt_update(env: dict, log: Log, attempts: int = 3) -> None:
    """apt-get update with retries (a mirror in mid-sync serves index files of the wrong size for a while);
    after the last failure, lists from an earlier successful update are used if there are any."""
    lists = Path(env["_TFLITE_CFFI_APT_STATE"]) / "lists"
    t0 = time.monotonic()
    for attempt in range(1, attempts + 1):
        try:
            _run(["apt-get", "-q", "update"], log, env=env)
            log(f"apt-get update: {time.monotonic() - t0:.1f} s")
            return
        except SysrootError as e:
            if attempt < attempts:
                log(f"apt-get update failed (attempt {attempt}/{attempts}), retrying in {10 * attempt} s")
                time.sleep(10 * attempt)
            elif any(lists.glob("*_Packages*")):
                log(f"apt-get update failed {attempts} times: using the package lists of an earlier update\n{e}")
                return
            else:
                raise


def _download(arch: str, release: str, log: Log) -> list[Path]:
    """Resolve and download PACKAGES plus dependencies; return the exact list of .deb files."""
    if shutil.which("apt-get") is None or shutil.which("dpkg-deb") is None:
        raise SysrootError("apt-get and dpkg-deb are needed (this script expects a Debian or Ubuntu host)")
    env = _apt_env(arch, release, log)
    archives = Path(env["_TFLITE_CFFI_APT_STATE"]) / "archives"
    _apt_update(env, log)
    # The simulation names exactly the packages of this resolution (the archive cache may hold old ones).
    out = _run(["apt-get", "-s", "install", "-y", *PACKAGES], log, env=env).stdout
    files = []
    for line in out.splitlines():
        m = re.match(r"^Inst (\S+) \((\S+) .*\[(\S+)\]\)", line)
        if m:
            name, version, deb_arch = m.groups()
            files.append(archives / f"{name}_{version.replace(':', '%3a')}_{deb_arch}.deb")
    if not files:
        raise SysrootError(f"apt resolved no packages for {PACKAGES}; output:\n{out[-2000:]}")
    missing = [f for f in files if not f.exists()]
    t0 = time.monotonic()
    if missing:
        log(f"downloading {len(missing)} of {len(files)} packages ...")
        _run(["apt-get", "-q", "install", "--download-only", "-y", *PACKAGES], log, env=env)
    log(f"{len(files)} packages ready ({time.monotonic() - t0:.1f} s download)")
    still = [f.name for f in files if not f.exists()]
    if still:
        raise SysrootError(f"apt did not download: {still}")
    return files


# ------------------------------------------------------------------------------------------- unpack


def _unpack(debs: list[Path], root: Path, log: Log) -> None:
    # Merged /usr first, so that packages shipping /lib/... or /bin/... land in usr/ (trixie's packages
    # rely on these links; earlier releases work with them too).
    for d in ("usr/bin", "usr/sbin", "usr/lib", "etc", "tmp"):
        (root / d).mkdir(parents=True, exist_ok=True)
    for link in ("bin", "sbin", "lib"):
        os.symlink(f"usr/{link}", root / link)
    t0 = time.monotonic()
    excludes = [f"--exclude={e}" for e in TAR_EXCLUDES]
    for deb in debs:
        dpkg = subprocess.Popen(["dpkg-deb", "--fsys-tarfile", str(deb)], stdout=subprocess.PIPE)
        tar = subprocess.run(
            ["tar", "-x", "-C", str(root), "--keep-directory-symlink", "--no-same-owner", "--wildcards",
             *excludes, "-f", "-"],
            stdin=dpkg.stdout, stderr=subprocess.PIPE, text=True, check=False,
        )
        dpkg.stdout.close()
        if dpkg.wait() != 0 or tar.returncode != 0:
            raise SysrootError(f"unpacking {deb.name} failed: {tar.stderr.strip()}")
    log(f"unpacked {len(debs)} packages in {time.monotonic() - t0:.1f} s")


def _relativize_symlinks(root: Path) -> int:
    """Rewrite absolute symlinks inside ROOT as relative ones, so they resolve inside the sysroot."""
    count = 0
    real_root = os.path.realpath(root)
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = os.path.join(dirpath, name)
            if not os.path.islink(p):
                continue
            target = os.readlink(p)
            if not target.startswith("/"):
                continue
            dest = os.path.join(real_root, target.lstrip("/"))
            rel = os.path.relpath(dest, os.path.realpath(dirpath))
            os.unlink(p)
            os.symlink(rel, p)
            count += 1
    return count


def _alternatives(root: Path, triplet: str, log: Log) -> None:
    """Create the links update-alternatives would make for BLAS/LAPACK (numpy's libraries)."""
    libdir = root / "usr" / "lib" / triplet
    for kind in ("blas", "lapack"):
        for impl in sorted(libdir.glob(f"{kind}/lib{kind}.so.[0-9]")):
            link = libdir / impl.name
            if not link.exists() and not link.is_symlink():
                os.symlink(f"{kind}/{impl.name}", link)
                log(f"alternative: {link.relative_to(root)} -> {kind}/{impl.name}")


def _fixups(root: Path, arch: str, log: Log) -> None:
    triplet = ARCHES[arch][0]
    n = _relativize_symlinks(root)
    log(f"made {n} absolute symlinks relative")
    _alternatives(root, triplet, log)
    # Without its own ld.so.cache the emulated loader would read the host's (QEMU's -L falls back to host
    # paths); an empty one keeps it on its built-in search path, which has the multiarch directories.
    (root / "etc" / "ld.so.cache").unlink(missing_ok=True)
    (root / "etc" / "ld.so.cache").write_bytes(b"")
    for py in sorted((root / "usr" / "bin").glob("python3*")):
        if re.fullmatch(r"python3(\.\d+)?", py.name):
            break
    else:
        raise SysrootError(f"no usr/bin/python3 in {root}: the unpacked packages are incomplete")


# Compiled like Debian's py3compile would, minus test suites and GUI bits nobody imports here.
COMPILE_SKIP = r"/(tests?|idlelib|tkinter|turtledemo|lib2to3|ensurepip|distutils/command)/"


def _precompile(root: Path, arch: str, log: Log) -> None:
    """Byte-compile the target's Python libraries under QEMU once (py3compile's job).

    Without this every emulated run compiles numpy and pytest again (or cannot write the .pyc files, e.g.
    with PYTHONDONTWRITEBYTECODE set): importing numpy + pytest takes ~7 s instead of ~2 s on armhf.
    """
    dirs = [d for d in sorted((root / "usr" / "lib").glob("python3*")) if d.is_dir()]
    # compileall -j uses multiprocessing, whose resource tracker breaks under QEMU with Python 3.13: instead
    # split the top-level entries into one balanced group per core and run a serial compileall per group.
    entries = [e for d in dirs for e in sorted(d.iterdir()) if e.is_dir() or e.suffix == ".py"]
    weight = {e: (sum(1 for _ in e.rglob("*.py")) if e.is_dir() else 1) for e in entries}
    groups: list[list[Path]] = [[] for _ in range(max(1, min(4, os.cpu_count() or 1)))]
    loads = [0] * len(groups)
    for e in sorted(entries, key=weight.get, reverse=True):
        i = loads.index(min(loads))
        groups[i].append(e)
        loads[i] += weight[e]
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    t0 = time.monotonic()
    procs = [
        subprocess.Popen([*python_argv(arch, root), "-m", "compileall", "-qq", "-x", COMPILE_SKIP, *map(str, g)],
                         env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for g in groups if g
    ]
    for proc in procs:
        out, _ = proc.communicate()
        # compileall exits 1 when some file does not compile (e.g. Python-2-only examples): not fatal.
        if proc.returncode not in (0, 1):
            raise SysrootError(f"byte-compiling under QEMU failed ({proc.returncode}):\n{out[-2000:]}")
    log(f"byte-compiled {sum(loads)} files of {', '.join(d.name for d in dirs)} under QEMU "
        f"in {time.monotonic() - t0:.1f} s")


def _package_versions(debs: list[Path]) -> dict:
    versions = {}
    for deb in debs:
        name, version, _ = deb.name.split("_", 2)
        versions[name] = version.replace("%3a", ":")
    return versions


def build_sysroot(arch: str, release: str, log: Log = _stderr) -> Path:
    """Build (unconditionally) the sysroot for (arch, release); atomically replace any old one."""
    arch, release = normalize_arch(arch), check_release(release)
    final = sysroot_path(arch, release)
    final.parent.mkdir(parents=True, exist_ok=True)
    t0 = time.monotonic()
    log(f"building {arch}-{release} sysroot ({RELEASES[release]}) ...")
    debs = _download(arch, release, log)
    tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{arch}-{release}-", dir=final.parent))
    try:
        _unpack(debs, tmp, log)
        _fixups(tmp, arch, log)
        _precompile(tmp, arch, log)
        stamp = {
            "recipe_hash": recipe_hash(arch, release),
            "recipe": recipe(arch, release),
            "mirror": host_mirror(),
            "built": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "packages": _package_versions(debs),
        }
        (tmp / ".tflite-cffi-sysroot.json").write_text(json.dumps(stamp, indent=1, sort_keys=True) + "\n")
        old = None
        if final.exists() or final.is_symlink():
            old = final.with_name(f".old-{final.name}-{os.getpid()}")
            os.rename(final, old)
        os.rename(tmp, final)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    log(f"sysroot {final} ready in {time.monotonic() - t0:.1f} s")
    return final


def ensure_sysroot(arch: str, release: str, *, rebuild: bool = False, log: Log = _stderr) -> Path:
    """Return the cached sysroot for (arch, release), building it if missing, stale or ``rebuild``."""
    arch, release = normalize_arch(arch), check_release(release)
    final = sysroot_path(arch, release)
    with _locked(final.parent / f".{final.name}.lock"):
        if not rebuild and is_current(arch, release):
            return final
        if final.exists():
            log(f"{final} is stale (recipe changed): rebuilding")
        return build_sysroot(arch, release, log)


# --------------------------------------------------------------------------------------------- qemu


def qemu_binary(arch: str) -> str:
    return ARCHES[normalize_arch(arch)][1]


def default_cpu(arch: str) -> str:
    return ARCHES[normalize_arch(arch)][2]


def ensure_qemu(arch: str, log: Log = _stderr) -> str:
    """Path of the static QEMU user emulator for ARCH; apt-get installs qemu-user-static when root."""
    name = qemu_binary(arch)
    path = shutil.which(name)
    if path:
        return path
    if os.geteuid() == 0 and shutil.which("apt-get"):
        log(f"{name} not found: apt-get install -y qemu-user-static")
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        lock = ["-o", "DPkg::Lock::Timeout=600"]
        subprocess.run(["apt-get", "-q", *lock, "update"], env=env, check=False)
        subprocess.run(["apt-get", "-q", "-y", *lock, "install", "qemu-user-static"], env=env, check=False)
        path = shutil.which(name)
        if path:
            return path
    raise SysrootError(
        f"{name} is not installed. Install Debian's QEMU user emulators: "
        "`sudo apt-get install qemu-user-static` (binfmt_misc is not needed; QEMU is called directly)."
    )


def python_argv(arch: str, root: Path, cpu: str | None = None) -> list[str]:
    """argv prefix running the sysroot's python3 under QEMU: ``qemu-X-static -cpu C -L ROOT ROOT/usr/bin/python3``."""
    return [ensure_qemu(arch), "-cpu", cpu or default_cpu(arch), "-L", str(root), str(Path(root) / "usr/bin/python3")]


def check(arch: str, root: Path, cpu: str | None = None, log: Log = _stderr) -> str:
    """Import numpy, cffi and pytest under QEMU; return numpy's version. Logs how long it took."""
    code = ("import sys, numpy, cffi, pytest; "
            "print(sys.version.split()[0], numpy.__version__, cffi.__version__, pytest.__version__)")
    argv = python_argv(arch, root, cpu)
    t0 = time.monotonic()
    proc = subprocess.run([*argv, "-c", code], check=False, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    dt = time.monotonic() - t0
    if proc.returncode != 0:
        raise SysrootError(f"python3 in {root} failed under QEMU:\n{proc.stdout}")
    py, np_v, cffi_v, pytest_v = proc.stdout.split()
    log(f"{' '.join(argv[:3])}: python {py}, numpy {np_v}, cffi {cffi_v}, pytest {pytest_v} "
        f"(import took {dt:.1f} s)")
    return np_v


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--arch", required=True, help="armhf or arm64 (alias aarch64)")
    ap.add_argument("--release", default="bookworm", choices=sorted(RELEASES), help="Debian release")
    ap.add_argument("--rebuild", action="store_true", help="rebuild even if the cached sysroot is current")
    ap.add_argument("--check", action="store_true", help="then import numpy, cffi, pytest under QEMU")
    ap.add_argument("--cpu", help="QEMU -cpu for --check (default: cortex-a7 / cortex-a72)")
    args = ap.parse_args(argv)
    try:
        root = ensure_sysroot(args.arch, args.release, rebuild=args.rebuild)
        if args.check:
            check(args.arch, root, args.cpu)
    except SysrootError as e:
        print(f"sysroot: error: {e}", file=sys.stderr)
        return 1
    print(root)
    return 0


if __name__ == "__main__":
    sys.exit(main())
