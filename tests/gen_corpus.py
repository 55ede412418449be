#!/usr/bin/python3
"""rcc's own corpus of crafted hostile weight files, each with its verdict.

Usage:  /usr/bin/python3 tests/gen_corpus.py OUTDIR      (writes OUTDIR/corpus/)

The idea: every way a .pt file can lie (the zip container, the pickle, the
tensor metadata, the legacy stream, a TorchScript archive) gets one small
file that lies in exactly that way and is otherwise well formed, so that
the verdict rcc gives tells which check fired.  The files start from real
torch output: torch.save writes the base archive, and the zip writer below
is checked to reproduce torch's bytes exactly before any field is bent.
Only then are single fields changed (struct, zlib), so each file is what
torch.save would write except for its one lie.

Writes OUTDIR/corpus/
  NAME.pt            the crafted files
  NAME.expect.json   for the files rcc must load: torch's own reading of
                     them (gen_fixtures.py's format, for compare_listing.py)
                     plus its .values.bin / .f32.bin
  manifest.txt       written last (the make stamp), one case a line:
                       ID FILE load [WARNING]   exit 0; stderr empty, or
                                                 only warnings, one holding
                                                 WARNING
                       ID FILE reject MESSAGE   exit 2; stderr exactly one
                                                 line "rcc: error: FILE: ..."
                                                 holding MESSAGE
tests/corpus.sh checks every line.  The verdicts are rcc's: where the
format notes leave a choice (load or reject, or a matter of policy), the
choice rcc makes is pinned here, so that a change of it fails the test.
The messages are pinned whole (they name the check and where it fired).
The IDs follow those of the external corpus that tests/corpus-external.sh
reads in CI (Z zip, P pickle, T tensor, L legacy, S TorchScript, OK good
files), a letter added for variants of one case.

Cases that tests/bad/ already covers (gen_fixtures.py, gen_hostile.py) are
not repeated here: a truncated archive (bad_truncated), duplicate names
(bad_h_duplicate_names), a deflate stream longer than its declared size
(bad_h_zip_bomb), a CRC mismatch (bad_h_crc_mismatch), os.system
(bad_os_system), STACK_GLOBAL builtins.exec (bad_h_stack_global), a memo
lookup never stored (bad_h_binget_unset), a huge BINUNICODE
(bad_h_binunicode_past_end), a MARK bomb (bad_h_mark_bomb), deep nesting
(bad_deep_nesting, bad_h_list_bomb), a negative size (bad_h_negative_size),
an extent past the storage (bad_h_extent_past_storage, bad_storage_short),
a missing storage record (bad_h_missing_record) and a record shorter than
its storage (bad_record_short).

Deterministic: the same bytes on every run (fixed tensors, no timestamps;
the legacy file is assembled here because torch names its storages by
memory address), except that the TorchScript archive's debug records name
this script's path and line numbers.  About 1.5 s, most of it importing
torch; 1.5 MB, 1 MB of it the deflate bomb.
"""
import io
import os
import pickle
import shutil
import struct
import sys
import zipfile
import zlib

import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gen_fixtures as gf  # noqa: E402  (pickle opcodes, write_expect)
from gen_fixtures import _global, _u  # noqa: E402

CASES = []          # (id, file, verdict, message)
F6 = struct.pack("<6f", 1, 2, 3, 4, 5, 6)   # the base tensor's storage


def case(cid, name, data, verdict, message=""):
    """One crafted file and the verdict rcc must give it."""
    assert verdict in ("load", "reject") and (message or verdict == "load")
    assert "\n" not in message and all(c[1] != name for c in CASES)
    if data is not None:
        with open(os.path.join(gf.OUT, name), "wb") as fp:
            fp.write(data)
    CASES.append((cid, name, verdict, message))


def expect_load(name, got):
    """NAME.expect.json from torch's own reading of a file rcc must load:
    the (name, tensor) pairs, non-tensor entries left out (rcc lists
    tensors only and warns about the rest)."""
    gf.write_expect(name[:-3], "", [(str(k), v) for k, v in got if isinstance(v, torch.Tensor)])


