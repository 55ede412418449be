/* free.c — free parameters of a family spec: `?`, `?(a, b, ...)`, guess(v).
 *
 * What a run of elaboration does with them (arch.h, "free.c"): a decided
 * hole reads as its value; an open one as VAL_FREE, f * h + b (or
 * f * h**2 + b, a side times itself), which configuration arithmetic
 * carries (values.c asks el_free_arith) until a layer or a raw param
 * takes it, where the file's tensor of that key decides it: the layer's
 * own expand (catalog.c) is probed at two values of the argument, each
 * size that moves is affine in it, and the file's size gives the
 * argument, hence the hole.  Anything else that needs the value (a loop
 * count, a condition, a comparison, an unsupported operator) stops the
 * run, stuck on that hole, and fit.c tries its candidates.
 * Every tensor the run makes is compared with the file as it is made.
 */
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "elab.h"

/* Ends the run: the first reason is kept. */
static int halt(Elab *e, int dead, const char *fmt, ...) RCC_PRINTF(3, 4);
static int halt(Elab *e, int dead, const char *fmt, ...)
{
    Fit *f = e->fit;
    if (!f->stop) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(f->msg, sizeof f->msg, fmt, ap);
        va_end(ap);
        f->stop = 1;
        f->dead = dead;
    }
    return -1;
}

static int find_hole(const Fit *f, uint32_t file, uint32_t lo, int parent, int64_t index)
{
    for (size_t i = 0; i < f->nholes; i++) {
        const Hole *h = &f->holes[i];
        if (h->parent == parent && (parent >= 0 ? h->index == index : h->file == file && h->lo == lo))
            return (int)i;
    }
    return -1;
}

static int hole_at(Elab *e, uint32_t file, uint32_t lo, uint32_t hi, int parent, int64_t index)
{
    Fit *f = e->fit;
    int i = find_hole(f, file, lo, parent, index);
    if (i >= 0)
        return i;
    if (f->nholes >= 4096)
        return halt(e, 0, "more than 4096 free values");
    if (f->nholes == f->cap) {
        size_t cap = f->cap ? f->cap * 2 : 32;
        Hole *h = realloc(f->holes, cap * sizeof *h);
        if (!h)
            return halt(e, 0, "out of memory");
        f->holes = h;
        f->cap = cap;
    }
    Hole *h = &f->holes[f->nholes];
    memset(h, 0, sizeof *h);
    h->file = file;
    h->lo = lo;
    h->hi = hi;
    h->parent = parent;
    h->index = index;
    return (int)f->nholes++;
}

static void free_val(Elab *e, int h, Val *out)
{
    memset(out, 0, sizeof *out);
    out->kind = VAL_FREE;
    out->i = h;
    out->f = 1;
    e->fit->last_free = h;
}

/* Hole h's value in this run; x is its ?(...) call when it has candidates. */
static int hole_val(Elab *e, const Scope *s, int h, const Expr *x, Val *out)
{
    Hole hv = e->fit->holes[h];   /* a copy: items made below may move the array */
    memset(out, 0, sizeof *out);
    switch (hv.state) {
    case HOLE_OPEN: free_val(e, h, out); return 0;
    case HOLE_NUM:
        out->kind = hv.isint ? VAL_INT : VAL_FLOAT;
        out->i = (int64_t)hv.num;
        out->f = hv.num;
        return 0;
    case HOLE_BOOL: out->kind = VAL_BOOL; out->i = hv.num != 0; return 0;
    case HOLE_NONE: out->kind = VAL_NONE; return 0;
    case HOLE_CHOICE:
        if (!x || x->kind != EX_CALL || hv.choice < 0 || (size_t)hv.choice >= x->nargs)
            return halt(e, 0, "a choice without its candidates");
        return el_eval(e, s, x->args[hv.choice].value, out);
    case HOLE_DEFAULT: {   /* ?(default = max(1, n_embd // 64)): as written, with this run's values */
        const Expr *dx = NULL;
        for (size_t i = 0; x && x->kind == EX_CALL && i < x->nargs; i++)
            if (x->args[i].name && !strcmp(x->args[i].name, "default"))
                dx = x->args[i].value;
        if (!dx)
            return halt(e, 0, "a default without its value");
        if (el_eval(e, s, dx, out) < 0)
            return -1;
        Hole *hp = &e->fit->holes[h];
        hp->dkind = out->kind;
        hp->isint = out->kind != VAL_FLOAT;
        hp->num = out->kind == VAL_FLOAT ? out->f : (double)out->i;
        return 0;
    }
    case HOLE_LIST: {
        Seq q = {0};
        for (int64_t i = 0; i < hv.len; i++) {
            int it = hole_at(e, hv.file, hv.lo, hv.hi, h, i);
            Val v;
            if (it < 0 || hole_val(e, s, it, NULL, &v) < 0 || el_seq_push(e, &q, &v) < 0)
                return -1;
        }
        return el_seq_make(e, q.v, q.n, out);
    }
    }
    return -1;
}

