/* cli.h — the rcc command-line tool: one function per subcommand.
 *
 * The CLI uses only the public library API (rcc.h).  Each command returns
 * the process exit status: 0 success, 1 a finding (mismatch, loss), 2 a
 * usage or input error, reported as one line "rcc: error: FILE: what". */
#ifndef RCC_CLI_H
#define RCC_CLI_H

#include <stdio.h>

#include "rcc.h"

enum { EXIT_FINDING = 1, EXIT_INPUT = 2 };

int cmd_dump(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_infer(int argc, char **argv);
int cmd_salvage(int argc, char **argv);
int cmd_gen(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_scan(int argc, char **argv);

/* Diagnostics on stderr, prefixed "rcc: error: " / "rcc: warning: ". */
int  cli_error(const char *file, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void cli_warning(const char *file, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* --allow-calls: a warning for each call the file's pickle makes that
 * torch.load would run (rcc did not). */
void cli_warn_calls(const char *file, const rcc_file *f);

/* Writes s as a JSON string literal (quotes and escapes included). */
void cli_json_string(FILE *out, const char *s);

#endif
