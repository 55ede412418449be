#!/usr/bin/python3
"""gen_kernels_norm.py OUTDIR — torch's normalisations for
tests/kernels/test_norm.c (src/gen/kernels/rk_norm.c).

Writes OUTDIR/norm/{data.bin,manifest.txt} (tests/kernels/kcases.py):
batch_norm in eval mode (with and without affine, fused activation),
layer_norm over the last 1 and 2 dims (affine or not, bias=False as
gamma only), group_norm with 1, 4 and C groups, instance_norm (with and
without affine), HF LlamaRMSNorm's formula, and BatchNorm folding: torch's
fuse_conv_bn_weights (the weights it gives, to compare bit for bit) and
conv -> bn in eval mode (to compare with the folded conv's output).
Deterministic (seeded).
"""
import os
import sys

import torch
import torch.nn.functional as F
from torch.nn.utils.fusion import fuse_conv_bn_weights

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "kernels"))
from kcases import Cases  # noqa: E402

ACTS = ["none", "relu", "relu6", "gelu", "gelu_tanh", "silu", "sigmoid", "tanh", "hardswish", "hardsigmoid"]

g = torch.Generator().manual_seed(20261202)


def randn(*shape, scale=1.0, shift=0.0):
    return torch.randn(*shape, generator=g) * scale + shift


def bn_params(C):
    return dict(mean=randn(C, scale=0.5), var=torch.rand(C, generator=g) * 2 + 0.1,
                gamma=randn(C, scale=0.3, shift=1.0), beta=randn(C, scale=0.2))


def batch_norm(cs, name, shape, affine=True, act="none", eps=1e-5):
    C = shape[1]
    x = randn(*shape)
    p = bn_params(C)
    y = F.batch_norm(x, p["mean"], p["var"], p["gamma"] if affine else None, p["beta"] if affine else None,
                     False, 0.1, eps)
    y = {"none": y, "relu": F.relu(y), "relu6": F.relu6(y)}[act]
    inner = 1
    for d in shape[2:]:
        inner *= d
    t = dict(x=x, mean=p["mean"], var=p["var"])
    if affine:
        t.update(gamma=p["gamma"], beta=p["beta"])
    t["y"] = y
    cs.add(name, "batch_norm", dict(N=shape[0], C=C, inner=inner, eps=eps, act=ACTS.index(act)), t)


