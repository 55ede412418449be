/* rk_elem.c — elementwise ops with torch's broadcasting: arithmetic,
 * comparisons to masks, logical ops on masks, scalar forms, unary math.
 *
 * requires: rk_layout.c
 *
 * A binary op aligns the two shapes at the right (torch's broadcasting),
 * reads each operand through strides that are 0 where it is broadcast
 * (rk_broadcast_strides), and coalesces dimensions (rk_coalesce) so that
 * what is left is an odometer over outer rows and one inner loop.  The
 * inner loop is specialised on the operands' inner strides: (1, 1) for
 * equal shapes and for a row broadcast ([N, C] + [C], [B, T, C] + [1, T, 1]
 * after coalescing), (1, 0) / (0, 1) for a last-dimension broadcast
 * ([N, C, HW] * [N, C, 1]), and a general strided loop otherwise.  Each
 * specialised loop is straight-line arithmetic that gcc -O2 vectorises.
 * Same-shape operands coalesce to one row of numel elements.  Cost: one
 * pass over the output.
 *
 * Outputs may alias an operand of the output's shape (in-place ops such
 * as x += b): every loop reads element i before writing element i.
 * NaN follows torch: maximum/minimum propagate it, comparisons with it
 * are false except ne.
 */
#include "rk_common.h"

typedef enum rk_binop {
    RK_BIN_ADD, RK_BIN_SUB, RK_BIN_MUL, RK_BIN_DIV, RK_BIN_POW, RK_BIN_MAXIMUM, RK_BIN_MINIMUM,
    RK_BIN_FLOOR_DIVIDE, RK_BIN_REMAINDER, RK_BIN_ATAN2
} rk_binop;

typedef enum rk_cmpop { RK_CMP_EQ, RK_CMP_NE, RK_CMP_LT, RK_CMP_LE, RK_CMP_GT, RK_CMP_GE } rk_cmpop;

typedef enum rk_logop { RK_LOG_AND, RK_LOG_OR, RK_LOG_XOR } rk_logop;

typedef enum rk_unop {
    RK_UN_EXP, RK_UN_LOG, RK_UN_SQRT, RK_UN_RSQRT, RK_UN_ABS, RK_UN_NEG, RK_UN_SIN, RK_UN_COS, RK_UN_ERF,
    RK_UN_RECIPROCAL, RK_UN_TANH, RK_UN_SIGMOID, RK_UN_FLOOR, RK_UN_CEIL, RK_UN_ROUND, RK_UN_TRUNC, RK_UN_SIGN,
    RK_UN_SQUARE, RK_UN_LOG1P, RK_UN_EXPM1, RK_UN_LOG2, RK_UN_EXP2
} rk_unop;

/* Python's floor division and modulo, as torch computes them for floats. */
static inline float rk_elem_floordiv(float a, float b)
{
    if (b == 0.0f) return a / b;
    float m = fmodf(a, b), d = (a - m) / b;
    if (m != 0.0f && ((b < 0.0f) != (m < 0.0f))) d -= 1.0f;
    float f = floorf(d);
    if (d - f > 0.5f) f += 1.0f;
    return d == 0.0f ? copysignf(0.0f, a / b) : f;
}

static inline float rk_elem_remainder(float a, float b)
{
    float m = fmodf(a, b);
    if (m != 0.0f && ((b < 0.0f) != (m < 0.0f))) m += b;
    return m;
}

/* A loop over [0, n) in two parts: the multiple of 8 first, then the
 * tail.  gcc -O2 (its "very cheap" vectoriser) vectorises only loops
 * whose trip count is a known multiple of the vector width and that need
 * no run-time alias check, hence this split and the restrict variants. */
#define RK_ELEM_LOOP(BODY)                                                                            \
    do {                                                                                              \
        int64_t n8_ = n & ~(int64_t)7, i;                                                             \
        for (i = 0; i < n8_; i++) { BODY; }                                                           \
        for (; i < n; i++) { BODY; }                                                                  \
    } while (0)

/* The four stride cases of one row: y[i] = EXPR(a, b). */
#define RK_ELEM_ROW(T, EXPR)                                                                          \
    do {                                                                                              \
        if (sa == 1 && sb == 1) {                                                                     \
            RK_ELEM_LOOP(float a = A[i]; float b = B[i]; Y[i] = (T)(EXPR));                           \
        } else if (sa == 1 && sb == 0) {                                                              \
            float b = B[0];                                                                           \
            RK_ELEM_LOOP(float a = A[i]; Y[i] = (T)(EXPR));                                           \
        } else if (sa == 0 && sb == 1) {                                                              \
            float a = A[0];                                                                           \
            RK_ELEM_LOOP(float b = B[i]; Y[i] = (T)(EXPR));                                           \
        } else {                                                                                      \
            /* (a plain loop: split like the others, gcc merges it with them) */                   \
            for (int64_t i = 0; i < n; i++) { float a = A[i * sa]; float b = B[i * sb]; Y[i] = (T)(EXPR); } \
        }                                                                                             \
    } while (0)

