/* internal.h — the shared header of librcc's reader, one section per file.
 *
 * Nothing here is public: the library exports only what rcc.h declares
 * (everything else is built with hidden visibility).  Ownership is stated
 * where a pointer is declared: "arena" (lives as long as the Arena it came
 * from), "mapping" (borrowed from the mmap'ed file), "caller frees".
 *
 * The reading pipeline, bottom up:
 *   zip.c       the zip container: central directory, local headers, zip64,
 *               stored and deflated records, every offset checked
 *   pickle.c    a pickle VM that builds inert values and executes nothing
 *   globals.c   the table of globals the VM knows and what calling each means
 *               (tensor rebuild functions, OrderedDict, bytes, numpy scalars)
 *   torchfile.c format detection, storages, the state dict inside a checkpoint
 *   tensor.c    reading a tensor's data (views, dtype conversion)
 *   summary.c   one-line descriptions of the non-tensor content
 * and, the other way, writer.c writes a state dict as torch.save does.
 */
#ifndef RCC_INTERNAL_H
#define RCC_INTERNAL_H

#include <stdarg.h>
#include <stdio.h>
#include <stddef.h>
#include <stdint.h>

#include "rcc.h"

/* ---------------------------------------------------------------- util.c */

/* An error as a value: the first message set wins, later ones are ignored,
 * so the innermost (most precise) failure is the one reported. */
typedef struct Err {
    int  set;
    char msg[512];
} Err;

#if defined(__GNUC__)
#define RCC_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define RCC_PRINTF(a, b)
#endif

/* Records the message (if none is recorded yet) and returns -1. */
int err_set(Err *e, const char *fmt, ...) RCC_PRINTF(2, 3);
/* Copies e's message to a caller buffer (truncating safely). */
void err_copy(const Err *e, char *buf, size_t len);

/* 1 if s[0..n) is well-formed UTF-8.  Like CPython's 'surrogatepass',
 * encoded surrogates (ED A0..BF xx) are accepted; overlong forms and code
 * points past U+10FFFF are not. */
int utf8_valid(const uint8_t *s, size_t n);

/* "[64, 3, 7, 7]" into buf (cut short when cap is too small); buf. */
const char *util_dims(char *buf, size_t cap, const int64_t *v, size_t n);

/* A whole (small) file read into memory: caller frees; NULL when it
 * cannot be read or is larger than 64 MiB. */
char *util_read_file(const char *path, size_t *len);

/* Writes str as a JSON string literal: the escapes JSON requires, valid
 * UTF-8 as is, any other byte as U+FFFD. */
void util_json_string(FILE *out, const char *str);

/* Edit distance between two names (Levenshtein, a swap of neighbours
 * counting one), for did-you-mean hints; SIZE_MAX past 120 bytes. */
size_t str_distance(const char *a, const char *b);

/* A hash of n bytes (FNV-1a) for the reader's tables; keys from a file are
 * hashed, never trusted to be spread out, so the tables stay half empty. */
uint64_t util_hash(const void *p, size_t n);

/* A set of pointers (open addressing, malloc'ed; {0} is empty): the
 * containers a walk over a value graph has seen, so that shared children
 * are visited once. */
typedef struct PtrSlot {
    const void *key;   /* NULL: free */
    void       *val;
} PtrSlot;

typedef struct PtrSet {
    PtrSlot *slots;
    size_t   cap, n;
} PtrSet;
/* 1 added, 0 already there, -1 out of memory. */
int  ptrset_add(PtrSet *s, const void *p);
/* The same set as a map: p -> val (0, or -1 out of memory), and the value
 * put for p (NULL when it has none). */
int   ptrset_put(PtrSet *s, const void *p, void *val);
void *ptrset_get(const PtrSet *s, const void *p);
void ptrset_free(PtrSet *s);

/* Checked arithmetic: each returns 1 on overflow (and leaves *r unspecified). */
static inline int mul_u64(uint64_t a, uint64_t b, uint64_t *r) { return __builtin_mul_overflow(a, b, r); }
static inline int add_u64(uint64_t a, uint64_t b, uint64_t *r) { return __builtin_add_overflow(a, b, r); }

