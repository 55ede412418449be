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
 *
 * Cost grows with the model, not faster: keys are found by binary search
 * (elab.c's by_key and by_path), each instance's tensors and the file keys
 * it would own are ranges, and the nearest declared key is searched in
 * the sorted unmatched keys walked as a trie, pruned as soon as a prefix is
 * more than 2 edits away (only that close counts as a misspelling).
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
    size_t            *own_off;     /* per instance: where its unmatched file keys start in own */
    size_t            *own;         /* unmatched file keys grouped by owner, in file order */
    size_t            *cand;        /* unmatched expected tensors sorted by key */
    const char       **cand_key;    /* their keys */
    size_t             ncand;
    size_t             near_left;   /* steps the nearest-key searches may still take */
    size_t             near_cut;    /* keys whose search was cut short */
    int                mismatch;
} Ctx;

/* ------------------------------------------------------------- helpers */

/* Close enough to be the same name misspelt. */
static int near(size_t dist, const char *key)
{
    size_t len = strlen(key);
    return dist <= 2 && dist * 3 <= len;
}

/* The deepest instance whose path is a prefix of key ("" = the model; a
 * `self = ...` child shares its parent's path and is deeper): the longest
 * such path, then the greatest depth, then the first made. */
static size_t owner_of(const Elab *e, const char *key)
{
    for (size_t l = strlen(key); l > 0; l--) {
        if (key[l] != '.')
            continue;
        size_t n, best = (size_t)-1;
        const size_t *in = elab_with_path(e, key, l, &n);
        for (size_t i = 0; i < n; i++)
            if (best == (size_t)-1 || e->insts[in[i]].depth > e->insts[best].depth)
                best = in[i];
        if (best != (size_t)-1)
            return best;
    }
    size_t n, best = 0;
    const size_t *in = elab_with_path(e, "", 0, &n);
    for (size_t i = 0; i < n; i++)
        if (e->insts[in[i]].depth > e->insts[best].depth)
            best = in[i];
    return best;
}

/* ------------------------------------------------------- nearest key
 *
 * The declared key nearest a file key, when it is at most 2 edits away
 * (str_distance: insertions, deletions, substitutions, transpositions of
 * neighbours; keys over 120 bytes are never near): the smallest distance,
 * then the lowest tensor number, among the candidates the caller accepts.
 * The candidates (c->cand) are sorted, so a run of them sharing a prefix
 * is a node of a trie: one row of the edit-distance table per node, and a
 * node whose row is all over 2 is not entered (no longer key gets closer).
 *
 * Keys that differ only in their numbers (layers.123.weight) are many
 * nodes within 2 edits of each other, so one search can still visit
 * thousands of nodes; thousands of them (every key of a large model
 * renamed) would take seconds.  A budget of steps (NEAR_STEPS, about 0.1 s)
 * bounds each phase's searches: past it no key is paired or suggested,
 * and a note says how many keys were not searched.  The result never
 * depends on timing, and no search is cut in any model that has fewer
 * than some hundreds of keys in disagreement. */

enum { NEAR_MAX = 2, NEAR_LEN = 120, NEAR_STEPS = 1000000 };

typedef struct Near {
    const Ctx        *c;
    const char       *q;          /* the file key */
    size_t            m;
    const rcc_tensor *shape;      /* candidates must have this shape (or NULL: any) */
    int               loud_only;  /* skip candidates already explained */
    size_t           *left;       /* the budget of steps (nodes entered) */
    unsigned char     row[NEAR_LEN + 2][NEAR_LEN + 1];   /* row[i][j]: prefix i of the node, j of q; capped at 3 */
    char              node[NEAR_LEN + 1];
    size_t            bestd;
    long              best;
} Near;

static unsigned cell(const Near *n, size_t i, size_t j)
{
    return (i > j ? i - j : j - i) > NEAR_MAX ? NEAR_MAX + 1 : n->row[i][j];
}

/* Row i from rows i-1 and i-2 (node[i-1] is the new byte); returns its
 * smallest value.  Cells more than NEAR_MAX off the diagonal are at least
 * NEAR_MAX + 1 and are not stored (cell() says so). */
