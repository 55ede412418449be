/* recognise.c — a module of the key tree recognised as a built-in layer.
 *
 * A module is a layer when its tensors are exactly what the catalog's
 * expand gives for one call: the call is derived from the shapes (and, where
 * shapes cannot tell, from the module's name), then expanded by the catalog
 * itself and compared with the file, name by name, shape by shape, dtype by
 * dtype.  Anything in doubt stays raw (fallback.c declares its tensors one
 * by one), so a recognition can never make the spec disagree with the file.
 *
 *   weight [o, i] (+ bias [o])           Linear; Embedding when the name says
 *                                        emb, wte, wpe or tok (and no bias)
 *   weight [o, i, k...] (+ bias [o])     Conv1d/2d/3d, groups 1 (a depthwise
 *                                        convolution is declared with in = 1:
 *                                        the same tensors); ConvTranspose1d/2d
 *                                        only when the bias says so ([i] with
 *                                        i != o); Bilinear when the name says so
 *   running_mean, running_var, ...       BatchNorm (1d, 2d or 3d by its
 *                                        neighbours: fallback.c)
 *   weight, bias of one shape            LayerNorm (GroupNorm has the same
 *                                        tensors and is not told apart)
 *   weight [C] alone                     RMSNorm or LayerNorm(bias = false)
 *                                        when the name says norm; PReLU when
 *                                        it says prelu
 *   weight_ih_l0, weight_hh_l0, ...      LSTM, GRU or RNN by the gate multiple
 *                                        of weight_hh (4, 3, 1); num_layers,
 *                                        bidirectional, bias, proj_size
 *   in_proj_weight, out_proj.*, ...      MultiheadAttention; num_heads is not
 *                                        in the weights and is guessed
 *
 * Every layer tensor is f32 in the catalog (num_batches_tracked i64), so a
 * module stored in another dtype is declared raw, with its dtype exact.
 */
#include <ctype.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "fallback.h"

enum { MAX_LAYER_TENSORS = 4096 };   /* an RNN of 400 layers, both directions, with projections */

/* ------------------------------------------------------------ calls */

typedef struct CallArg {
    const char *name;       /* torch's parameter name */
    Val         v;
} CallArg;

typedef struct Call {
    const char *layer;
    CallArg     a[10];
    int         n;
    int         npos;       /* the first npos are written positionally */
} Call;

static void put_int(Call *c, const char *name, int64_t x)
{
    c->a[c->n].name = name;
    memset(&c->a[c->n].v, 0, sizeof c->a[c->n].v);
    c->a[c->n].v.kind = VAL_INT;
    c->a[c->n++].v.i = x;
}

static void put_bool(Call *c, const char *name, int b)
{
    put_int(c, name, b != 0);
    c->a[c->n - 1].v.kind = VAL_BOOL;
}

static void put_tuple(Call *c, const char *name, const int64_t *x, int n)
{
    CallArg *a = &c->a[c->n++];
    memset(a, 0, sizeof *a);
    a->name = name;
    a->v.kind = VAL_INTS;
    a->v.n = (size_t)n;
    memcpy(a->v.ints, x, (size_t)n * sizeof *x);
}

/* A tuple, or one integer when all are equal (kernel_size=3). */
static void put_ints(Call *c, const char *name, const int64_t *x, int n)
{
    int same = 1;
    for (int i = 1; i < n; i++)
        same &= x[i] == x[0];
    if (same && n >= 1)
        put_int(c, name, x[0]);
    else
        put_tuple(c, name, x, n);
}

static const rcc_tensor *find(const FbTensor *r, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(r[i].leaf, name))
            return r[i].t;
    return NULL;
}

/* The call bound as a parser would bind it (defaults from the catalog's
 * table), expanded by the catalog and compared with the tensors r[0..n):
 * 1 when they are the same set, names, shapes and dtypes. */
