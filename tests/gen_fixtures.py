#!/usr/bin/python3
"""Generate the weight-file fixtures of rcc's test suite from real PyTorch.

Usage:  /usr/bin/python3 tests/gen_fixtures.py OUTDIR

(Debian's python3-torch / python3-torchvision; run with /usr/bin/python3.)

For every good fixture NAME this writes
  OUTDIR/NAME.pt           the file under test, made by torch.save
  OUTDIR/NAME.expect.json  torch's own view of it, read back with torch.load:
                           {"key": dotted path of the state dict inside the
                            saved object ("" when the object is the state
                            dict itself),
                            "tensors": [{"name", "dtype", "shape", "offset",
                                         "strides", "storage",
                                         "parameter"}, ...]}
                           in state-dict order; "parameter": torch.load
                           gives an nn.Parameter there
  OUTDIR/NAME.values.bin   t.contiguous() bytes of every tensor, in order, in
                           its own dtype, little-endian (bool: one byte 0/1;
                           complex: (re, im) pairs)
  OUTDIR/NAME.f32.bin      t.to(torch.float32).contiguous() bytes, in order
                           (complex tensors have none: rcc_read_f32 refuses
                           them)

and the bad inputs OUTDIR/bad_*.pt (no .expect.json), plus
  OUTDIR/bad_os_system.marker  the absolute path that bad_os_system.pt's
                               pickle would `touch` if it were executed
  OUTDIR/manifest.txt          "good NAME" / "bad NAME" lines; written last,
                               so it can serve as the make stamp.

Everything is deterministic: each fixture seeds torch on its own, and
torch.save / zipfile write fixed timestamps.
"""

import collections
import io
import json
import os
import pickle
import struct
import sys
import time
import warnings
import zipfile

import torch
import torch.nn as nn

DTYPE_NAMES = {
    torch.float32: "f32", torch.float16: "f16", torch.bfloat16: "bf16",
    torch.float64: "f64", torch.int64: "i64", torch.int32: "i32",
    torch.int16: "i16", torch.int8: "i8", torch.uint8: "u8", torch.bool: "bool",
    torch.complex64: "c64", torch.complex128: "c128",
}

# numpy cannot hold bfloat16: reinterpret 2-byte floats as int16 first.
_BITS_VIEW = {torch.bfloat16: torch.int16, torch.float16: torch.int16}

OUT = None
GOOD = []
BAD = []


# ---------------------------------------------------------------- helpers

def raw_bytes(t):
    """t.contiguous() as raw little-endian bytes in t's own dtype."""
    t = t.detach().contiguous()
    if t.dtype in _BITS_VIEW:
        t = t.view(_BITS_VIEW[t.dtype])
    return t.numpy().tobytes()


def resolve(obj, key):
    """The object at dotted path `key` inside obj ("" is obj itself)."""
    if key == "":
        return obj
    for part in key.split("."):
        if isinstance(obj, (list, tuple)):
            obj = obj[int(part)]
        elif part not in obj and part.isdigit() and int(part) in obj:
            obj = obj[int(part)]     # optimizer state is keyed by int
        else:
            obj = obj[part]
    return obj


def named_tensors(sd):
    """(name, tensor) in state-dict order; a list/tuple is named 0, 1, ..."""
    if isinstance(sd, (list, tuple)):
        items = [(str(i), v) for i, v in enumerate(sd)]
    else:
        items = [(str(k), v) for k, v in sd.items()]
    for name, v in items:
        if not isinstance(v, torch.Tensor):
            raise SystemExit("fixture bug: %r is a %s, not a tensor"
                             % (name, type(v).__name__))
    return items


def bits_equal(a, b):
    """Bit-for-bit equality of two tensors' contiguous bytes (NaN-safe)."""
    return a.dtype == b.dtype and a.shape == b.shape and raw_bytes(a) == raw_bytes(b)


