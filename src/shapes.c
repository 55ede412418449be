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
 * Built-in functions (relu, reshape, cat, matmul, sdpa, ...) follow torch.
 * Conditionals on configuration values are decided here, so the branch
 * not taken is not checked.  Errors go to e->d at the offending
 * expression, with a note at each block call leading there; an error
 * repeated by several instances of one block is reported once.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arch.h"
#include "arch.tab.h"

enum { MAXR = 8, MAX_CALL_DEPTH = 64 };

typedef enum { V_ERR, V_ANY, V_TENSOR, V_TUPLE, V_CONF, V_DIM, V_MOD } VKind;

/* n >= 0: exact; sym: a symbolic size; n == UNKN: unknown (other negative
 * values only in size lists: reshape's -1). */
typedef struct Dim { int64_t n; const char *sym; } Dim;

typedef struct SV {
    VKind       kind;
    const char *dtype;    /* tensor */
    int         rank;     /* tensor: -1 unknown */
    Dim         d[MAXR];
    struct SV  *items;    /* tuple */
    size_t      n;
    Val         c;        /* conf */
    Dim         dim;      /* V_DIM: a size that is not a constant */
    long        mod;      /* V_MOD: the instance */
} SV;

typedef struct Env { size_t inst; NameTab vars; } Env;   /* one forward being run: the names it assigned (SV) */
typedef struct Frame { Span call; size_t inst; } Frame;  /* a block call */

typedef struct Sh {
    Elab    *e;
    Frame    frames[MAX_CALL_DEPTH + 1];
    int      depth;
    NameTab  given;        /* diagnostics given, for report(): see index_diags */
    size_t   seen;         /* e->d->list[0..seen) is in given */
    NameTab  defs[2];      /* per block (0) or model (1) name: a NameTab of the names its body defines */
} Sh;

#define UNKN INT64_MIN
static const Dim UNK = {UNKN, NULL};

/* ------------------------------------------------------------ helpers */

static SV mk(VKind k)
{
    SV v;
    memset(&v, 0, sizeof v);
    v.kind = k;
    return v;
}

static SV mk_int(int64_t i)
{
    SV v = mk(V_CONF);
    v.c.kind = VAL_INT;
    v.c.i = i;
    return v;
}

static SV mk_mod(long inst)
{
    SV v = mk(V_MOD);
    v.mod = inst;
    return v;
}

static Dim exact(int64_t n) { return (Dim){n, NULL}; }
static int known(Dim d) { return d.n >= 0 && !d.sym; }

/* A size as a value: an integer when it is exact. */
static SV dim_sv(Dim d)
{
    SV v = known(d) ? mk_int(d.n) : mk(V_DIM);
    v.dim = d;
    return v;
}

static SV mk_tensor(const char *dtype, int rank)
{
    SV v = mk(V_TENSOR);
    v.dtype = dtype;
    v.rank = rank;
    for (int i = 0; i < MAXR; i++) v.d[i] = UNK;
    return v;
}

static int isnum(Dim d) { return !d.sym && d.n != UNKN; }   /* an integer, possibly negative */
/* Provably different: two exact sizes that differ. */
static int differ(Dim a, Dim b) { return known(a) && known(b) && a.n != b.n; }

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
static const char *ty(const SV *v)
{
    static char bufs[8][160];
    static unsigned k;
    return fmt_type(v, bufs[k++ % 8], sizeof bufs[0]);
}

/* Reports msg at sp once (a block's instances repeat it), with a note at
 * decl (the layer concerned) and at each block call that led there. */
/* What report() asks of the diagnostics so far, as keys of s->given:
 * "E file lo hi msg" for each error, "N file lo" for each note.  Entries
 * are added as they appear, so that no report scans them all. */
static const char *given_key(Sh *s, DiagLevel lvl, Span sp, const char *msg)
{
    return lvl == DG_ERROR ? arena_printf(s->e->a, "E%u %u %u %s", sp.file, sp.lo, sp.hi, msg)
         : lvl == DG_NOTE  ? arena_printf(s->e->a, "N%u %u", sp.file, sp.lo) : NULL;
}

static void index_diags(Sh *s)
{
    const Diags *d = s->e->d;
    for (; s->seen < d->n; s->seen++) {
        const char *k = given_key(s, d->list[s->seen].level, d->list[s->seen].span, d->list[s->seen].msg);
        if (k) names_put(s->e->a, &s->given, k, s);
    }
}

static int given(Sh *s, DiagLevel lvl, Span sp, const char *msg)
{
    index_diags(s);
    const char *k = given_key(s, lvl, sp, msg);
    return k && names_get(&s->given, k);
}

