/* emit_nn.c — C for the functional forms of layers (torch.nn.functional):
 * the activations with parameters (elu, leaky_relu, softplus, mish),
 * convolutions (conv1d, conv2d, conv_transpose1d/2d), pooling (max, avg,
 * adaptive), group_norm and batch_norm, interpolate, pixel_shuffle,
 * normalize and scaled_dot_product_attention.  It follows gen.h's emitter
 * contract and runs after emit_layer.c, emit_fn.c and emit_tensor.c.
 *
 * Every argument the kernels cannot honour exactly (return_indices, a
 * dropout probability, antialiased interpolation ...) is refused with a
 * located error rather than approximated.
 */
#include <stdio.h>
#include <string.h>

#include "gen.h"

/* A boolean argument (default def). */
static int g_flag(G *g, const char *name, int def)
{
    int64_t v;
    int r = g_int(g, name, &v);
    return r == 1 ? v != 0 : r < 0 ? -1 : def;
}

/* An int or a tuple of nd ints (one int stands for all): 0 with out[nd]
 * filled, 1 when None/absent (out untouched), -1 reported. */
static int ints_nd(G *g, const char *name, int nd, int64_t *out)
{
    const TArg *a = g_arg(g_node(g), name), *b = g_arg(g_twin(g), name);
    if (g_none(a)) return 1;
    int64_t x[MAXR], y[MAXR];
    int na = g_ints(a, x, MAXR), nb = b ? g_ints(b, y, MAXR) : -1;
    if (na < 1 || na != nb || (na != 1 && na != nd))
        return g_fail(g, "%s(): '%s' must be an integer or %d integers", g_node(g)->op, name, nd);
    for (int i = 0; i < na; i++)
        if (x[i] != y[i]) return g_fail(g, "%s(): '%s' depends on the batch size", g_node(g)->op, name);
    for (int i = 0; i < nd; i++) out[i] = x[na == 1 ? 0 : i];
    return 0;
}

/* Product of dims [from, to) of tensor id as a C expression (affine: at
 * most one factor depends on the batch, as every tensor's numel). */
static const char *span(G *g, int id, int from, int to)
{
    GTensor *t = g_t(g, id);
    Aff p = {0, 1};
    for (int k = from; k < to && k < t->rank; k++) {
        if (k < 0) continue;
        p = (Aff){p.a * t->d[k].b + t->d[k].a * p.b, p.b * t->d[k].b};
    }
    return g_aff(g, p);
}

/* ------------------------------------------------------------ activations */

static int activation(G *g, const TNode *n, int y)
{
    int x = g_in0(n);
    if (!g_is(n, "elu") && !g_is(n, "leaky_relu") && !g_is(n, "softplus") && !g_is(n, "mish")) return 0;
    if (g_t(g, x)->dt != GT_F32) return g_fail(g, "%s() of an integer tensor is not supported yet", n->op);
    g_kernel(g, "rk_act.c");
    double a = 0, b = 0;
    if (g_is(n, "elu")) {
        if (g_number(g, "alpha", &a) != 1) return g_fail(g, "elu() needs a numeric alpha");
        g_line(g, "rk_elu(%s, %s, %s, %s, 1.0f, 1.0f);", g_ptr(g, y), g_ptr(g, x), g_numel(g, x), g_float(a));
    } else if (g_is(n, "leaky_relu")) {
        if (g_number(g, "negative_slope", &a) != 1) return g_fail(g, "leaky_relu() needs a numeric negative_slope");
        g_line(g, "rk_leaky_relu(%s, %s, %s, %s);", g_ptr(g, y), g_ptr(g, x), g_numel(g, x), g_float(a));
    } else if (g_is(n, "softplus")) {
        if (g_number(g, "beta", &a) != 1 || g_number(g, "threshold", &b) != 1)
            return g_fail(g, "softplus() needs numeric beta and threshold");
        g_line(g, "rk_softplus(%s, %s, %s, %s, %s);", g_ptr(g, y), g_ptr(g, x), g_numel(g, x), g_float(a), g_float(b));
    } else {
        g_line(g, "rk_mish(%s, %s, %s);", g_ptr(g, y), g_ptr(g, x), g_numel(g, x));
    }
    return 1;
}

/* ---------------------------------------------------------- convolutions */

