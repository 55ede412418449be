#!/usr/bin/python3
"""One output of `rcc run` against torch's (tests/gen-parity.sh).

Usage:  parity_compare.py LABEL GOT.npy WANT.npy [LIMIT]

Prints one line, e.g.
  resnet18 batch 4 out0: max rel error 3.1e-06 (limit 1e-4)
and exits 0 when the error max|got - want| / max|want| is at most LIMIT
(default 1e-4; max|want| over its finite values, and an infinity or a
NaN where torch has the same is no difference); 1 when it is above, when the dtypes or shapes differ, when
GOT has a NaN or an infinity where WANT has none, or when GOT cannot be
read.  (max|want| is never 0: gen_parity.py refuses such an output.)
"""
import sys

import numpy as np


def main(argv):
    if len(argv) not in (4, 5):
        sys.stderr.write("usage: parity_compare.py LABEL GOT.npy WANT.npy [LIMIT]\n")
        return 2
    label, got_path, want_path = argv[1:4]
    limit_text = argv[4] if len(argv) == 5 else "1e-4"
    limit = float(limit_text)
    want = np.load(want_path, allow_pickle=False)
    try:
        got = np.load(got_path, allow_pickle=False)
    except Exception as e:    # noqa: BLE001 -- whatever rcc wrote, say why it is not an .npy
        print("%s: cannot read %s: %s" % (label, got_path, e))
        return 1
    if got.dtype != want.dtype:
        print("%s: dtype %s, torch's is %s" % (label, got.dtype.str, want.dtype.str))
        return 1
    if got.shape != want.shape:
        print("%s: shape %s, torch's is %s" % (label, list(got.shape), list(want.shape)))
        return 1
    g = got.astype(np.float64)
    w = want.astype(np.float64)
    if got.dtype.kind == "f":
        bad = ~np.isfinite(g) & np.isfinite(w)
        if bad.any():
            i = np.unravel_index(np.argmax(bad), bad.shape)
            print("%s: %d non-finite values, the first %s at %s (torch: %s)"
                  % (label, int(bad.sum()), g[i], list(i), w[i]))
            return 1
    # the same infinity, or NaN where torch has NaN, is no difference
    same = (g == w) | (np.isnan(g) & np.isnan(w))
    with np.errstate(invalid="ignore"):
        diff = np.where(same, 0.0, np.abs(g - w))
    diff = np.where(np.isnan(diff), np.inf, diff)
    finite = np.abs(w[np.isfinite(w)])
    scale = finite.max() if finite.size else 0.0
    err = (diff.max() / scale if scale > 0 else diff.max()) if w.size else 0.0
    ok = err <= limit
    line = "%s: max rel error %.1e (limit %s)" % (label, err, limit_text)
    if not ok:
        i = np.unravel_index(np.argmax(diff), diff.shape)
        line += " -- worst at %s: %.8g, torch %.8g" % (list(i), g[i], w[i])
    print(line)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
