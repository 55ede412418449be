#!/usr/bin/python3
"""Torch's outputs of every model in specs/, for `rcc run` parity (issue 9).

Usage:  /usr/bin/python3 tests/gen_parity.py FIXTURES

Run after gen_fixtures.py and gen_specs.py have written their weight files
into FIXTURES.  For every specs/NAME.arch but torchvision_ops.arch (a
library, no model) this builds the model as the suite already does (the
21 of gen_specs.MODELS; mlp, cnn_bn, resnet18, lstm and transformer by
gen_fixtures.make_*), loads the weight file the test will give rcc into it
(strictly: every key, every shape), and in eval mode runs it on inputs of
the spec's `input` declarations at batch 1 and 4, writing
FIXTURES/parity/NAME/:
  weights            one line: the weight file, relative to FIXTURES
                     (spec_NAME.pt of gen_specs.py, or NAME.pt of
                     gen_fixtures.py)
  sizes              one SYM=VALUE line per symbolic size of the inputs
                     other than the batch (T, S, H, W), in order of first
                     use; empty when there is none
  b1_in0.npy ...     the inputs at batch 1, in the forward's order
                     (f32 as <f4, token ids as <i8, drawn in [0, vocab))
  b1_out0.npy ...    torch's outputs: the tensors of the returned value in
                     order, a `none` of a returned tuple skipped
  b4_in0.npy, b4_out0.npy ...   the same at batch 4
and FIXTURES/parity/manifest.txt last (the make target): one line
"NAME INPUTS OUTPUTS" per spec.

The batch is the input size named N (else the first symbolic size of the
first input), as in gen9.md; the other sizes are those gen_specs.py runs
with (T=8, S=10) or, for the five models it does not build, the small
values below.  Inputs come from gen_specs.run (a generator seeded with 11;
nn.Transformer's causal tgt_mask), so each spec's forward is torch's as
gen_specs.py checks its signature.  Deterministic; about a minute on two
cores; about 47 MB (the 224x224 images).
"""
import os
import re
import shutil
import sys
import time
import warnings

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import gen_fixtures as gf  # noqa: E402
import gen_specs as gs  # noqa: E402

SPECS = os.path.join(os.path.dirname(HERE), "specs")
BATCHES = (1, 4)

# The specs gen_specs.py does not build: the models gen_fixtures.py saves.
# name: (builder, weight file, values of the non-batch sizes, what of
#        torch's result the spec's forward returns)
OTHERS = {
    "mlp": (gf.make_mlp, "mlp.pt", {}, None),
    # H != W, so that a transposed image fails
    "cnn_bn": (gf.make_cnn_bn, "cnn_bn.pt", {"H": 6, "W": 7}, None),
    "resnet18": (gf.make_resnet18, "resnet18.pt", {}, None),
    # the spec returns y of `y, state = self(x)`
    "lstm": (gf.make_lstm, "lstm.pt", {"T": 5}, lambda y: y[0]),
    "transformer": (gf.make_transformer, "transformer.pt", {"S": 6}, None),
}
NOT_MODELS = {"torchvision_ops"}

INPUT = re.compile(r"^\s*input\s+(\w+)\s*:\s*(\w+)\s*\[([^\]]*)\]")


def spec_inputs(name):
    """[(input name, dtype, [int or symbol, ...]), ...] of the spec's
    `input` declarations, in order."""
    out = []
    with open(os.path.join(SPECS, name + ".arch")) as f:
        for line in f:
            m = INPUT.match(line)
            if m:
                dims = [d.strip() for d in m.group(3).split(",")]
                out.append((m.group(1), m.group(2), [int(d) if d.isdigit() else d for d in dims]))
    if not out:
        raise SystemExit("gen_parity: specs/%s.arch declares no input" % name)
    return out


def batch_symbol(inputs):
    syms = [d for _, _, dims in inputs for d in dims if isinstance(d, str)]
    if "N" in syms:
        return "N"
    first = [d for d in inputs[0][2] if isinstance(d, str)]
    if not first:
        raise SystemExit("gen_parity: the first input has no symbolic size to be the batch")
    return first[0]


def tensors(y):
    """The tensors of a returned value in order, `none` items skipped."""
    if y is None:
        return []
    if isinstance(y, (tuple, list)):
        return [t for x in y for t in tensors(x)]
    if not isinstance(y, torch.Tensor):
        raise SystemExit("gen_parity: the forward returned a %s" % type(y).__name__)
    return [y]


def check_spread(name, i, o1, o4):
    """The outputs must depend on the input: along the batch axis (the one
    axis that is 1 at batch 1 and 4 at batch 4), the 4 items must differ by
    more than 1e-3 of the largest value, so that the 1e-4 limit catches an
    item computed from another item's input (or from no input at all)."""
    axes = [a for a, (x, y) in enumerate(zip(o1.shape, o4.shape)) if (x, y) == (1, 4)]
    if o1.dim() != o4.dim() or len(axes) != 1:
        raise SystemExit("gen_parity: %s out%d has shapes %s and %s at batch 1 and 4: where is the batch?"
                         % (name, i, list(o1.shape), list(o4.shape)))
    if not o4.is_floating_point():
        return
    o = o4.movedim(axes[0], 0).double()
    spread = max(float((o[j] - o[0]).abs().max()) for j in range(1, 4)) / float(o.abs().max())
    if spread <= 1e-3:
        raise SystemExit("gen_parity: %s out%d is the same to %.1e for the 4 items of the batch: "
                         "a test on it could not tell them apart" % (name, i, spread))


