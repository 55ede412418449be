/* rk_layout.c — torch's data-movement ops: permute, expand, slicing,
 * cat/split, roll, pad, flip, repeat, tril/triu, arange, where,
 * masked_fill, gather, index_select, cumsum.
 *
 *
 * Nearly all of these are one engine, rk_copy_strided: a dense output
 * walked in order while the input is read through arbitrary strides (0
 * for a broadcast dimension, negative for a flip), the way torch
 * materialises a view with .contiguous().  Before walking it coalesces
 * dimensions that are contiguous in both tensors and drops sizes of 1,
 * so a permute that keeps the last dimension copies whole rows with
 * memcpy, an expand of a row fills, and a plain copy is one memcpy.  When
 * the input's innermost stride is not 1 (a true transpose) it copies in
 * 32x32 tiles so that both sides stay in cache.  Cost: one read and one
 * write of the output's bytes; no arithmetic.
 *
 * Movement-only kernels take the element size (4 for f32, 8 for i64, 1
 * for u8 masks), so int64 indices and boolean masks move through the
 * same code.  Shapes are int64_t arrays in torch's order; at most
 * RK_MAXDIM (16) dimensions (repeat doubles the rank internally).  The
 * kernels that return int refuse what torch refuses (a bad index, an
 * inconsistent shape) with -1, before reading anything out of bounds.
 */
#include "rk_common.h"

#define RK_MAXDIM 16

/* Row-major strides of a dense tensor of n dims. */
static void rk_contig_strides(int n, const int64_t *size, int64_t *stride)
{
    int64_t s = 1;
    for (int i = n - 1; i >= 0; i--) {
        stride[i] = s;
        s *= size[i];
    }
}

static int64_t rk_numel(int n, const int64_t *size)
{
    int64_t k = 1;
    for (int i = 0; i < n; i++) k *= size[i];
    return k;
}

/* torch's broadcast of shapes a (na dims) and b (nb dims), aligned at the
 * right: out gets max(na, nb) dims; returns that rank, or -1 when two
 * sizes differ and neither is 1. */
static int rk_broadcast_shape(int na, const int64_t *a, int nb, const int64_t *b, int64_t *out)
{
    int n = na > nb ? na : nb;
    if (n > RK_MAXDIM) return -1;
    for (int i = 0; i < n; i++) {
        int64_t x = i < n - na ? 1 : a[i - (n - na)];
        int64_t y = i < n - nb ? 1 : b[i - (n - nb)];
        if (x != y && x != 1 && y != 1) return -1;
        out[i] = x == 1 ? y : x;
    }
    return n;
}

/* Strides (in elements) that read a dense tensor of shape xsize (nx dims)
 * as if it had the shape out (n dims): 0 where x is broadcast.  -1 when x
 * does not broadcast to out. */
static int rk_broadcast_strides(int n, const int64_t *out, int nx, const int64_t *xsize, int64_t *stride)
{
    if (nx > n || n > RK_MAXDIM) return -1;
    int64_t s = 1;
    for (int i = n - 1; i >= 0; i--) {
        int j = i - (n - nx);
        if (j < 0) {
            stride[i] = 0;
            continue;
        }
        if (xsize[j] == out[i]) stride[i] = out[i] == 1 ? 0 : s;
        else if (xsize[j] == 1) stride[i] = 0;
        else return -1;
        s *= xsize[j];
    }
    return 0;
}

/* Coalesce dims in place for nt stride arrays walked together: drops
 * sizes of 1 and merges dim i into i+1 when every array has
 * stride[i] == stride[i+1] * size[i+1].  Returns the new rank (0 for one
 * element).  A size of 0 is kept (the caller checks numel first). */
static int rk_coalesce(int n, int64_t *size, int nt, int64_t *const *st)
{
    int m = 0;
    for (int i = 0; i < n; i++) {
        if (size[i] == 1) continue;
        if (m > 0) {
            int ok = 1;
            for (int t = 0; t < nt; t++)
                if (st[t][m - 1] != st[t][i] * size[i]) ok = 0;
            if (ok) {
                size[m - 1] *= size[i];
                for (int t = 0; t < nt; t++) st[t][m - 1] = st[t][i];
                continue;
            }
        }
        size[m] = size[i];
        for (int t = 0; t < nt; t++) st[t][m] = st[t][i];
        m++;
    }
    return m;
}

