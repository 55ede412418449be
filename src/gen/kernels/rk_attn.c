/* rk_attn.c — attention: F.scaled_dot_product_attention (grouped-query,
 * boolean or additive masks, is_causal), rotary position embeddings
 * (HF's rotate_half form and the interleaved GPT-J / Meta form), and
 * torch.nn.MultiheadAttention's forward.
 *
 *
 * SDPA takes each (batch, head) in turn and its queries in blocks of at
 * most RK_ATTN_QBLOCK (64) rows: one GEMM gives the block's scores
 * (scale folded into alpha), the masks are added in place, a softmax runs
 * over each row, and a second GEMM multiplies by V into the output.  The
 * scratch is one block of scores, min(Tq, 64) * Tk floats, small enough
 * to stay in cache between the two GEMMs.  With is_causal a block of
 * rows [i0, i1) only needs keys j < i1 (torch's causal mask is the top-left
 * aligned tril(ones(Tq, Tk))), so both GEMMs shrink to those columns:
 * causal self-attention does about half the flops.  Heads share kv heads
 * when Hkv < H (head h reads kv head h / (H / Hkv), as HF's repeat_kv
 * and torch's enable_gqa), with no copy.  Every operand is addressed
 * through (batch, head, time) strides with a contiguous feature dim, so
 * [B, H, T, D] tensors, [B, T, H, D] ones (before HF's transpose) and the
 * packed [T, N, 3E] projections of MultiheadAttention are all read in
 * place.  Cost: 2 * Tq * Tk * (D + Dv) flops per head at OpenBLAS's speed,
 * plus one exp per score (a polynomial that gcc -O2 vectorises, rk_attn_exp).
 *
 * A row whose every key is masked (-inf everywhere) gives NaN, as
 * torch's softmax does.  Dropout is not applied (inference).
 */
#include <cblas.h>

#include "rk_common.h"

#define RK_ATTN_QBLOCK 64

/* A mask over [B, H, Tq, Tk] (strides in elements, 0 where broadcast):
 * additive floats (may hold -inf), or booleans where the value `masked`
 * removes a key: 0 for SDPA (True means "take part"), 1 for
 * nn.MultiheadAttention (True means "not allowed"). */
typedef struct rk_attn_mask {
    const float *add;
    const uint8_t *bits;
    uint8_t masked;
    int64_t st[4];
} rk_attn_mask;

/* Strides of one attention operand: batch, head, time; features contiguous. */
typedef struct rk_attn_io { int64_t sb, sh, st; } rk_attn_io;

/* An SDPA mask of shape msize (ndim <= 4 dims) broadcast at the right to
 * [B, H, Tq, Tk]: give add or bits.  -1 when it does not broadcast. */
static int rk_sdpa_mask(rk_attn_mask *m, const float *add, const uint8_t *bits, int ndim, const int64_t *msize,
                        int64_t B, int64_t H, int64_t Tq, int64_t Tk)
{
    const int64_t full[4] = {B, H, Tq, Tk};
    int64_t s = 1;
    if (ndim > 4 || ndim < 0 || (!add) == (!bits)) return -1;
    m->add = add;
    m->bits = bits;
    m->masked = 0;
    for (int i = 3; i >= 0; i--) {
        int j = i - (4 - ndim);
        if (j < 0) {
            m->st[i] = 0;
            continue;
        }
        if (msize[j] == full[i]) m->st[i] = full[i] == 1 ? 0 : s;
        else if (msize[j] == 1) m->st[i] = 0;
        else return -1;
        s *= msize[j];
    }
    return 0;
}

/* exp(x) for x in [-87.3, 88] without a branch, so that a loop of it
 * vectorises (gcc -O2 vectorises a loop only when its trip count is a
 * known multiple of the vector width and its body has no branch left;
 * a clamp inside would be jump-threaded into one): x = n ln2 + r with
 * |r| <= ln2/2, e^r by Cephes' degree-6 expf polynomial (about 1 ulp),
 * 2^n put into the exponent bits.  Callers clamp first, in a pass of
 * their own.  NaN gives NaN. */
