#!/bin/sh
# tests/salvage-cli.sh — `rcc salvage` usage and output errors.
#
# Every error is exit 2, one line "rcc: error: ..." on stderr, nothing on
# stdout, and no file left behind: not the output, not the temporary file
# the writer renames into place.  Covered: usage errors, an unreadable
# input, an output directory that does not exist or cannot be written
# (chmod 555 as a normal user; as root, the same directory entered as
# nobody through setpriv, and /sys; without setpriv the test ends in a
# SKIP), an output path that is a directory
# (the rename fails after the file was written), a write that fails half
# way (a file-size limit), and --key on a checkpoint.

. "$(dirname "$0")/setup.sh"
need_env RCC FIXTURES
need_exe "$RCC" RCC
F=$FIXTURES
need_file "$F/dmg_orig.pt" "make the fixtures: $PYTHON $testsdir/gen_damaged.py $F"


# empty DIR: fails unless DIR holds nothing (no output, no temporary file)
empty() {
    left=$(ls -A "$1")
    [ -z "$left" ] || fail "$1 should be empty, holds: $left"
}

run "$tmp/out" "$tmp/err" "$RCC" --help
grep -q '^  salvage W -o OUT' "$tmp/out" || fail "--help does not list salvage"

mkdir "$tmp/o"
expect 2 "salvage: no weight file given" "$RCC" salvage
expect 2 "salvage: no weight file given" "$RCC" salvage -o "$tmp/o/x.pt"
expect 2 "salvage: no output file given" "$RCC" salvage "$F/dmg_orig.pt"
expect 2 "salvage: unknown option '--bogus'" "$RCC" salvage --bogus "$F/dmg_orig.pt" -o "$tmp/o/x.pt"
expect 2 "salvage: more than one weight file" "$RCC" salvage "$F/dmg_orig.pt" "$F/sal_tied.pt" -o "$tmp/o/x.pt"
expect 2 "$tmp/none.pt: cannot open: No such file" "$RCC" salvage "$tmp/none.pt" -o "$tmp/o/x.pt"
expect 2 "$F/bad_text.pt: not a PyTorch weight file" "$RCC" salvage "$F/bad_text.pt" -o "$tmp/o/x.pt"
empty "$tmp/o"

# The output's directory does not exist.
expect 2 "$tmp/nodir/x.pt: cannot create a file in its directory: No such file" \
    "$RCC" salvage "$F/dmg_orig.pt" -o "$tmp/nodir/x.pt"

# The output's directory is not writable.
mkdir "$tmp/ro"
chmod 555 "$tmp/ro"
unprivileged=
if [ "$(id -u)" -ne 0 ]; then
    expect 2 "$tmp/ro/x.pt: cannot create a file in its directory: Permission denied" \
        "$RCC" salvage "$F/dmg_orig.pt" -o "$tmp/ro/x.pt"
    empty "$tmp/ro"
else
    # root writes anywhere: enter the directory as nobody, when possible
    chmod 755 "$tmp"
    if command -v setpriv >/dev/null 2>&1 &&
        setpriv --reuid=65534 --regid=65534 --clear-groups true 2>/dev/null &&
        setpriv --reuid=65534 --regid=65534 --clear-groups test -r "$F/dmg_orig.pt" -a -x "$RCC"; then
        expect 2 "$tmp/ro/x.pt: cannot create a file in its directory: Permission denied" \
            setpriv --reuid=65534 --regid=65534 --clear-groups "$RCC" salvage "$F/dmg_orig.pt" -o "$tmp/ro/x.pt"
        empty "$tmp/ro"
    else
        # checked last, so that the rest of the test still runs
        unprivileged="no setpriv, or user nobody cannot read the fixtures: as root, an unwritable directory (chmod 555) is untested"
    fi
    if [ -d /sys ] && ! touch /sys/.rcc-probe 2>/dev/null; then
        expect 2 "/sys/rcc-salvage-test.pt: cannot create a file in its directory" \
            "$RCC" salvage "$F/dmg_orig.pt" -o /sys/rcc-salvage-test.pt
        [ ! -e /sys/rcc-salvage-test.pt ] || fail "/sys/rcc-salvage-test.pt exists"
    fi
fi
chmod 755 "$tmp/ro"

# The output is a directory: the archive is written, then the rename fails.
mkdir "$tmp/o/dir"
expect 2 "$tmp/o/dir: cannot replace the file: Is a directory" "$RCC" salvage "$F/dmg_orig.pt" -o "$tmp/o/dir"
[ "$(ls -A "$tmp/o")" = dir ] || fail "a failed rename left files behind: $(ls -A "$tmp/o")"
empty "$tmp/o/dir"

# A write that fails half way (64 blocks, less than dmg_orig's 128 KiB
# storage); SIGXFSZ ignored so that write(2) fails with EFBIG instead.
mkdir "$tmp/lim"
run "$tmp/out" "$tmp/err" sh -c 'ulimit -f 64 && trap "" XFSZ && exec "$@"' sh \
    "$RCC" salvage "$F/dmg_orig.pt" -o "$tmp/lim/x.pt"
[ "$rc" -eq 2 ] || { show stderr "$tmp/err"; fail "a failing write exited $rc, expected 2"; }
grep -q "^rcc: error: $tmp/lim/x.pt: cannot write: File too large" "$tmp/err" ||
    { show stderr "$tmp/err"; fail "a failing write: unexpected message"; }
empty "$tmp/lim"
say "ok: a write failing half way leaves nothing behind"

# Nothing recoverable: no output either.
expect 2 "$F/dmg_cut_pkl.pt: data.pkl is lost: nothing can be recovered" \
    "$RCC" salvage "$F/dmg_cut_pkl.pt" -o "$tmp/o/x.pt"
expect 2 "$F/dmg_cut_nothing.pt: damaged archive: 0 of 15 tensors intact; nothing can be recovered" \
    "$RCC" salvage "$F/dmg_cut_nothing.pt" -o "$tmp/o/x.pt"
[ "$(ls -A "$tmp/o")" = dir ] || fail "a failed salvage left files behind: $(ls -A "$tmp/o")"

# An existing output is replaced; --output= and --key work.
echo "old" >"$tmp/o/x.pt"
expect 0 "" "$RCC" salvage --output="$tmp/o/x.pt" "$F/dmg_orig.pt"
[ "$(head -c 2 "$tmp/o/x.pt")" = PK ] || fail "the existing output was not replaced"
need_file "$F/checkpoint.pt" "written by $testsdir/gen_fixtures.py"
expect 0 "" "$RCC" salvage --key model "$F/checkpoint.pt" -o "$tmp/o/model.pt"
grep -q "6 of 6 tensors intact" "$tmp/err" || { show stderr "$tmp/err"; fail "--key model: unexpected summary"; }
[ -z "$unprivileged" ] || skip "$unprivileged"
say "PASS"
