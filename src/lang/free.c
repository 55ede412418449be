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
 *
 * What the shapes cannot solve directly is carried as far as it can go:
 * - a value a later layer decided reads as that number (el_free_resolve);
 * - two undecided values combined (sum(depths), w_b // group_width before
 *   either is known) make an opaque value, which waits: a layer with
 *   tensors that needs it stops the run (to be run again once its holes
 *   are decided), a tensorless one (StochasticDepth(sd_prob)) takes a
 *   stand-in, since no key or size can depend on it;
 * - a comparison (width_in != width_out before the projection decides
 *   width_out) is assumed true, then false, by the search, and the
 *   assumption is checked when the value is decided;
 * - c // h, c an integer (w_b // group_width), tries c's divisors;
 * - (f * h) ** k ((image_size // patch_size) ** 2) is solved by the k-th root;
 * - guess(v) of a value not decided yet waits for it, deciding nothing.
 */
#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "elab.h"

/* A VAL_FREE is f * hole(i) ** p + b (p = ints[0], 0 or 1 for the hole
 * itself); n holds these bits: */
enum { FREE_ROUNDED = 1,   /* an int(), round() or // was taken for exact on the way */
       FREE_OPAQUE = 2 };  /* made of two undecided values (hole(i) and hole(ints[1] - 1) when ints[1]), or
                              by an operator no size inverts (%, 2 ** h): decided by nothing, it waits for
                              its holes to be decided elsewhere */

static int64_t fpow(const Val *v) { return v->ints[0] > 1 ? v->ints[0] : 1; }
static int opaque(const Val *v) { return (v->n & FREE_OPAQUE) != 0; }
/* The hole itself, as a list or row is: nothing computed from it. */
static int plain(const Val *v) { return !opaque(v) && v->f == 1 && v->b == 0 && fpow(v) == 1; }
static double free_at(const Val *v, double h) { return v->f * (fpow(v) == 1 ? h : pow(h, (double)fpow(v))) + v->b; }

/* The hole's value for which v is x: 1 and *h, or 0 when none is. */
static int free_solve(const Val *v, double x, double *h)
{
    double y = (x - v->b) / v->f;
    if (fpow(v) == 1) {
        *h = y;
        return 1;
    }
    if (!(y >= 0))
        return 0;
    *h = pow(y, 1.0 / (double)fpow(v));
    double r = nearbyint(*h);
    if (fabs(pow(r, (double)fpow(v)) - y) < 1e-9 * (y + 1))
        *h = r;
    return 1;
}

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
        if (h->about < 0 && h->parent == parent && (parent >= 0 ? h->index == index : h->file == file && h->lo == lo))
            return (int)i;
    }
    return -1;
}

/* A new hole at the source span [lo, hi) of file: its number, or -1 (the run halted). */
static int new_hole(Elab *e, uint32_t file, uint32_t lo, uint32_t hi, int parent, int64_t index)
{
    Fit *f = e->fit;
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
    h->about = -1;
    h->file = file;
    h->lo = lo;
    h->hi = hi;
    h->parent = parent;
    h->index = index;
    return (int)f->nholes++;
}

static int hole_at(Elab *e, uint32_t file, uint32_t lo, uint32_t hi, int parent, int64_t index)
{
    int i = find_hole(e->fit, file, lo, parent, index);
    return i >= 0 ? i : new_hole(e, file, lo, hi, parent, index);
}

static void free_val(Elab *e, int h, Val *out)
{
    memset(out, 0, sizeof *out);
    out->kind = VAL_FREE;
    out->i = h;
    out->f = 1;
    e->fit->last_free = h;
}

/* v written as a Python literal into buf (at most cap), numbers, strings,
 * None, booleans and lists of them; 0, or -1 when v is something else or
 * does not fit. */
