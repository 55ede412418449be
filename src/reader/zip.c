/* zip.c — the zip container, read from the central directory outward.
 *
 * torch.save writes a zip archive whose only authoritative metadata is the
 * central directory: its local headers carry zero sizes and CRC (flag bit 3,
 * "sizes follow in a data descriptor"), so a reader that walks local headers
 * cannot even find where a record ends.  We start from the end record,
 * follow the zip64 locator when there is one, walk the central directory,
 * and treat every other structure as a claim to be cross-checked against
 * it: each local header must sit where the directory says, carry the same
 * name and method, and leave room for its payload before the directory.
 *
 * The checks go further than torch's own (miniz) reader on purpose.  torch,
 * Python's zipfile (which the scanners use) and other tools disagree about
 * ambiguous archives: duplicate or case-colliding names, overlapping records,
 * local names that differ from the directory's, entry counts that disagree
 * with the directory size.  An archive that two readers could see
 * differently is refused, so that what rcc reads is what anyone would read.
 *
 * When the directory itself is lost (a truncated file, a wiped directory),
 * zip_open says so (ZIP_DAMAGED) and zip_scan can rebuild the entry list
 * from the local headers, proving each record's extent by its CRC-32: see
 * "damaged files" at the end.
 *
 * Every number in the file is untrusted.  All of them are held in uint64_t,
 * bounds are compared by subtraction from a known-good limit rather than by
 * adding two file values, and no byte outside [base, base+size) is touched.
 */
#define _GNU_SOURCE   /* memmem */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <zlib.h>

#include "internal.h"

#define SIG_LOCAL    0x04034b50u
#define SIG_CENTRAL  0x02014b50u
#define SIG_EOCD     0x06054b50u
#define SIG_Z64_EOCD 0x06064b50u
#define SIG_Z64_LOC  0x07064b50u

#define EOCD_LEN     22u
#define Z64_LOC_LEN  20u
#define Z64_EOCD_LEN 56u
#define CENTRAL_LEN  46u
#define LOCAL_LEN    30u

#define SAT16 0xFFFFu
#define SAT32 0xFFFFFFFFu

#define MAX_ENTRIES ((uint64_t)1 << 20)

/* Flag bits: 0x01 encrypted, 0x40 strong encryption, 0x2000 the central
 * directory itself is encrypted (its values are then masked). */
#define FLAG_ENCRYPTED  0x0041u
#define FLAG_CD_MASKED  0x2000u
#define FLAG_DESCRIPTOR 0x0008u

/* Names end up in one-line messages.  A valid name may still hold control
 * characters, and an invalid one arbitrary bytes, so escape them and cut
 * long names (without splitting a UTF-8 sequence). */
static const char *show(char *buf, size_t cap, const uint8_t *s, size_t n)
{
    int utf8 = utf8_valid(s, n);
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t c = s[i];
        /* Cut only between characters: the 8 bytes of slack leave room
         * for the rest of a sequence plus "...". */
        if (o + 8 >= cap && !(utf8 && (c & 0xC0) == 0x80)) {
            memcpy(buf + o, "...", 4);
            return buf;
        }
        if (c < 0x20 || c == 0x7F || (c >= 0x80 && !utf8))
            o += (size_t)snprintf(buf + o, cap - o, "\\x%02x", c);
        else
            buf[o++] = (char)c;
    }
    buf[o] = 0;
    return buf;
}

static const char *show_str(char *buf, size_t cap, const char *s)
{
    return show(buf, cap, (const uint8_t *)s, strlen(s));
}

/* ------------------------------------------------------------- end records */

typedef struct Dir {
    uint64_t n, cd_off, cd_size;
    uint64_t end;  /* where the directory must end: the first end record */
} Dir;

static int agree(uint64_t classic, uint64_t saturated, uint64_t z64)
{
    return classic == saturated || classic == z64;
}

static int read_end(const uint8_t *b, uint64_t size, Dir *d, Err *err)
{
    /* The end record is the last PK\5\6 in the final 22 + 65535 bytes (its
     * comment is at most 65535 bytes).  Taking the last one and requiring
     * that its comment reach exactly the end of the file leaves no second
     * candidate for another reader to prefer. */
    if (size < EOCD_LEN)
        return err_set(err, "not a zip archive: file too small (%llu bytes)", (unsigned long long)size);
    uint64_t lo = size > EOCD_LEN + 0xFFFF ? size - EOCD_LEN - 0xFFFF : 0;
    uint64_t e = size - EOCD_LEN;
    while (rd_u32(b + e) != SIG_EOCD) {
        if (e == lo)
            return err_set(err, "not a zip archive: end of central directory not found (file truncated?)");
        e--;
    }
    const uint8_t *r = b + e;
    uint64_t clen = rd_u16(r + 20);
    if (size - e - EOCD_LEN != clen)
        return err_set(err, "not a zip archive: end of central directory comment (%llu bytes) "
                       "does not reach the end of the file (%llu bytes follow)",
                       (unsigned long long)clen, (unsigned long long)(size - e - EOCD_LEN));
    uint64_t disk = rd_u16(r + 4), cd_disk = rd_u16(r + 6), n_disk = rd_u16(r + 8);
    d->n = rd_u16(r + 10);
    d->cd_size = rd_u32(r + 12);
    d->cd_off = rd_u32(r + 16);
    d->end = e;

    if (e < Z64_LOC_LEN || rd_u32(b + e - Z64_LOC_LEN) != SIG_Z64_LOC) {
        if (disk != 0 || cd_disk != 0 || n_disk != d->n)
            return err_set(err, "multi-disk zip archives are not supported");
        if (d->n == SAT16 || d->cd_size == SAT32 || d->cd_off == SAT32)
            return err_set(err, "end of central directory defers to zip64 but there is no zip64 locator");
        return 0;
    }

    /* zip64: the locator points back at the zip64 end record, which must
     * lie wholly before the locator. */
    uint64_t loc = e - Z64_LOC_LEN;
    const uint8_t *l = b + loc;
    uint64_t z64 = rd_u64(l + 8);
    if (rd_u32(l + 4) != 0 || rd_u32(l + 16) > 1)
        return err_set(err, "multi-disk zip archives are not supported");
    if (loc < Z64_EOCD_LEN || z64 > loc - Z64_EOCD_LEN)
        return err_set(err, "zip64 end of central directory offset %llu out of range",
                       (unsigned long long)z64);
    const uint8_t *z = b + z64;
    if (rd_u32(z) != SIG_Z64_EOCD)
        return err_set(err, "zip64 locator points at offset %llu, which holds no zip64 end of central directory",
                       (unsigned long long)z64);
    uint64_t rsize = rd_u64(z + 4);
    if (rsize < Z64_EOCD_LEN - 12 || rsize > loc - z64 - 12)
        return err_set(err, "zip64 end of central directory has a bad record size (%llu)",
                       (unsigned long long)rsize);
    uint64_t zdisk = rd_u32(z + 16), zcd_disk = rd_u32(z + 20), zn_disk = rd_u64(z + 24);
    uint64_t zn = rd_u64(z + 32), zsize = rd_u64(z + 40), zoff = rd_u64(z + 48);
    if (zdisk != 0 || zcd_disk != 0 || zn_disk != zn)
        return err_set(err, "multi-disk zip archives are not supported");
    if (!agree(disk, SAT16, 0) || !agree(cd_disk, SAT16, 0) || !agree(n_disk, SAT16, zn) ||
        !agree(d->n, SAT16, zn) || !agree(d->cd_size, SAT32, zsize) || !agree(d->cd_off, SAT32, zoff))
        return err_set(err, "zip64 end of central directory disagrees with the classic one");
    d->n = zn;
    d->cd_size = zsize;
    d->cd_off = zoff;
    d->end = z64;
    return 0;
}