static inline uint16_t rd_u16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static inline uint32_t rd_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline uint64_t rd_u64(const uint8_t *p) { return rd_u32(p) | (uint64_t)rd_u32(p + 4) << 32; }

/* --------------------------------------------------------------- arena.c */

/* A bump allocator: one per open file.  Allocations are zeroed and 8-byte
 * aligned; they are freed all at once by arena_free.  Returns NULL when out
 * of memory or when n overflows. */
typedef struct ArenaChunk ArenaChunk;
typedef struct Arena {
    ArenaChunk *head;
    size_t      total;   /* bytes in its chunks */
} Arena;

void *arena_alloc(Arena *a, size_t n);
void *arena_array(Arena *a, size_t count, size_t size);
/* Grows an arena array from *cap to at least need elements (doubling); the
 * old block is abandoned to the arena.  0 on success, -1 on overflow/OOM. */
int   arena_grow(Arena *a, void **arr, size_t *cap, size_t need, size_t size);
/* The same, to exactly need elements: for a count known in advance, where
 * doubling would leave up to half the block unused. */
int   arena_reserve(Arena *a, void **arr, size_t *cap, size_t need, size_t size);
char *arena_strndup(Arena *a, const char *s, size_t n);
char *arena_printf(Arena *a, const char *fmt, ...) RCC_PRINTF(2, 3);
void  arena_free(Arena *a);

#define ARENA_NEW(a, T) ((T *)arena_alloc((a), sizeof(T)))

/* ----------------------------------------------------------------- zip.c */

typedef struct ZipEntry {
    const char *name;      /* arena, NUL-terminated, validated UTF-8 */
    uint64_t    lho;       /* offset of the local header */
    uint64_t    data_off;  /* offset of the payload (after the local header) */
    uint64_t    csize;     /* payload size in the file */
    uint64_t    usize;     /* size once extracted */
    uint32_t    crc;       /* CRC-32 from the central directory; 0 = unknown */
    uint16_t    method;    /* 0 stored, 8 deflated */
    uint8_t     corrupt;   /* zip_scan: the payload is there but fails its
                              CRC-32 (or does not inflate): its bytes are lost */
} ZipEntry;

/* A slot of the reader's name tables (zip names, storage keys, tensor
 * names): open addressing over an array of records; index 0: free. */
typedef struct HashSlot {
    uint32_t hash;    /* the low bits of the name's hash */
    uint32_t index;   /* the record's index + 1 */
} HashSlot;

typedef struct Zip {
    const uint8_t *base;    /* mapping */
    uint64_t       size;
    ZipEntry      *entries; /* arena, in central-directory order */
    size_t         n;
    const char    *prefix;  /* arena: the archive folder with its '/', e.g. "archive/" */
    size_t         prefix_len;
    const HashSlot *lookup; /* arena: zip_find's hash table */
    size_t         lookup_cap;
} Zip;

/* Parses and cross-checks the central directory and every local header.
 * Rejects (with a message) anything a careful reader would: see zip.c.
 * Returns 0, -1, or ZIP_DAMAGED when the failure is a lost or unreadable
 * end record or central directory (truncation, garbage), the case
 * zip_scan is for; refusals of what a directory says (names, encryption,
 * duplicates, disagreeing headers) are -1. */
enum { ZIP_DAMAGED = -2 };
int zip_open(Zip *z, const uint8_t *base, uint64_t size, Arena *a, Err *err);
/* Rebuilds the entry list of a damaged archive from its local headers,
 * front to back, stopping at the first record whose end is not in the
 * file.  Every entry's extent is proven by its CRC-32 (data descriptor or
 * local sizes); an entry whose bytes fail it has corrupt set.  e->crc is
 * kept, so reads verify again.  z->n may be 0.  -1 on a refusal (the name
 * and encryption rules of zip_open, duplicate names) or out of memory. */
int zip_scan(Zip *z, const uint8_t *base, uint64_t size, Arena *a, Err *err);
/* Checks an entry's payload against its CRC-32 (inflating a deflated one,
 * without keeping the output): 1 intact (or a CRC of 0: unknown), 0 not,
 * -1 out of memory. */
