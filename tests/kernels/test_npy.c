/* test_npy.c — src/gen/kernels/rk_npy.c on the files of tests/gen_npy.py.
 *
 *   test_npy DIR OUT [FULL]
 *
 * Runs each line of DIR/manifest.txt (gen_npy.py's docstring gives the
 * forms): good files read as numpy wrote them (header and data, into a
 * buffer of exactly the data's size, which ASan watches), refused files
 * give their message, rk_npy_expect accepts or says what the model
 * expects.  Each good file of a dtype of rk_npy_dtype is written again with rk_npy_write
 * into OUT/NAME.npy and read back (gen_npy.py check then loads those in
 * numpy).  Then the writer's refusals: a folder that does not exist, a
 * dtype or shape it cannot write, and FULL (a path such as /dev/full
 * whose writes fail) when given.  One line per check; exit 1 if any fails,
 * 2 on a usage or manifest error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rk_npy.c"
#include "rk_dtype.c"

static int checks, failures;

static void check(int ok, const char *what, const char *name, const char *detail)
{
    checks++;
    failures += !ok;
    printf("%s %s %s%s%s\n", ok ? "ok  " : "FAIL", what, name, detail && *detail ? ": " : "", detail ? detail : "");
}

static void die(const char *msg)
{
    fprintf(stderr, "test_npy: error: %s\n", msg);
    exit(2);
}

static char dir[512], out[512];

/* Opens DIR/NAME.npy and reads its header (what = "NAME.npy"). */
static FILE *header(const char *name, rk_npy *h, int *r, char *err, size_t errlen)
{
    char path[1200], what[200];
    snprintf(path, sizeof path, "%s/%s.npy", dir, name);
    snprintf(what, sizeof what, "%s.npy", name);
    FILE *fp = rk_npy_open(path, err, errlen);
    if (!fp) die(err);
    *r = rk_npy_read_header(fp, what, h, err, errlen);
    return fp;
}

static unsigned char *slurp(const char *path, long *len)
{
    FILE *fp = fopen(path, "rb");
    if (!fp) die("cannot open a .raw file");
    fseek(fp, 0, SEEK_END);
    *len = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    unsigned char *b = malloc((size_t)*len + 1);
    if (!b || fread(b, 1, (size_t)*len, fp) != (size_t)*len) die("cannot read a .raw file");
    fclose(fp);
    return b;
}

/* Reads the data of h from fp into an exactly-sized buffer. */
static unsigned char *data(FILE *fp, const char *what, const rk_npy *h, int *r, char *err, size_t errlen)
{
    unsigned char *b = malloc(h->nbytes ? (size_t)h->nbytes : 1);
    if (!b) die("out of memory");
    *r = rk_npy_read_data(fp, what, h, b, (size_t)h->nbytes, err, errlen);
    return b;
}

static int one_line(const char *s) { return strchr(s, '\n') == NULL; }

static void run_ok(char *rest)
{
    char name[128], descr[16], err[512] = "", detail[1024] = "";
    int ndim, r, n = 0;
    int64_t shape[RK_NPY_MAX_NDIM];
    long long nbytes;
    if (sscanf(rest, "%127s %15s %d%n", name, descr, &ndim, &n) != 3 || ndim < 0 || ndim > RK_NPY_MAX_NDIM)
        die("malformed ok line");
    rest += n;
    for (int i = 0; i < ndim; i++) {
        long long v;
        if (sscanf(rest, "%lld%n", &v, &n) != 1) die("malformed ok line");
        shape[i] = v;
        rest += n;
    }
    if (sscanf(rest, "%lld", &nbytes) != 1) die("malformed ok line");

    rk_npy h;
    FILE *fp = header(name, &h, &r, err, sizeof err);
    int same = r == 0 && !strcmp(h.descr, descr) && h.ndim == ndim && h.nbytes == nbytes;
    for (int i = 0; same && i < ndim; i++)
        same = h.shape[i] == shape[i];
    snprintf(detail, sizeof detail, "%s", r ? err : same ? descr : "the header reads differently");
    check(same, "header", name, detail);
    if (!same) {
        fclose(fp);
        return;
    }
    char what[200], path[1200];
    snprintf(what, sizeof what, "%s.npy", name);
    unsigned char *b = data(fp, what, &h, &r, err, sizeof err);
    fclose(fp);
    long rawlen;
    snprintf(path, sizeof path, "%s/%s.raw", dir, name);
    unsigned char *raw = slurp(path, &rawlen);
    check(r == 0 && rawlen == h.nbytes && !memcmp(b, raw, (size_t)rawlen), "data as numpy's tobytes()", name,
          r ? err : "");
    free(raw);

    if (h.dtype != RK_NPY_OTHER && h.dtype != RK_NPY_F2 && h.numel < 1000000) {   /* F2 writes floats */
        /* Write it again, read that back. */
        snprintf(path, sizeof path, "%s/%s.npy", out, name);
        r = rk_npy_write(path, h.dtype, h.ndim, h.shape, b, err, sizeof err);
        check(r == 0, "rk_npy_write", name, r ? err : "");
        rk_npy h2;
        FILE *f2 = rk_npy_open(path, err, sizeof err);
        int r2 = f2 ? rk_npy_read_header(f2, path, &h2, err, sizeof err) : -1;
        same = r2 == 0 && h2.dtype == h.dtype && h2.ndim == h.ndim && h2.nbytes == h.nbytes &&
               h2.data_offset % 64 == 0 && !memcmp(h2.shape, h.shape, sizeof(int64_t) * (size_t)h.ndim);
        unsigned char *b2 = same ? data(f2, path, &h2, &r2, err, sizeof err) : NULL;
        check(same && r2 == 0 && !memcmp(b, b2, (size_t)h.nbytes), "reads back what it wrote", name,
              r2 ? err : "");
        free(b2);
        if (f2) fclose(f2);
    }
    free(b);
}

