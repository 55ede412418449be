#!/usr/bin/python3
"""The dtypes of PyTorch 2.x (issue 12): FP8, uint16/32/64, complex.

Usage:  /usr/bin/python3 tests/gen_dtypes.py OUTDIR   (after gen_fixtures.py)

Torch 1.13, here, cannot make a float8 or uint16/32/64 tensor.  PyTorch 2.x
pickles a tensor of such a "new" dtype (torch/storage.py _new_dtypes) as
    torch._utils._rebuild_tensor_v3(storage, storage_offset, size, stride,
                                    requires_grad, backward_hooks, dtype)
over the persistent id ('storage', torch.UntypedStorage, key, 'cpu', NBYTES)
(a byte count, where _rebuild_tensor_v2's typed storages give an element
count), backward_hooks an empty collections.OrderedDict and dtype the
global torch.<name> (torch/_tensor.py _reduce_ex_internal).  Such archives
are written here by hand: protocol-2 opcodes from a small emitter (memo
BINPUT/BINGET as Python's pickler places them), a zip of stored records
under one folder `NAME/`: data.pkl, byteorder, data/<key> (each record's
data aligned to 64 bytes by an 'FB' extra field, as torch 2.x pads them),
version "3\\n", .data/serialization_id.  Every data.pkl is checked three
ways: pickletools.dis accepts it; a restricted unpickler (globals recorded,
never imported) gives back exactly the structure meant; and torch 1.13's own
loader (torch.serialization._load) reads the archive when each new dtype
global is stood in for by a torch 1.13 dtype of its size (float8 -> uint8,
uint16 -> int16, ...) and _rebuild_tensor_v3 by an equivalent of PyTorch
2.x's: the bytes, shapes, strides, offsets and storage sharing it gives must
be the expected ones (for the big-endian twin, after swapping back), and its
own f32 cast of the i64 and bf16 tensors must give the expected floats.

Good fixtures, each with gen_fixtures.py's NAME.expect.json, NAME.values.bin
and NAME.f32.bin:
  OUTDIR/dt_v3.pt           a PyTorch-2.x-style state dict (OrderedDict):
                            each FP8 format's 256 codes as a [16, 16] tensor
                            (code i at flat index i: f8e4m3fn, f8e5m2,
                            f8e4m3fnuz, f8e5m2fnuz, f8e8m0fnu), uint16/32/64
                            values (limits, byte-order probes, the cases
                            where rounding to f32 ties or carries), complex64
                            and complex128 (inf, nan, -0, subnormals); views:
                            e4m3fn's codes transposed (a second view of its
                            storage), a transposed u16, three u32 tensors at
                            offsets of one storage, a u64 under two names (one
                            storage), a 0-d u64, an empty [0, 3] u32, a c64
                            view with an offset and a step; and f32, i64,
                            bf16 tensors in _rebuild_tensor_v2 form beside them
  OUTDIR/dt_v3_big.pt       its big-endian twin: the same records, every
                            data/<key> swapped per element of its tensors'
                            dtype (complex: each component on its own; FP8
                            unchanged), `byteorder` "big"; the expectations
                            of dt_v3 (torch's own loader swaps an
                            UntypedStorage as uint8, i.e. not at all, so
                            torch.load on a little-endian host would misread
                            a big-endian u16/u32/u64: rcc returns the values
                            that were written)
  OUTDIR/dt_st.safetensors  the contiguous tensors of dt_v3 (no views, no
                            ties; no complex128, which safetensors lacks) as
                            F8_E4M3, F8_E5M2, F8_E4M3FNUZ, F8_E5M2FNUZ,
                            F8_E8M0, U16, U32, U64, C64, F32, I64, BF16,
                            written per the format (8-byte header length, the
                            JSON header in data order, __metadata__)
  OUTDIR/dt_jit.pt          a TorchScript archive (torch 1.13's torch.jit.save
                            of uint8/int16/int32/int64 buffers) whose storage
                            globals are renamed to those PyTorch >= 2.1's C++
                            pickler writes for FP8/unsigned tensors
                            (torch.Float8_e4m3fnStorage, UInt16Storage, ...)
  OUTDIR/dt_st_packed.safetensors   F4 (16 codes up and down, two to a byte,
                                    low nibble first), F6_E2M3 and F6_E3M2 (64
                                    codes each, four to three bytes): their
                                    bytes, and F4's f32 from an E2M1 decoder
  OUTDIR/dt_mlp_fp8.safetensors     an MLP of the mlp family whose weights are
                                    F8_E4M3 codes, with dt_mlp_fp8.in.npy and
                                    the output torch computes with the decoded
                                    weights, dt_mlp_fp8.out.npy
  OUTDIR/dt_torch_complex.pt        torch 1.13's torch.save of complex64 and
                                    complex128 tensors (views, a 0-d, an empty,
                                    a tie), expectations from torch.load
  OUTDIR/dt_torch_complex_legacy.pt the same, _use_new_zipfile_serialization
                                    False (its storage keys are addresses:
                                    the one file that differs run to run)
  OUTDIR/dt_torch_complex_big.pt    dt_torch_complex.pt's big-endian twin
                                    (swapped per component, `byteorder` big)

The expected values are computed without rcc and without torch's casts:
  values.bin  each tensor's elements gathered through its strides from the
              storage this script built, packed little-endian;
  f32.bin     FP8: a decoder written from the formats' definitions (OCP 8-bit
              Floating Point Specification / arXiv 2209.05433 for e4m3fn,
              e5m2 and e8m0fnu; Graphcore/AMD, arXiv 2206.02915, for the fnuz
              formats): sign, exponent and mantissa fields to an exact
              fractions.Fraction, packed as float32 (every value is exact in
              f32, asserted); each format's facts asserted (bias, NaN and
              infinity codes, largest finite, smallest subnormal, zeros);
              e5m2 cross-checked against numpy's float16 (code << 8).  Every
              NaN code reads as the quiet NaN with the code's sign bit,
              0x7FC00000 or 0xFFC00000 (the formats carry no payload); the
              NaNs without a sign read 0x7FC00000: e8m0fnu's 0xFF, and the
              fnuz formats' 0x80, whose top bit is no sign there (they have
              no -0), as c10's fnuz conversion returns a positive NaN.
              Integers: rounded to nearest, ties to even, in integer
              arithmetic (float() would round twice above 2^53), checked
              against numpy below 2^53 and against torch 1.13's int64 cast.
              Complex tensors have no f32 entry: rcc_read_f32 refuses them
              (tests/readall.c), rcc_read gives (re, im) pairs.

Bad inputs (tests/bad/bad_dt_*.bad), one problem each:
  bad_dt_jit_chalf.pt     dt_jit's archive with its int32 storage named
                          torch.ComplexHalfStorage (complex32)
  bad_dt_complex32.pt, bad_dt_bits8.pt, bad_dt_float4.pt, bad_dt_qint8.pt
                          a v3 tensor of torch.complex32 / bits8 /
                          float4_e2m1fn_x2 / qint8, dtypes rcc does not read
  bad_dt_not_dtype.pt     a v3 tensor whose dtype is torch.FloatStorage
  bad_dt_v3_short.pt      a v3 u32 [3] on a storage of 10 bytes (not a
                          multiple of 4; the view needs 12)
  bad_dt_st_f4.safetensors, bad_dt_st_f6.safetensors, bad_dt_st_unknown.safetensors
                          safetensors F4 and F6_E2M3 tensors of 3 elements
                          (12 and 18 bits: not whole bytes) and the unknown
                          dtype "F8_E4M3X"
  bad_dt_sparse_coo.pt, bad_dt_sparse_csr.pt, bad_dt_quantized.pt
                          torch 1.13's own saves of a sparse COO, a sparse
                          CSR and a quantized (quantize_per_tensor) tensor
                          (torch 1.13 cannot save a nested tensor: none)
  bad_dt_export.pt2       a torch.export archive (PT2 archive: byteorder,
                          models/model.json, data/weights/weight_0,
                          archive_format "pt2", archive_version,
                          .data/version, .data/serialization_id)
  bad_dt_export_old.pt2   torch.export.save's older zip
                          (serialized_exported_program.json,
                          serialized_state_dict.pt, serialized_constants.pt,
                          version)
And OUTDIR/dtypes/manifest.txt ("good NAME" / "bad NAME"), written last:
the make target.
"""
import collections
import fractions
import io
import json
import os
import pickle
import pickletools
import struct
import sys
import types
import zipfile

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gen_fixtures as gf  # noqa: E402
import gen_byteorder as gb  # noqa: E402

