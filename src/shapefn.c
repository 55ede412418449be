/* shapefn.c — the forward's built-in functions, with torch's shapes.
 *
 * shapes.c evaluates a forward; a call of a name that is not a module
 * comes here with its arguments evaluated (Args: SV values, positional and
 * keyword).  Each function's rule computes the result's type the way torch
 * would on a meta tensor (reshape's -1 and element count, cat's and
 * stack's dimension, reductions with keepdim, broadcasting, matmul's batch
 * dimensions, scaled_dot_product_attention's heads) and reports the
 * arguments torch would reject.  Sizes it cannot compute become unknown
 * ('?'), which never causes an error further on.
 */
#include <stdio.h>
#include <string.h>

#include "shapes.h"

/* ------------------------------------------------------------- functions */

/* Argument i as a tensor: 1 it is one (in *out); 0 an error or an unknown
 * value to pass on (in *out); a non-tensor is reported. */
int sh_get_t(Sh *s, const Args *a, size_t i, const char *name, const char *fn, SV *out)
{
    Span sp = a->span;
    const SV *v = sh_arg(a, i, name, &sp);
    *out = !v ? sh_fail(s, a->span, "%s: missing argument %zu (a tensor)", fn, i + 1)
         : v->kind == V_TENSOR || v->kind == V_ERR || v->kind == V_ANY ? *v
         : sh_fail(s, sp, "%s expects a tensor, got %s", fn, sh_ty(v));
    return out->kind == V_TENSOR;
}

/* A dimension argument, wrapped for rank: 0 set (to def when absent or
 * unknown), -2 absent when def is -2, -3 the rank is unknown, -1 reported. */
int sh_dim_arg(Sh *s, const Args *a, size_t i, const char *name, const char *fn, int rank, int def, int *out)
{
    int64_t d;
    Span sp = a->span;
    const SV *v = sh_arg(a, i, name, &sp);
    int k = !v || (v->kind == V_CONF && v->c.kind == VAL_NONE) ? 0 : sh_as_int(v, &d);
    if (k < 0) return sh_err(s, sp, "%s: '%s' must be an integer, got %s", fn, name, sh_ty(v)), -1;
    if (k == 0) return *out = def, def == -2 ? -2 : 0;
    if (rank < 0) return -3;
    if ((*out = wrap(d, rank)) >= 0) return 0;
    sh_err(s, sp, "%s: dimension %lld is out of range for a tensor of rank %d", fn, (long long)d, rank);
    return -1;
}


/* ----------------------------------------------------------- broadcast */

SV sh_broadcast(Sh *s, Span sp, const SV *a, const SV *b, const char *what)
{
    if (a->kind != V_TENSOR) return *b;
    if (b->kind != V_TENSOR) return *a;
    SV r = mk_tensor(is_float_dtype(a->dtype) ? a->dtype : b->dtype, -1);
    if (a->rank < 0 || b->rank < 0) return r;
    r.rank = a->rank > b->rank ? a->rank : b->rank;
    for (int i = 0; i < r.rank; i++) {
        int ia = a->rank - r.rank + i, ib = b->rank - r.rank + i;
        Dim x = ia >= 0 ? a->d[ia] : exact(1), y = ib >= 0 ? b->d[ib] : exact(1);
        if (known(x) && x.n == 1) r.d[i] = y;
        else if (known(y) && y.n == 1) r.d[i] = x;
        else if (differ(x, y))
            return sh_fail(s, sp, "%s: shapes %s and %s do not broadcast (dimension %d: %lld vs %lld)", what, sh_ty(a), sh_ty(b),
                        i, (long long)x.n, (long long)y.n);
        else r.d[i] = known(x) || x.sym ? x : y;
    }
    return r;
}

