/* scan_cmd.c — `rcc scan W... [--json]`: what torch.load would do with each file.
 *
 * The pickles are run in rcc's VM, which executes nothing, and every
 * global they name and every call they would make is reported with one
 * verdict per file (rcc_load_verdict):
 *   safe to torch.load(weights_only=True)
 *   needs its classes importable (weights_only=False), calls nothing else
 *   runs code at load: CALL
 *   unreadable: WHY            (the file or its pickle is malformed, and
 *                               nothing before the fault was a code call)
 * Exit status: the worst verdict: 0 safe, 1 needs classes, 2 runs code or
 * unreadable (or a usage error).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char usage_line[] = "usage: rcc scan W... [--json]";

enum Verdict { V_SAFE, V_CLASSES, V_CODE, V_UNREADABLE };

static const char *const verdict_id[] = {"safe", "needs-classes", "runs-code", "unreadable"};
static const char *const use_id[] = {"referenced", "interpreted", "class", "code"};

/* A code call before a fault is still made: only then does the fault not
 * decide the verdict. */
static enum Verdict verdict_of(const rcc_file *f)
{
    rcc_verdict v = rcc_load_verdict(f);
    if (v == RCC_RUNS_CODE)
        return V_CODE;
    if (rcc_scan_error(f))
        return V_UNREADABLE;
    return v == RCC_SAFE ? V_SAFE : V_CLASSES;
}

/* The verdict line's text after "FILE: ". */
static void print_verdict(FILE *out, const rcc_file *f, enum Verdict v, const char *err)
{
    switch (v) {
    case V_SAFE:
        fputs(strcmp(rcc_format(f), "safetensors") == 0 ? "safe to torch.load(weights_only=True): safetensors holds no pickle"
                                                        : "safe to torch.load(weights_only=True)", out);
        break;
    case V_CLASSES: fputs("needs its classes importable (weights_only=False), calls nothing else", out); break;
    case V_CODE: fprintf(out, "runs code at load: %s", rcc_call_at(f, 0)->text); break;
    case V_UNREADABLE: fprintf(out, "unreadable: %s", err); break;
    }
}

static void print_text(const char *path, const rcc_file *f, enum Verdict v)
{
    printf("%s: ", path);
    print_verdict(stdout, f, v, rcc_scan_error(f));
    putchar('\n');
    for (size_t i = 0; i < rcc_global_count(f); i++) {
        const rcc_global *g = rcc_global_at(f, i);
        printf("  global %s: ", g->name);
        switch (g->use) {
        case RCC_USE_REFERENCED: fputs("referenced", stdout); break;
        case RCC_USE_INTERPRETED: printf("interpreted, %zu call%s", g->calls, g->calls == 1 ? "" : "s"); break;
        case RCC_USE_CLASS:
            printf("class, %zu instance%s; torch.load imports it", g->calls, g->calls == 1 ? "" : "s");
            break;
        case RCC_USE_CODE: printf("runs code, %zu call%s", g->calls, g->calls == 1 ? "" : "s"); break;
        }
        printf("%s (%s at byte %" PRIu64 ")\n", g->weights_only ? "; weights_only allows it" : "", g->record,
               g->offset);
    }
    for (size_t i = 0; i < rcc_call_count(f); i++) {
        const rcc_call *c = rcc_call_at(f, i);
        printf("  call %s (%s at byte %" PRIu64 ")\n", c->text, c->record, c->offset);
    }
    if (v == V_CODE && rcc_scan_error(f))
        printf("  error: %s\n", rcc_scan_error(f));
}

static void print_json(const char *path, const rcc_file *f, enum Verdict v, const char *err, int first)
{
    fputs(first ? "\n  {\"file\": " : ",\n  {\"file\": ", stdout);
    cli_json_string(stdout, path);
    fputs(", \"format\": ", stdout);
    if (f)
        cli_json_string(stdout, rcc_format(f));
    else
        fputs("null", stdout);
    printf(", \"verdict\": \"%s\", \"message\": ", verdict_id[v]);
    char *msg = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&msg, &len);
    if (m) {
        print_verdict(m, f, v, err);
        fclose(m);
    }
    cli_json_string(stdout, msg ? msg : "");
    free(msg);
    fputs(",\n   \"globals\": [", stdout);
    for (size_t i = 0; f && i < rcc_global_count(f); i++) {
        const rcc_global *g = rcc_global_at(f, i);
        fputs(i ? ",\n    {\"name\": " : "\n    {\"name\": ", stdout);
        cli_json_string(stdout, g->name);
        printf(", \"use\": \"%s\", \"weights_only\": %s, \"references\": %zu, \"calls\": %zu, \"record\": ",
               use_id[g->use], g->weights_only ? "true" : "false", g->references, g->calls);
        cli_json_string(stdout, g->record);
        printf(", \"offset\": %" PRIu64 "}", g->offset);
    }
    fputs("],\n   \"calls\": [", stdout);
    for (size_t i = 0; f && i < rcc_call_count(f); i++) {
        const rcc_call *c = rcc_call_at(f, i);
        fputs(i ? ",\n    {\"call\": " : "\n    {\"call\": ", stdout);
        cli_json_string(stdout, c->text);
        fputs(", \"callable\": ", stdout);
        cli_json_string(stdout, c->callable);
        fputs(", \"record\": ", stdout);
        cli_json_string(stdout, c->record);
        printf(", \"offset\": %" PRIu64 "}", c->offset);
    }
    fputs("],\n   \"error\": ", stdout);
    if (err)
        cli_json_string(stdout, err);
    else
        fputs("null", stdout);
    fputs("}", stdout);
}

int cmd_scan(int argc, char **argv)
{
    int json = 0, nfiles = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            json = 1;
        else if (argv[i][0] == '-' && argv[i][1])
            return cli_error(NULL, "scan: unknown option '%s' (%s)", argv[i], usage_line);
        else
            nfiles++;
    }
    if (!nfiles)
        return cli_error(NULL, "scan: no weight file given (%s)", usage_line);
    enum Verdict worst = V_SAFE;
    int first = 1;
    if (json)
        fputs("{\"files\": [", stdout);
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            continue;
        const char *path = argv[i];
        char err[512];
        rcc_open_options opt = {.scan = 1};
        rcc_file *f = rcc_open(path, &opt, err, sizeof err);
        enum Verdict v = f ? verdict_of(f) : V_UNREADABLE;
        const char *why = f ? rcc_scan_error(f) : err;
        if (json) {
            print_json(path, f, v, why, first);
        } else if (f) {
            print_text(path, f, v);
        } else {
            printf("%s: unreadable: %s\n", path, err);
        }
        first = 0;
        if (v > worst)
            worst = v;
        rcc_close(f);
    }
    if (json)
        fputs("\n]}\n", stdout);
    if (fflush(stdout) != 0 || ferror(stdout))
        return cli_error(NULL, "scan: cannot write the output");
    return worst == V_SAFE ? 0 : worst == V_CLASSES ? EXIT_FINDING : EXIT_INPUT;
}
