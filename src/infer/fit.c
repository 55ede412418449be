/* fit.c — one family fitted to one weight file: the search over its free
 * values, and the family written out with them decided.
 *
 * A run elaborates the family with the values decided so far (free.c
 * decides more on the way, from the file's shapes).  A run that makes
 * every key of the file covers it; one that makes a key the file lacks, or
 * with another shape, is dead; one that needs an undecided value for
 * something the shapes cannot tell (a loop count, an optional part, one of
 * ?(a, b)) is stuck on it, and the search tries that value's candidates in
 * turn, depth first.  Candidates that make more come first (the longer
 * count, the present part): a wrong longer one dies at its first extra
 * key, so the first run to cover the file is usually the first tried.
 *
 * Three things keep the search short.  A module whose body (or layer)
 * is done must have made every key the file has under it (free.c), so a
 * wrong shorter count or a missing optional part dies where it is, not
 * at the end.  A hole met again in another branch tries first the
 * candidate that got furthest there (hints: the group width a stage
 * found while a wrong depth was tried).  A count or length whose branch
 * died making an index the file lacks, where the file's indices there
 * go up to m, tries the counts near m next (m + 1, m, m + 2, m - 1).
 * RCC_FIT_TRACE=1 in the environment prints every run and candidate on
 * stderr, for writing a family.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "fit.h"

/* The search's bounds: runs, and work (modules and tensors made, over all
 * runs: what a run costs), so that a family that does not fit a large
 * file gives up in about a second whatever the file; and the longest loop
 * count tried (a family's stage of more blocks than this is not a model
 * anyone trains). */
enum { RUN_BUDGET = 4000, MAX_COUNTS = 48, MAX_COUNT = 1000 };
#define WORK_BUDGET 6000000u

/* ------------------------------------------------------------ the file */

static int by_key(const void *a, const void *b)
{
    return strcmp(((const FitKey *)a)->key, ((const FitKey *)b)->key);
}

static int by_count_desc(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? 1 : x > y ? -1 : 0;
}

/* The lengths of the file's lists, as loop counts: for every key segment
 * that is or ends in a number ("3", "denselayer4", "block2-1"), the
 * largest number under the same prefix and stem, plus one (0-based) and
 * as it is (1-based), and one either side for range(1, n). */
static int add_count(FitFile *ff, int64_t c)
{
    if (c < 0 || c > MAX_COUNT)
        return 0;
    for (size_t i = 0; i < ff->ncounts; i++)
        if (ff->counts[i] == c)
            return 0;
    if (ff->ncounts >= MAX_COUNTS)
        return 0;
    ff->counts[ff->ncounts++] = c;
    return 0;
}

typedef struct Stem { const char *key; size_t len; int64_t max; } Stem;

int fit_file_init(FitFile *ff, const rcc_file *f, size_t strip)
{
    memset(ff, 0, sizeof *ff);
    ff->file = f;
    size_t n = rcc_tensor_count(f);
    ff->keys = calloc(n + 1, sizeof *ff->keys);
    ff->counts = calloc(MAX_COUNTS, sizeof *ff->counts);
    Stem *stems = calloc(n * 4 + 1, sizeof *stems);
    size_t nstems = 0;
    if (!ff->keys || !ff->counts || !stems) {
        free(stems);
        fit_file_free(ff);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        const rcc_tensor *t = rcc_tensor_at(f, i);
        if (strlen(t->name) < strip || t->ndim > 8)
            continue;
        FitKey *k = &ff->keys[ff->nkeys++];
        k->key = t->name + strip;
        k->ndim = t->ndim;
        memcpy(k->shape, t->shape, (size_t)t->ndim * sizeof *k->shape);
        k->dtype = t->dtype;
        /* stems: each segment ending in digits */
        const char *s = k->key;
        for (const char *p = s; *p; ) {
            const char *q = p;
            while (*q && *q != '.')
                q++;
            const char *d = q;
            while (d > p && isdigit((unsigned char)d[-1]))
                d--;
            if (d < q && q - d < 7 && nstems < n * 4) {
                int64_t v = strtoll(d, NULL, 10);
                size_t len = (size_t)(d - s);
                size_t j = 0;
                while (j < nstems && !(stems[j].len == len && !strncmp(stems[j].key, s, len)))
                    j++;
                if (j == nstems)
                    stems[nstems++] = (Stem){s, len, v};
                else if (v > stems[j].max)
                    stems[j].max = v;
            }
            p = *q ? q + 1 : q;
        }
    }
    qsort(ff->keys, ff->nkeys, sizeof *ff->keys, by_key);
    for (size_t j = 0; j < nstems; j++)
        for (int64_t dlt = -1; dlt <= 2; dlt++)
            add_count(ff, stems[j].max + dlt);
    for (int64_t c = 1; c <= 4; c++)
        add_count(ff, c);
    qsort(ff->counts, ff->ncounts, sizeof *ff->counts, by_count_desc);
    free(stems);
    return 0;
}

void fit_file_free(FitFile *ff)
{
    free(ff->keys);
    free(ff->counts);
    memset(ff, 0, sizeof *ff);
}

