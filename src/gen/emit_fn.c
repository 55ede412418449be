/* emit_fn.c — C for the forward's functions, operators, indexes and
 * attributes (shapefn*.c's table, shapes.c's operators).
 *
 * Every tensor is dense and row-major, so an operation that only changes
 * the shape (view, reshape, flatten, squeeze, an index that keeps
 * everything) or does nothing in eval mode (dropout, contiguous) is an
 * alias of its input: emit_fn_alias says so and gen.c gives it no code.
 */
#include <stdio.h>
#include <string.h>

#include "arch.tab.h"
#include "gen.h"

int emit_fn_alias(G *g, const TNode *n)
{
    if (n->kind == TN_FN) {
        static const char *const views[] = {"view", "reshape", "flatten", "unflatten", "squeeze", "unsqueeze",
                                            "contiguous", "dropout", "detach", "clone", "identity", "view_as",
                                            "reshape_as", "alpha_dropout", "feature_alpha_dropout", "dropout1d",
                                            "dropout2d", "float", "to", "type_as", "stochastic_depth", "layer_scale", NULL};
        for (size_t i = 0; views[i]; i++)
            if (g_is(n, views[i])) return g_in0(n);
        return 0;
    }
    if (n->kind == TN_INDEX) {   /* only whole slices and new axes: the same elements */
        for (size_t i = 0; i < n->nidx; i++) {
            const TIdx *x = &n->idx[i];
            if (x->kind == TI_NEW) continue;
            if (x->kind != TI_SLICE || x->st != 1 || x->lo != 0) return 0;
        }
        /* a slice whose end is the dimension's size in both traces */
        GTensor *t = g_t(g, g_id(&n->a));
        const TNode *w = g_twin(g);
        size_t d = 0;
        for (size_t i = 0; i < n->nidx; i++) {
            if (n->idx[i].kind == TI_NEW) continue;
            if (d >= (size_t)t->rank) return 0;
            if (n->idx[i].hi != t->d[d].a * 2 + t->d[d].b || w->idx[i].hi != t->d[d].a * 3 + t->d[d].b) return 0;
            d++;
        }
        return g_id(&n->a);
    }
    return 0;
}

/* rk_binop / rk_cmpop of an operator or function. */
static const char *binop_of(const TNode *n, int *cmp)
{
    *cmp = 0;
    if (n->kind == TN_BINOP) {
        switch (n->opc) {
        case '+': return "RK_BIN_ADD";
        case '-': return "RK_BIN_SUB";
        case '*': return "RK_BIN_MUL";
        case '/': return "RK_BIN_DIV";
        case '%': return "RK_BIN_REMAINDER";
        case TK_POW: return "RK_BIN_POW";
        case TK_IDIV: return "RK_BIN_FLOOR_DIVIDE";
        case TK_EQ: *cmp = 1; return "RK_CMP_EQ";
        case TK_NE: *cmp = 1; return "RK_CMP_NE";
        case '<': *cmp = 1; return "RK_CMP_LT";
        case '>': *cmp = 1; return "RK_CMP_GT";
        case TK_LE: *cmp = 1; return "RK_CMP_LE";
        case TK_GE: *cmp = 1; return "RK_CMP_GE";
        }
        return NULL;
    }
    static const struct { const char *fn, *op; } fns[] = {
        {"add", "RK_BIN_ADD"}, {"sub", "RK_BIN_SUB"}, {"mul", "RK_BIN_MUL"}, {"div", "RK_BIN_DIV"},
        {"pow", "RK_BIN_POW"}, {"maximum", "RK_BIN_MAXIMUM"}, {"minimum", "RK_BIN_MINIMUM"},
    };
    for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++)
        if (g_is(n, fns[i].fn)) return fns[i].op;
    return NULL;
}

