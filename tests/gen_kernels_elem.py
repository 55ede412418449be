"""gen_kernels_elem.py OUTDIR — elementwise ops for src/gen/kernels/rk_elem.c.

Writes OUTDIR/kernels/elem/ (kcase.py's format) with torch 1.13's results:
binary ops under broadcasting of tensors of different ranks ([N,1,C] with
[C], [1,T,1] with [B,T,C], last-dim and row broadcasts, a 0-dim operand),
comparisons to bool masks, logical ops, scalar forms, unary math and
clamp, with NaNs where torch's NaN rules matter.  Deterministic.
"""
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kcase import Writer  # noqa: E402

torch.manual_seed(4321)
w = Writer(sys.argv[1], "elem")


def r(*shape):
    return torch.randn(shape)


BIN = {"add": torch.add, "sub": torch.sub, "mul": torch.mul, "div": torch.div, "pow": torch.pow,
       "maximum": torch.maximum, "minimum": torch.minimum, "floor_divide": torch.floor_divide,
       "remainder": torch.remainder, "atan2": torch.atan2}
CMP = {"eq": torch.eq, "ne": torch.ne, "lt": torch.lt, "le": torch.le, "gt": torch.gt, "ge": torch.ge}

shapes = [("same", (3, 4, 5), (3, 4, 5)), ("N1C_C", (4, 1, 6), (6,)), ("1T1_BTC", (1, 5, 1), (2, 5, 3)),
          ("row", (7, 8), (8,)), ("lastdim", (2, 3, 9), (2, 3, 1)), ("outer", (3, 1), (1, 4)),
          ("scalar0d", (2, 3), ()), ("rank4_mixed", (2, 1, 4, 1), (3, 1, 5)), ("long_row", (3, 1000), (1000,))]
for sname, sa, sb in shapes:
    a, b = r(*sa), r(*sb)
    for op in ("add", "sub", "mul", "div", "maximum", "minimum"):
        w.case("%s_%s" % (op, sname), "binary", {"op": op}, a=a, b=b, out=BIN[op](a, b))
    w.case("pow_%s" % sname, "binary", {"op": "pow"}, a=a.abs() + 0.1, b=b, out=torch.pow(a.abs() + 0.1, b))
    ai, bi = a.round(), b.round()      # small integers: many ties, so eq and le/ge are tested
    for op in ("eq", "lt", "ge"):
        w.case("%s_%s" % (op, sname), "compare", {"op": op}, a=ai, b=bi, out=CMP[op](ai, bi))
a, b = r(40), r(40)
a[3], b[5], a[7], b[7] = float("nan"), float("nan"), float("nan"), float("nan")
b[9] = a[9]
for op in ("maximum", "minimum", "add"):
    w.case("%s_nan" % op, "binary", {"op": op}, a=a, b=b, out=BIN[op](a, b))
for op in CMP:
    w.case("%s_nan" % op, "compare", {"op": op}, a=a, b=b, out=CMP[op](a, b))
a, b = r(5, 6) * 10, r(6) * 3
b[2] = 0.0
for op in ("floor_divide", "remainder", "atan2"):
    w.case("%s_row" % op, "binary", {"op": op}, a=a, b=b, out=BIN[op](a, b))
# in-place: y is a (x += b)
a, b = r(4, 5, 6), r(5, 1)
w.case("add_inplace", "binary_inplace", {"op": "add"}, a=a, b=b, out=a + b)

# logical ops on masks
ma, mb = torch.rand(3, 1, 5) > 0.5, torch.rand(4, 5) > 0.5
w.case("logical_and", "logical", {"op": "and"}, a=ma, b=mb, out=torch.logical_and(ma, mb))
w.case("logical_or", "logical", {"op": "or"}, a=ma, b=mb, out=torch.logical_or(ma, mb))
w.case("logical_xor", "logical", {"op": "xor"}, a=ma, b=mb, out=torch.logical_xor(ma, mb))
w.case("logical_not", "logical_not", {}, a=ma, out=torch.logical_not(ma))

# scalar forms
x = r(3, 7)
for op, s in [("add", 1.5), ("sub", 0.25), ("mul", -3.0), ("div", 7.0), ("pow", 2.0), ("pow", 0.5),
              ("pow", 3.0), ("maximum", 0.0), ("remainder", 1.5)]:
    xx = x.abs() if op == "pow" else x
    want = {"maximum": lambda: torch.clamp(xx, min=s),
            "pow": lambda: torch.pow(xx, s)}.get(op, lambda: BIN[op](xx, s))()
    w.case("scalar_%s_%g" % (op, s), "binary_scalar", {"op": op, "s": s, "first": 0}, x=xx, out=want)
w.case("scalar_rsub", "binary_scalar", {"op": "sub", "s": 1.0, "first": 1}, x=x, out=torch.rsub(x, 1.0))
w.case("scalar_rdiv", "binary_scalar", {"op": "div", "s": 1.0, "first": 1}, x=x, out=1.0 / x)
w.case("scalar_rpow", "binary_scalar", {"op": "pow", "s": 2.0, "first": 1}, x=x, out=2.0 ** x)
for op, s in [("gt", 0.0), ("le", 0.5), ("eq", float(x[1, 2]))]:
    w.case("scalar_cmp_%s" % op, "compare_scalar", {"op": op, "s": s}, x=x, out=CMP[op](x, s))
a, b = r(4, 6), r(4, 6)
w.case("add_alpha", "add_scaled", {"alpha": -0.5}, a=a, b=b, out=torch.add(a, b, alpha=-0.5))

# unary
x = r(6, 50) * 3
x[0, 0] = float("nan")
pos = x.abs() + 1e-3
pos[0, 0] = float("nan")
half = torch.tensor([0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 0.49, 3.0])
UN = [("exp", x.clamp(-80, 80), torch.exp), ("log", pos, torch.log), ("sqrt", pos, torch.sqrt),
      ("rsqrt", pos, torch.rsqrt), ("abs", x, torch.abs), ("neg", x, torch.neg), ("sin", x, torch.sin),
      ("cos", x, torch.cos), ("erf", x, torch.erf), ("reciprocal", x, torch.reciprocal),
      ("tanh", x, torch.tanh), ("sigmoid", x, torch.sigmoid), ("floor", x, torch.floor),
      ("ceil", x, torch.ceil), ("round", torch.cat([x.flatten(), half]), torch.round),
      ("trunc", x, torch.trunc), ("sign", x, torch.sign), ("square", x, torch.square),
      ("log1p", pos, torch.log1p), ("expm1", x.clamp(-80, 80), torch.expm1), ("log2", pos, torch.log2),
      ("exp2", x.clamp(-80, 80), torch.exp2)]
for name, inp, fn in UN:
    w.case("unary_%s" % name, "unary", {"op": name}, x=inp, out=fn(inp))
w.case("clamp_both", "clamp", {"lo": -1.0, "hi": 2.0}, x=x, out=torch.clamp(x, -1.0, 2.0))
w.case("clamp_min", "clamp", {"lo": 0.5, "hi": float("inf")}, x=x, out=torch.clamp(x, min=0.5))
w.case("clamp_crossed", "clamp", {"lo": 1.0, "hi": -1.0}, x=x, out=torch.clamp(x, 1.0, -1.0))

w.close()
