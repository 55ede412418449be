/* util.c — errors as values and UTF-8 validation.
 *
 * The reader reports failure by filling an Err and returning -1 or NULL up
 * the call chain; the first message recorded is kept, since it comes from
 * the place that knew exactly what was wrong. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

int err_set(Err *e, const char *fmt, ...)
{
    if (e && !e->set) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(e->msg, sizeof e->msg, fmt, ap);
        va_end(ap);
        e->set = 1;
    }
    return -1;
}

void err_copy(const Err *e, char *buf, size_t len)
{
    if (!buf || len == 0)
        return;
    snprintf(buf, len, "%s", e->set ? e->msg : "unknown error");
}

int utf8_valid(const uint8_t *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        uint8_t c = s[i];
        size_t need;
        uint32_t cp;
        if (c < 0x80) { i++; continue; }
        if (c >= 0xC2 && c <= 0xDF) { need = 1; cp = c & 0x1F; }
        else if (c >= 0xE0 && c <= 0xEF) { need = 2; cp = c & 0x0F; }
        else if (c >= 0xF0 && c <= 0xF4) { need = 3; cp = c & 0x07; }
        else return 0;
        if (n - i - 1 < need)
            return 0;
        for (size_t k = 1; k <= need; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                return 0;
            cp = cp << 6 | (s[i + k] & 0x3F);
        }
        if ((need == 2 && cp < 0x800) || (need == 3 && (cp < 0x10000 || cp > 0x10FFFF)))
            return 0;
        i += need + 1;
    }
    return 1;
}

/* Optimal-string-alignment distance: Levenshtein plus a transposition
 * of neighbours as one edit ("bais" is one edit from "bias"). */
size_t str_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 120 || lb > 120)
        return (size_t)-1;
    static size_t m[121][121];
    for (size_t i = 0; i <= la; i++)
        m[i][0] = i;
    for (size_t j = 0; j <= lb; j++)
        m[0][j] = j;
    for (size_t i = 1; i <= la; i++)
        for (size_t j = 1; j <= lb; j++) {
            size_t best = m[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
            if (m[i - 1][j] + 1 < best)
                best = m[i - 1][j] + 1;
            if (m[i][j - 1] + 1 < best)
                best = m[i][j - 1] + 1;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] && m[i - 2][j - 2] + 1 < best)
                best = m[i - 2][j - 2] + 1;
            m[i][j] = best;
        }
    return m[la][lb];
}

/* A JSON string: the escapes JSON requires, valid UTF-8 as is, and any
 * byte that is not part of valid UTF-8 as U+FFFD. */
void util_json_string(FILE *out, const char *str)
{
    const unsigned char *s = (const unsigned char *)str;
    fputc('"', out);
    while (*s) {
        unsigned c = *s;
        size_t k = c < 0x80 ? 1 : c >= 0xC2 && c <= 0xDF ? 2 : c >= 0xE0 && c <= 0xEF ? 3
                 : c >= 0xF0 && c <= 0xF4 ? 4 : 0;
        if (k > 1 && (strnlen((const char *)s, k) < k || !utf8_valid(s, k)))
            k = 0;
        if (k == 0) {
            fputs("\\ufffd", out);
            s++;
        } else if (k > 1) {
            fwrite(s, 1, k, out);
            s += k;
        } else {
            switch (c) {
            case '"': fputs("\\\"", out); break;
            case '\\': fputs("\\\\", out); break;
            case '\n': fputs("\\n", out); break;
            case '\t': fputs("\\t", out); break;
            case '\r': fputs("\\r", out); break;
            default:
                if (c < 0x20)
                    fprintf(out, "\\u%04x", c);
                else
                    fputc((int)c, out);
            }
            s++;
        }
    }
    fputc('"', out);
}

char *util_read_file(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return NULL;
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        size_t r = fread(buf + n, 1, cap - n, fp);
        n += r;
        if (n < cap)
            break;
        char *nb = cap < (64u << 20) ? realloc(buf, cap *= 2) : NULL;
        if (!nb) {
            free(buf);
            buf = NULL;
        } else {
            buf = nb;
        }
    }
    int bad = ferror(fp);
    fclose(fp);
    if (bad) {
        free(buf);
        return NULL;
    }
    *len = n;
    return buf;
}

const char *util_dims(char *buf, size_t cap, const int64_t *v, size_t n)
{
    /* Digits by hand, not one snprintf per number: dump formats two of
     * these per tensor.  Cut short (still terminated) when cap is small. */
    size_t k = 0;
    if (cap == 0)
        return buf;
#define PUT(c) (k + 1 < cap ? (void)(buf[k++] = (c)) : (void)0)
    PUT('[');
    for (size_t i = 0; i < n; i++) {
        char d[24];
        size_t nd = 0;
        uint64_t u = v[i] < 0 ? 0 - (uint64_t)v[i] : (uint64_t)v[i];
        do {
            d[nd++] = (char)('0' + (int)(u % 10));
            u /= 10;
        } while (u);
        if (i) {
            PUT(',');
            PUT(' ');
        }
        if (v[i] < 0)
            PUT('-');
        while (nd)
            PUT(d[--nd]);
    }
    PUT(']');
#undef PUT
    buf[k] = 0;
    return buf;
}

uint64_t util_hash(const void *p, size_t n)
{
    const unsigned char *s = p;
    uint64_t h = 0xcbf29ce484222325u;   /* FNV-1a */
    for (size_t i = 0; i < n; i++)
        h = (h ^ s[i]) * 0x100000001b3u;
    return h ^ (h >> 29);   /* the tables index by the low bits */
}

static size_t ptr_slot(const void *p, size_t cap)
{
    uint64_t x = (uint64_t)(uintptr_t)p;
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdu;
    x ^= x >> 33;
    return (size_t)x & (cap - 1);
}

/* p's slot: its own, or the free one it would take (the table grown
 * first when that would fill it past half); NULL when out of memory. */
static PtrSlot *ptr_find(PtrSet *s, const void *p)
{
    if ((s->n + 1) * 2 > s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 64;
        PtrSlot *slots = calloc(cap, sizeof *slots);
        if (!slots)
            return NULL;
        for (size_t i = 0; i < s->cap; i++) {
            if (!s->slots[i].key)
                continue;
            size_t j = ptr_slot(s->slots[i].key, cap);
            while (slots[j].key)
                j = (j + 1) & (cap - 1);
            slots[j] = s->slots[i];
        }
        free(s->slots);
        s->slots = slots;
        s->cap = cap;
    }
    size_t j = ptr_slot(p, s->cap);
    while (s->slots[j].key && s->slots[j].key != p)
        j = (j + 1) & (s->cap - 1);
    return &s->slots[j];
}

int ptrset_add(PtrSet *s, const void *p)
{
    PtrSlot *slot = ptr_find(s, p);
    if (!slot)
        return -1;
    if (slot->key)
        return 0;
    slot->key = p;
    s->n++;
    return 1;
}

int ptrset_put(PtrSet *s, const void *p, void *val)
{
    PtrSlot *slot = ptr_find(s, p);
    if (!slot)
        return -1;
    s->n += !slot->key;
    slot->key = p;
    slot->val = val;
    return 0;
}

void *ptrset_get(const PtrSet *s, const void *p)
{
    if (!s->n)
        return NULL;
    for (size_t j = ptr_slot(p, s->cap); s->slots[j].key; j = (j + 1) & (s->cap - 1))
        if (s->slots[j].key == p)
            return s->slots[j].val;
    return NULL;
}

void ptrset_free(PtrSet *s)
{
    free(s->slots);
    s->slots = NULL;
    s->cap = s->n = 0;
}