static int val_text(const Val *v, char *buf, size_t cap)
{
    int n = -1;
    switch (v->kind) {
    case VAL_NONE: n = snprintf(buf, cap, "None"); break;
    case VAL_BOOL: n = snprintf(buf, cap, "%s", v->i ? "True" : "False"); break;
    case VAL_INT: n = snprintf(buf, cap, "%lld", (long long)v->i); break;
    case VAL_FLOAT:   /* the shortest that reads back, with a point */
        for (int p = 1; p <= 17; p++) {
            n = snprintf(buf, cap, "%.*g", p, v->f);
            if (n < 0 || (size_t)n >= cap || strtod(buf, NULL) == v->f)
                break;
        }
        if (n >= 0 && (size_t)n < cap && !strpbrk(buf, ".eEn"))
            n = snprintf(buf + n, cap - (size_t)n, ".0") < 0 ? -1 : n + 2;
        break;
    case VAL_STR:
        if (strpbrk(v->s, "\"\\\n"))
            return -1;
        n = snprintf(buf, cap, "\"%s\"", v->s);
        break;
    case VAL_INTS:
    case VAL_LIST: {
        size_t at = 0;
        if (cap < 2)
            return -1;
        buf[at++] = '[';
        for (size_t i = 0; i < v->n; i++) {
            if (i) {
                if (cap - at < 3)
                    return -1;
                buf[at++] = ',';
                buf[at++] = ' ';
            }
            if (v->kind == VAL_INTS) {
                int k = snprintf(buf + at, cap - at, "%lld", (long long)v->ints[i]);
                if (k < 0 || (size_t)k >= cap - at)
                    return -1;
                at += (size_t)k;
            } else {
                if (val_text(&v->items[i], buf + at, cap - at) < 0)
                    return -1;
                at += strlen(buf + at);
            }
        }
        if (cap - at < 2)
            return -1;
        buf[at++] = ']';
        buf[at] = 0;
        return 0;
    }
    default: return -1;
    }
    return n < 0 || (size_t)n >= cap ? -1 : 0;
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
        if (el_eval(e, s, x->args[hv.choice].value, out) < 0)
            return -1;
        /* a named candidate (cfgs.A) is written out as its value, which
         * the output can then be read by without looking it up */
        ExKind ck = x->args[hv.choice].value->kind;
        Hole *ho = &e->fit->holes[h];
        if ((ck != EX_NAME && ck != EX_ATTR && ck != EX_INDEX) || val_text(out, ho->text, sizeof ho->text) < 0)
            ho->text[0] = 0;
        return 0;
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

/* The hole a stuck run on v needs decided: v's, or of an opaque value the
 * one of its two that is still open. */
static int open_hole(const Fit *f, const Val *v)
{
    int a = (int)v->i, b = opaque(v) && v->ints[1] > 0 ? (int)(v->ints[1] - 1) : -1;
    if (b < 0 || b >= (int)f->nholes || f->holes[a].state == HOLE_OPEN)
        return a;
    return f->holes[b].state == HOLE_OPEN ? b : a;
}

int el_free_stuck(Elab *e, const Val *v, StuckWhy why, Span sp)
{
    (void)sp;
    if (!e->fit)
        return -1;
    if (e->fit->stop)
        return -1;
    e->fit->stuck = v->kind == VAL_FREE ? open_hole(e->fit, v) : e->fit->last_free;
    e->fit->why = why;
    return halt(e, 0, "needs a free value decided");
}

static int is_num(const Val *v) { return v->kind == VAL_INT || v->kind == VAL_FLOAT || v->kind == VAL_BOOL; }
static double num(const Val *v) { return v->kind == VAL_FLOAT ? v->f : (double)v->i; }

void el_free_resolve(Elab *e, Val *v)
{
    if (!e->fit || v->kind != VAL_FREE || opaque(v) || v->i < 0 || (size_t)v->i >= e->fit->nholes)
        return;
    const Hole *h = &e->fit->holes[v->i];
    Val r;
    memset(&r, 0, sizeof r);
    if (h->state == HOLE_BOOL && plain(v)) {
        r.kind = VAL_BOOL;
        r.i = h->num != 0;
    } else if (h->state == HOLE_NUM) {
        double x = free_at(v, h->num);
        if (!isfinite(x))
            return;
        if (((v->n & FREE_ROUNDED) || (h->isint && v->f == nearbyint(v->f) && v->b == nearbyint(v->b))) &&
            fabs(x) < 9e15) {
            r.kind = VAL_INT;
            r.i = (int64_t)nearbyint(x);
            r.f = (double)r.i;
        } else {
            r.kind = VAL_FLOAT;
            r.f = x;
        }
    } else {
        return;
    }
    *v = r;
}

static Val zero_like(const Val *c)
{
    Val z;
    memset(&z, 0, sizeof z);
    z.kind = c->kind == VAL_FLOAT ? VAL_FLOAT : VAL_INT;
    return z;
}

int el_free_arith(Elab *e, Span sp, int op, const Val *a, const Val *b, Val *out)
{
    if (a->kind != VAL_FREE && b->kind != VAL_FREE)
        return 0;
    if (a->kind == VAL_FREE && b->kind == VAL_FREE && op == '*' && a->i == b->i && !opaque(a) && !opaque(b) &&
        a->b == 0 && b->b == 0 && fpow(a) + fpow(b) <= 8) {
        /* a size times itself (c * side * side, a flattened square map): f*h**p times g*h**q is
         * f*g*h**(p+q), which a file's size still decides */
        *out = *a;
        out->f = a->f * b->f;
        out->n |= b->n & FREE_ROUNDED;
        out->ints[0] = fpow(a) + fpow(b);
        e->fit->last_free = (int)a->i;
        return 1;
    }
    if (a->kind == VAL_FREE && b->kind == VAL_FREE) {   /* two undecided values: not f*h + b of one */
        *out = *a;
        out->n |= FREE_OPAQUE | (b->n & FREE_ROUNDED);
        if (!opaque(a) || a->ints[1] == 0)
            out->ints[1] = b->i + 1;
        out->ints[0] = 0;
        out->f = 1;
        out->b = 0;
        e->fit->last_free = (int)a->i;
        return 1;
    }
    const Val *fv = a->kind == VAL_FREE ? a : b, *cv = a->kind == VAL_FREE ? b : a;
    if (!is_num(cv))
        return el_free_stuck(e, fv, STUCK_VALUE, sp);
    double c = num(cv);
    e->fit->last_free = (int)fv->i;
    if ((op == '*' && c == 0) || ((op == '/' || op == '\\') && fv == b && c == 0)) {   /* 0 whatever it is */
        *out = zero_like(cv);
        return 1;
    }
    *out = *fv;
    if (opaque(fv)) {
        if (op == '\\' || op == '%')
            out->n |= FREE_ROUNDED;
        return 1;
    }
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
    case '/':
    case '\\':
        if (fv == b) {   /* c / h: when c is an integer, h is one of its divisors (w_b // group_width) */
            if (c == nearbyint(c) && fabs(c) <= 1e9 && fpow(fv) == 1) {
                e->fit->dividend = (int64_t)c;
                e->fit->div_f = fv->f;
                e->fit->div_b = fv->b;
                return el_free_stuck(e, fv, STUCK_DIVISOR, sp);
            }
            return el_free_stuck(e, fv, STUCK_VALUE, sp);
        }
        /* f*h+b over c; // is taken as exact division, which the final check verifies */
        out->f /= c;
        out->b /= c;
        out->n |= op == '\\';
        break;
    case 'p':   /* (f*h) ** k = f**k * h**k: a size that is a square ((image_size // patch_size) ** 2) */
        if (fv == a && fv->b == 0 && c == nearbyint(c) && c >= 1 && c <= 8 && fpow(fv) * (int64_t)c <= 8) {
            out->f = pow(fv->f, c);
            out->ints[0] = fpow(fv) * (int64_t)c;
            break;
        }
        out->n |= FREE_OPAQUE;
        out->ints[1] = 0;
        break;
    case '%':
        out->n |= FREE_OPAQUE | FREE_ROUNDED;
        out->ints[1] = 0;
        break;
    default:
        return el_free_stuck(e, fv, STUCK_VALUE, sp);
    }
    return 1;
}

