"""kernels_attn_rnn_torch.py — torch's side of bench/kernels_attn_rnn.sh, on one thread.

Prints "NAME MEDIAN_US" for the same shapes as kernels_attn_rnn.c:
sdpa as model code writes it in torch 1.13 (softmax(q @ k^T * scale) @ v,
and with a causal mask), torch 1.13's own fused
torch._C._nn._scaled_dot_product_attention, an nn.LSTM step (T=1, batch
1, 256 -> 256) with its state, the same over 100 steps, an nn.GRU step.
"""
import math
import time

import torch

torch.set_num_threads(1)
torch.manual_seed(0)
RUNS = 301


def bench(name, fn):
    with torch.no_grad():
        for _ in range(20):
            fn()
        ts = []
        for _ in range(RUNS):
            t0 = time.perf_counter()
            fn()
            ts.append((time.perf_counter() - t0) * 1e6)
    ts.sort()
    print("%s %.2f" % (name, ts[RUNS // 2]))


B, H, T, D = 1, 8, 128, 64
q, k, v = torch.randn(B, H, T, D), torch.randn(B, H, T, D), torch.randn(B, H, T, D)
scale = 1.0 / math.sqrt(D)
causal = torch.full((T, T), float("-inf")).triu(1)
bench("sdpa", lambda: torch.softmax(q @ k.transpose(-2, -1) * scale, dim=-1) @ v)
bench("sdpa_causal", lambda: torch.softmax(q @ k.transpose(-2, -1) * scale + causal, dim=-1) @ v)
fused = getattr(torch._C._nn, "_scaled_dot_product_attention", None)
if fused is not None:
    bench("sdpa_torch_fused", lambda: fused(q, k, v, None, 0.0, False, False))
    bench("sdpa_causal_torch_fused", lambda: fused(q, k, v, None, 0.0, False, True))

lstm = torch.nn.LSTM(256, 256).eval()
x1, xs = torch.randn(1, 1, 256), torch.randn(100, 1, 256)
st = (torch.randn(1, 1, 256), torch.randn(1, 1, 256))
bench("lstm_step", lambda: lstm(x1, st))
bench("lstm_seq100", lambda: lstm(xs, st))
gru = torch.nn.GRU(256, 256).eval()
h = torch.randn(1, 1, 256)
bench("gru_step", lambda: gru(x1, h))
