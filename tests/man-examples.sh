#!/bin/sh
# tests/man-examples.sh — every example spec in man/rcc-arch.5 compiles
# and checks clean against the weights it names.
#
# An example is an ".EX" ... ".EE" block whose first line is the roff
# comment '.\" example: NAME weights: FIXTURE'; it is extracted (roff
# escapes undone), written to NAME.arch and checked with rcc check
# against $FIXTURES/FIXTURE.pt.
. "$(dirname "$0")/setup.sh"
need_env RCC FIXTURES
need_exe "$RCC" RCC
page=$srcdir/man/rcc-arch.5
need_file "$page"
awk -v dir="$tmp" '
    /^\.EX/ { ex = 1; next }
    /^\.EE/ { ex = 0; out = ""; next }
    ex && /^\.\\" example:/ { out = dir "/" $3 ".arch"; print $5 > (dir "/" $3 ".weights"); next }
    out != "" { gsub(/\\-/, "-"); gsub(/\\e/, "\\"); print > out }
' "$page"
n=0
for spec in "$tmp"/*.arch; do
    [ -f "$spec" ] || continue
    n=$((n + 1))
    w=$(cat "${spec%.arch}.weights")
    run "$tmp/out" "$tmp/err" "$RCC" check "$spec" "$FIXTURES/$w.pt"
    if [ "$rc" -ne 0 ]; then
        show "example $(basename "$spec")" "$spec"
        show stderr "$tmp/err"
        fail "the example $(basename "$spec") of rcc-arch(5) does not check clean against $w.pt (exit $rc)"
    fi
    say "ok: $(basename "$spec") checks clean against $w.pt"
done
[ "$n" -ge 2 ] || fail "found only $n examples in $page"
say "PASS: $n man page examples"
