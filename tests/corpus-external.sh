#!/bin/sh
# tests/corpus-external.sh — the verdict check of corpus.sh over a corpus
# kept outside the repository: the folder RCC_CORPUS, holding manifest.json
# (a JSON list of {"id", "file", "expect"}, expect being load, reject, or an
# open verdict such as load-or-reject or policy, where exit 0 and exit 2
# both do but a crash never does).
#
# Without RCC_CORPUS there is nothing to run: the test says so and is
# skipped (exit 77, before setup.sh, whose exit trap would turn 77 into a
# failure).  RCC_CORPUS set to a folder or manifest that is not there fails.
if [ -z "${RCC_CORPUS:-}" ]; then
    echo "SKIP: RCC_CORPUS is not set (the folder of an external corpus, with its manifest.json)"
    exit 77
fi
set -- --external "$RCC_CORPUS"
. "$(dirname "$0")/corpus.sh"
