/* rk_act.c — activations, softmax and the bias + activation epilogues.
 *
 * Elementwise functions over n floats, with torch's formulas (eval mode),
 * and softmax / log_softmax over one dimension of a tensor seen as
 * (outer, D, inner).  Every loop is one pass over contiguous memory.
 *
 * Vectorisation under plain gcc -O2 (SSE2; AVX with -march): -O2 only
 * vectorises a loop whose trip count it knows (no scalar epilogue) and,
 * on SSE2, a select (a < b ? c : d) only when its value goes straight to
 * memory.  So the hot loops here work on blocks of eight floats (inner
 * loops of exactly 8), the tail padded into a block of its own, and each
 * select is stored into a small array before its value is used.  The
 * transcendental activations use vectorisable formulas instead of libm
 * calls (a libm call per element costs 3-17 ns, the whole GEMM before it
 * about as much):
 *   exp   Cephes' reduction x = n*ln2 + r and degree-7 polynomial, 2^n
 *         from the bits; about 1 ulp; 0 below -86.6, inf above 88.72;
 *   tanh  Cephes' odd polynomial for |x| < 0.625, else 1 - 2/(e^2|x| + 1);
 *   erf   Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7), the formula
 *         torch's own vectorised erf uses (gelu);
 * sigmoid, silu, gelu and gelu(tanh) are built on them.  Sums and maxima
 * use eight partial accumulators, in an order that differs from torch's,
 * well within 1e-4.
 *
 * NaN: torch's activations propagate NaN (relu(NaN) = NaN, as clamp does);
 * these do too.  (rk_apply_act of rk_common.h maps relu(NaN) to 0; it is
 * not used here.)
 *
 * Elementwise kernels may work in place (y == x); nothing else may alias.
 */
#include "rk_common.h"

/* ------------------------------------------------------------ reductions */


/* max of x (n), n >= 1; NaN is ignored unless everything is NaN (the
 * callers' next pass propagates it). */
static float rk_act_max(const float *x, int64_t n)
{
    float m[8] = {-INFINITY, -INFINITY, -INFINITY, -INFINITY, -INFINITY, -INFINITY, -INFINITY, -INFINITY};
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int j = 0; j < 8; j++) m[j] = x[i + j] > m[j] ? x[i + j] : m[j];
    float t = m[0];
    for (int j = 1; j < 8; j++) t = m[j] > t ? m[j] : t;
    for (; i < n; i++) t = x[i] > t ? x[i] : t;
    return t;
}

/* ------------------------------------------- vectorisable exp, tanh, erf */

/* e^x for x in [-86.6, 88.8] (rk_act_exp8 clamps): x = n*ln2 + r with
 * |r| <= ln2/2 (ln2 in two parts), e^r by Cephes' expf polynomial, and
 * 2^n as 2^(n-1) * 2 so that n = 128 overflows to inf rather than wraps. */
static inline float rk_act_exp_core(float x)
{
    const float magic = 12582912.0f; /* 1.5 * 2^23: x + magic rounds x to an integer */
    float nm = x * 1.44269504088896341f + magic, n = nm - magic;
    float r = x - n * 0.693359375f;
    r = r + n * 2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    uint32_t nb, mb, sb;
    float s;
    memcpy(&nb, &nm, sizeof nb);
    memcpy(&mb, &magic, sizeof mb);
    sb = (nb - mb + 126u) << 23; /* the biased exponent of 2^(n-1), n in [-125, 128] */
    memcpy(&s, &sb, sizeof s);
    return p * s * 2.0f;
}

/* y[j] = e^x[j] for a block of 8 (y may be x): 0 below -86.6 (e^x is
 * below 2.4e-38 there), inf above 88.72, NaN for NaN. */
static inline void rk_act_exp8(float *y, const float *x)
{
    float t[8], e[8];
    for (int j = 0; j < 8; j++) t[j] = x[j] < -86.6f ? -86.6f : x[j];
    for (int j = 0; j < 8; j++) t[j] = t[j] > 88.8f ? 88.8f : t[j];
    for (int j = 0; j < 8; j++) e[j] = rk_act_exp_core(t[j]);
    for (int j = 0; j < 8; j++) y[j] = x[j] < -86.6f ? 0.0f : e[j];
}

