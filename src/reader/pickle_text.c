/* pickle_text.c — the operands of pickle protocols 0 and 1's text opcodes.
 *
 * INT, LONG, FLOAT, STRING, UNICODE, PUT, GET and PERSID carry their
 * operand as one '\n'-terminated line.  These decoders turn a line into a
 * value, as CPython's _pickle does, but more strictly where CPython is
 * lax or its two implementations disagree (pickle.py's int(x, 0) and
 * _pickle.c's strtol read "010" differently): a line is accepted only in
 * the form pickle.py's and _pickle.c's writers produce and both readers
 * read alike.  Nothing here sees the VM: pickle.c finds the line
 * (ptx_line), passes its bytes, and pushes what comes back; every
 * message names the problem and pickle.c adds where it is.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

const char *ptx_line(const uint8_t *p, size_t avail, size_t max, size_t *len)
{
    size_t scan = avail < max + 1 ? avail : max + 1;   /* the '\n' may be byte max */
    const uint8_t *nl = memchr(p, '\n', scan);
    if (!nl)
        return avail <= max ? "is not terminated by a newline (truncated pickle)"
                            : "is a line longer than the limit";
    *len = (size_t)(nl - p);
    return NULL;
}

/* ------------------------------------------------------------------ ints */

/* Magnitude of a decimal number in 32-bit limbs, little-endian. */
static size_t mag_from_decimal(const uint8_t *d, size_t n, uint32_t *limb)
{
    size_t nl = 0;
    for (size_t i = 0; i < n;) {
        uint32_t chunk = 0, mul = 1;
        for (int k = 0; k < 9 && i < n; k++, i++) {
            chunk = chunk * 10 + (uint32_t)(d[i] - '0');
            mul *= 10;
        }
        uint64_t carry = chunk;
        for (size_t j = 0; j < nl; j++) {
            uint64_t t = (uint64_t)limb[j] * mul + carry;
            limb[j] = (uint32_t)t;
            carry = t >> 32;
        }
        if (carry)
            limb[nl++] = (uint32_t)carry;
    }
    return nl;
}

const char *ptx_int(const uint8_t *s, size_t n, int is_long, uint8_t *out, size_t *nout, int *boolean)
{
    *boolean = -1;
    if (!is_long && n == 2 && s[0] == '0' && (s[1] == '0' || s[1] == '1')) {
        *boolean = s[1] == '1';   /* I00 / I01: False / True, as load_int reads them */
        return NULL;
    }
    /* _pickle.c's load_int makes a bool of any 2-character 0 or 1 ("+1",
     * "-0", "+0"), pickle.py's an int: neither reading is safe to pick. */
    if (!is_long && n == 2 && (s[0] == '+' || s[0] == '-') && (s[1] == '0' || s[1] == '1') &&
        !(s[0] == '-' && s[1] == '1'))
        return "is ambiguous (a bool to _pickle, an int to pickle.py)";
    if (is_long && n && s[n - 1] == 'L')
        n--;
    int neg = 0;
    if (n && (s[0] == '-' || s[0] == '+')) {
        neg = s[0] == '-';
        s++;
        n--;
    }
    if (n == 0)
        return "has no digits";
    if (n > PTX_MAX_DIGITS)
        return "has more than 4300 digits (Python's int() limit)";
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return "is not a decimal integer";
    if (n > 1 && s[0] == '0')   /* int(x, 0) refuses it, strtol reads it as octal */
        return "has a leading zero (octal to strtol, an error to int())";

    /* 4300 digits < 14286 bits < 447 limbs */
    uint32_t limb[(PTX_MAX_DIGITS * 3322 / 1000 + 32) / 32 + 1];
    size_t nl = mag_from_decimal(s, n, limb);
    size_t nb = 0;   /* the magnitude's bytes, little-endian */
    for (size_t j = 0; j < nl; j++)
        for (int k = 0; k < 4; k++)
            out[nb++] = (uint8_t)(limb[j] >> (8 * k));
    while (nb && out[nb - 1] == 0)
        nb--;
    if (nb == 0) {
        *nout = 0;
        return NULL;
    }
    if (!neg) {
        if (out[nb - 1] & 0x80)
            out[nb++] = 0;
    } else {
        unsigned carry = 1;   /* ~mag + 1 over nb bytes */
        for (size_t i = 0; i < nb; i++) {
            unsigned t = (uint8_t)~out[i] + carry;
            out[i] = (uint8_t)t;
            carry = t >> 8;
        }
        if (!(out[nb - 1] & 0x80))   /* mag > 2^(8nb-1): one more byte of sign */
            out[nb++] = 0xff;
    }
    *nout = nb;   /* <= 1787 + 1 < PTX_INT_BYTES */
    return NULL;
}

