/* torchfile.c — opening a weight file: format, storages, the state dict.
 *
 * rcc_open maps the file, recognises the torch.save zip archive, checks its
 * version record and runs data.pkl through the pickle VM.  The VM calls back
 * here for each persistent id, which names a storage: a record data/<key>
 * of the archive holding numel elements of one dtype.  Storages are made
 * once per key and every later reference must agree with the first; every
 * tensor is checked against its storage before it exists (pt_tensor_new).
 *
 * The pickle's top-level value may be a state dict or a checkpoint that
 * wraps one; the state dict is the reachable dict with the most tensors
 * (or the one --key names), its entries become the file's rcc_tensor list,
 * and the rest of the checkpoint is summarised line by line.  No tensor
 * byte is touched here: that waits for rcc_read (tensor.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

/* Names the state-dict search does not look under: the tensors there are
 * optimizer moments and scaler state, never a model's weights. */
static const char *const non_model_keys[] = {"optimizer", "optim", "optimizer_state_dict",
                                             "scheduler", "lr_scheduler", "scaler", "amp"};

struct rcc_file {
    Arena          arena;
    const uint8_t *base;       /* the mapping (NULL for an empty file) */
    uint64_t       size;
    Zip            zip;
    const char    *format;
    Pv            *root;       /* the pickle's value */
    PtStorage    **storages;   /* arena, in order of first reference */
    size_t         nstorages, storages_cap;
    rcc_storage   *pub_storages;
    rcc_tensor    *tensors;    /* arena: the state dict, in order */
    size_t         ntensors;
    size_t        *by_name;    /* arena: tensor indices sorted by name */
    const char    *sd_path;
    char         **summary;    /* arena */
    size_t         nsummary, summary_cap;
    char         **warnings;   /* arena */
    size_t         nwarnings, warnings_cap;
};

static void add_line(Arena *a, char ***lines, size_t *n, size_t *cap, char *s)
{
    if (s && arena_grow(a, (void **)lines, cap, *n + 1, sizeof(char *)) == 0)
        (*lines)[(*n)++] = s;
}

static void warn_hook(void *ctx, const char *msg)
{
    rcc_file *f = ctx;
    add_line(&f->arena, &f->warnings, &f->nwarnings, &f->warnings_cap, arena_strndup(&f->arena, msg, strlen(msg)));
}

/* ------------------------------------------------------------- storages */

static int is_decimal_key(const Pv *k)
{
    if (k->kind != PV_STR || k->u.str.len == 0 || k->u.str.len > 20)
        return 0;
    for (size_t i = 0; i < k->u.str.len; i++)
        if (k->u.str.s[i] < '0' || k->u.str.s[i] > '9')
            return 0;
    return 1;
}

static PtStorage *find_storage(const rcc_file *f, const char *key)
{
    /* Keys are "0", "1", ... in order of first use: try the direct index. */
    char *end;
    unsigned long long k = strtoull(key, &end, 10);
    if (k < f->nstorages && strcmp(f->storages[k]->key, key) == 0)
        return f->storages[k];
    for (size_t i = 0; i < f->nstorages; i++)
        if (strcmp(f->storages[i]->key, key) == 0)
            return f->storages[i];
    return NULL;
}

