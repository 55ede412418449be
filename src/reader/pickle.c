/* pickle.c — a pickle VM that builds values and executes nothing.
 *
 * Python's unpickler is an interpreter whose GLOBAL opcode imports any
 * callable and whose REDUCE calls it: that is how a weight file runs code.
 * This VM has the same stack machine but no callables.  GLOBAL yields an
 * inert PV_GLOBAL naming module.name; REDUCE, NEWOBJ, INST, OBJ and BUILD
 * hand it to globals.c, which knows what a small table of
 * torch/collections/numpy globals mean and classifies every call: one it
 * interprets, a class instantiated with a plain state, or code, which
 * torch.load would run with the file's arguments.  Every global and call
 * is recorded in the file's audit (audit.c); by default the first code
 * call stops the VM with a message naming it, otherwise (allow_calls,
 * scan) it yields an inert object recording its arguments.
 *
 * Every length is checked against the bytes that remain before anything
 * is allocated; the value stack, the mark stack and container nesting are
 * bounded; the memo is an array with a hash map for sparse keys, so
 * LONG_BINPUT 0xFFFFFFFF costs one slot.
 * Values live in the caller's arena and may be cyclic (a list that contains
 * itself through the memo), so consumers bound their own walks.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* ---------------------------------------------------------------- values */

Pv *pv_new(Arena *a, PvKind k)
{
    Pv *v = ARENA_NEW(a, Pv);
    if (v)
        v->kind = k;
    return v;
}

Pv *pv_strk(Arena *a, PvKind k, const char *s, size_t len)
{
    if (len > SIZE_MAX - sizeof(Pv) - 1)
        return NULL;
    Pv *v = arena_alloc(a, sizeof(Pv) + len + 1);   /* the characters right behind it */
    if (!v)
        return NULL;
    char *c = (char *)(v + 1);
    if (len)
        memcpy(c, s, len);   /* (the arena's bytes are zero: the NUL is there) */
    v->kind = k;
    v->u.str.s = c;
    v->u.str.len = len;
    return v;
}

Pv *pv_str(Arena *a, const char *s, size_t len)
{
    return pv_strk(a, PV_STR, s, len);
}

int pv_push(Arena *a, PvVec *v, Pv *x)
{
    size_t cap = v->cap;
    if (v->n == UINT32_MAX || arena_grow(a, (void **)&v->v, &cap, (size_t)v->n + 1, sizeof(Pv *)) < 0)
        return -1;
    v->cap = cap > UINT32_MAX ? UINT32_MAX : (uint32_t)cap;
    v->v[v->n++] = x;
    return 0;
}

int pv_dict_push(Arena *a, Pv *d, Pv *key, Pv *val)
{
    if (d->u.dict.n == d->u.dict.cap) {
        if (d->u.dict.cap > UINT32_MAX / 2)
            return -1;
        uint32_t cap = d->u.dict.cap ? d->u.dict.cap * 2 : 4;
        Pv **k = arena_array(a, cap, sizeof *k), **v = arena_array(a, cap, sizeof *v);
        if (!k || !v)
            return -1;
        if (d->u.dict.n) {
            memcpy(k, d->u.dict.keys, d->u.dict.n * sizeof *k);
            memcpy(v, d->u.dict.vals, d->u.dict.n * sizeof *v);
        }
        d->u.dict.keys = k;
        d->u.dict.vals = v;
        d->u.dict.cap = cap;
    }
    d->u.dict.keys[d->u.dict.n] = key;
    d->u.dict.vals[d->u.dict.n++] = val;
    return 0;
}

int pv_is_str(const Pv *v, const char *s)
{
    return v && v->kind == PV_STR && strlen(s) == v->u.str.len && memcmp(v->u.str.s, s, v->u.str.len) == 0;
}

Pv *pv_dict_get(const Pv *d, const char *key)
{
    if (!d || d->kind != PV_DICT)
        return NULL;
    for (size_t i = d->u.dict.n; i-- > 0;)
        if (pv_is_str(d->u.dict.keys[i], key))
            return d->u.dict.vals[i];
    return NULL;
}

const char *pv_kind_name(PvKind k)
{
    static const char *const names[] = {
        [PV_NONE] = "None", [PV_BOOL] = "bool", [PV_INT] = "int", [PV_BIGINT] = "int",
        [PV_FLOAT] = "float", [PV_STR] = "str", [PV_BYTES] = "bytes", [PV_TUPLE] = "tuple",
        [PV_LIST] = "list", [PV_DICT] = "dict", [PV_SET] = "set", [PV_GLOBAL] = "global",
        [PV_OBJECT] = "object", [PV_STORAGE] = "storage", [PV_TENSOR] = "tensor",
        [PV_DTYPE] = "dtype",
    };
    return (unsigned)k < sizeof names / sizeof *names ? names[k] : "?";
}

/* ------------------------------------------------------------------ memo */

/* Pickles number their memo slots 0, 1, 2, ... as they go, so a slot
 * number below twice the entry count (plus slack) lives in a dense array,
 * 8 bytes an entry and no hashing: torch.save memoizes some 15 values per
 * tensor, and a hash table there was a fifth of the time to open a file of
 * many small tensors.  Any other number (LONG_BINPUT 0xFFFFFFFF) goes to
 * an open-addressing table, so a sparse memo still costs one slot per
 * entry.  When the dense array grows over numbers already in the table,
 * they move into it: a key is in one place only. */
typedef struct MemoSlot {
    uint32_t key;
    Pv      *v;   /* NULL: a free slot */
} MemoSlot;

typedef struct Memo {
    Pv      **dense;   /* malloc'ed: keys [0, ndense) */
    size_t    ndense;
    MemoSlot *slots;   /* malloc'ed: keys >= ndense */
    size_t    cap, nslots;
    size_t    n;       /* entries in all (MEMOIZE's next key) */
} Memo;

enum { MEMO_SLACK = 1024 };

static size_t memo_hash(uint32_t k, size_t cap)
{
    return (size_t)(k * 2654435761u) & (cap - 1);
}

static void slot_put(MemoSlot *slots, size_t cap, uint32_t key, Pv *v)
{
    size_t j = memo_hash(key, cap);
    while (slots[j].v && slots[j].key != key)
        j = (j + 1) & (cap - 1);
    slots[j].key = key;
    slots[j].v = v;
}

/* Rebuilds the table at ncap slots, moving the keys below ndense to the
 * dense array. */
