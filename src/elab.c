/* elab.c — elaboration: from a parsed spec to the keys it implies.
 *
 * A spec is a model whose body assigns names to modules: built-in layers
 * (catalog.c), instances of the spec's own blocks, Sequential containers
 * and lists of modules; plus raw `param`/`buffer` declarations and
 * configuration values.  Elaboration runs that body the way torch.nn runs
 * __init__: each block is instantiated with its arguments bound (positional,
 * keyword, defaults), its integer expressions evaluated, its conditionals
 * taken, its lists and repeats unrolled, down to a tree of Instances and
 * the flat list of ExpTensors: every key of the state dict the spec
 * describes, with its shape, dtype and the span that declared it, in the
 * order torch's state_dict() would list them (a module's own parameters,
 * then its buffers, then its submodules).
 *
 * Every problem is a diagnostic at the expression that caused it; the
 * walk goes on where it can, so that one run reports them all.
 *
 * Cost follows the model: names are found in hash tables (names.c), a
 * layer's tensors pass through one buffer sized to the largest layer, and
 * once the walk is done the result is indexed (each instance's tensors and
 * children as ranges, paths and keys sorted) so that the forward checker
 * and check look things up instead of scanning the model.
 */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arch.h"

#ifndef RCC_SPECS_DIR
#define RCC_SPECS_DIR "/usr/local/share/rcc/specs"
#endif

enum { MAX_DEPTH = 64, MAX_ITEMS = 100000 };

/* ------------------------------------------------------------- scopes */

/* The values a block body sees: its parameters and its local constants.
 * Blocks do not see their caller's names (as Python's __init__ does not).
 * A scope is a list of bindings, newest first, that is never changed in
 * place: binding a name again puts a new binding in front, so a copy of
 * the Scope is a snapshot of the names as they stand (what a module made
 * later from this point must see, elab_snapshot), and a comprehension's
 * row binds its names in a copy without touching the body's.  A body's
 * names are a few dozen, so a lookup is a short walk. */
typedef struct Binding {
    const char     *name;
    Val             v;
    int             local;   /* assigned by the body, not a parameter */
    struct Binding *next;
} Binding;

typedef struct Scope {
    Binding *head;
} Scope;

static const Binding *lookup_binding(const Scope *s, const char *name)
{
    for (const Binding *b = s->head; b; b = b->next)
        if (strcmp(b->name, name) == 0)
            return b;
    return NULL;
}

static const Val *lookup(const Scope *s, const char *name)
{
    const Binding *b = lookup_binding(s, name);
    return b ? &b->v : NULL;
}

static int bind(Elab *e, Scope *s, const char *name, const Val *v)
{
    Binding *b = ARENA_NEW(e->a, Binding);
    if (!b)
        return -1;
    b->name = name;
    b->v = *v;
    b->next = s->head;
    s->head = b;
    return 0;
}

/* ------------------------------------------------------------- values */

static const char *val_kind_name(ValKind k)
{
    static const char *const names[] = {"none", "bool", "int", "float", "string", "tuple", "module", "class", "list"};
    return (unsigned)k < sizeof names / sizeof *names ? names[k] : "?";
}

int val_truthy(const Val *v)
{
    return v->kind == VAL_BOOL || v->kind == VAL_INT ? v->i != 0 : v->kind == VAL_FLOAT ? v->f != 0 : v->kind != VAL_NONE;
}

static int err_at(Elab *e, Span sp, const char *fmt, ...) RCC_PRINTF(3, 4);
static int err_at(Elab *e, Span sp, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    diag(e->d, DG_ERROR, sp, "%s", msg);
    return -1;
}

static int eval(Elab *e, const Scope *s, const Expr *x, Val *out);

/* The scope as it is now, for a module made later: a body goes on
 * rebinding names (inplanes = c) after it wrote Block(inplanes, c). */
static const Scope *snapshot(Elab *e, const Scope *s)
{
    Scope *c = ARENA_NEW(e->a, Scope);
    if (c)
        *c = *s;
    return c ? c : s;
}

/* ------------------------------------------------------------ sequences */

/* A tuple or list value: 8 integers or fewer are VAL_INTS (what layers
 * take: kernel_size=(3, 3)); anything else is a VAL_LIST. */
static size_t seq_len(const Val *v) { return v->kind == VAL_INTS || v->kind == VAL_LIST ? v->n : 0; }
static int is_seq(const Val *v) { return v->kind == VAL_INTS || v->kind == VAL_LIST; }

static Val seq_at(const Val *v, size_t i)
{
    if (v->kind == VAL_LIST)
        return v->items[i];
    Val r;
    memset(&r, 0, sizeof r);
    r.kind = VAL_INT;
    r.i = v->ints[i];
    return r;
}

static int seq_make(Elab *e, const Val *items, size_t n, Val *out)
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

/* A growing sequence of values (arena-backed). */
typedef struct Seq { Val *v; size_t n, cap; } Seq;

static int seq_push(Elab *e, Seq *q, const Val *v)
{
    if (q->n >= MAX_ITEMS || arena_grow(e->a, (void **)&q->v, &q->cap, q->n + 1, sizeof *q->v) < 0)
        return -1;
    q->v[q->n++] = *v;
    return 0;
}

static int seq_push_all(Elab *e, Seq *q, const Val *list)
{
    for (size_t i = 0; i < seq_len(list); i++) {
        Val it = seq_at(list, i);
        if (seq_push(e, q, &it) < 0)
            return -1;
    }
    return 0;
}

static int iter_rows(Elab *e, const Scope *s, const Expr *iter, Val **rows, size_t *n, size_t *width);
static int conf_function(const Expr *fx);
static const Decl *find_decl(const Elab *e, const char *name, DeclKind kind);
static int is_module_expr(const Elab *e, const Expr *x);
static int conf_call(Elab *e, const Scope *s, const Expr *x, Val *out);
static int targets_fit(Elab *e, const Arg *targets, size_t nt, const Expr *iter, Val **rows, size_t n,
                       size_t *width);
static int comp_rows(Elab *e, const Scope *s, const Expr *comp, Val **rows, size_t *n, size_t *width);
static const Scope *comp_scope(Elab *e, const Scope *s, const Expr *comp, const Val *row, size_t width);

static int eval_int(Elab *e, const Scope *s, const Expr *x, int64_t *out)
{
    Val v;
    if (eval(e, s, x, &v) < 0)
        return -1;
    if (v.kind != VAL_INT)
        return err_at(e, x->span, "expected an integer, found a %s", val_kind_name(v.kind));
    *out = v.i;
    return 0;
}

static int arith(Elab *e, Span sp, int op, const Val *a, const Val *b, Val *out)
{
    memset(out, 0, sizeof *out);
    if (op == '+' && is_seq(a) && is_seq(b)) {   /* layers + [Block(...)] */
        Seq q = {0};
        if (seq_push_all(e, &q, a) < 0 || seq_push_all(e, &q, b) < 0)
            return err_at(e, sp, "a list holds at most %d items", MAX_ITEMS);
        return seq_make(e, q.v, q.n, out);
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
                return err_at(e, sp, "division by zero");
            if (x == INT64_MIN && y == -1)
                return err_at(e, sp, "integer overflow");
            r = op == '%' ? x % y : x / y;
            if ((x % y != 0) && ((x < 0) != (y < 0)))   /* floor, as Python */
                r = op == '%' ? r + y : r - 1;
            break;
        case 'p': /* ** (a negative exponent gives a float, below) */
            r = 1;
            for (int64_t k = 0; k < y && !ovf; k++)
                ovf = __builtin_mul_overflow(r, x, &r);
            break;
        default: return err_at(e, sp, "operator not defined on integers");
        }
        if (ovf)
            return err_at(e, sp, "integer overflow");
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
                return err_at(e, sp, "division by zero");
            out->f = x / y;
            return 0;
        case '\\':   /* //, % on floats: Python's floor and its remainder's sign */
        case '%':
            if (y == 0)
                return err_at(e, sp, "division by zero");
            out->f = op == '%' ? x - floor(x / y) * y : floor(x / y);
            return 0;
        case 'p':
            if (x == 0 && y < 0)
                return err_at(e, sp, "0.0 cannot be raised to a negative power");
            if (x < 0 && y != floor(y))
                return err_at(e, sp, "a negative number raised to a fractional power is complex");
            out->f = pow(x, y);
            return 0;
        default: return err_at(e, sp, "operator not defined on floats");
        }
    }
    return err_at(e, sp, "cannot apply an arithmetic operator to a %s and a %s", val_kind_name(a->kind),
                  val_kind_name(b->kind));
}

static int compare(Elab *e, Span sp, const char *op, const Val *a, const Val *b, Val *out)
{
    int c;
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
        return err_at(e, sp, "cannot order none");
    } else {
        return err_at(e, sp, "cannot compare a %s with a %s", val_kind_name(a->kind), val_kind_name(b->kind));
    }
    memset(out, 0, sizeof *out);
    out->kind = VAL_BOOL;
    out->i = !strcmp(op, "==") ? c == 0 : !strcmp(op, "!=") ? c != 0 : !strcmp(op, "<") ? c < 0
           : !strcmp(op, ">") ? c > 0 : !strcmp(op, "<=") ? c <= 0 : c >= 0;
    return 0;
}

