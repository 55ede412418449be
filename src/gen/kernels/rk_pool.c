/* rk_pool.c — max, average and adaptive pooling with torch's window rules.
 *
 * The output size is torch's pooling_output_shape:
 *   out = floor((L + 2p - d*(k-1) - 1 + (ceil ? s-1 : 0)) / s) + 1,
 * and with ceil_mode the last window must start inside the input or its
 * left padding: if (out-1)*s >= L + p, out is one less.  Padding never
 * enters a maximum (taps outside the input are skipped, an empty window
 * gives -inf as torch's does); for an average it counts in the divisor
 * only with count_include_pad, and only up to the padded edge (L + p),
 * not the ceil_mode overhang.  divisor_override replaces the divisor.
 * Maxima propagate NaN (a NaN anywhere in the window wins), as torch's.
 *
 * Adaptive pooling splits L into out windows start = floor(i*L/out),
 * end = ceil((i+1)*L/out), overlapping when L is not a multiple of out.
 *
 * Cost: one read per tap.  max_pool2d works a row at a time: for each tap
 * (ki, kj) the outputs whose tap lies inside the input are a contiguous
 * range of the output row, updated in one loop (vectorised for stride 1).
 */
#include "rk_common.h"

/* A 2-d pooling's shape: input (N, C, H, W), kernel, stride, padding
 * (symmetric, as torch's), dilation (max pooling only; 1 for average),
 * ceil_mode, and for average pooling count_include_pad and
 * divisor_override (0: none). */
typedef struct rk_pool2d_p {
    int64_t N, C, H, W, kh, kw, sh, sw, ph, pw, dh, dw;
    int ceil_mode, count_include_pad;
    int64_t divisor;
} rk_pool2d_p;

/* torch's pooling_output_shape for one dimension. */
static int64_t rk_pool_out(int64_t L, int64_t k, int64_t s, int64_t p, int64_t d, int ceil_mode)
{
    int64_t num = L + 2 * p - d * (k - 1) - 1 + (ceil_mode ? s - 1 : 0);
    int64_t q = num >= 0 ? num / s : -((-num + s - 1) / s);
    int64_t out = q + 1;
    if (ceil_mode && (out - 1) * s >= L + p) out--;
    return out;
}

static void rk_pool2d_out(const rk_pool2d_p *p, int64_t *Ho, int64_t *Wo)
{
    *Ho = rk_pool_out(p->H, p->kh, p->sh, p->ph, p->dh, p->ceil_mode);
    *Wo = rk_pool_out(p->W, p->kw, p->sw, p->pw, p->dw, p->ceil_mode);
}

/* max_pool2d: x (N, C, H, W) -> y (N, C, Ho, Wo) (rk_pool2d_out). */
static void rk_max_pool2d(float *restrict y, const float *restrict x, const rk_pool2d_p *p)
{
    int64_t Ho, Wo;
    rk_pool2d_out(p, &Ho, &Wo);
    const int64_t H = p->H, W = p->W, sw = p->sw;
    for (int64_t nc = 0; nc < p->N * p->C; nc++) {
        const float *xc = x + nc * H * W;
        for (int64_t oh = 0; oh < Ho; oh++) {
            float *d = y + (nc * Ho + oh) * Wo;
            for (int64_t ow = 0; ow < Wo; ow++) d[ow] = -INFINITY;
            for (int64_t ki = 0; ki < p->kh; ki++) {
                const int64_t ih = oh * p->sh - p->ph + ki * p->dh;
                if (ih < 0 || ih >= H) continue;
                const float *s = xc + ih * W;
                for (int64_t kj = 0; kj < p->kw; kj++) {
                    const int64_t off = kj * p->dw - p->pw;
                    /* outputs whose tap ow*sw + off is inside [0, W) */
                    int64_t lo = off >= 0 ? 0 : (-off + sw - 1) / sw;
                    int64_t hi = W - 1 - off < 0 ? 0 : (W - 1 - off) / sw + 1;
                    if (hi > Wo) hi = Wo;
                    int64_t ow = lo;
                    if (sw == 1)
                        for (; ow + 8 <= hi; ow += 8)
                            for (int j = 0; j < 8; j++) {
                                float v = s[ow + off + j];
                                d[ow + j] = (v > d[ow + j] || v != v) ? v : d[ow + j];
                            }
                    for (; ow < hi; ow++) {
                        float v = s[ow * sw + off];
                        d[ow] = (v > d[ow] || v != v) ? v : d[ow];
                    }
                }
            }
        }
    }
}