static inline float rk_attn_exp(float x)
{
    float t = x * 1.44269504088896341f + 12582912.0f;    /* 1.5 * 2^23: rounds to an integer */
    float n = t - 12582912.0f;
    uint32_t tb;
    memcpy(&tb, &t, sizeof tb);
    float r = x - n * 0.693359375f + n * 2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    uint32_t eb = (tb - 0x4B400000u + 127u) << 23;
    float s;
    memcpy(&s, &eb, sizeof s);
    return p * s;
}

/* softmax in place over row[0, n); NaN everywhere when all are -inf.
 * Each pass runs first over the multiple of 8 (vectorised at -O2), then
 * the tail.  exp of a shifted score below -87.3 (a masked key: -inf, or
 * HF's finfo.min) is taken as 0, as torch's exp underflows there too. */
static void rk_attn_softmax_row(float *row, int64_t n)
{
    float mx[8], sp[8];
    int64_t n8 = n & ~(int64_t)7, j;
    for (int k = 0; k < 8; k++) mx[k] = -INFINITY;
    for (j = 0; j < n8; j += 8)
        for (int k = 0; k < 8; k++) mx[k] = row[j + k] > mx[k] ? row[j + k] : mx[k];
    for (; j < n; j++) mx[0] = row[j] > mx[0] ? row[j] : mx[0];
    float m = mx[0];
    for (int k = 1; k < 8; k++) m = mx[k] > m ? mx[k] : m;
    if (m == -INFINITY) {
        for (j = 0; j < n; j++) row[j] = NAN;
        return;
    }
    for (j = 0; j < n8; j++) {
        float x = row[j] - m;
        row[j] = x < -87.3f ? -87.3f : x;
    }
    for (; j < n; j++) {
        float x = row[j] - m;
        row[j] = x < -87.3f ? -87.3f : x;
    }
    for (j = 0; j < n8; j++) row[j] = rk_attn_exp(row[j]);
    for (; j < n; j++) row[j] = rk_attn_exp(row[j]);
    for (int k = 0; k < 8; k++) sp[k] = 0.0f;
    for (j = 0; j < n8; j += 8)
        for (int k = 0; k < 8; k++) {
            float e = row[j + k] < 1.3e-38f ? 0.0f : row[j + k];   /* e^-87.3: the clamped ones */
            row[j + k] = e;
            sp[k] += e;
        }
    for (; j < n; j++) {
        float e = row[j] < 1.3e-38f ? 0.0f : row[j];
        row[j] = e;
        sp[0] += e;
    }
    float inv = 1.0f / (((sp[0] + sp[4]) + (sp[1] + sp[5])) + ((sp[2] + sp[6]) + (sp[3] + sp[7])));
    for (j = 0; j < n8; j++) row[j] *= inv;
    for (; j < n; j++) row[j] *= inv;
}

static void rk_attn_apply_mask(float *row, int64_t n, const rk_attn_mask *m, int64_t b, int64_t h, int64_t i)
{
    int64_t base = b * m->st[0] + h * m->st[1] + i * m->st[2], s = m->st[3];
    if (m->add) {
        const float *a = m->add + base;
        if (s == 1) for (int64_t j = 0; j < n; j++) row[j] += a[j];
        else for (int64_t j = 0; j < n; j++) row[j] += a[j * s];
    } else {
        const uint8_t *bt = m->bits + base;
        for (int64_t j = 0; j < n; j++)
            if ((bt[j * s] != 0) == (m->masked != 0)) row[j] = -INFINITY;
    }
}

/* Scratch of rk_sdpa / rk_sdpa_strided, in floats. */
static int64_t rk_sdpa_scratch(int64_t Tq, int64_t Tk)
{
    return (Tq < RK_ATTN_QBLOCK ? Tq : RK_ATTN_QBLOCK) * Tk;
}