/* ------------------------------------------------------- directory entries */

/* Replaces the saturated 32-bit fields (in the order the format fixes:
 * usize, csize, local header offset, disk) from the zip64 extra field. */
static int zip64_extra(const uint8_t *x, size_t xl, uint64_t *usize, uint64_t *csize,
                       uint64_t *lho, uint64_t *disk)
{
    if (*usize != SAT32 && *csize != SAT32 && *lho != SAT32 && *disk != SAT16)
        return 0;
    size_t q = 0;
    while (xl - q >= 4) {
        size_t id = rd_u16(x + q), hl = rd_u16(x + q + 2);
        if (hl > xl - q - 4)
            return -1;
        if (id == 1) {
            const uint8_t *v = x + q + 4;
            size_t k = 0;
            uint64_t *wide[3] = { usize, csize, lho };
            for (int f = 0; f < 3; f++) {
                if (*wide[f] != SAT32)
                    continue;
                if (hl - k < 8)
                    return -1;
                *wide[f] = rd_u64(v + k);
                k += 8;
            }
            if (*disk == SAT16) {
                if (hl - k < 4)
                    return -1;
                *disk = rd_u32(v + k);
            }
            return 0;
        }
        q += 4 + hl;
    }
    return -1;
}

/* A record an early torch.export.save writes at the root of its
 * zip (serialized_exported_program.json, serialized_state_dict.pt, ...). */
static int is_export_record(const uint8_t *s, size_t n)
{
    static const char *const names[] = {"serialized_exported_program.json", "serialized_state_dict.pt",
                                        "serialized_constants.pt", "serialized_example_inputs.pt"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        if (n == strlen(names[i]) && memcmp(s, names[i], n) == 0)
            return 1;
    return 0;
}

/* The name rules: no NUL (C strings), no backslash (a separator on
 * Windows), not absolute, no '..' segment. */
static const char *bad_name(const uint8_t *s, size_t n)
{
    if (n == 0)
        return "empty name";
    if (!utf8_valid(s, n))
        return "name is not valid utf-8";
    if (memchr(s, 0, n))
        return "name contains a nul byte";
    if (memchr(s, '\\', n))
        return "name contains a backslash";
    if (s[0] == '/')
        return "name is an absolute path";
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && s[j] != '/')
            j++;
        if (j - i == 2 && s[i] == '.' && s[i + 1] == '.')
            return "name contains a '..' segment";
        i = j + 1;
    }
    return NULL;
}

/* Parses the central directory entry at *pos (advancing it) and its local
 * header.  The first entry fixes the prefix. */
