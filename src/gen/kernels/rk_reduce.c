/* rk_reduce.c — reductions over one or several dims: sum, mean, prod,
 * amax/amin, norm-2, var/std, argmax/argmin (with the values, as
 * torch.max(x, dim)), and F.normalize.
 *
 * requires: rk_layout.c
 *
 * A reduction walks x once, in memory order, and accumulates each
 * element into the output element it belongs to: y's strides are those
 * of the kept dims and 0 on the reduced ones.  After coalescing
 * (rk_coalesce) the innermost run is either reduced — a contiguous row
 * folded into one accumulator with eight independent partial results
 * (vectorisable, and more accurate than one running sum) — or kept, in
 * which case a row of y is updated elementwise from a row of x
 * (vectorisable too).  So reducing the last dim, a middle dim ([N, C, HW]
 * over C) or several non-adjacent dims all stream x once, with no
 * transposes and no scratch.  keepdim changes only the shape, not the
 * data, so it is not a parameter.  Cost: one read of x, and the output
 * stays in cache when it is small.
 *
 * torch's NaN rules hold: amax/amin and max/min propagate NaN, argmax
 * and argmin return the first NaN's index, ties go to the first index.
 * var/std take torch's correction (1 = unbiased, 0 = biased) and use two
 * passes (mean, then squared deviations), as exact as Welford here.
 */
#include "rk_common.h"

typedef enum rk_redop {
    RK_RED_SUM, RK_RED_MEAN, RK_RED_PROD, RK_RED_AMAX, RK_RED_AMIN, RK_RED_NORM2,
    RK_RED_SQDEV_                   /* internal: sum of (x - mean)^2, the second pass of var */
} rk_redop;

/* Marks the reduced dims in *mask (nred 0: all); -1 on a bad or repeated dim. */
static int rk_red_dims(int ndim, int nred, const int *dims, unsigned *mask)
{
    *mask = 0;
    if (ndim > RK_MAXDIM) return -1;
    if (nred == 0) {
        *mask = ndim ? (1u << ndim) - 1 : 0;
        return 0;
    }
    for (int i = 0; i < nred; i++) {
        int d = dims[i] < 0 ? dims[i] + ndim : dims[i];
        if (d < 0 || d >= ndim || (*mask >> d & 1u)) return -1;
        *mask |= 1u << d;
    }
    return 0;
}

/* The output shape (keepdim: reduced dims become 1; else they go);
 * returns its rank, -1 on bad dims. */
static int rk_reduce_shape(int ndim, const int64_t *size, int nred, const int *dims, int keepdim, int64_t *out)
{
    unsigned m;
    int k = 0;
    if (rk_red_dims(ndim, nred, dims, &m) < 0) return -1;
    for (int i = 0; i < ndim; i++) {
        if (m >> i & 1u) {
            if (keepdim) out[k++] = 1;
        } else {
            out[k++] = size[i];
        }
    }
    return k;
}

static float rk_red_row(rk_redop op, const float *x, int64_t n, float m)
{
    float p[8];
    int64_t i = 0;
    switch (op) {
    case RK_RED_SUM:
    case RK_RED_MEAN:
        for (int k = 0; k < 8; k++) p[k] = 0.0f;
        for (; i + 8 <= n; i += 8)
            for (int k = 0; k < 8; k++) p[k] += x[i + k];
        for (; i < n; i++) p[0] += x[i];
        return ((p[0] + p[4]) + (p[1] + p[5])) + ((p[2] + p[6]) + (p[3] + p[7]));
    case RK_RED_NORM2:
        for (int k = 0; k < 8; k++) p[k] = 0.0f;
        for (; i + 8 <= n; i += 8)
            for (int k = 0; k < 8; k++) p[k] += x[i + k] * x[i + k];
        for (; i < n; i++) p[0] += x[i] * x[i];
        return ((p[0] + p[4]) + (p[1] + p[5])) + ((p[2] + p[6]) + (p[3] + p[7]));
    case RK_RED_SQDEV_:
        for (int k = 0; k < 8; k++) p[k] = 0.0f;
        for (; i + 8 <= n; i += 8)
            for (int k = 0; k < 8; k++) p[k] += (x[i + k] - m) * (x[i + k] - m);
        for (; i < n; i++) p[0] += (x[i] - m) * (x[i] - m);
        return ((p[0] + p[4]) + (p[1] + p[5])) + ((p[2] + p[6]) + (p[3] + p[7]));
    case RK_RED_PROD: {
        float r = 1.0f;
        for (; i < n; i++) r *= x[i];
        return r;
    }
    case RK_RED_AMAX:
    case RK_RED_AMIN: {
        int mx = op == RK_RED_AMAX;
        float r = x[0];
        int nan = 0;
        for (i = 0; i < n; i++) {
            float v = x[i];
            nan |= v != v;
            r = mx ? (v > r ? v : r) : (v < r ? v : r);
        }
        return nan ? NAN : r;
    }
    }
    return 0.0f;
}

