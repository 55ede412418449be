/* shapefn_tensor.c — rules of the tensor functions: elementwise, shapes,
 * reductions, products.
 *
 * Each rule gets a Call bound to torch's signature (shapefn.c) and gives
 * the result's type as torch computes it: the dtype too (torch's
 * promotion: exp of an integer tensor is float32, sum of one is int64, a
 * float scalar makes an integer tensor float) and the errors torch raises
 * (softmax of an integer tensor, relu of a bool one, a dimension out of
 * range, shapes that do not broadcast, a reshape that changes the number
 * of elements).  Creation, indexing and einsum are in shapefn_index.c.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shapefn.h"

/* The first parameter as a tensor, or return what to pass on. */
#define INPUT(c, x)                                   \
    do {                                              \
        if (!fn_t((c), (c)->pn[0], &(x))) return (x); \
    } while (0)

/* ---------------------------------------------------------- elementwise */

static SV dtype_err(Call *c, const char *what, const char *dt)
{
    return fn_fail(c, c->pn[0], "%s, got %s", what, fn_dtype_words(dt));
}

SV r_unary(Call *c)
{
    const SV *in = fn_v(c, c->pn[0]);
    if (in->kind == V_CONF && in->c.kind != VAL_STR && in->c.kind != VAL_NONE && c->ns == NS_BARE &&
        sh_is_function(NS_MATH, c->fn))
        return r_mathfn(c);   /* sqrt(d) of a configuration value: math.sqrt */
    SV x;
    INPUT(c, x);
    int bad = 0;
    const char *ap = fn_ix(c, "approximate") >= 0 ? fn_str(c, "approximate", &bad) : NULL;
    if (bad) return mk(V_ERR);
    if (ap && strcmp(ap, "none") != 0 && strcmp(ap, "tanh") != 0)
        return fn_fail(c, "approximate", "approximate must be 'none' or 'tanh', got '%s'", ap);
    if (!x.dtype) return x;
    switch (c->arg) {
    case UN_NOBOOL:
        if (!strcmp(x.dtype, "bool")) return dtype_err(c, "bool tensors are not supported", x.dtype);
        break;
    case UN_PROMOTE: x.dtype = fn_float_of(x.dtype); break;
    case UN_FLOAT:
        if (!fn_is_float(x.dtype)) return dtype_err(c, "takes a floating-point tensor", x.dtype);
        break;
    default:
        if (!strcmp(c->fn, "abs") && !strcmp(x.dtype, "bool"))
            return dtype_err(c, "bool tensors are not supported", x.dtype);
    }
    return x;
}

SV r_mathfn(Call *c)
{
    const SV *in = fn_v(c, c->pn[0]);
    if (in->kind == V_TENSOR)
        return fn_fail(c, c->pn[0], "math.%s takes a number, got a tensor: write torch.%s", c->fn, c->fn);
    double x, y = 0;
    int k = fn_num(c, c->pn[0], &x);
    if (k < 0) return mk(V_ERR);
    if (c->n > 1) {
        int k2 = fn_num(c, c->pn[1], &y);
        if (k2 < 0) return mk(V_ERR);
        k &= k2;
    }
    if (k == 0) return mk(V_ANY);
    const char *f = c->fn;
    if (!strcmp(f, "floor") || !strcmp(f, "ceil")) {
        double r = f[0] == 'f' ? floor(x) : ceil(x);
        if (!(r >= -9.2e18 && r <= 9.2e18)) return fn_fail(c, c->pn[0], "cannot convert %g to an integer", x);
        return mk_int((int64_t)r);
    }
    if ((!strcmp(f, "sqrt") && x < 0) || (!strcmp(f, "log") && x <= 0))
        return fn_fail(c, c->pn[0], "math domain error (%g)", x);
    return conf_float(!strcmp(f, "sqrt") ? sqrt(x) : !strcmp(f, "exp") ? exp(x) : !strcmp(f, "log") ? log(x)
                      : !strcmp(f, "sin") ? sin(x) : !strcmp(f, "cos") ? cos(x) : !strcmp(f, "tanh") ? tanh(x)
                      : !strcmp(f, "erf") ? erf(x) : pow(x, y));
}

