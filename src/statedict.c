/* statedict.c — the state dict inside a pickled checkpoint.
 *
 * torch.save may have saved a state dict, or a checkpoint that wraps one
 * ({'model': sd, 'optimizer': ..., 'epoch': 7}), or a list of tensors.  The
 * state dict is the reachable dict with the most tensors (or the one --key
 * names); optimizer and scheduler entries are not searched, since their
 * tensors are moments, not weights.  The rest of a checkpoint is summarised
 * one line per top-level entry.  Values may share children or form cycles,
 * so every walk is bounded.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* Names the state-dict search does not look under. */
static const char *const non_model_keys[] = {"optimizer", "optim", "optimizer_state_dict",
                                             "scheduler", "lr_scheduler", "scaler", "amp"};


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
    int module = md_is_module(v);
    size_t n = module ? md_count(v) : tensor_count(v);
    if (n > b->score || (n == b->score && n && depth < b->depth)) {
        b->v = v;
        b->score = n;
        b->depth = depth;
        snprintf(b->path, sizeof b->path, "%.*s", (int)plen, path);
    }
    if (module)   /* a whole model: its state dict is all it offers */
        return;
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

static int collect(rcc_file *f, const Pv *sd, Err *err)
{
    size_t n = sd->kind == PV_DICT ? sd->u.dict.vals.n : sd->kind == PV_TENSOR ? 1 : sd->u.seq.n;
    for (size_t i = 0; i < n; i++) {
        const Pv *v;
        const char *name;
        if (sd->kind == PV_TENSOR) {
            v = sd;
            name = "";
        } else if (sd->kind == PV_DICT) {
            const Pv *k = sd->u.dict.keys.v[i];
            v = sd->u.dict.vals.v[i];
            name = k->kind == PV_STR ? k->u.str.s
                 : k->kind == PV_INT ? arena_printf(&f->arena, "%lld", (long long)k->u.i) : NULL;
        } else {
            v = sd->u.seq.v[i];
            name = arena_printf(&f->arena, "%zu", i);
        }
        if (!name)
            continue;
        if (v->kind != PV_TENSOR)
            pt_warn(f, "state dict entry '%s' is a %s, not a tensor", name, pv_kind_name(v->kind));
        else if (pt_sd_add(f, name, v->u.tensor, err) < 0)
            return -1;
    }
    return 0;
}

/* One line per top-level entry of a checkpoint other than the state dict. */
static void summarise(rcc_file *f, const Pv *sd)
{
    const Pv *r = f->root;
    if (r == sd || r->kind != PV_DICT)
        return;
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
        pt_summary(f, "%s%s%s", ks, composite ? ": " : " = ", sm_describe(&f->arena, v, sd, f->ntensors));
    }
}

int sd_from_pickle(rcc_file *f, const char *key, Err *err)
{
    const Pv *sd;
    if (key) {
        if (!(sd = follow(f->root, key, err)))
            return -1;
        if (sd->kind != PV_TENSOR && !tensor_count(sd) && !(md_is_module(sd) && md_count(sd)))
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
    int r = md_is_module(sd) ? md_build(f, sd, strcmp(f->format, "torchscript") == 0 ? &f->zip : NULL, err)
                             : collect(f, sd, err);
    if (r < 0)
        return -1;
    summarise(f, sd);
    return 0;
}
