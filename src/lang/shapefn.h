/* shapefn.h — the forward's function library, internal to shapefn*.c.
 *
 * A built-in function is a row of shapefn.c's table: its name, the
 * namespaces that spell it (torch.X, F.X, x.X(...), math.X), torch's
 * signature as text ("input, weight, bias=None, stride=1") and a rule.
 * One binder matches a call's arguments to the signature, the way Python
 * would (positional order, keyword names, defaults, *varargs, keyword-only
 * parameters after '*'), so that every function reports a wrong keyword,
 * a missing argument or one too many the same way.  A rule then sees a
 * Call: each parameter's value, whether it was given and where.  The
 * rules live by theme: shapefn.c (the binder, dtypes, broadcasting, the
 * table), shapefn_tensor.c (shape manipulation, creation, indexing,
 * einsum) and shapefn_nn.c (functional forms of layers, attention).
 */
#ifndef RCC_SHAPEFN_H
#define RCC_SHAPEFN_H

#include "shapes.h"

enum { FN_MAXP = 20 };   /* the longest signature */

/* A call bound to its function's signature. */
typedef struct Call {
    Sh            *s;
    const char    *fn;              /* the function's name, for messages */
    Span           span;            /* the call */
    int            ns;              /* the namespace it was called in (NS_*) */
    int            arg;             /* the table row's variant */
    size_t         n;               /* parameters */
    const char    *pn[FN_MAXP];     /* their names */
    SV             v[FN_MAXP];      /* bound values; a default None is V_CONF VAL_NONE */
    Span           sp[FN_MAXP];     /* where each came from (the call for a default) */
    unsigned char  given[FN_MAXP];
    char           sigbuf[400];     /* the signature, split: pn points here */
} Call;

typedef SV (*FnRule)(Call *c);

/* --------------------------------------------------------- shapefn.c */

/* The parameter name's index (-1: the signature has none: a table bug). */
int         fn_ix(const Call *c, const char *name);
const SV   *fn_v(Call *c, const char *name);
Span        fn_sp(Call *c, const char *name);
int         fn_given(Call *c, const char *name);
int         fn_none(Call *c, const char *name);   /* None (given or by default) */

/* An error about the call, or about parameter name (at its argument when
 * given); the message is prefixed "NAME(): ".  Returns V_ERR. */
SV fn_fail(Call *c, const char *name, const char *fmt, ...) RCC_PRINTF(3, 4);

/* Parameter name as a tensor: 1 it is one (in *out); 0 pass *out on (an
 * error already reported, or an unknown value); an argument that is not
 * a tensor is reported (0, *out V_ERR).  fn_opt_t: 2 when None. */
int fn_t(Call *c, const char *name, SV *out);
int fn_opt_t(Call *c, const char *name, SV *out);
/* An integer: 1 exact in *out; 0 unknown (a size that is not a constant);
 * -1 reported (not an integer, or below min). */
int fn_int(Call *c, const char *name, int64_t min, int64_t *out);
/* An integer or a tuple of nd integers (stride=2, stride=(2, 1)) into
 * out[nd]: 1 all exact, 0 some unknown (UNKN), -1 reported. */
int fn_ints(Call *c, const char *name, int nd, int64_t min, int64_t *out);
/* A size list (a tuple of sizes, exact or symbolic): its length, or -1
 * reported. */
int fn_sizes(Call *c, const char *name, Dim *out, int cap);
/* A dimension index for rank: 1 wrapped in *out; 0 None or unknown; -1
 * reported ("dimension 4 is out of range for a tensor of rank 4"). */
int fn_dim(Call *c, const char *name, int rank, int *out);
/* A number (int, float, bool): 1 in *out, 0 unknown, -1 reported. */
int fn_num(Call *c, const char *name, double *out);
/* A bool: 1/0 its value, def when unknown; -1 reported. */
int fn_bool(Call *c, const char *name, int def);
/* A string, NULL when None or unknown; *bad set when it is not a string. */
const char *fn_str(Call *c, const char *name, int *bad);
/* dtype=: a dtype name ("f32"), NULL when None; *bad when it is not one. */
const char *fn_dtype(Call *c, const char *name, int *bad);