static int eval(Elab *e, const Scope *s, const Expr *x, Val *out)
{
    memset(out, 0, sizeof *out);
    switch (x->kind) {
    case EX_INT: out->kind = VAL_INT; out->i = x->u.i; return 0;
    case EX_FLOAT: out->kind = VAL_FLOAT; out->f = x->u.f; return 0;
    case EX_BOOL: out->kind = VAL_BOOL; out->i = x->u.i; return 0;
    case EX_STR: out->kind = VAL_STR; out->s = x->u.s; return 0;
    case EX_NONE: out->kind = VAL_NONE; return 0;
    case EX_NAME: {
        const Val *v = lookup(s, x->u.s);
        if (!v && (find_decl(e, x->u.s, DECL_BLOCK) || cat_find(x->u.s))) {   /* norm_layer = BatchNorm2d */
            out->kind = VAL_CLASS;
            out->s = x->u.s;
            return 0;
        }
        if (!v)
            return err_at(e, x->span, "unknown name '%s'", x->u.s);
        *out = *v;
        return 0;
    }
    case EX_ATTR:   /* nn.BatchNorm2d as a value; self.inplanes as the body set it */
        if (x->a->kind == EX_NAME && !strcmp(x->a->u.s, "self") && lookup(s, x->u.s)) {
            *out = *lookup(s, x->u.s);
            return 0;
        }
        if (x->a->kind == EX_NAME && !strcmp(x->a->u.s, "nn") && cat_find(x->u.s)) {
            out->kind = VAL_CLASS;
            out->s = x->u.s;
            return 0;
        }
        return err_at(e, x->span, "not a configuration value");
    case EX_UNARY: {
        Val a;
        if (eval(e, s, x->a, &a) < 0)
            return -1;
        const char *op = ast_op_name(x->op);
        if (strcmp(op, "'!'") == 0 || strcmp(op, "'not'") == 0 || x->op == '!') {
            out->kind = VAL_BOOL;
            out->i = !val_truthy(&a);
            return 0;
        }
        if (x->op == '+' && (a.kind == VAL_INT || a.kind == VAL_FLOAT)) {
            *out = a;
            return 0;
        }
        if (x->op == '-' && a.kind == VAL_INT) {
            if (a.i == INT64_MIN)
                return err_at(e, x->span, "integer overflow");
            out->kind = VAL_INT;
            out->i = -a.i;
            return 0;
        }
        if (x->op == '-' && a.kind == VAL_FLOAT) {
            out->kind = VAL_FLOAT;
            out->f = -a.f;
            return 0;
        }
        return err_at(e, x->span, "operator %s cannot apply to a %s", op, val_kind_name(a.kind));
    }
    case EX_BINARY: {
        const char *op = ast_op_name(x->op);
        Val a, b;
        if (!strcmp(op, "'&&'") || !strcmp(op, "'and'") || !strcmp(op, "'||'") || !strcmp(op, "'or'")) {
            int is_and = !strcmp(op, "'&&'") || !strcmp(op, "'and'");
            if (eval(e, s, x->a, &a) < 0)
                return -1;
            if (val_truthy(&a) != is_and) {   /* short-circuit */
                out->kind = VAL_BOOL;
                out->i = !is_and;
                return 0;
            }
            if (eval(e, s, x->b, &b) < 0)
                return -1;
            out->kind = VAL_BOOL;
            out->i = val_truthy(&b);
            return 0;
        }
        if (eval(e, s, x->a, &a) < 0 || eval(e, s, x->b, &b) < 0)
            return -1;
        if (!strcmp(op, "'is'") || !strcmp(op, "'is not'")) {   /* downsample is none */
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
            return err_at(e, x->span, "operator %s is not defined on configuration values", op);
        return arith(e, x->span, code, &a, &b, out);
    }
    case EX_COND: {
        Val c;
        if (eval(e, s, x->a, &c) < 0)
            return -1;
        return eval(e, s, val_truthy(&c) ? x->b : x->c, out);
    }
    case EX_TUPLE:
    case EX_LIST: {   /* items that are modules stay unmade: a body makes them where it assigns them */
        Seq q = {0};
        for (size_t i = 0; i < x->nargs; i++) {
            const Expr *it = x->args[i].value;
            Val v;
            memset(&v, 0, sizeof v);
            if (it->kind == EX_STAR) {
                if (eval(e, s, it->a, &v) < 0)
                    return -1;
                if (!is_seq(&v))
                    return err_at(e, it->span, "'*' splices a tuple or list, not a %s", val_kind_name(v.kind));
                if (seq_push_all(e, &q, &v) < 0)
                    return err_at(e, x->span, "out of memory");
                continue;
            }
            if (is_module_expr(e, it)) {
                v.kind = VAL_MODULE;
                v.x = it;
                v.scope = snapshot(e, s);
            } else if (eval(e, s, it, &v) < 0) {
                return -1;
            }
            if (seq_push(e, &q, &v) < 0)
                return err_at(e, x->span, "a list holds at most %d items", MAX_ITEMS);
        }
        return seq_make(e, q.v, q.n, out);
    }
    case EX_INDEX: {
        Val t;
        int64_t i;
        if (eval(e, s, x->a, &t) < 0)
            return -1;
        if (!is_seq(&t) || x->nargs != 1 || x->args[0].value->kind == EX_SLICE)
            return err_at(e, x->span, "only a tuple or list can be indexed here, with one integer");
        if (eval_int(e, s, x->args[0].value, &i) < 0)
            return -1;
        if (i < -(int64_t)t.n || i >= (int64_t)t.n)
            return err_at(e, x->args[0].value->span, "index %lld is out of range for a tuple of %zu",
                          (long long)i, t.n);
        *out = seq_at(&t, (size_t)(i < 0 ? i + (int64_t)t.n : i));
        return 0;
    }
    case EX_COMP: {
        Val *rows;
        size_t n, width;
        if (comp_rows(e, s, x, &rows, &n, &width) < 0)
            return -1;
        Seq q = {0};
        for (size_t r = 0; r < n; r++) {
            const Scope *inner = comp_scope(e, s, x, &rows[r * width], width);   /* a module item made later sees it */
            if (!inner)
                return -1;
            Val v;
            memset(&v, 0, sizeof v);
            if (is_module_expr(e, x->a)) {
                v.kind = VAL_MODULE;
                v.x = x->a;
                v.scope = inner;
            } else if (eval(e, inner, x->a, &v) < 0) {
                return -1;
            }
            if (seq_push(e, &q, &v) < 0)
                return err_at(e, x->span, "a list holds at most %d items", MAX_ITEMS);
        }
        return seq_make(e, q.v, q.n, out);
    }
    case EX_CALL:
        if (conf_function(x->a))
            return conf_call(e, s, x, out);
        if (x->a->kind == EX_NAME && !strcmp(x->a->u.s, "partial")) {   /* partial(nn.BatchNorm2d, eps=0.001) */
            if (x->nargs < 1 || x->args[0].name || eval(e, s, x->args[0].value, out) < 0 || out->kind != VAL_CLASS)
                return x->nargs && out->kind != VAL_CLASS ? err_at(e, x->span, "partial() takes a class first, "
                                                                  "then keyword arguments") : -1;
            for (size_t i = 1; i < x->nargs; i++)
                if (!x->args[i].name)
                    return err_at(e, x->args[i].value->span, "partial() here binds keyword arguments only");
            out->x = x;
            out->scope = snapshot(e, s);
            return 0;
        }
        /* Sequential(...) given to a block: made where the block assigns it */
        out->kind = VAL_MODULE;
        out->x = x;
        out->scope = snapshot(e, s);
        return 0;
    default: return err_at(e, x->span, "not a configuration value");
    }
}

/* ------------------------------------------------- value functions */

/* The functions a body computes configuration values with, as __init__
 * does: Python's builtins and math's. */
static const char *const conf_fns[] = {"len", "min", "max", "int", "float", "round", "abs", "bool", NULL};
static const char *const math_fns[] = {"sqrt", "ceil", "floor", "log", "log2", "exp", "pow", NULL};

static int in_names(const char *const *l, const char *n)
{
    for (; *l; l++)
        if (!strcmp(*l, n))
            return 1;
    return 0;
}

/* The class a module call names: Conv2d(...), or nn.Conv2d(...) as torch
 * code spells it; NULL for another callee. */
static const char *class_name(const Expr *call)
{
    const Expr *fx = call->a;
    if (fx->kind == EX_NAME)
        return fx->u.s;
    return fx->kind == EX_ATTR && fx->a->kind == EX_NAME && !strcmp(fx->a->u.s, "nn") ? fx->u.s : NULL;
}

/* Is fx (a call's callee) one of them: min, math.sqrt? */
static int conf_function(const Expr *fx)
{
    if (fx->kind == EX_NAME)
        return in_names(conf_fns, fx->u.s);
    return fx->kind == EX_ATTR && fx->a->kind == EX_NAME && !strcmp(fx->a->u.s, "math") && in_names(math_fns, fx->u.s);
}

static double num_of(const Val *v) { return v->kind == VAL_FLOAT ? v->f : (double)v->i; }

/* Python's round(): half to even; an int for one argument. */
static int conf_call(Elab *e, const Scope *s, const Expr *x, Val *out)
{
    const char *fn = x->a->u.s;
    Val a[8];
    if (x->nargs > 8 || x->nargs == 0)
        return err_at(e, x->span, "%s() takes 1 to 8 arguments", fn);
    for (size_t i = 0; i < x->nargs; i++) {
        if (x->args[i].name)
            return err_at(e, x->args[i].name_span, "%s() takes no keywords here", fn);
        if (eval(e, s, x->args[i].value, &a[i]) < 0)
            return -1;
    }
    memset(out, 0, sizeof *out);
    if (!strcmp(fn, "len")) {
        if (x->nargs != 1 || (!is_seq(&a[0]) && a[0].kind != VAL_STR))
            return err_at(e, x->span, "len() takes one tuple, list or string");
        out->kind = VAL_INT;
        out->i = is_seq(&a[0]) ? (int64_t)a[0].n : (int64_t)strlen(a[0].s);
        return 0;
    }
    for (size_t i = 0; i < x->nargs; i++)
        if (a[i].kind != VAL_INT && a[i].kind != VAL_FLOAT && a[i].kind != VAL_BOOL)
            return err_at(e, x->args[i].value->span, "%s() takes numbers, not a %s", fn, val_kind_name(a[i].kind));
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
            return err_at(e, x->span, "integer overflow");
        out->kind = VAL_INT;
        out->i = a[0].i < 0 ? -a[0].i : a[0].i;
        return 0;
    }
    if (!isfinite(r) && to_int)
        return err_at(e, x->span, "%s() of %g", fn, v);
    if (to_int) {
        if (!(r >= -9.2e18 && r <= 9.2e18))
            return err_at(e, x->span, "%s(): %g does not fit in an integer", fn, r);
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
    if (eval(e, s, x, t) < 0)
        return -1;
    if (!is_seq(t))
        return err_at(e, x->span, "cannot iterate over %s %s", t->kind == VAL_INT ? "an" : "a", val_kind_name(t->kind));
    return 0;
}

/* range(stop), range(start, stop[, step]), a tuple, enumerate(t), zip(a, b):
 * the rows a comprehension or a for loop runs, width values each. */
static int iter_rows(Elab *e, const Scope *s, const Expr *x, Val **rows, size_t *n, size_t *width)
{
    size_t cap = 0;
    *rows = NULL;
    *n = 0;
    *width = 1;
    const char *fn = x->kind == EX_CALL && x->a->kind == EX_NAME ? x->a->u.s : "";
    for (size_t i = 0; *fn && i < x->nargs; i++)
        if (x->args[i].name || x->args[i].value->kind == EX_STAR)
            return err_at(e, x->args[i].value->span, "%s() takes positional arguments only", fn);
    if (!strcmp(fn, "range")) {
        int64_t a[3] = {0, 0, 1};
        if (x->nargs < 1 || x->nargs > 3)
            return err_at(e, x->span, "range() takes 1 to 3 integers");
        for (size_t i = 0; i < x->nargs; i++)
            if (eval_int(e, s, x->args[i].value, &a[x->nargs == 1 ? 1 : i]) < 0)
                return -1;
        if (a[2] == 0)
            return err_at(e, x->args[2].value->span, "range() step must not be zero");
        for (int64_t v = a[0]; a[2] > 0 ? v < a[1] : v > a[1]; v += a[2]) {
            Val iv = int_val(v);
            if (row_add(e, rows, n, &cap, 1, &iv) < 0)
                return err_at(e, x->span, "a loop runs at most %d times", MAX_ITEMS);
            if ((a[2] > 0 && v > INT64_MAX - a[2]) || (a[2] < 0 && v < INT64_MIN - a[2]))
                break;
        }
        return 0;
    }
    if (!strcmp(fn, "enumerate") || !strcmp(fn, "zip")) {
        Val t[2];
        if (x->nargs != (fn[0] == 'z' ? 2u : 1u))
            return err_at(e, x->span, "%s() takes %s", fn, fn[0] == 'z' ? "two tuples" : "one tuple");
        for (size_t i = 0; i < x->nargs; i++)
            if (tuple_of(e, s, x->args[i].value, &t[i]) < 0)
                return -1;
        size_t len = fn[0] == 'z' && t[1].n < t[0].n ? t[1].n : t[0].n;   /* zip stops at the shorter */
        *width = 2;
        for (size_t i = 0; i < len; i++) {
            Val pair[2] = {fn[0] == 'z' ? seq_at(&t[0], i) : int_val((int64_t)i),
                           fn[0] == 'z' ? seq_at(&t[1], i) : seq_at(&t[0], i)};
            if (row_add(e, rows, n, &cap, 2, pair) < 0)
                return -1;
        }
        return 0;
    }
    Val t;
    if (tuple_of(e, s, x, &t) < 0)
        return -1;
    for (size_t i = 0; i < t.n; i++) {
        Val iv = seq_at(&t, i);
        if (row_add(e, rows, n, &cap, 1, &iv) < 0)
            return -1;
    }
    return 0;
}

/* The loop's targets against its rows: `for i, x in enumerate(t)`; rows
 * that are tuples unpack into as many names (`for t, c, n, s in setting`). */
static int targets_fit(Elab *e, const Arg *targets, size_t nt, const Expr *iter, Val **rows, size_t n,
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
            if (seq_len(row) != nt) {
                err_at(e, targets[0].name_span, "cannot unpack %s %s into %zu names",
                       row->kind == VAL_INT ? "an" : "a", is_seq(row) ? "tuple of another length"
                                                                     : val_kind_name(row->kind), nt);
                if (!is_seq(row))
                    diag(e->d, DG_HELP, iter->span, "write one name, or enumerate(...) for the index too");
                return -1;
            }
            for (size_t k = 0; k < nt; k++)
                flat[r * nt + k] = seq_at(row, k);
        }
        *rows = flat;
        *width = nt;
        return 0;
    }
    size_t w = *width;
    err_at(e, targets[0].name_span, "this loop gives %zu value%s per step, not %zu", w, w == 1 ? "" : "s", nt);
    return diag(e->d, DG_HELP, iter->span, w == 2 ? "write two names: for i, x in ..."
                                                      : "write one name, or enumerate(...) for the index too"), -1;
}

