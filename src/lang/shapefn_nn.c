/* shapefn_nn.c — rules of the functional forms of layers and attention.
 *
 * F.linear, F.conv2d, F.max_pool2d and the others take their weights and
 * hyper-parameters as arguments instead of from a layer's constructor, so
 * the checks the layer rules (shapelayer.c) make against bound arguments
 * are made here against the weight tensors' shapes: a convolution's
 * channels against its weight's in-channels times groups, its output size
 * from the kernel the weight holds (torch's formula with stride, padding,
 * dilation; 'same' and 'valid'), pooling windows with ceil_mode,
 * interpolate's size or scale factor (floor(size * scale), as torch).
 * scaled_dot_product_attention broadcasts the batch dimensions of query,
 * key and value (with enable_gqa, key and value heads that divide the
 * query's), and shifted_window_attention is torchvision's function of
 * that name, which a spec cannot write out because torchvision builds its
 * mask imperatively: its output has the input's shape.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "shapefn.h"

/* Two tensors that must have one dtype (torch: "expected scalar type"). */
static int same_dtype(Call *c, const char *an, const SV *a, const char *bn, const SV *b)
{
    if (!a->dtype || !b->dtype || !strcmp(a->dtype, b->dtype)) return 1;
    fn_fail(c, bn, "'%s' and '%s' must have one dtype, got %s and %s", an, bn, fn_dtype_words(a->dtype),
            fn_dtype_words(b->dtype));
    return 0;
}

static int float_only(Call *c, const char *name, const SV *x)
{
    if (!x->dtype || fn_is_float(x->dtype)) return 1;
    fn_fail(c, name, "takes a floating-point tensor, got %s", fn_dtype_words(x->dtype));
    return 0;
}

/* An optional tensor that must hold exactly n values in one dimension
 * (a bias, a norm's weight): 1 fine or absent, 0 reported. */
static int vec_of(Call *c, const char *name, Dim n)
{
    SV t;
    int k = fn_opt_t(c, name, &t);
    if (k == 2) return 1;
    if (k == 0) return t.kind != V_ERR;
    if (t.rank < 0) return 1;
    if (t.rank != 1 || differ(t.d[0], n)) {
        char want[32];
        if (known(n)) snprintf(want, sizeof want, "[%lld]", (long long)n.n);
        else snprintf(want, sizeof want, "[%s]", n.sym ? n.sym : "?");
        fn_fail(c, name, "'%s' must have the shape %s, got %s", name, want, sh_ty(&t));
        return 0;
    }
    return 1;
}

/* The input of a convolution or pooling over nd dimensions: rank nd+1
 * (unbatched) or nd+2.  0 reported. */
static int spatial_input(Call *c, const SV *x, int nd)
{
    if (x->rank < 0 || x->rank == nd + 1 || x->rank == nd + 2) return 1;
    fn_fail(c, c->pn[0], "expects a %d-d (unbatched) or %d-d (batched) input, got %s", nd + 1, nd + 2, sh_ty(x));
    return 0;
}

static SV too_small(Call *c, const SV *x, int dim)
{
    return fn_fail(c, c->pn[0], "the input %s is smaller than the kernel in dimension %d (output size < 1)", sh_ty(x),
                   dim);
}

/* ---------------------------------------------------------------- linear */

SV r_linear(Call *c)
{
    SV x, w, b;
    if (!fn_t(c, "input", &x)) return x;
    if (!fn_t(c, "weight", &w)) return w;
    int kb = fn_opt_t(c, "bias", &b);
    if (kb == 0) return b;
    if (w.rank >= 0 && w.rank != 1 && w.rank != 2)
        return fn_fail(c, "weight", "the weight must be 2-d (out_features, in_features), got %s", sh_ty(&w));
    if (!same_dtype(c, "input", &x, "weight", &w)) return mk(V_ERR);
    if (x.rank == 0) return fn_fail(c, "input", "the input must have at least 1 dimension");
    if (x.rank < 0 || w.rank < 0) return mk_tensor(x.dtype, -1);
    Dim in = w.d[w.rank - 1];
    if (differ(x.d[x.rank - 1], in))
        return fn_fail(c, "input", "the input's last dimension is %lld but the weight %s takes %lld (in_features)",
                       (long long)x.d[x.rank - 1].n, sh_ty(&w), (long long)in.n);
    if (w.rank == 2) x.d[x.rank - 1] = w.d[0];
    else x.rank--;
    if (kb == 1) {
        if (!same_dtype(c, "input", &x, "bias", &b)) return mk(V_ERR);
        SV r = sh_broadcast(c->s, fn_sp(c, "bias"), &x, &b, "linear(): the bias");
        if (r.kind != V_TENSOR) return r;
        if (r.rank != x.rank) return fn_fail(c, "bias", "the bias %s does not fit the output %s", sh_ty(&b), sh_ty(&x));
    }
    return x;
}

