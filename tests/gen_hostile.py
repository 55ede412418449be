#!/usr/bin/python3
"""Hostile weight files, crafted from the same building blocks as torch.save.

Usage:  /usr/bin/python3 tests/gen_hostile.py OUTDIR   (after gen_fixtures.py)

Each file is OUTDIR/bad_h_*.pt, tested by tests/bad/NAME.bad: rcc must exit
2 with one error line and never crash.  Files whose pickle would run a
command (`touch MARKER`) come with NAME.marker holding that path; the test
checks the command never ran.  Cases whose damage lies in tensor bytes
(rather than metadata) are caught by `rcc dump --verify`, which their .bad
file asks for.
"""
import os
import struct
import sys
import zipfile
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gen_fixtures as gf  # noqa: E402
from gen_fixtures import _global, _int, _u, tensor_pickle, torch_style_zip  # noqa: E402

F6 = struct.pack("<6f", 1, 2, 3, 4, 5, 6)


def sd_pickle(*entries, proto=b"\x80\x02"):
    """{name: value_opcodes, ...} as a protocol-2 dict pickle."""
    return proto + b"}(" + b"".join(_u(k) + v for k, v in entries) + b"u."


def weight():
    return ("w", tensor_pickle("0", 6, [2, 3], [3, 1]))


def payload(name, call):
    """A state dict whose second entry calls a global: the file is hostile."""
    torch_style_zip(name + ".pt", sd_pickle(weight(), ("evil", call)), [("0", F6)])
    with open(os.path.join(gf.OUT, name + ".marker"), "w") as fp:
        fp.write(gf.marker_path() + "\n")


def raw_zip(entries):
    """A zip archive written field by field, so that each field can lie:
    entries are dicts with name, data (the bytes stored in the file) and
    optional method, crc, usize (central directory) and local_sizes."""
    out, cd = bytearray(), bytearray()
    for e in entries:
        name = ("archive/" + e["name"]).encode()
        data = e["data"]
        method = e.get("method", 0)
        crc = e.get("crc", zlib.crc32(data) & 0xFFFFFFFF)
        usize = e.get("usize", len(data))
        lcs, lus = e.get("local_sizes", (len(data), usize))
        lho = len(out)
        out += struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, method, 0, 0, crc, lcs, lus, len(name), 0)
        out += name + data
        cd += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, method, 0, 0, crc, len(data), usize,
                          len(name), 0, 0, 0, 0, 0, lho) + name
    cd_off = len(out)
    out += cd + struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(entries), len(entries), len(cd), cd_off, 0)
    return bytes(out)


def deflate(data):
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    return c.compress(data) + c.flush()