/* A comparison's code: the index of its operator in values.c's list (== != < > <= >=). */
static int cmp_holds(int cmp, double x, double c)
{
    switch (cmp) {
    case 0: return x == c;
    case 1: return x != c;
    case 2: return x < c;
    case 3: return x > c;
    case 4: return x <= c;
    default: return x >= c;
    }
}

static const char *const cmp_names[] = {"==", "!=", "<", ">", "<=", ">="};

int el_free_compare(Elab *e, Span sp, int cmp, const Val *a, const Val *b, Val *out)
{
    const Val *fv = a->kind == VAL_FREE ? a : b, *cv = a->kind == VAL_FREE ? b : a;
    if (!e->fit || cv->kind == VAL_FREE || !is_num(cv) || opaque(fv) || cmp < 0 || cmp > 5)
        return el_free_stuck(e, fv, STUCK_VALUE, sp);
    static const int flipped[] = {0, 1, 3, 2, 5, 4};
    int op = fv == a ? cmp : flipped[cmp];
    double c = num(cv);
    int rounded = (fv->n & FREE_ROUNDED) != 0;
    Fit *f = e->fit;
    size_t k = 0;
    for (; k < f->nholes; k++) {
        const Hole *h = &f->holes[k];
        if (h->about == (int)fv->i && h->cmp == op && h->cf == fv->f && h->cb == fv->b && h->pw == fpow(fv) &&
            h->cc == c && h->cround == rounded)
            break;
    }
    if (k == f->nholes) {   /* a new assumption: its own hole */
        if (new_hole(e, sp.file, sp.lo, sp.hi, -1, 0) < 0)
            return -1;
        Hole *h = &f->holes[k];
        h->about = (int)fv->i;
        h->cmp = op;
        h->cf = fv->f;
        h->cb = fv->b;
        h->pw = (int)fpow(fv);
        h->cc = c;
        h->cround = rounded;
    }
    const Hole *h = &f->holes[k];
    if (h->state == HOLE_BOOL) {
        memset(out, 0, sizeof *out);
        out->kind = VAL_BOOL;
        out->i = h->num != 0;
        return 0;
    }
    if (f->stop)
        return -1;
    f->stuck = (int)k;
    f->why = STUCK_CMP;
    return halt(e, 0, "needs a comparison (%s %g) of a free value decided", cmp_names[op], c);
}