/* ----------------------------------------------------------- convolution */

SV r_conv(Call *c)
{
    int nd = c->arg, bad = 0;
    SV x, w;
    if (!fn_t(c, "input", &x)) return x;
    if (!fn_t(c, "weight", &w)) return w;
    if (!spatial_input(c, &x, nd)) return mk(V_ERR);
    if (w.rank >= 0 && w.rank != nd + 2)
        return fn_fail(c, "weight", "the weight must be %d-d (out_channels, in_channels/groups, kernel...), got %s",
                       nd + 2, sh_ty(&w));
    if (!same_dtype(c, "input", &x, "weight", &w)) return mk(V_ERR);
    int64_t st[3], pd[3] = {0, 0, 0}, dl[3], g;
    int kst = fn_ints(c, "stride", nd, 1, st), kdl = fn_ints(c, "dilation", nd, 1, dl), kg = fn_int(c, "groups", 1, &g);
    if (kst < 0 || kdl < 0 || kg < 0) return mk(V_ERR);
    const SV *pv = fn_v(c, "padding");
    int same = 0, kpd = 1;
    if (pv->kind == V_CONF && pv->c.kind == VAL_STR) {
        const char *ps = fn_str(c, "padding", &bad);
        if (strcmp(ps, "same") != 0 && strcmp(ps, "valid") != 0)
            return fn_fail(c, "padding", "invalid padding string '%s': 'valid' or 'same'", ps);
        same = ps[0] == 's';
        if (same)
            for (int j = 0; j < nd; j++)
                if (st[j] != 1) return fn_fail(c, "padding", "padding='same' is not supported for strided convolutions");
    } else if ((kpd = fn_ints(c, "padding", nd, 0, pd)) < 0) {
        return mk(V_ERR);
    }
    if (x.rank < 0 || w.rank < 0) return mk_tensor(x.dtype, -1);
    int cd = x.rank - nd - 1;
    Dim cin = kg == 1 ? sh_dim_mul(c->s, w.d[1], exact(g)) : UNK;
    if (differ(x.d[cd], cin))
        return fn_fail(c, "input", "the input %s has %lld channels (dimension %d), but the weight %s%s takes %lld",
                       sh_ty(&x), (long long)x.d[cd].n, cd, sh_ty(&w), g > 1 ? " times groups" : "", (long long)cin.n);
    if (kg == 1 && known(w.d[0]) && w.d[0].n % g)
        return fn_fail(c, "groups", "the weight's out_channels (%lld) must be divisible by groups (%lld)",
                       (long long)w.d[0].n, (long long)g);
    if (!vec_of(c, "bias", w.d[0])) return mk(V_ERR);
    x.d[cd] = w.d[0];
    const SV x0 = x;
    for (int j = 0; j < nd; j++) {
        Dim *L = &x.d[cd + 1 + j], k = w.d[2 + j];
        if (same) continue;
        if (!known(k) || st[j] == UNKN || dl[j] == UNKN || !kpd) {
            *L = UNK;
            continue;
        }
        int small = 0;
        *L = sh_window(*L, k.n, st[j], pd[j], dl[j], 0, &small);
        if (small) return too_small(c, &x0, cd + 1 + j);
    }
    return x;
}

SV r_conv_t(Call *c)
{
    int nd = c->arg;
    SV x, w;
    if (!fn_t(c, "input", &x)) return x;
    if (!fn_t(c, "weight", &w)) return w;
    if (!spatial_input(c, &x, nd)) return mk(V_ERR);
    if (w.rank >= 0 && w.rank != nd + 2)
        return fn_fail(c, "weight", "the weight must be %d-d (in_channels, out_channels/groups, kernel...), got %s",
                       nd + 2, sh_ty(&w));
    if (!same_dtype(c, "input", &x, "weight", &w)) return mk(V_ERR);
    int64_t st[3], pd[3], op[3], dl[3], g;
    int kst = fn_ints(c, "stride", nd, 1, st), kpd = fn_ints(c, "padding", nd, 0, pd),
        kop = fn_ints(c, "output_padding", nd, 0, op), kdl = fn_ints(c, "dilation", nd, 1, dl),
        kg = fn_int(c, "groups", 1, &g);
    if (kst < 0 || kpd < 0 || kop < 0 || kdl < 0 || kg < 0) return mk(V_ERR);
    for (int j = 0; kop && kst && kdl && j < nd; j++)
        if (op[j] >= st[j] && op[j] >= dl[j])
            return fn_fail(c, "output_padding", "output padding (%lld) must be smaller than either stride (%lld) or "
                           "dilation (%lld)", (long long)op[j], (long long)st[j], (long long)dl[j]);
    if (x.rank < 0 || w.rank < 0) return mk_tensor(x.dtype, -1);
    int cd = x.rank - nd - 1;
    if (differ(x.d[cd], w.d[0]))
        return fn_fail(c, "input", "the input %s has %lld channels (dimension %d), but the weight %s takes %lld",
                       sh_ty(&x), (long long)x.d[cd].n, cd, sh_ty(&w), (long long)w.d[0].n);
    if (kg == 1 && known(w.d[0]) && w.d[0].n % g)
        return fn_fail(c, "groups", "the weight's in_channels (%lld) must be divisible by groups (%lld)",
                       (long long)w.d[0].n, (long long)g);
    Dim cout = kg == 1 ? sh_dim_mul(c->s, w.d[1], exact(g)) : UNK;
    if (!vec_of(c, "bias", cout)) return mk(V_ERR);
    x.d[cd] = cout;
    for (int j = 0; j < nd; j++) {
        Dim *L = &x.d[cd + 1 + j], k = w.d[2 + j];
        if (!known(*L) || !known(k) || !(kst && kpd && kop && kdl)) {
            *L = UNK;
            continue;
        }
        int64_t o = (L->n - 1) * st[j] - 2 * pd[j] + dl[j] * (k.n - 1) + op[j] + 1;
        if (o < 1) return too_small(c, &x, cd + 1 + j);
        *L = exact(o);
    }
    return x;
}

