/* test_conv.c — src/gen/kernels/rk_conv.c against torch (tests/gen_kernels_conv.py).
 *
 * Each case runs rk_conv2d, rk_conv1d or rk_conv_transpose2d on torch's
 * inputs with exactly the scratch the kernel's formula asks for, and
 * compares with torch's output (tolerance 1e-4 relative to max|y|).
 */
#include "kt.h"

#include "rk_act.c"
#include "rk_conv.c"

static rk_conv2d_p params2d(const kt_case *c)
{
    rk_conv2d_p p = {
        kt_i(c, "N"), kt_i(c, "C"), kt_i(c, "H"), kt_i(c, "W"), kt_i(c, "O"), kt_i(c, "kh"), kt_i(c, "kw"),
        kt_i(c, "sh"), kt_i(c, "sw"), kt_i(c, "dh"), kt_i(c, "dw"), kt_i(c, "groups"),
        kt_i(c, "pt"), kt_i(c, "pb"), kt_i(c, "pl"), kt_i(c, "pr"),
        kt_has(c, "mode") ? (rk_pad_mode)kt_i(c, "mode") : RK_PAD_ZEROS,
        kt_has(c, "oph") ? kt_i(c, "oph") : 0, kt_has(c, "opw") ? kt_i(c, "opw") : 0,
    };
    return p;
}

int main(void)
{
    kt_suite *s = kt_open("conv");
    kt_case *c;
    while ((c = kt_next(s))) {
        const float *x = kt_in(s, "x", NULL), *w = kt_in(s, "w", NULL), *b = kt_opt(s, "b");
        rk_act act = (rk_act)kt_i(c, "act");
        if (strcmp(c->op, "conv2d") == 0) {
            rk_conv2d_p p = params2d(c);
            int64_t Ho, Wo;
            rk_conv2d_out(&p, &Ho, &Wo);
            if (Ho != kt_dim(s, "y", 2) || Wo != kt_dim(s, "y", 3)) {
                kt_fail(s, "output %lldx%lld, torch's %lldx%lld", (long long)Ho, (long long)Wo,
                        (long long)kt_dim(s, "y", 2), (long long)kt_dim(s, "y", 3));
                continue;
            }
            int64_t n = p.N * p.O * Ho * Wo;
            float *y = kt_out(s, n), *scratch = kt_out(s, rk_conv2d_scratch(&p));
            rk_conv2d(y, x, w, b, act, &p, scratch);
            kt_check(s, "y", y, n, KT_TOL);
        } else if (strcmp(c->op, "conv1d") == 0) {
            int64_t N = kt_i(c, "N"), C = kt_i(c, "C"), L = kt_i(c, "L"), O = kt_i(c, "O"), k = kt_i(c, "k");
            int64_t st = kt_i(c, "s"), d = kt_i(c, "d"), G = kt_i(c, "groups"), pl = kt_i(c, "pl"), pr = kt_i(c, "pr");
            rk_pad_mode mode = (rk_pad_mode)kt_i(c, "mode");
            int64_t Lo = (L + pl + pr - d * (k - 1) - 1) / st + 1, n = N * O * Lo;
            float *y = kt_out(s, n);
            float *scratch = kt_out(s, rk_conv1d_scratch(N, C, L, O, k, st, d, G, pl, pr, mode));
            rk_conv1d(y, x, w, b, act, N, C, L, O, k, st, d, G, pl, pr, mode, scratch);
            kt_check(s, "y", y, n, KT_TOL);
        } else if (strcmp(c->op, "conv_transpose2d") == 0) {
            rk_conv2d_p p = params2d(c);
            int64_t Ho, Wo;
            rk_conv_transpose2d_out(&p, &Ho, &Wo);
            if (Ho != kt_dim(s, "y", 2) || Wo != kt_dim(s, "y", 3)) {
                kt_fail(s, "output %lldx%lld, torch's %lldx%lld", (long long)Ho, (long long)Wo,
                        (long long)kt_dim(s, "y", 2), (long long)kt_dim(s, "y", 3));
                continue;
            }
            int64_t n = p.N * p.O * Ho * Wo;
            float *y = kt_out(s, n), *scratch = kt_out(s, rk_conv_transpose2d_scratch(&p));
            rk_conv_transpose2d(y, x, w, b, act, &p, scratch);
            kt_check(s, "y", y, n, KT_TOL);
        } else {
            KT_UNKNOWN(s);
        }
    }
    return kt_end(s);
}
