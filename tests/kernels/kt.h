/* kt.h — the harness of the kernel tests (tests/kernels/test_FAMILY.c).
 *
 * A test includes this header and the kernel files it checks, then loops
 * over the cases torch computed (tests/gen_kernels_FAMILY.py, written by
 * tests/kernels/kcases.py into $FIXTURES/kernels/FAMILY/):
 *
 *     kt_suite *s = kt_open("conv");
 *     kt_case *c;
 *     while ((c = kt_next(s))) { ... kt_check(s, "y", got, n, KT_TOL); }
 *     return kt_end(s);
 *
 * Every input is handed out as its own malloc'ed copy of exactly its size,
 * so that an out-of-bounds read is caught by ASan; outputs and scratch get
 * exactly their size plus a canary tail that kt_check inspects (a write
 * past the end fails the case even without ASan), and start filled with
 * NaN, so an output element the kernel forgot to write fails too.
 *
 * The error of a case is max|got - want| / max|want| (the absolute error
 * when want is all zeros); NaN must meet NaN.  Cases whose torch result is
 * a copy (pooling maxima, nearest resizing, embedding rows, pixel
 * shuffles, integer results) are checked bit for bit (tol KT_EXACT; NaN
 * meets any NaN, and +0 meets -0).
 * One line per check, "ok"/"FAIL", name, op, error; the exit status is 1
 * when any check failed, when the manifest is missing, cut short or
 * malformed, or when a case asked for a parameter it does not have.
 */
#ifndef KT_H
#define KT_H

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KT_TOL 1e-4
#define KT_EXACT 0.0
#define KT_MAXP 48
#define KT_MAXT 16
#define KT_MAXALLOC 64
#define KT_CANARY 16

typedef struct kt_tensor {
    char key[32];
    int is_i64;
    uint64_t off;
    int ndim;
    int64_t dims[8];
    int64_t n;
} kt_tensor;

typedef struct kt_case {
    char name[96], op[48];
    int np, nt;
    char pk[KT_MAXP][32];
    double pv[KT_MAXP];
    kt_tensor t[KT_MAXT];
} kt_case;

typedef struct kt_suite {
    char family[32];
    FILE *man;
    unsigned char *data;
    uint64_t size;
    kt_case c;
    int cases, checks, failed, declared, done;
    void *alloc[KT_MAXALLOC];
    int64_t alloc_n[KT_MAXALLOC];
    int nalloc;
} kt_suite;

static void kt_die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("FAIL: ");
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
    exit(1);
}

static kt_suite *kt_open(const char *family)
{
    static kt_suite s;
    const char *fx = getenv("FIXTURES");
    char path[4096];
    if (!fx || !*fx) kt_die("FIXTURES is not set (run through 'make check')");
    snprintf(s.family, sizeof s.family, "%s", family);
    snprintf(path, sizeof path, "%s/kernels/%s/data.bin", fx, family);
    FILE *f = fopen(path, "rb");
    if (!f) kt_die("cannot open %s", path);
    if (fseek(f, 0, SEEK_END) != 0) kt_die("cannot seek %s", path);
    long sz = ftell(f);
    if (sz < 0) kt_die("cannot size %s", path);
    rewind(f);
    s.size = (uint64_t)sz;
    s.data = malloc(s.size ? s.size : 1);
    if (!s.data || fread(s.data, 1, s.size, f) != s.size) kt_die("cannot read %s", path);
    fclose(f);
    snprintf(path, sizeof path, "%s/kernels/%s/manifest.txt", fx, family);
    s.man = fopen(path, "r");
    if (!s.man) kt_die("cannot open %s", path);
    s.declared = -1;
    return &s;
}

static void kt_free_case(kt_suite *s)
{
    for (int i = 0; i < s->nalloc; i++) free(s->alloc[i]);
    s->nalloc = 0;
}