static int read_entry(Zip *z, uint64_t *pos, uint64_t cd_end, uint64_t cd_off, size_t i,
                      Arena *a, Err *err)
{
    const uint8_t *b = z->base;
    ZipEntry *e = &z->entries[i];
    char shown[128];
    if (cd_end - *pos < CENTRAL_LEN)
        return err_set(err, "central directory entry %zu: runs past the end of the central directory", i),
               ZIP_DAMAGED;
    const uint8_t *c = b + *pos;
    if (rd_u32(c) != SIG_CENTRAL)
        return err_set(err, "central directory entry %zu: bad signature (central directory corrupt or entry count wrong)", i),
               ZIP_DAMAGED;
    uint64_t flags = rd_u16(c + 8), method = rd_u16(c + 10);
    uint64_t csize = rd_u32(c + 20), usize = rd_u32(c + 24);
    size_t nl = rd_u16(c + 28), xl = rd_u16(c + 30), cl = rd_u16(c + 32);
    uint64_t disk = rd_u16(c + 34), lho = rd_u32(c + 42);
    if (CENTRAL_LEN + nl + xl + cl > cd_end - *pos)
        return err_set(err, "central directory entry %zu: runs past the end of the central directory", i),
               ZIP_DAMAGED;
    const uint8_t *name = c + CENTRAL_LEN;
    *pos += CENTRAL_LEN + nl + xl + cl;
    show(shown, sizeof shown, name, nl);

#define FAIL(...) err_set(err, "central directory entry %zu (%s): " __VA_ARGS__)
#define LOST(...) (err_set(err, "central directory entry %zu (%s): " __VA_ARGS__), ZIP_DAMAGED)
    if (zip64_extra(name + nl, xl, &usize, &csize, &lho, &disk) < 0)
        return LOST("zip64 extra field missing or malformed", i, shown);
    if (disk != 0)
        return LOST("record on another disk", i, shown);
    if (flags & FLAG_ENCRYPTED)
        return FAIL("encrypted record (flags 0x%04llx)", i, shown, (unsigned long long)flags);
    if (flags & FLAG_CD_MASKED)
        return FAIL("central directory encryption flag set", i, shown);
    if (method != 0 && method != 8)
        return FAIL("unsupported compression method %llu", i, shown, (unsigned long long)method);
    const char *why = bad_name(name, nl);
    if (why)
        return FAIL("%s", i, shown, why);

    /* torch takes the archive folder from the first entry and refuses
     * records outside it; a name without any folder is not torch's. */
    const uint8_t *slash = memchr(name, '/', nl);
    if (!slash && is_export_record(name, nl))
        return err_set(err, "a torch.export archive (an early torch.export.save), not a torch.save "
                       "one: rcc does not read exported programs; its weights are the record "
                       "serialized_state_dict.pt, a torch.save file (unzip it and read that)");
    if (!slash)
        return err_set(err, "central directory entry %zu (%s): records at the archive root: "
                       "not a torch.save archive", i, shown);
    if (i == 0) {
        z->prefix_len = (size_t)(slash - name) + 1;
        if (!(z->prefix = arena_strndup(a, (const char *)name, z->prefix_len)))
            return err_set(err, "out of memory");
    } else if (nl < z->prefix_len || memcmp(name, z->prefix, z->prefix_len) != 0) {
        char pshown[128];
        return FAIL("outside the archive folder '%s'", i, shown,
                    show_str(pshown, sizeof pshown, z->prefix));
    }

    /* The local header: where the directory says, before the directory. */
    if (lho > cd_off || cd_off - lho < LOCAL_LEN)
        return LOST("local header offset %llu out of range", i, shown, (unsigned long long)lho);
    const uint8_t *l = b + lho;
    if (rd_u32(l) != SIG_LOCAL)
        return LOST("no local header at offset %llu", i, shown, (unsigned long long)lho);
    uint64_t lflags = rd_u16(l + 6), lmethod = rd_u16(l + 8);
    uint64_t lnl = rd_u16(l + 26), lxl = rd_u16(l + 28);
    if (lnl + lxl > cd_off - lho - LOCAL_LEN)
        return LOST("local header runs into the central directory", i, shown);
    if (lnl != nl || memcmp(l + LOCAL_LEN, name, nl) != 0)
        return FAIL("local header name differs from central directory name", i, shown);
    if (lmethod != method)
        return FAIL("local header compression method differs from central directory", i, shown);
    if (lflags & FLAG_ENCRYPTED)
        return FAIL("local header marks the record encrypted", i, shown);
    /* Without a data descriptor the local header states sizes and CRC
     * itself; a streaming reader would believe them, so they must agree
     * (0xFFFFFFFF defers to a zip64 extra). */
    if (!(lflags & FLAG_DESCRIPTOR)) {
        uint64_t lcrc = rd_u32(l + 14), lcs = rd_u32(l + 18), lus = rd_u32(l + 22);
        if (lcrc != rd_u32(c + 16) || !agree(lcs, SAT32, csize) || !agree(lus, SAT32, usize))
            return FAIL("local header sizes or crc differ from central directory", i, shown);
    }
    uint64_t data = lho + LOCAL_LEN + lnl + lxl;
    if (csize > cd_off - data)
        return LOST("record (%llu bytes at offset %llu) runs past the start of the central directory",
                    i, shown, (unsigned long long)csize, (unsigned long long)data);
    if (method == 0 && csize != usize)
        return FAIL("stored record has compressed size %llu but uncompressed size %llu",
                    i, shown, (unsigned long long)csize, (unsigned long long)usize);
#undef FAIL
#undef LOST

    if (!(e->name = arena_strndup(a, (const char *)name, nl)))
        return err_set(err, "out of memory");
    e->lho = lho;
    e->data_off = data;
    e->csize = csize;
    e->usize = usize;
    e->crc = rd_u32(c + 16);
    e->method = (uint16_t)method;
    return 0;
}

/* ------------------------------------------------------- cross-entry checks */

/* miniz looks names up case-insensitively (ASCII only), so names must be
 * unique with ASCII letters folded.  Lookups are exact (zip_find) and go
 * through a hash table of the names past the archive folder: opening an
 * archive looks up every storage record. */
static int fold(unsigned char c) { return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c; }

static int fold_cmp(const char *x, const char *y)
{
    for (;; x++, y++) {
        int p = fold((unsigned char)*x), q = fold((unsigned char)*y);
        if (p != q || p == 0)
            return p - q;
    }
}

static int by_folded_name(const void *pa, const void *pb)
{
    const ZipEntry *a = *(const ZipEntry *const *)pa, *b = *(const ZipEntry *const *)pb;
    int r = fold_cmp(a->name, b->name);
    return r ? r : (a > b) - (a < b);
}

typedef struct Span {
    uint64_t lo, hi;  /* [local header, end of payload) */
    size_t   i;
} Span;

static int by_offset(const void *pa, const void *pb)
{
    const Span *a = pa, *b = pb;
    if (a->lo != b->lo)
        return a->lo < b->lo ? -1 : 1;
    return (a->i > b->i) - (a->i < b->i);
}

/* The message for names that repeat (ignoring case): the first pair in
 * folded order. */
static int report_duplicate(const Zip *z, const char *what, Arena *a, Err *err)
{
    const ZipEntry **ix = arena_array(a, z->n, sizeof *ix);
    if (!ix)
        return err_set(err, "out of memory");
    for (size_t i = 0; i < z->n; i++)
        ix[i] = &z->entries[i];
    qsort(ix, z->n, sizeof *ix, by_folded_name);
    for (size_t k = 1; k < z->n; k++) {
        if (fold_cmp(ix[k - 1]->name, ix[k]->name) == 0) {
            char s1[128], s2[128];
            return err_set(err, "%s %zu (%s) and %zu (%s): duplicate names%s", what,
                           (size_t)(ix[k - 1] - z->entries), show_str(s1, sizeof s1, ix[k - 1]->name),
                           (size_t)(ix[k] - z->entries), show_str(s2, sizeof s2, ix[k]->name),
                           strcmp(ix[k - 1]->name, ix[k]->name) ? " (ignoring case)" : "");
        }
    }
    return err_set(err, "%s: duplicate names", what);   /* not reached: the hash found two */
}

