#!/usr/bin/python3
"""gen_kernels_resize.py OUTDIR — torch's interpolate and pixel shuffles for
tests/kernels/test_resize.c (src/gen/kernels/rk_resize.c).

Writes OUTDIR/resize/{data.bin,manifest.txt} (tests/kernels/kcases.py):
F.interpolate in modes nearest, nearest-exact, bilinear and bicubic
(align_corners both ways) and linear, given an explicit size or a scale_factor (which
the kernel uses as 1/scale_factor, unless recompute_scale_factor=True, in
which case only the output size counts); up by 2, down by 2, to odd sizes,
by non-integer factors whose floor differs from in/out.  pixel_shuffle
and pixel_unshuffle.  Nearest and shuffles are copies, compared bit for
bit.  Deterministic (seeded).
"""
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "kernels"))
from kcases import Cases  # noqa: E402

g = torch.Generator().manual_seed(20261205)
MODES = {"nearest": 0, "nearest-exact": 1, "bilinear": 2, "linear": 2, "bicubic": 3}


def interp(cs, name, shape, mode, size=None, scale=None, align=None, recompute=None):
    x = torch.randn(*shape, generator=g)
    y = F.interpolate(x, size=size, scale_factor=scale, mode=mode, align_corners=align,
                      recompute_scale_factor=recompute)
    if len(shape) == 4:
        N, C, H, W = shape
        Ho, Wo = y.shape[2:]
    else:
        N, C, W = shape
        H, Ho, Wo = 1, 1, y.shape[2]
    sc = [0.0, 0.0]
    if scale is not None and not recompute:
        sc = list(scale) if isinstance(scale, (tuple, list)) else [scale] * (len(shape) - 2)
        if len(shape) == 3:
            sc = [0.0] + sc
    cs.add(name, "interpolate", dict(N=N, C=C, H=H, W=W, Ho=Ho, Wo=Wo, scale_h=float(sc[0]), scale_w=float(sc[1]),
                                     mode=MODES[mode], align=int(bool(align))), dict(x=x, y=y))


def main():
    cs = Cases(sys.argv[1], "resize", "tests/gen_kernels_resize.py")
    for mode in ("nearest", "nearest-exact"):
        m = mode.replace("-", "_")
        interp(cs, m + "_x2_size", (1, 3, 5, 7), mode, size=(10, 14))
        interp(cs, m + "_x2_scale", (2, 2, 5, 7), mode, scale=2.0)
        interp(cs, m + "_odd_up", (1, 2, 7, 6), mode, size=(11, 13))
        interp(cs, m + "_odd_down", (1, 2, 13, 11), mode, size=(5, 4))
        interp(cs, m + "_half", (1, 2, 9, 8), mode, scale=0.5)
        interp(cs, m + "_s1.7", (1, 2, 7, 9), mode, scale=1.7)
        interp(cs, m + "_s2.6_3.3", (1, 2, 7, 5), mode, scale=(2.6, 3.3))
        interp(cs, m + "_s1.7_recompute", (1, 2, 7, 9), mode, scale=1.7, recompute=True)
        interp(cs, m + "_s3", (1, 1, 4, 3), mode, scale=3.0)
        interp(cs, m + "_1d", (2, 3, 9), mode, size=14)
        interp(cs, m + "_1d_s2.5", (2, 3, 9), mode, scale=2.5)
    for mode in ("bilinear", "bicubic"):   # bicubic: taps past the edges clamped; src below 0 kept (not clamped)
        for align in (False, True):
            a = "ac" if align else "noac"
            interp(cs, "%s_%s_x2" % (mode, a), (1, 3, 5, 7), mode, scale=2.0, align=align)
            interp(cs, "%s_%s_half" % (mode, a), (1, 3 if mode == "bilinear" else 2, 10, 9), mode, scale=0.5, align=align)
            interp(cs, "%s_%s_size_up" % (mode, a), (2, 2, 7, 6), mode, size=(11, 13), align=align)
            interp(cs, "%s_%s_size_down" % (mode, a), (1, 2, 13, 11), mode, size=(4, 5), align=align)
            interp(cs, "%s_%s_s1.3" % (mode, a), (1, 2, 7, 9), mode, scale=1.3, align=align)
            interp(cs, "%s_%s_to1" % (mode, a), (1, 2, 6, 5), mode, size=(1, 3), align=align)
            interp(cs, "%s_%s_same_h" % (mode, a), (1, 2, 6, 5), mode, size=(6, 9), align=align)
            if mode == "bilinear":
                interp(cs, "linear_%s_1d" % a, (2, 3, 9), "linear", size=16, align=align)
            else:
                interp(cs, "bicubic_%s_tiny" % a, (1, 1, 1, 2), "bicubic", size=(3, 5), align=align)
    interp(cs, "bicubic_noac_s1.3_recompute", (1, 2, 7, 9), "bicubic", scale=1.3, recompute=True)
    interp(cs, "bilinear_noac_s1.3_recompute", (1, 2, 7, 9), "bilinear", scale=1.3, recompute=True)
    interp(cs, "linear_noac_1d_s0.6", (2, 3, 11), "linear", scale=0.6)
    for r, shape in ((2, (1, 12, 4, 5)), (3, (2, 18, 3, 2))):
        x = torch.randn(*shape, generator=g)
        cs.add("pixel_shuffle_r%d" % r, "pixel_shuffle", dict(N=shape[0], C=shape[1] // (r * r), H=shape[2],
                                                              W=shape[3], r=r),
               dict(x=x, y=F.pixel_shuffle(x, r)))
        y = F.pixel_shuffle(x, r)
        x2 = torch.randn(*y.shape, generator=g)
        cs.add("pixel_unshuffle_r%d" % r, "pixel_unshuffle", dict(N=shape[0], C=shape[1] // (r * r), H=shape[2],
                                                                  W=shape[3], r=r),
               dict(x=x2, y=F.pixel_unshuffle(x2, r)))
    cs.write()


if __name__ == "__main__":
    main()