static void report(Sh *s, Span sp, const Instance *decl, const char *msg)
{
    Diags *d = s->e->d;
    if (given(s, DG_ERROR, sp, msg))
        return;
    if (decl && given(s, DG_NOTE, decl->span, NULL))   /* the declaration is shown once */
        decl = NULL;
    diag(d, DG_ERROR, sp, "%s", msg);
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

static void err(Sh *s, Span sp, const char *fmt, ...) RCC_PRINTF(3, 4);
static void err(Sh *s, Span sp, const char *fmt, ...)
{
    FORMAT(msg, fmt);
    report(s, sp, NULL, msg);
}

/* An error; the value it leaves. */
static SV fail(Sh *s, Span sp, const char *fmt, ...) RCC_PRINTF(3, 4);
static SV fail(Sh *s, Span sp, const char *fmt, ...)
{
    FORMAT(msg, fmt);
    report(s, sp, NULL, msg);
    return mk(V_ERR);
}

/* An error about a layer's input, with a note at the layer's declaration. */
static SV lfail(Sh *s, Span sp, const Instance *in, const char *fmt, ...) RCC_PRINTF(4, 5);
static SV lfail(Sh *s, Span sp, const Instance *in, const char *fmt, ...)
{
    FORMAT(msg, fmt);
    report(s, sp, in, msg);
    return mk(V_ERR);
}

static int is_float_dtype(const char *dt) { return dt && strcmp(dt, "bool") != 0 && (dt[0] == 'f' || dt[0] == 'b'); }

/* Wraps a (possibly negative) dim index for a rank; -1 when out of range. */
static int wrap(int64_t d, int rank)
{
    if (d < 0) d += rank;
    return d < 0 || d >= rank ? -1 : (int)d;
}

/* ------------------------------------------------------------ arguments */

typedef struct Args {
    SV          pos[16], kv[16];      /* positional and keyword values */
    Span        pspan[16], kspan[16];
    const char *kn[16];               /* keyword names */
    size_t      npos, nkw;
    Span        span;                 /* the call */
} Args;

/* The argument at position i or named name (NULL: absent). */
static const SV *arg(const Args *a, size_t i, const char *name, Span *sp)
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
static int as_int(const SV *v, int64_t *out)
{
    if (v->kind == V_CONF && (v->c.kind == VAL_INT || v->c.kind == VAL_BOOL)) {
        *out = v->c.i;
        return 1;
    }
    return v->kind == V_DIM || v->kind == V_ANY || v->kind == V_ERR ? 0 : -1;
}

static Dim as_dim(const SV *v)
{
    int64_t i;
    if (as_int(v, &i) == 1) return exact(i);
    return v->kind == V_DIM ? v->dim : UNK;
}

/* A list of integers given as a tuple/list/INTS value or as the rest of
 * the positional arguments from i.  Returns the count, -1 when not ints. */
static int int_list(const Args *a, size_t i, const char *name, Dim *out, int cap)
{
    const SV *v = arg(a, i, name, NULL);
    if (!v) return 0;
    int n = 0;
    if (v->kind == V_TUPLE) {
        for (size_t k = 0; k < v->n && n < cap; k++) {
            int64_t x;
            if (as_int(&v->items[k], &x) < 0) return -1;
            out[n++] = as_dim(&v->items[k]);
        }
        return n;
    }
    if (v->kind == V_CONF && v->c.kind == VAL_INTS) {
        for (size_t k = 0; k < v->c.n && n < cap; k++) out[n++] = exact(v->c.ints[k]);
        return n;
    }
    if (i >= a->npos) {
        int64_t x;
        if (as_int(v, &x) < 0) return -1;
        out[0] = as_dim(v);
        return 1;
    }
    for (size_t k = i; k < a->npos && n < cap; k++) {
        int64_t x;
        if (as_int(&a->pos[k], &x) < 0) return -1;
        out[n++] = as_dim(&a->pos[k]);
    }
    return n;
}

/* ----------------------------------------------------------- broadcast */

static SV broadcast(Sh *s, Span sp, const SV *a, const SV *b, const char *what)
{
    if (a->kind != V_TENSOR) return *b;
    if (b->kind != V_TENSOR) return *a;
    SV r = mk_tensor(is_float_dtype(a->dtype) ? a->dtype : b->dtype, -1);
    if (a->rank < 0 || b->rank < 0) return r;
    r.rank = a->rank > b->rank ? a->rank : b->rank;
    for (int i = 0; i < r.rank; i++) {
        int ia = a->rank - r.rank + i, ib = b->rank - r.rank + i;
        Dim x = ia >= 0 ? a->d[ia] : exact(1), y = ib >= 0 ? b->d[ib] : exact(1);
        if (known(x) && x.n == 1) r.d[i] = y;
        else if (known(y) && y.n == 1) r.d[i] = x;
        else if (differ(x, y))
            return fail(s, sp, "%s: shapes %s and %s do not broadcast (dimension %d: %lld vs %lld)", what, ty(a), ty(b),
                        i, (long long)x.n, (long long)y.n);
        else r.d[i] = known(x) || x.sym ? x : y;
    }
    return r;
}

static SV matmul(Sh *s, Span sp, const SV *a, const SV *b)
{
    if (a->kind != V_TENSOR || b->kind != V_TENSOR)
        return a->kind == V_ERR || b->kind == V_ERR ? mk(V_ERR)
             : a->kind == V_ANY || b->kind == V_ANY ? mk(V_ANY)
             : fail(s, sp, "matmul takes two tensors");
    if (a->rank < 0 || b->rank < 0) return mk_tensor(a->dtype, -1);
    if (a->rank == 0 || b->rank == 0) return fail(s, sp, "matmul of a 0-d tensor");
    Dim ka = a->d[a->rank - 1], kb = b->rank == 1 ? b->d[0] : b->d[b->rank - 2];
    if (differ(ka, kb))
        return fail(s, sp, "matmul: the inner dimensions differ: %s @ %s (%lld vs %lld)",
                    ty(a), ty(b), (long long)ka.n, (long long)kb.n);
    SV ba = mk_tensor(a->dtype, a->rank > 2 ? a->rank - 2 : 0), bb = mk_tensor(b->dtype, b->rank > 2 ? b->rank - 2 : 0);
    memcpy(ba.d, a->d, sizeof(Dim) * (size_t)ba.rank);
    memcpy(bb.d, b->d, sizeof(Dim) * (size_t)bb.rank);
    SV r = broadcast(s, sp, &ba, &bb, "matmul (batch dimensions)");
    if (r.kind != V_TENSOR) return r;
    if (a->rank >= 2) r.d[r.rank++] = a->d[a->rank - 2];
    if (b->rank >= 2) r.d[r.rank++] = b->d[b->rank - 1];
    r.dtype = a->dtype;
    return r;
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

/* The names a body assigns, in both branches of its ifs. */
static void add_defs(Sh *s, NameTab *t, Stmt **body, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const Stmt *st = body[i];
        if (st->kind == ST_ASSIGN && st->name) names_put(s->e->a, t, st->name, s);
        if (st->kind == ST_IF) {
            add_defs(s, t, st->body, st->nbody);
            add_defs(s, t, st->orelse, st->norelse);
        }
    }
}

/* Is name a block parameter or a constant of the declaration?  (Its
 * names are gathered once per declaration.) */
static int conf_defined(Sh *s, size_t inst, const char *name)
{
    const Decl *dc = s->e->insts[inst].decl;
    if (!dc) return 0;
    NameTab *byname = &s->defs[dc->kind == DECL_MODEL];
    NameTab *t = names_get(byname, dc->name);
    if (!t) {
        t = ARENA_NEW(s->e->a, NameTab);
        if (!t || names_put(s->e->a, byname, dc->name, t) < 0) {   /* out of memory: the long way */
            for (size_t k = 0; k < dc->nparams; k++)
                if (!strcmp(dc->params[k].name, name)) return 1;
            return body_defines(dc->body, dc->nbody, name);
        }
        for (size_t k = 0; k < dc->nparams; k++) names_put(s->e->a, t, dc->params[k].name, s);
        add_defs(s, t, dc->body, dc->nbody);
    }
    return names_get(t, name) != NULL;
}

/* A raw param/buffer of inst used directly in the forward. */
static int raw_tensor(const Sh *s, size_t inst, const char *name, SV *out)
{
    const Elab *e = s->e;
    long i = elab_find_key(e, e->insts[inst].path, name);
    if (i < 0 || e->tensors[i].inst != inst) return 0;
    const ExpTensor *t = &e->tensors[i];
    *out = mk_tensor(rcc_dtype_name(t->dtype), t->ndim);
    for (int d = 0; d < t->ndim && d < MAXR; d++) out->d[d] = exact(t->shape[d]);
    return 1;
}

static SV lookup(Sh *s, Env *env, const Expr *x)
{
    const char *name = x->u.s;
    const SV *b = names_get(&env->vars, name);
    if (b) return *b;
    long c = elab_child(s->e, env->inst, name);
    if (c >= 0) return mk_mod(c);
    SV t;
    if (raw_tensor(s, env->inst, name, &t)) return t;
    if (conf_defined(s, env->inst, name)) {
        SV v = mk(V_CONF);
        if (elab_value(s->e, env->inst, x, &v.c) < 0) return mk(V_ERR);
        return v;
    }
    return fail(s, x->span, "unknown name '%s'", name);
}

static void bind(Sh *s, Env *env, const char *name, const SV *v)
{
    SV *b = names_get(&env->vars, name);
    if (!b) {
        b = ARENA_NEW(s->e->a, SV);
        if (!b || names_put(s->e->a, &env->vars, name, b) < 0) return;
    }
    *b = *v;
}

static SV tuple_of(Sh *s, size_t n)
{
    SV t = mk(V_TUPLE);
    t.items = arena_array(s->e->a, n + 1, sizeof(SV));
    t.n = t.items ? n : 0;
    return t;
}

static SV pair(Sh *s, const SV *a, const SV *b)
{
    SV t = tuple_of(s, 2);
    if (t.n < 2) return mk(V_ERR);
    t.items[0] = *a;
    t.items[1] = *b;
    return t;
}

/* x.shape: a tuple of sizes. */
static SV shape_of(Sh *s, const SV *x)
{
    if (x->rank < 0) return mk(V_ANY);
    SV t = tuple_of(s, (size_t)x->rank);
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
            return fail(s, x->span, "a tuple or module list takes one integer index");
        SV iv = eval(s, env, x->args[0].value);
        int64_t i;
        int k = as_int(&iv, &i);
        if (k <= 0) return k < 0 ? fail(s, x->args[0].value->span, "the index must be an integer") : mk(V_ANY);
        if (base.kind == V_TUPLE) {
            int w = wrap(i, (int)base.n);
            return w < 0 ? fail(s, x->span, "index %lld out of range for a tuple of %zu", (long long)i, base.n)
                         : base.items[w];
        }
        const Instance *in = &s->e->insts[base.mod];
        if (!in->list) return fail(s, x->span, "'%s' is not a list of modules", in->path);
        size_t nk = in->nkids;
        int w = nk > INT32_MAX ? -1 : wrap(i, (int)nk);
        if (w < 0) return fail(s, x->span, "index %lld out of range for a list of %zu modules", (long long)i, nk);
        return mk_mod((long)s->e->kids[in->kid0 + (size_t)w]);
    }
    if (base.kind != V_TENSOR) return fail(s, x->a->span, "cannot index %s", ty(&base));
    if (base.rank < 0) return base;
    SV r = mk_tensor(base.dtype, 0);
    int in = 0, consumed = 0;
    for (size_t k = 0; k < x->nargs; k++) {   /* how many dims the items consume */
        const Expr *it = x->args[k].value;
        consumed += !(it->kind == EX_SLICE && it->u.i) && it->kind != EX_NONE &&
                    !(it->kind == EX_NAME && !strcmp(it->u.s, "None"));
    }
    if (consumed > base.rank)
        return fail(s, x->span, "too many indices (%d) for a tensor of rank %d", consumed, base.rank);
    for (size_t k = 0; k < x->nargs; k++) {
        const Expr *it = x->args[k].value;
        if (r.rank >= MAXR) return fail(s, x->span, "more than %d dimensions", MAXR);
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
                int q = as_int(&pv, &val);
                if (q < 0 && !(pv.kind == V_CONF && pv.c.kind == VAL_NONE))
                    return fail(s, parts[p]->span, "a slice bound must be an integer");
                if (q == 0) ok = 0;
                if (q == 1) *(p == 0 ? &lo : p == 1 ? &hi : &st) = val, *(p == 0 ? &hl : p == 1 ? &hh : &ok) |= 1;
            }
            if (st <= 0) return fail(s, it->span, "a slice step must be positive");
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
        int q = as_int(&iv, &i);
        if (q == 1) {
            if (known(d) && (i >= d.n || i < -d.n))
                return fail(s, it->span, "index %lld is out of range for a dimension of size %lld", (long long)i,
                            (long long)d.n);
        } else if (iv.kind == V_TENSOR) {   /* gather: the index's dims replace this one */
            if (iv.rank < 0 || (iv.dtype && !strcmp(iv.dtype, "bool"))) return mk_tensor(base.dtype, -1);   /* a mask */
            for (int m = 0; m < iv.rank && r.rank < MAXR; m++) r.d[r.rank++] = iv.d[m];
        } else if (q < 0) {
            return fail(s, it->span, "an index must be an integer, a slice or a tensor");
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
        SV t = tuple_of(s, x->nargs);
        for (size_t i = 0; i < t.n; i++) t.items[i] = eval(s, env, x->args[i].value);
        return t;
    }
    case EX_UNARY: {
        SV a = eval(s, env, x->a);
        if (a.kind == V_TENSOR || a.kind == V_ERR || a.kind == V_ANY || a.kind == V_DIM) return a;
        if (a.kind != V_CONF) return fail(s, x->span, "operator %s cannot apply to %s", ast_op_name(x->op), ty(&a));
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
            return fail(s, x->span, "operator %s cannot apply to %s and %s", ast_op_name(x->op), ty(&a), ty(&b));
        if (x->op == '@') return matmul(s, x->span, &a, &b);
        if (a.kind == V_TENSOR || b.kind == V_TENSOR) {
            SV r = broadcast(s, x->span, &a, &b, ast_op_name(x->op));
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
            return fail(s, x->a->span, "the condition of '?:' must be a configuration value, not a tensor");
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
        SV a = eval(s, env, x->a);
        if (a.kind == V_ERR || a.kind == V_ANY) return a;
        if (a.kind == V_TENSOR && !strcmp(x->u.s, "shape")) return shape_of(s, &a);
        return fail(s, x->span, "%s has no attribute '%s'", ty(&a), x->u.s);
    }
    case EX_INDEX: return index_value(s, env, x);
    case EX_CALL: return call(s, env, x);
    case EX_SLICE: return fail(s, x->span, "a slice outside of an index");
    }
    return mk(V_ANY);
}

