/* values.c — the configuration values a spec's bodies compute, as
 * torch's __init__ computes them in Python.
 *
 * A body binds names in a Scope (elab.h): block parameters, then what the
 * body assigns.  Expressions evaluate to Vals: integers (exact: overflow is
 * an error), floats, bools, strings, none, tuples and lists of any values,
 * and the two values __init__ passes around besides numbers, a module
 * made by the caller (VAL_MODULE, made where a body assigns it) and a
 * class (VAL_CLASS, made where a body calls it).  Python's value functions
 * (len, min, max, int, round, math.sqrt, ...) and its comparisons give
 * what Python gives.  Loops and comprehensions run over range(), tuples,
 * lists, enumerate() and zip(), their rows unpacked into as many names as
 * the loop has.
 */
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "elab.h"

/* nn or torch.nn: the namespace of torch's layer classes. */
static int is_nn(const Expr *x)
{
    if (x->kind == EX_NAME) return !strcmp(x->u.s, "nn");
    return x->kind == EX_ATTR && !strcmp(x->u.s, "nn") && x->a->kind == EX_NAME && !strcmp(x->a->u.s, "torch");
}

/* ------------------------------------------------------------- scopes */


const Binding *el_lookup_binding(const Scope *s, const char *name)
{
    for (const Binding *b = s->head; b; b = b->next)
        if (strcmp(b->name, name) == 0)
            return b;
    return NULL;
}

const Val *el_lookup(const Scope *s, const char *name)
{
    const Binding *b = el_lookup_binding(s, name);
    return b ? &b->v : NULL;
}

/* The chain with the newest binding of each name alone, in the same
 * order: every lookup finds what it found, and a loop that binds as it
 * goes (2000 layers appended one by one) no longer makes each lookup walk
 * all it bound.  The old chain stays whole for the snapshots holding it. */
static int compact(Elab *e, Scope *s)
{
    Binding *first = NULL, **tail = &first;
    size_t n = 0;
    for (const Binding *b = s->head; b; b = b->next) {
        int seen = 0;
        for (const Binding *c = first; c && !seen; c = c->next)
            seen = strcmp(c->name, b->name) == 0;
        if (seen)
            continue;
        Binding *nb = ARENA_NEW(e->a, Binding);
        if (!nb)
            return -1;
        *nb = *b;
        nb->next = NULL;
        *tail = nb;
        tail = &nb->next;
        n++;
    }
    s->head = first;
    s->n = s->live = n;
    return 0;
}

int el_bind(Elab *e, Scope *s, const char *name, const Val *v)
{
    Binding *b = ARENA_NEW(e->a, Binding);
    if (!b)
        return -1;
    b->name = name;
    b->v = *v;
    b->next = s->head;
    s->head = b;
    if (++s->n > 2 * s->live + 64)
        return compact(e, s);
    return 0;
}

/* ------------------------------------------------------------- values */

const char *el_val_kind_name(ValKind k)
{
    static const char *const names[] = {"none", "bool", "int", "float", "string", "tuple", "module", "class", "list",
                                        "free value"};
    return (unsigned)k < sizeof names / sizeof *names ? names[k] : "?";
}

int val_truthy(const Val *v)
{
    return v->kind == VAL_BOOL || v->kind == VAL_INT ? v->i != 0 : v->kind == VAL_FLOAT ? v->f != 0 : v->kind != VAL_NONE;
}

int el_err_at(Elab *e, Span sp, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    diag(e->d, DG_ERROR, sp, "%s", msg);
    if (e->fit && !e->fit->stop) {   /* fitting: a free value where one is needed is a stuck run */
        e->fit->stop = 1;
        e->fit->stuck = strstr(msg, "free value") ? e->fit->last_free : -1;
        e->fit->why = STUCK_VALUE;
        snprintf(e->fit->msg, sizeof e->fit->msg, "%.300s", msg);
    }
    return -1;
}


/* The scope as it is now, for a module made later: a body goes on
 * rebinding names (inplanes = c) after it wrote Block(inplanes, c). */
const Scope *el_snapshot(Elab *e, const Scope *s)
{
    Scope *c = ARENA_NEW(e->a, Scope);
    if (c)
        *c = *s;
    return c ? c : s;
}

/* ------------------------------------------------------------ sequences */

/* A tuple or list value: 8 integers or fewer are VAL_INTS (what layers
 * take: kernel_size=(3, 3)); anything else is a VAL_LIST. */
size_t el_seq_len(const Val *v) { return v->kind == VAL_INTS || v->kind == VAL_LIST ? v->n : 0; }
int el_is_seq(const Val *v) { return v->kind == VAL_INTS || v->kind == VAL_LIST; }

Val el_seq_at(const Val *v, size_t i)
{
    if (v->kind == VAL_LIST)
        return v->items[i];
    Val r;
    memset(&r, 0, sizeof r);
    r.kind = VAL_INT;
    r.i = v->ints[i];
    return r;
}

int el_seq_make(Elab *e, const Val *items, size_t n, Val *out)
{
    memset(out, 0, sizeof *out);
    int ints = n <= sizeof out->ints / sizeof *out->ints;
    for (size_t i = 0; ints && i < n; i++)
        ints = items[i].kind == VAL_INT;
    out->n = n;
    if (ints) {
        out->kind = VAL_INTS;
        for (size_t i = 0; i < n; i++)
            out->ints[i] = items[i].i;
        return 0;
    }
    Val *copy = arena_array(e->a, n + 1, sizeof *copy);
    if (!copy)
        return -1;
    if (n)
        memcpy(copy, items, n * sizeof *copy);
    out->kind = VAL_LIST;
    out->items = copy;
    return 0;
}


