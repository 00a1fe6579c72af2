/* tests/fuzz/fuzz_gemini_scan.c: differential libFuzzer harness for the one-pass reader of Gemini
 * response events (proto/gemini_scan.h) against the yyjson reader it stands in for.
 *
 * Input: a flags byte, then events separated by '\n', decoded in order by two decoders. Flags: bit
 * 0 = the Cloud Code envelope (else the public Gemini API's bare response); bits 1-3 = the nesting
 * limit (0: the default, else 3 to 9); bit 4 = the decoders start with a tool call already made on
 * choice 0; bit 5 = choice 0 already finished. Each event goes to the yyjson reader on one decoder
 * and to the fast reader on the other (falling back to yyjson when it declines, as the adapters
 * do). Invariants: a declined event sent nothing and changed nothing; the two send the same events
 * field by field, return the same code, and leave their decoders in the same state. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "../support/gemini_diff.h"

static struct gd_log slow_log, fast_log;

static void die(const char *what, struct ag_str ev, const char *detail)
{
    fprintf(stderr, "fuzz_gemini_scan: %s: %s\nevent: %.*s\n", what, detail ? detail : "",
            (int)(ev.len > 2000 ? 2000 : ev.len), ev.p);
    abort();
}

static void one_event(struct ag_gemini_dec *slow, struct ag_gemini_dec *fast, struct ag_str ev,
                      size_t depth, bool envelope)
{
    struct ag_gemini_dec before;
    char why[512];
    const char *d;
    int rf = 0;
    gd_log_reset(&slow_log);
    gd_log_reset(&fast_log);
    memcpy(&before, fast, sizeof(before));
    int rs = gd_slow(slow, ev, depth, envelope, gd_record, &slow_log);
    if (!ag_gemini_scan_decode(fast, ev, depth, envelope, gd_record, &fast_log, &rf)) {
        if (fast_log.n || memcmp(&before, fast, sizeof(before)))
            die("declined, but sent events or changed the decoder", ev, NULL);
        rf = gd_slow(fast, ev, depth, envelope, gd_record, &fast_log);
    }
    if (rs != rf)
        die("return codes differ", ev, NULL);
    if ((d = gd_compare(&slow_log, &fast_log, why, sizeof(why))))
        die("events differ", ev, d);
    if ((d = gd_state_compare(slow, fast)))
        die("decoder states differ", ev, d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ag_arena arena;
    struct ag_gemini_dec slow, fast;
    if (size < 1)
        return 0;
    unsigned flags = data[0];
    bool envelope = flags & 1;
    size_t depth = (flags >> 1 & 7) ? 2 + (flags >> 1 & 7) : 0;
    ag_arena_init(&arena, 4096, 1u << 20);
    ag_gemini_dec_init(&slow, &arena, AG_STR("seed"), AG_STR("gemini-2.5-flash"));
    ag_gemini_dec_init(&fast, &arena, AG_STR("seed"), AG_STR("gemini-2.5-flash"));
    if (flags & 16) {
        slow.n_tools[0] = fast.n_tools[0] = 1;
        slow.used[0] = fast.used[0] = true;
    }
    if (flags & 32)
        slow.finished[0] = fast.finished[0] = true;
    const char *p = (const char *)data + 1, *end = (const char *)data + size;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *stop = nl ? nl : end;
        /* each event in its own allocation, so that a read past its end is caught */
        size_t n = (size_t)(stop - p);
        char *copy = malloc(n ? n : 1);
        if (!copy)
            abort();
        if (n)
            memcpy(copy, p, n);
        one_event(&slow, &fast, ag_str_make(copy, n), depth, envelope);
        free(copy);
        p = stop + 1;
    }
    gd_log_reset(&slow_log);
    gd_log_reset(&fast_log);
    ag_arena_dispose(&arena);
    return 0;
}