/* float(), long(), x.to(dtype), x.type_as(y); float("-inf"), int(3.5). */
SV r_convert(Call *c)
{
    const char *f = c->fn;
    const SV *in = fn_v(c, c->pn[0]);
    if (in->kind == V_CONF && (!strcmp(f, "float") || !strcmp(f, "int") || !strcmp(f, "bool"))) {
        if (in->c.kind == VAL_STR && f[0] == 'f') {   /* float("-inf") */
            char *end;
            double d = strtod(in->c.s, &end);
            if (!*in->c.s || *end) return fn_fail(c, c->pn[0], "could not convert string to float: '%s'", in->c.s);
            return conf_float(d);
        }
        double x;
        int k = fn_num(c, c->pn[0], &x);
        if (k <= 0) return k < 0 ? mk(V_ERR) : mk(V_ANY);
        if (f[0] == 'f') return conf_float(x);
        if (f[0] == 'b') {
            SV v = mk_int(x != 0);
            v.c.kind = VAL_BOOL;
            return v;
        }
        if (!(x >= -9.2e18 && x <= 9.2e18)) return fn_fail(c, c->pn[0], "cannot convert %g to an integer", x);
        return mk_int((int64_t)x);
    }
    if (in->kind == V_DIM && (!strcmp(f, "int") || !strcmp(f, "float"))) return *in;
    SV x;
    INPUT(c, x);
    static const struct { const char *fn, *dt; } CONV[] = {
        {"float", "f32"}, {"double", "f64"}, {"half", "f16"}, {"bfloat16", "bf16"},
        {"long", "i64"},  {"int", "i32"},    {"bool", "bool"},
    };
    for (size_t i = 0; i < sizeof CONV / sizeof CONV[0]; i++)
        if (!strcmp(f, CONV[i].fn)) return x.dtype = CONV[i].dt, x;
    if (!strcmp(f, "type_as")) {
        SV o;
        if (!fn_t(c, "tensor", &o)) return o;
        return x.dtype = o.dtype, x;
    }
    /* to(dtype), to(device), to(device, dtype), to(other), to(dtype=...); type(dtype) */
    int bad = 0;
    const char *dt = fn_dtype(c, "dtype", &bad);
    if (bad) return mk(V_ERR);
    const SV *rest = fn_ix(c, "args") >= 0 ? fn_v(c, "args") : NULL;   /* type(dtype) has none */
    for (size_t i = 0; rest && rest->kind == V_TUPLE && i < rest->n; i++) {
        const SV *a = &rest->items[i];
        if (a->kind == V_TENSOR) dt = a->dtype;
        else if (a->kind == V_CONF && a->c.kind == VAL_STR && fn_dtype_name(a->c.s)) dt = fn_dtype_name(a->c.s);
    }
    if (dt) x.dtype = dt;
    return x;
}

/* softmax, log_softmax (arg 1), cumsum (arg 2): a dimension and dtype=. */
SV r_softmax(Call *c)
{
    SV x;
    INPUT(c, x);
    int bad = 0, d = 0;
    const char *dt = fn_dtype(c, "dtype", &bad);
    if (bad) return mk(V_ERR);
    if (fn_none(c, "dim")) {
        if (c->arg == 2) return fn_fail(c, "dim", "'dim' must be an integer, got none");
        /* F.softmax without dim: torch's implicit choice (with a warning) */
    } else if (fn_dim(c, "dim", x.rank, &d) < 0) {
        return mk(V_ERR);
    }
    const char *eff = dt ? dt : x.dtype;
    if (c->arg == 1) {
        if (eff && !fn_is_float(eff)) return dtype_err(c, "takes a floating-point tensor", eff);
        x.dtype = eff;
    } else {
        x.dtype = dt ? dt : fn_is_float(x.dtype) || !x.dtype ? x.dtype : "i64";
    }
    return x;
}

SV r_pow(Call *c)
{
    const SV *b = fn_v(c, "input"), *e = fn_v(c, "exponent");
    if (b->kind == V_ERR || e->kind == V_ERR) return mk(V_ERR);
    if (b->kind == V_ANY || e->kind == V_ANY) return mk(V_ANY);
    if (b->kind != V_TENSOR && e->kind != V_TENSOR) {
        if (c->ns == NS_BARE) return r_mathfn(c);
        return fn_fail(c, "input", "takes a tensor base or exponent, got %s and %s", sh_ty(b), sh_ty(e));
    }
    if ((b->kind != V_TENSOR && b->kind != V_CONF && b->kind != V_DIM) ||
        (e->kind != V_TENSOR && e->kind != V_CONF && e->kind != V_DIM))
        return fn_fail(c, b->kind == V_TENSOR ? "exponent" : "input", "takes tensors or numbers, got %s",
                       sh_ty(b->kind == V_TENSOR ? e : b));
    if ((b->kind == V_CONF && b->c.kind == VAL_STR) || (e->kind == V_CONF && e->c.kind == VAL_STR))
        return fn_fail(c, b->kind == V_TENSOR ? "exponent" : "input", "takes a number, got a string");
    SV r = sh_broadcast(c->s, c->span, b, e, "pow()");
    if (r.kind != V_TENSOR) return r;
    if (r.dtype && !strcmp(r.dtype, "bool")) r.dtype = "i64";   /* bool ** 2, 2 ** bool */
    return r;
}