def torch_load(name, weights_only=True):
    obj = torch.load(os.path.join(gf.OUT, name), map_location="cpu", weights_only=weights_only)
    return list(obj.items())


# ---------------------------------------------------------------- pickles

def num(n):
    """The shortest int opcode, as torch's pickler would write it
    (BININT1, BININT2, BININT, else LONG1 two's complement)."""
    if 0 <= n < 256:
        return b"K" + bytes([n])
    if 0 <= n < 65536:
        return b"M" + struct.pack("<H", n)
    if -2**31 <= n < 2**31:
        return b"J" + struct.pack("<i", n)
    body = n.to_bytes((n.bit_length() + 8) // 8, "little", signed=True)
    return b"\x8a" + bytes([len(body)]) + body


def tup(items):
    return b"(" + b"".join(items) + b"t"


def ints(xs):
    return tup([num(x) for x in xs])


def pid(key, numel, storage="FloatStorage", legacy=False):
    """BINPERSID of ('storage', torch.<storage>, key, 'cpu', numel[, None])."""
    return tup([_u("storage"), _global("torch", storage), _u(key), _u("cpu"), num(numel)]
               + ([b"N"] if legacy else [])) + b"Q"


def rebuild(args):
    """torch._utils._rebuild_tensor_v2(*args)."""
    return _global("torch._utils", "_rebuild_tensor_v2") + tup(args) + b"R"


def tensor(key, numel, shape, stride, offset=0, storage="FloatStorage", legacy=False):
    return rebuild([pid(key, numel, storage, legacy), num(offset), ints(shape), ints(stride), b"\x89",
                    _global("collections", "OrderedDict") + b")R"])


def sdict(*entries, proto=2):
    """A state dict {name: value_opcodes, ...}: EMPTY_DICT MARK ... SETITEMS."""
    return b"\x80" + bytes([proto]) + b"}(" + b"".join(_u(k) + v for k, v in entries) + b"u."


# ---------------------------------------------------------------- zip

class TorchZip:
    """A zip archive laid out as torch.save (PyTorchStreamWriter) lays it
    out: local headers with flags 0x0808 and zero crc/sizes, each payload
    64-byte aligned by an 'FB' extra field of 'Z's, a data descriptor after
    it, the central directory, a zip64 end record and locator (always),
    the classic end record.  Any field can be overridden to lie."""

    def __init__(self):
        self.out = bytearray()
        self.cd = []

    def add(self, name, data, method=0, payload=None, real=None, local_name=None, local_flags=0x0808, **cd):
        """Append a record.  payload: the bytes stored (data deflated, for
        method 8); real: (crc, size) of the data when it is too big to pass
        as data; cd: central directory fields to override (flags, crc,
        csize, usize, lho, method)."""
        payload = data if payload is None else payload
        lname = (name if local_name is None else local_name).encode()
        need = 20 if method == 8 else 0
        lho = len(self.out)
        pad = (64 - (lho + 30 + len(lname) + 4) % 64) % 64
        self.out += struct.pack("<IHHHHHIIIHH", 0x04034B50, need, local_flags, method, 0, 0, 0, 0, 0,
                                len(lname), 4 + pad)
        self.out += lname + b"FB" + struct.pack("<H", pad) + b"Z" * pad
        data_off = len(self.out)
        self.out += payload
        crc, usize = real or (zlib.crc32(data) & 0xFFFFFFFF, len(data))
        # The data descriptor tells the truth; the directory may lie.
        self.out += struct.pack("<IIII", 0x08074B50, crc, len(payload), usize)
        entry = dict(name=name.encode(), need=need, flags=0x0808, method=method, crc=crc,
                     csize=len(payload), usize=usize, lho=lho)
        entry.update(cd)
        self.cd.append(entry)
        return data_off

    def finish(self, comment=b"", entries=None, cd_size=None, cd_off=None, loc_off=None):
        """The central directory and end records; the keyword arguments
        make the end records lie (the same value in zip64 and classic)."""
        cd_start = len(self.out)
        for e in self.cd:
            self.out += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 0, e["need"], e["flags"], e["method"],
                                    0, 0, e["crc"], e["csize"], e["usize"], len(e["name"]), 0, 0, 0, 0, 0,
                                    e["lho"]) + e["name"]
        n = len(self.cd) if entries is None else entries
        size = len(self.out) - cd_start if cd_size is None else cd_size
        off = cd_start if cd_off is None else cd_off
        z64 = len(self.out)
        self.out += struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, 0x031E, 45, 0, 0, n, n, size, off)
        self.out += struct.pack("<IIQI", 0x07064B50, 0, z64 if loc_off is None else loc_off, 1)
        self.out += struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, min(n, 0xFFFF), min(n, 0xFFFF),
                                min(size, 0xFFFFFFFF), min(off, 0xFFFFFFFF), len(comment)) + comment
        return bytes(self.out)


