#!/bin/bash
# bench/models.sh — the generated code of every parity model beside PyTorch
# eager: the median forward time of `rcc run --repeat N` and of torch at the
# same batch and thread count, on the test suite's inputs, one run each,
# with their ratio (torch / rcc: above 1, rcc is faster).
#
# Usage (from a build directory whose fixtures exist, `make check` made
# them):  bash ../bench/models.sh [BATCH [THREADS [REPEAT [NAMES...]]]]
# Defaults: batch 1, 1 thread, 20 runs, every model.  OpenBLAS tuning
# variables of the environment (OPENBLAS_CORETYPE, OPENBLAS_L2_SIZE) are
# unset for these commands only.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
. "$here/common.sh"
bench_start bench/models.sh ./src/rcc
batch=${1:-1} threads=${2:-1} repeat=${3:-20}
shift $(( $# < 3 ? $# : 3 ))
fx=tests/fixtures
[ -f "$fx/parity/manifest.txt" ] || { echo "bench/models.sh: no $fx/parity: run make check first" >&2; exit 2; }
names=${*:-$(cut -d" " -f1 "$fx/parity/manifest.txt")}
unset OPENBLAS_CORETYPE OPENBLAS_L2_SIZE
export OMP_NUM_THREADS=$threads OPENBLAS_NUM_THREADS=$threads
export XDG_CACHE_HOME=${XDG_CACHE_HOME:-$PWD/bench-cache}
export RCC_RUNTIME_CFLAGS="-I$(cd "$here/../src/reader" && pwd)"
export RCC_RUNTIME_LIBS="$PWD/src/.libs/librcc.a $(sed -n 's/^ZLIB_LIBS = //p' Makefile)"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
printf '%-20s %12s %12s %8s   (batch %s, %s thread%s, median of %s)\n' model "rcc ms" "torch ms" ratio \
    "$batch" "$threads" "$([ "$threads" = 1 ] || echo s)" "$repeat"
for n in $names; do
    d=$fx/parity/$n
    w=$fx/$(cat "$d/weights")
    ins=$(ls "$d"/b"$batch"_in*.npy | sort)
    outs=""
    for o in "$d"/b"$batch"_out*.npy; do outs="$outs -o $tmp/$(basename "$o")"; done
    # shellcheck disable=SC2086
    if ! ./src/rcc run "specs/$n.arch" "$w" $ins $outs --repeat "$repeat" --threads "$threads" 2>"$tmp/err" >/dev/null &&
       ! ./src/rcc run "$here/../specs/$n.arch" "$w" $ins $outs --repeat "$repeat" --threads "$threads" 2>"$tmp/err" >/dev/null; then
        printf '%-20s %s\n' "$n" "rcc run failed: $(head -c 200 "$tmp/err")"
        continue
    fi
    r=$(sed -n 's/^rcc: forward median \([0-9.]*\) ms.*/\1/p' "$tmp/err")
    t=$(/usr/bin/python3 "$here/models_torch.py" "$fx" "$n" "$batch" "$repeat" "$threads" 2>/dev/null)
    printf '%-20s %12s %12s %7.2fx\n' "$n" "$r" "$t" "$(echo "$t / $r" | bc -l)"
done
