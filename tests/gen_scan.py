#!/usr/bin/python3
"""Hostile and benign archives for `rcc scan` and the refusal of calls
(issue 11, /work/notes/scan11.md).

Usage:  /usr/bin/python3 tests/gen_scan.py OUTDIR      (writes OUTDIR/scan/)

Writes OUTDIR/scan/
  NAME.pt        one archive per case
  NAME.marker    for every hostile case: the absolute path its payload
                 would `touch` (OUTDIR/scan/NAME.pwned) if it ever ran; the
                 test checks that path never appears
  manifest.txt   written last (the make stamp), one case a line:
                   FILE VERDICT CALLABLE TENSOR OFFSET
                 VERDICT   safe | needs-classes | runs-code
                 CALLABLE  the dotted name of the first call torch.load would
                           make that runs code, as the pickle writes it, or -
                 TENSOR    a tensor `rcc dump --allow-calls FILE` must list
                           (runs-code files whose tensors rcc can read past
                           the call), or - (none: the pickle cannot be read
                           to the end, or the case is not runs-code)
                 OFFSET    the byte offset of that call's opcode (REDUCE,
                           BUILD, INST, OBJ) in the object's pickle (data.pkl;
                           a legacy file's 4th pickle), or -
tests/scan.sh checks every line.

The files are written by torch.save itself: a hostile payload is an object
whose __reduce__ returns the call, pickled by Python's own pickler.  Where
the payload must name a global under another name than Python would
(`os.system` rather than `posix.system`) the pure-Python pickler is used
with save_global taught one alias (class G).  Only the patterns Python's
pickler never writes (INST, OBJ, a second BUILD calling a `__setstate__`
put there by the first, BUILD of a global, a pickle without STOP) are
assembled by hand, and then spliced beside a tensor written by torch.save.

Every benign case is checked against torch itself: safe if and only if
torch.load(weights_only=True) reads it, needs-classes if only
torch.load(weights_only=False) does.  No hostile file is ever loaded here;
each is only checked (pickletools, which executes nothing) to name the
callable its manifest line gives.
"""
import argparse
import collections
import datetime
import decimal
import fractions
import pathlib
import functools
import inspect
import io
import os
import pickle
import pickletools
import pty
import runpy
import struct
import subprocess
import sys
import types
import uuid
import zipfile

import numpy as np
import torch
import torch.nn as nn
import torch.utils.bottleneck.__main__ as bottleneck_main
import torchvision

OUT = None          # OUTDIR/scan, absolute
CASES = []          # (file, verdict, callable, tensor)


# ------------------------------------------------------------ pickling aids

class G:
    """A global named MODULE.NAME in the pickle (GLOBAL, or STACK_GLOBAL
    from protocol 4), whatever object Python would find there."""

    def __init__(self, module, name):
        self.module, self.name = module, name

    def __call__(self, *args):      # pickle wants a callable; never called
        raise AssertionError("a payload was called")


class Call:
    """Pickles as a call of F(*ARGS): F may itself be a Call (a call of a
    call's result) or a G."""

    def __init__(self, f, *args):
        self.f, self.args = f, args

    def __reduce__(self):
        return (self.f, self.args)

    def __call__(self, *args):
        raise AssertionError("a payload was called")


class AliasPickler(pickle._Pickler):
    """Python's pure pickler, naming a G as its module and name."""

    def reducer_override(self, obj):
        if isinstance(obj, G):
            return obj.name
        return NotImplemented

    def save_global(self, obj, name=None):
        if not isinstance(obj, G):
            return super().save_global(obj, name)
        if self.proto >= 4:
            self.save(obj.module)
            self.save(obj.name)
            self.write(pickle.STACK_GLOBAL)
        else:
            self.write(pickle.GLOBAL + obj.module.encode() + b"\n" + obj.name.encode() + b"\n")
        self.memoize(obj)


ALIAS = types.ModuleType("rcc_alias_pickle")
ALIAS.Pickler, ALIAS.dump = AliasPickler, pickle.dump


def save(obj, **kw):
    buf = io.BytesIO()
    torch.save(obj, buf, **kw)
    return buf.getvalue()


def save_hostile(obj, **kw):
    return save(obj, pickle_module=ALIAS, **kw)


# ------------------------------------------------------------ archives

