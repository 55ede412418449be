/* layerargs.c — what the layer definitions of catalog.c share.
 *
 * Each built-in layer is two small functions (expand, suggest) over the
 * same few steps: check the kind of every bound argument, read sizes,
 * tuples and choices with one clear message when they are wrong, append
 * tensors to the caller's buffer, and, going the other way, assemble the
 * constructor call a weight file's shapes imply (only the arguments that
 * differ from their defaults, written the way the spec would).  Those
 * steps live here so that catalog.c reads as a table of layers.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arch.h"

/* ------------------------------------------------------------ messages */


int la_bad(LayerCtx *c, const char *fmt, ...)
{
    va_list ap;

    if (c->err && c->errlen) {
        va_start(ap, fmt);
        vsnprintf(c->err, c->errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

/* A float as .arch would write it: the shortest form that reads back
 * exactly, always with a '.' or an exponent ("1e-05", "0.1", "2.0"). */
void la_fmt_float(double d, char *buf, size_t cap)
{
    int p;

    if (isnan(d) || isinf(d)) {
        snprintf(buf, cap, "%s", isnan(d) ? "nan" : d < 0 ? "-inf" : "inf");
        return;
    }
    for (p = 1; p <= 17; p++) {
        snprintf(buf, cap, "%.*g", p, d);
        if (strtod(buf, NULL) == d)
            break;
    }
    if (!strpbrk(buf, ".eE") && strlen(buf) + 3 <= cap)
        strcat(buf, ".0");
}

/* A value in .arch syntax; collapse: an INTS whose elements are all equal
 * is written as the one int. */
void la_fmt_val(const Val *v, int collapse, char *buf, size_t cap)
{
    size_t i, k;

    if (!cap)
        return;
    buf[0] = 0;
    switch (v->kind) {
    case VAL_NONE: snprintf(buf, cap, "none"); break;
    case VAL_BOOL: snprintf(buf, cap, "%s", v->i ? "true" : "false"); break;
    case VAL_INT: snprintf(buf, cap, "%lld", (long long)v->i); break;
    case VAL_FLOAT: la_fmt_float(v->f, buf, cap); break;
    case VAL_STR: snprintf(buf, cap, "\"%s\"", v->s ? v->s : ""); break;
    case VAL_INTS:
        if (collapse && v->n >= 1) {
            for (i = 1; i < v->n && v->ints[i] == v->ints[0]; i++)
                ;
            if (i == v->n) {
                snprintf(buf, cap, "%lld", (long long)v->ints[0]);
                break;
            }
        }
        k = (size_t)snprintf(buf, cap, "(");
        for (i = 0; i < v->n && i < 8 && k < cap; i++)
            k += (size_t)snprintf(buf + k, cap - k, "%s%lld", i ? ", " : "", (long long)v->ints[i]);
        if (k < cap)
            snprintf(buf + k, cap - k, v->n == 1 ? ",)" : ")");
        break;
    case VAL_MODULE: snprintf(buf, cap, "a module"); break;
    case VAL_CLASS: snprintf(buf, cap, "%s", v->s); break;
    case VAL_LIST: snprintf(buf, cap, "a list of %zu", v->n); break;
    case VAL_FREE: snprintf(buf, cap, "?"); break;
    }
}

const char *la_kind_words(ValKind k)
{
    switch (k) {
    case VAL_NONE: return "none";
    case VAL_BOOL: return "true or false";
    case VAL_INT: return "an integer";
    case VAL_FLOAT: return "a number";
    case VAL_STR: return "a string";
    case VAL_INTS: return "an integer or a tuple of integers";
    case VAL_MODULE: return "a module";
    case VAL_CLASS: return "a class";
    case VAL_LIST: return "a list";
    case VAL_FREE: return "a free value";
    }
    return "?";
}

int la_kind_err(LayerCtx *c, const char *name, const char *want, const Val *v)
{
    char b[160];

    la_fmt_val(v, 0, b, sizeof b);
    return la_bad(c, "%s must be %s, not %s", name, want, b);
}

/* ------------------------------------------------------------ arguments */

/* The generic check: every argument has its declared kind, or one the
 * conventions above allow.  Bit i of skip: argument i is checked by the
 * layer itself (a union). */
int la_check_kinds(LayerCtx *c, const LayerArg *spec, size_t n, const Val *a, unsigned skip)
{
    size_t i;
    char want[96];

    for (i = 0; i < n; i++) {
        ValKind k = spec[i].kind, v = a[i].kind;
        int none_ok = spec[i].def && !strcmp(spec[i].def, "none");

        if (skip >> i & 1u)
            continue;
        if (v == k || (k == VAL_FLOAT && v == VAL_INT) || (k == VAL_INTS && v == VAL_INT) ||
            (v == VAL_NONE && none_ok))
            continue;
        if (k == VAL_NONE)
            return la_bad(c, "%s cannot be given in a spec (it must be none)", spec[i].name);
        snprintf(want, sizeof want, "%s%s", la_kind_words(k), none_ok ? " or none" : "");
        return la_kind_err(c, spec[i].name, want, &a[i]);
    }
    return 0;
}

int la_is_none(const Val *v) { return v->kind == VAL_NONE; }

double la_num(const Val *v) { return v->kind == VAL_INT ? (double)v->i : v->f; }

/* A positive size: in_features, num_heads, ... */
int la_get_size(LayerCtx *c, const Val *v, const char *name, int64_t *out)
{
    if (v->kind != VAL_INT)
        return la_kind_err(c, name, "a positive integer", v);
    if (v->i <= 0)
        return la_bad(c, "%s must be a positive integer, not %lld", name, (long long)v->i);
    if (v->i > LAYER_MAX_DIM)
        return la_bad(c, "%s (%lld) is too large", name, (long long)v->i);
    *out = v->i;
    return 0;
}

/* An INT or INTS argument as dim ints (an INT is broadcast); min is the
 * smallest value allowed (1: positive, 0: non-negative). */
int la_get_ints(LayerCtx *c, const Val *v, const char *name, size_t dim, int64_t min, int64_t *out)
{
    size_t i;
    char want[96];

    snprintf(want, sizeof want, dim == 1 ? "an integer or a tuple of %zu integer"
                                         : "an integer or a tuple of %zu integers", dim);
    if (v->kind == VAL_INT) {
        for (i = 0; i < dim; i++)
            out[i] = v->i;
    } else if (v->kind == VAL_INTS && v->n == dim) {
        memcpy(out, v->ints, dim * sizeof *out);
    } else {
        return la_kind_err(c, name, want, v);
    }
    for (i = 0; i < dim; i++) {
        if (out[i] < min)
            return la_bad(c, "%s must be %s, not %lld", name,
                       min > 0 ? "positive" : "non-negative", (long long)out[i]);
        if (out[i] > LAYER_MAX_DIM)
            return la_bad(c, "%s (%lld) is too large", name, (long long)out[i]);
    }
    return 0;
}

/* A shape argument (LayerNorm's normalized_shape): an INT or 1..8 ints. */
int la_get_shape(LayerCtx *c, const Val *v, const char *name, int64_t *out, int *ndim)
{
    if (v->kind == VAL_INT)
        return *ndim = 1, la_get_ints(c, v, name, 1, 1, out);
    if (v->kind == VAL_INTS && v->n >= 1 && v->n <= 8)
        return *ndim = (int)v->n, la_get_ints(c, v, name, v->n, 1, out);
    return la_kind_err(c, name, "a positive integer or a tuple of 1 to 8 of them", v);
}

int la_str_is(const Val *v, const char *s) { return v->kind == VAL_STR && v->s && !strcmp(v->s, s); }

/* A string among choices (NULL-terminated); *which gets its index. */
int la_get_choice(LayerCtx *c, const Val *v, const char *name, const char *const *choices, int *which)
{
    char list[160] = "", b[96];
    size_t k = 0;
    int i;

    for (i = 0; choices[i]; i++) {
        if (la_str_is(v, choices[i])) {
            if (which)
                *which = i;
            return 0;
        }
    }
    for (i = 0; choices[i] && k < sizeof list; i++)
        k += (size_t)snprintf(list + k, sizeof list - k, "%s\"%s\"",
                              !i ? "" : choices[i + 1] ? ", " : " or ", choices[i]);
    la_fmt_val(v, 0, b, sizeof b);
    return la_bad(c, "%s must be %s, not %s", name, list, b);
}

int la_get_prob(LayerCtx *c, const Val *v, const char *name)
{
    double p = la_num(v);

    if (!(p >= 0 && p <= 1)) {
        char b[64];
        la_fmt_float(p, b, sizeof b);
        return la_bad(c, "%s must be a probability between 0 and 1, not %s", name, b);
    }
    return 0;
}

/* --------------------------------------------------------------- output */

void la_put(LayerCtx *c, const char *name, int buffer, rcc_dtype dt, const int64_t *shape, int ndim)
{
    if (c->n < c->cap) {
        LayerTensor *t = &c->out[c->n];
        memset(t, 0, sizeof *t);
        snprintf(t->name, sizeof t->name, "%s", name);
        t->buffer = buffer;
        t->dtype = dt;
        t->ndim = ndim;
        if (ndim)
            memcpy(t->shape, shape, (size_t)ndim * sizeof *shape);
    }
    c->n++;
}


int la_finish(LayerCtx *c)
{
    if (c->n > c->cap)
        return la_bad(c, "%s has %zu tensors, more than the %zu the caller allows", c->layer, c->n,
                   c->cap);
    if (c->n > (size_t)INT32_MAX)
        return la_bad(c, "%s has too many tensors", c->layer);
    return (int)c->n;
}


/* --------------------------------------------------------------- suggest */


/* Parses a default written in .arch syntax: none, true, false, an int, a
 * float, a "string" (copied to sbuf), a tuple of ints.  0, or -1 if it is
 * none of these. */
int la_parse_def(const char *s, Val *v, char *sbuf, size_t scap)
{
    char *end;

    memset(v, 0, sizeof *v);
    if (!strcmp(s, "none"))
        return v->kind = VAL_NONE, 0;
    if (!strcmp(s, "true") || !strcmp(s, "false"))
        return v->kind = VAL_BOOL, v->i = s[0] == 't', 0;
    if (s[0] == '"') {
        size_t n = strlen(s);
        if (n < 2 || s[n - 1] != '"' || n - 2 >= scap)
            return -1;
        memcpy(sbuf, s + 1, n - 2);
        sbuf[n - 2] = 0;
        return v->kind = VAL_STR, v->s = sbuf, 0;
    }
    if (s[0] == '(') {
        const char *p = s + 1;
        v->kind = VAL_INTS;
        while (*p && *p != ')' && v->n < 8) {
            v->ints[v->n++] = strtoll(p, &end, 10);
            if (end == p)
                return -1;
            p = end;
            while (*p == ',' || *p == ' ')
                p++;
        }
        return *p == ')' ? 0 : -1;
    }
    if (strpbrk(s, ".eE") || strstr(s, "inf") || strstr(s, "nan")) {
        v->kind = VAL_FLOAT;
        v->f = strtod(s, &end);
    } else {
        v->kind = VAL_INT;
        v->i = strtoll(s, &end, 10);
    }
    return *end || end == s ? -1 : 0;
}

int la_val_eq(const Val *x, const Val *y)
{
    size_t i;

    if (x->kind == VAL_INTS && y->kind == VAL_INT)
        return la_val_eq(y, x);
    if (x->kind == VAL_INT && y->kind == VAL_INTS) {
        for (i = 0; i < y->n; i++)
            if (y->ints[i] != x->i)
                return 0;
        return y->n > 0;
    }
    if ((x->kind == VAL_INT || x->kind == VAL_FLOAT) && (y->kind == VAL_INT || y->kind == VAL_FLOAT))
        return la_num(x) == la_num(y);
    if (x->kind != y->kind)
        return 0;
    switch (x->kind) {
    case VAL_NONE: return 1;
    case VAL_BOOL: return !x->i == !y->i;
    case VAL_STR: return x->s && y->s && !strcmp(x->s, y->s);
    case VAL_INTS:
        if (x->n != y->n)
            return 0;
        for (i = 0; i < x->n && i < 8; i++)
            if (x->ints[i] != y->ints[i])
                return 0;
        return 1;
    default: return 0;
    }
}

void la_sug_init(LayerSug *s, const char *name, const LayerArg *spec, size_t n, const Val *args)
{
    size_t i;

    memset(s, 0, sizeof *s);
    s->name = name;
    s->spec = spec;
    s->n = n;
    for (i = 0; i < n; i++) {
        if (args) {
            s->v[i] = args[i];
            s->known[i] = 1;
        } else if (spec[i].def) {
            s->known[i] = la_parse_def(spec[i].def, &s->v[i], s->strs[i], sizeof s->strs[i]) == 0;
        }
    }
}

/* The index of argument name (it exists: the tables are static; a
 * misspelt name would give LAYER_MAX_ARGS, which every user ignores). */
size_t la_sug_ix(const LayerSug *s, const char *name)
{
    size_t i;

    for (i = 0; i < s->n; i++)
        if (!strcmp(s->spec[i].name, name))
            return i;
    return LAYER_MAX_ARGS;
}

void la_sug_int(LayerSug *s, const char *name, int64_t x)
{
    size_t i = la_sug_ix(s, name);
    if (i >= LAYER_MAX_ARGS)
        return;
    memset(&s->v[i], 0, sizeof s->v[i]);
    s->v[i].kind = VAL_INT;
    s->v[i].i = x;
    s->known[i] = 1;
}

void la_sug_bool(LayerSug *s, const char *name, int b)
{
    size_t i = la_sug_ix(s, name);
    if (i >= LAYER_MAX_ARGS)
        return;
    memset(&s->v[i], 0, sizeof s->v[i]);
    s->v[i].kind = VAL_BOOL;
    s->v[i].i = !!b;
    s->known[i] = 1;
}

void la_sug_ints(LayerSug *s, const char *name, const int64_t *x, int n)
{
    size_t i = la_sug_ix(s, name);
    if (n == 1) {
        la_sug_int(s, name, x[0]);
        return;
    }
    if (i >= LAYER_MAX_ARGS)
        return;
    memset(&s->v[i], 0, sizeof s->v[i]);
    s->v[i].kind = VAL_INTS;
    s->v[i].n = (size_t)n;
    memcpy(s->v[i].ints, x, (size_t)n * sizeof *x);
    s->known[i] = 1;
}

/* An argument's value as an int (the spec's, or the default), or def. */
int64_t la_sug_get_int(const LayerSug *s, const char *name, int64_t def)
{
    size_t i = la_sug_ix(s, name);
    return i < LAYER_MAX_ARGS && s->known[i] && s->v[i].kind == VAL_INT ? s->v[i].i : def;
}

/* Writes Name(required..., keyword=value for each non-default optional). */
int la_sug_write(const LayerSug *s, char *buf, size_t cap)
{
    size_t i, k, npos = 0;
    int first = 1;
    char b[160], sb[32];
    Val d;

    if (!buf || !cap)
        return 0;
    for (i = 0; i < s->npos && i < s->n; i++)   /* positional up to the last non-default */
        if (s->known[i] && s->spec[i].def &&
            (la_parse_def(s->spec[i].def, &d, sb, sizeof sb) || !la_val_eq(&s->v[i], &d)))
            npos = i + 1;
    k = (size_t)snprintf(buf, cap, "%s(", s->name);
    for (i = 0; i < s->n && k < cap; i++) {
        const LayerArg *a = &s->spec[i];
        if (!a->def || i < npos) {
            if (!s->known[i])
                return 0;
            la_fmt_val(&s->v[i], s->collapse, b, sizeof b);
            k += (size_t)snprintf(buf + k, cap - k, "%s%s", first ? "" : ", ", b);
        } else {
            if (!s->known[i] || a->name[0] == '_' || la_parse_def(a->def, &d, sb, sizeof sb) || la_val_eq(&s->v[i], &d))
                continue;
            la_fmt_val(&s->v[i], s->collapse, b, sizeof b);
            k += (size_t)snprintf(buf + k, cap - k, "%s%s=%s", first ? "" : ", ", a->name, b);
        }
        first = 0;
    }
    if (k < cap)
        k += (size_t)snprintf(buf + k, cap - k, ")");
    return k < cap;
}

/* The file's tensor named name, or NULL (absent: not listed, or ndim < 0). */
const LayerTensor *la_ft(const LayerTensor *f, size_t n, const char *name)
{
    size_t i;

    for (i = 0; f && i < n; i++)
        if (f[i].ndim >= 0 && !strcmp(f[i].name, name))
            return &f[i];
    return NULL;
}

int la_dims_ok(const LayerTensor *t, int ndim)
{
    int i;

    if (!t || t->ndim != ndim)
        return 0;
    for (i = 0; i < ndim; i++)
        if (t->shape[i] <= 0)
            return 0;
    return 1;
}

int la_suggest_none(const Val *args, const LayerTensor *file, size_t n, char *buf, size_t cap)
{
    (void)args, (void)file, (void)n;
    if (buf && cap)
        buf[0] = 0;
    return 0;
}