/* max_pool1d: x (N, C, L) -> y (N, C, Lo), Lo = rk_pool_out(L, k, s, p, d, ceil_mode). */
static void rk_max_pool1d(float *restrict y, const float *restrict x, int64_t N, int64_t C, int64_t L,
                          int64_t k, int64_t s, int64_t pad, int64_t d, int ceil_mode)
{
    rk_pool2d_p p = {N, C, 1, L, 1, k, 1, s, 0, pad, 1, d, ceil_mode, 0, 0};
    rk_max_pool2d(y, x, &p);
}

/* avg_pool2d: x (N, C, H, W) -> y (N, C, Ho, Wo) (rk_pool2d_out; dh, dw
 * must be 1), the mean of each window by torch's divisor rule. */
static void rk_avg_pool2d(float *restrict y, const float *restrict x, const rk_pool2d_p *p)
{
    int64_t Ho, Wo;
    rk_pool2d_out(p, &Ho, &Wo);
    const int64_t H = p->H, W = p->W;
    for (int64_t nc = 0; nc < p->N * p->C; nc++) {
        const float *xc = x + nc * H * W;
        for (int64_t oh = 0; oh < Ho; oh++) {
            int64_t h0 = oh * p->sh - p->ph, h1 = h0 + p->kh;
            if (h1 > H + p->ph) h1 = H + p->ph;
            const int64_t hp = h1 - h0;
            if (h0 < 0) h0 = 0;
            if (h1 > H) h1 = H;
            for (int64_t ow = 0; ow < Wo; ow++) {
                int64_t w0 = ow * p->sw - p->pw, w1 = w0 + p->kw;
                if (w1 > W + p->pw) w1 = W + p->pw;
                const int64_t wp = w1 - w0;
                if (w0 < 0) w0 = 0;
                if (w1 > W) w1 = W;
                float *d = y + (nc * Ho + oh) * Wo + ow;
                if (h0 >= h1 || w0 >= w1) {
                    *d = 0.0f;
                    continue;
                }
                float sum = 0.0f;
                for (int64_t ih = h0; ih < h1; ih++)
                    for (int64_t iw = w0; iw < w1; iw++) sum += xc[ih * W + iw];
                int64_t div = p->divisor ? p->divisor : p->count_include_pad ? hp * wp : (h1 - h0) * (w1 - w0);
                *d = sum / (float)div;
            }
        }
    }
}

/* avg_pool1d: x (N, C, L) -> y (N, C, Lo) (torch: avg_pool2d on one row). */
static void rk_avg_pool1d(float *restrict y, const float *restrict x, int64_t N, int64_t C, int64_t L,
                          int64_t k, int64_t s, int64_t pad, int ceil_mode, int count_include_pad)
{
    rk_pool2d_p p = {N, C, 1, L, 1, k, 1, s, 0, pad, 1, 1, ceil_mode, count_include_pad, 0};
    rk_avg_pool2d(y, x, &p);
}

/* adaptive_avg_pool2d: x (N, C, H, W) -> y (N, C, Ho, Wo); window rows
 * [floor(oh*H/Ho), ceil((oh+1)*H/Ho)), columns likewise; sum / kh / kw as
 * torch divides.  Global average pooling is Ho = Wo = 1. */
static void rk_adaptive_avg_pool2d(float *restrict y, const float *restrict x, int64_t N, int64_t C,
                                   int64_t H, int64_t W, int64_t Ho, int64_t Wo)
{
    for (int64_t nc = 0; nc < N * C; nc++) {
        const float *xc = x + nc * H * W;
        for (int64_t oh = 0; oh < Ho; oh++) {
            const int64_t h0 = oh * H / Ho, h1 = ((oh + 1) * H + Ho - 1) / Ho;
            for (int64_t ow = 0; ow < Wo; ow++) {
                const int64_t w0 = ow * W / Wo, w1 = ((ow + 1) * W + Wo - 1) / Wo;
                float sum = 0.0f;
                for (int64_t ih = h0; ih < h1; ih++)
                    for (int64_t iw = w0; iw < w1; iw++) sum += xc[ih * W + iw];
                y[(nc * Ho + oh) * Wo + ow] = sum / (float)(h1 - h0) / (float)(w1 - w0);
            }
        }
    }
}

/* adaptive_avg_pool1d: x (N, C, L) -> y (N, C, Lo). */
static void rk_adaptive_avg_pool1d(float *restrict y, const float *restrict x, int64_t N, int64_t C,
                                   int64_t L, int64_t Lo)
{
    rk_adaptive_avg_pool2d(y, x, N, C, 1, L, 1, Lo);
}

/* adaptive_max_pool2d: x (N, C, H, W) -> y (N, C, Ho, Wo), the windows of
 * rk_adaptive_avg_pool2d; NaN propagates. */