F = fractions.Fraction
NAN, INF = "nan", "inf"
DATE = (1980, 1, 1, 0, 0, 0)
SERIALIZATION_ID = b"0123456789" * 4            # torch 2.x: 40 digits

# rcc name -> element size in bytes
SIZE = {"f8e4m3fn": 1, "f8e5m2": 1, "f8e4m3fnuz": 1, "f8e5m2fnuz": 1, "f8e8m0fnu": 1,
        "u16": 2, "u32": 4, "u64": 8, "c64": 8, "c128": 16, "f32": 4, "i64": 8, "bf16": 2}
FP8 = ("f8e4m3fn", "f8e5m2", "f8e4m3fnuz", "f8e5m2fnuz", "f8e8m0fnu")
COMPLEX = ("c64", "c128")
# The new dtypes (rebuilt by _rebuild_tensor_v3): the global torch.<name>.
V3_GLOBAL = {"f8e4m3fn": "float8_e4m3fn", "f8e5m2": "float8_e5m2", "f8e4m3fnuz": "float8_e4m3fnuz",
             "f8e5m2fnuz": "float8_e5m2fnuz", "f8e8m0fnu": "float8_e8m0fnu",
             "u16": "uint16", "u32": "uint32", "u64": "uint64"}
# The old ones (_rebuild_tensor_v2 over a typed storage, numel in elements).
V2_STORAGE = {"f32": "FloatStorage", "i64": "LongStorage", "bf16": "BFloat16Storage",
              "c64": "ComplexFloatStorage", "c128": "ComplexDoubleStorage"}
ST_DTYPE = {"f8e4m3fn": "F8_E4M3", "f8e5m2": "F8_E5M2", "f8e4m3fnuz": "F8_E4M3FNUZ",
            "f8e5m2fnuz": "F8_E5M2FNUZ", "f8e8m0fnu": "F8_E8M0", "u16": "U16", "u32": "U32",
            "u64": "U64", "c64": "C64", "f32": "F32", "i64": "I64", "bf16": "BF16"}
# For the torch 1.13 cross-check: a torch 1.13 dtype of the same size.
STAND_IN = {"float8_e4m3fn": torch.uint8, "float8_e5m2": torch.uint8, "float8_e4m3fnuz": torch.uint8,
            "float8_e5m2fnuz": torch.uint8, "float8_e8m0fnu": torch.uint8,
            "uint16": torch.int16, "uint32": torch.int32, "uint64": torch.int64}
TORCH_DTYPE = {"f32": torch.float32, "i64": torch.int64, "bf16": torch.bfloat16,
               "c64": torch.complex64, "c128": torch.complex128}

OUT = None
GOOD, BAD = [], []


# ------------------------------------------------------------ float32 bits

def round_half_even(q):
    """The integer nearest the Fraction q >= 0, ties to even."""
    n = q.numerator // q.denominator
    rest = q - n
    if rest > F(1, 2) or (rest == F(1, 2) and n % 2 == 1):
        n += 1
    return n


def f32_bits(q, exact=False):
    """The float32 bit pattern of the rational q rounded to nearest, ties to
    even (overflow to infinity); exact: assert no rounding happens."""
    sign = 0
    if q < 0:
        sign, q = 1, -q
    if q == 0:
        return sign << 31
    e = q.numerator.bit_length() - q.denominator.bit_length()
    while F(2) ** e > q:
        e -= 1
    while F(2) ** (e + 1) <= q:
        e += 1
    assert F(2) ** e <= q < F(2) ** (e + 1)
    scale = -149 if e < -126 else e - 23
    n = q / F(2) ** scale
    r = round_half_even(n)
    if exact:
        assert r == n, "not exact in float32: %s" % q
    if e < -126:
        bits = r                                    # subnormal (2^23: the smallest normal)
    else:
        if r == 1 << 24:
            r, e = 1 << 23, e + 1
        bits = 0x7F800000 if e > 127 else ((e + 127) << 23) | (r - (1 << 23))
    return (sign << 31) | bits


def special_bits(sign, v):
    if v is NAN:
        return (sign << 31) | 0x7FC00000
    if v is INF:
        return (sign << 31) | 0x7F800000
    return (sign << 31) | f32_bits(v, exact=True)


# ------------------------------------------------------------ FP8

# name -> (exponent bits, mantissa bits, bias, kind)
FP8_FIELDS = {"f8e4m3fn": (4, 3, 7, "fn"), "f8e5m2": (5, 2, 15, "ieee"),
              "f8e4m3fnuz": (4, 3, 8, "fnuz"), "f8e5m2fnuz": (5, 2, 16, "fnuz")}


def decode_fp8(fmt, code):
    """(sign, magnitude) of an FP8 code: magnitude an exact Fraction, INF or
    NAN, from the format's sign, exponent and mantissa fields."""
    assert 0 <= code <= 255
    if fmt == "f8e8m0fnu":                  # OCP MX scale: 8 exponent bits, no sign
        return (0, NAN) if code == 0xFF else (0, F(2) ** (code - 127))
    ebits, mbits, bias, kind = FP8_FIELDS[fmt]
    s = code >> 7
    e = (code >> mbits) & ((1 << ebits) - 1)
    m = code & ((1 << mbits) - 1)
    emax = (1 << ebits) - 1
    if kind == "fnuz" and code == 0x80:     # the one NaN; no -0, and its top bit is no sign
        return (0, NAN)
    if kind == "fn" and e == emax and m == (1 << mbits) - 1:
        return (s, NAN)                     # S.1111.111; no infinities
    if kind == "ieee" and e == emax:
        return (s, INF if m == 0 else NAN)
    if e == 0:
        mag = F(m, 1 << mbits) * F(2) ** (1 - bias)
    else:
        mag = (1 + F(m, 1 << mbits)) * F(2) ** (e - bias)
    return (s, mag)