def model(name):
    """(model in eval mode with the test's weights loaded, weight file
    relative to FIXTURES, {SYM: value} of the non-batch sizes, the
    input vocabularies {input name: high}, what of torch's result the
    spec returns)."""
    if name in gs.MODELS:
        build, ins, bindings = gs.MODELS[name]
        weights, pick = "spec_%s.pt" % name, None
        vocab = {k: v[2] for k, v in ins.items() if v[0] == "i64"}
        sizes = dict(bindings)
        torch.manual_seed(7)            # as gen_specs.py builds it
    elif name in OTHERS:
        build, weights, sizes, pick = OTHERS[name]
        vocab = {}
    else:
        raise SystemExit("gen_parity: specs/%s.arch has no model to build: add it to OTHERS "
                         "or to gen_specs.MODELS" % name)
    return build, weights, sizes, vocab, pick


def gen_one(name, fixtures, out):
    build, weights, sizes, vocab, pick = model(name)
    inputs = spec_inputs(name)
    if name in gs.MODELS:
        want = [(k, v[0]) for k, v in gs.MODELS[name][1].items()]
        got = [(n, t) for n, t, _ in inputs]
        if got != want:
            raise SystemExit("gen_parity: specs/%s.arch's inputs %s are not gen_specs.py's %s" % (name, got, want))
    batch = batch_symbol(inputs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = build()
    path = os.path.join(fixtures, weights)
    if not os.path.isfile(path):
        raise SystemExit("gen_parity: no %s: run gen_fixtures.py and gen_specs.py first" % path)
    m.load_state_dict(torch.load(path), strict=True)
    m.eval()

    syms = []                           # the non-batch symbols, in order of first use
    for _, _, dims in inputs:
        for d in dims:
            if isinstance(d, str) and d != batch and d not in syms:
                syms.append(d)
    for s in syms:
        if s not in sizes:
            raise SystemExit("gen_parity: no value for %s of specs/%s.arch" % (s, name))
    for n, t, _ in inputs:
        if t == "i64" and n not in vocab:
            raise SystemExit("gen_parity: no vocabulary for %s's i64 input %s" % (name, n))
        if t not in ("f32", "i64"):
            raise SystemExit("gen_parity: %s's input %s is %s" % (name, n, t))

    d = os.path.join(out, name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    with open(os.path.join(d, "weights"), "w") as f:
        f.write(weights + "\n")
    with open(os.path.join(d, "sizes"), "w") as f:
        f.write("".join("%s=%d\n" % (s, sizes[s]) for s in syms))
    counts, first = None, None
    for b in BATCHES:
        vals = dict(sizes, **{batch: b})
        spec = {}
        for n, t, dims in inputs:
            shape = tuple(vals[x] if isinstance(x, str) else x for x in dims)
            spec[n] = (t, shape, vocab[n]) if t == "i64" else (t, shape)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            args, y = gs.run(name, m, spec)
        outs = tensors(pick(y) if pick else y)
        if not outs:
            raise SystemExit("gen_parity: %s returned no tensor" % name)
        for i, a in enumerate(args):
            np.save(os.path.join(d, "b%d_in%d.npy" % (b, i)), a.contiguous().numpy())
        for i, t in enumerate(outs):
            a = t.detach().contiguous().numpy()
            if a.dtype.kind == "f" and not (np.isfinite(a).all() and np.abs(a).max() > 0):
                raise SystemExit("gen_parity: %s batch %d out%d is not finite and nonzero" % (name, b, i))
            np.save(os.path.join(d, "b%d_out%d.npy" % (b, i)), a)
        counts = (len(args), len(outs))
        if first is None:
            first = outs
        else:
            for i, (o1, o4) in enumerate(zip(first, outs)):
                check_spread(name, i, o1, o4)
    return counts


def main(argv):
    if len(argv) != 2:
        raise SystemExit("usage: gen_parity.py FIXTURES")
    if sys.byteorder != "little":
        raise SystemExit("gen_parity: the fixtures are little-endian; this host is not")
    fixtures = argv[1]
    out = os.path.join(fixtures, "parity")
    os.makedirs(out, exist_ok=True)
    manifest = os.path.join(out, "manifest.txt")
    if os.path.exists(manifest):
        os.remove(manifest)
    torch.set_num_threads(2)
    names = sorted(f[:-5] for f in os.listdir(SPECS) if f.endswith(".arch") and f[:-5] not in NOT_MODELS)
    t0 = time.time()
    lines = []
    for name in names:
        nin, nout = gen_one(name, fixtures, out)
        lines.append("%s %d %d\n" % (name, nin, nout))
    with open(manifest + ".tmp", "w") as f:
        f.write("".join(lines))
    os.replace(manifest + ".tmp", manifest)
    sys.stderr.write("gen_parity: %d specs in %s (%.1f s)\n" % (len(names), out, time.time() - t0))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
