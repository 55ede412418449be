#!/usr/bin/python3
"""Weight files for the fallback of `rcc infer` (tests/infer-fallback.sh).

Usage:  /usr/bin/python3 tests/gen_infer_fallback.py OUTDIR   (writes OUTDIR/infer_fallback/)

The fallback must write, for any file, a spec that `rcc check` accepts
against it.  These files are made to be awkward for it:

  odd.pt            the state dict of OddNet below, an architecture no family
                    of the library describes: nested ModuleList, ModuleDict
                    with names that are not identifiers ("cls-head", "0",
                    "if"), Sequentials with gaps, a raw nn.Parameter, a 0-d
                    parameter, int and bool buffers, a tied weight, and
                    Linear, Conv1d/2d/3d, ConvTranspose2d, BatchNorm1d/2d,
                    LayerNorm, GroupNorm, PReLU, Embedding, LSTM (bidirectional,
                    two layers; with proj_size), GRU without bias and
                    MultiheadAttention, and HF's Conv1D, whose tensors are
                    almost a Linear's (tests/infer/odd.arch is rcc's output)
  odd_module.pt     the same under DataParallel's "module." prefix
  odd_f16.pt        the same in float16 (the catalog's layers are f32, so its
                    tensors are declared raw, with their dtype)
  names.pt          keys whose segments are not identifiers: empty segments,
                    quotes, a newline, a tab, a backslash, non-ASCII, keywords,
                    layer names, a tensor and a module of one name, numbered
                    children with leading zeros and a gap too large for a
                    list (tests/infer/names.arch is rcc's output)
  unsayable.pt      keys the language cannot declare (9 dimensions), beside
                    keys it can only quoted (a tensor named "0", as
                    nn.ParameterList names them, "in", "", "trail.", a
                    module named x{y}); the keys it cannot declare are listed in
                    unsayable.txt, one a line (escaped
                    as Python's repr); a key that cannot be declared leaves no
                    empty module behind ("a.x{y}.w")
  huge.safetensors  empty tensors of sizes 2**62 and 2**40 + 1 (no bytes, so a
                    valid file): nothing may overflow
  many.pt           3,000 keys: a list of 60 lists of 25 Linear layers, saved
                    as the model itself (keys "0.0.weight", ...)
  deep.pt           modules nested 100 and 2,000 deep
  pickled.pt        torch.save(PickledNet()): a whole pickled model of a
                    __main__ class, whose modules say what the weights cannot
                    (Conv2d stride 2, padding 1, no bias; BatchNorm2d eps
                    1e-3; MultiheadAttention num_heads 4; an LSTM of 2 layers,
                    bidirectional, batch_first) and which has modules without
                    tensors (ReLU, MaxPool2d) (tests/infer/pickled.arch is
                    rcc's output)
  seq.pt            torch.save(nn.Sequential(Linear, ReLU, Linear, ReLU,
                    Linear)), saved whole; seq_in.npy an input [5, 12] and
                    seq_out.npy torch's output for it: the fallback's spec
                    must compute it, activations included (tests/infer/seq.arch
                    is rcc's output)
  cnn.pt            a whole nn.Sequential CNN (Conv2d, ReLU, Conv2d with
                    stride and padding, Conv2d with padding "same", BatchNorm2d
                    with running statistics, ReLU, MaxPool2d, Flatten, Dropout,
                    Linear); cnn_in.npy an
                    input [3, 1, 13, 13] (the smallest that flattens to the
                    Linear's 72 in_features, which the fallback must guess)
                    and cnn_out.npy torch's output in eval mode
  manifest.txt      the files above, written last (the make target)
"""

import collections
import json
import os
import struct
import sys

import numpy as np
import torch
import torch.nn as nn


class Block(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.ln_1 = nn.LayerNorm(d)
        self.attn = nn.MultiheadAttention(d, 2)
        self.mlp = nn.Sequential(nn.Linear(d, 4 * d), nn.GELU(), nn.Linear(4 * d, d))


class Conv1D(nn.Module):
    """HF GPT-2's Conv1D: a Linear stored transposed (weight [in, out], bias
    [out]), which no built-in layer declares."""

    def __init__(self, nx, nf):
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(nx, nf))
        self.bias = nn.Parameter(torch.zeros(nf))


class OddNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.tok_emb = nn.Embedding(40, 16)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, 16))
        self.blocks = nn.ModuleList([Block(16) for _ in range(3)])
        self.rnn = nn.LSTM(16, 12, num_layers=2, bidirectional=True)
        self.gru = nn.GRU(24, 8, bias=False)
        self.proj_rnn = nn.LSTM(8, 16, proj_size=4)
        self.heads = nn.ModuleDict({"cls-head": nn.Linear(16, 4), "0": nn.Linear(16, 2), "if": nn.Linear(16, 3)})
        self.vision = nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8), nn.ReLU(),
                                    nn.Conv2d(8, 16, (3, 5), bias=False), nn.BatchNorm2d(16))
        self.up = nn.ConvTranspose2d(16, 4, 2)
        self.seq1d = nn.Sequential(nn.Conv1d(4, 6, 3), nn.BatchNorm1d(6))
        self.vol = nn.Conv3d(2, 3, 1)
        self.gn = nn.GroupNorm(2, 8)
        self.norms = nn.ModuleList([nn.LayerNorm((4, 4)), nn.PReLU(8)])
        self.deep = nn.Module()
        self.deep.inner = nn.Module()
        self.deep.inner.proj = nn.Linear(6, 6)
        self.c_attn = Conv1D(16, 48)
        self.scale = nn.Parameter(torch.tensor(0.5))
        self.register_buffer("steps", torch.tensor(3))
        self.register_buffer("mask", torch.ones(4, 4, dtype=torch.bool))
        self.register_buffer("position_ids", torch.arange(8).unsqueeze(0))
        self.lm_head = nn.Linear(16, 40, bias=False)
        self.lm_head.weight = self.tok_emb.weight   # tied