/* A comprehension's rows, its targets fitted to them. */
static int comp_rows(Elab *e, const Scope *s, const Expr *comp, Val **rows, size_t *n, size_t *width)
{
    return iter_rows(e, s, comp->b, rows, n, width) < 0 ||
                   targets_fit(e, comp->args, comp->nargs, comp->b, rows, *n, width) < 0 ? -1 : 0;
}

/* The scope of one row of a comprehension: s, its targets bound to the row
 * (arena-owned and kept: what is made from the row later sees it). */
static const Scope *comp_scope(Elab *e, const Scope *s, const Expr *comp, const Val *row, size_t width)
{
    Scope *inner = ARENA_NEW(e->a, Scope);
    if (!inner)
        return NULL;
    *inner = *s;
    for (size_t k = 0; k < width; k++)
        if (bind(e, inner, comp->args[k].name, &row[k]) < 0)
            return NULL;
    return inner;
}

int elab_iter(Elab *e, size_t inst, const Expr *x, Val **rows, size_t *n, size_t *width)
{
    static const Scope empty;
    const Scope *s = inst < e->ninsts && e->insts[inst].scope ? e->insts[inst].scope : &empty;
    return iter_rows(e, s, x, rows, n, width);
}

/* ------------------------------------------------------------ sources */

/* Loads path (and, recursively, its imports). */
static int load(Elab *e, const char *path, Span from)
{
    if (names_get(&e->loaded, path))   /* parsed already */
        return 0;
    size_t len;
    char *text = util_read_file(path, &len);
    if (!text)
        return err_at(e, from, "cannot read %s", path);
    uint32_t fno = diag_add_file(e->d, path, text, len);
    free(text);
    Program *p = arch_parse(e->d, e->a, fno);
    if (!p)
        return -1;
    if (arena_grow(e->a, (void **)&e->progs, &e->progs_cap, e->nprogs + 1, sizeof *e->progs) < 0)
        return -1;
    e->progs[e->nprogs++] = p;
    if (names_put(e->a, &e->loaded, e->d->files[p->file].path, p) < 0)
        return -1;
    int r = 0;
    for (size_t i = 0; i < p->ndecls; i++) {
        const Decl *dc = p->decls[i];
        if (dc->kind != DECL_IMPORT)
            continue;
        /* Relative to the importing file, then the installed specs. */
        char cand[4096];
        const char *slash = strrchr(path, '/');
        if (dc->name[0] == '/')
            snprintf(cand, sizeof cand, "%s", dc->name);
        else
            snprintf(cand, sizeof cand, "%.*s%s", slash ? (int)(slash - path + 1) : 0, path, dc->name);
        FILE *probe = fopen(cand, "rb");
        if (!probe) {
            const char *dir = getenv("RCC_SPECS");
            snprintf(cand, sizeof cand, "%s/%s", dir && *dir ? dir : RCC_SPECS_DIR, dc->name);
            probe = fopen(cand, "rb");
        }
        if (!probe) {
            r = err_at(e, dc->name_span, "cannot find the imported file '%s'", dc->name);
            continue;
        }
        fclose(probe);
        if (load(e, arena_strndup(e->a, cand, strlen(cand)), dc->name_span) < 0)
            r = -1;
    }
    return r;
}

/* The first block or model of that name, in the main file then its
 * imports (indexed once everything is loaded). */
static const Decl *find_decl(const Elab *e, const char *name, DeclKind kind)
{
    return names_get(kind == DECL_BLOCK ? &e->blocks : &e->models, name);
}

static int index_decls(Elab *e)
{
    for (size_t i = 0; i < e->nprogs; i++)
        for (size_t k = 0; k < e->progs[i]->ndecls; k++) {
            Decl *dc = e->progs[i]->decls[k];
            NameTab *t = dc->kind == DECL_BLOCK ? &e->blocks : dc->kind == DECL_MODEL ? &e->models : NULL;
            if (t && !names_get(t, dc->name) && names_put(e->a, t, dc->name, dc) < 0)
                return err_at(e, NO_SPAN, "out of memory");
        }
    return 0;
}

/* -------------------------------------------------------- instances */

static size_t new_inst(Elab *e, const char *path, const char *type, size_t parent, Span sp, Span name_span)
{
    if (arena_grow(e->a, (void **)&e->insts, &e->insts_cap, e->ninsts + 1, sizeof *e->insts) < 0)
        return (size_t)-1;
    Instance *in = &e->insts[e->ninsts];
    memset(in, 0, sizeof *in);
    in->path = path;
    in->type = type;
    in->parent = parent;
    in->depth = parent == (size_t)-1 ? 0 : e->insts[parent].depth + 1;
    in->span = sp;
    in->name_span = name_span;
    return e->ninsts++;
}

static int add_tensor(Elab *e, size_t inst, const char *key, rcc_dtype dt, int ndim, const int64_t *shape,
                      int buffer, Span sp)
{
    if (arena_grow(e->a, (void **)&e->tensors, &e->tensors_cap, e->ntensors + 1, sizeof *e->tensors) < 0)
        return -1;
    ExpTensor *t = &e->tensors[e->ntensors++];
    memset(t, 0, sizeof *t);
    t->key = key;
    t->dtype = dt;
    t->ndim = ndim;
    memcpy(t->shape, shape, (size_t)ndim * sizeof *shape);
    t->buffer = buffer;
    t->inst = inst;
    t->span = sp;
    return 0;
}

static const char *join(Elab *e, const char *prefix, const char *name)
{
    return *prefix ? arena_printf(e->a, "%s.%s", prefix, name) : arena_strndup(e->a, name, strlen(name));
}

