#!/usr/bin/python3
"""Weights and forward output shapes of the real architectures in specs/.

Usage:  /usr/bin/python3 tests/gen_specs.py OUTDIR

For every spec specs/NAME.arch this builds the model in torch (torchvision
constructors with weights=None; nanoGPT and the Hugging Face models from
spec_lm.py; nn.Transformer), in eval mode, and writes
  OUTDIR/spec_NAME.pt    its state_dict(), by torch.save
  OUTDIR/spec_NAME.json  {"bindings": {"N": 2, ...}, "keys": K,
                          "signature": "(x: f32[2, 3, 224, 224]) -> f32[2, 10]"}
The signature is the one `rcc check` prints for the spec's forward once the
spec's symbolic sizes are replaced by the bindings: the inputs the model
was run on (named as the spec's forward names them) and the type of what
torch's forward returned; tests/spec-check.sh compares the two.  K is the
number of keys in the state dict.

Classifiers have 10 classes where the constructor takes num_classes, to
keep the files small.  Deterministic: each model is built after
torch.manual_seed, and the inputs are drawn from a seeded generator.

Before it is run and saved, each model is conditioned (condition()), as
training would have left it: every floating-point tensor of its state dict
whose elements are all equal gets distinct values -- the norms' weights
and biases (1 and 0), ViT's zero head and class token, ConvNeXt's 1e-6
layer scales -- and then the BatchNorm running statistics are those of
the data (two batches of calibration inputs in train mode, averaged).
rcc check reads only names and shapes; gen_parity.py's outputs for `rcc
run` come from these files, and with the constructors' values they would
prove little: a kernel that ignored a running mean, a bias or a block
behind a 1e-6 layer scale would still pass, ViT's outputs would all be 0,
and the MobileNets' (running statistics 0 and 1 normalizing nothing) would
be the same to 1e-6 whatever the image.
"""
import json
import os
import sys
import warnings

import torch
import torch.nn as nn
import torchvision.models as tvm

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import spec_lm  # noqa: E402

DTYPES = {torch.float32: "f32", torch.int64: "i64", torch.bool: "bool"}
N = 2          # the batch every model is run with
T = 8          # token sequences: at most the context length 16 of the small configs
IMAGE = ("f32", (N, 3, 224, 224))


def image(size=224):
    return {"x": ("f32", (N, 3, size, size))}


def tokens(name="idx", vocab=64):
    return {name: ("i64", (N, T), vocab)}


# name: (builder, the forward's inputs in order {name: (dtype, shape[, high])},
#        bindings of the spec's symbolic sizes)
TV = dict(num_classes=10)
MODELS = {
    "resnet50": (lambda: tvm.resnet50(weights=None, **TV), image(), {"N": N}),
    "resnext50_32x4d": (lambda: tvm.resnext50_32x4d(weights=None, **TV), image(), {"N": N}),
    "vgg11_bn": (lambda: tvm.vgg11_bn(weights=None, **TV), image(), {"N": N}),
    "alexnet": (lambda: tvm.alexnet(weights=None, **TV), image(), {"N": N}),
    "squeezenet1_1": (lambda: tvm.squeezenet1_1(weights=None, **TV), image(), {"N": N}),
    "densenet121": (lambda: tvm.densenet121(weights=None, **TV), image(), {"N": N}),
    "mobilenet_v2": (lambda: tvm.mobilenet_v2(weights=None, **TV), image(), {"N": N}),
    "mobilenet_v3_small": (lambda: tvm.mobilenet_v3_small(weights=None, **TV), image(), {"N": N}),
    "shufflenet_v2_x0_5": (lambda: tvm.shufflenet_v2_x0_5(weights=None, **TV), image(), {"N": N}),
    "efficientnet_b0": (lambda: tvm.efficientnet_b0(weights=None, **TV), image(), {"N": N}),
    "regnet_y_400mf": (lambda: tvm.regnet_y_400mf(weights=None, **TV), image(), {"N": N}),
    "convnext_tiny": (lambda: tvm.convnext_tiny(weights=None, **TV), image(), {"N": N}),
    # aux_logits=False: no aux1/aux2 keys, and forward returns the logits alone;
    # transform_input=True, so the spec's forward renormalizes the channels
    "googlenet": (lambda: tvm.googlenet(weights=None, aux_logits=False, transform_input=True,
                                        init_weights=False, **TV), image(), {"N": N}),
    "mnasnet0_5": (lambda: tvm.mnasnet0_5(weights=None, **TV), image(), {"N": N}),
    "vit_small": (lambda: tvm.VisionTransformer(image_size=32, patch_size=8, num_layers=2, num_heads=2,
                                                hidden_dim=32, mlp_dim=64, num_classes=10),
                  image(32), {"N": N}),
    "swin_t": (lambda: tvm.swin_t(weights=None, **TV), image(), {"N": N}),
    "nanogpt": (spec_lm.nanogpt, tokens("idx"), {"N": N, "T": T}),
    "hf_gpt2": (spec_lm.hf_gpt2, tokens("input_ids"), {"N": N, "T": T}),
    "hf_llama": (spec_lm.hf_llama, tokens("input_ids"), {"N": N, "T": T}),
    "hf_bert": (spec_lm.hf_bert, tokens("input_ids"), {"N": N, "T": T}),
    "nn_transformer": (lambda: nn.Transformer(d_model=32, nhead=4, num_encoder_layers=2, num_decoder_layers=2,
                                              dim_feedforward=64),
                       {"src": ("f32", (10, N, 32)), "tgt": ("f32", (T, N, 32))},
                       {"N": N, "S": 10, "T": T}),
}