static int memo_rehash(Memo *m, size_t ncap)
{
    MemoSlot *ns = calloc(ncap, sizeof *ns);
    if (!ns)
        return -1;
    size_t kept = 0;
    for (size_t i = 0; i < m->cap; i++) {
        MemoSlot *s = &m->slots[i];
        if (!s->v)
            continue;
        if (s->key < m->ndense) {
            m->dense[s->key] = s->v;
        } else {
            slot_put(ns, ncap, s->key, s->v);
            kept++;
        }
    }
    free(m->slots);
    m->slots = ns;
    m->cap = ncap;
    m->nslots = kept;
    return 0;
}

static int memo_put(Memo *m, uint32_t key, Pv *v)
{
    if (key >= m->ndense && key < 2 * m->n + MEMO_SLACK) {
        size_t nd = m->ndense ? m->ndense * 2 : MEMO_SLACK;
        if (nd <= key)
            nd = (size_t)key + 1;
        Pv **d = realloc(m->dense, nd * sizeof *d);
        if (!d)
            return -1;
        memset(d + m->ndense, 0, (nd - m->ndense) * sizeof *d);
        m->dense = d;
        m->ndense = nd;
        if (m->nslots && memo_rehash(m, m->cap) < 0)
            return -1;
    }
    if (key < m->ndense) {
        m->n += !m->dense[key];
        m->dense[key] = v;
        return 0;
    }
    if ((m->nslots + 1) * 2 > m->cap && memo_rehash(m, m->cap ? m->cap * 2 : 64) < 0)
        return -1;
    size_t j = memo_hash(key, m->cap);
    while (m->slots[j].v && m->slots[j].key != key)
        j = (j + 1) & (m->cap - 1);
    if (!m->slots[j].v) {
        m->n++;
        m->nslots++;
    }
    m->slots[j].key = key;
    m->slots[j].v = v;
    return 0;
}

static Pv *memo_get(const Memo *m, uint32_t key)
{
    if (key < m->ndense)
        return m->dense[key];
    if (!m->cap)
        return NULL;
    size_t j = memo_hash(key, m->cap);
    while (m->slots[j].v) {
        if (m->slots[j].key == key)
            return m->slots[j].v;
        j = (j + 1) & (m->cap - 1);
    }
    return NULL;
}

/* -------------------------------------------------------------------- VM */

/* The VM's index of dict keys (see dict_set): open addressing, malloc'ed. */
typedef struct KeySlot {
    const Pv *dict;   /* NULL: a free slot */
    uint32_t  pos;    /* the key's position in dict's entries */
    uint32_t  hash;   /* the low bits of key_hash */
} KeySlot;

typedef struct KeyIndex {
    KeySlot *slots;
    size_t   cap, n;
} KeyIndex;

typedef struct Vm {
    const uint8_t *p, *end, *start;
    Arena         *a;
    const PkHooks *h;
    Err           *err;
    PvVec          stack;     /* malloc'ed */
    size_t        *marks;   /* malloc'ed, PK_MAX_MARKS */
    size_t         nmarks;
    Memo           memo;
    KeyIndex       keys;
    size_t         op_at;   /* offset of the opcode being run, for messages */
    PtrSet         setstate;   /* instances a BUILD gave a __setstate__ -> its value:
                                  the next BUILD of one calls it (load_build looks it
                                  up on the instance) */
    Pv            *small_ints[256], *bools[2], *none, *empty_tuple;   /* arena: shared values */
} Vm;

static int fail(Vm *vm, const char *what)
{
    return err_set(vm->err, "pickle: %s (at byte %zu)", what, vm->op_at);
}

static int need(Vm *vm, uint64_t n)
{
    if ((uint64_t)(vm->end - vm->p) < n)
        return fail(vm, "data ends inside an opcode (truncated pickle)");
    return 0;
}

static int push(Vm *vm, Pv *v)
{
    if (!v)
        return vm->err->set ? -1 : fail(vm, "out of memory");
    if (vm->stack.n >= PK_MAX_STACK)
        return fail(vm, "value stack exceeds 1000000 entries");
    if (vm->stack.n == vm->stack.cap) {   /* malloc'ed, not arena: the old copies are given back */
        uint32_t cap = vm->stack.cap ? vm->stack.cap * 2 : 256;   /* <= 2 * PK_MAX_STACK */
        Pv **nv = realloc(vm->stack.v, cap * sizeof *nv);
        if (!nv)
            return fail(vm, "out of memory");
        vm->stack.v = nv;
        vm->stack.cap = cap;
    }
    vm->stack.v[vm->stack.n++] = v;
    return 0;
}

/* The stack above the innermost mark must hold at least n values. */
static Pv *pop(Vm *vm)
{
    size_t floor = vm->nmarks ? vm->marks[vm->nmarks - 1] : 0;
    if (vm->stack.n <= floor) {
        fail(vm, "stack underflow");
        return NULL;
    }
    return vm->stack.v[--vm->stack.n];
}

static Pv *top(Vm *vm)
{
    size_t floor = vm->nmarks ? vm->marks[vm->nmarks - 1] : 0;
    if (vm->stack.n <= floor) {
        fail(vm, "stack underflow");
        return NULL;
    }
    return vm->stack.v[vm->stack.n - 1];
}

/* Pops everything above the innermost mark; *items points into the stack
 * array (valid until the next push). */
static int pop_mark(Vm *vm, Pv ***items, size_t *n)
{
    if (!vm->nmarks)
        return fail(vm, "opcode needs a MARK and none is open");
    size_t m = vm->marks[--vm->nmarks];
    *items = vm->stack.v ? vm->stack.v + m : NULL;   /* (no arithmetic on NULL) */
    *n = vm->stack.n - m;
    vm->stack.n = m;
    return 0;
}

/* A tuple, list or set of n items, in one block with the value. */
static Pv *make_seq(Vm *vm, PvKind k, Pv **items, size_t n)
{
    if (n > UINT32_MAX) {
        fail(vm, "container of more than 2^32 items");
        return NULL;
    }
    Pv *t = arena_alloc(vm->a, sizeof(Pv) + n * sizeof(Pv *));   /* n < 2^32: no overflow */
    if (!t)
        return NULL;
    t->kind = k;
    unsigned depth = 0;
    if (n) {
        t->u.seq.v = (Pv **)(t + 1);
        memcpy(t->u.seq.v, items, n * sizeof(Pv *));
        t->u.seq.n = t->u.seq.cap = (uint32_t)n;
        for (size_t i = 0; i < n; i++)
            if (items[i]->depth > depth)
                depth = items[i]->depth;
    }
    t->depth = depth + 1;
    if (t->depth > PK_MAX_DEPTH) {
        fail(vm, "containers nested deeper than 1000");
        return NULL;
    }
    return t;
}

