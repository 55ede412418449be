/* rk_common.h — what every kernel of rcc's generated code shares.
 *
 * The kernels are the numerical half of `rcc gen`: small C99 functions with
 * torch's semantics, one family per file (rk_conv.c, rk_pool.c, ...).  The
 * code generator copies the text of the ones a model uses into the
 * model's .c file, so each file is self-contained: it includes only this
 * header, the C library's headers and <cblas.h>, defines only `static`
 * functions named rk_<op>[_<variant>], and may call the kernels of the
 * files it names in a line "requires: rk_x.c rk_y.c" of its opening
 * comment.  The tests include the files directly (tests/kernels/).
 *
 * Conventions, for every kernel:
 *   - Tensors are float32 (integer indices int64_t, masks uint8_t 0/1),
 *     dense, row-major, in torch's dimension order (NCHW, NCL, [N, T, C]),
 *     unless a kernel says otherwise.  Sizes are int64_t.
 *   - Outputs never alias inputs unless a kernel says it works in place.
 *   - No allocation: scratch space a kernel needs is passed in, and the
 *     kernel's comment gives its size as a formula (the generator plans
 *     it in the activation arena).
 *   - A kernel that can fail on data (an index out of range) returns int:
 *     0 on success, -1 on a bad index, and never reads out of bounds.
 *   - Every kernel states its contract above it:
 *       W (d,n) @ x (n) -> y (d)
 *     with shapes in torch's order.
 */
#ifndef RK_COMMON_H
#define RK_COMMON_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* How a convolution's padding_mode or F.pad's mode fills outside the input
 * (zeros and constant are one mode: F.pad's value is its argument). */
typedef enum rk_pad_mode {
    RK_PAD_ZEROS = 0, RK_PAD_CONSTANT = 0, RK_PAD_REFLECT, RK_PAD_REPLICATE, RK_PAD_CIRCULAR
} rk_pad_mode;

/* Activations fused into an epilogue (a GEMM's bias + activation). */
typedef enum rk_act {
    RK_ACT_NONE, RK_ACT_RELU, RK_ACT_RELU6, RK_ACT_GELU, RK_ACT_GELU_TANH, RK_ACT_SILU,
    RK_ACT_SIGMOID, RK_ACT_TANH, RK_ACT_HARDSWISH, RK_ACT_HARDSIGMOID
} rk_act;

static inline float rk_apply_act(rk_act a, float v)
{
    switch (a) {
    case RK_ACT_NONE: return v;
    case RK_ACT_RELU: return v < 0.0f ? 0.0f : v;   /* NaN passes, as in torch */
    case RK_ACT_RELU6: return v < 0.0f ? 0.0f : v > 6.0f ? 6.0f : v;
    case RK_ACT_GELU: return 0.5f * v * (1.0f + erff(v * 0.70710678118654752f));
    case RK_ACT_GELU_TANH: {
        float u = 0.79788456080286536f * (v + 0.044715f * v * v * v);
        return 0.5f * v * (1.0f + tanhf(u));
    }
    case RK_ACT_SILU: return v / (1.0f + expf(-v));
    case RK_ACT_SIGMOID: return 1.0f / (1.0f + expf(-v));
    case RK_ACT_TANH: return tanhf(v);
    case RK_ACT_HARDSWISH: return v * (v <= -3.0f ? 0.0f : v >= 3.0f ? 1.0f : (v + 3.0f) / 6.0f);
    case RK_ACT_HARDSIGMOID: return v <= -3.0f ? 0.0f : v >= 3.0f ? 1.0f : v / 6.0f + 0.5f;
    }
    return v;
}

/* y[i] = act(y[i] + bias[i % n]) over rows of n, bias may be NULL. */
static inline void rk_epilogue(float *y, int64_t rows, int64_t n, const float *bias, rk_act act)
{
    if (!bias && act == RK_ACT_NONE) return;
    for (int64_t r = 0; r < rows; r++)
        for (int64_t i = 0; i < n; i++) {
            float v = y[r * n + i] + (bias ? bias[i] : 0.0f);
            y[r * n + i] = rk_apply_act(act, v);
        }
}

/* Shared by the kernels that vectorise their inner loops at -O2. */

/* sum of x (n), eight interleaved partial sums. */
static inline float rk_sum8(const float *x, int64_t n)
{
    float s[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int j = 0; j < 8; j++) s[j] += x[i + j];
    float t = ((s[0] + s[4]) + (s[1] + s[5])) + ((s[2] + s[6]) + (s[3] + s[7]));
    for (; i < n; i++) t += x[i];
    return t;
}

#endif /* RK_COMMON_H */
