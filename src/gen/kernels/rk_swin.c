/* rk_swin.c — torchvision's shifted_window_attention (Swin v1), eval mode.
 *
 * requires: rk_gemm.c rk_act.c
 *
 * torchvision/models/swin_transformer.py, step by step: x (B, H, W, C) is
 * padded with zeros at the bottom and the right up to multiples of the
 * window (wh, ww) -> (pH, pW); rolled by (-sh, -sw) when a shift is left
 * (torchvision drops the shift of an axis whose padded size is <= its
 * window); cut into nW = (pH/wh)(pW/ww) windows of N = wh*ww tokens; one
 * linear gives q, k, v; per window and head, attn = (q * hd^-0.5) k^T +
 * relative_position_bias [+ the shift mask], softmax, @ v; heads merged;
 * the output linear; windows put back, rolled back, the padding cropped.
 *
 * The shift mask is torchvision's: every padded position (r, c) of the
 * rolled map gets a region label from the slices (0, -w), (-w, -s),
 * (-s, None) of each axis, assigned in that order so that later slices
 * overwrite earlier ones (with s == 0 the last slice is the whole axis:
 * one region), and two tokens of a window with different labels get -100.
 *
 * Pad, roll and partition are one gather pass (a row of C floats per
 * token, zeros for padding), reverse, roll back and crop one scatter
 * pass.  Cost, with T = B*pH*pW tokens and hd = C/heads: the qkv GEMM
 * 6*T*C^2 flops, the projection 2*T*C^2, the attention 4*T*N*C (two
 * N x N x hd GEMMs per window and head), plus a softmax of N per row.
 */
#include <cblas.h>

#include "rk_common.h"

/* The padded and windowed sizes of one call; 0, or -1 when a size is out
 * of range: below 1 (B below 0), a BLAS dimension (T, 3C, N*N) past
 * 2^31 - 1, or the scratch past int64. */
typedef struct rk_swin_dims {
    int64_t pH, pW, nWh, nWw, N, T;
} rk_swin_dims;

static int rk_swin_plan(rk_swin_dims *d, int64_t B, int64_t H, int64_t W, int64_t C, int64_t wh, int64_t ww)
{
    const int64_t lim = INT64_C(2147483647);
    if (B < 0 || H < 1 || W < 1 || C < 1 || wh < 1 || ww < 1) return -1;
    if (H > lim || W > lim || wh > lim || ww > lim || C > lim / 3) return -1;
    d->nWh = H / wh + (H % wh != 0);
    d->nWw = W / ww + (W % ww != 0);
    d->pH = d->nWh * wh;                      /* < 2^62: both factors < 2^31 */
    d->pW = d->nWw * ww;
    if (d->pH > lim || d->pW > lim) return -1;
    d->N = wh * ww;
    if (d->N > 46340) return -1;              /* N*N (one window's scores) below 2^31 */
    d->T = d->pH * d->pW;
    if (B > 0 && d->T > lim / B) return -1;
    d->T *= B;
    /* the scratch, 4*T*C + 2*N*N + N, fits int64: 4*T*C <= 2^62, N*N < 2^31 */
    if (d->T > (INT64_MAX / 8) / C) return -1;
    return 0;
}

/* Scratch of rk_swin_attention, in floats: 4*T*C + 2*N*N + N with
 * T = B*pH*pW (pH, pW: H and W rounded up to multiples of wh, ww) and
 * N = wh*ww; -1 for sizes rk_swin_attention refuses (see rk_swin_plan). */
static int64_t rk_swin_scratch(int64_t B, int64_t H, int64_t W, int64_t C, int64_t wh, int64_t ww)
{
    rk_swin_dims d;
    if (rk_swin_plan(&d, B, H, W, C, wh, ww) != 0) return -1;
    return 4 * d.T * C + 2 * d.N * d.N + d.N;
}

/* The region (0, 1, 2) of position r of an axis of padded size P, window
 * w and shift s >= 0 in torchvision's shift mask: the slices (0, -w),
 * (-w, -s), (-s, None), later ones overwriting; s == 0 makes the last
 * slice [0:], the whole axis. */
static int64_t rk_swin_region(int64_t r, int64_t P, int64_t w, int64_t s)
{
    if (s == 0 || r >= P - s) return 2;
    return r >= P - w ? 1 : 0;
}

/* shifted_window_attention, eval, Swin v1 (no logit_scale):
 *   x (B, H, W, C) -> y (B, H, W, C), window (wh, ww), shift (sh, sw) >= 0,
 *   qkv_w [3C, C], qkv_b [3C] or NULL, proj_w [C, C], proj_b [C] or NULL,
 *   rel_bias [1, heads, N, N] (N = wh*ww) already gathered from the table,
 *   heads dividing C.
 * scratch: rk_swin_scratch(B, H, W, C, wh, ww) floats.  y must not alias x
 * or scratch.  Returns 0, or -1 (nothing written) on bad sizes: a size
 * below 1 (B below 0), heads not dividing C, a negative shift, a NULL
 * weight or bias table, or sizes past rk_swin_plan's limits. */
