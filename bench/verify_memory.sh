#!/bin/bash
# verify_memory.sh [RCC_BINARY]: peak RSS of `rcc dump --verify` on records
# far larger than what it needs to hold, and an assertion that it stays
# under a fixed bound whatever the record's size.
#
# Run from the build directory; RCC_BINARY defaults to ./src/rcc. Files
# are made once in ${BENCH_DIR:-bench-data} by tests/gen_big_record.py:
#   big_deflated.pt  0.5 MB on disk: one float32 record, deflated, that
#                    inflates to 512 MiB (torch.load reads it: checked
#                    when the file is made)
#   big_stored.pt    the same record stored: 512 MiB on disk, read through
#                    the mapping
# Peak RSS is GNU time's %M (the kernel's high-water mark: mapped file pages
# count too). The bound, VERIFY_BOUND_MB (default 64), is asserted here:
# exit 1 when a run goes over it. The time of each run is printed too.
set -eu
export LC_ALL=C

PY=/usr/bin/python3
BENCH_DIR=${BENCH_DIR:-bench-data}
BOUND_MB=${VERIFY_BOUND_MB:-64}
here=$(cd "$(dirname "$0")" && pwd)
gen=$here/../tests/gen_big_record.py

. "$here/common.sh"
bench_start verify_memory.sh "$@"
mkdir -p "$BENCH_DIR"
if [ ! -f "$BENCH_DIR/big_deflated.pt" ]; then
  echo "making $BENCH_DIR/big_deflated.pt ..." >&2
  "$PY" "$gen" "$BENCH_DIR/big_deflated.pt" --torch-check
fi
if [ ! -f "$BENCH_DIR/big_stored.pt" ]; then
  echo "making $BENCH_DIR/big_stored.pt ..." >&2
  "$PY" "$gen" "$BENCH_DIR/big_stored.pt" --stored
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

status=0
printf '%-18s %12s %10s %10s\n' "file" "file MiB" "wall s" "peak MB"
for w in big_deflated big_stored; do
  f=$BENCH_DIR/$w.pt
  "$RCC" dump --verify "$f" >/dev/null            # warm the page cache
  /usr/bin/time -f '%e %M' -o "$tmp/t" "$RCC" dump --verify "$f" >"$tmp/out" || {
    echo "verify_memory.sh: rcc dump --verify $f failed" >&2
    status=1
    continue
  }
  read -r secs kb <"$tmp/t"
  mb=$(awk -v k="$kb" 'BEGIN { printf "%.1f", k / 1024 }')
  printf '%-18s %12.1f %10s %10s\n' "$w.pt" "$(awk -v b="$(stat -c %s "$f")" 'BEGIN { print b / 1048576 }')" \
    "$secs" "$mb"
  if awk -v m="$mb" -v b="$BOUND_MB" 'BEGIN { exit !(m > b) }'; then
    echo "verify_memory.sh: $w.pt: peak RSS $mb MB is over the bound of $BOUND_MB MB" >&2
    status=1
  fi
done
[ "$status" -ne 0 ] || echo "verify-memory: every run under $BOUND_MB MB (the records inflate to 512 MiB)"
exit "$status"
