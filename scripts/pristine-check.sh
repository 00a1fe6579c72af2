#!/bin/sh
# scripts/pristine-check.sh [WORKDIR]: checks that the README's two commands are true on a fresh
# Debian 12. Makes a minbase root (scripts/lib/debroot.sh; cached in /var/cache/aigate-test),
# installs only make, git and ca-certificates in it, clones this repository's HEAD into it (a clean
# clone: uncommitted changes are not part of the check), and runs `make test` there in a chroot
# with /proc, /sys and /dev of the host. Then it runs the installer again and checks that it
# installs nothing (no package, no change under .deps/). Prints ctest's summary lines and the time
# taken; the whole log stays in WORKDIR/make-test.log (default /var/tmp/aigate-pristine.<pid>;
# the root itself is removed at the end). Exit status: 0 when everything passed.
#
# Needs root and the network to Debian's mirror and the npm registry. Certificate authorities the
# host added itself (/usr/local/share/ca-certificates, e.g. a TLS-inspecting proxy's) are copied
# into the root, and Node.js is pointed at the root's bundle, so the check also runs behind such a
# proxy; on a machine without one there are none and nothing changes. Takes a while (both builds,
# both test passes, Chromium): run it in the background, e.g.
#   nice -n 19 sh scripts/pristine-check.sh /var/tmp/aigate-pristine >/var/tmp/aigate-pristine.out 2>&1 &
set -eu
SRC=$(cd "$(dirname "$0")/.." && pwd)
. "$SRC/scripts/lib/debroot.sh"
[ "$(id -u)" = 0 ] || debroot_die "pristine-check needs root (debootstrap, chroot, mount)"

W=${1:-/var/tmp/aigate-pristine.$$}
mkdir -p "$W"
W=$(cd "$W" && pwd)
R="$W/root"
[ ! -e "$R" ] || debroot_die "$R exists (a previous run?); remove it or pick another WORKDIR"

# Processes left inside the root (there should be none) are stopped by their PIDs before unmounting.
stop_inside() {
    for p in /proc/[0-9]*; do
        [ "$(readlink "$p/root" 2>/dev/null)" = "$R" ] || continue
        kill -KILL "${p#/proc/}" 2>/dev/null || true
    done
}
cleanup() {
    stop_inside
    debroot_remove "$R" || echo "pristine-check: $R left in place (mounts remain)" >&2
}
trap cleanup EXIT
trap 'exit 1' INT TERM

log() { echo "pristine-check: $*"; }
T0=$(date +%s)
log "fresh Debian 12 root in $R"
debroot_unpack "$R"
debroot_mount "$R"
# The package test (ctest packaging.deb) inside makes roots of its own: share the cache with it.
mkdir -p "$R$DEBROOT_CACHE"
mount --bind "$DEBROOT_CACHE" "$R$DEBROOT_CACHE"

IN="chroot $R /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 TERM=dumb DEBIAN_FRONTEND=noninteractive"
if ls /usr/local/share/ca-certificates/*.crt >/dev/null 2>&1; then
    log "copying the host's own CA certificates: $(cd /usr/local/share/ca-certificates && echo *.crt)"
    mkdir -p "$R/usr/local/share/ca-certificates"
    cp /usr/local/share/ca-certificates/*.crt "$R/usr/local/share/ca-certificates/"
    IN="$IN NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt"
fi
log "installing make, git, ca-certificates (nothing else)"
$IN sh -c 'apt-get update -qq && apt-get install -y -qq --no-install-recommends make git ca-certificates' \
    >"$W/base.log" 2>&1 || { tail -n 20 "$W/base.log"; debroot_die "apt-get in the root failed"; }

COMMIT=$(git -C "$SRC" rev-parse HEAD)
log "cloning $SRC at $(git -C "$SRC" log -1 --format='%h %s' | cut -c1-80)"
mkdir -p "$R/src"
git clone --quiet --no-hardlinks "$SRC" "$R/src/aigate"
git -C "$R/src/aigate" checkout --quiet "$COMMIT"

log "make test (log: $W/make-test.log)"
T1=$(date +%s)
rc=0
$IN sh -c 'cd /src/aigate && make test' >"$W/make-test.log" 2>&1 || rc=$?
T2=$(date +%s)
log "make test exited $rc after $(((T2 - T1) / 60)) min $(((T2 - T1) % 60)) s; its summary lines:"
grep -E "tests passed|tests failed|^[[:space:]]*[0-9]+ - |\(Failed\)|\*\*\*|Error [0-9]" "$W/make-test.log" |
    sed 's/^/  /' || true
grep -E "^deps.sh: installing|^node: installed" "$W/make-test.log" | sed 's/^/  first run: /' || true

# A second run of the installer must install nothing.
log "the installer again (must install nothing)"
$IN sh -c 'dpkg-query -W -f="\${Package} \${Version}\n"; cd /src/aigate && find .deps -maxdepth 3 | sort' >"$W/before" 2>&1
$IN sh -c 'cd /src/aigate && rm -f .deps/stamp && make deps deps-browser' >"$W/second.log" 2>&1 || rc=$((rc ? rc : 1))
$IN sh -c 'dpkg-query -W -f="\${Package} \${Version}\n"; cd /src/aigate && find .deps -maxdepth 3 | sort' >"$W/after" 2>&1
if grep -E "installing|fetching|npm ci|unpacking" "$W/second.log" || ! cmp -s "$W/before" "$W/after"; then
    diff "$W/before" "$W/after" || true
    log "FAIL: the second run installed something"
    rc=$((rc ? rc : 1))
else
    log "second run: nothing installed"
fi
T3=$(date +%s)
log "total $(((T3 - T0) / 60)) min $(((T3 - T0) % 60)) s; exit $rc"
exit "$rc"