/* One row of n elements of size es: y dense, x at stride s (elements). */
static void rk_copy_row(char *y, const char *x, int64_t es, int64_t n, int64_t s)
{
    if (s == 1) {
        memcpy(y, x, (size_t)(n * es));
        return;
    }
    switch (es) {
    case 4: {
        uint32_t *yy = (uint32_t *)(void *)y;
        const uint32_t *xx = (const uint32_t *)(const void *)x;
        if (s == 0) {
            uint32_t v = xx[0];
            for (int64_t i = 0; i < n; i++) yy[i] = v;
        } else {
            for (int64_t i = 0; i < n; i++) yy[i] = xx[i * s];
        }
        return;
    }
    case 8: {
        uint64_t *yy = (uint64_t *)(void *)y;
        const uint64_t *xx = (const uint64_t *)(const void *)x;
        for (int64_t i = 0; i < n; i++) yy[i] = xx[i * s];
        return;
    }
    case 1:
        if (s == 0) memset(y, x[0], (size_t)n);
        else for (int64_t i = 0; i < n; i++) y[i] = x[i * s];
        return;
    default:
        for (int64_t i = 0; i < n; i++) memcpy(y + i * es, x + i * s * es, (size_t)es);
    }
}

/* A tile: rows r (x stride xr, y stride yr) by cols c (x stride xc, y 1),
 * with xr == 1: read down x's contiguous rows, write y's rows. */
static void rk_copy_tile(char *y, const char *x, int64_t es, int64_t r, int64_t c,
                         int64_t yr, int64_t xc)
{
    if (es == 4) {
        uint32_t *yy = (uint32_t *)(void *)y;
        const uint32_t *xx = (const uint32_t *)(const void *)x;
        for (int64_t j = 0; j < c; j++)
            for (int64_t i = 0; i < r; i++) yy[i * yr + j] = xx[j * xc + i];
        return;
    }
    for (int64_t j = 0; j < c; j++)
        for (int64_t i = 0; i < r; i++) memcpy(y + (i * yr + j) * es, x + (j * xc + i) * es, (size_t)es);
}

/* y (size, dense) = x read at strides `stride` (elements; any sign, 0
 * broadcasts), ndim <= RK_MAXDIM.  x points at the element of index 0.
 * Cost: numel(y) element moves. */
static void rk_copy_strided(void *y, const void *x, int64_t es, int ndim, const int64_t *size,
                            const int64_t *stride)
{
    int64_t sz[RK_MAXDIM], xs[RK_MAXDIM], ys[RK_MAXDIM];
    for (int i = 0; i < ndim; i++) {
        if (size[i] == 0) return;
        sz[i] = size[i];
        xs[i] = stride[i];
    }
    rk_contig_strides(ndim, sz, ys);
    int64_t *st[2] = {xs, ys};
    int n = rk_coalesce(ndim, sz, 2, st);
    char *yb = y;
    const char *xb = x;
    if (n == 0) {
        memcpy(yb, xb, (size_t)es);
        return;
    }
    /* Transpose: x's innermost stride is not 1 but another dim's is. */
    int tj = -1;
    if (xs[n - 1] != 1 && xs[n - 1] != 0)
        for (int i = 0; i < n - 1; i++)
            if (xs[i] == 1 && sz[i] >= 8) tj = i;
    int64_t idx[RK_MAXDIM] = {0};
    int64_t inner = sz[n - 1];
    for (;;) {
        int64_t xo = 0, yo = 0;
        for (int i = 0; i < n - 1; i++) {
            xo += idx[i] * xs[i];
            yo += idx[i] * ys[i];
        }
        if (tj >= 0) {
            for (int64_t i0 = 0; i0 < sz[tj]; i0 += 32)
                for (int64_t j0 = 0; j0 < inner; j0 += 32) {
                    int64_t r = sz[tj] - i0 < 32 ? sz[tj] - i0 : 32;
                    int64_t c = inner - j0 < 32 ? inner - j0 : 32;
                    rk_copy_tile(yb + (yo + i0 * ys[tj] + j0) * es, xb + (xo + i0 + j0 * xs[n - 1]) * es,
                                 es, r, c, ys[tj], xs[n - 1]);
                }
        } else {
            rk_copy_row(yb + yo * es, xb + xo * es, es, inner, xs[n - 1]);
        }
        int d = n - 2;
        while (d >= 0) {
            if (d == tj) {
                d--;
                continue;
            }
            if (++idx[d] < sz[d]) break;
            idx[d] = 0;
            d--;
        }
        if (d < 0) return;
    }
}

/* permute: y = x.permute(perm).contiguous(); x (xsize, ndim dims), y has
 * size xsize[perm[i]].  Returns -1 when perm is not a permutation. */
