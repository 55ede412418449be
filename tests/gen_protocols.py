#!/usr/bin/python3
"""Weight files and pickles of pickle protocols 0 and 1 (the text opcodes).

Usage:  /usr/bin/python3 tests/gen_protocols.py OUTDIR   (after gen_fixtures.py)

Writes, with torch.save(..., pickle_protocol=P) for P = 0 and 1:
  OUTDIR/protoP_zip.pt, protoP_legacy.pt   a state dict of every dtype
        rcc reads, views of one storage, a tensor named twice
  OUTDIR/ckpt_protoP_zip.pt, ckpt_protoP_legacy.pt   a checkpoint: the
        state dict at 'model' beside non-tensor values that take every
        text opcode (ints past 2^63, negative ints, inf/nan/-0.0 floats,
        strings with quotes, backslashes, newlines, NUL, non-ASCII, bytes)
each with gen_fixtures.py's NAME.expect.json / .values.bin / .f32.bin
(tests/parity/NAME.parity).  Protocol 0's files cannot be read by
torch.load (its persistent ids are text; checked here, so the claim stays
true): their expectations come from the objects saved, protocol 1's from
what torch.load reads back.  Also:
  OUTDIR/protocols/NAME.pkl + NAME.expect   plain pickles (protocols 0 and
        1 as Python writes them, and hand-made Python 2 STRING pickles)
        and Python's own value of each, as tests/pickle_values prints it
  OUTDIR/protocols/ckpt_protoP_*.expect    the checkpoints' values (the
        saved objects, tensors as T)
  OUTDIR/protocols/manifest.txt            "pickle NAME" / "torch NAME" /
        "warn NAME" (protocol 0: rcc warns about the text ids) lines;
        written last, the make target.
tests/protocols.sh compares them.
"""
import codecs
import collections
import io
import os
import pickle
import struct
import sys
import warnings

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gen_fixtures as gf  # noqa: E402

MANIFEST = []


