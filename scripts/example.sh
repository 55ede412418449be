#!/bin/sh
# scripts/example.sh — the main job on the bundled example (README Quick start).
#
# Builds rcc (installing what is missing), lists the tensors of
# examples/mlp/mlp.pt (a state dict saved by PyTorch), and checks it
# against its spec, examples/mlp/mlp.arch.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
"$top/scripts/setup.sh" "$top/build" >/dev/null
cd "$top"
echo "\$ rcc dump examples/mlp/mlp.pt"
build/src/rcc dump examples/mlp/mlp.pt
echo
echo "\$ rcc check examples/mlp/mlp.arch examples/mlp/mlp.pt"
build/src/rcc check examples/mlp/mlp.arch examples/mlp/mlp.pt
