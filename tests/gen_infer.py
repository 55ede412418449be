#!/usr/bin/python3
"""Weight files, and torch's outputs for them, for `rcc infer` (issue 10).

Usage:  /usr/bin/python3 tests/gen_infer.py FIXTURES
        /usr/bin/python3 tests/gen_infer.py --list     (CASE FAMILY DESCRIPTION lines)

Run after gen_specs.py has written its weight files into FIXTURES (some
cases reuse them, below).  `rcc infer W` must recover a spec from the
weight file alone, by fitting the families of specs/families/; each case is
one model of one family, built in torch with known hyperparameters, and
tests/infer-family.sh checks that infer names the family, decides those
hyperparameters, and that the spec it writes checks clean and runs to
torch's output.  For each CASE this writes FIXTURES/infer/CASE/:
  weights.pt           torch.save(model.state_dict()); for the three *_pickle
                       cases torch.save(model), the whole module (which
                       carries what a state dict cannot: attention heads,
                       norm_first, activation, batch_first); for resnet18_dp
                       the state dict of nn.DataParallel(model), every key
                       "module."
  weights.safetensors  instead, for llama_gqa and bert_64: the state dict in
                       the safetensors format, written by hand as
                       gen_safetensors.py does (header {"__metadata__":
                       {"format": "pt"}, NAME: {dtype, shape, data_offsets}})
  family               one line: the family infer must name
  expect               `name = value` lines: the hyperparameters the model
                       was built with that the weights decide, under the
                       torch constructor's argument names (for the modules
                       written here, their own constructors'), values as
                       Python repr, tuples as lists
  sizes                one SYM=VALUE line per size of the inputs other than
                       the batch that the model leaves free (H, W of a
                       convolutional net; T, S of a sequence); empty when
                       the weights fix every size (ViT's image, a flatten)
  in0.npy ...          the inputs at batch 2, in the forward's order (images
                       <f4, token ids <i8 in [0, vocab))
  out0.npy ...         torch's eval-mode outputs: the tensors of the value
                       forward returns, in order, a `None` skipped
and FIXTURES/infer/manifest.txt last (the make target): "CASE FAMILY" lines.

Undecidable hyperparameters.  A state dict has no attention head count, no
epsilon, no activation, no norm_first: every state-dict case uses the
convention a family assumes for it -- 64-wide attention heads (torchvision's
ViT, GPT-2, BERT, LLaMA) and torch's or the source's defaults -- and the
unconventional settings (8- and 16-wide heads, gelu, norm_first,
batch_first) are only in the three pickles, whose expect lists them.  Swin's
head counts are in its relative position tables, so its cases use any.
The pickles are of modules that rcc's reader loads: a pickled torchvision
ViT, Swin or ConvNeXt holds functools.partial(nn.LayerNorm, eps=...), a
global the reader refuses (src/reader/globals.c), so it cannot be a case
unless that policy changes.

Reused files.  Fourteen cases are the models gen_specs.py already saves
(spec_NAME.pt: resnet50, vgg11_bn, alexnet, ... at 10 classes): their
weight file is a hard link to that file (a copy where links fail), so the
suite holds it once.  The case builds the model with its own constructor
call (the one `expect` describes) and loads the file strictly, so a change
to gen_specs.py's configuration stops this script instead of leaving a
wrong `expect`.  gen_specs.py's googlenet is not reused: it has
transform_input=True, which a state dict does not show.

Sizes kept small.  Images are 64x64 (ViT's and the flatten stacks' own
sizes), batch 2, classifiers 10 classes or fewer.  torchvision fixes VGG's
and AlexNet's classifier at 4096 wide (500 MB and 230 MB at 10 classes);
the one VGG and the one AlexNet with that classifier are gen_specs.py's
reused files, and the second of each (vgg13_head128, alexnet7_head128)
has a classifier of the same structure 128 wide, as a fine-tune on small
data replaces it (model.classifier = nn.Sequential(...), below): the vgg
and alexnet families must leave that hidden width free.  It is not a
constructor argument, so it is not in `expect`; the output checks it.
wide_resnet50_2 (270 MB) is left out: width_per_group is decided in
resnext50_32x4d and in the random ResNet.

Conditioning.  Each new model is conditioned by gen_specs.condition(): the
constant floating-point tensors of its state dict (norm weights and biases,
ViT's zero head, ConvNeXt's layer scales) get distinct values and the
BatchNorm running statistics are those of data, so that a spec that drops
or misreads a layer cannot pass a 1e-4 comparison; and every output must
differ between the two items of the batch by more than 1e-3 of its largest
value (as gen_parity.py asks), or this script stops.

The cases must match tests/infer/CASE.infer one for one (checked here):
each is one test of tests/infer-family.sh.  Deterministic (each model is
built after torch.manual_seed of a number derived from its case name, the
inputs drawn from a seeded generator); about 10 s on one thread (30 s on
a busy machine); 312 MB of new files, and 1.2 GB that `du` counts in
infer/ but that are links to gen_specs.py's files.  The largest new weight
files: vgg13_head128 51 MB, resnet18_dp 45, googlenet_aux 40.
"""
import collections
import os
import random
import shutil
import sys
import time
import warnings
import zlib

import numpy as np
import torch
import torch.nn as nn
import torchvision.models as tvm
from torchvision.models.convnext import CNBlockConfig
from torchvision.models.regnet import BlockParams
from torchvision.models.resnet import BasicBlock, Bottleneck
from torchvision.models.vgg import cfgs as VGG_CFGS
from torchvision.models.vgg import make_layers as vgg_make_layers

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import gen_safetensors as gst  # noqa: E402  (serialize, read_back)
from gen_parity import tensors  # noqa: E402  (a returned value's tensors, in order)
import gen_specs as gs  # noqa: E402  (condition)
import spec_lm  # noqa: E402

N = 2            # the batch
IMG = 64         # the side of the images, where the model leaves it free
T = 8            # token sequences
S = 10           # nn.Transformer's source sequence