/* Records that child now sits inside parent, bounding the nesting. */
static int nest(Vm *vm, Pv *parent, const Pv *child)
{
    if (child->depth + 1 > parent->depth)
        parent->depth = child->depth + 1;
    if (parent->depth > PK_MAX_DEPTH)
        return fail(vm, "containers nested deeper than 1000");
    return 0;
}

/* ------------------------------------------------------------ dict keys */

/* dict[k] = v must find an existing key k, as Python does: the entry keeps
 * its first position and takes the last value.  A scan per insertion would
 * make a dict of n keys cost n^2 (a state dict of 20,000 tensors, or a
 * hostile pickle), so past DICT_SCAN entries a dict's str and int keys go
 * in one hash index per VM, keyed by (dict, key) and holding the entry's
 * position.  Other key kinds (tuples, floats, ...) are appended as they
 * come: torch never repeats them, and Python's equality across kinds
 * (1 == 1.0 == True) is not modelled. */
enum { DICT_SCAN = 16 };

static int dedup_kind(const Pv *k) { return k->kind == PV_STR || k->kind == PV_INT; }

static int key_eq(const Pv *a, const Pv *b)
{
    if (a->kind != b->kind)
        return 0;
    if (a->kind == PV_INT)
        return a->u.i == b->u.i;
    return a->u.str.len == b->u.str.len && memcmp(a->u.str.s, b->u.str.s, a->u.str.len) == 0;
}

/* The hash of (dict, key): a slot holds it, so that probing and growing
 * never read the keys themselves (each a cache miss). */
static uint64_t key_hash(const Pv *d, const Pv *k)
{
    uint64_t h = k->kind == PV_INT ? util_hash(&k->u.i, sizeof k->u.i) : util_hash(k->u.str.s, k->u.str.len);
    h ^= (uint64_t)(uintptr_t)d * 0x9e3779b97f4a7c15u;
    return h ^ (h >> 32);
}

static int keys_grow(KeyIndex *ix)
{
    size_t cap = ix->cap ? ix->cap * 2 : 256;
    KeySlot *ns = calloc(cap, sizeof *ns);
    if (!ns)
        return -1;
    for (size_t i = 0; i < ix->cap; i++) {
        const KeySlot *o = &ix->slots[i];
        if (!o->dict)
            continue;
        size_t j = o->hash & (cap - 1);
        while (ns[j].dict)
            j = (j + 1) & (cap - 1);
        ns[j] = *o;
    }
    free(ix->slots);
    ix->slots = ns;
    ix->cap = cap;
    return 0;
}

/* The position of key k in the indexed dict d; when it is absent, records
 * it at position pos and returns SIZE_MAX (also when *oom is set). */
static size_t keys_find_or_add(KeyIndex *ix, const Pv *d, const Pv *k, size_t pos, int *oom)
{
    if (pos > UINT32_MAX || ((ix->n + 1) * 2 > ix->cap && keys_grow(ix) < 0)) {
        *oom = 1;
        return SIZE_MAX;
    }
    uint64_t h = key_hash(d, k);
    size_t j = h & (ix->cap - 1);
    for (; ix->slots[j].dict; j = (j + 1) & (ix->cap - 1)) {
        const KeySlot *o = &ix->slots[j];
        if (o->hash == (uint32_t)h && o->dict == d && key_eq(d->u.dict.keys[o->pos], k))
            return o->pos;
    }
    ix->slots[j] = (KeySlot){.dict = d, .pos = (uint32_t)pos, .hash = (uint32_t)h};
    ix->n++;
    return SIZE_MAX;
}

/* Indexes d's keys, merging repeated ones the way Python builds a dict
 * (OrderedDict(pairs) may repeat them): the first position, the last
 * value. */
static int dict_index(Vm *vm, Pv *d)
{
    Pv **keys = d->u.dict.keys, **vals = d->u.dict.vals;
    uint32_t out = 0;
    int oom = 0;
    d->indexed = 1;
    for (size_t i = 0; i < d->u.dict.n; i++) {
        size_t at = dedup_kind(keys[i]) ? keys_find_or_add(&vm->keys, d, keys[i], out, &oom) : SIZE_MAX;
        if (oom)
            return fail(vm, "out of memory");
        if (at != SIZE_MAX) {
            vals[at] = vals[i];
            continue;
        }
        keys[out] = keys[i];   /* the index reads keys[out]: move first */
        vals[out++] = vals[i];
    }
    d->u.dict.n = out;
    return 0;
}

/* dict[k] = v with Python's semantics: an existing key keeps its position. */
static int dict_set(Vm *vm, Pv *d, Pv *k, Pv *v)
{
    if (d->kind != PV_DICT)
        return fail(vm, "SETITEM target is not a dict");
    if (k->kind != PV_STR && k->kind != PV_INT && k->kind != PV_BOOL && k->kind != PV_NONE &&
        k->kind != PV_FLOAT && k->kind != PV_TUPLE && k->kind != PV_BYTES && k->kind != PV_BIGINT)
        return fail(vm, "dict key of an unhashable type");
    if (nest(vm, d, v) < 0)
        return -1;
    size_t n = d->u.dict.n;
    if (!d->indexed && n >= DICT_SCAN && dict_index(vm, d) < 0)
        return -1;
    n = d->u.dict.n;
    if (dedup_kind(k)) {
        size_t at = SIZE_MAX;
        int oom = 0;
        if (d->indexed) {
            /* A new key is recorded at position n, where the push below
             * puts it (if that fails, so does the pickle). */
            at = keys_find_or_add(&vm->keys, d, k, n, &oom);
            if (oom)
                return fail(vm, "out of memory");
        } else {
            for (size_t i = 0; i < n && at == SIZE_MAX; i++)
                if (key_eq(d->u.dict.keys[i], k))
                    at = i;
        }
        if (at != SIZE_MAX) {
            d->u.dict.vals[at] = v;
            return 0;
        }
    }
    if (pv_dict_push(vm->a, d, k, v) < 0)
        return fail(vm, "out of memory");
    return 0;
}

static int list_append(Vm *vm, Pv *l, Pv *v)
{
    if (l->kind == PV_OBJECT)   /* list subclass of an unknown class: keep items as args */
        return 0;
    if (l->kind != PV_LIST)
        return fail(vm, "APPEND target is not a list");
    if (nest(vm, l, v) < 0)
        return -1;
    return pv_push(vm->a, &l->u.seq, v) < 0 ? fail(vm, "out of memory") : 0;
}