/* Hole `hole` was just decided: the assumptions made about it must hold. */
static int check_assumptions(Elab *e, int hole)
{
    const Fit *f = e->fit;
    const Hole *d = &f->holes[hole];
    for (size_t k = 0; k < f->nholes; k++) {
        const Hole *h = &f->holes[k];
        if (h->about != hole || h->state != HOLE_BOOL)
            continue;
        double x = h->cf * (h->pw > 1 ? pow(d->num, h->pw) : d->num) + h->cb;
        if (h->cround)
            x = nearbyint(x);
        if (cmp_holds(h->cmp, x, h->cc) != (h->num != 0))
            return halt(e, 1, "%s: a comparison taken as %s is %s with it (%g %s %g)", d->how,
                        h->num != 0 ? "true" : "false", h->num != 0 ? "false" : "true", x, cmp_names[h->cmp], h->cc);
    }
    return 0;
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
    if (!plain(list) || i < 0)
        return el_free_stuck(e, list, STUCK_VALUE, NO_SPAN);
    const Hole *h = &e->fit->holes[list->i];
    int it = hole_at(e, h->file, h->lo, h->hi, (int)list->i, i);
    return it < 0 ? -1 : hole_val(e, NULL, it, NULL, out);
}

int el_free_unpack(Elab *e, const Val *row, size_t n, Val *items)
{
    if (!plain(row) || n > 64)
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
    if (e->fit && !opaque(v) && e->fit->holes[v->i].truthy && v->b == 0 && v->f != 0)
        return 1;
    el_free_stuck(e, v, STUCK_TRUTH, NO_SPAN);
    return 0;
}

/* The attribute "path.name" (path may be empty) of the first pickled
 * module whose path ends in path: 1 and *out, or 0. */
