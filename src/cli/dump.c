/* dump.c — `rcc dump W`: every tensor of a weight file, never truncated.
 *
 * Metadata only: names, dtypes, shapes, storages, views and totals come
 * from the archive's directory and pickle; no tensor byte is read.  The
 * table is for people (columns sized to the longest entry, a footnote for
 * shared storages); --json is for tools and follows DESIGN.md's schema.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "internal.h"

typedef struct DumpOpts {
    const char *path;
    const char *key;
    int         json;
    int         modules;   /* --modules: the module tree of a whole model */
    int         allow_calls;   /* --allow-calls */
    int         verify;    /* --verify: read every storage's bytes too */
} DumpOpts;

/* Columns on a terminal: one cell per code point of a UTF-8 name, two for
 * the wide East Asian and emoji ranges (no locale is consulted). */
static size_t cells(const char *s, size_t *bytes)
{
    static const uint32_t wide[][2] = {
        {0x1100, 0x115F}, {0x2E80, 0x303E}, {0x3041, 0xA4CF}, {0xAC00, 0xD7A3}, {0xF900, 0xFAFF},
        {0xFE30, 0xFE4F}, {0xFF00, 0xFF60}, {0xFFE0, 0xFFE6}, {0x1F300, 0x1F64F}, {0x1F900, 0x1F9FF},
        {0x20000, 0x3FFFD},
    };
    const unsigned char *p = (const unsigned char *)s;
    size_t n = 0;
    while (*p) {
        if (*p < 0x80) {   /* ASCII: one cell, no table to search */
            n++;
            p++;
            continue;
        }
        uint32_t cp = *p;
        int len = cp < 0x80 ? 1 : cp < 0xE0 ? 2 : cp < 0xF0 ? 3 : 4;
        if (len > 1)
            cp &= 0x3F >> (len - 1);
        for (int k = 1; k < len && (p[k] & 0xC0) == 0x80; k++)
            cp = cp << 6 | (p[k] & 0x3F);
        int w = 1;
        for (size_t i = 0; i < sizeof wide / sizeof *wide; i++)
            w += cp >= wide[i][0] && cp <= wide[i][1];
        n += (size_t)w;
        for (int k = 0; k < len && *p; k++)   /* names are valid UTF-8; stop at NUL regardless */
            p++;
    }
    *bytes = (size_t)((const char *)p - s);
    return n;
}

/* 1234567 -> "1,234,567" */
static const char *grouped(char *buf, uint64_t v)
{
    char tmp[32];
    int n = snprintf(tmp, sizeof tmp, "%" PRIu64, v), k = 0;
    for (int i = 0; i < n; i++) {
        if (i && (n - i) % 3 == 0)
            buf[k++] = ',';
        buf[k++] = tmp[i];
    }
    buf[k] = 0;
    return buf;
}

static int is_view(const rcc_file *f, const rcc_tensor *t)
{
    const rcc_storage *s = rcc_storage_at(f, t->storage);
    if (t->numel == 0)   /* an empty tensor views nothing, whatever its strides */
        return 0;
    int64_t expect = 1;
    for (int d = t->ndim - 1; d >= 0; d--) {
        if (t->shape[d] != 1 && t->strides[d] != expect)
            return 1;
        expect *= t->shape[d];
    }
    return t->storage_offset != 0 || t->nbytes != s->nbytes;
}

enum { DIMS_CAP = RCC_MAX_NDIM * 22 + 4 };

/* The module tree, one module per line, indented by depth:
 *   layer1.0  torchvision.models.resnet.BasicBlock
 *     layer1.0.conv1  torch.nn.modules.conv.Conv2d(in_channels=64, ...) */
static void print_modules(const rcc_file *f)
{
    size_t n = rcc_module_count(f);
    if (!n)
        printf("modules: none (the file holds a state dict, not a pickled model)\n");
    else
        printf("modules:\n");
    for (size_t i = 0; i < n; i++) {
        const rcc_module *m = rcc_module_at(f, i);
        printf("%*s%s  %s", 2 + 2 * m->depth, "", *m->path ? m->path : "(root)", m->type);
        for (size_t k = 0; k < m->nattrs; k++)
            printf("%s%s=%s", k ? ", " : "(", m->attrs[k].name, m->attrs[k].repr);
        printf("%s\n", m->nattrs ? ")" : "");
    }
    /* The classes torch.load would import to rebuild the objects: code on
     * the loading side, named so that a user knows what it trusts. */
    int first = 1;
    for (size_t i = 0; i < rcc_global_count(f); i++) {
        const rcc_global *g = rcc_global_at(f, i);
        if (g->use != RCC_USE_CLASS || strncmp(g->name, "torch.", 6) == 0)
            continue;
        printf("%s%s", first ? "classes outside torch that torch.load imports: " : ", ", g->name);
        first = 0;
    }
    if (!first)
        putchar('\n');
}

