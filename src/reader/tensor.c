/* tensor.c — reading a tensor's elements: views and dtype conversion.
 *
 * A tensor is a view (offset, sizes, strides) into a storage record; its
 * extent was proven to lie inside the storage when it was built, so the
 * gather below indexes without further checks.  Reading materialises the
 * view contiguously in row-major order, as torch's .contiguous() does, and
 * converts to float32 exactly as torch's .float() does: f16/bf16 widen
 * bit-exactly (NaN payloads kept), the FP8 and FP4 formats are decoded
 * from their fields (all exact in f32), f64 and integers round to nearest.
 * Complex and FP6 tensors have no float32 value.  A big-endian archive's
 * elements are swapped as they are read.
 */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static const struct {
    const char *name;
    size_t      size;
    char        kind;   /* rcc_dtype_kind */
} dtypes[RCC_DTYPE_COUNT] = {
    [RCC_F32] = {"f32", 4, 'f'},   [RCC_F16] = {"f16", 2, 'f'}, [RCC_BF16] = {"bf16", 2, 'f'},
    [RCC_F64] = {"f64", 8, 'f'},   [RCC_I64] = {"i64", 8, 'i'}, [RCC_I32] = {"i32", 4, 'i'},
    [RCC_I16] = {"i16", 2, 'i'},   [RCC_I8] = {"i8", 1, 'i'},   [RCC_U8] = {"u8", 1, 'u'},
    [RCC_BOOL] = {"bool", 1, 'b'}, [RCC_F8E4M3FN] = {"f8e4m3fn", 1, 'f'},
    [RCC_F8E5M2] = {"f8e5m2", 1, 'f'}, [RCC_F8E4M3FNUZ] = {"f8e4m3fnuz", 1, 'f'},
    [RCC_F8E5M2FNUZ] = {"f8e5m2fnuz", 1, 'f'}, [RCC_F8E8M0FNU] = {"f8e8m0fnu", 1, 'f'},
    [RCC_U16] = {"u16", 2, 'u'},   [RCC_U32] = {"u32", 4, 'u'}, [RCC_U64] = {"u64", 8, 'u'},
    [RCC_C64] = {"c64", 8, 'c'},   [RCC_C128] = {"c128", 16, 'c'},
    [RCC_F4E2M1FN] = {"f4e2m1fn", 0, 'f'}, [RCC_F6E2M3FN] = {"f6e2m3fn", 0, 'f'},
    [RCC_F6E3M2FN] = {"f6e3m2fn", 0, 'f'},
};

const char *rcc_dtype_name(rcc_dtype t) { return (unsigned)t < RCC_DTYPE_COUNT ? dtypes[t].name : "?"; }
size_t rcc_dtype_size(rcc_dtype t) { return (unsigned)t < RCC_DTYPE_COUNT ? dtypes[t].size : 0; }
int rcc_dtype_kind(rcc_dtype t) { return (unsigned)t < RCC_DTYPE_COUNT ? dtypes[t].kind : 0; }
int rcc_dtype_bits(rcc_dtype t)
{
    return t == RCC_F4E2M1FN ? 4 : t == RCC_F6E2M3FN || t == RCC_F6E3M2FN ? 6 : 8 * (int)rcc_dtype_size(t);
}

int tn_bytes(rcc_dtype t, uint64_t numel, uint64_t *nbytes)
{
    uint64_t bits;
    if (rcc_dtype_size(t))
        return mul_u64(numel, rcc_dtype_size(t), nbytes) ? -1 : 0;
    if (mul_u64(numel, (uint64_t)rcc_dtype_bits(t), &bits) || bits % 8)
        return -1;
    *nbytes = bits / 8;
    return 0;
}

/* The unit a byte swap reverses: the element, or each half of a complex
 * one (its real and imaginary parts are numbers of their own). */
size_t tn_swap_unit(rcc_dtype t)
{
    return rcc_dtype_size(t) ? rcc_dtype_size(t) / (rcc_dtype_kind(t) == 'c' ? 2 : 1) : 1;   /* packed: bytes */
}

const char *rcc_version(void) { return PACKAGE_VERSION; }

/* The tensor's bytes must lie inside its storage: offset + sum((size-1) *
 * stride) < numel, all in checked 64-bit arithmetic; and a view may not
 * make a copy much larger than its storage (zero strides). */
