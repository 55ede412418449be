#!/bin/sh
# tests/fn-run.sh MODEL.fnrun — one model of tests/check/specs/fn_nn.arch,
# fn_tensor.arch or fn_layers.arch (a forward that calls a family of functions with their
# edge cases) compiled and run by `rcc run`, each output against torch's
# (tests/gen_fn.py runs the same calls in torch: $FIXTURES/fn/MODEL).
# Floats within 1e-4 of max |torch|, integers and bools exactly.
: "${RCC_TEST_TIMEOUT:=600}"
. "$(dirname "$0")/setup.sh"
start_case .fnrun "$@"
need_env srcdir PYTHON
dir=$FIXTURES/fn/$name
need_file "$dir/in0.npy" "tests/gen_fn.py's fixtures, which make check writes"
spec=
for s in fn_nn.arch fn_tensor.arch fn_layers.arch; do
    grep -q "^model $name {" "$srcdir/tests/check/specs/$s" && spec=$srcdir/tests/check/specs/$s
done
[ -n "$spec" ] || fail "no model $name in fn_nn.arch, fn_tensor.arch or fn_layers.arch"
XDG_CACHE_HOME=$tmp/cache
export XDG_CACHE_HOME
set --
i=0
while [ -f "$dir/in$i.npy" ]; do set -- "$@" "$dir/in$i.npy"; i=$((i + 1)); done
i=0
while [ -f "$dir/out$i.npy" ]; do set -- "$@" -o "$tmp/out$i.npy"; i=$((i + 1)); done
nout=$i
run "$tmp/stdout" "$tmp/stderr" "$RCC" run --model "$name" "$spec" "$FIXTURES/fn_$name.pt" "$@"
[ "$rc" -eq 0 ] || { show stderr "$tmp/stderr"; fail "rcc run of $name: exit $rc"; }
failed=0
i=0
while [ "$i" -lt "$nout" ]; do
    "$PYTHON" "$testsdir/parity_compare.py" "$name out$i" "$tmp/out$i.npy" "$dir/out$i.npy" || failed=1
    i=$((i + 1))
done
[ "$failed" -eq 0 ] || fail "$name: an output differs from torch's"
say "PASS: $name: $nout outputs as torch computes them"
