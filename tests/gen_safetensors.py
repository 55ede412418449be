#!/usr/bin/python3
"""Safetensors fixtures for rcc's test suite, written from real torch tensors.

Usage:  /usr/bin/python3 tests/gen_safetensors.py OUTDIR

The `safetensors` package is not needed: the format is simple enough to
write here with struct and json, exactly as the reference writer
(huggingface safetensors, Rust `serialize`) lays it out:

    8 bytes   N, the header length, unsigned little-endian
    N bytes   the JSON header, padded with spaces to a multiple of 8:
              {"__metadata__": {str: str}, NAME: {"dtype": "F32",
               "shape": [...], "data_offsets": [begin, end]}, ...}
    the data  each tensor's contiguous little-endian bytes, offsets
              relative to the start of the data, tiling it exactly

For every good fixture NAME this writes, in gen_fixtures.py's conventions,
  OUTDIR/NAME.safetensors
  OUTDIR/NAME.expect.json  {"key": "", "tensors": [{"name", "dtype", "shape",
                            "offset": 0, "strides", "storage"}, ...]} in
                           header order (one storage per tensor)
  OUTDIR/NAME.values.bin   each tensor's bytes in its own dtype, in order
  OUTDIR/NAME.f32.bin      each tensor's t.to(torch.float32) bytes, in order
where the tensors are read back from the written file (torch.frombuffer at
the header's offsets) and checked bit for bit against the ones saved.

The bad inputs OUTDIR/bad_st_*.safetensors each break exactly one rule of
the format (see bad_inputs()): everything else about them is valid, so a
reader that names the first problem it finds must name that one.
"""

import collections
import json
import os
import struct
import sys
import warnings

import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gen_fixtures as gf  # noqa: E402  (write_expect, raw_bytes)
from gen_fixtures import raw_bytes  # noqa: E402

OUT = None

# torch dtype -> safetensors name
DTYPES = {
    torch.float64: "F64", torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16",
    torch.int64: "I64", torch.int32: "I32", torch.int16: "I16", torch.int8: "I8",
    torch.uint8: "U8", torch.bool: "BOOL",
}
FROM_ST = {st: dt for dt, st in DTYPES.items()}

# ---------------------------------------------------------------- writing


def pad8(header):
    """The header bytes padded with spaces to a multiple of 8, as the
    reference writer does so that the data starts 8-aligned."""
    return header + b" " * ((8 - len(header) % 8) % 8)


def frame(header, data, pad=True, pad_to=None):
    """A safetensors file: N, the header (bytes or str), the data; the
    header padded with spaces to a multiple of 8, or to pad_to bytes."""
    if isinstance(header, str):
        header = header.encode("utf-8")
    if pad_to is not None:
        header = header + b" " * (pad_to - len(header))
    elif pad:
        header = pad8(header)
    return struct.pack("<Q", len(header)) + header + data