/* ('storage', <T>Storage, key, location, numel): the zip format's pid. */
static Pv *persistent_load(void *ctx, Pv *pid, Err *err)
{
    rcc_file *f = ctx;
    if (pid->kind != PV_TUPLE || pid->u.seq.n != 5 || !pv_is_str(pid->u.seq.v[0], "storage")) {
        err_set(err, "persistent id is not a ('storage', type, key, location, numel) tuple");
        return NULL;
    }
    Pv *type = pid->u.seq.v[1], *key = pid->u.seq.v[2], *loc = pid->u.seq.v[3], *numel = pid->u.seq.v[4];
    const Global *g = type->kind == PV_GLOBAL ? type->u.glob.known : NULL;
    if (!g || g->kind != GL_STORAGE_TYPE) {
        err_set(err, "persistent id names %s, which is not a storage type",
                type->kind == PV_GLOBAL ? type->u.glob.qualname : pv_kind_name(type->kind));
        return NULL;
    }
    if (g->dtype < 0) {
        err_set(err, "storage type torch.%s is not supported", g->name);
        return NULL;
    }
    if (!is_decimal_key(key)) {
        err_set(err, "storage key is not a decimal number");
        return NULL;
    }
    if (loc->kind != PV_STR || numel->kind != PV_INT || numel->u.i < 0) {
        err_set(err, "storage %s: malformed location or element count", key->u.str.s);
        return NULL;
    }
    PtStorage *st = find_storage(f, key->u.str.s);
    int untyped = strcmp(g->name, "UntypedStorage") == 0;
    if (st) {
        if ((st->untyped ? RCC_U8 : st->dtype) != (rcc_dtype)g->dtype || st->untyped != untyped ||
            st->numel != (uint64_t)numel->u.i) {
            err_set(err, "storage key %s is used with conflicting types or sizes", st->key);
            return NULL;
        }
    } else {
        char rel[32];
        snprintf(rel, sizeof rel, "data/%s", key->u.str.s);
        const ZipEntry *rec = zip_find(&f->zip, rel);
        if (!rec) {
            err_set(err, "missing storage record %s%s", f->zip.prefix, rel);
            return NULL;
        }
        if (!(st = ARENA_NEW(&f->arena, PtStorage)))
            return NULL;
        st->key = key->u.str.s;
        st->dtype = (rcc_dtype)g->dtype;
        st->untyped = untyped;
        st->numel = (uint64_t)numel->u.i;
        st->rec = rec;
        if (mul_u64(st->numel, rcc_dtype_size(st->dtype), &st->nbytes)) {
            err_set(err, "storage %s: size overflows", st->key);
            return NULL;
        }
        if (rec->usize < st->nbytes || (rec->method != 0 && rec->usize != st->nbytes)) {
            err_set(err, "storage record %s has %llu bytes, the pickle needs %llu", rec->name,
                    (unsigned long long)rec->usize, (unsigned long long)st->nbytes);
            return NULL;
        }
        st->index = f->nstorages;
        if (arena_grow(&f->arena, (void **)&f->storages, &f->storages_cap, f->nstorages + 1, sizeof *f->storages) < 0)
            return NULL;
        f->storages[f->nstorages++] = st;
    }
    Pv *v = pv_new(&f->arena, PV_STORAGE);
    if (v)
        v->u.storage = st;
    return v;
}

/* The tensor's bytes must lie inside its storage: offset + sum((size-1) *
 * stride) < numel, all in checked 64-bit arithmetic. */
