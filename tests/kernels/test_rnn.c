/* test_rnn.c — src/gen/kernels/rk_rnn.c against torch (tests/gen_kernels_rnn.py).
 *
 * Usage: test_rnn [FIXTURE_DIR]  (default $FIXTURES/kernels/rnn).
 * The output sequence, h_n and c_n each within 1e-4 of torch's; the
 * weights are looked up by torch's state-dict names.
 */
#include "kcase.h"
#include "rk_rnn.c"

static void run(kt_case *c)
{
    const char *m = kt_p(c, "mode")->word;
    rk_rnn_mode mode = !strcmp(m, "lstm") ? RK_RNN_LSTM : !strcmp(m, "gru") ? RK_RNN_GRU
                     : !strcmp(m, "rnn_relu") ? RK_RNN_RELU : RK_RNN_TANH;
    int64_t In = kt_i(c, "In"), H = kt_i(c, "H"), T = kt_i(c, "T"), N = kt_i(c, "N");
    int layers = (int)kt_i(c, "layers"), bidir = (int)kt_i(c, "bidir"), bf = (int)kt_i(c, "batch_first");
    int bias = (int)kt_i(c, "bias"), D = bidir ? 2 : 1;
    rk_rnn_weights w[16];
    char nm[64];
    for (int l = 0; l < layers; l++)
        for (int d = 0; d < D; d++) {
            const char *sfx = d ? "_reverse" : "";
            rk_rnn_weights *wl = &w[l * D + d];
            snprintf(nm, sizeof nm, "weight_ih_l%d%s", l, sfx);
            wl->w_ih = kt_t(c, nm)->data;
            snprintf(nm, sizeof nm, "weight_hh_l%d%s", l, sfx);
            wl->w_hh = kt_t(c, nm)->data;
            wl->b_ih = wl->b_hh = NULL;
            if (bias) {
                snprintf(nm, sizeof nm, "bias_ih_l%d%s", l, sfx);
                wl->b_ih = kt_t(c, nm)->data;
                snprintf(nm, sizeof nm, "bias_hh_l%d%s", l, sfx);
                wl->b_hh = kt_t(c, nm)->data;
            }
        }
    int64_t ns = rk_rnn_scratch(mode, T, N, H, layers, bidir);
    float *scratch = kt_xmalloc(sizeof(float) * (size_t)ns);
    float *y = kt_out(c, "out"), *hn = kt_out(c, "h_n");
    float *cn = mode == RK_RNN_LSTM ? kt_out(c, "c_n") : NULL;
    const float *h0 = kt_has_t(c, "h0") ? kt_t(c, "h0")->data : NULL;
    const float *c0 = kt_has_t(c, "c0") ? kt_t(c, "c0")->data : NULL;
    if (rk_rnn(mode, y, hn, cn, kt_t(c, "x")->data, h0, c0, T, N, In, H, layers, bidir, bf, w, scratch)) {
        kt_fail(c, "refused");
    } else {
        kt_check_f32(c, y, "out");
        kt_check_f32(c, hn, "h_n");
        if (cn) kt_check_f32(c, cn, "c_n");
    }
    free(scratch);
    free(y);
    free(hn);
    free(cn);
}

int main(int argc, char **argv)
{
    kt_case *cs;
    int n = kt_load(kt_dir(argc, argv, "rnn"), &cs);
    for (int i = 0; i < n; i++) run(&cs[i]);
    kt_free(cs, n);
    return kt_finish();
}
