/* writer.c — writing a state dict as the zip archive torch.save writes.
 *
 * The output is what PyTorch 1.13's torch.save(state_dict, buffer) writes,
 * byte for byte when the state dict is an OrderedDict of tensors: records
 * archive/data.pkl, archive/data/<key> (keys in string order: 0, 1, 10,
 * 11, ..., 2) and archive/version ("3\n"); each stored (method 0) with
 * flags 0x0808 and zeroed sizes and CRC in its local header, its payload
 * padded to a 64-byte boundary by an 'FB' extra field of 'Z's, followed by
 * a data descriptor (16 bytes, 24 with zip64; an empty record has neither
 * bit 3 nor descriptor, as miniz writes it); then the central directory
 * with the real CRCs and sizes, and always a zip64 end record and locator
 * before the classic end record.  Records or offsets past 4 GiB get zip64
 * extra fields exactly where miniz puts them.
 *
 * data.pkl is a protocol-2 pickle of an OrderedDict name -> tensor, each
 * tensor torch._utils._rebuild_tensor_v2(persistent id ('storage',
 * torch.<T>Storage, key, 'cpu', numel), offset, size, stride,
 * requires_grad, OrderedDict()) (wrapped in _rebuild_parameter for a
 * parameter), memoized the way Python's pickler memoizes, so tensors that
 * share a storage share its key and views keep their offset and strides.
 * A tensor of a dtype torch 1.13 does not have (FP8, u16, u32, u64) is
 * written as PyTorch >= 2.1 writes it: _rebuild_tensor_v3 over
 * ('storage', torch.UntypedStorage, key, 'cpu', nbytes), with its dtype
 * (torch.float8_e4m3fn, ...) after the hooks.
 *
 * The archive goes to a temporary file beside the output, is fsync'ed and
 * then renamed over the output: a reader never sees a partial file, and
 * on any failure the temporary file is removed.  (The new file gets the
 * mode open() would give it, which means reading the umask by setting it:
 * the writer is for the rcc command, not for a threaded caller.)
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "internal.h"

#define SAT32 0xFFFFFFFFu
#define ALIGN 64u
#define BATCH 1000   /* SETITEMS batch size, as Python's pickler */
#define NOMEMO UINT32_MAX

/* -------------------------------------------------------------- buffers */

typedef struct Buf {
    uint8_t *p;
    size_t   n, cap;
    int      oom;
} Buf;

static void put(Buf *b, const void *s, size_t n)
{
    if (b->oom)
        return;
    if (n > b->cap - b->n) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap - b->n < n) {
            if (cap > SIZE_MAX / 2) {
                b->oom = 1;
                return;
            }
            cap *= 2;
        }
        uint8_t *p = realloc(b->p, cap);
        if (!p) {
            b->oom = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
}

static void put1(Buf *b, uint8_t c) { put(b, &c, 1); }

static void put16(Buf *b, uint64_t v)
{
    uint8_t x[2] = { (uint8_t)v, (uint8_t)(v >> 8) };
    put(b, x, 2);
}

static void put32(Buf *b, uint64_t v)
{
    uint8_t x[4];
    for (int i = 0; i < 4; i++)
        x[i] = (uint8_t)(v >> (8 * i));
    put(b, x, 4);
}

static void put64(Buf *b, uint64_t v)
{
    put32(b, v & SAT32);
    put32(b, v >> 32);
}

/* --------------------------------------------------------------- pickle */

typedef struct Pk {
    Buf       b;
    uint32_t  memo;                            /* next memo index */
    uint32_t  od, rebuild, rebuild_v3, rebuild_param, untyped;   /* memoized globals */
    uint32_t  stype[RCC_DTYPE_COUNT], dtype[RCC_DTYPE_COUNT];
    uint32_t  s_storage, s_cpu;                /* memoized constant strings */
    uint32_t *key;                             /* per storage: its key string */
} Pk;

static const char *const storage_class[RCC_DTYPE_COUNT] = {
    [RCC_F32] = "FloatStorage", [RCC_F16] = "HalfStorage",  [RCC_BF16] = "BFloat16Storage",
    [RCC_F64] = "DoubleStorage", [RCC_I64] = "LongStorage", [RCC_I32] = "IntStorage",
    [RCC_I16] = "ShortStorage", [RCC_I8] = "CharStorage",   [RCC_U8] = "ByteStorage",
    [RCC_BOOL] = "BoolStorage", [RCC_C64] = "ComplexFloatStorage", [RCC_C128] = "ComplexDoubleStorage",
};