int el_free_value(Elab *e, const Scope *s, const Expr *x, Val *out)
{
    if (!e->fit)
        return el_err_at(e, x->span, "a free value `?` is for a family that rcc infer fits to a weight file; "
                                     "write the value here");
    int h = hole_at(e, x->span.file, x->span.lo, x->span.hi, -1, 0);
    if (h < 0)
        return -1;
    Hole *ho = &e->fit->holes[h];
    ho->ncand = 0;
    for (size_t i = 0; x->kind == EX_CALL && i < x->nargs; i++) {
        if (!x->args[i].name) {
            ho->ncand++;
        } else if (!strcmp(x->args[i].name, "default")) {
            ho->dlo = x->args[i].value->span.lo;
            ho->dhi = x->args[i].value->span.hi;
        } else {
            return el_err_at(e, x->args[i].name_span, "?(...) takes candidates and default = v");
        }
    }
    if (ho->ncand > 0 && ho->state == HOLE_OPEN)
        return el_free_stuck(e, &(Val){.kind = VAL_FREE, .i = h, .f = 1}, STUCK_CHOICE, x->span);
    return hole_val(e, s, h, x, out);
}

int el_free_stuck(Elab *e, const Val *v, StuckWhy why, Span sp)
{
    (void)sp;
    if (!e->fit)
        return -1;
    if (e->fit->stop)
        return -1;
    e->fit->stuck = v->kind == VAL_FREE ? (int)v->i : e->fit->last_free;
    e->fit->why = why;
    return halt(e, 0, "needs a free value decided");
}

static int is_num(const Val *v) { return v->kind == VAL_INT || v->kind == VAL_FLOAT || v->kind == VAL_BOOL; }
static double num(const Val *v) { return v->kind == VAL_FLOAT ? v->f : (double)v->i; }

int el_free_arith(Elab *e, Span sp, int op, const Val *a, const Val *b, Val *out)
{
    if (a->kind != VAL_FREE && b->kind != VAL_FREE)
        return 0;
    if (a->kind == VAL_FREE && b->kind == VAL_FREE) {
        /* a size times itself (c * side * side, a flattened square map):
         * f*h times g*h is f*g*h**2, which a file's size still decides */
        if (op != '*' || a->i != b->i || a->b != 0 || b->b != 0 || a->sq || b->sq)
            return el_free_stuck(e, a, STUCK_VALUE, sp);
        *out = *a;
        out->f = a->f * b->f;
        out->n |= b->n;
        out->sq = 1;
        e->fit->last_free = (int)a->i;
        return 1;
    }
    const Val *fv = a->kind == VAL_FREE ? a : b, *cv = a->kind == VAL_FREE ? b : a;
    if (!is_num(cv) || (op != '+' && op != '-' && op != '*' && (fv != a || (op != '/' && op != '\\'))))
        return el_free_stuck(e, fv, STUCK_VALUE, sp);
    double c = num(cv);
    *out = *fv;
    switch (op) {
    case '+': out->b += c; break;
    case '-':
        if (fv == a) {
            out->b -= c;
        } else {
            out->f = -out->f;
            out->b = c - out->b;
        }
        break;
    case '*': out->f *= c; out->b *= c; break;
    default:   /* f*h+b over c; // is taken as exact division, which the final check verifies */
        if (c == 0)
            return el_free_stuck(e, fv, STUCK_VALUE, sp);
        out->f /= c;
        out->b /= c;
        out->n |= op == '\\';
        break;
    }
    e->fit->last_free = (int)fv->i;
    return 1;
}

int el_free_round(Elab *e, const char *fn, const Val *a, Val *out)
{
    if (strcmp(fn, "int") && strcmp(fn, "round") && strcmp(fn, "float"))
        return el_free_stuck(e, a, STUCK_VALUE, NO_SPAN);
    *out = *a;
    out->n |= fn[0] != 'f';
    return 0;
}

