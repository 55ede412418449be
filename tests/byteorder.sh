#!/bin/sh
# tests/byteorder.sh — big-endian twins (tests/gen_byteorder.py).
#
# For each line "twin ORIGINAL TWIN ORDER" of $FIXTURES/byteorder/manifest.txt:
#   - `rcc dump --json TWIN` lists exactly what ORIGINAL's does (tensors,
#     storages but their file offsets, totals), and its "byteorder" field
#     is ORDER;
#   - plain `rcc dump TWIN`'s header says ", big-endian" exactly when ORDER
#     is big;
#   - readall reads every tensor of TWIN bit-identical to ORIGINAL, in its
#     own dtype and as f32 (tests/parity/bo_*.parity compare both with what
#     torch reads from ORIGINAL);
#   - `rcc salvage TWIN` writes a little-endian archive that reads the same.
# Each "bad NAME" line's file is refused by dump and readall alike with one
# line naming the byteorder record (tests/bad/bad_bo_*.bad: the messages).
. "$(dirname "$0")/setup.sh"

need_env RCC RCC_READALL FIXTURES
need_exe "$RCC_READALL" RCC_READALL
manifest=$FIXTURES/byteorder/manifest.txt
need_file "$manifest" "make the fixtures: $PYTHON $testsdir/gen_byteorder.py $FIXTURES"

status=0
n=0
while read -r kind a b order; do
    n=$((n + 1))
    case $kind in
    twin)
        orig=$FIXTURES/$a.pt twin=$FIXTURES/$b.pt
        for w in "$orig" "$twin"; do
            run "$tmp/$(basename "$w").json" "$tmp/err" "$RCC" dump --json "$w"
            [ "$rc" -eq 0 ] && [ ! -s "$tmp/err" ] || { show stderr "$tmp/err"; fail "rcc dump --json $w: exit $rc"; }
        done
        if ! "$PYTHON" - "$tmp/$a.pt.json" "$tmp/$b.pt.json" "$order" <<'PY'; then
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
if b.get("byteorder") != sys.argv[3]:
    sys.exit("byteorder field is %r, expected %r" % (b.get("byteorder"), sys.argv[3]))
if a.get("byteorder") != "little":
    sys.exit("the original's byteorder field is %r" % a.get("byteorder"))
# The twin is a rewritten archive: its records lie elsewhere in the file.
for d in (a, b):
    for s in d.get("storages", []):
        s.pop("file_offset", None)
for k in ("format", "state_dict_path", "tensors", "storages", "totals", "other"):
    if a.get(k) != b.get(k):
        sys.exit("field %s differs from the original's" % k)
print("ok: %d tensors listed alike, byteorder %s" % (len(b["tensors"]), b["byteorder"]))
PY
            echo "FAIL: $b: rcc dump --json differs from $a's"
            status=1
        fi
        run "$tmp/table" "$tmp/err" "$RCC" dump "$twin"
        [ "$rc" -eq 0 ] || fail "rcc dump $twin: exit $rc"
        big=no
        head -n 1 "$tmp/table" | grep -q ', big-endian;' && big=yes
        if [ "$big" != "$([ "$order" = big ] && echo yes || echo no)" ]; then
            echo "FAIL: $b: dump's header '$(head -n 1 "$tmp/table")' for byte order $order"
            status=1
        fi
        run "$tmp/o" "$tmp/err" "$RCC_READALL" "$orig" "$tmp/a.values" "$tmp/a.f32"
        [ "$rc" -eq 0 ] || { show stderr "$tmp/err"; fail "readall $orig: exit $rc"; }
        run "$tmp/o" "$tmp/err" "$RCC_READALL" "$twin" "$tmp/b.values" "$tmp/b.f32"
        [ "$rc" -eq 0 ] || { show stderr "$tmp/err"; fail "readall $twin: exit $rc"; }
        for k in values f32; do
            if ! cmp -s "$tmp/a.$k" "$tmp/b.$k"; then
                echo "FAIL: $b: $k read differ from $a's"
                status=1
            fi
        done
        [ -s "$tmp/a.values" ] || fail "$a: no values read"
        run "$tmp/o" "$tmp/err" "$RCC" salvage "$twin" -o "$tmp/salvaged.pt"
        [ "$rc" -eq 0 ] || { show stderr "$tmp/err"; fail "rcc salvage $twin: exit $rc"; }
        run "$tmp/o" "$tmp/err" "$RCC_READALL" "$tmp/salvaged.pt" "$tmp/c.values" "$tmp/c.f32"
        [ "$rc" -eq 0 ] || { show stderr "$tmp/err"; fail "readall of $b salvaged: exit $rc"; }
        run "$tmp/s.json" "$tmp/err" "$RCC" dump --json "$tmp/salvaged.pt"
        if ! cmp -s "$tmp/a.values" "$tmp/c.values" || ! grep -q '"byteorder": "little"' "$tmp/s.json"; then
            echo "FAIL: $b: rcc salvage's little-endian copy reads other values than $a"
            status=1
        fi
        say "ok: $b ($order) reads as $a: $(wc -c <"$tmp/b.values") bytes, $(wc -c <"$tmp/b.f32") as f32, salvaged alike"
        ;;
    bad)
        w=$FIXTURES/$a.pt
        run "$tmp/o" "$tmp/err" "$RCC_READALL" "$w" "$tmp/v" "$tmp/f"
        if [ "$rc" -ne 2 ] || [ "$(wc -l <"$tmp/err")" -ne 1 ] || ! grep -q 'byteorder record' "$tmp/err"; then
            show stderr "$tmp/err"
            echo "FAIL: readall $a: exit $rc, expected 2 and one line naming the byteorder record"
            status=1
        fi
        [ -f "$testsdir/bad/$a.bad" ] || { echo "FAIL: no tests/bad/$a.bad for $a"; status=1; }
        say "ok: $a refused: $(cat "$tmp/err")"
        ;;
    *) fail "$manifest: unknown line '$kind $a'" ;;
    esac
done <"$manifest"
[ "$n" -gt 0 ] || fail "$manifest is empty"
[ "$status" -eq 0 ] || fail "byteorder"
say "PASS: byteorder ($n cases)"
