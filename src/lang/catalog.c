/* catalog.c — the built-in layers: torch.nn's constructors and the
 * parameters and buffers each one owns.
 *
 * One static table (LAYERS, at the end) holds an entry per layer: torch's
 * class name, its constructor parameters with torch's names, in torch's
 * positional order, with torch's defaults written in .arch syntax, and two
 * functions.  `expand` turns bound arguments into exactly the tensors
 * `module.state_dict()` holds, in state-dict order (own parameters in
 * registration order, then own buffers, then submodules), with torch's
 * names, shapes and dtypes (f32, except BatchNorm's num_batches_tracked,
 * an i64 0-d buffer).  `suggest` goes the other way: from the tensors a
 * weight file has under a layer's prefix to the constructor call that
 * would declare them ("Linear(512, 10)"), for `rcc check`'s did-you-mean.
 *
 * Binding conventions (what expand accepts in args[i]; it checks every
 * argument itself, so a binder may pass through whatever the user wrote):
 *   - a kind equal to LayerArg.kind;
 *   - an INT where FLOAT is declared (1 for 1.0);
 *   - an INT where INTS is declared: broadcast to the layer's
 *     dimensionality (kernel_size=3 for Conv2d is (3, 3); a LayerNorm's
 *     normalized_shape=768 is (768,)); an INTS must then have exactly that
 *     many elements;
 *   - none where the default is "none";
 *   - and these unions of torch's: Conv*d padding also takes "same" or
 *     "valid"; BatchNorm/InstanceNorm momentum also takes none (a
 *     cumulative average); Upsample scale_factor also takes a tuple.
 * device= and dtype= are not parameters here (a spec states dtypes with
 * raw param declarations).  Sizes must be positive (torch allows 0-sized
 * layers; a spec declaring one is taken for a mistake).
 *
 * Versions: the table follows torch 1.13 (what the test suite compares
 * against, tests/gen_catalog.py), with two additions from later torch,
 * documented where they are: LayerNorm's `bias` (torch 2.1) and RMSNorm
 * (torch 2.4), which 1.13 cannot check.  RNN takes nonlinearity as its
 * fourth positional parameter, as torch's documentation and torch >= 2.0
 * do (1.13 accepts it only as a keyword).  StochasticDepth is
 * torchvision.ops', for the torchvision families.
 *
 * expand writes at most `cap` tensors; a layer with more (an RNN of many
 * layers: up to 5 per layer and direction) fails with a message naming
 * the count.  Every entry has both functions; a layer without tensors
 * expands to 0 and suggests nothing.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arch.h"


/* ---------------------------------------------------------------- Linear */

static const LayerArg LINEAR_ARGS[] = {
    {"in_features", VAL_INT, NULL},
    {"out_features", VAL_INT, NULL},
    {"bias", VAL_BOOL, "true"},
};

static int x_linear(EXPAND_ARGS)
{
    LayerCtx c = CTX("Linear");
    int64_t in, o;

    if (la_check_kinds(&c, LINEAR_ARGS, LAYER_NARGS(LINEAR_ARGS), a, 0) ||
        la_get_size(&c, &a[0], "in_features", &in) || la_get_size(&c, &a[1], "out_features", &o))
        return -1;
    PARAM(&c, "weight", o, in);
    if (a[2].i)
        PARAM(&c, "bias", o);
    return la_finish(&c);
}

static int s_linear(SUGGEST_ARGS)
{
    const LayerTensor *w = la_ft(file, nf, "weight");
    LayerSug s;

    if (!la_dims_ok(w, 2))
        return 0;
    la_sug_init(&s, "Linear", LINEAR_ARGS, LAYER_NARGS(LINEAR_ARGS), args);
    la_sug_int(&s, "in_features", w->shape[1]);
    la_sug_int(&s, "out_features", w->shape[0]);
    la_sug_bool(&s, "bias", la_ft(file, nf, "bias") != NULL);
    return la_sug_write(&s, buf, cap);
}

static const LayerArg BILINEAR_ARGS[] = {
    {"in1_features", VAL_INT, NULL},
    {"in2_features", VAL_INT, NULL},
    {"out_features", VAL_INT, NULL},
    {"bias", VAL_BOOL, "true"},
};

static int x_bilinear(EXPAND_ARGS)
{
    LayerCtx c = CTX("Bilinear");
    int64_t i1, i2, o;

    if (la_check_kinds(&c, BILINEAR_ARGS, LAYER_NARGS(BILINEAR_ARGS), a, 0) ||
        la_get_size(&c, &a[0], "in1_features", &i1) || la_get_size(&c, &a[1], "in2_features", &i2) ||
        la_get_size(&c, &a[2], "out_features", &o))
        return -1;
    PARAM(&c, "weight", o, i1, i2);
    if (a[3].i)
        PARAM(&c, "bias", o);
    return la_finish(&c);
}

static int s_bilinear(SUGGEST_ARGS)
{
    const LayerTensor *w = la_ft(file, nf, "weight");
    LayerSug s;

    if (!la_dims_ok(w, 3))
        return 0;
    la_sug_init(&s, "Bilinear", BILINEAR_ARGS, LAYER_NARGS(BILINEAR_ARGS), args);
    la_sug_int(&s, "in1_features", w->shape[1]);
    la_sug_int(&s, "in2_features", w->shape[2]);
    la_sug_int(&s, "out_features", w->shape[0]);
    la_sug_bool(&s, "bias", la_ft(file, nf, "bias") != NULL);
    return la_sug_write(&s, buf, cap);
}

/* ------------------------------------------------------------ ConvNd */

/* Conv1d/2d/3d share one argument list, as do the ConvTransposeNd. */
static const LayerArg CONV_ARGS[] = {
    {"in_channels", VAL_INT, NULL},
    {"out_channels", VAL_INT, NULL},
    {"kernel_size", VAL_INTS, NULL},
    {"stride", VAL_INTS, "1"},
    {"padding", VAL_INTS, "0"},         /* also "same" or "valid" */
    {"dilation", VAL_INTS, "1"},
    {"groups", VAL_INT, "1"},
    {"bias", VAL_BOOL, "true"},
    {"padding_mode", VAL_STR, "\"zeros\""},
};

static const LayerArg CONVT_ARGS[] = {
    {"in_channels", VAL_INT, NULL},
    {"out_channels", VAL_INT, NULL},
    {"kernel_size", VAL_INTS, NULL},
    {"stride", VAL_INTS, "1"},
    {"padding", VAL_INTS, "0"},
    {"output_padding", VAL_INTS, "0"},
    {"groups", VAL_INT, "1"},
    {"bias", VAL_BOOL, "true"},
    {"dilation", VAL_INTS, "1"},
    {"padding_mode", VAL_STR, "\"zeros\""},
};

static const char *const PADDING_MODES[] = {"zeros", "reflect", "replicate", "circular", NULL};

