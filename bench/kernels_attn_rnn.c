/* kernels_attn_rnn.c — times rk_sdpa and rk_rnn (bench/kernels_attn_rnn.sh).
 *
 * Prints "NAME MEDIAN_US" lines for: sdpa at B=1, H=8, T=128, D=64
 * (plain and causal), an LSTM step (T=1, batch 1, In=H=256) and a
 * 100-step LSTM sequence, a GRU step.  Median of many runs after a warm-up.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "rk_attn.c"
#include "rk_rnn.c"

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static float *rnd(size_t n)
{
    float *p = malloc(n * sizeof *p);
    for (size_t i = 0; i < n; i++) p[i] = (float)rand() / RAND_MAX * 2.0f - 1.0f;
    return p;
}

#define RUNS 301
#define TIME(NAME, STMT)                                                      \
    do {                                                                      \
        static double t_[RUNS];                                               \
        for (int w_ = 0; w_ < 20; w_++) STMT;                                 \
        for (int r_ = 0; r_ < RUNS; r_++) {                                   \
            double t0_ = now_us();                                            \
            STMT;                                                             \
            t_[r_] = now_us() - t0_;                                          \
        }                                                                     \
        qsort(t_, RUNS, sizeof *t_, cmp_d);                                   \
        printf("%s %.2f\n", NAME, t_[RUNS / 2]);                              \
    } while (0)

int main(void)
{
    int64_t B = 1, H = 8, T = 128, D = 64;
    float *q = rnd(B * H * T * D), *k = rnd(B * H * T * D), *v = rnd(B * H * T * D), *o = rnd(B * H * T * D);
    float *sc = rnd(rk_sdpa_scratch(T, T));
    float scale = 1.0f / sqrtf((float)D);
    TIME("sdpa", rk_sdpa(o, q, k, v, B, H, H, T, T, D, D, NULL, 0, scale, sc));
    TIME("sdpa_causal", rk_sdpa(o, q, k, v, B, H, H, T, T, D, D, NULL, 1, scale, sc));

    int64_t In = 256, Hd = 256, S = 100;
    rk_rnn_weights w = {rnd(4 * Hd * In), rnd(4 * Hd * Hd), rnd(4 * Hd), rnd(4 * Hd)};
    for (int64_t i = 0; i < 4 * Hd * Hd; i++) ((float *)w.w_hh)[i] *= 0.05f;
    for (int64_t i = 0; i < 4 * Hd * In; i++) ((float *)w.w_ih)[i] *= 0.05f;
    float *x = rnd(S * In), *y = rnd(S * Hd), *h0 = rnd(Hd), *c0 = rnd(Hd), *hn = rnd(Hd), *cn = rnd(Hd);
    float *rs = rnd(rk_rnn_scratch(RK_RNN_LSTM, S, 1, Hd, 1, 0));
    TIME("lstm_step", rk_rnn(RK_RNN_LSTM, y, hn, cn, x, h0, c0, 1, 1, In, Hd, 1, 0, 0, &w, rs));
    TIME("lstm_seq100", rk_rnn(RK_RNN_LSTM, y, hn, cn, x, h0, c0, S, 1, In, Hd, 1, 0, 0, &w, rs));
    rk_rnn_weights g = {w.w_ih, w.w_hh, w.b_ih, w.b_hh};   /* the first 3H rows serve as GRU weights */
    TIME("gru_step", rk_rnn(RK_RNN_GRU, y, hn, NULL, x, h0, NULL, 1, 1, In, Hd, 1, 0, 0, &g, rs));
    return 0;
}