/* --------------------------------------------------------------- pooling */

/* max_pool (arg nd), avg_pool (arg 10 + nd). */
SV r_pool(Call *c)
{
    int nd = c->arg % 10, avg = c->arg >= 10;
    SV x;
    if (!fn_t(c, "input", &x)) return x;
    if (!spatial_input(c, &x, nd)) return mk(V_ERR);
    if (!avg && !float_only(c, "input", &x)) return mk(V_ERR);
    int64_t k[3], st[3], pd[3], dl[3] = {1, 1, 1};
    int kk = fn_ints(c, "kernel_size", nd, 1, k), kpd = fn_ints(c, "padding", nd, 0, pd), kst = 1, kdl = 1;
    const SV *sv = fn_v(c, "stride");
    if (fn_none(c, "stride") || (sv->kind == V_TUPLE && sv->n == 0)) memcpy(st, k, sizeof st);
    else kst = fn_ints(c, "stride", nd, 1, st);
    if (!avg) kdl = fn_ints(c, "dilation", nd, 1, dl);
    int ceil_mode = fn_bool(c, "ceil_mode", 0);
    if (kk < 0 || kpd < 0 || kst < 0 || kdl < 0 || ceil_mode < 0) return mk(V_ERR);
    if (avg && c->arg == 12 && !fn_none(c, "divisor_override")) {
        int64_t dv;
        if (fn_int(c, "divisor_override", 1, &dv) < 0) return mk(V_ERR);
    }
    for (int j = 0; kk && kpd && j < nd; j++)
        if (pd[j] > k[j] / 2)
            return fn_fail(c, "padding", "pad should be at most half of kernel size, but got pad=%lld and "
                           "kernel_size=%lld", (long long)pd[j], (long long)k[j]);
    SV r = x;
    if (x.rank >= 0)
        for (int j = 0; j < nd; j++) {
            Dim *L = &r.d[x.rank - nd + j];
            if (!kk || !kpd || !kst || !kdl || k[j] == UNKN || st[j] == UNKN) {
                *L = UNK;
                continue;
            }
            int small = 0;
            *L = sh_window(*L, k[j], st[j], pd[j], dl[j], ceil_mode, &small);
            if (small || (known(*L) && L->n < 1)) return too_small(c, &x, x.rank - nd + j);
        }
    int ri = fn_ix(c, "return_indices") >= 0 ? fn_bool(c, "return_indices", 0) : 0;
    if (ri < 0) return mk(V_ERR);
    if (!ri) return r;
    SV idx = r;
    idx.dtype = "i64";
    return sh_pair(c->s, &r, &idx);
}

