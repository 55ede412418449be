#!/usr/bin/python3
"""compare_modules.py EXPECT.modules.json ACTUAL.json

EXPECT is torch's module tree of a pickled whole model (tests/gen_formats.py:
[{"path", "type", "attrs"}] in named_modules() order); ACTUAL is
`rcc dump --json W`, whose "modules" member must list the same paths in the
same order with the same class names, and every attribute torch lists with
the same value (rcc may list more: attributes torch's filter leaves out).
Exit 0 when they agree, 1 with every disagreement printed.
"""
import json
import sys


def main(argv):
    if len(argv) != 3:
        sys.stderr.write(__doc__)
        return 2
    want = json.load(open(argv[1]))
    got = json.load(open(argv[2])).get("modules")
    problems = []
    if not isinstance(got, list):
        problems.append('rcc: no "modules" list')
        got = []
    wp, gp = [m["path"] for m in want], [m.get("path") for m in got]
    if wp != gp:
        problems.append("module paths differ:\n    torch %s\n    rcc   %s" % (wp, gp))
    rcc = {m.get("path"): m for m in got}
    for m in want:
        g = rcc.get(m["path"])
        if g is None:
            continue
        if g.get("type") != m["type"]:
            problems.append("%r: type rcc %r, torch %r" % (m["path"], g.get("type"), m["type"]))
        for k, v in m["attrs"].items():
            gv = g.get("attrs", {}).get(k, "<missing>")
            if gv != v or type(gv) is not type(v):
                problems.append("%r: attribute %s rcc %r, torch %r" % (m["path"], k, gv, v))
    if problems:
        print("compare_modules: %s vs %s: %d disagreement%s" % (argv[1], argv[2], len(problems),
                                                                "" if len(problems) == 1 else "s"))
        for p in problems:
            print("  " + p)
        return 1
    print("compare_modules: %s matches %s (%d modules)" % (argv[2], argv[1], len(want)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
