/* kernels.h — the text of the kernels that `rcc gen` copies into model.c.
 *
 * The kernels (src/gen/kernels/rk_*.c, with rk_common.h; see
 * src/gen/kernels/README.md) are C source the generated code contains, not
 * code rcc runs.  make turns each file into a string of
 * src/gen/kernels_text.c (scripts/embed_kernels.sh); this header declares that
 * table and the two operations the generator needs: the files a set of
 * kernel files needs, in an order that compiles, and their text as one
 * translation unit.
 */
#ifndef RCC_KERNELS_H
#define RCC_KERNELS_H

#include <stddef.h>
#include <stdio.h>

/* One file of src/gen/kernels/: its base name ("rk_conv.c"), its text, and the
 * files its opening comment says it calls ("rk_act.c", space-separated;
 * "" for none). */
typedef struct rk_source {
    const char *name, *text, *requires;
} rk_source;

/* Every file, rk_common.h first, then rk_*.c sorted by name (kernels_text.c). */
extern const rk_source rk_sources[];
extern const size_t rk_nsources;

/* The file named name, or NULL. */
const rk_source *rk_source_find(const char *name);

/* The files names[0..n) need, each once, every file after the files it
 * requires (so the result compiles in order): up to cap entries into out.
 * Returns the count, or -1 with a message in err (an unknown name, a
 * requirement cycle, more than cap files). */
int rk_closure(const char *const *names, size_t n, const rk_source **out, size_t cap, char *err, size_t errlen);

/* Writes rk_common.h's text, then the text of list[0..n) in order, each
 * without its #include "rk_common.h" line: one self-contained C99 unit.
 * Returns 0, or -1 when writing fails. */
int rk_emit(FILE *f, const rk_source *const *list, size_t n);

#endif