PtTensor *pt_tensor_new(Arena *a, PtStorage *st, rcc_dtype dt, Pv *offset, Pv *size, Pv *stride, Err *err)
{
    if (offset->kind != PV_INT || offset->u.i < 0) {
        err_set(err, "storage offset is not a non-negative int");
        return NULL;
    }
    if ((size->kind != PV_TUPLE && size->kind != PV_LIST) || (stride->kind != PV_TUPLE && stride->kind != PV_LIST)) {
        err_set(err, "tensor size or stride is not a tuple");
        return NULL;
    }
    size_t nd = size->u.seq.n;
    if (nd > RCC_MAX_NDIM) {
        err_set(err, "tensor has %zu dimensions, more than %d", nd, RCC_MAX_NDIM);
        return NULL;
    }
    if (stride->u.seq.n != nd) {
        err_set(err, "tensor has %zu sizes but %zu strides", nd, stride->u.seq.n);
        return NULL;
    }
    PtTensor *t = ARENA_NEW(a, PtTensor);
    if (!t || !(t->shape = arena_array(a, nd + 1, sizeof(int64_t))) ||
        !(t->strides = arena_array(a, nd + 1, sizeof(int64_t))))
        return NULL;
    uint64_t numel = 1, extent = (uint64_t)offset->u.i;
    for (size_t i = 0; i < nd; i++) {
        Pv *s = size->u.seq.v[i], *d = stride->u.seq.v[i];
        if (s->kind != PV_INT || d->kind != PV_INT) {
            err_set(err, "tensor size or stride holds a %s", pv_kind_name(s->kind != PV_INT ? s->kind : d->kind));
            return NULL;
        }
        if (s->u.i < 0 || d->u.i < 0) {
            err_set(err, "tensor has a negative %s", s->u.i < 0 ? "size" : "stride");
            return NULL;
        }
        t->shape[i] = s->u.i;
        t->strides[i] = d->u.i;
        if (mul_u64(numel, (uint64_t)s->u.i, &numel)) {
            err_set(err, "tensor element count overflows");
            return NULL;
        }
    }
    size_t isz = rcc_dtype_size(dt);
    uint64_t stnumel = st->untyped ? st->nbytes / isz : st->numel;
    if (numel > 0) {
        for (size_t i = 0; i < nd; i++) {
            uint64_t span;
            if (mul_u64((uint64_t)t->shape[i] - 1, (uint64_t)t->strides[i], &span) ||
                add_u64(extent, span, &extent)) {
                err_set(err, "tensor extent overflows");
                return NULL;
            }
        }
        if (extent >= stnumel) {
            err_set(err, "tensor extent exceeds storage %s (element %llu of %llu)", st->key,
                    (unsigned long long)extent, (unsigned long long)stnumel);
            return NULL;
        }
    }
    uint64_t nbytes;
    if (numel > INT64_MAX || mul_u64(numel, isz, &nbytes) ||
        (nbytes > st->nbytes && nbytes > ((uint64_t)1 << 30))) {
        err_set(err, "tensor view of storage %s would materialise too many bytes", st->key);
        return NULL;
    }
    if (st->untyped && st->numel == st->nbytes && dt != RCC_U8)
        st->dtype = dt;   /* an untyped storage takes its first user's dtype */
    t->st = st;
    t->dtype = dt;
    t->ndim = (int)nd;
    t->offset = offset->u.i;
    t->numel = numel;
    return t;
}

/* ------------------------------------------------------ the state dict */

/* A walk over the value graph, bounded in depth and visiting each
 * container once (values may share children or form cycles). */
typedef struct Best {
    const Pv *v;
    size_t    score;
    unsigned  depth;
    char      path[512];
} Best;

static size_t tensor_count(const Pv *v)
{
    size_t n = 0;
    if (v->kind == PV_DICT) {
        for (size_t i = 0; i < v->u.dict.vals.n; i++)
            n += v->u.dict.vals.v[i]->kind == PV_TENSOR && v->u.dict.keys.v[i]->kind == PV_STR;
    } else if (v->kind == PV_LIST || v->kind == PV_TUPLE) {
        for (size_t i = 0; i < v->u.seq.n; i++)
            n += v->u.seq.v[i]->kind == PV_TENSOR;
    }
    return n;
}

static int is_non_model_key(const Pv *k)
{
    for (size_t i = 0; i < sizeof non_model_keys / sizeof *non_model_keys; i++)
        if (pv_is_str(k, non_model_keys[i]))
            return 1;
    return 0;
}