def save_and_describe(name, obj, key, **save_kw):
    """torch.save obj to NAME.pt and write the expect/values/f32 files from
    what torch.load reads back (checked against obj, bit for bit)."""
    path = os.path.join(OUT, name + ".pt")
    torch.save(obj, path, **save_kw)
    describe(name, path, obj, key)


def describe(name, path, obj, key):
    loaded = torch.load(path, map_location="cpu")
    want = named_tensors(resolve(obj, key))
    got = named_tensors(resolve(loaded, key))
    if [n for n, _ in want] != [n for n, _ in got]:
        raise SystemExit("%s: torch.load gives names %s, saved %s"
                         % (name, [n for n, _ in got], [n for n, _ in want]))
    for (n, a), (_, b) in zip(want, got):
        if not bits_equal(a, b) or a.stride() != b.stride():
            raise SystemExit("%s: tensor %s does not round-trip through torch.save"
                             % (name, n))
    write_expect(name, key, got)
    return loaded


def write_expect(name, key, got, separate=False, parameters=True):
    """NAME.expect.json, .values.bin, .f32.bin for the (name, tensor) pairs
    of the state dict torch reads from the file, in order.  separate: each
    tensor has a storage of its own (safetensors), whatever torch's
    in-memory tensors share.  parameters: record whether each tensor is an
    nn.Parameter (False when the tensors given are not the objects
    torch.load built, e.g. a TorchScript module's state_dict())."""
    tensors, values, f32, storages = [], [], [], {}
    for n, t in got:
        # Views as torch sees them: offset and strides in elements, and
        # which tensors share one storage (numbered in order of first use).
        # (Empty storages all have data pointer 0 but are distinct.)
        ptr = ("own", n) if separate else t.storage().data_ptr() or ("empty", n)
        sid = storages.setdefault(ptr, len(storages))
        tensors.append({"name": n, "dtype": DTYPE_NAMES[t.dtype],
                        "shape": list(t.shape), "offset": t.storage_offset(),
                        "strides": list(t.stride()), "storage": sid})
        if parameters:
            tensors[-1]["parameter"] = isinstance(t, nn.Parameter)
        values.append(raw_bytes(t))
        if not t.is_complex():      # rcc_read_f32 refuses complex (tests/readall.c)
            f32.append(raw_bytes(t.detach().to(torch.float32)))
    write_expect_files(name, key, tensors, values, f32)
    GOOD.append(name)


def write_expect_files(name, key, tensors, values, f32):
    """NAME.expect.json (the key and one JSON object a tensor), NAME.values.bin
    and NAME.f32.bin (the byte strings of values and f32, joined) in OUT."""
    with open(os.path.join(OUT, name + ".expect.json"), "w") as fp:
        fp.write('{"key": %s, "tensors": [\n' % json.dumps(key))
        fp.write(",\n".join(" " + json.dumps(t) for t in tensors))
        fp.write("\n]}\n")
    with open(os.path.join(OUT, name + ".values.bin"), "wb") as fp:
        fp.write(b"".join(values))
    with open(os.path.join(OUT, name + ".f32.bin"), "wb") as fp:
        fp.write(b"".join(f32))


def write_bad(name, data):
    with open(os.path.join(OUT, name), "wb") as fp:
        fp.write(data)
    BAD.append(name)


# ---------------------------------------------------------------- models

def make_mlp():
    torch.manual_seed(1)
    return nn.Sequential(nn.Linear(16, 32), nn.ReLU(), nn.Linear(32, 32),
                         nn.ReLU(), nn.Linear(32, 10))


def make_cnn_bn():
    torch.manual_seed(2)
    m = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8),
                      nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                      nn.Linear(8, 10))
    m.train()
    with torch.no_grad():          # non-trivial running stats, tracked = 1
        m(torch.randn(2, 3, 6, 6))
    m.eval()
    return m