/* ---------------------------------------------------- operand decoders */

/* Ints, bools, None and () are never changed once made (BUILD on one
 * fails the whole pickle), so the common ones are made once per pickle
 * and shared: torch.save writes four small ints, a bool and () per tensor,
 * and every value costs 32 bytes of arena. */
static Pv *shared_value(Vm *vm, Pv **slot, PvKind k, int64_t i)
{
    if (*slot)
        return *slot;
    Pv *v = pv_new(vm->a, k);
    if (v && k == PV_INT)
        v->u.i = i;
    else if (v && k == PV_BOOL)
        v->u.b = (int)i;
    return *slot = v;
}

static Pv *int_value(Vm *vm, int64_t i)
{
    if (i >= 0 && i < (int64_t)(sizeof vm->small_ints / sizeof *vm->small_ints))
        return shared_value(vm, &vm->small_ints[i], PV_INT, i);
    Pv *v = pv_new(vm->a, PV_INT);
    if (v)
        v->u.i = i;
    return v;
}

/* LONG1/LONG4: little-endian two's complement of n bytes. */
static Pv *long_value(Vm *vm, const uint8_t *b, size_t n)
{
    if (n == 0)
        return int_value(vm, 0);
    if (n <= 8) {
        uint64_t u = 0;
        for (size_t i = 0; i < n; i++)
            u |= (uint64_t)b[i] << (8 * i);
        if (n < 8 && (b[n - 1] & 0x80))
            u |= ~(uint64_t)0 << (8 * n);
        return int_value(vm, (int64_t)u);
    }
    return pv_strk(vm->a, PV_BIGINT, (const char *)b, n);
}

/* A string operand of n bytes: str (validated UTF-8) or bytes. */
static Pv *string_value(Vm *vm, uint64_t n, PvKind k)
{
    if (need(vm, n) < 0)
        return NULL;
    const uint8_t *s = vm->p;
    vm->p += n;
    if (k == PV_STR && !utf8_valid(s, (size_t)n)) {
        fail(vm, "string is not valid UTF-8");
        return NULL;
    }
    return pv_strk(vm->a, k, (const char *)s, (size_t)n);
}

/* Python 2 str (SHORT_BINSTRING/BINSTRING): torch decodes it as UTF-8. */
static Pv *py2_string_value(Vm *vm, uint64_t n)
{
    if (need(vm, n) < 0)
        return NULL;
    return string_value(vm, n, utf8_valid(vm->p, (size_t)n) ? PV_STR : PV_BYTES);
}

/* One '\n'-terminated printable-ASCII line of a GLOBAL operand. */
static int global_line(Vm *vm, char *buf, size_t cap)
{
    for (size_t i = 0; i < cap; i++) {
        if (vm->p + i >= vm->end)
            return fail(vm, "GLOBAL name is not terminated (truncated pickle)");
        uint8_t c = vm->p[i];
        if (c == '\n') {
            buf[i] = 0;
            vm->p += i + 1;
            return i ? 0 : fail(vm, "GLOBAL with an empty name");
        }
        if (c < 0x21 || c > 0x7e)
            return fail(vm, "GLOBAL name is not printable ASCII");
        buf[i] = (char)c;
    }
    return fail(vm, "GLOBAL name longer than 256 bytes");
}

/* A STACK_GLOBAL operand may name a module in any UTF-8, but never with
 * a control character: names reach messages, one line each. */
static int printable(const Pv *s)
{
    if (s->u.str.len == 0)
        return 0;
    for (size_t i = 0; i < s->u.str.len; i++)
        if ((uint8_t)s->u.str.s[i] < 0x20 || (uint8_t)s->u.str.s[i] == 0x7f)
            return 0;
    return 1;
}

static Pv *global_value(Vm *vm, const char *module, const char *name)
{
    const Global *g = gl_lookup(module, name);
    Audit *au = vm->h ? vm->h->audit : NULL;
    char *qualname = arena_printf(vm->a, "%s.%s", module, name);
    if (!qualname || (au && audit_global(au, vm->a, qualname, vm->op_at) < 0))
        return NULL;
    if (g && g->kind == GL_TORCH_DTYPE) {   /* torch.float32 is a value, not a callable */
        Pv *d = pv_new(vm->a, PV_DTYPE);
        if (d) {
            d->u.dtype.known = g->dtype >= 0;
            d->u.dtype.t = g->dtype >= 0 ? (rcc_dtype)g->dtype : RCC_F32;
            d->u.dtype.name = g->dtype_name;
        }
        return d;
    }
    Pv *v = pv_new(vm->a, PV_GLOBAL);
    if (v) {
        v->u.glob.qualname = qualname;
        v->u.glob.known = g;
    }
    return v;
}

/* ---------------------------------------------------------------- opcodes */

enum {
    OP_MARK = '(', OP_STOP = '.', OP_POP = '0', OP_POP_MARK = '1', OP_DUP = '2',
    OP_BININT = 'J', OP_BININT1 = 'K', OP_BININT2 = 'M', OP_NONE = 'N', OP_BINPERSID = 'Q',
    OP_REDUCE = 'R', OP_BINSTRING = 'T', OP_SHORT_BINSTRING = 'U', OP_BINUNICODE = 'X',
    OP_APPEND = 'a', OP_BUILD = 'b', OP_GLOBAL = 'c', OP_DICT = 'd', OP_EMPTY_DICT = '}',
    OP_APPENDS = 'e', OP_BINGET = 'h', OP_LONG_BINGET = 'j', OP_LIST = 'l', OP_EMPTY_LIST = ']',
    OP_BINPUT = 'q', OP_LONG_BINPUT = 'r', OP_SETITEM = 's', OP_TUPLE = 't',
    OP_EMPTY_TUPLE = ')', OP_SETITEMS = 'u', OP_BINFLOAT = 'G', OP_BINBYTES = 'B',
    OP_SHORT_BINBYTES = 'C', OP_INST = 'i', OP_OBJ = 'o',
    OP_PROTO = 0x80, OP_NEWOBJ = 0x81, OP_TUPLE1 = 0x85, OP_TUPLE2 = 0x86, OP_TUPLE3 = 0x87,
    OP_NEWTRUE = 0x88, OP_NEWFALSE = 0x89, OP_LONG1 = 0x8a, OP_LONG4 = 0x8b,
    OP_SHORT_BINUNICODE = 0x8c, OP_BINUNICODE8 = 0x8d, OP_BINBYTES8 = 0x8e, OP_EMPTY_SET = 0x8f,
    OP_ADDITEMS = 0x90, OP_FROZENSET = 0x91, OP_NEWOBJ_EX = 0x92, OP_STACK_GLOBAL = 0x93,
    OP_MEMOIZE = 0x94, OP_FRAME = 0x95, OP_BYTEARRAY8 = 0x96,
};

