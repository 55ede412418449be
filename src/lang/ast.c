/* ast.c — the constructors the grammar actions call, and token names.
 *
 * The grammar (grammar/arch.y) holds no logic: each action is one call
 * here.  A node is one zeroed allocation from the compilation's arena,
 * stamped with the span it was parsed from; strings and arrays it is
 * given are already arena-owned and are kept, not copied.  Lists grow by
 * doubling inside the arena (the abandoned blocks go when the arena does).
 */
#include <string.h>

#include "arch.h"
#include "arch.tab.h"

/* ------------------------------------------------------------ expressions */

static Expr *ex_new(Arena *a, ExKind k, Span sp)
{
    Expr *x = ARENA_NEW(a, Expr);
    if (x) {
        x->kind = k;
        x->span = sp;
    }
    return x;
}

Expr *ast_int(Arena *a, Span sp, int64_t v)
{
    Expr *x = ex_new(a, EX_INT, sp);
    if (x)
        x->u.i = v;
    return x;
}

Expr *ast_float(Arena *a, Span sp, double v)
{
    Expr *x = ex_new(a, EX_FLOAT, sp);
    if (x)
        x->u.f = v;
    return x;
}

Expr *ast_bool(Arena *a, Span sp, int v)
{
    Expr *x = ex_new(a, EX_BOOL, sp);
    if (x)
        x->u.i = v != 0;
    return x;
}

Expr *ast_str(Arena *a, Span sp, const char *s)
{
    Expr *x = ex_new(a, EX_STR, sp);
    if (x)
        x->u.s = s;
    return x;
}

Expr *ast_none(Arena *a, Span sp) { return ex_new(a, EX_NONE, sp); }
Expr *ast_free(Arena *a, Span sp) { return ex_new(a, EX_FREE, sp); }

Expr *ast_name(Arena *a, Span sp, const char *s)
{
    Expr *x = ex_new(a, EX_NAME, sp);
    if (x)
        x->u.s = s;
    return x;
}

Expr *ast_unary(Arena *a, Span sp, int op, Expr *e)
{
    Expr *x = ex_new(a, EX_UNARY, sp);
    if (x) {
        x->op = op;
        x->a = e;
    }
    return x;
}

Expr *ast_binary(Arena *a, Span sp, int op, Expr *l, Expr *r)
{
    Expr *x = ex_new(a, EX_BINARY, sp);
    if (x) {
        x->op = op;
        x->a = l;
        x->b = r;
    }
    return x;
}

Expr *ast_cond(Arena *a, Span sp, Expr *c, Expr *t, Expr *f)
{
    Expr *x = ex_new(a, EX_COND, sp);
    if (x) {
        x->a = c;
        x->b = t;
        x->c = f;
    }
    return x;
}

static Expr *ex_args(Arena *a, ExKind k, Span sp, Expr *e, Arg *args, size_t n)
{
    Expr *x = ex_new(a, k, sp);
    if (x) {
        x->a = e;
        x->args = args;
        x->nargs = n;
    }
    return x;
}

Expr *ast_call(Arena *a, Span sp, Expr *fn, Arg *args, size_t n) { return ex_args(a, EX_CALL, sp, fn, args, n); }
Expr *ast_index(Arena *a, Span sp, Expr *e, Arg *items, size_t n) { return ex_args(a, EX_INDEX, sp, e, items, n); }
Expr *ast_list(Arena *a, Span sp, Arg *items, size_t n) { return ex_args(a, EX_LIST, sp, NULL, items, n); }
Expr *ast_tuple(Arena *a, Span sp, Arg *items, size_t n) { return ex_args(a, EX_TUPLE, sp, NULL, items, n); }

Expr *ast_attr(Arena *a, Span sp, Expr *e, const char *name)
{
    Expr *x = ex_new(a, EX_ATTR, sp);
    if (x) {
        x->a = e;
        x->u.s = name;
    }
    return x;
}

Expr *ast_attr_quoted(Arena *a, Span sp, Expr *e, const char *name)
{
    Expr *x = ast_attr(a, sp, e, name);
    if (x)
        x->op = 1;
    return x;
}

Expr *ast_star(Arena *a, Span sp, Expr *e)
{
    Expr *x = ex_new(a, EX_STAR, sp);
    if (x)
        x->a = e;
    return x;
}