/* Dtypes: canonical names ("f32", "i64", "bool"), kinds and promotion. */
int         fn_is_float(const char *dt);
int         fn_is_int(const char *dt);   /* integer, not bool */
/* torch's result_type of two operands (tensors or scalars), NULL when
 * neither says. */
const char *fn_promote(const SV *a, const SV *b);
/* The dtype torch computes a floating op in: int and bool become f32. */
const char *fn_float_of(const char *dt);
/* "a f32 tensor", "an i64 tensor" for messages. */
const char *fn_dtype_words(const char *dt);
/* The canonical name of a dtype spelled "float32", "long", "f32"; NULL. */
const char *fn_dtype_name(const char *s);


/* --------------------------------------------------- shapefn_tensor.c */

SV r_unary(Call *c);       /* elementwise, same shape (arg: UN_* dtype rule) */
SV r_convert(Call *c);     /* float(), long(), to(dtype), type_as; float("inf") */
SV r_mathfn(Call *c);      /* math.sqrt(d) on configuration values */
SV r_softmax(Call *c);
SV r_reshape(Call *c);
SV r_flatten(Call *c);
SV r_permute(Call *c);
SV r_transpose(Call *c);
SV r_unsqueeze(Call *c);
SV r_squeeze(Call *c);
SV r_cat(Call *c);         /* arg: 1 for stack */
SV r_split(Call *c);       /* arg: 1 for chunk */
SV r_expand(Call *c);      /* arg: 1 for expand_as */
SV r_repeat(Call *c);
SV r_repeat_interleave(Call *c);
SV r_pad(Call *c);
SV r_roll(Call *c);
SV r_tri(Call *c);
SV r_reduce(Call *c);      /* arg: RD_* */
SV r_size(Call *c);        /* arg: 0 size, 1 dim, 2 numel */
SV r_matmul(Call *c);      /* arg: rank required (0 any, 2 mm, 3 bmm) */
SV r_addmm(Call *c);       /* arg: the product's rank (2 addmm, 3 baddbmm) */
SV r_outer(Call *c);
SV r_pow(Call *c);
SV r_clamp(Call *c);
SV r_masked_fill(Call *c);
SV r_where(Call *c);
SV r_gather(Call *c);
SV r_index_select(Call *c);
SV r_arange(Call *c);
SV r_fill(Call *c);        /* zeros, ones, full (arg: FILL_*) */
SV r_einsum(Call *c);
SV r_finfo(Call *c);

enum { UN_ANY, UN_NOBOOL, UN_PROMOTE, UN_FLOAT };              /* r_unary's dtype rules */
enum { RD_MEAN, RD_SUM, RD_PROD, RD_AMAX, RD_ARGMAX, RD_MAX };   /* r_reduce */
enum { FILL_ZEROS, FILL_FULL, FILL_LIKE, FILL_FULL_LIKE, FILL_NEW }; /* r_fill */

/* ------------------------------------------------------- shapefn_nn.c */

SV r_linear(Call *c);
SV r_conv(Call *c);        /* arg: dimensions (1, 2, 3) */
SV r_conv_t(Call *c);      /* conv_transpose; arg: dimensions */
SV r_pool(Call *c);        /* arg: dims + 10 for avg */
SV r_adaptive(Call *c);    /* arg: dims + 10 for max */
SV r_layer_norm(Call *c);  /* layer_norm, rms_norm */
SV r_group_norm(Call *c);
SV r_batch_norm(Call *c);
SV r_embedding(Call *c);
SV r_interpolate(Call *c);
SV r_pixel_shuffle(Call *c);   /* arg: 1 for pixel_unshuffle */
SV r_normalize(Call *c);
SV r_dropout(Call *c);
SV r_sdpa(Call *c);
SV r_swin(Call *c);
SV r_stochastic_depth(Call *c);

#endif /* RCC_SHAPEFN_H */
