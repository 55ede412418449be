/* shapes.h — the forward type-checker's internal header (not installed).
 *
 * The checker is three files: shapes.c evaluates a forward (values, names,
 * expressions, statements, calls of modules and blocks), shapefn.c holds
 * the built-in functions' rules (torch's shapes for relu, reshape, cat,
 * matmul, broadcasting, ...) and shapelayer.c the built-in layers' forward
 * rules (a Conv2d's output size from its bound arguments).  What they
 * share is here: the value of an expression (SV) and its sizes (Dim), the
 * state of one check (Sh), a call's arguments (Args), the small value
 * constructors as inline functions, and the sh_ helpers each file offers
 * the others.
 */
#ifndef RCC_SHAPES_H
#define RCC_SHAPES_H

#include <string.h>

#include "arch.h"

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
    int         id;       /* tensor, when tracing (trace.h): its number; 0 none */
} SV;

typedef struct Bind { const char *name; SV v; struct Bind *next; } Bind;   /* a name the forward assigned */
typedef struct Env { size_t inst; Bind *head; } Env;                      /* one forward being run */
typedef struct Frame { Span call; size_t inst; } Frame;                   /* a block call */

typedef struct Loop { Span over; size_t iter; } Loop;                     /* a for loop being unrolled */

struct Trace;
struct TNode;

typedef struct Sh {
    Elab  *e;
    struct Trace *tr;    /* recording the forward (trace.h), or NULL: checking only */
    Frame  frames[MAX_CALL_DEPTH + 1];
    int    depth;
    Loop   loops[MAX_CALL_DEPTH + 1];   /* innermost last */
    int    nloops;
    NameTab given;   /* the diagnostics so far, by what report() asks of them */
    size_t  seen;    /* how many of e->d's entries are in given */
} Sh;

#define UNKN INT64_MIN
static const Dim UNK = {UNKN, NULL};

/* ------------------------------------------------------------ values */

static inline SV mk(VKind k)
{
    SV v;
    memset(&v, 0, sizeof v);
    v.kind = k;
    return v;
}

static inline SV mk_int(int64_t i)
{
    SV v = mk(V_CONF);
    v.c.kind = VAL_INT;
    v.c.i = i;
    return v;
}

static inline SV conf_float(double f)
{
    SV v = mk(V_CONF);
    v.c.kind = VAL_FLOAT;
    v.c.f = f;
    return v;
}

static inline SV conf_str(const char *str)
{
    SV v = mk(V_CONF);
    v.c.kind = VAL_STR;
    v.c.s = str;
    return v;
}

static inline SV mk_mod(long inst)
{
    SV v = mk(V_MOD);
    v.mod = inst;
    return v;
}

static inline Dim exact(int64_t n) { return (Dim){n, NULL}; }
static inline int known(Dim d) { return d.n >= 0 && !d.sym; }

/* A size as a value: an integer when it is exact. */
static inline SV dim_sv(Dim d)
{
    SV v = known(d) ? mk_int(d.n) : mk(V_DIM);
    v.dim = d;
    return v;
}

static inline SV mk_tensor(const char *dtype, int rank)
{
    SV v = mk(V_TENSOR);
    v.dtype = dtype;
    v.rank = rank;
    for (int i = 0; i < MAXR; i++) v.d[i] = UNK;
    return v;
}

static inline int isnum(Dim d) { return !d.sym && d.n != UNKN; }   /* an integer, possibly negative */
/* Provably different: two exact sizes that differ. */
static inline int differ(Dim a, Dim b) { return known(a) && known(b) && a.n != b.n; }

static inline int is_float_dtype(const char *dt) { return dt && strcmp(dt, "bool") != 0 && (dt[0] == 'f' || dt[0] == 'b'); }

/* Wraps a (possibly negative) dim index for a rank; -1 when out of range. */
static inline int wrap(int64_t d, int rank)
{
    if (d < 0) d += rank;
    return d < 0 || d >= rank ? -1 : (int)d;
}

/* A call's arguments, evaluated. */
typedef struct Args {
    SV          pos[16], kv[16];      /* positional and keyword values */
    Span        pspan[16], kspan[16];   /* the values' spans */
    const char *kn[16];               /* keyword names */
    Span        knspan[16];           /* their spans (unset: use kspan) */
    size_t      npos, nkw;
    Span        span;                 /* the call */
} Args;

/* ------------------------------------------------------------ shapes.c */

/* Diagnostics.  Each reports once per location and message (a block's
 * instances repeat it), with a note at each block call leading there;
 * sh_fail and sh_lfail return the V_ERR value to propagate, sh_lfail adds a
 * note at the declaration of the layer concerned; sh_err_help adds a
 * help line (a fix). */