SV r_clamp(Call *c)
{
    SV x;
    INPUT(c, x);
    const SV *lo = fn_v(c, "min"), *hi = fn_v(c, "max");
    int nlo = fn_none(c, "min"), nhi = fn_none(c, "max");
    if (nlo && nhi) return fn_fail(c, NULL, "at least one of 'min' or 'max' must not be None");
    if (x.dtype && !strcmp(x.dtype, "bool")) return dtype_err(c, "bool tensors are not supported", x.dtype);
    SV r = x;
    if (!nlo) r = sh_broadcast(c->s, fn_sp(c, "min"), &r, lo, "clamp()");
    if (r.kind == V_TENSOR && !nhi) r = sh_broadcast(c->s, fn_sp(c, "max"), &r, hi, "clamp()");
    return r;
}

SV r_tri(Call *c)
{
    SV x;
    INPUT(c, x);
    int64_t k;
    if (fn_int(c, "diagonal", INT64_MIN + 1, &k) < 0) return mk(V_ERR);
    if (x.rank >= 0 && x.rank < 2) return fn_fail(c, c->pn[0], "takes a tensor of at least 2 dimensions, got %s", sh_ty(&x));
    return x;
}

SV r_masked_fill(Call *c)
{
    SV x, m;
    INPUT(c, x);
    if (!fn_t(c, "mask", &m)) return m;
    if (m.dtype && strcmp(m.dtype, "bool") != 0 && strcmp(m.dtype, "u8") != 0)
        return fn_fail(c, "mask", "the mask must be a bool tensor, got %s", fn_dtype_words(m.dtype));
    const SV *v = fn_v(c, "value");
    if (v->kind == V_TENSOR && v->rank > 0)
        return fn_fail(c, "value", "the value must be a number or a 0-d tensor, got %s", sh_ty(v));
    if (v->kind == V_CONF && (v->c.kind == VAL_STR || v->c.kind == VAL_NONE || v->c.kind == VAL_INTS))
        return fn_fail(c, "value", "the value must be a number, got %s", sh_ty(v));
    SV r = sh_broadcast(c->s, c->span, &x, &m, "masked_fill()");
    if (r.kind == V_TENSOR) r.dtype = x.dtype;
    return r;
}

/* ---------------------------------------------------------------- shapes */

SV r_reshape(Call *c)
{
    SV x;
    INPUT(c, x);
    Dim t[MAXR];
    int n = fn_sizes(c, "shape", t, MAXR);
    if (n < 0) return mk(V_ERR);
    int neg = -1;
    for (int i = 0; i < n; i++)
        if (!t[i].sym && t[i].n == -1) {
            if (neg >= 0) return fn_fail(c, "shape", "only one dimension can be -1");
            neg = i;
        } else if (!t[i].sym && t[i].n < -1 && t[i].n != UNKN) {
            return fn_fail(c, "shape", "invalid size %lld", (long long)t[i].n);
        }
    SV r = mk_tensor(x.dtype, n);
    memcpy(r.d, t, sizeof(Dim) * (size_t)n);
    if (neg >= 0) r.d[neg] = UNK;
    if (x.rank < 0) return r;
    /* numel as an exact product times a multiset of symbols (unknowns: give up) */
    Dim pa = exact(1), pb = exact(1);
    for (int i = 0; i < x.rank; i++) pa = sh_dim_mul(c->s, pa, x.d[i]);
    for (int i = 0; i < n; i++)
        if (i != neg) pb = sh_dim_mul(c->s, pb, t[i]);
    if (!known(pa) && !pa.sym) return r;
    if (!known(pb) && !pb.sym) return r;
    if (neg >= 0) {
        Dim q = sh_dim_quot(c->s, pa, pb);
        if (known(pa) && known(pb) && (pb.n == 0 || pa.n % pb.n != 0))
            return fn_fail(c, "shape", "cannot reshape %s (%lld elements) into %d dimensions with -1: %lld is "
                           "not a multiple of %lld", sh_ty(&x), (long long)pa.n, n, (long long)pa.n, (long long)pb.n);
        r.d[neg] = q;
    } else if (known(pa) && known(pb) && pa.n != pb.n) {
        return fn_fail(c, "shape", "cannot reshape %s into %s: %lld elements vs %lld", sh_ty(&x), sh_ty(&r),
                       (long long)pa.n, (long long)pb.n);
    } else if ((known(pa) || known(pb)) && (pa.sym || pb.sym)) {
        /* an exact count against a symbolic one: cannot tell */
    }
    return r;
}

SV r_flatten(Call *c)
{
    SV x;
    INPUT(c, x);
    if (x.rank < 0) return x;
    int r1 = x.rank ? x.rank : 1, lo = 0, hi = r1 - 1;
    if (fn_dim(c, "start_dim", r1, &lo) < 0 || fn_dim(c, "end_dim", r1, &hi) < 0) return mk(V_ERR);
    if (x.rank == 0) return x.rank = 1, x.d[0] = exact(1), x;
    if (lo > hi) return fn_fail(c, "start_dim", "start_dim comes after end_dim");
    Dim p = x.d[lo];
    for (int i = lo + 1; i <= hi; i++) p = sh_dim_mul(c->s, p, x.d[i]);
    SV r = mk_tensor(x.dtype, 0);
    for (int i = 0; i < x.rank; i++)
        if (i < lo || i > hi) r.d[r.rank++] = x.d[i];
        else if (i == lo) r.d[r.rank++] = p;
    return r;
}

