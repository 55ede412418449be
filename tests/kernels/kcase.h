/* kcase.h — the harness of the tensor, attention and recurrent kernel tests
 * (tests/kernels/test_{layout,elem,reduce,matmul,attn,rnn}.c; the layer
 * kernels' tests use kt.h: the two are to become one).
 *
 * A generator tests/gen_kernels_<family>.py writes, with real torch, a
 * folder FIXTURES/kernels/<family>/ holding data.bin (every tensor's raw
 * little-endian bytes, one after another) and manifest.txt (written
 * last), one case per block of lines:
 *
 *     case NAME OP
 *     p KEY V1 V2 ...          a parameter: numbers, or one word
 *     t NAME DTYPE OFFSET NDIM D0 D1 ...   a tensor in data.bin (f32 i64 u8)
 *     end
 *
 * The test program reads the manifest, runs each case through the
 * kernel its OP names and compares with torch's output tensor.  Every
 * tensor is handed to the kernel in its own malloc'd block of exactly its
 * size, so that under AddressSanitizer a read one element past an input
 * is caught.  Float outputs pass at max|got-want| / max|want| <= 1e-4
 * (NaN must meet NaN); integer and mask outputs, and float outputs that
 * torch computes exactly (copies), must be bit-exact.  One line per case
 * (its error), then "N passed, N failed"; the exit status is 1 when any
 * case failed or the fixture is missing, never 77.
 */
#ifndef KCASE_H
#define KCASE_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KT_MAXP 32
#define KT_MAXT 48
#define KT_MAXV 64
#define KT_TOL 1e-4

typedef struct kt_tensor {
    char name[32];
    char dtype[8];
    int ndim;
    int64_t size[8];
    int64_t numel;
    size_t nbytes;
    void *data;              /* malloc'd copy of exactly nbytes (1 byte when empty) */
} kt_tensor;

typedef struct kt_param {
    char key[32];
    int n;
    double v[KT_MAXV];
    char word[64];
} kt_param;

typedef struct kt_case {
    char name[96];
    char op[48];
    int np, nt;
    kt_param p[KT_MAXP];
    kt_tensor t[KT_MAXT];
} kt_case;

/* Every helper is marked unused: each test program uses a different subset. */
#define KT_FN static __attribute__((unused))

static int kt_passed, kt_failed;

KT_FN void *kt_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) {
        fprintf(stderr, "kt: out of memory\n");
        exit(1);
    }
    return p;
}

KT_FN void kt_die(const char *what, const char *arg)
{
    fprintf(stderr, "kt: %s%s%s\n", what, arg ? ": " : "", arg ? arg : "");
    printf("%d passed, %d failed\n", kt_passed, kt_failed + 1);
    exit(1);
}

KT_FN size_t kt_elsize(const char *dt)
{
    if (!strcmp(dt, "f32")) return 4;
    if (!strcmp(dt, "i64")) return 8;
    if (!strcmp(dt, "u8")) return 1;
    return 0;
}

/* The tensor NAME of case c (dies when missing: the fixture is broken). */
KT_FN kt_tensor *kt_t(kt_case *c, const char *name)
{
    for (int i = 0; i < c->nt; i++)
        if (!strcmp(c->t[i].name, name)) return &c->t[i];
    fprintf(stderr, "kt: case %s has no tensor %s\n", c->name, name);
    kt_die("broken fixture", c->name);
    return NULL;
}

KT_FN int kt_has_t(const kt_case *c, const char *name)
{
    for (int i = 0; i < c->nt; i++)
        if (!strcmp(c->t[i].name, name)) return 1;
    return 0;
}

KT_FN kt_param *kt_find_p(kt_case *c, const char *key)
{
    for (int i = 0; i < c->np; i++)
        if (!strcmp(c->p[i].key, key)) return &c->p[i];
    return NULL;
}

KT_FN kt_param *kt_p(kt_case *c, const char *key)
{
    kt_param *p = kt_find_p(c, key);
    if (!p) {
        fprintf(stderr, "kt: case %s has no parameter %s\n", c->name, key);
        kt_die("broken fixture", c->name);
    }
    return p;
}

KT_FN int64_t kt_i(kt_case *c, const char *key) { return (int64_t)kt_p(c, key)->v[0]; }
KT_FN double kt_f(kt_case *c, const char *key) { return kt_p(c, key)->v[0]; }

