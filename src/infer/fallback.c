/* fallback.c — `rcc infer` for a file no family covers: a spec that
 * declares every key of the file exactly, and a forward guessed.
 *
 * The keys are split on '.' into a module tree (an empty segment, as in
 * "a..b", stays with its neighbour: the module "a." holds b).  Each module
 * whose tensors are exactly a built-in layer's is declared as that layer
 * (recognise.c); a module whose children are all numbered and which has no
 * tensors of its own is a list, its gaps (a Sequential's ReLU) filled with
 * Identity(); any other module is a block, and modules with the same body
 * share one block declaration, named after the first of them.  Tensors no
 * layer accounts for are raw `param` (or `buffer`: integer and bool
 * tensors, running statistics, position_ids) declarations with their exact
 * dtype and shape.  A whole pickled model's module tree is laid over the
 * key tree (attach_modules): its modules give their layers' classes and
 * constructor arguments (recognise.c), its layers without tensors (ReLU,
 * MaxPool2d, Flatten) are declared too, children come in the order they
 * were registered, and a module of another class is named in a comment.
 * Names that are not identifiers are quoted.  Modules
 * nested deeper than MAX_DEPTH are named by the rest of their path, one
 * quoted name holding dots, since the elaborator nests blocks 64 deep.
 *
 * The language cannot say everything: a tensor name must be an identifier
 * (ParameterList's "0" is not), a module name may not hold '{' (a name
 * pattern), a raw tensor has at most 8 dimensions.  Such keys are listed in
 * a comment and a warning; everything else is declared.
 *
 * Before the spec is given out it is elaborated and type-checked as
 * `rcc check` would (from a temporary file), and compared with the file
 * key by key.  A forward that does not type-check is left out; a spec
 * whose keys do not match (a name the language reads otherwise) is written
 * again with every name quoted and no lists, and then, when it came from a
 * pickle, without the pickle.  So what infer writes passes `rcc check`
 * against the file, or infer says why not.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fallback.h"
#include "infer.h"

enum {
    MAX_ITEMS_GAP = 16,   /* a list may have this many more slots than items, plus as many again */
    MAX_DEPTH = 32,       /* modules nested deeper are named by the rest of their path ("a.b.c"):
                             the elaborator nests blocks 64 deep at most */
    WIDE_BODY = 256       /* a body with more children assigns them as self.name */
};

typedef struct Gen {
    FbTree       tr;
    const rcc_file *f;
    unsigned char *skip;       /* per file tensor: not expressible */
    const char  **why;         /* ... and why */
    size_t        nskip;
    size_t       *layers;      /* recognised nodes in key order */
    size_t        nlayers;
    size_t        nraw;
    size_t       *ix;          /* child(): node numbers + 1, open addressing */
    size_t        ix_cap;
    NameTab       bodies;      /* block body -> block name */
    NameTab       used;        /* block names taken */
    NameTab       stems;       /* a name taken -> the next number to try after it */
    FILE         *blocks;      /* the block declarations, dependencies first */
    int           safe;        /* every name quoted, no lists */
    const char   *model;
} Gen;

/* ------------------------------------------------------------ helpers */

/* s with each brace doubled, as a name pattern reads a brace ("x{{y}}" is x{y}). */
static const char *braces_doubled(Arena *a, const char *s)
{
    size_t n = strlen(s), k = 0;
    char *q = n < SIZE_MAX / 2 - 1 ? arena_alloc(a, 2 * n + 1) : NULL;
    if (!q)
        return s;
    for (; *s; s++) {
        if (*s == '{' || *s == '}')
            q[k++] = *s;
        q[k++] = *s;
    }
    q[k] = 0;
    return q;
}

/* s as a string literal of the language: "a\"b". */
static const char *quoted(Arena *a, const char *s)
{
    size_t n = strlen(s), k = 0;
    char *q = n < SIZE_MAX / 2 - 3 ? arena_alloc(a, 2 * n + 3) : NULL;
    if (!q)
        return "\"\"";
    q[k++] = '"';
    for (; *s; s++) {
        if (*s == '"' || *s == '\\' || *s == '\n' || *s == '\t') {
            q[k++] = '\\';
            q[k++] = *s == '\n' ? 'n' : *s == '\t' ? 't' : *s;
        } else {
            q[k++] = *s;
        }
    }
    q[k++] = '"';
    q[k] = 0;
    return q;
}

static void put_dims(FILE *out, const rcc_tensor *t)
{
    fprintf(out, "%s[", rcc_dtype_name(t->dtype));
    for (int d = 0; d < t->ndim; d++)
        fprintf(out, "%s%" PRId64, d ? ", " : "", t->shape[d]);
    fputc(']', out);
}

/* "0", "12": a list index (no sign, no leading zero, at most 9 digits). */
static int64_t list_index(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 9 || (n > 1 && s[0] == '0') || strspn(s, "0123456789") != n)
        return -1;
    return strtoll(s, NULL, 10);
}

/* Names a body may not use bare even though they are identifiers: the
 * module itself, the namespaces and builders a spec reads, the layers. */
