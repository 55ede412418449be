/* modules.c — whole pickled models: the module tree and its state dict.
 *
 * torch.save(model) pickles each nn.Module as an instance of its class
 * (NEWOBJ) whose BUILD state is the module's __dict__: _parameters,
 * _buffers, _non_persistent_buffers_set and _modules, plus the
 * hyperparameters the constructor stored (in_features, stride, eps, ...).
 * The pickle VM keeps such instances inert, so the class never needs to
 * exist: the state dict is rebuilt here exactly as Module.state_dict()
 * walks it (own parameters, own persistent buffers, then each submodule
 * under "name."), and every module becomes an rcc_module with its
 * hyperparameters.
 *
 * TorchScript archives (torch.jit.save) pickle modules the same way but
 * flatten each __dict__: parameters, buffers and submodules are plain
 * attributes.  Which tensors are parameters and buffers is written in the
 * archive's code/ records (`__parameters__ = ["weight", ]`), read here as
 * text, never run; constants (`eps : Final[float] = 1e-05`) become
 * attributes too.  Without that text, requires_grad tells parameters apart.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

enum { MD_MAX_DEPTH = 64 };

/* An nn.Module instance as torch.save pickles it. */
static int is_torch_module(const Pv *v)
{
    if (v->kind != PV_OBJECT || !v->u.obj.state || v->u.obj.state->kind != PV_DICT)
        return 0;
    const Pv *m = pv_dict_get(v->u.obj.state, "_modules"), *p = pv_dict_get(v->u.obj.state, "_parameters");
    return m && p && m->kind == PV_DICT && p->kind == PV_DICT;
}

/* A TorchScript module object: a __torch__.* class with a dict state. */
static int is_script_module(const Pv *v)
{
    return v->kind == PV_OBJECT && strncmp(v->u.obj.qualname, "__torch__.", 10) == 0 && v->u.obj.state &&
           v->u.obj.state->kind == PV_DICT;
}

int md_is_module(const Pv *v) { return is_torch_module(v) || is_script_module(v); }

/* ----------------------------------------------- TorchScript class text */

/* A code/ record is read once per walk, however many module instances
 * its classes have, and its classes are indexed by name in one pass: a
 * scan of the record per instance would make a TorchScript model of n
 * mangled classes (one per instance, in one file) cost n^2.  Likewise
 * the __parameters__ and __buffers__ lists of a class are parsed once
 * into sorted names, not searched again for every attribute. */

typedef struct Name {
    const char *s;   /* borrowed from the record's text */
    size_t      n;
} Name;

/* What the code/ record says of one TorchScript class. */
typedef struct ScriptClass {
    Name        name;
    const char *text;        /* the class body (borrowed from the record) */
    size_t      len;
    size_t      at;          /* where its line starts: the first of a name wins */
    int         lists;       /* params and bufs are parsed */
    Name       *params, *bufs;   /* malloc'ed, sorted */
    size_t      nparams, nbufs;
} ScriptClass;

/* A code/ record and its classes, sorted by name. */
typedef struct CodeFile {
    const ZipEntry *e;
    uint8_t        *owned;   /* the inflated record, or NULL (borrowed from the mapping) */
    ScriptClass    *classes; /* malloc'ed */
    size_t          nclasses;
} CodeFile;

static int name_cmp(const Name *a, const Name *b)
{
    int c = memcmp(a->s, b->s, a->n < b->n ? a->n : b->n);
    return c ? c : (a->n > b->n) - (a->n < b->n);
}

static int by_class_name(const void *pa, const void *pb)
{
    const ScriptClass *a = pa, *b = pb;
    int c = name_cmp(&a->name, &b->name);
    return c ? c : (a->at > b->at) - (a->at < b->at);
}

static int by_name(const void *pa, const void *pb) { return name_cmp(pa, pb); }

/* Every "class NAME(" (or "class NAME:") at the start of a line, with its
 * body: the lines after it that are blank or indented.  -1: out of memory. */
