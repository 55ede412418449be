/* test_layout.c — src/gen/kernels/rk_layout.c against torch (tests/gen_kernels_layout.py).
 *
 * Usage: test_layout [FIXTURE_DIR]  (default $FIXTURES/kernels/layout).
 * Copies must be bit-exact; arange and cumsum (arithmetic) within 1e-4.
 * The *_bad cases hold indices or pads torch refuses: the kernel must
 * return -1 (and, under ASan, read nothing out of bounds doing so).
 */
#include "kcase.h"
#include "rk_layout.c"

static size_t es_of(const kt_tensor *t) { return kt_elsize(t->dtype); }

static void run(kt_case *c)
{
    const char *op = c->op;
    int64_t v[KT_MAXV];
    int dims[KT_MAXV];

    if (!strcmp(op, "permute")) {
        kt_tensor *x = kt_t(c, "x");
        int n = kt_iv(c, "perm", v, KT_MAXV);
        for (int i = 0; i < n; i++) dims[i] = (int)v[i];
        void *y = kt_out(c, "out");
        int rc = n == 2 ? rk_transpose(y, x->data, (int64_t)es_of(x), x->ndim, x->size, dims[0], dims[1])
                        : rk_permute(y, x->data, (int64_t)es_of(x), x->ndim, x->size, dims);
        if (rc) kt_fail(c, "refused");
        else kt_check_exact(c, y, "out");
        free(y);
    } else if (!strcmp(op, "expand")) {
        kt_tensor *x = kt_t(c, "x");
        int n = kt_iv(c, "shape", v, KT_MAXV);
        void *y = kt_out(c, "out");
        if (rk_expand(y, x->data, 4, x->ndim, x->size, n, v)) kt_fail(c, "refused");
        else kt_check_exact(c, y, "out");
        free(y);
    } else if (!strcmp(op, "slice")) {
        kt_tensor *x = kt_t(c, "x");
        int64_t s[KT_MAXV], e[KT_MAXV], st[KT_MAXV];
        kt_iv(c, "start", s, KT_MAXV);
        kt_iv(c, "end", e, KT_MAXV);
        kt_iv(c, "step", st, KT_MAXV);
        kt_tensor *w = kt_t(c, "out");
        for (int i = 0; i < x->ndim; i++) {      /* rk_slice_len must give torch's shape */
            int64_t s0 = s[i];
            if (rk_slice_len(x->size[i], &s0, e[i], st[i]) != w->size[i]) {
                kt_fail(c, "rk_slice_len differs from torch's shape");
                return;
            }
        }
        void *y = kt_out(c, "out");
        if (rk_slice(y, x->data, 4, x->ndim, x->size, s, e, st)) kt_fail(c, "refused");
        else kt_check_exact(c, y, "out");
        free(y);
    } else if (!strcmp(op, "cat")) {
        const void *xs[8];
        int64_t lens[8];
        int n = 0, dim = (int)kt_i(c, "dim");
        kt_tensor *w = kt_t(c, "out");
        char nm[8];
        for (; n < 8; n++) {
            snprintf(nm, sizeof nm, "x%d", n);
            if (!kt_has_t(c, nm)) break;
            kt_tensor *x = kt_t(c, nm);
            xs[n] = x->data;
            lens[n] = x->size[dim];
        }
        void *y = kt_out(c, "out");
        if (rk_cat(y, xs, n, (int64_t)es_of(w), w->ndim, w->size, dim, lens)) kt_fail(c, "refused");
        else kt_check_exact(c, y, "out");
        free(y);
    } else if (!strcmp(op, "chunk") || !strcmp(op, "split")) {
        kt_tensor *x = kt_t(c, "x");
        int dim = (int)kt_i(c, "dim");
        int64_t lens[KT_MAXV], want[KT_MAXV];
        int nw = kt_iv(c, "lens", want, KT_MAXV);
        int n = !strcmp(op, "chunk") ? rk_chunk_lens(x->size[dim], (int)kt_i(c, "chunks"), lens)
                                     : rk_split_lens(x->size[dim], kt_i(c, "size"), lens, KT_MAXV);
        if (n != nw || memcmp(lens, want, sizeof *lens * (size_t)n)) {
            kt_fail(c, "piece lengths differ from torch's");
            return;
        }
        void *ys[KT_MAXV];
        char nm[16];
        for (int i = 0; i < n; i++) {
            snprintf(nm, sizeof nm, "out%d", i);
            ys[i] = kt_out(c, nm);
        }
        if (rk_split(ys, n, x->data, 4, x->ndim, x->size, dim, lens)) {
            kt_fail(c, "refused");
        } else {
            int64_t bad = 0;
            for (int i = 0; i < n; i++) {
                snprintf(nm, sizeof nm, "out%d", i);
                kt_tensor *w = kt_t(c, nm);
                bad += memcmp(ys[i], w->data, w->nbytes) != 0;
            }
            kt_result(c, bad == 0, "exact, %g pieces differ", (double)bad);
        }
        for (int i = 0; i < n; i++) free(ys[i]);
    } else if (!strcmp(op, "roll") || !strcmp(op, "roll_flat")) {
        kt_tensor *x = kt_t(c, "x");
        int64_t sh[KT_MAXV];
        int n = kt_iv(c, "shifts", sh, KT_MAXV);
        void *y = kt_out(c, "out");
        int rc;
        if (!strcmp(op, "roll")) {
            kt_iv(c, "dims", v, KT_MAXV);
            for (int i = 0; i < n; i++) dims[i] = (int)v[i];
            rc = rk_roll(y, x->data, 4, x->ndim, x->size, n, sh, dims);
        } else {
            int64_t flat = x->numel;
            dims[0] = 0;
            rc = rk_roll(y, x->data, 4, 1, &flat, 1, sh, dims);
        }
        if (rc) kt_fail(c, "refused");
        else kt_check_exact(c, y, "out");
        free(y);
    } else if (!strcmp(op, "pad") || !strcmp(op, "pad_bad")) {
        kt_tensor *x = kt_t(c, "x");
        int n = kt_iv(c, "pad", v, KT_MAXV);
        const char *m = kt_p(c, "mode")->word;
        rk_pad_mode mode = !strcmp(m, "reflect") ? RK_PAD_REFLECT : !strcmp(m, "replicate") ? RK_PAD_REPLICATE
                         : !strcmp(m, "circular") ? RK_PAD_CIRCULAR : RK_PAD_CONSTANT;
        if (!strcmp(op, "pad_bad")) {
            float y[256];
            int rc = rk_pad(y, x->data, x->ndim, x->size, n, v, mode, 0.0f);
            kt_result(c, rc == -1, "refused: %g", (double)(rc == -1));
            return;
        }
        float *y = kt_out(c, "out");
        if (rk_pad(y, x->data, x->ndim, x->size, n, v, mode, (float)kt_f(c, "value"))) kt_fail(c, "refused");
        else kt_check_exact(c, y, "out");
        free(y);
    } else if (!strcmp(op, "flip")) {
        kt_tensor *x = kt_t(c, "x");
        int n = kt_iv(c, "dims", v, KT_MAXV);
        for (int i = 0; i < n; i++) dims[i] = (int)v[i];
        void *y = kt_out(c, "out");
        if (rk_flip(y, x->data, 4, x->ndim, x->size, n, dims)) kt_fail(c, "refused");
        else kt_check_exact(c, y, "out");
        free(y);
    } else if (!strcmp(op, "repeat")) {
        kt_tensor *x = kt_t(c, "x");
        int n = kt_iv(c, "reps", v, KT_MAXV);
        void *y = kt_out(c, "out");
        if (rk_repeat(y, x->data, 4, x->ndim, x->size, n, v)) kt_fail(c, "refused");
        else kt_check_exact(c, y, "out");
        free(y);
    } else if (!strcmp(op, "repeat_interleave")) {
        kt_tensor *x = kt_t(c, "x");
        int dim = (int)kt_i(c, "dim");
        void *y = kt_out(c, "out");
        int rc;
        if (dim < -8) {                 /* no dim: torch flattens */
            int64_t flat = x->numel;
            rc = rk_repeat_interleave(y, x->data, 4, 1, &flat, 0, kt_i(c, "r"));
        } else {
            rc = rk_repeat_interleave(y, x->data, 4, x->ndim, x->size, dim, kt_i(c, "r"));
        }
        if (rc) kt_fail(c, "refused");
        else kt_check_exact(c, y, "out");
        free(y);
    } else if (!strcmp(op, "repeat_interleave_counts")) {
        kt_tensor *x = kt_t(c, "x"), *w = kt_t(c, "out");
        int dim = (int)kt_i(c, "dim");
        void *y = kt_out(c, "out");
        if (rk_repeat_interleave_counts(y, x->data, 4, x->ndim, x->size, dim, kt_t(c, "counts")->data,
                                        w->size[dim]))
            kt_fail(c, "refused");
        else kt_check_exact(c, y, "out");
        free(y);
    } else if (!strcmp(op, "repeat_interleave_counts_bad")) {
        kt_tensor *x = kt_t(c, "x");
        int dim = (int)kt_i(c, "dim");
        int64_t ylen = kt_i(c, "ylen");
        float *y = kt_xmalloc(sizeof *y * (size_t)(x->numel / x->size[dim] * ylen));
        int rc = rk_repeat_interleave_counts(y, x->data, 4, x->ndim, x->size, dim, kt_t(c, "counts")->data, ylen);
        kt_result(c, rc == -1, "refused: %g", (double)(rc == -1));
        free(y);
    } else if (!strcmp(op, "tril") || !strcmp(op, "triu")) {
        kt_tensor *x = kt_t(c, "x");
        int64_t R = x->size[x->ndim - 2], C = x->size[x->ndim - 1];
        int64_t batch = R * C > 0 ? x->numel / (R * C) : 0;
        void *y = kt_out(c, "out");
        if (!strcmp(op, "tril")) rk_tril(y, x->data, (int64_t)es_of(x), batch, R, C, kt_i(c, "diag"));
        else rk_triu(y, x->data, (int64_t)es_of(x), batch, R, C, kt_i(c, "diag"));
        kt_check_exact(c, y, "out");
        free(y);
    } else if (!strcmp(op, "arange_f32")) {
        kt_tensor *w = kt_t(c, "out");
        int64_t n = rk_arange_len(kt_f(c, "start"), kt_f(c, "end"), kt_f(c, "step"));
        if (n != w->numel) {
            kt_fail(c, "rk_arange_len differs from torch's length");
            return;
        }
        float *y = kt_out(c, "out");
        rk_arange_f32(y, n, kt_f(c, "start"), kt_f(c, "step"));
        kt_check_f32(c, y, "out");
        free(y);
    } else if (!strcmp(op, "arange_i64")) {
        kt_tensor *w = kt_t(c, "out");
        int64_t n = rk_arange_len((double)kt_i(c, "start"), (double)kt_i(c, "end"), (double)kt_i(c, "step"));
        if (n != w->numel) {
            kt_fail(c, "rk_arange_len differs from torch's length");
            return;
        }
        int64_t *y = kt_out(c, "out");
        rk_arange_i64(y, n, kt_i(c, "start"), kt_i(c, "step"));
        kt_check_exact(c, y, "out");
        free(y);
    } else if (!strcmp(op, "where")) {
        kt_tensor *cd = kt_t(c, "cond"), *a = kt_t(c, "a"), *b = kt_t(c, "b"), *w = kt_t(c, "out");
        int64_t s1[RK_MAXDIM], s2[RK_MAXDIM];   /* torch's shape from rk_broadcast_shape */
        int n1 = rk_broadcast_shape(cd->ndim, cd->size, a->ndim, a->size, s1);
        int n2 = n1 < 0 ? -1 : rk_broadcast_shape(n1, s1, b->ndim, b->size, s2);
        if (n2 != w->ndim || memcmp(s2, w->size, sizeof *s2 * (size_t)n2)) {
            kt_fail(c, "rk_broadcast_shape differs from torch's shape");
            return;
        }
        float *y = kt_out(c, "out");
        if (rk_where(y, w->ndim, w->size, cd->data, cd->ndim, cd->size, a->data, a->ndim, a->size, b->data,
                     b->ndim, b->size))
            kt_fail(c, "refused");
        else kt_check_exact(c, y, "out");
        free(y);
    } else if (!strcmp(op, "masked_fill")) {
        kt_tensor *x = kt_t(c, "x"), *m = kt_t(c, "mask");
        float *y = kt_out(c, "out");
        if (rk_masked_fill(y, x->data, x->ndim, x->size, m->data, m->ndim, m->size, (float)kt_f(c, "value")))
            kt_fail(c, "refused");
        else kt_check_exact(c, y, "out");
        /* in place gives the same */
        float *z = kt_xmalloc(x->nbytes);
        memcpy(z, x->data, x->nbytes);
        rk_masked_fill(z, z, x->ndim, x->size, m->data, m->ndim, m->size, (float)kt_f(c, "value"));
        if (memcmp(z, y, x->nbytes)) kt_fail(c, "in place differs");
        free(z);
        free(y);
    } else if (!strcmp(op, "gather") || !strcmp(op, "gather_bad")) {
        kt_tensor *x = kt_t(c, "x"), *ix = kt_t(c, "index");
        int dim = (int)kt_i(c, "dim");
        void *y = kt_xmalloc((size_t)ix->numel * 4);
        int rc = rk_gather(y, x->data, 4, x->ndim, x->size, dim, ix->data, ix->size);
        if (!strcmp(op, "gather_bad")) kt_result(c, rc == -1, "refused: %g", (double)(rc == -1));
        else if (rc) kt_fail(c, "refused");
        else kt_check_exact(c, y, "out");
        free(y);
    } else if (!strcmp(op, "index_select") || !strcmp(op, "index_select_bad")) {
        kt_tensor *x = kt_t(c, "x"), *ix = kt_t(c, "index");
        int dim = (int)kt_i(c, "dim");
        size_t es = es_of(x);
        void *y = kt_xmalloc((size_t)(x->numel / x->size[dim] * ix->numel) * es);
        int rc = rk_index_select(y, x->data, (int64_t)es, x->ndim, x->size, dim, ix->data, ix->numel);
        if (!strcmp(op, "index_select_bad")) kt_result(c, rc == -1, "refused: %g", (double)(rc == -1));
        else if (rc) kt_fail(c, "refused");
        else kt_check_exact(c, y, "out");
        free(y);
    } else if (!strcmp(op, "cumsum")) {
        kt_tensor *x = kt_t(c, "x");
        float *y = kt_out(c, "out");
        rk_cumsum(y, x->data, x->ndim, x->size, (int)kt_i(c, "dim"));
        kt_check_f32(c, y, "out");
        free(y);
    } else {
        kt_fail(c, "unknown op");
    }
}

int main(int argc, char **argv)
{
    kt_case *cs;
    int n = kt_load(kt_dir(argc, argv, "layout"), &cs);
    for (int i = 0; i < n; i++) run(&cs[i]);
    (void)rk_numel;
    kt_free(cs, n);
    return kt_finish();
}
