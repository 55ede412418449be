/* test_act.c — src/gen/kernels/rk_act.c against torch (tests/gen_kernels_act.py).
 *
 * Activations out of place and in place (y == x), prelu, and softmax /
 * log_softmax with the dimension split by rk_split_dim from torch's shape
 * and dim; 1e-4 relative.
 */
#include "kt.h"

#include "rk_act.c"

int main(void)
{
    kt_suite *s = kt_open("act");
    kt_case *c;
    while ((c = kt_next(s))) {
        int64_t n;
        float *x = kt_in(s, "x", &n);
        float *y = kt_out(s, n);
        const char *op = c->op;
        if (strcmp(op, "act") == 0) {
            rk_act_n(y, x, n, (rk_act)kt_i(c, "act"));
            kt_check(s, "y", y, n, KT_TOL);
            rk_act_n(x, x, n, (rk_act)kt_i(c, "act")); /* in place */
            kt_check(s, "y", x, n, KT_TOL);
            continue;
        }
        if (strcmp(op, "leaky_relu") == 0)
            rk_leaky_relu(y, x, n, (float)kt_f(c, "a"));
        else if (strcmp(op, "hardtanh") == 0)
            rk_hardtanh(y, x, n, (float)kt_f(c, "a"), (float)kt_f(c, "b"));
        else if (strcmp(op, "elu") == 0)
            rk_elu(y, x, n, (float)kt_f(c, "a"), (float)kt_f(c, "scale"), (float)kt_f(c, "iscale"));
        else if (strcmp(op, "selu") == 0)
            rk_selu(y, x, n);
        else if (strcmp(op, "softplus") == 0)
            rk_softplus(y, x, n, (float)kt_f(c, "a"), (float)kt_f(c, "b"));
        else if (strcmp(op, "mish") == 0)
            rk_mish(y, x, n);
        else if (strcmp(op, "logsigmoid") == 0)
            rk_logsigmoid(y, x, n);
        else if (strcmp(op, "softsign") == 0)
            rk_softsign(y, x, n);
        else if (strcmp(op, "prelu") == 0) {
            int64_t nw;
            const float *w = kt_in(s, "w", &nw);
            rk_prelu(y, x, kt_i(c, "N"), kt_i(c, "C"), kt_i(c, "inner"), w, nw);
        } else if (strcmp(op, "softmax") == 0 || strcmp(op, "log_softmax") == 0) {
            const kt_tensor *t = kt_tensor_of(c, "x");
            int64_t outer, D, inner;
            if (rk_split_dim(t->ndim, t->dims, (int)kt_i(c, "dim"), &outer, &D, &inner) != 0) {
                kt_fail(s, "rk_split_dim refused dim %d", (int)kt_i(c, "dim"));
                continue;
            }
            if (op[0] == 's')
                rk_softmax(y, x, outer, D, inner);
            else
                rk_log_softmax(y, x, outer, D, inner);
        } else {
            KT_UNKNOWN(s);
            continue;
        }
        kt_check(s, "y", y, n, KT_TOL);
    }
    return kt_end(s);
}