/* The item of an open hole indexed as a list (its length stays open
 * until something needs it). */
int el_free_item(Elab *e, const Val *list, int64_t i, Val *out)
{
    if (list->f != 1 || list->b != 0 || list->sq || i < 0)
        return el_free_stuck(e, list, STUCK_VALUE, NO_SPAN);
    const Hole *h = &e->fit->holes[list->i];
    int it = hole_at(e, h->file, h->lo, h->hi, (int)list->i, i);
    return it < 0 ? -1 : hole_val(e, NULL, it, NULL, out);
}

int el_free_unpack(Elab *e, const Val *row, size_t n, Val *items)
{
    if (row->f != 1 || row->b != 0 || row->sq || n > 64)
        return el_free_stuck(e, row, STUCK_VALUE, NO_SPAN);
    Hole *h = &e->fit->holes[row->i];
    h->state = HOLE_LIST;
    h->len = (int64_t)n;
    snprintf(h->how, sizeof h->how, "a row of %zu values", n);
    e->fit->progress++;
    for (size_t k = 0; k < n; k++) {
        const Hole *hh = &e->fit->holes[row->i];
        int it = hole_at(e, hh->file, hh->lo, hh->hi, (int)row->i, (int64_t)k);
        if (it < 0 || hole_val(e, NULL, it, NULL, &items[k]) < 0)
            return -1;
    }
    return 0;
}

int el_truth(Elab *e, const Val *v)
{
    if (v->kind != VAL_FREE)
        return val_truthy(v);
    if (e->fit && e->fit->holes[v->i].truthy && v->b == 0 && v->f != 0 && !v->sq)
        return 1;
    el_free_stuck(e, v, STUCK_TRUTH, NO_SPAN);
    return 0;
}

int el_free_guess(Elab *e, const Scope *s, const Expr *x, Val *out)
{
    if (x->nargs != 1 || x->args[0].name)
        return el_err_at(e, x->span, "guess() takes one value: the family's default for what the weights cannot tell");
    if (el_eval(e, s, x->args[0].value, out) < 0)
        return -1;
    Fit *f = e->fit;
    if (!f)
        return 0;
    for (size_t i = 0; i < f->nguesses; i++)
        if (f->guesses[i].file == x->span.file && f->guesses[i].lo == x->span.lo)
            return 0;
    if (f->nguesses < sizeof f->guesses / sizeof *f->guesses) {
        const Span v = x->args[0].value->span;
        f->guesses[f->nguesses].file = x->span.file;
        f->guesses[f->nguesses].lo = x->span.lo;
        f->guesses[f->nguesses].hi = x->span.hi;
        f->guesses[f->nguesses].vlo = v.lo;
        f->guesses[f->nguesses].vhi = v.hi;
        f->nguesses++;
    }
    return 0;
}

/* ------------------------------------------------------- the file's side */