/* Parameter KEY as int64 values into out[] (at most cap); returns the count. */
KT_FN int kt_iv(kt_case *c, const char *key, int64_t *out, int cap)
{
    kt_param *p = kt_p(c, key);
    int n = p->n < cap ? p->n : cap;
    for (int i = 0; i < n; i++) out[i] = (int64_t)p->v[i];
    return n;
}

/* Reads the whole manifest; returns the number of cases in *cases. */
KT_FN int kt_load(const char *dir, kt_case **cases)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/data.bin", dir);
    FILE *f = fopen(path, "rb");
    if (!f) kt_die("cannot open (run the generator through make check)", path);
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    if (len < 0) kt_die("cannot size", path);
    unsigned char *blob = kt_xmalloc((size_t)len);
    if (len && fread(blob, 1, (size_t)len, f) != (size_t)len) kt_die("short read", path);
    fclose(f);

    snprintf(path, sizeof path, "%s/manifest.txt", dir);
    f = fopen(path, "r");
    if (!f) kt_die("cannot open (run the generator through make check)", path);
    int cap = 64, n = 0;
    kt_case *cs = kt_xmalloc(sizeof *cs * (size_t)cap);
    char line[8192];
    kt_case *c = NULL;
    while (fgets(line, sizeof line, f)) {
        char *tok = strtok(line, " \t\r\n");
        if (!tok) continue;
        if (!strcmp(tok, "case")) {
            if (n == cap) {
                cap *= 2;
                cs = realloc(cs, sizeof *cs * (size_t)cap);
                if (!cs) kt_die("out of memory", NULL);
            }
            c = &cs[n++];
            memset(c, 0, sizeof *c);
            char *nm = strtok(NULL, " \t\r\n"), *op = strtok(NULL, " \t\r\n");
            if (!nm || !op) kt_die("bad case line in", path);
            snprintf(c->name, sizeof c->name, "%s", nm);
            snprintf(c->op, sizeof c->op, "%s", op);
        } else if (!strcmp(tok, "p") && c) {
            if (c->np == KT_MAXP) kt_die("too many parameters in", c->name);
            kt_param *p = &c->p[c->np++];
            char *k = strtok(NULL, " \t\r\n");
            if (!k) kt_die("bad parameter line in", c->name);
            snprintf(p->key, sizeof p->key, "%s", k);
            char *v;
            while ((v = strtok(NULL, " \t\r\n"))) {
                char *end;
                double d = strtod(v, &end);
                if (*end) {
                    snprintf(p->word, sizeof p->word, "%s", v);
                    continue;
                }
                if (p->n == KT_MAXV) kt_die("too many values in", c->name);
                p->v[p->n++] = d;
            }
        } else if (!strcmp(tok, "t") && c) {
            if (c->nt == KT_MAXT) kt_die("too many tensors in", c->name);
            kt_tensor *t = &c->t[c->nt++];
            char *nm = strtok(NULL, " \t\r\n"), *dt = strtok(NULL, " \t\r\n");
            char *off = strtok(NULL, " \t\r\n"), *nd = strtok(NULL, " \t\r\n");
            if (!nm || !dt || !off || !nd) kt_die("bad tensor line in", c->name);
            snprintf(t->name, sizeof t->name, "%s", nm);
            snprintf(t->dtype, sizeof t->dtype, "%s", dt);
            size_t es = kt_elsize(dt);
            if (!es) kt_die("unknown dtype in", c->name);
            t->ndim = atoi(nd);
            if (t->ndim < 0 || t->ndim > 8) kt_die("bad rank in", c->name);
            t->numel = 1;
            for (int i = 0; i < t->ndim; i++) {
                char *d = strtok(NULL, " \t\r\n");
                if (!d) kt_die("bad tensor line in", c->name);
                t->size[i] = atoll(d);
                t->numel *= t->size[i];
            }
            t->nbytes = (size_t)t->numel * es;
            long o = atol(off);
            if (o < 0 || o > len || (size_t)(len - o) < t->nbytes) kt_die("tensor outside data.bin in", c->name);
            t->data = kt_xmalloc(t->nbytes);
            memcpy(t->data, blob + o, t->nbytes);
        } else if (!strcmp(tok, "end")) {
            c = NULL;
        }
    }
    fclose(f);
    free(blob);
    if (n == 0) kt_die("no cases in", path);
    *cases = cs;
    return n;
}

