/* tests/support/proto_fixture.h: the fixture of the proto/ adapter tests — an arena, a
 * deterministic context (request id "r1", time 1234) and an output buffer. Header-only: include
 * it in one test file, after proto/adapter.h, and pass setup/teardown to cmocka. */
#ifndef AG_TEST_PROTO_FIXTURE_H
#define AG_TEST_PROTO_FIXTURE_H

#include <stdlib.h>

#include "core/arena.h"
#include "core/buf.h"
#include "proto/adapter.h"

struct fixture {
    struct ag_arena arena;
    struct ag_proto_ctx ctx;
    struct ag_buf out;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    ag_arena_init(&f->arena, 4096, 0);
    f->ctx.arena = &f->arena;
    f->ctx.request_id = AG_STR("r1");
    f->ctx.now = 1234;
    ag_buf_init(&f->out, 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    ag_buf_dispose(&f->out);
    ag_arena_dispose(&f->arena);
    free(f);
    return 0;
}

#endif