/* y[j] = tanh(x[j]) for a block of 8 (y may be x). */
static inline void rk_act_tanh8(float *y, const float *x)
{
    float a[8], e[8], small[8];
    for (int j = 0; j < 8; j++) a[j] = 2.0f * fabsf(x[j]);
    rk_act_exp8(e, a);
    for (int j = 0; j < 8; j++) {
        float z = x[j] * x[j];
        float p = -5.70498872745e-3f;
        p = p * z + 2.06390887954e-2f;
        p = p * z - 5.37397155531e-2f;
        p = p * z + 1.33314422036e-1f;
        p = p * z - 3.33332819422e-1f;
        small[j] = p * z * x[j] + x[j];
        e[j] = copysignf(1.0f - 2.0f / (e[j] + 1.0f), x[j]);
    }
    for (int j = 0; j < 8; j++) y[j] = fabsf(x[j]) < 0.625f ? small[j] : e[j];
}

/* y[j] = erf(x[j]) for a block of 8 (y may be x), Abramowitz & Stegun
 * 7.1.26: 1 - (a1 t + ... + a5 t^5) e^(-x^2), t = 1/(1 + p|x|), odd. */
static inline void rk_act_erf8(float *y, const float *x)
{
    float t[8], e[8];
    for (int j = 0; j < 8; j++) {
        t[j] = 1.0f / (1.0f + 0.3275911f * fabsf(x[j]));
        e[j] = -(x[j] * x[j]);
    }
    rk_act_exp8(e, e);
    for (int j = 0; j < 8; j++) {
        float r = 1.061405429f;
        r = r * t[j] - 1.453152027f;
        r = r * t[j] + 1.421413741f;
        r = r * t[j] - 0.284496736f;
        r = r * t[j] + 0.254829592f;
        y[j] = copysignf(1.0f - r * t[j] * e[j], x[j]);
    }
}

/* ----------------------------------------------------------- activations */

/* y[j] = act(x[j] + b) for a block of 8 (y may be x). */
static inline void rk_act_block8(float *y, const float *x, float b, rk_act a)
{
    float v[8], t[8];
    for (int j = 0; j < 8; j++) v[j] = x[j] + b;
    switch (a) {
    case RK_ACT_NONE:
        for (int j = 0; j < 8; j++) y[j] = v[j];
        return;
    case RK_ACT_RELU:
        for (int j = 0; j < 8; j++) y[j] = v[j] < 0.0f ? 0.0f : v[j];
        return;
    case RK_ACT_RELU6:
        for (int j = 0; j < 8; j++) y[j] = v[j] <= 0.0f ? 0.0f : v[j] >= 6.0f ? 6.0f : v[j];
        return;
    case RK_ACT_HARDSWISH:
    case RK_ACT_HARDSIGMOID:
        for (int j = 0; j < 8; j++) t[j] = v[j] + 3.0f <= 0.0f ? 0.0f : v[j] + 3.0f >= 6.0f ? 6.0f : v[j] + 3.0f;
        if (a == RK_ACT_HARDSWISH)
            for (int j = 0; j < 8; j++) y[j] = v[j] * t[j] / 6.0f;
        else
            for (int j = 0; j < 8; j++) y[j] = t[j] / 6.0f;
        return;
    case RK_ACT_SIGMOID:
    case RK_ACT_SILU:
        for (int j = 0; j < 8; j++) t[j] = -v[j];
        rk_act_exp8(t, t);
        if (a == RK_ACT_SIGMOID)
            for (int j = 0; j < 8; j++) y[j] = 1.0f / (1.0f + t[j]);
        else
            for (int j = 0; j < 8; j++) y[j] = v[j] / (1.0f + t[j]);
        return;
    case RK_ACT_TANH:
        rk_act_tanh8(y, v);
        return;
    case RK_ACT_GELU:
        for (int j = 0; j < 8; j++) t[j] = v[j] * 0.70710678118654752f;
        rk_act_erf8(t, t);
        for (int j = 0; j < 8; j++) y[j] = 0.5f * v[j] * (1.0f + t[j]);
        return;
    case RK_ACT_GELU_TANH:
        for (int j = 0; j < 8; j++) t[j] = 0.79788456080286536f * (v[j] + 0.044715f * v[j] * v[j] * v[j]);
        rk_act_tanh8(t, t);
        for (int j = 0; j < 8; j++) y[j] = 0.5f * v[j] * (1.0f + t[j]);
        return;
    }
    for (int j = 0; j < 8; j++) y[j] = v[j];
}

