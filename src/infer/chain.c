/* chain.c — the fallback's guessed forward: the recognised layers called
 * one after the other, in key order, for as long as each one's input
 * follows from the previous one's output.
 *
 * The first layer says what the model's input is when its weights fix it:
 * Linear f32[N, in], ConvNd f32[N, cin, ...], Embedding i64[N, T], an RNN
 * f32[T, N, in] (sequence first, torch's default), MultiheadAttention
 * f32[L, N, E], a norm f32[N, C...].  Each following layer must take the
 * shape the chain has reached: its width, channels or rank agree, or the
 * chain stops there (a comment says where and why).  One step is inserted
 * where it is the usual one: a global average pooling and a flatten between
 * a convolution of C channels and a Linear(C, ...).  Everything else a
 * model does between its layers (activations, residuals, pooling) is not in
 * the weights; the forward says so.  The spec is type-checked before it is
 * written (fallback.c), and the forward left out if it does not check.
 */
#include <inttypes.h>
#include <string.h>

#include "fallback.h"

enum {
    UNKNOWN = -1,      /* a size the chain does not follow */
    MAX_CALLS = 1000   /* statements of a forward: a longer guess is not worth type-checking */
};

/* Sizes: >= 0 a number, UNKNOWN, or -2 - k for the symbol SYMS[k]. */
static const char *const SYMS[] = {"N", "T", "L", "D", "H", "W"};
#define SYM(k) (-2 - (k))
enum { S_N, S_T, S_L, S_D, S_H, S_W };

typedef struct Shape {
    int     rank;
    int64_t d[10];
} Shape;

static void shape_set(Shape *s, int rank, const int64_t *d)
{
    s->rank = rank;
    memcpy(s->d, d, (size_t)rank * sizeof *d);
}

/* "f32[N, 3, H, W]" */
static void write_type(FILE *out, const char *dtype, const Shape *s)
{
    fprintf(out, "%s[", dtype);
    for (int i = 0; i < s->rank; i++) {
        if (i)
            fputs(", ", out);
        if (s->d[i] >= 0)
            fprintf(out, "%" PRId64, s->d[i]);
        else
            fputs(SYMS[-2 - s->d[i]], out);
    }
    fputs("]", out);
}

/* The input the first layer takes, or 0 when its weights do not fix one. */
static int start(const FbLayer *l, Shape *s, const char **dtype)
{
    static const int64_t spatial[3][3] = {{SYM(S_L)}, {SYM(S_H), SYM(S_W)}, {SYM(S_D), SYM(S_H), SYM(S_W)}};
    *dtype = "f32";
    switch (l->kind) {
    case FB_LINEAR: shape_set(s, 2, (int64_t[]){SYM(S_N), l->in}); return 1;
    case FB_EMB: *dtype = "i64"; shape_set(s, 2, (int64_t[]){SYM(S_N), SYM(S_T)}); return 1;
    case FB_RNN: shape_set(s, 3, (int64_t[]){SYM(S_T), SYM(S_N), l->in}); return 1;
    case FB_MHA:
        if (l->self_only)
            return 0;
        shape_set(s, 3, (int64_t[]){SYM(S_L), SYM(S_N), l->in});
        return 1;
    case FB_CONV: case FB_CONVT: case FB_BN:
        if (l->dim < 1 || l->dim > 3 || (l->kind == FB_CONVT && l->dim > 2))
            return 0;
        if (l->kind == FB_BN && l->dim == 1) {
            shape_set(s, 2, (int64_t[]){SYM(S_N), l->in});
            return 1;
        }
        shape_set(s, 2, (int64_t[]){SYM(S_N), l->in});
        memcpy(s->d + 2, spatial[l->dim - 1], (size_t)l->dim * sizeof *s->d);
        s->rank = 2 + l->dim;
        return 1;
    case FB_LN: case FB_RMS:
        if (l->nshape < 1 || l->nshape > 8)
            return 0;
        s->rank = 1 + l->nshape;
        s->d[0] = SYM(S_N);
        memcpy(s->d + 1, l->shape, (size_t)l->nshape * sizeof *s->d);
        return 1;
    default: return 0;
    }
}

/* How a step calls its layer. */
enum { REFUSED, PLAIN, POOLED, FIRST_OF, ATTENTION };

/* One step of the chain: how the layer is called on x (REFUSED, with why
 * in *why, when x does not fit it), and the shape after.  The first layer
 * takes the input start() gave it. */