PtTensor *pt_tensor_make(Arena *a, PtStorage *st, rcc_dtype dt, int64_t offset, size_t nd, const int64_t *shape,
                         const int64_t *strides, Err *err)
{
    if (offset < 0) {
        err_set(err, "tensor has a negative storage offset");
        return NULL;
    }
    if (nd > RCC_MAX_NDIM) {
        err_set(err, "tensor has %zu dimensions, more than %d", nd, RCC_MAX_NDIM);
        return NULL;
    }
    /* One block: the record, then its sizes and strides (nd <= RCC_MAX_NDIM). */
    PtTensor *t = arena_alloc(a, sizeof(PtTensor) + 2 * (nd + 1) * sizeof(int64_t));
    if (!t) {
        err_set(err, "out of memory");
        return NULL;
    }
    t->shape = (int64_t *)(t + 1);
    t->strides = t->shape + nd + 1;
    uint64_t numel = 1, extent = (uint64_t)offset;
    for (size_t i = 0; i < nd; i++) {
        if (shape[i] < 0 || strides[i] < 0) {
            err_set(err, "tensor has a negative %s", shape[i] < 0 ? "size" : "stride");
            return NULL;
        }
        t->shape[i] = shape[i];
        t->strides[i] = strides[i];
        if (mul_u64(numel, (uint64_t)shape[i], &numel)) {
            err_set(err, "tensor element count overflows");
            return NULL;
        }
    }
    size_t isz = rcc_dtype_size(dt);
    if (!isz && (st->untyped || offset != 0 || numel != st->numel || !tn_contiguous(nd, shape, strides))) {
        err_set(err, "a %s tensor must be a whole contiguous storage (its elements are smaller than a byte)",
                rcc_dtype_name(dt));
        return NULL;
    }
    uint64_t stnumel = st->untyped ? st->nbytes / isz : st->numel;
    if (numel > 0) {
        for (size_t i = 0; i < nd; i++) {
            uint64_t span;
            if (mul_u64((uint64_t)shape[i] - 1, (uint64_t)strides[i], &span) || add_u64(extent, span, &extent)) {
                err_set(err, "tensor extent overflows");
                return NULL;
            }
        }
        if (extent >= stnumel) {
            err_set(err, "tensor extent exceeds storage %s (element %llu of %llu)", st->key,
                    (unsigned long long)extent, (unsigned long long)stnumel);
            return NULL;
        }
    }
    uint64_t nbytes;
    if (numel > INT64_MAX || tn_bytes(dt, numel, &nbytes) < 0 || (nbytes > st->nbytes && nbytes > ((uint64_t)1 << 30))) {
        err_set(err, "tensor view of storage %s would materialise too many bytes", st->key);
        return NULL;
    }
    if (st->untyped && st->numel == st->nbytes && dt != RCC_U8)
        st->dtype = dt;   /* an untyped storage takes its first user's dtype */
    t->st = st;
    t->dtype = dt;
    t->ndim = (int)nd;
    t->offset = offset;
    t->numel = numel;
    return t;
}

/* The same from pickled values: an int offset and tuples of ints. */
PtTensor *pt_tensor_new(Arena *a, PtStorage *st, rcc_dtype dt, Pv *offset, Pv *size, Pv *stride, Err *err)
{
    if (offset->kind != PV_INT) {
        err_set(err, "storage offset is not an int");
        return NULL;
    }
    if ((size->kind != PV_TUPLE && size->kind != PV_LIST) || (stride->kind != PV_TUPLE && stride->kind != PV_LIST)) {
        err_set(err, "tensor size or stride is not a tuple");
        return NULL;
    }
    size_t nd = size->u.seq.n;
    if (nd > RCC_MAX_NDIM) {
        err_set(err, "tensor has %zu dimensions, more than %d", nd, RCC_MAX_NDIM);
        return NULL;
    }
    if (stride->u.seq.n != nd) {
        err_set(err, "tensor has %zu sizes but %zu strides", nd, (size_t)stride->u.seq.n);
        return NULL;
    }
    int64_t sh[RCC_MAX_NDIM], sd[RCC_MAX_NDIM];
    for (size_t i = 0; i < nd; i++) {
        Pv *s = size->u.seq.v[i], *d = stride->u.seq.v[i];
        if (s->kind != PV_INT || d->kind != PV_INT) {
            err_set(err, "tensor size or stride holds a %s", pv_kind_name(s->kind != PV_INT ? s->kind : d->kind));
            return NULL;
        }
        sh[i] = s->u.i;
        sd[i] = d->u.i;
    }
    return pt_tensor_make(a, st, dt, offset->u.i, nd, sh, sd, err);
}