/* ---------------------------------------------------------------- floats */

static int ci_eq(const uint8_t *s, size_t n, const char *w)
{
    if (strlen(w) != n)
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((s[i] | 0x20) != w[i])
            return 0;
    return 1;
}

const char *ptx_float(const uint8_t *s, size_t n, double *d)
{
    static const char bad[] = "is not a decimal float";
    if (n == 0 || n > PTX_MAX_FLOAT)
        return n ? "is a line longer than the limit" : bad;
    size_t i = (s[0] == '-' || s[0] == '+');
    if (ci_eq(s + i, n - i, "inf") || ci_eq(s + i, n - i, "infinity") || ci_eq(s + i, n - i, "nan")) {
        int neg = s[0] == '-';
        *d = (s[i] | 0x20) == 'n' ? (neg ? -NAN : NAN) : (neg ? -INFINITY : INFINITY);
        return NULL;
    }
    /* digits [. digits] [e [sign] digits], with a digit on one side of the point */
    size_t m = 0;
    for (; i < n && s[i] >= '0' && s[i] <= '9'; i++)
        m++;
    if (i < n && s[i] == '.')
        for (i++; i < n && s[i] >= '0' && s[i] <= '9'; i++)
            m++;
    if (m == 0)
        return bad;
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < n && (s[i] == '-' || s[i] == '+'))
            i++;
        size_t e = 0;
        for (; i < n && s[i] >= '0' && s[i] <= '9'; i++)
            e++;
        if (e == 0)
            return bad;
    }
    if (i != n)
        return bad;
    char buf[PTX_MAX_FLOAT + 1];
    memcpy(buf, s, n);
    buf[n] = 0;
    char *end;
    errno = 0;
    double v = strtod(buf, &end);
    if (end != buf + n)
        return bad;
    if (isinf(v))   /* the text is finite (inf was handled above) */
        return "is out of range";
    *d = v;
    return NULL;
}

/* --------------------------------------------------------------- strings */

static int hexval(uint8_t c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
         : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

Pv *ptx_string(Arena *a, const uint8_t *s, size_t n, const char **why)
{
    if (n < 2 || s[0] != s[n - 1] || (s[0] != '\'' && s[0] != '"')) {
        *why = n && (s[0] == '\'' || s[0] == '"') ? "has mismatched quotes" : "is not quoted";
        return NULL;
    }
    s++;
    n -= 2;
    uint8_t *buf = malloc(n ? n : 1);   /* escapes only shrink */
    if (!buf) {
        *why = "out of memory";
        return NULL;
    }
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        uint8_t c = s[i++];
        if (c != '\\') {
            buf[o++] = c;
            continue;
        }
        if (i == n) {
            free(buf);
            *why = "ends in a lone backslash";
            return NULL;
        }
        c = s[i++];
        switch (c) {
        case '\n': break;   /* a line continuation */
        case '\\': buf[o++] = '\\'; break;
        case '\'': buf[o++] = '\''; break;
        case '"': buf[o++] = '"'; break;
        case 'a': buf[o++] = 7; break;
        case 'b': buf[o++] = 8; break;
        case 'f': buf[o++] = 12; break;
        case 'n': buf[o++] = 10; break;
        case 'r': buf[o++] = 13; break;
        case 't': buf[o++] = 9; break;
        case 'v': buf[o++] = 11; break;
        case 'x': {
            int h = i + 1 < n ? hexval(s[i]) : -1, l = h >= 0 ? hexval(s[i + 1]) : -1;
            if (l < 0) {
                free(buf);
                *why = "has an invalid \\x escape";
                return NULL;
            }
            buf[o++] = (uint8_t)(h << 4 | l);
            i += 2;
            break;
        }
        default:
            if (c >= '0' && c <= '7') {
                unsigned v = c - '0';
                for (int k = 0; k < 2 && i < n && s[i] >= '0' && s[i] <= '7'; k++)
                    v = v << 3 | (unsigned)(s[i++] - '0');
                buf[o++] = (uint8_t)v;   /* \777: the low byte, as CPython keeps it */
            } else {
                buf[o++] = '\\';   /* an unknown escape stays as written */
                buf[o++] = c;
            }
        }
    }
    Pv *v = pv_strk(a, utf8_valid(buf, o) ? PV_STR : PV_BYTES, (const char *)buf, o);
    free(buf);
    if (!v)
        *why = "out of memory";
    return v;
}

