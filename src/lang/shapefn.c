/* shapefn.c — the forward's built-in functions: the table and the binder.
 *
 * shapes.c evaluates a forward; a call of a name that is not a module
 * comes here with its arguments evaluated (Args: SV values, positional and
 * keyword).  Every function is a row of the table below with torch's
 * signature written as text, so that one binder gives every function
 * Python's argument rules and the same located messages: a keyword the
 * function does not have (with the nearest one it has), a required
 * argument missing, too many positional arguments, one given twice.  The
 * rule of the row (shapefn_tensor.c, shapefn_nn.c) then computes the
 * result's type the way torch would on a meta tensor and reports what
 * torch would reject.  Sizes a rule cannot compute become unknown ('?'),
 * which never causes an error further on.
 *
 * Also here: dtypes (torch's names, categories and result_type
 * promotion), broadcasting and matmul (shared with the operators), and the
 * evaluator's hooks for what is not a call: constants (inf, finfo_min),
 * torch.float32 and math.pi, and a tensor's attributes (x.shape, x.dtype).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arch.tab.h"
#include "shapefn.h"
#include "trace.h"

/* ---------------------------------------------------------------- table */

typedef struct Fn {
    const char *name;
    int         ns;       /* NS_* flags: where torch spells it; 0: a bare name only */
    const char *sig;      /* torch's signature: "input, dim=None, *, dtype=None" */
    FnRule      rule;
    int         arg;      /* the rule's variant */
} Fn;

enum { T = NS_TORCH, F = NS_F, M = NS_METHOD, A = NS_MATH, V = NS_TV };

#define CONV "input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1"
#define CONVT "input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1"
#define MAXPOOL "input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False"
#define AVGPOOL "input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True"
#define FACTORY "dtype=None, layout=None, device=None, requires_grad=False"
#define REDUCE "input, dim=None, keepdim=False, *, dtype=None"

/* A bare name (relu(x)) takes the first row of its name; a namespaced or
 * method call takes the first row its namespace spells. */