/* The hash of a name with ASCII letters folded to lower case. */
static uint64_t folded_hash(const char *s)
{
    uint64_t h = 0xcbf29ce484222325u;   /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (uint64_t)fold((unsigned char)*s)) * 0x100000001b3u;
    return h ^ (h >> 29);
}

/* what: "central directory entries", or "records" when zip_scan found them.
 * Names are unique ignoring ASCII case, and then zip_find's table of exact
 * names is built.  Uniqueness is checked by a hash of the folded names;
 * only when that finds two equal does a sort find the pair to name (the
 * first in folded order, whatever the number of duplicates). */
static int check_unique(Zip *z, const char *what, Arena *a, Err *err)
{
    size_t cap = 64;
    while (cap < 2 * z->n)
        cap *= 2;
    HashSlot *folded = calloc(cap, sizeof *folded), *exact = arena_array(a, cap, sizeof *exact);
    int dup = 0;
    if (!folded || !exact) {
        free(folded);
        return err_set(err, "out of memory");
    }
    for (size_t i = 0; i < z->n && !dup; i++) {   /* n <= MAX_ENTRIES: fits uint32_t */
        const char *name = z->entries[i].name;
        uint32_t h = (uint32_t)folded_hash(name);
        size_t j = h & (cap - 1);
        for (; folded[j].index && !dup; j = (j + 1) & (cap - 1))
            dup = folded[j].hash == h && fold_cmp(z->entries[folded[j].index - 1].name, name) == 0;
        folded[j] = (HashSlot){h, (uint32_t)i + 1};
        h = (uint32_t)util_hash(name + z->prefix_len, strlen(name + z->prefix_len));
        for (j = h & (cap - 1); exact[j].index; j = (j + 1) & (cap - 1))
            ;
        exact[j] = (HashSlot){h, (uint32_t)i + 1};
    }
    free(folded);
    if (dup)
        return report_duplicate(z, what, a, err);
    z->lookup = exact;
    z->lookup_cap = cap;
    return 0;
}

/* Records that share bytes (a zip bomb's trick, or a record hidden inside
 * another's payload) are refused. */
static int overlap(const Zip *z, size_t i, size_t j, Err *err)
{
    char s1[128], s2[128];
    return err_set(err, "central directory entries %zu (%s) and %zu (%s): records overlap", i,
                   show_str(s1, sizeof s1, z->entries[i].name), j, show_str(s2, sizeof s2, z->entries[j].name));
}

static int check_disjoint(const Zip *z, Err *err)
{
    const ZipEntry *e = z->entries;
    size_t k = 1;
    while (k < z->n && e[k - 1].lho < e[k].lho)   /* writers lay records out in directory order */
        k++;
    if (k >= z->n) {   /* in order: each record must end before the next begins; no table needed */
        for (k = 1; k < z->n; k++)
            if (e[k - 1].data_off + e[k - 1].csize > e[k].lho)   /* <= cd_off: no overflow */
                return overlap(z, k - 1, k, err);
        return 0;
    }
    Span *s = malloc(z->n * sizeof *s);   /* n <= MAX_ENTRIES: no overflow */
    if (!s)
        return err_set(err, "out of memory");
    for (size_t i = 0; i < z->n; i++) {
        s[i].lo = e[i].lho;
        s[i].hi = e[i].data_off + e[i].csize;
        s[i].i = i;
    }
    qsort(s, z->n, sizeof *s, by_offset);
    int r = 0;
    for (k = 1; k < z->n && !r; k++)
        if (s[k - 1].hi > s[k].lo)
            r = overlap(z, s[k - 1].i, s[k].i, err);
    free(s);
    return r;
}

int zip_open(Zip *z, const uint8_t *base, uint64_t size, Arena *a, Err *err)
{
    memset(z, 0, sizeof *z);
    z->base = base;
    z->size = size;
    /* Everything up to the last directory entry is the "directory lost"
     * class (ZIP_DAMAGED): a truncated file, a wiped or garbled directory.
     * What a well-formed directory says that we refuse (names, encryption,
     * disagreeing local headers, duplicates, overlaps) stays -1. */
    Dir d = { 0, 0, 0, 0 };
    if (read_end(base, size, &d, err) < 0)
        return ZIP_DAMAGED;
    if (d.cd_off > d.end || d.cd_size > d.end - d.cd_off)
        return err_set(err, "central directory (%llu bytes at offset %llu) lies outside the file",
                       (unsigned long long)d.cd_size, (unsigned long long)d.cd_off), ZIP_DAMAGED;
    if (d.n == 0)
        return err_set(err, "empty archive"), ZIP_DAMAGED;
    uint64_t min_cd;
    if (mul_u64(d.n, CENTRAL_LEN, &min_cd) || min_cd > d.cd_size)
        return err_set(err, "entry count (%llu) does not fit in the central directory (%llu bytes)",
                       (unsigned long long)d.n, (unsigned long long)d.cd_size), ZIP_DAMAGED;
    if (d.n > MAX_ENTRIES)
        return err_set(err, "too many entries (%llu, limit %llu)",
                       (unsigned long long)d.n, (unsigned long long)MAX_ENTRIES), ZIP_DAMAGED;

    z->n = (size_t)d.n;
    if (!(z->entries = arena_array(a, z->n, sizeof *z->entries)))
        return err_set(err, "out of memory");
    uint64_t pos = d.cd_off, cd_end = d.cd_off + d.cd_size;  /* <= d.end */
    for (size_t i = 0; i < z->n; i++) {
        int r = read_entry(z, &pos, cd_end, d.cd_off, i, a, err);
        if (r < 0)
            return r;
    }
    /* Python's zipfile walks the directory by size, not by count: bytes
     * left over would be entries that it sees and we do not. */
    if (pos != cd_end)
        return err_set(err, "central directory has %llu bytes after its last entry (entry count wrong?)",
                       (unsigned long long)(cd_end - pos)), ZIP_DAMAGED;
    if (check_unique(z, "central directory entries", a, err) < 0 || check_disjoint(z, err) < 0)
        return -1;
    return 0;
}

