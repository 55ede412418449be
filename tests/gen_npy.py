#!/usr/bin/python3
"""gen_npy.py — the .npy cases of tests/npy.sh (src/gen/kernels/rk_npy.c).

    gen_npy.py write DIR        writes DIR/*.npy and DIR/manifest.txt
    gen_npy.py check DIR OUT    every OUT/NAME.npy (written by test_npy with
                                rk_npy_write) loads in numpy equal to DIR/NAME.npy

Files numpy writes (np.save, np.lib.format.write_array for versions 2.0
and 3.0) and files crafted byte by byte (a lying header length, a shape
that overflows, a Fortran-ordered array, ...).  Manifest lines, one per
check, the messages being what rk_npy.c must say (a prefix of it):

    ok NAME DESCR NDIM SIZE... NBYTES      the header reads as this, and the
                                           data equals NAME.raw (arr.tobytes())
    err NAME | MESSAGE                     rk_npy_read_header refuses it
    expect NAME WANT NDIM SIZE... BATCH_DIM BATCH_MIN BATCH_MAX | MESSAGE
                                           rk_npy_expect (WANT f4 or i8;
                                           MESSAGE "ok" when it must accept)
    small NAME | MESSAGE                   rk_npy_read_data into a buffer one
                                           byte too small
    half NAME SRC                          SRC.npy's float32 values written by
                                           rk_npy_write as RK_NPY_F2 into
                                           OUT/NAME.npy, and rounded by
                                           rk_dtype.c's rk_to_f16 first into
                                           OUT/NAME_r.npy: both must be numpy's
                                           astype(float16) (NAME.npy, NAME_r.npy)
"""
import io
import os
import struct
import sys

import numpy as np

OUT = None
LINES = []
DICT = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }"


def save(name, arr, version=None):
    path = os.path.join(OUT, name + ".npy")
    with open(path, "wb") as fp:
        if version is None:
            np.save(fp, arr)
        else:
            np.lib.format.write_array(fp, arr, version=version)
    return path


def raw_file(name, data):
    with open(os.path.join(OUT, name + ".npy"), "wb") as fp:
        fp.write(data)


def shape_py(shape):
    """Python's repr of a tuple of ints, as numpy writes it."""
    return repr(tuple(int(s) for s in shape))


def ok(name, arr, version=None):
    """A good file: the header reads as arr's, the data as arr.tobytes()."""
    save(name, arr, version)
    with open(os.path.join(OUT, name + ".raw"), "wb") as fp:
        fp.write(np.ascontiguousarray(arr).tobytes())
    descr = np.lib.format.dtype_to_descr(arr.dtype)
    LINES.append("ok %s %s %d %s %d" % (name, descr, arr.ndim,
                                        " ".join(str(s) for s in arr.shape), arr.nbytes))


def ok_crafted(name, data, descr, shape, nbytes):
    """A good crafted file whose data is nbytes zero bytes."""
    raw_file(name, data)
    with open(os.path.join(OUT, name + ".raw"), "wb") as fp:
        fp.write(b"\0" * nbytes)
    LINES.append("ok %s %s %d %s %d" % (name, descr, len(shape), " ".join(str(s) for s in shape), nbytes))


def err(name, message):
    LINES.append("err %s | %s: %s" % (name, name + ".npy", message))


def crafted(descr, shape_text, data_len, version=1, fortran="False", extra="", pad_to=64):
    """A .npy file from its parts: the header's dict text as given, padded
    as numpy pads, then data_len zero bytes."""
    d = "{'descr': %s, 'fortran_order': %s, 'shape': %s, %s}" % (descr, fortran, shape_text, extra)
    prefix = 10 if version == 1 else 12
    pad = (-(len(d) + 1 + prefix)) % pad_to
    return manual(d + " " * pad + "\n", data_len, version)


def manual(header, data_len, version=1, hlen=None):
    """Magic, version, the header length (hlen, or the true one), the
    header text as given, data_len zero bytes."""
    header = header.encode("latin-1")
    fmt = "<H" if version == 1 else "<I"
    return (b"\x93NUMPY" + bytes([version, 0]) + struct.pack(fmt, len(header) if hlen is None else hlen)
            + header + b"\0" * data_len)


def expect(name, want, shape, batch_dim, bmin, bmax, message):
    LINES.append("expect %s %s %d %s %d %d %d | %s" % (
        name, want, len(shape), " ".join(str(s) for s in shape), batch_dim, bmin, bmax,
        message if message == "ok" else name + ".npy: " + message))


