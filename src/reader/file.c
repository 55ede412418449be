/* file.c — an open weight file: mapping, format dispatch, the state dict.
 *
 * rcc_open maps the file and hands it to the reader of its format, chosen
 * by its first bytes.  A format reader fills the storage table and appends
 * the state dict's tensors with pt_sd_add; this file then indexes them by
 * name (refusing duplicates) and publishes the storages.  It also holds
 * what every format shares: warnings, summary lines, records that are
 * plain spans of the file, and the rcc.h accessors.
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

static void add_line(rcc_file *f, char ***lines, size_t *n, size_t *cap, const char *fmt, va_list ap)
{
    char buf[1024];
    vsnprintf(buf, sizeof buf, fmt, ap);
    char *s = arena_strndup(&f->arena, buf, strlen(buf));
    if (s && arena_grow(&f->arena, (void **)lines, cap, *n + 1, sizeof(char *)) == 0)
        (*lines)[(*n)++] = s;
}

void pt_warn(rcc_file *f, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    add_line(f, &f->warnings, &f->nwarnings, &f->warnings_cap, fmt, ap);
    va_end(ap);
}

void pt_summary(rcc_file *f, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    add_line(f, &f->summary, &f->nsummary, &f->summary_cap, fmt, ap);
    va_end(ap);
}

/* ------------------------------------------------------------- storages */

/* Names by hash: open addressing, at most half full; a slot holds the
 * name's hash and its index + 1, 8 bytes, so that a table of 20,000 names
 * stays in cache and a probe reads the name itself only when the hashes
 * agree.  Storages are looked up by key on every reference (legacy files
 * key them by object ids, "94823948234"; archives look each key up on
 * first sight), and tensors by name (rcc_find_tensor, duplicate keys): a
 * scan per lookup would make opening a file quadratic in its tensors. */
typedef const char *(*NameOf)(const rcc_file *f, size_t i);

static const char *storage_key(const rcc_file *f, size_t i) { return f->storages[i]->key; }
static const char *tensor_name(const rcc_file *f, size_t i) { return f->tensors[i].name; }

static void slot_put(HashSlot *slots, size_t cap, uint32_t h, size_t index)
{
    size_t j = h & (cap - 1);   /* cap <= 2^32: the stored bits are enough to place it */
    while (slots[j].index)
        j = (j + 1) & (cap - 1);
    slots[j] = (HashSlot){h, (uint32_t)index + 1};
}

/* The index of name in the table, or SIZE_MAX. */
static size_t slot_find(const rcc_file *f, const HashSlot *slots, size_t cap, NameOf name_of, const char *name)
{
    if (!slots)
        return SIZE_MAX;
    uint32_t h = (uint32_t)util_hash(name, strlen(name));
    for (size_t j = h & (cap - 1); slots[j].index; j = (j + 1) & (cap - 1))
        if (slots[j].hash == h && strcmp(name_of(f, slots[j].index - 1), name) == 0)
            return slots[j].index - 1;
    return SIZE_MAX;
}

PtStorage *pt_storage_find(const rcc_file *f, const char *key)
{
    size_t i = slot_find(f, f->storage_slots, f->storage_slots_cap, storage_key, key);
    return i != SIZE_MAX ? f->storages[i] : NULL;
}

/* Makes the table hold n storages at most half full. */
static int storage_room(rcc_file *f, size_t n)
{
    if (n > UINT32_MAX)
        return -1;
    if (n * 2 > f->storage_slots_cap) {
        size_t cap = f->storage_slots_cap ? f->storage_slots_cap * 2 : 64;
        while (cap < n * 2)
            cap *= 2;
        HashSlot *slots = arena_array(&f->arena, cap, sizeof *slots);   /* the old table stays in the arena */
        if (!slots)
            return -1;
        for (size_t i = 0; i < f->storage_slots_cap; i++)
            if (f->storage_slots[i].index)
                slot_put(slots, cap, f->storage_slots[i].hash, f->storage_slots[i].index - 1);
        f->storage_slots = slots;
        f->storage_slots_cap = cap;
    }
    return 0;
}