static int convolution(G *g, const TNode *n, int y)
{
    int tr = g_is(n, "conv_transpose1d") || g_is(n, "conv_transpose2d");
    int nd = g_is(n, "conv1d") || g_is(n, "conv_transpose1d") ? 1 : g_is(n, "conv2d") || g_is(n, "conv_transpose2d") ? 2 : 0;
    if (!nd) return 0;
    int x = g_in0(n), w = g_arg_id(n, "weight"), b = g_arg_id(n, "bias");
    GTensor *tx = g_t(g, x), *tw = w ? g_t(g, w) : NULL;
    if (!tw || tw->rank != nd + 2 || tw->dt != GT_F32 || tx->dt != GT_F32)
        return g_fail(g, "%s() needs a float weight of rank %d", n->op, nd + 2);
    for (int k = 0; k < tw->rank; k++)
        if (tw->d[k].a) return g_fail(g, "%s(): a weight whose size depends on the batch", n->op);
    if (b && (g_t(g, b)->rank != 1 || g_t(g, b)->d[0].a)) return g_fail(g, "%s(): the bias must be a vector", n->op);
    int batched = tx->rank == nd + 2;
    if (!batched && tx->rank != nd + 1) return g_fail(g, "%s() of an input of rank %d", n->op, tx->rank);
    int64_t st[2] = {1, 1}, dl[2] = {1, 1}, pd[2] = {0, 0}, op[2] = {0, 0}, groups = 1;
    if (ints_nd(g, "stride", nd, st) < 0 || ints_nd(g, "dilation", nd, dl) < 0) return -1;
    if (tr && ints_nd(g, "output_padding", nd, op) < 0) return -1;
    int r = g_int(g, "groups", &groups);
    if (r < 0) return -1;
    if (groups < 1) return g_fail(g, "%s(): groups must be positive", n->op);
    int64_t ks[2] = {tw->d[2].b, nd == 2 ? tw->d[3].b : 1};
    int64_t lo[2] = {0, 0}, hi[2] = {0, 0};
    const char *ps = g_str_arg(g_arg(n, "padding"));
    if (ps) {
        if (tr) return g_fail(g, "%s(): padding must be integers", n->op);
        if (!strcmp(ps, "same")) {
            for (int i = 0; i < nd; i++) {
                int64_t t = dl[i] * (ks[i] - 1);
                lo[i] = t / 2, hi[i] = t - t / 2;
            }
        } else if (strcmp(ps, "valid")) {
            return g_fail(g, "%s(): padding '%s'", n->op, ps);
        }
    } else {
        if (ints_nd(g, "padding", nd, pd) < 0) return -1;
        for (int i = 0; i < nd; i++) lo[i] = hi[i] = pd[i];
    }
    for (int i = 0; i < nd; i++)
        if (st[i] < 1 || dl[i] < 1 || lo[i] < 0 || op[i] < 0)
            return g_fail(g, "%s(): stride and dilation must be positive, padding not negative", n->op);
    int64_t O = tr ? tw->d[1].b * groups : tw->d[0].b;
    int c = batched ? 1 : 0;
    const char *N = batched ? g_dim(g, x, 0) : "1";
    /* 1-d runs as 2-d with one row */
    char p[1024];
    if (nd == 2)
        snprintf(p, sizeof p,
                 "(rk_conv2d_p){%s, %s, %s, %s, %lld, %lld, %lld, %lld, %lld, %lld, %lld, %lld, %lld, %lld, %lld, %lld, "
                 "RK_PAD_ZEROS, %lld, %lld}",
                 N, g_dim(g, x, c), g_dim(g, x, c + 1), g_dim(g, x, c + 2), (long long)O, (long long)ks[0],
                 (long long)ks[1], (long long)st[0], (long long)st[1], (long long)dl[0], (long long)dl[1],
                 (long long)groups, (long long)lo[0], (long long)hi[0], (long long)lo[1], (long long)hi[1],
                 (long long)op[0], (long long)op[1]);
    else
        snprintf(p, sizeof p,
                 "(rk_conv2d_p){%s, %s, 1, %s, %lld, 1, %lld, 1, %lld, 1, %lld, %lld, 0, 0, %lld, %lld, RK_PAD_ZEROS, 0, %lld}",
                 N, g_dim(g, x, c), g_dim(g, x, c + 1), (long long)O, (long long)ks[0], (long long)st[0],
                 (long long)dl[0], (long long)groups, (long long)lo[0], (long long)hi[0], (long long)op[0]);
    g_kernel(g, "rk_conv.c");
    g_line(g, "{");
    g_line(g, "    const rk_conv2d_p p = %s;", p);
    const char *scr = g_scratch(g, "rk_conv%s2d_scratch(&%s)", tr ? "_transpose" : "", p);
    g_line(g, "    rk_conv%s2d(%s, %s, %s, %s, RK_ACT_NONE, &p, %s);", tr ? "_transpose" : "", g_ptr(g, y), g_ptr(g, x),
           g_ptr(g, w), b ? g_ptr(g, b) : "NULL", scr);
    g_line(g, "}");
    return 1;
}

