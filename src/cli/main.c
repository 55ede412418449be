/* main.c — the rcc command: dispatch to a subcommand, shared diagnostics. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "internal.h"

static const char usage[] =
    "usage: rcc COMMAND [ARGS]\n"
    "\n"
    "Recover, check and compile PyTorch models from their weight files.\n"
    "\n"
    "commands:\n"
    "  dump W [--json] [--modules] [--verify] [--key PATH] [--allow-calls]\n"
    "                    list every tensor of a weight file (and the module\n"
    "                    tree of a pickled whole model)\n"
    "  check SPEC.arch W [--json] [--model NAME] [--key PATH] [--strip-prefix P] [--strict-dtype]\n"
    "                    [--allow-calls]\n"
    "                    compare a spec's keys, shapes and dtypes with a weight\n"
    "                    file (exit 1 on a mismatch)\n"
    "  infer W [-o OUT.arch] [--explain] [--key PATH] [--family NAME] [--specs DIR] [--fallback]\n"
    "                    [--allow-calls]\n"
    "                    write a spec for a weight file: a family of the library\n"
    "                    fitted to it, else every key declared and a forward guessed\n"
    "  gen SPEC.arch -o MODEL.c [--main] [--embed W] [--prefix P] [--size SYM=VALUE]... [-MD -MF F.d]\n"
    "                    a C forward function (and MODEL.h) specialised to the spec\n"
    "  run SPEC.arch W IN.npy... -o OUT.npy... [--repeat N] [--threads N]\n"
    "                    generate, compile (cached) and run the model on .npy inputs\n"
    "  salvage W -o OUT [--key PATH] [--allow-calls]\n"
    "                    write the intact tensors of a damaged file as a torch\n"
    "                    state dict; say which were lost (exit 1 if any)\n"
    "  scan W... [--json]\n"
    "                    what torch.load would do with each file: every global\n"
    "                    and call its pickles hold, and a verdict (exit 0 safe\n"
    "                    with weights_only=True, 1 needs its classes, 2 runs code)\n"
    "\n"
    "Files whose pickle makes a call that torch.load would run (anything but\n"
    "rebuilding tensors, containers and plain class instances) are refused by\n"
    "every command; --allow-calls reads past those calls (never making them)\n"
    "and names each in a warning.\n"
    "\n"
    "options:\n"
    "  --help       this text\n"
    "  --version    the version\n"
    "\n"
    "Exit status: 0 success, 1 a finding, 2 a usage or input error.\n";

static void vreport(const char *kind, const char *file, const char *fmt, va_list ap)
{
    fprintf(stderr, "rcc: %s: ", kind);
    if (file)
        fprintf(stderr, "%s: ", file);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

int cli_error(const char *file, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vreport("error", file, fmt, ap);
    va_end(ap);
    return EXIT_INPUT;
}

void cli_warning(const char *file, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vreport("warning", file, fmt, ap);
    va_end(ap);
}

void cli_warn_calls(const char *file, const rcc_file *f)
{
    /* as the error would name it: a legacy file's pickle is one of five */
    int legacy = strcmp(rcc_format(f), "legacy") == 0;
    for (size_t i = 0; i < rcc_call_count(f); i++) {
        const rcc_call *c = rcc_call_at(f, i);
        cli_warning(file, "%s%s%sthe pickle calls %s (at byte %llu); torch.load would run it; rcc did not",
                    legacy ? "legacy file: " : "", legacy ? c->record : "", legacy ? ": " : "", c->text,
                    (unsigned long long)c->offset);
    }
}

void cli_json_string(FILE *out, const char *s)
{
    util_json_string(out, s);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fputs(usage, stderr);
        return EXIT_INPUT;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
        fputs(usage, stdout);
        return 0;
    }
    if (strcmp(cmd, "--version") == 0) {
        printf("rcc %s\n", rcc_version());
        return 0;
    }
    if (strcmp(cmd, "dump") == 0)
        return cmd_dump(argc - 1, argv + 1);
    if (strcmp(cmd, "infer") == 0)
        return cmd_infer(argc - 1, argv + 1);
    if (strcmp(cmd, "check") == 0)
        return cmd_check(argc - 1, argv + 1);
    if (strcmp(cmd, "run") == 0)
        return cmd_run(argc - 1, argv + 1);
    if (strcmp(cmd, "gen") == 0)
        return cmd_gen(argc - 1, argv + 1);
    if (strcmp(cmd, "salvage") == 0)
        return cmd_salvage(argc - 1, argv + 1);
    if (strcmp(cmd, "scan") == 0)
        return cmd_scan(argc - 1, argv + 1);
    cli_error(NULL, "unknown command '%s' (see rcc --help)", cmd);
    return EXIT_INPUT;
}
