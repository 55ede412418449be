/* fallback.h — the fallback of rcc infer, shared by its three files:
 *
 *   fallback.c   the module tree of the file's keys, the spec written from
 *                it, and the spec checked against the file before it is
 *                given out (infer_fallback)
 *   recognise.c  a module whose tensors are exactly a built-in layer's, as
 *                the catalog expands that layer (fb_recognise)
 *   chain.c      the guessed forward: the recognised layers chained in key
 *                order while each one's input follows from the previous
 *                one's output (fb_chain)
 *
 * Everything is allocated in one Arena, freed at once.
 */
#ifndef RCC_FALLBACK_H
#define RCC_FALLBACK_H

#include <stdint.h>
#include <stdio.h>

#include "arch.h"

/* A tensor of a module: its name under the module and the file's record. */
typedef struct FbTensor {
    const char       *leaf;
    const rcc_tensor *t;
} FbTensor;

/* What a module was recognised as. */
typedef enum FbKind {
    FB_NONE, FB_LINEAR, FB_BILINEAR, FB_CONV, FB_CONVT, FB_BN, FB_LN, FB_RMS, FB_EMB, FB_RNN, FB_MHA, FB_PRELU
} FbKind;

typedef struct FbLayer {
    FbKind      kind;
    const char *name;       /* "Linear"; BatchNorm: NULL until its dim is set */
    const char *args;       /* arena: "16, 32, bias = false" */
    const char *call;       /* arena: "Linear(16, 32, bias = false)", by fb_layer_call */
    const char *note;       /* arena: what was guessed ("num_heads"), or NULL */
    int         dim;        /* Conv, ConvTranspose, BatchNorm: 1, 2 or 3 (BatchNorm: 0 until its
                               neighbours decide) */
    int64_t     in, out;    /* Linear, Conv: features or channels; Embedding: rows, width;
                               RNN: input and output widths; MHA: embed_dim twice */
    int         nshape;     /* LayerNorm, RMSNorm: normalized_shape */
    int64_t     shape[8];
    int         self_only;  /* MHA: kdim or vdim differ, so x cannot be its own key */
} FbLayer;

/* One module of the key tree. */
typedef struct FbNode {
    const char *seg;        /* its name under its parent ("" for the model); may hold dots
                               where the key had an empty segment ("a..b") */
    size_t      parent;     /* (size_t)-1 for the model */
    size_t     *kids;       /* in order of first appearance */
    size_t      nkids, kcap;
    FbTensor   *tens;       /* its own tensors, in file order */
    size_t      ntens, tcap;
    int64_t     index;      /* seg as a list index ("0", "12"), else -1 */
    int         list;       /* written as a list of its children */
    int         in_layer;   /* a part of a recognised layer (MultiheadAttention's out_proj) */
    int         shadowed;   /* its parent has a tensor of its name: the child is quoted */
    FbLayer     layer;      /* kind FB_NONE: not a built-in layer */
    const char *expr;       /* arena: what makes it, "Linear(4, 2)", "Encoder()", "[...]" */
    const char *access;     /* arena: how a forward reaches it, "self.blocks[0].fc" */
} FbNode;

typedef struct FbTree {
    Arena      *a;
    FbNode     *nodes;      /* nodes[0] is the model */
    size_t      n, cap;
} FbTree;

/* Recognises node i as a built-in layer (its own tensors, and for
 * MultiheadAttention its out_proj child): sets tr->nodes[i].layer and
 * returns 1, or returns 0 (the module is declared raw).  Every recognition
 * is the catalog's own expansion of the call, compared with the file's
 * names, shapes and dtypes.  BatchNorm's dimensionality is left 0. */
int fb_recognise(FbTree *tr, size_t i);

/* The constructor call of a recognised layer once its kind is final
 * (BatchNorm's dim set): into l->call.  -1 when out of memory. */
int fb_layer_call(Arena *a, FbLayer *l);

/* A name the language reads as itself: an identifier that is not a
 * keyword (true, if, in, ...). */
int fb_is_name(const char *s);

/* The guessed forward of the layers nodes[order[0..n)] (recognised, in key
 * order): the model's input declaration and forward, indented for the model
 * body, into out; or a comment saying why there is none.  Returns how many
 * layers the chain calls (0: no forward written). */
size_t fb_chain(const FbTree *tr, const size_t *order, size_t n, FILE *out);

#endif /* RCC_FALLBACK_H */