static int conv_expand(LayerCtx *c, const Val *a, int dim, int transposed)
{
    int64_t in, o, g, k[3], stride[3], pad[3], dil[3], opad[3], w[5];
    const Val *vpad = &a[4], *vdil = transposed ? &a[8] : &a[5], *vmode = transposed ? &a[9] : &a[8];
    int i;

    if (la_check_kinds(c, transposed ? CONVT_ARGS : CONV_ARGS, transposed ? LAYER_NARGS(CONVT_ARGS) : LAYER_NARGS(CONV_ARGS),
                    a, transposed ? 0u : 1u << 4) ||
        la_get_size(c, &a[0], "in_channels", &in) || la_get_size(c, &a[1], "out_channels", &o) ||
        la_get_ints(c, &a[2], "kernel_size", (size_t)dim, 1, k) ||
        la_get_ints(c, &a[3], "stride", (size_t)dim, 1, stride) ||
        la_get_ints(c, vdil, "dilation", (size_t)dim, 1, dil))
        return -1;
    if (!transposed && vpad->kind == VAL_STR) {
        static const char *const pads[] = {"same", "valid", NULL};
        if (la_get_choice(c, vpad, "padding", pads, NULL))
            return -1;
        for (i = 0; i < dim; i++)
            if (la_str_is(vpad, "same") && stride[i] != 1)
                return la_bad(c, "padding=\"same\" is not supported for strided convolutions");
    } else if (vpad->kind == VAL_INT || vpad->kind == VAL_INTS) {
        if (la_get_ints(c, vpad, "padding", (size_t)dim, 0, pad))
            return -1;
    } else {
        return la_kind_err(c, "padding", transposed ? "an integer or a tuple of integers"
                                                 : "an integer, a tuple of integers, \"same\" or \"valid\"",
                        vpad);
    }
    if (transposed) {
        if (la_get_ints(c, &a[5], "output_padding", (size_t)dim, 0, opad))
            return -1;
        for (i = 0; i < dim; i++)
            if (opad[i] >= stride[i] && opad[i] >= dil[i])
                return la_bad(c, "output_padding (%lld) must be smaller than either stride (%lld) or "
                              "dilation (%lld)",
                           (long long)opad[i], (long long)stride[i], (long long)dil[i]);
    }
    g = a[6].i;
    if (g <= 0)
        return la_bad(c, "groups must be a positive integer, not %lld", (long long)g);
    if (in % g)
        return la_bad(c, "in_channels (%lld) is not divisible by groups (%lld)", (long long)in, (long long)g);
    if (o % g)
        return la_bad(c, "out_channels (%lld) is not divisible by groups (%lld)", (long long)o, (long long)g);
    if (transposed) {
        if (!la_str_is(vmode, "zeros"))
            return la_bad(c, "%s supports only padding_mode=\"zeros\", not \"%s\"", c->layer,
                       vmode->s ? vmode->s : "");
    } else if (la_get_choice(c, vmode, "padding_mode", PADDING_MODES, NULL)) {
        return -1;
    }
    w[0] = transposed ? in : o;
    w[1] = transposed ? o / g : in / g;
    for (i = 0; i < dim; i++)
        w[2 + i] = k[i];
    la_put(c, "weight", 0, RCC_F32, w, 2 + dim);
    if (a[7].i)
        PARAM(c, "bias", o);
    return la_finish(c);
}

static int x_conv1d(EXPAND_ARGS) { LayerCtx c = CTX("Conv1d"); return conv_expand(&c, a, 1, 0); }
static int x_conv2d(EXPAND_ARGS) { LayerCtx c = CTX("Conv2d"); return conv_expand(&c, a, 2, 0); }
static int x_conv3d(EXPAND_ARGS) { LayerCtx c = CTX("Conv3d"); return conv_expand(&c, a, 3, 0); }
static int x_convt1d(EXPAND_ARGS) { LayerCtx c = CTX("ConvTranspose1d"); return conv_expand(&c, a, 1, 1); }
static int x_convt2d(EXPAND_ARGS) { LayerCtx c = CTX("ConvTranspose2d"); return conv_expand(&c, a, 2, 1); }

/* The weight's rank says the dimensionality: a Conv2d declared for a 3-d
 * weight is suggested as the Conv1d it is.  The spec's groups, stride,
 * padding... are kept (tuples only when the dimensionality agrees). */
static int conv_suggest(SUGGEST_ARGS, int transposed)
{
    static const char *const names[2][3] = {{"Conv1d", "Conv2d", "Conv3d"},
                                            {"ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d"}};
    const LayerTensor *w = la_ft(file, nf, "weight");
    int64_t g, in, o;
    int dim, i;
    LayerSug s;

    if (!w || w->ndim < 3 || w->ndim > 5 || !la_dims_ok(w, w->ndim) || (transposed && w->ndim > 4))
        return 0;
    dim = w->ndim - 2;
    la_sug_init(&s, names[transposed][dim - 1], transposed ? CONVT_ARGS : CONV_ARGS,
             transposed ? LAYER_NARGS(CONVT_ARGS) : LAYER_NARGS(CONV_ARGS), args);
    s.collapse = 1;
    for (i = 0; i < (int)s.n; i++) {  /* tuples of another dimensionality go */
        Val *v = &s.v[i];
        size_t j;
        if (v->kind != VAL_INTS || v->n == (size_t)dim || !s.spec[i].def)
            continue;
        for (j = 1; j < v->n && v->ints[j] == v->ints[0]; j++)
            ;
        if (v->n >= 1 && j == v->n)
            v->kind = VAL_INT, v->i = v->ints[0];   /* (2, 2) -> 2 */
        else
            s.known[i] = 0;
    }
    g = la_sug_get_int(&s, "groups", 1);
    if (g <= 0)
        g = 1;
    if (transposed) {   /* the bias [out] says the groups of [in, out/groups, k...] */
        const LayerTensor *b = la_ft(file, nf, "bias");
        if (la_dims_ok(b, 1) && b->shape[0] % w->shape[1] == 0) {
            g = b->shape[0] / w->shape[1];
            la_sug_int(&s, "groups", g);
        }
    }
    if (__builtin_mul_overflow(w->shape[1], g, transposed ? &o : &in))
        return 0;
    if (transposed)
        in = w->shape[0];
    else
        o = w->shape[0];
    la_sug_int(&s, "in_channels", in);
    la_sug_int(&s, "out_channels", o);
    la_sug_ints(&s, "kernel_size", w->shape + 2, dim);
    la_sug_bool(&s, "bias", la_ft(file, nf, "bias") != NULL);
    return la_sug_write(&s, buf, cap);
}

static int s_conv(SUGGEST_ARGS) { return conv_suggest(args, file, nf, buf, cap, 0); }
static int s_convt(SUGGEST_ARGS) { return conv_suggest(args, file, nf, buf, cap, 1); }

/* ------------------------------------------------------- normalization */

static const LayerArg BN_ARGS[] = {
    {"num_features", VAL_INT, NULL},
    {"eps", VAL_FLOAT, "1e-05"},
    {"momentum", VAL_FLOAT, "0.1"},     /* also none */
    {"affine", VAL_BOOL, "true"},
    {"track_running_stats", VAL_BOOL, "true"},
};

static const LayerArg IN_ARGS[] = {
    {"num_features", VAL_INT, NULL},
    {"eps", VAL_FLOAT, "1e-05"},
    {"momentum", VAL_FLOAT, "0.1"},     /* also none */
    {"affine", VAL_BOOL, "false"},
    {"track_running_stats", VAL_BOOL, "false"},
};

/* torch's _NormBase: BatchNormNd and InstanceNormNd. */
static int norm_expand(LayerCtx *c, const Val *a, const LayerArg *spec)
{
    int64_t n;

    if (la_check_kinds(c, spec, LAYER_NARGS(BN_ARGS), a, 1u << 2) ||
        la_get_size(c, &a[0], "num_features", &n))
        return -1;
    if (!la_is_none(&a[2]) && a[2].kind != VAL_FLOAT && a[2].kind != VAL_INT)
        return la_kind_err(c, "momentum", "a number or none", &a[2]);
    if (a[3].i) {
        PARAM(c, "weight", n);
        PARAM(c, "bias", n);
    }
    if (a[4].i) {
        BUFFER(c, "running_mean", n);
        BUFFER(c, "running_var", n);
        la_put(c, "num_batches_tracked", 1, RCC_I64, NULL, 0);
    }
    return la_finish(c);
}