/* o = softmax(scale * q k^T + masks) v with strided operands:
 * q (B, H, Tq, D), k (B, Hkv, Tk, D), v (B, Hkv, Tk, Dv) -> o (B, H, Tq, Dv),
 * each through its rk_attn_io strides (time strides >= the feature
 * count).  Up to two masks (m0, m1 may be NULL) are applied; is_causal
 * keeps keys j <= i.  scale: 1/sqrt(D) is torch's default.  scratch:
 * rk_sdpa_scratch(Tq, Tk) floats.  -1 when Hkv does not divide H or D < 1. */
static int rk_sdpa_strided(float *o, rk_attn_io os, const float *q, rk_attn_io qs, const float *k, rk_attn_io ks,
                           const float *v, rk_attn_io vs, int64_t B, int64_t H, int64_t Hkv, int64_t Tq, int64_t Tk,
                           int64_t D, int64_t Dv, const rk_attn_mask *m0, const rk_attn_mask *m1, int is_causal,
                           float scale, float *scratch)
{
    if (Hkv <= 0 || H % Hkv || D < 1) return -1;
    int64_t rep = H / Hkv;
    for (int64_t b = 0; b < B; b++)
        for (int64_t h = 0; h < H; h++) {
            const float *qb = q + b * qs.sb + h * qs.sh;
            const float *kb = k + b * ks.sb + (h / rep) * ks.sh;
            const float *vb = v + b * vs.sb + (h / rep) * vs.sh;
            float *ob = o + b * os.sb + h * os.sh;
            for (int64_t i0 = 0; i0 < Tq; i0 += RK_ATTN_QBLOCK) {
                int64_t nr = Tq - i0 < RK_ATTN_QBLOCK ? Tq - i0 : RK_ATTN_QBLOCK;
                int64_t nk = is_causal ? (i0 + nr < Tk ? i0 + nr : Tk) : Tk;
                if (nk == 0) {                  /* no keys: torch's empty softmax times V is 0 */
                    for (int64_t i = 0; i < nr; i++)
                        for (int64_t d = 0; d < Dv; d++) ob[(i0 + i) * os.st + d] = 0.0f;
                    continue;
                }
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)nr, (int)nk, (int)D, scale,
                            qb + i0 * qs.st, (int)qs.st, kb, (int)ks.st, 0.0f, scratch, (int)nk);
                for (int64_t i = 0; i < nr; i++) {
                    float *row = scratch + i * nk;
                    if (m0) rk_attn_apply_mask(row, nk, m0, b, h, i0 + i);
                    if (m1) rk_attn_apply_mask(row, nk, m1, b, h, i0 + i);
                    int64_t lim = is_causal ? (i0 + i + 1 < nk ? i0 + i + 1 : nk) : nk;
                    rk_attn_softmax_row(row, lim);
                    for (int64_t j = lim; j < nk; j++) row[j] = 0.0f;
                }
                if (Dv > 0)
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)nr, (int)Dv, (int)nk, 1.0f, scratch,
                                (int)nk, vb, (int)vs.st, 0.0f, ob + i0 * os.st, (int)os.st);
            }
        }
    return 0;
}

/* F.scaled_dot_product_attention on dense tensors: q (B, H, Tq, D),
 * k (B, Hkv, Tk, D), v (B, Hkv, Tk, Dv) -> o (B, H, Tq, Dv); mask may be
 * NULL (rk_sdpa_mask builds one).  See rk_sdpa_strided. */
static int rk_sdpa(float *o, const float *q, const float *k, const float *v, int64_t B, int64_t H, int64_t Hkv,
                   int64_t Tq, int64_t Tk, int64_t D, int64_t Dv, const rk_attn_mask *mask, int is_causal, float scale,
                   float *scratch)
{
    rk_attn_io qs = {H * Tq * D, Tq * D, D}, ks = {Hkv * Tk * D, Tk * D, D};
    rk_attn_io vs = {Hkv * Tk * Dv, Tk * Dv, Dv}, os = {H * Tq * Dv, Tq * Dv, Dv};
    return rk_sdpa_strided(o, os, q, qs, k, ks, v, vs, B, H, Hkv, Tq, Tk, D, Dv, mask, NULL, is_causal, scale,
                           scratch);
}

