/* emit_layer.c — C for the built-in layers (catalog.c) a forward calls.
 *
 * One emitter a layer family: it reads the layer's constructor arguments
 * from its instance, its input and output sizes from the node's tensors,
 * and prints the kernel call (src/gen/kernels).  Convolutions and linear
 * layers take the activation fused into them (gen.c's plan) and the
 * BatchNorm folded into their weights at load.
 */
#include <stdio.h>
#include <string.h>

#include "gen.h"

/* The rk_act of an activation's name, 0 when it is none (layers: ReLU,
 * GELU; functions: relu, gelu, x.relu()). */
static int act_code(const char *name, const char *approximate)
{
    static const struct { const char *layer, *fn; int code; } acts[] = {   /* code: rk_act, rk_common.h */
        {"ReLU", "relu", 1},       {"ReLU6", "relu6", 2}, {"GELU", "gelu", 3},
        {"SiLU", "silu", 5},       {"Sigmoid", "sigmoid", 6}, {"Tanh", "tanh", 7},
        {"Hardswish", "hardswish", 8}, {"Hardsigmoid", "hardsigmoid", 9},
    };
    for (size_t i = 0; i < sizeof acts / sizeof acts[0]; i++)
        if (!strcmp(name, acts[i].layer) || !strcmp(name, acts[i].fn))
            return acts[i].code == 3 && approximate && !strcmp(approximate, "tanh") ? 4 : acts[i].code;   /* GELU_TANH */
    return 0;
}

/* The C names of rk_act, by emit_act_of's value (the rk_act + 1). */
static const char *const act_names[] = {
    "RK_ACT_NONE", "RK_ACT_NONE", "RK_ACT_RELU", "RK_ACT_RELU6", "RK_ACT_GELU", "RK_ACT_GELU_TANH",
    "RK_ACT_SILU", "RK_ACT_SIGMOID", "RK_ACT_TANH", "RK_ACT_HARDSWISH", "RK_ACT_HARDSIGMOID",
};

const char *emit_act_c(int v) { return v >= 1 && v <= 10 ? act_names[v] : "RK_ACT_NONE"; }

int emit_act_of(G *g, const TNode *n)
{
    if (n->kind == TN_LAYER) {
        const Instance *in = &g->e->insts[n->inst];
        const Val *ap = g_larg(in, "approximate");
        int c = act_code(n->op, ap && ap->kind == VAL_STR ? ap->s : NULL);
        return c ? c + 1 : 0;
    }
    if (n->kind == TN_FN) {
        int c = act_code(n->op, g_str_arg(g_arg(n, "approximate")));
        return c ? c + 1 : 0;
    }
    return 0;
}

/* A layer whose output is its input in eval mode, or a view of it. */
static int layer_alias(const TNode *n)
{
    static const char *const same[] = {"Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout",
                                        "FeatureAlphaDropout", "Identity", "Flatten", "Unflatten",
                                        "StochasticDepth", NULL};
    for (size_t i = 0; same[i]; i++)
        if (!strcmp(n->op, same[i])) return n->nargs ? g_id(&n->args[0].v) : 0;
    return 0;
}

/* Product of dims [from, to) as a C expression. */
static const char *span_numel(G *g, int id, int from, int to)
{
    static char b[8][256];
    static int k;
    k = (k + 1) % 8;
    GTensor *t = g_t(g, id);
    Aff p = {0, 1};
    for (int i = from; i < to && i < t->rank; i++) {
        Aff d = t->d[i];
        if (p.a && d.a) {   /* two batch-dependent factors: keep them as a product */
            snprintf(b[k], sizeof b[k], "(%s * %s)", g_aff(g, p), g_aff(g, d));
            for (int j = i + 1; j < to && j < t->rank; j++) {
                char tmp[256];
                snprintf(tmp, sizeof tmp, "(%s * %s)", b[k], g_dim(g, id, j));
                snprintf(b[k], sizeof b[k], "%s", tmp);
            }
            return b[k];
        }
        p = (Aff){p.a * d.b + d.a * p.b, p.b * d.b};
    }
    snprintf(b[k], sizeof b[k], "%s", g_aff(g, p));
    return b[k];
}

/* The BatchNorm of node bn folded at load into the weights w (O rows) of
 * the layer of node n, with a bias of its own (the layer's, or zeros):
 * its C expression in bias. */
static void bias_fold(G *g, const TNode *n, int bn, const char *w, const char *b, int64_t O, char *bias, size_t cap)
{
    const TNode *bnn = &g->ta.nodes[bn];
    const Instance *bi = &g->e->insts[bnn->inst];
    int64_t per = 1;
    long wi = g_weight_index(g, n->inst, "weight");
    for (int d = 1; wi >= 0 && d < g->e->tensors[wi].ndim; d++) per *= g->e->tensors[wi].shape[d];
    int64_t off = g->wnext;
    g->wnext += (O + 15) / 16 * 16;
    snprintf(bias, cap, "(m->w + %lld)", (long long)off);
    if (strcmp(b, "NULL")) fprintf(g->load, "    memcpy(m->w + %lld, %s, %lld * sizeof(float));\n", (long long)off, b, (long long)O);
    else fprintf(g->load, "    memset(m->w + %lld, 0, %lld * sizeof(float));\n", (long long)off, (long long)O);
    fprintf(g->load, "    rk_fold_bn(%s, m->w + %lld, %lld, %lld, ", w, (long long)off, (long long)O, (long long)per);
    fprintf(g->load, "%s, ", g_weight(g, bnn->inst, "running_mean"));
    fprintf(g->load, "%s, ", g_weight(g, bnn->inst, "running_var"));
    fprintf(g->load, "%s, ", g_weight(g, bnn->inst, "weight"));
    fprintf(g->load, "%s, %s);\n", g_weight(g, bnn->inst, "bias"), g_float(g_lnum(bi, "eps", 1e-5)));
    g_kernel(g, "rk_norm.c");
}

