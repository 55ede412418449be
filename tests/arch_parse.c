/* arch_parse.c — test program for the .arch front end.
 *
 *   arch_parse [--spans] [--json] FILE.arch
 *
 * Parses FILE.arch and prints its AST on stdout as an S-expression, one
 * statement per line, every operator explicit, so that golden files show
 * precedence and structure; then renders the diagnostics on stderr (as
 * JSON with --json).  --spans appends each node's span as @L:C-L:C (line
 * and column of its first byte and of the byte after its last).
 *
 * Exit 0 when there is no error, 1 when there are, 2 on a usage error or
 * an unreadable file.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arch.h"

typedef struct Dumper {
    FILE        *out;
    const Diags *d;
    int          spans;
} Dumper;

static void span(const Dumper *p, Span sp)
{
    if (!p->spans)
        return;
    size_t l0, c0, l1, c1;
    diag_position(p->d, sp.file, sp.lo, &l0, &c0);
    diag_position(p->d, sp.file, sp.hi, &l1, &c1);
    fprintf(p->out, "@%zu:%zu-%zu:%zu", l0, c0, l1, c1);
}

static void indent(const Dumper *p, int depth)
{
    fprintf(p->out, "\n%*s", 2 * depth, "");
}

static void quoted(FILE *out, const char *s)
{
    fputc('"', out);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(out, "\\%c", c);
        else if (c == '\n')
            fputs("\\n", out);
        else if (c == '\t')
            fputs("\\t", out);
        else if (c < 0x20 || c == 0x7f)
            fprintf(out, "\\x%02x", c);
        else
            fputc(c, out);
    }
    fputc('"', out);
}

/* A double as Python's repr writes it: the fewest digits that read back
 * as the same value, positional from 1e-4 to 1e16 (with at least one
 * decimal, so it cannot be taken for an integer), else with an exponent. */
static void number(FILE *out, double v)
{
    if (!isfinite(v)) {
        fprintf(out, "%g", v);
        return;
    }
    char buf[64];
    int prec = 1;
    for (; prec < 17; prec++) {
        snprintf(buf, sizeof buf, "%.*e", prec - 1, v);
        if (strtod(buf, NULL) == v)
            break;
    }
    int exp = atoi(strchr(buf, 'e') + 1);
    if (v == 0 || (exp >= -4 && exp < 16))
        fprintf(out, "%.*f", prec - 1 - exp > 1 ? prec - 1 - exp : 1, v);
    else
        fprintf(out, "%.*g", prec, v);
}

/* An operator as written: "'//'" -> "//". */
static void op(FILE *out, int tok)
{
    const char *s = ast_op_name(tok);
    size_t n = strlen(s);
    if (n >= 2 && s[0] == '\'')
        fprintf(out, "%.*s", (int)n - 2, s + 1);
    else
        fputs(s, out);
}

static void expr(const Dumper *p, const Expr *x);

static void args(const Dumper *p, const Arg *a, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        fputc(' ', p->out);
        if (a[i].name)
            fprintf(p->out, "%s=", a[i].name);
        expr(p, a[i].value);
    }
}

static void opt(const Dumper *p, const Expr *x)
{
    fputc(' ', p->out);
    if (x)
        expr(p, x);
    else
        fputc('_', p->out);
}

