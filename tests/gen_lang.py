#!/usr/bin/python3
"""Weights for the tests of the .arch language's naming, reach and loop forms.

Usage:  /usr/bin/python3 tests/gen_lang.py OUTDIR

Each model below is small and written in torch the way real sources write
what it exercises: containers filled in __init__ loops with computed names
(torchvision DenseNet), OrderedDicts named by a pattern (ViT, RegNet),
nn.ModuleDict containers called through (nanoGPT), a child named `self`
(HF BERT), buffers and tied weights used in the forward.  For each, as
tests/gen_specs.py does for the real architectures, OUTDIR/lang_NAME.pt is
its state dict and OUTDIR/lang_NAME.json the forward signature torch gives
on random inputs; tests/specs/lang_NAME.spec checks tests/lang/NAME.arch
against both.
"""
import json
import os
import sys
import warnings
from collections import OrderedDict
from functools import partial

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gen_specs as gs  # noqa: E402


class DenseLayer(nn.Module):
    def __init__(self, cin, growth):
        super().__init__()
        self.norm1 = nn.BatchNorm2d(cin)
        self.conv1 = nn.Conv2d(cin, growth, 3, padding=1, bias=False)

    def forward(self, features):
        return self.conv1(F.relu(self.norm1(torch.cat(features, 1))))


class DenseBlock(nn.ModuleDict):
    def __init__(self, num_layers, cin, growth):
        super().__init__()
        for i in range(num_layers):
            self.add_module("denselayer%d" % (i + 1), DenseLayer(cin + i * growth, growth))

    def forward(self, x):
        features = [x]
        for name, layer in self.items():
            features.append(layer(features))
        return torch.cat(features, 1)


