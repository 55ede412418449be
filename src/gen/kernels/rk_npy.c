/* rk_npy.c — .npy files for the main of a generated model (`rcc gen --main`).
 *
 * Not a numerical kernel: the input and output files of `./model IN.npy -o
 * OUT.npy`, pasted into model.c like the kernels so that a --main --embed
 * file needs only libc, libm and CBLAS.  Only what the models take and
 * give: float32 ('<f4') and int64 ('<i8') arrays in C order.
 *
 * Reading is in three steps, so that the caller allocates (this file never
 * does) and can say which input and what the model expected:
 *
 *     FILE *fp = rk_npy_open(path, err, sizeof err);
 *     rk_npy h;
 *     if (!fp || rk_npy_read_header(fp, path, &h, err, sizeof err) != 0 ||
 *         rk_npy_expect(&h, path, RK_NPY_F4, 3, shape, 0, 1, max_batch, err, sizeof err) != 0)
 *         ... one line in err ...
 *     float *x = malloc(h.nbytes);
 *     rk_npy_read_data(fp, path, &h, x, h.nbytes, err, sizeof err);
 *
 * The header is untrusted: it is read into a fixed buffer of at most
 * RK_NPY_MAX_HEADER bytes (numpy's own limit) after its length is checked
 * against the file's size, parsed by a reader bounded by that length, of
 * exactly the dict numpy writes ({'descr': ..., 'fortran_order': ...,
 * 'shape': (...), } in any order, each key once), and the data's size
 * (numel * itemsize, overflow checked) must be exactly what follows the
 * header.  Versions 1.0, 2.0 and 3.0 (4-byte header length; 3.0 allows
 * UTF-8, which no accepted header contains).  Messages are one line,
 * "WHAT: ...", WHAT being the name the caller passes (the file's path).
 *
 * Elements are little-endian in the file and in host order in memory (a
 * big-endian host swaps them).  Writing makes version 1.0, C order, the
 * header padded with spaces to a multiple of 64 bytes as numpy does.
 */
#include "rk_common.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

#define RK_NPY_MAX_NDIM 8
#define RK_NPY_MAX_HEADER 10000

/* The element types a model reads and writes (bool as numpy's '|b1'
 * bytes; a byte other than 0 read in is true, as every kernel reads a
 * bool); RK_NPY_OTHER is any other
 * simple descr (its text is in rk_npy.descr, for the message). */
typedef enum rk_npy_dtype { RK_NPY_F4, RK_NPY_I8, RK_NPY_B1, RK_NPY_OTHER } rk_npy_dtype;

/* A checked header. */
typedef struct rk_npy {
    char descr[8];               /* "<f4", "<i8", "<f8", "|b1", ... */
    rk_npy_dtype dtype;
    int itemsize;                /* bytes per element, 1..16 */
    int ndim;                    /* 0..RK_NPY_MAX_NDIM */
    int64_t shape[RK_NPY_MAX_NDIM];
    int64_t numel;               /* product of shape */
    int64_t nbytes;              /* numel * itemsize: the bytes after the header */
    int64_t data_offset;         /* where they start */
} rk_npy;

/* "WHAT: <formatted>" into err (cut to errlen, always terminated). */
static void rk_npy_err(char *err, size_t errlen, const char *what, const char *fmt, ...)
{
    if (!err || errlen == 0) return;
    int n = snprintf(err, errlen, "%s: ", what ? what : "npy");
    if (n < 0 || (size_t)n >= errlen) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
    va_end(ap);
}

static int rk_npy_host_little(void)
{
    const uint16_t one = 1;
    unsigned char b;
    memcpy(&b, &one, 1);
    return b == 1;
}

/* Reverses each of the n items of size sz in p (little-endian file <-> big-endian host). */
static void rk_npy_swap(unsigned char *p, int64_t n, int sz)
{
    for (int64_t k = 0; k < n; k++, p += sz)
        for (int i = 0, j = sz - 1; i < j; i++, j--) {
            unsigned char t = p[i];
            p[i] = p[j];
            p[j] = t;
        }
}

