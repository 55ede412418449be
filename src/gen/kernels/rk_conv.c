/* rk_conv.c — convolutions (1-d, 2-d, transposed 2-d) with torch's semantics.
 *
 * requires: rk_act.c
 *
 * A convolution is a GEMM once its input is unfolded: for one image and
 * one group, im2col copies every receptive field into a column of a
 * (C/g*kh*kw, Ho*Wo) matrix, and W_g (O/g, C/g*kh*kw) @ col gives that
 * group's O/g output planes in place, NCHW, with no transpose.  Three
 * shapes skip the copy:
 *   - 1x1, stride 1, no padding: the input planes already are col;
 *   - depthwise (groups == C, O a multiple of C, zero padding): a direct
 *     loop over a zero-padded copy of each input channel (its rows split
 *     into column phases when strided), since its GEMM would have K =
 *     kh*kw, too thin for BLAS;
 *   - conv_transpose2d runs the GEMM first (W_g^T @ x) and scatters the
 *     columns back (col2im), accumulating where windows overlap.
 * Bias and activation are fused: applied to each output plane right after
 * it is computed, while it is in cache.
 *
 * Cost: 2*O*(C/g)*kh*kw*Ho*Wo flops per image, in cblas_sgemm, plus the
 * im2col copy ((C/g)*kh*kw*Ho*Wo floats per group); depthwise is the same
 * flop count in a loop whose inner dimension is the output row.
 *
 * Padding is four numbers (top, bottom, left, right): torch's Conv2d pads
 * symmetrically, padding='same' with an even kernel pads one more at the
 * bottom/right.  padding_mode is zeros, reflect, replicate or circular
 * (torch pads the input first, then convolves unpadded; here the index of
 * each padded tap is mapped back into the input).  torch's limits apply:
 * reflect needs each pad < that input size, circular pad <= it.
 *
 * Sizes are < 2^31 for BLAS (its int dimensions).
 */
#include <cblas.h>

#include "rk_common.h"


/* A 2-d convolution's shape: input (N, C, H, W), weight (O, C/groups, kh, kw)
 * (conv_transpose2d: (C, O/groups, kh, kw)), stride, dilation, padding
 * (pt, pb, pl, pr), padding mode, and the transposed conv's output_padding
 * (oph, opw; 0 otherwise).  C and O are multiples of groups. */
typedef struct rk_conv2d_p {
    int64_t N, C, H, W, O, kh, kw;
    int64_t sh, sw, dh, dw, groups;
    int64_t pt, pb, pl, pr;
    rk_pad_mode mode;
    int64_t oph, opw;
} rk_conv2d_p;

/* Output height and width of rk_conv2d: (H + pt + pb - dh*(kh-1) - 1)/sh + 1. */
static void rk_conv2d_out(const rk_conv2d_p *p, int64_t *Ho, int64_t *Wo)
{
    *Ho = (p->H + p->pt + p->pb - p->dh * (p->kh - 1) - 1) / p->sh + 1;
    *Wo = (p->W + p->pl + p->pr - p->dw * (p->kw - 1) - 1) / p->sw + 1;
}

/* Whether rk_conv2d takes the direct GEMM (1x1) or the depthwise loop. */
static int rk_conv2d_is_1x1(const rk_conv2d_p *p)
{
    return p->kh == 1 && p->kw == 1 && p->sh == 1 && p->sw == 1 &&
           p->pt == 0 && p->pb == 0 && p->pl == 0 && p->pr == 0;
}
enum { RK_CONV_DW_MAXK = 64 }; /* widest kernel the depthwise loop takes */
static int rk_conv2d_is_depthwise(const rk_conv2d_p *p)
{
    return p->groups == p->C && p->groups > 1 && p->O % p->C == 0 && p->mode == RK_PAD_ZEROS &&
           p->kw <= RK_CONV_DW_MAXK;
}