static int needs_quotes(const char *s)
{
    static const char *const reserved[] = {"self", "nn", "torch", "F", "math", "ops", "Sequential", "ModuleDict",
                                           "ModuleList", "partial", "range", "enumerate", "zip", "len", "min",
                                           "max", "sum", "int", "float", "round", "abs", "inf", "nan", NULL};
    if (!fb_is_name(s) || cat_find(s))
        return 1;
    for (int i = 0; reserved[i]; i++)
        if (!strcmp(s, reserved[i]))
            return 1;
    return 0;
}

/* ---------------------------------------------------------- the tree */

static long node_new(Gen *g, size_t parent, const char *seg, size_t len)
{
    FbTree *t = &g->tr;
    if (arena_grow(t->a, (void **)&t->nodes, &t->cap, t->n + 1, sizeof *t->nodes) < 0)
        return -1;
    FbNode *nd = &t->nodes[t->n];
    memset(nd, 0, sizeof *nd);
    if (!(nd->seg = arena_strndup(t->a, seg, len)))
        return -1;
    nd->parent = parent;
    nd->index = parent == (size_t)-1 ? -1 : list_index(nd->seg);
    nd->rank = SIZE_MAX;
    return (long)t->n++;
}

/* The child of parent named seg[0..len), made when new.  Children are
 * found through one table of node numbers, hashed by parent and name. */
static uint64_t child_hash(size_t parent, const char *seg, size_t len)
{
    return util_hash(seg, len) ^ ((uint64_t)parent * 0x9E3779B97F4A7C15u);
}

/* The child of parent named seg[0..len), or -1 when there is none. */
static long find_child(const Gen *g, size_t parent, const char *seg, size_t len)
{
    const FbTree *t = &g->tr;
    if (!g->ix_cap)
        return -1;
    for (size_t i = (size_t)child_hash(parent, seg, len) & (g->ix_cap - 1); g->ix[i]; i = (i + 1) & (g->ix_cap - 1)) {
        const FbNode *nd = &t->nodes[g->ix[i] - 1];
        if (nd->parent == parent && strlen(nd->seg) == len && !memcmp(nd->seg, seg, len))
            return (long)(g->ix[i] - 1);
    }
    return -1;
}

static long child(Gen *g, size_t parent, const char *seg, size_t len)
{
    FbTree *t = &g->tr;
    size_t i = 0;
    if (g->ix_cap) {
        for (i = (size_t)child_hash(parent, seg, len) & (g->ix_cap - 1); g->ix[i]; i = (i + 1) & (g->ix_cap - 1)) {
            const FbNode *nd = &t->nodes[g->ix[i] - 1];
            if (nd->parent == parent && strlen(nd->seg) == len && !memcmp(nd->seg, seg, len))
                return (long)(g->ix[i] - 1);
        }
    }
    if ((t->n + 1) * 2 > g->ix_cap) {   /* grow, and place every child again */
        size_t cap = g->ix_cap ? g->ix_cap * 2 : 64;
        size_t *ix = arena_array(t->a, cap, sizeof *ix);
        if (!ix)
            return -1;
        for (size_t k = 1; k < t->n; k++) {
            size_t j = (size_t)child_hash(t->nodes[k].parent, t->nodes[k].seg, strlen(t->nodes[k].seg)) & (cap - 1);
            while (ix[j])
                j = (j + 1) & (cap - 1);
            ix[j] = k + 1;
        }
        g->ix = ix, g->ix_cap = cap;
        for (i = (size_t)child_hash(parent, seg, len) & (cap - 1); ix[i]; i = (i + 1) & (cap - 1))
            ;
    }
    long c = node_new(g, parent, seg, len);
    if (c < 0 || arena_grow(t->a, (void **)&t->nodes[parent].kids, &t->nodes[parent].kcap, t->nodes[parent].nkids + 1,
                            sizeof(size_t)) < 0)
        return -1;
    g->ix[i] = (size_t)c + 1;
    t->nodes[parent].kids[t->nodes[parent].nkids++] = (size_t)c;
    return c;
}

/* Places tensor i of the file in the tree, or marks it not expressible. */
static int place(Gen *g, size_t i)
{
    const rcc_tensor *t = rcc_tensor_at(g->f, i);
    const char *key = t->name, *dot = strrchr(key, '.'), *leaf = dot ? dot + 1 : key;
    const char *why = NULL;
    if (t->ndim > 8)
        why = "a raw tensor has at most 8 dimensions";
    else if (dot == key)
        why = "a key may not start with '.'";
    /* the module path key[0..plen): pieces between dots, an empty piece
     * joined to its neighbour ("a..b" is the module "a." and b); below
     * MAX_DEPTH modules, the rest of the path is one name */
    size_t plen = dot ? (size_t)(dot - key) : 0, node = 0, depth = 0;
    size_t cur0 = 0, cur1 = 0, p0 = 0;
    int have = 0;
    for (size_t k = 0; !why && dot && k <= plen && depth + 1 < MAX_DEPTH; k++) {
        if (k < plen && key[k] != '.')
            continue;
        size_t q0 = p0, q1 = k;   /* this piece */
        p0 = k + 1;
        if (!have) {
            cur0 = q0, cur1 = q1, have = 1;
        } else if (cur1 == cur0 || q1 == q0) {
            cur1 = q1;
        } else {
            long c = child(g, node, key + cur0, cur1 - cur0);
            if (c < 0)
                return -1;
            node = (size_t)c;
            depth++;
            cur0 = q0, cur1 = q1;
        }
    }
    if (!why && dot) {
        long c = child(g, node, key + cur0, plen - cur0);   /* the last piece, or all that is left */
        if (c < 0)
            return -1;
        node = (size_t)c;
    }
    if (why) {
        g->skip[i] = 1;
        g->why[i] = why;
        g->nskip++;
        return 0;
    }
    FbNode *nd = &g->tr.nodes[node];
    if (arena_grow(g->tr.a, (void **)&nd->tens, &nd->tcap, nd->ntens + 1, sizeof *nd->tens) < 0)
        return -1;
    nd->tens[nd->ntens++] = (FbTensor){leaf, t};
    return 0;
}