static const Fn FNS[] = {
    /* activations and elementwise functions */
    {"relu", F, "input, inplace=False", r_unary, UN_NOBOOL},
    {"relu", T | M, "input", r_unary, UN_NOBOOL},
    {"relu6", F, "input, inplace=False", r_unary, UN_NOBOOL},
    {"gelu", F, "input, approximate='none'", r_unary, UN_FLOAT},
    {"silu", F, "input, inplace=False", r_unary, UN_FLOAT},
    {"hardswish", F, "input, inplace=False", r_unary, UN_FLOAT},
    {"hardsigmoid", F, "input, inplace=False", r_unary, UN_FLOAT},
    {"mish", F, "input, inplace=False", r_unary, UN_FLOAT},
    {"elu", F, "input, alpha=1.0, inplace=False", r_unary, UN_FLOAT},
    {"leaky_relu", F, "input, negative_slope=0.01, inplace=False", r_unary, UN_FLOAT},
    {"softplus", F, "input, beta=1, threshold=20", r_unary, UN_FLOAT},
    {"sigmoid", T | F | M, "input", r_unary, UN_PROMOTE},
    {"tanh", T | F | M, "input", r_unary, UN_PROMOTE},
    {"tanh", A, "x", r_mathfn, 0},
    {"exp", T | M, "input", r_unary, UN_PROMOTE},
    {"exp", A, "x", r_mathfn, 0},
    {"log", T | M, "input", r_unary, UN_PROMOTE},
    {"log", A, "x", r_mathfn, 0},
    {"sqrt", T | M, "input", r_unary, UN_PROMOTE},
    {"sqrt", A, "x", r_mathfn, 0},
    {"rsqrt", T | M, "input", r_unary, UN_PROMOTE},
    {"sin", T | M, "input", r_unary, UN_PROMOTE},
    {"sin", A, "x", r_mathfn, 0},
    {"cos", T | M, "input", r_unary, UN_PROMOTE},
    {"cos", A, "x", r_mathfn, 0},
    {"erf", T | M, "input", r_unary, UN_PROMOTE},
    {"erf", A, "x", r_mathfn, 0},
    {"floor", T | M, "input", r_unary, UN_ANY},
    {"floor", A, "x", r_mathfn, 0},
    {"ceil", T | M, "input", r_unary, UN_ANY},
    {"ceil", A, "x", r_mathfn, 0},
    {"abs", T | M, "input", r_unary, UN_ANY},
    {"neg", T | M, "input", r_unary, UN_NOBOOL},
    {"pow", T | M, "input, exponent", r_pow, 0},
    {"pow", A, "x, y", r_mathfn, 0},
    {"clamp", T | M, "input, min=None, max=None", r_clamp, 0},
    {"softmax", F, "input, dim=None, _stacklevel=3, dtype=None", r_softmax, 1},
    {"softmax", T | M, "input, dim, dtype=None", r_softmax, 1},
    {"log_softmax", F, "input, dim=None, _stacklevel=3, dtype=None", r_softmax, 1},
    {"log_softmax", T | M, "input, dim, dtype=None", r_softmax, 1},
    {"cumsum", T | M, "input, dim, *, dtype=None", r_softmax, 2},
    {"dropout", F, "input, p=0.5, training=True, inplace=False", r_dropout, 0},
    {"dropout", T, "input, p, train", r_dropout, 0},
    {"stochastic_depth", V, "input, p, mode, training=True", r_stochastic_depth, 0},
    {"masked_fill", T | M, "input, mask, value", r_masked_fill, 0},
    {"tril", T | M, "input, diagonal=0", r_tri, 0},
    {"triu", T | M, "input, diagonal=0", r_tri, 0},
    {"contiguous", M, "input, memory_format=torch.contiguous_format", r_unary, UN_ANY},
    {"clone", T | M, "input, *, memory_format=torch.preserve_format", r_unary, UN_ANY},
    {"detach", T | M, "input", r_unary, UN_ANY},
    {"identity", 0, "input", r_unary, UN_ANY},
    {"layer_scale", 0, "input, *args", r_unary, UN_ANY},
    /* dtypes and Python's conversions */
    {"float", M, "input, memory_format=torch.preserve_format", r_convert, 0},
    {"double", M, "input, memory_format=torch.preserve_format", r_convert, 0},
    {"half", M, "input, memory_format=torch.preserve_format", r_convert, 0},
    {"bfloat16", M, "input, memory_format=torch.preserve_format", r_convert, 0},
    {"long", M, "input, memory_format=torch.preserve_format", r_convert, 0},
    {"int", M, "input, memory_format=torch.preserve_format", r_convert, 0},
    {"bool", M, "input, memory_format=torch.preserve_format", r_convert, 0},
    {"to", M, "input, *args, dtype=None, non_blocking=False, copy=False, memory_format=torch.preserve_format",
     r_convert, 0},
    {"type_as", M, "input, tensor", r_convert, 0},
    {"type", M, "input, dtype=None, non_blocking=False", r_convert, 0},
    {"finfo", T, "type=None", r_finfo, 0},
    /* shapes */
    {"reshape", M, "input, *shape", r_reshape, 0},
    {"reshape", T, "input, shape", r_reshape, 0},
    {"view", M, "input, *shape", r_reshape, 0},
    {"flatten", T | M, "input, start_dim=0, end_dim=-1", r_flatten, 0},
    {"permute", M, "input, *dims", r_permute, 0},
    {"permute", T, "input, dims", r_permute, 0},
    {"transpose", T | M, "input, dim0, dim1", r_transpose, 0},
    {"unsqueeze", T | M, "input, dim", r_unsqueeze, 0},
    {"squeeze", T | M, "input, dim=None", r_squeeze, 0},
    {"cat", T, "tensors, dim=0", r_cat, 0},
    {"concat", T, "tensors, dim=0", r_cat, 0},
    {"stack", T, "tensors, dim=0", r_cat, 1},
    {"split", T, "tensor, split_size_or_sections, dim=0", r_split, 0},
    {"split", M, "input, split_size, dim=0", r_split, 0},
    {"chunk", T | M, "input, chunks, dim=0", r_split, 1},
    {"expand", M, "input, *sizes", r_expand, 0},
    {"expand_as", M, "input, other", r_expand, 1},
    {"repeat", M, "input, *sizes", r_repeat, 0},
    {"repeat_interleave", T | M, "input, repeats, dim=None, *, output_size=None", r_repeat_interleave, 0},
    {"pad", F, "input, pad, mode='constant', value=None", r_pad, 0},
    {"roll", T, "input, shifts, dims=None", r_roll, 0},
    {"roll", M, "input, shifts, dims=()", r_roll, 0},
    {"size", M, "input, dim=None", r_size, 0},
    {"dim", M, "input", r_size, 1},
    {"numel", T | M, "input", r_size, 2},
    /* reductions */
    {"mean", T | M, REDUCE, r_reduce, RD_MEAN},
    {"sum", T, REDUCE, r_reduce, RD_SUM},
    {"sum", M, "input, dim=None, keepdim=False, dtype=None", r_reduce, RD_SUM},
    {"prod", T, REDUCE, r_reduce, RD_PROD},
    {"prod", M, "input, dim=None, keepdim=False, dtype=None", r_reduce, RD_PROD},
    {"amax", T | M, "input, dim=(), keepdim=False", r_reduce, RD_AMAX},
    {"amin", T | M, "input, dim=(), keepdim=False", r_reduce, RD_AMAX},
    {"argmax", T | M, "input, dim=None, keepdim=False", r_reduce, RD_ARGMAX},
    {"argmin", T | M, "input, dim=None, keepdim=False", r_reduce, RD_ARGMAX},
    {"max", T | M, "input, dim=None, keepdim=False", r_reduce, RD_MAX},
    {"min", T | M, "input, dim=None, keepdim=False", r_reduce, RD_MAX},
    /* products */
    {"matmul", T | M, "input, other", r_matmul, 0},
    {"mm", T | M, "input, mat2", r_matmul, 2},
    {"bmm", T | M, "input, mat2", r_matmul, 3},
    {"addmm", T | M, "input, mat1, mat2, *, beta=1, alpha=1", r_addmm, 2},
    {"baddbmm", T | M, "input, batch1, batch2, *, beta=1, alpha=1", r_addmm, 3},
    {"outer", T | M, "input, vec2", r_outer, 0},
    {"einsum", T, "equation, *operands", r_einsum, 0},
    /* creation and indexing */
    {"arange", T, "start=0, end=None, step=1, *, " FACTORY, r_arange, 0},
    {"zeros", T, "*size, " FACTORY, r_fill, FILL_ZEROS},
    {"ones", T, "*size, " FACTORY, r_fill, FILL_ZEROS},
    {"full", T, "size, fill_value, *, " FACTORY, r_fill, FILL_FULL},
    {"zeros_like", T, "input, *, " FACTORY ", memory_format=torch.preserve_format", r_fill, FILL_LIKE},
    {"ones_like", T, "input, *, " FACTORY ", memory_format=torch.preserve_format", r_fill, FILL_LIKE},
    {"full_like", T, "input, fill_value, *, " FACTORY ", memory_format=torch.preserve_format", r_fill, FILL_FULL_LIKE},
    {"new_zeros", M, "input, *size, dtype=None, device=None, requires_grad=False", r_fill, FILL_NEW},
    {"new_ones", M, "input, *size, dtype=None, device=None, requires_grad=False", r_fill, FILL_NEW},
    {"where", T, "condition, input, other", r_where, 0},
    {"where", M, "input, condition, other", r_where, 1},
    {"gather", T | M, "input, dim, index, *, sparse_grad=False", r_gather, 0},
    {"index_select", T | M, "input, dim, index", r_index_select, 0},
    /* functional forms of layers */
    {"linear", F, "input, weight, bias=None", r_linear, 0},
    {"conv1d", T | F, CONV, r_conv, 1},
    {"conv2d", T | F, CONV, r_conv, 2},
    {"conv3d", T | F, CONV, r_conv, 3},
    {"conv_transpose1d", T | F, CONVT, r_conv_t, 1},
    {"conv_transpose2d", T | F, CONVT, r_conv_t, 2},
    {"max_pool1d", F, MAXPOOL, r_pool, 1},
    {"max_pool2d", F, MAXPOOL, r_pool, 2},
    {"avg_pool1d", T | F, AVGPOOL, r_pool, 11},
    {"avg_pool2d", F, AVGPOOL ", divisor_override=None", r_pool, 12},
    {"adaptive_avg_pool1d", T | F, "input, output_size", r_adaptive, 1},
    {"adaptive_avg_pool2d", F, "input, output_size", r_adaptive, 2},
    {"adaptive_max_pool1d", F, "input, output_size, return_indices=False", r_adaptive, 11},
    {"adaptive_max_pool2d", F, "input, output_size, return_indices=False", r_adaptive, 12},
    {"layer_norm", F, "input, normalized_shape, weight=None, bias=None, eps=1e-05", r_layer_norm, 0},
    {"rms_norm", F, "input, normalized_shape, weight=None, eps=None", r_layer_norm, 1},
    {"group_norm", F, "input, num_groups, weight=None, bias=None, eps=1e-05", r_group_norm, 0},
    {"batch_norm", F,
     "input, running_mean, running_var, weight=None, bias=None, training=False, momentum=0.1, eps=1e-05",
     r_batch_norm, 0},
    {"embedding", F,
     "input, weight, padding_idx=None, max_norm=None, norm_type=2.0, scale_grad_by_freq=False, sparse=False",
     r_embedding, 0},
    {"interpolate", F,
     "input, size=None, scale_factor=None, mode='nearest', align_corners=None, recompute_scale_factor=None, "
     "antialias=False",
     r_interpolate, 0},
    {"pixel_shuffle", T | F, "input, upscale_factor", r_pixel_shuffle, 0},
    {"pixel_unshuffle", T | F, "input, downscale_factor", r_pixel_shuffle, 1},
    {"normalize", F, "input, p=2.0, dim=1, eps=1e-12, out=None", r_normalize, 0},
    {"scaled_dot_product_attention", F,
     "query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None, enable_gqa=False", r_sdpa, 0},
    {"sdpa", 0, "query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None, enable_gqa=False",
     r_sdpa, 0},
    {"shifted_window_attention", V,
     "input, qkv_weight, proj_weight, relative_position_bias, window_size, num_heads, shift_size, "
     "attention_dropout=0.0, dropout=0.0, qkv_bias=None, proj_bias=None, logit_scale=None",
     r_swin, 0},
};

