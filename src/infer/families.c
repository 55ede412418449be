/* families.c — the family library of rcc infer; a stub until it is written: no family covers any file. */
#include "infer.h"

int infer_families(const rcc_file *f, const char *wpath, const InferOptions *o, FILE *out, FILE *log, char *err,
                   size_t errlen) { (void)f, (void)wpath, (void)o, (void)out, (void)log, (void)err, (void)errlen; return 0; }
