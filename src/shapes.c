/* shapes.c — forward type-checking: shapes flow from the model's inputs.
 *
 * After elaboration every module of the spec is an Instance with its
 * arguments bound; this pass runs the model's forward symbolically, the
 * way torch would run it on a meta tensor.  A value is a tensor type
 * (dtype and dims: each an exact size, a symbol from an input type such
 * as N or H, or '?' where a size cannot be computed — unknowns propagate
 * without errors), a tuple, a configuration value (int, float, bool,
 * string), a size that is not a constant, or a module.  Calls of child
 * modules compute the output type from the layer's bound arguments
 * (catalog.c's torch semantics) and check the input's feature/channel
 * dimension; calls of blocks run the block's forward in its own instance
 * (its parameters and constants through elab_value, shadowed by names the
 * forward assigns); lists and Sequential apply their items in order.
 * Built-in functions (relu, reshape, cat, matmul, sdpa, ...) follow torch
 * (shapefn.c), and so do the built-in layers (shapelayer.c).
 * Conditionals on configuration values are decided here, so the branch
 * not taken is not checked.  Errors go to e->d at the offending
 * expression, with a note at each block call leading there; an error
 * repeated by several instances of one block is reported once.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arch.tab.h"
#include "shapes.h"

/* ---------------------------------------------------------- diagnostics */

static const char *fmt_dim(Dim d, char *buf, size_t cap)
{
    if (known(d)) snprintf(buf, cap, "%lld", (long long)d.n);
    else snprintf(buf, cap, "%s", d.sym ? d.sym : "?");
    return buf;
}

static const char *fmt_type(const SV *v, char *buf, size_t cap)
{
    char one[32];
    size_t k = 0;
    switch (v->kind) {
    case V_TENSOR:
        if (v->rank < 0) return snprintf(buf, cap, "[...]"), buf;
        k += (size_t)snprintf(buf, cap, "[");
        for (int i = 0; i < v->rank && k < cap; i++)
            k += (size_t)snprintf(buf + k, cap - k, "%s%s", i ? ", " : "", fmt_dim(v->d[i], one, sizeof one));
        if (k < cap) snprintf(buf + k, cap - k, "]");
        return buf;
    case V_TUPLE: snprintf(buf, cap, "a tuple of %zu", v->n); return buf;
    case V_CONF:
        snprintf(buf, cap, "%s", v->c.kind == VAL_INT ? "an integer" : v->c.kind == VAL_FLOAT ? "a float"
                                 : v->c.kind == VAL_BOOL ? "a bool" : v->c.kind == VAL_STR ? "a string"
                                 : v->c.kind == VAL_INTS ? "a tuple" : "none");
        return buf;
    case V_DIM: snprintf(buf, cap, "a size"); return buf;
    case V_MOD: snprintf(buf, cap, "a module"); return buf;
    default: snprintf(buf, cap, "a value"); return buf;
    }
}

/* fmt_type in one of 8 rotating buffers (several types per message). */
const char *sh_ty(const SV *v)
{
    static char bufs[8][160];
    static unsigned k;
    return fmt_type(v, bufs[k++ % 8], sizeof bufs[0]);
}

/* Reports msg at sp once (a block's instances repeat it), with help (a
 * fix) when there is one, a note at decl (the layer concerned) and at
 * each block call that led there. */
static void report(Sh *s, Span sp, const Instance *decl, const char *msg, const char *help)
{
    Diags *d = s->e->d;
    for (size_t i = 0; i < d->n; i++)
        if (d->list[i].level == DG_ERROR && d->list[i].span.file == sp.file && d->list[i].span.lo == sp.lo &&
            d->list[i].span.hi == sp.hi && !strcmp(d->list[i].msg, msg))
            return;
    size_t first = d->n;
    diag(d, DG_ERROR, sp, "%s", msg);
    if (help) diag(d, DG_HELP, NO_SPAN, "%s", help);
    for (size_t i = 0; decl && i < first; i++)   /* the declaration is shown once */
        if (d->list[i].level == DG_NOTE && d->list[i].span.lo == decl->span.lo &&
            d->list[i].span.file == decl->span.file)
            decl = NULL;
    if (decl) diag(d, DG_NOTE, decl->span, "'%s' is declared here", decl->path[0] ? decl->path : "self");
    for (int i = s->depth; i > 0; i--)
        diag(d, DG_NOTE, s->frames[i].call, "in the forward of %s '%s', called here",
             s->e->insts[s->frames[i].inst].type, s->e->insts[s->frames[i].inst].path);
}

