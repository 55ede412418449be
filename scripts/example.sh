#!/bin/sh
# scripts/example.sh — the main job on the bundled example (README Quick start).
#
# Builds rcc (installing what is missing), then takes examples/mlp/mlp.pt
# (a state dict saved by PyTorch) through the whole pipeline: list its
# tensors, infer its architecture from the file alone (the spec library's
# MLP family, fitted to it), check the inferred spec against the file,
# generate C from it, compile it against the runtime library of this
# build, run it on examples/mlp/input.npy and compare the result with
# PyTorch's own output for that input, examples/mlp/output.npy.
# (examples/mlp/mlp.arch is the same model written by hand.)
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
"$top/scripts/setup.sh" "$top/build" >/dev/null
cd "$top"
out=build/example
mkdir -p "$out"
run() {
    echo "\$ $*"
    "$@"
    echo
}
blas=$(sed -n 's/^BLAS_LIBS = //p' build/Makefile)
zlib=$(sed -n 's/^ZLIB_LIBS = //p' build/Makefile)
run build/src/rcc dump examples/mlp/mlp.pt
RCC_SPECS=$top/specs
export RCC_SPECS
run build/src/rcc infer examples/mlp/mlp.pt -o "$out/mlp.arch"
run build/src/rcc check "$out/mlp.arch" examples/mlp/mlp.pt
run build/src/rcc gen "$out/mlp.arch" --main -o "$out/mlp.c"
# shellcheck disable=SC2086
run ${CC:-cc} -O2 -march=native -Isrc/reader -o "$out/mlp" "$out/mlp.c" build/src/.libs/librcc.a $zlib $blas -lm
run "$out/mlp" -w examples/mlp/mlp.pt examples/mlp/input.npy -o "$out/output.npy" --expect examples/mlp/output.npy
