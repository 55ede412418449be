/* test_matmul.c — src/gen/kernels/rk_matmul.c against torch (tests/gen_kernels_matmul.py).
 *
 * Usage: test_matmul [FIXTURE_DIR]  (default $FIXTURES/kernels/matmul).
 * Results within 1e-4; output shapes (rk_matmul_nd_shape, rk_einsum_shape)
 * must be torch's; einsum gets exactly rk_einsum_scratch floats of
 * scratch (under ASan, using more is caught), and the forms it does not
 * support must be refused.
 */
#include "kcase.h"
#pragma GCC diagnostic ignored "-Wunused-function"
#include "rk_layout.c"
#pragma GCC diagnostic warning "-Wunused-function"
#include "rk_matmul.c"

static int same_shape(kt_case *c, int n, const int64_t *s)
{
    kt_tensor *w = kt_t(c, "out");
    if (n != w->ndim || memcmp(s, w->size, sizeof *s * (size_t)n)) {
        kt_fail(c, "computed shape differs from torch's");
        return 0;
    }
    return 1;
}

static void run(kt_case *c)
{
    const char *op = c->op;
    int64_t s[RK_MAXDIM];

    if (!strcmp(op, "matmul")) {
        kt_tensor *a = kt_t(c, "a"), *b = kt_t(c, "b");
        if (!same_shape(c, rk_matmul_nd_shape(a->ndim, a->size, b->ndim, b->size, s), s)) return;
        float *y = kt_out(c, "out");
        if (rk_matmul_nd(y, a->data, a->ndim, a->size, b->data, b->ndim, b->size)) kt_fail(c, "refused");
        else kt_check_f32(c, y, "out");
        free(y);
    } else if (!strcmp(op, "bmm")) {
        kt_tensor *a = kt_t(c, "a"), *w = kt_t(c, "out");
        int ta = (int)kt_i(c, "ta");
        int64_t batch = w->size[0], M = w->size[1], N = w->size[2], K = ta ? a->size[1] : a->size[2];
        float *y = kt_out(c, "out");
        rk_bmm_scaled(y, a->data, kt_t(c, "b")->data, batch, M, N, K, ta, (int)kt_i(c, "tb"), 1.0f, 0.0f);
        kt_check_f32(c, y, "out");
        free(y);
    } else if (!strcmp(op, "baddbmm")) {
        kt_tensor *a = kt_t(c, "a"), *cc = kt_t(c, "c"), *w = kt_t(c, "out");
        float *y = kt_out(c, "out");
        rk_baddbmm(y, cc->data, cc->ndim == 3, a->data, kt_t(c, "b")->data, w->size[0], w->size[1], w->size[2],
                   a->size[2], (float)kt_f(c, "beta"), (float)kt_f(c, "alpha"));
        kt_check_f32(c, y, "out");
        free(y);
    } else if (!strcmp(op, "einsum") || !strcmp(op, "einsum_bad")) {
        kt_tensor *a = kt_t(c, "a"), *b = kt_t(c, "b");
        const char *eq = kt_p(c, "eq")->word;
        int64_t need = rk_einsum_scratch(eq, a->ndim, a->size, b->ndim, b->size);
        if (!strcmp(op, "einsum_bad")) {
            float y[64];
            int rc = rk_einsum(y, eq, a->data, a->ndim, a->size, b->data, b->ndim, b->size, NULL, 0);
            int sh = rk_einsum_shape(eq, a->ndim, a->size, b->ndim, b->size, s);
            kt_result(c, rc == -1 && need == -1 && sh == -1, "refused: %g", (double)(rc == -1));
            return;
        }
        if (need < 0) {
            kt_fail(c, "rk_einsum_scratch refused a supported form");
            return;
        }
        if (!same_shape(c, rk_einsum_shape(eq, a->ndim, a->size, b->ndim, b->size, s), s)) return;
        float *scratch = need ? kt_xmalloc(sizeof(float) * (size_t)need) : NULL;
        float *y = kt_out(c, "out");
        if (rk_einsum(y, eq, a->data, a->ndim, a->size, b->data, b->ndim, b->size, scratch, need))
            kt_fail(c, "refused");
        else kt_check_f32(c, y, "out");
        printf("    (scratch %lld floats)\n", (long long)need);
        free(scratch);
        free(y);
    } else {
        kt_fail(c, "unknown op");
    }
}

int main(int argc, char **argv)
{
    kt_case *cs;
    int n = kt_load(kt_dir(argc, argv, "matmul"), &cs);
    for (int i = 0; i < n; i++) run(&cs[i]);
    kt_free(cs, n);
    return kt_finish();
}
