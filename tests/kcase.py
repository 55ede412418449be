"""kcase.py — the fixture writer of the kernel tests (tests/gen_kernels_*.py).

A family's folder OUTDIR/kernels/FAMILY/ gets data.bin (each tensor's raw
little-endian bytes, one after another) and manifest.txt, written last
(it is the make target), in the format tests/kernels/kt.h reads:

    case NAME OP
    p KEY V1 V2 ...
    t NAME DTYPE OFFSET NDIM D0 D1 ...
    end

Parameters are ints, floats (repr, which C's strtod reads back exactly),
bools (0/1) or one word.  Tensors are f32, i64 or u8 (bool is written as
u8).  Standard library + torch only.
"""
import os

import torch

_DTYPES = {torch.float32: "f32", torch.int64: "i64", torch.uint8: "u8", torch.bool: "u8"}


class Writer:
    def __init__(self, outdir, family):
        self.dir = os.path.join(outdir, "kernels", family)
        os.makedirs(self.dir, exist_ok=True)
        self.data = open(os.path.join(self.dir, "data.bin"), "wb")
        self.lines = []
        self.names = set()
        self.offset = 0

    def case(self, name, op, params=None, **tensors):
        """One case: NAME (unique), OP (the test's dispatch), params, tensors by name."""
        assert name not in self.names, name
        self.names.add(name)
        self.lines.append("case %s %s" % (name, op))
        for k, v in (params or {}).items():
            if isinstance(v, (list, tuple)):
                vals = list(v)
            else:
                vals = [v]
            out = []
            for x in vals:
                if isinstance(x, bool):
                    out.append("1" if x else "0")
                elif isinstance(x, int):
                    out.append(str(x))
                elif isinstance(x, float):
                    out.append(repr(x) if x == x and abs(x) != float("inf") else
                               ("nan" if x != x else ("inf" if x > 0 else "-inf")))
                else:
                    out.append(str(x))
            self.lines.append("p %s %s" % (k, " ".join(out)))
        for tname, t in tensors.items():
            t = t.detach().contiguous()
            if t.dtype == torch.bool:
                t = t.to(torch.uint8)
            dt = _DTYPES[t.dtype]
            raw = t.numpy().tobytes()
            self.lines.append("t %s %s %d %d %s" % (tname, dt, self.offset, t.dim(),
                                                    " ".join(str(d) for d in t.shape)))
            self.data.write(raw)
            self.offset += len(raw)
        self.lines.append("end")

    def close(self):
        self.data.close()
        tmp = os.path.join(self.dir, "manifest.txt.tmp")
        with open(tmp, "w") as f:
            f.write("\n".join(self.lines) + "\n")
        os.replace(tmp, os.path.join(self.dir, "manifest.txt"))
        print("%s: %d cases" % (self.dir, len(self.names)))
