/* check_cmd.c — `rcc check model.arch W`: the command around check.c.
 *
 * Exit status: 0 the spec and the file agree exactly, 1 they disagree
 * (diagnostics say where and how), 2 the spec does not compile (including
 * a forward that does not type-check, shapes.c) or the file cannot be read. */
#include <stdio.h>
#include <string.h>

#include "arch.h"
#include "cli.h"

static const char usage_line[] =
    "usage: rcc check SPEC.arch W [--json] [--model NAME] [--key PATH] [--strip-prefix P] [--strict-dtype] [--allow-calls]";

int cmd_check(int argc, char **argv)
{
    const char *spec = NULL, *w = NULL, *model = NULL, *key = NULL;
    CheckOptions o = {0};
    int json = 0, allow_calls = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--json") == 0)
            json = 1;
        else if (strcmp(a, "--strict-dtype") == 0)
            o.strict_dtype = 1;
        else if (strcmp(a, "--allow-calls") == 0)
            allow_calls = 1;
        else if ((strcmp(a, "--model") == 0 || strcmp(a, "--key") == 0 || strcmp(a, "--strip-prefix") == 0) &&
                 i + 1 < argc)
            *(a[2] == 'm' ? &model : a[2] == 'k' ? &key : &o.strip_prefix) = argv[++i];
        else if (a[0] == '-' && a[1])
            return cli_error(NULL, "check: unknown option '%s' (%s)", a, usage_line);
        else if (!spec)
            spec = a;
        else if (!w)
            w = a;
        else
            return cli_error(NULL, "check: too many arguments (%s)", usage_line);
    }
    if (!spec || !w)
        return cli_error(NULL, "check: %s", usage_line);

    Arena arena = {0};
    Diags d;
    Elab e;
    diag_init(&d, &arena);
    int status = 0;
    if (elab_file(&e, &d, &arena, spec, model) < 0) {
        status = EXIT_INPUT;
    } else if (shapes_check(&e) < 0) {
        /* A forward that does not type-check is a spec that does not
         * compile, whatever the weights: exit 2, the file is not read. */
        status = EXIT_INPUT;
    } else {
        char err[512];
        rcc_open_options opt = {.key = key, .allow_calls = allow_calls};
        rcc_file *f = rcc_open(w, &opt, err, sizeof err);
        if (!f) {
            status = cli_error(w, "%s", err);
        } else {
            cli_warn_calls(w, f);
            status = check_weights(&e, f, w, &o) ? EXIT_FINDING : 0;
            if (status == 0 && !json) {
                printf("%s: %s matches %s: %zu keys, shapes and dtypes\n", spec, e.model->name, w, e.ntensors);
                if (e.forward_sig)
                    printf("%s: forward %s\n", spec, e.forward_sig);
            }
            rcc_close(f);
        }
    }
    if (json)
        diag_render_json(&d, stdout);
    else
        diag_render(&d, stderr);
    arena_free(&arena);
    return status;
}