static void search(const Pv *v, unsigned depth, char *path, size_t plen, size_t cap, Best *b, size_t *budget)
{
    /* Shared children make the graph a DAG that a naive walk visits
     * exponentially often: the budget bounds the whole walk. */
    if (depth > 32 || *budget == 0)
        return;
    --*budget;
    size_t n = tensor_count(v);
    if (n > b->score || (n == b->score && n && depth < b->depth)) {
        b->v = v;
        b->score = n;
        b->depth = depth;
        snprintf(b->path, sizeof b->path, "%.*s", (int)plen, path);
    }
    size_t count = v->kind == PV_DICT ? v->u.dict.vals.n
                 : (v->kind == PV_LIST || v->kind == PV_TUPLE) ? v->u.seq.n
                 : v->kind == PV_OBJECT && v->u.obj.state ? 1 : 0;
    for (size_t i = 0; i < count; i++) {
        const Pv *child, *key = NULL;
        char seg[64];
        if (v->kind == PV_DICT) {
            key = v->u.dict.keys.v[i];
            child = v->u.dict.vals.v[i];
            if (is_non_model_key(key))
                continue;
            if (key->kind == PV_STR)
                snprintf(seg, sizeof seg, "%s", key->u.str.s);
            else if (key->kind == PV_INT)
                snprintf(seg, sizeof seg, "%lld", (long long)key->u.i);
            else
                continue;
        } else if (v->kind == PV_OBJECT) {
            child = v->u.obj.state;
            seg[0] = 0;
        } else {
            child = v->u.seq.v[i];
            snprintf(seg, sizeof seg, "%zu", i);
        }
        if (child->kind != PV_DICT && child->kind != PV_LIST && child->kind != PV_TUPLE && child->kind != PV_OBJECT)
            continue;
        size_t sl = strlen(seg), nl = plen;
        if (sl && plen + sl + 2 >= cap)
            continue;   /* a path too long to report is not a place to look */
        if (sl) {
            if (plen)
                path[nl++] = '.';
            memcpy(path + nl, seg, sl);
            nl += sl;
        }
        search(child, depth + 1, path, nl, cap, b, budget);
    }
}

/* --key: follow a dotted path of dict keys and list indices. */
static const Pv *follow(const Pv *v, const char *path, Err *err)
{
    char seg[256];
    while (*path) {
        size_t n = strcspn(path, ".");
        if (n >= sizeof seg) {
            err_set(err, "--key segment too long");
            return NULL;
        }
        memcpy(seg, path, n);
        seg[n] = 0;
        path += n + (path[n] == '.');
        const Pv *next = NULL;
        int decimal = n > 0 && n < 19 && strspn(seg, "0123456789") == n;
        if (v->kind == PV_DICT) {
            next = pv_dict_get(v, seg);
            for (size_t i = 0; !next && decimal && i < v->u.dict.keys.n; i++)   /* optimizer state: int keys */
                if (v->u.dict.keys.v[i]->kind == PV_INT && v->u.dict.keys.v[i]->u.i == (int64_t)strtoll(seg, NULL, 10))
                    next = v->u.dict.vals.v[i];
        } else if ((v->kind == PV_LIST || v->kind == PV_TUPLE) && decimal) {
            unsigned long long i = strtoull(seg, NULL, 10);
            next = i < v->u.seq.n ? v->u.seq.v[i] : NULL;
        } else if (v->kind == PV_OBJECT && v->u.obj.state) {
            next = pv_dict_get(v->u.obj.state, seg);
        }
        if (!next) {
            char have[200] = "";
            size_t hl = 0;
            for (size_t i = 0; v->kind == PV_DICT && i < v->u.dict.keys.n && hl < sizeof have - 1; i++) {
                const Pv *k = v->u.dict.keys.v[i];
                int w = k->kind == PV_STR ? snprintf(have + hl, sizeof have - hl, "%s%s", i ? ", " : "", k->u.str.s)
                      : k->kind == PV_INT ? snprintf(have + hl, sizeof have - hl, "%s%lld", i ? ", " : "", (long long)k->u.i)
                      : 0;
                hl += w > 0 ? (size_t)w : 0;
            }
            err_set(err, "--key: no entry '%s' in the file's %s%s%s%s", seg, pv_kind_name(v->kind),
                    *have ? " (it has: " : "", have, *have ? ")" : "");
            return NULL;
        }
        v = next;
    }
    return v;
}

static int name_cmp_ctx(const rcc_tensor *t, size_t a, size_t b)
{
    int c = strcmp(t[a].name, t[b].name);
    return c ? c : (a < b ? -1 : a > b);
}

