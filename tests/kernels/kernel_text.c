/* kernel_text.c — the kernels' text as rcc embeds it (src/gen/kernels.h), for
 * tests/kernels-text.sh.
 *
 *   kernel_text --list          the embedded file names, one per line
 *   kernel_text --raw NAME      NAME's embedded text, verbatim
 *   kernel_text --requires NAME NAME's requires: list
 *   kernel_text NAME...         rk_emit of rk_closure(NAME...): the unit
 *                               `rcc gen` would paste into model.c
 * Exit 0, or 2 with a message on stderr.
 */
#include <stdio.h>
#include <string.h>

#include "kernels.h"

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "--list") == 0) {
        for (size_t i = 0; i < rk_nsources; i++) printf("%s\n", rk_sources[i].name);
        return 0;
    }
    if (argc == 3 && (strcmp(argv[1], "--raw") == 0 || strcmp(argv[1], "--requires") == 0)) {
        const rk_source *s = rk_source_find(argv[2]);
        if (!s) {
            fprintf(stderr, "kernel_text: no kernel file %s\n", argv[2]);
            return 2;
        }
        if (strcmp(argv[1], "--raw") == 0)
            fputs(s->text, stdout);
        else
            printf("%s\n", s->requires);
        return 0;
    }
    if (argc < 2 || argv[1][0] == '-') {
        fprintf(stderr, "usage: kernel_text --list | --raw NAME | --requires NAME | NAME...\n");
        return 2;
    }
    const rk_source *list[256];
    char err[256];
    int n = rk_closure((const char *const *)(argv + 1), (size_t)(argc - 1), list, 256, err, sizeof err);
    if (n < 0) {
        fprintf(stderr, "kernel_text: %s\n", err);
        return 2;
    }
    if (rk_emit(stdout, list, (size_t)n) != 0 || fflush(stdout) != 0) {
        fprintf(stderr, "kernel_text: write error\n");
        return 2;
    }
    return 0;
}
