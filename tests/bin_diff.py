#!/usr/bin/python3
"""Explain where two concatenated tensor dumps differ.

Usage:  bin_diff.py EXPECT.json EXPECTED.bin ACTUAL.bin values|f32

EXPECTED.bin / ACTUAL.bin are the concatenation, in the order of
EXPECT.json's "tensors", of every tensor's contiguous elements: in the
tensor's own dtype ("values", as NAME.values.bin) or as float32 ("f32", as
NAME.f32.bin, where complex tensors have no entry).  Prints, per tensor that differs, how many elements differ
and the first few, decoded and in hex.  Exit 0 if the files are identical,
1 otherwise.  Standard library only.
"""

import json
import struct
import sys

FMT = {"f32": ("<f", 4), "f16": ("<e", 2), "f64": ("<d", 8),
       "bf16": (None, 2), "i64": ("<q", 8), "i32": ("<i", 4),
       "i16": ("<h", 2), "i8": ("<b", 1), "u8": ("<B", 1), "bool": ("<B", 1),
       "u16": ("<H", 2), "u32": ("<I", 4), "u64": ("<Q", 8),
       "c64": ("<ff", 8), "c128": ("<dd", 16),
       # FP8: the code itself (its value is in the f32 dump)
       "f8e4m3fn": ("<B", 1), "f8e5m2": ("<B", 1), "f8e4m3fnuz": ("<B", 1),
       "f8e5m2fnuz": ("<B", 1), "f8e8m0fnu": ("<B", 1)}
PACKED = {"f4e2m1fn": 4, "f6e2m3fn": 6, "f6e3m2fn": 6}   # bits an element
SHOW = 3          # elements shown per tensor
MAX_TENSORS = 8   # tensors reported in detail


def decode(dtype, b):
    fmt, _ = FMT[dtype]
    if fmt is None:                                  # bf16: top half of f32
        return struct.unpack("<f", b"\0\0" + b)[0]
    v = struct.unpack(fmt, b)
    return complex(*v) if len(v) == 2 else v[0]


def unravel(i, shape):
    idx = []
    for d in reversed(shape):
        if d:
            idx.append(i % d)
            i //= d
    return tuple(reversed(idx))


def main(argv):
    if len(argv) != 5 or argv[4] not in ("values", "f32"):
        sys.stderr.write("usage: bin_diff.py EXPECT.json EXPECTED.bin "
                         "ACTUAL.bin values|f32\n")
        return 2
    with open(argv[1]) as fp:
        tensors = json.load(fp)["tensors"]
    with open(argv[2], "rb") as fp:
        want = fp.read()
    with open(argv[3], "rb") as fp:
        got = fp.read()
    mode = argv[4]
    if want == got:
        print("bin_diff: %s and %s are identical" % (argv[2], argv[3]))
        return 0

    print("bin_diff: %s (%d bytes, torch) vs %s (%d bytes, rcc), %s:"
          % (argv[2], len(want), argv[3], len(got), mode))
    off, reported = 0, 0
    for ti, t in enumerate(tensors):
        numel = 1
        for d in t["shape"]:
            numel *= d
        if mode == "f32" and t["dtype"] in ("c64", "c128", "f6e2m3fn", "f6e3m2fn"):
            continue                      # complex, packed FP6: no f32 entry (readall.c)
        dtype = t["dtype"] if mode == "values" else "f32"
        if dtype in PACKED:               # elements smaller than a byte: shown byte by byte
            numel, dtype = numel * PACKED[dtype] // 8, "u8"
        esize = FMT[dtype][1]
        n = numel * esize
        w, g = want[off:off + n], got[off:off + n]
        if w != g:
            reported += 1
            if reported <= MAX_TENSORS:
                if len(g) < n:
                    print("  #%d %s (%s %s): rcc data ends after %d of %d bytes"
                          % (ti, t["name"], dtype, t["shape"], len(g), n))
                bad = [e for e in range(min(len(w), len(g)) // esize)
                       if w[e * esize:(e + 1) * esize]
                       != g[e * esize:(e + 1) * esize]]
                if bad:
                    print("  #%d %s (%s %s, bytes %d..%d): %d of %d elements "
                          "differ" % (ti, t["name"], dtype, t["shape"], off,
                                      off + n, len(bad), numel))
                for e in bad[:SHOW]:
                    wb = w[e * esize:(e + 1) * esize]
                    gb = g[e * esize:(e + 1) * esize]
                    print("      %s: torch %r (%s), rcc %r (%s)"
                          % (list(unravel(e, t["shape"])),
                             decode(dtype, wb), wb[::-1].hex(),
                             decode(dtype, gb), gb[::-1].hex()))
        off += n
    if reported > MAX_TENSORS:
        print("  ... %d more tensors differ" % (reported - MAX_TENSORS))
    if off != len(want):
        print("  note: EXPECT.json accounts for %d bytes, %s has %d"
              % (off, argv[2], len(want)))
    if len(got) != off:
        print("  rcc wrote %d bytes, the %d tensors need %d"
              % (len(got), len(tensors), off))
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
