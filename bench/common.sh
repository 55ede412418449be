# bench/common.sh — sourced by the benchmarks that time rcc beside torch.
#
# bench_start NAME [RCC_BINARY]: what each checks before it measures: GNU
# time (peak RSS), at most one argument, and an rcc to run (default
# ./src/rcc, from the build directory); sets RCC.  Exits 2 with one line
# otherwise.
bench_start() {
  name=$1
  shift
  RCC=${1:-./src/rcc}
  if [ $# -gt 1 ]; then
    echo "usage: $name [RCC_BINARY]" >&2
    exit 2
  fi
  if [ ! -x /usr/bin/time ]; then
    echo "$name: /usr/bin/time not found; apt-get install time" >&2
    exit 2
  fi
  if [ ! -x "$RCC" ]; then
    echo "$name: $RCC: not an executable (build rcc, or pass its path)" >&2
    exit 2
  fi
}
