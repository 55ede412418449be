/* gen.h — the code generator: a checked spec's traced forward -> C.
 *
 * gen.c runs the forward's trace (src/lang/trace.h) twice, at two batch
 * sizes, and reads every size as an affine function of the batch n
 * (a*n + b): the generated code computes them from the batch it is given.
 * It then plans storage — each tensor is an input, a weight (one block
 * loaded at run time, or embedded), a view of another tensor (reshape,
 * dropout, a BatchNorm folded into the convolution before it), or a slot
 * of the activation arena, placed by liveness — and asks one emitter per
 * operation for the C statements of the forward, asking in turn:
 * emit_math.c (operations on any dtype other than f32: typed loops),
 * emit_layer.c (built-in layers), emit_fn.c (operators, views, layout,
 * reductions), emit_tensor.c (creation, masks, selection, elementwise
 * math, functional norms and attention), emit_nn.c (functional forms of
 * convolution, pooling, normalisation, resizing, attention).
 *
 * The emitters see the operation's node and the context below: they name
 * tensors by C expressions (g_ptr), their sizes (g_dim), ask for scratch
 * space and weights, and print into the forward's body (g_line).
 */
#ifndef RCC_GEN_H
#define RCC_GEN_H

#include <stdio.h>

#include "trace.h"

/* ---------------------------------------------------------------- options */

typedef struct GenOptions {
    const char *spec;        /* the .arch file */
    const char *model;       /* --model: which model of the file (NULL: the last) */
    const char *out_c;       /* -o model.c; model.h beside it */
    const char *prefix;      /* --prefix: the API's prefix (NULL: the model's name, lowercased) */
    const char *embed;       /* --embed W: the weights as constant arrays */
    const char *depfile;     /* -MD -MF: make dependencies */
    int         main;        /* --main: a main() reading and writing .npy */
    SizeBind   *sizes;       /* --size T=8 */
    size_t      nsizes;
} GenOptions;

/* Writes out_c and its header.  0, or 2 with diagnostics printed
 * (a spec that does not compile, an operation rcc cannot generate yet). */
int gen_files(const GenOptions *o);

/* ------------------------------------------------------- for the emitters */

typedef struct Aff { int64_t a, b; } Aff;   /* a*n + b, n the batch */

/* The dtypes of the forward's tensors (torch's, as the checker names them)
 * and how the generated code stores them:
 *   GT_F32 float, GT_F64 double, GT_I64 int64_t, GT_I32 int32_t,
 *   GT_I16 int16_t, GT_I8 int8_t, GT_U8 uint8_t, GT_BOOL uint8_t 0/1:
 *     each in its own C type (the forward's arguments, the arena, .npy
 *     files alike); integer results are computed in int64_t and converted
 *     to the output's type, which wraps them to its range as torch does;
 *   GT_F16, GT_BF16: float arrays whose values are exactly halves /
 *     bfloat16s: each operation computes in float, as torch's CPU kernels
 *     do, and rounds its result to the dtype (rk_dtype.c, nearest even);
 *     a --main writes f16 outputs as '<f2' and bf16 ones as '<f4' (numpy
 *     has no bfloat16; tests/gen_fn.py saves torch's the same way).
 * Operations without a code generator for a dtype refuse it ("... is not
 * supported yet"); weights must be f32, f16, bf16 (read as float), i64 or
 * bool, inputs anything but f16 and bf16. */
typedef enum { GT_F32, GT_I64, GT_BOOL, GT_F64, GT_F16, GT_BF16, GT_I32, GT_I16, GT_I8, GT_U8 } GDtype;

/* A dtype's storage type ("float", "int64_t" ...), element size, name
 * ("f32", "i64" ...), and kind. */
const char *g_ctype(GDtype dt);
int         g_esize(GDtype dt);
const char *g_dtname(GDtype dt);
int         g_isfloat(GDtype dt);   /* f32, f64, f16, bf16 */

