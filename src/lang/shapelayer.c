/* shapelayer.c — the built-in layers' forward rules.
 *
 * A call of a child module that is a built-in layer (catalog.c) comes here
 * with the layer's bound constructor arguments (Instance.args) and the
 * call's evaluated arguments.  The rule checks what torch's forward would
 * check of the input (Linear's in_features, a convolution's channels and
 * rank, LayerNorm's trailing dimensions, Embedding's integer indices) and
 * computes the output type with torch's formulas (convolution and pooling
 * windows with stride, padding, dilation and ceil_mode; RNN outputs and
 * states; MultiheadAttention's weights).  Errors carry a note at the
 * layer's declaration.
 */
#include <stdio.h>
#include <string.h>

#include "shapes.h"

/* ---------------------------------------------------------------- layers */

static const Val *lv(const Instance *in, const char *name)
{
    for (size_t k = 0; in->layer && k < in->layer->nargs && k < in->nargs; k++)
        if (!strcmp(in->layer->args[k].name, name)) return &in->args[k];
    return NULL;
}

/* Integer argument name (component j of a tuple), or def. */
static int64_t li(const Instance *in, const char *name, int j, int64_t def)
{
    const Val *v = lv(in, name);
    if (!v) return def;
    if (v->kind == VAL_INT || v->kind == VAL_BOOL) return v->i;
    if (v->kind == VAL_INTS && v->n) return v->ints[(size_t)j < v->n ? (size_t)j : v->n - 1];
    return def;
}

Dim sh_window(Dim L, int64_t k, int64_t st, int64_t p, int64_t dil, int ceil_mode, int *bad)
{
    int64_t eff = dil * (k - 1);
    if (!known(L)) return st == 1 && 2 * p == eff ? L : UNK;
    int64_t num = L.n + 2 * p - eff - 1;
    if (num < 0 || st <= 0) {
        *bad = 1;
        return UNK;
    }
    int64_t o = ceil_mode ? (num + st - 1) / st + 1 : num / st + 1;
    if (ceil_mode && (o - 1) * st >= L.n + p) o--;
    return exact(o);
}

static int layer_nd(const char *n)
{
    size_t l = strlen(n);
    return l > 2 && n[l - 1] == 'd' ? n[l - 2] - '0' : 0;
}

static SV check_dim(Sh *s, const Args *a, const Instance *in, const SV *x, int dim, int64_t want, const char *what)
{
    char txt[128];
    if (dim < 0 || dim >= x->rank || !differ(x->d[dim], exact(want))) return *x;
    return sh_lfail(s, a->span, in, "%s expects %s %lld, got %s", diag_span_text(s->e->d, in->span, txt, sizeof txt), what,
                 (long long)want, sh_ty(x));
}

/* A constructor argument as a call's value: a tuple (VAL_LIST) as a
 * tuple of its items, the others as they are; absent: None. */
static SV val_sv(Sh *s, const Val *v)
{
    SV r = mk(V_CONF);
    if (!v) return r;   /* VAL_NONE */
    if (v->kind != VAL_LIST) {
        r.c = *v;
        return r;
    }
    r = sh_tuple_of(s, v->n);
    for (size_t i = 0; i < v->n && i < r.n; i++) {
        r.items[i] = mk(V_CONF);
        r.items[i].c = v->items[i];
    }
    return r;
}

/* The layers that are a function of torch.nn.functional with the
 * constructor's arguments: Upsample (interpolate), PixelShuffle, the
 * 2-d paddings (pad, with the padding as (left, right, top, bottom)).
 * The function's rule computes the output (not recorded: the layer's
 * node is). */
static SV via_fn(Sh *s, const Instance *in, const Args *a, const SV *x)
{
    const char *n = in->layer->name, *fn;
    Args b;
    memset(&b, 0, sizeof b);
    b.span = a->span;
    b.pos[0] = *x;
    if (!strcmp(n, "Upsample")) {
        fn = "interpolate";
        b.pos[1] = val_sv(s, lv(in, "size"));
        b.pos[2] = val_sv(s, lv(in, "scale_factor"));
        b.pos[3] = val_sv(s, lv(in, "mode"));
        b.pos[4] = val_sv(s, lv(in, "align_corners"));
        b.pos[5] = val_sv(s, lv(in, "recompute_scale_factor"));
        b.npos = 6;
    } else if (!strcmp(n, "PixelShuffle")) {
        fn = "pixel_shuffle";
        b.pos[1] = val_sv(s, lv(in, "upscale_factor"));
        b.npos = 2;
    } else {
        fn = "pad";
        SV p = sh_tuple_of(s, 4);
        for (size_t j = 0; j < 4 && j < p.n; j++) p.items[j] = mk_int(li(in, "padding", (int)j, 0));
        b.pos[1] = p;
        b.pos[2] = conf_str(!strcmp(n, "ReflectionPad2d") ? "reflect" : "constant");
        b.pos[3] = !strcmp(n, "ConstantPad2d") ? val_sv(s, lv(in, "value")) : conf_float(0.0);
        b.npos = 4;
    }
    for (size_t i = 0; i < b.npos; i++) b.pspan[i] = a->span;
    struct Trace *tr = s->tr;
    s->tr = NULL;
    SV y = sh_fn_call(s, NS_F, fn, &b);
    s->tr = tr;
    return y;
}

