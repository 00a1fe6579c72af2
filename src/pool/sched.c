/* pool/sched.c: the scheduler strategies (see sched.h). Today: round robin. */
#include "pool/sched.h"

#include <stdbool.h>
#include <stdlib.h>

#include "core/mem.h"

struct rr_state {
    bool has_last;
    size_t last_order; /* pool position of the last pick */
};

static void *rr_create(void)
{
    return AG_NEW(struct rr_state);
}

static void rr_destroy(void *state)
{
    free(state);
}

/* Candidates come in pool order: take the first after the last pick, else wrap to the first. */
static size_t rr_pick(void *state, const struct ag_sched_ctx *ctx, const struct ag_sched_cand *c,
                      size_t n)
{
    struct rr_state *s = state;
    size_t pick = 0;
    (void)ctx;
    for (size_t i = 0; s->has_last && i < n; i++) {
        if (c[i].order > s->last_order) {
            pick = i;
            break;
        }
    }
    s->has_last = true;
    s->last_order = c[pick].order;
    return pick;
}

const struct ag_sched_strategy ag_sched_round_robin = {
    .name = "round_robin",
    .create = rr_create,
    .destroy = rr_destroy,
    .pick = rr_pick,
    .forget = NULL,
};

const struct ag_sched_strategy *ag_sched_for_config(const struct ag_config *cfg)
{
    (void)cfg; /* balance / cache_first / performance_first: the scheduling issue */
    return &ag_sched_round_robin;
}