/* A list: no tensors of its own, every child numbered, few gaps. */
static int is_list(const Gen *g, const FbNode *nd)
{
    int64_t max = -1;
    if (g->safe || nd->ntens || !nd->nkids)
        return 0;
    for (size_t k = 0; k < nd->nkids; k++) {
        int64_t ix = g->tr.nodes[nd->kids[k]].index;
        if (ix < 0)
            return 0;
        max = ix > max ? ix : max;
    }
    return (uint64_t)max < 2 * (uint64_t)nd->nkids + MAX_ITEMS_GAP;
}

/* ------------------------------------------------------ the pickle */

/* The node of a module's path ("blocks.0.fc"), made (with the modules
 * above it) when make: its number, -1 when there is none or the path is
 * not one the keys could have made (an empty name, too deep, a '{'), -2
 * when out of memory. */
static long module_node(Gen *g, const char *path, int make)
{
    size_t node = 0, depth = 0;
    const char *p = path;
    if (!*p)
        return 0;
    for (;;) {
        const char *dot = strchr(p, '.');
        size_t len = dot ? (size_t)(dot - p) : strlen(p);
        if (!len || ++depth + 2 > MAX_DEPTH || memchr(p, '{', len))
            return -1;
        long c = find_child(g, node, p, len);
        if (c < 0 && !make)
            return -1;
        if (c < 0 && (c = child(g, node, p, len)) < 0)
            return -2;
        node = (size_t)c;
        if (!dot)
            return (long)node;
        p = dot + 1;
    }
}

typedef struct Ranked {
    size_t rank, pos, node;
} Ranked;

static int by_rank(const void *pa, const void *pb)
{
    const Ranked *a = pa, *b = pb;
    if (a->rank != b->rank)
        return a->rank < b->rank ? -1 : 1;
    return (a->pos > b->pos) - (a->pos < b->pos);
}

/* A whole pickled model's module tree laid over the key tree: each node
 * gets its module (class and attributes), the modules without tensors
 * that are built-in layers (ReLU, MaxPool2d, Flatten, Dropout) get nodes
 * of their own, and every node's children are put in the order the
 * modules were registered (the pickle's pre-order; nodes without a module
 * after them, in key order). */
static int attach_modules(Gen *g)
{
    FbTree *t = &g->tr;
    size_t nm = rcc_module_count(g->f);
    if (!nm)
        return 0;
    t->pickled = 1;
    for (size_t i = 0; i < nm; i++) {
        const rcc_module *m = rcc_module_at(g->f, i);
        FbLayer l;
        if (!m->path || !*m->path || module_node(g, m->path, 0) >= 0 || !fb_pickled_layer(t->a, m, NULL, 0, &l))
            continue;
        if (module_node(g, m->path, 1) == -2)
            return -1;
    }
    for (size_t i = 0; i < nm; i++) {   /* a path named twice: the first module of it */
        const rcc_module *m = rcc_module_at(g->f, i);
        long x = m->path ? module_node(g, m->path, 0) : -1;
        if (x >= 0 && !t->nodes[x].mod) {
            t->nodes[x].mod = m;
            t->nodes[x].rank = i;
        }
    }
    Ranked *r = NULL;
    size_t rcap = 0;
    for (size_t i = 0; i < t->n; i++) {
        FbNode *nd = &t->nodes[i];
        if (nd->nkids < 2)
            continue;
        if (arena_grow(t->a, (void **)&r, &rcap, nd->nkids, sizeof *r) < 0)
            return -1;
        for (size_t k = 0; k < nd->nkids; k++)
            r[k] = (Ranked){t->nodes[nd->kids[k]].rank, k, nd->kids[k]};
        qsort(r, nd->nkids, sizeof *r, by_rank);
        for (size_t k = 0; k < nd->nkids; k++)
            nd->kids[k] = r[k].node;
    }
    return 0;
}

/* Layers in key order (preorder; with a pickle, its registration order),
 * each declared from its pickled module when that is a built-in layer of
 * torch.nn whose call expands to its tensors, else recognised by its
 * tensors' names and shapes; then a BatchNorm's dimensionality, when its
 * class did not say it, from its neighbour (the layer with tensors before
 * it, else the one after). */