SV r_permute(Call *c)
{
    SV x;
    INPUT(c, x);
    Dim p[MAXR];
    int n = fn_sizes(c, "dims", p, MAXR), seen[MAXR] = {0};
    if (n < 0) return mk(V_ERR);
    if (x.rank < 0) return x;
    if (n != x.rank) return fn_fail(c, "dims", "%d dims given for a tensor of rank %d", n, x.rank);
    SV r = x;
    for (int i = 0; i < n; i++) {
        if (!isnum(p[i])) return mk_tensor(x.dtype, x.rank);
        int w = wrap(p[i].n, x.rank);
        if (w < 0 || seen[w]++) return fn_fail(c, "dims", "the dims are not a permutation of 0..%d", x.rank - 1);
        r.d[i] = x.d[w];
    }
    return r;
}

SV r_transpose(Call *c)
{
    SV x;
    INPUT(c, x);
    int p = -1, q = -1;
    int kp = fn_dim(c, "dim0", x.rank, &p), kq = fn_dim(c, "dim1", x.rank, &q);
    if (kp < 0 || kq < 0) return mk(V_ERR);
    if (x.rank < 0) return x;
    if (!kp || !kq) return mk_tensor(x.dtype, x.rank);
    if (x.rank == 0) return x;
    Dim t = x.d[p];
    x.d[p] = x.d[q];
    x.d[q] = t;
    return x;
}

SV r_unsqueeze(Call *c)
{
    SV x;
    INPUT(c, x);
    int d = 0;
    int k = fn_dim(c, "dim", x.rank < 0 ? -1 : x.rank + 1, &d);
    if (k < 0) return mk(V_ERR);
    if (x.rank < 0) return x;
    if (x.rank >= MAXR) return fn_fail(c, NULL, "more than %d dimensions", MAXR);
    if (!k) return mk_tensor(x.dtype, x.rank + 1);
    for (int m = x.rank; m > d; m--) x.d[m] = x.d[m - 1];
    x.d[d] = exact(1);
    x.rank++;
    return x;
}

SV r_squeeze(Call *c)
{
    SV x;
    INPUT(c, x);
    int d = -1;
    int all = fn_none(c, "dim");
    if (!all && fn_dim(c, "dim", x.rank, &d) < 0) return mk(V_ERR);
    if (x.rank < 0) return x;
    if (!all && d < 0) return mk_tensor(x.dtype, -1);
    SV r = mk_tensor(x.dtype, 0);
    for (int i = 0; i < x.rank; i++)
        if (!((all || i == d) && known(x.d[i]) && x.d[i].n == 1)) r.d[r.rank++] = x.d[i];
    return r;
}

/* cat, concat; stack (arg 1). */
SV r_cat(Call *c)
{
    const SV *l = fn_v(c, "tensors");
    int stack = c->arg == 1;
    if (l->kind == V_ERR || l->kind == V_ANY) return *l;
    if (l->kind != V_TUPLE || l->n == 0) return fn_fail(c, "tensors", "takes a non-empty list of tensors, got %s", sh_ty(l));
    const char *dt = NULL;
    int unknown = 0;
    for (size_t i = 0; i < l->n; i++) {
        const SV *t = &l->items[i];
        if (t->kind == V_ERR || t->kind == V_ANY) return *t;
        if (t->kind != V_TENSOR) return fn_fail(c, "tensors", "item %zu is not a tensor but %s", i, sh_ty(t));
        if (t->rank < 0) unknown = 1;
        if (!stack && t->rank == 0)
            return fn_fail(c, "tensors", "item %zu is a 0-d tensor, which cannot be concatenated", i);
        dt = i ? (t->dtype && dt ? fn_promote(&l->items[0], t) : NULL) : t->dtype;
    }
    const SV *f = &l->items[0];
    if (unknown) return mk_tensor(dt, -1);
    if (f->rank >= MAXR) return fn_fail(c, NULL, "more than %d dimensions", MAXR);
    int d = 0, rk = f->rank + stack;
    int k = fn_dim(c, "dim", rk, &d);
    if (k < 0) return mk(V_ERR);
    SV r = *f;
    r.dtype = dt;
    Dim sum = exact(0);
    for (size_t i = 0; i < l->n; i++) {
        const SV *t = &l->items[i];
        if (t->rank != f->rank)
            return fn_fail(c, "tensors", "tensors of rank %d and %d (%s, %s)", f->rank, t->rank, sh_ty(f), sh_ty(t));
        for (int m = 0; m < f->rank; m++)
            if ((stack || m != d || !k) && differ(t->d[m], f->d[m]))
                return fn_fail(c, "tensors", "%s along dimension %d: %s and %s differ in dimension %d",
                               stack ? "stacking" : "concatenating", d, sh_ty(f), sh_ty(t), m);
        if (!stack) sum = sh_dim_add(c->s, sum, t->d[d]);
    }
    if (!k) return mk_tensor(dt, rk);
    if (stack) {
        for (int m = r.rank; m > d; m--) r.d[m] = r.d[m - 1];
        r.d[d] = exact((int64_t)l->n);
        r.rank++;
    } else {
        r.d[d] = sum;
    }
    return r;
}