/* adaptive_avg_pool (arg nd), adaptive_max_pool (arg 10 + nd). */
SV r_adaptive(Call *c)
{
    int nd = c->arg % 10, mx = c->arg >= 10;
    SV x;
    if (!fn_t(c, "input", &x)) return x;
    if (!spatial_input(c, &x, nd)) return mk(V_ERR);
    if (!float_only(c, "input", &x)) return mk(V_ERR);
    const SV *ov = fn_v(c, "output_size");
    Dim o[3];
    if (ov->kind == V_TUPLE) {
        if ((int)ov->n != nd)
            return fn_fail(c, "output_size", "output_size must be an integer or a tuple of %d, got %zu items", nd, ov->n);
        for (int j = 0; j < nd; j++) {
            const SV *it = &ov->items[j];
            int64_t n;
            if (it->kind == V_CONF && it->c.kind == VAL_NONE) o[j] = exact(-2);   /* keep the input's */
            else if (sh_as_int(it, &n) < 0) return fn_fail(c, "output_size", "output_size holds %s", sh_ty(it));
            else o[j] = sh_as_dim(it);
        }
    } else {
        int64_t n[3];
        int k = fn_ints(c, "output_size", nd, 0, n);
        if (k < 0) return mk(V_ERR);
        for (int j = 0; j < nd; j++) o[j] = n[j] == UNKN ? sh_as_dim(ov) : exact(n[j]);
    }
    if (x.rank >= 0)
        for (int j = 0; j < nd; j++)
            if (!(o[j].n == -2 && !o[j].sym)) x.d[x.rank - nd + j] = o[j];
    int ri = mx ? fn_bool(c, "return_indices", 0) : 0;
    if (ri < 0) return mk(V_ERR);
    if (!ri) return x;
    SV idx = x;
    idx.dtype = "i64";
    return sh_pair(c->s, &x, &idx);
}

/* ------------------------------------------------------------ normalizing */

/* layer_norm; rms_norm (arg 1, no bias). */
SV r_layer_norm(Call *c)
{
    SV x;
    if (!fn_t(c, "input", &x)) return x;
    if (!float_only(c, "input", &x)) return mk(V_ERR);
    const SV *nv = fn_v(c, "normalized_shape");
    if (!(nv->kind == V_TUPLE || nv->kind == V_ANY || (nv->kind == V_CONF && nv->c.kind == VAL_INTS)))
        return fn_fail(c, "normalized_shape", "normalized_shape must be a tuple of sizes such as (%s,), got %s",
                       nv->kind == V_CONF && nv->c.kind == VAL_INT ? "C" : "C", sh_ty(nv));
    Dim ns[MAXR];
    int n = fn_sizes(c, "normalized_shape", ns, MAXR);
    if (n < 0) return mk(V_ERR);
    SV want = mk_tensor(x.dtype, n);
    memcpy(want.d, ns, sizeof(Dim) * (size_t)n);
    if (x.rank >= 0) {
        int bad = n > x.rank;
        for (int i = 0; !bad && i < n; i++) bad = differ(x.d[x.rank - n + i], ns[i]);
        if (bad)
            return fn_fail(c, "input", "normalized_shape %s expects an input of shape [*, %s], got %s", sh_ty(&want),
                           sh_ty(&want) + 1, sh_ty(&x));
    }
    const char *pars[2] = {"weight", "bias"};
    for (int i = 0; i < 2 - c->arg; i++) {
        SV t;
        int k = fn_opt_t(c, pars[i], &t);
        if (k == 0 && t.kind == V_ERR) return t;
        if (k != 1 || t.rank < 0) continue;
        int bad = t.rank != n;
        for (int m = 0; !bad && m < n; m++) bad = differ(t.d[m], ns[m]);
        if (bad) return fn_fail(c, pars[i], "'%s' must have the shape %s, got %s", pars[i], sh_ty(&want), sh_ty(&t));
    }
    return x;
}

SV r_group_norm(Call *c)
{
    SV x;
    if (!fn_t(c, "input", &x)) return x;
    if (!float_only(c, "input", &x)) return mk(V_ERR);
    int64_t g;
    int kg = fn_int(c, "num_groups", 1, &g);
    if (kg < 0) return mk(V_ERR);
    if (x.rank >= 0 && x.rank < 2) return fn_fail(c, "input", "expects at least 2 dimensions, got %s", sh_ty(&x));
    Dim ch = x.rank >= 2 ? x.d[1] : UNK;
    if (kg == 1 && known(ch) && ch.n % g)
        return fn_fail(c, "num_groups", "the input %s has %lld channels, which num_groups (%lld) does not divide",
                       sh_ty(&x), (long long)ch.n, (long long)g);
    if (!vec_of(c, "weight", ch) || !vec_of(c, "bias", ch)) return mk(V_ERR);
    return x;
}

SV r_batch_norm(Call *c)
{
    SV x;
    if (!fn_t(c, "input", &x)) return x;
    if (!float_only(c, "input", &x)) return mk(V_ERR);
    if (x.rank >= 0 && x.rank < 2) return fn_fail(c, "input", "expects at least 2 dimensions, got %s", sh_ty(&x));
    Dim ch = x.rank >= 2 ? x.d[1] : UNK;
    const char *pars[4] = {"running_mean", "running_var", "weight", "bias"};
    for (int i = 0; i < 4; i++)
        if (!vec_of(c, pars[i], ch)) return mk(V_ERR);
    if (fn_bool(c, "training", 0) < 0) return mk(V_ERR);
    return x;
}

SV r_normalize(Call *c)
{
    SV x;
    if (!fn_t(c, "input", &x)) return x;
    if (!float_only(c, "input", &x)) return mk(V_ERR);
    double p;
    int d = 0;
    if (fn_num(c, "p", &p) < 0 || fn_dim(c, "dim", x.rank, &d) < 0) return mk(V_ERR);
    return x;
}

