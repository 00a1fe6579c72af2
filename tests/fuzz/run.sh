#!/bin/sh
# tests/fuzz/run.sh BINARY NAME SECONDS WORKDIR [keep]: runs one libFuzzer harness for SECONDS on
# the corpus WORKDIR/corpus/NAME, made afresh from the seeds (seeds.sh) unless "keep" is given (a
# campaign: a persistent corpus, to which the seeds are added, and libFuzzer's fork mode, which
# goes on after a finding). Crash, leak, timeout and out-of-memory inputs go to
# WORKDIR/artifacts/NAME-*; the exit status is libFuzzer's (0 = nothing found).
# Nothing is written into the source tree. Knobs: AIGATE_FUZZ_TIMEOUT (s per input, default 10),
# AIGATE_FUZZ_RSS_MB (default 2048), AIGATE_FUZZ_MAX_LEN (bytes per input, default per harness).
set -eu
bin=$1
name=$2
secs=$3
work=$4
keep=${5:-}
here=$(cd "$(dirname "$0")" && pwd)
corpus=$work/corpus/$name
art=$work/artifacts
[ "$keep" = keep ] || rm -rf "$corpus"
mkdir -p "$corpus" "$art"
sh "$here/seeds.sh" "$name" "$corpus"
case $name in
sse) len=8192 ;;
*) len=32768 ;;
esac
set -- -max_total_time="$secs" -timeout="${AIGATE_FUZZ_TIMEOUT:-10}" \
    -rss_limit_mb="${AIGATE_FUZZ_RSS_MB:-2048}" -max_len="${AIGATE_FUZZ_MAX_LEN:-$len}" \
    -artifact_prefix="$art/$name-" -print_final_stats=1
case $name in
http | sse | h1) dict=$here/dict/$name.dict ;;
multipart) dict= ;;
*) dict=$here/dict/json.dict ;;
esac
[ -z "$dict" ] || set -- "$@" -dict="$dict"
# A campaign goes on past what it finds (one child process at a time), keeping every finding.
[ "$keep" != keep ] || set -- "$@" -fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
echo "run.sh: $name for ${secs}s, corpus $corpus ($(ls "$corpus" | wc -l) inputs)"
exec "$bin" "$@" "$corpus"
