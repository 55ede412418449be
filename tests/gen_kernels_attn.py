"""gen_kernels_attn.py OUTDIR — attention for src/gen/kernels/rk_attn.c.

Writes OUTDIR/kernels/attn/ (kcase.py's format) with torch 1.13's results:

- scaled_dot_product_attention as torch defines it (softmax(q k^T * scale
  + mask) v; causal = the top-left aligned tril(ones(Tq, Tk)); a bool mask
  True = attend; kv heads repeated for grouped-query attention as HF's
  repeat_kv), computed with torch ops: no mask, causal with Tq = Tk,
  Tq < Tk and Tq > Tk, bool and float masks of several broadcast shapes,
  GQA 8/2, Dv != D, more than one 64-row block, a fully masked row (NaN),
  and inputs in [B, T, H, D] layout read through strides;
- rotary embeddings: HF's LlamaRotaryEmbedding + apply_rotary_pos_emb
  (rotate_half), copied in their float32 arithmetic, with position ids
  past 100 and a partial rotary dim, and Meta's precompute_freqs_cis +
  apply_rotary_emb (complex, interleaved) on [B, T, H, D];
- nn.MultiheadAttention (eval, need_weights=False) seq-first and
  batch_first, self-attention (one packed projection) and cross-attention,
  with bool/float key_padding_mask and 2-d/3-d attn_mask.
Deterministic.
"""
import math
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kcase import Writer  # noqa: E402

torch.manual_seed(2024)
w = Writer(sys.argv[1], "attn")


def r(*shape):
    return torch.randn(shape)