/* ------------------------------------------------------------- rotary */

/* The rotary tables as HF (LlamaRotaryEmbedding) and Meta compute them,
 * in float32: inv_freq[i] = 1 / base^(2i / rot_dim), angle = pos * inv_freq.
 * cos_t, sin_t: [T, rot_dim / 2]; pos: T positions (NULL: 0 .. T-1). */
static void rk_rope_table(float *cos_t, float *sin_t, int64_t T, int64_t rot_dim, float base, const int64_t *pos)
{
    int64_t half = rot_dim / 2;
    for (int64_t i = 0; i < half; i++) {
        float e = (float)(2 * i) / (float)rot_dim;
        float inv = 1.0f / (float)pow((double)base, (double)e);
        for (int64_t t = 0; t < T; t++) {
            float f = (float)(pos ? pos[t] : t) * inv;
            cos_t[t * half + i] = cosf(f);
            sin_t[t * half + i] = sinf(f);
        }
    }
}

/* Rotary embedding in place on x viewed as [outer, T, inner, D] (a
 * [B, H, T, D] tensor is outer B*H, inner 1; a [B, T, H, D] one is outer
 * B, inner H), rotating the first rot_dim features of each vector at time
 * t by row t of the tables (rk_rope_table); the rest pass through.
 * interleaved 0: HF's rotate_half, pairs (i, i + rot_dim/2);
 * interleaved 1: GPT-J / Meta's complex form, pairs (2i, 2i + 1). */
static void rk_rope(float *x, int64_t outer, int64_t T, int64_t inner, int64_t D, int64_t rot_dim,
                    const float *cos_t, const float *sin_t, int interleaved)
{
    int64_t half = rot_dim / 2;
    for (int64_t o = 0; o < outer; o++)
        for (int64_t t = 0; t < T; t++) {
            const float *c = cos_t + t * half, *s = sin_t + t * half;
            for (int64_t u = 0; u < inner; u++) {
                float *v = x + ((o * T + t) * inner + u) * D;
                if (interleaved) {
                    for (int64_t i = 0; i < half; i++) {
                        float a = v[2 * i], b = v[2 * i + 1];
                        v[2 * i] = a * c[i] - b * s[i];
                        v[2 * i + 1] = b * c[i] + a * s[i];
                    }
                } else {
                    float *v2 = v + half;
                    for (int64_t i = 0; i < half; i++) {
                        float a = v[i], b = v2[i];
                        v[i] = a * c[i] - b * s[i];
                        v2[i] = b * c[i] + a * s[i];
                    }
                }
            }
        }
}

/* ------------------------------------------------- MultiheadAttention */

/* nn.MultiheadAttention's attn_mask: 2-d [L, S] or 3-d [N*H, L, S];
 * add (float) or bits (bool, True = not allowed). */
static int rk_mha_attn_mask(rk_attn_mask *m, const float *add, const uint8_t *bits, int ndim, int64_t H, int64_t L,
                            int64_t S)
{
    if ((!add) == (!bits) || (ndim != 2 && ndim != 3)) return -1;
    m->add = add;
    m->bits = bits;
    m->masked = 1;
    m->st[0] = ndim == 3 ? H * L * S : 0;
    m->st[1] = ndim == 3 ? L * S : 0;
    m->st[2] = S;
    m->st[3] = 1;
    return 0;
}

/* Its key_padding_mask [N, S]: float (added) or bool (True = ignore key). */
static int rk_mha_key_padding_mask(rk_attn_mask *m, const float *add, const uint8_t *bits, int64_t S)
{
    if ((!add) == (!bits)) return -1;
    m->add = add;
    m->bits = bits;
    m->masked = 1;
    m->st[0] = S;
    m->st[1] = 0;
    m->st[2] = 0;
    m->st[3] = 1;
    return 0;
}