static int recognise_all(Gen *g)
{
    FbTree *t = &g->tr;
    size_t *stack = arena_array(t->a, t->n + 1, sizeof *stack), sp = 0;
    if (!(g->layers = arena_array(t->a, t->n + 1, sizeof *g->layers)) || !stack)
        return -1;
    stack[sp++] = 0;
    while (sp) {
        size_t i = stack[--sp];
        FbNode *nd = &t->nodes[i];
        if (fb_recognise_pickled(t, i) || fb_recognise(t, i)) {
            g->layers[g->nlayers++] = i;
            for (size_t k = 0; k < nd->nkids; k++)
                t->nodes[nd->kids[k]].in_layer = 1;
            continue;
        }
        g->nraw += nd->ntens;
        for (size_t k = nd->nkids; k > 0; k--)
            stack[sp++] = nd->kids[k - 1];
    }
    for (size_t k = 0; k < g->nlayers; k++) {
        FbLayer *l = &t->nodes[g->layers[k]].layer;
        if (l->kind == FB_BN && !l->dim) {
            const FbLayer *nb = NULL;
            for (size_t j = k; j > 0 && !nb; j--)
                if (t->nodes[g->layers[j - 1]].layer.kind <= FB_PRELU)
                    nb = &t->nodes[g->layers[j - 1]].layer;
            for (size_t j = k + 1; j < g->nlayers && !nb; j++)
                if (t->nodes[g->layers[j]].layer.kind <= FB_PRELU)
                    nb = &t->nodes[g->layers[j]].layer;
            l->dim = nb && (nb->kind == FB_CONV || nb->kind == FB_CONVT) ? nb->dim : 1;
        }
        if (fb_layer_call(t->a, l) < 0)
            return -1;
    }
    return 0;
}

/* ---------------------------------------------------------- emission */

/* ASCII letters and digits of s, each word capitalised: "layer_norm" is
 * LayerNorm; at most 40 characters, "" when s has none. */
static void camel(const char *s, char *out)
{
    size_t k = 0;
    int up = 1;
    for (; *s && k < 40; s++) {
        char c = *s;
        int letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'), digit = c >= '0' && c <= '9';
        if (letter || (digit && k)) {
            out[k++] = up && c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : c;
            up = 0;
        } else {
            up = 1;
        }
    }
    out[k] = 0;
}

/* A block's name: the module's own in CamelCase ("attn" is Attn), an
 * item's its list's and index ("layer2.0" is Layer2_0); a number added
 * when that is taken. */
static const char *block_name(Gen *g, size_t i)
{
    FbTree *t = &g->tr;
    const FbNode *nd = &t->nodes[i];
    char base[64];
    camel(nd->seg, base);
    if (nd->index >= 0) {   /* an item: its list's name, after the list's parent's ("EncoderLayers_0") */
        const FbNode *p = &t->nodes[nd->parent];
        char gp[64] = "";
        if (nd->parent && p->parent && p->parent != (size_t)-1 && t->nodes[p->parent].index < 0)
            camel(t->nodes[p->parent].seg, gp);
        camel(nd->parent ? p->seg : "item", base);
        if (!*base)
            strcpy(base, "Item");
        char item[64];
        snprintf(item, sizeof item, "%s%s", gp, base);
        snprintf(base, sizeof base, "%.40s_%" PRId64, item, nd->index);
    }
    if (!*base)
        strcpy(base, "Block");
    if (!fb_is_name(base) || needs_quotes(base) || !strcmp(base, "Identity"))
        strcat(base, "Block");
    /* taken: the names of the modules above it in front, then a number */
    const char *name = arena_strndup(t->a, base, strlen(base));
    size_t up = nd->parent;
    for (int k = 0; k < 2 && nd->index < 0 && up && name && (names_get(&g->used, name) || !strcmp(name, g->model));
         k++, up = t->nodes[up].parent) {
        char above[64];
        camel(t->nodes[up].seg, above);
        name = arena_printf(t->a, "%s%s", above, name);
    }
    const char *stem = name;
    if (stem && (names_get(&g->used, name) || !strcmp(name, g->model))) {
        /* the next number of this stem (a table, so that 5,000 modules of
         * one name do not try 5,000 names each) */
        uintptr_t n = (uintptr_t)names_get(&g->stems, stem);
        for (n = n ? n : 2; name && (names_get(&g->used, name) || !strcmp(name, g->model)); n++)
            name = arena_printf(t->a, "%s%s%lu", stem, nd->index >= 0 ? "_" : "", (unsigned long)n);
        if (!name || names_put(t->a, &g->stems, stem, (void *)n) < 0)
            return NULL;
    }
    if (!name || names_put(t->a, &g->used, name, (void *)name) < 0)
        return NULL;
    return name;
}

/* The block whose body is body: the one already declared, or a new one. */
static const char *block_for(Gen *g, size_t i, const char *body)
{
    const char *name = names_get(&g->bodies, body);
    if (name)
        return name;
    const char *key = arena_strndup(g->tr.a, body, strlen(body));   /* the table keeps the pointer */
    if (!key || !(name = block_name(g, i)) || names_put(g->tr.a, &g->bodies, key, (void *)name) < 0)
        return NULL;
    fprintf(g->blocks, "block %s() {\n%s}\n\n", name, body);
    return name;
}