/* --------------------------------------------------------------- pooling */

static int pooling(G *g, const TNode *n, int y)
{
    int mx = g_is(n, "max_pool1d") || g_is(n, "max_pool2d"), av = g_is(n, "avg_pool1d") || g_is(n, "avg_pool2d");
    int adapt = g_is(n, "adaptive_avg_pool1d") || g_is(n, "adaptive_max_pool1d") || g_is(n, "adaptive_max_pool2d");
    if (!mx && !av && !adapt) return 0;
    int nd = n->op[strlen(n->op) - 2] == '2' ? 2 : 1;
    int x = g_in0(n);
    GTensor *tx = g_t(g, x);
    if (tx->dt != GT_F32) return g_fail(g, "%s() of an integer tensor is not supported yet", n->op);
    if (tx->rank != nd + 1 && tx->rank != nd + 2) return g_fail(g, "%s() of an input of rank %d", n->op, tx->rank);
    int ri = mx || adapt ? g_flag(g, "return_indices", 0) : 0, ix = 0;
    if (ri < 0) return -1;
    if (ri) {   /* (values, indices): torch's flat positions in each plane */
        if (n->out.kind != V_TUPLE || n->out.n != 2) return g_fail(g, "%s(): return_indices without a pair", n->op);
        y = g_id(&n->out.items[0]), ix = g_id(&n->out.items[1]);
        if (!y || !ix || g_t(g, ix)->dt != GT_I64) return g_fail(g, "%s(): return_indices without int64 indices", n->op);
        if (strstr(n->op, "avg")) return g_fail(g, "%s() has no indices", n->op);
    }
    int c = tx->rank - nd - 1;   /* the channel dim; all before it are batch */
    char NC[256];
    snprintf(NC, sizeof NC, "%s", span(g, x, 0, c + 1));
    const char *H = nd == 2 ? g_dim(g, x, c + 1) : "1", *W = g_dim(g, x, c + nd);
    g_kernel(g, "rk_pool.c");
    if (adapt) {
        if (ix)
            g_line(g, "rk_adaptive_max_pool2d_idx(%s, %s, %s, %s, 1, %s, %s, %s, %s);", g_ptr(g, y), g_ptr(g, ix),
                   g_ptr(g, x), NC, H, W, nd == 2 ? g_dim(g, y, c + 1) : "1", g_dim(g, y, c + nd));
        else
            g_line(g, "rk_adaptive_%s_pool2d(%s, %s, %s, 1, %s, %s, %s, %s);", strstr(n->op, "max") ? "max" : "avg",
                   g_ptr(g, y), g_ptr(g, x), NC, H, W, nd == 2 ? g_dim(g, y, c + 1) : "1", g_dim(g, y, c + nd));
        return 1;
    }
    int64_t ks[2], st[2], pd[2] = {0, 0}, dl[2] = {1, 1}, div = 0;
    if (ints_nd(g, "kernel_size", nd, ks)) return g_fail(g, "%s() needs kernel_size", n->op);
    const TArg *sa = g_arg(n, "stride");
    if (g_none(sa) || (sa->v.kind == V_TUPLE && !sa->v.n) || (sa->v.kind == V_CONF && sa->v.c.kind == VAL_INTS && !sa->v.c.n))
        st[0] = ks[0], st[1] = ks[nd - 1];   /* torch: the kernel size */
    else if (ints_nd(g, "stride", nd, st) < 0)
        return -1;
    if (ints_nd(g, "padding", nd, pd) < 0) return -1;
    if (mx && ints_nd(g, "dilation", nd, dl) < 0) return -1;
    int ceil = g_flag(g, "ceil_mode", 0), cip = av ? g_flag(g, "count_include_pad", 1) : 0;
    if (ceil < 0 || cip < 0) return -1;
    if (g_is(n, "avg_pool2d") && g_int(g, "divisor_override", &div) < 0) return -1;
    if (g_is(n, "avg_pool2d") && g_arg(n, "divisor_override") && !g_none(g_arg(n, "divisor_override")) && div < 1)
        return g_fail(g, "avg_pool2d(): divisor_override must be positive");
    for (int i = 0; i < nd; i++)
        if (ks[i] < 1 || st[i] < 1 || dl[i] < 1 || pd[i] < 0 || pd[i] > ks[i] / 2)
            return g_fail(g, "%s(): kernel_size, stride, dilation must be positive and padding at most half the kernel",
                          n->op);
    int64_t kh = nd == 2 ? ks[0] : 1, kw = ks[nd - 1], sh = nd == 2 ? st[0] : 1, sw = st[nd - 1];
    int64_t ph = nd == 2 ? pd[0] : 0, pw = pd[nd - 1], dh = nd == 2 ? dl[0] : 1, dw = dl[nd - 1];
    g_line(g, "{");
    g_line(g, "    const rk_pool2d_p p = {%s, 1, %s, %s, %lld, %lld, %lld, %lld, %lld, %lld, %lld, %lld, %d, %d, %lld};", NC, H,
           W, (long long)kh, (long long)kw, (long long)sh, (long long)sw, (long long)ph, (long long)pw, (long long)dh,
           (long long)dw, ceil, cip, (long long)div);
    if (ix) g_line(g, "    rk_max_pool2d_idx(%s, %s, %s, &p);", g_ptr(g, y), g_ptr(g, ix), g_ptr(g, x));
    else g_line(g, "    rk_%s_pool2d(%s, %s, &p);", mx ? "max" : "avg", g_ptr(g, y), g_ptr(g, x));
    g_line(g, "}");
    return 1;
}