typedef enum { GS_UNSET, GS_INPUT, GS_WEIGHT, GS_ARENA, GS_ALIAS, GS_CONST } GStore;

/* A tensor of the forward (id >= 1). */
typedef struct GTensor {
    GDtype  dt;
    int     rank;
    Aff     d[MAXR];
    int     def;          /* the node defining it */
    GStore  store;
    int     alias;        /* GS_ALIAS: the tensor whose storage it is */
    int     last;         /* the last node reading its storage */
    int64_t off;          /* GS_ARENA: bytes per unit of batch; GS_WEIGHT: elements into the block */
    int     input;        /* GS_INPUT: the input's position */
    int     fused;        /* its producer was fused into (an activation, a folded BatchNorm) */
} GTensor;

typedef struct G {
    Elab        *e;
    const GenOptions *o;
    Trace        ta, tb;       /* at batch 2 and 3 */
    GTensor     *t;            /* [ntensors + 1] */
    int          nt;
    size_t       cur;          /* the node being emitted */
    FILE        *body;         /* the forward's statements */
    FILE        *load;         /* statements of the loader after the weights are read */
    int          nscratch;     /* scratch sizes asked for (see g_scratch) */
    FILE        *scratch;      /* the loader's scratch-size statements */
    int64_t      wnext;        /* the weight block's size so far, in floats */
    int64_t      inext;        /* the int64 weight block's size */
    const char **wname;        /* weight slots' keys, for the loader */
    int         *wslot_of;     /* e->tensors index -> 1 + slot, 0 none */
    int64_t     *woff;         /* e->tensors index -> element offset in its block */
    int          nerr;
    const char  *kern[64];     /* kernel files used */
    size_t       nkern;
    int          tmp;          /* counter for local names */
    int         *act_of;       /* per node: an activation fused into it (rk_act value + 1), 0 none */
    int         *bn_of;        /* per node: the BatchNorm node folded into it + 1, 0 none */
    int         *uses;         /* per tensor: how many operands name it (the result counts as one) */
} G;

/* The node being emitted in the batch-2 trace (its twin in the batch-3
 * trace: g_twin). */
const TNode *g_node(const G *g);
const TNode *g_twin(const G *g);

/* An error at the current node (or a span): "cannot generate ...". */
int  g_fail(G *g, const char *fmt, ...) RCC_PRINTF(2, 3);

/* Prints one statement line into the forward (indented, newline added). */
void g_line(G *g, const char *fmt, ...) RCC_PRINTF(2, 3);

/* A kernel file the forward needs ("rk_conv.c"). */
void g_kernel(G *g, const char *file);

/* C expressions, in one of 64 rotating buffers: a tensor's data pointer
 * (typed: float *, int64_t *, uint8_t *), a dimension, the element count. */
const char *g_ptr(G *g, int id);
const char *g_dim(G *g, int id, int k);
const char *g_numel(G *g, int id);
const char *g_aff(G *g, Aff v);
/* A float constant for C ("0.5f", "1.0f", "INFINITY"). */
const char *g_float(double v);
/* An argument holding integers (a tuple, a configuration tuple, one int,
 * or *dims given one list): the count, -1 when it is none of those or
 * longer than cap. */
int g_ints(const TArg *a, int64_t *out, int cap);
/* A local int64_t array holding id's sizes; its name. */
const char *g_shape(G *g, int id);
/* The tensor numbers of a node's operand; 0 when it is not a tensor. */
int  g_id(const SV *v);
GTensor *g_t(G *g, int id);

/* Scratch space: records that the node needs expr floats (a C expression
 * of n, the batch) and returns the pointer expression. */
const char *g_scratch(G *g, const char *expr_fmt, ...) RCC_PRINTF(2, 3);

/* Integer indices as int64_t: id's own data, or (i32, i16, i8, u8 ids)
 * a copy widened into the scratch space by a loop printed now. */
const char *g_ids64(G *g, int id);