#define NFNS (sizeof FNS / sizeof FNS[0])

static const Fn *find_fn(int ns, const char *name)
{
    for (size_t i = 0; name && i < NFNS; i++)
        if (!strcmp(FNS[i].name, name) && (ns == NS_BARE || (FNS[i].ns & ns))) return &FNS[i];
    return NULL;
}

int sh_is_function(int ns, const char *name) { return find_fn(ns, name) != NULL; }

int sh_fn_row(size_t i, const char **name, int *ns, const char **sig)
{
    if (i >= NFNS) return 0;
    *name = FNS[i].name;
    *ns = FNS[i].ns;
    *sig = FNS[i].sig;
    return 1;
}

static const char *ns_prefix(int ns)
{
    return ns == NS_TORCH ? "torch." : ns == NS_F ? "F." : ns == NS_MATH ? "math." : ns == NS_TV ? "torchvision." : "";
}

/* The function nearest name in namespace ns, for a did-you-mean. */
static const char *nearest_fn(int ns, const char *name)
{
    const char *best = NULL;
    size_t bestd = strlen(name) > 4 ? 3 : 2;
    for (size_t i = 0; i < NFNS; i++) {
        if (ns != NS_BARE && !(FNS[i].ns & ns)) continue;
        size_t d = str_distance(name, FNS[i].name);
        if (d < bestd) bestd = d, best = FNS[i].name;
    }
    return best;
}

SV sh_fn_unknown(Sh *s, Span sp, int ns, const char *name)
{
    const char *best = nearest_fn(ns, name);
    const char *what = ns == NS_METHOD ? "method" : "function";
    if (best)
        return sh_fail(s, sp, "unknown %s '%s%s'; did you mean '%s%s'?", what, ns_prefix(ns), name, ns_prefix(ns), best);
    const Fn *any = ns != NS_BARE ? find_fn(NS_BARE, name) : NULL;
    if (any) {   /* torch has it, elsewhere: say where */
        const char *where = ns == NS_TORCH ? "torch" : ns == NS_F ? "torch.nn.functional" : ns == NS_MATH ? "math"
                          : ns == NS_METHOD ? "a tensor's methods" : "torchvision";
        int in = 0;
        for (size_t i = 0; i < NFNS; i++)
            if (!strcmp(FNS[i].name, name)) in |= FNS[i].ns;
        const char *fix = in & NS_TORCH ? "torch." : in & NS_F ? "F." : in & NS_TV ? "" : in & NS_MATH ? "math." : "";
        if (in & NS_METHOD && !(in & (NS_TORCH | NS_F | NS_TV)))
            return sh_fail(s, sp, "'%s' is not in %s: it is a method, x.%s(...)", name, where, name);
        return sh_fail(s, sp, "'%s' is not in %s: write %s%s(...)", name, where, fix, name);
    }
    return sh_fail(s, sp, "unknown %s '%s%s'", what, ns_prefix(ns), name);
}

/* The namespace a dotted prefix names. */
static int prefix_ns(const Expr *p)
{
    char buf[64];
    size_t k = sizeof buf;
    buf[--k] = 0;
    for (; p->kind == EX_ATTR; p = p->a) {
        size_t l = strlen(p->u.s);
        if (l + 1 > k) return -1;
        k -= l;
        memcpy(buf + k, p->u.s, l);
        buf[--k] = '.';
    }
    if (p->kind != EX_NAME) return -1;
    size_t l = strlen(p->u.s);
    if (l > k) return -1;
    k -= l;
    memcpy(buf + k, p->u.s, l);
    const char *q = buf + k;
    static const struct { const char *path; int ns; } NS[] = {
        {"torch", NS_TORCH}, {"F", NS_F}, {"nn.functional", NS_F}, {"torch.nn.functional", NS_F}, {"math", NS_MATH},
        {"torchvision.ops", NS_TV}, {"ops", NS_TV}, {"torchvision.models.swin_transformer", NS_TV},
    };
    for (size_t i = 0; i < sizeof NS / sizeof NS[0]; i++)
        if (!strcmp(q, NS[i].path)) return NS[i].ns;
    return -1;
}

int sh_fn_ns(const Expr *fx)
{
    if (fx->kind == EX_NAME) return NS_BARE;
    if (fx->kind != EX_ATTR) return -1;
    int ns = prefix_ns(fx->a);
    return ns > 0 ? ns : -1;
}

/* --------------------------------------------------------------- binder */

/* A signature split into parameters, in place. */
typedef struct Sig {
    char       *buf;              /* the Call's copy of the text */
    size_t      n;
    const char *name[FN_MAXP];
    const char *def[FN_MAXP];     /* NULL: required */
    size_t      npos;             /* parameters that can be positional */
    int         vararg;           /* index of *name, or -1 */
} Sig;

static int parse_sig(const char *text, Sig *g, char *buf, size_t cap)
{
    size_t l = strlen(text);
    g->buf = buf;
    if (l >= cap) return -1;
    memcpy(g->buf, text, l + 1);
    g->n = 0;
    g->vararg = -1;
    g->npos = (size_t)-1;
    for (char *p = g->buf; *p && g->n < FN_MAXP;) {
        while (*p == ' ') p++;
        char *end = strchr(p, ',');
        if (end) *end = 0;
        if (!strcmp(p, "*")) {
            if (g->npos == (size_t)-1) g->npos = g->n;
        } else {
            if (*p == '*') {
                g->vararg = (int)g->n;
                p++;
            }
            char *eq = strchr(p, '=');
            if (eq) *eq = 0;
            g->name[g->n] = p;
            g->def[g->n] = eq ? eq + 1 : NULL;
            g->n++;
            if (g->vararg == (int)g->n - 1 && g->npos == (size_t)-1) g->npos = g->n;
        }
        if (!end) break;
        p = end + 1;
    }
    if (g->npos == (size_t)-1) g->npos = g->n;
    return 0;
}

/* A default written in the signature as a value. */
static SV default_value(Sh *s, const char *d)
{
    SV v = mk(V_CONF);
    char *end;
    if (!strcmp(d, "None")) return v;   /* VAL_NONE */
    if (!strcmp(d, "True") || !strcmp(d, "False")) {
        v.c.kind = VAL_BOOL;
        v.c.i = d[0] == 'T';
        return v;
    }
    if (d[0] == '\'') {
        size_t l = strlen(d);
        v.c.kind = VAL_STR;
        v.c.s = arena_strndup(s->e->a, d + 1, l >= 2 ? l - 2 : 0);
        return v.c.s ? v : mk(V_ANY);
    }
    if (!strcmp(d, "()")) return sh_tuple_of(s, 0);
    long long i = strtoll(d, &end, 10);
    if (*d && !*end) return mk_int(i);
    double f = strtod(d, &end);
    if (*d && !*end) {
        v.c.kind = VAL_FLOAT;
        v.c.f = f;
        return v;
    }
    return mk(V_ANY);   /* torch.contiguous_format and the like: no bearing on shapes */
}

