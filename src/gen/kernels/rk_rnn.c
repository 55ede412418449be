/* rk_rnn.c — torch.nn.LSTM, GRU and RNN (tanh / relu) forward: several
 * layers, bidirectional, batch_first or not, initial states given or
 * zero; the output sequence and the final h_n (and c_n).
 *
 *
 * torch's gate order and formulas: LSTM rows of W are i, f, g, o
 *   c' = sigmoid(f) * c + sigmoid(i) * tanh(g),  h' = sigmoid(o) * tanh(c');
 * GRU rows are r, z, n, and b_hn stays inside the reset gate
 *   n = tanh(W_in x + b_in + r * (W_hn h + b_hn)),  h' = (1 - z) * n + z * h.
 * Per layer and direction the input projection of every timestep is one
 * GEMM, [T*N, In] x W_ih^T -> the gate pre-activations G, with the
 * biases folded in (all of b_hh too, except GRU's b_hn).  The recurrence
 * then costs one GEMV per step at batch 1 (a GEMM at batch N) adding
 * W_hh h to that step's rows of G in place, then a pointwise pass.  h is
 * never copied: each step reads the previous h straight from the output
 * sequence (or h0) through its row stride, and writes the new one there.
 * A bidirectional layer runs forward, then backward, each writing its
 * half of the output rows; layers ping-pong between y and one scratch
 * sequence so that the last layer writes y.  Cost per layer and
 * direction: 2*T*N*G*H*(In + H) flops (G gates) at OpenBLAS's speed plus
 * T*N*G*H transcendental functions.  Weights W_hh (G*H x H floats) are
 * re-read each step: for large H the step is memory-bound.
 *
 * Not supported (torch options): proj_size, packed sequences; dropout
 * between layers is an inference no-op.
 */
#include <cblas.h>

#include "rk_common.h"

typedef enum rk_rnn_mode { RK_RNN_LSTM, RK_RNN_GRU, RK_RNN_TANH, RK_RNN_RELU } rk_rnn_mode;

/* One layer and direction's parameters as torch names them
 * (weight_ih_l{k}[_reverse] ...); biases may be NULL (bias=False). */
typedef struct rk_rnn_weights { const float *w_ih, *w_hh, *b_ih, *b_hh; } rk_rnn_weights;

static int64_t rk_rnn_gates(rk_rnn_mode m)
{
    return m == RK_RNN_LSTM ? 4 : m == RK_RNN_GRU ? 3 : 1;
}

/* Scratch of rk_rnn, in floats: T*N*G*H (the gates of one layer and
 * direction) + T*N*D*H when layers > 1 (the other sequence buffer) +
 * N*G*H (GRU's recurrent gates) + N*H (LSTM's cell state); D is 2 when
 * bidirectional, G the gate count (4 LSTM, 3 GRU, 1 RNN). */
static int64_t rk_rnn_scratch(rk_rnn_mode m, int64_t T, int64_t N, int64_t H, int layers, int bidir)
{
    int64_t G = rk_rnn_gates(m), D = bidir ? 2 : 1;
    return T * N * G * H + (layers > 1 ? T * N * D * H : 0) + N * G * H + N * H;
}

static inline float rk_rnn_sigmoid(float v)
{
    return 1.0f / (1.0f + expf(-v));
}

/* One step's pointwise part for n rows.  g: the gate rows (row stride
 * ldg), already holding W_ih x + biases + W_hh h (LSTM, RNN); gh: GRU's
 * W_hh h rows (stride G*H, no bias); hp: previous h (stride ldp, NULL
 * for zeros); h: the new h (stride ldh); c: LSTM cell state [n, H]. */
static void rk_rnn_pointwise(rk_rnn_mode m, int64_t n, int64_t H, float *g, int64_t ldg, const float *gh,
                             const float *b_hn, const float *hp, int64_t ldp, float *h, int64_t ldh, float *c)
{
    for (int64_t r = 0; r < n; r++) {
        float *gr = g + r * ldg, *hr = h + r * ldh;
        const float *pr = hp ? hp + r * ldp : NULL;
        switch (m) {
        case RK_RNN_LSTM: {
            float *cr = c + r * H;
            for (int64_t j = 0; j < H; j++) {
                float i = rk_rnn_sigmoid(gr[j]), f = rk_rnn_sigmoid(gr[H + j]);
                float gg = tanhf(gr[2 * H + j]), o = rk_rnn_sigmoid(gr[3 * H + j]);
                float cn = f * cr[j] + i * gg;
                cr[j] = cn;
                hr[j] = o * tanhf(cn);
            }
            break;
        }
        case RK_RNN_GRU: {
            const float *ghr = gh + r * 3 * H;
            for (int64_t j = 0; j < H; j++) {
                float rg = rk_rnn_sigmoid(gr[j] + ghr[j]);
                float z = rk_rnn_sigmoid(gr[H + j] + ghr[H + j]);
                float nn = tanhf(gr[2 * H + j] + rg * (ghr[2 * H + j] + (b_hn ? b_hn[j] : 0.0f)));
                float prev = pr ? pr[j] : 0.0f;
                hr[j] = (1.0f - z) * nn + z * prev;
            }
            break;
        }
        case RK_RNN_TANH:
            for (int64_t j = 0; j < H; j++) hr[j] = tanhf(gr[j]);
            break;
        case RK_RNN_RELU:
            for (int64_t j = 0; j < H; j++) hr[j] = gr[j] > 0.0f ? gr[j] : 0.0f;
            break;
        }
    }
}

