#!/bin/sh
# tests/check-golden.sh — automake LOG_COMPILER for tests/check/NAME.check
#
# NAME.check holds a one-line comment saying what the case proves and
#   spec: PATH          the .arch file, relative to the source tree
#   weights: FILE       a fixture ($FIXTURES/FILE.pt)
#   args: ...           more options for rcc check (optional)
#   status: N           the exit status rcc check must give
# NAME.out is the golden: everything rcc check prints (stdout, then
# stderr), with the fixture folder written FIXTURES.  rcc runs in the
# source tree, so spec paths in diagnostics are stable.  On a difference
# the diff is shown and left in NAME.diff; a missing golden is a failure
# that shows what rcc printed.
. "$(dirname "$0")/setup.sh"
start_case .check "$@"
case_dir=$(cd "$(dirname "$1")" && pwd)
field() { sed -n "s/^$1:[[:space:]]*//p" "$2"; }
spec=$(field spec "$1")
weights=$(field weights "$1")
args=$(field args "$1")
want=$(field status "$1")
[ -n "$spec" ] && [ -n "$weights" ] && [ -n "$want" ] || fail "$1 needs spec:, weights: and status: lines"
need_file "$FIXTURES/$weights.pt"

say "checking: rcc check $spec $weights.pt $args (exit $want)"
# shellcheck disable=SC2086  # args are words
(cd "$srcdir" && run "$tmp/out" "$tmp/err" "$RCC" check "$spec" "$FIXTURES/$weights.pt" $args && echo "$rc" >"$tmp/rc")
rc=$(cat "$tmp/rc")
cat "$tmp/out" "$tmp/err" | sed "s|$FIXTURES/|FIXTURES/|g" >"$tmp/all"
status=0
[ "$rc" -eq "$want" ] || { echo "FAIL: exit $rc, expected $want"; status=1; }
golden=$case_dir/$name.out
if [ ! -f "$golden" ]; then
    show "output (no golden $golden yet)" "$tmp/all"
    fail "missing golden $golden"
fi
if ! diff -u "$golden" "$tmp/all" >"$tmp/diff"; then
    cp "$tmp/diff" "$name.diff"
    cat "$tmp/diff"
    status=1
fi
[ "$status" -eq 0 ] || fail "$name"
rm -f "$name.diff"
say "PASS: $name"