static int is_seq(const SV *v) { return v->kind == V_TUPLE || (v->kind == V_CONF && v->c.kind == VAL_INTS); }

/* "the signature is conv2d(input, weight, ...)", the receiver left out
 * of a method's. */
static const char *usage(const Fn *f, int ns, char *buf, size_t cap)
{
    const char *sig = f->sig;
    if (ns == NS_METHOD && !strncmp(sig, "input", 5)) sig += sig[5] == ',' ? 7 : 5;
    snprintf(buf, cap, "the signature is %s%s(%s)", ns == NS_METHOD ? "x." : ns_prefix(ns), f->name, sig);
    return buf;
}

/* Binds a's arguments to f's signature in c; 0, or -1 reported. */
static int bind_call(Sh *s, const Fn *f, int ns, const Args *a, Call *c)
{
    Sig g;
    char help[480];
    memset(c, 0, sizeof *c);
    c->s = s;
    c->fn = f->name;
    c->span = a->span;
    c->ns = ns;
    c->arg = f->arg;
    if (parse_sig(f->sig, &g, c->sigbuf, sizeof c->sigbuf) < 0)
        return sh_err(s, a->span, "%s(): internal signature too long", f->name), -1;
    c->n = g.n;
    memcpy(c->pn, g.name, sizeof g.name);
    size_t self = ns == NS_METHOD;   /* the receiver does not count in messages */
    size_t p = 0;
    for (size_t k = 0; k < a->npos; k++) {
        if ((int)p == g.vararg) {   /* *size: the rest, or one tuple */
            size_t rest = a->npos - k;
            if (rest == 1 && is_seq(&a->pos[k])) {
                c->v[p] = a->pos[k];
            } else {
                c->v[p] = sh_tuple_of(s, rest);
                for (size_t j = 0; j < rest && j < c->v[p].n; j++) c->v[p].items[j] = a->pos[k + j];
            }
            c->sp[p] = a->pspan[k];   /* from the first to the last */
            if (a->pspan[a->npos - 1].file == c->sp[p].file && a->pspan[a->npos - 1].hi > c->sp[p].hi)
                c->sp[p].hi = a->pspan[a->npos - 1].hi;
            c->given[p++] = 1;
            break;
        }
        if (p >= g.npos) {
            sh_err_help(s, a->pspan[k], usage(f, ns, help, sizeof help),
                        "%s() takes at most %zu positional argument%s, got %zu", f->name, g.npos - self,
                        g.npos - self == 1 ? "" : "s", a->npos - self);
            return -1;
        }
        c->v[p] = a->pos[k];
        c->sp[p] = a->pspan[k];
        c->given[p++] = 1;
    }
    for (size_t k = 0; k < a->nkw; k++) {
        Span ksp = a->knspan[k].hi ? a->knspan[k] : a->kspan[k];
        size_t i;
        for (i = 0; i < g.n && strcmp(g.name[i], a->kn[k]) != 0; i++)
            ;
        if (i == g.n || (self && i == 0)) {
            const char *best = NULL;
            size_t bestd = 3;
            for (size_t j = self; j < g.n; j++) {
                size_t d = str_distance(a->kn[k], g.name[j]);
                if (d < bestd && g.name[j][0] != '_') bestd = d, best = g.name[j];
            }
            if (best) {
                sh_err(s, ksp, "%s() has no keyword '%s'; did you mean '%s'?", f->name, a->kn[k], best);
            } else {
                char list[300];
                size_t m = 0;
                list[0] = 0;
                for (size_t j = self; j < g.n && m < sizeof list; j++)
                    if (g.name[j][0] != '_')
                        m += (size_t)snprintf(list + m, sizeof list - m, "%s%s", m ? ", " : "", g.name[j]);
                sh_err(s, ksp, "%s() has no keyword '%s' (its parameters: %s)", f->name, a->kn[k],
                       m ? list : "none");
            }
            return -1;
        }
        if (c->given[i]) {
            sh_err(s, ksp, "%s() got multiple values for argument '%s'", f->name, a->kn[k]);
            return -1;
        }
        c->v[i] = a->kv[k];
        c->sp[i] = a->kspan[k];
        c->given[i] = 1;
    }
    for (size_t i = 0; i < g.n; i++) {
        if (c->given[i]) continue;
        c->sp[i] = a->span;
        if ((int)i == g.vararg) {
            c->v[i] = sh_tuple_of(s, 0);
        } else if (g.def[i]) {
            c->v[i] = default_value(s, g.def[i]);
        } else {
            sh_err_help(s, a->span, usage(f, ns, help, sizeof help), "%s() missing required argument '%s'", f->name,
                        g.name[i]);
            return -1;
        }
    }
    return 0;
}

SV sh_fn_call(Sh *s, int ns, const char *name, const Args *a)
{
    const Fn *f = find_fn(ns, name);
    if (!f) return sh_fn_unknown(s, a->span, ns, name);
    Call c;
    if (bind_call(s, f, ns, a, &c) < 0) return mk(V_ERR);
    SV y = f->rule(&c);
    if (!s->tr || y.kind == V_ERR) return y;
    TNode n = {.kind = TN_FN, .op = f->name, .ns = ns, .span = a->span, .nargs = c.n};
    n.args = arena_array(s->e->a, c.n + 1, sizeof(TArg));
    if (!n.args) return sh_fail(s, a->span, "out of memory");
    for (size_t i = 0; i < c.n; i++) {
        n.args[i] = (TArg){arena_strndup(s->e->a, c.pn[i], strlen(c.pn[i])), c.v[i], c.given[i]};
        if (!n.args[i].name) return sh_fail(s, a->span, "out of memory");
    }
    return sh_record(s, &n, y);
}

/* ------------------------------------------------------ rule helpers */

int fn_ix(const Call *c, const char *name)
{
    for (size_t i = 0; i < c->n; i++)
        if (!strcmp(c->pn[i], name)) return (int)i;
    return -1;
}

const SV *fn_v(Call *c, const char *name)
{
    static const SV any = {.kind = V_ANY};
    int i = fn_ix(c, name);
    return i < 0 ? &any : &c->v[i];
}

Span fn_sp(Call *c, const char *name)
{
    int i = fn_ix(c, name);
    return i < 0 ? c->span : c->sp[i];
}

int fn_given(Call *c, const char *name)
{
    int i = fn_ix(c, name);
    return i >= 0 && c->given[i];
}

int fn_none(Call *c, const char *name)
{
    const SV *v = fn_v(c, name);
    return v->kind == V_CONF && v->c.kind == VAL_NONE;
}