static int pickled_attr(Elab *e, const char *spec, Val *out, FitGuess *g)
{
    const rcc_file *file = e->fit->file;
    const char *dot = strrchr(spec, '.');
    const char *name = dot ? dot + 1 : spec;
    size_t plen = dot ? (size_t)(dot - spec) : 0;
    for (size_t i = 0; file && i < rcc_module_count(file); i++) {
        const rcc_module *m = rcc_module_at(file, i);
        size_t ml = strlen(m->path);
        if (plen && (ml < plen || strncmp(m->path + ml - plen, spec, plen) ||
                     (ml > plen && m->path[ml - plen - 1] != '.')))
            continue;
        for (size_t k = 0; k < m->nattrs; k++) {
            const rcc_attr *a = &m->attrs[k];
            if (strcmp(a->name, name))
                continue;
            memset(out, 0, sizeof *out);
            switch (a->kind) {
            case RCC_ATTR_BOOL: out->kind = VAL_BOOL; out->i = a->i; break;
            case RCC_ATTR_INT: out->kind = VAL_INT; out->i = a->i; break;
            case RCC_ATTR_FLOAT: out->kind = VAL_FLOAT; out->f = a->f; break;
            case RCC_ATTR_NONE: out->kind = VAL_NONE; break;
            case RCC_ATTR_INTS:
                if (a->n > 8)
                    return 0;
                out->kind = VAL_INTS;
                out->n = a->n;
                memcpy(out->ints, a->ints, a->n * sizeof *a->ints);
                break;
            case RCC_ATTR_OTHER: {   /* a function: its name (activation = torch._C._nn.gelu: "gelu") */
                const char *r = a->repr, *last = r;
                for (const char *p = r; *p; p++)
                    if (*p == '.')
                        last = p + 1;
                    else if (!(isalnum((unsigned char)*p) || *p == '_'))
                        return 0;
                if (!*last)
                    return 0;
                out->kind = VAL_STR;
                out->s = last;
                snprintf(g->from, sizeof g->from, "%s%s%s = %s", m->path, *m->path ? "." : "", name, a->repr);
                snprintf(g->val, sizeof g->val, "\"%s\"", last);
                return 1;
            }
            default: return 0;   /* strings and other objects: the family's default */
            }
            snprintf(g->from, sizeof g->from, "%s%s%s = %s", m->path, *m->path ? "." : "", name, a->repr);
            snprintf(g->val, sizeof g->val, "%s", a->kind == RCC_ATTR_BOOL ? (a->i ? "True" : "False")
                                                : a->kind == RCC_ATTR_NONE ? "None" : a->repr);
            return 1;
        }
    }
    return 0;
}