static int x_bn1d(EXPAND_ARGS) { LayerCtx c = CTX("BatchNorm1d"); return norm_expand(&c, a, BN_ARGS); }
static int x_bn2d(EXPAND_ARGS) { LayerCtx c = CTX("BatchNorm2d"); return norm_expand(&c, a, BN_ARGS); }
static int x_bn3d(EXPAND_ARGS) { LayerCtx c = CTX("BatchNorm3d"); return norm_expand(&c, a, BN_ARGS); }
static int x_in1d(EXPAND_ARGS) { LayerCtx c = CTX("InstanceNorm1d"); return norm_expand(&c, a, IN_ARGS); }
static int x_in2d(EXPAND_ARGS) { LayerCtx c = CTX("InstanceNorm2d"); return norm_expand(&c, a, IN_ARGS); }

static int norm_suggest(SUGGEST_ARGS, const char *name, const LayerArg *spec)
{
    const LayerTensor *w = la_ft(file, nf, "weight"), *m = la_ft(file, nf, "running_mean");
    const LayerTensor *src = w ? w : m ? m : la_ft(file, nf, "bias") ? la_ft(file, nf, "bias")
                                                                 : la_ft(file, nf, "running_var");
    LayerSug s;

    la_sug_init(&s, name, spec, LAYER_NARGS(BN_ARGS), args);
    if (src) {
        if (!la_dims_ok(src, 1))
            return 0;
        la_sug_int(&s, "num_features", src->shape[0]);
    }
    la_sug_bool(&s, "affine", w || la_ft(file, nf, "bias"));
    la_sug_bool(&s, "track_running_stats", m || la_ft(file, nf, "running_var") ||
                                            la_ft(file, nf, "num_batches_tracked"));
    return la_sug_write(&s, buf, cap);
}

static int s_bn1d(SUGGEST_ARGS) { return norm_suggest(args, file, nf, buf, cap, "BatchNorm1d", BN_ARGS); }
static int s_bn2d(SUGGEST_ARGS) { return norm_suggest(args, file, nf, buf, cap, "BatchNorm2d", BN_ARGS); }
static int s_bn3d(SUGGEST_ARGS) { return norm_suggest(args, file, nf, buf, cap, "BatchNorm3d", BN_ARGS); }
static int s_in1d(SUGGEST_ARGS) { return norm_suggest(args, file, nf, buf, cap, "InstanceNorm1d", IN_ARGS); }
static int s_in2d(SUGGEST_ARGS) { return norm_suggest(args, file, nf, buf, cap, "InstanceNorm2d", IN_ARGS); }

/* LayerNorm: `bias` is torch 2.1's (torch 1.13 has no such parameter and
 * always has a bias when elementwise_affine); it defaults to true, so a
 * spec that does not use it means the same on either version. */
static const LayerArg LAYERNORM_ARGS[] = {
    {"normalized_shape", VAL_INTS, NULL},
    {"eps", VAL_FLOAT, "1e-05"},
    {"elementwise_affine", VAL_BOOL, "true"},
    {"bias", VAL_BOOL, "true"},
};

static int x_layernorm(EXPAND_ARGS)
{
    LayerCtx c = CTX("LayerNorm");
    int64_t shape[8];
    int nd;

    if (la_check_kinds(&c, LAYERNORM_ARGS, LAYER_NARGS(LAYERNORM_ARGS), a, 0) ||
        la_get_shape(&c, &a[0], "normalized_shape", shape, &nd))
        return -1;
    if (a[2].i) {
        la_put(&c, "weight", 0, RCC_F32, shape, nd);
        if (a[3].i)
            la_put(&c, "bias", 0, RCC_F32, shape, nd);
    }
    return la_finish(&c);
}

static int shape_suggest(LayerSug *s, const LayerTensor *src, const char *arg)
{
    if (src) {
        if (src->ndim < 1 || src->ndim > 8 || !la_dims_ok(src, src->ndim))
            return -1;
        la_sug_ints(s, arg, src->shape, src->ndim);
    }
    return 0;
}

static int s_layernorm(SUGGEST_ARGS)
{
    const LayerTensor *w = la_ft(file, nf, "weight"), *b = la_ft(file, nf, "bias");
    LayerSug s;

    la_sug_init(&s, "LayerNorm", LAYERNORM_ARGS, LAYER_NARGS(LAYERNORM_ARGS), args);
    if (shape_suggest(&s, w ? w : b, "normalized_shape"))
        return 0;
    la_sug_bool(&s, "elementwise_affine", w || b);
    if (w || b)
        la_sug_bool(&s, "bias", b != NULL);
    return la_sug_write(&s, buf, cap);
}

static const LayerArg GROUPNORM_ARGS[] = {
    {"num_groups", VAL_INT, NULL},
    {"num_channels", VAL_INT, NULL},
    {"eps", VAL_FLOAT, "1e-05"},
    {"affine", VAL_BOOL, "true"},
};

static int x_groupnorm(EXPAND_ARGS)
{
    LayerCtx c = CTX("GroupNorm");
    int64_t g, ch;

    if (la_check_kinds(&c, GROUPNORM_ARGS, LAYER_NARGS(GROUPNORM_ARGS), a, 0) ||
        la_get_size(&c, &a[0], "num_groups", &g) || la_get_size(&c, &a[1], "num_channels", &ch))
        return -1;
    if (ch % g)
        return la_bad(&c, "num_channels (%lld) is not divisible by num_groups (%lld)", (long long)ch,
                   (long long)g);
    if (a[3].i) {
        PARAM(&c, "weight", ch);
        PARAM(&c, "bias", ch);
    }
    return la_finish(&c);
}

static int s_groupnorm(SUGGEST_ARGS)
{
    const LayerTensor *w = la_ft(file, nf, "weight"), *b = la_ft(file, nf, "bias"), *src = w ? w : b;
    LayerSug s;

    la_sug_init(&s, "GroupNorm", GROUPNORM_ARGS, LAYER_NARGS(GROUPNORM_ARGS), args);
    if (src) {
        if (!la_dims_ok(src, 1))
            return 0;
        la_sug_int(&s, "num_channels", src->shape[0]);
    }
    la_sug_bool(&s, "affine", src != NULL);
    return la_sug_write(&s, buf, cap);
}

/* RMSNorm is torch 2.4's: torch 1.13 cannot check it (see tests/). */
static const LayerArg RMSNORM_ARGS[] = {
    {"normalized_shape", VAL_INTS, NULL},
    {"eps", VAL_FLOAT, "none"},
    {"elementwise_affine", VAL_BOOL, "true"},
};

static int x_rmsnorm(EXPAND_ARGS)
{
    LayerCtx c = CTX("RMSNorm");
    int64_t shape[8];
    int nd;

    if (la_check_kinds(&c, RMSNORM_ARGS, LAYER_NARGS(RMSNORM_ARGS), a, 0) ||
        la_get_shape(&c, &a[0], "normalized_shape", shape, &nd))
        return -1;
    if (a[2].i)
        la_put(&c, "weight", 0, RCC_F32, shape, nd);
    return la_finish(&c);
}

static int s_rmsnorm(SUGGEST_ARGS)
{
    const LayerTensor *w = la_ft(file, nf, "weight");
    LayerSug s;

    la_sug_init(&s, "RMSNorm", RMSNORM_ARGS, LAYER_NARGS(RMSNORM_ARGS), args);
    if (shape_suggest(&s, w, "normalized_shape"))
        return 0;
    la_sug_bool(&s, "elementwise_affine", w != NULL);
    return la_sug_write(&s, buf, cap);
}