/* "(2, 3)", "(5,)", "()" into buf (cut short when len is small); dimension
 * batch_dim (if >= 0) as "batch". */
static void rk_npy_shape_str(char *buf, size_t len, int ndim, const int64_t *shape, int batch_dim)
{
    size_t at = 0;
    if (len == 0) return;
    buf[0] = 0;
    for (int i = 0; i <= ndim && at < len; i++) {
        int n;
        if (i == ndim)
            n = snprintf(buf + at, len - at, "%s)", ndim == 0 ? "(" : ndim == 1 ? "," : "");
        else if (i == batch_dim)
            n = snprintf(buf + at, len - at, "%sbatch", i ? ", " : "(");
        else
            n = snprintf(buf + at, len - at, "%s%lld", i ? ", " : "(", (long long)shape[i]);
        if (n < 0) break;
        at += (size_t)n;
    }
}

/* "<f8 (float64)", ">f4 (big-endian float32)", "|b1 (bool)" into buf. */
static void rk_npy_descr_str(char *buf, size_t len, const char *descr, int itemsize)
{
    const char *kind = NULL;
    switch (descr[1]) {
    case 'f': kind = "float"; break;
    case 'i': kind = "int"; break;
    case 'u': kind = "uint"; break;
    case 'c': kind = "complex"; break;
    case 'b': kind = "bool"; break;
    }
    const char *endian = descr[0] == '>' && itemsize > 1 ? "big-endian " : "";
    if (!kind)
        snprintf(buf, len, "%s", descr);
    else if (descr[1] == 'b')
        snprintf(buf, len, "%s (%sbool)", descr, endian);
    else
        snprintf(buf, len, "%s (%s%s%d)", descr, endian, kind, 8 * itemsize);
}

/* Opens path for reading; NULL with "PATH: cannot open: REASON". */
static FILE *rk_npy_open(const char *path, char *err, size_t errlen)
{
    FILE *fp = fopen(path, "rb");
    if (!fp) rk_npy_err(err, errlen, path, "cannot open: %s", strerror(errno));
    return fp;
}

/* ---------------------------------------------------------- the header */

/* A cursor over the header's text: every read is bounded by n. */
typedef struct rk_npy_text {
    const char *s;
    size_t n, i;
} rk_npy_text;

static void rk_npy_ws(rk_npy_text *t)
{
    while (t->i < t->n && (t->s[t->i] == ' ' || t->s[t->i] == '\t' || t->s[t->i] == '\n' || t->s[t->i] == '\r'))
        t->i++;
}

/* Takes c (after blanks); 1 if it was there. */
static int rk_npy_take(rk_npy_text *t, char c)
{
    rk_npy_ws(t);
    if (t->i < t->n && t->s[t->i] == c) {
        t->i++;
        return 1;
    }
    return 0;
}

/* A quoted string without escapes, at most cap - 1 characters, into out;
 * 0, or -1 (not a string, or too long: out then holds its start). */
static int rk_npy_string(rk_npy_text *t, char *out, size_t cap)
{
    rk_npy_ws(t);
    if (t->i >= t->n || (t->s[t->i] != '\'' && t->s[t->i] != '"')) return -1;
    char q = t->s[t->i++];
    size_t k = 0;
    while (t->i < t->n && t->s[t->i] != q) {
        char c = t->s[t->i++];
        if (c == '\\' || c == '\n' || (unsigned char)c < 0x20 || (unsigned char)c >= 0x7F || k + 1 >= cap) {
            out[k] = 0;
            return -1;
        }
        out[k++] = c;
    }
    out[k] = 0;
    if (t->i >= t->n) return -1;
    t->i++;
    return 0;
}

/* A non-negative integer (Python 2's trailing L allowed) into *v; 0, -1
 * (not one), -2 (above INT64_MAX). */
