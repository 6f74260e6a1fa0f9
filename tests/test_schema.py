"""Cross-checks csrc/schema/tflite.fbs against independent descriptions of the format.

1. Our schema is compiled with ``flatc -b --schema`` and the binary schema is read with a
   minimal reflection reader (below). For every table and enum of the ``tflite`` PyPI package
   (and of ``ai_edge_litert``'s generated schema module, when installed) we require the same
   field ids, scalar kinds and defaults, and the same enum / union values. Our schema may have
   more than a package knows, never less and never something different.
2. The model zoo's manifest agrees with the ``tflite`` package on builtin op counts.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
from collections import Counter
from pathlib import Path

import pytest

tflite = pytest.importorskip("tflite")
flatbuffers = pytest.importorskip("flatbuffers")

from flatbuffers import encode, number_types as NT, packer  # noqa: E402
from flatbuffers.table import Table  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SCHEMA = REPO / "csrc" / "schema" / "tflite.fbs"
MODELS = Path(os.environ.get("TFLITE_CFFI_MODELS") or REPO.parent / "shared" / "models")

# reflection.fbs BaseType values
B_UTYPE, B_BOOL, B_BYTE, B_UBYTE, B_SHORT, B_USHORT, B_INT, B_UINT = 1, 2, 3, 4, 5, 6, 7, 8
B_LONG, B_ULONG, B_FLOAT, B_DOUBLE, B_STRING, B_VECTOR, B_OBJ, B_UNION = 9, 10, 11, 12, 13, 14, 15, 16

# builder.Prepend<Kind>Slot -> acceptable reflection base types for that field
SLOT_KINDS = {
    "Bool": {B_BOOL},
    "Int8": {B_BYTE},
    "Uint8": {B_UBYTE, B_UTYPE},
    "Int16": {B_SHORT},
    "Uint16": {B_USHORT},
    "Int32": {B_INT},
    "Uint32": {B_UINT},
    "Int64": {B_LONG},
    "Uint64": {B_ULONG},
    "Float32": {B_FLOAT},
    "Float64": {B_DOUBLE},
    "UOffsetTRelative": {B_STRING, B_VECTOR, B_OBJ, B_UNION},
}
ELEM_SIZE = {B_UTYPE: 1, B_BOOL: 1, B_BYTE: 1, B_UBYTE: 1, B_SHORT: 2, B_USHORT: 2, B_INT: 4,
             B_UINT: 4, B_LONG: 8, B_ULONG: 8, B_FLOAT: 4, B_DOUBLE: 8, B_STRING: 4, B_OBJ: 4}


# --------------------------------------------------------------------------------------
# A tiny reader for the few reflection.fbs fields we need (Schema/Object/Field/Type/Enum).
# --------------------------------------------------------------------------------------
class _Ref:
    def __init__(self, buf, pos):
        self._t = Table(buf, pos)

    def _o(self, slot):
        return self._t.Offset(4 + 2 * slot)

    def num(self, slot, flags, default=0):
        o = self._o(slot)
        return self._t.Get(flags, o + self._t.Pos) if o else default

    def str(self, slot):
        o = self._o(slot)
        return self._t.String(o + self._t.Pos).decode() if o else None

    def obj(self, slot):
        o = self._o(slot)
        return _Ref(self._t.Bytes, self._t.Indirect(o + self._t.Pos)) if o else None

    def objs(self, slot):
        o = self._o(slot)
        if not o:
            return []
        start = self._t.Vector(o)
        return [_Ref(self._t.Bytes, self._t.Indirect(start + 4 * i)) for i in range(self._t.VectorLen(o))]


def _camel(snake: str) -> str:
    """flatc's snake_case -> UpperCamel rule (used for the Python accessor names)."""
    return "".join(p[:1].upper() + p[1:] for p in snake.split("_"))