static int rk_permute(void *y, const void *x, int64_t es, int ndim, const int64_t *xsize, const int *perm)
{
    int64_t xs[RK_MAXDIM], sz[RK_MAXDIM], st[RK_MAXDIM];
    unsigned seen = 0;
    if (ndim > RK_MAXDIM) return -1;
    rk_contig_strides(ndim, xsize, xs);
    for (int i = 0; i < ndim; i++) {
        if (perm[i] < 0 || perm[i] >= ndim || (seen >> perm[i] & 1u)) return -1;
        seen |= 1u << perm[i];
        sz[i] = xsize[perm[i]];
        st[i] = xs[perm[i]];
    }
    rk_copy_strided(y, x, es, ndim, sz, st);
    return 0;
}

/* transpose(d0, d1).contiguous(). */
static int rk_transpose(void *y, const void *x, int64_t es, int ndim, const int64_t *xsize, int d0, int d1)
{
    int perm[RK_MAXDIM];
    if (ndim > RK_MAXDIM || d0 < 0 || d1 < 0 || d0 >= ndim || d1 >= ndim) return -1;
    for (int i = 0; i < ndim; i++) perm[i] = i;
    perm[d0] = d1;
    perm[d1] = d0;
    return rk_permute(y, x, es, ndim, xsize, perm);
}

/* expand / broadcast materialisation: x (nx dims) -> y (ysize, ny dims). */
static int rk_expand(void *y, const void *x, int64_t es, int nx, const int64_t *xsize, int ny,
                     const int64_t *ysize)
{
    int64_t st[RK_MAXDIM];
    if (rk_broadcast_strides(ny, ysize, nx, xsize, st) < 0) return -1;
    rk_copy_strided(y, x, es, ny, ysize, st);
    return 0;
}

/* Python's slice start:end:step on a dimension of `size` (step > 0):
 * normalises *start (negative counts from the end, clamped to [0, size])
 * and returns the slice's length; -1 when step <= 0 (torch refuses). */
static int64_t rk_slice_len(int64_t size, int64_t *start, int64_t end, int64_t step)
{
    if (step <= 0) return -1;
    int64_t s = *start, e = end;
    if (s < 0) s += size;
    if (e < 0) e += size;
    s = s < 0 ? 0 : s > size ? size : s;
    e = e < 0 ? 0 : e > size ? size : e;
    *start = s;
    return e > s ? (e - s + step - 1) / step : 0;
}

/* y = x[start[0]:end[0]:step[0], start[1]:..., ...] over all ndim dims
 * (pass 0, INT64_MAX, 1 for a whole dimension); y's shape is the slice
 * lengths (rk_slice_len).  Returns -1 on a step <= 0. */
static int rk_slice(void *y, const void *x, int64_t es, int ndim, const int64_t *xsize,
                    const int64_t *start, const int64_t *end, const int64_t *step)
{
    int64_t xs[RK_MAXDIM], sz[RK_MAXDIM], st[RK_MAXDIM], off = 0;
    if (ndim > RK_MAXDIM) return -1;
    rk_contig_strides(ndim, xsize, xs);
    for (int i = 0; i < ndim; i++) {
        int64_t s = start[i];
        sz[i] = rk_slice_len(xsize[i], &s, end[i], step[i]);
        if (sz[i] < 0) return -1;
        if (sz[i] == 0) return 0;
        off += s * xs[i];
        st[i] = xs[i] * step[i];
    }
    rk_copy_strided(y, (const char *)x + off * es, es, ndim, sz, st);
    return 0;
}

/* Product of sizes before dim and after it. */
static void rk_outer_inner(int ndim, const int64_t *size, int dim, int64_t *outer, int64_t *inner)
{
    *outer = 1;
    *inner = 1;
    for (int i = 0; i < dim; i++) *outer *= size[i];
    for (int i = dim + 1; i < ndim; i++) *inner *= size[i];
}

/* torch.cat(xs, dim): n inputs, input i of shape ysize with ysize[dim]
 * replaced by lens[i]; y has shape ysize.  -1 when sum(lens) != ysize[dim].
 * Cost: one memcpy per input per outer index. */
static int rk_cat(void *y, const void *const *xs, int n, int64_t es, int ndim, const int64_t *ysize,
                  int dim, const int64_t *lens)
{
    int64_t outer, inner, tot = 0;
    if (dim < 0 || dim >= ndim) return -1;
    for (int i = 0; i < n; i++) {
        if (lens[i] < 0) return -1;
        tot += lens[i];
    }
    if (tot != ysize[dim]) return -1;
    rk_outer_inner(ndim, ysize, dim, &outer, &inner);
    char *yb = y;
    for (int64_t o = 0; o < outer; o++)
        for (int i = 0; i < n; i++) {
            size_t row = (size_t)(lens[i] * inner * es);
            memcpy(yb, (const char *)xs[i] + o * row, row);
            yb += row;
        }
    return 0;
}

