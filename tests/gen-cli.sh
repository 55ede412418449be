#!/bin/sh
# tests/gen-cli.sh — rcc gen and rcc run as commands: their options and
# files (--prefix, -MD -MF, --embed, --main's checks of its inputs), what
# they refuse and how they say it, and rcc run's cache (reused, rebuilt
# when stale or damaged, a compiler failure reported as rcc's bug).
. "$(dirname "$0")/setup.sh"
need_env RCC FIXTURES srcdir
need_exe "$RCC" RCC
ex=$srcdir/examples/mlp
G=$FIXTURES/parity/nanogpt
need_file "$ex/mlp.arch"
need_file "$G/b1_in0.npy"
export XDG_CACHE_HOME="$tmp/cache"
cc=${CC:-cc}
flags="${RCC_CFLAGS:--O2}"

# ---- rcc gen: usage, files, determinism
expect 2 "gen: usage: rcc gen SPEC.arch -o MODEL.c" "$RCC" gen "$ex/mlp.arch"
expect 2 "gen: -MF needs -MD" "$RCC" gen "$ex/mlp.arch" -o "$tmp/m.c" -MF "$tmp/m.d"
expect 2 "gen: --size takes NAME=VALUE" "$RCC" gen "$ex/mlp.arch" -o "$tmp/m.c" --size T
expect 2 "gen: the output must be a .c file: $tmp/m.x" "$RCC" gen "$ex/mlp.arch" -o "$tmp/m.x"
expect 0 '' "$RCC" gen "$ex/mlp.arch" -o "$tmp/a.c" --prefix net -MD -MF "$tmp/a.d"
grep -q '^net \*net_load(const char \*weights_path, int max_batch, char \*err, size_t errlen);' "$tmp/a.h" ||
    fail "--prefix net: a.h does not declare net_load"
grep -q '^int net_forward(net \*m, int batch, const float \*in0, float \*out0);' "$tmp/a.h" ||
    fail "a.h: net_forward is not (m, batch, in0, out0)"
grep -q '^#define NET_IN0_SHAPE {N, 16}' "$tmp/a.h" || fail "a.h: no NET_IN0_SHAPE {N, 16}"
grep -q "^$tmp/a.c $tmp/a.h: .*mlp.arch" "$tmp/a.d" || { show a.d "$tmp/a.d"; fail "-MD -MF: a.d does not make a.c and a.h depend on mlp.arch"; }
grep -q '^#line [0-9]* ".*mlp.arch"' "$tmp/a.c" || fail "a.c has no #line back to the spec"
mkdir "$tmp/again"
expect 0 '' "$RCC" gen "$ex/mlp.arch" -o "$tmp/again/a.c" --prefix net
cmp -s "$tmp/again/a.c" "$tmp/a.c" && cmp -s "$tmp/again/a.h" "$tmp/a.h" || fail "two runs of rcc gen wrote different code"

# a symbolic size other than the batch must be given
run "$tmp/out" "$tmp/err" "$RCC" gen "$srcdir/specs/nanogpt.arch" -o "$tmp/g.c"
[ "$rc" -eq 2 ] && grep -q "error: the input size 'T' has no value" "$tmp/err" ||
    { show stderr "$tmp/err"; fail "nanogpt without --size T: exit $rc, no message naming T"; }
[ ! -e "$tmp/g.c" ] && [ ! -e "$tmp/g.h" ] || fail "a failed rcc gen left files behind"

# an operation rcc refuses (as torch does) is a located error, and nothing is written
cat >"$tmp/cum.arch" <<'ARCH'
model Cum {
  input x: i64[N, 8]
  forward(x) {
    return torch.pow(x, -1)
  }
}
ARCH
run "$tmp/out" "$tmp/err" "$RCC" gen "$tmp/cum.arch" -o "$tmp/cum.c"
[ "$rc" -eq 2 ] && grep -q "cum.arch:4:12: error: cannot generate code: pow(): integers to negative integer powers are not allowed" "$tmp/err" ||
    { show stderr "$tmp/err"; fail "pow(ids, -1): exit $rc, no located error"; }
[ ! -e "$tmp/cum.c" ] || fail "a failed rcc gen left cum.c"
# a model named as a C library function gets an API it cannot clash with
cat >"$tmp/pow.arch" <<'ARCH'
model Pow {
  input x: f32[N, 4]
  forward(x) {
    return x * 2
  }
}
ARCH
run "$tmp/out" "$tmp/err" "$RCC" gen "$tmp/pow.arch" -o "$tmp/pow.c"
[ "$rc" -eq 0 ] && grep -q "the API is named pow_model_\*" "$tmp/err" && grep -q '^pow_model \*pow_model_load(' "$tmp/pow.h" ||
    { show stderr "$tmp/err"; fail "a model named Pow: exit $rc, no pow_model API"; }
