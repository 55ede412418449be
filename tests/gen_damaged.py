#!/usr/bin/python3
"""Damaged weight files for the `rcc salvage` tests, cut from real torch.save output.

Usage:  /usr/bin/python3 tests/gen_damaged.py OUTDIR

(Debian's python3-torch; run with /usr/bin/python3.)

Healthy originals, saved by torch (reference values for the tests):
  dmg_orig.pt            an OrderedDict of 15 plain tensors over 13 storages:
                         every dtype, a scalar, an empty tensor, a view, a
                         tied pair, one 128 KiB storage; record keys 0..12,
                         so the archive's string order (0, 1, 10, 11, 12,
                         2, ...) differs from first-use order
  dmg_orig_deflated.pt   dmg_orig.pt rewritten by Python's zipfile with
                         ZIP_DEFLATED (local sizes, no data descriptors)
  dmg_orig_ts.pt         a TorchScript archive (torch.jit.save): its code/
                         records are deflated with data descriptors
  sal_tied.pt, sal_views.pt, sal_dtypes.pt, sal_params.pt
                         healthy files salvage must re-save unchanged: tied
                         weights (a module state dict with _metadata),
                         views, every dtype, nn.Parameters

Damaged files (NAME.pt), each damage applied to the bytes of an original:
cut inside a late storage, inside the big storage, inside the central
directory, right after a record, inside a data descriptor, inside a local
header, inside data.pkl, right after data.pkl; the central directory
zeroed; one byte of one storage flipped (directory intact, and directory
cut off); the deflated rewrite cut inside a late record and with a flipped
byte; the TorchScript archive cut inside a deflated code record; and
with the directory cut off, local headers patched to what must stay
refused (a '..' name, the encryption flag, duplicate names).

For every case NAME (damaged or healthy) NAME.damaged.json says what torch
and the original's own central directory say:
  {"what": ..., "original": "dmg_orig.pt", "loader": "load" | "jit",
   "names": [state-dict names, in order],
   "intact": [the names whose storage record lies wholly (payload and data
              descriptor) before the damage and is unharmed],
   "dump_exit": 0 | 2, "dump_error": the message after "W: ", or null,
   "salvage_exit": 0 | 1 | 2, "salvage_error": message or null}
and damaged_manifest.txt lists the cases (written last).
"""

import collections
import io
import json
import os
import pickle
import struct
import sys
import zipfile

import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gen_fixtures as gf  # noqa: E402  (TiedLM)

OUT = None
CASES = []


# ---------------------------------------------------------------- archives

def records(path):
    """{name: (start, end)} for every record of a healthy archive: from its
    local header to the end of its payload's proof (the data descriptor
    when flag bit 3 is set, else the payload)."""
    data = open(path, "rb").read()
    spans = {}
    with zipfile.ZipFile(path) as z:
        for i in z.infolist():
            off = i.header_offset
            sig, flags, nl, xl = (struct.unpack_from("<I", data, off)[0],
                                  struct.unpack_from("<H", data, off + 6)[0],
                                  *struct.unpack_from("<HH", data, off + 26))
            assert sig == 0x04034B50
            start = off + 30 + nl + xl
            end = start + i.compress_size
            if flags & 8:
                assert data[end:end + 4] == b"PK\x07\x08"
                end += 16
            spans[i.filename] = (off, start, end)
    return data, spans


def cd_span(data):
    """(offset, size) of the central directory, from the classic end record."""
    eocd = data.rfind(b"PK\x05\x06")
    size, off = struct.unpack_from("<II", data, eocd + 12)
    if off == 0xFFFFFFFF:
        loc = data.rfind(b"PK\x06\x07", 0, eocd)
        z64 = struct.unpack_from("<Q", data, loc + 8)[0]
        size, off = struct.unpack_from("<QQ", data, z64 + 40)
    return off, size


class _Storage:
    def __init__(self, key):
        self.key = key


def storage_keys(path):
    """{tensor name: storage key} from the archive's data.pkl, read by an
    unpickler that builds nothing but names."""
    with zipfile.ZipFile(path) as z:
        pkl = [n for n in z.namelist() if n.endswith("/data.pkl")][0]
        raw = z.read(pkl)

    class Keys(pickle.Unpickler):
        def find_class(self, mod, name):
            if (mod, name) == ("collections", "OrderedDict"):
                return collections.OrderedDict
            if (mod, name) == ("torch._utils", "_rebuild_tensor_v2"):
                return lambda storage, *rest: storage
            if (mod, name) == ("torch._utils", "_rebuild_parameter"):
                return lambda t, *rest: t
            if mod == "torch" and name.endswith("Storage"):
                return name
            raise pickle.UnpicklingError("unexpected global %s.%s" % (mod, name))

        def persistent_load(self, pid):
            return _Storage(pid[2])

    sd = Keys(io.BytesIO(raw)).load()
    return {k: v.key for k, v in sd.items()}


