#!/bin/sh
# bench/run.sh: aigate's benchmark harness (`make bench`). Builds release binaries into
# build-bench/, starts the mock upstream, a canned upstream (nginx answering Cloud Code's generate
# calls from files), nginx (plain proxy in front of each), aigate and Portkey's gateway (peer) on
# 127.0.0.1 with ports chosen at run time, runs every scenario against every lane that can do its
# work, counts instructions per request under callgrind, stops everything it started by PID,
# writes bench/results/<date>-<commit>.json and prints a table. Never fails the build because of
# a missed target; it exits non-zero only when it cannot run at all.
#   BENCH_QUICK=1        a few seconds per scenario (smoke run)
#   BENCH_ONLY="a b"     only these groups: mock canned callgrind streams startup
#   BENCH_BUILD_DIR=dir  build (or, with BENCH_NO_BUILD=1, only use) the binaries in dir
#   BENCH_STREAMS=n      concurrent slow streams (default 10,000; 1,000 quick)
#   BENCH_KEEP_TMP=1     keep the temp dir (logs, wrk output, callgrind dumps)
# Re-exec under bash when started as `sh bench/run.sh`.
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
# The Node.js of .deps/node (scripts/node/install.sh) when the system's is too old.
[ ! -x "$ROOT/.deps/node/bin/node" ] || PATH="$ROOT/.deps/node/bin:$PATH"
QUICK=${BENCH_QUICK:-0}
BB=${BENCH_BUILD_DIR:-$ROOT/build-bench}
RESULTS=$ROOT/bench/results
PORTKEY_JS=$ROOT/bench/node_modules/@portkey-ai/gateway/build/start-server.js

if [ "$QUICK" = 1 ]; then
    DUR=2 WARM=1 STREAMS=1000 SLOW_EVENTS=5 SLOW_DELAY_MS=400 STARTUP_RUNS=1 BURST_S=4
    CG_SMALL=50 CG_LARGE=4 CG_BURST=500
else
    DUR=8 WARM=2 STREAMS=10000 SLOW_EVENTS=15 SLOW_DELAY_MS=1000 STARTUP_RUNS=3 BURST_S=20
    CG_SMALL=200 CG_LARGE=8 CG_BURST=1000
fi
STREAMS=${BENCH_STREAMS:-$STREAMS}
# Scenario groups to run (BENCH_ONLY="canned callgrind" while working on one part): mock (the
# scenarios against the mock upstream), canned (against nginx answering canned Cloud Code answers:
# small requests, large conversations before and after a burst), callgrind (instruction counts),
# streams, startup (with idle RSS).
ONLY=${BENCH_ONLY:-mock canned callgrind streams startup}
want() { case " $ONLY " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }
STORM_DUR=$((DUR + 2))

log() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# ---- build (own build dir; retried: others may be mid-edit in src/) ----
build() {
    # -O2: gcc 12 at the Release default -O3 raises a -Werror=maybe-uninitialized false positive
    # in src/http/router.c; -g keeps symbols for perf. Same code generation level as make build.
    cmake -S "$ROOT" -B "$BB" -G Ninja -DCMAKE_BUILD_TYPE=Release \
        -DCMAKE_C_FLAGS_RELEASE="-O2 -g -DNDEBUG" >/dev/null &&
        cmake --build "$BB" -j "$(nproc)" --target aigate aigate-mock-upstream >"$BB/bench-build.log" 2>&1
}
if [ "${BENCH_NO_BUILD:-0}" = 1 ]; then
    # Binaries already built (e.g. an older commit's, for a before/after comparison).
    log "using the binaries in $BB as they are"
else
    log "building release binaries into $BB"
    for attempt in 1 2 3; do
        if build; then break; fi
        [ "$attempt" = 3 ] && { tail -30 "$BB/bench-build.log" >&2; log "build failed"; exit 1; }
        log "build failed (attempt $attempt, someone may be mid-edit); retrying in 60 s"
        sleep 60
    done
fi
# The stream driver: a plain cc line, so CMakeLists.txt stays untouched.
cc -O2 -Wall -Wextra -o "$BB/sseload" "$ROOT/bench/sseload.c"