/* The next case, or NULL at the manifest's "count" line. */
static kt_case *kt_next(kt_suite *s)
{
    char line[1024];
    kt_case *c = &s->c;
    kt_free_case(s);
    if (s->done) return NULL;
    int in_case = 0;
    while (fgets(line, sizeof line, s->man)) {
        if (!strchr(line, '\n')) kt_die("%s: manifest line too long", s->family);
        if (line[0] == '#' || line[0] == '\n') continue;
        if (!in_case) {
            if (sscanf(line, "count %d", &s->declared) == 1) {
                s->done = 1;
                return NULL;
            }
            memset(c, 0, sizeof *c);
            if (sscanf(line, "case %95s %47s", c->name, c->op) != 2) kt_die("%s: bad manifest line: %s", s->family, line);
            in_case = 1;
        } else if (line[0] == 'p') {
            if (c->np == KT_MAXP) kt_die("%s: too many parameters", c->name);
            if (sscanf(line, "p %31s %lf", c->pk[c->np], &c->pv[c->np]) != 2) kt_die("%s: bad line: %s", c->name, line);
            c->np++;
        } else if (line[0] == 't') {
            if (c->nt == KT_MAXT) kt_die("%s: too many tensors", c->name);
            kt_tensor *t = &c->t[c->nt];
            char kind[8];
            int used = 0;
            unsigned long long off;
            if (sscanf(line, "t %31s %7s %llu %d%n", t->key, kind, &off, &t->ndim, &used) != 4 || t->ndim < 0 || t->ndim > 8)
                kt_die("%s: bad line: %s", c->name, line);
            t->off = off;
            t->is_i64 = strcmp(kind, "i64") == 0;
            if (!t->is_i64 && strcmp(kind, "f32") != 0) kt_die("%s: dtype %s", c->name, kind);
            t->n = 1;
            char *p = line + used;
            for (int i = 0; i < t->ndim; i++) {
                char *e;
                long long d = strtoll(p, &e, 10);
                if (e == p || d < 0 || d > (1LL << 30)) kt_die("%s: bad dims: %s", c->name, line);
                t->dims[i] = d;
                t->n *= d;
                if (t->n > (1LL << 30)) kt_die("%s: tensor too large", c->name);
                p = e;
            }
            uint64_t bytes = (uint64_t)t->n * (t->is_i64 ? 8u : 4u);
            if (t->off > s->size || bytes > s->size - t->off) kt_die("%s: tensor %s past data.bin", c->name, t->key);
            c->nt++;
        } else if (strcmp(line, "end\n") == 0) {
            s->cases++;
            return c;
        } else {
            kt_die("%s: bad manifest line: %s", c->name, line);
        }
    }
    kt_die("%s: manifest ends without a count line (cut short?)", s->family);
    return NULL;
}

static int kt_has(const kt_case *c, const char *key)
{
    for (int i = 0; i < c->np; i++)
        if (strcmp(c->pk[i], key) == 0) return 1;
    return 0;
}

static double kt_f(const kt_case *c, const char *key)
{
    for (int i = 0; i < c->np; i++)
        if (strcmp(c->pk[i], key) == 0) return c->pv[i];
    kt_die("%s: no parameter %s", c->name, key);
    return 0;
}

static int64_t kt_i(const kt_case *c, const char *key)
{
    return (int64_t)kt_f(c, key);
}

static const kt_tensor *kt_tensor_of(const kt_case *c, const char *key)
{
    for (int i = 0; i < c->nt; i++)
        if (strcmp(c->t[i].key, key) == 0) return &c->t[i];
    return NULL;
}

static void *kt_track(kt_suite *s, void *p, int64_t n)
{
    if (!p) kt_die("out of memory");
    if (s->nalloc == KT_MAXALLOC) kt_die("%s: too many buffers", s->c.name);
    s->alloc[s->nalloc] = p;
    s->alloc_n[s->nalloc] = n;
    s->nalloc++;
    return p;
}

/* An f32 tensor of the case (input or torch's output), as an exactly-sized
 * copy; *n its element count.  NULL when absent and optional. */
static float *kt_get(kt_suite *s, const char *key, int64_t *n, int optional)
{
    const kt_tensor *t = kt_tensor_of(&s->c, key);
    if (!t) {
        if (optional) return NULL;
        kt_die("%s: no tensor %s", s->c.name, key);
    }
    if (t->is_i64) kt_die("%s: %s is int64", s->c.name, key);
    float *p = kt_track(s, malloc((size_t)(t->n ? t->n : 1) * sizeof *p), -1);
    memcpy(p, s->data + t->off, (size_t)t->n * sizeof *p);
    if (n) *n = t->n;
    return p;
}
#define kt_in(s, key, n) kt_get((s), (key), (n), 0)
#define kt_opt(s, key) kt_get((s), (key), NULL, 1)

static int64_t *kt_in_i64(kt_suite *s, const char *key, int64_t *n)
{
    const kt_tensor *t = kt_tensor_of(&s->c, key);
    if (!t || !t->is_i64) kt_die("%s: no int64 tensor %s", s->c.name, key);
    int64_t *p = kt_track(s, malloc((size_t)(t->n ? t->n : 1) * sizeof *p), -1);
    memcpy(p, s->data + t->off, (size_t)t->n * sizeof *p);
    if (n) *n = t->n;
    return p;
}

