/* families.c — choosing: every family of the library fitted to the file
 * (fit.c); the ones that cover it are checked as `rcc check` would check
 * their spec, and the one with the fewest guessed values wins. */
#define _GNU_SOURCE
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fit.h"
#include "infer.h"

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The family files of the library, sorted: dir/families/ *.arch. */
static char **family_files(const char *specs, size_t *n)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/families", specs);
    *n = 0;
    DIR *dp = opendir(dir);
    if (!dp)
        return NULL;
    char **v = NULL;
    size_t cap = 0;
    struct dirent *de;
    while ((de = readdir(dp)) != NULL) {
        size_t len = strlen(de->d_name);
        if (len < 6 || strcmp(de->d_name + len - 5, ".arch") != 0 || de->d_name[0] == '.')
            continue;
        if (*n == cap) {
            cap = cap ? cap * 2 : 64;
            char **nv = realloc(v, cap * sizeof *v);
            if (!nv)
                break;
            v = nv;
        }
        if (asprintf(&v[*n], "%s/%s", dir, de->d_name) < 0)
            break;
        (*n)++;
    }
    closedir(dp);
    if (v)
        qsort(v, *n, sizeof *v, by_name);
    return v;
}

/* The prefix every key carries that a wrapper adds (DataParallel's
 * module., torch.compile's _orig_mod.), or 0. */
static size_t wrapper_prefix(const rcc_file *f, const char **which)
{
    static const char *const prefixes[] = {"module.", "_orig_mod.", "model."};
    size_t n = rcc_tensor_count(f);
    for (size_t p = 0; p < sizeof prefixes / sizeof *prefixes && n; p++) {
        size_t len = strlen(prefixes[p]), i = 0;
        while (i < n && strncmp(rcc_tensor_at(f, i)->name, prefixes[p], len) == 0)
            i++;
        if (i == n) {
            *which = prefixes[p];
            return len;
        }
    }
    *which = NULL;
    return 0;
}

/* The covering spec checked as `rcc check` checks it: 0, or -1 with the
 * first problem in why. */
static int verify(const char *spec, const rcc_file *f, char *why, size_t cap)
{
    char tpath[4096];
    if (infer_temp_spec(spec, strlen(spec), tpath, sizeof tpath, why, cap) < 0)
        return -1;
    Arena a = {0};
    Diags d;
    Elab e;
    diag_init(&d, &a);
    CheckOptions co = {0};
    int ok = elab_file(&e, &d, &a, tpath, NULL) == 0 && shapes_check(&e) == 0 &&
             check_weights(&e, f, "W", &co) == 0;
    if (!ok) {
        char msg[320];
        infer_first_error(&d, msg, sizeof msg);
        snprintf(why, cap, "its spec does not check: %s", msg);
    }
    arena_free(&a);
    unlink(tpath);
    return ok ? 0 : -1;
}

static int accept(const char *spec, void *f, char *why, size_t cap)
{
    return verify(spec, f, why, cap);
}

int infer_families(const rcc_file *f, const char *wpath, const InferOptions *o, FILE *out, FILE *log,
    char *err, size_t errlen)
{
    size_t nfam = 0;
    char **fams = family_files(o->specs_dir, &nfam);
    if (!nfam) {
        fprintf(log, "rcc: infer: no family library in %s/families\n", o->specs_dir);
        free(fams);
        return 0;
    }
    const char *prefix;
    size_t strip = wrapper_prefix(f, &prefix);
    FitFile ff;
    FamilyResult *res = calloc(nfam, sizeof *res);
    if (!res || fit_file_init(&ff, f, strip) < 0) {
        free(res);
        for (size_t i = 0; i < nfam; i++)
            free(fams[i]);
        free(fams);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    ff.prefix = prefix;
    const char *wname = strrchr(wpath, '/') ? strrchr(wpath, '/') + 1 : wpath;
    long win = -1;
    size_t tried = 0;
    for (size_t i = 0; i < nfam; i++) {
        const char *base = strrchr(fams[i], '/') + 1;
        if (o->family && (strncmp(base, o->family, strlen(o->family)) || strcmp(base + strlen(o->family), ".arch")))
            continue;
        tried++;
        if (fit_family(fams[i], &ff, wname, accept, (void *)f, &res[i]) < 0) {
            snprintf(err, errlen, "out of memory");
            win = -2;
            break;
        }
        if (res[i].covers && (win < 0 || res[i].nguessed < res[win].nguessed))
            win = (long)i;
    }
    int status = 0;
    if (win == -2) {
        status = -1;
    } else if (o->family && !tried) {
        snprintf(err, errlen, "no family named '%s' in %s/families", o->family, o->specs_dir);
        status = -1;
    } else if (win >= 0) {
        FamilyResult *w = &res[win];
        fprintf(log, "rcc: infer: %s: family %s covers all %zu keys (%zu runs)\n", wpath, w->name, ff.nkeys, w->runs);
        for (size_t i = 0; i < nfam; i++)
            if (res[i].covers && (long)i != win)
                fprintf(log, "rcc: infer: note: family %s covers it too, with %zu guessed value%s (%s has %zu)\n",
                        res[i].name, res[i].nguessed, res[i].nguessed == 1 ? "" : "s", w->name, w->nguessed);
        if (prefix)
            fprintf(log, "rcc: infer: note: every key starts with '%s': the model is written as that child\n",
                    prefix);
        if (w->warnings)
            fputs(w->warnings, log);
        fprintf(log, "rcc: infer: decided:\n%s", w->explain ? w->explain : "");
        for (size_t i = 0; o->explain && i < nfam; i++)   /* and how the others did */
            if (res[i].name[0] && !res[i].covers)
                fprintf(log, "rcc: infer:   not %s: makes %zu of the %zu keys: %s\n", res[i].name, res[i].matched,
                        ff.nkeys, res[i].why);
        fputs(w->spec, out);
        status = 1;
    } else {
        long near = -1;
        for (size_t i = 0; i < nfam; i++)
            if (res[i].name[0] && (near < 0 || res[i].matched > res[near].matched))
                near = (long)i;
        if (near >= 0)
            fprintf(log, "rcc: infer: no family covers %s; the nearest, %s, makes %zu of its %zu keys: %s\n", wpath,
                    res[near].name, res[near].matched, ff.nkeys, res[near].why);
        for (size_t i = 0; o->explain && i < nfam; i++)
            if (res[i].name[0] && (long)i != near)
                fprintf(log, "rcc: infer:   %s: %zu keys: %s\n", res[i].name, res[i].matched, res[i].why);
    }
    for (size_t i = 0; i < nfam; i++) {
        fit_result_free(&res[i]);
        free(fams[i]);
    }
    free(fams);
    free(res);
    fit_file_free(&ff);
    return status;
}