Expr *ast_named(Arena *a, Span sp, Expr *list, Expr *pattern)
{
    Expr *x = pattern ? ex_new(a, EX_NAMED, sp) : NULL;
    if (x) {
        x->a = list;
        x->b = pattern;
    }
    return x;
}

Expr *ast_slice(Arena *a, Span sp, Expr *lo, Expr *hi, Expr *step)
{
    Expr *x = ex_new(a, EX_SLICE, sp);
    if (x) {
        x->a = lo;
        x->b = hi;
        x->c = step;
    }
    return x;
}

Expr *ast_ellipsis(Arena *a, Span sp)
{
    Expr *x = ex_new(a, EX_SLICE, sp);
    if (x)
        x->u.i = 1;
    return x;
}

/* ------------------------------------------------------------------ lists */

/* Room for one more element of size sz in *arr (holding n of *cap). */
static int grow(Arena *a, void **arr, size_t *cap, size_t n, size_t sz)
{
    return arena_grow(a, arr, cap, n + 1, sz);
}

#define LIST_NEW(a, l, T)                                               \
    do {                                                                \
        if (!(l) && !((l) = ARENA_NEW(a, T)))                           \
            return NULL;                                                \
    } while (0)

ArgList *ast_arg_add(Arena *a, ArgList *l, const char *name, Span name_span, Expr *value)
{
    LIST_NEW(a, l, ArgList);
    if (!value)
        return l;
    if (grow(a, (void **)&l->v, &l->cap, l->n, sizeof *l->v) < 0)
        return NULL;
    l->v[l->n++] = (Arg){name, name_span, value};
    return l;
}

ExprList *ast_expr_add(Arena *a, ExprList *l, Expr *e)
{
    LIST_NEW(a, l, ExprList);
    if (!e)
        return l;
    if (grow(a, (void **)&l->v, &l->cap, l->n, sizeof *l->v) < 0)
        return NULL;
    l->v[l->n++] = e;
    return l;
}

/* Two arrays of one length: both grow from the same capacity to the same
 * capacity, which is then recorded. */
NameList *ast_name_add(Arena *a, NameList *l, const char *name, Span sp)
{
    LIST_NEW(a, l, NameList);
    if (!name)
        return l;
    size_t cap = l->cap, cap2 = l->cap;
    if (grow(a, (void **)&l->v, &cap, l->n, sizeof *l->v) < 0 ||
        grow(a, (void **)&l->spans, &cap2, l->n, sizeof *l->spans) < 0)
        return NULL;
    l->cap = cap;
    l->v[l->n] = name;
    l->spans[l->n++] = sp;
    return l;
}

StmtList *ast_stmt_add(Arena *a, StmtList *l, Stmt *s)
{
    LIST_NEW(a, l, StmtList);
    if (!s)
        return l;
    if (grow(a, (void **)&l->v, &l->cap, l->n, sizeof *l->v) < 0)
        return NULL;
    l->v[l->n++] = s;
    return l;
}

ParamList *ast_param_add(Arena *a, ParamList *l, const char *name, Span sp, Expr *def)
{
    LIST_NEW(a, l, ParamList);
    if (!name)
        return l;
    if (grow(a, (void **)&l->v, &l->cap, l->n, sizeof *l->v) < 0)
        return NULL;
    l->v[l->n++] = (BlockParam){name, sp, def};
    return l;
}

/* ------------------------------------------------------------- statements */

static Stmt *st_new(Arena *a, StKind k, Span sp, Expr *value)
{
    Stmt *s = ARENA_NEW(a, Stmt);
    if (s) {
        s->kind = k;
        s->span = sp;
        s->value = value;
    }
    return s;
}

Stmt *ast_assign(Arena *a, Span sp, const char *name, Span name_span, Expr *value)
{
    Stmt *s = st_new(a, ST_ASSIGN, sp, value);
    if (s) {
        s->name = name;
        s->name_span = name_span;
    }
    return s;
}

Stmt *ast_assign_many(Arena *a, Span sp, const NameList *targets, Expr *value)
{
    Stmt *s = st_new(a, ST_ASSIGN, sp, value);
    if (s && targets) {
        s->names = targets->v;
        s->name_spans = targets->spans;
        s->nnames = targets->n;
    }
    return s;
}

