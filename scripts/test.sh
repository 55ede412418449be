#!/bin/sh
# scripts/test.sh — the whole test suite, from a clean clone (README, CI).
#
# Builds rcc twice, plainly (build/) and with AddressSanitizer + UBSan
# (build-asan/), runs `make check` in each, and ends with one line
# "N passed, N failed, N skipped" counting both.  Exits non-zero on any
# failure.  The summary is true in every failure mode: a build or a
# fixture generator that fails counts as a failure of that suite (the
# harness's log of an earlier run is removed first, never read), and a
# skipped test is neither a pass nor a failure: each says why it skipped.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
passed=0 failed=0 skipped=0 status=0

# suite BUILDDIR CONFIGURE-ARGS...: build, check, add up the harness's counts.
suite() {
    dir=$1
    shift
    log=$top/$dir/test-suite.log
    rm -f "$log"
    if ! "$top/scripts/setup.sh" "$top/$dir" --tests -- "$@"; then
        echo "test.sh: $dir: the build failed" >&2
        failed=$((failed + 1))
        status=1
        return
    fi
    make -C "$top/$dir" -j"$(nproc)" check || status=1
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
    skipped=$((skipped + ${s:-0}))
    if [ "${s:-0}" -ne 0 ]; then
        # A skipped test's .trs says so; its log's "SKIP: ..." line says why.
        find "$top/$dir/tests" -name '*.trs' -exec grep -l '^:test-result: SKIP' {} + 2>/dev/null |
        while read -r trs; do
            why=$(sed -n 's/^SKIP: //p' "${trs%.trs}.log" | head -n 1)
            t=${trs%.trs}
            echo "test.sh: $dir: skipped ${t#"$top/$dir/"}: ${why:-no reason given}" >&2
        done
    fi
    if [ "${f:-0}${e:-0}${x:-0}" != 000 ] && [ "${CI:-}" = true ]; then
        cat "$log"   # CI keeps no build tree: show the failures' logs
    fi
    [ "${f:-0}${e:-0}${x:-0}" = 000 ] || status=1
}

suite build
suite build-asan --enable-sanitizers

[ "$failed" -eq 0 ] || status=1
echo "$passed passed, $failed failed, $skipped skipped"
exit "$status"
