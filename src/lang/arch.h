/* arch.h — the .arch language: one shared header, one section per file.
 *
 * A .arch file declares modules the way torch.nn composes them, so that
 * state-dict keys fall out of the names, plus a forward dataflow.  The
 * compiler's phases, each in its own file:
 *
 *   diag.c       the diagnostic sink: spans, line map, carets, --json
 *   grammar/arch.l, grammar/arch.y
 *                the front end: tokens and an AST, a span on every node
 *   ast.c        AST constructors (the grammar actions call only these)
 *   catalog.c    the built-in layers: torch's parameter and buffer names,
 *                shapes and dtypes as functions of constructor arguments
 *   layerargs.c  what catalog.c's layer definitions share
 *   names.c      string-keyed hash tables for scopes and declarations
 *   elab.c       elaboration: imports, blocks instantiated with their
 *                arguments, integer expressions, lists and repeats,
 *                conditionals, down to the flat list of expected keys
 *   shapes.c     forward type-checking: shapes flow from the inputs
 *                (shapes.h; built-in functions in shapefn*.c, built-in
 *                layers' forward rules in shapelayer.c)
 *   check.c      `rcc check`: the expected keys against a weight file
 *
 * Memory: every AST node, string and IR record lives in the Arena of one
 * compilation (internal.h); nothing is freed before the compilation is.
 */
#ifndef RCC_ARCH_H
#define RCC_ARCH_H

#include <stdio.h>

#include "internal.h"

/* ----------------------------------------------------------------- diag.c */

/* A byte range [lo, hi) in source file number `file` of the Diags. */
typedef struct Span {
    uint32_t file;
    uint32_t lo, hi;
} Span;

typedef enum DiagLevel { DG_ERROR, DG_WARNING, DG_NOTE, DG_HELP } DiagLevel;

typedef struct SrcFile {
    const char *path;        /* as given on the command line or in import */
    const char *text;        /* arena; NUL-terminated */
    size_t      len;
    size_t     *lines;       /* arena: offset of each line start */
    size_t      nlines;
} SrcFile;

typedef struct DiagEntry {
    DiagLevel   level;
    Span        span;        /* span.file == UINT32_MAX: no location */
    const char *msg;         /* arena */
} DiagEntry;

/* The sink: diagnostics are collected (errors are counted, compilation
 * goes on) and rendered at the end, as text or as JSON. */
typedef struct Diags {
    Arena     *arena;
    SrcFile   *files;        /* arena */
    size_t     nfiles, files_cap;
    DiagEntry *list;         /* arena */
    size_t     n, cap;
    size_t     nerrors, nwarnings;
} Diags;

#define NO_SPAN ((Span){UINT32_MAX, 0, 0})

void     diag_init(Diags *d, Arena *a);
/* Registers a source text (copied into the arena); returns its number. */
uint32_t diag_add_file(Diags *d, const char *path, const char *text, size_t len);
/* Records a diagnostic.  A NOTE or HELP attaches to the entry before it. */
void     diag(Diags *d, DiagLevel lvl, Span sp, const char *fmt, ...) RCC_PRINTF(4, 5);
/* Renders every entry, in order:
 *   model.arch:12:5: error: message
 *      12 |   fc = Linear(512, 1000)
 *         |        ^~~~~~~~~~~~~~~~~
 * (no source line for NO_SPAN), then "N errors, M warnings" if any. */
void     diag_render(const Diags *d, FILE *out);
/* The same as one JSON object {"diagnostics": [{"level", "file", "line",
 * "column", "end_line", "end_column", "message"}...], "errors": N,
 * "warnings": M}. */
void     diag_render_json(const Diags *d, FILE *out);
/* The source text of a span for a one-line message: its first line,
 * ending in "..." when the span goes on (or does not fit in cap). */
const char *diag_span_text(const Diags *d, Span sp, char *buf, size_t cap);
/* 1-based line and column (in bytes) of a byte offset. */
void     diag_position(const Diags *d, uint32_t file, uint32_t off, size_t *line, size_t *col);

/* ------------------------------------------------------------------ ast.c */

typedef struct Expr Expr;
typedef struct Stmt Stmt;

/* Expressions serve both the configuration level (integer arithmetic on
 * block parameters, constructor calls, lists of modules) and the forward
 * (tensor expressions); elaboration decides which is meant where. */