static int conv(G *g, const TNode *n, const Instance *in, int nd)
{
    int x = g_in0(n), y = g_id(&n->out);
    GTensor *tx = g_t(g, x);
    if (tx->rank != nd + 2) return g_fail(g, "%s of an unbatched input", n->op);
    size_t k = g->cur;
    int64_t kh = g_lint(in, "kernel_size", 0, 1), kw = nd == 2 ? g_lint(in, "kernel_size", 1, 1) : 1;
    int64_t sh = g_lint(in, "stride", 0, 1), sw = nd == 2 ? g_lint(in, "stride", 1, 1) : 1;
    int64_t dh = g_lint(in, "dilation", 0, 1), dw = nd == 2 ? g_lint(in, "dilation", 1, 1) : 1;
    int64_t groups = g_lint(in, "groups", 0, 1), O = g_lint(in, "out_channels", 0, 0);
    int64_t pt, pb, pl, pr;
    const Val *pv = g_larg(in, "padding");
    if (pv && pv->kind == VAL_STR) {   /* "same" (stride 1): the extra pixel goes after; "valid": none */
        int same = !strcmp(pv->s, "same");
        int64_t th = same ? dh * (kh - 1) : 0, tw = same ? dw * (kw - 1) : 0;
        pt = th / 2, pb = th - th / 2, pl = tw / 2, pr = tw - tw / 2;
    } else {
        pt = pb = g_lint(in, "padding", 0, 0);
        pl = pr = nd == 2 ? g_lint(in, "padding", 1, 0) : 0;
    }
    const Val *mv = g_larg(in, "padding_mode");
    const char *mode = !mv || mv->kind != VAL_STR || !strcmp(mv->s, "zeros") ? "RK_PAD_ZEROS"
                     : !strcmp(mv->s, "reflect") ? "RK_PAD_REFLECT"
                     : !strcmp(mv->s, "replicate") ? "RK_PAD_REPLICATE" : "RK_PAD_CIRCULAR";
    char p[1024];
    snprintf(p, sizeof p,
             "(rk_conv2d_p){%s, %s, %s, %s, %lld, %lld, %lld, %lld, %lld, %lld, %lld, %lld, %lld, %lld, %lld, %lld, %s, 0, 0}",
             g_dim(g, x, 0), g_dim(g, x, 1), nd == 2 ? g_dim(g, x, 2) : "1", nd == 2 ? g_dim(g, x, 3) : g_dim(g, x, 2),
             (long long)O, (long long)(nd == 2 ? kh : 1), (long long)(nd == 2 ? kw : kh), (long long)(nd == 2 ? sh : 1),
             (long long)(nd == 2 ? sw : sh), (long long)(nd == 2 ? dh : 1), (long long)(nd == 2 ? dw : dh),
             (long long)groups, (long long)(nd == 2 ? pt : 0), (long long)(nd == 2 ? pb : 0), (long long)(nd == 2 ? pl : pt),
             (long long)(nd == 2 ? pr : pb), mode);
    const char *w = g_weight(g, n->inst, "weight"), *b = g_weight(g, n->inst, "bias");
    char bias[256];
    snprintf(bias, sizeof bias, "%s", b);
    if (g->bn_of[k]) bias_fold(g, n, g->bn_of[k] - 1, w, b, O, bias, sizeof bias);
    g_kernel(g, "rk_conv.c");
    g_line(g, "{");
    g_line(g, "    const rk_conv2d_p p = %s;", p);
    const char *scr = g_scratch(g, "rk_conv2d_scratch(&%s)", p);
    g_line(g, "    rk_conv2d(%s, %s, %s, %s, %s, &p, %s);", g_ptr(g, y), g_ptr(g, x), w, bias, emit_act_c(g->act_of[k]), scr);
    g_line(g, "}");
    return 1;
}

/* Positional input i of a layer call (after layer_positional), 0 when it
 * is not a tensor (None, absent). */
static int in_at(const TNode *n, size_t i) { return i < n->nargs && !n->args[i].name ? g_id(&n->args[i].v) : 0; }

/* Is tensor id read by any node (its last use after its definition)? */
static int used(G *g, int id) { return id && g_t(g, id)->last > g_t(g, id)->def; }

static int mha(G *g, const TNode *n, const Instance *in)
{
    int q = in_at(n, 0), k = in_at(n, 1), v = in_at(n, 2), kpm = in_at(n, 3), am = in_at(n, 5);
    if (n->out.kind != V_TUPLE || n->out.n != 2) return g_fail(g, "MultiheadAttention's result is not a pair");
    int y = g_id(&n->out.items[0]), wts = g_id(&n->out.items[1]);
    if (used(g, wts)) return g_fail(g, "MultiheadAttention's attention weights are not supported yet "
                                       "(call it with need_weights = false)");
    if (g_lint(in, "add_bias_kv", 0, 0) || g_lint(in, "add_zero_attn", 0, 0))
        return g_fail(g, "MultiheadAttention with add_bias_kv or add_zero_attn is not supported yet");
    int64_t E = g_lint(in, "embed_dim", 0, 0), H = g_lint(in, "num_heads", 0, 1);
    const Val *kd = g_larg(in, "kdim"), *vd = g_larg(in, "vdim");
    if ((kd && kd->kind == VAL_INT && kd->i != E) || (vd && vd->kind == VAL_INT && vd->i != E))
        return g_fail(g, "MultiheadAttention with kdim or vdim other than embed_dim is not supported yet");
    int bf = (int)g_lint(in, "batch_first", 0, 0);
    GTensor *tq = g_t(g, q);
    if (tq->rank != 3) return g_fail(g, "MultiheadAttention of an unbatched input is not supported yet");
    const char *N = g_dim(g, q, bf ? 0 : 1), *L = g_dim(g, q, bf ? 1 : 0), *S = g_dim(g, k, bf ? 1 : 0);
    int64_t is_causal = 0;
    const TArg *ic = n->nargs > 7 ? &n->args[7] : NULL;
    if (ic && ic->v.kind == V_CONF && (ic->v.c.kind == VAL_BOOL || ic->v.c.kind == VAL_INT)) is_causal = ic->v.c.i;
    if (is_causal && !am) return g_fail(g, "MultiheadAttention with is_causal and no attn_mask");
    g_kernel(g, "rk_attn.c");
    g_line(g, "{");
    g_line(g, "    rk_attn_mask am, kpm;");
    if (am) {
        GTensor *ta = g_t(g, am);
        g_line(g, "    if (rk_mha_attn_mask(&am, %s, %s, %d, %lld, %s, %s) < 0) return -1;",
               ta->dt == GT_BOOL ? "NULL" : g_ptr(g, am), ta->dt == GT_BOOL ? g_ptr(g, am) : "NULL", ta->rank,
               (long long)H, L, S);
    }
    if (kpm) {
        GTensor *tk = g_t(g, kpm);
        g_line(g, "    if (rk_mha_key_padding_mask(&kpm, %s, %s, %s) < 0) return -1;", tk->dt == GT_BOOL ? "NULL" : g_ptr(g, kpm),
               tk->dt == GT_BOOL ? g_ptr(g, kpm) : "NULL", S);
    }
    char scr[512];
    snprintf(scr, sizeof scr, "rk_mha_scratch(%s, %s, %s, %lld)", N, L, S, (long long)E);
    const char *sp = g_scratch(g, "%s", scr);
    g_line(g, "    (void)am, (void)kpm;");
    g_line(g, "    rk_mha(%s, %s, %s, %s, %s, %s, %s, %lld, %lld, %d, %s, %s, %s, %s, %s, %s, %s);", g_ptr(g, y), g_ptr(g, q),
           g_ptr(g, k), g_ptr(g, v), N, L, S, (long long)E, (long long)H, bf, g_weight(g, n->inst, "in_proj_weight"),
           g_weight(g, n->inst, "in_proj_bias"), g_weight(g, n->inst, "out_proj.weight"),
           g_weight(g, n->inst, "out_proj.bias"), am ? "&am" : "NULL", kpm ? "&kpm" : "NULL", sp);
    g_line(g, "}");
    return 1;
}

