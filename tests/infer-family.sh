#!/bin/sh
# tests/infer-family.sh — automake LOG_COMPILER for tests/infer/CASE.infer (issue 10)
#
#   infer-family.sh [DIR/]CASE.infer
#
# `rcc infer` must recover the model of a weight file alone.  The case is
# the file's name (its one line says what the model is); the fixtures are
# tests/gen_infer.py's, in $FIXTURES/infer/CASE/: the weight file
# (weights.pt or weights.safetensors), `family`, `expect` (name = value
# lines), in{I}.npy, out{K}.npy (torch's outputs at batch 2), `sizes`.
#
#   1. rcc infer WEIGHTS -o t.arch exits 0 and its log (stderr) names the
#      family that won: the first stderr line with the word `family`
#      followed by a name (`family: resnet`, `rcc: infer: family resnet
#      fits ...`) is printed, and that name must be the case's family.
#   2. rcc check t.arch WEIGHTS exits 0.
#   3. every `name = value` of expect is assigned in t.arch, as a line
#      `name = value` (a trailing comment allowed) or a keyword argument on
#      one line; the values are compared as values (infer_expect.py).
#   4. rcc run t.arch WEIGHTS in0.npy ... -o o0.npy ... gives torch's
#      outputs: parity_compare.py, max|rcc - torch| / max|torch| at most
#      1e-4, printed.
# Every step runs and reports before the test fails; the spec is shown on
# a failure.  Fails (never skips) when rcc has no `infer` command.  The
# family library is $RCC_SPECS/families, else specs/families of the source tree.
# rcc run caches its binary under $XDG_CACHE_HOME: a fresh one in $tmp.
# Time limit per rcc command: RCC_TEST_TIMEOUT, here 900 s unless set.
: "${RCC_TEST_TIMEOUT:=900}"
. "$(dirname "$0")/setup.sh"

start_case .infer "$@"
need_env srcdir PYTHON
dir=$FIXTURES/infer/$name
hint="the fixtures of tests/gen_infer.py, which make check writes"
need_file "$FIXTURES/infer/manifest.txt" "$hint"
need_file "$dir/family" "$hint"
need_file "$dir/expect" "$hint"
need_file "$dir/in0.npy" "$hint"
need_file "$dir/out0.npy" "$hint"
compare=$testsdir/parity_compare.py
expect_py=$testsdir/infer_expect.py
need_file "$compare"
need_file "$expect_py"
about=$(sed -n '1s/^#[[:space:]]*//p' "$1")
set -- "$dir"/weights.*
[ $# -eq 1 ] && [ -f "$1" ] || fail "$name: not exactly one weight file $dir/weights.* ($hint)"
weights=$1
family=$(cat "$dir/family")

: "${RCC_SPECS:=$srcdir/specs}"
export RCC_SPECS
XDG_CACHE_HOME=$tmp/cache
export XDG_CACHE_HOME
mkdir "$XDG_CACHE_HOME"
say "model: $about"
say "weights: infer/$name/$(basename "$weights"), family $family, sizes: $(tr '\n' ' ' <"$dir/sizes")"
spec=$tmp/t.arch
failed=0

# 1. infer
run "$tmp/out" "$tmp/err" "$RCC" infer "$weights" -o "$spec"
if [ "$rc" -ne 0 ]; then
    show stdout "$tmp/out"
    show stderr "$tmp/err"
    if grep -q "unknown command 'infer'" "$tmp/err"; then
        fail "$name: this rcc has no 'infer' command (issue 10)"
    fi
    fail "$name: rcc infer exited $rc"
fi
[ -s "$spec" ] || { show stderr "$tmp/err"; fail "$name: rcc infer exited 0 but wrote no spec"; }
# `family NAME`, `family: NAME`, `family = 'NAME'`: the word family, then a name
pat='(^|[^[:alnum:]_])family([[:space:]]*[:=][[:space:]]*|[[:space:]]+)["'\''`]?[[:alnum:]_]+'
line=$(grep -m 1 -E "$pat" "$tmp/err" || true)
got=$(printf '%s\n' "$line" | grep -o -E "$pat" | head -n 1 | sed -E 's/.*[^[:alnum:]_]([[:alnum:]_]+)$/\1/')
say "infer: ${line:-(no line of stderr names a family)}"
if [ "$got" != "$family" ]; then
    show stderr "$tmp/err"
    say "$name: rcc infer chose family '${got:-none}', expected '$family'"
    failed=1
fi

# 2. check
run "$tmp/out" "$tmp/err" "$RCC" check "$spec" "$weights"
if [ "$rc" -ne 0 ]; then
    show stdout "$tmp/out"
    show stderr "$tmp/err"
    say "$name: rcc check of the inferred spec exited $rc"
    failed=1
else
    say "check: ok"
fi

# 3. the hyperparameters
if ! "$PYTHON" "$expect_py" "$spec" "$dir/expect"; then
    say "$name: the inferred spec does not decide every hyperparameter of expect"
    failed=1
fi

# 4. run
set --
i=0
while [ -f "$dir/in$i.npy" ]; do
    set -- "$@" "$dir/in$i.npy"
    i=$((i + 1))
done
k=0
while [ -f "$dir/out$k.npy" ]; do
    set -- "$@" -o "$tmp/o$k.npy"
    k=$((k + 1))
done
say "run: rcc run t.arch ($i inputs, $k outputs)"
run "$tmp/out" "$tmp/err" "$RCC" run "$spec" "$weights" "$@"
if [ "$rc" -ne 0 ]; then
    show stdout "$tmp/out"
    show stderr "$tmp/err"
    say "$name: rcc run of the inferred spec exited $rc"
    failed=1
else
    j=0
    while [ "$j" -lt "$k" ]; do
        if [ ! -f "$tmp/o$j.npy" ]; then
            say "$name out$j: rcc run exited 0 but wrote no o$j.npy"
            failed=1
        elif ! "$PYTHON" "$compare" "$name out$j" "$tmp/o$j.npy" "$dir/out$j.npy" 1e-4; then
            failed=1
        fi
        j=$((j + 1))
    done
fi

if [ "$failed" -ne 0 ]; then
    show "inferred spec" "$spec"
    fail "$name: rcc infer did not recover the model"
fi
say "PASS: $name"