/* split (sizes or sections), chunk (arg 1): a tuple of tensors. */
SV r_split(Call *c)
{
    SV x;
    INPUT(c, x);
    const char *pn = c->pn[1];
    const SV *sv = fn_v(c, pn);
    int d = 0;
    if (fn_dim(c, "dim", x.rank, &d) < 0) return mk(V_ERR);
    if (x.rank == 0) return fn_fail(c, c->pn[0], "cannot split a 0-d tensor");
    if (sv->kind == V_TUPLE && c->arg == 0) {   /* sections: their sum must be the size */
        if (x.rank < 0) return mk(V_ANY);
        SV t = sh_tuple_of(c->s, sv->n);
        Dim sum = exact(0);
        for (size_t i = 0; i < t.n; i++) {
            int64_t n;
            if (sh_as_int(&sv->items[i], &n) < 0)
                return fn_fail(c, pn, "sections must be integers, got %s", sh_ty(&sv->items[i]));
            Dim di = sh_as_dim(&sv->items[i]);
            sum = known(sum) && known(di) ? exact(sum.n + di.n) : UNK;
            t.items[i] = x;
            t.items[i].d[d] = di;
        }
        if (differ(sum, x.d[d]))
            return fn_fail(c, pn, "the sections sum to %lld, but dimension %d of %s is %lld", (long long)sum.n, d,
                           sh_ty(&x), (long long)x.d[d].n);
        return t;
    }
    int64_t n;
    int k = fn_int(c, pn, 0, &n);
    if (k < 0) return mk(V_ERR);
    if (c->arg == 1 && k == 1 && n == 0) return fn_fail(c, pn, "chunks must be positive");
    if (c->arg == 0 && k == 1 && n == 0 && !(known(x.d[d]) && x.d[d].n == 0))
        return fn_fail(c, pn, "split_size can only be 0 if the dimension size is 0");
    if (k == 0 || x.rank < 0 || !known(x.d[d])) return mk(V_ANY);
    int64_t size = c->arg == 0 ? n : (x.d[d].n + n - 1) / n;
    int64_t cnt = size ? (x.d[d].n + size - 1) / size : 1;
    if (cnt > 1024) return mk(V_ANY);
    if (cnt == 0) cnt = 1;
    SV t = sh_tuple_of(c->s, (size_t)cnt);
    for (size_t i = 0; i < t.n; i++) {
        t.items[i] = x;
        int64_t left = x.d[d].n - (int64_t)i * size;
        t.items[i].d[d] = exact(left < size ? left : size);
    }
    return t;
}

/* expand(*sizes): sizes aligned right, -1 keeps a dimension; expand_as (arg 1). */
SV r_expand(Call *c)
{
    SV x;
    INPUT(c, x);
    Dim t[MAXR];
    int n;
    if (c->arg == 1) {
        SV o;
        if (!fn_t(c, "other", &o)) return o;
        if (o.rank < 0) return mk_tensor(x.dtype, -1);
        n = o.rank;
        memcpy(t, o.d, sizeof(Dim) * (size_t)n);
    } else if ((n = fn_sizes(c, "sizes", t, MAXR)) < 0) {
        return mk(V_ERR);
    }
    if (x.rank >= 0 && n < x.rank)
        return fn_fail(c, c->arg ? "other" : "sizes", "%d size%s for a tensor of rank %d: give at least as many as "
                       "it has dimensions", n, n == 1 ? "" : "s", x.rank);
    SV r = mk_tensor(x.dtype, n);
    for (int i = 0; i < n; i++) {
        int j = x.rank < 0 ? -1 : i - (n - x.rank);
        Dim have = j >= 0 ? x.d[j] : UNK;
        int keep = !t[i].sym && t[i].n == -1;
        if (keep && j < 0) return fn_fail(c, "sizes", "-1 is not allowed for a new leading dimension (%d)", i);
        r.d[i] = keep ? have : t[i];
        if (j >= 0 && !(known(have) && have.n == 1) && differ(have, r.d[i]))
            return fn_fail(c, c->arg ? "other" : "sizes", "dimension %d of size %lld cannot become %lld", j,
                           (long long)have.n, (long long)r.d[i].n);
    }
    return x.rank < 0 ? mk_tensor(x.dtype, -1) : r;
}

