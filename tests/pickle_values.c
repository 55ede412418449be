/* pickle_values.c — test program: the values rcc's pickle VM builds, in a
 * canonical text that tests/gen_protocols.py writes from Python's own.
 *
 *   pickle_values --pickle FILE   FILE is one plain pickle; a persistent id
 *                                 reads as the tuple ('persid', pid)
 *   pickle_values --torch FILE    FILE is a weight file: rcc_open's whole
 *                                 pickled object (the root)
 *
 * Prints one line: None, True, False, an int in decimal (any size), f:
 * and a float's 16 hex digits of IEEE bits, s: and a str's UTF-8 bytes in
 * hex, b: and bytes in hex, (...), [...], {k: v, ...}, set{...}, T for a
 * tensor, obj:NAME for an inert object.  Exit 2 with the error on stderr.
 * It uses librcc's internal header: the VM's values are not public.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static void put(const Pv *v, int depth);

static void hex(const char *tag, const char *s, size_t n)
{
    printf("%s", tag);
    for (size_t i = 0; i < n; i++)
        printf("%02x", (unsigned char)s[i]);
}

/* Little-endian two's complement of n bytes, in decimal. */
static void bigint(const uint8_t *le, size_t n)
{
    int neg = n && (le[n - 1] & 0x80);
    uint8_t *m = malloc(n ? n : 1);
    char *digits = malloc(3 * n + 2);
    if (!m || !digits)
        exit(3);
    unsigned carry = 1;
    for (size_t i = 0; i < n; i++) {   /* the magnitude */
        if (neg) {
            unsigned t = (uint8_t)~le[i] + carry;
            m[i] = (uint8_t)t;
            carry = t >> 8;
        } else {
            m[i] = le[i];
        }
    }
    size_t nd = 0, top = n;
    do {   /* divide the big-endian-walked magnitude by 10 */
        unsigned rem = 0;
        for (size_t i = top; i-- > 0;) {
            unsigned cur = rem << 8 | m[i];
            m[i] = (uint8_t)(cur / 10);
            rem = cur % 10;
        }
        digits[nd++] = (char)('0' + rem);
        while (top && m[top - 1] == 0)
            top--;
    } while (top);
    if (neg)
        putchar('-');
    while (nd)
        putchar(digits[--nd]);
    free(m);
    free(digits);
}

static void items(Pv *const *v, size_t n, int depth)
{
    for (size_t i = 0; i < n; i++) {
        if (i)
            printf(", ");
        put(v[i], depth + 1);
    }
}

static void put(const Pv *v, int depth)
{
    if (depth > 50) {
        printf("...");
        return;
    }
    switch (v->kind) {
    case PV_NONE: printf("None"); break;
    case PV_BOOL: printf(v->u.b ? "True" : "False"); break;
    case PV_INT: printf("%lld", (long long)v->u.i); break;
    case PV_BIGINT: bigint((const uint8_t *)v->u.str.s, v->u.str.len); break;
    case PV_FLOAT: {
        uint64_t bits;
        memcpy(&bits, &v->u.f, sizeof bits);
        printf("f:%016llx", (unsigned long long)bits);
        break;
    }
    case PV_STR: hex("s:", v->u.str.s, v->u.str.len); break;
    case PV_BYTES: hex("b:", v->u.str.s, v->u.str.len); break;
    case PV_TUPLE: printf("("); items(v->u.seq.v, v->u.seq.n, depth); printf(")"); break;
    case PV_LIST: printf("["); items(v->u.seq.v, v->u.seq.n, depth); printf("]"); break;
    case PV_SET: printf("set{"); items(v->u.seq.v, v->u.seq.n, depth); printf("}"); break;
    case PV_DICT:
        printf("{");
        for (size_t i = 0; i < v->u.dict.n; i++) {
            printf(i ? ", " : "");
            put(v->u.dict.keys[i], depth + 1);
            printf(": ");
            put(v->u.dict.vals[i], depth + 1);
        }
        printf("}");
        break;
    case PV_TENSOR: printf("T"); break;
    case PV_OBJECT: printf("obj:%s", v->u.obj.qualname); break;
    case PV_GLOBAL: printf("global:%s", v->u.glob.qualname); break;
    case PV_STORAGE: printf("storage"); break;
    case PV_DTYPE: printf("dtype:%s", v->u.dtype.name ? v->u.dtype.name : "?"); break;
    }
}

static Pv *persid(void *ctx, Pv *pid, Err *err)
{
    (void)err;
    Pv *items2[2] = {pv_str(ctx, "persid", 6), pid};
    Pv *t = pv_new(ctx, PV_TUPLE);
    if (!t || !items2[0] || pv_push(ctx, &t->u.seq, items2[0]) < 0 || pv_push(ctx, &t->u.seq, pid) < 0)
        return NULL;
    return t;
}

int main(int argc, char **argv)
{
    if (argc != 3 || (strcmp(argv[1], "--pickle") != 0 && strcmp(argv[1], "--torch") != 0)) {
        fprintf(stderr, "usage: pickle_values --pickle|--torch FILE\n");
        return 2;
    }
    char msg[512];
    if (strcmp(argv[1], "--torch") == 0) {
        rcc_file *f = rcc_open(argv[2], NULL, msg, sizeof msg);
        if (!f) {
            fprintf(stderr, "pickle_values: error: %s\n", msg);
            return 2;
        }
        put(f->root, 0);
        putchar('\n');
        rcc_close(f);
        return 0;
    }
    size_t len;
    char *data = util_read_file(argv[2], &len);
    if (!data) {
        fprintf(stderr, "pickle_values: error: cannot read %s\n", argv[2]);
        return 2;
    }
    Arena a = {0};
    Err err = {0};
    PkHooks h = {.ctx = &a, .persistent_load = persid};
    Pv *v = pk_load((const uint8_t *)data, len, &a, &h, NULL, &err);
    if (!v) {
        fprintf(stderr, "pickle_values: error: %s\n", err.msg);
        free(data);
        arena_free(&a);
        return 2;
    }
    put(v, 0);
    putchar('\n');
    free(data);
    arena_free(&a);
    return 0;
}
