/* core/trace.c: W3C Trace Context ids (see trace.h). */
#include "core/trace.h"

#include "core/err.h"
#include "core/hex.h"
#include "core/rand.h"

#include <string.h>

/* The version-00 layout: 2 + 1 + 32 + 1 + 16 + 1 + 2. */
#define TRACEPARENT_LEN 55

/* Reads n bytes of lowercase hex at s into out; false on any other character. */
static bool lower_hex(const char *s, uint8_t *out, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char hi = s[2 * i], lo = s[2 * i + 1];
        if (ag_hex_value(hi) < 0 || ag_hex_value(lo) < 0 || (hi >= 'A' && hi <= 'F') ||
            (lo >= 'A' && lo <= 'F'))
            return false;
        out[i] = (uint8_t)(ag_hex_value(hi) << 4 | ag_hex_value(lo));
    }
    return true;
}

static bool all_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (p[i])
            return false;
    }
    return true;
}

int ag_trace_parse(struct ag_str v, uint8_t trace_id[AG_TRACE_ID_SIZE],
                   uint8_t parent_id[AG_SPAN_ID_SIZE], uint8_t *flags)
{
    uint8_t ver, tid[AG_TRACE_ID_SIZE], pid[AG_SPAN_ID_SIZE], fl;
    /* Surrounding spaces and tabs are optional whitespace of the header field. */
    while (v.len && (v.p[0] == ' ' || v.p[0] == '\t')) {
        v.p++;
        v.len--;
    }
    while (v.len && (v.p[v.len - 1] == ' ' || v.p[v.len - 1] == '\t'))
        v.len--;
    if (!v.p || v.len < TRACEPARENT_LEN || !lower_hex(v.p, &ver, 1) || ver == 0xff)
        return AG_EINVAL;
    /* Version 00 has exactly this length; a later version may append fields after a '-'. */
    if (ver == 0 ? v.len != TRACEPARENT_LEN
                 : v.len > TRACEPARENT_LEN && v.p[TRACEPARENT_LEN] != '-')
        return AG_EINVAL;
    if (v.p[2] != '-' || v.p[35] != '-' || v.p[52] != '-')
        return AG_EINVAL;
    if (!lower_hex(v.p + 3, tid, sizeof(tid)) || !lower_hex(v.p + 36, pid, sizeof(pid)) ||
        !lower_hex(v.p + 53, &fl, 1))
        return AG_EINVAL;
    if (all_zero(tid, sizeof(tid)) || all_zero(pid, sizeof(pid)))
        return AG_EINVAL;
    memcpy(trace_id, tid, sizeof(tid));
    memcpy(parent_id, pid, sizeof(pid));
    *flags = fl;
    return 0;
}

/* A tracestate is passed on as the client sent it, or not at all: printable ASCII (the list's
 * grammar allows no other byte) and within the W3C length. */
static bool state_ok(struct ag_str s)
{
    if (!s.p || !s.len || s.len > AG_TRACESTATE_MAX)
        return false;
    for (size_t i = 0; i < s.len; i++) {
        if (s.p[i] < 0x20 || s.p[i] > 0x7e)
            return false;
    }
    return true;
}

void ag_trace_begin(struct ag_trace *t, struct ag_str traceparent, struct ag_str tracestate)
{
    memset(t, 0, sizeof(*t));
    if (traceparent.p && ag_trace_parse(traceparent, t->trace_id, t->parent_id, &t->flags) == 0) {
        t->remote_parent = true;
        t->flags &= AG_TRACE_SAMPLED; /* the other bits are not ours to pass on */
        if (state_ok(tracestate)) {
            memcpy(t->tracestate, tracestate.p, tracestate.len);
            t->tracestate[tracestate.len] = '\0';
        }
    } else {
        ag_trace_new_id(t->trace_id, sizeof(t->trace_id));
        t->flags = AG_TRACE_SAMPLED;
    }
    ag_trace_new_id(t->span_id, sizeof(t->span_id));
}

/* Random bytes come in blocks, so most ids cost no call into the generator. */
#define BLOCK 256
static _Thread_local uint8_t block[BLOCK];
static _Thread_local size_t left;

int ag_trace_new_id(void *out, size_t n)
{
    uint8_t *o = out;
    if (n == 0 || n > BLOCK)
        return AG_EINVAL;
    for (int tries = 0; tries < 4; tries++) {
        if (left < n) {
            if (ag_random_bytes(block, sizeof(block))) {
                memset(out, 0, n);
                left = 0;
                return AG_EIO;
            }
            left = sizeof(block);
        }
        left -= n;
        memcpy(o, block + left, n);
        memset(block + left, 0, n); /* never handed out twice */
        if (!all_zero(o, n))
            return 0;
    }
    memset(out, 0, n);
    return AG_EIO;
}

char *ag_trace_format(char out[AG_TRACEPARENT_SIZE], const uint8_t trace_id[AG_TRACE_ID_SIZE],
                      const uint8_t span_id[AG_SPAN_ID_SIZE], uint8_t flags)
{
    char *p = out;
    *p++ = '0';
    *p++ = '0';
    *p++ = '-';
    p = ag_hex_encode(p, trace_id, AG_TRACE_ID_SIZE);
    *p++ = '-';
    p = ag_hex_encode(p, span_id, AG_SPAN_ID_SIZE);
    *p++ = '-';
    ag_hex_encode(p, &flags, 1);
    return out;
}
