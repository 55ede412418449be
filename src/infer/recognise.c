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
 * A whole pickled model says more (fb_recognise_pickled): a module whose
 * class is torch.nn's own built-in layer is that layer, with the
 * constructor arguments its pickled attributes hold (stride, padding,
 * groups, eps, momentum, num_heads, batch_first, p, ...), and the call is
 * checked against the tensors the same way; layers without tensors (ReLU,
 * MaxPool2d, Flatten, Dropout) are declared from the pickle alone.
 *
 * Every layer tensor is f32 in the catalog (num_batches_tracked i64), so a
 * module stored in another dtype is declared raw, with its dtype exact.
 */
#include <ctype.h>
#include <inttypes.h>
#include <math.h>
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
    CallArg     a[LAYER_MAX_ARGS];
    int         n;
    int         npos;       /* the first npos are written positionally */
    char        strs[LAYER_MAX_ARGS][32];   /* string values (a pickle's "same", "zeros") */
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
 * table) into v[0..L->nargs): 0, or -1 when a required argument is
 * missing or a default cannot be read. */
static int bind(const Call *c, const Layer *L, Val *v, char (*sbuf)[32])
{
    if (!L || L->nargs > LAYER_MAX_ARGS)
        return -1;
    for (size_t i = 0; i < L->nargs; i++) {
        memset(&v[i], 0, sizeof v[i]);
        if (L->args[i].def && la_parse_def(L->args[i].def, &v[i], sbuf[i], sizeof sbuf[i]) < 0)
            return -1;
        int given = 0;
        for (int k = 0; k < c->n; k++)
            if (!strcmp(c->a[k].name, L->args[i].name)) {
                v[i] = c->a[k].v;
                given = 1;
            }
        if (!L->args[i].def && !given)
            return -1;
    }
    return 0;
}

/* The call expanded by the catalog and compared with the tensors r[0..n):
 * 1 when they are the same set, names, shapes and dtypes (and the catalog
 * takes the arguments). */