const ZipEntry *zip_find(const Zip *z, const char *rel)
{
    if (!z->lookup || !rel)
        return NULL;
    /* Every name starts with the archive folder (zip_open and zip_scan
     * refuse any other), so the table hashes what follows it. */
    uint32_t h = (uint32_t)util_hash(rel, strlen(rel));
    size_t mask = z->lookup_cap - 1;
    for (size_t j = h & mask; z->lookup[j].index; j = (j + 1) & mask) {
        const ZipEntry *e = &z->entries[z->lookup[j].index - 1];
        if (z->lookup[j].hash == h && strcmp(e->name + z->prefix_len, rel) == 0)
            return e;
    }
    return NULL;
}

/* ---------------------------------------------------------------- payloads */

/* zlib counts in uInt; feed it in pieces so records past 4 GiB work.  A
 * piece is small enough that the pages of one already read can be given
 * back (drop_pages) before the next is touched. */
#define PIECE ((uint64_t)1 << 22)
#define INFLATE_CHUNK ((size_t)1 << 16)

/* Gives back the whole pages of the mapping inside [p, p + n): they were
 * read and are not needed again now, and the kernel refetches them from
 * the file if they are.  Only for rcc's own read-only mapping (release):
 * otherwise a record's pages would all stay resident while it is read,
 * and reading a large record would cost as much memory as the record. */
static void drop_pages(int release, const uint8_t *p, uint64_t n)
{
    static uintptr_t page;
    if (!release || n == 0)
        return;
    if (!page) {
        long ps = sysconf(_SC_PAGESIZE);
        page = ps > 0 ? (uintptr_t)ps : 4096;
    }
    uintptr_t lo = ((uintptr_t)p + page - 1) & ~(page - 1), hi = ((uintptr_t)p + (uintptr_t)n) & ~(page - 1);
    if (hi > lo)
        madvise((void *)lo, hi - lo, MADV_DONTNEED);   /* advice: a failure only costs memory */
}

static uint32_t crc_of(const uint8_t *p, uint64_t n, int release)
{
    uLong crc = crc32(0L, Z_NULL, 0);
    while (n > 0) {
        uInt k = (uInt)(n < PIECE ? n : PIECE);
        crc = crc32(crc, p, k);
        drop_pages(release, p, k);
        p += k;
        n -= k;
    }
    return (uint32_t)crc;
}

/* How a raw deflate stream ended (inflate_run). */
typedef enum InfEnd {
    INF_END,        /* a complete stream */
    INF_TRUNCATED,  /* the input ran out inside the stream */
    INF_CORRUPT,    /* not a valid deflate stream (msg says why) */
    INF_OVER,       /* it inflates to more than the limit */
    INF_NOMEM,      /* zlib could not get memory */
} InfEnd;

typedef struct Inflated {
    uint64_t    consumed, produced;   /* input read, output made */
    uint32_t    crc;                  /* CRC-32 of the output */
    const char *msg;                  /* zlib's static message for INF_CORRUPT */
} Inflated;

/* The one inflater: every deflated record is read through it, into memory
 * or not.  Inflates the raw deflate stream in[0..len) and computes the
 * CRC-32 of its output as it goes by.  With dst, the output lands in
 * dst[0..limit); without, it passes through a fixed 64 KiB buffer and is
 * dropped, so that checking a record costs no memory for its size.
 * Either way it stops (INF_OVER) as soon as the stream makes more than
 * limit bytes: past dst's end inflate gets a one-byte scratch buffer,
 * which a longer stream fills.  release: see drop_pages (input side). */
static InfEnd inflate_run(const uint8_t *in, uint64_t len, uint8_t *dst, uint64_t limit, int release,
                          Inflated *r)
{
    uint8_t *buf = dst ? NULL : malloc(INFLATE_CHUNK), scratch[1];
    z_stream s;
    memset(&s, 0, sizeof s);
    memset(r, 0, sizeof *r);
    if ((!dst && !buf) || inflateInit2(&s, -15) != Z_OK) {
        free(buf);
        return INF_NOMEM;
    }
    uLong crc = crc32(0L, Z_NULL, 0);
    const uint8_t *fed = in;   /* the input before this was handed to zlib */
    uint64_t in_left = len, out_left = limit;
    InfEnd end;
    for (;;) {
        if (s.avail_in == 0 && in_left > 0) {
            drop_pages(release, fed, (uint64_t)(in - fed));
            fed = in;
            uInt k = (uInt)(in_left < PIECE ? in_left : PIECE);
            s.next_in = (Bytef *)(uintptr_t)in;   /* zlib never writes through next_in */
            s.avail_in = k;
            in += k;
            in_left -= k;
        }
        if (s.avail_out == 0) {
            if (!dst) {
                s.next_out = buf;
                s.avail_out = (uInt)INFLATE_CHUNK;
            } else if (out_left > 0) {
                uInt k = (uInt)(out_left < PIECE ? out_left : PIECE);
                s.next_out = dst;
                s.avail_out = k;
                dst += k;
                out_left -= k;
            } else {
                s.next_out = scratch;
                s.avail_out = 1;
            }
        }
        uint8_t *out = s.next_out;
        uInt room = s.avail_out, avail_in = s.avail_in;
        int rc = inflate(&s, Z_NO_FLUSH);
        uInt got = room - s.avail_out;
        crc = crc32(crc, out, got);
        r->produced += got;
        if (r->produced > limit) {
            end = INF_OVER;
            break;
        }
        if (rc == Z_STREAM_END) {
            end = INF_END;
            break;
        }
        if (rc == Z_BUF_ERROR && s.avail_in == 0 && in_left == 0) {
            end = INF_TRUNCATED;
            break;
        }
        if (rc == Z_BUF_ERROR && got == 0 && s.avail_in == avail_in && s.avail_in > 0 && s.avail_out > 0) {
            end = INF_CORRUPT;   /* no progress with room on both sides: cannot happen, never loop on it */
            r->msg = "inflate made no progress";
            break;
        }
        if (rc != Z_OK && rc != Z_BUF_ERROR) {
            end = rc == Z_MEM_ERROR ? INF_NOMEM : INF_CORRUPT;
            r->msg = s.msg ? s.msg : "zlib error";
            break;
        }
    }
    r->consumed = len - in_left - s.avail_in;
    r->crc = (uint32_t)crc;
    drop_pages(release, fed, (uint64_t)(in - fed));
    inflateEnd(&s);
    free(buf);
    return end;
}

