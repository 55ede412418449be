/* readall.c — test program for librcc: read every tensor of a weight file.
 *
 *   readall W VALUES_OUT F32_OUT [KEY]
 *
 * KEY, when given, is passed as rcc_open_options.key (rcc dump --key).
 * For each tensor of W's state dict, in order, writes the bytes rcc_read
 * gives (the tensor's own dtype, contiguous, row-major; complex: (re, im)
 * pairs in the tensor's own precision) to VALUES_OUT and the floats
 * rcc_read_f32 gives to F32_OUT.  tests/torch-parity.sh compares both, bit
 * for bit, with NAME.values.bin and NAME.f32.bin made by PyTorch.
 *
 * A complex tensor (c64, c128) has no float32 reading, nor has a packed
 * FP6 one (f6e2m3fn, f6e3m2fn): rcc_read_f32 must return -1 with a
 * message that says "complex" or "packed", and must not write past its
 * buffer; nothing goes to F32_OUT for that tensor (NAME.f32.bin has no
 * entry for it either).  A packed dtype's nbytes is numel * bits / 8.
 *
 * On the way it checks what rcc.h promises about each rcc_tensor record
 * (numel is the product of the shape, nbytes = numel * dtype size, the
 * storage index is valid, rcc_find_tensor finds the record by its name)
 * and that neither read writes past the length it is given.
 *
 * Exit 0 on success; 2 with one line "readall: error: W: ..." on stderr on
 * any error, and then no output file is left behind.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rcc.h"

#define GUARD 64                /* canary bytes after each read buffer */
#define GUARD_BYTE 0xA5

static const char *g_weights = "?";
static const char *g_outs[2];
static FILE *g_files[2];
static rcc_file *g_rf;
static void *g_bufs[2];   /* the read buffers in use, which die() frees */

#if defined(__GNUC__)
__attribute__((format(printf, 1, 2), noreturn))
#endif
static void die(const char *fmt, ...)
{
    va_list ap;
    int i;

    fprintf(stderr, "readall: error: %s: ", g_weights);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    for (i = 0; i < 2; i++) {
        if (g_files[i]) {
            fclose(g_files[i]);
            g_files[i] = NULL;
        }
        if (g_outs[i])
            remove(g_outs[i]);
    }
    for (i = 0; i < 2; i++)
        free(g_bufs[i]);
    if (g_rf)
        rcc_close(g_rf);
    exit(2);
}

static void *xmalloc(uint64_t n)
{
    void *p;

    if (n > (uint64_t)SIZE_MAX - GUARD)
        die("%llu bytes do not fit in memory", (unsigned long long)n);
    p = malloc((size_t)n + GUARD);
    if (!p)
        die("out of memory (%llu bytes)", (unsigned long long)n);
    memset(p, GUARD_BYTE, (size_t)n + GUARD);
    return p;
}

static int guard_intact(const void *buf, size_t n)
{
    const unsigned char *g = (const unsigned char *)buf + n;
    size_t i;

    for (i = 0; i < GUARD; i++)
        if (g[i] != GUARD_BYTE)
            return 0;
    return 1;
}

/* The dtypes rcc_read_f32 refuses, by name, and the word its message
 * must say: c64 and c128 "complex", f6e2m3fn and f6e3m2fn "packed". */
static const char *no_f32(rcc_dtype d)
{
    const char *n = rcc_dtype_name(d);

    if (n && (strcmp(n, "c64") == 0 || strcmp(n, "c128") == 0))
        return "complex";
    if (n && (strcmp(n, "f6e2m3fn") == 0 || strcmp(n, "f6e3m2fn") == 0))
        return "packed";
    return NULL;
}

static void put(int which, const void *buf, size_t n)
{
    if (n && fwrite(buf, 1, n, g_files[which]) != n)
        die("cannot write %s", g_outs[which]);
}

