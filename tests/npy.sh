#!/bin/sh
# tests/npy.sh — the .npy reader and writer of generated mains
# (src/gen/kernels/rk_npy.c, through tests/kernels/test_npy): files numpy
# wrote (versions 1.0, 2.0, 3.0, every shape form) read as numpy wrote
# them; crafted hostile files (a lying header length, shapes that overflow,
# Fortran order, truncation, other dtypes) refused with their message;
# rk_npy_expect's messages; rk_npy_write's files load in numpy as the
# originals; a write error is reported.  tests/gen_npy.py writes the cases.
. "$(dirname "$0")/setup.sh"
need_env RCC_TEST_NPY PYTHON
need_exe "$RCC_TEST_NPY" RCC_TEST_NPY
"$PYTHON" "$testsdir/gen_npy.py" write "$tmp/npy" >/dev/null || fail "gen_npy.py write failed"
mkdir "$tmp/out"
full=
if [ -w /dev/full ]; then full=/dev/full; fi
run "$tmp/log" "$tmp/err" "$RCC_TEST_NPY" "$tmp/npy" "$tmp/out" $full
[ "$rc" -eq 0 ] || { grep -v '^ok' "$tmp/log" || :; show stderr "$tmp/err"; fail "test_npy exited $rc"; }
say "ok   test_npy: $(tail -n 1 "$tmp/log")"
run "$tmp/log2" "$tmp/err" "$PYTHON" "$testsdir/gen_npy.py" check "$tmp/npy" "$tmp/out"
[ "$rc" -eq 0 ] || { grep -v '^ok' "$tmp/log2" || :; show stderr "$tmp/err"; fail "numpy does not load rk_npy_write's files as the originals"; }
say "ok   numpy: $(tail -n 1 "$tmp/log2")"
[ -n "$full" ] || skip "no writable /dev/full: the write error was not tried (every other check passed)"
say "PASS: npy"