# shellcheck disable=SC2086
${CC:-cc} -c -Wall -Werror ${RCC_RUNTIME_CFLAGS:-} -o "$tmp/pow.o" "$tmp/pow.c" 2>"$tmp/cc.err" ||
    { show cc "$tmp/cc.err"; fail "pow.c does not compile"; }
say "ok: rcc gen options and refusals"

# ---- the generated main: built with the runtime, checks its inputs
expect 0 '' "$RCC" gen "$ex/mlp.arch" --main -o "$tmp/mlp.c"
# shellcheck disable=SC2086
$cc $flags ${RCC_RUNTIME_CFLAGS:-} -o "$tmp/mlp" "$tmp/mlp.c" ${RCC_RUNTIME_LIBS:-} -lopenblas -lm 2>"$tmp/cc.err" ||
    { show cc "$tmp/cc.err"; fail "the generated mlp.c does not compile"; }
run "$tmp/out" "$tmp/err" "$tmp/mlp" -w "$ex/mlp.pt" "$ex/input.npy" -o "$tmp/o.npy" --expect "$ex/output.npy" --repeat 3
[ "$rc" -eq 0 ] || { show stderr "$tmp/err"; fail "mlp: exit $rc"; }
grep -q '^mlp: output 0: max relative error .* against .*output.npy (tolerance 0.0001)$' "$tmp/err" &&
    grep -q '^mlp: forward median [0-9.]* ms (3 runs)$' "$tmp/err" || { show stderr "$tmp/err"; fail "mlp: no comparison or timing line"; }
"$PYTHON" - "$tmp" "$ex" <<'PY' || fail "the generated main's error messages"
import numpy as np, subprocess, sys
tmp, ex = sys.argv[1], sys.argv[2]
def run(*args):
    p = subprocess.run([tmp + "/mlp", *args], capture_output=True, text=True)
    return p.returncode, p.stderr.strip()
x = np.load(ex + "/input.npy")
np.save(tmp + "/f64.npy", x.astype(np.float64))
np.save(tmp + "/wide.npy", np.zeros((2, 17), np.float32))
np.save(tmp + "/big.npy", np.ones((3, 16), np.float32))
cases = [
    (("-w", ex + "/mlp.pt", tmp + "/f64.npy", "-o", tmp + "/o.npy"), 2, "dtype <f8 (float64); the model expects <f4 (float32)"),
    (("-w", ex + "/mlp.pt", tmp + "/wide.npy", "-o", tmp + "/o.npy"), 2, "shape (2, 17); the model expects (batch, 16)"),
    ((ex + "/input.npy", "-o", tmp + "/o.npy"), 2, "-w WEIGHTS is required"),
    (("-w", ex + "/input.npy", ex + "/input.npy", "-o", tmp + "/o.npy"), 2, "input.npy:"),
    (("-w", ex + "/mlp.pt", tmp + "/big.npy", "-o", tmp + "/o.npy", "--expect", ex + "/output.npy"), 2, "values expected"),
]
for args, want, msg in cases:
    rc, err = run(*args)
    assert rc == want and msg in err and err.count("\n") == 0, (args, rc, err)
np.save(tmp + "/off.npy", np.load(ex + "/output.npy") * 1.01)
rc, err = run("-w", ex + "/mlp.pt", ex + "/input.npy", "-o", tmp + "/o.npy", "--expect", tmp + "/off.npy")
assert rc == 1 and "DIFFERENT" in err, (rc, err)
PY
say "ok: the generated main checks its inputs and compares"

# --embed: the same model with no runtime library at all
expect 0 '' "$RCC" gen "$ex/mlp.arch" --main --embed "$ex/mlp.pt" -o "$tmp/emb.c"
! grep -q 'rcc\.h' "$tmp/emb.c" || fail "--embed: emb.c still includes rcc.h"
# shellcheck disable=SC2086
$cc $flags -o "$tmp/emb" "$tmp/emb.c" -lopenblas -lm 2>"$tmp/cc.err" || { show cc "$tmp/cc.err"; fail "emb.c does not build with libc, libm and CBLAS alone"; }
run "$tmp/out" "$tmp/err" "$tmp/emb" "$ex/input.npy" -o "$tmp/e.npy" --expect "$ex/output.npy"
[ "$rc" -eq 0 ] || { show stderr "$tmp/err"; fail "emb: exit $rc"; }

