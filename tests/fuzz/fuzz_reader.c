/* fuzz_reader.c — libFuzzer target over librcc's whole read path.
 *
 * Opens the input as a weight file (rcc_open_memory), strictly and with
 * allow_damaged, walks every tensor, storage and module record, and reads
 * every tensor both ways.  Any crash, leak,
 * sanitizer report or broken invariant is a finding.  Build and run with
 * `make fuzz` (clang -fsanitize=fuzzer,address,undefined). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rcc.h"

#define CHECK(c) do { if (!(c)) abort(); } while (0)

/* One pass: open with opt, walk everything, read what is promised intact. */
static void one(const uint8_t *data, size_t size, const rcc_open_options *opt)
{
    char err[512];
    rcc_file *f = rcc_open_memory(data, size, opt, err, sizeof err);
    if (!f) {
        CHECK(memchr(err, 0, sizeof err) && err[0]);   /* an error always has a message */
        return;
    }
    for (size_t i = 0; i < rcc_summary_count(f); i++)
        CHECK(rcc_summary_at(f, i));
    for (size_t i = 0; i < rcc_module_count(f); i++)
        CHECK(rcc_module_at(f, i)->path && rcc_module_at(f, i)->type);
    for (size_t i = 0; i < rcc_tensor_count(f); i++) {
        const rcc_tensor *t = rcc_tensor_at(f, i);
        CHECK(t && t->storage < rcc_storage_count(f) && rcc_find_tensor(f, t->name));
        CHECK(t->nbytes == t->numel * rcc_dtype_size(t->dtype));
        if (t->nbytes > (64u << 20))
            continue;   /* a legitimate but large view: not worth the fuzzer's time */
        void *buf = malloc(t->nbytes ? t->nbytes : 1);
        float *fb = malloc(t->numel ? t->numel * sizeof(float) : 1);
        if (buf && fb) {
            int r = rcc_read(f, t, buf, t->nbytes, err, sizeof err);
            /* allow_damaged promises: intact tensors read back, lost ones do not */
            if (opt->allow_damaged)
                CHECK((r == 0) == (t->intact != 0));
            rcc_read_f32(f, t, fb, t->numel, err, sizeof err);
        }
        free(buf);
        free(fb);
    }
    rcc_verify(f, err, sizeof err);
    rcc_close(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    rcc_open_options strict = {0}, damaged = {.allow_damaged = 1};
    one(data, size, &strict);
    one(data, size, &damaged);
    return 0;
}
