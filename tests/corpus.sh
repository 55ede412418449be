#!/bin/sh
# tests/corpus.sh — the shared adversarial corpus: 67 crafted files, each
# with the verdict it must get (../shared/formats/adversarial/files/
# manifest.json; RCC_CORPUS overrides the folder).
#
# Each file goes through `rcc dump --verify`, which reads every storage's
# bytes too.  "load" must exit 0; "reject" must exit 2 with one line
# "rcc: error: FILE: ..."; the open verdicts (load-or-reject, policy) may
# do either.  Nothing may crash or draw a sanitizer report (both show as
# another exit status).
. "$(dirname "$0")/setup.sh"
need_env RCC
need_exe "$RCC" RCC
corpus=${RCC_CORPUS:-$srcdir/../shared/formats/adversarial/files}
need_file "$corpus/manifest.json" "the shared corpus (set RCC_CORPUS to its folder)"

"$PYTHON" -c '
import json, sys
for e in json.load(open(sys.argv[1])):
    print(e["id"], e["file"], e["expect"])
' "$corpus/manifest.json" >"$tmp/cases"
n=$(wc -l <"$tmp/cases")
[ "$n" -ge 60 ] || fail "manifest lists only $n cases"

bad=0
while read -r id file expect; do
    run "$tmp/out" "$tmp/err" "$RCC" dump --verify "$corpus/$file"
    case $expect in
    load) ok=$([ "$rc" -eq 0 ] && echo y) ;;
    reject) ok=$([ "$rc" -eq 2 ] && [ "$(wc -l <"$tmp/err")" -eq 1 ] &&
                 grep -q "^rcc: error: $corpus/$file: " "$tmp/err" && echo y) ;;
    *) ok=$([ "$rc" -eq 0 ] || [ "$rc" -eq 2 ] && echo y) ;;
    esac
    if [ "$ok" = y ]; then
        say "ok: $id $file ($expect): exit $rc $(head -c 160 "$tmp/err" | head -n 1)"
    else
        echo "FAIL: $id $file: expected $expect, exit $rc"
        show stderr "$tmp/err"
        bad=$((bad + 1))
    fi
done <"$tmp/cases"
[ "$bad" -eq 0 ] || fail "$bad of $n corpus files got the wrong verdict"
say "PASS: all $n corpus verdicts"