/* The dtypes PyTorch >= 2.1 pickles as _rebuild_tensor_v3 over an
 * UntypedStorage (torch/storage.py _new_dtypes), by torch's names. */
static const char *const v3_dtype[RCC_DTYPE_COUNT] = {
    [RCC_F8E4M3FN] = "float8_e4m3fn",     [RCC_F8E5M2] = "float8_e5m2",
    [RCC_F8E4M3FNUZ] = "float8_e4m3fnuz", [RCC_F8E5M2FNUZ] = "float8_e5m2fnuz",
    [RCC_F8E8M0FNU] = "float8_e8m0fnu",   [RCC_U16] = "uint16", [RCC_U32] = "uint32", [RCC_U64] = "uint64",
};

/* BINPUT / LONG_BINPUT of the object on top of the stack. */
static uint32_t memoize(Pk *k)
{
    uint32_t i = k->memo++;
    if (i < 256) {
        put1(&k->b, 'q');
        put1(&k->b, (uint8_t)i);
    } else {
        put1(&k->b, 'r');
        put32(&k->b, i);
    }
    return i;
}

static void get(Pk *k, uint32_t i)
{
    if (i < 256) {
        put1(&k->b, 'h');
        put1(&k->b, (uint8_t)i);
    } else {
        put1(&k->b, 'j');
        put32(&k->b, i);
    }
}

/* A GLOBAL, written once and fetched from the memo afterwards. */
static void global(Pk *k, uint32_t *slot, const char *module, const char *name)
{
    if (*slot != NOMEMO) {
        get(k, *slot);
        return;
    }
    put1(&k->b, 'c');
    put(&k->b, module, strlen(module));
    put1(&k->b, '\n');
    put(&k->b, name, strlen(name));
    put1(&k->b, '\n');
    *slot = memoize(k);
}

/* BINUNICODE; a str object is memoized on first sight. */
static void str(Pk *k, const char *s, size_t n)
{
    put1(&k->b, 'X');
    put32(&k->b, n);
    put(&k->b, s, n);
}

static void shared_str(Pk *k, uint32_t *slot, const char *s)
{
    if (*slot != NOMEMO) {
        get(k, *slot);
        return;
    }
    str(k, s, strlen(s));
    *slot = memoize(k);
}

/* A non-negative int the way protocol 2 writes it: BININT1, BININT2,
 * BININT, or LONG1 (two's complement, little-endian, minimal length). */
static void pint(Pk *k, uint64_t v)
{
    if (v < 256) {
        put1(&k->b, 'K');
        put1(&k->b, (uint8_t)v);
    } else if (v < 65536) {
        put1(&k->b, 'M');
        put16(&k->b, v);
    } else if (v < ((uint64_t)1 << 31)) {
        put1(&k->b, 'J');
        put32(&k->b, v);
    } else {
        int bits = 64 - __builtin_clzll(v);
        uint8_t n = (uint8_t)(bits / 8 + 1);
        put1(&k->b, 0x8a);
        put1(&k->b, n);
        for (int i = 0; i < n; i++)
            put1(&k->b, i < 8 ? (uint8_t)(v >> (8 * i)) : 0);
    }
}

/* A tuple of ints: EMPTY_TUPLE, TUPLE1..3, or MARK ... TUPLE; memoized
 * unless empty (the empty tuple is a singleton Python does not memoize). */
static void int_tuple(Pk *k, const int64_t *v, int n)
{
    if (n == 0) {
        put1(&k->b, ')');
        return;
    }
    if (n > 3)
        put1(&k->b, '(');
    for (int i = 0; i < n; i++)
        pint(k, (uint64_t)v[i]);
    put1(&k->b, n == 1 ? 0x85 : n == 2 ? 0x86 : n == 3 ? 0x87 : 't');
    memoize(k);
}

/* OrderedDict(): GLOBAL, EMPTY_TUPLE, REDUCE. */
static void empty_odict(Pk *k)
{
    global(k, &k->od, "collections", "OrderedDict");
    put1(&k->b, ')');
    put1(&k->b, 'R');
    memoize(k);
}

