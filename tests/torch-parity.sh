#!/bin/sh
# tests/torch-parity.sh — automake LOG_COMPILER for tests/parity/NAME.parity
#
#   torch-parity.sh [DIR/]NAME.parity
#
# NAME is a fixture made by tests/gen_fixtures.py; the .parity file holds a
# one-line comment saying what the fixture proves, and optionally the lines
# "weights: FILE" (read $FIXTURES/FILE.pt rather than NAME.pt; FILE as is
# when it has a '.', e.g. NAME.safetensors) and
# "key: PATH" (pass --key PATH, for a state dict torch's listing names) and
# "modules: yes" (a pickled whole model: its module tree is compared with
# torch's, $FIXTURES/NAME.modules.json, which must exist).
# Checks, against what PyTorch itself says about the file:
#   1. `rcc dump --json` exits 0 and lists the same state-dict path, the
#      same names in the same order, the same dtypes and shapes
#      (tests/compare_listing.py against NAME.expect.json);
#   2. $RCC_READALL's rcc_read bytes equal NAME.values.bin and its
#      rcc_read_f32 floats equal NAME.f32.bin, bit for bit (a complex
#      tensor has no floats: readall requires rcc_read_f32 to refuse it
#      with a message saying "complex", and NAME.f32.bin leaves it out);
#   3. plain `rcc dump` exits 0 and mentions every tensor name.

. "$(dirname "$0")/setup.sh"

start_case .parity "$@"
need_env RCC_READALL
need_exe "$RCC_READALL" RCC_READALL
weights=$(sed -n 's/^weights:[[:space:]]*//p' "$1")
key=$(sed -n 's/^key:[[:space:]]*//p' "$1")
case $weights in
*.*) w=$FIXTURES/$weights ;;          # a file name with its suffix, as is
*)   w=$FIXTURES/${weights:-$name}.pt ;;
esac
expect=$FIXTURES/$name.expect.json
hint="make the fixtures: $PYTHON $testsdir/gen_fixtures.py $FIXTURES"
for f in "$w" "$expect" "$FIXTURES/$name.values.bin" "$FIXTURES/$name.f32.bin"; do
    need_file "$f" "$hint"
done
compare=$testsdir/compare_listing.py
need_file "$compare"

say "fixture: $(sed -n '1s/^#[[:space:]]*//p' "$1")"

# 1. the listing
say "checking: $RCC dump --json $w"
run "$tmp/out.json" "$tmp/err" "$RCC" dump --json ${key:+--key "$key"} "$w"
if [ "$rc" -ne 0 ]; then
    show "stderr" "$tmp/err"
    show "stdout" "$tmp/out.json"
    fail "rcc dump --json exited with $rc, expected 0"
fi
[ ! -s "$tmp/err" ] || show "stderr (exit 0)" "$tmp/err"
say "checking: the listing against torch ($expect)"
if ! "$PYTHON" "$compare" "$expect" "$tmp/out.json"; then
    show "rcc dump --json" "$tmp/out.json"
    fail "rcc dump --json disagrees with torch on $name"
fi

# 1b. the module tree of a pickled whole model, against torch's.  The
# .parity file says whether there is one: a tree that should be checked
# but whose expectation is missing is a failure, and so is an expectation
# that nothing asks for.
modules=$(sed -n 's/^modules:[[:space:]]*//p' "$1")
case $modules in
yes)
    need_file "$FIXTURES/$name.modules.json" "written by $testsdir/gen_formats.py"
    say "checking: the module tree against torch ($FIXTURES/$name.modules.json)"
    "$PYTHON" "$testsdir/compare_modules.py" "$FIXTURES/$name.modules.json" "$tmp/out.json" ||
        fail "rcc dump --json's modules disagree with torch on $name"
    # torch.load imports every module's class: those outside torch are
    # named by dump --modules, and are exactly the ones torch lists.
    run "$tmp/modules.txt" "$tmp/err" "$RCC" dump --modules ${key:+--key "$key"} "$w"
    [ "$rc" -eq 0 ] || fail "rcc dump --modules exited with $rc"
    "$PYTHON" - "$FIXTURES/$name.modules.json" "$tmp/modules.txt" <<'PY' || fail "dump --modules names other classes than torch's tree has"
import json, sys
want = {m["type"] for m in json.load(open(sys.argv[1])) if not m["type"].startswith("torch.")}
lead = "classes outside torch that torch.load imports: "
lines = [l[len(lead):].strip() for l in open(sys.argv[2]) if l.startswith(lead)]
got = set(lines[0].split(", ")) if lines else set()
if got != want or len(lines) > 1:
    sys.exit("dump --modules: %s; torch's tree: %s" % (sorted(got), sorted(want)))
print("ok: %d classes outside torch named: %s" % (len(got), ", ".join(sorted(got)) or "none"))
PY
    ;;
"")
    [ ! -f "$FIXTURES/$name.modules.json" ] ||
        fail "$FIXTURES/$name.modules.json exists but $1 has no 'modules: yes' line: the tree would go unchecked"
    ;;
*) fail "$1: 'modules: $modules': only 'modules: yes' is allowed" ;;
esac

# 2. the data
say "checking: $RCC_READALL $w (rcc_read and rcc_read_f32 of every tensor)"
run "$tmp/readall.out" "$tmp/readall.err" \
    "$RCC_READALL" "$w" "$tmp/values.out" "$tmp/f32.out" ${key:+"$key"}
if [ "$rc" -ne 0 ]; then
    show "stderr" "$tmp/readall.err"
    fail "readall exited with $rc, expected 0"
fi
status=0
for kind in values f32; do
    say "checking: $kind bit for bit against $FIXTURES/$name.$kind.bin"
    if ! cmp "$FIXTURES/$name.$kind.bin" "$tmp/$kind.out"; then
        "$PYTHON" "$testsdir/bin_diff.py" "$expect" \
            "$FIXTURES/$name.$kind.bin" "$tmp/$kind.out" "$kind" || true
        status=1
    fi
done
[ "$status" -eq 0 ] || fail "tensor data of $name differs from torch"

# 3. the table
say "checking: $RCC dump $w (table)"
run "$tmp/table.txt" "$tmp/err" "$RCC" dump ${key:+--key "$key"} "$w"
if [ "$rc" -ne 0 ]; then
    show "stderr" "$tmp/err"
    fail "rcc dump exited with $rc, expected 0"
fi
if ! "$PYTHON" "$compare" --table "$expect" "$tmp/table.txt"; then
    show "rcc dump" "$tmp/table.txt"
    fail "rcc dump does not name every tensor of $name"
fi

say "PASS: $name"
exit 0
