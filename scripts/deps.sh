#!/bin/sh
# scripts/deps.sh: installs everything aigate needs to build, test and benchmark on Debian 12 (bookworm).
# Idempotent: every step checks first and does nothing when its part is already there.
# - Debian packages from the system's own sources;
# - yyjson 0.10 from Debian's next release, fetched with a private apt state so the system's
#   sources stay untouched (only the two .debs are installed);
# - llhttp's C sources, unpacked from Debian's node-llhttp into .deps/ of this checkout (the
#   package itself would pull Debian's nodejs in);
# - Node.js >= 20.19 for the web UI and the end-to-end tests: the system's when it fits, else the
#   official binaries from the npm registry into .deps/node (scripts/node/install.sh, pinned and
#   checked against scripts/node/package-lock.json). Debian's nodejs (18) is not installed.
set -eu
cd "$(dirname "$0")/.."
ROOT=$(pwd)
export DEBIAN_FRONTEND=noninteractive

SUDO=""
if [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
        echo "deps.sh: run as root (or install sudo) to install packages" >&2; exit 1
    fi
fi

# libcurl4 and libpq5 by name too (the -dev packages depend on them as well): aigate loads them
# with dlopen on first use, so its binary does not name them.
PKGS="build-essential pkg-config cmake ninja-build git ca-certificates curl
libuv1-dev libcurl4-openssl-dev libssl-dev libsqlite3-dev libcmocka-dev zlib1g-dev libwslay-dev clang libclang-rt-14-dev libhiredis-dev redis-server libpq-dev
libcurl4 libpq5
sqlite3 wrk nginx-light valgrind help2man debootstrap file clang-tidy clang-format cppcheck
libgtk-3-dev libwebkit2gtk-4.1-dev libayatana-appindicator3-dev libnotify-dev librsvg2-bin
xvfb x11-apps x11-utils dbus-daemon"

missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done

updated=0
apt_update() {
    if [ "$updated" = 0 ]; then $SUDO apt-get update -qq; updated=1; fi
}
if [ -n "$missing" ]; then
    echo "deps.sh: installing:$missing"
    apt_update
    $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

# yyjson from trixie, private apt state (see docs/BUILDING.md).
if ! pkg-config --exists 'yyjson >= 0.10'; then
    echo "deps.sh: installing yyjson 0.10 from Debian trixie (private apt state)"
    A=$(mktemp -d)
    URI=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
    [ -n "$URI" ] || URI=$(awk '/^deb /{print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)
    [ -n "$URI" ] || URI="http://deb.debian.org/debian"
    mkdir -p "$A/lists/partial" "$A/cache/archives/partial"
    echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $URI trixie main" >"$A/sources.list"
    O="-o Dir::Etc::SourceList=$A/sources.list -o Dir::Etc::SourceParts=/nonexistent -o Dir::State::Lists=$A/lists -o Dir::Cache=$A/cache -o APT::Sandbox::User=root"
    $SUDO apt-get $O -qq update
    (cd "$A" && $SUDO apt-get $O -qq download libyyjson0 libyyjson-dev)
    $SUDO dpkg -i "$A"/libyyjson0_*.deb "$A"/libyyjson-dev_*.deb >/dev/null
    rm -rf "$A"
fi

# llhttp sources (node-llhttp ships them; we only unpack the .deb).
if [ ! -f /usr/share/llhttp/llhttp.c ] && [ ! -f "$ROOT/.deps/llhttp/usr/share/llhttp/llhttp.c" ]; then
    echo "deps.sh: unpacking llhttp sources from Debian's node-llhttp"
    apt_update
    T=$(mktemp -d)
    (cd "$T" && apt-get -o APT::Sandbox::User=root -qq download node-llhttp)
    mkdir -p "$ROOT/.deps/llhttp"
    dpkg-deb -x "$T"/node-llhttp_*.deb "$ROOT/.deps/llhttp"
    rm -rf "$T"
fi

# Node.js (see the top); once .deps/node exists, everything that runs node puts it first in PATH.
sh scripts/node/install.sh
[ ! -x "$ROOT/.deps/node/bin/node" ] || PATH="$ROOT/.deps/node/bin:$PATH"

# Node packages for the end-to-end tests (official SDKs), from the lockfile (not needed to only
# build, e.g. in the Containerfile: AIGATE_DEPS_TESTS=0).
if [ "${AIGATE_DEPS_TESTS:-1}" = 1 ] && [ -f tests/e2e/package.json ] && [ ! -d tests/e2e/node_modules ]; then
    echo "deps.sh: installing end-to-end test packages (npm ci)"
    (cd tests/e2e && if [ -f package-lock.json ]; then npm ci --no-audit --no-fund --loglevel=error; else npm install --no-audit --no-fund --loglevel=error; fi)
fi

# PostgreSQL 15's server programs for the tests of the store on PostgreSQL (initdb, postgres, psql
# under /usr/lib/postgresql/15/bin; each test starts its own server in a temp dir and never uses the
# system's cluster or service). Not needed to only build (AIGATE_DEPS_TESTS=0).
if [ "${AIGATE_DEPS_TESTS:-1}" = 1 ] && ! dpkg-query -W -f='${Status}' postgresql-15 2>/dev/null | grep -q "ok installed"; then
    echo "deps.sh: installing postgresql-15 (the store's tests on PostgreSQL)"
    apt_update
    $SUDO apt-get install -y -qq --no-install-recommends postgresql-15 >/dev/null
fi

# Debian's Chromium for the web UI's browser test (playwright-core drives /usr/bin/chromium; no
# browser is downloaded). Only when asked (the Makefile's test targets set AIGATE_DEPS_BROWSER=1).
if [ "${AIGATE_DEPS_BROWSER:-0}" = 1 ] && ! dpkg-query -W -f='${Status}' chromium 2>/dev/null | grep -q "ok installed"; then
    echo "deps.sh: installing chromium (browser tests of the web UI)"
    apt_update
    $SUDO apt-get install -y -qq --no-install-recommends chromium fonts-liberation >/dev/null
fi

# lcov for `make coverage` only (the Makefile's coverage target sets AIGATE_DEPS_COVERAGE=1).
if [ "${AIGATE_DEPS_COVERAGE:-0}" = 1 ] && ! dpkg-query -W -f='${Status}' lcov 2>/dev/null | grep -q "ok installed"; then
    echo "deps.sh: installing lcov (make coverage)"
    apt_update
    $SUDO apt-get install -y -qq --no-install-recommends lcov >/dev/null
fi

# A stamp the Makefile uses to skip this script when nothing changed.
mkdir -p "$ROOT/.deps"
touch "$ROOT/.deps/stamp"