/* ------------------------------------------------------------ Embedding */

static const LayerArg EMBEDDING_ARGS[] = {
    {"num_embeddings", VAL_INT, NULL},
    {"embedding_dim", VAL_INT, NULL},
    {"padding_idx", VAL_INT, "none"},
    {"max_norm", VAL_FLOAT, "none"},
    {"norm_type", VAL_FLOAT, "2.0"},
    {"scale_grad_by_freq", VAL_BOOL, "false"},
    {"sparse", VAL_BOOL, "false"},
    {"_weight", VAL_NONE, "none"},      /* a tensor in torch: holds the position */
};

static const LayerArg EMBEDDINGBAG_ARGS[] = {
    {"num_embeddings", VAL_INT, NULL},
    {"embedding_dim", VAL_INT, NULL},
    {"max_norm", VAL_FLOAT, "none"},
    {"norm_type", VAL_FLOAT, "2.0"},
    {"scale_grad_by_freq", VAL_BOOL, "false"},
    {"mode", VAL_STR, "\"mean\""},
    {"sparse", VAL_BOOL, "false"},
    {"_weight", VAL_NONE, "none"},
    {"include_last_offset", VAL_BOOL, "false"},
    {"padding_idx", VAL_INT, "none"},
};

static int padding_idx(LayerCtx *c, const Val *v, int64_t n)
{
    if (v->kind == VAL_INT && (v->i >= n || v->i < -n))
        return la_bad(c, "padding_idx (%lld) must be within num_embeddings: in [%lld, %lld]",
                   (long long)v->i, (long long)-n, (long long)(n - 1));
    return 0;
}

static int x_embedding(EXPAND_ARGS)
{
    LayerCtx c = CTX("Embedding");
    int64_t n, d;

    if (la_check_kinds(&c, EMBEDDING_ARGS, LAYER_NARGS(EMBEDDING_ARGS), a, 0) ||
        la_get_size(&c, &a[0], "num_embeddings", &n) || la_get_size(&c, &a[1], "embedding_dim", &d) ||
        padding_idx(&c, &a[2], n))
        return -1;
    PARAM(&c, "weight", n, d);
    return la_finish(&c);
}

static int x_embeddingbag(EXPAND_ARGS)
{
    static const char *const modes[] = {"sum", "mean", "max", NULL};
    LayerCtx c = CTX("EmbeddingBag");
    int64_t n, d;

    if (la_check_kinds(&c, EMBEDDINGBAG_ARGS, LAYER_NARGS(EMBEDDINGBAG_ARGS), a, 0) ||
        la_get_size(&c, &a[0], "num_embeddings", &n) || la_get_size(&c, &a[1], "embedding_dim", &d) ||
        la_get_choice(&c, &a[5], "mode", modes, NULL) || padding_idx(&c, &a[9], n))
        return -1;
    PARAM(&c, "weight", n, d);
    return la_finish(&c);
}

static int embedding_suggest(SUGGEST_ARGS, const char *name, const LayerArg *spec, size_t n)
{
    const LayerTensor *w = la_ft(file, nf, "weight");
    LayerSug s;

    if (!la_dims_ok(w, 2))
        return 0;
    la_sug_init(&s, name, spec, n, args);
    la_sug_int(&s, "num_embeddings", w->shape[0]);
    la_sug_int(&s, "embedding_dim", w->shape[1]);
    {   /* a padding_idx that no longer fits goes */
        size_t i = la_sug_ix(&s, "padding_idx");
        if (i < LAYER_MAX_ARGS && s.v[i].kind == VAL_INT && (s.v[i].i >= w->shape[0] || s.v[i].i < -w->shape[0]))
            s.known[i] = 0;
    }
    return la_sug_write(&s, buf, cap);
}

static int s_embedding(SUGGEST_ARGS)
{
    return embedding_suggest(args, file, nf, buf, cap, "Embedding", EMBEDDING_ARGS, LAYER_NARGS(EMBEDDING_ARGS));
}

static int s_embeddingbag(SUGGEST_ARGS)
{
    return embedding_suggest(args, file, nf, buf, cap, "EmbeddingBag", EMBEDDINGBAG_ARGS,
                             LAYER_NARGS(EMBEDDINGBAG_ARGS));
}

/* ------------------------------------------------------------ RNN, LSTM, GRU */

static const LayerArg LSTM_ARGS[] = {
    {"input_size", VAL_INT, NULL},
    {"hidden_size", VAL_INT, NULL},
    {"num_layers", VAL_INT, "1"},
    {"bias", VAL_BOOL, "true"},
    {"batch_first", VAL_BOOL, "false"},
    {"dropout", VAL_FLOAT, "0.0"},
    {"bidirectional", VAL_BOOL, "false"},
    {"proj_size", VAL_INT, "0"},
};

static const LayerArg GRU_ARGS[] = {
    {"input_size", VAL_INT, NULL},
    {"hidden_size", VAL_INT, NULL},
    {"num_layers", VAL_INT, "1"},
    {"bias", VAL_BOOL, "true"},
    {"batch_first", VAL_BOOL, "false"},
    {"dropout", VAL_FLOAT, "0.0"},
    {"bidirectional", VAL_BOOL, "false"},
};

static const LayerArg RNN_ARGS[] = {
    {"input_size", VAL_INT, NULL},
    {"hidden_size", VAL_INT, NULL},
    {"num_layers", VAL_INT, "1"},
    {"nonlinearity", VAL_STR, "\"tanh\""},
    {"bias", VAL_BOOL, "true"},
    {"batch_first", VAL_BOOL, "false"},
    {"dropout", VAL_FLOAT, "0.0"},
    {"bidirectional", VAL_BOOL, "false"},
};

enum { R_LSTM, R_GRU, R_RNN };

/* torch's RNNBase: for each layer, for each direction, weight_ih, weight_hh,
 * bias_ih, bias_hh, weight_hr (LSTM with proj_size > 0). */
static int rnn_expand(LayerCtx *c, const Val *a, int mode)
{
    static const int64_t gates[] = {4, 3, 1};
    const LayerArg *spec = mode == R_LSTM ? LSTM_ARGS : mode == R_GRU ? GRU_ARGS : RNN_ARGS;
    size_t nspec = mode == R_LSTM ? LAYER_NARGS(LSTM_ARGS) : mode == R_GRU ? LAYER_NARGS(GRU_ARGS) : LAYER_NARGS(RNN_ARGS);
    int off = mode == R_RNN;      /* RNN has nonlinearity before bias */
    int64_t in, h, layers, proj = 0, real, gh, l;
    int bias, bidir, d;
    char name[64];

    if (la_check_kinds(c, spec, nspec, a, 0) || la_get_size(c, &a[0], "input_size", &in) ||
        la_get_size(c, &a[1], "hidden_size", &h))
        return -1;
    if (a[2].i < 1)
        return la_bad(c, "num_layers must be at least 1, not %lld", (long long)a[2].i);
    if (a[2].i > 100000)
        return la_bad(c, "num_layers (%lld) is too large", (long long)a[2].i);
    layers = a[2].i;
    if (mode == R_RNN) {
        static const char *const nl[] = {"tanh", "relu", NULL};
        if (la_get_choice(c, &a[3], "nonlinearity", nl, NULL))
            return -1;
    }
    bias = (int)a[3 + off].i;
    if (!(la_num(&a[5 + off]) >= 0 && la_num(&a[5 + off]) <= 1)) {
        char b[64];
        la_fmt_float(la_num(&a[5 + off]), b, sizeof b);
        return la_bad(c, "dropout must be a number in [0, 1], not %s", b);
    }
    bidir = (int)a[6 + off].i;
    if (mode == R_LSTM) {
        proj = a[7].i;
        if (proj < 0)
            return la_bad(c, "proj_size must be 0 (no projection) or positive, not %lld", (long long)proj);
        if (proj >= h)
            return la_bad(c, "proj_size (%lld) must be smaller than hidden_size (%lld)", (long long)proj,
                       (long long)h);
    }
    real = proj > 0 ? proj : h;
    gh = gates[mode] * h;
    for (l = 0; l < layers; l++) {
        for (d = 0; d < 1 + bidir; d++) {
            const char *sfx = d ? "_reverse" : "";
            int64_t lin = l == 0 ? in : real * (1 + bidir);
            snprintf(name, sizeof name, "weight_ih_l%lld%s", (long long)l, sfx);
            PARAM(c, name, gh, lin);
            snprintf(name, sizeof name, "weight_hh_l%lld%s", (long long)l, sfx);
            PARAM(c, name, gh, real);
            if (bias) {
                snprintf(name, sizeof name, "bias_ih_l%lld%s", (long long)l, sfx);
                PARAM(c, name, gh);
                snprintf(name, sizeof name, "bias_hh_l%lld%s", (long long)l, sfx);
                PARAM(c, name, gh);
            }
            if (proj > 0) {
                snprintf(name, sizeof name, "weight_hr_l%lld%s", (long long)l, sfx);
                PARAM(c, name, proj, h);
            }
        }
    }
    return la_finish(c);
}

