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
 * Cost follows the model: declarations and files are found in hash tables
 * (names.c), a layer's tensors pass through one buffer sized to the
 * largest layer, and once the walk is done the result is indexed (each
 * instance's tensors and children as ranges, paths and keys sorted) so
 * that the forward checker and check look things up instead of scanning
 * the model.  Configuration values are values.c's, lists of modules
 * modlists.c's (elab.h).
 */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "elab.h"

#ifndef RCC_SPECS_DIR
#define RCC_SPECS_DIR "/usr/local/share/rcc/specs"
#endif

/* ------------------------------------------------------------ sources */

/* Loads path (and, recursively, its imports). */
static int load(Elab *e, const char *path, Span from)
{
    if (names_get(&e->loaded, path))   /* parsed already */
        return 0;
    size_t len;
    char *text = util_read_file(path, &len);
    if (!text)
        return el_err_at(e, from, "cannot read %s", path);
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
            r = el_err_at(e, dc->name_span, "cannot find the imported file '%s'", dc->name);
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
const Decl *el_find_decl(const Elab *e, const char *name, DeclKind kind)
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
                return el_err_at(e, NO_SPAN, "out of memory");
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
    if (e->fit && el_free_made(e, key, ndim, shape) < 0)
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

const char *el_join(Elab *e, const char *prefix, const char *name)
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
        if (!a->name && a->value->kind == EX_STAR) {   /* Block(*row): a tuple's items, positionally */
            Val t;
            if (el_eval(e, s, a->value->a, &t) < 0) {
                r = -1;
                continue;
            }
            if (!el_is_seq(&t)) {
                r = el_err_at(e, a->value->span, "'*' splices a tuple or list, not a %s", el_val_kind_name(t.kind));
                continue;
            }
            for (size_t j = 0; j < el_seq_len(&t); j++) {
                if (pos >= nf) {
                    r = el_err_at(e, a->value->span, "%s takes at most %zu positional arguments", callee, nf);
                    break;
                }
                set[pos] = 1;
                spans[pos] = a->value->span;
                vals[pos++] = el_seq_at(&t, j);
            }
            continue;
        }
        if (!a->name) {
            if (pos >= nf) {
                r = el_err_at(e, a->value->span, "%s takes at most %zu positional arguments", callee, nf);
                continue;
            }
            k = pos++;
        } else {
            for (k = 0; k < nf && strcmp(f[k].name, a->name) != 0; k++)
                ;
            if (k == nf) {
                r = el_err_at(e, a->name_span, "%s has no parameter '%s'", callee, a->name);
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
            r = el_err_at(e, a->value->span, "%s: '%s' is given twice", callee, f[k].name);
            continue;
        }
        set[k] = 1;
        spans[k] = a->value->span;
        if (el_eval(e, s, a->value, &vals[k]) < 0)
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
            if (el_eval(e, &empty, f[k].def_expr, &vals[k]) < 0)
                r = -1;
        } else {
            r = el_err_at(e, call->span, "%s: missing required argument '%s'", callee, f[k].name);
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
    if (e->fit && el_free_layer(e, L, vals, path, x->span) < 0)
        return -1;
    for (size_t k = 0; k < nf; k++) {   /* kinds: an int where a tuple goes is fine (expand widens it) */
        ValKind want = L->args[k].kind, got = vals[k].kind;
        if (got == want || got == VAL_NONE || (want == VAL_INTS && got == VAL_INT) ||
            (want == VAL_FLOAT && got == VAL_INT) ||
            (want == VAL_FLOAT && (got == VAL_INTS || got == VAL_LIST) && !strcmp(L->args[k].name, "scale_factor")))
            continue;   /* Upsample's scale_factor: a number or one per dimension */
        return el_err_at(e, spans[k], "%s: '%s' must be a %s, not a %s", L->name, L->args[k].name,
                      el_val_kind_name(want), el_val_kind_name(got));
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
        return el_err_at(e, x->span, "out of memory");
    for (;;) {
        size_t cap = e->scratch_cap < MAX_LAYER_TENSORS ? e->scratch_cap : MAX_LAYER_TENSORS;
        msg[0] = 0;
        n = L->expand(vals, e->scratch, cap, msg, sizeof msg);
        if (n >= 0 || cap >= MAX_LAYER_TENSORS)
            break;
        if (arena_grow(e->a, (void **)&e->scratch, &e->scratch_cap, cap * 2, sizeof *e->scratch) < 0)
            return el_err_at(e, x->span, "out of memory");
    }
    if (n < 0)
        return el_err_at(e, x->span, "%s: %s", L->name, msg[0] ? msg : "invalid arguments");
    for (int i = 0; i < n; i++) {
        const LayerTensor *lt = &e->scratch[i];
        if (add_tensor(e, in, el_join(e, path, lt->name), lt->dtype, lt->ndim, lt->shape, lt->buffer, x->span) < 0)
            return -1;
    }
    return e->fit ? el_free_complete(e, path) : 0;   /* fitting: a layer's tensors are all it has */
}

static int elab_body(Elab *e, Scope *s, Stmt **body, size_t n, const char *path, size_t inst, int depth);

static int block_call(Elab *e, const Scope *s, const Expr *x, const Decl *B, const char *path, size_t parent,
                      Span name_span, int depth)
{
    if (depth > MAX_DEPTH)
        return el_err_at(e, x->span, "blocks nested deeper than %d (a block that instantiates itself?)", MAX_DEPTH);
    size_t nf = B->nparams;
    Span *spans;
    Val *vals = bind_call(e, s, x, NULL, B, &spans);
    Scope *inner = vals ? ARENA_NEW(e->a, Scope) : NULL;
    if (!inner)
        return -1;
    for (size_t k = 0; k < nf; k++)
        if (el_bind(e, inner, B->params[k].name, &vals[k]) < 0)
            return -1;
    size_t in = new_inst(e, path, B->name, parent, x->span, name_span);
    if (in == (size_t)-1)
        return -1;
    e->insts[in].args = vals;
    e->insts[in].nargs = nf;
    e->insts[in].decl = B;
    e->insts[in].scope = inner;   /* kept: the forward evaluates in it */
    if (elab_body(e, inner, B->body, B->nbody, path, in, depth) == 0)
        return e->fit ? el_free_complete(e, path) : 0;   /* fitting: a block is complete where its body ends */
    diag(e->d, DG_NOTE, x->span, "in %s, an instance of %s made here", *path ? path : "the model", B->name);
    return -1;
}

int el_instantiate(Elab *e, const Scope *s, const Expr *x, const char *path, size_t parent, Span name_span,
                       int depth)
{
    if (e->fit && e->fit->stop)   /* a family's run that is over: nothing more to make */
        return -1;
    if (x->kind == EX_COND) {
        Val c;
        if (el_eval(e, s, x->a, &c) < 0)
            return -1;
        const Expr *pick = el_truth(e, &c) ? x->b : x->c;
        return pick->kind == EX_NONE ? 0 : el_instantiate(e, s, pick, path, parent, name_span, depth);
    }
    const Expr *pattern = NULL;
    if (x->kind == EX_NAMED) {
        pattern = x->b;
        x = x->a;
        if (!el_is_list_expr(x))
            return el_err_at(e, x->span, "only a list of modules has items to name by a pattern");
    }
    if (el_is_list_expr(x)) {
        size_t in = new_inst(e, path, x->kind == EX_CALL ? el_class_name(x) : "list", parent, x->span, name_span);
        if (in == (size_t)-1)
            return -1;
        e->insts[in].list = 1;
        if (pattern && el_item_pattern(e, s, pattern, &e->insts[in], NULL) < 0)
            return -1;
        return el_list_seq(e, s, x, in, depth);
    }
    if (x->kind == EX_NAME) {   /* a module the caller made: Sequential(conv, downsample) */
        const Val *v = el_lookup(s, x->u.s);
        if (v && v->kind == VAL_MODULE)
            return el_instantiate(e, v->scope, v->x, path, parent, name_span, depth);
        if (v && v->kind == VAL_NONE)
            return 0;
        if (v && el_is_seq(v)) {   /* self.layers = layers, a list of modules */
            size_t in = new_inst(e, path, "list", parent, x->span, name_span);
            if (in == (size_t)-1)
                return -1;
            e->insts[in].list = 1;
            return el_list_vals(e, v, in, depth);
        }
    }
    if (x->kind == EX_CALL && x->a->kind == EX_NAME) {   /* norm_layer(width): a class given as a value */
        const Val *v = el_lookup(s, x->a->u.s);
        if (v && v->kind == VAL_CLASS)
            return el_class_call(e, s, x, v, path, parent, name_span, depth);
    }
    if (x->kind == EX_CALL && el_class_name(x)) {
        const char *cls = el_class_name(x);
        /* the spec's own block first: nanoGPT defines its own LayerNorm */
        const Decl *B = x->a->kind == EX_NAME ? el_find_decl(e, cls, DECL_BLOCK) : NULL;
        if (B)
            return block_call(e, s, x, B, path, parent, name_span, depth + 1);
        const Layer *L = cat_find(cls);
        if (L)
            return layer_call(e, s, x, L, path, parent, name_span);
        el_err_at(e, x->a->span, "unknown layer or block '%s'", cls);
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
    return el_err_at(e, x->span, "expected a module (a layer, a block, Sequential or a list of modules)");
}

/* A raw param or buffer: its dtype and dims evaluated now. */
static int raw_tensor(Elab *e, const Scope *s, const Stmt *st, const char *path, size_t inst)
{
    rcc_dtype dt;
    if (parse_dtype(st->type->dtype, &dt) < 0) {
        el_err_at(e, st->type->dtype_span, "unknown dtype '%s'", st->type->dtype);
        const char *best = NULL;
        size_t bestd = 3;
        for (int t = 0; t < RCC_DTYPE_COUNT; t++) {
            size_t dd = str_distance(st->type->dtype, rcc_dtype_name((rcc_dtype)t));
            if (dd < bestd) {
                bestd = dd;
                best = rcc_dtype_name((rcc_dtype)t);
            }
        }
        if (best)
            diag(e->d, DG_HELP, st->type->dtype_span, "did you mean '%s'?", best);
        else
            diag(e->d, DG_NOTE, st->type->dtype_span, "the dtypes are f32 f16 bf16 f64 i64 i32 i16 i8 u8 bool, "
                 "and those of newer files, f8e4m3fn f8e5m2 f8e4m3fnuz f8e5m2fnuz f8e8m0fnu u16 u32 u64 c64 c128 "
                 "f4e2m1fn f6e2m3fn f6e3m2fn");
        return -1;
    }
    if (st->type->ndims > 8)
        return el_err_at(e, st->type->span, "more than 8 dimensions");
    int64_t shape[8];
    for (size_t i = 0; i < st->type->ndims; i++) {
        Val v;
        if (el_eval(e, s, st->type->dims[i], &v) < 0)
            return -1;
        if (v.kind == VAL_FREE) {   /* a family's size: the file's */
            if (el_free_size(e, &v, el_join(e, path, st->name), (int)i, st->type->dims[i]->span, &shape[i]) < 0)
                return -1;
            continue;
        }
        if (v.kind != VAL_INT)
            return el_err_at(e, st->type->dims[i]->span, "expected an integer, found a %s", el_val_kind_name(v.kind));
        shape[i] = v.i;
        if (shape[i] < 0)
            return el_err_at(e, st->type->dims[i]->span, "a size must not be negative");
    }
    return add_tensor(e, inst, el_join(e, path, st->name), dt, (int)st->type->ndims, shape, st->kind == ST_BUFFER,
                      st->span);
}

/* Does x read the value of name?  a.add_module(...) does not read a: it
 * grows the container a (a child of that name). */
static int expr_reads(const Expr *x, const char *name)
{
    if (!x)
        return 0;
    switch (x->kind) {
    case EX_NAME: return !strcmp(x->u.s, name);
    case EX_INT: case EX_FLOAT: case EX_BOOL: case EX_STR: case EX_NONE: return 0;
    case EX_ATTR: return expr_reads(x->a, name);
    case EX_CALL:
        if (x->a->kind == EX_ATTR && !strcmp(x->a->u.s, "add_module")) {
            for (size_t i = 0; i < x->nargs; i++)
                if (expr_reads(x->args[i].value, name))
                    return 1;
            return 0;
        }
        break;
    default: break;
    }
    if (expr_reads(x->a, name) || expr_reads(x->b, name) || expr_reads(x->c, name))
        return 1;
    for (size_t i = 0; i < x->nargs; i++)
        if (expr_reads(x->args[i].value, name))
            return 1;
    return 0;
}

/* Does a statement of body[0..n) read name (its forward aside)? */
static int body_reads(Stmt **body, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++) {
        const Stmt *st = body[i];
        if (st->kind == ST_FORWARD)
            continue;
        if (expr_reads(st->value, name) || body_reads(st->body, st->nbody, name) ||
            body_reads(st->orelse, st->norelse, name))
            return 1;
    }
    return 0;
}

/* Is st, a bare name's assignment, a local because the rest of its body
 * reads the name?  self.x = ... and quoted names always declare, and so
 * does a name the scope already has (dropout = Dropout(dropout) declares
 * the child; later reads of dropout are of the block's argument). */
static int reads_later(const Scope *s, const Stmt *st, Stmt **rest, size_t n)
{
    return !st->owner && !st->quoted && strcmp(st->name, "self") != 0 && !el_lookup(s, st->name) &&
           body_reads(rest, n, st->name);
}

/* A body, in order: raw tensors, constants, submodules, conditionals. */
static int elab_body(Elab *e, Scope *s, Stmt **body, size_t n, const char *path, size_t inst, int depth)
{
    int r = 0;
    for (size_t i = 0; i < n; i++) {
        const Stmt *st = body[i];
        if (e->fit && e->fit->stop)   /* fitting: the run is over */
            return -1;
        switch (st->kind) {
        case ST_PARAM:
        case ST_BUFFER:
            if (raw_tensor(e, s, st, path, inst) < 0)
                r = -1;
            break;
        case ST_ASSIGN:
            if (st->nnames > 1) {
                r = el_err_at(e, st->span, "several targets are only for forward statements");
            } else if (st->owner && (st->owner->kind != EX_NAME || strcmp(st->owner->u.s, "self") != 0)) {
                r = el_err_at(e, st->owner->span, "a body assigns to its own attributes only: self.%s = ...", st->name);
            } else if (st->quoted && !el_is_module_expr(e, st->value)) {
                r = el_err_at(e, st->name_span, "a quoted name declares a module; a configuration value needs a plain "
                           "name");
            } else if (el_is_module_expr(e, st->value) && (st->owner || !el_holds_value(s, st)) &&
                       !reads_later(s, st, body + i + 1, n - i - 1)) {
                /* A module assigned to a bare name declares the child of
                 * that name, unless the body reads the name afterwards:
                 * then, as in torch's __init__, it is a local holding the
                 * module (or list of them) until it is given to a child
                 * (block = block_constructor(...); self.add_module(name, block);
                 * layers = [conv(...)]; ...; nn.Sequential(*layers)). */
                /* `self = Sequential(...)`: the module is itself that
                 * container, its children's keys directly under it. */
                const char *name = st->name;
                if (st->quoted && strchr(name, '{')) {   /* "denseblock{i+1}" = ... */
                    Expr pat = *st->value;
                    pat.kind = EX_STR;
                    pat.span = st->name_span;
                    pat.u.s = st->name;
                    if (el_item_pattern(e, s, &pat, NULL, &name) < 0) {
                        r = -1;
                        break;
                    }
                }
                const char *sub = !st->quoted && !strcmp(name, "self") ? path : el_join(e, path, name);
                if (el_instantiate(e, s, st->value, sub, inst, st->name_span, depth) < 0)
                    r = -1;
            } else {
                Val v;
                if (el_eval(e, s, st->value, &v) < 0)
                    r = -1;
                else if (v.kind == VAL_MODULE && (st->owner || !el_holds_value(s, st)) &&
                         !reads_later(s, st, body + i + 1, n - i - 1)) {   /* self.downsample = downsample */
                    const char *sub = !strcmp(st->name, "self") ? path : el_join(e, path, st->name);
                    if (el_instantiate(e, v.scope, v.x, sub, inst, st->name_span, depth) < 0)
                        r = -1;
                } else if (el_bind(e, s, st->name, &v) < 0) {
                    return -1;
                } else {
                    s->head->local = 1;
                }
            }
            break;
        case ST_IF: {
            Val c;
            if (el_eval(e, s, st->value, &c) < 0)
                r = -1;
            else if (el_truth(e, &c) ? elab_body(e, s, st->body, st->nbody, path, inst, depth) < 0
                                     : elab_body(e, s, st->orelse, st->norelse, path, inst, depth) < 0)
                r = -1;
            break;
        }
        case ST_INPUT:
            if (depth > 0)
                r = el_err_at(e, st->span, "inputs belong to the model, not to a block");
            break;
        case ST_FOR: {   /* torch's __init__ loops: add_module("denseblock%d" % (i + 1), ...) */
            Val *rows;
            size_t nrows, width;
            Arg *targets = arena_array(e->a, st->nnames + 1, sizeof *targets);
            if (!targets)
                return -1;
            for (size_t k = 0; k < st->nnames; k++)
                targets[k] = (Arg){st->names[k], st->name_spans[k], NULL};
            if (el_iter_rows(e, s, st->value, &rows, &nrows, &width) < 0 ||
                el_targets_fit(e, targets, st->nnames, st->value, &rows, nrows, &width) < 0) {
                r = -1;
                break;
            }
            for (size_t k = 0; k < nrows; k++) {
                for (size_t t = 0; t < width; t++)
                    if (el_bind(e, s, st->names[t], &rows[k * width + t]) < 0)
                        return -1;
                if (elab_body(e, s, st->body, st->nbody, path, inst, depth) < 0) {
                    r = -1;
                    break;   /* once: the other iterations would say the same */
                }
            }
            break;
        }
        case ST_EXPR:
            if (el_add_module(e, s, st->value, inst, depth) < 0)
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
            el_err_at(e, e->tensors[ix[i]].span, "the key '%s' is declared twice", e->tensors[ix[i]].key);
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
    /* Instances are made in preorder, except a module el_add_module()s to a
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
    return elab_fit(e, d, a, path, model_name, NULL);
}

int elab_fit(Elab *e, Diags *d, Arena *a, const char *path, const char *model_name, struct Fit *fit)
{
    memset(e, 0, sizeof *e);
    e->fit = fit;
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
            el_err_at(e, dc->name_span, "more than one model in %s: name the one to use", path);
            return -1;
        }
        e->model = dc;
    }
    if (!e->model && model_name)
        e->model = el_find_decl(e, model_name, DECL_MODEL);
    if (!e->model) {
        if (model_name)
            el_err_at(e, NO_SPAN, "no model named '%s' in %s", model_name, path);
        else
            el_err_at(e, NO_SPAN, "%s declares no model", path);
        return -1;
    }
    /* Names defined twice.  An imported file's model is not this spec's
     * (import reads its blocks): a family's model may share the name of
     * the concrete spec that takes the family's blocks. */
    for (size_t i = 0; i < e->nprogs; i++)
        for (size_t k = 0; k < e->progs[i]->ndecls; k++) {
            const Decl *dc = e->progs[i]->decls[k];
            if (dc->kind == DECL_IMPORT || (dc->kind == DECL_MODEL && i > 0))
                continue;
            const Decl *first = el_find_decl(e, dc->name, dc->kind);
            if (first != dc) {
                el_err_at(e, dc->name_span, "'%s' is defined twice", dc->name);
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
        return el_err_at(e, NO_SPAN, "out of memory");
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
    return el_eval(e, s, x, out);
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
    const Val *v = s ? el_lookup(s, name) : NULL;
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
