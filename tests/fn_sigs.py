#!/usr/bin/python3
"""The forward's function table against torch's own signatures.

Usage:  /usr/bin/python3 tests/fn_sigs.py TABLE   (TABLE: tests/fn_dump's output)

Each row of src/lang/shapefn.c's table names a function, the namespaces that
spell it (torch.X, F.X, x.X(...), math.X, torchvision's) and the signature
rcc binds calls with.  For every namespace of a row, the function must
exist there in torch 1.13 (Debian's python3-torch), and one of torch's
signatures for it (inspect.signature for Python functions; the signature
lines of its docstring; the aten schemas for the builtins without one)
must agree with the row: the same positional parameters in order, the same
required ones, the same *varargs, keyword-only names torch has, and the
same defaults where both are literals.  For a method, torch's signature
lacks the receiver, which the row names `input`.

A few rows differ from every single torch signature on purpose; KNOWN
says why, and the test prints them.  Rows for functions newer than torch
1.13 are checked against the signature of the release that added them
(NEWER).
"""
import inspect
import math
import re
import sys

import torch
import torch.nn.functional as F
import torchvision.ops
import torchvision.models.swin_transformer as swin

NS_TORCH, NS_F, NS_METHOD, NS_MATH, NS_TV = 1, 2, 4, 8, 16

# Rows whose signature merges torch's overloads, with the reason.
KNOWN = {
    ("arange", NS_TORCH): "arange(end) and arange(start, end, step) in one: end=None means arange(start) is "
                          "arange(0, start)",
    ("max", NS_TORCH): "max(input), max(input, dim, keepdim) and max(input, other) in one (other: a tensor dim)",
    ("min", NS_TORCH): "min(input), min(input, dim, keepdim) and min(input, other) in one",
    ("amax", NS_TORCH): "torch.amax's dim defaults to () (all dimensions) as in its schema",
    ("amin", NS_TORCH): "torch.amin's dim defaults to () (all dimensions) as in its schema",
    ("mean", NS_TORCH): "mean(input, *, dtype) and mean(input, dim, keepdim, *, dtype) in one",
    ("sum", NS_TORCH): "sum(input, *, dtype) and sum(input, dim, keepdim, *, dtype) in one",
    ("prod", NS_TORCH): "prod(input, *, dtype) and prod(input, dim, keepdim, *, dtype) in one",
    ("argmax", NS_TORCH): "argmax(input) and argmax(input, dim, keepdim) in one",
    ("argmin", NS_TORCH): "argmin(input) and argmin(input, dim, keepdim) in one",
    ("to", NS_METHOD): "to(dtype), to(device, dtype), to(other): the dtype is found among the arguments",
    ("finfo", NS_TORCH): "torch.finfo(type=None) is a class; its constructor takes the dtype",
    ("where", NS_METHOD): "Tensor.where(condition, y): the row names y 'other' as torch.where does",
    ("contiguous", NS_METHOD): "memory_format: no bearing on shapes",
    ("float", NS_METHOD): "memory_format: no bearing on shapes", ("double", NS_METHOD): "as float",
    ("half", NS_METHOD): "as float", ("bfloat16", NS_METHOD): "as float", ("long", NS_METHOD): "as float",
    ("int", NS_METHOD): "as float", ("bool", NS_METHOD): "as float",
    ("zeros", NS_TORCH): "size= may also name the sizes, as torch accepts", ("ones", NS_TORCH): "as zeros",
    ("new_zeros", NS_METHOD): "new_zeros(size) or new_zeros(*size), as torch accepts", ("new_ones", NS_METHOD): "as new_zeros",
    ("expand", NS_METHOD): "expand(*sizes) or expand(sizes)", ("repeat", NS_METHOD): "repeat(*sizes) or repeat(sizes)",
    ("reshape", NS_METHOD): "reshape(*shape) or reshape(shape)", ("view", NS_METHOD): "view(*shape) or view(shape)",
    ("permute", NS_METHOD): "permute(*dims) or permute(dims)",
    ("size", NS_METHOD): "size(dim=None)",
}

# Functions torch 1.13 lacks: the signature of the release that added them.
NEWER = {
    ("scaled_dot_product_attention", NS_F):
        "query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None, enable_gqa=False",  # 2.5
    ("rms_norm", NS_F): "input, normalized_shape, weight=None, eps=None",  # 2.4
}


def split_top(text):
    parts, depth, cur = [], 0, ""
    for ch in text:
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    if cur.strip():
        parts.append(cur)
    return [p.strip() for p in parts if p.strip()]


def norm_default(d):
    """A default as a comparable literal, or None when it is not one."""
    if d is None:
        return None
    d = d.strip()
    if d in ("None", "True", "False", "()", "[]"):
        return {"[]": "()"}.get(d, d)
    if len(d) >= 2 and d[0] == d[-1] and d[0] in "'\"":
        return "str:" + d[1:-1]
    try:
        return "num:%r" % float(d)
    except ValueError:
        return None


class Param:
    def __init__(self, name, default, kind):
        self.name, self.default, self.kind = name, default, kind   # kind: pos, kw, var


def parse_text(text):
    """'input, dim=None, *, dtype=None' -> [Param]."""
    out, kw = [], False
    for p in split_top(text):
        if p == "*" or p.startswith("\\*") and p == "\\*":
            kw = True
            continue
        if p.startswith("**"):
            out.append(Param(p[2:], None, "varkw"))
            continue
        if p.startswith("*"):
            out.append(Param(p[1:], None, "var"))
            kw = True
            continue
        name, _, default = p.partition("=")
        name = name.split(":")[0].strip()
        out.append(Param(name, default.strip() if _ else None, "kw" if kw else "pos"))
    return out


