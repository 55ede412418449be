/* kernels.c — ordering and pasting the kernels' text (kernels.h).
 *
 * The kernel files name their dependencies in a "requires:" line; a
 * depth-first walk puts each file after the ones it requires and reports
 * a cycle or an unknown name rather than emitting text that would not
 * compile.  Pasting drops each file's #include "rk_common.h" (rk_common.h
 * itself comes first, once), so the result needs no include path.
 */
#include <stdio.h>
#include <string.h>

#include "kernels.h"

const rk_source *rk_source_find(const char *name)
{
    for (size_t i = 0; i < rk_nsources; i++)
        if (strcmp(rk_sources[i].name, name) == 0) return &rk_sources[i];
    return NULL;
}

/* state[i]: 0 unseen, 1 on the walk's path, 2 placed. */
static int visit(const rk_source *s, unsigned char *state, const rk_source **out, size_t *n, size_t cap,
                 char *err, size_t errlen)
{
    size_t i = (size_t)(s - rk_sources);
    if (state[i] == 2) return 0;
    if (state[i] == 1) {
        snprintf(err, errlen, "kernel %s requires itself (a cycle of requires: lines)", s->name);
        return -1;
    }
    state[i] = 1;
    const char *p = s->requires;
    while (*p) {
        while (*p == ' ') p++;
        size_t len = strcspn(p, " ");
        if (len == 0) break;
        char name[128];
        if (len >= sizeof name) {
            snprintf(err, errlen, "kernel %s: requires: name too long", s->name);
            return -1;
        }
        memcpy(name, p, len);
        name[len] = '\0';
        const rk_source *r = rk_source_find(name);
        if (!r) {
            snprintf(err, errlen, "kernel %s requires %s, which does not exist", s->name, name);
            return -1;
        }
        if (visit(r, state, out, n, cap, err, errlen) != 0) return -1;
        p += len;
    }
    state[i] = 2;
    if (*n == cap) {
        snprintf(err, errlen, "more than %zu kernel files", cap);
        return -1;
    }
    out[(*n)++] = s;
    return 0;
}

int rk_closure(const char *const *names, size_t n, const rk_source **out, size_t cap, char *err, size_t errlen)
{
    unsigned char state[256] = {0};
    size_t count = 0;
    if (rk_nsources > sizeof state) {
        snprintf(err, errlen, "too many kernel files (%zu)", rk_nsources);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        const rk_source *s = rk_source_find(names[i]);
        if (!s) {
            snprintf(err, errlen, "no kernel file %s", names[i]);
            return -1;
        }
        if (visit(s, state, out, &count, cap, err, errlen) != 0) return -1;
    }
    return (int)count;
}

/* Writes text without its lines that are exactly #include "rk_common.h". */
static int emit_one(FILE *f, const char *text)
{
    static const char inc[] = "#include \"rk_common.h\"";
    const char *p = text;
    while (*p) {
        const char *e = strchr(p, '\n');
        size_t len = e ? (size_t)(e - p) + 1 : strlen(p);
        int skip = strncmp(p, inc, sizeof inc - 1) == 0 && (p[sizeof inc - 1] == '\n' || p[sizeof inc - 1] == '\0');
        if (!skip && fwrite(p, 1, len, f) != len) return -1;
        p += len;
    }
    return 0;
}

int rk_emit(FILE *f, const rk_source *const *list, size_t n)
{
    const rk_source *common = rk_source_find("rk_common.h");
    if (!common || emit_one(f, common->text) != 0) return -1;
    for (size_t i = 0; i < n; i++) {
        if (list[i] == common) continue;
        if (fprintf(f, "\n") < 0 || emit_one(f, list[i]->text) != 0) return -1;
    }
    return ferror(f) ? -1 : 0;
}
