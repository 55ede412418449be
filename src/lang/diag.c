/* diag.c — the diagnostic sink: spans in, compiler-style messages out.
 *
 * Everything upstream speaks in byte spans; lines and columns exist only
 * here, worked out from each file's line table when the diagnostics are
 * rendered, after the compilation has said all it has to say (errors are
 * counted, never fatal).  A diagnostic prints as
 *
 *   model.arch:12:5: error: message
 *      12 |   fc = Linear(512, 1000)
 *         |        ^~~~~~~~~~~~~~~~~
 *
 * with the caret line under the whole span (clipped to its first line).
 * Columns in the header are 1-based byte columns; the picture expands tabs
 * (to multiples of 8) and shows bytes that are not printable UTF-8 as
 * <XX>, and the carets are laid out with the very same widths.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arch.h"

enum { TABSTOP = 8, GUTTER_MIN = 5 };

static const char *const level_names[] = {"error", "warning", "note", "help"};

void diag_init(Diags *d, Arena *a)
{
    memset(d, 0, sizeof *d);
    d->arena = a;
}

uint32_t diag_add_file(Diags *d, const char *path, const char *text, size_t len)
{
    if (d->nfiles >= UINT32_MAX - 1)
        return UINT32_MAX;
    size_t nlines = 1;
    for (const char *p = text, *end = text + len; (p = memchr(p, '\n', (size_t)(end - p))); p++)
        nlines++;
    char *pcopy = arena_strndup(d->arena, path, strlen(path));
    char *tcopy = arena_strndup(d->arena, text, len);
    size_t *lines = arena_array(d->arena, nlines, sizeof *lines);
    if (!pcopy || !tcopy || !lines ||
        arena_grow(d->arena, (void **)&d->files, &d->files_cap, d->nfiles + 1, sizeof *d->files) < 0)
        return UINT32_MAX;
    size_t k = 0;
    lines[k++] = 0;
    for (size_t i = 0; i < len; i++)
        if (text[i] == '\n')
            lines[k++] = i + 1;
    d->files[d->nfiles] = (SrcFile){pcopy, tcopy, len, lines, nlines};
    return (uint32_t)d->nfiles++;
}

void diag(Diags *d, DiagLevel lvl, Span sp, const char *fmt, ...)
{
    if (lvl == DG_ERROR)
        d->nerrors++;
    else if (lvl == DG_WARNING)
        d->nwarnings++;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *msg = n >= 0 ? arena_alloc(d->arena, (size_t)n + 1) : NULL;
    if (msg) {
        va_start(ap, fmt);
        vsnprintf(msg, (size_t)n + 1, fmt, ap);
        va_end(ap);
    }
    if (arena_grow(d->arena, (void **)&d->list, &d->cap, d->n + 1, sizeof *d->list) < 0)
        return;     /* still counted */
    d->list[d->n++] = (DiagEntry){lvl, sp, msg ? msg : "(out of memory)"};
}

static const SrcFile *file_of(const Diags *d, uint32_t file)
{
    return file < d->nfiles ? &d->files[file] : NULL;
}

/* The 0-based index of the line holding offset off (clamped to the text). */
static size_t line_index(const SrcFile *f, size_t off)
{
    size_t lo = 0, hi = f->nlines;      /* lines[lo] <= off < lines[hi] */
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (f->lines[mid] <= off)
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}

void diag_position(const Diags *d, uint32_t file, uint32_t off, size_t *line, size_t *col)
{
    const SrcFile *f = file_of(d, file);
    if (!f) {
        *line = *col = 0;
        return;
    }
    size_t o = off < f->len ? off : f->len;
    size_t l = line_index(f, o);
    *line = l + 1;
    *col = o - f->lines[l] + 1;
}

const char *diag_span_text(const Diags *d, Span sp, char *buf, size_t cap)
{
    const SrcFile *f = file_of(d, sp.file);
    if (!f || sp.hi <= sp.lo || sp.hi > f->len || cap < 8) {
        snprintf(buf, cap, "?");
        return buf;
    }
    const char *t = f->text + sp.lo;
    size_t n = sp.hi - sp.lo, all = n;
    const char *nl = memchr(t, '\n', n);
    if (nl)
        n = (size_t)(nl - t);
    if (n > cap - 4)
        n = cap - 4;
    memcpy(buf, t, n);
    strcpy(buf + n, n < all ? "..." : "");
    return buf;
}

/* ------------------------------------------------------------- rendering */

/* One character of a source line at s[0..avail), shown at display column
 * col: returns its width and sets *n to the bytes it takes; writes it to
 * out unless out is NULL. */
static size_t glyph(const unsigned char *s, size_t avail, size_t col, size_t *n, FILE *out)
{
    unsigned c = s[0];
    *n = 1;
    if (c == '\t') {
        size_t w = TABSTOP - col % TABSTOP;
        if (out)
            fprintf(out, "%*s", (int)w, "");
        return w;
    }
    if (c >= 0x20 && c < 0x7f) {
        if (out)
            fputc((int)c, out);
        return 1;
    }
    size_t k = c >= 0xC2 && c <= 0xDF ? 2 : c >= 0xE0 && c <= 0xEF ? 3 : c >= 0xF0 && c <= 0xF4 ? 4 : 0;
    if (k && k <= avail && utf8_valid(s, k)) {
        *n = k;
        if (out)
            fwrite(s, 1, k, out);
        return 1;
    }
    if (out)
        fprintf(out, "<%02X>", c);
    return 4;
}