def fmt_type(v):
    """A forward's value the way rcc check prints it: f32[2, 10], a tuple
    in parentheses, none."""
    if v is None:
        return "none"
    if isinstance(v, (tuple, list)):
        return "(" + ", ".join(fmt_type(x) for x in v) + ")"
    return "%s[%s]" % (DTYPES[v.dtype], ", ".join(str(d) for d in v.shape))


def condition(name, model, inputs):
    """In place: give the constant floating-point tensors of the state dict
    distinct values (x + 0.1 * randn; scalars are left alone: GPT-2's
    masked_bias), then set the BatchNorm running statistics to the mean and
    variance of two calibration batches of `inputs` (momentum None: a plain
    average), and leave the model in eval mode."""
    gen = torch.Generator().manual_seed(13)
    with torch.no_grad():
        for t in model.state_dict().values():
            if t.is_floating_point() and t.numel() > 1 and t.min() == t.max():
                t.add_(0.1 * torch.randn(t.shape, generator=gen))
    bns = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if bns:
        saved = [m.momentum for m in bns]
        for m in bns:
            m.reset_running_stats()
            m.momentum = None
        model.train()
        for seed in (21, 22):
            run(name, model, inputs, seed)
        for m, mom in zip(bns, saved):
            m.momentum = mom
    model.eval()


def run(name, model, inputs, seed=11):
    gen = torch.Generator().manual_seed(seed)
    args = []
    for dtype, shape, *high in inputs.values():
        if dtype == "i64":
            args.append(torch.randint(0, high[0], shape, generator=gen))
        else:
            args.append(torch.randn(shape, generator=gen))
    with torch.no_grad():
        if name == "nn_transformer":
            # the spec's forward builds this mask itself, from tgt's length
            mask = nn.Transformer.generate_square_subsequent_mask(args[1].size(0))
            return args, model(*args, tgt_mask=mask)
        return args, model(*args)


def main(argv):
    if len(argv) != 2:
        raise SystemExit("usage: gen_specs.py OUTDIR")
    out = argv[1]
    os.makedirs(out, exist_ok=True)
    torch.set_num_threads(2)
    for name, (build, inputs, bindings) in MODELS.items():
        torch.manual_seed(7)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = build().eval()
            condition(name, model, inputs)
            args, y = run(name, model, inputs)
        sd = model.state_dict()
        torch.save(sd, os.path.join(out, "spec_%s.pt" % name))
        sig = "(%s) -> %s" % (", ".join("%s: %s" % (n, fmt_type(a)) for n, a in zip(inputs, args)), fmt_type(y))
        with open(os.path.join(out, "spec_%s.json" % name), "w") as f:
            json.dump({"bindings": bindings, "keys": len(sd), "signature": sig}, f, indent=1)
            f.write("\n")
    with open(os.path.join(out, "spec_manifest.txt"), "w") as f:
        f.write("".join("%s\n" % n for n in MODELS))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