int zip_verify(const Zip *z, const ZipEntry *e);
/* The entry named prefix + rel (exact, case-sensitive), or NULL. */
const ZipEntry *zip_find(const Zip *z, const char *rel);
/* Writes the entry's usize bytes to dst (copy or inflate), checking the
 * inflated size exactly and the CRC-32 when it is non-zero. */
int zip_extract(const Zip *z, const ZipEntry *e, uint8_t *dst, Err *err);
/* Checks the entry's payload as zip_extract would (inflated size exact,
 * CRC-32 when non-zero; the same messages as zip_data), streaming: memory
 * stays fixed whatever the record's size.  release: base is rcc's own
 * read-only mmap, whose pages may be given back once read. */
int zip_check(const Zip *z, const ZipEntry *e, int release, Err *err);
/* The entry's bytes: borrowed from the mapping for a stored record, or
 * inflated into *owned (caller frees); CRC-32 checked as zip_extract does. */
const uint8_t *zip_data(const Zip *z, const ZipEntry *e, uint8_t **owned, Err *err);

/* -------------------------------------------------------------- pickle.c */

typedef enum PvKind {
    PV_NONE, PV_BOOL, PV_INT, PV_BIGINT, PV_FLOAT, PV_STR, PV_BYTES,
    PV_TUPLE, PV_LIST, PV_DICT, PV_SET,
    PV_GLOBAL,   /* a class or function named by GLOBAL, not yet called */
    PV_OBJECT,   /* an inert instance: the result of calling an unknown global */
    PV_STORAGE,  /* a persistent id resolved to a storage record */
    PV_TENSOR,   /* a rebuilt tensor */
    PV_DTYPE,    /* torch.float32 or a numpy dtype: an element type */
} PvKind;

typedef struct Pv Pv;
typedef struct PtStorage PtStorage;
typedef struct PtTensor PtTensor;
typedef struct Global Global;

typedef struct PvVec {
    Pv     **v;        /* arena */
    uint32_t n, cap;
} PvVec;

/* A pickle value: 32 bytes (a file of 20,000 tensors makes some 180,000 of
 * them, and the kernel's handing out of their pages was a quarter of the
 * time to open it).  A str or bytes value carries its characters, and a
 * tuple or list made whole its items, in the same block, right behind it. */
struct Pv {
    PvKind   kind;
    unsigned depth : 30;                /* container nesting, bounded by the VM */
    unsigned ordered : 1;               /* PV_DICT: an OrderedDict */
    unsigned indexed : 1;               /* PV_DICT: its keys are in the VM's key index (pickle.c) */
    union {
        int      b;                     /* PV_BOOL */
        int64_t  i;                     /* PV_INT */
        double   f;                     /* PV_FLOAT */
        struct {                        /* PV_STR (UTF-8), PV_BYTES, PV_BIGINT */
            const char *s;              /* arena, NUL-terminated; BIGINT: two's */
            size_t      len;            /*   complement little-endian bytes */
        } str;
        PvVec seq;                      /* PV_TUPLE, PV_LIST, PV_SET */
        struct {                        /* PV_DICT: insertion order */
            Pv     **keys, **vals;      /* arena, n entries each */
            uint32_t n, cap;
        } dict;
        struct {                        /* PV_GLOBAL */
            const Global *known;        /* static table entry; NULL if unknown */
            const char   *qualname;     /* arena: "module.name" */
        } glob;
        struct {                        /* PV_OBJECT */
            const char *qualname;       /* arena: the class or function */
            Pv         *args;           /* the REDUCE/NEWOBJ argument tuple */
            Pv         *state;          /* BUILD state, or NULL */
        } obj;
        PtStorage *storage;             /* PV_STORAGE */
        PtTensor  *tensor;              /* PV_TENSOR */
        struct {                        /* PV_DTYPE */
            int         known;          /* 0: a dtype rcc does not read */
            rcc_dtype   t;
            int         big_endian;     /* numpy dtypes only */
            const char *name;           /* static or arena */
        } dtype;
    } u;
};

