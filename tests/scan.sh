#!/bin/sh
# tests/scan.sh — `rcc scan` and the refusal of pickles that call code
# (issue 11, the contract in rcc(1)'s scan section), on the archives of
# tests/gen_scan.py: $FIXTURES/scan/, one line per case in manifest.txt,
#   FILE VERDICT CALLABLE TENSOR OFFSET
# VERDICT safe | needs-classes | runs-code (torch's own verdict for the
# benign files), CALLABLE the first call that runs code (or -), TENSOR a
# tensor `rcc dump --allow-calls` must still list (or -), OFFSET the byte
# of that call's opcode in the pickle (or -).
#
# For every case:
#   rcc scan --json FILE   exit 0/1/2 for safe/needs-classes/runs-code; one
#                          file entry with that verdict, its file name, and
#                          for runs-code "calls"[0] is CALLABLE(... at OFFSET
#                          (no calls otherwise); "message" the verdict's text;
#                          "format" legacy for scan_legacy.pt, else zip
#   rcc scan FILE          the same exit; first line "FILE: VERDICT-TEXT"
#                          (runs-code: "FILE: runs code at load: CALLABLE(",
#                          and a line "  call CALLABLE(... at byte OFFSET)")
#   rcc dump FILE          safe, needs-classes: exit 0.  runs-code (and with
#                          --json): exit 2, stdout empty, stderr exactly
#                          "rcc: error: FILE: the pickle calls CALLABLE(...
#                          (at byte OFFSET); torch.load would run it;
#                          refused, nothing was executed"
#   rcc dump --allow-calls FILE   runs-code with a TENSOR: exit 0, TENSOR
#                          listed, a warning "rcc: warning: FILE: the pickle
#                          calls CALLABLE(...; rcc did not"
# and the hostile payload's marker (NAME.marker: the path it would touch)
# never exists.  Then `rcc scan` of several files exits with the worst
# verdict and reports each file in order.  Every case is checked and every
# failure printed before the test fails.
. "$(dirname "$0")/setup.sh"
need_env RCC FIXTURES
need_exe "$RCC" RCC
dir=$FIXTURES/scan
need_file "$dir/manifest.txt" "make the archives: $PYTHON $testsdir/gen_scan.py $FIXTURES"
files=$(find "$dir" -name '*.pt' | wc -l)
[ "$files" -gt 0 ] && [ "$files" -eq "$(wc -l <"$dir/manifest.txt")" ] ||
    fail "$dir holds $files .pt files but its manifest lists $(wc -l <"$dir/manifest.txt") cases"

out=$tmp/out err=$tmp/err
# rcc ARGS...: run rcc; a crash or time-out is this case's failure ($why),
# not the end of the test.  Sets $rc.
rcc() {
    try "$out" "$err" "$RCC" "$@"
    if [ "$rc" -eq 124 ]; then
        why="${why}rcc $*: timed out; "
    elif [ "$rc" -gt 128 ] && [ "$rc" -lt 160 ]; then
        why="${why}rcc $*: crashed (signal $((rc - 128))); "
    fi
}
# settle WHAT OK: this case's checks are over: "FAIL WHAT: why" with rcc's
# output shown (counted in $bad), or "ok: OK".
settle() {
    if [ -n "$why" ]; then
        say "FAIL $1: $why"
        cat "$tmp/shown"
        bad=$((bad + 1))
    else
        say "ok: $2"
    fi
    : >"$tmp/shown"
}
# wrong WHAT: record a failed check of this case (with rcc's output).
wrong() {
    why="$why$1; "
    { show stdout "$out"; show stderr "$err"; } >>"$tmp/shown"
}

verdict_exit() {
    case $1 in
    safe) echo 0 ;;
    needs-classes) echo 1 ;;
    *) echo 2 ;;
    esac
}
verdict_text() {
    case $1 in
    safe) echo "safe to torch.load(weights_only=True)" ;;
    needs-classes) echo "needs its classes importable (weights_only=False), calls nothing else" ;;
    runs-code) echo "runs code at load: " ;;   # then a call naming the callable
    esac
}

