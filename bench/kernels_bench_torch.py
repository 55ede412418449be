#!/usr/bin/python3
"""kernels_bench_torch.py — torch's F.conv2d on bench/kernels_bench.c's shapes,
one thread, best of 20 after a warm-up, in ms and GFLOP/s."""
import time

import torch
import torch.nn.functional as F

torch.set_num_threads(1)
SHAPES = [  # name, C, H, O, k, stride, pad, groups
    ("conv2d 3x3 64->64 56x56 p1 (+bias+relu)", 64, 56, 64, 3, 1, 1, 1),
    ("conv2d 3x3 256->256 14x14 p1", 256, 14, 256, 3, 1, 1, 1),
    ("conv2d 1x1 256->64 56x56", 256, 56, 64, 1, 1, 0, 1),
    ("conv2d 7x7 s2 3->64 224x224 (stem)", 3, 224, 64, 7, 2, 3, 1),
    ("conv2d 3x3 128->128 56x56 groups 32", 128, 56, 128, 3, 1, 1, 32),
    ("depthwise 3x3 s1 144 56x56", 144, 56, 144, 3, 1, 1, 144),
    ("depthwise 3x3 s2 144 56x56", 144, 56, 144, 3, 2, 1, 144),
]
with torch.no_grad():
    for name, C, H, O, k, s, p, g in SHAPES:
        x = torch.randn(1, C, H, H)
        w = torch.randn(O, C // g, k, k)
        b = torch.randn(O)
        F.relu(F.conv2d(x, w, b, s, p, 1, g))
        best = 1e30
        for _ in range(20):
            t0 = time.perf_counter()
            F.relu(F.conv2d(x, w, b, s, p, 1, g))
            best = min(best, time.perf_counter() - t0)
        Ho = (H + 2 * p - k) // s + 1
        flops = 2.0 * O * (C // g) * k * k * Ho * Ho
        print("%-44s %8.3f ms %7.1f GFLOP/s" % (name, best * 1e3, flops / best * 1e-9))