#if UINTPTR_MAX == UINT64_MAX
_Static_assert(sizeof(Pv) == 32, "a Pv is 32 bytes on 64-bit machines");
#endif

/* What torch.load would do with a pickle, found without doing it (issue
 * 11).  Every global a pickle names is recorded with the most dangerous
 * use it is put to (rcc_use), and every call outside rcc's allowlist with
 * its arguments: an Audit belongs to the file (audit.c). */
typedef enum AuditMode {
    AUDIT_REFUSE,   /* the first code call fails the pickle (the default) */
    AUDIT_ALLOW,    /* code calls become inert objects, each one warned of */
    AUDIT_SCAN,     /* the same, silently, and rcc's own limits (quantized
                       tensors, ...) do not stop the VM: only safety counts */
} AuditMode;

typedef struct Audit {
    AuditMode   mode;
    const char *record;     /* static or arena: the pickle being run ("data.pkl") */
    rcc_global *globals;    /* arena, in order of first reference */
    size_t      nglobals, globals_cap;
    HashSlot   *slots;      /* arena: globals by name */
    size_t      slots_cap;
    rcc_call   *calls;      /* arena: the first AUDIT_MAX_CALLS code calls */
    size_t      ncalls, calls_cap;
    size_t      ncode;      /* code calls in all */
    const char *error;      /* arena: AUDIT_SCAN: what stopped the pickle, or NULL */
} Audit;

enum { AUDIT_MAX_CALLS = 1000 };

/* Records a reference to the global name (module.name) at byte at. */
int audit_global(Audit *au, Arena *a, const char *name, size_t at);
/* Records one call at byte at, put to use, of the global name, or (name
 * NULL) of another value, rendered as callable; a code call also keeps
 * text, the call's rendering.  -1: out of memory. */
int audit_call(Audit *au, Arena *a, const char *name, const char *callable, rcc_use use, const char *text,
               size_t at);
rcc_verdict audit_verdict(const Audit *au);
/* 1 when torch.load(weights_only=True) (PyTorch 2.x, no safe globals
 * added) resolves the global. */
int audit_weights_only(const char *name);

/* What the VM asks of the format layer. */
typedef struct PkHooks {
    void *ctx;
    /* BINPERSID: turn a persistent id into a PV_STORAGE value (or fail). */
    Pv *(*persistent_load)(void *ctx, Pv *pid, Err *err);
    /* Warnings (arena strings) are appended here. */
    void (*warn)(void *ctx, const char *msg);
    /* The file's audit; NULL: refuse code calls, record nothing. */
    Audit *audit;
} PkHooks;

/* Limits on what one pickle may build (see pickle.c). */
enum { PK_MAX_STACK = 1000000, PK_MAX_MARKS = 1000, PK_MAX_DEPTH = 1000 };

/* Runs the pickle at data[0..len) up to its STOP and returns its value
 * (arena), or NULL.  With consumed == NULL the STOP must be the last byte;
 * otherwise *consumed is the pickle's length (pickles that follow one
 * another, as in the legacy format). */
Pv *pk_load(const uint8_t *data, size_t len, Arena *a, const PkHooks *h, size_t *consumed,
            Err *err);

/* pickle_text.c: the operands of protocol 0/1's text opcodes (INT, LONG,
 * FLOAT, STRING, UNICODE, PUT, GET, PERSID), each one '\n'-terminated
 * line.  Each returns NULL, or what is wrong with the operand as a phrase
 * that follows "<OPCODE> operand" ("is not quoted"). */
enum {
    PTX_MAX_DIGITS = 4300,              /* CPython's int() limit on digits */
    PTX_INT_BYTES = 1800,               /* > the bytes of a 4300-digit int, plus sign */
    PTX_MAX_FLOAT = 512,                /* FLOAT line */
    PTX_MAX_MEMO = 32,                  /* PUT/GET line */
    PTX_MAX_PERSID = 1 << 20,           /* PERSID line */
    PTX_MAX_TEXT = 1 << 30,             /* STRING/UNICODE line */
};
/* The line at p[0..avail): its length before the '\n', which must come
 * within max + 1 bytes; the scan never reads past either bound. */