/* The loop over [0, n) split into its multiple of 8 and the tail: gcc -O2
 * vectorises only loops whose trip count is a known multiple of the
 * vector width (and that need no alias check: restrict below). */
#define RK_RED_LOOP(BODY)                                                                             \
    do {                                                                                              \
        int64_t n8_ = n & ~(int64_t)7, i;                                                             \
        for (i = 0; i < n8_; i++) { BODY; }                                                           \
        for (; i < n; i++) { BODY; }                                                                  \
    } while (0)

/* y[i] = combine(y[i], x[i]) over a kept row (m: the means, for SQDEV). */
static void rk_red_merge(rk_redop op, float *restrict y, const float *restrict x, int64_t n,
                         const float *restrict m)
{
    switch (op) {
    case RK_RED_SUM:
    case RK_RED_MEAN: RK_RED_LOOP(y[i] += x[i]); break;
    case RK_RED_NORM2: RK_RED_LOOP(y[i] += x[i] * x[i]); break;
    case RK_RED_SQDEV_: RK_RED_LOOP(y[i] += (x[i] - m[i]) * (x[i] - m[i])); break;
    case RK_RED_PROD: RK_RED_LOOP(y[i] *= x[i]); break;
    case RK_RED_AMAX: RK_RED_LOOP(y[i] = ((x[i] > y[i]) | (x[i] != x[i])) ? x[i] : y[i]); break;
    case RK_RED_AMIN: RK_RED_LOOP(y[i] = ((x[i] < y[i]) | (x[i] != x[i])) ? x[i] : y[i]); break;
    }
}

static float rk_red_combine(rk_redop op, float a, float b)
{
    switch (op) {
    case RK_RED_PROD: return a * b;
    case RK_RED_AMAX: return (b > a || b != b) ? b : a;
    case RK_RED_AMIN: return (b < a || b != b) ? b : a;
    default: return a + b;
    }
}

/* The walk: y (already holding the identity) accumulates x; m has y's
 * layout (SQDEV only).  Returns the number of elements folded into each
 * output element. */
static int64_t rk_red_walk(rk_redop op, float *y, const float *x, const float *m, int ndim, const int64_t *size,
                           unsigned red)
{
    int64_t sz[RK_MAXDIM], xs[RK_MAXDIM], ys[RK_MAXDIM], idx[RK_MAXDIM] = {0}, count = 1, s = 1;
    for (int i = 0; i < ndim; i++) {
        if (size[i] == 0) return 0;
        sz[i] = size[i];
        if (red >> i & 1u) count *= size[i];
    }
    rk_contig_strides(ndim, sz, xs);
    for (int i = ndim - 1; i >= 0; i--) {
        ys[i] = (red >> i & 1u) ? 0 : s;
        if (!(red >> i & 1u)) s *= size[i];
    }
    int64_t *st[2] = {xs, ys};
    int n = rk_coalesce(ndim, sz, 2, st);
    int64_t L = n ? sz[n - 1] : 1, iy = n ? ys[n - 1] : 1;
    const float *xr = x;
    for (;;) {
        int64_t yo = 0;
        for (int i = 0; i < n - 1; i++) yo += idx[i] * ys[i];
        if (iy == 0) y[yo] = rk_red_combine(op, y[yo], rk_red_row(op, xr, L, m ? m[yo] : 0.0f));
        else rk_red_merge(op, y + yo, xr, L, m ? m + yo : NULL);
        xr += L;
        int d = n - 2;
        while (d >= 0 && ++idx[d] == sz[d]) idx[d--] = 0;
        if (d < 0) return count;
    }
}

/* y = op(x) over dims (nred of them, negative allowed; nred 0 = all).
 * y holds the kept dims' elements in order (keepdim only changes the
 * shape: rk_reduce_shape).  -1 on bad dims.  A reduction over an empty
 * dim gives the identity (sum 0, prod 1), mean NaN, amax -inf as a bound
 * (torch refuses that one). */