/* ------------------------------------------------------------- the rest */

SV r_embedding(Call *c)
{
    SV x, w;
    if (!fn_t(c, "input", &x)) return x;
    if (!fn_t(c, "weight", &w)) return w;
    if (x.dtype && strcmp(x.dtype, "i64") != 0 && strcmp(x.dtype, "i32") != 0)
        return fn_fail(c, "input", "the indices must be an int64 or int32 tensor, got %s", fn_dtype_words(x.dtype));
    if (w.rank >= 0 && w.rank != 2)
        return fn_fail(c, "weight", "the weight must be 2-d (num_embeddings, embedding_dim), got %s", sh_ty(&w));
    if (!fn_none(c, "padding_idx")) {
        int64_t p;
        int k = fn_int(c, "padding_idx", INT64_MIN + 1, &p);
        if (k < 0) return mk(V_ERR);
        if (k && w.rank == 2 && known(w.d[0]) && (p >= w.d[0].n || p < -w.d[0].n))
            return fn_fail(c, "padding_idx", "padding_idx %lld must be within num_embeddings (%lld)", (long long)p,
                           (long long)w.d[0].n);
    }
    if (x.rank < 0 || w.rank < 0) return mk_tensor(w.dtype, -1);
    if (x.rank >= MAXR) return fn_fail(c, "input", "more than %d dimensions", MAXR);
    x.d[x.rank++] = w.d[1];
    x.dtype = w.dtype;
    return x;
}

SV r_interpolate(Call *c)
{
    SV x;
    if (!fn_t(c, "input", &x)) return x;
    int bad = 0;
    const char *mode = fn_str(c, "mode", &bad);
    if (bad) return mk(V_ERR);
    static const char *const MODES[] = {"nearest", "linear", "bilinear", "bicubic", "trilinear", "area",
                                        "nearest-exact"};
    static const int NEED[] = {0, 3, 4, 4, 5, 0, 0};
    int m = -1;
    for (int i = 0; mode && i < 7; i++)
        if (!strcmp(mode, MODES[i])) m = i;
    if (mode && m < 0)
        return fn_fail(c, "mode", "unknown mode '%s' (nearest, linear, bilinear, bicubic, trilinear, area, "
                       "nearest-exact)", mode);
    if (m < 0) m = 0;
    if (x.rank >= 0 && (x.rank < 3 || x.rank > 5))
        return fn_fail(c, "input", "takes a 3-d, 4-d or 5-d input (batch, channels, spatial...), got %s", sh_ty(&x));
    if (x.rank >= 0 && NEED[m] && x.rank != NEED[m])
        return fn_fail(c, "mode", "mode '%s' needs a %d-d input, got %s", MODES[m], NEED[m], sh_ty(&x));
    int interp = m >= 1 && m <= 4;
    if (!fn_none(c, "align_corners") && !interp)
        return fn_fail(c, "align_corners", "align_corners can only be set with the interpolating modes: linear, "
                       "bilinear, bicubic, trilinear (the mode is '%s')", MODES[m]);
    int aa = fn_bool(c, "antialias", 0);
    if (aa < 0) return mk(V_ERR);
    if (aa && m != 2 && m != 3) return fn_fail(c, "antialias", "antialias is only supported for bilinear and bicubic");
    if (!float_only(c, "input", &x)) return mk(V_ERR);
    int hs = !fn_none(c, "size"), hf = !fn_none(c, "scale_factor");
    if (hs && hf) return fn_fail(c, "scale_factor", "only one of size or scale_factor should be defined");
    if (!hs && !hf) return fn_fail(c, NULL, "either size or scale_factor should be defined");
    if (x.rank < 0) return x;
    int nd = x.rank - 2;
    if (hs) {
        Dim sz[MAXR];
        int n = fn_sizes(c, "size", sz, MAXR);
        if (n < 0) return mk(V_ERR);
        const SV *sv = fn_v(c, "size");
        if (n == 1 && sv->kind != V_TUPLE)
            for (int j = 1; j < nd; j++) sz[j] = sz[0];
        else if (n != nd)
            return fn_fail(c, "size", "the input %s has %d spatial dimensions, but size gives %d", sh_ty(&x), nd, n);
        for (int j = 0; j < nd; j++) {
            if (isnum(sz[j]) && sz[j].n < 1) return fn_fail(c, "size", "sizes must be positive, got %lld", (long long)sz[j].n);
            x.d[2 + j] = sz[j];
        }
        return x;
    }
    const SV *fv = fn_v(c, "scale_factor");
    SV ints;   /* a configuration tuple of integers (Upsample(scale_factor = (2, 3))) as a tuple of numbers */
    if (fv->kind == V_CONF && fv->c.kind == VAL_INTS) {
        ints = sh_tuple_of(c->s, fv->c.n);
        for (size_t i = 0; i < ints.n; i++) ints.items[i] = mk_int(fv->c.ints[i]);
        fv = &ints;
    }
    double f[3];
    int n = fv->kind == V_TUPLE ? (int)fv->n : 1;
    if (fv->kind == V_TUPLE && n != nd)
        return fn_fail(c, "scale_factor", "the input %s has %d spatial dimensions, but scale_factor gives %d",
                       sh_ty(&x), nd, n);
    for (int j = 0; j < nd; j++) {
        const SV *it = fv->kind == V_TUPLE ? &fv->items[j] : fv;
        if (it->kind == V_CONF && (it->c.kind == VAL_INT || it->c.kind == VAL_FLOAT)) {
            f[j] = it->c.kind == VAL_INT ? (double)it->c.i : it->c.f;
            if (!(f[j] > 0)) return fn_fail(c, "scale_factor", "scale factors must be positive, got %g", f[j]);
        } else if (it->kind == V_ANY || it->kind == V_DIM) {
            f[j] = NAN;
        } else {
            return fn_fail(c, "scale_factor", "scale_factor must be a number or a tuple of numbers, got %s", sh_ty(it));
        }
    }
    for (int j = 0; j < nd; j++) {
        Dim *L = &x.d[2 + j];
        if (isnan(f[j])) *L = UNK;
        else if (known(*L)) *L = exact((int64_t)floor((double)L->n * f[j]));
        else if (f[j] != 1.0) *L = UNK;
        if (known(*L) && L->n < 1) return fn_fail(c, "scale_factor", "the output size of dimension %d is 0", 2 + j);
    }
    return x;
}

