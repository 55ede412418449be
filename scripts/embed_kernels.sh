#!/bin/sh
# scripts/embed_kernels.sh — the kernels' text as C strings, for `rcc gen`.
#
#   scripts/embed_kernels.sh src/gen/kernels/rk_common.h src/gen/kernels/rk_*.c > src/gen/kernels_text.c
#
# Writes a C file defining rk_sources[] (src/gen/kernels.h): for each file
# given, in the order given, its base name, its text byte for byte as a
# string literal, and its "requires:" list (the words after a line
# " * requires: rk_x.c ..." of the file's opening comment, "" when it has
# none).  Run by make
# (Makefile.am) over every src/gen/kernels/rk_*.c, sorted, so the output
# depends only on the files.  POSIX sh, sed and awk; no Python at build
# time.  src/gen/kernels/README.md describes the whole mechanism.
set -eu
LC_ALL=C
export LC_ALL

[ $# -gt 0 ] || { echo "usage: embed_kernels.sh FILE..." >&2; exit 2; }
printf '/* Generated from src/gen/kernels/ by scripts/embed_kernels.sh: do not edit. */\n'
printf '#include "kernels.h"\n\nconst rk_source rk_sources[] = {\n'
for f in "$@"; do
    [ -f "$f" ] || { echo "embed_kernels.sh: no file $f" >&2; exit 1; }
    name=${f##*/}
    case $name in
    *[!A-Za-z0-9_.-]*) echo "embed_kernels.sh: bad kernel file name $name" >&2; exit 1 ;;
    esac
    # A line of the opening comment (up to the first "*/") that starts,
    # after its " * ", with "requires:".
    req=$(awk '/^[ \t]*(\/?\*)?[ \t]*requires:/ { sub(/^[^:]*:[ \t]*/, ""); sub(/[ \t]*(\*\/)?[ \t]*$/, ""); print; exit }
               /\*\// { exit }' "$f")
    case $req in
    *[!A-Za-z0-9_.\ -]*) echo "embed_kernels.sh: $name: bad requires: line '$req'" >&2; exit 1 ;;
    esac
    printf '    {"%s",\n' "$name"
    # Each line as a literal: backslash, double quote and ? escaped (no
    # trigraphs), the newline restored.  (sed, whose replacement escapes
    # POSIX fixes; awk's gsub treats backslashes differently in mawk and gawk.)
    sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/?/\\?/g' -e 's/^/     "/' -e 's/$/\\n"/' "$f"
    printf '     ,\n     "%s"},\n' "$req"
done
printf '};\n\nconst size_t rk_nsources = sizeof rk_sources / sizeof rk_sources[0];\n'