SV fn_fail(Call *c, const char *name, const char *fmt, ...)
{
    char msg[500];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    sh_err(c->s, name ? fn_sp(c, name) : c->span, "%s(): %s", c->fn, msg);
    return mk(V_ERR);
}

int fn_t(Call *c, const char *name, SV *out)
{
    const SV *v = fn_v(c, name);
    if (v->kind == V_TENSOR) return *out = *v, 1;
    if (v->kind == V_ERR || v->kind == V_ANY) return *out = *v, 0;
    *out = fn_fail(c, name, "'%s' must be a tensor, got %s", name, sh_ty(v));
    return 0;
}

int fn_opt_t(Call *c, const char *name, SV *out)
{
    if (fn_none(c, name)) return 2;
    return fn_t(c, name, out);
}

int fn_int(Call *c, const char *name, int64_t min, int64_t *out)
{
    const SV *v = fn_v(c, name);
    int k = sh_as_int(v, out);
    if (k < 0 || (v->kind == V_CONF && v->c.kind == VAL_BOOL))
        return fn_fail(c, name, "'%s' must be an integer, got %s", name, sh_ty(v)), -1;
    if (k == 1 && *out < min)
        return fn_fail(c, name, "'%s' must be at least %lld, got %lld", name, (long long)min, (long long)*out), -1;
    return k;
}

int fn_ints(Call *c, const char *name, int nd, int64_t min, int64_t *out)
{
    const SV *v = fn_v(c, name);
    Dim d[MAXR];
    int n = 0, all = 1;
    if (v->kind == V_ANY) {
        for (int i = 0; i < nd; i++) out[i] = UNKN;
        return 0;
    }
    if (v->kind == V_TUPLE) {
        if (v->n > MAXR) return fn_fail(c, name, "'%s' has more than %d items", name, MAXR), -1;
        for (size_t k = 0; k < v->n; k++) {
            int64_t x;
            if (sh_as_int(&v->items[k], &x) < 0)
                return fn_fail(c, name, "'%s' must hold integers, got %s", name, sh_ty(&v->items[k])), -1;
            d[n++] = sh_as_dim(&v->items[k]);
        }
    } else if (v->kind == V_CONF && v->c.kind == VAL_INTS) {
        for (size_t k = 0; k < v->c.n && n < MAXR; k++) d[n++] = exact(v->c.ints[k]);
    } else {
        int64_t x;
        if (sh_as_int(v, &x) < 0 || (v->kind == V_CONF && v->c.kind == VAL_BOOL))
            return fn_fail(c, name, "'%s' must be an integer or a tuple of %d integers, got %s", name, nd, sh_ty(v)), -1;
        for (int i = 0; i < nd; i++) d[i] = sh_as_dim(v);
        n = nd;
    }
    if (n == 1 && nd > 1)
        for (int i = 1; i < nd; i++) d[i] = d[0];
    else if (n != nd)
        return fn_fail(c, name, "'%s' must be an integer or a tuple of %d integers, got %d", name, nd, n), -1;
    for (int i = 0; i < nd; i++) {
        out[i] = known(d[i]) || isnum(d[i]) ? d[i].n : UNKN;
        all &= out[i] != UNKN;
        if (out[i] != UNKN && out[i] < min)
            return fn_fail(c, name, "'%s' must be at least %lld, got %lld", name, (long long)min, (long long)out[i]), -1;
    }
    return all;
}

int fn_sizes(Call *c, const char *name, Dim *out, int cap)
{
    const SV *v = fn_v(c, name);
    int n = 0;
    if (v->kind == V_TUPLE) {
        for (size_t k = 0; k < v->n; k++) {
            int64_t x;
            if (sh_as_int(&v->items[k], &x) < 0)
                return fn_fail(c, name, "'%s' must hold sizes, got %s", name, sh_ty(&v->items[k])), -1;
            if (n == cap) return fn_fail(c, name, "more than %d dimensions", cap), -1;
            out[n++] = sh_as_dim(&v->items[k]);
        }
        return n;
    }
    if (v->kind == V_CONF && v->c.kind == VAL_INTS) {
        for (size_t k = 0; k < v->c.n && n < cap; k++) out[n++] = exact(v->c.ints[k]);
        return n;
    }
    int64_t x;
    if (sh_as_int(v, &x) < 0 || (v->kind == V_CONF && v->c.kind == VAL_BOOL))
        return fn_fail(c, name, "'%s' must be a size or a tuple of sizes, got %s", name, sh_ty(v)), -1;
    out[0] = sh_as_dim(v);
    return 1;
}

int fn_dim(Call *c, const char *name, int rank, int *out)
{
    const SV *v = fn_v(c, name);
    int64_t d;
    if (v->kind == V_CONF && v->c.kind == VAL_NONE) return 0;
    int k = sh_as_int(v, &d);
    if (k < 0 || (v->kind == V_CONF && v->c.kind == VAL_BOOL))
        return fn_fail(c, name, "'%s' must be an integer, got %s", name, sh_ty(v)), -1;
    if (k == 0 || rank < 0) return 0;
    int r = rank ? rank : 1;   /* a 0-d tensor takes dim 0 and -1 */
    if (wrap(d, r) < 0)
        return fn_fail(c, name, "dimension %lld is out of range for a tensor of rank %d", (long long)d, rank), -1;
    *out = wrap(d, r);
    return 1;
}

int fn_num(Call *c, const char *name, double *out)
{
    const SV *v = fn_v(c, name);
    if (v->kind == V_CONF && (v->c.kind == VAL_INT || v->c.kind == VAL_BOOL)) return *out = (double)v->c.i, 1;
    if (v->kind == V_CONF && v->c.kind == VAL_FLOAT) return *out = v->c.f, 1;
    if (v->kind == V_DIM || v->kind == V_ANY || v->kind == V_ERR) return 0;
    return fn_fail(c, name, "'%s' must be a number, got %s", name, sh_ty(v)), -1;
}

int fn_bool(Call *c, const char *name, int def)
{
    const SV *v = fn_v(c, name);
    if (v->kind == V_CONF && v->c.kind != VAL_STR && v->c.kind != VAL_INTS) return val_truthy(&v->c);
    if (v->kind == V_ANY || v->kind == V_DIM || v->kind == V_ERR) return def;
    return fn_fail(c, name, "'%s' must be a bool, got %s", name, sh_ty(v)), -1;
}

const char *fn_str(Call *c, const char *name, int *bad)
{
    const SV *v = fn_v(c, name);
    if (v->kind == V_CONF && v->c.kind == VAL_STR) return v->c.s;
    if (!(v->kind == V_CONF && v->c.kind == VAL_NONE) && v->kind != V_ANY) {
        fn_fail(c, name, "'%s' must be a string, got %s", name, sh_ty(v));
        *bad = 1;
    }
    return NULL;
}

const char *fn_dtype(Call *c, const char *name, int *bad)
{
    const SV *v = fn_v(c, name);
    if (v->kind == V_CONF && v->c.kind == VAL_NONE) return NULL;
    if (v->kind == V_ANY) return NULL;
    const char *d = v->kind == V_CONF && v->c.kind == VAL_STR ? fn_dtype_name(v->c.s) : NULL;
    if (!d) {
        fn_fail(c, name, "'%s' must be a dtype such as torch.float32, got %s", name, sh_ty(v));
        *bad = 1;
    }
    return d;
}

