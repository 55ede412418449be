/* summary.c — one-line descriptions of what a checkpoint holds besides
 * its state dict: epochs, hyperparameters, optimizer state.
 *
 * Values may be large, deeply nested or cyclic, so a description is
 * bounded in length (it ends in "…" when cut) and in depth; tensors are
 * described by dtype and shape, never by content.  Optimizer state dicts
 * ({state, param_groups}) get a summary of their own, since that is what
 * a user wants to know of them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

enum { SM_MAX = 160, SM_DEPTH = 3, SM_ITEMS = 8, SM_STR = 60 };

typedef struct Buf {
    char      s[SM_MAX + 8];
    size_t    n;
    int       full;
    const Pv *sd;          /* the state dict: named, not described */
    size_t    sd_tensors;
} Buf;

static void put(Buf *b, const char *s, size_t len)
{
    if (b->full)
        return;
    if (b->n + len > SM_MAX) {
        memcpy(b->s + b->n, "\xe2\x80\xa6", 3);   /* … */
        b->n += 3;
        b->full = 1;
        return;
    }
    memcpy(b->s + b->n, s, len);
    b->n += len;
}

static void puts_(Buf *b, const char *s) { put(b, s, strlen(s)); }

static void putf(Buf *b, const char *fmt, ...) RCC_PRINTF(2, 3);
static void putf(Buf *b, const char *fmt, ...)
{
    char tmp[96];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n > 0)
        put(b, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

/* The shortest %g form that reads back as the same double, as Python's repr. */
static void put_float(Buf *b, double d)
{
    char tmp[40];
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(tmp, sizeof tmp, "%.*g", prec, d);
        if (strtod(tmp, NULL) == d || d != d)
            break;
    }
    puts_(b, tmp);
    if (!strpbrk(tmp, ".eninf"))   /* 0 -> 0.0, as Python writes a float */
        puts_(b, ".0");
}

/* LONG1/LONG4 ints wider than 64 bits, in decimal when they fit 128. */
static void put_bigint(Buf *b, const uint8_t *le, size_t n)
{
    if (n > 16) {
        putf(b, "<%zu-byte int>", n);
        return;
    }
    unsigned __int128 u = 0;
    for (size_t i = n; i-- > 0;)
        u = u << 8 | le[i];
    int neg = le[n - 1] & 0x80;
    if (neg) {   /* two's complement of n bytes */
        if (n < 16)
            u |= ~(unsigned __int128)0 << (8 * n);
        u = ~u + 1;
    }
    char digits[48];
    size_t k = sizeof digits;
    digits[--k] = 0;
    do {
        digits[--k] = (char)('0' + (int)(u % 10));
        u /= 10;
    } while (u);
    if (neg)
        digits[--k] = '-';
    puts_(b, digits + k);
}

/* A str (or, bytes set, a bytes value) as Python's repr writes it, on one
 * line: quoted (unless q is 0: a dict key), backslash and control
 * characters escaped, cut after SM_STR bytes.  A str's non-ASCII
 * characters are kept (it is valid UTF-8); a bytes value's are written
 * \xNN.  Values come from hostile files: nothing here may end the line or
 * reach a terminal as a control sequence. */
static void put_repr(Buf *b, const char *s, size_t len, int bytes, int quoted)
{
    int dq = len && memchr(s, '\'', len) && !memchr(s, '"', len);   /* (b'' has no bytes at all: s may be NULL) */
    char q = !quoted ? 0 : dq ? '"' : '\'';
    if (bytes)
        puts_(b, "b");
    if (q)
        put(b, &q, 1);
    size_t n = len > SM_STR ? SM_STR : len;
    while (n > 0 && n < len && !bytes && ((uint8_t)s[n] & 0xC0) == 0x80)
        n--;   /* never cut a character in two */
    for (size_t i = 0; i < n && !b->full; i++) {
        uint8_t c = (uint8_t)s[i];
        if (c == '\\' || (q && c == (uint8_t)q))
            putf(b, "\\%c", c);
        else if (c == '\n')
            puts_(b, "\\n");
        else if (c == '\r')
            puts_(b, "\\r");
        else if (c == '\t')
            puts_(b, "\\t");
        else if (c < 0x20 || c == 0x7f || (bytes && c >= 0x80))
            putf(b, "\\x%02x", c);
        else
            put(b, (const char *)&c, 1);
    }
    if (n < len)
        puts_(b, "\xe2\x80\xa6");   /* … */
    if (q)
        put(b, &q, 1);
}

