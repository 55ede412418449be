#!/usr/bin/python3
"""Check what `rcc salvage W -o OUT` wrote against torch's view of the original.

Usage:  salvage_check.py CASE.damaged.json ORIGINAL W OUT STDERR

CASE.damaged.json comes from tests/gen_damaged.py: the state-dict names of
the original and which of them must be intact.  Checks:
  * STDERR: one "rcc: warning: W: lost: NAME (DTYPE [SHAPE])" line per lost
    tensor, in order, dtype and shape as torch says; then the summary line
    "rcc: W: N of M tensors intact, written to OUT"; nothing else but other
    "rcc: warning: W: " lines;
  * OUT loads with torch.load(weights_only=True) as an OrderedDict holding
    exactly the intact tensors, in order, each bit-for-bit equal to the
    original's, with the same dtype, shape, strides and storage offset, the
    same Parameter-ness and requires_grad;
  * storages are shared in OUT exactly as in the original (tied weights,
    views) among the intact tensors;
  * torch.save of what torch.load read back writes OUT byte for byte (the
    writer produces torch.save's exact layout and pickle).
Exit 0 when all hold, 1 with one line per problem otherwise.
"""

import collections
import io
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gen_fixtures import DTYPE_NAMES as DTYPE, raw_bytes as raw  # noqa: E402


def storage_groups(sd, names):
    """The partition of names by shared storage (empty storages are each
    their own), as sorted tuples."""
    groups = collections.defaultdict(list)
    for n in names:
        s = sd[n].storage()
        groups[s.data_ptr() or ("empty", n)].append(n)
    return sorted(tuple(sorted(g)) for g in groups.values())


def main(argv):
    if len(argv) != 6:
        sys.stderr.write(__doc__)
        return 2
    case = json.load(open(argv[1]))
    original, w, out, stderr = argv[2], argv[3], argv[4], argv[5]
    problems = []

    if case["loader"] == "jit":
        # keep_vars: the tensors as the archive holds them (requires_grad)
        orig = torch.jit.load(original).state_dict(keep_vars=True)
    else:
        orig = torch.load(original, weights_only=True)
    names = list(orig.keys())
    if names != case["names"]:
        problems.append("the original's names differ from the case file's")
    intact = case["intact"]
    lost = [n for n in names if n not in intact]

    # stderr
    want = []
    for n in lost:
        t = orig[n]
        want.append("rcc: warning: %s: lost: %s (%s [%s])"
                    % (w, n, DTYPE[t.dtype], ", ".join(str(d) for d in t.shape)))
    want.append("rcc: %s: %d of %d tensors intact, written to %s" % (w, len(intact), len(names), out))
    got = [l for l in open(stderr).read().split("\n") if l]
    other = [l for l in got if l not in want]
    for l in other:
        if not l.startswith("rcc: warning: %s: " % w) or ": lost: " in l:
            problems.append("unexpected stderr line: %s" % l)
    got = [l for l in got if l in want]
    if got != want:
        problems.append("stderr lines differ:\n  want: %s\n  got:  %s"
                        % ("\n        ".join(want), "\n        ".join(got)))

    # the output
    sd = torch.load(out, weights_only=True)
    if type(sd) is not collections.OrderedDict:
        problems.append("the output is a %s, not an OrderedDict" % type(sd).__name__)
    if list(sd.keys()) != intact:
        problems.append("the output holds %s, expected %s" % (list(sd.keys()), intact))
    for n in intact:
        if n not in sd:
            continue
        a, b = orig[n], sd[n]
        same = (a.dtype == b.dtype and a.shape == b.shape and a.stride() == b.stride()
                and a.storage_offset() == b.storage_offset() and raw(a) == raw(b))
        if not same:
            problems.append("%s: differs (dtype %s/%s, shape %s/%s, stride %s/%s, offset %d/%d)"
                            % (n, a.dtype, b.dtype, tuple(a.shape), tuple(b.shape), a.stride(),
                               b.stride(), a.storage_offset(), b.storage_offset()))
        if isinstance(a, torch.nn.Parameter) != isinstance(b, torch.nn.Parameter) \
                or a.requires_grad != b.requires_grad:
            problems.append("%s: Parameter %s/%s, requires_grad %s/%s"
                            % (n, isinstance(a, torch.nn.Parameter), isinstance(b, torch.nn.Parameter),
                               a.requires_grad, b.requires_grad))
        if a.storage().size() != b.storage().size() and case["loader"] != "jit":
            problems.append("%s: storage of %d elements, the original's has %d"
                            % (n, b.storage().size(), a.storage().size()))
    kept = [n for n in intact if n in sd]
    if storage_groups(orig, kept) != storage_groups(sd, kept):
        problems.append("storage sharing differs: original %s, output %s"
                        % (storage_groups(orig, kept), storage_groups(sd, kept)))

    buf = io.BytesIO()
    torch.save(sd, buf)
    if buf.getvalue() != open(out, "rb").read():
        problems.append("torch.save of the output's tensors does not reproduce it byte for byte")

    for p in problems:
        print("salvage_check: %s" % p)
    if not problems:
        print("salvage_check: %d of %d tensors intact, equal to the original's; layout is torch.save's"
              % (len(intact), len(names)))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
