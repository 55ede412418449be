/* emit_math.c — C for the forward's math in every dtype (gen.h's GDtype):
 * elementwise functions and operators with broadcasting and numbers,
 * where, dtype conversions, fills, reductions (sum, mean, prod, amax,
 * amin, max, min, argmax, argmin), cumsum, softmax, repeats, outer
 * products, einsum, and gather/index_select with int32 indices.
 *
 * Elementwise work is emitted as one typed loop per node: each operand is
 * read in its own C type, converted to the operation's compute type
 * (float for f32/f16/bf16, double for f64, int64_t for the integers and
 * bool: torch's CPU kernels compute narrow floats in float, and integer
 * results wrap modulo 2^bits, which int64_t arithmetic done in uint64_t
 * and a conversion to the output's type reproduce), and the result is
 * stored in the output's dtype (rounded for f16/bf16 by rk_dtype.c).
 * Reductions accumulate floats in double, integers in uint64_t (wrap).
 *
 * gen.c calls emit_math before emit_fn: it claims what involves a dtype
 * other than f32 or what the float kernels cannot do (numbers as where's
 * operands, a number base of pow, softmax without dim ...), and leaves the
 * all-f32 cases the kernels do (0).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arch.tab.h"
#include "gen.h"

static int is_any(const TNode *n, const char *const *ops)
{
    for (size_t i = 0; ops[i]; i++)
        if (g_is(n, ops[i])) return 1;
    return 0;
}

/* A number operand: 1 with its value and kind (0 bool, 1 int, 2 float). */
static int num_sv(const SV *v, double *out, int *cat)
{
    if (!v || v->kind != V_CONF) return 0;
    if (v->c.kind == VAL_FLOAT) *out = v->c.f, *cat = 2;
    else if (v->c.kind == VAL_INT) *out = (double)v->c.i, *cat = 1;
    else if (v->c.kind == VAL_BOOL) *out = (double)v->c.i, *cat = 0;
    else return 0;
    return 1;
}

/* ---------------------------------------------------------------- dtypes */

static int isint(GDtype dt) { return !g_isfloat(dt); }   /* bool included */

/* The type an operation of result dtype dt computes in. */
static const char *ctype_of(GDtype dt) { return dt == GT_F64 ? "double" : g_isfloat(dt) ? "float" : "int64_t"; }

/* torch's promotion of two tensor dtypes. */
static GDtype promote(GDtype a, GDtype b)
{
    if (a == b) return a;
    if (a == GT_BOOL) return b;
    if (b == GT_BOOL) return a;
    if (g_isfloat(a) && g_isfloat(b)) {
        if (a == GT_F64 || b == GT_F64) return GT_F64;
        return GT_F32;   /* f32 with anything, f16 with bf16 */
    }
    if (g_isfloat(a)) return a;
    if (g_isfloat(b)) return b;
    if (a == GT_U8 || b == GT_U8) {   /* u8 with a signed type */
        GDtype s = a == GT_U8 ? b : a;
        return s == GT_I8 ? GT_I16 : s;
    }
    int ra = a == GT_I64 ? 4 : a == GT_I32 ? 3 : a == GT_I16 ? 2 : 1;
    int rb = b == GT_I64 ? 4 : b == GT_I32 ? 3 : b == GT_I16 ? 2 : 1;
    return ra >= rb ? a : b;
}

/* A value of compute type ct converted to the storage of dt: "(expr)". */
static void store(char *out, size_t cap, GDtype dt, const char *expr)
{
    switch (dt) {
    case GT_F16: snprintf(out, cap, "rk_to_f16((float)(%s))", expr); break;
    case GT_BF16: snprintf(out, cap, "rk_to_bf16((float)(%s))", expr); break;
    case GT_BOOL: snprintf(out, cap, "(uint8_t)((%s) != 0)", expr); break;
    default: snprintf(out, cap, "(%s)(%s)", g_ctype(dt), expr); break;
    }
}

/* A number as a constant of compute type ct. */
static void literal(char *out, size_t cap, const char *ct, double v)
{
    if (ct[0] == 'i') {
        if (v <= -9223372036854775808.0) snprintf(out, cap, "INT64_MIN");
        else snprintf(out, cap, "INT64_C(%lld)", (long long)v);
    } else if (v != v) {
        snprintf(out, cap, "(%s)NAN", ct);
    } else if (v > 1.7976931348623157e308 || v < -1.7976931348623157e308) {
        snprintf(out, cap, "(%s)(%sINFINITY)", ct, v < 0 ? "-" : "");
    } else {
        snprintf(out, cap, "(%s)%.17g", ct, v);
    }
}

/* ------------------------------------------------------ elementwise loops */

/* An operand: a tensor (id, seen with rank/d, which may differ from the
 * tensor's own shape when the emitter views it: outer) or a number. */
typedef struct Opd {
    int    id;
    double v;
    int    cat;      /* numbers: 0 bool, 1 int, 2 float */
    int    rank;
    Aff    d[MAXR];
} Opd;

static Opd opd_of(G *g, const SV *v)
{
    Opd o;
    memset(&o, 0, sizeof o);
    o.id = g_id(v);
    if (o.id) {
        GTensor *t = g_t(g, o.id);
        o.rank = t->rank;
        memcpy(o.d, t->d, sizeof o.d);
    } else if (!num_sv(v, &o.v, &o.cat)) {
        o.id = -1;   /* neither */
    }
    return o;
}

static int same_aff(Aff a, Aff b) { return a.a == b.a && a.b == b.b; }
static int is_one(Aff a) { return a.a == 0 && a.b == 1; }

/* The product of sizes d[from..to) as a C expression. */
static void prod_expr(G *g, const Aff *d, int from, int to, char *out, size_t cap)
{
    size_t k = 0;
    out[0] = 0;
    for (int i = from; i < to && k < cap; i++) {
        if (is_one(d[i])) continue;
        k += (size_t)snprintf(out + k, cap - k, "%s%s", k ? " * " : "", g_aff(g, d[i]));
    }
    if (!out[0]) snprintf(out, cap, "1");
}

/* Emits y[i] = store(expr) over y's elements, expr reading a0, a1 ...
 * (each operand converted to ct); pre: a statement before the store (an
 * error check), or NULL. */
