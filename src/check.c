/* check.c — `rcc check`: a spec's keys against a weight file's.
 *
 * Elaboration gave the exact list of keys the spec implies, each with the
 * span that declared it.  Checking pairs them with the file's keys and
 * reports, at the spec location responsible, what disagrees: keys the
 * file lacks, keys the spec does not declare, shapes and dtypes.
 *
 * A wall of key-by-key errors rarely helps, so disagreements with one
 * cause are reported once: a prefix (module., _orig_mod.) on every file key
 * is one note with the option that strips it; a list of blocks whose depth
 * differs from the file's is one error saying the depth the file has; a
 * layer whose every key is absent is one error.  A shape mismatch on a
 * built-in layer comes with the constructor call that would match
 * (catalog suggest), and a key nobody declared with the nearest declared
 * one.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arch.h"

typedef struct FileKey {
    const char       *key;    /* after --strip-prefix */
    const rcc_tensor *t;
    long              match;  /* index into e->tensors, or -1 */
    size_t            owner;  /* unmatched keys: the instance that would own it */
} FileKey;

typedef struct Ctx {
    Elab              *e;
    const CheckOptions *o;
    const char        *wpath;
    FileKey           *fk;
    size_t             nfk;
    long              *exp_match;   /* per expected tensor: index into fk, or -1 */
    unsigned char     *quiet_fk;    /* already explained: do not report again */
    unsigned char     *quiet_exp;
    int                mismatch;
} Ctx;

/* ------------------------------------------------------------- helpers */

/* Close enough to be the same name misspelt. */
static int near(size_t dist, const char *key)
{
    size_t len = strlen(key);
    return dist <= 2 && dist * 3 <= len;
}

/* Expected keys sorted, for lookups. */
typedef struct Index {
    const Elab *e;
    size_t     *order;
} Index;

static const Elab *sort_elab;   /* qsort has no context argument in C99 */
static int by_key(const void *pa, const void *pb)
{
    return strcmp(sort_elab->tensors[*(const size_t *)pa].key, sort_elab->tensors[*(const size_t *)pb].key);
}