/* Tensors reachable from v, not counting skip.  Shared children make the
 * value graph a DAG that a naive walk visits exponentially often, so the
 * walk has a budget of visits. */
static size_t count_walk(const Pv *v, const Pv *skip, int depth, size_t *budget)
{
    if (depth > 8 || v == skip || *budget == 0)
        return 0;
    --*budget;
    if (v->kind == PV_TENSOR)
        return 1;
    size_t n = 0;
    if (v->kind == PV_DICT)
        for (size_t i = 0; i < v->u.dict.n; i++)
            n += count_walk(v->u.dict.vals[i], skip, depth + 1, budget);
    else if (v->kind == PV_LIST || v->kind == PV_TUPLE)
        for (size_t i = 0; i < v->u.seq.n; i++)
            n += count_walk(v->u.seq.v[i], skip, depth + 1, budget);
    return n;
}

static size_t count_tensors(const Pv *v, const Pv *skip)
{
    size_t budget = 1000000;
    return count_walk(v, skip, 0, &budget);
}

static void describe(Buf *b, const Pv *v, int depth);

static void describe_items(Buf *b, Pv *const *keys, Pv *const *vals, size_t n, const char *open,
                           const char *close, int depth)
{
    puts_(b, open);
    for (size_t i = 0; i < n && !b->full; i++) {
        if (i)
            puts_(b, ", ");
        if (i == SM_ITEMS) {
            putf(b, "… %zu more", n - i);
            break;
        }
        if (keys) {
            const Pv *k = keys[i];
            if (k->kind == PV_STR)
                put_repr(b, k->u.str.s, k->u.str.len, 0, 0);
            else
                describe(b, k, depth + 1);
            puts_(b, ": ");
        }
        describe(b, vals[i], depth + 1);
    }
    puts_(b, close);
}

/* functools.partial's BUILD state: (func, args, kwds, dict). */
static int is_partial_state(const Pv *v)
{
    const Pv *s = v->u.obj.state;
    return strcmp(v->u.obj.qualname, "functools.partial") == 0 && s && s->kind == PV_TUPLE && s->u.seq.n == 4 &&
           s->u.seq.v[1]->kind == PV_TUPLE;
}

/* partial(func, *args): what calling it calls. */
static void describe_partial(Buf *b, const Pv *s, int depth)
{
    const Pv *args = s->u.seq.v[1];
    puts_(b, "(");
    describe(b, s->u.seq.v[0], depth + 1);
    for (size_t i = 0; i < args->u.seq.n && !b->full; i++) {
        puts_(b, ", ");
        describe(b, args->u.seq.v[i], depth + 1);
    }
    puts_(b, ")");
}

