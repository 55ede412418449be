#!/usr/bin/python3
"""Does the spec `rcc infer` wrote decide what the model was built with?
(tests/infer-family.sh)

Usage:  infer_expect.py SPEC EXPECT

EXPECT is a case's `expect` file of tests/gen_infer.py: `name = value`
lines, the value in Python's notation.  Each must be assigned in SPEC:
a line `name = VALUE` (or `self.name = VALUE`), a trailing comment
allowed, or `name = VALUE` among the arguments of a call or a block's
parameters (`self = ResNet(BasicBlock, layers = [2, 2, 2, 2])`); VALUE
may go on over lines inside brackets.
VALUE is read as a Python expression and compared as a value, not as text:
spaces and quotes do not matter, a tuple is a list, true/false/none are
True/False/None, 1.0 is 1 (but True is not 1), a bare name is the string
of its letters (Bottleneck is 'Bottleneck'), and a call is its function's
last name with its arguments (GoogLeNet(aux_logits = False)), but a
call of a ...Config with positional arguments alone is the list of them
(CNBlockConfig(32, 64, 1) is [32, 64, 1], as specs/convnext_tiny.arch
writes it).

Prints one line per expected value, `ok: name = value` or `MISSING: ...`
with what SPEC assigns that name instead, and exits 0 when all are there,
1 otherwise (2 on a usage or read error).
"""
import ast
import re
import sys

CONSTANT_NAMES = {"true": True, "True": True, "false": False, "False": False, "none": None, "None": None}


def norm(node):
    """An expression's AST as a plain comparable value, or raise ValueError."""
    if isinstance(node, ast.Expression):
        return norm(node.body)
    if isinstance(node, ast.Constant):
        return ("const", node.value)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)) \
            and isinstance(node.operand, ast.Constant) and isinstance(node.operand.value, (int, float)) \
            and not isinstance(node.operand.value, bool):
        v = node.operand.value
        return ("const", -v if isinstance(node.op, ast.USub) else v)
    if isinstance(node, ast.Name):
        if node.id in CONSTANT_NAMES:
            return ("const", CONSTANT_NAMES[node.id])
        return ("const", node.id)
    if isinstance(node, ast.Attribute):
        return ("const", node.attr)
    if isinstance(node, (ast.List, ast.Tuple)):
        return ("list", tuple(norm(e) for e in node.elts))
    if isinstance(node, ast.Call):
        f = node.func
        name = f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else None
        if name is None:
            raise ValueError("call of an expression")
        kw = tuple(sorted((k.arg or "**", norm(k.value)) for k in node.keywords))
        if name.endswith("Config") and not kw:
            return ("list", tuple(norm(a) for a in node.args))
        return ("call", name, tuple(norm(a) for a in node.args), kw)
    raise ValueError(type(node).__name__)


def same(a, b):
    if a[0] != b[0]:
        return False
    if a[0] == "const":
        x, y = a[1], b[1]
        if isinstance(x, bool) or isinstance(y, bool) or x is None or y is None:
            return type(x) is type(y) and x == y
        if isinstance(x, (int, float)) and isinstance(y, (int, float)):
            return x == y or abs(x - y) <= 1e-9 * max(abs(x), abs(y))
        return x == y
    if a[0] == "list":
        return len(a[1]) == len(b[1]) and all(same(x, y) for x, y in zip(a[1], b[1]))
    return (a[1] == b[1] and len(a[2]) == len(b[2]) and all(same(x, y) for x, y in zip(a[2], b[2]))
            and len(a[3]) == len(b[3]) and all(k == l and same(x, y) for (k, x), (l, y) in zip(a[3], b[3])))


def parse(text):
    return norm(ast.parse(text.strip(), mode="eval"))


def candidates(text):
    """The ends of the expressions that may start text: before a `,` `#` or
    newline outside brackets, before the `)` that closes an enclosing call,
    and text's end (brackets counted naively, comments skipped)."""
    depth, i = 0, 0
    while i < len(text):
        ch = text[i]
        if ch == "#":
            if depth == 0:
                yield i
            j = text.find("\n", i)
            i = len(text) if j < 0 else j
            continue
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            if depth == 0:
                yield i
                return
            depth -= 1
        elif ch in ",\n" and depth == 0:
            yield i
            if ch == ",":
                return
        i += 1
    yield len(text)


def values_of(name, text):
    """[(line number, value text, normalized value or None)] of every
    `name = VALUE` in the spec; VALUE may continue over lines inside
    brackets."""
    pat = re.compile(r"(?<![\w.])(?:self\.)?%s[ \t]*=(?!=)" % re.escape(name))
    found = []
    for m in pat.finditer(text):
        bol = text.rfind("\n", 0, m.start()) + 1
        if "#" in text[bol:m.start()]:
            continue                    # in a comment
        rest = text[m.end():]
        got = None
        for e in candidates(rest):
            if not rest[:e].strip():
                continue
            try:
                got = (rest[:e].strip(), parse(rest[:e]))
                break
            except (SyntaxError, ValueError):
                continue
        shown = got[0] if got else rest.split("\n", 1)[0].strip()
        found.append((text.count("\n", 0, m.start()) + 1, " ".join(shown.split()), got[1] if got else None))
    return found


def main(argv):
    if len(argv) != 3:
        sys.stderr.write("usage: infer_expect.py SPEC EXPECT\n")
        return 2
    try:
        with open(argv[1]) as f:
            text = f.read()
        with open(argv[2]) as f:
            expect = [ln for ln in f.read().splitlines() if ln.strip()]
    except (OSError, UnicodeDecodeError) as e:
        sys.stderr.write("infer_expect.py: %s\n" % e)
        return 2
    missing = 0
    for ln in expect:
        name, sep, value = ln.partition(" = ")
        if not sep:
            sys.stderr.write("infer_expect.py: %s: not `name = value`: %s\n" % (argv[2], ln))
            return 2
        want = parse(value)
        found = values_of(name.strip(), text)
        if any(v is not None and same(v, want) for _, _, v in found):
            print("ok: %s" % ln)
            continue
        missing += 1
        if found:
            print("MISSING: %s -- the spec has %s" % (ln, "; ".join("line %d: %s = %s" % (no, name, t)
                                                                 for no, t, _ in found[:4])))
        else:
            print("MISSING: %s -- the spec assigns no %s" % (ln, name))
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