typedef enum ExKind {
    EX_INT,        /* 42            u.i */
    EX_FLOAT,      /* 1e-5          u.f */
    EX_BOOL,       /* true false    u.i */
    EX_STR,        /* "tanh"        u.s (escapes resolved) */
    EX_NONE,       /* none */
    EX_NAME,       /* x             u.s */
    EX_UNARY,      /* op a: '-', '!' (not), '+' */
    EX_BINARY,     /* a op b: + - * / '%' TK_IDIV(//) TK_POW(**) TK_EQ TK_NE '<' '>' TK_LE
                      TK_GE TK_AND TK_OR '@' (matmul) */
    EX_COND,       /* a ? b : c */
    EX_CALL,       /* fn(args)      fn is an EX_NAME or EX_ATTR */
    EX_ATTR,       /* a.name        u.s = name; op = 1 when quoted: a."block1-0" */
    EX_INDEX,      /* a[items]      indices in args (EX_SLICE or any expression) */
    EX_SLICE,      /* lo:hi:step    any of a, b, c may be NULL; u.i = 1 for "..." */
    EX_LIST,       /* [items] */
    EX_TUPLE,      /* (a, b) or (a,) */
    EX_COMP,       /* [a for t in b]   targets in args (names only, 1 or 2) */
    EX_STAR,       /* *a               in call arguments and list items */
    EX_NAMED,      /* a named "p"      b = the pattern (an EX_STR) */
    EX_FREE,       /* ?                a free parameter of a family (free.c); ?(a, b) is
                                       an EX_CALL of it: one of a, b */
} ExKind;

typedef struct Arg {
    const char *name;    /* keyword argument, or NULL for positional */
    Span        name_span;
    Expr       *value;
} Arg;

struct Expr {
    ExKind kind;
    Span   span;         /* the whole expression */
    int    op;           /* EX_UNARY, EX_BINARY: the operator token */
    Expr  *a, *b, *c;    /* operands; EX_CALL: a = the callee; EX_INDEX: a = indexed */
    Arg   *args;         /* EX_CALL, EX_INDEX (names NULL), EX_LIST, EX_TUPLE */
    size_t nargs;
    union {
        int64_t     i;
        double      f;
        const char *s;
    } u;
};

/* A dtype and a shape: f32[N, 3, 224, 224]. */
typedef struct TypeExpr {
    const char *dtype;   /* "f32", "i64", ... as written */
    Span        dtype_span;
    Expr      **dims;    /* each an integer expression or a bare name (a
                            symbolic size such as N) */
    size_t      ndims;
    Span        span;
} TypeExpr;

typedef enum StKind {
    ST_ASSIGN,     /* name = expr: in a body, a submodule (or list of
                      submodules, or a local constant); in a forward, a
                      value.  Also a, b = expr (targets in names/nnames) */
    ST_PARAM,      /* param name: type [= init]   a raw parameter */
    ST_BUFFER,     /* buffer name: type            a raw buffer */
    ST_INPUT,      /* input name: type             a model input */
    ST_IF,         /* if cond { then } [else { else }] */
    ST_FORWARD,    /* forward(params) { body } */
    ST_RETURN,     /* return expr (a tuple for several outputs) */
    ST_EXPR,       /* an expression evaluated for effect: feats.append(y) */
    ST_FOR,        /* for t in value { body }   targets in names/nnames (1 or 2) */
} StKind;

struct Stmt {
    StKind      kind;
    Span        span;
    const char *name;        /* ST_ASSIGN (single target), ST_PARAM/BUFFER/INPUT */
    Span        name_span;
    int         quoted;      /* ST_ASSIGN: the target was written "block1-0" */
    Expr       *owner;       /* ST_ASSIGN: self in self.layer1 = ..., or NULL */
    const char **names;      /* ST_ASSIGN with several targets (a, b = ...), ST_FOR */
    Span        *name_spans;
    size_t      nnames;
    Expr       *value;       /* ST_ASSIGN, ST_RETURN, ST_EXPR, ST_IF (the condition), ST_PARAM init,
                                ST_FOR (what it iterates over) */
    TypeExpr   *type;        /* ST_PARAM, ST_BUFFER, ST_INPUT */
    Stmt      **body;        /* ST_IF then-branch, ST_FORWARD and ST_FOR body */
    size_t      nbody;
    Stmt      **orelse;      /* ST_IF else-branch (may hold one ST_IF: else if) */
    size_t      norelse;
    const char **params;     /* ST_FORWARD parameter names */
    Span        *param_spans;
    Expr       **param_defs; /* ST_FORWARD: each one's default, or NULL */
    size_t      nparams;
};

/* A block parameter: name [= default]. */
typedef struct BlockParam {
    const char *name;
    Span        span;
    Expr       *def;         /* NULL: required */
} BlockParam;

