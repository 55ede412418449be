#!/usr/bin/python3
"""gen_kernels_conv.py OUTDIR — torch's conv1d, conv2d and conv_transpose2d
for tests/kernels/test_conv.c (src/gen/kernels/rk_conv.c).

Writes OUTDIR/conv/{data.bin,manifest.txt} (tests/kernels/kcases.py).  Each
case holds the input x, weight w, bias b (when the layer has one) and
torch's output y, computed by F.conv*d then the fused activation.  The
cases cover every path of the kernel: im2col + GEMM (stride, padding,
dilation, groups, odd sizes, batch > 1, non-square kernels, the padding
modes, padding='same' with an even kernel, which pads one more at the
end), the 1x1 stride-1 direct GEMM, depthwise (multiplier 1 and 2, stride
2, dilation 2) and the transposed convolution (stride, padding,
output_padding, dilation, groups).  Deterministic (seeded), about a second.
"""
import os
import warnings
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "kernels"))
from kcases import Cases  # noqa: E402

# rk_act of src/gen/kernels/rk_common.h, in its order.
ACTS = ["none", "relu", "relu6", "gelu", "gelu_tanh", "silu", "sigmoid", "tanh", "hardswish", "hardsigmoid"]
ACT_FN = {
    "none": lambda t: t, "relu": F.relu, "relu6": F.relu6, "gelu": F.gelu,
    "gelu_tanh": lambda t: F.gelu(t, approximate="tanh"), "silu": F.silu, "sigmoid": torch.sigmoid,
    "tanh": torch.tanh, "hardswish": F.hardswish, "hardsigmoid": F.hardsigmoid,
}
MODES = ["zeros", "reflect", "replicate", "circular"]

g = torch.Generator().manual_seed(20261201)


def randn(*shape, scale=1.0):
    return torch.randn(*shape, generator=g) * scale