def make_transformer():
    torch.manual_seed(3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        layer = nn.TransformerEncoderLayer(d_model=32, nhead=4,
                                           dim_feedforward=64)
        return nn.TransformerEncoder(layer, num_layers=2,
                                     norm=nn.LayerNorm(32))


def make_lstm():
    torch.manual_seed(4)
    return nn.LSTM(input_size=8, hidden_size=16, num_layers=2,
                   bidirectional=True)


def make_resnet18():
    import torchvision
    torch.manual_seed(5)
    return torchvision.models.resnet18(weights=None)


# ---------------------------------------------------------------- good fixtures

def fx_mlp():
    save_and_describe("mlp", make_mlp().state_dict(), "")


def fx_cnn_bn():
    save_and_describe("cnn_bn", make_cnn_bn().state_dict(), "")


def fx_transformer():
    save_and_describe("transformer", make_transformer().state_dict(), "")


def fx_lstm():
    save_and_describe("lstm", make_lstm().state_dict(), "")


def fx_resnet18():
    save_and_describe("resnet18", make_resnet18().state_dict(), "")


def fx_dtypes():
    torch.manual_seed(6)
    big = [
        0, 1, -1,
        2**24 + 1,              # -> 16777216 in f32 (tie, to even)
        2**24 + 3,              # -> 16777220 (tie, to even: up)
        2**53 + 1,
        2**60 + 2**36 + 1,      # rounds up directly; via double it ties down
        -(2**60 + 2**36 + 1),
        2**62 + 12345,
        2**63 - 1,              # -> 2^63
        -(2**63),
    ]
    f64 = [
        0.1, 1.0 / 3.0, 3.141592653589793, -2.718281828459045,
        1.0 + 2.0**-24,                 # exact f32 tie: rounds to 1.0
        1.0 + 2.0**-24 + 2.0**-40,      # just above the tie: rounds up
        1.0 + 3 * 2.0**-24,             # tie: rounds to even (up)
        123456789.123456789, 1e-40,     # f32 subnormal
        1e-50,                          # underflows to 0 in f32
        3.4028235e38,                   # above FLT_MAX: rounds to FLT_MAX
        3.4028235677973366e38,          # FLT_MAX/2^128 tie: to even = inf
        1e300, -1e300,                  # overflow: +-inf in f32
        -0.0, float("inf"), float("-inf"), float("nan"),
    ]
    f16 = [0.0, -0.0, 1.0, -2.5, 65504.0, 6e-08, 6.1e-05, 0.1,
           float("inf"), float("-inf"), float("nan")]
    bf16 = [0.0, -0.0, 1.0, -2.5, 3.0e38, 1e-39, 0.1, 1.0 / 3.0,
            float("inf"), float("-inf"), float("nan")]
    d = collections.OrderedDict()
    d["f16"] = torch.tensor(f16, dtype=torch.float16)
    d["f16_rand"] = torch.randn(3, 5).to(torch.float16)
    d["bf16"] = torch.tensor(bf16, dtype=torch.bfloat16)
    d["bf16_rand"] = torch.randn(2, 7).to(torch.bfloat16)
    d["f64"] = torch.tensor(f64, dtype=torch.float64)
    d["i64"] = torch.tensor(big, dtype=torch.int64)
    d["i32"] = torch.tensor([0, 1, -1, 2**24 + 1, 2**24 + 3, 2**31 - 1,
                             -(2**31), 123456789], dtype=torch.int32)
    d["i16"] = torch.tensor([0, 1, -1, 32767, -32768, 12345],
                            dtype=torch.int16)
    d["i8"] = torch.tensor([0, 1, -1, 127, -128, 42], dtype=torch.int8)
    d["u8"] = torch.tensor([0, 1, 127, 128, 200, 255], dtype=torch.uint8)
    d["bool"] = torch.tensor([[True, False, True], [False, False, True]])
    d["scalar_f32"] = torch.tensor(1.5)
    d["scalar_i64"] = torch.tensor(-(2**40) - 7)
    d["scalar_bool"] = torch.tensor(True)
    d["empty_f32"] = torch.empty(0, 3)
    d["empty_i64"] = torch.zeros(0, dtype=torch.int64)
    d["i64_t"] = torch.arange(12, dtype=torch.int64).mul(2**33 + 1) \
        .reshape(3, 4).t()                       # non-contiguous int64
    d["f16_t"] = torch.randn(4, 3).to(torch.float16).t()
    save_and_describe("dtypes", d, "")


def fx_views():
    base = torch.arange(24.).reshape(4, 6)
    torch.manual_seed(7)
    d = collections.OrderedDict()
    d["view"] = base[1:, 2:5]                    # offset 8, strides (6,1)
    d["t"] = base.t()                            # strides (1,6)
    d["base"] = base
    d["expand"] = torch.arange(4.).expand(3, 4)  # stride 0
    d["chlast"] = torch.randn(2, 3, 4, 5).contiguous(
        memory_format=torch.channels_last)
    d["step"] = base[:, ::2]                     # strides (6,2)
    d["prefix"] = base[:2]                       # offset 0, contiguous, half the storage
    save_and_describe("views", d, "")


def fx_bool_bytes():
    """A bool tensor whose bytes are not all 0 or 1 (torch never writes
    such a file; a hostile or corrupt one may): torch.save's archive with
    the storage record's bytes replaced.  The expected values are the
    bytes' truth as torch computes it (byte != 0), in 0/1 bools."""
    raw = bytes([0, 1, 2, 255, 0x80, 0, 1, 0x10])
    src = os.path.join(OUT, "bool_bytes.tmp.pt")
    torch.save({"mask": torch.zeros(2, 4, dtype=torch.bool)}, src)
    dst = os.path.join(OUT, "bool_bytes.pt")
    with zipfile.ZipFile(src) as zi, zipfile.ZipFile(dst, "w", zipfile.ZIP_STORED) as zo:
        records = [i for i in zi.infolist() if "/data/" in i.filename]
        assert len(records) == 1 and records[0].file_size == len(raw)
        for info in zi.infolist():
            data = raw if info is records[0] else zi.read(info.filename)
            zo.writestr(zipfile.ZipInfo(info.filename, date_time=info.date_time), data)
    os.remove(src)
    loaded = torch.load(dst)
    mask = loaded["mask"]
    assert mask.view(torch.uint8).flatten().tolist() == list(raw)   # torch keeps the bytes
    write_expect("bool_bytes", "", [("mask", mask.view(torch.uint8) != 0)])


class TiedLM(nn.Module):
    def __init__(self, vocab=50, dim=16):
        super().__init__()
        self.emb = nn.Embedding(vocab, dim)
        self.proj = nn.Linear(dim, dim)
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, vocab, bias=False)
        self.head.weight = self.emb.weight       # tied


