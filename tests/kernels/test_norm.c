/* test_norm.c — src/gen/kernels/rk_norm.c against torch (tests/gen_kernels_norm.py).
 *
 * The normalisations at 1e-4; BatchNorm folding twice: rk_fold_bn's
 * weights and bias bit for bit against torch's fuse_conv_bn_weights, and
 * rk_conv2d with the folded weights against torch's conv -> bn.
 */
#include "kt.h"

#include "rk_act.c"
#include "rk_conv.c"
#include "rk_norm.c"

int main(void)
{
    kt_suite *s = kt_open("norm");
    kt_case *c;
    while ((c = kt_next(s))) {
        int64_t n;
        const float *x = kt_in(s, "x", &n);
        float eps = (float)kt_f(c, "eps");
        if (strcmp(c->op, "batch_norm") == 0) {
            float *y = kt_out(s, n);
            rk_batch_norm(y, x, kt_i(c, "N"), kt_i(c, "C"), kt_i(c, "inner"), kt_in(s, "mean", NULL),
                          kt_in(s, "var", NULL), kt_opt(s, "gamma"), kt_opt(s, "beta"), eps, (rk_act)kt_i(c, "act"));
            kt_check(s, "y", y, n, KT_TOL);
        } else if (strcmp(c->op, "layer_norm") == 0) {
            float *y = kt_out(s, n);
            rk_layer_norm(y, x, kt_i(c, "rows"), kt_i(c, "n"), kt_opt(s, "gamma"), kt_opt(s, "beta"), eps);
            kt_check(s, "y", y, n, KT_TOL);
        } else if (strcmp(c->op, "group_norm") == 0) {
            float *y = kt_out(s, n);
            rk_group_norm(y, x, kt_i(c, "N"), kt_i(c, "C"), kt_i(c, "inner"), kt_i(c, "G"), kt_opt(s, "gamma"),
                          kt_opt(s, "beta"), eps);
            kt_check(s, "y", y, n, KT_TOL);
        } else if (strcmp(c->op, "instance_norm") == 0) {
            float *y = kt_out(s, n);
            rk_instance_norm(y, x, kt_i(c, "N"), kt_i(c, "C"), kt_i(c, "inner"), kt_opt(s, "gamma"),
                             kt_opt(s, "beta"), eps);
            kt_check(s, "y", y, n, KT_TOL);
        } else if (strcmp(c->op, "rms_norm") == 0) {
            float *y = kt_out(s, n);
            rk_rms_norm(y, x, kt_i(c, "rows"), kt_i(c, "n"), kt_opt(s, "weight"), eps);
            kt_check(s, "y", y, n, KT_TOL);
        } else if (strcmp(c->op, "fold_bn") == 0) {
            const int64_t N = kt_i(c, "N"), C = kt_i(c, "C"), H = kt_i(c, "H"), W = kt_i(c, "W"), O = kt_i(c, "O");
            const int64_t k = kt_i(c, "k"), st = kt_i(c, "s"), pad = kt_i(c, "p"), G = kt_i(c, "groups");
            int64_t nw;
            float *w = kt_in(s, "w", &nw), *b = kt_out(s, O), *b0 = kt_opt(s, "b");
            for (int64_t o = 0; o < O; o++) b[o] = b0 ? b0[o] : 0.0f;
            rk_fold_bn(w, b, O, nw / O, kt_in(s, "mean", NULL), kt_in(s, "var", NULL), kt_opt(s, "gamma"),
                       kt_opt(s, "beta"), eps);
            kt_check(s, "wf", w, nw, KT_EXACT);
            kt_check(s, "bf", b, O, KT_EXACT);
            rk_conv2d_p p = {N, C, H, W, O, k, k, st, st, 1, 1, G, pad, pad, pad, pad, RK_PAD_ZEROS, 0, 0};
            int64_t Ho, Wo;
            rk_conv2d_out(&p, &Ho, &Wo);
            float *y = kt_out(s, N * O * Ho * Wo), *scratch = kt_out(s, rk_conv2d_scratch(&p));
            rk_conv2d(y, x, w, b, RK_ACT_NONE, &p, scratch);
            kt_check(s, "y", y, N * O * Ho * Wo, KT_TOL);
        } else {
            KT_UNKNOWN(s);
        }
    }
    return kt_end(s);
}
