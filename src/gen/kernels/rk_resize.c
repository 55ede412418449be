/* rk_resize.c — interpolate (nearest, nearest-exact, bilinear, bicubic) and pixel shuffles.
 *
 * torch computes each output index's source with the scale of that
 * dimension: 1/scale_factor when interpolate was given a scale_factor
 * (and recompute_scale_factor was not True), else in_size/out_size, in
 * float.  The two differ whenever in*scale_factor is not a whole number,
 * and nearest picks a whole pixel, so the rule is reproduced to the float
 * operation:
 *   nearest (legacy):  src = min(floorf(dst * scale), in - 1), except that
 *                      out == in copies and out == 2*in takes dst >> 1;
 *   nearest-exact:     src = min(floorf((dst + 0.5) * scale), in - 1), the
 *                      product in double, rounded to float;
 *   bilinear:          src = scale*dst with align_corners (scale =
 *                      (in-1)/(out-1), 0 for out == 1), else
 *                      max(scale*(dst + 0.5) - 0.5, 0); i0 = (int)src,
 *                      i1 = i0 + (i0 < in-1), l1 = src - i0, l0 = 1 - l1;
 *                      out == in copies;
 *   bicubic:           src as bilinear but not clamped at 0; four taps
 *                      around floor(src), clamped to the edges, weighted
 *                      by Keys' cubic with A = -0.75 (rk_cubic_src).
 * An output size from a scale_factor is (int64_t)(in * scale_factor), in
 * double (the caller computes it: torch's compute_output_size).
 *
 * Cost: one read per output (nearest), four (bilinear), sixteen (bicubic); source indices
 * and weights are recomputed per row and per element rather than kept in
 * a table (no scratch), a few float operations per output.
 */
#include "rk_common.h"

/* torch's compute_scales_value<float>: 1/scale when given (> 0), else in/out. */
static float rk_resize_scale(double scale, int64_t in, int64_t out)
{
    return scale > 0.0 ? (float)(1.0 / scale) : (float)in / (float)out;
}

/* The source index of output dst for nearest (exact = 0) or nearest-exact. */
static int64_t rk_nearest_src(int64_t dst, int64_t in, int64_t out, double scale, int exact)
{
    if (!exact) {
        if (out == in) return dst;
        if (out == 2 * in) return dst >> 1;
    }
    const float s = rk_resize_scale(scale, in, out);
    const float f = exact ? (float)(((double)dst + 0.5) * (double)s) : (float)dst * s;
    int64_t src = (int64_t)floorf(f);
    return src < in - 1 ? src : in - 1;
}

/* interpolate mode 'nearest' (exact = 0) or 'nearest-exact' (exact = 1):
 * x (N, C, H, W) -> y (N, C, Ho, Wo); scale_h, scale_w: the scale_factor
 * interpolate was given, or 0.  1-d is H = Ho = 1.  A pure copy. */
static void rk_upsample_nearest2d(float *restrict y, const float *restrict x, int64_t N, int64_t C,
                                  int64_t H, int64_t W, int64_t Ho, int64_t Wo,
                                  double scale_h, double scale_w, int exact)
{
    for (int64_t nc = 0; nc < N * C; nc++)
        for (int64_t oh = 0; oh < Ho; oh++) {
            const float *s = x + (nc * H + rk_nearest_src(oh, H, Ho, scale_h, exact)) * W;
            float *d = y + (nc * Ho + oh) * Wo;
            if (Wo == W)
                memcpy(d, s, (size_t)W * sizeof *d);
            else
                for (int64_t ow = 0; ow < Wo; ow++) d[ow] = s[rk_nearest_src(ow, W, Wo, scale_w, exact)];
        }
}

/* Source indices and weights of a linear interpolation (torch's
 * compute_source_index_and_lambda). */
static void rk_linear_src(int64_t dst, int64_t in, int64_t out, int align_corners, double scale,
                          int64_t *i0, int64_t *i1, float *l0, float *l1)
{
    if (out == in) {
        *i0 = *i1 = dst, *l0 = 1.0f, *l1 = 0.0f;
        return;
    }
    float r, src;
    if (align_corners) {
        r = out > 1 ? (float)(in - 1) / (float)(out - 1) : 0.0f;
        src = r * (float)dst;
    } else {
        r = rk_resize_scale(scale, in, out);
        src = r * ((float)dst + 0.5f) - 0.5f;
        if (src < 0.0f) src = 0.0f;
    }
    *i0 = (int64_t)src;
    *i1 = *i0 + (*i0 < in - 1 ? 1 : 0);
    float f = src - (float)*i0;
    *l1 = f < 0.0f ? 0.0f : f > 1.0f ? 1.0f : f;
    *l0 = 1.0f - *l1;
}

/* interpolate mode 'bilinear': x (N, C, H, W) -> y (N, C, Ho, Wo), with
 * align_corners and the scale_factor given (or 0); 'linear' on (N, C, L)
 * is H = Ho = 1. */
static void rk_upsample_bilinear2d(float *restrict y, const float *restrict x, int64_t N, int64_t C,
                                   int64_t H, int64_t W, int64_t Ho, int64_t Wo, int align_corners,
                                   double scale_h, double scale_w)
{
    for (int64_t nc = 0; nc < N * C; nc++)
        for (int64_t oh = 0; oh < Ho; oh++) {
            int64_t h0, h1;
            float a0, a1;
            rk_linear_src(oh, H, Ho, align_corners, scale_h, &h0, &h1, &a0, &a1);
            const float *r0 = x + (nc * H + h0) * W, *r1 = x + (nc * H + h1) * W;
            float *d = y + (nc * Ho + oh) * Wo;
            for (int64_t ow = 0; ow < Wo; ow++) {
                int64_t w0, w1;
                float b0, b1;
                rk_linear_src(ow, W, Wo, align_corners, scale_w, &w0, &w1, &b0, &b1);
                float t0 = r0[w0] * b0 + r0[w1] * b1, t1 = r1[w0] * b0 + r1[w1] * b1;
                d[ow] = t0 * a0 + t1 * a1;
            }
        }
}