/* A list's items in index order, gaps as Identity(), runs as X * n. */
static const char *list_expr(Gen *g, const FbNode *nd)
{
    FbTree *t = &g->tr;
    int64_t n = 0;
    for (size_t k = 0; k < nd->nkids; k++)
        n = t->nodes[nd->kids[k]].index + 1 > n ? t->nodes[nd->kids[k]].index + 1 : n;
    const char **item = arena_array(t->a, (size_t)n + 1, sizeof *item);
    if (!item)
        return NULL;
    for (size_t k = 0; k < nd->nkids; k++)
        item[t->nodes[nd->kids[k]].index] = t->nodes[nd->kids[k]].expr;
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    if (!m)
        return NULL;
    size_t col = 0, w;
    fputc('[', m);
    for (int64_t k = 0; k < n;) {
        const char *x = item[k] ? item[k] : "Identity()";
        int64_t run = 1;
        while (k + run < n && !strcmp(item[k + run] ? item[k + run] : "Identity()", x))
            run++;
        w = strlen(x) + 16;
        if (k && col + w > 96) {
            fputs(",\n    ", m);
            col = 4;
        } else if (k) {
            fputs(", ", m);
        }
        col += run > 1 ? (size_t)fprintf(m, "%s * %" PRId64, x, run) : (size_t)fprintf(m, "%s", x);
        k += run;
    }
    fputc(']', m);
    if (fclose(m) != 0 || !buf)
        return free(buf), NULL;
    const char *r = arena_strndup(t->a, buf, len);
    free(buf);
    return r;
}

/* The name a body assigns child c to, bare or quoted. */
static const char *child_name(Gen *g, const FbNode *c)
{
    if (strchr(c->seg, '{'))   /* a quoted name with '{' is a pattern: its braces doubled */
        return quoted(g->tr.a, braces_doubled(g->tr.a, c->seg));
    return g->safe || c->shadowed || needs_quotes(c->seg) ? quoted(g->tr.a, c->seg) : c->seg;
}

/* Marks the children named as a tensor of their parent ("p.b" and
 * "p.b.c"): one table of the parent's tensor names each. */
static int mark_shadowed(Gen *g)
{
    FbTree *t = &g->tr;
    for (size_t i = 0; i < t->n; i++) {
        const FbNode *nd = &t->nodes[i];
        NameTab leaves = {0};
        if (!nd->ntens || !nd->nkids)
            continue;
        for (size_t k = 0; k < nd->ntens; k++)
            if (names_put(t->a, &leaves, nd->tens[k].leaf, (void *)nd->tens[k].leaf) < 0)
                return -1;
        for (size_t k = 0; k < nd->nkids; k++)
            t->nodes[nd->kids[k]].shadowed = names_get(&leaves, t->nodes[nd->kids[k]].seg) != NULL;
    }
    return 0;
}

/* Does a node say its pickled class in a comment?  When it is not what
 * it is declared as: a block, or a layer recognised by its tensors, of a
 * class that is not torch.nn's container nor that layer's (__main__.Net,
 * torch.nn's TransformerEncoderLayer, a custom Linear). */
static int says_class(const FbNode *nd)
{
    const char *c = nd->mod ? fb_torch_class(nd->mod) : NULL, *call = nd->layer.call;
    size_t n = c ? strlen(c) : 0;
    if (c && call && !strncmp(call, c, n) && call[n] == '(')
        return 0;   /* torch's Linear whose attributes were not enough (a traced TorchScript one) */
    return nd->mod && !nd->layer.pickled && !nd->list && !fb_class_is_container(nd->mod);
}

/* A body: the module's pickled class, its raw tensors, then its children. */
static int write_body(Gen *g, const FbNode *nd, FILE *m)
{
    if (says_class(nd) && nd->layer.kind == FB_NONE)
        fprintf(m, "  # pickled class: %s\n", fb_class_text(g->tr.a, nd->mod));
    for (size_t k = 0; k < nd->ntens; k++) {
        const rcc_tensor *t = nd->tens[k].t;
        const char *leaf = nd->tens[k].leaf;
        int intlike = rcc_dtype_kind(t->dtype) != 'f';
        int buffer = !t->is_parameter && (intlike || !strncmp(leaf, "running_", 8) ||
                                          !strcmp(leaf, "num_batches_tracked") || strstr(leaf, "position_ids"));
        fprintf(m, "  %s %s: ", buffer ? "buffer" : "param", fb_is_name(leaf) ? leaf : quoted(g->tr.a, leaf));
        put_dims(m, t);
        fputc('\n', m);
    }
    for (size_t k = 0; k < nd->nkids; k++) {
        const FbNode *c = &g->tr.nodes[nd->kids[k]];
        const char *name = child_name(g, c);
        if (c->layer.note)
            fprintf(m, "  # guessed: %s\n", c->layer.note);
        if (c->layer.kind != FB_NONE && says_class(c))
            fprintf(m, "  # pickled class: %s, declared as the built-in layer its tensors are\n",
                    fb_class_text(g->tr.a, c->mod));
        /* in a wide body, self.name: the elaborator then need not look
         * through the rest of the body for a read of name */
        fprintf(m, "  %s%s = %s\n", nd->nkids > WIDE_BODY && *name != '"' ? "self." : "", name, c->expr);
    }
    return 0;
}

