/* test_pool.c — src/gen/kernels/rk_pool.c against torch (tests/gen_kernels_pool.py).
 *
 * The output size rule is checked against torch's output shape, maxima bit
 * for bit (they are copies, NaN included), averages at 1e-4.
 */
#include "kt.h"

#include "rk_pool.c"

/* Fails the case unless (Ho, Wo) is the shape of torch's y (last two dims). */
static int same_size(kt_suite *s, int64_t Ho, int64_t Wo, int two_d)
{
    int64_t th = two_d ? kt_dim(s, "y", 2) : 1, tw = kt_dim(s, "y", two_d ? 3 : 2);
    if (Ho == th && Wo == tw) return 1;
    kt_fail(s, "output %lldx%lld, torch's %lldx%lld", (long long)Ho, (long long)Wo, (long long)th, (long long)tw);
    return 0;
}

int main(void)
{
    kt_suite *s = kt_open("pool");
    kt_case *c;
    while ((c = kt_next(s))) {
        const float *x = kt_in(s, "x", NULL);
        const char *op = c->op;
        if (strcmp(op, "max_pool2d") == 0 || strcmp(op, "avg_pool2d") == 0) {
            int mx = op[0] == 'm';
            rk_pool2d_p p = {kt_i(c, "N"), kt_i(c, "C"), kt_i(c, "H"), kt_i(c, "W"), kt_i(c, "kh"), kt_i(c, "kw"),
                             kt_i(c, "sh"), kt_i(c, "sw"), kt_i(c, "ph"), kt_i(c, "pw"),
                             mx ? kt_i(c, "dh") : 1, mx ? kt_i(c, "dw") : 1, (int)kt_i(c, "ceil"),
                             mx ? 0 : (int)kt_i(c, "cip"), mx ? 0 : kt_i(c, "div")};
            int64_t Ho, Wo;
            rk_pool2d_out(&p, &Ho, &Wo);
            if (!same_size(s, Ho, Wo, 1)) continue;
            float *y = kt_out(s, p.N * p.C * Ho * Wo);
            if (mx)
                rk_max_pool2d(y, x, &p);
            else
                rk_avg_pool2d(y, x, &p);
            kt_check(s, "y", y, p.N * p.C * Ho * Wo, mx ? KT_EXACT : KT_TOL);
        } else if (strcmp(op, "max_pool1d") == 0 || strcmp(op, "avg_pool1d") == 0) {
            int mx = op[0] == 'm';
            int64_t N = kt_i(c, "N"), C = kt_i(c, "C"), L = kt_i(c, "L"), k = kt_i(c, "k"), st = kt_i(c, "s");
            int64_t pad = kt_i(c, "p"), d = mx ? kt_i(c, "d") : 1;
            int ceil = (int)kt_i(c, "ceil");
            int64_t Lo = rk_pool_out(L, k, st, pad, d, ceil);
            if (!same_size(s, 1, Lo, 0)) continue;
            float *y = kt_out(s, N * C * Lo);
            if (mx)
                rk_max_pool1d(y, x, N, C, L, k, st, pad, d, ceil);
            else
                rk_avg_pool1d(y, x, N, C, L, k, st, pad, ceil, (int)kt_i(c, "cip"));
            kt_check(s, "y", y, N * C * Lo, mx ? KT_EXACT : KT_TOL);
        } else if (strcmp(op, "max_pool2d_idx") == 0 || strcmp(op, "adaptive_max_pool2d_idx") == 0) {
            int64_t N = kt_i(c, "N"), C = kt_i(c, "C"), H = kt_i(c, "H"), W = kt_i(c, "W"), Ho, Wo, ni;
            rk_pool2d_p p = {N, C, H, W, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0, 0};
            if (op[0] == 'm') {
                p = (rk_pool2d_p){N, C, H, W, kt_i(c, "kh"), kt_i(c, "kw"), kt_i(c, "sh"), kt_i(c, "sw"), kt_i(c, "ph"),
                                  kt_i(c, "pw"), kt_i(c, "dh"), kt_i(c, "dw"), (int)kt_i(c, "ceil"), 0, 0};
                rk_pool2d_out(&p, &Ho, &Wo);
            } else {
                Ho = kt_i(c, "Ho"), Wo = kt_i(c, "Wo");
            }
            const int64_t *ti = kt_in_i64(s, "i", &ni);
            if (ni != N * C * Ho * Wo) {
                kt_fail(s, "%lld indices, torch's %lld", (long long)(N * C * Ho * Wo), (long long)ni);
                continue;
            }
            float *y = kt_out(s, ni);
            int64_t *idx = (int64_t *)(void *)kt_out(s, 2 * ni);
            if (op[0] == 'm')
                rk_max_pool2d_idx(y, idx, x, &p);
            else
                rk_adaptive_max_pool2d_idx(y, idx, x, N, C, H, W, Ho, Wo);
            kt_check(s, "y", y, ni, KT_EXACT);
            int64_t bad = -1;
            for (int64_t k = 0; k < ni && bad < 0; k++)
                if (idx[k] != ti[k]) bad = k;
            if (bad >= 0)
                kt_fail(s, "index %lld: %lld, torch's %lld", (long long)bad, (long long)idx[bad], (long long)ti[bad]);
            else
                kt_pass(s, "%lld indices as torch's", (long long)ni);
        } else if (strncmp(op, "adaptive_", 9) == 0) {
            int64_t N = kt_i(c, "N"), C = kt_i(c, "C"), H = kt_i(c, "H"), W = kt_i(c, "W");
            int64_t Ho = kt_i(c, "Ho"), Wo = kt_i(c, "Wo");
            float *y = kt_out(s, N * C * Ho * Wo);
            int mx = strstr(op, "max") != NULL;
            if (strcmp(op, "adaptive_avg_pool2d") == 0)
                rk_adaptive_avg_pool2d(y, x, N, C, H, W, Ho, Wo);
            else if (strcmp(op, "adaptive_max_pool2d") == 0)
                rk_adaptive_max_pool2d(y, x, N, C, H, W, Ho, Wo);
            else if (strcmp(op, "adaptive_avg_pool1d") == 0)
                rk_adaptive_avg_pool1d(y, x, N, C, W, Wo);
            else if (strcmp(op, "adaptive_max_pool1d") == 0)
                rk_adaptive_max_pool1d(y, x, N, C, W, Wo);
            else {
                KT_UNKNOWN(s);
                continue;
            }
            kt_check(s, "y", y, N * C * Ho * Wo, mx ? KT_EXACT : KT_TOL);
        } else {
            KT_UNKNOWN(s);
        }
    }
    return kt_end(s);
}
