#!/usr/bin/python3
"""gen_catalog.py OUTDIR — what torch.nn's constructors really build, for
src/lang/catalog.c's layer table (tests/catalog.sh compares).

For every call of the sweep below, constructs the module with torch (1.13,
Debian's python3-torch; StochasticDepth from torchvision.ops) and writes to
OUTDIR/catalog.expect one block:

    call Conv2d in_channels=4 out_channels=8 kernel_size=3 groups=2 bias=false
    weight f32 [8, 2, 3, 3] param

one line per state-dict entry, in state-dict order: name, dtype, shape,
"buffer" if torch lists it in named_buffers() else "param".  A call marked
'!' below must make torch raise; its block is the call and "error".  A
call marked '~' is a deliberate divergence: torch builds it, rcc refuses
it (a zero size, see "Sizes" in rcc-arch(5)); torch must build it, and its
block is the call and "error".
OUTDIR/catalog.calls holds just the call lines (catalog_dump's input).

Call syntax (.arch literals, as catalog_dump parses them): positional
values, then NAME=VALUE; values are ints, floats (with '.' or 'e'),
true/false, none, "strings", tuples of ints (3,5).
"""
import os
import re
import sys
import warnings

SWEEP = r'''
# Linear, Bilinear
Linear 512 10
Linear in_features=4 out_features=8 bias=false
Linear 3 5 false
!Linear -1 4
!Linear 4.0 8
Bilinear 3 4 5
Bilinear in1_features=3 in2_features=4 out_features=5 bias=false
# convolutions
Conv1d 4 8 3
Conv1d in_channels=4 out_channels=8 kernel_size=5 stride=2 padding=2 dilation=2 groups=4 bias=false padding_mode="circular"
Conv1d 6 6 3 padding="same"
Conv2d 3 64 7 stride=2 padding=3 bias=false
Conv2d in_channels=4 out_channels=8 kernel_size=3 groups=2 bias=false
Conv2d 4 8 (3,5)
Conv2d 8 8 3 groups=8
Conv2d 4 8 3 dilation=2 padding=2
Conv2d 4 8 3 padding="valid" padding_mode="reflect"
Conv2d 4 8 (1,3) stride=(2,1) padding=(0,1) padding_mode="replicate"
Conv2d 4 8 3 1 1 1 1 false "zeros"
!Conv2d 3 8 3 groups=2
!Conv2d 4 6 3 groups=4
!Conv2d 4 8 3 groups=0
!Conv2d 4 8 3 padding_mode="bogus"
!Conv2d 4 8 3 padding="same" stride=2
!Conv2d 4 8 3 padding="full"
!Conv2d 4 8
Conv3d 2 4 3
Conv3d 4 8 (1,3,3) groups=2 bias=false
ConvTranspose1d 4 8 3
ConvTranspose1d 4 6 4 stride=2 groups=2 bias=false
ConvTranspose2d 8 4 2 stride=2
ConvTranspose2d in_channels=6 out_channels=4 kernel_size=(3,5) stride=2 output_padding=1 groups=2 dilation=1
ConvTranspose2d 8 8 3 groups=4 bias=false
!ConvTranspose2d 4 4 3 padding_mode="reflect"
!ConvTranspose2d 6 4 3 groups=4
# normalization
BatchNorm1d 10
BatchNorm2d 128
BatchNorm2d 64 affine=false
BatchNorm2d 64 track_running_stats=false
BatchNorm2d 32 eps=0.001 momentum=none affine=false track_running_stats=false
BatchNorm2d num_features=16 eps=1e-05 momentum=0.01
BatchNorm3d 8
BatchNorm3d 8 1e-3 0.1 false true
!BatchNorm2d -3
InstanceNorm1d 10
InstanceNorm1d 10 affine=true
InstanceNorm2d 16 affine=true track_running_stats=true
InstanceNorm2d 16 track_running_stats=true
LayerNorm 768
LayerNorm (4,8)
LayerNorm 64 eps=1e-06 elementwise_affine=false
LayerNorm normalized_shape=(2,3,4)
GroupNorm 32 256
GroupNorm 4 16 affine=false
GroupNorm num_groups=1 num_channels=8 eps=1e-06
!GroupNorm 3 8
# embeddings
Embedding 1000 32
Embedding 10 3 padding_idx=0
Embedding num_embeddings=10 embedding_dim=3 padding_idx=-1 max_norm=1.0 sparse=true
!Embedding 10 3 padding_idx=10
!Embedding 10 3 padding_idx=-11
EmbeddingBag 10 3
EmbeddingBag 10 3 mode="sum" padding_idx=2 include_last_offset=true
EmbeddingBag num_embeddings=7 embedding_dim=5 mode="max"
# recurrent
LSTM 10 20
LSTM 10 20 2
LSTM input_size=10 hidden_size=20 num_layers=3 bidirectional=true
LSTM 10 20 bias=false
LSTM 10 20 num_layers=2 proj_size=5
LSTM 10 20 num_layers=2 proj_size=5 bidirectional=true bias=false
LSTM 10 20 batch_first=true dropout=0.5 num_layers=2
LSTM 10 20 1 true true 0.0 true 4
!LSTM 10 20 proj_size=20
!LSTM 10 20 proj_size=-1
!LSTM 10 20 dropout=1.5
GRU 10 20
GRU 10 20 num_layers=3 bidirectional=true
GRU 8 16 bias=false batch_first=true
!GRU 10 20 proj_size=5
RNN 10 20
RNN 10 20 2 nonlinearity="relu" bidirectional=true
RNN input_size=6 hidden_size=4 nonlinearity="tanh" bias=false
!RNN 10 20 nonlinearity="sigmoid"
# attention
MultiheadAttention 64 8
MultiheadAttention 64 8 bias=false
MultiheadAttention embed_dim=64 num_heads=4 add_bias_kv=true
MultiheadAttention 64 4 kdim=32 vdim=16
MultiheadAttention 64 4 kdim=32 bias=false add_bias_kv=true batch_first=true
MultiheadAttention 64 4 kdim=64 vdim=64
MultiheadAttention 64 4 vdim=8
MultiheadAttention 64 2 dropout=0.1 add_zero_attn=true
!MultiheadAttention 10 3
# PReLU
PReLU
PReLU 64
PReLU num_parameters=3 init=0.1
# no tensors
ReLU
ReLU inplace=true
ReLU6
LeakyReLU 0.2
LeakyReLU negative_slope=0.1 inplace=true
ELU alpha=0.5
GELU
GELU approximate="tanh"
SiLU
Mish
Sigmoid
Tanh
Hardswish
Hardsigmoid inplace=true
Hardtanh
Hardtanh -2.0 2.0
Hardtanh min_val=0.0 max_val=6.0
!Hardtanh min_val=1.0 max_val=0.0
Softmax dim=-1
Softmax
LogSoftmax dim=1
Softplus beta=2 threshold=10
Identity
Dropout
Dropout 0.1
!Dropout p=1.5
Dropout1d 0.2
Dropout2d p=0.3 inplace=true
AlphaDropout 0.1
StochasticDepth 0.2 "row"
StochasticDepth p=0.1 mode="batch"
Flatten
Flatten 0 -1
Unflatten 1 (2,5)
MaxPool1d 3
MaxPool2d 3 2 1
MaxPool2d kernel_size=(2,3) stride=(2,1) ceil_mode=true
AvgPool1d 2
AvgPool2d 2 count_include_pad=false divisor_override=3
AdaptiveAvgPool1d 4
AdaptiveAvgPool2d (7,7)
AdaptiveAvgPool2d 1
AdaptiveMaxPool2d 2 return_indices=true
Upsample scale_factor=2.0 mode="bilinear" align_corners=false
Upsample size=(8,8)
PixelShuffle 2
ZeroPad2d 1
ZeroPad2d (1,2,0,1)
ConstantPad2d 2 0.5
ReflectionPad2d (1,1,2,2)
# zero sizes: torch 1.13 builds these layers (with empty weights or none);
# rcc refuses them on purpose, a zero size in a spec being a mistyped one
~Linear 0 4
~Linear 4 0
~Bilinear 3 0 5
~Conv2d 0 8 3
~ConvTranspose2d 4 0 3
~BatchNorm2d 0
~InstanceNorm2d 0
~LayerNorm (0,3)
~Embedding 0 3
~MultiheadAttention 64 8 kdim=0
~PReLU 0
~PixelShuffle 0
~Unflatten 1 (2,0)
'''