/* ------------------------------------------------------------- a run */

typedef struct Cand { HoleState state; double num; int choice; int64_t len; int truthy; } Cand;

/* What a sibling branch learnt: the candidate of a hole under which the
 * search got furthest (made the most keys), tried first when the same
 * hole is met again in another branch (the stage's group width found
 * while a wrong depth was tried).  It only orders the candidates. */
typedef struct Hint {
    uint64_t id;      /* hole_id() */
    Cand     c;
    size_t   best;
} Hint;

/* A hole found not to matter to a failure (two of its values failed the
 * same way): met again in another branch failing that way, it is not
 * tried further. */
typedef struct Moot {
    uint64_t id;      /* hole_id() */
    char    *msg;
} Moot;

typedef struct Search {
    const char    *path;
    const FitFile *ff;
    const char    *wname;
    FitAccept      accept;
    void          *ctx;
    int            trace;     /* RCC_FIT_TRACE set: every run and candidate on stderr */
    FamilyResult  *r;
    size_t         runs;
    size_t         work;      /* modules and tensors the runs made */
    int            over;      /* budget spent */
    size_t         sub_best;  /* how far a run got (the keys made, then the modules completed), in the
                                 subtree being searched */
    int64_t        sub_missing; /* that run's missing_max (Fit) */
    char           sub_msg[320]; /* and what ended it */
    Hint          *hints;
    size_t         nhints, hints_cap;
    Moot          *moot;
    size_t         nmoot, moot_cap;
} Search;

static Hole *holes_copy(const Hole *h, size_t n, size_t *cap)
{
    *cap = n + 16;
    Hole *c = malloc(*cap * sizeof *c);
    if (c && n)
        memcpy(c, h, n * sizeof *c);
    return c;
}

static int render(Search *S, const Elab *e, const Diags *d, const Fit *f);

static size_t run_reach(const Fit *f)
{
    return (f->matched << 20) | (f->completes < 0xfffff ? f->completes : 0xfffff);
}

/* One elaboration with the holes of *f; sets f's outcome.  Returns 1 when
 * the run covered the file (and the result is written), 0 otherwise, -1
 * out of memory. */
static int run(Search *S, Fit *f)
{
    Arena a = {0};
    Diags d;
    Elab e;
    diag_init(&d, &a);
    f->stop = 0;
    f->stuck = -1;
    f->dead = 0;
    f->msg[0] = 0;
    f->matched = 0;
    f->progress = 0;
    f->last_free = -1;
    f->dividend = 0;
    f->missing_max = -1;
    f->completes = 0;
    f->nguesses = 0;
    memset(f->made, 0, S->ff->nkeys);
    S->runs++;
    elab_fit(&e, &d, &a, S->path, NULL, f);
    S->work += e.ninsts + e.ntensors;
    /* how far it got: the keys made, then the modules completed */
    size_t reach = run_reach(f);
    if (reach > S->sub_best || (reach == S->sub_best && S->sub_missing < 0)) {
        S->sub_best = reach;
        S->sub_missing = f->dead ? f->missing_max : -1;
        snprintf(S->sub_msg, sizeof S->sub_msg, "%s", f->msg);
    }
    int covered = 0;
    if (!f->stop && d.nerrors == 0) {
        if (f->matched == S->ff->nkeys) {
            covered = render(S, &e, &d, f) < 0 ? -1 : 1;
            if (covered == 1 && S->accept && S->accept(S->r->spec, S->ctx, f->msg, sizeof f->msg) < 0) {
                fit_result_free(S->r);   /* its spec does not check: not a fit, the search goes on */
                S->r->covers = 0;
                f->dead = 1;
                f->stop = 1;
                covered = 0;
            }
        } else {
            size_t i = 0;
            while (i < S->ff->nkeys && f->made[i])
                i++;
            f->dead = 1;
            snprintf(f->msg, sizeof f->msg, "makes %zu of the file's %zu keys: not %s (and %zu more)", f->matched,
                     S->ff->nkeys, i < S->ff->nkeys ? S->ff->keys[i].key : "?", S->ff->nkeys - f->matched - 1);
        }
    } else if (!f->stop) {
        f->stop = 1;
        snprintf(f->msg, sizeof f->msg, "%s", d.nerrors && d.n ? d.list[0].msg : "the spec does not elaborate");
    }
    if (S->trace)
        fprintf(stderr, "run %zu: %s%s (stuck %d why %d, %zu matched, %zu completes)\n", S->runs, f->dead ? "dead: " : "",
                f->msg, f->stuck, (int)f->why, f->matched, f->completes);
    arena_free(&a);
    return covered;
}

/* ---------------------------------------------------------- the search */

/* The candidates for hole h that the run got stuck on: written into h
 * one at a time by apply(). */