/* Depthwise rows: each input row of a channel is copied with its zero
 * padding into scratch, as its sw column phases (phase ph holds padded
 * columns ph, ph+sw, ...; Wp floats each), so that every tap of every
 * output reads consecutive floats and no output needs a bounds check.
 * A padded row is wide enough for max(Wo, 8) outputs. */
static int64_t rk_conv_dw_wp(const rk_conv2d_p *p, int64_t Wo)
{
    int64_t wr = ((Wo > 8 ? Wo : 8) - 1) * p->sw + (p->kw - 1) * p->dw + 1;
    return (wr + p->sw - 1) / p->sw;
}

/* Scratch floats rk_conv2d needs: 0 for 1x1 stride 1 unpadded; for
 * depthwise H*sw*Wp, Wp = ceil(((max(Wo, 8) - 1)*sw + (kw-1)*dw + 1)/sw)
 * (one input channel's padded rows, rk_conv_dw_wp); else
 * (C/groups)*kh*kw*Ho*Wo (one group's im2col). */
static int64_t rk_conv2d_scratch(const rk_conv2d_p *p)
{
    int64_t Ho, Wo;
    if (rk_conv2d_is_1x1(p)) return 0;
    if (rk_conv2d_is_depthwise(p)) {
        rk_conv2d_out(p, &Ho, &Wo);
        return p->H * p->sw * rk_conv_dw_wp(p, Wo);
    }
    rk_conv2d_out(p, &Ho, &Wo);
    return p->C / p->groups * p->kh * p->kw * Ho * Wo;
}

/* The input index a padded tap i (-pad <= i < n + pad) reads, or -1 for a
 * zero. */
static int64_t rk_conv_src(int64_t i, int64_t n, rk_pad_mode mode)
{
    if (i >= 0 && i < n) return i;
    switch (mode) {
    case RK_PAD_ZEROS: return -1;
    case RK_PAD_REFLECT: return i < 0 ? -i : 2 * (n - 1) - i;
    case RK_PAD_REPLICATE: return i < 0 ? 0 : n - 1;
    case RK_PAD_CIRCULAR: return ((i % n) + n) % n;
    }
    return -1;
}

/* The outputs o in [*lo, *hi) of a row of no outputs whose tap o*s + off
 * lies inside [0, n). */
static void rk_conv_range(int64_t off, int64_t s, int64_t n, int64_t no, int64_t *lo, int64_t *hi)
{
    int64_t a = off >= 0 ? 0 : (-off + s - 1) / s;
    int64_t b = n - 1 - off < 0 ? 0 : (n - 1 - off) / s + 1;
    if (b > no) b = no;
    if (a > b) a = b;
    *lo = a, *hi = b;
}

/* im2col of one group: x (Cg, H, W) -> col (Cg*kh*kw, Ho*Wo). */
static void rk_im2col(float *restrict col, const float *restrict x, int64_t Cg, const rk_conv2d_p *p,
                      int64_t Ho, int64_t Wo)
{
    const int64_t H = p->H, W = p->W;
    for (int64_t c = 0; c < Cg; c++)
        for (int64_t ki = 0; ki < p->kh; ki++)
            for (int64_t kj = 0; kj < p->kw; kj++) {
                float *row = col + ((c * p->kh + ki) * p->kw + kj) * Ho * Wo;
                const int64_t off = kj * p->dw - p->pl;
                int64_t lo, hi;
                rk_conv_range(off, p->sw, W, Wo, &lo, &hi);
                for (int64_t oh = 0; oh < Ho; oh++) {
                    float *d = row + oh * Wo;
                    int64_t ih = rk_conv_src(oh * p->sh - p->pt + ki * p->dh, H, p->mode);
                    if (ih < 0) {
                        memset(d, 0, (size_t)Wo * sizeof *d);
                        continue;
                    }
                    const float *s = x + (c * H + ih) * W;
                    if (p->mode == RK_PAD_ZEROS) {
                        for (int64_t ow = 0; ow < lo; ow++) d[ow] = 0.0f;
                        if (p->sw == 1)
                            memcpy(d + lo, s + lo + off, (size_t)(hi - lo) * sizeof *d);
                        else
                            for (int64_t ow = lo; ow < hi; ow++) d[ow] = s[ow * p->sw + off];
                        for (int64_t ow = hi; ow < Wo; ow++) d[ow] = 0.0f;
                    } else {
                        for (int64_t ow = 0; ow < Wo; ow++) d[ow] = s[rk_conv_src(ow * p->sw + off, W, p->mode)];
                    }
                }
            }
}

