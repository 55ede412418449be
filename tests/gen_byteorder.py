#!/usr/bin/python3
"""Big-endian twins of torch.save's files (the byte order, issue 12).

Usage:  /usr/bin/python3 tests/gen_byteorder.py OUTDIR   (after gen_fixtures.py)

PyTorch >= 2.1 writes a `byteorder` record ("little" or "big", no newline)
in its zip archive; on a big-endian machine (s390x) it says "big" and every
storage's elements are big-endian, which torch.load byte-swaps per element
of the storage's dtype (serialization.py _load: storage.byteswap(dtype)).
Torch 1.13, here, writes no such record and cannot load "big", so the
twins are built from torch 1.13's own archive:

  OUTDIR/bo_zip.pt        torch.save of a state dict of every dtype rcc reads
                          (views of one storage, a tied tensor, a 0-d and an
                          empty tensor)
  OUTDIR/bo_big.pt        the same archive (same records, same order, under
                          the same folder) with every data/<key> record
                          byte-swapped per element of its storage's type and
                          a `byteorder` record "big" after data.pkl
  OUTDIR/bo_little.pt     the same with `byteorder` "little" and the records
                          untouched
  OUTDIR/bo_legacy.pt     the state dict in the legacy format (< 1.6)
  OUTDIR/bo_legacy_be.pt  that file with sys_info's little_endian False, as a
                          big-endian machine writes it: its storages stay
                          little-endian (torch's writeFileRaw encodes every
                          element little-endian there; _legacy_load ignores
                          sys_info) -- checked here: torch.load reads it
                          bit-identical to bo_legacy.pt
each with gen_fixtures.py's NAME.expect.json / .values.bin / .f32.bin, all
of them what torch.load reads from the little-endian original (never from
the twin, which torch 1.13 cannot read correctly).  Bad records, one clear
error each (tests/bad/bad_bo_*.bad):
  OUTDIR/bad_bo_middle.pt   byteorder "middle"
  OUTDIR/bad_bo_newline.pt  byteorder "big\\n" (torch compares exactly)
  OUTDIR/bad_bo_empty.pt    byteorder ""
  OUTDIR/bad_bo_long.pt     byteorder of 100 bytes
And OUTDIR/byteorder/manifest.txt, "twin ORIGINAL TWIN ORDER" lines for
tests/byteorder.sh; written last, the make target.
"""
import collections
import io
import os
import pickle
import sys
import zipfile

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gen_fixtures as gf  # noqa: E402

# Element size of each storage type torch.save pickles: the unit of the
# swap (complex: one component, each swapped on its own).
ELEMENT = {"FloatStorage": 4, "HalfStorage": 2, "BFloat16Storage": 2, "DoubleStorage": 8,
           "LongStorage": 8, "IntStorage": 4, "ShortStorage": 2, "CharStorage": 1,
           "ByteStorage": 1, "BoolStorage": 1, "ComplexFloatStorage": 4, "ComplexDoubleStorage": 8}


def state_dict():
    torch.manual_seed(12)
    base = torch.randn(6, 8)
    tied = torch.randn(5)
    sd = collections.OrderedDict()
    sd["f32"] = torch.tensor([1.0, -2.5, 0.0, -0.0, float("inf"), float("nan"), 1e-40, 3.4e38])
    sd["f64"] = torch.randn(7, dtype=torch.float64)
    sd["f16"] = torch.randn(2, 3).to(torch.float16)
    sd["bf16"] = torch.randn(4).to(torch.bfloat16)
    sd["i64"] = torch.tensor([0, -1, 2 ** 62, -(2 ** 63), 2 ** 63 - 1, 0x0102030405060708], dtype=torch.int64)
    sd["i32"] = torch.tensor([-(2 ** 31), 7, 2 ** 31 - 1, 0x01020304], dtype=torch.int32)
    sd["i16"] = torch.tensor([-(2 ** 15), 1, 2 ** 15 - 1, 0x0102], dtype=torch.int16)
    sd["i8"] = torch.tensor([-128, -1, 0, 127], dtype=torch.int8)
    sd["u8"] = torch.tensor([0, 1, 200, 255], dtype=torch.uint8)
    sd["bool"] = torch.tensor([True, False, True])
    sd["base"] = base
    sd["row"] = base[2]                    # views of one storage
    sd["cols"] = base[1:4, 2:6]
    sd["transposed"] = base.t()
    sd["half_view"] = sd["f16"][:, 1]
    sd["long_view"] = sd["i64"][1::2]
    sd["tied_a"] = tied                    # one tensor under two names
    sd["tied_b"] = tied
    sd["scalar"] = torch.tensor(3.5)
    sd["scalar_f64"] = torch.tensor(-0.1, dtype=torch.float64)
    sd["empty"] = torch.zeros(0, 3)
    return sd


