#!/usr/bin/python3
"""Fixtures for the formats besides today's torch.save state dict.

Usage:  /usr/bin/python3 tests/gen_formats.py OUTDIR

Writes, in gen_fixtures.py's conventions (NAME.pt, NAME.expect.json,
NAME.values.bin, NAME.f32.bin; the expected state dict is what torch itself
reads back from the file):

  legacy_sd, legacy_ckpt    torch.save(..., _use_new_zipfile_serialization=False)
  whole_main                torch.save(model) of a class defined in __main__,
                            which rcc never sees: non-persistent buffer,
                            MultiheadAttention, LSTM, nested Sequential
  whole_vision              torch.save(torchvision squeezenet1_1)
  ckpt_whole                {'model': <whole model>, 'optimizer': ..., 'epoch': ...}
  ts_script, ts_trace       torch.jit.save of a scripted / traced module; the
                            expected state dict is torch.jit.load(...).state_dict()
  many_legacy, many_zip     5,000 small tensors on 4,500 storages (every tenth
                            a view of the one before), legacy and zip: the
                            reader's lookups must not be quadratic, and names,
                            order and storage sharing must still be torch's
  dup_keys, dup_pairs       pickles written by hand whose dict repeats a key
                            (SETITEMS into a 100-entry dict; OrderedDict(pairs)):
                            torch.load keeps the first position and the last
                            value, as Python does

and, for the pickled whole models, NAME.modules.json: torch's own module
tree, [{"path", "type", "attrs"}] in named_modules() order, attrs being the
module's public plain hyperparameters (ints, floats, bools, str, None,
tuples of ints), as `rcc dump --json` must report them.
"""
import json
import os
import sys

import torch
import torch.nn as nn
import torchvision

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gen_fixtures as gf  # noqa: E402  (write_expect, conventions)


class Block(nn.Module):
    """A module class that exists only in this script's __main__."""

    def __init__(self, c):
        super().__init__()
        self.conv = nn.Conv2d(c, c, 3, stride=1, padding=1, groups=c, bias=False)
        self.bn = nn.BatchNorm2d(c, eps=1e-3, momentum=0.01)
        self.act = nn.GELU(approximate="tanh")
        self.scale = nn.Parameter(torch.ones(c))
        self.register_buffer("mask", torch.ones(c), persistent=False)

    def forward(self, x):
        return self.act(self.bn(self.conv(x))) * self.scale.view(1, -1, 1, 1) * self.mask.view(1, -1, 1, 1)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, stride=2, padding=1)
        self.blocks = nn.Sequential(Block(8), Block(8))
        self.attn = nn.MultiheadAttention(8, 2, batch_first=True)
        self.rnn = nn.LSTM(8, 6, num_layers=2, bidirectional=True)
        self.head = nn.Linear(12, 5)
        self.register_buffer("step", torch.tensor(3))

    def forward(self, x):
        x = self.blocks(self.stem(x)).flatten(2).transpose(1, 2)
        x, _ = self.attn(x, x, x)
        x, _ = self.rnn(x)
        return self.head(x.mean(1))


def qualname(m):
    return "%s.%s" % (type(m).__module__, type(m).__qualname__)


def plain(v):
    if v is None or isinstance(v, (bool, int, float, str)):
        return True
    return isinstance(v, (tuple, list)) and all(type(x) is int for x in v)


def write_modules(name, model):
    mods = []
    for path, m in model.named_modules():
        attrs = {k: (list(v) if isinstance(v, (tuple, list)) else v)
                 for k, v in vars(m).items()
                 if not k.startswith("_") and k != "training" and plain(v)}
        mods.append({"path": path, "type": qualname(m), "attrs": attrs})
    with open(os.path.join(gf.OUT, name + ".modules.json"), "w") as fp:
        json.dump(mods, fp, indent=1)


def save(name, obj, key, sd, **kw):
    """torch.save obj; check torch reads back the state dict sd; expect it."""
    path = os.path.join(gf.OUT, name + ".pt")
    torch.save(obj, path, **kw)
    loaded = torch.load(path, map_location="cpu")
    back = gf.resolve(loaded, key) if key else loaded
    if isinstance(back, nn.Module):   # keep_vars: the nn.Parameters torch.load built
        back = back.state_dict(keep_vars=True)
    got = gf.named_tensors(back)
    if [n for n, _ in got] != list(sd.keys()):
        raise SystemExit("%s: torch reads back %s" % (name, [n for n, _ in got]))
    gf.write_expect(name, key, got)