/* pixel_shuffle; pixel_unshuffle (arg 1). */
SV r_pixel_shuffle(Call *c)
{
    SV x;
    if (!fn_t(c, "input", &x)) return x;
    int64_t r;
    int k = fn_int(c, c->pn[1], 1, &r);
    if (k < 0) return mk(V_ERR);
    if (x.rank >= 0 && x.rank < 3) return fn_fail(c, "input", "expects at least 3 dimensions, got %s", sh_ty(&x));
    if (x.rank < 0 || !k) return mk_tensor(x.dtype, x.rank);
    Dim *C = &x.d[x.rank - 3], *H = &x.d[x.rank - 2], *W = &x.d[x.rank - 1];
    Dim rr = exact(r * r);
    if (c->arg == 0) {
        if (known(*C) && C->n % (r * r))
            return fn_fail(c, "input", "the channel dimension %lld of %s is not divisible by upscale_factor "
                           "squared (%lld)", (long long)C->n, sh_ty(&x), (long long)(r * r));
        *C = sh_dim_div(c->s, *C, r * r);
        *H = sh_dim_mul(c->s, *H, exact(r));
        *W = sh_dim_mul(c->s, *W, exact(r));
    } else {
        for (Dim *d = H; d <= W; d++)
            if (known(*d) && d->n % r)
                return fn_fail(c, "input", "the spatial sizes of %s are not divisible by downscale_factor (%lld)",
                               sh_ty(&x), (long long)r);
        *C = sh_dim_mul(c->s, *C, rr);
        *H = sh_dim_div(c->s, *H, r);
        *W = sh_dim_div(c->s, *W, r);
    }
    return x;
}

static int prob(Call *c, const char *name)
{
    double p;
    int k = fn_num(c, name, &p);
    if (k == 1 && !(p >= 0 && p <= 1))
        return fn_fail(c, name, "%s has to be between 0 and 1, but got %g", name, p), -1;
    return k;
}

SV r_dropout(Call *c)
{
    SV x;
    if (!fn_t(c, "input", &x)) return x;
    if (prob(c, "p") < 0) return mk(V_ERR);
    int tr = fn_bool(c, c->pn[2], 1);
    if (tr < 0) return mk(V_ERR);
    if (tr && !float_only(c, "input", &x)) return mk(V_ERR);
    return x;
}

SV r_stochastic_depth(Call *c)
{
    SV x;
    if (!fn_t(c, "input", &x)) return x;
    int bad = 0;
    if (prob(c, "p") < 0) return mk(V_ERR);
    const char *mode = fn_str(c, "mode", &bad);
    if (bad) return mk(V_ERR);
    if (mode && strcmp(mode, "batch") != 0 && strcmp(mode, "row") != 0)
        return fn_fail(c, "mode", "mode has to be either 'batch' or 'row', but got '%s'", mode);
    return x;
}

/* ------------------------------------------------------------- attention */