const char *ptx_line(const uint8_t *p, size_t avail, size_t max, size_t *len);
/* INT (is_long 0) or LONG: decimal, no leading zeros, at most 4300
 * digits, LONG's trailing 'L' optional.  INT's "00"/"01" set *boolean to
 * 0/1 (else it is -1); otherwise out[0..*nout) is the value's minimal
 * little-endian two's complement, as LONG1 holds it (out: PTX_INT_BYTES). */
const char *ptx_int(const uint8_t *s, size_t n, int is_long, uint8_t *out, size_t *nout, int *boolean);
/* FLOAT: Python's repr of a float (decimal or exponent form, inf, nan). */
const char *ptx_float(const uint8_t *s, size_t n, double *d);
/* STRING: a quoted repr decoded as codecs.escape_decode; str when the
 * result is UTF-8, else bytes (arena).  NULL with *why on an error. */
Pv *ptx_string(Arena *a, const uint8_t *s, size_t n, const char **why);
/* UNICODE: raw-unicode-escape to UTF-8 (surrogates as 3 bytes; arena). */
Pv *ptx_unicode(Arena *a, const uint8_t *s, size_t n, const char **why);
/* PUT/GET: a decimal memo index in [0, 2^32). */
const char *ptx_memo_index(const uint8_t *s, size_t n, uint32_t *idx);
/* PERSID: an ASCII line. */
const char *ptx_persid(const uint8_t *s, size_t n);

/* Value helpers shared by globals.c, torchfile.c and summary.c. */
Pv *pv_new(Arena *a, PvKind k);
/* A str (or bytes, or bigint: k) value holding a NUL-terminated copy of s. */
Pv *pv_str(Arena *a, const char *s, size_t len);
Pv *pv_strk(Arena *a, PvKind k, const char *s, size_t len);
int pv_push(Arena *a, PvVec *v, Pv *x);
/* Appends key -> val to a dict's entries (no check for an existing key). */
int pv_dict_push(Arena *a, Pv *d, Pv *key, Pv *val);
/* Looks a str key up in a dict: the value, or NULL. */
Pv *pv_dict_get(const Pv *d, const char *key);
int pv_is_str(const Pv *v, const char *s);
const char *pv_kind_name(PvKind k);

/* ------------------------------------------------------------- globals.c */

typedef enum GlobalKind {
    GL_INERT,                 /* unknown: a call of it is code (or a class instantiated) */
    GL_ORDERED_DICT, GL_DICT, GL_SET, GL_FROZENSET, GL_BYTEARRAY, GL_CODECS_ENCODE,
    GL_DEFAULTDICT, GL_LIST,
    GL_REBUILD_TENSOR, GL_REBUILD_TENSOR_V2, GL_REBUILD_TENSOR_V3,
    GL_REBUILD_PARAMETER, GL_REBUILD_PARAMETER_WITH_STATE, GL_REBUILD_FROM_TYPE_V2,
    GL_REBUILD_UNSUPPORTED,   /* quantized, sparse, nested, meta tensors: torch's own, not read */
    GL_STORAGE_TYPE,          /* torch.FloatStorage ...: carries a dtype */
    GL_TORCH_DTYPE,           /* torch.float32 ...: carries a dtype */
    GL_TORCH_DEVICE, GL_TORCH_SIZE, GL_TENSOR_CLASS, GL_PARAMETER_CLASS,
    GL_NP_SCALAR, GL_NP_DTYPE, GL_NP_RECONSTRUCT,
    GL_RECONSTRUCTOR,         /* copyreg._reconstructor(cls, base, state) */
    GL_NEWOBJ,                /* copyreg.__newobj__(cls, *args): NEWOBJ spelled as a call */
    GL_VALUE,                 /* a plain value built from data: Namespace, partial,
                                 datetime, Path, complex, slice, TorchScript list helpers */
    GL_PASS,                  /* f(x) is x: torch.jit._pickle.restore_type_tag & co */
} GlobalKind;

struct Global {
    const char *module, *name;
    GlobalKind  kind;
    int         dtype;        /* rcc_dtype, or -1 where rcc does not read it */
    const char *dtype_name;   /* torch's name; GL_REBUILD_UNSUPPORTED: what it rebuilds */
};