def torch_archive(pkl, records, version=b"3\n", prefix="archive/", **end):
    """data.pkl, data/KEY for each (key, bytes), version: torch.save's order."""
    z = TorchZip()
    z.add(prefix + "data.pkl", pkl)
    for key, data in records:
        z.add(prefix + "data/" + key, data)
    if version is not None:
        z.add(prefix + "version", version)
    return z.finish(**end)


def base_archive():
    """torch.save of {'w': [[1, 2, 3], [4, 5, 6]]} and its pickle, after
    checking that TorchZip writes exactly torch's bytes for it."""
    buf = io.BytesIO()
    torch.save({"w": torch.arange(1.0, 7.0).reshape(2, 3)}, buf)
    base = buf.getvalue()
    with zipfile.ZipFile(io.BytesIO(base)) as zf:
        names = zf.namelist()
        recs = {n: zf.read(n) for n in names}
    assert names == ["archive/data.pkl", "archive/data/0", "archive/version"], names
    assert recs["archive/data/0"] == F6
    pkl = recs["archive/data.pkl"]
    mine = torch_archive(pkl, [("0", F6)], version=recs["archive/version"])
    if mine != base:
        raise SystemExit("gen_corpus: TorchZip no longer reproduces torch.save's archive "
                         "(torch %s): the crafted files would not be torch's layout" % torch.__version__)
    return base, pkl


def bomb_stream(size):
    """A raw deflate stream of `size` zero bytes (a multiple of 1 MiB),
    built from one fully flushed block repeated: a full flush resets the
    compressor, so every 1 MiB block compresses to the same bytes."""
    chunk = bytes(1 << 20)
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    first = c.compress(chunk) + c.flush(zlib.Z_FULL_FLUSH)
    block = c.compress(chunk) + c.flush(zlib.Z_FULL_FLUSH)
    assert first == block
    crc = 0
    for _ in range(size >> 20):
        crc = zlib.crc32(chunk, crc)
    return block * (size >> 20) + c.flush(), crc


# ---------------------------------------------------------------- cases

DAMAGED = "damaged archive: 1 of 1 tensors intact; rcc salvage can recover them"