static int parse_dtype(const char *s, rcc_dtype *out)
{
    for (int t = 0; t < RCC_DTYPE_COUNT; t++)
        if (strcmp(rcc_dtype_name((rcc_dtype)t), s) == 0) {
            *out = (rcc_dtype)t;
            return 0;
        }
    return -1;
}

/* A module expression: a layer or block call, Sequential, a list (also
 * a comprehension, a concatenation, one named by a pattern). */
static int is_module_expr(const Elab *e, const Expr *x)
{
    if (!x)
        return 0;
    if (x->kind == EX_CALL && class_name(x))   /* a layer, a block, a container; or min(...), partial(...) */
        return !conf_function(x->a) && strcmp(class_name(x), "partial") != 0;
    switch (x->kind) {
    case EX_LIST: return x->nargs > 0 && is_module_expr(e, x->args[0].value);
    case EX_BINARY: return (x->op == '*' && is_module_expr(e, x->a)) ||
                           (x->op == '+' && (is_module_expr(e, x->a) || is_module_expr(e, x->b)));
    case EX_COND: return is_module_expr(e, x->b) || is_module_expr(e, x->c);
    case EX_COMP:
    case EX_STAR: return is_module_expr(e, x->a);
    case EX_NAMED: return 1;
    default: return 0;
    }
}

static int instantiate(Elab *e, const Scope *s, const Expr *x, const char *path, size_t parent, Span name_span,
                       int depth);

/* A default written in the catalog's .arch syntax, as a value. */
static int default_val(const char *def, Val *v)
{
    memset(v, 0, sizeof *v);
    char *end;
    if (!strcmp(def, "none")) {
        v->kind = VAL_NONE;
    } else if (!strcmp(def, "true") || !strcmp(def, "false")) {
        v->kind = VAL_BOOL;
        v->i = def[0] == 't';
    } else if (def[0] == '"') {
        v->kind = VAL_STR;
        v->s = def + 1;   /* the catalog writes "zeros"; the closing quote is trimmed by the caller */
    } else if (def[0] == '(') {
        v->kind = VAL_INTS;
        const char *p = def + 1;
        while (*p && *p != ')' && v->n < 8) {
            v->ints[v->n++] = strtoll(p, &end, 10);
            p = end + strspn(end, ", ");
        }
    } else {
        long long i = strtoll(def, &end, 10);
        if (*end == 0) {
            v->kind = VAL_INT;
            v->i = i;
        } else {
            v->kind = VAL_FLOAT;
            v->f = strtod(def, NULL);
        }
    }
    return 0;
}

/* Binds a call's arguments to named parameters: positional first, then
 * keywords; every missing parameter takes its default. */
typedef struct Formal {
    const char *name;
    const char *def_text;   /* built-ins */
    const Expr *def_expr;   /* blocks */
} Formal;

static int bind_args(Elab *e, const Scope *s, const Expr *call, const char *callee, const Formal *f, size_t nf,
                     Val *vals, Span *spans)
{
    int r = 0;
    unsigned char *set = calloc(nf + 1, 1);
    if (!set)
        return -1;
    size_t pos = 0;
    for (size_t i = 0; i < call->nargs; i++) {
        const Arg *a = &call->args[i];
        size_t k = nf;
        if (!a->name) {
            if (pos >= nf) {
                r = err_at(e, a->value->span, "%s takes at most %zu positional arguments", callee, nf);
                continue;
            }
            k = pos++;
        } else {
            for (k = 0; k < nf && strcmp(f[k].name, a->name) != 0; k++)
                ;
            if (k == nf) {
                r = err_at(e, a->name_span, "%s has no parameter '%s'", callee, a->name);
                const char *best = NULL;
                size_t bestd = 3;
                for (size_t j = 0; j < nf; j++) {
                    size_t dd = str_distance(a->name, f[j].name);
                    if (dd < bestd) {
                        bestd = dd;
                        best = f[j].name;
                    }
                }
                if (best)
                    diag(e->d, DG_HELP, a->name_span, "did you mean '%s'?", best);
                continue;
            }
        }
        if (set[k]) {
            r = err_at(e, a->value->span, "%s: '%s' is given twice", callee, f[k].name);
            continue;
        }
        set[k] = 1;
        spans[k] = a->value->span;
        if (eval(e, s, a->value, &vals[k]) < 0)
            r = -1;
    }
    for (size_t k = 0; k < nf; k++) {
        if (set[k])
            continue;
        spans[k] = call->span;
        if (f[k].def_text) {
            default_val(f[k].def_text, &vals[k]);
            if (vals[k].kind == VAL_STR) {   /* trim the closing quote */
                size_t l = strlen(vals[k].s);
                vals[k].s = arena_strndup(e->a, vals[k].s, l ? l - 1 : 0);
            }
        } else if (f[k].def_expr) {
            Scope empty = {0};
            if (eval(e, &empty, f[k].def_expr, &vals[k]) < 0)
                r = -1;
        } else {
            r = err_at(e, call->span, "%s: missing required argument '%s'", callee, f[k].name);
        }
    }
    free(set);
    return r;
}

/* A call's arguments bound to a built-in layer's (L) or a block's (B)
 * parameters: the values in parameter order (arena), or NULL. */
static Val *bind_call(Elab *e, const Scope *s, const Expr *x, const Layer *L, const Decl *B, Span **spans)
{
    size_t nf = L ? L->nargs : B->nparams;
    Formal *f = arena_array(e->a, nf + 1, sizeof *f);
    Val *vals = arena_array(e->a, nf + 1, sizeof *vals);
    *spans = arena_array(e->a, nf + 1, sizeof **spans);
    if (!f || !vals || !*spans)
        return NULL;
    for (size_t k = 0; k < nf; k++) {
        f[k].name = L ? L->args[k].name : B->params[k].name;
        f[k].def_text = L ? L->args[k].def : NULL;
        f[k].def_expr = L ? NULL : B->params[k].def;
    }
    return bind_args(e, s, x, L ? L->name : B->name, f, nf, vals, *spans) < 0 ? NULL : vals;
}

static int layer_call(Elab *e, const Scope *s, const Expr *x, const Layer *L, const char *path, size_t parent,
                      Span name_span)
{
    size_t nf = L->nargs;
    Span *spans;
    Val *vals = bind_call(e, s, x, L, NULL, &spans);
    if (!vals)
        return -1;
    for (size_t k = 0; k < nf; k++) {   /* kinds: an int where a tuple goes is fine (expand widens it) */
        ValKind want = L->args[k].kind, got = vals[k].kind;
        if (got == want || got == VAL_NONE || (want == VAL_INTS && got == VAL_INT) ||
            (want == VAL_FLOAT && got == VAL_INT))
            continue;
        return err_at(e, spans[k], "%s: '%s' must be a %s, not a %s", L->name, L->args[k].name,
                      val_kind_name(want), val_kind_name(got));
    }
    size_t in = new_inst(e, path, L->name, parent, x->span, name_span);
    if (in == (size_t)-1)
        return -1;
    e->insts[in].layer = L;
    e->insts[in].args = vals;
    e->insts[in].nargs = nf;
    /* The layer's tensors go to one buffer that every call reuses: most
     * layers have a handful, and a model of thousands of layers must not
     * pay for the largest layer at each.  expand fails both for arguments
     * it rejects and for a buffer too small, so on failure the buffer
     * grows and expand runs again, up to the bound; a rejection says the
     * same at every size. */
    enum { MIN_LAYER_TENSORS = 64, MAX_LAYER_TENSORS = 4096 };   /* 4096: an LSTM of 400 bidirectional layers */
    char msg[256] = "";
    int n = -1;
    if (e->scratch_cap < MIN_LAYER_TENSORS &&
        arena_grow(e->a, (void **)&e->scratch, &e->scratch_cap, MIN_LAYER_TENSORS, sizeof *e->scratch) < 0)
        return err_at(e, x->span, "out of memory");
    for (;;) {
        size_t cap = e->scratch_cap < MAX_LAYER_TENSORS ? e->scratch_cap : MAX_LAYER_TENSORS;
        msg[0] = 0;
        n = L->expand(vals, e->scratch, cap, msg, sizeof msg);
        if (n >= 0 || cap >= MAX_LAYER_TENSORS)
            break;
        if (arena_grow(e->a, (void **)&e->scratch, &e->scratch_cap, cap * 2, sizeof *e->scratch) < 0)
            return err_at(e, x->span, "out of memory");
    }
    if (n < 0)
        return err_at(e, x->span, "%s: %s", L->name, msg[0] ? msg : "invalid arguments");
    for (int i = 0; i < n; i++) {
        const LayerTensor *lt = &e->scratch[i];
        if (add_tensor(e, in, join(e, path, lt->name), lt->dtype, lt->ndim, lt->shape, lt->buffer, x->span) < 0)
            return -1;
    }
    return 0;
}

static int elab_body(Elab *e, Scope *s, Stmt **body, size_t n, const char *path, size_t inst, int depth);

static int block_call(Elab *e, const Scope *s, const Expr *x, const Decl *B, const char *path, size_t parent,
                      Span name_span, int depth)
{
    if (depth > MAX_DEPTH)
        return err_at(e, x->span, "blocks nested deeper than %d (a block that instantiates itself?)", MAX_DEPTH);
    size_t nf = B->nparams;
    Span *spans;
    Val *vals = bind_call(e, s, x, NULL, B, &spans);
    Scope *inner = vals ? ARENA_NEW(e->a, Scope) : NULL;
    if (!inner)
        return -1;
    for (size_t k = 0; k < nf; k++)
        if (bind(e, inner, B->params[k].name, &vals[k]) < 0)
            return -1;
    size_t in = new_inst(e, path, B->name, parent, x->span, name_span);
    if (in == (size_t)-1)
        return -1;
    e->insts[in].args = vals;
    e->insts[in].nargs = nf;
    e->insts[in].decl = B;
    e->insts[in].scope = inner;   /* kept: the forward evaluates in it */
    if (elab_body(e, inner, B->body, B->nbody, path, in, depth) == 0)
        return 0;
    diag(e->d, DG_NOTE, x->span, "in %s, an instance of %s made here", *path ? path : "the model", B->name);
    return -1;
}

