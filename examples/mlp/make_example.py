#!/usr/bin/python3
"""Make the bundled example: a small MLP classifier saved by torch.save.

    /usr/bin/python3 examples/mlp/make_example.py

Writes examples/mlp/mlp.pt (its state dict), and input.npy / output.npy:
an input batch and PyTorch's output for it (eval mode), which the Quick
start compares rcc's generated code against.  Deterministic (seeded).
"""
import os

import numpy as np
import torch
import torch.nn as nn

here = os.path.dirname(os.path.abspath(__file__))
torch.manual_seed(0)
model = nn.Sequential(
    nn.Linear(16, 32), nn.ReLU(),
    nn.Linear(32, 32), nn.ReLU(),
    nn.Linear(32, 4),
).eval()
torch.save(model.state_dict(), os.path.join(here, "mlp.pt"))

x = torch.randn(2, 16)
with torch.no_grad():
    y = model(x)
np.save(os.path.join(here, "input.npy"), x.numpy())
np.save(os.path.join(here, "output.npy"), y.numpy())