# check_json W VERDICT CALLABLE OFFSET TEXT: $out is `rcc scan --json W`'s report.
check_json() {
    "$PYTHON" - "$out" "$@" <<'EOF' || wrong "rcc scan --json $1: $(cat "$tmp/jsonwhy")"
import json, os, sys
path, w, verdict, callable_, offset, text = sys.argv[1:]
def bad(msg):
    open(os.environ["TMPWHY"], "w").write(msg)
    sys.exit(1)
try:
    doc = json.load(open(path))
except ValueError as e:
    bad("not JSON: %s" % e)
fs = doc.get("files")
if not isinstance(fs, list) or len(fs) != 1:
    bad("'files' is not a list of one entry")
f = fs[0]
if f.get("file") != w:
    bad("file is %r" % f.get("file"))
if f.get("verdict") != verdict:
    bad("verdict %r, expected %r" % (f.get("verdict"), verdict))
if not str(f.get("message", "")).startswith(text) or (verdict == "runs-code" and callable_ not in str(f.get("message", ""))):
    bad("message %r does not start %r and name %r" % (f.get("message"), text, callable_))
fmt = "legacy" if w.endswith("/scan_legacy.pt") else "zip"
if f.get("format") != fmt:
    bad("format %r, expected %r" % (f.get("format"), fmt))
calls = f.get("calls")
if not isinstance(calls, list):
    bad("'calls' is not a list")
if verdict == "runs-code":
    if not calls or calls[0].get("callable") != callable_:
        bad("first call %r, expected callable %r" % (calls[:1], callable_))
    # the callable itself (os.system(...)), the BUILD of one
    # (torch._utils.__setstate__(...)), or a partial wrapping it
    if callable_ not in str(calls[0].get("call", "")) or not str(f.get("message")).endswith(calls[0].get("call")):
        bad("first call's text %r does not name %r, or is not the message's" % (calls[0].get("call"), callable_))
    if calls[0].get("offset") != int(offset):
        bad("first call at byte %r, expected %s" % (calls[0].get("offset"), offset))
elif calls:
    bad("a %s file lists calls: %r" % (verdict, calls))
if verdict != "runs-code" and f.get("error") is not None:
    bad("error %r" % f.get("error"))
for g in f.get("globals", []):
    if verdict != "runs-code" and g.get("use") == "code":
        bad("global %r is used as code" % g.get("name"))
EOF
}
TMPWHY=$tmp/jsonwhy
export TMPWHY

bad=0 ncases=0 ran=
: >"$tmp/shown"
while read -r file verdict callable tensor offset; do
    ncases=$((ncases + 1))
    w=$dir/$file
    why=
    marker=
    if [ -f "$dir/${file%.pt}.marker" ]; then
        marker=$(cat "$dir/${file%.pt}.marker")
        rm -f "$marker"
    fi
    [ "$verdict" = runs-code ] || [ -z "$marker" ] || why="a $verdict file comes with a marker; "
    [ "$verdict" != runs-code ] || [ -n "$marker" ] || why="a runs-code file has no marker; "
    want=$(verdict_exit "$verdict")

    rcc scan --json "$w"
    if [ "$rc" -ne "$want" ]; then
        wrong "rcc scan --json: exit $rc, expected $want"
    else
        check_json "$w" "$verdict" "$callable" "$offset" "$(verdict_text "$verdict" "$callable")"
    fi

    rcc scan "$w"
    text=$(verdict_text "$verdict" "$callable")
    if [ "$rc" -ne "$want" ]; then
        wrong "rcc scan: exit $rc, expected $want"
    else
        case $(head -n 1 "$out") in
        "$w: $text"*"$callable"*) ;;
        "$w: $text"*) [ "$verdict" != runs-code ] || wrong "rcc scan: the first line does not name $callable" ;;
        *) wrong "rcc scan: first line is not '$w: $text...'" ;;
        esac
        if [ "$verdict" = runs-code ]; then
            grep -q -F -e "$callable" "$out" && grep -q -e "^  call .* at byte $offset)\$" "$out" ||
                wrong "rcc scan: no line '  call $callable(...) (RECORD at byte $offset)'"
        elif grep -q '^  call ' "$out"; then
            wrong "rcc scan: a $verdict file lists a call"
        fi
    fi

    for mode in "" --json; do
        rcc dump $mode "$w"
        if [ "$verdict" != runs-code ]; then
            [ "$rc" -eq 0 ] || wrong "rcc dump $mode: exit $rc, expected 0 (a $verdict file)"
            continue
        fi
        if [ "$rc" -ne 2 ]; then
            wrong "rcc dump $mode: exit $rc, expected 2"
        elif [ -s "$out" ]; then
            wrong "rcc dump $mode: wrote to stdout"
        elif [ "$(wc -l <"$err")" -ne 1 ]; then
            wrong "rcc dump $mode: stderr is not one line"
        else
            line=$(cat "$err")
            case $line in
            "rcc: error: $w: "*"the pickle calls "*"$callable"*" (at byte $offset); torch.load would run it; refused, nothing was executed") ;;
            *) wrong "rcc dump $mode: the error is not 'rcc: error: $w: the pickle calls $callable(...) (at byte $offset); torch.load would run it; refused, nothing was executed'" ;;
            esac
        fi
    done

    if [ "$verdict" = runs-code ] && [ "$tensor" != - ]; then
        rcc dump --allow-calls "$w"
        if [ "$rc" -ne 0 ]; then
            wrong "rcc dump --allow-calls: exit $rc, expected 0"
        else
            awk -v t="$tensor" 'NR > 2 && $1 == t { found = 1 } END { exit !found }' "$out" ||
                wrong "rcc dump --allow-calls does not list the tensor $tensor"
            grep -q -F -e "the pickle calls " "$err" && grep -q -F -e "$callable" "$err" &&
                grep -q -F -e "(at byte $offset); torch.load would run it; rcc did not" "$err" ||
                wrong "rcc dump --allow-calls: no warning 'rcc: warning: $w: the pickle calls $callable(...) (at byte $offset); torch.load would run it; rcc did not'"
            if grep -v -e "^rcc: warning: $w: " "$err" | grep -q .; then
                wrong "rcc dump --allow-calls: stderr has a line other than warnings"
            fi
        fi
    fi

    if [ -n "$marker" ] && [ -e "$marker" ]; then
        why="${why}THE PAYLOAD RAN: $marker exists; "
    fi
    case $callable in
    -) settle "$file ($verdict)" "$file: $verdict" ;;
    *) settle "$file ($verdict $callable)" "$file: $verdict $callable" ;;
    esac
    case $verdict in
    safe) [ -n "${safe_w:-}" ] || safe_w=$w ;;
    needs-classes) [ -n "${needs_w:-}" ] || needs_w=$w ;;
    runs-code) [ -n "${runs_w:-}" ] || { runs_w=$w runs_c=$callable; } ;;
    esac
    ran=y