static int rk_swin_attention(float *y, const float *x, int64_t B, int64_t H, int64_t W, int64_t C, int64_t wh,
                             int64_t ww, int64_t sh, int64_t sw, int64_t heads, const float *qkv_w,
                             const float *qkv_b, const float *proj_w, const float *proj_b, const float *rel_bias,
                             float *scratch)
{
    rk_swin_dims d;
    if (rk_swin_plan(&d, B, H, W, C, wh, ww) != 0) return -1;
    if (heads < 1 || C % heads != 0 || sh < 0 || sw < 0 || !qkv_w || !proj_w || !rel_bias) return -1;
    if (B == 0) return 0;
    const int64_t pH = d.pH, pW = d.pW, N = d.N, T = d.T, hd = C / heads, C3 = 3 * C;
    /* torchvision: no shift on an axis whose padded size is <= its window */
    const int64_t s0 = wh >= pH ? 0 : sh, s1 = ww >= pW ? 0 : sw;
    const int shifted = s0 > 0 || s1 > 0;
    const int64_t r0 = s0 % pH, r1 = s1 % pW;         /* roll amounts */
    float *xw = scratch;                              /* (T, C) windowed input, then heads' output */
    float *qkv = xw + T * C;                          /* (T, 3C), then the projection (T, C) */
    float *S = qkv + T * C3, *P = S + N * N, *lab = P + N * N;
    const float scale = (float)pow((double)hd, -0.5);

    /* pad + roll + partition: token t = ((b*nWh + i)*nWw + j)*N + a*ww + c
     * reads the padded map at ((i*wh + a + r0) % pH, (j*ww + c + r1) % pW) */
    for (int64_t b = 0; b < B; b++)
        for (int64_t i = 0; i < d.nWh; i++)
            for (int64_t j = 0; j < d.nWw; j++)
                for (int64_t a = 0; a < wh; a++) {
                    int64_t sr = i * wh + a + r0;
                    if (sr >= pH) sr -= pH;
                    for (int64_t c = 0; c < ww; c++) {
                        int64_t sc = j * ww + c + r1;
                        if (sc >= pW) sc -= pW;
                        float *dst = xw + (((b * d.nWh + i) * d.nWw + j) * N + a * ww + c) * C;
                        if (sr < H && sc < W)
                            memcpy(dst, x + ((b * H + sr) * W + sc) * C, (size_t)C * sizeof *dst);
                        else
                            memset(dst, 0, (size_t)C * sizeof *dst);
                    }
                }
    rk_linear(qkv, xw, T, C, qkv_w, C3, qkv_b, RK_ACT_NONE);

    float *ao = xw;                                   /* the windowed input is no longer needed */
    for (int64_t w = 0; w < B * d.nWh * d.nWw; w++) {
        const float *base = qkv + w * N * C3;
        if (shifted) {
            int64_t i = (w / d.nWw) % d.nWh, j = w % d.nWw;
            for (int64_t a = 0; a < wh; a++) {
                int64_t rh = rk_swin_region(i * wh + a, pH, wh, s0);
                for (int64_t c = 0; c < ww; c++)
                    lab[a * ww + c] = (float)(3 * rh + rk_swin_region(j * ww + c, pW, ww, s1));
            }
        }
        for (int64_t h = 0; h < heads; h++) {
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)N, (int)N, (int)hd, scale, base + h * hd,
                        (int)C3, base + C + h * hd, (int)C3, 0.0f, S, (int)N);
            const float *rb = rel_bias + h * N * N;
            for (int64_t k = 0; k < N * N; k++) S[k] += rb[k];
            if (shifted)
                for (int64_t q = 0; q < N; q++)
                    for (int64_t k = 0; k < N; k++)
                        if (lab[q] != lab[k]) S[q * N + k] += -100.0f;
            rk_softmax(P, S, N, N, 1);
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)N, (int)hd, (int)N, 1.0f, P, (int)N,
                        base + 2 * C + h * hd, (int)C3, 0.0f, ao + w * N * C + h * hd, (int)C);
        }
    }
    float *po = qkv;                                  /* q, k, v are no longer needed */
    rk_linear(po, ao, T, C, proj_w, C, proj_b, RK_ACT_NONE);

    /* reverse windows + roll back + crop: y at (r, c) is the rolled map's
     * ((r - r0) mod pH, (c - r1) mod pW) */
    for (int64_t b = 0; b < B; b++)
        for (int64_t r = 0; r < H; r++) {
            int64_t rr = r - r0;
            if (rr < 0) rr += pH;
            for (int64_t c = 0; c < W; c++) {
                int64_t cc = c - r1;
                if (cc < 0) cc += pW;
                int64_t t = ((b * d.nWh + rr / wh) * d.nWw + cc / ww) * N + (rr % wh) * ww + cc % ww;
                memcpy(y + ((b * H + r) * W + c) * C, po + t * C, (size_t)C * sizeof *y);
            }
        }
    return 0;
}