static int index_classes(CodeFile *cf, const char *src, size_t n)
{
    size_t cap = 0;
    for (size_t i = 0; i + 6 < n; i++) {
        if ((i > 0 && src[i - 1] != '\n') || memcmp(src + i, "class ", 6) != 0)
            continue;
        size_t k = i + 6;
        while (k < n && src[k] != '(' && src[k] != ':' && src[k] != '\n')
            k++;
        if (k == n || src[k] == '\n' || k == i + 6)
            continue;
        const char *eol = memchr(src + k, '\n', n - k);
        size_t j = eol ? (size_t)(eol - src) : n, start = j;
        while (j + 1 < n && (src[j + 1] == ' ' || src[j + 1] == '\n')) {
            eol = memchr(src + j + 1, '\n', n - j - 1);
            j = eol ? (size_t)(eol - src) : n;
        }
        if (cf->nclasses == cap) {
            ScriptClass *nc = cap > SIZE_MAX / 4 / sizeof *nc ? NULL
                            : realloc(cf->classes, (cap * 2 + 8) * sizeof *nc);
            if (!nc)
                return -1;
            cf->classes = nc;
            cap = cap * 2 + 8;
        }
        cf->classes[cf->nclasses++] = (ScriptClass){.name = {src + i + 6, k - i - 6}, .text = src + start,
                                                   .len = j - start, .at = i};
        i = k;
    }
    if (cf->nclasses > 1)
        qsort(cf->classes, cf->nclasses, sizeof *cf->classes, by_class_name);
    return 0;
}