static int ew(G *g, int y, int nop, const Opd *ops, const char *ct, const char *expr, const char *pre)
{
    GTensor *ty = g_t(g, y);
    int bc[4] = {0};
    int need_walk = 0;
    for (int j = 0; j < nop; j++) {
        const Opd *o = &ops[j];
        if (o->id <= 0) continue;
        int same = o->rank == ty->rank, single = 1;
        for (int k = 0; same && k < o->rank; k++) same = same_aff(o->d[k], ty->d[k]);
        for (int k = 0; k < o->rank; k++) single &= is_one(o->d[k]);
        if (o->rank > ty->rank) return g_fail(g, "%s(): an operand of higher rank than the result", g_node(g)->op);
        bc[j] = same ? 0 : single ? 1 : 2;
        need_walk |= bc[j] == 2;
    }
    g_kernel(g, "rk_dtype.c");
    g_line(g, "{");
    g_line(g, "    %s *yp = %s;", g_ctype(ty->dt), g_ptr(g, y));
    for (int j = 0; j < nop; j++)
        if (ops[j].id > 0) g_line(g, "    const %s *p%d = %s;", g_ctype(g_t(g, ops[j].id)->dt), j, g_ptr(g, ops[j].id));
    g_line(g, "    for (int64_t i = 0; i < %s; i++) {", g_numel(g, y));
    if (need_walk) {
        fprintf(g->body, "        int64_t r = i, c;\n       ");
        for (int j = 0; j < nop; j++)
            if (ops[j].id > 0 && bc[j] == 2) fprintf(g->body, " int64_t o%d = 0;", j);
        fprintf(g->body, "\n");
        for (int k = ty->rank - 1; k >= 0; k--) {
            if (is_one(ty->d[k])) continue;
            fprintf(g->body, "        c = r %% %s; r /= %s;", g_aff(g, ty->d[k]), g_aff(g, ty->d[k]));
            for (int j = 0; j < nop; j++) {
                const Opd *o = &ops[j];
                if (o->id <= 0 || bc[j] != 2) continue;
                int ok = k - (ty->rank - o->rank);
                if (ok < 0 || is_one(o->d[ok])) continue;
                char st[300];
                prod_expr(g, o->d, ok + 1, o->rank, st, sizeof st);
                fprintf(g->body, " o%d += c * %s;", j, st);
            }
            fprintf(g->body, "\n");
        }
        g_line(g, "        (void)r;");
    }
    for (int j = 0; j < nop; j++) {
        char lit[64];
        if (ops[j].id > 0) {
            g_line(g, "        const %s a%d = (%s)p%d[%s];", ct, j, ct, j, bc[j] == 0 ? "i" : bc[j] == 1 ? "0" : (char[8]){'o', (char)('0' + j), 0});
        } else {
            literal(lit, sizeof lit, ct, ops[j].v);
            g_line(g, "        const %s a%d = %s;", ct, j, lit);
        }
    }
    if (pre) g_line(g, "        %s", pre);
    char st[1200];
    store(st, sizeof st, ty->dt, expr);
    g_line(g, "        yp[i] = %s;", st);
    g_line(g, "    }");
    g_line(g, "}");
    return 1;
}

/* Whether every tensor the node reads or writes is f32. */
static int all_f32_sv(G *g, const SV *v)
{
    if (v->kind == V_TENSOR) return !v->id || g_t(g, v->id)->dt == GT_F32;
    if (v->kind == V_TUPLE)
        for (size_t i = 0; i < v->n; i++)
            if (!all_f32_sv(g, &v->items[i])) return 0;
    return 1;
}

static int all_f32(G *g, const TNode *n)
{
    if (!all_f32_sv(g, &n->out) || !all_f32_sv(g, &n->a) || !all_f32_sv(g, &n->b)) return 0;
    for (size_t i = 0; i < n->nargs; i++)
        if (!all_f32_sv(g, &n->args[i].v)) return 0;
    return 1;
}

/* ------------------------------------------------------------- unary math */

/* A function of one value: its float expression (f: "f" or "" suffix for
 * the libm names) and its integer one (NULL: none). */
static int unary_expr(const char *op, int fl, const char *f, char *out, size_t cap)
{
    static const struct { const char *op, *fexpr, *iexpr; } tab[] = {
        {"exp", "exp%s(a0)", NULL},         {"log", "log%s(a0)", NULL},       {"sqrt", "sqrt%s(a0)", NULL},
        {"rsqrt", "1 / sqrt%s(a0)", NULL},  {"sin", "sin%s(a0)", NULL},       {"cos", "cos%s(a0)", NULL},
        {"tan", "tan%s(a0)", NULL},         {"erf", "erf%s(a0)", NULL},       {"log1p", "log1p%s(a0)", NULL},
        {"expm1", "expm1%s(a0)", NULL},     {"log2", "log2%s(a0)", NULL},     {"log10", "log10%s(a0)", NULL},
        {"asin", "asin%s(a0)", NULL},       {"acos", "acos%s(a0)", NULL},     {"atan", "atan%s(a0)", NULL},
        {"sinh", "sinh%s(a0)", NULL},       {"cosh", "cosh%s(a0)", NULL},     {"tanh", "tanh%s(a0)", NULL},
        {"sigmoid", "1 / (1 + exp%s(-a0))", NULL},
        {"reciprocal", "1 / a0", NULL},
        {"abs", "fabs%s(a0)", "(a0 < 0 ? (int64_t)(0 - (uint64_t)a0) : a0)"},
        {"neg", "-a0", "(int64_t)(0 - (uint64_t)a0)"},
        {"negative", "-a0", "(int64_t)(0 - (uint64_t)a0)"},
        {"floor", "floor%s(a0)", "a0"},     {"ceil", "ceil%s(a0)", "a0"},     {"trunc", "trunc%s(a0)", "a0"},
        {"round", "nearbyint%s(a0)", "a0"}, {"fix", "trunc%s(a0)", "a0"},
        {"sign", "(a0 != a0 ? a0 : (a0 > 0) - (a0 < 0))", "(int64_t)((a0 > 0) - (a0 < 0))"},
        {"square", "a0 * a0", "(int64_t)((uint64_t)a0 * (uint64_t)a0)"},
        {"relu", "(a0 > 0 || a0 != a0 ? a0 : 0)", "(a0 > 0 ? a0 : 0)"},
        {"logical_not", "!(a0 != 0)", "!a0"},
    };
    for (size_t i = 0; i < sizeof tab / sizeof tab[0]; i++) {
        if (strcmp(tab[i].op, op)) continue;
        if (!fl && !tab[i].iexpr) return -1;
        if (fl) snprintf(out, cap, tab[i].fexpr, f, f);
        else snprintf(out, cap, "%s", tab[i].iexpr);
        return 0;
    }
    return 1;   /* not a unary function */
}