int pt_storage_expect(rcc_file *f, size_t n, Err *err)
{
    if (storage_room(f, n) < 0 ||
        arena_reserve(&f->arena, (void **)&f->storages, &f->storages_cap, n, sizeof *f->storages) < 0)
        return err_set(err, "out of memory");
    return 0;
}

/* Puts storage nstorages - 1 in the table, growing it first if needed. */
static int index_storage(rcc_file *f)
{
    size_t n = f->nstorages;
    if (storage_room(f, n) < 0)
        return -1;
    const char *key = f->storages[n - 1]->key;
    slot_put(f->storage_slots, f->storage_slots_cap, (uint32_t)util_hash(key, strlen(key)), n - 1);
    return 0;
}

PtStorage *pt_storage_new(rcc_file *f, const char *key, rcc_dtype dt, int untyped, uint64_t numel,
                          const ZipEntry *rec, Err *err)
{
    PtStorage *st = ARENA_NEW(&f->arena, PtStorage);
    if (!st || !(st->key = arena_strndup(&f->arena, key, strlen(key))) ||
        arena_grow(&f->arena, (void **)&f->storages, &f->storages_cap, f->nstorages + 1, sizeof *f->storages) < 0) {
        err_set(err, "out of memory");
        return NULL;
    }
    st->dtype = dt;
    st->untyped = untyped;
    st->numel = numel;
    st->rec = rec;
    if (tn_bytes(dt, numel, &st->nbytes) < 0) {
        err_set(err, "storage %s: size overflows", key);
        return NULL;
    }
    st->index = f->nstorages;
    f->storages[f->nstorages++] = st;
    if (index_storage(f) < 0) {
        err_set(err, "out of memory");
        return NULL;
    }
    return st;
}

const ZipEntry *pt_raw_record(rcc_file *f, const char *name, uint64_t off, uint64_t n, Err *err)
{
    if (off > f->size || n > f->size - off) {
        err_set(err, "%s: %llu bytes at offset %llu lie outside the file (%llu bytes)", name,
                (unsigned long long)n, (unsigned long long)off, (unsigned long long)f->size);
        return NULL;
    }
    ZipEntry *e = ARENA_NEW(&f->arena, ZipEntry);
    if (!e || !(e->name = arena_strndup(&f->arena, name, strlen(name)))) {
        err_set(err, "out of memory");
        return NULL;
    }
    e->lho = e->data_off = off;
    e->csize = e->usize = n;
    return e;
}

/* ----------------------------------------------------------- state dict */

int pt_sd_reserve(rcc_file *f, size_t more, Err *err)
{
    size_t need = f->ntensors + more;
    if (need < more || arena_reserve(&f->arena, (void **)&f->tensors, &f->tensors_cap, need, sizeof *f->tensors) < 0)
        return err_set(err, "out of memory");
    return 0;
}