/* ------------------------------------------------------ module lists */

static int is_container(const char *name)
{
    return !strcmp(name, "Sequential") || !strcmp(name, "ModuleList") || !strcmp(name, "ModuleDict");
}

/* Items of a module list: `M(...) * n` repeats unrolled, comprehensions
 * run, `*xs` and `a + b` spliced, each item named by its index or by the
 * list's pattern. */
static int list_seq(Elab *e, const Scope *s, const Expr *x, size_t inst, int depth);

static int list_item(Elab *e, const Scope *s, const Expr *item, size_t inst, int depth)
{
    if (item->kind == EX_STAR)
        return list_seq(e, s, item->a, inst, depth);
    if (item->kind == EX_COND) {
        Val c;
        if (eval(e, s, item->a, &c) < 0)
            return -1;
        const Expr *pick = val_truthy(&c) ? item->b : item->c;
        return pick->kind == EX_NONE ? 0 : list_item(e, s, pick, inst, depth);
    }
    int64_t times = 1;
    if (item->kind == EX_BINARY && item->op == '*') {
        if (eval_int(e, s, item->b, &times) < 0)
            return -1;
        if (times < 0 || times > MAX_ITEMS)
            return err_at(e, item->b->span, "a repeat count must be between 0 and %d", MAX_ITEMS);
        item = item->a;
    }
    int r = 0;
    for (int64_t k = 0; k < times; k++) {
        Instance *L = &e->insts[inst];
        if (L->nitems >= MAX_ITEMS)
            return err_at(e, item->span, "a list holds at most %d modules", MAX_ITEMS);
        size_t i = L->nitems++;
        const char *name = L->item_pre ? arena_printf(e->a, "%s%lld%s", L->item_pre,
                                                      (long long)((int64_t)i + L->item_off), L->item_post)
                                       : arena_printf(e->a, "%zu", i);
        if (!name || instantiate(e, s, item, join(e, L->path, name), inst, item->span, depth + 1) < 0)
            r = -1;
    }
    return r;
}

/* The items of a list value: each a module made (in the scope it was
 * written in) as the list's next item. */
static int list_vals(Elab *e, const Val *list, size_t inst, int depth)
{
    int r = 0;
    for (size_t i = 0; i < seq_len(list); i++) {
        Val it = seq_at(list, i);
        if (it.kind == VAL_NONE)
            continue;
        if (it.kind != VAL_MODULE)
            return err_at(e, e->insts[inst].span, "item %zu of this list is a %s, not a module", i,
                          val_kind_name(it.kind));
        if (list_item(e, it.scope, it.x, inst, depth) < 0)
            r = -1;
    }
    return r;
}

static int list_seq(Elab *e, const Scope *s, const Expr *x, size_t inst, int depth)
{
    int r = 0;
    switch (x->kind) {
    case EX_LIST:
        for (size_t i = 0; i < x->nargs; i++)
            if (list_item(e, s, x->args[i].value, inst, depth) < 0)
                r = -1;
        return r;
    case EX_CALL:   /* Sequential(...), ModuleList(...), ModuleDict(...): spliced as lists */
        if (!class_name(x) || !is_container(class_name(x)))
            break;
        for (size_t i = 0; i < x->nargs; i++) {
            const Arg *arg = &x->args[i];
            const Expr *v = arg->value;
            if (!arg->name && x->nargs == 1 && strcmp(class_name(x), "Sequential") != 0 &&
                (v->kind == EX_LIST || v->kind == EX_COMP || (v->kind == EX_BINARY && v->op == '+') ||
                 (v->kind == EX_NAME && lookup(s, v->u.s) && is_seq(lookup(s, v->u.s)))))
                return list_seq(e, s, v, inst, depth);   /* ModuleList([...]), as torch writes it */
            if (!arg->name && x->nargs == 1 && !strcmp(class_name(x), "ModuleDict") && v->kind == EX_CALL &&
                v->a->kind == EX_NAME && !strcmp(v->a->u.s, "dict")) {
                for (size_t k = 0; k < v->nargs; k++)   /* ModuleDict(dict(wte = ..., ...)) */
                    if (!v->args[k].name)
                        return err_at(e, v->args[k].value->span, "dict() names each module: dict(name = Module(...))");
                Expr inner = *x;
                inner.args = v->args;
                inner.nargs = v->nargs;
                return list_seq(e, s, &inner, inst, depth);
            }
            if (!arg->name) {
                if (list_item(e, s, arg->value, inst, depth) < 0)
                    r = -1;
                continue;
            }
            /* Sequential(conv0 = Conv2d(...), ...): an item named as torch's
             * OrderedDict or add_module names it */
            if (e->insts[inst].item_pre)
                return err_at(e, arg->name_span, "the items of a list named by a pattern take no names of their own");
            if (!is_module_expr(e, arg->value))
                return err_at(e, arg->value->span, "%s holds modules; '%s' is not one", class_name(x), arg->name);
            e->insts[inst].nitems++;
            if (instantiate(e, s, arg->value, join(e, e->insts[inst].path, arg->name), inst, arg->name_span,
                            depth + 1) < 0)
                r = -1;
        }
        return r;
    case EX_COMP: {
        Val *rows;
        size_t n, width;
        if (comp_rows(e, s, x, &rows, &n, &width) < 0)
            return -1;
        for (size_t k = 0; k < n; k++) {
            const Scope *inner = comp_scope(e, s, x, &rows[k * width], width);   /* the items' forwards see it */
            if (!inner)
                return -1;
            if (list_item(e, inner, x->a, inst, depth) < 0)
                r = -1;
        }
        return r;
    }
    case EX_BINARY:
        if (x->op != '+')
            break;
        r = list_seq(e, s, x->a, inst, depth);
        return list_seq(e, s, x->b, inst, depth) < 0 ? -1 : r;
    case EX_COND: {
        Val c;
        if (eval(e, s, x->a, &c) < 0)
            return -1;
        const Expr *pick = val_truthy(&c) ? x->b : x->c;
        return pick->kind == EX_NONE ? 0 : list_seq(e, s, pick, inst, depth);
    }
    case EX_NAME: {   /* Sequential(*layers): a list the body built */
        const Val *v = lookup(s, x->u.s);
        if (v && is_seq(v))
            return list_vals(e, v, inst, depth);
        break;
    }
    default: break;
    }
    return err_at(e, x->span, "expected a list of modules ([...], a comprehension, Sequential(...))");
}

/* `named "encoder_layer_{i}"` (L set): the text around the one {i},
 * {i+K} or {i-K}, the item's index, into L.  A quoted target such as
 * "denseblock{i+1}" (L NULL): the name, into *name_out.  Every other
 * {name} or {name+K} is that configuration integer. */
static int item_pattern(Elab *e, const Scope *s, const Expr *pat, Instance *L, const char **name_out)
{
    const char *p = pat->u.s;
    char pre[256], post[256], *out = pre;
    size_t n = 0;
    int have_i = 0;
    while (*p) {
        if (*p != '{') {
            if (*p == '}' || *p == '.')
                return err_at(e, pat->span, "a name pattern may not hold '%c' outside a {...}", *p);
            if (n + 1 >= sizeof pre)
                return err_at(e, pat->span, "a name pattern of at most 255 characters");
            out[n++] = *p++;
            continue;
        }
        const char *close = strchr(p, '}');
        if (!close)
            return err_at(e, pat->span, "'{' without its '}' in a name pattern");
        char inner[64], name[64];
        size_t il = (size_t)(close - p - 1), k = 0;
        if (il >= sizeof inner)
            return err_at(e, pat->span, "'{%.*s}' is too long", (int)il, p + 1);
        for (size_t j = 0; j < il; j++)   /* spaces do not matter */
            if (p[1 + j] != ' ')
                inner[k++] = p[1 + j];
        inner[k] = 0;
        long long off = 0;
        char sign = 0, extra;
        int parts = sscanf(inner, "%63[A-Za-z0-9_]%c%lld%c", name, &sign, &off, &extra);
        if (!(parts == 1 || (parts == 3 && (sign == '+' || sign == '-'))) || (name[0] >= '0' && name[0] <= '9'))
            return err_at(e, pat->span, "'{%s}' in a name pattern: write {name}, {name+K} or {name-K}", inner);
        if (sign == '-')
            off = -off;
        if (L && !strcmp(name, "i")) {   /* the item's index */
            if (have_i++)
                return err_at(e, pat->span, "a name pattern holds one {i}");
            out[n] = 0;
            L->item_off = off;
            out = post;
            n = 0;
        } else {
            const Val *v = lookup(s, name);
            if (!v || v->kind != VAL_INT) {
                err_at(e, pat->span, "'{%s}' in a name pattern: %s", name, v ? "not an integer" : "unknown name");
                if (L && !v)
                    diag(e->d, DG_HELP, pat->span, "the item's index is written {i}");
                return -1;
            }
            int w = snprintf(out + n, sizeof pre - n, "%lld", (long long)(v->i + off));
            if (w < 0 || (size_t)w >= sizeof pre - n)
                return err_at(e, pat->span, "a name pattern of at most 255 characters");
            n += (size_t)w;
        }
        p = close + 1;
    }
    out[n] = 0;
    if (!L) {   /* a name: "denseblock{i+1}" = ... in a loop */
        *name_out = arena_strndup(e->a, pre, strlen(pre));
        return *name_out ? 0 : -1;
    }
    if (!have_i)
        return err_at(e, pat->span, "a name pattern needs {i} for the item's index");
    L->item_pre = arena_strndup(e->a, pre, strlen(pre));
    L->item_post = arena_strndup(e->a, post, strlen(post));
    return L->item_pre && L->item_post ? 0 : -1;
}

