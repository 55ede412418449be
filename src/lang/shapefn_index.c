/* shapefn_index.c — rules of creation, selection and einsum.
 *
 * Tensors made from sizes (arange, zeros, ones, full and their _like and
 * new_ forms) take their shape from the arguments, which may be sizes of
 * the inputs (x.shape[0], x.size(1)) and so symbolic: zeros(x.shape[0],
 * 5) is f32[N, 5], arange(T) is i64[T].  Selections (where, gather,
 * index_select) check what torch checks of conditions and indices: their
 * dtype (a bool condition, int64 indices) and their shapes.  einsum parses
 * its equation (subscripts a-z and A-Z, one ellipsis per operand, an
 * explicit or implicit output) and gives each subscript one size,
 * broadcasting size-1 dimensions as torch does.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "shapefn.h"

/* -------------------------------------------------------------- creation */

/* A number or size argument: its exact value (1 in *x), a size (0, in
 * *d), or -1 reported.  *isf is set when it is a float. */
static int num_or_dim(Call *c, const char *name, double *x, Dim *d, int *isf)
{
    const SV *v = fn_v(c, name);
    *d = UNK;
    if (v->kind == V_CONF && v->c.kind == VAL_FLOAT) *isf = 1;
    if (v->kind == V_TENSOR && v->rank == 0) {   /* a 0-d tensor as a number */
        if (fn_is_float(v->dtype)) *isf = 1;
        return 0;
    }
    if (v->kind == V_DIM) return *d = v->dim, 0;
    int k = fn_num(c, name, x);
    if (k == 1) *d = *x == floor(*x) && *x >= 0 && *x < 9e18 ? exact((int64_t)*x) : UNK;
    return k;
}

SV r_arange(Call *c)
{
    int bad = 0, isf = 0;
    const char *dt = fn_dtype(c, "dtype", &bad);
    if (bad) return mk(V_ERR);
    const char *s = "start", *e = "end";
    if (fn_none(c, "end")) s = NULL, e = "start";   /* arange(end) */
    double x0 = 0, x1 = 0, st = 1;
    Dim d0 = exact(0), d1 = UNK, dd;
    int k0 = s ? num_or_dim(c, s, &x0, &d0, &isf) : 1, k1 = num_or_dim(c, e, &x1, &d1, &isf),
        k2 = num_or_dim(c, "step", &st, &dd, &isf);
    if (k0 < 0 || k1 < 0 || k2 < 0) return mk(V_ERR);
    SV r = mk_tensor(dt ? dt : isf ? "f32" : "i64", 1);
    if (dt && !strcmp(dt, "bool")) return fn_fail(c, "dtype", "arange does not produce bool tensors");
    if (k2 == 1 && st == 0) return fn_fail(c, "step", "step must be nonzero");
    if (k0 == 1 && k1 == 1 && k2 == 1) {
        double n = ceil((x1 - x0) / st);
        if (n < 0)
            return fn_fail(c, "step", "the bounds %g and %g are inconsistent with the step's sign (%g)", x0, x1, st);
        if (!(n <= 9e15)) return fn_fail(c, "step", "arange(%g, %g, %g) has too many elements", x0, x1, st);
        r.d[0] = exact((int64_t)n);
    } else if (k0 == 1 && x0 == 0 && k2 == 1 && st == 1 && k1 == 0) {
        r.d[0] = d1;   /* arange(T) */
    }
    return r;
}

/* zeros, ones (FILL_ZEROS), full, zeros_like, ones_like, full_like,
 * new_zeros, new_ones. */
