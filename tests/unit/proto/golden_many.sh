#!/bin/sh
# tests/unit/proto/golden_many.sh DRIVER SOURCE_DIR: the golden driver runs every case however many
# there are. Builds a tree in a temporary directory where each suite of SOURCE_DIR/tests/cases
# holds each of its cases twice (links named a-<case> and b-<case>), so there are well over 256,
# runs DRIVER on it and checks that cmocka ran and passed all of them. (ctest unit.proto.golden_many)
set -eu
DRIVER=$1
SRC=$2
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
want=0
for suite in openai-to-cloudcode gemini-to-cloudcode responses-to-cloudcode anthropic-to-cloudcode images-to-cloudcode \
    openai-to-anthropic anthropic-to-openai-compatible gemini-to-openai responses-to-anthropic; do
    mkdir -p "$T/tests/cases/$suite"
    for c in "$SRC/tests/cases/$suite"/*/; do
        c=${c%/}
        ln -s "$c" "$T/tests/cases/$suite/a-${c##*/}"
        ln -s "$c" "$T/tests/cases/$suite/b-${c##*/}"
        want=$((want + 2))
    done
done
[ "$want" -gt 256 ] || { echo "only $want cases: the check needs more than 256" >&2; exit 1; }
out=$(AIGATE_GOLDEN_BLESS= AIGATE_SOURCE_DIR="$T" "$DRIVER" 2>&1) || { printf '%s\n' "$out" | tail -20; echo "driver failed" >&2; exit 1; }
ran=$(printf '%s\n' "$out" | sed -n 's/^\[  PASSED  \] \([0-9]*\) test(s)\.$/\1/p')
echo "cases: $want, passed: ${ran:-none}"
[ "$ran" = "$want" ]