SV r_repeat(Call *c)
{
    SV x;
    INPUT(c, x);
    Dim t[MAXR];
    int n = fn_sizes(c, "sizes", t, MAXR);
    if (n < 0) return mk(V_ERR);
    if (x.rank < 0) return mk_tensor(x.dtype, n >= 1 ? -1 : -1);
    if (n < x.rank)
        return fn_fail(c, "sizes", "%d repeat%s for a tensor of rank %d: give at least as many as it has "
                       "dimensions", n, n == 1 ? "" : "s", x.rank);
    SV r = mk_tensor(x.dtype, n);
    for (int i = 0; i < n; i++) {
        int j = i - (n - x.rank);
        if (isnum(t[i]) && t[i].n < 0) return fn_fail(c, "sizes", "repeats must be non-negative, got %lld", (long long)t[i].n);
        r.d[i] = sh_dim_mul(c->s, j >= 0 ? x.d[j] : exact(1), t[i]);
    }
    return r;
}

SV r_repeat_interleave(Call *c)
{
    SV x;
    INPUT(c, x);
    const SV *rp = fn_v(c, "repeats");
    int d = -1, all = fn_none(c, "dim");
    if (!all && fn_dim(c, "dim", x.rank, &d) < 0) return mk(V_ERR);
    Dim total = UNK;
    if (rp->kind == V_TENSOR) {
        if (rp->dtype && !fn_is_int(rp->dtype))
            return fn_fail(c, "repeats", "repeats must be an integer tensor, got %s", fn_dtype_words(rp->dtype));
        if (rp->rank > 1) return fn_fail(c, "repeats", "repeats must be 0-d or 1-d, got %s", sh_ty(rp));
        if (!all && rp->rank == 1 && x.rank >= 0 && d >= 0 && differ(rp->d[0], x.d[d]) &&
            !(known(rp->d[0]) && rp->d[0].n == 1))
            return fn_fail(c, "repeats", "%lld repeats for dimension %d of size %lld", (long long)rp->d[0].n, d,
                           (long long)x.d[d].n);
        int64_t o;
        if (!fn_none(c, "output_size") && fn_int(c, "output_size", 0, &o) == 1) total = exact(o);
        if (rp->rank == 0 && x.rank >= 0) total = UNK;
    } else {
        int64_t n;
        int k = fn_int(c, "repeats", 0, &n);
        if (k < 0) return mk(V_ERR);
        Dim r = k ? exact(n) : sh_as_dim(rp);
        if (x.rank < 0) return all ? mk_tensor(x.dtype, 1) : x;
        if (all) {
            Dim p = exact(1);
            for (int i = 0; i < x.rank; i++) p = sh_dim_mul(c->s, p, x.d[i]);
            total = sh_dim_mul(c->s, p, r);
        } else {
            total = d >= 0 ? sh_dim_mul(c->s, x.d[d], r) : UNK;
        }
    }
    if (all) {
        SV o = mk_tensor(x.dtype, 1);
        o.d[0] = total;
        return o;
    }
    if (x.rank < 0) return x;
    if (d >= 0) x.d[d] = total;
    else x = mk_tensor(x.dtype, x.rank);
    return x;
}

SV r_pad(Call *c)
{
    SV x;
    INPUT(c, x);
    Dim p[2 * MAXR];
    int n = fn_sizes(c, "pad", p, 2 * MAXR), bad = 0;
    if (n < 0) return mk(V_ERR);
    const char *mode = fn_str(c, "mode", &bad);
    if (bad) return mk(V_ERR);
    if (mode && strcmp(mode, "constant") && strcmp(mode, "reflect") && strcmp(mode, "replicate") &&
        strcmp(mode, "circular"))
        return fn_fail(c, "mode", "mode must be 'constant', 'reflect', 'replicate' or 'circular', got '%s'", mode);
    if (n % 2) return fn_fail(c, "pad", "the padding has %d sizes: its length must be divisible by 2", n);
    if (x.rank < 0) return x;
    if (n / 2 > x.rank)
        return fn_fail(c, "pad", "%d sizes pad %d dimensions of a tensor of rank %d", n, n / 2, x.rank);
    int constant = !mode || !strcmp(mode, "constant");
    if (!constant && !(x.rank >= n / 2 + 1 && x.rank <= n / 2 + 2))
        return fn_fail(c, "mode", "'%s' padding of %d dimensions takes a %d-d or %d-d input, got %s", mode, n / 2,
                       n / 2 + 1, n / 2 + 2, sh_ty(&x));
    for (int i = 0; i < n / 2; i++) {
        Dim *t = &x.d[x.rank - 1 - i], a = p[2 * i], b = p[2 * i + 1];
        if (!isnum(a) || !isnum(b)) {
            *t = UNK;
            continue;
        }
        if (mode && !strcmp(mode, "reflect") && known(*t) && (a.n >= t->n || b.n >= t->n))
            return fn_fail(c, "pad", "reflect padding (%lld, %lld) must be less than the dimension's size %lld",
                           (long long)a.n, (long long)b.n, (long long)t->n);
        if (known(*t)) {
            int64_t o = t->n + a.n + b.n;
            if (o < 0)
                return fn_fail(c, "pad", "padding (%lld, %lld) leaves dimension %d of %s with a negative size",
                               (long long)a.n, (long long)b.n, x.rank - 1 - i, sh_ty(&x));
            *t = exact(o);
        } else if (a.n + b.n != 0) {
            *t = UNK;
        }
    }
    return x;
}