static void run_err(char *rest)
{
    char name[128], err[512] = "", detail[1400];
    int r, n = 0;
    if (sscanf(rest, "%127s | %n", name, &n) != 1 || n == 0) die("malformed err line");
    char *want = rest + n;
    want[strcspn(want, "\n")] = 0;
    rk_npy h;
    FILE *fp = header(name, &h, &r, err, sizeof err);
    fclose(fp);
    int ok = r == -1 && !strncmp(err, want, strlen(want)) && one_line(err);
    snprintf(detail, sizeof detail, "%s%s%s", err, ok ? "" : " -- want: ", ok ? "" : want);
    check(ok, "refused", name, detail);
    /* The same into a buffer of 8: cut, terminated, nothing past it. */
    char small[8];
    fp = header(name, &h, &r, small, sizeof small);
    fclose(fp);
    check(r == -1 && strlen(small) == 7 && !strncmp(small, err, 7), "refused, message cut to 8 bytes", name, "");
}

static void run_expect(char *rest)
{
    char name[128], want[8], err[512] = "", detail[1400];
    int ndim, n = 0, r, bdim;
    long long bmin, bmax;
    int64_t shape[RK_NPY_MAX_NDIM];
    if (sscanf(rest, "%127s %7s %d%n", name, want, &ndim, &n) != 3 || ndim < 0 || ndim > RK_NPY_MAX_NDIM)
        die("malformed expect line");
    rest += n;
    for (int i = 0; i < ndim; i++) {
        long long v;
        if (sscanf(rest, "%lld%n", &v, &n) != 1) die("malformed expect line");
        shape[i] = v;
        rest += n;
    }
    if (sscanf(rest, "%d %lld %lld | %n", &bdim, &bmin, &bmax, &n) != 3) die("malformed expect line");
    char *msg = rest + n;
    msg[strcspn(msg, "\n")] = 0;
    rk_npy h;
    FILE *fp = header(name, &h, &r, err, sizeof err);
    fclose(fp);
    if (r != 0) {
        check(0, "expect: header", name, err);
        return;
    }
    char what[200];
    snprintf(what, sizeof what, "%s.npy", name);
    r = rk_npy_expect(&h, what, !strcmp(want, "i8") ? RK_NPY_I8 : !strcmp(want, "b1") ? RK_NPY_B1 : RK_NPY_F4, ndim, shape, bdim, bmin, bmax, err,
                      sizeof err);
    int ok = !strcmp(msg, "ok") ? r == 0 : r == -1 && !strcmp(err, msg);
    snprintf(detail, sizeof detail, "%s%s%s", r ? err : "accepted", ok ? "" : " -- want: ", ok ? "" : msg);
    check(ok, "rk_npy_expect", name, detail);
}

/* half NAME SRC: SRC's floats written as halves (gen_npy.py check compares
 * OUT/NAME.npy and OUT/NAME_r.npy with numpy's astype(float16)). */