/* Inflates a deflated record to exactly e->usize bytes: into dst, or
 * (dst NULL) only to check it.  *crc gets the output's CRC-32. */
static int inflate_exact(const Zip *z, const ZipEntry *e, uint8_t *dst, int release, uint32_t *crc,
                         const char *shown, Err *err)
{
    Inflated r;
    switch (inflate_run(z->base + e->data_off, e->csize, dst, e->usize, release, &r)) {
    case INF_NOMEM:
        return err_set(err, "record %s: out of memory for zlib", shown);
    case INF_OVER:
        return err_set(err, "deflated record %s expands past its declared size (%llu bytes)",
                       shown, (unsigned long long)e->usize);
    case INF_TRUNCATED:
        return err_set(err, "deflated record %s: stream truncated", shown);
    case INF_CORRUPT:
        return err_set(err, "deflated record %s: corrupt deflate stream (%s)", shown, r.msg);
    case INF_END:
        break;
    }
    if (r.produced < e->usize)
        return err_set(err, "deflated record %s ends before its declared size (%llu bytes)",
                       shown, (unsigned long long)e->usize);
    if (r.consumed < e->csize)
        return err_set(err, "deflated record %s has %llu bytes after the end of its stream",
                       shown, (unsigned long long)(e->csize - r.consumed));
    *crc = r.crc;
    return 0;
}

/* zip_extract, and with dst NULL zip_check's deflated half. */
static int extract(const Zip *z, const ZipEntry *e, uint8_t *dst, int release, Err *err)
{
    char shown[128];
    show_str(shown, sizeof shown, e->name);
    if (e->corrupt)
        return err_set(err, "record %s is damaged (CRC-32 mismatch)", shown);
    uint32_t crc = 0;
    if (e->method == 0) {
        if (dst && e->usize > 0)
            memcpy(dst, z->base + e->data_off, (size_t)e->usize);
        crc = e->crc ? crc_of(z->base + e->data_off, e->usize, release) : 0;
    } else if (inflate_exact(z, e, dst, release, &crc, shown, err) < 0) {
        return -1;
    }
    /* crc 0 is what newer torch writes when CRC computation is turned off. */
    if (e->crc != 0 && crc != e->crc)
        return err_set(err, "record %s: CRC-32 mismatch", shown);
    return 0;
}

int zip_extract(const Zip *z, const ZipEntry *e, uint8_t *dst, Err *err)
{
    return extract(z, e, dst, 0, err);
}

int zip_check(const Zip *z, const ZipEntry *e, int release, Err *err)
{
    if (e->method == 0 && e->corrupt) {   /* zip_data's message for a stored record */
        char shown[128];
        return err_set(err, "record %s: CRC-32 mismatch", show_str(shown, sizeof shown, e->name));
    }
    return extract(z, e, NULL, release, err);
}

const uint8_t *zip_data(const Zip *z, const ZipEntry *e, uint8_t **owned, Err *err)
{
    *owned = NULL;
    if (e->method == 0) {   /* borrowed from the mapping: no copy */
        const uint8_t *p = z->base + e->data_off;
        if (e->corrupt || (e->crc != 0 && crc_of(p, e->usize, 0) != e->crc)) {
            char shown[128];
            return err_set(err, "record %s: CRC-32 mismatch", show_str(shown, sizeof shown, e->name)), NULL;
        }
        return p;
    }
    if (e->usize > SIZE_MAX - 1 || !(*owned = malloc(e->usize ? (size_t)e->usize : 1))) {
        err_set(err, "out of memory for a %llu-byte record", (unsigned long long)e->usize);
        return NULL;
    }
    if (zip_extract(z, e, *owned, err) < 0) {
        free(*owned);
        *owned = NULL;
        return NULL;
    }
    return *owned;
}
/* ------------------------------------------------------------ damaged files */

/* zip_scan reads an archive whose central directory is gone from its local
 * headers, front to back.  A record's end is where its payload's proof
 * ends: the local sizes when the header states them (flag bit 3 clear),
 * else the first data descriptor that fits (its size field equals its
 * distance from the payload) and whose CRC-32 matches the payload (stored
 * records; the CRC is extended incrementally from one candidate to the
 * next), or where a deflate stream ends (deflated records).  Each record
 * costs one pass over its own bytes; a record whose end is not in the file
 * (truncated) ends the scan.
 *
 * A record whose bytes are there but wrong (a flipped bit) cannot prove
 * its end by CRC; it still ends at a descriptor that fits and is followed
 * by another zip structure (or the end of the file), and is kept with
 * `corrupt` set, so that the records after it are read too. */

#define SIG_DESCRIPTOR 0x08074b50u
#define DESC_LEN       16u
#define DESC64_LEN     24u

/* 1 if a record may end at off: the file ends there or a zip structure
 * (local header, directory entry, zip64 or classic end record) starts. */
static int plausible_next(const uint8_t *b, uint64_t size, uint64_t off)
{
    if (off == size)
        return 1;
    if (off > size || size - off < 4)
        return 0;
    uint32_t s = rd_u32(b + off);
    return s == SIG_LOCAL || s == SIG_CENTRAL || s == SIG_Z64_EOCD || s == SIG_EOCD;
}

