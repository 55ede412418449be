/* legacy.c — the format torch.save wrote before PyTorch 1.6.
 *
 * Five pickles one after another, then the raw storages:
 *   1. the magic number 0x1950a86a20f9469cfc6c (a 10-byte LONG1; at
 *      pickle_protocol 0 and 1, a text LONG)
 *   2. the protocol version, 1001
 *   3. sys_info: {'protocol_version', 'little_endian', 'type_sizes'}
 *   4. the object, whose persistent ids are 6-tuples
 *      ('storage', <T>Storage, key, location, numel, view_metadata)
 *   5. the list of storage keys, in the order their bytes follow
 * and then, for each key of that list: an int64 element count and that
 * many elements.  The object pickle comes first but only the key list says
 * where each storage's bytes are, so storages are made without records
 * while the object is read and given their records afterwards; every
 * storage must be listed once, every listed key must have been named, and
 * every count must equal the pickle's and fit in what remains.
 *
 * The count and the elements are little-endian whatever machine wrote the
 * file (sys_info's little_endian flag notwithstanding: see lg_open).
 *
 * (The even older tar variant, pre-0.4, is not read: it is reported.)
 */
#include <stdio.h>
#include <string.h>

#include "internal.h"

static const uint8_t magic[10] = {0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19};

/* Legacy files name storages by 6-tuples, and module classes by
 * ('module', <class>, source_file, source): the class's source text is
 * kept in the file for torch's diffing, never run here; the persistent id
 * stands for the (inert) class. */
static Pv *persistent_load(void *ctx, Pv *pid, Err *err)
{
    if (pid->kind == PV_TUPLE && pid->u.seq.n == 4 && pv_is_str(pid->u.seq.v[0], "module") &&
        pid->u.seq.v[1]->kind == PV_GLOBAL)
        return pid->u.seq.v[1];
    if (pid->kind == PV_STR)   /* protocol 0: the id as repr() text */
        return tz_text_pid(ctx, pid, 6, err);
    return tz_storage_pid(ctx, pid, 6, NULL, err);
}

static void warn_hook(void *ctx, const char *msg)
{
    pt_warn(ctx, "%s", msg);
}

/* The next pickle at *pos, which advances past it. */
static Pv *next_pickle(rcc_file *f, uint64_t *pos, const PkHooks *h, const char *what, Err *err)
{
    size_t used = 0;
    f->audit.record = what;
    Pv *v = pk_load(f->base + *pos, (size_t)(f->size - *pos), &f->arena, h, &used, err);
    if (!v) {
        char msg[sizeof err->msg];
        memcpy(msg, err->msg, sizeof msg);
        err->set = 0;
        err_set(err, "legacy file: %s: %s", what, msg);
        if (f->audit.error)   /* a scan keeps the pickle's fault: say which pickle */
            f->audit.error = arena_strndup(&f->arena, err->msg, strlen(err->msg));
        return NULL;
    }
    *pos += used;
    return v;
}

int lg_sniff(const uint8_t *b, uint64_t n)
{
    /* PROTO 2, LONG1 <magic>: the first pickle of every legacy file (a
     * wrong magic number is reported by lg_open, so only the shape counts). */
    if (n >= 4 && b[0] == 0x80 && b[2] == 0x8a)
        return 1;
    /* Protocols 0 and 1 write it as text, "L119547037146038801333356L\n."
     * (LONG, then STOP): a pickle of one decimal LONG. */
    uint64_t i = 1, digits = 0;
    if (n < 4 || b[0] != 'L')
        return 0;
    if (b[i] == '-')
        i++;
    for (; i < n && digits <= 40 && b[i] >= '0' && b[i] <= '9'; i++)
        digits++;
    if (i < n && b[i] == 'L')
        i++;
    return digits >= 1 && digits <= 40 && n - i >= 2 && b[i] == '\n' && b[i + 1] == '.';
}

