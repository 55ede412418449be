#!/usr/bin/python3
"""make_many.py OUTDIR [N]: two files of N small tensors (default 20,000).

  OUTDIR/many_legacy.pt  torch.save(sd, _use_new_zipfile_serialization=False):
                         the legacy format, whose storage keys are object ids
                         ("94823948234"), not positions
  OUTDIR/many_zip.pt     torch.save(sd): today's zip archive, one record per
                         storage

sd is an OrderedDict "blocks.<i>.<param>" -> a small float32 tensor (4 to
19 elements), every tensor on a storage of its own: the shape of a file
with thousands of layers (a deep transformer's norms and biases), where
what costs is the number of tensors, not their bytes. Deterministic
(torch.manual_seed(0)); each file appears under its final name only once
it is complete.
"""
import collections
import os
import sys

import torch

PARAMS = ("weight", "bias", "norm.weight", "norm.bias")


def state_dict(n):
    torch.manual_seed(0)
    sd = collections.OrderedDict()
    for i in range(n):
        sd["blocks.%d.%s" % (i // len(PARAMS), PARAMS[i % len(PARAMS)])] = torch.randn(4 + i % 16)
    return sd


def save(sd, path, **kw):
    with open(path + ".tmp", "wb") as f:
        torch.save(sd, f, **kw)
    os.replace(path + ".tmp", path)


def main(argv):
    if len(argv) not in (2, 3):
        sys.exit("usage: make_many.py OUTDIR [N]")
    n = int(argv[2]) if len(argv) == 3 else 20000
    os.makedirs(argv[1], exist_ok=True)
    sd = state_dict(n)
    save(sd, os.path.join(argv[1], "many_legacy.pt"), _use_new_zipfile_serialization=False)
    save(sd, os.path.join(argv[1], "many_zip.pt"))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
