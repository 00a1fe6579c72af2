# scripts/lib/debroot.sh: fresh Debian 12 (bookworm) minbase roots for the checks that need a
# machine nobody has touched (scripts/pristine-check.sh, packaging/test-deb.sh). Sourced, not run.
#
# A root is made once by debootstrap from the system's Debian mirror and kept as a tarball in
# $AIGATE_ROOT_CACHE (default /var/cache/aigate-test, outside any checkout), named by architecture
# and date; a tarball up to $AIGATE_ROOT_MAX_AGE_DAYS (default 7) days old is reused, older ones are
# removed. Each check unpacks its own copy, so every run starts from the same untouched root.
# Needs root (debootstrap, chroot, mount).

DEBROOT_CACHE=${AIGATE_ROOT_CACHE:-/var/cache/aigate-test}
DEBROOT_MAX_AGE_DAYS=${AIGATE_ROOT_MAX_AGE_DAYS:-7}

debroot_die() {
    echo "debroot: $*" >&2
    exit 1
}

# The Debian mirror the system itself uses (deb822 or one-line sources), else deb.debian.org.
debroot_mirror() {
    m=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
    [ -n "$m" ] || m=$(awk '/^deb /{print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)
    [ -n "$m" ] || m="http://deb.debian.org/debian"
    echo "$m"
}

# debroot_tarball: prints the path of a cached minbase root tarball, making it when none is recent.
debroot_tarball() {
    [ "$(id -u)" = 0 ] || debroot_die "needs root (debootstrap and chroot); run it as root"
    command -v debootstrap >/dev/null 2>&1 ||
        debroot_die "debootstrap is not installed: run scripts/deps.sh (it installs it)"
    arch=$(dpkg --print-architecture)
    mkdir -p "$DEBROOT_CACHE" || debroot_die "cannot create $DEBROOT_CACHE"
    # One maker at a time; a second caller waits and then finds the tarball.
    exec 8>"$DEBROOT_CACHE/.lock"
    flock 8
    find "$DEBROOT_CACHE" -maxdepth 1 -name "bookworm-minbase-$arch-*.tar.gz" \
        -mtime +"$DEBROOT_MAX_AGE_DAYS" -exec rm -f {} + 2>/dev/null || true
    t=$(ls -1 "$DEBROOT_CACHE"/bookworm-minbase-"$arch"-*.tar.gz 2>/dev/null | sort | tail -n 1)
    if [ -z "$t" ]; then
        t="$DEBROOT_CACHE/bookworm-minbase-$arch-$(date -u +%Y%m%d).tar.gz"
        d=$(mktemp -d "$DEBROOT_CACHE/make.XXXXXX")
        echo "debroot: debootstrap --variant=minbase bookworm from $(debroot_mirror) (a few minutes; cached in $DEBROOT_CACHE)" >&2
        if ! debootstrap --variant=minbase --arch="$arch" bookworm "$d/root" "$(debroot_mirror)" \
            >"$d/debootstrap.log" 2>&1; then
            tail -n 20 "$d/debootstrap.log" >&2
            rm -rf "$d"
            flock -u 8
            debroot_die "debootstrap failed (is $(debroot_mirror) reachable?); log above"
        fi
        # The host's resolver, so apt inside the root reaches the mirror.
        cp /etc/resolv.conf "$d/root/etc/resolv.conf" 2>/dev/null || true
        rm -rf "$d/root/var/cache/apt/archives/"*.deb
        tar -C "$d/root" -czf "$t.tmp" . && mv "$t.tmp" "$t"
        rm -rf "$d"
    fi
    flock -u 8
    echo "$t"
}

# debroot_unpack DIR: a fresh root in DIR (which must not exist yet or be empty).
debroot_unpack() {
    tb=$(debroot_tarball) || exit 1
    mkdir -p "$1"
    tar -C "$1" -xzf "$tb" || debroot_die "cannot unpack $tb into $1"
    cp /etc/resolv.conf "$1/etc/resolv.conf" 2>/dev/null || true
}

# debroot_mount DIR: /proc, /sys and /dev of the host inside the root (undone by debroot_umount).
debroot_mount() {
    mount -t proc proc "$1/proc"
    mount --rbind /sys "$1/sys" && mount --make-rslave "$1/sys"
    mount --rbind /dev "$1/dev" && mount --make-rslave "$1/dev"
}

# debroot_umount DIR: undoes debroot_mount and any bind mount below DIR; safe to call twice.
debroot_umount() {
    r=$(cd "$1" 2>/dev/null && pwd -P) || return 0
    # Deepest first, so nested mounts go before their parents.
    awk -v r="$r" '$2 == r || index($2, r "/") == 1 {print $2}' /proc/self/mounts | sort -r |
        while read -r m; do umount -l "$m" 2>/dev/null || true; done
}

# debroot_remove DIR: unmounts and deletes a root; refuses when something is still mounted there.
debroot_remove() {
    debroot_umount "$1"
    r=$(cd "$1" 2>/dev/null && pwd -P) || return 0
    if awk -v r="$r" 'index($2, r "/") == 1 {found=1} END {exit !found}' /proc/self/mounts; then
        echo "debroot: $r still has mounts; not removing it" >&2
        return 1
    fi
    rm -rf --one-file-system "$r"
}