/* Scratch of rk_mha, in floats: N*E*(2L + 2S) + min(L, 64)*S. */
static int64_t rk_mha_scratch(int64_t N, int64_t L, int64_t S, int64_t E)
{
    return N * E * (2 * L + 2 * S) + rk_sdpa_scratch(L, S);
}

/* y = nn.MultiheadAttention(E, H, batch_first)(query, key, value,
 * key_padding_mask, attn_mask, need_weights=False)[0], eval mode, with
 * kdim = vdim = E, bias or not (in_b, out_b may be NULL), no bias_k/v,
 * no add_zero_attn.  query (L, N, E), key and value (S, N, E), y (L, N, E);
 * (N, L, E) etc. when batch_first.  in_w [3E, E] packs q, k, v; out_w
 * [E, E].  attn_mask and kpm may be NULL (rk_mha_attn_mask,
 * rk_mha_key_padding_mask).  When query, key and value are one tensor,
 * the three projections are one GEMM.  scratch: rk_mha_scratch floats.
 * -1 when H does not divide E.  Cost: the projections' GEMMs
 * (2 * (L + 2S) * N * E^2 + 2 * L * N * E^2 flops) plus rk_sdpa_strided's. */
static int rk_mha(float *y, const float *query, const float *key, const float *value, int64_t N, int64_t L,
                  int64_t S, int64_t E, int64_t H, int batch_first, const float *in_w, const float *in_b,
                  const float *out_w, const float *out_b, const rk_attn_mask *attn_mask, const rk_attn_mask *kpm,
                  float *scratch)
{
    if (H <= 0 || E % H) return -1;
    int64_t Dh = E / H, Rq = L * N, Rk = S * N;
    const float *q, *k, *v;
    int64_t rs;                                  /* row stride of the projections */
    float *att;
    if (query == key && key == value && L == S) {
        float *qkv = scratch;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)Rq, (int)(3 * E), (int)E, 1.0f, query, (int)E, in_w,
                    (int)E, 0.0f, qkv, (int)(3 * E));
        rk_epilogue(qkv, Rq, 3 * E, in_b, RK_ACT_NONE);
        q = qkv;
        k = qkv + E;
        v = qkv + 2 * E;
        rs = 3 * E;
        att = qkv + Rq * 3 * E;
    } else {
        float *qp = scratch, *kp = qp + Rq * E, *vp = kp + Rk * E;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)Rq, (int)E, (int)E, 1.0f, query, (int)E, in_w,
                    (int)E, 0.0f, qp, (int)E);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)Rk, (int)E, (int)E, 1.0f, key, (int)E, in_w + E * E,
                    (int)E, 0.0f, kp, (int)E);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)Rk, (int)E, (int)E, 1.0f, value, (int)E,
                    in_w + 2 * E * E, (int)E, 0.0f, vp, (int)E);
        rk_epilogue(qp, Rq, E, in_b, RK_ACT_NONE);
        rk_epilogue(kp, Rk, E, in_b ? in_b + E : NULL, RK_ACT_NONE);
        rk_epilogue(vp, Rk, E, in_b ? in_b + 2 * E : NULL, RK_ACT_NONE);
        q = qp;
        k = kp;
        v = vp;
        rs = E;
        att = vp + Rk * E;
    }
    float *sc = att + Rq * E;
    /* (batch, head, time) strides: rows are (t, n) seq-first, (n, t) batch-first */
    rk_attn_io qs = {batch_first ? L * rs : rs, Dh, batch_first ? rs : N * rs};
    rk_attn_io ks = {batch_first ? S * rs : rs, Dh, batch_first ? rs : N * rs};
    rk_attn_io as = {batch_first ? L * E : E, Dh, batch_first ? E : N * E};
    rk_sdpa_strided(att, as, q, qs, k, ks, v, ks, N, H, H, L, S, Dh, Dh, attn_mask, kpm, 0, 1.0f / sqrtf((float)Dh),
                    sc);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)Rq, (int)E, (int)E, 1.0f, att, (int)E, out_w, (int)E,
                0.0f, y, (int)E);
    rk_epilogue(y, Rq, E, out_b, RK_ACT_NONE);
    return 0;
}
