/* tests/fuzz/fuzz_trace.c: libFuzzer harness for W3C trace context (core/trace.h): the input is a
 * traceparent value, a newline, and a tracestate value.
 *
 * Invariants: a traceparent that parses has nonzero ids and, written back with ag_trace_format,
 * parses to the same ids and flags; a version-00 value written back is the input (without its
 * surrounding whitespace); ag_trace_begin always yields nonzero trace and span ids, a parent only
 * from a valid traceparent, flags limited to the sampled bit, and a tracestate only of printable
 * ASCII within AG_TRACESTATE_MAX. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/trace.h"

static int zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (p[i])
            return 0;
    }
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    const char *nl = memchr(s, '\n', size);
    struct ag_str tp = {s, nl ? (size_t)(nl - s) : size};
    struct ag_str ts = nl ? (struct ag_str){nl + 1, size - tp.len - 1} : (struct ag_str){NULL, 0};
    uint8_t tid[AG_TRACE_ID_SIZE], pid[AG_SPAN_ID_SIZE], flags = 0;
    int ok = ag_trace_parse(tp, tid, pid, &flags) == 0;
    if (ok) {
        if (zero(tid, sizeof(tid)) || zero(pid, sizeof(pid)))
            abort();
        char out[AG_TRACEPARENT_SIZE];
        uint8_t tid2[AG_TRACE_ID_SIZE], pid2[AG_SPAN_ID_SIZE], flags2 = 0;
        ag_trace_format(out, tid, pid, flags);
        if (ag_trace_parse((struct ag_str){out, strlen(out)}, tid2, pid2, &flags2) != 0 ||
            memcmp(tid, tid2, sizeof(tid)) != 0 || memcmp(pid, pid2, sizeof(pid)) != 0 ||
            flags != flags2)
            abort();
        const char *t = tp.p;
        size_t n = tp.len;
        while (n && (*t == ' ' || *t == '\t')) {
            t++;
            n--;
        }
        while (n && (t[n - 1] == ' ' || t[n - 1] == '\t'))
            n--;
        if (n >= 2 && t[0] == '0' && t[1] == '0' && (n != strlen(out) || memcmp(t, out, n) != 0))
            abort();
    }
    struct ag_trace tr;
    ag_trace_begin(&tr, tp, ts);
    if (zero(tr.trace_id, sizeof(tr.trace_id)) || zero(tr.span_id, sizeof(tr.span_id)))
        abort();
    if (tr.remote_parent != ok || (tr.flags & ~AG_TRACE_SAMPLED) != 0)
        abort();
    if (!tr.remote_parent && !zero(tr.parent_id, sizeof(tr.parent_id)))
        abort();
    size_t sl = strlen(tr.tracestate);
    if (sl > AG_TRACESTATE_MAX || (sl && !ok))
        abort();
    for (size_t i = 0; i < sl; i++) {
        if (tr.tracestate[i] < 0x20 || tr.tracestate[i] > 0x7e)
            abort();
    }
    return 0;
}