def parse_schema(s):
    """aten schema 'aten::softmax.int(Tensor self, int dim, ScalarType? dtype=None) -> Tensor'."""
    inner = s[s.index("(") + 1:s.rindex(") ->")]
    out, kw = [], False
    for p in split_top(inner):
        if p == "*":
            kw = True
            continue
        decl, _, default = p.partition("=")
        name = decl.split()[-1]
        name = "input" if name == "self" else name
        out.append(Param(name, default if _ else None, "kw" if kw else "pos"))
    return out


def torch_sigs(obj, name, method):
    sigs = []
    if callable(obj):
        try:
            ps = []
            for p in inspect.signature(obj).parameters.values():
                kind = {p.VAR_POSITIONAL: "var", p.VAR_KEYWORD: "varkw", p.KEYWORD_ONLY: "kw"}.get(p.kind, "pos")
                d = None if p.default is p.empty else repr(p.default) if not isinstance(p.default, str) \
                    else repr(p.default)
                ps.append(Param(p.name, d, kind))
            if not any(p.kind in ("var", "varkw") for p in ps) or name in ("einsum",):
                sigs.append(ps[1:] if method and ps and ps[0].name == "self" else ps)
        except (TypeError, ValueError):
            pass
    wi = getattr(F, name + "_with_indices", None) if obj is getattr(F, name, None) else None
    if wi is not None:   # F.max_pool2d and the like dispatch on return_indices to NAME_with_indices
        sigs += torch_sigs(wi, name + "_with_indices", method)
    doc = getattr(obj, "__doc__", None) or ""
    for m in re.finditer(r"(?<![\w.])%s\(((?:[^()]|\([^()]*\))*)\)" % re.escape(name), doc):
        sigs.append(parse_text(m.group(1)))
    for s in map(str, torch._C._jit_get_schemas_for_operator("aten::" + name)):
        if "Dimname" in s or "(a!)" in s or "str " in s.split("(", 1)[1][:4]:
            continue
        ps = parse_schema(s)
        if method:
            ps = ps[1:] if ps and ps[0].name == "input" else ps
        sigs.append(ps)
    if method:
        sigs = [[Param("input", None, "pos")] + [p for p in s if p.name != "self"]
                if not (s and s[0].name == "input" and not method) else s for s in sigs]
    return sigs


def agree(mine, theirs):
    """'' when they agree, else why not."""
    theirs = [p for p in theirs if p.name not in ("out",) and p.kind != "varkw"]
    mine = [p for p in mine if p.name not in ("out",)]
    mp = [p for p in mine if p.kind == "pos"]
    tp = [p for p in theirs if p.kind == "pos"]
    if [p.name for p in mp] != [p.name for p in tp]:
        return "positional %s vs torch's %s" % ([p.name for p in mp], [p.name for p in tp])
    for a, b in zip(mp, tp):
        if (a.default is None) != (b.default is None):
            return "'%s' is %s in rcc, %s in torch" % (a.name, "required" if a.default is None else "optional",
                                                      "required" if b.default is None else "optional")
    mv = [p.name for p in mine if p.kind == "var"]
    tv = [p.name for p in theirs if p.kind == "var"]
    if mv != tv:
        return "varargs %s vs torch's %s" % (mv, tv)
    names = {p.name for p in theirs}
    for p in mine:
        if p.kind == "kw" and p.name not in names:
            return "keyword '%s' is not torch's" % p.name
    td = {p.name: p.default for p in theirs}
    for p in mine:
        a, b = norm_default(p.default), norm_default(td.get(p.name))
        if a is not None and b is not None and a != b:
            return "'%s' defaults to %s in rcc, %s in torch" % (p.name, p.default, td[p.name])
    return ""


def main(argv):
    rows = []
    with open(argv[1]) as f:
        for line in f:
            name, ns, sig = line.rstrip("\n").split("\t")
            rows.append((name, int(ns), sig))
    fails, known, checked = [], [], 0
    for name, ns, sig in rows:
        mine = parse_text(sig)
        for flag, where in ((NS_TORCH, "torch"), (NS_F, "F"), (NS_METHOD, "Tensor"), (NS_MATH, "math"),
                            (NS_TV, "torchvision")):
            if not ns & flag:
                continue
            checked += 1
            label = "%s.%s(%s)" % (where, name, sig)
            if (name, flag) in NEWER:
                why = agree(mine, parse_text(NEWER[(name, flag)]))
                (fails if why else known).append("%s: %s" % (label, why or "newer than torch 1.13: "
                                                             "checked against its release's signature"))
                continue
            obj = {NS_TORCH: torch, NS_F: F, NS_METHOD: torch.Tensor, NS_MATH: math}.get(flag)
            if flag == NS_TV:
                obj = torchvision.ops if hasattr(torchvision.ops, name) else swin
            fn = getattr(obj, name, None)
            if fn is None or isinstance(fn, torch.dtype):
                fails.append("%s: torch has no %s.%s" % (label, where, name))
                continue
            if flag == NS_MATH:
                continue   # math's functions take numbers; the names are what matters
            if (name, flag) in KNOWN:
                known.append("%s: %s" % (label, KNOWN[(name, flag)]))
                continue
            sigs = torch_sigs(fn, name, flag == NS_METHOD)
            whys = [agree(mine, s) for s in sigs]
            if not sigs:
                fails.append("%s: no signature of torch's to compare with" % label)
            elif all(whys):
                fails.append("%s: %s" % (label, "; ".join(sorted(set(whys)))))
            else:
                print("ok: " + label)
    for k in known:
        print("known: " + k)
    for f in fails:
        print("FAIL: " + f)
    print("%d rows, %d spellings checked, %d known differences, %d failures" % (len(rows), checked, len(known),
                                                                            len(fails)))
    return 1 if fails or not rows else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