static int binary(G *g, const TNode *n, const char *op, int cmp, const SV *a, const SV *b)
{
    int y = g_id(&n->out), ia = g_id(a), ib = g_id(b);
    double s;
    g_kernel(g, "rk_elem.c");
    if ((ia && g_t(g, ia)->dt != GT_F32) || (ib && g_t(g, ib)->dt != GT_F32))
        return g_fail(g, "operator %s on integer or bool tensors is not supported yet", n->op ? n->op : "?");
    if (ia && ib) {
        const char *ys = g_shape(g, y), *as = g_shape(g, ia), *bs = g_shape(g, ib);
        g_line(g, "rk_%s(%s, %s, %d, %s, %s, %d, %s, %s, %d, %s);", cmp ? "compare" : "binary", op, g_ptr(g, y),
               g_t(g, y)->rank, ys, g_ptr(g, ia), g_t(g, ia)->rank, as, g_ptr(g, ib), g_t(g, ib)->rank, bs);
        return 1;
    }
    int first = !ia;
    if (!g_num(first ? a : b, &s)) return g_fail(g, "operator %s with a non-numeric operand", n->op ? n->op : "?");
    int t = first ? ib : ia;
    if (cmp) {
        if (first) return g_fail(g, "a comparison with the number first is not supported yet");
        g_line(g, "rk_compare_scalar(%s, %s, %s, %s, %s);", op, g_ptr(g, y), g_ptr(g, t), g_numel(g, t), g_float(s));
    } else {
        g_line(g, "rk_binary_scalar(%s, %s, %s, %s, %s, %d);", op, g_ptr(g, y), g_ptr(g, t), g_numel(g, t), g_float(s), first);
    }
    return 1;
}

/* outer/inner products around dimension d of tensor id. */
static void around(G *g, int id, int d, char *outer, char *inner, size_t cap)
{
    GTensor *t = g_t(g, id);
    Aff o = {0, 1}, i = {0, 1};
    for (int k = 0; k < d; k++) o = (Aff){o.a * t->d[k].b + t->d[k].a * o.b, o.b * t->d[k].b};
    for (int k = d + 1; k < t->rank; k++) i = (Aff){i.a * t->d[k].b + t->d[k].a * i.b, i.b * t->d[k].b};
    snprintf(outer, cap, "%s", g_aff(g, o));
    snprintf(inner, cap, "%s", g_aff(g, i));
}

/* x[..., idx, ...] with one list or integer tensor of positions and whole
 * slices elsewhere: index_select along that dimension (0 when the index
 * is not of that form). */
static int index_gather(G *g, const TNode *n, int x, int y)
{
    GTensor *t = g_t(g, x);
    int at = -1, d = 0;
    for (size_t i = 0; i < n->nidx; i++, d++) {
        const TIdx *it = &n->idx[i];
        if (it->kind == TI_LIST || it->kind == TI_TENSOR) {
            if (at >= 0) return 0;
            at = (int)i;
            continue;
        }
        if (it->kind != TI_SLICE || it->lo != 0 || it->st != 1 || d >= t->rank || it->hi != t->d[d].a * 2 + t->d[d].b)
            return 0;
    }
    if (at < 0) return 0;
    const TIdx *it = &n->idx[at];
    g_kernel(g, "rk_layout.c");
    const char *xs = g_shape(g, x);
    g_line(g, "{");
    if (it->kind == TI_LIST) {
        fprintf(g->body, "        const int64_t idx[] = {");
        for (size_t k = 0; k < it->n; k++) fprintf(g->body, "%s%lld", k ? ", " : "", (long long)it->list[k]);
        fprintf(g->body, "%s};\n", it->n ? "" : "0");
        g_line(g, "    rk_index_select(%s, %s, %d, %d, %s, %d, idx, %zu);", g_ptr(g, y), g_ptr(g, x),
               g_esize(t->dt), t->rank, xs, at, it->n);
    } else {
        int ix = g_id(&it->t);
        if (g_t(g, ix)->dt != GT_I64) return g_fail(g, "indexing with a %s tensor is not supported yet",
                                                     g_t(g, ix)->dt == GT_BOOL ? "bool" : "float");
        g_line(g, "    if (rk_index_select(%s, %s, %d, %d, %s, %d, %s, %s) < 0) {", g_ptr(g, y), g_ptr(g, x),
               g_esize(t->dt), t->rank, xs, at, g_ptr(g, ix), g_numel(g, ix));
        g_line(g, "        snprintf(m->err, sizeof m->err, \"an index is out of range\");");
        g_line(g, "        return -1;");
        g_line(g, "    }");
    }
    g_line(g, "}");
    return 1;
}

