#!/usr/bin/env python3
"""Generate the cffi binding ``tflite_cffi/_ffi.py`` from the public C header.

The header ``csrc/include/tflite_cffi/c_api.h`` is the one source of truth. It
is run through the C preprocessor with ``TFLITE_CFFI_CDEF`` defined (which
hides the includes, the export attribute and the va_list callback), the
result is put in a canonical form that does not depend on which compiler
preprocessed it, declared to ``cffi.FFI().cdef()`` and written out in
out-of-line ABI mode (``set_source("tflite_cffi._ffi", None)``): the module
needs no compiler at install time and serves every CPython version.

The generated module is cffi's output followed by three constants::

    TFLITE_CFFI_VERSION  # the header's TFLITE_CFFI_VERSION ("0.1.0")
    CDEF                 # the canonical declarations given to cdef()
    CDEF_SHA256          # sha256 of CDEF, for a quick comparison

``tflite_cffi._lib`` compares TFLITE_CFFI_VERSION with the library's
``TfLiteCffiVersion()``; the tests compare CDEF with a fresh run of this script
(``--check``) to catch a header that changed without the binding.

Usage::

    python tools/gen_ffi.py --header csrc/include/tflite_cffi/c_api.h \\
        --cc "gcc" --out build/dev/_ffi.py
    python tools/gen_ffi.py --header csrc/include/tflite_cffi/c_api.h \\
        --check tflite_cffi/_ffi.py          # exit 1 and a diff when they differ
    python tools/gen_ffi.py --header ... --print-cdef   # show the declarations

Exit codes: 0 done / up to date, 1 ``--check`` found a difference, 2 usage or
environment error (no working preprocessor, header without a version...).
The output is deterministic: the same header gives the same bytes.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import difflib
import hashlib
import io
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from typing import List, Optional, Sequence, Tuple

MODULE_NAME = "tflite_cffi._ffi"
VERSION_MACRO = "TFLITE_CFFI_VERSION"
PREPROCESS_ARGS = ["-E", "-P", "-DTFLITE_CFFI_CDEF", "-x", "c", "-"]

_VERSION_RE = re.compile(r'^[ \t]*#[ \t]*define[ \t]+%s[ \t]+"([^"\n]*)"' % VERSION_MACRO,
                         re.MULTILINE)
# C tokens: identifiers/numbers, string and char literals, multi-char
# operators we might meet in declarations, then any other single character.
_TOKEN_RE = re.compile(r'''
    [A-Za-z_0-9.]+            # identifiers, keywords, numbers (1.0f, 0x10u)
  | "(?:\\.|[^"\\])*"         # string literal
  | '(?:\\.|[^'\\])*'         # char literal
  | <<|>>|\.\.\.|->|[^\sA-Za-z_0-9]
''', re.VERBOSE)
_WORD_RE = re.compile(r"[A-Za-z_0-9]")


class GenError(Exception):
    """A problem the user must fix (printed without a traceback, exit 2)."""


# --------------------------------------------------------------------------
# Preprocessing
# --------------------------------------------------------------------------

def _compiler_candidates(cc: Optional[str]) -> List[Tuple[str, List[str]]]:
    """(label, argv prefix) of the preprocessors to try, in order."""
    found: List[Tuple[str, List[str]]] = []
    if cc:
        found.append(("--cc %r" % cc, shlex.split(cc)))
    env_cc = os.environ.get("CC")
    if env_cc and env_cc != cc:
        found.append(("$CC %r" % env_cc, shlex.split(env_cc)))
    for name in ("cc", "gcc", "clang"):
        path = shutil.which(name)
        if path:
            found.append((name, [path]))
    try:
        import importlib.util
        if importlib.util.find_spec("ziglang") is not None:
            found.append(("python -m ziglang cc", [sys.executable, "-m", "ziglang", "cc"]))
    except (ImportError, ValueError):
        pass
    return found


def preprocess(header_text: str, cc: Optional[str] = None) -> Tuple[str, str]:
    """Run the header through the first working preprocessor.

    Returns (preprocessed text, label of the compiler used). Raises GenError
    naming every compiler tried and why it failed.
    """
    failures = []
    for label, argv in _compiler_candidates(cc):
        if not argv:
            failures.append("%s: empty command" % label)
            continue
        try:
            proc = subprocess.run(argv + PREPROCESS_ARGS, input=header_text.encode("utf-8"),
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  timeout=120)
        except (OSError, subprocess.SubprocessError) as exc:
            failures.append("%s: %s" % (label, exc))
            continue
        if proc.returncode != 0:
            err = proc.stderr.decode("utf-8", "replace").strip().splitlines()
            failures.append("%s: exit %d%s" % (label, proc.returncode,
                                                ": " + err[-1] if err else ""))
            continue
        return proc.stdout.decode("utf-8"), label
    if not failures:
        failures.append("no C compiler found (tried --cc, $CC, cc, gcc, clang, "
                        "python -m ziglang cc)")
    raise GenError("cannot preprocess the header; install a C compiler (gcc, clang) "
                   "or `pip install ziglang`, or pass --cc. Tried:\n  "
                   + "\n  ".join(failures))


def header_version(header_text: str) -> str:
    match = _VERSION_RE.search(header_text)
    if not match:
        raise GenError("the header has no `#define %s \"x.y.z\"`" % VERSION_MACRO)
    return match.group(1)


# --------------------------------------------------------------------------
# Canonical cdef
# --------------------------------------------------------------------------

def _strip_unparsable(text: str) -> str:
    """Remove what may survive preprocessing but cffi's parser rejects."""
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.DOTALL)   # -C or odd compilers
    text = re.sub(r"//[^\n]*", " ", text)
    # Leftover directives: #pragma, line markers (`# 1 "file"`), #ident.
    text = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
    text = re.sub(r"\b_Pragma\s*\(\s*\"(?:\\.|[^\"\\])*\"\s*\)", " ", text)
    # GNU attributes and friends, with balanced parentheses.
    out = []
    i = 0
    pattern = re.compile(r"\b(__attribute__|__declspec|__asm__|__asm)\s*\(")
    while True:
        match = pattern.search(text, i)
        if not match:
            out.append(text[i:])
            break
        out.append(text[i:match.start()])
        depth, j = 0, match.end() - 1
        while j < len(text):
            if text[j] == "(":
                depth += 1
            elif text[j] == ")":
                depth -= 1
                if depth == 0:
                    break
            j += 1
        i = j + 1
    text = "".join(out)
    for word in ("__extension__", "__restrict__", "__restrict", "restrict", "__inline__",
                 "__inline", "__THROW", "__nonnull", "__wur"):
        text = re.sub(r"\b%s\b" % word, " ", text)
    return text