def fx_tied():
    torch.manual_seed(8)
    sd = TiedLM().state_dict()
    assert sd["emb.weight"].data_ptr() == sd["head.weight"].data_ptr()
    save_and_describe("tied", sd, "")
    back = torch.load(os.path.join(OUT, "tied.pt"))
    if back["emb.weight"].data_ptr() != back["head.weight"].data_ptr():
        raise SystemExit("tied: the tied weights do not share a storage")


def fx_checkpoint():
    m = make_mlp()
    opt = torch.optim.Adam(m.parameters(), lr=0.001)
    torch.manual_seed(9)
    loss = m(torch.randn(4, 16)).pow(2).mean()
    loss.backward()
    opt.step()
    ckpt = {
        "epoch": 7,
        "model": m.state_dict(),
        "optimizer": opt.state_dict(),
        "args": {"lr": 0.001, "layers": [64, 32], "name": "run-1"},
        "best_acc": 0.93,
    }
    save_and_describe("checkpoint", ckpt, "model")
    # The same file read with --key: the first parameter's Adam moments.
    describe("checkpoint_optim", os.path.join(OUT, "checkpoint.pt"), ckpt,
             "optimizer.state.0")


def fx_ckpt_linear_adam():
    """A checkpoint whose model (one Linear: 2 tensors) has fewer tensors
    than each parameter's Adam state (step, exp_avg, exp_avg_sq): only
    skipping the optimizer finds the model."""
    torch.manual_seed(14)
    m = nn.Linear(4, 2)
    opt = torch.optim.Adam(m.parameters(), lr=0.01)
    m(torch.randn(3, 4)).sum().backward()
    opt.step()
    assert all(len(s) == 3 for s in opt.state_dict()["state"].values())
    save_and_describe("ckpt_linear_adam", {"optimizer": opt.state_dict(), "model": m.state_dict()}, "model")


