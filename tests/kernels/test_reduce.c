/* test_reduce.c — src/gen/kernels/rk_reduce.c against torch (tests/gen_kernels_reduce.py).
 *
 * Usage: test_reduce [FIXTURE_DIR]  (default $FIXTURES/kernels/reduce).
 * Values within 1e-4 (NaN where torch has NaN); argmax/argmin indices
 * bit-exact; the output shape from rk_reduce_shape must be torch's.
 */
#include "kcase.h"
#pragma GCC diagnostic ignored "-Wunused-function"
#include "rk_layout.c"
#pragma GCC diagnostic warning "-Wunused-function"
#include "rk_reduce.c"

static int redop_of(const char *s)
{
    static const char *names[] = {"sum", "mean", "prod", "amax", "amin", "norm2"};
    for (int i = 0; i < 6; i++)
        if (!strcmp(s, names[i])) return i;
    return -1;
}

static int dims_of(kt_case *c, int *dims)
{
    int64_t v[KT_MAXV];
    int n = kt_iv(c, "dims", v, KT_MAXV);
    for (int i = 0; i < n; i++) dims[i] = (int)v[i];
    return n;
}

static int shape_ok(kt_case *c, kt_tensor *x, int nd, const int *dims, int keep, const char *out)
{
    int64_t s[RK_MAXDIM];
    kt_tensor *w = kt_t(c, out);
    int n = rk_reduce_shape(x->ndim, x->size, nd, dims, keep, s);
    if (n != w->ndim || memcmp(s, w->size, sizeof *s * (size_t)n)) {
        kt_fail(c, "rk_reduce_shape differs from torch's shape");
        return 0;
    }
    return 1;
}

static void run(kt_case *c)
{
    const char *op = c->op;
    int dims[KT_MAXV];

    if (!strcmp(op, "reduce")) {
        kt_tensor *x = kt_t(c, "x");
        int nd = dims_of(c, dims);
        if (!shape_ok(c, x, nd, dims, (int)kt_i(c, "keepdim"), "out")) return;
        float *y = kt_out(c, "out");
        if (rk_reduce((rk_redop)redop_of(kt_p(c, "op")->word), y, x->data, x->ndim, x->size, nd, dims))
            kt_fail(c, "refused");
        else kt_check_f32(c, y, "out");
        free(y);
    } else if (!strcmp(op, "var")) {
        kt_tensor *x = kt_t(c, "x"), *w = kt_t(c, "out");
        int nd = dims_of(c, dims);
        if (!shape_ok(c, x, nd, dims, 0, "out")) return;
        float *y = kt_out(c, "out");
        float *scratch = kt_xmalloc(w->nbytes);
        if (rk_var(y, x->data, x->ndim, x->size, nd, dims, kt_i(c, "correction"), (int)kt_i(c, "sqrt"), scratch))
            kt_fail(c, "refused");
        else kt_check_f32(c, y, "out");
        free(scratch);
        free(y);
    } else if (!strcmp(op, "argmax")) {
        kt_tensor *x = kt_t(c, "x");
        int dim = (int)kt_i(c, "dim");
        if (!shape_ok(c, x, 1, &dim, 0, "indices")) return;
        float *v = kt_out(c, "values");
        int64_t *ix = kt_out(c, "indices");
        if (rk_argmax(ix, v, x->data, x->ndim, x->size, dim, (int)kt_i(c, "is_min"))) {
            kt_fail(c, "refused");
        } else {
            kt_check_exact(c, ix, "indices");
            kt_check_f32(c, v, "values");
        }
        /* without values (torch.argmax) the indices are the same */
        int64_t *iy = kt_out(c, "indices");
        rk_argmax(iy, NULL, x->data, x->ndim, x->size, dim, (int)kt_i(c, "is_min"));
        if (memcmp(ix, iy, kt_t(c, "indices")->nbytes)) kt_fail(c, "indices differ without values");
        free(iy);
        free(ix);
        free(v);
    } else if (!strcmp(op, "argmax_flat")) {
        kt_tensor *x = kt_t(c, "x");
        int64_t flat = x->numel, *ix = kt_out(c, "indices");
        if (rk_argmax(ix, NULL, x->data, 1, &flat, 0, (int)kt_i(c, "is_min"))) kt_fail(c, "refused");
        else kt_check_exact(c, ix, "indices");
        free(ix);
    } else if (!strcmp(op, "normalize")) {
        kt_tensor *x = kt_t(c, "x");
        float *y = kt_out(c, "out");
        if (rk_normalize(y, x->data, x->ndim, x->size, (int)kt_i(c, "dim"), (float)kt_f(c, "eps")))
            kt_fail(c, "refused");
        else kt_check_f32(c, y, "out");
        free(y);
    } else {
        kt_fail(c, "unknown op");
    }
}

int main(int argc, char **argv)
{
    kt_case *cs;
    int n = kt_load(kt_dir(argc, argv, "reduce"), &cs);
    for (int i = 0; i < n; i++) run(&cs[i]);
    kt_free(cs, n);
    return kt_finish();
}