/* A literal for a configuration value (a partial's keyword, bound once). */
static Expr *val_expr(Elab *e, const Val *v, Span sp)
{
    Arena *a = e->a;
    switch (v->kind) {
    case VAL_NONE: return ast_none(a, sp);
    case VAL_BOOL: return ast_bool(a, sp, (int)v->i);
    case VAL_INT: return ast_int(a, sp, v->i);
    case VAL_FLOAT: return ast_float(a, sp, v->f);
    case VAL_STR: return ast_str(a, sp, v->s);
    case VAL_INTS: {
        Arg *items = arena_array(a, v->n + 1, sizeof *items);
        for (size_t i = 0; items && i < v->n; i++)
            if (!(items[i].value = ast_int(a, sp, v->ints[i])))
                return NULL;
        return items ? ast_tuple(a, sp, items, v->n) : NULL;
    }
    default: return NULL;
    }
}

/* cls(args) where cls is a class given as a value, perhaps a partial:
 * the call made with the class's name, the partial's keywords added
 * (evaluated where the partial was written) unless the call gives them. */
static int class_call(Elab *e, const Scope *s, const Expr *x, const Val *cls, const char *path, size_t parent,
                      Span name_span, int depth)
{
    const Expr *p = cls->x;
    size_t extra = p ? p->nargs - 1 : 0;
    Expr *call = arena_array(e->a, 1, sizeof *call);
    Arg *args = arena_array(e->a, x->nargs + extra + 1, sizeof *args);
    if (!call || !args)
        return -1;
    *call = *x;
    call->a = ast_name(e->a, x->a->span, cls->s);
    if (!call->a)
        return -1;
    memcpy(args, x->args, x->nargs * sizeof *args);
    size_t n = x->nargs;
    for (size_t k = 1; p && k < p->nargs; k++) {
        int given = 0;
        for (size_t i = 0; i < x->nargs; i++)
            given |= x->args[i].name && !strcmp(x->args[i].name, p->args[k].name);
        if (given)
            continue;
        Val v;
        if (eval(e, cls->scope, p->args[k].value, &v) < 0)
            return -1;
        Expr *lit = val_expr(e, &v, p->args[k].value->span);
        if (!lit)
            return err_at(e, p->args[k].value->span, "partial(): a %s keyword is not supported here",
                          val_kind_name(v.kind));
        args[n++] = (Arg){p->args[k].name, p->args[k].name_span, lit};
    }
    call->args = args;
    call->nargs = n;
    return instantiate(e, s, call, path, parent, name_span, depth);
}

static int is_list_expr(const Expr *x)
{
    return x->kind == EX_LIST || x->kind == EX_COMP || (x->kind == EX_BINARY && x->op == '+') ||
           (x->kind == EX_CALL && class_name(x) && is_container(class_name(x)));
}

static int instantiate(Elab *e, const Scope *s, const Expr *x, const char *path, size_t parent, Span name_span,
                       int depth)
{
    if (x->kind == EX_COND) {
        Val c;
        if (eval(e, s, x->a, &c) < 0)
            return -1;
        const Expr *pick = val_truthy(&c) ? x->b : x->c;
        return pick->kind == EX_NONE ? 0 : instantiate(e, s, pick, path, parent, name_span, depth);
    }
    const Expr *pattern = NULL;
    if (x->kind == EX_NAMED) {
        pattern = x->b;
        x = x->a;
        if (!is_list_expr(x))
            return err_at(e, x->span, "only a list of modules has items to name by a pattern");
    }
    if (is_list_expr(x)) {
        size_t in = new_inst(e, path, x->kind == EX_CALL ? class_name(x) : "list", parent, x->span, name_span);
        if (in == (size_t)-1)
            return -1;
        e->insts[in].list = 1;
        if (pattern && item_pattern(e, s, pattern, &e->insts[in], NULL) < 0)
            return -1;
        return list_seq(e, s, x, in, depth);
    }
    if (x->kind == EX_NAME) {   /* a module the caller made: Sequential(conv, downsample) */
        const Val *v = lookup(s, x->u.s);
        if (v && v->kind == VAL_MODULE)
            return instantiate(e, v->scope, v->x, path, parent, name_span, depth);
        if (v && v->kind == VAL_NONE)
            return 0;
        if (v && is_seq(v)) {   /* self.layers = layers, a list of modules */
            size_t in = new_inst(e, path, "list", parent, x->span, name_span);
            if (in == (size_t)-1)
                return -1;
            e->insts[in].list = 1;
            return list_vals(e, v, in, depth);
        }
    }
    if (x->kind == EX_CALL && x->a->kind == EX_NAME) {   /* norm_layer(width): a class given as a value */
        const Val *v = lookup(s, x->a->u.s);
        if (v && v->kind == VAL_CLASS)
            return class_call(e, s, x, v, path, parent, name_span, depth);
    }
    if (x->kind == EX_CALL && class_name(x)) {
        const char *cls = class_name(x);
        /* the spec's own block first: nanoGPT defines its own LayerNorm */
        const Decl *B = x->a->kind == EX_NAME ? find_decl(e, cls, DECL_BLOCK) : NULL;
        if (B)
            return block_call(e, s, x, B, path, parent, name_span, depth + 1);
        const Layer *L = cat_find(cls);
        if (L)
            return layer_call(e, s, x, L, path, parent, name_span);
        err_at(e, x->a->span, "unknown layer or block '%s'", cls);
        const char *best = NULL;
        size_t bestd = 3;
        for (size_t i = 0; i < cat_count(); i++) {
            size_t dd = str_distance(cls, cat_at(i)->name);
            if (dd < bestd) {
                bestd = dd;
                best = cat_at(i)->name;
            }
        }
        for (size_t i = 0; i < e->nprogs; i++)
            for (size_t k = 0; k < e->progs[i]->ndecls; k++) {
                const Decl *dc = e->progs[i]->decls[k];
                size_t dd = dc->kind == DECL_BLOCK ? str_distance(cls, dc->name) : (size_t)-1;
                if (dd < bestd) {
                    bestd = dd;
                    best = dc->name;
                }
            }
        if (best)
            diag(e->d, DG_HELP, x->a->span, "did you mean '%s'?", best);
        return -1;
    }
    return err_at(e, x->span, "expected a module (a layer, a block, Sequential or a list of modules)");
}

/* A raw param or buffer: its dtype and dims evaluated now. */
static int raw_tensor(Elab *e, const Scope *s, const Stmt *st, const char *path, size_t inst)
{
    rcc_dtype dt;
    if (parse_dtype(st->type->dtype, &dt) < 0)
        return err_at(e, st->type->dtype_span, "unknown dtype '%s' (f32 f16 bf16 f64 i64 i32 i16 i8 u8 bool)",
                      st->type->dtype);
    if (st->type->ndims > 8)
        return err_at(e, st->type->span, "more than 8 dimensions");
    int64_t shape[8];
    for (size_t i = 0; i < st->type->ndims; i++) {
        if (eval_int(e, s, st->type->dims[i], &shape[i]) < 0)
            return -1;
        if (shape[i] < 0)
            return err_at(e, st->type->dims[i]->span, "a size must not be negative");
    }
    return add_tensor(e, inst, join(e, path, st->name), dt, (int)st->type->ndims, shape, st->kind == ST_BUFFER,
                      st->span);
}

/* layers.append(Block(...)), layers.extend([...]) in a body: the list a
 * name holds grows (its modules are made where it is assigned: layer1 =
 * Sequential(*layers)). */
static int list_grow(Elab *e, Scope *s, const Expr *x)
{
    const Expr *fx = x->a;
    const Val *cur = lookup(s, fx->a->u.s);
    if (!cur || !is_seq(cur))
        return err_at(e, fx->a->span, "'%s' is not a list (start it with %s = [])", fx->a->u.s, fx->a->u.s);
    if (x->nargs != 1 || x->args[0].name)
        return err_at(e, x->span, "%s() takes one argument", fx->u.s);
    const Expr *arg = x->args[0].value;
    Val v;
    memset(&v, 0, sizeof v);
    if (is_module_expr(e, arg) && fx->u.s[0] == 'a') {
        v.kind = VAL_MODULE;
        v.x = arg;
        v.scope = snapshot(e, s);
    } else if (eval(e, s, arg, &v) < 0) {
        return -1;
    }
    Seq q = {0};
    if (seq_push_all(e, &q, cur) < 0)
        return -1;
    if (fx->u.s[0] == 'e') {
        if (!is_seq(&v))
            return err_at(e, arg->span, "extend() takes a list, not a %s", val_kind_name(v.kind));
        if (seq_push_all(e, &q, &v) < 0)
            return -1;
    } else if (seq_push(e, &q, &v) < 0) {
        return err_at(e, x->span, "a list holds at most %d items", MAX_ITEMS);
    }
    Val grown;
    return seq_make(e, q.v, q.n, &grown) < 0 ? -1 : bind(e, s, fx->a->u.s, &grown);
}

/* features.add_module("denseblock{i+1}", DenseBlock(...)) in a body, as
 * torch's __init__ extends a container it made (self.add_module: the
 * module itself); the name is a pattern of configuration values. */