static int expands_to(const Call *c, const FbTensor *r, size_t n)
{
    const Layer *L = cat_find(c->layer);
    Val v[LAYER_MAX_ARGS];
    char sbuf[LAYER_MAX_ARGS][32], err[256];
    if (!L || L->nargs > LAYER_MAX_ARGS)
        return 0;
    for (size_t i = 0; i < L->nargs; i++) {
        memset(&v[i], 0, sizeof v[i]);
        if (L->args[i].def && la_parse_def(L->args[i].def, &v[i], sbuf[i], sizeof sbuf[i]) < 0)
            return 0;
        int given = 0;
        for (int k = 0; k < c->n; k++)
            if (!strcmp(c->a[k].name, L->args[i].name)) {
                v[i] = c->a[k].v;
                given = 1;
            }
        if (!L->args[i].def && !given)
            return 0;
    }
    LayerTensor *out = calloc(n + 1, sizeof *out);
    if (!out)
        return 0;
    int got = L->expand(v, out, n + 1, err, sizeof err), same = got >= 0 && (size_t)got == n;
    for (int i = 0; same && i < got; i++) {
        const rcc_tensor *t = find(r, n, out[i].name);
        same = t && t->dtype == out[i].dtype && t->ndim == out[i].ndim;
        for (int d = 0; same && d < t->ndim; d++)
            same = t->shape[d] == out[i].shape[d];
    }
    free(out);
    return same;
}

static void fmt_val(char *buf, size_t cap, const Val *v)
{
    size_t k = 0;
    switch (v->kind) {
    case VAL_INT: snprintf(buf, cap, "%" PRId64, v->i); break;
    case VAL_BOOL: snprintf(buf, cap, "%s", v->i ? "true" : "false"); break;
    case VAL_INTS:
        k = (size_t)snprintf(buf, cap, "(");
        for (size_t i = 0; i < v->n && k < cap; i++)
            k += (size_t)snprintf(buf + k, cap - k, "%s%" PRId64, i ? ", " : "", v->ints[i]);
        if (k < cap)
            snprintf(buf + k, cap - k, "%s)", v->n == 1 ? "," : "");
        break;
    default: snprintf(buf, cap, "none"); break;
    }
}

/* The call's arguments as written: positional, then name = value. */
static const char *args_text(Arena *a, const Call *c)
{
    char buf[1024], one[200];
    size_t k = 0;
    buf[0] = 0;
    for (int i = 0; i < c->n && k < sizeof buf; i++) {
        fmt_val(one, sizeof one, &c->a[i].v);
        if (i < c->npos)
            k += (size_t)snprintf(buf + k, sizeof buf - k, "%s%s", i ? ", " : "", one);
        else
            k += (size_t)snprintf(buf + k, sizeof buf - k, "%s%s = %s", i ? ", " : "", c->a[i].name, one);
    }
    return arena_strndup(a, buf, strlen(buf));
}

int fb_layer_call(Arena *a, FbLayer *l)
{
    char name[32];
    const char *n = l->name;
    if (l->kind == FB_BN) {
        snprintf(name, sizeof name, "BatchNorm%dd", l->dim >= 1 && l->dim <= 3 ? l->dim : 1);
        n = name;
    }
    l->call = arena_printf(a, "%s(%s)", n, l->args ? l->args : "");
    return l->call ? 0 : -1;
}

/* -------------------------------------------------------------- names */

int fb_is_name(const char *s)
{
    static const char *const kw[] = {"if", "else", "for", "in", "return", "true", "True", "false", "False", "none",
                                     "None", "is", "and", "or", "not", "forward", NULL};
    if (!(isalpha((unsigned char)*s) || *s == '_'))
        return 0;
    for (const char *p = s; *p; p++)
        if (!(isalnum((unsigned char)*p) || *p == '_') || (unsigned char)*p >= 0x80)
            return 0;
    for (int i = 0; kw[i]; i++)
        if (!strcmp(s, kw[i]))
            return 0;
    return 1;
}

/* Does the lowercased name hold one of the words? */
static int says(const char *name, const char *const *words)
{
    char low[128];
    size_t i;
    for (i = 0; name[i] && i + 1 < sizeof low; i++)
        low[i] = (char)tolower((unsigned char)name[i]);
    low[i] = 0;
    for (int k = 0; words[k]; k++)
        if (strstr(low, words[k]))
            return 1;
    return 0;
}

