#!/bin/sh
# tests/corpus.sh — crafted hostile files and the verdict rcc gives each.
#
#   corpus.sh                    rcc's own corpus: $FIXTURES/corpus/, made by
#                                tests/gen_corpus.py, verdicts and messages
#                                pinned in its manifest.txt
#   corpus.sh --external DIR     a corpus from elsewhere: DIR/manifest.json,
#                                a JSON list of {"id", "file", "expect"}
#                                (tests/corpus-external.sh runs this)
#
# Each file goes through `rcc dump --verify`, which reads every storage's
# bytes too.  The verdicts:
#   reject   exit 2, stdout empty, stderr exactly one line
#            "rcc: error: FILE: ..." (own corpus: holding the pinned message)
#   load     exit 0, stderr only "rcc: warning: FILE: ..." lines (own corpus:
#            none, or one holding the pinned warning; and `rcc dump --json`
#            names the tensors torch reads, NAME.expect.json)
#   other    (external only: load-or-reject, policy, ...) either of the two
# A crash, a time-out or a sanitizer report is a failure under any verdict.
# Every case is checked and every failure printed before the test fails.
. "$(dirname "$0")/setup.sh"
need_env RCC
need_exe "$RCC" RCC

if [ "${1:-}" = --external ]; then
    [ $# -eq 2 ] || fail "usage: corpus.sh [--external DIR]"
    own=
    dir=$2
    [ -d "$dir" ] || fail "corpus folder $dir does not exist"
    need_file "$dir/manifest.json" "the corpus manifest: a JSON list of {id, file, expect}"
    "$PYTHON" -c '
import json, sys
for e in json.load(open(sys.argv[1])):
    print(e["id"], e["file"], e["expect"])
' "$dir/manifest.json" >"$tmp/cases" || fail "cannot read $dir/manifest.json"
else
    [ $# -eq 0 ] || fail "usage: corpus.sh [--external DIR]"
    need_env FIXTURES
    own=y
    dir=$FIXTURES/corpus
    need_file "$dir/manifest.txt" "make the corpus: $PYTHON $testsdir/gen_corpus.py $FIXTURES"
    cp "$dir/manifest.txt" "$tmp/cases"
    # Every crafted file is in the manifest (and the manifest is not empty).
    files=$(find "$dir" -name '*.pt' | wc -l)
    [ "$files" -gt 0 ] && [ "$files" -eq "$(wc -l <"$tmp/cases")" ] ||
        fail "$dir holds $files .pt files but its manifest lists $(wc -l <"$tmp/cases") cases"
fi
ncases=$(wc -l <"$tmp/cases")
[ "$ncases" -gt 0 ] || fail "the manifest lists no cases"

# run_rcc ARGS...: like setup.sh's run, but a crash or time-out is this case's
# failure, not the end of the test.  Sets $rc ($out, $err: the output).
out=$tmp/out err=$tmp/err
run_rcc() { try "$out" "$err" "$RCC" "$@"; }

# error_line W MESSAGE: stderr is one newline-terminated line
# "rcc: error: W: ..." holding MESSAGE; else sets $why.
error_line() {
    if [ "$(wc -l <"$err")" -ne 1 ] || [ "$(tail -c 1 "$err" | od -An -c | tr -d ' ')" != '\n' ]; then
        why="stderr is not exactly one line"
        return 0
    fi
    line=$(cat "$err")
    case $line in
    "rcc: error: $1: "*) ;;
    *) why="stderr is not 'rcc: error: $1: ...'"; return 0 ;;
    esac
    case $line in
    *"$2"*) ;;
    *) why="the error is not the pinned one: '$2'" ;;
    esac
}

# warnings_only W MESSAGE: every stderr line is "rcc: warning: W: ...";
# one holds MESSAGE when it is given; else sets $why.
warnings_only() {
    while IFS= read -r l; do
        case $l in
        "rcc: warning: $1: "*) ;;
        *) why="stderr has a line other than 'rcc: warning: $1: ...'"; return 0 ;;
        esac
    done <"$err"
    if [ -n "$2" ] && ! grep -q -F -e "$2" "$err"; then
        why="no warning holds the pinned '$2'"
    fi
}

bad=0
while read -r id file verdict message; do
    w=$dir/$file
    why=
    if [ ! -f "$w" ]; then
        why="no such file"
    else
        run_rcc dump --verify "$w"
        if [ "$rc" -eq 124 ]; then
            why="timed out after $RCC_TEST_TIMEOUT s"
        elif [ "$rc" -gt 128 ] && [ "$rc" -lt 160 ]; then
            why="crashed (signal $((rc - 128)))"
        fi
    fi
    if [ -z "$why" ]; then
        case $verdict in
        reject)
            if [ "$rc" -ne 2 ]; then
                why="exit $rc, expected 2"
            elif [ -s "$out" ]; then
                why="stdout is not empty"
            elif [ -n "$own" ] && [ -z "$message" ]; then
                why="the manifest pins no message"
            else
                error_line "$w" "$message"
            fi ;;
        load)
            if [ "$rc" -ne 0 ]; then
                why="exit $rc, expected 0"
            elif [ -n "$own" ] && [ -z "$message" ] && [ -s "$err" ]; then
                why="stderr is not empty"
            else
                warnings_only "$w" "$message"
            fi
            # Own corpus: the tensors are the ones torch reads.
            expect=$dir/${file%.pt}.expect.json
            if [ -z "$why" ] && [ -n "$own" ]; then
                cp "$out" "$tmp/table"
                run_rcc dump --verify --json "$w"
                if [ ! -f "$expect" ]; then
                    why="no $expect"
                elif [ "$rc" -ne 0 ]; then
                    why="rcc dump --json exited $rc"
                elif ! "$PYTHON" "$testsdir/compare_listing.py" "$expect" "$out" </dev/null >"$tmp/cmp" 2>&1 ||
                     ! "$PYTHON" "$testsdir/compare_listing.py" --table "$expect" "$tmp/table" </dev/null >>"$tmp/cmp" 2>&1; then
                    why="the listing differs from torch's"
                    cp "$tmp/cmp" "$err"
                fi
            fi ;;
        *)
            if [ -n "$own" ]; then
                why="verdict '$verdict' in the manifest is neither load nor reject"
            elif [ "$rc" -eq 2 ]; then
                error_line "$w" ""
            elif [ "$rc" -eq 0 ]; then
                warnings_only "$w" ""
            else
                why="exit $rc, expected 0 or 2"
            fi ;;
        esac
    fi
    if [ -z "$why" ]; then
        # (printf: dash's echo would read the backslashes in a message)
        printf 'ok: %s %s (%s): exit %s %s\n' "$id" "$file" "$verdict" "$rc" "$(head -n 1 "$err" | cut -c 1-200)"
    else
        printf 'FAIL: %s %s (%s): %s\n' "$id" "$file" "$verdict" "$why"
        [ ! -f "$err" ] || show stderr "$err"
        bad=$((bad + 1))
    fi
    rm -f "$out" "$err"
done <"$tmp/cases"
[ "$bad" -eq 0 ] || fail "$bad of $ncases corpus files got the wrong verdict"
say "PASS: all $ncases corpus verdicts${own:+ (the corpus of gen_corpus.py)}"