static const FitKey *file_key(const Fit *f, const char *key)
{
    size_t lo = 0, hi = f->nkeys;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(f->keys[mid].key, key);
        if (c == 0)
            return &f->keys[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

static void fmt_shape(char *buf, size_t cap, int ndim, const int64_t *shape)
{
    size_t n = (size_t)snprintf(buf, cap, "[");
    for (int i = 0; i < ndim && n < cap; i++)
        n += (size_t)snprintf(buf + n, cap - n, "%s%lld", i ? ", " : "", (long long)shape[i]);
    if (n < cap)
        snprintf(buf + n, cap - n, "]");
}

int el_free_made(Elab *e, const char *key, int ndim, const int64_t *shape)
{
    Fit *f = e->fit;
    const FitKey *k = file_key(f, key);
    if (!k)
        return halt(e, 1, "makes %s, which the file does not have", key);
    if (k->ndim != ndim || memcmp(k->shape, shape, (size_t)ndim * sizeof *shape) != 0) {
        char a[96], b[96];
        fmt_shape(a, sizeof a, ndim, shape);
        fmt_shape(b, sizeof b, k->ndim, k->shape);
        return halt(e, 1, "makes %s %s; the file has %s", key, a, b);
    }
    size_t at = (size_t)(k - f->keys);
    if (!f->made[at]) {
        f->made[at] = 1;
        f->matched++;
    }
    return 0;
}

/* Hole h (through f*h + b) equals x: decided, or checked when it is. */
static int settle(Elab *e, const Val *fv, double x, const char *key, int ndim, const int64_t *shape)
{
    Hole *h = &e->fit->holes[fv->i];
    double v = (x - fv->b) / fv->f;
    if (h->state == HOLE_NUM) {   /* a value made before it was decided, in this run */
        double want = fv->f * (fv->sq ? h->num * h->num : h->num) + fv->b;
        if (fabs(want - x) < (fv->n ? 1.0 : 1e-9))
            return 0;
        return halt(e, 1, "%s needs %g where an earlier size needs %g", key, x, want);
    }
    if (h->state != HOLE_OPEN)
        return halt(e, 0, "a decided value is free");
    if (fv->sq) {   /* h**2 is v: a whole square, as a side is whole */
        double root = v >= 0 ? nearbyint(sqrt(v)) : -1;
        if (root < 0 || fabs(root * root - v) > 1e-9 * (v + 1))
            return halt(e, 1, "%s needs %g, which is not a side squared", key, x);
        v = root;
    }
    double r = nearbyint(v);
    if (fabs(v - r) < 1e-9 * (fabs(v) + 1)) {
        h->isint = 1;
        v = r;
    }
    if (h->isint && v < 0)
        return halt(e, 1, "%s would need a negative value", key);
    h->state = HOLE_NUM;
    h->num = v;
    char sh[96];
    fmt_shape(sh, sizeof sh, ndim, shape);
    snprintf(h->how, sizeof h->how, "%s %s", key, sh);
    e->fit->progress++;
    return 0;
}

int el_free_size(Elab *e, const Val *v, const char *key, int d, Span sp, int64_t *out)
{
    (void)sp;
    const FitKey *k = file_key(e->fit, key);
    if (!k)
        return halt(e, 1, "makes %s, which the file does not have", key);
    if (d >= k->ndim)
        return halt(e, 1, "makes %s with more dimensions than the file's", key);
    *out = k->shape[d];
    return settle(e, v, (double)k->shape[d], key, k->ndim, k->shape);
}

/* The layer's tensors for vals, into out (cap); -1 when expand refuses. */
static int expand(const Layer *L, const Val *vals, LayerTensor *out, size_t cap)
{
    char msg[128];
    return L->expand(vals, out, cap, msg, sizeof msg);
}

enum { PROBE_CAP = 256 };

/* The file's value of free numeric argument k of layer L under path, by
 * probing L's expand: *x set (key: the tensor that says it) and 1; 0 when
 * no size of the layer moves with it (the weights do not show it); -1
 * when the layer has tensors and the file none of them with their number
 * of dimensions (key: the first), which no value of the argument mends. */
static int probe_arg(Elab *e, const Layer *L, const Val *vals, size_t k, const char *path, double *x, char *key,
                     size_t keycap)
{
    static const int64_t bases[] = {720720, 5040, 840, 60, 12, 2};
    LayerTensor *t0 = malloc(2 * PROBE_CAP * sizeof *t0), *t1 = t0 ? t0 + PROBE_CAP : NULL;
    Val pv[LAYER_MAX_ARGS];
    int found = 0, made = 0, has = 0;
    for (size_t bi = 0; t0 && bi < sizeof bases / sizeof *bases && !found; bi++) {
        int64_t P = bases[bi];
        memcpy(pv, vals, L->nargs * sizeof *pv);
        for (size_t j = 0; j < L->nargs; j++)
            if (pv[j].kind == VAL_FREE) {   /* another free flag (bidirectional = ?) as False */
                memset(&pv[j], 0, sizeof pv[j]);
                pv[j].kind = L->args[j].kind == VAL_BOOL ? VAL_BOOL : VAL_INT;
                pv[j].i = L->args[j].kind == VAL_BOOL ? 0 : P;
            }
        int n0 = expand(L, pv, t0, PROBE_CAP);
        pv[k].i = 2 * P;
        int n1 = expand(L, pv, t1, PROBE_CAP);
        if (n0 < 0 || n1 != n0)
            continue;
        for (int i = 0; i < n0 && !has; i++) {   /* a Conv2d where the file has a Conv1d's weight: none */
            const FitKey *fk = file_key(e->fit, el_join(e, path, t0[i].name));
            has = fk && fk->ndim == t0[i].ndim;
        }
        if (n0 > 0 && !made)
            snprintf(key, keycap, "%s", el_join(e, path, t0[0].name));
        made |= n0 > 0;
        for (int i = 0; i < n0 && !found; i++) {
            if (strcmp(t0[i].name, t1[i].name) || t0[i].ndim != t1[i].ndim)
                break;
            const FitKey *fk = file_key(e->fit, el_join(e, path, t0[i].name));
            if (!fk || fk->ndim != t0[i].ndim)
                continue;
            for (int d = 0; d < t0[i].ndim; d++) {
                double c = (double)(t1[i].shape[d] - t0[i].shape[d]) / (double)P;
                if (c == 0)
                    continue;
                *x = ((double)fk->shape[d] - ((double)t0[i].shape[d] - c * (double)P)) / c;
                found = 1;
                snprintf(key, keycap, "%s", fk->key);
                break;
            }
        }
    }
    free(t0);
    return found ? 1 : made && !has ? -1 : 0;
}

/* A free boolean argument (bias = ?): the value whose tensors the file has. */
static int probe_bool(Elab *e, const Layer *L, Val *vals, size_t k, const char *path, int *out)
{
    LayerTensor *t = malloc(PROBE_CAP * sizeof *t);
    int best = -1;
    size_t best_n = 0;
    for (int b = 1; t && b >= 0; b--) {
        Val pv[LAYER_MAX_ARGS];
        memcpy(pv, vals, L->nargs * sizeof *pv);
        pv[k].kind = VAL_BOOL;
        pv[k].i = b;
        int n = expand(L, pv, t, PROBE_CAP);
        int all = n >= 0;
        for (int i = 0; i < n && all; i++)
            all = file_key(e->fit, el_join(e, path, t[i].name)) != NULL;
        if (all && (best < 0 || (size_t)n > best_n)) {
            best = b;
            best_n = (size_t)n;
        }
    }
    free(t);
    *out = best;
    return best >= 0;
}

int el_free_layer(Elab *e, const Layer *L, Val *vals, const char *path, Span sp)
{
    for (size_t k = 0; k < L->nargs; k++) {
        if (vals[k].kind != VAL_FREE)
            continue;
        Hole *h = &e->fit->holes[vals[k].i];
        if (h->state == HOLE_NUM) {   /* decided earlier in this run */
            double v = vals[k].f * (vals[k].sq ? h->num * h->num : h->num) + vals[k].b;
            memset(&vals[k], 0, sizeof vals[k]);
            vals[k].kind = L->args[k].kind == VAL_FLOAT ? VAL_FLOAT : VAL_INT;
            vals[k].f = v;
            vals[k].i = (int64_t)nearbyint(v);
            continue;
        }
        if (h->state != HOLE_OPEN)
            return el_free_stuck(e, &vals[k], STUCK_VALUE, sp);
        if (L->args[k].kind == VAL_BOOL) {
            int b;
            if (vals[k].f != 1 || vals[k].b != 0 || vals[k].sq || !probe_bool(e, L, vals, k, path, &b))
                return el_free_stuck(e, &vals[k], STUCK_TRUTH, sp);
            h->state = HOLE_BOOL;
            h->num = b;
            snprintf(h->how, sizeof h->how, "%s.%s %s", path, L->args[k].name, b ? "present" : "absent");
            e->fit->progress++;
            memset(&vals[k], 0, sizeof vals[k]);
            vals[k].kind = VAL_BOOL;
            vals[k].i = b;
            continue;
        }
        double x;
        char key[256];
        int pr = probe_arg(e, L, vals, k, path, &x, key, sizeof key);
        if (pr < 0)
            return halt(e, 1, file_key(e->fit, key) ? "makes %s with another number of dimensions than the file's"
                                                    : "makes %s, which the file does not have", key);
        if (pr == 0)
            return el_free_stuck(e, &vals[k], STUCK_VALUE, sp);
        const FitKey *fk = file_key(e->fit, key);
        if (L->args[k].kind != VAL_FLOAT && fabs(x - nearbyint(x)) > 1e-9)
            return halt(e, 1, "no %s of %s fits %s", L->args[k].name, L->name, key);
        if (settle(e, &vals[k], x, key, fk ? fk->ndim : 0, fk ? fk->shape : NULL) < 0)
            return -1;
        memset(&vals[k], 0, sizeof vals[k]);
        vals[k].kind = L->args[k].kind == VAL_FLOAT ? VAL_FLOAT : VAL_INT;
        vals[k].f = x;
        vals[k].i = (int64_t)nearbyint(x);
    }
    return 0;
}
