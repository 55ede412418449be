"""gen_kernels_rnn.py OUTDIR — torch.nn.LSTM, GRU and RNN for src/gen/kernels/rk_rnn.c.

Writes OUTDIR/kernels/rnn/ (kcase.py's format): for each case the module's
parameters (torch's own initialisation, named as in its state dict), the
input, the initial states when given, and torch 1.13's output, h_n and
c_n in eval mode.  Covers 2-layer bidirectional batch_first LSTM with
h0/c0, batch 1 (the GEMV step), 3-layer GRU with h0, bidirectional GRU,
RNN relu and tanh, and bias=False.  Deterministic.
"""
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kcase import Writer  # noqa: E402

torch.manual_seed(31337)
w = Writer(sys.argv[1], "rnn")


def case(name, kind, In, H, layers, bidir, batch_first, T, N, with_h0, bias=True, nonlinearity="tanh"):
    cls = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU, "rnn": torch.nn.RNN}[kind]
    kw = {"nonlinearity": nonlinearity} if kind == "rnn" else {}
    m = cls(In, H, num_layers=layers, bidirectional=bidir, batch_first=batch_first, bias=bias, **kw).eval()
    D = 2 if bidir else 1
    x = torch.randn((N, T, In) if batch_first else (T, N, In))
    t = {"x": x}
    state = None
    if with_h0:
        h0 = torch.randn(layers * D, N, H)
        t["h0"] = h0
        state = h0
        if kind == "lstm":
            c0 = torch.randn(layers * D, N, H)
            t["c0"] = c0
            state = (h0, c0)
    with torch.no_grad():
        y, hn = m(x, state)
    if kind == "lstm":
        hn, cn = hn
        t["c_n"] = cn
    t.update(out=y, h_n=hn)
    for k, v in m.state_dict().items():
        t[k] = v
    mode = kind if kind != "rnn" else "rnn_" + nonlinearity
    w.case(name, "rnn", {"mode": mode, "In": In, "H": H, "layers": layers, "bidir": bidir,
                         "batch_first": batch_first, "T": T, "N": N, "bias": bias}, **t)


case("lstm_1layer_seqfirst", "lstm", 5, 8, 1, False, False, 7, 3, False)
case("lstm_2layers_bidir_batchfirst_h0", "lstm", 6, 10, 2, True, True, 9, 3, True)
case("lstm_batch1_gemv", "lstm", 16, 32, 1, False, False, 20, 1, True)
case("lstm_3layers_bidir_seqfirst", "lstm", 4, 6, 3, True, False, 5, 2, False)
case("gru_3layers_h0", "gru", 5, 8, 3, False, False, 8, 2, True)
case("gru_bidir_batchfirst_batch1", "gru", 7, 12, 1, True, True, 6, 1, False)
case("gru_2layers_bidir_h0", "gru", 5, 9, 2, True, False, 7, 3, True)
case("rnn_relu_2layers", "rnn", 5, 8, 2, False, False, 6, 3, True, nonlinearity="relu")
case("rnn_tanh_bidir_batchfirst", "rnn", 5, 8, 1, True, True, 6, 2, False)
case("lstm_nobias", "lstm", 5, 8, 2, False, True, 6, 2, True, bias=False)
case("gru_nobias", "gru", 5, 8, 1, True, False, 6, 2, True, bias=False)

w.close()
