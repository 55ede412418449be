/* test_resize.c — src/gen/kernels/rk_resize.c against torch (tests/gen_kernels_resize.py).
 *
 * Nearest modes and pixel shuffles bit for bit (they are copies: a wrong
 * source index is a wrong value), bilinear and bicubic at 1e-4.
 */
#include "kt.h"

#include "rk_resize.c"

int main(void)
{
    kt_suite *s = kt_open("resize");
    kt_case *c;
    while ((c = kt_next(s))) {
        int64_t n, ny;
        const float *x = kt_in(s, "x", &n);
        (void)kt_in(s, "y", &ny);
        float *y = kt_out(s, ny);
        int64_t N = kt_i(c, "N"), C = kt_i(c, "C"), H = kt_i(c, "H"), W = kt_i(c, "W");
        if (strcmp(c->op, "interpolate") == 0) {
            int64_t Ho = kt_i(c, "Ho"), Wo = kt_i(c, "Wo");
            int mode = (int)kt_i(c, "mode");
            if (N * C * Ho * Wo != ny) {
                kt_fail(s, "output size");
                continue;
            }
            if (mode == 3)
                rk_upsample_bicubic2d(y, x, N, C, H, W, Ho, Wo, (int)kt_i(c, "align"), kt_f(c, "scale_h"),
                                      kt_f(c, "scale_w"));
            else if (mode == 2)
                rk_upsample_bilinear2d(y, x, N, C, H, W, Ho, Wo, (int)kt_i(c, "align"), kt_f(c, "scale_h"),
                                       kt_f(c, "scale_w"));
            else
                rk_upsample_nearest2d(y, x, N, C, H, W, Ho, Wo, kt_f(c, "scale_h"), kt_f(c, "scale_w"), mode);
            kt_check(s, "y", y, ny, mode >= 2 ? KT_TOL : KT_EXACT);
        } else if (strcmp(c->op, "pixel_shuffle") == 0) {
            rk_pixel_shuffle(y, x, N, C, H, W, kt_i(c, "r"));
            kt_check(s, "y", y, ny, KT_EXACT);
        } else if (strcmp(c->op, "pixel_unshuffle") == 0) {
            rk_pixel_unshuffle(y, x, N, C, H, W, kt_i(c, "r"));
            kt_check(s, "y", y, ny, KT_EXACT);
        } else {
            KT_UNKNOWN(s);
        }
    }
    return kt_end(s);
}