/* Node i's expression: its layer call, its list, or its block (declared
 * here when its body is new). */
static int make_expr(Gen *g, size_t i)
{
    FbTree *t = &g->tr;
    FbNode *nd = &t->nodes[i];
    if (nd->layer.kind != FB_NONE) {
        nd->expr = nd->layer.call;
        return 0;
    }
    const char *x = NULL;
    char *body = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&body, &len);
    if (!m)
        return -1;
    if (nd->list) {   /* a list is a value of its parent's body, or an item of its list */
        if (!(x = list_expr(g, nd))) {
            fclose(m);
            free(body);
            return -1;
        }
    } else {
        write_body(g, nd, m);
    }
    if (fclose(m) != 0 || !body)
        return free(body), -1;
    if (!x) {
        const char *name = block_for(g, i, body);
        x = name ? arena_printf(t->a, "%s()", name) : NULL;
    }
    free(body);
    return (nd->expr = x) ? 0 : -1;
}

/* Every node's expression, children before their parent and siblings in
 * key order, so that blocks are declared in the order the file has them. */
static int make_exprs(Gen *g)
{
    FbTree *t = &g->tr;
    size_t *node = arena_array(t->a, t->n + 1, sizeof *node), *next = arena_array(t->a, t->n + 1, sizeof *next);
    size_t sp = 0;
    if (!node || !next)
        return -1;
    node[sp] = 0, next[sp++] = 0;
    while (sp) {
        size_t i = node[sp - 1];
        const FbNode *nd = &t->nodes[i];
        if (next[sp - 1] < nd->nkids && nd->layer.kind == FB_NONE) {
            node[sp] = nd->kids[next[sp - 1]++];
            next[sp++] = 0;
            continue;
        }
        sp--;
        if (i && make_expr(g, i) < 0)
            return -1;
    }
    return 0;
}

/* How a forward reaches each module: self.a[0]."b-c". */
static int make_access(Gen *g)
{
    FbTree *t = &g->tr;
    t->nodes[0].access = "self";
    for (size_t i = 1; i < t->n; i++) {
        FbNode *nd = &t->nodes[i];
        const FbNode *p = &t->nodes[nd->parent];
        if (nd->in_layer)
            continue;
        nd->access = p->list ? arena_printf(t->a, "%s[%" PRId64 "]", p->access, nd->index)
                             : arena_printf(t->a, "%s.%s", p->access, child_name(g, nd));
        if (!nd->access)
            return -1;
    }
    return 0;
}

/* The whole spec into out; with_forward 0 leaves the forward out, saying
 * why (dropped: the type checker's message). */
static int write_spec(Gen *g, const char *wpath, int with_forward, const char *dropped, FILE *out)
{
    FbTree *t = &g->tr;
    size_t ntens = rcc_tensor_count(g->f);
    char *blocks = NULL;
    size_t blen = 0;
    g->bodies = (NameTab){0};
    g->used = (NameTab){0};
    g->stems = (NameTab){0};
    if (!(g->blocks = open_memstream(&blocks, &blen)))
        return -1;
    for (size_t i = 0; i < t->n; i++)
        t->nodes[i].list = is_list(g, &t->nodes[i]);
    int bad = make_exprs(g) < 0 || make_access(g) < 0;
    bad |= fclose(g->blocks) != 0 || !blocks;
    if (bad)
        return free(blocks), -1;

    fputs("# inferred by rcc infer from ", out);
    for (const char *p = wpath; *p; p++)   /* one line, whatever the path holds */
        fputc((unsigned char)*p < ' ' || *p == 0x7f ? '?' : *p, out);
    size_t with = 0, bare = 0, pickled = 0, shaped = 0;   /* layers with tensors, without; from the pickle */
    for (size_t k = 0; k < g->nlayers; k++) {
        const FbNode *nd = &t->nodes[g->layers[k]];
        int has = nd->ntens || nd->nkids;
        with += has, bare += !has;
        pickled += nd->layer.pickled, shaped += !nd->layer.pickled;
    }
    fputs(t->pickled ? ": no family of the library covers it; layers from the pickled modules, the forward guessed\n"
                     : ": no family of the library covers it; layers recognised by name and shape, the forward guessed\n",
          out);
    fprintf(out, "# %zu key%s: %zu in %zu built-in layer%s, %zu declared raw", ntens, ntens == 1 ? "" : "s",
            ntens - g->nskip - g->nraw, with, with == 1 ? "" : "s", g->nraw);
    if (g->nskip)
        fprintf(out, ", %zu that the language cannot declare", g->nskip);
    if (bare)
        fprintf(out, "; %zu layer%s without tensors", bare, bare == 1 ? "" : "s");
    fputs("\n", out);
    if (pickled && !shaped)
        fputs("# every layer's arguments (stride, padding, eps, num_heads, ...) are its pickled module's\n", out);
    else if (pickled)
        fprintf(out, "# %zu layer%s arguments are the pickled module's; what the weights do not say of the other %zu"
                " (stride, padding, eps, ...) is torch's default\n", pickled, pickled == 1 ? "'s" : "s'", shaped);
    else if (g->nlayers)
        fputs("# what the weights do not say (stride, padding, eps, ...) is torch's default in the calls\n", out);
    fputs("\n", out);
    fwrite(blocks, 1, blen, out);
    free(blocks);

    fprintf(out, "model %s {\n", g->model);
    for (size_t i = 0, shown = 0; i < ntens && g->nskip; i++) {
        if (!g->skip[i])
            continue;
        if (!shown++)
            fputs("  # not declared: the language cannot say these keys\n", out);
        const rcc_tensor *tt = rcc_tensor_at(g->f, i);
        fprintf(out, "  #   %s ", quoted(t->a, tt->name));
        put_dims(out, tt);
        fprintf(out, " (%s)\n", g->why[i]);
    }
    const FbNode *root = &t->nodes[0];
    if (root->layer.kind != FB_NONE) {
        if (root->layer.note)
            fprintf(out, "  # guessed: %s\n", root->layer.note);
        fprintf(out, "  self = %s\n", root->layer.call);
    } else if (root->list)
        fprintf(out, "  self = %s\n", list_expr(g, root));
    else
        write_body(g, root, out);
    if (with_forward)
        fb_chain(t, g->layers, g->nlayers, out);
    else if (dropped)
        fprintf(out, "  # no forward: the guessed chain of layers does not type-check (%s)\n", dropped);
    fputs("}\n", out);
    return 0;
}