def conv2d(cs, name, N, C, H, W, O, k, s=1, p=0, d=1, groups=1, bias=True, act="none", mode="zeros"):
    kh, kw = (k, k) if isinstance(k, int) else k
    sh, sw = (s, s) if isinstance(s, int) else s
    dh, dw = (d, d) if isinstance(d, int) else d
    x = randn(N, C, H, W)
    w = randn(O, C // groups, kh, kw, scale=(C // groups * kh * kw) ** -0.5)
    b = randn(O) if bias else None
    if p == "same":
        th, tw = dh * (kh - 1), dw * (kw - 1)
        pt, pb, pl, pr = th // 2, th - th // 2, tw // 2, tw - tw // 2
    else:
        ph, pw = (p, p) if isinstance(p, int) else p
        pt, pb, pl, pr = ph, ph, pw, pw
    if mode == "zeros":
        y = F.conv2d(x, w, b, (sh, sw), p if p == "same" else (pt, pl), (dh, dw), groups)
    else:
        # torch's Conv2d with padding_mode: F.pad(mode), then an unpadded conv
        y = F.conv2d(F.pad(x, (pl, pr, pt, pb), mode=mode), w, b, (sh, sw), 0, (dh, dw), groups)
    y = ACT_FN[act](y)
    cs.add(name, "conv2d", dict(N=N, C=C, H=H, W=W, O=O, kh=kh, kw=kw, sh=sh, sw=sw, dh=dh, dw=dw,
                                groups=groups, pt=pt, pb=pb, pl=pl, pr=pr, mode=MODES.index(mode),
                                act=ACTS.index(act)),
           dict(x=x, w=w, **({"b": b} if bias else {}), y=y))


def conv1d(cs, name, N, C, L, O, k, s=1, p=0, d=1, groups=1, bias=True, act="none", mode="zeros"):
    x = randn(N, C, L)
    w = randn(O, C // groups, k, scale=(C // groups * k) ** -0.5)
    b = randn(O) if bias else None
    if p == "same":
        t = d * (k - 1)
        pl, pr = t // 2, t - t // 2
    else:
        pl = pr = p
    if mode == "zeros":
        y = F.conv1d(x, w, b, s, p, d, groups)
    else:
        y = F.conv1d(F.pad(x, (pl, pr), mode=mode), w, b, s, 0, d, groups)
    y = ACT_FN[act](y)
    cs.add(name, "conv1d", dict(N=N, C=C, L=L, O=O, k=k, s=s, d=d, groups=groups, pl=pl, pr=pr,
                                mode=MODES.index(mode), act=ACTS.index(act)),
           dict(x=x, w=w, **({"b": b} if bias else {}), y=y))


def convt2d(cs, name, N, C, H, W, O, k, s=1, p=0, op=0, d=1, groups=1, bias=True, act="none"):
    kh, kw = (k, k) if isinstance(k, int) else k
    sh, sw = (s, s) if isinstance(s, int) else s
    ph, pw = (p, p) if isinstance(p, int) else p
    oph, opw = (op, op) if isinstance(op, int) else op
    dh, dw = (d, d) if isinstance(d, int) else d
    x = randn(N, C, H, W)
    w = randn(C, O // groups, kh, kw, scale=(C // groups * kh * kw) ** -0.5)
    b = randn(O) if bias else None
    y = ACT_FN[act](F.conv_transpose2d(x, w, b, (sh, sw), (ph, pw), (oph, opw), groups, (dh, dw)))
    cs.add(name, "conv_transpose2d", dict(N=N, C=C, H=H, W=W, O=O, kh=kh, kw=kw, sh=sh, sw=sw, dh=dh, dw=dw,
                                          groups=groups, pt=ph, pb=ph, pl=pw, pr=pw, oph=oph, opw=opw,
                                          act=ACTS.index(act)),
           dict(x=x, w=w, **({"b": b} if bias else {}), y=y))


def main():
    # padding="same" with an even kernel: torch warns that it pads a copy (as intended here)
    warnings.filterwarnings("ignore", message="Using padding=.same.")
    cs = Cases(sys.argv[1], "conv", "tests/gen_kernels_conv.py")
    # im2col + GEMM
    conv2d(cs, "c3_s1_p1", 1, 8, 13, 13, 16, 3, 1, 1)
    conv2d(cs, "c3_s2_p1_odd", 1, 6, 15, 17, 10, 3, 2, 1, act="relu")
    conv2d(cs, "c3_s2_p2_odd", 1, 5, 9, 11, 7, 3, 2, 2)
    conv2d(cs, "c3_d2_p2", 1, 8, 16, 14, 8, 3, 1, 2, 2)
    conv2d(cs, "c3_d2_s2_p1", 2, 4, 17, 13, 6, 3, 2, 1, 2)
    conv2d(cs, "c3_groups2", 1, 8, 12, 12, 12, 3, 1, 1, groups=2)
    conv2d(cs, "c3_32x4d_s2", 1, 128, 14, 14, 128, 3, 2, 1, groups=32, act="relu")
    conv2d(cs, "c3_32x4d_batch", 2, 64, 9, 9, 64, 3, 1, 1, groups=32, bias=False)
    conv2d(cs, "c7_s2_p3_stem", 2, 3, 33, 31, 16, 7, 2, 3, bias=False, act="relu")
    conv2d(cs, "c1x7_p0_3", 1, 6, 11, 13, 8, (1, 7), 1, (0, 3))
    conv2d(cs, "c7x1_p3_0", 1, 6, 11, 13, 8, (7, 1), 1, (3, 0))
    conv2d(cs, "c5_s3_p0", 1, 3, 20, 19, 4, 5, 3, 0)
    conv2d(cs, "c2_s2_patch", 1, 3, 16, 16, 24, 2, 2, 0)
    conv2d(cs, "c4_same_even", 1, 4, 10, 9, 6, 4, 1, "same")
    conv2d(cs, "c3_same_d2", 1, 4, 10, 9, 6, 3, 1, "same", 2)
    conv2d(cs, "c3_nobias_silu", 1, 8, 10, 10, 8, 3, 1, 1, bias=False, act="silu")
    conv2d(cs, "c3_gelu", 1, 8, 7, 7, 8, 3, 1, 1, act="gelu")
    conv2d(cs, "c3_hardswish", 1, 8, 7, 7, 8, 3, 1, 1, act="hardswish")
    conv2d(cs, "c3_reflect", 1, 4, 9, 10, 5, 3, 1, 1, mode="reflect")
    conv2d(cs, "c5_reflect_p2_s2", 1, 4, 9, 10, 5, 5, 2, 2, mode="reflect")
    conv2d(cs, "c3_replicate", 1, 4, 9, 10, 5, 3, 1, 1, mode="replicate")
    conv2d(cs, "c3_circular", 1, 4, 9, 10, 5, 3, 1, 1, mode="circular")
    conv2d(cs, "c3_circular_d2", 1, 4, 9, 10, 5, 3, 1, 2, 2, mode="circular")
    conv2d(cs, "c1_s2_down", 1, 16, 15, 15, 32, 1, 2, 0, bias=False)
    conv2d(cs, "c1_p1", 1, 4, 5, 5, 6, 1, 1, 1)
    conv2d(cs, "c3_tiny_1x1_in", 1, 3, 1, 1, 4, 3, 1, 1)
    # 1x1 stride 1 unpadded: the direct GEMM
    conv2d(cs, "c1_fast", 1, 64, 14, 14, 32, 1, act="relu6")
    conv2d(cs, "c1_fast_batch", 3, 16, 7, 9, 8, 1)
    conv2d(cs, "c1_fast_groups4", 1, 16, 6, 6, 32, 1, groups=4, act="relu")
    # depthwise: the direct loop
    conv2d(cs, "dw3_s1_p1", 1, 16, 14, 14, 16, 3, 1, 1, groups=16, act="relu6")
    conv2d(cs, "dw3_s2_p1", 1, 32, 15, 15, 32, 3, 2, 1, groups=32, act="relu")
    conv2d(cs, "dw3_s2_p1_even", 2, 8, 16, 16, 8, 3, 2, 1, groups=8, bias=False)
    conv2d(cs, "dw5_s2_p2", 1, 8, 17, 13, 8, 5, 2, 2, groups=8, act="silu")
    conv2d(cs, "dw3_mult2", 1, 8, 10, 11, 16, 3, 1, 1, groups=8)
    conv2d(cs, "dw3_d2_p2", 1, 8, 12, 12, 8, 3, 1, 2, 2, groups=8)
    conv2d(cs, "dw7_p3_convnext", 1, 12, 14, 14, 12, 7, 1, 3, groups=12)
    conv2d(cs, "dw3_reflect", 1, 6, 8, 8, 6, 3, 1, 1, groups=6, mode="reflect")
    conv2d(cs, "dw3_s1_wide", 1, 4, 9, 37, 4, 3, 1, 1, groups=4, act="hardswish")
    conv2d(cs, "dw3_s2_d2_wide", 1, 4, 11, 41, 8, 3, 2, 2, 2, groups=4)
    conv2d(cs, "dw3_s3_narrow", 2, 3, 10, 10, 3, 3, 3, 1, groups=3)
    conv2d(cs, "dw_1x5_p0_2", 1, 5, 6, 20, 5, (1, 5), 1, (0, 2), groups=5, bias=False)
    # conv1d
    conv1d(cs, "c1d_k3_p1", 2, 6, 20, 8, 3, 1, 1)
    conv1d(cs, "c1d_k5_s2_p2", 1, 4, 23, 6, 5, 2, 2, act="relu")
    conv1d(cs, "c1d_k3_d2_g2", 1, 8, 17, 4, 3, 1, 2, 2, groups=2)
    conv1d(cs, "c1d_dw_k4_same", 1, 8, 16, 8, 4, 1, "same", groups=8)
    conv1d(cs, "c1d_k1", 1, 16, 10, 12, 1, bias=False)
    conv1d(cs, "c1d_circular", 1, 4, 12, 4, 3, 1, 1, mode="circular")
    # conv_transpose2d
    convt2d(cs, "ct4_s2_p1", 1, 16, 7, 7, 8, 4, 2, 1, act="relu")
    convt2d(cs, "ct3_s2_p1_op1", 2, 6, 5, 6, 4, 3, 2, 1, 1)
    convt2d(cs, "ct3_s1_p1", 1, 4, 8, 8, 6, 3, 1, 1)
    convt2d(cs, "ct2_s2_p0", 1, 8, 6, 5, 4, 2, 2, 0, bias=False)
    convt2d(cs, "ct3_s2_groups2", 1, 8, 5, 5, 6, 3, 2, 1, 1, groups=2)
    convt2d(cs, "ct3_d2_s2", 1, 4, 5, 6, 4, 3, 2, 2, 1, 2)
    convt2d(cs, "ct_asym", 1, 4, 5, 6, 3, (3, 5), (2, 3), (1, 2), (1, 2))
    cs.write()


if __name__ == "__main__":
    main()
