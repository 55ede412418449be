#!/bin/sh
# tests/protocols.sh — pickle protocols 0 and 1 (tests/gen_protocols.py).
#
# For each line of $FIXTURES/protocols/manifest.txt:
#   pickle NAME  tests/pickle_values --pickle protocols/NAME.pkl prints
#                exactly protocols/NAME.expect (Python's value of the pickle)
#   torch NAME   tests/pickle_values --torch NAME.pt prints exactly
#                protocols/NAME.expect (the checkpoint saved, tensors as T)
#   warn NAME    rcc dump NAME.pt exits 0 and warns, once, that the storage
#                ids are text (protocol 0), which torch.load cannot read
# and protocol 1's files, which torch.load reads, get no such warning.
# The listings and tensor data are tests/parity/proto*.parity's.
. "$(dirname "$0")/setup.sh"

need_env RCC RCC_PICKLE_VALUES FIXTURES
need_exe "$RCC_PICKLE_VALUES" RCC_PICKLE_VALUES
manifest=$FIXTURES/protocols/manifest.txt
need_file "$manifest" "make the fixtures: $PYTHON $testsdir/gen_protocols.py $FIXTURES"
warning="torch.save(pickle_protocol=0) wrote the storage ids as text, which torch.load cannot read; rcc reads them"

status=0
n=0
while read -r kind name; do
    n=$((n + 1))
    case $kind in
    pickle | torch)
        if [ "$kind" = pickle ]; then w=$FIXTURES/protocols/$name.pkl; else w=$FIXTURES/$name.pt; fi
        run "$tmp/out" "$tmp/err" "$RCC_PICKLE_VALUES" "--$kind" "$w"
        if [ "$rc" -ne 0 ]; then
            show "stderr" "$tmp/err"
            echo "FAIL: pickle_values --$kind $w exited with $rc"
            status=1
        elif ! cmp -s "$tmp/out" "$FIXTURES/protocols/$name.expect"; then
            echo "FAIL: $name: rcc's values differ from Python's"
            "$PYTHON" - "$FIXTURES/protocols/$name.expect" "$tmp/out" <<'PY'
import sys
want, got = (open(p).read().strip().split(", ") for p in sys.argv[1:3])
for i, (w, g) in enumerate(zip(want, got)):
    if w != g:
        print("  item %d: python %s, rcc %s" % (i, w[:200], g[:200]))
        break
else:
    print("  lengths differ: python %d items, rcc %d" % (len(want), len(got)))
PY
            status=1
        else
            say "ok: $name ($kind): $(wc -c <"$tmp/out") bytes of values agree"
        fi
        ;;
    warn)
        run "$tmp/out" "$tmp/err" "$RCC" dump "$FIXTURES/$name.pt"
        if [ "$rc" -ne 0 ] || [ "$(cat "$tmp/err")" != "rcc: warning: $FIXTURES/$name.pt: $warning" ]; then
            show "stderr" "$tmp/err"
            echo "FAIL: rcc dump $name.pt: exit $rc, expected 0 and the one text-id warning"
            status=1
        else
            say "ok: $name warns about its text storage ids"
        fi
        ;;
    *) fail "$manifest: unknown line '$kind $name'" ;;
    esac
done <"$manifest"
[ "$n" -gt 0 ] || fail "$manifest is empty"

for name in proto1_zip proto1_legacy ckpt_proto1_zip ckpt_proto1_legacy; do
    run "$tmp/out" "$tmp/err" "$RCC" dump "$FIXTURES/$name.pt"
    if [ "$rc" -ne 0 ] || [ -s "$tmp/err" ]; then
        show "stderr" "$tmp/err"
        echo "FAIL: rcc dump $name.pt: exit $rc, expected 0 and no warning (protocol 1 ids are binary)"
        status=1
    fi
done
[ "$status" -eq 0 ] || fail "protocols"
say "PASS: protocols ($n cases)"