/* Which descriptor forms fit at q for a payload of dist bytes: bit 0 the
 * 16-byte one, bit 1 the zip64 24-byte one.  For a stored record the
 * uncompressed size must equal dist too; for a deflated one it is taken
 * from the descriptor. */
static int desc_forms(const uint8_t *b, uint64_t size, uint64_t q, uint64_t dist, int stored)
{
    int m = 0;
    uint64_t room = size - q;
    if (room >= DESC_LEN && rd_u32(b + q) == SIG_DESCRIPTOR && rd_u32(b + q + 8) == dist &&
        (!stored || rd_u32(b + q + 12) == dist))
        m |= 1;
    if (room >= DESC64_LEN && rd_u32(b + q) == SIG_DESCRIPTOR && rd_u64(b + q + 8) == dist &&
        (!stored || rd_u64(b + q + 16) == dist))
        m |= 2;
    return m;
}

/* Of the forms that fit, the one followed by another structure; failing
 * that, the one torch would write (zip64 past 4 GiB). */
static unsigned desc_pick(const uint8_t *b, uint64_t size, uint64_t q, int forms, int zip64)
{
    int n16 = (forms & 1) && plausible_next(b, size, q + DESC_LEN);
    int n24 = (forms & 2) && plausible_next(b, size, q + DESC64_LEN);
    if (n16 != n24)
        return n16 ? DESC_LEN : DESC64_LEN;
    if (forms != 3)
        return forms == 1 ? DESC_LEN : DESC64_LEN;
    return zip64 ? DESC64_LEN : DESC_LEN;
}

typedef struct Found {
    uint64_t csize, usize, next;  /* next: just after the descriptor */
    uint32_t crc;                 /* as the descriptor states it */
    int      corrupt;
} Found;

/* The end of a flag-bit-3 record whose payload starts at data, by its data
 * descriptor.  stored: the first descriptor whose CRC matches ends it (a
 * descriptor with CRC 0, written when CRC computation is off, is believed
 * when another structure follows it).  Otherwise, and for deflated
 * records, whose CRC covers the inflated bytes, the first descriptor that
 * fits and is followed by another structure ends it as corrupt.  Returns
 * 1 found, 0 not in the file. */
static int find_descriptor(const uint8_t *b, uint64_t size, uint64_t lho, uint64_t data, int stored,
                           Found *out)
{
    uLong crc = crc32(0L, Z_NULL, 0);
    uint64_t crc_at = data, p = data;
    while (p < size && size - p >= DESC_LEN) {
        const uint8_t *hit = memmem(b + p, (size_t)(size - p), "PK\x07\x08", 4);
        if (!hit)
            return 0;
        uint64_t q = (uint64_t)(hit - b), dist = q - data;
        int forms = desc_forms(b, size, q, dist, stored);
        if (forms) {
            uint32_t dcrc = rd_u32(b + q + 4);
            int verified = 0;
            if (stored) {
                for (uint64_t n = q - crc_at; n > 0;) {   /* extend the CRC up to q */
                    uInt k = (uInt)(n < PIECE ? n : PIECE);
                    crc = crc32(crc, b + crc_at, k);
                    crc_at += k;
                    n -= k;
                }
                verified = dcrc == (uint32_t)crc;
            }
            unsigned len = desc_pick(b, size, q, forms, lho >= SAT32 || dist >= SAT32);
            if (verified || plausible_next(b, size, q + len)) {
                out->csize = dist;
                out->usize = len == DESC_LEN ? rd_u32(b + q + 12) : rd_u64(b + q + 16);
                out->crc = dcrc;
                out->next = q + len;
                out->corrupt = !verified && !(stored && dcrc == 0);
                return 1;
            }
        }
        p = q + 1;
    }
    return 0;
}

/* Inflates the raw deflate stream at in[0..len) without keeping its output:
 * its compressed and inflated sizes and CRC-32.  With exact, the stream
 * must end exactly at len.  Returns 1 (a complete stream), 0 (the input
 * ends first: truncated), -1 (not a valid stream, or one that inflates to
 * more than limit bytes), -2 (out of memory). */
static int inflate_measure(const uint8_t *in, uint64_t len, int exact, uint64_t limit, uint64_t *csize,
                           uint64_t *usize, uint32_t *crc_out)
{
    Inflated r;
    InfEnd end = inflate_run(in, len, NULL, limit, 0, &r);
    *csize = r.consumed;
    *usize = r.produced;
    *crc_out = r.crc;
    switch (end) {
    case INF_END: return exact && r.consumed != len ? -1 : 1;
    case INF_TRUNCATED: return 0;
    case INF_NOMEM: return -2;
    default: return -1;
    }
}

/* The end of a record at lho whose payload starts at data.  Returns 1
 * found (e filled in, *next after the record), 0 not found (the scan
 * stops), -1 out of memory. */