/* One tensor, as Tensor.__reduce_ex__ (and Parameter's) pickles it:
 * _rebuild_tensor_v2 over a typed storage, or for a dtype of v3_dtype,
 * _rebuild_tensor_v3 over an UntypedStorage (whose size is in bytes) with
 * the dtype as its seventh argument. */
static void tensor(Pk *k, const WrTensor *t, const WrStorage *st, size_t nst)
{
    const WrStorage *s = &st[t->storage];
    int kind = rcc_dtype_kind(s->dtype), rg = t->requires_grad && (kind == 'f' || kind == 'c');
    const char *v3 = v3_dtype[s->dtype];
    (void)nst;
    if (t->is_parameter)
        global(k, &k->rebuild_param, "torch._utils", "_rebuild_parameter");
    if (v3)
        global(k, &k->rebuild_v3, "torch._utils", "_rebuild_tensor_v3");
    else
        global(k, &k->rebuild, "torch._utils", "_rebuild_tensor_v2");
    put1(&k->b, '(');
    /* the persistent id: a new tuple at every reference */
    put1(&k->b, '(');
    shared_str(k, &k->s_storage, "storage");
    if (v3)
        global(k, &k->untyped, "torch", "UntypedStorage");
    else
        global(k, &k->stype[s->dtype], "torch", storage_class[s->dtype]);
    if (k->key[t->storage] == NOMEMO) {
        char key[24];
        int n = snprintf(key, sizeof key, "%zu", t->storage);
        str(k, key, (size_t)n);
        k->key[t->storage] = memoize(k);
    } else {
        get(k, k->key[t->storage]);
    }
    shared_str(k, &k->s_cpu, "cpu");
    pint(k, v3 ? s->numel * rcc_dtype_size(s->dtype) : s->numel);   /* checked by wr_state_dict */
    put1(&k->b, 't');
    memoize(k);
    put1(&k->b, 'Q');
    pint(k, (uint64_t)t->offset);
    int_tuple(k, t->shape, t->ndim);
    int_tuple(k, t->strides, t->ndim);
    put1(&k->b, rg && !t->is_parameter ? 0x88 : 0x89);
    empty_odict(k);
    if (v3)
        global(k, &k->dtype[s->dtype], "torch", v3);
    put1(&k->b, 't');
    memoize(k);
    put1(&k->b, 'R');
    memoize(k);
    if (t->is_parameter) {
        put1(&k->b, rg ? 0x88 : 0x89);
        empty_odict(k);
        put1(&k->b, 0x87);
        memoize(k);
        put1(&k->b, 'R');
        memoize(k);
    }
}

/* data.pkl into k->b. */
static int build_pickle(Pk *k, const WrStorage *st, size_t nst, const WrTensor *t, size_t nt, Err *err)
{
    k->od = k->rebuild = k->rebuild_v3 = k->rebuild_param = k->untyped = k->s_storage = k->s_cpu = NOMEMO;
    for (int i = 0; i < RCC_DTYPE_COUNT; i++)
        k->stype[i] = k->dtype[i] = NOMEMO;
    if (!(k->key = malloc((nst + 1) * sizeof *k->key)))
        return err_set(err, "out of memory");
    for (size_t i = 0; i < nst; i++)
        k->key[i] = NOMEMO;
    put(&k->b, "\x80\x02", 2);
    empty_odict(k);
    /* _batch_setitems: MARK ... SETITEMS per 1000, SETITEM for a lone pair */
    for (size_t i = 0; i < nt; i += BATCH) {
        size_t n = nt - i < BATCH ? nt - i : BATCH;
        if (n > 1)
            put1(&k->b, '(');
        for (size_t j = i; j < i + n; j++) {
            str(k, t[j].name, strlen(t[j].name));
            memoize(k);
            tensor(k, &t[j], st, nst);
        }
        put1(&k->b, n > 1 ? 'u' : 's');
    }
    put1(&k->b, '.');
    if (k->b.oom)
        return err_set(err, "out of memory for data.pkl");
    return 0;
}

/* ----------------------------------------------------------------- output */

