#!/usr/bin/python3
"""torch's results for the forward functions of tests/check/specs/fn_*.arch.

Usage:  /usr/bin/python3 tests/gen_fn.py SRCDIR OUTDIR

Every model of the specs fn_nn.arch, fn_tensor.arch and fn_errors.arch has
a case below (fn_layers.arch: a torch module in LAYER_CASES, whose
parameters and buffers are drawn at random and saved as its state_dict): a Python function that does in torch what the model's
forward does in the spec.  This script reads each model's `input`,
`param` and `buffer` declarations from the spec, makes tensors of those
dtypes and shapes (the symbolic sizes bound as in SIZES), runs the case,
and writes
  OUTDIR/fn_MODEL.pt    the model's params and buffers (torch.save), so
                        that `rcc check --model MODEL` matches and prints
                        the forward's signature
  OUTDIR/fn_expect.txt  one line per model, in the order of the specs:
                          shape SPEC MODEL N=3 T=5 -> f32[3, 10]
                        (torch's output type, written as rcc writes types:
                        a tuple as (f32[...], i64[...])), or
                          raises SPEC MODEL message
                        when torch raises (the fn_errors.arch models must)
tests/fn-shapes.sh runs rcc on each model and compares.  A model without
a case, or a case without a model, is an error here.
"""
import math
import os
import re
import sys
import warnings

import numpy as np
import torch
import torch.nn.functional as F
import torchvision.ops
from torchvision.models.swin_transformer import shifted_window_attention

DTYPES = {
    "f32": torch.float32, "f16": torch.float16, "bf16": torch.bfloat16, "f64": torch.float64,
    "i64": torch.int64, "i32": torch.int32, "i16": torch.int16, "i8": torch.int8, "u8": torch.uint8,
    "bool": torch.bool,
}
NAMES = {v: k for k, v in DTYPES.items()}

# The sizes the inputs' symbols stand for: all different, and different
# from the exact sizes the specs use where that matters.
SIZES = {"N": 3, "T": 5, "S": 6}

SPECS = ["fn_nn.arch", "fn_tensor.arch", "fn_errors.arch", "fn_layers.arch"]


# --------------------------------------------------------- the references