def layer_norm(cs, name, shape, k, affine=True, bias=True, eps=1e-5, shift=0.0):
    x = randn(*shape, shift=shift)
    norm = list(shape[-k:])
    n = 1
    for d in norm:
        n *= d
    gamma = randn(*norm, scale=0.3, shift=1.0) if affine else None
    beta = randn(*norm, scale=0.2) if affine and bias else None
    y = F.layer_norm(x, norm, gamma, beta, eps)
    t = dict(x=x)
    if gamma is not None:
        t["gamma"] = gamma
    if beta is not None:
        t["beta"] = beta
    t["y"] = y
    cs.add(name, "layer_norm", dict(rows=x.numel() // n, n=n, eps=eps), t)


def group_norm(cs, name, shape, G, affine=True, eps=1e-5):
    C = shape[1]
    x = randn(*shape, scale=2.0, shift=0.5)
    gamma = randn(C, scale=0.3, shift=1.0) if affine else None
    beta = randn(C, scale=0.2) if affine else None
    y = F.group_norm(x, G, gamma, beta, eps)
    t = dict(x=x)
    if affine:
        t.update(gamma=gamma, beta=beta)
    t["y"] = y
    cs.add(name, "group_norm", dict(N=shape[0], C=C, inner=x[0, 0].numel(), G=G, eps=eps), t)


def instance_norm(cs, name, shape, affine, eps=1e-5):
    C = shape[1]
    x = randn(*shape, shift=-0.3)
    m = torch.nn.InstanceNorm2d(C, eps=eps, affine=affine).eval()
    if affine:
        with torch.no_grad():
            m.weight.copy_(randn(C, scale=0.3, shift=1.0))
            m.bias.copy_(randn(C, scale=0.2))
    y = m(x)
    t = dict(x=x)
    if affine:
        t.update(gamma=m.weight, beta=m.bias)
    t["y"] = y
    cs.add(name, "instance_norm", dict(N=shape[0], C=C, inner=x[0, 0].numel(), eps=eps), t)


def rms_norm(cs, name, shape, eps=1e-6, weight=True):
    x = randn(*shape, scale=3.0)
    n = shape[-1]
    w = randn(n, scale=0.3, shift=1.0)
    # transformers' LlamaRMSNorm.forward, in f32
    variance = x.to(torch.float32).pow(2).mean(-1, keepdim=True)
    h = x * torch.rsqrt(variance + eps)
    y = w * h if weight else h
    t = dict(x=x)
    if weight:
        t["weight"] = w
    t["y"] = y
    cs.add(name, "rms_norm", dict(rows=x.numel() // n, n=n, eps=eps), t)


def fold(cs, name, N, C, H, O, k, s, p, groups=1, bias=True, affine=True, eps=1e-5):
    x = randn(N, C, H, H)
    w = randn(O, C // groups, k, k, scale=(C // groups * k * k) ** -0.5)
    b = randn(O) if bias else None
    bp = bn_params(O)
    gamma, beta = (bp["gamma"], bp["beta"]) if affine else (None, None)
    y = F.batch_norm(F.conv2d(x, w, b, s, p, 1, groups), bp["mean"], bp["var"], gamma, beta, False, 0.1, eps)
    wf, bf = fuse_conv_bn_weights(w, b, bp["mean"], bp["var"], eps, gamma, beta)
    t = dict(x=x, w=w)
    if bias:
        t["b"] = b
    t.update(mean=bp["mean"], var=bp["var"])
    if affine:
        t.update(gamma=gamma, beta=beta)
    t.update(wf=wf, bf=bf, y=y)
    cs.add(name, "fold_bn", dict(N=N, C=C, H=H, W=H, O=O, k=k, s=s, p=p, groups=groups, eps=eps), t)


def main():
    cs = Cases(sys.argv[1], "norm", "tests/gen_kernels_norm.py")
    batch_norm(cs, "bn2d", (2, 8, 7, 5))
    batch_norm(cs, "bn2d_relu", (1, 16, 9, 9), act="relu")
    batch_norm(cs, "bn2d_noaffine", (1, 6, 4, 4), affine=False, eps=1e-3)
    batch_norm(cs, "bn1d", (5, 12), act="relu6")
    batch_norm(cs, "bn1d_seq", (2, 6, 11))
    layer_norm(cs, "ln_last1", (2, 7, 32), 1)
    layer_norm(cs, "ln_last1_768", (3, 768), 1, shift=4.0)
    layer_norm(cs, "ln_last2", (2, 5, 6, 7), 2)
    layer_norm(cs, "ln_last3", (2, 4, 3, 5), 3)
    layer_norm(cs, "ln_noaffine", (4, 10), 1, affine=False)
    layer_norm(cs, "ln_nobias", (4, 33), 1, bias=False, eps=1e-6)
    layer_norm(cs, "ln_odd_13", (3, 13), 1)
    group_norm(cs, "gn_g1", (2, 8, 5, 5), 1)
    group_norm(cs, "gn_g4", (2, 8, 5, 6), 4)
    group_norm(cs, "gn_g4_noaffine", (1, 12, 3, 3), 4, affine=False)
    group_norm(cs, "gn_g32", (1, 64, 4, 4), 32, eps=1e-6)
    group_norm(cs, "gn_gC", (1, 6, 5, 5), 6)
    instance_norm(cs, "in_affine", (2, 5, 6, 7), True)
    instance_norm(cs, "in_plain", (2, 5, 6, 7), False)
    rms_norm(cs, "rms_llama", (2, 5, 64))
    rms_norm(cs, "rms_odd", (3, 37), eps=1e-5)
    rms_norm(cs, "rms_noweight", (2, 16), weight=False)
    fold(cs, "fold_conv3", 1, 8, 9, 16, 3, 1, 1)
    fold(cs, "fold_conv3_nobias", 1, 8, 9, 16, 3, 2, 1, bias=False)
    fold(cs, "fold_conv1_groups", 2, 8, 6, 8, 1, 1, 0, groups=2)
    fold(cs, "fold_noaffine", 1, 4, 5, 6, 3, 1, 1, affine=False)
    cs.write()


if __name__ == "__main__":
    main()
