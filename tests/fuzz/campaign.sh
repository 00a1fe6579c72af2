#!/bin/sh
# tests/fuzz/campaign.sh BINDIR SECONDS WORKDIR [NAME...]: the longer fuzzing run (`make
# fuzz-campaign`). Runs each harness BINDIR/fuzz_NAME (all of them by default) for SECONDS, one
# after the other at the lowest CPU priority, on the persistent corpus WORKDIR/corpus/NAME (seeded
# on every run, never emptied); logs go to WORKDIR/logs/NAME.log, crash inputs to
# WORKDIR/artifacts/. Ends with one line per harness: executions, exec/s, coverage, corpus size
# and what went wrong; the exit status is 1 when any harness found something.
set -u
bin=$1
secs=$2
work=$3
shift 3
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$work/logs"
if [ $# -eq 0 ]; then
    for f in "$bin"/fuzz_*; do
        [ -x "$f" ] && set -- "$@" "${f##*/fuzz_}"
    done
fi
status=0
summary=""
for name in "$@"; do
    log=$work/logs/$name.log
    echo "campaign: $name for ${secs}s (log $log)"
    nice -n 19 sh "$here/run.sh" "$bin/fuzz_$name" "$name" "$secs" "$work" keep >"$log" 2>&1
    rc=$?
    [ $rc -eq 0 ] || status=1
    done_line=$(grep -E '^#[0-9]+.*(DONE|INITED)' "$log" | tail -n 1)
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
    cov=$(echo "$done_line" | sed -n 's/.*cov: \([0-9]*\) ft: \([0-9]*\).*/cov \1 ft \2/p')
    corp=$(ls "$work/corpus/$name" | wc -l | tr -d ' ')
    what=ok
    if [ $rc -ne 0 ]; then
        what=$(grep -m 1 -E '^(==[0-9]+==ERROR|SUMMARY|.*runtime error|fuzz_[a-z]+:)' "$log" || echo "exit $rc")
    fi
    line="$name: ${execs:-?} execs, ${rate:-?} exec/s, ${cov:-?}, corpus $corp files: $what"
    echo "campaign: $line"
    summary="$summary$line
"
done
printf '\ncampaign summary (%ss per harness):\n%s' "$secs" "$summary"
exit $status
