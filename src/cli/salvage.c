/* salvage.c — `rcc salvage W -o fixed.pt`: what survives of a damaged file.
 *
 * W is opened with allow_damaged: a truncated archive, or one whose
 * central directory is lost, is read from its local headers, and every
 * tensor whose storage record is missing or fails its CRC-32 is lost.  The
 * intact tensors are written (writer.c) as the zip state dict torch.save
 * writes, so `torch.load(fixed.pt, weights_only=True)` reads them: storages
 * shared by several intact tensors stay shared, views keep their offsets
 * and strides, and the storages are renumbered in order of first use as
 * torch would.  A healthy file can be salvaged too (a re-save).
 *
 * stderr says what was lost, one line per tensor, then how much was kept.
 * Exit 0 when nothing was lost, 1 when something was, 2 on a usage or
 * input error or when nothing is left to recover (then no file is made).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "internal.h"

typedef struct Plan {
    const rcc_file     *f;
    WrStorage          *st;      /* the output's storages */
    size_t              nst;
    size_t             *from;    /* per output storage: the file's storage */
    const rcc_tensor  **own;     /* or the tensor materialised into it */
    WrTensor           *t;
    size_t              nt;
    int64_t            *strides; /* contiguous strides of materialised tensors */
} Plan;

static void plan_free(Plan *p)
{
    free(p->st);
    free(p->from);
    free(p->own);
    free(p->t);
    free(p->strides);
}

/* The output state dict: the intact tensors, in order, each over its own
 * storage renumbered by first use.  A tensor whose dtype differs from its
 * storage's (several views of one untyped storage) cannot be pickled as a
 * view of a typed storage; it gets a storage of its own, materialised. */
static int plan(Plan *p, const rcc_file *f)
{
    size_t nt = rcc_tensor_count(f), ns = rcc_storage_count(f), nd = 0;
    for (size_t i = 0; i < nt; i++)
        nd += (size_t)rcc_tensor_at(f, i)->ndim;
    size_t *map = malloc((ns + 1) * sizeof *map);
    p->f = f;
    p->st = calloc(nt + 1, sizeof *p->st);
    p->from = calloc(nt + 1, sizeof *p->from);
    p->own = calloc(nt + 1, sizeof *p->own);
    p->t = calloc(nt + 1, sizeof *p->t);
    p->strides = calloc(nd + 1, sizeof *p->strides);
    if (!map || !p->st || !p->from || !p->own || !p->t || !p->strides) {
        free(map);
        return -1;
    }
    for (size_t i = 0; i < ns; i++)
        map[i] = SIZE_MAX;
    int64_t *sp = p->strides;
    for (size_t i = 0; i < nt; i++) {
        const rcc_tensor *t = rcc_tensor_at(f, i);
        if (!t->intact)
            continue;
        const rcc_storage *s = rcc_storage_at(f, t->storage);
        WrTensor *o = &p->t[p->nt++];
        o->name = t->name;
        o->ndim = t->ndim;
        o->shape = t->shape;
        o->requires_grad = t->requires_grad;
        o->is_parameter = t->is_parameter;
        if (t->dtype == s->dtype) {
            if (map[t->storage] == SIZE_MAX) {
                map[t->storage] = p->nst;
                p->st[p->nst].dtype = s->dtype;
                p->st[p->nst].numel = s->numel;
                p->from[p->nst++] = t->storage;
            }
            o->storage = map[t->storage];
            o->offset = t->storage_offset;
            o->strides = t->strides;
        } else {
            p->st[p->nst].dtype = t->dtype;
            p->st[p->nst].numel = t->numel;
            p->own[p->nst] = t;
            o->storage = p->nst++;
            o->offset = 0;
            int64_t step = 1;
            for (int d = t->ndim - 1; d >= 0; d--) {
                sp[d] = step;
                step *= t->shape[d] > 1 ? t->shape[d] : 1;
            }
            o->strides = sp;
            sp += t->ndim;
        }
    }
    free(map);
    return 0;
}

