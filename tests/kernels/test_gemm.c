/* test_gemm.c — src/gen/kernels/rk_gemm.c against torch (tests/gen_kernels_gemm.py). */
#include "kt.h"

#include "rk_act.c"
#include "rk_gemm.c"

int main(void)
{
    kt_suite *s = kt_open("gemm");
    kt_case *c;
    while ((c = kt_next(s))) {
        int64_t M = kt_i(c, "M"), K = kt_i(c, "K"), N = kt_i(c, "N");
        if (strcmp(c->op, "linear") == 0) {
            float *y = kt_out(s, M * N);
            rk_linear(y, kt_in(s, "x", NULL), M, K, kt_in(s, "w", NULL), N, kt_opt(s, "b"), (rk_act)kt_i(c, "act"));
            kt_check(s, "y", y, M * N, KT_TOL);
        } else if (strcmp(c->op, "matmul") == 0) {
            float *y = kt_out(s, M * N);
            float beta = (float)kt_i(c, "beta");
            if (beta != 0.0f) memcpy(y, kt_in(s, "c0", NULL), (size_t)(M * N) * sizeof *y);
            rk_matmul(y, kt_in(s, "a", NULL), (int)kt_i(c, "ta"), kt_in(s, "b", NULL), (int)kt_i(c, "tb"), M, N, K, beta);
            kt_check(s, "y", y, M * N, KT_TOL);
        } else if (strcmp(c->op, "bmm") == 0) {
            int64_t B = kt_i(c, "B");
            float *y = kt_out(s, B * M * N);
            rk_bmm(y, kt_in(s, "a", NULL), M * K, (int)kt_i(c, "ta"), kt_in(s, "b", NULL),
                   kt_i(c, "bcast_b") ? 0 : K * N, (int)kt_i(c, "tb"), B, M, N, K);
            kt_check(s, "y", y, B * M * N, KT_TOL);
        } else {
            KT_UNKNOWN(s);
        }
    }
    return kt_end(s);
}