int el_seq_push(Elab *e, Seq *q, const Val *v)
{
    if (q->n >= MAX_ITEMS || arena_grow(e->a, (void **)&q->v, &q->cap, q->n + 1, sizeof *q->v) < 0)
        return -1;
    q->v[q->n++] = *v;
    return 0;
}

int el_seq_push_all(Elab *e, Seq *q, const Val *list)
{
    for (size_t i = 0; i < el_seq_len(list); i++) {
        Val it = el_seq_at(list, i);
        if (el_seq_push(e, q, &it) < 0)
            return -1;
    }
    return 0;
}

/* The items of a, then b's.  A list array is shared by the values that
 * hold a prefix of it (each sees its own n items), so when a's array is
 * the one grown last and a ends where its items in use end, b's items go
 * in place after them: `layers.append(m)` and `layers += [...]` in a loop
 * then cost their own items, not a copy of the list each, which made a
 * family fitted to a file of 2000 layers spend minutes copying. */
int el_seq_concat(Elab *e, const Val *a, const Val *b, Val *out)
{
    size_t na = el_seq_len(a), nb = el_seq_len(b);
    if (na > MAX_ITEMS || nb > MAX_ITEMS - na)
        return -1;
    if (a->kind == VAL_LIST && a->items == e->grow && na == e->grow_n && nb <= e->grow_cap - na) {
        for (size_t i = 0; i < nb; i++)
            e->grow[na + i] = el_seq_at(b, i);
        e->grow_n = na + nb;
        *out = *a;
        out->n = na + nb;
        return 0;
    }
    size_t n = na + nb;
    int ints = n <= sizeof out->ints / sizeof *out->ints;
    for (size_t i = 0; ints && i < n; i++) {
        Val it = i < na ? el_seq_at(a, i) : el_seq_at(b, i - na);
        ints = it.kind == VAL_INT;
    }
    if (ints) {   /* a small tuple of integers: VAL_INTS, as el_seq_make makes it */
        Seq q = {0};
        if (el_seq_push_all(e, &q, a) < 0 || el_seq_push_all(e, &q, b) < 0)
            return -1;
        return el_seq_make(e, q.v, q.n, out);
    }
    size_t cap = n < 8 ? 16 : 2 * n;
    Val *arr = arena_array(e->a, cap, sizeof *arr);
    if (!arr)
        return -1;
    for (size_t i = 0; i < na; i++)
        arr[i] = el_seq_at(a, i);
    for (size_t i = 0; i < nb; i++)
        arr[na + i] = el_seq_at(b, i);
    e->grow = arr;
    e->grow_n = n;
    e->grow_cap = cap;
    memset(out, 0, sizeof *out);
    out->kind = VAL_LIST;
    out->items = arr;
    out->n = n;
    return 0;
}

static int conf_function(const Expr *fx);
static int conf_call(Elab *e, const Scope *s, const Expr *x, Val *out);

int el_eval_int(Elab *e, const Scope *s, const Expr *x, int64_t *out)
{
    Val v;
    if (el_eval(e, s, x, &v) < 0)
        return -1;
    if (v.kind == VAL_FREE)
        return el_free_stuck(e, &v, STUCK_COUNT, x->span);
    if (v.kind != VAL_INT)
        return el_err_at(e, x->span, "expected an integer, found a %s", el_val_kind_name(v.kind));
    *out = v.i;
    return 0;
}

static int arith(Elab *e, Span sp, int op, const Val *a, const Val *b, Val *out)
{
    memset(out, 0, sizeof *out);
    int fr = el_free_arith(e, sp, op, a, b, out);
    if (fr)
        return fr < 0 ? -1 : 0;
    if (op == '+' && el_is_seq(a) && el_is_seq(b)) {   /* layers + [Block(...)] */
        if (el_seq_concat(e, a, b, out) < 0)
            return el_err_at(e, sp, "a list holds at most %d items", MAX_ITEMS);
        return 0;
    }
    if (a->kind == VAL_INT && b->kind == VAL_INT && op != '/' && !(op == 'p' && b->i < 0)) {
        int64_t x = a->i, y = b->i, r = 0;
        int ovf = 0;
        out->kind = VAL_INT;
        switch (op) {
        case '+': ovf = __builtin_add_overflow(x, y, &r); break;
        case '-': ovf = __builtin_sub_overflow(x, y, &r); break;
        case '*': ovf = __builtin_mul_overflow(x, y, &r); break;
        case '%':
        case '\\': /* // (floor division) */
            if (y == 0)
                return el_err_at(e, sp, "division by zero");
            if (x == INT64_MIN && y == -1)
                return el_err_at(e, sp, "integer overflow");
            r = op == '%' ? x % y : x / y;
            if ((x % y != 0) && ((x < 0) != (y < 0)))   /* floor, as Python */
                r = op == '%' ? r + y : r - 1;
            break;
        case 'p': /* ** (a negative exponent gives a float, below) */
            r = 1;
            for (int64_t k = 0; k < y && !ovf; k++)
                ovf = __builtin_mul_overflow(r, x, &r);
            break;
        default: return el_err_at(e, sp, "operator not defined on integers");
        }
        if (ovf)
            return el_err_at(e, sp, "integer overflow");
        out->i = r;
        return 0;
    }
    if ((a->kind == VAL_INT || a->kind == VAL_FLOAT) && (b->kind == VAL_INT || b->kind == VAL_FLOAT)) {
        double x = a->kind == VAL_INT ? (double)a->i : a->f, y = b->kind == VAL_INT ? (double)b->i : b->f;
        out->kind = VAL_FLOAT;
        switch (op) {
        case '+': out->f = x + y; return 0;
        case '-': out->f = x - y; return 0;
        case '*': out->f = x * y; return 0;
        case '/':
            if (y == 0)
                return el_err_at(e, sp, "division by zero");
            out->f = x / y;
            return 0;
        case '\\':   /* //, % on floats: Python's floor and its remainder's sign */
        case '%':
            if (y == 0)
                return el_err_at(e, sp, "division by zero");
            out->f = op == '%' ? x - floor(x / y) * y : floor(x / y);
            return 0;
        case 'p':
            if (x == 0 && y < 0)
                return el_err_at(e, sp, "0.0 cannot be raised to a negative power");
            if (x < 0 && y != floor(y))
                return el_err_at(e, sp, "a negative number raised to a fractional power is complex");
            out->f = pow(x, y);
            return 0;
        default: return el_err_at(e, sp, "operator not defined on floats");
        }
    }
    return el_err_at(e, sp, "cannot apply an arithmetic operator to a %s and a %s", el_val_kind_name(a->kind),
                  el_val_kind_name(b->kind));
}

