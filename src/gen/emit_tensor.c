/* emit_tensor.c — C for the forward's tensor functions: arange, masks
 * and selection (triu, masked_fill, gather, index_select), splitting,
 * expanding, padding and rolling, elementwise math of f32 tensors, and the
 * functional forms of normalisation, embedding and attention.  Fills,
 * where, conversions and every dtype other than f32 are emit_math.c's
 * (asked first); emit_fn.c handles operators, views, layout and
 * reductions; all follow gen.h's emitter contract.
 */
#include <stdio.h>
#include <string.h>

#include "gen.h"

/* torch.arange (the others of its family, zeros, ones, full: emit_math.c). */
static int creation(G *g, const TNode *n, int y)
{
    GTensor *t = g_t(g, y);
    if (g_is(n, "arange")) {
        double a = 0, b = 0, s = 1;
        const TArg *st = g_arg(n, "start"), *en = g_arg(n, "end"), *sp = g_arg(n, "step");
        int have_end = en && !(en->v.kind == V_CONF && en->v.c.kind == VAL_NONE);
        if (!g_num_arg(st, &a) || (have_end && !g_num_arg(en, &b)) || !g_num_arg(sp, &s)) return g_fail(g, "arange() of non-numbers");
        if (!have_end) b = a, a = 0;
        const TNode *w = g_twin(g);
        double a2 = 0, b2 = 0;
        g_num_arg(g_arg(w, "start"), &a2);
        if (have_end) g_num_arg(g_arg(w, "end"), &b2);
        if (!have_end) b2 = a2, a2 = 0;
        /* an end that follows the batch (arange(x.size(0))) is fine: the
         * length is the output's size, affine in the batch */
        double s2 = 1;
        g_num_arg(g_arg(w, "step"), &s2);
        if (a2 != a || s2 != s) return g_fail(g, "arange() whose start or step depends on the batch size");
        (void)b2;
        if (t->dt != GT_F32 && t->dt != GT_I64) return g_fail(g, "arange() of dtype %s is not supported yet", g_dtname(t->dt));
        g_kernel(g, "rk_layout.c");
        if (t->dt == GT_I64)
            g_line(g, "rk_arange_i64(%s, %s, %lld, %lld);", g_ptr(g, y), g_numel(g, y), (long long)a, (long long)s);
        else
            g_line(g, "rk_arange_f32(%s, %s, %.17g, %.17g);", g_ptr(g, y), g_numel(g, y), a, s);
        return 1;
    }
    return 0;   /* zeros, ones, full ...: emit_math.c, for every dtype */
}

/* Elementwise math of one tensor (rk_unop), clamp, pow with a number. */
static int unary(G *g, const TNode *n, int y)
{
    static const struct { const char *fn, *op; } ops[] = {
        {"exp", "RK_UN_EXP"},     {"log", "RK_UN_LOG"},   {"sqrt", "RK_UN_SQRT"},   {"rsqrt", "RK_UN_RSQRT"},
        {"abs", "RK_UN_ABS"},     {"neg", "RK_UN_NEG"},   {"sin", "RK_UN_SIN"},     {"cos", "RK_UN_COS"},
        {"erf", "RK_UN_ERF"},     {"reciprocal", "RK_UN_RECIPROCAL"}, {"floor", "RK_UN_FLOOR"},
        {"ceil", "RK_UN_CEIL"},   {"round", "RK_UN_ROUND"}, {"trunc", "RK_UN_TRUNC"}, {"sign", "RK_UN_SIGN"},
        {"square", "RK_UN_SQUARE"}, {"log1p", "RK_UN_LOG1P"}, {"expm1", "RK_UN_EXPM1"},
    };
    int x = g_in0(n);
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
        if (g_is(n, ops[i].fn)) {
            if (g_t(g, x)->dt != GT_F32) return g_fail(g, "%s() of an integer tensor is not supported yet", n->op);
            g_kernel(g, "rk_elem.c");
            g_line(g, "rk_unary(%s, %s, %s, %s);", ops[i].op, g_ptr(g, y), g_ptr(g, x), g_numel(g, x));
            return 1;
        }
    if (g_is(n, "pow") && !g_arg_id(n, "exponent")) {
        double e;
        if (!g_num_arg(g_arg(n, "exponent"), &e)) return g_fail(g, "pow() with a non-numeric exponent");
        g_kernel(g, "rk_elem.c");
        g_line(g, "rk_binary_scalar(RK_BIN_POW, %s, %s, %s, %s, 0);", g_ptr(g, y), g_ptr(g, x), g_numel(g, x), g_float(e));
        return 1;
    }
    if (g_is(n, "clamp") || g_is(n, "clip")) {
        double lo = -1e39, hi = 1e39;
        g_num_arg(g_arg(n, "min"), &lo);
        g_num_arg(g_arg(n, "max"), &hi);
        g_kernel(g, "rk_elem.c");
        g_line(g, "rk_clamp(%s, %s, %s, %s, %s);", g_ptr(g, y), g_ptr(g, x), g_numel(g, x), g_float(lo), g_float(hi));
        return 1;
    }
    return 0;
}