def canon(v):
    """A value as tests/pickle_values.c prints rcc's."""
    if v is None:
        return "None"
    if v is True:
        return "True"
    if v is False:
        return "False"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return "f:%016x" % struct.unpack("<Q", struct.pack("<d", v))[0]
    if isinstance(v, str):
        return "s:" + v.encode("utf-8", "surrogatepass").hex()
    if isinstance(v, (bytes, bytearray)):
        return "b:" + bytes(v).hex()
    if isinstance(v, tuple):
        return "(" + ", ".join(canon(x) for x in v) + ")"
    if isinstance(v, list):
        return "[" + ", ".join(canon(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(canon(k) + ": " + canon(x) for k, x in v.items()) + "}"
    if isinstance(v, (set, frozenset)):
        return "set{" + ", ".join(canon(x) for x in v) + "}"
    if isinstance(v, torch.Tensor):
        return "T"
    raise SystemExit("gen_protocols: no canonical form for %s" % type(v).__name__)


def state_dict():
    torch.manual_seed(21)
    base = torch.randn(6, 8)
    tied = torch.randn(5)
    sd = collections.OrderedDict()
    sd["f32"] = torch.randn(3, 4)
    sd["f64"] = torch.randn(7, dtype=torch.float64)
    sd["f16"] = torch.randn(2, 3).to(torch.float16)
    sd["bf16"] = torch.randn(4).to(torch.bfloat16)
    sd["i64"] = torch.tensor([0, -1, 2 ** 62, -(2 ** 63), 2 ** 63 - 1], dtype=torch.int64)
    sd["i32"] = torch.tensor([-(2 ** 31), 7, 2 ** 31 - 1], dtype=torch.int32)
    sd["i8"] = torch.tensor([-128, -1, 0, 127], dtype=torch.int8)
    sd["u8"] = torch.tensor([0, 1, 200, 255], dtype=torch.uint8)
    sd["bool"] = torch.tensor([True, False, True])
    sd["base"] = base
    sd["row"] = base[2]                    # views of one storage
    sd["cols"] = base[1:4, 2:6]
    sd["transposed"] = base.t()
    sd["tied_a"] = tied                    # one tensor under two names
    sd["tied_b"] = tied
    sd["scalar"] = torch.tensor(3.5)
    sd["empty"] = torch.zeros(0, 3)
    return sd


def checkpoint():
    return {
        "model": state_dict(),
        "epoch": 7, "step": 2 ** 40, "big": 2 ** 64 + 5, "huge": 3 ** 300, "neg": -12,
        "neg_big": -(2 ** 100), "min64": -(2 ** 63), "past64": 2 ** 63,
        "floats": [1.5, -0.0, float("inf"), float("-inf"), float("nan"), 1e-310, 1.7976931348623157e308, 0.1],
        "name": "it's \"quoted\" \\ back\\slash\nnew line\ttab caf\u00e9 \u4e2d\u6587 \U0001F600 \x00 \x1a \x7f",
        "raw": b"\x00\x01\xff\\'\"\n",
        "empty_bytes": b"", "empty_str": "",
        "nested": {"lr": 0.001, "betas": (0.9, 0.999), "flags": [True, False, None],
                   "deep": {"a": [1, [2, [3, (4,)]]], 1: "int key", (1, 2): "tuple key"}},
        "tags": ["x", "y" * 3],
    }


def saved(name, obj, key, protocol, zipped):
    path = os.path.join(gf.OUT, name + ".pt")
    torch.save(obj, path, pickle_protocol=protocol, _use_new_zipfile_serialization=zipped)
    if protocol == 0:
        try:
            torch.load(path)
        except AssertionError:
            pass
        else:
            raise SystemExit("%s: torch.load reads protocol 0's text persistent ids now; "
                             "gen_protocols.py's premise is out of date" % name)
        want = obj
        MANIFEST.append("warn " + name)
    else:
        want = torch.load(path)
        for (n, a), (_, b) in zip(gf.named_tensors(gf.resolve(obj, key)), gf.named_tensors(gf.resolve(want, key))):
            if not gf.bits_equal(a, b) or a.stride() != b.stride():
                raise SystemExit("%s: tensor %s does not round-trip through torch.save" % (name, n))
    gf.write_expect(name, key, gf.named_tensors(gf.resolve(want, key)), parameters=protocol != 0)
    return want


def torch_files():
    for p in (0, 1):
        for zipped in (True, False):
            kind = "zip" if zipped else "legacy"
            saved("proto%d_%s" % (p, kind), state_dict(), "", p, zipped)
            name = "ckpt_proto%d_%s" % (p, kind)
            got = saved(name, checkpoint(), "model", p, zipped)
            with open(os.path.join(gf.OUT, "protocols", name + ".expect"), "w") as fp:
                fp.write(canon(got) + "\n")
            MANIFEST.append("torch " + name)
            # the pickle really is protocol p: no PROTO opcode, text LONG magic
            with open(os.path.join(gf.OUT, name + ".pt"), "rb") as fp:
                head = fp.read(2)
            assert head == (b"PK" if zipped else b"L1"), head


def put_pickle(name, data, value):
    with open(os.path.join(gf.OUT, "protocols", name + ".pkl"), "wb") as fp:
        fp.write(data)
    with open(os.path.join(gf.OUT, "protocols", name + ".expect"), "w") as fp:
        fp.write(canon(value) + "\n")
    MANIFEST.append("pickle " + name)


def py2_str(b):
    """A Python 2 str as torch.load reads it (encoding utf-8): str when
    it decodes, else bytes (rcc's rule for BINSTRING, too)."""
    try:
        return b.decode("utf-8")
    except UnicodeDecodeError:
        return b


def plain_pickles():
    values = [0, 1, -1, 255, 256, 65535, 65536, 2 ** 31 - 1, -(2 ** 31), 2 ** 31, -(2 ** 31) - 1,
              2 ** 63 - 1, -(2 ** 63), 2 ** 63, -(2 ** 63) - 1, 2 ** 64, -(2 ** 64), 128, -128, -129,
              2 ** 1000, -(10 ** 1000), int("9" * 4300), True, False, None,
              0.0, -0.0, 1.5, -2.25, 0.1, 1e300, -1e-300, 5e-324, 1e22, 123456789.125,
              float("inf"), float("-inf"), float("nan"),
              "", "plain", "it's", 'say "hi"', "back\\slash", "\\u0041 is not an escape", "\\\\u0041",
              "nl\nnl", "cr\r", "nul\x00", "sub\x1a", "del\x7f", "latin \x80\xa0\xe9\xff",
              "bmp \u0100\u4e2d\uffff", "astral \U0001F600\U0010FFFF", "lone \ud800 surrogate",
              b"", b"bytes\x00\xff", bytearray(b"ba"),
              (), (1,), (1, 2), (1, 2, 3), (1, 2, 3, 4), [], [1], {}, {"k": "v", 1: 2, (1, "t"): None},
              {"nested": [{"deep": ("x", [b"y"])}]}]
    shared = ["shared"]
    values += [shared, shared, {"again": shared}]      # memo PUT/GET
    for p in (0, 1):
        data = pickle.dumps(values, protocol=p)
        put_pickle("values_p%d" % p, data, pickle.loads(data))
    # Persistent ids: PERSID at protocol 0, BINPERSID at 1.
    class P(pickle.Pickler):
        def persistent_id(self, obj):
            return "pid:" + obj.name if isinstance(obj, Ref) else None

    class Ref:
        def __init__(self, name):
            self.name = name

    class U(pickle.Unpickler):
        def persistent_load(self, pid):
            return ("persid", pid)
    for p in (0, 1):
        buf = io.BytesIO()
        P(buf, protocol=p).dump([Ref("a"), {"b": Ref("storage 0")}])
        put_pickle("persid_p%d" % p, buf.getvalue(), U(io.BytesIO(buf.getvalue())).load())

    # Python 2's STRING: quoted repr text that Python 3 never writes.
    lines = [b"'plain'", b'"double"', b"'it\\'s'", b'"say \\"hi\\""', b"'esc \\\\ \\a\\b\\f\\n\\r\\t\\v'",
             b"'oct \\0\\12\\101\\1011\\777'", b"'hex \\x00\\x41\\xfF'",
             b"'unknown \\q \\z \\8'", b"'utf8 \\xc3\\xa9'", b"'not utf8 \\xff\\xfe'", b"''", b"'in'ner'",
             b"'raw \xc3\xa9 byte'", b'"\'"']
    data = b"(lp0\n" + b"".join(b"S" + s + b"\na" for s in lines) + b"."
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")    # \777: "invalid octal escape", kept as its low byte
        value = [py2_str(b) for b in pickle.loads(data, encoding="bytes")]
        for s, v in zip(lines, value):     # Python's decoding is codecs.escape_decode's
            assert py2_str(codecs.escape_decode(s[1:-1])[0]) == v, s
    put_pickle("string_py2", data, value)
    # Text forms Python reads alike that Python 3 does not write.
    data = (b"(lI+5\naI-1\naI-10\naL7\naL-7L\naI123456789012345678901234567890\naF1e5\naF-INF\naFNaN\naF.5\naF5.\n"
            b"aF1E-3\naF+2.5e+2\naVa\\u00e9\\U0001F600\\x\\\naV\\\\\\u0041\na.")
    put_pickle("text_forms", data, pickle.loads(data))


def main(argv):
    gf.OUT = argv[1]
    os.makedirs(os.path.join(gf.OUT, "protocols"), exist_ok=True)
    stamp = os.path.join(gf.OUT, "protocols", "manifest.txt")
    if os.path.exists(stamp):
        os.remove(stamp)
    torch.set_num_threads(1)
    torch_files()
    plain_pickles()
    with open(stamp + ".tmp", "w") as fp:
        fp.write("".join(line + "\n" for line in MANIFEST))
    os.replace(stamp + ".tmp", stamp)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