/* ------------------------------------------------------ symbolic sizes */

/* A size that is not a constant is a monomial written canonically, so that
 * equal sizes are equal strings: the coefficient (omitted when 1), then
 * the symbols in order, joined by '*': "N", "2*N", "N*T", "28*N*T". */
typedef struct Mono {
    int64_t     k;
    const char *s[2 * MAXR];   /* symbols (not NUL-terminated: up to '*' or the end) */
    size_t      l[2 * MAXR];
    int         n;
} Mono;

static int to_mono(Dim d, Mono *m)
{
    m->k = 1;
    m->n = 0;
    if (known(d)) return m->k = d.n, 1;
    if (!d.sym) return 0;
    for (const char *p = d.sym; *p;) {
        size_t l = strcspn(p, "*");
        if (p[0] >= '0' && p[0] <= '9') {
            int64_t v = strtoll(p, NULL, 10);
            if (__builtin_mul_overflow(m->k, v, &m->k)) return 0;
        } else {
            if (m->n == 2 * MAXR) return 0;
            m->s[m->n] = p;
            m->l[m->n++] = l;
        }
        p += l + (p[l] == '*');
    }
    return 1;
}

static int sym_cmp(const char *a, size_t la, const char *b, size_t lb)
{
    int c = strncmp(a, b, la < lb ? la : lb);
    return c ? c : la < lb ? -1 : la > lb;
}

static Dim from_mono(Sh *s, Mono *m)
{
    if (m->n == 0) return m->k >= 0 ? exact(m->k) : UNK;
    if (m->k == 0) return exact(0);
    if (m->k < 0) return UNK;
    for (int i = 1; i < m->n; i++)   /* insertion sort: a handful of symbols */
        for (int j = i; j > 0 && sym_cmp(m->s[j - 1], m->l[j - 1], m->s[j], m->l[j]) > 0; j--) {
            const char *ts = m->s[j];
            size_t tl = m->l[j];
            m->s[j] = m->s[j - 1], m->l[j] = m->l[j - 1];
            m->s[j - 1] = ts, m->l[j - 1] = tl;
        }
    char buf[256];
    size_t k = 0;
    if (m->k != 1) k += (size_t)snprintf(buf, sizeof buf, "%lld", (long long)m->k);
    for (int i = 0; i < m->n; i++) {
        if (k + m->l[i] + 2 >= sizeof buf) return UNK;
        if (k) buf[k++] = '*';
        memcpy(buf + k, m->s[i], m->l[i]);
        k += m->l[i];
    }
    buf[k] = 0;
    if (m->n == 1 && m->k == 1) return (Dim){-1, m->s[0][m->l[0]] ? arena_strndup(s->e->a, buf, k) : m->s[0]};
    const char *str = arena_strndup(s->e->a, buf, k);
    return str ? (Dim){-1, str} : UNK;
}

Dim sh_dim_mul(Sh *s, Dim a, Dim b)
{
    Mono x, y;
    if (known(a) && a.n == 1) return b;
    if (known(b) && b.n == 1) return a;
    if (!to_mono(a, &x) || !to_mono(b, &y) || x.n + y.n > 2 * MAXR || __builtin_mul_overflow(x.k, y.k, &x.k))
        return UNK;
    for (int i = 0; i < y.n; i++) x.s[x.n] = y.s[i], x.l[x.n++] = y.l[i];
    return from_mono(s, &x);
}

/* Same symbols: the coefficients add. */
static int same_syms(Mono *x, Mono *y)
{
    if (x->n != y->n) return 0;
    int used[2 * MAXR] = {0};
    for (int i = 0; i < x->n; i++) {
        int j;
        for (j = 0; j < y->n && (used[j] || sym_cmp(x->s[i], x->l[i], y->s[j], y->l[j]) != 0); j++)
            ;
        if (j == y->n) return 0;
        used[j] = 1;
    }
    return 1;
}

Dim sh_dim_add(Sh *s, Dim a, Dim b)
{
    Mono x, y;
    if (known(a) && a.n == 0) return b;
    if (known(b) && b.n == 0) return a;
    if (!to_mono(a, &x) || !to_mono(b, &y) || !same_syms(&x, &y) || __builtin_add_overflow(x.k, y.k, &x.k))
        return UNK;
    return from_mono(s, &x);
}

Dim sh_dim_div(Sh *s, Dim a, int64_t k) { return k > 0 ? sh_dim_quot(s, a, exact(k)) : UNK; }

Dim sh_dim_quot(Sh *s, Dim a, Dim b)
{
    Mono x, y;
    if (!to_mono(a, &x) || !to_mono(b, &y) || y.k == 0 || x.k % y.k) return UNK;
    x.k /= y.k;
    for (int i = 0; i < y.n; i++) {   /* each symbol of b cancels one of a */
        int j;
        for (j = 0; j < x.n && sym_cmp(x.s[j], x.l[j], y.s[i], y.l[i]) != 0; j++)
            ;
        if (j == x.n) return UNK;
        x.s[j] = x.s[x.n - 1], x.l[j] = x.l[x.n - 1];
        x.n--;
    }
    return from_mono(s, &x);
}

int sh_dim_arith(Sh *s, int op, const SV *a, const SV *b, SV *out)
{
    if (!b || (a->kind != V_DIM && b->kind != V_DIM)) return 0;
    const SV *ops[2] = {a, b};
    Dim d[2];
    for (int i = 0; i < 2; i++) {
        int64_t v;
        int k = sh_as_int(ops[i], &v);
        if (k < 0 || (ops[i]->kind == V_CONF && ops[i]->c.kind == VAL_BOOL)) return 0;
        d[i] = k == 1 ? exact(v) : sh_as_dim(ops[i]);
        if (!known(d[i]) && !d[i].sym) return 0;
    }
    Dim r;
    if (op == '*') r = sh_dim_mul(s, d[0], d[1]);
    else if (op == '+') r = sh_dim_add(s, d[0], d[1]);
    else if ((op == TK_IDIV || op == '/') && known(d[1])) r = sh_dim_div(s, d[0], d[1].n);
    else return 0;
    if (!known(r) && !r.sym) return 0;
    *out = dim_sv(r);
    if (op == '/') {   /* true division: a float in torch; an exact quotient is still the size */
        if (!known(r)) return 0;
        out->c.kind = VAL_FLOAT;
        out->c.f = (double)r.n;
    }
    return 1;
}

/* --------------------------------------------------------------- dtypes */