if want mock && [ ! -f "$PORTKEY_JS" ]; then
    log "installing the peer (Portkey) into bench/node_modules with npm ci"
    (cd "$ROOT/bench" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
fi

# ---- processes: every one is recorded and stopped by PID ----
T=$(mktemp -d /tmp/aigate-bench.XXXXXX)
PIDS=()
cleanup() {
    local p
    set +e
    for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
    for _ in 1 2 3 4 5 6 7 8 9 10; do
        local alive=0
        for p in "${PIDS[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
        [ $alive = 0 ] && break
        sleep 0.3
    done
    for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done
    [ "${BENCH_KEEP_TMP:-0}" = 1 ] && log "kept $T" || rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
stop_pid() { # stop one process we started, by PID
    local p=$1
    kill -TERM "$p" 2>/dev/null || return 0
    for _ in $(seq 1 30); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
}

ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
log "open files limit $(ulimit -n); temp dir $T"
# aigate holds two descriptors per stream (client and upstream) plus ~50 of its own.
MAXSTREAMS=$((($(ulimit -n) - 100) / 2))
if [ "$STREAMS" -gt "$MAXSTREAMS" ]; then
    STREAMS_NOTE="$STREAMS streams need $((STREAMS * 2 + 100)) descriptors in the gateway; the hard limit here is $(ulimit -Hn), so $MAXSTREAMS streams ran"
    log "$STREAMS_NOTE"
    STREAMS=$MAXSTREAMS
else
    STREAMS_NOTE=""
fi

free_port() {
    node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}
cpu_ticks() { # utime+stime of a pid, in clock ticks
    awk '{print $14+$15}' "/proc/$1/stat" 2>/dev/null || echo 0
}
status_kb() { # VmRSS / VmHWM of a pid in kB
    awk -v k="$2:" '$1==k{print $2}' "/proc/$1/status" 2>/dev/null || echo 0
}
reset_hwm() { echo 5 >"/proc/$1/clear_refs" 2>/dev/null || true; }
TCK=$(getconf CLK_TCK)
secs() { awk -v t="$1" -v k="$TCK" 'BEGIN{printf "%.3f", t/k}'; }

# ---- mock upstream ----
# The mock takes as many connections as the streams scenario opens (its default cap is 8,192, like
# aigate's server.max_connections, and nginx's keep-alive connections to it count too).
"$BB/aigate-mock-upstream" --port 0 --max-connections $((STREAMS + 2048)) >"$T/mock.out" 2>"$T/mock.err" &
MOCK_PID=$!
PIDS+=("$MOCK_PID")
for _ in $(seq 1 50); do grep -q listening "$T/mock.out" 2>/dev/null && break; sleep 0.1; done
MP=$(sed -n 's/^listening on .*:\([0-9]*\)$/\1/p' "$T/mock.out")
[ -n "$MP" ] || { log "mock did not start"; exit 1; }
MOCK=http://127.0.0.1:$MP
mockctl() { curl -sf -X "$1" "$MOCK/__mock/$2" -H 'content-type: application/json' ${3:+-d "$3"} >/dev/null; }
# Two more upstream accounts for the 429 storm (refresh rt-<email>, access at-<email>).
mockctl POST accounts '[{"email":"b@bench.local"},{"email":"c@bench.local"}]'
log "mock upstream on $MOCK (pid $MOCK_PID)"

# ---- aigate ----
export AIGATE_CLOUDCODE_ENDPOINTS=$MOCK/v1internal AIGATE_OAUTH_TOKEN_URL=$MOCK/token \
    AIGATE_USERINFO_URL=$MOCK/userinfo AIGATE_OAUTH_CLIENT_ID=x AIGATE_OAUTH_CLIENT_SECRET=y \
    AIGATE_LOG_LEVEL=warn
add_account() { # data dir, refresh token, email
    if AIGATE_DATA_DIR=$1 "$BB/aigate" accounts add --refresh-token "$2" >>"$T/accounts.log" 2>&1; then
        return 0
    fi
    # Stop-gap while `accounts add` is not available: insert the row directly.
    log "aigate accounts add failed; inserting $3 with sqlite3"
    AIGATE_DATA_DIR=$1 timeout 3 "$BB/aigate" --port "$(free_port)" >/dev/null 2>&1 || true
    sqlite3 "$1/aigate.db" "insert into accounts(id,email,refresh_token,created_at,last_used_at,sort_order)
        values('$(cat /proc/sys/kernel/random/uuid)','$3','$2',0,0,0)"
}
GWD=$T/aigate
mkdir -p "$GWD"
add_account "$GWD" rt-mock mock@example.com
add_account "$GWD" rt-b@bench.local b@bench.local
add_account "$GWD" rt-c@bench.local c@bench.local

start_aigate() { # data dir [Cloud Code endpoint] -> sets GW_PID, GP, STARTUP_MS
    local ep=${2:-$MOCK/v1internal}
    GP=$(free_port)
    "$BB/sseload" --probe --port "$GP" --timeout 10 >"$T/probe.out" &
    local probe=$!
    local t0
    t0=$(date +%s%N)
    # wrk repeats one body, which aigate would treat as one conversation and keep on one account
    # (sticky sessions); real traffic is many conversations, so the bench turns stickiness off.
    AIGATE_CLOUDCODE_ENDPOINTS=$ep AIGATE_DATA_DIR=$1 "$BB/aigate" --port "$GP" \
        --set scheduling.sticky_ttl_s=0 --set server.max_connections=$((STREAMS + 1024)) \
        >>"$T/aigate.log" 2>&1 &
    GW_PID=$!
    PIDS+=("$GW_PID")
    wait "$probe" || { log "aigate did not answer /healthz"; tail "$T/aigate.log" >&2; exit 1; }
    STARTUP_MS=$(awk -v a="$(cat "$T/probe.out")" -v b="$t0" 'BEGIN{printf "%.1f", (a-b)/1e6}')
}
start_aigate "$GWD"
AG_PID=$GW_PID AP=$GP
FIRST_STARTUP_MS=$STARTUP_MS
sleep 1
IDLE_RSS_KB=$(status_kb "$AG_PID" VmRSS)
log "aigate on 127.0.0.1:$AP (pid $AG_PID), started in $STARTUP_MS ms, idle RSS $IDLE_RSS_KB kB"

# ---- canned upstream: nginx answering Cloud Code's generate calls from files ----
# A fast upstream, so that what is measured is the gateway's own cost and not the mock's: the
# answers are the mock's own answers to the chat-1k5 request (captured below, before the canned
# scenarios), served as static files; every other path (loadCodeAssist, models) goes to the mock.
# A POST to a static file is refused with 405 by nginx, so the generate paths answer 405 and
# error_page turns that into an internal GET of the answer file, with status 200.
CP=$(free_port)
mkdir -p "$T/canned/logs" "$T/canned/tmp" "$T/canned/www/answers"
cat >"$T/canned/nginx.conf" <<EOF
daemon off;
master_process off;
worker_processes 1;
worker_rlimit_nofile 20000;
pid $T/canned/nginx.pid;
error_log $T/canned/logs/error.log warn;
# a proxied stream takes two connections (client and upstream): 16,384 stopped at 8,189 streams
events { worker_connections $((STREAMS * 2 + 512)); }
http {
    access_log off;
    client_body_temp_path $T/canned/tmp/body;
    proxy_temp_path $T/canned/tmp/proxy;
    fastcgi_temp_path $T/canned/tmp/fastcgi;
    uwsgi_temp_path $T/canned/tmp/uwsgi;
    scgi_temp_path $T/canned/tmp/scgi;
    types { }
    upstream mock { server 127.0.0.1:$MP; keepalive 64; }
    server {
        listen 127.0.0.1:$CP backlog=4096;
        client_max_body_size 16m;
        client_body_buffer_size 2m;
        keepalive_requests 1000000;
        root $T/canned/www;
        location = /v1internal:streamGenerateContent { error_page 405 =200 /answers/stream.sse; return 405; }
        location = /v1internal:generateContent { error_page 405 =200 /answers/answer.json; return 405; }
        location = /answers/stream.sse { internal; default_type text/event-stream; }
        location = /answers/answer.json { internal; default_type application/json; }
        location / {
            proxy_pass http://mock;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }
    }
}
EOF
if want canned || want callgrind; then
    nginx -p "$T/canned" -c "$T/canned/nginx.conf" -e "$T/canned/logs/error.log" &
    CN_PID=$!
    PIDS+=("$CN_PID")
fi
CANNED=http://127.0.0.1:$CP

# ---- nginx: plain proxy, own prefix and config, one process, no daemon ----
# Two servers: one in front of the mock, one in front of the canned upstream.
NP=$(free_port)
NPC=$(free_port)
mkdir -p "$T/nginx/logs" "$T/nginx/tmp"
cat >"$T/nginx/nginx.conf" <<EOF
daemon off;
master_process off;
worker_processes 1;
worker_rlimit_nofile 20000;
pid $T/nginx/nginx.pid;
error_log $T/nginx/logs/error.log warn;
# a proxied stream takes two connections (client and upstream): 16,384 stopped at 8,189 streams
events { worker_connections $((STREAMS * 2 + 512)); }
http {
    access_log off;
    client_body_temp_path $T/nginx/tmp/body;
    proxy_temp_path $T/nginx/tmp/proxy;
    fastcgi_temp_path $T/nginx/tmp/fastcgi;
    uwsgi_temp_path $T/nginx/tmp/uwsgi;
    scgi_temp_path $T/nginx/tmp/scgi;
    upstream mock { server 127.0.0.1:$MP; keepalive 512; }
    server {
        listen 127.0.0.1:$NP backlog=4096;
        client_max_body_size 16m;
        client_body_buffer_size 1m;
        keepalive_requests 1000000;
        location / {
            proxy_pass http://mock;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_buffering off;
            proxy_read_timeout 300s;
        }
    }
    upstream canned { server 127.0.0.1:$CP; keepalive 512; }
    server {
        listen 127.0.0.1:$NPC backlog=4096;
        client_max_body_size 16m;
        client_body_buffer_size 2m;
        keepalive_requests 1000000;
        location / {
            proxy_pass http://canned;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_buffering off;
            proxy_read_timeout 300s;
        }
    }
}
EOF
nginx -p "$T/nginx" -c "$T/nginx/nginx.conf" -e "$T/nginx/logs/error.log" &
NG_PID=$!
PIDS+=("$NG_PID")

# ---- Portkey (peer), headless, loopback custom hosts only ----
PKP=$(free_port)
if want mock; then
    node "$PORTKEY_JS" --headless --port="$PKP" >"$T/portkey.log" 2>&1 &
    PK_PID=$!
    PIDS+=("$PK_PID")
else
    PK_PID=-
fi
for _ in $(seq 1 100); do
    curl -sf "http://127.0.0.1:$NP/__mock/config" >/dev/null 2>&1 &&
        { [ "$PK_PID" = - ] || curl -s -o /dev/null "http://127.0.0.1:$PKP/" 2>/dev/null; } && break
    sleep 0.1
done
log "nginx on 127.0.0.1:$NP (pid $NG_PID), Portkey on 127.0.0.1:$PKP (pid $PK_PID)"
PK_HDRS="x-portkey-provider: google|x-portkey-custom-host: $MOCK|Authorization: Bearer bench-key"

# ---- request bodies ----
mkdir -p "$T/bodies"
node "$ROOT/bench/bodies.js" "$T/bodies"

# upstream_body SCENARIO CLIENT_PATH CLIENT_BODY: sends the client request through aigate once
# and saves the Cloud Code request aigate made (body, path, bearer) so the floor and nginx send
# exactly that. Prints the HTTP status aigate answered.
upstream_body() {
    local sc=$1 path=$2 body=$3 code
    curl -sf -X DELETE "$MOCK/__mock/requests" >/dev/null
    code=$(curl -s -o "$T/$sc.first" -w '%{http_code}' -H 'content-type: application/json' \
        -H 'anthropic-version: 2023-06-01' --data-binary "@$body" "http://127.0.0.1:$AP$path")
    if [ "$code" = 200 ]; then
        curl -sf "$MOCK/__mock/requests?path=GenerateContent" | node -e '
            const r = JSON.parse(require("fs").readFileSync(0, "utf8")).pop();
            const fs = require("fs"), d = process.argv[1];
            fs.writeFileSync(d + ".body", r.body);
            fs.writeFileSync(d + ".path", r.target);
            fs.writeFileSync(d + ".auth", r.headers.authorization || "");' "$T/$sc.up"
    fi
    echo "$code"
}

# ---- measurement ----
# Every measurement appends one JSON line to $T/results.jsonl.
emit() { echo "$1" >>"$T/results.jsonl"; }

# measure_wrk SCENARIO LANE CONNS URL PATH BODY HEADERS GW_PID [DUR]
measure_wrk() {
    local sc=$1 lane=$2 c=$3 url=$4 path=$5 body=$6 hdrs=$7 pid=$8 dur=${9:-$DUR}
    local out=$T/wrk-$sc-$lane-$c.json g0=0 g1=0 m0 m1 rss0=0 hwm=0
    # warm-up: connection pools, JIT (Portkey), page cache
    BENCH_BODY=$body BENCH_PATH=$path BENCH_HEADERS=$hdrs BENCH_OUT=$T/warm.json \
        wrk -t1 -c"$c" -d"${WARM}s" -s "$ROOT/bench/wrk.lua" "$url" >/dev/null 2>&1 || true
    if [ "$pid" != - ]; then
        reset_hwm "$pid"
        rss0=$(status_kb "$pid" VmRSS)
        g0=$(cpu_ticks "$pid")
    fi
    m0=$(cpu_ticks "${UP_PID:-$MOCK_PID}")
    BENCH_BODY=$body BENCH_PATH=$path BENCH_HEADERS=$hdrs BENCH_OUT=$out \
        wrk -t1 -c"$c" -d"${dur}s" --timeout 10s -s "$ROOT/bench/wrk.lua" "$url" \
        >"$T/wrk-$sc-$lane-$c.txt" 2>&1 || true
    m1=$(cpu_ticks "${UP_PID:-$MOCK_PID}")
    if [ "$pid" != - ]; then
        g1=$(cpu_ticks "$pid")
        hwm=$(status_kb "$pid" VmHWM)
    fi
    [ -s "$out" ] || echo '{"requests":0,"duration_us":1,"errors":{},"lat_us":{}}' >"$out"
    emit "{\"scenario\":\"$sc\",\"lane\":\"$lane\",\"conns\":$c,\"tool\":\"wrk\",\"wrk\":$(cat "$out"),\"gw_cpu_s\":$(secs $((g1 - g0))),\"mock_cpu_s\":$(secs $((m1 - m0))),\"tck\":$TCK,\"gw_rss_before_kb\":$rss0,\"gw_hwm_kb\":$hwm}"
    log "  $sc/$lane c=$c: $(node -e 'const r=JSON.parse(process.argv[1]);console.log(`${(r.requests/(r.duration_us/1e6)).toFixed(0)} req/s p50 ${r.lat_us.p50} µs p99 ${r.lat_us.p99} µs errors ${JSON.stringify(r.errors)}`)' "$(cat "$out")")"
}

# run_lanes SCENARIO CLIENT_PATH CLIENT_BODY [WHY_NO_PEER]: floor, nginx and aigate at 1 and 50
# connections; Portkey too unless a reason why it cannot do this work is given.
run_lanes() {
    local sc=$1 path=$2 body=$3 nopeer=${4:-} up c
    up=$T/$sc.up
    # Events per answer as the upstream sends them (what a gateway relays).
    emit "{\"scenario\":\"$sc\",\"upstream_events\":$(curl -s -H "Authorization: $(cat "$up.auth")" \
        -H 'content-type: application/json' --data-binary "@$up.body" "$MOCK$(cat "$up.path")" |
        grep -c '^data:' || true)}"
    [ -n "$nopeer" ] && emit "{\"scenario\":\"$sc\",\"peer_note\":\"$nopeer\"}"
    for c in 1 50; do
        measure_wrk "$sc" floor "$c" "$MOCK" "$(cat "$up.path")" "$up.body" \
            "Authorization: $(cat "$up.auth")" -
        measure_wrk "$sc" nginx "$c" "http://127.0.0.1:$NP" "$(cat "$up.path")" "$up.body" \
            "Authorization: $(cat "$up.auth")" "$NG_PID"
        measure_wrk "$sc" aigate "$c" "http://127.0.0.1:$AP" "$path" "$body" \
            "anthropic-version: 2023-06-01" "$AG_PID"
        if [ -z "$nopeer" ]; then
            measure_wrk "$sc" portkey "$c" "http://127.0.0.1:$PKP" /v1/chat/completions "$body" \
                "$PK_HDRS" "$PK_PID"
        fi
    done
}

# Why Portkey sits out the streaming scenarios (checked by hand against this mock, Node 20):
# its google lane reads streamGenerateContent as Google's JSON-array stream and fails on the
# mock's SSE framing (200 with an empty event stream, "Error during stream processing"); its
# anthropic lane fails with "TypeError: immutable" on streamed answers. Timing a gateway that
# relays nothing would flatter it.
PK_NOSTREAM="Portkey 1.15.2 cannot relay these streams against the mock (google lane expects JSON-array stream framing; anthropic lane fails with TypeError: immutable)"

skip() { emit "{\"scenario\":\"$1\",\"skipped\":true,\"note\":\"$2\"}"; log "  $1 skipped: $2"; }

# ---- scenarios ----
# Against the mock upstream: floor, nginx, aigate and Portkey.
if want mock; then
    log "scenario chat-1k5: OpenAI chat, non-stream, 1.5 KB request -> Cloud Code"
    mockctl POST reset
    code=$(upstream_body chat-1k5 /v1/chat/completions "$T/bodies/chat-1k5.json")
    if [ "$code" = 200 ]; then run_lanes chat-1k5 /v1/chat/completions "$T/bodies/chat-1k5.json"
    else skip chat-1k5 "aigate answered $code on /v1/chat/completions"; fi

    log "scenario openai-stream: OpenAI chat, streaming, 50 events per answer -> Cloud Code"
    mockctl POST config '{"sse_events":50,"sse_delay_ms":0}'
    code=$(upstream_body openai-stream /v1/chat/completions "$T/bodies/chat-stream.json")
    if [ "$code" = 200 ]; then run_lanes openai-stream /v1/chat/completions "$T/bodies/chat-stream.json" "$PK_NOSTREAM"
    else skip openai-stream "aigate answered $code on /v1/chat/completions"; fi

    log "scenario anthropic-stream: Anthropic messages, streaming, 50 events per answer -> Cloud Code"
    code=$(upstream_body anthropic-stream /v1/messages "$T/bodies/anthropic-stream.json")
    if [ "$code" = 200 ]; then
        # Portkey has no Anthropic-in -> Google-out lane (its /v1/messages needs an Anthropic-shaped
        # provider), so the peer sits this one out.
        run_lanes anthropic-stream /v1/messages "$T/bodies/anthropic-stream.json" \
            "Portkey has no Anthropic-in to Google-out lane; $PK_NOSTREAM"
    elif [ "$code" = 404 ]; then
        skip anthropic-stream "aigate answers 404 on /v1/messages (endpoint not there yet); picked up automatically once it exists"
    else
        skip anthropic-stream "aigate answered $code on /v1/messages"
    fi
    mockctl POST reset

    log "scenario conv-200k: OpenAI chat, non-stream, 200 KB conversation -> Cloud Code"
    code=$(upstream_body conv-200k /v1/chat/completions "$T/bodies/conv-200k.json")
    if [ "$code" = 200 ]; then run_lanes conv-200k /v1/chat/completions "$T/bodies/conv-200k.json"
    else skip conv-200k "aigate answered $code on /v1/chat/completions"; fi

    log "scenario storm-429: 429 on every call of one account of three, aigate rotates"
    # The floor is the same 1.5 KB request straight to a healthy account, as in chat-1k5.
    mockctl POST faults '{"status":429,"token":"at-b@bench.local","permanent":true,"retry_delay":"0.2s","reason":"RATE_LIMIT_EXCEEDED"}'
    for c in 1 50; do
        measure_wrk storm-429 floor "$c" "$MOCK" "$(cat "$T/chat-1k5.up.path")" "$T/chat-1k5.up.body" \
            "Authorization: $(cat "$T/chat-1k5.up.auth")" - "$STORM_DUR"
        measure_wrk storm-429 aigate "$c" "http://127.0.0.1:$AP" /v1/chat/completions \
            "$T/bodies/chat-1k5.json" "" "$AG_PID" "$STORM_DUR"
    done
    emit "{\"scenario\":\"storm-429\",\"peer_note\":\"nginx and Portkey have no account pool to rotate through: floor and aigate only\"}"
    STORM_HITS=$(curl -sf "$MOCK/__mock/faults" | node -e 'let s=0;for(const f of JSON.parse(require("fs").readFileSync(0,"utf8")))s+=f.hits;console.log(s)')
    emit "{\"scenario\":\"storm-429\",\"upstream_429s\":$STORM_HITS}"
    log "  upstream answered $STORM_HITS 429s"
    mockctl POST reset
fi

# ---- scenarios against the canned upstream ----
# canned_lanes SCENARIO UPSTREAM_OF CLIENT_BODY CONNS...: the canned upstream straight (floor),
# nginx in front of it, and aigate in front of it, alternating, at each connection count. The
# floor and nginx send the Cloud Code request aigate made for UPSTREAM_OF (captured from the mock).
canned_lanes() {
    local sc=$1 up=$T/$2.up body=$3 c
    shift 3
    emit "{\"scenario\":\"$sc\",\"upstream_events\":$(grep -c '^data:' "$T/canned/www/answers/stream.sse" || true),\"request_bytes\":$(stat -c %s "$body"),\"upstream\":\"canned\"}"
    for c in "$@"; do
        UP_PID=$CN_PID measure_wrk "$sc" floor "$c" "$CANNED" "$(cat "$up.path")" "$up.body" \
            "Authorization: $(cat "$up.auth")" -
        UP_PID=$CN_PID measure_wrk "$sc" nginx "$c" "http://127.0.0.1:$NPC" "$(cat "$up.path")" \
            "$up.body" "Authorization: $(cat "$up.auth")" "$NG_PID"
        UP_PID=$CN_PID measure_wrk "$sc" aigate "$c" "http://127.0.0.1:$CAP" /v1/chat/completions \
            "$body" "" "$CAG_PID"
    done
}

# The canned answers: the mock's own answers (16 events streamed; the same as one JSON) to the
# chat-1k5 request as aigate sends it. Every canned scenario's last user turn is that request's,
# so the answer fits all of them.
canned_setup() {
    local auth path
    mockctl POST reset
    for sc in chat-1k5 conv-200k conv-1m; do
        [ "$(upstream_body "$sc" /v1/chat/completions "$T/bodies/$sc.json")" = 200 ] || return 1
    done
    auth=$(cat "$T/chat-1k5.up.auth") path=$(cat "$T/chat-1k5.up.path")
    curl -sf -H "Authorization: $auth" -H 'content-type: application/json' \
        --data-binary "@$T/chat-1k5.up.body" "$MOCK$path" >"$T/canned/www/answers/stream.sse" &&
        curl -sf -H "Authorization: $auth" -H 'content-type: application/json' \
            --data-binary "@$T/chat-1k5.up.body" "$MOCK${path%%:*}:generateContent" \
            >"$T/canned/www/answers/answer.json" &&
        [ "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: $auth" \
            --data-binary "@$T/conv-200k.up.body" "$CANNED$path")" = 200 ]
}
CANNED_OK=0
if want canned || want callgrind; then
    if canned_setup; then CANNED_OK=1; else log "canned upstream: capturing the answers failed"; fi
fi

if want canned && [ "$CANNED_OK" = 1 ]; then
    log "scenarios against the canned upstream (nginx answering from files, pid $CN_PID)"
    # aigate in front of the canned upstream, freshly started: its own data dir and account.
    CGWD=$T/aigate-canned
    mkdir -p "$CGWD"
    add_account "$CGWD" rt-mock mock@example.com
    start_aigate "$CGWD" "$CANNED/v1internal"
    CAG_PID=$GW_PID CAP=$GP
    log "aigate (canned upstream) on 127.0.0.1:$CAP (pid $CAG_PID)"
    # Large conversations on a fresh gateway, small requests (1 and 50 connections) and a burst of
    # them, then the large conversations again: the cost of a large request must not depend on
    # what ran before.
    canned_lanes canned-conv-200k-fresh conv-200k "$T/bodies/conv-200k.json" 20
    canned_lanes canned-conv-1m-fresh conv-1m "$T/bodies/conv-1m.json" 20
    canned_lanes canned-chat-1k5 chat-1k5 "$T/bodies/chat-1k5.json" 1 50
    log "  burst: ${BURST_S} s of chat-1k5 at 50 connections"
    UP_PID=$CN_PID measure_wrk canned-burst aigate 50 "http://127.0.0.1:$CAP" /v1/chat/completions \
        "$T/bodies/chat-1k5.json" "" "$CAG_PID" "$BURST_S"
    canned_lanes canned-conv-200k-after-burst conv-200k "$T/bodies/conv-200k.json" 20
    canned_lanes canned-conv-1m-after-burst conv-1m "$T/bodies/conv-1m.json" 20
    emit "{\"scenario\":\"canned-idle\",\"after_load_rss_kb\":$(status_kb "$CAG_PID" VmRSS)}"
    stop_pid "$CAG_PID"
fi

# ---- instruction counts (callgrind) ----
# aigate under valgrind --tool=callgrind in front of the canned upstream; per scenario, counters
# are zeroed after a warm-up, a bounded number of requests goes over one keep-alive connection
# (curl), and the dump's total (all threads) divided by the requests is recorded. Repeatable on a
# noisy machine, unlike the wall-clock rows; user-space instructions only (no kernel, no faults).
cg_run() { # SCENARIO CLIENT_BODY N
    local sc=$1 body=$2 n=$3 urls=() i f ir ok
    for ((i = 0; i < n; i++)); do urls+=("http://127.0.0.1:$CGP/v1/chat/completions"); done
    curl -s -o /dev/null -H 'content-type: application/json' --data-binary "@$body" \
        "${urls[@]:0:3}" >/dev/null || true
    timeout 60 callgrind_control -z "$CG_PID" >/dev/null 2>&1 || true
    curl -s -H 'content-type: application/json' --data-binary "@$body" -w '%{stderr}%{http_code}\n' \
        "${urls[@]}" >/dev/null 2>"$T/cg/codes"
    timeout 60 callgrind_control -d "$CG_PID" >/dev/null 2>&1 || true
    ok=$(grep -c '^200$' "$T/cg/codes" || true)
    f=$(ls -t "$T"/cg/cg.out.* 2>/dev/null | head -1)
    ir=$(awk '/^(summary|totals):/{print $2; exit}' "$f" 2>/dev/null)
    emit "{\"scenario\":\"callgrind\",\"case\":\"$sc\",\"requests\":$n,\"ok\":$ok,\"instructions\":${ir:-0},\"request_bytes\":$(stat -c %s "$body")}"
    log "  callgrind $sc: $ok/$n ok, $(awk -v a="${ir:-0}" -v n="$n" 'BEGIN{printf "%.0f", a/n}') instructions per request"
}
if want callgrind && [ "$CANNED_OK" = 1 ]; then
    log "instruction counts (callgrind, canned upstream)"
    mkdir -p "$T/cg"
    CGD=$T/aigate-cg
    mkdir -p "$CGD"
    add_account "$CGD" rt-mock mock@example.com
    CGP=$(free_port)
    AIGATE_CLOUDCODE_ENDPOINTS=$CANNED/v1internal AIGATE_DATA_DIR=$CGD \
        valgrind --tool=callgrind --compress-strings=no --compress-pos=no \
        --callgrind-out-file="$T/cg/cg.out" "$BB/aigate" --port "$CGP" \
        --set scheduling.sticky_ttl_s=0 >>"$T/aigate-cg.log" 2>&1 &
    CG_PID=$!
    PIDS+=("$CG_PID")
    if "$BB/sseload" --probe --port "$CGP" --timeout 120 >/dev/null; then
        cg_run chat-1k5 "$T/bodies/chat-1k5.json" "$CG_SMALL"
        cg_run chat-stream "$T/bodies/chat-stream.json" "$CG_SMALL"
        cg_run conv-200k-fresh "$T/bodies/conv-200k.json" "$CG_LARGE"
        cg_run conv-1m-fresh "$T/bodies/conv-1m.json" "$CG_LARGE"
        cg_run burst-chat-1k5 "$T/bodies/chat-1k5.json" "$CG_BURST"
        cg_run conv-200k-after-burst "$T/bodies/conv-200k.json" "$CG_LARGE"
        cg_run conv-1m-after-burst "$T/bodies/conv-1m.json" "$CG_LARGE"
    else
        log "aigate under callgrind did not answer /healthz"
    fi
    stop_pid "$CG_PID"
fi

IDLE_AFTER_KB=0
# ---- concurrent slow streams ----
if want streams; then
    log "scenario streams-${STREAMS}: $STREAMS concurrent slow streams ($SLOW_EVENTS events, ${SLOW_DELAY_MS} ms apart)"
    if [ ! -f "$T/openai-stream.up.body" ]; then
        mockctl POST reset
        upstream_body openai-stream /v1/chat/completions "$T/bodies/chat-stream.json" >/dev/null
    fi
    [ -z "$STREAMS_NOTE" ] || emit "{\"scenario\":\"streams\",\"note\":\"$STREAMS_NOTE\"}"
    mockctl POST config "{\"sse_events\":$SLOW_EVENTS,\"sse_delay_ms\":$SLOW_DELAY_MS}"
    rawreq() { # HOST_PATH BODY_FILE EXTRA_HEADER_LINES OUT
        local len
        len=$(stat -c %s "$2")
        { printf 'POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: %s\r\n' "$1" "$len"
          printf '%s' "$3"
          printf '\r\n'
          cat "$2"; } >"$4"
    }
    rawreq "$(cat "$T/openai-stream.up.path")" "$T/openai-stream.up.body" \
        "Authorization: $(cat "$T/openai-stream.up.auth")"$'\r\n' "$T/req-up.http"
    rawreq /v1/chat/completions "$T/bodies/chat-stream.json" "" "$T/req-aigate.http"
    SLOW_TIMEOUT=$(( (SLOW_EVENTS * SLOW_DELAY_MS) / 1000 + STREAMS / 1000 + 40 ))
    measure_streams() { # LANE PORT REQFILE PID
        local lane=$1 port=$2 req=$3 pid=$4 g0=0 g1=0 m0 m1 rss0=0 hwm=0 out
        if [ "$pid" != - ]; then reset_hwm "$pid"; rss0=$(status_kb "$pid" VmRSS); g0=$(cpu_ticks "$pid"); fi
        m0=$(cpu_ticks "$MOCK_PID")
        out=$("$BB/sseload" --port "$port" --request "$req" --conns "$STREAMS" --rate 2500 \
            --timeout "$SLOW_TIMEOUT" 2>>"$T/sseload.err" || echo '{"ok":0}')
        m1=$(cpu_ticks "$MOCK_PID")
        if [ "$pid" != - ]; then g1=$(cpu_ticks "$pid"); hwm=$(status_kb "$pid" VmHWM); fi
        emit "{\"scenario\":\"streams\",\"lane\":\"$lane\",\"conns\":$STREAMS,\"tool\":\"sseload\",\"sse\":$out,\"gw_cpu_s\":$(secs $((g1 - g0))),\"mock_cpu_s\":$(secs $((m1 - m0))),\"gw_rss_before_kb\":$rss0,\"gw_hwm_kb\":$hwm}"
        log "  streams/$lane: $out"
        sleep 1 # let sockets in TIME_WAIT / closing settle between lanes
    }
    # aigate starts afresh for this scenario, so its peak RSS is the streams' own, not what earlier
    # scenarios left in malloc's free lists (recorded here as after_load_rss_kb).
    IDLE_AFTER_KB=$(status_kb "$AG_PID" VmRSS)
    stop_pid "$AG_PID"
    start_aigate "$GWD"
    AG_PID=$GW_PID AP=$GP
    sleep 1
    measure_streams floor "$MP" "$T/req-up.http" -
    measure_streams nginx "$NP" "$T/req-up.http" "$NG_PID"
    measure_streams aigate "$AP" "$T/req-aigate.http" "$AG_PID"
    emit "{\"scenario\":\"streams\",\"peer_note\":\"$PK_NOSTREAM\"}"
    mockctl POST reset
    stop_pid "$AG_PID"
fi

# ---- startup with 1,000 accounts ----
if want startup; then
    log "startup with 1,000 accounts"
    stop_pid "$AG_PID" # the copy below is of a database nobody has open
    G1K=$T/aigate-1k
    cp -r "$GWD" "$G1K"
    rm -f "$G1K"/aigate.db-wal "$G1K"/aigate.db-shm
    sqlite3 "$G1K/aigate.db" "insert into accounts(id,email,name,refresh_token,access_token,token_expiry,
        project_id,tier,quota_json,quota_updated_at,created_at,last_used_at,sort_order)
        with recursive n(i) as (select 1 union all select i+1 from n where i<997)
        select 'bench-'||i, 'u'||i||'@bench.local', name, refresh_token, access_token, token_expiry,
          project_id, tier, quota_json, quota_updated_at, created_at, 0, 10+i
        from accounts, n where email='mock@example.com'"
    NACC=$(sqlite3 "$G1K/aigate.db" 'select count(*) from accounts')
    STARTUPS=()
    for _ in $(seq 1 "$STARTUP_RUNS"); do
        start_aigate "$G1K"
        STARTUPS+=("$STARTUP_MS")
        sleep 1
        IDLE_1K_KB=$(status_kb "$GW_PID" VmRSS)
        stop_pid "$GW_PID"
    done
    log "  startups (ms): ${STARTUPS[*]} with $NACC accounts; idle RSS with them $IDLE_1K_KB kB"
    emit "{\"scenario\":\"startup\",\"accounts\":$NACC,\"startup_ms\":[$(IFS=,; echo "${STARTUPS[*]}")],\"idle_rss_kb\":$IDLE_1K_KB}"
fi
emit "{\"scenario\":\"idle\",\"idle_rss_kb\":$IDLE_RSS_KB,\"after_load_rss_kb\":$IDLE_AFTER_KB,\"startup_ms\":$FIRST_STARTUP_MS}"


# ---- report ----
mkdir -p "$RESULTS"
COMMIT=$(git -C "$ROOT" rev-parse HEAD)
DIRTY=$(git -C "$ROOT" status --porcelain --untracked-files=no -- src tests CMakeLists.txt | awk '{print $2}' | paste -sd, -)
node "$ROOT/bench/report.js" "$T/results.jsonl" "$RESULTS" "$COMMIT" "$DIRTY" "$QUICK" \
    "$(nginx -v 2>&1 | sed 's/.*: //')" "$(wrk -v 2>&1 | head -1 | awk '{print $2}')"