static const ScriptClass *find_class(const CodeFile *cf, const char *name)
{
    Name key = {name, strlen(name)};
    size_t lo = 0, hi = cf->nclasses;
    while (lo < hi) {   /* the first of equal names: the earliest in the text */
        size_t mid = lo + (hi - lo) / 2;
        if (name_cmp(&cf->classes[mid].name, &key) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < cf->nclasses && name_cmp(&cf->classes[lo].name, &key) == 0 ? &cf->classes[lo] : NULL;
}

/* The line of the class body that starts (after indentation) with key. */
static const char *class_line(const ScriptClass *c, const char *key, size_t *len)
{
    size_t kl = strlen(key);
    for (size_t i = 0; i < c->len; i++) {
        if (c->text[i] != '\n')
            continue;
        size_t j = i + 1;
        while (j < c->len && c->text[j] == ' ')
            j++;
        if (j - i - 1 == 2 && c->len - j >= kl && memcmp(c->text + j, key, kl) == 0) {
            const char *eol = memchr(c->text + j, '\n', c->len - j);
            *len = (eol ? (size_t)(eol - c->text) : c->len) - j;
            return c->text + j;
        }
    }
    return NULL;
}

/* The quoted names of the line key = ["a", "b", ], sorted.  -1: out of memory. */
static int parse_list(const ScriptClass *c, const char *key, Name **out, size_t *nout)
{
    size_t len, n = 0;
    const char *l = class_line(c, key, &len);
    *out = NULL;
    *nout = 0;
    for (size_t i = 0; l && i < len; i++)
        n += l[i] == '"';
    if (n < 2)
        return 0;
    Name *v = malloc(n / 2 * sizeof *v);
    if (!v)
        return -1;
    size_t k = 0;
    for (size_t i = 0; i < len; i++) {
        const char *close = l[i] == '"' ? memchr(l + i + 1, '"', len - i - 1) : NULL;
        if (!close)
            continue;
        v[k++] = (Name){l + i + 1, (size_t)(close - l - i - 1)};
        i = (size_t)(close - l);
    }
    qsort(v, k, sizeof *v, by_name);
    *out = v;
    *nout = k;
    return 0;
}

/* 1 if name is in the class's list (params or bufs), 0 if not, -1 out of memory. */
static int listed(ScriptClass *c, int bufs, const char *name)
{
    if (!c->lists) {
        if (parse_list(c, "__parameters__", &c->params, &c->nparams) < 0 ||
            parse_list(c, "__buffers__", &c->bufs, &c->nbufs) < 0)
            return -1;
        c->lists = 1;
    }
    Name key = {name, strlen(name)};
    const Name *v = bufs ? c->bufs : c->params;
    size_t n = bufs ? c->nbufs : c->nparams;
    return n && bsearch(&key, v, n, sizeof key, by_name) != NULL;   /* bsearch may not see NULL */
}

static void free_code(CodeFile *files, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        for (size_t k = 0; k < files[i].nclasses; k++) {
            free(files[i].classes[k].params);
            free(files[i].classes[k].bufs);
        }
        free(files[i].classes);
        free(files[i].owned);
    }
    free(files);
}

/* ------------------------------------------------------------ the walk */

typedef struct Walk {
    rcc_file   *f;
    const Zip  *code;     /* TorchScript archive, for code/ records; or NULL */
    int         adding;   /* 0: only count tensors */
    size_t      count;
    size_t      budget;   /* modules visited and their entries: shared submodules repeat */
    int         out_of_budget;
    Err        *err;
    CodeFile   *files;    /* malloc'ed: the code/ records read so far */
    size_t      nfiles, files_cap;
} Walk;

static rcc_attr_kind attr_of(Arena *a, rcc_attr *at, const Pv *v)
{
    switch (v->kind) {
    case PV_NONE: return RCC_ATTR_NONE;
    case PV_BOOL: at->i = v->u.b; return RCC_ATTR_BOOL;
    case PV_INT: at->i = v->u.i; return RCC_ATTR_INT;
    case PV_FLOAT: at->f = v->u.f; return RCC_ATTR_FLOAT;
    case PV_STR: at->s = v->u.str.s; return RCC_ATTR_STR;
    case PV_TUPLE:
    case PV_LIST:
        for (size_t i = 0; i < v->u.seq.n; i++)
            if (v->u.seq.v[i]->kind != PV_INT)
                return RCC_ATTR_OTHER;
        at->n = v->u.seq.n;
        int64_t *ints = arena_array(a, at->n + 1, sizeof *ints);
        if (!ints)
            return RCC_ATTR_OTHER;
        for (size_t i = 0; i < at->n; i++)
            ints[i] = v->u.seq.v[i]->u.i;
        at->ints = ints;
        return RCC_ATTR_INTS;
    default: return RCC_ATTR_OTHER;
    }
}

/* A TorchScript constant "  eps : Final[float] = 1.0000000000000001e-05". */
static int script_constant(Arena *a, rcc_attr *at, const char *line, size_t len)
{
    const char *colon = memchr(line, ':', len), *eq = memchr(line, '=', len);
    if (!colon || !eq || eq < colon || memcmp(colon, ": Final[", 8) != 0)
        return 0;
    size_t nl = (size_t)(colon - line);
    while (nl && line[nl - 1] == ' ')
        nl--;
    const char *val = eq + 1;
    while (val < line + len && *val == ' ')
        val++;
    size_t vl = (size_t)(line + len - val);
    char buf[64];
    if (!nl || vl == 0 || vl >= sizeof buf)
        return 0;
    memcpy(buf, val, vl);
    buf[vl] = 0;
    at->name = arena_strndup(a, line, nl);
    at->repr = arena_strndup(a, val, vl);
    char *iend, *fend;
    long long iv = strtoll(buf, &iend, 10);
    double fv = strtod(buf, &fend);
    if (strcmp(buf, "True") == 0 || strcmp(buf, "False") == 0) {
        at->kind = RCC_ATTR_BOOL;
        at->i = buf[0] == 'T';
    } else if (*iend == 0) {
        at->kind = RCC_ATTR_INT;
        at->i = iv;
    } else if (*fend == 0) {
        at->kind = RCC_ATTR_FLOAT;
        at->f = fv;
        Pv tmp = {.kind = PV_FLOAT, .u.f = fv};   /* Python's shortest form */
        at->repr = sm_describe(a, &tmp, NULL, 0);
    } else if (buf[0] == '"' && vl >= 2 && buf[vl - 1] == '"') {
        at->kind = RCC_ATTR_STR;
        at->s = arena_strndup(a, val + 1, vl - 2);
        at->repr = arena_printf(a, "'%s'", at->s);
    } else if (buf[0] == '[' || buf[0] == '(') {   /* [3, 3] */
        int64_t tmp[RCC_MAX_NDIM];
        size_t n = 0;
        const char *p = buf + 1;
        char *end;
        while (*p && n < RCC_MAX_NDIM) {
            long long x = strtoll(p, &end, 10);
            if (end == p)
                break;
            tmp[n++] = x;
            p = end + strspn(end, ", ");
        }
        if (*p != ']' && *p != ')')
            return at->kind = RCC_ATTR_OTHER, 1;
        int64_t *ints = arena_array(a, n + 1, sizeof *ints);
        if (ints) {
            memcpy(ints, tmp, n * sizeof *ints);
            at->kind = RCC_ATTR_INTS;
            at->ints = ints;
            at->n = n;
        }
    } else {
        at->kind = RCC_ATTR_OTHER;
    }
    return at->name != NULL;
}

/* The module's hyperparameters: public plain values of its __dict__, and a
 * TorchScript class's constants. */
static int add_module(Walk *w, const Pv *obj, const char *path, int depth, const ScriptClass *sc)
{
    Arena *a = &w->f->arena;
    const Pv *st = obj->u.obj.state;
    size_t cap = st->u.dict.n + 16, n = 0;
    rcc_attr *attrs = arena_array(a, cap, sizeof *attrs);
    if (!attrs)
        return err_set(w->err, "out of memory");
    for (size_t i = 0; i < st->u.dict.n; i++) {
        const Pv *k = st->u.dict.keys[i], *v = st->u.dict.vals[i];
        if (k->kind != PV_STR || k->u.str.s[0] == '_' || strcmp(k->u.str.s, "training") == 0 ||
            v->kind == PV_TENSOR || md_is_module(v))
            continue;
        rcc_attr *at = &attrs[n++];
        at->name = k->u.str.s;
        at->kind = attr_of(a, at, v);
        at->repr = sm_describe(a, v, NULL, 0);
    }
    for (size_t i = 0; sc && i < sc->len && n < cap; i++) {
        if (sc->text[i] != '\n')
            continue;
        const char *l = sc->text + i + 1;
        const char *eol = memchr(l, '\n', (size_t)(sc->text + sc->len - l));
        size_t len = eol ? (size_t)(eol - l) : (size_t)(sc->text + sc->len - l);
        while (len && *l == ' ')
            l++, len--;
        if (script_constant(a, &attrs[n], l, len))
            n++;
    }
    if (arena_grow(a, (void **)&w->f->modules, &w->f->modules_cap, w->f->nmodules + 1, sizeof *w->f->modules) < 0)
        return err_set(w->err, "out of memory");
    rcc_module *m = &w->f->modules[w->f->nmodules++];
    m->path = path;
    m->type = obj->u.obj.qualname;
    m->depth = depth;
    m->attrs = attrs;
    m->nattrs = n;
    return 0;
}

static int emit(Walk *w, const char *prefix, const Pv *name, const Pv *t)
{
    if (t->kind != PV_TENSOR)
        return 0;
    w->count++;
    if (!w->adding)
        return 0;
    const char *full = arena_printf(&w->f->arena, "%s%s", prefix, name->u.str.s);
    return full ? pt_sd_add(w->f, full, t->u.tensor, w->err) : err_set(w->err, "out of memory");
}

/* _non_persistent_buffers_set as sorted names (malloc'ed, or NULL when
 * empty); -1 out of memory. */
static int set_names(const Pv *set, Name **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    if (!set || (set->kind != PV_SET && set->kind != PV_LIST && set->kind != PV_TUPLE) || !set->u.seq.n)
        return 0;
    Name *v = malloc(set->u.seq.n * sizeof *v);
    if (!v)
        return -1;
    for (size_t i = 0; i < set->u.seq.n; i++)
        if (set->u.seq.v[i]->kind == PV_STR)
            v[(*n)++] = (Name){set->u.seq.v[i]->u.str.s, set->u.seq.v[i]->u.str.len};
    qsort(v, *n, sizeof *v, by_name);
    *out = v;
    return 0;
}

/* The TorchScript class of an object, from code/ (read and indexed on
 * first use; the walk's distinct records are few, one per Python module
 * of the model); NULL when there is none. */
static ScriptClass *script_class(Walk *w, const Pv *obj)
{
    const char *q = obj->u.obj.qualname, *dot = strrchr(q, '.');
    char rel[512];
    if (!w->code || !dot || (size_t)(dot - q) + 10 > sizeof rel)
        return NULL;
    int n = snprintf(rel, sizeof rel, "code/%.*s.py", (int)(dot - q), q);
    for (int i = 5; i < n - 3; i++)
        if (rel[i] == '.')
            rel[i] = '/';
    const ZipEntry *e = zip_find(w->code, rel);
    if (!e || e->usize > (64u << 20))
        return NULL;
    CodeFile *cf = NULL;
    for (size_t i = 0; i < w->nfiles && !cf; i++)
        if (w->files[i].e == e)
            cf = &w->files[i];
    if (!cf) {
        if (w->nfiles == w->files_cap) {
            CodeFile *nf = realloc(w->files, (w->files_cap * 2 + 4) * sizeof *nf);
            if (!nf)
                return NULL;
            w->files = nf;
            w->files_cap = w->files_cap * 2 + 4;
        }
        cf = &w->files[w->nfiles++];
        *cf = (CodeFile){.e = e};
        Err ignored = {0};
        const uint8_t *src = zip_data(w->code, e, &cf->owned, &ignored);
        if (src && index_classes(cf, (const char *)src, (size_t)e->usize) < 0)
            return NULL;
    }
    return (ScriptClass *)find_class(cf, dot + 1);
}

static size_t dict_size(const Pv *d) { return d && d->kind == PV_DICT ? d->u.dict.n : 0; }

static int walk(Walk *w, const Pv *obj, const char *prefix, const char *path, int depth)
{
    if (depth > MD_MAX_DEPTH)
        return err_set(w->err, "modules nested deeper than %d", MD_MAX_DEPTH);
    const Pv *st = obj->u.obj.state;
    int script = !is_torch_module(obj);
    const Pv *params = NULL, *bufs = NULL, *np = NULL;
    if (!script) {
        params = pv_dict_get(st, "_parameters");
        bufs = pv_dict_get(st, "_buffers");
        np = pv_dict_get(st, "_non_persistent_buffers_set");
        st = pv_dict_get(st, "_modules");
    }
    /* The budget counts entries too: a shared submodule is walked again
     * for each name it has, as torch's state_dict() does, and a small
     * hostile file could otherwise name a large one a million times. */
    size_t cost = 1 + dict_size(st) + dict_size(params) + dict_size(bufs);
    if (w->budget < cost) {
        w->out_of_budget = 1;
        return err_set(w->err, "module tree too large (shared submodules?)");
    }
    w->budget -= cost;
    ScriptClass *sc = script && w->adding ? script_class(w, obj) : NULL;
    int r = 0;
    if (w->adding)
        r = add_module(w, obj, path, depth, sc);
    if (!script) {   /* nn.Module: _parameters, persistent _buffers, _modules */
        Name *skip = NULL;
        size_t nskip = 0;
        for (size_t i = 0; r == 0 && i < params->u.dict.n; i++)
            if (params->u.dict.keys[i]->kind == PV_STR)
                r = emit(w, prefix, params->u.dict.keys[i], params->u.dict.vals[i]);
        if (r == 0 && dict_size(bufs) && set_names(np, &skip, &nskip) < 0)
            r = err_set(w->err, "out of memory");
        for (size_t i = 0; r == 0 && i < dict_size(bufs); i++) {
            const Pv *k = bufs->u.dict.keys[i];
            if (k->kind != PV_STR)
                continue;
            Name key = {k->u.str.s, k->u.str.len};
            if (!nskip || !bsearch(&key, skip, nskip, sizeof key, by_name))
                r = emit(w, prefix, k, bufs->u.dict.vals[i]);
        }
        free(skip);
    } else {         /* TorchScript: parameters, then buffers, by the class text */
        for (int pass = 0; pass < 2 && r == 0; pass++)
            for (size_t i = 0; r == 0 && i < st->u.dict.n; i++) {
                const Pv *k = st->u.dict.keys[i], *v = st->u.dict.vals[i];
                if (k->kind != PV_STR || v->kind != PV_TENSOR)
                    continue;
                int is_param = sc ? listed(sc, 0, k->u.str.s) : v->u.tensor->requires_grad;
                int is_buf = sc ? listed(sc, 1, k->u.str.s) : !v->u.tensor->requires_grad;
                if (is_param < 0 || is_buf < 0)
                    r = err_set(w->err, "out of memory");
                else if (pass == 0 ? is_param : is_buf)
                    r = emit(w, prefix, k, v);
                else if (pass == 1 && !is_param && w->adding)
                    pt_warn(w->f, "TorchScript attribute '%s%s' is a tensor but neither a parameter nor a buffer: "
                            "not in the state dict", prefix, k->u.str.s);
            }
    }
    for (size_t i = 0; r == 0 && i < st->u.dict.n; i++) {
        const Pv *k = st->u.dict.keys[i], *v = st->u.dict.vals[i];
        if (k->kind != PV_STR || !md_is_module(v))
            continue;
        if (!w->adding) {   /* counting: no names needed */
            r = walk(w, v, "", "", depth + 1);
            continue;
        }
        char *sub = arena_printf(&w->f->arena, "%s%s.", prefix, k->u.str.s);
        char *subpath = arena_printf(&w->f->arena, "%s%s%s", path, *path ? "." : "", k->u.str.s);
        r = sub && subpath ? walk(w, v, sub, subpath, depth + 1) : err_set(w->err, "out of memory");
    }
    return r;
}

enum { MD_BUDGET = MD_MAX_WORK };   /* modules plus their entries, per walk */

size_t md_count_within(const Pv *root, size_t *budget)
{
    Err err = {0};
    size_t cap = *budget < MD_BUDGET ? *budget : MD_BUDGET;
    Walk w = {.adding = 0, .budget = cap, .err = &err};
    int r = walk(&w, root, "", "", 0);
    /* Out of a budget smaller than one walk's: the tree may be fine alone,
     * but the caller can no longer compare candidates. */
    *budget = r < 0 && w.out_of_budget && cap < MD_BUDGET ? 0 : *budget - (cap - w.budget);
    return r == 0 ? w.count : SIZE_MAX;
}

size_t md_count(const Pv *root)
{
    size_t budget = MD_BUDGET;
    return md_count_within(root, &budget);
}

static int by_path(const void *pa, const void *pb)
{
    const rcc_module *a = *(const rcc_module *const *)pa, *b = *(const rcc_module *const *)pb;
    int c = strcmp(a->path, b->path);
    return c ? c : (a > b) - (a < b);
}

int md_build(rcc_file *f, const Pv *root, const Zip *code, Err *err)
{
    /* Counted first: a tree too deep or too large fails before anything
     * is built, and the state dict is allocated once. */
    Walk c = {.adding = 0, .budget = MD_BUDGET, .err = err};
    if (walk(&c, root, "", "", 0) < 0 || pt_sd_reserve(f, c.count, err) < 0)
        return -1;
    Walk w = {.f = f, .code = code, .adding = 1, .budget = MD_BUDGET, .err = err};
    int r = walk(&w, root, "", "", 0);
    free_code(w.files, w.nfiles);
    if (r < 0)
        return -1;
    /* rcc_find_module's index: paths sorted (a shared submodule's paths
     * differ, so the first of equal paths is as good as any). */
    if (!(f->modules_by_path = arena_array(&f->arena, f->nmodules + 1, sizeof *f->modules_by_path)))
        return err_set(err, "out of memory");
    for (size_t i = 0; i < f->nmodules; i++)
        f->modules_by_path[i] = &f->modules[i];
    qsort(f->modules_by_path, f->nmodules, sizeof *f->modules_by_path, by_path);
    return 0;
}

/* ------------------------------------------------------------ accessors */

size_t rcc_module_count(const rcc_file *f) { return f->nmodules; }

const rcc_module *rcc_module_at(const rcc_file *f, size_t i)
{
    return i < f->nmodules ? &f->modules[i] : NULL;
}

const rcc_module *rcc_find_module(const rcc_file *f, const char *path)
{
    size_t lo = 0, hi = f->modules_by_path ? f->nmodules : 0;
    while (lo < hi) {   /* the first of equal paths: the earliest module */
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(f->modules_by_path[mid]->path, path) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < f->nmodules && f->modules_by_path && strcmp(f->modules_by_path[lo]->path, path) == 0
               ? f->modules_by_path[lo] : NULL;
}