TOKEN = re.compile(r'\s*(?:(\w+)=)?("[^"]*"|\([^)]*\)|[^\s]+)')


def value(text):
    """An .arch literal as the Python value torch takes."""
    if text in ('true', 'false'):
        return text == 'true'
    if text == 'none':
        return None
    if text.startswith('"'):
        return text[1:-1]
    if text.startswith('('):
        return tuple(int(x) for x in text[1:-1].split(',') if x.strip())
    if re.fullmatch(r'-?\d+', text):
        return int(text)
    return float(text)


def parse(line):
    """'Conv2d 4 8 3 groups=2' -> ('Conv2d', [4, 8, 3], {'groups': 2})."""
    name, _, rest = line.partition(' ')
    args, kwargs = [], {}
    pos = 0
    rest = rest.strip()
    while pos < len(rest):
        m = TOKEN.match(rest, pos)
        assert m, line
        pos = m.end()
        if m.group(1):
            kwargs[m.group(1)] = value(m.group(2))
        else:
            assert not kwargs, 'positional after keyword: ' + line
            args.append(value(m.group(2)))
        while pos < len(rest) and rest[pos] == ' ':
            pos += 1
    return name, args, kwargs


def layer_class(name):
    import torch.nn as nn
    if name == 'StochasticDepth':
        import torchvision.ops
        return torchvision.ops.StochasticDepth
    return getattr(nn, name)