static int rk_npy_int(rk_npy_text *t, int64_t *v)
{
    rk_npy_ws(t);
    if (t->i >= t->n || t->s[t->i] < '0' || t->s[t->i] > '9') return -1;
    int64_t x = 0;
    while (t->i < t->n && t->s[t->i] >= '0' && t->s[t->i] <= '9') {
        int d = t->s[t->i++] - '0';
        if (x > (INT64_MAX - d) / 10) return -2;
        x = x * 10 + d;
    }
    if (t->i < t->n && t->s[t->i] == 'L') t->i++;
    *v = x;
    return 0;
}

/* Reads and checks the header of fp (opened "rb"); on success h describes
 * it, fp is at the first byte of the data and 0 is returned.  -1 with a
 * message naming WHAT otherwise.  Any descr of the form [<>|=][biufc]N is
 * accepted here (h->dtype RK_NPY_OTHER unless '<f4', '<i8' or '|b1'), so that
 * rk_npy_expect can say what the file holds. */
static int rk_npy_read_header(FILE *fp, const char *what, rk_npy *h, char *err, size_t errlen)
{
    unsigned char pre[12];
    char buf[RK_NPY_MAX_HEADER];
    memset(h, 0, sizeof *h);
    if (fseek(fp, 0, SEEK_END) != 0) {
        rk_npy_err(err, errlen, what, "cannot seek (not a regular file?)");
        return -1;
    }
    long end = ftell(fp);
    if (end < 0 || fseek(fp, 0, SEEK_SET) != 0) {
        rk_npy_err(err, errlen, what, "cannot find its size (not a regular file?)");
        return -1;
    }
    int64_t size = end;
    if (size < 10 || fread(pre, 1, 10, fp) != 10) {
        if (ferror(fp))
            rk_npy_err(err, errlen, what, "cannot read: %s", strerror(errno));
        else
            rk_npy_err(err, errlen, what, "not a .npy file (%lld bytes)", (long long)size);
        return -1;
    }
    if (memcmp(pre, "\x93NUMPY", 6) != 0) {
        rk_npy_err(err, errlen, what, "not a .npy file (no \\x93NUMPY magic)");
        return -1;
    }
    if ((pre[6] != 1 && pre[6] != 2 && pre[6] != 3) || pre[7] != 0) {
        rk_npy_err(err, errlen, what, "npy format version %d.%d is not supported (1.0, 2.0, 3.0)", pre[6], pre[7]);
        return -1;
    }
    int64_t hlen, prefix = pre[6] == 1 ? 10 : 12;
    if (pre[6] == 1) {
        hlen = pre[8] | (int64_t)pre[9] << 8;
    } else {
        if (size < 12 || fread(pre + 10, 1, 2, fp) != 2) {
            rk_npy_err(err, errlen, what, "truncated header (%lld bytes)", (long long)size);
            return -1;
        }
        hlen = pre[8] | (int64_t)pre[9] << 8 | (int64_t)pre[10] << 16 | (int64_t)pre[11] << 24;
    }
    if (hlen > size - prefix) {
        rk_npy_err(err, errlen, what, "header of %lld bytes runs past the end of the file (%lld bytes)",
                   (long long)hlen, (long long)size);
        return -1;
    }
    if (hlen > RK_NPY_MAX_HEADER) {
        rk_npy_err(err, errlen, what, "header of %lld bytes is too long (at most %d)", (long long)hlen,
                   RK_NPY_MAX_HEADER);
        return -1;
    }
    if (fread(buf, 1, (size_t)hlen, fp) != (size_t)hlen) {
        rk_npy_err(err, errlen, what, "cannot read its header");
        return -1;
    }

    /* {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), } */
    rk_npy_text t = {buf, (size_t)hlen, 0};
    int seen_descr = 0, seen_order = 0, seen_shape = 0;
    if (!rk_npy_take(&t, '{')) goto bad;
    while (!rk_npy_take(&t, '}')) {
        char key[16];
        if (rk_npy_string(&t, key, sizeof key) != 0) goto bad;
        if (!rk_npy_take(&t, ':')) goto bad;
        int *seen = !strcmp(key, "descr") ? &seen_descr : !strcmp(key, "fortran_order") ? &seen_order
                  : !strcmp(key, "shape") ? &seen_shape : NULL;
        if (!seen) {
            rk_npy_err(err, errlen, what, "header has an unknown key '%s'", key);
            return -1;
        }
        if (*seen) {
            rk_npy_err(err, errlen, what, "header gives '%s' twice", key);
            return -1;
        }
        *seen = 1;
        if (seen == &seen_descr) {
            char d[16] = "";
            if (rk_npy_string(&t, d, sizeof d) != 0) {
                rk_npy_err(err, errlen, what, "dtype %s%s is not supported (a model takes <f4 or <i8)",
                           d[0] ? d : "(not a simple type string)", d[0] ? "..." : "");
                return -1;
            }
            size_t dl = strlen(d);
            int ok = dl >= 3 && dl <= 4 && strchr("<>|=", d[0]) && strchr("biufc", d[1]) && d[2] >= '1' &&
                     d[2] <= '9' && (dl == 3 || (d[3] >= '0' && d[3] <= '9'));
            int isz = ok ? (dl == 3 ? d[2] - '0' : 10 * (d[2] - '0') + d[3] - '0') : 0;
            if (!ok || isz > 16) {
                rk_npy_err(err, errlen, what, "dtype %s is not supported (a model takes <f4 or <i8)", d);
                return -1;
            }
            memcpy(h->descr, d, dl + 1);
            h->itemsize = isz;
            h->dtype = !strcmp(d, "<f4") ? RK_NPY_F4 : !strcmp(d, "<i8") ? RK_NPY_I8
                     : !strcmp(d, "|b1") ? RK_NPY_B1 : RK_NPY_OTHER;
        } else if (seen == &seen_order) {
            rk_npy_ws(&t);
            if (t.n - t.i >= 5 && !memcmp(t.s + t.i, "False", 5)) {
                t.i += 5;
            } else if (t.n - t.i >= 4 && !memcmp(t.s + t.i, "True", 4)) {
                rk_npy_err(err, errlen, what, "Fortran order (column-major) is not supported; "
                                              "save a C-ordered array (np.ascontiguousarray)");
                return -1;
            } else {
                goto bad;
            }
        } else {
            if (!rk_npy_take(&t, '(')) goto bad;
            int closed = rk_npy_take(&t, ')');
            while (!closed) {
                int64_t v;
                int r = rk_npy_int(&t, &v);
                if (r == -2) {
                    rk_npy_err(err, errlen, what, "a size of its shape is too large");
                    return -1;
                }
                if (r != 0) goto bad;
                if (h->ndim == RK_NPY_MAX_NDIM) {
                    rk_npy_err(err, errlen, what, "more than %d dimensions", RK_NPY_MAX_NDIM);
                    return -1;
                }
                h->shape[h->ndim++] = v;
                if (rk_npy_take(&t, ','))
                    closed = rk_npy_take(&t, ')');
                else if (h->ndim > 1 && rk_npy_take(&t, ')'))
                    closed = 1;   /* (2, 3); a single size needs its comma: (5) is not a tuple */
                else
                    goto bad;
            }
        }
        if (!rk_npy_take(&t, ',')) {
            if (!rk_npy_take(&t, '}')) goto bad;
            break;
        }
    }
    rk_npy_ws(&t);
    if (t.i != t.n) goto bad;
    if (!seen_descr || !seen_order || !seen_shape) {
        rk_npy_err(err, errlen, what, "header has no '%s'",
                   !seen_descr ? "descr" : !seen_order ? "fortran_order" : "shape");
        return -1;
    }

    char sh[256];
    int64_t numel = 1, empty = 0;
    for (int i = 0; i < h->ndim; i++) {   /* the nonzero sizes must multiply (numpy's rule) */
        if (h->shape[i] == 0) {
            empty = 1;
        } else if (numel > INT64_MAX / h->shape[i]) {
            rk_npy_shape_str(sh, sizeof sh, h->ndim, h->shape, -1);
            rk_npy_err(err, errlen, what, "shape %s has too many elements", sh);
            return -1;
        } else {
            numel *= h->shape[i];
        }
    }
    if (empty) numel = 0;
    if (numel > INT64_MAX / h->itemsize) {
        rk_npy_shape_str(sh, sizeof sh, h->ndim, h->shape, -1);
        rk_npy_err(err, errlen, what, "shape %s of %s is too many bytes", sh, h->descr);
        return -1;
    }
    h->numel = numel;
    h->nbytes = numel * h->itemsize;
    h->data_offset = prefix + hlen;
    if (size - h->data_offset != h->nbytes) {
        rk_npy_shape_str(sh, sizeof sh, h->ndim, h->shape, -1);
        rk_npy_err(err, errlen, what, "%s: %lld bytes of data after the header; shape %s of %s needs %lld",
                   size - h->data_offset < h->nbytes ? "truncated" : "trailing bytes",
                   (long long)(size - h->data_offset), sh, h->descr, (long long)h->nbytes);
        return -1;
    }
    return 0;
bad:
    rk_npy_err(err, errlen, what, "malformed header (at byte %lu of %lld)", (unsigned long)(prefix + (int64_t)t.i),
               (long long)(prefix + hlen));
    return -1;
}