int lg_open(rcc_file *f, const rcc_open_options *opt, Err *err)
{
    PkHooks plain = {.ctx = f, .warn = warn_hook, .audit = &f->audit};
    PkHooks objects = {.ctx = f, .persistent_load = persistent_load, .warn = warn_hook, .audit = &f->audit};
    uint64_t pos = 0;
    f->format = "legacy";

    Pv *m = next_pickle(f, &pos, &plain, "magic number", err);
    if (!m)
        return -1;
    if (m->kind != PV_BIGINT || m->u.str.len != sizeof magic || memcmp(m->u.str.s, magic, sizeof magic) != 0)
        return err_set(err, "legacy file: bad magic number");
    Pv *proto = next_pickle(f, &pos, &plain, "protocol version", err);
    if (!proto)
        return -1;
    if (proto->kind != PV_INT || proto->u.i != 1001)
        return err_set(err, "legacy file: protocol version is not 1001");
    Pv *info = next_pickle(f, &pos, &plain, "sys_info", err);
    if (!info)
        return -1;
    Pv *le = pv_dict_get(info, "little_endian");
    if (!le || le->kind != PV_BOOL)
        return err_set(err, "legacy file: sys_info has no little_endian flag");
    /* little_endian False: written on a big-endian machine.  Its storages
     * are little-endian all the same: torch's writer (writeFileRaw) encodes
     * the element count and every element of 2, 4 or 8 bytes little-endian
     * on such a machine, and its reader decodes them so; _legacy_load does
     * not look at sys_info at all, type_sizes included (element sizes come
     * from the storage types, not from C's short/int/long, which the file
     * records only as information: 'long' is 4 on Windows).  So the flag
     * changes nothing here, as in torch. */
    if (!(f->root = next_pickle(f, &pos, &objects, "object", err)))
        return -1;
    Pv *keys = next_pickle(f, &pos, &plain, "storage key list", err);
    if (!keys)
        return -1;
    if (f->audit.mode == AUDIT_SCAN)   /* every pickle torch.load runs has run */
        return 0;
    if (keys->kind != PV_LIST)
        return err_set(err, "legacy file: the storage key list is a %s", pv_kind_name(keys->kind));

    /* The storages' bytes, in key-list order. */
    for (size_t i = 0; i < keys->u.seq.n; i++) {
        Pv *k = keys->u.seq.v[i];
        if (k->kind != PV_STR)
            return err_set(err, "legacy file: storage key %zu is a %s", i, pv_kind_name(k->kind));
        PtStorage *st = pt_storage_find(f, k->u.str.s);
        if (!st)
            return err_set(err, "legacy file: storage key '%s' is not referenced by the pickle", k->u.str.s);
        if (st->rec)
            return err_set(err, "legacy file: storage key '%s' is listed twice", k->u.str.s);
        if (f->size - pos < 8)
            return err_set(err, "legacy file: truncated before storage '%s'", k->u.str.s);
        uint64_t count = rd_u64(f->base + pos);
        if (count != st->numel)
            return err_set(err, "legacy file: storage '%s' has %llu elements, the pickle says %llu", k->u.str.s,
                           (unsigned long long)count, (unsigned long long)st->numel);
        pos += 8;
        if (st->nbytes > f->size - pos)
            return err_set(err, "legacy file: storage '%s' needs %llu bytes, %llu remain (file truncated?)",
                           k->u.str.s, (unsigned long long)st->nbytes, (unsigned long long)(f->size - pos));
        char name[64] = "storage ";   /* keys are decimal, 20 digits at most (tz_storage_pid) */
        memcpy(name + 8, st->key, strlen(st->key) + 1);
        if (!(st->rec = pt_raw_record(f, name, pos, st->nbytes, err)))
            return -1;
        pos += st->nbytes;
    }
    for (size_t i = 0; i < f->nstorages; i++)
        if (!f->storages[i]->rec)
            return err_set(err, "legacy file: storage '%s' is missing from the key list", f->storages[i]->key);
    if (pos != f->size)
        pt_warn(f, "%llu bytes after the last storage are ignored", (unsigned long long)(f->size - pos));
    return sd_from_pickle(f, opt ? opt->key : NULL, err);
}
