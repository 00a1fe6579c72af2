#!/bin/sh
# packaging/test-deb.sh BUILD_DIR: the ctest "packaging.deb". Builds the Debian package from
# BUILD_DIR (cpack), installs it with apt into a fresh Debian 12 minbase root (scripts/lib/debroot.sh;
# the dependencies come from Debian's mirror, so a missing Depends shows), and starts the gateway
# there the way aigate.service does: ExecStart= as the unit's User=, with its Environment= and a
# StateDirectory= made as systemd makes it (systemd itself does not run in a chroot). Then
# /healthz and the UI's index.html must answer on a loopback port, and the gateway must stop on
# SIGTERM. Needs root; fails (does not skip) when it cannot run. A few minutes the first time
# (debootstrap, cached in /var/cache/aigate-test), well under one after.
set -eu
BUILD=$(cd "$1" && pwd)
SRC=$(cd "$(dirname "$0")/.." && pwd)
. "$SRC/scripts/lib/debroot.sh"

fail() {
    echo "packaging.deb: FAIL: $*" >&2
    exit 1
}
[ "$(id -u)" = 0 ] || fail "needs root (debootstrap, chroot, mount): run the tests as root"
command -v curl >/dev/null 2>&1 || fail "curl is needed (scripts/deps.sh installs it)"