/* torch.split / chunk as copies: x (xsize) into n outputs, output i with
 * xsize[dim] replaced by lens[i].  -1 when sum(lens) != xsize[dim]. */
static int rk_split(void *const *ys, int n, const void *x, int64_t es, int ndim, const int64_t *xsize,
                    int dim, const int64_t *lens)
{
    int64_t outer, inner, tot = 0;
    if (dim < 0 || dim >= ndim) return -1;
    for (int i = 0; i < n; i++) {
        if (lens[i] < 0) return -1;
        tot += lens[i];
    }
    if (tot != xsize[dim]) return -1;
    rk_outer_inner(ndim, xsize, dim, &outer, &inner);
    const char *xb = x;
    for (int64_t o = 0; o < outer; o++)
        for (int i = 0; i < n; i++) {
            size_t row = (size_t)(lens[i] * inner * es);
            memcpy((char *)ys[i] + o * row, xb, row);
            xb += row;
        }
    return 0;
}

/* The lengths torch.chunk(x, chunks) gives a dimension of L: pieces of
 * ceil(L/chunks), the last shorter, possibly fewer than chunks.  Writes
 * at most `chunks` entries, returns the count. */
static int rk_chunk_lens(int64_t L, int chunks, int64_t *lens)
{
    if (chunks <= 0) return -1;
    int64_t each = (L + chunks - 1) / chunks;
    int n = 0;
    if (L == 0) {
        lens[0] = 0;
        return 1;
    }
    for (int64_t at = 0; at < L; at += each) lens[n++] = L - at < each ? L - at : each;
    return n;
}

/* The lengths torch.split(x, size) gives: ceil(L/size) entries. */
static int rk_split_lens(int64_t L, int64_t size, int64_t *lens, int cap)
{
    int n = 0;
    if (size <= 0) return -1;
    for (int64_t at = 0; at < L; at += size) {
        if (n == cap) return -1;
        lens[n++] = L - at < size ? L - at : size;
    }
    return n;
}

/* torch.roll(x, shifts, dims): nroll (shift, dim) pairs, shifts of any
 * sign; torch.roll without dims is this on the flattened tensor (ndim 1).
 * Cost: a copy, by rows of the last dimension (two memcpys when it rolls). */
static int rk_roll(void *y, const void *x, int64_t es, int ndim, const int64_t *size, int nroll,
                   const int64_t *shifts, const int *dims)
{
    int64_t sh[RK_MAXDIM] = {0}, xs[RK_MAXDIM], idx[RK_MAXDIM] = {0};
    if (ndim > RK_MAXDIM || ndim < 1) return -1;
    for (int i = 0; i < ndim; i++)
        if (size[i] == 0) return 0;
    for (int r = 0; r < nroll; r++) {
        int d = dims[r];
        if (d < 0) d += ndim;
        if (d < 0 || d >= ndim) return -1;
        sh[d] = ((sh[d] + shifts[r]) % size[d] + size[d]) % size[d];
    }
    rk_contig_strides(ndim, size, xs);
    int64_t L = size[ndim - 1], s = sh[ndim - 1];
    char *yb = y;
    const char *xb = x;
    for (;;) {
        int64_t xo = 0;
        for (int i = 0; i < ndim - 1; i++) {
            int64_t j = idx[i] - sh[i];
            xo += (j < 0 ? j + size[i] : j) * xs[i];
        }
        memcpy(yb, xb + (xo + L - s) * es, (size_t)(s * es));
        memcpy(yb + s * es, xb + xo * es, (size_t)((L - s) * es));
        yb += L * es;
        int d = ndim - 2;
        while (d >= 0 && ++idx[d] == size[d]) idx[d--] = 0;
        if (d < 0) return 0;
    }
}


/* Source index of output position i along a padded dim, or -1 for the
 * constant value: lp = max(left, 0) positions precede the kept region of
 * n input elements. */
static int64_t rk_pad_src(int64_t i, int64_t lp, int64_t n, rk_pad_mode mode)
{
    int64_t s = i - lp;
    if (s >= 0 && s < n) return s;
    switch (mode) {
    case RK_PAD_CONSTANT: return -1;
    case RK_PAD_REFLECT: return s < 0 ? -s : 2 * (n - 1) - s;
    case RK_PAD_REPLICATE: return s < 0 ? 0 : n - 1;
    case RK_PAD_CIRCULAR: return s < 0 ? s + n : s - n;
    }
    return -1;
}

