#!/bin/sh
# tests/syntax.sh — automake LOG_COMPILER for tests/syntax/NAME.arch
#
#   syntax.sh [DIR/]NAME.arch
#
# Runs tests/arch_parse on NAME.arch from the top of the source tree, with
# the relative path tests/syntax/NAME.arch, so that diagnostics name the
# file the same way in every build tree.  A line "# flags: ..." among the
# first three lines of NAME.arch gives arch_parse's options (--spans,
# --json).  The output — arch_parse's stdout (the AST), then its stderr
# (the diagnostics), then a line "exit N" — must equal tests/syntax/NAME.out
# byte for byte.  On a difference the unified diff is shown and left in
# NAME.diff in the current directory; a missing golden is a failure that
# shows the output.  To accept the output after reviewing it:
#   RCC_ACCEPT=1 make check TESTS=tests/syntax/NAME.arch
. "$(dirname "$0")/setup.sh"

[ $# -eq 1 ] || fail "usage: $(basename "$0") [DIR/]NAME.arch"
need_env RCC_ARCH_PARSE
need_exe "$RCC_ARCH_PARSE" RCC_ARCH_PARSE
name=$(basename "$1" .arch)
top=$(cd "$testsdir/.." && pwd)
rel=tests/syntax/$name.arch
golden=tests/syntax/$name.out
need_file "$top/$rel"
flags=$(sed -n '1,3s/^# flags: //p' "$top/$rel")

say "checking: arch_parse${flags:+ $flags} $rel against $golden"
# shellcheck disable=SC2086  # $flags are separate words
(cd "$top" && run "$tmp/out" "$tmp/err" "$RCC_ARCH_PARSE" $flags "$rel" && echo "$rc" >"$tmp/rc")
{
    cat "$tmp/out" "$tmp/err"
    echo "exit $(cat "$tmp/rc")"
} >"$tmp/actual"

if [ "${RCC_ACCEPT:-}" = 1 ]; then
    cp "$tmp/actual" "$top/$golden"
    cat "$tmp/actual"
    say "accepted: $golden"
    exit 0
fi
if [ ! -f "$top/$golden" ]; then
    echo "  --- output:"
    sed 's/^/  | /' "$tmp/actual"
    fail "missing golden $golden (review the output above; RCC_ACCEPT=1 writes it)"
fi
if ! diff -u "$top/$golden" "$tmp/actual" >"$tmp/diff"; then
    cp "$tmp/diff" "$name.diff"
    cat "$tmp/diff"
    fail "output differs from $golden (diff left in $name.diff)"
fi
rm -f "$name.diff"
say "PASS: $name"
