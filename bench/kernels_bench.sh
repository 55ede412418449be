#!/bin/sh
# bench/kernels_bench.sh — conv kernel speed vs cblas_sgemm and vs torch, one thread.
#
#   bench/kernels_bench.sh            (from anywhere; builds into ${BENCH_DIR:-bench-data})
#
# Builds bench/kernels_bench.c (the kernels included, -O2 as the generated
# code will be built) against OpenBLAS and runs it with one thread, with
# OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset so OpenBLAS picks its own
# kernels for this CPU; then times torch's F.conv2d on the same shapes
# (torch.set_num_threads(1)), when /usr/bin/python3 has torch.  Prints
# numbers and ratios; asserts nothing (bench/README.md).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
out=${BENCH_DIR:-$top/bench-data}
mkdir -p "$out"
cc=${CC:-cc}
blas_cflags=$(pkg-config --cflags openblas 2>/dev/null || true)
blas_libs=$(pkg-config --libs openblas 2>/dev/null || echo -lopenblas)
# Twice: -O2 alone (SSE2, what any x86-64 runs) and -O2 -march=native (AVX2/AVX-512 here).
for arch in "" "-march=native"; do
    # shellcheck disable=SC2086  # word lists
    $cc -std=gnu11 -O2 $arch -Wall -Wextra -Wno-unused-function -I"$top/src/gen/kernels" $blas_cflags \
        "$top/bench/kernels_bench.c" -o "$out/kernels_bench" $blas_libs -lm
    echo "== rcc kernels ($cc -O2 $arch, OPENBLAS_NUM_THREADS=1)"
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OPENBLAS_NUM_THREADS=1 "$out/kernels_bench"
done
if /usr/bin/python3 -c 'import torch' 2>/dev/null; then
    echo "== torch $(/usr/bin/python3 -c 'import torch; print(torch.__version__)') (1 thread)"
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 \
        /usr/bin/python3 "$top/bench/kernels_bench_torch.py"
fi
