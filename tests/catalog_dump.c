/* catalog_dump.c — test program for src/lang/catalog.c, the built-in layers.
 *
 *   catalog_dump [FILE]      reads FILE (or stdin), writes the results
 *   catalog_dump --list      checks the table and prints every layer's name
 *
 * Input lines, each echoed as read and followed by its result:
 *
 *   call LAYER V... NAME=V...
 *       binds the values to the layer's parameters (positional, then by
 *       name; defaults from the table's .arch strings), runs expand and
 *       prints one line per tensor, "NAME DTYPE [D, ...] param|buffer",
 *       or "error: MESSAGE" (binding errors included).  When it expands,
 *       suggest is checked on the way: with the bound arguments, and with
 *       none, the call suggest writes for those very tensors must bind and
 *       expand to the same tensors ("roundtrip: ..." lines say otherwise;
 *       a suggest that cannot tell without arguments is allowed).
 *   suggest LAYER V... NAME=V... ; TENSOR [D, ...] ; TENSOR absent ...
 *       calls suggest with the bound arguments ("-" instead of values:
 *       no arguments, args NULL) and the listed file tensors (an "absent"
 *       one is passed with ndim -1); prints "=> CALL" or "=> (none)".
 *   cap N
 *       expand's cap for the calls that follow (default 1024).
 *   # comment, blank line: echoed.
 * Any other line (a result line of a golden file) is skipped, so a file
 * of cases is its own expected output: `catalog_dump F | diff F -`.
 *
 * Values are .arch literals: ints, floats (with '.' or 'e'), true, false,
 * none, "strings" and tuples of ints "(3, 5)".
 *
 * Exit 0 when every line was understood (results may be errors), 1 on an
 * unreadable line or a broken table invariant.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arch.h"

#define MAXV 16
#define MAXT 64

static int g_status;
static size_t g_cap = 1024;

/* ------------------------------------------------------------ values */

static const char *skip_ws(const char *p)
{
    while (*p == ' ' || *p == '\t')
        p++;
    return p;
}

/* Parses one literal at p into v (strings are copied to sbuf); returns the
 * end, or NULL. */
static const char *parse_val(const char *p, Val *v, char *sbuf, size_t scap)
{
    char *end;

    memset(v, 0, sizeof *v);
    p = skip_ws(p);
    if (*p == '"') {
        const char *q = strchr(p + 1, '"');
        if (!q || (size_t)(q - p - 1) >= scap)
            return NULL;
        memcpy(sbuf, p + 1, (size_t)(q - p - 1));
        sbuf[q - p - 1] = 0;
        v->kind = VAL_STR;
        v->s = sbuf;
        return q + 1;
    }
    if (*p == '(') {
        p = skip_ws(p + 1);
        v->kind = VAL_INTS;
        while (*p != ')') {
            if (v->n == 8)
                return NULL;
            v->ints[v->n++] = strtoll(p, &end, 10);
            if (end == p)
                return NULL;
            p = skip_ws(end);
            if (*p == ',')
                p = skip_ws(p + 1);
            else if (*p != ')')
                return NULL;
        }
        return p + 1;
    }
    {
        size_t n = strcspn(p, " \t,)=;");
        char word[64];
        if (!n || n >= sizeof word)
            return NULL;
        memcpy(word, p, n);
        word[n] = 0;
        if (!strcmp(word, "none"))
            v->kind = VAL_NONE;
        else if (!strcmp(word, "true") || !strcmp(word, "false"))
            v->kind = VAL_BOOL, v->i = word[0] == 't';
        else if (strpbrk(word, ".eE") || strstr(word, "inf") || strstr(word, "nan")) {
            v->kind = VAL_FLOAT;
            v->f = strtod(word, &end);
            if (*end)
                return NULL;
        } else {
            v->kind = VAL_INT;
            v->i = strtoll(word, &end, 10);
            if (*end)
                return NULL;
        }
        return p + n;
    }
}

/* ------------------------------------------------------------ binding */

typedef struct Call {
    const Layer *L;
    Val          v[MAXV];
    int          set[MAXV];
    char         strs[MAXV][64];
} Call;

/* Parses "V... NAME=V..." (sep: ' ' for call lines, ',' inside a
 * suggestion) up to stop (NUL, ';' or ')'), binding into c; fills
 * defaults.  0, or -1 with a message. */