def fx_ckpt_nested():
    torch.manual_seed(10)
    ema = make_cnn_bn().state_dict()
    obj = {"state": {"ema": ema, "step": 3},
           "meta": {"note": "nested", "head": torch.zeros(2)}}
    save_and_describe("ckpt_nested", obj, "state.ema")


def fx_module_prefix():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dp = nn.DataParallel(make_cnn_bn())
    sd = dp.state_dict()
    assert all(k.startswith("module.") for k in sd)
    save_and_describe("module_prefix", sd, "")


def fx_deflated():
    src = os.path.join(OUT, "mlp.pt")
    dst = os.path.join(OUT, "deflated.pt")
    with zipfile.ZipFile(src) as zi, \
            zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zo:
        for info in zi.infolist():
            out = zipfile.ZipInfo(info.filename, date_time=info.date_time)
            out.compress_type = zipfile.ZIP_DEFLATED
            zo.writestr(out, zi.read(info.filename), compresslevel=9)
    with zipfile.ZipFile(dst) as z:
        infos = z.infolist()
        assert all(i.compress_type == zipfile.ZIP_DEFLATED for i in infos)
        # the pickle really shrinks (random floats barely do)
        assert any(i.filename.endswith("/data.pkl")
                   and i.compress_size < i.file_size for i in infos)
    describe("deflated", dst, make_mlp().state_dict(), "")


def fx_protocol4():
    torch.manual_seed(11)
    m = nn.Sequential(nn.Linear(8, 12), nn.Tanh(), nn.Linear(12, 4),
                      nn.LayerNorm(4))
    save_and_describe("protocol4", m.state_dict(), "", pickle_protocol=4)
    with zipfile.ZipFile(os.path.join(OUT, "protocol4.pt")) as z:
        pkl = [n for n in z.namelist() if n.endswith("/data.pkl")][0]
        assert z.read(pkl)[:2] == b"\x80\x04"


def python_values_checkpoint():
    """A checkpoint whose non-tensor entries use every kind of Python value
    torch.save pickles in practice: numpy scalars (numpy.dtype + BUILD),
    sets, bytes, bytearray, torch.device, argparse.Namespace (an object
    rcc keeps inert), big and negative ints (BININT, LONG1 of 6 and more
    than 8 bytes), tuples, None."""
    import argparse
    import numpy as np
    torch.manual_seed(13)
    return {
        "model": make_mlp().state_dict(),
        "np_f64": np.float64(0.25), "np_i64": np.int64(-3), "np_f32": np.float32(1.5),
        "np_bool": np.bool_(True),
        "tags": {"a"}, "frozen": frozenset({7}), "blob": b"\x00\xffxy",
        "buf": bytearray(b"xy"), "device": torch.device("cpu"),
        "args": argparse.Namespace(lr=0.1, name="run"),
        "big": 2 ** 70, "neg_big": -(2 ** 100), "neg": -5, "neg_long": -(2 ** 40),   # LONG1, 6 bytes
        "pair": (1, 2.5), "none": None,
    }


def fx_ckpt_python():
    save_and_describe("ckpt_python", python_values_checkpoint(), "model")