/* act of outputs ow .. ow+8*nh-1 (nh 1 or 2, a constant after inlining)
 * of depthwise output row oh into dst[0 .. 8*nh): eight or sixteen
 * accumulators in registers (two arrays of eight: gcc keeps those in
 * registers, one of sixteen it would spill), taps innermost; tap kj reads
 * at toff[kj] in a padded row of src (rs floats per row). */
static inline void rk_conv_dw_block(float *restrict dst, const float *restrict src, int64_t rs, const float *wo,
                                    float b0, rk_act act, const rk_conv2d_p *p, int64_t oh, int64_t ow,
                                    const int64_t *toff, const int nh)
{
    float a0[8], a1[8];
    for (int j = 0; j < 8; j++) a0[j] = b0, a1[j] = b0;
    for (int64_t ki = 0; ki < p->kh; ki++) {
        const int64_t ih = oh * p->sh - p->pt + ki * p->dh;
        if (ih < 0 || ih >= p->H) continue;
        const float *row = src + ih * rs + ow;
        for (int64_t kj = 0; kj < p->kw; kj++) {
            const float wv = wo[ki * p->kw + kj], *sp = row + toff[kj];
            for (int j = 0; j < 8; j++) a0[j] += wv * sp[j];
            if (nh == 2)
                for (int j = 0; j < 8; j++) a1[j] += wv * sp[8 + j];
        }
    }
    rk_act_block8(dst, a0, 0.0f, act);
    if (nh == 2) rk_act_block8(dst + 8, a1, 0.0f, act);
}

/* Depthwise: x (C, H, W) of one image, w (O, 1, kh, kw) with O = C*mult,
 * output channel o reading input channel o / mult -> y (O, Ho, Wo), then
 * act.  Each output row goes in blocks of 16 (or 8) outputs, the last
 * block shifted back to end at Wo (it recomputes a few outputs rather
 * than leave a scalar tail); a row narrower than 8 goes through a block
 * of 8 on the stack.  scratch: H*sw*Wp floats (rk_conv_dw_wp): the
 * current input channel's padded rows. */