static const char *const EMB_WORDS[] = {"emb", "wte", "wpe", "tok", NULL};
static const char *const NORM_WORDS[] = {"norm", "ln", NULL};
static const char *const RMS_WORDS[] = {"rmsnorm", "rms_norm", NULL};

static int dims_are(const rcc_tensor *t, int nd) { return t && t->ndim == nd; }

/* ------------------------------------------------------------ layers */

/* Sets the layer from a call that expanded to the tensors. */
static int take(FbTree *tr, FbLayer *l, FbKind kind, const Call *c)
{
    l->kind = kind;
    l->name = kind == FB_BN ? NULL : c->layer;
    l->args = args_text(tr->a, c);
    return l->args != NULL;
}


/* A Linear-like call c (in = weight's dim 1, out = its dim 0; no bias
 * tensor: bias = False), taken when it expands to the file's tensors. */
static int take_features(FbTree *tr, FbLayer *l, FbKind kind, Call *c, const FbTensor *r, size_t n, const rcc_tensor *w,
                         const rcc_tensor *b)
{
    if (!b)
        put_bool(c, "bias", 0);
    if (!expands_to(c, r, n))
        return 0;
    l->in = w->shape[1], l->out = w->shape[0];
    return take(tr, l, kind, c);
}
static int weight_2d(FbTree *tr, FbLayer *l, const FbTensor *r, size_t n, const char *hint)
{
    const rcc_tensor *w = find(r, n, "weight"), *b = find(r, n, "bias");
    Call c = {.npos = 2};
    if (n == 1 && says(hint, EMB_WORDS)) {
        c.layer = "Embedding";
        put_int(&c, "num_embeddings", w->shape[0]);
        put_int(&c, "embedding_dim", w->shape[1]);
        if (expands_to(&c, r, n)) {
            l->in = w->shape[0], l->out = w->shape[1];
            return take(tr, l, FB_EMB, &c);
        }
        return 0;
    }
    c.layer = "Linear";
    put_int(&c, "in_features", w->shape[1]);
    put_int(&c, "out_features", w->shape[0]);
    return take_features(tr, l, FB_LINEAR, &c, r, n, w, b);
}

static int weight_nd(FbTree *tr, FbLayer *l, const FbTensor *r, size_t n, const char *hint)
{
    static const char *const conv[] = {"Conv1d", "Conv2d", "Conv3d"}, *const convt[] = {"ConvTranspose1d", "ConvTranspose2d"};
    static const char *const BILINEAR[] = {"bilinear", NULL};
    const rcc_tensor *w = find(r, n, "weight"), *b = find(r, n, "bias");
    int dim = w->ndim - 2;
    Call c = {.npos = 3};
    if (dim == 1 && says(hint, BILINEAR)) {
        c.layer = "Bilinear";
        put_int(&c, "in1_features", w->shape[1]);
        put_int(&c, "in2_features", w->shape[2]);
        put_int(&c, "out_features", w->shape[0]);
        return take_features(tr, l, FB_BILINEAR, &c, r, n, w, b);
    }
    int transposed = b && dims_are(b, 1) && b->shape[0] != w->shape[0] && b->shape[0] == w->shape[1] && dim <= 2;
    c.layer = transposed ? convt[dim - 1] : conv[dim - 1];
    put_int(&c, "in_channels", transposed ? w->shape[0] : w->shape[1]);
    put_int(&c, "out_channels", transposed ? w->shape[1] : w->shape[0]);
    put_ints(&c, "kernel_size", w->shape + 2, dim);
    if (!b)
        put_bool(&c, "bias", 0);
    if (!expands_to(&c, r, n))
        return 0;
    l->dim = dim;
    l->in = c.a[0].v.i, l->out = c.a[1].v.i;
    return take(tr, l, transposed ? FB_CONVT : FB_CONV, &c);
}

static int batchnorm(FbTree *tr, FbLayer *l, const FbTensor *r, size_t n)
{
    const rcc_tensor *m = find(r, n, "running_mean");
    Call c = {.layer = "BatchNorm1d", .npos = 1};
    if (!dims_are(m, 1))
        return 0;
    put_int(&c, "num_features", m->shape[0]);
    if (!find(r, n, "weight") && !find(r, n, "bias"))
        put_bool(&c, "affine", 0);
    if (!expands_to(&c, r, n))
        return 0;
    l->in = l->out = m->shape[0];
    return take(tr, l, FB_BN, &c);
}