static void expr(const Dumper *p, const Expr *x)
{
    FILE *out = p->out;
    if (!x) {
        fputs("<null>", out);
        return;
    }
    switch (x->kind) {
    case EX_INT: fprintf(out, "%lld", (long long)x->u.i); break;
    case EX_FLOAT: number(out, x->u.f); break;
    case EX_BOOL: fputs(x->u.i ? "true" : "false", out); break;
    case EX_STR: quoted(out, x->u.s); break;
    case EX_NONE: fputs("none", out); break;
    case EX_NAME: fputs(x->u.s, out); break;
    case EX_SLICE:
        if (x->u.i) {
            fputs("...", out);
            break;
        }
        fputs("(slice", out);
        span(p, x->span);
        opt(p, x->a);
        opt(p, x->b);
        opt(p, x->c);
        fputc(')', out);
        return;
    case EX_UNARY:
    case EX_BINARY:
        fputc('(', out);
        op(out, x->op);
        span(p, x->span);
        fputc(' ', out);
        expr(p, x->a);
        if (x->kind == EX_BINARY) {
            fputc(' ', out);
            expr(p, x->b);
        }
        fputc(')', out);
        return;
    case EX_COND:
        fputs("(?", out);
        span(p, x->span);
        opt(p, x->a);
        opt(p, x->b);
        opt(p, x->c);
        fputc(')', out);
        return;
    case EX_CALL:
    case EX_INDEX:
        fputs(x->kind == EX_CALL ? "(call" : "(index", out);
        span(p, x->span);
        opt(p, x->a);
        args(p, x->args, x->nargs);
        fputc(')', out);
        return;
    case EX_ATTR:
        fputs("(.", out);
        span(p, x->span);
        opt(p, x->a);
        fputc(' ', out);
        if (x->op)
            quoted(out, x->u.s);
        else
            fputs(x->u.s, out);
        fputc(')', out);
        return;
    case EX_COMP:
        fputs("(comp", out);
        span(p, x->span);
        opt(p, x->a);
        fputs(" (for", out);
        for (size_t i = 0; i < x->nargs; i++)
            fprintf(out, " %s", x->args[i].name);
        fputc(')', out);
        opt(p, x->b);
        fputc(')', out);
        return;
    case EX_STAR:
    case EX_NAMED:
        fputs(x->kind == EX_STAR ? "(star" : "(named", out);
        span(p, x->span);
        opt(p, x->a);
        if (x->kind == EX_NAMED) {
            fputc(' ', out);
            expr(p, x->b);
        }
        fputc(')', out);
        return;
    case EX_LIST:
    case EX_TUPLE:
        fputs(x->kind == EX_LIST ? "(list" : "(tuple", out);
        span(p, x->span);
        args(p, x->args, x->nargs);
        fputc(')', out);
        return;
    }
    span(p, x->span);   /* the atoms */
}

static void type(const Dumper *p, const TypeExpr *t)
{
    fprintf(p->out, " (%s", t->dtype);
    span(p, t->span);
    for (size_t i = 0; i < t->ndims; i++) {
        fputc(' ', p->out);
        expr(p, t->dims[i]);
    }
    fputc(')', p->out);
}

static void stmts(const Dumper *p, Stmt *const *s, size_t n, int depth);

