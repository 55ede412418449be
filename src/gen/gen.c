/* gen.c — the code generator's driver: traces, storage plan, output files.
 *
 * From the spec's forward traced at batch 2 and batch 3 (trace.h) it makes
 * one table of tensors whose sizes are affine in the batch, decides where
 * each lives (gen.h: input, weight, alias, arena), plans the arena by
 * liveness, has each node emitted (emit_layer.c, emit_fn.c) and writes
 * model.c and model.h.
 */
#include <config.h>

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gen.h"
#include "kernels.h"
#include "rcc.h"

#define RCC_VERSION_TEXT "rcc " PACKAGE_VERSION

/* ---------------------------------------------------------------- helpers */

/* The rotating buffers of the C-expression helpers (gen.h). */
static char *ring(void)
{
    static char bufs[64][512];
    static int k;
    k = (k + 1) % 64;
    return bufs[k];
}

const TNode *g_node(const G *g) { return &g->ta.nodes[g->cur]; }
const TNode *g_twin(const G *g) { return &g->tb.nodes[g->cur]; }
GTensor *g_t(G *g, int id) { return &g->t[id]; }
int g_id(const SV *v) { return v && v->kind == V_TENSOR ? v->id : 0; }

int g_fail(G *g, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    Span sp = g->cur < g->ta.n ? g->ta.nodes[g->cur].span : NO_SPAN;
    diag(g->e->d, DG_ERROR, sp, "cannot generate code: %s", msg);
    g->nerr++;
    return -1;
}

void g_line(G *g, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("    ", g->body);
    vfprintf(g->body, fmt, ap);
    fputc('\n', g->body);
    va_end(ap);
}

void g_kernel(G *g, const char *file)
{
    for (size_t i = 0; i < g->nkern; i++)
        if (!strcmp(g->kern[i], file)) return;
    if (g->nkern < sizeof g->kern / sizeof g->kern[0]) g->kern[g->nkern++] = file;
}

const char *g_aff(G *g, Aff v)
{
    (void)g;
    char *b = ring();
    if (!v.a) snprintf(b, 512, "%lld", (long long)v.b);
    else if (!v.b) snprintf(b, 512, v.a == 1 ? "n" : "%lld * n", (long long)v.a);
    else snprintf(b, 512, v.a == 1 ? "(n + %lld)" : "(%lld * n + %lld)", (long long)v.a, (long long)v.b);
    if (v.a && v.b) {
        if (v.a == 1) snprintf(b, 512, "(n %c %lld)", v.b < 0 ? '-' : '+', (long long)(v.b < 0 ? -v.b : v.b));
        else snprintf(b, 512, "(%lld * n %c %lld)", (long long)v.a, v.b < 0 ? '-' : '+', (long long)(v.b < 0 ? -v.b : v.b));
    }
    return b;
}

const char *g_float(double v)
{
    char *b = ring();
    if (v != v) return "NAN";
    if (v > 3.4028235e38) return "INFINITY";
    if (v < -3.4028235e38) return "(-INFINITY)";
    snprintf(b, 512, "%.9g", v);
    if (!strpbrk(b, ".e")) strcat(b, ".0");
    strcat(b, "f");
    return b;
}

int g_ints(const TArg *a, int64_t *out, int cap)
{
    if (!a) return -1;
    const SV *v = &a->v;
    if (v->kind == V_CONF && v->c.kind == VAL_INTS) {
        if ((int)v->c.n > cap) return -1;
        for (size_t i = 0; i < v->c.n; i++) out[i] = v->c.ints[i];
        return (int)v->c.n;
    }
    if (v->kind == V_TUPLE) {
        if (v->n == 1 && (v->items[0].kind == V_TUPLE || (v->items[0].kind == V_CONF && v->items[0].c.kind == VAL_INTS))) {
            TArg inner = {a->name, v->items[0], a->given};   /* permute([0, 2, 1]) through *dims */
            return g_ints(&inner, out, cap);
        }
        if ((int)v->n > cap) return -1;
        for (size_t i = 0; i < v->n; i++)
            if (sh_as_int(&v->items[i], &out[i]) != 1) return -1;
        return (int)v->n;
    }
    if (cap >= 1 && sh_as_int(v, &out[0]) == 1) return 1;
    return -1;
}

const char *g_dim(G *g, int id, int k)
{
    GTensor *t = &g->t[id];
    if (k < 0) k += t->rank;
    return g_aff(g, k >= 0 && k < t->rank ? t->d[k] : (Aff){0, 1});
}

/* Product of a tensor's sizes: affine while at most one factor depends on
 * the batch, and below 2^48 elements per batch item (*bad set otherwise:
 * no size of a real model comes near, and the arena's byte counts then
 * cannot overflow). */
static Aff numel_aff(const GTensor *t, int *bad)
{
    Aff p = {0, 1};
    for (int k = 0; k < t->rank; k++) {
        Aff d = t->d[k], q;
        if (p.a && d.a) {
            *bad = 1;
            return p;
        }
        int64_t x, y;
        if (__builtin_mul_overflow(p.a, d.b, &x) || __builtin_mul_overflow(d.a, p.b, &y) ||
            __builtin_add_overflow(x, y, &q.a) || __builtin_mul_overflow(p.b, d.b, &q.b) ||
            q.a > ((int64_t)1 << 48) || q.b > ((int64_t)1 << 48)) {
            *bad = 1;
            return p;
        }
        p = q;
    }
    return p;
}

const char *g_numel(G *g, int id)
{
    int bad = 0;
    Aff p = numel_aff(&g->t[id], &bad);
    return g_aff(g, p);
}

static const struct { const char *name, *ctype; int size, isfloat; } dtypes[] = {
    [GT_F32] = {"f32", "float", 4, 1},    [GT_I64] = {"i64", "int64_t", 8, 0},   [GT_BOOL] = {"bool", "uint8_t", 1, 0},
    [GT_F64] = {"f64", "double", 8, 1},   [GT_F16] = {"f16", "float", 4, 1},     [GT_BF16] = {"bf16", "float", 4, 1},
    [GT_I32] = {"i32", "int32_t", 4, 0},  [GT_I16] = {"i16", "int16_t", 2, 0},   [GT_I8] = {"i8", "int8_t", 1, 0},
    [GT_U8] = {"u8", "uint8_t", 1, 0},
};
const char *g_ctype(GDtype dt) { return dtypes[dt].ctype; }
int g_esize(GDtype dt) { return dtypes[dt].size; }
const char *g_dtname(GDtype dt) { return dtypes[dt].name; }
int g_isfloat(GDtype dt) { return dtypes[dt].isfloat; }
static const char *ctype(GDtype dt) { return g_ctype(dt); }
static int64_t esize(GDtype dt) { return g_esize(dt); }

/* The .npy dtype (rk_npy.c) a tensor of dtype dt is read or written as. */
static const char *npy_dtype(GDtype dt)
{
    static const char *const names[] = {
        [GT_F32] = "RK_NPY_F4", [GT_I64] = "RK_NPY_I8", [GT_BOOL] = "RK_NPY_B1", [GT_F64] = "RK_NPY_F8",
        [GT_F16] = "RK_NPY_F2", [GT_BF16] = "RK_NPY_F4", [GT_I32] = "RK_NPY_I4", [GT_I16] = "RK_NPY_I2",
        [GT_I8] = "RK_NPY_I1",  [GT_U8] = "RK_NPY_U1",
    };
    return names[dt];
}

static int root_of(const G *g, int id)
{
    while (id && g->t[id].store == GS_ALIAS) id = g->t[id].alias;
    return id;
}

const char *g_ptr(G *g, int id)
{
    char *b = ring();
    int r = root_of(g, id);
    GTensor *t = &g->t[r];
    const char *ty = ctype(g->t[id].dt);
    switch (t->store) {
    case GS_INPUT: snprintf(b, 512, "in%d", t->input); break;
    case GS_WEIGHT:
        if (t->dt == GT_BOOL) snprintf(b, 512, "((uint8_t *)(m->wi + %lld))", (long long)t->off);   /* narrowed at load */
        else snprintf(b, 512, "(m->%s + %lld)", t->dt == GT_I64 ? "wi" : "w", (long long)t->off);
        break;
    case GS_ARENA: snprintf(b, 512, "((%s *)(m->arena + %lld * n))", ty, (long long)t->off); break;
    default: snprintf(b, 512, "NULL /* tensor %d has no storage */", id); break;
    }
    return b;
}