def zip_cases(base, pkl):
    sd = [("0", F6)]

    case("OK1", "ok_torch_save.pt", base, "load")
    expect_load("ok_torch_save.pt", torch_load("ok_torch_save.pt"))
    # Python's zipfile: no alignment, no descriptors, real local sizes.
    gf.torch_style_zip("ok_python_zipfile.pt", pkl, sd)
    case("OK2", "ok_python_zipfile.pt", None, "load")
    expect_load("ok_python_zipfile.pt", torch_load("ok_python_zipfile.pt"))
    # A 20-byte archive comment after the end record.
    comment = b"rcc corpus: comment."
    case("OK4", "ok_eocd_comment.pt", base[:-2] + struct.pack("<H", len(comment)) + comment, "load")
    expect_load("ok_eocd_comment.pt", torch_load("ok_eocd_comment.pt"))

    # The central directory lost or out of reach: rcc finds the records by
    # their local headers, and says what salvage would recover.
    cd_off = struct.unpack_from("<I", base, len(base) - 6)[0]
    case("Z02", "zip_no_central_directory.pt", base[:cd_off], "reject", DAMAGED)
    case("Z03", "zip_cd_offset_past_eof.pt", torch_archive(pkl, sd, cd_off=len(base) + 4096), "reject", DAMAGED)
    case("Z04", "zip_cd_size_overflow.pt", torch_archive(pkl, sd, cd_size=0xFFFFFFF0), "reject", DAMAGED)
    case("Z05", "zip_entry_count_lie.pt", torch_archive(pkl, sd, entries=1 << 40), "reject", DAMAGED)
    case("Z06", "zip_zip64_locator_garbage.pt", torch_archive(pkl, sd, loc_off=0), "reject", DAMAGED)

    def one(cid, name, verdict, message, **over):
        """The base archive with data/0's record lying as `over` says."""
        z = TorchZip()
        z.add("archive/data.pkl", pkl)
        z.add("archive/data/0", F6, **over)
        z.add("archive/version", b"3\n")
        case(cid, name, z.finish(), verdict, message)

    # A directory entry whose record cannot be where it says is a lost
    # directory too; the other lies are refused outright.
    one("Z07", "zip_local_offset_past_eof.pt", "reject", DAMAGED, lho=0x7FFFFFF0)
    one("Z08", "zip_local_name_mismatch.pt", "reject",
        "central directory entry 1 (archive/data/0): local header name differs from central directory name",
        local_name="archive/data/9")
    one("Z09", "zip_record_size_past_cd.pt", "reject", DAMAGED, csize=10**9, usize=10**9)
    one("Z15", "zip_stored_size_mismatch.pt", "reject",
        "central directory entry 1 (archive/data/0): stored record has compressed size 24 "
        "but uncompressed size 48", usize=48)
    one("Z17", "zip_encrypted_flag.pt", "reject",
        "central directory entry 1 (archive/data/0): encrypted record (flags 0x0809)", flags=0x0809)
    one("Z17L", "zip_encrypted_local_flag.pt", "reject",
        "central directory entry 1 (archive/data/0): local header marks the record encrypted",
        local_flags=0x0809)
    one("Z17C", "zip_cd_masked_flag.pt", "reject",
        "central directory entry 1 (archive/data/0): central directory encryption flag set", flags=0x2808)
    one("Z18", "zip_unsupported_method.pt", "reject",
        "central directory entry 1 (archive/data/0): unsupported compression method 12", method=12)

    # Honest sizes, but the tensor record is deflated to 1 MB from 1 GiB:
    # torch.save never compresses data/*, and the pickle needs 24 bytes.
    stream, crc = bomb_stream(1 << 30)
    one("Z13", "zip_deflate_bomb.pt", "reject",
        "storage record archive/data/0 has 1073741824 bytes, the pickle needs 24",
        method=8, payload=stream, real=(crc, 1 << 30))

    # data/1's local header and bytes lie inside data/0's payload.  Storage
    # 0 is all of data/0 (bytes), so the overlap is the only lie.
    inner_name = b"archive/data/1"
    crc1 = zlib.crc32(F6) & 0xFFFFFFFF
    inner = struct.pack("<IHHHHHIIIHH", 0x04034B50, 0, 0, 0, 0, 0, crc1, 24, 24, len(inner_name), 0)
    rec0 = F6 + inner + inner_name + F6
    z = TorchZip()
    z.add("archive/data.pkl", sdict(("a", tensor("0", len(rec0), [len(rec0)], [1], storage="ByteStorage")),
                                    ("b", tensor("1", 6, [6], [1]))))
    off0 = z.add("archive/data/0", rec0)
    z.cd.append(dict(name=inner_name, need=0, flags=0, method=0, crc=crc1, csize=24, usize=24, lho=off0 + 24))
    z.add("archive/version", b"3\n")
    case("Z10", "zip_overlapping_records.pt", z.finish(), "reject",
         "central directory entries 1 (archive/data/0) and 2 (archive/data/1): records overlap")

    # The same hidden record, listed in the directory before the record that
    # holds it: entries out of file order are sorted by offset before the
    # overlap is found (in order, each is checked against the next).
    z = TorchZip()
    z.add("archive/data.pkl", sdict(("a", tensor("0", len(rec0), [len(rec0)], [1], storage="ByteStorage")),
                                    ("b", tensor("1", 6, [6], [1]))))
    off0 = z.add("archive/data/0", rec0)
    z.cd.insert(1, dict(name=inner_name, need=0, flags=0, method=0, crc=crc1, csize=24, usize=24, lho=off0 + 24))
    z.add("archive/version", b"3\n")
    case("Z10B", "zip_overlapping_records_unordered.pt", z.finish(), "reject",
         "central directory entries 2 (archive/data/0) and 1 (archive/data/1): records overlap")

    # data.pkl twice, once in capitals (miniz, torch's reader, looks names
    # up ignoring case).
    z = TorchZip()
    z.add("archive/data.pkl", pkl)
    z.add("archive/DATA.PKL", sdict(("w", tensor("0", 6, [6], [1]))))
    z.add("archive/data/0", F6)
    z.add("archive/version", b"3\n")
    case("Z12", "zip_case_duplicate.pt", z.finish(), "reject",
         "central directory entries 0 (archive/data.pkl) and 1 (archive/DATA.PKL): duplicate names (ignoring case)")

    # Names: one bad name added to the base archive each.
    entry3 = "central directory entry 3 "
    for cid, name, bad, message in (
            ("Z19", "zip_name_dotdot.pt", "archive/../../tmp/evil",
             entry3 + "(archive/../../tmp/evil): name contains a '..' segment"),
            ("Z19A", "zip_name_absolute.pt", "/etc/x", entry3 + "(/etc/x): name is an absolute path"),
            ("Z19F", "zip_name_other_folder.pt", "other/data.pkl",
             entry3 + "(other/data.pkl): outside the archive folder 'archive/'"),
            ("Z19B", "zip_name_backslash.pt", "archive\\data\\1",
             entry3 + "(archive\\data\\1): name contains a backslash"),
            ("Z19N", "zip_name_nul.pt", "archive/data/1\0.pkl",
             entry3 + "(archive/data/1\\x00.pkl): name contains a nul byte")):
        z = TorchZip()
        z.add("archive/data.pkl", pkl)
        z.add("archive/data/0", F6)
        z.add("archive/version", b"3\n")
        z.add(bad, b"x")
        case(cid, name, z.finish(), "reject", message)

    case("Z20", "zip_no_prefix_folder.pt", torch_archive(pkl, sd, prefix=""), "reject",
         "central directory entry 0 (data.pkl): records at the archive root: not a torch.save archive")
    case("Z21", "zip_version_garbage.pt", torch_archive(pkl, sd, version=b"9" * 23 + b"\n"), "reject",
         "version record is not a small decimal number")
    case("Z21H", "zip_version_11.pt", torch_archive(pkl, sd, version=b"11\n"), "reject",
         "archive format version 11 is not supported (1..10)")
    case("Z21Z", "zip_version_0.pt", torch_archive(pkl, sd, version=b"0\n"), "reject",
         "archive format version 0 is not supported (1..10)")

    z = TorchZip()
    z.add("archive/data/0", F6)
    z.add("archive/version", b"3\n")
    case("Z22", "zip_missing_data_pkl.pt", z.finish(), "reject", "archive has no archive/data.pkl record")
    case("Z23", "zip_empty_archive.pt", TorchZip().finish(), "reject", "empty archive")


