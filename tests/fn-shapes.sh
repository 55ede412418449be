#!/bin/sh
# tests/fn-shapes.sh — the forward's functions against torch: every model
# of tests/check/specs/fn_*.arch type-checks to the output type torch
# computes (tests/gen_fn.py wrote FIXTURES/fn_expect.txt and the models'
# weights), or, for those torch rejects, fails with one located error.
. "$(dirname "$0")/setup.sh"
need_env RCC FIXTURES PYTHON srcdir
need_exe "$RCC" RCC
need_file "$FIXTURES/fn_expect.txt" "written by tests/gen_fn.py"
cd "$srcdir"
"$PYTHON" "$testsdir/fn_compare.py" "$RCC" "$FIXTURES" || fail "rcc's forward types differ from torch's"
say "PASS: fn-shapes"
