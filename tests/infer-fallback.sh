#!/bin/sh
# tests/infer-fallback.sh — `rcc infer`'s fallback, whose contract is that
# what it writes passes `rcc check` against the file, whatever the file.
#
#   1. the command: usage and input errors (exit 2, one line), -o written
#      whole or not at all, stdout and -o the same
#   2. golden outputs: the specs inferred for tests/gen_infer_fallback.py's
#      odd.pt (an architecture no family knows), names.pt (keys that are
#      not identifiers), pickled.pt (a whole pickled __main__ model) and
#      seq.pt (a whole nn.Sequential) are tests/infer/*.arch exactly, and
#      check clean; odd.pt's forward type-checks; pickled.pt's layers have
#      the constructor arguments of its pickle (stride, eps, num_heads, ...)
#      and its modules without tensors (ReLU, MaxPool2d)
#   3. whole pickled models computed: the fallback's specs for seq.pt (an
#      MLP) and cnn.pt (a CNN, whose input size the fallback guesses from
#      its Flatten and Linear) run (`rcc run`) to torch's outputs, which the
#      pickled ReLUs change: the proof that the pickle's activations,
#      pooling and flatten are in the guessed forward
#   4. the property, over every weight file of $FIXTURES (recursively: *.pt
#      *.pth *.bin *.safetensors) that `rcc dump` reads: infer, with
#      --fallback and without, writes a spec that `rcc check` accepts
#      (exit 0, no option).  The files `rcc dump` refuses (damaged and
#      hostile ones, and the .bin files that are raw test data) are counted
#      as skipped.  A file with keys the language cannot declare (a tensor
#      named "0") is the one exception, and only when it is listed in
#      UNSAYABLE below with how many keys: infer must warn about exactly
#      that many, and check must fail on exactly those keys and nothing else.
. "$(dirname "$0")/setup.sh"
need_env RCC FIXTURES
need_exe "$RCC" RCC
I=$FIXTURES/infer_fallback
need_file "$I/manifest.txt" "tests/gen_infer_fallback.py"

# file (relative to $FIXTURES) and the number of keys the language cannot
# declare in it (a tensor of 9 dimensions)
UNSAYABLE="infer_fallback/unsayable.pt:$(wc -l <"$I/unsayable.txt")"

# ------------------------------------------------------------ 1. the command
expect 2 "infer: usage: rcc infer W" "$RCC" infer
expect 2 "infer: unknown option '--bogus'" "$RCC" infer --bogus "$I/odd.pt"
expect 2 "infer: too many arguments" "$RCC" infer "$I/odd.pt" "$I/names.pt"
expect 2 "$tmp/none.pt: cannot open" "$RCC" infer "$tmp/none.pt"
expect 2 "$FIXTURES/bad_truncated.pt: " "$RCC" infer "$FIXTURES/bad_truncated.pt" -o "$tmp/bad.arch"
[ ! -e "$tmp/bad.arch" ] || fail "infer of an unreadable file left $tmp/bad.arch"
expect 2 "$tmp/no/such/dir/x.arch: cannot create a temporary file beside it" \
    "$RCC" infer "$I/odd.pt" -o "$tmp/no/such/dir/x.arch"

mkdir "$tmp/o"
expect 0 '' "$RCC" infer "$I/odd.pt" -o "$tmp/o/odd.arch"
[ ! -s "$tmp/out" ] || fail "infer -o wrote to stdout"
expect 0 '' "$RCC" infer "$I/odd.pt"
cp "$tmp/out" "$tmp/odd.stdout"
cmp -s "$tmp/odd.stdout" "$tmp/o/odd.arch" || fail "infer -o and infer to stdout differ"
[ "$(ls -A "$tmp/o")" = odd.arch ] || fail "infer -o left other files: $(ls -A "$tmp/o")"
printf 'an older file, longer than the spec to be written\n%.0s' $(seq 400) >"$tmp/o/odd.arch"
expect 0 '' "$RCC" infer "$I/odd.pt" --specs "$tmp" --family none --explain -o "$tmp/o/odd.arch"
cmp -s "$tmp/odd.stdout" "$tmp/o/odd.arch" || fail "infer -o over an existing file did not replace it whole"
[ "$(ls -A "$tmp/o")" = odd.arch ] || fail "infer -o left other files: $(ls -A "$tmp/o")"

# ------------------------------------------------------------ 2. golden outputs
for g in odd names pickled seq; do
    (cd "$I" && run "$tmp/$g.arch" "$tmp/$g.err" "$RCC" infer --fallback "$g.pt" && echo "$rc" >"$tmp/rc")
    [ "$(cat "$tmp/rc")" -eq 0 ] || { show stderr "$tmp/$g.err"; fail "infer --fallback $g.pt exited $(cat "$tmp/rc")"; }
    [ ! -s "$tmp/$g.err" ] || { show stderr "$tmp/$g.err"; fail "infer --fallback $g.pt: stderr is not empty"; }
    if ! cmp -s "$testsdir/infer/$g.arch" "$tmp/$g.arch"; then
        diff -u "$testsdir/infer/$g.arch" "$tmp/$g.arch" | sed -n '1,60p'
        fail "infer --fallback $g.pt differs from tests/infer/$g.arch"
    fi
    run "$tmp/out" "$tmp/err" "$RCC" check "$tmp/$g.arch" "$I/$g.pt"
    [ "$rc" -eq 0 ] || { show stderr "$tmp/err"; fail "check of the spec inferred for $g.pt exited $rc"; }
    say "ok: golden $g.arch, and it checks"
done
run "$tmp/out" "$tmp/err" "$RCC" check "$tmp/odd.arch" "$I/odd.pt"
grep -q ': forward (x: i64\[N, T\]) -> f32\[N, T, 4\]$' "$tmp/out" ||
    { show stdout "$tmp/out"; fail "odd.pt: the guessed forward is not the chain expected"; }
