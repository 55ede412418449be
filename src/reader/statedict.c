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


/* The search is breadth first over the value graph and enters each
 * container once: values may share children (the same dict under 'model'
 * and 'ema') or form cycles, and a walk that re-entered a shared dict of n
 * entries from each of n references would be quadratic, or worse for a
 * hostile file.  Breadth first also reaches every container first by its
 * shortest path, and at that depth by the path that comes first in the
 * file's order: the one the search reports when two candidates tie. */
typedef struct Node {
    const Pv *v;
    size_t    parent;   /* queue index of the container it was found in (root: itself) */
    const Pv *key;      /* the dict key it was found under, or NULL */
    size_t    index;    /* its position in a list or tuple */
    int       seg;      /* 1 if it adds a segment to the path (not an object's state) */
    unsigned  depth;
    size_t    plen;     /* length of its dotted path */
} Node;

typedef struct Best {
    size_t   node;      /* queue index, or SIZE_MAX for none yet */
    size_t   score;
    unsigned depth;
} Best;

static size_t tensor_count(const Pv *v)
{
    size_t n = 0;
    if (v->kind == PV_DICT) {
        for (size_t i = 0; i < v->u.dict.n; i++)
            n += v->u.dict.vals[i]->kind == PV_TENSOR && v->u.dict.keys[i]->kind == PV_STR;
    } else if (v->kind == PV_LIST || v->kind == PV_TUPLE) {
        for (size_t i = 0; i < v->u.seq.n; i++)
            n += v->u.seq.v[i]->kind == PV_TENSOR;
    }
    return n;
}

/* What the search walks into. */
static int is_container(const Pv *v)
{
    return v->kind == PV_DICT || v->kind == PV_LIST || v->kind == PV_TUPLE || v->kind == PV_OBJECT;
}

static int is_non_model_key(const Pv *k)
{
    for (size_t i = 0; i < sizeof non_model_keys / sizeof *non_model_keys; i++)
        if (pv_is_str(k, non_model_keys[i]))
            return 1;
    return 0;
}

/* A node's own path segment: a str key, an int key or a list index. */
static size_t seg_text(const Node *n, char *buf, size_t cap)
{
    if (!n->seg)
        return 0;
    if (n->key && n->key->kind == PV_STR)
        return (size_t)snprintf(buf, cap, "%s", n->key->u.str.s) < cap ? strlen(buf) : cap - 1;
    if (n->key)
        return (size_t)snprintf(buf, cap, "%lld", (long long)n->key->u.i);
    return (size_t)snprintf(buf, cap, "%zu", n->index);
}

/* The dotted path of queue node k into path[cap]. */
static void node_path(const Node *q, size_t k, char *path, size_t cap)
{
    size_t chain[40], n = 0, at = 0;
    for (; q[k].parent != k && n < sizeof chain / sizeof *chain; k = q[k].parent)
        chain[n++] = k;
    path[0] = 0;
    while (n-- > 0) {
        char seg[512];
        size_t sl = seg_text(&q[chain[n]], seg, sizeof seg);
        if (!sl)
            continue;
        at += (size_t)snprintf(path + at, cap - at, "%s%s", at ? "." : "", seg);
        if (at >= cap)
            break;
    }
}

enum { PATH_CAP = 512 };   /* a state dict's dotted path, with its NUL */

static Node *realloc_nodes(Node *q, size_t *cap)
{
    Node *nq = *cap > SIZE_MAX / 2 / sizeof *nq ? NULL : realloc(q, *cap * 2 * sizeof *nq);
    if (!nq) {
        free(q);
        return NULL;
    }
    *cap *= 2;
    return nq;
}

/* Finds the container with the most tensors under root (a module counts
 * its state dict); ties go to the shallower, then the earlier.  Returns
 * its queue node (*q is the caller's to free), or SIZE_MAX.  *oom: 1 out
 * of memory, -1 the module trees under root are too large to weigh (their
 * walks share one budget, or a file of many modules naming one large
 * submodule could cost the budget once per module). */