def header_json(obj, ensure_ascii=False):
    """Compact JSON, like serde_json's to_string."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=ensure_ascii)


def serialize(items, metadata=None, layout=None, ensure_ascii=False,
              pad_to=None):
    """The bytes of a safetensors file holding items [(name, tensor)], in
    that order in the header.  layout: the order of the data, as a list of
    names (default: header order); pad_to: the header length."""
    layout = layout or [n for n, _ in items]
    tensors = dict(items)
    offsets, data, at = {}, [], 0
    for n in layout:
        b = raw_bytes(tensors[n])
        offsets[n] = [at, at + len(b)]
        data.append(b)
        at += len(b)
    hdr = collections.OrderedDict()
    if metadata is not None:
        hdr["__metadata__"] = metadata
    for n, t in items:
        hdr[n] = {"dtype": DTYPES[t.dtype], "shape": list(t.shape),
                  "data_offsets": offsets[n]}
    return frame(header_json(hdr, ensure_ascii), b"".join(data),
                 pad_to=pad_to)


def read_back(data):
    """[(name, tensor)] in header order, decoded with torch from the bytes,
    and the metadata: an independent check of what serialize wrote."""
    n, = struct.unpack_from("<Q", data, 0)
    hdr = json.loads(data[8:8 + n].decode("utf-8"),
                     object_pairs_hook=collections.OrderedDict)
    base = 8 + n
    meta = hdr.pop("__metadata__", None)
    out = []
    for name, info in hdr.items():
        b, e = info["data_offsets"]
        dt = FROM_ST[info["dtype"]]
        raw = bytearray(data[base + b:base + e])
        if len(raw):
            t = torch.frombuffer(raw, dtype=dt).reshape(info["shape"])
        else:
            t = torch.empty(info["shape"], dtype=dt)
        out.append((name, t))
    return out, meta


def write_good(name, items, **kw):
    """NAME.safetensors and its expect/values/f32 files."""
    data = serialize(items, **kw)
    got, meta = read_back(data)
    if [n for n, _ in got] != [n for n, _ in items]:
        raise SystemExit("%s: names do not round-trip" % name)
    for (n, a), (_, b) in zip(items, got):
        if a.dtype != b.dtype or a.shape != b.shape or raw_bytes(a) != raw_bytes(b):
            raise SystemExit("%s: tensor %s does not round-trip" % (name, n))
    if meta != kw.get("metadata"):
        raise SystemExit("%s: metadata does not round-trip" % name)
    with open(os.path.join(OUT, name + ".safetensors"), "wb") as fp:
        fp.write(data)
    gf.write_expect(name, "", [(n, t.contiguous()) for n, t in got], separate=True)
    return name


# ---------------------------------------------------------------- good fixtures

def st_mlp():
    torch.manual_seed(11)
    m = nn.Sequential(nn.Linear(16, 32), nn.ReLU(), nn.Linear(32, 32),
                      nn.ReLU(), nn.Linear(32, 10))
    return write_good("st_mlp", list(m.state_dict().items()))


def st_dtypes():
    """All ten dtypes, special values, 0-d and empty tensors; the empty
    ones (zero-length byte ranges) at the start, middle and end of the
    data, where the tiling check must accept them."""
    torch.manual_seed(12)
    f64 = [0.1, 1.0 / 3.0, -2.718281828459045, 1.0 + 2.0**-24,
           1.0 + 3 * 2.0**-24, 1e-40, 1e-50, 3.4028235677973366e38,
           1e300, -0.0, float("inf"), float("-inf"), float("nan")]
    big = [0, 1, -1, 2**24 + 1, 2**53 + 1, 2**60 + 2**36 + 1,
           2**63 - 1, -(2**63)]
    d = [
        ("empty_first", torch.zeros(0, 4)),
        ("f32", torch.tensor([0.0, -0.0, 1.5, float("inf"), float("nan"),
                              1e-45, 3.4028235e38])),
        ("f64", torch.tensor(f64, dtype=torch.float64)),
        ("f16", torch.tensor([0.0, -0.0, 1.0, -2.5, 65504.0, 6e-08,
                              float("inf"), float("nan")],
                             dtype=torch.float16)),
        ("f16_rand", torch.randn(3, 5).to(torch.float16)),
        ("bf16", torch.tensor([0.0, -0.0, 1.0, 3.0e38, 1e-39, 1.0 / 3.0,
                               float("-inf"), float("nan")],
                              dtype=torch.bfloat16)),
        ("i64", torch.tensor(big, dtype=torch.int64)),
        ("i32", torch.tensor([0, -1, 2**24 + 1, 2**31 - 1, -(2**31)],
                             dtype=torch.int32)),
        ("empty_middle", torch.zeros(2, 0, 3, dtype=torch.int16)),
        ("i16", torch.tensor([0, 1, -1, 32767, -32768], dtype=torch.int16)),
        ("i8", torch.tensor([0, 1, -1, 127, -128], dtype=torch.int8)),
        ("u8", torch.tensor([0, 1, 127, 128, 255], dtype=torch.uint8)),
        ("bool", torch.tensor([[True, False, True], [False, False, True]])),
        ("scalar_f32", torch.tensor(1.5)),
        ("scalar_i64", torch.tensor(-(2**40) - 7)),
        ("scalar_bool", torch.tensor(True)),
        ("scalar_bf16", torch.tensor(-0.25, dtype=torch.bfloat16)),
        ("empty_last", torch.zeros(0, dtype=torch.float64)),
    ]
    return write_good("st_dtypes", d)


def st_transformer():
    """A small pre-norm decoder in bf16, its norms and biases in f16, and
    a causal mask buffer in bool: what half-precision LLM checkpoints hold."""
    torch.manual_seed(13)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        layer = nn.TransformerEncoderLayer(d_model=32, nhead=4,
                                           dim_feedforward=64,
                                           norm_first=True)
        enc = nn.TransformerEncoder(layer, num_layers=2, norm=nn.LayerNorm(32))
    items = [("tok_embeddings.weight",
              torch.randn(50, 32).to(torch.bfloat16))]
    for n, t in enc.state_dict().items():
        half = torch.float16 if ("norm" in n or n.endswith("bias")) else torch.bfloat16
        items.append(("encoder." + n, t.to(half)))
    items.append(("mask", torch.ones(8, 8, dtype=torch.bool).tril()))
    items.append(("lm_head.weight", torch.randn(50, 32).to(torch.bfloat16)))
    return write_good("st_transformer", items)


def st_meta():
    """Laid out as the reference writer does it: __metadata__ first, then
    the tensors sorted by dtype alignment (largest first), then by name."""
    torch.manual_seed(14)
    d = {
        "conv.weight": torch.randn(4, 3, 3, 3),
        "conv.bias": torch.randn(4),
        "bn.num_batches_tracked": torch.tensor(7),
        "bn.running_mean": torch.randn(4).to(torch.float16),
        "head.weight": torch.randn(2, 4).to(torch.float64),
        "ids": torch.arange(6, dtype=torch.int32),
    }
    order = ["BOOL", "U8", "I8", "I16", "F16", "BF16", "I32", "F32", "F64",
             "I64"]
    items = sorted(d.items(), key=lambda kv: (-order.index(DTYPES[kv[1].dtype]), kv[0]))
    return write_good("st_meta", items, metadata={"format": "pt"})


def st_names():
    """Names the header escapes (\\uXXXX, a surrogate pair, a quote), and
    data laid out in another order than the header lists the tensors: the
    reader must sort by offsets to check the tiling, yet keep header order."""
    torch.manual_seed(15)
    items = [
        ("d\u00e9codeur.poids", torch.randn(3, 2)),
        ("emoji\U0001F600.bias", torch.randn(5)),
        ('quote"d.weight', torch.randn(2, 2).to(torch.float16)),
        ("\u4e2d\u6587.scale", torch.tensor(2.0)),
    ]
    layout = [items[2][0], items[0][0], items[3][0], items[1][0]]
    return write_good("st_names", items, layout=layout, ensure_ascii=True,
                      metadata={"t\u00eftle": "caf\u00e9 \U0001F600",
                                "note": "two\nlines"})


def st_magic():
    """Header lengths whose first bytes are another format's signature:
    0x4B50 starts the file with "PK" (zip), 0x180 with 0x80 (pickle).  The
    reference reader takes any JSON white space after the object, so the
    padding is legal; format detection must still say safetensors."""
    torch.manual_seed(16)
    items = [("w", torch.randn(3, 4)), ("b", torch.randn(3))]
    return [write_good("st_magic_pk", items, pad_to=0x4B50),
            write_good("st_magic_80", items, pad_to=0x180)]


def st_empty():
    """No tensors at all: the header is {} and the data section empty."""
    return write_good("st_empty", [])


# ---------------------------------------------------------------- bad inputs

def tensor_entry(dtype="F32", shape=(4,), offsets=(0, 16)):
    return {"dtype": dtype, "shape": list(shape), "data_offsets": list(offsets)}


def two_f32(b_offsets, data_len):
    """Header for tensors a [0, 16) and b at b_offsets, 4 f32 each."""
    return header_json({"a": tensor_entry(),
                        "b": tensor_entry(offsets=b_offsets)}), bytes(data_len)


def bad_inputs():
    bad = collections.OrderedDict()
    ok_hdr = header_json({"a": tensor_entry()})
    ok_data = struct.pack("<4f", 1, 2, 3, 4)

    # The frame.
    hdr = pad8(ok_hdr.encode())
    bad["header_too_large"] = struct.pack("<Q", 100000008) + hdr + ok_data
    bad["header_past_eof"] = struct.pack("<Q", 4096) + hdr + ok_data

    # Bytes and syntax.
    bad["utf8"] = frame(b'{"a\xff":' + json.dumps(tensor_entry()).encode() + b"}", ok_data)
    bad["utf8_surrogate"] = frame(b'{"a\xed\xa0\x80":' + json.dumps(tensor_entry()).encode() + b"}",
                                  ok_data)
    bad["json_syntax"] = frame('{"a":{"dtype":"F32","shape":[4,],"data_offsets":[0,16]}}', ok_data)
    bad["json_trailing"] = frame(ok_hdr + "}", ok_data)
    bad["json_escape"] = frame('{"a\\ud800":' + json.dumps(tensor_entry()) + "}", ok_data)
    bad["json_control"] = frame('{"a\tb":' + json.dumps(tensor_entry()) + "}", ok_data)
    deep = '{"x":' * 100 + '""' + "}" * 100
    bad["json_deep"] = frame('{"__metadata__":{"k":"v"},"n":' + deep + "}", b"")
    bad["toplevel"] = frame("[1, 2, 3]", b"")

    # The schema.
    bad["not_object"] = frame('{"a":[4]}', ok_data)
    bad["missing_field"] = frame('{"a":{"dtype":"F32","data_offsets":[0,16]}}', ok_data)
    bad["extra_field"] = frame(header_json({"a": dict(tensor_entry(), extra=1)}), ok_data)
    bad["field_twice"] = frame('{"a":{"dtype":"F32","shape":[4],"dtype":"F32","data_offsets":[0,16]}}',
                               ok_data)
    bad["dtype_unknown"] = frame(header_json({"a": tensor_entry(dtype="Q4_K")}), ok_data)
    # A packed MX dtype whose elements end inside a byte (5 x 6 bits).
    bad["dtype_f6_part"] = frame(header_json({"a": tensor_entry(dtype="F6_E3M2", shape=(5,), offsets=(0, 4))}),
                                 ok_data[:4])
    bad["dtype_not_string"] = frame('{"a":{"dtype":4,"shape":[4],"data_offsets":[0,16]}}', ok_data)
    bad["shape_negative"] = frame(header_json({"a": tensor_entry(shape=(-1, 4))}), ok_data)
    bad["shape_float"] = frame('{"a":{"dtype":"F32","shape":[4.0],"data_offsets":[0,16]}}', ok_data)
    bad["shape_ndim"] = frame(header_json({"a": tensor_entry(shape=[1] * 65 + [4])}), ok_data)
    bad["shape_not_array"] = frame('{"a":{"dtype":"F32","shape":4,"data_offsets":[0,16]}}', ok_data)
    bad["offsets_count"] = frame(header_json({"a": tensor_entry(offsets=(0, 8, 16))}), ok_data)
    bad["offsets_reversed"] = frame(header_json({"a": tensor_entry(offsets=(16, 0))}), ok_data)
    bad["int_too_large"] = frame(header_json({"a": tensor_entry(offsets=(0, 2**63))}), ok_data)
    bad["name_nul"] = frame('{"a\\u0000b":' + json.dumps(tensor_entry()) + "}", ok_data)
    bad["metadata_not_object"] = frame(header_json({"__metadata__": ["pt"], "a": tensor_entry()}), ok_data)
    bad["metadata_not_string"] = frame(header_json({"__metadata__": {"epoch": 3}, "a": tensor_entry()}),
                                       ok_data)
    bad["duplicate"] = frame('{"a":' + json.dumps(tensor_entry()) + ',"a":'
                             + json.dumps(tensor_entry(offsets=(16, 32))) + "}", bytes(32))
    # the same with another key between the two: not neighbours in header order
    bad["duplicate_apart"] = frame('{"a":' + json.dumps(tensor_entry()) + ',"b":'
                                   + json.dumps(tensor_entry(offsets=(16, 32))) + ',"a":'
                                   + json.dumps(tensor_entry(offsets=(32, 48))) + "}", bytes(48))

    # Sizes.
    bad["size_mismatch"] = frame(header_json({"a": tensor_entry(shape=(2, 3), offsets=(0, 20))}),
                                 bytes(20))
    bad["shape_overflow"] = frame(header_json({"a": tensor_entry(shape=(2**32, 2**32, 2**32))}), ok_data)
    bad["bytes_overflow"] = frame(header_json({"a": tensor_entry(shape=(2**62,))}), ok_data)
    bad["strides_overflow"] = frame(header_json({"a": tensor_entry(shape=(0, 2**40, 2**40), offsets=(0, 0))}),
                                    b"")

    # The tiling of the data section.
    bad["overlap"] = frame(*two_f32((8, 24), 24))
    bad["gap"] = frame(*two_f32((20, 36), 36))
    bad["first_not_zero"] = frame(header_json({"a": tensor_entry(offsets=(4, 20))}), bytes(20))
    bad["past_end"] = frame(*two_f32((16, 32), 24))
    bad["incomplete"] = frame(ok_hdr, ok_data + bytes(4))

    names = []
    for k, data in bad.items():
        name = "bad_st_%s.safetensors" % k
        with open(os.path.join(OUT, name), "wb") as fp:
            fp.write(data)
        names.append(name)
    return names


# ---------------------------------------------------------------- main

GOOD = [st_mlp, st_dtypes, st_transformer, st_meta, st_names, st_magic,
        st_empty]


def main(argv):
    global OUT
    OUT = gf.OUT = gf.out_dir(argv, "gen_safetensors")
    torch.set_num_threads(1)
    good = []
    for fx in GOOD:
        made = fx()
        good += made if isinstance(made, list) else [made]
    bad = bad_inputs()
    sys.stderr.write("gen_safetensors: %d fixtures, %d bad inputs in %s\n"
                     % (len(good), len(bad), OUT))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