def _join_tokens(tokens: Sequence[str]) -> str:
    """Tokens -> text with one canonical spacing."""
    out = ""
    prev = ""
    for tok in tokens:
        if not out:
            out = tok
        elif tok in (",", ";", ")", "]"):
            out += tok
        elif prev in ("(", "["):
            out += tok
        elif tok in ("(", "[") and (_WORD_RE.match(prev) or prev in (")", "]")):
            out += tok                      # f(void), a[3], (*cb)(int)
        elif tok == "*":
            out += " *" if prev not in ("*", "(") else "*"
        elif prev == "*":
            out += tok                      # char *name, (*cb)
        elif prev == "-" and len(out) >= 2 and out[-2] in "=(,":
            out += tok                      # unary minus: = -1
        else:
            out += " " + tok
        prev = tok
    return out


def canonical_cdef(preprocessed: str) -> str:
    """One top-level declaration per line; struct/enum members one per line.

    Based on tokens only, so gcc's, clang's or zig's preprocessor output
    (different blank lines and spacing) gives the same text.
    """
    tokens = _TOKEN_RE.findall(_strip_unparsable(preprocessed))
    lines: List[str] = []
    stack: List[str] = []          # 'enum' / 'struct' per open brace
    current: List[str] = []
    depth = 0

    def flush(indent: int, terminator: str = "") -> None:
        if current:
            lines.append("  " * indent + _join_tokens(current) + terminator)
            current.clear()

    for tok in tokens:
        if tok == "{":
            kind = "enum" if "enum" in current else "struct"
            current.append("{")
            flush(depth)
            stack.append(kind)
            depth += 1
        elif tok == "}":
            flush(depth)                                  # enum's last member
            depth -= 1
            if stack:
                stack.pop()
            current.append("}")
        elif tok == ";":
            current.append(";")
            if depth == 0:
                flush(0)
            else:
                flush(depth)
        elif tok == "," and depth > 0 and stack and stack[-1] == "enum":
            current.append(",")
            flush(depth)
        else:
            current.append(tok)
    if current or depth:
        raise GenError("unbalanced declarations at the end of the header: %r"
                       % _join_tokens(current))
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------
# Module generation
# --------------------------------------------------------------------------

def build_module(cdef: str, version: str, header_label: str) -> str:
    """The text of the generated _ffi.py."""
    import cffi  # imported here so --help works without cffi

    ffi = cffi.FFI()
    try:
        ffi.cdef(cdef)
    except cffi.CDefError as exc:
        raise GenError("cffi cannot parse the preprocessed header: %s" % exc) from exc
    ffi.set_source(MODULE_NAME, None)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "_ffi.py")
        with contextlib.redirect_stdout(io.StringIO()):   # cffi prints "generating ..."
            ffi.emit_python_code(path)
        with open(path, "r", encoding="utf-8") as f:
            body = f.read()
    digest = hashlib.sha256(cdef.encode("utf-8")).hexdigest()
    parts = [
        "# Generated by tools/gen_ffi.py from %s: do not edit.\n" % header_label,
        "# cffi out-of-line ABI mode; load the library with ffi.dlopen().\n",
        body.rstrip("\n") + "\n",
        "\n",
        "TFLITE_CFFI_VERSION = %r\n" % version,
        "CDEF_SHA256 = %r\n" % digest,
        "CDEF = %s\n" % _py_triple_quoted(cdef),
    ]
    return "".join(parts)


