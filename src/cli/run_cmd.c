/* run_cmd.c — `rcc run SPEC.arch W IN.npy... -o OUT.npy...`: generate,
 * compile, cache, run.
 *
 * The sizes the spec leaves symbolic besides the batch come from the
 * inputs' shapes (read from their .npy headers).  The generated source is
 * the cache key: it is compiled with $CC (default cc) and $RCC_CFLAGS
 * (default -O2 -march=native) against the runtime library, and the
 * program is kept under $XDG_CACHE_HOME/rcc (~/.cache/rcc) in a folder
 * named by a hash of the source and the compile command.  An entry is used
 * only when its saved source equals the new one byte for byte and its
 * program still has the hash recorded when it was built; anything else is
 * rebuilt.  A compile failure is rcc's bug, reported with the compiler's
 * first error and the kept source.
 */
#include <config.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "gen.h"

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#include "rk_npy.c"   /* the .npy header reader the generated mains use (static functions) */
#pragma GCC diagnostic pop

static const char usage_line[] =
    "usage: rcc run SPEC.arch W IN.npy... -o OUT.npy... [--expect REF.npy]... [--tolerance T] [--repeat N] "
    "[--threads N] [--model NAME]";

/* FNV-1a, 64 bits, over a byte range, continuing from h. */
static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * 1099511628211ULL;
    return h;
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *buf = NULL;
    size_t cap = 0, n = 0;
    for (;;) {
        if (n == cap) {
            cap = cap ? 2 * cap : 65536;
            char *nb = realloc(buf, cap + 1);
            if (!nb) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = nb;
        }
        size_t r = fread(buf + n, 1, cap - n, f);
        n += r;
        if (r == 0) break;
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        free(buf);
        return NULL;
    }
    buf[n] = 0;
    *len = n;
    return buf;
}

static int mkdirs(const char *path)
{
    char tmp[4400];
    snprintf(tmp, sizeof tmp, "%s", path);
    for (char *p = tmp + 1; *p; p++)
        if (*p == '/') {
            *p = 0;
            if (mkdir(tmp, 0755) < 0 && errno != EEXIST) return -1;
            *p = '/';
        }
    return mkdir(tmp, 0755) < 0 && errno != EEXIST ? -1 : 0;
}

/* Does a cache entry hold this source, and a program with the hash it
 * was stored with? */
static int entry_valid(const char *keep, const char *bin, const char *sum, const char *src, size_t clen)
{
    size_t olen, blen, slen;
    int ok = 0;
    char *old = slurp(keep, &olen), *b = slurp(bin, &blen), *s = slurp(sum, &slen);
    if (old && b && s && olen == clen && !memcmp(old, src, clen)) {
        char want[32];
        snprintf(want, sizeof want, "%016llx\n", (unsigned long long)fnv(14695981039346656037ULL, b, blen));
        ok = slen == strlen(want) && !memcmp(s, want, slen);
    }
    free(old), free(b), free(s);
    return ok;
}

/* Removes a cache folder: the files rcc puts there, then the folder. */
static void remove_entry(const char *dir)
{
    static const char *const files[] = {"model", "model.c", "model.h", "model.sum", "cc.log"};
    char p[4400];
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(p, sizeof p, "%s/%s", dir, files[i]);
        remove(p);
    }
    rmdir(dir);
}

/* Runs argv, stdout and stderr to errfile when given; its exit status. */
static int spawn(char *const argv[], const char *errfile)
{
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        if (errfile) {
            FILE *f = freopen(errfile, "w", stderr);
            if (!f) _exit(127);
            dup2(fileno(stderr), fileno(stdout));
        }
        execvp(argv[0], argv);
        _exit(127);
    }
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR) return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
}

/* Splits s at spaces into argv (modifies s); returns the count. */
static int split_words(char *s, char **argv, int cap)
{
    int n = 0;
    for (char *p = strtok(s, " \t"); p && n < cap; p = strtok(NULL, " \t")) argv[n++] = p;
    return n;
}

/* The first line of the compiler's output that says error. */
static void first_error(const char *path, char *out, size_t cap)
{
    size_t n;
    char *t = slurp(path, &n);
    snprintf(out, cap, "(no message)");
    if (!t) return;
    for (char *line = strtok(t, "\n"); line; line = strtok(NULL, "\n"))
        if (strstr(line, "error")) {
            snprintf(out, cap, "%s", line);
            break;
        }
    free(t);
}

