/* test_swin.c — src/gen/kernels/rk_swin.c against torchvision's
 * shifted_window_attention (tests/gen_kernels_swin.py).
 *
 * Each case runs rk_swin_attention with exactly rk_swin_scratch floats of
 * scratch (NaN-filled, canary tail) and compares y with torch's, 1e-4 of
 * max|torch|.  A case torch refuses (heads not dividing C) must return -1
 * and leave y untouched; that case also checks the kernel's own refusals
 * (a negative shift, a NULL bias table, a zero size) the same way.
 */
#include "kt.h"

#include "rk_act.c"
#include "rk_gemm.c"
#include "rk_swin.c"

static int64_t written(const float *y, int64_t n)
{
    int64_t k = 0;
    for (int64_t i = 0; i < n; i++) k += !isnan(y[i]);
    return k;
}

int main(void)
{
    kt_suite *s = kt_open("swin");
    kt_case *c;
    while ((c = kt_next(s))) {
        if (strcmp(c->op, "swin_attention") != 0) {
            KT_UNKNOWN(s);
            continue;
        }
        int64_t B = kt_i(c, "B"), H = kt_i(c, "H"), W = kt_i(c, "W"), C = kt_i(c, "C");
        int64_t wh = kt_i(c, "wh"), ww = kt_i(c, "ww"), sh = kt_i(c, "sh"), sw = kt_i(c, "sw");
        int64_t heads = kt_i(c, "heads"), n;
        const float *x = kt_in(s, "x", &n);
        const float *qkv_w = kt_in(s, "qkv_w", NULL), *proj_w = kt_in(s, "proj_w", NULL);
        const float *qkv_b = kt_opt(s, "qkv_b"), *proj_b = kt_opt(s, "proj_b");
        const float *rel = kt_in(s, "rel_bias", NULL);
        int64_t ns = rk_swin_scratch(B, H, W, C, wh, ww);
        if (ns < 0 || n != B * H * W * C) {
            kt_fail(s, "rk_swin_scratch gave %lld (x has %lld values)", (long long)ns, (long long)n);
            continue;
        }
        float *y = kt_out(s, n), *scratch = kt_out(s, ns);
        int rc = rk_swin_attention(y, x, B, H, W, C, wh, ww, sh, sw, heads, qkv_w, qkv_b, proj_w, proj_b, rel,
                                   scratch);
        if (!kt_i(c, "bad")) {
            if (rc != 0)
                kt_fail(s, "returned %d for sizes torch takes", rc);
            else
                kt_check(s, "y", y, n, KT_TOL);
            continue;
        }
        /* torch refuses these sizes: -1, nothing written */
        if (rc != -1 || written(y, n) || written(scratch, ns) || !kt_canaries(s))
            kt_fail(s, "returned %d (want -1) and wrote %lld values", rc, (long long)(written(y, n) + written(scratch, ns)));
        else
            kt_pass(s, "     -1, nothing written (heads %lld, C %lld)", (long long)heads, (long long)C);
        /* the kernel's own refusals, with heads made to divide C */
        int64_t ok_heads = 1;
        int r1 = rk_swin_attention(y, x, B, H, W, C, wh, ww, -1, sw, ok_heads, qkv_w, qkv_b, proj_w, proj_b, rel,
                                   scratch);
        int r2 = rk_swin_attention(y, x, B, H, W, C, wh, ww, sh, sw, ok_heads, qkv_w, qkv_b, proj_w, proj_b, NULL,
                                   scratch);
        int r3 = rk_swin_attention(y, x, B, H, W, C, 0, ww, sh, sw, ok_heads, qkv_w, qkv_b, proj_w, proj_b, rel,
                                   scratch);
        int64_t s0 = rk_swin_scratch(B, H, W, C, 0, ww), s1 = rk_swin_scratch(B, 0, W, C, wh, ww);
        if (r1 != -1 || r2 != -1 || r3 != -1 || s0 != -1 || s1 != -1 || written(y, n) || written(scratch, ns))
            kt_fail(s, "negative shift %d, NULL bias %d, window 0 %d, scratch %lld %lld (want -1 each, nothing written)",
                    r1, r2, r3, (long long)s0, (long long)s1);
        else
            kt_pass(s, "     -1 for a negative shift, a NULL bias table, a zero window or height");
    }
    return kt_end(s);
}
