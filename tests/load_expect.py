#!/usr/bin/python3
"""load_expect.py FIXTURES NAME > manifest — what rcc_load_f32/rcc_load_i64
must give for each tensor of FIXTURES/NAME.pt (tests/load.sh).

From the files tests/gen_fixtures.py wrote with torch (NAME.expect.json,
NAME.values.bin, NAME.f32.bin), one line per tensor:

    f32 NAME DTYPE NDIM SIZE... NUMEL BITS...   floating: the float32 bits
                                                of torch's t.to(torch.float32), hex
    i64 NAME DTYPE NDIM SIZE... NUMEL VALUE...  integer (bool included): the
                                                elements widened to int64

DTYPE is the tensor's own dtype by rcc's short name (f16, u8, ...).

Names in these fixtures hold no spaces."""
import json
import os
import sys

import numpy as np

NP = {"f32": "<f4", "f16": "<f2", "bf16": "<i2", "f64": "<f8", "i64": "<i8", "i32": "<i4",
      "i16": "<i2", "i8": "i1", "u8": "u1", "bool": "u1", "u16": "<u2", "u32": "<u4", "u64": "<u8",
      "f8e4m3fn": "u1", "f8e5m2": "u1", "f8e4m3fnuz": "u1", "f8e5m2fnuz": "u1", "f8e8m0fnu": "u1",
      "c64": "<c8", "c128": "<c16"}
FLOATING = {"f32", "f16", "bf16", "f64", "f8e4m3fn", "f8e5m2", "f8e4m3fnuz", "f8e5m2fnuz", "f8e8m0fnu"}
COMPLEX = {"c64", "c128"}
INT64_MAX = 2 ** 63 - 1


def main(fixtures, name):
    base = os.path.join(fixtures, name)
    with open(base + ".expect.json") as fp:
        tensors = json.load(fp)["tensors"]
    values = open(base + ".values.bin", "rb").read()
    f32 = open(base + ".f32.bin", "rb").read()
    voff = foff = 0
    out = []
    for t in tensors:
        n = int(np.prod(t["shape"], dtype=np.int64))
        dt = np.dtype(NP[t["dtype"]])
        raw = np.frombuffer(values, dtype=dt, count=n, offset=voff)
        voff += n * dt.itemsize
        if " " in t["name"]:
            raise SystemExit("load_expect.py: a name with a space: %r" % t["name"])
        head = [t["name"], t["dtype"], str(len(t["shape"]))] + [str(s) for s in t["shape"]] + [str(n)]
        if t["dtype"] in COMPLEX:   # no float32 reading: f32.bin has none of it
            out.append(" ".join(["err"] + head + ["f32", "'%s' is %s; the model expects a floating-point tensor"
                                                  % (t["name"], t["dtype"])]))
            continue
        bits = np.frombuffer(f32, dtype="<u4", count=n, offset=foff)
        foff += n * 4
        big = [(k, int(v)) for k, v in enumerate(raw) if int(v) > INT64_MAX] if t["dtype"] == "u64" else []
        if big:                     # u64 beyond int64: the first such element is named
            out.append(" ".join(["err"] + head + ["i64", "'%s' holds %d (element %d), more than an int64 holds"
                                                  % (t["name"], big[0][1], big[0][0])]))
        elif t["dtype"] in FLOATING:
            out.append(" ".join(["f32"] + head + ["%08x" % b for b in bits]))
        else:
            out.append(" ".join(["i64"] + head + [str(int(v)) for v in raw.astype(np.int64)]))
    if voff != len(values) or foff != len(f32):
        raise SystemExit("load_expect.py: %s.values.bin/.f32.bin do not match its expect.json" % name)
    print("\n".join(out))


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit("usage: load_expect.py FIXTURES NAME")
    main(sys.argv[1], sys.argv[2])