def records(data):
    """The records of a torch.save zip archive, in order: [(name, bytes)]."""
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return [(i.filename, z.read(i)) for i in z.infolist()]


def with_pickle(data, pkl):
    """torch.save's archive DATA with its data.pkl replaced by PKL."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
        for name, body in records(data):
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            z.writestr(info, pkl if name.endswith("/data.pkl") else body)
    return buf.getvalue()


def data_pkl(data):
    return next(b for n, b in records(data) if n.endswith("/data.pkl"))


def _u(s):
    b = s.encode()
    return b"X" + struct.pack("<I", len(b)) + b


def _global(mod, name):
    return b"c" + mod.encode() + b"\n" + name.encode() + b"\n"


def spliced(payload, first=False, stop=True):
    """A real torch.save of {"w": torch.zeros(2)} (protocol 2) with the
    entry "x": PAYLOAD (hand-assembled opcodes leaving one value) added
    after w (before it when FIRST); no STOP when not STOP.  PAYLOAD's memo
    indices must be >= 100 (torch's own are small)."""
    base = save({"w": torch.zeros(2)})
    pkl = data_pkl(base)
    head = b"\x80\x02}q\x00X\x01\x00\x00\x00wq\x01"
    assert pkl.startswith(head) and pkl.endswith(b"s."), pkl[:40]
    w = pkl[len(head):-2]
    x = _u("x") + payload
    body = (x + _u("w") + b"q\x01" + w) if first else (_u("w") + b"q\x01" + w + x)
    pkl = b"\x80\x02}q\x00(" + body + b"u" + (b"." if stop else b"")
    return with_pickle(base, pkl)


# ------------------------------------------------------------ cases

def write(name, data):
    with open(os.path.join(OUT, name), "wb") as fp:
        fp.write(data)


def marker(name):
    return os.path.join(OUT, name + ".pwned")


# The calls the oracle below takes as inert (issue 11's "interpreted" calls
# that these files make); a call of any other global is code.
INTERPRETED = {"torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_parameter", "collections.OrderedDict",
               "builtins.set", "__builtin__.set", "builtins.frozenset", "__builtin__.frozenset",
               "collections.defaultdict", "_codecs.encode", "torch.Size", "torch.device", "functools.partial",
               "argparse.Namespace", "numpy.core.multiarray.scalar", "numpy.dtype",
               "numpy.core.multiarray._reconstruct", "collections.Counter", "collections.deque",
               "builtins.bytearray", "__builtin__.bytearray", "builtins.complex", "__builtin__.complex",
               "builtins.slice", "__builtin__.slice", "builtins.range", "__builtin__.xrange",
               "datetime.datetime", "datetime.date", "datetime.timedelta", "datetime.timezone",
               "decimal.Decimal", "fractions.Fraction", "pathlib.PosixPath", "pathlib.PurePosixPath",
               "copyreg._reconstructor", "copy_reg._reconstructor"}


class Sym:
    """A value on the stack of the symbolic pickle machine."""

    def __init__(self, kind, v=None):
        self.kind, self.v = kind, v


def first_code_call(f):
    """(callable, offset) of the first call that runs code in the pickle
    read from F, found by a symbolic pickle machine that imports and calls
    nothing: REDUCE/NEWOBJ with arguments/INST/OBJ of a global outside
    INTERPRETED, a call of a call's result, BUILD of a global, and BUILD
    of an instance whose earlier BUILD gave it a __setstate__.  None if
    the pickle calls no code."""
    stack, memo = [], {}
    mark = Sym("mark")

    def pop_mark():
        i = max(k for k, x in enumerate(stack) if x is mark)
        items = stack[i + 1:]
        del stack[i:]
        return items

    def call(fn, args, pos):
        if fn.kind == "global" and fn.v in ("copyreg._reconstructor", "copy_reg._reconstructor"):
            base = args.v[1] if args.kind == "tuple" and len(args.v) == 3 else None
            plain = ("object", "dict", "list", "tuple", "set", "frozenset", "int", "float", "str", "bytes")
            if base is None or base.kind != "global" or base.v.split(".", 1)[-1] not in plain \
                    or base.v.split(".", 1)[0] not in ("builtins", "__builtin__"):
                return (base.v if base is not None and base.kind == "global" else "?", pos)   # base.__init__
            stack.append(Sym("inst", {}))
            return None
        if fn.kind == "global" and fn.v == "functools.partial":   # partial(func): makes one, calls nothing
            f0 = args.v[0] if args.kind == "tuple" and args.v else None
            stack.append(Sym("partial", f0.v if f0 is not None and f0.kind == "global" else None))
            return None
        if fn.kind == "global" and fn.v in INTERPRETED:
            stack.append(Sym("inst", {}) if fn.v == "argparse.Namespace" else Sym("value", fn.v))
            return None
        # calling a partial runs its function
        return (fn.v if fn.kind in ("global", "partial") and fn.v else fn.v or "?", pos)

    for op, arg, pos in pickletools.genops(f):
        name, found = op.name, None
        if name == "STOP":
            return None
        if name in ("PROTO", "FRAME"):
            continue
        if name == "MARK":
            stack.append(mark)
        elif "UNICODE" in name or "STRING" in name or "BYTES" in name:
            stack.append(Sym("str", arg))
        elif name in ("PUT", "BINPUT", "LONG_BINPUT"):
            memo[arg] = stack[-1]
        elif name == "MEMOIZE":
            memo[len(memo)] = stack[-1]
        elif name in ("GET", "BINGET", "LONG_BINGET"):
            stack.append(memo[arg])
        elif name in ("GLOBAL", "INST"):
            g = Sym("global", arg.replace(" ", "."))
            if name == "GLOBAL":
                stack.append(g)
            else:
                found = call(g, pop_mark(), pos)
        elif name == "STACK_GLOBAL":
            n, m = stack.pop(), stack.pop()
            stack.append(Sym("global", m.v + "." + n.v))
        elif name == "EMPTY_DICT":
            stack.append(Sym("dict", {}))
        elif name == "DICT":
            items = pop_mark()
            stack.append(Sym("dict", {k.v: v for k, v in zip(items[::2], items[1::2]) if k.kind == "str"}))
        elif name == "SETITEM":
            v, k = stack.pop(), stack.pop()
            if stack[-1].kind == "dict" and k.kind == "str":
                stack[-1].v[k.v] = v
        elif name == "SETITEMS":
            items = pop_mark()
            if stack[-1].kind == "dict":
                stack[-1].v.update({k.v: v for k, v in zip(items[::2], items[1::2]) if k.kind == "str"})
        elif name in ("TUPLE", "LIST", "FROZENSET"):
            stack.append(Sym("tuple", pop_mark()))
        elif name in ("TUPLE1", "TUPLE2", "TUPLE3"):
            k = int(name[-1])
            items = stack[-k:]
            del stack[-k:]
            stack.append(Sym("tuple", items))
        elif name == "EMPTY_TUPLE":
            stack.append(Sym("tuple", []))
        elif name in ("APPENDS", "ADDITEMS", "POP_MARK"):
            pop_mark()
        elif name in ("APPEND", "POP", "BINPERSID"):
            stack.pop()
            if name == "BINPERSID":
                stack.append(Sym("value"))
        elif name == "DUP":
            stack.append(stack[-1])
        elif name == "OBJ":
            items = pop_mark()
            found = call(items[0], items[1:], pos)
        elif name == "REDUCE":
            args, fn = stack.pop(), stack.pop()
            found = call(fn, args, pos)
        elif name in ("NEWOBJ", "NEWOBJ_EX"):
            if name == "NEWOBJ_EX":
                stack.pop()
            args, cls = stack.pop(), stack.pop()
            if args.kind == "tuple" and not args.v:
                stack.append(Sym("inst", {}))
            else:
                found = call(cls, args, pos)
        elif name == "BUILD":
            state, inst = stack.pop(), stack[-1]
            if inst.kind == "global":
                found = (inst.v, pos)
            elif inst.kind == "partial" and state.kind == "tuple" and state.v and state.v[0].kind == "global":
                inst.v = state.v[0].v           # partial.__setstate__((func, args, kwds, dict))
            elif inst.kind == "inst" and "__setstate__" in inst.v:
                fn = inst.v["__setstate__"]
                found = (fn.v if fn.kind == "global" else "?", pos)
            elif inst.kind == "inst" and state.kind == "dict":
                inst.v.update(state.v)
        else:               # numbers, None, booleans, empty containers, PERSID
            stack.append(Sym("value"))
        if found:
            return found
    return None


def object_pickle(data):
    """The bytes of the pickle holding the object: data.pkl of a zip
    archive; the 4th pickle of a legacy file (magic, version, sys info,
    then the object), which its offsets count from."""
    if data[:4] == b"PK\x03\x04":
        return data_pkl(data)
    f = io.BytesIO(data)
    for _ in range(3):
        for op, _, _ in pickletools.genops(f):
            pass
    return data[f.tell():]


def hostile(name, data, callable_, tensor="w"):
    """A file whose torch.load would call CALLABLE first (never loaded
    here)."""
    write(name + ".pt", data)
    with open(os.path.join(OUT, name + ".marker"), "w") as fp:
        fp.write(marker(name) + "\n")
    # The first code call, as a symbolic pickle machine finds it (nothing
    # is imported or called), names the callable written in the pickle
    # (protocol 2 writes builtins as __builtin__); its offset is that of
    # the calling opcode (REDUCE, BUILD, INST, OBJ, NEWOBJ) in the pickle.
    found = first_code_call(io.BytesIO(object_pickle(data)))
    assert found and found[0] == callable_, (name, callable_, found)
    offset = found[1]
    CASES.append((name + ".pt", "runs-code", callable_, tensor, str(offset)))


def weights_only_module():
    """torch 1.13's weights_only unpickler (its allowlist of globals) with
    the one opcode it lacks for checkpoints, BINFLOAT, as torch 2 reads it:
    1.13 refuses every pickled float ("Unsupported operand 71"), which says
    nothing about the globals the file needs."""
    src = inspect.getsource(torch._weights_only_unpickler)
    at = "            elif key[0] == BININT[0]:\n"
    assert src.count(at) == 1 and "BINFLOAT" not in src
    src = src.replace(at, "            elif key[0] == BINFLOAT[0]:\n"
                      "                self.append(struct.unpack('>d', read(8))[0])\n" + at)
    mod = types.ModuleType("rcc_weights_only_unpickler")
    exec(compile("import struct\nfrom pickle import BINFLOAT\n" + src, "<weights_only+BINFLOAT>", "exec"),
         mod.__dict__)
    return mod


WEIGHTS_ONLY = None


def weights_only_load(data):
    global WEIGHTS_ONLY
    if WEIGHTS_ONLY is None:
        WEIGHTS_ONLY = weights_only_module()
    return torch.load(io.BytesIO(data), pickle_module=WEIGHTS_ONLY)


def benign(name, obj, verdict, tensor="-", **kw):
    data = save(obj, **kw)
    write(name + ".pt", data)
    # torch decides the verdict: safe iff its weights_only unpickler reads
    # it; needs-classes iff then only the full unpickler does.  Except at
    # protocol 0, whose storage ids torch.save writes as text that
    # torch.load cannot read: there the file must fail so, and the verdict
    # is the one of the same object at protocol 1.
    if kw.get("pickle_protocol") == 0:
        try:
            torch.load(io.BytesIO(data), weights_only=False)
            raise SystemExit("gen_scan.py: torch.load read a protocol 0 file; the case needs its verdict from torch")
        except AssertionError:
            pass
        assert first_code_call(io.BytesIO(object_pickle(data))) is None, name
        CASES.append((name + ".pt", verdict, "-", tensor, "-"))
        return
    try:
        torch.load(io.BytesIO(data), weights_only=True)
        got = "safe"
    except Exception as e:
        if "Unsupported operand 71" in str(e):
            try:
                weights_only_load(data)
                got = "safe"
            except Exception:
                got = None
        else:
            got = None
    if got is None:
        torch.load(io.BytesIO(data), weights_only=False)   # must load
        got = "needs-classes"
    assert got == verdict, (name, got, verdict)
    assert first_code_call(io.BytesIO(object_pickle(data))) is None, name
    CASES.append((name + ".pt", verdict, "-", tensor, "-"))


class Net(nn.Module):       # __main__.Net when this file runs as a script
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(3, 2)
        self.scale = 0.5

    def forward(self, x):
        return self.fc(x) * self.scale


class Partial(nn.Module):   # a module holding a functools.partial
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(3, 2)
        self.act = functools.partial(torch.nn.functional.leaky_relu, negative_slope=0.2)


class FakeTensor:
    """Pickles exactly as a tensor does (torch._utils._rebuild_tensor_v2 of
    a real storage) with chosen backward_hooks and extra arguments."""

    def __init__(self, hooks, *extra):
        self.storage = torch.zeros(2).storage()
        self.hooks, self.extra = hooks, extra

    def __reduce__(self):
        return (torch._utils._rebuild_tensor_v2,
                (self.storage, 0, (2,), (1,), False, self.hooks) + self.extra)


def hostile_cases():
    def sh(name):
        return "touch " + marker(name)

    def pysh(name):
        return "import os; os.system(%r)" % sh(name)

    def sd(evil):
        return {"w": torch.zeros(2), "x": evil}

    # GHSA-g38g-8gr9-h9xp: uuid._get_command_stdout(command, *args) runs
    # COMMAND ARGS (Python 3.11's uuid.py).
    n = "scan_uuid_command"
    hostile(n, save_hostile(sd(Call(uuid._get_command_stdout, "touch", marker(n)))), "uuid._get_command_stdout")
    # GHSA-4r9r-ch6f-vxmx: run_cprofile(code, globs) exec()s CODE.
    n = "scan_bottleneck_cprofile"
    hostile(n, save_hostile(sd(Call(bottleneck_main.run_cprofile, pysh(n), {}))),
            "torch.utils.bottleneck.__main__.run_cprofile")

    n = "scan_os_system"
    hostile(n, save_hostile(sd(Call(G("os", "system"), sh(n)))), "os.system")
    n = "scan_posix_system"            # what Python names os.system
    hostile(n, save_hostile(sd(Call(os.system, sh(n)))), "posix.system")
    n = "scan_builtins_eval"
    hostile(n, save_hostile(sd(Call(G("builtins", "eval"), "__import__('os').system(%r)" % sh(n)))),
            "builtins.eval")
    n = "scan_builtins_exec"        # Python's protocol 2 names builtins __builtin__
    hostile(n, save_hostile(sd(Call(exec, pysh(n)))), "__builtin__.exec")
    n = "scan_subprocess_popen"
    hostile(n, save_hostile(sd(Call(G("subprocess", "Popen"), ["touch", marker(n)]))), "subprocess.Popen")
    n = "scan_commands_popen"       # what Python's protocol 2 names it (fix_imports)
    hostile(n, save_hostile(sd(Call(subprocess.Popen, ["touch", marker(n)]))), "commands.Popen")
    n = "scan_runpy_run_code"
    hostile(n, save_hostile(sd(Call(runpy._run_code, pysh(n), {}))), "runpy._run_code")
    n = "scan_pty_spawn"
    hostile(n, save_hostile(sd(Call(pty.spawn, ["touch", marker(n)]))), "pty.spawn")
    # A nested torch.load of an archive that would itself run a command.
    n = "scan_load_from_bytes"
    inner = save_hostile(sd(Call(os.system, sh(n))))
    hostile(n, save_hostile(sd(Call(torch.storage._load_from_bytes, inner))), "torch.storage._load_from_bytes")
    # pickle.loads of an inner pickle that would run a command (bytes at
    # protocol 2 are _codecs.encode(str, 'latin1'), an interpreted call).
    n = "scan_pickle_loads"
    inner = pickle.dumps(Call(os.system, sh(n)), protocol=2)
    hostile(n, save_hostile(sd(Call(pickle.loads, inner))), "pickle.loads")

    # Protocol 4: the module and name strings of STACK_GLOBAL are memoised
    # as dict keys first and fetched back with BINGET.
    n = "scan_stack_global_memo"
    mod, fn = "posix", "system"
    obj = {mod: torch.zeros(1), fn: torch.zeros(1), "w": torch.zeros(2), "x": Call(G(mod, fn), sh(n))}
    data = save_hostile(obj, pickle_protocol=4)
    ops = [(op.name, arg) for op, arg, _ in pickletools.genops(data_pkl(data))]
    i = [k for k, (o, _) in enumerate(ops) if o == "STACK_GLOBAL"]
    assert any(ops[k - 1][0] == ops[k - 2][0] == "BINGET" for k in i), ops
    hostile(n, data, "posix.system")

    # Calls of what other calls return.
    n = "scan_getattr_import"       # getattr(__import__('os'), 'system')(...)
    hostile(n, save_hostile(sd(Call(Call(G("builtins", "getattr"), Call(G("builtins", "__import__"), "os"), "system"),
                                    sh(n)))), "builtins.__import__")
    n = "scan_getattr_module"       # getattr(getattr(<os.path>, 'os'), 'system')(...)
    getattr_ = G("builtins", "getattr")
    hostile(n, save_hostile(sd(Call(Call(getattr_, Call(getattr_, G("os", "path"), "os"), "system"), sh(n)))),
            "builtins.getattr")

    n = "scan_partial_call"         # functools.partial(os.system, 'touch ...')()
    hostile(n, save_hostile(sd(Call(functools.partial(os.system, sh(n))))), "posix.system")

    # NEWOBJ of an innocent class, BUILD {'__setstate__': os.system}, then
    # BUILD 'touch MARKER': the second BUILD calls os.system('touch ...').
    n = "scan_setstate_build"
    hostile(n, spliced(_global("argparse", "Namespace") + b")\x81}" + _u("__setstate__")
                       + _global("os", "system") + b"sb" + _u(sh(n)) + b"b"), "os.system")
    n = "scan_setstate_build_main"
    hostile(n, spliced(_global("__main__", "Net") + b")\x81}" + _u("__setstate__")
                       + _global("os", "system") + b"sb" + _u(sh(n)) + b"b"), "os.system")
    # BUILD of a global: torch._utils's _rebuild_tensor_v2 becomes
    # os.system, which the tensor after it would then call.
    n = "scan_build_global"
    hostile(n, spliced(_global("torch", "_utils") + b"}" + _u("_rebuild_tensor_v2") + _global("os", "system")
                       + b"sb", first=True), "torch._utils")

    # Calls nested where a reader might not look.
    n = "scan_tensor_hooks"         # the backward_hooks OrderedDict of a tensor
    hostile(n, save_hostile({"w": FakeTensor(collections.OrderedDict([(0, Call(os.system, sh(n)))]))}),
            "posix.system")
    n = "scan_tensor_metadata"      # a 7th argument (torch 2's metadata dict)
    hostile(n, save_hostile({"w": FakeTensor(collections.OrderedDict(), {"x": Call(os.system, sh(n))})}),
            "posix.system")
    n = "scan_ordered_dict"         # the state dict is an OrderedDict
    hostile(n, save_hostile(collections.OrderedDict([("w", torch.zeros(2)), ("x", Call(os.system, sh(n)))])),
            "posix.system")
    n = "scan_whole_module"         # torch.save(model), a submodule's attribute
    torch.manual_seed(0)
    m = nn.Sequential(nn.Linear(2, 2), nn.ReLU())
    m[0].evil = Call(os.system, sh(n))
    hostile(n, save_hostile(m), "posix.system", tensor="0.weight")
    n = "scan_legacy"
    hostile(n, save_hostile(sd(Call(os.system, sh(n))), _use_new_zipfile_serialization=False), "posix.system")
    n = "scan_protocol0"            # text opcodes (and text storage ids)
    hostile(n, save_hostile({"x": Call(os.system, sh(n)), "w": torch.zeros(2)}, pickle_protocol=0),
            "posix.system", tensor="-")
    n = "scan_protocol1"
    hostile(n, save_hostile(sd(Call(os.system, sh(n))), pickle_protocol=1), "posix.system")
    n = "scan_protocol5"
    hostile(n, save_hostile(sd(Call(os.system, sh(n))), pickle_protocol=5), "posix.system")
    # INST and OBJ (protocol 0/1 opcodes Python 3 never writes).
    # copyreg._reconstructor(Popen, Popen, argv): base.__new__(cls, state),
    # then base.__init__(obj, state), which is Popen(argv).
    n = "scan_reconstructor_base"
    hostile(n, spliced(_global("copyreg", "_reconstructor") + b"(" + _global("subprocess", "Popen")
                       + _global("subprocess", "Popen") + b"(" + _u("touch") + _u(marker(n)) + b"ltR"),
            "subprocess.Popen")
    # NEWOBJ with arguments: cls.__new__(cls, *args) with the file's
    # arguments, which is no plain instance (Popen's __new__ is object's,
    # but rcc cannot know a class's __new__).
    n = "scan_newobj_args"
    hostile(n, spliced(_global("subprocess", "Popen") + b"((" + _u("touch") + _u(marker(n)) + b"lt\x81"),
            "subprocess.Popen")
    n = "scan_inst"
    hostile(n, spliced(b"(" + _u(sh(n)) + b"ios\nsystem\n"), "os.system")
    n = "scan_obj"
    hostile(n, spliced(b"(" + _global("os", "system") + _u(sh(n)) + b"o"), "os.system")
    # nullifAI: the call, then garbage and no STOP; torch.load runs the
    # call before it fails.
    n = "scan_nullifai"
    hostile(n, spliced(_global("os", "system") + _u(sh(n)) + b"\x85R0" + b"\xff\xfe garbage", stop=False),
            "os.system", tensor="-")


def benign_cases():
    torch.manual_seed(0)
    mlp = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    benign("scan_ok_state_dict", mlp.state_dict(), "safe")
    opt = torch.optim.Adam(mlp.parameters(), lr=1e-3)
    mlp(torch.randn(3, 4)).sum().backward()
    opt.step()
    benign("scan_ok_optimizer", {"model": mlp.state_dict(), "optimizer": opt.state_dict(), "epoch": 3}, "safe")
    benign("scan_ok_sequential", mlp, "needs-classes")
    assert Net.__module__ == "__main__"
    benign("scan_ok_main_class", Net(), "needs-classes")
    benign("scan_ok_namespace_numpy", {"model": mlp.state_dict(), "args": argparse.Namespace(lr=0.1, depth=3),
                                       "best": np.float64(0.25), "step": np.int64(7)}, "needs-classes")
    benign("scan_ok_resnet18", torchvision.models.resnet18(), "needs-classes")
    vit = torchvision.models.VisionTransformer(image_size=32, patch_size=16, num_layers=1, num_heads=2,
                                               hidden_dim=8, mlp_dim=16, num_classes=3)
    assert isinstance(vit.norm_layer, functools.partial)
    benign("scan_ok_vit_partial", vit, "needs-classes")
    benign("scan_ok_partial", Partial(), "needs-classes")
    # Plain Python values a training script keeps in its checkpoint: every
    # one is made from data (interpreted), none is a call of code.
    benign("scan_ok_python_values", {
        "model": mlp.state_dict(),
        "history": collections.defaultdict(list, {"loss": [0.5, 0.25]}),
        "counts": collections.Counter("abca"), "recent": collections.deque([1, 2, 3], maxlen=5),
        "when": datetime.datetime(2024, 5, 17, 12, 30, tzinfo=datetime.timezone.utc),
        "took": datetime.timedelta(hours=3), "day": datetime.date(2024, 5, 17),
        "out": pathlib.PurePosixPath("/runs/exp1"), "z": complex(1, -2), "window": slice(0, 10, 2),
        "steps": range(0, 100, 10), "lr": decimal.Decimal("0.001"), "ratio": fractions.Fraction(3, 4),
        "mean": np.array([0.485, 0.456, 0.406], dtype=np.float32), "blob": bytearray(b"\x00\x01"),
        "tags": frozenset({"a"}),
    }, "needs-classes")
    # The same at protocols 0 and 1, where objects are copyreg._reconstructor
    # calls and bytes are _codecs.encode.
    for proto in (1, 0):
        benign("scan_ok_main_class_p%d" % proto, Net(), "needs-classes", pickle_protocol=proto)


def main(argv):
    global OUT
    if len(argv) != 2:
        raise SystemExit("usage: gen_scan.py OUTDIR")
    OUT = os.path.join(os.path.abspath(argv[1]), "scan")
    os.makedirs(OUT, exist_ok=True)
    for f in os.listdir(OUT):
        os.remove(os.path.join(OUT, f))
    hostile_cases()
    benign_cases()
    assert len({c[0] for c in CASES}) == len(CASES)
    for c in CASES:     # nothing ran while generating
        assert not os.path.exists(marker(c[0][:-3])), c
    tmp = os.path.join(OUT, "manifest.txt.tmp")
    with open(tmp, "w") as fp:
        for c in CASES:
            fp.write(" ".join(c) + "\n")
    os.rename(tmp, os.path.join(OUT, "manifest.txt"))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
