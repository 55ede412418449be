#!/bin/sh
# tests/kernels-text.sh — the kernels' text as rcc embeds it for `rcc gen`.
#
# Through tests/kernels/kernel_text (src/gen/kernels.c over the generated
# src/gen/kernels_text.c), checks that
#   - the embedded files are exactly rk_common.h and every
#     src/gen/kernels/rk_*.c, byte for byte (a stale or partial embedding fails);
#   - each kernel file, pasted after what its requires: line names (as the
#     generator will paste it), compiles alone as C99 with -pedantic
#     -Wall -Wextra -Werror (a missing requires: line, a stray include, a
#     GNU extension fail), unused functions aside;
#   - all of them compile together, so no two files define the same name,
#     and the object defines no external symbol (everything static);
#   - rk_closure refuses a file name it does not have.
# Environment: RCC_KERNEL_TEXT (the program), RK_CC and RK_CPPFLAGS (the
# compiler and the flags that find <cblas.h>), srcdir.
. "$(dirname "$0")/setup.sh"
need_env RCC_KERNEL_TEXT RK_CC srcdir
need_exe "$RCC_KERNEL_TEXT" RCC_KERNEL_TEXT
kt=$RCC_KERNEL_TEXT
kdir=$srcdir/src/gen/kernels
[ -d "$kdir" ] || fail "no $kdir"

# shellcheck disable=SC2012  # names are rk_*.c, no odd characters
{ echo rk_common.h; ls "$kdir" | grep '^rk_.*\.c$' | sort; } >"$tmp/want"
"$kt" --list >"$tmp/list" || fail "kernel_text --list failed"
diff -u "$tmp/want" "$tmp/list" || fail "the embedded files are not src/gen/kernels/rk_common.h + rk_*.c"
n=0
while read -r f; do
    "$kt" --raw "$f" >"$tmp/raw" || fail "kernel_text --raw $f failed"
    cmp -s "$tmp/raw" "$kdir/$f" || fail "$f: embedded text differs from $kdir/$f (stale src/gen/kernels_text.c?)"
    n=$((n + 1))
done <"$tmp/list"
say "ok   $n files embedded byte for byte"

cflags="-std=c99 -pedantic -Wall -Wextra -Werror -Wno-unused-function ${RK_CPPFLAGS:-}"
all=
while read -r f; do
    [ "$f" = rk_common.h ] && continue
    all="$all $f"
    "$kt" "$f" >"$tmp/one.c" || fail "kernel_text $f failed"
    # shellcheck disable=SC2086  # cflags is a list of words
    $RK_CC $cflags -c "$tmp/one.c" -o "$tmp/one.o" 2>"$tmp/err" || {
        cat "$tmp/err"
        fail "$f does not compile alone after its requires: ($( "$kt" --requires "$f"))"
    }
    say "ok   $f compiles alone (requires: $("$kt" --requires "$f"))"
done <"$tmp/list"

# shellcheck disable=SC2086
"$kt" $all >"$tmp/all.c" || fail "kernel_text (all) failed"
# shellcheck disable=SC2086
$RK_CC $cflags -c "$tmp/all.c" -o "$tmp/all.o" 2>"$tmp/err" || {
    cat "$tmp/err"
    fail "the kernel files do not compile together (a name defined twice?)"
}
ext=$(nm -g --defined-only "$tmp/all.o" | sed -n 's/^[0-9a-f]* [A-Z] //p')
[ -z "$ext" ] || fail "kernels define external names (not static): $ext"
say "ok   all kernel files compile together, no external names"

# rk_closure refuses an unknown file (a requires: naming one fails the same way).
if "$kt" rk_no_such_kernel.c >"$tmp/out" 2>"$tmp/err"; then
    fail "kernel_text accepted an unknown kernel file"
fi
grep -q "no kernel file rk_no_such_kernel.c" "$tmp/err" || fail "unexpected message: $(cat "$tmp/err")"
say "ok   an unknown kernel file is refused"
