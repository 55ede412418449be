#!/bin/sh
# tests/dtypes.sh — the dtypes of newer files through `rcc salvage`
# (tests/gen_dtypes.py's fixtures; their values are checked against the
# generator's own decoder by tests/parity/dt_*.parity).
#
# For each good fixture of $FIXTURES/dtypes/manifest.txt:
#   - `rcc salvage W -o S.pt` exits 0, and S.pt reads (readall: rcc_read
#     and rcc_read_f32) byte for byte what W reads, with the same listing
#     (names, dtypes, shapes) and a little-endian byte order;
#   - S.pt's data.pkl pickles each tensor as PyTorch 2.x does: an FP8,
#     u16, u32 or u64 tensor as _rebuild_tensor_v3 over ('storage',
#     torch.UntypedStorage, key, 'cpu', NBYTES) with its torch dtype, every
#     other one as _rebuild_tensor_v2 over its typed storage (numel in
#     elements), read by a recording unpickler that imports nothing;
#   - `rcc scan S.pt` says it is safe to torch.load(weights_only=True);
#   - a file with a packed dtype (f4e2m1fn, f6*) is refused in one line;
#   - when W holds no dtype torch 1.13 lacks and is little-endian,
#     torch.load reads S.pt equal to W as it reads W (the complex files).
. "$(dirname "$0")/setup.sh"

need_env RCC RCC_READALL FIXTURES PYTHON
need_exe "$RCC_READALL" RCC_READALL
manifest=$FIXTURES/dtypes/manifest.txt
need_file "$manifest" "make the fixtures: $PYTHON $testsdir/gen_dtypes.py $FIXTURES"

status=0
n=0
while read -r kind name; do
    [ "$kind" = good ] || continue
    n=$((n + 1))
    w=$FIXTURES/$name.pt
    [ -f "$w" ] || w=$FIXTURES/$name.safetensors
    [ -f "$w" ] || fail "$name: no fixture file"
    s=$tmp/$name.salvaged.pt
    run "$tmp/o" "$tmp/err" "$RCC" salvage "$w" -o "$s"
    # A torch.save archive has no packed dtype of safetensors' (F6) nor
    # one rcc writes (F4): salvage refuses such a file in one line, naming
    # the first tensor, and leaves no output behind.
    if grep -q ': "f[46]e' "$FIXTURES/$name.expect.json"; then
        if [ "$rc" -ne 2 ] || [ "$(wc -l <"$tmp/err")" -ne 1 ] || [ -e "$s" ] ||
            ! grep -q 'is f[46]e[0-9a-z]*, which rcc does not write into a torch.save archive' "$tmp/err"; then
            show stderr "$tmp/err"
            echo "FAIL: $name: rcc salvage of packed dtypes: exit $rc, expected 2 and one line naming the dtype"
            status=1
        fi
        say "ok: $name refused by salvage: $(cat "$tmp/err")"
        continue
    fi
    [ "$rc" -eq 0 ] || { show stderr "$tmp/err"; fail "rcc salvage $w: exit $rc"; }
    for f in "$w" "$s"; do
        b=$(basename "$f")
        run "$tmp/o" "$tmp/err" "$RCC_READALL" "$f" "$tmp/$b.values" "$tmp/$b.f32"
        [ "$rc" -eq 0 ] || { show stderr "$tmp/err"; fail "readall $f: exit $rc"; }
        run "$tmp/$b.json" "$tmp/err" "$RCC" dump --json "$f"
        [ "$rc" -eq 0 ] || { show stderr "$tmp/err"; fail "rcc dump --json $f: exit $rc"; }
    done
    wb=$(basename "$w") sb=$(basename "$s")
    for k in values f32; do
        cmp -s "$tmp/$wb.$k" "$tmp/$sb.$k" || { echo "FAIL: $name: the salvaged file's $k differ"; status=1; }
    done
    run "$tmp/o" "$tmp/err" "$RCC" scan "$s"
    if [ "$rc" -ne 0 ]; then
        show stdout "$tmp/o"
        echo "FAIL: $name: rcc scan of the salvaged file exits $rc, not 0 (safe)"
        status=1
    fi
    if ! "$PYTHON" - "$tmp/$wb.json" "$tmp/$sb.json" "$s" "$w" <<'PY'; then