static int x_lstm(EXPAND_ARGS) { LayerCtx c = CTX("LSTM"); return rnn_expand(&c, a, R_LSTM); }
static int x_gru(EXPAND_ARGS) { LayerCtx c = CTX("GRU"); return rnn_expand(&c, a, R_GRU); }
static int x_rnn(EXPAND_ARGS) { LayerCtx c = CTX("RNN"); return rnn_expand(&c, a, R_RNN); }

/* "weight_ih_l12_reverse" -> kind "weight_ih", layer 12, reverse 1; -1 if
 * the name is not of that form. */
static int rnn_key(const char *name, char *kind, size_t kcap, long *layer, int *reverse)
{
    const char *p = strstr(name, "_l");
    char *end;
    size_t k;

    if (!p)
        return -1;
    k = (size_t)(p - name);
    if (k + 1 > kcap || p[2] < '0' || p[2] > '9')
        return -1;
    memcpy(kind, name, k);
    kind[k] = 0;
    *layer = strtol(p + 2, &end, 10);
    *reverse = !strcmp(end, "_reverse");
    if (*layer < 0 || *layer > 1000000)
        return -1;
    return *end && !*reverse ? -1 : 0;
}

/* Sizes from the key set: input_size from weight_ih_l0 [G*h, in],
 * hidden_size from its first dimension, num_layers from the largest
 * index, bidirectional from any _reverse key, bias from bias_ih_l0,
 * proj_size from weight_hr_l0 [proj, h]. */
static int rnn_suggest(SUGGEST_ARGS, int mode)
{
    static const int64_t gates[] = {4, 3, 1};
    static const char *const names[] = {"LSTM", "GRU", "RNN"};
    const LayerTensor *ih = la_ft(file, nf, "weight_ih_l0"), *hr = la_ft(file, nf, "weight_hr_l0");
    long maxl = -1, l;
    int rev = 0, r;
    size_t i;
    char kind[64];
    LayerSug s;

    if (!la_dims_ok(ih, 2) || ih->shape[0] % gates[mode])
        return 0;
    for (i = 0; i < nf; i++) {
        if (file[i].ndim < 0 || rnn_key(file[i].name, kind, sizeof kind, &l, &r))
            continue;
        if (l > maxl)
            maxl = l;
        rev |= r;
    }
    la_sug_init(&s, names[mode], mode == R_LSTM ? LSTM_ARGS : mode == R_GRU ? GRU_ARGS : RNN_ARGS,
             mode == R_LSTM ? LAYER_NARGS(LSTM_ARGS) : mode == R_GRU ? LAYER_NARGS(GRU_ARGS) : LAYER_NARGS(RNN_ARGS), args);
    la_sug_int(&s, "input_size", ih->shape[1]);
    la_sug_int(&s, "hidden_size", ih->shape[0] / gates[mode]);
    la_sug_int(&s, "num_layers", maxl + 1);
    la_sug_bool(&s, "bias", la_ft(file, nf, "bias_ih_l0") || la_ft(file, nf, "bias_hh_l0"));
    la_sug_bool(&s, "bidirectional", rev);
    if (mode == R_LSTM)
        la_sug_int(&s, "proj_size", la_dims_ok(hr, 2) ? hr->shape[0] : 0);
    return la_sug_write(&s, buf, cap);
}

static int s_lstm(SUGGEST_ARGS) { return rnn_suggest(args, file, nf, buf, cap, R_LSTM); }
static int s_gru(SUGGEST_ARGS) { return rnn_suggest(args, file, nf, buf, cap, R_GRU); }
static int s_rnn(SUGGEST_ARGS) { return rnn_suggest(args, file, nf, buf, cap, R_RNN); }

/* ---------------------------------------------------- MultiheadAttention */

static const LayerArg MHA_ARGS[] = {
    {"embed_dim", VAL_INT, NULL},
    {"num_heads", VAL_INT, NULL},
    {"dropout", VAL_FLOAT, "0.0"},
    {"bias", VAL_BOOL, "true"},
    {"add_bias_kv", VAL_BOOL, "false"},
    {"add_zero_attn", VAL_BOOL, "false"},
    {"kdim", VAL_INT, "none"},
    {"vdim", VAL_INT, "none"},
    {"batch_first", VAL_BOOL, "false"},
};

/* in_proj_weight [3E, E] (or q/k/v_proj_weight when kdim or vdim differ
 * from E), in_proj_bias, bias_k, bias_v, then the out_proj Linear. */
static int x_mha(EXPAND_ARGS)
{
    LayerCtx c = CTX("MultiheadAttention");
    int64_t e, h, kd, vd;

    if (la_check_kinds(&c, MHA_ARGS, LAYER_NARGS(MHA_ARGS), a, 0) || la_get_size(&c, &a[0], "embed_dim", &e) ||
        la_get_size(&c, &a[1], "num_heads", &h))
        return -1;
    if (e % h)
        return la_bad(&c, "embed_dim (%lld) is not divisible by num_heads (%lld)", (long long)e, (long long)h);
    kd = vd = e;
    if ((!la_is_none(&a[6]) && la_get_size(&c, &a[6], "kdim", &kd)) ||
        (!la_is_none(&a[7]) && la_get_size(&c, &a[7], "vdim", &vd)))
        return -1;
    if (kd == e && vd == e) {
        PARAM(&c, "in_proj_weight", 3 * e, e);
    } else {
        PARAM(&c, "q_proj_weight", e, e);
        PARAM(&c, "k_proj_weight", e, kd);
        PARAM(&c, "v_proj_weight", e, vd);
    }
    if (a[3].i)
        PARAM(&c, "in_proj_bias", 3 * e);
    if (a[4].i) {
        PARAM(&c, "bias_k", 1, 1, e);
        PARAM(&c, "bias_v", 1, 1, e);
    }
    PARAM(&c, "out_proj.weight", e, e);
    if (a[3].i)
        PARAM(&c, "out_proj.bias", e);
    return la_finish(&c);
}

/* embed_dim from out_proj.weight (or the input projections); num_heads
 * cannot be seen in the weights: the spec's is kept (no spec: no call). */
