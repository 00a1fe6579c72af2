#!/bin/sh
# web/scripts/build.sh OUT_DIST OUT_C: run by the CMake build (from the repository root) whenever
# a web source changed. Installs web/node_modules with `npm ci` only when it is missing or older
# than the lockfile, builds the UI with Vite into OUT_DIST (one per build directory), and writes
# the C source embedding it (web/scripts/embed.mjs). When npm cannot install or the build fails,
# it exits non-zero and the build stops: a gateway is never built without its UI by accident
# (configure with -DAIGATE_WEB_UI=OFF, or `make AIGATE_WEB_UI=OFF`, to build without it on
# purpose). The Node.js of .deps/node (scripts/node/install.sh) comes first when it is there.
# A lock keeps two build directories from running npm ci at the same time.
set -eu
OUT_DIST=$1
OUT_C=$2
cd "$(dirname "$0")/.."
[ ! -x ../.deps/node/bin/node ] || PATH="$(cd ../.deps/node/bin && pwd):$PATH"
fail() {
    echo "web UI: $1; run scripts/deps.sh (or build without the UI on purpose: make AIGATE_WEB_UI=OFF)" >&2
    rm -f "$OUT_C"
    exit 1
}
exec 9>"${TMPDIR:-/tmp}/aigate-web-build.lock"
if command -v flock >/dev/null 2>&1; then flock 9; fi
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    echo "web UI: npm ci" >&2
    npm ci --no-audit --no-fund --loglevel=error >&2 || fail "npm ci failed in web/ (is the npm registry reachable?)"
    touch node_modules/.package-lock.json
fi
AIGATE_WEB_OUT="$OUT_DIST" node node_modules/vite/bin/vite.js build --logLevel warn >&2 || fail "the Vite build of web/ failed (node $(node --version 2>/dev/null || echo missing))"
node scripts/embed.mjs "$OUT_DIST" "$OUT_C" || fail "embedding the built UI failed"