/* Keys' cubic convolution with torch's A = -0.75: the weight of a tap at
 * distance x <= 1 (cubic1) and 1 < x < 2 (cubic2), in torch's operation
 * order. */
static float rk_cubic1(float x, float A) { return ((A + 2.0f) * x - (A + 3.0f)) * x * x + 1.0f; }
static float rk_cubic2(float x, float A) { return ((A * x - 5.0f * A) * x + 8.0f * A) * x - 4.0f * A; }

/* The four source taps of output dst for bicubic (torch's
 * HelperInterpCubic): src = scale*dst with align_corners, else
 * scale*(dst + 0.5) - 0.5, not clamped; taps floor(src) - 1 ..
 * floor(src) + 2, each clamped to 0..in-1 (the edge read again), with
 * the weights of t = src - floor(src). */
static void rk_cubic_src(int64_t dst, int64_t in, int64_t out, int align_corners, double scale, int64_t *idx,
                         float *w)
{
    float src;
    if (align_corners) {
        const float r = out > 1 ? (float)(in - 1) / (float)(out - 1) : 0.0f;
        src = r * (float)dst;
    } else {
        src = rk_resize_scale(scale, in, out) * ((float)dst + 0.5f) - 0.5f;
    }
    const int64_t i0 = (int64_t)floorf(src);
    const float t = src - (float)i0, A = -0.75f, u = 1.0f - t;
    w[0] = rk_cubic2(t + 1.0f, A);
    w[1] = rk_cubic1(t, A);
    w[2] = rk_cubic1(u, A);
    w[3] = rk_cubic2(u + 1.0f, A);
    for (int j = 0; j < 4; j++) {
        const int64_t k = i0 - 1 + j;
        idx[j] = k < 0 ? 0 : k > in - 1 ? in - 1 : k;
    }
}

/* interpolate mode 'bicubic': x (N, C, H, W) -> y (N, C, Ho, Wo), with
 * align_corners and the scale_factor given (or 0).  Each output is
 * sum_a wh[a] * (sum_b ww[b] * x[h_a, w_b]), summed in that order as
 * torch does.  Sixteen reads per output. */
static void rk_upsample_bicubic2d(float *restrict y, const float *restrict x, int64_t N, int64_t C,
                                  int64_t H, int64_t W, int64_t Ho, int64_t Wo, int align_corners,
                                  double scale_h, double scale_w)
{
    for (int64_t nc = 0; nc < N * C; nc++)
        for (int64_t oh = 0; oh < Ho; oh++) {
            int64_t hi[4], wi[4];
            float hw[4], ww[4];
            rk_cubic_src(oh, H, Ho, align_corners, scale_h, hi, hw);
            float *d = y + (nc * Ho + oh) * Wo;
            for (int64_t ow = 0; ow < Wo; ow++) {
                rk_cubic_src(ow, W, Wo, align_corners, scale_w, wi, ww);
                float o = 0.0f;
                for (int a = 0; a < 4; a++) {
                    const float *r = x + (nc * H + hi[a]) * W;
                    float t = r[wi[0]] * ww[0];
                    for (int b = 1; b < 4; b++) t += r[wi[b]] * ww[b];
                    o = a ? o + t * hw[a] : t * hw[0];
                }
                d[ow] = o;
            }
        }
}

/* pixel_shuffle(r): x (N, C*r*r, H, W) -> y (N, C, H*r, W*r),
 * y[n, c, h*r + i, w*r + j] = x[n, c*r*r + i*r + j, h, w].  A copy. */
static void rk_pixel_shuffle(float *restrict y, const float *restrict x, int64_t N, int64_t C,
                             int64_t H, int64_t W, int64_t r)
{
    for (int64_t n = 0; n < N; n++)
        for (int64_t c = 0; c < C; c++)
            for (int64_t h = 0; h < H; h++)
                for (int64_t i = 0; i < r; i++) {
                    float *d = y + ((n * C + c) * H * r + h * r + i) * W * r;
                    for (int64_t j = 0; j < r; j++) {
                        const float *s = x + (((n * C + c) * r * r + i * r + j) * H + h) * W;
                        for (int64_t w = 0; w < W; w++) d[w * r + j] = s[w];
                    }
                }
}

/* pixel_unshuffle(r): x (N, C, H*r, W*r) -> y (N, C*r*r, H, W), the inverse. */
static void rk_pixel_unshuffle(float *restrict y, const float *restrict x, int64_t N, int64_t C,
                               int64_t H, int64_t W, int64_t r)
{
    for (int64_t n = 0; n < N; n++)
        for (int64_t c = 0; c < C; c++)
            for (int64_t h = 0; h < H; h++)
                for (int64_t i = 0; i < r; i++) {
                    const float *s = x + ((n * C + c) * H * r + h * r + i) * W * r;
                    for (int64_t j = 0; j < r; j++) {
                        float *d = y + (((n * C + c) * r * r + i * r + j) * H + h) * W;
                        for (int64_t w = 0; w < W; w++) d[w] = s[w * r + j];
                    }
                }
}