static int s_mha(SUGGEST_ARGS)
{
    const LayerTensor *o = la_ft(file, nf, "out_proj.weight"), *in = la_ft(file, nf, "in_proj_weight");
    const LayerTensor *q = la_ft(file, nf, "q_proj_weight"), *k = la_ft(file, nf, "k_proj_weight");
    const LayerTensor *v = la_ft(file, nf, "v_proj_weight");
    int64_t e;
    LayerSug s;

    if (la_dims_ok(o, 2))
        e = o->shape[0];
    else if (la_dims_ok(in, 2))
        e = in->shape[1];
    else if (la_dims_ok(q, 2))
        e = q->shape[0];
    else
        return 0;
    la_sug_init(&s, "MultiheadAttention", MHA_ARGS, LAYER_NARGS(MHA_ARGS), args);
    la_sug_int(&s, "embed_dim", e);
    /* kdim, vdim: from the separate projections, or none */
    s.v[6].kind = s.v[7].kind = VAL_NONE;
    s.known[6] = s.known[7] = 1;
    if (la_dims_ok(k, 2) && k->shape[1] != e)
        la_sug_int(&s, "kdim", k->shape[1]);
    if (la_dims_ok(v, 2) && v->shape[1] != e)
        la_sug_int(&s, "vdim", v->shape[1]);
    la_sug_bool(&s, "bias", la_ft(file, nf, "in_proj_bias") || la_ft(file, nf, "out_proj.bias"));
    la_sug_bool(&s, "add_bias_kv", la_ft(file, nf, "bias_k") || la_ft(file, nf, "bias_v"));
    return la_sug_write(&s, buf, cap);
}

/* --------------------------------------------------------------- PReLU */

static const LayerArg PRELU_ARGS[] = {
    {"num_parameters", VAL_INT, "1"},
    {"init", VAL_FLOAT, "0.25"},
};

static int x_prelu(EXPAND_ARGS)
{
    LayerCtx c = CTX("PReLU");
    int64_t n;

    if (la_check_kinds(&c, PRELU_ARGS, LAYER_NARGS(PRELU_ARGS), a, 0) ||
        la_get_size(&c, &a[0], "num_parameters", &n))
        return -1;
    PARAM(&c, "weight", n);
    return la_finish(&c);
}

static int s_prelu(SUGGEST_ARGS)
{
    const LayerTensor *w = la_ft(file, nf, "weight");
    LayerSug s;

    if (!la_dims_ok(w, 1))
        return 0;
    la_sug_init(&s, "PReLU", PRELU_ARGS, LAYER_NARGS(PRELU_ARGS), args);
    s.npos = 1;
    la_sug_int(&s, "num_parameters", w->shape[0]);
    return la_sug_write(&s, buf, cap);
}

/* ------------------------------------------------- layers without tensors */

static const LayerArg INPLACE_ARGS[] = {{"inplace", VAL_BOOL, "false"}};
static const LayerArg LEAKYRELU_ARGS[] = {{"negative_slope", VAL_FLOAT, "0.01"}, {"inplace", VAL_BOOL, "false"}};
static const LayerArg ELU_ARGS[] = {{"alpha", VAL_FLOAT, "1.0"}, {"inplace", VAL_BOOL, "false"}};
static const LayerArg GELU_ARGS[] = {{"approximate", VAL_STR, "\"none\""}};
static const LayerArg HARDTANH_ARGS[] = {
    {"min_val", VAL_FLOAT, "-1.0"},
    {"max_val", VAL_FLOAT, "1.0"},
    {"inplace", VAL_BOOL, "false"},
    {"min_value", VAL_FLOAT, "none"},   /* deprecated spellings: override */
    {"max_value", VAL_FLOAT, "none"},
};
static const LayerArg SOFTMAX_ARGS[] = {{"dim", VAL_INT, "none"}};
static const LayerArg SOFTPLUS_ARGS[] = {{"beta", VAL_FLOAT, "1.0"}, {"threshold", VAL_FLOAT, "20.0"}};
static const LayerArg DROPOUT_ARGS[] = {{"p", VAL_FLOAT, "0.5"}, {"inplace", VAL_BOOL, "false"}};
static const LayerArg STOCHDEPTH_ARGS[] = {{"p", VAL_FLOAT, NULL}, {"mode", VAL_STR, NULL}};
static const LayerArg FLATTEN_ARGS[] = {{"start_dim", VAL_INT, "1"}, {"end_dim", VAL_INT, "-1"}};
static const LayerArg UNFLATTEN_ARGS[] = {{"dim", VAL_INT, NULL}, {"unflattened_size", VAL_INTS, NULL}};
static const LayerArg MAXPOOL_ARGS[] = {
    {"kernel_size", VAL_INTS, NULL},
    {"stride", VAL_INTS, "none"},
    {"padding", VAL_INTS, "0"},
    {"dilation", VAL_INTS, "1"},
    {"return_indices", VAL_BOOL, "false"},
    {"ceil_mode", VAL_BOOL, "false"},
};
static const LayerArg AVGPOOL1D_ARGS[] = {
    {"kernel_size", VAL_INTS, NULL},
    {"stride", VAL_INTS, "none"},
    {"padding", VAL_INTS, "0"},
    {"ceil_mode", VAL_BOOL, "false"},
    {"count_include_pad", VAL_BOOL, "true"},
};
static const LayerArg AVGPOOL2D_ARGS[] = {
    {"kernel_size", VAL_INTS, NULL},
    {"stride", VAL_INTS, "none"},
    {"padding", VAL_INTS, "0"},
    {"ceil_mode", VAL_BOOL, "false"},
    {"count_include_pad", VAL_BOOL, "true"},
    {"divisor_override", VAL_INT, "none"},
};
static const LayerArg ADAPTIVE_ARGS[] = {{"output_size", VAL_INTS, NULL}};
static const LayerArg ADAPTIVEMAX_ARGS[] = {{"output_size", VAL_INTS, NULL}, {"return_indices", VAL_BOOL, "false"}};
static const LayerArg UPSAMPLE_ARGS[] = {
    {"size", VAL_INTS, "none"},
    {"scale_factor", VAL_FLOAT, "none"},   /* also a tuple */
    {"mode", VAL_STR, "\"nearest\""},
    {"align_corners", VAL_BOOL, "none"},
    {"recompute_scale_factor", VAL_BOOL, "none"},
};
static const LayerArg PIXELSHUFFLE_ARGS[] = {{"upscale_factor", VAL_INT, NULL}};
static const LayerArg PAD_ARGS[] = {{"padding", VAL_INTS, NULL}};
static const LayerArg CONSTPAD_ARGS[] = {{"padding", VAL_INTS, NULL}, {"value", VAL_FLOAT, NULL}};

/* Range checks beyond the kinds, one per layer that has any. */
typedef int (*Check)(LayerCtx *c, const Val *a);

static int ck_none(LayerCtx *c, const Val *a) { (void)c, (void)a; return 0; }

static int ck_gelu(LayerCtx *c, const Val *a)
{
    static const char *const ok[] = {"none", "tanh", NULL};
    return la_get_choice(c, &a[0], "approximate", ok, NULL);
}

static int ck_hardtanh(LayerCtx *c, const Val *a)
{
    double lo = la_is_none(&a[3]) ? la_num(&a[0]) : la_num(&a[3]);
    double hi = la_is_none(&a[4]) ? la_num(&a[1]) : la_num(&a[4]);
    char b1[64], b2[64];

    if (!(hi > lo)) {
        la_fmt_float(hi, b1, sizeof b1);
        la_fmt_float(lo, b2, sizeof b2);
        return la_bad(c, "max_val (%s) must be greater than min_val (%s)", b1, b2);
    }
    return 0;
}