def many(n):
    """n small tensors; every tenth views the tensor before it."""
    torch.manual_seed(23)
    sd = {}
    prev = None
    for i in range(n):
        name = "blocks.%d.%s" % (i // 3, ("weight", "bias", "scale")[i % 3])
        sd[name] = prev[1:] if i % 10 == 9 else torch.randn(3 + i % 5)
        prev = sd[name]
    return sd


def dup_keys():
    """Pickles whose dicts repeat a key: the raw opcodes of torch.save's
    tensors (gen_fixtures.tensor_pickle), storages "0".."100" of 6 floats."""
    import struct
    records = [(str(i), struct.pack("<6f", *range(i, i + 6))) for i in range(101)]
    names = ["k%d" % i for i in range(100)] + ["k7"]   # k7 again, with storage 100
    items = [(gf._u(k), gf.tensor_pickle(str(i), 6, [2, 3], [3, 1])) for i, k in enumerate(names)]
    # A plain dict filled by SETITEMS, past the size where rcc indexes keys.
    gf.torch_style_zip("dup_keys.pt", b"\x80\x02}(" + b"".join(k + v for k, v in items) + b"u.", records)
    # OrderedDict([(k, v), ...]): the pairs form of the same dict.
    gf.torch_style_zip("dup_pairs.pt", b"\x80\x02" + gf._global("collections", "OrderedDict") + b"]("
                       + b"".join(k + v + b"\x86" for k, v in items) + b"e\x85R.", records)
    for name in ("dup_keys", "dup_pairs"):
        sd = torch.load(os.path.join(gf.OUT, name + ".pt"), map_location="cpu")
        got = gf.named_tensors(sd)
        if len(got) != 100 or got[7][0] != "k7" or got[7][1][0, 0].item() != 100:
            raise SystemExit("%s: torch reads back %s" % (name, [n for n, _ in got]))
        gf.write_expect(name, "", got)


def net():
    torch.manual_seed(21)
    m = Net()
    with torch.no_grad():   # non-trivial BatchNorm statistics
        for mod in m.modules():
            if isinstance(mod, nn.BatchNorm2d):
                mod.running_mean.uniform_(-1, 1)
                mod.running_var.uniform_(0.5, 2)
                mod.num_batches_tracked.fill_(7)
    return m.eval()


def main(argv):
    if len(argv) != 2:
        sys.stderr.write("usage: %s OUTDIR\n" % argv[0])
        return 2
    gf.OUT = argv[1]
    os.makedirs(gf.OUT, exist_ok=True)
    torch.set_num_threads(1)

    m = net()
    sd = m.state_dict()
    legacy = dict(sd)
    legacy["tied"] = sd["head.weight"]             # shared storage
    legacy["view"] = sd["head.weight"][1:4, 2:5]   # a view with an offset
    save("legacy_sd", legacy, "", legacy, _use_new_zipfile_serialization=False)
    save("legacy_ckpt", {"model": m, "epoch": 4}, "model", sd, _use_new_zipfile_serialization=False)
    write_modules("legacy_ckpt", m)

    save("whole_main", m, "", sd)
    write_modules("whole_main", m)

    torch.manual_seed(22)
    sq = torchvision.models.squeezenet1_1().eval()
    save("whole_vision", sq, "", sq.state_dict())
    write_modules("whole_vision", sq)

    opt = torch.optim.SGD(m.parameters(), lr=0.1, momentum=0.9)
    m(torch.randn(2, 3, 8, 8)).sum().backward()
    opt.step()
    m.eval()
    save("ckpt_whole", {"epoch": 9, "model": m, "optimizer": opt.state_dict()}, "model", m.state_dict())
    write_modules("ckpt_whole", m)

    # TorchScript: the state dict is what torch.jit.load gives back
    # (which keeps non-persistent buffers: TorchScript does not record
    # persistence).
    for name, sm in (("ts_script", torch.jit.script(net())),
                     ("ts_trace", torch.jit.trace(nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.LayerNorm(8)).eval(),
                                                  torch.randn(2, 4)))):
        path = os.path.join(gf.OUT, name + ".pt")
        sm.save(path)
        got = list(torch.jit.load(path).state_dict().items())
        gf.write_expect(name, "", got, parameters=False)   # (the pickle holds plain tensors)

    sd = many(5000)
    save("many_legacy", sd, "", sd, _use_new_zipfile_serialization=False)
    save("many_zip", sd, "", sd)
    dup_keys()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
