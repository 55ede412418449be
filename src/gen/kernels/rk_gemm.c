/* rk_gemm.c — linear layers and plain matrix products, on OpenBLAS.
 *
 * requires: rk_act.c
 *
 * Everything GEMM-shaped goes to cblas_sgemm (one row, M == 1, to
 * cblas_sgemv: the matrix-vector product of batch-1 inference, which
 * sgemm's packing would slow down).  The bias and the activation are one
 * more pass over the output, which is small next to the product:
 * linear costs 2*M*N*K flops plus M*N for the epilogue.
 */
#include <cblas.h>

#include "rk_common.h"

/* linear: x (M, K) @ W^T + b -> y (M, N), W (N, K) as torch stores it,
 * b (N) or NULL, then act.  y must not alias x or W. */
static void rk_linear(float *restrict y, const float *restrict x, int64_t M, int64_t K,
                      const float *restrict W, int64_t N, const float *b, rk_act act)
{
    if (M <= 0 || N <= 0) return;
    if (K <= 0) {
        memset(y, 0, (size_t)(M * N) * sizeof *y);
    } else if (M == 1) {
        cblas_sgemv(CblasRowMajor, CblasNoTrans, (int)N, (int)K, 1.0f, W, (int)K, x, 1, 0.0f, y, 1);
    } else {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)M, (int)N, (int)K,
                    1.0f, x, (int)K, W, (int)K, 0.0f, y, (int)N);
    }
    rk_bias_act_cols(y, M, N, b, act);
}

/* matmul: op(A) (M, K) @ op(B) (K, N) -> C (M, N), row-major, where op(A)
 * is A (M, K) or, with ta, the transpose of A stored (K, M); likewise tb
 * for B stored (N, K).  beta 0 overwrites C, 1 accumulates into it.  C
 * must not alias A or B. */
static void rk_matmul(float *restrict C, const float *restrict A, int ta, const float *restrict B, int tb,
                      int64_t M, int64_t N, int64_t K, float beta)
{
    if (M <= 0 || N <= 0) return;
    if (K <= 0) {
        if (beta == 0.0f) memset(C, 0, (size_t)(M * N) * sizeof *C);
        return;
    }
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
                (int)M, (int)N, (int)K, 1.0f, A, ta ? (int)M : (int)K, B, tb ? (int)K : (int)N,
                beta, C, (int)N);
}

/* batched matmul: for each of batch: A[i] (M, K) @ B[i] (K, N) -> C[i] (M, N),
 * with the transposes of rk_matmul; the batches are contiguous.  A stride
 * of 0 broadcasts that operand over the batch (torch.matmul of a 3-d by a
 * 2-d tensor). */
static void rk_bmm(float *restrict C, const float *restrict A, int64_t sa, int ta,
                   const float *restrict B, int64_t sb, int tb, int64_t batch, int64_t M, int64_t N, int64_t K)
{
    for (int64_t i = 0; i < batch; i++)
        rk_matmul(C + i * M * N, A + i * sa, ta, B + i * sb, tb, M, N, K, 0.0f);
}