/* The record's own consistency, as rcc.h describes it. */
static void check_record(const rcc_file *f, size_t i, const rcc_tensor *t)
{
    uint64_t numel = 1;
    size_t esize;
    int d;

    if (!t)
        die("rcc_tensor_at(%zu) is NULL (count %zu)", i, rcc_tensor_count(f));
    if (!t->name)
        die("tensor #%zu has no name", i);
    if ((unsigned)t->dtype >= RCC_DTYPE_COUNT)
        die("%s: dtype %d out of range", t->name, (int)t->dtype);
    if (!rcc_dtype_name(t->dtype))
        die("%s: rcc_dtype_name(%d) is NULL", t->name, (int)t->dtype);
    if (t->ndim < 0 || t->ndim > RCC_MAX_NDIM)
        die("%s: ndim %d out of range", t->name, t->ndim);
    if (t->ndim > 0 && (!t->shape || !t->strides))
        die("%s: ndim %d but no shape/strides", t->name, t->ndim);
    for (d = 0; d < t->ndim; d++) {
        if (t->shape[d] < 0 || t->strides[d] < 0)
            die("%s: negative size or stride in dim %d", t->name, d);
        if (t->shape[d] != 0 && numel > UINT64_MAX / (uint64_t)t->shape[d])
            die("%s: element count overflows", t->name);
        numel *= (uint64_t)t->shape[d];
    }
    if (numel != t->numel)
        die("%s: numel %llu, but the shape gives %llu", t->name,
            (unsigned long long)t->numel, (unsigned long long)numel);
    /* bits, not bytes: the packed dtypes (f4e2m1fn, f6*) are smaller than a byte */
    esize = (size_t)rcc_dtype_bits(t->dtype);
    if (esize == 0 || (rcc_dtype_size(t->dtype) && esize != 8 * rcc_dtype_size(t->dtype)) ||
        numel > UINT64_MAX / esize || (numel * esize) % 8 || t->nbytes != numel * esize / 8)
        die("%s: nbytes %llu, but numel * dtype bits / 8 is %llu * %zu / 8", t->name,
            (unsigned long long)t->nbytes, (unsigned long long)numel, esize);
    if (t->storage >= rcc_storage_count(f))
        die("%s: storage index %zu out of range (%zu storages)", t->name,
            t->storage, rcc_storage_count(f));
    if (t->storage_offset < 0)
        die("%s: negative storage offset %lld", t->name,
            (long long)t->storage_offset);
    if (rcc_find_tensor(f, t->name) != t)
        die("%s: rcc_find_tensor does not give back tensor #%zu", t->name, i);
}

int main(int argc, char **argv)
{
    char err[512];
    size_t i, n;
    int k, r;

    if (argc != 4 && argc != 5) {
        fprintf(stderr, "usage: readall W VALUES_OUT F32_OUT [KEY]\n");
        return 2;
    }
    g_weights = argv[1];

    err[0] = '\0';
    rcc_open_options opt = {.key = argc == 5 ? argv[4] : NULL};
    g_rf = rcc_open(argv[1], &opt, err, sizeof err);
    if (!g_rf)
        die("rcc_open: %s", err[0] ? err : "(no message)");

    for (k = 0; k < 2; k++) {
        g_outs[k] = argv[2 + k];
        g_files[k] = fopen(g_outs[k], "wb");
        if (!g_files[k])
            die("cannot create %s", g_outs[k]);
    }

    n = rcc_tensor_count(g_rf);
    for (i = 0; i < n; i++) {
        const rcc_tensor *t = rcc_tensor_at(g_rf, i);
        void *buf;
        float *fbuf;
        uint64_t fbytes;

        check_record(g_rf, i, t);

        buf = g_bufs[0] = xmalloc(t->nbytes);
        err[0] = '\0';
        if (rcc_read(g_rf, t, buf, (size_t)t->nbytes, err, sizeof err) != 0)
            die("rcc_read(%s): %s", t->name, err[0] ? err : "(no message)");
        if (!guard_intact(buf, (size_t)t->nbytes))
            die("rcc_read(%s) wrote past the %llu bytes it was given", t->name,
                (unsigned long long)t->nbytes);
        put(0, buf, (size_t)t->nbytes);
        free(buf);
        g_bufs[0] = NULL;

        if (t->numel > UINT64_MAX / sizeof(float))
            die("%s: too many elements", t->name);
        fbytes = t->numel * sizeof(float);
        fbuf = g_bufs[1] = xmalloc(fbytes);
        err[0] = '\0';
        r = rcc_read_f32(g_rf, t, fbuf, (size_t)t->numel, err, sizeof err);
        if (no_f32(t->dtype)) {
            if (r != -1)
                die("rcc_read_f32(%s) of a %s tensor returned %d, expected -1", t->name, no_f32(t->dtype), r);
            if (!err[0] || !strstr(err, no_f32(t->dtype)))
                die("rcc_read_f32(%s) of a %s tensor: the message does not say '%s': '%s'",
                    t->name, no_f32(t->dtype), no_f32(t->dtype), err);
        } else if (r != 0) {
            die("rcc_read_f32(%s): %s", t->name, err[0] ? err : "(no message)");
        }
        if (!guard_intact(fbuf, (size_t)fbytes))
            die("rcc_read_f32(%s) wrote past the %llu floats it was given",
                t->name, (unsigned long long)t->numel);
        if (!no_f32(t->dtype))
            put(1, fbuf, (size_t)fbytes);
        free(fbuf);
        g_bufs[1] = NULL;
    }

    for (k = 0; k < 2; k++) {
        FILE *fp = g_files[k];

        g_files[k] = NULL;
        if (fclose(fp) != 0)
            die("cannot write %s", g_outs[k]);
    }
    rcc_close(g_rf);
    return 0;
}