/* LayerNorm (weight and bias), or a lone weight named as a norm or PReLU. */
static int norm(FbTree *tr, FbLayer *l, const FbTensor *r, size_t n, const char *hint)
{
    static const char *const PRELU[] = {"prelu", NULL};
    const rcc_tensor *w = find(r, n, "weight"), *b = find(r, n, "bias"), *src = w ? w : b;
    Call c = {.layer = "LayerNorm", .npos = 1};
    FbKind kind = FB_LN;
    if (!src || src->ndim < 1 || src->ndim > 8)
        return 0;
    if (n == 1 && w && says(hint, PRELU) && w->ndim == 1) {
        c.layer = "PReLU";
        put_int(&c, "num_parameters", w->shape[0]);
        kind = FB_PRELU;
    } else {
        if (n == 1 && !(w && says(hint, NORM_WORDS)))
            return 0;
        if (n == 1 && says(hint, RMS_WORDS))
            c.layer = "RMSNorm", kind = FB_RMS;
        if (src->ndim == 1)
            put_int(&c, "normalized_shape", src->shape[0]);
        else   /* a tuple even when its sizes are equal: (4, 4) is not 4 here */
            put_tuple(&c, "normalized_shape", src->shape, src->ndim);
        if (kind == FB_LN && !b)
            put_bool(&c, "bias", 0);
    }
    if (!expands_to(&c, r, n))
        return 0;
    l->nshape = src->ndim;
    memcpy(l->shape, src->shape, (size_t)src->ndim * sizeof *l->shape);
    l->in = l->out = src->shape[src->ndim - 1];
    return take(tr, l, kind, &c);
}

/* "weight_ih_l12_reverse": the layer number and direction; -1 otherwise. */
static long rnn_layer(const char *name, int *reverse)
{
    const char *p = strstr(name, "_l");
    if (!p || p[2] < '0' || p[2] > '9')
        return -1;
    char *end;
    long l = strtol(p + 2, &end, 10);
    *reverse = !strcmp(end, "_reverse");
    return (*end && !*reverse) || l < 0 || l > 100000 ? -1 : l;
}

static int recurrent(FbTree *tr, FbLayer *l, const FbTensor *r, size_t n)
{
    static const char *const names[] = {NULL, "RNN", NULL, "GRU", "LSTM"};
    const rcc_tensor *ih = find(r, n, "weight_ih_l0"), *hh = find(r, n, "weight_hh_l0");
    const rcc_tensor *hr = find(r, n, "weight_hr_l0");
    if (!dims_are(ih, 2) || !dims_are(hh, 2) || (hr && !dims_are(hr, 2)))
        return 0;
    int64_t h = hr ? hr->shape[1] : hh->shape[1], proj = hr ? hr->shape[0] : 0;
    if (h <= 0 || hh->shape[0] % h || hh->shape[0] / h > 4 || !names[hh->shape[0] / h])
        return 0;
    int64_t gates = hh->shape[0] / h;
    long layers = 0;
    int bidir = 0, rev;
    for (size_t i = 0; i < n; i++) {
        long k = rnn_layer(r[i].leaf, &rev);
        if (k < 0)
            return 0;
        layers = k + 1 > layers ? k + 1 : layers;
        bidir |= rev;
    }
    Call c = {.layer = names[gates], .npos = 2};
    put_int(&c, "input_size", ih->shape[1]);
    put_int(&c, "hidden_size", h);
    if (layers != 1)
        put_int(&c, "num_layers", layers);
    if (!find(r, n, "bias_ih_l0"))
        put_bool(&c, "bias", 0);
    if (bidir)
        put_bool(&c, "bidirectional", 1);
    if (proj)
        put_int(&c, "proj_size", proj);
    if ((proj && gates != 4) || !expands_to(&c, r, n))
        return 0;
    l->in = ih->shape[1];
    l->out = (proj ? proj : h) * (bidir ? 2 : 1);
    return take(tr, l, FB_RNN, &c);
}

