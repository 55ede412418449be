/* safetensors.c — the safetensors format: a JSON header over raw bytes.
 *
 * A safetensors file is an 8-byte little-endian length N, N bytes of JSON
 * (UTF-8, padded with spaces by the reference writer) and a data section.
 * The header maps each tensor's name to {"dtype", "shape", "data_offsets":
 * [begin, end]}, offsets relative to the data section, and may hold a
 * "__metadata__" object of strings.  Nothing is pickled, so nothing can be
 * executed; what a hostile file can do is lie about sizes and offsets.  So
 * before any tensor is made this reader checks everything huggingface's
 * reference reader checks (SafeTensors::read_metadata, Metadata::validate)
 * and a little more: the header is bounded, UTF-8 and strict JSON; every
 * entry has exactly the three fields; each tensor's byte count follows from
 * its dtype and shape without overflow; no key appears twice; and the byte
 * ranges, sorted, tile the data section exactly (no gap, no overlap,
 * nothing past the end, nothing left over).
 *
 * The JSON is read twice, both times as a flat stream of tokens, without
 * recursion and without building a tree: first to prove the whole header
 * is well-formed JSON (so a syntax error is reported as one, wherever it
 * is, and nesting is bounded), then by a reader that knows the schema and
 * refuses anything else at once.  Memory is therefore proportional to the
 * tensors the file declares, never to what a hostile header nests.
 *
 * Each tensor gets a storage of its own, keyed by its position in the
 * header ("0", "1", ...), whose record is its byte range in the file: a
 * safetensors file has no views and no shared storages.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* The reference reader's limit on the header; deeper nesting than the cap
 * is never needed by a valid header (it nests three levels). */
enum { ST_MAX_HEADER = 100000000, ST_MAX_DEPTH = 64, ST_SHOW = 60 };

/* ------------------------------------------------------------ messages */

/* s[0..len) as a short printable string for a message or a summary line:
 * quotes and control characters escaped, cut (at a UTF-8 boundary) after
 * `limit` bytes, since names and metadata values are the file's choice. */
static const char *show(Arena *a, const char *s, size_t len, int quote, size_t limit)
{
    size_t n = len;
    if (n > limit) {
        n = limit;
        while (n > 0 && ((uint8_t)s[n] & 0xC0) == 0x80)
            n--;
    }
    char *out = arena_alloc(a, n * 4 + 8), *o = out;
    if (!out)
        return "?";
    if (quote)
        *o++ = '\'';
    for (size_t i = 0; i < n; i++) {
        uint8_t c = (uint8_t)s[i];
        if (c == '\n')
            o += sprintf(o, "\\n");
        else if (c == '\t')
            o += sprintf(o, "\\t");
        else if (c == '\r')
            o += sprintf(o, "\\r");
        else if (c == '\\' || (quote && c == '\''))
            o += sprintf(o, "\\%c", c);
        else if (c < 0x20 || c == 0x7F)
            o += sprintf(o, "\\x%02x", c);
        else
            *o++ = (char)c;
    }
    if (n < len)
        o += sprintf(o, "\xe2\x80\xa6");   /* U+2026: cut here */
    if (quote)
        *o++ = '\'';
    *o = 0;
    return out;
}

/* ------------------------------------------------------- JSON tokens */

typedef enum JTok {
    JT_END, JT_LBRACE, JT_RBRACE, JT_LBRACKET, JT_RBRACKET, JT_COLON, JT_COMMA,
    JT_STRING, JT_NUMBER, JT_TRUE, JT_FALSE, JT_NULL,
} JTok;

typedef struct Lex {
    const uint8_t *s;   /* the header: mapping */
    size_t         n, pos;
    Arena         *a;   /* where tok_text decodes strings; NULL: never */
    Err           *err;
} Lex;

typedef struct Tok {
    JTok        kind;
    size_t      at, end;  /* the token's bytes: s[at..end) */
    int         esc;      /* JT_STRING: holds a backslash escape */
    size_t      len;      /*   ... its decoded length */
    const char *str;      /*   ... decoded (arena, NUL-terminated): see tok_text */
    int         uint;     /* JT_NUMBER: a plain integer, no sign, fraction or exponent */
    int         big;      /*   ... that does not fit int64_t (>= 2^63) */
    uint64_t    u;        /*   ... its value when it does */
} Tok;

/* The JSON type a value token starts, for messages. */
static const char *tok_what(JTok k)
{
    switch (k) {
    case JT_LBRACE: return "an object";
    case JT_LBRACKET: return "an array";
    case JT_STRING: return "a string";
    case JT_NUMBER: return "a number";
    case JT_TRUE: case JT_FALSE: return "a boolean";
    case JT_NULL: return "null";
    default: return "not a value";
    }
}

static int jerr(Lex *L, size_t at, const char *what)
{
    return err_set(L->err, "header is not valid JSON: %s at byte %zu of the header", what, at);
}