static void describe(Buf *b, const Pv *v, int depth)
{
    if (v == b->sd) {
        if (v->kind == PV_OBJECT)
            putf(b, "the model, %s (%zu tensor%s)", v->u.obj.qualname, b->sd_tensors, b->sd_tensors == 1 ? "" : "s");
        else
            putf(b, "the state dict (%zu tensor%s)", b->sd_tensors, b->sd_tensors == 1 ? "" : "s");
        return;
    }
    if (depth > SM_DEPTH) {
        puts_(b, "…");
        return;
    }
    switch (v->kind) {
    case PV_NONE: puts_(b, "None"); break;
    case PV_BOOL: puts_(b, v->u.b ? "True" : "False"); break;
    case PV_INT: putf(b, "%lld", (long long)v->u.i); break;
    case PV_BIGINT: put_bigint(b, (const uint8_t *)v->u.str.s, v->u.str.len); break;
    case PV_FLOAT: put_float(b, v->u.f); break;
    case PV_STR: put_repr(b, v->u.str.s, v->u.str.len, 0, 1); break;
    case PV_BYTES:
        if (v->u.str.len > SM_STR)
            putf(b, "<%zu bytes>", v->u.str.len);
        else
            put_repr(b, v->u.str.s, v->u.str.len, 1, 1);
        break;
    case PV_TUPLE: describe_items(b, NULL, v->u.seq.v, v->u.seq.n, "(", ")", depth); break;
    case PV_LIST: describe_items(b, NULL, v->u.seq.v, v->u.seq.n, "[", "]", depth); break;
    case PV_SET: describe_items(b, NULL, v->u.seq.v, v->u.seq.n, "{", "}", depth); break;
    case PV_DICT: {
        const Pv *st = pv_dict_get(v, "state"), *pg = pv_dict_get(v, "param_groups");
        if (st && pg && st->kind == PV_DICT && pg->kind == PV_LIST) {
            putf(b, "%zu param group%s, %zu state tensors", (size_t)pg->u.seq.n,
                 pg->u.seq.n == 1 ? "" : "s", count_tensors(st, NULL));
            if (pg->u.seq.n) {
                const Pv *lr = pv_dict_get(pg->u.seq.v[0], "lr");
                if (lr && lr->kind == PV_FLOAT)
                    putf(b, ", lr %g", lr->u.f);
            }
            break;
        }
        size_t nt = count_tensors(v, b->sd);
        if (nt && nt == v->u.dict.n && depth == 0) {   /* another state dict */
            putf(b, "a dict of %zu tensor%s", nt, nt == 1 ? "" : "s");
            break;
        }
        if (nt && depth == 0)
            putf(b, "%zu tensor%s in ", nt, nt == 1 ? "" : "s");
        describe_items(b, v->u.dict.keys, v->u.dict.vals, v->u.dict.n, "{", "}", depth);
        break;
    }
    case PV_GLOBAL: puts_(b, v->u.glob.qualname); break;
    case PV_OBJECT:
        puts_(b, v->u.obj.qualname);
        if (v->u.obj.state && v->u.obj.state->kind == PV_DICT)
            describe_items(b, v->u.obj.state->u.dict.keys, v->u.obj.state->u.dict.vals, v->u.obj.state->u.dict.n,
                           "(", ")", depth);
        else if (!v->u.obj.state && v->u.obj.args && v->u.obj.args->kind == PV_TUPLE)   /* a call's result */
            describe_items(b, NULL, v->u.obj.args->u.seq.v, v->u.obj.args->u.seq.n, "(", ")", depth);
        else if (is_partial_state(v))   /* functools.partial's (func, args, kwds, dict) */
            describe_partial(b, v->u.obj.state, depth);
        else
            puts_(b, "(…)");
        break;
    case PV_STORAGE: putf(b, "storage %s", v->u.storage->key); break;
    case PV_TENSOR: {
        const PtTensor *t = v->u.tensor;
        putf(b, "tensor %s[", rcc_dtype_name(t->dtype));
        for (int i = 0; i < t->ndim; i++)
            putf(b, i ? ", %lld" : "%lld", (long long)t->shape[i]);
        puts_(b, "]");
        break;
    }
    case PV_DTYPE:   /* a numpy dtype's name is the file's text */
        if (v->u.dtype.name)
            put_repr(b, v->u.dtype.name, strlen(v->u.dtype.name), 0, 0);
        else
            puts_(b, "dtype");
        break;
    }
}

char *sm_describe(Arena *a, const Pv *v, const Pv *sd, size_t sd_tensors)
{
    Buf b = {.sd = sd, .sd_tensors = sd_tensors};
    describe(&b, v, 0);
    return arena_strndup(a, b.s, b.n);
}

char *sm_call(Arena *a, const char *fn, Pv *const *args, size_t n)
{
    Buf b = {0};
    puts_(&b, fn);
    describe_items(&b, NULL, args, n, "(", ")", 0);
    return arena_strndup(a, b.s, b.n);
}
