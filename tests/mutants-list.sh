#!/bin/sh
# tests/mutants-list.sh — the mutants of tests/mutants/list.txt still fit
# the source: every snippet found exactly once in its file, every test it
# names in tests/tests.mk.  (Running them is `make mutants`, too slow for
# every `make check`; a list that no longer matches must fail here, so
# that it cannot rot between mutation runs.)
exec sh "$(dirname "$0")/mutants.sh" --check
