/* infer_cmd.c — `rcc infer W [-o OUT.arch]`: an architecture spec from a
 * weight file alone (src/infer/infer.h).
 *
 * The families of the library are fitted first (unless --fallback); when
 * none covers the file, the fallback writes a spec that declares every key
 * exactly and guesses a forward.  The spec is made in memory and written at
 * once: to stdout, or with -o to a temporary file beside OUT that is
 * renamed into place only when everything went well, so that no partial
 * output file is ever left.
 *
 * Exit status: 0 written, 2 a usage or input error (the file cannot be
 * read, the output cannot be written, a family of the library is broken).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "infer.h"

#ifndef RCC_SPECSDIR
#define RCC_SPECSDIR "/usr/local/share/rcc/specs"
#endif

static const char usage_line[] =
    "usage: rcc infer W [-o OUT.arch] [--explain] [--key PATH] [--family NAME] [--specs DIR] [--fallback] [--allow-calls]";

/* Writes len bytes to a temporary file beside out, then renames it to out;
 * the temporary is removed on any failure.  0, or the exit status. */
static int write_atomically(const char *out, const char *buf, size_t len)
{
    const char *slash = strrchr(out, '/');
    size_t dirlen = slash ? (size_t)(slash - out) + 1 : 0;
    const char *base = out + dirlen;
    size_t cap = strlen(out) + 16;
    char *tmp = malloc(cap);
    if (!tmp)
        return cli_error(out, "out of memory");
    snprintf(tmp, cap, "%.*s.%s.XXXXXX", (int)dirlen, out, base);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        int st = cli_error(out, "cannot create a temporary file beside it: %s", strerror(errno));
        free(tmp);
        return st;
    }
    mode_t mask = umask(0);   /* the mode a plain fopen would give */
    umask(mask);
    int ok = fchmod(fd, 0666 & ~mask) == 0;
    FILE *fp = fdopen(fd, "wb");
    if (!fp) {
        close(fd);
        ok = 0;
    } else {
        ok = ok && fwrite(buf, 1, len, fp) == len;
        ok = ok && fflush(fp) == 0;
        ok = (fclose(fp) == 0) && ok;
    }
    if (ok && rename(tmp, out) == 0) {
        free(tmp);
        return 0;
    }
    int st = cli_error(out, "cannot write it: %s", strerror(errno ? errno : EIO));
    unlink(tmp);
    free(tmp);
    return st;
}

int cmd_infer(int argc, char **argv)
{
    const char *w = NULL, *out = NULL, *key = NULL;
    InferOptions o = {0};
    int allow_calls = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int more = i + 1 < argc;
        if (!strcmp(a, "--explain"))
            o.explain = 1;
        else if (!strcmp(a, "--fallback"))
            o.no_families = 1;
        else if (!strcmp(a, "--allow-calls"))
            allow_calls = 1;
        else if (!strcmp(a, "-o") && more)
            out = argv[++i];
        else if (!strcmp(a, "--key") && more)
            key = argv[++i];
        else if (!strcmp(a, "--family") && more)
            o.family = argv[++i];
        else if (!strcmp(a, "--specs") && more)
            o.specs_dir = argv[++i];
        else if (a[0] == '-' && a[1])
            return cli_error(NULL, "infer: unknown option '%s' (%s)", a, usage_line);
        else if (!w)
            w = a;
        else
            return cli_error(NULL, "infer: too many arguments (%s)", usage_line);
    }
    if (!w || (out && !*out))
        return cli_error(NULL, "infer: %s", usage_line);
    if (!o.specs_dir) {
        const char *env = getenv("RCC_SPECS");
        o.specs_dir = env && *env ? env : RCC_SPECSDIR;
    }

    if (out) {   /* a folder that cannot take OUT fails now, before the work */
        const char *slash = strrchr(out, '/');
        char *dir = slash ? strndup(out, (size_t)(slash - out) + 1) : strdup(".");
        int ok = dir && access(dir, W_OK | X_OK) == 0;
        int e = errno;
        free(dir);
        if (!ok)
            return cli_error(out, "cannot create a temporary file beside it: %s", strerror(dir ? e : ENOMEM));
    }
    char err[512] = "";
    rcc_open_options opt = {.key = key, .allow_calls = allow_calls};
    rcc_file *f = rcc_open(w, &opt, err, sizeof err);
    if (!f)
        return cli_error(w, "%s", err);
    cli_warn_calls(w, f);

    /* Each attempt writes to memory of its own: a family that said no
     * leaves nothing behind. */
    char *buf = NULL;
    size_t len = 0;
    int r = 0, bad = 0;
    for (int pass = o.no_families; pass < 2 && r == 0; pass++) {
        free(buf);
        buf = NULL;
        FILE *mem = open_memstream(&buf, &len);
        if (!mem) {
            bad = 1;
            break;
        }
        r = pass == 0 ? infer_families(f, w, &o, mem, stderr, err, sizeof err)
                      : infer_fallback(f, w, mem, stderr, err, sizeof err) < 0 ? -1 : 1;
        bad = fclose(mem) != 0;
    }
    rcc_close(f);
    int status = 0;
    if (r < 0)
        status = cli_error(w, "%s", *err ? err : "cannot infer a spec");
    else if (bad || !buf)
        status = cli_error(w, "out of memory");
    else if (out)
        status = write_atomically(out, buf, len);
    else if (fwrite(buf, 1, len, stdout) != len || fflush(stdout) != 0)
        status = cli_error(NULL, "cannot write to standard output");
    free(buf);
    return status;
}