/* F.pad(x, pad, mode, value) as torch 1.13 computes it: pad holds npad
 * values (left, right) for the last dim, then the one before, ...
 * Negative values crop; the crop happens first and the padding then
 * reads the cropped tensor (which is what torch's circular mode does;
 * the other modes agree either way).  y's dims: size + left + right.
 * -1 when npad is odd or too long, a dim would become negative, reflect
 * pads >= the (cropped) size, circular pads > it, or a non-constant mode
 * has nothing to read.  Cost: one write per output element. */
static int rk_pad(float *y, const float *x, int ndim, const int64_t *xsize, int npad, const int64_t *pad,
                  rk_pad_mode mode, float value)
{
    int64_t lp[RK_MAXDIM], keep[RK_MAXDIM], x0[RK_MAXDIM], ysz[RK_MAXDIM], xs[RK_MAXDIM];
    int64_t idx[RK_MAXDIM] = {0};
    if (npad % 2 || npad / 2 > ndim || ndim > RK_MAXDIM || ndim < 1) return -1;
    for (int d = 0; d < ndim; d++) {
        int k = ndim - 1 - d;
        int64_t l = k < npad / 2 ? pad[2 * k] : 0, r = k < npad / 2 ? pad[2 * k + 1] : 0;
        int64_t cl = l < 0 ? -l : 0, cr = r < 0 ? -r : 0;
        keep[d] = xsize[d] - cl - cr;
        x0[d] = cl;
        lp[d] = l > 0 ? l : 0;
        int64_t rp = r > 0 ? r : 0;
        ysz[d] = xsize[d] + l + r;
        if (ysz[d] < 0 || keep[d] < 0) return -1;
        if (mode != RK_PAD_CONSTANT && (lp[d] || rp)) {
            if (keep[d] < 1) return -1;
            if (mode == RK_PAD_REFLECT && (lp[d] >= keep[d] || rp >= keep[d])) return -1;
            if (mode == RK_PAD_CIRCULAR && (lp[d] > keep[d] || rp > keep[d])) return -1;
        }
    }
    for (int d = 0; d < ndim; d++)
        if (ysz[d] == 0) return 0;
    rk_contig_strides(ndim, xsize, xs);
    int last = ndim - 1;
    int64_t L = ysz[last];
    for (;;) {
        int64_t xo = 0;
        int fill = 0;
        for (int d = 0; d < last; d++) {
            int64_t s = rk_pad_src(idx[d], lp[d], keep[d], mode);
            if (s < 0) fill = 1;
            else xo += (x0[d] + s) * xs[d];
        }
        if (fill) {
            for (int64_t i = 0; i < L; i++) y[i] = value;
        } else {
            const float *xr = x + xo + x0[last];
            int64_t a = lp[last], b = lp[last] + keep[last];
            if (b > L) b = L;
            for (int64_t i = 0; i < a && i < L; i++) {
                int64_t s = rk_pad_src(i, lp[last], keep[last], mode);
                y[i] = s < 0 ? value : xr[s];
            }
            if (b > a) memcpy(y + a, xr, (size_t)(b - a) * sizeof *y);
            for (int64_t i = b > a ? b : a; i < L; i++) {
                int64_t s = rk_pad_src(i, lp[last], keep[last], mode);
                y[i] = s < 0 ? value : xr[s];
            }
        }
        y += L;
        int d = last - 1;
        while (d >= 0 && ++idx[d] == ysz[d]) idx[d--] = 0;
        if (d < 0) return 0;
    }
}

/* torch.flip(x, dims): ndims dims reversed (negative dims count from the end). */
static int rk_flip(void *y, const void *x, int64_t es, int ndim, const int64_t *size, int ndims, const int *dims)
{
    int64_t st[RK_MAXDIM], off = 0;
    if (ndim > RK_MAXDIM) return -1;
    rk_contig_strides(ndim, size, st);
    unsigned done = 0;
    for (int i = 0; i < ndims; i++) {
        int d = dims[i] < 0 ? dims[i] + ndim : dims[i];
        if (d < 0 || d >= ndim || (done >> d & 1u)) return -1;
        done |= 1u << d;
        if (size[d] == 0) return 0;
        off += (size[d] - 1) * st[d];
        st[d] = -st[d];
    }
    rk_copy_strided(y, (const char *)x + off * es, es, ndim, size, st);
    return 0;
}