static unsigned near_row(Near *n, size_t i)
{
    unsigned lo = NEAR_MAX + 1;
    size_t j0 = i > NEAR_MAX ? i - NEAR_MAX : 0, j1 = i + NEAR_MAX < n->m ? i + NEAR_MAX : n->m;
    for (size_t j = j0; j <= j1; j++) {
        unsigned v;
        if (j == 0) {
            v = (unsigned)(i < NEAR_MAX + 1 ? i : NEAR_MAX + 1);
        } else {
            v = cell(n, i - 1, j) + 1;
            if (cell(n, i, j - 1) + 1 < v && j - 1 >= j0)
                v = cell(n, i, j - 1) + 1;
            unsigned sub = cell(n, i - 1, j - 1) + (n->node[i - 1] != n->q[j - 1]);
            if (sub < v)
                v = sub;
            if (i > 1 && j > 1 && n->node[i - 1] == n->q[j - 2] && n->node[i - 2] == n->q[j - 1] &&
                cell(n, i - 2, j - 2) + 1 < v)
                v = cell(n, i - 2, j - 2) + 1;
            if (v > NEAR_MAX + 1)
                v = NEAR_MAX + 1;
        }
        n->row[i][j] = (unsigned char)v;
        if (v < lo)
            lo = v;
    }
    return lo;
}

/* The candidates [lo, hi) share their first depth bytes (node[0..depth)),
 * whose row is computed. */
static void near_walk(Near *n, size_t lo, size_t hi, size_t depth)
{
    const Ctx *c = n->c;
    for (; lo < hi && c->cand_key[lo][depth] == 0; lo++) {   /* keys that end here sort first */
        size_t d = depth <= n->m + NEAR_MAX ? cell(n, depth, n->m) : NEAR_MAX + 1, i = c->cand[lo];
        const ExpTensor *x = &c->e->tensors[i];
        if (d > NEAR_MAX || (n->loud_only && c->quiet_exp[i]))
            continue;
        if (n->shape && (x->ndim != n->shape->ndim ||
                         memcmp(x->shape, n->shape->shape, (size_t)x->ndim * sizeof *x->shape) != 0))
            continue;
        if (d < n->bestd || (d == n->bestd && (long)i < n->best)) {
            n->bestd = d;
            n->best = (long)i;
        }
    }
    if (depth >= NEAR_LEN)
        return;
    while (lo < hi) {
        unsigned char ch = (unsigned char)c->cand_key[lo][depth];
        size_t a = lo + 1, b = hi;   /* the end of the run of ch: the first key with a greater byte */
        while (a < b) {
            size_t mid = a + (b - a) / 2;
            if ((unsigned char)c->cand_key[mid][depth] > ch)
                b = mid;
            else
                a = mid + 1;
        }
        if (!*n->left)
            return;
        --*n->left;
        n->node[depth] = (char)ch;
        if (near_row(n, depth + 1) <= NEAR_MAX)
            near_walk(n, lo, a, depth + 1);
        lo = a;
    }
}

/* The nearest candidate to key within NEAR_MAX edits, or -1 (*dist: its
 * distance); -1 too when the budget c->near_left runs out (counted in
 * c->near_cut: the search did not finish, so its best is not known). */