static int bind(Call *c, const char **pp, char stop, char *err, size_t errlen)
{
    const char *p = *pp;
    size_t npos = 0, i;
    int seen_kw = 0;

    for (;;) {
        char name[64] = "";
        const char *q;
        size_t k;
        Val v;
        char sb[64];

        p = skip_ws(p);
        if (*p == ',')
            p = skip_ws(p + 1);
        if (!*p || *p == stop || *p == ';')
            break;
        /* NAME= ? */
        q = p;
        while ((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') || (*q >= '0' && *q <= '9') ||
               *q == '_')
            q++;
        if (*q == '=' && q > p && (size_t)(q - p) < sizeof name) {
            memcpy(name, p, (size_t)(q - p));
            name[q - p] = 0;
            p = q + 1;
        }
        q = parse_val(p, &v, sb, sizeof sb);
        if (!q) {
            snprintf(err, errlen, "unreadable value at '%s'", p);
            return -1;
        }
        p = q;
        if (name[0]) {
            seen_kw = 1;
            for (k = 0; k < c->L->nargs && strcmp(c->L->args[k].name, name); k++)
                ;
            if (k == c->L->nargs) {
                snprintf(err, errlen, "%s has no parameter '%s'", c->L->name, name);
                return -1;
            }
        } else {
            if (seen_kw) {
                snprintf(err, errlen, "positional value after a keyword");
                return -1;
            }
            k = npos++;
            if (k >= c->L->nargs) {
                snprintf(err, errlen, "%s takes at most %zu values", c->L->name, c->L->nargs);
                return -1;
            }
        }
        if (c->set[k]) {
            snprintf(err, errlen, "%s given twice", c->L->args[k].name);
            return -1;
        }
        c->v[k] = v;
        if (v.kind == VAL_STR) {
            snprintf(c->strs[k], sizeof c->strs[k], "%s", sb);
            c->v[k].s = c->strs[k];
        }
        c->set[k] = 1;
    }
    *pp = p;
    for (i = 0; i < c->L->nargs; i++) {
        if (c->set[i])
            continue;
        if (!c->L->args[i].def) {
            snprintf(err, errlen, "missing %s", c->L->args[i].name);
            return -1;
        }
        if (!parse_val(c->L->args[i].def, &c->v[i], c->strs[i], sizeof c->strs[i])) {
            snprintf(err, errlen, "unreadable default %s=%s", c->L->args[i].name, c->L->args[i].def);
            return -1;
        }
    }
    return 0;
}

/* "LAYER" at *pp: the layer, *pp after it. */
static const Layer *layer_at(const char **pp)
{
    const char *p = skip_ws(*pp);
    size_t n = strcspn(p, " \t(;");
    char name[64];

    if (!n || n >= sizeof name)
        return NULL;
    memcpy(name, p, n);
    name[n] = 0;
    *pp = p + n;
    return cat_find(name);
}

/* ------------------------------------------------------------ output */

static void print_tensor(const LayerTensor *t)
{
    int i;

    printf("%s %s [", t->name, rcc_dtype_name(t->dtype));
    for (i = 0; i < t->ndim; i++)
        printf("%s%lld", i ? ", " : "", (long long)t->shape[i]);
    printf("] %s\n", t->buffer ? "buffer" : "param");
}

static int same_tensors(const LayerTensor *a, int na, const LayerTensor *b, int nb)
{
    int i;

    if (na != nb)
        return 0;
    for (i = 0; i < na; i++)
        if (strcmp(a[i].name, b[i].name) || a[i].buffer != b[i].buffer || a[i].dtype != b[i].dtype ||
            a[i].ndim != b[i].ndim ||
            memcmp(a[i].shape, b[i].shape, (size_t)a[i].ndim * sizeof a[i].shape[0]))
            return 0;
    return 1;
}

/* The suggestion "Name(args)" bound and expanded must give t[0..n). */
static void roundtrip(const Call *c, const LayerTensor *t, int n, int with_args)
{
    char buf[512], err[256];
    LayerTensor got[MAXT];
    const char *p = buf;
    Call s;
    int m;

    if (!c->L->suggest(with_args ? c->v : NULL, t, (size_t)n, buf, sizeof buf)) {
        if (with_args)
            printf("roundtrip: suggest gave nothing\n");
        return;
    }
    memset(&s, 0, sizeof s);
    s.L = layer_at(&p);
    if (!s.L || *p != '(') {
        printf("roundtrip: suggest wrote '%s': not a known layer's call\n", buf);
        return;
    }
    p++;
    if (bind(&s, &p, ')', err, sizeof err) || *p != ')' || p[1]) {
        printf("roundtrip: suggest wrote '%s', which does not bind: %s\n", buf, err);
        return;
    }
    m = s.L->expand(s.v, got, MAXT, err, sizeof err);
    if (m < 0 || !same_tensors(t, n, got, m))
        printf("roundtrip: suggest wrote '%s', which expands %s\n", buf,
               m < 0 ? err : "to other tensors");
}

static void do_call(const char *p)
{
    char err[256] = "";
    Call c;
    LayerTensor *t;
    int n, i;

    memset(&c, 0, sizeof c);
    c.L = layer_at(&p);
    if (!c.L) {
        printf("error: unknown layer\n");
        return;
    }
    if (bind(&c, &p, 0, err, sizeof err)) {
        printf("error: %s\n", err);
        return;
    }
    t = calloc(g_cap ? g_cap : 1, sizeof *t);
    if (!t) {
        g_status = 1;
        return;
    }
    n = c.L->expand(c.v, t, g_cap, err, sizeof err);
    if (n < 0) {
        printf("error: %s\n", err[0] ? err : "(no message)");
    } else {
        for (i = 0; i < n; i++)
            print_tensor(&t[i]);
        if (n > 0 && n <= MAXT) {
            roundtrip(&c, t, n, 1);
            roundtrip(&c, t, n, 0);
        }
    }
    free(t);
}

static void do_suggest(const char *p)
{
    char err[256] = "", buf[512];
    LayerTensor f[MAXT];
    size_t nf = 0;
    Call c;
    int no_args;

    memset(&c, 0, sizeof c);
    c.L = layer_at(&p);
    if (!c.L) {
        printf("error: unknown layer\n");
        return;
    }
    p = skip_ws(p);
    no_args = *p == '-';
    if (no_args)
        p++;
    else if (bind(&c, &p, ';', err, sizeof err)) {
        printf("error: %s\n", err);
        return;
    }
    while (*(p = skip_ws(p)) == ';' && nf < MAXT) {
        LayerTensor *t = &f[nf++];
        size_t n;
        memset(t, 0, sizeof *t);
        p = skip_ws(p + 1);
        n = strcspn(p, " \t;");
        if (!n || n >= sizeof t->name)
            break;
        memcpy(t->name, p, n);
        p = skip_ws(p + n);
        if (!strncmp(p, "absent", 6)) {
            t->ndim = -1;
            p += 6;
            continue;
        }
        if (*p != '[')
            break;
        p = skip_ws(p + 1);
        while (*p != ']' && t->ndim < 8) {
            char *end;
            t->shape[t->ndim++] = strtoll(p, &end, 10);
            if (end == p)
                break;
            p = skip_ws(end);
            if (*p == ',')
                p = skip_ws(p + 1);
        }
        if (*p != ']')
            break;
        p++;
    }
    if (*skip_ws(p)) {
        printf("error: unreadable tensor list at '%s'\n", p);
        g_status = 1;
        return;
    }
    if (c.L->suggest(no_args ? NULL : c.v, f, nf, buf, sizeof buf))
        printf("=> %s\n", buf);
    else
        printf("=> (none)\n");
}

/* ------------------------------------------------------------ --list */

/* The table's invariants; prints each layer's name. */
static int list(void)
{
    size_t i, j, k, n = cat_count();
    int bad = 0;

    for (i = 0; i < n; i++) {
        const Layer *L = cat_at(i);
        if (!L || !L->name || !L->expand || !L->suggest || cat_find(L->name) != L) {
            fprintf(stderr, "catalog_dump: entry %zu is incomplete or not found by name\n", i);
            bad = 1;
            continue;
        }
        for (j = 0; j < L->nargs; j++) {
            Val v;
            char sb[64];
            if (!L->args[j].name) {
                fprintf(stderr, "catalog_dump: %s: argument %zu has no name\n", L->name, j);
                bad = 1;
                continue;
            }
            for (k = 0; k < j; k++)
                if (!strcmp(L->args[k].name, L->args[j].name)) {
                    fprintf(stderr, "catalog_dump: %s: %s twice\n", L->name, L->args[j].name);
                    bad = 1;
                }
            if (L->args[j].def && !parse_val(L->args[j].def, &v, sb, sizeof sb)) {
                fprintf(stderr, "catalog_dump: %s: default %s unreadable\n", L->name, L->args[j].def);
                bad = 1;
            }
            if (j && L->args[j - 1].def && !L->args[j].def) {
                fprintf(stderr, "catalog_dump: %s: required %s after an optional one\n", L->name,
                        L->args[j].name);
                bad = 1;
            }
        }
        printf("%s\n", L->name);
    }
    if (cat_at(n) || cat_find("NoSuchLayer") || cat_find(NULL) || cat_find("linear")) {
        fprintf(stderr, "catalog_dump: cat_at/cat_find beyond the table\n");
        bad = 1;
    }
    return bad;
}

int main(int argc, char **argv)
{
    FILE *in = stdin;
    char line[2048];

    if (argc == 2 && !strcmp(argv[1], "--list"))
        return list();
    if (argc > 2) {
        fprintf(stderr, "usage: catalog_dump [FILE] | --list\n");
        return 2;
    }
    if (argc == 2 && !(in = fopen(argv[1], "r"))) {
        perror(argv[1]);
        return 2;
    }
    while (fgets(line, sizeof line, in)) {
        size_t n = strlen(line);
        while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            line[--n] = 0;
        if (!strncmp(line, "call ", 5)) {
            printf("%s\n", line);
            do_call(line + 5);
        } else if (!strncmp(line, "suggest ", 8)) {
            printf("%s\n", line);
            do_suggest(line + 8);
        } else if (!strncmp(line, "cap ", 4)) {
            printf("%s\n", line);
            g_cap = (size_t)strtoul(line + 4, NULL, 10);
        } else if (!line[0] || line[0] == '#') {
            printf("%s\n", line);
        }
        fflush(stdout);
    }
    if (in != stdin)
        fclose(in);
    return g_status;
}