static int unary(G *g, const TNode *n, int y)
{
    int x = n->kind == TN_UNOP ? g_id(&n->a) : n->nargs ? g_id(&n->args[0].v) : 0;
    if (!x || !y) return 0;
    if (n->kind == TN_UNOP && n->opc != '-' && n->opc != '~') return 0;
    const char *op = n->kind == TN_UNOP ? (n->opc == '-' ? "neg" : "bitwise_not") : n->op;
    int bnot = n->kind == TN_UNOP ? n->opc == '~' : g_is(n, "bitwise_not");
    GDtype dy = g_t(g, y)->dt, dx = g_t(g, x)->dt;
    const char *ct = ctype_of(dy);
    char e[256];
    if (bnot) {
        if (!isint(dx)) return g_fail(g, "bitwise_not() of a floating-point tensor");
        snprintf(e, sizeof e, dx == GT_BOOL ? "!a0" : "~a0");
    } else if (g_is(n, "logical_not")) {
        ct = ctype_of(dx);
        snprintf(e, sizeof e, "!(a0 != 0)");
    } else {
        int r = unary_expr(op, g_isfloat(dy), ct[0] == 'f' ? "f" : "", e, sizeof e);
        if (r > 0) return 0;
        if (r < 0) return g_fail(g, "%s() of a %s tensor is not supported", op, g_dtname(dx));
    }
    if (dx == GT_F32 && dy == GT_F32) {
        /* all f32: rk_unary and the activations do these, except the ones listed here */
        static const char *const mine[] = {"log2", "log10", "asin", "acos", "atan", "sinh", "cosh", "tan", "fix",
                                           "negative", "logical_not", NULL};
        if (n->kind == TN_UNOP || !is_any(n, mine)) return 0;
    }
    Opd o = opd_of(g, n->kind == TN_UNOP ? &n->a : &n->args[0].v);
    return ew(g, y, 1, &o, ct, e, NULL);
}

static int clamp(G *g, const TNode *n, int y)
{
    int x = n->nargs ? g_id(&n->args[0].v) : 0;
    if (!x || (all_f32(g, n) && !g_arg_id(n, "min") && !g_arg_id(n, "max"))) return 0;
    if (g_arg_id(n, "min") || g_arg_id(n, "max")) return g_fail(g, "clamp() with tensor bounds is not supported yet");
    const char *ct = ctype_of(g_t(g, y)->dt);
    double lo, hi;
    int c1, c2;
    int hl = num_sv(g_arg(n, "min") ? &g_arg(n, "min")->v : NULL, &lo, &c1);
    int hh = num_sv(g_arg(n, "max") ? &g_arg(n, "max")->v : NULL, &hi, &c2);
    char e[700], l1[64], l2[64];
    literal(l1, sizeof l1, ct, hl ? lo : 0);
    literal(l2, sizeof l2, ct, hh ? hi : 0);
    char inner[200];
    snprintf(inner, sizeof inner, hl ? "(a0 < %s ? %s : a0)" : "a0", l1, l1);
    if (hh) snprintf(e, sizeof e, "(%s > %s ? %s : %s)", inner, l2, l2, inner);
    else snprintf(e, sizeof e, "%s", inner);
    Opd o = opd_of(g, &n->args[0].v);
    return ew(g, y, 1, &o, ct, e, NULL);
}

/* ------------------------------------------------------------ binary math */

typedef enum { B_ARITH, B_CMP, B_LOGIC } BKind;

/* The operation of an operator token or a function name. */
static const char *bin_name(const TNode *n)
{
    if (n->kind == TN_BINOP) {
        switch (n->opc) {
        case '+': return "add";
        case '-': return "sub";
        case '*': return "mul";
        case '/': return "div";
        case '%': return "remainder";
        case TK_POW: return "pow";
        case TK_IDIV: return "floor_divide";
        case TK_EQ: return "eq";
        case TK_NE: return "ne";
        case '<': return "lt";
        case '>': return "gt";
        case TK_LE: return "le";
        case TK_GE: return "ge";
        case '&': return "bitwise_and";
        case '|': return "bitwise_or";
        case '^': return "bitwise_xor";
        }
        return NULL;
    }
    static const char *const fns[] = {"add", "sub", "subtract", "mul", "multiply", "div", "divide", "true_divide",
                                      "pow", "maximum", "minimum", "remainder", "floor_divide", "fmod", "eq", "ne",
                                      "lt", "gt", "le", "ge", "logical_and", "logical_or", "logical_xor",
                                      "bitwise_and", "bitwise_or", "bitwise_xor", "atan2", NULL};
    for (size_t i = 0; fns[i]; i++)
        if (g_is(n, fns[i])) return fns[i];
    return NULL;
}

/* The expression of binary op name over a0, a1 in compute type ct; *pre
 * an error check (integer division by zero). */
static int bin_expr(const char *op, const char *ct, char *e, size_t cap, const char **pre)
{
    int fl = (ct[0] != 'i');
    const char *f = ct[0] == 'f' ? "f" : "";
    *pre = NULL;
    static const char *const zero = "if (a1 == 0) { snprintf(m->err, sizeof m->err, \"integer division by zero\"); return -1; }";
    if (!strcmp(op, "add")) snprintf(e, cap, fl ? "a0 + a1" : "(int64_t)((uint64_t)a0 + (uint64_t)a1)");
    else if (!strcmp(op, "sub") || !strcmp(op, "subtract")) snprintf(e, cap, fl ? "a0 - a1" : "(int64_t)((uint64_t)a0 - (uint64_t)a1)");
    else if (!strcmp(op, "mul") || !strcmp(op, "multiply")) snprintf(e, cap, fl ? "a0 * a1" : "(int64_t)((uint64_t)a0 * (uint64_t)a1)");
    else if (!strcmp(op, "div") || !strcmp(op, "divide") || !strcmp(op, "true_divide")) {
        if (!fl) return -1;   /* true division has a floating result */
        snprintf(e, cap, "a0 / a1");
    } else if (!strcmp(op, "pow")) snprintf(e, cap, fl ? "pow%s(a0, a1)" : "rk_ipow(a0, a1)", f);
    else if (!strcmp(op, "maximum")) snprintf(e, cap, fl ? "(a0 != a0 ? a0 : a1 != a1 ? a1 : a0 > a1 ? a0 : a1)" : "(a0 > a1 ? a0 : a1)");
    else if (!strcmp(op, "minimum")) snprintf(e, cap, fl ? "(a0 != a0 ? a0 : a1 != a1 ? a1 : a0 < a1 ? a0 : a1)" : "(a0 < a1 ? a0 : a1)");
    else if (!strcmp(op, "remainder")) {
        snprintf(e, cap, fl ? "rk_fmod_floor(a0, a1)" : "rk_imod_floor(a0, a1)");
        if (!fl) *pre = zero;
    } else if (!strcmp(op, "floor_divide")) {
        snprintf(e, cap, fl ? "rk_fdiv_floor(a0, a1)" : "rk_idiv_floor(a0, a1)");
        if (!fl) *pre = zero;
    } else if (!strcmp(op, "fmod")) {
        snprintf(e, cap, fl ? "fmod%s(a0, a1)" : "(a1 == -1 ? 0 : a0 %% a1)", f);
        if (!fl) *pre = zero;
    } else if (!strcmp(op, "atan2")) {
        if (!fl) return -1;
        snprintf(e, cap, "atan2%s(a0, a1)", f);
    } else if (!strcmp(op, "eq")) snprintf(e, cap, "a0 == a1");
    else if (!strcmp(op, "ne")) snprintf(e, cap, "a0 != a1");
    else if (!strcmp(op, "lt")) snprintf(e, cap, "a0 < a1");
    else if (!strcmp(op, "gt")) snprintf(e, cap, "a0 > a1");
    else if (!strcmp(op, "le")) snprintf(e, cap, "a0 <= a1");
    else if (!strcmp(op, "ge")) snprintf(e, cap, "a0 >= a1");
    else if (!strcmp(op, "logical_and")) snprintf(e, cap, "(a0 != 0) && (a1 != 0)");
    else if (!strcmp(op, "logical_or")) snprintf(e, cap, "(a0 != 0) || (a1 != 0)");
    else if (!strcmp(op, "logical_xor")) snprintf(e, cap, "(a0 != 0) != (a1 != 0)");
    else if (!strncmp(op, "bitwise_", 8)) {
        if (fl) return -1;
        snprintf(e, cap, "a0 %c a1", op[8] == 'a' ? '&' : op[8] == 'o' ? '|' : '^');
    } else return -1;
    return 0;
}