/* A module attribute as a JSON value. */
static void json_attr(const rcc_attr *a)
{
    switch (a->kind) {
    case RCC_ATTR_NONE: fputs("null", stdout); break;
    case RCC_ATTR_BOOL: fputs(a->i ? "true" : "false", stdout); break;
    case RCC_ATTR_INT: printf("%" PRId64, a->i); break;
    case RCC_ATTR_FLOAT:   /* the shortest form that reads back; JSON has no nan/inf */
        if (a->f - a->f == 0)
            fputs(a->repr, stdout);
        else
            cli_json_string(stdout, a->repr);
        break;
    case RCC_ATTR_STR: cli_json_string(stdout, a->s); break;
    case RCC_ATTR_INTS:
        putchar('[');
        for (size_t i = 0; i < a->n; i++)
            printf(i ? ", %" PRId64 : "%" PRId64, a->ints[i]);
        putchar(']');
        break;
    case RCC_ATTR_OTHER: cli_json_string(stdout, a->repr); break;
    }
}

static void json_modules(const rcc_file *f)
{
    fputs(" \"modules\": [", stdout);
    for (size_t i = 0; i < rcc_module_count(f); i++) {
        const rcc_module *m = rcc_module_at(f, i);
        fputs(i ? ",\n  {\"path\": " : "\n  {\"path\": ", stdout);
        cli_json_string(stdout, m->path);
        fputs(", \"type\": ", stdout);
        cli_json_string(stdout, m->type);
        fputs(", \"attrs\": {", stdout);
        for (size_t k = 0; k < m->nattrs; k++) {
            fputs(k ? ", " : "", stdout);
            cli_json_string(stdout, m->attrs[k].name);
            fputs(": ", stdout);
            json_attr(&m->attrs[k]);
        }
        fputs("}}", stdout);
    }
    fputs(rcc_module_count(f) ? "\n ],\n" : "],\n", stdout);
}

/* strlen(util_dims(v, n)) without writing it: "[", the numbers, ", "
 * between them, "]" (DIMS_CAP holds any RCC_MAX_NDIM of them whole). */
static size_t dims_width(const int64_t *v, int n)
{
    size_t w = 2;
    for (int i = 0; i < n; i++) {
        uint64_t u = v[i] < 0 ? 0 - (uint64_t)v[i] : (uint64_t)v[i];
        w += (i ? 2 : 0) + (v[i] < 0);
        do {
            w++;
            u /= 10;
        } while (u);
    }
    return w;
}

/* v in decimal, in buf[24]; returns where the digits start. */
static const char *decimal(char *buf, uint64_t v)
{
    char *p = buf + 23;
    *p = 0;
    do {
        *--p = (char)('0' + (int)(v % 10));
        v /= 10;
    } while (v);
    return p;
}

static void pad(size_t n)
{
    static const char spaces[32] = "                                ";   /* no NUL: sized to fit */
    for (; n > sizeof spaces; n -= sizeof spaces)
        fwrite(spaces, 1, sizeof spaces, stdout);
    fwrite(spaces, 1, n, stdout);
}

/* "  " then s, padded with spaces to width (which fits the row: no column
 * is wider than its longest entry, each bounded by DIMS_CAP). */
static char *cell(char *o, const char *s, size_t width)
{
    size_t n = strlen(s);
    *o++ = ' ';
    *o++ = ' ';
    memcpy(o, s, n);
    o += n;
    for (; n < width; n++)
        *o++ = ' ';
    return o;
}