/* --------------------------------------------------------- normalisation */

static int norms(G *g, const TNode *n, int y)
{
    if (!g_is(n, "group_norm") && !g_is(n, "batch_norm")) return 0;
    int x = g_in0(n), w = g_arg_id(n, "weight"), b = g_arg_id(n, "bias");
    GTensor *tx = g_t(g, x);
    if (tx->dt != GT_F32 || tx->rank < 2) return g_fail(g, "%s() of an input of rank < 2", n->op);
    double eps = 1e-5;
    if (g_number(g, "eps", &eps) < 0) return -1;
    g_kernel(g, "rk_norm.c");
    char C[64], inner[256];
    snprintf(C, sizeof C, "%s", g_dim(g, x, 1));
    snprintf(inner, sizeof inner, "%s", span(g, x, 2, tx->rank));
    if (g_is(n, "group_norm")) {
        int64_t G;
        if (g_int(g, "num_groups", &G) != 1 || G < 1) return g_fail(g, "group_norm() needs a positive num_groups");
        if (tx->d[1].a || tx->d[1].b % G) return g_fail(g, "group_norm(): num_groups must divide the channels");
        g_line(g, "rk_group_norm(%s, %s, %s, %s, %s, %lld, %s, %s, %s);", g_ptr(g, y), g_ptr(g, x), g_dim(g, x, 0), C,
               inner, (long long)G, w ? g_ptr(g, w) : "NULL", b ? g_ptr(g, b) : "NULL", g_float(eps));
        return 1;
    }
    int tr = g_flag(g, "training", 0);
    if (tr < 0) return -1;
    if (tr) return g_fail(g, "batch_norm() with training = true (batch statistics) is not supported");
    int mean = g_arg_id(n, "running_mean"), var = g_arg_id(n, "running_var");
    if (!mean || !var) return g_fail(g, "batch_norm() in eval mode needs running_mean and running_var");
    g_line(g, "rk_batch_norm(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, RK_ACT_NONE);", g_ptr(g, y), g_ptr(g, x),
           g_dim(g, x, 0), C, inner, g_ptr(g, mean), g_ptr(g, var), w ? g_ptr(g, w) : "NULL", b ? g_ptr(g, b) : "NULL",
           g_float(eps));
    return 1;
}