class Dense(nn.Module):
    """__init__ loops add blocks with computed names to a Sequential."""
    def __init__(self, growth=4, block_config=(2, 3), cin=8, num_classes=5):
        super().__init__()
        self.features = nn.Sequential(OrderedDict([("conv0", nn.Conv2d(3, cin, 3, padding=1, bias=False)),
                                                   ("norm0", nn.BatchNorm2d(cin))]))
        n = cin
        for i, num_layers in enumerate(block_config):
            self.features.add_module("denseblock%d" % (i + 1), DenseBlock(num_layers, n, growth))
            n = n + num_layers * growth
            if i != len(block_config) - 1:
                self.features.add_module("transition%d" % (i + 1), nn.Conv2d(n, n // 2, 1, bias=False))
                n = n // 2
        self.classifier = nn.Linear(n, num_classes)

    def forward(self, x):
        x = self.features(x)
        return self.classifier(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


class TinyBlock(nn.Module):
    def __init__(self, c, t):
        super().__init__()
        self.ln_1 = nn.LayerNorm(c)
        self.mlp = nn.ModuleDict(dict(c_fc=nn.Linear(c, 4 * c), c_proj=nn.Linear(4 * c, c)))
        self.register_buffer("bias", torch.tril(torch.ones(t, t)).view(1, t, t))

    def forward(self, x):
        t = x.size(1)
        h = self.mlp.c_proj(F.relu(self.mlp.c_fc(self.ln_1(x))))
        return x + h + self.bias[:, :t, :t] @ x


class TinyGPT(nn.Module):
    """nanoGPT's shape: a ModuleDict without a forward, called through."""
    def __init__(self, vocab=32, t=8, c=16, n_layer=2):
        super().__init__()
        self.transformer = nn.ModuleDict(dict(
            wte=nn.Embedding(vocab, c), wpe=nn.Embedding(t, c),
            h=nn.ModuleList([TinyBlock(c, t) for _ in range(n_layer)]), ln_f=nn.LayerNorm(c)))
        self.lm_head = nn.Linear(c, vocab, bias=False)
        self.transformer.wte.weight = self.lm_head.weight

    def forward(self, idx):
        t = idx.size(1)
        x = self.transformer.wte(idx) + self.transformer.wpe.weight[:t]
        for block in self.transformer.h:
            x = block(x)
        return self.lm_head(self.transformer.ln_f(x))


class SelfAttn(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.query = nn.Linear(c, c)
        self.key = nn.Linear(c, c)

    def forward(self, x):
        return self.query(x) @ self.key(x).transpose(-1, -2)


class Attention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.self = SelfAttn(c)
        self.output = nn.Linear(c, c)

    def forward(self, x):
        return self.output(self.self(x) @ x)


class Bertish(nn.Module):
    """HF BERT's names: a child called `self`, reached from two levels up."""
    def __init__(self, c=8, n=2):
        super().__init__()
        self.layer = nn.ModuleList([nn.ModuleDict(dict(attention=Attention(c))) for _ in range(n)])

    def forward(self, x):
        for layer in self.layer:
            q = layer.attention.self.query(x)
            x = layer.attention(x) + q
        return x


class Stage(nn.Sequential):
    def __init__(self, cin, cout, depth, stage_index):
        super().__init__()
        for i in range(depth):
            self.add_module(f"block{stage_index}-{i}", nn.Linear(cin if i == 0 else cout, cout))


class Patterns(nn.Module):
    """OrderedDicts named by a pattern: ViT's encoder_layer_{i}, RegNet's block{s}-{i}."""
    def __init__(self, c=6):
        super().__init__()
        layers = OrderedDict()
        for i in range(3):
            layers[f"encoder_layer_{i}"] = nn.Linear(c, c)
        self.layers = nn.Sequential(layers)
        self.trunk_output = nn.Sequential(OrderedDict(
            ("block%d" % (i + 1), Stage(c if i == 0 else 4 * i, 4 * (i + 1), d, i + 1))
            for i, d in enumerate((1, 2))))
        self.heads = nn.ModuleList([nn.Linear(8, 2) for _ in range(3)])

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        x = self.layers[-1](x) + self.layers.encoder_layer_0(x)
        y = self.trunk_output(x)
        outs = [head(y) for head in self.heads]
        return torch.cat(outs, len(self.heads) - 2)


class Block(nn.Module):
    """torchvision's Bottleneck, cut down: a downsample and a norm layer passed in."""
    def __init__(self, inplanes, planes, stride=1, downsample=None, norm_layer=None):
        super().__init__()
        if norm_layer is None:
            norm_layer = nn.BatchNorm2d
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
        self.bn1 = norm_layer(planes)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x):
        identity = x
        out = self.relu(self.bn1(self.conv1(x)))
        if self.downsample is not None:
            identity = self.downsample(x)
        out += identity
        return self.relu(out)


class Builders(nn.Module):
    """__init__ as torchvision writes it: a settings table, VGG's cfg list,
    lists of modules built up and handed to nn.Sequential, partial()."""
    def __init__(self, num_classes=4, width=None):
        super().__init__()
        norm_layer = partial(nn.BatchNorm2d, eps=0.001)
        if width is None:
            width = 8
        cfg = [width, "M", width]
        layers = []
        in_channels = 3
        for v in cfg:
            if v == "M":
                layers += [nn.MaxPool2d(kernel_size=2, stride=2)]
            else:
                layers.append(nn.Conv2d(in_channels, v, kernel_size=3, padding=1))
                layers += [nn.ReLU(inplace=True)]
                in_channels = v
        self.stem = nn.Sequential(*layers)
        setting = [[width, 1, 1], [16, 2, 2]]
        inplanes = width
        blocks = []
        for planes, n, s in setting:
            for i in range(n):
                stride = s if i == 0 else 1
                downsample = None
                if stride != 1 or inplanes != planes:
                    downsample = nn.Sequential(nn.Conv2d(inplanes, planes, 1, stride, bias=False), norm_layer(planes))
                blocks.append(Block(inplanes, planes, stride, downsample, norm_layer))
                inplanes = planes
        self.layers = nn.Sequential(*blocks)
        self.fc = nn.Linear(inplanes, num_classes)

    def forward(self, x):
        x = self.layers(self.stem(x))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


MODELS = {
    "dense": (Dense, {"x": ("f32", (2, 3, 8, 8))}, {"N": 2}),
    "gpt": (TinyGPT, {"idx": ("i64", (2, 8), 32)}, {"N": 2}),
    "bert": (Bertish, {"x": ("f32", (2, 5, 8))}, {"N": 2, "T": 5}),
    "patterns": (Patterns, {"x": ("f32", (2, 6))}, {"N": 2}),
    "builders": (lambda: Builders(width=6), {"x": ("f32", (2, 3, 16, 16))}, {"N": 2}),
}


def main(argv):
    if len(argv) != 2:
        raise SystemExit("usage: gen_lang.py OUTDIR")
    out = argv[1]
    os.makedirs(out, exist_ok=True)
    for name, (build, inputs, bindings) in MODELS.items():
        torch.manual_seed(5)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = build().eval()
            args, y = gs.run(name, model, inputs)
        sd = model.state_dict()
        torch.save(sd, os.path.join(out, "lang_%s.pt" % name))
        sig = "(%s) -> %s" % (", ".join("%s: %s" % (n, gs.fmt_type(a)) for n, a in zip(inputs, args)),
                              gs.fmt_type(y))
        with open(os.path.join(out, "lang_%s.json" % name), "w") as f:
            json.dump({"bindings": bindings, "keys": len(sd), "signature": sig}, f, indent=1)
            f.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
