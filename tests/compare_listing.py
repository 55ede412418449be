#!/usr/bin/python3
"""Compare `rcc dump --json W` against torch's view of W.

Usage:  compare_listing.py EXPECT.json ACTUAL.json

EXPECT is NAME.expect.json from gen_fixtures.py:
    {"key": "<dotted path>", "tensors": [{"name", "dtype", "shape"}, ...]}
ACTUAL is the output of `rcc dump --json W`: one JSON object with at least
    {"state_dict_path": "<dotted path>",
     "tensors": [{"name", "dtype", "shape"}, ...]}
(other members are allowed and ignored).

Checks: the state-dict path equals the key; the tensor names are the same
set, in the same order, without duplicates; each tensor's dtype and shape
are equal; where EXPECT has them, offsets, strides, storage sharing and
whether the tensor is an nn.Parameter ("parameter", a JSON boolean in both).  Every disagreement is printed; exit 0 when there is none, 1
otherwise, 2 on a usage error.  Needs only the standard library.

        compare_listing.py --table EXPECT.json TABLE.txt

checks that the plain-text `rcc dump W` output mentions every tensor name of
EXPECT as a word of its own: preceded by the start of a line, white space,
a quote or '|', and followed by the end of a line, white space, a quote,
':', '|' or ',' (so that "0" is not found inside "10", "[0, 3]" or
"0.weight").
"""

import re

import json
import sys

DTYPES = {"f32", "f16", "bf16", "f64", "i64", "i32", "i16", "i8", "u8", "bool",
          "f8e4m3fn", "f8e5m2", "f8e4m3fnuz", "f8e5m2fnuz", "f8e8m0fnu",
          "u16", "u32", "u64", "c64", "c128", "f4e2m1fn", "f6e2m3fn", "f6e3m2fn"}


def load(path, what, problems):
    try:
        with open(path, "rb") as fp:
            data = fp.read()
    except OSError as e:
        problems.append("%s: cannot read %s: %s" % (what, path, e.strerror))
        return None
    try:
        obj = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError as e:
        problems.append("%s: %s is not UTF-8: %s" % (what, path, e))
        return None
    except ValueError as e:
        head = data[:200].decode("utf-8", "replace")
        problems.append("%s: %s is not one JSON value: %s (starts with %r)"
                        % (what, path, e, head))
        return None
    if not isinstance(obj, dict):
        problems.append("%s: %s holds a JSON %s, not an object"
                        % (what, path, type(obj).__name__))
        return None
    return obj


def tensor_list(obj, what, problems):
    """[(name, dtype, shape)] from obj["tensors"], validating each entry."""
    ts = obj.get("tensors")
    if not isinstance(ts, list):
        problems.append('%s: no "tensors" array (got %s)'
                        % (what, type(ts).__name__ if "tensors" in obj
                           else "nothing"))
        return None
    out = []
    for i, t in enumerate(ts):
        if not isinstance(t, dict):
            problems.append("%s: tensors[%d] is not an object: %r"
                            % (what, i, t))
            continue
        name, dtype, shape = t.get("name"), t.get("dtype"), t.get("shape")
        label = "%s: tensors[%d] (%r)" % (what, i, name)
        ok = True
        if not isinstance(name, str):
            problems.append('%s: "name" is not a string: %r' % (label, name))
            ok = False
        if dtype not in DTYPES:
            problems.append('%s: "dtype" %r is not one of %s'
                            % (label, dtype, " ".join(sorted(DTYPES))))
        if (not isinstance(shape, list)
                or not all(isinstance(d, int) and not isinstance(d, bool)
                           and d >= 0 for d in shape)):
            problems.append('%s: "shape" is not a list of sizes >= 0: %r'
                            % (label, shape))
            shape = None
        if ok:
            out.append((name, dtype, shape))
    return out


def fmt_shape(s):
    return "?" if s is None else "[" + ", ".join(str(d) for d in s) + "]"


