#!/bin/sh
# tests/gen-parity.sh — automake LOG_COMPILER for tests/gen/NAME.gen (issue 9)
#
#   gen-parity.sh [DIR/]NAME.gen
#
# `rcc run specs/NAME.arch WEIGHTS IN0.npy [IN1.npy ...] -o OUT0.npy ...`
# must give torch's outputs for the model, at batch 1 and at batch 4.
# The fixtures are tests/gen_parity.py's, in $FIXTURES/parity/NAME/:
# `weights` (the weight file, relative to $FIXTURES), b{B}_in{I}.npy,
# b{B}_out{K}.npy, `sizes` (the non-batch sizes, which rcc run takes from
# the inputs' shapes).  Each output is compared by parity_compare.py:
# max|rcc - torch| / max|torch| at most 1e-4 (printed), same dtype, same
# shape.  Fails (never skips) when rcc has no `run` command, when rcc run
# fails or writes no output, or on any output out of bounds; every output
# of both batches is compared before failing.
#
# rcc run compiles the model and caches the binary under $XDG_CACHE_HOME:
# a fresh one in $tmp for each test (the second batch reuses the first's
# binary), removed with $tmp.  Compiling a large model takes a while: the
# time limit per rcc run is RCC_TEST_TIMEOUT, here 900 s unless set.
: "${RCC_TEST_TIMEOUT:=900}"
. "$(dirname "$0")/setup.sh"

start_case .gen "$@"
need_env srcdir PYTHON
spec=specs/$name.arch
dir=$FIXTURES/parity/$name
hint="the fixtures of tests/gen_parity.py, which make check writes"
need_file "$srcdir/$spec"
need_file "$FIXTURES/parity/manifest.txt" "$hint"
need_file "$dir/weights" "$hint"
need_file "$dir/sizes" "$hint"
weights=$FIXTURES/$(cat "$dir/weights")
need_file "$weights" "$hint"
compare=$testsdir/parity_compare.py
need_file "$compare"

XDG_CACHE_HOME=$tmp/cache
export XDG_CACHE_HOME
mkdir "$XDG_CACHE_HOME"
say "model: $(sed -n '1s/^#[[:space:]]*//p' "$1")"
say "spec: $spec, weights: $(cat "$dir/weights"), sizes: $(tr '\n' ' ' <"$dir/sizes")"
cd "$srcdir"

failed=0
for b in 1 4; do
    set --
    i=0
    while [ -f "$dir/b${b}_in$i.npy" ]; do
        set -- "$@" "$dir/b${b}_in$i.npy"
        i=$((i + 1))
    done
    [ "$i" -gt 0 ] || fail "no $dir/b${b}_in0.npy ($hint)"
    mkdir "$tmp/b$b"
    k=0
    while [ -f "$dir/b${b}_out$k.npy" ]; do
        set -- "$@" -o "$tmp/b$b/out$k.npy"
        k=$((k + 1))
    done
    [ "$k" -gt 0 ] || fail "no $dir/b${b}_out0.npy ($hint)"

    say "batch $b: rcc run $spec $(cat "$dir/weights") ($i inputs, $k outputs)"
    run "$tmp/out" "$tmp/err" "$RCC" run "$spec" "$weights" "$@"
    if [ "$rc" -ne 0 ]; then
        show stdout "$tmp/out"
        show stderr "$tmp/err"
        if grep -q "unknown command 'run'" "$tmp/err"; then
            fail "$name: this rcc has no 'run' command: the code generator of issue 9 is missing"
        fi
        fail "$name: rcc run exited $rc at batch $b"
    fi
    j=0
    while [ "$j" -lt "$k" ]; do
        label="$name batch $b out$j"
        if [ ! -f "$tmp/b$b/out$j.npy" ]; then
            say "$label: rcc run exited 0 but wrote no out$j.npy"
            failed=1
        elif ! "$PYTHON" "$compare" "$label" "$tmp/b$b/out$j.npy" "$dir/b${b}_out$j.npy" 1e-4; then
            failed=1
        fi
        j=$((j + 1))
    done
done
[ "$failed" -eq 0 ] || fail "$name: rcc run's outputs are not torch's"
say "PASS: $name"