SV sh_matmul(Sh *s, Span sp, const SV *a, const SV *b)
{
    if (a->kind != V_TENSOR || b->kind != V_TENSOR)
        return a->kind == V_ERR || b->kind == V_ERR ? mk(V_ERR)
             : a->kind == V_ANY || b->kind == V_ANY ? mk(V_ANY)
             : sh_fail(s, sp, "matmul takes two tensors");
    if (a->rank < 0 || b->rank < 0) return mk_tensor(a->dtype, -1);
    if (a->rank == 0 || b->rank == 0) return sh_fail(s, sp, "matmul of a 0-d tensor");
    Dim ka = a->d[a->rank - 1], kb = b->rank == 1 ? b->d[0] : b->d[b->rank - 2];
    if (differ(ka, kb))
        return sh_fail(s, sp, "matmul: the inner dimensions differ: %s @ %s (%lld vs %lld)",
                    sh_ty(a), sh_ty(b), (long long)ka.n, (long long)kb.n);
    SV ba = mk_tensor(a->dtype, a->rank > 2 ? a->rank - 2 : 0), bb = mk_tensor(b->dtype, b->rank > 2 ? b->rank - 2 : 0);
    memcpy(ba.d, a->d, sizeof(Dim) * (size_t)ba.rank);
    memcpy(bb.d, b->d, sizeof(Dim) * (size_t)bb.rank);
    SV r = sh_broadcast(s, sp, &ba, &bb, "matmul (batch dimensions)");
    if (r.kind != V_TENSOR) return r;
    if (a->rank >= 2) r.d[r.rank++] = a->d[a->rank - 2];
    if (b->rank >= 2) r.d[r.rank++] = b->d[b->rank - 1];
    r.dtype = a->dtype;
    return r;
}

static SV f_reshape(Sh *s, const Args *a, const char *fn, const SV *x)
{
    Dim t[MAXR];
    int n = sh_int_list(a, 1, "shape", t, MAXR);
    if (n < 0) return sh_fail(s, a->span, "%s takes integer sizes", fn);
    int neg = -1;
    for (int i = 0; i < n; i++)
        if (!t[i].sym && t[i].n == -1) {
            if (neg >= 0) return sh_fail(s, a->span, "%s: only one dimension can be -1", fn);
            neg = i;
        } else if (!t[i].sym && t[i].n < -1 && t[i].n != UNKN) {
            return sh_fail(s, a->span, "%s: invalid size %lld", fn, (long long)t[i].n);
        }
    SV r = mk_tensor(x->dtype, n);
    memcpy(r.d, t, sizeof(Dim) * (size_t)n);
    if (neg >= 0) r.d[neg] = UNK;
    if (x->rank < 0) return r;
    /* numel as exact product times a multiset of symbols (unknowns: give up) */
    const char *sa[MAXR], *sb[MAXR];
    int na = 0, nb = 0, unk = 0;
    int64_t pa = 1, pb = 1;
    for (int i = 0; i < x->rank; i++) {
        if (known(x->d[i])) unk |= __builtin_mul_overflow(pa, x->d[i].n, &pa);
        else if (x->d[i].sym) sa[na++] = x->d[i].sym;
        else unk = 1;
    }
    for (int i = 0; i < n; i++) {
        if (i == neg) continue;
        if (known(t[i])) unk |= __builtin_mul_overflow(pb, t[i].n, &pb);
        else if (t[i].sym) sb[nb++] = t[i].sym;
        else unk = 1;
    }
    if (unk) return r;
    for (int i = 0; i < nb; i++) {   /* cancel the symbols the target names */
        int k;
        for (k = 0; k < na && (!sa[k] || strcmp(sa[k], sb[i]) != 0); k++)
            ;
        if (k == na)
            return r;   /* a symbol not in the input: cannot tell */
        sa[k] = NULL;
    }
    const char *left = NULL;
    int nleft = 0;
    for (int k = 0; k < na; k++)
        if (sa[k]) left = sa[k], nleft++;
    if (neg >= 0) {
        if (nleft == 0) {
            if (pb == 0 || pa % pb != 0)
                return sh_fail(s, a->span, "%s: cannot reshape %s (%lld elements) into %d dimensions with -1: %lld is "
                            "not a multiple of %lld", fn, sh_ty(x), (long long)pa, n,
                            (long long)pa, (long long)pb);
            r.d[neg] = exact(pa / pb);
        } else if (nleft == 1 && pa == pb) {
            r.d[neg] = (Dim){-1, left};
        }
    } else if (nleft == 0 && pa != pb) {
        return sh_fail(s, a->span, "%s: cannot reshape %s into %s: %lld elements vs %lld", fn, sh_ty(x),
                    sh_ty(&r), (long long)pa, (long long)pb);
    }
    return r;
}