const char *g_shape(G *g, int id)
{
    static char names[16][16];   /* apart from ring(), which the sizes below use */
    static int k;
    k = (k + 1) % 16;
    char *b = names[k];
    snprintf(b, sizeof names[k], "s%d", ++g->tmp);
    fprintf(g->body, "    const int64_t %s[%d] = {", b, g->t[id].rank ? g->t[id].rank : 1);
    for (int k = 0; k < g->t[id].rank; k++) fprintf(g->body, "%s%s", k ? ", " : "", g_dim(g, id, k));
    fprintf(g->body, "%s};\n", g->t[id].rank ? "" : "1");
    return b;
}

const char *g_scratch(G *g, const char *fmt, ...)
{
    char expr[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(expr, sizeof expr, fmt, ap);
    va_end(ap);
    fprintf(g->scratch, "    { int64_t n = max_batch; int64_t s = %s; if (s > need) need = s; (void)n; }\n", expr);
    g->nscratch++;
    return "m->scratch";
}

const char *g_ids64(G *g, int id)
{
    if (g->t[id].dt == GT_I64) return g_ptr(g, id);
    char n[256];
    snprintf(n, sizeof n, "%s", g_numel(g, id));
    const char *sp = g_scratch(g, "%s * 2 + 1", n);   /* int64s in float units */
    g_line(g, "for (int64_t k = 0; k < %s; k++) ((int64_t *)%s)[k] = %s[k];", n, sp, g_ptr(g, id));
    char *b = ring();
    snprintf(b, 512, "((const int64_t *)%s)", sp);
    return b;
}

long g_weight_index(G *g, size_t inst, const char *name)
{
    return elab_find_key(g->e, g->e->insts[inst].path, name);
}

/* Gives tensor i of e->tensors a place in its weight block. */
static void weight_slot(G *g, long i)
{
    if (g->wslot_of[i]) return;
    const ExpTensor *t = &g->e->tensors[i];
    int64_t n = 1;
    for (int k = 0; k < t->ndim; k++) n *= t->shape[k];
    int kind = rcc_dtype_kind(t->dtype), isint = kind == 'i' || kind == 'u' || kind == 'b';
    g->wslot_of[i] = t->dtype == RCC_BOOL ? 3 : isint ? 2 : 1;   /* 3: bytes, narrowed in the int64 block */
    int64_t *next = isint ? &g->inext : &g->wnext;
    g->woff[i] = *next;
    *next += (n + 15) / 16 * 16;   /* 64-byte aligned slots */
}

const char *g_weight(G *g, size_t inst, const char *name)
{
    long i = g_weight_index(g, inst, name);
    if (i < 0) return "NULL";
    weight_slot(g, i);
    char *b = ring();
    if (g->wslot_of[i] == 3) snprintf(b, 512, "((uint8_t *)(m->wi + %lld))", (long long)g->woff[i]);
    else snprintf(b, 512, "(m->%s + %lld)", g->wslot_of[i] == 2 ? "wi" : "w", (long long)g->woff[i]);
    return b;
}

int g_is(const TNode *n, const char *op) { return n->op && !strcmp(n->op, op); }
int g_none(const TArg *a) { return !a || (a->v.kind == V_CONF && a->v.c.kind == VAL_NONE); }
int g_in0(const TNode *n) { return n->nargs ? g_id(&n->args[0].v) : 0; }
int g_es(G *g, int id) { return g_esize(g->t[id].dt); }

int g_arg_id(const TNode *n, const char *name)
{
    const TArg *a = g_arg(n, name);
    return a ? g_id(&a->v) : 0;
}

const char *g_str_arg(const TArg *a)
{
    return a && a->v.kind == V_CONF && a->v.c.kind == VAL_STR ? a->v.c.s : NULL;
}

int g_num(const SV *v, double *out)
{
    if (v->kind != V_CONF) return 0;
    if (v->c.kind == VAL_FLOAT) *out = v->c.f;
    else if (v->c.kind == VAL_INT || v->c.kind == VAL_BOOL) *out = (double)v->c.i;
    else return 0;
    return 1;
}

int g_num_arg(const TArg *a, double *out) { return a && g_num(&a->v, out); }

int g_number(G *g, const char *name, double *out)
{
    const TArg *a = g_arg(g_node(g), name), *b = g_arg(g_twin(g), name);
    if (g_none(a)) return 0;
    double x, y;
    if (!g_num(&a->v, &x) || !b || !g_num(&b->v, &y))
        return g_fail(g, "%s(): '%s' must be a number", g_node(g)->op, name);
    if (x != y) return g_fail(g, "%s(): '%s' depends on the batch size", g_node(g)->op, name);
    *out = x;
    return 1;
}

int g_dim_arg(G *g, const char *name, int rank, int def, int *out)
{
    int64_t d;
    int r = g_int(g, name, &d);
    if (r < 0) return -1;
    if (r == 0) {
        if (def == G_NODEF) return 0;
        d = def;
    }
    if (d < 0) d += rank;
    if (d < 0 || d >= rank) return g_fail(g, "%s(): dimension %lld is out of range for rank %d", g_node(g)->op,
                                          (long long)d, rank);
    *out = (int)d;
    return 1;
}

const TArg *g_arg(const TNode *n, const char *name)
{
    for (size_t i = 0; i < n->nargs; i++)
        if (n->args[i].name && !strcmp(n->args[i].name, name)) return &n->args[i];
    return NULL;
}

int g_int(G *g, const char *name, int64_t *out)
{
    const TArg *a = g_arg(g_node(g), name), *b = g_arg(g_twin(g), name);
    if (!a || (a->v.kind == V_CONF && a->v.c.kind == VAL_NONE)) return 0;
    int64_t x, y;
    if (sh_as_int(&a->v, &x) != 1 || !b || sh_as_int(&b->v, &y) != 1)
        return g_fail(g, "%s(): '%s' must be an integer", g_node(g)->op, name);
    if (x != y) return g_fail(g, "%s(): '%s' depends on the batch size", g_node(g)->op, name);
    *out = x;
    return 1;
}

const Val *g_larg(const Instance *in, const char *name)
{
    for (size_t k = 0; in->layer && k < in->layer->nargs && k < in->nargs; k++)
        if (!strcmp(in->layer->args[k].name, name)) return &in->args[k];
    return NULL;
}

int64_t g_lint(const Instance *in, const char *name, int j, int64_t def)
{
    const Val *v = g_larg(in, name);
    if (!v) return def;
    if (v->kind == VAL_INT || v->kind == VAL_BOOL) return v->i;
    if (v->kind == VAL_INTS && v->n) return v->ints[(size_t)j < v->n ? (size_t)j : v->n - 1];
    return def;
}

double g_lnum(const Instance *in, const char *name, double def)
{
    const Val *v = g_larg(in, name);
    if (!v) return def;
    if (v->kind == VAL_FLOAT) return v->f;
    if (v->kind == VAL_INT || v->kind == VAL_BOOL) return (double)v->i;
    return def;
}

/* ------------------------------------------------------------ the tensors */

static int dtype_of(const char *dt, GDtype *out)
{
    if (!dt) return -1;
    for (size_t i = 0; i < sizeof dtypes / sizeof dtypes[0]; i++)
        if (!strcmp(dt, dtypes[i].name)) {
            *out = (GDtype)i;
            return 0;
        }
    return -1;
}

/* Records the tensors of v (defined by node k; its twin w in the other
 * trace) with affine sizes. */
static int define(G *g, size_t k, const SV *v, const SV *w)
{
    if (v->kind == V_TUPLE) {
        if (w->kind != V_TUPLE || w->n != v->n) return g_fail(g, "the forward's structure depends on the batch size");
        for (size_t i = 0; i < v->n; i++)
            if (define(g, k, &v->items[i], &w->items[i]) < 0) return -1;
        return 0;
    }
    if (v->kind != V_TENSOR) return 0;
    if (w->kind != V_TENSOR || w->id != v->id || w->rank != v->rank || v->id <= 0 || v->id > g->nt)
        return g_fail(g, "the forward's structure depends on the batch size");
    GTensor *t = &g->t[v->id];
    if (v->rank < 0) return g_fail(g, "a tensor of unknown rank");
    if (dtype_of(v->dtype, &t->dt) < 0) return g_fail(g, "tensors of dtype %s are not supported yet", v->dtype ? v->dtype : "?");
    t->rank = v->rank;
    t->def = (int)k;
    for (int d = 0; d < v->rank; d++) {
        if (!known(v->d[d]) || !known(w->d[d])) return g_fail(g, "a size the checker could not compute");
        int64_t a = w->d[d].n - v->d[d].n, b = v->d[d].n - 2 * a;
        if (a < 0 || a + b < 0) return g_fail(g, "a size that shrinks as the batch grows");
        t->d[d] = (Aff){a, b};
    }
    int bad = 0;
    numel_aff(t, &bad);
    if (bad) return g_fail(g, "a tensor whose size grows faster than the batch, or of more than 2^48 elements");
    return 0;
}

/* Calls f on each tensor operand of node n. */
static void operands(const TNode *n, void (*f)(G *, int, size_t), G *g, size_t k);

static void each_sv(const SV *v, void (*f)(G *, int, size_t), G *g, size_t k)
{
    if (v->kind == V_TENSOR && v->id) f(g, v->id, k);
    if (v->kind == V_TUPLE)
        for (size_t i = 0; i < v->n; i++) each_sv(&v->items[i], f, g, k);
}

static void operands(const TNode *n, void (*f)(G *, int, size_t), G *g, size_t k)
{
    for (size_t i = 0; i < n->nargs; i++) each_sv(&n->args[i].v, f, g, k);
    each_sv(&n->a, f, g, k);
    each_sv(&n->b, f, g, k);
    for (size_t i = 0; i < n->nidx; i++) each_sv(&n->idx[i].t, f, g, k);
}

static void count_use(G *g, int id, size_t k) { (void)k; g->uses[id]++; }
static void mark_last(G *g, int id, size_t k)
{
    int r = root_of(g, id);
    if ((int)k > g->t[r].last) g->t[r].last = (int)k;
}

/* The one tensor operand a pure activation or a BatchNorm reads. */
static int first_tensor(const TNode *n)
{
    if (n->kind == TN_LAYER || n->kind == TN_FN) return n->nargs ? g_id(&n->args[0].v) : 0;
    return g_id(&n->a);
}

static int is_gemm_layer(const TNode *n)
{
    return n->kind == TN_LAYER && (!strcmp(n->op, "Conv2d") || !strcmp(n->op, "Linear") || !strcmp(n->op, "Conv1d"));
}

/* Storage: weights, inputs, aliases, fusions; then arena slots by liveness. */
static int plan(G *g, int64_t *arena_unit)
{
    size_t nn = g->ta.n;
    g->uses = calloc((size_t)g->nt + 1, sizeof(int));
    g->act_of = calloc(nn + 1, sizeof(int));
    g->bn_of = calloc(nn + 1, sizeof(int));
    if (!g->uses || !g->act_of || !g->bn_of) return g_fail(g, "out of memory");
    for (size_t k = 0; k < nn; k++) operands(&g->ta.nodes[k], count_use, g, k);
    each_sv(&g->ta.ret, count_use, g, nn);
    for (size_t k = 0; k < nn; k++) {
        const TNode *n = &g->ta.nodes[k];
        g->cur = k;
        int out = g_id(&n->out);
        if (n->kind == TN_WEIGHT) {
            GDtype dt = g->t[out].dt;
            if (dt != GT_F32 && dt != GT_F16 && dt != GT_BF16 && dt != GT_I64 && dt != GT_BOOL)
                return g_fail(g, "a weight of dtype %s is not supported yet", g_dtname(dt));
            weight_slot(g, (long)n->tensor);
            g->t[out].store = GS_WEIGHT;
            g->t[out].off = g->woff[n->tensor];
            continue;
        }
        if (n->kind == TN_INPUT) {
            if (g->t[out].dt == GT_F16 || g->t[out].dt == GT_BF16)
                return g_fail(g, "an input of dtype %s is not supported yet", g_dtname(g->t[out].dt));
            g->t[out].store = GS_INPUT;
            g->t[out].input = n->iarg;
            continue;
        }
        int src = out ? emit_alias_of(g, n) : 0;
        if (src > 0 && g->t[src].dt == g->t[out].dt) {
            g->t[out].store = GS_ALIAS;
            g->t[out].alias = src;
            continue;
        }
        int x = first_tensor(n);
        int p = x ? g->t[x].def : -1;
        const TNode *pn = p >= 0 && x ? &g->ta.nodes[p] : NULL;
        int single = x && g->uses[x] == 1 && g->t[x].store == GS_UNSET;
        /* BatchNorm after a conv or linear that feeds nothing else: folded at load */
        if (pn && single && n->kind == TN_LAYER && !strncmp(n->op, "BatchNorm", 9) && is_gemm_layer(pn) &&
            !g->bn_of[p] && !g->act_of[p] && g_weight_index(g, n->inst, "running_mean") >= 0) {
            g->bn_of[p] = (int)k + 1;
            g->t[out].store = GS_ALIAS;
            g->t[out].alias = x;
            g->t[out].fused = 1;
            continue;
        }
        int act = out ? emit_act_of(g, n) : 0;
        if (act && x && g->uses[x] == 1 && g->t[x].store == GS_ALIAS && g->t[x].fused) {
            /* conv -> folded BatchNorm -> activation: the activation goes to the conv */
            x = g->t[x].alias;
            p = g->t[x].def;
            pn = &g->ta.nodes[p];
            single = 1;
        }
        if (pn && single && act && is_gemm_layer(pn) && !g->act_of[p]) {
            g->act_of[p] = act;
            g->t[out].store = GS_ALIAS;
            g->t[out].alias = x;
            g->t[out].fused = 1;
            continue;
        }
    }
    for (int i = 1; i <= g->nt; i++)
        if (g->t[i].store == GS_UNSET) g->t[i].store = GS_ARENA;
    /* liveness: the last node reading each storage */
    for (int i = 1; i <= g->nt; i++) g->t[i].last = g->t[i].def;
    for (size_t k = 0; k < nn; k++) operands(&g->ta.nodes[k], mark_last, g, k);
    each_sv(&g->ta.ret, mark_last, g, nn + 1);
    /* first fit over the live blocks, in node order */
    int *live = calloc((size_t)g->nt + 1, sizeof(int));
    size_t nlive = 0;
    int64_t top = 0;
    if (!live) return g_fail(g, "out of memory");
    size_t next = 1;
    for (size_t k = 0; k < nn; k++) {
        for (; next <= (size_t)g->nt && g->t[next].def <= (int)k; next++) {
            GTensor *t = &g->t[next];
            if (t->store != GS_ARENA || t->def != (int)k) continue;
            int bad = 0;
            Aff ne = numel_aff(t, &bad);
            int64_t unit = (ne.a + (ne.b > 0 ? ne.b : 0)) * esize(t->dt);
            unit = (unit + 63) / 64 * 64;
            if (!unit) unit = 64;
            int64_t off = 0;
            for (int moved = 1; moved;) {   /* lowest gap that fits */
                moved = 0;
                for (size_t i = 0; i < nlive; i++) {
                    GTensor *o = &g->t[live[i]];
                    int bad2 = 0;
                    Aff oe = numel_aff(o, &bad2);
                    int64_t ou = ((oe.a + (oe.b > 0 ? oe.b : 0)) * esize(o->dt) + 63) / 64 * 64;
                    if (!ou) ou = 64;
                    if (off < o->off + ou && o->off < off + unit) {
                        off = o->off + ou;
                        moved = 1;
                    }
                }
            }
            t->off = off;
            if (off + unit > top) top = off + unit;
            live[nlive++] = (int)next;
        }
        for (size_t i = 0; i < nlive;)   /* storage read for the last time here is free after it */
            if (g->t[live[i]].last <= (int)k) live[i] = live[--nlive];
            else i++;
    }
    free(live);
    *arena_unit = top;
    return g->nerr ? -1 : 0;
}

/* ----------------------------------------------------------------- output */

static const char *src_path(const G *g, Span sp, size_t *line)
{
    const Diags *d = g->e->d;
    if (sp.file >= d->nfiles) return NULL;
    size_t col;
    diag_position(d, sp.file, sp.lo, line, &col);
    return d->files[sp.file].path;
}

/* The C string literal of s (paths, keys). */
static void cstr(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') fprintf(f, "\\%c", c);
        else if (c < 32 || c >= 127) fprintf(f, "\\%03o", c);
        else fputc(c, f);
    }
    fputc('"', f);
}