/* Is h what the model takes: dtype want, ndim dimensions of sizes shape,
 * except dimension batch_dim (-1: none), which must lie in
 * batch_min..batch_max?  0, or -1 with one line:
 *   in.npy: dtype <f8 (float64); the model expects <f4 (float32)
 *   in.npy: shape (2, 3, 5); the model expects (batch, 3, 4) with batch in 1..8
 * (shape[batch_dim] is not read.) */
static int rk_npy_expect(const rk_npy *h, const char *what, rk_npy_dtype want, int ndim, const int64_t *shape,
                         int batch_dim, int64_t batch_min, int64_t batch_max, char *err, size_t errlen)
{
    if (h->dtype != want) {
        char has[48];
        rk_npy_descr_str(has, sizeof has, h->descr, h->itemsize);
        rk_npy_err(err, errlen, what, "dtype %s; the model expects %s", has,
                   want == RK_NPY_I8 ? "<i8 (int64)" : want == RK_NPY_B1 ? "|b1 (bool)" : "<f4 (float32)");
        return -1;
    }
    int same = h->ndim == ndim;
    for (int i = 0; same && i < ndim; i++)
        same = i == batch_dim ? h->shape[i] >= batch_min && h->shape[i] <= batch_max : h->shape[i] == shape[i];
    if (!same) {
        char has[256], exp[256], range[64] = "";
        rk_npy_shape_str(has, sizeof has, h->ndim, h->shape, -1);
        rk_npy_shape_str(exp, sizeof exp, ndim, shape, batch_dim);
        if (batch_dim >= 0 && batch_dim < ndim) {
            if (batch_min == batch_max)
                snprintf(range, sizeof range, " with batch %lld", (long long)batch_min);
            else
                snprintf(range, sizeof range, " with batch in %lld..%lld", (long long)batch_min, (long long)batch_max);
        }
        rk_npy_err(err, errlen, what, "shape %s; the model expects %s%s", has, exp, range);
        return -1;
    }
    return 0;
}