static int rnn(G *g, const TNode *n, const Instance *in)
{
    int x = g_in0(n), hx = in_at(n, 1);
    const char *mode = !strcmp(n->op, "LSTM") ? "RK_RNN_LSTM" : !strcmp(n->op, "GRU") ? "RK_RNN_GRU" : NULL;
    if (!mode) {
        const Val *nl = g_larg(in, "nonlinearity");
        mode = nl && nl->kind == VAL_STR && !strcmp(nl->s, "relu") ? "RK_RNN_RELU" : "RK_RNN_TANH";
    }
    if (g_lint(in, "proj_size", 0, 0) > 0) return g_fail(g, "LSTM with proj_size is not supported yet");
    GTensor *tx = g_t(g, x);
    if (tx->rank != 3) return g_fail(g, "%s of an unbatched input is not supported yet", n->op);
    if (hx) return g_fail(g, "%s with an initial state is not supported yet", n->op);
    int bf = (int)g_lint(in, "batch_first", 0, 0), layers = (int)g_lint(in, "num_layers", 0, 1);
    int bidir = (int)g_lint(in, "bidirectional", 0, 0), bias = (int)g_lint(in, "bias", 0, 1);
    int64_t H = g_lint(in, "hidden_size", 0, 0), In = g_lint(in, "input_size", 0, 0);
    /* (output, h_n) or (output, (h_n, c_n)) */
    const SV *o = &n->out;
    if (o->kind != V_TUPLE || o->n != 2) return g_fail(g, "%s's result is not a pair", n->op);
    int y = g_id(&o->items[0]), hn = 0, cn = 0;
    if (o->items[1].kind == V_TUPLE && o->items[1].n == 2) hn = g_id(&o->items[1].items[0]), cn = g_id(&o->items[1].items[1]);
    else hn = g_id(&o->items[1]);
    const char *T = g_dim(g, x, bf ? 1 : 0), *N = g_dim(g, x, bf ? 0 : 1);
    g_kernel(g, "rk_rnn.c");
    g_line(g, "{");
    g_line(g, "    const rk_rnn_weights w[] = {");
    for (int l = 0; l < layers; l++)
        for (int d = 0; d <= bidir; d++) {
            char suf[32], k1[64], k2[64], k3[64], k4[64];
            snprintf(suf, sizeof suf, "l%d%s", l, d ? "_reverse" : "");
            snprintf(k1, sizeof k1, "weight_ih_%s", suf);
            snprintf(k2, sizeof k2, "weight_hh_%s", suf);
            snprintf(k3, sizeof k3, "bias_ih_%s", suf);
            snprintf(k4, sizeof k4, "bias_hh_%s", suf);
            g_line(g, "        {%s, %s, %s, %s},", g_weight(g, n->inst, k1), g_weight(g, n->inst, k2),
                   bias ? g_weight(g, n->inst, k3) : "NULL", bias ? g_weight(g, n->inst, k4) : "NULL");
        }
    g_line(g, "    };");
    char scr[512];
    snprintf(scr, sizeof scr, "rk_rnn_scratch(%s, %s, %s, %lld, %d, %d)", mode, T, N, (long long)H, layers, bidir);
    const char *sp = g_scratch(g, "%s", scr);
    g_line(g, "    if (rk_rnn(%s, %s, %s, %s, %s, NULL, NULL, %s, %s, %lld, %lld, %d, %d, %d, w, %s) < 0) return -1;", mode,
           g_ptr(g, y), hn ? g_ptr(g, hn) : "NULL", cn ? g_ptr(g, cn) : "NULL", g_ptr(g, x), T, N, (long long)In,
           (long long)H, layers, bidir, bf, sp);
    g_line(g, "}");
    return 1;
}

/* ------------------------------------------------------- more layers */

/* MaxPool1d/2d, AvgPool1d/2d: batched or not (all dims before the
 * channels are one batch of planes). */
static int pool_layer(G *g, const TNode *n, const Instance *in, int nd, int mx)
{
    int x = g_in0(n), y = g_id(&n->out), ix = 0;
    GTensor *tx = g_t(g, x);
    if (tx->rank != nd + 1 && tx->rank != nd + 2) return g_fail(g, "%s of an input of rank %d", n->op, tx->rank);
    if (n->out.kind == V_TUPLE && n->out.n == 2) y = g_id(&n->out.items[0]), ix = g_id(&n->out.items[1]);   /* return_indices */
    const Val *sv = g_larg(in, "stride");
    int nostride = !sv || sv->kind == VAL_NONE || (sv->kind == VAL_INTS && !sv->n);
    int64_t k[2], st[2], pd[2], dl[2];
    for (int j = 0; j < nd; j++) {
        k[j] = g_lint(in, "kernel_size", j, 1);
        st[j] = nostride ? k[j] : g_lint(in, "stride", j, k[j]);
        pd[j] = g_lint(in, "padding", j, 0);
        dl[j] = mx ? g_lint(in, "dilation", j, 1) : 1;
        if (k[j] < 1 || st[j] < 1 || dl[j] < 1 || pd[j] < 0 || pd[j] > k[j] / 2)
            return g_fail(g, "%s: kernel_size, stride, dilation must be positive and padding at most half the kernel",
                          n->op);
    }
    int64_t div = !mx && nd == 2 ? g_lint(in, "divisor_override", 0, 0) : 0;
    if (div < 0) return g_fail(g, "%s: divisor_override must be positive", n->op);
    int c = tx->rank - nd - 1;
    char NC[256], H[64], W[64];
    snprintf(NC, sizeof NC, "%s", span_numel(g, x, 0, c + 1));
    snprintf(H, sizeof H, "%s", nd == 2 ? g_dim(g, x, c + 1) : "1");
    snprintf(W, sizeof W, "%s", g_dim(g, x, c + nd));
    g_kernel(g, "rk_pool.c");
    g_line(g, "{");
    g_line(g, "    const rk_pool2d_p p = {%s, 1, %s, %s, %lld, %lld, %lld, %lld, %lld, %lld, %lld, %lld, %d, %d, %lld};", NC, H,
           W, (long long)(nd == 2 ? k[0] : 1), (long long)k[nd - 1], (long long)(nd == 2 ? st[0] : 1),
           (long long)st[nd - 1], (long long)(nd == 2 ? pd[0] : 0), (long long)pd[nd - 1],
           (long long)(nd == 2 ? dl[0] : 1), (long long)dl[nd - 1], (int)g_lint(in, "ceil_mode", 0, 0),
           mx ? 0 : (int)g_lint(in, "count_include_pad", 0, 1), (long long)div);
    if (ix) g_line(g, "    rk_max_pool2d_idx(%s, %s, %s, &p);", g_ptr(g, y), g_ptr(g, ix), g_ptr(g, x));
    else g_line(g, "    rk_%s_pool2d(%s, %s, &p);", mx ? "max" : "avg", g_ptr(g, y), g_ptr(g, x));
    g_line(g, "}");
    return 1;
}