/* ------------------------------------------------------------ checking */

/* The first error of d, on one line. */
void infer_first_error(const Diags *d, char *buf, size_t cap)
{
    snprintf(buf, cap, "no message");
    for (size_t i = 0; i < d->n; i++)
        if (d->list[i].level == DG_ERROR && d->list[i].msg) {
            snprintf(buf, cap, "%s", d->list[i].msg);
            break;
        }
    for (char *p = buf; *p; p++)
        if ((unsigned char)*p < ' ')
            *p = ' ';
}

int infer_temp_spec(const char *text, size_t len, char *path, size_t pathcap, char *why, size_t cap)
{
    const char *dir = getenv("TMPDIR");
    snprintf(path, pathcap, "%s/rcc-infer-XXXXXX", dir && *dir ? dir : "/tmp");
    int fd = mkstemp(path);
    if (fd < 0 && dir && *dir) {   /* an unusable TMPDIR: /tmp */
        snprintf(path, pathcap, "/tmp/rcc-infer-XXXXXX");
        fd = mkstemp(path);
    }
    if (fd < 0) {
        snprintf(why, cap, "no temporary file to check it in");
        return -1;
    }
    size_t done = 0;
    while (done < len) {
        ssize_t w = write(fd, text + done, len - done);
        if (w <= 0)
            break;
        done += (size_t)w;
    }
    if (close(fd) != 0 || done < len) {
        unlink(path);
        snprintf(why, cap, "the temporary file to check it in cannot be written");
        return -1;
    }
    return 0;
}

/* The spec text checked as `rcc check` checks it: 0 it declares exactly
 * the keys of the file that can be declared and its forward type-checks;
 * 1 only its forward fails; 2 it does not elaborate or its keys disagree;
 * -1 it could not be checked.  why says what failed. */
static int verify(Gen *g, const char *text, size_t len, char *why, size_t cap)
{
    char path[4096];
    if (infer_temp_spec(text, len, path, sizeof path, why, cap) < 0)
        return -1;
    Arena arena = {0};
    Diags d;
    Elab e;
    diag_init(&d, &arena);
    int r = 0;
    size_t n = rcc_tensor_count(g->f);
    if (elab_file(&e, &d, &arena, path, NULL) < 0) {
        r = 2;
        infer_first_error(&d, why, cap);
    } else if (e.ntensors != n - g->nskip) {
        r = 2;
        snprintf(why, cap, "it declares %zu keys for the %zu of the file", e.ntensors, n - g->nskip);
    }
    for (size_t i = 0; !r && i < n; i++) {
        const rcc_tensor *t = rcc_tensor_at(g->f, i);
        long x = g->skip[i] ? 0 : elab_find_key(&e, "", t->name);
        int same = x >= 0;
        if (!g->skip[i] && same) {
            const ExpTensor *xt = &e.tensors[x];
            same = xt->dtype == t->dtype && xt->ndim == t->ndim;
            for (int k = 0; same && k < t->ndim; k++)
                same = xt->shape[k] == t->shape[k];
        }
        if (!same) {
            r = 2;
            snprintf(why, cap, "the key %s is not declared as the file has it", quoted(g->tr.a, t->name));
        }
    }
    if (!r && shapes_check(&e) < 0) {
        r = 1;
        infer_first_error(&d, why, cap);
    }
    if (!r && !g->nskip) {   /* and rcc check itself agrees */
        CheckOptions o = {0};
        if (check_weights(&e, g->f, path, &o)) {
            r = 2;
            infer_first_error(&d, why, cap);
        }
    }
    unlink(path);
    arena_free(&arena);
    return r;
}