/* ------------------------------------------------------------- functions */

/* Argument i as a tensor: 1 it is one (in *out); 0 an error or an unknown
 * value to pass on (in *out); a non-tensor is reported. */
static int get_t(Sh *s, const Args *a, size_t i, const char *name, const char *fn, SV *out)
{
    Span sp = a->span;
    const SV *v = arg(a, i, name, &sp);
    *out = !v ? fail(s, a->span, "%s: missing argument %zu (a tensor)", fn, i + 1)
         : v->kind == V_TENSOR || v->kind == V_ERR || v->kind == V_ANY ? *v
         : fail(s, sp, "%s expects a tensor, got %s", fn, ty(v));
    return out->kind == V_TENSOR;
}

/* A dimension argument, wrapped for rank: 0 set (to def when absent or
 * unknown), -2 absent when def is -2, -3 the rank is unknown, -1 reported. */
static int dim_arg(Sh *s, const Args *a, size_t i, const char *name, const char *fn, int rank, int def, int *out)
{
    int64_t d;
    Span sp = a->span;
    const SV *v = arg(a, i, name, &sp);
    int k = !v || (v->kind == V_CONF && v->c.kind == VAL_NONE) ? 0 : as_int(v, &d);
    if (k < 0) return err(s, sp, "%s: '%s' must be an integer, got %s", fn, name, ty(v)), -1;
    if (k == 0) return *out = def, def == -2 ? -2 : 0;
    if (rank < 0) return -3;
    if ((*out = wrap(d, rank)) >= 0) return 0;
    err(s, sp, "%s: dimension %lld is out of range for a tensor of rank %d", fn, (long long)d, rank);
    return -1;
}

