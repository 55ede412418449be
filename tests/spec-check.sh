#!/bin/sh
# tests/spec-check.sh — automake LOG_COMPILER for tests/specs/NAME.spec
#
# NAME.spec holds a one-line comment saying what architecture it is and
#   spec: PATH          the .arch file, relative to the source tree
#   weights: FILE       the fixture tests/gen_specs.py wrote ($FIXTURES/FILE.pt,
#                       with FILE.json beside it)
# rcc check must accept the spec against torch's own state dict (exit 0),
# say it matched as many keys as the state dict has, and print the
# forward's signature; with the spec's symbolic sizes (N, T, ...) replaced
# by the values the model ran with, that signature must be exactly the one
# torch's forward produced (inputs and output types, from FILE.json).
. "$(dirname "$0")/setup.sh"
start_case .spec "$@"
field() { sed -n "s/^$1:[[:space:]]*//p" "$2"; }
spec=$(field spec "$1")
weights=$(field weights "$1")
[ -n "$spec" ] && [ -n "$weights" ] || fail "$1 needs spec: and weights: lines"
need_file "$FIXTURES/$weights.pt"
need_file "$FIXTURES/$weights.json"

say "checking: rcc check $spec $weights.pt"
(cd "$srcdir" && run "$tmp/out" "$tmp/err" "$RCC" check "$spec" "$FIXTURES/$weights.pt" && echo "$rc" >"$tmp/rc")
rc=$(cat "$tmp/rc")
if [ "$rc" -ne 0 ]; then
    show stdout "$tmp/out"
    show stderr "$tmp/err"
    fail "rcc check exited $rc, expected 0"
fi
# What torch says, and rcc's two lines: "SPEC: MODEL matches FILE: K keys, ..."
# and "SPEC: forward (x: f32[N, 3, 224, 224]) -> f32[N, 10]".
"$PYTHON" - "$FIXTURES/$weights.json" "$tmp/out" "$spec" >"$tmp/verdict" <<'PY' || { show verdict "$tmp/verdict"; show stdout "$tmp/out"; fail "$name"; }
import json, re, sys
want = json.load(open(sys.argv[1]))
out = open(sys.argv[2]).read().splitlines()
spec = sys.argv[3]
m = [re.match(re.escape(spec) + r": \S+ matches .*: (\d+) keys", l) for l in out]
m = [x for x in m if x]
f = [l[len(spec) + len(": forward "):] for l in out if l.startswith(spec + ": forward ")]
ok = True
if len(m) != 1:
    print("no single 'matches ...: K keys' line"); ok = False
elif int(m[0].group(1)) != want["keys"]:
    print("rcc matched %s keys, torch's state dict has %d" % (m[0].group(1), want["keys"])); ok = False
else:
    print("keys: %d" % want["keys"])
if len(f) != 1:
    print("no single forward signature line"); ok = False
else:
    b = want["bindings"]
    got = re.sub(r"\b[A-Za-z_]\w*\b", lambda x: str(b.get(x.group(0), x.group(0))), f[0])
    print("rcc:   %s\n       %s (with %s)" % (f[0], got, ", ".join("%s=%d" % kv for kv in b.items())))
    print("torch: %s" % want["signature"])
    if got != want["signature"]:
        print("the signatures differ"); ok = False
sys.exit(0 if ok else 1)
PY
cat "$tmp/verdict"
say "PASS: $name"