/* x.repeat(reps): nreps >= ndim (x gets leading 1s); y's dims are
 * reps[i] * size[i].  A copy through a view of 2*nreps dims whose repeat
 * dims have stride 0. */
static int rk_repeat(void *y, const void *x, int64_t es, int ndim, const int64_t *xsize, int nreps,
                     const int64_t *reps)
{
    int64_t sz[RK_MAXDIM], st[RK_MAXDIM], xs[RK_MAXDIM / 2], full[RK_MAXDIM / 2];
    if (nreps < ndim || nreps > RK_MAXDIM / 2) return -1;
    for (int i = 0; i < nreps; i++) {
        full[i] = i < nreps - ndim ? 1 : xsize[i - (nreps - ndim)];
        if (reps[i] < 0) return -1;
    }
    rk_contig_strides(nreps, full, xs);
    for (int i = 0; i < nreps; i++) {
        sz[2 * i] = reps[i];
        st[2 * i] = 0;
        sz[2 * i + 1] = full[i];
        st[2 * i + 1] = xs[i];
    }
    rk_copy_strided(y, x, es, 2 * nreps, sz, st);
    return 0;
}

/* x.repeat_interleave(r, dim) with a scalar r >= 0: each slice along dim
 * repeated r times in place (torch without dim: flatten, ndim 1). */
static int rk_repeat_interleave(void *y, const void *x, int64_t es, int ndim, const int64_t *xsize, int dim,
                                int64_t r)
{
    int64_t outer, inner;
    if (dim < 0 || dim >= ndim || r < 0) return -1;
    rk_outer_inner(ndim, xsize, dim, &outer, &inner);
    int64_t sz[4] = {outer, xsize[dim], r, inner};
    int64_t st[4] = {xsize[dim] * inner, inner, 0, 1};
    rk_copy_strided(y, x, es, 4, sz, st);
    return 0;
}

/* x.repeat_interleave(counts, dim) with counts (xsize[dim] int64 values):
 * y's dim has ylen rows.  -1 on a negative count or when the counts do
 * not sum to ylen (data the caller could not check at compile time). */
static int rk_repeat_interleave_counts(void *y, const void *x, int64_t es, int ndim, const int64_t *xsize,
                                       int dim, const int64_t *counts, int64_t ylen)
{
    int64_t outer, inner, tot = 0;
    if (dim < 0 || dim >= ndim) return -1;
    for (int64_t i = 0; i < xsize[dim]; i++) {
        if (counts[i] < 0 || counts[i] > ylen - tot) return -1;
        tot += counts[i];
    }
    if (tot != ylen) return -1;
    rk_outer_inner(ndim, xsize, dim, &outer, &inner);
    size_t row = (size_t)(inner * es);
    char *yb = y;
    for (int64_t o = 0; o < outer; o++)
        for (int64_t i = 0; i < xsize[dim]; i++) {
            const char *src = (const char *)x + (size_t)(o * xsize[dim] + i) * row;
            for (int64_t k = 0; k < counts[i]; k++, yb += row) memcpy(yb, src, row);
        }
    return 0;
}

/* tril / triu over the last two dims (R rows, C cols) of batch matrices:
 * keeps x[i][j] where j - i <= diag (tril) or j - i >= diag (triu), zero
 * (all-bits-zero, so also for int64 and bool) elsewhere.  y may be x. */
static void rk_trilu(void *y, const void *x, int64_t es, int64_t batch, int64_t R, int64_t C, int64_t diag,
                     int upper)
{
    char *yb = y;
    const char *xb = x;
    for (int64_t b = 0; b < batch; b++)
        for (int64_t i = 0; i < R; i++, yb += C * es, xb += C * es) {
            int64_t k = i + diag;        /* tril keeps j <= k, triu keeps j >= k */
            int64_t a = upper ? (k < 0 ? 0 : k > C ? C : k) : 0;
            int64_t e = upper ? C : (k + 1 < 0 ? 0 : k + 1 > C ? C : k + 1);
            if (a > 0) memset(yb, 0, (size_t)(a * es));
            if (e > a && yb != xb) memcpy(yb + a * es, xb + a * es, (size_t)((e - a) * es));
            if (e < C) memset(yb + e * es, 0, (size_t)((C - e) * es));
        }
}

static void rk_tril(void *y, const void *x, int64_t es, int64_t batch, int64_t R, int64_t C, int64_t diag)
{
    rk_trilu(y, x, es, batch, R, C, diag, 0);
}