static SV f_reshape(Sh *s, const Args *a, const char *fn, const SV *x)
{
    Dim t[MAXR];
    int n = int_list(a, 1, "shape", t, MAXR);
    if (n < 0) return fail(s, a->span, "%s takes integer sizes", fn);
    int neg = -1;
    for (int i = 0; i < n; i++)
        if (!t[i].sym && t[i].n == -1) {
            if (neg >= 0) return fail(s, a->span, "%s: only one dimension can be -1", fn);
            neg = i;
        } else if (!t[i].sym && t[i].n < -1 && t[i].n != UNKN) {
            return fail(s, a->span, "%s: invalid size %lld", fn, (long long)t[i].n);
        }
    SV r = mk_tensor(x->dtype, n);
    memcpy(r.d, t, sizeof(Dim) * (size_t)n);
    if (neg >= 0) r.d[neg] = UNK;
    if (x->rank < 0) return r;
    /* numel as exact product times a multiset of symbols (unknowns: give up) */
    const char *sa[MAXR], *sb[MAXR];
    int na = 0, nb = 0, unk = 0;
    int64_t pa = 1, pb = 1;
    for (int i = 0; i < x->rank; i++) {
        if (known(x->d[i])) unk |= __builtin_mul_overflow(pa, x->d[i].n, &pa);
        else if (x->d[i].sym) sa[na++] = x->d[i].sym;
        else unk = 1;
    }
    for (int i = 0; i < n; i++) {
        if (i == neg) continue;
        if (known(t[i])) unk |= __builtin_mul_overflow(pb, t[i].n, &pb);
        else if (t[i].sym) sb[nb++] = t[i].sym;
        else unk = 1;
    }
    if (unk) return r;
    for (int i = 0; i < nb; i++) {   /* cancel the symbols the target names */
        int k;
        for (k = 0; k < na && (!sa[k] || strcmp(sa[k], sb[i]) != 0); k++)
            ;
        if (k == na)
            return r;   /* a symbol not in the input: cannot tell */
        sa[k] = NULL;
    }
    const char *left = NULL;
    int nleft = 0;
    for (int k = 0; k < na; k++)
        if (sa[k]) left = sa[k], nleft++;
    if (neg >= 0) {
        if (nleft == 0) {
            if (pb == 0 || pa % pb != 0)
                return fail(s, a->span, "%s: cannot reshape %s (%lld elements) into %d dimensions with -1: %lld is "
                            "not a multiple of %lld", fn, ty(x), (long long)pa, n,
                            (long long)pa, (long long)pb);
            r.d[neg] = exact(pa / pb);
        } else if (nleft == 1 && pa == pb) {
            r.d[neg] = (Dim){-1, left};
        }
    } else if (nleft == 0 && pa != pb) {
        return fail(s, a->span, "%s: cannot reshape %s into %s: %lld elements vs %lld", fn, ty(x),
                    ty(&r), (long long)pa, (long long)pb);
    }
    return r;
}

static SV f_cat(Sh *s, const Args *a, const char *fn, int stack)
{
    Span sp = a->span;
    const SV *l = arg(a, 0, "tensors", &sp);
    if (!l) return fail(s, a->span, "%s: missing the list of tensors", fn);
    if (l->kind == V_ERR || l->kind == V_ANY) return *l;
    if (l->kind != V_TUPLE || l->n == 0) return fail(s, sp, "%s takes a non-empty list of tensors", fn);
    for (size_t i = 0; i < l->n; i++) {
        if (l->items[i].kind == V_ERR || l->items[i].kind == V_ANY) return l->items[i];
        if (l->items[i].kind != V_TENSOR) return fail(s, sp, "%s: item %zu is not a tensor", fn, i);
        if (l->items[i].rank < 0) return mk_tensor(l->items[0].dtype, -1);
    }
    const SV *f = &l->items[0];
    int d;
    if (f->rank >= MAXR) return fail(s, a->span, "%s: more than %d dimensions", fn, MAXR);
    int rk = f->rank + (stack ? 1 : 0);
    int k = dim_arg(s, a, 1, "dim", fn, rk, 0, &d);
    if (k == -1) return mk(V_ERR);
    SV r = *f;
    Dim sum = exact(0);
    for (size_t i = 0; i < l->n; i++) {
        const SV *t = &l->items[i];
        if (t->rank != f->rank)
            return fail(s, a->span, "%s: tensors of rank %d and %d (%s, %s)", fn, f->rank, t->rank, ty(f), ty(t));
        for (int m = 0; m < f->rank; m++)
            if ((stack || m != d) && differ(t->d[m], f->d[m]))
                return fail(s, a->span, "%s along dimension %d: %s and %s differ in dimension %d", fn, d,
                            ty(f), ty(t), m);
        if (!stack) sum = known(sum) && known(t->d[d]) ? exact(sum.n + t->d[d].n) : (l->n == 1 ? t->d[d] : UNK);
    }
    if (stack) {
        for (int m = r.rank; m > d; m--) r.d[m] = r.d[m - 1];
        r.d[d] = exact((int64_t)l->n);
        r.rank++;
    } else {
        r.d[d] = sum;
    }
    return r;
}

static SV f_reduce(Sh *s, const Args *a, const char *fn, const SV *x, int with_idx)
{
    Dim dl[MAXR];
    int n = int_list(a, 1, "dim", dl, MAXR);
    if (n < 0) return fail(s, a->span, "%s: 'dim' must be an integer or a tuple of integers", fn);
    int64_t kd = 0;
    Span sp;
    const SV *kv = arg(a, 2, "keepdim", &sp);
    if (kv && kv->kind == V_CONF) kd = val_truthy(&kv->c);
    if (n == 0) return mk_tensor(x->dtype, 0);
    if (x->rank < 0) return mk_tensor(x->dtype, -1);
    int drop[MAXR] = {0};
    for (int i = 0; i < n; i++) {
        if (!isnum(dl[i])) return mk_tensor(x->dtype, -1);
        int w = wrap(dl[i].n, x->rank);
        if (w < 0)
            return fail(s, a->span, "%s: dimension %lld is out of range for a tensor of rank %d", fn,
                        (long long)dl[i].n, x->rank);
        drop[w] = 1;
    }
    SV r = mk_tensor(x->dtype, 0);
    for (int i = 0; i < x->rank; i++)
        if (!drop[i]) r.d[r.rank++] = x->d[i];
        else if (kd) r.d[r.rank++] = exact(1);
    if (!with_idx) return r;
    SV idx = r;
    idx.dtype = "i64";
    return pair(s, &r, &idx);
}

static SV f_sdpa(Sh *s, const Args *a, const char *fn)
{
    SV q, k, v;
    if (!get_t(s, a, 0, "query", fn, &q) + !get_t(s, a, 1, "key", fn, &k) + !get_t(s, a, 2, "value", fn, &v))
        return q.kind == V_ERR || k.kind == V_ERR || v.kind == V_ERR ? mk(V_ERR) : mk(V_ANY);
    if (q.rank < 0 || k.rank < 0 || v.rank < 0) return mk_tensor(q.dtype, -1);
    if (q.rank < 2 || k.rank < 2 || v.rank < 2)
        return fail(s, a->span, "%s: query, key and value need at least 2 dimensions", fn);
    if (differ(q.d[q.rank - 1], k.d[k.rank - 1]))
        return fail(s, a->span, "%s: query %s and key %s differ in the last dimension", fn, ty(&q), ty(&k));
    if (differ(k.d[k.rank - 2], v.d[v.rank - 2]))
        return fail(s, a->span, "%s: key %s and value %s differ in the sequence dimension", fn, ty(&k), ty(&v));
    SV r = q;
    r.d[r.rank - 1] = v.d[v.rank - 1];
    if (q.rank >= 3 && k.rank == q.rank) {   /* grouped-query: key heads divide query heads */
        Dim hq = q.d[q.rank - 3], hk = k.d[k.rank - 3];
        if (known(hq) && known(hk) && hk.n && hq.n % hk.n != 0)
            return fail(s, a->span, "%s: %lld query heads are not a multiple of %lld key heads", fn, (long long)hq.n,
                        (long long)hk.n);
    }
    return r;
}