typedef struct Out {
    int         fd;
    uint64_t    off;      /* bytes written so far (buffered included) */
    Buf         b;        /* pending bytes */
    const char *path;     /* the final output, for messages */
    Err        *err;
} Out;

static int write_all(Out *o, const uint8_t *p, uint64_t n)
{
    while (n > 0) {
        size_t k = n < ((uint64_t)1 << 30) ? (size_t)n : (size_t)1 << 30;
        ssize_t w = write(o->fd, p, k);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return err_set(o->err, "cannot write: %s", w < 0 ? strerror(errno) : "no progress");
        p += w;
        n -= (uint64_t)w;
    }
    return 0;
}

static int flush(Out *o)
{
    if (o->b.oom)
        return err_set(o->err, "out of memory");
    int r = write_all(o, o->b.p, o->b.n);
    o->b.n = 0;
    return r;
}

/* Small pieces (headers) gather in o->b; payloads go straight out. */
static int emit(Out *o, const void *p, uint64_t n)
{
    o->off += n;
    if (n <= 65536) {
        put(&o->b, p, (size_t)n);
        return o->b.n >= ((size_t)1 << 20) ? flush(o) : 0;
    }
    return flush(o) < 0 ? -1 : write_all(o, p, n);
}

typedef struct Rec {
    char     name[48];
    uint64_t lho, size;
    uint32_t crc;
    int      zip64;   /* has a zip64 extra field (size or offset >= 4 GiB) */
} Rec;

static uint32_t crc_of(const uint8_t *p, uint64_t n)
{
    uLong crc = crc32(0L, Z_NULL, 0);
    while (n > 0) {
        uInt k = (uInt)(n < ((uint64_t)1 << 30) ? n : (uint64_t)1 << 30);
        crc = crc32(crc, p, k);
        p += k;
        n -= k;
    }
    return (uint32_t)crc;
}

/* One stored record, as miniz's mz_zip_writer_add_mem_ex_v2 writes it
 * for torch's PyTorchStreamWriter::writeRecord. */
static int put_record(Out *o, Rec *r, const uint8_t *data, uint64_t n)
{
    size_t nl = strlen(r->name);
    r->lho = o->off;
    r->size = n;
    r->crc = crc_of(data, n);
    r->zip64 = n >= SAT32 || r->lho >= SAT32;
    uint64_t z64 = r->zip64 ? 4 + (n >= SAT32 ? 16 : 0) + (r->lho >= SAT32 ? 8 : 0) : 0;
    uint64_t start = r->lho + 30 + nl + 4 + z64;
    uint64_t pad = (ALIGN - start % ALIGN) % ALIGN;
    uint64_t flags = n ? 0x0808 : 0x0800;
    Buf h = { 0 };
    put32(&h, 0x04034b50u);
    put16(&h, 0);            /* version needed */
    put16(&h, flags);
    put16(&h, 0);            /* stored */
    put16(&h, 0);            /* time */
    put16(&h, 0);            /* date */
    put32(&h, 0);            /* crc, sizes: in the descriptor */
    put32(&h, 0);
    put32(&h, 0);
    put16(&h, nl);
    put16(&h, z64 + 4 + pad);
    put(&h, r->name, nl);
    if (r->zip64) {
        put16(&h, 1);
        put16(&h, z64 - 4);
        if (n >= SAT32) {
            put64(&h, n);    /* uncompressed size */
            put64(&h, 0);    /* compressed size: not known yet to miniz */
        }
        if (r->lho >= SAT32)
            put64(&h, r->lho);
    }
    put(&h, "FB", 2);
    put16(&h, pad);
    for (uint64_t i = 0; i < pad; i++)
        put1(&h, 'Z');
    if (n) {   /* the data descriptor, after the payload */
        put32(&h, 0x08074b50u);
        put32(&h, r->crc);
        if (r->zip64) {
            put64(&h, n);
            put64(&h, n);
        } else {
            put32(&h, n);
            put32(&h, n);
        }
    }
    if (h.oom) {
        free(h.p);
        return err_set(o->err, "out of memory");
    }
    size_t head = (size_t)(30 + nl + z64 + 4 + pad);
    int rc = emit(o, h.p, head) < 0 || emit(o, data, n) < 0 || emit(o, h.p + head, h.n - head) < 0 ? -1 : 0;
    free(h.p);
    return rc;
}

