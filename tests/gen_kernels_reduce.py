"""gen_kernels_reduce.py OUTDIR — reductions for src/gen/kernels/rk_reduce.c.

Writes OUTDIR/kernels/reduce/ (kcase.py's format) with torch 1.13's
results: sum/mean/prod/amax/amin/norm over the last, a middle, several
non-adjacent and all dims (with keepdim shapes), var/std biased and
unbiased, max/min/argmax/argmin with ties (torch takes the first index)
and NaNs, F.normalize.  Deterministic.
"""
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kcase import Writer  # noqa: E402

torch.manual_seed(999)
w = Writer(sys.argv[1], "reduce")

x4 = torch.randn(3, 4, 5, 6)
dimsets = [("last", [-1]), ("middle", [1]), ("first", [0]), ("nonadj", [0, 2]), ("pair_last", [2, 3]),
           ("mixed", [1, 3]), ("all", [])]
OPS = {
    "sum": lambda x, d, k: x.sum(dim=d, keepdim=k) if d else x.sum(),
    "mean": lambda x, d, k: x.mean(dim=d, keepdim=k) if d else x.mean(),
    "amax": lambda x, d, k: torch.amax(x, dim=d, keepdim=k),
    "amin": lambda x, d, k: torch.amin(x, dim=d, keepdim=k),
    "norm2": lambda x, d, k: torch.linalg.vector_norm(x, 2, dim=d if d else None, keepdim=k),
}
for dname, dims in dimsets:
    for op, fn in OPS.items():
        keep = dname in ("middle", "nonadj")
        out = fn(x4, dims, keep)
        w.case("%s_%s" % (op, dname), "reduce", {"op": op, "dims": dims, "keepdim": keep}, x=x4, out=out)
xp = torch.rand(3, 4, 5) + 0.5
w.case("prod_middle", "reduce", {"op": "prod", "dims": [1], "keepdim": False}, x=xp, out=xp.prod(1))
w.case("prod_last", "reduce", {"op": "prod", "dims": [-1], "keepdim": True}, x=xp, out=xp.prod(-1, keepdim=True))
xn = torch.randn(4, 7)
xn[1, 3] = float("nan")
xn[2, 0] = float("nan")
for op in ("amax", "amin", "sum"):
    w.case("%s_nan_rows" % op, "reduce", {"op": op, "dims": [1], "keepdim": False}, x=xn,
           out=OPS[op](xn, [1], False))
    w.case("%s_nan_cols" % op, "reduce", {"op": op, "dims": [0], "keepdim": False}, x=xn,
           out=OPS[op](xn, [0], False))
xl = torch.randn(3, 50000) + 0.1
w.case("sum_long_row", "reduce", {"op": "sum", "dims": [-1], "keepdim": False}, x=xl, out=xl.sum(-1))
w.case("mean_long_col", "reduce", {"op": "mean", "dims": [0], "keepdim": False}, x=xl.t().contiguous(),
       out=xl.t().mean(0))

for dname, dims in [("last", [-1]), ("middle", [1]), ("nonadj", [0, 2]), ("all", [])]:
    for unb in (True, False):
        d = dims if dims else None
        if d is None:
            v, s = torch.var(x4, unbiased=unb), torch.std(x4, unbiased=unb)
        else:
            v, s = torch.var(x4, dim=d, unbiased=unb), torch.std(x4, dim=d, unbiased=unb)
        w.case("var_%s_%s" % (dname, "unbiased" if unb else "biased"), "var",
               {"dims": dims, "correction": int(unb), "sqrt": 0}, x=x4, out=v)
        w.case("std_%s_%s" % (dname, "unbiased" if unb else "biased"), "var",
               {"dims": dims, "correction": int(unb), "sqrt": 1}, x=x4, out=s)
xo = torch.randn(5, 1, 3) * 100 + 1000        # a large mean: the two-pass var keeps its digits
w.case("var_offset", "var", {"dims": [0], "correction": 1, "sqrt": 0}, x=xo, out=torch.var(xo, 0))

# argmax/argmin and max/min(dim): many ties (small integers), NaNs
xt = torch.randint(-2, 3, (4, 6, 5)).float()
for dim in (1, -1, 0):
    for mn in (0, 1):
        f = torch.min if mn else torch.max
        v, i = f(xt, dim)
        w.case("%s_dim%d_ties" % ("min" if mn else "max", dim), "argmax", {"dim": dim, "is_min": mn},
               x=xt, values=v, indices=i)
w.case("argmax_flat_ties", "argmax_flat", {"is_min": 0}, x=xt, indices=torch.argmax(xt).reshape(1))
w.case("argmin_flat_ties", "argmax_flat", {"is_min": 1}, x=xt, indices=torch.argmin(xt).reshape(1))
xtn = xt.clone()
xtn[1, 2, 3] = float("nan")
xtn[2, 4, 1] = float("nan")
xtn[2, 5, 1] = float("nan")
for dim in (1, -1):
    for mn in (0, 1):
        f = torch.min if mn else torch.max
        v, i = f(xtn, dim)
        w.case("%s_dim%d_nan" % ("min" if mn else "max", dim), "argmax", {"dim": dim, "is_min": mn},
               x=xtn, values=v, indices=i)

# F.normalize
xz = torch.randn(4, 6, 5)
xz[1, :, 2] = 0.0
xz[3, 2, :] = 0.0
for dim in (1, -1, 0):
    w.case("normalize_dim%d" % dim, "normalize", {"dim": dim, "eps": 1e-12}, x=xz,
           out=F.normalize(xz, p=2.0, dim=dim))
w.case("normalize_big_eps", "normalize", {"dim": -1, "eps": 0.5}, x=xz * 0.1,
       out=F.normalize(xz * 0.1, dim=-1, eps=0.5))

w.close()
