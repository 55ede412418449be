#!/bin/sh
# tests/catalog.sh — src/lang/catalog.c, the built-in layers, against torch.
#
#  1. the table's invariants (catalog_dump --list: every entry complete and
#     found by name, argument names unique, defaults readable);
#  2. every call of tests/gen_catalog.py's sweep expands to exactly the
#     state dict torch 1.13 builds (names, order, dtypes, shapes, param or
#     buffer), and the calls torch refuses are refused; on the way,
#     catalog_dump checks that suggest's call for those tensors expands to
#     them again;
#  3. tests/catalog_suggest.txt, a golden file of suggestions, exact error
#     messages and what torch 1.13 cannot check (RMSNorm, LayerNorm's bias);
#  4. coverage: every catalog layer but RMSNorm is in the torch sweep, and
#     every layer DESIGN.md lists is in the catalog.
. "$(dirname "$0")/setup.sh"
need_env FIXTURES RCC_CATALOG_DUMP
need_exe "$RCC_CATALOG_DUMP" RCC_CATALOG_DUMP
need_file "$FIXTURES/catalog.expect" "written by tests/gen_catalog.py"
need_file "$FIXTURES/catalog.calls" "written by tests/gen_catalog.py"
D=$RCC_CATALOG_DUMP

# DESIGN.md, "Built-in layers": Linear, Conv1d/2d, ConvTranspose2d,
# BatchNorm1d/2d, LayerNorm, GroupNorm, RMSNorm, Embedding, LSTM, GRU,
# MultiheadAttention, pooling (max/avg/adaptive), activations (relu, relu6,
# gelu, silu, sigmoid, tanh, hardswish, hardsigmoid, softmax), dropout and
# stochastic depth.
DESIGN_LAYERS="Linear Conv1d Conv2d ConvTranspose2d BatchNorm1d BatchNorm2d LayerNorm GroupNorm
RMSNorm Embedding LSTM GRU MultiheadAttention MaxPool1d MaxPool2d AvgPool1d AvgPool2d
AdaptiveAvgPool1d AdaptiveAvgPool2d AdaptiveMaxPool2d ReLU ReLU6 GELU SiLU Sigmoid Tanh
Hardswish Hardsigmoid Softmax Dropout StochasticDepth"

# 1. the table
run "$tmp/layers" "$tmp/err" "$D" --list
[ "$rc" -eq 0 ] || { show stderr "$tmp/err"; fail "catalog_dump --list: the table is inconsistent"; }
[ -s "$tmp/layers" ] || fail "catalog_dump --list: no layers"
say "ok: the table ($(wc -l <"$tmp/layers") layers)"

# 2. torch's state dicts
run "$tmp/out" "$tmp/err" "$D" "$FIXTURES/catalog.calls"
[ "$rc" -eq 0 ] || { show stderr "$tmp/err"; fail "catalog_dump $FIXTURES/catalog.calls exited $rc"; }
sed 's/^error: .*/error/' "$tmp/out" >"$tmp/norm"
if ! diff -u "$FIXTURES/catalog.expect" "$tmp/norm" >"$tmp/diff"; then
    show "diff torch catalog_dump" "$tmp/diff"
    fail "the catalog disagrees with torch (or suggest does not round-trip)"
fi
say "ok: $(grep -c '^call ' "$FIXTURES/catalog.calls") calls agree with torch ($(grep -c '^error' "$tmp/norm") refused by both)"

# 3. the golden cases
run "$tmp/golden" "$tmp/err" "$D" "$testsdir/catalog_suggest.txt"
[ "$rc" -eq 0 ] || { show stderr "$tmp/err"; fail "catalog_dump catalog_suggest.txt exited $rc"; }
if ! diff -u "$testsdir/catalog_suggest.txt" "$tmp/golden" >"$tmp/diff"; then
    show "diff catalog_suggest.txt catalog_dump" "$tmp/diff"
    fail "tests/catalog_suggest.txt: suggestions or messages differ"
fi
say "ok: catalog_suggest.txt"

# 4. coverage
while read -r L; do
    [ "$L" != RMSNorm ] || continue
    grep -q "^call $L\( \|\$\)" "$FIXTURES/catalog.calls" || fail "$L is not in the torch sweep (tests/gen_catalog.py)"
done <"$tmp/layers"
for L in $DESIGN_LAYERS; do
    grep -qx "$L" "$tmp/layers" || fail "DESIGN.md lists $L; the catalog lacks it"
    if [ "$L" = RMSNorm ]; then     # torch 2.4's: checked by hand only
        grep -q "^call $L " "$testsdir/catalog_suggest.txt" || fail "$L has no case in catalog_suggest.txt"
    else
        grep -q "^call $L\( \|\$\)" "$FIXTURES/catalog.calls" || fail "DESIGN.md lists $L; the torch sweep lacks it"
    fi
done
say "ok: every layer is checked (RMSNorm by hand: torch 1.13 has none)"
