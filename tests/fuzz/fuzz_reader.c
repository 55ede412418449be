/* fuzz_reader.c — libFuzzer target over librcc's whole read path.
 *
 * Opens the input as a weight file (rcc_open_memory), strictly, with
 * allow_damaged and with allow_calls, walks every tensor, storage and
 * module record, and reads every tensor both ways; then scans it as
 * `rcc scan` does.  Any crash, leak,
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
        /* bits: a packed dtype (f4e2m1fn, f6*) is smaller than a byte */
        CHECK(t->nbytes * 8 == t->numel * (uint64_t)rcc_dtype_bits(t->dtype));
        if (t->nbytes > (64u << 20))
            continue;   /* a legitimate but large view: not worth the fuzzer's time */
        void *buf = malloc(t->nbytes ? t->nbytes : 1);
        float *fb = malloc(t->numel ? t->numel * sizeof(float) : 1);
        if (buf && fb) {
            int r = rcc_read(f, t, buf, t->nbytes, err, sizeof err);
            /* allow_damaged promises: intact tensors read back, lost ones do not */
            if (opt->allow_damaged)
                CHECK((r == 0) == (t->intact != 0));
            int r32 = rcc_read_f32(f, t, fb, t->numel, err, sizeof err);
            /* complex and FP6 have no float32 value, whatever the bytes */
            if (rcc_dtype_kind(t->dtype) == 'c' || t->dtype == RCC_F6E2M3FN || t->dtype == RCC_F6E3M2FN)
                CHECK(r32 == -1);
        }
        free(buf);
        free(fb);
    }
    rcc_verify(f, err, sizeof err);
    rcc_close(f);
}

/* rcc scan's pass: every global and call has its fields, and a code
 * call makes the verdict RUNS_CODE. */
static void scan(const uint8_t *data, size_t size)
{
    char err[512];
    rcc_open_options opt = {.scan = 1};
    rcc_file *f = rcc_open_memory(data, size, &opt, err, sizeof err);
    if (!f) {
        CHECK(memchr(err, 0, sizeof err) && err[0]);
        return;
    }
    for (size_t i = 0; i < rcc_global_count(f); i++) {
        const rcc_global *g = rcc_global_at(f, i);
        CHECK(g->name && g->record && g->use <= RCC_USE_CODE && (g->references || g->calls));
    }
    for (size_t i = 0; i < rcc_call_count(f); i++) {
        const rcc_call *c = rcc_call_at(f, i);
        CHECK(c->text && c->callable && c->record && !strchr(c->text, '\n'));
    }
    CHECK((rcc_call_count(f) > 0) == (rcc_load_verdict(f) == RCC_RUNS_CODE));
    rcc_close(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    rcc_open_options strict = {0}, damaged = {.allow_damaged = 1}, calls = {.allow_calls = 1};
    one(data, size, &strict);
    one(data, size, &damaged);
    one(data, size, &calls);
    scan(data, size);
    return 0;
}
