#!/usr/bin/python3
"""gen_kernels_swin.py OUTDIR — torchvision's shifted_window_attention for
tests/kernels/test_swin.c (src/gen/kernels/rk_swin.c).

Writes OUTDIR/swin/{data.bin,manifest.txt} (tests/kernels/kcases.py) with
the results of torchvision.models.swin_transformer.shifted_window_attention
itself (eval: dropouts 0, no logit_scale) on random inputs: H, W multiples
of the window and not (zero padding at the bottom and right), shift 0 and
shift > 0, shifts torchvision drops on an axis whose padded size is <= the
window (one axis, both), a shift on one axis only, a rectangular window, a
shift as large as the window and past it, qkv/proj biases or none, 1 and
several heads, batch 1 and 3, and Swin-T's own stage sizes.  A case whose
heads do not divide C (torch raises) says bad=1 and has no output: the
kernel must return -1 and write nothing.  Deterministic (seeded).
"""
import os
import sys

import torch
from torchvision.models.swin_transformer import shifted_window_attention

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "kernels"))
from kcases import Cases  # noqa: E402

g = torch.Generator().manual_seed(20261219)


def case(cs, name, B, H, W, C, win, shift, heads, qkv_bias=True, proj_bias=True):
    wh, ww = win
    N = wh * ww
    x = torch.randn(B, H, W, C, generator=g)
    qkv_w = torch.randn(3 * C, C, generator=g) * (2.0 / C ** 0.5)
    proj_w = torch.randn(C, C, generator=g) / C ** 0.5
    qkv_b = torch.randn(3 * C, generator=g) * 0.5 if qkv_bias else None
    proj_b = torch.randn(C, generator=g) * 0.5 if proj_bias else None
    rel = torch.randn(1, max(heads, 1), N, N, generator=g) * 0.5
    try:
        with torch.no_grad():
            y = shifted_window_attention(x, qkv_w, proj_w, rel, [wh, ww], heads, list(shift),
                                         attention_dropout=0.0, dropout=0.0, qkv_bias=qkv_b, proj_bias=proj_b)
    except RuntimeError:
        y = None
    t = dict(x=x, qkv_w=qkv_w, proj_w=proj_w, rel_bias=rel)
    if qkv_b is not None:
        t["qkv_b"] = qkv_b
    if proj_b is not None:
        t["proj_b"] = proj_b
    if y is not None:
        assert y.shape == x.shape
        t["y"] = y
    cs.add(name, "swin_attention", dict(B=B, H=H, W=W, C=C, wh=wh, ww=ww, sh=shift[0], sw=shift[1],
                                        heads=heads, bad=y is None), t)


def main():
    cs = Cases(sys.argv[1], "swin", "tests/gen_kernels_swin.py")
    # window multiples, no padding
    case(cs, "w7_noshift", 1, 14, 14, 24, (7, 7), (0, 0), 3)
    case(cs, "w7_shift3", 1, 14, 14, 24, (7, 7), (3, 3), 3)
    case(cs, "w7_shift3_b3", 3, 21, 14, 16, (7, 7), (3, 3), 4)
    # padding (H, W not multiples of the window)
    case(cs, "pad_noshift", 2, 9, 11, 16, (4, 4), (0, 0), 4)
    case(cs, "pad_shift", 3, 10, 13, 16, (4, 4), (2, 2), 2)
    case(cs, "pad_shift_w7", 1, 10, 17, 12, (7, 7), (3, 3), 3)
    # torchvision drops the shift of an axis whose padded size is <= the window
    case(cs, "shift_off_h", 1, 5, 20, 8, (7, 7), (3, 3), 2)
    case(cs, "shift_off_w", 3, 16, 7, 8, (7, 7), (3, 3), 2)
    case(cs, "shift_off_both", 1, 7, 7, 24, (7, 7), (3, 3), 3)
    case(cs, "shift_off_pad", 2, 6, 4, 8, (7, 7), (3, 3), 1)
    # a shift on one axis only (the other axis is one mask region)
    case(cs, "shift_h_only", 1, 12, 12, 8, (4, 4), (2, 0), 2)
    case(cs, "shift_w_only", 3, 12, 8, 8, (4, 4), (0, 1), 2)
    # rectangular window, shifts of each size
    case(cs, "rect_window", 3, 12, 18, 12, (4, 6), (2, 3), 3)
    case(cs, "rect_window_pad", 1, 10, 15, 12, (3, 6), (1, 3), 2)
    # shifts torchvision does not forbid: equal to and past the window
    case(cs, "shift_eq_window", 1, 12, 12, 8, (4, 4), (4, 4), 2)
    case(cs, "shift_past_window", 1, 12, 12, 8, (4, 4), (6, 5), 2)
    case(cs, "shift_past_map", 1, 8, 12, 8, (4, 4), (9, 13), 2)
    # biases or none, one head
    case(cs, "no_bias", 1, 14, 14, 16, (7, 7), (3, 3), 2, qkv_bias=False, proj_bias=False)
    case(cs, "qkv_bias_only", 3, 8, 8, 16, (4, 4), (2, 2), 4, proj_bias=False)
    case(cs, "proj_bias_only", 1, 8, 8, 16, (4, 4), (2, 2), 4, qkv_bias=False)
    case(cs, "heads1", 1, 8, 8, 8, (4, 4), (2, 2), 1)
    case(cs, "heads1_pad_b3", 3, 6, 7, 4, (4, 4), (2, 2), 1)
    case(cs, "window1", 1, 3, 5, 4, (1, 1), (0, 0), 2)
    # Swin-T's stages 1 (at a smaller map) and 3 at 224x224: window 7, shift 3, head dim 32
    case(cs, "swin_t_stage1", 3, 14, 14, 96, (7, 7), (3, 3), 3)
    case(cs, "swin_t_stage3", 1, 14, 14, 384, (7, 7), (3, 3), 12)
    # heads that do not divide C: torch raises, the kernel returns -1
    case(cs, "bad_heads", 1, 8, 8, 10, (4, 4), (2, 2), 3)
    cs.write()


if __name__ == "__main__":
    main()