def compare(expect_path, actual_path):
    problems = []
    exp = load(expect_path, "expect", problems)
    act = load(actual_path, "rcc", problems)
    if exp is None or act is None:
        return problems

    # The state-dict path.
    want_key = exp.get("key", "")
    if "state_dict_path" not in act:
        problems.append('rcc: no "state_dict_path" member (torch: %r)'
                        % want_key)
    elif act["state_dict_path"] != want_key:
        problems.append("state dict path: rcc %r, torch %r"
                        % (act["state_dict_path"], want_key))

    want = tensor_list(exp, "expect", problems)
    got = tensor_list(act, "rcc", problems)
    if want is None or got is None:
        return problems

    # Duplicates.
    for label, lst in (("rcc", got), ("expect", want)):
        seen = {}
        for i, (n, _, _) in enumerate(lst):
            if n in seen:
                problems.append("%s: name %r listed twice (#%d and #%d)"
                                % (label, n, seen[n], i))
            else:
                seen[n] = i

    def first(lst):                 # name -> (index, dtype, shape), first wins
        m = {}
        for i, (n, d, s) in enumerate(lst):
            m.setdefault(n, (i, d, s))
        return m
    wmap, gmap = first(want), first(got)

    # The same set.
    for n, (i, d, s) in wmap.items():
        if n not in gmap:
            problems.append("missing in rcc: %r (#%d, %s %s)"
                            % (n, i, d, fmt_shape(s)))
    for n, (i, d, s) in gmap.items():
        if n not in wmap:
            problems.append("extra in rcc: %r (#%d, %s %s)"
                            % (n, i, d, fmt_shape(s)))

    # The same order, over the common names.
    common_w = [n for n, _, _ in want if n in gmap]
    common_g = [n for n, _, _ in got if n in wmap]
    if common_w != common_g:
        for pos, (a, b) in enumerate(zip(common_w, common_g)):
            if a != b:
                problems.append(
                    "order differs from common position %d: torch has %r "
                    "(#%d), rcc has %r (#%d)"
                    % (pos, a, wmap[a][0], b, gmap[b][0]))
                break
        problems.append("torch order: %s" % ", ".join(common_w))
        problems.append("rcc order:   %s" % ", ".join(common_g))

    # Each tensor's dtype and shape.
    for n, (_, wd, ws) in wmap.items():
        if n not in gmap:
            continue
        _, gd, gs = gmap[n]
        if wd != gd:
            problems.append("%r: dtype rcc %s, torch %s" % (n, gd, wd))
        if gs is not None and ws != gs:
            problems.append("%r: shape rcc %s, torch %s"
                            % (n, fmt_shape(gs), fmt_shape(ws)))
    problems += compare_views(exp, act)
    return problems


def compare_views(exp, act):
    """Offsets, strides, storage sharing and nn.Parameter-ness, where the
    expect file has them: tensors share a storage in rcc exactly when they
    do in torch."""
    problems = []
    rcc = {t.get("name"): t for t in act.get("tensors", []) if isinstance(t, dict)}
    groups_torch, groups_rcc = {}, {}
    for t in exp.get("tensors", []):
        n, g = t.get("name"), rcc.get(t.get("name"))
        if g is None or "strides" not in t:
            continue
        for field in ("offset", "strides"):
            if g.get(field) != t[field]:
                problems.append("%r: %s rcc %r, torch %r"
                                % (n, field, g.get(field), t[field]))
        if "parameter" in t and g.get("parameter") is not t["parameter"]:
            problems.append("%r: parameter rcc %r, torch %r"
                            % (n, g.get("parameter", "<missing>"), t["parameter"]))
        groups_torch.setdefault(t["storage"], []).append(n)
        groups_rcc.setdefault(g.get("storage"), []).append(n)
    want = sorted(sorted(v) for v in groups_torch.values())
    got = sorted(sorted(v) for v in groups_rcc.values())
    if want != got:
        problems.append("storage sharing differs: torch %s, rcc %s"
                        % ([v for v in want if len(v) > 1], [v for v in got if len(v) > 1]))
    return problems


def check_table(expect_path, table_path):
    problems = []
    exp = load(expect_path, "expect", problems)
    if exp is None:
        return problems
    want = tensor_list(exp, "expect", problems) or []
    try:
        with open(table_path, "rb") as fp:
            text = fp.read().decode("utf-8", "replace")
    except OSError as e:
        return problems + ["cannot read %s: %s" % (table_path, e.strerror)]
    for i, (n, d, s) in enumerate(want):
        pat = (r"(?:^|(?<=[\s\"'`|]))" + re.escape(n)
               + r"(?=$|[\s\"'`:|,])")
        if not re.search(pat, text, re.M):
            problems.append("table does not mention %r (#%d, %s %s)"
                            % (n, i, d, fmt_shape(s)))
    return problems


def report(problems, what, a, b, ok_message):
    """Print the verdict; 1 if there are problems, else 0."""
    if problems:
        print("compare_listing: %s vs %s: %d %s%s"
              % (a, b, len(problems), what, "" if len(problems) == 1 else "s"))
        for p in problems:
            print("  " + p)
        return 1
    print("compare_listing: " + ok_message)
    return 0


def main(argv):
    if len(argv) == 4 and argv[1] == "--table":
        return report(check_table(argv[2], argv[3]), "problem", argv[2], argv[3],
                      "%s names every tensor of %s" % (argv[3], argv[2]))
    if len(argv) != 3:
        sys.stderr.write("usage: compare_listing.py EXPECT.json ACTUAL.json\n"
                         "       compare_listing.py --table EXPECT.json "
                         "TABLE.txt\n")
        return 2
    return report(compare(argv[1], argv[2]), "disagreement", argv[1], argv[2],
                  "%s matches %s" % (argv[2], argv[1]))


if __name__ == "__main__":
    sys.exit(main(sys.argv))