def fp8_table(fmt):
    """code -> f32 bits, with the format's facts asserted."""
    dec = [decode_fp8(fmt, c) for c in range(256)]
    nans = {c for c, (s, v) in enumerate(dec) if v is NAN}
    infs = {c for c, (s, v) in enumerate(dec) if v is INF}
    fin = [(c, s, v) for c, (s, v) in enumerate(dec) if v not in (NAN, INF)]
    zeros = {c for c, s, v in fin if v == 0}
    pos = [v for c, s, v in fin if v > 0]
    facts = {  # nan codes, inf codes, zero codes, max finite, min subnormal
        "f8e4m3fn": ({0x7F, 0xFF}, set(), {0x00, 0x80}, 448, F(1, 2 ** 9)),
        "f8e5m2": ({0x7D, 0x7E, 0x7F, 0xFD, 0xFE, 0xFF}, {0x7C, 0xFC}, {0x00, 0x80}, 57344, F(1, 2 ** 16)),
        "f8e4m3fnuz": ({0x80}, set(), {0x00}, 240, F(1, 2 ** 10)),
        "f8e5m2fnuz": ({0x80}, set(), {0x00}, 57344, F(1, 2 ** 17)),
        "f8e8m0fnu": ({0xFF}, set(), set(), 2 ** 127, F(1, 2 ** 127)),
    }[fmt]
    got = (nans, infs, zeros, max(pos), min(pos))
    assert got == facts, (fmt, got, facts)
    if fmt == "f8e8m0fnu":
        assert all(s == 0 for c, s, v in fin) and len(fin) == 255
    else:
        # Sign-magnitude: code c and c | 0x80 are negatives of each other
        # (where both are numbers), and magnitudes grow with the code.
        for c in range(0x80):
            a, b = dec[c], dec[c | 0x80]
            if a[1] not in (NAN,) and b[1] not in (NAN,):
                assert a[0] == 0 and b[0] == 1 and a[1] == b[1], (fmt, c)
        mags = [v for c, s, v in fin if c < 0x80]
        assert mags == sorted(mags) and len(set(mags)) == len(mags), fmt
    bits = [special_bits(s, v) for s, v in dec]
    # A second route for the numbers: Fraction -> double (exact) -> float32.
    for c, s, v in fin:
        want = struct.unpack("<I", struct.pack("<f", float(v) * (-1 if s else 1)))[0]
        assert bits[c] == want or (v == 0 and bits[c] == s << 31), (fmt, c)
    if fmt == "f8e5m2":      # e5m2 is float16's top byte
        h = np.array([c << 8 for c in range(256)], dtype=np.uint16).view(np.float16)
        ref = h.astype(np.float32).view(np.uint32)
        for c in range(256):
            if c not in nans:
                assert int(ref[c]) == bits[c], (c, hex(int(ref[c])), hex(bits[c]))
            else:
                assert np.isnan(h[c])
    return bits


FP8_BITS = {}


# ------------------------------------------------------------ elements

def pack(dt, v, order="<"):
    """One element's bytes.  FP8: the code; f32, bf16: the bit pattern;
    complex: (re, im), each in the component's precision."""
    if dt in FP8:
        return bytes([v])
    fmt = {"u16": "H", "u32": "I", "u64": "Q", "i64": "q", "f32": "I", "bf16": "H",
           "c64": "ff", "c128": "dd"}[dt]
    if dt in COMPLEX:
        return struct.pack(order + fmt, v.real, v.imag)
    return struct.pack(order + fmt, v)


def to_f32(dt, v):
    """The float32 bits rcc_read_f32 must give for one element."""
    if dt in FP8:
        return FP8_BITS[dt][v]
    if dt in ("u16", "u32", "u64", "i64"):
        return f32_bits(F(v))
    if dt == "f32":
        return v
    if dt == "bf16":
        return v << 16
    raise AssertionError("no f32 for " + dt)


def f32_of_float(x):
    return struct.unpack("<I", struct.pack("<f", x))[0]


class Storage:
    def __init__(self, dt, elems, nbytes=None):
        self.dt, self.elems = dt, list(elems)
        self.nbytes = len(self.elems) * SIZE[dt] if nbytes is None else nbytes
        self.key = None

    def record(self, order="<"):
        data = b"".join(pack(self.dt, v, order) for v in self.elems)
        return data[:self.nbytes]


def contiguous_strides(shape):
    st, acc = [], 1
    for d in reversed(shape):
        st.append(acc)
        acc *= max(d, 1)
    return list(reversed(st))


class Tensor:
    def __init__(self, name, st, shape, stride=None, offset=0):
        self.name, self.st, self.shape, self.offset = name, st, list(shape), offset
        self.stride = contiguous_strides(shape) if stride is None else list(stride)

    @property
    def dt(self):
        return self.st.dt

    def indices(self):
        """Storage indices of the elements, row-major."""
        out = [self.offset]
        for d, s in zip(self.shape, self.stride):
            out = [i + k * s for i in out for k in range(d)]
        return out

    def elems(self):
        return [self.st.elems[i] for i in self.indices()]

    def values(self):
        return b"".join(pack(self.dt, v) for v in self.elems())

    def f32(self):
        return b"".join(struct.pack("<I", to_f32(self.dt, v)) for v in self.elems())


def contig(name, dt, elems, shape=None):
    return Tensor(name, Storage(dt, elems), [len(elems)] if shape is None else shape)


# ------------------------------------------------------------ the tensors

U16 = [0, 1, 255, 256, 0x0102, 32767, 32768, 40000, 65535]
U32 = [0, 1, 0x01020304, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1, 16777217, 16777219,
       0xFFFFFF7F, 0xFFFFFF80, 0xFFFFFF81]
U64 = [0, 1, 2 ** 53 + 1, 2 ** 63 - 1, 2 ** 63, 2 ** 64 - 1, 0x0102030405060708, 2 ** 24 + 1,
       2 ** 40 + 2 ** 16, 0x8000008000000000, 0x8000008000000001, 0xFFFFFF8000000000]
INFV, NANV = float("inf"), float("nan")
C64 = [complex(1, 2), complex(-0.5, -0.0), complex(INFV, 0.0), complex(NANV, -1.0),
       complex(0.0, 1e-40), complex(-INFV, 65504.0)]
C128 = [complex(1, 2), complex(-0.5, -0.0), complex(INFV, 0.0), complex(NANV, -1.0),
        complex(0.0, 1e-310), complex(0.1, -1e300)]
F32 = [f32_of_float(x) for x in (1.0, -2.5, 0.0, -0.0, INFV, 3.4e38)]
I64 = [0, -1, 2 ** 62 + 12345, -(2 ** 63), 2 ** 60 + 2 ** 36 + 1]
BF16 = [0x3F80, 0xC020, 0x7F80, 0x0001]       # 1, -2.5, inf, the smallest subnormal


def v3_tensors():
    """The state dict of dt_v3, in order."""
    ts = [contig("f32.w", "f32", F32, [2, 3])]
    e4 = contig("f8e4m3fn.codes", "f8e4m3fn", range(256), [16, 16])
    ts += [e4, Tensor("f8e4m3fn.codes_t", e4.st, [16, 16], [1, 16])]
    for fmt in FP8[1:]:
        ts.append(contig(fmt + ".codes", fmt, range(256), [16, 16]))
    ts.append(contig("u16.values", "u16", U16))
    ts.append(Tensor("u16.t", Storage("u16", [7, 0x0102, 0x8000, 0xFFFF, 40000, 12345, 0xABCD, 1,
                                              65534, 256, 0, 0x7FFF]), [4, 3], [1, 4]))
    ts.append(contig("u32.values", "u32", U32))
    shards = Storage("u32", [0x01020304 * (i + 1) % 2 ** 32 for i in range(18)])
    ts += [Tensor("u32.shard0", shards, [4]),
           Tensor("u32.shard1", shards, [2, 3], offset=4),
           Tensor("u32.shard2", shards, [5], offset=11)]
    ts.append(contig("u32.empty", "u32", [], [0, 3]))
    ts.append(contig("i64.ids", "i64", I64))
    ts.append(contig("u64.values", "u64", U64))
    tied = Storage("u64", [0xFFFFFFFFFFFFFFFE, 2 ** 32, 0x1122334455667788, 3])
    ts += [Tensor("u64.tied_a", tied, [2, 2]), Tensor("u64.tied_b", tied, [2, 2])]
    ts.append(contig("u64.scalar", "u64", [0xFEDCBA9876543210], []))
    # within int64: what a generated model's loader takes (tests/load.sh)
    ts.append(contig("u64.ids", "u64", [0, 1, 2 ** 62, 2 ** 63 - 1, 0x0102030405060708]))
    ts.append(contig("c64.values", "c64", C64, [2, 3]))
    ts.append(Tensor("c64.view", Storage("c64", [complex(i, -i / 4) for i in range(8)]),
                     [3], [2], offset=2))
    ts.append(contig("c128.values", "c128", C128, [2, 3]))
    ts.append(contig("bf16.b", "bf16", BF16))
    return ts