static const char *const SAME[] = {
    "relu", "relu6", "gelu", "silu", "sigmoid", "tanh", "hardswish", "hardsigmoid", "dropout", "contiguous",
    "clone", "roll", "exp", "log", "sqrt", "rsqrt", "abs", "neg", "erf", "sin", "cos", "elu", "leaky_relu",
    "mish", "softplus", "detach", "tril", "triu", "float", "zeros_like", "ones_like", "stochastic_depth",
    "softmax", "log_softmax", "layer_scale", "identity", "cumsum", "masked_fill", "clamp", "pow", NULL};
static const char *const OTHER[] = {
    "flatten", "reshape", "view", "permute", "transpose", "cat", "concat", "stack", "split", "chunk", "mean",
    "sum", "amax", "amin", "max", "min", "prod", "argmax", "matmul", "mm", "bmm", "unsqueeze", "squeeze", "pad",
    "scaled_dot_product_attention", "sdpa", "expand", "size", "long", NULL};

static int in_list(const char *const *l, const char *n)
{
    for (; *l; l++)
        if (!strcmp(*l, n)) return 1;
    return 0;
}

static int is_function(const char *n) { return in_list(SAME, n) || in_list(OTHER, n); }

static SV fn_call(Sh *s, const char *fn, const Args *a)
{
    SV x;
    int d;
    if (!strcmp(fn, "cat") || !strcmp(fn, "concat") || !strcmp(fn, "stack")) return f_cat(s, a, fn, fn[0] == 's');
    if (!strcmp(fn, "scaled_dot_product_attention") || !strcmp(fn, "sdpa")) return f_sdpa(s, a, fn);
    if (!strcmp(fn, "matmul") || !strcmp(fn, "mm") || !strcmp(fn, "bmm")) {
        const SV *p = arg(a, 0, "input", NULL), *q = arg(a, 1, "other", NULL);
        return !p || !q ? fail(s, a->span, "%s takes 2 arguments", fn) : matmul(s, a->span, p, q);
    }
    if (!get_t(s, a, 0, "input", fn, &x)) return x;
    if (in_list(SAME, fn)) {
        if ((!strcmp(fn, "softmax") || !strcmp(fn, "log_softmax")) && dim_arg(s, a, 1, "dim", fn, x.rank, -1, &d) == -1)
            return mk(V_ERR);
        if (!strcmp(fn, "float")) x.dtype = "f32";
        return x;
    }
    if (!strcmp(fn, "long")) return x.dtype = "i64", x;
    if (!strcmp(fn, "reshape") || !strcmp(fn, "view")) return f_reshape(s, a, fn, &x);
    if (!strcmp(fn, "expand")) {   /* sizes aligned right; -1 keeps a dimension */
        Dim t[MAXR];
        int n = int_list(a, 1, "size", t, MAXR);
        if (n < 0 || (x.rank >= 0 && n < x.rank))
            return fail(s, a->span, "expand takes at least as many integer sizes as the tensor has dimensions");
        SV r = mk_tensor(x.dtype, n);
        for (int i = 0; i < n; i++) {
            int j = x.rank < 0 ? -1 : i - (n - x.rank);
            Dim have = j >= 0 ? x.d[j] : UNK;
            r.d[i] = !t[i].sym && t[i].n == -1 ? have : t[i];
            if (j >= 0 && !(known(have) && have.n == 1) && differ(have, r.d[i]))
                return fail(s, a->span, "expand: dimension %d of size %lld cannot become %lld", j, (long long)have.n,
                            (long long)r.d[i].n);
        }
        return x.rank < 0 ? mk_tensor(x.dtype, -1) : r;
    }
    if (!strcmp(fn, "mean") || !strcmp(fn, "sum") || !strcmp(fn, "amax") || !strcmp(fn, "amin") ||
        !strcmp(fn, "prod") || !strcmp(fn, "argmax")) {
        SV r = f_reduce(s, a, fn, &x, 0);
        if (r.kind == V_TENSOR && fn[1] == 'r') r.dtype = "i64";
        return r;
    }
    if (!strcmp(fn, "max") || !strcmp(fn, "min")) return f_reduce(s, a, fn, &x, arg(a, 1, "dim", NULL) != NULL);
    if (x.rank < 0) return !strcmp(fn, "size") || !strcmp(fn, "split") || !strcmp(fn, "chunk") ? mk(V_ANY) : x;
    if (!strcmp(fn, "size")) {
        int k = dim_arg(s, a, 1, "dim", fn, x.rank, -2, &d);
        return k == -1 ? mk(V_ERR) : k == -2 ? shape_of(s, &x) : dim_sv(x.d[d]);
    }
    if (!strcmp(fn, "flatten")) {
        int lo, hi;
        if (dim_arg(s, a, 1, "start_dim", fn, x.rank ? x.rank : 1, 0, &lo) == -1 ||
            dim_arg(s, a, 2, "end_dim", fn, x.rank ? x.rank : 1, x.rank ? x.rank - 1 : 0, &hi) == -1)
            return mk(V_ERR);
        if (x.rank == 0) return (x.rank = 1, x.d[0] = exact(1), x);
        if (lo > hi) return fail(s, a->span, "flatten: start_dim comes after end_dim");
        Dim p = exact(1);
        for (int i = lo; i <= hi; i++)
            p = lo == hi ? x.d[i]
              : known(p) && known(x.d[i]) && !__builtin_mul_overflow(p.n, x.d[i].n, &p.n) ? p : UNK;
        SV r = mk_tensor(x.dtype, 0);
        for (int i = 0; i < x.rank; i++)
            if (i < lo || i > hi) r.d[r.rank++] = x.d[i];
            else if (i == lo) r.d[r.rank++] = p;
        return r;
    }
    if (!strcmp(fn, "permute")) {
        Dim p[MAXR];
        int n = int_list(a, 1, "dims", p, MAXR), seen[MAXR] = {0};
        if (n < 0) return fail(s, a->span, "permute takes integer dims");
        if (n != x.rank) return fail(s, a->span, "permute: %d dims given for a tensor of rank %d", n, x.rank);
        SV r = x;
        for (int i = 0; i < n; i++) {
            int w = isnum(p[i]) ? wrap(p[i].n, x.rank) : -1;
            if (w < 0 || seen[w]++)
                return fail(s, a->span, "permute: the dims are not a permutation of 0..%d", x.rank - 1);
            r.d[i] = x.d[w];
        }
        return r;
    }
    if (!strcmp(fn, "transpose")) {
        int p, q;
        if (dim_arg(s, a, 1, "dim0", fn, x.rank, -2, &p) != 0 || dim_arg(s, a, 2, "dim1", fn, x.rank, -2, &q) != 0)
            return arg(a, 2, "dim1", NULL) ? mk(V_ERR) : fail(s, a->span, "transpose takes two dims");
        Dim t = x.d[p];
        x.d[p] = x.d[q];
        x.d[q] = t;
        return x;
    }
    if (!strcmp(fn, "unsqueeze")) {
        if (dim_arg(s, a, 1, "dim", fn, x.rank + 1, -2, &d) != 0 || x.rank >= MAXR)
            return fail(s, a->span, "unsqueeze takes a dim");
        for (int m = x.rank; m > d; m--) x.d[m] = x.d[m - 1];
        x.d[d] = exact(1);
        x.rank++;
        return x;
    }
    if (!strcmp(fn, "squeeze")) {
        int k = dim_arg(s, a, 1, "dim", fn, x.rank, -2, &d);
        if (k == -1) return mk(V_ERR);
        SV r = mk_tensor(x.dtype, 0);
        for (int i = 0; i < x.rank; i++)
            if (!((k == -2 || i == d) && known(x.d[i]) && x.d[i].n == 1)) r.d[r.rank++] = x.d[i];
        return r;
    }
    if (!strcmp(fn, "split") || !strcmp(fn, "chunk")) {
        int64_t n;
        Span sp = a->span;
        const SV *sv = arg(a, 1, fn[0] == 's' ? "split_size_or_sections" : "chunks", &sp);
        if (dim_arg(s, a, 2, "dim", fn, x.rank, 0, &d) == -1 || !sv)
            return sv ? mk(V_ERR) : fail(s, a->span, "%s takes a size", fn);
        if (sv->kind == V_TUPLE) {   /* sections (their sum is not checked) */
            SV t = tuple_of(s, sv->n);
            for (size_t i = 0; i < t.n; i++) t.items[i] = x, t.items[i].d[d] = as_dim(&sv->items[i]);
            return t;
        }
        if (as_int(sv, &n) != 1 || n <= 0 || !known(x.d[d])) return mk(V_ANY);
        int64_t size = fn[0] == 's' ? n : (x.d[d].n + n - 1) / n;
        int64_t cnt = size ? (x.d[d].n + size - 1) / size : 0;
        if (cnt > 1024) return mk(V_ANY);
        SV t = tuple_of(s, (size_t)cnt);
        for (size_t i = 0; i < t.n; i++) {
            t.items[i] = x;
            int64_t left = x.d[d].n - (int64_t)i * size;
            t.items[i].d[d] = exact(left < size ? left : size);
        }
        return t;
    }
    if (!strcmp(fn, "pad")) {
        Dim p[MAXR];
        int n = int_list(a, 1, "pad", p, MAXR);
        if (n < 0 || n % 2 || n / 2 > x.rank)
            return fail(s, a->span, "pad takes an even number of sizes, at most twice the rank");
        for (int i = 0; i < n / 2; i++) {
            Dim *t = &x.d[x.rank - 1 - i];
            *t = known(*t) && isnum(p[2 * i]) && isnum(p[2 * i + 1]) ? exact(t->n + p[2 * i].n + p[2 * i + 1].n)
               : isnum(p[2 * i]) && isnum(p[2 * i + 1]) && p[2 * i].n + p[2 * i + 1].n == 0 ? *t : UNK;
        }
        return x;
    }
    return fail(s, a->span, "unknown function '%s'", fn);
}