static uint64_t take_u(Vm *vm, int n)
{
    uint64_t u = n == 1 ? vm->p[0] : n == 2 ? rd_u16(vm->p) : n == 4 ? rd_u32(vm->p) : rd_u64(vm->p);
    vm->p += n;
    return u;
}

/* Appends " (at byte N)" to the VM's error unless it names a place. */
static int at_byte(Vm *vm)
{
    if (!vm->err->set)
        return fail(vm, "out of memory");
    char where[64];
    snprintf(where, sizeof where, " (at byte %zu)", vm->op_at);
    size_t l = strlen(vm->err->msg);
    if (!strstr(vm->err->msg, "(at byte") && l + strlen(where) < sizeof vm->err->msg)
        memcpy(vm->err->msg + l, where, strlen(where) + 1);
    return -1;
}

/* A call outside the allowlist, fn_name(args) (or text when given):
 * recorded, then refused or, with allow_calls or a scan, gone past (the
 * command names each one: rcc_call_at). */
static int code_call(Vm *vm, const char *global, const char *fn_name, Pv *const *args, size_t n,
                     const char *text)
{
    Audit *au = vm->h ? vm->h->audit : NULL;
    if (!text && !(text = sm_call(vm->a, fn_name, args, n)))
        return fail(vm, "out of memory");
    if (au && audit_call(au, vm->a, global, fn_name, RCC_USE_CODE, text, vm->op_at) < 0)
        return fail(vm, "out of memory");
    if (!au || au->mode == AUDIT_REFUSE)
        return err_set(vm->err, "the pickle calls %s (at byte %zu); torch.load would run it; refused, "
                       "nothing was executed", text, vm->op_at);
    return 0;
}

/* What a call rcc cannot rebuild leaves on the stack: an inert record. */
static Pv *inert_call(Vm *vm, const char *name, Pv *args)
{
    Pv *r = args ? pv_new(vm->a, PV_OBJECT) : NULL;
    if (r) {
        r->u.obj.qualname = name;
        r->u.obj.args = args;
        r->depth = args->depth + 1;
    }
    return r;
}

/* A scan is after the calls torch.load would make, not after rcc's view
 * of the values: where an interpreted call or a persistent id fails (a
 * tensor past its storage, a quantized storage), it records the first
 * failure as the file's error and goes on with an inert value (0).
 * Elsewhere the failure stands (-1). */
static int scan_past(Vm *vm)
{
    Audit *au = vm->h ? vm->h->audit : NULL;
    if (!au || au->mode != AUDIT_SCAN || !vm->err->set)
        return -1;
    at_byte(vm);
    if (!au->error && !(au->error = arena_strndup(vm->a, vm->err->msg, strlen(vm->err->msg))))
        return -1;
    vm->err->set = 0;
    vm->err->msg[0] = 0;
    return 0;
}

/* The function a functools.partial object calls, or NULL. */
static const Pv *partial_func(const Pv *v)
{
    if (v->kind != PV_OBJECT || strcmp(v->u.obj.qualname, "functools.partial") != 0)
        return NULL;
    const Pv *s = v->u.obj.state, *a = v->u.obj.args;
    if (s && s->kind == PV_TUPLE && s->u.seq.n >= 1)   /* BUILD (func, args, kwds, dict) */
        return s->u.seq.v[0];
    return a && a->kind == PV_TUPLE && a->u.seq.n >= 1 ? a->u.seq.v[0] : NULL;
}

/* Calls fn(*args) as op spells it, pushing what torch.load would get. */
static int call(Vm *vm, CallOp op, Pv *fn, Pv *args)
{
    if (!args || !fn)
        return -1;
    if (args->kind != PV_TUPLE)
        return fail(vm, "call arguments are not a tuple");
    Pv *r;
    if (fn->kind != PV_GLOBAL) {   /* the result of another call, a getattr chain's end, ... */
        char *name = sm_describe(vm->a, fn, NULL, 0);
        const Pv *inner = partial_func(fn);   /* a partial runs its function */
        const char *global = inner && inner->kind == PV_GLOBAL ? inner->u.glob.qualname : NULL;
        if (!name || code_call(vm, global, name, args->u.seq.v, args->u.seq.n, NULL) < 0)
            return -1;
        return push(vm, inert_call(vm, name, args));
    }
    rcc_use use;
    const char *who;
    r = gl_call(vm->a, vm->h, op, fn, args, &use, &who, vm->err);
    if (!r && scan_past(vm) == 0)   /* a scan looks on for code calls */
        r = inert_call(vm, fn->u.glob.qualname, args);
    if (!r)
        return at_byte(vm);
    Audit *au = vm->h ? vm->h->audit : NULL;
    if (use == RCC_USE_CODE) {
        if (code_call(vm, who, fn->u.glob.qualname, args->u.seq.v, args->u.seq.n, NULL) < 0)
            return -1;
    } else if (au && ((who != fn->u.glob.qualname &&
                       audit_call(au, vm->a, fn->u.glob.qualname, NULL, RCC_USE_INTERPRETED, NULL, vm->op_at) < 0) ||
                      audit_call(au, vm->a, who, NULL, use, NULL, vm->op_at) < 0)) {
        return fail(vm, "out of memory");
    }
    if (r->kind == PV_DICT && r->u.dict.n > 1 && !r->indexed && dict_index(vm, r) < 0)   /* OrderedDict(pairs) */
        return -1;
    return push(vm, r);
}

/* BUILD: Python's load_build calls the instance's __setstate__ if it has
 * one, else updates its __dict__.  A global's BUILD changes imported code
 * (a class, a function, a module such as torch._utils), and a __setstate__
 * that an earlier BUILD put in the instance's dict is the pickle's own
 * callable: both are code.  Any other __setstate__ is its class's. */