static void type_comment(G *g, FILE *f, int id)
{
    GTensor *t = &g->t[id];
    fprintf(f, "%s[", g_dtname(t->dt));
    for (int k = 0; k < t->rank; k++) fprintf(f, "%s%s", k ? ", " : "", g_dim(g, id, k));
    fputc(']', f);
}

/* Outputs: the tensors of the returned value in order (none skipped). */
static void collect_outputs(const SV *v, int *out, int *n, int cap)
{
    if (v->kind == V_TENSOR && *n < cap) out[(*n)++] = v->id;
    if (v->kind == V_TUPLE)
        for (size_t i = 0; i < v->n; i++) collect_outputs(&v->items[i], out, n, cap);
}

static void upper(char *dst, const char *src, size_t cap)
{
    size_t i = 0;
    for (; src[i] && i + 1 < cap; i++) dst[i] = (char)toupper((unsigned char)src[i]);
    dst[i] = 0;
}

enum { MAXIO = 64 };   /* inputs, and outputs, of a forward */

typedef struct Io {
    int in[MAXIO], nin;     /* tensor ids of the inputs, by position */
    int out[MAXIO], nout;
    const char *in_name[MAXIO];
} Io;

static void write_header(G *g, FILE *h, const char *P, const Io *io, int64_t unit, const char *hname)
{
    char U[128], guard[160];
    upper(U, P, sizeof U);
    snprintf(guard, sizeof guard, "%s_H", U);
    fprintf(h, "/* %s — generated by %s from %s; do not edit.\n *\n", hname, RCC_VERSION_TEXT, g->o->spec);
    fprintf(h, " * The model's forward, specialised to its spec: one object per loaded\n"
               " * model, used by one thread at a time.  N is the batch, 1..max_batch. */\n");
    fprintf(h, "#ifndef %s\n#define %s\n\n#include <stddef.h>\n#include <stdint.h>\n\n", guard, guard);
    for (int i = 0; i < io->nin; i++) {
        fprintf(h, "#define %s_IN%d_SHAPE {", U, i);
        GTensor *t = &g->t[io->in[i]];
        for (int k = 0; k < t->rank; k++) {
            if (t->d[k].a) fprintf(h, "%sN", k ? ", " : "");
            else fprintf(h, "%s%lld", k ? ", " : "", (long long)t->d[k].b);
        }
        fprintf(h, "}   /* %s: %s */\n", io->in_name[i], ctype(t->dt));
    }
    for (int i = 0; i < io->nout; i++) {
        fprintf(h, "#define %s_OUT%d_SHAPE {", U, i);
        GTensor *t = &g->t[io->out[i]];
        for (int k = 0; k < t->rank; k++) fprintf(h, "%s%s", k ? ", " : "", t->d[k].a ? "N" : g_aff(g, t->d[k]));
        fprintf(h, "}   /* %s%s */\n", ctype(t->dt), t->dt == GT_F16 ? ", values that are halves" : t->dt == GT_BF16 ? ", values that are bfloat16s" : "");
    }
    fprintf(h, "#define %s_NIN %d\n#define %s_NOUT %d\n", U, io->nin, U, io->nout);
    fprintf(h, "/* The activation arena: bytes for a batch of N (the scratch space of\n"
               " * convolutions and attention comes on top, sized at load). */\n");
    fprintf(h, "#define %s_ARENA_BYTES(N) ((size_t)%lld * (size_t)(N))\n\n", U, (long long)unit);
    fprintf(h, "typedef struct %s %s;\n\n", P, P);
    fprintf(h, "/* Loads the weights (%s) for batches up to max_batch; NULL with a\n"
               " * message in err when the file does not fit the spec. */\n",
            g->o->embed ? "embedded: weights_path is ignored and may be NULL" : "from the weight file, names, shapes and dtypes checked");
    fprintf(h, "%s *%s_load(const char *weights_path, int max_batch, char *err, size_t errlen);\n", P, P);
    fprintf(h, "/* Runs the forward on a batch of 1..max_batch.  0, or -1 with the reason\n"
               " * in %s_error(m) (a token id out of range, a batch too large). */\n", P);
    fprintf(h, "int %s_forward(%s *m, int batch", P, P);
    for (int i = 0; i < io->nin; i++) fprintf(h, ", const %s *in%d", ctype(g->t[io->in[i]].dt), i);
    for (int i = 0; i < io->nout; i++) fprintf(h, ", %s *out%d", ctype(g->t[io->out[i]].dt), i);
    fprintf(h, ");\nconst char *%s_error(const %s *m);\nvoid %s_free(%s *m);\n\n#endif\n", P, P, P, P);
}