def fx_ckpt_protocol5():
    save_and_describe("ckpt_protocol5", python_values_checkpoint(), "model",
                      pickle_protocol=5)
    with zipfile.ZipFile(os.path.join(OUT, "ckpt_protocol5.pt")) as z:
        pkl = [n for n in z.namelist() if n.endswith("/data.pkl")][0]
        assert z.read(pkl)[:2] == b"\x80\x05"


def fx_parameter():
    torch.manual_seed(12)
    p = nn.Parameter(torch.randn(3, 4))
    q = nn.Parameter(torch.randn(2), requires_grad=False)
    obj = [p, q, torch.randn(5)]
    save_and_describe("parameter", obj, "")


# ---------------------------------------------------------------- bad inputs

def marker_path():
    # bad_os_system.pt's pickle would run `touch MARKER`.  MARKER is the
    # absolute path in $RCC_PWNED_MARKER when set, else /tmp/rcc_pwned_marker;
    # the path used is also written to OUTDIR/bad_os_system.marker so that
    # tests/bad-input.sh checks the right file.
    m = os.environ.get("RCC_PWNED_MARKER") or "/tmp/rcc_pwned_marker"
    if not os.path.isabs(m):
        raise SystemExit("RCC_PWNED_MARKER must be an absolute path: %r" % m)
    return m


def _u(s):                      # BINUNICODE
    b = s.encode("utf-8")
    return b"X" + struct.pack("<I", len(b)) + b


def _global(mod, name):         # GLOBAL
    return b"c" + mod.encode() + b"\n" + name.encode() + b"\n"


def _int(n):                    # BININT1 / BININT
    return b"K" + bytes([n]) if 0 <= n < 256 else b"J" + struct.pack("<i", n)


def tensor_pickle(key, numel, shape, stride, offset=0, storage="FloatStorage"):
    """Protocol-2 opcodes of torch._utils._rebuild_tensor_v2 over a
    persistent storage, exactly as torch.save writes them."""
    def tup(xs):
        return b"(" + b"".join(_int(x) for x in xs) + b"t"
    return (_global("torch._utils", "_rebuild_tensor_v2") + b"("
            + b"(" + _u("storage") + _global("torch", storage) + _u(key)
            + _u("cpu") + _int(numel) + b"tQ"
            + _int(offset) + tup(shape) + tup(stride) + b"\x89"
            + _global("collections", "OrderedDict") + b")R"
            + b"tR")