static int add_module(Elab *e, Scope *s, const Expr *x, size_t inst, int depth)
{
    const Expr *fx = x->kind == EX_CALL ? x->a : NULL;
    if (fx && fx->kind == EX_ATTR && fx->a->kind == EX_NAME && (!strcmp(fx->u.s, "append") || !strcmp(fx->u.s, "extend")))
        return list_grow(e, s, x);
    if (!fx || fx->kind != EX_ATTR || strcmp(fx->u.s, "add_module") != 0)
        return err_at(e, x->span, "a module body declares (name = ...); only add_module(name, module), and "
                      "append or extend on a list, are called");
    const Expr *on = fx->a;
    const char *target = on->kind == EX_NAME ? on->u.s : NULL;
    if (on->kind == EX_ATTR && on->a->kind == EX_NAME && !strcmp(on->a->u.s, "self"))
        target = on->u.s;   /* self.features */
    if (!target)
        return err_at(e, on->span, "add_module() extends a container of this module, by its name");
    long to = (long)inst;
    if (strcmp(target, "self") != 0) {
        to = elab_child(e, inst, target);
        if (to < 0 || !e->insts[to].list)
            return err_at(e, on->span, "'%s' is not a container of this module (Sequential, ModuleList or "
                          "ModuleDict)", target);
    }
    if (x->nargs != 2 || x->args[0].name || x->args[1].name || x->args[0].value->kind != EX_STR)
        return err_at(e, x->span, "add_module() takes a name and a module: add_module(\"layer{i+1}\", Layer(...))");
    const char *name = x->args[0].value->u.s;
    if (strchr(name, '{') && item_pattern(e, s, x->args[0].value, NULL, &name) < 0)
        return -1;
    if (!*name || strchr(name, '.'))
        return err_at(e, x->args[0].value->span, "a module's name is not empty and holds no '.'");
    if (!is_module_expr(e, x->args[1].value))
        return err_at(e, x->args[1].value->span, "add_module() takes a module");
    if (e->insts[to].list)
        e->insts[to].nitems++;
    return instantiate(e, s, x->args[1].value, join(e, e->insts[to].path, name), (size_t)to, x->args[0].value->span,
                       depth + 1);
}

/* A name the body itself assigned a value to goes on holding values:
 *   downsample = None
 *   if stride != 1 { downsample = Sequential(...) }   # a module, made later
 *   layers = []; layers = layers + [Block(...)]        # a list of them
 * as torch's __init__ keeps modules in locals before it assigns them to
 * self.  (A block parameter of the same name is not such a local: `norm =
 * norm(64)` declares the child norm.) */
static int holds_value(const Scope *s, const Stmt *st)
{
    const Binding *b = st->name ? lookup_binding(s, st->name) : NULL;
    return b && b->local;
}

/* A body, in order: raw tensors, constants, submodules, conditionals. */
static int elab_body(Elab *e, Scope *s, Stmt **body, size_t n, const char *path, size_t inst, int depth)
{
    int r = 0;
    for (size_t i = 0; i < n; i++) {
        const Stmt *st = body[i];
        switch (st->kind) {
        case ST_PARAM:
        case ST_BUFFER:
            if (raw_tensor(e, s, st, path, inst) < 0)
                r = -1;
            break;
        case ST_ASSIGN:
            if (st->nnames > 1) {
                r = err_at(e, st->span, "several targets are only for forward statements");
            } else if (st->owner && (st->owner->kind != EX_NAME || strcmp(st->owner->u.s, "self") != 0)) {
                r = err_at(e, st->owner->span, "a body assigns to its own attributes only: self.%s = ...", st->name);
            } else if (st->quoted && !is_module_expr(e, st->value)) {
                r = err_at(e, st->name_span, "a quoted name declares a module; a configuration value needs a plain "
                           "name");
            } else if (is_module_expr(e, st->value) && (st->owner || !holds_value(s, st))) {
                /* `self = Sequential(...)`: the module is itself that
                 * container, its children's keys directly under it. */
                const char *name = st->name;
                if (st->quoted && strchr(name, '{')) {   /* "denseblock{i+1}" = ... */
                    Expr pat = *st->value;
                    pat.kind = EX_STR;
                    pat.span = st->name_span;
                    pat.u.s = st->name;
                    if (item_pattern(e, s, &pat, NULL, &name) < 0) {
                        r = -1;
                        break;
                    }
                }
                const char *sub = !st->quoted && !strcmp(name, "self") ? path : join(e, path, name);
                if (instantiate(e, s, st->value, sub, inst, st->name_span, depth) < 0)
                    r = -1;
            } else {
                Val v;
                if (eval(e, s, st->value, &v) < 0)
                    r = -1;
                else if (v.kind == VAL_MODULE && (st->owner || !holds_value(s, st))) {   /* self.downsample = downsample */
                    const char *sub = !strcmp(st->name, "self") ? path : join(e, path, st->name);
                    if (instantiate(e, v.scope, v.x, sub, inst, st->name_span, depth) < 0)
                        r = -1;
                } else if (bind(e, s, st->name, &v) < 0) {
                    return -1;
                } else {
                    s->head->local = 1;
                }
            }
            break;
        case ST_IF: {
            Val c;
            if (eval(e, s, st->value, &c) < 0)
                r = -1;
            else if (elab_body(e, s, val_truthy(&c) ? st->body : st->orelse, val_truthy(&c) ? st->nbody : st->norelse,
                               path, inst, depth) < 0)
                r = -1;
            break;
        }
        case ST_INPUT:
            if (depth > 0)
                r = err_at(e, st->span, "inputs belong to the model, not to a block");
            break;
        case ST_FOR: {   /* torch's __init__ loops: add_module("denseblock%d" % (i + 1), ...) */
            Val *rows;
            size_t nrows, width;
            Arg *targets = arena_array(e->a, st->nnames + 1, sizeof *targets);
            if (!targets)
                return -1;
            for (size_t k = 0; k < st->nnames; k++)
                targets[k] = (Arg){st->names[k], st->name_spans[k], NULL};
            if (iter_rows(e, s, st->value, &rows, &nrows, &width) < 0 ||
                targets_fit(e, targets, st->nnames, st->value, &rows, nrows, &width) < 0) {
                r = -1;
                break;
            }
            for (size_t k = 0; k < nrows; k++) {
                for (size_t t = 0; t < width; t++)
                    if (bind(e, s, st->names[t], &rows[k * width + t]) < 0)
                        return -1;
                if (elab_body(e, s, st->body, st->nbody, path, inst, depth) < 0) {
                    r = -1;
                    break;   /* once: the other iterations would say the same */
                }
            }
            break;
        }
        case ST_EXPR:
            if (add_module(e, s, st->value, inst, depth) < 0)
                r = -1;
            break;
        case ST_FORWARD:
        case ST_RETURN:
            break;
        }
    }
    return r;
}

/* Keys are unique by construction, except where a raw param or a
 * `self = ...` container lands on a name already taken: one sort finds
 * every clash. */
static const Elab *dup_elab;   /* qsort has no context argument in C99 */
static int by_key_then_index(const void *pa, const void *pb)
{
    size_t a = *(const size_t *)pa, b = *(const size_t *)pb;
    int c = strcmp(dup_elab->tensors[a].key, dup_elab->tensors[b].key);
    return c ? c : (a > b) - (a < b);
}

static void duplicate_keys(Elab *e)
{
    size_t *ix = arena_array(e->a, e->ntensors + 1, sizeof *ix);
    if (!ix)
        return;
    for (size_t i = 0; i < e->ntensors; i++)
        ix[i] = i;
    dup_elab = e;
    qsort(ix, e->ntensors, sizeof *ix, by_key_then_index);
    for (size_t i = 1; i < e->ntensors; i++)
        if (strcmp(e->tensors[ix[i]].key, e->tensors[ix[i - 1]].key) == 0)
            err_at(e, e->tensors[ix[i]].span, "the key '%s' is declared twice", e->tensors[ix[i]].key);
}

/* torch's state_dict() order: each module's own parameters, then its own
 * buffers, then its submodules in the order they were added.  A stable
 * counting sort by (instance in tree order, buffer) gives it, and leaves
 * each instance's tensors side by side (tensor0, ntens). */
static int torch_order(Elab *e)
{
    ExpTensor *sorted = arena_array(e->a, e->ntensors + 1, sizeof *sorted);
    if (!sorted)
        return -1;
    /* Instances are made in preorder, except a module add_module()s to a
     * container declared earlier: walk the tree, each module's children in
     * the order they were added, to place each one's tensors. */
    size_t *kids = calloc(e->ninsts + 1, sizeof *kids), *kfirst = calloc(e->ninsts + 2, sizeof *kfirst),
           *stack = calloc(e->ninsts + 1, sizeof *stack), *next = calloc(e->ninsts + 1, sizeof *next);
    if (!kids || !kfirst || !stack || !next) {
        free(kids), free(kfirst), free(stack), free(next);
        return -1;
    }
    for (size_t i = 0; i < e->ninsts; i++)
        if (e->insts[i].parent != (size_t)-1)
            kfirst[e->insts[i].parent + 2]++;
    for (size_t i = 0; i < e->ninsts; i++)
        kfirst[i + 2] += kfirst[i + 1];
    for (size_t i = 0; i < e->ninsts; i++)   /* kids[kfirst[p] .. kfirst[p + 1]) are p's children, in order */
        if (e->insts[i].parent != (size_t)-1)
            kids[kfirst[e->insts[i].parent + 1]++] = i;
    for (size_t i = 0; i < e->ntensors; i++)
        e->insts[e->tensors[i].inst].ntens++;
    size_t sp = 0, acc = 0;
    for (size_t i = 0; i < e->ninsts; i++)
        if (e->insts[i].parent == (size_t)-1)
            stack[sp++] = i;
    while (sp) {
        size_t i = stack[--sp];
        e->insts[i].tensor0 = next[i] = acc;
        acc += e->insts[i].ntens;
        for (size_t k = kfirst[i + 1]; k-- > kfirst[i];)   /* pushed last to first: popped in order */
            stack[sp++] = kids[k];
    }
    free(kids), free(kfirst), free(stack);
    for (int buffer = 0; buffer < 2; buffer++)   /* a stable counting sort by (inst, buffer) */
        for (size_t i = 0; i < e->ntensors; i++)
            if (e->tensors[i].buffer == buffer && e->insts[e->tensors[i].inst].layer == NULL)
                sorted[next[e->tensors[i].inst]++] = e->tensors[i];
    for (size_t i = 0; i < e->ntensors; i++)   /* built-in layers keep the catalog's order */
        if (e->insts[e->tensors[i].inst].layer != NULL)
            sorted[next[e->tensors[i].inst]++] = e->tensors[i];
    if (e->ntensors)   /* (tensors is NULL for a model without any) */
        memcpy(e->tensors, sorted, e->ntensors * sizeof *sorted);
    free(next);
    return 0;
}