/* Each row function is defined twice: with restrict pointers (the
 * output overlaps no input: vectorised at -O2) and without (in place). */
#define RK_ELEM_DEFINE_BIN(NAME, Q)                                                                   \
    static void NAME(rk_binop op, float *Q Y, const float *Q A, int64_t sa, const float *Q B, int64_t sb, \
                     int64_t n)                                                                       \
    {                                                                                                 \
        switch (op) {                                                                                 \
        case RK_BIN_ADD: RK_ELEM_ROW(float, a + b); break;                                           \
        case RK_BIN_SUB: RK_ELEM_ROW(float, a - b); break;                                           \
        case RK_BIN_MUL: RK_ELEM_ROW(float, a * b); break;                                           \
        case RK_BIN_DIV: RK_ELEM_ROW(float, a / b); break;                                           \
        case RK_BIN_POW: /* torch's own special cases for x ** 2 and x ** 0.5 */                     \
            if (sb == 0 && B[0] == 2.0f) RK_ELEM_LOOP(Y[i] = A[i * sa] * A[i * sa]);                  \
            else if (sb == 0 && B[0] == 0.5f) RK_ELEM_LOOP(Y[i] = sqrtf(A[i * sa]));                  \
            else RK_ELEM_ROW(float, powf(a, b));                                                      \
            break;                                                                                    \
        case RK_BIN_MAXIMUM: RK_ELEM_ROW(float, ((a > b) | (a != a)) ? a : b); break;                  \
        case RK_BIN_MINIMUM: RK_ELEM_ROW(float, ((a < b) | (a != a)) ? a : b); break;                  \
        case RK_BIN_FLOOR_DIVIDE: RK_ELEM_ROW(float, rk_elem_floordiv(a, b)); break;                 \
        case RK_BIN_REMAINDER: RK_ELEM_ROW(float, rk_elem_remainder(a, b)); break;                   \
        case RK_BIN_ATAN2: RK_ELEM_ROW(float, atan2f(a, b)); break;                                  \
        }                                                                                             \
    }

#define RK_ELEM_DEFINE_CMP(NAME, Q)                                                                   \
    static void NAME(rk_cmpop op, uint8_t *Q Y, const float *Q A, int64_t sa, const float *Q B, int64_t sb, \
                     int64_t n)                                                                       \
    {                                                                                                 \
        switch (op) {                                                                                 \
        case RK_CMP_EQ: RK_ELEM_ROW(uint8_t, a == b); break;                                         \
        case RK_CMP_NE: RK_ELEM_ROW(uint8_t, a != b); break;                                         \
        case RK_CMP_LT: RK_ELEM_ROW(uint8_t, a < b); break;                                          \
        case RK_CMP_LE: RK_ELEM_ROW(uint8_t, a <= b); break;                                         \
        case RK_CMP_GT: RK_ELEM_ROW(uint8_t, a > b); break;                                          \
        case RK_CMP_GE: RK_ELEM_ROW(uint8_t, a >= b); break;                                         \
        }                                                                                             \
    }

RK_ELEM_DEFINE_BIN(rk_elem_row_bin, )
RK_ELEM_DEFINE_BIN(rk_elem_row_bin_nr, restrict)
RK_ELEM_DEFINE_CMP(rk_elem_row_cmp, )
RK_ELEM_DEFINE_CMP(rk_elem_row_cmp_nr, restrict)

static void rk_elem_row_log(rk_logop op, uint8_t *Y, const uint8_t *A, int64_t sa, const uint8_t *B, int64_t sb,
                            int64_t n)
{
    switch (op) {
    case RK_LOG_AND: RK_ELEM_ROW(uint8_t, (a != 0) & (b != 0)); break;
    case RK_LOG_OR: RK_ELEM_ROW(uint8_t, (a != 0) | (b != 0)); break;
    case RK_LOG_XOR: RK_ELEM_ROW(uint8_t, (a != 0) ^ (b != 0)); break;
    }
}