SV r_sdpa(Call *c)
{
    SV q, k, v, mask;
    int kq = fn_t(c, "query", &q), kk = fn_t(c, "key", &k), kv = fn_t(c, "value", &v);
    if (!kq || !kk || !kv) return q.kind == V_ERR || k.kind == V_ERR || v.kind == V_ERR ? mk(V_ERR) : mk(V_ANY);
    int km = fn_opt_t(c, "attn_mask", &mask);
    if (km == 0) return mask;
    int causal = fn_bool(c, "is_causal", 0), gqa = fn_bool(c, "enable_gqa", 0);
    if (causal < 0 || gqa < 0 || prob(c, "dropout_p") < 0) return mk(V_ERR);
    if (!fn_none(c, "scale")) {
        double sc;
        if (fn_num(c, "scale", &sc) < 0) return mk(V_ERR);
    }
    if (causal == 1 && km == 1)
        return fn_fail(c, "attn_mask", "an explicit attn_mask should not be set when is_causal=True");
    if (!same_dtype(c, "query", &q, "key", &k) || !same_dtype(c, "query", &q, "value", &v)) return mk(V_ERR);
    if (!float_only(c, "query", &q)) return mk(V_ERR);
    if (q.rank < 0 || k.rank < 0 || v.rank < 0) return mk_tensor(q.dtype, -1);
    if (q.rank < 2 || k.rank < 2 || v.rank < 2)
        return fn_fail(c, q.rank < 2 ? "query" : k.rank < 2 ? "key" : "value",
                       "query, key and value need at least 2 dimensions (..., length, features), got %s, %s, %s",
                       sh_ty(&q), sh_ty(&k), sh_ty(&v));
    if (differ(q.d[q.rank - 1], k.d[k.rank - 1]))
        return fn_fail(c, "key", "query %s and key %s differ in the last dimension", sh_ty(&q), sh_ty(&k));
    if (differ(k.d[k.rank - 2], v.d[v.rank - 2]))
        return fn_fail(c, "value", "key %s and value %s differ in the sequence dimension", sh_ty(&k), sh_ty(&v));
    SV bq = mk_tensor(q.dtype, q.rank - 2), bk = mk_tensor(q.dtype, k.rank - 2), bv = mk_tensor(q.dtype, v.rank - 2);
    memcpy(bq.d, q.d, sizeof(Dim) * (size_t)bq.rank);
    memcpy(bk.d, k.d, sizeof(Dim) * (size_t)bk.rank);
    memcpy(bv.d, v.d, sizeof(Dim) * (size_t)bv.rank);
    if (gqa && q.rank >= 3 && k.rank >= 3 && v.rank >= 3) {   /* key/value heads repeated to the query's */
        Dim hq = q.d[q.rank - 3];
        SV *kvs[2] = {&bk, &bv};
        for (int i = 0; i < 2; i++) {
            Dim h = kvs[i]->d[kvs[i]->rank - 1];
            if (known(hq) && known(h) && (h.n == 0 || hq.n % h.n))
                return fn_fail(c, i ? "value" : "key", "%lld query heads are not a multiple of %lld %s heads",
                               (long long)hq.n, (long long)h.n, i ? "value" : "key");
            kvs[i]->d[kvs[i]->rank - 1] = hq;
        }
    }
    /* the batch dimensions (all but the last two) broadcast, right-aligned */
    const SV *kvb[2] = {&bk, &bv}, *kvf[2] = {&k, &v};
    for (int i = 0; i < 2; i++)
        for (int m = 1; m <= bq.rank && m <= kvb[i]->rank; m++) {
            Dim x = bq.d[bq.rank - m], y = kvb[i]->d[kvb[i]->rank - m];
            if (!differ(x, y) || (known(x) && x.n == 1) || (known(y) && y.n == 1)) continue;
            if (m == 1 && !gqa && y.n > 0 && x.n % y.n == 0)
                return fn_fail(c, i ? "value" : "key", "%lld query heads and %lld %s heads do not broadcast (query %s, "
                               "%s %s); with enable_gqa=true, %s heads are shared by groups of query heads",
                               (long long)x.n, (long long)y.n, i ? "value" : "key", sh_ty(&q), i ? "value" : "key",
                               sh_ty(kvf[i]), i ? "value" : "key");
            return fn_fail(c, i ? "value" : "key", "the batch dimensions of query %s and %s %s do not broadcast "
                           "(%lld vs %lld)", sh_ty(&q), i ? "value" : "key", sh_ty(kvf[i]), (long long)x.n,
                           (long long)y.n);
        }
    SV b = sh_broadcast(c->s, c->span, &bq, &bk, "scaled_dot_product_attention()");
    if (b.kind != V_TENSOR) return b;
    b = sh_broadcast(c->s, c->span, &b, &bv, "scaled_dot_product_attention()");
    if (b.kind != V_TENSOR) return b;
    if (b.rank + 2 > MAXR) return fn_fail(c, "query", "more than %d dimensions", MAXR);
    SV r = b;
    r.dtype = q.dtype;
    r.d[r.rank++] = q.d[q.rank - 2];
    r.d[r.rank++] = v.d[v.rank - 1];
    if (km == 1) {   /* the mask broadcasts to (..., L, S) */
        if (mask.dtype && strcmp(mask.dtype, "bool") != 0 && strcmp(mask.dtype, q.dtype ? q.dtype : mask.dtype) != 0)
            return fn_fail(c, "attn_mask", "the mask must be bool or the query's dtype, got %s",
                           fn_dtype_words(mask.dtype));
        SV scores = r;
        scores.d[scores.rank - 1] = k.d[k.rank - 2];
        SV m = sh_broadcast(c->s, fn_sp(c, "attn_mask"), &scores, &mask, "scaled_dot_product_attention(): the mask");
        if (m.kind != V_TENSOR) return m;
        if (mask.rank > scores.rank)
            return fn_fail(c, "attn_mask", "the mask %s does not broadcast to the scores %s", sh_ty(&mask),
                           sh_ty(&scores));
        for (int i = 0; i < m.rank; i++)
            if (differ(m.d[i], scores.d[i]))
                return fn_fail(c, "attn_mask", "the mask %s does not broadcast to the scores %s", sh_ty(&mask),
                               sh_ty(&scores));
    }
    return r;
}