/* The table entry for module.name, or NULL when the global is unknown. */
const Global *gl_lookup(const char *module, const char *name);

/* How a call is spelled: REDUCE calls the callable, NEWOBJ makes an
 * instance without calling __init__, INST and OBJ call it (protocol 0). */
typedef enum CallOp { CALL_REDUCE, CALL_NEWOBJ, CALL_INST } CallOp;
/* What torch.load would get from fn(*args), made of inert data, and in
 * *use which kind of call it is (rcc_use), charged to the global *who
 * (the class a reconstructor instantiates, else fn).  A code call's value
 * is an inert PV_OBJECT: the VM decides whether to go on. */
Pv *gl_call(Arena *a, const PkHooks *h, CallOp op, Pv *fn, Pv *args, rcc_use *use, const char **who,
            Err *err);
/* BUILD: apply state to obj in place (only where that is meaningful). */
int gl_build(Arena *a, Pv *obj, Pv *state, Err *err);

/* ---------------------------------------------------------------- file.c */

/* A storage: one run of elements that tensors view.  rec holds its bytes:
 * a zip entry, or a span of the file described as one (legacy,
 * safetensors); NULL when the bytes are lost (a damaged file). */
struct PtStorage {
    const char     *key;       /* arena */
    rcc_dtype       dtype;
    int             untyped;   /* torch.UntypedStorage: numel counts bytes */
    uint64_t        numel;
    uint64_t        nbytes;
    const ZipEntry *rec;
    size_t          index;     /* position in the file's storage table */
};

struct PtTensor {
    PtStorage *st;
    rcc_dtype  dtype;
    int        ndim;
    int64_t   *shape, *strides;  /* arena */
    int64_t    offset;
    uint64_t   numel;
    int        requires_grad, is_parameter;
};

/* An open weight file.  A format reader (torchzip.c, legacy.c,
 * safetensors.c) fills storages and, through pt_sd_add, the state dict;
 * file.c then indexes it. */
struct rcc_file {
    Arena          arena;
    const uint8_t *base;        /* the mapping, or the caller's bytes */
    uint64_t       size;
    int            mapped;      /* base is our mmap (else borrowed) */
    Zip            zip;         /* zip formats; legacy/safetensors set base/size only */
    const char    *format;      /* static: "zip", "torchscript", "legacy", "safetensors" */
    Pv            *root;        /* the pickle's value, for pickle formats */
    PtStorage    **storages;    /* arena, in order of first reference */
    size_t         nstorages, storages_cap;
    HashSlot      *storage_slots;   /* arena: storages by key (file.c) */
    size_t         storage_slots_cap;
    rcc_storage   *pub_storages;
    rcc_tensor    *tensors;     /* arena: the state dict, in order */
    size_t         ntensors, tensors_cap;
    HashSlot      *name_slots;  /* arena: tensors by name (file.c) */
    size_t         name_slots_cap;
    const char    *sd_path;
    char         **summary;     /* arena */
    size_t         nsummary, summary_cap;
    char         **warnings;    /* arena */
    size_t         nwarnings, warnings_cap;
    int            damaged;     /* read from local headers (salvage mode) */
    int            big_endian;  /* the storages' elements are big-endian (a zip
                                   archive's byteorder record says "big"):
                                   rcc_read swaps them; the bytes on disk stay */
    int            text_pids;   /* a storage id was text (protocol 0): warned */
    rcc_module    *modules;     /* arena: the module tree, pre-order */
    size_t         nmodules, modules_cap;
    rcc_module   **modules_by_path;   /* arena: sorted by path, for rcc_find_module */
    Audit          audit;       /* what torch.load would do with its pickles */
};

/* A new storage (the caller has checked the key is unused). */
PtStorage *pt_storage_new(rcc_file *f, const char *key, rcc_dtype dt, int untyped, uint64_t numel,
                          const ZipEntry *rec, Err *err);
/* Sizes the storage index for about n storages at once (an archive has
 * one record per storage), sparing its regrowths. */