static int binary(G *g, const TNode *n, int y)
{
    const char *op = bin_name(n);
    if (!op || !y) return 0;
    const SV *sa, *sb;
    if (n->kind == TN_BINOP) sa = &n->a, sb = &n->b;
    else if (n->nargs >= 2) sa = &n->args[0].v, sb = &n->args[1].v;
    else return 0;
    Opd o[2] = {opd_of(g, sa), opd_of(g, sb)};
    if (o[0].id < 0 || o[1].id < 0 || (!o[0].id && !o[1].id)) return 0;
    int cmp = !strcmp(op, "eq") || !strcmp(op, "ne") || !strcmp(op, "lt") || !strcmp(op, "gt") || !strcmp(op, "le") ||
              !strcmp(op, "ge");
    int logic = !strncmp(op, "logical_", 8);
    int number_first = !o[0].id;
    int all = all_f32(g, n);
    /* all-f32 operations the float kernels do (emit_fn.c) */
    if (all && !logic && !number_first) {
        static const char *const kern[] = {"add", "sub", "mul", "div", "pow", "maximum", "minimum", "remainder",
                                           "floor_divide", "eq", "ne", "lt", "gt", "le", "ge", NULL};
        int k = 0;
        while (kern[k] && strcmp(kern[k], op)) k++;
        if (kern[k] && (n->kind == TN_BINOP || strcmp(op, "remainder"))) return 0;
    }
    if (all && !logic && number_first && !cmp && strcmp(op, "pow") && n->kind == TN_BINOP) return 0;
    if (n->kind == TN_FN) {
        const TArg *alpha = g_arg(n, "alpha");
        double al;
        int c;
        if (alpha && alpha->given && num_sv(&alpha->v, &al, &c) && al != 1)
            return g_fail(g, "%s(..., alpha=) is not supported yet", n->op);
    }
    GDtype dy = g_t(g, y)->dt;
    const char *ct;
    if (cmp || logic) {
        /* the operands' common dtype (torch.result_type) */
        int tcat = -1, ncat = -1;
        GDtype common = GT_BOOL;
        for (int j = 0; j < 2; j++) {
            if (o[j].id) {
                GDtype d = g_t(g, o[j].id)->dt;
                int c = d == GT_BOOL ? 0 : g_isfloat(d) ? 2 : 1;
                common = tcat < 0 ? d : promote(common, d);
                if (c > tcat) tcat = c;
            } else if (o[j].cat > ncat) {
                ncat = o[j].cat;
            }
        }
        if (ncat > tcat) common = ncat == 2 ? GT_F32 : GT_I64;
        ct = ctype_of(common);
    } else {
        ct = ctype_of(dy);
    }
    if (!strcmp(op, "pow") && (ct[0] == 'i') && !o[1].id && o[1].v < 0)
        return g_fail(g, "pow(): integers to negative integer powers are not allowed");
    char e[400];
    const char *pre;
    if (bin_expr(op, ct, e, sizeof e, &pre) < 0)
        return g_fail(g, "%s of %s operands is not supported", op, (ct[0] == 'i') ? "integer" : "floating-point");
    return ew(g, y, 2, o, ct, e, pre);
}

/* torch.where(cond, a, b) / a.where(cond, b): any dtypes, numbers too. */
static int where(G *g, const TNode *n, int y)
{
    if (!g_is(n, "where") || !y) return 0;
    const TArg *c = g_arg(n, "condition"), *a = g_arg(n, "input"), *b = g_arg(n, "other");
    if (!c || !a || !b) return g_fail(g, "where() needs a condition and two values");
    Opd o[3] = {opd_of(g, &c->v), opd_of(g, &a->v), opd_of(g, &b->v)};
    if (o[0].id <= 0 || o[1].id < 0 || o[2].id < 0) return g_fail(g, "where() of a condition that is not a tensor");
    if (g_t(g, o[0].id)->dt != GT_BOOL) return g_fail(g, "where() needs a bool condition");
    const char *ct = ctype_of(g_t(g, y)->dt);
    /* the condition is read as ct too: 0 or 1 */
    return ew(g, y, 3, o, ct, "a0 ? a1 : a2", NULL);
}

/* ------------------------------------------------- conversions and fills */

static int convert(G *g, const TNode *n, int y)
{
    static const char *const conv[] = {"to", "float", "double", "half", "bfloat16", "long", "int", "short", "char",
                                       "byte", "bool", "type", "type_as", "contiguous", "clone", "detach", NULL};
    if (!is_any(n, conv) || !y || !n->nargs) return 0;
    int x = g_id(&n->args[0].v);
    if (!x) return 0;
    GDtype dx = g_t(g, x)->dt, dy = g_t(g, y)->dt;
    if (dx == dy) {   /* not an alias here (the plan gave it storage): a copy */
        g_line(g, "memcpy(%s, %s, (size_t)%s * %d);", g_ptr(g, y), g_ptr(g, x), g_numel(g, y), g_esize(dy));
        return 1;
    }
    Opd o = opd_of(g, &n->args[0].v);
    /* float -> integer: C's conversion (truncation), as torch's; to bool: != 0 */
    return ew(g, y, 1, &o, g_ctype(dx), "a0", NULL);
}

