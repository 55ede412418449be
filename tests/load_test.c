/* load_test.c — rcc_load_f32 and rcc_load_i64 against what torch wrote.
 *
 *   load_test W MANIFEST
 *
 * MANIFEST (tests/load_expect.py, from the fixture's expect.json,
 * values.bin and f32.bin) gives each tensor of W: its kind (f32 or i64),
 * name, own dtype, shape, and the elements torch gives (float32 bits of
 * t.to(torch.float32), or the elements widened to int64).  For each tensor
 * this program
 *   - loads it with the loader of its kind and the shape of the manifest,
 *     into a buffer of exactly that many elements followed by a canary,
 *     and compares bit for bit with torch (and, for floating tensors, with
 *     rcc_read_f32 of the same record);
 *   - loads it with the other loader and expects the dtype message;
 * A line of kind "err" gives, after the count, the loader (f32 or i64)
 * and, to the end of the line, the message it must refuse the tensor with
 * (a complex tensor, a u64 element above INT64_MAX).
 * Then, on the first tensors that allow it, expects the messages of a
 * missing name (exact keys: a name cut by one character), of one
 * dimension too many, of a size off by one, and of one dimension too few.
 * One line per check; exit 0 when all pass, 1 otherwise (2 on a usage or
 * manifest error).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rcc.h"

#define MAXT 256
#define CANARY 16

typedef struct {
    int is_f32;
    char *refusal;   /* kind err: the message the loader of kind is_f32 gives */
    char name[128], dtype[16];
    int ndim;
    int64_t shape[RCC_MAX_NDIM];
    uint64_t numel;
    void *want;   /* numel uint32 bits or int64 values */
} Entry;

static int failures, checks;

static void check(int ok, const char *what, const char *name, const char *detail)
{
    checks++;
    if (!ok)
        failures++;
    printf("%s %s '%s'%s%s\n", ok ? "ok  " : "FAIL", what, name, detail ? ": " : "", detail ? detail : "");
}

static void die(const char *msg)
{
    fprintf(stderr, "load_test: error: %s\n", msg);
    exit(2);
}

static size_t read_manifest(const char *path, Entry *e)
{
    FILE *fp = fopen(path, "r");
    if (!fp)
        die("cannot open the manifest");
    size_t n = 0;
    char kind[8];
    while (fscanf(fp, "%7s", kind) == 1) {
        if (n == MAXT)
            die("too many tensors in the manifest");
        Entry *t = &e[n];
        memset(t, 0, sizeof *t);
        int is_err = strcmp(kind, "err") == 0;
        t->is_f32 = strcmp(kind, "f32") == 0;
        if ((!t->is_f32 && !is_err && strcmp(kind, "i64") != 0) || fscanf(fp, "%127s %15s %d", t->name, t->dtype, &t->ndim) != 3 ||
            t->ndim < 0 || t->ndim > RCC_MAX_NDIM)
            die("malformed manifest line");
        for (int i = 0; i < t->ndim; i++)
            if (fscanf(fp, "%" SCNd64, &t->shape[i]) != 1)
                die("malformed shape in the manifest");
        if (fscanf(fp, "%" SCNu64, &t->numel) != 1 || t->numel > (1u << 24))
            die("malformed count in the manifest");
        if (is_err) {
            char loader[8], line[512];
            if (fscanf(fp, "%7s", loader) != 1 || (strcmp(loader, "f32") != 0 && strcmp(loader, "i64") != 0) ||
                !fgets(line, sizeof line, fp) || line[0] != ' ' || !strchr(line, '\n'))
                die("malformed refusal in the manifest");
            t->is_f32 = strcmp(loader, "f32") == 0;
            *strchr(line, '\n') = 0;
            if (!(t->refusal = strdup(line + 1)))
                die("out of memory");
            n++;
            continue;
        }
        t->want = malloc(t->numel * 8 + 1);
        if (!t->want)
            die("out of memory");
        for (uint64_t k = 0; k < t->numel; k++) {
            int ok = t->is_f32 ? fscanf(fp, "%" SCNx32, (uint32_t *)t->want + k) == 1
                               : fscanf(fp, "%" SCNd64, (int64_t *)t->want + k) == 1;
            if (!ok)
                die("malformed values in the manifest");
        }
        n++;
    }
    fclose(fp);
    if (n == 0)
        die("empty manifest");
    return n;
}