static int ck_dropout(LayerCtx *c, const Val *a) { return la_get_prob(c, &a[0], "p"); }

static int ck_stochdepth(LayerCtx *c, const Val *a)
{
    static const char *const modes[] = {"batch", "row", NULL};
    return la_get_prob(c, &a[0], "p") || la_get_choice(c, &a[1], "mode", modes, NULL) ? -1 : 0;
}

static int ck_unflatten(LayerCtx *c, const Val *a)
{
    size_t i, neg = 0;

    if (a[1].kind != VAL_INTS || a[1].n < 1)
        return la_kind_err(c, "unflattened_size", "a tuple of integers", &a[1]);
    for (i = 0; i < a[1].n && i < 8; i++) {
        if (a[1].ints[i] == -1 && !neg++)
            continue;
        if (a[1].ints[i] <= 0)
            return la_bad(c, "unflattened_size must hold positive sizes (and at most one -1), not %lld",
                       (long long)a[1].ints[i]);
    }
    return 0;
}

static int pool_common(LayerCtx *c, const Val *a, size_t dim, int has_dilation)
{
    int64_t k[3], x[3];

    if (la_get_ints(c, &a[0], "kernel_size", dim, 1, k) ||
        (!la_is_none(&a[1]) && la_get_ints(c, &a[1], "stride", dim, 1, x)) ||
        la_get_ints(c, &a[2], "padding", dim, 0, x) ||
        (has_dilation && la_get_ints(c, &a[3], "dilation", dim, 1, x)))
        return -1;
    return 0;
}

static int ck_maxpool1d(LayerCtx *c, const Val *a) { return pool_common(c, a, 1, 1); }
static int ck_maxpool2d(LayerCtx *c, const Val *a) { return pool_common(c, a, 2, 1); }
static int ck_avgpool1d(LayerCtx *c, const Val *a) { return pool_common(c, a, 1, 0); }

static int ck_avgpool2d(LayerCtx *c, const Val *a)
{
    if (pool_common(c, a, 2, 0))
        return -1;
    if (a[5].kind == VAL_INT && a[5].i == 0)
        return la_bad(c, "divisor_override must not be 0");
    return 0;
}

static int ck_adaptive1d(LayerCtx *c, const Val *a)
{
    int64_t x[1];
    return la_get_ints(c, &a[0], "output_size", 1, 1, x);
}

static int ck_adaptive2d(LayerCtx *c, const Val *a)
{
    int64_t x[2];
    return la_get_ints(c, &a[0], "output_size", 2, 1, x);
}

static int ck_upsample(LayerCtx *c, const Val *a)
{
    static const char *const modes[] = {"nearest", "linear", "bilinear", "bicubic", "trilinear",
                                        "area", "nearest-exact", NULL};
    size_t i;

    if (la_is_none(&a[0]) == la_is_none(&a[1]))
        return la_bad(c, la_is_none(&a[0]) ? "Upsample needs size or scale_factor"
                                     : "Upsample takes size or scale_factor, not both");
    if (!la_is_none(&a[0])) {
        int64_t x[8];
        if (a[0].kind == VAL_INTS && (a[0].n < 1 || a[0].n > 3))
            return la_kind_err(c, "size", "an integer or a tuple of 1 to 3 integers", &a[0]);
        if (la_get_ints(c, &a[0], "size", a[0].kind == VAL_INTS ? a[0].n : 1, 1, x))
            return -1;
    }
    if (a[1].kind == VAL_INTS) {
        for (i = 0; i < a[1].n && i < 8; i++)
            if (a[1].ints[i] <= 0)
                return la_bad(c, "scale_factor must be positive");
    } else if (a[1].kind == VAL_INT || a[1].kind == VAL_FLOAT) {
        if (!(la_num(&a[1]) > 0))
            return la_bad(c, "scale_factor must be positive");
    } else if (a[1].kind == VAL_LIST) {   /* (1.7, 0.5): numbers per dimension */
        if (a[1].n < 1 || a[1].n > 3)
            return la_kind_err(c, "scale_factor", "a number or a tuple of 1 to 3 numbers", &a[1]);
        for (i = 0; i < a[1].n; i++)
            if ((a[1].items[i].kind != VAL_INT && a[1].items[i].kind != VAL_FLOAT) || !(la_num(&a[1].items[i]) > 0))
                return la_bad(c, "scale_factor must be positive numbers");
    } else if (!la_is_none(&a[1])) {
        return la_kind_err(c, "scale_factor", "a number, a tuple or none", &a[1]);
    }
    return la_get_choice(c, &a[2], "mode", modes, NULL);
}

static int ck_pixelshuffle(LayerCtx *c, const Val *a)
{
    int64_t f;
    return la_get_size(c, &a[0], "upscale_factor", &f);
}

static int ck_pad_any(LayerCtx *c, const Val *a)     /* ZeroPad2d, ConstantPad2d: may crop */
{
    int64_t x[4];
    return la_get_ints(c, &a[0], "padding", 4, -LAYER_MAX_DIM, x);
}

static int ck_pad_pos(LayerCtx *c, const Val *a)     /* ReflectionPad2d */
{
    int64_t x[4];
    return la_get_ints(c, &a[0], "padding", 4, 0, x);
}

static int plain(EXPAND_ARGS, const char *name, const LayerArg *spec, size_t n, unsigned skip, Check ck)
{
    LayerCtx c = CTX(name);

    if (la_check_kinds(&c, spec, n, a, skip) || ck(&c, a))
        return -1;
    return la_finish(&c);
}

/* One expand function per layer without tensors. */
#define PLAIN(fn, name, spec, skip, ck) \
    static int fn(EXPAND_ARGS) { return plain(a, out, cap, err, errlen, name, spec, LAYER_NARGS(spec), skip, ck); }
#define PLAIN0(fn, name) \
    static int fn(EXPAND_ARGS) { return plain(a, out, cap, err, errlen, name, NULL, 0, 0, ck_none); }