def sdpa(q, k, v, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None, enable_gqa=False):
    """F.scaled_dot_product_attention (torch >= 2.0) as its documentation
    writes it out in torch operations (torch 1.13 does not have it)."""
    L, S = q.size(-2), k.size(-2)
    scale = 1 / math.sqrt(q.size(-1)) if scale is None else scale
    bias = torch.zeros(L, S, dtype=q.dtype)
    if is_causal:
        assert attn_mask is None
        bias = bias.masked_fill(torch.ones(L, S, dtype=torch.bool).tril().logical_not(), float("-inf"))
    if attn_mask is not None:
        if attn_mask.dtype == torch.bool:
            bias = bias.masked_fill(attn_mask.logical_not(), float("-inf"))
        else:
            bias = attn_mask + bias
    if enable_gqa:
        k = k.repeat_interleave(q.size(-3) // k.size(-3), -3)
        v = v.repeat_interleave(q.size(-3) // v.size(-3), -3)
    w = q @ k.transpose(-2, -1) * scale + bias
    return torch.softmax(w, dim=-1) @ v


def rms_norm(x, normalized_shape, weight=None, eps=None):
    """F.rms_norm (torch >= 2.4) in torch operations."""
    dims = tuple(range(-len(normalized_shape), 0))
    eps = torch.finfo(x.dtype).eps if eps is None else eps
    if tuple(x.shape[-len(normalized_shape):]) != tuple(normalized_shape):
        raise RuntimeError("normalized_shape does not match the input")
    y = x * torch.rsqrt(x.pow(2).mean(dims, keepdim=True) + eps)
    return y * weight if weight is not None else y


sd = torchvision.ops.stochastic_depth
inf = math.inf
finfo_min = torch.finfo(torch.float32).min


# ----------------------------------------------------------------- cases

def c(**kw):
    return kw


CASES = {
    # fn_nn.arch
    "LinearFn": lambda x, w, b, **_: (F.linear(x, w, b), F.linear(x, w), F.linear(x, weight=w, bias=b)),
    "LinearVector": lambda x, v, **_: F.linear(x, v),
    "Conv1dFn": lambda x, w, b, **_: (F.conv1d(x, w, b, stride=3, padding=2, dilation=2), torch.conv1d(x[0], w)),
    "Conv2dFn": lambda x, w, **_: (F.conv2d(x, w, stride=(2, 3), padding=(1, 2), dilation=(1, 2)),
                                 F.conv2d(x, w, None, 2), F.conv2d(x, w, padding="valid")),
    "Conv3dFn": lambda x, w, b, **_: (F.conv3d(x, w, b, groups=2), F.conv3d(x, w, None, (2, 1, 2), (1, 0, 2), (1, 2, 1), 2),
                                      F.conv3d(x[0], w, b, 1, 1, 1, 2)),
    "Conv2dGroups": lambda x, w, b, **_: (F.conv2d(x, w, b, groups=3, padding="same"), F.conv2d(x, w, b, 1, 1, 2, 3)),
    "ConvTranspose": lambda x, y, w, w1, **_: (
        F.conv_transpose2d(x, w, stride=2, padding=1, output_padding=1),
        F.conv_transpose2d(x, w, groups=2, stride=(1, 2), dilation=2),
        torch.conv_transpose1d(y, w1, stride=3, padding=2)),
    "MaxPool": lambda x, s, **_: (
        F.max_pool2d(x, 3, stride=2, padding=1), F.max_pool2d(x, (2, 3), ceil_mode=True),
        F.max_pool2d(x, 3, 2, 1, 2, True), F.max_pool2d(x, 2, return_indices=True),
        F.max_pool1d(s, 4, stride=3, padding=1, dilation=2, ceil_mode=True)),
    "AvgPool": lambda x, s, **_: (
        F.avg_pool2d(x, (2, 3), stride=2, padding=1, ceil_mode=True), F.avg_pool2d(x, 3, divisor_override=2),
        F.avg_pool1d(s, 4, 3, 2, True, False), torch.avg_pool1d(s, 5)),
    "Adaptive": lambda x, s, **_: (
        F.adaptive_avg_pool2d(x, (3, None)), F.adaptive_avg_pool2d(x, 1), F.adaptive_avg_pool1d(s, 5),
        F.adaptive_max_pool2d(x, (2, 4), return_indices=True), F.adaptive_max_pool1d(s, 6)),
    "Norms": lambda x, m, w, b, gw, gb, mean, var, **_: (
        F.layer_norm(x, (16,), w, b), F.layer_norm(x, (x.shape[1], 16)), F.group_norm(m, 3, gw, gb),
        F.batch_norm(m, mean, var, gw, gb), F.batch_norm(m, mean, var, training=False, eps=0.001)),
    "RmsNorm": lambda x, w, **_: (rms_norm(x, (16,), w, eps=1e-06), rms_norm(x, (x.shape[1], 16))),
    "EmbeddingFn": lambda ids, small, w, **_: (F.embedding(ids, w), F.embedding(small, w, padding_idx=0)),
    "Interpolate": lambda x, s, v, **_: (
        F.interpolate(x, scale_factor=2), F.interpolate(x, size=(9, 11), mode="bilinear", align_corners=True),
        F.interpolate(x, scale_factor=1.5, mode="bilinear"), F.interpolate(x, scale_factor=(1.7, 0.5)),
        F.interpolate(s, scale_factor=2.5, mode="linear"), F.interpolate(v, size=6, mode="trilinear"),
        F.interpolate(x, size=4, mode="nearest-exact"), F.interpolate(x, scale_factor=0.6, mode="area"),
        F.interpolate(x, (8, 3), None, "bicubic")),
    "PixelShuffleFn": lambda x, y, **_: (F.pixel_shuffle(x, 2), torch.pixel_shuffle(x, upscale_factor=1),
                                       F.pixel_unshuffle(y, 2)),
    "Normalize": lambda x, **_: (F.normalize(x), F.normalize(x, dim=-1), F.normalize(x, p=1.0, dim=0)),
    "DropoutFn": lambda x, ids, **_: (F.dropout(x, 0.1, training=False), torch.dropout(x, 0.2, False),
                                    F.dropout(ids, training=False), sd(x, 0.2, "row", training=False),
                                    sd(x, 0.5, "batch", False), F.dropout(x, 0.5, training=False)),
    "Activations": lambda x, ids, **_: (
        F.relu(x), torch.relu(ids), F.relu6(ids), F.gelu(x), F.gelu(x, approximate="tanh"), F.silu(x),
        F.hardswish(x), F.hardsigmoid(x), torch.sigmoid(ids), F.tanh(x), F.softmax(x, dim=1),
        F.log_softmax(x, -1), F.elu(x), F.leaky_relu(x, 0.2), F.mish(x), F.softplus(x, beta=2)),
    "Attention": lambda q, k, v, mask, bias, **_: (
        sdpa(q, k, v), sdpa(q, k, v, attn_mask=mask), sdpa(q, k, v, bias, scale=0.5), sdpa(q, q, q, is_causal=True)),
    "GroupedQueryAttention": lambda q, k, v, **_: (
        sdpa(q, k, v, enable_gqa=True), sdpa(q, k[:, :1], v[:, :1], is_causal=True)),
    "SwinAttention": lambda x, qkv_weight, qkv_bias, proj_weight, proj_bias, rpb, **_: (
        shifted_window_attention(x, qkv_weight, proj_weight, rpb, [7, 7], 4, [3, 3],
                                 qkv_bias=qkv_bias, proj_bias=proj_bias),
        shifted_window_attention(x, qkv_weight, proj_weight, rpb, window_size=[7, 7], num_heads=4,
                                 shift_size=[0, 0])),

    # fn_tensor.arch
    "Elementwise": lambda x, ids, **_: (
        torch.exp(ids), torch.log(x), ids.sqrt(), torch.rsqrt(ids), torch.sin(x), ids.cos(), torch.erf(x),
        torch.abs(ids), ids.neg(), torch.floor(ids), x.ceil(), torch.clamp(ids, min=0.5), x.clamp(max=1),
        x.sigmoid(), x.tanh()),
    "Pow": lambda x, ids, y, **_: (torch.pow(2.0, ids), torch.pow(ids, 2), ids.pow(0.5), x.pow(y), torch.pow(x, 3),
                                   torch.pow(2, ids), x ** 2),
    "Arange": lambda x, **_: (
        torch.arange(10), torch.arange(2, 11, 3), torch.arange(0, 1, 0.1), torch.arange(x.shape[1]),
        torch.arange(5, dtype=torch.float32), torch.arange(10, 1, -3), torch.arange(0.5, 3), torch.arange(end=4),
        torch.arange(x.size(0))),
    "Outer": lambda a, b, **_: (torch.outer(a, b), b.outer(a)),
    "Repeats": lambda x, **_: (
        torch.repeat_interleave(x, 3, dim=1), torch.repeat_interleave(x, 2), x.repeat_interleave(2, dim=-1),
        x.repeat(2, 1, 3), x.repeat((1, 2, 1, 1)), x[:, :1].expand(-1, 5, -1), x[0].expand(2, 5, -1, -1),
        x[:1].expand_as(x)),
    "Where": lambda c, x, y, ids, **_: (
        torch.where(c, x, y), torch.where(c, x, 0.0), x.where(c, y), torch.where(c, ids, 0.5),
        torch.where(c, 1.0, 0.0), torch.where(c, ids, ids)),
    "Gather": lambda x, idx, sel, sel32, **_: (
        torch.gather(x, 1, idx), x.gather(-1, idx[:, :, :2]), torch.index_select(x, 1, sel),
        x.index_select(2, sel32), x.index_select(0, sel[0])),
    "Einsum": lambda q, k, v, a, b, m, n, p, **_: einsum_case(q, k, v, a, b, m, n, p),
    "Fill": lambda x, ids, **_: (
        torch.zeros(x.shape[0], 5), torch.zeros((x.size(0), x.size(1))), torch.ones(3, 4, dtype=torch.long),
        torch.full((x.shape[0], 2), -inf), torch.full((2, 3), 7), torch.full((2,), True),
        torch.zeros_like(x, dtype=torch.float16), torch.ones_like(ids), torch.full_like(x, 0.5),
        x.new_zeros(3, 4), ids.new_ones((2,)), torch.zeros(size=(2, 3), dtype=torch.bool), torch.ones([])),
    "Masks": lambda x, **_: masks_case(x),
    "Shapes": lambda x, **_: (
        x.unsqueeze(1), torch.unsqueeze(x, -1), x[:, :1].squeeze(1), x[:1].squeeze(), x.contiguous(),
        x.view(x.shape[0], 28), x.view(-1, 4), x.transpose(1, 2), torch.transpose(x, 0, -1), x.permute(2, 0, 1),
        torch.permute(x, (1, 2, 0)), torch.flatten(x), x.flatten(1), torch.roll(x, 1, 1), x.roll((1, 2), (1, 2)),
        F.pad(x, (1, 2)), F.pad(x, (1, 1, 2, 0), mode="reflect"), torch.reshape(x, (-1,)),
        x.reshape(x.size(0), 2, 14), x.T, x.mT),
    "Split": lambda x, **_: (x.split(2, dim=1), torch.split(x, (3, 4), 1), x.chunk(3, 1), torch.chunk(x, 2, dim=-1)),
    "CatStack": lambda x, y, ids, **_: (
        torch.cat([x, y], 1), torch.cat((x, y), dim=-2), torch.concat([y, ids], 0), torch.stack([y, y]),
        torch.stack([x, x, x], dim=-1), torch.cat([y], 2)),
    "Reductions": lambda x, ids, i32, **_: reductions_case(x, ids, i32),
    "Products": lambda a, b, m, w, **_: (
        torch.matmul(a, b), a.matmul(m), torch.matmul(a, w), torch.bmm(a, b), torch.mm(a[0], m), a[0].mm(m),
        a @ b, w @ m, torch.baddbmm(torch.bmm(a, b), a, b, beta=0.5, alpha=2), torch.baddbmm(b[0, :3, :], a, b)),
    "Sizes": lambda x, **_: (
        x.view(x.size(0), x.size(1) * 4), torch.zeros(x.dim(), x.size(-1)), torch.zeros(x[0].numel()),
        torch.zeros(x.ndim), x.reshape(x.shape[0], -1)),
    "Conversions": lambda x, ids, **_: (
        ids.float(), x.long(), x.int(), x.half(), x.double(), x.bool(), x.bfloat16(), x.to(torch.float16),
        ids.to(dtype=torch.float32), x.to(ids), x.type_as(ids), x.to("cpu"), x.detach(), torch.clone(x)),
    "Namespaces": lambda x, **_: (
        F.relu(x), F.relu(x), F.relu(x), torch.relu(x), x.relu(), torch.relu(x), x / math.sqrt(16),
        x * math.sqrt(4), torch.softmax(x, 1), x.softmax(-1), F.softmax(x, dim=0)),

    # fn_errors.arch: torch must raise
    "BadKeyword": lambda x, w, **_: F.conv2d(x, w, strides=2),
    "MissingArgument": lambda x, **_: F.conv2d(x),
    "WrongRank": lambda x, w, **_: F.conv2d(x, w),
    "NoBroadcast": lambda c, x, **_: torch.where(c, x, 0.0),
    "EinsumMismatch": lambda q, k, **_: torch.einsum("bhqd,bhkd->bhqk", q, k),
    "EinsumRank": lambda q, **_: torch.einsum("bhqd,bhkd->bhqk", q, q),
    "TooManyArguments": lambda x, **_: F.relu(x, False, 3),
    "GivenTwice": lambda x, w, **_: F.linear(x, w, weight=w),
    "UnknownKeyword": lambda x, **_: x.transpose(1, 0, contiguous=True),
    "SoftmaxOfIntegers": lambda ids, **_: F.softmax(ids, dim=-1),
    "ReluOfBool": lambda m, **_: torch.relu(m),
    "GatherFloatIndex": lambda x, **_: torch.gather(x, 1, x),
    "WhereIntCondition": lambda c, x, **_: torch.where(c, x, x),
    "LinearWidth": lambda x, w, **_: F.linear(x, w),
    "ConvChannels": lambda x, w, **_: F.conv2d(x, w, groups=2),
    "PoolPadding": lambda x, **_: F.max_pool2d(x, 3, padding=2),
    "PoolTooSmall": lambda x, **_: F.avg_pool2d(x, 3),
    "InterpolateBoth": lambda x, **_: F.interpolate(x, size=16, scale_factor=2),
    "InterpolateMode": lambda x, **_: F.interpolate(x, scale_factor=2, mode="bilinear"),
    "QueryHeads": lambda q, k, **_: sdpa(q, k, k),
    "UnknownFunction": lambda x, **_: torch.sofmax(x, 1),
    "NotInNamespace": lambda x, **_: F.arange(5),
    "LayerNormShape": lambda x, **_: F.layer_norm(x, 16),
    "SplitSections": lambda x, **_: x.split((2, 2), dim=1),
    "RepeatFewer": lambda x, **_: x.repeat(2),
    "ArangeSign": lambda x, **_: torch.arange(10, 1, 2),
    "OuterMatrix": lambda x, **_: torch.outer(x, x[0]),
    "IndexSelectMatrix": lambda x, i, **_: torch.index_select(x, 1, i),
    "EmbeddingFloat": lambda x, w, **_: F.embedding(x, w),
    "MatmulDtypes": lambda x, i, **_: torch.matmul(x, i),
    "SwinHeads": lambda x, qkv_weight, proj_weight, rpb, **_: shifted_window_attention(
        x, qkv_weight, proj_weight, rpb, [7, 7], 4, [3, 3]),
}


def einsum_case(q, k, v, a, b, m, n, p):
    s = torch.einsum("bhqd,bhkd->bhqk", q, k)
    return (s, torch.einsum("bhqk,bhkd->bhqd", s, v), torch.einsum("bqhd,bkhd->bhqk", a, b),
            torch.einsum("...ij,...jk->...ik", m, n), torch.einsum("ij,jk", n[0], p),
            torch.einsum("ii->i", n[0, :, :3]), torch.einsum("bhqd,bhkd->bhqk", [q, k]),
            torch.einsum("b h q d , b h k d -> b h q k", q, k), torch.einsum("bhqd->", q), torch.einsum("ba", n[0]))


def masks_case(x):
    T = x.shape[2]
    causal = torch.ones(T, T, dtype=torch.bool).tril()
    return (x.masked_fill(causal == 0, -inf), torch.masked_fill(x, causal == False, finfo_min),  # noqa: E712
            x.masked_fill(causal, torch.finfo(x.dtype).min), x.masked_fill(causal, float("-inf")),
            torch.tril(x, diagonal=1), x.triu(-1), torch.triu(causal), x.masked_fill(causal, math.inf))


def reductions_case(x, ids, i32):
    vals, idx = x.max(dim=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # F.softmax without dim
        implicit = F.softmax(x)
    return (x.mean(), x.mean(dim=1), x.mean((1, 2), keepdim=True), ids.sum(1), x.sum(-1, keepdim=True),
            torch.sum(i32, 1), ids.mean(dtype=torch.float32), torch.amax(x, 2), x.amin((0, 1)), x.argmax(1),
            torch.argmin(x), vals, idx, torch.max(x), torch.max(x, x[0]), x.min(2, True), i32.prod(1),
            i32.cumsum(1), torch.cumsum(x, dim=0), implicit, F.softmax(x, dim=-1, dtype=torch.float64))


# ------------------------------------------------- fn_layers.arch: modules

class Layers(torch.nn.Module):
    """A model of fn_layers.arch: its layers by name, its forward fwd(self, *inputs)."""

    def __init__(self, fwd, **mods):
        super().__init__()
        self.fwd = fwd
        for k, v in mods.items():
            self.add_module(k, v)

    def forward(self, *a):
        return self.fwd(self, *a)


class RMSNorm(torch.nn.Module):
    """torch.nn.RMSNorm (torch >= 2.4; 1.13 lacks it): its parameter and forward."""

    def __init__(self, normalized_shape, eps=None, elementwise_affine=True):
        super().__init__()
        self.shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
        self.eps = eps
        self.weight = torch.nn.Parameter(torch.ones(self.shape)) if elementwise_affine else None

    def forward(self, x):
        return rms_norm(x, self.shape, self.weight, self.eps)


nn = torch.nn
LAYER_CASES = {
    "ConvTransposeLayers": lambda: Layers(
        lambda m, x, s: (m.a(x), m.b(x), m.c(s), m.c(s[0]), m.a(x[0])),
        a=nn.ConvTranspose2d(4, 6, 3, stride=2, padding=1, output_padding=1),
        b=nn.ConvTranspose2d(4, 6, (3, 2), stride=(1, 2), dilation=2, groups=2, bias=False),
        c=nn.ConvTranspose1d(4, 3, 5, stride=3, padding=2)),
    "NormLayers": lambda: Layers(
        lambda m, x, s: (m.i2(x), m.i2a(x), m.i1(s), m.i1u(s), m.i1u(s[0]), m.gn(x), m.gn2(s), m.bn3(x.unsqueeze(2)),
                         m.rms(x), m.rms2(s)),
        i2=nn.InstanceNorm2d(6), i2a=nn.InstanceNorm2d(6, affine=True),
        i1=nn.InstanceNorm1d(6, eps=0.001, affine=True, track_running_stats=True), i1u=nn.InstanceNorm1d(6),
        gn=nn.GroupNorm(3, 6), gn2=nn.GroupNorm(2, 6, eps=0.0001, affine=False), bn3=nn.BatchNorm3d(6),
        rms=RMSNorm((5, 4)), rms2=RMSNorm(7, eps=1e-06, elementwise_affine=False)),
    "ActLayers": lambda: Layers(
        lambda m, x: (lambda y: (m.p1(y), m.p3(y), m.p1(y[0, 0, 0]), m.lr(y), m.lr0(y), m.el(y), m.mi(y), m.ht(y),
                                 m.ht0(y), m.sp(y), m.sp0(y * 10)))(x * 3),
        p1=nn.PReLU(), p3=nn.PReLU(3, init=0.1), lr=nn.LeakyReLU(0.2), lr0=nn.LeakyReLU(), el=nn.ELU(alpha=0.5),
        mi=nn.Mish(), ht=nn.Hardtanh(-0.5, 2.0), ht0=nn.Hardtanh(), sp=nn.Softplus(beta=2, threshold=1),
        sp0=nn.Softplus()),
    "BilinearLayers": lambda: Layers(
        lambda m, x, z: (m.bl(x, z[:, 0, :]), m.bn(z, z)),
        bl=nn.Bilinear(5, 4, 6), bn=nn.Bilinear(4, 4, 2, bias=False)),
    "BagLayers": lambda: Layers(
        lambda m, ids, flat, w: (lambda a, f, o: (
            m.mean(a), m.sum(a), m.mx(a), m.mean(f, o), m.sum(f, o, w), m.mx(f, o),
            m.sum(f, torch.arange(0, 8, 4))))(ids * 3 + 2, flat * 7, torch.arange(0, 7, 3)),
        mean=nn.EmbeddingBag(10, 3), sum=nn.EmbeddingBag(10, 3, mode="sum", padding_idx=2),
        mx=nn.EmbeddingBag(10, 3, mode="max")),
    "IndexPoolLayers": lambda: Layers(
        lambda m, s, x: (*m.m1(s), *m.m2(x), *m.am2(x), *m.m2(x[0])),
        m1=nn.MaxPool1d(3, stride=2, padding=1, return_indices=True),
        m2=nn.MaxPool2d(3, stride=2, padding=1, return_indices=True),
        am2=nn.AdaptiveMaxPool2d((4, 5), return_indices=True)),
    "Conv3dLayers": lambda: Layers(
        lambda m, x: (m.c(x), m.d(x), m.c(x[0])),
        c=nn.Conv3d(4, 6, (3, 2, 3), stride=(1, 2, 1), padding=1, groups=2), d=nn.Conv3d(4, 2, 1, bias=False)),
    "UpsampleTuple": lambda: Layers(
        lambda m, x: (m.u(x), m.n(x)),
        u=nn.Upsample(scale_factor=(1.7, 0.5), mode="bilinear"), n=nn.Upsample(scale_factor=(2, 3))),
    "PoolLayers": lambda: Layers(
        lambda m, s, x: (m.m1(s), m.m1d(s), m.a1(s), m.a1c(s), m.ad1(s), m.ad1(s[0]), m.m2(x), m.m2(x[0]), m.a2(x),
                         m.ad2(x), m.ad2(x[0]), m.am2(x)),
        m1=nn.MaxPool1d(3, stride=2, padding=1), m1d=nn.MaxPool1d(4, dilation=2, ceil_mode=True),
        a1=nn.AvgPool1d(3, stride=2, padding=1, count_include_pad=False), a1c=nn.AvgPool1d(4, ceil_mode=True),
        ad1=nn.AdaptiveAvgPool1d(6), m2=nn.MaxPool2d(3, stride=2, padding=1), a2=nn.AvgPool2d(3, divisor_override=2),
        ad2=nn.AdaptiveAvgPool2d((3, 4)), am2=nn.AdaptiveMaxPool2d(5)),
    "ResizeLayers": lambda: Layers(
        lambda m, x, s, v, p: (m.u2(x), m.ub(x), m.ub15(x), m.ul(s), m.ut(v), m.un(x), m.ue(x), m.ps(p), m.z(x),
                               m.zc(x), m.c(x), m.r(x), m.r(x[0])),
        u2=nn.Upsample(scale_factor=2), ub=nn.Upsample(size=(9, 11), mode="bilinear", align_corners=True),
        ub15=nn.Upsample(scale_factor=1.5, mode="bilinear"), ul=nn.Upsample(scale_factor=2.5, mode="linear"),
        ut=nn.Upsample(size=6, mode="trilinear"), un=nn.Upsample(scale_factor=1.7),
        ue=nn.Upsample(size=4, mode="nearest-exact"), ps=nn.PixelShuffle(2), z=nn.ZeroPad2d(2),
        zc=nn.ZeroPad2d((1, 0, -1, 2)), c=nn.ConstantPad2d((1, 2, 3, 0), 0.5), r=nn.ReflectionPad2d((2, 1, 0, 3))),
}


def layer_model(model, gen):
    """The module of a LAYER_CASES model, its floating parameters and
    buffers drawn from gen (running variances positive), in eval mode."""
    m = LAYER_CASES[model]()
    with torch.no_grad():
        for name, t in sorted(m.state_dict().items()):
            if t.is_floating_point():
                t.copy_(torch.randn(t.shape, generator=gen))
                if name.endswith("running_var"):
                    t.abs_().add_(0.1)
    return m.eval()


# ------------------------------------------------------------- the specs

DECL = re.compile(r"^\s*(input|param|buffer)\s+(\w+)\s*:\s*(\w+)\[([^\]]*)\]")


def read_models(path):
    """[(model, [(kind, name, dtype, [dims])], [forward parameters])] in the
    order of the file."""
    models, cur = [], None
    with open(path) as f:
        for line in f:
            m = re.match(r"^model\s+(\w+)\s*\{", line)
            if m:
                cur = (m.group(1), [], [])
                models.append(cur)
                continue
            m = re.match(r"^\s+forward\s*\(([^)]*)\)", line)
            if m and cur:
                cur[2].extend(p.split("=")[0].strip() for p in m.group(1).split(",") if p.strip())
                continue
            if line.startswith("}"):
                cur = None
                continue
            m = DECL.match(line)
            if m and cur:
                dims = [d.strip() for d in m.group(4).split(",") if d.strip()]
                cur[1].append((m.group(1), m.group(2), m.group(3), dims))
    return models


def size_of(d, used):
    if re.fullmatch(r"\d+", d):
        return int(d)
    if d not in SIZES:
        raise SystemExit("gen_fn.py: size %s has no value in SIZES" % d)
    used[d] = SIZES[d]
    return SIZES[d]


def make(dtype, shape, gen):
    dt = DTYPES[dtype]
    if dt == torch.bool:
        return torch.rand(shape, generator=gen) > 0.5
    if not dt.is_floating_point:
        return torch.randint(0, 2, shape, generator=gen).to(dt)
    return torch.randn(shape, generator=gen).to(dt)


def type_of(v):
    """v's type as rcc writes it: f32[3, 10], (f32[3], i64[3])."""
    if isinstance(v, (tuple, list)):
        return "(" + ", ".join(type_of(x) for x in v) + ")"
    if not isinstance(v, torch.Tensor):
        raise SystemExit("gen_fn.py: a case returned %r, not tensors" % (v,))
    return "%s[%s]" % (NAMES[v.dtype], ", ".join(str(s) for s in v.shape))


def save_run(d, inputs, res):
    """What `rcc run` of the model is compared with (tests/fn-run.sh): its
    inputs in the forward's order, in0.npy ..., and the tensors of its
    result, out0.npy ..."""
    os.makedirs(d, exist_ok=True)
    for i, t in enumerate(inputs):
        np.save(os.path.join(d, "in%d.npy" % i), t.contiguous().numpy())
    outs = list(res) if isinstance(res, (tuple, list)) else [res]
    flat = []
    while outs:
        o = outs.pop(0)
        if isinstance(o, (tuple, list)):
            outs[0:0] = list(o)
        elif o is not None:
            flat.append(o)
    for i, t in enumerate(flat):
        a = t.detach().contiguous()
        if a.dtype == torch.bfloat16:   # numpy has no bfloat16
            a = a.float()
        np.save(os.path.join(d, "out%d.npy" % i), a.numpy())


def main(argv):
    src, out = argv[1], argv[2]
    os.makedirs(out, exist_ok=True)
    lines, seen = [], set()
    for spec in SPECS:
        rel = "tests/check/specs/" + spec
        for model, decls, params in read_models(os.path.join(src, rel)):
            if model not in CASES and model not in LAYER_CASES:
                raise SystemExit("gen_fn.py: model %s of %s has no case" % (model, rel))
            seen.add(model)
            gen = torch.Generator().manual_seed(len(seen))
            used, tensors, state = {}, {}, {}
            for kind, name, dtype, dims in decls:
                t = make(dtype, [size_of(d, used) for d in dims], gen)
                if name == "var":   # a running variance: positive, or batch_norm gives NaN
                    t = t.abs() + 0.1
                tensors[name] = t
                if kind != "input":
                    state[name] = t
            case = CASES.get(model)
            if model in LAYER_CASES:
                mod = layer_model(model, gen)
                state.update(mod.state_dict())
                case = lambda **t: mod(*[t[p] for p in params])   # noqa: E731
            torch.save(state, os.path.join(out, "fn_%s.pt" % model))
            try:
                with warnings.catch_warnings(), torch.no_grad():
                    warnings.simplefilter("ignore")
                    res = case(**tensors)
            except Exception as e:   # noqa: BLE001  (what torch raises is the point)
                msg = (str(e).strip().split("\n") or [""])[0] or type(e).__name__
                if spec != "fn_errors.arch":
                    raise SystemExit("gen_fn.py: %s of %s raised in torch: %s" % (model, rel, msg))
                lines.append("raises %s %s %s: %s" % (rel, model, type(e).__name__, msg[:200]))
                continue
            if spec == "fn_errors.arch":
                raise SystemExit("gen_fn.py: %s of %s does not raise in torch" % (model, rel))
            binds = " ".join("%s=%d" % kv for kv in sorted(used.items()))
            lines.append("shape %s %s %s -> %s" % (rel, model, binds or "-", type_of(res)))
            save_run(os.path.join(out, "fn", model), [tensors[p] for p in params if p in tensors], res)
    extra = (set(CASES) | set(LAYER_CASES)) - seen
    if extra:
        raise SystemExit("gen_fn.py: cases without a model: %s" % ", ".join(sorted(extra)))
    with open(os.path.join(out, "fn_expect.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
