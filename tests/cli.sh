#!/bin/sh
# tests/cli.sh — the rcc command line: usage errors, --help, --key, output
# errors.  Every error is exit 2 with one line "rcc: error: ..." on stderr
# and nothing on stdout.
. "$(dirname "$0")/setup.sh"
need_env RCC FIXTURES
need_exe "$RCC" RCC
F=$FIXTURES


expect 0 '' "$RCC" --help
grep -q '^  dump W' "$tmp/out" || fail "--help does not list dump"
expect 0 '' "$RCC" --version
grep -q '^rcc [0-9]' "$tmp/out" || fail "--version prints no version"

run "$tmp/out" "$tmp/err" "$RCC"
[ "$rc" -eq 2 ] && grep -q '^usage: rcc' "$tmp/err" || fail "rcc without arguments: exit $rc, no usage"

expect 2 "unknown command 'frobnicate'" "$RCC" frobnicate
expect 2 "dump: no weight file given" "$RCC" dump
expect 2 "dump: unknown option '--bogus'" "$RCC" dump --bogus "$F/mlp.pt"
expect 2 "dump: more than one weight file" "$RCC" dump "$F/mlp.pt" "$F/lstm.pt"
expect 2 "$tmp/none.pt: cannot open: No such file" "$RCC" dump "$tmp/none.pt"
expect 2 "$tmp: not a regular file" "$RCC" dump "$tmp"
expect 2 "$F/checkpoint.pt: --key: no entry 'nosuch' in the file's dict (it has: epoch, model, optimizer, args, best_acc)" \
    "$RCC" dump --key nosuch "$F/checkpoint.pt"
expect 2 "$F/checkpoint.pt: --key args: the dict there holds no tensors" "$RCC" dump --key args "$F/checkpoint.pt"
expect 2 "$F/checkpoint.pt: --key: no entry '9'" "$RCC" dump --key=optimizer.state.9 "$F/checkpoint.pt"

# --key= and --key agree; the path is reported in the JSON.
expect 0 '' "$RCC" dump --json --key=model "$F/checkpoint.pt"
grep -q '"state_dict_path": "model"' "$tmp/out" || fail "--key=model: state_dict_path is not model"

# The JSON is one valid object with the promised members.
expect 0 '' "$RCC" dump --json "$F/checkpoint.pt"
"$PYTHON" - "$tmp/out" <<'PY' || fail "dump --json of checkpoint.pt is not the promised JSON"
import json, math, sys
d = json.load(open(sys.argv[1]))
for k in ("file", "format", "state_dict_path", "tensors", "storages", "totals", "other", "warnings"):
    assert k in d, k
assert d["format"] == "zip" and d["state_dict_path"] == "model"
assert d["totals"]["tensors"] == len(d["tensors"]) == 6
assert "epoch = 7" in d["other"], d["other"]
assert any(o.startswith("optimizer: 1 param group, 18 state tensors") for o in d["other"]), d["other"]
for t in d["tensors"]:
    s = d["storages"][[x["key"] for x in d["storages"]].index(t["storage"])]
    assert s["users"] >= 1 and t["bytes"] <= s["bytes"]
# the totals are the state dict's (the optimizer's storages are listed, unused)
used = [s for s in d["storages"] if s["users"]]
assert len(used) < len(d["storages"]), "checkpoint.pt lists no storage outside the state dict"
assert d["totals"]["bytes"] == sum(s["bytes"] for s in used), d["totals"]
assert d["totals"]["elements"] == sum(math.prod(t["shape"]) for t in d["tensors"])
PY

# A failed write is an error, not a silent truncation.  Without a
# writable /dev/full it cannot be tested here: the test is skipped (after
# everything else has passed), not passed.
if [ ! -w /dev/full ]; then
    skip "/dev/full is not writable: rcc dump's failed-write error is untested"
fi
run "$tmp/out" "$tmp/err" sh -c "'$RCC' dump '$F/resnet18.pt' >/dev/full"
[ "$rc" -eq 2 ] && grep -q 'cannot write' "$tmp/err" || { show stderr "$tmp/err"; fail "dump to /dev/full: exit $rc"; }
say "ok: rcc dump >/dev/full fails with exit 2"
say "PASS: cli"