/* Row-major contiguous: size-1 dimensions may carry any stride. */
int tn_contiguous(size_t nd, const int64_t *shape, const int64_t *strides)
{
    int64_t expect = 1;
    for (size_t d = nd; d-- > 0;) {
        if (shape[d] != 1 && strides[d] != expect)
            return 0;
        expect *= shape[d];
    }
    return 1;
}

void tn_gather(const rcc_tensor *t, const uint8_t *sbytes, void *dst)
{
    size_t isz = rcc_dtype_size(t->dtype);
    uint8_t *out = dst;
    if (t->numel == 0)
        return;
    const uint8_t *base = sbytes + (uint64_t)t->storage_offset * isz;
    if (!isz) {   /* packed: a whole storage (pt_tensor_make) */
        memcpy(out, sbytes, t->nbytes);
    } else if (tn_contiguous((size_t)t->ndim, t->shape, t->strides)) {
        memcpy(out, base, t->numel * isz);
    } else {
        /* Odometer over all but the last dimension; the last is a strided run. */
        int64_t idx[RCC_MAX_NDIM] = {0};
        int last = t->ndim - 1;
        uint64_t run = (uint64_t)t->shape[last], step = (uint64_t)t->strides[last] * isz;
        for (uint64_t done = 0; done < t->numel; done += run) {
            uint64_t off = 0;
            for (int d = 0; d < last; d++)
                off += (uint64_t)idx[d] * (uint64_t)t->strides[d];
            const uint8_t *src = base + off * isz;
            for (uint64_t k = 0; k < run; k++, out += isz, src += step)
                memcpy(out, src, isz);
            for (int d = last - 1; d >= 0; d--) {
                if (++idx[d] < t->shape[d])
                    break;
                idx[d] = 0;
            }
        }
    }
    if (t->dtype == RCC_BOOL) {   /* torch writes 0/1, but a hostile file may not */
        uint8_t *b = dst;
        for (uint64_t i = 0; i < t->numel; i++)
            b[i] = b[i] != 0;
    }
}

void tn_swap(void *p, uint64_t n, size_t isz)
{
    uint8_t *b = p;
    for (uint64_t i = 0; isz > 1 && i < n; i++, b += isz)
        for (size_t lo = 0, hi = isz - 1; lo < hi; lo++, hi--) {
            uint8_t c = b[lo];
            b[lo] = b[hi];
            b[hi] = c;
        }
}

/* rcc_read gives elements in the host's order; the file's is big-endian
 * when its byteorder record says "big", else little. */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
enum { HOST_BIG_ENDIAN = 1 };
#else
enum { HOST_BIG_ENDIAN = 0 };
#endif

int tn_swaps(const rcc_file *f)
{
    return f->big_endian != HOST_BIG_ENDIAN;
}

static float f32_bits(uint32_t bits)
{
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

static float f16_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000) << 16, exp = (h >> 10) & 0x1F, man = h & 0x3FF, bits;
    if (exp == 0x1F) {
        bits = sign | 0x7F800000u | man << 13;
    } else if (exp) {
        bits = sign | (exp + 112) << 23 | man << 13;
    } else if (man) {   /* subnormal: normalise */
        int e = -1;
        do {
            e++;
            man <<= 1;
        } while (!(man & 0x400));
        bits = sign | (uint32_t)(112 - e) << 23 | (man & 0x3FF) << 13;
    } else {
        bits = sign;
    }
    return f32_bits(bits);
}

/* The FP8 formats, exactly: each code is sign * 2^(e - bias) * 1.m, or
 * 2^(1 - bias) * 0.m when its exponent field is 0, which f32 holds exactly
 * (|value| <= 57344, >= 2^-17).  What differs between them is the bias and
 * which codes are special:
 *   e4m3fn    no infinities; S.1111.111 is NaN
 *   e5m2      exponent 31: infinity (mantissa 0) or NaN, as IEEE 754
 *   *fnuz     no infinities and no -0: 0x80 is the one NaN, unsigned
 * A NaN reads as the quiet NaN of its sign (there is no payload). */
typedef struct Fp8 {
    int  mbits, bias;
    char ieee_top;   /* e5m2: the top exponent is infinity/NaN */
    char fnuz;       /* 0x80 is NaN */
} Fp8;