static int build(Vm *vm, Pv *obj, Pv *state)
{
    if (obj->kind == PV_GLOBAL) {
        char *fn = arena_printf(vm->a, "%s.__setstate__", obj->u.glob.qualname);
        return fn ? code_call(vm, obj->u.glob.qualname, fn, &state, 1, NULL) : fail(vm, "out of memory");
    }
    Pv *setstate = ptrset_get(&vm->setstate, obj);
    if (setstate) {
        const char *name = setstate->kind == PV_GLOBAL ? setstate->u.glob.qualname
                         : sm_describe(vm->a, setstate, NULL, 0);
        return name ? code_call(vm, setstate->kind == PV_GLOBAL ? name : NULL, name, &state, 1, NULL)
                    : fail(vm, "out of memory");
    }
    /* state, or (state, slotstate): either may set __setstate__ */
    Pv *parts[2] = {state, NULL};
    if (state->kind == PV_TUPLE && state->u.seq.n == 2) {
        parts[0] = state->u.seq.v[0];
        parts[1] = state->u.seq.v[1];
    }
    for (int i = 0; i < 2; i++) {
        Pv *m = parts[i] ? pv_dict_get(parts[i], "__setstate__") : NULL;
        if (m && ptrset_put(&vm->setstate, obj, m) < 0)
            return fail(vm, "out of memory");
    }
    if (nest(vm, obj, state) < 0)
        return -1;
    if (gl_build(vm->a, obj, state, vm->err) < 0)
        return fail(vm, "BUILD failed");
    return 0;
}

/* INST (module, name operands) and OBJ (the class first on the mark):
 * Python calls klass(*args) (or, for a class without arguments,
 * klass.__new__(klass), which rcc cannot tell from a call without
 * arguments of a function): code unless the allowlist interprets it. */
static int inst(Vm *vm, Pv *klass, Pv **items, size_t n)
{
    Pv *args = make_seq(vm, PV_TUPLE, items, n);
    if (!args || !klass)
        return -1;
    return call(vm, CALL_INST, klass, args);
}

