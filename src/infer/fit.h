/* fit.h — fitting one family spec to a weight file's keys (fit.c), used
 * by families.c.  The language side of free values is src/lang/free.c. */
#ifndef RCC_FIT_H
#define RCC_FIT_H

#include "arch.h"

typedef struct FamilyResult {
    char    name[64];       /* the family: its file's name without .arch */
    int     covers;         /* a run made every key of the file, as the file has it */
    size_t  matched;        /* the best run: tensors made as the file has them */
    size_t  runs;           /* elaborations the search took */
    char    why[400];       /* the best run that failed: why */
    char   *spec;           /* covers: the spec, every free value written out (malloc'd) */
    char   *explain;        /* covers: one line per decision: what, its value, how (malloc'd) */
    char   *warnings;       /* covers: the free values nothing decided, located (malloc'd; "" none) */
    size_t  nguessed;       /* values taken from the family's defaults */
} FamilyResult;

/* The file's keys for fitting: sorted, and the loop counts its lists
 * suggest.  keys[i].key point into the file; fit_keys_free releases the
 * arrays. */
typedef struct FitFile {
    const rcc_file *file;
    const char *prefix;     /* a wrapper's prefix on every key ("module."), stripped for fitting; the
                               spec written declares the model as that child */
    FitKey  *keys;
    size_t   nkeys;
    int64_t *counts;
    size_t   ncounts;
} FitFile;

int  fit_file_init(FitFile *ff, const rcc_file *f, size_t strip);
void fit_file_free(FitFile *ff);

/* What a covering run's spec must also pass (families.c: rcc check's
 * whole check, forward included): 0, or -1 with why. */
typedef int (*FitAccept)(const char *spec, void *ctx, char *why, size_t cap);

/* Fits the family spec at path to ff (wname names the weight file in the
 * output's first comment); a run that covers the file wins only when
 * accept takes its spec, else the search goes on.  0 with *r filled
 * (covers or not); -1 when out of memory. */
int  fit_family(const char *path, const FitFile *ff, const char *wname, FitAccept accept, void *ctx,
    FamilyResult *r);
void fit_result_free(FamilyResult *r);

#endif /* RCC_FIT_H */