/* ---------------------------------------------------------------- layers */

static const Val *lv(const Instance *in, const char *name)
{
    for (size_t k = 0; in->layer && k < in->layer->nargs && k < in->nargs; k++)
        if (!strcmp(in->layer->args[k].name, name)) return &in->args[k];
    return NULL;
}

/* Integer argument name (component j of a tuple), or def. */
static int64_t li(const Instance *in, const char *name, int j, int64_t def)
{
    const Val *v = lv(in, name);
    if (!v) return def;
    if (v->kind == VAL_INT || v->kind == VAL_BOOL) return v->i;
    if (v->kind == VAL_INTS && v->n) return v->ints[(size_t)j < v->n ? (size_t)j : v->n - 1];
    return def;
}

static Dim window(Dim L, int64_t k, int64_t st, int64_t p, int64_t dil, int ceil_mode, int *bad)
{
    int64_t eff = dil * (k - 1);
    if (!known(L)) return st == 1 && 2 * p == eff ? L : UNK;
    int64_t num = L.n + 2 * p - eff - 1;
    if (num < 0 || st <= 0) {
        *bad = 1;
        return UNK;
    }
    int64_t o = ceil_mode ? (num + st - 1) / st + 1 : num / st + 1;
    if (ceil_mode && (o - 1) * st >= L.n + p) o--;
    return exact(o);
}

static int layer_nd(const char *n)
{
    size_t l = strlen(n);
    return l > 2 && n[l - 1] == 'd' ? n[l - 2] - '0' : 0;
}

static SV check_dim(Sh *s, const Args *a, const Instance *in, const SV *x, int dim, int64_t want, const char *what)
{
    char txt[128];
    if (dim < 0 || dim >= x->rank || !differ(x->d[dim], exact(want))) return *x;
    return lfail(s, a->span, in, "%s expects %s %lld, got %s", diag_span_text(s->e->d, in->span, txt, sizeof txt), what,
                 (long long)want, ty(x));
}