static size_t candidates(const Search *S, const Fit *f, int h, Cand *out, size_t cap)
{
    const Hole *ho = &f->holes[h];
    size_t n = 0;
    if (ho->ncand == 0 && ho->dhi > ho->dlo && n < cap)   /* ?(default = v): v first */
        out[n++] = (Cand){HOLE_DEFAULT, 0, 0, 0, 0};
    if (ho->ncand > 0) {
        for (int i = 0; i < ho->ncand && n < cap; i++)
            out[n++] = (Cand){HOLE_CHOICE, 0, i, 0, 0};
        return n;
    }
    switch (f->why) {
    case STUCK_CMP:   /* an assumption: that the values differ first (a projection made, not skipped) */
        out[n++] = (Cand){HOLE_BOOL, ho->cmp != 0, 0, 0, 0};
        out[n++] = (Cand){HOLE_BOOL, ho->cmp == 0, 0, 0, 0};
        return n;
    case STUCK_DIVISOR: {   /* f*h + b divides c: each divisor d, h = (d - b) / f, small ones first */
        int64_t c = f->dividend < 0 ? -f->dividend : f->dividend;
        for (int64_t d = 1; d <= c && n < cap; d++) {
            if (c % d)
                continue;
            double h = ((double)d - f->div_b) / f->div_f;
            if (h >= 0 && h == nearbyint(h))
                out[n++] = (Cand){HOLE_NUM, h, 0, 0, 0};
            if (d > 1000000)
                break;
        }
        return n;
    }
    case STUCK_TRUTH:
        out[n++] = (Cand){HOLE_OPEN, 0, 0, 0, 1};
        out[n++] = (Cand){HOLE_NONE, 0, 0, 0, 0};
        out[n++] = (Cand){HOLE_BOOL, 0, 0, 0, 0};
        return n;
    case STUCK_LEN:
        /* shortest first: a list's rows are often read before anything is made from them
         * (ConvNeXt's block_setting: every row's depth and downsampling decided before features
         * is made), so a row too many costs a search over its values, where a row too few
         * fails at the first key the missing row would have made */
        for (size_t i = S->ff->ncounts; i-- > 0 && n < cap;)
            if (S->ff->counts[i] > 0)
                out[n++] = (Cand){HOLE_LIST, 0, 0, S->ff->counts[i], 0};
        if (n < cap)
            out[n++] = (Cand){HOLE_LIST, 0, 0, 0, 0};
        return n;
    case STUCK_COUNT:   /* not 0: a loop of no turns makes nothing, so a wrong one never dies early */
        for (size_t i = 0; i < S->ff->ncounts && n < cap; i++)
            if (S->ff->counts[i] > 0)
                out[n++] = (Cand){HOLE_NUM, (double)S->ff->counts[i], 0, 0, 0};
        return n;
    default:   /* a value the shapes did not give: small ones first */
        for (size_t i = S->ff->ncounts; i-- > 0 && n < cap;)
            out[n++] = (Cand){HOLE_NUM, (double)S->ff->counts[i], 0, 0, 0};
        return n;
    }
}

static void apply(Hole *h, const Cand *c, StuckWhy why)
{
    h->state = c->state;
    h->truthy = c->truthy;
    if (c->state == HOLE_NUM || c->state == HOLE_BOOL) {
        h->num = c->num;
        h->isint = 1;
    }
    h->choice = c->choice;
    h->len = c->len;
    h->text[0] = 0;   /* a choice's value, written by the next run that takes it */
    snprintf(h->how, sizeof h->how, "%s",
             c->state == HOLE_DEFAULT ? "guessed: the family's default"
             : why == STUCK_CMP ? "assumed"
             : why == STUCK_DIVISOR ? "chosen: the first divisor that covers the file"
             : why == STUCK_COUNT || why == STUCK_LEN ? "counted: the most the file's keys allow"
             : c->state == HOLE_CHOICE ? "chosen: the first candidate that covers the file"
             : c->state == HOLE_NONE ? "absent: the file has none of its keys"
             : "chosen: the first value that covers the file");
}

/* A hole the same in every branch: its `?` and, for an item, the chain of
 * lists and indices it is in (hole numbers differ between branches: they
 * are given in the order a run meets them); an assumption, also what it
 * is about and compares.  FNV-1a. */
static uint64_t mix(uint64_t x, uint64_t v)
{
    for (int i = 0; i < 8; i++) {
        x ^= (v >> (8 * i)) & 0xff;
        x *= 1099511628211ull;
    }
    return x;
}

static uint64_t hole_id(const Hole *holes, int h)
{
    uint64_t x = 14695981039346656037ull;
    for (int depth = 0; h >= 0 && depth < 64; depth++) {
        const Hole *o = &holes[h];
        x = mix(x, ((uint64_t)o->file << 32) ^ o->lo);
        x = mix(x, (uint64_t)o->hi);
        x = mix(x, (uint64_t)o->index);
        if (o->about >= 0) {
            uint64_t c;
            memcpy(&c, &o->cc, sizeof c);
            x = mix(x, ((uint64_t)o->cmp << 8) ^ (uint64_t)o->pw);
            x = mix(x, c);
            x = mix(x, hole_id(holes, o->about));
        }
        h = o->parent;
    }
    return x;
}

static Hint *hint_of(Search *S, uint64_t id)
{
    for (size_t i = 0; i < S->nhints; i++)
        if (S->hints[i].id == id)
            return &S->hints[i];
    return NULL;
}

