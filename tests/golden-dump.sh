#!/bin/sh
# tests/golden-dump.sh — automake LOG_COMPILER for tests/golden/NAME.dump
#
#   golden-dump.sh [DIR/]NAME.dump
#
# NAME.dump is the exact expected output of `rcc dump NAME.pt`, run in
# $FIXTURES: the table, the totals and the summary of what else the file
# holds.  On a difference the unified diff is shown and left in NAME.diff
# in the current directory.  To accept a new output after reviewing it:
#   (cd $FIXTURES && rcc dump NAME.pt) > tests/golden/NAME.dump
. "$(dirname "$0")/setup.sh"

start_case .dump "$@"
need_file "$FIXTURES/$name.pt"

say "checking: rcc dump $name.pt against $1"
(cd "$FIXTURES" && run "$tmp/out" "$tmp/err" "$RCC" dump "$name.pt" && echo "$rc" >"$tmp/rc")
rc=$(cat "$tmp/rc")
[ "$rc" -eq 0 ] || { show "stderr" "$tmp/err"; fail "rcc dump exited with $rc"; }
if ! diff -u "$1" "$tmp/out" >"$tmp/diff"; then
    cp "$tmp/diff" "$name.diff"
    cat "$tmp/diff"
    fail "output differs from $1 (diff left in $name.diff)"
fi
rm -f "$name.diff"
say "PASS: $name"