def sdpa_ref(q, k, v, mask=None, causal=False, scale=None):
    H, Hkv = q.shape[1], k.shape[1]
    if Hkv != H:
        k = k.repeat_interleave(H // Hkv, dim=1)
        v = v.repeat_interleave(H // Hkv, dim=1)
    Tq, Tk = q.shape[-2], k.shape[-2]
    scale = 1.0 / math.sqrt(q.shape[-1]) if scale is None else scale
    s = q @ k.transpose(-2, -1) * scale
    if causal:
        s = s.masked_fill(~torch.ones(Tq, Tk, dtype=torch.bool).tril(), float("-inf"))
    if mask is not None:
        s = s.masked_fill(~mask, float("-inf")) if mask.dtype == torch.bool else s + mask
    return torch.softmax(s, dim=-1) @ v


def sdpa_case(name, B, H, Hkv, Tq, Tk, D, Dv=None, mask=None, causal=False, scale=None, layout="bhtd"):
    Dv = D if Dv is None else Dv
    q, k, v = r(B, H, Tq, D), r(B, Hkv, Tk, D), r(B, Hkv, Tk, Dv)
    out = sdpa_ref(q, k, v, mask, causal, scale)
    params = {"B": B, "H": H, "Hkv": Hkv, "Tq": Tq, "Tk": Tk, "D": D, "Dv": Dv, "causal": causal,
              "scale": scale if scale is not None else 1.0 / math.sqrt(D), "layout": layout}
    t = {}
    if layout == "bthd":     # the kernel reads [B, T, H, D] through strides and writes [B, T, H, Dv]
        q, k, v, out = (x.transpose(1, 2).contiguous() for x in (q, k, v, out))
    t.update(q=q, k=k, v=v)
    if mask is not None:
        t["mask"] = mask
        params["mask_kind"] = "bool" if mask.dtype == torch.bool else "float"
    w.case(name, "sdpa", params, out=out, **t)


sdpa_case("sdpa_plain", 2, 3, 3, 5, 7, 8)
sdpa_case("sdpa_causal_square", 2, 3, 3, 9, 9, 8, causal=True)
sdpa_case("sdpa_causal_tq_lt_tk", 1, 2, 2, 4, 9, 8, causal=True)
sdpa_case("sdpa_causal_tq_gt_tk", 1, 2, 2, 9, 4, 8, causal=True)
sdpa_case("sdpa_scale", 1, 2, 2, 6, 6, 8, scale=0.3)
sdpa_case("sdpa_dv", 2, 2, 2, 5, 6, 8, Dv=12)
sdpa_case("sdpa_float_mask_b1qk", 2, 3, 3, 5, 7, 8, mask=r(2, 1, 5, 7))
sdpa_case("sdpa_float_mask_qk", 2, 3, 3, 5, 7, 8, mask=r(5, 7))
sdpa_case("sdpa_bool_mask_padding", 2, 3, 3, 5, 7, 8,
          mask=torch.tensor([[1] * 7, [1] * 4 + [0] * 3], dtype=torch.bool).view(2, 1, 1, 7))
m = torch.rand(5, 7) > 0.4
m[:, 0] = True
sdpa_case("sdpa_bool_mask_qk", 2, 3, 3, 5, 7, 8, mask=m)
m = torch.ones(1, 3, 5, 7, dtype=torch.bool)
m[0, 1, 2, :] = False
sdpa_case("sdpa_fully_masked_row_nan", 1, 3, 3, 5, 7, 8, mask=m)
hfmask = torch.zeros(1, 1, 6, 6)
hfmask = hfmask.masked_fill(~torch.ones(6, 6, dtype=torch.bool).tril(), torch.finfo(torch.float32).min)
sdpa_case("sdpa_hf_min_mask", 1, 2, 2, 6, 6, 8, mask=hfmask)
sdpa_case("sdpa_gqa_8_2", 2, 8, 2, 7, 7, 16)
sdpa_case("sdpa_gqa_8_2_causal", 1, 8, 2, 10, 10, 16, causal=True)
sdpa_case("sdpa_gqa_8_1_decode", 1, 8, 1, 1, 13, 16)
sdpa_case("sdpa_blocks_causal", 1, 2, 2, 150, 150, 32, causal=True)
sdpa_case("sdpa_blocks_mask", 1, 2, 2, 130, 70, 16, mask=r(1, 1, 130, 70))
sdpa_case("sdpa_bthd_layout", 2, 4, 2, 6, 6, 8, causal=True, layout="bthd")

# rotary, HF's form (transformers' LlamaRotaryEmbedding and apply_rotary_pos_emb)
def hf_rope(q, pos, dim, base):
    inv_freq = 1.0 / (base ** (torch.arange(0, dim, 2).float() / dim))
    freqs = torch.einsum("i,j->ij", pos.float(), inv_freq)
    emb = torch.cat((freqs, freqs), dim=-1)
    cos, sin = emb.cos()[None, None], emb.sin()[None, None]

    def rotate_half(x):
        x1, x2 = x[..., : x.shape[-1] // 2], x[..., x.shape[-1] // 2:]
        return torch.cat((-x2, x1), dim=-1)
    return q * cos + rotate_half(q) * sin


B, H, T, D = 2, 4, 16, 64
q = r(B, H, T, D)
pos = torch.arange(100, 100 + T)
w.case("rope_hf_rotate_half", "rope", {"T": T, "rot": D, "base": 10000.0, "interleaved": 0, "outer": B * H,
                                       "inner": 1, "D": D}, x=q, pos=pos, out=hf_rope(q, pos, D, 10000.0))
pos0 = torch.arange(0, T)
w.case("rope_hf_base_500000", "rope", {"T": T, "rot": D, "base": 500000.0, "interleaved": 0, "outer": B * H,
                                       "inner": 1, "D": D}, x=q, pos=pos0, out=hf_rope(q, pos0, D, 500000.0))
# partial rotary (GPT-NeoX rotary_pct): the first 16 of 32 features rotate, the rest pass through
qp = r(1, 2, 8, 32)
rot = torch.cat([hf_rope(qp[..., :16], pos0[:8], 16, 10000.0), qp[..., 16:]], dim=-1)
w.case("rope_hf_partial", "rope", {"T": 8, "rot": 16, "base": 10000.0, "interleaved": 0, "outer": 2, "inner": 1,
                                   "D": 32}, x=qp, pos=pos0[:8], out=rot)


# Meta's llama: precompute_freqs_cis and apply_rotary_emb, on [B, T, H, D]
def meta_rope(x, start, dim, theta):
    freqs = 1.0 / (theta ** (torch.arange(0, dim, 2)[: (dim // 2)].float() / dim))
    t = torch.arange(start, start + x.shape[1], device=freqs.device)
    freqs = torch.outer(t, freqs).float()
    freqs_cis = torch.polar(torch.ones_like(freqs), freqs)
    xc = torch.view_as_complex(x.float().reshape(*x.shape[:-1], -1, 2))
    fc = freqs_cis.view(1, x.shape[1], 1, xc.shape[-1])
    return torch.view_as_real(xc * fc).flatten(3)


xm = r(2, 12, 3, 32)
w.case("rope_meta_interleaved", "rope", {"T": 12, "rot": 32, "base": 10000.0, "interleaved": 1, "outer": 2,
                                         "inner": 3, "D": 32}, x=xm, pos=torch.arange(37, 49),
       out=meta_rope(xm, 37, 32, 10000.0))

# nn.MultiheadAttention
def mha_case(name, E, H, N, L, S, batch_first, self_attn, kpm=None, attn_mask=None, bias=True):
    mha = torch.nn.MultiheadAttention(E, H, batch_first=batch_first, bias=bias).eval()
    with torch.no_grad():
        for p in mha.parameters():
            p.copy_(torch.randn_like(p) * 0.3)
    qshape = (N, L, E) if batch_first else (L, N, E)
    kshape = (N, S, E) if batch_first else (S, N, E)
    query = r(*qshape)
    key = query if self_attn else r(*kshape)
    value = query if self_attn else r(*kshape)
    with torch.no_grad():
        out = mha(query, key, value, key_padding_mask=kpm, attn_mask=attn_mask, need_weights=False)[0]
    t = dict(query=query, in_w=mha.in_proj_weight, out_w=mha.out_proj.weight, out=out)
    if not self_attn:
        t.update(key=key, value=value)
    if bias:
        t.update(in_b=mha.in_proj_bias, out_b=mha.out_proj.bias)
    params = {"E": E, "H": H, "N": N, "L": L, "S": S, "batch_first": batch_first, "self": self_attn}
    if kpm is not None:
        t["kpm"] = kpm
        params["kpm_kind"] = "bool" if kpm.dtype == torch.bool else "float"
    if attn_mask is not None:
        t["attn_mask"] = attn_mask
        params["mask_kind"] = "bool" if attn_mask.dtype == torch.bool else "float"
    w.case(name, "mha", params, **t)


kpm = torch.tensor([[False] * 6 + [True] * 2, [False] * 8, [False] * 3 + [True] * 5])
mha_case("mha_seqfirst_self_kpm", 16, 4, 3, 8, 8, False, True, kpm=kpm)
mha_case("mha_batchfirst_self_kpm", 16, 4, 3, 8, 8, True, True, kpm=kpm)
causal = torch.full((8, 8), float("-inf")).triu(1)
mha_case("mha_seqfirst_self_causal_float", 16, 4, 2, 8, 8, False, True, attn_mask=causal)
mha_case("mha_batchfirst_self_causal_kpm", 16, 4, 3, 8, 8, True, True, kpm=kpm, attn_mask=causal)
mha_case("mha_seqfirst_cross", 24, 3, 2, 5, 9, False, False)
mha_case("mha_batchfirst_cross_kpm_float", 24, 3, 2, 5, 9, True, False,
         kpm=torch.where(torch.rand(2, 9) > 0.7, -1e4, 0.0))
m3 = torch.rand(2 * 3, 5, 9) > 0.8
mha_case("mha_batchfirst_cross_mask3d_bool", 24, 3, 2, 5, 9, True, False, attn_mask=m3)
mha_case("mha_seqfirst_nobias_mask2d_bool", 16, 2, 2, 6, 7, False, False,
         attn_mask=torch.rand(6, 7) > 0.7, bias=False)

w.close()