static void rk_conv2d_depthwise(float *restrict y, const float *restrict x, const float *restrict w,
                                const float *b, rk_act act, const rk_conv2d_p *p, int64_t Ho, int64_t Wo,
                                float *restrict scratch)
{
    const int64_t mult = p->O / p->C, H = p->H, W = p->W, sw = p->sw, kw = p->kw;
    const int64_t Wp = rk_conv_dw_wp(p, Wo), rs = sw * Wp;
    int64_t toff[RK_CONV_DW_MAXK];
    for (int64_t kj = 0; kj < kw; kj++) toff[kj] = (kj * p->dw % sw) * Wp + kj * p->dw / sw;
    for (int64_t c = 0; c < p->C; c++) {
        const float *xc = x + c * H * W;
        for (int64_t r = 0; r < H; r++)
            for (int64_t ph = 0; ph < sw; ph++) {
                /* phase ph, index k: input column k*sw + ph - pl, for k in [k0, k1) */
                float *dst = scratch + r * rs + ph * Wp;
                int64_t k0, k1;
                rk_conv_range(ph - p->pl, sw, W, Wp, &k0, &k1);
                /* (loops, not memcpy/memset: gcc inlines those as rep movs, whose
                 * start-up costs more than these short rows) */
                const float *s = xc + r * W;
                int64_t k = 0;
                for (; k < k0; k++) dst[k] = 0.0f;
                if (sw == 1) {
                    for (; k + 8 <= k1; k += 8)
                        for (int j = 0; j < 8; j++) dst[k + j] = s[k + j - p->pl];
                    for (; k < k1; k++) dst[k] = s[k - p->pl];
                } else {
                    for (; k < k1; k++) dst[k] = s[k * sw + ph - p->pl];
                }
                for (; k < Wp; k++) dst[k] = 0.0f;
            }
        for (int64_t o = c * mult; o < (c + 1) * mult; o++) {
            const float *wo = w + o * p->kh * kw;
            const float b0 = b ? b[o] : 0.0f;
            for (int64_t oh = 0; oh < Ho; oh++) {
                float *d = y + (o * Ho + oh) * Wo;
                if (Wo < 8) {
                    float t[8];
                    rk_conv_dw_block(t, scratch, rs, wo, b0, act, p, oh, 0, toff, 1);
                    memcpy(d, t, (size_t)Wo * sizeof *d);
                    continue;
                }
                const int bw = Wo >= 16 ? 16 : 8;
                int64_t ow = 0;
                for (int64_t nb = (Wo + bw - 1) / bw; nb > 0; nb--, ow += bw) {
                    if (nb == 1) ow = Wo - bw;
                    if (bw == 16)
                        rk_conv_dw_block(d + ow, scratch, rs, wo, b0, act, p, oh, ow, toff, 2);
                    else
                        rk_conv_dw_block(d + ow, scratch, rs, wo, b0, act, p, oh, ow, toff, 1);
                }
            }
        }
    }
}

/* conv2d: x (N, C, H, W), w (O, C/groups, kh, kw), b (O) or NULL
 * -> y (N, O, Ho, Wo) (rk_conv2d_out), then act.
 * scratch: rk_conv2d_scratch(p) floats (NULL when that is 0). */
static void rk_conv2d(float *restrict y, const float *restrict x, const float *restrict w, const float *b,
                      rk_act act, const rk_conv2d_p *p, float *restrict scratch)
{
    int64_t Ho, Wo;
    rk_conv2d_out(p, &Ho, &Wo);
    const int64_t G = p->groups, Cg = p->C / G, Og = p->O / G, K = Cg * p->kh * p->kw;
    const int64_t HW = p->H * p->W, HoWo = Ho * Wo;
    const int direct = rk_conv2d_is_1x1(p), dw = rk_conv2d_is_depthwise(p);
    for (int64_t n = 0; n < p->N; n++) {
        const float *xn = x + n * p->C * HW;
        float *yn = y + n * p->O * HoWo;
        if (dw) {
            rk_conv2d_depthwise(yn, xn, w, b, act, p, Ho, Wo, scratch);
            continue;
        }
        for (int64_t g = 0; g < G; g++) {
            const float *cols = xn + g * Cg * HW;
            if (!direct) {
                rk_im2col(scratch, cols, Cg, p, Ho, Wo);
                cols = scratch;
            }
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)Og, (int)HoWo, (int)K, 1.0f,
                        w + g * Og * K, (int)K, cols, (int)HoWo, 0.0f, yn + g * Og * HoWo, (int)HoWo);
        }
        rk_bias_act_rows(yn, p->O, HoWo, b, act);
    }
}

/* conv1d: x (N, C, L), w (O, C/groups, k), b (O) or NULL -> y (N, O, Lo),
 * Lo = (L + pl + pr - d*(k-1) - 1)/s + 1, then act.  The 2-d kernel with
 * one row.  scratch: rk_conv1d_scratch(...) floats (rk_conv2d_scratch of
 * that row: (C/groups)*k*Lo, 0 for k == 1, s == 1, unpadded, and one
 * padded row for depthwise). */