static int fill(G *g, const TNode *n, int y)
{
    static const char *const fills[] = {"zeros", "ones", "full", "zeros_like", "ones_like", "full_like", "new_zeros",
                                        "new_ones", "new_full", "empty", "empty_like", NULL};
    if (!is_any(n, fills) || !y) return 0;
    double v = 0;
    int cat;
    if (strstr(n->op, "ones")) v = 1;
    else if (strstr(n->op, "full")) {
        const TArg *fv = g_arg(n, "fill_value");
        if (!fv || !num_sv(&fv->v, &v, &cat)) return g_fail(g, "%s() needs a numeric fill_value", n->op);
    }
    GDtype dt = g_t(g, y)->dt;
    char lit[64], st[200];
    literal(lit, sizeof lit, ctype_of(dt), v);
    store(st, sizeof st, dt, lit);
    g_kernel(g, "rk_dtype.c");
    g_line(g, "{ %s *yp = %s; for (int64_t i = 0; i < %s; i++) yp[i] = %s; }", g_ctype(dt), g_ptr(g, y), g_numel(g, y), st);
    return 1;
}

/* ------------------------------------------------------------- reductions */

enum { R_SUM, R_MEAN, R_PROD, R_MAX, R_MIN, R_ARGMAX, R_ARGMIN, R_ANY, R_ALL };

/* Emits a reduction of x over the dims with red[k] set: values into y
 * (0: none), indices (within the reduced elements, row-major) into yi. */
static int reduce_emit(G *g, int x, const int *red, int kind, int y, int yi)
{
    GTensor *tx = g_t(g, x);
    GDtype dy = y ? g_t(g, y)->dt : GT_I64;
    int minmax = kind == R_MAX || kind == R_MIN || kind == R_ARGMAX || kind == R_ARGMIN;
    /* values are read in the result's compute type (sum(dtype=), mean of ints);
     * max/min/arg* compare in the input's */
    const char *ct = minmax ? ctype_of(tx->dt) : kind == R_ANY || kind == R_ALL ? "int64_t" : ctype_of(dy);
    int fl = (ct[0] != 'i');
    const char *acc = minmax ? ct : kind == R_ANY || kind == R_ALL ? "int64_t" : fl ? "double" : "uint64_t";
    char nout[400] = "1", nred[400] = "1";
    Aff kept[MAXR], rd[MAXR];
    int nk = 0, nr = 0;
    for (int k = 0; k < tx->rank; k++) {
        if (red[k]) rd[nr++] = tx->d[k];
        else kept[nk++] = tx->d[k];
    }
    prod_expr(g, kept, 0, nk, nout, sizeof nout);
    prod_expr(g, rd, 0, nr, nred, sizeof nred);
    if (minmax && !strcmp(nred, "0")) return g_fail(g, "a max/min over no elements");
    g_kernel(g, "rk_dtype.c");
    g_line(g, "{");
    g_line(g, "    const %s *xp = %s;", g_ctype(tx->dt), g_ptr(g, x));
    if (y) g_line(g, "    %s *yp = %s;", g_ctype(dy), g_ptr(g, y));
    if (yi) g_line(g, "    int64_t *ip = %s;", g_ptr(g, yi));
    g_line(g, "    const int64_t nred = %s;", nred);
    g_line(g, "    for (int64_t o = 0; o < %s; o++) {", nout);
    g_line(g, "        int64_t r = o, base = 0, c;");
    for (int k = tx->rank - 1; k >= 0; k--) {
        if (red[k] || is_one(tx->d[k])) continue;
        char st[300];
        prod_expr(g, tx->d, k + 1, tx->rank, st, sizeof st);
        g_line(g, "        c = r %% %s; r /= %s; base += c * %s;", g_aff(g, tx->d[k]), g_aff(g, tx->d[k]), st);
    }
    g_line(g, "        (void)r; (void)c;");
    const char *init = kind == R_PROD || kind == R_ALL ? "1" : "0";
    g_line(g, "        %s acc = %s;", acc, minmax ? "0" : init);
    g_line(g, "        int64_t at = 0;");
    g_line(g, "        for (int64_t j = 0; j < nred; j++) {");
    g_line(g, "            int64_t q = j, off = base;");
    for (int k = tx->rank - 1; k >= 0; k--) {
        if (!red[k] || is_one(tx->d[k])) continue;
        char st[300];
        prod_expr(g, tx->d, k + 1, tx->rank, st, sizeof st);
        g_line(g, "            c = q %% %s; q /= %s; off += c * %s;", g_aff(g, tx->d[k]), g_aff(g, tx->d[k]), st);
    }
    g_line(g, "            (void)q;");
    g_line(g, "            const %s v = (%s)xp[off];", ct, ct);
    switch (kind) {
    case R_SUM: case R_MEAN: g_line(g, "            acc += (%s)v;", acc); break;
    case R_PROD: g_line(g, "            acc *= (%s)v;", acc); break;
    case R_ANY: g_line(g, "            acc |= v != 0;"); break;
    case R_ALL: g_line(g, "            acc &= v != 0;"); break;
    default: {
        const char *better = kind == R_MAX || kind == R_ARGMAX ? ">" : "<";
        if (fl) g_line(g, "            if (j == 0 || (acc == acc && (v != v || v %s acc))) { acc = v; at = j; }", better);
        else g_line(g, "            if (j == 0 || v %s acc) { acc = v; at = j; }", better);
    }
    }
    g_line(g, "        }");
    g_line(g, "        (void)at;");
    char st[300];
    if (y) {
        store(st, sizeof st, dy, kind == R_MEAN ? "acc / (double)nred" : kind == R_SUM || kind == R_PROD ? (fl ? "acc" : "(int64_t)acc") : "acc");
        g_line(g, "        yp[o] = %s;", st);
    }
    if (yi) g_line(g, "        ip[o] = at;");
    g_line(g, "    }");
    g_line(g, "}");
    return 1;
}