/* F.normalize: x / max(||x||_p over dim, eps). */
static int normalize(G *g, const TNode *n, int y)
{
    if (!g_is(n, "normalize")) return 0;
    int x = g_in0(n);
    GTensor *t = g_t(g, x);
    if (t->dt != GT_F32) return g_fail(g, "normalize() of an integer tensor");
    if (!g_none(g_arg(n, "out"))) return g_fail(g, "normalize() with out= is not supported");
    double p = 2, eps = 1e-12;
    int64_t d = 1;
    if (g_number(g, "p", &p) != 1 || g_number(g, "eps", &eps) < 0 || g_int(g, "dim", &d) < 0) return -1;
    if (d < 0) d += t->rank;
    if (d < 0 || d >= t->rank) return g_fail(g, "normalize(): dim out of range");
    if (!(p > 0)) return g_fail(g, "normalize() with p <= 0 is not supported");
    char O[256], D[64], I[256];
    snprintf(O, sizeof O, "%s", span(g, x, 0, (int)d));
    snprintf(D, sizeof D, "%s", g_dim(g, x, (int)d));
    snprintf(I, sizeof I, "%s", span(g, x, (int)d + 1, t->rank));
    const char *acc = p == 2 ? "s += (double)a * a" : p == 1 ? "s += a" : p > 1e300 ? "s = a > s ? a : s"
                                                                                     : "s += pow((double)a, P)";
    const char *fin = p == 2 ? "sqrt(s)" : p == 1 || p > 1e300 ? "s" : "pow(s, 1.0 / P)";
    g_line(g, "{");
    g_line(g, "    const int64_t O = %s, D = %s, I = %s;", O, D, I);
    g_line(g, "    const float *X = %s;", g_ptr(g, x));
    g_line(g, "    float *Y = %s;", g_ptr(g, y));
    g_line(g, "    const double P = %.17g;", p > 1e300 ? 0.0 : p);
    g_line(g, "    (void)P;");
    g_line(g, "    for (int64_t o = 0; o < O; o++)");
    g_line(g, "        for (int64_t i = 0; i < I; i++) {");
    g_line(g, "            const float *xp = X + o * D * I + i;");
    g_line(g, "            float *yp = Y + o * D * I + i;");
    g_line(g, "            double s = 0;");
    g_line(g, "            for (int64_t k = 0; k < D; k++) {");
    g_line(g, "                const float a = fabsf(xp[k * I]);");
    g_line(g, "                %s;", acc);
    g_line(g, "            }");
    g_line(g, "            float nrm = (float)%s;", fin);
    g_line(g, "            if (!(nrm >= %s)) nrm = nrm != nrm ? nrm : %s;", g_float(eps), g_float(eps));
    g_line(g, "            for (int64_t k = 0; k < D; k++) yp[k * I] = xp[k * I] / nrm;");
    g_line(g, "        }");
    g_line(g, "}");
    return 1;
}

/* ------------------------------------------------ interpolate, shuffles */

/* The scale_factor of interpolate for spatial dim i of nd (0: none). */
static int scale_of(G *g, const TNode *n, int nd, double *sc)
{
    const TArg *a = g_arg(n, "scale_factor");
    for (int i = 0; i < nd; i++) sc[i] = 0;
    if (g_none(a)) return 0;
    if (a->v.kind == V_TUPLE) {
        if ((int)a->v.n != nd) return g_fail(g, "interpolate(): %d scale factors for %d dims", (int)a->v.n, nd);
        for (int i = 0; i < nd; i++)
            if (!g_num(&a->v.items[i], &sc[i])) return g_fail(g, "interpolate(): scale factors must be numbers");
        return 0;
    }
    double v;
    if (!g_num(&a->v, &v)) return g_fail(g, "interpolate(): scale_factor must be a number");
    for (int i = 0; i < nd; i++) sc[i] = v;
    return 0;
}