SV r_fill(Call *c)
{
    int bad = 0, v = c->arg;
    const char *dt = fn_dtype(c, "dtype", &bad);
    if (bad) return mk(V_ERR);
    SV x = mk(V_ANY);
    if (v == FILL_LIKE || v == FILL_FULL_LIKE || v == FILL_NEW) {
        if (!fn_t(c, "input", &x)) return x;
    }
    if (v == FILL_FULL || v == FILL_FULL_LIKE) {
        const SV *f = fn_v(c, "fill_value");
        if (f->kind == V_TENSOR && f->rank != 0)
            return fn_fail(c, "fill_value", "the fill value must be a number, got %s", sh_ty(f));
        if (f->kind == V_CONF && (f->c.kind == VAL_STR || f->c.kind == VAL_NONE || f->c.kind == VAL_INTS))
            return fn_fail(c, "fill_value", "the fill value must be a number, got %s", sh_ty(f));
        if (!dt && v == FILL_FULL)
            dt = f->kind == V_TENSOR ? f->dtype : f->kind == V_CONF && f->c.kind == VAL_FLOAT ? "f32"
               : f->kind == V_CONF && f->c.kind == VAL_BOOL ? "bool" : "i64";
    }
    if (v == FILL_LIKE || v == FILL_FULL_LIKE) {
        x.dtype = dt ? dt : x.dtype;
        return x;
    }
    if (v == FILL_FULL && !(fn_v(c, "size")->kind == V_TUPLE || fn_v(c, "size")->kind == V_ANY ||
                            (fn_v(c, "size")->kind == V_CONF && fn_v(c, "size")->c.kind == VAL_INTS)))
        return fn_fail(c, "size", "the size must be a tuple of sizes, got %s", sh_ty(fn_v(c, "size")));
    Dim t[MAXR];
    int n = fn_sizes(c, "size", t, MAXR);
    if (n < 0) return mk(V_ERR);
    if (fn_v(c, "size")->kind == V_ANY) return mk_tensor(dt ? dt : v == FILL_NEW ? x.dtype : "f32", -1);
    for (int i = 0; i < n; i++)
        if (isnum(t[i]) && t[i].n < 0)
            return fn_fail(c, "size", "cannot create a tensor with a negative size (%lld)", (long long)t[i].n);
    SV r = mk_tensor(dt ? dt : v == FILL_NEW ? x.dtype : v == FILL_FULL ? dt : "f32", n);
    memcpy(r.d, t, sizeof(Dim) * (size_t)n);
    return r;
}

/* ------------------------------------------------------------- selection */

/* where(condition, input, other); x.where(condition, other) (arg 1). */
SV r_where(Call *c)
{
    SV cond;
    if (!fn_t(c, "condition", &cond)) return cond;
    if (cond.dtype && strcmp(cond.dtype, "bool") != 0 && strcmp(cond.dtype, "u8") != 0)
        return fn_fail(c, "condition", "the condition must be a bool tensor, got %s", fn_dtype_words(cond.dtype));
    const SV *a = fn_v(c, "input"), *b = fn_v(c, "other");
    const char *names[2] = {"input", "other"};
    const SV *ops[2] = {a, b};
    for (int i = 0; i < 2; i++) {
        if (ops[i]->kind == V_ERR || ops[i]->kind == V_ANY) return *ops[i];
        if (ops[i]->kind != V_TENSOR && !(ops[i]->kind == V_DIM ||
                                          (ops[i]->kind == V_CONF && (ops[i]->c.kind == VAL_INT ||
                                                                      ops[i]->c.kind == VAL_FLOAT ||
                                                                      ops[i]->c.kind == VAL_BOOL))))
            return fn_fail(c, names[i], "'%s' must be a tensor or a number, got %s", names[i], sh_ty(ops[i]));
    }
    const char *dt = fn_promote(a, b);
    SV r = sh_broadcast(c->s, c->span, &cond, a, "where()");
    if (r.kind != V_TENSOR) return r;
    r = sh_broadcast(c->s, c->span, &r, b, "where()");
    if (r.kind != V_TENSOR) return r;
    r.dtype = dt;
    return r;
}

SV r_gather(Call *c)
{
    SV x, idx;
    if (!fn_t(c, "input", &x)) return x;
    if (!fn_t(c, "index", &idx)) return idx;
    int d = 0;
    int k = fn_dim(c, "dim", x.rank, &d);
    if (k < 0) return mk(V_ERR);
    if (idx.dtype && strcmp(idx.dtype, "i64") != 0)
        return fn_fail(c, "index", "the index must be an int64 tensor, got %s", fn_dtype_words(idx.dtype));
    if (x.rank >= 0 && idx.rank >= 0) {
        if (idx.rank != x.rank && !(x.rank == 0 && idx.rank <= 1) && !(idx.rank == 0 && x.rank <= 1))
            return fn_fail(c, "index", "the index must have as many dimensions as the input: %s and %s", sh_ty(&idx),
                           sh_ty(&x));
        for (int m = 0; k && m < x.rank && m < idx.rank; m++)
            if (m != d && known(idx.d[m]) && known(x.d[m]) && idx.d[m].n > x.d[m].n)
                return fn_fail(c, "index", "the index %s is larger than the input %s in dimension %d", sh_ty(&idx),
                               sh_ty(&x), m);
    }
    idx.dtype = x.dtype;
    return idx;
}