#define FORMAT(msg, fmt) \
    char msg[600];       \
    va_list ap;          \
    va_start(ap, fmt);   \
    vsnprintf(msg, sizeof msg, fmt, ap); \
    va_end(ap)

void sh_err(Sh *s, Span sp, const char *fmt, ...)
{
    FORMAT(msg, fmt);
    report(s, sp, NULL, msg, NULL);
}

void sh_err_help(Sh *s, Span sp, const char *help, const char *fmt, ...)
{
    FORMAT(msg, fmt);
    report(s, sp, NULL, msg, help);
}

/* An error; the value it leaves. */
SV sh_fail(Sh *s, Span sp, const char *fmt, ...)
{
    FORMAT(msg, fmt);
    report(s, sp, NULL, msg, NULL);
    return mk(V_ERR);
}

/* An error about a layer's input, with a note at the layer's declaration. */
SV sh_lfail(Sh *s, Span sp, const Instance *in, const char *fmt, ...)
{
    FORMAT(msg, fmt);
    report(s, sp, in, msg, NULL);
    return mk(V_ERR);
}

/* ------------------------------------------------------------ arguments */

/* The argument at position i or named name (NULL: absent). */
const SV *sh_arg(const Args *a, size_t i, const char *name, Span *sp)
{
    if (i < a->npos) {
        if (sp) *sp = a->pspan[i];
        return &a->pos[i];
    }
    for (size_t k = 0; name && k < a->nkw; k++)
        if (!strcmp(a->kn[k], name)) {
            if (sp) *sp = a->kspan[k];
            return &a->kv[k];
        }
    return NULL;
}

/* 1: an exact integer in *out; 0: an unknown size; -1: not an integer. */
int sh_as_int(const SV *v, int64_t *out)
{
    if (v->kind == V_CONF && (v->c.kind == VAL_INT || v->c.kind == VAL_BOOL)) {
        *out = v->c.i;
        return 1;
    }
    return v->kind == V_DIM || v->kind == V_ANY || v->kind == V_ERR ? 0 : -1;
}

Dim sh_as_dim(const SV *v)
{
    int64_t i;
    if (sh_as_int(v, &i) == 1) return exact(i);
    return v->kind == V_DIM ? v->dim : UNK;
}

/* A list of integers given as a tuple/list/INTS value or as the rest of
 * the positional arguments from i.  Returns the count, -1 when not ints. */
int sh_int_list(const Args *a, size_t i, const char *name, Dim *out, int cap)
{
    const SV *v = sh_arg(a, i, name, NULL);
    if (!v) return 0;
    int n = 0;
    if (v->kind == V_TUPLE) {
        for (size_t k = 0; k < v->n && n < cap; k++) {
            int64_t x;
            if (sh_as_int(&v->items[k], &x) < 0) return -1;
            out[n++] = sh_as_dim(&v->items[k]);
        }
        return n;
    }
    if (v->kind == V_CONF && v->c.kind == VAL_INTS) {
        for (size_t k = 0; k < v->c.n && n < cap; k++) out[n++] = exact(v->c.ints[k]);
        return n;
    }
    if (i >= a->npos) {
        int64_t x;
        if (sh_as_int(v, &x) < 0) return -1;
        out[0] = sh_as_dim(v);
        return 1;
    }
    for (size_t k = i; k < a->npos && n < cap; k++) {
        int64_t x;
        if (sh_as_int(&a->pos[k], &x) < 0) return -1;
        out[n++] = sh_as_dim(&a->pos[k]);
    }
    return n;
}

/* ---------------------------------------------------- configuration math */

/* A literal for a configuration value, for elab_value. */
static Expr lit(const Val *v, Span sp)
{
    Expr x;
    memset(&x, 0, sizeof x);
    x.span = sp;
    x.kind = v->kind == VAL_INT ? EX_INT : v->kind == VAL_BOOL ? EX_BOOL : v->kind == VAL_FLOAT ? EX_FLOAT
           : v->kind == VAL_STR ? EX_STR : EX_NONE;
    if (v->kind == VAL_FLOAT) x.u.f = v->f;
    else if (v->kind == VAL_STR) x.u.s = v->s;
    else x.u.i = v->i;
    return x;
}

/* The unary or binary operator of ox on configuration values, with
 * elaboration's arithmetic; a size that is not a constant gives an
 * unknown size (or truth). */
