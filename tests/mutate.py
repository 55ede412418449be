#!/usr/bin/python3
"""The mutant list of tests/mutants.sh: parse it, check it, apply one mutant.

Usage:
    mutate.py check LIST SRCDIR TESTS_MK   every mutant well formed, its
                                           snippet found exactly once in
                                           SRCDIR/FILE, its tests in TESTS_MK
    mutate.py list LIST                    one line per mutant:
                                           NAME BUILD FILE TEST...
    mutate.py apply LIST NAME SRCDIR       rewrite SRCDIR/FILE with the
                                           mutant applied

LIST (tests/mutants/list.txt) holds one record per mutant:

    [NAME]
    attacks: the guarantee the mutant breaks (free text)
    file: src/lang/check.c
    from: an exact snippet of that file, found exactly once
    to: its replacement (may be empty: the snippet is deleted)
    tests: the tests that must fail, as tests/tests.mk names them
    build: plain | sanitize            (optional; default plain)

Lines starting with '#' and blank lines between records are ignored.  A
snippet is one line's text, taken byte for byte after "from: " (no
escapes, trailing blanks kept out), so it reads like the source it
matches.  A snippet found zero times or more than once is an error, never a
silent skip: the list must follow the source as it changes.

Exit status: 0, 1 when the list or a snippet is wrong (every problem
printed), 2 on a usage error.
"""
import re
import sys

FIELDS = ("attacks", "file", "from", "to", "tests", "build")
REQUIRED = ("attacks", "file", "from", "to", "tests")
BUILDS = ("plain", "sanitize")
NAME = re.compile(r"^[a-z0-9][a-z0-9-]*$")


def parse(path):
    """[(name, {field: value}, line)] and a list of problems."""
    mutants, problems, cur = [], [], None
    with open(path, encoding="utf-8") as fp:
        for no, raw in enumerate(fp, 1):
            line = raw.rstrip("\n")
            if line.startswith("#") or not line.strip():
                continue
            if line.startswith("["):
                if not line.endswith("]") or not NAME.match(line[1:-1]):
                    problems.append("%s:%d: bad mutant header %r (want [lower-case-name])" % (path, no, line))
                    cur = None
                    continue
                cur = (line[1:-1], {}, no)
                mutants.append(cur)
                continue
            key, sep, value = line.partition(":")
            if cur is None or not sep or key not in FIELDS:
                problems.append("%s:%d: not a field of a mutant: %r" % (path, no, line))
                continue
            if key in cur[1]:
                problems.append("%s:%d: %s given twice for %s" % (path, no, key, cur[0]))
            cur[1][key] = value[1:].rstrip() if value.startswith(" ") else value.rstrip()
    seen = set()
    for name, f, no in mutants:
        if name in seen:
            problems.append("%s:%d: mutant %s defined twice" % (path, no, name))
        seen.add(name)
        for k in REQUIRED:
            if k not in f:
                problems.append("%s:%d: mutant %s has no %s:" % (path, no, name, k))
        if f.get("from") == "":
            problems.append("%s:%d: mutant %s has an empty from:" % (path, no, name))
        if "from" in f and f.get("from") == f.get("to"):
            problems.append("%s:%d: mutant %s changes nothing" % (path, no, name))
        if f.get("build", "plain") not in BUILDS:
            problems.append("%s:%d: mutant %s: build must be one of %s" % (path, no, name, ", ".join(BUILDS)))
        if "tests" in f and not f["tests"].split():
            problems.append("%s:%d: mutant %s names no tests" % (path, no, name))
    return mutants, problems


def occurrences(srcdir, f):
    try:
        with open("%s/%s" % (srcdir, f["file"]), encoding="utf-8") as fp:
            return fp.read().count(f["from"])
    except OSError as e:
        return "cannot read %s: %s" % (f["file"], e.strerror)


def check(path, srcdir, tests_mk):
    mutants, problems = parse(path)
    with open(tests_mk, encoding="utf-8") as fp:
        known = set(re.findall(r"\btests/\S+", fp.read()))
    for name, f, no in mutants:
        if "file" not in f or "from" not in f:
            continue
        n = occurrences(srcdir, f)
        if isinstance(n, str):
            problems.append("%s:%d: mutant %s: %s" % (path, no, name, n))
        elif n != 1:
            problems.append("%s:%d: mutant %s: its from: snippet occurs %d times in %s (must be once): %r"
                            % (path, no, name, n, f["file"], f["from"]))
        for t in f.get("tests", "").split():
            if t not in known:
                problems.append("%s:%d: mutant %s: %s is not a test of %s" % (path, no, name, t, tests_mk))
    return mutants, problems


def main(argv):
    if len(argv) == 5 and argv[1] == "check":
        mutants, problems = check(argv[2], argv[3], argv[4])
        for p in problems:
            print(p)
        if not problems:
            print("mutate.py: %d mutants, every snippet found once" % len(mutants))
        return 1 if problems else 0
    if len(argv) == 3 and argv[1] == "list":
        mutants, problems = parse(argv[2])
        for p in problems:
            sys.stderr.write(p + "\n")
        for name, f, _ in mutants:
            print(name, f.get("build", "plain"), f.get("file", "?"), f.get("tests", ""))
        return 1 if problems else 0
    if len(argv) == 5 and argv[1] == "apply":
        mutants, problems = parse(argv[2])
        found = [f for name, f, _ in mutants if name == argv[3]]
        if problems or len(found) != 1:
            for p in problems:
                sys.stderr.write(p + "\n")
            sys.stderr.write("mutate.py: no single mutant named %s\n" % argv[3])
            return 1
        f = found[0]
        target = "%s/%s" % (argv[4], f["file"])
        with open(target, encoding="utf-8") as fp:
            text = fp.read()
        n = text.count(f["from"])
        if n != 1:
            sys.stderr.write("mutate.py: %s: the snippet occurs %d times in %s (must be once): %r\n"
                             % (argv[3], n, f["file"], f["from"]))
            return 1
        with open(target, "w", encoding="utf-8") as fp:
            fp.write(text.replace(f["from"], f["to"]))
        return 0
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