static int compare(Elab *e, Span sp, const char *op, const Val *a, const Val *b, Val *out)
{
    int c;
    if (a->kind == VAL_FREE || b->kind == VAL_FREE) {   /* fitting: assumed, and checked when it is decided */
        static const char *const ops[] = {"==", "!=", "<", ">", "<=", ">="};
        int k = 0;
        while (k < 6 && strcmp(op, ops[k]))
            k++;
        return el_free_compare(e, sp, k < 6 ? k : -1, a, b, out);
    }
    if ((a->kind == VAL_INT || a->kind == VAL_BOOL || a->kind == VAL_FLOAT) &&
        (b->kind == VAL_INT || b->kind == VAL_BOOL || b->kind == VAL_FLOAT)) {
        double x = a->kind == VAL_FLOAT ? a->f : (double)a->i, y = b->kind == VAL_FLOAT ? b->f : (double)b->i;
        if (a->kind != VAL_FLOAT && b->kind != VAL_FLOAT)
            c = a->i < b->i ? -1 : a->i > b->i;
        else
            c = x < y ? -1 : x > y;
    } else if (a->kind == VAL_STR && b->kind == VAL_STR) {
        c = strcmp(a->s, b->s);
    } else if (!strcmp(op, "==") || !strcmp(op, "!=")) {   /* as Python: 64 == "M" is false */
        c = a->kind != b->kind || !la_val_eq(a, b);
    } else if (a->kind == VAL_NONE || b->kind == VAL_NONE) {
        return el_err_at(e, sp, "cannot order none");
    } else {
        return el_err_at(e, sp, "cannot compare a %s with a %s", el_val_kind_name(a->kind), el_val_kind_name(b->kind));
    }
    memset(out, 0, sizeof *out);
    out->kind = VAL_BOOL;
    out->i = !strcmp(op, "==") ? c == 0 : !strcmp(op, "!=") ? c != 0 : !strcmp(op, "<") ? c < 0
           : !strcmp(op, ">") ? c > 0 : !strcmp(op, "<=") ? c <= 0 : c >= 0;
    return 0;
}

/* t[lo:hi:step] of a configuration tuple or list, as Python slices it
 * (negative bounds count from the end, out-of-range bounds clamp, a
 * negative step walks backwards). */
static int seq_slice(Elab *e, const Scope *s, const Val *t, const Expr *sl, Val *out)
{
    const Expr *parts[3] = {sl->a, sl->b, sl->c};
    int64_t v[3] = {0, 0, 1}, L = (int64_t)t->n;
    int has[3] = {0, 0, 0};
    for (int p = 0; p < 3; p++) {
        if (!parts[p] || parts[p]->kind == EX_NONE) continue;
        if (el_eval_int(e, s, parts[p], &v[p]) < 0)
            return -1;
        has[p] = 1;
    }
    int64_t st = v[2];
    if (st == 0)
        return el_err_at(e, sl->span, "a slice step cannot be zero");
    int64_t lo, hi;
    if (st > 0) {
        lo = has[0] ? (v[0] < 0 ? v[0] + L : v[0]) : 0;
        hi = has[1] ? (v[1] < 0 ? v[1] + L : v[1]) : L;
        lo = lo < 0 ? 0 : lo > L ? L : lo;
        hi = hi < 0 ? 0 : hi > L ? L : hi;
    } else {
        lo = has[0] ? (v[0] < 0 ? v[0] + L : v[0]) : L - 1;
        hi = has[1] ? (v[1] < 0 ? v[1] + L : v[1]) : -1;
        lo = lo < -1 ? -1 : lo > L - 1 ? L - 1 : lo;
        hi = hi < -1 ? -1 : hi > L - 1 ? L - 1 : hi;
    }
    Seq q = {0};
    for (int64_t i = lo; st > 0 ? i < hi : i > hi; i += st) {
        Val item = el_seq_at(t, (size_t)i);
        if (el_seq_push(e, &q, &item) < 0)
            return -1;
    }
    return el_seq_make(e, q.v, q.n, out);
}

/* A class attribute, Python's Bottleneck.expansion: a constant the
 * block's body assigns before anything else, which reads none of its
 * parameters (it is evaluated with none bound). */
static int class_attr(Elab *e, const Val *c, const Expr *x, Val *out)
{
    const Decl *B = c->kind == VAL_CLASS ? el_find_decl(e, c->s, DECL_BLOCK) : NULL;
    if (c->kind == VAL_FREE)
        return el_free_stuck(e, c, STUCK_VALUE, x->span);
    for (size_t i = 0; B && i < B->nbody; i++) {
        const Stmt *st = B->body[i];
        if (st->kind != ST_ASSIGN || st->owner || st->nnames > 1)
            break;
        if (!strcmp(st->name, x->u.s)) {
            static const Scope none;
            return el_eval(e, &none, st->value, out);
        }
    }
    if (B)
        return el_err_at(e, x->span, "%s has no class attribute '%s' (a constant its body assigns first)", B->name,
                         x->u.s);
    return el_err_at(e, x->span, "not a configuration value");
}