# ------------------------------------------------------------ the modules written here
#
# The families below have no library constructor; these modules are their
# sources (the family specs are written from them).  Plain torch: layers in
# the order forward uses them, nothing that inference does not run.

def mlp(sizes):
    """family mlp: Linear layers of widths sizes[0] -> sizes[1] -> ... with a
    ReLU between two of them (keys 0.weight, 0.bias, 2.weight, ...).
    Input f32[N, sizes[0]]."""
    layers = []
    for i in range(len(sizes) - 1):
        layers.append(nn.Linear(sizes[i], sizes[i + 1]))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def conv_stack(dim, in_channels, channels, num_classes, batch_norm, size):
    """conv2d_stack (dim 2, a square image of side size) or conv1d_stack
    (dim 1, a sequence of length size): the two families' one source."""
    conv, norm, pool = {1: (nn.Conv1d, nn.BatchNorm1d, nn.MaxPool1d), 2: (nn.Conv2d, nn.BatchNorm2d, nn.MaxPool2d)}[dim]
    layers = []
    c = in_channels
    for out in channels:
        layers.append(conv(c, out, kernel_size=3, padding=1, bias=not batch_norm))
        if batch_norm:
            layers.append(norm(out))
        layers += [nn.ReLU(), pool(2)]
        c = out
    side = size // 2 ** len(channels)
    layers += [nn.Flatten(), nn.Linear(c * side ** dim, num_classes)]
    return nn.Sequential(*layers)


def conv2d_stack(in_channels, channels, num_classes, batch_norm, image_size):
    """family conv2d_stack: per width c of channels, Conv2d(3x3, padding 1,
    no bias when batch_norm), BatchNorm2d when batch_norm, ReLU and
    MaxPool2d(2); then Flatten and one Linear to num_classes.  The Linear's
    input is c * s * s, s = image_size // 2**len(channels), so the weights
    fix the image (square).  Input f32[N, in_channels, image_size, image_size]."""
    return conv_stack(2, in_channels, channels, num_classes, batch_norm, image_size)


def conv1d_stack(in_channels, channels, num_classes, batch_norm, length):
    """family conv1d_stack: conv2d_stack in one dimension: per width c,
    Conv1d(kernel 3, padding 1, no bias when batch_norm), BatchNorm1d when
    batch_norm, ReLU, MaxPool1d(2); Flatten; Linear(c * (length //
    2**len(channels)), num_classes).  Input f32[N, in_channels, length]."""
    return conv_stack(1, in_channels, channels, num_classes, batch_norm, length)


class RNNLM(nn.Module):
    """family rnn_lm: token embedding, a recurrent stack (cell 'LSTM', 'GRU'
    or 'RNN' -- nn.RNN with its default tanh), batch_first, and a Linear
    from its outputs (both directions when bidirectional) back to the
    vocabulary.  Input i64[N, T]; returns the logits f32[N, T, vocab_size]."""

    def __init__(self, vocab_size, embed_dim, hidden_size, num_layers=1, cell="LSTM", bidirectional=False):
        super().__init__()
        rnn = {"LSTM": nn.LSTM, "GRU": nn.GRU, "RNN": nn.RNN}[cell]
        self.embed = nn.Embedding(vocab_size, embed_dim)
        self.rnn = rnn(embed_dim, hidden_size, num_layers=num_layers, batch_first=True,
                       bidirectional=bidirectional)
        self.head = nn.Linear(hidden_size * (2 if bidirectional else 1), vocab_size)

    def forward(self, x):
        h, _ = self.rnn(self.embed(x))
        return self.head(h)


class EncoderLM(nn.Module):
    """family nn_transformer_encoder: token embedding (no positions), an
    nn.TransformerEncoder of num_layers nn.TransformerEncoderLayer(d_model,
    nhead, dim_feedforward, batch_first=True, norm_first, activation), with a
    final LayerNorm when final_norm, and a Linear back to the vocabulary.
    No mask.  Input i64[N, T]; returns f32[N, T, vocab_size]."""

    def __init__(self, vocab_size, d_model, nhead, num_layers, dim_feedforward, norm_first=False,
                 activation="relu", final_norm=False):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, d_model)
        layer = nn.TransformerEncoderLayer(d_model, nhead, dim_feedforward, batch_first=True,
                                           norm_first=norm_first, activation=activation)
        self.encoder = nn.TransformerEncoder(layer, num_layers, norm=nn.LayerNorm(d_model) if final_norm else None)
        self.head = nn.Linear(d_model, vocab_size)

    def forward(self, x):
        return self.head(self.encoder(self.embed(x)))


def vgg_head(cfg, batch_norm, num_classes, hidden):
    """torchvision's VGG(make_layers(cfgs[cfg], batch_norm), num_classes)
    with its classifier replaced by one of the same structure `hidden` wide
    (torchvision's is 4096): Linear(512*7*7, hidden), ReLU, Dropout,
    Linear(hidden, hidden), ReLU, Dropout, Linear(hidden, num_classes)."""
    m = tvm.VGG(vgg_make_layers(VGG_CFGS[cfg], batch_norm=batch_norm), num_classes=num_classes)
    m.classifier = nn.Sequential(nn.Linear(512 * 7 * 7, hidden), nn.ReLU(True), nn.Dropout(),
                                 nn.Linear(hidden, hidden), nn.ReLU(True), nn.Dropout(),
                                 nn.Linear(hidden, num_classes))
    return m


def alexnet_head(num_classes, hidden):
    """torchvision's AlexNet(num_classes) with its classifier replaced by
    one of the same structure `hidden` wide (torchvision's is 4096):
    Dropout, Linear(256*6*6, hidden), ReLU, Dropout, Linear(hidden, hidden),
    ReLU, Linear(hidden, num_classes)."""
    m = tvm.AlexNet(num_classes=num_classes)
    m.classifier = nn.Sequential(nn.Dropout(), nn.Linear(256 * 6 * 6, hidden), nn.ReLU(True),
                                 nn.Dropout(), nn.Linear(hidden, hidden), nn.ReLU(True),
                                 nn.Linear(hidden, num_classes))
    return m