static SV conf_op(Sh *s, size_t inst, const Expr *ox, const SV *a, const SV *b)
{
    int op = ox->op;
    SV d;
    if (sh_dim_arith(s, op, a, b, &d)) return d;   /* sizes: N * T, C // heads */
    if (a->kind == V_DIM || (b && b->kind == V_DIM)) {
        if (b && op == '*' && a->kind == V_CONF && a->c.kind == VAL_INT && a->c.i == 1) return *b;
        if (b && (op == '*' || op == '/' || op == TK_IDIV) && b->kind == V_CONF && b->c.kind == VAL_INT && b->c.i == 1)
            return *a;
        SV r = dim_sv(UNK);
        int truth = op == TK_EQ || op == TK_NE || op == '<' || op == '>' || op == TK_LE || op == TK_GE || op == '!';
        return truth ? mk(V_ANY) : r;
    }
    Expr x = *ox, la = lit(&a->c, ox->a->span), lb;
    x.a = &la;
    if (b) lb = lit(&b->c, ox->b->span), x.b = &lb;
    SV r = mk(V_CONF);
    if (elab_value(s->e, inst, &x, &r.c) < 0) return mk(V_ERR);
    return r;
}

/* ------------------------------------------------------------ evaluation */

static SV eval(Sh *s, Env *env, const Expr *x);
static SV call_module(Sh *s, long inst, const Args *a);

/* Is name a block parameter or a constant of the declaration? */
static int body_defines(Stmt **body, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++) {
        const Stmt *st = body[i];
        if (st->kind == ST_ASSIGN && st->name && !strcmp(st->name, name)) return 1;
        if (st->kind == ST_IF &&
            (body_defines(st->body, st->nbody, name) || body_defines(st->orelse, st->norelse, name)))
            return 1;
    }
    return 0;
}

static int conf_defined(const Sh *s, size_t inst, const char *name)
{
    const Decl *dc = s->e->insts[inst].decl;
    if (!dc) return 0;
    for (size_t k = 0; k < dc->nparams; k++)
        if (!strcmp(dc->params[k].name, name)) return 1;
    return body_defines(dc->body, dc->nbody, name);
}

/* A raw param/buffer of inst used directly in the forward. */
static int raw_tensor(const Sh *s, size_t inst, const char *name, SV *out)
{
    const Elab *e = s->e;
    const char *p = e->insts[inst].path;
    size_t pl = strlen(p);
    for (size_t i = 0; i < e->ntensors; i++) {
        const ExpTensor *t = &e->tensors[i];
        const char *k = t->key;
        if (t->inst != inst || (pl && (strncmp(k, p, pl) != 0 || k[pl] != '.'))) continue;
        if (strcmp(k + (pl ? pl + 1 : 0), name) != 0) continue;
        *out = mk_tensor(rcc_dtype_name(t->dtype), t->ndim);
        for (int d = 0; d < t->ndim && d < MAXR; d++) out->d[d] = exact(t->shape[d]);
        return 1;
    }
    return 0;
}

static SV lookup(Sh *s, Env *env, const Expr *x)
{
    const char *name = x->u.s;
    for (Bind *b = env->head; b; b = b->next)
        if (!strcmp(b->name, name)) return b->v;
    long c = elab_child(s->e, env->inst, name);
    if (c >= 0) return mk_mod(c);
    SV t;
    if (raw_tensor(s, env->inst, name, &t)) return t;
    if (conf_defined(s, env->inst, name)) {
        SV v = mk(V_CONF);
        if (elab_value(s->e, env->inst, x, &v.c) < 0) return mk(V_ERR);
        return v;
    }
    if (sh_constant(name, &t)) return t;   /* inf, finfo_min */
    return sh_fail(s, x->span, "unknown name '%s'", name);
}

static void bind(Sh *s, Env *env, const char *name, const SV *v)
{
    Bind *b = ARENA_NEW(s->e->a, Bind);
    if (!b) return;
    b->name = name;
    b->v = *v;
    b->next = env->head;
    env->head = b;
}

SV sh_tuple_of(Sh *s, size_t n)
{
    SV t = mk(V_TUPLE);
    t.items = arena_array(s->e->a, n + 1, sizeof(SV));
    t.n = t.items ? n : 0;
    return t;
}

SV sh_pair(Sh *s, const SV *a, const SV *b)
{
    SV t = sh_tuple_of(s, 2);
    if (t.n < 2) return mk(V_ERR);
    t.items[0] = *a;
    t.items[1] = *b;
    return t;
}

/* x.shape: a tuple of sizes. */
SV sh_shape_of(Sh *s, const SV *x)
{
    if (x->rank < 0) return mk(V_ANY);
    SV t = sh_tuple_of(s, (size_t)x->rank);
    for (size_t i = 0; i < t.n; i++) t.items[i] = dim_sv(x->d[i]);
    return t;
}