static int adaptive_layer(G *g, const TNode *n, const Instance *in, int nd, int mx)
{
    (void)in;   /* output_size is read off the output */
    int x = g_in0(n), y = g_id(&n->out), ix = 0;
    GTensor *tx = g_t(g, x);
    if (tx->rank != nd + 1 && tx->rank != nd + 2) return g_fail(g, "%s of an input of rank %d", n->op, tx->rank);
    if (n->out.kind == V_TUPLE && n->out.n == 2) y = g_id(&n->out.items[0]), ix = g_id(&n->out.items[1]);   /* return_indices */
    int c = tx->rank - nd - 1;
    char NC[256], H[64], W[64], Ho[64];
    snprintf(NC, sizeof NC, "%s", span_numel(g, x, 0, c + 1));
    snprintf(H, sizeof H, "%s", nd == 2 ? g_dim(g, x, c + 1) : "1");
    snprintf(W, sizeof W, "%s", g_dim(g, x, c + nd));
    snprintf(Ho, sizeof Ho, "%s", nd == 2 ? g_dim(g, y, c + 1) : "1");
    g_kernel(g, "rk_pool.c");
    if (ix)
        g_line(g, "rk_adaptive_max_pool2d_idx(%s, %s, %s, %s, 1, %s, %s, %s, %s);", g_ptr(g, y), g_ptr(g, ix), g_ptr(g, x),
               NC, H, W, Ho, g_dim(g, y, c + nd));
    else
        g_line(g, "rk_adaptive_%s_pool2d(%s, %s, %s, 1, %s, %s, %s, %s);", mx ? "max" : "avg", g_ptr(g, y), g_ptr(g, x),
               NC, H, W, Ho, g_dim(g, y, c + nd));
    return 1;
}

/* ConvTranspose1d/2d, batched or not. */
static int convt(G *g, const TNode *n, const Instance *in, int nd)
{
    int x = g_in0(n), y = g_id(&n->out);
    GTensor *tx = g_t(g, x);
    if (n->nargs > 1) return g_fail(g, "%s with an output_size is not supported yet", n->op);
    if (tx->rank != nd + 1 && tx->rank != nd + 2) return g_fail(g, "%s of an input of rank %d", n->op, tx->rank);
    const Val *mv = g_larg(in, "padding_mode"), *pv = g_larg(in, "padding");
    if (mv && mv->kind == VAL_STR && strcmp(mv->s, "zeros"))
        return g_fail(g, "%s: only padding_mode 'zeros' is supported for transposed convolutions", n->op);
    if (pv && pv->kind == VAL_STR) return g_fail(g, "%s: padding must be integers", n->op);
    int64_t k[2], st[2], pd[2], op[2], dl[2], groups = g_lint(in, "groups", 0, 1), O = g_lint(in, "out_channels", 0, 0);
    for (int j = 0; j < nd; j++) {
        k[j] = g_lint(in, "kernel_size", j, 1), st[j] = g_lint(in, "stride", j, 1), pd[j] = g_lint(in, "padding", j, 0);
        op[j] = g_lint(in, "output_padding", j, 0), dl[j] = g_lint(in, "dilation", j, 1);
        if (k[j] < 1 || st[j] < 1 || dl[j] < 1 || pd[j] < 0 || op[j] < 0)
            return g_fail(g, "%s: kernel_size, stride, dilation must be positive, padding not negative", n->op);
    }
    if (groups < 1 || O % groups) return g_fail(g, "%s: groups must divide out_channels", n->op);
    int b = tx->rank == nd + 2, c = b ? 1 : 0;
    char N[64], C[64], H[64], W[64], p[1024];
    snprintf(N, sizeof N, "%s", b ? g_dim(g, x, 0) : "1");
    snprintf(C, sizeof C, "%s", g_dim(g, x, c));
    snprintf(H, sizeof H, "%s", nd == 2 ? g_dim(g, x, c + 1) : "1");
    snprintf(W, sizeof W, "%s", g_dim(g, x, c + nd));
    int i0 = nd == 2 ? 0 : -1;   /* the height's entry, none in 1-d */
#define H_(a, d) (long long)(i0 < 0 ? (d) : (a)[0])
    snprintf(p, sizeof p,
             "(rk_conv2d_p){%s, %s, %s, %s, %lld, %lld, %lld, %lld, %lld, %lld, %lld, %lld, %lld, %lld, %lld, %lld, "
             "RK_PAD_ZEROS, %lld, %lld}",
             N, C, H, W, (long long)O, H_(k, 1), (long long)k[nd - 1], H_(st, 1), (long long)st[nd - 1], H_(dl, 1),
             (long long)dl[nd - 1], (long long)groups, H_(pd, 0), H_(pd, 0), (long long)pd[nd - 1],
             (long long)pd[nd - 1], H_(op, 0), (long long)op[nd - 1]);
#undef H_
    g_kernel(g, "rk_conv.c");
    g_line(g, "{");
    g_line(g, "    const rk_conv2d_p p = %s;", p);
    const char *scr = g_scratch(g, "rk_conv_transpose2d_scratch(&%s)", p);
    g_line(g, "    rk_conv_transpose2d(%s, %s, %s, %s, RK_ACT_NONE, &p, %s);", g_ptr(g, y), g_ptr(g, x),
           g_weight(g, n->inst, "weight"), g_weight(g, n->inst, "bias"), scr);
    g_line(g, "}");
    return 1;
}

