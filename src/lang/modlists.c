/* modlists.c — lists of modules, as torch code builds them.
 *
 * A list's items come from list literals with `M(...) * n` repeats,
 * comprehensions, `*xs` splices, `+`, containers (Sequential, ModuleList,
 * ModuleDict, their items named by keyword or by a pattern such as
 * "encoder_layer_{i}"), and from list values a body built up with
 * append, extend and `+=`.  Each item is made (elab.c's instantiate) as
 * the list instance's next item, named by its index or the pattern.  A
 * class given as a value (norm_layer, partial(nn.BatchNorm2d, eps=...)) is
 * called here too, and a body's add_module extends a container.
 */
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "elab.h"

/* ------------------------------------------------------ module lists */

static int is_container(const char *name)
{
    return !strcmp(name, "Sequential") || !strcmp(name, "ModuleList") || !strcmp(name, "ModuleDict");
}

/* Items of a module list: `M(...) * n` repeats unrolled, comprehensions
 * run, `*xs` and `a + b` spliced, each item named by its index or by the
 * list's pattern. */

static int list_item(Elab *e, const Scope *s, const Expr *item, size_t inst, int depth)
{
    if (item->kind == EX_STAR)
        return el_list_seq(e, s, item->a, inst, depth);
    if (item->kind == EX_COND) {
        Val c;
        if (el_eval(e, s, item->a, &c) < 0)
            return -1;
        const Expr *pick = el_truth(e, &c) ? item->b : item->c;
        return pick->kind == EX_NONE ? 0 : list_item(e, s, pick, inst, depth);
    }
    int64_t times = 1;
    if (item->kind == EX_BINARY && item->op == '*') {
        if (el_eval_int(e, s, item->b, &times) < 0)
            return -1;
        if (times < 0 || times > MAX_ITEMS)
            return el_err_at(e, item->b->span, "a repeat count must be between 0 and %d", MAX_ITEMS);
        item = item->a;
    }
    int r = 0;
    for (int64_t k = 0; k < times; k++) {
        Instance *L = &e->insts[inst];
        if (L->nitems >= MAX_ITEMS)
            return el_err_at(e, item->span, "a list holds at most %d modules", MAX_ITEMS);
        size_t i = L->nitems++;
        const char *name = L->item_pre ? arena_printf(e->a, "%s%lld%s", L->item_pre,
                                                      (long long)((int64_t)i + L->item_off), L->item_post)
                                       : arena_printf(e->a, "%zu", i);
        const char *ipath = name ? el_join(e, L->path, name) : NULL;
        if (!ipath || el_instantiate(e, s, item, ipath, inst, item->span, depth + 1) < 0)
            r = -1;
        else if (e->fit && el_free_complete(e, ipath) < 0)   /* fitting: an item is complete when made */
            r = -1;
    }
    return r;
}

/* The items of a list value: each a module made (in the scope it was
 * written in) as the list's next item. */
int el_list_vals(Elab *e, const Val *list, size_t inst, int depth)
{
    int r = 0;
    for (size_t i = 0; i < el_seq_len(list); i++) {
        Val it = el_seq_at(list, i);
        if (it.kind == VAL_NONE)
            continue;
        if (it.kind != VAL_MODULE)
            return el_err_at(e, e->insts[inst].span, "item %zu of this list is a %s, not a module", i,
                          el_val_kind_name(it.kind));
        if (list_item(e, it.scope, it.x, inst, depth) < 0)
            r = -1;
    }
    return r;
}