class PickledNet(nn.Module):
    """A model no family knows, saved whole: its modules carry their
    constructor arguments, and its ReLU and MaxPool2d have no tensors."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, stride=2, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(8, eps=1e-3)
        self.relu = nn.ReLU()
        self.pool = nn.MaxPool2d(2)
        self.fc = nn.Linear(8 * 4 * 4, 32)
        self.attn = nn.MultiheadAttention(32, num_heads=4)
        self.lstm = nn.LSTM(32, 16, num_layers=2, bidirectional=True, batch_first=True)

    def forward(self, x):
        x = self.pool(self.relu(self.bn(self.conv(x))))
        x = self.fc(torch.flatten(x, 1)).unsqueeze(1)
        x = self.attn(x, x, x)[0]
        return self.lstm(x)[0]


def z(*shape, dtype=torch.float32):
    return torch.zeros(*shape, dtype=dtype)


def names():
    d = collections.OrderedDict()
    d["fc.weight"] = z(5, 3)
    d["fc.bias"] = z(5)
    d["a..b.weight"] = z(2)
    d[".lead.w"] = z(2)
    d["trail..w"] = z(1)
    d['quote"d.weight'] = z(2, 2)
    d["new\nline.bias"] = z(3)
    d["tab\there.w"] = z(1)
    d["back\\slash.w"] = z(1)
    d["d\u00e9codeur.poids"] = z(3, 2)
    d["emoji\U0001F600.w"] = z(1)
    d["self.weight"] = z(3)
    d["forward.weight"] = z(3)
    d["if.weight"] = z(3)
    d["Linear.weight"] = z(3, 3)
    d["Identity.w"] = z(1)
    d["p.b"] = z(1)
    d["p.b.c"] = z(1)
    d["layers.0.weight"] = z(2, 2)
    d["layers.1000000.weight"] = z(2, 2)
    d["lz.01.weight"] = z(2, 2)
    d["mix.0.weight"] = z(2, 2)
    d["mix.head.weight"] = z(2, 2)
    d["N.weight"] = z(3)
    d["x"] = z(4)
    d["model.block.param"] = z(1)
    return d


def unsayable():
    d = collections.OrderedDict()
    bad = ["nine.w"]   # "0", "m.in", "", "trail." and "x{y}" are declared quoted
    d["0"] = z(3, 4)
    d["ok.weight"] = z(2, 2)
    d["m.in"] = z(3)
    d[""] = z(1)
    d["x{y}.w"] = z(1)
    d["nine.w"] = z(*[1] * 9)
    d["trail."] = z(1)
    d["fine.bias"] = z(2)
    d["a.x{y}.w"] = z(1)
    return d, bad


def deep():
    """Modules nested 100 and 2,000 deep (the elaborator nests 64)."""
    d = collections.OrderedDict()
    d[".".join(["a"] * 100) + ".w"] = z(1)
    d[".".join("b%d" % i for i in range(2000)) + ".w"] = z(2)
    d["b0.b1.fc.weight"] = z(2, 2)
    return d


def safetensors(path, entries):
    """A safetensors file of empty tensors: (name, dtype, shape)."""
    header, off = {}, 0
    for name, dt, shape in entries:
        header[name] = {"dtype": dt, "shape": shape, "data_offsets": [off, off]}
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h)


def main(argv):
    if len(argv) != 2:
        sys.exit("usage: gen_infer_fallback.py OUTDIR")
    out = os.path.join(argv[1], "infer_fallback")
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(0)
    sd = OddNet().state_dict()
    assert sd["lm_head.weight"].data_ptr() == sd["tok_emb.weight"].data_ptr(), "the tie is lost"
    torch.save(sd, os.path.join(out, "odd.pt"))
    torch.save(collections.OrderedDict(("module." + k, v) for k, v in sd.items()), os.path.join(out, "odd_module.pt"))
    torch.save(collections.OrderedDict((k, v.half() if v.is_floating_point() else v) for k, v in sd.items()),
               os.path.join(out, "odd_f16.pt"))
    torch.save(names(), os.path.join(out, "names.pt"))
    d, bad = unsayable()
    torch.save(d, os.path.join(out, "unsayable.pt"))
    with open(os.path.join(out, "unsayable.txt"), "w") as f:
        f.write("".join(repr(k) + "\n" for k in bad))
    safetensors(os.path.join(out, "huge.safetensors"),
                [("big.weight", "F32", [2 ** 62, 0]), ("fc.weight", "F32", [2 ** 40 + 1, 0]),
                 ("fc.bias", "F32", [0]), ("emb.weight", "F32", [0, 2 ** 62]),
                 ("norm.weight", "F32", [0]), ("norm.bias", "F32", [0])])
    torch.save(deep(), os.path.join(out, "deep.pt"))
    many = nn.ModuleList([nn.ModuleList([nn.Linear(2, 2) for _ in range(25)]) for _ in range(60)])
    torch.save(many.state_dict(), os.path.join(out, "many.pt"))
    torch.save(PickledNet().eval(), os.path.join(out, "pickled.pt"))
    seq = nn.Sequential(nn.Linear(12, 24), nn.ReLU(), nn.Linear(24, 16), nn.ReLU(), nn.Linear(16, 6)).eval()
    torch.save(seq, os.path.join(out, "seq.pt"))
    cnn = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Conv2d(4, 8, 3, stride=2, padding=1),
                        nn.Conv2d(8, 8, 3, padding="same", bias=False), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
                        nn.Flatten(), nn.Dropout(0.25), nn.Linear(8 * 3 * 3, 10))
    with torch.no_grad():
        cnn[4].running_mean.uniform_(-0.5, 0.5)
        cnn[4].running_var.uniform_(0.5, 2.0)
    cnn.eval()
    torch.save(cnn, os.path.join(out, "cnn.pt"))
    for name, model, shape in (("seq", seq, (5, 12)), ("cnn", cnn, (3, 1, 13, 13))):
        x = torch.randn(*shape)
        with torch.no_grad():
            y = model(x)
            # the activations matter: without them the output is another
            z = x
            for m in model:
                z = z if isinstance(m, nn.ReLU) else m(z)
        assert (y - z).abs().max() > 0.01 * y.abs().max(), name + ": its ReLUs change nothing"
        np.save(os.path.join(out, name + "_in.npy"), x.numpy())
        np.save(os.path.join(out, name + "_out.npy"), y.numpy())
    files = ["odd.pt", "odd_module.pt", "odd_f16.pt", "names.pt", "unsayable.pt", "huge.safetensors", "many.pt", "deep.pt",
             "pickled.pt", "seq.pt", "cnn.pt"]
    with open(os.path.join(out, "manifest.txt"), "w") as f:
        f.write("".join(n + "\n" for n in files))
    print("gen_infer_fallback: %d files in %s" % (len(files), out))


if __name__ == "__main__":
    main(sys.argv)