/* Makes room for need elements of size bytes in the malloc'd *v of *cap
 * (doubling): 0, or -1 out of memory (*v unchanged). */
static int grow(void **v, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap)
        return 0;
    size_t n = *cap ? *cap * 2 : 64;
    while (n < need)
        n *= 2;
    void *nv = realloc(*v, n * size);
    if (!nv)
        return -1;
    *v = nv;
    *cap = n;
    return 0;
}

/* Candidate c of hole id got the search as far as best. */
static void learn(Search *S, uint64_t id, const Cand *c, size_t best)
{
    Hint *t = hint_of(S, id);
    if (!t) {
        if (grow((void **)&S->hints, &S->hints_cap, S->nhints + 1, sizeof *S->hints) < 0)
            return;
        t = &S->hints[S->nhints++];
        *t = (Hint){id, *c, 0};
    } else if (best <= t->best) {
        return;
    }
    t->c = *c;
    t->best = best;
}

static int is_moot(const Search *S, uint64_t id, const char *msg)
{
    for (size_t i = 0; i < S->nmoot; i++)
        if (S->moot[i].id == id && !strcmp(S->moot[i].msg, msg))
            return 1;
    return 0;
}

static void note_moot(Search *S, uint64_t id, const char *msg)
{
    if (is_moot(S, id, msg))
        return;
    if (grow((void **)&S->moot, &S->moot_cap, S->nmoot + 1, sizeof *S->moot) < 0)
        return;
    char *m = strdup(msg);
    if (m)
        S->moot[S->nmoot++] = (Moot){id, m};
}

static int same_cand(const Cand *a, const Cand *b)
{
    return a->state == b->state && a->num == b->num && a->choice == b->choice && a->len == b->len &&
           a->truthy == b->truthy;
}


static void note_failure(Search *S, const Fit *f)
{
    FamilyResult *r = S->r;
    if (f->matched > r->matched || !r->why[0]) {
        r->matched = f->matched;
        snprintf(r->why, sizeof r->why, "%s", f->msg[0] ? f->msg : "does not fit");
    }
}

/* Depth first from the holes given (taken over: freed here).  1 covered,
 * 0 not, -1 out of memory. */
static int search(Search *S, Hole *holes, size_t n, size_t cap)
{
    Fit f;
    memset(&f, 0, sizeof f);
    f.keys = S->ff->keys;
    f.nkeys = S->ff->nkeys;
    f.counts = S->ff->counts;
    f.file = S->ff->file;
    f.ncounts = S->ff->ncounts;
    f.holes = holes;
    f.nholes = n;
    f.cap = cap;
    f.made = malloc(S->ff->nkeys + 1);
    int res = 0;
    if (!f.made) {
        free(f.holes);
        return -1;
    }
    for (;;) {
        if (S->runs >= RUN_BUDGET || S->work >= WORK_BUDGET) {
            S->over = 1;
            break;
        }
        int c = run(S, &f);
        if (c != 0) {
            res = c;
            break;
        }
        if (f.stuck < 0 || f.dead) {
            note_failure(S, &f);
            break;
        }
        if (f.progress > 0 || f.holes[f.stuck].state != HOLE_OPEN)
            continue;   /* decided more on the way: again with them */
        if (f.why == STUCK_TRUTH && f.holes[f.stuck].truthy) {
            note_failure(S, &f);
            break;
        }
        Cand cands[MAX_COUNTS + 8];
        size_t nc = candidates(S, &f, f.stuck, cands, MAX_COUNTS + 8);
        if (nc == 0)
            note_failure(S, &f);
        uint64_t id = hole_id(f.holes, f.stuck);
        const Hint *t = hint_of(S, id);
        for (size_t i = 1; t && i < nc; i++)   /* the hinted candidate first, the others in their order */
            if (same_cand(&cands[i], &t->c)) {
                Cand c = cands[i];
                memmove(&cands[1], &cands[0], i * sizeof *cands);
                cands[0] = c;
                break;
            }
        size_t outer = S->sub_best, prev_best = 0, nsame = 0;
        int64_t outer_missing = S->sub_missing;
        char outer_msg[sizeof S->sub_msg], prev_msg[sizeof S->sub_msg] = "";
        snprintf(outer_msg, sizeof outer_msg, "%s", S->sub_msg);
        for (size_t i = 0; i < nc && res == 0 && !S->over; i++) {
            size_t ncap;
            Hole *h = holes_copy(f.holes, f.nholes, &ncap);
            if (!h) {
                res = -1;
                break;
            }
            apply(&h[f.stuck], &cands[i], f.why);
            if (S->trace)
                fprintf(stderr, "  hole %d (why %d): candidate %zu/%zu: state %d num %g len %lld\n", f.stuck,
                        (int)f.why, i, nc, (int)cands[i].state, cands[i].num, (long long)cands[i].len);
            S->sub_best = 0;
            S->sub_missing = -1;
            S->sub_msg[0] = 0;
            res = search(S, h, f.nholes, ncap);
            learn(S, id, &cands[i], S->sub_best);
            if (S->trace)
                fprintf(stderr, "  hole %d candidate %zu: best %zu missing %lld\n", f.stuck, i, S->sub_best,
                        (long long)S->sub_missing);
            if (res == 0 && S->sub_missing >= 0 && (f.why == STUCK_COUNT || f.why == STUCK_LEN)) {
                /* the count made an index the file lacks, where it has up to m: the counts near m next */
                int64_t m = S->sub_missing, near[] = {m + 1, m, m + 2, m - 1};
                size_t at = i + 1;
                for (size_t q = 0; q < sizeof near / sizeof *near; q++)
                    for (size_t j = at; j < nc; j++)
                        if (cands[j].state == HOLE_NUM ? cands[j].num == (double)near[q] : cands[j].len == near[q]) {
                            Cand c = cands[j];
                            memmove(&cands[at + 1], &cands[at], (j - at) * sizeof *cands);
                            cands[at++] = c;
                            break;
                        }
            }
            nsame = i > 0 && S->sub_best == prev_best && !strcmp(S->sub_msg, prev_msg) ? nsame + 1 : 0;
            prev_best = S->sub_best;
            snprintf(prev_msg, sizeof prev_msg, "%s", S->sub_msg);
            if (S->sub_best > outer || (S->sub_best == outer && outer_missing < 0)) {
                outer = S->sub_best;
                outer_missing = S->sub_missing;
                snprintf(outer_msg, sizeof outer_msg, "%s", S->sub_msg);
            }
            /* a choice's few candidates are all tried: two that fail alike (VGG's cfgs E and D both
             * end at features.14) say nothing of the next */
            int choice = f.holes[f.stuck].ncand > 0;
            if (res == 0 && !choice && S->sub_msg[0] && is_moot(S, id, S->sub_msg)) {
                if (S->trace)
                    fprintf(stderr, "  hole %d: the failure it was found not to matter to, skipped\n", f.stuck);
                break;
            }
            if (res == 0 && !choice && nsame == i &&
                nsame >= (f.why == STUCK_COUNT || f.why == STUCK_LEN ? 2u : 1u)) {
                note_moot(S, id, S->sub_msg);
                /* every value of this hole tried, two of them, failed the same way, as far: what
                 * failed does not depend on it (a loop's count deferred with the modules it makes,
                 * the stage list built before features is): back to the holes decided before it.
                 * A count, three: the first, then m + 1 and m after it made index m + 1 (a 0- or
                 * a 1-based name) */
                if (S->trace)
                    fprintf(stderr, "  hole %d: the same failure twice, its other values skipped\n", f.stuck);
                break;
            }
        }
        S->sub_best = outer;
        S->sub_missing = outer_missing;
        snprintf(S->sub_msg, sizeof S->sub_msg, "%s", outer_msg);
        break;
    }
    free(f.made);
    free(f.holes);
    return res;
}