typedef enum DeclKind { DECL_BLOCK, DECL_MODEL, DECL_IMPORT } DeclKind;

/* block Name(params) { body }   model Name { body }   import "path" */
typedef struct Decl {
    DeclKind    kind;
    Span        span;
    const char *name;        /* DECL_IMPORT: the path string */
    Span        name_span;
    BlockParam *params;
    size_t      nparams;
    Stmt      **body;
    size_t      nbody;
} Decl;

typedef struct Program {
    Decl  **decls;
    size_t  ndecls;
    uint32_t file;           /* its source in the Diags */
} Program;

/* Constructors: allocate from the arena, copy nothing they are given
 * (strings are already arena-owned), return NULL only when out of memory. */
Expr *ast_int(Arena *a, Span sp, int64_t v);
Expr *ast_float(Arena *a, Span sp, double v);
Expr *ast_bool(Arena *a, Span sp, int v);
Expr *ast_str(Arena *a, Span sp, const char *s);
Expr *ast_none(Arena *a, Span sp);
Expr *ast_free(Arena *a, Span sp);
Expr *ast_name(Arena *a, Span sp, const char *s);
Expr *ast_unary(Arena *a, Span sp, int op, Expr *x);
Expr *ast_binary(Arena *a, Span sp, int op, Expr *x, Expr *y);
Expr *ast_cond(Arena *a, Span sp, Expr *c, Expr *x, Expr *y);
Expr *ast_call(Arena *a, Span sp, Expr *fn, Arg *args, size_t nargs);
Expr *ast_attr(Arena *a, Span sp, Expr *x, const char *name);
Expr *ast_attr_quoted(Arena *a, Span sp, Expr *x, const char *name);
Expr *ast_star(Arena *a, Span sp, Expr *x);
Expr *ast_named(Arena *a, Span sp, Expr *list, Expr *pattern);
Expr *ast_index(Arena *a, Span sp, Expr *x, Arg *items, size_t n);
Expr *ast_slice(Arena *a, Span sp, Expr *lo, Expr *hi, Expr *step);
Expr *ast_list(Arena *a, Span sp, Arg *items, size_t n);
Expr *ast_tuple(Arena *a, Span sp, Arg *items, size_t n);
/* "..." in an index: an EX_SLICE with u.i = 1. */
Expr *ast_ellipsis(Arena *a, Span sp);

/* The lists the grammar grows one element at a time (arena-owned).  Each
 * ast_*_add appends to l, or to a new list when l is NULL; a NULL element
 * (an empty production, a construct dropped by error recovery) is not
 * appended, so ast_stmt_add(a, NULL, NULL) is a new empty list.  They
 * return the list, or NULL when out of memory. */
typedef struct ArgList   { Arg *v; size_t n, cap; } ArgList;
typedef struct ExprList  { Expr **v; size_t n, cap; } ExprList;
typedef struct NameList  { const char **v; Span *spans; size_t n, cap; } NameList;
typedef struct StmtList  { Stmt **v; size_t n, cap; } StmtList;
typedef struct ParamList { BlockParam *v; size_t n, cap; } ParamList;

ArgList   *ast_arg_add(Arena *a, ArgList *l, const char *name, Span name_span, Expr *value);
ExprList  *ast_expr_add(Arena *a, ExprList *l, Expr *x);
NameList  *ast_name_add(Arena *a, NameList *l, const char *name, Span sp);
StmtList  *ast_stmt_add(Arena *a, StmtList *l, Stmt *s);
ParamList *ast_param_add(Arena *a, ParamList *l, const char *name, Span sp, Expr *def);

/* Statements, types and declarations.  They keep the lists' arrays (a
 * NULL list is empty).  ast_tensor makes ST_PARAM, ST_BUFFER or ST_INPUT;
 * ast_decl_add appends to p->decls (NULL d: nothing) and returns p. */
Stmt     *ast_assign(Arena *a, Span sp, const char *name, Span name_span, Expr *value);
Stmt     *ast_assign_many(Arena *a, Span sp, const NameList *targets, Expr *value);
/* [elt for targets in iter]; targets holds one or more names. */
Expr     *ast_comp(Arena *a, Span sp, Expr *elt, const NameList *targets, Expr *iter);
Stmt     *ast_assign_quoted(Arena *a, Span sp, const char *name, Span name_span, Expr *value);
/* owner.name = value: torch's self.layer1 = ... */
Stmt     *ast_assign_attr(Arena *a, Span sp, Expr *owner, const char *name, Span name_span, Expr *value);
Stmt     *ast_for(Arena *a, Span sp, const NameList *targets, Expr *iter, const StmtList *body);
Stmt     *ast_tensor(Arena *a, Span sp, StKind kind, const char *name, Span name_span,
                     TypeExpr *type, Expr *init);