static int step(Vm *vm, int op)
{
    Pv *v, *k, **items;
    size_t n;
    uint64_t u;

    switch (op) {
    case OP_PROTO:
        if (need(vm, 1) < 0)
            return -1;
        if (*vm->p++ > 5)
            return fail(vm, "unsupported pickle protocol");
        return 0;
    case OP_FRAME:   /* a length hint: the opcodes that follow are read as usual */
        if (need(vm, 8) < 0)
            return -1;
        u = take_u(vm, 8);
        return need(vm, u);
    case OP_STOP:
        return 1;
    case OP_MARK:
        if (vm->nmarks >= PK_MAX_MARKS)
            return fail(vm, "more than 1000 open MARKs");
        vm->marks[vm->nmarks++] = vm->stack.n;
        return 0;
    case OP_POP:
        return pop(vm) ? 0 : -1;
    case OP_POP_MARK:
        return pop_mark(vm, &items, &n);
    case OP_DUP:
        return (v = top(vm)) ? push(vm, v) : -1;

    case OP_NONE:
        return push(vm, shared_value(vm, &vm->none, PV_NONE, 0));
    case OP_NEWTRUE:
    case OP_NEWFALSE:
        return push(vm, shared_value(vm, &vm->bools[op == OP_NEWTRUE], PV_BOOL, op == OP_NEWTRUE));
    case OP_BININT:
        if (need(vm, 4) < 0)
            return -1;
        return push(vm, int_value(vm, (int32_t)take_u(vm, 4)));
    case OP_BININT1:
    case OP_BININT2:
        if (need(vm, op == OP_BININT1 ? 1 : 2) < 0)
            return -1;
        return push(vm, int_value(vm, (int64_t)take_u(vm, op == OP_BININT1 ? 1 : 2)));
    case OP_LONG1:
    case OP_LONG4:
        if (need(vm, op == OP_LONG1 ? 1 : 4) < 0)
            return -1;
        u = take_u(vm, op == OP_LONG1 ? 1 : 4);
        if (need(vm, u) < 0)
            return -1;
        v = long_value(vm, vm->p, (size_t)u);
        vm->p += u;
        return push(vm, v);
    case OP_BINFLOAT: {
        if (need(vm, 8) < 0)
            return -1;
        uint64_t bits = 0;
        for (int i = 0; i < 8; i++)
            bits = bits << 8 | vm->p[i];
        vm->p += 8;
        if ((v = pv_new(vm->a, PV_FLOAT)))
            memcpy(&v->u.f, &bits, sizeof bits);
        return push(vm, v);
    }

    case OP_SHORT_BINUNICODE:
    case OP_BINUNICODE:
    case OP_BINUNICODE8:
    case OP_SHORT_BINBYTES:
    case OP_BINBYTES:
    case OP_BINBYTES8:
    case OP_BYTEARRAY8:
    case OP_SHORT_BINSTRING:
    case OP_BINSTRING: {
        int w = (op == OP_SHORT_BINUNICODE || op == OP_SHORT_BINBYTES || op == OP_SHORT_BINSTRING) ? 1
              : (op == OP_BINUNICODE8 || op == OP_BINBYTES8 || op == OP_BYTEARRAY8) ? 8 : 4;
        if (need(vm, w) < 0)
            return -1;
        u = take_u(vm, w);
        if (op == OP_SHORT_BINSTRING || op == OP_BINSTRING)
            return push(vm, py2_string_value(vm, u));
        int is_str = op == OP_SHORT_BINUNICODE || op == OP_BINUNICODE || op == OP_BINUNICODE8;
        return push(vm, string_value(vm, u, is_str ? PV_STR : PV_BYTES));
    }

    case OP_EMPTY_TUPLE:   /* () is as immutable as an int: shared too */
        if (!vm->empty_tuple)
            vm->empty_tuple = make_seq(vm, PV_TUPLE, NULL, 0);
        return push(vm, vm->empty_tuple);
    case OP_TUPLE1:
    case OP_TUPLE2:
    case OP_TUPLE3: {
        size_t k3 = (size_t)(op - OP_TUPLE1 + 1);
        size_t floor = vm->nmarks ? vm->marks[vm->nmarks - 1] : 0;
        if (vm->stack.n - floor < k3)
            return fail(vm, "stack underflow");
        vm->stack.n -= k3;
        return push(vm, make_seq(vm, PV_TUPLE, vm->stack.v + vm->stack.n, k3));
    }
    case OP_TUPLE:
    case OP_LIST:
    case OP_FROZENSET:
        if (pop_mark(vm, &items, &n) < 0)
            return -1;
        return push(vm, make_seq(vm, op == OP_TUPLE ? PV_TUPLE : op == OP_LIST ? PV_LIST : PV_SET,
                                 items, n));
    case OP_EMPTY_LIST:
        return push(vm, make_seq(vm, PV_LIST, NULL, 0));
    case OP_EMPTY_SET:
        return push(vm, make_seq(vm, PV_SET, NULL, 0));
    case OP_EMPTY_DICT:
        if ((v = pv_new(vm->a, PV_DICT)))
            v->depth = 1;
        return push(vm, v);
    case OP_DICT:
        if (pop_mark(vm, &items, &n) < 0)
            return -1;
        if (n % 2)
            return fail(vm, "DICT with an odd number of items");
        if (!(v = pv_new(vm->a, PV_DICT)))
            return fail(vm, "out of memory");
        v->depth = 1;
        for (size_t i = 0; i < n; i += 2)
            if (dict_set(vm, v, items[i], items[i + 1]) < 0)
                return -1;
        return push(vm, v);

    case OP_APPEND:
        if (!(v = pop(vm)) || !(k = top(vm)))
            return -1;
        return list_append(vm, k, v);
    case OP_APPENDS:
    case OP_ADDITEMS:
        if (pop_mark(vm, &items, &n) < 0 || !(k = top(vm)))
            return -1;
        if (op == OP_ADDITEMS && k->kind != PV_SET)
            return fail(vm, "ADDITEMS target is not a set");
        for (size_t i = 0; i < n; i++) {
            if (op == OP_ADDITEMS) {
                if (nest(vm, k, items[i]) < 0 || pv_push(vm->a, &k->u.seq, items[i]) < 0)
                    return -1;
            } else if (list_append(vm, k, items[i]) < 0) {
                return -1;
            }
        }
        return 0;
    case OP_SETITEM:
        if (!(v = pop(vm)) || !(k = pop(vm)))
            return -1;
        Pv *d = top(vm);
        return d ? dict_set(vm, d, k, v) : -1;
    case OP_SETITEMS:
        if (pop_mark(vm, &items, &n) < 0 || !(k = top(vm)))
            return -1;
        if (n % 2)
            return fail(vm, "SETITEMS with an odd number of items");
        for (size_t i = 0; i < n; i += 2)
            if (dict_set(vm, k, items[i], items[i + 1]) < 0)
                return -1;
        return 0;

    case OP_BINPUT:
    case OP_LONG_BINPUT:
    case OP_MEMOIZE:
        if (op != OP_MEMOIZE && need(vm, op == OP_BINPUT ? 1 : 4) < 0)
            return -1;
        u = op == OP_MEMOIZE ? vm->memo.n : take_u(vm, op == OP_BINPUT ? 1 : 4);
        if (u > UINT32_MAX)
            return fail(vm, "memo index out of range");
        if (!(v = top(vm)))
            return -1;
        return memo_put(&vm->memo, (uint32_t)u, v) < 0 ? fail(vm, "out of memory") : 0;
    case OP_BINGET:
    case OP_LONG_BINGET:
        if (need(vm, op == OP_BINGET ? 1 : 4) < 0)
            return -1;
        u = take_u(vm, op == OP_BINGET ? 1 : 4);
        if (!(v = memo_get(&vm->memo, (uint32_t)u)))
            return fail(vm, "memo lookup of an index never stored");
        return push(vm, v);

    case OP_GLOBAL: {
        char module[257], name[257];
        if (global_line(vm, module, sizeof module - 1) < 0 || global_line(vm, name, sizeof name - 1) < 0)
            return -1;
        return push(vm, global_value(vm, module, name));
    }
    case OP_STACK_GLOBAL: {
        Pv *nm = pop(vm), *mod = nm ? pop(vm) : NULL;
        if (!mod)
            return -1;
        if (mod->kind != PV_STR || nm->kind != PV_STR)
            return fail(vm, "STACK_GLOBAL operands are not strings");
        if (mod->u.str.len > 256 || nm->u.str.len > 256 || !printable(mod) || !printable(nm))
            return fail(vm, "STACK_GLOBAL name is malformed (empty, longer than 256 bytes or with control characters)");
        return push(vm, global_value(vm, mod->u.str.s, nm->u.str.s));
    }
    case OP_REDUCE:
    case OP_NEWOBJ:
        v = pop(vm);
        return call(vm, op == OP_REDUCE ? CALL_REDUCE : CALL_NEWOBJ, v ? pop(vm) : NULL, v);
    case OP_NEWOBJ_EX: {
        Pv *kw = pop(vm);
        if (!kw)
            return -1;
        if (kw->kind != PV_DICT)
            return fail(vm, "NEWOBJ_EX keyword arguments are not a dict");
        v = pop(vm);
        k = v ? pop(vm) : NULL;
        if (!k || v->kind != PV_TUPLE)
            return k ? fail(vm, "call arguments are not a tuple") : -1;
        if (kw->u.dict.n) {   /* cls.__new__(cls, *args, **kwargs): the keywords count as arguments */
            Pv **all = arena_array(vm->a, (size_t)v->u.seq.n + 1, sizeof *all);
            if (!all)
                return fail(vm, "out of memory");
            if (v->u.seq.n)
                memcpy(all, v->u.seq.v, v->u.seq.n * sizeof *all);
            all[v->u.seq.n] = kw;
            v = make_seq(vm, PV_TUPLE, all, (size_t)v->u.seq.n + 1);
        }
        return call(vm, CALL_NEWOBJ, k, v);
    }
    case OP_BUILD: {
        Pv *state = pop(vm), *obj = state ? top(vm) : NULL;
        return obj ? build(vm, obj, state) : -1;
    }
    case OP_INST: {
        char module[257], name[257];
        if (global_line(vm, module, sizeof module - 1) < 0 || global_line(vm, name, sizeof name - 1) < 0 ||
            pop_mark(vm, &items, &n) < 0)
            return -1;
        return inst(vm, global_value(vm, module, name), items, n);
    }
    case OP_OBJ:
        if (pop_mark(vm, &items, &n) < 0)
            return -1;
        if (n == 0)
            return fail(vm, "OBJ without a class");
        return inst(vm, items[0], items + 1, n - 1);
    case OP_BINPERSID: {
        Pv *pid = pop(vm);
        if (!pid)
            return -1;
        if (!vm->h || !vm->h->persistent_load)
            return fail(vm, "persistent id in a pickle that may not have one");
        Pv *r = vm->h->persistent_load(vm->h->ctx, pid, vm->err);
        if (!r && scan_past(vm) == 0)
            r = inert_call(vm, "persistent_load", make_seq(vm, PV_TUPLE, &pid, 1));
        return r ? push(vm, r) : fail(vm, "bad persistent id");
    }
    /* Protocols 0 and 1: operands as '\n'-terminated text lines, decoded
     * by pickle_text.c (INST and OBJ, calls, are elsewhere). */
    case 'I':   /* INT */
    case 'L':   /* LONG */
    case 'F':   /* FLOAT */
    case 'S':   /* STRING */
    case 'V':   /* UNICODE */
    case 'p':   /* PUT */
    case 'g':   /* GET */
    case 'P': { /* PERSID */
        const char *name = op == 'I' ? "INT" : op == 'L' ? "LONG" : op == 'F' ? "FLOAT" : op == 'S' ? "STRING"
                         : op == 'V' ? "UNICODE" : op == 'p' ? "PUT" : op == 'g' ? "GET" : "PERSID";
        size_t max = op == 'I' || op == 'L' ? PTX_MAX_DIGITS + 2 : op == 'F' ? PTX_MAX_FLOAT
                   : op == 'p' || op == 'g' ? PTX_MAX_MEMO : op == 'P' ? PTX_MAX_PERSID : PTX_MAX_TEXT;
        size_t avail = (size_t)(vm->end - vm->p), len = 0;
        const uint8_t *s = vm->p;
        const char *why = ptx_line(s, avail, max, &len);
        char msg[160];
        if (why && avail > max) {
            if (op == 'I' || op == 'L')
                why = "has more than 4300 digits (Python's int() limit)";
            else {
                snprintf(msg, sizeof msg, "%s operand is a line longer than %zu bytes", name, max);
                return fail(vm, msg);
            }
        }
        if (!why) {
            vm->p += len + 1;
            v = NULL;
            if (op == 'I' || op == 'L') {
                uint8_t b[PTX_INT_BYTES];
                int boolean;
                if (!(why = ptx_int(s, len, op == 'L', b, &n, &boolean)))
                    return push(vm, boolean >= 0 ? shared_value(vm, &vm->bools[boolean], PV_BOOL, boolean)
                                                 : long_value(vm, b, n));
            } else if (op == 'F') {
                double d;
                if (!(why = ptx_float(s, len, &d))) {
                    if ((v = pv_new(vm->a, PV_FLOAT)))
                        v->u.f = d;
                    return push(vm, v);
                }
            } else if (op == 'S' || op == 'V') {
                if ((v = op == 'S' ? ptx_string(vm->a, s, len, &why) : ptx_unicode(vm->a, s, len, &why)))
                    return push(vm, v);
            } else if (op == 'p' || op == 'g') {
                uint32_t ix;
                if (!(why = ptx_memo_index(s, len, &ix))) {
                    if (op == 'g')
                        return (v = memo_get(&vm->memo, ix)) ? push(vm, v)
                                                              : fail(vm, "memo lookup of an index never stored");
                    if (!(v = top(vm)))
                        return -1;
                    return memo_put(&vm->memo, ix, v) < 0 ? fail(vm, "out of memory") : 0;
                }
            } else if (!(why = ptx_persid(s, len))) {
                if (!vm->h || !vm->h->persistent_load)
                    return fail(vm, "persistent id in a pickle that may not have one");
                Pv *pid = pv_str(vm->a, (const char *)s, len), *r;
                if (!pid)
                    return fail(vm, "out of memory");
                if ((r = vm->h->persistent_load(vm->h->ctx, pid, vm->err)))
                    return push(vm, r);
                snprintf(msg, sizeof msg, " (at byte %zu)", vm->op_at);   /* where, as call() says it */
                size_t l = strlen(vm->err->msg);
                if (vm->err->set && l + strlen(msg) < sizeof vm->err->msg)
                    memcpy(vm->err->msg + l, msg, strlen(msg) + 1);
                return fail(vm, "bad persistent id");
            }
        }
        if (strcmp(why, "out of memory") == 0)
            return fail(vm, why);
        snprintf(msg, sizeof msg, "%s operand %s", name, why);
        return fail(vm, msg);
    }
    case 0x82:   /* EXT1 */
    case 0x83:   /* EXT2 */
    case 0x84:   /* EXT4 */
        return fail(vm, "EXT opcode names the copyreg extension registry, which is empty in torch.load");
    case 0x97:   /* NEXT_BUFFER */
        return fail(vm, "NEXT_BUFFER needs an out-of-band buffer, and torch.load passes none");
    case 0x98:   /* READONLY_BUFFER: bytes are read-only already */
        if (!(v = top(vm)))
            return -1;
        return v->kind == PV_BYTES ? 0 : fail(vm, "READONLY_BUFFER on a value that is not a buffer");
    default: {
        char what[64];
        snprintf(what, sizeof what, "unsupported opcode 0x%02x", (unsigned)op);
        return fail(vm, what);
    }
    }
}