SV r_swin(Call *c)
{
    SV x, qw, pw, rb;
    if (!fn_t(c, "input", &x)) return x;
    if (!fn_t(c, "qkv_weight", &qw)) return qw;
    if (!fn_t(c, "proj_weight", &pw)) return pw;
    if (!fn_t(c, "relative_position_bias", &rb)) return rb;
    int64_t ws[2], ss[2], h;
    int kw, ks, kh;
    if ((kw = fn_ints(c, "window_size", 2, 1, ws)) < 0 || (kh = fn_int(c, "num_heads", 1, &h)) < 0 ||
        (ks = fn_ints(c, "shift_size", 2, 0, ss)) < 0)
        return mk(V_ERR);
    if (prob(c, "attention_dropout") < 0 || prob(c, "dropout") < 0) return mk(V_ERR);
    if (!float_only(c, "input", &x) || !same_dtype(c, "input", &x, "qkv_weight", &qw) ||
        !same_dtype(c, "input", &x, "proj_weight", &pw))
        return mk(V_ERR);
    if (x.rank >= 0 && x.rank != 4)
        return fn_fail(c, "input", "the input must be 4-d (batch, height, width, channels), got %s", sh_ty(&x));
    Dim C = x.rank == 4 ? x.d[3] : UNK;
    if (kh == 1 && known(C) && C.n % h)
        return fn_fail(c, "num_heads", "the input's %lld channels are not divisible by num_heads (%lld)",
                       (long long)C.n, (long long)h);
    if (qw.rank >= 0 && (qw.rank != 2 || differ(qw.d[1], C) || differ(qw.d[0], sh_dim_mul(c->s, C, exact(3)))))
        return fn_fail(c, "qkv_weight", "qkv_weight must be [3*C, C] = [%lld, %lld] for the input %s, got %s",
                       (long long)(3 * C.n), (long long)C.n, sh_ty(&x), sh_ty(&qw));
    if (pw.rank >= 0 && (pw.rank != 2 || differ(pw.d[1], C) || differ(pw.d[0], C)))
        return fn_fail(c, "proj_weight", "proj_weight must be [C, C] = [%lld, %lld] for the input %s, got %s",
                       (long long)C.n, (long long)C.n, sh_ty(&x), sh_ty(&pw));
    if (!vec_of(c, "qkv_bias", sh_dim_mul(c->s, C, exact(3))) || !vec_of(c, "proj_bias", C)) return mk(V_ERR);
    if (kw == 1 && kh == 1 && rb.rank >= 0) {   /* broadcasts to (windows, heads, ws*ws, ws*ws) */
        Dim n = exact(ws[0] * ws[1]);
        SV want = mk_tensor(rb.dtype, 3);
        want.d[0] = exact(h);
        want.d[1] = want.d[2] = n;
        int ok = rb.rank >= 2 && rb.rank <= 4 && !differ(rb.d[rb.rank - 1], n) && !differ(rb.d[rb.rank - 2], n) &&
                 (rb.rank < 3 || !differ(rb.d[rb.rank - 3], exact(h)) || (known(rb.d[rb.rank - 3]) && rb.d[rb.rank - 3].n == 1));
        if (!ok)
            return fn_fail(c, "relative_position_bias", "relative_position_bias must broadcast to %s (heads, "
                           "window area, window area), got %s", sh_ty(&want), sh_ty(&rb));
    }
    SV ls;
    int kl = fn_opt_t(c, "logit_scale", &ls);
    if (kl == 0) return ls;
    return x;
}