SV r_roll(Call *c)
{
    SV x;
    INPUT(c, x);
    int64_t sh[MAXR];
    const SV *sv = fn_v(c, "shifts"), *dv = fn_v(c, "dims");
    int ns = sv->kind == V_TUPLE ? (int)sv->n : 1, nd = fn_none(c, "dims") ? 0 : dv->kind == V_TUPLE ? (int)dv->n : 1;
    if (ns > MAXR || nd > MAXR) return fn_fail(c, "shifts", "more than %d shifts", MAXR);
    if (fn_ints(c, "shifts", ns, INT64_MIN + 1, sh) < 0) return mk(V_ERR);
    if (nd == 0) {
        if (ns != 1) return fn_fail(c, "shifts", "without dims, shifts must be one integer, got %d", ns);
        return x;
    }
    if (nd != ns) return fn_fail(c, "dims", "shifts and dims must align: %d shifts, %d dims", ns, nd);
    int64_t dd[MAXR];
    if (fn_ints(c, "dims", nd, INT64_MIN + 1, dd) < 0) return mk(V_ERR);
    for (int i = 0; i < nd && x.rank >= 0; i++)
        if (dd[i] != UNKN && wrap(dd[i], x.rank ? x.rank : 1) < 0)
            return fn_fail(c, "dims", "dimension %lld is out of range for a tensor of rank %d", (long long)dd[i], x.rank);
    return x;
}

/* ------------------------------------------------------------ reductions */

SV r_reduce(Call *c)
{
    SV x;
    INPUT(c, x);
    const SV *dv = fn_v(c, "dim");
    int v = c->arg, kd = fn_bool(c, "keepdim", 0), bad = 0;
    if (kd < 0) return mk(V_ERR);
    const char *dt = fn_ix(c, "dtype") >= 0 ? fn_dtype(c, "dtype", &bad) : NULL;
    if (bad) return mk(V_ERR);
    if (v == RD_MAX && dv->kind == V_TENSOR) {   /* torch.max(a, b): elementwise */
        char what[32];
        snprintf(what, sizeof what, "%s()", c->fn);
        return sh_broadcast(c->s, c->span, &x, dv, what);
    }
    const char *rdt = dt ? dt : x.dtype;
    if (v == RD_MEAN && rdt && !fn_is_float(rdt))
        return fn_fail(c, c->pn[0], "could not infer the output dtype: takes a floating-point tensor, got %s "
                       "(give dtype=)", fn_dtype_words(rdt));
    if ((v == RD_SUM || v == RD_PROD) && !dt && x.dtype && !fn_is_float(x.dtype)) rdt = "i64";
    if (v == RD_ARGMAX) rdt = "i64";
    Dim dl[MAXR];
    int n = 0;
    int none = fn_none(c, "dim");
    if (!none) {
        if ((v == RD_PROD || v == RD_ARGMAX || v == RD_MAX) && dv->kind == V_TUPLE)
            return fn_fail(c, "dim", "'dim' must be one integer, got %s", sh_ty(dv));
        n = fn_sizes(c, "dim", dl, MAXR);
        if (n < 0) return mk(V_ERR);
    }
    if (n == 0) {   /* all dimensions: a 0-d tensor (or all ones with keepdim) */
        SV r = mk_tensor(rdt, 0);
        if (kd && x.rank >= 0)
            for (int i = 0; i < x.rank; i++) r.d[r.rank++] = exact(1);
        else if (kd) r.rank = -1;
        return r;
    }
    if (x.rank < 0) return mk_tensor(rdt, -1);
    int drop[MAXR] = {0};
    for (int i = 0; i < n; i++) {
        if (!isnum(dl[i])) return mk_tensor(rdt, -1);
        int w = wrap(dl[i].n, x.rank ? x.rank : 1);
        if (w < 0)
            return fn_fail(c, "dim", "dimension %lld is out of range for a tensor of rank %d", (long long)dl[i].n,
                           x.rank);
        if (drop[w]++) return fn_fail(c, "dim", "dimension %d appears twice", w);
    }
    SV r = mk_tensor(rdt, 0);
    for (int i = 0; i < x.rank; i++)
        if (!drop[i]) r.d[r.rank++] = x.d[i];
        else if (kd) r.d[r.rank++] = exact(1);
    if (v != RD_MAX) return r;
    SV idx = r;   /* max(x, dim): (values, indices) */
    idx.dtype = "i64";
    return sh_pair(c->s, &r, &idx);
}

