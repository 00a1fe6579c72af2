/* pool/sched.c: the scheduler strategies (see sched.h) and the rules they share: admission of a
 * candidate (quota, protection, concurrency), the candidate order, and the three modes. */
#include "pool/sched.h"

#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "core/rand.h"

enum ag_sched_admission ag_sched_admit(const struct ag_sched_cand *c,
                                       const struct ag_sched_ctx *ctx, int64_t *until_ms)
{
    const struct ag_config *cfg = ctx->cfg;
    bool reset_ahead = c->reset_at <= 0 || c->reset_at * 1000 > ctx->now_ms;
    if (until_ms)
        *until_ms = c->reset_at > 0 ? c->reset_at * 1000 : 0;
    if (c->remaining >= 0 && reset_ahead) {
        if (c->remaining <= 0.0)
            return AG_SCHED_NO_QUOTA;
        if (cfg && cfg->quota.protection_threshold > 0 &&
            c->remaining * 100.0 < (double)cfg->quota.protection_threshold)
            return AG_SCHED_PROTECTED;
    }
    if (cfg && cfg->scheduling.max_concurrency_per_account > 0 &&
        c->inflight >= (uint64_t)cfg->scheduling.max_concurrency_per_account)
        return AG_SCHED_BUSY;
    return AG_SCHED_ADMIT;
}

/* Quota band: 10 points wide, unknown below every known band. */
static int band(double remaining)
{
    if (remaining < 0)
        return -1;
    int b = (int)(remaining * 10.0);
    return b > 10 ? 10 : b;
}

/* Reset band: 10 minutes wide, unknown after every known one. */
static int64_t reset_band(int64_t reset_at)
{
    return reset_at > 0 ? reset_at / 600 : INT64_MAX;
}

int ag_sched_compare(const struct ag_sched_cand *a, const struct ag_sched_cand *b)
{
    if (a->tier != b->tier)
        return a->tier > b->tier ? -1 : 1;
    int ba = band(a->remaining), bb = band(b->remaining);
    if (ba != bb)
        return ba > bb ? -1 : 1;
    int64_t ra = reset_band(a->reset_at), rb = reset_band(b->reset_at);
    if (ra != rb)
        return ra < rb ? -1 : 1;
    return 0;
}

void ag_sched_sort(struct ag_sched_cand *c, size_t n)
{
    /* Insertion sort: stable, and pools are small. */
    for (size_t i = 1; i < n; i++) {
        struct ag_sched_cand x = c[i];
        size_t j = i;
        while (j > 0 && ag_sched_compare(&c[j - 1], &x) > 0) {
            c[j] = c[j - 1];
            j--;
        }
        c[j] = x;
    }
}

uint64_t ag_sched_random(const struct ag_sched_ctx *ctx)
{
    uint64_t r = 0;
    if (ctx->rand)
        return ctx->rand(ctx->rand_ud);
    if (ag_random_bytes(&r, sizeof(r)) != 0)
        r = (uint64_t)ctx->now_ms * 6364136223846793005ull + 1442695040888963407ull;
    return r;
}

/* Between two equals of the order: fewer leases in flight, then the least recently used, then
 * pool order. True when a should be preferred to b. */
static bool less_used(const struct ag_sched_cand *a, const struct ag_sched_cand *b)
{
    if (a->inflight != b->inflight)
        return a->inflight < b->inflight;
    if (a->last_use != b->last_use)
        return a->last_use < b->last_use;
    return a->order < b->order;
}

/* balance / cache_first: among the candidates equal to the best one, the least used. */
static size_t best_band_pick(void *state, const struct ag_sched_ctx *ctx,
                             const struct ag_sched_cand *c, size_t n, const char **why)
{
    size_t pick = 0;
    (void)state;
    (void)ctx;
    for (size_t i = 1; i < n && ag_sched_compare(&c[0], &c[i]) == 0; i++) {
        if (less_used(&c[i], &c[pick]))
            pick = i;
    }
    *why = "best tier and quota band, least used";
    return pick;
}

#define P2C_POOL 5

/* performance_first: two random candidates of the best five; the less busy wins (then the one
 * with more quota, then the less recently used). */
static size_t p2c_pick(void *state, const struct ag_sched_ctx *ctx, const struct ag_sched_cand *c,
                       size_t n, const char **why)
{
    size_t m = n < P2C_POOL ? n : P2C_POOL, i, j;
    (void)state;
    *why = "power of two choices";
    if (m == 1)
        return 0;
    i = (size_t)(ag_sched_random(ctx) % m);
    j = (size_t)(ag_sched_random(ctx) % (m - 1));
    if (j >= i)
        j++; /* two distinct ones */
    if (c[i].inflight != c[j].inflight)
        return c[i].inflight < c[j].inflight ? i : j;
    if (band(c[i].remaining) != band(c[j].remaining))
        return band(c[i].remaining) > band(c[j].remaining) ? i : j;
    return less_used(&c[i], &c[j]) ? i : j;
}

const struct ag_sched_strategy ag_sched_balance = {
    .name = "balance",
    .sticky = true,
    .wait_sticky = false,
    .pick = best_band_pick,
};

const struct ag_sched_strategy ag_sched_cache_first = {
    .name = "cache_first",
    .sticky = true,
    .wait_sticky = true,
    .pick = best_band_pick,
};

const struct ag_sched_strategy ag_sched_performance_first = {
    .name = "performance_first",
    .sticky = false,
    .wait_sticky = false,
    .pick = p2c_pick,
};

const struct ag_sched_strategy *ag_sched_for_config(const struct ag_config *cfg)
{
    switch (cfg ? cfg->scheduling.mode : AG_SCHED_MODE_BALANCE) {
    case AG_SCHED_MODE_CACHE_FIRST:
        return &ag_sched_cache_first;
    case AG_SCHED_MODE_PERFORMANCE_FIRST:
        return &ag_sched_performance_first;
    case AG_SCHED_MODE_BALANCE:
    default:
        return &ag_sched_balance;
    }
}