int fit_family(const char *path, const FitFile *ff, const char *wname, FitAccept accept, void *ctx,
    FamilyResult *r)
{
    memset(r, 0, sizeof *r);
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    snprintf(r->name, sizeof r->name, "%.*s", (int)(strlen(base) > 5 ? strlen(base) - 5 : strlen(base)), base);
    Search S = {.path = path, .ff = ff, .wname = wname, .accept = accept, .ctx = ctx, .r = r, .sub_missing = -1,
                .trace = getenv("RCC_FIT_TRACE") != NULL};
    int res = search(&S, NULL, 0, 0);
    free(S.hints);
    for (size_t i = 0; i < S.nmoot; i++)
        free(S.moot[i].msg);
    free(S.moot);
    r->runs = S.runs;
    if (S.over && !r->covers) {
        char near[sizeof r->why];
        snprintf(near, sizeof near, "%s", r->why);
        snprintf(r->why, sizeof r->why, "no fit within the search's bounds (%zu runs; the nearest %.300s)", S.runs,
                 near);
    }
    return res < 0 ? -1 : 0;
}

void fit_result_free(FamilyResult *r)
{
    free(r->spec);
    free(r->explain);
    free(r->warnings);
    r->spec = r->explain = r->warnings = NULL;
}

/* ------------------------------------------------------------ writing */

/* A float as Python would write it: the shortest form that reads back. */
static void fmt_num(char *buf, size_t cap, double v, int isint)
{
    if (isint) {
        snprintf(buf, cap, "%lld", (long long)v);
        return;
    }
    for (int p = 1; p <= 17; p++) {
        snprintf(buf, cap, "%.*g", p, v);
        if (strtod(buf, NULL) == v)
            break;
    }
    if (!strpbrk(buf, ".eEn"))
        snprintf(buf + strlen(buf), cap - strlen(buf), ".0");
}

typedef struct Edit {
    uint32_t    lo, hi;
    const char *text;       /* malloc'd */
    const char *note;       /* malloc'd comment for the line, or NULL */
} Edit;

static char *dup_printf(const char *fmt, ...) RCC_PRINTF(1, 2);
static char *dup_printf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = NULL;
    if (vasprintf(&s, fmt, ap) < 0)
        s = NULL;
    va_end(ap);
    return s;
}