/* y, h_n (c_n) = nn.LSTM / GRU / RNN(x, (h0, c0)) in eval mode.
 * x (T, N, In) or (N, T, In) when batch_first; y (T, N, D*H) or
 * (N, T, D*H); h0, c0, h_n, c_n (layers*D, N, H) whatever batch_first
 * (h0, c0 NULL: zeros; c0, c_n LSTM only; h_n, c_n may be NULL).
 * w: layers*D entries, index layer*D + direction.  scratch:
 * rk_rnn_scratch floats.  -1 on bad sizes. */
static int rk_rnn(rk_rnn_mode mode, float *y, float *h_n, float *c_n, const float *x, const float *h0,
                  const float *c0, int64_t T, int64_t N, int64_t In, int64_t H, int layers, int bidir,
                  int batch_first, const rk_rnn_weights *w, float *scratch)
{
    int64_t G = rk_rnn_gates(mode), D = bidir ? 2 : 1, GH = G * H, DH = D * H;
    if (T < 0 || N < 1 || In < 1 || H < 1 || layers < 1) return -1;
    float *gates = scratch, *other = gates + T * N * GH;
    float *ghbuf = other + (layers > 1 ? T * N * DH : 0), *cbuf = ghbuf + N * GH;
    /* row (t, n) of a sequence: index t*N + n, or n*T + t when batch_first */
    int64_t rt = batch_first ? 1 : N, rn = batch_first ? T : 1;
    const float *in = x;
    int64_t in_size = In;
    for (int l = 0; l < layers; l++) {
        float *out = ((layers - 1 - l) % 2 == 0) ? y : other;
        for (int64_t d = 0; d < D; d++) {
            const rk_rnn_weights *wl = &w[l * D + d];
            if (T > 0)
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)(T * N), (int)GH, (int)in_size, 1.0f, in,
                            (int)in_size, wl->w_ih, (int)in_size, 0.0f, gates, (int)GH);
            /* biases: b_ih, and b_hh except GRU's b_hn */
            int64_t nh = mode == RK_RNN_GRU ? 2 * H : GH;
            for (int64_t r = 0; r < T * N; r++) {
                float *gr = gates + r * GH;
                if (wl->b_ih)
                    for (int64_t j = 0; j < GH; j++) gr[j] += wl->b_ih[j];
                if (wl->b_hh)
                    for (int64_t j = 0; j < nh; j++) gr[j] += wl->b_hh[j];
            }
            const float *hinit = h0 ? h0 + (l * D + d) * N * H : NULL;
            if (mode == RK_RNN_LSTM) {
                if (c0) memcpy(cbuf, c0 + (l * D + d) * N * H, sizeof *cbuf * (size_t)(N * H));
                else memset(cbuf, 0, sizeof *cbuf * (size_t)(N * H));
            }
            const float *b_hn = mode == RK_RNN_GRU && wl->b_hh ? wl->b_hh + 2 * H : NULL;
            int64_t ldo = rn * DH;               /* row stride of h in the sequence (between batch rows) */
            for (int64_t s = 0; s < T; s++) {
                int64_t t = d == 0 ? s : T - 1 - s;
                const float *hp;
                int64_t ldp;
                if (s == 0) {
                    hp = hinit;
                    ldp = H;
                } else {
                    int64_t tp = d == 0 ? t - 1 : t + 1;
                    hp = out + tp * rt * DH + d * H;
                    ldp = ldo;
                }
                float *gt = gates + t * rt * GH;
                int64_t ldg = rn * GH;
                float *gh = gt;
                if (mode == RK_RNN_GRU) {
                    gh = ghbuf;
                    if (!hp) memset(ghbuf, 0, sizeof *ghbuf * (size_t)(N * GH));
                }
                if (hp) {
                    float beta = mode == RK_RNN_GRU ? 0.0f : 1.0f;
                    int64_t ldgh = mode == RK_RNN_GRU ? GH : ldg;
                    if (N == 1)
                        cblas_sgemv(CblasRowMajor, CblasNoTrans, (int)GH, (int)H, 1.0f, wl->w_hh, (int)H, hp, 1, beta,
                                    gh, 1);
                    else
                        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)N, (int)GH, (int)H, 1.0f, hp,
                                    (int)ldp, wl->w_hh, (int)H, beta, gh, (int)ldgh);
                }
                rk_rnn_pointwise(mode, N, H, gt, ldg, ghbuf, b_hn, hp, ldp, out + t * rt * DH + d * H, ldo, cbuf);
            }
            /* final states: the last step's h (t = T-1 forward, 0 backward) */
            if (h_n) {
                float *hn = h_n + (l * D + d) * N * H;
                for (int64_t n = 0; n < N; n++) {
                    if (T == 0) {
                        for (int64_t j = 0; j < H; j++) hn[n * H + j] = hinit ? hinit[n * H + j] : 0.0f;
                        continue;
                    }
                    int64_t tl = d == 0 ? T - 1 : 0;
                    memcpy(hn + n * H, out + (tl * rt + n * rn) * DH + d * H, sizeof *hn * (size_t)H);
                }
            }
            if (c_n && mode == RK_RNN_LSTM) memcpy(c_n + (l * D + d) * N * H, cbuf, sizeof *c_n * (size_t)(N * H));
        }
        in = out;
        in_size = DH;
    }
    return 0;
}
