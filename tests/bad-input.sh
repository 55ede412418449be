#!/bin/sh
# tests/bad-input.sh — automake LOG_COMPILER for tests/bad/NAME.bad
#
#   bad-input.sh [DIR/]NAME.bad
#
# NAME (with its bad_ prefix) names a bad input made by
# tests/gen_fixtures.py: $FIXTURES/NAME.pt, or $FIXTURES/NAME when NAME
# already has a suffix (bad_x.safetensors.bad).  The .bad file holds a
# one-line comment saying what is wrong with the input.
#
# For `rcc dump W` and `rcc dump --json W` alike: the exit status is exactly
# 2, stdout is empty, stderr is exactly one line "rcc: error: W: message".
# A hostile file whose pickle would `touch` a marker path comes with
# $FIXTURES/NAME.marker (the path: /tmp/rcc_pwned_marker unless the
# generators ran with RCC_PWNED_MARKER set): the marker is removed first
# and must still be absent after each run.  A line "args: ..." in the .bad
# file adds options to rcc dump (--verify, for damage in tensor bytes);
# "expect: MESSAGE" gives the exact message.

. "$(dirname "$0")/setup.sh"

start_case .bad "$@"
case $name in
*.*) w=$FIXTURES/$name ;;
*)   w=$FIXTURES/$name.pt ;;
esac
need_file "$w" "make the fixtures: $PYTHON $testsdir/gen_fixtures.py $FIXTURES"

say "bad input: $(sed -n '1s/^#[[:space:]]*//p' "$1")"

# A hostile input whose pickle would run `touch MARKER` comes with
# NAME.marker holding MARKER's path.
marker=
if [ -f "$FIXTURES/$name.marker" ]; then
    marker=$(cat "$FIXTURES/$name.marker")
    case $marker in
    /*) ;;
    *) fail "marker path '$marker' is not absolute" ;;
    esac
fi
# "args: --verify" in the .bad file: the damage is in tensor bytes, which
# only --verify reads (and the runtime library's reads: readall, below).
args=$(sed -n 's/^args:[[:space:]]*//p' "$1")
# "expect: MESSAGE": the error line must be exactly "rcc: error: W: MESSAGE",
# so that a different check firing first is a failure too.
# @MARKER@ in it stands for the marker's path (a call's arguments name it).
expect=$(sed -n 's/^expect:[[:space:]]*//p' "$1")
[ -n "$expect" ] || fail "$1 has no 'expect: MESSAGE' line"
case $expect in
*@MARKER@*) [ -n "$marker" ] || fail "$1 names @MARKER@ but $name has no .marker file"
            expect=$(printf '%s\n' "$expect" | awk -v m="$marker" '{ i = index($0, "@MARKER@"); print substr($0, 1, i - 1) m substr($0, i + 8) }') ;;
esac

# Damage in tensor bytes must also stop rcc_read/rcc_read_f32 (the path
# generated code loads weights through), not only --verify.
if [ "$args" = --verify ]; then
    need_env RCC_READALL
    run "$tmp/out" "$tmp/err" "$RCC_READALL" "$w" "$tmp/values" "$tmp/f32"
    [ "$rc" -eq 2 ] || fail "readall $w: exit $rc, expected 2 (reading damaged tensor bytes)"
    say "readall refuses it too: $(head -n 1 "$tmp/err")"
fi

status=0
for mode in "" --json; do
    cmd="$RCC dump${args:+ $args}${mode:+ $mode} $w"
    say "checking: $cmd"
    if [ -n "$marker" ]; then
        rm -f "$marker"
        [ ! -e "$marker" ] || fail "cannot remove the marker $marker"
    fi

    # shellcheck disable=SC2086  # $mode is empty or one word
    run "$tmp/out" "$tmp/err" "$RCC" dump $args $mode "$w"

    bad=
    [ "$rc" -eq 2 ] || bad="$bad
  exit status $rc, expected 2"
    [ ! -s "$tmp/out" ] || bad="$bad
  stdout is not empty"
    lines=$(wc -l <"$tmp/err")
    if [ ! -s "$tmp/err" ]; then
        bad="$bad
  stderr is empty; expected one line 'rcc: error: $w: ...'"
    elif [ "$lines" -ne 1 ] || [ "$(tail -c 1 "$tmp/err" | od -An -c | tr -d ' ')" != '\n' ]; then
        bad="$bad
  stderr is not exactly one newline-terminated line ($lines newlines)"
    else
        line=$(cat "$tmp/err")
        prefix="rcc: error: $w: "
        [ "$line" = "$prefix$expect" ] || bad="$bad
  stderr line is not 'rcc: error: $w: $expect': $line"
    fi
    if [ -n "$marker" ] && [ -e "$marker" ]; then
        bad="$bad
  $marker exists: the file's pickle was EXECUTED"
        rm -f "$marker"
    fi

    if [ -n "$bad" ]; then
        echo "FAIL: $cmd:$bad"
        show "stdout" "$tmp/out"
        show "stderr" "$tmp/err"
        status=1
    else
        say "  ok: exit 2, $(cat "$tmp/err")"
    fi
done

[ "$status" -eq 0 ] || fail "$name"
say "PASS: $name"
exit 0
