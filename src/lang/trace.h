/* trace.h — a model's forward as a straight-line program: the IR that
 * `rcc gen` compiles.
 *
 * The forward's type checker (shapes.c) can run with every input size
 * given a value.  Run that way with a Trace attached, it records each
 * operation on tensors it evaluates — a built-in layer called, a function,
 * an operator, an index, a parameter read — as one node, in execution
 * order: loops are unrolled and block forwards inlined by the evaluation
 * itself, and every configuration value is already computed.  Each tensor
 * the forward makes has a number (SV.id, 1...), set on the node that
 * defines it; a node's operands carry the numbers of the tensors they are.
 *
 * The shapes in a trace are those of one set of sizes.  The code generator
 * runs two traces that differ only in the batch and reads each size as an
 * affine function of it (src/gen/).
 */
#ifndef RCC_TRACE_H
#define RCC_TRACE_H

#include "shapes.h"

typedef enum {
    TN_INPUT,    /* a forward input; iarg: its position */
    TN_WEIGHT,   /* a parameter or buffer read by name: tensor (e->tensors index) */
    TN_LAYER,    /* a built-in layer called: inst, args */
    TN_FN,       /* a function (relu, x.view, torch.cat): op, ns, bound parameters */
    TN_BINOP,    /* a + b, a @ b, a < b: op, opc, a, b */
    TN_UNOP,     /* -a: opc, a */
    TN_INDEX,    /* a[items]: a, idx */
    TN_ATTR      /* a.T, a.mT: op, a */
} TnKind;

/* One item of an index, after evaluation: the input dimension it reads. */
typedef enum { TI_SLICE, TI_INT, TI_NEW, TI_TENSOR, TI_LIST } TiKind;
typedef struct TIdx {
    TiKind   kind;
    int64_t  lo, hi, st;   /* SLICE: normalised bounds, hi exclusive, st > 0; INT: lo the index (wrapped) */
    SV       t;            /* TENSOR: the index tensor */
    size_t   n;            /* LIST: positions (wrapped) */
    int64_t *list;
} TIdx;

/* A function's parameter as bound by its signature. */
typedef struct TArg {
    const char *name;
    SV          v;         /* a default None is V_CONF VAL_NONE */
    int         given;
} TArg;

typedef struct TNode {
    TnKind      kind;
    const char *op;        /* FN: the function; BINOP/UNOP: the operator's text; ATTR: the attribute */
    int         opc;       /* BINOP/UNOP: the operator's token ('+', TK_EQ, ...) */
    int         ns;        /* FN: the namespace it was called in (NS_*) */
    Span        span;
    size_t      inst;      /* LAYER: the instance called */
    size_t      tensor;    /* WEIGHT */
    int         iarg;      /* INPUT */
    TArg       *args;      /* FN: bound parameters; LAYER: positional inputs then keywords */
    size_t      nargs;
    SV          a, b;      /* operands */
    TIdx       *idx;       /* INDEX */
    size_t      nidx;
    SV          out;       /* the result, its tensors numbered */
} TNode;

typedef struct Trace {
    TNode  *nodes;         /* arena-owned, grown by doubling */
    size_t  n, cap;
    int     ntensors;      /* ids are 1..ntensors */
    int    *weight_id;     /* e->tensors index -> id (0: not read yet) */
    SV      ret;           /* what the forward returned */
    size_t  ninputs;
} Trace;

/* One binding of a symbolic input size. */
typedef struct SizeBind { const char *name; int64_t value; } SizeBind;

/* Runs the model's forward with its inputs' symbolic sizes bound
 * (binds[0..nb)), recording it into *tr.  0, or -1 with diagnostics (a
 * size left unbound, an error in the forward, a value the evaluation could
 * not decide). */
int shapes_trace(Elab *e, const SizeBind *binds, size_t nb, Trace *tr);

#endif /* RCC_TRACE_H */
