#!/bin/sh
# tests/man-examples.sh — the examples of man/rcc-arch.5 say what rcc does.
#
# Two kinds of ".EX" ... ".EE" block are checked, each marked by a roff
# comment on its first line:
#
#   .\" example: NAME weights: FIXTURE
#       a spec: extracted (roff escapes undone) to NAME.arch and checked
#       against $FIXTURES/FIXTURE.pt.  It must check clean: exit 0, nothing
#       on stderr, and the one line "NAME.arch: MODEL matches FIXTURE.pt:
#       N keys, shapes and dtypes", where MODEL is the spec's model and N
#       the number of tensors torch lists (FIXTURE.expect.json), so an
#       example that matched the wrong number of keys would fail too.
#
#   .\" diagnostic: SPEC weights: FIXTURE status: N
#       what `rcc check SPEC $FIXTURES/FIXTURE.pt` prints (SPEC relative
#       to the source tree): the exit status is N, and the block's
#       diagnostics ("FILE:LINE:COL: error: ..." lines, continued on
#       indented lines) are exactly rcc's diagnostic lines, in order (the
#       source excerpts and the "N errors generated." count are left out
#       of the page).  A checker that accepted every file would fail here.
. "$(dirname "$0")/setup.sh"
need_env RCC FIXTURES srcdir
need_exe "$RCC" RCC
page=$srcdir/man/rcc-arch.5
need_file "$page"
awk -v dir="$tmp" '
    /^\.EX/ { ex = 1; next }
    /^\.EE/ { ex = 0; out = ""; next }
    ex && /^\.\\" example:/ {
        out = dir "/" $3 ".arch"; print $5 > (dir "/" $3 ".weights"); next
    }
    ex && /^\.\\" diagnostic:/ {
        nd++; out = dir "/diag" nd ".txt"
        print $3, $5, $7 > (dir "/diag" nd ".args"); next
    }
    out != "" { gsub(/\\-/, "-"); gsub(/\\e/, "\\"); print > out }
' "$page"

n=0
for spec in "$tmp"/*.arch; do
    [ -f "$spec" ] || continue
    n=$((n + 1))
    ex=$(basename "$spec")
    w=$(cat "${spec%.arch}.weights")
    need_file "$FIXTURES/$w.pt"
    # torch's key count: its listing (gen_fixtures.py) or its signature file (gen_lang.py)
    listing=$FIXTURES/$w.expect.json
    [ -f "$listing" ] || listing=$FIXTURES/$w.json
    need_file "$listing" "torch's listing of $w.pt"
    keys=$("$PYTHON" -c 'import json, sys; j = json.load(open(sys.argv[1]))
print(len(j["tensors"]) if "tensors" in j else j["keys"])' "$listing") || fail "cannot read $listing"
    model=$(sed -n 's/^model \([A-Za-z_][A-Za-z0-9_]*\).*/\1/p' "$spec")
    [ -n "$model" ] || fail "the example $ex declares no model"
    run "$tmp/out" "$tmp/err" "$RCC" check "$spec" "$FIXTURES/$w.pt"
    echo "$spec: $model matches $FIXTURES/$w.pt: $keys keys, shapes and dtypes" >"$tmp/want"
    # an example with a forward also prints its signature, which the
    # spec tests compare with torch's: here it must only be there
    if grep -q '^ *forward(' "$spec"; then echo "$spec: forward " >>"$tmp/want"; fi
    awk -v fw="$spec: forward " 'index($0, fw) == 1 { $0 = fw } { print }' "$tmp/out" >"$tmp/got"
    if [ "$rc" -ne 0 ] || [ -s "$tmp/err" ] || ! cmp -s "$tmp/want" "$tmp/got"; then
        show "example $ex" "$spec"
        show "expected stdout" "$tmp/want"
        show stdout "$tmp/out"
        show stderr "$tmp/err"
        fail "the example $ex of rcc-arch(5) does not check clean against $w.pt (exit $rc)"
    fi
    say "ok: $ex checks clean against $w.pt ($keys keys)"
done
[ "$n" -ge 2 ] || fail "found only $n examples in $page"

# diagnostics: one per line, continuation lines (indented) joined
join_diags() {
    awk '/^[ \t]/ { sub(/^[ \t]+/, ""); line = line " " $0; next }
         { if (line != "") print line; line = $0 }
         END { if (line != "") print line }' "$1"
}
d=0
for args in "$tmp"/diag*.args; do
    [ -f "$args" ] || continue
    d=$((d + 1))
    read -r dspec dw dstatus <"$args"
    [ -n "$dspec" ] && [ -n "$dw" ] && [ -n "$dstatus" ] || fail "$page: a diagnostic block needs SPEC weights: W status: N"
    need_file "$srcdir/$dspec"
    need_file "$FIXTURES/$dw.pt"
    join_diags "${args%.args}.txt" >"$tmp/want"
    [ -s "$tmp/want" ] || fail "$page: the diagnostic block for $dspec and $dw.pt is empty"
    (cd "$srcdir" && run "$tmp/out" "$tmp/err" "$RCC" check "$dspec" "$FIXTURES/$dw.pt" && echo "$rc" >"$tmp/rc")
    rc=$(cat "$tmp/rc")
    grep -E '^[^ ].*:[0-9]+:[0-9]+: (error|warning|note|help): ' "$tmp/err" >"$tmp/got" || true
    if [ "$rc" -ne "$dstatus" ] || ! diff -u "$tmp/want" "$tmp/got" >"$tmp/diff"; then
        show stderr "$tmp/err"
        show "diff page rcc" "$tmp/diff"
        fail "rcc check $dspec $dw.pt (exit $rc, the page says $dstatus) does not print the diagnostics rcc-arch(5) shows"
    fi
    say "ok: rcc check $dspec $dw.pt prints the page's $(wc -l <"$tmp/want") diagnostics (exit $rc)"
done
[ "$d" -ge 1 ] || fail "found no diagnostic example in $page"
say "PASS: $n man page examples, $d diagnostic examples"
