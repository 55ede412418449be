#!/usr/bin/python3
"""gen_kernels_act.py OUTDIR — torch's activations and softmax for
tests/kernels/test_act.c (src/gen/kernels/rk_act.c).

Writes OUTDIR/act/{data.bin,manifest.txt} (tests/kernels/kcases.py): every
rk_act of rk_common.h through rk_act_n (gelu exact and tanh among them),
the parametrised ones (leaky_relu, hardtanh, elu, selu, celu, softplus
with its threshold, mish, logsigmoid, softsign), prelu with one slope per
channel and one shared, and softmax / log_softmax over dims 0, 1, 2 and -1
of a 4-d tensor, over rows, and over rows 1000 above zero (which overflow
without the max subtracted).  The inputs include 0, the saturating ends
(+-20, +-30, +-100) and each activation's kinks.  Deterministic (seeded).
"""
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "kernels"))
from kcases import Cases  # noqa: E402

ACTS = ["none", "relu", "relu6", "gelu", "gelu_tanh", "silu", "sigmoid", "tanh", "hardswish", "hardsigmoid"]
ACT_FN = {
    "none": lambda t: t.clone(), "relu": F.relu, "relu6": F.relu6, "gelu": F.gelu,
    "gelu_tanh": lambda t: F.gelu(t, approximate="tanh"), "silu": F.silu, "sigmoid": torch.sigmoid,
    "tanh": torch.tanh, "hardswish": F.hardswish, "hardsigmoid": F.hardsigmoid,
}

g = torch.Generator().manual_seed(20261204)


def inputs(n=997):
    """randn*4 with the kinks; the error is relative to max|y|, so the
    saturating ends (ends()) are a case of their own."""
    x = torch.randn(n, generator=g) * 4
    special = torch.tensor([0.0, -0.0, 1.0, -1.0, 3.0, -3.0, 6.0, -6.0, 1e-6, -1e-6, 2.9999, 3.0001, 5.9999, 6.0001])
    x[:special.numel()] = special
    return x


def ends():
    return torch.tensor([-100.0, -30.0, -20.0, -10.0, 10.0, 20.0, 30.0, 100.0])


def main():
    cs = Cases(sys.argv[1], "act", "tests/gen_kernels_act.py")
    for a in ACTS:
        x = inputs()
        cs.add("act_" + a, "act", dict(act=ACTS.index(a)), dict(x=x, y=ACT_FN[a](x)))
        x = ends()
        cs.add("act_%s_ends" % a, "act", dict(act=ACTS.index(a)), dict(x=x, y=ACT_FN[a](x)))
    x = inputs()
    cs.add("leaky_relu_0.01", "leaky_relu", dict(a=0.01), dict(x=x, y=F.leaky_relu(x, 0.01)))
    cs.add("leaky_relu_0.2", "leaky_relu", dict(a=0.2), dict(x=x, y=F.leaky_relu(x, 0.2)))
    cs.add("hardtanh_-2_1.5", "hardtanh", dict(a=-2.0, b=1.5), dict(x=x, y=F.hardtanh(x, -2.0, 1.5)))
    cs.add("elu_1", "elu", dict(a=1.0, scale=1.0, iscale=1.0), dict(x=x, y=F.elu(x, 1.0)))
    cs.add("elu_0.5", "elu", dict(a=0.5, scale=1.0, iscale=1.0), dict(x=x, y=F.elu(x, 0.5)))
    cs.add("celu_2", "elu", dict(a=2.0, scale=1.0, iscale=0.5), dict(x=x, y=F.celu(x, 2.0)))
    cs.add("selu", "selu", {}, dict(x=x, y=F.selu(x)))
    cs.add("softplus", "softplus", dict(a=1.0, b=20.0), dict(x=x, y=F.softplus(x)))
    cs.add("softplus_b2_t5", "softplus", dict(a=2.0, b=5.0), dict(x=x, y=F.softplus(x, 2.0, 5.0)))
    cs.add("mish", "mish", {}, dict(x=x, y=F.mish(x)))
    cs.add("logsigmoid", "logsigmoid", {}, dict(x=x, y=F.logsigmoid(x)))
    cs.add("softsign", "softsign", {}, dict(x=x, y=F.softsign(x)))
    x = ends()
    cs.add("elu_ends", "elu", dict(a=1.0, scale=1.0, iscale=1.0), dict(x=x, y=F.elu(x, 1.0)))
    cs.add("softplus_ends", "softplus", dict(a=1.0, b=20.0), dict(x=x, y=F.softplus(x)))
    cs.add("mish_ends", "mish", {}, dict(x=x, y=F.mish(x)))
    cs.add("logsigmoid_ends", "logsigmoid", {}, dict(x=x, y=F.logsigmoid(x)))
    xp = torch.randn(2, 5, 3, 4, generator=g)
    w = torch.rand(5, generator=g) * 0.5
    cs.add("prelu_channels", "prelu", dict(N=2, C=5, inner=12), dict(x=xp, w=w, y=F.prelu(xp, w)))
    w1 = torch.tensor([0.25])
    cs.add("prelu_shared", "prelu", dict(N=2, C=5, inner=12), dict(x=xp, w=w1, y=F.prelu(xp, w1)))
    x2 = torch.randn(3, 7, generator=g)
    cs.add("prelu_2d", "prelu", dict(N=3, C=7, inner=1), dict(x=x2, w=w[:1].repeat(7) + torch.arange(7) * 0.1,
                                                              y=F.prelu(x2, w[:1].repeat(7) + torch.arange(7) * 0.1)))
    x4 = torch.randn(3, 4, 5, 70, generator=g) * 5
    for fn, name in ((F.softmax, "softmax"), (F.log_softmax, "log_softmax")):
        for dim in (0, 1, 2, -1):
            cs.add("%s_4d_dim%d" % (name, dim), name, dict(dim=dim),
                   dict(x=x4, y=fn(x4, dim=dim)))
        xr = torch.randn(6, 1000, generator=g) * 3
        cs.add(name + "_rows", name, dict(dim=1), dict(x=xr, y=fn(xr, dim=1)))
        xb = torch.randn(4, 50, generator=g) + 1000.0
        cs.add(name + "_big", name, dict(dim=-1), dict(x=xb, y=fn(xb, dim=-1)))
        xc = torch.randn(2, 200, 3, generator=g) * 10
        cs.add(name + "_inner3", name, dict(dim=1), dict(x=xc, y=fn(xc, dim=1)))
    cs.write()


if __name__ == "__main__":
    main()