static SV f_cat(Sh *s, const Args *a, const char *fn, int stack)
{
    Span sp = a->span;
    const SV *l = sh_arg(a, 0, "tensors", &sp);
    if (!l) return sh_fail(s, a->span, "%s: missing the list of tensors", fn);
    if (l->kind == V_ERR || l->kind == V_ANY) return *l;
    if (l->kind != V_TUPLE || l->n == 0) return sh_fail(s, sp, "%s takes a non-empty list of tensors", fn);
    for (size_t i = 0; i < l->n; i++) {
        if (l->items[i].kind == V_ERR || l->items[i].kind == V_ANY) return l->items[i];
        if (l->items[i].kind != V_TENSOR) return sh_fail(s, sp, "%s: item %zu is not a tensor", fn, i);
        if (l->items[i].rank < 0) return mk_tensor(l->items[0].dtype, -1);
    }
    const SV *f = &l->items[0];
    int d;
    if (f->rank >= MAXR) return sh_fail(s, a->span, "%s: more than %d dimensions", fn, MAXR);
    int rk = f->rank + (stack ? 1 : 0);
    int k = sh_dim_arg(s, a, 1, "dim", fn, rk, 0, &d);
    if (k == -1) return mk(V_ERR);
    SV r = *f;
    Dim sum = exact(0);
    for (size_t i = 0; i < l->n; i++) {
        const SV *t = &l->items[i];
        if (t->rank != f->rank)
            return sh_fail(s, a->span, "%s: tensors of rank %d and %d (%s, %s)", fn, f->rank, t->rank, sh_ty(f), sh_ty(t));
        for (int m = 0; m < f->rank; m++)
            if ((stack || m != d) && differ(t->d[m], f->d[m]))
                return sh_fail(s, a->span, "%s along dimension %d: %s and %s differ in dimension %d", fn, d,
                            sh_ty(f), sh_ty(t), m);
        if (!stack) sum = known(sum) && known(t->d[d]) ? exact(sum.n + t->d[d].n) : (l->n == 1 ? t->d[d] : UNK);
    }
    if (stack) {
        for (int m = r.rank; m > d; m--) r.d[m] = r.d[m - 1];
        r.d[d] = exact((int64_t)l->n);
        r.rank++;
    } else {
        r.d[d] = sum;
    }
    return r;
}

static SV f_reduce(Sh *s, const Args *a, const char *fn, const SV *x, int with_idx)
{
    Dim dl[MAXR];
    int n = sh_int_list(a, 1, "dim", dl, MAXR);
    if (n < 0) return sh_fail(s, a->span, "%s: 'dim' must be an integer or a tuple of integers", fn);
    int64_t kd = 0;
    Span sp;
    const SV *kv = sh_arg(a, 2, "keepdim", &sp);
    if (kv && kv->kind == V_CONF) kd = val_truthy(&kv->c);
    if (n == 0) return mk_tensor(x->dtype, 0);
    if (x->rank < 0) return mk_tensor(x->dtype, -1);
    int drop[MAXR] = {0};
    for (int i = 0; i < n; i++) {
        if (!isnum(dl[i])) return mk_tensor(x->dtype, -1);
        int w = wrap(dl[i].n, x->rank);
        if (w < 0)
            return sh_fail(s, a->span, "%s: dimension %lld is out of range for a tensor of rank %d", fn,
                        (long long)dl[i].n, x->rank);
        drop[w] = 1;
    }
    SV r = mk_tensor(x->dtype, 0);
    for (int i = 0; i < x->rank; i++)
        if (!drop[i]) r.d[r.rank++] = x->d[i];
        else if (kd) r.d[r.rank++] = exact(1);
    if (!with_idx) return r;
    SV idx = r;
    idx.dtype = "i64";
    return sh_pair(s, &r, &idx);
}