static int eval_expr(Elab *e, const Scope *s, const Expr *x, Val *out);

int el_eval(Elab *e, const Scope *s, const Expr *x, Val *out)
{
    int r = eval_expr(e, s, x, out);
    if (r == 0 && out->kind == VAL_FREE)   /* fitting: a value this run has decided since it was computed */
        el_free_resolve(e, out);
    return r;
}

static int eval_expr(Elab *e, const Scope *s, const Expr *x, Val *out)
{
    memset(out, 0, sizeof *out);
    switch (x->kind) {
    case EX_INT: out->kind = VAL_INT; out->i = x->u.i; return 0;
    case EX_FLOAT: out->kind = VAL_FLOAT; out->f = x->u.f; return 0;
    case EX_BOOL: out->kind = VAL_BOOL; out->i = x->u.i; return 0;
    case EX_STR: out->kind = VAL_STR; out->s = x->u.s; return 0;
    case EX_NONE: out->kind = VAL_NONE; return 0;
    case EX_FREE: return el_free_value(e, s, x, out);
    case EX_NAME: {
        const Val *v = el_lookup(s, x->u.s);
        if (!v && (el_find_decl(e, x->u.s, DECL_BLOCK) || cat_find(x->u.s))) {   /* norm_layer = BatchNorm2d */
            out->kind = VAL_CLASS;
            out->s = x->u.s;
            return 0;
        }
        if (!v)
            return el_err_at(e, x->span, "unknown name '%s'", x->u.s);
        *out = *v;
        return 0;
    }
    case EX_ATTR:   /* nn.BatchNorm2d as a value; self.inplanes as the body set it */
        if (x->a->kind == EX_NAME && !strcmp(x->a->u.s, "self") && el_lookup(s, x->u.s)) {
            *out = *el_lookup(s, x->u.s);
            return 0;
        }
        if (is_nn(x->a) && cat_find(x->u.s)) {
            out->kind = VAL_CLASS;
            out->s = x->u.s;
            return 0;
        }
        if (x->a->kind != EX_NAME || strcmp(x->a->u.s, "self")) {   /* block.expansion: a class attribute */
            Val c;
            if (el_eval(e, s, x->a, &c) < 0)
                return -1;
            return class_attr(e, &c, x, out);
        }
        return el_err_at(e, x->span, "not a configuration value");
    case EX_UNARY: {
        Val a;
        if (el_eval(e, s, x->a, &a) < 0)
            return -1;
        const char *op = ast_op_name(x->op);
        if (strcmp(op, "'!'") == 0 || strcmp(op, "'not'") == 0 || x->op == '!') {
            out->kind = VAL_BOOL;
            out->i = !el_truth(e, &a);
            return 0;
        }
        if (a.kind == VAL_FREE && (x->op == '-' || x->op == '+'))
            return arith(e, x->span, '*', &a, &(Val){.kind = VAL_INT, .i = x->op == '-' ? -1 : 1}, out);
        if (x->op == '+' && (a.kind == VAL_INT || a.kind == VAL_FLOAT)) {
            *out = a;
            return 0;
        }
        if (x->op == '-' && a.kind == VAL_INT) {
            if (a.i == INT64_MIN)
                return el_err_at(e, x->span, "integer overflow");
            out->kind = VAL_INT;
            out->i = -a.i;
            return 0;
        }
        if (x->op == '-' && a.kind == VAL_FLOAT) {
            out->kind = VAL_FLOAT;
            out->f = -a.f;
            return 0;
        }
        return el_err_at(e, x->span, "operator %s cannot apply to a %s", op, el_val_kind_name(a.kind));
    }
    case EX_BINARY: {
        const char *op = ast_op_name(x->op);
        Val a, b;
        if (!strcmp(op, "'&&'") || !strcmp(op, "'and'") || !strcmp(op, "'||'") || !strcmp(op, "'or'")) {
            int is_and = !strcmp(op, "'&&'") || !strcmp(op, "'and'");
            if (el_eval(e, s, x->a, &a) < 0)
                return -1;
            if (el_truth(e, &a) != is_and) {   /* short-circuit */
                out->kind = VAL_BOOL;
                out->i = !is_and;
                return 0;
            }
            if (el_eval(e, s, x->b, &b) < 0)
                return -1;
            out->kind = VAL_BOOL;
            out->i = el_truth(e, &b);
            return 0;
        }
        if (el_eval(e, s, x->a, &a) < 0 || el_eval(e, s, x->b, &b) < 0)
            return -1;
        if (!strcmp(op, "'is'") || !strcmp(op, "'is not'")) {   /* downsample is none */
            if (a.kind == VAL_FREE || b.kind == VAL_FREE) {   /* fitting: a value known to be there is not None */
                const Val *fv = a.kind == VAL_FREE ? &a : &b, *ov = a.kind == VAL_FREE ? &b : &a;
                if (ov->kind != VAL_NONE)
                    return el_free_stuck(e, fv, STUCK_TRUTH, x->span);
                if (!el_truth(e, fv))
                    return -1;   /* stuck: is it there? */
                out->kind = VAL_BOOL;
                out->i = strcmp(op, "'is'") != 0;
                return 0;
            }
            int same = a.kind == b.kind && (a.kind == VAL_NONE || la_val_eq(&a, &b));
            out->kind = VAL_BOOL;
            out->i = same == !strcmp(op, "'is'");
            return 0;
        }
        static const char *const cmps[] = {"'=='", "'!='", "'<'", "'>'", "'<='", "'>='"};
        for (size_t i = 0; i < sizeof cmps / sizeof *cmps; i++)
            if (!strcmp(op, cmps[i])) {
                char bare[4] = {0};
                memcpy(bare, op + 1, strlen(op) - 2);
                return compare(e, x->span, bare, &a, &b, out);
            }
        int code = x->op < 128 ? x->op : !strcmp(op, "'//'") ? '\\' : !strcmp(op, "'**'") ? 'p' : 0;
        if (!code)
            return el_err_at(e, x->span, "operator %s is not defined on configuration values", op);
        return arith(e, x->span, code, &a, &b, out);
    }
    case EX_COND: {
        Val c;
        if (el_eval(e, s, x->a, &c) < 0)
            return -1;
        return el_eval(e, s, el_truth(e, &c) ? x->b : x->c, out);
    }
    case EX_TUPLE:
    case EX_LIST: {   /* items that are modules stay unmade: a body makes them where it assigns them */
        Seq q = {0};
        for (size_t i = 0; i < x->nargs; i++) {
            const Expr *it = x->args[i].value;
            Val v;
            memset(&v, 0, sizeof v);
            if (it->kind == EX_STAR) {
                if (el_eval(e, s, it->a, &v) < 0)
                    return -1;
                if (!el_is_seq(&v))
                    return el_err_at(e, it->span, "'*' splices a tuple or list, not a %s", el_val_kind_name(v.kind));
                if (el_seq_push_all(e, &q, &v) < 0)
                    return el_err_at(e, x->span, "out of memory");
                continue;
            }
            if (el_is_module_expr(e, it)) {
                v.kind = VAL_MODULE;
                v.x = it;
                v.scope = el_snapshot(e, s);
            } else if (el_eval(e, s, it, &v) < 0) {
                return -1;
            }
            if (el_seq_push(e, &q, &v) < 0)
                return el_err_at(e, x->span, "a list holds at most %d items", MAX_ITEMS);
        }
        return el_seq_make(e, q.v, q.n, out);
    }
    case EX_INDEX: {
        Val t;
        int64_t i;
        if (el_eval(e, s, x->a, &t) < 0)
            return -1;
        if (t.kind == VAL_FREE && x->nargs == 1 && x->args[0].value->kind != EX_SLICE) {   /* layers[0] of layers = ? */
            if (el_eval_int(e, s, x->args[0].value, &i) < 0)
                return -1;
            return el_free_item(e, &t, i, out);
        }
        if (el_is_seq(&t) && x->nargs == 1 && x->args[0].value->kind == EX_SLICE && !x->args[0].value->u.i)
            return seq_slice(e, s, &t, x->args[0].value, out);   /* hidden_channels[:-1] */
        if (!el_is_seq(&t) || x->nargs != 1 || x->args[0].value->kind == EX_SLICE)
            return el_err_at(e, x->span, "only a tuple or list can be indexed here, with an integer or a slice");
        if (el_eval_int(e, s, x->args[0].value, &i) < 0)
            return -1;
        if (i < -(int64_t)t.n || i >= (int64_t)t.n)
            return el_err_at(e, x->args[0].value->span, "index %lld is out of range for a tuple of %zu",
                          (long long)i, t.n);
        *out = el_seq_at(&t, (size_t)(i < 0 ? i + (int64_t)t.n : i));
        return 0;
    }
    case EX_COMP: {
        Val *rows;
        size_t n, width;
        if (el_comp_rows(e, s, x, &rows, &n, &width) < 0)
            return -1;
        Seq q = {0};
        for (size_t r = 0; r < n; r++) {
            const Scope *inner = el_comp_scope(e, s, x, &rows[r * width], width);   /* a module item made later sees it */
            if (!inner)
                return -1;
            Val v;
            memset(&v, 0, sizeof v);
            if (el_is_module_expr(e, x->a)) {
                v.kind = VAL_MODULE;
                v.x = x->a;
                v.scope = inner;
            } else if (el_eval(e, inner, x->a, &v) < 0) {
                return -1;
            }
            if (el_seq_push(e, &q, &v) < 0)
                return el_err_at(e, x->span, "a list holds at most %d items", MAX_ITEMS);
        }
        return el_seq_make(e, q.v, q.n, out);
    }
    case EX_CALL:
        if (x->a->kind == EX_FREE)   /* ?(a, b): one of them */
            return el_free_value(e, s, x, out);
        if (x->a->kind == EX_NAME && !strcmp(x->a->u.s, "guess"))
            return el_free_guess(e, s, x, out);
        if (conf_function(x->a))
            return conf_call(e, s, x, out);
        if (x->a->kind == EX_NAME && !strcmp(x->a->u.s, "partial")) {   /* partial(nn.BatchNorm2d, eps=0.001) */
            if (x->nargs < 1 || x->args[0].name || el_eval(e, s, x->args[0].value, out) < 0 || out->kind != VAL_CLASS)
                return x->nargs && out->kind != VAL_CLASS ? el_err_at(e, x->span, "partial() takes a class first, "
                                                                  "then keyword arguments") : -1;
            for (size_t i = 1; i < x->nargs; i++)
                if (!x->args[i].name)
                    return el_err_at(e, x->args[i].value->span, "partial() here binds keyword arguments only");
            out->x = x;
            out->scope = el_snapshot(e, s);
            return 0;
        }
        /* Sequential(...) given to a block: made where the block assigns it */
        out->kind = VAL_MODULE;
        out->x = x;
        out->scope = el_snapshot(e, s);
        return 0;
    default: return el_err_at(e, x->span, "not a configuration value");
    }
}