static rk_conv2d_p rk_conv1d_as_2d(int64_t N, int64_t C, int64_t L, int64_t O, int64_t k, int64_t s,
                                   int64_t d, int64_t groups, int64_t pl, int64_t pr, rk_pad_mode mode)
{
    rk_conv2d_p p = {N, C, 1, L, O, 1, k, 1, s, 1, d, groups, 0, 0, pl, pr, mode, 0, 0};
    return p;
}
static int64_t rk_conv1d_scratch(int64_t N, int64_t C, int64_t L, int64_t O, int64_t k, int64_t s,
                                 int64_t d, int64_t groups, int64_t pl, int64_t pr, rk_pad_mode mode)
{
    rk_conv2d_p p = rk_conv1d_as_2d(N, C, L, O, k, s, d, groups, pl, pr, mode);
    return rk_conv2d_scratch(&p);
}
static void rk_conv1d(float *restrict y, const float *restrict x, const float *restrict w, const float *b,
                      rk_act act, int64_t N, int64_t C, int64_t L, int64_t O, int64_t k, int64_t s,
                      int64_t d, int64_t groups, int64_t pl, int64_t pr, rk_pad_mode mode,
                      float *restrict scratch)
{
    rk_conv2d_p p = rk_conv1d_as_2d(N, C, L, O, k, s, d, groups, pl, pr, mode);
    rk_conv2d(y, x, w, b, act, &p, scratch);
}

/* Output size of rk_conv_transpose2d: (H-1)*sh - pt - pb + dh*(kh-1) + oph + 1
 * (torch's padding is symmetric: pt == pb == padding[0]; mode is zeros). */
static void rk_conv_transpose2d_out(const rk_conv2d_p *p, int64_t *Ho, int64_t *Wo)
{
    *Ho = (p->H - 1) * p->sh - p->pt - p->pb + p->dh * (p->kh - 1) + p->oph + 1;
    *Wo = (p->W - 1) * p->sw - p->pl - p->pr + p->dw * (p->kw - 1) + p->opw + 1;
}

/* Scratch floats of rk_conv_transpose2d: (O/groups)*kh*kw*H*W. */
static int64_t rk_conv_transpose2d_scratch(const rk_conv2d_p *p)
{
    return p->O / p->groups * p->kh * p->kw * p->H * p->W;
}

/* conv_transpose2d: x (N, C, H, W), w (C, O/groups, kh, kw), b (O) or NULL
 * -> y (N, O, Ho, Wo) (rk_conv_transpose2d_out), then act.
 * Per image and group: col (Og*kh*kw, H*W) = W_g^T @ x_g, then each
 * column's taps are added at oh = ih*sh - pt + ki*dh, ow likewise.
 * scratch: rk_conv_transpose2d_scratch(p) floats. */
static void rk_conv_transpose2d(float *restrict y, const float *restrict x, const float *restrict w,
                                const float *b, rk_act act, const rk_conv2d_p *p, float *restrict scratch)
{
    int64_t Ho, Wo;
    rk_conv_transpose2d_out(p, &Ho, &Wo);
    const int64_t G = p->groups, Cg = p->C / G, Og = p->O / G, KK = p->kh * p->kw;
    const int64_t H = p->H, W = p->W, HW = H * W;
    for (int64_t n = 0; n < p->N; n++) {
        float *yn = y + n * p->O * Ho * Wo;
        for (int64_t o = 0; o < p->O; o++) {
            float b0 = b ? b[o] : 0.0f;
            float *d = yn + o * Ho * Wo;
            for (int64_t i = 0; i < Ho * Wo; i++) d[i] = b0;
        }
        for (int64_t g = 0; g < G; g++) {
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)(Og * KK), (int)HW, (int)Cg, 1.0f,
                        w + g * Cg * Og * KK, (int)(Og * KK), x + (n * p->C + g * Cg) * HW, (int)HW,
                        0.0f, scratch, (int)HW);
            for (int64_t o = 0; o < Og; o++)
                for (int64_t ki = 0; ki < p->kh; ki++)
                    for (int64_t kj = 0; kj < p->kw; kj++) {
                        const float *row = scratch + ((o * p->kh + ki) * p->kw + kj) * HW;
                        float *yo = yn + (g * Og + o) * Ho * Wo;
                        const int64_t off = kj * p->dw - p->pl;
                        /* iw in [lo, hi) lands inside the output row. */
                        int64_t lo = off >= 0 ? 0 : (-off + p->sw - 1) / p->sw;
                        int64_t hi = Wo - 1 - off < 0 ? 0 : (Wo - 1 - off) / p->sw + 1;
                        if (hi > W) hi = W;
                        for (int64_t ih = 0; ih < H; ih++) {
                            int64_t oh = ih * p->sh - p->pt + ki * p->dh;
                            if (oh < 0 || oh >= Ho) continue;
                            float *d = yo + oh * Wo;
                            const float *s = row + ih * W;
                            if (p->sw == 1) {
                                int64_t iw = lo;
                                for (; iw + 8 <= hi; iw += 8)
                                    for (int j = 0; j < 8; j++) d[iw + off + j] += s[iw + j];
                                for (; iw < hi; iw++) d[iw + off] += s[iw];
                            } else {
                                for (int64_t iw = lo; iw < hi; iw++) d[iw * p->sw + off] += s[iw];
                            }
                        }
                    }
        }
        rk_bias_act_rows(yn, p->O, Ho * Wo, NULL, act);
    }
}