/* Fills the in/out table; 0 or -1. */
static int collect_io(G *g, Io *io)
{
    memset(io, 0, sizeof *io);
    const Stmt *fw = NULL;
    for (size_t i = 0; i < g->e->model->nbody; i++)
        if (g->e->model->body[i]->kind == ST_FORWARD) fw = g->e->model->body[i];
    for (size_t k = 0; k < g->ta.n; k++) {
        const TNode *n = &g->ta.nodes[k];
        if (n->kind != TN_INPUT) continue;
        if (io->nin >= MAXIO) return g_fail(g, "more than %d inputs", MAXIO);
        io->in_name[io->nin] = fw && (size_t)n->iarg < fw->nparams ? fw->params[n->iarg] : "?";
        g->t[n->out.id].input = io->nin;
        io->in[io->nin++] = n->out.id;
    }
    collect_outputs(&g->ta.ret, io->out, &io->nout, MAXIO);
    if (!io->nout) return g_fail(g, "the forward returns no tensor");
    return 0;
}

enum { EMBED_MAX_BYTES = 64 << 20 };   /* above this, weights are loaded at run time */

/* --embed W: the weights read now (names, shapes and dtypes checked as the
 * loader would), written as the initial contents of the two weight
 * blocks; bool buffers are narrowed to bytes here instead of at load. */
static int write_embedded(G *g, FILE *c, const char *P)
{
    int64_t bytes = g->wnext * 4 + g->inext * 8;
    if (bytes > EMBED_MAX_BYTES)
        return g_fail(g, "--embed: the weights take %lld MiB; embedding more than %d MiB as C arrays makes a source "
                         "file compilers handle badly; load them at run time (leave out --embed)",
                      (long long)(bytes >> 20), EMBED_MAX_BYTES >> 20);
    char err[512];
    rcc_file *f = rcc_open(g->o->embed, NULL, err, sizeof err);
    if (!f) return g_fail(g, "--embed: %s: %s", g->o->embed, err);
    float *w = calloc((size_t)g->wnext + 1, sizeof(float));
    int64_t *wi = calloc((size_t)g->inext + 1, sizeof(int64_t));
    int bad = !w || !wi;
    for (size_t i = 0; !bad && i < g->e->ntensors; i++) {
        if (!g->wslot_of[i]) continue;
        const ExpTensor *t = &g->e->tensors[i];
        int r = g->wslot_of[i] == 1 ? rcc_load_f32(f, t->key, t->ndim, t->shape, w + g->woff[i], err, sizeof err)
                                    : rcc_load_i64(f, t->key, t->ndim, t->shape, wi + g->woff[i], err, sizeof err);
        if (r < 0) {
            g_fail(g, "--embed: %s: %s", g->o->embed, err);
            bad = 1;
        } else if (g->wslot_of[i] == 3) {
            int64_t n = 1;
            for (int k = 0; k < t->ndim; k++) n *= t->shape[k];
            uint8_t *b = (uint8_t *)(wi + g->woff[i]);
            for (int64_t k = 0; k < n; k++) b[k] = wi[g->woff[i] + k] != 0;
        }
    }
    rcc_close(f);
    if (!bad) {
        fprintf(c, "/* The weights of %s, embedded (float32 as exact hexadecimal constants). */\n", g->o->embed);
        fprintf(c, "static const float %s_wdata[%lld] = {", P, (long long)(g->wnext ? g->wnext : 1));
        for (int64_t i = 0; i < (g->wnext ? g->wnext : 1); i++)
            fprintf(c, "%s%af", i % 6 ? ", " : i ? ",\n    " : "\n    ", i < g->wnext ? (double)w[i] : 0.0);
        fprintf(c, "\n};\n");
        fprintf(c, "static const int64_t %s_widata[%lld] = {", P, (long long)(g->inext ? g->inext : 1));
        for (int64_t i = 0; i < (g->inext ? g->inext : 1); i++) {
            int64_t v = i < g->inext ? wi[i] : 0;
            fprintf(c, "%s", i % 6 ? ", " : i ? ",\n    " : "\n    ");
            if (v == INT64_MIN) fprintf(c, "(-9223372036854775807LL - 1)");
            else fprintf(c, "%lldLL", (long long)v);
        }
        fprintf(c, "\n};\n\n");
    }
    free(w), free(wi);
    return bad ? -1 : 0;
}

/* The generated text of the streams, once closed. */
typedef struct Buf { char *p; size_t n; } Buf;