static int hex4(const uint8_t *p, uint32_t *v)
{
    *v = 0;
    for (int i = 0; i < 4; i++) {
        uint8_t c = p[i];
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
              : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (d < 0)
            return -1;
        *v = *v << 4 | (uint32_t)d;
    }
    return 0;
}

static size_t put_utf8(char *o, uint32_t cp)
{
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xC0 | cp >> 6);
        o[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xE0 | cp >> 12);
        o[1] = (char)(0x80 | (cp >> 6 & 0x3F));
        o[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | cp >> 18);
    o[1] = (char)(0x80 | (cp >> 12 & 0x3F));
    o[2] = (char)(0x80 | (cp >> 6 & 0x3F));
    o[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* Checks the escapes of string token t and counts its decoded bytes,
 * writing them to out when it is not NULL.  Escapes are checked in full:
 * \uXXXX must name a scalar value, a surrogate only as half of a pair, as
 * the reference's JSON reader requires. */
static int unescape(Lex *L, Tok *t, char *out)
{
    const uint8_t *s = L->s;
    size_t k = 0, end = t->end - 1;   /* the closing quote */
    for (size_t i = t->at + 1; i < end;) {
        uint8_t c = s[i];
        if (c < 0x20)
            return jerr(L, i, "control character in a string");
        if (c != '\\') {
            if (out)
                out[k] = (char)c;
            k++, i++;
            continue;
        }
        char one = 0;
        switch (s[i + 1]) {   /* i + 1 < end: lex_string's scan skipped it */
        case '"': one = '"'; break;
        case '\\': one = '\\'; break;
        case '/': one = '/'; break;
        case 'b': one = '\b'; break;
        case 'f': one = '\f'; break;
        case 'n': one = '\n'; break;
        case 'r': one = '\r'; break;
        case 't': one = '\t'; break;
        case 'u': break;
        default: return jerr(L, i, "invalid escape in a string");
        }
        if (one) {
            if (out)
                out[k] = one;
            k++, i += 2;
            continue;
        }
        uint32_t cp, lo;
        if (end - i < 6 || hex4(s + i + 2, &cp) < 0)
            return jerr(L, i, "invalid \\u escape");
        if (cp >= 0xDC00 && cp <= 0xDFFF)
            return jerr(L, i, "unpaired low surrogate in a \\u escape");
        if (cp >= 0xD800 && cp <= 0xDBFF) {
            if (end - i < 12 || s[i + 6] != '\\' || s[i + 7] != 'u' || hex4(s + i + 8, &lo) < 0 ||
                lo < 0xDC00 || lo > 0xDFFF)
                return jerr(L, i, "unpaired high surrogate in a \\u escape");
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            i += 6;
        }
        i += 6;
        if (out)
            k += put_utf8(out + k, cp);
        else
            k += cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
    }
    t->len = k;
    return 0;
}

/* A string token, checked but not decoded: most strings are only compared
 * (field names, dtypes), and those without escapes compare in place.  The
 * closing quote is found first: a backslash always escapes the next byte. */
static int lex_string(Lex *L, Tok *t)
{
    const uint8_t *s = L->s;
    size_t end = t->at + 1;
    while (end < L->n && s[end] != '"') {
        t->esc |= s[end] == '\\';
        end += s[end] == '\\' ? 2 : 1;
    }
    if (end >= L->n)
        return jerr(L, t->at, "unterminated string");
    t->end = end + 1;
    return unescape(L, t, NULL);
}

/* The decoded text of string token t (arena, NUL-terminated; never longer
 * than the raw text), or NULL when out of memory. */
static const char *tok_text(Lex *L, Tok *t)
{
    char *out;
    if (t->str || !(out = arena_alloc(L->a, t->len + 1)))
        return t->str;
    if (t->esc)
        unescape(L, t, out);
    else
        memcpy(out, L->s + t->at + 1, t->len);
    out[t->len] = 0;
    return t->str = out;
}

/* A number, by JSON's grammar.  Only plain non-negative integers are ever
 * wanted (shapes, offsets), so only those get a value; the rest are
 * recognised so that the schema reader can say what it found. */
static int lex_number(Lex *L, Tok *t)
{
    const uint8_t *s = L->s;
    size_t i = t->at, n = L->n;
    int neg = 0, frac = 0;
    if (s[i] == '-')
        neg = 1, i++;
    if (i >= n || s[i] < '0' || s[i] > '9')
        return jerr(L, t->at, "malformed number");
    if (s[i] == '0') {
        i++;
        if (i < n && s[i] >= '0' && s[i] <= '9')
            return jerr(L, t->at, "number with a leading zero");
    } else {
        for (; i < n && s[i] >= '0' && s[i] <= '9'; i++) {
            uint64_t d = (uint64_t)(s[i] - '0');
            if (t->big || t->u > ((uint64_t)INT64_MAX - d) / 10)
                t->big = 1;
            else
                t->u = t->u * 10 + d;
        }
    }
    if (i < n && s[i] == '.') {
        frac = 1, i++;
        if (i >= n || s[i] < '0' || s[i] > '9')
            return jerr(L, t->at, "malformed number");
        while (i < n && s[i] >= '0' && s[i] <= '9')
            i++;
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        frac = 1, i++;
        if (i < n && (s[i] == '+' || s[i] == '-'))
            i++;
        if (i >= n || s[i] < '0' || s[i] > '9')
            return jerr(L, t->at, "malformed number");
        while (i < n && s[i] >= '0' && s[i] <= '9')
            i++;
    }
    t->uint = !neg && !frac;
    t->end = i;
    return 0;
}

static int lex(Lex *L, Tok *t)
{
    const uint8_t *s = L->s;
    while (L->pos < L->n && (s[L->pos] == ' ' || s[L->pos] == '\t' || s[L->pos] == '\n' || s[L->pos] == '\r'))
        L->pos++;
    memset(t, 0, sizeof *t);
    t->at = L->pos;
    t->end = L->pos + 1;
    if (L->pos >= L->n) {
        t->kind = JT_END;
        t->end = L->pos;
        return 0;
    }
    int r = 0;
    switch (s[L->pos]) {
    case '{': t->kind = JT_LBRACE; break;
    case '}': t->kind = JT_RBRACE; break;
    case '[': t->kind = JT_LBRACKET; break;
    case ']': t->kind = JT_RBRACKET; break;
    case ':': t->kind = JT_COLON; break;
    case ',': t->kind = JT_COMMA; break;
    case '"': t->kind = JT_STRING; r = lex_string(L, t); break;
    case 't': case 'f': case 'n': {
        const char *w = s[L->pos] == 't' ? "true" : s[L->pos] == 'f' ? "false" : "null";
        size_t wl = strlen(w);
        if (L->n - L->pos < wl || memcmp(s + L->pos, w, wl) != 0)
            return jerr(L, L->pos, "invalid literal");
        t->kind = w[0] == 't' ? JT_TRUE : w[0] == 'f' ? JT_FALSE : JT_NULL;
        t->end = L->pos + wl;
        break;
    }
    default:
        if (s[L->pos] == '-' || (s[L->pos] >= '0' && s[L->pos] <= '9')) {
            t->kind = JT_NUMBER;
            r = lex_number(L, t);
        } else {
            return jerr(L, L->pos, "unexpected character");
        }
    }
    if (r == 0)
        L->pos = t->end;
    return r;
}

/* ----------------------------------------------------- JSON syntax check */

/* Proves s[0..n) is one JSON value followed only by white space, with an
 * explicit stack of open containers (bounded by ST_MAX_DEPTH), so a hostile
 * header cannot exhaust the C stack.  Strings are checked, not kept.
 * *members counts the keys of a top-level object, so that the schema
 * reader can size its tables once. */
static int json_check(const uint8_t *s, size_t n, Err *err, size_t *members)
{
    enum { J_VALUE, J_VALUE_OR_CLOSE, J_KEY, J_KEY_OR_CLOSE, J_COLON, J_AFTER } st = J_VALUE;
    Lex L = {.s = s, .n = n, .err = err};
    JTok open[ST_MAX_DEPTH];
    *members = 0;
    size_t depth = 0;
    for (;;) {
        Tok t;
        if (lex(&L, &t) < 0)
            return -1;
        if (t.kind == JT_END && !(st == J_AFTER && depth == 0))
            return jerr(&L, t.at, "unexpected end");
        switch (st) {
        case J_VALUE_OR_CLOSE:
            if (t.kind == JT_RBRACKET) {
                depth--;
                st = J_AFTER;
                break;
            }
            /* fall through */
        case J_VALUE:
            if (t.kind == JT_LBRACE || t.kind == JT_LBRACKET) {
                if (depth == ST_MAX_DEPTH)
                    return jerr(&L, t.at, "nesting deeper than 64 levels");
                open[depth++] = t.kind;
                st = t.kind == JT_LBRACE ? J_KEY_OR_CLOSE : J_VALUE_OR_CLOSE;
            } else if (t.kind >= JT_STRING) {
                st = J_AFTER;
            } else {
                return jerr(&L, t.at, "expected a value");
            }
            break;
        case J_KEY_OR_CLOSE:
            if (t.kind == JT_RBRACE) {
                depth--;
                st = J_AFTER;
                break;
            }
            /* fall through */
        case J_KEY:
            if (t.kind != JT_STRING)
                return jerr(&L, t.at, "expected a string key");
            *members += depth == 1;
            st = J_COLON;
            break;
        case J_COLON:
            if (t.kind != JT_COLON)
                return jerr(&L, t.at, "expected ':'");
            st = J_VALUE;
            break;
        case J_AFTER:
            if (depth == 0) {
                if (t.kind != JT_END)
                    return jerr(&L, t.at, "data after the top-level value");
                return 0;
            }
            if (t.kind == JT_COMMA) {
                st = open[depth - 1] == JT_LBRACE ? J_KEY : J_VALUE;
            } else if (t.kind == (open[depth - 1] == JT_LBRACE ? JT_RBRACE : JT_RBRACKET)) {
                depth--;
                st = J_AFTER;
            } else {
                return jerr(&L, t.at, open[depth - 1] == JT_LBRACE ? "expected ',' or '}'" : "expected ',' or ']'");
            }
            break;
        }
    }
}

/* ------------------------------------------------------- schema reader */

/* One tensor entry of the header, as declared. */
typedef struct StEntry {
    const char *name;        /* arena, NUL-terminated (a NUL inside is refused) */
    size_t      name_len;
    rcc_dtype   dtype;
    size_t      ndim;
    size_t      shape_at;    /* the shape: StReader.dims[shape_at..+ndim) */
    uint64_t    begin, end;  /* data_offsets */
    uint64_t    numel;
    size_t      index;       /* position among the tensors, in header order */
} StEntry;

/* A top-level key, for the duplicate check. */
typedef struct StKey {
    const char *s;
    size_t      len;
} StKey;

/* The reader's working tables live only while the header is read, so
 * they are malloc'ed (caller frees: st_open) rather than kept in the arena;
 * what outlives them (names, tensors) is copied out. */
typedef struct StReader {
    rcc_file *f;
    Lex       L;
    Err      *err;
    StEntry  *ents;          /* [cap], one per top-level key at most */
    size_t    nents;
    StKey    *keys;          /* [cap] */
    size_t    nkeys, cap;
    int64_t  *dims;          /* every shape, back to back */
    size_t    ndims, dims_cap;
} StReader;

static const int64_t *shape_of(const StReader *r, const StEntry *e) { return r->dims + e->shape_at; }

/* A tensor's name for a message, made only when a message is. */
static const char *nm(StReader *r, const StEntry *e)
{
    return show(&r->f->arena, e->name, e->name_len, 1, ST_SHOW);
}

static const struct {
    const char *name;
    rcc_dtype   dtype;
} st_dtypes[] = {   /* every dtype of the format (safetensors/src/tensor.rs, Dtype) */
    {"F64", RCC_F64}, {"F32", RCC_F32}, {"F16", RCC_F16}, {"BF16", RCC_BF16}, {"I64", RCC_I64},
    {"I32", RCC_I32}, {"I16", RCC_I16}, {"I8", RCC_I8},   {"U8", RCC_U8},     {"BOOL", RCC_BOOL},
    {"U16", RCC_U16}, {"U32", RCC_U32}, {"U64", RCC_U64}, {"F8_E4M3", RCC_F8E4M3FN},
    {"F8_E5M2", RCC_F8E5M2}, {"F8_E4M3FNUZ", RCC_F8E4M3FNUZ}, {"F8_E5M2FNUZ", RCC_F8E5M2FNUZ},
    {"F8_E8M0", RCC_F8E8M0FNU}, {"C64", RCC_C64},
    /* the packed MX formats (4 and 6 bits an element) */
    {"F4", RCC_F4E2M1FN}, {"F6_E2M3", RCC_F6E2M3FN}, {"F6_E3M2", RCC_F6E3M2FN},
};

static const char *dtype_st_name(rcc_dtype t)
{
    for (size_t i = 0; i < sizeof st_dtypes / sizeof *st_dtypes; i++)
        if (st_dtypes[i].dtype == t)
            return st_dtypes[i].name;
    return "?";
}

/* Whether string token t says s: in place unless t has escapes. */
static int str_is(StReader *r, Tok *t, const char *s)
{
    const char *p = t->esc ? tok_text(&r->L, t) : (const char *)r->L.s + t->at + 1;
    return p && t->len == strlen(s) && memcmp(p, s, t->len) == 0;
}

/* The decoded text of string token t, or NULL with a message. */
static const char *text(StReader *r, Tok *t)
{
    const char *p = tok_text(&r->L, t);
    if (!p)
        err_set(r->err, "out of memory");
    return p;
}

/* String token t for a message. */
static const char *tok_show(StReader *r, Tok *t)
{
    const char *p = tok_text(&r->L, t);
    return p ? show(&r->f->arena, p, t->len, 1, ST_SHOW) : "?";
}

/* The next token, which the syntax check has already proven is one of the
 * kinds the grammar allows here; anything else is a bug, not bad input. */
static int expect(StReader *r, Tok *t, JTok k1, JTok k2)
{
    if (lex(&r->L, t) < 0)
        return -1;
    if (t->kind != k1 && t->kind != k2)
        return err_set(r->err, "malformed header at byte %zu", t->at);
    return 0;
}

/* "[2, 3]" for messages (arena). */
static const char *dims(Arena *a, const int64_t *v, size_t n)
{
    char buf[RCC_MAX_NDIM * 22 + 4];
    util_dims(buf, sizeof buf, v, n);
    const char *s = arena_strndup(a, buf, strlen(buf));
    return s ? s : "[?]";
}

/* The raw text of a number token, for messages. */
static const char *num_text(StReader *r, const Tok *t)
{
    return show(&r->f->arena, (const char *)r->L.s + t->at, t->end - t->at, 0, 40);
}

/* A non-negative integer that fits int64_t, or a message saying what the
 * value is instead; field names the place ("shape"). */
static int want_uint(StReader *r, const Tok *t, const char *field, const StEntry *e, uint64_t *v)
{
    if (t->kind != JT_NUMBER)
        return err_set(r->err, "%s of tensor %s holds %s, not an integer", field, nm(r, e), tok_what(t->kind));
    if (!t->uint)
        return err_set(r->err, "%s of tensor %s holds %s, not a non-negative integer", field, nm(r, e),
                       num_text(r, t));
    if (t->big)
        return err_set(r->err, "%s of tensor %s holds %s, too large (the limit is 2^63 - 1)", field, nm(r, e),
                       num_text(r, t));
    *v = t->u;
    return 0;
}

/* shape: [d0, d1, ...], at most RCC_MAX_NDIM integers >= 0. */
static int read_shape(StReader *r, StEntry *e)
{
    Tok t;
    int64_t dims_[RCC_MAX_NDIM];
    if (lex(&r->L, &t) < 0)
        return -1;
    if (t.kind != JT_LBRACKET)
        return err_set(r->err, "shape of tensor %s is %s, not an array", nm(r, e), tok_what(t.kind));
    size_t n = 0;
    for (;;) {
        if (lex(&r->L, &t) < 0)
            return -1;
        if (t.kind == JT_RBRACKET)   /* only right after '[' in valid JSON */
            break;
        uint64_t v;
        if (n == RCC_MAX_NDIM)
            return err_set(r->err, "shape of tensor %s has more than %d dimensions", nm(r, e), RCC_MAX_NDIM);
        if (want_uint(r, &t, "shape", e, &v) < 0)
            return -1;
        dims_[n++] = (int64_t)v;
        if (expect(r, &t, JT_COMMA, JT_RBRACKET) < 0)
            return -1;
        if (t.kind == JT_RBRACKET)
            break;
    }
    if (!r->dims || r->dims_cap - r->ndims < n) {   /* n <= RCC_MAX_NDIM: no overflow */
        size_t cap = r->dims_cap * 2 + RCC_MAX_NDIM;
        int64_t *d = realloc(r->dims, cap * sizeof *d);
        if (!d)
            return err_set(r->err, "out of memory");
        r->dims = d;
        r->dims_cap = cap;
    }
    memcpy(r->dims + r->ndims, dims_, n * sizeof *dims_);
    e->shape_at = r->ndims;
    e->ndim = n;
    r->ndims += n;
    return 0;
}

/* data_offsets: [begin, end], exactly two integers. */
static int read_offsets(StReader *r, StEntry *e)
{
    Tok t;
    uint64_t v[2];
    size_t n = 0;
    if (lex(&r->L, &t) < 0)
        return -1;
    if (t.kind != JT_LBRACKET)
        return err_set(r->err, "data_offsets of tensor %s is %s, not a [begin, end] array", nm(r, e),
                       tok_what(t.kind));
    for (;;) {
        if (lex(&r->L, &t) < 0)
            return -1;
        if (t.kind == JT_RBRACKET)
            break;
        if (n == 2)
            return err_set(r->err, "data_offsets of tensor %s has more than 2 entries, not [begin, end]", nm(r, e));
        if (want_uint(r, &t, "data_offsets", e, &v[n]) < 0)
            return -1;
        n++;
        if (expect(r, &t, JT_COMMA, JT_RBRACKET) < 0)
            return -1;
        if (t.kind == JT_RBRACKET)
            break;
    }
    if (n != 2)
        return err_set(r->err, "data_offsets of tensor %s has %zu entr%s, not [begin, end]", nm(r, e), n,
                       n == 1 ? "y" : "ies");
    e->begin = v[0];
    e->end = v[1];
    return 0;
}

/* The byte count the dtype and shape imply, checked for overflow, and the
 * contiguous strides torch gives such a tensor (a size-0 dimension counts
 * as 1, so strides can overflow where the element count, 0, does not). */
static int entry_sizes(StReader *r, StEntry *e, int64_t *strides)
{
    const int64_t *shape = shape_of(r, e);
    uint64_t numel = 1, nbytes, stride = 1;
    for (size_t d = 0; d < e->ndim; d++)
        if (mul_u64(numel, (uint64_t)shape[d], &numel))
            return err_set(r->err, "tensor %s: shape %s has an element count that overflows 64 bits",
                           nm(r, e), dims(&r->f->arena, shape, e->ndim));
    if (tn_bytes(e->dtype, numel, &nbytes) < 0) {
        if (!rcc_dtype_size(e->dtype) && numel <= UINT64_MAX / 8)   /* packed: a part of a byte */
            return err_set(r->err, "tensor %s: shape %s of %s is %llu bits, not a whole number of bytes", nm(r, e),
                           dims(&r->f->arena, shape, e->ndim), dtype_st_name(e->dtype),
                           (unsigned long long)(numel * (uint64_t)rcc_dtype_bits(e->dtype)));
        return err_set(r->err, "tensor %s: shape %s of %s has a byte size that overflows 64 bits", nm(r, e),
                       dims(&r->f->arena, shape, e->ndim), dtype_st_name(e->dtype));
    }
    for (size_t d = e->ndim; d-- > 0;) {
        if (stride > INT64_MAX)
            return err_set(r->err, "tensor %s: shape %s is too large to index (strides overflow)", nm(r, e),
                           dims(&r->f->arena, shape, e->ndim));
        if (strides)
            strides[d] = (int64_t)stride;
        if (mul_u64(stride, shape[d] ? (uint64_t)shape[d] : 1, &stride))
            stride = UINT64_MAX;   /* only the strides of outer dimensions would overflow */
    }
    if (e->end - e->begin != nbytes)
        return err_set(r->err, "tensor %s: %s shape %s needs %llu bytes but data_offsets [%llu, %llu] hold %llu",
                       nm(r, e), dtype_st_name(e->dtype), dims(&r->f->arena, shape, e->ndim),
                       (unsigned long long)nbytes, (unsigned long long)e->begin, (unsigned long long)e->end,
                       (unsigned long long)(e->end - e->begin));
    e->numel = numel;
    return 0;
}

/* One tensor entry: an object with exactly dtype, shape and data_offsets. */
static int read_tensor(StReader *r, const Tok *key)
{
    Arena *a = &r->f->arena;
    if (memchr(key->str, 0, key->len))
        return err_set(r->err, "tensor name %s contains a NUL character", show(a, key->str, key->len, 1, ST_SHOW));
    if (r->nents == r->cap)   /* json_check counted the keys */
        return err_set(r->err, "malformed header");
    StEntry *e = &r->ents[r->nents];
    memset(e, 0, sizeof *e);
    e->name = key->str;
    e->name_len = key->len;
    e->index = r->nents++;

    Tok t;
    if (lex(&r->L, &t) < 0)
        return -1;
    if (t.kind != JT_LBRACE)
        return err_set(r->err, "tensor %s is %s, not an object {dtype, shape, data_offsets}", nm(r, e),
                       tok_what(t.kind));
    enum { F_DTYPE = 1, F_SHAPE = 2, F_OFFSETS = 4 };
    unsigned seen = 0;
    if (expect(r, &t, JT_STRING, JT_RBRACE) < 0)
        return -1;
    while (t.kind == JT_STRING) {
        unsigned field = str_is(r, &t, "dtype") ? F_DTYPE : str_is(r, &t, "shape") ? F_SHAPE
                       : str_is(r, &t, "data_offsets") ? F_OFFSETS : 0;
        if (!field)
            return err_set(r->err, "tensor %s has an unexpected field %s (only dtype, shape, data_offsets)",
                           nm(r, e), tok_show(r, &t));
        if (seen & field)
            return err_set(r->err, "tensor %s has the field %s twice", nm(r, e), tok_show(r, &t));
        seen |= field;
        if (expect(r, &t, JT_COLON, JT_COLON) < 0)
            return -1;
        if (field == F_SHAPE) {
            if (read_shape(r, e) < 0)
                return -1;
        } else if (field == F_OFFSETS) {
            if (read_offsets(r, e) < 0)
                return -1;
        } else {
            if (lex(&r->L, &t) < 0)
                return -1;
            if (t.kind != JT_STRING)
                return err_set(r->err, "dtype of tensor %s is %s, not a string", nm(r, e), tok_what(t.kind));
            size_t i = 0, n = sizeof st_dtypes / sizeof *st_dtypes;
            while (i < n && !str_is(r, &t, st_dtypes[i].name))
                i++;
            if (i == n)
                return err_set(r->err, "unknown dtype %s for tensor %s", tok_show(r, &t), nm(r, e));
            e->dtype = st_dtypes[i].dtype;
        }
        if (expect(r, &t, JT_COMMA, JT_RBRACE) < 0)
            return -1;
        if (t.kind == JT_COMMA && expect(r, &t, JT_STRING, JT_STRING) < 0)
            return -1;
    }
    if (!(seen & F_DTYPE) || !(seen & F_SHAPE) || !(seen & F_OFFSETS))
        return err_set(r->err, "tensor %s has no %s field", nm(r, e),
                       !(seen & F_DTYPE) ? "dtype" : !(seen & F_SHAPE) ? "shape" : "data_offsets");
    if (e->begin > e->end)
        return err_set(r->err, "tensor %s: data_offsets [%llu, %llu] end before they begin", nm(r, e),
                       (unsigned long long)e->begin, (unsigned long long)e->end);
    return entry_sizes(r, e, NULL);
}

static int key_cmp(const void *pa, const void *pb)
{
    const StKey *a = pa, *b = pb;
    int c = memcmp(a->s, b->s, a->len < b->len ? a->len : b->len);
    return c ? c : (a->len > b->len) - (a->len < b->len);
}

/* A key twice would leave one of the two values unused (serde keeps the
 * last): refuse it rather than guess which the writer meant. */
static int no_duplicates(StReader *r, StKey *keys, size_t n, const char *where)
{
    if (n > 1)   /* keys is NULL when there are none, which qsort may not see */
        qsort(keys, n, sizeof *keys, key_cmp);
    for (size_t i = 1; i < n; i++)
        if (key_cmp(&keys[i - 1], &keys[i]) == 0)
            return err_set(r->err, "duplicate key %s in %s", show(&r->f->arena, keys[i].s, keys[i].len, 1, ST_SHOW),
                           where);
    return 0;
}

/* __metadata__: an object of string -> string, one summary line each. */
static int read_metadata(StReader *r)
{
    Arena *a = &r->f->arena;
    Tok t, v;
    StKey *keys = NULL;   /* caller frees: below */
    size_t n = 0, cap = 0;
    int rc = -1;
    if (lex(&r->L, &t) < 0)
        return -1;
    if (t.kind != JT_LBRACE)
        return err_set(r->err, "__metadata__ is %s, not an object of strings", tok_what(t.kind));
    if (expect(r, &t, JT_STRING, JT_RBRACE) < 0)
        return -1;
    while (t.kind == JT_STRING) {
        if (!text(r, &t))
            goto out;
        const char *k = show(a, t.str, t.len, 0, ST_SHOW);
        if (n == cap) {
            StKey *nk = cap > SIZE_MAX / 2 / sizeof *keys ? NULL : realloc(keys, (cap * 2 + 8) * sizeof *keys);
            if (!nk) {
                err_set(r->err, "out of memory");
                goto out;
            }
            keys = nk;
            cap = cap * 2 + 8;
        }
        keys[n++] = (StKey){t.str, t.len};
        if (expect(r, &t, JT_COLON, JT_COLON) < 0 || lex(&r->L, &v) < 0)
            goto out;
        if (v.kind != JT_STRING) {
            err_set(r->err, "__metadata__ entry '%s' is %s, not a string", k, tok_what(v.kind));
            goto out;
        }
        if (!text(r, &v))
            goto out;
        pt_summary(r->f, "%s = %s", k, show(a, v.str, v.len, 1, ST_SHOW));
        if (expect(r, &t, JT_COMMA, JT_RBRACE) < 0 ||
            (t.kind == JT_COMMA && expect(r, &t, JT_STRING, JT_STRING) < 0))
            goto out;
    }
    rc = no_duplicates(r, keys, n, "__metadata__");
out:
    free(keys);
    return rc;
}

/* The top-level object: tensors and at most one __metadata__. */
static int read_header(StReader *r)
{
    Tok t;
    if (lex(&r->L, &t) < 0)
        return -1;
    if (t.kind != JT_LBRACE)
        return err_set(r->err, "header is %s, not a JSON object", tok_what(t.kind));
    if (expect(r, &t, JT_STRING, JT_RBRACE) < 0)
        return -1;
    while (t.kind == JT_STRING) {
        if (r->nkeys == r->cap)
            return err_set(r->err, "malformed header");
        if (!text(r, &t))
            return -1;
        r->keys[r->nkeys++] = (StKey){t.str, t.len};
        Tok key = t;
        if (expect(r, &t, JT_COLON, JT_COLON) < 0)
            return -1;
        if (str_is(r, &key, "__metadata__") ? read_metadata(r) < 0 : read_tensor(r, &key) < 0)
            return -1;
        if (expect(r, &t, JT_COMMA, JT_RBRACE) < 0)
            return -1;
        if (t.kind == JT_COMMA && expect(r, &t, JT_STRING, JT_STRING) < 0)
            return -1;
    }
    return no_duplicates(r, r->keys, r->nkeys, "the header");
}

/* ------------------------------------------------------------- tiling */

static int by_offsets(const void *pa, const void *pb)
{
    const StEntry *a = *(const StEntry *const *)pa, *b = *(const StEntry *const *)pb;
    if (a->begin != b->begin)
        return a->begin < b->begin ? -1 : 1;
    if (a->end != b->end)
        return a->end < b->end ? -1 : 1;
    return (a->index > b->index) - (a->index < b->index);
}

/* Sorted by offsets, the tensors' byte ranges must tile [0, datalen): the
 * reference's validate() demands each start where the previous ended and
 * the last end at the end of the file, so every data byte belongs to
 * exactly one tensor. */
static int check_tiling(StReader *r, uint64_t datalen)
{
    const StEntry **ord = malloc((r->nents + 1) * sizeof *ord);   /* caller frees: below */
    if (!ord)
        return err_set(r->err, "out of memory");
    for (size_t i = 0; i < r->nents; i++)
        ord[i] = &r->ents[i];
    if (r->nents > 1)
        qsort(ord, r->nents, sizeof *ord, by_offsets);
    uint64_t at = 0;
    const StEntry *prev = NULL;
    int rc = 0;
    for (size_t i = 0; i < r->nents && rc == 0; i++) {
        const StEntry *e = ord[i];
        if (e->begin > at)
            rc = err_set(r->err, "gap in the data: bytes [%llu, %llu) before tensor %s belong to no tensor",
                         (unsigned long long)at, (unsigned long long)e->begin, nm(r, e));
        else if (e->begin < at)
            rc = err_set(r->err, "tensor %s (bytes [%llu, %llu)) overlaps tensor %s (bytes [%llu, %llu))", nm(r, e),
                         (unsigned long long)e->begin, (unsigned long long)e->end, nm(r, prev),
                         (unsigned long long)prev->begin, (unsigned long long)prev->end);
        else if (e->end > datalen)
            rc = err_set(r->err, "tensor %s ends at byte %llu, past the end of the data (%llu bytes)", nm(r, e),
                         (unsigned long long)e->end, (unsigned long long)datalen);
        at = e->end;
        prev = e;
    }
    free(ord);
    if (rc == 0 && at != datalen)
        rc = err_set(r->err, "metadata incomplete buffer: the tensors cover %llu of the %llu data bytes",
                     (unsigned long long)at, (unsigned long long)datalen);
    return rc;
}

/* --------------------------------------------------------------- open */

static size_t skip_ws(const uint8_t *s, size_t i, size_t n)
{
    while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r'))
        i++;
    return i;
}

/* Only the first bytes are looked at, so that a truncated or oversized
 * file is still recognised and told what is wrong with it.  A header that
 * opens an array is recognised too: it is a safetensors file whose top
 * level is not an object, and deserves that message. */
int st_sniff(const uint8_t *b, uint64_t n)
{
    if (n < 9)
        return 0;
    uint64_t hn = rd_u64(b);
    if (hn < 2)
        return 0;
    size_t lim = (size_t)(n - 8 < hn ? n - 8 : hn), i = skip_ws(b + 8, 0, lim);
    return i < lim && (b[8 + i] == '{' || b[8 + i] == '[');
}

/* Rust's str::from_utf8 refuses encoded surrogates (ED A0..BF ..), which
 * utf8_valid lets through for the pickle reader's sake.  In valid UTF-8 an
 * ED byte always leads a sequence, so the check is exact. */
static int has_surrogates(const uint8_t *s, size_t n)
{
    for (size_t i = 0; i + 1 < n; i++)
        if (s[i] == 0xED && s[i + 1] >= 0xA0)
            return 1;
    return 0;
}

/* One storage per tensor, keyed by its position in the header. */
static int make_tensors(StReader *r, uint64_t data_off)
{
    rcc_file *f = r->f;
    if (pt_sd_reserve(f, r->nents, r->err) < 0)
        return -1;
    for (size_t i = 0; i < r->nents; i++) {
        StEntry *e = &r->ents[i];
        char key[24];
        int64_t strides[RCC_MAX_NDIM];
        snprintf(key, sizeof key, "%zu", e->index);
        const ZipEntry *rec = pt_raw_record(f, e->name, data_off + e->begin, e->end - e->begin, r->err);
        PtStorage *st;
        PtTensor *t;
        if (!rec || entry_sizes(r, e, strides) < 0 ||
            !(st = pt_storage_new(f, key, e->dtype, 0, e->numel, rec, r->err)) ||
            !(t = pt_tensor_make(&f->arena, st, e->dtype, 0, e->ndim, shape_of(r, e), strides, r->err)) ||
            pt_sd_add(f, e->name, t, r->err) < 0)
            return -1;
    }
    return 0;
}

int st_open(rcc_file *f, Err *err)
{
    if (f->size < 8)
        return err_set(err, "file of %llu bytes is too short for a safetensors header",
                       (unsigned long long)f->size);
    uint64_t hn = rd_u64(f->base);
    if (hn > ST_MAX_HEADER)
        return err_set(err, "header too large: %llu bytes (the limit is %d)", (unsigned long long)hn, ST_MAX_HEADER);
    if (8 + hn > f->size)
        return err_set(err, "header length %llu runs past the end of the file (%llu bytes)",
                       (unsigned long long)hn, (unsigned long long)f->size);
    const uint8_t *h = f->base + 8;
    size_t n = (size_t)hn, members;
    if (!utf8_valid(h, n) || has_surrogates(h, n))
        return err_set(err, "header is not valid UTF-8");
    if (json_check(h, n, err, &members) < 0)
        return -1;

    /* members <= n / 4 (a key and its value take at least 4 bytes): the
     * tables cannot overflow and are bounded by the header's size. */
    StReader r = {.f = f, .L = {.s = h, .n = n, .a = &f->arena, .err = err}, .err = err, .cap = members};
    r.ents = calloc(members + 1, sizeof *r.ents);
    r.keys = calloc(members + 1, sizeof *r.keys);
    int rc = -1;
    if (!r.ents || !r.keys)
        err_set(err, "out of memory");
    else if (read_header(&r) == 0 && check_tiling(&r, f->size - 8 - hn) == 0 && make_tensors(&r, 8 + hn) == 0)
        rc = 0;
    free(r.ents);
    free(r.keys);
    free(r.dims);
    if (rc == 0) {
        f->format = "safetensors";
        f->sd_path = "";
    }
    return rc;
}
