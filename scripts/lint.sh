#!/bin/sh
# scripts/lint.sh BUILD_DIR [JOBS]: the static analysis `make lint` runs over src/; exits non-zero on
# any finding of either tool.
# 1. clang-tidy with the checks of the root .clang-tidy (every finding is an error there) over each
#    src/ file of BUILD_DIR/compile_commands.json, JOBS files at a time (default 2); headers under
#    src/ are checked through the files that include them. A file's output is printed only when it
#    has findings, in one piece.
# 2. cppcheck over src/ with --enable=warning,performance,portability (its "style" class is left
#    out: most of what it reports here is scope advice and conditions it cannot follow through
#    macros). yyjson's iteration macros come from scripts/lint/yyjson.cfg. A false positive is
#    silenced where it occurs with `// cppcheck-suppress <id>` and a comment saying why.
# Prints how long each step took.
set -eu
B=${1:?usage: scripts/lint.sh BUILD_DIR [JOBS]}
JOBS=${2:-2}
cd "$(dirname "$0")/.."
ROOT=$(pwd)
DB="$B/compile_commands.json"
[ -f "$DB" ] || { echo "lint: $DB is missing (configure the build first)" >&2; exit 2; }
for t in clang-tidy cppcheck; do
    command -v $t >/dev/null 2>&1 || { echo "lint: $t is not installed (scripts/deps.sh)" >&2; exit 2; }
done

FILES=$(mktemp)
trap 'rm -f "$FILES"' EXIT
grep -o '"file": *"[^"]*"' "$DB" | sed 's/^"file": *"//; s/"$//' | grep "^$ROOT/src/.*\.c$" | sort -u >"$FILES"
n=$(wc -l <"$FILES")
[ "$n" -gt 0 ] || { echo "lint: no src/ files in $DB" >&2; exit 2; }

status=0
t0=$(date +%s)
# xargs exits 123 when any clang-tidy run failed (a finding or a file that does not compile).
xargs -P "$JOBS" -n 1 sh -c 'out=$(clang-tidy -p "$0" --quiet "$1" 2>&1) || { printf "%s\n" "$out"; exit 1; }' "$B" <"$FILES" || status=1
t1=$(date +%s)
echo "lint: clang-tidy, $n files, $JOBS at a time: $((t1 - t0)) s ($([ $status = 0 ] && echo clean || echo findings))"

cstatus=0
cppcheck -q -j "$JOBS" --std=c11 -D_GNU_SOURCE -I src --library=posix --library=scripts/lint/yyjson.cfg \
    --enable=warning,performance,portability --inline-suppr --error-exitcode=1 src/ || cstatus=1
t2=$(date +%s)
echo "lint: cppcheck: $((t2 - t1)) s ($([ $cstatus = 0 ] && echo clean || echo findings))"
[ $status = 0 ] && [ $cstatus = 0 ]