def pickle_cases(base_pkl):
    w = ("w", tensor("0", 6, [2, 3], [3, 1]))
    sd = [("0", F6)]

    def pk(cid, name, pkl, verdict, message="", records=sd):
        case(cid, name, torch_archive(pkl, records), verdict, message)

    buf = io.BytesIO()
    torch.save({"w": torch.arange(1.0, 7.0).reshape(2, 3)}, buf, pickle_protocol=4)
    case("OK3", "ok_protocol4.pt", buf.getvalue(), "load")
    expect_load("ok_protocol4.pt", torch_load("ok_protocol4.pt", weights_only=False))

    # A call to posix.system, its result popped, then garbage and no STOP:
    # a scanner that stops at the parse error never sees the call.
    pk("P03", "pkl_payload_then_garbage.pt",
       b"\x80\x02" + _global("posix", "system") + _u("echo rcc-corpus") + b"\x85R0" + b"\xff\xfe garbage", "reject",
       "the pickle calls posix.system('echo rcc-corpus') (at byte 37); torch.load would run it; refused, "
       "nothing was executed")
    # A list that holds itself (legal): rcc lists the tensor, warns, and
    # must not loop printing or freeing the list.
    pk("P04", "pkl_memo_cycle.pt", sdict(w, ("loop", b"]q\x09h\x09a")), "load",
       "state dict entry 'loop' is a list, not a tensor")
    expect_load("pkl_memo_cycle.pt", torch_load("pkl_memo_cycle.pt"))
    # LONG_BINPUT 0xFFFFFFFF: a dense memo would need 2^32 slots.
    pk("P06", "pkl_memo_huge_index.pt", b"\x80\x02}r\xff\xff\xff\xff(" + _u(w[0]) + w[1] + b"u.", "load")
    expect_load("pkl_memo_huge_index.pt", torch_load("pkl_memo_huge_index.pt"))
    pk("P10", "pkl_huge_long4.pt", b"\x80\x02\x8b" + struct.pack("<i", 0x7FFFFFFF) + b"\x01\x02\x03\x04\x05.",
       "reject", "pickle: data ends inside an opcode (truncated pickle) (at byte 2)")
    pk("P11", "pkl_stack_underflow.pt", b"\x80\x02R.", "reject", "pickle: stack underflow (at byte 2)")
    pk("P12", "pkl_missing_stop.pt", base_pkl[:-1], "reject",
       "pickle: data ends before STOP (truncated pickle) (at byte %d)" % (len(base_pkl) - 1))
    pk("P13", "pkl_setitems_on_list.pt", b"\x80\x02](" + _u("a") + _u("b") + b"u.", "reject",
       "pickle: SETITEM target is not a dict (at byte 16)")
    pk("P14", "pkl_build_on_tensor.pt", sdict(("w", w[1] + ints([1, 2, 3]) + b"b")), "reject",
       "BUILD on a tensor is not allowed")
    pk("P15", "pkl_persid_malformed.pt",
       sdict(("w", rebuild([tup([_u("storage"), _global("torch", "FloatStorage"), num(0), _u("cpu")]) + b"Q",
                            num(0), ints([2, 3]), ints([3, 1]), b"\x89",
                            _global("collections", "OrderedDict") + b")R"]))), "reject",
       "persistent id is not a ('storage', type, key, location, numel) tuple")
    pk("P16", "pkl_unknown_storage_type.pt", sdict(("w", tensor("0", 6, [2, 3], [3, 1], storage="FooStorage"))),
       "reject", "persistent id names torch.FooStorage, which is not a storage type")
    pk("P17", "pkl_rebuild_bad_args.pt",
       sdict(("w", rebuild([pid("0", 6), num(0), tup([_u("2"), b"G" + struct.pack(">d", 3.5)])]))), "reject",
       "torch._utils._rebuild_tensor_v2 called with 3 arguments (at byte 115)")
    pk("P18", "pkl_invalid_utf8.pt", b"\x80\x02}(X\x02\x00\x00\x00\xff\xfe" + w[1] + b"u.", "reject",
       "pickle: string is not valid UTF-8 (at byte 4)")
    pk("P19", "pkl_global_unterminated.pt", b"\x80\x02ctorch._utils\n_rebuild_tensor_v2" + b"A" * 40, "reject",
       "pickle: GLOBAL name is not terminated (truncated pickle) (at byte 2)")
    pk("P19L", "pkl_global_long_line.pt", b"\x80\x02ctorch._utils\n_rebuild" + b"A" * 1000 + b"\n.", "reject",
       "pickle: GLOBAL name longer than 256 bytes (at byte 2)")