/* The reduced dims of a dim argument (none / () / int / tuple): red[]. */
static int red_dims(G *g, const TArg *dim, int rank, int *red)
{
    int64_t dv[MAXR];
    int nd = g_none(dim) ? 0 : g_ints(dim, dv, MAXR);
    if (nd < 0) return g_fail(g, "%s(): dims must be integers", g_node(g)->op);
    for (int k = 0; k < rank; k++) red[k] = nd == 0;
    for (int i = 0; i < nd; i++) {
        int64_t d = dv[i] < 0 ? dv[i] + rank : dv[i];
        if (d < 0 || d >= (rank ? rank : 1)) return g_fail(g, "dimension out of range");
        if (rank) red[d] = 1;
    }
    return 0;
}

static int reduction(G *g, const TNode *n, int y)
{
    static const char *const reds[] = {"sum", "mean", "prod", "amax", "amin", "max", "min", "argmax", "argmin",
                                       "any", "all", NULL};
    if (!is_any(n, reds) || !n->nargs) return 0;
    int x = g_id(&n->args[0].v);
    if (!x) return 0;
    const TArg *dim = g_arg(n, "dim");
    if ((g_is(n, "max") || g_is(n, "min")) && dim && g_id(&dim->v)) {   /* torch.max(a, b): maximum */
        Opd o[2] = {opd_of(g, &n->args[0].v), opd_of(g, &dim->v)};
        const char *ct = ctype_of(g_t(g, y)->dt);
        char e[300];
        const char *pre;
        bin_expr(g_is(n, "max") ? "maximum" : "minimum", ct, e, sizeof e, &pre);
        return ew(g, y, 2, o, ct, e, NULL);
    }
    const TArg *dt = g_arg(n, "dtype");
    if (all_f32(g, n) && g_none(dt) && (g_is(n, "sum") || g_is(n, "mean") || g_is(n, "amax") || g_is(n, "amin"))) return 0;
    int red[MAXR];
    GTensor *tx = g_t(g, x);
    if (red_dims(g, dim, tx->rank, red) < 0) return -1;
    if ((g_is(n, "max") || g_is(n, "min")) && !g_none(dim)) {   /* (values, indices) */
        if (n->out.kind != V_TUPLE || n->out.n != 2) return g_fail(g, "%s(dim): a (values, indices) pair expected", n->op);
        return reduce_emit(g, x, red, g_is(n, "max") ? R_ARGMAX : R_ARGMIN, g_id(&n->out.items[0]), g_id(&n->out.items[1]));
    }
    if (!y) return 0;
    int kind = g_is(n, "sum") ? R_SUM : g_is(n, "mean") ? R_MEAN : g_is(n, "prod") ? R_PROD : g_is(n, "amax") || g_is(n, "max") ? R_MAX
             : g_is(n, "amin") || g_is(n, "min") ? R_MIN : g_is(n, "argmax") ? R_ARGMAX : g_is(n, "argmin") ? R_ARGMIN
             : g_is(n, "any") ? R_ANY : R_ALL;
    if (kind == R_ARGMAX || kind == R_ARGMIN) return reduce_emit(g, x, red, kind, 0, y);
    return reduce_emit(g, x, red, kind, y, 0);
}

/* cumsum along dim, and softmax / log_softmax, in the result's dtype. */
static int along(G *g, const TNode *n, int y)
{
    int cum = g_is(n, "cumsum"), sm = g_is(n, "softmax"), lsm = g_is(n, "log_softmax");
    if ((!cum && !sm && !lsm) || !y || !n->nargs) return 0;
    int x = g_id(&n->args[0].v);
    if (!x) return 0;
    GTensor *tx = g_t(g, x);
    const TArg *dim = g_arg(n, "dim");
    if (all_f32(g, n) && !cum && !g_none(dim)) return 0;
    int64_t d;
    if (g_none(dim)) {
        if (cum) return g_fail(g, "cumsum() needs dim");
        d = tx->rank == 0 || tx->rank == 1 || tx->rank == 3 ? 0 : 1;   /* torch's implicit dim */
    } else if (g_int(g, "dim", &d) != 1) {
        return -1;
    }
    if (d < 0) d += tx->rank;
    if (tx->rank && (d < 0 || d >= tx->rank)) return g_fail(g, "dimension out of range");
    char outer[300], inner[300];
    prod_expr(g, tx->d, 0, tx->rank ? (int)d : 0, outer, sizeof outer);
    prod_expr(g, tx->d, tx->rank ? (int)d + 1 : 0, tx->rank, inner, sizeof inner);
    const char *L = tx->rank ? g_aff(g, tx->d[d]) : "1";
    GDtype dy = g_t(g, y)->dt;
    const char *ct = ctype_of(dy);
    int fl = (ct[0] != 'i');
    const char *f = ct[0] == 'f' ? "f" : "";
    char st[300];
    g_kernel(g, "rk_dtype.c");
    g_line(g, "{");
    g_line(g, "    const %s *xp = %s;", g_ctype(tx->dt), g_ptr(g, x));
    g_line(g, "    %s *yp = %s;", g_ctype(dy), g_ptr(g, y));
    g_line(g, "    const int64_t L = %s, inner = %s;", L, inner);
    g_line(g, "    for (int64_t o = 0; o < %s; o++)", outer);
    g_line(g, "        for (int64_t i = 0; i < inner; i++) {");
    g_line(g, "            const int64_t b = o * L * inner + i;");
    if (cum) {   /* torch accumulates floats in double on the CPU */
        g_line(g, "            %s acc = 0;", fl ? "double" : "uint64_t");
        g_line(g, "            for (int64_t k = 0; k < L; k++) {");
        g_line(g, "                acc += (%s)(%s)xp[b + k * inner];", fl ? "double" : "uint64_t", ct);
        store(st, sizeof st, dy, fl ? "acc" : "(int64_t)acc");
        g_line(g, "                yp[b + k * inner] = %s;", st);
        g_line(g, "            }");
    } else {
        if (!fl) return g_fail(g, "%s() with an integer result", n->op);
        g_line(g, "            %s mx = -INFINITY, s = 0;", ct);
        g_line(g, "            for (int64_t k = 0; k < L; k++) { %s v = (%s)xp[b + k * inner]; if (v > mx || v != v) mx = v; }", ct, ct);
        g_line(g, "            for (int64_t k = 0; k < L; k++) s += exp%s((%s)xp[b + k * inner] - mx);", f, ct);
        char e[200];
        snprintf(e, sizeof e, sm ? "exp%s((%s)xp[b + k * inner] - mx) / s" : "(%s)xp[b + k * inner] - mx - log%s(s)",
                 sm ? f : ct, sm ? ct : f);
        store(st, sizeof st, dy, e);
        g_line(g, "            for (int64_t k = 0; k < L; k++) yp[b + k * inner] = %s;", st);
    }
    g_line(g, "        }");
    g_line(g, "}");
    return 1;
}

