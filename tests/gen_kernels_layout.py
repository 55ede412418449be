"""gen_kernels_layout.py OUTDIR — torch's data-movement ops for src/gen/kernels/rk_layout.c.

Writes OUTDIR/kernels/layout/{data.bin,manifest.txt} (kcase.py's format)
with torch 1.13's results: permute (including one that needs the tiled
transpose), expand/broadcast, strided slices with a step and negative
starts, cat/split/chunk, roll with negative shifts over two dims, pad in
all four modes (4-d, 5-d, negative pads), flip, repeat, repeat_interleave,
tril/triu, arange, where, masked_fill, gather/index_select (and bad
indices, which the kernels must refuse), cumsum.  Deterministic.
"""
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kcase import Writer  # noqa: E402

torch.manual_seed(1234)
w = Writer(sys.argv[1], "layout")


def r(*shape):
    return torch.randn(*shape)


# permute / transpose / expand: exact copies
x = r(2, 3, 4, 5)
w.case("permute_0213", "permute", {"perm": [0, 2, 1, 3]}, x=x, out=x.permute(0, 2, 1, 3))
x = r(2, 40, 3, 37)
w.case("permute_tiled", "permute", {"perm": [0, 3, 2, 1]}, x=x, out=x.permute(0, 3, 2, 1))
x = r(6, 9)
w.case("transpose_2d", "permute", {"perm": [1, 0]}, x=x, out=x.t())
xi = torch.randint(-1000, 1000, (3, 4, 5), dtype=torch.int64)
w.case("permute_i64", "permute", {"perm": [2, 0, 1]}, x=xi, out=xi.permute(2, 0, 1))
xm = torch.rand(5, 7) > 0.5
w.case("transpose_u8", "permute", {"perm": [1, 0]}, x=xm, out=xm.t())
x = r(4, 1, 6)
w.case("expand_N1C", "expand", {"shape": [4, 5, 6]}, x=x, out=x.expand(4, 5, 6))
x = r(6)
w.case("expand_C_to_NTC", "expand", {"shape": [2, 3, 6]}, x=x, out=x.expand(2, 3, 6))
x = r(1, 5, 1)
w.case("expand_1T1", "expand", {"shape": [3, 5, 4]}, x=x, out=x.expand(3, 5, 4))
x = r(1)
w.case("expand_scalar", "expand", {"shape": [2, 3]}, x=x, out=x.expand(2, 3))

# strided slices: each dim start end step (BIG = whole)
BIG = 2**62
x = r(3, 11)
w.case("slice_neg_start_step2", "slice", {"start": [0, -5], "end": [BIG, BIG], "step": [1, 2]},
       x=x, out=x[:, -5::2])
x = r(4, 10, 6)
w.case("slice_3d", "slice", {"start": [1, 0, -2], "end": [BIG, BIG, BIG], "step": [1, 3, 1]},
       x=x, out=x[1:, ::3, -2:])
w.case("slice_neg_end", "slice", {"start": [-3, 2, 0], "end": [-1, -2, BIG], "step": [2, 2, 5]},
       x=x, out=x[-3:-1:2, 2:-2:2, ::5])
w.case("slice_clamped", "slice", {"start": [-100, 7, 0], "end": [100, 100, 3], "step": [1, 1, 1]},
       x=x, out=x[-100:100, 7:100, 0:3])

# cat / split / chunk
a, b, c = r(2, 3, 4), r(2, 1, 4), r(2, 5, 4)
w.case("cat_dim1", "cat", {"dim": 1}, x0=a, x1=b, x2=c, out=torch.cat([a, b, c], 1))
a, b = r(3, 4), r(2, 4)
w.case("cat_dim0", "cat", {"dim": 0}, x0=a, x1=b, out=torch.cat([a, b], 0))
a, b = r(2, 3, 2), r(2, 3, 5)
w.case("cat_last", "cat", {"dim": 2}, x0=a, x1=b, out=torch.cat([a, b], 2))
a, b = torch.arange(6).reshape(2, 3), torch.arange(4).reshape(2, 2)
w.case("cat_i64", "cat", {"dim": 1}, x0=a, x1=b, out=torch.cat([a, b], 1))
x = r(2, 8, 3)
parts = torch.chunk(x, 3, dim=1)
w.case("chunk_3_of_8", "chunk", {"dim": 1, "chunks": 3, "lens": [p.shape[1] for p in parts]}, x=x,
       **{"out%d" % i: p for i, p in enumerate(parts)})
