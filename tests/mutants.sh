#!/bin/sh
# tests/mutants.sh — does the test suite notice when the code is wrong?
#
#   tests/mutants.sh [--build DIR] [--work DIR] [NAME...]
#   tests/mutants.sh --check
#
# tests/mutants/list.txt holds small source mutations (format in
# tests/mutate.py), each named for the guarantee it breaks and naming the
# tests that must then fail.  Each mutant is applied, one at a time, to a
# copy of the source tree, which is rebuilt (only the mutated file
# recompiles) and the mutant's tests run there with `make check
# TESTS=...`.  A mutant is killed when one of them fails; one that survives
# is a missing test (add the test; do not drop the mutant).  A mutant whose
# snippet is no longer in the source, or that does not compile, is an
# error too: the list must follow the source.  Before any mutant, every
# named test must pass on the unmutated copy, so that a kill means the
# mutation was noticed, not that the test was broken already.
#
# --build DIR   a configured build of this tree whose fixtures the tests
#               use (default: build/ beside tests/); its fixtures are made
#               if missing and shared read-only through a symbolic link
# --work DIR    where the copy and its builds live (default DIR/mutants.d);
#               kept between runs, so a second run recompiles little.  The
#               copy is configured --disable-shared (nothing needs the
#               shared library, and it halves compile time); a mutant
#               marked "build: sanitize" (one only the sanitizers can see)
#               runs in a second copy build configured --enable-sanitizers
# NAME...       only these mutants
# --check       only check the list against the source (no build): every
#               snippet found exactly once, every test in tests/tests.mk
#
# Prints each mutant's verdict and ends with "N killed, N survived"; exit
# 0 only when every mutant is killed and the list is sound.
set -eu
LC_ALL=C
export LC_ALL

top=$(cd "$(dirname "$0")/.." && pwd)
list=$top/tests/mutants/list.txt
mutate=$top/tests/mutate.py
: "${PYTHON:=/usr/bin/python3}"
build=$top/build
work=
check_only=
while [ $# -gt 0 ]; do
    case $1 in
    --build) build=${2:?--build needs a directory}; shift 2 ;;
    --work) work=${2:?--work needs a directory}; shift 2 ;;
    --check) check_only=1; shift ;;
    -*) echo "mutants.sh: unknown option $1" >&2; exit 2 ;;
    *) break ;;
    esac
done

t0=$(date +%s)
if ! problems=$("$PYTHON" "$mutate" check "$list" "$top" "$top/tests/tests.mk" 2>&1); then
    echo "$problems" | sed 's/^/mutants: STALE: /'
    echo "mutants: the list does not match the source: fix tests/mutants/list.txt" >&2
    exit 1
fi
echo "mutants: $problems"
[ -z "$check_only" ] || exit 0

build=$(cd "$build" && pwd)
[ -f "$build/Makefile" ] || { echo "mutants.sh: $build is not a configured build (scripts/setup.sh $build)" >&2; exit 2; }
: "${work:=$build/mutants.d}"
mkdir -p "$work"
work=$(cd "$work" && pwd)
src=$work/src
logs=$work/logs
mkdir -p "$src" "$logs"
command -v git >/dev/null 2>&1 && git -C "$top" rev-parse --git-dir >/dev/null 2>&1 ||
    { echo "mutants.sh: $top is not a git checkout: the copy is made from git ls-files" >&2; exit 2; }

restore=
cleanup() {
    st=$?
    # a mutant left applied by an interrupt is undone (with a new mtime,
    # so that the next make rebuilds from the original)
    [ -z "$restore" ] || cp "$top/$restore" "$src/$restore"
    exit "$st"
}
trap cleanup EXIT
trap 'exit 130' HUP INT TERM

# The copy: every file git knows (tracked, or new and not ignored), copied
# when its content differs, so that unchanged files keep their mtimes and
# objects.
say() { echo "mutants: $*"; }
say "syncing the source copy in $src"
git -C "$top" ls-files -co --exclude-standard | while IFS= read -r f; do
    [ -f "$top/$f" ] || continue
    if ! cmp -s "$top/$f" "$src/$f"; then
        mkdir -p "$src/$(dirname "$f")"
        cp "$top/$f" "$src/$f"
    fi
done
if [ ! -x "$src/configure" ] || [ "$src/configure.ac" -nt "$src/configure" ] ||
    [ "$src/Makefile.am" -nt "$src/configure" ] || [ "$src/tests/tests.mk" -nt "$src/configure" ]; then
    say "autoreconf in the copy"
    (cd "$src" && autoreconf -fi >"$logs/autoreconf.log" 2>&1) || { cat "$logs/autoreconf.log"; exit 1; }