def main(argv):
    gf.OUT = argv[1]
    marker = gf.marker_path()
    touch = "touch " + marker

    # Globals that run code, called with REDUCE: refused, never run.
    payload("bad_h_builtins_eval", _global("builtins", "eval")
            + _u("__import__('os').system(%r)" % touch) + b"\x85R")
    payload("bad_h_subprocess_popen", _global("subprocess", "Popen")
            + b"(" + _u("touch") + _u(marker) + b"l\x85R")
    payload("bad_h_runpy", _global("runpy", "_run_code")
            + _u("import os; os.system(%r)" % touch) + b"}\x86R")
    # The same through protocol 4's STACK_GLOBAL, names built on the stack.
    torch_style_zip("bad_h_stack_global.pt", sd_pickle(
        weight(), ("evil", _u("builtins") + _u("exec") + b"\x93" + _u("import os; os.system(%r)" % touch)
                   + b"\x85R"), proto=b"\x80\x04"), [("0", F6)])
    with open(os.path.join(gf.OUT, "bad_h_stack_global.marker"), "w") as fp:
        fp.write(marker + "\n")

    # copyreg.__newobj__ as its own class, 200,000 deep: one step of
    # interpretation each would recurse as deep in C.
    torch_style_zip("bad_h_newobj_chain.pt", b"\x80\x02ccopyreg\n__newobj__\nq\x00(" + b"h\x00" * 200000 + b"tR.", [])

    # Names and arguments reach the one error line: a control character in
    # a STACK_GLOBAL name is refused, and in a call's argument (a dict key
    # with a newline and a terminal escape) it is written escaped.
    torch_style_zip("bad_h_stack_global_control.pt", b"\x80\x04" + _u("os\nx") + _u("system") + b"\x93.", [])
    torch_style_zip("bad_h_call_key_escapes.pt", b"\x80\x02cposix\nsystem\n}" + _u("a\nb\x1b[31m") + _u("v")
                    + b"s\x85R.", [])

    # Resource bombs in the pickle.
    torch_style_zip("bad_h_mark_bomb.pt", b"\x80\x02" + b"(" * 100000 + b".", [])
    torch_style_zip("bad_h_list_bomb.pt", b"\x80\x02" + b"]" * 100000 + b"a" * 99999 + b".", [])
    torch_style_zip("bad_h_binunicode_past_end.pt", b"\x80\x02X" + struct.pack("<I", 0xFFFFFFF0) + b"abc.", [])
    torch_style_zip("bad_h_binget_unset.pt", b"\x80\x02}(" + _u("w") + b"h\x05u.", [])

    # Shared containers: one dict of 100,000 entries referenced 100,000
    # times (0.9 MB).  A walk that entered it once per reference did 10^10
    # steps; the state-dict search enters each container once.
    n = 100000
    torch_style_zip("bad_h_shared_dag.pt", b"\x80\x02}q\x00(" + b"".join(
        b"J" + struct.pack("<i", i) + b"K\x00" for i in range(n)) + b"u0](" + b"h\x00" * n + b"e.", [])
    # One module of 1,000 parameters named 99,990 times by its parent: a
    # state dict of 10^8 entries from 1.5 MB (torch.load would build it),
    # within a budget of 100,000 module visits.  The module walk's budget
    # counts entries too.
    def module(params, modules):
        return (_global("__main__", "Net") + b")\x81" + b"}(" + _u("_parameters") + params
                + _u("_buffers") + b"}" + _u("_modules") + modules + b"ub")
    shared = module(b"}(" + b"".join(_u("p%d" % i) + (tensor_pickle("0", 6, [6], [1]) + b"q\x01" if i == 0
                                                       else b"h\x01") for i in range(1000)) + b"u", b"}")
    torch_style_zip("bad_h_module_bomb.pt", b"\x80\x02" + module(b"}", b"}(" + _u("m0") + shared + b"r\x00\x00\x00\x00"
                    + b"".join(_u("m%d" % i) + b"j\x00\x00\x00\x00" for i in range(1, n - 10)) + b"u") + b".",
                    [("0", F6)])

    # 10,000 modules side by side in a list, each naming one module of
    # 10,000 parameters twice: 2 * 10^8 entries to weigh from 1.2 MB.  The
    # state-dict search counts every candidate within one shared budget.
    big = module(b"}(" + b"".join(_u("p%d" % i) + (tensor_pickle("0", 6, [6], [1]) + b"q\x01" if i == 0
                                                    else b"h\x01") for i in range(10000)) + b"u", b"}")
    torch_style_zip("bad_h_module_candidates.pt", b"\x80\x02](" + module(b"}", b"}(" + _u("a") + big
                    + b"r\x00\x00\x00\x00" + _u("b") + b"j\x00\x00\x00\x00u")
                    + b"".join(module(b"}", b"}(" + _u("a") + b"j\x00\x00\x00\x00" + _u("b") + b"j\x00\x00\x00\x00u")
                               for _ in range(9999)) + b"e.", [("0", F6)])

    # Tensor metadata.
    torch_style_zip("bad_h_negative_size.pt", sd_pickle(
        ("w", tensor_pickle("0", 6, [2, 3], [3, 1]).replace(b"(K\x02K\x03t", b"(J" + struct.pack("<i", -2) + b"K\x03t"))),
        [("0", F6)])
    torch_style_zip("bad_h_extent_past_storage.pt", sd_pickle(
        ("w", tensor_pickle("0", 6, [2, 3], [3, 1], offset=1))), [("0", F6)])
    torch_style_zip("bad_h_missing_record.pt", sd_pickle(("w", tensor_pickle("7", 6, [6], [1]))), [("0", F6)])

    # The zip container.
    pkl = sd_pickle(weight())
    version = {"name": "version", "data": b"3\n"}
    gf.write_bad("bad_h_duplicate_names.pt", raw_zip([
        {"name": "data.pkl", "data": pkl}, {"name": "data/0", "data": F6},
        {"name": "data/0", "data": F6[::-1]}, version]))
    # Local header sizes disagree with the central directory (no data
    # descriptor, so a streaming reader would believe the local ones).
    gf.write_bad("bad_h_local_size_lie.pt", raw_zip([
        {"name": "data.pkl", "data": pkl}, {"name": "data/0", "data": F6, "local_sizes": (12, 12)}, version]))
    # A zip bomb: data/0 is 24 bytes by the directory and the pickle, but
    # its deflate stream expands to 64 MiB (caught when the bytes are read).
    gf.write_bad("bad_h_zip_bomb.pt", raw_zip([
        {"name": "data.pkl", "data": pkl},
        {"name": "data/0", "data": deflate(b"\0" * (64 << 20)), "method": 8, "usize": 24,
         "crc": zlib.crc32(F6)}, version]))
    # A flipped byte in a tensor record: the CRC-32 no longer matches.
    gf.write_bad("bad_h_crc_mismatch.pt", raw_zip([
        {"name": "data.pkl", "data": pkl},
        {"name": "data/0", "data": F6[:3] + bytes([F6[3] ^ 0x40]) + F6[4:], "crc": zlib.crc32(F6)}, version]))
    text_opcodes()
    return 0


