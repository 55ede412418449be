/* names.c — string-keyed hash tables for the compiler's name lookups.
 *
 * Elaboration and the forward checker look names up in scopes (a block's
 * parameters and constants, a forward's assigned values) and declarations
 * (blocks, models).  A list scanned per lookup costs the size of the scope
 * each time, which a flat spec of thousands of statements turns quadratic;
 * a table costs the length of the name.  Tables start empty (a zeroed
 * NameTab), live in the compilation's arena and double when half full:
 * the blocks left behind add up to less than the final one, so a table
 * costs memory in proportion to what it holds, never a fixed reserve.
 */
#include <string.h>

#include "arch.h"

static uint64_t name_hash(const char *s)
{
    uint64_t h = 0xcbf29ce484222325u;   /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 0x100000001b3u;
    return h;
}

/* The slot holding key, or the empty slot where it would go (cap > 0, and
 * never full: at most half the slots are used). */
static NameEnt *slot(const NameTab *t, const char *key)
{
    size_t i = (size_t)name_hash(key) & (t->cap - 1);
    while (t->ent[i].key && strcmp(t->ent[i].key, key) != 0)
        i = (i + 1) & (t->cap - 1);
    return &t->ent[i];
}

void *names_get(const NameTab *t, const char *key)
{
    if (!t->n)
        return NULL;
    const NameEnt *s = slot(t, key);
    return s->key ? s->val : NULL;
}

int names_put(Arena *a, NameTab *t, const char *key, void *val)
{
    if ((t->n + 1) * 2 > t->cap) {
        size_t ncap = t->cap ? t->cap : 8;
        while ((t->n + 1) * 2 > ncap) {
            if (ncap > SIZE_MAX / 2 / sizeof *t->ent)
                return -1;
            ncap *= 2;
        }
        NameTab grown = {arena_array(a, ncap, sizeof *t->ent), t->n, ncap};
        if (!grown.ent)
            return -1;
        for (size_t i = 0; i < t->cap; i++)
            if (t->ent[i].key)
                *slot(&grown, t->ent[i].key) = t->ent[i];
        *t = grown;
    }
    NameEnt *s = slot(t, key);
    if (!s->key) {
        s->key = key;
        t->n++;
    }
    s->val = val;
    return 0;
}