/* Reads the h->nbytes bytes of data after the header into buf (cap bytes),
 * in host order.  0, or -1 with a message. */
static int rk_npy_read_data(FILE *fp, const char *what, const rk_npy *h, void *buf, size_t cap, char *err,
                            size_t errlen)
{
    if (h->nbytes < 0 || (uint64_t)h->nbytes > (uint64_t)cap) {
        rk_npy_err(err, errlen, what, "its %lld bytes of data do not fit in a buffer of %llu", (long long)h->nbytes,
                   (unsigned long long)cap);
        return -1;
    }
    if (fseek(fp, (long)h->data_offset, SEEK_SET) != 0) {
        rk_npy_err(err, errlen, what, "cannot seek to its data");
        return -1;
    }
    size_t got = fread(buf, 1, (size_t)h->nbytes, fp);
    if (got != (size_t)h->nbytes) {
        if (ferror(fp))
            rk_npy_err(err, errlen, what, "cannot read: %s", strerror(errno));
        else
            rk_npy_err(err, errlen, what, "truncated: %llu of %lld bytes of data", (unsigned long long)got,
                       (long long)h->nbytes);
        return -1;
    }
    if (!rk_npy_host_little() && h->descr[0] == '<') rk_npy_swap(buf, h->numel, h->itemsize);
    return 0;
}