static void rk_adaptive_max_pool2d(float *restrict y, const float *restrict x, int64_t N, int64_t C,
                                   int64_t H, int64_t W, int64_t Ho, int64_t Wo)
{
    for (int64_t nc = 0; nc < N * C; nc++) {
        const float *xc = x + nc * H * W;
        for (int64_t oh = 0; oh < Ho; oh++) {
            const int64_t h0 = oh * H / Ho, h1 = ((oh + 1) * H + Ho - 1) / Ho;
            for (int64_t ow = 0; ow < Wo; ow++) {
                const int64_t w0 = ow * W / Wo, w1 = ((ow + 1) * W + Wo - 1) / Wo;
                float m = -INFINITY;
                for (int64_t ih = h0; ih < h1; ih++)
                    for (int64_t iw = w0; iw < w1; iw++) {
                        float v = xc[ih * W + iw];
                        m = (v > m || v != v) ? v : m;
                    }
                y[(nc * Ho + oh) * Wo + ow] = m;
            }
        }
    }
}

/* adaptive_max_pool1d: x (N, C, L) -> y (N, C, Lo). */
static void rk_adaptive_max_pool1d(float *restrict y, const float *restrict x, int64_t N, int64_t C,
                                   int64_t L, int64_t Lo)
{
    rk_adaptive_max_pool2d(y, x, N, C, 1, L, 1, Lo);
}

/* max_pool2d with return_indices: y as rk_max_pool2d gives it, and idx
 * (N, C, Ho, Wo) the position ih*W + iw of each maximum in its (H, W)
 * plane, torch's: taps in row-major order, a larger value or a NaN takes
 * over (so the first maximum, or the last NaN); a window of no larger
 * value keeps its first tap inside the input.  1-d is H = 1 (the index is
 * the position in L). */
static void rk_max_pool2d_idx(float *restrict y, int64_t *restrict idx, const float *restrict x,
                              const rk_pool2d_p *p)
{
    int64_t Ho, Wo;
    rk_pool2d_out(p, &Ho, &Wo);
    for (int64_t nc = 0; nc < p->N * p->C; nc++) {
        const float *xc = x + nc * p->H * p->W;
        for (int64_t oh = 0; oh < Ho; oh++) {
            int64_t h0 = oh * p->sh - p->ph, h1 = h0 + (p->kh - 1) * p->dh + 1;
            if (h1 > p->H) h1 = p->H;
            while (h0 < 0) h0 += p->dh;
            for (int64_t ow = 0; ow < Wo; ow++) {
                int64_t w0 = ow * p->sw - p->pw, w1 = w0 + (p->kw - 1) * p->dw + 1;
                if (w1 > p->W) w1 = p->W;
                while (w0 < 0) w0 += p->dw;
                float m = -INFINITY;
                int64_t mi = h0 * p->W + w0;
                for (int64_t ih = h0; ih < h1; ih += p->dh)
                    for (int64_t iw = w0; iw < w1; iw += p->dw) {
                        const float v = xc[ih * p->W + iw];
                        if (v > m || v != v) m = v, mi = ih * p->W + iw;
                    }
                y[(nc * Ho + oh) * Wo + ow] = m;
                idx[(nc * Ho + oh) * Wo + ow] = mi;
            }
        }
    }
}

/* adaptive_max_pool2d with return_indices: y as rk_adaptive_max_pool2d,
 * idx the position ih*W + iw of each maximum in its plane (the rule of
 * rk_max_pool2d_idx).  1-d is H = Ho = 1. */
static void rk_adaptive_max_pool2d_idx(float *restrict y, int64_t *restrict idx, const float *restrict x,
                                       int64_t N, int64_t C, int64_t H, int64_t W, int64_t Ho, int64_t Wo)
{
    for (int64_t nc = 0; nc < N * C; nc++) {
        const float *xc = x + nc * H * W;
        for (int64_t oh = 0; oh < Ho; oh++) {
            const int64_t h0 = oh * H / Ho, h1 = ((oh + 1) * H + Ho - 1) / Ho;
            for (int64_t ow = 0; ow < Wo; ow++) {
                const int64_t w0 = ow * W / Wo, w1 = ((ow + 1) * W + Wo - 1) / Wo;
                float m = -INFINITY;
                int64_t mi = h0 * W + w0;
                for (int64_t ih = h0; ih < h1; ih++)
                    for (int64_t iw = w0; iw < w1; iw++) {
                        const float v = xc[ih * W + iw];
                        if (v > m || v != v) m = v, mi = ih * W + iw;
                    }
                y[(nc * Ho + oh) * Wo + ow] = m;
                idx[(nc * Ho + oh) * Wo + ow] = mi;
            }
        }
    }
}