static SV layer_fwd(Sh *s, const Instance *in, const Args *a)
{
    const char *n = in->layer->name;
    char txt[128];
    const char *self = diag_span_text(s->e->d, in->span, txt, sizeof txt);
    SV x;
    int rnn = !strcmp(n, "LSTM") || !strcmp(n, "GRU") || !strcmp(n, "RNN"), mha = !strcmp(n, "MultiheadAttention");
    size_t maxin = mha ? 7 : rnn || !strcmp(n, "Bilinear") ? 2 : 1;
    if (a->npos > maxin)
        return lfail(s, a->span, in, "%s takes %zu input%s, got %zu", n, maxin, maxin > 1 ? "s" : "", a->npos);
    if (!get_t(s, a, 0, "input", n, &x)) return x;
    if (x.rank < 0)
        return rnn || mha ? mk(V_ANY) : x;
    int nd = layer_nd(n), bad = 0;
    if (!strcmp(n, "Linear")) {
        if (x.rank < 1) return lfail(s, a->span, in, "%s expects at least 1 dimension, got %s", self, ty(&x));
        int64_t f = li(in, "in_features", 0, -1);
        if (differ(x.d[x.rank - 1], exact(f)))
            return lfail(s, a->span, in, "%s expects the last dimension %lld, got %s", self, (long long)f, ty(&x));
        x.d[x.rank - 1] = exact(li(in, "out_features", 0, -1));
        return x;
    }
    if (!strncmp(n, "Conv", 4) || (strstr(n, "Pool") && strncmp(n, "Adaptive", 8) != 0)) {
        int conv = n[0] == 'C', tr = !strncmp(n, "ConvTranspose", 13);
        if (x.rank != nd + 1 && x.rank != nd + 2)
            return lfail(s, a->span, in, "%s expects a %d-d or %d-d input, got %s", self, nd + 1, nd + 2, ty(&x));
        int c = x.rank - nd - 1;
        if (conv) {
            int64_t cin = li(in, "in_channels", 0, -1);
            if (differ(x.d[c], exact(cin)))
                return lfail(s, a->span, in, "%s expects %lld input channels (dimension %d), got %s", self,
                             (long long)cin, c, ty(&x));
            x.d[c] = exact(li(in, "out_channels", 0, -1));
        }
        const SV x0 = x;
        const Val *pv = lv(in, "padding");
        int same = pv && pv->kind == VAL_STR && !strcmp(pv->s, "same");
        for (int j = 0; j < nd; j++) {
            Dim *L = &x.d[c + 1 + j];
            int64_t k = li(in, "kernel_size", j, 1), st = li(in, "stride", j, k), p = li(in, "padding", j, 0);
            int64_t dil = li(in, "dilation", j, 1);
            if (pv && pv->kind == VAL_STR) p = 0;
            if (same) continue;
            if (tr) {
                int64_t op = li(in, "output_padding", j, 0);
                *L = known(*L) ? exact((L->n - 1) * st - 2 * p + dil * (k - 1) + op + 1)
                   : st == 1 && dil * (k - 1) + op == 2 * p ? *L : UNK;
            } else {
                *L = window(*L, k, st, p, dil, (int)li(in, "ceil_mode", 0, 0), &bad);
            }
            if (bad)
                return lfail(s, a->span, in, "%s: the input %s is smaller than the kernel in dimension %d", self,
                             ty(&x0), c + 1 + j);
        }
        return x;
    }
    if (!strncmp(n, "Adaptive", 8)) {
        if (x.rank != nd + 1 && x.rank != nd + 2)
            return lfail(s, a->span, in, "%s expects a %d-d or %d-d input, got %s", self, nd + 1, nd + 2, ty(&x));
        for (int j = 0; j < nd; j++) x.d[x.rank - nd + j] = exact(li(in, "output_size", j, 1));
        return x;
    }
    if (!strncmp(n, "BatchNorm", 9) || !strncmp(n, "InstanceNorm", 12)) {
        int bn = n[0] == 'B', ok = bn ? (nd == 1 ? x.rank == 2 || x.rank == 3 : x.rank == nd + 2)
                                      : x.rank == nd + 1 || x.rank == nd + 2;
        if (!ok)
            return lfail(s, a->span, in, "%s expects a %s input, got %s", self,
                         nd == 1 ? "2-d or 3-d" : nd == 2 ? (bn ? "4-d" : "3-d or 4-d") : "5-d", ty(&x));
        return check_dim(s, a, in, &x, x.rank - nd - 1 + (bn && nd == 1 && x.rank == 2), li(in, "num_features", 0, -1),
                         "num_features");
    }
    if (!strcmp(n, "GroupNorm")) {
        if (x.rank < 2) return lfail(s, a->span, in, "%s expects at least 2 dimensions, got %s", self, ty(&x));
        return check_dim(s, a, in, &x, 1, li(in, "num_channels", 0, -1), "channels (dimension 1)");
    }
    if (!strcmp(n, "LayerNorm") || !strcmp(n, "RMSNorm")) {   /* normalized_shape: the trailing dims */
        const Val *v = lv(in, "normalized_shape");
        SV want = mk_tensor(x.dtype, v && v->kind == VAL_INTS ? (int)v->n : 1);
        int bad_shape = want.rank > x.rank;
        for (int i = 0; i < want.rank; i++) {
            want.d[i] = exact(li(in, "normalized_shape", i, -1));
            bad_shape |= !bad_shape && differ(x.d[x.rank - want.rank + i], want.d[i]);
        }
        if (bad_shape)
            return lfail(s, a->span, in, "%s expects the trailing dimensions %s, got %s", self, ty(&want), ty(&x));
        return x;
    }
    if (!strcmp(n, "Embedding")) {
        if (is_float_dtype(x.dtype))
            return lfail(s, a->span, in, "%s expects integer indices, got a %s tensor", self, x.dtype);
        if (x.rank >= MAXR) return lfail(s, a->span, in, "too many dimensions");
        x.d[x.rank++] = exact(li(in, "embedding_dim", 0, -1));
        x.dtype = "f32";
        return x;
    }
    if (rnn) {
        if (x.rank != 2 && x.rank != 3)
            return lfail(s, a->span, in, "%s expects a 2-d or 3-d input, got %s", self, ty(&x));
        int64_t isz = li(in, "input_size", 0, -1), h = li(in, "hidden_size", 0, -1), nl = li(in, "num_layers", 0, 1);
        int64_t D = li(in, "bidirectional", 0, 0) ? 2 : 1, proj = li(in, "proj_size", 0, 0), ho = proj > 0 ? proj : h;
        int bf = (int)li(in, "batch_first", 0, 0) && x.rank == 3;
        if (differ(x.d[x.rank - 1], exact(isz)))
            return lfail(s, a->span, in, "%s expects the last dimension (input_size) %lld, got %s", self,
                         (long long)isz, ty(&x));
        Dim batch = x.rank == 3 ? x.d[bf ? 0 : 1] : UNK;
        x.d[x.rank - 1] = exact(D * ho);
        SV hs = mk_tensor(x.dtype, x.rank == 3 ? 3 : 2);
        hs.d[0] = exact(D * nl);
        hs.d[1] = x.rank == 3 ? batch : exact(ho);
        hs.d[2] = exact(ho);
        if (n[0] != 'L') return pair(s, &x, &hs);
        SV cs = hs;   /* LSTM: (output, (h, c)) */
        cs.d[cs.rank - 1] = exact(h);
        SV st = pair(s, &hs, &cs);
        return pair(s, &x, &st);
    }
    if (mha) {
        SV k, v;
        if (!get_t(s, a, 1, "key", n, &k) || !get_t(s, a, 2, "value", n, &v))
            return k.kind == V_ERR || v.kind == V_ERR ? mk(V_ERR) : mk(V_ANY);
        int64_t E = li(in, "embed_dim", 0, -1), kd = li(in, "kdim", 0, E), vd = li(in, "vdim", 0, E);   /* none: E */
        if ((x.rank != 2 && x.rank != 3) || k.rank != x.rank || v.rank != x.rank)
            return lfail(s, a->span, in, "%s expects query, key and value of rank 3 (or 2), got %s", self, ty(&x));
        if (differ(x.d[x.rank - 1], exact(E)) || differ(k.d[k.rank - 1], exact(kd)) ||
            differ(v.d[v.rank - 1], exact(vd)))
            return lfail(s, a->span, in, "%s expects query, key, value with last dimensions %lld, %lld, %lld; "
                         "got %s, %s, %s",
                         self, (long long)E, (long long)kd, (long long)vd, ty(&x),
                         ty(&k), ty(&v));
        int bf = (int)li(in, "batch_first", 0, 0) && x.rank == 3, sq = x.rank == 3 ? bf : 0;
        if (differ(k.d[sq], v.d[sq])) return lfail(s, a->span, in, "%s: key and value differ in length", self);
        const SV *nw = arg(a, 4, "need_weights", NULL);
        SV w = mk_tensor(x.dtype, 0);   /* (output, weights averaged over heads) */
        if (x.rank == 3) w.d[w.rank++] = x.d[bf ? 0 : 1];
        w.d[w.rank++] = x.d[sq];
        w.d[w.rank++] = k.d[sq];
        if (nw && nw->kind == V_CONF && !val_truthy(&nw->c)) w = mk(V_CONF);   /* none */
        return pair(s, &x, &w);
    }
    if (!strcmp(n, "Flatten") || !strcmp(n, "Unflatten")) {
        Args b;
        memset(&b, 0, sizeof b);
        b.span = a->span;
        b.npos = 3;
        b.pos[0] = x;
        if (n[0] == 'F') {
            b.pos[1] = mk_int(li(in, "start_dim", 0, 1));
            b.pos[2] = mk_int(li(in, "end_dim", 0, -1));
            return fn_call(s, "flatten", &b);
        }
        return mk_tensor(x.dtype, -1);   /* Unflatten: not computed */
    }
    if (!strcmp(n, "Softmax") || !strcmp(n, "LogSoftmax")) {
        const Val *dv = lv(in, "dim");
        if (dv && dv->kind == VAL_INT && wrap(dv->i, x.rank) < 0)
            return lfail(s, a->span, in, "%s: dim %lld is out of range for %s", self, (long long)dv->i, ty(&x));
        return x;
    }
    if (strstr(n, "Pad") || !strcmp(n, "Upsample") || !strcmp(n, "PixelShuffle") || !strcmp(n, "Bilinear") ||
        !strcmp(n, "EmbeddingBag"))
        return mk_tensor(x.dtype, -1);   /* not computed: an unknown shape */
    return x;   /* activations, dropout, Identity, PReLU, ...: the same shape */
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
    if (!fw) return fail(s, a->span, "%s '%s' has no forward, so it cannot be called", in->type, in->path);
    if (s->depth >= MAX_CALL_DEPTH)
        return fail(s, a->span, "forward calls nested deeper than %d (a block that calls itself?)", MAX_CALL_DEPTH);
    Env env = {(size_t)inst, {0}};
    int set[64] = {0};
    if (a->npos > fw->nparams || fw->nparams > 64)
        return fail(s, a->span, "the forward of %s takes %zu argument%s, got %zu", in->type, fw->nparams,
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
            return fail(s, a->kspan[k], "the forward of %s has no parameter '%s'", in->type, a->kn[k]);
        if (set[i]) return fail(s, a->kspan[k], "the forward of %s: '%s' is given twice", in->type, a->kn[k]);
        bind(s, &env, fw->params[i], &a->kv[k]);
        set[i] = 1;
    }
    for (size_t i = 0; i < fw->nparams; i++)
        if (!set[i])
            return fail(s, a->span, "the forward of %s takes %zu argument%s, got %zu (missing '%s')", in->type,
                        fw->nparams, fw->nparams == 1 ? "" : "s", a->npos + a->nkw, fw->params[i]);
    s->depth++;
    s->frames[s->depth] = (Frame){a->span, (size_t)inst};
    SV ret = mk(V_ANY);
    int returned = exec(s, &env, fw->body, fw->nbody, &ret);
    s->depth--;
    if (!returned) return fail(s, fw->span, "the forward of %s returns nothing", in->type);
    return ret;
}

