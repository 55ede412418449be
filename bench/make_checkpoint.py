#!/usr/bin/python3
"""make_checkpoint.py OUT.pt: save torchvision vgg11's state dict (~507 MB).

The weights are random but deterministic (torch.manual_seed(0)), so every
machine benchmarks the same file: saving through a file object names the
archive folder "archive" whatever OUT is called, so the bytes are identical
too. The file appears under its final name only once it is complete, so an
interrupted run never leaves a half-written cache.
"""
import os
import sys

import torch
import torchvision

if len(sys.argv) != 2:
    sys.exit("usage: make_checkpoint.py OUT.pt")
out = sys.argv[1]
torch.manual_seed(0)
sd = torchvision.models.vgg11(weights=None).state_dict()
with open(out + ".tmp", "wb") as f:
    torch.save(sd, f)
os.replace(out + ".tmp", out)