static int step(const FbLayer *l, int first, Shape *s, int64_t *pool, const char **why)
{
    int r = s->rank;
    int64_t last = r ? s->d[r - 1] : UNKNOWN;
    switch (l->kind) {
    case FB_LINEAR:
        if (r >= 2 && last == l->in) {
            s->d[r - 1] = l->out;
            return PLAIN;
        }
        if ((r == 3 || r == 4) && s->d[1] > 0 && l->in % s->d[1] == 0) {
            /* after a convolution of C channels: pooled to in / C = k or
             * k * k sizes (VGG's 7 x 7, a global 1) and flattened */
            int64_t q = l->in / s->d[1], k = 1;
            if (r == 4)
                while ((k + 1) * (k + 1) <= q)
                    k++;
            if (r == 3 || k * k == q) {
                *pool = r == 3 ? q : k;
                s->rank = 2;
                s->d[1] = l->out;
                return POOLED;
            }
        }
        *why = "its in_features are not the width reached";
        return REFUSED;
    case FB_CONV: case FB_CONVT:
        if (r != l->dim + 2 || s->d[1] != l->in) {
            *why = "its in_channels are not the channels reached";
            return REFUSED;
        }
        s->d[1] = l->out;
        for (int i = 2; i < r; i++)
            s->d[i] = UNKNOWN;
        return PLAIN;
    case FB_BN:
        if (!(l->dim == 1 ? r == 2 || r == 3 : r == l->dim + 2) || s->d[1] != l->in) {
            *why = "its num_features are not the channels reached";
            return REFUSED;
        }
        return PLAIN;
    case FB_LN: case FB_RMS:
        if (r <= l->nshape || memcmp(s->d + r - l->nshape, l->shape, (size_t)l->nshape * sizeof *s->d)) {
            *why = "its normalized_shape is not the trailing sizes reached";
            return REFUSED;
        }
        return PLAIN;
    case FB_PRELU:
        if (r < 2 || (l->in != 1 && s->d[1] != l->in)) {
            *why = "its num_parameters are not the channels reached";
            return REFUSED;
        }
        return PLAIN;
    case FB_RNN:
        if (r != 3 || last != l->in) {
            *why = "its input_size is not the width reached";
            return REFUSED;
        }
        s->d[2] = l->out;
        return FIRST_OF;
    case FB_MHA:
        if (l->self_only || r != 3 || last != l->in) {
            *why = "its embed_dim is not the width reached";
            return REFUSED;
        }
        return ATTENTION;
    case FB_EMB:
        if (!first) {
            *why = "an embedding takes indices, and the chain has floats";
            return REFUSED;
        }
        s->d[s->rank++] = l->out;
        return PLAIN;
    default:
        *why = "its input is not known";
        return REFUSED;
    }
}

/* The statements of one step; rank is x's before it. */
static void emit(FILE *out, int how, const char *at, int rank, int64_t pool)
{
    if (how == POOLED && pool == 1)
        fprintf(out, "    x = torch.flatten(F.adaptive_avg_pool%dd(x, 1), 1)   # guessed: global average pooling\n",
                rank - 2);
    else if (how == POOLED && rank == 4)
        fprintf(out, "    x = torch.flatten(F.adaptive_avg_pool2d(x, (%" PRId64 ", %" PRId64 ")), 1)   # guessed: pooling\n",
                pool, pool);
    else if (how == POOLED)
        fprintf(out, "    x = torch.flatten(F.adaptive_avg_pool1d(x, %" PRId64 "), 1)   # guessed: pooling\n", pool);
    fprintf(out, how == FIRST_OF ? "    x = %s(x)[0]\n" : how == ATTENTION ? "    x = %s(x, x, x)[0]\n" : "    x = %s(x)\n",
            at);
}

/* Steps k.. that are every item of one list, in order, each a plain call:
 * how many (0 when they are not), so that a loop can call them. */
static size_t whole_list(const FbTree *tr, const size_t *order, size_t n, size_t k, const Shape *s)
{
    const FbNode *nd = &tr->nodes[order[k]];
    if (nd->parent == (size_t)-1 || !tr->nodes[nd->parent].list || nd->index != 0)
        return 0;
    const FbNode *list = &tr->nodes[nd->parent];
    size_t m = list->nkids;
    if (m < 3 || m > n - k)
        return 0;
    Shape t = *s;
    const char *why;
    int64_t pool;
    for (size_t j = 0; j < m; j++) {   /* items 0, 1, ... in order, and the last one is the last index */
        const FbNode *it = &tr->nodes[order[k + j]];
        if (it->parent != nd->parent || (j && it->index <= tr->nodes[order[k + j - 1]].index) ||
            step(&it->layer, 0, &t, &pool, &why) != PLAIN)
            return 0;
    }
    return m;
}

size_t fb_chain(const FbTree *tr, const size_t *order, size_t n, FILE *out)
{
    Shape s;
    const char *dtype;
    if (n == 0) {
        fputs("  # no forward: no module was recognised as a built-in layer\n", out);
        return 0;
    }
    const FbNode *first = &tr->nodes[order[0]];
    if (!start(&first->layer, &s, &dtype)) {
        fprintf(out, "  # no forward: the first layer recognised, %s, does not say what its input is\n",
                first->layer.call);
        return 0;
    }
    fputs("  input x: ", out);
    write_type(out, dtype, &s);
    fputs("\n  # guessed: the recognised layers called in key order while each one's input\n"
          "  # follows from the previous one's output; activations, residuals and anything\n"
          "  # else between them are not in the weights\n"
          "  forward(x) {\n", out);
    size_t k = 0, calls = 0;
    const char *why = NULL;
    while (k < n && calls++ < MAX_CALLS) {
        const FbNode *nd = &tr->nodes[order[k]];
        size_t m = whole_list(tr, order, n, k, &s);
        if (m) {   /* a list called through: one loop (its gaps are Identity) */
            const char *why2;
            int64_t pool2;
            for (size_t j = 0; j < m; j++)
                step(&tr->nodes[order[k + j]].layer, 0, &s, &pool2, &why2);
            fprintf(out, "    for layer in %s {\n      x = layer(x)\n    }\n", tr->nodes[nd->parent].access);
            k += m;
            continue;
        }
        int64_t pool = 1;
        int rank = s.rank, how = step(&nd->layer, k == 0, &s, &pool, &why);
        if (how == REFUSED)
            break;
        emit(out, how, nd->access, rank, pool);
        k++;
    }
    if (k < n && calls > MAX_CALLS)
        fprintf(out, "    # the chain stops before %s: %d calls are enough of a guess\n", tr->nodes[order[k]].access,
                MAX_CALLS);
    else if (k < n)
        fprintf(out, "    # the chain stops before %s: %s\n", tr->nodes[order[k]].access, why);
    fputs("    return x\n  }\n", out);
    return k;
}