int el_free_guess(Elab *e, const Scope *s, const Expr *x, Val *out)
{
    const Expr *attr = NULL;
    size_t npos = 0;
    for (size_t i = 0; i < x->nargs; i++) {
        if (!x->args[i].name)
            npos++;
        else if (!strcmp(x->args[i].name, "attr") && x->args[i].value->kind == EX_STR)
            attr = x->args[i].value;
        else
            return el_err_at(e, x->args[i].name_span, "guess() takes the default and attr = \"module.attribute\"");
    }
    if (npos != 1 || x->args[0].name)
        return el_err_at(e, x->span, "guess() takes one value: the family's default for what the weights cannot tell");
    Fit *f = e->fit;
    size_t nerrors = e->d->nerrors;
    if (el_eval(e, s, x->args[0].value, out) < 0) {
        /* a guess computed from a value not decided yet (heads = hidden_dim // 64) waits for it:
         * opaque, it decides nothing, and a later run has the value */
        if (!f || !f->stop || f->dead || f->stuck < 0 || f->holes[f->stuck].about >= 0 ||
            e->d->nerrors != nerrors)
            return -1;
        int h = f->stuck;
        f->stop = 0;
        f->stuck = -1;
        f->msg[0] = 0;
        memset(out, 0, sizeof *out);
        out->kind = VAL_FREE;
        out->i = h;
        out->f = 1;
        out->n = FREE_OPAQUE;
    }
    if (!f)
        return 0;
    FitGuess g;
    memset(&g, 0, sizeof g);
    if (attr) {
        Val pv;
        if (pickled_attr(e, attr->u.s, &pv, &g))
            *out = pv;
    }
    for (size_t i = 0; i < f->nguesses; i++)
        if (f->guesses[i].file == x->span.file && f->guesses[i].lo == x->span.lo)
            return 0;
    if (f->nguesses < sizeof f->guesses / sizeof *f->guesses) {
        g.file = x->span.file;
        g.lo = x->span.lo;
        g.hi = x->span.hi;
        g.vlo = x->args[0].value->span.lo;
        g.vhi = x->args[0].value->span.hi;
        f->guesses[f->nguesses++] = g;
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

/* The first file key at or after the keys that start with the n bytes p. */
static size_t prefix_lb(const Fit *f, const char *p, size_t n)
{
    size_t lo = 0, hi = f->nkeys;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strncmp(f->keys[mid].key, p, n) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Whether some file key is the n bytes p or goes on under them ("p." ...). */
static int has_module(const Fit *f, const char *p, size_t n)
{
    for (size_t i = prefix_lb(f, p, n); i < f->nkeys && !strncmp(f->keys[i].key, p, n); i++)
        if (f->keys[i].key[n] == 0 || f->keys[i].key[n] == '.')
            return 1;
    return 0;
}

/* A key the file lacks: where it leaves the file's tree is a segment
 * (block1-1 of trunk_output.block1.block1-1.f.a.0.weight); when that ends
 * in a number, the largest number the file has there under the same stem
 * (0: block1-0), which the search takes as a hint of a loop's count; -1
 * when there is none. */
static int64_t missing_index(const Fit *f, const char *key)
{
    size_t s = 0;
    for (;;) {
        size_t e = s;
        while (key[e] && key[e] != '.')
            e++;
        if (!has_module(f, key, e)) {
            size_t d = e;
            while (d > s && key[d - 1] >= '0' && key[d - 1] <= '9')
                d--;
            if (d == e || e - d > 6)
                return -1;
            int64_t m = -1;
            for (size_t i = prefix_lb(f, key, d); i < f->nkeys && !strncmp(f->keys[i].key, key, d); i++) {
                const char *q = f->keys[i].key + d, *r = q;
                while (*r >= '0' && *r <= '9')
                    r++;
                if (r > q && r - q <= 6 && (*r == '.' || *r == 0)) {
                    int64_t v = strtoll(q, NULL, 10);
                    if (v > m)
                        m = v;
                }
            }
            return m;
        }
        if (!key[e])
            return -1;
        s = e + 1;
    }
}

int el_free_made(Elab *e, const char *key, int ndim, const int64_t *shape)
{
    Fit *f = e->fit;
    const FitKey *k = file_key(f, key);
    if (!k) {
        if (!f->stop)
            f->missing_max = missing_index(f, key);
        return halt(e, 1, "makes %s, which the file does not have", key);
    }
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

int el_free_complete(Elab *e, const char *path)
{
    const Fit *f = e->fit;
    size_t plen = strlen(path);
    if (!plen)
        return 0;
    size_t lo = 0, hi = f->nkeys;   /* the first key at or after "path." */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strncmp(f->keys[mid].key, path, plen);
        if (c == 0)
            c = f->keys[mid].key[plen] == '.' ? 0 : (unsigned char)f->keys[mid].key[plen] < '.' ? -1 : 1;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    size_t i = lo;
    for (; i < f->nkeys && !strncmp(f->keys[i].key, path, plen) && f->keys[i].key[plen] == '.'; i++)
        if (!f->made[i]) {
                return halt(e, 1, "makes %s without %s, which the file has", path, f->keys[i].key);
        }
    if (i > lo)   /* a module with keys, all made: how far the run got */
        e->fit->completes++;
    return 0;
}

/* Hole h (through f*h + b) equals x: decided, or checked when it is. */
static int settle(Elab *e, const Val *fv, double x, const char *key, int ndim, const int64_t *shape)
{
    Hole *h = &e->fit->holes[fv->i];
    if (opaque(fv))
        return el_free_stuck(e, fv, STUCK_VALUE, NO_SPAN);
    double v;
    if (h->state == HOLE_NUM) {   /* a value made before it was decided, in this run */
        double want = free_at(fv, h->num);
        if (fabs(want - x) < (fv->n ? 1.0 : 1e-9))
            return 0;
        return halt(e, 1, "%s needs %g where an earlier size needs %g", key, x, want);
    }
    if (h->state != HOLE_OPEN)
        return halt(e, 0, "a decided value is free");
    if (!free_solve(fv, x, &v))
        return halt(e, 1, "no value gives %s its size %g", key, x);
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
    snprintf(h->how, sizeof h->how, "%.100s %.50s", key, sh);
    e->fit->progress++;
    return check_assumptions(e, (int)fv->i);
}

int el_free_size(Elab *e, const Val *v, const char *key, int d, Span sp, int64_t *out)
{
    (void)sp;
    if (opaque(v))
        return el_free_stuck(e, v, STUCK_VALUE, sp);
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

/* One probe value: v for the value probed, its value for h when it is
 * the same hole (Conv2d(dim, dim, groups = dim): they move together), P
 * for any other free value; -1 when that is not an integer. */
static int probe_one(const Val *x, const Val *pr, int tied, double h, int is_pr, int64_t v, int64_t P, int64_t *out)
{
    if (x->kind == VAL_INT) {
        *out = x->i;
        return 0;
    }
    if (x->kind != VAL_FREE)
        return -1;
    double y = (double)(is_pr ? v : P);
    if (!is_pr && tied && !opaque(x) && x->i == pr->i) {
        y = free_at(x, h);
        if (y != nearbyint(y) || fabs(y) > 1e15)
            return -1;
    }
    *out = (int64_t)y;
    return 0;
}

/* The arguments for a probe with the value probed at v: argument k, or
 * item `item` of argument k (kernel_size = (patch_size[0], patch_size[1]),
 * a tuple of free values, becomes a tuple of integers); the other free
 * values at P.  -1 when one is not an integer there. */
static int probe_vals(const Layer *L, const Val *vals, size_t k, int item, int64_t v, int64_t P, Val *pv)
{
    const Val *pr = item < 0 ? &vals[k] : &vals[k].items[item];
    double h = 0;
    int tied = !opaque(pr) && free_solve(pr, (double)v, &h);
    memcpy(pv, vals, L->nargs * sizeof *pv);
    for (size_t j = 0; j < L->nargs; j++) {
        if (pv[j].kind == VAL_FREE && L->args[j].kind == VAL_BOOL && j != k) {   /* bidirectional = ?: False */
            memset(&pv[j], 0, sizeof pv[j]);
            pv[j].kind = VAL_BOOL;
        } else if (pv[j].kind == VAL_FREE) {
            int64_t y;
            if (probe_one(&vals[j], pr, tied, h, j == k && item < 0, v, P, &y) < 0)
                return -1;
            memset(&pv[j], 0, sizeof pv[j]);
            pv[j].kind = VAL_INT;
            pv[j].i = y;
            pv[j].f = (double)y;
        } else if (pv[j].kind == VAL_LIST && L->args[j].kind == VAL_INTS && vals[j].n <= 8) {
            Val t;
            memset(&t, 0, sizeof t);
            t.kind = VAL_INTS;
            t.n = vals[j].n;
            for (size_t q = 0; q < vals[j].n; q++)
                if (probe_one(&vals[j].items[q], pr, tied, h, j == k && (int)q == item, v, P, &t.ints[q]) < 0)
                    return -1;
            pv[j] = t;
        }
    }
    return 0;
}

/* The file's value of free numeric argument k of layer L under path, by
 * probing L's expand: *x set (key: the tensor that says it) and 1, or 0 when no size of the layer moves
 * with it (the weights do not show it). */
static int probe_arg(Elab *e, const Layer *L, const Val *vals, size_t k, int item, const char *path, double *x,
                     char *key, size_t keycap)
{
    static const int64_t bases[] = {720720, 5040, 840, 60, 12, 2};
    LayerTensor *t0 = malloc(2 * PROBE_CAP * sizeof *t0), *t1 = t0 ? t0 + PROBE_CAP : NULL;
    Val pv[LAYER_MAX_ARGS];
    int found = 0, made = 0, has = 0;
    for (size_t bi = 0; t0 && bi < sizeof bases / sizeof *bases && !found; bi++) {
        int64_t P = bases[bi];
        if (probe_vals(L, vals, k, item, P, P, pv) < 0)
            continue;
        int n0 = expand(L, pv, t0, PROBE_CAP);
        if (probe_vals(L, vals, k, item, 2 * P, P, pv) < 0)
            continue;
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

/* A stand-in for an argument of kind k that no tensor depends on. */
static int stand_in(ValKind k, Val *v)
{
    memset(v, 0, sizeof *v);
    switch (k) {
    case VAL_FLOAT: v->kind = VAL_FLOAT; return 1;
    case VAL_INT: v->kind = VAL_INT; v->i = 1; v->f = 1; return 1;
    case VAL_BOOL: v->kind = VAL_BOOL; return 1;
    default: return 0;
    }
}

/* How many tensors layer L makes with stand-ins for its free arguments,
 * or -1 when it cannot tell. */
static int standin_tensors(const Layer *L, const Val *vals)
{
    Val pv[LAYER_MAX_ARGS];
    if (L->nargs > LAYER_MAX_ARGS)
        return -1;
    memcpy(pv, vals, L->nargs * sizeof *pv);
    for (size_t j = 0; j < L->nargs; j++)
        if (pv[j].kind == VAL_FREE && !stand_in(L->args[j].kind, &pv[j]))
            return -1;
    LayerTensor *t = malloc(PROBE_CAP * sizeof *t);
    int n = t ? expand(L, pv, t, PROBE_CAP) : -1;
    free(t);
    return n;
}

/* Whether layer L makes no tensor at all (StochasticDepth, Dropout): then
 * an opaque argument is given its stand-in, for no key or size can depend
 * on it (the final check elaborates the spec with the real value). */
static int tensorless(const Layer *L, const Val *vals) { return standin_tensors(L, vals) == 0; }

/* A tuple argument with free items (kernel_size = (patch_size[0],
 * patch_size[1])): each item solved from the file as an argument is, and
 * the tuple made of the numbers.  0, or -1 stuck or dead. */
static int free_tuple(Elab *e, const Layer *L, Val *vals, size_t k, const char *path, Span sp)
{
    Val *items = arena_array(e->a, vals[k].n + 1, sizeof *items);
    if (!items)
        return halt(e, 0, "out of memory");
    memcpy(items, vals[k].items, vals[k].n * sizeof *items);
    vals[k].items = items;
    for (size_t q = 0; q < vals[k].n; q++) {
        el_free_resolve(e, &items[q]);
        if (items[q].kind != VAL_FREE)
            continue;
        if (opaque(&items[q]) || e->fit->holes[items[q].i].state != HOLE_OPEN)
            return el_free_stuck(e, &items[q], STUCK_VALUE, sp);
        double x;
        char key[256];
        if (!probe_arg(e, L, vals, k, (int)q, path, &x, key, sizeof key))
            return el_free_stuck(e, &items[q], STUCK_VALUE, sp);
        const FitKey *fk = file_key(e->fit, key);
        if (fabs(x - nearbyint(x)) > 1e-9)
            return halt(e, 1, "no %s of %s fits %s", L->args[k].name, L->name, key);
        if (settle(e, &items[q], x, key, fk ? fk->ndim : 0, fk ? fk->shape : NULL) < 0)
            return -1;
        memset(&items[q], 0, sizeof items[q]);
        items[q].kind = VAL_INT;
        items[q].i = (int64_t)nearbyint(x);
        items[q].f = x;
    }
    return el_seq_make(e, items, vals[k].n, &vals[k]);
}

int el_free_layer(Elab *e, const Layer *L, Val *vals, const char *path, Span sp)
{
    for (size_t k = 0; k < L->nargs; k++) {
        if (vals[k].kind != VAL_LIST || L->args[k].kind != VAL_INTS || vals[k].n > 8)
            continue;
        int any = 0;
        for (size_t q = 0; q < vals[k].n; q++)
            any |= vals[k].items[q].kind == VAL_FREE;
        if (any && free_tuple(e, L, vals, k, path, sp) < 0)
            return -1;
    }
    /* the values a size can solve first, then the opaque ones (which may wait for those) */
    for (size_t k = 0; k < L->nargs; k++) {
        if (vals[k].kind != VAL_FREE || opaque(&vals[k]))
            continue;
        Hole *h = &e->fit->holes[vals[k].i];
        if (h->state == HOLE_NUM) {   /* decided earlier in this run */
            double v = free_at(&vals[k], h->num);
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
            if (!plain(&vals[k]) || !probe_bool(e, L, vals, k, path, &b))
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
        if (*path && !has_module(e->fit, path, strlen(path)) && standin_tensors(L, vals) > 0) {
            if (!e->fit->stop)
                e->fit->missing_max = missing_index(e->fit, path);
            return halt(e, 1, "makes %s (%s), which the file does not have", path, L->name);
        }
        if (!probe_arg(e, L, vals, k, -1, path, &x, key, sizeof key))
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
    for (size_t k = 0; k < L->nargs; k++) {
        if (vals[k].kind != VAL_FREE)
            continue;
        if (!tensorless(L, vals))
            return el_free_stuck(e, &vals[k], STUCK_VALUE, sp);
        stand_in(L->args[k].kind, &vals[k]);
    }
    return 0;
}
