/* kernels_bench.c — speed of the conv kernels against cblas_sgemm itself.
 *
 * Built and run by bench/kernels_bench.sh (one thread).  Prints, for each
 * shape, the best of several timed runs (after one warm-up) in ms and
 * GFLOP/s (2 flops per multiply-add, the convolution's useful work), and
 * the ratio to the peak sgemm rate measured first on square matrices.
 * Not a test: nothing is asserted.
 */
#define _POSIX_C_SOURCE 199309L
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "rk_common.h"
#include "rk_act.c"
#include "rk_conv.c"
#include "rk_pool.c"
#include "rk_layout.c"
#include "rk_matmul.c"
#include "rk_attn.c"
#include "rk_resize.c"

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static float *randbuf(size_t n)
{
    float *p = malloc(n * sizeof *p);
    if (!p) exit(1);
    for (size_t i = 0; i < n; i++) p[i] = (float)rand() / RAND_MAX - 0.5f;
    return p;
}

/* Best time of reps runs of the expression, in seconds. */
#define BEST(reps, expr)                                  \
    ({                                                    \
        double best_ = 1e30;                              \
        expr;                                             \
        for (int r_ = 0; r_ < (reps); r_++) {             \
            double t0_ = now();                           \
            expr;                                         \
            double t_ = now() - t0_;                      \
            if (t_ < best_) best_ = t_;                   \
        }                                                 \
        best_;                                            \
    })

static double peak;

static void sgemm_rate(int M, int N, int K, const char *what)
{
    float *a = randbuf((size_t)M * K), *b = randbuf((size_t)K * N), *c = randbuf((size_t)M * N);
    double t = BEST(peak == 0 ? 30 : 10, cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, N, K, 1.0f, a, K, b, N, 0.0f, c, N));
    double gf = 2.0 * M * N * K / t * 1e-9;
    if (peak == 0) peak = gf;
    printf("%-44s %8.3f ms %7.1f GFLOP/s  %5.2f of peak\n", what, t * 1e3, gf, gf / peak);
    free(a), free(b), free(c);
}

static void conv(const char *what, rk_conv2d_p p, rk_act act)
{
    int64_t Ho, Wo;
    rk_conv2d_out(&p, &Ho, &Wo);
    float *x = randbuf((size_t)(p.N * p.C * p.H * p.W)), *w = randbuf((size_t)(p.O * p.C / p.groups * p.kh * p.kw));
    float *b = randbuf((size_t)p.O), *y = randbuf((size_t)(p.N * p.O * Ho * Wo));
    int64_t ns = rk_conv2d_scratch(&p);
    float *scratch = ns ? randbuf((size_t)ns) : NULL;
    double t = BEST(20, rk_conv2d(y, x, w, b, act, &p, scratch));
    double flops = 2.0 * p.N * p.O * (p.C / p.groups) * p.kh * p.kw * Ho * Wo;
    double gf = flops / t * 1e-9;
    printf("%-44s %8.3f ms %7.1f GFLOP/s  %5.2f of peak  (scratch %lld floats)\n", what, t * 1e3, gf, gf / peak,
           (long long)ns);
    if (ns && !rk_conv2d_is_depthwise(&p)) {
        double ti = BEST(20, rk_im2col(scratch, x, p.C / p.groups, &p, Ho, Wo));
        printf("%-44s %8.3f ms (%.0f%% of the conv)\n", "  of which im2col (one group)", ti * 1e3,
               100.0 * ti * p.groups / t);
    }
    free(x), free(w), free(b), free(y), free(scratch);
}

/* The non-conv kernels: one line each, the best of reps runs. */
static void line(const char *what, double t) { printf("%-44s %8.3f ms\n", what, t * 1e3); }