/* --------------------------------------------------------- layout copies */

/* An integer argument (or tuple) the same in both traces: count, or -1. */
static int const_ints(G *g, const char *name, int64_t *out, int cap)
{
    int64_t b[MAXR * 2];
    int na = g_ints(g_arg(g_node(g), name), out, cap), nb = g_ints(g_arg(g_twin(g), name), b, MAXR * 2);
    if (na < 0 || na != nb) return -1;
    for (int i = 0; i < na; i++)
        if (out[i] != b[i]) {
            g_fail(g, "%s(): '%s' depends on the batch size", g_node(g)->op, name);
            return -2;
        }
    return na;
}

static int repeats(G *g, const TNode *n, int y)
{
    if (!(g_is(n, "repeat") || g_is(n, "repeat_interleave") || g_is(n, "tile")) || !y || !n->nargs) return 0;
    int x = g_id(&n->args[0].v);
    if (!x) return 0;
    GTensor *tx = g_t(g, x);
    int es = g_esize(tx->dt);
    g_kernel(g, "rk_layout.c");
    if (g_is(n, "repeat") || g_is(n, "tile")) {
        int64_t reps[MAXR * 2];
        int nr = const_ints(g, g_is(n, "repeat") ? "sizes" : "dims", reps, MAXR * 2);
        if (nr == -2) return -1;
        if (nr < 0) return g_fail(g, "%s() needs integer repeats", n->op);
        if (g_is(n, "tile") && nr < tx->rank) {   /* tile pads the repeats with leading 1s */
            memmove(reps + (tx->rank - nr), reps, sizeof reps[0] * (size_t)nr);
            for (int i = 0; i < tx->rank - nr; i++) reps[i] = 1;
            nr = tx->rank;
        }
        if (nr < tx->rank) return g_fail(g, "repeat(): fewer repeats than dimensions");
        const char *xs = g_shape(g, x);
        fprintf(g->body, "    { const int64_t reps[] = {");
        for (int i = 0; i < nr; i++) fprintf(g->body, "%s%lld", i ? ", " : "", (long long)reps[i]);
        fprintf(g->body, "}; rk_repeat(%s, %s, %d, %d, %s, %d, reps); }\n", g_ptr(g, y), g_ptr(g, x), es, tx->rank, xs, nr);
        return 1;
    }
    const TArg *ra = g_arg(n, "repeats");
    if (ra && g_id(&ra->v)) return g_fail(g, "repeat_interleave() with a tensor of repeats is not supported yet");
    int64_t r;
    if (g_int(g, "repeats", &r) != 1) return g_fail(g, "repeat_interleave() needs integer repeats");
    const TArg *dm = g_arg(n, "dim");
    if (g_none(dm)) {
        g_line(g, "{ const int64_t xs[1] = {%s}; rk_repeat_interleave(%s, %s, %d, 1, xs, 0, %lld); }", g_numel(g, x),
               g_ptr(g, y), g_ptr(g, x), es, (long long)r);
        return 1;
    }
    int64_t d;
    if (g_int(g, "dim", &d) != 1) return -1;
    if (d < 0) d += tx->rank;
    if (d < 0 || d >= tx->rank) return g_fail(g, "dimension out of range");
    const char *xs = g_shape(g, x);
    g_line(g, "rk_repeat_interleave(%s, %s, %d, %d, %s, %d, %lld);", g_ptr(g, y), g_ptr(g, x), es, tx->rank, xs, (int)d,
           (long long)r);
    return 1;
}

/* torch.outer(a, b): a[:, None] * b[None, :]. */
static int outer(G *g, const TNode *n, int y)
{
    if (!(g_is(n, "outer") || g_is(n, "ger")) || !y || n->nargs < 2) return 0;
    Opd o[2] = {opd_of(g, &n->args[0].v), opd_of(g, &n->args[1].v)};
    if (o[0].id <= 0 || o[1].id <= 0 || o[0].rank != 1 || o[1].rank != 1) return g_fail(g, "outer() of two vectors");
    o[0].rank = 2, o[0].d[1] = (Aff){0, 1};
    o[1].rank = 2, o[1].d[1] = o[1].d[0], o[1].d[0] = (Aff){0, 1};
    const char *ct = ctype_of(g_t(g, y)->dt);
    return ew(g, y, 2, o, ct, (ct[0] == 'i') ? "(int64_t)((uint64_t)a0 * (uint64_t)a1)" : "a0 * a1", NULL);
}

/* ------------------------------------------------------------------ einsum */

enum { NLAB = 64 };

static int lab_of(char c)
{
    if (c >= 'a' && c <= 'z') return c - 'a';
    if (c >= 'A' && c <= 'Z') return 26 + c - 'A';
    return -1;
}

/* One operand's labels (the ellipsis expanded to labels 52.. from the
 * right); the count, -1 when malformed. */
static int es_term(const char *s, size_t len, int rank, int *lab)
{
    int letters = 0, ell = -1;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '.') {
            if (ell >= 0 || i + 2 >= len + 0 || s[i + 1] != '.' || s[i + 2] != '.') return -1;
            ell = letters;
            i += 2;
        } else if (lab_of(s[i]) >= 0) {
            letters++;
        } else {
            return -1;
        }
    }
    int ne = ell >= 0 ? rank - letters : 0;
    if (ne < 0 || (ell < 0 && letters != rank) || ne > NLAB - 52) return -1;
    int k = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '.') {
            for (int e = 0; e < ne; e++) lab[k++] = 52 + (ne - 1 - e);   /* 52: the last ellipsis dim */
            i += 2;
        } else {
            lab[k++] = lab_of(s[i]);
        }
    }
    return k;
}