/* ---------------------------------------------------------------- entry */

/* The model's name: the file's, CamelCase ("resnet_18.pt" -> Resnet18). */
static const char *model_name(Arena *a, const char *wpath)
{
    const char *base = strrchr(wpath, '/');
    base = base ? base + 1 : wpath;
    char name[64], stem[64];
    size_t k = strcspn(base, ".");
    snprintf(stem, sizeof stem, "%.*s", (int)(k < 60 ? k : 60), base);
    camel(stem, name);
    if (!*name)
        strcpy(name, "Inferred");
    if (needs_quotes(name) || !strcmp(name, "Identity"))
        strcat(name, "Model");
    return arena_strndup(a, name, strlen(name));
}

/* The tree of f's keys (with its pickled modules when pickle), its
 * layers recognised: 0, or -1 out of memory. */
static int build(Gen *g, Arena *a, const rcc_file *f, const char *wpath, int pickle)
{
    memset(g, 0, sizeof *g);
    g->tr.a = a;
    g->f = f;
    size_t n = rcc_tensor_count(f);
    int failed = !(g->skip = arena_array(a, n + 1, 1)) || !(g->why = arena_array(a, n + 1, sizeof *g->why)) ||
                 node_new(g, (size_t)-1, "", 0) < 0 || !(g->model = model_name(a, wpath));
    for (size_t i = 0; !failed && i < n; i++)
        failed = place(g, i) < 0;
    return failed || (pickle && attach_modules(g) < 0) || mark_shadowed(g) < 0 || recognise_all(g) < 0 ? -1 : 0;
}

int infer_fallback(const rcc_file *f, const char *wpath, FILE *out, FILE *log, char *err, size_t errlen)
{
    Arena a = {0};
    Gen g;
    size_t n = rcc_tensor_count(f);
    char why[512] = "", dropped[512] = "", unpickled[512] = "";
    char *text = NULL;
    size_t len = 0;
    int r = -1;
    /* With the pickle's modules first; a spec of them that the front end
     * does not take as the file has it (an argument it reads otherwise)
     * gives way to the one of the keys alone. */
    for (int pickle = 1; pickle >= 0; pickle--) {
        if (build(&g, &a, f, wpath, pickle) < 0) {
            snprintf(err, errlen, "out of memory");
            arena_free(&a);
            return -1;
        }
        /* Written, checked, and written again until it checks: without the
         * forward when only the forward fails, with every name quoted when
         * the keys do not agree. */
        int safe = 0, fwd = 1;
        dropped[0] = 0;
        for (int attempt = 0; attempt < 4; attempt++) {
            free(text);
            text = NULL;
            g.safe = safe;
            FILE *m = open_memstream(&text, &len);
            if (!m || write_spec(&g, wpath, fwd, dropped, m) < 0 || fclose(m) != 0 || !text) {
                snprintf(err, errlen, "out of memory");
                free(text);
                arena_free(&a);
                return -1;
            }
            r = verify(&g, text, len, why, sizeof why);
            if (r == 1 && fwd) {
                fwd = 0;
                memcpy(dropped, why, sizeof dropped);
            } else if (r == 2 && !safe) {
                safe = 1;
                fwd = 1;
                dropped[0] = 0;
            } else {
                break;
            }
        }
        if (r != 2 || !g.tr.pickled)
            break;
        memcpy(unpickled, why, sizeof unpickled);
        arena_free(&a);
    }
    if (*unpickled)
        fprintf(log, "rcc: note: %s: the spec of its pickled modules does not check (%s); it is declared from its keys"
                " alone\n", wpath, unpickled);

    if (g.nskip) {
        char list[400] = "";
        size_t k = 0, shown = 0;
        for (size_t i = 0; i < n && shown < 3 && k < sizeof list; i++)
            if (g.skip[i])
                k += (size_t)snprintf(list + k, sizeof list - k, "%s%s (%s)", shown++ ? ", " : "",
                                      quoted(&a, rcc_tensor_at(f, i)->name), g.why[i]);
        fprintf(log, "rcc: warning: %s: %zu key%s cannot be declared in the .arch language and %s left out: %s%s\n",
                wpath, g.nskip, g.nskip == 1 ? "" : "s", g.nskip == 1 ? "is" : "are", list, g.nskip > 3 ? ", ..." : "");
    }
    if (*dropped)
        fprintf(log, "rcc: note: %s: the guessed forward does not type-check and is left out: %s\n", wpath, dropped);
    if (r > 0)
        fprintf(log, "rcc: warning: %s: the spec written does not check against the file: %s\n", wpath, why);
    else if (r < 0)
        fprintf(log, "rcc: warning: %s: the spec written is not checked: %s\n", wpath, why);
    int bad = fwrite(text, 1, len, out) != len;
    free(text);
    arena_free(&a);
    if (bad) {
        snprintf(err, errlen, "cannot write the spec");
        return -1;
    }
    return 0;
}