int el_list_seq(Elab *e, const Scope *s, const Expr *x, size_t inst, int depth)
{
    int r = 0;
    switch (x->kind) {
    case EX_LIST:
        for (size_t i = 0; i < x->nargs; i++)
            if (list_item(e, s, x->args[i].value, inst, depth) < 0)
                r = -1;
        return r;
    case EX_CALL:   /* Sequential(...), ModuleList(...), ModuleDict(...): spliced as lists */
        if (!el_class_name(x) || !is_container(el_class_name(x)))
            break;
        for (size_t i = 0; i < x->nargs; i++) {
            const Arg *arg = &x->args[i];
            const Expr *v = arg->value;
            if (!arg->name && x->nargs == 1 && strcmp(el_class_name(x), "Sequential") != 0 &&
                (v->kind == EX_LIST || v->kind == EX_COMP || (v->kind == EX_BINARY && v->op == '+') ||
                 (v->kind == EX_NAME && el_lookup(s, v->u.s) && el_is_seq(el_lookup(s, v->u.s)))))
                return el_list_seq(e, s, v, inst, depth);   /* ModuleList([...]), as torch writes it */
            if (!arg->name && x->nargs == 1 && !strcmp(el_class_name(x), "ModuleDict") && v->kind == EX_CALL &&
                v->a->kind == EX_NAME && !strcmp(v->a->u.s, "dict")) {
                for (size_t k = 0; k < v->nargs; k++)   /* ModuleDict(dict(wte = ..., ...)) */
                    if (!v->args[k].name)
                        return el_err_at(e, v->args[k].value->span, "dict() names each module: dict(name = Module(...))");
                Expr inner = *x;
                inner.args = v->args;
                inner.nargs = v->nargs;
                return el_list_seq(e, s, &inner, inst, depth);
            }
            if (!arg->name) {
                if (list_item(e, s, arg->value, inst, depth) < 0)
                    r = -1;
                continue;
            }
            /* Sequential(conv0 = Conv2d(...), ...): an item named as torch's
             * OrderedDict or add_module names it */
            if (e->insts[inst].item_pre)
                return el_err_at(e, arg->name_span, "the items of a list named by a pattern take no names of their own");
            if (!el_is_module_expr(e, arg->value))
                return el_err_at(e, arg->value->span, "%s holds modules; '%s' is not one", el_class_name(x), arg->name);
            e->insts[inst].nitems++;
            if (el_instantiate(e, s, arg->value, el_join(e, e->insts[inst].path, arg->name), inst, arg->name_span,
                            depth + 1) < 0)
                r = -1;
        }
        return r;
    case EX_COMP: {
        Val *rows;
        size_t n, width;
        if (el_comp_rows(e, s, x, &rows, &n, &width) < 0)
            return -1;
        for (size_t k = 0; k < n; k++) {
            const Scope *inner = el_comp_scope(e, s, x, &rows[k * width], width);   /* the items' forwards see it */
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
        r = el_list_seq(e, s, x->a, inst, depth);
        return el_list_seq(e, s, x->b, inst, depth) < 0 ? -1 : r;
    case EX_COND: {
        Val c;
        if (el_eval(e, s, x->a, &c) < 0)
            return -1;
        const Expr *pick = el_truth(e, &c) ? x->b : x->c;
        return pick->kind == EX_NONE ? 0 : el_list_seq(e, s, pick, inst, depth);
    }
    case EX_NAME: {   /* Sequential(*layers): a list the body built */
        const Val *v = el_lookup(s, x->u.s);
        if (v && el_is_seq(v))
            return el_list_vals(e, v, inst, depth);
        break;
    }
    default: break;
    }
    return el_err_at(e, x->span, "expected a list of modules ([...], a comprehension, Sequential(...))");
}

/* `named "encoder_layer_{i}"` (L set): the text around the one {i},
 * {i+K} or {i-K}, the item's index, into L.  A quoted target such as
 * "denseblock{i+1}" (L NULL): the name, into *name_out.  Every other
 * {name} or {name+K} is that configuration integer. */
int el_item_pattern(Elab *e, const Scope *s, const Expr *pat, Instance *L, const char **name_out)
{
    const char *p = pat->u.s;
    char pre[256], post[256], *out = pre;
    size_t n = 0;
    int have_i = 0;
    while (*p) {
        if ((p[0] == '{' && p[1] == '{') || (p[0] == '}' && p[1] == '}')) {   /* {{ and }}: a brace, as Python's */
            if (n + 1 >= sizeof pre)
                return el_err_at(e, pat->span, "a name pattern of at most 255 characters");
            out[n++] = *p;
            p += 2;
            continue;
        }
        if (*p != '{') {
            if (*p == '}' || *p == '.')
                return el_err_at(e, pat->span, "a name pattern may not hold '%c' outside a {...}", *p);
            if (n + 1 >= sizeof pre)
                return el_err_at(e, pat->span, "a name pattern of at most 255 characters");
            out[n++] = *p++;
            continue;
        }
        const char *close = strchr(p, '}');
        if (!close)
            return el_err_at(e, pat->span, "'{' without its '}' in a name pattern");
        char inner[64], name[64];
        size_t il = (size_t)(close - p - 1), k = 0;
        if (il >= sizeof inner)
            return el_err_at(e, pat->span, "'{%.*s}' is too long", (int)il, p + 1);
        for (size_t j = 0; j < il; j++)   /* spaces do not matter */
            if (p[1 + j] != ' ')
                inner[k++] = p[1 + j];
        inner[k] = 0;
        long long off = 0;
        char sign = 0, extra;
        int parts = sscanf(inner, "%63[A-Za-z0-9_]%c%lld%c", name, &sign, &off, &extra);
        if (!(parts == 1 || (parts == 3 && (sign == '+' || sign == '-'))) || (name[0] >= '0' && name[0] <= '9'))
            return el_err_at(e, pat->span, "'{%s}' in a name pattern: write {name}, {name+K} or {name-K}", inner);
        if (sign == '-')
            off = -off;
        if (L && !strcmp(name, "i")) {   /* the item's index */
            if (have_i++)
                return el_err_at(e, pat->span, "a name pattern holds one {i}");
            out[n] = 0;
            L->item_off = off;
            out = post;
            n = 0;
        } else {
            const Val *v = el_lookup(s, name);
            if (!v || v->kind != VAL_INT) {
                el_err_at(e, pat->span, "'{%s}' in a name pattern: %s", name, v ? "not an integer" : "unknown name");
                if (L && !v)
                    diag(e->d, DG_HELP, pat->span, "the item's index is written {i}");
                return -1;
            }
            int w = snprintf(out + n, sizeof pre - n, "%lld", (long long)(v->i + off));
            if (w < 0 || (size_t)w >= sizeof pre - n)
                return el_err_at(e, pat->span, "a name pattern of at most 255 characters");
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
        return el_err_at(e, pat->span, "a name pattern needs {i} for the item's index");
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
    case VAL_CLASS: {   /* partial(SElayer, scale_activation=nn.Hardsigmoid): a layer as nn.X, a block by name */
        if (v->x)
            return NULL;   /* a partial inside a partial */
        if (!cat_find(v->s))
            return ast_name(a, sp, v->s);
        Expr *nn = ast_name(a, sp, "nn");
        return nn ? ast_attr(a, sp, nn, v->s) : NULL;
    }
    default: return NULL;
    }
}

/* cls(args) where cls is a class given as a value, perhaps a partial:
 * the call made with the class's name, the partial's keywords added
 * (evaluated where the partial was written) unless the call gives them. */
int el_class_call(Elab *e, const Scope *s, const Expr *x, const Val *cls, const char *path, size_t parent,
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
    if (x->nargs) memcpy(args, x->args, x->nargs * sizeof *args);
    size_t n = x->nargs;
    for (size_t k = 1; p && k < p->nargs; k++) {
        int given = 0;
        for (size_t i = 0; i < x->nargs; i++)
            given |= x->args[i].name && !strcmp(x->args[i].name, p->args[k].name);
        if (given)
            continue;
        Val v;
        if (el_eval(e, cls->scope, p->args[k].value, &v) < 0)
            return -1;
        Expr *lit = val_expr(e, &v, p->args[k].value->span);
        if (!lit)
            return el_err_at(e, p->args[k].value->span, "partial(): a %s keyword is not supported here",
                          el_val_kind_name(v.kind));
        args[n++] = (Arg){p->args[k].name, p->args[k].name_span, lit};
    }
    call->args = args;
    call->nargs = n;
    return el_instantiate(e, s, call, path, parent, name_span, depth);
}

int el_is_list_expr(const Expr *x)
{
    return x->kind == EX_LIST || x->kind == EX_COMP || (x->kind == EX_BINARY && x->op == '+') ||
           (x->kind == EX_CALL && el_class_name(x) && is_container(el_class_name(x)));
}


/* layers.append(Block(...)), layers.extend([...]) in a body: the list a
 * name holds grows (its modules are made where it is assigned: layer1 =
 * Sequential(*layers)). */
static int list_grow(Elab *e, Scope *s, const Expr *x)
{
    const Expr *fx = x->a;
    const Val *cur = el_lookup(s, fx->a->u.s);
    if (!cur || !el_is_seq(cur))
        return el_err_at(e, fx->a->span, "'%s' is not a list (start it with %s = [])", fx->a->u.s, fx->a->u.s);
    if (x->nargs != 1 || x->args[0].name)
        return el_err_at(e, x->span, "%s() takes one argument", fx->u.s);
    const Expr *arg = x->args[0].value;
    Val v;
    memset(&v, 0, sizeof v);
    if (el_is_module_expr(e, arg) && fx->u.s[0] == 'a') {
        v.kind = VAL_MODULE;
        v.x = arg;
        v.scope = el_snapshot(e, s);
    } else if (el_eval(e, s, arg, &v) < 0) {
        return -1;
    }
    if (fx->u.s[0] == 'e' && !el_is_seq(&v))
        return el_err_at(e, arg->span, "extend() takes a list, not a %s", el_val_kind_name(v.kind));
    Val one = {.kind = VAL_LIST, .n = 1, .items = &v};
    /* the grown list is the same local: `layers += [...]` after
     * `layers.append(...)` goes on building it, not declaring a child */
    const Binding *was = el_lookup_binding(s, fx->a->u.s);
    int local = was && was->local;
    Val grown;
    if (el_seq_concat(e, cur, fx->u.s[0] == 'e' ? &v : &one, &grown) < 0)
        return el_err_at(e, x->span, "a list holds at most %d items", MAX_ITEMS);
    if (el_bind(e, s, fx->a->u.s, &grown) < 0)
        return -1;
    s->head->local = local;
    return 0;
}

/* features.add_module("denseblock{i+1}", DenseBlock(...)) in a body, as
 * torch's __init__ extends a container it made (self.add_module: the
 * module itself); the name is a pattern of configuration values. */
int el_add_module(Elab *e, Scope *s, const Expr *x, size_t inst, int depth)
{
    const Expr *fx = x->kind == EX_CALL ? x->a : NULL;
    if (fx && fx->kind == EX_ATTR && fx->a->kind == EX_NAME && (!strcmp(fx->u.s, "append") || !strcmp(fx->u.s, "extend")))
        return list_grow(e, s, x);
    if (!fx || fx->kind != EX_ATTR || strcmp(fx->u.s, "add_module") != 0)
        return el_err_at(e, x->span, "a module body declares (name = ...); only add_module(name, module), and "
                      "append or extend on a list, are called");
    const Expr *on = fx->a;
    const char *target = on->kind == EX_NAME ? on->u.s : NULL;
    if (on->kind == EX_ATTR && on->a->kind == EX_NAME && !strcmp(on->a->u.s, "self"))
        target = on->u.s;   /* self.features */
    if (!target)
        return el_err_at(e, on->span, "add_module() extends a container of this module, by its name");
    long to = (long)inst;
    if (!strcmp(target, "self")) {   /* a block that is itself a container (self = Sequential(...)) grows it */
        long c = elab_child(e, inst, "self");
        if (c >= 0 && e->insts[c].list && !strcmp(e->insts[c].path, e->insts[inst].path)) to = c;
    } else {
        to = elab_child(e, inst, target);
        if (to < 0 || !e->insts[to].list)
            return el_err_at(e, on->span, "'%s' is not a container of this module (Sequential, ModuleList or "
                          "ModuleDict)", target);
    }
    if (x->nargs != 2 || x->args[0].name || x->args[1].name || x->args[0].value->kind != EX_STR)
        return el_err_at(e, x->span, "add_module() takes a name and a module: add_module(\"layer{i+1}\", Layer(...))");
    const char *name = x->args[0].value->u.s;
    if (strchr(name, '{') && el_item_pattern(e, s, x->args[0].value, NULL, &name) < 0)
        return -1;
    if (!*name || strchr(name, '.'))
        return el_err_at(e, x->args[0].value->span, "a module's name is not empty and holds no '.'");
    const Expr *mx = x->args[1].value;
    const Scope *ms = s;
    if (!el_is_module_expr(e, mx)) {   /* a local holding one: block = block_constructor(...) */
        Val v;
        if (mx->kind != EX_NAME || el_eval(e, s, mx, &v) < 0 || v.kind != VAL_MODULE)
            return el_err_at(e, mx->span, "add_module() takes a module");
        mx = v.x;
        ms = v.scope;
    }
    if (e->insts[to].list)
        e->insts[to].nitems++;
    return el_instantiate(e, ms, mx, el_join(e, e->insts[to].path, name), (size_t)to, x->args[0].value->span, depth + 1);
}

/* A name the body itself assigned a value to goes on holding values:
 *   downsample = None
 *   if stride != 1 { downsample = Sequential(...) }   # a module, made later
 *   layers = []; layers = layers + [Block(...)]        # a list of them
 * as torch's __init__ keeps modules in locals before it assigns them to
 * self.  (A block parameter of the same name is not such a local: `norm =
 * norm(64)` declares the child norm.) */
int el_holds_value(const Scope *s, const Stmt *st)
{
    const Binding *b = st->name ? el_lookup_binding(s, st->name) : NULL;
    return b && b->local;
}