def tensor_cases():
    sd = [("0", F6)]

    def tc(cid, name, value, message, records=sd):
        case(cid, name, torch_archive(sdict(("w", value)), records), "reject", message)

    tc("T03", "t_numel_overflow.pt", tensor("0", 6, [1 << 32, 1 << 32], [1 << 32, 1]),
       "tensor element count overflows (at byte 153)")
    # (3 - 1) * 2^62 overflows int64; (4 - 1) * (2^63 - 1) overflows uint64 too.
    tc("T04", "t_stride_extent_overflow.pt", tensor("0", 6, [3, 2], [1 << 62, 1]),
       "tensor extent exceeds storage 0 (element 9223372036854775809 of 6) (at byte 146)")
    tc("T04U", "t_stride_extent_overflow_u64.pt", tensor("0", 6, [4, 2], [(1 << 63) - 1, 1]),
       "tensor extent overflows (at byte 146)")
    tc("T05", "t_negative_stride.pt", tensor("0", 6, [2, 3], [-3, 1], offset=3),
       "tensor has a negative stride (at byte 141)")
    tc("T06", "t_storage_numel_overflow.pt", tensor("0", 1 << 61, [3], [1], storage="DoubleStorage"),
       "storage 0: size overflows")
    case("T09", "t_key_type_conflict.pt",
         torch_archive(sdict(("a", tensor("0", 6, [6], [1])), ("b", tensor("0", 3, [3], [1], storage="LongStorage"))),
                       sd), "reject", "storage key 0 is used with conflicting types or sizes")
    tc("T10", "t_key_path_injection.pt", tensor("../version", 6, [6], [1]), "storage key is not a decimal number")
    tc("T12", "t_huge_ndim.pt", tensor("0", 6, [1] * 100000, [1] * 100000),
       "tensor has 100000 dimensions, more than 64 (at byte 400130)")
    tc("T13", "t_size_stride_len_mismatch.pt", tensor("0", 6, [2, 3], [1]),
       "tensor has 2 sizes but 1 strides (at byte 136)")
    tc("T14", "t_stride_out_of_bounds.pt", tensor("0", 3, [2], [1 << 40], storage="ByteStorage"),
       "tensor extent exceeds storage 0 (element 1099511627776 of 3) (at byte 139)", records=[("0", b"\x01\x02\x03")])
    # The same stride in a quantized tensor: rcc refuses quantized storages.
    qt = (_global("torch._utils", "_rebuild_qtensor")
          + tup([pid("0", 3, "QUInt8Storage"), num(0), ints([2]), ints([1 << 40]),
                 _global("torch", "per_tensor_affine") + b"G" + struct.pack(">d", 0.1) + num(10) + b"\x87",
                 b"\x89", _global("collections", "OrderedDict") + b")R"]) + b"R")
    tc("T14Q", "t_qtensor_stride_oob.pt", qt, "quantized tensors are not supported (storage type torch.QUInt8Storage)",
       records=[("0", b"\x01\x02\x03")])
    # Within the storage (every element is element 0), but 2^42 elements.
    tc("T15", "t_zero_stride_view_bomb.pt", tensor("0", 6, [1 << 21, 1 << 21], [0, 0]),
       "tensor view of storage 0 would materialise too many bytes (at byte 144)")

    # Bool bytes other than 0 and 1: rcc loads them (and normalises on read).
    name = "t_bool_invalid_bytes.pt"
    case("T11", name, torch_archive(sdict(("w", tensor("0", 4, [4], [1], storage="BoolStorage"))),
                                    [("0", b"\x00\x01\x02\xff")]), "load")
    expect_load(name, torch_load(name))