/* Whether [p, p + n) and [q, q + m) (bytes) share a byte. */
static int rk_elem_overlap(const void *p, size_t n, const void *q, size_t m)
{
    uintptr_t a = (uintptr_t)p, b = (uintptr_t)q;
    return a < b + m && b < a + n;
}

enum { RK_ELEM_BIN, RK_ELEM_CMP, RK_ELEM_LOG };

/* The broadcast walk shared by the three families: kind picks the row
 * function, op its operation, es_in the operands' element size. */
static int rk_elem_walk(int kind, int op, void *y, int ny, const int64_t *ysize, const void *a, int na,
                        const int64_t *asize, const void *b, int nb, const int64_t *bsize)
{
    int64_t bs[RK_MAXDIM], sz[RK_MAXDIM], sa[RK_MAXDIM], sb[RK_MAXDIM], idx[RK_MAXDIM] = {0};
    int n = rk_broadcast_shape(na, asize, nb, bsize, bs);
    if (n < 0 || n != ny) return -1;
    for (int i = 0; i < n; i++)
        if (bs[i] != ysize[i]) return -1;
    rk_broadcast_strides(n, ysize, na, asize, sa);
    rk_broadcast_strides(n, ysize, nb, bsize, sb);
    for (int i = 0; i < n; i++) {
        if (ysize[i] == 0) return 0;
        sz[i] = ysize[i];
    }
    int64_t *st[2] = {sa, sb};
    n = rk_coalesce(n, sz, 2, st);
    int64_t L = n ? sz[n - 1] : 1, ia = n ? sa[n - 1] : 0, ib = n ? sb[n - 1] : 0;
    int64_t yo = 0, ny_el = 1, na_el = 1, nb_el = 1;
    for (int i = 0; i < ny; i++) ny_el *= ysize[i];
    for (int i = 0; i < na; i++) na_el *= asize[i];
    for (int i = 0; i < nb; i++) nb_el *= bsize[i];
    size_t ye = kind == RK_ELEM_BIN ? 4 : 1, xe = kind == RK_ELEM_LOG ? 1 : 4;
    int sep = !rk_elem_overlap(y, (size_t)ny_el * ye, a, (size_t)na_el * xe) &&
              !rk_elem_overlap(y, (size_t)ny_el * ye, b, (size_t)nb_el * xe);
    for (;;) {
        int64_t oa = 0, ob = 0;
        for (int i = 0; i < n - 1; i++) {
            oa += idx[i] * sa[i];
            ob += idx[i] * sb[i];
        }
        switch (kind) {
        case RK_ELEM_BIN:
            (sep ? rk_elem_row_bin_nr : rk_elem_row_bin)((rk_binop)op, (float *)y + yo, (const float *)a + oa, ia,
                                                          (const float *)b + ob, ib, L);
            break;
        case RK_ELEM_CMP:
            (sep ? rk_elem_row_cmp_nr : rk_elem_row_cmp)((rk_cmpop)op, (uint8_t *)y + yo, (const float *)a + oa, ia,
                                                          (const float *)b + ob, ib, L);
            break;
        default:
            rk_elem_row_log((rk_logop)op, (uint8_t *)y + yo, (const uint8_t *)a + oa, ia, (const uint8_t *)b + ob,
                            ib, L);
        }
        yo += L;
        int d = n - 2;
        while (d >= 0 && ++idx[d] == sz[d]) idx[d--] = 0;
        if (d < 0) return 0;
    }
}

/* y (ysize) = a op b, a (asize) and b (bsize) broadcast to ysize, which
 * must be their broadcast shape (rk_broadcast_shape).  A 0-dim operand
 * (n 0) is a scalar tensor.  -1 when the shapes do not broadcast to y. */
static int rk_binary(rk_binop op, float *y, int ny, const int64_t *ysize, const float *a, int na,
                     const int64_t *asize, const float *b, int nb, const int64_t *bsize)
{
    return rk_elem_walk(RK_ELEM_BIN, (int)op, y, ny, ysize, a, na, asize, b, nb, bsize);
}

/* Comparison: mask y (uint8 0/1, ysize) = a cmp b, broadcast as rk_binary. */
static int rk_compare(rk_cmpop op, uint8_t *y, int ny, const int64_t *ysize, const float *a, int na,
                      const int64_t *asize, const float *b, int nb, const int64_t *bsize)
{
    return rk_elem_walk(RK_ELEM_CMP, (int)op, y, ny, ysize, a, na, asize, b, nb, bsize);
}