Stmt *ast_aug_assign(Arena *a, Span sp, const char *name, Span name_span, int op, Expr *value)
{
    Expr *target = ast_name(a, name_span, name);
    Expr *sum = target ? ast_binary(a, (Span){sp.file, name_span.lo, sp.hi}, op, target, value) : NULL;
    return sum ? ast_assign(a, sp, name, name_span, sum) : NULL;
}

Stmt *ast_assign_attr(Arena *a, Span sp, Expr *owner, const char *name, Span name_span, Expr *value)
{
    Stmt *s = ast_assign(a, sp, name, name_span, value);
    if (s)
        s->owner = owner;
    return s;
}

Stmt *ast_assign_quoted(Arena *a, Span sp, const char *name, Span name_span, Expr *value)
{
    Stmt *s = ast_assign(a, sp, name, name_span, value);
    if (s)
        s->quoted = 1;
    return s;
}

/* The targets become an argument list with names only: the shape the
 * other nodes with named parts have. */
Expr *ast_comp(Arena *a, Span sp, Expr *elt, const NameList *targets, Expr *iter)
{
    Expr *x = ex_new(a, EX_COMP, sp);
    if (!x)
        return NULL;
    x->a = elt;
    x->b = iter;
    x->args = arena_array(a, targets->n + 1, sizeof *x->args);
    if (!x->args)
        return NULL;
    for (size_t i = 0; i < targets->n; i++)
        x->args[i] = (Arg){targets->v[i], targets->spans[i], NULL};
    x->nargs = targets->n;
    return x;
}

Stmt *ast_for(Arena *a, Span sp, const NameList *targets, Expr *iter, const StmtList *body)
{
    Stmt *s = st_new(a, ST_FOR, sp, iter);
    if (s) {
        s->names = targets->v;
        s->name_spans = targets->spans;
        s->nnames = targets->n;
        if (body) {
            s->body = body->v;
            s->nbody = body->n;
        }
    }
    return s;
}

Stmt *ast_tensor(Arena *a, Span sp, StKind kind, const char *name, Span name_span, TypeExpr *type,
                 Expr *init)
{
    Stmt *s = st_new(a, kind, sp, init);
    if (s) {
        s->name = name;
        s->name_span = name_span;
        s->type = type;
    }
    return s;
}

Stmt *ast_if(Arena *a, Span sp, Expr *cond, const StmtList *then, const StmtList *orelse)
{
    Stmt *s = st_new(a, ST_IF, sp, cond);
    if (s && then) {
        s->body = then->v;
        s->nbody = then->n;
    }
    if (s && orelse) {
        s->orelse = orelse->v;
        s->norelse = orelse->n;
    }
    return s;
}

Stmt *ast_forward(Arena *a, Span sp, const ParamList *params, const StmtList *body)
{
    Stmt *s = st_new(a, ST_FORWARD, sp, NULL);
    if (s && params && params->n) {
        s->params = arena_array(a, params->n, sizeof *s->params);
        s->param_spans = arena_array(a, params->n, sizeof *s->param_spans);
        s->param_defs = arena_array(a, params->n, sizeof *s->param_defs);
        if (!s->params || !s->param_spans || !s->param_defs)
            return NULL;
        for (size_t i = 0; i < params->n; i++) {
            s->params[i] = params->v[i].name;
            s->param_spans[i] = params->v[i].span;
            s->param_defs[i] = params->v[i].def;
        }
        s->nparams = params->n;
    }
    if (s && body) {
        s->body = body->v;
        s->nbody = body->n;
    }
    return s;
}

Stmt *ast_return(Arena *a, Span sp, Expr *value) { return st_new(a, ST_RETURN, sp, value); }
Stmt *ast_expr_stmt(Arena *a, Span sp, Expr *value) { return st_new(a, ST_EXPR, sp, value); }

TypeExpr *ast_type(Arena *a, Span sp, const char *dtype, Span dtype_span, const ExprList *dims)
{
    TypeExpr *t = ARENA_NEW(a, TypeExpr);
    if (t) {
        t->dtype = dtype;
        t->dtype_span = dtype_span;
        t->span = sp;
        if (dims) {
            t->dims = dims->v;
            t->ndims = dims->n;
        }
    }
    return t;
}