/* ------------------------------------------------- value functions */

/* The functions a body computes configuration values with, as __init__
 * does: Python's builtins and math's. */
static const char *const conf_fns[] = {"len", "min", "max", "sum", "int", "float", "round", "abs", "bool", NULL};
static const char *const math_fns[] = {"sqrt", "ceil", "floor", "log", "log2", "exp", "pow", NULL};

static int in_names(const char *const *l, const char *n)
{
    for (; *l; l++)
        if (!strcmp(*l, n))
            return 1;
    return 0;
}

/* The class a module call names: Conv2d(...), or nn.Conv2d(...) and
 * torch.nn.Conv2d(...) as torch code spells it; NULL for another callee. */
const char *el_class_name(const Expr *call)
{
    const Expr *fx = call->a;
    if (fx->kind == EX_NAME)
        return fx->u.s;
    return fx->kind == EX_ATTR && is_nn(fx->a) ? fx->u.s : NULL;
}

/* Is fx (a call's callee) one of them: min, math.sqrt? */
static int conf_function(const Expr *fx)
{
    if (fx->kind == EX_NAME)
        return in_names(conf_fns, fx->u.s);
    return fx->kind == EX_ATTR && fx->a->kind == EX_NAME && !strcmp(fx->a->u.s, "math") && in_names(math_fns, fx->u.s);
}