static void rk_triu(void *y, const void *x, int64_t es, int64_t batch, int64_t R, int64_t C, int64_t diag)
{
    rk_trilu(y, x, es, batch, R, C, diag, 1);
}

/* The length of torch.arange(start, end, step): ceil((end - start) / step)
 * computed in double as torch does; -1 on a zero step or a sign mismatch. */
static int64_t rk_arange_len(double start, double end, double step)
{
    if (step == 0 || (step > 0 && end < start) || (step < 0 && end > start)) return -1;
    return (int64_t)ceil((end - start) / step);
}

/* arange as float32: y[i] = start + i * step in double, rounded once. */
static void rk_arange_f32(float *y, int64_t n, double start, double step)
{
    for (int64_t i = 0; i < n; i++) y[i] = (float)(start + step * (double)i);
}

/* arange as int64 (integer start and step). */
static void rk_arange_i64(int64_t *y, int64_t n, int64_t start, int64_t step)
{
    for (int64_t i = 0; i < n; i++) y[i] = start + step * i;
}

/* torch.where(cond, a, b) with broadcasting of the three to y's shape
 * (ny dims); a 0-dim operand (n 0) is a scalar.  -1 when a shape does
 * not broadcast to y.  Cost: one pass over y, by rows of the last dim. */
static int rk_where(float *y, int ny, const int64_t *ysize, const uint8_t *c, int nc, const int64_t *csize,
                    const float *a, int na, const int64_t *asize, const float *b, int nb, const int64_t *bsize)
{
    int64_t sz[RK_MAXDIM], sc[RK_MAXDIM], sa[RK_MAXDIM], sb[RK_MAXDIM], idx[RK_MAXDIM] = {0};
    if (ny > RK_MAXDIM || rk_broadcast_strides(ny, ysize, nc, csize, sc) < 0 ||
        rk_broadcast_strides(ny, ysize, na, asize, sa) < 0 || rk_broadcast_strides(ny, ysize, nb, bsize, sb) < 0)
        return -1;
    for (int i = 0; i < ny; i++) {
        if (ysize[i] == 0) return 0;
        sz[i] = ysize[i];
    }
    int64_t *st[3] = {sc, sa, sb};
    int n = rk_coalesce(ny, sz, 3, st);
    int64_t L = n ? sz[n - 1] : 1;
    int64_t ic = n ? sc[n - 1] : 0, ia = n ? sa[n - 1] : 0, ib = n ? sb[n - 1] : 0;
    for (;;) {
        int64_t oc = 0, oa = 0, ob = 0;
        for (int i = 0; i < n - 1; i++) {
            oc += idx[i] * sc[i];
            oa += idx[i] * sa[i];
            ob += idx[i] * sb[i];
        }
        const uint8_t *cr = c + oc;
        const float *ar = a + oa, *br = b + ob;
        if (ic == 1 && ia == 1 && ib == 1)
            for (int64_t i = 0; i < L; i++) y[i] = cr[i] ? ar[i] : br[i];
        else
            for (int64_t i = 0; i < L; i++) y[i] = cr[i * ic] ? ar[i * ia] : br[i * ib];
        y += L;
        int d = n - 2;
        while (d >= 0 && ++idx[d] == sz[d]) idx[d--] = 0;
        if (d < 0) return 0;
    }
}

/* x.masked_fill(mask, value): mask (nm dims) broadcasts to x's shape.
 * y may be x (masked_fill_). */
static int rk_masked_fill(float *y, const float *x, int ndim, const int64_t *size, const uint8_t *mask, int nm,
                          const int64_t *msize, float value)
{
    int64_t sz[RK_MAXDIM], sm[RK_MAXDIM], sx[RK_MAXDIM], idx[RK_MAXDIM] = {0};
    if (ndim > RK_MAXDIM || rk_broadcast_strides(ndim, size, nm, msize, sm) < 0) return -1;
    for (int i = 0; i < ndim; i++) {
        if (size[i] == 0) return 0;
        sz[i] = size[i];
    }
    rk_contig_strides(ndim, sz, sx);
    int64_t *st[2] = {sm, sx};
    int n = rk_coalesce(ndim, sz, 2, st);
    int64_t L = n ? sz[n - 1] : 1, im = n ? sm[n - 1] : 0;
    for (;;) {
        int64_t om = 0, ox = 0;
        for (int i = 0; i < n - 1; i++) {
            om += idx[i] * sm[i];
            ox += idx[i] * sx[i];
        }
        const uint8_t *mr = mask + om;
        if (im == 0) {
            if (mr[0]) for (int64_t i = 0; i < L; i++) y[ox + i] = value;
            else if (y != x) memcpy(y + ox, x + ox, (size_t)L * sizeof *y);
        } else {
            for (int64_t i = 0; i < L; i++) y[ox + i] = mr[i] ? value : x[ox + i];
        }
        int d = n - 2;
        while (d >= 0 && ++idx[d] == sz[d]) idx[d--] = 0;
        if (d < 0) return 0;
    }
}