KT_FN void kt_free(kt_case *cs, int n)
{
    for (int i = 0; i < n; i++)
        for (int j = 0; j < cs[i].nt; j++) free(cs[i].t[j].data);
    free(cs);
}

/* The fixture folder: argv[1], else $FIXTURES/kernels/<family>. */
KT_FN const char *kt_dir(int argc, char **argv, const char *family)
{
    static char buf[4096];
    if (argc > 1) return argv[1];
    const char *fx = getenv("FIXTURES");
    if (!fx || !*fx) kt_die("FIXTURES is not set (run through make check, or pass the folder)", NULL);
    snprintf(buf, sizeof buf, "%s/kernels/%s", fx, family);
    return buf;
}

/* One result line: case, op (and the output tensor when not "out"), measure. */
KT_FN void kt_result_of(const kt_case *c, const char *tensor, int ok, const char *fmt, double v)
{
    char what[96];
    if (tensor && strcmp(tensor, "out")) snprintf(what, sizeof what, "%s:%s", c->op, tensor);
    else snprintf(what, sizeof what, "%s", c->op);
    printf("%-40s %-20s ", c->name, what);
    printf(fmt, v);
    printf("  %s\n", ok ? "ok" : "FAIL");
    if (ok) kt_passed++;
    else kt_failed++;
}

KT_FN void kt_result(const kt_case *c, int ok, const char *fmt, double v)
{
    kt_result_of(c, NULL, ok, fmt, v);
}

/* A case that could not run (the kernel refused valid input, or accepted bad). */
KT_FN void kt_fail(const kt_case *c, const char *why)
{
    printf("%-40s %-20s %s  FAIL\n", c->name, c->op, why);
    kt_failed++;
}

/* max|got-want| / max|want| over n floats; NaN must meet NaN, inf the same inf. */
KT_FN double kt_relerr(const float *got, const float *want, int64_t n)
{
    double den = 0, num = 0;
    for (int64_t i = 0; i < n; i++)
        if (isfinite(want[i]) && fabs(want[i]) > den) den = fabs(want[i]);
    for (int64_t i = 0; i < n; i++) {
        if (isnan(want[i]) || isinf(want[i])) {
            int same = isnan(want[i]) ? isnan(got[i]) : got[i] == want[i];
            if (!same) return INFINITY;
            continue;
        }
        double d = fabs((double)got[i] - (double)want[i]);
        if (!(d <= num)) num = d;       /* a NaN got is an infinite error */
    }
    if (isnan(num)) return INFINITY;
    return den > 0 ? num / den : num;
}

/* Float output against torch's tensor NAME, to KT_TOL. */
KT_FN void kt_check_f32(kt_case *c, const float *got, const char *name)
{
    kt_tensor *w = kt_t(c, name);
    double e = kt_relerr(got, (const float *)w->data, w->numel);
    kt_result_of(c, name, e <= KT_TOL, "maxrel %.3g", e);
}

/* Output that must equal torch's tensor NAME byte for byte. */
KT_FN void kt_check_exact(kt_case *c, const void *got, const char *name)
{
    kt_tensor *w = kt_t(c, name);
    int64_t bad = 0;
    size_t es = kt_elsize(w->dtype);
    for (int64_t i = 0; i < w->numel; i++)
        if (memcmp((const char *)got + (size_t)i * es, (const char *)w->data + (size_t)i * es, es)) bad++;
    kt_result_of(c, name, bad == 0, "exact, %g differ", (double)bad);
}

/* An output buffer of exactly the size of torch's tensor NAME, filled
 * with 0xff bytes (NaN, -1, 255) so that an element the kernel forgot to
 * write cannot pass for torch's zero. */
KT_FN void *kt_out(kt_case *c, const char *name)
{
    kt_tensor *w = kt_t(c, name);
    void *p = kt_xmalloc(w->nbytes);
    memset(p, 0xff, w->nbytes ? w->nbytes : 1);
    return p;
}

KT_FN int kt_finish(void)
{
    printf("%d passed, %d failed\n", kt_passed, kt_failed);
    return kt_failed ? 1 : 0;
}

#endif /* KCASE_H */