DTYPES = None


def block(module):
    import torch
    dt = {torch.float32: 'f32', torch.float64: 'f64', torch.float16: 'f16',
          torch.bfloat16: 'bf16', torch.int64: 'i64', torch.int32: 'i32',
          torch.int16: 'i16', torch.int8: 'i8', torch.uint8: 'u8', torch.bool: 'bool'}
    buffers = {n for n, _ in module.named_buffers()}
    lines = []
    for n, t in module.state_dict().items():
        lines.append('%s %s [%s] %s' % (n, dt[t.dtype], ', '.join(str(d) for d in t.shape),
                                        'buffer' if n in buffers else 'param'))
    return lines


def main():
    if len(sys.argv) != 2:
        sys.exit('usage: gen_catalog.py OUTDIR')
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    import torch
    torch.manual_seed(0)
    warnings.simplefilter('ignore')
    expect, calls = [], []
    for raw in SWEEP.splitlines():
        raw = raw.strip()
        if not raw or raw.startswith('#'):
            continue
        must_fail, diverges = raw.startswith('!'), raw.startswith('~')
        line = raw.lstrip('!~')
        name, args, kwargs = parse(line)
        call = 'call ' + line
        calls.append(call)
        expect.append(call)
        try:
            module = layer_class(name)(*args, **kwargs)
        except Exception as e:          # noqa: BLE001 (torch raises several kinds)
            if not must_fail:
                sys.exit('gen_catalog.py: torch refused %r: %s: %s' % (line, type(e).__name__, e))
            expect.append('error')
            continue
        if must_fail:
            sys.exit('gen_catalog.py: torch accepted %r, marked as an error' % line)
        if diverges:                    # torch builds it; rcc refuses it on purpose
            expect.append('error')
            continue
        expect.extend(block(module))
    for fname, lines in (('catalog.expect', expect), ('catalog.calls', calls)):
        tmp = os.path.join(out, fname + '.tmp')
        with open(tmp, 'w') as f:
            f.write('\n'.join(lines) + '\n')
        os.replace(tmp, os.path.join(out, fname))


if __name__ == '__main__':
    main()
