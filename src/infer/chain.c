/* chain.c — the fallback's guessed forward: the recognised layers called
 * one after the other, in key order (in a whole pickled model, the order
 * its modules were registered in, which puts its ReLU, pooling and Flatten
 * modules where torch has them), for as long as each one's input follows
 * from the previous one's output.
 *
 * The first layer says what the model's input is when its weights fix it:
 * Linear f32[N, in], ConvNd f32[N, cin, ...], Embedding i64[N, T], an RNN
 * f32[T, N, in] (sequence first, torch's default; [N, T, in] when its
 * pickle says batch_first), MultiheadAttention f32[L, N, E], a norm
 * f32[N, C...]; layers before it that keep any shape (an activation, a
 * dropout, a Flatten of what is flat) are called on that input too.  Each
 * following layer must take the shape the chain has reached: its width,
 * channels or rank agree, or the chain stops there (a comment says where
 * and why).  Convolutions and poolings follow spatial sizes that are
 * numbers (with the stride, padding and dilation their calls have); when a
 * Flatten of sizes that are not numbers feeds a Linear, the input's sizes
 * are guessed: the smallest, square ones that flatten to its in_features.
 * One step is inserted where it is the usual one: a global average pooling
 * and a flatten between a convolution of C channels and a Linear(C, ...).
 * Everything else a model does between its layers (residuals, functional
 * activations) is not in the file; the forward says so.  The spec is
 * type-checked before it is written (fallback.c), and the forward left out
 * if it does not check.
 */
#include <inttypes.h>
#include <math.h>
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
    case FB_RNN:
        if (l->batch_first)
            shape_set(s, 3, (int64_t[]){SYM(S_N), SYM(S_T), l->in});
        else
            shape_set(s, 3, (int64_t[]){SYM(S_T), SYM(S_N), l->in});
        return 1;
    case FB_MHA:
        if (l->self_only)
            return 0;
        if (l->batch_first)
            shape_set(s, 3, (int64_t[]){SYM(S_N), SYM(S_L), l->in});
        else
            shape_set(s, 3, (int64_t[]){SYM(S_L), SYM(S_N), l->in});
        return 1;
    case FB_CONV: case FB_CONVT: case FB_BN: case FB_CHAN:
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

/* sizes and arguments the arithmetic follows; beyond, a size is UNKNOWN */
#define BIG     ((int64_t)1 << 40)
#define BIG_ARG ((int64_t)1 << 20)

/* A spatial size through a convolution or pooling (k, stride st, padding
 * p, dilation d; ceil_mode; transposed with output_padding op).  A number
 * gives a number; a symbol stays itself when the layer keeps every size
 * (stride 1, a padding that makes up for the kernel); anything else, or a
 * size too small for the kernel, is UNKNOWN. */
static int64_t through(int64_t in, int64_t k, int64_t st, int64_t p, int64_t d, int ceil_mode, int transposed,
                       int64_t op)
{
    st = st > 0 ? st : 1;
    d = d > 0 ? d : 1;
    if (k <= 0 || k > BIG_ARG || st > BIG_ARG || p < 0 || p > BIG_ARG || d > BIG_ARG || op < 0 || op > BIG_ARG ||
        in > BIG || in == UNKNOWN)
        return UNKNOWN;
    int64_t span = d * (k - 1);
    if (in < 0)   /* a symbol */
        return st == 1 && (transposed ? 2 * p == span + op : 2 * p == span) ? in : UNKNOWN;
    int64_t out;
    if (transposed) {
        out = (in - 1) * st - 2 * p + span + op + 1;
    } else {
        int64_t num = in + 2 * p - span - 1;
        if (num < 0)
            return UNKNOWN;
        out = (ceil_mode ? (num + st - 1) / st : num / st) + 1;
        if (ceil_mode && (out - 1) * st >= in + p)
            out--;
    }
    return out > 0 ? out : UNKNOWN;
}