static int split(G *g, const TNode *n)
{
    int x = g_in0(n), d;
    GTensor *t = g_t(g, x);
    if (n->out.kind != V_TUPLE || !n->out.n) return g_fail(g, "%s() of no pieces", n->op);
    if (g_dim_arg(g, "dim", t->rank, 0, &d) < 0) return -1;
    g_kernel(g, "rk_layout.c");
    const char *xs = g_shape(g, x);
    g_line(g, "{");
    fprintf(g->body, "        void *const ys[] = {");
    for (size_t i = 0; i < n->out.n; i++) fprintf(g->body, "%s%s", i ? ", " : "", g_ptr(g, g_id(&n->out.items[i])));
    fprintf(g->body, "};\n        const int64_t lens[] = {");
    for (size_t i = 0; i < n->out.n; i++) fprintf(g->body, "%s%s", i ? ", " : "", g_dim(g, g_id(&n->out.items[i]), d));
    fprintf(g->body, "};\n");
    g_line(g, "    rk_split(ys, %zu, %s, %d, %d, %s, %d, lens);", n->out.n, g_ptr(g, x), g_es(g, x), t->rank, xs, d);
    g_line(g, "}");
    return 1;
}

/* Masks, selection, expanding, rolling, padding. */
static int select_ops(G *g, const TNode *n, int y)
{
    if (g_is(n, "masked_fill")) {
        int x = g_in0(n), mk = g_arg_id(n, "mask");
        double v;
        if (!g_num_arg(g_arg(n, "value"), &v)) return g_fail(g, "masked_fill() with a tensor value is not supported yet");
        if (!mk || g_t(g, mk)->dt != GT_BOOL) return g_fail(g, "masked_fill() needs a bool mask");
        g_kernel(g, "rk_layout.c");
        const char *xs = g_shape(g, x), *ms = g_shape(g, mk);
        g_line(g, "rk_masked_fill(%s, %s, %d, %s, %s, %d, %s, %s);", g_ptr(g, y), g_ptr(g, x), g_t(g, x)->rank, xs,
               g_ptr(g, mk), g_t(g, mk)->rank, ms, g_float(v));
        return 1;
    }
    if (g_is(n, "triu") || g_is(n, "tril")) {
        int x = g_in0(n);
        GTensor *t = g_t(g, x);
        int64_t diag = 0;
        if (g_int(g, "diagonal", &diag) < 0) return -1;
        if (t->rank < 2) return g_fail(g, "%s() of a tensor of rank < 2", n->op);
        char batch[256];
        Aff p = {0, 1};
        for (int k = 0; k < t->rank - 2; k++) p = (Aff){p.a * t->d[k].b + t->d[k].a * p.b, p.b * t->d[k].b};
        snprintf(batch, sizeof batch, "%s", g_aff(g, p));
        g_kernel(g, "rk_layout.c");
        g_line(g, "rk_%s(%s, %s, %d, %s, %s, %s, %lld);", n->op, g_ptr(g, y), g_ptr(g, x), g_es(g, x), batch,
               g_dim(g, x, -2), g_dim(g, x, -1), (long long)diag);
        return 1;
    }
    if (g_is(n, "expand") || g_is(n, "expand_as") || g_is(n, "broadcast_to")) {
        int x = g_in0(n);
        g_kernel(g, "rk_layout.c");
        const char *xs = g_shape(g, x), *ys = g_shape(g, y);
        g_line(g, "rk_expand(%s, %s, %d, %d, %s, %d, %s);", g_ptr(g, y), g_ptr(g, x), g_es(g, x), g_t(g, x)->rank, xs,
               g_t(g, y)->rank, ys);
        return 1;
    }
    if (g_is(n, "roll")) {
        int x = g_in0(n);
        const TArg *sh = g_arg(n, "shifts"), *dm = g_arg(n, "dims");
        int64_t shifts[MAXR];
        int dims[MAXR], ns = 0, nd = 0;
        int64_t v;
        if (sh && sh->v.kind == V_TUPLE)
            for (size_t i = 0; i < sh->v.n && ns < MAXR; i++) {
                if (sh_as_int(&sh->v.items[i], &v) != 1) return g_fail(g, "roll(): shifts must be integers");
                shifts[ns++] = v;
            }
        else if (sh && sh_as_int(&sh->v, &v) == 1) shifts[ns++] = v;
        if (dm && dm->v.kind == V_TUPLE)
            for (size_t i = 0; i < dm->v.n && nd < MAXR; i++) {
                if (sh_as_int(&dm->v.items[i], &v) != 1) return g_fail(g, "roll(): dims must be integers");
                dims[nd++] = (int)(v < 0 ? v + g_t(g, x)->rank : v);
            }
        else if (dm && sh_as_int(&dm->v, &v) == 1) dims[nd++] = (int)(v < 0 ? v + g_t(g, x)->rank : v);
        if (!nd || nd != ns) return g_fail(g, "roll() needs as many dims as shifts");
        g_kernel(g, "rk_layout.c");
        const char *xs = g_shape(g, x);
        fprintf(g->body, "    { const int64_t sh[] = {");
        for (int i = 0; i < ns; i++) fprintf(g->body, "%s%lld", i ? ", " : "", (long long)shifts[i]);
        fprintf(g->body, "}; const int dm[] = {");
        for (int i = 0; i < nd; i++) fprintf(g->body, "%s%d", i ? ", " : "", dims[i]);
        fprintf(g->body, "}; rk_roll(%s, %s, %d, %d, %s, %d, sh, dm); }\n", g_ptr(g, y), g_ptr(g, x), g_es(g, x),
                g_t(g, x)->rank, xs, nd);
        return 1;
    }
    if (g_is(n, "pad")) {
        int x = g_in0(n);
        const TArg *pa = g_arg(n, "pad"), *md = g_arg(n, "mode");
        int64_t pad[2 * MAXR], v;
        int np = 0;
        for (size_t i = 0; pa && pa->v.kind == V_TUPLE && i < pa->v.n && np < 2 * MAXR; i++) {
            if (sh_as_int(&pa->v.items[i], &v) != 1) return g_fail(g, "pad(): sizes must be integers");
            pad[np++] = v;
        }
        const char *mode = md && md->v.kind == V_CONF && md->v.c.kind == VAL_STR ? md->v.c.s : "constant";
        double val = 0;
        g_num_arg(g_arg(n, "value"), &val);
        g_kernel(g, "rk_layout.c");
        const char *xs = g_shape(g, x);
        fprintf(g->body, "    { const int64_t pad[] = {");
        for (int i = 0; i < np; i++) fprintf(g->body, "%s%lld", i ? ", " : "", (long long)pad[i]);
        fprintf(g->body, "%s}; rk_pad(%s, %s, %d, %s, %d, pad, %s, %s); }\n", np ? "" : "0", g_ptr(g, y), g_ptr(g, x),
                g_t(g, x)->rank, xs, np,
                !strcmp(mode, "reflect") ? "RK_PAD_REFLECT" : !strcmp(mode, "replicate") ? "RK_PAD_REPLICATE"
                : !strcmp(mode, "circular") ? "RK_PAD_CIRCULAR" : "RK_PAD_CONSTANT", g_float(val));
        return 1;
    }
    if (g_is(n, "gather") || g_is(n, "index_select")) {
        int x = g_in0(n), ix = g_arg_id(n, "index"), d;
        GDtype dt = ix ? g_t(g, ix)->dt : GT_F32;
        if (dt != GT_I64 && dt != GT_I32 && dt != GT_I16 && dt != GT_I8 && dt != GT_U8)
            return g_fail(g, "%s() with a %s index", n->op, g_dtname(dt));
        if (g_dim_arg(g, "dim", g_t(g, x)->rank, 0, &d) < 0) return -1;
        g_kernel(g, "rk_layout.c");
        char ip[256];
        snprintf(ip, sizeof ip, "%s", g_ids64(g, ix));   /* int32 and narrower indices widened */
        const char *xs = g_shape(g, x);
        if (g_is(n, "gather")) {
            const char *is_ = g_shape(g, ix);
            g_line(g, "if (rk_gather(%s, %s, %d, %d, %s, %d, %s, %s) < 0) {", g_ptr(g, y), g_ptr(g, x), g_es(g, x),
                   g_t(g, x)->rank, xs, d, ip, is_);
        } else {
            g_line(g, "if (rk_index_select(%s, %s, %d, %d, %s, %d, %s, %s) < 0) {", g_ptr(g, y), g_ptr(g, x), g_es(g, x),
                   g_t(g, x)->rank, xs, d, ip, g_numel(g, ix));
        }
        g_line(g, "    snprintf(m->err, sizeof m->err, \"%s(): an index is out of range\");", n->op);
        g_line(g, "    return -1;");
        g_line(g, "}");
        return 1;
    }
    return 0;
}

