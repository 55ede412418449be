#!/usr/bin/python3
"""rcc's forward types against torch's, for tests/fn-shapes.sh.

Usage:  fn_compare.py RCC FIXTURES   (run in the source tree)

FIXTURES/fn_expect.txt (tests/gen_fn.py) has a line per model of the specs
tests/check/specs/fn_*.arch.  For a "shape" line, `rcc check SPEC
FIXTURES/fn_MODEL.pt --model MODEL` must match and print the forward's
signature, whose output type, with the sizes torch bound (N=3 ...) put
for their names (and products such as 7*N computed), must be the type
torch computed.  For a "raises" line
(torch raised), rcc must fail to compile the spec (exit 2) with exactly
one error.  Every model of the specs must have a line.  Standard library
only.
"""
import os
import re
import subprocess
import sys


def eval_product(text):
    p = 1
    for f in text.split("*"):
        p *= int(f)
    return p


def main(argv):
    rcc, fixtures = argv[1], argv[2]
    with open(os.path.join(fixtures, "fn_expect.txt")) as f:
        lines = [l.rstrip("\n") for l in f if l.strip()]
    failures, checked, specs = [], set(), set()
    for line in lines:
        kind, spec, model, rest = line.split(" ", 3)
        specs.add(spec)
        checked.add((spec, model))
        cmd = [rcc, "check", spec, os.path.join(fixtures, "fn_%s.pt" % model), "--model", model]
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True,
                           timeout=120, check=False)
        if p.returncode < 0:
            failures.append("%s: rcc crashed (signal %d)\n%s" % (model, -p.returncode, p.stderr))
            continue
        if kind == "raises":
            errors = [l for l in p.stderr.splitlines() if ": error: " in l]
            if p.returncode != 2 or len(errors) != 1:
                failures.append("%s: torch raises (%s), but rcc exits %d with %d errors:\n%s%s" %
                                (model, rest, p.returncode, len(errors), p.stdout, p.stderr))
            else:
                print("ok: %s: rcc: %s | torch: %s" % (model, errors[0].split(": error: ", 1)[1], rest))
            continue
        binds, want = rest.split(" -> ", 1)
        m = re.search(r"^%s: forward \(.*\) -> (.*)$" % re.escape(spec), p.stdout, re.M)
        if p.returncode != 0 or not m:
            failures.append("%s: rcc exits %d without a signature:\n%s%s" % (model, p.returncode, p.stdout, p.stderr))
            continue
        got = m.group(1)
        for b in binds.split():
            if b != "-":
                name, val = b.split("=")
                got = re.sub(r"\b%s\b" % re.escape(name), val, got)
        # a symbolic size is a product ("7*N"): with the sizes put in, compute it
        got = re.sub(r"\b\d+(?:\*\d+)+\b", lambda mm: str(eval_product(mm.group(0))), got)
        if got != want:
            failures.append("%s: rcc's output type (%s)\n    %s\n  is not torch's\n    %s" %
                            (model, binds, m.group(1), want))
        else:
            print("ok: %s: %s" % (model, m.group(1)))
    for spec in sorted(specs):
        with open(spec) as f:
            for name in re.findall(r"^model\s+(\w+)", f.read(), re.M):
                if (spec, name) not in checked:
                    failures.append("%s: model %s has no torch reference in fn_expect.txt" % (spec, name))
    for fl in failures:
        print("FAIL: " + fl)
    print("%d models, %d failures" % (len(lines), len(failures)))
    return 1 if failures or not lines else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