def torch_style_zip(name, pkl, records, version=b"3\n"):
    """A torch.save-style archive written by Python's zipfile, stored
    records under folder archive/."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
        def put(n, data):
            z.writestr(zipfile.ZipInfo("archive/" + n,
                                       date_time=(1980, 1, 1, 0, 0, 0)), data)
        put("data.pkl", pkl)
        for k, data in records:
            put("data/" + k, data)
        put("version", version)
    write_bad(name, buf.getvalue())


def legacy_file(floats):
    """A legacy (< 1.6) torch.save file of {'w': float tensor}, written
    field by field with storage key '0' (torch's own keys are addresses,
    which would make the messages differ from run to run)."""
    class Rebuild:                  # pickles as _rebuild_tensor_v2(storage, ...)
        def __reduce__(self):
            return (torch._utils._rebuild_tensor_v2,
                    (STORAGE, 0, (len(floats),), (1,), False, collections.OrderedDict()))

    class Pickler(pickle.Pickler):
        def persistent_id(self, obj):
            return ("storage", torch.FloatStorage, "0", "cpu", len(floats), None) if obj is STORAGE else None
    STORAGE = object()
    buf = io.BytesIO()
    for v in (0x1950a86a20f9469cfc6c, 1001,
              {"protocol_version": 1001, "little_endian": True,
               "type_sizes": {"short": 2, "int": 4, "long": 4}}):
        pickle.dump(v, buf, protocol=2)
    Pickler(buf, protocol=2).dump({"w": Rebuild()})
    pickle.dump(["0"], buf, protocol=2)
    buf.write(struct.pack("<q", len(floats)) + struct.pack("<%df" % len(floats), *floats))
    return buf.getvalue()


def bad_inputs():
    write_bad("bad_empty.pt", b"")
    write_bad("bad_text.pt",
              b"This is not a PyTorch weight file.\n"
              b"It is plain text that happens to be named .pt\n")
    write_bad("bad_plain_pickle.pt", pickle.dumps({"a": 1}))

    mlp = open(os.path.join(OUT, "mlp.pt"), "rb").read()
    write_bad("bad_truncated.pt", mlp[:len(mlp) // 2])

    # Overwrite every byte of the central directory (located through the
    # classic end-of-central-directory record; torch's files are small).
    eocd = mlp.rfind(b"PK\x05\x06")
    assert eocd > 0
    cd_size, cd_off = struct.unpack_from("<II", mlp, eocd + 12)
    assert cd_off + cd_size <= eocd and cd_size > 0
    bad = bytearray(mlp)
    bad[cd_off:cd_off + cd_size] = (b"\xde\xad\xbe\xef" * cd_size)[:cd_size]
    write_bad("bad_cd_corrupt.pt", bytes(bad))

    # Hostile: {'weight': <valid 4-float tensor>,
    #           'evil':  posix.system('touch MARKER'),
    #           'evil2': os.system('touch MARKER')}
    # A pickle VM that executes globals would create MARKER (torch.load
    # with weights_only=False does); rcc must refuse and execute nothing.
    marker = marker_path()
    cmd = "touch " + marker
    pkl = (b"\x80\x02" + b"}q\x00("
           + _u("weight") + tensor_pickle("0", 4, [4], [1])
           + _u("evil") + _global("posix", "system") + _u(cmd) + b"\x85R"
           + _u("evil2") + _global("os", "system") + _u(cmd) + b"\x85R"
           + b"u.")
    torch_style_zip("bad_os_system.pt", pkl,
                    [("0", struct.pack("<4f", 1.0, 2.0, 3.0, 4.0))])
    with open(os.path.join(OUT, "bad_os_system.marker"), "w") as fp:
        fp.write(marker + "\n")

    # Extras (not in the brief's list, same contract: exit 2).
    # A tensor whose view needs more elements than its storage holds:
    # shape (4, 4) over a 4-element storage of 16 bytes.
    pkl = (b"\x80\x02}(" + _u("w") + tensor_pickle("0", 4, [4, 4], [4, 1])
           + b"u.")
    torch_style_zip("bad_storage_short.pt", pkl,
                    [("0", struct.pack("<4f", 1, 2, 3, 4))])
    # A storage that claims more elements than its record has bytes.
    pkl = (b"\x80\x02}(" + _u("w")
           + tensor_pickle("0", 1 << 20, [1 << 20], [1]) + b"u.")
    torch_style_zip("bad_record_short.pt", pkl,
                    [("0", struct.pack("<4f", 1, 2, 3, 4))])
    # A shape whose element count overflows 64 bits (2^31 * 2^31 * 2^31).
    big = 2**31 - 1
    pkl = (b"\x80\x02}(" + _u("w")
           + tensor_pickle("0", 4, [big, big, big], [0, 0, 0]) + b"u.")
    torch_style_zip("bad_shape_overflow.pt", pkl,
                    [("0", struct.pack("<4f", 1, 2, 3, 4))])
    # An archive format version torch does not know (1.13 reads up to 10).
    pkl = b"\x80\x02}(" + _u("w") + tensor_pickle("0", 4, [4], [1]) + b"u."
    torch_style_zip("bad_version_11.pt", pkl, [("0", struct.pack("<4f", 1, 2, 3, 4))], version=b"11\n")
    # One storage key named with two element counts (4, then 2).
    pkl = (b"\x80\x02}(" + _u("a") + tensor_pickle("0", 4, [4], [1])
           + _u("b") + tensor_pickle("0", 2, [2], [1]) + b"u.")
    torch_style_zip("bad_storage_conflict.pt", pkl, [("0", struct.pack("<4f", 1, 2, 3, 4))])
    # A pickle that ends with two values on its stack.  Python's unpickler
    # returns the top one and drops the rest; rcc refuses a pickle that is
    # not one object rather than leave part of it unread.
    pkl = b"\x80\x02}(" + _u("w") + tensor_pickle("0", 4, [4], [1]) + b"u}."
    torch_style_zip("bad_stop_two_values.pt", pkl, [("0", struct.pack("<4f", 1, 2, 3, 4))])
    # A negative stride (torch has none in files): refused as such, not
    # as whatever the extent arithmetic makes of it.
    pkl = (b"\x80\x02}(" + _u("w") + tensor_pickle("0", 4, [4], [-1], offset=3)
           + b"u.")
    torch_style_zip("bad_negative_stride.pt", pkl,
                    [("0", struct.pack("<4f", 1, 2, 3, 4))])
    # A legacy file whose storage's element count disagrees with its
    # pickle's (5 counted, 4 in the pickle; the 16 bytes are all there).
    legacy = legacy_file([1.0, 2.0, 3.0, 4.0])
    torch.load(io.BytesIO(legacy))               # torch reads the good one
    write_bad("bad_legacy_count.pt", legacy.replace(struct.pack("<q", 4) + struct.pack("<4f", 1, 2, 3, 4),
                                                    struct.pack("<q", 5) + struct.pack("<4f", 1, 2, 3, 4)))
    # 200000 nested lists: a recursive reader without a bound overflows
    # its stack.
    depth = 200000
    pkl = b"\x80\x02" + b"]" * depth + b"a" * (depth - 1) + b"."
    torch_style_zip("bad_deep_nesting.pt", pkl, [])


# ---------------------------------------------------------------- main

FIXTURES = [fx_ckpt_python, fx_ckpt_protocol5, fx_mlp, fx_cnn_bn, fx_transformer, fx_lstm, fx_resnet18,
            fx_dtypes, fx_views, fx_tied, fx_checkpoint, fx_ckpt_linear_adam, fx_ckpt_nested,
            fx_module_prefix, fx_deflated, fx_protocol4, fx_parameter, fx_bool_bytes]


def out_dir(argv, tool):
    """The generators' OUTDIR (usage: TOOL OUTDIR), made if need be; exits
    2 on a usage error and 1 on a big-endian host (the fixtures are
    little-endian, as torch writes them here)."""
    if len(argv) != 2:
        sys.stderr.write("usage: %s OUTDIR\n" % argv[0])
        sys.exit(2)
    if sys.byteorder != "little":
        sys.stderr.write("%s: the fixtures are little-endian; this host is not\n" % tool)
        sys.exit(1)
    os.makedirs(argv[1], exist_ok=True)
    return argv[1]


def fresh_manifest(out, folder):
    """OUT/FOLDER/manifest.txt's path, the folder made and an old manifest
    removed: a generator writes its manifest last, so that make sees a
    run cut short as not done."""
    os.makedirs(os.path.join(out, folder), exist_ok=True)
    manifest = os.path.join(out, folder, "manifest.txt")
    if os.path.exists(manifest):
        os.remove(manifest)
    return manifest


def main(argv):
    global OUT
    OUT = out_dir(argv, "gen_fixtures")
    stamp = os.path.join(OUT, "manifest.txt")
    if os.path.exists(stamp):
        os.remove(stamp)
    torch.set_num_threads(1)
    t0 = time.time()
    for fx in FIXTURES:
        fx()
    bad_inputs()
    with open(stamp + ".tmp", "w") as fp:
        for n in GOOD:
            fp.write("good %s\n" % n)
        for n in BAD:
            fp.write("bad %s\n" % n)
    os.replace(stamp + ".tmp", stamp)
    sys.stderr.write("gen_fixtures: %d fixtures, %d bad inputs in %s "
                     "(%.1f s)\n" % (len(GOOD), len(BAD), OUT,
                                     time.time() - t0))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