static void central_entry(Buf *b, const Rec *r)
{
    size_t nl = strlen(r->name);
    uint64_t xl = !r->zip64 ? 0 : 4 + (r->size >= SAT32 ? 16 : 0) + (r->lho >= SAT32 ? 8 : 0);
    put32(b, 0x02014b50u);
    put16(b, 0);                      /* version made by */
    put16(b, 0);                      /* version needed */
    put16(b, r->size ? 0x0808 : 0x0800);
    put16(b, 0);                      /* stored */
    put16(b, 0);                      /* time */
    put16(b, 0);                      /* date */
    put32(b, r->crc);
    put32(b, r->size < SAT32 ? r->size : SAT32);
    put32(b, r->size < SAT32 ? r->size : SAT32);
    put16(b, nl);
    put16(b, xl);
    put16(b, 0);                      /* comment */
    put16(b, 0);                      /* disk */
    put16(b, 0);                      /* internal attributes */
    put32(b, 0);                      /* external attributes */
    put32(b, r->lho < SAT32 ? r->lho : SAT32);
    put(b, r->name, nl);
    if (xl) {
        put16(b, 1);
        put16(b, xl - 4);
        if (r->size >= SAT32) {
            put64(b, r->size);
            put64(b, r->size);
        }
        if (r->lho >= SAT32)
            put64(b, r->lho);
    }
}

static int put_directory(Out *o, const Rec *recs, size_t n)
{
    uint64_t cd_off = o->off;
    Buf b = { 0 };
    for (size_t i = 0; i < n; i++)
        central_entry(&b, &recs[i]);
    uint64_t cd_size = b.n, z64 = cd_off + cd_size;
    put32(&b, 0x06064b50u);           /* zip64 end of central directory */
    put64(&b, 44);
    put16(&b, 0x031e);                /* made by */
    put16(&b, 45);                    /* needed */
    put32(&b, 0);
    put32(&b, 0);
    put64(&b, n);
    put64(&b, n);
    put64(&b, cd_size);
    put64(&b, cd_off);
    put32(&b, 0x07064b50u);           /* zip64 locator */
    put32(&b, 0);
    put64(&b, z64);
    put32(&b, 1);
    put32(&b, 0x06054b50u);           /* classic end of central directory */
    put16(&b, 0);
    put16(&b, 0);
    put16(&b, n < 0xFFFF ? n : 0xFFFF);
    put16(&b, n < 0xFFFF ? n : 0xFFFF);
    put32(&b, cd_size < SAT32 ? cd_size : SAT32);
    put32(&b, cd_off < SAT32 ? cd_off : SAT32);
    put16(&b, 0);
    int rc = b.oom ? err_set(o->err, "out of memory") : emit(o, b.p, b.n);
    free(b.p);
    return rc;
}

/* Record order: data.pkl, data/<key> with keys sorted as strings, version. */
static int by_key_string(const void *pa, const void *pb)
{
    const Rec *a = pa, *b = pb;
    return strcmp(a->name, b->name);
}

static int write_archive(Out *o, const Buf *pkl, const WrStorage *st, size_t nst, WrBytesFn bytes, void *ctx)
{
    Rec *recs = calloc(nst + 2, sizeof *recs);
    size_t *order = calloc(nst + 1, sizeof *order);
    int rc = -1;
    if (!recs || !order) {
        err_set(o->err, "out of memory");
        goto out;
    }
    snprintf(recs[0].name, sizeof recs[0].name, "archive/data.pkl");
    if (put_record(o, &recs[0], pkl->p, pkl->n) < 0)
        goto out;
    /* Sort the storage records by name, remembering which storage each is. */
    for (size_t i = 0; i < nst; i++) {
        snprintf(recs[1 + i].name, sizeof recs[1 + i].name, "archive/data/%zu", i);
        recs[1 + i].lho = i;   /* the storage index, until the record is written */
    }
    qsort(recs + 1, nst, sizeof *recs, by_key_string);
    for (size_t i = 0; i < nst; i++)
        order[i] = (size_t)recs[1 + i].lho;
    for (size_t i = 0; i < nst; i++) {
        const WrStorage *s = &st[order[i]];
        uint64_t n = s->numel * rcc_dtype_size(s->dtype);   /* checked by wr_state_dict */
        uint8_t *owned = NULL;
        const uint8_t *p = bytes(ctx, order[i], &owned, o->err);
        int r = p ? put_record(o, &recs[1 + i], p, n) : -1;
        free(owned);
        if (r < 0)
            goto out;
    }
    snprintf(recs[nst + 1].name, sizeof recs[nst + 1].name, "archive/version");
    if (put_record(o, &recs[nst + 1], (const uint8_t *)"3\n", 2) < 0 || put_directory(o, recs, nst + 2) < 0 ||
        flush(o) < 0)
        goto out;
    rc = 0;
out:
    free(recs);
    free(order);
    return rc;
}