static const unsigned char canary[CANARY] = {0xA5, 0x5A, 0xA5, 0x5A, 0xA5, 0x5A, 0xA5, 0x5A,
                                             0xA5, 0x5A, 0xA5, 0x5A, 0xA5, 0x5A, 0xA5, 0x5A};

/* A buffer of exactly numel elements of size sz, then the canary. */
static unsigned char *buffer(uint64_t numel, size_t sz)
{
    unsigned char *b = malloc(numel * sz + CANARY);
    if (!b)
        die("out of memory");
    memset(b, 0x7F, numel * sz);
    memcpy(b + numel * sz, canary, CANARY);
    return b;
}

static void shape_str(char *buf, size_t len, int ndim, const int64_t *shape)
{
    size_t at = (size_t)snprintf(buf, len, "[");
    for (int i = 0; i < ndim && at < len; i++)
        at += (size_t)snprintf(buf + at, len - at, "%s%" PRId64, i ? ", " : "", shape[i]);
    if (at < len)
        snprintf(buf + at, len - at, "]");
}

/* Load e with the loader of kind is_f32, shape (ndim, shape); expect -1 and
 * exactly the message want. */
static void expect_error(const rcc_file *f, const char *what, const char *name, int is_f32, int ndim,
                         const int64_t *shape, uint64_t room, const char *want)
{
    char err[512] = "";
    unsigned char *b = buffer(room, is_f32 ? 4 : 8);
    int r = is_f32 ? rcc_load_f32(f, name, ndim, shape, (float *)b, err, sizeof err)
                   : rcc_load_i64(f, name, ndim, shape, (int64_t *)b, err, sizeof err);
    char detail[2048];
    snprintf(detail, sizeof detail, "returned %d, \"%s\" (want -1, \"%s\")", r, err, want);
    check(r == -1 && strcmp(err, want) == 0, what, name, r == -1 && strcmp(err, want) == 0 ? err : detail);
    free(b);
}

