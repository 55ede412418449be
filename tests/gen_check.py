#!/usr/bin/python3
"""Mutated weight files for `rcc check`'s tests, from real PyTorch models.

Usage:  /usr/bin/python3 tests/gen_check.py OUTDIR

Each file is a state dict saved by torch.save, written as OUTDIR/chk_*.pt:
the models specs/*.arch describe (built by gen_fixtures.py's make_*
functions, which gen_parity.py also runs), and mutations of them that `rcc check` must catch and
locate: a dropped key, a reshaped tensor, an extra key, a renamed prefix,
a missing block, a retyped tensor, a different layer width (out or in);
and the same at scale, for tests/check/specs/scale.arch (thousands of
layers).
"""
import os
import sys

import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gen_fixtures as gf  # noqa: E402


class Deep(nn.Module):
    """scale.arch's Deep: 2,000 layers of Linear(8, 8) in one Sequential
    (bench/make_scaling.py makes other counts)."""
    def __init__(self, n=2000):
        super().__init__()
        self.layers = nn.Sequential(*[nn.Linear(8, 8) for _ in range(n)])


class Res(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv1 = nn.Conv2d(c, c, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(c)
        self.conv2 = nn.Conv2d(c, c, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(c)


class DeepRes(nn.Module):
    """scale.arch's DeepRes: a stem and 500 residual blocks (bench/make_scaling.py
    makes other counts)."""
    def __init__(self, blocks=500):
        super().__init__()
        self.stem = nn.Conv2d(3, 4, 3, padding=1)
        self.blocks = nn.ModuleList([Res(4) for _ in range(blocks)])


def scale():
    torch.manual_seed(5)
    deep = Deep().state_dict()
    save("chk_scale_deep", deep)
    save("chk_scale_deep_dropped_key", {k: v for k, v in deep.items() if k != "layers.1234.bias"})
    sd = dict(deep)
    sd["layers.1777.wieght"] = sd.pop("layers.1777.weight")   # a near-miss name among 4,000
    save("chk_scale_deep_typo", sd)
    torch.manual_seed(5)
    save("chk_scale_deep_2100", Deep(2100).state_dict())      # 100 layers more than the spec
    torch.manual_seed(6)
    res = DeepRes().state_dict()
    save("chk_scale_res", res)
    save("chk_scale_res_missing_block", {k: v for k, v in res.items() if not k.startswith("blocks.321.")})


def save(name, sd):
    torch.save(sd, os.path.join(gf.OUT, name + ".pt"))


def main(argv):
    gf.OUT = argv[1]
    os.makedirs(gf.OUT, exist_ok=True)
    mlp = gf.make_mlp().state_dict()
    save("chk_mlp", mlp)
    sd = dict(mlp)
    del sd["2.bias"]
    save("chk_mlp_dropped_key", sd)
    sd = dict(mlp)
    torch.manual_seed(1)
    sd["0.weight"] = nn.Linear(15, 32).state_dict()["weight"]   # 15 inputs, not 16: only dim 1 differs
    save("chk_mlp_in_width", sd)
    sd = dict(mlp)
    sd["4.weight"] = torch.zeros(7, 32)             # a head of 7 classes, not 10
    sd["4.bias"] = torch.zeros(7)
    save("chk_mlp_head_width", sd)
    sd = dict(mlp)
    sd["2.weight"] = sd["2.weight"].reshape(16, 64)  # same numel, wrong shape
    save("chk_mlp_reshaped", sd)
    sd = dict(mlp)
    sd["4.scale"] = torch.ones(10)                   # an extra key
    save("chk_mlp_extra_key", sd)
    sd = dict(mlp)
    sd["0.bais"] = sd.pop("0.bias")                  # a near-miss name
    save("chk_mlp_typo", sd)
    save("chk_mlp_module_prefix", {"module." + k: v for k, v in mlp.items()})
    save("chk_mlp_f16", {k: v.half() for k, v in mlp.items()})
    sd = dict(mlp)
    sd["0.weight"] = sd["0.weight"].to(torch.int64)
    save("chk_mlp_int_weight", sd)

    tr = gf.make_transformer().state_dict()
    save("chk_transformer", tr)
    save("chk_transformer_missing_block", {k: v for k, v in tr.items() if not k.startswith("layers.1.")})
    extra = dict(tr)
    for k, v in tr.items():
        if k.startswith("layers.1."):
            extra["layers.2." + k[len("layers.1."):]] = v.clone()
    save("chk_transformer_extra_block", extra)

    cnn = gf.make_cnn_bn().state_dict()
    save("chk_cnn_bn", cnn)
    sd = dict(cnn)
    for k in [k for k in sd if k.startswith("1.")]:  # the BatchNorm dropped
        del sd[k]
    save("chk_cnn_no_bn", sd)
    save("chk_lstm", gf.make_lstm().state_dict())
    # drawn right after it, from the generator make_lstm seeded
    save("chk_lstm_3_layers", nn.LSTM(input_size=8, hidden_size=16, num_layers=3, bidirectional=True).state_dict())
    scale()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