int pt_storage_expect(rcc_file *f, size_t n, Err *err);
/* The storage with that key, or NULL: a hash lookup, O(1). */
PtStorage *pt_storage_find(const rcc_file *f, const char *key);
/* A record for bytes [off, off + n) of the file that are not a zip entry. */
const ZipEntry *pt_raw_record(rcc_file *f, const char *name, uint64_t off, uint64_t n, Err *err);
/* Makes room for more state-dict entries at once, when the count is known:
 * growing by doubling in the arena would leave each old copy behind. */
int  pt_sd_reserve(rcc_file *f, size_t more, Err *err);
/* Appends name -> t to the state dict. */
int  pt_sd_add(rcc_file *f, const char *name, const PtTensor *t, Err *err);
void pt_warn(rcc_file *f, const char *fmt, ...) RCC_PRINTF(2, 3);
void pt_summary(rcc_file *f, const char *fmt, ...) RCC_PRINTF(2, 3);
/* The record holding a state-dict tensor's storage (for tensor.c). */
const ZipEntry *pt_storage_record(const rcc_file *f, const rcc_tensor *t, const Zip **z);

/* ----------------------------------------------------------- torchzip.c */

/* The torch.save zip archive: version, data.pkl, storages data/<key>. */
int tz_open(rcc_file *f, const rcc_open_options *opt, Err *err);
/* Checks a persistent id ('storage', <T>Storage, key, location, numel
 * [, view_metadata]) of nfields fields and returns its storage value,
 * made on first sight; rec_prefix names the records ("data/"), or NULL
 * when records are attached later (legacy). */
Pv *tz_storage_pid(rcc_file *f, Pv *pid, size_t nfields, const char *rec_prefix, Err *err);
/* The same for a persistent id that protocol 0 wrote as text (PERSID):
 * exactly "('storage', <class 'torch.<T>Storage'>, 'key', 'location',
 * numel)" (", None)" in legacy files' 6 fields), with <T>Storage one of
 * globals.c's storage types; warns once that torch.load cannot read it. */
Pv *tz_text_pid(rcc_file *f, const Pv *text, size_t nfields, Err *err);

/* ------------------------------------------------------------- legacy.c */

/* 1 if the bytes start like a legacy (PyTorch < 1.6) torch.save file. */
int lg_sniff(const uint8_t *b, uint64_t n);
int lg_open(rcc_file *f, const rcc_open_options *opt, Err *err);

/* ---------------------------------------------------------- statedict.c */

/* Finds the state dict in f->root (key: --key path, or NULL to search),
 * adds its tensors and summarises the rest of the checkpoint. */
int sd_from_pickle(rcc_file *f, const char *key, Err *err);

/* ------------------------------------------------------------ modules.c */

/* An nn.Module pickled whole, or a TorchScript module object. */
int    md_is_module(const Pv *v);
/* How many tensors the module's state dict holds; SIZE_MAX when its tree
 * is too deep or too large to walk (md_build then fails saying which), so
 * that such a module is chosen, and refused, rather than overlooked. */
size_t md_count(const Pv *root);
/* The same, charging the walk to *budget (modules plus their entries), so
 * that counting many candidates costs no more than one large model; when
 * *budget runs out before the walk ends, it is left 0 (and SIZE_MAX
 * returned): the candidates can no longer be compared. */
enum { MD_MAX_WORK = 10000000 };
size_t md_count_within(const Pv *root, size_t *budget);
/* Adds the module's state dict and module tree to f; code is the
 * TorchScript archive whose code/ records say which attributes are
 * parameters and buffers, or NULL. */
int    md_build(rcc_file *f, const Pv *root, const Zip *code, Err *err);

/* ------------------------------------------------------------- tensor.c */

/* Validates a tensor against its storage (sizes, strides, extent,
 * overflow) and builds it.  pt_tensor_new takes the pickled values. */
PtTensor *pt_tensor_make(Arena *a, PtStorage *st, rcc_dtype dt, int64_t offset, size_t ndim,
                         const int64_t *shape, const int64_t *strides, Err *err);
