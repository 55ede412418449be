#!/usr/bin/python3
"""gen_kernels_gemm.py OUTDIR — torch's linear and matmul for
tests/kernels/test_gemm.c (src/gen/kernels/rk_gemm.c).

Writes OUTDIR/gemm/{data.bin,manifest.txt} (tests/kernels/kcases.py):
F.linear for one row (the sgemv path) and many, with and without bias,
with each fused activation; torch.matmul with either operand transposed
(the kernel reads the transposed storage), accumulation (beta = 1), and
batched products, including a 2-d operand broadcast over the batch.
Deterministic (seeded).
"""
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "kernels"))
from kcases import Cases  # noqa: E402

ACTS = ["none", "relu", "relu6", "gelu", "gelu_tanh", "silu", "sigmoid", "tanh", "hardswish", "hardsigmoid"]
ACT_FN = {
    "none": lambda t: t, "relu": F.relu, "relu6": F.relu6, "gelu": F.gelu,
    "gelu_tanh": lambda t: F.gelu(t, approximate="tanh"), "silu": F.silu, "sigmoid": torch.sigmoid,
    "tanh": torch.tanh, "hardswish": F.hardswish, "hardsigmoid": F.hardsigmoid,
}

g = torch.Generator().manual_seed(20261206)


def randn(*shape, scale=1.0):
    return torch.randn(*shape, generator=g) * scale


def linear(cs, name, M, K, N, bias=True, act="none"):
    x = randn(M, K)
    w = randn(N, K, scale=K ** -0.5)
    b = randn(N) if bias else None
    y = ACT_FN[act](F.linear(x, w, b))
    cs.add(name, "linear", dict(M=M, K=K, N=N, act=ACTS.index(act)),
           dict(x=x, w=w, **({"b": b} if bias else {}), y=y))


def matmul(cs, name, M, K, N, ta=False, tb=False, beta=0):
    a = randn(M, K)
    b = randn(K, N)
    c0 = randn(M, N)
    y = a @ b + (c0 if beta else 0)
    cs.add(name, "matmul", dict(M=M, K=K, N=N, ta=ta, tb=tb, beta=beta),
           dict(a=a.t().contiguous() if ta else a, b=b.t().contiguous() if tb else b, c0=c0, y=y))


def bmm(cs, name, B, M, K, N, ta=False, tb=False, bcast_b=False):
    a = randn(B, M, K)
    b = randn(K, N) if bcast_b else randn(B, K, N)
    y = torch.matmul(a, b)
    cs.add(name, "bmm", dict(B=B, M=M, K=K, N=N, ta=ta, tb=tb, bcast_b=bcast_b),
           dict(a=a.transpose(-1, -2).contiguous() if ta else a,
                b=b.transpose(-1, -2).contiguous() if tb else b, y=y))


def main():
    cs = Cases(sys.argv[1], "gemm", "tests/gen_kernels_gemm.py")
    linear(cs, "linear_row", 1, 64, 10)
    linear(cs, "linear_row_relu", 1, 300, 77, act="relu")
    linear(cs, "linear_rows", 7, 33, 19)
    linear(cs, "linear_rows_nobias", 16, 64, 48, bias=False)
    linear(cs, "linear_k1", 5, 1, 3)
    for a in ACTS[1:]:
        linear(cs, "linear_" + a, 9, 40, 24, act=a)
    matmul(cs, "matmul", 5, 7, 9)
    matmul(cs, "matmul_ta", 6, 4, 8, ta=True)
    matmul(cs, "matmul_tb", 6, 4, 8, tb=True)
    matmul(cs, "matmul_ta_tb", 3, 11, 2, ta=True, tb=True)
    matmul(cs, "matmul_acc", 5, 6, 7, beta=1)
    bmm(cs, "bmm", 3, 4, 5, 6)
    bmm(cs, "bmm_tb", 2, 8, 16, 8, tb=True)
    bmm(cs, "bmm_bcast", 4, 3, 5, 2, bcast_b=True)
    cs.write()


if __name__ == "__main__":
    main()
