/* elab.h — elaboration's internal header (not installed).
 *
 * Elaboration is three files: elab.c walks a spec's bodies into instances
 * and keys (sources, layer and block calls, bodies, the order and indexes
 * of the result, the API of arch.h); values.c computes the configuration
 * values a body handles (scopes, expressions, Python's value functions,
 * tuples and lists, what loops run over); modlists.c makes lists of
 * modules (comprehensions, splices, name patterns, classes and modules
 * given as values, a body's add_module, append and extend).  What they
 * share is here, each name with the el_ prefix.
 */
#ifndef RCC_ELAB_H
#define RCC_ELAB_H

#include "arch.h"

enum { MAX_DEPTH = 64, MAX_ITEMS = 100000 };

/* The values a block body sees: its parameters and its local constants.
 * Blocks do not see their caller's names (as Python's __init__ does not).
 * A scope is a list of bindings, newest first, that is never changed in
 * place: binding a name again puts a new binding in front, so a copy of
 * the Scope is a snapshot of the names as they stand (what a module made
 * later from this point must see, el_snapshot), and a comprehension's
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
    size_t   n, live;   /* bindings in the chain; distinct names at its last compaction (el_bind) */
} Scope;

/* A growing sequence of values (arena-backed). */
typedef struct Seq { Val *v; size_t n, cap; } Seq;

/* ------------------------------------------------------------ values.c */

/* A name's binding in a scope, newest first; NULL when it has none. */
const Binding *el_lookup_binding(const Scope *s, const char *name);
const Val *el_lookup(const Scope *s, const char *name);
/* Binds name in s (a new binding in front: copies of s made before keep
 * the old value). */
int el_bind(Elab *e, Scope *s, const char *name, const Val *v);
const char *el_val_kind_name(ValKind k);
/* An error at sp; returns -1. */
int el_err_at(Elab *e, Span sp, const char *fmt, ...) RCC_PRINTF(3, 4);
/* The scope as it is now, for a module made later (arena-owned). */
const Scope *el_snapshot(Elab *e, const Scope *s);
/* Tuples and lists: 8 integers or fewer are VAL_INTS, anything else a
 * VAL_LIST (el_seq_make picks). */
size_t el_seq_len(const Val *v);
int el_is_seq(const Val *v);
Val el_seq_at(const Val *v, size_t i);
int el_seq_make(Elab *e, const Val *items, size_t n, Val *out);
int el_seq_push(Elab *e, Seq *q, const Val *v);
int el_seq_push_all(Elab *e, Seq *q, const Val *list);
/* a + b, both tuples or lists (a list built by appends grows in place:
 * linear, not quadratic); -1 past MAX_ITEMS or out of memory. */
int el_seq_concat(Elab *e, const Val *a, const Val *b, Val *out);
int el_eval_int(Elab *e, const Scope *s, const Expr *x, int64_t *out);
/* A configuration expression's value in scope s; -1 with a diagnostic. */
int el_eval(Elab *e, const Scope *s, const Expr *x, Val *out);
/* The class a module call names: Conv2d(...) or nn.Conv2d(...); NULL else. */
const char *el_class_name(const Expr *call);
/* What a loop runs over, as rows of *width values; targets_fit unpacks
 * rows into as many names as a loop has. */
int el_iter_rows(Elab *e, const Scope *s, const Expr *x, Val **rows, size_t *n, size_t *width);
int el_targets_fit(Elab *e, const Arg *targets, size_t nt, const Expr *iter, Val **rows, size_t n,
    size_t *width);
/* A comprehension's rows, and the scope of one row (its targets bound). */
int el_comp_rows(Elab *e, const Scope *s, const Expr *comp, Val **rows, size_t *n, size_t *width);
const Scope *el_comp_scope(Elab *e, const Scope *s, const Expr *comp, const Val *row, size_t width);
/* Is x a module expression: a layer, block or container call, a list of
 * modules, a comprehension of them, one named by a pattern? */
int el_is_module_expr(const Elab *e, const Expr *x);

/* ---------------------------------------------------------- modlists.c */