def storage_sizes(pkl):
    """key -> element size, from the persistent ids of data.pkl (nothing
    is rebuilt: the tensors are stood in for by None)."""
    sizes = {}

    class U(pickle.Unpickler):
        def find_class(self, mod, name):
            if mod == "torch" and name in ELEMENT:
                return name
            if mod == "torch._utils":
                return lambda *a: None
            return super().find_class(mod, name)

        def persistent_load(self, pid):
            kind, stype, key, _loc, _numel = pid
            assert kind == "storage" and stype in ELEMENT, pid
            sizes[key] = ELEMENT[stype]
            return None
    U(io.BytesIO(pkl)).load()
    return sizes


def swapped(data, size):
    if size == 1:
        return data
    assert len(data) % size == 0
    b = bytearray(data)
    for i in range(0, len(b), size):
        b[i:i + size] = b[i:i + size][::-1]
    return bytes(b)


def twin(src, dst, order, swap):
    """src's archive rewritten: data/<key> records swapped when swap, and a
    byteorder record (order) right after data.pkl, where torch 2.x puts it."""
    with zipfile.ZipFile(src) as z:
        infos = z.infolist()
        prefix = infos[0].filename.split("/")[0] + "/"
        records = [(i.filename, z.read(i)) for i in infos]
    sizes = storage_sizes(dict(records)[prefix + "data.pkl"])
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as z:
        def put(n, data):
            z.writestr(zipfile.ZipInfo(n, date_time=(1980, 1, 1, 0, 0, 0)), data)
        nswapped = 0
        for n, data in records:
            rel = n[len(prefix):]
            if swap and rel.startswith("data/"):
                data = swapped(data, sizes[rel[5:]])
                nswapped += 1
            put(n, data)
            if rel == "data.pkl" and order is not None:
                put(prefix + "byteorder", order)
    if swap:
        assert nswapped == len(sizes) and nswapped > 0, (nswapped, sizes)
    with open(dst, "wb") as fp:
        fp.write(out.getvalue())


def legacy_big(src, dst):
    """src (a legacy file) with sys_info's little_endian False."""
    with open(src, "rb") as fp:
        data = fp.read()
    f = io.BytesIO(data)
    pickle.load(f)
    pickle.load(f)
    at = f.tell()
    info = pickle.load(f)
    end = f.tell()
    assert info["little_endian"] is True, info
    info["little_endian"] = False
    with open(dst, "wb") as fp:
        fp.write(data[:at] + pickle.dumps(info, protocol=2) + data[end:])


def main(argv):
    gf.OUT = out = gf.out_dir(argv, "gen_byteorder")
    manifest = gf.fresh_manifest(out, "byteorder")
    torch.set_num_threads(1)
    lines = []
    sd = state_dict()

    path = lambda n: os.path.join(out, n + ".pt")  # noqa: E731
    # The zip archive and its twins: every expectation is torch's reading
    # of the little-endian original.
    torch.save(sd, path("bo_zip"))
    got = gf.named_tensors(gf.describe("bo_zip", path("bo_zip"), sd, ""))
    twin(path("bo_zip"), path("bo_big"), b"big", True)
    twin(path("bo_zip"), path("bo_little"), b"little", False)
    for name, order in (("bo_big", "big"), ("bo_little", "little")):
        gf.write_expect(name, "", got)
        lines.append("twin bo_zip %s %s" % (name, order))

    # The legacy format: torch itself reads the big-endian machine's file.
    torch.save(sd, path("bo_legacy"), _use_new_zipfile_serialization=False)
    gf.describe("bo_legacy", path("bo_legacy"), sd, "")
    legacy_big(path("bo_legacy"), path("bo_legacy_be"))
    gf.describe("bo_legacy_be", path("bo_legacy_be"), sd, "")
    lines.append("twin bo_legacy bo_legacy_be little")

    for name, order in (("bad_bo_middle", b"middle"), ("bad_bo_newline", b"big\n"), ("bad_bo_empty", b""),
                        ("bad_bo_long", b"big" + b"\x00" * 97)):
        twin(path("bo_zip"), path(name), order, order.startswith(b"big"))
        lines.append("bad %s" % name)

    with open(manifest + ".tmp", "w") as fp:
        fp.write("".join(x + "\n" for x in lines))
    os.replace(manifest + ".tmp", manifest)
    sys.stderr.write("gen_byteorder: %d twins, 4 bad records in %s\n" % (len(lines) - 4, out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