static int attention(FbTree *tr, FbLayer *l, const FbTensor *r, size_t n)
{
    const rcc_tensor *o = find(r, n, "out_proj.weight"), *k = find(r, n, "k_proj_weight");
    const rcc_tensor *v = find(r, n, "v_proj_weight");
    if (!dims_are(o, 2) || o->shape[0] <= 0)
        return 0;
    int64_t e = o->shape[0], heads = e % 64 == 0 ? e / 64 : 1;
    Call c = {.layer = "MultiheadAttention", .npos = 2};
    put_int(&c, "embed_dim", e);
    put_int(&c, "num_heads", heads);
    if (!find(r, n, "in_proj_bias"))
        put_bool(&c, "bias", 0);
    if (find(r, n, "bias_k"))
        put_bool(&c, "add_bias_kv", 1);
    if (dims_are(k, 2) && k->shape[1] != e)
        put_int(&c, "kdim", k->shape[1]);
    if (dims_are(v, 2) && v->shape[1] != e)
        put_int(&c, "vdim", v->shape[1]);
    if (!expands_to(&c, r, n))
        return 0;
    l->in = l->out = e;
    l->self_only = find(r, n, "in_proj_weight") == NULL;
    l->note = arena_printf(tr->a, "num_heads = %" PRId64 " (the weights do not say it)", heads);
    return take(tr, l, FB_MHA, &c);
}

int fb_recognise(FbTree *tr, size_t i)
{
    FbNode *nd = &tr->nodes[i];
    const FbNode *op = NULL;
    if (nd->nkids > 1 || nd->ntens == 0)
        return 0;
    if (nd->nkids == 1) {   /* MultiheadAttention's out_proj, a plain Linear */
        op = &tr->nodes[nd->kids[0]];
        if (strcmp(op->seg, "out_proj") != 0 || op->nkids || !op->ntens)
            return 0;
    }
    size_t n = nd->ntens + (op ? op->ntens : 0);
    if (n > MAX_LAYER_TENSORS)   /* the comparison is quadratic; no layer of torch has so many */
        return 0;
    FbTensor *r = arena_array(tr->a, n + 1, sizeof *r);
    if (!r)
        return 0;
    memcpy(r, nd->tens, nd->ntens * sizeof *r);
    for (size_t k = 0; op && k < op->ntens; k++) {
        r[nd->ntens + k].t = op->tens[k].t;
        if (!(r[nd->ntens + k].leaf = arena_printf(tr->a, "out_proj.%s", op->tens[k].leaf)))
            return 0;
    }
    /* shapes and dtypes as the catalog has them: f32, at most 8 dimensions */
    for (size_t k = 0; k < n; k++)
        if (r[k].t->ndim > 8 || (r[k].t->dtype != RCC_F32 && strcmp(r[k].leaf, "num_batches_tracked") != 0))
            return 0;
    /* the name that says what a layer is: its own, or its list's */
    const char *hint = nd->seg;
    if (nd->index >= 0 && nd->parent != (size_t)-1)
        hint = tr->nodes[nd->parent].seg;
    FbLayer *l = &nd->layer;
    const rcc_tensor *w = find(r, n, "weight");
    memset(l, 0, sizeof *l);
    int ok = 0;
    if (op)
        ok = attention(tr, l, r, n);
    else if (find(r, n, "in_proj_weight") || find(r, n, "q_proj_weight"))
        ok = 0;   /* an attention without out_proj: not torch's */
    else if (find(r, n, "weight_ih_l0"))
        ok = recurrent(tr, l, r, n);
    else if (find(r, n, "running_mean"))
        ok = batchnorm(tr, l, r, n);
    else   /* the first that fits: a Linear's bias is 1-d, a LayerNorm's is its weight's shape */
        ok = (dims_are(w, 2) && weight_2d(tr, l, r, n, hint)) ||
             (w && w->ndim >= 3 && w->ndim <= 5 && weight_nd(tr, l, r, n, hint)) ||
             ((w || find(r, n, "bias")) && norm(tr, l, r, n, hint));
    if (!ok)
        memset(l, 0, sizeof *l);
    return ok;
}