/* qsort has no context argument in C99: the Elab being indexed. */
static const Elab *ix_elab;
static int by_path_then_index(const void *pa, const void *pb)
{
    size_t a = *(const size_t *)pa, b = *(const size_t *)pb;
    int c = strcmp(ix_elab->insts[a].path, ix_elab->insts[b].path);
    return c ? c : (a > b) - (a < b);
}
static int by_key(const void *pa, const void *pb)
{
    return strcmp(ix_elab->tensors[*(const size_t *)pa].key, ix_elab->tensors[*(const size_t *)pb].key);
}

/* The indexes later phases look things up in (Elab: kids, by_path,
 * by_key).  Children are grouped by parent with a counting sort, which
 * keeps them in the order they were made. */
static int make_indexes(Elab *e)
{
    e->kids = arena_array(e->a, e->ninsts + 1, sizeof *e->kids);
    e->by_path = arena_array(e->a, e->ninsts + 1, sizeof *e->by_path);
    e->by_key = arena_array(e->a, e->ntensors + 1, sizeof *e->by_key);
    if (!e->kids || !e->by_path || !e->by_key)
        return -1;
    for (size_t i = 1; i < e->ninsts; i++)
        e->insts[e->insts[i].parent].nkids++;
    for (size_t i = 0, acc = 0; i < e->ninsts; i++) {
        e->insts[i].kid0 = acc;
        acc += e->insts[i].nkids;
        e->insts[i].nkids = 0;
    }
    for (size_t i = 1; i < e->ninsts; i++) {
        Instance *p = &e->insts[e->insts[i].parent];
        e->kids[p->kid0 + p->nkids++] = i;
    }
    for (size_t i = 0; i < e->ninsts; i++)
        e->by_path[i] = i;
    for (size_t i = 0; i < e->ntensors; i++)
        e->by_key[i] = i;
    ix_elab = e;
    qsort(e->by_path, e->ninsts, sizeof *e->by_path, by_path_then_index);
    qsort(e->by_key, e->ntensors, sizeof *e->by_key, by_key);
    return 0;
}

int elab_file(Elab *e, Diags *d, Arena *a, const char *path, const char *model_name)
{
    memset(e, 0, sizeof *e);
    e->d = d;
    e->a = a;
    if (load(e, path, NO_SPAN) < 0 && !e->nprogs)
        return -1;
    if (index_decls(e) < 0)
        return -1;
    /* The model: by name, or the main file's only one. */
    const Program *main = e->progs[0];
    for (size_t i = 0; i < main->ndecls; i++) {
        const Decl *dc = main->decls[i];
        if (dc->kind != DECL_MODEL || (model_name && strcmp(dc->name, model_name) != 0))
            continue;
        if (e->model && !model_name) {
            err_at(e, dc->name_span, "more than one model in %s: name the one to use", path);
            return -1;
        }
        e->model = dc;
    }
    if (!e->model && model_name)
        e->model = find_decl(e, model_name, DECL_MODEL);
    if (!e->model) {
        if (model_name)
            err_at(e, NO_SPAN, "no model named '%s' in %s", model_name, path);
        else
            err_at(e, NO_SPAN, "%s declares no model", path);
        return -1;
    }
    /* Names defined twice. */
    for (size_t i = 0; i < e->nprogs; i++)
        for (size_t k = 0; k < e->progs[i]->ndecls; k++) {
            const Decl *dc = e->progs[i]->decls[k];
            if (dc->kind == DECL_IMPORT)
                continue;
            const Decl *first = find_decl(e, dc->name, dc->kind);
            if (first != dc) {
                err_at(e, dc->name_span, "'%s' is defined twice", dc->name);
                diag(d, DG_NOTE, first->name_span, "first defined here");
            }
        }
    size_t root = new_inst(e, "", e->model->name, (size_t)-1, e->model->span, e->model->name_span);
    if (root == (size_t)-1)
        return -1;
    Scope *s = ARENA_NEW(a, Scope);
    if (!s)
        return -1;
    e->insts[root].decl = e->model;
    e->insts[root].scope = s;
    elab_body(e, s, e->model->body, e->model->nbody, "", root, 0);
    duplicate_keys(e);
    if (torch_order(e) < 0 || make_indexes(e) < 0)
        return err_at(e, NO_SPAN, "out of memory");
    for (size_t i = 0; i < e->model->nbody; i++) {
        const Stmt *st = e->model->body[i];
        if (st->kind != ST_INPUT)
            continue;
        if (arena_grow(a, (void **)&e->inputs, &e->inputs_cap, e->ninputs + 1, sizeof *e->inputs) < 0)
            return -1;
        e->inputs[e->ninputs++] = (Input){st->name, st->type, st->span};
    }
    return d->nerrors ? -1 : 0;
}

int elab_value(Elab *e, size_t inst, const Expr *x, Val *out)
{
    static const Scope empty;
    const Scope *s = inst < e->ninsts && e->insts[inst].scope ? e->insts[inst].scope : &empty;
    return eval(e, s, x, out);
}

/* strcmp of a against the string s[0..len) that has no NUL of its own. */
static int cmp_n(const char *a, const char *s, size_t len)
{
    int c = strncmp(a, s, len);
    return c ? c : (unsigned char)a[len] != 0;
}

const size_t *elab_with_path(const Elab *e, const char *s, size_t len, size_t *n)
{
    size_t lo = 0, hi = e->ninsts;
    while (lo < hi) {   /* the first path >= s */
        size_t mid = lo + (hi - lo) / 2;
        if (cmp_n(e->insts[e->by_path[mid]].path, s, len) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    size_t end = lo;
    while (end < e->ninsts && cmp_n(e->insts[e->by_path[end]].path, s, len) == 0)
        end++;
    *n = end - lo;
    return e->by_path + lo;
}

long elab_child(const Elab *e, size_t inst, const char *name)
{
    const char *pp = e->insts[inst].path;
    size_t pl = strlen(pp), nl = strlen(name), n;
    if (!e->by_path) {   /* during elaboration (add_module): the children made so far */
        long box = -1;   /* `self = ...`: the container that has the module's own path */
        for (size_t i = inst + 1; i < e->ninsts; i++) {
            const Instance *c = &e->insts[i];
            if (c->parent != inst)
                continue;
            if (pl ? strncmp(c->path, pp, pl) == 0 && c->path[pl] == '.' && strcmp(c->path + pl + 1, name) == 0
                   : strcmp(c->path, name) == 0)
                return (long)i;   /* a child of that name, even "self" (HF BERT's attention.self) */
            if (box < 0 && strcmp(c->path, pp) == 0)
                box = (long)i;
        }
        return strcmp(name, "self") == 0 ? box : -1;
    }
    char buf[256], *path = pl + nl + 2 <= sizeof buf ? buf : malloc(pl + nl + 2);
    if (!path)
        return -1;
    size_t l = 0;   /* pp.name, or name under the model */
    memcpy(path, pp, pl);
    l += pl;
    if (pl)
        path[l++] = '.';
    memcpy(path + l, name, nl);
    l += nl;
    const size_t *c = elab_with_path(e, path, l, &n);
    if (path != buf)
        free(path);
    for (size_t i = 0; i < n; i++)   /* in order: the first child made wins */
        if (e->insts[c[i]].parent == inst)
            return (long)c[i];   /* a child of that name, even "self" (HF BERT's attention.self) */
    if (strcmp(name, "self") != 0)
        return -1;
    c = elab_with_path(e, pp, pl, &n);   /* the container that has the module's own path */
    for (size_t i = 0; i < n; i++)
        if (e->insts[c[i]].parent == inst)
            return (long)c[i];
    return -1;
}
/* strcmp of key against prefix.name (name alone for prefix ""). */
static int cmp_key(const char *key, const char *prefix, const char *name)
{
    size_t pl = strlen(prefix);
    if (pl) {
        int c = strncmp(key, prefix, pl);
        if (c)
            return c;
        if (key[pl] != '.')
            return (unsigned char)key[pl] - '.';
        key += pl + 1;
    }
    return strcmp(key, name);
}

long elab_find_key(const Elab *e, const char *prefix, const char *name)
{
    size_t lo = 0, hi = e->ntensors;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = cmp_key(e->tensors[e->by_key[mid]].key, prefix, name);
        if (c == 0)
            return (long)e->by_key[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

int elab_conf(const Elab *e, size_t inst, const char *name, Val *out)
{
    const Scope *s = e->insts[inst].scope;
    const Val *v = s ? lookup(s, name) : NULL;
    if (v)
        *out = *v;
    return v != NULL;
}

long elab_item(const Elab *e, size_t inst, int64_t i)
{
    const Instance *L = &e->insts[inst];
    if (!L->list || i < -(int64_t)L->nitems || i >= (int64_t)L->nitems)
        return -1;
    if (i < 0)
        i += (int64_t)L->nitems;
    if (e->kids)   /* elaborated: the children index */
        return (size_t)i < L->nkids ? (long)e->kids[L->kid0 + (size_t)i] : -1;
    for (size_t k = inst + 1; k < e->ninsts; k++)   /* items follow their list, in order */
        if (e->insts[k].parent == inst && i-- == 0)
            return (long)k;
    return -1;
}

int64_t elab_item_index(const Instance *list, const char *seg, const char **end)
{
    const char *pre = list->item_pre ? list->item_pre : "", *post = list->item_post ? list->item_post : "";
    size_t pl = strlen(pre), ql = strlen(post);
    if (strncmp(seg, pre, pl) != 0 || !(seg[pl] >= '0' && seg[pl] <= '9') || (seg[pl] == '0' && seg[pl + 1] >= '0' &&
                                                                             seg[pl + 1] <= '9'))
        return -1;   /* torch writes no leading zeros */
    int64_t v = 0;
    const char *p = seg + pl;
    for (; *p >= '0' && *p <= '9'; p++) {
        if (v > (INT64_MAX - 9) / 10)
            return -1;
        v = v * 10 + (*p - '0');
    }
    if (strncmp(p, post, ql) != 0 || (p[ql] != '.' && p[ql] != 0))
        return -1;
    int64_t i = v - list->item_off;
    if (i < 0)
        return -1;
    *end = p + ql;
    return i;
}