static int expands_to(const Call *c, const FbTensor *r, size_t n)
{
    const Layer *L = cat_find(c->layer);
    Val v[LAYER_MAX_ARGS];
    char sbuf[LAYER_MAX_ARGS][32], err[256];
    if (bind(c, L, v, sbuf) < 0)
        return 0;
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

/* The call's arguments as written: positional, then name = value. */
static const char *args_text(Arena *a, const Call *c)
{
    char buf[1024], one[200];
    size_t k = 0;
    buf[0] = 0;
    for (int i = 0; i < c->n && k < sizeof buf; i++) {
        la_fmt_val(&c->a[i].v, 0, one, sizeof one);
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
    for (int d = 0; d < dim; d++)   /* stride, padding and dilation are torch's defaults */
        l->k[d] = w->shape[2 + d];
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

/* Node i's tensors as one layer's (with out_proj's, prefixed, for a
 * MultiheadAttention) into *rp, how many into *np: 0, or -1 when the node
 * cannot be one layer (other children, too many tensors, a tensor not f32
 * or of more than 8 dimensions: the catalog's layers are f32). */
static int gather(FbTree *tr, size_t i, FbTensor **rp, size_t *np)
{
    FbNode *nd = &tr->nodes[i];
    const FbNode *op = NULL;
    if (nd->nkids > 1)
        return -1;
    if (nd->nkids == 1) {   /* MultiheadAttention's out_proj, a plain Linear */
        op = &tr->nodes[nd->kids[0]];
        if (strcmp(op->seg, "out_proj") != 0 || op->nkids || !op->ntens)
            return -1;
    }
    size_t n = nd->ntens + (op ? op->ntens : 0);
    if (n > MAX_LAYER_TENSORS)   /* the comparison is quadratic; no layer of torch has so many */
        return -1;
    FbTensor *r = arena_array(tr->a, n + 1, sizeof *r);
    if (!r)
        return -1;
    if (nd->ntens)   /* a layer without tensors has none to copy (and tens is NULL) */
        memcpy(r, nd->tens, nd->ntens * sizeof *r);
    for (size_t k = 0; op && k < op->ntens; k++) {
        r[nd->ntens + k].t = op->tens[k].t;
        if (!(r[nd->ntens + k].leaf = arena_printf(tr->a, "out_proj.%s", op->tens[k].leaf)))
            return -1;
    }
    /* shapes and dtypes as the catalog has them: f32, at most 8 dimensions */
    for (size_t k = 0; k < n; k++)
        if (r[k].t->ndim > 8 || (r[k].t->dtype != RCC_F32 && strcmp(r[k].leaf, "num_batches_tracked") != 0))
            return -1;
    *rp = r;
    *np = n;
    return 0;
}

int fb_recognise(FbTree *tr, size_t i)
{
    FbNode *nd = &tr->nodes[i];
    FbTensor *r;
    size_t n;
    if (nd->ntens == 0 || gather(tr, i, &r, &n) < 0)
        return 0;
    int op = nd->nkids == 1;
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

/* ------------------------------------------------------------ pickles */

/* torch.nn's class name of m: "Conv2d" for "torch.nn.modules.conv.Conv2d"
 * or TorchScript's "__torch__.torch.nn.modules.conv.___torch_mangle_3.Conv2d";
 * NULL for a class of anything else (__main__.Linear is not torch's). */
const char *fb_torch_class(const rcc_module *m)
{
    const char *t = m ? m->type : NULL;
    if (!t)
        return NULL;
    if (!strncmp(t, "__torch__.", 10))
        t += 10;
    if (strncmp(t, "torch.nn.modules.", 17) != 0)
        return NULL;
    const char *dot = strrchr(t, '.');
    return dot[1] ? dot + 1 : NULL;
}

int fb_class_is_torch(const rcc_module *m) { return fb_torch_class(m) != NULL; }

int fb_class_is_container(const rcc_module *m)
{
    static const char *const names[] = {"Sequential", "ModuleList", "ModuleDict", "ParameterList", "ParameterDict",
                                        NULL};
    const char *c = fb_torch_class(m);
    for (int i = 0; c && names[i]; i++)
        if (!strcmp(c, names[i]))
            return 1;
    return 0;
}

const char *fb_class_text(Arena *a, const rcc_module *m)
{
    char buf[128];
    size_t k = 0;
    const char *p = m && m->type ? m->type : "?";
    for (; *p && k < 120; p++)
        buf[k++] = (unsigned char)*p < ' ' || (unsigned char)*p >= 0x7f ? '?' : *p;
    if (*p)
        k += (size_t)snprintf(buf + k, sizeof buf - k, "...");
    buf[k] = 0;
    return arena_strndup(a, buf, k);
}

static const rcc_attr *attr_named(const rcc_module *m, const char *name)
{
    for (size_t i = 0; i < m->nattrs; i++)
        if (m->attrs[i].name && !strcmp(m->attrs[i].name, name))
            return &m->attrs[i];
    return NULL;
}

/* A pickled attribute as the value of a parameter that takes want: 0, or
 * -1 when it is not one the language can write for it (a string with
 * characters of its own, a float that is not finite, a tuple of another
 * kind). */
static int val_of(const rcc_attr *at, ValKind want, Val *v, char *sbuf, size_t scap)
{
    memset(v, 0, sizeof *v);
    switch (at->kind) {
    case RCC_ATTR_NONE: v->kind = VAL_NONE; return 0;
    case RCC_ATTR_BOOL:
        if (want != VAL_BOOL)
            return -1;
        v->kind = VAL_BOOL, v->i = at->i != 0;
        return 0;
    case RCC_ATTR_INT:
        if (want == VAL_FLOAT)
            v->kind = VAL_FLOAT, v->f = (double)at->i;
        else if (want == VAL_INT || want == VAL_INTS)
            v->kind = VAL_INT, v->i = at->i;
        else
            return -1;
        return 0;
    case RCC_ATTR_FLOAT:
        if (want != VAL_FLOAT || !isfinite(at->f))
            return -1;
        v->kind = VAL_FLOAT, v->f = at->f;
        return 0;
    case RCC_ATTR_STR: {   /* "same", "zeros", "tanh", "nearest" */
        size_t n = at->s ? strlen(at->s) : 0;
        if ((want != VAL_STR && want != VAL_INTS) || n == 0 || n >= scap ||
            strspn(at->s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") != n)
            return -1;
        memcpy(sbuf, at->s, n + 1);
        v->kind = VAL_STR, v->s = sbuf;
        return 0;
    }
    case RCC_ATTR_INTS:
        if (want != VAL_INTS || at->n < 1 || at->n > 8 || !at->ints)
            return -1;
        v->kind = VAL_INTS, v->n = at->n;
        memcpy(v->ints, at->ints, at->n * sizeof *at->ints);
        return 0;
    default: return -1;
    }
}

/* A convolution's padding "valid" or "same" as the sizes it stands for
 * (the language takes numbers): "same" pads d * (k - 1) / 2 on each side,
 * and when that is odd torch pads one more on the right, which no number
 * says (-1). */
static int padding_sizes(const rcc_module *m, Val *v)
{
    const rcc_attr *k = attr_named(m, "kernel_size"), *d = attr_named(m, "dilation");
    if (!v->s || (strcmp(v->s, "same") && strcmp(v->s, "valid")))
        return -1;
    if (!strcmp(v->s, "valid")) {
        memset(v, 0, sizeof *v);
        v->kind = VAL_INT;
        return 0;
    }
    size_t n = k && k->kind == RCC_ATTR_INTS ? k->n : 1;
    if (!k || (k->kind != RCC_ATTR_INT && k->kind != RCC_ATTR_INTS) || n < 1 || n > 3 ||
        (d && d->kind != RCC_ATTR_INT && !(d->kind == RCC_ATTR_INTS && d->n == n)))
        return -1;
    memset(v, 0, sizeof *v);
    v->kind = VAL_INTS;
    v->n = n;
    for (size_t i = 0; i < n; i++) {
        int64_t ki = k->kind == RCC_ATTR_INTS ? k->ints[i] : k->i;
        int64_t di = !d ? 1 : d->kind == RCC_ATTR_INTS ? d->ints[i] : d->i;
        if (ki < 1 || di < 1 || ki > ((int64_t)1 << 20) || di > ((int64_t)1 << 20) || (di * (ki - 1)) % 2)
            return -1;
        v->ints[i] = di * (ki - 1) / 2;
    }
    return 0;
}

/* Parameters whose tuple of equal sizes is the same as one int
 * (kernel_size (3, 3) is 3); normalized_shape and unflattened_size are
 * not ((4, 4) is not 4), save a tuple of one. */
static int collapses(const char *name, const Val *v)
{
    static const char *const names[] = {"kernel_size", "stride", "padding", "dilation", "output_padding",
                                        "output_size", NULL};
    if (v->kind != VAL_INTS || v->n < 1)
        return 0;
    for (size_t i = 1; i < v->n; i++)
        if (v->ints[i] != v->ints[0])
            return 0;
    if (v->n == 1 && strcmp(name, "unflattened_size") != 0)
        return 1;
    for (int i = 0; names[i]; i++)
        if (!strcmp(name, names[i]))
            return 1;
    return 0;
}

static const Val *bound(const Layer *L, const Val *v, const char *name)
{
    for (size_t i = 0; i < L->nargs; i++)
        if (!strcmp(L->args[i].name, name))
            return &v[i];
    return NULL;
}

static int64_t bound_int(const Layer *L, const Val *v, const char *name, int64_t def)
{
    const Val *x = bound(L, v, name);
    return x && (x->kind == VAL_INT || x->kind == VAL_BOOL) ? x->i : def;
}

/* An INT or INTS argument as dim sizes (a tuple of another length: -1). */
static int bound_ints(const Layer *L, const Val *v, const char *name, int dim, int64_t *out)
{
    const Val *x = bound(L, v, name);
    if (x && x->kind == VAL_INT) {
        for (int d = 0; d < dim; d++)
            out[d] = x->i;
        return 0;
    }
    if (!x || x->kind != VAL_INTS || x->n != (size_t)dim)
        return -1;
    memcpy(out, x->ints, (size_t)dim * sizeof *out);
    return 0;
}

/* What the chain needs to know of a layer declared from its pickle: its
 * kind and sizes, from the bound arguments v. */
static void describe(FbLayer *l, const Layer *L, const Val *v, const FbTensor *r, size_t n)
{
    static const char *const same[] = {"ReLU", "ReLU6", "LeakyReLU", "ELU", "GELU", "SiLU", "Mish", "Sigmoid",
                                       "Tanh", "Hardswish", "Hardsigmoid", "Hardtanh", "Softplus", "Identity",
                                       "Dropout", "Dropout1d", "Dropout2d", "AlphaDropout", "StochasticDepth",
                                       "Softmax", "LogSoftmax", NULL};
    const char *c = L->name;
    size_t len = strlen(c);
    int dim = len >= 2 && c[len - 1] == 'd' && c[len - 2] >= '1' && c[len - 2] <= '3' ? c[len - 2] - '0' : 0;
    l->kind = FB_OTHER;
    l->dim = dim;
    if (!strcmp(c, "Linear")) {
        l->kind = FB_LINEAR;
        l->in = bound_int(L, v, "in_features", 0), l->out = bound_int(L, v, "out_features", 0);
    } else if (!strcmp(c, "Bilinear")) {
        l->kind = FB_BILINEAR;
        l->in = bound_int(L, v, "in1_features", 0), l->out = bound_int(L, v, "out_features", 0);
    } else if (!strncmp(c, "Conv", 4) && dim) {
        int t = !strncmp(c, "ConvTranspose", 13);
        l->in = bound_int(L, v, "in_channels", 0), l->out = bound_int(L, v, "out_channels", 0);
        if (bound_ints(L, v, "kernel_size", dim, l->k) < 0 || bound_ints(L, v, "stride", dim, l->st) < 0 ||
            bound_ints(L, v, "dilation", dim, l->dil) < 0 || bound_ints(L, v, "padding", dim, l->pad) < 0 ||
            (t && bound_ints(L, v, "output_padding", dim, l->opad) < 0))
            return;
        l->kind = t ? FB_CONVT : FB_CONV;
    } else if (!strncmp(c, "BatchNorm", 9) && dim) {
        l->kind = FB_BN;
        l->in = l->out = bound_int(L, v, "num_features", 0);
    } else if ((!strncmp(c, "InstanceNorm", 12) && dim) || !strcmp(c, "GroupNorm")) {
        l->kind = FB_CHAN;
        l->in = l->out = dim ? bound_int(L, v, "num_features", 0) : bound_int(L, v, "num_channels", 0);
    } else if (!strcmp(c, "LayerNorm") || !strcmp(c, "RMSNorm")) {
        const Val *x = bound(L, v, "normalized_shape");
        if (x && x->kind == VAL_INT)
            l->nshape = 1, l->shape[0] = x->i;
        else if (x && x->kind == VAL_INTS && x->n >= 1 && x->n <= 8)
            l->nshape = (int)x->n, memcpy(l->shape, x->ints, x->n * sizeof *x->ints);
        else
            return;
        l->in = l->out = l->shape[l->nshape - 1];
        l->kind = c[0] == 'L' ? FB_LN : FB_RMS;
    } else if (!strcmp(c, "Embedding")) {
        l->kind = FB_EMB;
        l->in = bound_int(L, v, "num_embeddings", 0), l->out = bound_int(L, v, "embedding_dim", 0);
    } else if (!strcmp(c, "LSTM") || !strcmp(c, "GRU") || !strcmp(c, "RNN")) {
        int64_t h = bound_int(L, v, "hidden_size", 0), proj = bound_int(L, v, "proj_size", 0);
        l->kind = FB_RNN;
        l->in = bound_int(L, v, "input_size", 0);
        l->out = (proj > 0 ? proj : h) * (bound_int(L, v, "bidirectional", 0) ? 2 : 1);
        l->batch_first = bound_int(L, v, "batch_first", 0) != 0;
    } else if (!strcmp(c, "MultiheadAttention")) {
        l->kind = FB_MHA;
        l->in = l->out = bound_int(L, v, "embed_dim", 0);
        l->self_only = find(r, n, "in_proj_weight") == NULL;
        l->batch_first = bound_int(L, v, "batch_first", 0) != 0;
    } else if (!strcmp(c, "PReLU")) {
        l->kind = FB_PRELU;
        l->in = l->out = bound_int(L, v, "num_parameters", 1);
    } else if (strstr(c, "Pool") && dim) {
        int adaptive = !strncmp(c, "Adaptive", 8);
        if (bound_int(L, v, "return_indices", 0))
            return;   /* a tuple comes out */
        if (adaptive) {
            if (bound_ints(L, v, "output_size", dim, l->osz) < 0)
                return;
            l->kind = FB_APOOL;
            return;
        }
        const Val *st = bound(L, v, "stride");
        if (bound_ints(L, v, "kernel_size", dim, l->k) < 0 || bound_ints(L, v, "padding", dim, l->pad) < 0 ||
            (bound(L, v, "dilation") && bound_ints(L, v, "dilation", dim, l->dil) < 0) ||
            (st && st->kind != VAL_NONE && bound_ints(L, v, "stride", dim, l->st) < 0))
            return;
        l->ceil = bound_int(L, v, "ceil_mode", 0) != 0;
        l->kind = FB_POOL;
    } else if (!strcmp(c, "Flatten")) {
        l->kind = FB_FLATTEN;
        l->start = bound_int(L, v, "start_dim", 1), l->end = bound_int(L, v, "end_dim", -1);
    } else if (!strcmp(c, "ZeroPad2d") || !strcmp(c, "ConstantPad2d") || !strcmp(c, "ReflectionPad2d")) {
        if (bound_ints(L, v, "padding", 4, l->pad) == 0)
            l->kind = FB_PAD;
    } else {
        for (int i = 0; same[i]; i++)
            if (!strcmp(c, same[i]))
                l->kind = FB_SAME;
        if (!strcmp(c, "Softmax") || !strcmp(c, "LogSoftmax")) {   /* dim none: torch picks one by the rank */
            const Val *d = bound(L, v, "dim");
            if (!d || d->kind != VAL_INT)
                l->kind = FB_OTHER;
        }
    }
}

int fb_pickled_layer(Arena *a, const rcc_module *m, const FbTensor *r, size_t n, FbLayer *l)
{
    const char *cls = fb_torch_class(m);
    const Layer *L = cls ? cat_find(cls) : NULL;
    const rcc_attr *ed = m ? attr_named(m, "embed_dim") : NULL;
    if (!L || L->nargs > LAYER_MAX_ARGS)
        return 0;
    Call c = {.layer = L->name};
    int req = 0;
    for (size_t k = 0; k < L->nargs; k++) {
        const LayerArg *A = &L->args[k];
        const rcc_attr *at = attr_named(m, A->name);
        Val v, d;
        char dbuf[32];
        int have = 0;
        if (!strcmp(A->name, "bias") && !(at && at->kind == RCC_ATTR_BOOL)) {
            /* a parameter (or None), not an attribute: its tensor says it */
            if (n) {
                memset(&v, 0, sizeof v);
                v.kind = VAL_BOOL;
                v.i = find(r, n, "bias") || find(r, n, "in_proj_bias");
                have = 1;
            }
        } else if (!strcmp(A->name, "add_bias_kv")) {
            memset(&v, 0, sizeof v);
            v.kind = VAL_BOOL;
            v.i = find(r, n, "bias_k") != NULL;
            have = 1;
        } else if (at) {
            if (A->kind == VAL_NONE || val_of(at, A->kind, &v, c.strs[c.n], sizeof c.strs[c.n]) < 0)
                return 0;
            have = 1;
            /* MultiheadAttention pickles kdim = vdim = embed_dim for its default none */
            if ((!strcmp(A->name, "kdim") || !strcmp(A->name, "vdim")) && v.kind == VAL_INT && ed &&
                ed->kind == RCC_ATTR_INT && ed->i == v.i)
                have = 0;
        }
        if (!have) {
            if (!A->def)
                return 0;
            continue;
        }
        if (v.kind == VAL_STR && A->kind == VAL_INTS && (strcmp(A->name, "padding") || padding_sizes(m, &v) < 0))
            return 0;
        if (collapses(A->name, &v)) {
            int64_t x = v.ints[0];
            v.kind = VAL_INT, v.i = x;
        }
        if (A->def && la_parse_def(A->def, &d, dbuf, sizeof dbuf) == 0 && la_val_eq(&v, &d) &&
            (v.kind == VAL_STR) == (d.kind == VAL_STR))
            continue;   /* torch's default: not written */
        if (!strcmp(A->name, "stride") && strstr(L->name, "Pool") && c.n && !strcmp(c.a[0].name, "kernel_size") &&
            la_val_eq(&v, &c.a[0].v))
            continue;   /* a pooling's stride none is its kernel_size, and torch pickles it so */
        c.a[c.n].name = A->name;
        c.a[c.n++].v = v;
        if (!A->def && req == (int)k)
            req++;
    }
    /* the leading required arguments positionally: Conv2d(3, 8, 3, stride = 2);
     * a layer's one optional number too: Dropout(0.1), PReLU(8) */
    c.npos = req ? req
           : c.n == 1 && !strcmp(c.a[0].name, L->args[0].name) &&
             (c.a[0].v.kind == VAL_INT || c.a[0].v.kind == VAL_FLOAT) ? 1 : 0;
    if (!expands_to(&c, r, n))
        return 0;
    Val v[LAYER_MAX_ARGS];
    char sbuf[LAYER_MAX_ARGS][32];
    if (bind(&c, L, v, sbuf) < 0)
        return 0;
    memset(l, 0, sizeof *l);
    describe(l, L, v, r, n);
    l->pickled = 1;
    l->name = L->name;
    return (l->args = args_text(a, &c)) != NULL;
}

int fb_recognise_pickled(FbTree *tr, size_t i)
{
    FbNode *nd = &tr->nodes[i];
    FbTensor *r = NULL;
    size_t n = 0;
    if (!nd->mod || !fb_torch_class(nd->mod) || gather(tr, i, &r, &n) < 0)
        return 0;
    if (!fb_pickled_layer(tr->a, nd->mod, r, n, &nd->layer)) {
        memset(&nd->layer, 0, sizeof nd->layer);
        return 0;
    }
    return 1;
}