static size_t search(const Pv *root, size_t cap, Node **qout, int *oom)
{
    PtrSet seen = {0};
    Node *q = malloc(64 * sizeof *q);
    size_t qn = 0, qcap = 64, budget = 1000000, work = MD_MAX_WORK;   /* nodes; module entries counted */
    Best b = {SIZE_MAX, 0, 0};
    *oom = !q || ptrset_add(&seen, root) < 0;
    if (!*oom)
        q[qn++] = (Node){.v = root, .parent = 0};
    for (size_t k = 0; k < qn && budget > 0 && !*oom; k++, budget--) {
        const Pv *v = q[k].v;
        int module = md_is_module(v);
        size_t n = module ? md_count_within(v, &work) : tensor_count(v);
        if (module && work == 0) {
            *oom = -1;   /* the modules under root are too many to weigh */
            break;
        }
        if (n > b.score || (n == b.score && n && q[k].depth < b.depth))
            b = (Best){k, n, q[k].depth};
        if (module || q[k].depth >= 32)   /* a whole model: its state dict is all it offers */
            continue;
        size_t count = v->kind == PV_DICT ? v->u.dict.n
                     : (v->kind == PV_LIST || v->kind == PV_TUPLE) ? v->u.seq.n
                     : v->kind == PV_OBJECT && v->u.obj.state ? 1 : 0;
        for (size_t i = 0; i < count; i++) {
            Node c = {.parent = k, .seg = 1, .depth = q[k].depth + 1, .index = i};
            if (v->kind == PV_DICT) {
                c.key = v->u.dict.keys[i];
                c.v = v->u.dict.vals[i];
                int skip = !is_container(c.v) || (c.key->kind != PV_STR && c.key->kind != PV_INT);
                if (skip || is_non_model_key(c.key))   /* (the cheap tests first: most values are tensors) */
                    continue;
            } else if (v->kind == PV_OBJECT) {
                c.v = v->u.obj.state;
                c.seg = 0;
            } else {
                c.v = v->u.seq.v[i];
            }
            if (!is_container(c.v))
                continue;
            char seg[24];
            size_t sl = c.key && c.key->kind == PV_STR ? c.key->u.str.len : seg_text(&c, seg, sizeof seg);
            if (sl && q[k].plen + sl + 2 >= cap)
                continue;   /* a path too long to report is not a place to look */
            c.plen = q[k].plen + (sl ? sl + (q[k].plen > 0) : 0);
            int r = ptrset_add(&seen, c.v);
            if (r < 0 || (r && qn == qcap && !(q = realloc_nodes(q, &qcap)))) {
                *oom = 1;
                break;
            }
            if (r)
                q[qn++] = c;
        }
    }
    ptrset_free(&seen);
    *qout = q;
    return b.node;
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
            for (size_t i = 0; !next && decimal && i < v->u.dict.n; i++)   /* optimizer state: int keys */
                if (v->u.dict.keys[i]->kind == PV_INT && v->u.dict.keys[i]->u.i == (int64_t)strtoll(seg, NULL, 10))
                    next = v->u.dict.vals[i];
        } else if ((v->kind == PV_LIST || v->kind == PV_TUPLE) && decimal) {
            unsigned long long i = strtoull(seg, NULL, 10);
            next = i < v->u.seq.n ? v->u.seq.v[i] : NULL;
        } else if (v->kind == PV_OBJECT && v->u.obj.state) {
            next = pv_dict_get(v->u.obj.state, seg);
        }
        if (!next) {
            char have[200] = "";
            size_t hl = 0;
            for (size_t i = 0; v->kind == PV_DICT && i < v->u.dict.n && hl < sizeof have - 1; i++) {
                const Pv *k = v->u.dict.keys[i];
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
    size_t n = sd->kind == PV_DICT ? sd->u.dict.n : sd->kind == PV_TENSOR ? 1 : sd->u.seq.n;
    if (pt_sd_reserve(f, n, err) < 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        const Pv *v;
        const char *name;
        if (sd->kind == PV_TENSOR) {
            v = sd;
            name = "";
        } else if (sd->kind == PV_DICT) {
            const Pv *k = sd->u.dict.keys[i];
            v = sd->u.dict.vals[i];
            name = k->kind == PV_STR ? k->u.str.s
                 : k->kind == PV_INT ? arena_printf(&f->arena, "%lld", (long long)k->u.i) : NULL;
        } else {
            v = sd->u.seq.v[i];
            name = arena_printf(&f->arena, "%zu", i);
        }
        if (!name)
            continue;
        const char *what = v->kind == PV_OBJECT ? sm_describe(&f->arena, v, NULL, 0) : NULL;
        if (what)   /* an instance, or what a call read past with allow_calls gave */
            pt_warn(f, "state dict entry '%s' is %s, not a tensor", name, what);
        else if (v->kind != PV_TENSOR)
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
    for (size_t i = 0; i < r->u.dict.n; i++) {
        const Pv *k = r->u.dict.keys[i], *v = r->u.dict.vals[i];
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
        Node *q = NULL;
        int oom = 0;
        size_t best = search(f->root, PATH_CAP, &q, &oom);
        char *path = oom || best == SIZE_MAX ? NULL : arena_alloc(&f->arena, PATH_CAP);
        if (path) {
            sd = q[best].v;
            node_path(q, best, path, PATH_CAP);
        }
        free(q);
        if (oom < 0)
            return err_set(err, "the pickle's modules hold more than %d entries in all: too many to search "
                           "for the state dict (--key names one)", MD_MAX_WORK);
        if (best == SIZE_MAX && !oom)
            return err_set(err, "no tensors found: the pickle holds a %s without any state dict",
                           pv_kind_name(f->root->kind));
        if (!path)
            return err_set(err, "out of memory");
        f->sd_path = path;
    }
    int r = md_is_module(sd) ? md_build(f, sd, strcmp(f->format, "torchscript") == 0 ? &f->zip : NULL, err)
                             : collect(f, sd, err);
    if (r < 0)
        return -1;
    summarise(f, sd);
    return 0;
}