x = r(9, 4)
parts = torch.split(x, 4, dim=0)
w.case("split_4_of_9", "split", {"dim": 0, "size": 4, "lens": [p.shape[0] for p in parts]}, x=x,
       **{"out%d" % i: p for i, p in enumerate(parts)})
x = r(3, 6)
parts = torch.chunk(x, 4, dim=1)   # torch gives 3 pieces of 2
w.case("chunk_fewer", "chunk", {"dim": 1, "chunks": 4, "lens": [p.shape[1] for p in parts]}, x=x,
       **{"out%d" % i: p for i, p in enumerate(parts)})

# roll
x = r(2, 5, 6, 3)
w.case("roll_two_dims_neg", "roll", {"shifts": [-2, 3], "dims": [1, 2]}, x=x,
       out=torch.roll(x, shifts=(-2, 3), dims=(1, 2)))
w.case("roll_last_neg", "roll", {"shifts": [-4], "dims": [-1]}, x=x, out=torch.roll(x, -4, -1))
w.case("roll_big_shift", "roll", {"shifts": [13, -7], "dims": [1, 1]}, x=x,
       out=torch.roll(x, shifts=(13, -7), dims=(1, 1)))
w.case("roll_flat", "roll_flat", {"shifts": [5]}, x=x, out=torch.roll(x, 5))

# pad
x = r(2, 3, 5, 6)
for mode, pads in [("reflect", (1, 2, 2, 1)), ("replicate", (2, 0, 1, 3)), ("circular", (1, 2, 2, 1)),
                   ("constant", (1, 2, 0, 3))]:
    w.case("pad_%s_4d" % mode, "pad", {"pad": list(pads), "mode": mode, "value": 0.0}, x=x,
           out=F.pad(x, pads, mode=mode))
w.case("pad_constant_value_3dims", "pad", {"pad": [1, 1, 0, 2, 1, 0], "mode": "constant", "value": 1.5},
       x=x, out=F.pad(x, (1, 1, 0, 2, 1, 0), value=1.5))
w.case("pad_constant_negative", "pad", {"pad": [-1, 2, 0, -2], "mode": "constant", "value": -3.0}, x=x,
       out=F.pad(x, (-1, 2, 0, -2), value=-3.0))
for mode in ["reflect", "replicate", "circular"]:
    w.case("pad_%s_negative" % mode, "pad", {"pad": [-1, 2, 2, -1], "mode": mode, "value": 0.0}, x=x,
           out=F.pad(x, (-1, 2, 2, -1), mode=mode))
x5 = r(1, 2, 3, 4, 5)
w.case("pad_replicate_5d", "pad", {"pad": [1, 2, 0, 1, 2, 1], "mode": "replicate", "value": 0.0}, x=x5,
       out=F.pad(x5, (1, 2, 0, 1, 2, 1), mode="replicate"))
w.case("pad_reflect_5d", "pad", {"pad": [4, 1, 3, 2, 2, 1], "mode": "reflect", "value": 0.0}, x=x5,
       out=F.pad(x5, (4, 1, 3, 2, 2, 1), mode="reflect"))
w.case("pad_reflect_too_big", "pad_bad", {"pad": [5, 0], "mode": "reflect", "value": 0.0}, x=r(2, 3, 5))

# flip, repeat, repeat_interleave
x = r(3, 4, 5)
w.case("flip_0_2", "flip", {"dims": [0, 2]}, x=x, out=torch.flip(x, (0, 2)))
w.case("flip_last", "flip", {"dims": [-1]}, x=x, out=torch.flip(x, (-1,)))
x = r(2, 3)
w.case("repeat_more_dims", "repeat", {"reps": [2, 1, 3]}, x=x, out=x.repeat(2, 1, 3))
x = r(2, 3, 4)
w.case("repeat_interleave_dim1", "repeat_interleave", {"dim": 1, "r": 3}, x=x,
       out=x.repeat_interleave(3, dim=1))
w.case("repeat_interleave_flat", "repeat_interleave", {"dim": -9, "r": 2}, x=x, out=x.repeat_interleave(2))
counts = torch.tensor([2, 0, 3], dtype=torch.int64)
w.case("repeat_interleave_counts", "repeat_interleave_counts", {"dim": 1}, x=x, counts=counts,
       out=x.repeat_interleave(counts, dim=1))
