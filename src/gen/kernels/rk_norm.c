/* rk_norm.c — normalisations in eval mode: batch, layer, group, instance, RMS.
 *
 * requires: rk_act.c
 *
 * batch_norm uses running statistics, so it is a per-channel affine map
 * y = x*scale + shift (scale = gamma/sqrt(var + eps), shift = beta -
 * mean*scale, as torch's CPU kernel forms them), one pass, with the next
 * activation fused.  Better still, rk_fold_bn folds it into the weights of
 * the convolution or linear layer before it, once at load, and it costs
 * nothing at run time.
 *
 * The others normalise by statistics of the data: a row (layer_norm,
 * rms_norm), a group of channels (group_norm), a channel (instance_norm).
 * Each row is read three times (mean; variance of x - mean, the two-pass
 * form, which does not cancel like E[x^2] - E[x]^2; the output), in f32
 * with eight partial sums that gcc vectorises.
 */
#include "rk_common.h"

/* Mean and 1/sqrt(biased variance + eps) of x (n), n >= 1. */
static void rk_norm_moments(const float *x, int64_t n, float eps, float *mean, float *rstd)
{
    float s[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    const float m = rk_sum8(x, n) / (float)n;
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int j = 0; j < 8; j++) {
            float d = x[i + j] - m;
            s[j] += d * d;
        }
    float t = ((s[0] + s[4]) + (s[1] + s[5])) + ((s[2] + s[6]) + (s[3] + s[7]));
    for (; i < n; i++) t += (x[i] - m) * (x[i] - m);
    *mean = m;
    *rstd = 1.0f / sqrtf(t / (float)n + eps);
}

/* y = x*sc + sh over n floats, in blocks of eight (vectorised at -O2). */
static void rk_norm_affine(float *restrict y, const float *restrict x, int64_t n, float sc, float sh)
{
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int j = 0; j < 8; j++) y[i + j] = x[i + j] * sc + sh;
    for (; i < n; i++) y[i] = x[i] * sc + sh;
}

/* batch_norm (eval): x (N, C, inner), running mean and var (C), gamma and
 * beta (C) or NULL (affine=False) -> y (N, C, inner), then act.  inner is
 * the product of the spatial sizes (1 for BatchNorm1d on (N, C)). */
static void rk_batch_norm(float *restrict y, const float *restrict x, int64_t N, int64_t C, int64_t inner,
                          const float *mean, const float *var, const float *gamma, const float *beta,
                          float eps, rk_act act)
{
    for (int64_t c = 0; c < C; c++) {
        const float scale = 1.0f / sqrtf(var[c] + eps) * (gamma ? gamma[c] : 1.0f);
        const float shift = (beta ? beta[c] : 0.0f) - mean[c] * scale;
        for (int64_t n = 0; n < N; n++) {
            float *yp = y + (n * C + c) * inner;
            rk_norm_affine(yp, x + (n * C + c) * inner, inner, scale, shift);
            rk_act_n(yp, yp, inner, act);
        }
    }
}

/* Folds an eval BatchNorm (mean, var, gamma, beta (O), gamma/beta NULL when
 * affine=False) into the layer before it, in place, with torch's formula
 * (torch.nn.utils.fusion.fuse_conv_bn_weights):
 *   r = 1/sqrt(var + eps);  w[o, :] *= gamma[o]*r;
 *   b[o] = (b[o] - mean[o])*r*gamma[o] + beta[o]
 * w (O, per): a conv's (O, C/groups, kh, kw) or a linear's (O, in); b (O)
 * holds the layer's bias (zeros when it has none) and receives the fused
 * one.  (Not for transposed convolutions, whose output channel is w's
 * dimension 1.) */
static void rk_fold_bn(float *w, float *b, int64_t O, int64_t per, const float *mean, const float *var,
                       const float *gamma, const float *beta, float eps)
{
    for (int64_t o = 0; o < O; o++) {
        const float r = 1.0f / sqrtf(var[o] + eps), g = gamma ? gamma[o] : 1.0f;
        const float s = g * r;
        for (int64_t i = 0; i < per; i++) w[o * per + i] *= s;
        b[o] = (b[o] - mean[o]) * r * g + (beta ? beta[o] : 0.0f);
    }
}