/* act(y + b) in place over y (n); the tail of n % 8 runs as a padded block. */
static void rk_act_row(float *y, int64_t n, float b, rk_act a)
{
    int64_t i = 0;
    if (a == RK_ACT_NONE && b == 0.0f) return;
    for (; i + 8 <= n; i += 8) rk_act_block8(y + i, y + i, b, a);
    if (i < n) {
        float t[8] = {0, 0, 0, 0, 0, 0, 0, 0};
        memcpy(t, y + i, (size_t)(n - i) * sizeof *t);
        rk_act_block8(t, t, b, a);
        memcpy(y + i, t, (size_t)(n - i) * sizeof *t);
    }
}

/* act(x) (n) -> y (n); y may be x.  The rk_act of rk_common.h. */
static void rk_act_n(float *y, const float *x, int64_t n, rk_act a)
{
    if (y != x) memcpy(y, x, (size_t)n * sizeof *y);
    rk_act_row(y, n, 0.0f, a);
}

/* act(y + bias[r]) in place, y (rows, n): one bias per row (a convolution's
 * channel, NCHW).  bias may be NULL. */
static void rk_bias_act_rows(float *y, int64_t rows, int64_t n, const float *bias, rk_act a)
{
    for (int64_t r = 0; r < rows; r++) rk_act_row(y + r * n, n, bias ? bias[r] : 0.0f, a);
}

/* act(y + bias[i]) in place, y (rows, n): one bias per column (a linear
 * layer's output feature).  bias may be NULL. */
static void rk_bias_act_cols(float *y, int64_t rows, int64_t n, const float *bias, rk_act a)
{
    for (int64_t r = 0; r < rows; r++) {
        float *restrict p = y + r * n;
        if (bias) {
            const float *restrict bv = bias;
            int64_t i = 0;
            for (; i + 8 <= n; i += 8)
                for (int j = 0; j < 8; j++) p[i + j] += bv[i + j];
            for (; i < n; i++) p[i] += bv[i];
        }
        rk_act_row(p, n, 0.0f, a);
    }
}

/* leaky_relu(x, slope) (n) -> y (n); y may be x. */
static void rk_leaky_relu(float *y, const float *x, int64_t n, float slope)
{
    int64_t i = 0;
    if (y != x) memcpy(y, x, (size_t)n * sizeof *y); /* then in place: one pointer, no alias check */
    for (; i + 8 <= n; i += 8)
        for (int j = 0; j < 8; j++) y[i + j] = y[i + j] > 0.0f ? y[i + j] : y[i + j] * slope;
    for (; i < n; i++) y[i] = y[i] > 0.0f ? y[i] : y[i] * slope;
}

/* hardtanh(x, lo, hi) (n) -> y (n); y may be x.  relu6 is (0, 6). */
static void rk_hardtanh(float *y, const float *x, int64_t n, float lo, float hi)
{
    int64_t i = 0;
    if (y != x) memcpy(y, x, (size_t)n * sizeof *y);
    for (; i + 8 <= n; i += 8)
        for (int j = 0; j < 8; j++) y[i + j] = y[i + j] <= lo ? lo : y[i + j] >= hi ? hi : y[i + j];
    for (; i < n; i++) y[i] = y[i] <= lo ? lo : y[i] >= hi ? hi : y[i];
}

/* torch's elu family: x > 0 ? scale*x : alpha*scale*(exp(x*input_scale) - 1).
 * elu(alpha): (alpha, 1, 1); selu: (1.6732632..., 1.0507009..., 1);
 * celu(alpha): (alpha, 1, 1/alpha).  (n) -> (n); y may be x. */