static SV f_sdpa(Sh *s, const Args *a, const char *fn)
{
    SV q, k, v;
    if (!sh_get_t(s, a, 0, "query", fn, &q) + !sh_get_t(s, a, 1, "key", fn, &k) + !sh_get_t(s, a, 2, "value", fn, &v))
        return q.kind == V_ERR || k.kind == V_ERR || v.kind == V_ERR ? mk(V_ERR) : mk(V_ANY);
    if (q.rank < 0 || k.rank < 0 || v.rank < 0) return mk_tensor(q.dtype, -1);
    if (q.rank < 2 || k.rank < 2 || v.rank < 2)
        return sh_fail(s, a->span, "%s: query, key and value need at least 2 dimensions", fn);
    if (differ(q.d[q.rank - 1], k.d[k.rank - 1]))
        return sh_fail(s, a->span, "%s: query %s and key %s differ in the last dimension", fn, sh_ty(&q), sh_ty(&k));
    if (differ(k.d[k.rank - 2], v.d[v.rank - 2]))
        return sh_fail(s, a->span, "%s: key %s and value %s differ in the sequence dimension", fn, sh_ty(&k), sh_ty(&v));
    SV r = q;
    r.d[r.rank - 1] = v.d[v.rank - 1];
    if (q.rank >= 3 && k.rank == q.rank) {   /* grouped-query: key heads divide query heads */
        Dim hq = q.d[q.rank - 3], hk = k.d[k.rank - 3];
        if (known(hq) && known(hk) && hk.n && hq.n % hk.n != 0)
            return sh_fail(s, a->span, "%s: %lld query heads are not a multiple of %lld key heads", fn, (long long)hq.n,
                        (long long)hk.n);
    }
    return r;
}

static const char *const SAME[] = {
    "relu", "relu6", "gelu", "silu", "sigmoid", "tanh", "hardswish", "hardsigmoid", "dropout", "contiguous",
    "clone", "roll", "exp", "log", "sqrt", "rsqrt", "abs", "neg", "erf", "sin", "cos", "elu", "leaky_relu",
    "mish", "softplus", "detach", "tril", "triu", "float", "zeros_like", "ones_like", "stochastic_depth",
    "softmax", "log_softmax", "layer_scale", "identity", "cumsum", "masked_fill", "clamp", "pow", NULL};
static const char *const OTHER[] = {
    "flatten", "reshape", "view", "permute", "transpose", "cat", "concat", "stack", "split", "chunk", "mean",
    "sum", "amax", "amin", "max", "min", "prod", "argmax", "matmul", "mm", "bmm", "unsqueeze", "squeeze", "pad",
    "scaled_dot_product_attention", "sdpa", "expand", "size", "long", NULL};

static int in_list(const char *const *l, const char *n)
{
    for (; *l; l++)
        if (!strcmp(*l, n)) return 1;
    return 0;
}

int sh_is_function(const char *n) { return in_list(SAME, n) || in_list(OTHER, n); }

