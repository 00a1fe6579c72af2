#!/bin/sh
# bench/desktop-rss.sh BUILD_DIR: memory of aigate-desktop with the window shown and hidden, in the
# normal and the lightweight mode, against `aigate serve` alone. Runs everything under a private
# Xvfb (a free display number) and a private D-Bus session bus, in a temporary home and data dir,
# on a port chosen at run time; stops every process it started by PID. The figures are sums of
# VmRSS and of PSS over the app and its child processes (WebKit's web and network processes), read
# from /proc after a settling pause (RSS counts shared libraries once per process; PSS shares them out,
# so its sum is what the app costs the machine); the pause is the only timing, no figure is asserted.
set -eu
BUILD=${1:-build}
BUILD=$(cd "$BUILD" && pwd)
APP="$BUILD/aigate-desktop"
GW="$BUILD/aigate"
SETTLE=${SETTLE:-8}
[ -x "$APP" ] || { echo "desktop-rss: $APP not built (AIGATE_DESKTOP)" >&2; exit 1; }
T=$(mktemp -d /tmp/ag-desk-rss.XXXXXX)
PIDS=""
cleanup() {
    for p in $PIDS; do kill "$p" 2>/dev/null || true; done
    sleep 1
    for p in $PIDS; do kill -9 "$p" 2>/dev/null || true; done
    rm -rf "$T"
}
trap cleanup EXIT INT TERM

n=$(( 300 + $$ % 300 ))
while [ -e "/tmp/.X$n-lock" ] || [ -e "/tmp/.X11-unix/X$n" ]; do n=$((n + 1)); done
Xvfb ":$n" -screen 0 1280x800x24 -nolisten tcp >"$T/xvfb.log" 2>&1 &
PIDS="$PIDS $!"
i=0; while [ ! -e "/tmp/.X11-unix/X$n" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
dbus-daemon --session --nofork --address="unix:path=$T/bus" >"$T/dbus.log" 2>&1 &
PIDS="$PIDS $!"
i=0; while [ ! -S "$T/bus" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done

mkdir -p "$T/home/.config/aigate" "$T/data"
export DISPLAY=":$n" DBUS_SESSION_BUS_ADDRESS="unix:path=$T/bus" HOME="$T/home" \
    XDG_CONFIG_HOME="$T/home/.config" XDG_CACHE_HOME="$T/home/.cache" \
    XDG_DATA_HOME="$T/home/.local/share" AIGATE_DATA_DIR="$T/data" LANG=C.UTF-8 NO_AT_BRIDGE=1
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')

# Sum over pid and all its descendants of field (VmRSS from status, or Pss from smaps_rollup), kB.
tree_rss() { tree_sum "$1" status VmRSS; }
tree_pss() { tree_sum "$1" smaps_rollup Pss; }
tree_sum() {
    all="$1"; frontier="$1"
    while [ -n "$frontier" ]; do
        next=""
        for p in $frontier; do
            for c in $(cat /proc/"$p"/task/*/children 2>/dev/null); do next="$next $c"; done
        done
        all="$all $next"; frontier=$(echo $next)
    done
    sum=0
    for p in $all; do
        r=$(awk -v k="$3:" '$1 == k {print $2}' /proc/"$p"/"$2" 2>/dev/null || echo 0)
        sum=$((sum + ${r:-0}))
    done
    echo "$sum"
}
procs() { echo $(( $(echo "$1 $(cat /proc/"$1"/task/*/children 2>/dev/null)" | wc -w) )); }
act() { gdbus call --session --dest dev.aigate.Desktop --object-path /dev/aigate/Desktop \
    --method org.gtk.Actions.Activate "$1" '[]' '{}' >/dev/null; }
report() {
    printf 'desktop %-12s %-14s RSS %4d MiB, PSS %4d MiB, %d processes\n' "($1)" "$2" \
        $(( $(tree_rss $3) / 1024 )) $(( $(tree_pss $3) / 1024 )) "$(procs $3)"
}
shown() { xwininfo -root -tree | grep -q '"Dashboard · aigate"'; }

"$GW" --port "$PORT" >"$T/gw.log" 2>&1 &
G=$!; PIDS="$PIDS $G"
sleep "$SETTLE"
echo "aigate serve alone:               RSS $(( $(tree_rss $G) / 1024 )) MiB, PSS $(( $(tree_pss $G) / 1024 )) MiB"
kill "$G"; wait "$G" 2>/dev/null || true

for mode in false true; do
    printf '[desktop]\nautostart=false\nlightweight=%s\n' "$mode" >"$T/home/.config/aigate/desktop.ini"
    "$APP" --port "$PORT" >"$T/app-$mode.log" 2>&1 &
    A=$!; PIDS="$PIDS $A"
    i=0; while ! shown && [ $i -lt 120 ]; do sleep 0.5; i=$((i + 1)); done
    shown || { echo "desktop-rss: no window" >&2; cat "$T/app-$mode.log" >&2; exit 1; }
    sleep "$SETTLE"
    label=$([ "$mode" = true ] && echo "lightweight" || echo "normal")
    report "$label" "window shown" "$A"
    act hide
    sleep "$SETTLE"
    report "$label" "window hidden" "$A"
    act show
    sleep "$SETTLE"
    report "$label" "shown again" "$A"
    act quit
    i=0; while kill -0 "$A" 2>/dev/null && [ $i -lt 120 ]; do sleep 0.5; i=$((i + 1)); done
done