/* A max pooling layer built with return_indices=True gives (output,
 * indices of the same shape, int64); anything else its output. */
static SV with_indices(Sh *s, const Instance *in, const SV *y)
{
    if (!strstr(in->layer->name, "MaxPool") || !li(in, "return_indices", 0, 0)) return *y;
    SV ix = *y;
    ix.dtype = "i64";
    return sh_pair(s, y, &ix);
}

SV sh_layer_fwd(Sh *s, const Instance *in, const Args *a)
{
    const char *n = in->layer->name;
    char txt[128];
    const char *self = diag_span_text(s->e->d, in->span, txt, sizeof txt);
    SV x;
    int rnn = !strcmp(n, "LSTM") || !strcmp(n, "GRU") || !strcmp(n, "RNN"), mha = !strcmp(n, "MultiheadAttention");
    size_t maxin = mha ? 7 : !strcmp(n, "EmbeddingBag") ? 3 : rnn || !strcmp(n, "Bilinear") ? 2 : 1;
    if (a->npos > maxin)
        return sh_lfail(s, a->span, in, "%s takes %zu input%s, got %zu", n, maxin, maxin > 1 ? "s" : "", a->npos);
    if (!sh_get_t(s, a, 0, "input", n, &x)) return x;
    if (x.rank < 0)
        return rnn || mha ? mk(V_ANY) : x;
    int nd = layer_nd(n), bad = 0;
    if (!strcmp(n, "Linear")) {
        if (x.rank < 1) return sh_lfail(s, a->span, in, "%s expects at least 1 dimension, got %s", self, sh_ty(&x));
        int64_t f = li(in, "in_features", 0, -1);
        if (differ(x.d[x.rank - 1], exact(f)))
            return sh_lfail(s, a->span, in, "%s expects the last dimension %lld, got %s", self, (long long)f, sh_ty(&x));
        x.d[x.rank - 1] = exact(li(in, "out_features", 0, -1));
        return x;
    }
    if (!strncmp(n, "Conv", 4) || (strstr(n, "Pool") && strncmp(n, "Adaptive", 8) != 0)) {
        int conv = n[0] == 'C', tr = !strncmp(n, "ConvTranspose", 13);
        if (x.rank != nd + 1 && x.rank != nd + 2)
            return sh_lfail(s, a->span, in, "%s expects a %d-d or %d-d input, got %s", self, nd + 1, nd + 2, sh_ty(&x));
        int c = x.rank - nd - 1;
        if (conv) {
            int64_t cin = li(in, "in_channels", 0, -1);
            if (differ(x.d[c], exact(cin)))
                return sh_lfail(s, a->span, in, "%s expects %lld input channels (dimension %d), got %s", self,
                             (long long)cin, c, sh_ty(&x));
            x.d[c] = exact(li(in, "out_channels", 0, -1));
        }
        const SV x0 = x;
        const Val *pv = lv(in, "padding");
        int same = pv && pv->kind == VAL_STR && !strcmp(pv->s, "same");
        for (int j = 0; j < nd; j++) {
            Dim *L = &x.d[c + 1 + j];
            int64_t k = li(in, "kernel_size", j, 1), st = li(in, "stride", j, k), p = li(in, "padding", j, 0);
            int64_t dil = li(in, "dilation", j, 1);
            if (pv && pv->kind == VAL_STR) p = 0;
            if (same) continue;
            if (tr) {
                int64_t op = li(in, "output_padding", j, 0);
                *L = known(*L) ? exact((L->n - 1) * st - 2 * p + dil * (k - 1) + op + 1)
                   : st == 1 && dil * (k - 1) + op == 2 * p ? *L : UNK;
            } else {
                *L = sh_window(*L, k, st, p, dil, (int)li(in, "ceil_mode", 0, 0), &bad);
            }
            if (bad)
                return sh_lfail(s, a->span, in, "%s: the input %s is smaller than the kernel in dimension %d", self,
                             sh_ty(&x0), c + 1 + j);
        }
        return with_indices(s, in, &x);
    }
    if (!strncmp(n, "Adaptive", 8)) {
        if (x.rank != nd + 1 && x.rank != nd + 2)
            return sh_lfail(s, a->span, in, "%s expects a %d-d or %d-d input, got %s", self, nd + 1, nd + 2, sh_ty(&x));
        for (int j = 0; j < nd; j++) x.d[x.rank - nd + j] = exact(li(in, "output_size", j, 1));
        return with_indices(s, in, &x);
    }
    if (!strncmp(n, "BatchNorm", 9) || !strncmp(n, "InstanceNorm", 12)) {
        int bn = n[0] == 'B', ok = bn ? (nd == 1 ? x.rank == 2 || x.rank == 3 : x.rank == nd + 2)
                                      : x.rank == nd + 1 || x.rank == nd + 2;
        if (!ok)
            return sh_lfail(s, a->span, in, "%s expects a %s input, got %s", self,
                         nd == 1 ? "2-d or 3-d" : nd == 2 ? (bn ? "4-d" : "3-d or 4-d") : "5-d", sh_ty(&x));
        return check_dim(s, a, in, &x, x.rank - nd - 1 + (bn && nd == 1 && x.rank == 2), li(in, "num_features", 0, -1),
                         "num_features");
    }
    if (!strcmp(n, "GroupNorm")) {
        if (x.rank < 2) return sh_lfail(s, a->span, in, "%s expects at least 2 dimensions, got %s", self, sh_ty(&x));
        return check_dim(s, a, in, &x, 1, li(in, "num_channels", 0, -1), "channels (dimension 1)");
    }
    if (!strcmp(n, "LayerNorm") || !strcmp(n, "RMSNorm")) {   /* normalized_shape: the trailing dims */
        const Val *v = lv(in, "normalized_shape");
        SV want = mk_tensor(x.dtype, v && v->kind == VAL_INTS ? (int)v->n : 1);
        int bad_shape = want.rank > x.rank;
        for (int i = 0; i < want.rank; i++) {
            want.d[i] = exact(li(in, "normalized_shape", i, -1));
            bad_shape |= !bad_shape && differ(x.d[x.rank - want.rank + i], want.d[i]);
        }
        if (bad_shape)
            return sh_lfail(s, a->span, in, "%s expects the trailing dimensions %s, got %s", self, sh_ty(&want), sh_ty(&x));
        return x;
    }
    if (!strcmp(n, "Embedding")) {
        if (is_float_dtype(x.dtype))
            return sh_lfail(s, a->span, in, "%s expects integer indices, got a %s tensor", self, x.dtype);
        if (x.rank >= MAXR) return sh_lfail(s, a->span, in, "too many dimensions");
        x.d[x.rank++] = exact(li(in, "embedding_dim", 0, -1));
        x.dtype = "f32";
        return x;
    }
    if (rnn) {
        if (x.rank != 2 && x.rank != 3)
            return sh_lfail(s, a->span, in, "%s expects a 2-d or 3-d input, got %s", self, sh_ty(&x));
        int64_t isz = li(in, "input_size", 0, -1), h = li(in, "hidden_size", 0, -1), nl = li(in, "num_layers", 0, 1);
        int64_t D = li(in, "bidirectional", 0, 0) ? 2 : 1, proj = li(in, "proj_size", 0, 0), ho = proj > 0 ? proj : h;
        int bf = (int)li(in, "batch_first", 0, 0) && x.rank == 3;
        if (differ(x.d[x.rank - 1], exact(isz)))
            return sh_lfail(s, a->span, in, "%s expects the last dimension (input_size) %lld, got %s", self,
                         (long long)isz, sh_ty(&x));
        Dim batch = x.rank == 3 ? x.d[bf ? 0 : 1] : UNK;
        x.d[x.rank - 1] = exact(D * ho);
        SV hs = mk_tensor(x.dtype, x.rank == 3 ? 3 : 2);
        hs.d[0] = exact(D * nl);
        hs.d[1] = x.rank == 3 ? batch : exact(ho);
        hs.d[2] = exact(ho);
        if (n[0] != 'L') return sh_pair(s, &x, &hs);
        SV cs = hs;   /* LSTM: (output, (h, c)) */
        cs.d[cs.rank - 1] = exact(h);
        SV st = sh_pair(s, &hs, &cs);
        return sh_pair(s, &x, &st);
    }
    if (mha) {
        SV k, v;
        if (!sh_get_t(s, a, 1, "key", n, &k) || !sh_get_t(s, a, 2, "value", n, &v))
            return k.kind == V_ERR || v.kind == V_ERR ? mk(V_ERR) : mk(V_ANY);
        int64_t E = li(in, "embed_dim", 0, -1), kd = li(in, "kdim", 0, E), vd = li(in, "vdim", 0, E);   /* none: E */
        if ((x.rank != 2 && x.rank != 3) || k.rank != x.rank || v.rank != x.rank)
            return sh_lfail(s, a->span, in, "%s expects query, key and value of rank 3 (or 2), got %s", self, sh_ty(&x));
        if (differ(x.d[x.rank - 1], exact(E)) || differ(k.d[k.rank - 1], exact(kd)) ||
            differ(v.d[v.rank - 1], exact(vd)))
            return sh_lfail(s, a->span, in, "%s expects query, key, value with last dimensions %lld, %lld, %lld; "
                         "got %s, %s, %s",
                         self, (long long)E, (long long)kd, (long long)vd, sh_ty(&x),
                         sh_ty(&k), sh_ty(&v));
        int bf = (int)li(in, "batch_first", 0, 0) && x.rank == 3, sq = x.rank == 3 ? bf : 0;
        if (differ(k.d[sq], v.d[sq])) return sh_lfail(s, a->span, in, "%s: key and value differ in length", self);
        const SV *nw = sh_arg(a, 4, "need_weights", NULL);
        SV w = mk_tensor(x.dtype, 0);   /* (output, weights averaged over heads) */
        if (x.rank == 3) w.d[w.rank++] = x.d[bf ? 0 : 1];
        w.d[w.rank++] = x.d[sq];
        w.d[w.rank++] = k.d[sq];
        if (nw && nw->kind == V_CONF && !val_truthy(&nw->c)) w = mk(V_CONF);   /* none */
        return sh_pair(s, &x, &w);
    }
    if (!strcmp(n, "Flatten") || !strcmp(n, "Unflatten")) {
        Args b;
        memset(&b, 0, sizeof b);
        b.span = a->span;
        b.npos = 3;
        b.pos[0] = x;
        if (n[0] == 'F') {
            b.pos[1] = mk_int(li(in, "start_dim", 0, 1));
            b.pos[2] = mk_int(li(in, "end_dim", 0, -1));
            return sh_fn_call(s, NS_BARE, "flatten", &b);
        }
        return mk_tensor(x.dtype, -1);   /* Unflatten: not computed */
    }
    if (!strcmp(n, "Softmax") || !strcmp(n, "LogSoftmax")) {
        const Val *dv = lv(in, "dim");
        if (dv && dv->kind == VAL_INT && wrap(dv->i, x.rank) < 0)
            return sh_lfail(s, a->span, in, "%s: dim %lld is out of range for %s", self, (long long)dv->i, sh_ty(&x));
        return x;
    }
    if (strstr(n, "Pad") || !strcmp(n, "Upsample") || !strcmp(n, "PixelShuffle")) return via_fn(s, in, a, &x);
    if (!strcmp(n, "Bilinear")) {   /* x1 (*, in1), x2 (*, in2) -> (*, out) */
        SV x2;
        if (!sh_get_t(s, a, 1, "input2", n, &x2)) return x2.kind == V_ERR ? x2 : mk(V_ANY);
        int64_t i1 = li(in, "in1_features", 0, -1), i2 = li(in, "in2_features", 0, -1);
        if (x.rank < 1 || x2.rank != x.rank || differ(x.d[x.rank - 1], exact(i1)) || differ(x2.d[x2.rank - 1], exact(i2)))
            return sh_lfail(s, a->span, in, "%s expects inputs (*, %lld) and (*, %lld), got %s and %s", self,
                            (long long)i1, (long long)i2, sh_ty(&x), sh_ty(&x2));
        for (int k = 0; k + 1 < x.rank; k++)
            if (differ(x.d[k], x2.d[k]))
                return sh_lfail(s, a->span, in, "%s: the inputs' leading sizes differ: %s and %s", self, sh_ty(&x),
                                sh_ty(&x2));
        x.d[x.rank - 1] = exact(li(in, "out_features", 0, -1));
        return x;
    }
    if (!strcmp(n, "EmbeddingBag")) {   /* (B, L) bags, or ids (n) with offsets (B): -> (B, dim) */
        if (is_float_dtype(x.dtype))
            return sh_lfail(s, a->span, in, "%s expects integer indices, got a %s tensor", self, x.dtype);
        const SV *off = sh_arg(a, 1, "offsets", NULL);
        int has_off = off && off->kind == V_TENSOR;
        if (x.rank != (has_off ? 1 : 2))
            return sh_lfail(s, a->span, in, "%s expects 2-d indices, or 1-d ones with offsets; got %s", self, sh_ty(&x));
        SV y = mk_tensor("f32", 2);
        y.d[0] = has_off ? (off->rank == 1 ? (li(in, "include_last_offset", 0, 0) ? sh_dim_add(s, off->d[0], exact(-1))
                                                                                   : off->d[0]) : UNK) : x.d[0];
        y.d[1] = exact(li(in, "embedding_dim", 0, -1));
        return y;
    }
    return x;   /* activations, dropout, Identity, PReLU, ...: the same shape */
}

