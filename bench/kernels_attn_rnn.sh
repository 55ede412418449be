#!/bin/sh
# bench/kernels_attn_rnn.sh — rk_attn.c's sdpa and rk_rnn.c's LSTM/GRU against torch, one thread.
#
#   bench/kernels_attn_rnn.sh            (from anywhere; needs gcc, OpenBLAS, Debian's python3-torch)
#
# Builds bench/kernels_attn_rnn.c twice (gcc -O2, and -O3 -march=native)
# against OpenBLAS into a temporary folder, runs it and
# kernels_attn_rnn_torch.py, and prints each measurement (median of 301
# runs, microseconds) and torch/rcc ratios (> 1: the kernel is faster).
# Not a test: nothing is asserted.  OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE
# (which a test environment may pin for reproducibility) are unset here so
# that OpenBLAS picks its kernels for this CPU; both sides run on one thread.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/rcc-kbench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
unset OPENBLAS_CORETYPE OPENBLAS_L2_SIZE
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1
blas=$(pkg-config --cflags --libs openblas 2>/dev/null || echo -lopenblas)
for opt in "-O2" "-O3 -march=native"; do
    tag=$(echo "$opt" | tr -d ' =-')
    # shellcheck disable=SC2086
    gcc -std=gnu11 $opt -I"$top/src/gen/kernels" "$here/kernels_attn_rnn.c" -o "$tmp/bench_$tag" $blas -lm
    "$tmp/bench_$tag" >"$tmp/rcc_$tag.txt"
done
"${PYTHON:-/usr/bin/python3}" "$here/kernels_attn_rnn_torch.py" >"$tmp/torch.txt"
echo "machine: $(uname -srm), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), torch $("${PYTHON:-/usr/bin/python3}" -c 'import torch; print(torch.__version__)')"
printf '%-24s %12s %12s %12s %10s %10s\n' case "rcc -O2 us" "rcc -O3n us" "torch us" "ratio O2" "ratio O3n"
while read -r name t; do
    a=$(awk -v n="$name" '$1 == n {print $2}' "$tmp/rcc_O2.txt")
    b=$(awk -v n="$name" '$1 == n {print $2}' "$tmp/rcc_O3marchnative.txt")
    ref=$(awk -v n="$name" '$1 == n {print $2}' "$tmp/torch.txt")
    [ -n "$ref" ] || continue
    awk -v n="$name" -v a="$a" -v b="$b" -v t="$ref" \
        'BEGIN { printf "%-24s %12.1f %12.1f %12.1f %9.2fx %9.2fx\n", n, a, b, t, t / a, t / b }'
done <"$tmp/rcc_O2.txt"
for name in sdpa_torch_fused sdpa_causal_torch_fused; do
    ref=$(awk -v n="$name" '$1 == n {print $2}' "$tmp/torch.txt")
    [ -z "$ref" ] || printf '%-24s %12s %12s %12.1f   (torch 1.13 fused kernel)\n' "$name" - - "$ref"
done
