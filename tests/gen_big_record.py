#!/usr/bin/python3
"""A small archive whose one record inflates to 512 MiB.

Usage:  /usr/bin/python3 tests/gen_big_record.py OUT.pt [N] [--stored] [--bad-crc] [--torch-check]

Writes OUT.pt, a torch.save-style archive (folder archive/: data.pkl,
data/0, version) holding the state dict {"weight": N float32 zeros}
(N = 134217728 by default: 512 MiB), with data/0 deflated: about 0.5 MB
on disk.  The deflate stream and its CRC-32 are made 1 MiB at a time, so
the 512 MiB never exist in this process either.  Also writes
OUT.expect.json in gen_fixtures.py's format (name, dtype, shape, offset,
strides, storage) for compare_listing.py: what the pickle says, built
from N here.

--stored writes data/0 stored instead (the file is then the record's size):
reading it must not keep the whole record resident either.

--bad-crc writes a CRC-32 with one bit flipped (the bytes themselves are
fine), which only reading the whole record can catch.

--torch-check loads OUT.pt with torch.load and exits 1 unless torch reads
exactly that state dict, all zeros.  (Checked by hand for the default N:
torch 1.13 reads it; tests/verify-stream.sh checks a small N on every run,
bench/verify_memory.sh the full size.)

`rcc dump --verify OUT.pt` must inflate the record to check its CRC-32
and exact size: tests/verify-stream.sh checks it succeeds,
bench/verify_memory.sh that it does so in bounded memory.
"""
import json
import os
import sys
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gen_fixtures import _u, tensor_pickle  # noqa: E402
from gen_hostile import raw_zip  # noqa: E402

CHUNK = 1 << 20


def zeros_deflated(nbytes):
    """(raw deflate stream, CRC-32) of nbytes zero bytes, made by pieces."""
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    parts, crc, left = [], 0, nbytes
    zero = bytes(CHUNK)
    while left:
        piece = zero if left >= CHUNK else bytes(left)
        parts.append(c.compress(piece))
        crc = zlib.crc32(piece, crc)
        left -= len(piece)
    parts.append(c.flush())
    return b"".join(parts), crc & 0xFFFFFFFF


def main(argv):
    flags = ("--torch-check", "--stored", "--bad-crc")
    args = [a for a in argv[1:] if a not in flags]
    if len(args) not in (1, 2):
        sys.stderr.write("usage: %s OUT.pt [N] [--stored] [--bad-crc] [--torch-check]\n" % argv[0])
        return 2
    out = args[0]
    n = int(args[1]) if len(args) == 2 else 134217728
    if "--stored" in argv:
        record = {"name": "data/0", "data": bytes(4 * n)}
    else:
        data, crc = zeros_deflated(4 * n)
        record = {"name": "data/0", "data": data, "method": 8, "usize": 4 * n, "crc": crc}
    if "--bad-crc" in argv:
        record["crc"] = (record.get("crc", zlib.crc32(record["data"])) ^ 1) & 0xFFFFFFFF
    pkl = b"\x80\x02}(" + _u("weight") + tensor_pickle("0", n, [n], [1]) + b"u."
    with open(out + ".tmp", "wb") as fp:
        fp.write(raw_zip([{"name": "data.pkl", "data": pkl}, record, {"name": "version", "data": b"3\n"}]))
    os.replace(out + ".tmp", out)
    expect = {"key": "", "tensors": [{"name": "weight", "dtype": "f32", "shape": [n], "offset": 0,
                                      "strides": [1], "storage": 0}]}
    with open(os.path.splitext(out)[0] + ".expect.json", "w") as fp:
        json.dump(expect, fp)
        fp.write("\n")

    if "--torch-check" in argv:
        import torch
        sd = torch.load(out, map_location="cpu")
        w = sd.get("weight") if isinstance(sd, dict) else None
        if (list(sd) != ["weight"] or w.dtype != torch.float32 or list(w.shape) != [n]
                or w.stride() != (1,) or bool(w.any())):
            sys.stderr.write("gen_big_record: torch.load does not read %s as written\n" % out)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