def st_tensors():
    """dt_st's tensors: dt_v3's contiguous ones, fresh storages, no c128."""
    out = []
    for t in v3_tensors():
        if t.dt == "c128" or t.name in ("f8e4m3fn.codes_t", "u16.t", "u64.tied_b", "c64.view") \
                or t.name.startswith("u32.shard"):
            continue
        assert t.stride == contiguous_strides(t.shape) and t.offset == 0
        assert len(t.st.elems) == len(t.indices())
        out.append(contig(t.name, t.dt, t.st.elems, t.shape))
    return out


# ------------------------------------------------------------ pickle emitter

class Pickle:
    """Protocol-2 opcodes as Python's pickler writes them for torch.save:
    every string, global, tuple and reduced object is memoized (BINPUT) and
    a string or global met again is fetched (BINGET)."""

    def __init__(self):
        self.out = bytearray(b"\x80\x02")           # PROTO 2
        self.memo = {}
        self.n = 0

    def op(self, b):
        self.out += b

    def put(self, key=None):
        i = self.n
        self.n += 1
        if key is not None:
            self.memo[key] = i
        self.op(b"q" + bytes([i]) if i < 256 else b"r" + struct.pack("<I", i))

    def get(self, key):
        i = self.memo[key]
        self.op(b"h" + bytes([i]) if i < 256 else b"j" + struct.pack("<I", i))

    def glob(self, mod, name):
        key = ("global", mod, name)
        if key in self.memo:
            return self.get(key)
        self.op(b"c" + mod.encode() + b"\n" + name.encode() + b"\n")
        self.put(key)

    def str(self, s):
        key = ("str", s)
        if key in self.memo:
            return self.get(key)
        b = s.encode("utf-8")
        self.op(b"X" + struct.pack("<I", len(b)) + b)
        self.put(key)

    def int(self, v):
        if 0 <= v <= 0xFF:
            self.op(b"K" + bytes([v]))
        elif 0 <= v <= 0xFFFF:
            self.op(b"M" + struct.pack("<H", v))
        elif -2 ** 31 <= v < 2 ** 31:
            self.op(b"J" + struct.pack("<i", v))
        else:                                       # LONG1, as pickle.encode_long
            n = (v.bit_length() >> 3) + 1
            b = v.to_bytes(n, "little", signed=True)
            if v < 0 and n > 1 and b[-1] == 0xFF and b[-2] & 0x80:
                b = b[:-1]
            self.op(b"\x8a" + bytes([len(b)]) + b)

    def tuple(self, items):
        """items: callables that emit one item each."""
        if not items:
            return self.op(b")")                    # EMPTY_TUPLE, not memoized
        if len(items) <= 3:
            for f in items:
                f()
            self.op(b"\x85\x86\x87"[len(items) - 1:len(items)])
        else:
            self.op(b"(")
            for f in items:
                f()
            self.op(b"t")
        self.put()

    def ints(self, xs):
        self.tuple([lambda x=x: self.int(x) for x in xs])

    def reduce(self):
        self.op(b"R")
        self.put()

    def ordered_dict(self):                         # collections.OrderedDict()
        self.glob("collections", "OrderedDict")
        self.op(b")")
        self.reduce()

    def bytes(self):
        return bytes(self.out) + b"."               # STOP


def emit_tensor(p, t, dtype_global=None, v3=None, storage_global=None):
    """torch.save's opcodes for tensor t.  dtype_global: the v3 dtype
    (module, name), for the bad inputs; v3: force the form."""
    v3 = (t.dt in V3_GLOBAL) if v3 is None else v3
    if v3:
        dtype_global = dtype_global or ("torch", V3_GLOBAL[t.dt])
    count = t.st.nbytes if v3 else t.st.nbytes // SIZE[t.dt]
    p.glob("torch._utils", "_rebuild_tensor_v3" if v3 else "_rebuild_tensor_v2")

    def pid():
        p.tuple([lambda: p.str("storage"),
                 lambda: p.glob("torch", storage_global or ("UntypedStorage" if v3 else V2_STORAGE[t.dt])),
                 lambda: p.str(t.st.key), lambda: p.str("cpu"), lambda: p.int(count)])
        p.op(b"Q")                                  # BINPERSID
    args = [pid, lambda: p.int(t.offset), lambda: p.ints(t.shape), lambda: p.ints(t.stride),
            lambda: p.op(b"\x89"), p.ordered_dict]  # NEWFALSE
    if v3:
        args.append(lambda: p.glob(*dtype_global))
    p.tuple(args)
    p.reduce()


def assign_keys(tensors):
    """Storage keys "0", "1", ... in order of first use (torch 2.x); the
    storages in key order."""
    order = []
    for t in tensors:
        t.st.key = None
    for t in tensors:
        if t.st.key is None:
            t.st.key = str(len(order))
            order.append(t.st)
    return order


def state_dict_pickle(tensors, **kw):
    p = Pickle()
    p.ordered_dict()
    p.op(b"(")                                      # MARK
    for t in tensors:
        p.str(t.name)
        emit_tensor(p, t, **kw)
    p.op(b"u")                                      # SETITEMS
    return p.bytes()


# ------------------------------------------------------------ checking a pickle

class G:
    """A global, recorded: never imported."""

    def __init__(self, mod, name):
        self.mod, self.name = mod, name

    def __call__(self, *args):
        return Call(self, args)

    def __eq__(self, o):
        return type(o) is G and (o.mod, o.name) == (self.mod, self.name)

    def __repr__(self):
        return "%s.%s" % (self.mod, self.name)


class Call:
    def __init__(self, fn, args):
        self.fn, self.args = fn, args

    def __repr__(self):
        return "%r%r" % (self.fn, self.args)


class Recorder(pickle.Unpickler):
    def find_class(self, mod, name):
        if (mod, name) == ("collections", "OrderedDict"):
            return collections.OrderedDict
        return G(mod, name)

    def persistent_load(self, pid):
        return ("PID",) + tuple(pid)


def strict_eq(a, b):
    """Equality that tells 0 from False and a tuple from a list."""
    if type(a) is not type(b):
        return False
    if isinstance(a, Call):
        return a.fn == b.fn and strict_eq(a.args, b.args)
    if isinstance(a, dict):
        return list(a) == list(b) and all(strict_eq(a[k], b[k]) for k in a)
    if isinstance(a, (tuple, list)):
        return len(a) == len(b) and all(strict_eq(x, y) for x, y in zip(a, b))
    return a == b


def meant(tensors, **kw):
    """The structure state_dict_pickle(tensors) must unpickle to."""
    d = collections.OrderedDict()
    for t in tensors:
        v3 = kw.get("v3")
        v3 = (t.dt in V3_GLOBAL) if v3 is None else v3
        sg = kw.get("storage_global") or ("UntypedStorage" if v3 else V2_STORAGE[t.dt])
        count = t.st.nbytes if v3 else t.st.nbytes // SIZE[t.dt]
        args = (("PID", "storage", G("torch", sg), t.st.key, "cpu", count), t.offset,
                tuple(t.shape), tuple(t.stride), False, collections.OrderedDict())
        if v3:
            args += (G(*(kw.get("dtype_global") or ("torch", V3_GLOBAL[t.dt]))),)
        d[t.name] = Call(G("torch._utils", "_rebuild_tensor_v3" if v3 else "_rebuild_tensor_v2"), args)
    return d