SV r_index_select(Call *c)
{
    SV x, idx;
    if (!fn_t(c, "input", &x)) return x;
    if (!fn_t(c, "index", &idx)) return idx;
    int d = 0;
    int k = fn_dim(c, "dim", x.rank, &d);
    if (k < 0) return mk(V_ERR);
    if (idx.dtype && strcmp(idx.dtype, "i64") != 0 && strcmp(idx.dtype, "i32") != 0)
        return fn_fail(c, "index", "the index must be an int64 or int32 tensor, got %s", fn_dtype_words(idx.dtype));
    if (idx.rank > 1) return fn_fail(c, "index", "the index must be a vector (0-d or 1-d), got %s", sh_ty(&idx));
    if (x.rank < 0) return x;
    if (!k) return mk_tensor(x.dtype, x.rank);
    if (x.rank == 0) return x;
    x.d[d] = idx.rank == 1 ? idx.d[0] : idx.rank == 0 ? exact(1) : UNK;
    return x;
}

/* ----------------------------------------------------------------- einsum */

enum { NLABEL = 52 };

static int label_ix(char ch) { return ch >= 'A' && ch <= 'Z' ? ch - 'A' : ch >= 'a' && ch <= 'z' ? 26 + ch - 'a' : -1; }
static char label_ch(int i) { return (char)(i < 26 ? 'A' + i : 'a' + i - 26); }

/* One term of the equation: labels in order, -1 for the ellipsis. */
typedef struct Term { int lab[MAXR + 1]; int n; int ell; } Term;

/* Parses one term (up to ',' or '-' or the end) from *p; 0, or -1 reported. */
static int parse_term(Call *c, const char *eq, const char **p, Term *t, int output)
{
    t->n = 0;
    t->ell = 0;
    while (**p && **p != ',' && **p != '-') {
        if (**p == ' ') {
            (*p)++;
            continue;
        }
        if (**p == '.') {
            if (strncmp(*p, "...", 3) != 0 || t->ell) {
                fn_fail(c, "equation", "%s at index %d of '%s'", t->ell ? "more than one ellipsis in a term"
                        : "an ellipsis must be written '...'", (int)(*p - eq), eq);
                return -1;
            }
            t->ell = 1;
            *p += 3;
            if (t->n > MAXR) return fn_fail(c, "equation", "a term of '%s' has too many subscripts", eq), -1;
            t->lab[t->n++] = -1;
            continue;
        }
        int l = label_ix(**p);
        if (l < 0) {
            fn_fail(c, "equation", "invalid subscript '%c' at index %d of '%s': subscripts are letters a-z and A-Z",
                    **p, (int)(*p - eq), eq);
            return -1;
        }
        if (t->n > MAXR) return fn_fail(c, "equation", "a term of '%s' has too many subscripts", eq), -1;
        if (output)
            for (int i = 0; i < t->n; i++)
                if (t->lab[i] == l)
                    return fn_fail(c, "equation", "output subscript %c appears more than once in '%s'", **p, eq), -1;
        t->lab[t->n++] = l;
        (*p)++;
    }
    return 0;
}