def _py_triple_quoted(text: str) -> str:
    if '"""' in text or "\\" in text:
        return repr(text)
    return '"""\\\n' + text + '"""'


def generate(header: str, cc: Optional[str]) -> Tuple[str, str, str]:
    """(module text, cdef, version) for the header at path `header`."""
    try:
        with open(header, "r", encoding="utf-8") as f:
            text = f.read()
    except OSError as exc:
        raise GenError("cannot read the header: %s" % exc) from exc
    version = header_version(text)
    preprocessed, _ = preprocess(text, cc)
    cdef = canonical_cdef(preprocessed)
    if not cdef.strip():
        raise GenError("the preprocessed header is empty")
    label = "/".join(os.path.normpath(header).split(os.sep)[-2:])
    return build_module(cdef, version, label), cdef, version


def read_generated(path: str) -> Tuple[Optional[str], Optional[str]]:
    """(CDEF, TFLITE_CFFI_VERSION) of an existing generated module, without
    importing it; None for what is missing."""
    with open(path, "r", encoding="utf-8") as f:
        tree = ast.parse(f.read(), path)
    found = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 \
                and isinstance(node.targets[0], ast.Name) \
                and node.targets[0].id in ("CDEF", VERSION_MACRO):
            try:
                found[node.targets[0].id] = ast.literal_eval(node.value)
            except ValueError:
                pass
    return found.get("CDEF"), found.get(VERSION_MACRO)


def check(path: str, cdef: str, version: str, out=sys.stdout) -> int:
    """0 when `path` matches the header, else 1 with a short diff summary."""
    try:
        old_cdef, old_version = read_generated(path)
    except (OSError, SyntaxError) as exc:
        print("%s: cannot read: %s" % (path, exc), file=out)
        return 1
    problems = []
    if old_version != version:
        problems.append("version: module has %r, header has %r" % (old_version, version))
    if old_cdef is None:
        problems.append("the module has no CDEF constant (not made by tools/gen_ffi.py?)")
    elif old_cdef != cdef:
        diff = list(difflib.unified_diff(old_cdef.splitlines(), cdef.splitlines(),
                                         "%s (CDEF)" % path, "header", lineterm="", n=1))
        added = sum(1 for d in diff if d.startswith("+") and not d.startswith("+++"))
        removed = sum(1 for d in diff if d.startswith("-") and not d.startswith("---"))
        problems.append("declarations differ: %d line(s) only in the header, %d only in "
                        "the module" % (added, removed))
        problems.extend(diff[:60])
        if len(diff) > 60:
            problems.append("... (%d more diff lines)" % (len(diff) - 60))
    if problems:
        print("%s is out of date with the header; regenerate it (invoke ffi / "
              "tools/gen_ffi.py --out):" % path, file=out)
        for line in problems:
            print("  " + line, file=out)
        return 1
    print("%s is up to date (TFLITE_CFFI_VERSION %s)" % (path, version), file=out)
    return 0


def write_if_changed(path: str, text: str) -> bool:
    try:
        with open(path, "r", encoding="utf-8") as f:
            if f.read() == text:
                return False
    except OSError:
        pass
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".gen_ffi.", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return True


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        prog="gen_ffi.py",
        description="Generate the cffi ABI-mode module tflite_cffi/_ffi.py from c_api.h.")
    parser.add_argument("--header", required=True, help="path of csrc/include/tflite_cffi/c_api.h")
    parser.add_argument("--cc", default=None,
                        help="C compiler command used as preprocessor (may hold arguments, "
                             "e.g. \"zig cc -target arm-linux-gnueabihf\"); falls back to "
                             "$CC, cc, gcc, clang, python -m ziglang cc")
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--out", help="write the module here (only rewritten when it changes)")
    action.add_argument("--check", metavar="FFI_PY",
                        help="compare an existing module with the header; exit 1 when they differ")
    action.add_argument("--print-cdef", action="store_true",
                        help="print the canonical declarations and exit")
    args = parser.parse_args(argv)
    try:
        module, cdef, version = generate(args.header, args.cc)
    except GenError as exc:
        print("gen_ffi.py: error: %s" % exc, file=sys.stderr)
        return 2
    if args.print_cdef:
        sys.stdout.write(cdef)
        return 0
    if args.check:
        return check(args.check, cdef, version)
    changed = write_if_changed(args.out, module)
    print("gen_ffi.py: %s %s (TFLITE_CFFI_VERSION %s)"
          % ("wrote" if changed else "unchanged", args.out, version))
    return 0


if __name__ == "__main__":
    sys.exit(main())
