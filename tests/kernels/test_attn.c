/* test_attn.c — src/gen/kernels/rk_attn.c against torch (tests/gen_kernels_attn.py).
 *
 * Usage: test_attn [FIXTURE_DIR]  (default $FIXTURES/kernels/attn).
 * Every output within 1e-4 of torch's (NaN rows where torch has them);
 * scratch is exactly the documented size, so ASan catches an overrun.
 */
#include "kcase.h"
#include "rk_attn.c"

static void run_sdpa(kt_case *c)
{
    int64_t B = kt_i(c, "B"), H = kt_i(c, "H"), Hkv = kt_i(c, "Hkv"), Tq = kt_i(c, "Tq"), Tk = kt_i(c, "Tk");
    int64_t D = kt_i(c, "D"), Dv = kt_i(c, "Dv");
    int causal = (int)kt_i(c, "causal");
    float scale = (float)kt_f(c, "scale");
    kt_tensor *q = kt_t(c, "q"), *k = kt_t(c, "k"), *v = kt_t(c, "v");
    rk_attn_mask m, *mp = NULL;
    if (kt_has_t(c, "mask")) {
        kt_tensor *mt = kt_t(c, "mask");
        int isbool = !strcmp(kt_p(c, "mask_kind")->word, "bool");
        if (rk_sdpa_mask(&m, isbool ? NULL : mt->data, isbool ? mt->data : NULL, mt->ndim, mt->size, B, H, Tq, Tk)) {
            kt_fail(c, "rk_sdpa_mask refused the mask");
            return;
        }
        mp = &m;
    }
    int64_t ns = rk_sdpa_scratch(Tq, Tk);
    float *scratch = kt_xmalloc(sizeof(float) * (size_t)ns);
    float *o = kt_out(c, "out");
    int rc;
    if (!strcmp(kt_p(c, "layout")->word, "bthd")) {
        rk_attn_io qs = {Tq * H * D, D, H * D}, ks = {Tk * Hkv * D, D, Hkv * D};
        rk_attn_io vs = {Tk * Hkv * Dv, Dv, Hkv * Dv}, os = {Tq * H * Dv, Dv, H * Dv};
        rc = rk_sdpa_strided(o, os, q->data, qs, k->data, ks, v->data, vs, B, H, Hkv, Tq, Tk, D, Dv, mp, NULL,
                             causal, scale, scratch);
    } else {
        rc = rk_sdpa(o, q->data, k->data, v->data, B, H, Hkv, Tq, Tk, D, Dv, mp, causal, scale, scratch);
    }
    if (rc) kt_fail(c, "refused");
    else kt_check_f32(c, o, "out");
    free(o);
    free(scratch);
}

static void run_rope(kt_case *c)
{
    int64_t T = kt_i(c, "T"), rot = kt_i(c, "rot"), outer = kt_i(c, "outer"), inner = kt_i(c, "inner");
    int64_t D = kt_i(c, "D");
    kt_tensor *x = kt_t(c, "x");
    float *ct = kt_xmalloc(sizeof(float) * (size_t)(T * rot / 2)), *st = kt_xmalloc(sizeof(float) * (size_t)(T * rot / 2));
    rk_rope_table(ct, st, T, rot, (float)kt_f(c, "base"), kt_t(c, "pos")->data);
    float *y = kt_xmalloc(x->nbytes);
    memcpy(y, x->data, x->nbytes);
    rk_rope(y, outer, T, inner, D, rot, ct, st, (int)kt_i(c, "interleaved"));
    kt_check_f32(c, y, "out");
    free(y);
    free(ct);
    free(st);
}

