/* gen_cmd.c — `rcc gen SPEC.arch -o model.c`: the command around src/gen.
 *
 * Exit status: 0 written, 2 the spec does not compile, a size is missing,
 * or an operation has no code generator yet (nothing is written then). */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "gen.h"

static const char usage_line[] =
    "usage: rcc gen SPEC.arch -o MODEL.c [--main] [--embed W] [--prefix P] [--model NAME] "
    "[--size SYM=VALUE]... [-MD -MF FILE.d]";

/* --size T=8: into b; -1 when malformed. */
static int parse_size(char *s, SizeBind *b)
{
    char *eq = strchr(s, '=');
    if (!eq || eq == s) return -1;
    *eq = 0;
    char *end;
    long long v = strtoll(eq + 1, &end, 10);
    if (*end || v < 1 || v > (1LL << 40)) return -1;
    *b = (SizeBind){s, v};
    return 0;
}

int cmd_gen(int argc, char **argv)
{
    GenOptions o = {0};
    SizeBind sizes[32];
    int md = 0;
    o.sizes = sizes;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int more = i + 1 < argc;
        if (!strcmp(a, "--main")) o.main = 1;
        else if (!strcmp(a, "-MD")) md = 1;
        else if (!strcmp(a, "-o") && more) o.out_c = argv[++i];
        else if (!strcmp(a, "-MF") && more) o.depfile = argv[++i];
        else if (!strcmp(a, "--embed") && more) o.embed = argv[++i];
        else if (!strcmp(a, "--prefix") && more) o.prefix = argv[++i];
        else if (!strcmp(a, "--model") && more) o.model = argv[++i];
        else if (!strcmp(a, "--size") && more) {
            if (o.nsizes >= 32 || parse_size(argv[++i], &sizes[o.nsizes++]) < 0)
                return cli_error(NULL, "gen: --size takes NAME=VALUE with VALUE a positive integer (%s)", usage_line);
        } else if (a[0] == '-' && a[1]) return cli_error(NULL, "gen: unknown option '%s' (%s)", a, usage_line);
        else if (!o.spec) o.spec = a;
        else return cli_error(NULL, "gen: too many arguments (%s)", usage_line);
    }
    if (!o.spec || !o.out_c) return cli_error(NULL, "gen: %s", usage_line);
    if (o.depfile && !md) return cli_error(NULL, "gen: -MF needs -MD");
    if (md && !o.depfile) return cli_error(NULL, "gen: -MD needs -MF FILE.d");
    return gen_files(&o);
}