int cmd_run(int argc, char **argv)
{
    const char *spec = NULL, *w = NULL, *model = NULL, *ins[64], *outs[64], *refs[64], *repeat = NULL, *threads = NULL;
    const char *tol = NULL;
    int nin = 0, nout = 0, nref = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int more = i + 1 < argc;
        if (!strcmp(a, "-o") && more) {
            if (nout == 64) return cli_error(NULL, "run: too many outputs");
            outs[nout++] = argv[++i];
        } else if (!strcmp(a, "--expect") && more) {
            if (nref == 64) return cli_error(NULL, "run: too many references");
            refs[nref++] = argv[++i];
        } else if (!strcmp(a, "--tolerance") && more) tol = argv[++i];
        else if (!strcmp(a, "--repeat") && more) repeat = argv[++i];
        else if (!strcmp(a, "--threads") && more) threads = argv[++i];
        else if (!strcmp(a, "--model") && more) model = argv[++i];
        else if (a[0] == '-' && a[1]) return cli_error(NULL, "run: unknown option '%s' (%s)", a, usage_line);
        else if (!spec) spec = a;
        else if (!w) w = a;
        else if (nin == 64) return cli_error(NULL, "run: too many inputs");
        else ins[nin++] = a;
    }
    if (!spec || !w || !nin || !nout) return cli_error(NULL, "run: %s", usage_line);
    if ((repeat && atoi(repeat) < 1) || (threads && atoi(threads) < 1))
        return cli_error(NULL, "run: --repeat and --threads take a positive integer");

    /* the inputs' shapes bind the spec's symbolic sizes */
    Arena arena = {0};
    Diags d;
    Elab e;
    diag_init(&d, &arena);
    if (elab_file(&e, &d, &arena, spec, model) < 0) {
        diag_render(&d, stderr);
        arena_free(&arena);
        return EXIT_INPUT;
    }
    SizeBind sizes[32];
    size_t ns = 0;
    char names[32][64];
    const Stmt *fw = NULL;   /* inputs come in the forward's order */
    for (size_t i = 0; e.model && i < e.model->nbody; i++)
        if (e.model->body[i]->kind == ST_FORWARD) fw = e.model->body[i];
    for (int i = 0; fw && i < nin && (size_t)i < fw->nparams; i++) {
        const Input *inp = NULL;
        for (size_t k = 0; k < e.ninputs; k++)
            if (!strcmp(e.inputs[k].name, fw->params[i])) inp = &e.inputs[k];
        if (!inp) continue;
        char err[512];
        FILE *fp = rk_npy_open(ins[i], err, sizeof err);
        rk_npy h;
        if (!fp || rk_npy_read_header(fp, ins[i], &h, err, sizeof err) != 0) {
            if (fp) fclose(fp);
            arena_free(&arena);
            return cli_error(NULL, "%s", err);
        }
        fclose(fp);
        const TypeExpr *ty = inp->type;
        if ((size_t)h.ndim != ty->ndims) {
            arena_free(&arena);
            return cli_error(ins[i], "%d dimensions; the spec's input '%s' has %zu", h.ndim, inp->name, ty->ndims);
        }
        for (size_t k = 0; k < ty->ndims && ns < 32; k++) {
            const Expr *dx = ty->dims[k];
            Val v;
            if (dx->kind != EX_NAME || elab_conf(&e, 0, dx->u.s, &v)) continue;
            size_t j = 0;
            while (j < ns && strcmp(sizes[j].name, dx->u.s)) j++;
            if (j < ns) continue;   /* the first input that has it decides; the model checks the rest */
            snprintf(names[ns], sizeof names[ns], "%s", dx->u.s);
            sizes[ns] = (SizeBind){names[ns], h.shape[k] ? h.shape[k] : 1};
            ns++;
        }
    }
    arena_free(&arena);

    /* generate into a private folder */
    const char *cache_root = getenv("XDG_CACHE_HOME");
    char root[4096], work[4200], cpath[4300];
    if (cache_root && *cache_root) snprintf(root, sizeof root, "%s/rcc", cache_root);
    else snprintf(root, sizeof root, "%s/.cache/rcc", getenv("HOME") ? getenv("HOME") : "/tmp");
    snprintf(work, sizeof work, "%s/tmp.%ld", root, (long)getpid());
    if (mkdirs(work) < 0) return cli_error(work, "cannot create: %s", strerror(errno));
    snprintf(cpath, sizeof cpath, "%s/model.c", work);
    GenOptions o = {.spec = spec, .model = model, .out_c = cpath, .main = 1, .sizes = sizes, .nsizes = ns,
                    .prefix = "model"};
    int st = gen_files(&o);
    if (st) {
        remove_entry(work);
        return st;
    }

    /* the compile command */
    const char *cc = getenv("CC") && *getenv("CC") ? getenv("CC") : "cc";
    const char *cflags = getenv("RCC_CFLAGS") ? getenv("RCC_CFLAGS") : "-O2 -march=native";
    const char *rt_cflags = getenv("RCC_RUNTIME_CFLAGS") ? getenv("RCC_RUNTIME_CFLAGS") : "-I" RCC_INCLUDEDIR;
    const char *rt_libs = getenv("RCC_RUNTIME_LIBS") ? getenv("RCC_RUNTIME_LIBS")
                                                     : "-L" RCC_LIBDIR " -Wl,-rpath," RCC_LIBDIR " -lrcc";
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "%s %s %s -o model model.c %s %s -lm", cc, cflags, rt_cflags, rt_libs, RCC_BLAS_LIBS);
    size_t clen;
    char *src = slurp(cpath, &clen);
    if (!src) return cli_error(cpath, "cannot read back: %s", strerror(errno));
    uint64_t key = fnv(fnv(14695981039346656037ULL, src, clen), cmd, strlen(cmd));
    char dir[4200], bin[4300], keep[4300], sum[4300];
    snprintf(dir, sizeof dir, "%s/%016llx", root, (unsigned long long)key);
    snprintf(bin, sizeof bin, "%s/model", dir);
    snprintf(keep, sizeof keep, "%s/model.c", dir);
    snprintf(sum, sizeof sum, "%s/model.sum", dir);

    const char *scratch_dir = NULL;   /* a build that could not be stored: removed after the run */
    size_t blen;
    int hit = entry_valid(keep, bin, sum, src, clen);
    if (!hit) {   /* build in the private folder, then move it in */
        char *av[256];
        char words[8192];
        snprintf(words, sizeof words, "%s", cmd);
        int n = split_words(words, av, 255);
        av[n] = NULL;
        char errf[4300], here[4096];
        snprintf(errf, sizeof errf, "%s/cc.log", work);
        if (!getcwd(here, sizeof here) || chdir(work) < 0) return cli_error(work, "cannot enter: %s", strerror(errno));
        int r = spawn(av, errf);
        if (chdir(here) < 0) return cli_error(here, "cannot return: %s", strerror(errno));
        if (r != 0) {
            char first[1024];
            first_error(errf, first, sizeof first);
            free(src);
            return cli_error(NULL, "the generated code did not compile; this is a bug in rcc, please report it. "
                                   "%s: %s (source kept in %s, command: %s)", cc, first, work, cmd);
        }
        char wbin[4300], wsum[4300];
        snprintf(wbin, sizeof wbin, "%s/model", work);
        snprintf(wsum, sizeof wsum, "%s/model.sum", work);
        char *nb = slurp(wbin, &blen);
        FILE *f = nb ? fopen(wsum, "w") : NULL;
        if (!f) return cli_error(wbin, "cannot read the compiled program");
        fprintf(f, "%016llx\n", (unsigned long long)fnv(14695981039346656037ULL, nb, blen));
        free(nb);
        if (fclose(f) != 0) return cli_error(wsum, "cannot write");
        /* A stale entry goes; one that another rcc run has just stored is
         * left alone (it may be running it): then this run uses its own. */
        if (!entry_valid(keep, bin, sum, src, clen)) remove_entry(dir);
        remove(errf);
        if (rename(work, dir) < 0) {   /* another rcc run stored it first (or the cache is not writable): run ours */
            snprintf(bin, sizeof bin, "%s/model", work);
            scratch_dir = work;
        }
    } else {
        remove_entry(work);
    }
    free(src);

    char *av[320];
    int n = 0;
    av[n++] = bin;
    av[n++] = "-w";
    av[n++] = (char *)w;
    for (int i = 0; i < nin; i++) av[n++] = (char *)ins[i];
    for (int i = 0; i < nout; i++) av[n++] = "-o", av[n++] = (char *)outs[i];
    if (repeat) av[n++] = "--repeat", av[n++] = (char *)repeat;
    if (threads) av[n++] = "--threads", av[n++] = (char *)threads;
    for (int i = 0; i < nref; i++) av[n++] = "--expect", av[n++] = (char *)refs[i];
    if (tol) av[n++] = "--tolerance", av[n++] = (char *)tol;
    av[n] = NULL;
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) return cli_error(NULL, "cannot run %s: %s", bin, strerror(errno));
    if (pid == 0) {
        char *argv0[320];
        memcpy(argv0, av, sizeof av);
        argv0[0] = "rcc";   /* its messages read "rcc: ..." */
        execv(bin, argv0);
        _exit(127);
    }
    int wst;
    while (waitpid(pid, &wst, 0) < 0)
        if (errno != EINTR) return cli_error(NULL, "waitpid: %s", strerror(errno));
    if (scratch_dir) remove_entry(scratch_dir);
    if (WIFEXITED(wst)) return WEXITSTATUS(wst);
    return cli_error(NULL, "the compiled model (%s) was killed by signal %d; this is a bug in rcc", bin,
                     WIFSIGNALED(wst) ? WTERMSIG(wst) : 0);
}