/* InstanceNorm1d/2d, GroupNorm, RMSNorm. */
static int norm_layer(G *g, const TNode *n, const Instance *in)
{
    int x = g_in0(n), y = g_id(&n->out);
    GTensor *tx = g_t(g, x);
    const char *w = g_weight(g, n->inst, "weight"), *bias = g_weight(g, n->inst, "bias");
    g_kernel(g, "rk_norm.c");
    if (!strcmp(n->op, "RMSNorm")) {
        const Val *ns = g_larg(in, "normalized_shape"), *ev = g_larg(in, "eps");
        int nd = ns && ns->kind == VAL_INTS ? (int)ns->n : 1;
        if (nd > tx->rank) return g_fail(g, "RMSNorm of an input of rank %d", tx->rank);
        /* eps none: torch.finfo(float32).eps */
        double eps = ev && (ev->kind == VAL_FLOAT || ev->kind == VAL_INT) ? g_lnum(in, "eps", 0) : 1.1920928955078125e-07;
        char rows[256];
        snprintf(rows, sizeof rows, "%s", span_numel(g, x, 0, tx->rank - nd));
        g_line(g, "rk_rms_norm(%s, %s, %s, %s, %s, %s);", g_ptr(g, y), g_ptr(g, x), rows,
               span_numel(g, x, tx->rank - nd, tx->rank), w, g_float(eps));
        return 1;
    }
    double eps = g_lnum(in, "eps", 1e-5);
    if (!strcmp(n->op, "GroupNorm")) {
        int64_t G = g_lint(in, "num_groups", 0, 1);
        if (tx->rank < 2 || tx->d[1].a || G < 1 || tx->d[1].b % G)
            return g_fail(g, "GroupNorm: num_groups must divide the channels (dimension 1)");
        char inner[256];
        snprintf(inner, sizeof inner, "%s", span_numel(g, x, 2, tx->rank));
        g_line(g, "rk_group_norm(%s, %s, %s, %s, %s, %lld, %s, %s, %s);", g_ptr(g, y), g_ptr(g, x), g_dim(g, x, 0),
               g_dim(g, x, 1), inner, (long long)G, w, bias, g_float(eps));
        return 1;
    }
    /* InstanceNorm: per (sample, channel) statistics, or in eval mode the running ones when tracked */
    int nd = n->op[strlen(n->op) - 2] - '0';
    if (tx->rank != nd + 1 && tx->rank != nd + 2) return g_fail(g, "%s of an input of rank %d", n->op, tx->rank);
    int b = tx->rank == nd + 2;
    char N[64], C[64], inner[256];
    snprintf(N, sizeof N, "%s", b ? g_dim(g, x, 0) : "1");
    snprintf(C, sizeof C, "%s", g_dim(g, x, b));
    snprintf(inner, sizeof inner, "%s", span_numel(g, x, b + 1, tx->rank));
    if (g_lint(in, "track_running_stats", 0, 0))
        g_line(g, "rk_batch_norm(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, RK_ACT_NONE);", g_ptr(g, y), g_ptr(g, x), N, C,
               inner, g_weight(g, n->inst, "running_mean"), g_weight(g, n->inst, "running_var"), w, bias, g_float(eps));
    else
        g_line(g, "rk_instance_norm(%s, %s, %s, %s, %s, %s, %s, %s);", g_ptr(g, y), g_ptr(g, x), N, C, inner, w, bias,
               g_float(eps));
    return 1;
}

/* The activations with parameters: PReLU, LeakyReLU, ELU, Mish,
 * Hardtanh, Softplus.  0 when op is none of them. */
static int act_layer(G *g, const TNode *n, const Instance *in)
{
    int x = g_in0(n), y = g_id(&n->out);
    const char *op = n->op;
    char Y[128], X[128], NUM[256];
    snprintf(Y, sizeof Y, "%s", g_ptr(g, y));
    snprintf(X, sizeof X, "%s", g_ptr(g, x));
    snprintf(NUM, sizeof NUM, "%s", g_numel(g, x));
    if (!strcmp(op, "LeakyReLU"))
        g_line(g, "rk_leaky_relu(%s, %s, %s, %s);", Y, X, NUM, g_float(g_lnum(in, "negative_slope", 0.01)));
    else if (!strcmp(op, "ELU"))
        g_line(g, "rk_elu(%s, %s, %s, %s, 1.0f, 1.0f);", Y, X, NUM, g_float(g_lnum(in, "alpha", 1.0)));
    else if (!strcmp(op, "Mish"))
        g_line(g, "rk_mish(%s, %s, %s);", Y, X, NUM);
    else if (!strcmp(op, "Softplus"))
        g_line(g, "rk_softplus(%s, %s, %s, %s, %s);", Y, X, NUM, g_float(g_lnum(in, "beta", 1.0)),
               g_float(g_lnum(in, "threshold", 20.0)));
    else if (!strcmp(op, "Hardtanh")) {
        const Val *a = g_larg(in, "min_value"), *b = g_larg(in, "max_value");   /* the deprecated names win */
        double lo = a && a->kind != VAL_NONE ? g_lnum(in, "min_value", -1) : g_lnum(in, "min_val", -1);
        double hi = b && b->kind != VAL_NONE ? g_lnum(in, "max_value", 1) : g_lnum(in, "max_val", 1);
        g_line(g, "rk_hardtanh(%s, %s, %s, %s, %s);", Y, X, NUM, g_float(lo), g_float(hi));
    } else if (!strcmp(op, "PReLU")) {
        GTensor *tx = g_t(g, x);
        int64_t nw = g_lint(in, "num_parameters", 0, 1);
        /* torch 1.13: the channels are dim 1, and 1 for an input of rank < 2 (newer versions: dim 0) */
        if (nw != 1 && (tx->rank < 2 || tx->d[1].a || tx->d[1].b != nw))
            return g_fail(g, "PReLU with %lld parameters of an input whose channels (dimension 1) differ",
                          (long long)nw);
        char NN[64], C[64], inner[256];
        if (nw == 1) {
            snprintf(NN, sizeof NN, "1");
            snprintf(C, sizeof C, "1");
            snprintf(inner, sizeof inner, "%s", NUM);
        } else {
            snprintf(NN, sizeof NN, "%s", g_dim(g, x, 0));
            snprintf(C, sizeof C, "%s", g_dim(g, x, 1));
            snprintf(inner, sizeof inner, "%s", span_numel(g, x, 2, tx->rank));
        }
        g_line(g, "rk_prelu(%s, %s, %s, %s, %s, %s, %lld);", Y, X, NN, C, inner, g_weight(g, n->inst, "weight"),
               (long long)nw);
    } else
        return 0;
    g_kernel(g, "rk_act.c");
    return 1;
}