/* torch.gather(x, dim, index): index (int64, isize, same rank as x, each
 * isize[d] <= xsize[d] for d != dim) gives y of shape isize with
 * y[..i..] = x[..index[..i..]..] along dim.  -1 on an index outside
 * [0, xsize[dim]) (torch refuses negative ones too) or a bad shape; y is
 * then partly written. */
static int rk_gather(void *y, const void *x, int64_t es, int ndim, const int64_t *xsize, int dim,
                     const int64_t *index, const int64_t *isize)
{
    int64_t xs[RK_MAXDIM], idx[RK_MAXDIM] = {0};
    if (ndim < 1 || ndim > RK_MAXDIM || dim < 0 || dim >= ndim) return -1;
    for (int d = 0; d < ndim; d++) {
        if (isize[d] == 0) return 0;
        if (d != dim && isize[d] > xsize[d]) return -1;
    }
    rk_contig_strides(ndim, xsize, xs);
    int last = ndim - 1;
    int64_t L = isize[last], lim = xsize[dim];
    char *yb = y;
    const char *xb = x;
    for (;;) {
        int64_t xo = 0;
        for (int d = 0; d < last; d++)
            if (d != dim) xo += idx[d] * xs[d];
        if (dim == last) {
            for (int64_t i = 0; i < L; i++) {
                int64_t j = index[i];
                if (j < 0 || j >= lim) return -1;
                memcpy(yb + i * es, xb + (xo + j) * es, (size_t)es);
            }
        } else {
            for (int64_t i = 0; i < L; i++) {
                int64_t j = index[i];
                if (j < 0 || j >= lim) return -1;
                memcpy(yb + i * es, xb + (xo + j * xs[dim] + i) * es, (size_t)es);
            }
        }
        yb += L * es;
        index += L;
        int d = last - 1;
        while (d >= 0 && ++idx[d] == isize[d]) idx[d--] = 0;
        if (d < 0) return 0;
    }
}

/* torch.index_select(x, dim, index): n int64 indices; y has xsize with
 * dim replaced by n.  -1 on an index outside [0, xsize[dim]).  Cost: a
 * memcpy of the inner block per (outer, index). */
static int rk_index_select(void *y, const void *x, int64_t es, int ndim, const int64_t *xsize, int dim,
                           const int64_t *index, int64_t n)
{
    int64_t outer, inner;
    if (dim < 0 || dim >= ndim) return -1;
    for (int64_t i = 0; i < n; i++)
        if (index[i] < 0 || index[i] >= xsize[dim]) return -1;
    rk_outer_inner(ndim, xsize, dim, &outer, &inner);
    size_t row = (size_t)(inner * es);
    char *yb = y;
    for (int64_t o = 0; o < outer; o++)
        for (int64_t i = 0; i < n; i++, yb += row)
            memcpy(yb, (const char *)x + (size_t)(o * xsize[dim] + index[i]) * row, row);
    return 0;
}

/* torch.cumsum(x, dim): along a dim of L with `inner` elements after it.
 * A dim that is last accumulates in double (as torch does); otherwise
 * rows are added in float, vectorised across the inner elements. */
static void rk_cumsum(float *y, const float *x, int ndim, const int64_t *size, int dim)
{
    int64_t outer, inner, L = size[dim];
    rk_outer_inner(ndim, size, dim, &outer, &inner);
    for (int64_t o = 0; o < outer; o++) {
        const float *xo = x + o * L * inner;
        float *yo = y + o * L * inner;
        if (inner == 1) {
            double acc = 0;
            for (int64_t i = 0; i < L; i++) {
                acc += xo[i];
                yo[i] = (float)acc;
            }
            continue;
        }
        if (L > 0) memcpy(yo, xo, (size_t)inner * sizeof *y);
        for (int64_t i = 1; i < L; i++) {
            const float *prev = yo + (i - 1) * inner, *xr = xo + i * inner;
            float *yr = yo + i * inner;
            for (int64_t j = 0; j < inner; j++) yr[j] = prev[j] + xr[j];
        }
    }
}