/* x[items] */
static SV index_value(Sh *s, Env *env, const Expr *x)
{
    SV base = eval(s, env, x->a);
    if (base.kind == V_ERR || base.kind == V_ANY) return base;
    if (base.kind == V_TUPLE || base.kind == V_MOD) {
        if (x->nargs != 1 || x->args[0].value->kind == EX_SLICE)
            return sh_fail(s, x->span, "a tuple or module list takes one integer index");
        SV iv = eval(s, env, x->args[0].value);
        int64_t i;
        int k = sh_as_int(&iv, &i);
        if (k <= 0) return k < 0 ? sh_fail(s, x->args[0].value->span, "the index must be an integer") : mk(V_ANY);
        if (base.kind == V_TUPLE) {
            int w = wrap(i, (int)base.n);
            return w < 0 ? sh_fail(s, x->span, "index %lld out of range for a tuple of %zu", (long long)i, base.n)
                         : base.items[w];
        }
        const Instance *in = &s->e->insts[base.mod];
        if (!in->list) return sh_fail(s, x->span, "'%s' is not a list of modules", in->path);
        long kids[1024];
        size_t nk = 0;
        for (size_t c = (size_t)base.mod + 1; c < s->e->ninsts && nk < 1024; c++)
            if (s->e->insts[c].parent == (size_t)base.mod) kids[nk++] = (long)c;
        int w = wrap(i, (int)nk);
        if (w < 0) return sh_fail(s, x->span, "index %lld out of range for a list of %zu modules", (long long)i, nk);
        return mk_mod(kids[w]);
    }
    if (base.kind != V_TENSOR) return sh_fail(s, x->a->span, "cannot index %s", sh_ty(&base));
    if (base.rank < 0) return base;
    SV r = mk_tensor(base.dtype, 0);
    int in = 0, consumed = 0;
    for (size_t k = 0; k < x->nargs; k++) {   /* how many dims the items consume */
        const Expr *it = x->args[k].value;
        consumed += !(it->kind == EX_SLICE && it->u.i) && it->kind != EX_NONE &&
                    !(it->kind == EX_NAME && !strcmp(it->u.s, "None"));
    }
    if (consumed > base.rank)
        return sh_fail(s, x->span, "too many indices (%d) for a tensor of rank %d", consumed, base.rank);
    for (size_t k = 0; k < x->nargs; k++) {
        const Expr *it = x->args[k].value;
        if (r.rank >= MAXR) return sh_fail(s, x->span, "more than %d dimensions", MAXR);
        if (it->kind == EX_SLICE && it->u.i) {   /* ... */
            for (int m = 0; m < base.rank - consumed && r.rank < MAXR; m++) r.d[r.rank++] = base.d[in++];
            continue;
        }
        if (it->kind == EX_NONE || (it->kind == EX_NAME && !strcmp(it->u.s, "None"))) {
            r.d[r.rank++] = exact(1);
            continue;
        }
        Dim d = base.d[in++];
        if (it->kind == EX_SLICE) {
            int64_t lo = 0, hi = 0, st = 1;
            int hl = 0, hh = 0, ok = 1;
            const Expr *parts[3] = {it->a, it->b, it->c};
            for (int p = 0; p < 3; p++) {
                if (!parts[p]) continue;
                SV pv = eval(s, env, parts[p]);
                int64_t val;
                int q = sh_as_int(&pv, &val);
                if (q < 0 && !(pv.kind == V_CONF && pv.c.kind == VAL_NONE))
                    return sh_fail(s, parts[p]->span, "a slice bound must be an integer");
                if (q == 0) ok = 0;
                if (q == 1) *(p == 0 ? &lo : p == 1 ? &hi : &st) = val, *(p == 0 ? &hl : p == 1 ? &hh : &ok) |= 1;
            }
            if (st <= 0) return sh_fail(s, it->span, "a slice step must be positive");
            if (!ok) d = UNK;
            else if (known(d)) {
                int64_t L = d.n;
                lo = hl ? (lo < 0 ? lo + L : lo) : 0;
                hi = hh ? (hi < 0 ? hi + L : hi) : L;
                lo = lo < 0 ? 0 : lo > L ? L : lo;
                hi = hi < 0 ? 0 : hi > L ? L : hi;
                d = exact(hi > lo ? (hi - lo + st - 1) / st : 0);
            } else if (!hl && !hh && st == 1) {
                /* the whole dimension */
            } else if (hh && hi >= 0 && lo >= 0) {
                d = exact(hi > lo ? (hi - lo + st - 1) / st : 0);
            } else {
                d = UNK;
            }
            r.d[r.rank++] = d;
            continue;
        }
        SV iv = eval(s, env, it);
        int64_t i;
        int q = sh_as_int(&iv, &i);
        if (q == 1) {
            if (known(d) && (i >= d.n || i < -d.n))
                return sh_fail(s, it->span, "index %lld is out of range for a dimension of size %lld", (long long)i,
                            (long long)d.n);
        } else if (iv.kind == V_TENSOR) {   /* gather: the index's dims replace this one */
            if (iv.rank < 0 || (iv.dtype && !strcmp(iv.dtype, "bool"))) return mk_tensor(base.dtype, -1);   /* a mask */
            for (int m = 0; m < iv.rank && r.rank < MAXR; m++) r.d[r.rank++] = iv.d[m];
        } else if (q < 0) {
            return sh_fail(s, it->span, "an index must be an integer, a slice or a tensor");
        }
    }
    while (in < base.rank && r.rank < MAXR) r.d[r.rank++] = base.d[in++];
    return r;
}