/* layer_norm over the last dims, of n = their product elements:
 * x (rows, n) -> y (rows, n), y = (x - mean)*rstd*gamma + beta, gamma and
 * beta (n) or NULL (elementwise_affine=False; or bias=False: beta NULL). */
static void rk_layer_norm(float *restrict y, const float *restrict x, int64_t rows, int64_t n,
                          const float *restrict gamma, const float *restrict beta, float eps)
{
    for (int64_t r = 0; r < rows; r++) {
        const float *xr = x + r * n;
        float *yr = y + r * n;
        float m, rs;
        rk_norm_moments(xr, n, eps, &m, &rs);
        if (!gamma) {
            rk_norm_affine(yr, xr, n, rs, -m * rs);
            continue;
        }
        int64_t i = 0;
        if (beta) {
            for (; i + 8 <= n; i += 8)
                for (int j = 0; j < 8; j++) yr[i + j] = (xr[i + j] - m) * rs * gamma[i + j] + beta[i + j];
            for (; i < n; i++) yr[i] = (xr[i] - m) * rs * gamma[i] + beta[i];
        } else {
            for (; i + 8 <= n; i += 8)
                for (int j = 0; j < 8; j++) yr[i + j] = (xr[i + j] - m) * rs * gamma[i + j];
            for (; i < n; i++) yr[i] = (xr[i] - m) * rs * gamma[i];
        }
    }
}

/* group_norm: x (N, C, inner) in G groups of C/G channels, statistics over
 * each (C/G)*inner block -> y (N, C, inner), then the per-channel affine
 * gamma, beta (C) or NULL. */
static void rk_group_norm(float *restrict y, const float *restrict x, int64_t N, int64_t C, int64_t inner,
                          int64_t G, const float *gamma, const float *beta, float eps)
{
    const int64_t Cg = C / G;
    for (int64_t n = 0; n < N; n++)
        for (int64_t g = 0; g < G; g++) {
            const float *xg = x + (n * C + g * Cg) * inner;
            float *yg = y + (n * C + g * Cg) * inner;
            float m, rs;
            rk_norm_moments(xg, Cg * inner, eps, &m, &rs);
            for (int64_t c = 0; c < Cg; c++) {
                const float sc = rs * (gamma ? gamma[g * Cg + c] : 1.0f);
                const float sh = (beta ? beta[g * Cg + c] : 0.0f) - m * sc;
                rk_norm_affine(yg + c * inner, xg + c * inner, inner, sc, sh);
            }
        }
}

/* instance_norm (torch's default track_running_stats=False): group_norm
 * with one channel per group; gamma, beta (C) or NULL (affine=False, the
 * default).  With running statistics tracked, eval mode is rk_batch_norm. */
static void rk_instance_norm(float *restrict y, const float *restrict x, int64_t N, int64_t C, int64_t inner,
                             const float *gamma, const float *beta, float eps)
{
    rk_group_norm(y, x, N, C, inner, C, gamma, beta, eps);
}

/* rms_norm (HF LlamaRMSNorm, T5LayerNorm): x (rows, n) -> y (rows, n),
 * y = weight * (x * 1/sqrt(mean(x^2) + eps)), in f32; weight (n) or NULL. */
static void rk_rms_norm(float *restrict y, const float *restrict x, int64_t rows, int64_t n,
                        const float *restrict weight, float eps)
{
    for (int64_t r = 0; r < rows; r++) {
        const float *xr = x + r * n;
        float *yr = y + r * n;
        float s[8] = {0, 0, 0, 0, 0, 0, 0, 0};
        int64_t i = 0;
        for (; i + 8 <= n; i += 8)
            for (int j = 0; j < 8; j++) s[j] += xr[i + j] * xr[i + j];
        float t = ((s[0] + s[4]) + (s[1] + s[5])) + ((s[2] + s[6]) + (s[3] + s[7]));
        for (; i < n; i++) t += xr[i] * xr[i];
        const float rs = 1.0f / sqrtf(t / (float)n + eps);
        if (!weight) {
            rk_norm_affine(yr, xr, n, rs, 0.0f);
            continue;
        }
        for (i = 0; i + 8 <= n; i += 8)
            for (int j = 0; j < 8; j++) yr[i + j] = weight[i + j] * (xr[i + j] * rs);
        for (; i < n; i++) yr[i] = weight[i] * (xr[i] * rs);
    }
}