static int has_name(const Entry *e, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(e[i].name, name) == 0)
            return 1;
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 3)
        die("usage: load_test W MANIFEST");
    static Entry e[MAXT];
    size_t n = read_manifest(argv[2], e);
    char err[512];
    rcc_file *f = rcc_open(argv[1], NULL, err, sizeof err);
    if (!f)
        die(err);

    for (size_t i = 0; i < n; i++) {
        Entry *t = &e[i];
        if (t->refusal) {
            expect_error(f, t->is_f32 ? "refused by rcc_load_f32" : "refused by rcc_load_i64", t->name, t->is_f32,
                         t->ndim, t->shape, t->numel, t->refusal);
            continue;
        }
        size_t sz = t->is_f32 ? 4 : 8;
        unsigned char *b = buffer(t->numel, sz);
        err[0] = 0;
        int r = t->is_f32 ? rcc_load_f32(f, t->name, t->ndim, t->shape, (float *)b, err, sizeof err)
                          : rcc_load_i64(f, t->name, t->ndim, t->shape, (int64_t *)b, err, sizeof err);
        char detail[600];
        uint64_t bad = t->numel;
        for (uint64_t k = 0; r == 0 && k < t->numel && bad == t->numel; k++)
            if (memcmp(b + k * sz, (unsigned char *)t->want + k * (t->is_f32 ? 4 : 8), sz) != 0)
                bad = k;
        if (r != 0)
            snprintf(detail, sizeof detail, "returned %d: %s", r, err);
        else if (bad < t->numel)
            snprintf(detail, sizeof detail, "element %" PRIu64 " differs from torch's", bad);
        else
            snprintf(detail, sizeof detail, "%s, %" PRIu64 " elements as torch", t->dtype, t->numel);
        check(r == 0 && bad == t->numel, t->is_f32 ? "rcc_load_f32" : "rcc_load_i64", t->name, detail);
        check(memcmp(b + t->numel * sz, canary, CANARY) == 0, "no write past the end", t->name, NULL);
        if (t->is_f32 && r == 0) {
            /* The same as rcc_read_f32 of the record. */
            const rcc_tensor *rt = rcc_find_tensor(f, t->name);
            float *g = malloc(t->numel * 4 + 1);
            if (!g)
                die("out of memory");
            int same = rt && rcc_read_f32(f, rt, g, (size_t)t->numel, err, sizeof err) == 0 &&
                       memcmp(g, b, t->numel * 4) == 0;
            check(same, "the same as rcc_read_f32", t->name, NULL);
            free(g);
        }
        free(b);

        char want[512];
        snprintf(want, sizeof want, "'%s' is %s; the model expects %s", t->name, t->dtype,
                 t->is_f32 ? "an integer tensor" : "a floating-point tensor");
        expect_error(f, t->is_f32 ? "f32 refused by rcc_load_i64" : "integer refused by rcc_load_f32", t->name,
                     !t->is_f32, t->ndim, t->shape, t->numel, want);
    }

    /* Missing: exact keys only, so a name cut by one character is missing. */
    int done_missing = 0, done_shape = 0, done_fewer = 0;
    for (size_t i = 0; i < n; i++) {
        Entry *t = &e[i];
        char cut[128], want[1024], has[256], asked[256];
        size_t len = strlen(t->name);
        if (!done_missing && len >= 2) {
            memcpy(cut, t->name, len - 1);
            cut[len - 1] = 0;
            if (!has_name(e, n, cut)) {
                snprintf(want, sizeof want, "missing tensor '%s'", cut);
                expect_error(f, "missing", cut, t->is_f32, t->ndim, t->shape, t->numel, want);
                done_missing = 1;
            }
        }
        if (!done_shape && t->ndim >= 1 && t->ndim < RCC_MAX_NDIM && t->is_f32) {
            int64_t more[RCC_MAX_NDIM + 1], off[RCC_MAX_NDIM];
            memcpy(more, t->shape, sizeof t->shape);
            more[t->ndim] = 1;
            shape_str(has, sizeof has, t->ndim, t->shape);
            shape_str(asked, sizeof asked, t->ndim + 1, more);
            snprintf(want, sizeof want, "'%s' has shape %s; the model expects %s", t->name, has, asked);
            expect_error(f, "one dimension too many", t->name, 1, t->ndim + 1, more, t->numel, want);
            memcpy(off, t->shape, sizeof t->shape);
            off[t->ndim - 1]++;
            shape_str(asked, sizeof asked, t->ndim, off);
            snprintf(want, sizeof want, "'%s' has shape %s; the model expects %s", t->name, has, asked);
            expect_error(f, "a size off by one", t->name, 1, t->ndim, off, t->numel + 1, want);
            done_shape = 1;
        }
        if (!done_fewer && t->ndim >= 2) {
            int64_t flat = t->shape[0] * t->shape[1];
            int64_t fewer[RCC_MAX_NDIM];
            fewer[0] = flat;
            memcpy(fewer + 1, t->shape + 2, sizeof(int64_t) * (size_t)(t->ndim - 2));
            shape_str(has, sizeof has, t->ndim, t->shape);
            shape_str(asked, sizeof asked, t->ndim - 1, fewer);
            snprintf(want, sizeof want, "'%s' has shape %s; the model expects %s", t->name, has, asked);
            expect_error(f, "one dimension too few (same count)", t->name, t->is_f32, t->ndim - 1, fewer, t->numel, want);
            done_fewer = 1;
        }
    }
    check(done_missing && done_shape && done_fewer, "the fixture has the tensors the error cases need", argv[1], NULL);
    rcc_close(f);
    for (size_t i = 0; i < n; i++)
        free(e[i].want);
    printf("%d checks, %d failed\n", checks, failures);
    return failures ? 1 : 0;
}