/* Sorts tensor indices by name (merge sort: n log n, no global context). */
static void sort_names(const rcc_tensor *t, size_t *idx, size_t *tmp, size_t n)
{
    if (n < 2)
        return;
    size_t h = n / 2;
    sort_names(t, idx, tmp, h);
    sort_names(t, idx + h, tmp, n - h);
    size_t i = 0, j = h, k = 0;
    while (i < h && j < n)
        tmp[k++] = name_cmp_ctx(t, idx[i], idx[j]) <= 0 ? idx[i++] : idx[j++];
    while (i < h)
        tmp[k++] = idx[i++];
    while (j < n)
        tmp[k++] = idx[j++];
    memcpy(idx, tmp, n * sizeof *idx);
}

static void fill_tensor(rcc_tensor *o, const PtTensor *t, const char *name)
{
    o->name = name;
    o->dtype = t->dtype;
    o->ndim = t->ndim;
    o->shape = t->shape;
    o->strides = t->strides;
    o->storage_offset = t->offset;
    o->numel = t->numel;
    o->nbytes = t->numel * rcc_dtype_size(t->dtype);
    o->storage = t->st->index;
    o->requires_grad = t->requires_grad;
    o->is_parameter = t->is_parameter;
}

static int collect(rcc_file *f, const Pv *sd, Err *err)
{
    size_t n = sd->kind == PV_DICT ? sd->u.dict.vals.n : sd->kind == PV_TENSOR ? 1 : sd->u.seq.n;
    if (!(f->tensors = arena_array(&f->arena, n + 1, sizeof *f->tensors)))
        return err_set(err, "out of memory");
    for (size_t i = 0; i < n; i++) {
        const Pv *v, *k = NULL;
        char *name;
        if (sd->kind == PV_TENSOR) {
            v = sd;
            name = arena_strndup(&f->arena, "", 0);
        } else if (sd->kind == PV_DICT) {
            k = sd->u.dict.keys.v[i];
            v = sd->u.dict.vals.v[i];
            name = k->kind == PV_STR ? (char *)k->u.str.s
                 : k->kind == PV_INT ? arena_printf(&f->arena, "%lld", (long long)k->u.i) : NULL;
        } else {
            v = sd->u.seq.v[i];
            name = arena_printf(&f->arena, "%zu", i);
        }
        if (!name)
            continue;
        if (v->kind != PV_TENSOR) {
            warn_hook(f, arena_printf(&f->arena, "state dict entry '%s' is a %s, not a tensor",
                                      name, pv_kind_name(v->kind)));
            continue;
        }
        fill_tensor(&f->tensors[f->ntensors++], v->u.tensor, name);
    }
    /* A name index for rcc_find_tensor; a duplicate name would make the
     * state dict ambiguous (Python keeps one of them), so refuse it. */
    size_t *tmp = arena_array(&f->arena, f->ntensors + 1, sizeof *tmp);
    if (!(f->by_name = arena_array(&f->arena, f->ntensors + 1, sizeof *f->by_name)) || !tmp)
        return err_set(err, "out of memory");
    for (size_t i = 0; i < f->ntensors; i++)
        f->by_name[i] = i;
    sort_names(f->tensors, f->by_name, tmp, f->ntensors);
    for (size_t i = 1; i < f->ntensors; i++)
        if (strcmp(f->tensors[f->by_name[i]].name, f->tensors[f->by_name[i - 1]].name) == 0)
            return err_set(err, "state dict has the key '%s' twice", f->tensors[f->by_name[i]].name);
    return 0;
}