static SV call_module(Sh *s, long inst, const Args *a)
{
    const Instance *in = &s->e->insts[inst];
    if (in->layer) return layer_fwd(s, in, a);
    if (in->list) {
        if (a->npos != 1 || a->nkw)
            return fail(s, a->span, "%s '%s' takes one input, got %zu", in->type, in->path, a->npos + a->nkw);
        Args b = *a;
        for (size_t k = 0; k < in->nkids; k++) {
            SV y = call_module(s, (long)s->e->kids[in->kid0 + k], &b);
            if (y.kind == V_ERR || y.kind == V_ANY) return y;
            b.pos[0] = y;
        }
        return b.pos[0];
    }
    return block_fwd(s, inst, a);
}

static SV call(Sh *s, Env *env, const Expr *x)
{
    Args a;   /* room for 32 values: only the npos + nkw given are set (and read), not 10 KB per call */
    a.npos = a.nkw = 0;
    a.span = x->span;
    const Expr *fx = x->a;
    int method = fx->kind == EX_ATTR && !(fx->a->kind == EX_NAME &&
                 (!strcmp(fx->a->u.s, "torch") || !strcmp(fx->a->u.s, "F") || !strcmp(fx->a->u.s, "nn") ||
                  !strcmp(fx->a->u.s, "self")));
    if (x->nargs + (size_t)method > 16) return fail(s, x->span, "too many arguments");
    if (method) {   /* x.flatten(1): the receiver is the first argument */
        a.pos[0] = eval(s, env, fx->a);
        a.pspan[0] = fx->a->span;
        a.npos = 1;
        if (a.pos[0].kind == V_MOD) return fail(s, fx->span, "'%s' is not a method of a module", fx->u.s);
    }
    int bad = 0;
    for (size_t i = 0; i < x->nargs; i++) {
        SV v = eval(s, env, x->args[i].value);
        bad |= v.kind == V_ERR;
        if (x->args[i].name) {
            a.kn[a.nkw] = x->args[i].name;
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
        if (!is_function(name)) return fail(s, fx->span, "unknown method '%s'", name);
        return bad ? mk(V_ERR) : fn_call(s, name, &a);
    }
    SV callee;
    if (fx->kind == EX_ATTR && !strcmp(fx->a->u.s, "self")) {
        long c = elab_child(s->e, env->inst, name);
        if (c < 0) return fail(s, fx->span, "'%s' has no submodule '%s'", s->e->insts[env->inst].type, name);
        callee = mk_mod(c);
    } else if (fx->kind == EX_ATTR) {
        if (!is_function(name)) return fail(s, fx->span, "unknown function '%s'", name);
        return bad ? mk(V_ERR) : fn_call(s, name, &a);
    } else if (fx->kind == EX_NAME) {
        const SV *b = names_get(&env->vars, name);
        long c = b ? -1 : elab_child(s->e, env->inst, name);
        if (b) {
            callee = *b;
        } else if (c >= 0) {
            callee = mk_mod(c);
        } else if (is_function(name)) {
            return bad ? mk(V_ERR) : fn_call(s, name, &a);
        } else if (cat_find(name)) {
            return fail(s, fx->span, "'%s' is a layer: declare it in the body (name = %s(...)) and call it by name",
                        name, name);
        } else if (conf_defined(s, env->inst, name)) {
            return fail(s, fx->span, "'%s' is a configuration value, not a module or function", name);
        } else {
            return fail(s, fx->span, "unknown function '%s'", name);
        }
    } else {
        callee = eval(s, env, fx);
    }
    if (callee.kind == V_ERR || callee.kind == V_ANY || bad) return bad ? mk(V_ERR) : callee;
    if (callee.kind != V_MOD) return fail(s, fx->span, "cannot call %s: it is not a module", ty(&callee));
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
                v = fail(s, st->value->span, "cannot unpack a tuple of %zu into %zu names", v.n, st->nnames);
            else if (v.kind == V_TENSOR && v.rank < 0) v = mk(V_ANY);
            else if (v.kind != V_TUPLE && v.kind != V_ERR && v.kind != V_ANY)
                v = fail(s, st->value->span, "cannot unpack %s into %zu names", ty(&v), st->nnames);
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
                err(s, st->value->span, "the condition of an if must be a configuration value, not a tensor");
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
    Env env = {root, {0}};
    for (size_t i = 0; i < fw->nparams; i++) {
        const Input *inp = NULL;
        for (size_t k = 0; k < e->ninputs; k++)
            if (!strcmp(e->inputs[k].name, fw->params[i])) inp = &e->inputs[k];
        SV v = mk(V_ANY);
        if (!inp) {
            diag(e->d, DG_WARNING, fw->param_spans[i], "forward parameter '%s' has no 'input %s: type' declaration; "
                 "its shape is not checked", fw->params[i], fw->params[i]);
        } else if (inp->type->ndims > MAXR) {
            err(&s, inp->type->span, "more than %d dimensions", MAXR);
        } else {
            v = mk_tensor(inp->type->dtype, (int)inp->type->ndims);
            for (size_t k = 0; k < inp->type->ndims; k++) {
                const Expr *dx = inp->type->dims[k];
                Val c;
                if (dx->kind == EX_NAME && !conf_defined(&s, root, dx->u.s)) v.d[k] = (Dim){-1, dx->u.s};
                else if (elab_value(e, root, dx, &c) == 0 && c.kind == VAL_INT && c.i >= 0) v.d[k] = exact(c.i);
                else err(&s, dx->span, "a size of an input must be a non-negative integer or a name");
            }
        }
        bind(&s, &env, fw->params[i], &v);
    }
    SV ret;
    if (!exec(&s, &env, fw->body, fw->nbody, &ret)) err(&s, fw->span, "the model's forward returns nothing");
    return e->d->nerrors > before ? -1 : 0;
}
