/* infer_cmd.c — provisional `rcc infer W` (families only). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "infer.h"

int cmd_infer(int argc, char **argv)
{
    InferOptions o = {0};
    const char *w = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--explain")) o.explain = 1;
        else if (!strcmp(argv[i], "--family") && i + 1 < argc) o.family = argv[++i];
        else if (!strcmp(argv[i], "--specs") && i + 1 < argc) o.specs_dir = argv[++i];
        else w = argv[i];
    }
    if (!o.specs_dir) o.specs_dir = getenv("RCC_SPECS");
    if (!w || !o.specs_dir) return cli_error(NULL, "infer: usage");
    char err[512];
    rcc_file *f = rcc_open(w, NULL, err, sizeof err);
    if (!f) return cli_error(w, "%s", err);
    int r = infer_families(f, w, &o, stdout, stderr, err, sizeof err);
    rcc_close(f);
    if (r < 0) return cli_error(w, "%s", err);
    return r ? 0 : 1;
}