/* size(dim=None), dim(), numel(). */
SV r_size(Call *c)
{
    SV x;
    INPUT(c, x);
    if (c->arg == 1) return x.rank < 0 ? dim_sv(UNK) : mk_int(x.rank);
    if (c->arg == 2) {
        if (x.rank < 0) return dim_sv(UNK);
        Dim p = exact(1);
        for (int i = 0; i < x.rank; i++) p = sh_dim_mul(c->s, p, x.d[i]);
        return dim_sv(p);
    }
    if (fn_none(c, "dim")) return x.rank < 0 ? mk(V_ANY) : sh_shape_of(c->s, &x);
    int d = 0;
    int k = fn_dim(c, "dim", x.rank, &d);
    if (k < 0) return mk(V_ERR);
    if (!k || x.rank < 0) return dim_sv(UNK);
    if (x.rank == 0) return fn_fail(c, "dim", "a 0-d tensor has no dimensions");
    return dim_sv(x.d[d]);
}

/* ------------------------------------------------------------- products */

/* matmul; mm (arg 2) and bmm (arg 3) take exactly that rank. */
SV r_matmul(Call *c)
{
    SV a, b;
    int ka = fn_t(c, c->pn[0], &a), kb = fn_t(c, c->pn[1], &b);
    if (!ka || !kb) return !ka ? a : b;
    if (c->arg && ((a.rank >= 0 && a.rank != c->arg) || (b.rank >= 0 && b.rank != c->arg)))
        return fn_fail(c, a.rank != c->arg ? c->pn[0] : c->pn[1], "takes %s, got %s and %s",
                       c->arg == 2 ? "two matrices (2-d)" : "two batches of matrices (3-d)", sh_ty(&a), sh_ty(&b));
    if (c->arg == 3 && a.rank == 3 && b.rank == 3 && differ(a.d[0], b.d[0]))
        return fn_fail(c, c->pn[1], "the batch sizes differ: %s and %s", sh_ty(&a), sh_ty(&b));
    return sh_matmul(c->s, c->span, &a, &b);
}

/* addmm (arg 2), baddbmm (arg 3): input + the product, broadcast as torch
 * broadcasts input to the product's shape (HF GPT-2's Conv1D). */
SV r_addmm(Call *c)
{
    SV in, a, b;
    int ki = fn_t(c, c->pn[0], &in), ka = fn_t(c, c->pn[1], &a), kb = fn_t(c, c->pn[2], &b);
    if (!ki || !ka || !kb) return !ki ? in : !ka ? a : b;
    if ((a.rank >= 0 && a.rank != c->arg) || (b.rank >= 0 && b.rank != c->arg))
        return fn_fail(c, a.rank != c->arg ? c->pn[1] : c->pn[2], "takes %s, got %s and %s",
                       c->arg == 2 ? "two matrices (2-d)" : "two batches of matrices (3-d)", sh_ty(&a), sh_ty(&b));
    SV p = sh_matmul(c->s, c->span, &a, &b);
    if (p.kind != V_TENSOR || in.rank < 0 || p.rank < 0) return p;
    if (in.rank > p.rank) return fn_fail(c, c->pn[0], "%s does not broadcast to the product %s", sh_ty(&in), sh_ty(&p));
    SV r = sh_broadcast(c->s, c->span, &in, &p, c->fn);
    if (r.kind == V_TENSOR && r.rank == p.rank) {
        for (int i = 0; i < r.rank; i++)
            if (differ(r.d[i], p.d[i])) return fn_fail(c, c->pn[0], "%s does not broadcast to the product %s",
                                                       sh_ty(&in), sh_ty(&p));
    }
    return r.kind == V_TENSOR ? p : r;
}

SV r_outer(Call *c)
{
    SV a, b;
    int ka = fn_t(c, "input", &a), kb = fn_t(c, "vec2", &b);
    if (!ka || !kb) return !ka ? a : b;
    if (a.rank >= 0 && a.rank != 1) return fn_fail(c, "input", "takes 1-d tensors, got %s", sh_ty(&a));
    if (b.rank >= 0 && b.rank != 1) return fn_fail(c, "vec2", "takes 1-d tensors, got %s", sh_ty(&b));
    SV r = mk_tensor(fn_promote(&a, &b), 2);
    r.d[0] = a.rank == 1 ? a.d[0] : UNK;
    r.d[1] = b.rank == 1 ? b.d[0] : UNK;
    return r;
}
