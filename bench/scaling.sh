#!/bin/bash
# scaling.sh [RCC_BINARY]: how rcc's cost grows with the model, beside
# PyTorch's on the same input.
#
#   rcc dump W          at 1,000 / 10,000 / 20,000 / 100,000 small tensors,
#                       against torch.load(W)
#   rcc check SPEC W    at 100 / 1,000 / 1,500 / 5,000 layers of
#                       Sequential(Linear(8, 8)) and 100 / 1,000 / 5,000
#                       layers in residual blocks, against torch.load(W)
#                       plus a strict load_state_dict into the model
#
# Run from the build directory; RCC_BINARY defaults to ./src/rcc. The
# inputs are written once by make_scaling.py into
# ${BENCH_DIR:-bench-data}/scaling (about 60 MB) and reused.
#
# rcc: wall time of the whole process (bash's $EPOCHREALTIME, no fork of its
# own), median of 3 (1 when a run takes over 5 s) after one untimed run
# under GNU time that gives the peak RSS (%M) and must succeed (exit 0: a
# check that finds a mismatch would not be measuring a check). For check,
# "spec ms" is the spec side alone, the same way: rcc check SPEC against an
# empty file elaborates the spec and checks its forward, then fails to read
# the file (exit 2), so the reader's share of the total shows apart. torch: time.perf_counter around
# the load (and load_state_dict) inside one python process, median of 3
# after one untimed run; the model is built before, untimed.
#
# Prints one row per case with the ratio torch / rcc and rcc's cost per
# tensor or layer (flat down a family = linear growth), then a verdict per
# target. Asserts nothing: slow machines print smaller ratios.
set -eu
export LC_ALL=C

PY=/usr/bin/python3
BENCH_DIR=${BENCH_DIR:-bench-data}
D=$BENCH_DIR/scaling
here=$(cd "$(dirname "$0")" && pwd)

. "$here/common.sh"
bench_start scaling.sh "$@"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

echo "making the inputs in $D (once) ..." >&2
"$PY" "$here/make_scaling.py" make "$D" >"$tmp/cases"
echo "timing torch ..." >&2
"$PY" "$here/make_scaling.py" time "$D" >"$tmp/torch"

median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# rcc_case STATUS CMD...: runs CMD once untimed under GNU time (it must
# exit with STATUS; this run gives the peak RSS), then prints "MS MB": the
# median wall ms of 3 runs (1 run when the first took over 5 s) and the
# peak RSS in MB. The output of the first run is left in $tmp/out.
rcc_case() {
  local want=$1 runs=3 rc=0
  shift
  local cmd=("$@")
  t0=${EPOCHREALTIME/./}
  /usr/bin/time -f %M -o "$tmp/rss" "${cmd[@]}" >"$tmp/out" 2>"$tmp/err" || rc=$?
  if [ "$rc" -ne "$want" ]; then
    echo "scaling.sh: ${cmd[*]} exited $rc, not $want:" >&2
    head -20 "$tmp/err" >&2
    exit 1
  fi
  t1=${EPOCHREALTIME/./}
  [ $(( t1 - t0 )) -gt 5000000 ] && runs=1
  : >"$tmp/ms"
  for _ in $(seq $runs); do
    t0=${EPOCHREALTIME/./}
    "${cmd[@]}" >/dev/null 2>&1 || :   # (its status was checked above)
    t1=${EPOCHREALTIME/./}
    echo "$(( t1 - t0 ))" | awk '{ printf "%.3f\n", $1 / 1000 }' >>"$tmp/ms"
  done
  echo "$(median <"$tmp/ms") $(tail -1 "$tmp/rss" | awk '{ printf "%.1f", $1 / 1024 }')"   # (a failing run's status comes first)
}

echo "rcc: $RCC"
echo "machine: $(uname -sm), $(nproc) cpus; $("$PY" -c 'import torch; print("torch", torch.__version__)')"
: >"$tmp/empty.pt"
printf '%-12s %7s %7s %9s %7s %9s %9s %9s %9s\n' case size keys "rcc ms" "rcc MB" "torch ms" torch/rcc "rcc us/1" "spec ms"
: >"$tmp/rows"
while read -r kind name n spec w; do
  sms=-
  if [ "$kind" = check ]; then
    rcc_case 2 "$RCC" check "$spec" "$tmp/empty.pt" >"$tmp/case"
    read -r sms _ <"$tmp/case"
    rcc_case 0 "$RCC" check "$spec" "$w" >"$tmp/case"
  else
    rcc_case 0 "$RCC" dump "$w" >"$tmp/case"
  fi
  read -r ms mb <"$tmp/case"
  tms=$(awk -v n="$name" '$1 == n { print $2 }' "$tmp/torch")
  if [ "$kind" = dump ]; then
    keys=$(sed -n 's/^\([0-9]*\) tensors, .*/\1/p' "$tmp/out")   # the totals line
  else
    keys=$(sed -n 's/.*: \([0-9]*\) keys, shapes and dtypes$/\1/p' "$tmp/out")
  fi
  echo "$name $n $keys $ms $mb $tms $sms" >>"$tmp/rows"
  awk -v c="$name" -v n="$n" -v k="$keys" -v r="$ms" -v m="$mb" -v t="$tms" -v s="$sms" 'BEGIN {
    printf "%-12s %7d %7d %9.2f %7.1f %9.2f %8.1fx %9.2f %9s\n", c, n, k, r, m, t, t / r, r * 1000 / n,
           s == "-" ? s : sprintf("%.2f", s) }'
done <"$tmp/cases"
echo "(size: tensors for dump, layers for check; rcc us/1: rcc's time per tensor or layer;"
echo " spec ms: rcc check of the spec alone, without reading the file)"

# verdict NAME TARGET_RATIO [MAX_MB]
verdict() {
  awk -v c="$1" -v want="$2" -v maxmb="${3:-0}" '$1 == c {
    ratio = $6 / $4; ok = ratio >= want && (maxmb == 0 || $5 < maxmb)
    printf "target %s: %.1fx faster than torch (want >= %dx)", c, ratio, want
    if (maxmb) printf ", peak RSS %.1f MB (want < %d MB)", $5, maxmb
    printf ": %s\n", ok ? "met" : "NOT met"
  }' "$tmp/rows"
}
# growth FAMILY SMALL LARGE: how rcc's time grew against the size
growth() {
  awk -v a="$1-$2" -v b="$1-$3" '$1 == a { na = $2; ta = $4; sa = $7 } $1 == b { nb = $2; tb = $4; sb = $7 }
    END { printf "growth %s %d -> %d: size x%.1f, rcc time x%.1f", substr(a, 1, index(a, "-") - 1), na, nb,
                  nb / na, tb / ta
          if (sa != "-") printf ", spec alone x%.1f", sb / sa
          printf "\n" }' "$tmp/rows"
}
verdict dump-20000 10
verdict lin-1500 10 50
growth dump 10000 100000
growth lin 1000 5000
growth res 1000 5000
