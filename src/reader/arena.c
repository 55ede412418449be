/* arena.c — one bump allocator per open file.
 *
 * Everything the reader builds from a file (zip entries, pickle values,
 * tensor records, names) lives exactly as long as the file is open, so it
 * is carved from chunks that are all freed by arena_free.  Sizes come from
 * untrusted files: every size computation here is overflow-checked. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "internal.h"

struct ArenaChunk {
    ArenaChunk *next;
    size_t      used, cap;
    int         mapped;   /* from mmap (else calloc) */
    _Alignas(16) unsigned char data[];
};

/* Chunks grow with the arena (a quarter of what it holds so far, between
 * 64 KiB and 1 MiB), so a file of many small values costs few chunks; and
 * they come zeroed (calloc hands out fresh memory from the kernel already
 * zeroed, and large chunks are mapped), so allocations need no memset of
 * their own: the arena never reuses memory. */
enum { CHUNK_MIN = 64 * 1024, CHUNK_MAP = 256 * 1024, CHUNK_MAX = 1024 * 1024 };

/* A chunk of cap bytes, zeroed.  Large ones are mapped with their pages
 * populated at once: the arena fills its chunks before it takes another,
 * so the pages are touched anyway, and one mmap costs far less than a
 * page fault per 4 KiB (a quarter of opening a file of 20,000 tensors). */
static ArenaChunk *new_chunk(size_t cap)
{
    size_t bytes = sizeof(ArenaChunk) + cap;
    if (cap >= CHUNK_MAP && cap <= CHUNK_MAX) {   /* a block larger than that may be filled lazily */
        void *m = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
        if (m != MAP_FAILED) {
            ArenaChunk *c = m;
            c->mapped = 1;
            return c;
        }
    }
    return calloc(1, bytes);
}

void *arena_alloc(Arena *a, size_t n)
{
    /* 8-byte alignment is all any reader or front-end record needs (no
     * long double, no vector type), and half the padding of 16: a file of
     * 20,000 tensors makes some 300,000 small blocks (strings of a few
     * bytes, 1-item tuples, 1-dim shapes). */
    size_t need = (n + 7) & ~(size_t)7;
    if (need < n)
        return NULL;
    ArenaChunk *c = a->head;
    if (!c || c->cap - c->used < need) {
        size_t grow = a->total / 4;
        grow = grow < CHUNK_MIN ? CHUNK_MIN : grow > CHUNK_MAX ? CHUNK_MAX : grow;
        size_t cap = need > grow ? need : grow;
        if (cap > SIZE_MAX - sizeof(ArenaChunk))
            return NULL;
        c = new_chunk(cap);
        if (!c)
            return NULL;
        c->used = 0;
        c->cap = cap;
        a->total += cap;
        /* A big block gets a chunk of its own behind the current one, so the
         * current chunk's free space is not wasted. */
        if (a->head && cap == need && need > grow) {
            c->next = a->head->next;
            a->head->next = c;
        } else {
            c->next = a->head;
            a->head = c;
        }
    }
    void *p = c->data + c->used;
    c->used += need;
    return p;
}

void *arena_array(Arena *a, size_t count, size_t size)
{
    size_t n;
    if (__builtin_mul_overflow(count, size, &n))
        return NULL;
    return arena_alloc(a, n);
}

int arena_grow(Arena *a, void **arr, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap)
        return 0;
    size_t ncap = *cap ? *cap : 8;
    while (ncap < need) {
        if (ncap > SIZE_MAX / 2)
            return -1;
        ncap *= 2;
    }
    void *p = arena_array(a, ncap, size);
    if (!p)
        return -1;
    if (*arr && *cap)
        memcpy(p, *arr, *cap * size);
    *arr = p;
    *cap = ncap;
    return 0;
}

int arena_reserve(Arena *a, void **arr, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap)
        return 0;
    void *p = arena_array(a, need, size);
    if (!p)
        return -1;
    if (*arr && *cap)
        memcpy(p, *arr, *cap * size);
    *arr = p;
    *cap = need;
    return 0;
}

char *arena_strndup(Arena *a, const char *s, size_t n)
{
    if (n == SIZE_MAX)
        return NULL;
    char *p = arena_alloc(a, n + 1);
    if (p && n)
        memcpy(p, s, n);
    return p;
}

char *arena_printf(Arena *a, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return NULL;
    char *p = arena_alloc(a, (size_t)n + 1);
    if (!p)
        return NULL;
    va_start(ap, fmt);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return p;
}

void arena_free(Arena *a)
{
    ArenaChunk *c = a->head;
    while (c) {
        ArenaChunk *next = c->next;
        if (c->mapped)
            munmap(c, sizeof(ArenaChunk) + c->cap);
        else
            free(c);
        c = next;
    }
    a->head = NULL;
    a->total = 0;
}