static long nearest(Ctx *c, const char *key, const rcc_tensor *shape, int loud_only, size_t *dist)
{
    size_t m = strlen(key);
    if (m > NEAR_LEN || !c->ncand)
        return -1;
    if (!c->near_left) {
        c->near_cut++;
        return -1;
    }
    Near *n = malloc(sizeof *n);
    if (!n)
        return -1;
    n->c = c;
    n->q = key;
    n->m = m;
    n->shape = shape;
    n->loud_only = loud_only;
    n->left = &c->near_left;
    n->bestd = (size_t)-1;
    n->best = -1;
    for (size_t j = 0; j <= m && j <= NEAR_MAX; j++)
        n->row[0][j] = (unsigned char)j;
    near_walk(n, 0, c->ncand, 0);
    long best = c->near_left ? n->best : -1;
    *dist = n->bestd;
    c->near_cut += !c->near_left;
    free(n);
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
    size_t would = 0;   /* declared keys some stripped file key matches */
    unsigned char *hit = calloc(c->e->ntensors + 1, 1);
    if (!hit)
        return 0;
    for (size_t k = 0; k < c->nfk; k++) {
        long i = elab_find_key(c->e, "", c->fk[k].key + pl);
        if (i >= 0 && !hit[i]) {
            hit[i] = 1;
            would++;
        }
    }
    free(hit);
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

/* The lists of modules a key is under: for each way of reading key as
 * PATH.ITEM... with PATH the path of a list (ITEM starting at key + at;
 * PATH is "" and at is 0 for a list that is the model itself), calls fn. */
static void under_lists(Ctx *c, const char *key, void (*fn)(Ctx *, size_t list, const char *item, void *),
                        void *arg)
{
    const Elab *e = c->e;
    for (size_t at = 0, len = strlen(key); at <= len; at++) {
        if (at && key[at - 1] != '.')
            continue;
        if (at == 1)   /* a key starting with '.': "" is only read at 0 */
            continue;
        size_t n;
        const size_t *in = elab_with_path(e, key, at ? at - 1 : 0, &n);
        for (size_t i = 0; i < n; i++)
            if (e->insts[in[i]].list)
                fn(c, in[i], key + at, arg);
    }
}

/* The item of list a key segment p names ("3", "denselayer4"), or -1. */
static int64_t item_at(const Ctx *c, size_t list, const char *p)
{
    const char *end;
    int64_t idx = elab_item_index(&c->e->insts[list], p, &end);
    return idx >= 0 && *end == '.' ? idx : -1;
}

static void note_item(Ctx *c, size_t list, const char *p, void *arg)
{
    int64_t *max = arg, idx = item_at(c, list, p);
    if (idx > max[list])
        max[list] = idx;
}

/* Which key is being quieted, and each list's shorter length (or -1). */
typedef struct Quiet {
    const size_t *lo;
    size_t        k;
} Quiet;

static void quiet_file_item(Ctx *c, size_t list, const char *p, void *arg)
{
    const Quiet *q = arg;
    if (q->lo[list] != (size_t)-1 && item_at(c, list, p) >= (int64_t)q->lo[list])
        c->quiet_fk[q->k] = 1;
}

static void quiet_exp_item(Ctx *c, size_t list, const char *p, void *arg)
{
    const Quiet *q = arg;
    if (q->lo[list] != (size_t)-1 && item_at(c, list, p) >= (int64_t)q->lo[list])
        c->quiet_exp[q->k] = 1;
}

/* A list of blocks whose length differs from the file's: one error. */
static void list_depths(Ctx *c)
{
    Elab *e = c->e;
    int64_t *file_max = malloc((e->ninsts + 1) * sizeof *file_max);
    int64_t *spec_max = malloc((e->ninsts + 1) * sizeof *spec_max);
    size_t *lo = malloc((e->ninsts + 1) * sizeof *lo);   /* lists that differ: the shorter length */
    if (!file_max || !spec_max || !lo) {
        free(file_max);
        free(spec_max);
        free(lo);
        return;
    }
    for (size_t li = 0; li < e->ninsts; li++) {
        file_max[li] = spec_max[li] = -1;
        lo[li] = (size_t)-1;
    }
    for (size_t k = 0; k < c->nfk; k++)
        under_lists(c, c->fk[k].key, note_item, file_max);
    for (size_t i = 0; i < e->ntensors; i++)
        under_lists(c, e->tensors[i].key, note_item, spec_max);
    int any = 0;
    for (size_t li = 0; li < e->ninsts; li++) {
        const Instance *L = &e->insts[li];
        if (!L->list)
            continue;
        /* The last item with weights on each side: a Sequential's trailing
         * ReLU or pooling has none (AlexNet's features end with two). */
        size_t have = (size_t)file_max[li] + 1;
        if (file_max[li] < 0 || file_max[li] == spec_max[li] || (spec_max[li] < 0 && have <= L->nitems))
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
        lo[li] = have < L->nitems ? have : L->nitems;
        any = 1;
    }
    /* The keys past the shorter side are explained by this. */
    for (size_t k = 0; any && k < c->nfk; k++) {
        Quiet q = {lo, k};
        under_lists(c, c->fk[k].key, quiet_file_item, &q);
    }
    for (size_t i = 0; any && i < e->ntensors; i++) {
        Quiet q = {lo, i};
        under_lists(c, e->tensors[i].key, quiet_exp_item, &q);
    }
    free(file_max);
    free(spec_max);
    free(lo);
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
    size_t owned = c->own_off[inst + 1] - c->own_off[inst];   /* at most 64 of them */
    size_t cap = in->ntens + (owned < 64 ? owned : 64), nft = 0, pl = strlen(in->path);
    LayerTensor *ft = calloc(cap + 1, sizeof *ft);
    if (!ft)
        return;
    for (size_t j = in->tensor0; j < in->tensor0 + in->ntens && nft < cap; j++) {
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
    for (size_t o = c->own_off[inst]; o < c->own_off[inst + 1] && nft < cap; o++) {
        size_t k = c->own[o];
        const char *key = c->fk[k].key;
        if ((pl && (strncmp(key, in->path, pl) != 0 || key[pl] != '.')) ||
            strlen(key + (pl ? pl + 1 : 0)) >= sizeof ft->name)
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
    free(ft);
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
        for (size_t i = e->insts[inst].tensor0; i < e->insts[inst].tensor0 + e->insts[inst].ntens; i++) {
            const ExpTensor *x = &e->tensors[i];
            if (c->exp_match[i] < 0)
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
            int widen = x->dtype == RCC_F32 && rcc_dtype_kind(t->dtype) == 'f' &&   /* f16, bf16, f64, FP8, FP4 */
                        t->dtype != RCC_F6E2M3FN && t->dtype != RCC_F6E3M2FN;   /* no f32 reading */
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
        size_t bestd;
        long best = nearest(c, c->fk[k].key, c->fk[k].t, 1, &bestd);
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
        const Instance *I = &e->insts[in];
        size_t total = 0, absent = 0, i0 = I->tensor0, i1 = I->tensor0 + I->ntens;
        for (size_t i = i0; i < i1; i++)
            if (!c->quiet_exp[i]) {
                total++;
                absent += c->exp_match[i] < 0;
            }
        if (!absent)
            continue;
        c->mismatch = 1;
        char call[160], want[200];
        if (absent == total && total > 1) {
            char list[300] = "";
            size_t k = 0;
            for (size_t i = i0; i < i1 && k < sizeof list - 40; i++)
                if (!c->quiet_exp[i])
                    k += (size_t)snprintf(list + k, sizeof list - k, "%s%s", k ? ", " : "", e->tensors[i].key);
            diag(e->d, DG_ERROR, I->span, "%s declares %s; the file has none of its keys (%s)", *I->path ? I->path : "the model",
                 diag_span_text(e->d, I->span, call, sizeof call), list);
            continue;
        }
        for (size_t i = i0; i < i1; i++) {
            if (c->quiet_exp[i] || c->exp_match[i] >= 0)
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
        for (size_t o = c->own_off[in]; o < c->own_off[in + 1]; o++) {
            size_t k = c->own[o];
            if (!c->quiet_fk[k]) {
                char item[240], sh[200];
                util_dims(sh, sizeof sh, c->fk[k].t->shape, (size_t)c->fk[k].t->ndim);
                snprintf(item, sizeof item, "%s %s %s", c->fk[k].key, rcc_dtype_name(c->fk[k].t->dtype), sh);
                list_add(list, sizeof list, item);
                c->quiet_fk[k] = 1;
                n++;
            }
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
        size_t bestd;
        long bi = nearest(c, c->fk[k].key, NULL, 0, &bestd);
        const char *best = bi >= 0 ? e->tensors[bi].key : NULL;
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
    c.own_off = arena_array(e->a, e->ninsts + 2, sizeof *c.own_off);
    c.own = arena_array(e->a, c.nfk + 1, sizeof *c.own);
    c.cand = arena_array(e->a, e->ntensors + 1, sizeof *c.cand);
    c.cand_key = arena_array(e->a, e->ntensors + 1, sizeof *c.cand_key);
    if (!c.fk || !c.exp_match || !c.quiet_fk || !c.quiet_exp || !c.own_off || !c.own || !c.cand || !c.cand_key) {
        diag(e->d, DG_ERROR, NO_SPAN, "out of memory");
        return 1;
    }
    for (size_t i = 0; i < e->ntensors; i++)
        c.exp_match[i] = -1;
    size_t spl = o->strip_prefix ? strlen(o->strip_prefix) : 0;
    for (size_t k = 0; k < c.nfk; k++) {
        const rcc_tensor *t = rcc_tensor_at(f, k);
        c.fk[k].t = t;
        c.fk[k].key = spl && strncmp(t->name, o->strip_prefix, spl) == 0 ? t->name + spl : t->name;
        c.fk[k].match = elab_find_key(e, "", c.fk[k].key);
        if (c.fk[k].match >= 0) {
            c.exp_match[c.fk[k].match] = (long)k;
        } else {   /* once per key: every report about it needs its owner */
            c.fk[k].owner = owner_of(e, c.fk[k].key);
            c.own_off[c.fk[k].owner + 1]++;
        }
    }
    for (size_t i = 0; i < e->ninsts; i++)   /* unmatched keys grouped by owner, in file order */
        c.own_off[i + 1] += c.own_off[i];
    for (size_t k = 0; k < c.nfk; k++)
        if (c.fk[k].match < 0)
            c.own[c.own_off[c.fk[k].owner]++] = k;
    for (size_t i = e->ninsts; i > 0; i--)   /* (the counting sort left each start at the next one's) */
        c.own_off[i] = c.own_off[i - 1];
    c.own_off[0] = 0;
    for (size_t j = 0; j < e->ntensors; j++)
        if (c.exp_match[e->by_key[j]] < 0) {
            c.cand_key[c.ncand] = e->tensors[e->by_key[j]].key;
            c.cand[c.ncand++] = e->by_key[j];
        }
    if (prefix_note(&c))
        return 1;
    list_depths(&c);
    compare_pairs(&c);
    c.near_left = NEAR_STEPS;
    near_misses(&c);
    missing(&c);
    c.near_left = NEAR_STEPS;
    unexpected(&c);
    if (c.near_cut)
        diag(e->d, DG_NOTE, NO_SPAN, "%zu key%s not searched for a near miss: too many keys of the file and the "
             "spec disagree", c.near_cut, c.near_cut == 1 ? " was" : "s were");
    return c.mismatch;
}