static int digits(size_t v)
{
    int n = 1;
    while (v >= 10) {
        v /= 10;
        n++;
    }
    return n;
}

/* The source line of sp.lo with the gutter, then the caret line. */
static void show_source(const SrcFile *f, Span sp, FILE *out)
{
    size_t lo = sp.lo < f->len ? sp.lo : f->len;
    size_t hi = sp.hi < f->len ? sp.hi : f->len;
    if (hi < lo)
        hi = lo;
    size_t l = line_index(f, lo);
    const unsigned char *t = (const unsigned char *)f->text;
    size_t ls = f->lines[l];
    size_t le = l + 1 < f->nlines ? f->lines[l + 1] - 1 : f->len;    /* at its '\n' */
    if (le > ls && t[le - 1] == '\r')
        le--;
    int w = digits(l + 1) > GUTTER_MIN ? digits(l + 1) : GUTTER_MIN;

    fprintf(out, "%*zu | ", w, l + 1);
    size_t col = 0, n;
    for (size_t i = ls; i < le; i += n)
        col += glyph(t + i, le - i, col, &n, out);
    fputc('\n', out);

    /* Columns [c0, c1) are under the span; an empty span (or one that
     * starts past the end of the line) gets a single caret where it is. */
    size_t c0 = SIZE_MAX, c1 = 0, at = SIZE_MAX;
    col = 0;
    for (size_t i = ls; i < le; i += n) {
        size_t gw = glyph(t + i, le - i, col, &n, NULL);
        if (at == SIZE_MAX && i + n > lo)
            at = col;
        if (i + n > lo && i < hi) {
            if (c0 == SIZE_MAX)
                c0 = col;
            c1 = col + gw;
        }
        col += gw;
    }
    if (c0 == SIZE_MAX) {
        c0 = at == SIZE_MAX ? col : at;
        c1 = c0 + 1;
    }
    fprintf(out, "%*s | %*s^", w, "", (int)c0, "");
    for (size_t i = c0 + 1; i < c1; i++)
        fputc('~', out);
    fputc('\n', out);
}

/* diag_render to out through a memory buffer: the picture goes out glyph
 * by glyph, and stderr, unbuffered, would make each a system call (a
 * second for 10,000 diagnostics); here it is one write. */
static void render(const Diags *d, FILE *out);

void diag_render(const Diags *d, FILE *out)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    if (!m) {
        render(d, out);
        return;
    }
    render(d, m);
    if (fclose(m) == 0)
        fwrite(buf, 1, len, out);
    else
        render(d, out);
    free(buf);
}

static void render(const Diags *d, FILE *out)
{
    for (size_t i = 0; i < d->n; i++) {
        const DiagEntry *e = &d->list[i];
        const SrcFile *f = file_of(d, e->span.file);
        if (!f) {
            fprintf(out, "%s: %s\n", level_names[e->level], e->msg);
            continue;
        }
        size_t line, col;
        diag_position(d, e->span.file, e->span.lo, &line, &col);
        fprintf(out, "%s:%zu:%zu: %s: %s\n", f->path, line, col, level_names[e->level], e->msg);
        show_source(f, e->span, out);
    }
    if (d->nerrors && d->nwarnings)
        fprintf(out, "%zu error%s, %zu warning%s generated.\n", d->nerrors, d->nerrors == 1 ? "" : "s",
                d->nwarnings, d->nwarnings == 1 ? "" : "s");
    else if (d->nerrors)
        fprintf(out, "%zu error%s generated.\n", d->nerrors, d->nerrors == 1 ? "" : "s");
    else if (d->nwarnings)
        fprintf(out, "%zu warning%s generated.\n", d->nwarnings, d->nwarnings == 1 ? "" : "s");
}


/* end_line/end_column: the position of span.hi, one past the last byte. */
void diag_render_json(const Diags *d, FILE *out)
{
    fputs("{\"diagnostics\": [", out);
    for (size_t i = 0; i < d->n; i++) {
        const DiagEntry *e = &d->list[i];
        const SrcFile *f = file_of(d, e->span.file);
        fprintf(out, "%s\n  {\"level\": \"%s\", \"file\": ", i ? "," : "", level_names[e->level]);
        if (f) {
            size_t line, col, eline, ecol;
            diag_position(d, e->span.file, e->span.lo, &line, &col);
            diag_position(d, e->span.file, e->span.hi > e->span.lo ? e->span.hi : e->span.lo, &eline, &ecol);
            util_json_string(out, f->path);
            fprintf(out, ", \"line\": %zu, \"column\": %zu, \"end_line\": %zu, \"end_column\": %zu", line, col,
                    eline, ecol);
        } else {
            fputs("null, \"line\": null, \"column\": null, \"end_line\": null, \"end_column\": null", out);
        }
        fputs(", \"message\": ", out);
        util_json_string(out, e->msg);
        fputc('}', out);
    }
    fprintf(out, "%s], \"errors\": %zu, \"warnings\": %zu}\n", d->n ? "\n" : "", d->nerrors, d->nwarnings);
}
