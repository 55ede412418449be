#!/bin/sh
# tests/install-example.sh — the installed rcc used as a user would: `make
# install DESTDIR=...` into a temporary root, then examples/mlp (a copy of
# its sources) built by its own Makefile with the installed rcc, rcc.mk and
# runtime library, found through pkg-config, and its `make check` (the
# model's output against PyTorch's) run.
set -eu
: "${RCC_BUILDDIR:?}" "${srcdir:?}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if ! command -v pkg-config >/dev/null; then
    echo "FAIL: pkg-config is not installed (scripts/setup.sh installs it)"
    exit 1
fi
root=$tmp/root
make -s -C "$RCC_BUILDDIR" install DESTDIR="$root" >"$tmp/install.log" 2>&1 || {
    cat "$tmp/install.log"
    echo "FAIL: make install DESTDIR=$root"
    exit 1
}
pc=$(find "$root" -name rcc.pc | head -n 1)
mk=$(find "$root" -name rcc.mk | head -n 1)
bin=$(find "$root" -path '*/bin/rcc' | head -n 1)
lib=$(find "$root" -name 'librcc.so*' | head -n 1)
for f in "$pc" "$mk" "$bin" "$lib" "$(find "$root" -name rcc.h | head -n 1)"; do
    [ -n "$f" ] || { echo "FAIL: the install lacks rcc.pc, rcc.mk, bin/rcc, librcc.so or rcc.h"; find "$root"; exit 1; }
done
mkdir "$tmp/mlp"
for f in Makefile mlp.arch mlp.pt input.npy output.npy; do cp "$srcdir/examples/mlp/$f" "$tmp/mlp/"; done
# the sysroot makes pkg-config's -I and -L point into the temporary root
export PKG_CONFIG_PATH="$(dirname "$pc")" PKG_CONFIG_SYSROOT_DIR="$root"
export LD_LIBRARY_PATH="$(dirname "$lib")${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
flags="-O2 ${RCC_SAN_FLAGS:-}"
if ! make -C "$tmp/mlp" RCC="$bin" RCC_MK="$mk" CC="${CC:-cc}" CFLAGS="$flags" LDFLAGS="${RCC_SAN_FLAGS:-}" check \
        >"$tmp/make.log" 2>&1; then
    cat "$tmp/make.log"
    echo "FAIL: examples/mlp did not build or check against the installed rcc"
    exit 1
fi
cat "$tmp/make.log"
grep -q 'max relative error' "$tmp/make.log" || { echo "FAIL: no comparison was printed"; exit 1; }
# rcc.mk's dependencies: the .d file names the spec
grep -q 'mlp.arch' "$tmp/mlp/mlp.d" || { echo "FAIL: mlp.d does not name mlp.arch"; exit 1; }
echo "PASS: examples/mlp built through rcc.mk and pkg-config from the installed rcc"
