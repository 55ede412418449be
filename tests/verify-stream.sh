#!/bin/sh
# tests/verify-stream.sh — `rcc dump --verify` on records far larger than
# their file: a 0.5 MB archive whose one deflated record inflates to
# 512 MiB (tests/gen_big_record.py, made here in $tmp, never committed).
#
# --verify reads every byte of the record (exact inflated size, CRC-32),
# through a fixed buffer; this test checks that it succeeds and lists the
# file as written, and that a wrong CRC-32 is still caught at the far end
# of the stream.  How much memory it takes is bench/verify_memory.sh's
# business, not a test's.
. "$(dirname "$0")/setup.sh"
need_env RCC
need_exe "$RCC" RCC
gen=$testsdir/gen_big_record.py
compare=$testsdir/compare_listing.py
need_file "$gen"
need_file "$compare"

# The generator's archives are torch's: torch.load reads a small one.
say "checking: torch.load reads what gen_big_record.py writes (4096 floats)"
"$PYTHON" "$gen" "$tmp/small.pt" 4096 --torch-check || fail "gen_big_record.py: torch does not read its archive"
expect 0 '' "$RCC" dump --verify "$tmp/small.pt"

say "making: a 512 MiB deflated record"
"$PYTHON" "$gen" "$tmp/big.pt" || fail "gen_big_record.py failed"
expect 0 '' "$RCC" dump --verify --json "$tmp/big.pt"
[ ! -s "$tmp/err" ] || { show stderr "$tmp/err"; fail "dump --verify --json wrote to stderr"; }
cp "$tmp/out" "$tmp/big.json"
"$PYTHON" "$compare" "$tmp/big.expect.json" "$tmp/big.json" || fail "dump --verify --json disagrees with the archive"
grep -q '"compressed": true' "$tmp/big.json" || fail "the record is not reported compressed"
expect 0 '' "$RCC" dump --verify "$tmp/big.pt"
"$PYTHON" "$compare" --table "$tmp/big.expect.json" "$tmp/out" || fail "dump --verify's table does not name the tensor"
grep -q '^1 tensor, 134,217,728 elements, 536,870,912 bytes (512.0 MiB) in 1 storage$' "$tmp/out" ||
    { show stdout "$tmp/out"; fail "dump --verify's totals are not the archive's"; }

# Only the last byte of the stream settles the CRC-32: a wrong one is caught.
"$PYTHON" "$gen" "$tmp/badcrc.pt" --bad-crc || fail "gen_big_record.py --bad-crc failed"
expect 0 '' "$RCC" dump "$tmp/badcrc.pt"
expect 2 "$tmp/badcrc.pt: record archive/data/0: CRC-32 mismatch" "$RCC" dump --verify "$tmp/badcrc.pt"
"$PYTHON" "$gen" "$tmp/badcrc_stored.pt" 1048576 --stored --bad-crc || fail "gen_big_record.py --stored --bad-crc failed"
expect 2 "$tmp/badcrc_stored.pt: record archive/data/0: CRC-32 mismatch" "$RCC" dump --verify "$tmp/badcrc_stored.pt"

say "PASS: verify-stream"
