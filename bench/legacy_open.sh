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
# For each file, in 5 rounds, each round one run of each side one after the
# other (so that a busy machine slows both alike): rcc dump's wall time
# (whole process, bash's $EPOCHREALTIME) and torch.load's (time.perf_counter
# around torch.load plus listing every name, dtype and shape, inside python:
# no interpreter start or torch import). Printed: the best and the median
# of each, and their ratios; rcc's peak RSS (GNU time %M, one more run).
# Both sides run warm: one untimed run each first.
set -eu
export LC_ALL=C

PY=/usr/bin/python3
BENCH_DIR=${BENCH_DIR:-bench-data}
N=${MANY_N:-20000}
here=$(cd "$(dirname "$0")" && pwd)

. "$here/common.sh"
bench_start legacy_open.sh "$@"
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

printf '%-16s %8s %9s %9s %9s %9s %9s %8s %8s\n' "file" "tensors" "rcc best" "rcc med" "rcc MB" \
  "torch best" "torch med" "best x" "med x"
for w in many_legacy many_zip; do
  f=$dir/$w.pt
  "$RCC" dump "$f" >/dev/null || { echo "legacy_open.sh: rcc dump $f failed" >&2; exit 1; }
  "$PY" -c "$torch_list" "$f" /dev/null >/dev/null      # warm-up
  : >"$tmp/rcc"
  : >"$tmp/torch"
  for _ in 1 2 3 4 5; do
    t0=${EPOCHREALTIME/./}
    "$RCC" dump "$f" >/dev/null
    t1=${EPOCHREALTIME/./}
    awk -v d="$(( t1 - t0 ))" 'BEGIN { printf "%.3f\n", d / 1000 }' >>"$tmp/rcc"
    "$PY" -c "$torch_list" "$f" "$tmp/torch" >/dev/null
  done
  /usr/bin/time -f %M -o "$tmp/rss" "$RCC" dump "$f" >/dev/null
  rb=$(sort -n "$tmp/rcc" | head -1) tb=$(sort -n "$tmp/torch" | head -1)
  awk -v w="$w.pt" -v n="$N" -v rb="$rb" -v rm="$(median "$tmp/rcc")" -v kb="$(cat "$tmp/rss")" \
      -v tb="$tb" -v tm="$(median "$tmp/torch")" \
    'BEGIN { printf "%-16s %8d %9.2f %9.2f %9.1f %9.2f %9.2f %7.1fx %7.1fx\n", w, n, rb, rm, kb / 1024, tb, tm, tb / rb, tm / rm }'
done
echo "(wall ms; best and median of 5 interleaved rounds; ratio = torch.load / rcc dump)"
