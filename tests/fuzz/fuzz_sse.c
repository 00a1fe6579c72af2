/* tests/fuzz/fuzz_sse.c: libFuzzer harness for the SSE parser (built with -DAIGATE_FUZZ=ON; see
 * tests/fuzz/CMakeLists.txt and `make fuzz`).
 * The first input byte chooses where to split the rest; both halves, and the whole, must yield
 * the same events (checked by comparing a digest of them). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "upstream/sse.h"

struct digest {
    uint64_t h;
    size_t n;
};

static void mix(struct digest *d, struct ag_str s)
{
    for (size_t i = 0; i < s.len; i++)
        d->h = (d->h ^ (unsigned char)s.p[i]) * 1099511628211ull;
    d->h = (d->h ^ 0xff) * 1099511628211ull;
}

static int on_event(const struct ag_sse_event *ev, void *ud)
{
    struct digest *d = ud;
    mix(d, ev->event);
    mix(d, ev->data);
    mix(d, ev->id);
    d->h ^= (uint64_t)ev->retry_ms;
    d->n++;
    return 0;
}

static struct digest run(const uint8_t *data, size_t len, size_t cut, int *rc)
{
    struct digest d = {1469598103934665603ull, 0};
    struct ag_sse_parser p;

    ag_sse_parser_init(&p, 4096, on_event, &d);
    *rc = ag_sse_parser_feed(&p, data, cut);
    if (*rc == 0)
        *rc = ag_sse_parser_feed(&p, data + cut, len - cut);
    if (*rc == 0)
        *rc = ag_sse_parser_finish(&p);
    ag_sse_parser_dispose(&p);
    return d;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t cut;
    int rc1, rc2;
    struct digest a, b;

    if (size < 1)
        return 0;
    cut = data[0] % size;
    data++;
    size--;
    if (cut > size)
        cut = size;
    a = run(data, size, 0, &rc1);
    b = run(data, size, cut, &rc2);
    /* With the cap, a split may fail earlier than the whole feed only through AG_ETOOBIG. */
    if (rc1 == 0 && rc2 == 0 && (a.h != b.h || a.n != b.n))
        abort();
    return 0;
}