static const struct { const char *alias, *name; } DTYPES[] = {
    {"f32", "f32"},       {"float32", "f32"}, {"float", "f32"},  {"f16", "f16"},    {"float16", "f16"},
    {"half", "f16"},      {"bf16", "bf16"},   {"bfloat16", "bf16"}, {"f64", "f64"}, {"float64", "f64"},
    {"double", "f64"},    {"i64", "i64"},     {"int64", "i64"},  {"long", "i64"},   {"i32", "i32"},
    {"int32", "i32"},     {"int", "i32"},     {"i16", "i16"},    {"int16", "i16"},  {"short", "i16"},
    {"i8", "i8"},         {"int8", "i8"},     {"u8", "u8"},      {"uint8", "u8"},   {"bool", "bool"},
};

const char *fn_dtype_name(const char *s)
{
    for (size_t i = 0; s && i < sizeof DTYPES / sizeof DTYPES[0]; i++)
        if (!strcmp(s, DTYPES[i].alias)) return DTYPES[i].name;
    return NULL;
}

int fn_is_float(const char *dt) { return dt && (dt[0] == 'f' || dt[0] == 'b') && strcmp(dt, "bool") != 0; }
int fn_is_int(const char *dt) { return dt && (dt[0] == 'i' || dt[0] == 'u'); }

const char *fn_float_of(const char *dt) { return !dt || fn_is_float(dt) ? dt : "f32"; }

const char *fn_dtype_words(const char *dt)
{
    static char buf[4][32];
    static unsigned k;
    char *b = buf[k++ % 4];
    snprintf(b, sizeof buf[0], "%s %s tensor", dt && (dt[0] == 'i' || dt[0] == 'f') ? "an" : "a", dt ? dt : "?");
    return b;
}

/* 0 bool, 1 integer, 2 floating. */
static int category(const char *dt) { return !dt ? -1 : fn_is_float(dt) ? 2 : fn_is_int(dt) ? 1 : 0; }

static int bits(const char *dt)
{
    return !strcmp(dt, "f64") || !strcmp(dt, "i64") ? 64 : !strcmp(dt, "f32") || !strcmp(dt, "i32") ? 32
         : !strcmp(dt, "f16") || !strcmp(dt, "bf16") || !strcmp(dt, "i16") ? 16 : 8;
}

/* torch.promote_types */
static const char *promote_types(const char *a, const char *b)
{
    if (!a) return b;
    if (!b || !strcmp(a, b)) return a;
    int ca = category(a), cb = category(b);
    if (ca != cb) return ca > cb ? a : b;
    if (ca == 2) {
        if (bits(a) == 16 && bits(b) == 16) return "f32";   /* f16 with bf16 */
        return bits(a) >= bits(b) ? a : b;
    }
    if ((!strcmp(a, "u8") && !strcmp(b, "i8")) || (!strcmp(a, "i8") && !strcmp(b, "u8"))) return "i16";
    return bits(a) >= bits(b) ? a : b;
}

/* torch's combine_categories: the lower-priority result counts only when
 * its category is higher. */
static const char *combine(const char *hi, const char *lo)
{
    if (!hi) return lo;
    if (!lo) return hi;
    if (category(hi) == 2) return hi;
    if (category(hi) == 0 || category(lo) == 2) return category(lo) > category(hi) ? promote_types(hi, lo) : hi;
    return hi;
}

const char *fn_promote(const SV *a, const SV *b)
{
    const char *dimr = NULL, *zero = NULL, *wrapped = NULL;
    const SV *ops[2] = {a, b};
    for (int i = 0; i < 2; i++) {
        const SV *v = ops[i];
        if (v->kind == V_TENSOR) {
            if (!v->dtype) continue;
            if (v->rank == 0) zero = promote_types(zero, v->dtype);
            else dimr = promote_types(dimr, v->dtype);
        } else if (v->kind == V_CONF) {
            const char *d = v->c.kind == VAL_FLOAT ? "f32" : v->c.kind == VAL_INT ? "i64"
                          : v->c.kind == VAL_BOOL ? "bool" : NULL;
            wrapped = promote_types(wrapped, d);
        } else if (v->kind == V_DIM) {
            wrapped = promote_types(wrapped, "i64");
        }
    }
    return combine(dimr, combine(zero, wrapped));
}

/* ----------------------------------------------------------- broadcast */

SV sh_broadcast(Sh *s, Span sp, const SV *a, const SV *b, const char *what)
{
    if (a->kind != V_TENSOR) {
        if (b->kind != V_TENSOR) return *b;
        SV r = *b;
        r.dtype = a->kind == V_CONF || a->kind == V_DIM ? fn_promote(a, b) : b->dtype;
        return r;
    }
    if (b->kind != V_TENSOR) {
        SV r = *a;
        r.dtype = b->kind == V_CONF || b->kind == V_DIM ? fn_promote(a, b) : a->dtype;
        return r;
    }
    /* A file's FP8, FP4, FP6, u16..u64 or complex tensor: torch promotes none of
     * them with another dtype ("Promotion for Float8 Types is not
     * supported"), and the spec language computes with none of them. */
    for (int i = 0; i < 2; i++) {
        const SV *v = i ? b : a, *o = i ? a : b;
        if (v->dtype && !fn_dtype_name(v->dtype) && (!o->dtype || strcmp(v->dtype, o->dtype) != 0))
            return sh_fail(s, sp, "%s: %s does not combine with %s in torch; convert it first (x.float())", what,
                           fn_dtype_words(v->dtype), o->dtype ? fn_dtype_words(o->dtype) : "another dtype");
    }
    const char *dt = fn_promote(a, b);
    SV r = mk_tensor(dt ? dt : a->dtype, -1);
    if (a->rank < 0 || b->rank < 0) return r;
    r.rank = a->rank > b->rank ? a->rank : b->rank;
    for (int i = 0; i < r.rank; i++) {
        int ia = a->rank - r.rank + i, ib = b->rank - r.rank + i;
        Dim x = ia >= 0 ? a->d[ia] : exact(1), y = ib >= 0 ? b->d[ib] : exact(1);
        if (known(x) && x.n == 1) r.d[i] = y;
        else if (known(y) && y.n == 1) r.d[i] = x;
        else if (differ(x, y))
            return sh_fail(s, sp, "%s: shapes %s and %s do not broadcast (dimension %d: %lld vs %lld)", what,
                           sh_ty(a), sh_ty(b), i, (long long)x.n, (long long)y.n);
        else r.d[i] = known(x) || x.sym ? x : y;
    }
    return r;
}

