"""gen_kernels_matmul.py OUTDIR — torch.matmul, bmm/baddbmm and einsum for src/gen/kernels/rk_matmul.c.

Writes OUTDIR/kernels/matmul/ (kcase.py's format) with torch 1.13's
results: every rank combination of torch.matmul (1-d operands, batch
folding, broadcast batch dims), bmm with transposes, baddbmm with a
shared and a batched input, and einsum in the attention forms, the
outer product, implicit output, forms whose operands or output go
through scratch, and forms rk_einsum must refuse.  Deterministic.
"""
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kcase import Writer  # noqa: E402

torch.manual_seed(77)
w = Writer(sys.argv[1], "matmul")


def r(*shape):
    return torch.randn(shape)


MM = [("1d_1d", (7,), (7,)), ("2d_1d", (5, 7), (7,)), ("1d_2d", (7,), (7, 4)), ("1d_3d", (7,), (3, 7, 4)),
      ("3d_1d", (3, 5, 7), (7,)), ("2d_2d", (5, 7), (7, 4)), ("3d_2d_fold", (3, 5, 7), (7, 4)),
      ("2d_3d_bcast", (5, 7), (3, 7, 4)), ("4d_4d", (2, 3, 5, 7), (2, 3, 7, 4)),
      ("bcast_batch", (2, 1, 5, 7), (3, 7, 4)), ("bcast_both", (2, 1, 5, 7), (1, 3, 7, 4)),
      ("attn_scores", (1, 4, 9, 16), (1, 4, 16, 9)), ("m1_batched", (3, 1, 7), (3, 7, 4)),
      ("n1_batched", (3, 5, 7), (3, 7, 1)), ("linear_like", (2, 6, 32), (32, 48))]
for name, sa, sb in MM:
    a, b = r(*sa), r(*sb)
    w.case("matmul_" + name, "matmul", {}, a=a, b=b, out=torch.matmul(a, b))

a, b = r(4, 5, 6), r(4, 6, 3)
w.case("bmm", "bmm", {"ta": 0, "tb": 0}, a=a, b=b, out=torch.bmm(a, b))
at, bt = a.transpose(1, 2).contiguous(), b.transpose(1, 2).contiguous()
w.case("bmm_ta", "bmm", {"ta": 1, "tb": 0}, a=at, b=b, out=torch.bmm(a, b))
w.case("bmm_tb", "bmm", {"ta": 0, "tb": 1}, a=a, b=bt, out=torch.bmm(a, b))
w.case("bmm_ta_tb", "bmm", {"ta": 1, "tb": 1}, a=at, b=bt, out=torch.bmm(a, b))
c = r(4, 5, 3)
w.case("baddbmm_batched", "baddbmm", {"beta": 0.5, "alpha": 2.0}, c=c, a=a, b=b,
       out=torch.baddbmm(c, a, b, beta=0.5, alpha=2.0))
c1 = r(5, 3)
w.case("baddbmm_shared", "baddbmm", {"beta": 1.0, "alpha": 0.125}, c=c1, a=a, b=b,
       out=torch.baddbmm(c1, a, b, alpha=0.125))
cn = torch.full((4, 5, 3), float("nan"))
w.case("baddbmm_beta0_ignores_nan", "baddbmm", {"beta": 0.0, "alpha": 1.0}, c=cn, a=a, b=b,
       out=torch.baddbmm(cn, a, b, beta=0.0))

B, H, T, S, D = 2, 3, 5, 6, 4
E = [("bhqd,bhkd->bhqk", (B, H, T, D), (B, H, S, D)),
     ("bhqk,bhkd->bhqd", (B, H, T, S), (B, H, S, D)),
     ("bqhd,bkhd->bhqk", (B, T, H, D), (B, S, H, D)),
     ("bhqk,bkhd->bqhd", (B, H, T, S), (B, S, H, D)),
     ("ij,jk->ik", (5, 7), (7, 3)),
     ("bij,bjk->bik", (4, 5, 7), (4, 7, 3)),
     ("i,j->ij", (5,), (7,)),
     ("ij,jk", (5, 7), (7, 3)),                    # implicit output: ik
     ("bij,bjk->bki", (4, 5, 7), (4, 7, 3)),       # transposed output, in place
     ("ijk,jil->kl", (3, 4, 5), (4, 3, 6)),        # b through scratch
     ("abc,cd->dba", (2, 3, 4), (4, 5)),           # a through scratch, output transposed
     ("bij,bjk->ikb", (4, 5, 7), (4, 7, 3)),       # output through scratch
     ("abk,kn->abn", (2, 3, 4), (4, 5)),           # two M labels folded
     ("bn,anm->bam", (3, 4), (2, 4, 5)),           # N group of two labels
     ("i,i->", (6,), (6,))]                        # dot product, 0-d output
for eq, sa, sb in E:
    a, b = r(*sa), r(*sb)
    name = "einsum_" + eq.replace(",", "_").replace("->", "_to_").rstrip("_") or "x"
    w.case(name, "einsum", {"eq": eq.replace(" ", "")}, a=a, b=b, out=torch.einsum(eq, a, b))
for eq, sa, sb in [("ii,ij->j", (3, 3), (3, 4)), ("ij,kl->i", (2, 3), (4, 5)), ("ij,jk->ik", (2, 3), (4, 5)),
                   ("...ij,jk->ik", (2, 3), (3, 5))]:
    w.case("einsum_refused_" + eq.replace(",", "_").replace("->", "_to_").replace(".", "E"), "einsum_bad",
           {"eq": eq}, a=r(*sa), b=r(*sb))

w.close()
