#!/bin/bash
# dump_vs_torch.sh [RCC_BINARY]: time `rcc dump` against torch.load on a
# ~507 MB checkpoint (torchvision vgg11), wall clock and peak RSS.
#
# Run from the build directory; RCC_BINARY defaults to ./src/rcc. The
# checkpoint is made once in ${BENCH_DIR:-bench-data}. Both sides run warm:
# one untimed run each first, nothing is dropped from the page cache.
#
# Wall time is bash's $EPOCHREALTIME (no fork) around each whole process,
# median of 5 runs for rcc and 3 for torch. For torch the same runs also
# report, via time.perf_counter inside python, the time of torch.load plus
# the listing alone, without starting python and importing torch. Peak RSS
# is one more run of each under GNU time (%M), kept out of the timed runs.
set -eu
export LC_ALL=C

PY=/usr/bin/python3
BENCH_DIR=${BENCH_DIR:-bench-data}
W=$BENCH_DIR/vgg11.pt
here=$(cd "$(dirname "$0")" && pwd)

. "$here/common.sh"
bench_start dump_vs_torch.sh "$@"
if [ ! -f "$W" ]; then
  echo "making $W ..." >&2
  mkdir -p "$BENCH_DIR"
  "$PY" "$here/make_checkpoint.py" "$W"
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Appends the load+listing time in ms to the file named by argv[2].
torch_list='
import sys, time, torch
t = time.perf_counter()
sd = torch.load(sys.argv[1], map_location="cpu")
for k, v in sd.items():
    print(k, v.dtype, tuple(v.shape))
ms = (time.perf_counter() - t) * 1e3
print("%.3f" % ms, file=open(sys.argv[2], "a"))
'
run_rcc()   { "$RCC" dump "$W" >/dev/null; }
run_torch() { "$PY" -c "$torch_list" "$W" "$tmp/torch_load" >/dev/null; }

# time_runs N FN OUT: append the wall ms of N runs of FN to OUT.
time_runs() {
  for _ in $(seq "$1"); do
    t0=${EPOCHREALTIME/./}
    "$2"
    t1=${EPOCHREALTIME/./}
    echo "$(( t1 - t0 ))" | awk '{ printf "%.3f\n", $1 / 1000 }' >>"$3"
  done
}
median() { sort -n "$1" | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
peak_mb() { /usr/bin/time -f %M -o "$tmp/rss" "$@" >/dev/null; awk '{ printf "%.1f", $1 / 1024 }' "$tmp/rss"; }

run_rcc; run_torch; rm -f "$tmp/torch_load"          # warm-up, untimed
time_runs 5 run_rcc "$tmp/rcc"
time_runs 3 run_torch "$tmp/torch_proc"
rcc_ms=$(median "$tmp/rcc")
load_ms=$(median "$tmp/torch_load")
proc_ms=$(median "$tmp/torch_proc")
rcc_mb=$(peak_mb "$RCC" dump "$W")
torch_mb=$(peak_mb "$PY" -c "$torch_list" "$W" /dev/null)

echo "checkpoint: $W ($(( $(stat -c %s "$W") / 1048576 )) MiB)"
awk -v r="$rcc_ms" -v l="$load_ms" -v p="$proc_ms" \
    -v rm="$rcc_mb" -v tm="$torch_mb" 'BEGIN {
  printf "%-34s %10s %10s\n", "", "wall ms", "peak MB"
  printf "%-34s %10.2f %10.1f\n", "rcc dump (process, median of 5)", r, rm
  printf "%-34s %10.2f %10s\n", "torch.load+list (in python, med 3)", l, "-"
  printf "%-34s %10.2f %10.1f\n", "torch (process, median of 3)", p, tm
  printf "ratio torch load-only / rcc: %.0fx, torch process / rcc: %.0fx\n", l / r, p / r
  printf "dump-vs-torch.load: %.0fx faster (load only), rcc peak RSS %.1f MB\n", l / r, rm
}'
