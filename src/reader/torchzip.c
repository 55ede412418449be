/* torchzip.c — the archive torch.save writes (PyTorch >= 1.6).
 *
 * A zip archive under one folder: data.pkl (the pickled object), a version
 * record, and data/<key> records holding the raw bytes of each storage.
 * The pickle names storages by persistent ids; each is checked here, made
 * once per key, and every later reference must agree with the first.
 * Reading a tensor's bytes waits for rcc_read (tensor.c).
 *
 * A damaged archive (its central directory lost: truncated, wiped) is read
 * from its local headers (zip_scan) as long as data.pkl survives; then a
 * storage whose record is missing, fails its CRC-32 or is too short is
 * lost (rec == NULL) instead of failing the file.  With allow_damaged and
 * an intact directory, the state dict's records are CRC-checked at open,
 * so that "intact" is a promise either way.  Whether a damaged file may be
 * opened at all is decided after the state dict is known (file.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static int is_decimal_key(const Pv *k)
{
    if (k->kind != PV_STR || k->u.str.len == 0 || k->u.str.len > 20)
        return 0;
    for (size_t i = 0; i < k->u.str.len; i++)
        if (k->u.str.s[i] < '0' || k->u.str.s[i] > '9')
            return 0;
    return 1;
}

Pv *tz_storage_pid(rcc_file *f, Pv *pid, size_t nfields, const char *rec_prefix, Err *err)
{
    if (pid->kind != PV_TUPLE || pid->u.seq.n != nfields || !pv_is_str(pid->u.seq.v[0], "storage")) {
        err_set(err, "persistent id is not a ('storage', type, key, location, numel%s) tuple",
                nfields == 6 ? ", view" : "");
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
        if (g->name[0] == 'Q')
            err_set(err, "quantized tensors are not supported (storage type torch.%s)", g->name);
        else   /* every storage type's name ends in "Storage" */
            err_set(err, "%.*s tensors are not supported (storage type torch.%s)",
                    (int)(strlen(g->name) - strlen("Storage")), g->name, g->name);
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
    if (nfields == 6 && pid->u.seq.v[5]->kind != PV_NONE) {
        err_set(err, "storage %s: storage views (pre-0.4 files) are not supported", key->u.str.s);
        return NULL;
    }
    PtStorage *st = pt_storage_find(f, key->u.str.s);
    int untyped = strcmp(g->name, "UntypedStorage") == 0;
    if (st) {
        if ((st->untyped ? RCC_U8 : st->dtype) != (rcc_dtype)g->dtype || st->untyped != untyped ||
            st->numel != (uint64_t)numel->u.i) {
            err_set(err, "storage key %s is used with conflicting types or sizes", st->key);
            return NULL;
        }
    } else {
        const ZipEntry *rec = NULL;
        if (rec_prefix) {
            char rel[40];   /* a prefix and a key of at most 20 digits (is_decimal_key) */
            size_t pl = strlen(rec_prefix);
            memcpy(rel, rec_prefix, pl);
            memcpy(rel + pl, key->u.str.s, key->u.str.len + 1);
            rec = zip_find(&f->zip, rel);
            if (f->damaged && rec && rec->corrupt)
                rec = NULL;   /* a damaged archive: the storage is lost */
            if (!rec && !f->damaged) {
                err_set(err, "missing storage record %s%s", f->zip.prefix, rel);
                return NULL;
            }
        }
        if (!(st = pt_storage_new(f, key->u.str.s, (rcc_dtype)g->dtype, untyped, (uint64_t)numel->u.i, rec, err)))
            return NULL;
        if (rec && (rec->usize < st->nbytes || (rec->method != 0 && rec->usize != st->nbytes))) {
            if (f->damaged) {
                st->rec = NULL;
            } else {
                err_set(err, "storage record %s has %llu bytes, the pickle needs %llu", rec->name,
                        (unsigned long long)rec->usize, (unsigned long long)st->nbytes);
                return NULL;
            }
        }
    }
    Pv *v = pv_new(&f->arena, PV_STORAGE);
    if (v)
        v->u.storage = st;
    return v;
}

/* Reads a quoted field 'x' at *p: x's characters from the set ok. */
static int text_field(const char **p, const char *end, char q, const char *open, const char *ok,
                      const char **s, size_t *n)
{
    size_t lo = strlen(open);
    if ((size_t)(end - *p) < lo || memcmp(*p, open, lo) != 0)
        return -1;
    *p += lo;
    *s = *p;
    while (*p < end && **p && strchr(ok, **p))
        ++*p;
    *n = (size_t)(*p - *s);
    if (*n == 0 || *n > 64 || *p == end || **p != q)
        return -1;
    ++*p;
    return 0;
}

