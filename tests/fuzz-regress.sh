#!/bin/sh
# tests/fuzz-regress.sh — every input the fuzzer (make fuzz-run) ever found
# a bug with, kept in tests/fuzz/regress/: `rcc dump --verify` must exit 0
# or 2 (with one error line), never crash; in the sanitizer build a
# sanitizer report is a crash too.
. "$(dirname "$0")/setup.sh"
need_env RCC
need_exe "$RCC" RCC
n=0
for w in "$testsdir"/fuzz/regress/*; do
    [ -f "$w" ] || continue
    n=$((n + 1))
    run "$tmp/out" "$tmp/err" "$RCC" dump --verify "$w"
    case $rc in
    0) say "ok: $(basename "$w"): read" ;;
    2) [ "$(wc -l <"$tmp/err")" -eq 1 ] || { show stderr "$tmp/err"; fail "$w: more than one error line"; }
       say "ok: $(basename "$w"): $(cat "$tmp/err")" ;;
    *) show stderr "$tmp/err"; fail "$w: exit $rc" ;;
    esac
done
[ "$n" -gt 0 ] || fail "no inputs in $testsdir/fuzz/regress"
say "PASS: $n fuzz regression inputs"
