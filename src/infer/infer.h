/* infer.h — `rcc infer`: an architecture spec from a weight file alone.
 *
 * Two ways, tried in this order:
 *
 *   families.c  the family library (specs/families/NAME.arch): each family
 *               is a model whose free parameters are written `?` (solved
 *               from the file) or `?(a, b, ...)` (one of these), fitted to
 *               the file by fit.c; the family that covers the file exactly
 *               wins and is written out with every `?` replaced by its value
 *               and a comment saying how it was decided.
 *   fallback.c  for a file no family covers: every key declared exactly
 *               (layers recognised by name and shape, or taken with their
 *               constructor arguments from a whole pickled model's modules,
 *               the rest as raw param/buffer declarations) and a forward
 *               guessed as a chain, marked `# guessed`.
 *
 * Whatever the file, what `rcc infer` writes passes `rcc check` against it.
 */
#ifndef RCC_INFER_H
#define RCC_INFER_H

#include <stdio.h>

#include "rcc.h"

typedef struct InferOptions {
    const char *specs_dir;   /* the family library: --specs, else $RCC_SPECS, else the installed one */
    const char *family;      /* --family NAME: fit only this one */
    int         explain;     /* --explain: the keys and shapes that decided it, on stderr */
    int         no_families; /* --fallback: skip the families */
} InferOptions;

/* Fits every family of the library to f.  1: one covered the file and its
 * spec went to out (what won and what was decided how goes to log);
 * 0: none did (with explain, the nearest and what did not match went to
 * log); -1: an error, message in err. */
int infer_families(const rcc_file *f, const char *wpath, const InferOptions *o, FILE *out, FILE *log,
    char *err, size_t errlen);

/* The fallback spec of f to out (notes to log): 0, or -1 with a message
 * in err. */
int infer_fallback(const rcc_file *f, const char *wpath, FILE *out, FILE *log, char *err, size_t errlen);

/* What both ways share to check the spec they wrote as `rcc check`
 * would (fallback.c): len bytes of text in a new temporary file ($TMPDIR,
 * else /tmp), its name into path, which the caller removes: 0, or -1
 * with why; and the first error of a compilation's diagnostics, on one
 * line. */
struct Diags;
int  infer_temp_spec(const char *text, size_t len, char *path, size_t pathcap, char *why, size_t cap);
void infer_first_error(const struct Diags *d, char *why, size_t cap);

#endif /* RCC_INFER_H */