static int resize(G *g, const TNode *n, int y)
{
    if (g_is(n, "pixel_shuffle") || g_is(n, "pixel_unshuffle")) {
        int x = g_in0(n), un = g_is(n, "pixel_unshuffle");
        GTensor *t = g_t(g, x);
        int64_t r;
        if (g_int(g, un ? "downscale_factor" : "upscale_factor", &r) != 1 || r < 1)
            return g_fail(g, "%s() needs a positive factor", n->op);
        if (t->rank < 3) return g_fail(g, "%s() of an input of rank < 3", n->op);
        g_kernel(g, "rk_resize.c");
        /* (N, C, H, W) of the smaller side: the output of unshuffle, the input of shuffle */
        int s = un ? y : x, c = un ? x : y, k = t->rank;
        g_line(g, "rk_%s(%s, %s, %s, %s, %s, %s, %lld);", n->op, g_ptr(g, y), g_ptr(g, x), span(g, y, 0, k - 3),
               g_dim(g, c, k - 3), g_dim(g, s, k - 2), g_dim(g, s, k - 1), (long long)r);
        return 1;
    }
    if (!g_is(n, "interpolate")) return 0;
    int x = g_in0(n);
    GTensor *t = g_t(g, x);
    int nd = t->rank - 2;
    if (t->dt != GT_F32 || nd < 1 || nd > 3) return g_fail(g, "interpolate() of an input of rank %d", t->rank);
    const char *mode = g_str_arg(g_arg(n, "mode"));
    if (!mode) mode = "nearest";
    int ac = g_flag(g, "align_corners", 0);
    if (ac < 0) return -1;
    if (g_flag(g, "antialias", 0)) return g_fail(g, "interpolate() with antialias is not supported yet");
    double sc[3];
    if (scale_of(g, n, nd, sc) < 0) return -1;
    if (g_flag(g, "recompute_scale_factor", 0) == 1) sc[0] = sc[1] = sc[2] = 0;   /* torch: scales from the sizes */
    return g_interpolate(g, x, y, mode, ac, sc);
}

int g_interpolate(G *g, int x, int y, const char *mode, int ac, const double *sc)
{
    GTensor *t = g_t(g, x);
    int nd = t->rank - 2;
    if (t->dt != GT_F32 || nd < 1 || nd > 3) return g_fail(g, "interpolate of an input of rank %d", t->rank);
    for (int i = 0; i < nd; i++)
        if (t->d[2 + i].a || g_t(g, y)->d[2 + i].a) return g_fail(g, "interpolate(): a spatial size depends on the batch");
    char NC[256];
    snprintf(NC, sizeof NC, "%s", span(g, x, 0, 2));
    const char *H = nd >= 2 ? g_dim(g, x, nd) : "1", *W = g_dim(g, x, nd + 1);
    const char *Ho = nd >= 2 ? g_dim(g, y, nd) : "1", *Wo = g_dim(g, y, nd + 1);
    double sh = nd >= 2 ? sc[nd - 2] : 0, sw = sc[nd - 1];
    g_kernel(g, "rk_resize.c");
    int nearest = !strcmp(mode, "nearest"), exact = !strcmp(mode, "nearest-exact");
    if (nearest || exact) {
        if (nd == 3) return g_fail(g, "interpolate(): 3-d %s is not supported yet", mode);
        g_line(g, "rk_upsample_nearest2d(%s, %s, %s, 1, %s, %s, %s, %s, %.17g, %.17g, %d);", g_ptr(g, y), g_ptr(g, x), NC,
               H, W, Ho, Wo, sh, sw, exact);
        return 1;
    }
    if ((!strcmp(mode, "linear") && nd == 1) || (!strcmp(mode, "bilinear") && nd == 2)) {
        g_line(g, "rk_upsample_bilinear2d(%s, %s, %s, 1, %s, %s, %s, %s, %d, %.17g, %.17g);", g_ptr(g, y), g_ptr(g, x), NC,
               H, W, Ho, Wo, ac, sh, sw);
        return 1;
    }
    if (!strcmp(mode, "bicubic") && nd == 2) {
        g_line(g, "rk_upsample_bicubic2d(%s, %s, %s, 1, %s, %s, %s, %s, %d, %.17g, %.17g);", g_ptr(g, y), g_ptr(g, x), NC,
               H, W, Ho, Wo, ac, sh, sw);
        return 1;
    }
    if (!strcmp(mode, "trilinear") && nd == 3) {
        /* separable: bilinear over (H, W) of every depth slice, then linear over D */
        char D[64], Do[64], HWo[256];
        snprintf(D, sizeof D, "%s", g_dim(g, x, 2));
        snprintf(Do, sizeof Do, "%s", g_dim(g, y, 2));
        snprintf(HWo, sizeof HWo, "%s", span(g, y, 3, 5));
        const char *scr = g_scratch(g, "%s * %s * %s", NC, D, HWo);
        g_line(g, "rk_upsample_bilinear2d(%s, %s, %s * %s, 1, %s, %s, %s, %s, %d, %.17g, %.17g);", scr, g_ptr(g, x), NC, D,
               g_dim(g, x, 3), g_dim(g, x, 4), g_dim(g, y, 3), g_dim(g, y, 4), ac, sc[1], sc[2]);
        g_line(g, "rk_upsample_bilinear2d(%s, %s, %s, 1, %s, %s, %s, %s, %d, %.17g, 0.0);", g_ptr(g, y), scr, NC, D, HWo,
               Do, HWo, ac, sc[0]);
        return 1;
    }
    if (!strcmp(mode, "area") && nd <= 2) {   /* torch: adaptive_avg_pool to the output size */
        g_kernel(g, "rk_pool.c");
        g_line(g, "rk_adaptive_avg_pool2d(%s, %s, %s, 1, %s, %s, %s, %s);", g_ptr(g, y), g_ptr(g, x), NC, H, W, Ho, Wo);
        return 1;
    }
    return g_fail(g, "interpolate() mode '%s' on a %d-d input is not supported yet", mode, nd);
}