static void others(void)
{
    enum { R = 256, D = 1024 };
    float *x = randbuf((size_t)R * D), *y = randbuf((size_t)R * D);
    line("softmax 256x1024 (rows)", BEST(50, rk_softmax(y, x, R, D, 1)));
    line("softmax 64x1024x4 (dim 1 of 3)", BEST(50, rk_softmax(y, x, 64, D, 4)));
    line("log_softmax 256x1024", BEST(50, rk_log_softmax(y, x, R, D, 1)));
    line("gelu(tanh) 256K", BEST(50, rk_act_n(y, x, (int64_t)R * D, RK_ACT_GELU_TANH)));
    line("sigmoid 256K", BEST(50, rk_act_n(y, x, (int64_t)R * D, RK_ACT_SIGMOID)));
    {
        int64_t B = 1, H = 8, T = 256, Dh = 64;
        float *q = randbuf((size_t)(B * H * T * Dh)), *k = randbuf((size_t)(B * H * T * Dh));
        float *v = randbuf((size_t)(B * H * T * Dh)), *o = randbuf((size_t)(B * H * T * Dh));
        float *sc = randbuf((size_t)rk_sdpa_scratch(T, T));
        line("sdpa 1x8x256x64", BEST(20, rk_sdpa(o, q, k, v, B, H, H, T, T, Dh, Dh, NULL, 0, 0.125f, sc)));
        line("sdpa 1x8x256x64 causal", BEST(20, rk_sdpa(o, q, k, v, B, H, H, T, T, Dh, Dh, NULL, 1, 0.125f, sc)));
        line("baddbmm 32x 64x64x64", BEST(50, rk_baddbmm(o, v, 1, q, k, 32, 64, 64, 64, 0.5f, 1.0f)));
        int64_t as[3] = {32, 64, 64};
        line("matmul_nd 32x 64x64 @ 32x 64x64", BEST(50, rk_matmul_nd(o, q, 3, as, k, 3, as)));
        free(q), free(k), free(v), free(o), free(sc);
    }
    {
        int64_t N = 1, C = 64, H = 56, W = 56;
        float *a = randbuf((size_t)(N * C * H * W)), *b = randbuf((size_t)(N * C * H * W * 4));
        line("upsample nearest x2 64x56x56", BEST(50, rk_upsample_nearest2d(b, a, N, C, H, W, 2 * H, 2 * W, 0, 0, 0)));
        line("upsample nearest-exact 56->100", BEST(50, rk_upsample_nearest2d(b, a, N, C, H, W, 100, 100, 0, 0, 1)));
        line("upsample bilinear x2 64x56x56", BEST(50, rk_upsample_bilinear2d(b, a, N, C, H, W, 2 * H, 2 * W, 0, 0, 0)));
        line("pixel_shuffle 2 64x56x56", BEST(50, rk_pixel_shuffle(b, a, N, C / 4, H, W, 2)));
        line("pixel_unshuffle 2 16x112x112", BEST(50, rk_pixel_unshuffle(b, a, N, C / 4, H / 2, W / 2, 2)));
        line("adaptive_avg_pool2d 64x56x56 -> 7x7", BEST(50, rk_adaptive_avg_pool2d(b, a, N, C, H, W, 7, 7)));
        line("adaptive_max_pool2d 64x56x56 -> 7x7", BEST(50, rk_adaptive_max_pool2d(b, a, N, C, H, W, 7, 7)));
        int64_t ys[3] = {C, H, W}, lens[2] = {C / 2, C / 2};
        const void *xs[2] = {a, a + C / 2 * H * W};
        void *ysp[2] = {b, b + C / 2 * H * W};
        line("cat 2x 32x56x56 dim 0", BEST(50, rk_cat(b, xs, 2, 4, 3, ys, 0, lens)));
        line("split 64x56x56 dim 0 in 2", BEST(50, rk_split(ysp, 2, a, 4, 3, ys, 0, lens)));
        free(a), free(b);
    }
    free(x), free(y);
}

int main(void)
{
    printf("OpenBLAS %s, core %s\n", openblas_get_config(), openblas_get_corename());
    sgemm_rate(1024, 1024, 1024, "sgemm 1024^3 (peak)");
    sgemm_rate(64, 3136, 576, "sgemm 64x3136x576 (the 3x3 conv's GEMM)");
    rk_conv2d_p c3 = {1, 64, 56, 56, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, RK_PAD_ZEROS, 0, 0};
    conv("conv2d 3x3 64->64 56x56 p1 (+bias+relu)", c3, RK_ACT_RELU);
    conv("conv2d 3x3 64->64 56x56 p1 (no act)", c3, RK_ACT_NONE);
    rk_conv2d_p c3b = {1, 256, 14, 14, 256, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, RK_PAD_ZEROS, 0, 0};
    conv("conv2d 3x3 256->256 14x14 p1", c3b, RK_ACT_RELU);
    rk_conv2d_p c1 = {1, 256, 56, 56, 64, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, RK_PAD_ZEROS, 0, 0};
    conv("conv2d 1x1 256->64 56x56 (direct GEMM)", c1, RK_ACT_RELU);
    rk_conv2d_p stem = {1, 3, 224, 224, 64, 7, 7, 2, 2, 1, 1, 1, 3, 3, 3, 3, RK_PAD_ZEROS, 0, 0};
    conv("conv2d 7x7 s2 3->64 224x224 (stem)", stem, RK_ACT_RELU);
    rk_conv2d_p gx = {1, 128, 56, 56, 128, 3, 3, 1, 1, 1, 1, 32, 1, 1, 1, 1, RK_PAD_ZEROS, 0, 0};
    conv("conv2d 3x3 128->128 56x56 groups 32", gx, RK_ACT_RELU);
    rk_conv2d_p dw = {1, 144, 56, 56, 144, 3, 3, 1, 1, 1, 1, 144, 1, 1, 1, 1, RK_PAD_ZEROS, 0, 0};
    conv("depthwise 3x3 s1 144 56x56", dw, RK_ACT_RELU6);
    rk_conv2d_p dw2 = {1, 144, 56, 56, 144, 3, 3, 2, 2, 1, 1, 144, 1, 1, 1, 1, RK_PAD_ZEROS, 0, 0};
    conv("depthwise 3x3 s2 144 56x56", dw2, RK_ACT_RELU6);
    others();
    return 0;
}
