#!/bin/sh
# tests/fuzz/campaign.sh BINDIR SECONDS WORKDIR [NAME...]: the longer fuzzing run (`make
# fuzz-campaign`). Runs each harness BINDIR/fuzz_NAME (all of them by default) for SECONDS, one
# after the other at the lowest CPU priority, in libFuzzer's fork mode (one child at a time; it
# goes on after a finding) on the persistent corpus WORKDIR/corpus/NAME (seeded on every run,
# never emptied). Logs go to WORKDIR/logs/NAME.log, findings to WORKDIR/artifacts/NAME-*. Ends
# with one line per harness: executions, exec/s, coverage, corpus size, CPU seconds and findings;
# the exit status is 1 when any harness found something.
set -u
bin=$1
secs=$2
work=$3
shift 3
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$work/logs" "$work/artifacts"
if [ $# -eq 0 ]; then
    for f in "$bin"/fuzz_*; do
        [ -x "$f" ] && set -- "$@" "${f##*/fuzz_}"
    done
fi
status=0
summary=""
for name in "$@"; do
    log=$work/logs/$name.log
    before=$(ls "$work/artifacts" | grep -c "^$name-" || true)
    echo "campaign: $name for ${secs}s (log $log)"
    start=$(date +%s)
    rm -f "$log.cpu"
    if [ -x /usr/bin/time ]; then
        # user + system seconds of the harness and the children it waited for
        /usr/bin/time -f '%U %S' -o "$log.cpu" nice -n 19 sh "$here/run.sh" "$bin/fuzz_$name" \
            "$name" "$secs" "$work" keep >"$log" 2>&1
    else
        nice -n 19 sh "$here/run.sh" "$bin/fuzz_$name" "$name" "$secs" "$work" keep >"$log" 2>&1
    fi
    end=$(date +%s)
    cpu=$(awk '{ printf "%d", $1 + $2 }' "$log.cpu" 2>/dev/null || echo "?")
    # fork mode's status lines: "#EXECS: cov: C ft: F corp: N exec/s R oom/timeout/crash: a/b/c ..."
    last=$(grep -E '^#[0-9]+: cov:' "$log" | tail -n 1)
    execs=$(echo "$last" | sed -n 's/^#\([0-9]*\):.*/\1/p')
    cov=$(echo "$last" | sed -n 's/.* cov: \([0-9]*\) ft: \([0-9]*\) .*/cov \1 ft \2/p')
    otc=$(echo "$last" | sed -n 's/.*oom\/timeout\/crash: \([0-9\/]*\).*/\1/p')
    el=$((end - start))
    ft=$(echo "$last" | sed -n 's/.* time: \([0-9]*\)s.*/\1/p')
    rate=$([ -n "$ft" ] && [ "$ft" -gt 0 ] && [ -n "$execs" ] && echo $((execs / ft)) || echo "?")
    corp=$(ls "$work/corpus/$name" | wc -l | tr -d ' ')
    after=$(ls "$work/artifacts" | grep -c "^$name-" || true)
    found=$((after - before))
    [ "$found" -eq 0 ] || status=1
    line="$name: ${execs:-?} execs in ${ft:-?}s of fuzzing (${rate} exec/s; ${el}s wall, ${cpu}s CPU), ${cov:-?}, corpus $corp files, $found new finding(s)"
    echo "campaign: $line"
    summary="$summary$line
"
done
printf '\ncampaign summary (%ss per harness, findings in %s/artifacts):\n%s' "$secs" "$work" "$summary"
exit $status
