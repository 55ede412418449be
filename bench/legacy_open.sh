#!/bin/bash
# legacy_open.sh [RCC_BINARY]: `rcc dump` against torch.load on files of
# many small tensors, where what costs is the number of tensors and
# storages, not their bytes: a per-tensor scan anywhere in the reader shows
# up here as quadratic time.
#
# Run from the build directory; RCC_BINARY defaults to ./src/rcc. The files
# are made once in ${BENCH_DIR:-bench-data} by make_many.py (N = ${MANY_N:-20000}
# tensors, each on its own storage):
#   many_legacy.pt  torch.save(..., _use_new_zipfile_serialization=False)
#   many_zip.pt     torch.save(...)
# For each file: rcc dump's wall time (whole process, bash's $EPOCHREALTIME,
# median of 5) and peak RSS (GNU time %M, one more run), beside torch.load's
# (time.perf_counter around torch.load plus listing every name, dtype and
# shape, inside python: no interpreter start or torch import; median of 3),
# and the ratio. Both sides run warm: one untimed run each first.
set -eu
export LC_ALL=C

RCC=${1:-./src/rcc}
PY=/usr/bin/python3
BENCH_DIR=${BENCH_DIR:-bench-data}
N=${MANY_N:-20000}
here=$(cd "$(dirname "$0")" && pwd)

if [ ! -x /usr/bin/time ]; then
  echo "legacy_open.sh: /usr/bin/time not found; apt-get install time" >&2
  exit 2
fi
if [ $# -gt 1 ]; then
  echo "usage: legacy_open.sh [RCC_BINARY]" >&2
  exit 2
fi
if [ ! -x "$RCC" ]; then
  echo "legacy_open.sh: $RCC: not an executable (build rcc, or pass its path)" >&2
  exit 2
fi
dir=$BENCH_DIR/many-$N
if [ ! -f "$dir/many_zip.pt" ] || [ ! -f "$dir/many_legacy.pt" ]; then
  echo "making $dir/many_legacy.pt and many_zip.pt ..." >&2
  "$PY" "$here/make_many.py" "$dir" "$N"
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

torch_list='
import sys, time, torch
t = time.perf_counter()
sd = torch.load(sys.argv[1], map_location="cpu")
for k, v in sd.items():
    print(k, v.dtype, tuple(v.shape))
ms = (time.perf_counter() - t) * 1e3
print("%.3f" % ms, file=open(sys.argv[2], "a"))
'
median() { sort -n "$1" | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

printf '%-16s %8s %12s %12s %14s %8s\n' "file" "tensors" "rcc dump ms" "rcc peak MB" "torch.load ms" "ratio"
for w in many_legacy many_zip; do
  f=$dir/$w.pt
  "$RCC" dump "$f" >/dev/null || { echo "legacy_open.sh: rcc dump $f failed" >&2; exit 1; }
  : >"$tmp/rcc"
  for _ in 1 2 3 4 5; do
    t0=${EPOCHREALTIME/./}
    "$RCC" dump "$f" >/dev/null
    t1=${EPOCHREALTIME/./}
    awk -v d="$(( t1 - t0 ))" 'BEGIN { printf "%.3f\n", d / 1000 }' >>"$tmp/rcc"
  done
  /usr/bin/time -f %M -o "$tmp/rss" "$RCC" dump "$f" >/dev/null
  "$PY" -c "$torch_list" "$f" /dev/null >/dev/null      # warm-up
  : >"$tmp/torch"
  for _ in 1 2 3; do "$PY" -c "$torch_list" "$f" "$tmp/torch" >/dev/null; done
  awk -v w="$w.pt" -v n="$N" -v r="$(median "$tmp/rcc")" -v kb="$(cat "$tmp/rss")" -v t="$(median "$tmp/torch")" \
    'BEGIN { printf "%-16s %8d %12.2f %12.1f %14.2f %7.1fx\n", w, n, r, kb / 1024, t, t / r }'
done