SV r_einsum(Call *c)
{
    const SV *eqv = fn_v(c, "equation"), *ops = fn_v(c, "operands");
    if (eqv->kind == V_ANY || ops->kind == V_ANY) return mk(V_ANY);
    if (!(eqv->kind == V_CONF && eqv->c.kind == VAL_STR))
        return fn_fail(c, "equation", "the equation must be a string such as \"bhqd,bhkd->bhqk\", got %s", sh_ty(eqv));
    const char *eq = eqv->c.s, *p = eq;
    size_t nops = ops->kind == V_TUPLE ? ops->n : 0;
    if (nops == 0) return fn_fail(c, NULL, "einsum takes at least one operand");
    if (nops > 16) return fn_fail(c, "operands", "more than 16 operands");
    Term in[16], out;
    size_t nt = 0;
    for (;;) {
        if (nt == 16) return fn_fail(c, "equation", "more than 16 terms in '%s'", eq);
        if (parse_term(c, eq, &p, &in[nt++], 0) < 0) return mk(V_ERR);
        if (*p != ',') break;
        p++;
    }
    int explicit_out = 0;
    if (*p == '-') {
        if (p[1] != '>') return fn_fail(c, "equation", "expected '->' at index %d of '%s'", (int)(p - eq), eq);
        p += 2;
        explicit_out = 1;
        if (parse_term(c, eq, &p, &out, 1) < 0) return mk(V_ERR);
        if (*p) return fn_fail(c, "equation", "unexpected '%c' at index %d of '%s'", *p, (int)(p - eq), eq);
    }
    if (nt != nops)
        return fn_fail(c, nt > nops ? "equation" : "operands", "%s operands were provided (%zu) than the equation "
                       "'%s' specifies (%zu)", nt > nops ? "fewer" : "more", nops, eq, nt);
    Dim size[NLABEL];
    int seen[NLABEL] = {0}, count[NLABEL] = {0}, any_ell = 0;
    SV ell = mk_tensor(NULL, 0);   /* the ellipsis dims, broadcast over operands */
    const char *dt = NULL;
    for (size_t i = 0; i < nops; i++) {
        const SV *t = &ops->items[i];
        if (t->kind == V_ERR || t->kind == V_ANY) return *t;
        if (t->kind != V_TENSOR) return fn_fail(c, "operands", "operand %zu is not a tensor but %s", i, sh_ty(t));
        if (i && t->dtype && dt && strcmp(t->dtype, dt) != 0)
            return fn_fail(c, "operands", "the operands must have one dtype: operand 0 is %s, operand %zu %s",
                           fn_dtype_words(dt), i, fn_dtype_words(t->dtype));
        if (!i) dt = t->dtype;
        if (t->rank < 0) return mk_tensor(dt, -1);
        int nl = in[i].n - in[i].ell;
        if (in[i].ell ? t->rank < nl : t->rank != nl)
            return fn_fail(c, "operands", "operand %zu is %s, but its term in '%s' has %d subscript%s%s", i, sh_ty(t),
                           eq, nl, nl == 1 ? "" : "s", in[i].ell ? " and '...'" : "");
        int ne = t->rank - nl, dim = 0;
        Dim local[NLABEL];
        int here[NLABEL] = {0};
        for (int k = 0; k < in[i].n; k++) {
            int l = in[i].lab[k];
            if (l < 0) {   /* the ellipsis: dims dim .. dim+ne-1 */
                SV e = mk_tensor(NULL, ne);
                for (int m = 0; m < ne; m++) e.d[m] = t->d[dim + m];
                any_ell = 1;
                SV b = sh_broadcast(c->s, c->span, &ell, &e, "einsum(): the dimensions of '...'");
                if (b.kind != V_TENSOR) return b;
                ell = b;
                dim += ne;
                continue;
            }
            Dim d = t->d[dim++];
            if (here[l]) {   /* a repeated subscript: a diagonal, sizes must agree */
                if (differ(local[l], d))
                    return fn_fail(c, "operands", "subscript %c is repeated for operand %zu but the sizes differ "
                                   "(%lld vs %lld)", label_ch(l), i, (long long)local[l].n, (long long)d.n);
                continue;
            }
            here[l] = 1;
            local[l] = d;
            count[l]++;
            if (!seen[l]) {
                seen[l] = 1;
                size[l] = d;
            } else if (known(size[l]) && size[l].n == 1) {
                size[l] = d;
            } else if (!(known(d) && d.n == 1) && differ(size[l], d)) {
                return fn_fail(c, "operands", "subscript %c has size %lld for operand %zu, which does not "
                               "broadcast with the size %lld seen before", label_ch(l), (long long)d.n, i,
                               (long long)size[l].n);
            } else if (!known(size[l]) && !size[l].sym) {
                size[l] = d;
            }
        }
    }
    if (!explicit_out) {   /* implicit: '...', then subscripts seen once, in order */
        out.n = 0;
        out.ell = any_ell;
        if (any_ell) out.lab[out.n++] = -1;
        for (int l = 0; l < NLABEL && out.n <= MAXR; l++)
            if (count[l] == 1) out.lab[out.n++] = l;
    }
    SV r = mk_tensor(dt, 0);
    for (int k = 0; k < out.n; k++) {
        int l = out.lab[k];
        if (l < 0) {
            if (!any_ell) return fn_fail(c, "equation", "the output of '%s' has '...' but no operand does", eq);
            for (int m = 0; m < ell.rank && r.rank < MAXR; m++) r.d[r.rank++] = ell.d[m];
            continue;
        }
        if (!seen[l])
            return fn_fail(c, "equation", "output subscript %c of '%s' appears in no operand", label_ch(l), eq);
        if (r.rank >= MAXR) return fn_fail(c, "equation", "more than %d output dimensions", MAXR);
        r.d[r.rank++] = size[l];
    }
    return r;   /* an ellipsis not in an explicit output is summed away */
}
