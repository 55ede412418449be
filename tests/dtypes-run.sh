#!/bin/sh
# tests/dtypes-run.sh — an FP8 checkpoint, end to end.
#
# $FIXTURES/dt_mlp_fp8.safetensors (tests/gen_dtypes.py) is an MLP whose
# weights are F8_E4M3 codes.  `rcc infer` must recognise the mlp family
# and declare f32 parameters; `rcc check` must accept the file, noting that
# its FP8 tensors are read as f32; and `rcc run` must give the output torch
# computes with the weights decoded by the generator's own FP8 decoder
# (dt_mlp_fp8.out.npy), within 1e-4 (tests/parity_compare.py).
. "$(dirname "$0")/setup.sh"

need_env RCC FIXTURES PYTHON srcdir
w=$FIXTURES/dt_mlp_fp8.safetensors
for f in "$w" "$FIXTURES/dt_mlp_fp8.in.npy" "$FIXTURES/dt_mlp_fp8.out.npy"; do
    need_file "$f" "make the fixtures: $PYTHON $testsdir/gen_dtypes.py $FIXTURES"
done
: "${RCC_SPECS:=$srcdir/specs}"
export RCC_SPECS
XDG_CACHE_HOME=$tmp/cache
export XDG_CACHE_HOME

run "$tmp/m.arch" "$tmp/err" "$RCC" infer "$w"
[ "$rc" -eq 0 ] || { show stderr "$tmp/err"; fail "rcc infer: exit $rc"; }
grep -q 'family mlp' "$tmp/m.arch" || { show spec "$tmp/m.arch"; fail "rcc infer did not recognise the mlp family"; }
say "ok: rcc infer: $(head -n 1 "$tmp/m.arch")"

run "$tmp/out" "$tmp/err" "$RCC" check "$tmp/m.arch" "$w"
[ "$rc" -eq 0 ] || { show stdout "$tmp/out"; show stderr "$tmp/err"; fail "rcc check: exit $rc"; }
grep -q 'are not f32 and will be read as f32: 0.weight f8e4m3fn' "$tmp/err" ||
    { show stderr "$tmp/err"; fail "rcc check does not say the FP8 tensors are read as f32"; }
say "ok: rcc check: $(head -n 1 "$tmp/out")"

run "$tmp/o" "$tmp/err" "$RCC" run "$tmp/m.arch" "$w" "$FIXTURES/dt_mlp_fp8.in.npy" -o "$tmp/y.npy"
[ "$rc" -eq 0 ] || { show stderr "$tmp/err"; fail "rcc run: exit $rc"; }
"$PYTHON" "$testsdir/parity_compare.py" "dt_mlp_fp8" "$tmp/y.npy" "$FIXTURES/dt_mlp_fp8.out.npy" ||
    fail "rcc run of the FP8 MLP differs from torch on the decoded weights"
say "PASS: dtypes-run"
