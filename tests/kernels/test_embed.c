/* test_embed.c — src/gen/kernels/rk_embed.c against torch (tests/gen_kernels_embed.py).
 *
 * Good ids: the rows bit for bit.  Ids torch refuses: rk_embedding must
 * return -1 and leave its output as it was (the NaN fill of kt_out).
 */
#include "kt.h"

#include "rk_embed.c"

int main(void)
{
    kt_suite *s = kt_open("embed");
    kt_case *c;
    while ((c = kt_next(s))) {
        if (strcmp(c->op, "embedding") != 0) {
            KT_UNKNOWN(s);
            continue;
        }
        int64_t n, num = kt_i(c, "num"), dim = kt_i(c, "dim");
        const int64_t *ids = kt_in_i64(s, "ids", &n);
        float *y = kt_out(s, n * dim);
        int rc = rk_embedding(y, ids, n, kt_in(s, "table", NULL), num, dim);
        if (!kt_i(c, "bad")) {
            if (rc != 0)
                kt_fail(s, "returned %d for good ids", rc);
            else
                kt_check(s, "y", y, n * dim, KT_EXACT);
            continue;
        }
        int64_t touched = 0;
        for (int64_t i = 0; i < n * dim; i++) touched += !isnan(y[i]);
        if (rc != -1)
            kt_fail(s, "returned %d for an id torch refuses", rc);
        else if (touched || !kt_canaries(s))
            kt_fail(s, "returned -1 but wrote %lld output values", (long long)touched);
        else
            kt_pass(s, "     -1, output untouched");
    }
    return kt_end(s);
}