static SV call(Sh *s, Env *env, const Expr *x);

static SV eval(Sh *s, Env *env, const Expr *x)
{
    SV v = mk(V_CONF);
    switch (x->kind) {
    case EX_INT: case EX_FLOAT: case EX_BOOL: case EX_STR: case EX_NONE:
        elab_value(s->e, env->inst, x, &v.c);   /* a literal: cannot fail */
        return v;
    case EX_NAME: return lookup(s, env, x);
    case EX_LIST:
    case EX_TUPLE: {
        SV t = sh_tuple_of(s, x->nargs);
        for (size_t i = 0; i < t.n; i++) t.items[i] = eval(s, env, x->args[i].value);
        return t;
    }
    case EX_UNARY: {
        SV a = eval(s, env, x->a);
        if (a.kind == V_TENSOR || a.kind == V_ERR || a.kind == V_ANY || a.kind == V_DIM) return a;
        if (a.kind != V_CONF) return sh_fail(s, x->span, "operator %s cannot apply to %s", ast_op_name(x->op), sh_ty(&a));
        return conf_op(s, env->inst, x, &a, NULL);
    }
    case EX_BINARY: {
        SV a = eval(s, env, x->a);
        if ((x->op == TK_AND || x->op == TK_OR) && a.kind == V_CONF && val_truthy(&a.c) != (x->op == TK_AND)) {
            v.c.kind = VAL_BOOL;   /* short-circuit */
            v.c.i = x->op == TK_OR;
            return v;
        }
        SV b = eval(s, env, x->b);
        if (a.kind == V_ERR || b.kind == V_ERR) return mk(V_ERR);
        if (a.kind == V_MOD || b.kind == V_MOD || a.kind == V_TUPLE || b.kind == V_TUPLE)
            return sh_fail(s, x->span, "operator %s cannot apply to %s and %s", ast_op_name(x->op), sh_ty(&a), sh_ty(&b));
        if (x->op == '@') return sh_matmul(s, x->span, &a, &b);
        if (a.kind == V_TENSOR || b.kind == V_TENSOR) {
            SV r = sh_broadcast(s, x->span, &a, &b, ast_op_name(x->op));
            if (r.kind == V_TENSOR && (x->op == TK_EQ || x->op == TK_NE || x->op == '<' || x->op == '>' ||
                                       x->op == TK_LE || x->op == TK_GE))
                r.dtype = "bool";
            return r;
        }
        if (a.kind == V_ANY || b.kind == V_ANY) return mk(V_ANY);
        return conf_op(s, env->inst, x, &a, &b);
    }
    case EX_COND: {
        SV c = eval(s, env, x->a);
        if (c.kind == V_CONF) return eval(s, env, val_truthy(&c.c) ? x->b : x->c);
        if (c.kind == V_TENSOR)
            return sh_fail(s, x->a->span, "the condition of '?:' must be a configuration value, not a tensor");
        SV b = eval(s, env, x->b);   /* unknown condition: both branches are checked */
        eval(s, env, x->c);
        return b;
    }
    case EX_ATTR: {
        if (x->a->kind == EX_NAME && !strcmp(x->a->u.s, "self")) {
            long c = elab_child(s->e, env->inst, x->u.s);
            SV t;
            if (c >= 0) return mk_mod(c);
            if (raw_tensor(s, env->inst, x->u.s, &t)) return t;
        }
        if (sh_ns_attr(x, &v)) return v;   /* torch.float32, math.pi */
        SV a = eval(s, env, x->a);
        if (a.kind == V_ERR || a.kind == V_ANY) return a;
        return sh_attr(s, x->span, &a, x->u.s);   /* x.shape, x.dtype, ... */
    }
    case EX_INDEX: return index_value(s, env, x);
    case EX_CALL: return call(s, env, x);
    case EX_SLICE: return sh_fail(s, x->span, "a slice outside of an index");
    }
    return mk(V_ANY);
}