/* Upsample, PixelShuffle, the 2-d paddings. */
static int resize_layer(G *g, const TNode *n, const Instance *in)
{
    int x = g_in0(n), y = g_id(&n->out);
    GTensor *tx = g_t(g, x);
    const char *op = n->op;
    if (!strcmp(op, "PixelShuffle")) {
        int64_t r = g_lint(in, "upscale_factor", 0, 0), k = tx->rank;
        if (r < 1 || k < 3) return g_fail(g, "PixelShuffle needs a positive factor and an input of rank >= 3");
        char NB[256], C[64], H[64];
        snprintf(NB, sizeof NB, "%s", span_numel(g, y, 0, (int)k - 3));
        snprintf(C, sizeof C, "%s", g_dim(g, y, (int)k - 3));
        snprintf(H, sizeof H, "%s", g_dim(g, x, (int)k - 2));
        g_kernel(g, "rk_resize.c");
        g_line(g, "rk_pixel_shuffle(%s, %s, %s, %s, %s, %s, %lld);", g_ptr(g, y), g_ptr(g, x), NB, C, H,
               g_dim(g, x, (int)k - 1), (long long)r);
        return 1;
    }
    if (!strcmp(op, "Upsample")) {
        const Val *mv = g_larg(in, "mode"), *sf = g_larg(in, "scale_factor");
        const char *mode = mv && mv->kind == VAL_STR ? mv->s : "nearest";
        int nd = tx->rank - 2;
        double sc[3] = {0, 0, 0};
        if (nd < 1 || nd > 3) return g_fail(g, "Upsample of an input of rank %d", tx->rank);
        if (sf && (sf->kind == VAL_FLOAT || sf->kind == VAL_INT)) {
            for (int i = 0; i < nd; i++) sc[i] = g_lnum(in, "scale_factor", 0);
        } else if (sf && sf->kind == VAL_INTS) {
            if ((int)sf->n != nd) return g_fail(g, "Upsample: %d scale factors for %d dims", (int)sf->n, nd);
            for (int i = 0; i < nd; i++) sc[i] = (double)sf->ints[i];
        } else if (sf && sf->kind == VAL_LIST) {
            if ((int)sf->n != nd) return g_fail(g, "Upsample: %d scale factors for %d dims", (int)sf->n, nd);
            for (int i = 0; i < nd; i++) {
                const Val *v = &sf->items[i];
                if (v->kind != VAL_FLOAT && v->kind != VAL_INT) return g_fail(g, "Upsample: scale factors must be numbers");
                sc[i] = v->kind == VAL_FLOAT ? v->f : (double)v->i;
            }
        }
        if (g_lint(in, "recompute_scale_factor", 0, 0)) sc[0] = sc[1] = sc[2] = 0;   /* torch: from the sizes */
        return g_interpolate(g, x, y, mode, (int)g_lint(in, "align_corners", 0, 0), sc);
    }
    if (!strcmp(op, "ZeroPad2d") || !strcmp(op, "ConstantPad2d") || !strcmp(op, "ReflectionPad2d")) {
        int refl = op[0] == 'R';
        double v = op[0] == 'C' ? g_lnum(in, "value", 0) : 0;
        const char *xs = g_shape(g, x);
        g_kernel(g, "rk_layout.c");
        g_line(g, "{");
        g_line(g, "    const int64_t pad[] = {%lld, %lld, %lld, %lld};", (long long)g_lint(in, "padding", 0, 0),
               (long long)g_lint(in, "padding", 1, 0), (long long)g_lint(in, "padding", 2, 0),
               (long long)g_lint(in, "padding", 3, 0));
        g_line(g, "    if (rk_pad(%s, %s, %d, %s, 4, pad, %s, %s) < 0) {", g_ptr(g, y), g_ptr(g, x), tx->rank, xs,
               refl ? "RK_PAD_REFLECT" : "RK_PAD_CONSTANT", g_float(v));
        g_line(g, "        snprintf(m->err, sizeof m->err, \"%s: the padding does not fit the input\");", in->path);
        g_line(g, "        return -1;");
        g_line(g, "    }");
        g_line(g, "}");
        return 1;
    }
    return 0;
}

/* The layers after the first families: 1 handled, 0 not a layer of
 * this file, -1 reported. */
static int more_layers(G *g, const TNode *n, const Instance *in)
{
    const char *op = n->op;
    int x = g_in0(n), r;
    if (!strcmp(op, "Conv3d")) {
        const Val *pv = g_larg(in, "padding"), *mv = g_larg(in, "padding_mode");
        if ((pv && pv->kind == VAL_STR) || (mv && mv->kind == VAL_STR && strcmp(mv->s, "zeros")))
            return g_fail(g, "Conv3d with a padding string or a padding_mode is not supported yet");
        int64_t k[3], st[3], pd[3], dl[3];
        for (int j = 0; j < 3; j++) {
            k[j] = g_lint(in, "kernel_size", j, 1), st[j] = g_lint(in, "stride", j, 1);
            pd[j] = g_lint(in, "padding", j, 0), dl[j] = g_lint(in, "dilation", j, 1);
        }
        return g_conv3d(g, x, g_id(&n->out), g_weight(g, n->inst, "weight"), g_weight(g, n->inst, "bias"),
                        g_lint(in, "out_channels", 0, 0), k, st, pd, dl, g_lint(in, "groups", 0, 1));
    }
    if (!x || (!g_id(&n->out) && n->out.kind != V_TUPLE)) return 0;   /* a tuple: a max pool's (output, indices) */
    GTensor *tx = g_t(g, x);
    if (tx->dt != GT_F32) return g_fail(g, "%s of a %s tensor is not supported yet", op, g_dtname(tx->dt));
    if (!strcmp(op, "ConvTranspose1d")) return convt(g, n, in, 1);
    if (!strcmp(op, "ConvTranspose2d")) return convt(g, n, in, 2);
    if (!strcmp(op, "MaxPool1d") || !strcmp(op, "MaxPool2d")) return pool_layer(g, n, in, op[7] - '0', 1);
    if (!strcmp(op, "AvgPool1d") || !strcmp(op, "AvgPool2d")) return pool_layer(g, n, in, op[7] - '0', 0);
    if (!strncmp(op, "Adaptive", 8) && strlen(op) == 17)   /* Adaptive{Avg,Max}Pool{1,2}d */
        return adaptive_layer(g, n, in, op[15] - '0', op[8] == 'M');
    if (!strncmp(op, "InstanceNorm", 12) || !strcmp(op, "GroupNorm") || !strcmp(op, "RMSNorm"))
        return norm_layer(g, n, in);
    if ((r = act_layer(g, n, in)) != 0) return r;
    return resize_layer(g, n, in);
}