# ------------------------------------------------------------------ the cases

class Raw(str):
    """An expect value written as it is (CNBlockConfig(32, 64, 1), BasicBlock)."""

    def __repr__(self):
        return str(self)


def pyrepr(v):
    """Python repr, tuples as lists, Raw as written."""
    if isinstance(v, Raw):
        return str(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(pyrepr(x) for x in v) + "]"
    return repr(v)


def image(size=IMG, channels=3):
    return [("f32", (N, channels, size, size))]


def tokens(vocab):
    return [("i64", (N, T), vocab)]


IMAGE_SIZES = {"H": IMG, "W": IMG}
TOKEN_SIZES = {"T": T}

Case = collections.namedtuple("Case", "name family build inputs expect save sizes about batch_axis")
CASES = []


def case(name, family, build, inputs, expect, save="sd", sizes=None, about="", batch_axis=0):
    """save: "sd" (torch.save of the state dict), "pickle" (of the module),
    "safetensors", "dp" (the state dict of nn.DataParallel(model)), or
    "reuse:spec_NAME.pt" (gen_specs.py's file, linked)."""
    CASES.append(Case(name, family, build, inputs, collections.OrderedDict(expect), save,
                      sizes if sizes is not None else {}, about, batch_axis))


TV = dict(weights=None, num_classes=10)


def densenet_expect(growth_rate, block_config, num_init_features, bn_size, num_classes):
    return [("growth_rate", growth_rate), ("block_config", block_config),
            ("num_init_features", num_init_features), ("bn_size", bn_size), ("num_classes", num_classes)]


def regnet_expect(params, num_classes):
    return [("depths", params.depths), ("widths", params.widths), ("group_widths", params.group_widths),
            ("bottleneck_multipliers", params.bottleneck_multipliers), ("se_ratio", params.se_ratio),
            ("num_classes", num_classes)]


def random_resnet():
    """A ResNet of seeded random depth, block, width and classes."""
    rng = random.Random(20271)
    block = rng.choice(["BasicBlock", "Bottleneck"])
    layers = [rng.randint(1, 2) for _ in range(4)]
    num_classes = rng.randint(2, 20)
    kw = {}
    if block == "Bottleneck":
        kw = dict(groups=rng.choice([1, 2, 4]), width_per_group=rng.choice([16, 32]))
    exp = [("block", Raw(block)), ("layers", layers), ("num_classes", num_classes)] + sorted(kw.items())
    cls = {"BasicBlock": BasicBlock, "Bottleneck": Bottleneck}[block]
    return (lambda: tvm.ResNet(cls, layers, num_classes=num_classes, **kw)), exp, "%s %s" % (block, layers)


def random_densenet():
    """A DenseNet of seeded random growth, blocks, stem width and bottleneck."""
    rng = random.Random(20281)
    kw = dict(growth_rate=rng.choice([4, 8, 12]), block_config=[rng.randint(1, 3) for _ in range(rng.randint(2, 4))],
              num_init_features=rng.choice([8, 16, 24]), bn_size=rng.choice([1, 2, 4]), num_classes=rng.randint(2, 9))
    return kw


def random_rnnlm():
    """A recurrent language model of seeded random cell, sizes and depth."""
    rng = random.Random(20291)
    return dict(vocab_size=rng.randint(10, 60), embed_dim=rng.choice([8, 12, 16]), hidden_size=rng.choice([8, 20, 24]),
                num_layers=rng.randint(1, 3), cell=rng.choice(["LSTM", "GRU", "RNN"]),
                bidirectional=rng.choice([False, True]))


def random_encoder():
    """A transformer encoder LM of seeded random depth and widths (64-wide heads)."""
    rng = random.Random(20301)
    return dict(vocab_size=rng.randint(10, 60), d_model=64 * rng.randint(1, 2), num_layers=rng.randint(1, 4),
                dim_feedforward=rng.choice([32, 96, 160]), final_norm=rng.choice([False, True]))


def random_mlp():
    rng = random.Random(20262)
    sizes = [rng.randint(4, 40) for _ in range(rng.randint(3, 5))] + [rng.randint(2, 12)]
    return sizes


def define_cases():
    # ---- resnet
    case("resnet18_dp", "resnet", lambda: tvm.resnet18(**TV), image(),
         [("block", Raw("BasicBlock")), ("layers", [2, 2, 2, 2]), ("num_classes", 10)],
         save="dp", sizes=IMAGE_SIZES, about="torchvision resnet18, saved from nn.DataParallel (keys module.*)")
    case("resnet50", "resnet", lambda: tvm.resnet50(**TV), image(),
         [("block", Raw("Bottleneck")), ("layers", [3, 4, 6, 3]), ("num_classes", 10)],
         save="reuse:spec_resnet50.pt", sizes=IMAGE_SIZES, about="torchvision resnet50 (gen_specs.py's)")
    case("resnext50_32x4d", "resnet", lambda: tvm.resnext50_32x4d(**TV), image(),
         [("block", Raw("Bottleneck")), ("layers", [3, 4, 6, 3]), ("groups", 32), ("width_per_group", 4),
          ("num_classes", 10)],
         save="reuse:spec_resnext50_32x4d.pt", sizes=IMAGE_SIZES,
         about="torchvision resnext50_32x4d (gen_specs.py's)")
    case("wide_resnet_small", "resnet", lambda: tvm.ResNet(Bottleneck, [1, 2, 1, 1], width_per_group=128, num_classes=6),
         image(), [("block", Raw("Bottleneck")), ("layers", [1, 2, 1, 1]), ("width_per_group", 128), ("num_classes", 6)],
         sizes=IMAGE_SIZES, about="torchvision ResNet(Bottleneck, [1, 2, 1, 1], width_per_group=128): Wide ResNet's blocks")
    build, exp, what = random_resnet()
    case("resnet_random", "resnet", build, image(), exp, sizes=IMAGE_SIZES,
         about="torchvision ResNet(%s), seeded random" % what)
    # ---- vgg
    case("vgg11_bn", "vgg", lambda: tvm.vgg11_bn(**TV), image(),
         [("cfg", VGG_CFGS["A"]), ("batch_norm", True), ("num_classes", 10)],
         save="reuse:spec_vgg11_bn.pt", sizes=IMAGE_SIZES, about="torchvision vgg11_bn (gen_specs.py's)")
    case("vgg13_head128", "vgg", lambda: vgg_head("B", False, 10, 128), image(),
         [("cfg", VGG_CFGS["B"]), ("batch_norm", False), ("num_classes", 10)], sizes=IMAGE_SIZES,
         about="torchvision vgg13's features, its classifier 128 wide instead of 4096")
    # ---- alexnet
    case("alexnet", "alexnet", lambda: tvm.alexnet(**TV), image(), [("num_classes", 10)],
         save="reuse:spec_alexnet.pt", sizes=IMAGE_SIZES, about="torchvision alexnet (gen_specs.py's)")
    case("alexnet7_head128", "alexnet", lambda: alexnet_head(7, 128), image(), [("num_classes", 7)],
         sizes=IMAGE_SIZES, about="torchvision AlexNet(num_classes=7), its classifier 128 wide instead of 4096")
    # ---- squeezenet
    case("squeezenet1_0", "squeezenet", lambda: tvm.squeezenet1_0(**TV), image(),
         [("version", "1_0"), ("num_classes", 10)], sizes=IMAGE_SIZES, about="torchvision squeezenet1_0")
    case("squeezenet1_1", "squeezenet", lambda: tvm.squeezenet1_1(**TV), image(),
         [("version", "1_1"), ("num_classes", 10)], save="reuse:spec_squeezenet1_1.pt", sizes=IMAGE_SIZES,
         about="torchvision squeezenet1_1 (gen_specs.py's)")
    # ---- densenet
    case("densenet121", "densenet", lambda: tvm.densenet121(**TV), image(),
         densenet_expect(32, [6, 12, 24, 16], 64, 4, 10), save="reuse:spec_densenet121.pt", sizes=IMAGE_SIZES,
         about="torchvision densenet121 (gen_specs.py's)")
    case("densenet_small", "densenet",
         lambda: tvm.DenseNet(growth_rate=12, block_config=(2, 3, 4), num_init_features=24, bn_size=2,
                              num_classes=5),
         image(), densenet_expect(12, [2, 3, 4], 24, 2, 5), sizes=IMAGE_SIZES,
         about="torchvision DenseNet(growth_rate=12, block_config=(2, 3, 4), num_init_features=24, bn_size=2)")
    dk = random_densenet()
    case("densenet_random", "densenet", lambda: tvm.DenseNet(**dk), image(),
         densenet_expect(dk["growth_rate"], dk["block_config"], dk["num_init_features"], dk["bn_size"],
                         dk["num_classes"]),
         sizes=IMAGE_SIZES, about="torchvision DenseNet(%s), seeded random" % dk)
    # ---- mobilenet_v2
    case("mobilenet_v2", "mobilenet_v2", lambda: tvm.mobilenet_v2(**TV), image(),
         [("width_mult", 1.0), ("num_classes", 10)], save="reuse:spec_mobilenet_v2.pt", sizes=IMAGE_SIZES,
         about="torchvision mobilenet_v2 (gen_specs.py's)")
    case("mobilenet_v2_050", "mobilenet_v2", lambda: tvm.mobilenet_v2(width_mult=0.5, **TV), image(),
         [("width_mult", 0.5), ("num_classes", 10)], sizes=IMAGE_SIZES, about="torchvision mobilenet_v2(width_mult=0.5)")
    # ---- mobilenet_v3
    case("mobilenet_v3_small", "mobilenet_v3", lambda: tvm.mobilenet_v3_small(**TV), image(),
         [("arch", "mobilenet_v3_small"), ("width_mult", 1.0), ("last_channel", 1024), ("num_classes", 10)],
         save="reuse:spec_mobilenet_v3_small.pt", sizes=IMAGE_SIZES,
         about="torchvision mobilenet_v3_small (gen_specs.py's)")
    case("mobilenet_v3_large", "mobilenet_v3", lambda: tvm.mobilenet_v3_large(**TV), image(),
         [("arch", "mobilenet_v3_large"), ("width_mult", 1.0), ("last_channel", 1280), ("num_classes", 10)],
         sizes=IMAGE_SIZES, about="torchvision mobilenet_v3_large")
    # ---- shufflenet_v2
    case("shufflenet_v2_x0_5", "shufflenet_v2", lambda: tvm.shufflenet_v2_x0_5(**TV), image(),
         [("stages_repeats", [4, 8, 4]), ("stages_out_channels", [24, 48, 96, 192, 1024]), ("num_classes", 10)],
         save="reuse:spec_shufflenet_v2_x0_5.pt", sizes=IMAGE_SIZES,
         about="torchvision shufflenet_v2_x0_5 (gen_specs.py's)")
    case("shufflenet_v2_x1_0", "shufflenet_v2", lambda: tvm.shufflenet_v2_x1_0(**TV), image(),
         [("stages_repeats", [4, 8, 4]), ("stages_out_channels", [24, 116, 232, 464, 1024]), ("num_classes", 10)],
         sizes=IMAGE_SIZES, about="torchvision shufflenet_v2_x1_0")
    # ---- efficientnet
    case("efficientnet_b0", "efficientnet", lambda: tvm.efficientnet_b0(**TV), image(),
         [("width_mult", 1.0), ("depth_mult", 1.0), ("num_classes", 10)],
         save="reuse:spec_efficientnet_b0.pt", sizes=IMAGE_SIZES, about="torchvision efficientnet_b0 (gen_specs.py's)")
    case("efficientnet_b1", "efficientnet", lambda: tvm.efficientnet_b1(**TV), image(),
         [("width_mult", 1.0), ("depth_mult", 1.1), ("num_classes", 10)], sizes=IMAGE_SIZES,
         about="torchvision efficientnet_b1")
    # ---- regnet (the BlockParams torchvision's builders compute)
    y400 = BlockParams.from_init_params(depth=16, w_0=48, w_a=27.89, w_m=2.09, group_width=8, se_ratio=0.25)
    x800 = BlockParams.from_init_params(depth=16, w_0=56, w_a=35.73, w_m=2.28, group_width=16)
    case("regnet_y_400mf", "regnet", lambda: tvm.regnet_y_400mf(**TV), image(), regnet_expect(y400, 10),
         save="reuse:spec_regnet_y_400mf.pt", sizes=IMAGE_SIZES, about="torchvision regnet_y_400mf (gen_specs.py's)")
    case("regnet_x_800mf", "regnet", lambda: tvm.regnet_x_800mf(**TV), image(), regnet_expect(x800, 10),
         sizes=IMAGE_SIZES, about="torchvision regnet_x_800mf")
    # ---- convnext
    case("convnext_tiny", "convnext", lambda: tvm.convnext_tiny(**TV), image(),
         [("block_setting", Raw("[CNBlockConfig(96, 192, 3), CNBlockConfig(192, 384, 3), "
                                "CNBlockConfig(384, 768, 9), CNBlockConfig(768, None, 3)]")),
          ("num_classes", 10)],
         save="reuse:spec_convnext_tiny.pt", sizes=IMAGE_SIZES, about="torchvision convnext_tiny (gen_specs.py's)")
    case("convnext_small_cfg", "convnext",
         lambda: tvm.ConvNeXt([CNBlockConfig(32, 64, 1), CNBlockConfig(64, None, 2)], num_classes=6), image(),
         [("block_setting", Raw("[CNBlockConfig(32, 64, 1), CNBlockConfig(64, None, 2)]")), ("num_classes", 6)],
         sizes=IMAGE_SIZES, about="torchvision ConvNeXt([CNBlockConfig(32, 64, 1), CNBlockConfig(64, None, 2)])")
    # ---- googlenet (transform_input False: torchvision's default without weights;
    # init_weights=False: its truncated-normal init takes 5 s and changes no key)
    case("googlenet", "googlenet", lambda: tvm.googlenet(aux_logits=False, init_weights=False, **TV), image(),
         [("aux_logits", False), ("num_classes", 10)], sizes=IMAGE_SIZES,
         about="torchvision googlenet(aux_logits=False)")
    case("googlenet_aux", "googlenet", lambda: tvm.googlenet(aux_logits=True, init_weights=False, **TV), image(),
         [("aux_logits", True), ("num_classes", 10)], sizes=IMAGE_SIZES,
         about="torchvision googlenet(aux_logits=True): eval returns the logits alone")
    # ---- mnasnet
    case("mnasnet0_5", "mnasnet", lambda: tvm.mnasnet0_5(**TV), image(), [("alpha", 0.5), ("num_classes", 10)],
         save="reuse:spec_mnasnet0_5.pt", sizes=IMAGE_SIZES, about="torchvision mnasnet0_5 (gen_specs.py's)")
    case("mnasnet1_0", "mnasnet", lambda: tvm.mnasnet1_0(**TV), image(), [("alpha", 1.0), ("num_classes", 10)],
         sizes=IMAGE_SIZES, about="torchvision mnasnet1_0")
    # ---- vit (heads of 64: torchvision's pickled ViT is not a case, see above)
    vit1 = dict(image_size=32, patch_size=8, num_layers=2, num_heads=1, hidden_dim=64, mlp_dim=128, num_classes=7)
    case("vit_32", "vit", lambda: tvm.VisionTransformer(**vit1), image(32),
         [(k, vit1[k]) for k in ("image_size", "patch_size", "num_layers", "hidden_dim", "mlp_dim", "num_classes")],
         about="torchvision VisionTransformer(image 32, patch 8, 2 layers, 1 head of 64, hidden 64, mlp 128)")
    vit2 = dict(image_size=48, patch_size=16, num_layers=3, num_heads=2, hidden_dim=128, mlp_dim=256, num_classes=10)
    case("vit_small48", "vit", lambda: tvm.VisionTransformer(**vit2), image(48),
         [(k, vit2[k]) for k in ("image_size", "patch_size", "num_layers", "hidden_dim", "mlp_dim", "num_classes")],
         about="torchvision VisionTransformer(image 48, patch 16, 3 layers, 2 heads of 64, hidden 128, mlp 256)")
    # ---- swin (head counts are in the relative position tables)
    sw1 = dict(patch_size=[4, 4], embed_dim=24, depths=[2, 2], num_heads=[2, 4], window_size=[4, 4], num_classes=10)
    sw2 = dict(patch_size=[4, 4], embed_dim=32, depths=[1, 1, 2], num_heads=[2, 4, 8], window_size=[4, 4],
               num_classes=5)
    case("swin_24", "swin", lambda: tvm.SwinTransformer(**sw1), image(), list(sw1.items()), sizes=IMAGE_SIZES,
         about="torchvision SwinTransformer(embed 24, depths [2, 2], heads [2, 4], window 4)")
    case("swin_32", "swin", lambda: tvm.SwinTransformer(**sw2), image(), list(sw2.items()), sizes=IMAGE_SIZES,
         about="torchvision SwinTransformer(embed 32, depths [1, 1, 2], heads [2, 4, 8], window 4)")
    case("swin_t", "swin", lambda: tvm.swin_t(**TV), image(),
         [("patch_size", [4, 4]), ("embed_dim", 96), ("depths", [2, 2, 6, 2]), ("num_heads", [3, 6, 12, 24]),
          ("window_size", [7, 7]), ("num_classes", 10)],
         save="reuse:spec_swin_t.pt", sizes=IMAGE_SIZES, about="torchvision swin_t (gen_specs.py's)")
    # ---- nn.TransformerEncoder language models (EncoderLM above)
    enc2 = dict(vocab_size=50, d_model=64, num_layers=2, dim_feedforward=128, final_norm=False)
    case("tfenc2", "nn_transformer_encoder", lambda: EncoderLM(nhead=1, **enc2), tokens(50), list(enc2.items()),
         sizes=TOKEN_SIZES, about="EncoderLM: 2 nn.TransformerEncoderLayer(64, 1 head of 64, 128), relu, post-norm")
    ek = random_encoder()
    case("tfenc_random", "nn_transformer_encoder", lambda: EncoderLM(nhead=ek["d_model"] // 64, **ek),
         tokens(ek["vocab_size"]), list(ek.items()), sizes=TOKEN_SIZES,
         about="EncoderLM(%s), heads of 64, seeded random" % ek)
    enc6 = dict(vocab_size=40, d_model=64, nhead=8, num_layers=6, dim_feedforward=96, norm_first=True,
                activation="gelu", final_norm=True)
    case("tfenc6_pickle", "nn_transformer_encoder", lambda: EncoderLM(**enc6), tokens(40), list(enc6.items()),
         save="pickle", sizes=TOKEN_SIZES,
         about="EncoderLM: 6 layers, 8 heads of 8, gelu, norm_first, final LayerNorm; the whole module")
    # ---- nn.Transformer, called as model(src, tgt): no masks
    tf1 = dict(d_model=64, num_encoder_layers=1, num_decoder_layers=2, dim_feedforward=128)
    case("nn_transformer_64", "nn_transformer", lambda: nn.Transformer(nhead=1, **tf1),
         [("f32", (S, N, 64)), ("f32", (T, N, 64))], list(tf1.items()), sizes={"S": S, "T": T}, batch_axis=1,
         about="nn.Transformer(d_model 64, 1 head, 1 encoder and 2 decoder layers, ff 128), (S, N, E) inputs")
    # (batch_first=True is read from the pickle too, but the family declares torch's default (S, N, E)
    # inputs: .arch cannot make an input's layout depend on a configuration value yet)
    tf2 = dict(d_model=32, nhead=4, num_encoder_layers=2, num_decoder_layers=2, dim_feedforward=64,
               activation="gelu", norm_first=True)
    case("nn_transformer_pickle", "nn_transformer", lambda: nn.Transformer(**tf2),
         [("f32", (S, N, 32)), ("f32", (T, N, 32))], list(tf2.items()), save="pickle", sizes={"S": S, "T": T},
         about="nn.Transformer(d_model 32, 4 heads, gelu, norm_first), the whole module", batch_axis=1)
    # ---- recurrent language models (RNNLM above)
    lstm = dict(vocab_size=50, embed_dim=16, hidden_size=32, num_layers=1, cell="LSTM", bidirectional=False)
    gru = dict(vocab_size=40, embed_dim=16, hidden_size=24, num_layers=2, cell="GRU", bidirectional=True)
    elman = dict(vocab_size=30, embed_dim=8, hidden_size=16, num_layers=2, cell="RNN", bidirectional=False)
    for cname, kw in (("rnnlm_lstm", lstm), ("rnnlm_gru_bi", gru), ("rnnlm_rnn", elman)):
        case(cname, "rnn_lm", (lambda kw=kw: RNNLM(**kw)), tokens(kw["vocab_size"]), list(kw.items()),
             sizes=TOKEN_SIZES, about="RNNLM: %s, %d layer(s)%s" % (kw["cell"], kw["num_layers"],
                                                                  ", bidirectional" if kw["bidirectional"] else ""))
    rk = random_rnnlm()
    case("rnnlm_random", "rnn_lm", lambda: RNNLM(**rk), tokens(rk["vocab_size"]), list(rk.items()),
         sizes=TOKEN_SIZES, about="RNNLM(%s), seeded random" % rk)
    # ---- GPT-2: Hugging Face's (Conv1D layout) and nanoGPT's (nn.Linear)
    for cname, kw in (("gpt2_64", dict(vocab_size=50, n_positions=16, n_embd=64, n_layer=2)),
                      ("gpt2_128", dict(vocab_size=80, n_positions=32, n_embd=128, n_layer=3))):
        case(cname, "gpt2", (lambda kw=kw: hf_gpt2(**kw)), tokens(kw["vocab_size"]), list(kw.items()),
             sizes=TOKEN_SIZES, about="spec_lm.py's GPT2LMHeadModel, %d head(s) of 64" % (kw["n_embd"] // 64))
    g3 = dict(vocab_size=50, n_positions=16, n_embd=48, n_layer=2, n_head=3)
    case("gpt2_pickle", "gpt2", lambda: hf_gpt2(**g3), tokens(50), list(g3.items()), save="pickle",
         sizes=TOKEN_SIZES, about="spec_lm.py's GPT2LMHeadModel, 3 heads of 16; the whole module")
    for cname, kw in (("nanogpt_64", dict(block_size=16, vocab_size=50, n_layer=2, n_embd=64, bias=True)),
                      ("nanogpt_128", dict(block_size=32, vocab_size=72, n_layer=3, n_embd=128, bias=False))):
        case(cname, "nanogpt", (lambda kw=kw: nanogpt(**kw)), tokens(kw["vocab_size"]), list(kw.items()),
             sizes=TOKEN_SIZES, about="spec_lm.py's nanoGPT GPT, %d head(s) of 64, bias=%s" % (kw["n_embd"] // 64,
                                                                                         kw["bias"]))
    # ---- LLaMA
    ll1 = dict(vocab_size=50, hidden_size=128, intermediate_size=256, num_hidden_layers=2)
    ll2 = dict(vocab_size=64, hidden_size=256, intermediate_size=384, num_hidden_layers=2)
    case("llama_mha", "llama", lambda: hf_llama(num_key_value_heads=2, **ll1), tokens(50), list(ll1.items()),
         sizes=TOKEN_SIZES, about="spec_lm.py's LlamaForCausalLM, 2 heads of 64, 2 key/value heads")
    case("llama_gqa", "llama", lambda: hf_llama(num_key_value_heads=2, **ll2), tokens(64), list(ll2.items()),
         save="safetensors", sizes=TOKEN_SIZES,
         about="spec_lm.py's LlamaForCausalLM, 4 heads of 64, 2 key/value heads (GQA); safetensors")
    # ---- BERT (returns the sequence and the pooled output)
    b1 = dict(vocab_size=50, hidden_size=64, num_hidden_layers=2, intermediate_size=128, max_position_embeddings=16,
              type_vocab_size=2)
    b2 = dict(vocab_size=90, hidden_size=128, num_hidden_layers=3, intermediate_size=256, max_position_embeddings=32,
              type_vocab_size=2)
    case("bert_64", "bert", lambda: hf_bert(**b1), tokens(50), list(b1.items()), save="safetensors",
         sizes=TOKEN_SIZES, about="spec_lm.py's BertModel, 1 head of 64; safetensors")
    case("bert_128", "bert", lambda: hf_bert(**b2), tokens(90), list(b2.items()), sizes=TOKEN_SIZES,
         about="spec_lm.py's BertModel, 2 heads of 64")
    # ---- MLPs
    for cname, sizes in (("mlp2", [20, 32, 10]), ("mlp4", [16, 64, 48, 32, 5]), ("mlp_random", random_mlp())):
        case(cname, "mlp", (lambda sizes=sizes: mlp(sizes)), [("f32", (N, sizes[0]))], [("sizes", sizes)],
             about="mlp(%s)" % sizes)
    # ---- convolution stacks
    c2a = dict(in_channels=3, channels=[8, 16], num_classes=10, batch_norm=True)
    c2b = dict(in_channels=1, channels=[4, 8, 16], num_classes=5, batch_norm=False)
    case("conv2d_bn", "conv2d_stack", lambda: conv2d_stack(image_size=16, **c2a), image(16, 3), list(c2a.items()),
         about="conv2d_stack(3, [8, 16], 10, batch_norm=True) on 16x16")
    case("conv2d_plain", "conv2d_stack", lambda: conv2d_stack(image_size=32, **c2b), image(32, 1), list(c2b.items()),
         about="conv2d_stack(1, [4, 8, 16], 5, batch_norm=False) on 32x32")
    c1a = dict(in_channels=4, channels=[8, 16], num_classes=10, batch_norm=True)
    c1b = dict(in_channels=1, channels=[8, 8, 16], num_classes=3, batch_norm=False)
    case("conv1d_bn", "conv1d_stack", lambda: conv1d_stack(length=32, **c1a), [("f32", (N, 4, 32))],
         list(c1a.items()), about="conv1d_stack(4, [8, 16], 10, batch_norm=True) on length 32")
    case("conv1d_plain", "conv1d_stack", lambda: conv1d_stack(length=64, **c1b), [("f32", (N, 1, 64))],
         list(c1b.items()), about="conv1d_stack(1, [8, 8, 16], 3, batch_norm=False) on length 64")


def hf_gpt2(vocab_size, n_positions, n_embd, n_layer, n_head=None):
    """spec_lm.hf_gpt2's config at other sizes: heads of 64 unless n_head,
    GPT2Config's defaults (n_inner None, epsilon 1e-5)."""
    c = spec_lm.config(vocab_size=vocab_size, n_positions=n_positions, n_embd=n_embd, n_layer=n_layer,
                       n_head=n_head or n_embd // 64, n_inner=None, resid_pdrop=0.1, embd_pdrop=0.1, attn_pdrop=0.1,
                       layer_norm_epsilon=1e-5, scale_attn_weights=True, scale_attn_by_inverse_layer_idx=False)
    c.hidden_size, c.max_position_embeddings = c.n_embd, c.n_positions
    c.num_attention_heads, c.num_hidden_layers = c.n_head, c.n_layer
    return spec_lm.GPT2LMHeadModel(c)


def nanogpt(block_size, vocab_size, n_layer, n_embd, bias):
    return spec_lm.GPT(spec_lm.config(block_size=block_size, vocab_size=vocab_size, n_layer=n_layer,
                                      n_head=n_embd // 64, n_embd=n_embd, dropout=0.0, bias=bias))


def hf_llama(vocab_size, hidden_size, intermediate_size, num_hidden_layers, num_key_value_heads):
    """LlamaConfig's defaults but the sizes: heads of 64, rms_norm_eps 1e-6,
    rope_theta 10000, no attention bias."""
    return spec_lm.LlamaForCausalLM(spec_lm.config(
        vocab_size=vocab_size, hidden_size=hidden_size, intermediate_size=intermediate_size,
        num_hidden_layers=num_hidden_layers, num_attention_heads=hidden_size // 64,
        num_key_value_heads=num_key_value_heads, max_position_embeddings=2048, rms_norm_eps=1e-6,
        rope_theta=10000.0, attention_bias=False, attention_dropout=0.0, pad_token_id=None))


def hf_bert(vocab_size, hidden_size, num_hidden_layers, intermediate_size, max_position_embeddings,
            type_vocab_size):
    """BertConfig's defaults but the sizes: heads of 64, layer_norm_eps 1e-12."""
    return spec_lm.BertModel(spec_lm.config(
        vocab_size=vocab_size, hidden_size=hidden_size, num_hidden_layers=num_hidden_layers,
        num_attention_heads=hidden_size // 64, intermediate_size=intermediate_size,
        max_position_embeddings=max_position_embeddings, type_vocab_size=type_vocab_size, layer_norm_eps=1e-12,
        hidden_dropout_prob=0.1, attention_probs_dropout_prob=0.1, pad_token_id=0))


# ------------------------------------------------------------------ writing

def seed_of(name):
    return zlib.crc32(name.encode("ascii")) & 0x7FFFFFFF


def draw(inputs, seed):
    gen = torch.Generator().manual_seed(seed)
    out = []
    for dtype, shape, *high in inputs:
        if dtype == "i64":
            out.append(torch.randint(0, high[0], shape, generator=gen))
        else:
            out.append(torch.randn(shape, generator=gen))
    return out


def calibration(c):
    """gen_specs.condition's inputs: the case's, at batch 4."""
    d = {}
    for i, (dtype, shape, *high) in enumerate(c.inputs):
        shape = list(shape)
        shape[c.batch_axis] = 4
        d["in%d" % i] = (dtype, tuple(shape), *high)
    return d


def write_safetensors(path, sd):
    items = [(k, v.detach().contiguous()) for k, v in sd.items()]
    data = gst.serialize(items, metadata={"format": "pt"})
    got, _ = gst.read_back(data)
    for (n, a), (m, b) in zip(items, got):
        if n != m or a.dtype != b.dtype or a.shape != b.shape or not torch.equal(a, b):
            raise SystemExit("gen_infer: %s: tensor %s does not round-trip" % (path, n))
    with open(path, "wb") as f:
        f.write(data)


def link_or_copy(src, dst):
    try:
        os.link(src, dst)
    except OSError:
        shutil.copyfile(src, dst)


def gen_one(c, fixtures, out):
    torch.manual_seed(seed_of(c.name))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = c.build()
        if c.save.startswith("reuse:"):
            src = os.path.join(fixtures, c.save[len("reuse:"):])
            if not os.path.isfile(src):
                raise SystemExit("gen_infer: no %s: run gen_specs.py first" % src)
            try:
                model.load_state_dict(torch.load(src), strict=True)
            except RuntimeError as e:
                raise SystemExit("gen_infer: %s: %s is not the model `expect` describes: %s" % (c.name, src, e))
            model.eval()
        else:
            gs.condition(c.name, model, calibration(c))
        args = draw(c.inputs, seed_of(c.name) + 1)
        with torch.no_grad():
            outs = tensors(model(*args))
    if not outs:
        raise SystemExit("gen_infer: %s returned no tensor" % c.name)

    d = os.path.join(out, c.name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    if c.save.startswith("reuse:"):
        link_or_copy(src, os.path.join(d, "weights.pt"))
    elif c.save == "sd":
        torch.save(model.state_dict(), os.path.join(d, "weights.pt"))
    elif c.save == "dp":
        sd = nn.DataParallel(model).state_dict()
        if not all(k.startswith("module.") for k in sd):
            raise SystemExit("gen_infer: %s: nn.DataParallel's keys are not all module.*" % c.name)
        torch.save(sd, os.path.join(d, "weights.pt"))
    elif c.save == "pickle":
        torch.save(model, os.path.join(d, "weights.pt"))
    elif c.save == "safetensors":
        write_safetensors(os.path.join(d, "weights.safetensors"), model.state_dict())
    else:
        raise SystemExit("gen_infer: %s: unknown save %r" % (c.name, c.save))

    with open(os.path.join(d, "family"), "w") as f:
        f.write(c.family + "\n")
    with open(os.path.join(d, "expect"), "w") as f:
        f.write("".join("%s = %s\n" % (k, pyrepr(v)) for k, v in c.expect.items()))
    with open(os.path.join(d, "sizes"), "w") as f:
        f.write("".join("%s=%d\n" % kv for kv in c.sizes.items()))
    for i, a in enumerate(args):
        np.save(os.path.join(d, "in%d.npy" % i), a.contiguous().numpy())
    for i, t in enumerate(outs):
        a = t.detach().contiguous().numpy()
        if a.dtype.kind != "f" or not (np.isfinite(a).all() and np.abs(a).max() > 0):
            raise SystemExit("gen_infer: %s out%d is not finite, nonzero floating point" % (c.name, i))
        # the two items must differ, or a spec that mixed them up would pass
        o = np.moveaxis(a.astype(np.float64), c.batch_axis, 0)
        spread = np.abs(o[1] - o[0]).max() / np.abs(o).max()
        if spread <= 1e-3:
            raise SystemExit("gen_infer: %s out%d is the same to %.1e for both items of the batch"
                             % (c.name, i, spread))
        np.save(os.path.join(d, "out%d.npy" % i), a)


def check_tests(names):
    """tests/infer/ holds one CASE.infer per case, and nothing else."""
    tdir = os.path.join(HERE, "infer")
    have = sorted(f[:-6] for f in os.listdir(tdir) if f.endswith(".infer")) if os.path.isdir(tdir) else []
    want = sorted(names)
    if have != want:
        raise SystemExit("gen_infer: tests/infer/*.infer does not match the cases: missing %s, extra %s"
                         % (sorted(set(want) - set(have)), sorted(set(have) - set(want))))


def main(argv):
    define_cases()
    names = [c.name for c in CASES]
    if len(set(names)) != len(names):
        raise SystemExit("gen_infer: a case name is used twice")
    if argv[1:] == ["--list"]:
        for c in CASES:
            sys.stdout.write("%s %s %s\n" % (c.name, c.family, c.about))
        return 0
    if len(argv) != 2:
        raise SystemExit("usage: gen_infer.py FIXTURES | --list")
    if sys.byteorder != "little":
        raise SystemExit("gen_infer: the fixtures are little-endian; this host is not")
    check_tests(names)
    fixtures = argv[1]
    out = os.path.join(fixtures, "infer")
    os.makedirs(out, exist_ok=True)
    manifest = os.path.join(out, "manifest.txt")
    if os.path.exists(manifest):
        os.remove(manifest)
    for d in os.listdir(out):            # a case no longer made
        if d not in names and os.path.isfile(os.path.join(out, d, "family")):
            shutil.rmtree(os.path.join(out, d))
    # one thread: on a machine shared with other jobs, two spin-wait for
    # each other (30 s instead of 100 s at a load of 10; 10 s when idle)
    torch.set_num_threads(1)
    t0 = time.time()
    for c in CASES:
        gen_one(c, fixtures, out)
    with open(manifest + ".tmp", "w") as f:
        f.write("".join("%s %s\n" % (c.name, c.family) for c in CASES))
    os.replace(manifest + ".tmp", manifest)
    sys.stderr.write("gen_infer: %d cases of %d families in %s (%.1f s)\n"
                     % (len(CASES), len(set(c.family for c in CASES)), out, time.time() - t0))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
