#!/bin/sh
# tests/fn-sigs.sh — the forward's function table (src/lang/shapefn.c) against
# torch: every function exists in each namespace the table spells it in,
# with torch's signature (tests/fn_sigs.py, run with torch).
. "$(dirname "$0")/setup.sh"
need_env RCC_FN_DUMP PYTHON
need_exe "$RCC_FN_DUMP" RCC_FN_DUMP
run "$tmp/table" "$tmp/err" "$RCC_FN_DUMP"
[ "$rc" -eq 0 ] || { show stderr "$tmp/err"; fail "fn_dump exited $rc"; }
"$PYTHON" "$testsdir/fn_sigs.py" "$tmp/table" || fail "the function table differs from torch's signatures"
say "PASS: fn-sigs"