Stmt     *ast_if(Arena *a, Span sp, Expr *cond, const StmtList *then, const StmtList *orelse);
/* forward(x, targets = none): the parameters' names, spans and defaults. */
Stmt     *ast_forward(Arena *a, Span sp, const ParamList *params, const StmtList *body);
/* x += y: x = x + y, the operator op applied to the name and the value. */
Stmt     *ast_aug_assign(Arena *a, Span sp, const char *name, Span name_span, int op, Expr *value);
Stmt     *ast_return(Arena *a, Span sp, Expr *value);
Stmt     *ast_expr_stmt(Arena *a, Span sp, Expr *value);
TypeExpr *ast_type(Arena *a, Span sp, const char *dtype, Span dtype_span, const ExprList *dims);
Decl     *ast_block(Arena *a, Span sp, const char *name, Span name_span, const ParamList *params,
                    const StmtList *body);
Decl     *ast_model(Arena *a, Span sp, const char *name, Span name_span, const StmtList *body);
Decl     *ast_import(Arena *a, Span sp, const char *path, Span path_span);
Program  *ast_program(Arena *a, uint32_t file);
Program  *ast_decl_add(Arena *a, Program *p, Decl *d);

/* Parses one source file (already registered with diag_add_file); syntax
 * errors go to the Diags, and the parser recovers at the next statement
 * or declaration so that one run reports several.  Returns the program
 * (possibly partial) or NULL when nothing could be parsed. */
Program *arch_parse(Diags *d, Arena *a, uint32_t file);

/* The name of a token, for messages ("'//'", "identifier"). */
const char *ast_op_name(int op);

/* -------------------------------------------------------------- catalog.c */

/* A configuration value: a constructor argument, a block parameter. */
typedef enum ValKind {
    VAL_NONE, VAL_BOOL, VAL_INT, VAL_FLOAT, VAL_STR, VAL_INTS, VAL_MODULE, VAL_CLASS, VAL_LIST,
    VAL_FREE       /* while a family is fitted (free.c): a*h + b of a free parameter h not yet decided */
} ValKind;

/* MODULE and CLASS are what torch's __init__ passes around besides
 * numbers: a module made by the caller (ResNet's downsample=Sequential(...))
 * and a class to make modules with (norm_layer=nn.BatchNorm2d, or
 * partial(nn.BatchNorm2d, eps=0.001)).  Neither is made until a body
 * assigns or calls it, where its keys then fall. */
typedef struct Val {
    ValKind     kind;
    int64_t     i;          /* BOOL (0/1), INT */
    double      f;          /* FLOAT */
    const char *s;          /* STR; CLASS: the class's name */
    int64_t     ints[8];    /* INTS: a tuple such as kernel_size=(3, 3) */
    size_t      n;
    const Expr *x;          /* MODULE: its expression; CLASS: the partial(...) call, or NULL */
    const void *scope;      /* MODULE, CLASS: where x is evaluated (elab.c's Scope) */
    const struct Val *items; /* LIST: n items (arena), a tuple or list that is not 8 integers or
                                fewer: MobileNetV2's setting rows, VGG's [64, "M", ...], modules */
    double      b;          /* FREE: the value is f * hole(i) ** ints[0] + b (ints[0] 0 or 1: the
                               hole itself); n bit 1 when a rounding (int(), //) was taken for exact
                               on the way, bit 2 when it is opaque: computed from two undecided
                               values (hole(i) and hole(ints[1] - 1)), which no size can solve */
} Val;

/* One constructor parameter, in torch's positional order. */
typedef struct LayerArg {
    const char *name;       /* torch's name: "in_features", "kernel_size" */
    ValKind     kind;       /* what it takes; an INT is accepted for INTS
                               (expanded to the layer's dimensionality) */
    const char *def;        /* default, in .arch syntax ("1", "true",
                               "\"zeros\"", "none"); NULL: required */
} LayerArg;

/* One tensor a layer owns, named relative to the layer. */
typedef struct LayerTensor {
    char      name[64];     /* "weight", "running_mean", "out_proj.bias",
                               "weight_hh_l1_reverse" */
    int       buffer;       /* 0: parameter, 1: buffer */
    rcc_dtype dtype;
    int       ndim;
    int64_t   shape[8];
} LayerTensor;