static long find_expected(const Index *ix, const char *key)
{
    size_t lo = 0, hi = ix->e->ntensors;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(ix->e->tensors[ix->order[mid]].key, key);
        if (c == 0)
            return (long)ix->order[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

/* The deepest instance whose path is a prefix of key ("" = the model; a
 * `self = ...` child shares its parent's path and is deeper). */
static size_t owner_of(const Elab *e, const char *key)
{
    size_t best = 0, bestlen = 0;
    for (size_t i = 1; i < e->ninsts; i++) {
        size_t l = strlen(e->insts[i].path);
        if (l && (strncmp(key, e->insts[i].path, l) != 0 || key[l] != '.'))
            continue;
        if (l > bestlen || (l == bestlen && e->insts[i].depth > e->insts[best].depth)) {
            best = i;
            bestlen = l;
        }
    }
    return best;
}

/* ------------------------------------------------------------- phases */

/* Every file key starts with the same "x." and stripping it would match:
 * say so once, instead of listing every key twice. */
static int prefix_note(Ctx *c)
{
    if (c->o->strip_prefix || c->nfk == 0)
        return 0;
    for (size_t i = 0; i < c->nfk; i++)
        if (c->fk[i].match >= 0)
            return 0;
    const char *first = c->fk[0].key, *dot = strchr(first, '.');
    if (!dot)
        return 0;
    size_t pl = (size_t)(dot - first) + 1;
    for (size_t i = 1; i < c->nfk; i++)
        if (strncmp(c->fk[i].key, first, pl) != 0)
            return 0;
    size_t would = 0;
    for (size_t i = 0; i < c->e->ntensors; i++)
        for (size_t k = 0; k < c->nfk; k++)
            if (strcmp(c->fk[k].key + pl, c->e->tensors[i].key) == 0) {
                would++;
                break;
            }
    if (!would)
        return 0;
    diag(c->e->d, DG_ERROR, c->e->model->name_span, "no key of %s matches the spec: every key starts with '%.*s'",
         c->wpath, (int)pl, first);
    diag(c->e->d, DG_HELP, NO_SPAN,
         "run with --strip-prefix %.*s (a prefix torch adds for DataParallel, torch.compile or a wrapper "
         "module); %zu of the spec's %zu keys then match", (int)pl, first, would, c->e->ntensors);
    c->mismatch = 1;
    return 1;
}

/* The name of a list's item i: "3", or "denselayer4" by the list's pattern. */
static void item_name(const Instance *L, size_t i, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s%lld%s", L->item_pre ? L->item_pre : "", (long long)((int64_t)i + L->item_off),
             L->item_post ? L->item_post : "");
}

/* The index of the item of list L (whose path is pl bytes long) a key
 * lies under, or -1. */
static int64_t item_of(const Instance *L, size_t pl, const char *key)
{
    if (pl && (strncmp(key, L->path, pl) != 0 || key[pl] != '.'))
        return -1;
    const char *end;
    int64_t idx = elab_item_index(L, key + (pl ? pl + 1 : 0), &end);
    return idx >= 0 && *end == '.' ? idx : -1;
}

/* A list of blocks whose length differs from the file's: one error. */
static void list_depths(Ctx *c)
{
    Elab *e = c->e;
    for (size_t li = 0; li < e->ninsts; li++) {
        const Instance *L = &e->insts[li];
        if (!L->list)
            continue;
        size_t pl = strlen(L->path);
        /* The last item with weights on each side: a Sequential's trailing
         * ReLU or pooling has none (AlexNet's features end with two). */
        int64_t file_max = -1, spec_max = -1;
        for (size_t k = 0; k < c->nfk; k++) {
            int64_t idx = item_of(L, pl, c->fk[k].key);
            file_max = idx > file_max ? idx : file_max;
        }
        for (size_t i = 0; i < e->ntensors; i++) {
            int64_t idx = item_of(L, pl, e->tensors[i].key);
            spec_max = idx > spec_max ? idx : spec_max;
        }
        size_t have = (size_t)(file_max + 1);
        if (file_max < 0 || file_max == spec_max || (spec_max < 0 && have <= L->nitems))
            continue;
        const char *name = *L->path ? L->path : "the model";
        char first[96], flast[96], slast[96];
        item_name(L, 0, first, sizeof first);
        item_name(L, have - 1, flast, sizeof flast);
        item_name(L, L->nitems - 1, slast, sizeof slast);
        if (L->nitems == 0)
            diag(e->d, DG_ERROR, L->span, "%s: the file has blocks %s-%s, the spec declares none", name, first, flast);
        else
            diag(e->d, DG_ERROR, L->span, "%s: the file has blocks %s-%s, the spec declares %s-%s", name, first, flast,
                 first, slast);
        diag(e->d, DG_HELP, L->span, "set the depth of %s to %zu", name, have);
        c->mismatch = 1;
        /* The keys past the shorter side are explained by this. */
        size_t lo = have < L->nitems ? have : L->nitems;
        for (size_t k = 0; k < c->nfk; k++)
            if (item_of(L, pl, c->fk[k].key) >= (int64_t)lo)
                c->quiet_fk[k] = 1;
        for (size_t i = 0; i < e->ntensors; i++)
            if (item_of(L, pl, e->tensors[i].key) >= (int64_t)lo)
                c->quiet_exp[i] = 1;
    }
}

/* Appends "key [shape]" style items to a list, bounded. */
static void list_add(char *buf, size_t cap, const char *item)
{
    size_t l = strlen(buf);
    if (l + strlen(item) + 8 >= cap) {
        if (l + 5 < cap && !strstr(buf, ", ..."))
            strcat(buf, ", ...");
        return;
    }
    snprintf(buf + l, cap - l, "%s%s", l ? ", " : "", item);
}

/* The layer's suggestion for the constructor call the file's shapes imply. */
static void suggest(Ctx *c, size_t inst)
{
    Elab *e = c->e;
    const Instance *in = &e->insts[inst];
    if (!in->layer || !in->layer->suggest)
        return;
    /* The layer's expected tensors as the file has them, then the file's
     * other keys directly under the layer (an extra LSTM layer, a bias
     * the spec turned off), so that the suggestion accounts for them. */
    size_t cap = 64, nft = 0, pl = strlen(in->path);
    for (size_t j = 0; j < e->ntensors; j++)
        cap += e->tensors[j].inst == inst;
    LayerTensor *ft = arena_array(e->a, cap, sizeof *ft);
    if (!ft)
        return;
    for (size_t j = 0; j < e->ntensors && nft < cap; j++) {
        if (e->tensors[j].inst != inst)
            continue;
        LayerTensor *lt = &ft[nft++];
        snprintf(lt->name, sizeof lt->name, "%s", e->tensors[j].key + (pl ? pl + 1 : 0));
        lt->ndim = -1;   /* absent unless the file has it */
        long m = c->exp_match[j];
        if (m >= 0) {
            const rcc_tensor *ftn = c->fk[m].t;
            lt->dtype = ftn->dtype;
            lt->ndim = ftn->ndim > 8 ? 8 : ftn->ndim;
            memcpy(lt->shape, ftn->shape, (size_t)lt->ndim * sizeof *lt->shape);
        }
    }
    for (size_t k = 0; k < c->nfk && nft < cap; k++) {
        const char *key = c->fk[k].key;
        if (c->fk[k].match >= 0 || (pl && (strncmp(key, in->path, pl) != 0 || key[pl] != '.')) ||
            c->fk[k].owner != inst || strlen(key + (pl ? pl + 1 : 0)) >= sizeof ft->name)
            continue;
        const rcc_tensor *t = c->fk[k].t;
        LayerTensor *lt = &ft[nft++];
        snprintf(lt->name, sizeof lt->name, "%s", key + (pl ? pl + 1 : 0));
        lt->dtype = t->dtype;
        lt->ndim = t->ndim > 8 ? 8 : t->ndim;
        memcpy(lt->shape, t->shape, (size_t)lt->ndim * sizeof *lt->shape);
    }
    char fix[200], call[160];
    diag_span_text(e->d, in->span, call, sizeof call);
    if (in->layer->suggest(in->args, ft, nft, fix, sizeof fix) && strcmp(fix, call) != 0)
        diag(e->d, DG_HELP, in->span, "did you mean %s?", fix);
}

/* Shapes and dtypes of the matched pairs, one report per module. */
static void compare_pairs(Ctx *c)
{
    Elab *e = c->e;
    char widened[400] = "";
    size_t nwidened = 0;
    for (size_t inst = 0; inst < e->ninsts; inst++) {
        char want[400] = "", got[400] = "", item[240], sh[200];
        const char *what = NULL;
        size_t nshape = 0;
        Span first = NO_SPAN;
        for (size_t i = 0; i < e->ntensors; i++) {
            const ExpTensor *x = &e->tensors[i];
            if (x->inst != inst || c->exp_match[i] < 0)
                continue;
            const rcc_tensor *t = c->fk[c->exp_match[i]].t;
            int same = t->ndim == x->ndim;
            for (int d = 0; same && d < t->ndim; d++)
                same = t->shape[d] == x->shape[d];
            if (!same) {
                if (!nshape++)
                    first = x->span;
                util_dims(sh, sizeof sh, x->shape, (size_t)x->ndim);
                snprintf(item, sizeof item, "%s %s", x->key, sh);
                list_add(want, sizeof want, item);
                util_dims(sh, sizeof sh, t->shape, (size_t)t->ndim);
                list_add(got, sizeof got, sh);
                what = x->key;
            }
            if (t->dtype == x->dtype)
                continue;
            int widen = x->dtype == RCC_F32 && (t->dtype == RCC_F16 || t->dtype == RCC_BF16 || t->dtype == RCC_F64);
            if (widen && !c->o->strict_dtype) {
                nwidened++;
                snprintf(item, sizeof item, "%s %s", x->key, rcc_dtype_name(t->dtype));
                list_add(widened, sizeof widened, item);
            } else {
                diag(e->d, DG_ERROR, x->span, "%s is %s in the file, the spec declares %s", x->key,
                     rcc_dtype_name(t->dtype), rcc_dtype_name(x->dtype));
                c->mismatch = 1;
            }
        }
        if (!nshape)
            continue;
        c->mismatch = 1;
        const Instance *in = &e->insts[inst];
        char call[160];
        if (in->layer)
            diag(e->d, DG_ERROR, in->span, "%s expects %s; the file has %s", diag_span_text(e->d, in->span, call, sizeof call),
                 want, got);
        else if (nshape == 1)
            diag(e->d, DG_ERROR, first, "%s is declared %s; the file has %s", what, strchr(want, '[') ? strchr(want, '[') : want, got);
        else
            diag(e->d, DG_ERROR, first, "declared %s; the file has %s", want, got);
        suggest(c, inst);
    }
    if (nwidened)
        diag(e->d, DG_NOTE, e->model->name_span, "%zu tensor%s of the file %s not f32 and will be read as f32: %s",
             nwidened, nwidened == 1 ? "" : "s", nwidened == 1 ? "is" : "are", widened);
}

/* A file key that is a near miss of a declared key the file lacks, with
 * the same shape: one error at the declaration, naming both. */
static void near_misses(Ctx *c)
{
    Elab *e = c->e;
    for (size_t k = 0; k < c->nfk; k++) {
        if (c->fk[k].match >= 0 || c->quiet_fk[k])
            continue;
        const rcc_tensor *t = c->fk[k].t;
        long best = -1;
        size_t bestd = (size_t)-1;
        for (size_t i = 0; i < e->ntensors; i++) {
            const ExpTensor *x = &e->tensors[i];
            if (c->exp_match[i] >= 0 || c->quiet_exp[i] || x->ndim != t->ndim ||
                memcmp(x->shape, t->shape, (size_t)t->ndim * sizeof *t->shape) != 0)
                continue;
            size_t dd = str_distance(c->fk[k].key, x->key);
            if (dd < bestd) {
                bestd = dd;
                best = (long)i;
            }
        }
        if (best < 0 || !near(bestd, e->tensors[best].key))
            continue;
        const ExpTensor *x = &e->tensors[best];
        diag(e->d, DG_ERROR, x->span, "the file has %s where the spec declares %s (same shape)", c->fk[k].key, x->key);
        diag(e->d, DG_HELP, NO_SPAN, "did you mean %s? rename the key in the file or the name in the spec", x->key);
        c->quiet_fk[k] = 1;
        c->quiet_exp[best] = 1;
        c->mismatch = 1;
    }
}

/* Expected keys the file lacks: a whole layer at once, else key by key. */
static void missing(Ctx *c)
{
    Elab *e = c->e;
    for (size_t in = 0; in < e->ninsts; in++) {
        size_t total = 0, absent = 0;
        for (size_t i = 0; i < e->ntensors; i++)
            if (e->tensors[i].inst == in && !c->quiet_exp[i]) {
                total++;
                absent += c->exp_match[i] < 0;
            }
        if (!absent)
            continue;
        c->mismatch = 1;
        const Instance *I = &e->insts[in];
        char call[160], want[200];
        if (absent == total && total > 1) {
            char list[300] = "";
            size_t k = 0;
            for (size_t i = 0; i < e->ntensors && k < sizeof list - 40; i++)
                if (e->tensors[i].inst == in && !c->quiet_exp[i])
                    k += (size_t)snprintf(list + k, sizeof list - k, "%s%s", k ? ", " : "", e->tensors[i].key);
            diag(e->d, DG_ERROR, I->span, "%s declares %s; the file has none of its keys (%s)", *I->path ? I->path : "the model",
                 diag_span_text(e->d, I->span, call, sizeof call), list);
            continue;
        }
        for (size_t i = 0; i < e->ntensors; i++) {
            if (e->tensors[i].inst != in || c->quiet_exp[i] || c->exp_match[i] >= 0)
                continue;
            util_dims(want, sizeof want, e->tensors[i].shape, (size_t)e->tensors[i].ndim);
            diag(e->d, DG_ERROR, e->tensors[i].span, "missing in the file: %s %s %s", e->tensors[i].key,
                 rcc_dtype_name(e->tensors[i].dtype), want);
        }
        suggest(c, in);
    }
}

/* File keys the spec does not declare, at the module that would own them,
 * with the nearest unmatched declared key. */
static void unexpected(Ctx *c)
{
    Elab *e = c->e;
    size_t shown = 0, hidden = 0;
    /* Keys directly under a built-in layer: one report for the layer, with
     * the call that would declare them. */
    for (size_t in = 1; in < e->ninsts; in++) {
        if (!e->insts[in].layer)
            continue;
        char list[400] = "", call[160];
        size_t n = 0;
        for (size_t k = 0; k < c->nfk; k++)
            if (c->fk[k].match < 0 && !c->quiet_fk[k] && c->fk[k].owner == in) {
                char item[240], sh[200];
                util_dims(sh, sizeof sh, c->fk[k].t->shape, (size_t)c->fk[k].t->ndim);
                snprintf(item, sizeof item, "%s %s %s", c->fk[k].key, rcc_dtype_name(c->fk[k].t->dtype), sh);
                list_add(list, sizeof list, item);
                c->quiet_fk[k] = 1;
                n++;
            }
        if (!n)
            continue;
        c->mismatch = 1;
        diag(e->d, DG_ERROR, e->insts[in].span, "%s declares no %s; the file has %zu more key%s under it: %s",
             diag_span_text(e->d, e->insts[in].span, call, sizeof call), n == 1 ? "such key" : "such keys", n,
             n == 1 ? "" : "s", list);
        suggest(c, in);
    }
    for (size_t k = 0; k < c->nfk; k++) {
        if (c->fk[k].match >= 0 || c->quiet_fk[k])
            continue;
        c->mismatch = 1;
        if (shown >= 40) {
            hidden++;
            continue;
        }
        shown++;
        const rcc_tensor *t = c->fk[k].t;
        char got[200];
        util_dims(got, sizeof got, t->shape, (size_t)t->ndim);
        size_t owner = c->fk[k].owner;
        diag(e->d, DG_ERROR, owner ? e->insts[owner].span : e->model->name_span,
             "the file has %s %s %s, which the spec does not declare", c->fk[k].key, rcc_dtype_name(t->dtype), got);
        const char *best = NULL;
        size_t bestd = (size_t)-1;
        for (size_t i = 0; i < e->ntensors; i++) {
            if (c->exp_match[i] >= 0)
                continue;
            size_t dd = str_distance(c->fk[k].key, e->tensors[i].key);
            if (dd < bestd) {
                bestd = dd;
                best = e->tensors[i].key;
            }
        }
        if (best && near(bestd, best))
            diag(e->d, DG_HELP, NO_SPAN, "did you mean %s? (the spec declares it and the file lacks it)", best);
    }
    if (hidden)
        diag(e->d, DG_NOTE, NO_SPAN, "%zu more keys of the file are not declared", hidden);
}

int check_weights(Elab *e, const rcc_file *f, const char *wpath, const CheckOptions *o)
{
    Ctx c = {.e = e, .o = o, .wpath = wpath};
    c.nfk = rcc_tensor_count(f);
    c.fk = arena_array(e->a, c.nfk + 1, sizeof *c.fk);
    c.exp_match = arena_array(e->a, e->ntensors + 1, sizeof *c.exp_match);
    c.quiet_fk = arena_array(e->a, c.nfk + 1, 1);
    c.quiet_exp = arena_array(e->a, e->ntensors + 1, 1);
    Index ix = {e, arena_array(e->a, e->ntensors + 1, sizeof(size_t))};
    if (!c.fk || !c.exp_match || !c.quiet_fk || !c.quiet_exp || !ix.order) {
        diag(e->d, DG_ERROR, NO_SPAN, "out of memory");
        return 1;
    }
    for (size_t i = 0; i < e->ntensors; i++) {
        ix.order[i] = i;
        c.exp_match[i] = -1;
    }
    sort_elab = e;
    qsort(ix.order, e->ntensors, sizeof *ix.order, by_key);
    size_t spl = o->strip_prefix ? strlen(o->strip_prefix) : 0;
    for (size_t k = 0; k < c.nfk; k++) {
        const rcc_tensor *t = rcc_tensor_at(f, k);
        c.fk[k].t = t;
        c.fk[k].key = spl && strncmp(t->name, o->strip_prefix, spl) == 0 ? t->name + spl : t->name;
        c.fk[k].match = find_expected(&ix, c.fk[k].key);
        if (c.fk[k].match >= 0)
            c.exp_match[c.fk[k].match] = (long)k;
        else   /* once per key: every report about it needs its owner */
            c.fk[k].owner = owner_of(e, c.fk[k].key);
    }
    if (prefix_note(&c))
        return 1;
    list_depths(&c);
    compare_pairs(&c);
    near_misses(&c);
    missing(&c);
    unexpected(&c);
    return c.mismatch;
}
