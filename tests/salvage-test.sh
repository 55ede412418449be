#!/bin/sh
# tests/salvage-test.sh — automake LOG_COMPILER for tests/salvage/NAME.salvage
#
#   salvage-test.sh [DIR/]NAME.salvage
#
# NAME is a case made by tests/gen_damaged.py: $FIXTURES/NAME.pt (damaged
# or healthy) and $FIXTURES/NAME.damaged.json (what torch says about the
# original: its names, which must be intact, the expected exits and
# messages).  The .salvage file holds a one-line comment.  Checks:
#   1. `rcc dump W` and `rcc dump --json W` exit as expected; on exit 2,
#      stdout is empty and stderr is exactly "rcc: error: W: MESSAGE";
#   2. `rcc salvage W -o DIR/fixed.pt` exits as expected and writes nothing
#      on stdout; on exit 2, stderr is exactly the one error line and DIR
#      is left empty; otherwise DIR holds fixed.pt alone and
#      tests/salvage_check.py checks stderr (the lost tensors, the summary)
#      and the output against the original with torch: exactly the intact
#      tensors, bit for bit, sharing, views, torch.save's exact bytes;
#   3. salvaging fixed.pt again exits 0 and writes the same bytes.

. "$(dirname "$0")/setup.sh"

start_case .salvage "$@"
w=$FIXTURES/$name.pt
json=$FIXTURES/$name.damaged.json
hint="make the fixtures: $PYTHON $testsdir/gen_damaged.py $FIXTURES"
need_file "$w" "$hint"
need_file "$json" "$hint"
need_file "$testsdir/salvage_check.py"

field() {
    "$PYTHON" -c 'import json, sys
v = json.load(open(sys.argv[1]))[sys.argv[2]]
print("" if v is None else v)' "$json" "$1"
}
orig=$FIXTURES/$(field original)
dump_exit=$(field dump_exit)
dump_error=$(field dump_error)
salvage_exit=$(field salvage_exit)
salvage_error=$(field salvage_error)
need_file "$orig" "$hint"
say "case: $(field what)"

# expect_error ERRFILE MESSAGE: stderr is exactly "rcc: error: W: MESSAGE".
expect_error() {
    printf 'rcc: error: %s: %s\n' "$w" "$2" >"$tmp/want"
    if ! cmp -s "$tmp/want" "$1"; then
        show "expected stderr" "$tmp/want"
        show "stderr" "$1"
        fail "stderr is not the expected one line"
    fi
}

# 1. rcc dump
for mode in "" --json; do
    say "checking: rcc dump${mode:+ $mode} (expect exit $dump_exit)"
    # shellcheck disable=SC2086  # $mode is empty or one word
    run "$tmp/out" "$tmp/err" "$RCC" dump $mode "$w"
    [ "$rc" -eq "$dump_exit" ] || { show stderr "$tmp/err"; fail "rcc dump$mode exited $rc, expected $dump_exit"; }
    if [ "$rc" -eq 2 ]; then
        [ ! -s "$tmp/out" ] || { show stdout "$tmp/out"; fail "rcc dump$mode wrote to stdout on error"; }
        expect_error "$tmp/err" "$dump_error"
        say "  ok: $(cat "$tmp/err")"
    fi
done

# 2. rcc salvage
mkdir "$tmp/o"
out=$tmp/o/fixed.pt
say "checking: rcc salvage $w -o $out (expect exit $salvage_exit)"
run "$tmp/sout" "$tmp/serr" "$RCC" salvage "$w" -o "$out"
[ "$rc" -eq "$salvage_exit" ] || { show stderr "$tmp/serr"; fail "rcc salvage exited $rc, expected $salvage_exit"; }
[ ! -s "$tmp/sout" ] || { show stdout "$tmp/sout"; fail "rcc salvage wrote to stdout"; }
left=$(ls -A "$tmp/o")
if [ "$rc" -eq 2 ]; then
    expect_error "$tmp/serr" "$salvage_error"
    [ -z "$left" ] || fail "rcc salvage failed but left files behind: $left"
    say "  ok: exit 2, $(cat "$tmp/serr"), nothing written"
    say "PASS: $name"
    exit 0
fi
[ "$left" = fixed.pt ] || fail "the output directory holds '$left', expected fixed.pt alone"
show "salvage stderr" "$tmp/serr"
"$PYTHON" "$testsdir/salvage_check.py" "$json" "$orig" "$w" "$out" "$tmp/serr" ||
    fail "the salvaged file disagrees with torch's view of the original"

# 3. a salvaged file is healthy: salvaging it again changes nothing
run "$tmp/sout" "$tmp/serr" "$RCC" salvage "$out" -o "$tmp/o/again.pt"
[ "$rc" -eq 0 ] || { show stderr "$tmp/serr"; fail "salvaging the output again exited $rc, expected 0"; }
cmp -s "$out" "$tmp/o/again.pt" || fail "salvaging the output again wrote different bytes"
say "PASS: $name"
exit 0