/* ----------------------------------------------------------- declarations */

static Decl *decl_new(Arena *a, DeclKind k, Span sp, const char *name, Span name_span,
                      const StmtList *body)
{
    Decl *d = ARENA_NEW(a, Decl);
    if (d) {
        d->kind = k;
        d->span = sp;
        d->name = name;
        d->name_span = name_span;
        if (body) {
            d->body = body->v;
            d->nbody = body->n;
        }
    }
    return d;
}

Decl *ast_block(Arena *a, Span sp, const char *name, Span name_span, const ParamList *params,
                const StmtList *body)
{
    Decl *d = decl_new(a, DECL_BLOCK, sp, name, name_span, body);
    if (d && params) {
        d->params = params->v;
        d->nparams = params->n;
    }
    return d;
}

Decl *ast_model(Arena *a, Span sp, const char *name, Span name_span, const StmtList *body)
{
    return decl_new(a, DECL_MODEL, sp, name, name_span, body);
}

Decl *ast_import(Arena *a, Span sp, const char *path, Span path_span)
{
    return decl_new(a, DECL_IMPORT, sp, path, path_span, NULL);
}

Program *ast_program(Arena *a, uint32_t file)
{
    Program *p = ARENA_NEW(a, Program);
    if (p)
        p->file = file;
    return p;
}

/* Program keeps no capacity: it is the smallest power of two >= 8 that
 * holds ndecls, so the array grows exactly when ndecls reaches one. */
Program *ast_decl_add(Arena *a, Program *p, Decl *d)
{
    if (!d)
        return p;
    size_t n = p->ndecls;
    if (n == 0 || (n >= 8 && (n & (n - 1)) == 0)) {
        size_t cap = n;
        void *v = p->decls;
        if (arena_grow(a, &v, &cap, n < 8 ? 8 : 2 * n, sizeof *p->decls) < 0)
            return NULL;
        p->decls = v;
    }
    p->decls[p->ndecls++] = d;
    return p;
}

/* ----------------------------------------------------------- token names */

const char *ast_op_name(int op)
{
    switch (op) {
    case TK_YYEOF: return "end of file";
    case TK_NAME: return "identifier";
    case TK_STRING: return "string";
    case TK_INT: return "integer";
    case TK_FLOAT: return "number";
    case TK_NEWLINE: return "newline";
    case TK_BLOCK: return "'block'";
    case TK_MODEL: return "'model'";
    case TK_IMPORT: return "'import'";
    case TK_IF: return "'if'";
    case TK_ELSE: return "'else'";
    case TK_FORWARD: return "'forward'";
    case TK_RETURN: return "'return'";
    case TK_PARAM: return "'param'";
    case TK_BUFFER: return "'buffer'";
    case TK_INPUT: return "'input'";
    case TK_TRUE: return "'true'";
    case TK_FALSE: return "'false'";
    case TK_NONE: return "'none'";
    case TK_FOR: return "'for'";
    case TK_IN: return "'in'";
    case TK_NAMED: return "'named'";
    case TK_IS: return "'is'";
    case TK_ISNOT: return "'is not'";
    case TK_AUGASSIGN: return "augmented assignment";
    case TK_IDIV: return "'//'";
    case TK_POW: return "'**'";
    case TK_EQ: return "'=='";
    case TK_NE: return "'!='";
    case TK_LE: return "'<='";
    case TK_GE: return "'>='";
    case TK_AND: return "'&&'";
    case TK_OR: return "'||'";
    case TK_ELLIPSIS: return "'...'";
    }
    /* The single-character tokens are their own codes. */
    static const char chars[] = "+-*/%@<>!?:=,.;()[]{}";
    static const char names[][4] = {
        "'+'", "'-'", "'*'", "'/'", "'%'", "'@'", "'<'", "'>'", "'!'", "'?'", "':'",
        "'='", "','", "'.'", "';'", "'('", "')'", "'['", "']'", "'{'", "'}'",
    };
    const char *c = op > 0 && op < 128 ? strchr(chars, op) : NULL;
    return c ? names[c - chars] : "invalid token";
}