class OurSchema:
    def __init__(self, bfbs: bytes):
        root = _Ref(bytearray(bfbs), encode.Get(packer.uoffset, bfbs, 0))
        self.file_ident = root.str(2)
        self.root_table = root.obj(4).str(0).rsplit(".", 1)[-1]
        self.enums = {}  # name -> {value name: value}
        self.enum_is_union = {}
        enum_names = []
        for e in root.objs(1):
            name = e.str(0).rsplit(".", 1)[-1]
            enum_names.append(e.str(0))
            self.enums[name] = {v.str(0): v.num(1, NT.Int64Flags) for v in e.objs(1)}
            self.enum_is_union[name] = bool(e.num(2, NT.BoolFlags))
        self.tables = {}  # name -> {"fields": {camel: info}, "count": n}
        for o in root.objs(0):
            name = o.str(0).rsplit(".", 1)[-1]
            fields = {}
            n = 0
            for f in o.objs(1):
                t = f.obj(1)
                info = {
                    "name": f.str(0),
                    "id": f.num(2, NT.Uint16Flags),
                    "base": t.num(0, NT.Int8Flags),
                    "element": t.num(1, NT.Int8Flags),
                    "index": t.num(2, NT.Int32Flags, -1),
                    "default_integer": f.num(4, NT.Int64Flags),
                    "default_real": f.num(5, NT.Float64Flags, 0.0),
                    "deprecated": bool(f.num(6, NT.BoolFlags)),
                }
                n = max(n, info["id"] + 1)
                if not info["deprecated"]:
                    key = _camel(info["name"])
                    assert key not in fields, f"{name}: two fields map to accessor {key}"
                    fields[key] = info
            self.tables[name] = {"fields": fields, "count": n}