fi

# The fixtures of the given build, made if needed, shared by link.
say "fixtures: $build/tests/fixtures"
make -C "$build" tests/fixtures/.stamp >"$logs/fixtures.log" 2>&1 || { tail -20 "$logs/fixtures.log"; exit 1; }

# prepare KIND: configure (once) and build the copy's build dir for KIND.
prepare() {
    b=$work/build-$1
    if [ ! -f "$b/Makefile" ]; then
        say "configuring $b"
        mkdir -p "$b"
        if [ "$1" = sanitize ]; then set -- --enable-sanitizers; else set --; fi
        (cd "$b" && "$src/configure" --disable-shared "$@" >"$logs/configure.log" 2>&1) ||
            { tail -20 "$logs/configure.log"; exit 1; }
    fi
    mkdir -p "$b/tests"
    ln -sfn "$build/tests/fixtures" "$b/tests/fixtures"
    make -C "$b" -j2 all >"$logs/make.log" 2>&1 || { tail -30 "$logs/make.log"; exit 1; }
}

# runtests KIND LOG TEST...: make check of those tests only, in KIND's
# build, with the shared fixtures (check_DATA emptied: nothing may
# regenerate them); a test taking over 60 s counts as failed.  corpus.sh
# runs the project's own corpus, made with the fixtures; RCC_CORPUS (an
# external one, for corpus-external.sh) passes through when it is set.
runtests() {
    _dir=$work/build-$1 _log=$2
    shift 2
    RCC_TEST_TIMEOUT=60 make -C "$_dir" -j2 check TESTS="$*" check_DATA= >"$_log" 2>&1
}

"$PYTHON" "$mutate" list "$list" >"$work/list"
if [ $# -gt 0 ]; then
    for n in "$@"; do
        grep -q "^$n " "$work/list" || { echo "mutants.sh: no mutant named $n" >&2; exit 2; }
    done
    for n in "$@"; do grep "^$n " "$work/list"; done >"$work/selected"
else
    cp "$work/list" "$work/selected"
fi
total=$(wc -l <"$work/selected")

# Build and baseline each kind of build the selected mutants use.
for kind in plain sanitize; do
    tests=$(awk -v k="$kind" '$2 == k { for (i = 4; i <= NF; i++) print $i }' "$work/selected" | sort -u | tr '\n' ' ')
    [ -n "$tests" ] || continue
    prepare "$kind"
    n=$(echo "$tests" | wc -w)
    if ! runtests "$kind" "$logs/baseline-$kind.log" $tests; then
        grep -E '^(FAIL|ERROR|XPASS|SKIP): ' "$logs/baseline-$kind.log" || tail -30 "$logs/baseline-$kind.log"
        echo "mutants: the unmutated copy fails its own tests ($kind build): fix that first" >&2
        exit 1
    fi
    grep -q '^# SKIP: *0$' "$work/build-$kind/test-suite.log" ||
        { echo "mutants: a test skips on the unmutated copy ($kind build): it could kill nothing" >&2; exit 1; }
    say "baseline: the $n tests the $kind mutants name pass unmutated ($(($(date +%s) - t0)) s so far)"
done

killed=0 survived=0 broken=0 i=0
while read -r name kind file tests; do
    i=$((i + 1))
    m0=$(date +%s)
    log=$logs/$name.log
    restore=$file
    "$PYTHON" "$mutate" apply "$list" "$name" "$src" >"$log" 2>&1 || { cat "$log"; exit 1; }
    if ! make -C "$work/build-$kind" -j2 all >>"$log" 2>&1; then
        verdict="BROKEN: does not compile (see $log)"
        broken=$((broken + 1))
    elif runtests "$kind" "$log.check" $tests; then
        verdict="SURVIVED: $tests passed"
        survived=$((survived + 1))
    else
        by=$(grep -E '^(FAIL|ERROR): ' "$log.check" | cut -d' ' -f2 | sort -u | tr '\n' ' ' | sed 's/ $//')
        verdict="killed by ${by:-make check (see $log.check)}"
        killed=$((killed + 1))
    fi
    cp "$top/$file" "$src/$file"
    restore=
    printf 'mutants: [%d/%d] %s (%s): %s (%d s)\n' "$i" "$total" "$name" "$file" "$verdict" $(($(date +%s) - m0))
done <"$work/selected"

say "$total mutants in $(($(date +%s) - t0)) s"
[ "$broken" -eq 0 ] || say "$broken mutants do not compile: fix their snippets"
echo "$killed killed, $survived survived"
[ "$survived" -eq 0 ] && [ "$broken" -eq 0 ]