def check_pickle(pkl, tensors, **kw):
    pickletools.dis(pkl, out=io.StringIO())         # raises on a malformed pickle
    got = Recorder(io.BytesIO(pkl)).load()
    want = meant(tensors, **kw)
    assert strict_eq(got, want), "data.pkl unpickles to\n%r\nnot\n%r" % (got, want)


# ------------------------------------------------------------ archives

def torch2_zip(folder, pkl, records, order=b"little", align=64):
    """A PyTorch 2.x archive: data.pkl, .format_version, .storage_alignment,
    byteorder, data/<key>..., version, .data/serialization_id under
    folder/ (the records of a file from PyTorch 2.7), stored, each record's
    data aligned to `align` bytes by an 'FB' extra field as torch pads them."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
        def put(rel, data):
            name = folder + "/" + rel
            info = zipfile.ZipInfo(name, date_time=DATE)
            at = buf.tell() + 30 + len(name.encode()) + 4
            pad = -at % align
            info.extra = b"FB" + struct.pack("<H", pad) + b"Z" * pad
            z.writestr(info, data)
        put("data.pkl", pkl)
        put(".format_version", b"1")
        put(".storage_alignment", str(align).encode())
        if order is not None:
            put("byteorder", order)
        for key, data in records:
            put("data/" + key, data)
        put("version", b"3\n")
        put(".data/serialization_id", SERIALIZATION_ID)
    data = buf.getvalue()
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        for info in z.infolist():
            nlen, xlen = struct.unpack_from("<HH", data, info.header_offset + 26)
            assert (info.header_offset + 30 + nlen + xlen) % align == 0, info.filename
    return data


def v3_archive(name, tensors, order=b"little", folder=None, **kw):
    """OUT/name holding tensors under folder/ (name's stem by default);
    the pickle checked."""
    storages = assign_keys(tensors)
    pkl = state_dict_pickle(tensors, **kw)
    check_pickle(pkl, tensors, **kw)
    recs = [(s.key, s.record(">" if order == b"big" else "<")) for s in storages]
    data = torch2_zip(folder or name.split(".")[0], pkl, recs, order)
    with open(os.path.join(OUT, name), "wb") as fp:
        fp.write(data)
    return data


# ------------------------------------------------------------ expectations

def write_expect(name, tensors, separate=False, parameters=True):
    """gen_fixtures.write_expect's three files, from this script's own
    tensors (complex: no f32 entry)."""
    entries, values, f32, sid = [], [], [], {}
    for t in tensors:
        s = sid.setdefault(("own", t.name) if separate else id(t.st), len(sid))
        e = {"name": t.name, "dtype": t.dt, "shape": t.shape, "offset": t.offset,
             "strides": t.stride, "storage": s}
        if parameters:
            e["parameter"] = False
        entries.append(e)
        values.append(t.values())
        if t.dt not in COMPLEX:
            f32.append(t.f32())
    gf.write_expect_files(name, "", entries, values, f32)
    GOOD.append(name)


# ------------------------------------------------------------ torch 1.13's reading

def rebuild_v3(storage, offset, size, stride, requires_grad, hooks, dtype):
    """PyTorch 2.x's _rebuild_tensor_v3, in torch 1.13's terms."""
    assert storage.dtype == torch.uint8 and isinstance(hooks, collections.OrderedDict) and not hooks
    t = torch.empty((0,), dtype=dtype, requires_grad=False)
    t.set_(storage._storage, offset, size, stride)
    t.requires_grad = requires_grad
    return t


class StandIn(pickle.Unpickler):
    def find_class(self, mod, name):
        if (mod, name) == ("torch._utils", "_rebuild_tensor_v3"):
            return rebuild_v3
        if mod == "torch" and name in STAND_IN:
            return STAND_IN[name]
        return super().find_class(mod, name)


def torch_read(path):
    """torch.load's reading of a dt_v3-style archive, new dtypes stood in
    for: torch.serialization._load itself (this torch.load replaces any
    pickle_module it is given by pickle)."""
    mod = types.SimpleNamespace(Unpickler=StandIn, load=pickle.load, __name__="standin")
    ser = torch.serialization
    with ser._open_file_like(path, "rb") as fp, ser._open_zipfile_reader(fp) as z:
        return ser._load(z, "cpu", mod, encoding="utf-8")


def check_with_torch(path, tensors, big=False):
    """torch 1.13 reads what the expectations say: names, shapes, strides,
    offsets, sharing, and each tensor's bytes (a big-endian archive's
    elements swapped back per element, complex per component)."""
    got = torch_read(path)
    assert list(got) == [t.name for t in tensors], (list(got), [t.name for t in tensors])
    sharing_t, sharing_w = {}, {}
    for t in tensors:
        g = got[t.name]
        assert list(g.shape) == t.shape and list(g.stride()) == t.stride and g.storage_offset() == t.offset, t.name
        assert g.element_size() == SIZE[t.dt], t.name
        raw = g.detach().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes()
        unit = SIZE[t.dt] // 2 if t.dt in COMPLEX else SIZE[t.dt]
        if big and unit > 1:
            raw = np.frombuffer(raw, dtype="u%d" % unit).byteswap().tobytes()
        assert raw == t.values(), t.name
        sharing_t.setdefault(g.storage().data_ptr() or ("empty", t.name), []).append(t.name)
        sharing_w.setdefault(id(t.st), []).append(t.name)
        if not big and t.dt in TORCH_DTYPE and t.dt not in COMPLEX:
            # torch's own cast to f32 (bf16 exact; i64 rounded by the CPU)
            assert g.dtype == TORCH_DTYPE[t.dt]
            assert g.detach().to(torch.float32).contiguous().numpy().tobytes() == t.f32(), t.name
        if t.dt in COMPLEX:
            assert g.dtype == TORCH_DTYPE[t.dt]
    assert sorted(sharing_t.values()) == sorted(sharing_w.values()), (sharing_t, sharing_w)


# ------------------------------------------------------------ cross-checks

def check_integer_rounding():
    """f32_bits on integers against numpy (exact below 2^53) and torch's
    int64 cast; the cases the brief names."""
    vals = set(U16 + U32 + U64 + I64)
    vals |= {2 ** k + d for k in range(26, 64) for d in (-1, 0, 1, 2 ** (k - 24), 2 ** (k - 24) + 1,
                                                          3 * 2 ** (k - 25), -2 ** (k - 25))}
    n = 0
    for v in sorted(vals):
        if not 0 <= abs(v) < 2 ** 64:
            continue
        mine = f32_bits(F(v))
        if abs(v) < 2 ** 53:
            ref = int(np.array([float(v)], dtype=np.float64).astype(np.float32).view(np.uint32)[0])
            assert mine == ref, (v, hex(mine), hex(ref))
            n += 1
        if -2 ** 63 <= v < 2 ** 63:
            ref = int(torch.tensor([v], dtype=torch.int64).to(torch.float32).view(torch.int32)[0]) & 0xFFFFFFFF
            assert mine == ref, (v, hex(mine), hex(ref))
    for v, want in ((2 ** 64 - 1, 0x5F800000), (0xFFFFFF8000000000, 0x5F800000),
                    (0x8000008000000000, 0x5F000000), (0x8000008000000001, 0x5F000001),
                    (2 ** 40 + 2 ** 16, 0x53800000), (2 ** 24 + 1, 0x4B800000),
                    (16777219, 0x4B800002), (0xFFFFFF7F, 0x4F7FFFFF), (0xFFFFFF80, 0x4F800000),
                    (0xFFFFFF81, 0x4F800000), (2 ** 53 + 1, 0x5A000000)):
        assert f32_bits(F(v)) == want, (hex(v), hex(f32_bits(F(v))), hex(want))
    # and numpy's uint64 cast above 2^53 (information: it agrees here)
    u = np.array(U64, dtype=np.uint64).astype(np.float32).view(np.uint32)
    assert [int(x) for x in u] == [f32_bits(F(v)) for v in U64]
    return n


def check_fp8():
    for fmt in FP8:
        FP8_BITS[fmt] = fp8_table(fmt)
    # Anchors from the papers' tables.
    b = FP8_BITS
    assert b["f8e4m3fn"][0x7E] == f32_of_float(448.0) and b["f8e4m3fn"][0x08] == f32_of_float(2.0 ** -6)
    assert b["f8e4m3fn"][0x01] == f32_of_float(2.0 ** -9) and b["f8e4m3fn"][0xFF] == 0xFFC00000
    assert b["f8e5m2"][0x7B] == f32_of_float(57344.0) and b["f8e5m2"][0x7C] == 0x7F800000
    assert b["f8e5m2"][0xFC] == 0xFF800000 and b["f8e5m2"][0x04] == f32_of_float(2.0 ** -14)
    assert b["f8e4m3fnuz"][0x7F] == f32_of_float(240.0) and b["f8e4m3fnuz"][0x08] == f32_of_float(2.0 ** -7)
    assert b["f8e4m3fnuz"][0x80] == 0x7FC00000 and b["f8e4m3fnuz"][0x01] == f32_of_float(2.0 ** -10)
    assert b["f8e5m2fnuz"][0x7F] == f32_of_float(57344.0) and b["f8e5m2fnuz"][0x04] == f32_of_float(2.0 ** -15)
    assert b["f8e5m2fnuz"][0x01] == f32_of_float(2.0 ** -17) and b["f8e5m2fnuz"][0xFF] == f32_of_float(-57344.0)
    assert b["f8e8m0fnu"][0] == 0x00400000 and b["f8e8m0fnu"][127] == f32_of_float(1.0)
    assert b["f8e8m0fnu"][254] == 0x7F000000 and b["f8e8m0fnu"][255] == 0x7FC00000
    for fmt in ("f8e4m3fn", "f8e5m2"):
        assert b[fmt][0x00] == 0 and b[fmt][0x80] == 0x80000000      # +0 and -0


# ------------------------------------------------------------ the fixtures

def fx_v3():
    tensors = v3_tensors()
    v3_archive("dt_v3.pt", tensors)
    check_with_torch(os.path.join(OUT, "dt_v3.pt"), tensors)
    write_expect("dt_v3", tensors)
    # The big-endian twin: the same archive but its records and byteorder.
    le = {s.key: s.record() for s in assign_keys(tensors)}
    v3_archive("dt_v3_big.pt", tensors, order=b"big", folder="dt_v3")
    with zipfile.ZipFile(os.path.join(OUT, "dt_v3.pt")) as a, \
            zipfile.ZipFile(os.path.join(OUT, "dt_v3_big.pt")) as b:
        na, nb = a.namelist(), b.namelist()
        assert na == nb
        units = {}
        for t in tensors:
            units.setdefault(t.st.key, set()).add(SIZE[t.dt] // 2 if t.dt in COMPLEX else SIZE[t.dt])
        for n in na:
            ra, rb = a.read(n), b.read(n)
            rel = n.split("/", 1)[1]
            if rel == "byteorder":
                assert (ra, rb) == (b"little", b"big")
            elif rel.startswith("data/"):
                (unit,) = units[rel[5:]]
                # two constructions agree: the little-endian record swapped,
                # and the elements packed big-endian
                assert ra == le[rel[5:]] and rb == gb.swapped(ra, unit), n
                palindromes = all(ra[i:i + unit] == ra[i:i + unit][::-1] for i in range(0, len(ra), unit))
                assert (ra == rb) == palindromes, n
            else:
                assert ra == rb, n
    check_with_torch(os.path.join(OUT, "dt_v3_big.pt"), tensors, big=True)
    write_expect("dt_v3_big", tensors)


def st_serialize(tensors):
    hdr = collections.OrderedDict([("__metadata__", {"format": "pt"})])
    data, at = [], 0
    for t in tensors:
        b = t.values()
        hdr[t.name] = {"dtype": ST_DTYPE[t.dt], "shape": t.shape, "data_offsets": [at, at + len(b)]}
        data.append(b)
        at += len(b)
    h = json.dumps(hdr, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    return struct.pack("<Q", len(h)) + h + b"".join(data)


def st_check(data, tensors):
    """Read the file back field by field (and with the safetensors package
    when it is installed)."""
    n, = struct.unpack_from("<Q", data)
    assert n % 8 == 0 and data[8 + n - 1:8 + n] in (b" ", b"}")
    hdr = json.loads(data[8:8 + n], object_pairs_hook=collections.OrderedDict)
    assert hdr.pop("__metadata__") == {"format": "pt"}
    base, at = 8 + n, 0
    assert list(hdr) == [t.name for t in tensors]
    for t, (name, info) in zip(tensors, hdr.items()):
        b, e = info["data_offsets"]
        assert b == at and info["shape"] == t.shape
        numel = 1
        for d in t.shape:
            numel *= d
        assert e - b == numel * SIZE[t.dt] and data[base + b:base + e] == t.values()
        at = e
    assert base + at == len(data)
    try:
        import safetensors
    except ImportError:
        return "safetensors package not installed: not cross-checked"
    got = dict(safetensors.deserialize(data))
    for t in tensors:
        info = got[t.name]
        assert info["dtype"].upper() in (ST_DTYPE[t.dt], ST_DTYPE[t.dt].replace("_", "")), info["dtype"]
        assert list(info["shape"]) == t.shape and bytes(info["data"]) == t.values()
    return "safetensors %s reads it alike" % safetensors.__version__


def fx_st():
    tensors = st_tensors()
    data = st_serialize(tensors)
    note = st_check(data, tensors)
    with open(os.path.join(OUT, "dt_st.safetensors"), "wb") as fp:
        fp.write(data)
    write_expect("dt_st", tensors, separate=True, parameters=False)
    return note


def decode_e2m1(code):
    """FP4 E2M1 (OCP Microscaling Formats v1.0, 5.3.3): sign bit 3,
    exponent bits 2-1 with bias 1, mantissa bit 0; exponent 0 is
    subnormal (m/2); no infinities or NaN.  An exact Fraction."""
    s, e, m = code >> 3, (code >> 1) & 3, code & 1
    v = F(m, 2) if e == 0 else F(2) ** (e - 1) * (1 + F(m, 2))
    return -v if s else v


def fx_st_packed():
    """dt_st_packed.safetensors: the packed MX dtypes, which only
    safetensors carries.  F4 (f4e2m1fn): its 16 codes up then down, two to
    a byte, element 2i in the low nibble (the layout of torch's
    float4_e2m1fn_x2, which the safetensors package maps F4 to); f32 from
    decode_e2m1.  F6_E2M3, F6_E3M2: 64 codes each in 48 bytes (four
    elements to three bytes; rcc reads the bytes as they are and gives no
    f32, the packing order not being fixed by the format)."""
    mags = sorted({abs(decode_e2m1(c)) for c in range(16)})
    assert mags == [0, F(1, 2), 1, F(3, 2), 2, 3, 4, 6], mags
    assert decode_e2m1(0x8) == 0 and decode_e2m1(0xF) == -6
    codes = list(range(16)) + list(range(15, -1, -1))
    f4 = bytes(codes[2 * j] | codes[2 * j + 1] << 4 for j in range(16))
    # the sign from bit 3 (a Fraction has no -0)
    bits = [f32_bits(abs(decode_e2m1(c)), exact=True) | (0x80000000 if c & 8 else 0) for c in codes]
    assert all(struct.unpack("<f", struct.pack("<I", b))[0] == float(decode_e2m1(c)) for b, c in zip(bits, codes))
    f4_f32 = struct.pack("<%dI" % len(bits), *bits)

    def pack6(cs):
        out = bytearray()
        for j in range(0, len(cs), 4):
            w = cs[j] | cs[j + 1] << 6 | cs[j + 2] << 12 | cs[j + 3] << 18
            out += struct.pack("<I", w)[:3]
        return bytes(out)
    f6a, f6b = pack6(list(range(64))), pack6(list(range(63, -1, -1)))
    entries = [("f4.codes", "F4", "f4e2m1fn", [2, 16], f4), ("f6e2m3.codes", "F6_E2M3", "f6e2m3fn", [64], f6a),
               ("f6e3m2.codes", "F6_E3M2", "f6e3m2fn", [4, 16], f6b)]
    hdr = collections.OrderedDict([("__metadata__", {"format": "pt"})])
    at = 0
    for name, st, _, shape, data in entries:
        hdr[name] = {"dtype": st, "shape": shape, "data_offsets": [at, at + len(data)]}
        at += len(data)
    h = json.dumps(hdr, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(os.path.join(OUT, "dt_st_packed.safetensors"), "wb") as fp:
        fp.write(struct.pack("<Q", len(h)) + h + b"".join(e[4] for e in entries))
    tensors = [{"name": n, "dtype": d, "shape": sh, "offset": 0,
                "strides": contiguous_strides(sh), "storage": i} for i, (n, _, d, sh, _) in enumerate(entries)]
    # the f6 tensors have no f32 reading
    gf.write_expect_files("dt_st_packed", "", tensors, [e[4] for e in entries], [f4_f32])
    GOOD.append("dt_st_packed")


def complex_state_dict():
    torch.manual_seed(21)
    base = torch.randn(4, 6, dtype=torch.complex64)
    c64 = torch.tensor(C64, dtype=torch.complex64)
    c128 = torch.tensor(C128, dtype=torch.complex128).reshape(2, 3)
    sd = collections.OrderedDict()
    sd["c64"] = c64
    sd["c64_base"] = base
    sd["c64_t"] = base.t()
    sd["c64_block"] = base[1:3, 2:5]
    sd["c128"] = c128
    sd["c128_step"] = c128.flatten()[1::2]
    sd["c128_scalar"] = torch.tensor(complex(-1.5, 2 ** -1074), dtype=torch.complex128)
    sd["c64_empty"] = torch.zeros(0, 2, dtype=torch.complex64)
    sd["f32"] = torch.randn(3)
    sd["c64_tied"] = c64
    # torch.tensor keeps the signs of zeros and the subnormals
    assert struct.pack("<ff", -0.5, -0.0) == c64[1:2].numpy().tobytes()
    return sd


def fx_torch_complex():
    sd = complex_state_dict()
    path = lambda n: os.path.join(OUT, n + ".pt")  # noqa: E731
    torch.save(sd, path("dt_torch_complex"))
    loaded = gf.describe("dt_torch_complex", path("dt_torch_complex"), sd, "")
    GOOD.append("dt_torch_complex")
    back = torch.load(path("dt_torch_complex"))
    assert back["c64"].data_ptr() == back["c64_tied"].data_ptr()
    torch.save(sd, path("dt_torch_complex_legacy"), _use_new_zipfile_serialization=False)
    gf.describe("dt_torch_complex_legacy", path("dt_torch_complex_legacy"), sd, "")
    GOOD.append("dt_torch_complex_legacy")
    # gen_byteorder's twin: complex storages swapped per component
    gb.twin(path("dt_torch_complex"), path("dt_torch_complex_big"), b"big", True)
    # The twin, read by torch 1.13 (which ignores the byteorder record) and
    # swapped back per component, is the original.
    big = torch.load(path("dt_torch_complex_big"))
    for n, t in gf.named_tensors(loaded):
        b = big[n]
        if t.is_complex():
            arr = torch.view_as_real(b.detach().contiguous().reshape(-1)).numpy()
            assert arr.byteswap().tobytes() == gf.raw_bytes(t), n
        else:
            assert b.detach().contiguous().numpy().byteswap().tobytes() == gf.raw_bytes(t), n
    with zipfile.ZipFile(path("dt_torch_complex_big")) as z:
        assert [n for n in z.namelist() if n.endswith("byteorder")] and \
            z.read([n for n in z.namelist() if n.endswith("byteorder")][0]) == b"big"
    gf.write_expect("dt_torch_complex_big", "", gf.named_tensors(loaded))
    GOOD.append("dt_torch_complex_big")


def fx_jit():
    """dt_jit.pt: a TorchScript archive holding new dtypes as torch.jit.save
    of PyTorch >= 2.1 writes them: its C++ pickler names a tensor's storage
    toString(ScalarType) + "Storage" (pickler.cpp pushStorageOfTensor), so
    torch.Float8_e4m3fnStorage, torch.UInt16Storage, ... with the element
    count, over the typed _rebuild_tensor_v2.  Torch 1.13 saves a scripted
    module whose buffers are uint8/int16/int32/int64 holding the bit
    patterns; data.pkl's storage names are then renamed to those of the new
    dtypes of the same sizes, every record kept as it is."""
    rename = {"ByteStorage": "Float8_e4m3fnStorage", "ShortStorage": "UInt16Storage",
              "IntStorage": "UInt32Storage", "LongStorage": "UInt64Storage"}
    wrap = lambda v, bits: v - (1 << bits) if v >> (bits - 1) else v  # noqa: E731
    tensors = [contig("codes", "f8e4m3fn", list(range(256)), [16, 16]),
               contig("u16", "u16", U16), contig("u32", "u32", U32), contig("u64", "u64", U64)]
    olds = [("codes", torch.tensor(list(range(256)), dtype=torch.uint8).reshape(16, 16)),
            ("u16", torch.tensor([wrap(v, 16) for v in U16], dtype=torch.int16)),
            ("u32", torch.tensor([wrap(v, 32) for v in U32], dtype=torch.int32)),
            ("u64", torch.tensor([wrap(v, 64) for v in U64], dtype=torch.int64))]

    class Bufs(torch.nn.Module):
        def __init__(self):
            super().__init__()
            for n, t in olds:
                self.register_buffer(n, t)

        def forward(self, x):
            return x

    src = os.path.join(OUT, "dt_jit_src.pt")
    torch.jit.save(torch.jit.script(Bufs()), src)
    back = torch.jit.load(src)
    for (n, t), want in zip(olds, tensors):   # the bit patterns are the new dtypes' elements
        assert getattr(back, n).numpy().tobytes() == want.values(), n
    with zipfile.ZipFile(src) as z:
        records = [(i.filename, z.read(i)) for i in z.infolist()]
    os.remove(src)

    def renamed(rename):
        """The archive with data.pkl's storage globals renamed, each once."""
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as z:
            for n, data in records:
                if n.endswith("/data.pkl"):
                    for old, new in rename.items():
                        token = b"ctorch\n" + old.encode() + b"\n"
                        assert data.count(token) == 1, (old, data.count(token))
                        data = data.replace(token, b"ctorch\n" + new.encode() + b"\n")
                z.writestr(zipfile.ZipInfo(n, date_time=(1980, 1, 1, 0, 0, 0)), data)
        return out.getvalue()
    with open(os.path.join(OUT, "dt_jit.pt"), "wb") as fp:
        fp.write(renamed(rename))
    write_expect("dt_jit", tensors, separate=True, parameters=False)
    # A dtype rcc does not read, as the C++ pickler names its storage
    # (complex32: 4 bytes an element, as the int32 buffer's).
    write_bad("bad_dt_jit_chalf.pt", renamed({"IntStorage": "ComplexHalfStorage"}))


