#!/bin/sh
# scripts/setup.sh — make a build of rcc ready, from a clean clone on Debian 12.
#
#   scripts/setup.sh BUILDDIR [--tests] [-- CONFIGURE-ARGS...]
#
# Idempotent: installs only the Debian packages that are missing (apt-get,
# as root or through sudo), regenerates the build system only when
# configure.ac or a Makefile.am is newer than configure, configures BUILDDIR
# only when it has no Makefile, then runs make.  --tests also installs what
# the test suite needs (Debian's python3-torch and python3-torchvision, and
# clang, which --enable-sanitizers prefers: its UBSan checks pointer
# arithmetic too).
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:?usage: scripts/setup.sh BUILDDIR [--tests] [-- CONFIGURE-ARGS...]}
shift
pkgs="gcc make autoconf automake libtool pkg-config flex bison zlib1g-dev libopenblas-dev"
while [ $# -gt 0 ]; do
    case $1 in
    --tests) pkgs="$pkgs python3-torch python3-torchvision python3-numpy clang"; shift ;;
    --) shift; break ;;
    *) echo "setup.sh: unknown argument $1" >&2; exit 2 ;;
    esac
done

missing=
for p in $pkgs; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
    echo "setup: installing Debian packages:$missing"
    sudo=
    [ "$(id -u)" -eq 0 ] || sudo=sudo
    $sudo apt-get update -q
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends $missing
fi

cd "$top"
if [ ! -x configure ] || [ configure.ac -nt configure ] || [ Makefile.am -nt configure ] ||
   [ tests/tests.mk -nt configure ]; then
    echo "setup: autoreconf"
    autoreconf -fi
fi
mkdir -p "$build"
cd "$build"
if [ ! -f Makefile ]; then
    echo "setup: configure $*"
    "$top/configure" "$@"
fi
make -j"$(nproc)"