int pt_sd_add(rcc_file *f, const char *name, const PtTensor *t, Err *err)
{
    if (arena_grow(&f->arena, (void **)&f->tensors, &f->tensors_cap, f->ntensors + 1, sizeof *f->tensors) < 0)
        return err_set(err, "out of memory");
    rcc_tensor *o = &f->tensors[f->ntensors++];
    o->name = name;
    o->dtype = t->dtype;
    o->ndim = t->ndim;
    o->shape = t->shape;
    o->strides = t->strides;
    o->storage_offset = t->offset;
    o->numel = t->numel;
    tn_bytes(t->dtype, t->numel, &o->nbytes);   /* checked by pt_tensor_make */
    o->storage = t->st->index;
    o->requires_grad = t->requires_grad;
    o->is_parameter = t->is_parameter;
    return 0;
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


/* The first name (in sorted order) that the state dict has twice: what
 * the message names when there are several.  Sorting costs n log n, paid
 * only when the hash has found a duplicate. */
static const char *first_duplicate(rcc_file *f)
{
    size_t *idx = arena_array(&f->arena, f->ntensors + 1, sizeof *idx);
    size_t *tmp = arena_array(&f->arena, f->ntensors + 1, sizeof *tmp);
    if (!idx || !tmp)
        return NULL;
    for (size_t i = 0; i < f->ntensors; i++)
        idx[i] = i;
    sort_names(f->tensors, idx, tmp, f->ntensors);
    for (size_t i = 1; i < f->ntensors; i++)
        if (strcmp(f->tensors[idx[i]].name, f->tensors[idx[i - 1]].name) == 0)
            return f->tensors[idx[i]].name;
    return NULL;
}

/* The name index for rcc_find_tensor and the public storage table.  A
 * duplicate name would make the state dict ambiguous, so it is refused. */
static int sd_finish(rcc_file *f, Err *err)
{
    size_t cap = 64;
    while (cap < 2 * f->ntensors)
        cap *= 2;
    if (f->ntensors > UINT32_MAX || !(f->name_slots = arena_array(&f->arena, cap, sizeof *f->name_slots)) ||
        !(f->pub_storages = arena_array(&f->arena, f->nstorages + 1, sizeof *f->pub_storages)))
        return err_set(err, "out of memory");
    f->name_slots_cap = cap;
    for (size_t i = 0; i < f->ntensors; i++) {   /* one hash per name: probe, then fill the free slot */
        const char *name = f->tensors[i].name;
        uint32_t h = (uint32_t)util_hash(name, strlen(name));
        size_t j = h & (cap - 1);
        for (; f->name_slots[j].index; j = (j + 1) & (cap - 1)) {
            if (f->name_slots[j].hash == h && strcmp(f->tensors[f->name_slots[j].index - 1].name, name) == 0) {
                const char *dup = first_duplicate(f);
                return dup ? err_set(err, "state dict has the key '%s' twice", dup) : err_set(err, "out of memory");
            }
        }
        f->name_slots[j] = (HashSlot){h, (uint32_t)i + 1};
    }
    for (size_t i = 0; i < f->nstorages; i++) {
        const PtStorage *st = f->storages[i];
        rcc_storage *o = &f->pub_storages[i];
        o->key = st->key;
        o->dtype = st->dtype;
        o->nbytes = st->nbytes;
        o->numel = st->untyped ? st->nbytes / rcc_dtype_size(st->dtype) : st->numel;
        o->file_offset = st->rec ? st->rec->data_off : 0;
        o->compressed = st->rec && st->rec->method != 0;
    }
    for (size_t i = 0; i < f->ntensors; i++) {
        f->pub_storages[f->tensors[i].storage].users++;
        f->tensors[i].intact = f->storages[f->tensors[i].storage]->rec != NULL;
    }
    return 0;
}

/* --------------------------------------------------------------- opening */

/* Recognises the format from the first bytes and reads the metadata. */
static int open_bytes(rcc_file *f, const rcc_open_options *opt, Err *err)
{
    if (f->size == 0)
        return err_set(err, "empty file");
    f->zip.base = f->base;   /* records of every format are read through zip_data */
    f->zip.size = f->size;
    /* First: a safetensors header length may begin with "PK" or 0x80. */
    if (st_sniff(f->base, f->size)) {
        if (opt && opt->key)
            return err_set(err, "--key: a safetensors file holds one flat state dict, with no entries to choose");
        return st_open(f, err);
    }
    if (f->size >= 2 && memcmp(f->base, "PK", 2) == 0)   /* zip.c judges odd archives */
        return tz_open(f, opt, err);
    if (lg_sniff(f->base, f->size))
        return lg_open(f, opt, err);
    if (f->base[0] == 0x80)
        return err_set(err, "a plain pickle, not a PyTorch weight file (no legacy magic number)");
    return err_set(err, "not a PyTorch weight file (no zip archive signature)");
}

/* A damaged file opens only with allow_damaged; otherwise the message
 * says how much of it salvage would recover. */
static int damaged_ok(const rcc_file *f, const rcc_open_options *opt, Err *err)
{
    if (!f->damaged || (opt && opt->allow_damaged))
        return 0;
    size_t intact = 0;
    for (size_t i = 0; i < f->ntensors; i++)
        intact += f->tensors[i].intact != 0;
    return err_set(err, "damaged archive: %zu of %zu tensors intact; %s", intact, f->ntensors,
                   intact ? "rcc salvage can recover them" : "nothing can be recovered");
}

static rcc_file *finish_open(rcc_file *f, const rcc_open_options *opt, Err *err, char *errbuf, size_t errlen)
{
    if (f && opt && opt->scan) {
        /* A pickle that stopped part way still says what it would have
         * made torch.load do up to there (audit.error says why it stopped). */
        f->audit.mode = AUDIT_SCAN;
        if ((open_bytes(f, opt, err) == 0 || f->audit.error) && sd_finish(f, err) == 0)
            return f;
    } else if (f) {
        f->audit.mode = opt && opt->allow_calls ? AUDIT_ALLOW : AUDIT_REFUSE;
        if (open_bytes(f, opt, err) == 0 && sd_finish(f, err) == 0 && damaged_ok(f, opt, err) == 0)
            return f;
    }
    err_copy(err, errbuf, errlen);
    rcc_close(f);
    return NULL;
}

rcc_file *rcc_open_memory(const void *data, size_t len, const rcc_open_options *opt, char *errbuf, size_t errlen)
{
    Err err = {0};
    rcc_file *f = calloc(1, sizeof *f);
    if (!f)
        err_set(&err, "out of memory");
    else {
        f->base = data;
        f->size = len;
    }
    return finish_open(f, opt, &err, errbuf, errlen);
}

rcc_file *rcc_open(const char *path, const rcc_open_options *opt, char *errbuf, size_t errlen)
{
    Err err = {0};
    rcc_file *f = calloc(1, sizeof *f);
    int fd = -1;
    struct stat sb;
    if (!f) {
        err_set(&err, "out of memory");
    } else if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0 || fstat(fd, &sb) < 0) {
        err_set(&err, "cannot open: %s", strerror(errno));
    } else if (!S_ISREG(sb.st_mode)) {
        err_set(&err, "not a regular file");
    } else if ((uint64_t)sb.st_size > SIZE_MAX) {
        err_set(&err, "file too large to map");
    } else if (sb.st_size > 0) {
        void *m = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (m == MAP_FAILED) {
            err_set(&err, "cannot map: %s", strerror(errno));
        } else {
            f->base = m;
            f->size = (uint64_t)sb.st_size;
            f->mapped = 1;
        }
    }
    if (fd >= 0)
        close(fd);
    if (err.set) {
        err_copy(&err, errbuf, errlen);
        rcc_close(f);
        return NULL;
    }
    return finish_open(f, opt, &err, errbuf, errlen);
}

void rcc_close(rcc_file *f)
{
    if (!f)
        return;
    if (f->mapped)
        munmap((void *)f->base, (size_t)f->size);
    arena_free(&f->arena);
    free(f);
}

/* ------------------------------------------------------------ accessors */

const char *rcc_format(const rcc_file *f) { return f->format; }
const char *rcc_byteorder(const rcc_file *f) { return f->big_endian ? "big" : "little"; }
int rcc_damaged(const rcc_file *f) { return f->damaged; }
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
    size_t i = name ? slot_find(f, f->name_slots, f->name_slots_cap, tensor_name, name) : SIZE_MAX;
    return i != SIZE_MAX ? &f->tensors[i] : NULL;
}

const ZipEntry *pt_storage_record(const rcc_file *f, const rcc_tensor *t, const Zip **z)
{
    *z = &f->zip;
    return t->storage < f->nstorages ? f->storages[t->storage]->rec : NULL;
}