Pv *tz_text_pid(rcc_file *f, const Pv *text, size_t nfields, Err *err)
{
    static const char alnum[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    const char *p = text->u.str.s, *end = p + text->u.str.len, *cls, *key, *loc, *num;
    size_t ncls, nkey, nloc, nnum;
    char cname[65];
    int ok = text_field(&p, end, '\'', "('storage', <class 'torch.", alnum, &cls, &ncls) == 0 &&
             text_field(&p, end, '\'', ">, '", "0123456789", &key, &nkey) == 0 &&
             text_field(&p, end, '\'', ", '", "abcdefghijklmnopqrstuvwxyz0123456789:_-", &loc, &nloc) == 0 &&
             end - p >= 2 && memcmp(p, ", ", 2) == 0;
    if (ok) {
        p += 2;
        for (num = p; p < end && *p >= '0' && *p <= '9'; p++)
            ;
        nnum = (size_t)(p - num);
        const char *tail = nfields == 6 ? ", None)" : ")";
        ok = nnum >= 1 && nnum <= 18 && (nnum == 1 || num[0] != '0') && (size_t)(end - p) == strlen(tail) &&
             memcmp(p, tail, strlen(tail)) == 0;
    }
    const Global *g = NULL;
    if (ok) {
        memcpy(cname, cls, ncls);
        cname[ncls] = 0;
        g = gl_lookup("torch", cname);
        ok = g && g->kind == GL_STORAGE_TYPE;
    }
    if (!ok) {
        err_set(err, "persistent id is text but not ('storage', <class 'torch.<T>Storage'>, 'key', 'location', "
                "numel%s)", nfields == 6 ? ", None" : "");
        return NULL;
    }
    if (!f->text_pids) {
        f->text_pids = 1;
        pt_warn(f, "torch.save(pickle_protocol=0) wrote the storage ids as text, which torch.load cannot read; "
                "rcc reads them");
    }
    Arena *a = &f->arena;
    Pv *t = pv_new(a, PV_TUPLE), *type = pv_new(a, PV_GLOBAL), *numel = pv_new(a, PV_INT);
    if (!t || !type || !numel || !(type->u.glob.qualname = arena_printf(a, "torch.%s", cname))) {
        err_set(err, "out of memory");
        return NULL;
    }
    type->u.glob.known = g;
    numel->u.i = 0;
    for (size_t i = 0; i < nnum; i++)
        numel->u.i = numel->u.i * 10 + (num[i] - '0');   /* 18 digits: no overflow */
    Pv *fields[6] = {pv_str(a, "storage", 7), type, pv_str(a, key, nkey), pv_str(a, loc, nloc), numel,
                     pv_new(a, PV_NONE)};
    for (size_t i = 0; i < nfields; i++)
        if (!fields[i] || pv_push(a, &t->u.seq, fields[i]) < 0) {
            err_set(err, "out of memory");
            return NULL;
        }
    return tz_storage_pid(f, t, nfields, nfields == 5 ? "data/" : NULL, err);
}

/* Protocol 0 writes the persistent id with PERSID, as repr() text. */
static Pv *persistent_load(void *ctx, Pv *pid, Err *err)
{
    if (pid->kind == PV_STR)
        return tz_text_pid(ctx, pid, 5, err);
    return tz_storage_pid(ctx, pid, 5, "data/", err);
}

static void warn_hook(void *ctx, const char *msg)
{
    pt_warn(ctx, "%s", msg);
}

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

/* The byteorder record PyTorch >= 2.1 writes: exactly "little" or "big"
 * (no newline), as torch's _load compares it; anything else torch refuses
 * ("Unknown endianness type"), and so does rcc.  Missing: little, as torch
 * >= 2.1 assumes (1.13 wrote no record and only ran on little-endian
 * machines' files in practice).  "big" sets f->big_endian: rcc_read swaps
 * each tensor's elements by its own dtype (tn_swaps). */
static int byteorder_ok(rcc_file *f, Err *err)
{
    const ZipEntry *e = zip_find(&f->zip, "byteorder");
    if (!e)
        return 0;
    if (e->corrupt)   /* a damaged archive: the storages' order is unknown */
        return err_set(err, "byteorder record is damaged: the byte order of the tensor data is unknown");
    uint8_t buf[16];
    if (e->usize > sizeof buf)
        return err_set(err, "byteorder record is %llu bytes long; torch reads only 'little' or 'big'",
                       (unsigned long long)e->usize);
    if (zip_extract(&f->zip, e, buf, err) < 0)
        return -1;
    size_t n = (size_t)e->usize;
    if (n == 6 && memcmp(buf, "little", 6) == 0)
        return 0;
    if (n == 3 && memcmp(buf, "big", 3) == 0) {
        f->big_endian = 1;
        return 0;
    }
    char shown[4 * sizeof buf + 1], *o = shown;
    for (size_t i = 0; i < n; i++) {
        if (buf[i] >= 0x20 && buf[i] < 0x7f && buf[i] != '\\' && buf[i] != '\'')
            *o++ = (char)buf[i];
        else
            o += sprintf(o, "\\x%02x", buf[i]);
    }
    *o = 0;
    return err_set(err, "byteorder record is '%s'; torch reads only 'little' or 'big'", shown);
}

/* The archive's records: from its central directory, or, when that is
 * lost (ZIP_DAMAGED), from its local headers (f->damaged).  A damaged
 * archive's version record may be lost with the rest; if it is there, it
 * is checked. */
static int open_records(rcc_file *f, Err *err)
{
    Err zerr = {0};
    int r = zip_open(&f->zip, f->base, f->size, &f->arena, &zerr);
    if (r == ZIP_DAMAGED) {
        if (zip_scan(&f->zip, f->base, f->size, &f->arena, err) < 0)
            return -1;
        /* Not even one record, nor a local header to start from: not a
         * damaged archive but none at all; say why the directory failed. */
        if (f->zip.n == 0 && (f->size < 30 || rd_u32(f->base) != 0x04034b50u))
            return err_set(err, "%s", zerr.msg);
        f->damaged = 1;
        const ZipEntry *v = zip_find(&f->zip, "version");
        if (!v)
            v = zip_find(&f->zip, ".data/version");
        return v && !v->corrupt ? version_ok(&f->zip, err) : 0;
    }
    if (r < 0)
        return err_set(err, "%s", zerr.msg);
    return version_ok(&f->zip, err);
}

/* allow_damaged promises that a tensor marked intact reads back: with an
 * intact directory, the records of the state dict's storages are checked
 * against their CRC-32 now (records found by zip_scan already were), and
 * a record that fails loses its storage. */
static int verify_storages(rcc_file *f, Err *err)
{
    uint8_t *seen = calloc(f->nstorages + 1, 1);
    if (!seen)
        return err_set(err, "out of memory");
    for (size_t i = 0; i < f->ntensors; i++) {
        PtStorage *st = f->storages[f->tensors[i].storage];
        if (seen[st->index] || !st->rec)
            continue;
        seen[st->index] = 1;
        int r = zip_verify(&f->zip, st->rec);
        if (r < 0) {
            free(seen);
            return err_set(err, "out of memory");
        }
        if (r == 0) {
            st->rec = NULL;
            f->damaged = 1;
        }
    }
    free(seen);
    return 0;
}

/* torch.jit.load unpickles a TorchScript archive's constants.pkl too: a
 * scan runs it (its tensors' records are under constants/, which the
 * scan does not need). */
static int scan_constants(rcc_file *f, PkHooks *h, Err *err)
{
    const ZipEntry *c = zip_find(&f->zip, "constants.pkl");
    if (!c || f->audit.error)
        return f->audit.error ? -1 : 0;
    if (c->usize > ((uint64_t)1 << 31))
        return err_set(err, "constants.pkl is %llu bytes, more than 2 GiB", (unsigned long long)c->usize);
    uint8_t *owned = NULL;
    const uint8_t *bytes = zip_data(&f->zip, c, &owned, err);
    f->audit.record = "constants.pkl";
    Pv *v = bytes ? pk_load(bytes, (size_t)c->usize, &f->arena, h, NULL, err) : NULL;
    free(owned);
    return v ? 0 : -1;
}

int tz_open(rcc_file *f, const rcc_open_options *opt, Err *err)
{
    if (open_records(f, err) < 0)
        return -1;
    /* A scan asks what unpickling would do; the byte order is not its concern. */
    if (!(opt && opt->scan) && byteorder_ok(f, err) < 0)
        return -1;
    const ZipEntry *pkl = zip_find(&f->zip, "data.pkl");
    if (f->damaged && (!pkl || pkl->corrupt))
        return err_set(err, "data.pkl is lost: nothing can be recovered");
    if (!pkl && zip_find(&f->zip, "archive_format"))   /* its content says "pt2" */
        return err_set(err, "a PT2 archive (torch.export.save or an AOTInductor package), not a torch.save "
                       "one: rcc does not read exported programs");
    if (!pkl)
        return err_set(err, "archive has no %sdata.pkl record", f->zip.prefix);
    if (pkl->usize > ((uint64_t)1 << 31))
        return err_set(err, "data.pkl is %llu bytes, more than 2 GiB", (unsigned long long)pkl->usize);
    if (pt_storage_expect(f, f->zip.n, err) < 0)
        return -1;
    uint8_t *owned = NULL;   /* a stored pickle is read in place, a deflated one inflated */
    const uint8_t *bytes = zip_data(&f->zip, pkl, &owned, err);
    PkHooks h = {.ctx = f, .persistent_load = persistent_load, .warn = warn_hook, .audit = &f->audit};
    /* torch.jit.save archives carry constants.pkl (and code/); their
     * data.pkl is a tree of module objects. */
    f->format = zip_find(&f->zip, "constants.pkl") ? "torchscript" : "zip";
    f->audit.record = "data.pkl";
    if (bytes)
        f->root = pk_load(bytes, (size_t)pkl->usize, &f->arena, &h, NULL, err);
    free(owned);
    if (!f->root)
        return -1;
    if (f->audit.mode == AUDIT_SCAN)
        return scan_constants(f, &h, err);
    if (sd_from_pickle(f, opt ? opt->key : NULL, err) < 0)
        return -1;
    return opt && opt->allow_damaged && !f->damaged ? verify_storages(f, err) : 0;
}