SV sh_matmul(Sh *s, Span sp, const SV *a, const SV *b)
{
    if (a->kind != V_TENSOR || b->kind != V_TENSOR)
        return a->kind == V_ERR || b->kind == V_ERR ? mk(V_ERR)
             : a->kind == V_ANY || b->kind == V_ANY ? mk(V_ANY)
             : sh_fail(s, sp, "matmul takes two tensors, got %s and %s", sh_ty(a), sh_ty(b));
    if (a->dtype && b->dtype && strcmp(a->dtype, b->dtype) != 0)
        return sh_fail(s, sp, "matmul: both operands must have one dtype, got %s and %s", fn_dtype_words(a->dtype),
                       fn_dtype_words(b->dtype));
    if (a->rank < 0 || b->rank < 0) return mk_tensor(a->dtype, -1);
    if (a->rank == 0 || b->rank == 0) return sh_fail(s, sp, "matmul of a 0-d tensor");
    Dim ka = a->d[a->rank - 1], kb = b->rank == 1 ? b->d[0] : b->d[b->rank - 2];
    if (differ(ka, kb))
        return sh_fail(s, sp, "matmul: the inner dimensions differ: %s @ %s (%lld vs %lld)", sh_ty(a), sh_ty(b),
                       (long long)ka.n, (long long)kb.n);
    SV ba = mk_tensor(a->dtype, a->rank > 2 ? a->rank - 2 : 0), bb = mk_tensor(b->dtype, b->rank > 2 ? b->rank - 2 : 0);
    memcpy(ba.d, a->d, sizeof(Dim) * (size_t)ba.rank);
    memcpy(bb.d, b->d, sizeof(Dim) * (size_t)bb.rank);
    SV r = sh_broadcast(s, sp, &ba, &bb, "matmul (batch dimensions)");
    if (r.kind != V_TENSOR) return r;
    if (a->rank >= 2) r.d[r.rank++] = a->d[a->rank - 2];
    if (b->rank >= 2) r.d[r.rank++] = b->d[b->rank - 1];
    r.dtype = a->dtype;
    return r;
}

/* ------------------------------------------------ the evaluator's hooks */


/* float32's most negative value, torch.finfo(torch.float32).min */
#define F32_MIN_VALUE (-3.4028234663852886e+38)

int sh_constant(const char *name, SV *out)
{
    if (!strcmp(name, "inf")) return *out = conf_float(INFINITY), 1;
    if (!strcmp(name, "nan")) return *out = conf_float(NAN), 1;
    if (!strcmp(name, "finfo_min")) return *out = conf_float(F32_MIN_VALUE), 1;
    return 0;
}

int sh_ns_attr(const Expr *x, SV *out)
{
    if (x->kind != EX_ATTR) return 0;
    if (x->a->kind == EX_NAME && !strcmp(x->a->u.s, "self") && !strcmp(x->u.s, "training")) {
        *out = mk_int(0);   /* self.training: the model runs in eval mode */
        out->c.kind = VAL_BOOL;
        return 1;
    }
    int ns = prefix_ns(x->a);
    if (ns == NS_TORCH) {
        const char *d = fn_dtype_name(x->u.s);   /* torch.float32, torch.long; not rcc's short names */
        if (d && (strcmp(d, x->u.s) != 0 || !strcmp(d, "bool"))) return *out = conf_str(d), 1;
        if (!strcmp(x->u.s, "inf")) return *out = conf_float(INFINITY), 1;
        if (!strcmp(x->u.s, "pi")) return *out = conf_float(M_PI), 1;
        return 0;
    }
    if (ns == NS_MATH) {
        if (!strcmp(x->u.s, "pi")) return *out = conf_float(M_PI), 1;
        if (!strcmp(x->u.s, "e")) return *out = conf_float(M_E), 1;
        if (!strcmp(x->u.s, "inf")) return *out = conf_float(INFINITY), 1;
        if (!strcmp(x->u.s, "nan")) return *out = conf_float(NAN), 1;
    }
    return 0;
}

/* finfo values: a V_CONF string "finfo:DTYPE" (r_finfo). */
static SV finfo_attr(Sh *s, Span sp, const char *dt, const char *name)
{
    int f16 = !strcmp(dt, "f16"), bf16 = !strcmp(dt, "bf16"), f64 = !strcmp(dt, "f64");
    double max = f16 ? 65504.0 : bf16 ? 3.3895313892515355e+38 : f64 ? 1.7976931348623157e+308 : -F32_MIN_VALUE;
    double eps = f16 ? 0.0009765625 : bf16 ? 0.0078125 : f64 ? 2.220446049250313e-16 : 1.1920928955078125e-07;
    double tiny = f16 ? 6.103515625e-05 : bf16 ? 1.1754943508222875e-38 : f64 ? 2.2250738585072014e-308
                                                                           : 1.1754943508222875e-38;
    if (!strcmp(name, "min")) return conf_float(-max);
    if (!strcmp(name, "max")) return conf_float(max);
    if (!strcmp(name, "eps")) return conf_float(eps);
    if (!strcmp(name, "tiny") || !strcmp(name, "smallest_normal")) return conf_float(tiny);
    return sh_fail(s, sp, "torch.finfo has no attribute '%s' (min, max, eps, tiny)", name);
}

SV sh_attr(Sh *s, Span sp, const SV *a, const char *name)
{
    if (a->kind == V_TENSOR) {
        if (!strcmp(name, "shape")) return sh_shape_of(s, a);
        if (!strcmp(name, "dtype")) return a->dtype ? conf_str(a->dtype) : mk(V_ANY);
        if (!strcmp(name, "ndim")) return a->rank < 0 ? dim_sv(UNK) : mk_int(a->rank);
        if (!strcmp(name, "device")) return mk(V_ANY);
        if (!strcmp(name, "T") || !strcmp(name, "mT")) {
            if (a->rank < 0) return *a;
            SV r = *a;
            if (name[0] == 'm' && a->rank < 2)
                return sh_fail(s, sp, "x.mT needs at least 2 dimensions, got %s", sh_ty(a));
            int lo = name[0] == 'm' ? a->rank - 2 : 0;
            for (int i = lo; i < a->rank; i++) r.d[i] = a->d[a->rank - 1 - (i - lo)];
            return r;
        }
    }
    if (a->kind == V_MOD && !strcmp(name, "training")) {   /* self.training: the model runs in eval mode */
        SV v = mk_int(0);
        v.c.kind = VAL_BOOL;
        return v;
    }
    if (a->kind == V_CONF && a->c.kind == VAL_STR && !strncmp(a->c.s, "finfo:", 6))
        return finfo_attr(s, sp, a->c.s + 6, name);
    return sh_fail(s, sp, "%s has no attribute '%s'", sh_ty(a), name);
}

SV r_finfo(Call *c)
{
    int bad = 0;
    const char *d = fn_none(c, "type") ? "f32" : fn_dtype(c, "type", &bad);
    if (bad) return mk(V_ERR);
    if (!d) return mk(V_ANY);
    if (!fn_is_float(d)) return fn_fail(c, "type", "finfo takes a floating dtype, got %s", d);
    char buf[16];
    snprintf(buf, sizeof buf, "finfo:%s", d);
    return conf_str(arena_strndup(c->s->e->a, buf, strlen(buf)));
}

/* ------------------------------------------------------ for the layers */

int sh_get_t(Sh *s, const Args *a, size_t i, const char *name, const char *fn, SV *out)
{
    Span sp = a->span;
    const SV *v = sh_arg(a, i, name, &sp);
    *out = !v ? sh_fail(s, a->span, "%s: missing argument %zu (a tensor)", fn, i + 1)
         : v->kind == V_TENSOR || v->kind == V_ERR || v->kind == V_ANY ? *v
         : sh_fail(s, sp, "%s expects a tensor, got %s", fn, sh_ty(v));
    return out->kind == V_TENSOR;
}
