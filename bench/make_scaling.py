#!/usr/bin/python3
"""make_scaling.py: the inputs of bench/scaling.sh, and torch's side of it.

  make_scaling.py make DIR    writes every case into DIR (a case already
                              there is kept), then prints one line per case:
                              KIND NAME SIZE SPEC WEIGHTS (SPEC is - for dump)
  make_scaling.py time DIR    prints "NAME MS" per case: torch's time on the
                              same input, median of 3 runs in this process

The cases grow one size at a time so that cost per tensor or per layer can
be read off a table:

  dump-N   a torch.save state dict of N small tensors (4 floats each, one
           storage each); torch's side is torch.load.
  lin-N    Sequential(Linear(8, 8) * N): N layers, 2N keys.
  res-N    N/4 residual blocks of 4 layers (Conv2d, BatchNorm2d, Conv2d,
           BatchNorm2d) after a stem Conv2d: N + 1 layers, 3N + 1 keys, so
           that elaborating blocks (arguments, scopes, a forward per block)
           is measured too.

For a check case torch's side is what a user of PyTorch does to know that a
file fits a model: torch.load, then load_state_dict(strict=True) into the
model (built beforehand, not timed). The weights are random but seeded, so
every run writes the same files.
"""
import os
import statistics
import sys
import time

import torch

# The models are the test suite's scale models (tests/gen_check.py), at
# other sizes: Deep(n) is Sequential(Linear(8, 8) * n), DeepRes(b) a stem
# and b residual blocks.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))
from gen_check import Deep, DeepRes  # noqa: E402

DUMP_SIZES = [1000, 10000, 20000, 100000]
LIN_SIZES = [100, 1000, 1500, 5000]
RES_SIZES = [100, 1000, 5000]


LIN_SPEC = """# lin-{n}: Sequential(Linear(8, 8) * {n}) (bench/make_scaling.py)
model LinStack {{
  input x: f32[B, 8]
  layers = Sequential(Linear(8, 8) * {n})
  forward(x) {{
    return layers(x)
  }}
}}
"""


RES_SPEC = """# res-{n}: {b} residual blocks of 4 layers (bench/make_scaling.py)
block Res(c) {{
  conv1 = Conv2d(c, c, 3, padding = 1, bias = false)
  bn1 = BatchNorm2d(c)
  conv2 = Conv2d(c, c, 3, padding = 1, bias = false)
  bn2 = BatchNorm2d(c)
  forward(x) {{
    y = relu(bn1(conv1(x)))
    return relu(x + bn2(conv2(y)))
  }}
}}

model ResStack {{
  input x: f32[B, 3, 8, 8]
  stem = Conv2d(3, 4, 3, padding = 1)
  blocks = [Res(4) * {b}]
  forward(x) {{
    return blocks(stem(x))
  }}
}}
"""


def cases():
    """(kind, name, size, model constructor or None, spec text or None)"""
    out = [("dump", "dump-%d" % n, n, None, None) for n in DUMP_SIZES]
    out += [("check", "lin-%d" % n, n, (lambda n=n: Deep(n)), LIN_SPEC.format(n=n)) for n in LIN_SIZES]
    out += [("check", "res-%d" % n, n, (lambda n=n: DeepRes(n // 4)), RES_SPEC.format(n=n, b=n // 4))
            for n in RES_SIZES]
    return out


def save(obj, path):
    """torch.save under a temporary name: an interrupted run leaves no file."""
    with open(path + ".tmp", "wb") as f:
        torch.save(obj, f)
    os.replace(path + ".tmp", path)


def make(d):
    os.makedirs(d, exist_ok=True)
    for kind, name, n, ctor, spec in cases():
        w = os.path.join(d, name + ".pt")
        s = os.path.join(d, name + ".arch") if spec else "-"
        if not os.path.exists(w):
            torch.manual_seed(0)
            if kind == "dump":
                save({"t%d.weight" % i: torch.randn(4) for i in range(n)}, w)
            else:
                save(ctor().state_dict(), w)
        if spec:
            with open(s, "w") as f:
                f.write(spec)
        print(kind, name, n, s, w)


def timed(fn, runs=3):
    fn()   # warm: the file in the page cache, torch's lazy imports done
    ms = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        ms.append((time.perf_counter() - t) * 1e3)
    return statistics.median(ms)


def time_all(d):
    for kind, name, n, ctor, _ in cases():
        w = os.path.join(d, name + ".pt")
        if kind == "dump":
            ms = timed(lambda: torch.load(w, map_location="cpu"))
        else:
            model = ctor()
            ms = timed(lambda: model.load_state_dict(torch.load(w, map_location="cpu"), strict=True))
        print(name, "%.3f" % ms, flush=True)


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in ("make", "time"):
        sys.exit("usage: make_scaling.py make|time DIR")
    make(sys.argv[2]) if sys.argv[1] == "make" else time_all(sys.argv[2])