/* conv3d: x (N, C, D, H, W), w (O, C/groups, kd, kh, kw), b (O) or NULL
 * -> y (N, O, Do, Ho, Wo), Do = (D + 2*pd - dd*(kd-1) - 1)/sd + 1 and so
 * on, zero padding.  A direct loop, each output a sum in float in torch's
 * (c, kd, kh, kw) order: 3-d convolutions are rare in the models rcc
 * compiles, so exactness comes before speed here.  s, p, dl: (d, h, w). */
static void rk_conv3d(float *restrict y, const float *restrict x, const float *restrict w, const float *b,
                      int64_t N, int64_t C, int64_t D, int64_t H, int64_t W, int64_t O, const int64_t *k,
                      const int64_t *s, const int64_t *p, const int64_t *dl, int64_t groups)
{
    const int64_t Do = (D + 2 * p[0] - dl[0] * (k[0] - 1) - 1) / s[0] + 1;
    const int64_t Ho = (H + 2 * p[1] - dl[1] * (k[1] - 1) - 1) / s[1] + 1;
    const int64_t Wo = (W + 2 * p[2] - dl[2] * (k[2] - 1) - 1) / s[2] + 1;
    const int64_t Cg = C / groups, Og = O / groups, kv = k[0] * k[1] * k[2];
    for (int64_t n = 0; n < N; n++)
        for (int64_t o = 0; o < O; o++) {
            const int64_t g = o / Og;
            const float *wo = w + o * Cg * kv;
            float *yo = y + (n * O + o) * Do * Ho * Wo;
            for (int64_t od = 0; od < Do; od++)
                for (int64_t oh = 0; oh < Ho; oh++)
                    for (int64_t ow = 0; ow < Wo; ow++) {
                        float acc = 0.0f;
                        for (int64_t c = 0; c < Cg; c++) {
                            const float *xc = x + ((n * C + g * Cg + c) * D) * H * W;
                            const float *wc = wo + c * kv;
                            for (int64_t a = 0; a < k[0]; a++) {
                                const int64_t id = od * s[0] - p[0] + a * dl[0];
                                if (id < 0 || id >= D) continue;
                                for (int64_t i = 0; i < k[1]; i++) {
                                    const int64_t ih = oh * s[1] - p[1] + i * dl[1];
                                    if (ih < 0 || ih >= H) continue;
                                    for (int64_t j = 0; j < k[2]; j++) {
                                        const int64_t iw = ow * s[2] - p[2] + j * dl[2];
                                        if (iw < 0 || iw >= W) continue;
                                        acc += xc[(id * H + ih) * W + iw] * wc[(a * k[1] + i) * k[2] + j];
                                    }
                                }
                            }
                        }
                        yo[(od * Ho + oh) * Wo + ow] = acc + (b ? b[o] : 0.0f);
                    }
        }
}