# ---------------------------------------------------------------- legacy

MAGIC = 0x1950A86A20F9469CFC6C
KEY = "1000"


def legacy_file(magic=MAGIC, proto_version=1001, keys=(KEY,), count=6, payload=F6, cut=0):
    """torch.save(..., _use_new_zipfile_serialization=False) of the base
    state dict, assembled here: the magic number, the protocol version,
    sys_info, the object (6-tuple persistent ids), the sorted key list,
    then per key an int64 element count and the raw bytes.  (torch names
    storages by their address, so its own output differs run to run.)"""
    sys_info = {"protocol_version": 1001, "little_endian": True, "type_sizes": {"short": 2, "int": 4, "long": 4}}
    out = (pickle.dumps(magic, protocol=2) + pickle.dumps(proto_version, protocol=2)
           + pickle.dumps(sys_info, protocol=2)
           + sdict(("w", tensor(KEY, 6, [2, 3], [3, 1], legacy=True)))
           + pickle.dumps(sorted(keys), protocol=2))
    for k in sorted(keys):
        out += struct.pack("<q", count if k == KEY else 0) + (payload if k == KEY else b"")
    return out[:len(out) - cut]


def legacy_cases():
    case("L00", "ok_legacy.pt", legacy_file(), "load")
    got = torch_load("ok_legacy.pt")
    assert gf.bits_equal(got[0][1], torch.arange(1.0, 7.0).reshape(2, 3)), "torch reads the legacy file differently"
    expect_load("ok_legacy.pt", got)
    case("L01", "legacy_bad_magic.pt", legacy_file(magic=MAGIC + 1), "reject", "legacy file: bad magic number")
    case("L01V", "legacy_bad_version.pt", legacy_file(proto_version=1002), "reject",
         "legacy file: protocol version is not 1001")
    case("L02", "legacy_count_huge.pt", legacy_file(count=1 << 62), "reject",
         "legacy file: storage '1000' has 4611686018427387904 elements, the pickle says 6")
    case("L03", "legacy_truncated_payload.pt", legacy_file(cut=10), "reject",
         "legacy file: storage '1000' needs 24 bytes, 14 remain (file truncated?)")
    case("L04", "legacy_unknown_key.pt", legacy_file(keys=(KEY, "999")), "reject",
         "legacy file: storage key '999' is not referenced by the pickle")