import collections, io, json, pickle, sys, zipfile
a, b = (json.load(open(p)) for p in sys.argv[1:3])
salvaged, original = sys.argv[3], sys.argv[4]
if b.get("byteorder") != "little":
    sys.exit("the salvaged file's byteorder is %r" % b.get("byteorder"))
listing = lambda d: [(t["name"], t["dtype"], t["shape"]) for t in d["tensors"]]
if listing(a) != listing(b):
    sys.exit("the salvaged file lists other tensors:\n  %s\n  %s" % (listing(a), listing(b)))
TORCH = {"f8e4m3fn": "float8_e4m3fn", "f8e5m2": "float8_e5m2", "f8e4m3fnuz": "float8_e4m3fnuz",
         "f8e5m2fnuz": "float8_e5m2fnuz", "f8e8m0fnu": "float8_e8m0fnu",
         "u16": "uint16", "u32": "uint32", "u64": "uint64"}
STORAGE = {"f32": "FloatStorage", "f16": "HalfStorage", "bf16": "BFloat16Storage", "f64": "DoubleStorage",
           "i64": "LongStorage", "i32": "IntStorage", "i16": "ShortStorage", "i8": "CharStorage",
           "u8": "ByteStorage", "bool": "BoolStorage", "c64": "ComplexFloatStorage",
           "c128": "ComplexDoubleStorage"}

class Call:
    def __init__(self, fn, args):
        self.fn, self.args = fn, args

class Fn(str):
    def __call__(self, *args):
        return collections.OrderedDict() if self == "collections.OrderedDict" else Call(self, args)

class U(pickle.Unpickler):   # records; imports and calls nothing
    def find_class(self, mod, name):
        return Fn(mod + "." + name)
    def persistent_load(self, pid):
        return pid

with zipfile.ZipFile(salvaged) as z:
    records = {i.filename.split("/data/")[-1]: i.file_size for i in z.infolist() if "/data/" in i.filename}
    pkl = z.read([n for n in z.namelist() if n.endswith("/data.pkl")][0])
sd = U(io.BytesIO(pkl)).load()
dtypes = {t["name"]: t["dtype"] for t in b["tensors"]}
ELEMENT = {"f32": 4, "f16": 2, "bf16": 2, "f64": 8, "i64": 8, "i32": 4, "i16": 2, "i8": 1, "u8": 1,
           "bool": 1, "c64": 8, "c128": 16}
for name, v in sd.items():
    if v.fn == "torch._utils._rebuild_parameter":
        v = v.args[0]
    dt, pid = dtypes[name], v.args[0]
    if dt in TORCH:   # the UntypedStorage's size is in bytes
        ok = (v.fn == "torch._utils._rebuild_tensor_v3" and len(v.args) == 7 and pid[1] == "torch.UntypedStorage"
              and v.args[6] == "torch." + TORCH[dt] and records.get(pid[2]) == pid[4])
    else:             # a typed storage's, in elements
        ok = (v.fn == "torch._utils._rebuild_tensor_v2" and pid[1] == "torch." + STORAGE[dt]
              and records.get(pid[2]) == pid[4] * ELEMENT[dt])
    if not ok:
        sys.exit("%s (%s) is pickled as %s over %s (record %s: %s bytes, the id says %s), not as torch 2.x does"
                 % (name, dt, v.fn, pid[1], pid[2], records.get(pid[2]), pid[4]))
# torch 1.13 reads neither the new dtypes nor a big-endian archive (it
# has no byteorder record): compare with it where it can read the original.
if not any(d in TORCH for d in dtypes.values()) and original.endswith(".pt") and a.get("byteorder") == "little":
    import torch
    x_all, y_all = torch.load(original), torch.load(salvaged)
    for k, x in x_all.items():
        y = y_all[k]
        if x.dtype != y.dtype or x.shape != y.shape or \
                x.contiguous().numpy().tobytes() != y.contiguous().numpy().tobytes():
            sys.exit("torch reads %s of the salvaged file differently from the original" % k)
print("ok: %d tensors, pickled as torch 2.x does" % len(sd))
PY
        echo "FAIL: $name: the salvaged file"
        status=1
    fi
    say "ok: $name salvaged: $(wc -c <"$tmp/$sb.values") bytes read alike"
done <"$manifest"
[ "$n" -gt 0 ] || fail "$manifest has no good fixture"
[ "$status" -eq 0 ] || fail "dtypes"
say "PASS: dtypes ($n fixtures salvaged)"