def prefix_of(spans):
    return next(iter(spans)).split("/")[0] + "/"


# ---------------------------------------------------------------- cases

def write_case(name, blob, what, original, intact, loader="load", dump_exit=None,
               pkl_lost=False, refused=None):
    """NAME.pt and NAME.damaged.json.  intact: the set of intact names;
    refused: the message of a file that must not open at all."""
    if blob is not None:
        with open(os.path.join(OUT, name + ".pt"), "wb") as fp:
            fp.write(blob)
    names = state_dict_names(original, loader)
    intact = [n for n in names if n in intact]
    m, n = len(names), len(intact)
    if refused or pkl_lost:
        msg = refused or "data.pkl is lost: nothing can be recovered"
        dump_exit, salvage_exit, salvage_error = 2, 2, msg
        intact = []
    else:
        msg = "damaged archive: %d of %d tensors intact; %s" % (
            n, m, "rcc salvage can recover them" if n else "nothing can be recovered")
        salvage_exit = 2 if m and not n else (0 if n == m else 1)
        salvage_error = msg if salvage_exit == 2 else None
        if dump_exit is None:
            dump_exit = 2
    case = {"what": what, "original": original, "loader": loader,
            "names": names, "intact": intact,
            "dump_exit": dump_exit, "dump_error": msg if dump_exit == 2 else None,
            "salvage_exit": salvage_exit, "salvage_error": salvage_error}
    with open(os.path.join(OUT, name + ".damaged.json"), "w") as fp:
        json.dump(case, fp, indent=1)
        fp.write("\n")
    CASES.append(name)


_NAMES = {}


def state_dict_names(original, loader):
    if original not in _NAMES:
        path = os.path.join(OUT, original)
        if loader == "jit":
            sd = torch.jit.load(path).state_dict()
        else:
            sd = torch.load(path, weights_only=True)
        _NAMES[original] = list(sd.keys())
    return _NAMES[original]


def intact_before(path, cut, harmed=()):
    """Names whose storage record ends at or before cut and is not harmed."""
    data, spans = records(path)
    prefix = prefix_of(spans)
    keys = storage_keys(path)
    ok = set()
    for name, key in keys.items():
        off, start, end = spans[prefix + "data/" + key]
        if end <= cut and prefix + "data/" + key not in harmed:
            ok.add(name)
    return ok


