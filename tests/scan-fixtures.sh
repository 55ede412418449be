#!/bin/sh
# tests/scan-fixtures.sh — `rcc scan` of every weight file the suite already
# has: the verdicts of issue 11's classification do not move files the
# other tests rely on.
#
# Every *.pt, *.pth, *.bin and *.safetensors under $FIXTURES (but scan/,
# which tests/scan.sh covers case by case, and the raw tensor values
# NAME.values.bin / NAME.f32.bin the generators write beside the files) goes
# through `rcc scan --json`:
#   - no crash, a time-out or an exit that is not the verdict's (0 safe,
#     1 needs-classes, 2 runs-code or unreadable)
#   - runs-code exactly for the files the generators made to call code
#     (RUNS_CODE below, by path under $FIXTURES), and each of them is there
#   - a file whose `rcc dump --modules` shows a module tree (a whole-module
#     torch.save) is needs-classes
#   - a .safetensors file is safe or unreadable
# and the counts per verdict are reported at the end.
. "$(dirname "$0")/setup.sh"
need_env RCC FIXTURES
need_exe "$RCC" RCC
[ -d "$FIXTURES" ] || fail "$FIXTURES is not a folder"

# The files made to run code when torch.load reads them: each calls a
# command-running global with REDUCE (tests/gen_fixtures.py, gen_hostile.py,
# gen_corpus.py).
RUNS_CODE="
bad_os_system.pt
bad_h_builtins_eval.pt
bad_h_subprocess_popen.pt
bad_h_runpy.pt
bad_h_call_key_escapes.pt
bad_h_stack_global.pt
corpus/pkl_payload_then_garbage.pt
"

find "$FIXTURES" -path "$FIXTURES/scan" -prune -o -type f ! -name '*.values.bin' ! -name '*.f32.bin' \
    \( -name '*.pt' -o -name '*.pth' -o -name '*.bin' -o -name '*.safetensors' \) -print |
    sort >"$tmp/files"
total=$(wc -l <"$tmp/files")
[ "$total" -gt 100 ] || fail "only $total weight files under $FIXTURES (make the fixtures first)"

for f in $RUNS_CODE; do
    grep -q -x -F -e "$FIXTURES/$f" "$tmp/files" || fail "$FIXTURES/$f is missing (a generator no longer makes it?)"
done

out=$tmp/out err=$tmp/err
rcc() { try "$out" "$err" "$RCC" "$@"; }

bad=0 safe=0 needs=0 runs=0 unreadable=0 trees=0
while IFS= read -r w; do
    rel=${w#"$FIXTURES"/}
    why=
    rcc scan --json "$w"
    if [ "$rc" -eq 124 ]; then
        why="rcc scan timed out"
    elif [ "$rc" -gt 128 ] && [ "$rc" -lt 160 ]; then
        why="rcc scan crashed (signal $((rc - 128)))"
    else
        verdict=$("$PYTHON" -c '
import json, sys
fs = json.load(open(sys.argv[1]))["files"]
assert len(fs) == 1 and fs[0]["file"] == sys.argv[2]
print(fs[0]["verdict"])
' "$out" "$w" 2>/dev/null) || verdict=
        case $verdict in
        safe) want=0 safe=$((safe + 1)) ;;
        needs-classes) want=1 needs=$((needs + 1)) ;;
        runs-code) want=2 runs=$((runs + 1)) ;;
        unreadable) want=2 unreadable=$((unreadable + 1)) ;;
        *) want= why="rcc scan --json gives no verdict (not one file entry with a known verdict)" ;;
        esac
        if [ -n "$want" ] && [ "$rc" -ne "$want" ]; then
            why="exit $rc for verdict $verdict"
        fi
    fi
    if [ -z "$why" ]; then
        listed=
        case "
$RUNS_CODE
" in
        *"
$rel
"*) listed=y ;;
        esac
        if [ -n "$listed" ] && [ "$verdict" != runs-code ]; then
            why="$verdict, but the file was made to run code"
        elif [ -z "$listed" ] && [ "$verdict" = runs-code ]; then
            why="runs-code, but no generator made it to call code"
        fi
        case $w in
        *.safetensors)
            case $verdict in
            safe | unreadable) ;;
            *) why="a safetensors file is $verdict" ;;
            esac ;;
        esac
    fi
    if [ -z "$why" ] && [ "$verdict" != unreadable ] && [ "$verdict" != runs-code ]; then
        rcc dump --modules "$w"
        if [ "$rc" -eq 0 ] && grep -q '^  (root)' "$out"; then
            trees=$((trees + 1))
            [ "$verdict" = needs-classes ] || why="$verdict, but rcc dump --modules shows a module tree (a whole-module save needs its classes)"
        fi
    fi
    if [ -n "$why" ]; then
        say "FAIL $rel: $why"
        { show stdout "$out"; show stderr "$err"; } | sed -n 1,12p
        bad=$((bad + 1))
    fi
done <"$tmp/files"

say "$total files: $safe safe, $needs needs-classes ($trees with a module tree), $runs runs-code, $unreadable unreadable"
[ "$runs" -eq "$(echo $RUNS_CODE | wc -w)" ] || [ "$bad" -gt 0 ] || fail "counted $runs runs-code files"
[ "$bad" -eq 0 ] || fail "$bad of $total files"