/* The items of a list value, or of a list expression, made as the next
 * items of the list instance inst. */
int el_list_vals(Elab *e, const Val *list, size_t inst, int depth);
int el_list_seq(Elab *e, const Scope *s, const Expr *x, size_t inst, int depth);
/* A name pattern: into L's item names, or (L NULL) a name into *name_out. */
int el_item_pattern(Elab *e, const Scope *s, const Expr *pat, Instance *L, const char **name_out);
/* cls(args), cls a class given as a value (perhaps a partial). */
int el_class_call(Elab *e, const Scope *s, const Expr *x, const Val *cls, const char *path,
    size_t parent, Span name_span, int depth);
int el_is_list_expr(const Expr *x);
/* A call in a body: container.add_module(name, m), list.append(m), list.extend(ms). */
int el_add_module(Elab *e, Scope *s, const Expr *x, size_t inst, int depth);
/* Does the body itself hold a value in st's target (a local, not a child)? */
int el_holds_value(const Scope *s, const Stmt *st);

/* -------------------------------------------------------------- elab.c */

/* The first block or model of that name. */
const Decl *el_find_decl(const Elab *e, const char *name, DeclKind kind);
/* prefix.name, or name under the model ("" prefix); arena-owned. */
const char *el_join(Elab *e, const char *prefix, const char *name);
/* Makes the module x under path, as a child of parent. */
int el_instantiate(Elab *e, const Scope *s, const Expr *x, const char *path, size_t parent,
    Span name_span, int depth);

/* ------------------------------------------------------------ free.c */

/* The value of the `?` (or `?(...)` call) x in a run: decided, or VAL_FREE. */
int  el_free_value(Elab *e, const Scope *s, const Expr *x, Val *out);
/* Configuration arithmetic with a VAL_FREE operand (op as values.c's
 * arith codes); 1 when it applies (out set), 0 when neither is free, -1
 * stuck. */
int  el_free_arith(Elab *e, Span sp, int op, const Val *a, const Val *b, Val *out);
/* v, when it is a VAL_FREE whose hole this run has decided since, as that number. */
void el_free_resolve(Elab *e, Val *v);
/* A comparison (cmp: 0..5 for == != < > <= >=) of a VAL_FREE with a number:
 * the assumption this branch of the search made about it (0, out set), or
 * -1 stuck until one is made; checked when the value is decided. */
int  el_free_compare(Elab *e, Span sp, int cmp, const Val *a, const Val *b, Val *out);
/* int(), round(), float(), abs() of a VAL_FREE. */
int  el_free_round(Elab *e, const char *fn, const Val *a, Val *out);
/* The run needs free value v decided (why): records it, stops the run; -1. */
int  el_free_stuck(Elab *e, const Val *v, StuckWhy why, Span sp);
/* Item i of a free list (a ? indexed), or -1 stuck. */
int  el_free_item(Elab *e, const Val *list, int64_t i, Val *out);
/* A free row unpacked into n names: the hole becomes a list of n. */
int  el_free_unpack(Elab *e, const Val *row, size_t n, Val *items);
/* A layer's arguments that are VAL_FREE, solved from the file's tensors
 * under path: each replaced by its value; -1 stuck or dead. */
int  el_free_layer(Elab *e, const Layer *L, Val *vals, const char *path, Span sp);
/* A raw tensor's size that is VAL_FREE, from the file's tensor key (dim d). */
int  el_free_size(Elab *e, const Val *v, const char *key, int d, Span sp, int64_t *out);
/* A tensor the run made, against the file: -1 (dead) when the file lacks it or differs. */
int  el_free_made(Elab *e, const char *key, int ndim, const int64_t *shape);
/* The module at path is complete: the file must have no key under it that
 * the run did not make (-1, dead, when it does). */
int  el_free_complete(Elab *e, const char *path);
/* Python's truth of v, which may be free (a stuck run when it cannot tell). */
int  el_truth(Elab *e, const Val *v);
/* guess(v): v, recorded for the output. */
int  el_free_guess(Elab *e, const Scope *s, const Expr *x, Val *out);

#endif /* RCC_ELAB_H */