w.case("repeat_interleave_counts_bad", "repeat_interleave_counts_bad", {"dim": 1, "ylen": 5}, x=x,
       counts=torch.tensor([2, -1, 4], dtype=torch.int64))

# tril / triu
x = r(2, 4, 6)
for d in (0, 1, -1, 7, -5):
    w.case("tril_diag%d" % d, "tril", {"diag": d}, x=x, out=torch.tril(x, d))
    w.case("triu_diag%d" % d, "triu", {"diag": d}, x=x, out=torch.triu(x, d))
ones = torch.ones(5, 7, dtype=torch.bool)
w.case("tril_bool", "tril", {"diag": 0}, x=ones, out=torch.tril(ones))

# arange
for name, (s, e, st) in [("arange_tenths", (0.0, 1.0, 0.1)), ("arange_frac", (-3.0, 10.0, 2.5)),
                         ("arange_down", (5.0, -3.0, -0.7)), ("arange_long", (0.0, 4096.0, 1.0))]:
    w.case(name, "arange_f32", {"start": s, "end": e, "step": st}, out=torch.arange(s, e, st))
w.case("arange_i64", "arange_i64", {"start": 2, "end": 17, "step": 3}, out=torch.arange(2, 17, 3))

# where / masked_fill
cond, a = torch.rand(4, 1, 6) > 0.5, r(5, 1)
b = torch.tensor(-2.5)
w.case("where_bcast_scalar", "where", {}, cond=cond, a=a, b=b, out=torch.where(cond, a, b))
cond, a, b = torch.rand(3, 4) > 0.3, r(3, 4), r(3, 4)
w.case("where_same", "where", {}, cond=cond, a=a, b=b, out=torch.where(cond, a, b))
x = r(2, 3, 4, 5)
m = torch.ones(4, 5, dtype=torch.bool).triu(1).view(1, 1, 4, 5)
w.case("masked_fill_causal", "masked_fill", {"value": float("-inf")}, x=x, mask=m,
       out=x.masked_fill(m, float("-inf")))
m = (torch.rand(2, 1, 1, 5) > 0.5)
w.case("masked_fill_pad", "masked_fill", {"value": -1e9}, x=x, mask=m, out=x.masked_fill(m, -1e9))

# gather / index_select
x = r(3, 5, 4)
idx = torch.randint(0, 5, (3, 2, 4))
w.case("gather_dim1", "gather", {"dim": 1}, x=x, index=idx, out=torch.gather(x, 1, idx))
idx = torch.randint(0, 3, (2, 5, 3))
w.case("gather_dim0_smaller", "gather", {"dim": 0}, x=x, index=idx, out=torch.gather(x, 0, idx))
idx = torch.randint(0, 4, (3, 5, 6))[:, :, :6]
idx = torch.randint(0, 4, (3, 4, 6))
w.case("gather_dim2", "gather", {"dim": 2}, x=x, index=idx, out=torch.gather(x, 2, idx))
bad = torch.randint(0, 5, (3, 2, 4))
bad[2, 1, 3] = 5
w.case("gather_bad_index", "gather_bad", {"dim": 1}, x=x, index=bad)
bad = torch.randint(0, 5, (3, 2, 4))
bad[0, 0, 0] = -1
w.case("gather_negative_index", "gather_bad", {"dim": 1}, x=x, index=bad)
idx = torch.tensor([4, 0, 0, 2], dtype=torch.int64)
w.case("index_select_dim1", "index_select", {"dim": 1}, x=x, index=idx, out=torch.index_select(x, 1, idx))
xi = torch.randint(0, 100, (6, 3))
idx = torch.tensor([5, 1], dtype=torch.int64)
w.case("index_select_i64", "index_select", {"dim": 0}, x=xi, index=idx, out=torch.index_select(xi, 0, idx))
w.case("index_select_bad", "index_select_bad", {"dim": 1}, x=x,
       index=torch.tensor([1, 5], dtype=torch.int64))

# cumsum
x = r(3, 7, 5)
w.case("cumsum_dim1", "cumsum", {"dim": 1}, x=x, out=torch.cumsum(x, 1))
w.case("cumsum_last", "cumsum", {"dim": 2}, x=x, out=torch.cumsum(x, -1))
x = r(1000)
w.case("cumsum_long", "cumsum", {"dim": 0}, x=x, out=torch.cumsum(x, 0))

w.close()
