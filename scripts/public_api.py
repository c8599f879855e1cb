#!/usr/bin/env python3
"""Lists a crate's public API, one item per line, from rustdoc's JSON output.

    python3 scripts/public_api.py target/doc/fal_runtime.json

Every public path a user can name is listed with its signature: modules,
re-exported items under the name they are re-exported as, struct fields, enum
variants, inherent methods, trait items, and the traits each type implements
(auto traits included, blanket implementations left out). Lines are sorted, so
the listing is stable and a change to the surface is a small diff.
`scripts/public-api.sh` compares it with the checked-in `fal-runtime/public-api.txt`.

Written here rather than taken from cargo-public-api because that tool needs a
nightly toolchain and a rustdoc JSON format version matched to its release; this
reads the format the project's own (stable) toolchain emits. Items hidden from
the docs (`#[doc(hidden)]`, e.g. `__private` for generated code) are not part of
the API and rustdoc leaves them out. `--skip PATH` leaves out a module whose
surface is checked elsewhere (generated bindings have their own snapshots).
"""

import json
import sys


class Lister:
    def __init__(self, doc, skip):
        self.doc = doc
        self.skip = skip
        self.index = doc["index"]
        self.paths = doc["paths"]
        self.lines = set()
        self.seen = set()

    # ----- names -----------------------------------------------------------

    def item(self, id_):
        return self.index.get(str(id_))

    def type_name(self, id_, written):
        """How a path type is shown: its name for items of this crate (the
        listing line names the full path of the item itself), the full path for
        items of other crates, so an exposed dependency type is visible."""
        entry = self.paths.get(str(id_)) if id_ is not None else None
        if entry is not None and entry["crate_id"] != 0:
            return "::".join(entry["path"])
        if entry is not None:
            return entry["path"][-1]
        return written.split("::")[-1] if written else "?"

    # ----- types -----------------------------------------------------------

    def ty(self, t):
        if t is None:
            return "()"
        (kind, v), = t.items()
        if kind == "resolved_path":
            return self.path(v)
        if kind == "dyn_trait":
            parts = [self.poly_trait(p) for p in v["traits"]]
            if v.get("lifetime"):
                parts.append(v["lifetime"])
            return "dyn " + " + ".join(parts)
        if kind == "generic":
            return v
        if kind == "primitive":
            return v
        if kind == "function_pointer":
            return self.hrtb(v.get("generic_params", [])) + self.fn_sig(
                "fn", v["sig"], None, v.get("header"), self_ty=False
            )
        if kind == "tuple":
            inner = ", ".join(self.ty(x) for x in v)
            return "(" + inner + ("," if len(v) == 1 else "") + ")"
        if kind == "slice":
            return "[" + self.ty(v) + "]"
        if kind == "array":
            return "[" + self.ty(v["type"]) + "; " + v["len"] + "]"
        if kind == "impl_trait":
            return "impl " + self.bounds(v)
        if kind == "infer":
            return "_"
        if kind == "raw_pointer":
            return ("*mut " if v["is_mutable"] else "*const ") + self.ty(v["type"])
        if kind == "borrowed_ref":
            life = (v["lifetime"] + " ") if v.get("lifetime") else ""
            mutable = "mut " if v["is_mutable"] else ""
            return "&" + life + mutable + self.ty(v["type"])
        if kind == "qualified_path":
            args = self.generic_args(v.get("args"))
            if v.get("trait"):
                return "<" + self.ty(v["self_type"]) + " as " + self.path(v["trait"]) + ">::" + v["name"] + args
            return self.ty(v["self_type"]) + "::" + v["name"] + args
        if kind == "pat":
            return self.ty(v["type"])
        raise SystemExit(f"public_api.py: unknown type kind {kind!r}")

    def path(self, p):
        return self.type_name(p.get("id"), p.get("path")) + self.generic_args(p.get("args"))

    def generic_args(self, args):
        if not args:
            return ""
        (kind, v), = args.items()
        if kind == "angle_bracketed":
            parts = [self.generic_arg(a) for a in v["args"]]
            for c in v.get("constraints", []):
                parts.append(self.constraint(c))
            return "<" + ", ".join(parts) + ">" if parts else ""
        if kind == "parenthesized":
            out = "(" + ", ".join(self.ty(x) for x in v["inputs"]) + ")"
            if v.get("output"):
                out += " -> " + self.ty(v["output"])
            return out
        return "(..)"

    def generic_arg(self, a):
        if isinstance(a, str):
            return "_"
        (kind, v), = a.items()
        if kind == "lifetime":
            return v
        if kind == "type":
            return self.ty(v)
        if kind == "const":
            return v.get("expr") or v.get("value") or "_"
        return "_"

    def constraint(self, c):
        name = c["name"] + self.generic_args(c.get("args"))
        (kind, v), = c["binding"].items()
        if kind == "equality":
            (tk, tv), = v.items()
            return name + " = " + (self.ty(tv) if tk == "type" else str(tv))
        return name + ": " + self.bounds(v)

    def poly_trait(self, p):
        return self.hrtb(p.get("generic_params", [])) + self.path(p["trait"])

    def hrtb(self, params):
        if not params:
            return ""
        return "for<" + ", ".join(p["name"] for p in params) + "> "

    def bound(self, b):
        (kind, v), = b.items()
        if kind == "trait_bound":
            modifier = {"none": "", "maybe": "?", "maybe_const": "~const "}[v["modifier"]]
            return self.hrtb(v.get("generic_params", [])) + modifier + self.path(v["trait"])
        if kind == "outlives":
            return v
        if kind == "use":
            return "use<" + ", ".join(x if isinstance(x, str) else list(x.values())[0] for x in v) + ">"
        return "?"

    def bounds(self, bs):
        return " + ".join(self.bound(b) for b in bs)

    # ----- generics --------------------------------------------------------

    def generics(self, g):
        params = []
        for p in g.get("params", []):
            (kind, v), = p["kind"].items()
            if kind == "lifetime":
                text = p["name"]
                if v.get("outlives"):
                    text += ": " + " + ".join(v["outlives"])
            elif kind == "type":
                if v.get("is_synthetic"):
                    continue
                text = p["name"]
                if v.get("bounds"):
                    text += ": " + self.bounds(v["bounds"])
                if v.get("default"):
                    text += " = " + self.ty(v["default"])
            else:
                text = "const " + p["name"] + ": " + self.ty(v["type"])
                if v.get("default"):
                    text += " = " + v["default"]
            params.append(text)
        return "<" + ", ".join(params) + ">" if params else ""

    def where_clause(self, g):
        preds = []
        for w in g.get("where_predicates", []):
            (kind, v), = w.items()
            if kind == "bound_predicate":
                preds.append(self.hrtb(v.get("generic_params", [])) + self.ty(v["type"]) + ": " + self.bounds(v["bounds"]))
            elif kind == "lifetime_predicate":
                preds.append(v["lifetime"] + ": " + " + ".join(v["outlives"]))
            else:
                preds.append(self.ty(v["lhs"]) + " = " + self.ty(v["rhs"]["type"] if "type" in v["rhs"] else v["rhs"]))
        return " where " + ", ".join(preds) if preds else ""

    # ----- functions -------------------------------------------------------

    def fn_sig(self, name, sig, generics, header, self_ty=True):
        quals = ""
        if header:
            if header.get("is_const"):
                quals += "const "
            if header.get("is_async"):
                quals += "async "
            if header.get("is_unsafe"):
                quals += "unsafe "
        args = []
        for arg_name, t in sig["inputs"]:
            if self_ty and arg_name == "self":
                (kind, v), = t.items()
                if kind == "generic" and v == "Self":
                    args.append("self")
                    continue
                if kind == "borrowed_ref" and v["type"] == {"generic": "Self"}:
                    life = (v["lifetime"] + " ") if v.get("lifetime") else ""
                    args.append("&" + life + ("mut " if v["is_mutable"] else "") + "self")
                    continue
            args.append(arg_name + ": " + self.ty(t))
        text = quals + name + (self.generics(generics) if generics else "") + "(" + ", ".join(args) + ")"
        if sig.get("output") is not None:
            text += " -> " + self.ty(sig["output"])
        if generics:
            text += self.where_clause(generics)
        return text

    # ----- items -----------------------------------------------------------

    def emit(self, line):
        self.lines.add(line)

    def walk_module(self, module_id, prefix):
        module = self.item(module_id)
        for child in module["inner"]["module"]["items"]:
            self.walk_item(child, prefix)

    def walk_item(self, id_, prefix, name=None):
        item = self.item(id_)
        if item is None:
            return
        if item["visibility"] != "public" and "use" not in item["inner"]:
            return
        (kind, v), = item["inner"].items()
        if kind == "use":
            if item["visibility"] != "public":
                return
            target = self.item(v["id"]) if v.get("id") is not None else None
            if v["is_glob"]:
                if target is not None and "module" in target["inner"]:
                    for child in target["inner"]["module"]["items"]:
                        self.walk_item(child, prefix)
                return
            if target is None:
                self.emit(f"pub use {prefix}::{v['name']} (from {v['source']})")
                return
            self.walk_item(v["id"], prefix, name=v["name"])
            return
        name = name or item["name"]
        path = f"{prefix}::{name}"
        key = (str(id_), path)
        if key in self.seen:
            return
        self.seen.add(key)
        if kind == "module":
            if path in self.skip:
                return
            self.emit(f"pub mod {path}")
            self.walk_module(id_, path)
        elif kind == "struct":
            self.emit(f"pub struct {path}{self.generics(v['generics'])}{self.where_clause(v['generics'])}")
            s_kind = v["kind"]
            if isinstance(s_kind, dict) and "plain" in s_kind:
                for f in s_kind["plain"]["fields"]:
                    field = self.item(f)
                    if field and field["visibility"] == "public":
                        self.emit(f"pub {path}::{field['name']}: {self.ty(field['inner']['struct_field'])}")
            elif isinstance(s_kind, dict) and "tuple" in s_kind:
                for i, f in enumerate(s_kind["tuple"]):
                    field = self.item(f) if f is not None else None
                    if field and field["visibility"] == "public":
                        self.emit(f"pub {path}::{i}: {self.ty(field['inner']['struct_field'])}")
            self.impls(v["impls"], path)
        elif kind == "enum":
            self.emit(f"pub enum {path}{self.generics(v['generics'])}{self.where_clause(v['generics'])}")
            for var_id in v["variants"]:
                var = self.item(var_id)
                self.emit(f"pub {path}::{var['name']}{self.variant_shape(var['inner']['variant'])}")
            self.impls(v["impls"], path)
        elif kind == "union":
            self.emit(f"pub union {path}{self.generics(v['generics'])}")
            self.impls(v["impls"], path)
        elif kind == "function":
            self.emit("pub " + self.fn_sig(f"fn {path}", v["sig"], v["generics"], v["header"]))
        elif kind == "trait":
            supertraits = (": " + self.bounds(v["bounds"])) if v.get("bounds") else ""
            unsafe = "unsafe " if v.get("is_unsafe") else ""
            self.emit(f"pub {unsafe}trait {path}{self.generics(v['generics'])}{supertraits}{self.where_clause(v['generics'])}")
            for member in v["items"]:
                self.member(member, path, in_trait=True)
        elif kind == "constant":
            self.emit(f"pub const {path}: {self.ty(v['type'])}")
        elif kind == "static":
            self.emit(f"pub static {path}: {self.ty(v['type'])}")
        elif kind == "type_alias":
            self.emit(f"pub type {path}{self.generics(v['generics'])} = {self.ty(v['type'])}")
        elif kind in ("macro", "proc_macro"):
            self.emit(f"pub macro {path}")
        else:
            self.emit(f"pub {kind} {path}")

    def variant_shape(self, variant):
        kind = variant["kind"]
        if kind == "plain":
            return ""
        if "tuple" in kind:
            fields = []
            for f in kind["tuple"]:
                field = self.item(f) if f is not None else None
                fields.append(self.ty(field["inner"]["struct_field"]) if field else "_")
            return "(" + ", ".join(fields) + ")"
        fields = []
        for f in kind["struct"]["fields"]:
            field = self.item(f)
            fields.append(f"{field['name']}: {self.ty(field['inner']['struct_field'])}")
        if kind["struct"].get("has_stripped_fields"):
            fields.append("..")
        return " { " + ", ".join(fields) + " }"

    def impls(self, impl_ids, path):
        for impl_id in impl_ids:
            imp = self.item(impl_id)
            if imp is None:
                continue
            v = imp["inner"]["impl"]
            if v.get("blanket_impl") is not None:
                continue
            if v.get("trait") is None:
                for member in v["items"]:
                    self.member(member, path, in_trait=False)
                continue
            trait = self.path(v["trait"])
            if trait == "core::marker::Freeze":
                # A compiler-internal auto trait, not one users name.
                continue
            negative = "!" if v.get("is_negative") else ""
            unsafe = "unsafe " if v.get("is_unsafe") else ""
            # The type is shown by its listed path, so impls sort with their type.
            for_type = v["for"]
            args = ""
            if "resolved_path" in for_type:
                args = self.generic_args(for_type["resolved_path"].get("args"))
            self.emit(
                f"{unsafe}impl{self.generics(v['generics'])} {negative}{trait} for {path}{args}"
                f"{self.where_clause(v['generics'])}"
            )

    def member(self, id_, path, in_trait):
        item = self.item(id_)
        if item is None or (not in_trait and item["visibility"] != "public"):
            return
        (kind, v), = item["inner"].items()
        name = f"{path}::{item['name']}"
        if kind == "function":
            self.emit("pub " + self.fn_sig(f"fn {name}", v["sig"], v["generics"], v["header"]))
        elif kind == "assoc_const":
            self.emit(f"pub const {name}: {self.ty(v['type'])}")
        elif kind == "assoc_type":
            bounds = (": " + self.bounds(v["bounds"])) if v.get("bounds") else ""
            default = (" = " + self.ty(v["type"])) if v.get("type") else ""
            self.emit(f"pub type {name}{self.generics(v['generics'])}{bounds}{default}")


def main():
    args = sys.argv[1:]
    skip = set()
    while len(args) >= 2 and args[0] == "--skip":
        skip.add(args[1])
        args = args[2:]
    if len(args) != 1:
        raise SystemExit("usage: public_api.py [--skip MODULE_PATH]... TARGET/doc/CRATE.json")
    with open(args[0]) as f:
        doc = json.load(f)
    lister = Lister(doc, skip)
    root = lister.item(doc["root"])
    crate = root["name"]
    lister.emit(f"pub mod {crate}")
    lister.walk_module(doc["root"], crate)
    for line in sorted(lister.lines):
        print(line)


if __name__ == "__main__":
    main()
