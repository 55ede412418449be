/* test_elem.c — src/gen/kernels/rk_elem.c against torch (tests/gen_kernels_elem.py).
 *
 * Usage: test_elem [FIXTURE_DIR]  (default $FIXTURES/kernels/elem).
 * Arithmetic within 1e-4 (NaN where torch has NaN); masks bit-exact.
 * The output shape is computed with rk_broadcast_shape and must be torch's.
 */
#include "kcase.h"
/* The kernel files are libraries of static functions; this test uses
 * only some of rk_layout.c's. */
#pragma GCC diagnostic ignored "-Wunused-function"
#include "rk_layout.c"
#pragma GCC diagnostic warning "-Wunused-function"
#include "rk_elem.c"

static int binop_of(const char *s)
{
    static const char *names[] = {"add", "sub", "mul", "div", "pow", "maximum", "minimum", "floor_divide",
                                  "remainder", "atan2"};
    for (int i = 0; i < (int)(sizeof names / sizeof *names); i++)
        if (!strcmp(s, names[i])) return i;
    return -1;
}

static int cmpop_of(const char *s)
{
    static const char *names[] = {"eq", "ne", "lt", "le", "gt", "ge"};
    for (int i = 0; i < 6; i++)
        if (!strcmp(s, names[i])) return i;
    return -1;
}

static int unop_of(const char *s)
{
    static const char *names[] = {"exp", "log", "sqrt", "rsqrt", "abs", "neg", "sin", "cos", "erf",
                                  "reciprocal", "tanh", "sigmoid", "floor", "ceil", "round", "trunc", "sign",
                                  "square", "log1p", "expm1", "log2", "exp2"};
    for (int i = 0; i < (int)(sizeof names / sizeof *names); i++)
        if (!strcmp(s, names[i])) return i;
    return -1;
}

/* The output's shape from the operands', checked against torch's. */
static int shape_ok(kt_case *c, kt_tensor *a, kt_tensor *b)
{
    int64_t s[RK_MAXDIM];
    kt_tensor *w = kt_t(c, "out");
    int n = rk_broadcast_shape(a->ndim, a->size, b->ndim, b->size, s);
    if (n != w->ndim || memcmp(s, w->size, sizeof *s * (size_t)n)) {
        kt_fail(c, "rk_broadcast_shape differs from torch's shape");
        return 0;
    }
    return 1;
}

static void run(kt_case *c)
{
    const char *op = c->op, *w = kt_find_p(c, "op") ? kt_p(c, "op")->word : "";

    if (!strcmp(op, "binary") || !strcmp(op, "binary_inplace")) {
        kt_tensor *a = kt_t(c, "a"), *b = kt_t(c, "b"), *o = kt_t(c, "out");
        if (!shape_ok(c, a, b)) return;
        if (!strcmp(op, "binary_inplace")) {       /* y is a: a's shape is the output's */
            float *y = kt_xmalloc(a->nbytes);
            memcpy(y, a->data, a->nbytes);
            if (rk_binary(binop_of(w), y, o->ndim, o->size, y, a->ndim, a->size, b->data, b->ndim, b->size))
                kt_fail(c, "refused");
            else kt_check_f32(c, y, "out");
            free(y);
            return;
        }
        float *y = kt_out(c, "out");
        if (rk_binary(binop_of(w), y, o->ndim, o->size, a->data, a->ndim, a->size, b->data, b->ndim, b->size))
            kt_fail(c, "refused");
        else kt_check_f32(c, y, "out");
        free(y);
    } else if (!strcmp(op, "compare")) {
        kt_tensor *a = kt_t(c, "a"), *b = kt_t(c, "b"), *o = kt_t(c, "out");
        if (!shape_ok(c, a, b)) return;
        uint8_t *y = kt_out(c, "out");
        if (rk_compare(cmpop_of(w), y, o->ndim, o->size, a->data, a->ndim, a->size, b->data, b->ndim, b->size))
            kt_fail(c, "refused");
        else kt_check_exact(c, y, "out");
        free(y);
    } else if (!strcmp(op, "logical")) {
        kt_tensor *a = kt_t(c, "a"), *b = kt_t(c, "b"), *o = kt_t(c, "out");
        if (!shape_ok(c, a, b)) return;
        rk_logop lop = !strcmp(w, "and") ? RK_LOG_AND : !strcmp(w, "or") ? RK_LOG_OR : RK_LOG_XOR;
        uint8_t *y = kt_out(c, "out");
        if (rk_logical(lop, y, o->ndim, o->size, a->data, a->ndim, a->size, b->data, b->ndim, b->size))
            kt_fail(c, "refused");
        else kt_check_exact(c, y, "out");
        free(y);
    } else if (!strcmp(op, "logical_not")) {
        kt_tensor *a = kt_t(c, "a");
        uint8_t *y = kt_out(c, "out");
        rk_logical_not(y, a->data, a->numel);
        kt_check_exact(c, y, "out");
        free(y);
    } else if (!strcmp(op, "binary_scalar")) {
        kt_tensor *x = kt_t(c, "x");
        float *y = kt_out(c, "out");
        rk_binary_scalar(binop_of(w), y, x->data, x->numel, (float)kt_f(c, "s"), (int)kt_i(c, "first"));
        kt_check_f32(c, y, "out");
        free(y);
    } else if (!strcmp(op, "compare_scalar")) {
        kt_tensor *x = kt_t(c, "x");
        uint8_t *y = kt_out(c, "out");
        rk_compare_scalar(cmpop_of(w), y, x->data, x->numel, (float)kt_f(c, "s"));
        kt_check_exact(c, y, "out");
        free(y);
    } else if (!strcmp(op, "add_scaled")) {
        kt_tensor *a = kt_t(c, "a"), *b = kt_t(c, "b");
        float *y = kt_out(c, "out");
        rk_add_scaled(y, a->data, b->data, a->numel, (float)kt_f(c, "alpha"));
        kt_check_f32(c, y, "out");
        free(y);
    } else if (!strcmp(op, "unary")) {
        kt_tensor *x = kt_t(c, "x");
        int u = unop_of(w);
        if (u < 0) {
            kt_fail(c, "unknown unary op");
            return;
        }
        float *y = kt_out(c, "out");
        rk_unary((rk_unop)u, y, x->data, x->numel);
        kt_check_f32(c, y, "out");
        /* in place gives the same bits */
        float *z = kt_xmalloc(x->nbytes);
        memcpy(z, x->data, x->nbytes);
        rk_unary((rk_unop)u, z, z, x->numel);
        if (memcmp(z, y, x->nbytes)) kt_fail(c, "in place differs");
        free(z);
        free(y);
    } else if (!strcmp(op, "clamp")) {
        kt_tensor *x = kt_t(c, "x");
        float *y = kt_out(c, "out");
        rk_clamp(y, x->data, x->numel, (float)kt_f(c, "lo"), (float)kt_f(c, "hi"));
        kt_check_f32(c, y, "out");
        free(y);
    } else {
        kt_fail(c, "unknown op");
    }
}

int main(int argc, char **argv)
{
    kt_case *cs;
    int n = kt_load(kt_dir(argc, argv, "elem"), &cs);
    for (int i = 0; i < n; i++) run(&cs[i]);
    kt_free(cs, n);
    return kt_finish();
}