/* --------------------------------------------------------------- attention */

static int same_aff(const GTensor *a, int i, const GTensor *b, int j)
{
    return a->d[i].a == b->d[j].a && a->d[i].b == b->d[j].b;
}

static int attention(G *g, const TNode *n, int y)
{
    if (!g_is(n, "scaled_dot_product_attention") && !g_is(n, "sdpa")) return 0;
    int q = g_arg_id(n, "query"), k = g_arg_id(n, "key"), v = g_arg_id(n, "value"), am = g_arg_id(n, "attn_mask");
    if (!q || !k || !v) return g_fail(g, "%s() needs query, key and value tensors", n->op);
    GTensor *tq = g_t(g, q), *tk = g_t(g, k), *tv = g_t(g, v);
    int r = tq->rank;
    if ((r != 3 && r != 4) || tk->rank != r || tv->rank != r)
        return g_fail(g, "%s() of operands of rank %d, %d, %d (3 or 4 alike are supported)", n->op, r, tk->rank, tv->rank);
    if (tq->dt != GT_F32 || tk->dt != GT_F32 || tv->dt != GT_F32) return g_fail(g, "%s() of integer tensors", n->op);
    double drop = 0, scale = 0;
    if (g_number(g, "dropout_p", &drop) < 0) return -1;
    if (drop != 0) return g_fail(g, "%s() with dropout_p (applied even in eval mode) is not supported", n->op);
    int hs = g_number(g, "scale", &scale);
    if (hs < 0) return -1;
    int causal = g_flag(g, "is_causal", 0), gqa = g_flag(g, "enable_gqa", 0);
    if (causal < 0 || gqa < 0) return -1;
    if (causal && am) return g_fail(g, "%s() with both attn_mask and is_causal", n->op);
    if (!same_aff(tq, 0, tk, 0) || !same_aff(tq, 0, tv, 0) || !same_aff(tk, r - 2, tv, r - 2) ||
        !same_aff(tq, r - 1, tk, r - 1) || (r == 4 && !same_aff(tk, 1, tv, 1)))
        return g_fail(g, "%s(): operands whose batch, key or feature sizes differ are not supported", n->op);
    const char *B = g_dim(g, q, 0);
    int64_t H = r == 4 ? tq->d[1].b : 1, Hkv = r == 4 ? tk->d[1].b : 1;
    if (r == 4 && (tq->d[1].a || tk->d[1].a)) return g_fail(g, "%s(): a head count that depends on the batch", n->op);
    if (Hkv != H && Hkv != 1 && !(gqa && Hkv > 0 && H % Hkv == 0))
        return g_fail(g, "%s(): %lld query heads and %lld key heads", n->op, (long long)H, (long long)Hkv);
    char Tq[64], Tk[64], D[64], Dv[64];
    snprintf(Tq, sizeof Tq, "%s", g_dim(g, q, r - 2));
    snprintf(Tk, sizeof Tk, "%s", g_dim(g, k, r - 2));
    snprintf(D, sizeof D, "%s", g_dim(g, q, r - 1));
    snprintf(Dv, sizeof Dv, "%s", g_dim(g, v, r - 1));
    g_kernel(g, "rk_attn.c");
    g_line(g, "{");
    if (am) {
        GTensor *ta = g_t(g, am);
        if (ta->dt == GT_I64) return g_fail(g, "%s(): an integer attn_mask", n->op);
        if (ta->rank > 4 || (r == 3 && ta->rank > 2))
            return g_fail(g, "%s(): an attn_mask of rank %d for operands of rank %d", n->op, ta->rank, r);
        const char *ms = g_shape(g, am);
        g_line(g, "    rk_attn_mask mk;");
        g_line(g, "    if (rk_sdpa_mask(&mk, %s, %s, %d, %s, %s, %lld, %s, %s) < 0) {",
               ta->dt == GT_BOOL ? "NULL" : g_ptr(g, am), ta->dt == GT_BOOL ? g_ptr(g, am) : "NULL", ta->rank, ms, B,
               (long long)H, Tq, Tk);
        g_line(g, "        snprintf(m->err, sizeof m->err, \"%s(): the mask does not broadcast\");", n->op);
        g_line(g, "        return -1;");
        g_line(g, "    }");
    }
    char scr[256];
    snprintf(scr, sizeof scr, "rk_sdpa_scratch(%s, %s)", Tq, Tk);
    const char *sp = g_scratch(g, "%s", scr);
    char sc[128];
    if (hs == 1) snprintf(sc, sizeof sc, "%s", g_float(scale));
    else snprintf(sc, sizeof sc, "1.0f / sqrtf((float)%s)", D);
    g_line(g, "    if (rk_sdpa(%s, %s, %s, %s, %s, %lld, %lld, %s, %s, %s, %s, %s, %d, %s, %s) < 0) {", g_ptr(g, y),
           g_ptr(g, q), g_ptr(g, k), g_ptr(g, v), B, (long long)H, (long long)Hkv, Tq, Tk, D, Dv, am ? "&mk" : "NULL",
           causal, sc, sp);
    g_line(g, "        snprintf(m->err, sizeof m->err, \"%s(): bad sizes\");", n->op);
    g_line(g, "        return -1;");
    g_line(g, "    }");
    g_line(g, "}");
    return 1;
}