static float fp8_to_f32(const Fp8 *fmt, uint8_t code)
{
    uint32_t sign = (uint32_t)(code & 0x80) << 24;
    int ebits = 7 - fmt->mbits, emax = (1 << ebits) - 1;
    int e = (code & 0x7F) >> fmt->mbits;
    uint32_t m = code & ((1u << fmt->mbits) - 1);
    if (fmt->fnuz && code == 0x80)
        return f32_bits(0x7FC00000u);
    if (fmt->ieee_top && e == emax)
        return f32_bits(sign | (m ? 0x7FC00000u : 0x7F800000u));
    if (!fmt->ieee_top && !fmt->fnuz && e == emax && m == (1u << fmt->mbits) - 1)
        return f32_bits(sign | 0x7FC00000u);
    if (e == 0) {   /* zero or subnormal: m * 2^(1 - bias - mbits), both exact */
        float v = (float)m * f32_bits((uint32_t)(128 - fmt->bias - fmt->mbits) << 23);
        return sign ? -v : v;
    }
    return f32_bits(sign | (uint32_t)(e - fmt->bias + 127) << 23 | m << (23 - fmt->mbits));
}

static const Fp8 fp8_formats[] = {
    [RCC_F8E4M3FN - RCC_F8E4M3FN] = {3, 7, 0, 0},
    [RCC_F8E5M2 - RCC_F8E4M3FN] = {2, 15, 1, 0},
    [RCC_F8E4M3FNUZ - RCC_F8E4M3FN] = {3, 8, 0, 1},
    [RCC_F8E5M2FNUZ - RCC_F8E4M3FN] = {2, 16, 0, 1},
};

/* e8m0fnu: 2^(code - 127), unsigned, no zero; 0xFF is NaN.  Code 0 is
 * 2^-127, an f32 subnormal. */
static float e8m0_to_f32(uint8_t code)
{
    if (code == 0xFF)
        return f32_bits(0x7FC00000u);
    return code ? f32_bits((uint32_t)code << 23) : f32_bits(0x00400000u);
}

/* FP4 E2M1 (OCP MX): bias 1, one mantissa bit, no infinities or NaN:
 * 0, 0.5, 1, 1.5, 2, 3, 4, 6 and their negatives. */
static float e2m1_to_f32(unsigned code)
{
    static const float mag[8] = {0.0f, 0.5f, 1.0f, 1.5f, 2.0f, 3.0f, 4.0f, 6.0f};
    return code & 8 ? -mag[code & 7] : mag[code & 7];
}

void tn_to_f32(rcc_dtype t, const void *src, float *dst, uint64_t n)
{
    const uint8_t *p = src;
    if (t == RCC_F4E2M1FN) {   /* element 2i in the low nibble, 2i + 1 in the high */
        for (uint64_t i = 0; i < n; i++)
            dst[i] = e2m1_to_f32(i & 1 ? p[i >> 1] >> 4 : p[i >> 1] & 0xF);
        return;
    }
    if (t >= RCC_F8E4M3FN && t <= RCC_F8E5M2FNUZ) {   /* one table per read */
        float table[256];
        for (int c = 0; c < 256; c++)
            table[c] = fp8_to_f32(&fp8_formats[t - RCC_F8E4M3FN], (uint8_t)c);
        for (uint64_t i = 0; i < n; i++)
            dst[i] = table[p[i]];
        return;
    }
    for (uint64_t i = 0; i < n; i++) {
        switch (t) {
        case RCC_F32: memcpy(&dst[i], p + 4 * i, 4); break;
        case RCC_F16: { uint16_t h; memcpy(&h, p + 2 * i, 2); dst[i] = f16_to_f32(h); break; }
        case RCC_BF16: {
            uint16_t h;
            memcpy(&h, p + 2 * i, 2);
            dst[i] = f32_bits((uint32_t)h << 16);
            break;
        }
        case RCC_F64: { double d; memcpy(&d, p + 8 * i, 8); dst[i] = (float)d; break; }
        case RCC_I64: { int64_t v; memcpy(&v, p + 8 * i, 8); dst[i] = (float)v; break; }
        case RCC_I32: { int32_t v; memcpy(&v, p + 4 * i, 4); dst[i] = (float)v; break; }
        case RCC_I16: { int16_t v; memcpy(&v, p + 2 * i, 2); dst[i] = (float)v; break; }
        case RCC_I8: dst[i] = (float)(int8_t)p[i]; break;
        case RCC_U8: dst[i] = (float)p[i]; break;
        case RCC_BOOL: dst[i] = p[i] != 0; break;
        case RCC_F8E8M0FNU: dst[i] = e8m0_to_f32(p[i]); break;
        case RCC_U16: { uint16_t v; memcpy(&v, p + 2 * i, 2); dst[i] = (float)v; break; }
        case RCC_U32: { uint32_t v; memcpy(&v, p + 4 * i, 4); dst[i] = (float)v; break; }
        case RCC_U64: { uint64_t v; memcpy(&v, p + 8 * i, 8); dst[i] = (float)v; break; }
        default: dst[i] = 0; break;   /* complex: refused by rcc_read_f32 */
        }
    }
}