static int index_op(G *g, const TNode *n)
{
    int x = g_id(&n->a), y = g_id(&n->out);
    GTensor *t = g_t(g, x);
    int r = index_gather(g, n, x, y);
    if (r) return r;
    char st[512] = "", en[512] = "", sp[512] = "";
    size_t a = 0, b = 0, c = 0;
    int d = 0;
    const TNode *w = g_twin(g);
    for (size_t i = 0; i < n->nidx; i++) {
        const TIdx *it = &n->idx[i], *iw = &w->idx[i];
        if (it->kind == TI_NEW) continue;
        if (d >= t->rank) return g_fail(g, "an index with more items than dimensions");
        int64_t lo, hi, step = 1;
        const char *hiexpr = NULL;
        if (it->kind == TI_SLICE) {
            lo = it->lo, hi = it->hi, step = it->st;
            if (iw->lo != lo || iw->st != step) return g_fail(g, "a slice whose start depends on the batch size");
            if (iw->hi != hi) {   /* the end follows the batch: the whole dimension */
                if (hi != t->d[d].a * 2 + t->d[d].b) return g_fail(g, "a slice whose end depends on the batch size");
                hiexpr = g_dim(g, x, d);
            }
        } else if (it->kind == TI_INT) {
            lo = it->lo, hi = it->lo + 1;
            if (iw->lo != lo) return g_fail(g, "an index that depends on the batch size");
        } else {
            return g_fail(g, "indexing with a tensor or a list is not supported yet");
        }
        char hb[64];
        snprintf(hb, sizeof hb, "%lld", (long long)hi);
        a += (size_t)snprintf(st + a, sizeof st - a, "%s%lld", d ? ", " : "", (long long)lo);
        b += (size_t)snprintf(en + b, sizeof en - b, "%s%s", d ? ", " : "", hiexpr ? hiexpr : hb);
        c += (size_t)snprintf(sp + c, sizeof sp - c, "%s%lld", d ? ", " : "", (long long)step);
        d++;
    }
    for (; d < t->rank; d++) {
        a += (size_t)snprintf(st + a, sizeof st - a, "%s0", d ? ", " : "");
        b += (size_t)snprintf(en + b, sizeof en - b, "%s%s", d ? ", " : "", g_dim(g, x, d));
        c += (size_t)snprintf(sp + c, sizeof sp - c, "%s1", d ? ", " : "");
    }
    if (a >= sizeof st || b >= sizeof en || c >= sizeof sp) return g_fail(g, "an index too long");
    g_kernel(g, "rk_layout.c");
    const char *xs = g_shape(g, x);
    g_line(g, "{");
    g_line(g, "    const int64_t lo[] = {%s}, hi[] = {%s}, st[] = {%s};", st, en, sp);
    g_line(g, "    rk_slice(%s, %s, %d, %d, %s, lo, hi, st);", g_ptr(g, y), g_ptr(g, x),
           g_esize(t->dt), t->rank, xs);
    g_line(g, "}");
    return 1;
}