static void print_table(const rcc_file *f, const DumpOpts *o)
{
    size_t n = rcc_tensor_count(f), wname = 4, wdtype = 5, wshape = 5, wstor = 7, wstride = 7;
    char a[DIMS_CAP], a2[DIMS_CAP], b[32], c[32];
    uint64_t elems = 0, bytes = 0, shared = 0, used = 0;
    /* Each name's cells and bytes, or NULL: counted again. */
    struct { size_t cells, bytes; } *namew = malloc((n + 1) * sizeof *namew);
    for (size_t i = 0; i < n; i++) {
        const rcc_tensor *t = rcc_tensor_at(f, i);
        size_t nb, l = cells(t->name, &nb);
        if (namew) {
            namew[i].cells = l;
            namew[i].bytes = nb;
        }
        wname = l > wname ? l : wname;
        l = strlen(rcc_dtype_name(t->dtype));
        wdtype = l > wdtype ? l : wdtype;
        l = dims_width(t->shape, t->ndim);
        wshape = l > wshape ? l : wshape;
        l = dims_width(t->strides, t->ndim);
        wstride = l > wstride ? l : wstride;
        l = strlen(rcc_storage_at(f, t->storage)->key) + 1;
        wstor = l > wstor ? l : wstor;
        elems += t->numel;
    }
    for (size_t i = 0; i < rcc_storage_count(f); i++) {
        const rcc_storage *s = rcc_storage_at(f, i);
        if (s->users) {
            bytes += s->nbytes;
            shared += s->users > 1;
            used++;
        }
    }
    const char *sd = rcc_state_dict_path(f);
    static const struct { const char *format, *what; } kinds[] = {
        {"zip", "torch.save zip archive"}, {"torchscript", "TorchScript archive (torch.jit.save)"},
        {"legacy", "legacy torch.save file (PyTorch < 1.6)"}, {"safetensors", "safetensors file"},
    };
    const char *what = rcc_format(f);
    for (size_t i = 0; i < sizeof kinds / sizeof *kinds; i++)
        if (strcmp(kinds[i].format, what) == 0)
            what = kinds[i].what;
    int big = strcmp(rcc_byteorder(f), "big") == 0;
    printf("# %s: %s%s%s; state dict %s%s%s\n", o->path, what, big ? ", big-endian" : "",
           rcc_damaged(f) ? " (damaged)" : "", *sd ? "at '" : "at top level", sd, *sd ? "'" : "");
    printf("%-*s  %-*s  %-*s  %-*s  %-7s  %-*s  %s\n", (int)wname, "name", (int)wdtype, "dtype", (int)wshape, "shape",
           (int)wstor, "storage", "offset", (int)wstride, "strides", "bytes");
    for (size_t i = 0; i < n; i++) {
        const rcc_tensor *t = rcc_tensor_at(f, i);
        const rcc_storage *s = rcc_storage_at(f, t->storage);
        /* The row after the name (whose length is the file's choice) is
         * bounded: it is assembled here and written at once, printf's
         * parsing of ten conversions per row being most of a large
         * dump's output time. */
        char row[DIMS_CAP * 2 + 256], stor[64], num[24], *o = row;
        size_t kl = strlen(s->key);
        kl = kl < sizeof stor - 2 ? kl : sizeof stor - 2;   /* keys are decimal: 20 digits at most */
        memcpy(stor, s->key, kl);
        if (s->users > 1)
            stor[kl++] = '*';
        stor[kl] = 0;
        size_t nb, nc;
        if (namew) {
            nc = namew[i].cells;
            nb = namew[i].bytes;
        } else {
            nc = cells(t->name, &nb);
        }
        fwrite(t->name, 1, nb, stdout);
        pad(wname - nc);
        o = cell(o, rcc_dtype_name(t->dtype), wdtype);
        o = cell(o, util_dims(a, sizeof a, t->shape, (size_t)t->ndim), wshape);
        o = cell(o, stor, wstor < sizeof stor ? wstor : sizeof stor);
        o = cell(o, decimal(num, t->storage_offset), 7);   /* >= 0: checked when the tensor was made */
        o = cell(o, util_dims(a2, sizeof a2, t->strides, (size_t)t->ndim), wstride);
        o = cell(o, decimal(num, t->nbytes), 0);
        if (is_view(f, t))
            o = cell(o, "(view)", 0);
        *o++ = '\n';
        fwrite(row, 1, (size_t)(o - row), stdout);
    }
    free(namew);
    printf("%zu tensor%s, %s elements, %s bytes (%.1f MiB) in %" PRIu64 " storage%s", n, n == 1 ? "" : "s",
           grouped(b, elems), grouped(c, bytes), (double)bytes / (1024.0 * 1024.0), used, used == 1 ? "" : "s");
    if (rcc_storage_count(f) > used)
        printf("; %" PRIu64 " more outside the state dict", (uint64_t)rcc_storage_count(f) - used);
    putchar('\n');
    if (shared)
        printf("* storage shared by several tensors (%" PRIu64 " such storage%s): tied weights or views\n", shared,
               shared == 1 ? "" : "s");
    if (o->modules)
        print_modules(f);
    if (rcc_summary_count(f)) {
        printf("other content:\n");
        for (size_t i = 0; i < rcc_summary_count(f); i++)
            printf("  %s\n", rcc_summary_at(f, i));
    }
}

static void json_dims(const int64_t *v, int n)
{
    putchar('[');
    for (int i = 0; i < n; i++)
        printf(i ? ", %" PRId64 : "%" PRId64, v[i]);
    putchar(']');
}