/* A weight tensor (parameter/buffer) of layer instance inst by its name
 * under it ("weight", "bias"): the C expression of its data, or "NULL"
 * when the layer has none (bias=False). */
const char *g_weight(G *g, size_t inst, const char *name);
/* The e->tensors index of inst's tensor name, -1 when none. */
long g_weight_index(G *g, size_t inst, const char *name);

/* Small readers of a node: is its operation op; its first argument's
 * tensor (0 none); argument name's tensor; a tensor's element size; a
 * string argument (NULL when not one); a number (1 with it in *out, 0 when
 * not a number). */
int         g_is(const TNode *n, const char *op);
int         g_none(const TArg *a);   /* absent, or None */
int         g_in0(const TNode *n);
int         g_arg_id(const TNode *n, const char *name);
int         g_es(G *g, int id);
const char *g_str_arg(const TArg *a);
int         g_num(const SV *v, double *out);
int         g_num_arg(const TArg *a, double *out);
/* A number argument that must not depend on the batch, as g_int. */
int         g_number(G *g, const char *name, double *out);
/* A dimension argument wrapped for rank: 1 in *out; absent: def (0 when
 * def is G_NODEF); -1 reported (not an integer, out of range). */
enum { G_NODEF = -1000000 };
int g_dim_arg(G *g, const char *name, int rank, int def, int *out);

/* A node's bound argument by name (TArg), NULL when absent. */
const TArg *g_arg(const TNode *n, const char *name);
/* An integer argument (or one of a tuple) that must not depend on the
 * batch: 1 in *out; 0 None/absent; -1 reported. */
int  g_int(G *g, const char *name, int64_t *out);
/* Constructor argument of the layer instance (Instance.args). */
const Val *g_larg(const Instance *in, const char *name);
int64_t    g_lint(const Instance *in, const char *name, int j, int64_t def);
double     g_lnum(const Instance *in, const char *name, double def);

/* The emitters: 1 handled, 0 not this file's operation, -1 failed. */
int emit_layer(G *g, const TNode *n);
/* A 3-d convolution of tensor x into y (emit_layer.c; the layer's and
 * F.conv3d's): weights and bias as C expressions, k/st/pd/dl (d, h, w). */
int g_conv3d(G *g, int x, int y, const char *w, const char *b, int64_t O, const int64_t *k, const int64_t *st,
             const int64_t *pd, const int64_t *dl, int64_t groups);
int emit_fn(G *g, const TNode *n);
int emit_tensor(G *g, const TNode *n);
/* emit_math.c: the dtype-aware operations (elementwise math and operators
 * of any dtype, where, conversions, fills, reductions, repeats, einsum,
 * outer); called before emit_fn, it takes the nodes it can do exactly and
 * leaves the others (0). */
int emit_math(G *g, const TNode *n);
int emit_nn(G *g, const TNode *n);       /* emit_nn.c: functional forms of layers */
/* emit_nn.c's interpolate, shared with the Upsample layer: x (N, C, ...)
 * resized into y (sizes from the checker) by mode ("nearest", "bilinear"
 * ...), align_corners ac, the scale factors sc[3] of the spatial dims
 * given (0: from the sizes).  1, or -1 reported. */
int g_interpolate(G *g, int x, int y, const char *mode, int ac, const double *sc);
/* Whether the node merely reinterprets its input (reshape, dropout ...):
 * the output becomes an alias of the returned tensor id; 0 otherwise. */
int emit_alias_of(G *g, const TNode *n);
int emit_fn_alias(G *g, const TNode *n);   /* emit_fn.c's part of it */
/* The activation a node applies by itself (RK_ACT_* + 1), 0 when it is not
 * a pure activation; layers and functions alike. */
int emit_act_of(G *g, const TNode *n);
/* The rk_act constant ("RK_ACT_RELU") of emit_act_of's value; "RK_ACT_NONE" for 0. */
const char *emit_act_c(int v);

#endif /* RCC_GEN_H */