typedef struct Layer {
    const char     *name;   /* "Linear", "Conv2d", ... (torch.nn class name) */
    const LayerArg *args;
    size_t          nargs;
    /* The layer's tensors for bound arguments (args[i] holds the value of
     * parameter i, defaults already applied; INTS already expanded).
     * Returns how many were written to out (at most cap), or -1 with a
     * message such as "in_channels (3) is not divisible by groups (2)". */
    int (*expand)(const Val *args, LayerTensor *out, size_t cap, char *err, size_t errlen);
    /* Given the file's tensors for this layer (the names expand gives,
     * relative to the layer; ndim == -1 when the file lacks that one),
     * writes the constructor call that would match ("Linear(512, 10)")
     * and returns 1, or returns 0 when it cannot tell. */
    int (*suggest)(const Val *args, const LayerTensor *file, size_t n, char *buf, size_t cap);
} Layer;

/* The built-in layer named name, or NULL. */
const Layer *cat_find(const char *name);
/* Every built-in layer, for listings and did-you-mean. */
const Layer *cat_at(size_t i);
size_t       cat_count(void);

/* ------------------------------------------------------------ layerargs.c */

/* What every layer definition of catalog.c shares: an expand call's
 * output and messages, argument checks, and the constructor call a
 * suggestion builds.  Used by catalog.c only. */
#define LAYER_NARGS(t) (sizeof(t) / sizeof((t)[0]))
#define LAYER_MAX_ARGS 16                     /* the longest argument list */
#define LAYER_MAX_DIM  ((int64_t)1 << 40)     /* bound on any derived size */

/* One expand call: where tensors go and where the message goes. */
typedef struct LayerCtx {
    LayerTensor *out;
    size_t       cap, n;
    char        *err;
    size_t       errlen;
    const char  *layer;
} LayerCtx;

#define PARAM(c, name, ...) \
    la_put((c), (name), 0, RCC_F32, (const int64_t[]){__VA_ARGS__}, \
        (int)(sizeof((const int64_t[]){__VA_ARGS__}) / sizeof(int64_t)))
#define BUFFER(c, name, ...) \
    la_put((c), (name), 1, RCC_F32, (const int64_t[]){__VA_ARGS__}, \
        (int)(sizeof((const int64_t[]){__VA_ARGS__}) / sizeof(int64_t)))

#define CTX(name) {out, cap, 0, err, errlen, (name)}
#define EXPAND_ARGS const Val *a, LayerTensor *out, size_t cap, char *err, size_t errlen

/* A constructor call being derived: the spec's values (or the defaults),
 * overridden by what the file's shapes say. */
typedef struct LayerSug {
    const char     *name;
    const LayerArg *spec;
    size_t          n;
    Val             v[LAYER_MAX_ARGS];
    unsigned char   known[LAYER_MAX_ARGS];
    char            strs[LAYER_MAX_ARGS][32];   /* string defaults */
    int             collapse;   /* write all-equal INTS as one int */
    size_t          npos;       /* leading optional parameters written
                                   positionally: PReLU(64) */
} LayerSug;

#define SUGGEST_ARGS const Val *args, const LayerTensor *file, size_t nf, char *buf, size_t cap

int la_bad(LayerCtx *c, const char *fmt, ...) RCC_PRINTF(2, 3);
void la_fmt_float(double d, char *buf, size_t cap);
void la_fmt_val(const Val *v, int collapse, char *buf, size_t cap);
const char *la_kind_words(ValKind k);
int la_kind_err(LayerCtx *c, const char *name, const char *want, const Val *v);
int la_check_kinds(LayerCtx *c, const LayerArg *spec, size_t n, const Val *a, unsigned skip);
int la_is_none(const Val *v);
double la_num(const Val *v);
int la_get_size(LayerCtx *c, const Val *v, const char *name, int64_t *out);
int la_get_ints(LayerCtx *c, const Val *v, const char *name, size_t dim, int64_t min, int64_t *out);
int la_get_shape(LayerCtx *c, const Val *v, const char *name, int64_t *out, int *ndim);
int la_str_is(const Val *v, const char *s);
int la_get_choice(LayerCtx *c, const Val *v, const char *name, const char *const *choices, int *which);
int la_get_prob(LayerCtx *c, const Val *v, const char *name);
void la_put(LayerCtx *c, const char *name, int buffer, rcc_dtype dt, const int64_t *shape, int ndim);
int la_finish(LayerCtx *c);
int la_parse_def(const char *s, Val *v, char *sbuf, size_t scap);
int la_val_eq(const Val *x, const Val *y);
void la_sug_init(LayerSug *s, const char *name, const LayerArg *spec, size_t n, const Val *args);
size_t la_sug_ix(const LayerSug *s, const char *name);
void la_sug_int(LayerSug *s, const char *name, int64_t x);
void la_sug_bool(LayerSug *s, const char *name, int b);
void la_sug_ints(LayerSug *s, const char *name, const int64_t *x, int n);
int64_t la_sug_get_int(const LayerSug *s, const char *name, int64_t def);
int la_sug_write(const LayerSug *s, char *buf, size_t cap);
const LayerTensor *la_ft(const LayerTensor *f, size_t n, const char *name);
int la_dims_ok(const LayerTensor *t, int ndim);
int la_suggest_none(const Val *args, const LayerTensor *file, size_t n, char *buf, size_t cap);