/* ------------------------------------------------------------- modules */

static const Stmt *find_forward(const Decl *dc)
{
    for (size_t i = 0; dc && i < dc->nbody; i++)
        if (dc->body[i]->kind == ST_FORWARD) return dc->body[i];
    return NULL;
}

static int exec(Sh *s, Env *env, Stmt **body, size_t n, SV *ret);

static SV block_fwd(Sh *s, long inst, const Args *a)
{
    const Instance *in = &s->e->insts[inst];
    const Stmt *fw = find_forward(in->decl);
    if (!fw) return sh_fail(s, a->span, "%s '%s' has no forward, so it cannot be called", in->type, in->path);
    if (s->depth >= MAX_CALL_DEPTH)
        return sh_fail(s, a->span, "forward calls nested deeper than %d (a block that calls itself?)", MAX_CALL_DEPTH);
    Env env = {(size_t)inst, NULL};
    int set[64] = {0};
    if (a->npos > fw->nparams || fw->nparams > 64)
        return sh_fail(s, a->span, "the forward of %s takes %zu argument%s, got %zu", in->type, fw->nparams,
                    fw->nparams == 1 ? "" : "s", a->npos + a->nkw);
    for (size_t i = 0; i < a->npos; i++) {
        bind(s, &env, fw->params[i], &a->pos[i]);
        set[i] = 1;
    }
    for (size_t k = 0; k < a->nkw; k++) {
        size_t i;
        for (i = 0; i < fw->nparams && strcmp(fw->params[i], a->kn[k]) != 0; i++)
            ;
        if (i == fw->nparams)
            return sh_fail(s, a->kspan[k], "the forward of %s has no parameter '%s'", in->type, a->kn[k]);
        if (set[i]) return sh_fail(s, a->kspan[k], "the forward of %s: '%s' is given twice", in->type, a->kn[k]);
        bind(s, &env, fw->params[i], &a->kv[k]);
        set[i] = 1;
    }
    for (size_t i = 0; i < fw->nparams; i++)
        if (!set[i])
            return sh_fail(s, a->span, "the forward of %s takes %zu argument%s, got %zu (missing '%s')", in->type,
                        fw->nparams, fw->nparams == 1 ? "" : "s", a->npos + a->nkw, fw->params[i]);
    s->depth++;
    s->frames[s->depth] = (Frame){a->span, (size_t)inst};
    SV ret = mk(V_ANY);
    int returned = exec(s, &env, fw->body, fw->nbody, &ret);
    s->depth--;
    if (!returned) return sh_fail(s, fw->span, "the forward of %s returns nothing", in->type);
    return ret;
}

static SV call_module(Sh *s, long inst, const Args *a)
{
    const Instance *in = &s->e->insts[inst];
    if (in->layer) return sh_layer_fwd(s, in, a);
    if (in->list) {
        if (a->npos != 1 || a->nkw)
            return sh_fail(s, a->span, "%s '%s' takes one input, got %zu", in->type, in->path, a->npos + a->nkw);
        Args b = *a;
        for (size_t c = (size_t)inst + 1; c < s->e->ninsts; c++) {
            if (s->e->insts[c].parent != (size_t)inst) continue;
            SV y = call_module(s, (long)c, &b);
            if (y.kind == V_ERR || y.kind == V_ANY) return y;
            b.pos[0] = y;
        }
        return b.pos[0];
    }
    return block_fwd(s, inst, a);
}