static int einsum(G *g, const TNode *n, int y)
{
    if (!g_is(n, "einsum") || !y) return 0;
    const TArg *eq = g_arg(n, "equation"), *ops = g_arg(n, "operands");
    if (!eq || eq->v.kind != V_CONF || eq->v.c.kind != VAL_STR || !ops || ops->v.kind != V_TUPLE)
        return g_fail(g, "einsum() needs an equation and tensors");
    const SV *ov = &ops->v;
    if (ov->n == 1 && ov->items[0].kind == V_TUPLE) ov = &ov->items[0];
    int nop = (int)ov->n, id[8];
    if (nop < 1 || nop > 8) return g_fail(g, "einsum() of %d operands", nop);
    for (int i = 0; i < nop; i++) {
        id[i] = g_id(&ov->items[i]);
        if (!id[i]) return g_fail(g, "einsum() of a non-tensor");
        if (g_isfloat(g_t(g, id[i])->dt) != g_isfloat(g_t(g, y)->dt)) return g_fail(g, "einsum() of mixed dtypes");
    }
    char s[256];
    size_t sl = 0;
    for (const char *p = eq->v.c.s; *p && sl + 1 < sizeof s; p++)
        if (*p != ' ') s[sl++] = *p;
    s[sl] = 0;
    const char *arrow = strstr(s, "->");
    size_t lhs_len = arrow ? (size_t)(arrow - s) : sl;
    int lab[8][MAXR], nl[8], count[NLAB] = {0}, maxell = 0;
    Aff size[NLAB];
    int have[NLAB] = {0};
    const char *p = s;
    for (int i = 0; i < nop; i++) {
        const char *e = memchr(p, ',', lhs_len - (size_t)(p - s));
        size_t len = e ? (size_t)(e - p) : lhs_len - (size_t)(p - s);
        if ((i < nop - 1) != (e != NULL)) return g_fail(g, "einsum(): the equation does not name %d operands", nop);
        GTensor *t = g_t(g, id[i]);
        nl[i] = es_term(p, len, t->rank, lab[i]);
        if (nl[i] < 0) return g_fail(g, "einsum(): cannot read operand %d's subscripts", i);
        for (int k = 0; k < nl[i]; k++) {
            int l = lab[i][k];
            if (l >= 52 && l - 51 > maxell) maxell = l - 51;
            count[l]++;
            if (!have[l] || is_one(size[l])) size[l] = t->d[k], have[l] = 1;
            else if (!is_one(t->d[k]) && !same_aff(size[l], t->d[k]))
                return g_fail(g, "einsum(): label sizes disagree");
        }
        p = e ? e + 1 : p + len;
    }
    int out[MAXR * 2], no = 0, inout[NLAB] = {0};
    if (arrow) {
        int r = 0;
        const char *q = arrow + 2;
        for (; *q; q++) {
            if (*q == '.') {
                if (strncmp(q, "...", 3)) return g_fail(g, "einsum(): cannot read the output's subscripts");
                for (int e = maxell - 1; e >= 0 && no < MAXR; e--) out[no++] = 52 + e;
                q += 2;
            } else if (lab_of(*q) >= 0 && no < MAXR) {
                out[no++] = lab_of(*q);
            } else {
                return g_fail(g, "einsum(): cannot read the output's subscripts");
            }
        }
        (void)r;
    } else {   /* implicit: the ellipsis, then the labels seen once, in order */
        for (int e = maxell - 1; e >= 0; e--) out[no++] = 52 + e;
        for (int l = 26; l < 52; l++) if (count[l] == 1 && no < MAXR) out[no++] = l;   /* 'A'.. before 'a'.. */
        for (int l = 0; l < 26; l++) if (count[l] == 1 && no < MAXR) out[no++] = l;
    }
    for (int k = 0; k < no; k++) {
        if (!have[out[k]] || inout[out[k]]) return g_fail(g, "einsum(): a bad output label");
        inout[out[k]] = 1;
    }
    if (no != g_t(g, y)->rank) return g_fail(g, "einsum(): the output's rank disagrees with the checker's");
    GDtype dy = g_t(g, y)->dt;
    const char *acc = g_isfloat(dy) ? "double" : "uint64_t";
    char st[200];
    g_kernel(g, "rk_dtype.c");
    g_line(g, "{");
    g_line(g, "    %s *yp = %s;", g_ctype(dy), g_ptr(g, y));
    for (int i = 0; i < nop; i++) g_line(g, "    const %s *p%d = %s;", g_ctype(g_t(g, id[i])->dt), i, g_ptr(g, id[i]));
    g_line(g, "    int64_t yo = 0;");
    int depth = 1;
    for (int k = 0; k < no; k++, depth++)
        g_line(g, "%*sfor (int64_t l%d = 0; l%d < %s; l%d++)", 4 * depth, "", out[k], out[k], g_aff(g, size[out[k]]), out[k]);
    g_line(g, "%*s{", 4 * depth, "");
    g_line(g, "%*s    %s acc = 0;", 4 * depth, "", acc);
    int d2 = depth + 1;
    for (int l = 0; l < NLAB; l++)
        if (have[l] && !inout[l]) {
            g_line(g, "%*sfor (int64_t l%d = 0; l%d < %s; l%d++)", 4 * d2, "", l, l, g_aff(g, size[l]), l);
            d2++;
        }
    fprintf(g->body, "%*sacc += ", 4 * d2 + 4, "");
    for (int i = 0; i < nop; i++) {
        GTensor *t = g_t(g, id[i]);
        fprintf(g->body, "%s(%s)p%d[0", i ? " * " : "", acc, i);
        for (int k = 0; k < nl[i]; k++) {
            if (is_one(t->d[k])) continue;
            char sx[300];
            prod_expr(g, t->d, k + 1, t->rank, sx, sizeof sx);
            fprintf(g->body, " + l%d * %s", lab[i][k], sx);
        }
        fprintf(g->body, "]");
    }
    fprintf(g->body, ";\n");
    store(st, sizeof st, dy, g_isfloat(dy) ? "acc" : "(int64_t)acc");
    g_line(g, "%*s    yp[yo++] = %s;", 4 * depth, "", st);
    g_line(g, "%*s}", 4 * depth, "");
    g_line(g, "    (void)yo;");
    g_line(g, "}");
    return 1;
}

/* ------------------------------------------------------------------ entry */

int emit_math(G *g, const TNode *n)
{
    if (n->kind != TN_FN && n->kind != TN_BINOP && n->kind != TN_UNOP) return 0;
    if (n->kind == TN_BINOP && n->opc == '@') return 0;
    int y = g_id(&n->out), r;
    if (n->kind == TN_UNOP) return unary(g, n, y);
    if ((r = binary(g, n, y)) != 0) return r;
    if (n->kind != TN_FN) return 0;
    if ((r = where(g, n, y)) != 0) return r;
    if ((r = reduction(g, n, y)) != 0) return r;
    if (g_is(n, "clamp") || g_is(n, "clip")) return clamp(g, n, y);
    if ((r = convert(g, n, y)) != 0) return r;
    if ((r = fill(g, n, y)) != 0) return r;
    if ((r = along(g, n, y)) != 0) return r;
    if ((r = repeats(g, n, y)) != 0) return r;
    if ((r = outer(g, n, y)) != 0) return r;
    if ((r = einsum(g, n, y)) != 0) return r;
    return unary(g, n, y);
}