static void rk_elu(float *y, const float *x, int64_t n, float alpha, float scale, float input_scale)
{
    for (int64_t i = 0; i < n; i++) {
        float v = x[i];
        y[i] = v > 0.0f ? v * scale : expm1f(v * input_scale) * alpha * scale;
    }
}

/* selu(x) (n) -> y (n); y may be x. */
static void rk_selu(float *y, const float *x, int64_t n)
{
    rk_elu(y, x, n, 1.6732632423543772848f, 1.0507009873554804934f, 1.0f);
}

/* softplus(x, beta, threshold) (n) -> y (n): x where x*beta > threshold,
 * else log1p(exp(beta*x)) / beta (torch's defaults: beta 1, threshold 20). */
static void rk_softplus(float *y, const float *x, int64_t n, float beta, float threshold)
{
    for (int64_t i = 0; i < n; i++) {
        float v = x[i], b = v * beta;
        y[i] = b > threshold ? v : log1pf(expf(b)) / beta;
    }
}

/* mish(x) = x * tanh(softplus(x)) (n) -> y (n); y may be x.  torch applies
 * no threshold; exp overflowing to inf still gives tanh(inf) = 1. */
static void rk_mish(float *y, const float *x, int64_t n)
{
    for (int64_t i = 0; i < n; i++) y[i] = x[i] * tanhf(log1pf(expf(x[i])));
}

/* logsigmoid(x) = min(x, 0) - log1p(exp(-|x|)) (n) -> y (n); y may be x. */
static void rk_logsigmoid(float *y, const float *x, int64_t n)
{
    for (int64_t i = 0; i < n; i++) {
        float v = x[i];
        y[i] = (v < 0.0f ? v : 0.0f) - log1pf(expf(-fabsf(v)));
    }
}

/* softsign(x) = x / (1 + |x|) (n) -> y (n); y may be x. */
static void rk_softsign(float *y, const float *x, int64_t n)
{
    for (int64_t i = 0; i < n; i++) y[i] = x[i] / (1.0f + fabsf(x[i]));
}

/* prelu: x (N, C, inner) -> y (N, C, inner), y = x > 0 ? x : w[c] * x,
 * w (nw) with nw == C (one slope per channel) or nw == 1 (shared); y may
 * be x.  A 1-d input is N = 1, C = its length, inner = 1 (torch's channel
 * is dim 1 of a 2-d or larger input, dim 0 of a 1-d one). */
static void rk_prelu(float *y, const float *x, int64_t N, int64_t C, int64_t inner,
                     const float *w, int64_t nw)
{
    if (y != x) memcpy(y, x, (size_t)(N * C * inner) * sizeof *y);
    for (int64_t b = 0; b < N; b++)
        for (int64_t c = 0; c < C; c++) {
            float s = w[nw == 1 ? 0 : c];
            float *yp = y + (b * C + c) * inner;
            int64_t i = 0;
            for (; i + 8 <= inner; i += 8)
                for (int j = 0; j < 8; j++) yp[i + j] = yp[i + j] > 0.0f ? yp[i + j] : s * yp[i + j];
            for (; i < inner; i++) yp[i] = yp[i] > 0.0f ? yp[i] : s * yp[i];
        }
}

/* ---------------------------------------------------------------- softmax */

/* A tensor of ndim dims seen as (outer, D, inner) around dimension dim
 * (negative counts from the end, as torch's).  Returns -1 when dim is out
 * of range. */
static int rk_split_dim(int ndim, const int64_t *shape, int dim,
                        int64_t *outer, int64_t *D, int64_t *inner)
{
    if (dim < 0) dim += ndim;
    if (dim < 0 || dim >= ndim) return -1;
    *outer = 1, *inner = 1;
    for (int i = 0; i < dim; i++) *outer *= shape[i];
    for (int i = dim + 1; i < ndim; i++) *inner *= shape[i];
    *D = shape[dim];
    return 0;
}