static double num_of(const Val *v) { return v->kind == VAL_FLOAT ? v->f : (double)v->i; }

/* sum(t), sum(t, start), min(t), max(t) over a tuple or list of numbers,
 * as Python computes them (integers exact: overflow is an error). */
static int seq_fold(Elab *e, const Expr *x, const char *fn, const Val *a, size_t nargs, Val *out)
{
    if (!el_is_seq(&a[0]) || nargs > (fn[1] == 'u' ? 2u : 1u))
        return el_err_at(e, x->span, "%s() takes a tuple or list%s", fn, fn[1] == 'u' ? " (and a start)" : "");
    size_t n = el_seq_len(&a[0]);
    if (fn[1] != 'u' && n == 0)
        return el_err_at(e, x->span, "%s() of an empty sequence", fn);
    Val acc;
    memset(&acc, 0, sizeof acc);
    acc.kind = VAL_INT;
    if (nargs == 2) acc = a[1];
    for (size_t i = 0; i < n; i++) {
        Val v = el_seq_at(&a[0], i);
        el_free_resolve(e, &v);
        if (fn[1] == 'u' && (v.kind == VAL_FREE || acc.kind == VAL_FREE)) {   /* fitting: sum(depths) */
            Val r;
            if (arith(e, x->span, '+', &acc, &v, &r) < 0)
                return -1;
            acc = r;
            continue;
        }
        if ((v.kind != VAL_INT && v.kind != VAL_FLOAT && v.kind != VAL_BOOL) ||
            (acc.kind != VAL_INT && acc.kind != VAL_FLOAT && acc.kind != VAL_BOOL))
            return el_err_at(e, x->span, "%s() takes numbers", fn);
        if (fn[1] != 'u') {
            double p = v.kind == VAL_FLOAT ? v.f : (double)v.i, q = acc.kind == VAL_FLOAT ? acc.f : (double)acc.i;
            if (i == 0 || (fn[1] == 'i' ? p < q : p > q)) acc = v;
        } else if (v.kind == VAL_FLOAT || acc.kind == VAL_FLOAT) {
            double sum = (acc.kind == VAL_FLOAT ? acc.f : (double)acc.i) + (v.kind == VAL_FLOAT ? v.f : (double)v.i);
            acc.kind = VAL_FLOAT;
            acc.f = sum;
        } else if (__builtin_add_overflow(acc.i, v.i, &acc.i)) {
            return el_err_at(e, x->span, "integer overflow");
        } else {
            acc.kind = VAL_INT;
        }
    }
    *out = acc;
    return 0;
}