/* Writes path as a .npy file (version 1.0, C order) of dtype RK_NPY_F4
 * (float data), RK_NPY_I8 (int64_t data) or RK_NPY_B1 (uint8_t 0/1) and shape (ndim <=
 * RK_NPY_MAX_NDIM sizes >= 0).  0, or -1 with "PATH: cannot write: REASON"
 * (the file may then be partly written). */
static int rk_npy_write(const char *path, rk_npy_dtype dtype, int ndim, const int64_t *shape, const void *data,
                        char *err, size_t errlen)
{
    char hdr[512], sh[256];
    int64_t numel = 1, empty = 0;
    if (dtype == RK_NPY_OTHER || ndim < 0 || ndim > RK_NPY_MAX_NDIM) {
        rk_npy_err(err, errlen, path, "cannot write: only <f4, <i8 or |b1 of at most %d dimensions", RK_NPY_MAX_NDIM);
        return -1;
    }
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 0) {
            rk_npy_err(err, errlen, path, "cannot write: negative size %lld", (long long)shape[i]);
            return -1;
        }
        if (shape[i] == 0) {
            empty = 1;
        } else if (numel > INT64_MAX / 8 / shape[i]) {
            rk_npy_err(err, errlen, path, "cannot write: too many elements");
            return -1;
        } else {
            numel *= shape[i];
        }
    }
    if (empty) numel = 0;
    if ((uint64_t)numel > (uint64_t)(SIZE_MAX / 8)) {
        rk_npy_err(err, errlen, path, "cannot write: too many elements");
        return -1;
    }
    rk_npy_shape_str(sh, sizeof sh, ndim, shape, -1);
    int n = snprintf(hdr + 10, sizeof hdr - 10, "{'descr': '%s', 'fortran_order': False, 'shape': %s, }",
                     dtype == RK_NPY_F4 ? "<f4" : dtype == RK_NPY_I8 ? "<i8" : "|b1", sh);
    if (n < 0 || n + 10 + 64 > (int)sizeof hdr) {
        rk_npy_err(err, errlen, path, "cannot write: header too long");
        return -1;
    }
    int total = (10 + n + 1 + 63) / 64 * 64;   /* magic, header, '\n', padded to 64 */
    memset(hdr + 10 + n, ' ', (size_t)(total - 10 - n));
    hdr[total - 1] = '\n';
    memcpy(hdr, "\x93NUMPY\x01\x00", 8);
    hdr[8] = (char)((total - 10) & 0xFF);
    hdr[9] = (char)((total - 10) >> 8);

    FILE *fp = fopen(path, "wb");
    if (!fp) {
        rk_npy_err(err, errlen, path, "cannot write: %s", strerror(errno));
        return -1;
    }
    int sz = dtype == RK_NPY_F4 ? 4 : dtype == RK_NPY_I8 ? 8 : 1, ok = fwrite(hdr, 1, (size_t)total, fp) == (size_t)total;
    if (rk_npy_host_little()) {
        ok = ok && fwrite(data, (size_t)sz, (size_t)numel, fp) == (size_t)numel;
    } else {
        unsigned char tmp[4096];
        const unsigned char *p = data;
        for (int64_t done = 0; ok && done < numel;) {
            int64_t k = numel - done < 4096 / sz ? numel - done : 4096 / sz;
            memcpy(tmp, p + done * sz, (size_t)(k * sz));
            rk_npy_swap(tmp, k, sz);
            ok = fwrite(tmp, (size_t)sz, (size_t)k, fp) == (size_t)k;
            done += k;
        }
    }
    int e = errno;
    if (fclose(fp) != 0 && ok) {
        ok = 0;
        e = errno;
    }
    if (!ok) {
        rk_npy_err(err, errlen, path, "cannot write: %s", e ? strerror(e) : "write failed");
        return -1;
    }
    return 0;
}