/* F.conv3d(input, weight, bias, stride, padding, dilation, groups): one
 * number or a triple each (a padding string is refused). */
static int conv3d_fn(G *g, const TNode *n, int y)
{
    int x = g_in0(n), w = g_arg_id(n, "weight"), b = g_arg_id(n, "bias");
    int64_t st[3], pd[3], dl[3], gr = 1;
    const char *names[3] = {"stride", "padding", "dilation"};
    int64_t *vals[3] = {st, pd, dl};
    if (g_str_arg(g_arg(n, "padding"))) return g_fail(g, "conv3d() with a padding string is not supported yet");
    for (int i = 0; i < 3; i++) {
        int64_t v[3];
        int c = g_ints(g_arg(n, names[i]), v, 3);
        if (c != 1 && c != 3) return g_fail(g, "conv3d(): %s must be one integer or three", names[i]);
        for (int j = 0; j < 3; j++) vals[i][j] = v[c == 1 ? 0 : j];
    }
    if (g_int(g, "groups", &gr) < 0) return -1;
    GTensor *tw = g_t(g, w);
    if (!w || tw->rank != 5) return g_fail(g, "conv3d() needs a 5-d weight");
    int64_t k[3] = {tw->d[2].b, tw->d[3].b, tw->d[4].b};
    char wb[256];
    snprintf(wb, sizeof wb, "%s", g_ptr(g, w));
    return g_conv3d(g, x, y, wb, b ? g_ptr(g, b) : "NULL", tw->d[0].b, k, st, pd, dl, gr);
}

int emit_nn(G *g, const TNode *n)
{
    if (n->kind != TN_FN) return 0;
    int y = g_id(&n->out), r;
    if (g_is(n, "conv3d")) return conv3d_fn(g, n, y);
    if ((r = activation(g, n, y)) != 0) return r;
    if ((r = convolution(g, n, y)) != 0) return r;
    if ((r = pooling(g, n, y)) != 0) return r;
    if ((r = norms(g, n, y)) != 0) return r;
    if ((r = normalize(g, n, y)) != 0) return r;
    if ((r = resize(g, n, y)) != 0) return r;
    return attention(g, n, y);
}