static int find_state_dict(rcc_file *f, const char *key, Err *err)
{
    const Pv *sd;
    if (key) {
        if (!(sd = follow(f->root, key, err)))
            return -1;
        if (sd->kind != PV_TENSOR && !tensor_count(sd))
            return err_set(err, "--key %s: the %s there holds no tensors", key, pv_kind_name(sd->kind));
        f->sd_path = arena_strndup(&f->arena, key, strlen(key));
    } else if (f->root->kind == PV_TENSOR) {
        sd = f->root;
        f->sd_path = "";
    } else {
        Best b = {0};
        char path[512];
        size_t budget = 1000000;
        search(f->root, 0, path, 0, sizeof path, &b, &budget);
        if (!b.v)
            return err_set(err, "no tensors found: the pickle holds a %s without any state dict",
                           pv_kind_name(f->root->kind));
        sd = b.v;
        f->sd_path = arena_strndup(&f->arena, b.path, strlen(b.path));
    }
    if (collect(f, sd, err) < 0)
        return -1;
    /* What else the checkpoint holds, one line per top-level entry. */
    if (f->root != sd && f->root->kind == PV_DICT) {
        const Pv *r = f->root;
        for (size_t i = 0; i < r->u.dict.keys.n; i++) {
            const Pv *k = r->u.dict.keys.v[i], *v = r->u.dict.vals.v[i];
            char kbuf[64];
            const char *ks = kbuf;
            if (k->kind == PV_STR)
                ks = k->u.str.s;
            else if (k->kind == PV_INT)
                snprintf(kbuf, sizeof kbuf, "%lld", (long long)k->u.i);
            else
                snprintf(kbuf, sizeof kbuf, "<%s key>", pv_kind_name(k->kind));
            int composite = v == sd || v->kind == PV_DICT || v->kind == PV_OBJECT;
            char *line = arena_printf(&f->arena, "%s%s%s", ks, composite ? ": " : " = ",
                                      sm_describe(&f->arena, v, sd, f->ntensors));
            add_line(&f->arena, &f->summary, &f->nsummary, &f->summary_cap, line);
        }
    }
    if (!(f->pub_storages = arena_array(&f->arena, f->nstorages + 1, sizeof *f->pub_storages)))
        return err_set(err, "out of memory");
    for (size_t i = 0; i < f->nstorages; i++) {
        const PtStorage *st = f->storages[i];
        rcc_storage *o = &f->pub_storages[i];
        o->key = st->key;
        o->dtype = st->dtype;
        o->nbytes = st->nbytes;
        o->numel = st->nbytes / rcc_dtype_size(st->dtype);
        o->file_offset = st->rec->data_off;
        o->compressed = st->rec->method != 0;
    }
    for (size_t i = 0; i < f->ntensors; i++)
        f->pub_storages[f->tensors[i].storage].users++;
    return 0;
}

/* --------------------------------------------------------------- formats */

static int version_ok(const Zip *z, Err *err)
{
    const ZipEntry *e = zip_find(z, "version");
    if (!e)
        e = zip_find(z, ".data/version");
    if (!e)
        return err_set(err, "archive has no version record: not a torch.save file");
    uint8_t buf[33];
    if (e->usize == 0 || e->usize > 32)
        return err_set(err, "version record is %llu bytes long", (unsigned long long)e->usize);
    if (zip_extract(z, e, buf, err) < 0)
        return -1;
    uint64_t v = 0;
    size_t n = (size_t)e->usize;
    while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
        n--;
    if (n == 0 || n > 19)
        return err_set(err, "version record is not a small decimal number");
    for (size_t i = 0; i < n; i++) {
        if (buf[i] < '0' || buf[i] > '9')
            return err_set(err, "version record is not a decimal number");
        v = v * 10 + (buf[i] - '0');
    }
    if (v < 1 || v > 10)
        return err_set(err, "archive format version %llu is not supported (1..10)", (unsigned long long)v);
    return 0;
}

static int open_zip(rcc_file *f, const rcc_open_options *opt, Err *err)
{
    if (zip_open(&f->zip, f->base, f->size, &f->arena, err) < 0 || version_ok(&f->zip, err) < 0)
        return -1;
    const ZipEntry *pkl = zip_find(&f->zip, "data.pkl");
    if (!pkl)
        return err_set(err, "archive has no %sdata.pkl record", f->zip.prefix);
    if (pkl->usize > ((uint64_t)1 << 31))
        return err_set(err, "data.pkl is %llu bytes, more than 2 GiB", (unsigned long long)pkl->usize);
    uint8_t *buf = malloc(pkl->usize ? (size_t)pkl->usize : 1);
    if (!buf)
        return err_set(err, "out of memory");
    PkHooks h = {.ctx = f, .persistent_load = persistent_load, .warn = warn_hook};
    if (zip_extract(&f->zip, pkl, buf, err) == 0)
        f->root = pk_load(buf, (size_t)pkl->usize, &f->arena, &h, NULL, err);
    free(buf);
    if (!f->root)
        return -1;
    f->format = "zip";
    return find_state_dict(f, opt ? opt->key : NULL, err);
}