def text_opcodes():
    """Protocol 0/1's text opcodes, malformed: each operand line is checked
    as strictly as a binary operand, and its length is bounded."""
    def sd(op):   # {'w': <op>} in protocol 0's text opcodes
        return b"(dp0\nVw\np1\n" + op + b"s."
    cases = {
        "unterminated": b"(dp0\nVw\np1\nI12",                    # data ends inside the line
        "int_junk": sd(b"I12abc\n"),
        "int_ambiguous": sd(b"I+1\n"),                          # bool to _pickle, int to pickle.py
        "long_5000_digits": sd(b"L" + b"7" * 5000 + b"L\n"),
        "float_junk": sd(b"F1.5x\n"),
        "float_hex": sd(b"F0x1p3\n"),                           # strtod would take it
        "string_unquoted": sd(b"Sabc\n"),
        "string_mismatched_quotes": sd(b"S'abc\"\n"),
        "string_bad_x_escape": sd(b"S'\\x4'\n"),
        "string_trailing_backslash": sd(b"S'abc\\'\n"),
        "unicode_truncated_escape": sd(b"Vab\\u12\n"),
        "unicode_beyond_10ffff": sd(b"V\\U00110000\n"),
        "put_negative": b"(dp0\nVw\np-1\nI1\ns.",
        "get_unset": sd(b"g7\n"),
        "ext1": sd(b"\x82\x01"),
        "next_buffer": sd(b"\x97"),
        "text_pid_not_storage": sd(b"P('storage', <class 'torch.Tensor'>, '0', 'cpu', 6)\n"),
    }
    for name, pkl in cases.items():
        torch_style_zip("bad_h_text_%s.pt" % name, pkl, [("0", F6)])


if __name__ == "__main__":
    sys.exit(main(sys.argv))