int emit_fn(G *g, const TNode *n)
{
    int y = g_id(&n->out);
    if (n->kind == TN_INDEX) return index_op(g, n);
    int cmp = 0;
    const char *bop = binop_of(n, &cmp);
    if (n->kind == TN_BINOP && n->opc == '@') {
        int a = g_id(&n->a), b = g_id(&n->b);
        g_kernel(g, "rk_matmul.c");
        const char *as = g_shape(g, a), *bs = g_shape(g, b);
        g_line(g, "rk_matmul_nd(%s, %s, %d, %s, %s, %d, %s);", g_ptr(g, y), g_ptr(g, a), g_t(g, a)->rank, as,
               g_ptr(g, b), g_t(g, b)->rank, bs);
        return 1;
    }
    if (bop && n->kind == TN_BINOP) return binary(g, n, bop, cmp, &n->a, &n->b);
    if (n->kind == TN_UNOP) {
        int a = g_id(&n->a);
        if (n->opc != '-') return 0;
        g_kernel(g, "rk_elem.c");
        g_line(g, "rk_unary(RK_UN_NEG, %s, %s, %s);", g_ptr(g, y), g_ptr(g, a), g_numel(g, a));
        return 1;
    }
    if (n->kind != TN_FN) {
        if (n->kind == TN_ATTR && (g_is(n, "T") || g_is(n, "mT"))) {
            int a = g_id(&n->a), r = g_t(g, a)->rank;
            g_kernel(g, "rk_layout.c");
            const char *xs = g_shape(g, a);
            g_line(g, "rk_transpose(%s, %s, %d, %d, %s, %d, %d);", g_ptr(g, y), g_ptr(g, a), g_es(g, a), r, xs,
                   g_is(n, "T") ? 0 : r - 2, r - 1);
            return 1;
        }
        return 0;
    }
    if (bop && n->nargs >= 2) {
        const TArg *alpha = g_arg(n, "alpha");
        double al;
        if (alpha && alpha->given && g_num(&alpha->v, &al) && al != 1)
            return g_fail(g, "%s(..., alpha=) is not supported yet", n->op);
        return binary(g, n, bop, 0, &n->args[0].v, &n->args[1].v);
    }
    int act = emit_act_of(g, n);
    if (act) {
        int x = g_in0(n);
        g_kernel(g, "rk_act.c");
        GTensor *tx = g_t(g, x), *ty = g_t(g, y);
        if (tx->dt != GT_F32) {   /* relu/relu6 keep an integer dtype; the others give floats */
            const char *ct = tx->dt == GT_I64 ? "int64_t" : "uint8_t";
            if (ty->dt == tx->dt && (act == 2 || act == 3)) {
                g_line(g, "for (int64_t i = 0; i < %s; i++) { const %s v = %s[i]; %s[i] = v > 0 ? (%s) : 0; }",
                       g_numel(g, x), ct, g_ptr(g, x), g_ptr(g, y), act == 3 ? "v < 6 ? v : 6" : "v");
                return 1;
            }
            if (ty->dt != GT_F32) return g_fail(g, "%s() of an integer tensor is not supported yet", n->op);
            g_line(g, "for (int64_t i = 0; i < %s; i++) %s[i] = (float)%s[i];", g_numel(g, x), g_ptr(g, y), g_ptr(g, x));
            g_line(g, "rk_act_n(%s, %s, %s, %s);", g_ptr(g, y), g_ptr(g, y), g_numel(g, x), emit_act_c(act));
            return 1;
        }
        g_line(g, "rk_act_n(%s, %s, %s, %s);", g_ptr(g, y), g_ptr(g, x), g_numel(g, x), emit_act_c(act));
        return 1;
    }
    if (g_is(n, "cat") || g_is(n, "concat") || g_is(n, "stack")) {
        const TArg *ts = g_arg(n, "tensors");
        if (!ts || ts->v.kind != V_TUPLE || !ts->v.n) return g_fail(g, "cat() of no tensors");
        int rank = g_t(g, y)->rank, d;
        if (g_dim_arg(g, "dim", rank, G_NODEF, &d) < 0) return -1;
        if (!g_arg(n, "dim") || !g_arg(n, "dim")->given) d = 0;
        g_kernel(g, "rk_layout.c");
        const char *ys = g_shape(g, y);
        GDtype dt = g_t(g, y)->dt;
        g_line(g, "{");
        /* inputs of another dtype (torch promotes: cat of f32 and i64 is f32)
         * converted first, one after the other in the scratch space */
        char total[1024] = "0";
        for (size_t i = 0; i < ts->v.n; i++) {
            int id = g_id(&ts->v.items[i]);
            if (g_t(g, id)->dt == dt) continue;
            char t2[1024];
            snprintf(t2, sizeof t2, "%s + %s", total, g_numel(g, id));
            snprintf(total, sizeof total, "%s", t2);
        }
        const char *cv = strcmp(total, "0") ? g_scratch(g, "(%s) * %d / 4 + 1", total, g_esize(dt)) : NULL;
        if (cv) g_line(g, "    %s *cv = (%s *)%s;", g_ctype(dt), g_ctype(dt), cv);
        fprintf(g->body, "        const void *xs[%zu];\n", ts->v.n);
        for (size_t i = 0; i < ts->v.n; i++) {
            int id = g_id(&ts->v.items[i]);
            if (g_t(g, id)->dt == dt) {
                g_line(g, "    xs[%zu] = %s;", i, g_ptr(g, id));
                continue;
            }
            g_line(g, "    for (int64_t k = 0; k < %s; k++) cv[k] = (%s)%s[k];", g_numel(g, id), g_ctype(dt), g_ptr(g, id));
            g_line(g, "    xs[%zu] = cv;", i);
            g_line(g, "    cv += %s;", g_numel(g, id));
        }
        fprintf(g->body, "        const int64_t lens[] = {");
        for (size_t i = 0; i < ts->v.n; i++)
            fprintf(g->body, "%s%s", i ? ", " : "", g_is(n, "stack") ? "1" : g_dim(g, g_id(&ts->v.items[i]), d));
        fprintf(g->body, "};\n");
        g_line(g, "    rk_cat(%s, xs, %zu, %d, %d, %s, %d, lens);", g_ptr(g, y), ts->v.n, g_es(g, y), rank, ys, d);
        g_line(g, "}");
        return 1;
    }
    if (g_is(n, "transpose") || g_is(n, "permute") || g_is(n, "t") || g_is(n, "swapaxes")) {
        int x = g_in0(n), r = g_t(g, x)->rank;
        g_kernel(g, "rk_layout.c");
        const char *xs = g_shape(g, x);
        if (g_is(n, "permute")) {
            int64_t dv[MAXR];
            int np = g_ints(g_arg(n, "dims"), dv, MAXR), perm[MAXR];
            for (int i = 0; i < np; i++) perm[i] = (int)(dv[i] < 0 ? dv[i] + r : dv[i]);
            if (np != r) return g_fail(g, "permute(): %d dims for a tensor of rank %d", np, r);
            fprintf(g->body, "    { const int perm[] = {");
            for (int i = 0; i < np; i++) fprintf(g->body, "%s%d", i ? ", " : "", perm[i]);
            fprintf(g->body, "}; rk_permute(%s, %s, %d, %d, %s, perm); }\n", g_ptr(g, y), g_ptr(g, x), g_es(g, x), r, xs);
            return 1;
        }
        int d0 = 0, d1 = 1;
        if (!g_is(n, "t") && (g_dim_arg(g, "dim0", r, G_NODEF, &d0) < 0 || g_dim_arg(g, "dim1", r, G_NODEF, &d1) < 0)) return -1;
        g_line(g, "rk_transpose(%s, %s, %d, %d, %s, %d, %d);", g_ptr(g, y), g_ptr(g, x), g_es(g, x), r, xs, d0, d1);
        return 1;
    }
    if (g_is(n, "softmax") || g_is(n, "log_softmax")) {
        int x = g_in0(n), d;
        if (g_dim_arg(g, "dim", g_t(g, x)->rank, G_NODEF, &d) <= 0) return g_fail(g, "%s() needs dim", n->op);
        char o[256], in[256];
        around(g, x, d, o, in, sizeof o);
        g_kernel(g, "rk_act.c");
        g_line(g, "rk_%s(%s, %s, %s, %s, %s);", n->op, g_ptr(g, y), g_ptr(g, x), o, g_dim(g, x, d), in);
        return 1;
    }
    if (g_is(n, "mean") || g_is(n, "sum") || g_is(n, "amax") || g_is(n, "amin")) {
        int x = g_in0(n), r = g_t(g, x)->rank;
        const TArg *dim = g_arg(n, "dim");
        int dims[MAXR], nd = 0;
        int64_t dv[MAXR];
        if (dim && !(dim->v.kind == V_CONF && dim->v.c.kind == VAL_NONE)) {
            nd = g_ints(dim, dv, MAXR);
            if (nd < 0) return g_fail(g, "%s(): dims must be integers", n->op);
            for (int i = 0; i < nd; i++) dims[i] = (int)(dv[i] < 0 ? dv[i] + r : dv[i]);
        }
        g_kernel(g, "rk_reduce.c");
        const char *xs = g_shape(g, x);
        fprintf(g->body, "    { const int dims[] = {");
        for (int i = 0; i < nd; i++) fprintf(g->body, "%s%d", i ? ", " : "", dims[i]);
        fprintf(g->body, "%s}; rk_reduce(RK_RED_%s, %s, %s, %d, %s, %d, dims); }\n", nd ? "" : "0",
                g_is(n, "mean") ? "MEAN" : g_is(n, "sum") ? "SUM" : g_is(n, "amax") ? "AMAX" : "AMIN", g_ptr(g, y),
                g_ptr(g, x), r, xs, nd);
        return 1;
    }
    if (g_is(n, "adaptive_avg_pool2d")) {
        int x = g_in0(n);
        g_kernel(g, "rk_pool.c");
        g_line(g, "rk_adaptive_avg_pool2d(%s, %s, %s, %s, %s, %s, %s, %s);", g_ptr(g, y), g_ptr(g, x), g_dim(g, x, 0),
               g_dim(g, x, 1), g_dim(g, x, 2), g_dim(g, x, 3), g_dim(g, y, 2), g_dim(g, y, 3));
        return 1;
    }
    if (g_is(n, "matmul") || g_is(n, "bmm") || g_is(n, "mm")) {
        int a = g_in0(n), b = g_arg_id(n, g_is(n, "matmul") ? "other" : "mat2");
        if (!b && n->nargs > 1) b = g_id(&n->args[1].v);
        g_kernel(g, "rk_matmul.c");
        const char *as = g_shape(g, a), *bs = g_shape(g, b);
        g_line(g, "rk_matmul_nd(%s, %s, %d, %s, %s, %d, %s);", g_ptr(g, y), g_ptr(g, a), g_t(g, a)->rank, as,
               g_ptr(g, b), g_t(g, b)->rank, bs);
        return 1;
    }
    if (g_is(n, "linear")) {
        int x = g_in0(n), w = g_arg_id(n, "weight"), b = g_arg_id(n, "bias");
        GTensor *tx = g_t(g, x);
        g_kernel(g, "rk_gemm.c");
        char M[256];
        Aff p = {0, 1};
        for (int k = 0; k < tx->rank - 1; k++) p = (Aff){p.a * tx->d[k].b + tx->d[k].a * p.b, p.b * tx->d[k].b};
        snprintf(M, sizeof M, "%s", g_aff(g, p));
        g_line(g, "rk_linear(%s, %s, %s, %s, %s, %s, %s, RK_ACT_NONE);", g_ptr(g, y), g_ptr(g, x), M,
               g_dim(g, x, -1), g_ptr(g, w), g_t(g, w)->rank == 1 ? "1" : g_dim(g, w, 0), b ? g_ptr(g, b) : "NULL");
        return 1;
    }
    return 0;
}
