/* relay/warmup.h: scheduled warm-up. Cloud Code counts each quota group of an account in windows
 * (five hours) that start at the first request; a warm-up sends one tiny request per account and
 * quota group at times the user chose (warmup.times, local time), so each window starts then
 * rather than at the first real request of the day. Like Antigravity Manager's warm-up it only
 * pings where the window has not started (the group's quota is full), never a disabled,
 * forbidden or cooling-down account (pool/warmup.h), and not the same account x group again
 * within AG_WARMUP_REPEAT_S unless its quota was seen used since.
 *
 * One run: (1) the quota of the accounts concerned is refreshed (bounded wait), so the decision
 * is made on fresh numbers; (2) each account x group gets a verdict; (3) the eligible ones are
 * sent, at most AG_WARMUP_PARALLEL at once, each as one attempt on that account through the pool
 * (token refresh, project, proxy, cooldown reporting) and the Cloud Code transport (endpoint
 * fallback, the configured timeouts); every send is recorded like a request, with protocol
 * AG_WARMUP_PROTOCOL, so the monitor and token statistics show it as a warm-up.
 *
 * Threading: the loop thread only. */
#ifndef AG_RELAY_WARMUP_H
#define AG_RELAY_WARMUP_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "core/buf.h"
#include "relay/record.h"

struct ag_config;
struct ag_pool;
struct ag_upstream_client;

/** The protocol name of warm-up records (monitor, request log, token statistics). */
#define AG_WARMUP_PROTOCOL "warmup"
/** Warm-up requests in flight at once (Antigravity Manager sends batches of three). */
#define AG_WARMUP_PARALLEL 3
/** An account x group warmed successfully is not warmed again for this long (Antigravity
 * Manager's 4 hours, under the 5-hour window) while its quota still reads full. */
#define AG_WARMUP_REPEAT_S 14400
/** Longest wait for the quota refresh that starts a run. */
#define AG_WARMUP_QUOTA_WAIT_MS 20000
/** maxOutputTokens of a warm-up request; its text is AG_WARMUP_TEXT. */
#define AG_WARMUP_MAX_TOKENS 8
#define AG_WARMUP_TEXT       "Hi"
/** Most scheduled times a day (config warmup.times). */
#define AG_WARMUP_TIMES_MAX 48
/** Most quota groups warmed (config warmup.groups). */
#define AG_WARMUP_GROUPS_MAX 16

struct ag_warmup;

/** What the warm-up works with; borrowed and outliving it (cfg is referenced). */
struct ag_warmup_deps {
    uv_loop_t *loop;
    struct ag_config *cfg;
    struct ag_upstream_client *client;
    struct ag_pool *pool;
    ag_relay_record_cb on_record; /* each request sent; may be NULL */
    void *record_ud;
};

/** Creates the warm-up and arms its schedule from cfg (warmup.*). NULL on timer failure. */
struct ag_warmup *ag_warmup_new(const struct ag_warmup_deps *deps);

/** Puts a new snapshot in force (referenced): the schedule is recomputed at once. */
void ag_warmup_set_config(struct ag_warmup *w, struct ag_config *cfg);

/**
 * Starts a run now. account (id or e-mail, case-insensitive; NULL or "" = every account) limits it
 * to one account; trigger names the cause in records and status ("manual", "schedule"). *run_id
 * (may be NULL) gets the run's number. Returns 0, AG_ENOTFOUND (no such account), AG_EEXIST (a run
 * is in progress) or AG_ESTATE (closing).
 */
int ag_warmup_run(struct ag_warmup *w, const char *account, const char *trigger, uint64_t *run_id);

/**
 * Appends the status as one JSON object: {"enabled","times":[...],"groups":[...],
 * "next_run_ms" (unix ms, 0 = none),"running","last_run":{"id","trigger","account",
 * "started_ms","finished_ms" (0 while running),"phase","sent","ok","failed","skipped",
 * "results":[{"account_id","email","group","model","outcome":"ok|failed|skipped|pending",
 * "reason","status","error"}]} or null}. 0 or AG_ETOOBIG.
 */
int ag_warmup_status_json(struct ag_warmup *w, struct ag_buf *out);

/** Cancels a run in progress (its requests end, leases go back) and stops the schedule; the
 * timers close asynchronously: keep the loop running. Idempotent. */
void ag_warmup_close(struct ag_warmup *w);

/** Frees a closed warm-up after its timers closed. NULL is a no-op. */
void ag_warmup_free(struct ag_warmup *w);

/* ---- the schedule, as a pure function (times parsed by config.h ag_config_time_of_day) ---- */

/**
 * The first instant strictly after now_s (unix s) at which one of the n local times of day
 * (seconds of the day) falls, in the process's time zone; 0 when n is 0. Each candidate is built
 * from a calendar date with mktime and tm_isdst = -1, so across a DST change a time in the
 * skipped hour fires at the shifted instant mktime gives (e.g. 02:30 → 03:30) and a time in the
 * repeated hour fires once.
 */
int64_t ag_warmup_next_fire(const int32_t *secs, size_t n, int64_t now_s);

#endif