Pv *pk_load(const uint8_t *data, size_t len, Arena *a, const PkHooks *h, size_t *consumed,
            Err *err)
{
    Vm vm = {.p = data, .end = data + len, .start = data, .a = a, .h = h, .err = err};
    Pv *result = NULL;
    if (!(vm.marks = malloc(PK_MAX_MARKS * sizeof *vm.marks))) {
        err_set(err, "out of memory");
        return NULL;
    }
    for (;;) {
        if (vm.p >= vm.end) {
            vm.op_at = len;
            fail(&vm, "data ends before STOP (truncated pickle)");
            break;
        }
        vm.op_at = (size_t)(vm.p - vm.start);
        int r = step(&vm, *vm.p++);
        if (r < 0)
            break;
        if (r == 1) {
            if (vm.nmarks)
                fail(&vm, "STOP with an open MARK");
            else if (vm.stack.n != 1)
                fail(&vm, vm.stack.n ? "STOP with more than one value on the stack"
                                     : "STOP on an empty stack");
            else if (!consumed && vm.p != vm.end)
                fail(&vm, "bytes after STOP");
            else
                result = vm.stack.v[0];
            break;
        }
    }
    if (result && consumed)
        *consumed = (size_t)(vm.p - vm.start);
    Audit *au = h ? h->audit : NULL;
    if (!result && au && au->mode == AUDIT_SCAN && !au->error)   /* what stopped it, for rcc scan */
        au->error = arena_strndup(a, err->msg, strlen(err->msg));
    free(vm.marks);
    free(vm.stack.v);
    free(vm.memo.slots);
    free(vm.memo.dense);
    free(vm.keys.slots);
    ptrset_free(&vm.setstate);
    return result;
}
