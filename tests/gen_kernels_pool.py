#!/usr/bin/python3
"""gen_kernels_pool.py OUTDIR — torch's pooling for tests/kernels/test_pool.c
(src/gen/kernels/rk_pool.c).

Writes OUTDIR/pool/{data.bin,manifest.txt} (tests/kernels/kcases.py):
max_pool1d/2d (kernel, stride, padding, dilation, ceil_mode, including
windows that ceil_mode would start past the input, which torch drops, and
a NaN that must win its windows), avg_pool1d/2d (ceil_mode,
count_include_pad on and off with padding, divisor_override), and adaptive
average and max pooling with uneven splits (7->3, 5->2, 10->7, global).
Maxima are copies, compared bit for bit.  Deterministic (seeded).
"""
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "kernels"))
from kcases import Cases  # noqa: E402

g = torch.Generator().manual_seed(20261203)


def pair(v):
    return (v, v) if isinstance(v, int) else v


def max2d(cs, name, shape, k, s=None, p=0, d=1, ceil=False, nan=False):
    x = torch.randn(*shape, generator=g)
    if nan:
        x.view(-1)[x.numel() // 3] = float("nan")
    s = k if s is None else s
    y = F.max_pool2d(x, k, s, p, d, ceil_mode=ceil)
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = pair(k), pair(s), pair(p), pair(d)
    N, C, H, W = shape
    cs.add(name, "max_pool2d", dict(N=N, C=C, H=H, W=W, kh=kh, kw=kw, sh=sh, sw=sw, ph=ph, pw=pw, dh=dh, dw=dw,
                                    ceil=ceil), dict(x=x, y=y))


def max1d(cs, name, shape, k, s=None, p=0, d=1, ceil=False):
    x = torch.randn(*shape, generator=g)
    s = k if s is None else s
    y = F.max_pool1d(x, k, s, p, d, ceil_mode=ceil)
    N, C, L = shape
    cs.add(name, "max_pool1d", dict(N=N, C=C, L=L, k=k, s=s, p=p, d=d, ceil=ceil), dict(x=x, y=y))


def avg2d(cs, name, shape, k, s=None, p=0, ceil=False, cip=True, div=None):
    x = torch.randn(*shape, generator=g)
    s = k if s is None else s
    y = F.avg_pool2d(x, k, s, p, ceil_mode=ceil, count_include_pad=cip, divisor_override=div)
    (kh, kw), (sh, sw), (ph, pw) = pair(k), pair(s), pair(p)
    N, C, H, W = shape
    cs.add(name, "avg_pool2d", dict(N=N, C=C, H=H, W=W, kh=kh, kw=kw, sh=sh, sw=sw, ph=ph, pw=pw, ceil=ceil,
                                    cip=cip, div=div or 0), dict(x=x, y=y))


def avg1d(cs, name, shape, k, s=None, p=0, ceil=False, cip=True):
    x = torch.randn(*shape, generator=g)
    s = k if s is None else s
    y = F.avg_pool1d(x, k, s, p, ceil_mode=ceil, count_include_pad=cip)
    N, C, L = shape
    cs.add(name, "avg_pool1d", dict(N=N, C=C, L=L, k=k, s=s, p=p, ceil=ceil, cip=cip), dict(x=x, y=y))


def adaptive(cs, name, op, shape, out):
    x = torch.randn(*shape, generator=g)
    fn = {"adaptive_avg_pool2d": F.adaptive_avg_pool2d, "adaptive_max_pool2d": F.adaptive_max_pool2d,
          "adaptive_avg_pool1d": F.adaptive_avg_pool1d, "adaptive_max_pool1d": F.adaptive_max_pool1d}[op]
    y = fn(x, out)
    if len(shape) == 4:
        Ho, Wo = pair(out)
        prm = dict(N=shape[0], C=shape[1], H=shape[2], W=shape[3], Ho=Ho, Wo=Wo)
    else:
        prm = dict(N=shape[0], C=shape[1], H=1, W=shape[2], Ho=1, Wo=out)
    cs.add(name, op, prm, dict(x=x, y=y))


def max_idx(cs, name, shape, k, s=None, p=0, d=1, ceil=False, nan=False):
    """max_pool1d/2d with return_indices: the values and torch's indices."""
    x = torch.randn(*shape, generator=g)
    if nan:
        x.view(-1)[x.numel() // 3] = float("nan")
        x.view(-1)[x.numel() // 3 + 1] = float("nan")
    s = k if s is None else s
    if len(shape) == 4:
        y, i = F.max_pool2d(x, k, s, p, d, ceil_mode=ceil, return_indices=True)
        (kh, kw), (sh, sw), (ph, pw), (dh, dw) = pair(k), pair(s), pair(p), pair(d)
        N, C, H, W = shape
    else:
        y, i = F.max_pool1d(x, k, s, p, d, ceil_mode=ceil, return_indices=True)
        kh, kw, sh, sw, ph, pw, dh, dw = 1, k, 1, s, 0, p, 1, d
        N, C, W = shape
        H = 1
    cs.add(name, "max_pool2d_idx", dict(N=N, C=C, H=H, W=W, kh=kh, kw=kw, sh=sh, sw=sw, ph=ph, pw=pw, dh=dh, dw=dw,
                                        ceil=ceil), dict(x=x, y=y, i=i))


def amax_idx(cs, name, shape, out):
    x = torch.randn(*shape, generator=g)
    if len(shape) == 4:
        y, i = F.adaptive_max_pool2d(x, out, return_indices=True)
        Ho, Wo = pair(out)
        prm = dict(N=shape[0], C=shape[1], H=shape[2], W=shape[3], Ho=Ho, Wo=Wo)
    else:
        y, i = F.adaptive_max_pool1d(x, out, return_indices=True)
        prm = dict(N=shape[0], C=shape[1], H=1, W=shape[2], Ho=1, Wo=out)
    cs.add(name, "adaptive_max_pool2d_idx", prm, dict(x=x, y=y, i=i))


def main():
    cs = Cases(sys.argv[1], "pool", "tests/gen_kernels_pool.py")
    max2d(cs, "max_k2_s2", (1, 3, 8, 8), 2)
    max2d(cs, "max_k3_s2_p1", (2, 4, 15, 15), 3, 2, 1)
    max2d(cs, "max_k3_s2_p1_even", (1, 4, 16, 14), 3, 2, 1)
    max2d(cs, "max_k2_s2_ceil_5x5", (1, 2, 5, 5), 2, 2, 0, ceil=True)
    max2d(cs, "max_k3_s2_ceil_p1", (1, 2, 6, 7), 3, 2, 1, ceil=True)
    # ceil_mode would add a window starting in the right padding: dropped
    max2d(cs, "max_k2_s3_ceil_p1_drop", (1, 2, 4, 7), 2, 3, 1, ceil=True)
    max2d(cs, "max_k3_s4_ceil_p1_drop", (1, 2, 6, 10), 3, 4, 1, ceil=True)
    max2d(cs, "max_k3_s2_ceil_googlenet", (1, 3, 112, 112), 3, 2, 0, ceil=True)
    max2d(cs, "max_k3_s1_p1", (1, 3, 7, 9), 3, 1, 1)
    max2d(cs, "max_k3_d2", (1, 2, 11, 10), 3, 1, 0, 2)
    max2d(cs, "max_k3_d2_p1_s2_ceil", (1, 2, 11, 12), 3, 2, 1, 2, ceil=True)
    max2d(cs, "max_k_2x3_s_1x2", (1, 2, 7, 9), (2, 3), (1, 2), (1, 1))
    max2d(cs, "max_nan", (1, 2, 6, 6), 2, 2, 0, nan=True)
    max1d(cs, "max1d_k3_s2_p1", (2, 3, 11), 3, 2, 1)
    max1d(cs, "max1d_k2_ceil", (1, 2, 9), 2, 2, 0, ceil=True)
    max1d(cs, "max1d_k3_d2", (1, 2, 12), 3, 1, 1, 2)
    avg2d(cs, "avg_k2_s2", (1, 3, 8, 8), 2)
    avg2d(cs, "avg_k3_s1_p1_cip", (1, 3, 7, 7), 3, 1, 1)
    avg2d(cs, "avg_k3_s1_p1_nocip", (1, 3, 7, 7), 3, 1, 1, cip=False)
    avg2d(cs, "avg_k3_s2_p1_nocip_ceil", (1, 2, 8, 9), 3, 2, 1, ceil=True, cip=False)
    avg2d(cs, "avg_k3_s2_p1_cip_ceil", (1, 2, 8, 9), 3, 2, 1, ceil=True, cip=True)
    avg2d(cs, "avg_k2_s2_ceil_5x5", (1, 2, 5, 5), 2, 2, 0, ceil=True)
    avg2d(cs, "avg_k2_s3_ceil_p1_drop", (1, 2, 4, 7), 2, 3, 1, ceil=True, cip=False)
    avg2d(cs, "avg_k2_s3_ceil_p1_drop_cip", (1, 2, 4, 7), 2, 3, 1, ceil=True)
    avg2d(cs, "avg_k3_s2_p1_div", (1, 2, 7, 7), 3, 2, 1, div=5)
    avg2d(cs, "avg_k_2x3", (2, 2, 6, 9), (2, 3), (2, 1), (1, 1), cip=False)
    avg1d(cs, "avg1d_k3_s2_p1", (2, 3, 11), 3, 2, 1)
    avg1d(cs, "avg1d_k3_s2_p1_nocip_ceil", (2, 3, 10), 3, 2, 1, ceil=True, cip=False)
    adaptive(cs, "aavg_7_3", "adaptive_avg_pool2d", (1, 3, 7, 7), 3)
    adaptive(cs, "aavg_5_2", "adaptive_avg_pool2d", (2, 2, 5, 5), 2)
    adaptive(cs, "aavg_10_7", "adaptive_avg_pool2d", (1, 2, 10, 10), 7)
    adaptive(cs, "aavg_13x9_4x5", "adaptive_avg_pool2d", (1, 2, 13, 9), (4, 5))
    adaptive(cs, "aavg_global", "adaptive_avg_pool2d", (2, 16, 7, 7), 1)
    adaptive(cs, "aavg_up_3_5", "adaptive_avg_pool2d", (1, 2, 3, 3), 5)
    adaptive(cs, "amax_7_3", "adaptive_max_pool2d", (1, 3, 7, 7), 3)
    adaptive(cs, "amax_5_2", "adaptive_max_pool2d", (2, 2, 5, 5), 2)
    adaptive(cs, "amax_10_7", "adaptive_max_pool2d", (1, 2, 10, 10), 7)
    adaptive(cs, "aavg1d_10_7", "adaptive_avg_pool1d", (2, 3, 10), 7)
    max_idx(cs, "maxi_k3_s2_p1", (2, 3, 9, 8), 3, 2, 1)
    max_idx(cs, "maxi_k3_d2_p1_ceil", (1, 2, 11, 12), 3, 2, 1, 2, ceil=True)
    max_idx(cs, "maxi_k2_nan", (1, 2, 6, 6), 2, nan=True)
    max_idx(cs, "maxi1d_k4_s3_d2_ceil", (2, 3, 23), 4, 3, 1, 2, ceil=True)
    amax_idx(cs, "amaxi_7x9_2x4", (2, 3, 7, 9), (2, 4))
    amax_idx(cs, "amaxi1d_23_6", (2, 4, 23), 6)
    adaptive(cs, "amax1d_7_3", "adaptive_max_pool1d", (2, 3, 7), 3)
    cs.write()


if __name__ == "__main__":
    main()
