/* load.c — what a generated model's loader calls: one tensor by exact name,
 * checked against the shape and kind the model expects, read contiguous.
 *
 * The generated code knows each tensor's shape from the spec, so a file that
 * does not fit is refused with one line naming the tensor and the first
 * mismatch (gen9.md): missing, another shape, or an integer tensor where a
 * floating one is expected (and the converse).  Floating tensors are read
 * as float32 through rcc_read_f32 (f16, bf16, FP8, FP4 exactly, f64 rounded);
 * integer tensors widen to int64 (unsigned ones as their values, bool as
 * 0/1; a u64 above INT64_MAX is refused).  A complex tensor is neither.
 */
#include <config.h>

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "rcc.h"

static int is_floating(rcc_dtype t) { return rcc_dtype_kind(t) == 'f'; }
static int is_integer(rcc_dtype t)
{
    int k = rcc_dtype_kind(t);
    return k == 'i' || k == 'u' || k == 'b';
}

/* "[10, 512]" into buf (cut short, never overrun, when buf is small). */
static void shape_str(char *buf, size_t len, int ndim, const int64_t *shape)
{
    size_t at = 0;
    int n = snprintf(buf, len, "[");
    for (int i = 0; n >= 0 && i < ndim; i++) {
        at = strlen(buf);
        n = snprintf(buf + at, len - at, "%s%lld", i ? ", " : "", (long long)shape[i]);
    }
    at = strlen(buf);
    snprintf(buf + at, len - at, "]");
}

/* The tensor named `name`, of exactly the shape asked, or NULL with the message. */
static const rcc_tensor *find_checked(const rcc_file *f, const char *name, int ndim, const int64_t *shape,
                                      char *err, size_t errlen)
{
    const rcc_tensor *t = rcc_find_tensor(f, name);
    if (!t) {
        snprintf(err, errlen, "missing tensor '%s'", name);
        return NULL;
    }
    if (ndim < 0 || ndim > RCC_MAX_NDIM || (ndim > 0 && !shape)) {
        snprintf(err, errlen, "'%s': the model asks for %d dimensions", name, ndim);
        return NULL;
    }
    int same = t->ndim == ndim;
    for (int i = 0; same && i < ndim; i++)
        same = t->shape[i] == shape[i];
    if (!same) {
        char has[256], want[256];
        shape_str(has, sizeof has, t->ndim, t->shape);
        shape_str(want, sizeof want, ndim, shape);
        snprintf(err, errlen, "'%s' has shape %s; the model expects %s", name, has, want);
        return NULL;
    }
    return t;
}

int rcc_load_f32(const rcc_file *f, const char *name, int ndim, const int64_t *shape, float *dst, char *err,
                 size_t errlen)
{
    const rcc_tensor *t = find_checked(f, name, ndim, shape, err, errlen);
    if (!t)
        return -1;
    if (!is_floating(t->dtype)) {
        snprintf(err, errlen, "'%s' is %s; the model expects a floating-point tensor", name, rcc_dtype_name(t->dtype));
        return -1;
    }
    if (t->numel > SIZE_MAX) {
        snprintf(err, errlen, "'%s' has too many elements", name);
        return -1;
    }
    return rcc_read_f32(f, t, dst, (size_t)t->numel, err, errlen);
}

int rcc_load_i64(const rcc_file *f, const char *name, int ndim, const int64_t *shape, int64_t *dst, char *err,
                 size_t errlen)
{
    const rcc_tensor *t = find_checked(f, name, ndim, shape, err, errlen);
    if (!t)
        return -1;
    if (!is_integer(t->dtype)) {
        snprintf(err, errlen, "'%s' is %s; the model expects an integer tensor", name, rcc_dtype_name(t->dtype));
        return -1;
    }
    if (t->numel > SIZE_MAX / sizeof *dst) {
        snprintf(err, errlen, "'%s' has too many elements", name);
        return -1;
    }
    /* The raw elements (at most 8 bytes each) fill the front of dst; widen
     * them in place from the last, which never overwrites one not yet read. */
    if (rcc_read(f, t, dst, (size_t)t->numel * sizeof *dst, err, errlen) != 0)
        return -1;
    const unsigned char *raw = (const unsigned char *)dst;
    if (t->dtype == RCC_U64) {   /* already 8 bytes each: in range, they are the int64s */
        for (uint64_t k = 0; k < t->numel; k++) {
            uint64_t x;
            memcpy(&x, raw + 8 * k, 8);
            if (x > INT64_MAX) {
                snprintf(err, errlen, "'%s' holds %llu (element %llu), more than an int64 holds", name,
                         (unsigned long long)x, (unsigned long long)k);
                return -1;
            }
        }
        return 0;
    }
    for (uint64_t k = t->dtype == RCC_I64 ? 0 : t->numel; k-- > 0;) {
        int64_t v;
        switch (t->dtype) {
        case RCC_I32: { int32_t x; memcpy(&x, raw + 4 * k, 4); v = x; break; }
        case RCC_I16: { int16_t x; memcpy(&x, raw + 2 * k, 2); v = x; break; }
        case RCC_I8: v = (int8_t)raw[k]; break;
        case RCC_U8: v = raw[k]; break;
        case RCC_BOOL: v = raw[k] != 0; break;
        case RCC_U16: { uint16_t x; memcpy(&x, raw + 2 * k, 2); v = x; break; }
        case RCC_U32: { uint32_t x; memcpy(&x, raw + 4 * k, 4); v = x; break; }
        default: memcpy(&v, raw + 8 * k, 8); break;
        }
        dst[k] = v;
    }
    return 0;
}
