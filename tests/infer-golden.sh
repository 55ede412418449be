#!/bin/sh
# tests/infer-golden.sh — rcc infer's whole output for a few files, exactly
# (issue 10): the spec it writes and what it says on standard error (the
# family, every value and what decided it), for a ResNet and an MLP built
# with random depths and widths, a GQA LLaMA in safetensors and a
# transformer saved whole (heads, activation and norm_first from its
# pickled modules), and why each other family failed.  Paths are written relative to the spec library and
# the fixtures.  To accept a deliberate change: RCC_GOLDEN_UPDATE=1.
. "$(dirname "$0")/setup.sh"
need_env RCC FIXTURES RCC_SPECS
need_file "$FIXTURES/infer/manifest.txt" "tests/gen_infer.py's fixtures, which make check writes"
failed=0
for case in resnet_random mlp_random llama_gqa tfenc6_pickle; do
    set -- "$FIXTURES/infer/$case"/weights.*
    w=$1
    run "$tmp/out" "$tmp/err" "$RCC" infer "$w" --explain
    [ "$rc" -eq 0 ] || { show stderr "$tmp/err"; fail "$case: rcc infer exited $rc"; }
    { cat "$tmp/out"; echo "#### stderr"; sed -e "s|$RCC_SPECS/||g" -e "s|$FIXTURES/||g" "$tmp/err"; } \
        >"$tmp/$case.txt"
    golden=$testsdir/infer/golden/$case.txt
    if [ -n "${RCC_GOLDEN_UPDATE:-}" ]; then
        cp "$tmp/$case.txt" "$golden"
        say "$case: golden written"
    elif ! cmp -s "$golden" "$tmp/$case.txt"; then
        diff -u "$golden" "$tmp/$case.txt" | sed -n '1,80p'
        say "$case: rcc infer's output differs from tests/infer/golden/$case.txt"
        failed=1
    else
        say "$case: as tests/infer/golden/$case.txt"
    fi
done
[ "$failed" -eq 0 ] || fail "rcc infer's output changed (RCC_GOLDEN_UPDATE=1 accepts it)"
say "4 golden outputs of rcc infer"