static void print_json(const rcc_file *f, const DumpOpts *o)
{
    size_t n = rcc_tensor_count(f);
    uint64_t elems = 0, bytes = 0;
    fputs("{\"file\": ", stdout);
    cli_json_string(stdout, o->path);
    printf(", \"format\": \"%s\", \"byteorder\": \"%s\", \"state_dict_path\": ", rcc_format(f),
           rcc_byteorder(f));
    cli_json_string(stdout, rcc_state_dict_path(f));
    fputs(",\n \"tensors\": [", stdout);
    for (size_t i = 0; i < n; i++) {
        const rcc_tensor *t = rcc_tensor_at(f, i);
        elems += t->numel;
        fputs(i ? ",\n  {\"name\": " : "\n  {\"name\": ", stdout);
        cli_json_string(stdout, t->name);
        printf(", \"dtype\": \"%s\", \"shape\": ", rcc_dtype_name(t->dtype));
        json_dims(t->shape, t->ndim);
        fputs(", \"storage\": ", stdout);
        cli_json_string(stdout, rcc_storage_at(f, t->storage)->key);
        printf(", \"offset\": %" PRId64 ", \"strides\": ", t->storage_offset);
        json_dims(t->strides, t->ndim);
        printf(", \"bytes\": %" PRIu64 ", \"parameter\": %s}", t->nbytes, t->is_parameter ? "true" : "false");
    }
    fputs("\n ],\n \"storages\": [", stdout);
    for (size_t i = 0; i < rcc_storage_count(f); i++) {
        const rcc_storage *s = rcc_storage_at(f, i);
        bytes += s->users ? s->nbytes : 0;
        fputs(i ? ",\n  {\"key\": " : "\n  {\"key\": ", stdout);
        cli_json_string(stdout, s->key);
        printf(", \"dtype\": \"%s\", \"numel\": %" PRIu64 ", \"bytes\": %" PRIu64 ", \"file_offset\": %" PRIu64
               ", \"compressed\": %s, \"users\": %zu}",
               rcc_dtype_name(s->dtype), s->numel, s->nbytes, s->file_offset, s->compressed ? "true" : "false",
               s->users);
    }
    printf("\n ],\n \"totals\": {\"tensors\": %zu, \"elements\": %" PRIu64 ", \"bytes\": %" PRIu64 "},\n", n, elems,
           bytes);
    json_modules(f);
    fputs(" \"other\": [", stdout);
    for (size_t i = 0; i < rcc_summary_count(f); i++) {
        fputs(i ? ", " : "", stdout);
        cli_json_string(stdout, rcc_summary_at(f, i));
    }
    fputs("],\n \"warnings\": [", stdout);
    for (size_t i = 0; i < rcc_warning_count(f); i++) {
        fputs(i ? ", " : "", stdout);
        cli_json_string(stdout, rcc_warning_at(f, i));
    }
    fputs("]}\n", stdout);
}

int cmd_dump(int argc, char **argv)
{
    DumpOpts o = {0};
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            o.json = 1;
        else if (strcmp(argv[i], "--modules") == 0)
            o.modules = 1;
        else if (strcmp(argv[i], "--verify") == 0)
            o.verify = 1;
        else if (strcmp(argv[i], "--allow-calls") == 0)
            o.allow_calls = 1;
        else if (strcmp(argv[i], "--key") == 0 && i + 1 < argc)
            o.key = argv[++i];
        else if (strncmp(argv[i], "--key=", 6) == 0)
            o.key = argv[i] + 6;
        else if (argv[i][0] == '-' && argv[i][1])
            return cli_error(NULL, "dump: unknown option '%s'", argv[i]);
        else if (o.path)
            return cli_error(NULL, "dump: more than one weight file given");
        else
            o.path = argv[i];
    }
    if (!o.path)
        return cli_error(NULL, "dump: no weight file given (usage: rcc dump W [--json] [--modules] [--verify] [--key PATH] [--allow-calls])");
    char err[512];
    rcc_open_options opt = {.key = o.key, .allow_calls = o.allow_calls};
    /* Piped or redirected, the table goes out in 64 KiB writes, not 4 KiB
     * ones (a dump of 20,000 tensors is 1.3 MB); on a terminal, stdio's
     * line buffering stays. */
    static char obuf[1 << 16];
    if (!isatty(STDOUT_FILENO))
        setvbuf(stdout, obuf, _IOFBF, sizeof obuf);
    rcc_file *f = rcc_open(o.path, &opt, err, sizeof err);
    if (!f)
        return cli_error(o.path, "%s", err);
    if (o.verify && rcc_verify(f, err, sizeof err) < 0) {
        rcc_close(f);
        return cli_error(o.path, "%s", err);
    }
    cli_warn_calls(o.path, f);
    for (size_t i = 0; i < rcc_warning_count(f); i++)
        cli_warning(o.path, "%s", rcc_warning_at(f, i));
    if (o.json)
        print_json(f, &o);
    else
        print_table(f, &o);
    rcc_close(f);
    if (fflush(stdout) != 0 || ferror(stdout))
        return cli_error(NULL, "dump: cannot write the output");
    return 0;
}