static int rk_reduce(rk_redop op, float *y, const float *x, int ndim, const int64_t *size, int nred,
                     const int *dims)
{
    unsigned red;
    if (rk_red_dims(ndim, nred, dims, &red) < 0 || op == RK_RED_SQDEV_) return -1;
    int64_t ny = 1, count = 1;
    for (int i = 0; i < ndim; i++) {
        if (red >> i & 1u) count *= size[i];
        else ny *= size[i];
    }
    float init = op == RK_RED_PROD ? 1.0f : op == RK_RED_AMAX ? -INFINITY : op == RK_RED_AMIN ? INFINITY : 0.0f;
    for (int64_t i = 0; i < ny; i++) y[i] = init;
    rk_red_walk(op, y, x, NULL, ndim, size, red);
    if (op == RK_RED_MEAN)
        for (int64_t i = 0; i < ny; i++) y[i] /= (float)count;
    if (op == RK_RED_NORM2)
        for (int64_t i = 0; i < ny; i++) y[i] = sqrtf(y[i]);
    return 0;
}

/* torch.var / torch.std over dims with `correction` (1: unbiased).
 * scratch: numel(y) floats (the means).  N - correction <= 0 divides by
 * 0 as torch does (inf or NaN). */
static int rk_var(float *y, const float *x, int ndim, const int64_t *size, int nred, const int *dims,
                  int64_t correction, int take_sqrt, float *scratch)
{
    unsigned red;
    if (rk_red_dims(ndim, nred, dims, &red) < 0) return -1;
    int64_t ny = 1, count = 1;
    for (int i = 0; i < ndim; i++) {
        if (red >> i & 1u) count *= size[i];
        else ny *= size[i];
    }
    rk_reduce(RK_RED_MEAN, scratch, x, ndim, size, nred, dims);
    for (int64_t i = 0; i < ny; i++) y[i] = 0.0f;
    rk_red_walk(RK_RED_SQDEV_, y, x, scratch, ndim, size, red);
    float div = (float)(count - correction > 0 ? count - correction : 0);
    for (int64_t i = 0; i < ny; i++) {
        y[i] /= div;
        if (take_sqrt) y[i] = sqrtf(y[i]);
    }
    return 0;
}

/* torch.max(x, dim) / torch.min(x, dim): indices (int64, always) and
 * values (may be NULL: torch.argmax) over one dim; the first index wins
 * ties, the first NaN wins over everything (torch).  torch.argmax
 * without dim is this on the flattened tensor (ndim 1).  Cost: one pass;
 * a dim that is not last is read with a stride. */
static int rk_argmax(int64_t *idx, float *val, const float *x, int ndim, const int64_t *size, int dim, int is_min)
{
    int64_t outer = 1, inner = 1;
    if (dim < 0) dim += ndim;
    if (dim < 0 || dim >= ndim || size[dim] == 0) return -1;
    for (int i = 0; i < dim; i++) outer *= size[i];
    for (int i = dim + 1; i < ndim; i++) inner *= size[i];
    int64_t L = size[dim];
    for (int64_t o = 0; o < outer; o++)
        for (int64_t j = 0; j < inner; j++) {
            const float *xr = x + o * L * inner + j;
            float best = xr[0];
            int64_t bi = 0;
            for (int64_t i = 1; i < L && best == best; i++) {
                float v = xr[i * inner];
                if (v != v || (is_min ? v < best : v > best)) {
                    best = v;
                    bi = i;
                }
            }
            idx[o * inner + j] = bi;
            if (val) val[o * inner + j] = best;
        }
    return 0;
}

/* F.normalize(x, p=2, dim, eps): x / max(||x||_2 along dim, eps).  y must
 * not alias x (its first row along dim holds the norms until last). */
static int rk_normalize(float *y, const float *x, int ndim, const int64_t *size, int dim, float eps)
{
    int64_t outer = 1, inner = 1;
    if (dim < 0) dim += ndim;
    if (dim < 0 || dim >= ndim) return -1;
    for (int i = 0; i < dim; i++) outer *= size[i];
    for (int i = dim + 1; i < ndim; i++) inner *= size[i];
    int64_t L = size[dim];
    if (L == 0) return 0;
    for (int64_t o = 0; o < outer; o++) {
        const float *xo = x + o * L * inner;
        float *yo = y + o * L * inner;
        if (inner == 1) {
            float nrm = sqrtf(rk_red_row(RK_RED_NORM2, xo, L, 0.0f));
            float d = nrm > eps ? nrm : eps;
            for (int64_t i = 0; i < L; i++) yo[i] = xo[i] / d;
            continue;
        }
        for (int64_t j = 0; j < inner; j++) yo[j] = 0.0f;
        for (int64_t i = 0; i < L; i++) rk_red_merge(RK_RED_NORM2, yo, xo + i * inner, inner, NULL);
        for (int64_t j = 0; j < inner; j++) {
            float nrm = sqrtf(yo[j]);
            yo[j] = nrm > eps ? nrm : eps;
        }
        for (int64_t i = L - 1; i >= 0; i--)
            for (int64_t j = 0; j < inner; j++) yo[i * inner + j] = xo[i * inner + j] / yo[j];
    }
    return 0;
}