/* The source text of the candidate hole h (a choice) took: the choice-th
 * argument of its ?(...), at *lo, *n bytes. */
static void choice_src(const Fit *f, const Diags *d, int h, uint32_t *lo, uint32_t *n)
{
    const Hole *ho = &f->holes[h];
    const char *t = d->files[ho->file].text;
    uint32_t p = ho->lo;
    while (p < ho->hi && t[p] != '(')   /* the positional arguments come first */
        p++;
    p++;
    int depth = 0, arg = 0;
    uint32_t start = p;
    for (; p < ho->hi; p++) {
        char c = t[p];
        if (c == '(' || c == '[' || c == '{') depth++;
        else if ((c == ')' || c == ']' || c == '}') && depth > 0) depth--;
        else if ((c == ',' || c == ')') && depth == 0) {
            if (arg == ho->choice)
                break;
            arg++;
            start = p + 1;
        }
    }
    while (start < p && isspace((unsigned char)t[start]))
        start++;
    while (p > start && isspace((unsigned char)t[p - 1]))
        p--;
    *lo = start;
    *n = p - start;
}

static void hole_text(FILE *o, const Fit *f, const Diags *d, int h);

/* The first len items of list hole h as a list literal (an item no run
 * met: None). */
static void items_text(FILE *o, const Fit *f, const Diags *d, int h, int64_t len)
{
    fputc('[', o);
    for (int64_t i = 0; i < len; i++) {
        int it = -1;
        for (size_t k = 0; k < f->nholes && it < 0; k++)
            if (f->holes[k].parent == h && f->holes[k].index == i)
                it = (int)k;
        if (i)
            fputs(", ", o);
        if (it >= 0)
            hole_text(o, f, d, it);
        else
            fputs("None", o);
    }
    fputc(']', o);
}

/* Hole h's value as source text, into the stream. */
static void hole_text(FILE *o, const Fit *f, const Diags *d, int h)
{
    const Hole *ho = &f->holes[h];
    char b[64];
    switch (ho->state) {
    case HOLE_NUM: fmt_num(b, sizeof b, ho->num, ho->isint); fputs(b, o); return;
    case HOLE_BOOL: fputs(ho->num != 0 ? "True" : "False", o); return;
    case HOLE_NONE: fputs("None", o); return;
    case HOLE_DEFAULT:   /* the value its default gave */
        if (ho->dkind == VAL_INT || ho->dkind == VAL_FLOAT) {
            fmt_num(b, sizeof b, ho->num, ho->isint);
            fputs(b, o);
        } else if (ho->dkind == VAL_BOOL) {
            fputs(ho->num != 0 ? "True" : "False", o);
        } else if (ho->dkind == VAL_NONE) {
            fputs("None", o);
        } else {
            fprintf(o, "%.*s", (int)(ho->dhi - ho->dlo), d->files[ho->file].text + ho->dlo);
        }
        return;
    case HOLE_OPEN: {   /* indexed as a list (layers[i]), never iterated: its items */
        int64_t len = -1;
        for (size_t k = 0; k < f->nholes; k++)
            if (f->holes[k].parent == h && f->holes[k].index + 1 > len)
                len = f->holes[k].index + 1;
        if (len < 0) {
            if (ho->dhi > ho->dlo)
                fprintf(o, "%.*s", (int)(ho->dhi - ho->dlo), d->files[ho->file].text + ho->dlo);
            else
                fputs(ho->truthy ? "True" : "None", o);
            return;
        }
        items_text(o, f, d, h, len);
        return;
    }
    case HOLE_CHOICE: {
        if (ho->text[0]) {   /* a named candidate, as its value */
            fputs(ho->text, o);
            return;
        }
        uint32_t lo, n;
        choice_src(f, d, h, &lo, &n);
        fprintf(o, "%.*s", (int)n, d->files[ho->file].text + lo);
        return;
    }
    case HOLE_LIST: items_text(o, f, d, h, ho->len); return;
    }
}

static int by_lo(const void *a, const void *b)
{
    uint32_t x = ((const Edit *)a)->lo, y = ((const Edit *)b)->lo;
    return x < y ? -1 : x > y;
}

/* How hole h (and its items) was decided, for the comments and --explain. */
static void hole_how(FILE *o, const Fit *f, int h, const char **last)
{
    const Hole *ho = &f->holes[h];
    if (ho->how[0] && ho->state != HOLE_LIST && !(*last && !strcmp(*last, ho->how))) {   /* once for items alike */
        fprintf(o, "%s%s", *last ? "; " : "", ho->how);
        *last = ho->how;
    }
    for (size_t k = 0; k < f->nholes; k++)
        if (f->holes[k].parent == h)
            hole_how(o, f, (int)k, last);
}

/* Whether hole h has items (a list, or an open hole indexed as one). */
static int has_items(const Fit *f, int h)
{
    for (size_t k = 0; k < f->nholes; k++)
        if (f->holes[k].parent == h)
            return 1;
    return 0;
}