static int scan_record(const uint8_t *b, uint64_t size, uint64_t lho, uint64_t data, ZipEntry *e,
                       uint64_t *next, uint64_t *budget, Err *err)
{
    const uint8_t *l = b + lho;
    uint64_t flags = rd_u16(l + 6), method = rd_u16(l + 8);
    Found fd = { 0, 0, 0, 0, 0 };
    if (!(flags & FLAG_DESCRIPTOR)) {
        /* The header states the sizes (Python's zipfile): believe them,
         * then check the payload against its CRC. */
        uint64_t csize = rd_u32(l + 18), usize = rd_u32(l + 22), no_lho = 0, no_disk = 0;
        if (zip64_extra(l + LOCAL_LEN + rd_u16(l + 26), rd_u16(l + 28), &usize, &csize, &no_lho, &no_disk) < 0 ||
            csize > size - data || (method == 0 && csize != usize))
            return 0;
        uint32_t crc = rd_u32(l + 14);
        int ok;
        if (method == 0) {
            ok = crc == 0 || crc_of(b + data, csize, 0) == crc;
        } else {
            uint64_t cs, us;
            uint32_t got;
            int r = inflate_measure(b + data, csize, 1, usize, &cs, &us, &got);
            if (r == -2)
                return err_set(err, "out of memory");
            ok = r == 1 && us == usize && (crc == 0 || got == crc);
        }
        fd.csize = csize;
        fd.usize = usize;
        fd.crc = crc;
        fd.corrupt = !ok;
        fd.next = data + csize;
    } else if (method == 0) {
        if (!find_descriptor(b, size, lho, data, 1, &fd))
            return 0;
    } else {
        /* Deflated: the stream says where it ends; the descriptor after
         * it must agree.  A stream that does not inflate, or a descriptor
         * that disagrees, leaves only the descriptor search. */
        uint64_t cs, us;
        uint32_t got;
        int r = inflate_measure(b + data, size - data, 0, *budget, &cs, &us, &got);
        if (r == -2)
            return err_set(err, "out of memory");
        if (r == 0)
            return 0;   /* truncated inside the stream */
        *budget = us >= *budget ? 0 : *budget - us;
        uint64_t q = data + cs;
        int forms = r == 1 ? desc_forms(b, size, q, cs, 0) : 0;
        if (forms) {
            unsigned len = desc_pick(b, size, q, forms, lho >= SAT32 || cs >= SAT32);
            fd.csize = cs;
            fd.usize = len == DESC_LEN ? rd_u32(b + q + 12) : rd_u64(b + q + 16);
            fd.crc = rd_u32(b + q + 4);
            fd.next = q + len;
            fd.corrupt = fd.usize != us || (fd.crc != 0 && fd.crc != got);
        } else if (!find_descriptor(b, size, lho, data, 0, &fd)) {
            return 0;
        }
    }
    e->lho = lho;
    e->data_off = data;
    e->csize = fd.csize;
    e->usize = fd.usize;
    e->crc = fd.crc;
    e->method = (uint16_t)method;
    e->corrupt = (uint8_t)fd.corrupt;
    *next = fd.next;
    return 1;
}

int zip_scan(Zip *z, const uint8_t *base, uint64_t size, Arena *a, Err *err)
{
    memset(z, 0, sizeof *z);
    z->base = base;
    z->size = size;
    z->prefix = "";
    size_t cap = 0;
    uint64_t pos = 0;
    /* Deflated records with descriptors are inflated to find their end:
     * all of them together may inflate to 1 GiB plus 64 times the file
     * (real data compresses far less), so a deflate bomb cannot make the
     * scan run for hours; a record past the budget ends as corrupt. */
    uint64_t budget = size > (UINT64_MAX >> 7) ? UINT64_MAX : ((uint64_t)1 << 30) + 64 * size;
    char shown[128];
    while (size - pos >= LOCAL_LEN && rd_u32(base + pos) == SIG_LOCAL) {
        const uint8_t *l = base + pos;
        uint64_t flags = rd_u16(l + 6), method = rd_u16(l + 8);
        size_t nl = rd_u16(l + 26), xl = rd_u16(l + 28);
        if (nl + xl > size - pos - LOCAL_LEN)
            break;   /* the header itself is cut */
        const uint8_t *name = l + LOCAL_LEN;
        show(shown, sizeof shown, name, nl);

        /* The same refusals as for a directory entry: these are not damage. */
#define FAIL(...) err_set(err, "local header at offset %llu (%s): " __VA_ARGS__)
        const char *why = bad_name(name, nl);
        if (why)
            return FAIL("%s", (unsigned long long)pos, shown, why);
        if (flags & (FLAG_ENCRYPTED | FLAG_CD_MASKED))
            return FAIL("encrypted record (flags 0x%04llx)", (unsigned long long)pos, shown,
                        (unsigned long long)flags);
        if (method != 0 && method != 8)
            return FAIL("unsupported compression method %llu", (unsigned long long)pos, shown,
                        (unsigned long long)method);
        const uint8_t *slash = memchr(name, '/', nl);
        if (!slash)
            return FAIL("records at the archive root: not a torch.save archive", (unsigned long long)pos, shown);
        if (z->n == 0) {
            z->prefix_len = (size_t)(slash - name) + 1;
            if (!(z->prefix = arena_strndup(a, (const char *)name, z->prefix_len)))
                return err_set(err, "out of memory");
        } else if (nl < z->prefix_len || memcmp(name, z->prefix, z->prefix_len) != 0) {
            char pshown[128];
            return FAIL("outside the archive folder '%s'", (unsigned long long)pos, shown,
                        show_str(pshown, sizeof pshown, z->prefix));
        }
#undef FAIL
        if (z->n >= MAX_ENTRIES)
            return err_set(err, "too many entries (more than %llu)", (unsigned long long)MAX_ENTRIES);

        ZipEntry e;
        memset(&e, 0, sizeof e);
        uint64_t next = 0;
        int r = scan_record(base, size, pos, pos + LOCAL_LEN + nl + xl, &e, &next, &budget, err);
        if (r < 0)
            return -1;
        if (r == 0)
            break;   /* its end is not in the file: nothing after it is either */
        if (!(e.name = arena_strndup(a, (const char *)name, nl)) ||
            arena_grow(a, (void **)&z->entries, &cap, z->n + 1, sizeof *z->entries) < 0)
            return err_set(err, "out of memory");
        z->entries[z->n++] = e;
        pos = next;   /* > pos: past at least the header */
    }
    if (z->n == 0)
        return 0;
    /* Records found one after another cannot overlap, but names can repeat. */
    return check_unique(z, "records", a, err);
}

int zip_verify(const Zip *z, const ZipEntry *e)
{
    if (e->corrupt)
        return 0;
    if (e->method == 0)
        return e->crc == 0 || crc_of(z->base + e->data_off, e->usize, 0) == e->crc;
    uint64_t cs, us;
    uint32_t crc;
    int r = inflate_measure(z->base + e->data_off, e->csize, 1, e->usize, &cs, &us, &crc);
    if (r == -2)
        return -1;
    return r == 1 && us == e->usize && (e->crc == 0 || crc == e->crc);
}