/* logical_and / logical_or / logical_xor of masks (nonzero is true). */
static int rk_logical(rk_logop op, uint8_t *y, int ny, const int64_t *ysize, const uint8_t *a, int na,
                      const int64_t *asize, const uint8_t *b, int nb, const int64_t *bsize)
{
    return rk_elem_walk(RK_ELEM_LOG, (int)op, y, ny, ysize, a, na, asize, b, nb, bsize);
}

/* logical_not of a mask of n elements (y may be a). */
static void rk_logical_not(uint8_t *y, const uint8_t *a, int64_t n)
{
    for (int64_t i = 0; i < n; i++) y[i] = a[i] == 0;
}

/* Scalar forms over n elements: y = x op s, or s op x when scalar_first
 * (torch's rsub, 1 / x as s / x, 2 ** x).  y may be x. */
static void rk_binary_scalar(rk_binop op, float *y, const float *x, int64_t n, float s, int scalar_first)
{
    int sep = !rk_elem_overlap(y, (size_t)n * 4, x, (size_t)n * 4);
    if (scalar_first) (sep ? rk_elem_row_bin_nr : rk_elem_row_bin)(op, y, &s, 0, x, 1, n);
    else (sep ? rk_elem_row_bin_nr : rk_elem_row_bin)(op, y, x, 1, &s, 0, n);
}

static void rk_compare_scalar(rk_cmpop op, uint8_t *y, const float *x, int64_t n, float s)
{
    rk_elem_row_cmp_nr(op, y, x, 1, &s, 0, n);      /* a mask never aliases its float input */
}

/* x + alpha * b as torch.add(x, b, alpha=alpha) for same-shape operands. */
static void rk_add_scaled(float *y, const float *a, const float *b, int64_t n, float alpha)
{
    for (int64_t i = 0; i < n; i++) y[i] = a[i] + alpha * b[i];
}

#define RK_UN_LOOP(EXPR) RK_ELEM_LOOP(float a = x[i]; y[i] = (EXPR))

/* Unary math over n elements (y may be x).  round is torch's: half to even. */
static void rk_unary(rk_unop op, float *y, const float *x, int64_t n)
{
    switch (op) {
    case RK_UN_EXP: RK_UN_LOOP(expf(a)); break;
    case RK_UN_LOG: RK_UN_LOOP(logf(a)); break;
    case RK_UN_SQRT: RK_UN_LOOP(sqrtf(a)); break;
    case RK_UN_RSQRT: RK_UN_LOOP(1.0f / sqrtf(a)); break;
    case RK_UN_ABS: RK_UN_LOOP(fabsf(a)); break;
    case RK_UN_NEG: RK_UN_LOOP(-a); break;
    case RK_UN_SIN: RK_UN_LOOP(sinf(a)); break;
    case RK_UN_COS: RK_UN_LOOP(cosf(a)); break;
    case RK_UN_ERF: RK_UN_LOOP(erff(a)); break;
    case RK_UN_RECIPROCAL: RK_UN_LOOP(1.0f / a); break;
    case RK_UN_TANH: RK_UN_LOOP(tanhf(a)); break;
    case RK_UN_SIGMOID: RK_UN_LOOP(1.0f / (1.0f + expf(-a))); break;
    case RK_UN_FLOOR: RK_UN_LOOP(floorf(a)); break;
    case RK_UN_CEIL: RK_UN_LOOP(ceilf(a)); break;
    case RK_UN_ROUND: RK_UN_LOOP(nearbyintf(a)); break;
    case RK_UN_TRUNC: RK_UN_LOOP(truncf(a)); break;
    case RK_UN_SIGN: RK_UN_LOOP(a > 0.0f ? 1.0f : a < 0.0f ? -1.0f : a == a ? 0.0f : a); break;
    case RK_UN_SQUARE: RK_UN_LOOP(a * a); break;
    case RK_UN_LOG1P: RK_UN_LOOP(log1pf(a)); break;
    case RK_UN_EXPM1: RK_UN_LOOP(expm1f(a)); break;
    case RK_UN_LOG2: RK_UN_LOOP(log2f(a)); break;
    case RK_UN_EXP2: RK_UN_LOOP(exp2f(a)); break;
    }
}

/* torch.clamp(x, lo, hi) over n elements: max(x, lo) then min(., hi), so
 * lo > hi gives hi as torch does; NaN stays NaN.  Pass -INFINITY /
 * INFINITY for a missing bound.  y may be x. */
static void rk_clamp(float *y, const float *x, int64_t n, float lo, float hi)
{
    for (int64_t i = 0; i < n; i++) {
        float v = x[i] < lo ? lo : x[i];
        y[i] = v > hi ? hi : v;
    }
}