rcc_file *rcc_open(const char *path, const rcc_open_options *opt, char *errbuf, size_t errlen)
{
    Err err = {0};
    rcc_file *f = calloc(1, sizeof *f);
    int fd = -1;
    struct stat sb;
    if (!f) {
        err_set(&err, "out of memory");
        goto fail;
    }
    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0 || fstat(fd, &sb) < 0) {
        err_set(&err, "cannot open: %s", strerror(errno));
        goto fail;
    }
    if (!S_ISREG(sb.st_mode)) {
        err_set(&err, "not a regular file");
        goto fail;
    }
    f->size = (uint64_t)sb.st_size;
    if (f->size > SIZE_MAX) {
        err_set(&err, "file too large to map");
        goto fail;
    }
    if (f->size == 0) {
        err_set(&err, "empty file");
        goto fail;
    }
    void *m = mmap(NULL, (size_t)f->size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (m == MAP_FAILED) {
        err_set(&err, "cannot map: %s", strerror(errno));
        goto fail;
    }
    close(fd);
    fd = -1;
    f->base = m;
    if (f->size >= 4 && memcmp(f->base, "PK\3\4", 4) == 0) {
        if (open_zip(f, opt, &err) < 0)
            goto fail;
    } else if (f->size >= 4 && memcmp(f->base, "PK", 2) == 0) {
        if (open_zip(f, opt, &err) < 0)   /* an archive that starts oddly: let zip.c judge */
            goto fail;
    } else if (f->base[0] == 0x80) {
        err_set(&err, "a bare pickle, not a torch.save zip archive (legacy torch < 1.6 files are not supported yet)");
        goto fail;
    } else {
        err_set(&err, "not a PyTorch weight file (no zip archive signature)");
        goto fail;
    }
    return f;
fail:
    if (fd >= 0)
        close(fd);
    err_copy(&err, errbuf, errlen);
    rcc_close(f);
    return NULL;
}

void rcc_close(rcc_file *f)
{
    if (!f)
        return;
    if (f->base)
        munmap((void *)f->base, (size_t)f->size);
    arena_free(&f->arena);
    free(f);
}

/* ------------------------------------------------------------ accessors */

const char *rcc_format(const rcc_file *f) { return f->format; }
const char *rcc_state_dict_path(const rcc_file *f) { return f->sd_path; }
size_t rcc_tensor_count(const rcc_file *f) { return f->ntensors; }
size_t rcc_storage_count(const rcc_file *f) { return f->nstorages; }
size_t rcc_summary_count(const rcc_file *f) { return f->nsummary; }
size_t rcc_warning_count(const rcc_file *f) { return f->nwarnings; }

const rcc_tensor *rcc_tensor_at(const rcc_file *f, size_t i)
{
    return i < f->ntensors ? &f->tensors[i] : NULL;
}

const rcc_storage *rcc_storage_at(const rcc_file *f, size_t i)
{
    return i < f->nstorages ? &f->pub_storages[i] : NULL;
}

const char *rcc_summary_at(const rcc_file *f, size_t i) { return i < f->nsummary ? f->summary[i] : NULL; }
const char *rcc_warning_at(const rcc_file *f, size_t i) { return i < f->nwarnings ? f->warnings[i] : NULL; }

const rcc_tensor *rcc_find_tensor(const rcc_file *f, const char *name)
{
    size_t lo = 0, hi = f->ntensors;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(f->tensors[f->by_name[mid]].name, name);
        if (c == 0)
            return &f->tensors[f->by_name[mid]];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* tensor.c needs the storage record behind a public tensor. */
const ZipEntry *pt_storage_record(const rcc_file *f, const rcc_tensor *t, const Zip **z)
{
    *z = &f->zip;
    return t->storage < f->nstorages ? f->storages[t->storage]->rec : NULL;
}