/* The loader: weights read (or embedded), BatchNorms folded, scratch sized. */
static void write_loader(G *g, FILE *c, const char *P, int64_t unit, const Buf *load, const Buf *scratch)
{
    fprintf(c, "%s *%s_load(const char *weights_path, int max_batch, char *err, size_t errlen)\n{\n", P, P);
    fprintf(c, "    if (max_batch < 1) {\n        snprintf(err, errlen, \"max_batch must be at least 1\");\n"
               "        return NULL;\n    }\n");
    fprintf(c, "    %s *m = calloc(1, sizeof *m);\n", P);
    fprintf(c, "    if (!m) {\n        snprintf(err, errlen, \"out of memory\");\n        return NULL;\n    }\n");
    fprintf(c, "    m->max_batch = max_batch;\n");
    fprintf(c, "    m->w = rcc_gen_alloc((size_t)%lld * sizeof(float));\n", (long long)(g->wnext ? g->wnext : 1));
    fprintf(c, "    m->wi = rcc_gen_alloc((size_t)%lld * sizeof(int64_t));\n", (long long)(g->inext ? g->inext : 1));
    fprintf(c, "    m->arena = rcc_gen_alloc((size_t)%lld * (size_t)max_batch + 64);\n", (long long)unit);
    fprintf(c, "    if (!m->w || !m->wi || !m->arena) {\n        snprintf(err, errlen, \"out of memory\");\n"
               "        %s_free(m);\n        return NULL;\n    }\n", P);
    if (g->o->embed) {
        fprintf(c, "    (void)weights_path;\n    memcpy(m->w, %s_wdata, sizeof %s_wdata);\n", P, P);
        fprintf(c, "    memcpy(m->wi, %s_widata, sizeof %s_widata);\n", P, P);
    } else {
        fprintf(c, "    char why[512];\n    rcc_file *f = rcc_open(weights_path, NULL, why, sizeof why);\n");
        fprintf(c, "    if (!f) {\n        snprintf(err, errlen, \"%%s: %%s\", weights_path, why);\n"
                   "        %s_free(m);\n        return NULL;\n    }\n", P);
        fprintf(c, "    static const struct { const char *key; int ndim; int64_t shape[8]; int kind; int64_t off; } W[] = {\n");
        size_t nw = 0;
        for (size_t i = 0; i < g->e->ntensors; i++) {
            if (!g->wslot_of[i]) continue;
            const ExpTensor *t = &g->e->tensors[i];
            fprintf(c, "        {");
            cstr(c, t->key);
            fprintf(c, ", %d, {", t->ndim);
            for (int k = 0; k < t->ndim; k++) fprintf(c, "%s%lld", k ? ", " : "", (long long)t->shape[k]);
            fprintf(c, "%s}, %d, %lld},\n", t->ndim ? "" : "0", g->wslot_of[i] - 1, (long long)g->woff[i]);
            nw++;
        }
        if (!nw) fprintf(c, "        {\"\", 0, {0}, 0, 0},\n");
        fprintf(c, "    };\n    size_t nw = %zu;   /* a variable: no warning when it is 0 */\n", nw);
        fprintf(c, "    for (size_t i = 0; i < nw; i++) {\n");
        fprintf(c, "        /* kind 0: float; 1: integer; 2: bool, read as integers then narrowed to bytes in place */\n");
        fprintf(c, "        int r = W[i].kind ? rcc_load_i64(f, W[i].key, W[i].ndim, W[i].shape, m->wi + W[i].off, why, sizeof why)\n"
                   "                          : rcc_load_f32(f, W[i].key, W[i].ndim, W[i].shape, m->w + W[i].off, why, sizeof why);\n");
        fprintf(c, "        if (r < 0) {\n            snprintf(err, errlen, \"%%s: %%s\", weights_path, why);\n"
                   "            rcc_close(f);\n            %s_free(m);\n            return NULL;\n        }\n", P);
        fprintf(c, "        if (W[i].kind == 2) {\n            int64_t n = 1;\n"
                   "            for (int k = 0; k < W[i].ndim; k++) n *= W[i].shape[k];\n"
                   "            uint8_t *b = (uint8_t *)(m->wi + W[i].off);\n"
                   "            for (int64_t k = 0; k < n; k++) b[k] = m->wi[W[i].off + k] != 0;\n        }\n    }\n");
        fprintf(c, "    rcc_close(f);\n");
    }
    if (load->n) fprintf(c, "    /* BatchNorms folded into the layer before them */\n%s", load->p);
    fprintf(c, "    int64_t need = 0;\n%s", scratch->n ? scratch->p : "");
    fprintf(c, "    m->scratch = need ? rcc_gen_alloc((size_t)need * sizeof(float)) : NULL;\n");
    fprintf(c, "    if (need && !m->scratch) {\n        snprintf(err, errlen, \"out of memory\");\n"
               "        %s_free(m);\n        return NULL;\n    }\n", P);
    fprintf(c, "    return m;\n}\n\n");
}

/* "#line N" lines back to model.c: the marker below is replaced once the
 * whole text is known. */
static const char here[] = "#line RCC_HERE\n";

static void fix_lines(FILE *out, const char *text, const char *cname)
{
    size_t line = 1;
    const char *p = text;
    while (*p) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) + 1 : strlen(p);
        if (len == sizeof here - 1 && !memcmp(p, here, len)) {
            fprintf(out, "#line %zu ", line + 1);
            cstr(out, cname);
            fputc('\n', out);
        } else {
            fwrite(p, 1, len, out);
        }
        line++;
        p += len;
    }
}