/* The keyword a hole is the value of (num_classes = ?), as a label; "" if none. */
static void hole_label(const char *t, uint32_t lo, char *buf, size_t cap)
{
    uint32_t p = lo;
    buf[0] = 0;
    while (p > 0 && (t[p - 1] == ' ' || t[p - 1] == '\t'))
        p--;
    if (p == 0 || t[p - 1] != '=' || (p > 1 && strchr("=!<>", t[p - 2])))
        return;
    p--;
    while (p > 0 && (t[p - 1] == ' ' || t[p - 1] == '\t'))
        p--;
    uint32_t end = p;
    while (p > 0 && (isalnum((unsigned char)t[p - 1]) || t[p - 1] == '_'))
        p--;
    snprintf(buf, cap, "%.*s", (int)(end - p), t + p);
}

/* The model a wrapper's prefix asks for: the family's model (written as a
 * block) is its one child, named as the prefix says ("module."). */
static void wrapper(FILE *o, const Decl *m, const char *text, const char *prefix)
{
    size_t pl = strlen(prefix) - 1;
    fprintf(o, "\n# Every key of the file starts with '%s' (a wrapper's: DataParallel, torch.compile): the model\n"
               "# above is the one child of this one.\nmodel %s_%.*s {\n", prefix, m->name, (int)pl, prefix);
    for (size_t k = 0; k < m->nbody; k++)
        if (m->body[k]->kind == ST_INPUT)
            fprintf(o, "  %.*s\n", (int)(m->body[k]->span.hi - m->body[k]->span.lo), text + m->body[k]->span.lo);
    fprintf(o, "  \"%.*s\" = %s()\n  forward(", (int)pl, prefix, m->name);
    int first = 1;
    for (size_t k = 0; k < m->nbody; k++)
        if (m->body[k]->kind == ST_INPUT) {
            fprintf(o, "%s%s", first ? "" : ", ", m->body[k]->name);
            first = 0;
        }
    fprintf(o, ") {\n    return self.\"%.*s\"(", (int)pl, prefix);
    first = 1;
    for (size_t k = 0; k < m->nbody; k++)
        if (m->body[k]->kind == ST_INPUT) {
            fprintf(o, "%s%s", first ? "" : ", ", m->body[k]->name);
            first = 0;
        }
    fputs(")\n  }\n}\n", o);
}

/* A file of the library as the spec written names it: from the library's
 * folder on ("families/resnet.arch"), whatever folder it is installed in. */
static const char *lib_path(const Search *S, const char *path)
{
    const char *fam = strrchr(S->path, '/');
    size_t n = fam ? (size_t)(fam - S->path) : 0;          /* .../specs/families */
    while (n > 0 && S->path[n - 1] != '/')
        n--;                                                 /* .../specs/ */
    return n && strncmp(path, S->path, n) == 0 ? path + n : path;
}