run "$tmp/out" "$tmp/err" "$RCC" gen "$ex/mlp.arch" -o "$tmp/e3.c" --embed "$FIXTURES/resnet18.pt"
[ "$rc" -eq 2 ] && grep -q "missing tensor '0.weight'" "$tmp/err" || { show stderr "$tmp/err"; fail "--embed of another model's file"; }
say "ok: --embed"

# ---- rcc run: sizes from the inputs, the cache, errors
W=$FIXTURES/$(cat "$G/weights")
expect 0 '' "$RCC" run "$srcdir/specs/nanogpt.arch" "$W" "$G/b1_in0.npy" -o "$tmp/n.npy" --expect "$G/b1_out0.npy"
n=$(ls "$XDG_CACHE_HOME/rcc" | wc -l)
[ "$n" -eq 1 ] || fail "rcc run: $n cache entries, expected 1"
entry=$XDG_CACHE_HOME/rcc/$(ls "$XDG_CACHE_HOME/rcc")
before=$(stat -c %Y "$entry/model")
sleep 1
expect 0 '' "$RCC" run "$srcdir/specs/nanogpt.arch" "$W" "$G/b4_in0.npy" -o "$tmp/n4.npy" --expect "$G/b4_out0.npy"
[ "$(stat -c %Y "$entry/model")" = "$before" ] || fail "rcc run rebuilt a valid cache entry"
printf 'garbage' >>"$entry/model"
expect 0 '' "$RCC" run "$srcdir/specs/nanogpt.arch" "$W" "$G/b1_in0.npy" -o "$tmp/n.npy" --expect "$G/b1_out0.npy"
[ "$(stat -c %Y "$entry/model")" != "$before" ] || fail "rcc run trusted a damaged program"
echo '/* edited */' >>"$entry/model.c"
expect 0 '' "$RCC" run "$srcdir/specs/nanogpt.arch" "$W" "$G/b1_in0.npy" -o "$tmp/n.npy"

! grep -q 'edited' "$entry/model.c" || fail "rcc run kept a cache entry whose source differs"
# token ids out of range: forward's error, not a wild read
"$PYTHON" -c "import numpy as np; np.save('$tmp/bad_ids.npy', np.full((1, 8), 64, np.int64))"
expect 2 "embedding.*a token id is outside 0..63\|transformer.wte: a token id is outside 0..63" \
    "$RCC" run "$srcdir/specs/nanogpt.arch" "$W" "$tmp/bad_ids.npy" -o "$tmp/n.npy"
# the weights of another model: the first mismatch, named
expect 2 "$FIXTURES/mlp.pt: missing tensor 'transformer.wte.weight'" \
    "$RCC" run "$srcdir/specs/nanogpt.arch" "$FIXTURES/mlp.pt" "$G/b1_in0.npy" -o "$tmp/n.npy"
# a compiler that fails is rcc's bug, said so, with the source kept
run "$tmp/out" "$tmp/err" env CC=false "$RCC" run "$ex/mlp.arch" "$ex/mlp.pt" "$ex/input.npy" -o "$tmp/o.npy"
[ "$rc" -eq 2 ] && grep -q 'rcc: error: the generated code did not compile; this is a bug in rcc' "$tmp/err" &&
    grep -q 'source kept in ' "$tmp/err" || { show stderr "$tmp/err"; fail "CC=false: exit $rc"; }
expect 2 "run: usage: rcc run" "$RCC" run "$ex/mlp.arch" "$ex/mlp.pt"
# three at once with an empty cache: each runs, one entry stays, no leftovers
XDG_CACHE_HOME=$tmp/cache3
export XDG_CACHE_HOME
for i in 1 2 3; do
    ("$RCC" run "$ex/mlp.arch" "$ex/mlp.pt" "$ex/input.npy" -o "$tmp/c$i.npy" --expect "$ex/output.npy" \
        >"$tmp/c$i.out" 2>&1; echo $? >"$tmp/c$i.rc") &
done
wait
for i in 1 2 3; do [ "$(cat "$tmp/c$i.rc")" = 0 ] || { show "run $i" "$tmp/c$i.out"; fail "concurrent rcc run $i failed"; }; done
[ "$(ls "$XDG_CACHE_HOME/rcc" | wc -l)" -eq 1 ] || { ls -la "$XDG_CACHE_HOME/rcc"; fail "concurrent runs left other than one cache entry"; }
say "ok: rcc run"