# what pickled.pt's modules say and its weights do not
for line in '# pickled class: __main__.PickledNet' 'conv = Conv2d(3, 8, 3, stride = 2, padding = 1, bias = false)' \
    'bn = BatchNorm2d(8, eps = 0.001)' 'relu = ReLU()' 'pool = MaxPool2d(2)' 'fc = Linear(128, 32)' \
    'attn = MultiheadAttention(32, 4)' 'lstm = LSTM(32, 16, num_layers = 2, batch_first = true, bidirectional = true)' \
    'x = self.relu(x)' 'x = self.pool(x)'; do
    grep -qxF "  $line" "$tmp/pickled.arch" || grep -qxF "    $line" "$tmp/pickled.arch" ||
        { show spec "$tmp/pickled.arch"; fail "pickled.pt: the spec has no line '$line'"; }
done
! grep -q 'guessed: num_heads' "$tmp/pickled.arch" || fail "pickled.pt: num_heads is guessed, and the pickle says it"
say "ok: pickled.pt's layers are its pickle's (stride, eps, num_heads, batch_first; ReLU, MaxPool2d)"

# ------------------------------------------------------------ 3. whole pickled models computed
XDG_CACHE_HOME=$tmp/cache
export XDG_CACHE_HOME
mkdir "$XDG_CACHE_HOME"
for g in seq cnn; do
    run "$tmp/$g.arch" "$tmp/err" "$RCC" infer --fallback "$I/$g.pt"
    [ "$rc" -eq 0 ] || { show stderr "$tmp/err"; fail "infer --fallback $g.pt exited $rc"; }
    run "$tmp/out" "$tmp/err" "$RCC" check "$tmp/$g.arch" "$I/$g.pt"
    [ "$rc" -eq 0 ] || { show stderr "$tmp/err"; fail "check of the spec inferred for $g.pt exited $rc"; }
    grep -q ': forward (x: ' "$tmp/out" || { show spec "$tmp/$g.arch"; fail "$g.pt: the spec has no forward"; }
    run "$tmp/out" "$tmp/err" "$RCC" run "$tmp/$g.arch" "$I/$g.pt" "$I/${g}_in.npy" -o "$tmp/${g}_got.npy"
    [ "$rc" -eq 0 ] || { show spec "$tmp/$g.arch"; show stderr "$tmp/err"; fail "rcc run of the spec inferred for $g.pt exited $rc"; }
    "$PYTHON" "$testsdir/parity_compare.py" "$g.pt (inferred)" "$tmp/${g}_got.npy" "$I/${g}_out.npy" 1e-4 ||
        { show spec "$tmp/$g.arch"; fail "$g.pt: the inferred spec does not compute torch's output"; }
done
grep -qxF '  input x: f32[N, 1, 13, 13]' "$tmp/cnn.arch" ||
    { show spec "$tmp/cnn.arch"; fail "cnn.pt: the input's size is not the one its Flatten and Linear say"; }

# ------------------------------------------------------------ 4. the property
nfiles=0 skipped=0 unsayable=0 failed=""   # (not n: show() sets n)
for f in $(cd "$FIXTURES" && find . -type f \( -name '*.pt' -o -name '*.pth' -o -name '*.bin' \
        -o -name '*.safetensors' \) | sed 's|^\./||' | sort); do
    F=$FIXTURES/$f
    run "$tmp/out" "$tmp/err" "$RCC" dump "$F"
    if [ "$rc" -eq 2 ]; then
        skipped=$((skipped + 1))
        continue
    fi
    nfiles=$((nfiles + 1))
    want=
    for u in $UNSAYABLE; do
        [ "${u%%:*}" = "$f" ] && want=${u#*:}
    done
    for mode in --fallback ""; do
        # shellcheck disable=SC2086  # $mode is empty or one word
        run "$tmp/out" "$tmp/ierr" "$RCC" infer $mode "$F" -o "$tmp/t.arch"
        if [ "$rc" -ne 0 ]; then
            show stderr "$tmp/ierr"
            failed="$failed $f(infer$mode:$rc)"
            continue
        fi
        run "$tmp/out" "$tmp/err" "$RCC" check "$tmp/t.arch" "$F"
        if [ -z "$want" ]; then
            [ "$rc" -eq 0 ] || { show stderr "$tmp/err"; failed="$failed $f(check$mode:$rc)"; }
            continue
        fi
        # keys the language cannot declare: warned about, and the only errors
        errs=$(grep -c ': error: ' "$tmp/err" || true)
        left=$(grep -c ': error: the file has .*, which the spec does not declare' "$tmp/err" || true)
        if [ "$rc" -ne 1 ] || [ "$errs" -ne "$want" ] || [ "$left" -ne "$want" ] ||
            ! grep -q "^rcc: warning: .*: $want keys\{0,1\} cannot be declared in the .arch language" "$tmp/ierr"; then
            show "infer's stderr" "$tmp/ierr"
            show "check's stderr" "$tmp/err"
            failed="$failed $f(unsayable$mode:$rc,$errs,$left)"
        fi
    done
    [ -z "$want" ] || unsayable=$((unsayable + 1))
done
say "property: $nfiles weight files inferred and checked (twice each: --fallback and not), $skipped skipped" \
    "(rcc dump refuses them), $unsayable with keys the language cannot declare"
[ "$unsayable" -eq "$(echo "$UNSAYABLE" | wc -w)" ] || fail "the files of UNSAYABLE were not all found"
[ "$nfiles" -ge 150 ] || fail "only $nfiles weight files found under $FIXTURES"
[ -z "$failed" ] || fail "the spec infer wrote does not check for:$failed"
