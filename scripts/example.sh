#!/bin/sh
# scripts/example.sh — the main job on the bundled example (README Quick start).
#
# Builds rcc (installing what is missing) and lists the tensors of
# examples/mlp/mlp.pt, a state dict saved by PyTorch.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
"$top/scripts/setup.sh" "$top/build" >/dev/null
echo "\$ rcc dump examples/mlp/mlp.pt"
cd "$top"
build/src/rcc dump examples/mlp/mlp.pt