/* nn.EmbeddingBag in eval mode: bags of a (B, L) index tensor, or of
 * ids (n) split at offsets (B); sum, mean or max of their rows (torch's:
 * padding_idx rows left out, an empty bag zeros, per_sample_weights
 * scaling the rows for sum).  Ids and offsets are checked: -1 from
 * forward when one is out of range. */
static int embedding_bag(G *g, const TNode *n, const Instance *in)
{
    int x = in_at(n, 0), off = in_at(n, 1), psw = in_at(n, 2), y = g_id(&n->out);
    const Val *mv = g_larg(in, "mode"), *pv = g_larg(in, "padding_idx"), *mn = g_larg(in, "max_norm");
    const char *mode = mv && mv->kind == VAL_STR ? mv->s : "mean";
    int mx = !strcmp(mode, "max"), mean = !strcmp(mode, "mean");
    int64_t num = g_lint(in, "num_embeddings", 0, 0), D = g_lint(in, "embedding_dim", 0, 0);
    int64_t pad = pv && pv->kind == VAL_INT ? (pv->i < 0 ? pv->i + num : pv->i) : -1;
    if (mn && mn->kind != VAL_NONE) return g_fail(g, "EmbeddingBag with max_norm is not supported yet");
    if (psw && strcmp(mode, "sum")) return g_fail(g, "per_sample_weights is only for mode 'sum', as torch says");
    if (g_lint(in, "include_last_offset", 0, 0) && off) return g_fail(g, "EmbeddingBag with include_last_offset is not supported yet");
    char bags[256], nids[256];
    snprintf(bags, sizeof bags, "%s", g_dim(g, y, 0));
    snprintf(nids, sizeof nids, "%s", g_numel(g, x));
    const char *ids = g_ids64(g, x);
    char idb[256], ob[256];
    snprintf(idb, sizeof idb, "%s", ids);
    snprintf(ob, sizeof ob, "%s", off ? g_ids64(g, off) : "NULL");
    g_line(g, "for (int64_t b = 0; b < %s; b++) {", bags);
    if (off)
        g_line(g, "    int64_t lo = %s[b], hi = b + 1 < %s ? %s[b + 1] : %s;", ob, bags, ob, nids);
    else
        g_line(g, "    int64_t lo = b * %s, hi = lo + %s;", g_dim(g, x, 1), g_dim(g, x, 1));
    g_line(g, "    float *o = %s + b * %lld;", g_ptr(g, y), (long long)D);
    g_line(g, "    if (lo < 0 || hi > %s || lo > hi) {", nids);
    g_line(g, "        snprintf(m->err, sizeof m->err, \"%s: offsets out of order or out of range\");", in->path);
    g_line(g, "        return -1;");
    g_line(g, "    }");
    g_line(g, "    for (int64_t d = 0; d < %lld; d++) o[d] = %s;", (long long)D, mx ? "-INFINITY" : "0.0f");
    g_line(g, "    int64_t cnt = 0;");
    g_line(g, "    for (int64_t k = lo; k < hi; k++) {");
    g_line(g, "        int64_t id = %s[k];", idb);
    g_line(g, "        if (id < 0 || id >= %lld) {", (long long)num);
    g_line(g, "            snprintf(m->err, sizeof m->err, \"%s: an index is outside 0..%lld\");", in->path, (long long)num - 1);
    g_line(g, "            return -1;");
    g_line(g, "        }");
    if (pad >= 0) g_line(g, "        if (id == %lld) continue;", (long long)pad);
    g_line(g, "        const float *r = %s + id * %lld;", g_weight(g, n->inst, "weight"), (long long)D);
    if (mx)
        g_line(g, "        for (int64_t d = 0; d < %lld; d++) if (r[d] > o[d] || r[d] != r[d]) o[d] = r[d];", (long long)D);
    else if (psw)
        g_line(g, "        for (int64_t d = 0; d < %lld; d++) o[d] += %s[k] * r[d];", (long long)D, g_ptr(g, psw));
    else
        g_line(g, "        for (int64_t d = 0; d < %lld; d++) o[d] += r[d];", (long long)D);
    g_line(g, "        cnt++;");
    g_line(g, "    }");
    if (mean) g_line(g, "    if (cnt) for (int64_t d = 0; d < %lld; d++) o[d] /= (float)cnt;", (long long)D);
    if (mx) g_line(g, "    if (!cnt) for (int64_t d = 0; d < %lld; d++) o[d] = 0.0f;", (long long)D);
    g_line(g, "}");
    return 1;
}

int g_conv3d(G *g, int x, int y, const char *w, const char *b, int64_t O, const int64_t *k, const int64_t *st,
             const int64_t *pd, const int64_t *dl, int64_t groups)
{
    GTensor *tx = g_t(g, x);
    if (tx->rank != 4 && tx->rank != 5) return g_fail(g, "conv3d of an input of rank %d", tx->rank);
    int c = tx->rank - 4;   /* unbatched: one image */
    char wb[256], bb[256];
    snprintf(wb, sizeof wb, "%s", w);
    snprintf(bb, sizeof bb, "%s", b);
    g_kernel(g, "rk_conv.c");
    g_line(g, "{");
    g_line(g, "    const int64_t k[] = {%lld, %lld, %lld}, s[] = {%lld, %lld, %lld}, p[] = {%lld, %lld, %lld}, "
              "dl[] = {%lld, %lld, %lld};", (long long)k[0], (long long)k[1], (long long)k[2], (long long)st[0],
           (long long)st[1], (long long)st[2], (long long)pd[0], (long long)pd[1], (long long)pd[2], (long long)dl[0],
           (long long)dl[1], (long long)dl[2]);
    g_line(g, "    rk_conv3d(%s, %s, %s, %s, %s, %s, %s, %s, %s, %lld, k, s, p, dl, %lld);", g_ptr(g, y), g_ptr(g, x), wb,
           bb, c ? g_dim(g, x, 0) : "1", g_dim(g, x, c), g_dim(g, x, c + 1), g_dim(g, x, c + 2), g_dim(g, x, c + 3),
           (long long)O, (long long)groups);
    g_line(g, "}");
    return 1;
}