/* Functional normalisation, embedding, addmm and attention. */
static int functional(G *g, const TNode *n, int y)
{
    if (g_is(n, "layer_norm") || g_is(n, "rms_norm")) {
        int x = g_in0(n), w = g_arg_id(n, "weight"), b = g_arg_id(n, "bias");
        const TArg *ns = g_arg(n, "normalized_shape");
        int nd = ns && ns->v.kind == V_TUPLE ? (int)ns->v.n : 1;
        GTensor *t = g_t(g, x);
        double eps = g_is(n, "rms_norm") ? 1.1920928955078125e-07 : 1e-5;
        g_num_arg(g_arg(n, "eps"), &eps);
        Aff rows = {0, 1}, cols = {0, 1};
        for (int k = 0; k < t->rank; k++) {
            Aff *p = k < t->rank - nd ? &rows : &cols;
            *p = (Aff){p->a * t->d[k].b + t->d[k].a * p->b, p->b * t->d[k].b};
        }
        char r[128];
        snprintf(r, sizeof r, "%s", g_aff(g, rows));
        g_kernel(g, "rk_norm.c");
        if (g_is(n, "rms_norm"))
            g_line(g, "rk_rms_norm(%s, %s, %s, %s, %s, %s);", g_ptr(g, y), g_ptr(g, x), r, g_aff(g, cols),
                   w ? g_ptr(g, w) : "NULL", g_float(eps));
        else
            g_line(g, "rk_layer_norm(%s, %s, %s, %s, %s, %s, %s);", g_ptr(g, y), g_ptr(g, x), r, g_aff(g, cols),
                   w ? g_ptr(g, w) : "NULL", b ? g_ptr(g, b) : "NULL", g_float(eps));
        return 1;
    }
    if (g_is(n, "embedding")) {
        int ids = g_in0(n), w = g_arg_id(n, "weight");
        g_kernel(g, "rk_embed.c");
        const char *ip = g_ids64(g, ids);
        g_line(g, "if (rk_embedding(%s, %s, %s, %s, %s, %s) < 0) {", g_ptr(g, y), ip, g_numel(g, ids),
               g_ptr(g, w), g_dim(g, w, 0), g_dim(g, w, 1));
        g_line(g, "    snprintf(m->err, sizeof m->err, \"embedding(): a token id is outside 0..%%lld\", (long long)%s - 1);",
               g_dim(g, w, 0));
        g_line(g, "    return -1;");
        g_line(g, "}");
        return 1;
    }
    if (g_is(n, "baddbmm")) {   /* beta * input + alpha * batch1 @ batch2 */
        int c = g_in0(n), a = g_arg_id(n, "batch1"), b = g_arg_id(n, "batch2");
        double beta = 1, alpha = 1;
        g_num_arg(g_arg(n, "beta"), &beta);
        g_num_arg(g_arg(n, "alpha"), &alpha);
        GTensor *tc = g_t(g, c);
        if (!c || !a || !b || g_t(g, a)->rank != 3 || (tc->rank != 3 && tc->rank != 2) ||
            (tc->rank == 3 && (tc->d[0].a != g_t(g, a)->d[0].a || tc->d[0].b != g_t(g, a)->d[0].b)))
            return g_fail(g, "baddbmm() of an input that is not [B, M, N] or [M, N] is not supported yet");
        g_kernel(g, "rk_matmul.c");
        g_line(g, "rk_baddbmm(%s, %s, %d, %s, %s, %s, %s, %s, %s, %s, %s);", g_ptr(g, y), g_ptr(g, c), tc->rank == 3,
               g_ptr(g, a), g_ptr(g, b), g_dim(g, a, 0), g_dim(g, a, 1), g_dim(g, b, 2), g_dim(g, a, 2), g_float(beta),
               g_float(alpha));
        return 1;
    }
    if (g_is(n, "addmm")) {   /* HF Conv1D: bias + x @ W, x (M, K), W (K, N) */
        int c = g_in0(n), a = g_arg_id(n, "mat1"), b = g_arg_id(n, "mat2");
        double beta = 1, alpha = 1;
        g_num_arg(g_arg(n, "beta"), &beta);
        g_num_arg(g_arg(n, "alpha"), &alpha);
        g_kernel(g, "rk_matmul.c");
        GTensor *tc = g_t(g, c);
        const char *M = g_dim(g, a, 0), *N = g_dim(g, b, 1), *K = g_dim(g, a, 1);
        if (tc->rank == 1) {   /* a bias row: copied to every row, then accumulated onto */
            g_line(g, "for (int64_t r = 0; r < %s; r++) memcpy(%s + r * %s, %s, (size_t)%s * sizeof(float));", M,
                   g_ptr(g, y), N, g_ptr(g, c), N);
            g_line(g, "rk_baddbmm(%s, %s, 1, %s, %s, 1, %s, %s, %s, %s, %s);", g_ptr(g, y), g_ptr(g, y), g_ptr(g, a),
                   g_ptr(g, b), M, N, K, g_float(beta), g_float(alpha));
        } else if (tc->rank == 2) {
            g_line(g, "rk_baddbmm(%s, %s, 1, %s, %s, 1, %s, %s, %s, %s, %s);", g_ptr(g, y), g_ptr(g, c), g_ptr(g, a),
                   g_ptr(g, b), M, N, K, g_float(beta), g_float(alpha));
        } else {
            return g_fail(g, "addmm() with an input of rank %d", tc->rank);
        }
        return 1;
    }
    return 0;
}