PLAIN(x_relu, "ReLU", INPLACE_ARGS, 0, ck_none)
PLAIN(x_relu6, "ReLU6", INPLACE_ARGS, 0, ck_none)
PLAIN(x_leakyrelu, "LeakyReLU", LEAKYRELU_ARGS, 0, ck_none)
PLAIN(x_elu, "ELU", ELU_ARGS, 0, ck_none)
PLAIN(x_gelu, "GELU", GELU_ARGS, 0, ck_gelu)
PLAIN(x_silu, "SiLU", INPLACE_ARGS, 0, ck_none)
PLAIN(x_mish, "Mish", INPLACE_ARGS, 0, ck_none)
PLAIN0(x_sigmoid, "Sigmoid")
PLAIN0(x_tanh, "Tanh")
PLAIN(x_hardswish, "Hardswish", INPLACE_ARGS, 0, ck_none)
PLAIN(x_hardsigmoid, "Hardsigmoid", INPLACE_ARGS, 0, ck_none)
PLAIN(x_hardtanh, "Hardtanh", HARDTANH_ARGS, 0, ck_hardtanh)
PLAIN(x_softmax, "Softmax", SOFTMAX_ARGS, 0, ck_none)
PLAIN(x_logsoftmax, "LogSoftmax", SOFTMAX_ARGS, 0, ck_none)
PLAIN(x_softplus, "Softplus", SOFTPLUS_ARGS, 0, ck_none)
PLAIN0(x_identity, "Identity")
PLAIN(x_dropout, "Dropout", DROPOUT_ARGS, 0, ck_dropout)
PLAIN(x_dropout1d, "Dropout1d", DROPOUT_ARGS, 0, ck_dropout)
PLAIN(x_dropout2d, "Dropout2d", DROPOUT_ARGS, 0, ck_dropout)
PLAIN(x_alphadropout, "AlphaDropout", DROPOUT_ARGS, 0, ck_dropout)
PLAIN(x_stochdepth, "StochasticDepth", STOCHDEPTH_ARGS, 0, ck_stochdepth)
PLAIN(x_flatten, "Flatten", FLATTEN_ARGS, 0, ck_none)
PLAIN(x_unflatten, "Unflatten", UNFLATTEN_ARGS, 0, ck_unflatten)
PLAIN(x_maxpool1d, "MaxPool1d", MAXPOOL_ARGS, 0, ck_maxpool1d)
PLAIN(x_maxpool2d, "MaxPool2d", MAXPOOL_ARGS, 0, ck_maxpool2d)
PLAIN(x_avgpool1d, "AvgPool1d", AVGPOOL1D_ARGS, 0, ck_avgpool1d)
PLAIN(x_avgpool2d, "AvgPool2d", AVGPOOL2D_ARGS, 0, ck_avgpool2d)
PLAIN(x_adaptiveavg1d, "AdaptiveAvgPool1d", ADAPTIVE_ARGS, 0, ck_adaptive1d)
PLAIN(x_adaptiveavg2d, "AdaptiveAvgPool2d", ADAPTIVE_ARGS, 0, ck_adaptive2d)
PLAIN(x_adaptivemax2d, "AdaptiveMaxPool2d", ADAPTIVEMAX_ARGS, 0, ck_adaptive2d)
PLAIN(x_upsample, "Upsample", UPSAMPLE_ARGS, 1u << 1, ck_upsample)
PLAIN(x_pixelshuffle, "PixelShuffle", PIXELSHUFFLE_ARGS, 0, ck_pixelshuffle)
PLAIN(x_zeropad2d, "ZeroPad2d", PAD_ARGS, 0, ck_pad_any)
PLAIN(x_constantpad2d, "ConstantPad2d", CONSTPAD_ARGS, 0, ck_pad_any)
PLAIN(x_reflectionpad2d, "ReflectionPad2d", PAD_ARGS, 0, ck_pad_pos)

/* ---------------------------------------------------------------- table */

#define L(name, args, x, s) {name, args, LAYER_NARGS(args), x, s}
#define L0(name, args, x) {name, args, LAYER_NARGS(args), x, la_suggest_none}
#define L00(name, x) {name, NULL, 0, x, la_suggest_none}

static const Layer LAYERS[] = {
    L("Linear", LINEAR_ARGS, x_linear, s_linear),
    L("Bilinear", BILINEAR_ARGS, x_bilinear, s_bilinear),
    L("Conv1d", CONV_ARGS, x_conv1d, s_conv),
    L("Conv2d", CONV_ARGS, x_conv2d, s_conv),
    L("Conv3d", CONV_ARGS, x_conv3d, s_conv),
    L("ConvTranspose1d", CONVT_ARGS, x_convt1d, s_convt),
    L("ConvTranspose2d", CONVT_ARGS, x_convt2d, s_convt),
    L("BatchNorm1d", BN_ARGS, x_bn1d, s_bn1d),
    L("BatchNorm2d", BN_ARGS, x_bn2d, s_bn2d),
    L("BatchNorm3d", BN_ARGS, x_bn3d, s_bn3d),
    L("InstanceNorm1d", IN_ARGS, x_in1d, s_in1d),
    L("InstanceNorm2d", IN_ARGS, x_in2d, s_in2d),
    L("LayerNorm", LAYERNORM_ARGS, x_layernorm, s_layernorm),
    L("GroupNorm", GROUPNORM_ARGS, x_groupnorm, s_groupnorm),
    L("RMSNorm", RMSNORM_ARGS, x_rmsnorm, s_rmsnorm),
    L("Embedding", EMBEDDING_ARGS, x_embedding, s_embedding),
    L("EmbeddingBag", EMBEDDINGBAG_ARGS, x_embeddingbag, s_embeddingbag),
    L("LSTM", LSTM_ARGS, x_lstm, s_lstm),
    L("GRU", GRU_ARGS, x_gru, s_gru),
    L("RNN", RNN_ARGS, x_rnn, s_rnn),
    L("MultiheadAttention", MHA_ARGS, x_mha, s_mha),
    L("PReLU", PRELU_ARGS, x_prelu, s_prelu),
    L0("ReLU", INPLACE_ARGS, x_relu),
    L0("ReLU6", INPLACE_ARGS, x_relu6),
    L0("LeakyReLU", LEAKYRELU_ARGS, x_leakyrelu),
    L0("ELU", ELU_ARGS, x_elu),
    L0("GELU", GELU_ARGS, x_gelu),
    L0("SiLU", INPLACE_ARGS, x_silu),
    L0("Mish", INPLACE_ARGS, x_mish),
    L00("Sigmoid", x_sigmoid),
    L00("Tanh", x_tanh),
    L0("Hardswish", INPLACE_ARGS, x_hardswish),
    L0("Hardsigmoid", INPLACE_ARGS, x_hardsigmoid),
    L0("Hardtanh", HARDTANH_ARGS, x_hardtanh),
    L0("Softmax", SOFTMAX_ARGS, x_softmax),
    L0("LogSoftmax", SOFTMAX_ARGS, x_logsoftmax),
    L0("Softplus", SOFTPLUS_ARGS, x_softplus),
    L00("Identity", x_identity),
    L0("Dropout", DROPOUT_ARGS, x_dropout),
    L0("Dropout1d", DROPOUT_ARGS, x_dropout1d),
    L0("Dropout2d", DROPOUT_ARGS, x_dropout2d),
    L0("AlphaDropout", DROPOUT_ARGS, x_alphadropout),
    L0("StochasticDepth", STOCHDEPTH_ARGS, x_stochdepth),
    L0("Flatten", FLATTEN_ARGS, x_flatten),
    L0("Unflatten", UNFLATTEN_ARGS, x_unflatten),
    L0("MaxPool1d", MAXPOOL_ARGS, x_maxpool1d),
    L0("MaxPool2d", MAXPOOL_ARGS, x_maxpool2d),
    L0("AvgPool1d", AVGPOOL1D_ARGS, x_avgpool1d),
    L0("AvgPool2d", AVGPOOL2D_ARGS, x_avgpool2d),
    L0("AdaptiveAvgPool1d", ADAPTIVE_ARGS, x_adaptiveavg1d),
    L0("AdaptiveAvgPool2d", ADAPTIVE_ARGS, x_adaptiveavg2d),
    L0("AdaptiveMaxPool2d", ADAPTIVEMAX_ARGS, x_adaptivemax2d),
    L0("Upsample", UPSAMPLE_ARGS, x_upsample),
    L0("PixelShuffle", PIXELSHUFFLE_ARGS, x_pixelshuffle),
    L0("ZeroPad2d", PAD_ARGS, x_zeropad2d),
    L0("ConstantPad2d", CONSTPAD_ARGS, x_constantpad2d),
    L0("ReflectionPad2d", PAD_ARGS, x_reflectionpad2d),
};

const Layer *cat_find(const char *name)
{
    size_t i;

    for (i = 0; name && i < LAYER_NARGS(LAYERS); i++)
        if (!strcmp(LAYERS[i].name, name))
            return &LAYERS[i];
    return NULL;
}

const Layer *cat_at(size_t i) { return i < LAYER_NARGS(LAYERS) ? &LAYERS[i] : NULL; }

size_t cat_count(void) { return LAYER_NARGS(LAYERS); }