@pytest.fixture(scope="module")
def ours(tmp_path_factory) -> OurSchema:
    flatc = shutil.which("flatc")
    if not flatc:
        pytest.skip("flatc not on PATH")
    out = tmp_path_factory.mktemp("bfbs")
    r = subprocess.run([flatc, "-b", "--schema", "-o", str(out), str(SCHEMA)],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr + r.stdout
    assert "warning" not in (r.stderr + r.stdout).lower(), r.stderr + r.stdout
    return OurSchema((out / "tflite.bfbs").read_bytes())


# --------------------------------------------------------------------------------------
# Facts from generated Python code: call its builder helpers with a recording builder.
# --------------------------------------------------------------------------------------
class _Recorder:
    def __init__(self):
        self.calls = []

    def __getattr__(self, name):
        def record(*args):
            self.calls.append((name, args))
            return 0
        return record


def _call(fn, *args):
    rec = _Recorder()
    fn(rec, *args)
    return rec.calls


def _package_facts(namespaces):
    """namespaces: list of (module dict, class name list). Returns (tables, enums)."""
    tables, enums = {}, {}
    for ns, names in namespaces:
        for cname in names:
            cls = ns[cname]
            if hasattr(cls, "Pack") or hasattr(cls, "InitFromObj"):
                continue  # object-API twin (FooT)
            if hasattr(cls, "Init"):
                start = ns.get(cname + "Start")
                count = _call(start)[0][1][0] if start else 0
                fields = {}
                prefix = cname + "Add"
                for fname, fn in ns.items():
                    if not (fname.startswith(prefix) and callable(fn)):
                        continue
                    camel = fname[len(prefix):]
                    if not hasattr(cls, camel):
                        continue
                    (meth, args), = _call(fn, 0)
                    kind = meth[len("Prepend"):-len("Slot")]
                    vec = ns.get(f"{cname}Start{camel}Vector")
                    elem = _call(vec, 0)[0][1][0] if vec else None
                    fields[camel] = {"id": args[0], "kind": kind, "default": args[2], "elem": elem}
                tables[cname] = {"fields": fields, "count": count}
            else:
                enums[cname] = {k: v for k, v in vars(cls).items()
                                if not k.startswith("_") and isinstance(v, int)}
    return tables, enums


def _tflite_package():
    pkg = Path(tflite.__file__).parent
    spaces = []
    for py in sorted(pkg.glob("*.py")):
        name = py.stem
        if name.startswith("_") or name == "utils":
            continue
        mod = importlib.import_module(f"tflite.{name}")
        if isinstance(getattr(mod, name, None), type):
            spaces.append((vars(mod), [name]))
    return _package_facts(spaces)


def _litert_module():
    spec = importlib.util.find_spec("ai_edge_litert")  # does not import the package
    if spec is None or not spec.origin:
        return None
    path = Path(spec.origin).parent / "schema_py_generated.py"
    if not path.exists():
        return None
    s = importlib.util.spec_from_file_location("_tfc_litert_schema", path)
    mod = importlib.util.module_from_spec(s)
    s.loader.exec_module(mod)
    ns = vars(mod)
    return _package_facts([(ns, [k for k, v in ns.items() if isinstance(v, type)])])


SOURCES = {"tflite": _tflite_package, "ai_edge_litert": _litert_module}


@pytest.fixture(scope="module", params=sorted(SOURCES))
def facts(request):
    got = SOURCES[request.param]()
    if got is None:
        pytest.skip(f"{request.param} schema module not installed")
    return got


def test_identity(ours):
    assert ours.file_ident == "TFL3"
    assert ours.root_table == "Model"


def test_tables_match(ours, facts):
    tables, _ = facts
    assert len(tables) > 100
    errors = []
    for tname, t in sorted(tables.items()):
        mine = ours.tables.get(tname)
        if mine is None:
            errors.append(f"missing table {tname}")
            continue
        if t["count"] > mine["count"]:
            errors.append(f"{tname}: package has {t['count']} slots, ours {mine['count']}")
        for camel, f in sorted(t["fields"].items()):
            m = mine["fields"].get(camel)
            where = f"{tname}.{camel}"
            if m is None:
                errors.append(f"missing field {where}")
                continue
            if m["id"] != f["id"]:
                errors.append(f"{where}: id {m['id']} != {f['id']}")
            if m["base"] not in SLOT_KINDS[f["kind"]]:
                errors.append(f"{where}: base type {m['base']} incompatible with {f['kind']}")
            if f["elem"] is not None:
                if m["base"] != B_VECTOR or ELEM_SIZE.get(m["element"]) != f["elem"]:
                    errors.append(f"{where}: not a vector of {f['elem']}-byte elements")
            elif m["base"] == B_VECTOR:
                errors.append(f"{where}: ours is a vector, package's is not")
            if f["kind"] in ("Float32", "Float64"):
                if float(m["default_real"]) != float(f["default"]):
                    errors.append(f"{where}: default {m['default_real']} != {f['default']}")
            elif f["kind"] != "UOffsetTRelative" and f["default"] is not None:
                if m["default_integer"] != int(f["default"]):
                    errors.append(f"{where}: default {m['default_integer']} != {f['default']}")
    assert not errors, "\n".join(errors)


def test_enums_match(ours, facts):
    _, enums = facts
    assert {"TensorType", "BuiltinOperator", "BuiltinOptions"} <= set(enums)
    errors = []
    for ename, values in sorted(enums.items()):
        mine = ours.enums.get(ename)
        if mine is None:
            errors.append(f"missing enum {ename}")
            continue
        for k, v in sorted(values.items(), key=lambda kv: kv[1]):
            if k not in mine:
                errors.append(f"{ename}.{k} missing")
            elif mine[k] != v:
                errors.append(f"{ename}.{k} = {mine[k]}, package says {v}")
    assert not errors, "\n".join(errors)


def test_union_members_are_tables(ours):
    for ename, is_union in ours.enum_is_union.items():
        if is_union:
            for member in ours.enums[ename]:
                assert member == "NONE" or member in ours.tables, f"{ename}.{member}"


# --------------------------------------------------------------------------------------
# Model zoo: manifest vs. tflite package
# --------------------------------------------------------------------------------------
def _manifest():
    p = MODELS / "manifest.json"
    if not p.exists():
        return []
    return json.loads(p.read_text())["models"]


@pytest.mark.parametrize("entry", _manifest(), ids=lambda e: e["file"])
def test_manifest_op_counts(entry):
    from tflite.BuiltinOperator import BuiltinOperator
    from tflite.Model import Model

    names = {v: k for k, v in vars(BuiltinOperator).items() if not k.startswith("_")}
    buf = (MODELS / entry["file"]).read_bytes()
    model = Model.GetRootAsModel(buf, 0)
    codes = []
    for i in range(model.OperatorCodesLength()):
        oc = model.OperatorCodes(i)
        # Old files only fill the 8-bit field; newer ones store 127 there for big codes.
        codes.append(max(oc.DeprecatedBuiltinCode(), oc.BuiltinCode()))
    counts = Counter()
    for s in range(model.SubgraphsLength()):
        sg = model.Subgraphs(s)
        for j in range(sg.OperatorsLength()):
            code = codes[sg.Operators(j).OpcodeIndex()]
            if code != BuiltinOperator.CUSTOM:
                counts[names[code]] += 1
    assert dict(counts) == entry["ops"]