# ---------------------------------------------------------------- TorchScript

class Scripted(nn.Module):
    """A parameter, a buffer, and a plain tensor attribute (which is in
    neither list, so not in the state dict)."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(3, 2)
        self.register_buffer("scale", torch.full((2,), 0.5))
        self.extra = torch.arange(4.0)

    def forward(self, x):
        return self.fc(x) * self.scale + self.extra.sum()


def torchscript_cases():
    torch.manual_seed(7)
    name = "ts_torchscript.pt"
    torch.jit.script(Scripted()).save(os.path.join(gf.OUT, name))
    case("S01", name, None, "load", "TorchScript attribute 'extra' is a tensor but neither a parameter nor a buffer")
    gf.write_expect(name[:-3], "", list(torch.jit.load(os.path.join(gf.OUT, name)).state_dict().items()))


# ---------------------------------------------------------------- main

def main(argv):
    if len(argv) != 2:
        sys.stderr.write("usage: %s OUTDIR\n" % argv[0])
        return 2
    if sys.byteorder != "little":
        sys.stderr.write("gen_corpus: the files are little-endian; this host is not\n")
        return 1
    gf.OUT = os.path.join(argv[1], "corpus")
    shutil.rmtree(gf.OUT, ignore_errors=True)     # no file of an older run stays
    os.makedirs(gf.OUT)
    torch.set_num_threads(1)
    base, pkl = base_archive()
    zip_cases(base, pkl)
    pickle_cases(pkl)
    tensor_cases()
    legacy_cases()
    torchscript_cases()
    stamp = os.path.join(gf.OUT, "manifest.txt")
    with open(stamp + ".tmp", "w") as fp:
        for cid, name, verdict, message in CASES:
            fp.write(" ".join(x for x in (cid, name, verdict, message) if x) + "\n")
    os.replace(stamp + ".tmp", stamp)
    sys.stderr.write("gen_corpus: %d files in %s (%d load, %d reject)\n"
                     % (len(CASES), gf.OUT, sum(c[2] == "load" for c in CASES), sum(c[2] == "reject" for c in CASES)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