/* A size plus a padding (a symbol padded by 0 stays itself). */
static int64_t padded(int64_t in, int64_t a, int64_t b)
{
    if (a < 0 || b < 0 || a > BIG_ARG || b > BIG_ARG || in == UNKNOWN || in > BIG)
        return UNKNOWN;
    return in >= 0 ? in + a + b : a == 0 && b == 0 ? in : UNKNOWN;
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
        for (int i = 0; i < l->dim; i++)
            s->d[2 + i] = through(s->d[2 + i], l->k[i], l->st[i], l->pad[i], l->dil[i], 0, l->kind == FB_CONVT,
                                  l->opad[i]);
        return PLAIN;
    case FB_BN:
        if (!(l->dim == 1 ? r == 2 || r == 3 : r == l->dim + 2) || s->d[1] != l->in) {
            *why = "its num_features are not the channels reached";
            return REFUSED;
        }
        return PLAIN;
    case FB_CHAN:
        if (r < 2 || (l->dim && r != l->dim + 2) || s->d[1] != l->in) {
            *why = "its channels are not the channels reached";
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
    case FB_SAME:
        if (r < 1) {
            *why = "the chain has no tensor of a rank it takes";
            return REFUSED;
        }
        return PLAIN;
    case FB_POOL: case FB_APOOL:
        if (r != l->dim + 2) {
            *why = "its dimensionality is not the rank reached";
            return REFUSED;
        }
        for (int i = 0; i < l->dim; i++)
            s->d[2 + i] = l->kind == FB_APOOL ? l->osz[i]
                        : through(s->d[2 + i], l->k[i], l->st[i] ? l->st[i] : l->k[i], l->pad[i], l->dil[i],
                                  l->ceil, 0, 0);
        return PLAIN;
    case FB_FLATTEN: {
        int64_t a = l->start < 0 ? l->start + r : l->start, b = l->end < 0 ? l->end + r : l->end, prod = 1;
        if (a < 0 || b >= r || a > b) {
            *why = "its start_dim and end_dim are not dimensions of the rank reached";
            return REFUSED;
        }
        for (int64_t i = a; i <= b && a < b; i++)
            if (s->d[i] < 0 || prod > BIG / (s->d[i] ? s->d[i] : 1))
                prod = UNKNOWN;
            else if (prod != UNKNOWN)
                prod *= s->d[i];
        if (a < b) {
            s->d[a] = prod > BIG ? UNKNOWN : prod;
            memmove(s->d + a + 1, s->d + b + 1, (size_t)(r - 1 - b) * sizeof *s->d);
            s->rank -= (int)(b - a);
        }
        return PLAIN;
    }
    case FB_PAD:
        if (r != 4) {
            *why = "it pads the last two sizes of a 4-d tensor, and the chain has another rank";
            return REFUSED;
        }
        s->d[3] = padded(s->d[3], l->pad[0], l->pad[1]);
        s->d[2] = padded(s->d[2], l->pad[2], l->pad[3]);
        return PLAIN;
    case FB_OTHER:
        *why = "the chain does not follow what it does to a shape";
        return REFUSED;
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

/* Steps from..to of the chain on s (order[f0] the layer that took the
 * input): the step that refused, with why, or to. */
static size_t simulate(const FbTree *tr, const size_t *order, size_t f0, size_t from, size_t to, Shape *s,
                       const char **why)
{
    int64_t pool;
    size_t k;
    for (k = from; k < to; k++)
        if (step(&tr->nodes[order[k]].layer, k == f0, s, &pool, why) == REFUSED)
            break;
    return k;
}

/* Spatial size i at the Flatten order[j] for the input in with size i
 * set to x; -1 when the chain does not get there with a number. */
static int64_t size_at(const FbTree *tr, const size_t *order, size_t f0, size_t j, const Shape *in, int i, int64_t x)
{
    Shape t = *in;
    const char *why;
    t.d[2 + i] = x;
    if (simulate(tr, order, f0, 0, j, &t, &why) != j || t.rank != in->rank)
        return -1;
    return t.d[2 + i] >= 0 ? t.d[2 + i] : -1;
}

/* The chain stopped at order[k], a Linear after a Flatten of spatial
 * sizes that are not numbers (the input's H and W through convolutions
 * and poolings): the input whose spatial sizes are the smallest equal
 * ones that flatten to its in_features, into *in; 1, or 0 when there is
 * none.  Each size is searched alone (the layers treat them apart), the
 * smallest x whose size at the Flatten is the one wanted: sizes never
 * shrink as x grows. */
static int solve(const FbTree *tr, const size_t *order, size_t f0, size_t k, Shape *in)
{
    const FbLayer *fc = &tr->nodes[order[k]].layer;
    int sp = in->rank - 2;
    if (fc->kind != FB_LINEAR || fc->in <= 0 || sp < 1 || sp > 3)
        return 0;
    for (int i = 0; i < sp; i++)
        if (in->d[2 + i] >= 0 || in->d[2 + i] == UNKNOWN)
            return 0;
    size_t j = k;   /* the Flatten, with only dropouts and activations after it */
    while (j > f0 && tr->nodes[order[j - 1]].layer.kind == FB_SAME)
        j--;
    if (j == f0 || tr->nodes[order[j - 1]].layer.kind != FB_FLATTEN)
        return 0;
    j--;
    Shape b = *in;
    const char *why;
    if (simulate(tr, order, f0, 0, j, &b, &why) != j || b.rank != in->rank)
        return 0;
    const FbLayer *fl = &tr->nodes[order[j]].layer;
    int64_t a = fl->start < 0 ? fl->start + b.rank : fl->start, e = fl->end < 0 ? fl->end + b.rank : fl->end;
    if (e != b.rank - 1 || a < 1 || a > 2)
        return 0;
    int64_t known = 1, q, side = -1;
    for (int64_t i = a; i < 2; i++)   /* the channels, when flattened too */
        if (b.d[i] <= 0 || b.d[i] > BIG || (known *= b.d[i]) > BIG)
            return 0;
    if (fc->in % known || (q = fc->in / known) > BIG)
        return 0;
    /* the sp-th root of q, exact: q <= 2^40, so a root near the double's is one of three */
    int64_t est = sp == 1 ? q : (int64_t)llround(pow((double)q, 1.0 / sp));
    for (int64_t c = est > 1 ? est - 1 : 1; c <= est + 1 && side < 0; c++) {
        int64_t p = 1;
        for (int i = 0; i < sp; i++)
            p *= c;
        if (p == q)
            side = c;
    }
    if (side < 1)
        return 0;
    Shape out = *in;
    for (int i = 0; i < sp; i++) {
        int64_t lo = 1, hi = BIG_ARG * 16;
        while (lo < hi) {
            int64_t mid = lo + (hi - lo) / 2;
            if (size_at(tr, order, f0, j, &out, i, mid) >= side)
                hi = mid;
            else
                lo = mid + 1;
        }
        if (size_at(tr, order, f0, j, &out, i, lo) != side)
            return 0;
        out.d[2 + i] = lo;
    }
    *in = out;
    return 1;
}

size_t fb_chain(const FbTree *tr, const size_t *order, size_t n, FILE *out)
{
    Shape s;
    const char *dtype = "f32";
    if (n == 0) {
        fputs("  # no forward: no module was recognised as a built-in layer\n", out);
        return 0;
    }
    /* the first layer that fixes the input; those before it must keep it */
    size_t f0 = 0;
    int ok = 0;
    for (; f0 < n && !ok; f0 += !ok) {
        const FbLayer *l = &tr->nodes[order[f0]].layer;
        ok = start(l, &s, &dtype);
        if (!ok && l->kind != FB_SAME && l->kind != FB_FLATTEN)
            break;
    }
    if (ok && f0) {
        Shape t = s;
        const char *why;
        ok = !strcmp(dtype, "f32") && simulate(tr, order, f0, 0, f0, &t, &why) == f0 && t.rank == s.rank &&
             !memcmp(t.d, s.d, (size_t)s.rank * sizeof *s.d);
    }
    if (!ok) {
        fprintf(out, "  # no forward: the first layer recognised, %s, does not say what its input is\n",
                tr->nodes[order[0]].layer.call);
        return 0;
    }
    /* a Flatten that feeds a Linear: the input's spatial sizes guessed */
    const char *why = NULL;
    Shape t = s, solved = s;
    size_t reach = simulate(tr, order, f0, 0, n, &t, &why), fed = 0;
    if (reach < n && solve(tr, order, f0, reach, &solved)) {
        t = solved;
        if (simulate(tr, order, f0, 0, n, &t, &why) > reach) {
            s = solved;
            fed = reach + 1;
        }
    }
    fputs("  input x: ", out);
    write_type(out, dtype, &s);
    fputs(tr->pickled ? "\n  # guessed: the layers called in the order the pickled model registered them,\n"
                        "  # while each one's input follows from the previous one's output; residuals\n"
                        "  # and whatever else its forward does besides are not in the file\n"
                      : "\n  # guessed: the recognised layers called in key order while each one's input\n"
                        "  # follows from the previous one's output; activations, residuals and anything\n"
                        "  # else between them are not in the weights\n", out);
    if (fed)
        fprintf(out, "  # guessed: the input's sizes, the smallest equal ones that flatten to the in_features of %s\n",
                tr->nodes[order[fed - 1]].access);
    fputs("  forward(x) {\n", out);
    size_t k = 0, calls = 0;
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
        int rank = s.rank, how = step(&nd->layer, k == f0, &s, &pool, &why);
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