/* torchvision's shifted_window_attention (Swin v1): rk_swin.c. */
static int swin(G *g, const TNode *n, int y)
{
    int x = g_in0(n), qw = g_arg_id(n, "qkv_weight"), pw = g_arg_id(n, "proj_weight"), rb = g_arg_id(n, "relative_position_bias");
    int qb = g_arg_id(n, "qkv_bias"), pb = g_arg_id(n, "proj_bias");
    const TArg *ls = g_arg(n, "logit_scale");
    if (ls && !(ls->v.kind == V_CONF && ls->v.c.kind == VAL_NONE))
        return g_fail(g, "shifted_window_attention() with logit_scale (Swin v2) is not supported yet");
    int64_t win[2], shift[2], heads;
    if (g_ints(g_arg(n, "window_size"), win, 2) != 2 || g_ints(g_arg(n, "shift_size"), shift, 2) != 2 ||
        g_int(g, "num_heads", &heads) != 1)
        return g_fail(g, "shifted_window_attention() needs window_size and shift_size pairs and num_heads");
    GTensor *t = g_t(g, x);
    if (t->rank != 4 || !qw || !pw || !rb) return g_fail(g, "shifted_window_attention() of a (B, H, W, C) input");
    g_kernel(g, "rk_swin.c");
    char scr[512];
    snprintf(scr, sizeof scr, "rk_swin_scratch(%s, %s, %s, %s, %lld, %lld)", g_dim(g, x, 0), g_dim(g, x, 1),
             g_dim(g, x, 2), g_dim(g, x, 3), (long long)win[0], (long long)win[1]);
    const char *sp = g_scratch(g, "%s", scr);
    g_line(g, "if (rk_swin_attention(%s, %s, %s, %s, %s, %s, %lld, %lld, %lld, %lld, %lld, %s, %s, %s, %s, %s, %s) < 0) {",
           g_ptr(g, y), g_ptr(g, x), g_dim(g, x, 0), g_dim(g, x, 1), g_dim(g, x, 2), g_dim(g, x, 3), (long long)win[0],
           (long long)win[1], (long long)shift[0], (long long)shift[1], (long long)heads, g_ptr(g, qw),
           qb ? g_ptr(g, qb) : "NULL", g_ptr(g, pw), pb ? g_ptr(g, pb) : "NULL", g_ptr(g, rb), sp);
    g_line(g, "    snprintf(m->err, sizeof m->err, \"shifted_window_attention(): bad sizes\");");
    g_line(g, "    return -1;");
    g_line(g, "}");
    return 1;
}

int emit_tensor(G *g, const TNode *n)
{
    if (n->kind != TN_FN) return 0;
    int y = g_id(&n->out);
    if (g_is(n, "split") || g_is(n, "chunk") || g_is(n, "unbind")) return g_is(n, "unbind") ? g_fail(g, "unbind() is not supported yet") : split(g, n);
    int r;
    if (g_is(n, "shifted_window_attention")) return swin(g, n, y);
    if ((r = creation(g, n, y)) != 0) return r;
    if ((r = unary(g, n, y)) != 0) return r;
    if ((r = select_ops(g, n, y)) != 0) return r;
    return functional(g, n, y);
}