W=$(mktemp -d "${TMPDIR:-/tmp}/aigate-deb-test.XXXXXX")
R="$W/root"
PID=""
cleanup() {
    if [ -n "$PID" ] && kill -0 "$PID" 2>/dev/null; then
        kill -KILL "$PID" 2>/dev/null || true
    fi
    debroot_remove "$R" >/dev/null 2>&1 || true
    rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

echo "packaging.deb: building the package (cpack)"
(cd "$BUILD" && cpack -G DEB >"$W/cpack.log" 2>&1) || { cat "$W/cpack.log" >&2; fail "cpack failed"; }
DEB=$(ls -1t "$BUILD"/deb/aigate_*.deb 2>/dev/null | head -n 1)
[ -n "$DEB" ] || fail "cpack made no aigate_*.deb in $BUILD/deb"
echo "packaging.deb: $(basename "$DEB") ($(du -k "$DEB" | cut -f1) KiB)"

# The package holds what it promises.
dpkg-deb -c "$DEB" >"$W/contents"
for f in ./usr/bin/aigate ./usr/lib/systemd/system/aigate.service ./usr/lib/systemd/user/aigate.service \
    ./usr/lib/sysusers.d/aigate.conf ./usr/share/man/man1/aigate.1.gz; do
    grep -q " $f\$" "$W/contents" || fail "the package lacks $f"
done
dpkg-deb -f "$DEB" Depends | grep -q libcurl4 || fail "Depends does not name libcurl4"

echo "packaging.deb: a fresh Debian 12 root"
debroot_unpack "$R"
debroot_mount "$R"
# apt's downloads and lists are kept beside the cached root, so later runs fetch little.
for d in archives lists; do
    mkdir -p "$DEBROOT_CACHE/apt-$d/partial"
done
mount --bind "$DEBROOT_CACHE/apt-archives" "$R/var/cache/apt/archives"
mount --bind "$DEBROOT_CACHE/apt-lists" "$R/var/lib/apt/lists"
cp "$DEB" "$R/tmp/aigate.deb"
IN="chroot $R /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive"

echo "packaging.deb: apt-get install ./aigate.deb (dependencies from $(debroot_mirror))"
# One apt at a time on the shared lists and archives (other build directories run this test too).
if ! flock "$DEBROOT_CACHE/.apt-lock" $IN sh -c \
    'apt-get update -qq && apt-get install -y -qq --no-install-recommends /tmp/aigate.deb' \
    >"$W/apt.log" 2>&1; then
    tail -n 30 "$W/apt.log" >&2
    fail "the package does not install into a fresh Debian 12"
fi
$IN ldd /usr/bin/aigate >"$W/ldd" 2>&1 || { cat "$W/ldd" >&2; fail "ldd /usr/bin/aigate failed"; }
if grep -q "not found" "$W/ldd"; then
    cat "$W/ldd" >&2
    fail "a library of aigate is not installed (a missing Depends?)"
fi
# libcurl and libpq are loaded on first use (dlopen), so ldd does not list them.
for l in libcurl.so.4 libpq.so.5; do
    $IN ldconfig -p | grep -q "[[:space:]]$l " || fail "$l is not installed (a missing Depends?)"
done
$IN getent passwd aigate >/dev/null || fail "the package did not create the aigate user"
$IN man -w aigate >/dev/null 2>&1 || [ -f "$R/usr/share/man/man1/aigate.1.gz" ] || fail "no man page"

# The unit, read as systemd reads it: ExecStart=, User=, Environment=, StateDirectory=.
UNIT="$R/usr/lib/systemd/system/aigate.service"
unit_value() { sed -n "s/^$1=//p" "$UNIT"; }
EXEC=$(unit_value ExecStart)
USER=$(unit_value User)
STATE=$(unit_value StateDirectory)
MODE=$(unit_value StateDirectoryMode)
ENVS=$(unit_value Environment)
[ -n "$EXEC" ] && [ -n "$USER" ] && [ -n "$STATE" ] || fail "the unit lacks ExecStart=, User= or StateDirectory="
grep -q '^Type=notify$' "$UNIT" || fail "the unit is not Type=notify"
install -d -m "${MODE:-0755}" "$R/var/lib/$STATE"
$IN chown "$USER:$USER" "/var/lib/$STATE"

# A port that was free a moment ago; another try on another port if something took it since.
tries=0
while :; do
    tries=$((tries + 1))
    [ "$tries" -le 5 ] || fail "the gateway did not start (last log above)"
    PORT=$(shuf -i 20000-32000 -n 1)
    : >"$W/aigate.log"
    # shellcheck disable=SC2086 # ENVS and EXEC are lists of words, as systemd splits them
    chroot --userspec="$USER:$USER" "$R" /usr/bin/env -i PATH=/usr/bin:/bin LANG=C.UTF-8 \
        $ENVS AIGATE_PORT="$PORT" $EXEC >"$W/aigate.log" 2>&1 &
    PID=$!
    n=0
    up=0
    while [ "$n" -lt 300 ] && kill -0 "$PID" 2>/dev/null; do
        if curl -fsS -m 2 -o "$W/healthz" "http://127.0.0.1:$PORT/healthz" 2>/dev/null; then
            up=1
            break
        fi
        n=$((n + 1))
        sleep 0.1
    done
    [ "$up" = 1 ] && break
    cat "$W/aigate.log" >&2
    if kill -0 "$PID" 2>/dev/null; then
        kill -KILL "$PID"
        wait "$PID" 2>/dev/null || true
        fail "the gateway runs but /healthz never answered on port $PORT"
    fi
    wait "$PID" 2>/dev/null || true
    PID=""
    grep -q "cannot listen" "$W/aigate.log" || fail "the gateway exited at start"
done
echo "packaging.deb: /healthz on 127.0.0.1:$PORT: $(cat "$W/healthz")"
grep -q '"status":"ok"' "$W/healthz" || fail "/healthz did not say ok"
grep -q "data dir /var/lib/$STATE" "$W/aigate.log" || fail "the gateway did not use /var/lib/$STATE"
[ -f "$R/var/lib/$STATE/config.json" ] || fail "no config.json in /var/lib/$STATE"

code=$(curl -sS -m 10 -o "$W/index.html" -w '%{http_code} %{content_type}' "http://127.0.0.1:$PORT/")
echo "packaging.deb: GET / -> $code"
case "$code" in "200 text/html"*) ;; *) fail "the web UI did not answer 200 text/html (got $code)" ;; esac
grep -qi '<!doctype html>' "$W/index.html" || fail "GET / is not the UI's index.html"
grep -q 'src="/assets/' "$W/index.html" || fail "the UI's index.html names no built assets"

kill -TERM "$PID"
n=0
while [ "$n" -lt 300 ] && kill -0 "$PID" 2>/dev/null; do
    n=$((n + 1))
    sleep 0.1
done
if kill -0 "$PID" 2>/dev/null; then
    fail "the gateway did not stop within 30 s of SIGTERM"
fi
rc=0
wait "$PID" || rc=$?
PID=""
[ "$rc" = 0 ] || { cat "$W/aigate.log" >&2; fail "the gateway exited $rc after SIGTERM"; }
echo "packaging.deb: PASS (installed, served /healthz and the UI, stopped on SIGTERM)"