/* Dimension i of tensor key. */
static int64_t kt_dim(kt_suite *s, const char *key, int i)
{
    const kt_tensor *t = kt_tensor_of(&s->c, key);
    if (!t || i >= t->ndim) kt_die("%s: tensor %s has no dim %d", s->c.name, key, i);
    return t->dims[i];
}

static const uint32_t kt_canary = 0x7fbadbadu;

/* An output (or scratch) buffer of n floats, NaN-filled, with a canary
 * tail; n == 0 gives NULL. */
static float *kt_out(kt_suite *s, int64_t n)
{
    if (n == 0) return NULL;
    float *p = kt_track(s, malloc((size_t)(n + KT_CANARY) * sizeof *p), n);
    for (int64_t i = 0; i < n; i++) p[i] = NAN;
    for (int i = 0; i < KT_CANARY; i++) memcpy(p + n + i, &kt_canary, 4);
    return p;
}

/* Whether every canary is intact; names the buffer that was overrun. */
static int kt_canaries(kt_suite *s)
{
    int ok = 1;
    for (int a = 0; a < s->nalloc; a++) {
        if (s->alloc_n[a] < 0) continue;
        const float *p = s->alloc[a];
        for (int i = 0; i < KT_CANARY; i++)
            if (memcmp(p + s->alloc_n[a] + i, &kt_canary, 4) != 0) {
                printf("FAIL %-28s %-20s written past buffer %d (%lld floats)\n", s->c.name, s->c.op, a,
                       (long long)s->alloc_n[a]);
                ok = 0;
                break;
            }
    }
    return ok;
}

/* Compares got (n) with torch's tensor key; tol KT_EXACT for bit-exact. */
static void kt_check(kt_suite *s, const char *key, const float *got, int64_t n, double tol)
{
    int64_t nw;
    const float *want = kt_in(s, key, &nw);
    s->checks++;
    if (nw != n) {
        printf("FAIL %-28s %-20s %s: %lld elements, torch has %lld\n", s->c.name, s->c.op, key, (long long)n,
               (long long)nw);
        s->failed++;
        return;
    }
    double maxd = 0, maxw = 0;
    int64_t worst = -1, bad = 0;
    for (int64_t i = 0; i < n; i++) {
        double g = got[i], w = want[i];
        if (isnan(w) || isnan(g)) {
            if (isnan(w) != isnan(g)) bad++, worst = i;
            continue;
        }
        if (tol == KT_EXACT && memcmp(&got[i], &want[i], 4) != 0 && !(g == 0 && w == 0)) bad++, worst = i;
        double d = isinf(w) || isinf(g) ? (g == w ? 0 : INFINITY) : fabs(g - w);
        if (!isinf(w) && fabs(w) > maxw) maxw = fabs(w);
        if (d > maxd) maxd = d, worst = i;
    }
    double err = maxw > 0 ? maxd / maxw : maxd;
    int ok = bad == 0 && (tol == KT_EXACT ? 1 : err <= tol);
    ok &= kt_canaries(s);
    if (tol == KT_EXACT)
        printf("%s %-28s %-20s %-4s exact%s (%lld values)\n", ok ? "ok  " : "FAIL", s->c.name, s->c.op, key,
               bad ? ", differs" : "", (long long)n);
    else
        printf("%s %-28s %-20s %-4s rel %.2e (%lld values)\n", ok ? "ok  " : "FAIL", s->c.name, s->c.op, key,
               bad ? INFINITY : err, (long long)n);
    if (!ok && worst >= 0)
        printf("     first worst at %lld: got %.9g, torch %.9g\n", (long long)worst, got[worst], want[worst]);
    if (!ok) s->failed++;
}

/* Records a failure that is not a comparison (a wrong return value). */
static void kt_fail(kt_suite *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("FAIL %-28s %-20s ", s->c.name, s->c.op);
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
    s->checks++;
    s->failed++;
}

static void kt_pass(kt_suite *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("ok   %-28s %-20s ", s->c.name, s->c.op);
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
    s->checks++;
}

static int kt_end(kt_suite *s)
{
    kt_free_case(s);
    if (s->declared != s->cases) kt_die("%s: ran %d cases, the manifest declares %d", s->family, s->cases, s->declared);
    if (s->cases == 0 || s->checks < s->cases) kt_die("%s: %d cases but only %d checks", s->family, s->cases, s->checks);
    printf("%s: %d cases, %d checks, %d failed\n", s->family, s->cases, s->checks, s->failed);
    fclose(s->man);
    free(s->data);
    return s->failed ? 1 : 0;
}

/* An unknown op in the manifest is a failure of the test, not a skip. */
#define KT_UNKNOWN(s) kt_fail((s), "unknown op (the test does not know it)")

#endif /* KT_H */