/* ---------------------------------------------------------------- entry */

int wr_state_dict(const char *path, const WrStorage *st, size_t nst, const WrTensor *t, size_t nt,
                  WrBytesFn bytes, void *ctx, Err *err)
{
    for (size_t i = 0; i < nst; i++) {
        uint64_t n;
        if ((unsigned)st[i].dtype >= RCC_DTYPE_COUNT || mul_u64(st[i].numel, rcc_dtype_size(st[i].dtype), &n) ||
            n > SIZE_MAX)
            return err_set(err, "storage %zu: bad type or size", i);
    }
    for (size_t i = 0; i < nt; i++) {
        if (t[i].storage >= nst || t[i].ndim < 0 || t[i].offset < 0)
            return err_set(err, "tensor %s: bad storage, rank or offset", t[i].name);
        if (!rcc_dtype_size(st[t[i].storage].dtype))   /* f4e2m1fn, f6*: smaller than a byte */
            return err_set(err, "tensor %s is %s, which rcc does not write into a torch.save archive", t[i].name,
                           rcc_dtype_name(st[t[i].storage].dtype));
    }

    Pk k;
    memset(&k, 0, sizeof k);
    if (build_pickle(&k, st, nst, t, nt, err) < 0) {
        free(k.key);
        free(k.b.p);
        return -1;
    }

    /* The temporary file: same directory (so the rename is atomic), a
     * hidden name that says what it is. */
    const char *slash = strrchr(path, '/');
    size_t dirlen = slash ? (size_t)(slash - path) + 1 : 0;
    const char *base = path + dirlen;
    size_t tlen = dirlen + strlen(base) + 16;
    char *tmp = malloc(tlen);
    Out o = { .fd = -1, .path = path, .err = err };
    int rc = -1;
    if (!tmp) {
        err_set(err, "out of memory");
        goto out;
    }
    snprintf(tmp, tlen, "%.*s.%s.rcc-XXXXXX", (int)dirlen, path, base);
    if ((o.fd = mkstemp(tmp)) < 0) {
        err_set(err, "cannot create a file in %s: %s", dirlen ? "its directory" : "the current directory",
                strerror(errno));
        free(tmp);
        tmp = NULL;
        goto out;
    }
    /* mkstemp makes the file 0600; give it the mode open() would. */
    mode_t mask = umask(0);
    umask(mask);
    if (fchmod(o.fd, 0666 & ~mask) < 0) {
        err_set(err, "cannot set the mode of the new file: %s", strerror(errno));
        goto out;
    }
    if (write_archive(&o, &k.b, st, nst, bytes, ctx) < 0)
        goto out;
    if (fsync(o.fd) < 0) {
        err_set(err, "cannot write: fsync: %s", strerror(errno));
        goto out;
    }
    int fd = o.fd;
    o.fd = -1;
    if (close(fd) < 0) {
        err_set(err, "cannot write: close: %s", strerror(errno));
        goto out;
    }
    if (rename(tmp, path) < 0) {
        err_set(err, "cannot replace the file: %s", strerror(errno));
        goto out;
    }
    free(tmp);
    tmp = NULL;
    /* The rename is durable once the directory is synced (best effort). */
    char *dir = dirlen ? strndup(path, dirlen) : NULL;
    int dfd = open(dir ? dir : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        (void)fsync(dfd);
        close(dfd);
    }
    free(dir);
    rc = 0;
out:
    if (o.fd >= 0)
        close(o.fd);
    if (tmp) {
        unlink(tmp);
        free(tmp);
    }
    free(o.b.p);
    free(k.key);
    free(k.b.p);
    return rc;
}