/* ---------------------------------------------------------------- names.c */

/* A table from names (arena strings, not copied) to pointers; a zeroed
 * NameTab is empty.  names_put replaces the value of a name already there;
 * it returns 0, or -1 when out of memory. */
typedef struct NameEnt {
    const char *key;
    void       *val;
} NameEnt;

typedef struct NameTab {
    NameEnt *ent;            /* arena; cap slots, a power of two */
    size_t   n, cap;
} NameTab;

void *names_get(const NameTab *t, const char *key);
int   names_put(Arena *a, NameTab *t, const char *key, void *val);

/* ----------------------------------------------------------------- elab.c */

/* One state-dict entry the spec implies. */
typedef struct ExpTensor {
    const char *key;         /* arena: "layer1.0.conv1.weight" */
    rcc_dtype   dtype;
    int         ndim;
    int64_t     shape[8];
    int         buffer;
    size_t      inst;        /* the Instance that owns it */
    Span        span;        /* what declared it: the layer call or the param line */
} ExpTensor;

/* One module of the elaborated tree. */
typedef struct Instance {
    const char  *path;       /* arena: "layer1.0.conv1"; "" for the model */
    const char  *type;       /* "Conv2d", "Sequential", a block's name, "list" */
    const Layer *layer;      /* a built-in layer, or NULL */
    Val         *args;       /* built-ins: the bound constructor arguments */
    size_t       nargs;
    size_t       parent;     /* (size_t)-1 for the model */
    int          depth;
    Span         span;       /* the call (or list) that made it */
    Span         name_span;  /* the name it was assigned to */
    int          list;       /* a list of modules: children are .0, .1, ... */
    size_t       nitems;     /* list: how many items the spec declares */
    /* list: its items' names when a pattern gives them: "encoder_layer_{i}"
     * is item_pre "encoder_layer_", item_off 0, item_post "" (NULL item_pre:
     * the items are "0", "1", ...). */
    const char  *item_pre, *item_post;
    int64_t      item_off;
    const Decl  *decl;       /* a block instance or the model: its declaration */
    void        *scope;      /* its parameters and constants (elab.c's Scope) */
    size_t       tensor0, ntens;   /* its own tensors: e->tensors[tensor0 .. +ntens) */
    size_t       kid0, nkids;      /* its children: e->kids[kid0 .. +nkids), in the order made */
} Instance;

/* A model input: input x: f32[N, 3, 224, 224] (symbolic sizes kept). */
typedef struct Input {
    const char     *name;
    const TypeExpr *type;
    Span            span;
} Input;

struct Fit;

typedef struct Elab {
    Diags      *d;
    struct Fit *fit;         /* fitting a family (free.c), or NULL: then `?` is an error */
    Arena      *a;
    Program   **progs;       /* the main file first, then its imports */
    size_t      nprogs, progs_cap;
    const Decl *model;
    Instance   *insts;
    size_t      ninsts, insts_cap;
    ExpTensor  *tensors;
    size_t      ntensors, tensors_cap;
    Input      *inputs;
    size_t      ninputs, inputs_cap;
    const char *forward_sig; /* shapes.c: "(x: f32[N, 16]) -> f32[N, 10]",
                                or NULL when there is no forward */
    /* Indexes made once elaboration is done, so that no later lookup
     * scans the model: */
    size_t     *kids;        /* arena: instance numbers grouped by parent */
    size_t     *by_path;     /* arena: instance numbers sorted by (path, number) */
    size_t     *by_key;      /* arena: tensor numbers sorted by key */
    /* During elaboration: */
    NameTab     loaded;      /* the files parsed, by path */
    NameTab     blocks, models;      /* declarations by name, the first one of each */
    LayerTensor *scratch;    /* arena: a layer's tensors, sized to the largest layer yet */
    size_t      scratch_cap;
    Val        *grow;        /* arena: the list array grown last (el_seq_concat), grow_n of its */
    size_t      grow_n, grow_cap;    /* grow_cap items in use */
} Elab;

