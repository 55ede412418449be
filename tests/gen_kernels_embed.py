#!/usr/bin/python3
"""gen_kernels_embed.py OUTDIR — torch's embedding for tests/kernels/test_embed.c
(src/gen/kernels/rk_embed.c).

Writes OUTDIR/embed/{data.bin,manifest.txt} (tests/kernels/kcases.py):
F.embedding of int64 ids (repeated ids, the first and last rows, a
padding_idx, which changes nothing in the forward), and ids torch refuses
(negative, == num_embeddings, far out): for those the case says bad=1 and
carries no output, and the kernel must return -1 and leave its output
untouched.  Rows are copies, compared bit for bit.  Deterministic (seeded).
"""
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "kernels"))
from kcases import Cases  # noqa: E402

g = torch.Generator().manual_seed(20261207)


def case(cs, name, num, dim, ids, padding_idx=None):
    table = torch.randn(num, dim, generator=g)
    ids = torch.tensor(ids, dtype=torch.int64)
    try:
        y = F.embedding(ids, table, padding_idx=padding_idx)
    except (IndexError, RuntimeError):
        y = None
    t = dict(ids=ids, table=table)
    if y is not None:
        t["y"] = y
    cs.add(name, "embedding", dict(num=num, dim=dim, bad=y is None), t)


def main():
    cs = Cases(sys.argv[1], "embed", "tests/gen_kernels_embed.py")
    case(cs, "ids", 50, 16, [3, 0, 49, 3, 17, 17, 8])
    case(cs, "ids_2d", 10, 5, [[1, 2, 3], [9, 0, 0]])
    case(cs, "padding_idx", 12, 8, [0, 4, 11, 0], padding_idx=0)
    case(cs, "dim1", 4, 1, [3, 2, 1, 0])
    case(cs, "bad_negative", 10, 4, [1, -1, 2])
    case(cs, "bad_equal_num", 10, 4, [0, 9, 10])
    case(cs, "bad_far", 10, 4, [2, 1 << 40])
    case(cs, "bad_min", 10, 4, [-(1 << 63)])
    cs.write()


if __name__ == "__main__":
    main()
