#!/bin/sh
# tests/load.sh — rcc_load_f32 / rcc_load_i64, the loader calls of generated
# model code (gen9.md), on the dtypes fixture (every dtype, scalars, empty
# and non-contiguous tensors), dt_v3 (tests/gen_dtypes.py: FP8, u16..u64,
# complex) and the mlp fixture: values bit for bit as torch wrote them or,
# for dt_v3, as the generator's own decoder says (tests/load_expect.py),
# and every refusal's message (tests/load_test.c).
. "$(dirname "$0")/setup.sh"
need_env RCC_LOAD_TEST FIXTURES PYTHON
need_exe "$RCC_LOAD_TEST" RCC_LOAD_TEST
for name in dtypes dt_v3 mlp; do
    need_file "$FIXTURES/$name.pt" "written by tests/gen_fixtures.py and tests/gen_dtypes.py"
    "$PYTHON" "$testsdir/load_expect.py" "$FIXTURES" "$name" >"$tmp/$name.manifest" ||
        fail "load_expect.py $name failed"
    run "$tmp/out" "$tmp/err" "$RCC_LOAD_TEST" "$FIXTURES/$name.pt" "$tmp/$name.manifest"
    [ "$rc" -eq 0 ] || { show stdout "$tmp/out"; show stderr "$tmp/err"; fail "load_test $name.pt exited $rc"; }
    say "ok   $name.pt: $(tail -n 1 "$tmp/out")"
done
say "PASS: load"