static SV call(Sh *s, Env *env, const Expr *x)
{
    Args a;
    memset(&a, 0, sizeof a);
    a.span = x->span;
    const Expr *fx = x->a;
    int ns = sh_fn_ns(fx);   /* torch.X, F.X, math.X: a function of that namespace */
    int method = fx->kind == EX_ATTR && ns < 0 && !(fx->a->kind == EX_NAME && !strcmp(fx->a->u.s, "self"));
    if (x->nargs + (size_t)method > 16) return sh_fail(s, x->span, "too many arguments");
    if (method) {   /* x.flatten(1): the receiver is the first argument */
        a.pos[0] = eval(s, env, fx->a);
        a.pspan[0] = fx->a->span;
        a.npos = 1;
        if (a.pos[0].kind == V_MOD) return sh_fail(s, fx->span, "'%s' is not a method of a module", fx->u.s);
    }
    int bad = 0;
    for (size_t i = 0; i < x->nargs; i++) {
        SV v = eval(s, env, x->args[i].value);
        bad |= v.kind == V_ERR;
        if (x->args[i].name) {
            a.kn[a.nkw] = x->args[i].name;
            a.knspan[a.nkw] = x->args[i].name_span;
            a.kspan[a.nkw] = x->args[i].value->span;
            a.kv[a.nkw++] = v;
        } else {
            a.pspan[a.npos] = x->args[i].value->span;
            a.pos[a.npos++] = v;
        }
    }
    const char *name = fx->kind == EX_NAME ? fx->u.s : fx->kind == EX_ATTR ? fx->u.s : NULL;
    if (method) {
        if (a.pos[0].kind == V_ERR || a.pos[0].kind == V_ANY) return a.pos[0];
        if (!sh_is_function(NS_METHOD, name)) return sh_fn_unknown(s, fx->span, NS_METHOD, name);
        return bad ? mk(V_ERR) : sh_fn_call(s, NS_METHOD, name, &a);
    }
    SV callee;
    if (fx->kind == EX_ATTR && !strcmp(fx->a->u.s, "self")) {
        long c = elab_child(s->e, env->inst, name);
        if (c < 0) return sh_fail(s, fx->span, "'%s' has no submodule '%s'", s->e->insts[env->inst].type, name);
        callee = mk_mod(c);
    } else if (ns > 0) {
        if (!sh_is_function(ns, name)) return sh_fn_unknown(s, fx->span, ns, name);
        return bad ? mk(V_ERR) : sh_fn_call(s, ns, name, &a);
    } else if (fx->kind == EX_NAME) {
        Bind *b;
        for (b = env->head; b && strcmp(b->name, name) != 0; b = b->next)
            ;
        long c = b ? -1 : elab_child(s->e, env->inst, name);
        if (b) {
            callee = b->v;
        } else if (c >= 0) {
            callee = mk_mod(c);
        } else if (sh_is_function(NS_BARE, name)) {
            return bad ? mk(V_ERR) : sh_fn_call(s, NS_BARE, name, &a);
        } else if (cat_find(name)) {
            return sh_fail(s, fx->span, "'%s' is a layer: declare it in the body (name = %s(...)) and call it by name",
                        name, name);
        } else if (conf_defined(s, env->inst, name)) {
            return sh_fail(s, fx->span, "'%s' is a configuration value, not a module or function", name);
        } else {
            return sh_fn_unknown(s, fx->span, NS_BARE, name);
        }
    } else {
        callee = eval(s, env, fx);
    }
    if (callee.kind == V_ERR || callee.kind == V_ANY || bad) return bad ? mk(V_ERR) : callee;
    if (callee.kind != V_MOD) return sh_fail(s, fx->span, "cannot call %s: it is not a module", sh_ty(&callee));
    return call_module(s, callee.mod, &a);
}

/* ------------------------------------------------------------ statements */

static int exec(Sh *s, Env *env, Stmt **body, size_t n, SV *ret)
{
    for (size_t i = 0; i < n; i++) {
        const Stmt *st = body[i];
        switch (st->kind) {
        case ST_ASSIGN: {
            SV v = eval(s, env, st->value);
            if (st->nnames <= 1) {
                bind(s, env, st->name ? st->name : st->names[0], &v);
                break;
            }
            if (v.kind == V_TUPLE && v.n != st->nnames)
                v = sh_fail(s, st->value->span, "cannot unpack a tuple of %zu into %zu names", v.n, st->nnames);
            else if (v.kind == V_TENSOR && v.rank < 0) v = mk(V_ANY);
            else if (v.kind != V_TUPLE && v.kind != V_ERR && v.kind != V_ANY)
                v = sh_fail(s, st->value->span, "cannot unpack %s into %zu names", sh_ty(&v), st->nnames);
            for (size_t k = 0; k < st->nnames; k++) bind(s, env, st->names[k], v.kind == V_TUPLE ? &v.items[k] : &v);
            break;
        }
        case ST_RETURN:
            *ret = st->value ? eval(s, env, st->value) : mk(V_ANY);
            return 1;
        case ST_EXPR: eval(s, env, st->value); break;
        case ST_IF: {
            SV c = eval(s, env, st->value);
            if (c.kind == V_CONF) {
                if (val_truthy(&c.c) ? exec(s, env, st->body, st->nbody, ret) : exec(s, env, st->orelse, st->norelse, ret))
                    return 1;
            } else if (c.kind == V_TENSOR) {
                sh_err(s, st->value->span, "the condition of an if must be a configuration value, not a tensor");
            } else {   /* unknown: both branches are checked */
                SV r2;
                int r = exec(s, env, st->body, st->nbody, ret), q = exec(s, env, st->orelse, st->norelse, &r2);
                if (r && q) return 1;
            }
            break;
        }
        default: break;
        }
    }
    return 0;
}