static int render(Search *S, const Elab *e, const Diags *d, const Fit *f)
{
    FamilyResult *r = S->r;
    char *spec = NULL, *expl = NULL, *warn = NULL;
    size_t specn = 0, expln = 0, warnn = 0;
    FILE *o = open_memstream(&spec, &specn), *x = open_memstream(&expl, &expln), *w = open_memstream(&warn, &warnn);
    if (!o || !x || !w) {
        if (o) fclose(o);
        if (x) fclose(x);
        if (w) fclose(w);
        free(spec);
        free(expl);
        free(warn);
        return -1;
    }
    fprintf(o, "# inferred by rcc infer from %s: family %s (%s).\n"
               "# Every free value of the family is written out; `rcc infer --explain` says what decided each.\n",
            S->wname, r->name, lib_path(S, S->path));
    size_t guessed = 0;
    /* imports first, then the family itself, each with its edits */
    for (size_t pi = e->nprogs; pi-- > 0;) {
        const Program *p = e->progs[pi];
        const SrcFile *sf = &d->files[p->file];
        const Decl *m = e->model;
        int wrap = pi == 0 && S->ff->prefix && m && m->span.file == p->file;
        Edit *ed = calloc(f->nholes + f->nguesses + p->ndecls + (wrap ? m->nbody + 2 : 0) + 1, sizeof *ed);
        size_t ne = 0;
        if (!ed)
            break;
        if (wrap) {   /* model NAME { input ... } becomes block NAME() { }, the child of the model below */
            ed[ne++] = (Edit){m->span.lo, m->span.lo + 5, dup_printf("block"), NULL};
            ed[ne++] = (Edit){m->name_span.hi, m->name_span.hi, dup_printf("()"), NULL};
            for (size_t k = 0; k < m->nbody; k++)
                if (m->body[k]->kind == ST_INPUT)
                    ed[ne++] = (Edit){m->body[k]->span.lo, m->body[k]->span.hi, dup_printf("%s", ""), NULL};
        }
        for (size_t k = 0; k < p->ndecls; k++) {
            const Decl *dc = p->decls[k];
            if (dc->kind == DECL_IMPORT || (pi > 0 && dc->kind == DECL_MODEL))
                ed[ne++] = (Edit){dc->span.lo, dc->span.hi, dup_printf("%s", ""), NULL};
        }
        for (size_t h = 0; h < f->nholes; h++) {
            const Hole *ho = &f->holes[h];
            if (ho->parent >= 0 || ho->about >= 0 || ho->file != p->file)
                continue;
            char *val = NULL, *how = NULL;
            size_t vn = 0, hn = 0;
            FILE *vs = open_memstream(&val, &vn), *hs = open_memstream(&how, &hn);
            if (vs) {
                hole_text(vs, f, d, (int)h);
                fclose(vs);
            }
            const char *last = NULL;
            if (hs) {
                if (ho->state == HOLE_CHOICE && ho->text[0]) {   /* the name of the value written */
                    uint32_t clo, cn;
                    choice_src(f, d, (int)h, &clo, &cn);
                    fprintf(hs, "%.*s, ", (int)cn, sf->text + clo);
                }
                hole_how(hs, f, (int)h, &last);
                fclose(hs);
            }
            int undecided = (ho->state == HOLE_OPEN && !ho->truthy && !has_items(f, (int)h)) ||
                            ho->state == HOLE_DEFAULT;
            char label[64];
            hole_label(sf->text, ho->lo, label, sizeof label);
            const char *what = how && *how ? how : "decided";
            ed[ne++] = (Edit){ho->lo, ho->hi, val,
                              undecided ? dup_printf("%s%sguessed: nothing in the file decides it%s", label,
                                                     *label ? ": " : "", ho->dhi ? " (the family's default)" : "")
                                        : dup_printf("%s: %s", *label ? label : val ? val : "?", what)};
            guessed += undecided;
            size_t line, col;
            diag_position(d, ho->file, ho->lo, &line, &col);
            fprintf(x, "  %s:%zu:%zu: %s%s%s  (%s)\n", sf->path, line, col, label, *label ? " = " : "",
                    val ? val : "?", undecided ? "guessed: nothing in the file decides it" : what);
            if (undecided && !ho->dhi)   /* no default either: say where, and what would decide it */
                fprintf(w, "%s:%zu:%zu: warning: nothing in %s decides %s%s`?`; written as %s (a layer or param "
                           "of the family whose keys it sizes, present in the file, would decide it)\n",
                        sf->path, line, col, S->wname, label, *label ? " = " : "", val ? val : "None");
            free(how);
        }
        for (size_t g = 0; g < f->nguesses; g++) {
            const FitGuess *gu = &f->guesses[g];
            if (gu->file != p->file)
                continue;
            size_t line, col;
            diag_position(d, gu->file, gu->lo, &line, &col);
            if (gu->from[0]) {   /* the pickle said it */
                ed[ne++] = (Edit){gu->lo, gu->hi, dup_printf("%s", gu->val),
                                  dup_printf("from the pickled module: %s", gu->from)};
                fprintf(x, "  %s:%zu:%zu: %s  (from the pickled module: %s)\n", sf->path, line, col, gu->val,
                        gu->from);
                continue;
            }
            ed[ne++] = (Edit){gu->lo, gu->hi, dup_printf("%.*s", (int)(gu->vhi - gu->vlo), sf->text + gu->vlo),
                              dup_printf("guessed: the weights cannot tell")};
            fprintf(x, "  %s:%zu:%zu: %.*s  (guessed: the family's default; the weights cannot tell)\n", sf->path,
                    line, col, (int)(gu->hi - gu->lo), sf->text + gu->lo);
            guessed++;
        }
        qsort(ed, ne, sizeof *ed, by_lo);
        fprintf(o, "\n# ---- %s\n", lib_path(S, sf->path));
        uint32_t at = 0;
        char pend[1024] = "";   /* the comments for the line being copied */
        size_t pl = 0;
        for (size_t k = 0; k <= ne; k++) {
            uint32_t upto = k < ne ? ed[k].lo : (uint32_t)sf->len;
            if (upto < at) {   /* inside an edit already made (a hole of a dropped model) */
                free((void *)ed[k].text);
                free((void *)ed[k].note);
                continue;
            }
            for (; at < upto; at++) {
                if (sf->text[at] == '\n' && pl) {
                    fprintf(o, "  # %s", pend);
                    pl = 0;
                    pend[0] = 0;
                }
                fputc(sf->text[at], o);
            }
            if (k == ne)
                break;
            fputs(ed[k].text ? ed[k].text : "", o);
            if (ed[k].note && pl < sizeof pend - 1)
                pl += (size_t)snprintf(pend + pl, sizeof pend - pl, "%s%s", pl ? "; " : "", ed[k].note);
            if (pl >= sizeof pend)
                pl = sizeof pend - 1;
            at = ed[k].hi;
            free((void *)ed[k].text);
            free((void *)ed[k].note);
        }
        if (pl)
            fprintf(o, "  # %s\n", pend);
        if (wrap)
            wrapper(o, m, sf->text, S->ff->prefix);
        free(ed);
    }
    fclose(o);
    fclose(x);
    fclose(w);
    r->warnings = warn;
    r->covers = 1;
    r->matched = f->matched;
    r->spec = spec;
    r->explain = expl;
    r->nguessed = guessed;
    return 0;
}