static void run_half(char *rest)
{
    char name[128], src[128], err[512] = "", path[1200];
    int r;
    if (sscanf(rest, "%127s %127s", name, src) != 2) die("malformed half line");
    rk_npy h;
    FILE *fp = header(src, &h, &r, err, sizeof err);
    if (r != 0 || h.dtype != RK_NPY_F4) die("half: SRC must be a good <f4 file");
    float *x = (float *)data(fp, src, &h, &r, err, sizeof err);
    fclose(fp);
    if (r != 0) die(err);
    snprintf(path, sizeof path, "%s/%s.npy", out, name);
    r = rk_npy_write(path, RK_NPY_F2, h.ndim, h.shape, x, err, sizeof err);
    check(r == 0, "rk_npy_write as <f2", name, r ? err : "");
    for (int64_t i = 0; i < h.numel; i++) x[i] = rk_to_f16(x[i]);
    snprintf(path, sizeof path, "%s/%s_r.npy", out, name);
    r = rk_npy_write(path, RK_NPY_F2, h.ndim, h.shape, x, err, sizeof err);
    check(r == 0, "rk_to_f16, then rk_npy_write as <f2", name, r ? err : "");
    free(x);
}

static void run_small(char *rest)
{
    char name[128], err[512] = "", detail[1400];
    int r, n = 0;
    if (sscanf(rest, "%127s | %n", name, &n) != 1 || n == 0) die("malformed small line");
    char *want = rest + n;
    want[strcspn(want, "\n")] = 0;
    rk_npy h;
    FILE *fp = header(name, &h, &r, err, sizeof err);
    if (r != 0 || h.nbytes < 1) die("small: the file must be good and not empty");
    unsigned char *b = malloc((size_t)h.nbytes - 1 + 1);
    char what[200];
    snprintf(what, sizeof what, "%s.npy", name);
    r = rk_npy_read_data(fp, what, &h, b, (size_t)h.nbytes - 1, err, sizeof err);
    fclose(fp);
    free(b);
    int ok = r == -1 && !strcmp(err, want);
    snprintf(detail, sizeof detail, "%s%s%s", err, ok ? "" : " -- want: ", ok ? "" : want);
    check(ok, "read_data refuses a small buffer", name, detail);
}

/* rk_npy_write must fail with "PATH: cannot write: ..." */
static void write_fails(const char *what, const char *path, rk_npy_dtype t, int ndim, const int64_t *shape)
{
    char err[512] = "", prefix[600];
    float x[6] = {1, 2, 3, 4, 5, 6};
    int r = rk_npy_write(path, t, ndim, shape, x, err, sizeof err);
    snprintf(prefix, sizeof prefix, "%s: cannot write: ", path);
    check(r == -1 && !strncmp(err, prefix, strlen(prefix)) && strlen(err) > strlen(prefix), what, path, err);
}

int main(int argc, char **argv)
{
    if (argc != 3 && argc != 4) die("usage: test_npy DIR OUT [FULL]");
    snprintf(dir, sizeof dir, "%s", argv[1]);
    snprintf(out, sizeof out, "%s", argv[2]);
    char path[1200], line[4096];
    snprintf(path, sizeof path, "%s/manifest.txt", dir);
    FILE *m = fopen(path, "r");
    if (!m) die("cannot open DIR/manifest.txt");
    int lines = 0;
    while (fgets(line, sizeof line, m)) {
        if (!strchr(line, '\n')) die("manifest line too long");
        lines++;
        if (!strncmp(line, "ok ", 3)) run_ok(line + 3);
        else if (!strncmp(line, "err ", 4)) run_err(line + 4);
        else if (!strncmp(line, "expect ", 7)) run_expect(line + 7);
        else if (!strncmp(line, "small ", 6)) run_small(line + 6);
        else if (!strncmp(line, "half ", 5)) run_half(line + 5);
        else die("unknown manifest line");
    }
    fclose(m);
    if (lines < 10) die("manifest too short");

    char err[512] = "";
    snprintf(path, sizeof path, "%s/no_such_file.npy", dir);
    FILE *fp = rk_npy_open(path, err, sizeof err);
    check(!fp && strstr(err, ": cannot open: ") && !strncmp(err, path, strlen(path)), "open refuses", path, err);
    if (fp) fclose(fp);

    int64_t shape[2] = {2, 3}, neg[2] = {2, -3};
    snprintf(path, sizeof path, "%s/no/such/dir/x.npy", out);
    write_fails("write into a missing folder", path, RK_NPY_F4, 2, shape);
    snprintf(path, sizeof path, "%s/other.npy", out);
    write_fails("write refuses a dtype not in rk_npy_dtype", path, RK_NPY_OTHER, 2, shape);
    write_fails("write refuses a negative size", path, RK_NPY_F4, 2, neg);
    write_fails("write refuses 9 dimensions", path, RK_NPY_F4, 9, shape);
    if (argc == 4) write_fails("write error (full device)", argv[3], RK_NPY_F4, 2, shape);

    printf("%d checks, %d failed\n", checks, failures);
    return failures ? 1 : 0;
}