/* Python's round(): half to even; an int for one argument. */
static int conf_call(Elab *e, const Scope *s, const Expr *x, Val *out)
{
    const char *fn = x->a->u.s;
    Val a[8];
    if (x->nargs > 8 || x->nargs == 0)
        return el_err_at(e, x->span, "%s() takes 1 to 8 arguments", fn);
    for (size_t i = 0; i < x->nargs; i++) {
        if (x->args[i].name)
            return el_err_at(e, x->args[i].name_span, "%s() takes no keywords here", fn);
        if (el_eval(e, s, x->args[i].value, &a[i]) < 0)
            return -1;
    }
    memset(out, 0, sizeof *out);
    for (size_t i = 0; i < x->nargs; i++)
        if (a[i].kind == VAL_FREE) {
            /* len(), and sum(), min(), max() of one free list (sum(depths)), need its length */
            int whole = !strcmp(fn, "len") || (x->nargs == 1 && (!strcmp(fn, "sum") || !strcmp(fn, "min") ||
                                                                 !strcmp(fn, "max")));
            if (x->nargs == 1 && !whole)
                return el_free_round(e, fn, &a[0], out);
            return el_free_stuck(e, &a[i], whole ? STUCK_LEN : STUCK_VALUE, x->span);
        }
    if (!strcmp(fn, "len")) {
        if (x->nargs != 1 || (!el_is_seq(&a[0]) && a[0].kind != VAL_STR))
            return el_err_at(e, x->span, "len() takes one tuple, list or string");
        out->kind = VAL_INT;
        out->i = el_is_seq(&a[0]) ? (int64_t)a[0].n : (int64_t)strlen(a[0].s);
        return 0;
    }
    if (!strcmp(fn, "sum") || ((!strcmp(fn, "min") || !strcmp(fn, "max")) && x->nargs == 1 && el_is_seq(&a[0])))
        return seq_fold(e, x, fn, a, x->nargs, out);
    for (size_t i = 0; i < x->nargs; i++)
        if (a[i].kind != VAL_INT && a[i].kind != VAL_FLOAT && a[i].kind != VAL_BOOL)
            return el_err_at(e, x->args[i].value->span, "%s() takes numbers, not a %s", fn, el_val_kind_name(a[i].kind));
    int all_int = 1;
    for (size_t i = 0; i < x->nargs; i++)
        all_int &= a[i].kind != VAL_FLOAT;
    double v = num_of(&a[0]);
    if (!strcmp(fn, "min") || !strcmp(fn, "max")) {
        size_t best = 0;
        for (size_t i = 1; i < x->nargs; i++)
            if (fn[1] == 'i' ? num_of(&a[i]) < num_of(&a[best]) : num_of(&a[i]) > num_of(&a[best]))
                best = i;
        *out = a[best];
        return 0;
    }
    if (!strcmp(fn, "bool")) {
        out->kind = VAL_BOOL;
        out->i = v != 0;
        return 0;
    }
    int to_int = !strcmp(fn, "int") || ((!strcmp(fn, "round") && x->nargs == 1)) ||
                 (x->a->kind == EX_ATTR && (!strcmp(fn, "ceil") || !strcmp(fn, "floor")));
    double r;
    if (!strcmp(fn, "int")) r = trunc(v);
    else if (!strcmp(fn, "float")) r = v;
    else if (!strcmp(fn, "abs")) r = fabs(v);
    else if (!strcmp(fn, "round")) {
        double scale = x->nargs > 1 ? pow(10.0, num_of(&a[1])) : 1.0;
        r = nearbyint(v * scale) / scale;   /* the default rounding mode: half to even */
    } else if (!strcmp(fn, "sqrt")) r = sqrt(v);
    else if (!strcmp(fn, "ceil")) r = ceil(v);
    else if (!strcmp(fn, "floor")) r = floor(v);
    else if (!strcmp(fn, "log")) r = x->nargs > 1 ? log(v) / log(num_of(&a[1])) : log(v);
    else if (!strcmp(fn, "log2")) r = log2(v);
    else if (!strcmp(fn, "exp")) r = exp(v);
    else r = x->nargs > 1 ? pow(v, num_of(&a[1])) : v;   /* math.pow */
    if (!strcmp(fn, "abs") && all_int) {
        if (a[0].i == INT64_MIN)
            return el_err_at(e, x->span, "integer overflow");
        out->kind = VAL_INT;
        out->i = a[0].i < 0 ? -a[0].i : a[0].i;
        return 0;
    }
    if (!isfinite(r) && to_int)
        return el_err_at(e, x->span, "%s() of %g", fn, v);
    if (to_int) {
        if (!(r >= -9.2e18 && r <= 9.2e18))
            return el_err_at(e, x->span, "%s(): %g does not fit in an integer", fn, r);
        out->kind = VAL_INT;
        out->i = (int64_t)r;
    } else {
        out->kind = VAL_FLOAT;
        out->f = r;
    }
    return 0;
}

/* ------------------------------------------------------------ loops */

/* One row of a loop: the values its targets take. */
static int row_add(Elab *e, Val **rows, size_t *n, size_t *cap, size_t width, const Val *v)
{
    if (*n >= MAX_ITEMS)
        return -1;
    if (arena_grow(e->a, (void **)rows, cap, (*n + 1) * width, sizeof **rows) < 0)
        return -1;
    memcpy(*rows + *n * width, v, width * sizeof *v);
    (*n)++;
    return 0;
}

static Val int_val(int64_t i)
{
    Val v;
    memset(&v, 0, sizeof v);
    v.kind = VAL_INT;
    v.i = i;
    return v;
}

/* A tuple's items as values (a string is not iterated: no spec needs it). */
static int tuple_of(Elab *e, const Scope *s, const Expr *x, Val *t)
{
    if (el_eval(e, s, x, t) < 0)
        return -1;
    if (t->kind == VAL_FREE)   /* for row in rows, rows = ?: how many */
        return el_free_stuck(e, t, STUCK_LEN, x->span);
    if (!el_is_seq(t))
        return el_err_at(e, x->span, "cannot iterate over %s %s", t->kind == VAL_INT ? "an" : "a", el_val_kind_name(t->kind));
    return 0;
}

/* range(stop), range(start, stop[, step]), a tuple, enumerate(t), zip(a, b):
 * the rows a comprehension or a for loop runs, width values each. */
