/* fallback.h — the fallback of rcc infer, shared by its three files:
 *
 *   fallback.c   the module tree of the file's keys, the spec written from
 *                it, and the spec checked against the file before it is
 *                given out (infer_fallback)
 *   recognise.c  a module whose tensors are exactly a built-in layer's, as
 *                the catalog expands that layer (fb_recognise), or whose
 *                pickled class and attributes are one (fb_recognise_pickled)
 *   chain.c      the guessed forward: the recognised layers chained in key
 *                (or pickled registration) order while each one's input
 *                follows from the previous one's output (fb_chain)
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

/* What a module was recognised as.  The kinds after FB_PRELU come from a
 * pickled module only (their class says them; most have no tensors). */
typedef enum FbKind {
    FB_NONE, FB_LINEAR, FB_BILINEAR, FB_CONV, FB_CONVT, FB_BN, FB_LN, FB_RMS, FB_EMB, FB_RNN, FB_MHA, FB_PRELU,
    FB_CHAN,     /* GroupNorm, InstanceNorm: channels at dimension 1, the shape kept */
    FB_SAME,     /* activations, dropouts, Identity, Softmax(dim): the shape kept */
    FB_POOL,     /* MaxPool, AvgPool */
    FB_APOOL,    /* adaptive pooling to osz */
    FB_FLATTEN,  /* Flatten(start, end) */
    FB_PAD,      /* ZeroPad2d, ConstantPad2d, ReflectionPad2d: pads (left, right, top, bottom) */
    FB_OTHER     /* declared, but the chain does not follow its output (Upsample, Unflatten, ...) */
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
    int         batch_first;/* RNN, MHA: the input is [N, T, ...] */
    int         pickled;    /* the call is the pickled module's class and attributes */
    /* Conv, ConvTranspose (dim sizes; 0 is torch's default: stride 1, padding 0,
       dilation 1), pools (stride 0: the kernel), adaptive pools (osz), pads */
    int64_t     k[3], st[3], pad[4], dil[3], opad[3], osz[3];
    int         ceil;       /* pools: ceil_mode */
    int64_t     start, end; /* Flatten: start_dim, end_dim */
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
    const rcc_module *mod;  /* the pickled module at this path (whole-model files), or NULL */
    size_t      rank;       /* mod's place in the pickled pre-order (SIZE_MAX without one) */
    const char *expr;       /* arena: what makes it, "Linear(4, 2)", "Encoder()", "[...]" */
    const char *access;     /* arena: how a forward reaches it, "self.blocks[0].fc" */
} FbNode;

typedef struct FbTree {
    Arena      *a;
    FbNode     *nodes;      /* nodes[0] is the model */
    size_t      n, cap;
    int         pickled;    /* the file has a module tree: children are in its registration order */
} FbTree;

/* Recognises node i as a built-in layer (its own tensors, and for
 * MultiheadAttention its out_proj child): sets tr->nodes[i].layer and
 * returns 1, or returns 0 (the module is declared raw).  Every recognition
 * is the catalog's own expansion of the call, compared with the file's
 * names, shapes and dtypes.  BatchNorm's dimensionality is left 0. */
int fb_recognise(FbTree *tr, size_t i);

/* Recognises node i from its pickled module (tr->nodes[i].mod) when that
 * module's class is a built-in layer of the catalog (torch.nn's own, not a
 * class of the same name): the call is the class with the constructor
 * arguments its pickled attributes hold (bias and add_bias_kv from the
 * tensors), expanded by the catalog and compared with the node's tensors
 * as fb_recognise does.  1: tr->nodes[i].layer is set (call included);
 * 0: the pickle says no built-in layer, or one that does not expand to
 * the file's tensors. */
int fb_recognise_pickled(FbTree *tr, size_t i);

/* The same for the pickled module m with the tensors r[0..n) (none for a
 * layer without tensors), into l: 1, or 0. */
int fb_pickled_layer(Arena *a, const rcc_module *m, const FbTensor *r, size_t n, FbLayer *l);

/* The pickled class of m in a form fit for a comment (at most 120
 * printable characters); whether it is torch.nn's; whether it is one of
 * torch.nn's containers. */
const char *fb_class_text(Arena *a, const rcc_module *m);
const char *fb_torch_class(const rcc_module *m);   /* torch.nn's class name ("Conv2d"), or NULL */
int fb_class_is_torch(const rcc_module *m);
int fb_class_is_container(const rcc_module *m);   /* Sequential, ModuleList, ModuleDict, ... */

/* The constructor call of a recognised layer once its kind is final
 * (BatchNorm's dim set): into l->call.  -1 when out of memory. */
int fb_layer_call(Arena *a, FbLayer *l);

/* A name the language reads as itself: an identifier that is not a
 * keyword (true, if, in, ...). */
int fb_is_name(const char *s);

/* The guessed forward of the layers nodes[order[0..n)] (recognised, in key
 * order, or the pickled registration order when tr->pickled): the model's input declaration and forward, indented for the model
 * body, into out; or a comment saying why there is none.  Returns how many
 * layers the chain calls (0: no forward written). */
size_t fb_chain(const FbTree *tr, const size_t *order, size_t n, FILE *out);

#endif /* RCC_FALLBACK_H */