def fx_fp8_mlp():
    """dt_mlp_fp8.safetensors: an nn.Sequential MLP (the mlp family: Linear
    16-32-32-10 with ReLUs) whose weights and biases are F8_E4M3 codes, as
    an FP8 release ships them, with an input and the output torch computes
    from the weights decoded by this script's decoder (tests/dtypes-run.sh:
    rcc infer, check and run on it).  The codes are finite, |v| < 2."""
    import random
    rnd = random.Random(8)
    table = fp8_table("f8e4m3fn")
    model = torch.nn.Sequential(torch.nn.Linear(16, 32), torch.nn.ReLU(), torch.nn.Linear(32, 32),
                                torch.nn.ReLU(), torch.nn.Linear(32, 10))
    tensors = []
    with torch.no_grad():
        for name, p in model.state_dict().items():
            # exponent field <= 7: |v| < 2; the sign bit at random
            codes = [rnd.randrange(0x40) | rnd.choice((0, 0x80)) for _ in range(p.numel())]
            f32 = struct.pack("<%dI" % len(codes), *(table[c] for c in codes))
            p.copy_(torch.frombuffer(bytearray(f32), dtype=torch.float32).reshape(p.shape))
            tensors.append(contig(name, "f8e4m3fn", codes, list(p.shape)))
        torch.manual_seed(8)
        x = torch.randn(3, 16)
        y = model(x)
    with open(os.path.join(OUT, "dt_mlp_fp8.safetensors"), "wb") as fp:
        fp.write(st_serialize(tensors))
    np.save(os.path.join(OUT, "dt_mlp_fp8.in.npy"), x.numpy())
    np.save(os.path.join(OUT, "dt_mlp_fp8.out.npy"), y.numpy())
    assert float(y.abs().max()) > 0