def write(out):
    global OUT
    OUT = out
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(9)

    # ------------------------------------------------ good files, round trips
    ok("f4_2x3", rng.standard_normal((2, 3)).astype("<f4"))
    ok("f4_vec", rng.standard_normal(5).astype("<f4"))
    ok("f4_scalar", np.array(1.5, dtype="<f4"))
    ok("f4_empty", np.zeros((0, 3), dtype="<f4"))
    ok("f4_8d", rng.standard_normal((1, 2, 1, 2, 1, 2, 1, 3)).astype("<f4"))
    ok("f4_specials", np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 1e-45, 3.4028235e38], dtype="<f4"))
    ok("i8_4x2", np.array([[0, 1], [-1, 2**62], [-(2**63), 2**63 - 1], [7, -7]], dtype="<i8"))
    ok("f4_9x3", rng.standard_normal((9, 3)).astype("<f4"))
    ok("f4_v2", rng.standard_normal((3, 4)).astype("<f4"), version=(2, 0))
    ok("i8_v3", np.arange(6, dtype="<i8").reshape(2, 3), version=(3, 0))
    # A transposed array is saved C-ordered when it is not F-contiguous...
    ok("f4_sliced", rng.standard_normal((4, 6)).astype("<f4")[::2, 1:4])
    # ... other dtypes read (the model's check refuses them)
    ok("f8_2x3", rng.standard_normal((2, 3)))
    ok("b1_2x3", rng.standard_normal((2, 3)) > 0)
    ok("i4_vec", np.arange(4, dtype="<i4"))
    # ... and the dtypes of rk_npy_dtype a model writes
    ok("i2_vec", np.array([-32768, -1, 0, 32767], dtype="<i2"))
    ok("i1_vec", np.array([-128, -1, 0, 127], dtype="|i1"))
    ok("u1_vec", np.array([0, 1, 200, 255], dtype="|u1"))
    # float32 -> float16: ties to even, overflow, subnormals, specials
    e = [1 + 2.0**-11, 1 + 3 * 2.0**-11, 65504, 65519.99, 65520, 1e6, 2.0**-14, 2.0**-25, 3 * 2.0**-26,
         2.0**-24 * 1.5, 2.0**-24 * 2.5, 6e-8, 1e-9, 0.0, -0.0, np.inf, -np.inf, 0.1, -2.5, 1 / 3]
    src = np.array(e + [-v for v in e] + list(rng.standard_normal(40)), dtype="<f4")
    save("f2_src", src)
    LINES.append("ok f2_src <f4 1 %d %d" % (src.size, src.size * 4))
    with open(os.path.join(OUT, "f2_src.raw"), "wb") as fp:
        fp.write(src.tobytes())
    with np.errstate(over="ignore"):   # 65520 and 1e6 become infinities, as wanted
        half = src.astype("<f2")
    save("f2_round", half)
    save("f2_round_r", half)
    LINES.append("half f2_round f2_src")
    # empty, one size large
    ok_crafted("zero_big", crafted("'<f4'", "(0, %d)" % 2**40, 0), "<f4", (0, 2**40), 0)
    # Python 2's long suffix
    ok_crafted("py2_long", crafted("'<f4'", "(2L, 3L)", 24), "<f4", (2, 3), 24)

    # ------------------------------------------------ rk_npy_expect
    expect("f4_2x3", "f4", [0, 3], 0, 1, 8, "ok")
    expect("f4_2x3", "f4", [2, 3], -1, 0, 0, "ok")
    expect("f4_2x3", "f4", [0, 4], 0, 1, 8, "shape (2, 3); the model expects (batch, 4) with batch in 1..8")
    expect("f4_2x3", "f4", [0, 3], 0, 4, 4, "shape (2, 3); the model expects (batch, 3) with batch 4")
    expect("f4_9x3", "f4", [0, 3], 0, 1, 8, "shape (9, 3); the model expects (batch, 3) with batch in 1..8")
    expect("f4_empty", "f4", [0, 3], 0, 1, 8, "shape (0, 3); the model expects (batch, 3) with batch in 1..8")
    expect("f4_vec", "f4", [0, 5], 0, 1, 8, "shape (5,); the model expects (batch, 5) with batch in 1..8")
    expect("f4_2x3", "f4", [3, 0], 1, 1, 8, "shape (2, 3); the model expects (3, batch) with batch in 1..8")
    expect("f4_2x3", "f4", [5], -1, 0, 0, "shape (2, 3); the model expects (5,)")
    expect("f4_scalar", "f4", [], -1, 0, 0, "ok")
    expect("f4_scalar", "f4", [1], -1, 0, 0, "shape (); the model expects (1,)")
    expect("i8_4x2", "i8", [0, 2], 0, 1, 8, "ok")
    expect("i8_4x2", "f4", [0, 2], 0, 1, 8, "dtype <i8 (int64); the model expects <f4 (float32)")
    expect("f4_2x3", "i8", [0, 3], 0, 1, 8, "dtype <f4 (float32); the model expects <i8 (int64)")
    expect("f8_2x3", "f4", [0, 3], 0, 1, 8, "dtype <f8 (float64); the model expects <f4 (float32)")
    expect("b1_2x3", "f4", [0, 3], 0, 1, 8, "dtype |b1 (bool); the model expects <f4 (float32)")
    expect("b1_2x3", "b1", [0, 3], 0, 1, 8, "ok")
    expect("f4_2x3", "b1", [0, 3], 0, 1, 8, "dtype <f4 (float32); the model expects |b1 (bool)")
    expect("i4_vec", "i8", [4], -1, 0, 0, "dtype <i4 (int32); the model expects <i8 (int64)")
    raw_file("f4_big_endian", crafted("'>f4'", "(2,)", 8))
    expect("f4_big_endian", "f4", [2], -1, 0, 0, "dtype >f4 (big-endian float32); the model expects <f4 (float32)")
    LINES.append("small f4_2x3 | f4_2x3.npy: its 24 bytes of data do not fit in a buffer of 23")

    # ------------------------------------------------ refused headers
    a = rng.standard_normal((3, 4)).astype("<f4")
    save("fortran", np.asfortranarray(a))
    err("fortran", "Fortran order (column-major) is not supported")
    good = open(os.path.join(OUT, "f4_2x3.npy"), "rb").read()
    raw_file("truncated", good[:-3])
    err("truncated", "truncated: 21 bytes of data after the header; shape (2, 3) of <f4 needs 24")
    raw_file("trailing", good + b"\0")
    err("trailing", "trailing bytes: 25 bytes of data after the header; shape (2, 3) of <f4 needs 24")
    raw_file("cut_header", good[:40])
    err("cut_header", "header of %d bytes runs past the end of the file (40 bytes)"
        % struct.unpack_from("<H", good, 8)[0])
    raw_file("cut_magic", good[:5])
    err("cut_magic", "not a .npy file (5 bytes)")
    raw_file("empty", b"")
    err("empty", "not a .npy file (0 bytes)")
    raw_file("v2_cut", crafted("'<f4'", "(2,)", 8, version=2)[:11])
    err("v2_cut", "truncated header (11 bytes)")
    raw_file("magic", b"\x93NUMPZ" + good[6:])
    err("magic", "not a .npy file (no \\x93NUMPY magic)")
    raw_file("version4", good[:6] + b"\x04\x00" + good[8:])
    err("version4", "npy format version 4.0 is not supported (1.0, 2.0, 3.0)")
    raw_file("version11", good[:6] + b"\x01\x01" + good[8:])
    err("version11", "npy format version 1.1 is not supported (1.0, 2.0, 3.0)")
    # the header length lies: past the end, shorter (the dict is cut), longer (takes data)
    raw_file("hlen_huge", good[:8] + struct.pack("<H", 65535) + good[10:])
    err("hlen_huge", "header of 65535 bytes runs past the end of the file (%d bytes)" % len(good))
    raw_file("hlen_v2_huge", manual(DICT + "\n", 24, version=2, hlen=2**32 - 1))
    err("hlen_v2_huge", "header of 4294967295 bytes runs past the end of the file (%d bytes)"
        % (12 + len(DICT) + 1 + 24))
    raw_file("hlen_short", manual(DICT + "\n", 24, hlen=len(DICT) - 5))
    err("hlen_short", "malformed header")
    raw_file("hlen_long", manual(DICT + "\n", 24, hlen=len(DICT) + 9))
    err("hlen_long", "malformed header")
    big = crafted("'<f4'", "(2,)", 8, version=2, pad_to=20480)
    raw_file("header_too_long", big)
    err("header_too_long", "header of %d bytes is too long (at most 10000)" % (len(big) - 12 - 8))
    # shapes
    raw_file("shape_overflow", crafted("'<f4'", "(%d, %d)" % (2**40, 2**40), 0))
    err("shape_overflow", "shape (1099511627776, 1099511627776) has too many elements")
    # numpy's rule: the nonzero sizes must multiply without overflow even when one is 0
    raw_file("zero_huge", crafted("'<f4'", "(%d, %d, 0)" % (2**40, 2**40), 0))
    err("zero_huge", "shape (1099511627776, 1099511627776, 0) has too many elements")
    raw_file("bytes_overflow", crafted("'<f4'", "(%d,)" % 2**62, 0))
    err("bytes_overflow", "shape (4611686018427387904,) of <f4 is too many bytes")
    raw_file("size_too_large", crafted("'<f4'", "(99999999999999999999,)", 0))
    err("size_too_large", "a size of its shape is too large")
    raw_file("nine_dims", crafted("'<f4'", "(1, 1, 1, 1, 1, 1, 1, 1, 1)", 4))
    err("nine_dims", "more than 8 dimensions")
    raw_file("negative", crafted("'<f4'", "(-1,)", 0))
    err("negative", "malformed header")
    raw_file("paren_int", crafted("'<f4'", "(5)", 20))
    err("paren_int", "malformed header")
    raw_file("shape_list", crafted("'<f4'", "[2, 3]", 24))
    err("shape_list", "malformed header")
    raw_file("shape_two_commas", crafted("'<f4'", "(2,, 3)", 24))
    err("shape_two_commas", "malformed header")
    # dict
    raw_file("unknown_key", crafted("'<f4'", "(2,)", 8, extra="'x': 1, "))
    err("unknown_key", "header has an unknown key 'x'")
    raw_file("key_twice", crafted("'<f4'", "(2,)", 8, extra="'shape': (2,), "))
    err("key_twice", "header gives 'shape' twice")
    raw_file("no_order", manual("{'descr': '<f4', 'shape': (2,), }\n", 8))
    err("no_order", "header has no 'fortran_order'")
    raw_file("no_brace", manual("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3) \n", 24))
    err("no_brace", "malformed header")
    raw_file("junk_after", manual(DICT + " x\n", 24))
    err("junk_after", "malformed header")
    raw_file("order_maybe", crafted("'<f4'", "(2,)", 8, fortran="Maybe"))
    err("order_maybe", "malformed header")
    raw_file("nul_in_header", crafted("'<f4'", "(2,)", 8).replace(b"'descr'", b"'des\0r'", 1))
    err("nul_in_header", "malformed header")
    # dtypes the reader cannot size
    raw_file("structured", crafted("[('a', '<f4')]", "(2,)", 8))
    err("structured", "dtype (not a simple type string) is not supported (a model takes bool, integer or float arrays)")
    raw_file("object", crafted("'|O'", "(2,)", 16))
    err("object", "dtype |O is not supported (a model takes bool, integer or float arrays)")
    save("unicode", np.array(["ab", "c"]))
    err("unicode", "dtype <U2 is not supported (a model takes bool, integer or float arrays)")
    raw_file("datetime", crafted("'<M8[ns]'", "(2,)", 16))
    err("datetime", "dtype <M8[ns] is not supported (a model takes bool, integer or float arrays)")
    raw_file("long_descr", crafted("'<f4444444444444444444'", "(2,)", 8))
    err("long_descr", "dtype <f4444444444444... is not supported")
    raw_file("escape_descr", crafted("'<f\\x34'", "(2,)", 8))
    err("escape_descr", "dtype <f... is not supported")

    with open(os.path.join(OUT, "manifest.txt"), "w") as fp:
        fp.write("\n".join(LINES) + "\n")
    print("gen_npy: %d checks in %s" % (len(LINES), OUT))


def check(src, out):
    names = sorted(n[:-4] for n in os.listdir(out) if n.endswith(".npy"))
    if not names:
        raise SystemExit("gen_npy check: no files in %s" % out)
    bad = 0
    for n in names:
        want = np.load(os.path.join(src, n + ".npy"))
        got = np.load(os.path.join(out, n + ".npy"))
        same = (got.dtype == want.dtype and got.shape == want.shape
                and np.ascontiguousarray(got).tobytes() == np.ascontiguousarray(want).tobytes())
        print("%s numpy loads rk_npy_write's %s.npy as the original" % ("ok  " if same else "FAIL", n))
        bad += not same
    print("%d files, %d differ" % (len(names), bad))
    return 1 if bad else 0


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "write":
        write(sys.argv[2])
    elif len(sys.argv) == 4 and sys.argv[1] == "check":
        sys.exit(check(sys.argv[2], sys.argv[3]))
    else:
        raise SystemExit("usage: gen_npy.py write DIR | check DIR OUT")