static void stmt(const Dumper *p, const Stmt *s, int depth)
{
    static const char *const heads[] = {
        [ST_ASSIGN] = "=", [ST_PARAM] = "param", [ST_BUFFER] = "buffer", [ST_INPUT] = "input",
        [ST_IF] = "if", [ST_FORWARD] = "forward", [ST_RETURN] = "return", [ST_EXPR] = "expr",
        [ST_FOR] = "for",
    };
    FILE *out = p->out;
    indent(p, depth);
    fprintf(out, "(%s", heads[s->kind]);
    span(p, s->span);
    switch (s->kind) {
    case ST_ASSIGN:
        if (s->name && s->owner) {   /* self.layer1 = ... */
            fputs(" (.", out);
            span(p, s->span);
            fputc(' ', out);
            expr(p, s->owner);
            fprintf(out, " %s)", s->name);
        } else if (s->name && s->quoted) {
            fputc(' ', out);
            quoted(out, s->name);
        } else if (s->name) {
            fprintf(out, " %s", s->name);
        } else {
            fputs(" (", out);
            for (size_t i = 0; i < s->nnames; i++)
                fprintf(out, "%s%s", i ? " " : "", s->names[i]);
            fputc(')', out);
        }
        opt(p, s->value);
        break;
    case ST_PARAM:
    case ST_BUFFER:
    case ST_INPUT:
        fprintf(out, " %s", s->name);
        type(p, s->type);
        if (s->value)
            opt(p, s->value);
        break;
    case ST_IF:
        opt(p, s->value);
        indent(p, depth + 1);
        fputs("(then", out);
        stmts(p, s->body, s->nbody, depth + 2);
        fputc(')', out);
        if (s->norelse) {
            indent(p, depth + 1);
            fputs("(else", out);
            stmts(p, s->orelse, s->norelse, depth + 2);
            fputc(')', out);
        }
        break;
    case ST_FORWARD:
        fputs(" (", out);
        for (size_t i = 0; i < s->nparams; i++) {
            if (i)
                fputc(' ', out);
            if (s->param_defs[i]) {   /* (name default), as block parameters print */
                fprintf(out, "(%s ", s->params[i]);
                expr(p, s->param_defs[i]);
                fputc(')', out);
            } else {
                fputs(s->params[i], out);
            }
        }
        fputc(')', out);
        stmts(p, s->body, s->nbody, depth + 1);
        break;
    case ST_RETURN:
    case ST_EXPR:
        opt(p, s->value);
        break;
    case ST_FOR:
        fputs(" (", out);
        for (size_t i = 0; i < s->nnames; i++)
            fprintf(out, "%s%s", i ? " " : "", s->names[i]);
        fputc(')', out);
        opt(p, s->value);
        stmts(p, s->body, s->nbody, depth + 1);
        break;
    }
    fputc(')', out);
}

static void stmts(const Dumper *p, Stmt *const *s, size_t n, int depth)
{
    for (size_t i = 0; i < n; i++)
        stmt(p, s[i], depth);
}

static void decl(const Dumper *p, const Decl *d)
{
    FILE *out = p->out;
    static const char *const heads[] = {[DECL_BLOCK] = "block", [DECL_MODEL] = "model", [DECL_IMPORT] = "import"};
    fprintf(out, "(%s", heads[d->kind]);
    span(p, d->span);
    fputc(' ', out);
    if (d->kind == DECL_IMPORT)
        quoted(out, d->name);
    else
        fputs(d->name, out);
    if (d->kind == DECL_BLOCK) {
        fputs(" (params", out);
        for (size_t i = 0; i < d->nparams; i++) {
            const BlockParam *bp = &d->params[i];
            if (bp->def) {
                fprintf(out, " (%s", bp->name);
                opt(p, bp->def);
                fputc(')', out);
            } else {
                fprintf(out, " %s", bp->name);
            }
        }
        fputc(')', out);
    }
    stmts(p, d->body, d->nbody, 1);
    fputs(")\n", out);
}

int main(int argc, char **argv)
{
    int spans = 0, json = 0;
    const char *path = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--spans"))
            spans = 1;
        else if (!strcmp(argv[i], "--json"))
            json = 1;
        else if (argv[i][0] == '-' || path) {
            fprintf(stderr, "usage: arch_parse [--spans] [--json] FILE.arch\n");
            return 2;
        } else
            path = argv[i];
    }
    if (!path) {
        fprintf(stderr, "usage: arch_parse [--spans] [--json] FILE.arch\n");
        return 2;
    }
    size_t len = 0;
    char *text = util_read_file(path, &len);
    if (!text) {
        perror(path);
        return 2;
    }
    Arena arena = {0};
    Diags d;
    diag_init(&d, &arena);
    uint32_t file = diag_add_file(&d, path, text, len);
    free(text);
    Program *prog = file == UINT32_MAX ? NULL : arch_parse(&d, &arena, file);
    Dumper p = {stdout, &d, spans};
    for (size_t i = 0; prog && i < prog->ndecls; i++)
        decl(&p, prog->decls[i]);
    fflush(stdout);
    if (json)
        diag_render_json(&d, stderr);
    else
        diag_render(&d, stderr);
    int rc = d.nerrors || !prog ? 1 : 0;
    arena_free(&arena);
    return rc;
}