done <"$dir/manifest.txt"
[ -n "$ran" ] || fail "the manifest lists no cases"
[ -n "${safe_w:-}" ] && [ -n "${needs_w:-}" ] && [ -n "${runs_w:-}" ] ||
    fail "the manifest lacks a case of some verdict"

# Several files at once: the exit status is the worst verdict, each file
# reported in the order given.
several() {
    _want=$1
    shift
    why=
    rcc scan "$@"
    [ "$rc" -eq "$_want" ] || wrong "rcc scan $*: exit $rc, expected $_want"
    for _w in "$@"; do
        grep -q -F -e "$_w: " "$out" || wrong "rcc scan $*: no line for $_w"
    done
    [ "$(grep -c -v -e '^ ' -e '^$' "$out")" -eq $# ] || wrong "rcc scan $*: not one unindented line per file"
    rcc scan --json "$@"
    [ "$rc" -eq "$_want" ] || wrong "rcc scan --json $*: exit $rc, expected $_want"
    "$PYTHON" -c '
import json, sys
fs = json.load(open(sys.argv[1]))["files"]
sys.exit([f["file"] for f in fs] != sys.argv[2:])
' "$out" "$@" || wrong "rcc scan --json $*: the files are not reported in order"
    settle "rcc scan of $# files" "rcc scan of $# files exits $_want"
}
several 0 "$safe_w" "$safe_w"
several 1 "$safe_w" "$needs_w"
several 1 "$needs_w" "$safe_w"
several 2 "$safe_w" "$runs_w" "$needs_w"
several 2 "$runs_w" "$safe_w"
# A missing file among good ones is unreadable: exit 2 too.
several 2 "$safe_w" "$dir/no_such_file.pt"

# Every other command that reads weights refuses the file too, and reads
# past the call with --allow-calls; salvage --allow-calls then writes the
# tensors as a file that calls nothing.
other() {   # other WANT_RC WHAT ARGS...: one command's exit status and error
    _want=$1 _what=$2
    shift 2
    why=
    rcc "$@"
    [ "$rc" -eq "$_want" ] || wrong "rcc $*: exit $rc, expected $_want"
    if [ "$_want" -eq 2 ]; then
        grep -q -F -e "the pickle calls " "$err" && grep -q -F -e "refused, nothing was executed" "$err" ||
            wrong "rcc $*: the error does not name the call"
    elif [ "$_what" = warns ]; then
        grep -q -F -e "torch.load would run it; rcc did not" "$err" || wrong "rcc $*: no warning naming the call"
    fi
    settle "rcc $1" "rcc $*: exit $_want ($_what)"
}
spec=$tmp/w.arch
printf 'model W {\n  param w: f32[2]\n}\n' >"$spec"
other 2 refuses infer "$runs_w"
other 0 warns infer --allow-calls "$runs_w"
other 2 refuses check "$spec" "$runs_w"
other 0 warns check --allow-calls "$spec" "$runs_w"
other 2 refuses salvage "$runs_w" -o "$tmp/clean.pt"
[ ! -e "$tmp/clean.pt" ] || fail "salvage left $tmp/clean.pt behind after refusing"
other 0 warns salvage --allow-calls "$runs_w" -o "$tmp/clean.pt"
other 0 clean scan "$tmp/clean.pt"

runs_marker=$(cat "$dir/$(basename "$runs_w" .pt).marker")
[ ! -e "$runs_marker" ] || fail "THE PAYLOAD RAN: $runs_marker exists"
[ "$bad" -eq 0 ] || fail "$bad of $ncases cases (and multi-file checks) failed"
say "all $ncases cases pass"
