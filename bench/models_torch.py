#!/usr/bin/python3
"""PyTorch eager's forward time for the parity models of the test suite.

Usage:  /usr/bin/python3 bench/models_torch.py FIXTURES NAME BATCH REPEAT THREADS

Builds model NAME as tests/gen_parity.py does (the same constructor, the
same weight file), runs it in eval mode under torch.no_grad() on
FIXTURES/parity/NAME/b{BATCH}_in*.npy REPEAT times after one warm-up run,
with torch.set_num_threads(THREADS), and prints the median in ms.
"""
import os
import statistics
import sys
import time
import warnings

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))
import gen_parity  # noqa: E402


def main(argv):
    fixtures, name, batch, repeat, threads = argv[1], argv[2], int(argv[3]), int(argv[4]), int(argv[5])
    torch.set_num_threads(threads)
    build, weights, _sizes, _vocab, _pick = gen_parity.model(name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = build()
    m.load_state_dict(torch.load(os.path.join(fixtures, weights)), strict=True)
    m.eval()
    d = os.path.join(fixtures, "parity", name)
    args = []
    i = 0
    while os.path.exists(os.path.join(d, "b%d_in%d.npy" % (batch, i))):
        args.append(torch.from_numpy(np.load(os.path.join(d, "b%d_in%d.npy" % (batch, i)))))
        i += 1
    times = []
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for r in range(repeat + 1):
            t0 = time.perf_counter()
            if name == "nn_transformer":
                mask = torch.nn.Transformer.generate_square_subsequent_mask(args[1].size(0))
                m(*args, tgt_mask=mask)
            else:
                m(*args)
            if r:
                times.append((time.perf_counter() - t0) * 1e3)
    print("%.3f" % statistics.median(times))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