int el_iter_rows(Elab *e, const Scope *s, const Expr *x, Val **rows, size_t *n, size_t *width)
{
    size_t cap = 0;
    *rows = NULL;
    *n = 0;
    *width = 1;
    const char *fn = x->kind == EX_CALL && x->a->kind == EX_NAME ? x->a->u.s : "";
    for (size_t i = 0; *fn && i < x->nargs; i++)
        if (x->args[i].name || x->args[i].value->kind == EX_STAR)
            return el_err_at(e, x->args[i].value->span, "%s() takes positional arguments only", fn);
    if (!strcmp(fn, "range")) {
        int64_t a[3] = {0, 0, 1};
        if (x->nargs < 1 || x->nargs > 3)
            return el_err_at(e, x->span, "range() takes 1 to 3 integers");
        for (size_t i = 0; i < x->nargs; i++)
            if (el_eval_int(e, s, x->args[i].value, &a[x->nargs == 1 ? 1 : i]) < 0)
                return -1;
        if (a[2] == 0)
            return el_err_at(e, x->args[2].value->span, "range() step must not be zero");
        for (int64_t v = a[0]; a[2] > 0 ? v < a[1] : v > a[1]; v += a[2]) {
            Val iv = int_val(v);
            if (row_add(e, rows, n, &cap, 1, &iv) < 0)
                return el_err_at(e, x->span, "a loop runs at most %d times", MAX_ITEMS);
            if ((a[2] > 0 && v > INT64_MAX - a[2]) || (a[2] < 0 && v < INT64_MIN - a[2]))
                break;
        }
        return 0;
    }
    if (!strcmp(fn, "enumerate") || !strcmp(fn, "zip")) {
        Val t[2];
        if (x->nargs != (fn[0] == 'z' ? 2u : 1u))
            return el_err_at(e, x->span, "%s() takes %s", fn, fn[0] == 'z' ? "two tuples" : "one tuple");
        for (size_t i = 0; i < x->nargs; i++)
            if (tuple_of(e, s, x->args[i].value, &t[i]) < 0)
                return -1;
        size_t len = fn[0] == 'z' && t[1].n < t[0].n ? t[1].n : t[0].n;   /* zip stops at the shorter */
        *width = 2;
        for (size_t i = 0; i < len; i++) {
            Val pair[2] = {fn[0] == 'z' ? el_seq_at(&t[0], i) : int_val((int64_t)i),
                           fn[0] == 'z' ? el_seq_at(&t[1], i) : el_seq_at(&t[0], i)};
            if (row_add(e, rows, n, &cap, 2, pair) < 0)
                return -1;
        }
        return 0;
    }
    Val t;
    if (tuple_of(e, s, x, &t) < 0)
        return -1;
    for (size_t i = 0; i < t.n; i++) {
        Val iv = el_seq_at(&t, i);
        if (row_add(e, rows, n, &cap, 1, &iv) < 0)
            return -1;
    }
    return 0;
}

/* The loop's targets against its rows: `for i, x in enumerate(t)`; rows
 * that are tuples unpack into as many names (`for t, c, n, s in setting`). */
int el_targets_fit(Elab *e, const Arg *targets, size_t nt, const Expr *iter, Val **rows, size_t n,
                       size_t *width)
{
    if (nt == *width)
        return 0;
    if (*width == 1 && nt > 1) {
        Val *flat = arena_array(e->a, n * nt + 1, sizeof *flat);
        if (!flat)
            return -1;
        for (size_t r = 0; r < n; r++) {
            const Val *row = &(*rows)[r];
            if (row->kind == VAL_FREE) {   /* a row of a free list: nt free values */
                if (el_free_unpack(e, row, nt, &flat[r * nt]) < 0)
                    return -1;
                continue;
            }
            if (el_seq_len(row) != nt) {
                el_err_at(e, targets[0].name_span, "cannot unpack %s %s into %zu names",
                       row->kind == VAL_INT ? "an" : "a", el_is_seq(row) ? "tuple of another length"
                                                                     : el_val_kind_name(row->kind), nt);
                if (!el_is_seq(row))
                    diag(e->d, DG_HELP, iter->span, "write one name, or enumerate(...) for the index too");
                return -1;
            }
            for (size_t k = 0; k < nt; k++)
                flat[r * nt + k] = el_seq_at(row, k);
        }
        *rows = flat;
        *width = nt;
        return 0;
    }
    size_t w = *width;
    el_err_at(e, targets[0].name_span, "this loop gives %zu value%s per step, not %zu", w, w == 1 ? "" : "s", nt);
    return diag(e->d, DG_HELP, iter->span, w == 2 ? "write two names: for i, x in ..."
                                                      : "write one name, or enumerate(...) for the index too"), -1;
}

/* A comprehension's rows, its targets fitted to them. */
int el_comp_rows(Elab *e, const Scope *s, const Expr *comp, Val **rows, size_t *n, size_t *width)
{
    return el_iter_rows(e, s, comp->b, rows, n, width) < 0 ||
                   el_targets_fit(e, comp->args, comp->nargs, comp->b, rows, *n, width) < 0 ? -1 : 0;
}

/* The scope of one row of a comprehension: s, its targets bound to the row
 * (arena-owned and kept: what is made from the row later sees it). */
const Scope *el_comp_scope(Elab *e, const Scope *s, const Expr *comp, const Val *row, size_t width)
{
    Scope *inner = ARENA_NEW(e->a, Scope);
    if (!inner)
        return NULL;
    *inner = *s;
    for (size_t k = 0; k < width; k++)
        if (el_bind(e, inner, comp->args[k].name, &row[k]) < 0)
            return NULL;
    return inner;
}

int elab_iter(Elab *e, size_t inst, const Expr *x, Val **rows, size_t *n, size_t *width)
{
    static const Scope empty;
    const Scope *s = inst < e->ninsts && e->insts[inst].scope ? e->insts[inst].scope : &empty;
    return el_iter_rows(e, s, x, rows, n, width);
}


/* A module expression: a layer or block call, Sequential, a list (also
 * a comprehension, a concatenation, one named by a pattern). */
int el_is_module_expr(const Elab *e, const Expr *x)
{
    if (!x)
        return 0;
    if (x->kind == EX_CALL && el_class_name(x))   /* a layer, a block, a container; or min(...), partial(...) */
        return !conf_function(x->a) && strcmp(el_class_name(x), "partial") != 0;
    switch (x->kind) {
    case EX_LIST: return x->nargs > 0 && el_is_module_expr(e, x->args[0].value);
    case EX_BINARY: return (x->op == '*' && el_is_module_expr(e, x->a)) ||
                           (x->op == '+' && (el_is_module_expr(e, x->a) || el_is_module_expr(e, x->b)));
    case EX_COND: return el_is_module_expr(e, x->b) || el_is_module_expr(e, x->c);
    case EX_COMP:
    case EX_STAR: return el_is_module_expr(e, x->a);
    case EX_NAMED: return 1;
    default: return 0;
    }
}
