#!/bin/sh
# scripts/test.sh — the whole test suite, from a clean clone (README, CI).
#
# Builds rcc twice, plainly (build/) and with AddressSanitizer + UBSan
# (build-asan/), runs `make check` in each, and ends with one line
# "N passed, N failed" counting both.  Exits non-zero on any failure.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
passed=0 failed=0 status=0

# suite BUILDDIR CONFIGURE-ARGS...: build, check, add up the harness's counts.
suite() {
    dir=$1
    shift
    "$top/scripts/setup.sh" "$top/$dir" --tests -- "$@"
    make -C "$top/$dir" -j"$(nproc)" check || status=1
    log=$top/$dir/test-suite.log
    if [ ! -f "$log" ]; then
        echo "test.sh: $dir: no test-suite.log: the suite did not run" >&2
        failed=$((failed + 1))
        status=1
        return
    fi
    count() { sed -n "s/^# $1: *\([0-9]*\)$/\1/p" "$log" | head -n 1; }
    p=$(count PASS) f=$(count FAIL) e=$(count ERROR) x=$(count XPASS) s=$(count SKIP)
    passed=$((passed + ${p:-0}))
    failed=$((failed + ${f:-0} + ${e:-0} + ${x:-0}))
    if [ "${s:-0}" -ne 0 ]; then   # a skipped test proves nothing
        echo "test.sh: $dir: $s tests skipped" >&2
        failed=$((failed + s))
    fi
}

suite build
suite build-asan --enable-sanitizers

[ "$failed" -eq 0 ] || status=1
echo "$passed passed, $failed failed"
exit "$status"