static size_t put_utf8(uint8_t *o, uint32_t cp)
{
    if (cp < 0x80) {
        o[0] = (uint8_t)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (uint8_t)(0xC0 | cp >> 6);
        o[1] = (uint8_t)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {   /* surrogates too, as 'surrogatepass' writes them */
        o[0] = (uint8_t)(0xE0 | cp >> 12);
        o[1] = (uint8_t)(0x80 | (cp >> 6 & 0x3F));
        o[2] = (uint8_t)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (uint8_t)(0xF0 | cp >> 18);
    o[1] = (uint8_t)(0x80 | (cp >> 12 & 0x3F));
    o[2] = (uint8_t)(0x80 | (cp >> 6 & 0x3F));
    o[3] = (uint8_t)(0x80 | (cp & 0x3F));
    return 4;
}

/* raw-unicode-escape, as CPython's _PyUnicode_DecodeRawUnicodeEscape: a
 * backslash escapes the character after it only when that is u or U (so
 * that \\u is a backslash pair, then 'u'); every other byte is a Latin-1
 * code point. */
Pv *ptx_unicode(Arena *a, const uint8_t *s, size_t n, const char **why)
{
    if (n > (SIZE_MAX - 1) / 2) {
        *why = "out of memory";
        return NULL;
    }
    uint8_t *buf = malloc(2 * n + 1);   /* a Latin-1 byte takes 2, an escape less than its text */
    if (!buf) {
        *why = "out of memory";
        return NULL;
    }
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        uint8_t c = s[i++];
        if (c != '\\' || i == n) {
            o += put_utf8(buf + o, c);
            continue;
        }
        c = s[i++];
        if (c != 'u' && c != 'U') {
            buf[o++] = '\\';   /* \\ or \c: both characters kept */
            o += put_utf8(buf + o, c);
            continue;
        }
        int count = c == 'u' ? 4 : 8;
        uint32_t cp = 0;
        for (int k = 0; k < count; k++, i++) {
            int h = i < n ? hexval(s[i]) : -1;
            if (h < 0) {
                free(buf);
                *why = count == 4 ? "has a truncated \\uXXXX escape"
                                  : "has a truncated \\UXXXXXXXX escape";
                return NULL;
            }
            cp = cp << 4 | (uint32_t)h;
        }
        if (cp > 0x10FFFF) {
            free(buf);
            *why = "has a \\U escape beyond U+10FFFF";
            return NULL;
        }
        o += put_utf8(buf + o, cp);
    }
    Pv *v = pv_strk(a, PV_STR, (const char *)buf, o);
    free(buf);
    if (!v)
        *why = "out of memory";
    return v;
}

/* ------------------------------------------------------------ memo, pid */

const char *ptx_memo_index(const uint8_t *s, size_t n, uint32_t *idx)
{
    if (n && s[0] == '-')
        return "is a negative memo index";
    if (n == 0)
        return "is not a decimal memo index";
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return "is not a decimal memo index";
        v = v * 10 + (uint64_t)(s[i] - '0');
        if (v > UINT32_MAX)
            return "is a memo index beyond 2^32 - 1";
    }
    *idx = (uint32_t)v;
    return NULL;
}

const char *ptx_persid(const uint8_t *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] > 0x7f)
            return "is not ASCII";
    return NULL;
}