/* A value's type with its dtype, for the signature: f32[N, 1000], or
 * (f32[...], f32[...]) for a tuple. */
static size_t fmt_sig(const SV *v, char *buf, size_t cap)
{
    size_t k = 0;
    if (v->kind == V_TUPLE) {
        k += (size_t)snprintf(buf, cap, "(");
        for (size_t i = 0; i < v->n && k < cap; i++) {
            if (i) k += (size_t)snprintf(buf + k, cap - k, ", ");
            if (k < cap) k += fmt_sig(&v->items[i], buf + k, cap - k);
        }
        if (k < cap) k += (size_t)snprintf(buf + k, cap - k, ")");
    } else if (v->kind == V_TENSOR) {
        char t[160];
        k += (size_t)snprintf(buf, cap, "%s%s", v->dtype ? v->dtype : "?", fmt_type(v, t, sizeof t));
    } else {
        char t[160];
        k += (size_t)snprintf(buf, cap, "%s", fmt_type(v, t, sizeof t));
    }
    return k < cap ? k : cap ? cap - 1 : 0;
}

/* "(x: f32[N, 3, 224, 224]) -> f32[N, 1000]", arena-owned, or NULL;
 * in holds the forward's parameters as they were bound. */
static const char *signature(Sh *s, const Stmt *fw, const SV *in, const SV *ret)
{
    char buf[1024];
    size_t k = (size_t)snprintf(buf, sizeof buf, "(");
    for (size_t i = 0; i < fw->nparams && k < sizeof buf; i++) {
        k += (size_t)snprintf(buf + k, sizeof buf - k, "%s%s: ", i ? ", " : "", fw->params[i]);
        if (k < sizeof buf) k += fmt_sig(&in[i], buf + k, sizeof buf - k);
    }
    if (k < sizeof buf) k += (size_t)snprintf(buf + k, sizeof buf - k, ") -> ");
    if (k < sizeof buf) fmt_sig(ret, buf + k, sizeof buf - k);
    return arena_strndup(s->e->a, buf, strlen(buf));
}

int shapes_check(Elab *e)
{
    Sh s;
    memset(&s, 0, sizeof s);
    s.e = e;
    size_t before = e->d->nerrors, root = 0;
    while (root < e->ninsts && e->insts[root].parent != (size_t)-1) root++;
    const Stmt *fw = root < e->ninsts ? find_forward(e->model) : NULL;
    if (!fw)
        return 0;   /* no forward: nothing to check */
    Env env = {root, NULL};
    SV *in = arena_array(e->a, fw->nparams + 1, sizeof(SV));
    if (!in) return sh_err(&s, fw->span, "out of memory"), -1;
    for (size_t i = 0; i < fw->nparams; i++) {
        const Input *inp = NULL;
        for (size_t k = 0; k < e->ninputs; k++)
            if (!strcmp(e->inputs[k].name, fw->params[i])) inp = &e->inputs[k];
        SV v = mk(V_ANY);
        if (!inp) {
            diag(e->d, DG_WARNING, fw->param_spans[i], "forward parameter '%s' has no 'input %s: type' declaration; "
                 "its shape is not checked", fw->params[i], fw->params[i]);
        } else if (inp->type->ndims > MAXR) {
            sh_err(&s, inp->type->span, "more than %d dimensions", MAXR);
        } else {
            v = mk_tensor(inp->type->dtype, (int)inp->type->ndims);
            for (size_t k = 0; k < inp->type->ndims; k++) {
                const Expr *dx = inp->type->dims[k];
                Val c;
                if (dx->kind == EX_NAME && !conf_defined(&s, root, dx->u.s)) v.d[k] = (Dim){-1, dx->u.s};
                else if (elab_value(e, root, dx, &c) == 0 && c.kind == VAL_INT && c.i >= 0) v.d[k] = exact(c.i);
                else sh_err(&s, dx->span, "a size of an input must be a non-negative integer or a name");
            }
        }
        bind(&s, &env, fw->params[i], &v);
        in[i] = v;
    }
    SV ret;
    if (!exec(&s, &env, fw->body, fw->nbody, &ret)) sh_err(&s, fw->span, "the model's forward returns nothing");
    else e->forward_sig = signature(&s, fw, in, &ret);
    return e->d->nerrors > before ? -1 : 0;
}