void sh_err(Sh *s, Span sp, const char *fmt, ...) RCC_PRINTF(3, 4);
void sh_err_help(Sh *s, Span sp, const char *help, const char *fmt, ...) RCC_PRINTF(4, 5);
SV   sh_fail(Sh *s, Span sp, const char *fmt, ...) RCC_PRINTF(3, 4);
SV   sh_lfail(Sh *s, Span sp, const Instance *in, const char *fmt, ...) RCC_PRINTF(4, 5);
/* A value's type for a message ("[N, 3, 8, 8]", "an integer"), in one of 8
 * rotating static buffers (several per message). */
const char *sh_ty(const SV *v);

/* Argument i, or the keyword argument name (NULL: absent); *sp its span. */
const SV *sh_arg(const Args *a, size_t i, const char *name, Span *sp);
/* 1: an exact integer in *out; 0: an unknown size; -1: not an integer. */
int  sh_as_int(const SV *v, int64_t *out);
Dim  sh_as_dim(const SV *v);
/* A list of integers given as a tuple/list/INTS value or as the rest of
 * the positional arguments from i.  Returns the count, -1 when not ints. */
int  sh_int_list(const Args *a, size_t i, const char *name, Dim *out, int cap);

/* Tuples (arena-owned items); x.shape as a tuple of sizes. */
SV   sh_tuple_of(Sh *s, size_t n);
SV   sh_pair(Sh *s, const SV *a, const SV *b);
SV   sh_shape_of(Sh *s, const SV *x);

/* Tracing (trace.h): appends a copy of *n to s->tr with out as its result,
 * its tensors numbered; returns out so numbered.  Without a trace, out. */
SV   sh_record(Sh *s, const struct TNode *n, SV out);

/* ------------------------------------------------------------ shapefn.c */

/* Argument i as a tensor: 1 it is one (in *out); 0 an error or an unknown
 * value to pass on (in *out); a non-tensor is reported. */
int  sh_get_t(Sh *s, const Args *a, size_t i, const char *name, const char *fn, SV *out);
/* torch's broadcasting of two operands (what names the operation in a
 * message), and matmul's batch broadcasting and inner dimension. */
SV   sh_broadcast(Sh *s, Span sp, const SV *a, const SV *b, const char *what);
SV   sh_matmul(Sh *s, Span sp, const SV *a, const SV *b);
/* The namespaces a function can be spelled in: a bare name (any built-in
 * function), torch.X, F.X (also nn.functional.X, torch.nn.functional.X),
 * a method x.X(...), math.X, torchvision's (ops.X). */
enum { NS_BARE = 0, NS_TORCH = 1, NS_F = 2, NS_METHOD = 4, NS_MATH = 8, NS_TV = 16 };
/* The namespace of a callee: NS_BARE for a plain name, NS_TORCH... for a
 * namespace prefix, -1 for anything else (a method, a module path). */
int  sh_fn_ns(const Expr *fx);
/* Is name a built-in function of namespace ns; the result of calling it
 * (for a method, a->pos[0] is the receiver); an unknown function's error
 * with the nearest known name. */
int  sh_is_function(int ns, const char *name);
SV   sh_fn_call(Sh *s, int ns, const char *name, const Args *a);
SV   sh_fn_unknown(Sh *s, Span sp, int ns, const char *name);
/* Row i of the function table (0 past the end), for tests/fn_dump. */
int  sh_fn_row(size_t i, const char **name, int *ns, const char **sig);
/* Names the forward may use without declaring them: inf, nan, finfo_min
 * (float32's minimum, torch.finfo(torch.float32).min).  1 when name is one. */
int  sh_constant(const char *name, SV *out);
/* torch.float32, torch.long, math.pi, math.inf, self.training (false):
 * 1 when x is one. */
int  sh_ns_attr(const Expr *x, SV *out);
/* An attribute of a value: x.shape, x.dtype, x.ndim, x.T, x.mT, finfo's
 * min/max/eps, a module's training (false: eval mode); an error for
 * anything else. */
SV   sh_attr(Sh *s, Span sp, const SV *a, const char *name);

/* Arithmetic on sizes: exact, or symbolic as a monomial written
 * canonically ("2*N", "N*T"), unknown when it is neither (N + T). */
Dim  sh_dim_mul(Sh *s, Dim a, Dim b);
Dim  sh_dim_add(Sh *s, Dim a, Dim b);
Dim  sh_dim_div(Sh *s, Dim a, int64_t k);   /* exact division, else unknown */
Dim  sh_dim_quot(Sh *s, Dim a, Dim b);      /* a / b: 6*N*T / 2*T = 3*N */
/* The evaluator's operators on sizes (x.shape[0] * T, C // heads): 1 with
 * the result in *out, 0 when op does not apply to them. */
int  sh_dim_arith(Sh *s, int op, const SV *a, const SV *b, SV *out);

/* ------------------------------------------------------------ shapelayer.c */

/* The output of a sliding window (conv, pool) over a size L. */
Dim  sh_window(Dim L, int64_t k, int64_t st, int64_t p, int64_t dil, int ceil_mode, int *bad);
/* The output of calling the built-in layer in with a's arguments. */
SV   sh_layer_fwd(Sh *s, const Instance *in, const Args *a);

#endif /* RCC_SHAPES_H */
