#!/bin/sh
# web/scripts/build.sh OUT_DIST OUT_C: run by the CMake build (from the repository root) whenever
# a web source changed. Installs web/node_modules with `npm ci` only when it is missing or older
# than the lockfile, builds the UI with Vite into OUT_DIST (one per build directory), and writes
# the C source embedding it (web/scripts/embed.mjs). When npm cannot install or the build fails,
# it writes the stub table instead, so the gateway still builds and its UI paths answer 503 with
# the reason. A lock keeps two build directories from running npm ci at the same time.
set -eu
OUT_DIST=$1
OUT_C=$2
cd "$(dirname "$0")/.."
stub() {
    echo "web UI: $1; the gateway is built without it (its UI paths answer 503)" >&2
    node scripts/embed.mjs --stub "$1" "$OUT_C"
    exit 0
}
exec 9>"${TMPDIR:-/tmp}/aigate-web-build.lock"
if command -v flock >/dev/null 2>&1; then flock 9; fi
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    echo "web UI: npm ci" >&2
    npm ci --no-audit --no-fund --loglevel=error >&2 || stub "npm ci failed in web/ (is the npm registry reachable?)"
    touch node_modules/.package-lock.json
fi
AIGATE_WEB_OUT="$OUT_DIST" node node_modules/vite/bin/vite.js build --logLevel warn >&2 || stub "the Vite build of web/ failed"
node scripts/embed.mjs "$OUT_DIST" "$OUT_C"