/* Reads and parses path and everything it imports, then elaborates the
 * model named model_name (NULL: the file's only model).  Problems go to
 * the Diags; returns 0 when the spec elaborated without errors. */
int elab_file(Elab *e, Diags *d, Arena *a, const char *path, const char *model_name);
/* The same, one run of fitting a family (free.c): fit holds the file's
 * keys and the free values decided so far, and says how the run ended. */
int elab_fit(Elab *e, Diags *d, Arena *a, const char *path, const char *model_name, struct Fit *fit);

/* Python's truth of a configuration value (0, none, false are false). */
int  val_truthy(const Val *v);
/* Evaluates a configuration expression in the scope of instance inst (a
 * block's parameters and constants); diagnostics as elaboration gives. */
int  elab_value(Elab *e, size_t inst, const Expr *x, Val *out);
/* The child of instance inst assigned to name, or -1.  "self", when no
 * child has that name (HF BERT's attention.self does), is the container
 * the module is itself (`self = [...]`). */
long elab_child(const Elab *e, size_t inst, const char *name);
/* The configuration value name has in instance inst's scope (a block
 * parameter, or a constant its body assigned, as it stood at the end of
 * the body): 1 and *out, or 0 when inst has none by that name. */
int elab_conf(const Elab *e, size_t inst, const char *name, Val *out);
/* Item i of the list instance inst (negative i counts from the end, as
 * Python's does), or -1. */
long elab_item(const Elab *e, size_t inst, int64_t i);
/* The index of the list item that a key segment names ("3", or
 * "denselayer4" for the pattern "denselayer{i+1}"), with *end just past
 * it; -1 when seg does not start with an item's name. */
int64_t elab_item_index(const Instance *list, const char *seg, const char **end);
/* What a configuration-level loop iterates over: range(...), a tuple,
 * enumerate(t), zip(a, b), evaluated in the scope of instance inst.
 * Sets *rows to n rows of *width values each (arena-owned).  -1 with a
 * diagnostic when x is none of those. */
int elab_iter(Elab *e, size_t inst, const Expr *x, Val **rows, size_t *n, size_t *width);
/* The tensor whose key is prefix.name (name alone for prefix ""), or -1. */
long elab_find_key(const Elab *e, const char *prefix, const char *name);
/* The instances whose path is the len bytes at s, in order: sets *n and
 * returns where they start in e->by_path. */
const size_t *elab_with_path(const Elab *e, const char *s, size_t len, size_t *n);

/* ----------------------------------------------------------------- free.c */

/* Free parameters.  A family spec writes `?` for a value the weight file
 * decides, `?(a, b, ...)` for one of a few, `?(default = v)` for one the
 * file decides when it can (v otherwise); `guess(v)` for a value the
 * weights cannot tell (heads, eps), taken as v and marked in the output,
 * and `guess(v, attr = "self_attn.num_heads")` the same unless the file
 * is a pickled whole model whose modules say it: then the first module
 * (in order) whose path ends in self_attn and that has num_heads gives it.
 * Fitting (src/infer/fit.c) elaborates the family again and again, each
 * run with the holes decided so far: an undecided hole flows through
 * configuration arithmetic as f*h + b (VAL_FREE); a layer or a raw param
 * it reaches is solved against the file's tensor of that key (the layer's
 * own shape rules probed, so any layer of the catalog works); a run that
 * needs it otherwise (a loop count, a condition, a comparison) stops,
 * stuck on it, and the search tries its candidates.  Every tensor a run
 * makes is compared with the file as it is made: the first one the file
 * lacks, or has with another shape, ends the run (dead). */

typedef struct FitKey {
    const char *key;         /* the file's key (after a stripped prefix) */
    int         ndim;
    int64_t     shape[8];
    rcc_dtype   dtype;
} FitKey;

typedef enum HoleState {
    HOLE_OPEN,               /* undecided */
    HOLE_NUM,                /* num (an integer when isint) */
    HOLE_CHOICE,             /* candidate `choice` of its ?(...) */
    HOLE_LIST,               /* a list of len items, each a hole of its own (parent = this one) */
    HOLE_BOOL,               /* num is 0 or 1 */
    HOLE_NONE,               /* None: an optional part absent */
    HOLE_DEFAULT             /* v of its ?(default = v), evaluated where the ? is written (for a run
                                that needs a value nothing decides); dkind, num, isint: the value */
} HoleState;