# ------------------------------------------------------------ bad inputs

def write_bad(name, data):
    with open(os.path.join(OUT, name), "wb") as fp:
        fp.write(data)
    BAD.append(name)


def bad_v3(name, tensor, **kw):
    v3_archive(name, [tensor], **kw)
    BAD.append(name)


def bad_inputs():
    four = Storage("u32", [1, 2, 3, 4])                # 16 bytes
    for name, dtype, elems in (("complex32", "complex32", 4), ("bits8", "bits8", 16),
                               ("float4", "float4_e2m1fn_x2", 16), ("qint8", "qint8", 16)):
        st = Storage("u32", [1, 2, 3, 4])
        bad_v3("bad_dt_%s.pt" % name, Tensor("w", st, [elems]), v3=True, dtype_global=("torch", dtype))
    bad_v3("bad_dt_not_dtype.pt", Tensor("w", four, [4]), v3=True, dtype_global=("torch", "FloatStorage"))
    short = Storage("u32", [1, 2, 3], nbytes=10)
    bad_v3("bad_dt_v3_short.pt", Tensor("w", short, [3]))
    with zipfile.ZipFile(os.path.join(OUT, "bad_dt_v3_short.pt")) as z:
        assert len(z.read("bad_dt_v3_short/data/0")) == 10

    def st_file(dtype, shape, nbytes):
        h = json.dumps({"a": {"dtype": dtype, "shape": shape, "data_offsets": [0, nbytes]}},
                       separators=(",", ":")).encode()
        h += b" " * (-len(h) % 8)
        return struct.pack("<Q", len(h)) + h + bytes(range(1, nbytes + 1))
    # Packed dtypes whose elements do not fill whole bytes (safetensors'
    # MisalignedSlice): 3 x 4 bits, 3 x 6 bits.
    write_bad("bad_dt_st_f4.safetensors", st_file("F4", [3], 2))
    write_bad("bad_dt_st_f6.safetensors", st_file("F6_E2M3", [3], 3))
    write_bad("bad_dt_st_unknown.safetensors", st_file("F8_E4M3X", [4], 4))

    # torch 1.13's own saves of what rcc does not read.
    def save(name, t):
        buf = io.BytesIO()
        torch.save({"w": t}, buf)
        back = torch.load(io.BytesIO(buf.getvalue()))["w"]
        assert back.layout == t.layout and back.is_quantized == t.is_quantized
        write_bad(name, buf.getvalue())
    i = torch.tensor([[0, 1, 2], [2, 0, 1]])
    save("bad_dt_sparse_coo.pt", torch.sparse_coo_tensor(i, torch.tensor([1.0, 2.0, 3.0]), (3, 3)))
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        save("bad_dt_sparse_csr.pt", torch.eye(3).to_sparse_csr())
    save("bad_dt_quantized.pt",
         torch.quantize_per_tensor(torch.tensor([1.0, 2.0, 3.0]), 0.1, 0, torch.qint8))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.save(torch.nested.nested_tensor([torch.zeros(2), torch.zeros(3)]), io.BytesIO())
        raise SystemExit("torch can save a nested tensor now: add bad_dt_nested.pt")
    except RuntimeError:
        pass                                        # torch 1.13 cannot

    # torch.export's PT2 archive (torch >= 2.6 torch.export.save,
    # torch/export/pt2_archive/_package.py): the model's JSON, a weight
    # (torch.save of one tensor, as _package_aoti_files writes it), then
    # archive_format and archive_version; its PyTorchFileWriter (min
    # version 6) ends with .data/version and .data/serialization_id.
    weight = io.BytesIO()
    torch.save(torch.arange(4.0), weight)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
        for rel, data in (("byteorder", b"little"),
                          ("models/model.json", json.dumps({"schema_version": {"major": 8, "minor": 0},
                                                            "graph_module": {}}).encode()),
                          ("data/weights/weight_0", weight.getvalue()),
                          ("archive_format", b"pt2"), ("archive_version", b"0"),
                          (".data/version", b"6\n"), (".data/serialization_id", SERIALIZATION_ID)):
            z.writestr(zipfile.ZipInfo("bad_dt_export/" + rel, date_time=DATE), data)
    write_bad("bad_dt_export.pt2", buf.getvalue())
    # The older torch.export.save zip (torch 2.1 - 2.5): records at the top,
    # the state dict a torch.save archive inside.
    inner = io.BytesIO()
    torch.save(collections.OrderedDict(w=torch.arange(4.0)), inner)
    consts = io.BytesIO()
    torch.save({}, consts)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
        for rel, data in (("serialized_exported_program.json", b'{"graph_module": {}}'),
                          ("serialized_state_dict.pt", inner.getvalue()),
                          ("serialized_constants.pt", consts.getvalue()), ("version", b"5.1")):
            z.writestr(zipfile.ZipInfo(rel, date_time=DATE), data)
    write_bad("bad_dt_export_old.pt2", buf.getvalue())


# ------------------------------------------------------------ main

def main(argv):
    global OUT
    gf.OUT = OUT = gf.out_dir(argv, "gen_dtypes")
    manifest = gf.fresh_manifest(OUT, "dtypes")
    torch.set_num_threads(1)
    check_fp8()
    nround = check_integer_rounding()
    fx_v3()
    note = fx_st()
    fx_torch_complex()
    fx_jit()
    fx_fp8_mlp()
    fx_st_packed()
    bad_inputs()
    with open(manifest + ".tmp", "w") as fp:
        fp.write("".join("good %s\n" % n for n in GOOD))
        fp.write("".join("bad %s\n" % n for n in BAD))
    os.replace(manifest + ".tmp", manifest)
    sys.stderr.write("gen_dtypes: %d fixtures, %d bad inputs in %s (FP8 decoders checked on 5 x 256 "
                     "codes, f32 rounding on %d integers against numpy; %s)\n"
                     % (len(GOOD), len(BAD), OUT, nround, note))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