SV sh_fn_call(Sh *s, const char *fn, const Args *a)
{
    SV x;
    int d;
    if (!strcmp(fn, "cat") || !strcmp(fn, "concat") || !strcmp(fn, "stack")) return f_cat(s, a, fn, fn[0] == 's');
    if (!strcmp(fn, "scaled_dot_product_attention") || !strcmp(fn, "sdpa")) return f_sdpa(s, a, fn);
    if (!strcmp(fn, "matmul") || !strcmp(fn, "mm") || !strcmp(fn, "bmm")) {
        const SV *p = sh_arg(a, 0, "input", NULL), *q = sh_arg(a, 1, "other", NULL);
        return !p || !q ? sh_fail(s, a->span, "%s takes 2 arguments", fn) : sh_matmul(s, a->span, p, q);
    }
    if (!sh_get_t(s, a, 0, "input", fn, &x)) return x;
    if (in_list(SAME, fn)) {
        if ((!strcmp(fn, "softmax") || !strcmp(fn, "log_softmax")) && sh_dim_arg(s, a, 1, "dim", fn, x.rank, -1, &d) == -1)
            return mk(V_ERR);
        if (!strcmp(fn, "float")) x.dtype = "f32";
        return x;
    }
    if (!strcmp(fn, "long")) return x.dtype = "i64", x;
    if (!strcmp(fn, "reshape") || !strcmp(fn, "view")) return f_reshape(s, a, fn, &x);
    if (!strcmp(fn, "expand")) {   /* sizes aligned right; -1 keeps a dimension */
        Dim t[MAXR];
        int n = sh_int_list(a, 1, "size", t, MAXR);
        if (n < 0 || (x.rank >= 0 && n < x.rank))
            return sh_fail(s, a->span, "expand takes at least as many integer sizes as the tensor has dimensions");
        SV r = mk_tensor(x.dtype, n);
        for (int i = 0; i < n; i++) {
            int j = x.rank < 0 ? -1 : i - (n - x.rank);
            Dim have = j >= 0 ? x.d[j] : UNK;
            r.d[i] = !t[i].sym && t[i].n == -1 ? have : t[i];
            if (j >= 0 && !(known(have) && have.n == 1) && differ(have, r.d[i]))
                return sh_fail(s, a->span, "expand: dimension %d of size %lld cannot become %lld", j, (long long)have.n,
                            (long long)r.d[i].n);
        }
        return x.rank < 0 ? mk_tensor(x.dtype, -1) : r;
    }
    if (!strcmp(fn, "mean") || !strcmp(fn, "sum") || !strcmp(fn, "amax") || !strcmp(fn, "amin") ||
        !strcmp(fn, "prod") || !strcmp(fn, "argmax")) {
        SV r = f_reduce(s, a, fn, &x, 0);
        if (r.kind == V_TENSOR && fn[1] == 'r') r.dtype = "i64";
        return r;
    }
    if (!strcmp(fn, "max") || !strcmp(fn, "min")) return f_reduce(s, a, fn, &x, sh_arg(a, 1, "dim", NULL) != NULL);
    if (x.rank < 0) return !strcmp(fn, "size") || !strcmp(fn, "split") || !strcmp(fn, "chunk") ? mk(V_ANY) : x;
    if (!strcmp(fn, "size")) {
        int k = sh_dim_arg(s, a, 1, "dim", fn, x.rank, -2, &d);
        return k == -1 ? mk(V_ERR) : k == -2 ? sh_shape_of(s, &x) : dim_sv(x.d[d]);
    }
    if (!strcmp(fn, "flatten")) {
        int lo, hi;
        if (sh_dim_arg(s, a, 1, "start_dim", fn, x.rank ? x.rank : 1, 0, &lo) == -1 ||
            sh_dim_arg(s, a, 2, "end_dim", fn, x.rank ? x.rank : 1, x.rank ? x.rank - 1 : 0, &hi) == -1)
            return mk(V_ERR);
        if (x.rank == 0) return (x.rank = 1, x.d[0] = exact(1), x);
        if (lo > hi) return sh_fail(s, a->span, "flatten: start_dim comes after end_dim");
        Dim p = exact(1);
        for (int i = lo; i <= hi; i++)
            p = lo == hi ? x.d[i]
              : known(p) && known(x.d[i]) && !__builtin_mul_overflow(p.n, x.d[i].n, &p.n) ? p : UNK;
        SV r = mk_tensor(x.dtype, 0);
        for (int i = 0; i < x.rank; i++)
            if (i < lo || i > hi) r.d[r.rank++] = x.d[i];
            else if (i == lo) r.d[r.rank++] = p;
        return r;
    }
    if (!strcmp(fn, "permute")) {
        Dim p[MAXR];
        int n = sh_int_list(a, 1, "dims", p, MAXR), seen[MAXR] = {0};
        if (n < 0) return sh_fail(s, a->span, "permute takes integer dims");
        if (n != x.rank) return sh_fail(s, a->span, "permute: %d dims given for a tensor of rank %d", n, x.rank);
        SV r = x;
        for (int i = 0; i < n; i++) {
            int w = isnum(p[i]) ? wrap(p[i].n, x.rank) : -1;
            if (w < 0 || seen[w]++)
                return sh_fail(s, a->span, "permute: the dims are not a permutation of 0..%d", x.rank - 1);
            r.d[i] = x.d[w];
        }
        return r;
    }
    if (!strcmp(fn, "transpose")) {
        int p, q;
        if (sh_dim_arg(s, a, 1, "dim0", fn, x.rank, -2, &p) != 0 || sh_dim_arg(s, a, 2, "dim1", fn, x.rank, -2, &q) != 0)
            return sh_arg(a, 2, "dim1", NULL) ? mk(V_ERR) : sh_fail(s, a->span, "transpose takes two dims");
        Dim t = x.d[p];
        x.d[p] = x.d[q];
        x.d[q] = t;
        return x;
    }
    if (!strcmp(fn, "unsqueeze")) {
        if (sh_dim_arg(s, a, 1, "dim", fn, x.rank + 1, -2, &d) != 0 || x.rank >= MAXR)
            return sh_fail(s, a->span, "unsqueeze takes a dim");
        for (int m = x.rank; m > d; m--) x.d[m] = x.d[m - 1];
        x.d[d] = exact(1);
        x.rank++;
        return x;
    }
    if (!strcmp(fn, "squeeze")) {
        int k = sh_dim_arg(s, a, 1, "dim", fn, x.rank, -2, &d);
        if (k == -1) return mk(V_ERR);
        SV r = mk_tensor(x.dtype, 0);
        for (int i = 0; i < x.rank; i++)
            if (!((k == -2 || i == d) && known(x.d[i]) && x.d[i].n == 1)) r.d[r.rank++] = x.d[i];
        return r;
    }
    if (!strcmp(fn, "split") || !strcmp(fn, "chunk")) {
        int64_t n;
        Span sp = a->span;
        const SV *sv = sh_arg(a, 1, fn[0] == 's' ? "split_size_or_sections" : "chunks", &sp);
        if (sh_dim_arg(s, a, 2, "dim", fn, x.rank, 0, &d) == -1 || !sv)
            return sv ? mk(V_ERR) : sh_fail(s, a->span, "%s takes a size", fn);
        if (sv->kind == V_TUPLE) {   /* sections (their sum is not checked) */
            SV t = sh_tuple_of(s, sv->n);
            for (size_t i = 0; i < t.n; i++) t.items[i] = x, t.items[i].d[d] = sh_as_dim(&sv->items[i]);
            return t;
        }
        if (sh_as_int(sv, &n) != 1 || n <= 0 || !known(x.d[d])) return mk(V_ANY);
        int64_t size = fn[0] == 's' ? n : (x.d[d].n + n - 1) / n;
        int64_t cnt = size ? (x.d[d].n + size - 1) / size : 0;
        if (cnt > 1024) return mk(V_ANY);
        SV t = sh_tuple_of(s, (size_t)cnt);
        for (size_t i = 0; i < t.n; i++) {
            t.items[i] = x;
            int64_t left = x.d[d].n - (int64_t)i * size;
            t.items[i].d[d] = exact(left < size ? left : size);
        }
        return t;
    }
    if (!strcmp(fn, "pad")) {
        Dim p[MAXR];
        int n = sh_int_list(a, 1, "pad", p, MAXR);
        if (n < 0 || n % 2 || n / 2 > x.rank)
            return sh_fail(s, a->span, "pad takes an even number of sizes, at most twice the rank");
        for (int i = 0; i < n / 2; i++) {
            Dim *t = &x.d[x.rank - 1 - i];
            *t = known(*t) && isnum(p[2 * i]) && isnum(p[2 * i + 1]) ? exact(t->n + p[2 * i].n + p[2 * i + 1].n)
               : isnum(p[2 * i]) && isnum(p[2 * i + 1]) && p[2 * i].n + p[2 * i + 1].n == 0 ? *t : UNK;
        }
        return x;
    }
    return sh_fail(s, a->span, "unknown function '%s'", fn);
}