PtTensor *pt_tensor_new(Arena *a, PtStorage *st, rcc_dtype dt, Pv *offset, Pv *size,
                        Pv *stride, Err *err);

/* Reads t's elements from storage bytes sbytes[0..snbytes) into dst,
 * contiguous, in t's dtype (bool normalised to 0/1). */
void tn_gather(const rcc_tensor *t, const uint8_t *sbytes, void *dst);
/* 1 when a view of sizes shape and strides (nd of each) is row-major
 * contiguous (a size-1 dimension may carry any stride). */
int tn_contiguous(size_t nd, const int64_t *shape, const int64_t *strides);
/* *nbytes = the bytes of numel elements of t (numel * bits / 8 for a
 * packed dtype, which must come out whole); -1 on overflow or a part. */
int tn_bytes(rcc_dtype t, uint64_t numel, uint64_t *nbytes);
/* Reverses the bytes of each of n units of isz bytes at p, in place
 * (isz 0 or 1: nothing to do). */
void tn_swap(void *p, uint64_t n, size_t isz);
/* 1 when f's elements must be swapped as they are read: the file is
 * big-endian (its byteorder record).  Each tensor is swapped by its own
 * dtype, in units of tn_swap_unit -- also a tensor of a new dtype (u16,
 * u32, u64) on an UntypedStorage, which torch.load swaps as bytes, i.e.
 * not at all: rcc reads the numbers that were written. */
int tn_swaps(const rcc_file *f);
/* The bytes one swap reverses: the element size, half of it for complex. */
size_t tn_swap_unit(rcc_dtype t);
/* Converts n elements of type src_t to float32. */
void tn_to_f32(rcc_dtype src_t, const void *src, float *dst, uint64_t n);

/* -------------------------------------------------------- safetensors.c */

/* 1 if b[0..n) starts like a safetensors file: an 8-byte little-endian
 * header length N >= 2, then a header opening with '{' (or '[') after
 * optional white space.  Only the first bytes are looked at. */
int st_sniff(const uint8_t *b, uint64_t n);
/* Reads and checks the header of f->base[0..f->size) (see safetensors.c)
 * and fills one storage per tensor, the state dict and the summary. */
int st_open(rcc_file *f, Err *err);

/* ------------------------------------------------------------ summary.c */

/* fn(args[0], ..., args[n-1]) as Python would write it, bounded in length,
 * on one line (strings escaped): how a call is named in messages. */
char *sm_call(Arena *a, const char *fn, Pv *const *args, size_t n);
/* One line describing v (bounded in length and depth), arena-allocated;
 * where sd (the state dict, with sd_tensors tensors) occurs it is named,
 * not described. */
char *sm_describe(Arena *a, const Pv *v, const Pv *sd, size_t sd_tensors);

/* ------------------------------------------------------------- writer.c */

/* A storage to write (record archive/data/<its index>). */
typedef struct WrStorage {
    rcc_dtype dtype;
    uint64_t  numel;          /* elements: the record holds numel * size bytes */
} WrStorage;

/* A state-dict entry: a view of one storage, in the storage's dtype. */
typedef struct WrTensor {
    const char    *name;      /* UTF-8 */
    size_t         storage;   /* index into the storages */
    int64_t        offset;    /* in elements */
    int            ndim;
    const int64_t *shape, *strides;
    int            requires_grad, is_parameter;
} WrTensor;

/* Storage i's bytes (numel * size of them), asked for once, in record
 * order: borrowed, or malloc'ed into *owned (the writer frees it); NULL
 * with a message on failure. */
typedef const uint8_t *(*WrBytesFn)(void *ctx, size_t i, uint8_t **owned, Err *err);

/* Writes the state dict t[0..nt) over storages st[0..nst) to path as
 * torch.save writes an OrderedDict (see writer.c).  Storage i is keyed
 * "i": number storages in order of first use, as torch does.  The file
 * appears whole (temporary file, fsync, rename) or not at all. */
int wr_state_dict(const char *path, const WrStorage *st, size_t nst, const WrTensor *t, size_t nt,
                  WrBytesFn bytes, void *ctx, Err *err);

#endif /* RCC_INTERNAL_H */
