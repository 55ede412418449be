"""kcases.py — the case files the kernel tests read (tests/kernels/kt.h).

A generator (tests/gen_kernels_FAMILY.py OUTDIR) computes each case with
torch and calls Cases.add(name, op, params, tensors); Cases.write() leaves
OUTDIR/FAMILY/data.bin (every tensor's bytes, little-endian, 8-aligned)
and OUTDIR/FAMILY/manifest.txt, written last (a finished manifest means
finished data):

    # comment
    case NAME OP
    p KEY VALUE            an int, or a float written with repr (exact)
    t KEY f32|i64 OFFSET NDIM DIM...   OFFSET in bytes into data.bin
    end
    ...
    count N                the number of cases, so a cut manifest fails

Tensors are inputs and torch's outputs alike; the test knows which is which
by the op.  Standard library only, apart from the torch tensors passed in.
"""
import os
import struct

import torch


class Cases:
    def __init__(self, outdir, family, doc):
        self.dir = os.path.join(outdir, family)
        self.family = family
        self.doc = doc
        self.lines = []
        self.blob = bytearray()
        self.names = set()

    def add(self, name, op, params, tensors):
        assert name not in self.names, name
        assert all(c.isalnum() or c in "_-." for c in name), name
        self.names.add(name)
        self.lines.append("case %s %s" % (name, op))
        for k, v in params.items():
            if isinstance(v, bool):
                v = int(v)
            if isinstance(v, int):
                self.lines.append("p %s %d" % (k, v))
            elif isinstance(v, float):
                self.lines.append("p %s %r" % (k, v))
            else:
                raise TypeError("%s.%s: %r" % (name, k, v))
        for k, t in tensors.items():
            t = t.detach().contiguous()
            if t.dtype == torch.float32:
                kind, fmt = "f32", "<%df"
            elif t.dtype == torch.int64:
                kind, fmt = "i64", "<%dq"
            else:
                raise TypeError("%s.%s: dtype %s" % (name, k, t.dtype))
            while len(self.blob) % 8:
                self.blob.append(0)
            off = len(self.blob)
            vals = t.reshape(-1).tolist()
            self.blob += struct.pack(fmt % len(vals), *vals)
            dims = " ".join(str(d) for d in t.shape)
            self.lines.append("t %s %s %d %d%s" % (k, kind, off, t.dim(), (" " + dims) if dims else ""))
        self.lines.append("end")

    def write(self):
        os.makedirs(self.dir, exist_ok=True)
        man = os.path.join(self.dir, "manifest.txt")
        if os.path.exists(man):
            os.remove(man)
        with open(os.path.join(self.dir, "data.bin"), "wb") as f:
            f.write(self.blob)
        tmp = man + ".tmp"
        with open(tmp, "w") as f:
            f.write("# %s kernel cases: %s\n" % (self.family, self.doc))
            f.write("\n".join(self.lines) + "\n")
            f.write("count %d\n" % len(self.names))
        os.replace(tmp, man)
        print("%s: %d cases, %d bytes" % (man, len(self.names), len(self.blob)))