static void run_mha(kt_case *c)
{
    int64_t E = kt_i(c, "E"), H = kt_i(c, "H"), N = kt_i(c, "N"), L = kt_i(c, "L"), S = kt_i(c, "S");
    int bf = (int)kt_i(c, "batch_first"), self = (int)kt_i(c, "self");
    kt_tensor *q = kt_t(c, "query");
    const float *key = self ? q->data : kt_t(c, "key")->data, *value = self ? q->data : kt_t(c, "value")->data;
    const float *in_b = kt_has_t(c, "in_b") ? kt_t(c, "in_b")->data : NULL;
    const float *out_b = kt_has_t(c, "out_b") ? kt_t(c, "out_b")->data : NULL;
    rk_attn_mask am, kp, *amp = NULL, *kpp = NULL;
    if (kt_has_t(c, "attn_mask")) {
        kt_tensor *t = kt_t(c, "attn_mask");
        int isbool = !strcmp(kt_p(c, "mask_kind")->word, "bool");
        if (rk_mha_attn_mask(&am, isbool ? NULL : t->data, isbool ? t->data : NULL, t->ndim, H, L, S)) {
            kt_fail(c, "rk_mha_attn_mask refused");
            return;
        }
        amp = &am;
    }
    if (kt_has_t(c, "kpm")) {
        kt_tensor *t = kt_t(c, "kpm");
        int isbool = !strcmp(kt_p(c, "kpm_kind")->word, "bool");
        if (rk_mha_key_padding_mask(&kp, isbool ? NULL : t->data, isbool ? t->data : NULL, S)) {
            kt_fail(c, "rk_mha_key_padding_mask refused");
            return;
        }
        kpp = &kp;
    }
    int64_t ns = rk_mha_scratch(N, L, S, E);
    float *scratch = kt_xmalloc(sizeof(float) * (size_t)ns);
    float *y = kt_out(c, "out");
    if (rk_mha(y, q->data, key, value, N, L, S, E, H, bf, kt_t(c, "in_w")->data, in_b, kt_t(c, "out_w")->data, out_b,
               amp, kpp, scratch))
        kt_fail(c, "refused");
    else kt_check_f32(c, y, "out");
    free(y);
    free(scratch);
}

/* rk_attn_exp against libm's expf over the range softmax uses (not a
 * torch comparison: the kernel's own approximation, 2 ulp allowed), and
 * rk_attn_softmax_row's -inf and NaN rules. */
static void check_exp(void)
{
    double worst = 0;
    for (float x = -87.0f; x <= 0.0f; x += 0.0013f) {
        double e = fabs((double)rk_attn_exp(x) - (double)expf(x)) / (double)expf(x);
        if (e > worst) worst = e;
    }
    float row[11] = {1.0f, -INFINITY, 0.5f, -INFINITY, 2.0f, -1e30f, 0.0f, 1.0f, -INFINITY, 3.0f, -2.0f};
    rk_attn_softmax_row(row, 11);
    float allinf[3] = {-INFINITY, -INFINITY, -INFINITY};
    rk_attn_softmax_row(allinf, 3);
    int ok = worst <= 2.4e-7 && isnan(rk_attn_exp(NAN)) && row[1] == 0.0f && row[3] == 0.0f && row[5] == 0.0f &&
             row[8] == 0.0f && isnan(allinf[0]) && isnan(allinf[2]);
    printf("%-40s %-20s maxrel %.3g  %s\n", "attn_exp_vs_expf", "(self-check)", worst, ok ? "ok" : "FAIL");
    if (ok) kt_passed++;
    else kt_failed++;
}

int main(int argc, char **argv)
{
    kt_case *cs;
    int n = kt_load(kt_dir(argc, argv, "attn"), &cs);
    for (int i = 0; i < n; i++) {
        if (!strcmp(cs[i].op, "sdpa")) run_sdpa(&cs[i]);
        else if (!strcmp(cs[i].op, "rope")) run_rope(&cs[i]);
        else if (!strcmp(cs[i].op, "mha")) run_mha(&cs[i]);
        else kt_fail(&cs[i], "unknown op");
    }
    check_exp();
    kt_free(cs, n);
    return kt_finish();
}