static const char *base_name(const char *p)
{
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

/* The forward's body: one emitter per node. */
/* Whether the node reads or writes a tensor of a dtype the float kernels
 * of emit_layer/emit_fn/emit_tensor do not know (f64, f16, bf16, narrow
 * integers): only the copies that move elements of any size may then run. */
static int odd_sv(const G *g, const SV *v)
{
    if (v->kind == V_TENSOR && v->id > 0) {
        GDtype d = g->t[v->id].dt;
        return d != GT_F32 && d != GT_I64 && d != GT_BOOL;
    }
    if (v->kind == V_TUPLE)
        for (size_t i = 0; i < v->n; i++)
            if (odd_sv(g, &v->items[i])) return 1;
    return 0;
}

static int odd_dtype(const G *g, const TNode *n)
{
    if (odd_sv(g, &n->out) || odd_sv(g, &n->a) || odd_sv(g, &n->b)) return 1;
    for (size_t i = 0; i < n->nargs; i++)
        if (odd_sv(g, &n->args[i].v)) return 1;
    for (size_t i = 0; i < n->nidx; i++)
        if (odd_sv(g, &n->idx[i].t)) return 1;
    return 0;
}

static int moves_elements(const TNode *n)
{
    static const char *const ops[] = {"cat", "concat", "stack", "transpose", "permute", "t", "swapaxes", "split",
                                      "chunk", "expand", "expand_as", "broadcast_to", "roll", "triu", "tril",
                                      "gather", "index_select", "embedding", NULL};
    if (n->kind == TN_INDEX) return 1;
    if (n->kind == TN_LAYER) return n->op && !strcmp(n->op, "Embedding");
    if (n->kind == TN_ATTR) return n->op && (!strcmp(n->op, "T") || !strcmp(n->op, "mT"));
    if (n->kind != TN_FN || !n->op) return 0;
    for (size_t i = 0; ops[i]; i++)
        if (!strcmp(n->op, ops[i])) return 1;
    return 0;
}

static int emit_nodes(G *g)
{
    size_t last_line = 0;
    for (size_t k = 0; k < g->ta.n; k++) {
        const TNode *n = &g->ta.nodes[k];
        g->cur = k;
        int out = g_id(&n->out);
        if (n->kind == TN_INPUT || n->kind == TN_WEIGHT) continue;
        int skip = 1;   /* every tensor of its result stored elsewhere */
        if (n->out.kind == V_TENSOR) skip = g->t[out].store == GS_ALIAS;
        else if (n->out.kind == V_TUPLE) skip = 0;
        if (skip) continue;
        size_t line = 0;
        const char *path = src_path(g, n->span, &line);
        if (path && line != last_line) {
            fprintf(g->body, "#line %zu ", line);
            cstr(g->body, path);
            fputc('\n', g->body);
            last_line = line;
        }
        if (n->out.kind == V_TENSOR) {
            fprintf(g->body, "    /* t%d = %s: ", out, n->op ? n->op : n->kind == TN_INDEX ? "index" : "?");
            type_comment(g, g->body, out);
            fprintf(g->body, " */\n");
        }
        int r = emit_math(g, n);
        if (r == 0 && odd_dtype(g, n) && !moves_elements(n)) {
            g_fail(g, "%s '%s' of these dtypes has no code generator yet",
                   n->kind == TN_LAYER ? "layer" : n->kind == TN_FN ? "function" : "operation",
                   n->op ? n->op : n->kind == TN_INDEX ? "[...]" : "?");
            continue;
        }
        if (r == 0) r = emit_layer(g, n);
        if (r == 0) r = emit_fn(g, n);
        if (r == 0) r = emit_tensor(g, n);
        if (r == 0) r = emit_nn(g, n);
        if (r == 0) g_fail(g, "%s '%s' has no code generator yet",
                           n->kind == TN_LAYER ? "layer" : n->kind == TN_FN ? "function" : "operation",
                           n->op ? n->op : n->kind == TN_INDEX ? "[...]" : "?");
    }
    return g->nerr ? -1 : 0;
}

static void write_forward(G *g, FILE *c, const char *P, const Io *io, const Buf *body)
{
    fprintf(c, "const char *%s_error(const %s *m)\n{\n    return m->err;\n}\n\n", P, P);
    fprintf(c, "int %s_forward(%s *m, int batch", P, P);
    for (int i = 0; i < io->nin; i++) fprintf(c, ", const %s *in%d", ctype(g->t[io->in[i]].dt), i);
    for (int i = 0; i < io->nout; i++) fprintf(c, ", %s *out%d", ctype(g->t[io->out[i]].dt), i);
    fprintf(c, ")\n{\n");
    fprintf(c, "    if (batch < 1 || batch > m->max_batch) {\n"
               "        snprintf(m->err, sizeof m->err, \"batch %%d is outside 1..%%d (max_batch at load)\", batch, m->max_batch);\n"
               "        return -1;\n    }\n");
    fprintf(c, "    const int64_t n = batch;\n    (void)n;\n");
    for (int i = 0; i < io->nin; i++) fprintf(c, "    (void)in%d;   /* a forward may read only its sizes */\n", i);
    fputs(body->p ? body->p : "", c);
    fputs(here, c);
    for (int i = 0; i < io->nout; i++) {
        int id = io->out[i];
        fprintf(c, "    memcpy(out%d, %s, (size_t)%s * sizeof(%s));\n", i, g_ptr(g, id), g_numel(g, id), ctype(g->t[id].dt));
    }
    fprintf(c, "    return 0;\n}\n\n");
    fprintf(c, "void %s_free(%s *m)\n{\n    if (!m) return;\n    free(m->w);\n    free(m->wi);\n    free(m->arena);\n"
               "    free(m->scratch);\n    free(m);\n}\n", P, P);
}

/* --main: a program reading the inputs from .npy files and writing the
 * outputs as .npy (rk_npy.c), with --repeat timing. */
static void write_main(G *g, FILE *c, const char *P, const Io *io)
{
    fprintf(c, "\n/* ------------------------------------------------------------- main */\n\n");
    fprintf(c, "#include <math.h>\n#include <time.h>\n\nextern void openblas_set_num_threads(int) __attribute__((weak));\n\n");
    fprintf(c, "static double rcc_now_ms(void)\n{\n    struct timespec t;\n    clock_gettime(CLOCK_MONOTONIC, &t);\n"
               "    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;\n}\n\n");
    fprintf(c, "static int rcc_cmp_ms(const void *a, const void *b)\n{\n"
               "    double x = *(const double *)a, y = *(const double *)b;\n    return x < y ? -1 : x > y;\n}\n\n");
    fprintf(c, "static const char *rcc_prog = \"model\";\n\n");
    fprintf(c, "static int rcc_fail(const char *msg)\n{\n    fprintf(stderr, \"%%s: error: %%s\\n\", rcc_prog, msg);\n    return 2;\n}\n\n");
    fprintf(c, "int main(int argc, char **argv)\n{\n");
    fprintf(c, "    const char *usage = \"usage: %%s %sIN.npy... -o OUT.npy... [--expect REF.npy]... [--tolerance T] "
               "[--repeat N] [--threads N]\";\n", g->o->embed ? "" : "-w WEIGHTS ");
    fprintf(c, "    const char *wpath = NULL, *ins[%d] = {0}, *outs[%d] = {0}, *refs[%d] = {0};\n"
               "    int nin = 0, nout = 0, nref = 0, repeat = 0, threads = 0;\n    double tol = 1e-4;\n",
            io->nin, io->nout, io->nout);
    fprintf(c, "    char err[1024];\n    if (argc > 0 && argv[0]) {\n        const char *s = strrchr(argv[0], '/');\n"
               "        rcc_prog = s ? s + 1 : argv[0];\n    }\n");
    fprintf(c, "    for (int i = 1; i < argc; i++) {\n        const char *a = argv[i];\n        int more = i + 1 < argc;\n"
               "        if (!strcmp(a, \"-w\") && more) wpath = argv[++i];\n"
               "        else if (!strcmp(a, \"-o\") && more) {\n            if (nout == %d) return rcc_fail(\"more outputs than the model has\");\n"
               "            outs[nout++] = argv[++i];\n"
               "        } else if (!strcmp(a, \"--expect\") && more) {\n            if (nref == %d) return rcc_fail(\"more references than outputs\");\n"
               "            refs[nref++] = argv[++i];\n        } else if (!strcmp(a, \"--tolerance\") && more) tol = atof(argv[++i]);\n"
               "        else if (!strcmp(a, \"--repeat\") && more) repeat = atoi(argv[++i]);\n"
               "        else if (!strcmp(a, \"--threads\") && more) threads = atoi(argv[++i]);\n"
               "        else if (a[0] == '-' && a[1]) {\n            fprintf(stderr, \"%%s: error: unknown option '%%s' (\", rcc_prog, a);\n"
               "            fprintf(stderr, usage, rcc_prog);\n            fputs(\")\\n\", stderr);\n            return 2;\n"
               "        } else {\n            if (nin == %d) return rcc_fail(\"more inputs than the model has\");\n"
               "            ins[nin++] = a;\n        }\n    }\n", io->nout, io->nout, io->nin);
    fprintf(c, "    if (nin != %d || nout != %d%s) {\n        snprintf(err, sizeof err, \"the model takes %d input%s and "
               "gives %d output%s%s\");\n        return rcc_fail(err);\n    }\n",
            io->nin, io->nout, g->o->embed ? "" : " || !wpath", io->nin, io->nin == 1 ? "" : "s", io->nout,
            io->nout == 1 ? "" : "s", g->o->embed ? "" : "; -w WEIGHTS is required");
    fprintf(c, "    if (threads > 0 && openblas_set_num_threads) openblas_set_num_threads(threads);\n");
    /* static: what an early exit leaves is still reachable, not a leak */
    fprintf(c, "    static void *in[%d];\n    int64_t batch = -1;\n", io->nin);
    for (int i = 0; i < io->nin; i++) {
        GTensor *t = &g->t[io->in[i]];
        int bd = -1;
        fprintf(c, "    {\n        static const int64_t shape[] = {");
        for (int k = 0; k < t->rank; k++) {
            if (t->d[k].a) bd = k;
            fprintf(c, "%s%lld", k ? ", " : "", (long long)(t->d[k].a ? 0 : t->d[k].b));
        }
        fprintf(c, "%s};\n", t->rank ? "" : "0");
        fprintf(c, "        rk_npy h;\n        FILE *fp = rk_npy_open(ins[%d], err, sizeof err);\n", i);
        fprintf(c, "        if (!fp) return rcc_fail(err);\n");
        fprintf(c, "        if (rk_npy_read_header(fp, ins[%d], &h, err, sizeof err) != 0 ||\n"
                   "            rk_npy_expect(&h, ins[%d], %s, %d, shape, %d, 1, INT32_MAX, err, sizeof err) != 0) {\n"
                   "            fclose(fp);\n            return rcc_fail(err);\n        }\n",
                i, i, npy_dtype(t->dt), t->rank, bd);
        if (bd >= 0)
            fprintf(c, "        if (batch >= 0 && h.shape[%d] != batch) {\n            fclose(fp);\n"
                       "            snprintf(err, sizeof err, \"%%s: batch %%lld; the first input's is %%lld\", ins[%d], "
                       "(long long)h.shape[%d], (long long)batch);\n            return rcc_fail(err);\n        }\n"
                       "        batch = h.shape[%d];\n", bd, i, bd, bd);
        fprintf(c, "        in[%d] = malloc(h.nbytes ? (size_t)h.nbytes : 1);\n", i);
        fprintf(c, "        if (!in[%d] || rk_npy_read_data(fp, ins[%d], &h, in[%d], (size_t)h.nbytes, err, sizeof err) != 0) {\n"
                   "            fclose(fp);\n            return rcc_fail(in[%d] ? err : \"out of memory\");\n        }\n"
                   "        fclose(fp);\n    }\n", i, i, i, i);
    }
    fprintf(c, "    if (batch < 1) batch = 1;\n");
    fprintf(c, "    static %s *m;\n    m = %s_load(wpath, (int)batch, err, sizeof err);\n    if (!m) return rcc_fail(err);\n", P, P);
    fprintf(c, "    const int64_t n = batch;\n    static void *out[%d];\n    int64_t outn[%d];\n", io->nout, io->nout);
    for (int i = 0; i < io->nout; i++) {
        int id = io->out[i];
        fprintf(c, "    outn[%d] = %s;\n    out[%d] = malloc((size_t)outn[%d] * sizeof(%s) + 1);\n", i, g_numel(g, id),
                i, i, ctype(g->t[id].dt));
        fprintf(c, "    if (!out[%d]) return rcc_fail(\"out of memory\");\n", i);
    }
    fprintf(c, "    static double *ms;\n    ms = calloc((size_t)(repeat > 0 ? repeat : 1), sizeof(double));\n");
    fprintf(c, "    if (!ms) return rcc_fail(\"out of memory\");\n");
    fprintf(c, "    for (int r = 0; r < (repeat > 0 ? repeat : 1); r++) {\n        double t0 = rcc_now_ms();\n");
    fprintf(c, "        if (%s_forward(m, (int)batch", P);
    for (int i = 0; i < io->nin; i++) fprintf(c, ", in[%d]", i);
    for (int i = 0; i < io->nout; i++) fprintf(c, ", out[%d]", i);
    fprintf(c, ") != 0) return rcc_fail(%s_error(m));\n        ms[r] = rcc_now_ms() - t0;\n    }\n", P);
    fprintf(c, "    if (repeat > 0) {\n        qsort(ms, (size_t)repeat, sizeof *ms, rcc_cmp_ms);\n"
               "        double med = repeat %% 2 ? ms[repeat / 2] : (ms[repeat / 2 - 1] + ms[repeat / 2]) / 2;\n"
               "        fprintf(stderr, \"%%s: forward median %%.4f ms (%%d runs)\\n\", rcc_prog, med, repeat);\n    }\n");
    for (int i = 0; i < io->nout; i++) {
        int id = io->out[i];
        GTensor *t = &g->t[id];
        fprintf(c, "    {\n        const int64_t shape[] = {");
        for (int k = 0; k < t->rank; k++) fprintf(c, "%s%s", k ? ", " : "", g_dim(g, id, k));
        fprintf(c, "%s};\n", t->rank ? "" : "0");
        fprintf(c, "        if (rk_npy_write(outs[%d], %s, %d, shape, out[%d], err, sizeof err) != 0) return rcc_fail(err);\n    }\n",
                i, npy_dtype(t->dt), t->rank, i);
    }
    /* --expect: each output against a reference, max |a - b| / max |b| */
    fprintf(c, "    int status = 0;\n    for (int i = 0; i < nref; i++) {\n        rk_npy h;\n"
               "        FILE *fp = rk_npy_open(refs[i], err, sizeof err);\n        if (!fp) return rcc_fail(err);\n"
               "        if (rk_npy_read_header(fp, refs[i], &h, err, sizeof err) != 0) {\n            fclose(fp);\n"
               "            return rcc_fail(err);\n        }\n");
    fprintf(c, "        if (h.dtype != RK_NPY_F4 || h.numel != outn[i]) {\n            fclose(fp);\n"
               "            snprintf(err, sizeof err, \"%%s: %%lld float32 values expected, to compare with output %%d\", refs[i], "
               "(long long)outn[i], i);\n            return rcc_fail(err);\n        }\n");
    fprintf(c, "        static float *ref;\n        ref = malloc((size_t)h.nbytes + 1);\n"
               "        if (!ref || rk_npy_read_data(fp, refs[i], &h, ref, (size_t)h.nbytes, err, sizeof err) != 0) {\n"
               "            fclose(fp);\n            return rcc_fail(ref ? err : \"out of memory\");\n        }\n        fclose(fp);\n");
    fprintf(c, "        double dmax = 0, rmax = 0;\n        const float *o = out[i];\n"
               "        for (int64_t k = 0; k < outn[i]; k++) {\n            double d = fabs((double)o[k] - (double)ref[k]), r = fabs((double)ref[k]);\n"
               "            if (d > dmax || d != d) dmax = d != d ? INFINITY : d;\n            if (r > rmax) rmax = r;\n        }\n");
    fprintf(c, "        double rel = rmax > 0 ? dmax / rmax : dmax;\n"
               "        fprintf(stderr, \"%%s: output %%d: max relative error %%.2g against %%s (tolerance %%.2g)%%s\\n\", rcc_prog, i, "
               "rel, refs[i], tol, rel <= tol ? \"\" : \": DIFFERENT\");\n"
               "        if (!(rel <= tol)) status = 1;\n        free(ref);\n    }\n");
    fprintf(c, "    (void)n;\n    %s_free(m);\n    for (int i = 0; i < %d; i++) free(in[i]);\n", P, io->nin);
    fprintf(c, "    for (int i = 0; i < %d; i++) free(out[i]);\n    free(ms);\n    return status;\n}\n", io->nout);
}

/* Writes model.c into c. */
static int write_c(G *g, FILE *c, const char *P, const char *hname, const Io *io, int64_t unit, const Buf *body,
                   const Buf *load, const Buf *scratch)
{
    fprintf(c, "/* %s — generated by %s from %s; do not edit.\n", base_name(g->o->out_c), RCC_VERSION_TEXT, g->o->spec);
    fprintf(c, " *\n * Build: cc -O2 -c %s $(pkg-config --cflags rcc) (the kernels below need\n"
               " * <cblas.h>); link with $(pkg-config --libs rcc) -lopenblas -lm. */\n", base_name(g->o->out_c));
    if (g->o->main) fprintf(c, "#define _POSIX_C_SOURCE 200809L\n");
    fprintf(c, "#include <stdint.h>\n#include <stdio.h>\n#include <stdlib.h>\n#include <string.h>\n\n");
    fprintf(c, "#include \"%s\"\n", hname);
    if (!g->o->embed) fprintf(c, "#include \"rcc.h\"\n");
    /* The kernels are pasted whole (unused ones included); gcc's loop
     * analysis of their blocks-of-eight loops, once sizes are constants,
     * warns of overflows that cannot happen at any size a tensor has. */
    fprintf(c, "\n#if defined(__GNUC__)\n#pragma GCC diagnostic ignored \"-Wunused-function\"\n");
    fprintf(c, "#if !defined(__clang__)\n#pragma GCC diagnostic ignored \"-Waggressive-loop-optimizations\"\n#endif\n#endif\n\n");
    const char *names[72];
    size_t nk = 0;
    if (g->o->main) g_kernel(g, "rk_npy.c");
    for (size_t i = 0; i < g->nkern; i++) names[nk++] = g->kern[i];
    const rk_source *list[64];
    char err[256];
    int nl = rk_closure(names, nk, list, 64, err, sizeof err);
    if (nl < 0) return g_fail(g, "%s", err);
    if (rk_emit(c, list, (size_t)nl) < 0) return -1;
    fputs(here, c);
    fprintf(c, "\n/* ------------------------------------------------------------ the model */\n\n");
    fprintf(c, "static void *rcc_gen_alloc(size_t n)\n{\n    void *p = NULL;\n"
               "    return posix_memalign(&p, 64, n ? n : 64) ? NULL : p;\n}\n\n");
    fprintf(c, "struct %s {\n    int max_batch;\n    float *w;          /* the float weights, one block */\n"
               "    int64_t *wi;       /* the integer buffers */\n"
               "    unsigned char *arena;   /* activations, %lld bytes a batch item */\n"
               "    float *scratch;    /* im2col and attention scratch */\n    char err[256];\n};\n\n",
            P, (long long)unit);
    if (g->o->embed && write_embedded(g, c, P) < 0) return -1;
    write_loader(g, c, P, unit, load, scratch);
    write_forward(g, c, P, io, body);
    if (g->o->main) write_main(g, c, P, io);
    (void)hname;
    return 0;
}

/* Is name a C keyword, a name of the C library a model.c includes, or
 * one of the generated code's own (rk_*, rcc_*)?  Then it cannot prefix
 * the API. */
static int c_name_taken(const char *name)
{
    static const char *const taken[] = {
        "auto", "break", "case", "char", "const", "continue", "default", "do", "double", "else", "enum", "extern",
        "float", "for", "goto", "if", "inline", "int", "long", "register", "restrict", "return", "short", "signed",
        "sizeof", "static", "struct", "switch", "typedef", "union", "unsigned", "void", "volatile", "while",
        "abs", "acos", "asin", "atan", "atan2", "cbrt", "ceil", "cos", "cosh", "div", "erf", "erfc", "exit", "exp",
        "exp2", "expm1", "fabs", "floor", "fma", "fmax", "fmin", "fmod", "free", "frexp", "hypot", "index", "ldexp",
        "lgamma", "log", "log10", "log1p", "log2", "main", "malloc", "memcpy", "memset", "modf", "nan", "pow",
        "printf", "remainder", "remove", "rename", "round", "signal", "sin", "sinh", "sqrt", "tan", "tanh",
        "tgamma", "time", "trunc", "y0", "y1", "j0", "j1", NULL};
    if (!strncmp(name, "rk_", 3) || !strncmp(name, "rcc_", 4) || !strncmp(name, "cblas", 5)) return 1;
    for (size_t i = 0; taken[i]; i++)
        if (!strcmp(taken[i], name)) return 1;
    return 0;
}

static int open_bufs(FILE **f, Buf *b)
{
    *f = open_memstream(&b->p, &b->n);
    return *f ? 0 : -1;
}

int gen_files(const GenOptions *o)
{
    Arena arena = {0};
    Diags d;
    Elab e;
    G g;
    memset(&g, 0, sizeof g);
    diag_init(&d, &arena);
    int status = 2;
    char *ctext = NULL, *htext = NULL;
    size_t clen = 0, hlen = 0;
    Buf body = {0}, load = {0}, scratch = {0};
    FILE *fc = NULL, *fh = NULL;
    if (elab_file(&e, &d, &arena, o->spec, o->model) < 0 || shapes_check(&e) < 0) goto out;
    g.e = &e;
    g.o = o;
    /* the batch: the size named N, else the first symbolic size of the first input */
    const char *batch = NULL;
    for (size_t i = 0; i < e.ninputs && !batch; i++)
        for (size_t k = 0; k < e.inputs[i].type->ndims; k++) {
            const Expr *dx = e.inputs[i].type->dims[k];
            Val v;
            if (dx->kind == EX_NAME && !elab_conf(&e, 0, dx->u.s, &v) && !strcmp(dx->u.s, "N")) batch = "N";
        }
    for (size_t i = 0; i < e.ninputs && !batch; i++)
        for (size_t k = 0; k < e.inputs[i].type->ndims && !batch; k++) {
            const Expr *dx = e.inputs[i].type->dims[k];
            Val v;
            if (dx->kind == EX_NAME && !elab_conf(&e, 0, dx->u.s, &v)) batch = dx->u.s;
        }
    SizeBind binds[34];
    size_t nb = 0;
    for (size_t i = 0; i < o->nsizes && nb < 32; i++)
        if (!batch || strcmp(o->sizes[i].name, batch)) binds[nb++] = o->sizes[i];
    for (int pass = 0; pass < 2; pass++) {
        if (batch) binds[nb] = (SizeBind){batch, pass ? 3 : 2};
        if (shapes_trace(&e, binds, nb + (batch != NULL), pass ? &g.tb : &g.ta) < 0) goto out;
    }
    if (g.ta.n != g.tb.n || g.ta.ntensors != g.tb.ntensors) {
        diag(&d, DG_ERROR, e.model->span, "cannot generate code: the forward's structure depends on the batch size");
        goto out;
    }
    g.nt = g.ta.ntensors;
    g.t = calloc((size_t)g.nt + 1, sizeof(GTensor));
    g.wslot_of = calloc(e.ntensors + 1, sizeof(int));
    g.woff = calloc(e.ntensors + 1, sizeof(int64_t));
    if (!g.t || !g.wslot_of || !g.woff) goto out;
    for (size_t k = 0; k < g.ta.n; k++) {
        g.cur = k;
        const TNode *a = &g.ta.nodes[k], *b = &g.tb.nodes[k];
        if (a->kind != b->kind || a->inst != b->inst || (a->op && (!b->op || strcmp(a->op, b->op)))) {
            g_fail(&g, "the forward's structure depends on the batch size");
            goto out;
        }
        if (define(&g, k, &a->out, &b->out) < 0) goto out;
    }
    Io io;
    int64_t unit = 0;
    if (collect_io(&g, &io) < 0 || plan(&g, &unit) < 0) goto out;
    FILE *fb, *fl, *fs;
    if (open_bufs(&fb, &body) < 0 || open_bufs(&fl, &load) < 0 || open_bufs(&fs, &scratch) < 0) goto out;
    g.body = fb, g.load = fl, g.scratch = fs;
    int r = emit_nodes(&g);
    fclose(fb), fclose(fl), fclose(fs);
    g.body = g.load = g.scratch = NULL;
    if (r < 0) goto out;

    const char *P0 = o->prefix ? o->prefix : e.model->name;
    char P[128];
    size_t pl = 0;
    for (; P0[pl] && pl + 1 < sizeof P - 8; pl++)
        P[pl] = (char)(isalnum((unsigned char)P0[pl]) ? tolower((unsigned char)P0[pl]) : '_');
    P[pl] = 0;
    if (!pl || isdigit((unsigned char)P[0]) || c_name_taken(P)) {   /* a model Pow: pow is libm's */
        snprintf(P + pl, sizeof P - pl, "%smodel", pl ? "_" : "");
        if (!o->prefix)
            fprintf(stderr, "rcc: note: %s: the API is named %s_*, since '%.*s' is taken in C (--prefix names it)\n",
                    o->spec, P, (int)pl, P);
    }
    char hpath[4096], hname[4096];
    size_t ol = strlen(o->out_c);
    if (ol < 3 || strcmp(o->out_c + ol - 2, ".c") || ol + 1 > sizeof hpath) {
        fprintf(stderr, "rcc: error: gen: the output must be a .c file: %s\n", o->out_c);
        goto out;
    }
    memcpy(hpath, o->out_c, ol - 1);
    hpath[ol - 1] = 'h', hpath[ol] = 0;
    snprintf(hname, sizeof hname, "%s", base_name(hpath));
    FILE *mc = open_memstream(&ctext, &clen), *mh = open_memstream(&htext, &hlen);
    if (!mc || !mh) goto out;
    r = write_c(&g, mc, P, hname, &io, unit, &body, &load, &scratch);
    write_header(&g, mh, P, &io, unit, hname);
    fclose(mc), fclose(mh);
    if (r < 0 || g.nerr) goto out;
    /* write both files whole, or neither */
    char tmpc[4200], tmph[4200];
    snprintf(tmpc, sizeof tmpc, "%s.tmp", o->out_c);
    snprintf(tmph, sizeof tmph, "%s.tmp", hpath);
    fc = fopen(tmpc, "w");
    fh = fopen(tmph, "w");
    if (!fc || !fh) {
        fprintf(stderr, "rcc: error: %s: %s\n", !fc ? tmpc : tmph, strerror(errno));
        goto out;
    }
    fix_lines(fc, ctext, base_name(o->out_c));
    fwrite(htext, 1, hlen, fh);
    int bad = ferror(fc) | ferror(fh);
    bad |= fclose(fc) != 0;
    bad |= fclose(fh) != 0;
    fc = fh = NULL;
    if (bad || rename(tmpc, o->out_c) < 0 || rename(tmph, hpath) < 0) {
        fprintf(stderr, "rcc: error: %s: cannot write: %s\n", o->out_c, strerror(errno));
        remove(tmpc), remove(tmph);
        goto out;
    }
    if (o->depfile) {
        FILE *df = fopen(o->depfile, "w");
        if (!df) {
            fprintf(stderr, "rcc: error: %s: %s\n", o->depfile, strerror(errno));
            goto out;
        }
        fprintf(df, "%s %s:", o->out_c, hpath);
        for (size_t i = 0; i < d.nfiles; i++) fprintf(df, " %s", d.files[i].path);
        fprintf(df, "\n");
        for (size_t i = 1; i < d.nfiles; i++) fprintf(df, "%s:\n", d.files[i].path);
        if (fclose(df) != 0) goto out;
    }
    status = 0;
out:
    if (fc) fclose(fc);
    if (fh) fclose(fh);
    diag_render(&d, stderr);
    free(body.p), free(load.p), free(scratch.p), free(ctext), free(htext);
    free(g.t), free(g.wslot_of), free(g.woff), free(g.act_of), free(g.bn_of);
    free(g.uses);
    arena_free(&arena);
    return status;
}
