# tests/setup.sh — sourced by the test drivers (torch-parity.sh, bad-input.sh).
#
# Environment (set by the Makefile's AM_TESTS_ENVIRONMENT):
#   RCC          the rcc binary
#   RCC_READALL  tests/readall, built against librcc
#   FIXTURES     the directory tests/gen_fixtures.py wrote
#   PYTHON       /usr/bin/python3 (Debian's, the one with torch) by default
#   srcdir       not needed: the helper scripts (compare_listing.py, ...)
#                are found next to the driver, in $testsdir, whether srcdir
#                is the top source directory or its tests/
#   RCC_TEST_TIMEOUT  seconds one rcc run may take (default 120)
#
# Drivers exit 0 on pass and 1 on failure; never 99, and 77 (automake's
# SKIP) only through `skip REASON`, for a precondition of the machine that
# the suite cannot create (a writable /dev/full, a way to drop root).  A
# missing program or fixture is a failure, never a skip.

set -eu
LC_ALL=C
export LC_ALL

: "${PYTHON:=/usr/bin/python3}"
# The tests' source directory: where the driver sourcing us lives.
# shellcheck disable=SC2034  # used by the drivers that source this
testsdir=$(cd "$(dirname "$0")" && pwd)
: "${RCC_TEST_TIMEOUT:=120}"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/rcc-test.XXXXXX")
# Whatever went wrong (set -e included), the status is 1 and $tmp goes;
# 77 survives only when skip said so.
rcc_skipping=
cleanup() {
    st=$?
    rm -rf "$tmp"
    case $st:$rcc_skipping in
    0:* | 77:1) ;;
    *) st=1 ;;
    esac
    exit "$st"
}
trap cleanup EXIT
trap 'exit 1' HUP INT TERM

fail() {
    echo "FAIL: $*"
    exit 1
}

say() {
    echo "$*"
}

# skip REASON: automake's SKIP (exit 77), the reason on one line.  Call it
# after the checks that could run, so that a skip never hides a failure.
skip() {
    echo "SKIP: $*"
    rcc_skipping=1
    exit 77
}

need_env() {
    for v in "$@"; do
        eval "val=\${$v:-}"
        [ -n "$val" ] || fail "environment variable $v is not set (run through 'make check')"
    done
}

need_exe() {
    if [ ! -f "$1" ] || [ ! -x "$1" ]; then
        fail "$2 '$1' is not an executable file"
    fi
}

need_file() {
    [ -f "$1" ] || fail "missing $1${2:+ ($2)}"
}

# run OUT ERR CMD ARGS...: CMD's stdout to OUT, stderr to ERR, stdin from
# /dev/null, under a time limit when timeout(1) exists; sets $rc.
# try OUT ERR CMD...: runs CMD (stdin empty, time-limited) into OUT and ERR
# and sets $rc, 124 for a time-out; what a crash means is the caller's.
try() {
    _out=$1 _err=$2
    shift 2
    rc=0
    if command -v timeout >/dev/null 2>&1; then
        timeout "$RCC_TEST_TIMEOUT" "$@" <"/dev/null" >"$_out" 2>"$_err" || rc=$?
    else
        "$@" <"/dev/null" >"$_out" 2>"$_err" || rc=$?
    fi
}

run() {
    try "$@"
    shift 2
    [ "$rc" -ne 124 ] || ! command -v timeout >/dev/null 2>&1 || fail "timed out after ${RCC_TEST_TIMEOUT} s: $*"
    if [ "$rc" -gt 128 ] && [ "$rc" -lt 160 ]; then
        show "stderr" "$_err"
        fail "crashed (signal $((rc - 128))): $*"
    fi
}

# show LABEL FILE: print FILE indented, at most 40 lines.
show() {
    if [ -s "$2" ]; then
        echo "  --- $1:"
        sed -n '1,40s/^/  | /p' "$2"
        n=$(wc -l <"$2")
        [ "$n" -le 40 ] || echo "  | ... ($n lines)"
    else
        echo "  --- $1: (empty)"
    fi
}

# start_case EXT "$@": the harness passes a driver one test file NAME.EXT;
# check what every driver needs and set $name.
start_case() {
    _ext=$1
    shift
    [ $# -eq 1 ] || fail "usage: $(basename "$0") NAME$_ext"
    need_env RCC FIXTURES
    need_exe "$RCC" RCC
    need_file "$1"
    name=$(basename "$1" "$_ext")
}

# expect STATUS PATTERN CMD...: CMD's exit status is STATUS; for an error
# (2), stdout is empty and stderr is one line matching "^rcc: error: PATTERN".
expect() {
    _want=$1 _pat=$2
    shift 2
    run "$tmp/out" "$tmp/err" "$@"
    [ "$rc" -eq "$_want" ] || { show stdout "$tmp/out"; show stderr "$tmp/err"; fail "'$*' exited $rc, expected $_want"; }
    if [ "$_want" -eq 2 ]; then
        [ ! -s "$tmp/out" ] || { show stdout "$tmp/out"; fail "'$*' wrote to stdout on error"; }
        [ "$(wc -l <"$tmp/err")" -eq 1 ] || { show stderr "$tmp/err"; fail "'$*': stderr is not one line"; }
        grep -q -- "^rcc: error: $_pat" "$tmp/err" || { show stderr "$tmp/err"; fail "'$*': stderr does not match '$_pat'"; }
    fi
    say "ok: $*"
}