static const uint8_t *storage_bytes(void *ctx, size_t i, uint8_t **owned, Err *err)
{
    const Plan *p = ctx;
    const rcc_tensor *t = p->own[i];
    if (!t) {
        const PtStorage *st = p->f->storages[p->from[i]];
        const uint8_t *b = zip_data(&p->f->zip, st->rec, owned, err);
        if (!b || !tn_swaps(p->f))
            return b;
        /* A big-endian file: the output is little-endian (it has no
         * byteorder record), so its elements are swapped in a copy. */
        if (!*owned) {
            if (st->nbytes > SIZE_MAX - 1 || !(*owned = malloc(st->nbytes ? (size_t)st->nbytes : 1))) {
                err_set(err, "out of memory for storage %s", st->key);
                return NULL;
            }
            memcpy(*owned, b, (size_t)st->nbytes);
        }
        tn_swap(*owned, st->nbytes / tn_swap_unit(p->st[i].dtype), tn_swap_unit(p->st[i].dtype));
        return *owned;
    }
    char msg[512];
    if (t->nbytes > SIZE_MAX - 1 || !(*owned = malloc(t->nbytes ? (size_t)t->nbytes : 1))) {
        err_set(err, "out of memory for %s", t->name);
        return NULL;
    }
    if (rcc_read(p->f, t, *owned, (size_t)t->nbytes, msg, sizeof msg) < 0) {
        err_set(err, "%s", msg);
        return NULL;
    }
    return *owned;
}

/* "f32 [10, 64]" */
static void describe(char *buf, size_t cap, const rcc_tensor *t)
{
    char shape[RCC_MAX_NDIM * 22 + 4];
    snprintf(buf, cap, "%s %s", rcc_dtype_name(t->dtype), util_dims(shape, sizeof shape, t->shape, (size_t)t->ndim));
}

int cmd_salvage(int argc, char **argv)
{
    const char *path = NULL, *out = NULL, *key = NULL;
    int allow_calls = 0;
    for (int i = 1; i < argc; i++) {
        if ((strcmp(argv[i], "-o") == 0 || strcmp(argv[i], "--output") == 0) && i + 1 < argc)
            out = argv[++i];
        else if (strncmp(argv[i], "--output=", 9) == 0)
            out = argv[i] + 9;
        else if (strcmp(argv[i], "--key") == 0 && i + 1 < argc)
            key = argv[++i];
        else if (strncmp(argv[i], "--key=", 6) == 0)
            key = argv[i] + 6;
        else if (strcmp(argv[i], "--allow-calls") == 0)
            allow_calls = 1;
        else if (argv[i][0] == '-' && argv[i][1])
            return cli_error(NULL, "salvage: unknown option '%s'", argv[i]);
        else if (path)
            return cli_error(NULL, "salvage: more than one weight file given");
        else
            path = argv[i];
    }
    if (!path)
        return cli_error(NULL, "salvage: no weight file given (usage: rcc salvage W -o OUT [--key PATH] [--allow-calls])");
    if (!out || !*out)
        return cli_error(NULL, "salvage: no output file given (usage: rcc salvage W -o OUT [--key PATH] [--allow-calls])");

    char msg[512];
    rcc_open_options opt = {.key = key, .allow_damaged = 1, .allow_calls = allow_calls};
    rcc_file *f = rcc_open(path, &opt, msg, sizeof msg);
    if (!f)
        return cli_error(path, "%s", msg);
    size_t total = rcc_tensor_count(f), intact = 0;
    for (size_t i = 0; i < total; i++)
        intact += rcc_tensor_at(f, i)->intact != 0;
    if (total > 0 && intact == 0) {
        rcc_close(f);
        return cli_error(path, "damaged archive: 0 of %zu tensors intact; nothing can be recovered", total);
    }

    Plan p;
    memset(&p, 0, sizeof p);
    Err err = {0};
    if (plan(&p, f) < 0)
        err_set(&err, "out of memory");
    else
        wr_state_dict(out, p.st, p.nst, p.t, p.nt, storage_bytes, &p, &err);
    plan_free(&p);
    if (err.set) {
        rcc_close(f);
        return cli_error(out, "%s", err.msg);
    }

    cli_warn_calls(path, f);
    for (size_t i = 0; i < rcc_warning_count(f); i++)
        cli_warning(path, "%s", rcc_warning_at(f, i));
    for (size_t i = 0; i < total; i++) {
        const rcc_tensor *t = rcc_tensor_at(f, i);
        if (!t->intact) {
            char d[RCC_MAX_NDIM * 22 + 16];
            describe(d, sizeof d, t);
            cli_warning(path, "lost: %s (%s)", t->name, d);
        }
    }
    fprintf(stderr, "rcc: %s: %zu of %zu tensors intact, written to %s\n", path, intact, total, out);
    rcc_close(f);
    return intact == total ? 0 : EXIT_FINDING;
}
