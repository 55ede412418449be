/* fuzz_arch.c — libFuzzer target over the .arch front end.
 *
 * The input is a spec's text: the scanner, the parser with its error
 * recovery, and both diagnostic renderers run on it.  Any crash, leak or
 * sanitizer report is a finding.  Built by `make fuzz`. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "arch.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    Arena a = {0};
    Diags d;
    diag_init(&d, &a);
    uint32_t f = diag_add_file(&d, "fuzz.arch", (const char *)data, size);
    arch_parse(&d, &a, f);
    FILE *sink = fopen("/dev/null", "w");
    if (sink) {
        diag_render(&d, sink);
        diag_render_json(&d, sink);
        fclose(sink);
    }
    arena_free(&a);
    return 0;
}