def cut_cases(orig):
    path = os.path.join(OUT, orig)
    data, spans = records(path)
    prefix = prefix_of(spans)
    cd_off, cd_size = cd_span(data)
    pkl_off, pkl_start, pkl_end = spans[prefix + "data.pkl"]
    order = sorted((s for n, s in spans.items() if "/data/" in n), key=lambda s: s[0])
    keys = storage_keys(path)
    big = spans[prefix + "data/" + keys["big"]]
    late = [s for s in order if s[2] - s[1] - 16 >= 64][-1]
    whole = [s for s in order if s[2] - s[1] > 16]    # payload and descriptor
    mid = whole[len(whole) // 2]

    def cut(name, at, what):
        write_case(name, data[:at], what, orig, intact_before(path, at))

    cut("dmg_cut_late", (late[1] + late[2] - 16) // 2,
        "cut inside the payload of the archive's last sizeable storage record")
    cut("dmg_cut_big", big[1] + 1000, "cut inside the 128 KiB storage of 'big' (and 'big.view')")
    cut("dmg_cut_cd", cd_off + cd_size // 2, "cut inside the central directory: every record whole")
    cut("dmg_cut_after", mid[2], "cut right after a record's data descriptor")
    cut("dmg_cut_desc", mid[2] - 5, "cut inside a data descriptor: that record cannot be verified")
    cut("dmg_cut_header", mid[0] + 20, "cut inside a local header")
    cut("dmg_cut_nothing", pkl_end, "cut right after data.pkl: every storage lost")
    write_case("dmg_cut_pkl", data[:pkl_start + 50], "cut inside data.pkl", orig, set(), pkl_lost=True)

    # The central directory zeroed; the end records still point at it.
    z = bytearray(data)
    z[cd_off:cd_off + cd_size] = bytes(cd_size)
    write_case("dmg_cd_zeroed", bytes(z), "central directory zeroed", orig, intact_before(path, len(data)))

    # One byte flipped inside the payload of proj.weight's storage.
    rec = prefix + "data/" + keys["proj.weight"]
    off, start, end = spans[rec]
    f = bytearray(data)
    f[start + 7] ^= 0x40
    write_case("dmg_flip", bytes(f), "one flipped byte in a storage record, central directory intact",
               orig, intact_before(path, len(data), harmed={rec}), dump_exit=0)
    write_case("dmg_flip_cut", bytes(f[:cd_off]),
               "one flipped byte in a storage record and the central directory cut off: "
               "the records after it are still found", orig, intact_before(path, cd_off, harmed={rec}))


def policy_cases(orig):
    """What the central directory's checks refuse stays refused when the
    directory is gone: a '..' name, an encrypted record, duplicate names
    (local headers patched in place, directory cut off)."""
    path = os.path.join(OUT, orig)
    data, spans = records(path)
    prefix = prefix_of(spans)
    cd_off, cd_size = cd_span(data)
    names = list(spans)                      # in archive order: scan order

    def patched(rec, at, new):
        b = bytearray(data[:cd_off])
        off = spans[rec][0]
        b[off + at:off + at + len(new)] = new
        return bytes(b)

    rec = prefix + "data/10"
    evil = (prefix + "../../x").encode()
    assert len(evil) == len(rec)
    write_case("dmg_name_dotdot", patched(rec, 30, evil),
               "a local header named with a '..' segment, directory cut off: refused", orig, set(),
               refused="local header at offset %d (%s): name contains a '..' segment"
               % (spans[rec][0], evil.decode()))
    rec = prefix + "data/2"
    write_case("dmg_encrypted", patched(rec, 6, struct.pack("<H", 0x0809)),
               "a local header flagged encrypted, directory cut off: refused", orig, set(),
               refused="local header at offset %d (%s): encrypted record (flags 0x0809)" % (spans[rec][0], rec))
    rec, twin = prefix + "data/11", prefix + "data/12"
    write_case("dmg_duplicate", patched(rec, 30, twin.encode()),
               "two local headers with one name, directory cut off: refused", orig, set(),
               refused="records %d (%s) and %d (%s): duplicate names"
               % (names.index(rec), twin, names.index(twin), twin))


def deflated_cases(orig, src):
    """Python zipfile's rewrite of src with ZIP_DEFLATED: local headers carry
    the sizes and CRC, and there are no data descriptors."""
    path = os.path.join(OUT, orig)
    with zipfile.ZipFile(os.path.join(OUT, src)) as zi, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zo:
        for info in zi.infolist():
            out = zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0))
            out.compress_type = zipfile.ZIP_DEFLATED
            zo.writestr(out, zi.read(info.filename), compresslevel=9)
    write_case(orig[:-3], None, "healthy: deflated by Python's zipfile", orig,
               set(state_dict_names(orig, "load")), dump_exit=0)
    data, spans = records(path)
    prefix = prefix_of(spans)
    keys = storage_keys(path)
    order = sorted((s for n, s in spans.items() if "/data/" in n), key=lambda s: s[0])
    late = [s for s in order if s[2] - s[1] >= 64][-1]
    at = (late[1] + late[2]) // 2
    write_case("dmg_defl_cut", data[:at], "deflated archive cut inside a late record", orig,
               intact_before(path, at))
    rec = prefix + "data/" + keys["big"]
    off, start, end = spans[rec]
    cd_off, cd_size = cd_span(data)
    f = bytearray(data[:cd_off + 10])
    f[(start + end) // 2] ^= 0x01
    write_case("dmg_defl_flip", bytes(f),
               "deflated archive with a flipped byte inside the compressed 'big' record, central directory cut",
               orig, intact_before(path, cd_off, harmed={rec}))


def torchscript_cases():
    torch.manual_seed(23)
    m = torch.jit.script(nn.Sequential(nn.Linear(6, 5), nn.ReLU(), nn.Linear(5, 3), nn.LayerNorm(3)))
    orig = "dmg_orig_ts.pt"
    path = os.path.join(OUT, orig)
    torch.jit.save(m, path)
    data, spans = records(path)
    prefix = prefix_of(spans)
    code = [s for n, s in spans.items() if "/code/" in n and not n.endswith(".debug_pkl")]
    last_data = max(s[2] for n, s in spans.items() if "/data/" in n or n.endswith("/data.pkl"))
    target = [s for s in code if s[0] >= last_data][0]
    at = (target[1] + target[2]) // 2
    names = state_dict_names(orig, "jit")
    write_case("dmg_orig_ts", None, "healthy: a TorchScript archive", orig, set(names), loader="jit",
               dump_exit=0)
    write_case("dmg_ts_cut", data[:at], "TorchScript archive cut inside a deflated code record "
               "(data descriptors after deflate streams)", orig, set(names), loader="jit")


# ---------------------------------------------------------------- originals

def orig_sd():
    torch.manual_seed(21)
    d = collections.OrderedDict()
    emb = torch.randn(50, 16)
    d["emb.weight"] = emb
    d["proj.weight"] = torch.randn(16, 16)
    d["proj.bias"] = torch.randn(16)
    d["norm.weight"] = torch.rand(16).to(torch.float16)
    d["steps"] = torch.tensor(123456789012, dtype=torch.int64)
    d["mask"] = torch.rand(3, 5) > 0.5
    big = torch.randn(128, 256)
    d["big"] = big
    d["big.view"] = big[3:40, 5:100]
    d["bf"] = torch.randn(7, 3).to(torch.bfloat16)
    d["empty"] = torch.zeros(0, 4)
    d["counts"] = torch.arange(-20, 20, dtype=torch.int32)
    d["head.weight"] = emb                        # tied to emb.weight
    d["small"] = torch.tensor([-3, 7, 127], dtype=torch.int8)
    d["bytes"] = torch.arange(0, 250, 7, dtype=torch.uint8)
    d["tail"] = torch.randn(9, dtype=torch.float64)
    return d


def healthy_cases():
    def save(name, obj, what):
        torch.save(obj, os.path.join(OUT, name + ".pt"))
        names = state_dict_names(name + ".pt", "load")
        write_case(name, None, "healthy: " + what, name + ".pt", set(names), dump_exit=0)

    torch.manual_seed(22)
    save("sal_tied", gf.TiedLM(vocab=40, dim=12).state_dict(), "a module state dict with tied weights")
    base = torch.arange(60.).reshape(6, 10)
    views = collections.OrderedDict()
    views["view"] = base[1:, 2:7]
    views["t"] = base.t()
    views["base"] = base
    views["step"] = base[:, ::3]
    views["expand"] = torch.arange(4.).expand(3, 4)
    views["chlast"] = torch.randn(2, 3, 4, 5).contiguous(memory_format=torch.channels_last)
    views["row"] = base[4]
    save("sal_views", views, "views: offsets, strides, stride 0, channels-last, shared storages")
    d = collections.OrderedDict()
    for dt in [torch.float32, torch.float16, torch.bfloat16, torch.float64, torch.int64,
               torch.int32, torch.int16, torch.int8, torch.uint8]:
        d[str(dt).split(".")[1]] = (torch.randn(3, 4) * 50).to(dt)
    d["bool"] = torch.tensor([[True, False], [False, True]])
    d["scalar"] = torch.tensor(2.5)
    d["empty"] = torch.empty(0, 3)
    d["empty_i64"] = torch.zeros(0, dtype=torch.int64)
    d["nan"] = torch.tensor([float("nan"), float("inf"), -0.0])
    save("sal_dtypes", d, "every dtype, a scalar, empty tensors, NaN and -0.0")
    p = collections.OrderedDict()
    p["w"] = nn.Parameter(torch.randn(3, 4))
    p["frozen"] = nn.Parameter(torch.randn(2), requires_grad=False)
    p["buf"] = torch.randn(5)
    save("sal_params", p, "nn.Parameter values (requires_grad true and false) and a buffer")


def main(argv):
    global OUT
    if len(argv) != 2:
        sys.stderr.write("usage: %s OUTDIR\n" % argv[0])
        return 2
    OUT = argv[1]
    os.makedirs(OUT, exist_ok=True)
    stamp = os.path.join(OUT, "damaged_manifest.txt")
    if os.path.exists(stamp):
        os.remove(stamp)
    torch.set_num_threads(1)
    torch.save(orig_sd(), os.path.join(OUT, "dmg_orig.pt"))
    write_case("dmg_orig", None, "healthy: the original of the dmg_ cases", "dmg_orig.pt",
               set(state_dict_names("dmg_orig.pt", "load")), dump_exit=0)
    cut_cases("dmg_orig.pt")
    policy_cases("dmg_orig.pt")
    deflated_cases("dmg_orig_deflated.pt", "dmg_orig.pt")
    torchscript_cases()
    healthy_cases()
    with open(stamp + ".tmp", "w") as fp:
        fp.write("".join(c + "\n" for c in CASES))
    os.replace(stamp + ".tmp", stamp)
    sys.stderr.write("gen_damaged: %d cases in %s\n" % (len(CASES), OUT))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