int emit_layer(G *g, const TNode *n)
{
    if (n->kind != TN_LAYER) return 0;
    const Instance *in = &g->e->insts[n->inst];
    const char *op = n->op;
    int x = g_in0(n), y = g_id(&n->out);
    size_t k = g->cur;
    if (!strcmp(op, "EmbeddingBag")) return embedding_bag(g, n, in);
    if (!strcmp(op, "Bilinear")) {   /* y[r, o] = b[o] + sum_ij x1[r, i] W[o, i, j] x2[r, j] */
        int x2 = in_at(n, 1);
        int64_t I = g_lint(in, "in1_features", 0, 0), J = g_lint(in, "in2_features", 0, 0);
        int64_t O = g_lint(in, "out_features", 0, 0);
        const char *w = g_weight(g, n->inst, "weight"), *b = g_weight(g, n->inst, "bias");
        char rows[256], wb[256], bb[256];
        snprintf(rows, sizeof rows, "%s", span_numel(g, x, 0, g_t(g, x)->rank - 1));
        snprintf(wb, sizeof wb, "%s", w);
        snprintf(bb, sizeof bb, "%s", b);
        g_line(g, "for (int64_t r = 0; r < %s; r++)", rows);
        g_line(g, "    for (int64_t o = 0; o < %lld; o++) {", (long long)O);
        g_line(g, "        const float *a = %s + r * %lld, *c = %s + r * %lld, *wo = %s + o * %lld;", g_ptr(g, x),
               (long long)I, g_ptr(g, x2), (long long)J, wb, (long long)(I * J));
        g_line(g, "        double acc = 0;");
        g_line(g, "        for (int64_t i = 0; i < %lld; i++) {", (long long)I);
        g_line(g, "            double t = 0;");
        g_line(g, "            for (int64_t j = 0; j < %lld; j++) t += (double)wo[i * %lld + j] * c[j];", (long long)J,
               (long long)J);
        g_line(g, "            acc += a[i] * t;");
        g_line(g, "        }");
        g_line(g, "        %s[r * %lld + o] = (float)acc%s%s%s;", g_ptr(g, y), (long long)O, strcmp(bb, "NULL") ? " + " : "",
               strcmp(bb, "NULL") ? bb : "", strcmp(bb, "NULL") ? "[o]" : "");
        g_line(g, "    }");
        return 1;
    }
    if (!strcmp(op, "Conv2d")) return conv(g, n, in, 2);
    if (!strcmp(op, "MultiheadAttention")) return mha(g, n, in);
    if (!strcmp(op, "LSTM") || !strcmp(op, "GRU") || !strcmp(op, "RNN")) return rnn(g, n, in);
    if (!strcmp(op, "Conv1d")) return conv(g, n, in, 1);
    if (!strcmp(op, "Linear")) {
        GTensor *tx = g_t(g, x);
        int64_t K = g_lint(in, "in_features", 0, 0), N = g_lint(in, "out_features", 0, 0);
        const char *w = g_weight(g, n->inst, "weight"), *b0 = g_weight(g, n->inst, "bias");
        char b[256];
        snprintf(b, sizeof b, "%s", b0);
        if (g->bn_of[k]) bias_fold(g, n, g->bn_of[k] - 1, w, b0, N, b, sizeof b);
        g_kernel(g, "rk_gemm.c");
        g_line(g, "rk_linear(%s, %s, %s, %lld, %s, %lld, %s, %s);", g_ptr(g, y), g_ptr(g, x),
               span_numel(g, x, 0, tx->rank - 1), (long long)K, w, (long long)N, b,
               emit_act_c(g->act_of[k]));
        return 1;
    }
    if (!strncmp(op, "BatchNorm", 9)) {
        GTensor *tx = g_t(g, x);
        double eps = g_lnum(in, "eps", 1e-5);
        g_kernel(g, "rk_norm.c");
        g_line(g, "rk_batch_norm(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, RK_ACT_NONE);", g_ptr(g, y), g_ptr(g, x),
               g_dim(g, x, 0), tx->rank > 1 ? g_dim(g, x, 1) : "1", span_numel(g, x, 2, tx->rank),
               g_weight(g, n->inst, "running_mean"), g_weight(g, n->inst, "running_var"), g_weight(g, n->inst, "weight"),
               g_weight(g, n->inst, "bias"), g_float(eps));
        return 1;
    }
    if (!strcmp(op, "LayerNorm")) {
        GTensor *tx = g_t(g, x);
        const Val *ns = g_larg(in, "normalized_shape");
        int nd = ns && ns->kind == VAL_INTS ? (int)ns->n : 1;
        double eps = g_lnum(in, "eps", 1e-5);
        g_kernel(g, "rk_norm.c");
        g_line(g, "rk_layer_norm(%s, %s, %s, %s, %s, %s, %s);", g_ptr(g, y), g_ptr(g, x),
               span_numel(g, x, 0, tx->rank - nd), span_numel(g, x, tx->rank - nd, tx->rank),
               g_weight(g, n->inst, "weight"), g_weight(g, n->inst, "bias"), g_float(eps));
        return 1;
    }
    int act = emit_act_of(g, n);
    if (act) {
        g_kernel(g, "rk_act.c");
        g_line(g, "rk_act_n(%s, %s, %s, %s);", g_ptr(g, y), g_ptr(g, x), g_numel(g, x), emit_act_c(act));
        return 1;
    }
    if (!strcmp(op, "Embedding")) {
        g_kernel(g, "rk_embed.c");
        const char *ip = g_ids64(g, x);
        g_line(g, "if (rk_embedding(%s, %s, %s, %s, %lld, %lld) < 0) {", g_ptr(g, y), ip, g_numel(g, x),
               g_weight(g, n->inst, "weight"), (long long)g_lint(in, "num_embeddings", 0, 0),
               (long long)g_lint(in, "embedding_dim", 0, 0));
        g_line(g, "    snprintf(m->err, sizeof m->err, \"%s: a token id is outside 0..%lld\");", in->path,
               (long long)g_lint(in, "num_embeddings", 0, 0) - 1);
        g_line(g, "    return -1;");
        g_line(g, "}");
        return 1;
    }
    if (!strcmp(op, "Softmax") || !strcmp(op, "LogSoftmax")) {
        GTensor *tx = g_t(g, x);
        int64_t d = g_lint(in, "dim", 0, -1);
        if (d < 0) d += tx->rank;
        g_kernel(g, "rk_act.c");
        g_line(g, "rk_%s(%s, %s, %s, %s, %s);", op[0] == 'S' ? "softmax" : "log_softmax", g_ptr(g, y), g_ptr(g, x),
               span_numel(g, x, 0, (int)d), g_dim(g, x, (int)d), span_numel(g, x, (int)d + 1, tx->rank));
        return 1;
    }
    return more_layers(g, n, in);
}

int emit_alias_of(G *g, const TNode *n)
{
    if (n->kind == TN_LAYER) return layer_alias(n);
    return emit_fn_alias(g, n);
}