int rcc_read(const rcc_file *f, const rcc_tensor *t, void *dst, size_t dstlen, char *errbuf, size_t errlen)
{
    Err err = {0};
    const Zip *z;
    const ZipEntry *rec = pt_storage_record(f, t, &z);
    if (t->storage >= rcc_storage_count(f)) {
        err_set(&err, "tensor does not belong to this file");
    } else if (!rec) {
        err_set(&err, "%s: its bytes are lost (damaged file)", t->name);
    } else if (dstlen < t->nbytes) {
        err_set(&err, "%s: buffer of %zu bytes, the tensor has %llu", t->name, dstlen,
                (unsigned long long)t->nbytes);
    } else {
        uint8_t *owned = NULL;
        const uint8_t *bytes = zip_data(z, rec, &owned, &err);
        if (bytes) {
            tn_gather(t, bytes, dst);
            /* One test per read: a little-endian file's path is unchanged. */
            if (tn_swaps(f))
                tn_swap(dst, t->nbytes / tn_swap_unit(t->dtype), tn_swap_unit(t->dtype));
        }
        free(owned);
        if (bytes)
            return 0;
    }
    err_copy(&err, errbuf, errlen);
    return -1;
}

int rcc_read_f32(const rcc_file *f, const rcc_tensor *t, float *dst, size_t count, char *errbuf, size_t errlen)
{
    if (count < t->numel) {
        snprintf(errbuf, errlen, "%s: room for %zu floats, the tensor has %llu", t->name, count,
                 (unsigned long long)t->numel);
        return -1;
    }
    if (t->dtype == RCC_F32)
        return rcc_read(f, t, dst, (size_t)t->nbytes, errbuf, errlen);
    if (rcc_dtype_kind(t->dtype) == 'c') {
        snprintf(errbuf, errlen, "%s is %s, a complex tensor: it has no float32 value (read it in its own dtype)",
                 t->name, rcc_dtype_name(t->dtype));
        return -1;
    }
    if (t->dtype == RCC_F6E2M3FN || t->dtype == RCC_F6E3M2FN) {
        snprintf(errbuf, errlen, "%s is %s: the safetensors format does not fix how its 6-bit elements are packed "
                 "into bytes, so it has no float32 value (read its bytes in its own dtype)", t->name,
                 rcc_dtype_name(t->dtype));
        return -1;
    }
    void *tmp = malloc(t->nbytes ? (size_t)t->nbytes : 1);
    if (!tmp) {
        snprintf(errbuf, errlen, "out of memory");
        return -1;
    }
    int r = rcc_read(f, t, tmp, (size_t)t->nbytes, errbuf, errlen);
    if (r == 0)
        tn_to_f32(t->dtype, tmp, dst, t->numel);
    free(tmp);
    return r;
}

int rcc_verify(const rcc_file *f, char *errbuf, size_t errlen)
{
    Err err = {0};
    unsigned char *done = calloc(rcc_storage_count(f) + 1, 1);   /* storages already read */
    if (!done)
        err_set(&err, "out of memory");
    for (size_t k = 0; done && !err.set && k < rcc_tensor_count(f); k++) {
        const rcc_tensor *t = rcc_tensor_at(f, k);
        const Zip *z;
        const ZipEntry *rec = pt_storage_record(f, t, &z);
        if (done[t->storage])
            continue;
        done[t->storage] = 1;
        if (!rec)
            err_set(&err, "%s: its bytes are lost (damaged file)", t->name);
        else
            zip_check(z, rec, f->mapped, &err);   /* streams: no buffer the size of the record */
    }
    free(done);
    if (!err.set)
        return 0;
    err_copy(&err, errbuf, errlen);
    return -1;
}