/* What a stuck run needs: a number, a loop count, a list's length, a truth, one of ?(...). */
typedef enum StuckWhy { STUCK_VALUE, STUCK_COUNT, STUCK_LEN, STUCK_TRUTH, STUCK_CHOICE,
                       STUCK_CMP,       /* a comparison of an undecided value: assumed true or false */
                       STUCK_DIVISOR    /* c / (an undecided value), c an integer: one of c's divisors */
} StuckWhy;

typedef struct Hole {
    uint32_t    file, lo, hi;   /* the `?` (or `?(...)`) in the family's source; items: their list's */
    int         parent;         /* an item of a list hole: that hole; -1 */
    int64_t     index;          /* the item's index */
    int         ncand;          /* ?(a, b, ...): how many candidates */
    uint32_t    dlo, dhi;       /* ?(default = v): v's text, written when nothing decides it (dhi 0: none) */
    HoleState   state;
    int         isint;
    double      num;
    int         choice;
    int64_t     len;
    int         truthy;         /* an open hole known to be true (a ratio that is not None) */
    /* An assumption (about >= 0): the comparison `f * hole(about) ** pw + b  cmp  c` at [lo, hi)
     * taken as true or false (HOLE_BOOL) before hole(about) was decided; checked when it is. */
    int         about, cmp, pw, cround;   /* cround: the value was rounded (int(), //) */
    double      cf, cb, cc;
    ValKind     dkind;          /* HOLE_DEFAULT: the kind of the value its default gave in the run */
    char        how[160];       /* what decided it, for --explain and the output's comments */
    char        text[256];      /* HOLE_CHOICE of a named candidate (cfgs.A): its value written out, when it
                                   is numbers, strings and lists of them ("" otherwise: the candidate's text) */
} Hole;

/* A guess(v) or guess(v, attr = "self_attn.num_heads") met in a run. */
typedef struct FitGuess {
    uint32_t file, lo, hi;   /* the call */
    uint32_t vlo, vhi;       /* v, the family's default */
    char     from[160];      /* "" or where the pickle gave it: "encoder.layers.0.self_attn.num_heads = 8" */
    char     val[64];        /* the pickle's value as source text */
} FitGuess;

typedef struct Fit {
    const FitKey *keys;      /* the file's, sorted by key */
    size_t        nkeys;
    Hole         *holes;     /* malloc'd; grows as runs meet new holes */
    size_t        nholes, cap;
    const int64_t *counts;   /* loop-count candidates the file suggests (its lists' lengths) */
    size_t        ncounts;
    /* One run's outcome: */
    int           stop;      /* the run is over (stuck, dead or an error) */
    int           stuck;     /* the hole the run needs decided, or -1 */
    StuckWhy      why;
    int           dead;      /* the family makes a tensor the file lacks or has otherwise */
    char          msg[320];  /* what killed or stopped it */
    size_t        matched;   /* tensors made that the file has, as it has them */
    int           progress;  /* holes decided during the run */
    int           last_free; /* the hole of the newest VAL_FREE made (an error's suspect) */
    int64_t       dividend;  /* STUCK_DIVISOR: c, and the stuck value's f, b (f * hole + b divides c) */
    double        div_f, div_b;
    size_t        completes;   /* modules the run completed with every key of the file under them */
    int64_t       missing_max; /* dead making a key the file lacks under an indexed name: the file's
                                  largest index there (a loop's count is near it), else -1 */
    unsigned char *made;     /* [nkeys]: the file key was made this run */
    const rcc_file *file;    /* its pickled modules' attributes, for guess(v, attr = ...) */
    FitGuess      guesses[64];   /* the guess() calls met, for the output */
    size_t        nguesses;
} Fit;

/* --------------------------------------------------------------- shapes.c */

/* Type-checks the model's forward (and, through calls, every block's
 * forward) with shapes flowing from the model's `input` declarations;
 * errors go to e->d at the offending expression.  A model without a
 * forward is not checked.  Returns 0 when the forward type-checks, and
 * then sets e->forward_sig. */
int shapes_check(Elab *e);

/* ---------------------------------------------------------------- check.c */

typedef struct CheckOptions {
    const char *strip_prefix;   /* --strip-prefix: removed from every file key */
    int         strict_dtype;   /* --strict-dtype: f16/bf16/f64 for f32 is an error */
} CheckOptions;

/* Compares the elaborated spec with a weight file; diagnostics to e->d.
 * Returns 0 when they agree exactly, 1 when they do not. */
int check_weights(Elab *e, const rcc_file *f, const char *wpath, const CheckOptions *o);

#endif /* RCC_ARCH_H */