/* y[i] = e^(x[i] - m[i]) over n (m_one: e^(x[i] - m[0])); y may be x. */
static void rk_act_exp_shift(float *y, const float *x, int64_t n, const float *m, int m_one)
{
    float t[8];
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        if (m_one)
            for (int j = 0; j < 8; j++) t[j] = x[i + j] - m[0];
        else
            for (int j = 0; j < 8; j++) t[j] = x[i + j] - m[i + j];
        rk_act_exp8(t, t);
        for (int j = 0; j < 8; j++) y[i + j] = t[j];
    }
    if (i < n) {
        for (int j = 0; j < 8; j++) t[j] = i + j < n ? x[i + j] - m[m_one ? 0 : i + j] : 0.0f;
        rk_act_exp8(t, t);
        for (int j = 0; i + j < n; j++) y[i + j] = t[j];
    }
}

/* softmax (log: 0) or log_softmax (log: 1) over D of x (outer, D, inner)
 * -> y (outer, D, inner), as torch: e^(x - max) / sum, x - max - log(sum).
 * Cost: three or four passes over contiguous rows; inner > 1 works on
 * blocks of 64 columns at once (their maxima and sums on the stack). */
static void rk_softmax_any(float *restrict y, const float *restrict x,
                           int64_t outer, int64_t D, int64_t inner, int log)
{
    if (D <= 0) return;
    if (inner == 1) {
        for (int64_t o = 0; o < outer; o++) {
            const float *xr = x + o * D;
            float *yr = y + o * D;
            float m = rk_act_max(xr, D);
            rk_act_exp_shift(yr, xr, D, &m, 1);
            float s = rk_sum8(yr, D);
            if (log) {
                float ls = logf(s); /* (x - max) - log(sum), torch's order: exact near a large max */
                int64_t d = 0;
                for (; d + 8 <= D; d += 8)
                    for (int j = 0; j < 8; j++) yr[d + j] = (xr[d + j] - m) - ls;
                for (; d < D; d++) yr[d] = (xr[d] - m) - ls;
            } else {
                float r = 1.0f / s;
                int64_t d = 0;
                for (; d + 8 <= D; d += 8)
                    for (int j = 0; j < 8; j++) yr[d + j] *= r;
                for (; d < D; d++) yr[d] *= r;
            }
        }
        return;
    }
    enum { B = 64 };
    for (int64_t o = 0; o < outer; o++)
        for (int64_t i0 = 0; i0 < inner; i0 += B) {
            int64_t nb = inner - i0 < B ? inner - i0 : B;
            const float *xb = x + o * D * inner + i0;
            float *yb = y + o * D * inner + i0;
            float m[B], s[B];
            for (int64_t i = 0; i < nb; i++) m[i] = -INFINITY, s[i] = 0.0f;
            for (int64_t d = 0; d < D; d++)
                for (int64_t i = 0; i < nb; i++) {
                    float v = xb[d * inner + i];
                    m[i] = v > m[i] ? v : m[i];
                }
            for (int64_t d = 0; d < D; d++) {
                rk_act_exp_shift(yb + d * inner, xb + d * inner, nb, m, 0);
                for (int64_t i = 0; i < nb; i++) s[i] += yb[d * inner + i];
            }
            if (log) {
                for (int64_t i = 0; i < nb; i++) s[i] = logf(s[i]);
                for (int64_t d = 0; d < D; d++)
                    for (int64_t i = 0; i < nb; i++) yb[d * inner + i] = (xb[d * inner + i] - m[i]) - s[i];
            } else {
                for (int64_t i = 0; i < nb; i++) s[i] = 1.0f / s[i];
                for (int64_t d = 0; d < D; d++)
                    for (int64_t i = 0; i < nb; i++) yb[d * inner + i] *= s[i];
            }
        }
}

/* softmax over D: x (outer, D, inner) -> y (outer, D, inner). */
static void rk_softmax(float *restrict y, const float *restrict x, int64_t outer, int64_t D, int64_t inner)
{
    rk_softmax_any(y, x, outer, D, inner, 0);
}

/* log_softmax over D: x (outer, D, inner) -> y (outer, D, inner). */
static void rk_log_softmax(float *restrict y, const float *restrict x, int64_t outer, int64_t D, int64_t inner)
{
    rk_softmax_any(y, x, outer, D, inner, 1);
}
