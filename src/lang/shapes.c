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
#include "trace.h"

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
/* What report() asks of the diagnostics so far, as keys of s->given:
 * "E file lo hi msg" for each error, "N file lo" for each note.  Entries
 * are added as they appear, so that no report scans them all. */
static const char *given_key(Sh *s, DiagLevel lvl, Span sp, const char *msg)
{
    return lvl == DG_ERROR ? arena_printf(s->e->a, "E%u %u %u %s", sp.file, sp.lo, sp.hi, msg)
         : lvl == DG_NOTE  ? arena_printf(s->e->a, "N%u %u", sp.file, sp.lo) : NULL;
}

static int given(Sh *s, DiagLevel lvl, Span sp, const char *msg)
{
    const Diags *d = s->e->d;
    for (; s->seen < d->n; s->seen++) {
        const char *k = given_key(s, d->list[s->seen].level, d->list[s->seen].span, d->list[s->seen].msg);
        if (k) names_put(s->e->a, &s->given, k, s);
    }
    const char *k = given_key(s, lvl, sp, msg);
    return k && names_get(&s->given, k);
}

static void report(Sh *s, Span sp, const Instance *decl, const char *msg, const char *help)
{
    Diags *d = s->e->d;
    if (given(s, DG_ERROR, sp, msg))
        return;
    if (decl && given(s, DG_NOTE, decl->span, NULL))   /* the declaration is shown once */
        decl = NULL;
    diag(d, DG_ERROR, sp, "%s", msg);
    if (help) diag(d, DG_HELP, NO_SPAN, "%s", help);
    if (decl) diag(d, DG_NOTE, decl->span, "'%s' is declared here", decl->path[0] ? decl->path : "self");
    for (int i = s->nloops - 1; i >= 0; i--)   /* the first iteration that fails is the one reported */
        diag(d, DG_NOTE, s->loops[i].over, "in iteration %zu of the loop over this", s->loops[i].iter);
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
static SV tuple_slice(Sh *s, Env *env, const SV *t, const Expr *sl);
static SV append(Sh *s, const SV *list, const SV *item);

/* Is name a block parameter or a constant of the instance? */
static int conf_defined(const Sh *s, size_t inst, const char *name)
{
    Val v;
    return elab_conf(s->e, inst, name, &v);
}

/* A parameter or buffer of module inst (a raw one of a block, or a
 * layer's: wte.weight, attn.bias) used directly in the forward. */
static int raw_tensor(Sh *s, size_t inst, const char *name, SV *out)
{
    const Elab *e = s->e;
    long i = elab_find_key(e, e->insts[inst].path, name);
    if (i < 0) return 0;
    const ExpTensor *t = &e->tensors[i];
    *out = mk_tensor(rcc_dtype_name(t->dtype), t->ndim);
    for (int d = 0; d < t->ndim && d < MAXR; d++) out->d[d] = exact(t->shape[d]);
    if (s->tr) {   /* one node per tensor read, however often */
        if (s->tr->weight_id[i]) {
            out->id = s->tr->weight_id[i];
        } else {
            TNode n = {.kind = TN_WEIGHT, .tensor = (size_t)i, .span = e->insts[inst].span};
            *out = sh_record(s, &n, *out);
            s->tr->weight_id[i] = out->id;
        }
    }
    return 1;
}

/* Numbers the tensors of v afresh (a tuple's items copied first). */
static SV number(Sh *s, SV v)
{
    if (v.kind == V_TENSOR) v.id = ++s->tr->ntensors;
    if (v.kind == V_TUPLE && v.n) {
        SV *items = arena_array(s->e->a, v.n, sizeof(SV));
        if (!items) return mk(V_ERR);
        for (size_t i = 0; i < v.n; i++) items[i] = number(s, v.items[i]);
        v.items = items;
    }
    return v;
}

static int has_tensor(const SV *v)
{
    if (v->kind == V_TENSOR) return 1;
    for (size_t i = 0; v->kind == V_TUPLE && i < v->n; i++)
        if (has_tensor(&v->items[i])) return 1;
    return 0;
}

SV sh_record(Sh *s, const TNode *n, SV out)
{
    Trace *tr = s->tr;
    if (!tr || out.kind == V_ERR || !has_tensor(&out)) return out;   /* x.size(0): no tensor made */
    if (tr->n == tr->cap) {
        size_t cap = tr->cap ? 2 * tr->cap : 256;
        TNode *nodes = arena_array(s->e->a, cap, sizeof(TNode));
        if (!nodes) return sh_fail(s, n->span, "out of memory");
        if (tr->n) memcpy(nodes, tr->nodes, tr->n * sizeof(TNode));
        tr->nodes = nodes;
        tr->cap = cap;
    }
    out = number(s, out);
    tr->nodes[tr->n] = *n;
    tr->nodes[tr->n++].out = out;
    return out;
}

/* A configuration list as a tuple value: its modules are not values in a
 * forward (their modules are the children made from them). */
static SV conf_list(Sh *s, const Val *list)
{
    SV t = sh_tuple_of(s, list->n);
    for (size_t i = 0; i < t.n; i++) {
        t.items[i] = mk(V_CONF);
        t.items[i].c = list->items[i];
        if (list->items[i].kind == VAL_LIST) t.items[i] = conf_list(s, &list->items[i]);
        else if (list->items[i].kind == VAL_MODULE || list->items[i].kind == VAL_CLASS) t.items[i] = mk(V_ANY);
    }
    return t;
}

/* The module a forward calls `self`: the block, or the container it is
 * itself (`self = [...]`), whose items are its children. */
static long self_of(const Sh *s, size_t inst)
{
    long c = elab_child(s->e, inst, "self");
    return c >= 0 && !strcmp(s->e->insts[c].path, s->e->insts[inst].path) ? c : (long)inst;
}

/* mod.name: a submodule (also through a container with no forward of its
 * own), a parameter or buffer, a block's configuration value or a
 * layer's constructor argument; *found 0 when it is none of those. */
static SV member(Sh *s, long mod, const char *name, int *found)
{
    const Elab *e = s->e;
    *found = 1;
    for (int pass = 0; pass < 2; pass++) {
        long m = pass ? self_of(s, (size_t)mod) : mod;
        if (pass && m == mod) break;
        long c = elab_child(e, (size_t)m, name);
        if (c >= 0 && strcmp(e->insts[c].path, e->insts[m].path) != 0) return mk_mod(c);
        SV t;
        if (raw_tensor(s, (size_t)m, name, &t)) return t;
    }
    const Instance *in = &e->insts[mod];
    SV v = mk(V_CONF);   /* a module or class argument is not a value here: its module is the child */
    if (elab_conf(e, (size_t)mod, name, &v.c) && v.c.kind != VAL_MODULE && v.c.kind != VAL_CLASS) return v;
    for (size_t k = 0; in->layer && k < in->layer->nargs; k++)
        if (!strcmp(in->layer->args[k].name, name)) {
            SV v = mk(V_CONF);
            v.c = in->args[k];
            return v;
        }
    *found = 0;
    return mk(V_ERR);
}

/* The error for mod.name that is not there, with the nearest child's name. */
static SV no_member(Sh *s, Span sp, long mod, const char *name)
{
    const Elab *e = s->e;
    const char *best = NULL;
    size_t bestd = 3, pl = strlen(e->insts[mod].path);
    long box = self_of(s, (size_t)mod);
    for (size_t c = (size_t)mod + 1; c < e->ninsts; c++) {
        if (e->insts[c].parent != (size_t)mod && e->insts[c].parent != (size_t)box) continue;
        const char *leaf = e->insts[c].path + (pl ? pl + 1 : 0);
        if (strlen(e->insts[c].path) <= pl) continue;
        size_t d = str_distance(name, leaf);
        if (d < bestd) bestd = d, best = leaf;
    }
    const Instance *in = &e->insts[mod];
    sh_err(s, sp, "%s '%s' has no submodule, tensor or value '%s'", in->type, *in->path ? in->path : "self", name);
    if (best) diag(e->d, DG_HELP, sp, "did you mean '%s'?", best);
    return mk(V_ERR);
}

static SV lookup(Sh *s, Env *env, const Expr *x)
{
    const char *name = x->u.s;
    for (Bind *b = env->head; b; b = b->next)
        if (!strcmp(b->name, name)) return b->v;
    if (!strcmp(name, "self")) return mk_mod(self_of(s, env->inst));
    int found;
    SV v = mk(V_CONF);   /* a forward's bare names are Python's: its own, then the block's arguments */
    if (elab_conf(s->e, env->inst, name, &v.c) && v.c.kind != VAL_MODULE && v.c.kind != VAL_CLASS)
        return v.c.kind == VAL_LIST ? conf_list(s, &v.c) : v;
    v = member(s, (long)env->inst, name, &found);
    if (found) return v;
    SV t;
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
    if (base.kind == V_CONF && base.c.kind == VAL_INTS) {   /* window_size[0] */
        SV t = sh_tuple_of(s, base.c.n);
        for (size_t i = 0; i < t.n; i++) t.items[i] = mk_int(base.c.ints[i]);
        base = t;
    }
    if (base.kind == V_TUPLE && x->nargs == 1 && x->args[0].value->kind == EX_SLICE && !x->args[0].value->u.i)
        return tuple_slice(s, env, &base, x->args[0].value);   /* x.size()[:-1], x.shape[-3:] */
    if (base.kind == V_TUPLE || base.kind == V_MOD) {
        if (x->nargs != 1 || x->args[0].value->kind == EX_SLICE)
            return sh_fail(s, x->span, "a tuple or module list takes one integer index (a tuple also a slice)");
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
        long item = elab_item(s->e, (size_t)base.mod, i);
        if (item < 0)
            return sh_fail(s, x->span, "index %lld out of range for a list of %zu modules", (long long)i, in->nitems);
        return mk_mod(item);
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
    TIdx items[2 * MAXR];   /* what each item does, when tracing */
    size_t ni = 0;
    for (size_t k = 0; k < x->nargs; k++) {
        const Expr *it = x->args[k].value;
        if (r.rank >= MAXR || ni + MAXR > 2 * MAXR) return sh_fail(s, x->span, "more than %d dimensions", MAXR);
        if (it->kind == EX_SLICE && it->u.i) {   /* ... */
            for (int m = 0; m < base.rank - consumed && r.rank < MAXR; m++) {
                items[ni++] = (TIdx){.kind = TI_SLICE, .lo = 0, .hi = base.d[in].n, .st = 1};
                r.d[r.rank++] = base.d[in++];
            }
            continue;
        }
        if (it->kind == EX_NONE || (it->kind == EX_NAME && !strcmp(it->u.s, "None"))) {
            items[ni++] = (TIdx){.kind = TI_NEW};
            r.d[r.rank++] = exact(1);
            continue;
        }
        Dim d = base.d[in++];
        if (s->tr && !known(d)) return sh_fail(s, it->span, "cannot compile an index of a dimension of unknown size");
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
                items[ni++] = (TIdx){.kind = TI_SLICE, .lo = lo, .hi = hi > lo ? hi : lo, .st = st};
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
            items[ni++] = (TIdx){.kind = TI_INT, .lo = i < 0 && known(d) ? i + d.n : i};
        } else if (iv.kind == V_TENSOR) {   /* gather: the index's dims replace this one */
            if (iv.rank < 0 || (iv.dtype && !strcmp(iv.dtype, "bool"))) return mk_tensor(base.dtype, -1);   /* a mask */
            for (int m = 0; m < iv.rank && r.rank < MAXR; m++) r.d[r.rank++] = iv.d[m];
            items[ni++] = (TIdx){.kind = TI_TENSOR, .t = iv};
        } else if (iv.kind == V_TUPLE) {   /* x[:, [-1], :]: those positions, the dimension kept */
            int64_t *list = s->tr ? arena_array(s->e->a, iv.n + 1, sizeof(int64_t)) : NULL;
            for (size_t m = 0; m < iv.n; m++) {
                int64_t j;
                if (sh_as_int(&iv.items[m], &j) != 1)
                    return sh_fail(s, it->span, "a list index holds integers");
                if (known(d) && (j >= d.n || j < -d.n))
                    return sh_fail(s, it->span, "index %lld is out of range for a dimension of size %lld",
                                   (long long)j, (long long)d.n);
                if (list) list[m] = j < 0 && known(d) ? j + d.n : j;
            }
            items[ni++] = (TIdx){.kind = TI_LIST, .n = iv.n, .list = list};
            r.d[r.rank++] = exact((int64_t)iv.n);
        } else if (q < 0) {
            return sh_fail(s, it->span, "an index must be an integer, a slice or a tensor");
        }
    }
    while (in < base.rank && r.rank < MAXR) {
        items[ni++] = (TIdx){.kind = TI_SLICE, .lo = 0, .hi = base.d[in].n, .st = 1};
        r.d[r.rank++] = base.d[in++];
    }
    if (!s->tr) return r;
    TNode n = {.kind = TN_INDEX, .span = x->span, .a = base, .nidx = ni};
    n.idx = arena_array(s->e->a, ni + 1, sizeof(TIdx));
    if (!n.idx) return sh_fail(s, x->span, "out of memory");
    memcpy(n.idx, items, ni * sizeof(TIdx));
    return sh_record(s, &n, r);
}

static SV call(Sh *s, Env *env, const Expr *x);

/* t[lo:hi:step] of a tuple value, with Python's clamping. */
static SV tuple_slice(Sh *s, Env *env, const SV *t, const Expr *sl)
{
    int64_t b[3] = {0, (int64_t)t->n, 1};
    const Expr *parts[3] = {sl->a, sl->b, sl->c};
    for (int p = 0; p < 3; p++) {
        if (!parts[p]) continue;
        SV v = eval(s, env, parts[p]);
        if (v.kind == V_CONF && v.c.kind == VAL_NONE) continue;
        if (sh_as_int(&v, &b[p]) != 1) return sh_fail(s, parts[p]->span, "a slice of a tuple takes integers");
    }
    if (b[2] <= 0) return sh_fail(s, sl->span, "a slice step must be positive");
    int64_t n = (int64_t)t->n;
    for (int p = 0; p < 2; p++) {
        if (b[p] < 0) b[p] += n;
        b[p] = b[p] < 0 ? 0 : b[p] > n ? n : b[p];
    }
    SV r = sh_tuple_of(s, 0);
    for (int64_t i = b[0]; i < b[1]; i += b[2]) r = append(s, &r, &t->items[i]);
    return r;
}

enum { MAX_LOOP = 100000 };   /* iterations of one loop the checker unrolls */

static int bound(const Env *env, const char *name)
{
    for (const Bind *b = env->head; b; b = b->next)
        if (!strcmp(b->name, name)) return 1;
    return 0;
}

/* A list value grown by one item: a new array, so that every other name
 * bound to the old list keeps it (a loop rebinds; nothing is shared). */
static SV append(Sh *s, const SV *list, const SV *item)
{
    SV t = sh_tuple_of(s, list->n + 1);
    if (t.n != list->n + 1) return mk(V_ERR);
    if (list->n) memcpy(t.items, list->items, list->n * sizeof *t.items);
    t.items[list->n] = *item;
    return t;
}

/* The items a for loop or a comprehension runs over: a module list's
 * modules, a list or tuple value's items, range(...) over exact integers,
 * enumerate(...) and zip(...) of those as pairs; *out a tuple of them. */
static int iterate(Sh *s, Env *env, const Expr *x, SV *out)
{
    const char *fn = x->kind == EX_CALL && x->a->kind == EX_NAME && !bound(env, x->a->u.s) ? x->a->u.s : "";
    if (!strcmp(fn, "range")) {
        int64_t a[3] = {0, 0, 1};
        if (x->nargs < 1 || x->nargs > 3) return sh_err(s, x->span, "range() takes 1 to 3 integers"), -1;
        for (size_t i = 0; i < x->nargs; i++) {
            SV v = eval(s, env, x->args[i].value);
            if (v.kind == V_ERR) return -1;
            if (x->args[i].name || sh_as_int(&v, &a[x->nargs == 1 ? 1 : i]) != 1)
                return sh_err(s, x->args[i].value->span, "range() of a loop takes exact integers, not %s",
                              sh_ty(&v)), -1;
        }
        if (a[2] == 0) return sh_err(s, x->span, "range() step must not be zero"), -1;
        int64_t n = a[2] > 0 ? (a[1] > a[0] ? (a[1] - a[0] + a[2] - 1) / a[2] : 0)
                             : (a[0] > a[1] ? (a[0] - a[1] - a[2] - 1) / -a[2] : 0);
        if (n > MAX_LOOP) return sh_err(s, x->span, "a loop runs at most %d times", MAX_LOOP), -1;
        *out = sh_tuple_of(s, (size_t)n);
        for (size_t i = 0; i < out->n; i++) out->items[i] = mk_int(a[0] + (int64_t)i * a[2]);
        return 0;
    }
    if (!strcmp(fn, "enumerate") || !strcmp(fn, "zip")) {
        SV t[2];
        size_t want = fn[0] == 'z' ? 2 : 1;
        if (x->nargs != want) return sh_err(s, x->span, "%s() takes %zu argument%s", fn, want, want > 1 ? "s" : ""), -1;
        for (size_t i = 0; i < want; i++)
            if (iterate(s, env, x->args[i].value, &t[i]) < 0) return -1;
        size_t n = want == 2 && t[1].n < t[0].n ? t[1].n : t[0].n;
        *out = sh_tuple_of(s, n);
        for (size_t i = 0; i < out->n; i++) {
            SV ix = mk_int((int64_t)i);
            out->items[i] = sh_pair(s, want == 2 ? &t[0].items[i] : &ix, want == 2 ? &t[1].items[i] : &t[0].items[i]);
        }
        return 0;
    }
    SV v = eval(s, env, x);
    if (v.kind == V_ERR) return -1;
    if (v.kind == V_TUPLE) return *out = v, 0;
    if (v.kind == V_CONF && v.c.kind == VAL_INTS) {
        *out = sh_tuple_of(s, v.c.n);
        for (size_t i = 0; i < out->n; i++) out->items[i] = mk_int(v.c.ints[i]);
        return 0;
    }
    if (v.kind == V_CONF && v.c.kind == VAL_LIST) return *out = conf_list(s, &v.c), 0;
    if (v.kind == V_MOD && s->e->insts[v.mod].list) {
        const Instance *L = &s->e->insts[v.mod];
        *out = sh_tuple_of(s, L->nitems);
        for (size_t i = 0; i < out->n; i++) out->items[i] = mk_mod(elab_item(s->e, (size_t)v.mod, (int64_t)i));
        return 0;
    }
    if (v.kind == V_ANY) return -2;   /* unknown: the loop is not checked */
    return sh_err(s, x->span, "cannot iterate over %s", sh_ty(&v)), -1;
}

/* Binds a loop's targets to one item: `for l in layers`, `for i, l in ...`. */
static int bind_targets(Sh *s, Env *env, const char *const *names, const Span *spans, size_t n, const SV *item)
{
    if (n == 1) return bind(s, env, names[0], item), 0;
    if (item->kind != V_TUPLE || item->n != n)
        return sh_err(s, spans[0], "cannot unpack %s into %zu names", sh_ty(item), n), -1;
    for (size_t k = 0; k < n; k++) bind(s, env, names[k], &item->items[k]);
    return 0;
}

/* [elt for t in iter]: a list value; the targets do not outlive it. */
static SV comprehension(Sh *s, Env *env, const Expr *x)
{
    SV items, out = sh_tuple_of(s, 0);
    int r = iterate(s, env, x->b, &items);
    if (r < 0) return mk(r == -2 ? V_ANY : V_ERR);
    const char *names[8];
    Span spans[8];
    if (x->nargs > 8) return sh_fail(s, x->args[8].name_span, "a loop takes at most 8 names");
    for (size_t k = 0; k < x->nargs; k++) names[k] = x->args[k].name, spans[k] = x->args[k].name_span;
    for (size_t i = 0; i < items.n; i++) {
        Env inner = *env;
        if (bind_targets(s, &inner, names, spans, x->nargs, &items.items[i]) < 0) return mk(V_ERR);
        SV v = eval(s, &inner, x->a);
        out = append(s, &out, &v);
    }
    return out;
}

/* A list item or positional argument: `*xs` adds each of xs's items. */
static int splice(Sh *s, Env *env, const Expr *x, SV *list)
{
    if (x->kind != EX_STAR) {
        SV v = eval(s, env, x);
        *list = append(s, list, &v);
        return 0;
    }
    SV v = eval(s, env, x->a);
    if (v.kind == V_ERR) return -1;
    if (v.kind == V_CONF && v.c.kind == VAL_INTS) {
        for (size_t i = 0; i < v.c.n; i++) {
            SV iv = mk_int(v.c.ints[i]);
            *list = append(s, list, &iv);
        }
        return 0;
    }
    if (v.kind != V_TUPLE) return sh_err(s, x->span, "'*' splices a list or tuple, not %s", sh_ty(&v)), -1;
    for (size_t i = 0; i < v.n; i++) *list = append(s, list, &v.items[i]);
    return 0;
}

static SV eval(Sh *s, Env *env, const Expr *x)
{
    SV v = mk(V_CONF);
    switch (x->kind) {
    case EX_INT: case EX_FLOAT: case EX_BOOL: case EX_STR: case EX_NONE:
        elab_value(s->e, env->inst, x, &v.c);   /* a literal: cannot fail */
        return v;
    case EX_NAME: return lookup(s, env, x);
    case EX_FREE: return sh_err(s, x->span, "a free value `?` in a forward: only a family's configuration is free"), mk(V_ERR);
    case EX_LIST:
    case EX_TUPLE: {
        SV t = sh_tuple_of(s, 0);
        for (size_t i = 0; i < x->nargs; i++)
            if (splice(s, env, x->args[i].value, &t) < 0) return mk(V_ERR);
        return t;
    }
    case EX_UNARY: {
        SV a = eval(s, env, x->a);
        if (a.kind == V_TENSOR) {
            TNode n = {.kind = TN_UNOP, .op = ast_op_name(x->op), .opc = x->op, .span = x->span, .a = a};
            return sh_record(s, &n, a);
        }
        if (a.kind == V_ERR || a.kind == V_ANY || a.kind == V_DIM) return a;
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
        if (x->op == TK_IS || x->op == TK_ISNOT) {   /* self.downsample is not none */
            int an = a.kind == V_CONF && a.c.kind == VAL_NONE, bn = b.kind == V_CONF && b.c.kind == VAL_NONE;
            if (!an && !bn && (a.kind != V_CONF || b.kind != V_CONF)) return mk(V_ANY);   /* two objects: unknown */
            v.c.kind = VAL_BOOL;
            v.c.i = (an && bn) || (!an && !bn && la_val_eq(&a.c, &b.c));
            if (x->op == TK_ISNOT) v.c.i = !v.c.i;
            return v;
        }
        if (a.kind == V_TUPLE && b.kind == V_TUPLE && x->op == '+') {   /* feats + [y] */
            SV t = a;
            for (size_t i = 0; i < b.n; i++) t = append(s, &t, &b.items[i]);
            return t;
        }
        if (a.kind == V_MOD || b.kind == V_MOD || a.kind == V_TUPLE || b.kind == V_TUPLE)
            return sh_fail(s, x->span, "operator %s cannot apply to %s and %s", ast_op_name(x->op), sh_ty(&a), sh_ty(&b));
        TNode n = {.kind = TN_BINOP, .op = ast_op_name(x->op), .opc = x->op, .span = x->span, .a = a, .b = b};
        if (x->op == '@') return sh_record(s, &n, sh_matmul(s, x->span, &a, &b));
        if (a.kind == V_TENSOR || b.kind == V_TENSOR) {
            SV r = sh_broadcast(s, x->span, &a, &b, ast_op_name(x->op));
            if (r.kind == V_TENSOR && (x->op == TK_EQ || x->op == TK_NE || x->op == '<' || x->op == '>' ||
                                       x->op == TK_LE || x->op == TK_GE))
                r.dtype = "bool";
            return sh_record(s, &n, r);
        }
        if (a.kind == V_ANY || b.kind == V_ANY) return mk(V_ANY);
        return conf_op(s, env->inst, x, &a, &b);
    }
    case EX_COND: {
        SV c = eval(s, env, x->a);
        if (c.kind == V_CONF) return eval(s, env, val_truthy(&c.c) ? x->b : x->c);
        if (c.kind == V_TENSOR)
            return sh_fail(s, x->a->span, "the condition of '?:' must be a configuration value, not a tensor");
        if (s->tr) return sh_fail(s, x->a->span, "cannot compile a condition whose value is not known");
        SV b = eval(s, env, x->b);   /* unknown condition: both branches are checked */
        eval(s, env, x->c);
        return b;
    }
    case EX_ATTR: {
        if (sh_ns_attr(x, &v)) return v;   /* torch.float32, math.pi, self.training */
        /* self.x is the block's own member; self alone may be its container */
        int self = x->a->kind == EX_NAME && !strcmp(x->a->u.s, "self") && !bound(env, "self");
        SV a = self ? mk_mod((long)env->inst) : eval(s, env, x->a);
        if (a.kind == V_ERR || a.kind == V_ANY) return a;
        if (a.kind == V_MOD) {
            int found;
            SV m = member(s, a.mod, x->u.s, &found);
            return found ? m : no_member(s, x->span, a.mod, x->u.s);
        }
        SV r = sh_attr(s, x->span, &a, x->u.s);   /* x.shape, x.dtype, ... */
        if (r.kind != V_TENSOR) return r;
        TNode n = {.kind = TN_ATTR, .op = x->u.s, .span = x->span, .a = a};   /* x.T */
        return sh_record(s, &n, r);
    }
    case EX_COMP: return comprehension(s, env, x);
    case EX_STAR: return sh_fail(s, x->span, "'*' splices a list only into a call's arguments or a list");
    case EX_NAMED: return sh_fail(s, x->span, "a name pattern belongs to the declaration of a list of modules");
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
    long box = self_of(s, (size_t)inst);
    if (!fw && box != inst) return call_module(s, box, a);   /* class Stage(nn.Sequential): the chain */
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
    for (size_t i = 0; i < fw->nparams; i++) {
        if (set[i]) continue;
        if (fw->param_defs && fw->param_defs[i]) {   /* forward(x, targets = none) */
            SV d = eval(s, &env, fw->param_defs[i]);
            bind(s, &env, fw->params[i], &d);
            continue;
        }
        return sh_fail(s, a->span, "the forward of %s takes %zu argument%s, got %zu (missing '%s')", in->type,
                    fw->nparams, fw->nparams == 1 ? "" : "s", a->npos + a->nkw, fw->params[i]);
    }
    s->depth++;
    s->frames[s->depth] = (Frame){a->span, (size_t)inst};
    SV ret = mk(V_ANY);
    int returned = exec(s, &env, fw->body, fw->nbody, &ret);
    s->depth--;
    if (!returned) return sh_fail(s, fw->span, "the forward of %s returns nothing", in->type);
    return ret;
}

/* A built-in layer's call with its tensors given by keyword, as torch's
 * forward names them (self_attention(query = x, key = x, value = x)):
 * the keywords become positions; an unknown one is an error. */
static int layer_positional(Sh *s, const Instance *in, const Args *a, Args *out)
{
    static const char *const mha[] = {"query", "key", "value", "key_padding_mask", "need_weights", "attn_mask",
                                      "average_attn_weights", "is_causal", NULL};
    static const char *const rnn[] = {"input", "hx", NULL};
    static const char *const two[] = {"input1", "input2", NULL};
    static const char *const bag[] = {"input", "offsets", "per_sample_weights", NULL};
    static const char *const one[] = {"input", NULL};
    const char *n = in->layer->name;
    const char *const *names = !strcmp(n, "MultiheadAttention") ? mha
                             : !strcmp(n, "LSTM") || !strcmp(n, "GRU") || !strcmp(n, "RNN") ? rnn
                             : !strcmp(n, "Bilinear") ? two : !strcmp(n, "EmbeddingBag") ? bag : one;
    *out = *a;
    out->nkw = 0;
    for (size_t k = 0; k < a->nkw; k++) {
        size_t i = 0;
        while (names[i] && strcmp(names[i], a->kn[k]) != 0) i++;
        if (!names[i]) {   /* a keyword the layer's forward does not take: the layer's own rule says so */
            out->kn[out->nkw] = a->kn[k], out->knspan[out->nkw] = a->knspan[k];
            out->kspan[out->nkw] = a->kspan[k], out->kv[out->nkw++] = a->kv[k];
            continue;
        }
        if (i < a->npos) return sh_err(s, a->knspan[k], "%s's forward: '%s' is given twice", n, a->kn[k]), -1;
        while (out->npos < i) {   /* the ones before it: their defaults */
            out->pos[out->npos] = mk(V_CONF);
            out->pos[out->npos].c.kind = VAL_NONE;
            out->pspan[out->npos++] = a->span;
        }
        if (out->npos > i && out->pos[i].kind != V_CONF)
            return sh_err(s, a->knspan[k], "%s's forward: '%s' is given twice", n, a->kn[k]), -1;
        out->pos[i] = a->kv[k];
        out->pspan[i] = a->kspan[k];
        if (out->npos <= i) out->npos = i + 1;
    }
    return 0;
}

/* A built-in layer's call, recorded when tracing: its inputs (positional,
 * then keywords by name). */
static SV layer_call(Sh *s, long inst, const Args *a)
{
    const Instance *in = &s->e->insts[inst];
    SV y = sh_layer_fwd(s, in, a);
    if (!s->tr || y.kind == V_ERR) return y;
    TNode n = {.kind = TN_LAYER, .op = in->layer->name, .span = a->span, .inst = (size_t)inst};
    n.nargs = a->npos + a->nkw;
    n.args = arena_array(s->e->a, n.nargs + 1, sizeof(TArg));
    if (!n.args) return sh_fail(s, a->span, "out of memory");
    for (size_t i = 0; i < a->npos; i++) n.args[i] = (TArg){NULL, a->pos[i], 1};
    for (size_t k = 0; k < a->nkw; k++) n.args[a->npos + k] = (TArg){a->kn[k], a->kv[k], 1};
    return sh_record(s, &n, y);
}

static SV call_module(Sh *s, long inst, const Args *a)
{
    const Instance *in = &s->e->insts[inst];
    if (in->layer && a->nkw) {
        Args b;
        if (layer_positional(s, in, a, &b) < 0) return mk(V_ERR);
        return layer_call(s, inst, &b);
    }
    if (in->layer) return layer_call(s, inst, a);
    if (in->list && !strcmp(in->type, "ModuleDict"))
        return sh_fail(s, a->span, "ModuleDict '%s' has no forward: call its items (%s.name(x))", in->path, in->path);
    if (in->list) {
        if (a->npos != 1 || a->nkw)
            return sh_fail(s, a->span, "%s '%s' takes one input, got %zu", in->type, in->path, a->npos + a->nkw);
        Args b = *a;
        for (size_t k = 0; k < in->nkids; k++) {   /* the chain, in the order the items were made */
            size_t c = s->e->kids[in->kid0 + k];
            SV y = call_module(s, (long)c, &b);
            if (y.kind == V_ERR || y.kind == V_ANY) return y;
            b.pos[0] = y;
        }
        return b.pos[0];
    }
    return block_fwd(s, inst, a);
}

static SV not_callable(Sh *s, Span sp, const SV *v)
{
    if (v->kind == V_TENSOR)
        return sh_fail(s, sp, "cannot call a tensor (%s): only modules and functions are called", sh_ty(v));
    return sh_fail(s, sp, "cannot call %s: it is not a module", sh_ty(v));
}

/* len(x): of a list or tuple, a module list, a tensor's first dimension. */
static SV length(Sh *s, const Args *a)
{
    if (a->npos != 1 || a->nkw) return sh_fail(s, a->span, "len() takes one argument");
    const SV *v = &a->pos[0];
    switch (v->kind) {
    case V_TUPLE: return mk_int((int64_t)v->n);
    case V_MOD:
        if (s->e->insts[v->mod].list) return mk_int((int64_t)s->e->insts[v->mod].nitems);
        break;
    case V_TENSOR:
        if (v->rank == 0) return sh_fail(s, a->pspan[0], "len() of a 0-d tensor");
        return v->rank < 0 ? dim_sv(UNK) : dim_sv(v->d[0]);
    case V_CONF:
        if (v->c.kind == VAL_INTS) return mk_int((int64_t)v->c.n);
        if (v->c.kind == VAL_STR) return mk_int((int64_t)strlen(v->c.s));
        break;
    case V_ANY: case V_ERR: return *v;
    default: break;
    }
    return sh_fail(s, a->pspan[0], "len() of %s", sh_ty(v));
}

/* recv.name(args) where recv is a module or a list value: a descendant
 * module called (self.transformer.wte(idx)), a list's items(), values()
 * and children(), or a list value's append(y) and extend(ys), which rebind
 * the name the list is held by. */
static SV value_method(Sh *s, Env *env, const Expr *x, const SV *recv, const Args *a)
{
    const Expr *fx = x->a;
    const char *name = fx->u.s;
    if (recv->kind == V_TUPLE) {
        int ext = !strcmp(name, "extend");
        if (strcmp(name, "append") && !ext) {
            sh_err(s, fx->span, "a list has no method '%s'", name);
            diag(s->e->d, DG_HELP, fx->span, "a list value grows with append(y) and extend(ys)");
            return mk(V_ERR);
        }
        if (a->npos != 1 || a->nkw) return sh_fail(s, x->span, "%s() takes one argument", name);
        if (fx->a->kind != EX_NAME)
            return sh_fail(s, fx->a->span, "%s() needs a list held by a name (feats.%s(y))", name, name);
        if (ext && a->pos[0].kind != V_TUPLE) return sh_fail(s, a->pspan[0], "extend() takes a list, not %s",
                                                              sh_ty(&a->pos[0]));
        SV t = *recv;
        for (size_t i = 0; i < (ext ? a->pos[0].n : 1); i++) t = append(s, &t, ext ? &a->pos[0].items[i] : &a->pos[0]);
        bind(s, env, fx->a->u.s, &t);
        SV none = mk(V_CONF);
        none.c.kind = VAL_NONE;
        return none;
    }
    const Elab *e = s->e;
    long mod = recv->mod;
    if (!strcmp(name, "items") || !strcmp(name, "values") || !strcmp(name, "children")) {
        long box = self_of(s, (size_t)mod);
        const Instance *L = &e->insts[box];
        if (a->npos || a->nkw) return sh_fail(s, x->span, "%s() takes no arguments", name);
        SV t = sh_tuple_of(s, 0);
        size_t pl = strlen(L->path);
        for (size_t k = 0; k < L->nkids; k++) {
            size_t c = e->kids[L->kid0 + k];
            SV m = mk_mod((long)c), item = m;
            if (name[0] == 'i') {
                SV key = mk(V_CONF);
                key.c.kind = VAL_STR;
                key.c.s = e->insts[c].path + (pl ? pl + 1 : 0);
                item = sh_pair(s, &key, &m);
            }
            t = append(s, &t, &item);
        }
        return t;
    }
    if (!strcmp(name, "forward")) return call_module(s, mod, a);
    int found;
    SV m = member(s, mod, name, &found);
    if (!found) return no_member(s, fx->span, mod, name);
    if (m.kind != V_MOD) return not_callable(s, fx->span, &m);
    return call_module(s, m.mod, a);
}

static SV call(Sh *s, Env *env, const Expr *x)
{
    Args a;
    memset(&a, 0, sizeof a);
    a.span = x->span;
    const Expr *fx = x->a;
    int ns = sh_fn_ns(fx);   /* torch.X, F.X, math.X: a function of that namespace */
    int method = fx->kind == EX_ATTR && ns < 0 &&
                 !(fx->a->kind == EX_NAME && !strcmp(fx->a->u.s, "self") && !bound(env, "self"));
    SV recv = mk(V_ANY);
    int of_value = 0;   /* a method of a module or of a list value */
    if (method) {   /* x.flatten(1): the receiver is the first argument */
        recv = eval(s, env, fx->a);
        of_value = recv.kind == V_MOD || recv.kind == V_TUPLE;
        if (!of_value) {
            a.pos[0] = recv;
            a.pspan[0] = fx->a->span;
            a.npos = 1;
        }
    }
    int bad = 0;
    for (size_t i = 0; i < x->nargs; i++) {
        if (x->args[i].name) {
            if (a.nkw >= 16) return sh_fail(s, x->span, "too many arguments");
            a.kn[a.nkw] = x->args[i].name;
            a.knspan[a.nkw] = x->args[i].name_span;
            a.kspan[a.nkw] = x->args[i].value->span;
            a.kv[a.nkw] = eval(s, env, x->args[i].value);
            bad |= a.kv[a.nkw++].kind == V_ERR;
            continue;
        }
        SV list = sh_tuple_of(s, 0);   /* one value, or a splice's several */
        if (splice(s, env, x->args[i].value, &list) < 0) {
            bad = 1;
            continue;
        }
        for (size_t k = 0; k < list.n; k++) {
            if (a.npos >= 16) return sh_fail(s, x->span, "too many arguments");
            a.pspan[a.npos] = x->args[i].value->span;
            bad |= list.items[k].kind == V_ERR;
            a.pos[a.npos++] = list.items[k];
        }
    }
    if (of_value) return bad ? mk(V_ERR) : value_method(s, env, x, &recv, &a);
    if (fx->kind == EX_NAME && !strcmp(fx->u.s, "len") && !bound(env, "len"))
        return bad ? mk(V_ERR) : length(s, &a);
    const char *name = fx->kind == EX_NAME ? fx->u.s : fx->kind == EX_ATTR ? fx->u.s : NULL;
    if (method) {
        if (a.pos[0].kind == V_ERR || a.pos[0].kind == V_ANY) return a.pos[0];
        if (!sh_is_function(NS_METHOD, name)) return sh_fn_unknown(s, fx->span, NS_METHOD, name);
        return bad ? mk(V_ERR) : sh_fn_call(s, NS_METHOD, name, &a);
    }
    SV callee;
    if (fx->kind == EX_ATTR && fx->a->kind == EX_NAME && !strcmp(fx->a->u.s, "self")) {
        int found;
        callee = member(s, (long)env->inst, name, &found);
        if (!found && (!strcmp(name, "items") || !strcmp(name, "values") || !strcmp(name, "children"))) {
            SV me = mk_mod((long)env->inst);
            return bad ? mk(V_ERR) : value_method(s, env, x, &me, &a);
        }
        if (!found) return no_member(s, fx->span, (long)env->inst, name);
    } else if (ns > 0) {
        if (!sh_is_function(ns, name)) return sh_fn_unknown(s, fx->span, ns, name);
        return bad ? mk(V_ERR) : sh_fn_call(s, ns, name, &a);
    } else if (fx->kind == EX_NAME) {
        Bind *b;
        for (b = env->head; b && strcmp(b->name, name) != 0; b = b->next)
            ;
        long c = b ? -1 : !strcmp(name, "self") ? self_of(s, env->inst) : elab_child(s->e, env->inst, name);
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
    if (callee.kind != V_MOD) return not_callable(s, fx->span, &callee);
    return call_module(s, callee.mod, &a);
}

/* ------------------------------------------------------------ statements */

static int exec(Sh *s, Env *env, Stmt **body, size_t n, SV *ret)
{
    for (size_t i = 0; i < n; i++) {
        const Stmt *st = body[i];
        switch (st->kind) {
        case ST_ASSIGN: {
            if (st->quoted || st->owner) {
                sh_err(s, st->name_span, "%s", st->owner ? "a forward does not assign to a module's attributes"
                                                         : "a quoted name declares a module; in a forward, assign "
                                                           "to a plain name");
                break;
            }
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
        case ST_FOR: {   /* unrolled: each iteration is checked */
            SV items;
            int r = iterate(s, env, st->value, &items);
            if (r < 0) break;
            if (s->nloops > MAX_CALL_DEPTH) {
                sh_err(s, st->span, "loops nested deeper than %d", MAX_CALL_DEPTH);
                break;
            }
            int returned = 0, slot = s->nloops++;
            for (size_t k = 0; k < items.n && !returned; k++) {
                s->loops[slot] = (Loop){st->value->span, k};
                if (bind_targets(s, env, st->names, st->name_spans, st->nnames, &items.items[k]) < 0) break;
                returned = exec(s, env, st->body, st->nbody, ret);
            }
            s->nloops--;
            if (returned) return 1;
            break;
        }
        case ST_IF: {
            SV c = eval(s, env, st->value);
            if (c.kind == V_CONF) {
                if (val_truthy(&c.c) ? exec(s, env, st->body, st->nbody, ret) : exec(s, env, st->orelse, st->norelse, ret))
                    return 1;
            } else if (c.kind == V_TENSOR) {
                sh_err(s, st->value->span, "the condition of an if must be a configuration value, not a tensor");
            } else if (s->tr) {
                sh_err(s, st->value->span, "cannot compile a condition whose value is not known");
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

/* Runs the model's forward: its inputs' symbolic sizes are bound by
 * binds[0..nb) when tr is given (tracing), left symbolic otherwise. */
static int run_forward(Elab *e, const SizeBind *binds, size_t nb, Trace *tr)
{
    Sh s;
    memset(&s, 0, sizeof s);
    s.e = e;
    s.tr = tr;
    size_t before = e->d->nerrors, root = 0;
    while (root < e->ninsts && e->insts[root].parent != (size_t)-1) root++;
    const Stmt *fw = root < e->ninsts ? find_forward(e->model) : NULL;
    if (!fw && tr) return diag(e->d, DG_ERROR, e->model ? e->model->span : (Span){0}, "the model has no forward"), -1;
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
        if (!inp && fw->param_defs && fw->param_defs[i]) {   /* forward(idx, targets = none) */
            v = eval(&s, &env, fw->param_defs[i]);
        } else if (!inp) {
            diag(e->d, DG_WARNING, fw->param_spans[i], "forward parameter '%s' has no 'input %s: type' declaration; "
                 "its shape is not checked", fw->params[i], fw->params[i]);
        } else if (inp->type->ndims > MAXR) {
            sh_err(&s, inp->type->span, "more than %d dimensions", MAXR);
        } else {
            v = mk_tensor(inp->type->dtype, (int)inp->type->ndims);
            for (size_t k = 0; k < inp->type->ndims; k++) {
                const Expr *dx = inp->type->dims[k];
                Val c;
                if (dx->kind == EX_NAME && !conf_defined(&s, root, dx->u.s)) {
                    v.d[k] = (Dim){-1, dx->u.s};
                    for (size_t b = 0; tr && b < nb; b++)
                        if (!strcmp(binds[b].name, dx->u.s)) v.d[k] = exact(binds[b].value);
                    if (tr && !known(v.d[k])) sh_err(&s, dx->span, "the input size '%s' has no value", dx->u.s);
                } else if (elab_value(e, root, dx, &c) == 0 && c.kind == VAL_INT && c.i >= 0) v.d[k] = exact(c.i);
                else sh_err(&s, dx->span, "a size of an input must be a non-negative integer or a name");
            }
        }
        if (tr && v.kind == V_TENSOR) {
            TNode n = {.kind = TN_INPUT, .iarg = (int)i, .span = fw->param_spans[i]};
            v = sh_record(&s, &n, v);
        }
        bind(&s, &env, fw->params[i], &v);
        in[i] = v;
    }
    if (tr) tr->ninputs = fw->nparams;
    SV ret;
    if (!exec(&s, &env, fw->body, fw->nbody, &ret)) sh_err(&s, fw->span, "the model's forward returns nothing");
    else if (tr) tr->ret = ret;
    else e->forward_sig = signature(&s, fw, in, &ret);
    return e->d->nerrors > before ? -1 : 0;
}

int shapes_check(Elab *e)
{
    return run_forward(e, NULL, 0, NULL);
}

int shapes_trace(Elab *e, const SizeBind *binds, size_t nb, Trace *tr)
{
    memset(tr, 0, sizeof *tr);
    tr->weight_id = arena_array(e->a, e->ntensors + 1, sizeof(int));
    if (!tr->weight_id) return -1;
    return run_forward(e, binds, nb, tr);
}

